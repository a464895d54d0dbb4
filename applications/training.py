"""Model construction and the training recipe shared by the applications.

Every VAE here (DVAE++, DVAE++ with local Gaussian latents, DVAE, the
Gaussian VAE, the categorical VAE)
trains with the library's trainer (`keras_dvae.training`) and its base
recipe (`keras_dvae.recipes.BASE`): Adam (ε = 1e-3) with the reference
piecewise learning rate of the DVAE papers over the whole run, batches of
100, linear KL warm-up over the first 30 % of the steps, whole batches
only, and dynamic binarisation for grey-level data. With `cache_dir`,
trained weights are kept as `<cache_dir>/<key>.weights.h5` (with a JSON of
the training time and last metrics), so that the modules can share one
trained model; the cache holds data-derived files and belongs outside the
repository.
"""

import json
import os
import time

from applications.baselines import GaussianVAE
from applications.local_dvaepp import LocalDVAEPP
from keras_dvae import datasets, models, recipes
from keras_dvae import training as trainer

BATCH_SIZE = recipes.BASE["batch_size"]

#: The fully connected networks: the papers' "nonlinear" 2 × 200 tanh with
#: batch norm, or a tiny one for `--quick`.
STRUCTURE = (200, 200)
QUICK_STRUCTURE = (32,)


#: Gaussian units of `LocalDVAEPP`'s layer below the code (`QUICK_LOCAL_UNITS`
#: with `--quick`).
LOCAL_UNITS = 64
QUICK_LOCAL_UNITS = 4
HASHING_KINDS = ("dvaepp", "dvaepp_local", "dvae", "gaussian_vae")


def make_hashing_model(kind, input_dim, bits, quick=False, seed=0):
    """A one-group binary VAE (or the Gaussian VAE) with `bits` latent units.

    "dvaepp", "dvaepp_local" and "dvae" have an RBM prior of bits/2 +
    bits/2 units with 100 persistent chains × 10 Gibbs sweeps a step (the
    budget setting of the repository's DVAE++ reproductions; 20 × 2 with
    `quick`). "dvaepp_local" is `LocalDVAEPP`: DVAE++ with `LOCAL_UNITS`
    Gaussian latents below the code.

    Raises:
        ValueError: `kind` not in `HASHING_KINDS`.
    """
    if kind not in HASHING_KINDS:
        raise ValueError(
            f"`kind` must be one of {HASHING_KINDS}. Received: kind={kind!r}"
        )
    structure = QUICK_STRUCTURE if quick else STRUCTURE
    if kind == "gaussian_vae":
        return GaussianVAE(
            (input_dim,), latent_dim=bits, hidden_units=structure, seed=seed
        )
    if kind == "dvaepp_local":
        return LocalDVAEPP(
            (input_dim,),
            num_latents=bits,
            hidden_units=structure,
            local_units=QUICK_LOCAL_UNITS if quick else LOCAL_UNITS,
            num_chains=20 if quick else 100,
            gibbs_sweeps=2 if quick else 10,
            seed=seed,
        )
    cls = {"dvaepp": models.DVAEPP, "dvae": models.DVAE}[kind]
    return cls(
        (input_dim,),
        num_latents=bits,
        num_groups=1,
        hidden_units=structure,
        num_chains=20 if quick else 100,
        gibbs_sweeps=2 if quick else 10,
        seed=seed,
    )


def cache_key(dataset, kind, bits, epochs, seed, quick=False):
    """The cache file stem of one trained model (shared between modules)."""
    return f"{dataset}_{kind}_{bits}b_{epochs}e_s{seed}" + ("_quick" if quick else "")


def as_dataset(task):
    """The `Task` as a `keras_dvae.datasets.Dataset` for the trainer.

    Grey-level tasks (`binary=False`) are dynamically binarised.
    """
    return datasets.Dataset.from_splits(
        task.name,
        {"train": task.x_train, "test": task.x_test},
        {"train": task.y_train, "test": task.y_test},
        image_shape=(task.input_dim,),
        binary=task.binary,
        dynamic_binarization=not task.binary,
        lossy=False,
        notes=task.description,
    )


def train(
    model,
    task,
    epochs,
    seed=0,
    cache_dir=None,
    key=None,
    temperature_schedule=None,
    extra_callbacks=(),
):
    """Trains `model` on `task.x_train` with the base recipe (or loads it).

    Args:
        model: an unfitted keras_dvae-style VAE (`adapt`, `kl_weight`).
        task: an `applications.data.Task`.
        epochs: int, passes over the training set.
        seed: int, seeds the batch order and the binarisation.
        cache_dir: directory of cached weights, or None.
        key: file stem in `cache_dir` (required with it).
        temperature_schedule: (start, end) of an exponential τ schedule
            (categorical VAEs), or None.
        extra_callbacks: more Keras callbacks.

    Returns:
        A dict: "seconds" (training wall time, or that of the cached run),
        "epochs", "steps", "cached", and the last epoch's metrics.
    """
    if cache_dir:
        path = os.path.join(cache_dir, f"{key}.weights.h5")
        if os.path.exists(path) and os.path.exists(path + ".json"):
            model.load_weights(path)
            with open(path + ".json") as f:
                info = json.load(f)
            return {**info, "cached": True}
    recipe = recipes.make(epochs=epochs, temperature_schedule=temperature_schedule)
    data = as_dataset(task)
    trainer.adapt(model, data, seed)
    batches = trainer.training_batches(data, recipe["batch_size"], seed)
    start = time.perf_counter()
    history = trainer.fit(model, batches, recipe, callbacks=extra_callbacks)
    info = {
        "seconds": round(time.perf_counter() - start, 1),
        "epochs": epochs,
        "steps": epochs * len(batches),
        **{k: round(float(v[-1]), 3) for k, v in history.history.items()},
    }
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
        model.save_weights(path)
        with open(path + ".json", "w") as f:
            json.dump(info, f)
    return {**info, "cached": False}

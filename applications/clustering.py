"""Clustering with a categorical VAE's latent, against k-means.

A `CategoricalVAE` with one categorical latent of `--num-clusters`
categories (Gumbel-softmax, τ annealed exponentially from 1 to 0.5 over
the run, the encoder's default 512-256 ReLU networks) is trained without
labels. Its cluster of an image is the mode of q(z|x), read through
`model.feature_extractor("probabilities")`. The clusters are scored
against the labels by unsupervised accuracy (Hungarian matching) and NMI,
on the training images (seen in training, without labels) and the test
images. The baseline is k-means on the pixels (k-means++ starts, best of
`--kmeans-init` restarts, fitted on the training images). Each method runs
once per seed in `--seeds`.

Methods:

- "categorical_vae": the categorical VAE on the pixels.
- "categorical_vae_mixture": the same category above a `--local-units`
  (4) Gaussian style latent h (p(x|h) p(h|z): a mixture-of-Gaussians
  prior), trained
  with the marginal KL on the category (`CategoricalVAE(local_units=4,
  kl_penalty="marginal")`).
- "kmeans_pixels": k-means on the pixels.
- "categorical_vae_codes": the same categorical VAE trained on the
  `--code-bits` binary codes of a `LocalDVAEPP` (DVAE++ with local
  Gaussian latents below the code, the hashing module's "dvaepp_local",
  trained for `--code-epochs` with the same seed; shared through
  `--cache-dir`)
  instead of the pixels. Off by default.
- "kmeans_codes": k-means on those same codes (the like-for-like
  baseline of "categorical_vae_codes"). Off by default.

With `--code-preset NAME` the *_codes methods use a zoo preset's mode
codes instead (`semantic_hashing.preset_codes`; the same codes for every
seed, nothing trained but the categorical VAE), e.g. the 400 bits of
`dvaepp_2nl_mnist_static`.

    python -m applications.clustering --dataset mnist_static \\
        --data-dir ../shared/data --epochs 10 --seeds 0 1 2 \\
        --out applications/results/clustering_mnist_static.json
"""

import sys
import time

import keras
import numpy as np

from applications import baselines, common, data, metrics, semantic_hashing, training
from keras_dvae import models

METHODS = (
    "categorical_vae",
    "categorical_vae_mixture",
    "kmeans_pixels",
    "categorical_vae_codes",
    "kmeans_codes",
)
DEFAULT_METHODS = ("categorical_vae", "categorical_vae_mixture", "kmeans_pixels")
FINAL_TEMPERATURE = 0.5
#: Gaussian units below the category in "categorical_vae_mixture" (4 won
#: over 2, 6, 10 and 32 in single-seed trials; see applications/README.md).
DEFAULT_LOCAL_UNITS = 4
QUICK_HIDDEN_UNITS = (32,)


def categorical_vae_clusters(task, args, seed, mixture=False):
    """Cluster indices (train, test) of a 1-latent categorical VAE (with
    the Gaussian style latent and the marginal KL when `mixture`)."""
    hidden = QUICK_HIDDEN_UNITS if args.quick else (512, 256)
    model = models.CategoricalVAE(
        (task.input_dim,),
        num_latents=1,
        num_categories=args.num_clusters,
        hidden_units=hidden,
        estimator=args.estimator,
        temperature=1.0,
        seed=seed,
        **(
            {"local_units": args.local_units, "kl_penalty": args.kl_penalty}
            if mixture
            else {}
        ),
    )
    relaxed = args.estimator in ("gumbel_softmax", "straight_through")
    key = f"{task.name}_categorical_vae_{args.num_clusters}c_{args.epochs}e_s{seed}"
    if args.estimator != "gumbel_softmax":
        key += f"_{args.estimator}"
    if mixture:
        key += f"_mixture{args.local_units}_{args.kl_penalty}"
    info = training.train(
        model,
        task,
        args.epochs,
        seed=seed,
        cache_dir=args.cache_dir,
        key=key + ("_quick" if args.quick else ""),
        temperature_schedule=(1.0, FINAL_TEMPERATURE) if relaxed else None,
    )
    extractor = model.feature_extractor("probabilities")
    train, test = (
        extractor.predict(x, batch_size=1000, verbose=0).argmax(axis=-1)
        for x in (task.x_train, task.x_test)
    )
    return train, test, info


def preset_code_task(task, name):
    """(`data.Task` of zoo preset `name`'s mode codes, info)."""
    train, test, info = semantic_hashing.preset_codes(name, task)
    codes = data.Task(
        f"{task.name}_preset_{name}",
        train.astype(np.float32),
        task.y_train,
        test.astype(np.float32),
        task.y_test,
        binary=True,
        description=f"{train.shape[1]}-bit codes of preset {name} on "
        f"{task.description}",
    )
    return codes, info


def code_task(task, args, seed):
    """(`data.Task` of `LocalDVAEPP` codes, training info) for one seed.

    The model is the hashing module's "dvaepp_local" with `args.code_bits`
    bits, trained (or read from `args.cache_dir`, under the same key as the
    hashing module's) on `task` for `args.code_epochs` epochs with `seed`. The
    codes are its encoder's mode codes, `feature_extractor("codes")`.
    """
    bits = args.code_bits
    model = training.make_hashing_model(
        "dvaepp_local", task.input_dim, bits, quick=args.quick, seed=seed
    )
    info = training.train(
        model,
        task,
        args.code_epochs,
        seed=seed,
        cache_dir=args.cache_dir,
        key=training.cache_key(
            task.name, "dvaepp_local", bits, args.code_epochs, seed, args.quick
        ),
    )
    extractor = model.feature_extractor("codes")
    train, test = (
        extractor.predict(x, batch_size=1000, verbose=0).astype(np.float32)
        for x in (task.x_train, task.x_test)
    )
    codes = data.Task(
        f"{task.name}_dvaepp_local_{bits}b_{args.code_epochs}e_s{seed}",
        train,
        task.y_train,
        test,
        task.y_test,
        binary=True,
        description=f"{bits}-bit LocalDVAEPP codes of {task.description}",
    )
    return codes, info


def scores(task, train, test):
    return {
        "train_acc": metrics.hungarian_accuracy(task.y_train, train),
        "train_nmi": metrics.normalized_mutual_information(task.y_train, train),
        "test_acc": metrics.hungarian_accuracy(task.y_test, test),
        "test_nmi": metrics.normalized_mutual_information(task.y_test, test),
        "clusters_used": int(len(np.unique(train))),
    }


def table(results, methods):
    columns = ("train_acc", "train_nmi", "test_acc", "test_nmi")
    lines = [
        "| method | train ACC | train NMI | test ACC | test NMI |",
        "| --- | --- | --- | --- | --- |",
    ]
    for method in methods:
        runs = results[method]["runs"]
        cells = [common.mean_std([r[c] for r in runs]) for c in columns]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--num-clusters", type=int, default=10)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--kmeans-init", type=int, default=10)
    p.add_argument(
        "--estimator",
        default="gumbel_softmax",
        choices=models.categorical_vae.ESTIMATORS,
        help="the categorical VAE's gradient estimator",
    )
    p.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS))
    p.add_argument(
        "--code-bits",
        type=int,
        default=64,
        help="code length of the LocalDVAEPP behind the *_codes methods",
    )
    p.add_argument(
        "--local-units",
        type=int,
        default=DEFAULT_LOCAL_UNITS,
        help="Gaussian units below the category (categorical_vae_mixture)",
    )
    p.add_argument(
        "--kl-penalty",
        default="marginal",
        choices=models.categorical_vae.KL_PENALTIES,
        help="the category's KL term (categorical_vae_mixture)",
    )
    p.add_argument(
        "--code-preset",
        default=None,
        help="the *_codes methods cluster this zoo preset's codes instead",
    )
    p.add_argument(
        "--code-epochs",
        type=int,
        default=None,
        help="training epochs of that LocalDVAEPP (default --epochs)",
    )
    args = p.parse_args(argv)
    bad = sorted(set(args.methods) - set(METHODS))
    if bad:
        p.error(f"unknown methods {bad}; choose from {METHODS}")
    if args.quick:
        args.epochs = 1
        args.code_epochs = 1
        args.kmeans_init = 1
    if args.code_epochs is None:
        args.code_epochs = args.epochs
    keras.utils.set_random_seed(args.seed)
    start = time.perf_counter()
    task = data.load(args.dataset, args.data_dir)
    results = {method: {"runs": []} for method in args.methods}
    # seed (or "preset") -> (code task, its model's info), shared by methods
    codes = {}
    for method in args.methods:
        for seed in args.seeds:
            begin = time.perf_counter()
            inputs, info = task, {}
            if method.endswith("_codes"):
                if args.code_preset and not codes:
                    codes.update(preset=preset_code_task(task, args.code_preset))
                elif not args.code_preset and seed not in codes:
                    keras.utils.set_random_seed(seed)
                    codes[seed] = code_task(task, args, seed)
                source = "preset" if args.code_preset else seed
                inputs, info = codes[source][0], {"code_model": codes[source][1]}
            if method.startswith("categorical_vae"):
                keras.utils.set_random_seed(seed)
                train, test, vae_info = categorical_vae_clusters(
                    inputs, args, seed, mixture=method.endswith("_mixture")
                )
                info = {**vae_info, **info}
            else:
                fitted = baselines.kmeans(
                    inputs.x_train,
                    args.num_clusters,
                    n_init=args.kmeans_init,
                    seed=seed,
                )
                train, test = fitted.labels_, fitted.predict(inputs.x_test)
            run = {
                "seed": seed,
                **{k: round(v, 5) for k, v in scores(task, train, test).items()},
                "seconds": round(time.perf_counter() - begin, 1),
                **({"training": info} if info else {}),
            }
            results[method]["runs"].append(run)
            print(
                f"{method:>16} seed {seed}: test ACC {run['test_acc']:.4f} "
                f"NMI {run['test_nmi']:.4f}",
                flush=True,
            )
    output = common.finish(
        {
            "dataset": task.description,
            "results": results,
            "table": table(results, args.methods),
        },
        "applications.clustering",
        args,
        argv,
        start,
    )
    return output


if __name__ == "__main__":
    main()

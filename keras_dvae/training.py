"""One trainer: a recipe (`keras_dvae.recipes`) in, a trained model out.

`train(recipe)` is the whole job; the command line, the zoo, the
applications and the benchmarks use it or its public steps (`load_data`,
`build_model`, `adapt`, `training_batches`, `compile_model`, `fit`,
`evaluate`). A run folder holds `config.json` (recipe and model config),
`model.weights.h5` (no optimizer state), `metrics.json`, `history.csv`,
`samples.png`, and `backup/` while a run is unfinished. A recipe with
`selection` keeps the weights of its best validation epoch
(`callbacks.BestValidation`, its state in `validation/` until the run is
done) and writes the last epoch's as `last.weights.h5` beside them.

Crash safety: every file is written atomically (`utils.files.atomic_path`:
temporary file, fsync, rename), so a kill at any moment leaves each file
old or new, never half written. `backup/` (`RunBackup`) holds the last two
epochs' states as numbered generations, each committed by a manifest
written last with its weights' sha256; a resume takes the newest whole one
(warning about a damaged newer one), restores the weights, optimizer, PCD
chains, random-seed states and the data order, and rewrites `history.csv`
from the rows it saved, so no epoch is trained twice and every row is kept
once. `backup/` is deleted only after the final weights and metrics are
written.
"""

import dataclasses
import json
import math
import os
import time

import keras
import numpy as np

from keras_dvae import callbacks as dvae_callbacks
from keras_dvae import datasets, evaluation, models, recipes, schedules
from keras_dvae.utils import checks, files, generations, images

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.csv"
SAMPLES_FILE = "samples.png"
BACKUP_DIR = "backup"
SELECTION_DIR = "validation"
LAST_WEIGHTS_FILE = "last.weights.h5"
#: What a run folder holds besides `backup/` (`overwrite` deletes them).
RUN_FILES = (
    CONFIG_FILE,
    WEIGHTS_FILE,
    METRICS_FILE,
    HISTORY_FILE,
    SAMPLES_FILE,
    LAST_WEIGHTS_FILE,
    "evaluation.json",
)
#: Adam's ε in the reference recipe (METHODS.md §4).
ADAM_EPSILON = 1e-3


@dataclasses.dataclass
class TrainingRun:
    """What `train` returns.

    Attributes:
        model: the trained model.
        recipe: the full recipe it was trained with (overrides applied).
        data: the `Dataset` it was trained and evaluated on.
        steps: optimizer steps of the whole run.
        metrics: the dict written to `metrics.json` (with the recipe's name
            and the wall time of `fit`, summed over a resumed run's calls,
            "train_seconds").
    """

    model: keras.Model
    recipe: dict
    data: datasets.Dataset
    steps: int
    metrics: dict
    #: True when `train` found this run finished in its folder and
    #: returned it without training.
    reused: bool = False


def resolve(recipe, **overrides):
    """(name or None, full recipe dict) of a recipe name or dict, with `overrides`."""
    if not isinstance(recipe, (str, dict)):
        raise ValueError(
            f"`recipe` must be a recipe name or dict. Received: recipe={recipe!r}"
        )
    name = recipe if isinstance(recipe, str) else None
    return name, recipes.get(recipe, **overrides)


def load_data(recipe, data_dir=None):
    """The `Dataset` of a recipe (name or dict); `data_dir` as `datasets.load`."""
    _, recipe = resolve(recipe)
    return datasets.load(recipe["dataset"], data_dir=data_dir)


def build_model(recipe, data, seed=0):
    """The recipe's unfitted model, sized for the `Dataset` `data`: a
    `ConvDVAEPP` gets its (H, W, C), the others its number of pixels.

    Raises:
        ValueError: an unknown model class, images such a model cannot
            take, or a log Z estimate (`reverse_ais`, `ais`) asked of a
            normalised prior.
    """
    _, recipe = resolve(recipe)
    cls = getattr(models, recipe["model"], None)
    if not (isinstance(cls, type) and issubclass(cls, keras.Model)):
        raise ValueError(
            "`model` must name a model class of keras_dvae.models. "
            f"Received: model={recipe['model']!r}"
        )
    args = dict(recipe["model_args"])
    shape = tuple(data.image_shape)
    if issubclass(cls, models.ConvDVAEPP):
        args["image_shape"] = list(shape + ((1,) if len(shape) == 2 else ()))
    else:
        args["image_shape"] = [int(np.prod(shape))]
    model = cls(seed=seed, **args)
    if (recipe["reverse_ais"] or recipe["ais"]) and not model.prior.has_log_partition:
        # Found here, before training, not by the evaluation after it.
        raise ValueError(
            f"The recipe's `reverse_ais`/`ais` estimate a log Z, but its "
            f"{recipe['model']}'s {type(model.prior).__name__} is normalised "
            "and has none: set reverse_ais=False and ais={}. Received: "
            f"reverse_ais={recipe['reverse_ais']!r}, ais={recipe['ais']!r}"
        )
    return model


def adapt(model, data, seed=0):
    """`model.adapt` on the training images; a dynamically binarised set's
    as one draw `datasets.binarize(x_train, seed)`."""
    x = data.x_train
    if data.dynamic_binarization:
        x = datasets.binarize(x, seed)
    model.adapt(x)


class _WholeBatches(keras.utils.PyDataset):
    """The first `len(x) // batch_size` batches of an `ArraySequence` each
    epoch: every step a full batch (a data-parallel step splits it evenly);
    the rows left out change every epoch, since the order is reshuffled."""

    def __init__(self, sequence):
        super().__init__()
        self.sequence = sequence
        self.batch_size = sequence.batch_size
        self._length = max(1, len(sequence.x) // sequence.batch_size)

    def __len__(self):
        return self._length

    def __getitem__(self, index):
        if not 0 <= index < self._length:
            raise IndexError(
                f"Batch index out of range [0, {self._length}). Received: index={index}"
            )
        return self.sequence[index]

    def on_epoch_end(self):
        self.sequence.on_epoch_end()

    def skip_epochs(self, epochs):
        """Advances the order (and binarisation) by `epochs` epochs: a run
        resumed after `epochs` epochs sees the batches the uninterrupted run
        would have (each epoch's depend only on the seed and the epoch)."""
        for _ in range(epochs):
            self.sequence.on_epoch_end()


def training_batches(data, batch_size, seed=0):
    """A `PyDataset` of `(x,)`: `len(x_train) // batch_size` (≥ 1) whole
    batches an epoch, reshuffled (and, for dynamically binarised sets,
    redrawn: `Dataset.train_batches`) every epoch; `seed` seeds both."""
    return _WholeBatches(data.train_batches(batch_size, seed=seed))


def compile_model(model, recipe, steps, initial_step=0, restart_learning_rate=False):
    """Compiles `model` with Adam (ε = 1e-3) at the recipe's learning rate
    and schedule, and `recipe_schedules`, for a run of `steps`.

    A run continued from `initial_step` lays every schedule over the
    cumulative `initial_step + steps` and resumes it at `initial_step`: the
    learning rate through a shifted schedule (the new Adam counts its own
    steps from 0, so its bias correction fits its fresh moments), β, τ and
    the KL weight through `model.training_step` (set it to `initial_step`).
    `restart_learning_rate=True` instead lays the reference learning rate
    over the `steps` of this run alone (a warm restart: most of the run at
    the base rate, then the annealing), while β, τ and the KL weight still
    resume over the cumulative steps.
    """
    _, recipe = resolve(recipe)
    horizon = initial_step + steps
    rate = recipe["learning_rate"]
    if restart_learning_rate:
        _check_restart(recipe)
    if recipe["schedule"] == "reference":
        total, start = (steps, 0) if restart_learning_rate else (horizon, initial_step)
        rate = dvae_callbacks.reference_learning_rate(total, rate, start_step=start)
    model.compile(
        optimizer=keras.optimizers.Adam(rate, epsilon=ADAM_EPSILON),
        schedules=recipe_schedules(recipe, horizon),
    )


def _check_restart(recipe, initial_step=None):
    """Refuses `restart_learning_rate=True` for a recipe without the
    reference schedule or (when given) a run that continues nothing."""
    if recipe["schedule"] != "reference" or initial_step == 0:
        raise ValueError(
            "restart_learning_rate=True restarts the reference learning-rate "
            "schedule of a continued run: it needs schedule='reference' and "
            f"initial_step > 0. Received: schedule={recipe['schedule']!r}"
            + ("" if initial_step is None else f", initial_step={initial_step}")
        )


def recipe_schedules(recipe, steps):
    """The recipe's schedules over `steps`, for `DiscreteVAE.compile`.

    Returns:
        A dict of the recipe's "kl_weight" (linear over `kl_warmup` ×
        steps), "beta" (linear) and "temperature" (geometric) `Schedule`s.
    """
    _, recipe = resolve(recipe)
    result = {}
    if recipe["kl_warmup"]:
        warmup = max(1, int(recipe["kl_warmup"] * steps))
        result["kl_weight"] = schedules.Linear(0.0, 1.0, warmup)
    if recipe["beta_schedule"]:
        start, end = recipe["beta_schedule"]
        result["beta"] = schedules.Linear(start, end, steps)
    if recipe["temperature_schedule"]:
        start, end = recipe["temperature_schedule"]
        result["temperature"] = schedules.Geometric(start, end, steps)
    return result


def fit(
    model,
    batches,
    recipe,
    *,
    epochs=None,
    callbacks=(),
    verbose=0,
    initial_step=0,
    restart_learning_rate=False,
):
    """`compile_model` for `len(batches) × epochs` steps (default
    `recipe["epochs"]`) after `initial_step`, then `model.fit` over the
    batches in their order; returns the Keras `History`."""
    _, recipe = resolve(recipe)
    epochs = recipe["epochs"] if epochs is None else epochs
    compile_model(
        model, recipe, len(batches) * epochs, initial_step, restart_learning_rate
    )
    # `batches` reshuffles its rows every epoch from its seed; Keras's own
    # shuffle of the batch order (`shuffle=True`) would draw from Python's
    # global `random`, which no backup holds, so a resumed run would not
    # see the batches of an uninterrupted one.
    return model.fit(
        batches,
        epochs=epochs,
        callbacks=list(callbacks),
        verbose=verbose,
        shuffle=False,
    )


def epochs_for_budget(recipe, data, seed, seconds, margin=0.85, steps=200, skip=40):
    """Epochs that fit in `seconds` of training, at the speed of `steps`
    steps of a throw-away copy of the model (the first `skip` not timed).

    Returns:
        (epochs, probed steps per second).
    """

    class StepTimer(keras.callbacks.Callback):
        done = 0

        def on_train_batch_end(self, batch, logs=None):
            self.done += 1
            if self.done == skip:
                self.start = time.perf_counter()
            elif self.done == steps:
                self.rate = (steps - skip) / (time.perf_counter() - self.start)
                self.model.stop_training = True

    model = build_model(recipe, data, seed)
    model.compile(optimizer=keras.optimizers.Adam(recipe["learning_rate"]))
    timer = StepTimer()
    batches = training_batches(data, recipe["batch_size"], seed=seed + 1)
    model.fit(
        batches, epochs=math.ceil(steps / len(batches)), callbacks=[timer], verbose=0
    )
    return max(1, int(margin * seconds * timer.rate // len(batches))), timer.rate


def save_weights(model, path):
    """Writes the model's variables (no optimizer state) to `path`, atomically.

    Saves an uncompiled copy rebuilt from the JSON config (a compiled
    model's `save_weights` also writes the optimizer's slots), which also
    checks that the config round-trips.

    Returns:
        The model's config without its compile config.

    Raises:
        ValueError: the config does not rebuild the same variables.
    """
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)
    copy = keras.saving.deserialize_keras_object(json.loads(json.dumps(config)))
    source, target = model.variables, copy.variables
    if [tuple(v.shape) for v in source] != [tuple(v.shape) for v in target]:
        raise ValueError(
            f"The config of this {type(model).__name__} does not rebuild the "
            f"same variables ({len(source)} in the model, {len(target)} "
            "rebuilt): check that `get_config` returns every constructor argument."
        )
    for a, b in zip(source, target, strict=True):
        b.assign(a)
    with files.atomic_path(path) as tmp:
        copy.save_weights(tmp)
    return config


def load_trained(run_dir):
    """Rebuilds the model a `train` run left in `run_dir`.

    Returns:
        (model, saved) where `saved` is the dict of `config.json`: "recipe"
        (the name or None), "training" (the full recipe), "seed", "model".

    Raises:
        FileNotFoundError: `run_dir` or its config or weights are missing.
        ValueError: `run_dir` is not a `train` run folder (a zoo preset's,
            say) or its config.json is damaged.
    """
    saved = _run_config(run_dir)
    if not os.path.isfile(os.path.join(run_dir, WEIGHTS_FILE)):
        raise FileNotFoundError(
            f"The run folder {run_dir!r} holds no {WEIGHTS_FILE}: its run is "
            "unfinished (rerun the same `train` to resume it) or was deleted."
        )
    model = keras.saving.deserialize_keras_object(saved["model"])
    model.load_weights(os.path.join(run_dir, WEIGHTS_FILE))
    return model, saved


def _run_config(run_dir):
    """The dict of a run folder's config.json, refusing any other folder."""
    if not os.path.isdir(run_dir):
        raise FileNotFoundError(
            f"The run folder {run_dir!r} does not exist: pass the `output_dir` "
            "(--output-dir) of a `keras-dvae train` run."
        )
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"The folder {run_dir!r} holds no {CONFIG_FILE}: it is not the "
            "`output_dir` (--output-dir) of a `keras-dvae train` run."
        )
    try:
        with open(path) as f:
            saved = json.load(f)
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON ({error}).") from None
    if not isinstance(saved, dict) or not {"model", "training"} <= set(saved):
        preset = isinstance(saved, dict) and "class_name" in saved
        raise ValueError(
            f"The folder {run_dir!r} is not the `output_dir` of a `keras-dvae "
            f"train` run: its {CONFIG_FILE} has no 'model' and 'training' entries"
            + (
                " (it is a zoo preset's: load it with keras_dvae.zoo.load or "
                "Model.from_preset)."
                if preset
                else "."
            )
        )
    return saved


def load_run(run_dir, data_dir=None, last_epoch=False, **overrides):
    """The `TrainingRun` of a finished `train` in `run_dir`, with its recipe
    (`overrides` applied, e.g. another "dataset") and data (`load_data`).

    `last_epoch=True` takes a run that selected on validation data at its
    last epoch instead (`last.weights.h5`; the recipe's `selection` None
    and the metrics without it), as if it had been run without selection.

    Raises:
        FileNotFoundError, ValueError: see `load_trained`; also a run
            without metrics.json (unfinished), or `last_epoch` for a run
            that kept its last epoch anyway (no `last.weights.h5`).
    """
    model, saved = load_trained(run_dir)
    _, recipe = resolve(saved["training"], **overrides)
    metrics_path = os.path.join(run_dir, METRICS_FILE)
    if not os.path.isfile(metrics_path):
        raise FileNotFoundError(
            f"The run folder {run_dir!r} holds no {METRICS_FILE}: its run is "
            "unfinished; rerun the same `train` to resume and finish it."
        )
    with open(metrics_path) as f:
        metrics = json.load(f)
    if last_epoch:
        last = os.path.join(run_dir, LAST_WEIGHTS_FILE)
        if "selection" not in metrics or not os.path.isfile(last):
            raise ValueError(
                f"last_epoch=True takes the last epoch of a run that selected "
                f"its weights on validation data; the run in {run_dir!r} did "
                f"not (no {LAST_WEIGHTS_FILE}): its weights are its last epoch's."
            )
        model.load_weights(last)
        recipe = {**recipe, "selection": None}
        metrics = {k: v for k, v in metrics.items() if k != "selection"}
    data = load_data(recipe, data_dir)
    return TrainingRun(model, recipe, data, metrics["steps"], metrics)


def _optional_count(name, value):
    """None, or `value` checked to be an integer >= 1 (returned as int)."""
    return None if value is None else checks.check_positive_int(name, value)


def _check_seed(seed):
    """`seed` checked: an integer in [0, 2**32 - 1] (NumPy's and Keras's range)."""
    seed = checks.check_positive_int("seed", seed, minimum=0)
    if seed >= 2**32:
        raise ValueError(
            f"`seed` must be an integer in [0, 2**32 - 1]. Received: seed={seed}"
        )
    return seed


def evaluation_rows(num_test, examples=None):
    """The test rows evaluated: all, or the sorted fixed random subset
    `np.random.default_rng(0).permutation(num_test)[:examples]` (some test
    files are sorted by label); `examples` is None or an integer >= 1."""
    examples = _optional_count("examples", examples)
    if examples is None or examples >= num_test:
        return np.arange(num_test)
    return np.sort(np.random.default_rng(0).permutation(num_test)[:examples])


def bits_per_dim(log_likelihood, image_shape):
    """Nats per image as bits per dimension (8-bit data)."""
    return -log_likelihood / (int(np.prod(image_shape)) * math.log(2))


def _ll_entry(report, description):
    return {
        **report.as_dict(),
        "examples": description,
        "log_partition": report.log_partition or {"method": "none (normalised prior)"},
    }


def evaluate(model, data, recipe, *, examples=None, num_samples=None, verbose=0):
    """The test metrics of a trained model on its `Dataset` `data`.

    "test_ll": `evaluation.log_likelihood_report` at K = `num_samples`
    (default `eval_samples`) on `evaluation_rows(len(x_test), examples)`
    (default `eval_examples`), log Z by the model's "auto" rule (reverse
    AIS bracket if `reverse_ais`), bits/dim for 8-bit data; "test_ll_full":
    K = `full_test_samples` on the whole test set, if set;
    "test_elbo_discrete": the discrete-limit ELBO of binary data.
    """
    _, recipe = resolve(recipe)
    examples = _optional_count("examples", examples)
    num_samples = _optional_count("num_samples", num_samples)
    examples = recipe["eval_examples"] if examples is None else examples
    num_samples = recipe["eval_samples"] if num_samples is None else num_samples
    rows = evaluation_rows(len(data.x_test), examples)
    x = data.x_test[rows]
    report = evaluation.log_likelihood_report(
        model,
        x,
        num_samples=num_samples,
        log_partition="auto",
        reverse_ais=recipe["reverse_ais"],
        ais_kwargs=recipe["ais"] or None,
        verbose=verbose,
    )
    described = (
        "the whole test set"
        if len(rows) == len(data.x_test)
        else f"{len(rows)} random test images "
        "(np.random.default_rng(0).permutation, first n, sorted)"
    )
    metrics = {"test_ll": _ll_entry(report, described)}
    binary = data.binary or data.dynamic_binarization
    if not binary:
        metrics["test_ll"]["bits_per_dim"] = bits_per_dim(report.mean, data.image_shape)
    if recipe["full_test_samples"] and len(rows) < len(data.x_test):
        log_z = report.log_partition["log_z"] if report.log_partition else "auto"
        full = evaluation.log_likelihood_report(
            model,
            data.x_test,
            num_samples=recipe["full_test_samples"],
            log_partition=log_z,
            verbose=verbose,
        )
        metrics["test_ll_full"] = {
            **_ll_entry(full, "the whole test set"),
            "mean_on_subset": float(full.per_example[rows].mean()),
        }
    if binary:
        if not getattr(model, "compiled", False):
            model.compile()  # `evaluate` needs it; a loaded model is uncompiled.
        logs = model.evaluate(x, batch_size=1000, verbose=0, return_dict=True)
        metrics["test_elbo_discrete"] = float(logs["elbo"])
    return metrics


def summary(metrics):
    """The flat headline numbers of `evaluate`'s dict (what the CLI prints)."""
    test_ll = metrics["test_ll"]
    result = {
        "test_examples": test_ll["num_examples"],
        "test_log_likelihood": round(test_ll["mean"], 3),
        "test_log_likelihood_standard_error": round(test_ll["standard_error"], 3),
        "num_importance_samples": test_ll["num_samples"],
    }
    if "test_elbo_discrete" in metrics:
        result["test_elbo_discrete"] = round(metrics["test_elbo_discrete"], 3)
    if "bits_per_dim" in test_ll:
        result["test_bits_per_dim"] = round(test_ll["bits_per_dim"], 4)
    result["log_partition"] = test_ll["log_partition"]
    return result


def _identity(key):
    """A run key (or a saved config.json) as compared: JSON types, and the
    recipe without its `recipes.EVALUATION_KEYS` and `DESCRIPTIVE_KEYS`,
    which change how a model is measured or described, not the model."""
    same = json.loads(json.dumps(key))
    training = same.get("training")
    if isinstance(training, dict):
        for name in recipes.EVALUATION_KEYS + recipes.DESCRIPTIVE_KEYS:
            training.pop(name, None)
    return same


def _existing_run(output_dir, key, overwrite, budgeted):
    """The metrics of the finished run in `output_dir` that `key` (recipe,
    seed, start; epochs aside for a time budget, evaluation and
    descriptive keys aside always) describes; None when there is no run,
    an unfinished one of `key` (it resumes), or `overwrite` deleted what
    there was.

    Raises:
        ValueError: the folder holds a run (finished or not) of another key.
    """
    metrics = os.path.join(output_dir, METRICS_FILE)
    backup = os.path.join(output_dir, BACKUP_DIR)
    unfinished = os.path.isdir(backup)
    if not (unfinished or os.path.isfile(metrics)):
        return None
    if overwrite:
        # The backup first: a kill in between leaves no half-deleted run
        # that a rerun would resume.
        files.remove_tree(backup)
        files.remove_tree(os.path.join(output_dir, SELECTION_DIR))
        for name in RUN_FILES:
            path = os.path.join(output_dir, name)
            if os.path.isfile(path):
                os.remove(path)
        return None
    try:
        with open(os.path.join(output_dir, CONFIG_FILE)) as f:
            saved = {k: v for k, v in json.load(f).items() if k != "model"}
    except (OSError, ValueError):
        saved = None
    same = _identity(key)
    saved = _identity(saved) if isinstance(saved, dict) else saved
    if budgeted and saved:
        same["training"]["epochs"] = saved.get("training", {}).get("epochs")
    if saved != same:
        state = "an unfinished" if unfinished else "a finished"
        raise ValueError(
            f"`output_dir` {output_dir!r} holds {state} run of another recipe, "
            "seed or start (its config.json): pass overwrite=True "
            "(--overwrite) to replace it, or another output_dir."
        )
    if unfinished:
        return None
    with open(metrics) as f:
        return json.load(f)


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops training with `FloatingPointError` when an epoch's loss or
    metrics are not finite, before the later callbacks (the backup, the
    history) record that epoch. Checked once an epoch: a per-step check
    would wait for every step on JAX."""

    def on_epoch_end(self, epoch, logs=None):
        bad = {k: float(v) for k, v in (logs or {}).items() if not np.isfinite(v)}
        if bad:
            raise FloatingPointError(
                f"Training went non-finite in epoch {epoch + 1}: {bad}. Nothing "
                "of this epoch was kept: rerunning resumes from the last finite "
                "epoch's backup; lower the learning rate or check the data first."
            )


class RunBackup(keras.callbacks.Callback):
    """The resumable state of a run and its `history.csv`, crash-safe.

    At the end of every epoch it commits a generation of `backup_dir`
    (`utils.generations.Generations`, the two newest kept): the model's and
    the optimizer's variables (`epoch-NNNNNN.weights.h5`: weights, Adam's
    moments and step, PCD chains, log Z, the schedules' step) and a
    manifest written last (`epoch-NNNNNN.json`: the epoch, every
    random-seed state, including any a layer's weights do not carry
    (`utils.seed_state`), every history row so far and the training
    seconds so far, summed over interruptions);
    then rewrites `history_path` from those rows. Nothing is overwritten in
    place. At the start of `fit` it restores the newest whole generation
    (a damaged newer one is skipped with a `KerasDVAEWarning`), fast-forwards
    `batches` (`_WholeBatches.skip_epochs`) and rewrites the history from
    the restored rows: a resumed run trains no epoch twice, keeps every row
    exactly once, and sees the batches and random draws of an
    uninterrupted one. It deletes nothing at the end: `train` removes
    `backup_dir` once the final files are written.

    Args:
        backup_dir: the folder of the generations.
        history_path: the CSV history (column "epoch", 0-based, then the
            logs in sorted order), or None.
        batches: the run's `training_batches`, or None (order not restored).
    """

    def __init__(self, backup_dir, history_path=None, batches=None):
        super().__init__()
        self.store = generations.Generations(backup_dir, prefix="epoch", keep=2)
        self.history_path = history_path
        self.batches = batches
        self.rows = []
        self.previous_seconds = 0.0
        self.start = None

    @property
    def train_seconds(self):
        """Seconds in `fit` so far: the restored backup's plus this call's."""
        if self.start is None:
            return self.previous_seconds
        return self.previous_seconds + time.perf_counter() - self.start

    def _seed_states(self):
        """The model's random-seed states: its variables that are not weights."""
        weights = {id(v) for v in self.model.weights}
        return [v for v in self.model.variables if id(v) not in weights]

    def on_train_begin(self, logs=None):
        files.remove_temporaries(self.store.folder)
        self.rows = []
        self.previous_seconds = 0.0
        self.start = time.perf_counter()
        found = self.store.newest()
        if found is not None:
            number, manifest, paths = found
            optimizer = getattr(self.model, "optimizer", None)
            if optimizer is not None and not optimizer.built:
                # The optimizer's variables must exist to be loaded.
                optimizer.build(self.model.trainable_variables)
            self.model.load_weights(paths[".weights.h5"])
            states = self._seed_states()
            saved = manifest["seed_states"]
            shapes = [list(v.shape) for v in states]
            if shapes != [list(np.shape(s["value"])) for s in saved]:
                raise ValueError(
                    f"The backup in {self.store.folder} holds {len(saved)} seed "
                    f"states, this model {len(states)} of shapes {shapes}: it "
                    "is not this model's backup."
                )
            for variable, state in zip(states, saved, strict=True):
                variable.assign(np.asarray(state["value"], dtype=variable.dtype))
            if self.batches is not None:
                self.batches.skip_epochs(manifest["epoch"])
            # What keras.callbacks.BackupAndRestore sets: `fit` starts there.
            self.model._initial_epoch = manifest["epoch"]
            self.rows = list(manifest["history"])
            # Backups written before this key existed count from here.
            self.previous_seconds = float(manifest.get("train_seconds", 0.0))
        self._write_history()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.rows.append({"epoch": epoch, **{k: float(logs[k]) for k in sorted(logs)}})
        states = [
            {
                "path": v.path,
                "value": np.asarray(keras.ops.convert_to_numpy(v)).tolist(),
            }
            for v in self._seed_states()
        ]
        self.store.save(
            epoch + 1,
            {".weights.h5": self.model.save_weights},
            {
                "epoch": epoch + 1,
                "seed_states": states,
                "history": self.rows,
                "train_seconds": round(self.train_seconds, 3),
            },
        )
        self._write_history()

    def _write_history(self):
        if self.history_path is None:
            return
        if self.rows:
            files.write_csv(self.history_path, self.rows)
        elif os.path.isfile(self.history_path):
            os.remove(self.history_path)  # rows of no restored epoch


def _run_callbacks(model, recipe, output_dir, batches, selector=None):
    """The non-finite guard, log Z updates, the model selection, and the
    resumable backup with the CSV history of a run."""
    result = [
        RunBackup(
            os.path.join(output_dir, BACKUP_DIR),
            os.path.join(output_dir, HISTORY_FILE),
            batches,
        )
    ]
    if selector is not None:
        # Before the backup: a kill during an evaluation resumes from the
        # epoch before it, which is trained and evaluated again.
        result.insert(0, selector)
    every = recipe["log_partition_every"]
    if every and model.prior.has_log_partition:
        # Before the backup, so a resumed run restores the current estimate.
        result.insert(0, dvae_callbacks.LogPartitionUpdate(every, method="auto"))
    return [NonFiniteGuard(), *result]


def _selector(recipe, data, output_dir, resuming):
    """The `callbacks.BestValidation` of a recipe with `selection`, or None;
    a run that does not resume starts without the rows of an earlier one.

    Raises:
        ValueError: the dataset has no validation split.
    """
    selection = recipe["selection"]
    if selection is None:
        return None
    if data.x_valid is None or not len(data.x_valid):
        raise ValueError(
            f"The recipe selects its weights on validation data (`selection`), "
            f"but the dataset {data.name!r} has no validation split: set "
            f"selection=None. Received: selection={selection!r}"
        )
    folder = os.path.join(output_dir, SELECTION_DIR)
    if not resuming:
        files.remove_tree(folder)
    rows = evaluation_rows(len(data.x_valid), selection["examples"])
    return dvae_callbacks.BestValidation(
        data.x_valid[rows],
        folder,
        every=selection["every"],
        num_samples=selection["num_samples"],
        ais_kwargs=recipe["ais"] or None,
    )


def _epoch_progress(epochs, keys=("elbo", "kl")):
    """A Keras Progbar over epochs showing each epoch's `keys` metrics."""
    bar = keras.utils.Progbar(epochs, unit_name="epoch", stateful_metrics=keys)

    def update(epoch, logs):
        values = [(k, float(v)) for k, v in (logs or {}).items() if k in keys]
        bar.update(epoch + 1, values=values, finalize=epoch + 1 == epochs)

    return keras.callbacks.LambdaCallback(on_epoch_end=update)


def train(
    recipe="digits_dvaepp",
    *,
    data_dir=None,
    output_dir="outputs/digits",
    epochs=None,
    seed=0,
    data=None,
    callbacks=(),
    verbose=0,
    progress=False,
    evaluate_model=True,
    examples=None,
    num_samples=None,
    time_budget=None,
    initial_weights=None,
    initial_step=0,
    restart_learning_rate=False,
    overwrite=False,
    **overrides,
):
    """Trains a recipe into `output_dir` (rerun the same call to resume).

    Fits with a log Z update every `log_partition_every` epochs (RBM priors)
    and a crash-safe backup with the CSV history (`RunBackup`: a rerun,
    even after `kill -9`, resumes from the last finished epoch with its
    weights, optimizer state, PCD chains, random-seed states and data
    order, so it ends with the weights of an uninterrupted run); then
    writes the weights, evaluates, draws `samples.png` (rows: prior
    samples, test images, reconstructions), writes the metrics, and only
    then deletes the backup.

    Args:
        recipe: a recipe name (`recipes.list_recipes()`) or dict.
        data_dir: where the dataset files are (see `datasets.load`).
        output_dir: the run folder.
        epochs, **overrides: recipe keys (`batch_size`, `model_args`, ...).
        seed: int, seeds the model, the batch order and the binarisation.
        data: an already loaded `Dataset` (tests), else loaded.
        callbacks: more Keras callbacks for `fit`.
        verbose: `model.fit` verbosity.
        progress: a progress bar over epochs and a line about the run.
        evaluate_model: evaluate and draw samples after training.
        examples, num_samples: see `evaluate`.
        time_budget: seconds of training, turned into epochs by
            `epochs_for_budget` (the metrics record the probed speed); a
            recipe's `selection` evaluations come on top of it.
        initial_weights: a `.weights.h5` file of this recipe's model to
            continue from (a preset's `model.weights.h5`: PCD chains
            included), or None to start afresh.
        initial_step: int ≥ 0, the steps those weights were trained for:
            the schedules resume there (`compile_model`), and the batch
            order is seeded with `seed + initial_step`.
        restart_learning_rate: lay the reference learning rate over this
            run's steps alone, not over `initial_step` + them (a warm
            restart of a continued run; see `compile_model`).
        overwrite: a finished run in `output_dir` (its `metrics.json`, no
            backup) is returned as it is (`reused=True`, its metrics as
            they were measured) when it had this recipe, seed and start
            (`recipes.EVALUATION_KEYS` and `DESCRIPTIVE_KEYS` aside: an
            unfinished run resumes under new ones), and refused
            (ValueError) otherwise;
            `overwrite=True` deletes its files and trains afresh.

    Example:

    >>> import tempfile
    >>> run = train("digits_bernoulli", output_dir=tempfile.mkdtemp(), epochs=1,
    ...             batch_size=1000, model_args={"num_latents": 4, "hidden_units": [8]},
    ...             examples=10, num_samples=5)
    >>> run.steps, run.metrics["test_examples"]
    (1, 10)
    """
    if epochs is not None:
        overrides["epochs"] = epochs
    name, recipe = resolve(recipe, **overrides)
    # Checked before anything is trained: a bad evaluation argument must not
    # surface after hours of training.
    _check_seed(seed)
    _optional_count("examples", examples)
    _optional_count("num_samples", num_samples)
    if time_budget is not None:
        checks.check_positive_finite("time_budget", time_budget)
    initial_step = checks.check_positive_int("initial_step", initial_step, minimum=0)
    if restart_learning_rate:
        _check_restart(recipe, initial_step)
    os.makedirs(output_dir, exist_ok=True)
    files.remove_temporaries(output_dir)  # what a killed run left
    key = {"recipe": name, "training": recipe, "seed": seed}
    if initial_step:
        key["initial_step"] = initial_step
    if restart_learning_rate:
        key["restart_learning_rate"] = True
    finished = _existing_run(output_dir, key, overwrite, time_budget is not None)
    if finished is not None:
        model, _ = load_trained(output_dir)
        data = load_data(recipe, data_dir) if data is None else data
        if progress or verbose:
            print(
                f"{output_dir} holds this run, finished: returning it "
                "(overwrite=True, or --overwrite, trains it again)."
            )
        return TrainingRun(model, recipe, data, finished["steps"], finished, True)
    data = load_data(recipe, data_dir) if data is None else data
    probed = {}
    if time_budget is not None:
        keras.utils.set_random_seed(seed)
        epochs, rate = epochs_for_budget(recipe, data, seed, time_budget)
        if progress or verbose:
            print(f"probe: {rate:.1f} steps/s; {time_budget:.0f} s -> {epochs} epochs")
        recipe = recipes.get(recipe, epochs=epochs)
        probed = {"time_budget": time_budget, "probed_steps_per_second": rate}
        # Forget the probe's model: the run gets the layer names (and the
        # random state) it would have had without the probe.
        keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = build_model(recipe, data, seed)
    adapt(model, data, seed)
    if initial_weights is not None:
        model.load_weights(initial_weights)
        model.training_step.assign(float(initial_step))
    batches = training_batches(data, recipe["batch_size"], seed + initial_step)
    steps = len(batches) * recipe["epochs"]
    config = keras.saving.serialize_keras_object(model)
    files.write_json(os.path.join(output_dir, CONFIG_FILE), {**key, "model": config})
    resuming = os.path.isdir(os.path.join(output_dir, BACKUP_DIR))
    if progress or verbose:
        print(
            f"{'Resuming' if resuming else 'Training'} {recipe['model']} "
            f"(recipe {name or 'custom'}"
            + (f", continued from step {initial_step}" if initial_step else "")
            + (", learning rate restarted" if restart_learning_rate else "")
            + f") on {data.name}: {len(data.x_train)} "
            f"train / {len(data.x_test)} test, {recipe['epochs']} epochs × "
            f"{len(batches)} steps, backend {keras.backend.backend()}"
        )
    selector = _selector(recipe, data, output_dir, resuming)
    extra = [*_run_callbacks(model, recipe, output_dir, batches, selector), *callbacks]
    if progress and not verbose:
        keys = ("elbo", "kl")
        if model.prior.has_log_partition and not recipe["log_partition_every"]:
            # No log Z during training (too costly for this RBM): elbo and
            # kl would be unnormalised, so the bar shows what is not.
            keys = ("reconstruction",)
            print(
                "log Z is not re-estimated during training "
                "(log_partition_every=None): the bar shows the reconstruction "
                "term; the normalised elbo comes with the evaluation."
            )
        extra.append(_epoch_progress(recipe["epochs"], keys))
    fit(
        model,
        batches,
        recipe,
        callbacks=extra,
        verbose=verbose,
        initial_step=initial_step,
        restart_learning_rate=restart_learning_rate,
    )
    # Summed over interruptions (a rerun after a kill counts its earlier runs).
    seconds = next(c for c in extra if isinstance(c, RunBackup)).train_seconds
    selection = None
    if selector is not None:
        save_weights(model, os.path.join(output_dir, LAST_WEIGHTS_FILE))
        selected = selector.load_best(model)
        selection = {
            **recipe["selection"],
            "validation_examples": len(selector.x),
            "selected": selected,
            "last": selector.rows[-1],
            "rows": selector.rows,
        }
    save_weights(model, os.path.join(output_dir, WEIGHTS_FILE))
    metrics = {
        "recipe": name,
        "dataset": data.name,
        "model": recipe["model"],
        "epochs": recipe["epochs"],
        "steps": steps,
        "initial_step": initial_step,
        **({"restart_learning_rate": True} if restart_learning_rate else {}),
        "train_seconds": round(seconds, 1),
        "backend": keras.backend.backend(),
        "seed": seed,
        **probed,
        **({"selection": selection} if selection else {}),
    }
    if evaluate_model:
        details = evaluate(
            model, data, recipe, examples=examples, num_samples=num_samples
        )
        metrics.update(summary(details), evaluation=details)
        images.write_png(
            images.sample_grid(model, data), os.path.join(output_dir, SAMPLES_FILE)
        )
    files.write_json(os.path.join(output_dir, METRICS_FILE), metrics)
    # Only now: a kill before this point resumes from the last epoch's
    # backup (no epoch trained again) and writes the final files again.
    files.remove_tree(os.path.join(output_dir, BACKUP_DIR))
    files.remove_tree(os.path.join(output_dir, SELECTION_DIR))
    return TrainingRun(model, recipe, data, steps, metrics)

"""Writing a trained model as a preset folder, with its model card."""

import contextlib
import datetime
import json
import os
import pathlib
import platform
import shlex
import shutil
import subprocess
import time

import keras
import numpy as np

from keras_dvae import recipes, training
from keras_dvae.utils import charts, files, images
from keras_dvae.version import __version__
from keras_dvae.zoo import loading
from keras_dvae.zoo.loading import (
    CARD_FILE,
    CONFIG_FILE,
    METADATA_FILE,
    SAMPLES_FILE,
    WEIGHTS_FILE,
    get_metadata,
    list_presets,
    preset_dir,
    sha256,
    write_manifest,
)

# The test figure against the training steps, drawn from metadata.json
# (documentation, like the card and samples.png: not in the manifest).
CURVE_FILE = "curve.png"
# The paper's training length (DVAE++, Vahdat et al. 2018: about 10^6
# iterations), against which every preset's steps are counted.
PAPER_STEPS = 10**6
# How the zoo's test subsets are drawn (`training.evaluation_rows`).
PERMUTATION_ROWS = "np.random.default_rng(0).permutation, first n, sorted"
# The rows of the figures `benchmarks/reproduce_dvaepp.py` measured before
# it used the zoo's rule (its own `evaluate`, removed in commit 689ef16).
CHOICE_ROWS = (
    "500 random test images drawn by np.random.default_rng(0).choice(10000, "
    "500, replace=False) (benchmarks/reproduce_dvaepp.py before the zoo's "
    "permutation rule; 23 of them are among the permutation's 500)"
)


def paper_share(steps):
    """`steps` as a percentage of the paper's 10⁶, for the zoo's tables.

    Two significant figures below 10 %, whole percents above, never an
    exponent:

    >>> paper_share(4_100), paper_share(540_000), paper_share(10**6)
    ('0.41', '54', '100')
    """
    percent = 100 * steps / PAPER_STEPS
    return f"{percent:.2g}" if percent < 10 else f"{percent:.0f}"


def export(model, directory, metadata, samples=None, model_card=True, name=None):
    """Writes `model` as a preset folder for `zoo.load`; returns the metadata.

    `config.json` (no compile config), `model.weights.h5`
    (`training.save_weights`: PCD chains and seeds included, no optimizer
    state), `metadata.json` (`metadata` plus "class", the library versions,
    an RBM prior's log Z and "weights_sha256"), `samples.png`, `curve.png`
    (`write_curve`: the test figure against the steps, when the metadata
    records one) and a model card `README.md` unless the folder has one
    (hand-edited cards are kept).

    Args:
        model: a built `keras_dvae` model.
        directory: the preset folder (its name is the default `name`).
        metadata: a JSON-serialisable dict (`model_card` lists the keys it
            shows; `run_ci_check` reads "ci_check").
        samples: optional uint8 image (H, W) or (H, W, 3), e.g.
            `keras_dvae.utils.images.sample_grid(model, data)`.
        model_card: write README.md when the folder has none.
        name: the preset's name in the curve's title and the card (default:
            the folder's name; a preset staged in a copy passes its own).

    Raises:
        ValueError: `metadata` is not a dict or holds a NaN or infinite
            number (strict JSON; the message names its key, and nothing is
            written), `samples` is not a uint8 image, or the config does
            not rebuild the same variables.
    """
    if not isinstance(metadata, dict):
        raise ValueError(f"`metadata` must be a dict. Received: metadata={metadata!r}")
    if samples is not None:
        samples = np.asarray(samples)
        if samples.dtype != np.uint8 or samples.ndim not in (2, 3):
            raise ValueError(
                "`samples` must be a uint8 image of shape (H, W) or (H, W, 3). "
                f"Received: samples with dtype {samples.dtype} and shape "
                f"{samples.shape}"
            )
    metadata = {
        **metadata,
        "class": type(model).__name__,
        "keras_dvae_version": __version__,
        "keras_version": keras.__version__,
    }
    prior = model.prior
    info = prior.log_partition_info if prior.has_log_partition else None
    if info and "log_partition" not in metadata:
        metadata["log_partition"] = dict(info)
    # A preset publishes its figures: a NaN or infinite one is refused
    # (naming its key) before anything is written, not stored as null.
    metadata = files.to_strict_json(metadata, where=METADATA_FILE)
    directory = pathlib.Path(directory)
    weights = directory / WEIGHTS_FILE
    files.write_json(directory / CONFIG_FILE, training.save_weights(model, weights))
    metadata["weights_sha256"] = sha256(weights)
    files.write_json(directory / METADATA_FILE, metadata)
    write_manifest(directory)
    if samples is not None:
        images.write_png(samples, directory / SAMPLES_FILE)
    write_curve(directory, name)
    if model_card and not (directory / CARD_FILE).exists():
        write_model_card(directory, name)
    return metadata


def ci_check(model, recipe, data, repeats=3):
    """The `ci_check` a preset records (`zoo.run_ci_check` re-measures it).

    The mean log-likelihood of `ci_examples` test rows at K = `ci_samples`,
    with a tolerance of 5 × the spread of `repeats` estimates (at least 1
    nat, or 0.002 nats a dimension for 8-bit data). The rows are the
    metrics' rule, `training.evaluation_rows` (the first `ci_examples` of
    `np.random.default_rng(0).permutation`, sorted), recorded as "rows":
    "permutation" with an "examples" description. The committed presets'
    checks have no "rows": they measured the first rows of the test file,
    which is sorted by label in `mnist_static` and `cifar10` (there all
    one class) and by character in `omniglot`; `run_ci_check` must read
    "rows" to re-measure a check exported by this function.
    """
    rows = training.evaluation_rows(len(data.x_test), recipe["ci_examples"])
    x = data.x_test[rows]
    means = [
        float(model.log_likelihood(x, num_samples=recipe["ci_samples"]).mean())
        for _ in range(repeats)
    ]
    dims = int(np.prod(data.image_shape))
    floor = 1.0 if (data.binary or data.dynamic_binarization) else 0.002 * dims
    check = {
        "dataset": recipe["dataset"],
        "split": "test",
        "num_examples": len(x),
        "rows": "permutation",
        "examples": (
            "the whole test set"
            if len(x) == len(data.x_test)
            else f"{len(x)} random test images ({PERMUTATION_ROWS})"
        ),
        "num_samples": recipe["ci_samples"],
        "mean": float(np.mean(means)),
        "tolerance": round(max(floor, 5 * float(np.std(means, ddof=1))), 3),
    }
    info = model.prior.log_partition_info if model.prior.has_log_partition else None
    if info:
        check["log_partition"] = "exact" if info["method"] == "exact" else info["log_z"]
    return check


def _hardware():
    """The machine in words; the GPU's name from `nvidia-smi`, if any."""
    try:
        devices = [str(d) for d in keras.distribution.list_devices()]
    except AttributeError:  # a backend without `keras.distribution` (torch)
        devices = []
    text = f"{platform.machine()}, {os.cpu_count()} cores"
    if any(not d.startswith("cpu") for d in devices):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            names = subprocess.run(
                ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout.split("\n")
            text += f", {names[0].strip()}" if names[0].strip() else ""
    return f"{text}, devices {devices}"


def continuation(directory):
    """Where a preset folder's training stands, for `training.train`.

    Returns:
        {"initial_weights": its weights file, "initial_step": the cumulative
        steps its metadata records}.

    Raises:
        ValueError: no metadata or weights, or weights whose sha256 is not
            the recorded one.
    """
    directory = pathlib.Path(directory)
    weights = directory / WEIGHTS_FILE
    try:
        with open(directory / METADATA_FILE) as f:
            metadata = json.load(f)
        step = int(metadata["training"]["iterations"])
        recorded = metadata["weights_sha256"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"Cannot continue the preset in {str(directory)!r}: its {METADATA_FILE} "
            f"does not record training.iterations and weights_sha256 ({error!r})."
        ) from None
    if not weights.is_file() or sha256(weights) != recorded:
        raise ValueError(
            f"Cannot continue the preset in {str(directory)!r}: {WEIGHTS_FILE} is "
            "missing or its sha256 differs from the one in its metadata."
        )
    return {"initial_weights": str(weights), "initial_step": step}


def _stages(previous, name):
    """The recorded stages and history of a preset's metadata; one stage
    (and one history point) made from an older metadata's single run. Such
    a stage's "command" is the package's rebuild of it (`train.sh` runs the
    stages in order; `--no-selection` where the recipe `name` now selects
    on validation), its recorded one "original_command". A history point
    without "examples" that `benchmarks/reproduce_dvaepp.py` measured (its
    stage's original command) gets that script's rows, `CHOICE_ROWS`."""
    training = previous.get("training", {})
    if "stages" in training:
        stages = list(training["stages"])
        return stages, _describe_rows(stages, previous.get("history", []))
    keys = ("epochs", "train_seconds", "steps_per_second", "backend", "hardware")
    stage = {"steps": [0, training.get("iterations", 0)]}
    stage.update({k: training[k] for k in keys if k in training})
    stage["command"] = shlex.join(
        [f"KERAS_BACKEND={training.get('backend', 'jax')}", "python", "-m"]
        + ["keras_dvae.zoo.train", name, "--epochs", str(training.get("epochs"))]
        + ["--seed", "0", "--data-dir", "../shared/data"]
        # Such a run kept its last epoch: it predates the stage records,
        # and the selection records with them.
        + (["--no-selection"] if _recipe_selects(name) else [])
    )
    if training.get("command") != stage["command"]:
        stage["original_command"] = training.get("command")
    metrics = previous.get("metrics", {})
    history = [_history_point(stage["steps"][1], metrics)]
    return [stage], _describe_rows([stage], history)


def _describe_rows(stages, history):
    """`history` with `CHOICE_ROWS` as the "examples" of each point that has
    none and whose stage ran `benchmarks.reproduce_dvaepp` (its rows)."""
    legacy = {
        s["steps"][1]
        for s in stages
        if "benchmarks.reproduce_dvaepp" in str(s.get("original_command"))
    }
    return [
        {**p, "examples": CHOICE_ROWS}
        if "examples" not in p and p.get("step") in legacy
        else dict(p)
        for p in history
    ]


def _history_point(step, metrics):
    """{"step", "test_ll", "num_samples", "num_examples"[, "standard_error",
    "examples", "bits_per_dim"]} of a stage's metrics."""
    m = metrics.get("test_ll") or metrics.get("test_ll_subset") or {}
    point = {"step": step, "test_ll": m.get("mean")}
    keys = ("num_samples", "num_examples", "standard_error", "examples")
    for key in (*keys, "bits_per_dim"):
        if key in m:
            point[key] = m[key]
    return point


def _evaluation_flags(recipe, facts, num_test):
    """The `--eval-examples`/`--eval-samples` a run's evaluation used where
    they differ from its recipe's (0: the whole test set).

    Example:

    >>> recipe = {"eval_examples": 500, "eval_samples": 4000}
    >>> _evaluation_flags(recipe, {"test_examples": 10000}, 10000)
    ['--eval-examples', '0']
    >>> _evaluation_flags(recipe, {"test_examples": 500,
    ...                            "num_importance_samples": 100}, 10000)
    ['--eval-samples', '100']
    """
    flags = []
    examples, samples = facts.get("test_examples"), facts.get("num_importance_samples")
    if examples is not None and examples != (recipe["eval_examples"] or num_test):
        flags += ["--eval-examples", "0" if examples == num_test else str(examples)]
    if samples is not None and samples != recipe["eval_samples"]:
        flags += ["--eval-samples", str(samples)]
    return flags


def export_preset(run, directory):
    """`export` of a `training.TrainingRun` with its recipe, metrics, training
    facts and `ci_check`, plus a model card and `train.sh`; returns metadata.

    A run continued from a preset (`initial_step` > 0) adds a stage to the
    folder's metadata: "training" then holds the cumulative iterations and
    seconds and a list of "stages" (steps, seconds, speed, hardware, date,
    command each), and "history" the test figure after each stage.
    """
    model, recipe, data, facts = run.model, run.recipe, run.data, run.metrics
    check = ci_check(model, recipe, data)
    backend = keras.backend.backend()
    initial = facts.get("initial_step", 0)
    command = shlex.join(
        [f"KERAS_BACKEND={backend}", "python", "-m", "keras_dvae.zoo.train"]
        + [facts["recipe"]]
        + (["--continue"] if initial else [])
        + (["--restart-learning-rate"] if facts.get("restart_learning_rate") else [])
        + ["--epochs", str(recipe["epochs"])]
        + ["--seed", str(facts["seed"]), "--data-dir", "../shared/data"]
        + _evaluation_flags(recipe, facts, len(data.x_test))
        + (["--no-selection"] if _selection_dropped(facts["recipe"], recipe) else [])
    )
    steps, seconds = facts["steps"], facts["train_seconds"]
    metrics = facts["evaluation"]
    stages, history, previous = [], [], {}
    if initial:
        with open(pathlib.Path(directory) / METADATA_FILE) as f:
            previous = json.load(f)
        stages, history = _stages(previous, facts["recipe"])
    stage = {
        "steps": [initial, initial + steps],
        "epochs": recipe["epochs"],
        "train_seconds": round(seconds, 1),
        "steps_per_second": round(steps / max(seconds, 1e-9), 2),
        "backend": backend,
        "hardware": _hardware(),
        "date": datetime.date.today().isoformat(),
        "command": command,
    }
    if facts.get("restart_learning_rate"):
        stage["learning_rate"] = "restarted: the reference schedule over this stage"
    weights_step = initial + steps
    if facts.get("selection"):
        stage.update(_selection_record(facts["selection"]))
        weights_step = stage["selected"]["step"]
    stages.append(stage)
    history.append(_history_point(weights_step, metrics))
    budget = f"{sum(s.get('epochs', 0) for s in stages)} epochs"
    budget += (
        f" in {len(stages)} stages" if len(stages) > 1 else " on the hardware above"
    )
    if "time_budget" in facts:
        budget += (
            f" (the last: the epochs that fit a {facts['time_budget']:.0f} s "
            f"budget at the probed {facts['probed_steps_per_second']:.1f} steps/s)"
        )
    metadata = {
        "dataset": recipe["dataset"],
        "description": recipe["description"],
        "paper": recipe["paper"],
        "metrics": metrics,
        "training": {
            "iterations": weights_step,
            **(
                {"trained_iterations": initial + steps}
                if weights_step != initial + steps
                else {}
            ),
            "epochs": sum(s.get("epochs", 0) for s in stages),
            "batch_size": recipe["batch_size"],
            "train_seconds": round(sum(s.get("train_seconds", 0) for s in stages), 1),
            "steps_per_second": stage["steps_per_second"],
            "backend": backend,
            "hardware": stage["hardware"],
            "budget": budget + "; the paper trains for about 10^6 iterations on GPUs",
            "command": command,
            "stages": stages,
        },
        "history": history,
        "ci_check": check,
    }
    log_z = _restored_log_partition(metrics)
    if log_z:
        metadata["log_partition"] = log_z
    if previous.get("renamed_from"):  # `zoo.load` of the old name points here
        metadata["renamed_from"] = previous["renamed_from"]
    if data.lossy:
        metadata["lossy_data"] = (
            "Trained and tested on the lossy JPEG copy of CIFAR-10: bits/dim "
            "are NOT comparable with published numbers."
        )
    samples = images.sample_grid(model, data)
    # Titled with the recipe's name: a stage is exported to a copy of the
    # preset folder, which replaces the preset once it is measured.
    name = facts["recipe"]
    written = export(
        model, directory, metadata, samples=samples, model_card=False, name=name
    )
    write_model_card(directory, name)
    _write_train_sh(directory, written)
    return written


def _recipe_selects(name):
    """Whether the recipe `name` (if there is one) selects on validation."""
    named = recipes.get(name) if name in recipes.list_recipes() else {}
    return named.get("selection") is not None


def _selection_dropped(name, recipe):
    """Whether a run of the recipe `name` kept its last epoch although that
    recipe selects on validation (`--no-selection`)."""
    return recipe["selection"] is None and _recipe_selects(name)


def _selection_record(selection):
    """A stage's "selected" (the kept weights' step and validation figure,
    the last epoch's, and how they were measured) and "validation" ([step,
    figure] of every evaluation: the validation curve) from a run's
    `training.train` "selection".

    Example:

    >>> row = lambda e, m: {"epoch": e, "step": 500 * e, "mean": m,
    ...                     "standard_error": 0.5}
    >>> record = _selection_record({"every": 50, "examples": 2000,
    ...     "num_samples": 100, "validation_examples": 2000,
    ...     "selected": row(50, -87.0), "last": row(100, -87.25),
    ...     "rows": [row(50, -87.0), row(100, -87.25)]})
    >>> record["selected"]["step"], record["validation"]
    (25000, [[25000, -87.0], [50000, -87.25]])
    """
    chosen, last = selection["selected"], selection["last"]
    return {
        "selected": {
            "step": chosen["step"],
            "validation_ll": round(chosen["mean"], 3),
            "standard_error": round(chosen["standard_error"], 3),
            "last_step": last["step"],
            "last_validation_ll": round(last["mean"], 3),
            "evaluations": len(selection["rows"]),
            "every_epochs": selection["every"],
            "num_samples": selection["num_samples"],
            "validation_examples": selection["validation_examples"],
        },
        "validation": [[r["step"], round(r["mean"], 3)] for r in selection["rows"]],
    }


def _restored_log_partition(metrics):
    """The log Z estimate of an evaluation's "test_ll" that `zoo.load`
    restores (exact or AIS, without the reverse-AIS bracket), or None."""
    info = metrics.get("test_ll", {}).get("log_partition") or {}
    if info.get("method") not in ("exact", "ais"):
        return None
    keys = ("log_z", "method", "log_z_lower", "log_z_upper", "num_betas")
    return {k: info[k] for k in keys if k in info}


def _write_train_sh(directory, metadata):
    """A preset folder's `train.sh`: its training stages' commands in
    order, then those of its remeasurements (`remeasure`)."""
    commands = [s.get("command") for s in metadata["training"]["stages"]]
    commands += [r["command"] for r in metadata.get("remeasured", [])]
    files.write_text(
        pathlib.Path(directory) / "train.sh",
        "#!/usr/bin/env bash\n# Reproduces this preset: its training stages in "
        "order, then any re-evaluation of the final weights.\nset -e\n"
        + "\n".join(str(c) for c in commands)
        + "\n",
    )


def _figure(entry):
    """The short record of a test figure: mean, standard error, K, rows."""
    keys = ("mean", "standard_error", "bits_per_dim", "num_samples")
    keys += ("num_examples", "examples")
    return {k: entry[k] for k in keys if k in entry}


def remeasure(
    name,
    directory=None,
    *,
    data_dir=None,
    examples=None,
    num_samples=None,
    verbose=0,
):
    """Evaluates a preset's unchanged weights again and records the figure.

    For a figure measured on more rows or at a larger K than the one a
    preset was exported with (say the whole test set at K = 4000 instead
    of a 200-image subset), without training it further: the new
    `training.evaluate` metrics become the folder's "metrics" (a CIFAR-10
    "lossless_train_ll" is kept), and the history point at the weights'
    step takes the new figure; the figure it replaced is kept under
    "remeasured" with the date, command, hardware and seconds, and
    `train.sh` ends with the command. The folder is rewritten as a copy
    that replaces it (`files.replace_folder`): an interrupted remeasurement
    leaves the preset as it was. The weights file is not touched.

    Args:
        name: the preset's recipe (`recipes.list_recipes()`).
        directory: the preset folder (default: the preset `name`).
        data_dir: where the dataset files are (see `datasets.load`).
        examples: test rows (`training.evaluation_rows`; a number ≥ the
            test set's size means all of them), default the recipe's.
        num_samples: K, default the recipe's.
        verbose: progress of the evaluation (`evaluation.log_likelihood_report`).

    Returns:
        The new metadata.

    Raises:
        ValueError: an unknown recipe; a folder that fails its manifest or
            whose model class or dataset is not the recipe's.

    Example:

    >>> import tempfile, shutil
    >>> folder = shutil.copytree(preset_dir("dvaepp_2nl_mnist_static"),
    ...                          tempfile.mkdtemp() + "/p")
    >>> remeasure("digits_bernoulli", folder)
    Traceback (most recent call last):
    ...
    ValueError: Preset 'p' cannot be remeasured as recipe 'digits_bernoulli': ...
    """
    recipe = recipes.get(name)
    directory = pathlib.Path(directory) if directory else preset_dir(name)
    metadata = get_metadata(directory)
    for key, wanted in (("class", recipe["model"]), ("dataset", recipe["dataset"])):
        if metadata.get(key) != wanted:
            raise ValueError(
                f"Preset {directory.name!r} cannot be remeasured as recipe "
                f"{name!r}: its {key} is {metadata.get(key)!r}, the recipe's "
                f"is {wanted!r}."
            )
    model = loading.load(directory)  # checked against its manifest
    data = training.load_data(recipe, data_dir)
    start = time.perf_counter()
    metrics = training.evaluate(
        model, data, recipe, examples=examples, num_samples=num_samples, verbose=verbose
    )
    seconds = time.perf_counter() - start
    old = metadata.get("metrics") or {}
    if "lossless_train_ll" in old:
        metrics["lossless_train_ll"] = old["lossless_train_ll"]
    test = metrics["test_ll"]
    facts = {"test_examples": test["num_examples"]}
    facts["num_importance_samples"] = test["num_samples"]
    backend = keras.backend.backend()
    command = shlex.join(
        [f"KERAS_BACKEND={backend}", "python", "-m", "keras_dvae.zoo.train", name]
        + ["--remeasure", "--data-dir", "../shared/data"]
        + _evaluation_flags(recipe, facts, len(data.x_test))
    )
    step = int(metadata["training"]["iterations"])
    stages, history = _stages(metadata, name)
    point = _history_point(step, metrics)
    history = [p for p in history if p.get("step") != step] + [point]
    updated = {**metadata, "metrics": metrics, "history": history}
    updated["training"] = {**metadata["training"], "stages": stages}
    updated["remeasured"] = list(metadata.get("remeasured", [])) + [
        {
            "date": datetime.date.today().isoformat(),
            "command": command,
            "backend": backend,
            "hardware": _hardware(),
            "seconds": round(seconds, 1),
            "replaced": _figure(_headline(metadata)),
        }
    ]
    log_z = _restored_log_partition(metrics)
    if log_z:
        updated["log_partition"] = log_z
    updated = files.to_strict_json(updated, where=METADATA_FILE)
    staged = directory.parent / f".{directory.name}{files.TEMP_MARK}remeasure"
    files.remove_tree(staged)
    shutil.copytree(directory, staged)
    files.write_json(staged / METADATA_FILE, updated)
    _write_train_sh(staged, updated)
    write_curve(staged, name)  # titled with the recipe's name, not the
    write_model_card(staged, name)  # staging folder's or a copy's
    write_manifest(staged)
    loading.verify_manifest(staged)
    files.replace_folder(staged, directory)
    return updated


def _headline(metadata):
    """The metric a preset is known by: "test_ll" (or an older "test_ll_subset")."""
    metrics = metadata.get("metrics") or {}
    return metrics.get("test_ll") or metrics.get("test_ll_subset") or {}


def _other_rows(examples):
    """A short note for figures not measured on the zoo's permutation rows."""
    if not examples or PERMUTATION_ROWS in examples or examples == "the whole test set":
        return ""
    return "rng.choice rows" if "choice" in examples else "other rows"


def curve_points(metadata, name=""):
    """The test figure after each training stage, from a preset's metadata.

    Its "history" (or, for a one-stage preset without one, a point made
    from its metrics), as dicts of "step", "value" (nats, or bits/dim where
    recorded), "standard_error" (in the same unit, where known: the last
    point's comes from the metrics), "examples" (how the rows were drawn,
    where known) and "num_samples"/"num_examples".
    """
    _, history = _stages(metadata, name)
    headline = _headline(metadata)
    iterations = (metadata.get("training") or {}).get("iterations")
    points = []
    for p in history:
        if p.get("test_ll") is None:
            continue
        p = dict(p)
        if p.get("step") == iterations:
            for key in ("standard_error", "examples"):
                if key not in p and key in headline:
                    p[key] = headline[key]
        value, error = p["test_ll"], p.get("standard_error")
        if "bits_per_dim" in p:
            # bits/dim = -nats / (dims · ln 2): the same scale for the error.
            scale = p["bits_per_dim"] / abs(p["test_ll"]) if p["test_ll"] else 0.0
            value = p["bits_per_dim"]
            error = None if error is None else error * scale
        points.append({**p, "value": value, "standard_error": error})
    return points


def write_curve(directory, name=None):
    """Draws a preset folder's `curve.png` from its metadata.json (titled
    with `name`, default the folder's name).

    The test figure (nats, or bits/dim) against the cumulative training
    steps: a marker for the evaluation after each stage with its ±1
    standard error where recorded (a hollow marker where it was measured on
    other test rows than the last), the paper's figure as a dashed line,
    and the steps counted against the paper's 10^6.

    Returns:
        The path of curve.png, or None when the metadata records no figure
        (nothing is written).
    """
    directory = pathlib.Path(directory)
    metadata = files.read_json(directory / METADATA_FILE)
    name = name or directory.name
    points = curve_points(metadata, name)
    if not points:
        return None
    bits = any("bits_per_dim" in p for p in points)
    last = points[-1]
    paper = metadata.get("paper") or {}
    reference = paper.get("bits_per_dim" if bits else "test_ll")
    decimals = 3 if bits else 2
    chart_points = [
        {
            "x": p["step"],
            "y": p["value"],
            "error": p["standard_error"],
            "hollow": p.get("examples") != last.get("examples"),
            "label": f"{p['value']:.{decimals}f}",
        }
        for p in points
    ]
    rows = last.get("examples") or f"{last.get('num_examples', '?')} test images"
    if PERMUTATION_ROWS in rows:
        rows = f"{last.get('num_examples')} random test images (permutation rule)"
    elif _other_rows(rows):
        rows = f"{last.get('num_examples')} test images ({_other_rows(rows)})"
    training = metadata.get("training") or {}
    steps = training.get("iterations", last["step"])
    footnote = (
        f"The paper trains for about 10^6 = 1,000,000 steps; this preset has "
        f"{steps:,} ({paper_share(steps)} % of that)."
    )
    if "trained_iterations" in training:
        footnote += (
            f" Its weights are those of its best validation evaluation, of "
            f"{training['trained_iterations']:,} steps trained."
        )
    secondary, secondary_label = _validation_points(training), ""
    if secondary:
        selected = next(
            s["selected"] for s in reversed(training["stages"]) if "selected" in s
        )
        secondary_label = (
            f"validation, K = {selected['num_samples']}, "
            f"{selected['validation_examples']:,} images (large: the weights kept)"
        )
    if reference is None:
        footnote = "No comparable published figure. " + footnote
    if any(p["hollow"] for p in chart_points):
        footnote += (
            " Hollow: measured on other test rows (see the history's "
            '"examples" in metadata.json), so not comparable to the decimal.'
        )
    image = charts.line_chart(
        chart_points,
        title=f"{name}: test {'bits/dim' if bits else 'log-likelihood'} "
        "after each training stage",
        subtitle=f"{metadata.get('dataset')}; K = {last.get('num_samples', '?')}, "
        f"{rows}; bars ±1 standard error",
        x_label="training steps (cumulative over the stages)",
        y_label="bits/dim (lower is better)" if bits else "nats (higher is better)",
        reference=reference,
        reference_label=f"paper ({paper.get('setting', 'about 10^6 steps')}): "
        f"{reference}",
        footnote=footnote,
        secondary=secondary,
        secondary_label=secondary_label,
    )
    path = directory / CURVE_FILE
    images.write_png(image, path)
    return path


def _validation_points(training):
    """The validation curve of a preset's stages as chart points (the
    selected step's highlighted); [] without one."""
    points = []
    for stage in training.get("stages") or []:
        chosen = (stage.get("selected") or {}).get("step")
        points += [
            {"x": step, "y": value, "highlight": step == chosen}
            for step, value in stage.get("validation") or []
        ]
    return points


def _committed_dates(directory):
    """{training.iterations: date of the first commit whose metadata.json
    records them} of a preset folder in a git checkout, and None: the date
    of the last commit that changed it; {} where git has no history of it."""
    directory = pathlib.Path(directory)

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout

    dates = {}
    with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError):
        # --follow: a renamed preset keeps its history (each commit's path
        # from the repository root comes with --name-only).
        log = git(
            "log",
            "--follow",
            "--name-only",
            "--format=%x00%H %ad",
            "--date=short",
            "--",
            METADATA_FILE,
        )
        commits = [entry.split() for entry in log.split("\0") if entry.strip()]
        if commits:
            dates[None] = commits[0][1]
        for commit, date, path in reversed(commits):  # oldest first
            recorded = json.loads(git("show", f"{commit}:{path}"))
            steps = (recorded.get("training") or {}).get("iterations")
            dates.setdefault(steps, date)
    return dates


_BACKENDS = {"jax": "JAX", "tensorflow": "TensorFlow", "torch": "PyTorch"}


def _machine(stage):
    """A stage's backend and device in words: "JAX, NVIDIA H200"."""
    hardware = str(stage.get("hardware", ""))
    parts = [s.strip() for s in hardware.split(",")]
    gpu = next((s for s in parts if s.startswith("NVIDIA")), None)
    if gpu is None and ("gpu" in hardware or "cuda" in hardware):
        gpu = "GPU"
    cores = next((s.split()[0] for s in parts if s.endswith(" cores")), None)
    device = gpu or (f"{cores}-core CPU" if cores else "CPU")
    backend = stage.get("backend", "?")
    return f"{_BACKENDS.get(backend, backend)}, {device}"


def zoo_table():
    """The Markdown table of every preset: its test figure against the
    paper's, with K and the test rows (and where and when the last
    `remeasure` measured them), the steps so far against the paper's
    10^6, the hardware and minutes of each stage, and each stage's date (a
    stage that records none: the date of the first commit whose metadata
    records its end step, marked "committed"; "—" outside a checkout).
    Then one row per recipe with a published figure and no preset yet."""
    lines = [
        "| preset | dataset | paper | ours | K, test examples "
        "| steps so far / paper's 10⁶ | hardware | date |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in list_presets():
        meta = get_metadata(name)
        m = _headline(meta)
        ours, detail = "—", "—"
        if m:
            ours = f"{m['mean']:.2f}"
            if "standard_error" in m:
                ours += f" ± {m['standard_error']:.2f}"
            if "bits_per_dim" in m:
                error = m.get("standard_error", 0) * m["bits_per_dim"] / abs(m["mean"])
                ours = f"{m['bits_per_dim']:.3f} ± {error:.3f} bits/dim"
            detail = f"K={m.get('num_samples')}, {m.get('num_examples', 0):,}"
            if _other_rows(m.get("examples")):
                detail += f" ({_other_rows(m.get('examples'))})"
            if meta.get("remeasured"):
                last = meta["remeasured"][-1]
                detail += f" (remeasured {last.get('date')}, {_machine(last)})"
        reference = _paper_text(meta.get("paper"))
        stages, _ = _stages(meta, name)
        iterations = (meta.get("training") or {}).get("iterations", 0)
        steps = f"{iterations:,} ({paper_share(iterations)} %)"
        trained = (meta.get("training") or {}).get("trained_iterations")
        if trained:
            steps += f", best validation of {trained:,}"
        if len(stages) > 1:
            steps += f", {len(stages)} stages"
        machines = [_machine(s) for s in stages]
        minutes = [f"{s.get('train_seconds', 0) / 60:.0f}" for s in stages]
        if len(set(machines)) == 1:
            hardware = f"{machines[0]}, {' + '.join(minutes)} min"
        else:
            hardware = "; ".join(
                f"{w}, {t} min" for w, t in zip(machines, minutes, strict=True)
            )
        committed = {}
        if any("date" not in s for s in stages):
            committed = _committed_dates(preset_dir(name))
        dates = []
        for s in stages:
            if "date" in s:
                dates.append(s["date"])
                continue
            date = committed.get(s["steps"][1], committed.get(None))
            dates.append(f"{date} (committed)" if date else "—")
        lines.append(
            f"| `{name}` | {meta.get('dataset')} | {reference} | {ours} | {detail} "
            f"| {steps} | {hardware} | {', '.join(dates)} |"
        )
    presets = set(list_presets())
    for name in recipes.list_recipes():
        recipe = recipes.get(name)
        if name not in presets and recipe["paper"]:
            lines.append(
                f"| `{name}` | {recipe['dataset']} | {_paper_text(recipe['paper'])} "
                "| not trained yet (a recipe) | — | 0 | — | — |"
            )
    return "\n".join(lines)


def _paper_text(paper):
    """A recipe's published figure in the table's words, or "—"."""
    paper = paper or {}
    if "test_ll" in paper:
        return f"{paper['test_ll']}"
    if "bits_per_dim" in paper:
        return f"{paper['bits_per_dim']} bits/dim"
    return "—"


def write_model_card(directory, name=None):
    """Writes a preset folder's README.md (`model_card` of its metadata.json
    for the preset `name`, default the folder's name, showing samples.png
    and curve.png if present) and returns its path."""
    directory = pathlib.Path(directory)
    with open(directory / METADATA_FILE) as f:
        metadata = json.load(f)
    path = directory / CARD_FILE
    samples = (directory / SAMPLES_FILE).is_file()
    curve = (directory / CURVE_FILE).is_file()
    card = model_card(name or directory.name, metadata, samples=samples, curve=curve)
    files.write_text(path, card)
    return path


def model_card(name, metadata, samples=False, curve=False):
    """The Markdown model card of a preset from its metadata.

    Shows, when present: "description", "renamed_from", "lossy_data",
    "class", "dataset", "metrics", "paper", "training", "history",
    "remeasured", "ci_check", "weights_sha256";
    samples.png if `samples`, curve.png if `curve`; and an example that
    re-measures the headline metric on the rows it was measured on (the
    zoo's `np.random.default_rng(0).permutation`, first n).
    """
    cls = metadata.get("class", "model")
    dataset = metadata.get("dataset")
    lines = [f"# {name}", ""]
    if metadata.get("description"):
        lines += [metadata["description"], ""]
    if metadata.get("renamed_from"):
        lines += [
            f"Formerly `{metadata['renamed_from']}` (that name now belongs to "
            "another recipe).",
            "",
        ]
    if metadata.get("lossy_data"):
        lines += [f"**Caveat:** {metadata['lossy_data']}", ""]
    lines.append(f"- **Model:** `keras_dvae.models.{cls}` (`config.json`).")
    if dataset:
        lines.append(
            f'- **Data:** `{dataset}` (`keras_dvae.datasets.load("{dataset}")`).'
        )
    metrics = metadata.get("metrics") or {}
    if metrics:
        lines.append(
            "- **Metrics** (importance-weighted log-likelihoods, in nats unless "
            "named otherwise):"
        )
        lines += [f"  - `{k}`: {_metric_text(k, v)}" for k, v in metrics.items()]
    paper = metadata.get("paper")
    if paper:
        value = paper.get("test_ll")
        if value is None and "bits_per_dim" in paper:
            value = f"{paper['bits_per_dim']} bits/dim"
        lines.append(f"- **Paper:** {paper.get('setting', '')}: {value}.")
    training = metadata.get("training") or {}
    if training:
        lines.append(f"- **Training:** {_training_text(training)}")
        if training.get("command"):
            lines.append(f"  `{training['command']}`")
    points = curve_points(metadata, name) if "history" in metadata else []
    if len(points) > 1:
        text = "; ".join(
            f"{p['step']:,} → {p['value']:.{3 if 'bits_per_dim' in p else 2}f}"
            + (
                f" ({_other_rows(p.get('examples'))})"
                if _other_rows(p.get("examples"))
                else ""
            )
            for p in points
        )
        lines.append(f"- **History** (steps → test figure): {text}.")
    for r in metadata.get("remeasured", []):
        was = r.get("replaced") or {}
        lines.append(
            f"- **Remeasured** on {r.get('date')} ({r.get('hardware')}, "
            f"{r.get('seconds', 0) / 60:.0f} min), the weights unchanged; the "
            f"figure it replaced: {_metric_text('test_ll', was) if was else 'none'}."
        )
    check = metadata.get("ci_check")
    if check:
        lines.append(
            f"- **CI check** (`tests/zoo`): {_ci_rows_text(check)}, "
            f"K = {check['num_samples']}, log Z "
            f"{_log_z_text(check.get('log_partition'))}: mean "
            f"{check['mean']:.2f} ± {check['tolerance']} nats."
        )
    if metadata.get("weights_sha256"):
        lines.append(f"- **Weights sha256:** `{metadata['weights_sha256']}`")
    lines.append("")
    if samples:
        caption = "Rows: prior samples, test images, reconstructions"
        lines += [f"![{caption}]({SAMPLES_FILE})", ""]
    if curve:
        caption = "Test figure after each training stage against the paper's"
        lines += [f"![{caption}]({CURVE_FILE})", ""]
    return "\n".join(lines + _card_example(name, cls, metadata))


# How the first rows of a test file are ordered, where that matters: a
# `ci_check` without "rows" measured them (`ci_check`).
_FILE_ORDER = {
    "mnist_static": "sorted by label: all one class, the digit 0",
    "cifar10": "sorted by label: all one class, airplane",
    "omniglot": "sorted by character: the first characters of one alphabet",
}


def _ci_rows_text(check):
    """The rows a `ci_check` measures, in words."""
    split, dataset = check.get("split", "test"), check["dataset"]
    if check.get("rows") == "permutation":
        return f"{check.get('examples', check['num_examples'])} of `{dataset}`"
    order = _FILE_ORDER.get(dataset)
    return (
        f"the first {check['num_examples']} {split} images of `{dataset}` in file "
        "order, not the metrics' random rows" + (f" ({order})" if order else "")
    )


def _card_example(name, cls, metadata):
    """The card's code: load the preset and, where its metadata says how,
    re-measure its headline metric on the same rows with the same K."""
    load = f'model = models.{cls}.from_preset("{name}")'
    m, dataset = _headline(metadata), metadata.get("dataset")
    if not (dataset and "num_examples" in m and "num_samples" in m):
        return ["```python", "from keras_dvae import models", "", load, "```", ""]
    key = "test_ll" if "test_ll" in metadata.get("metrics", {}) else "test_ll_subset"
    n, k = m["num_examples"], m["num_samples"]
    lines = [
        "```python",
        "import numpy as np",
        "",
        "from keras_dvae import datasets, models",
        "",
    ]
    restores = " and restores the recorded log Z" if "log_partition" in metadata else ""
    lines += [f"# from_preset checks the weights' sha256{restores}.", load]
    lines += [f'data = datasets.load("{dataset}", data_dir="../shared/data")']
    if m.get("examples") == "the whole test set":
        lines += ["x = data.x_test"]
    else:
        lines += [
            f"# The rows of `{key}` (not x_test[:{n}]: some test files are sorted",
            "# by label): np.random.default_rng(0).permutation, the first n.",
            f"rows = np.random.default_rng(0).permutation(len(data.x_test))[:{n}]",
            "x = data.x_test[np.sort(rows)]",
        ]
    lines += [f"ll = model.log_likelihood(x, num_samples={k})"]
    expected = f"{m['mean']:.2f}"
    if "standard_error" in m:
        expected += f" ± {m['standard_error']:.2f}"
    if _other_rows(m.get("examples")):
        expected += f" (on {_other_rows(m.get('examples'))}: see its examples)"
    lines += [f"print(ll.mean())  # metadata.json: {expected}"]
    if "bits_per_dim" in m:
        lines += [
            "print(-ll.mean() / (np.prod(data.image_shape) * np.log(2)))  "
            f"# bits/dim: {m['bits_per_dim']:.3f}"
        ]
    return lines + ["```", ""]


def _log_z_text(log_z):
    if isinstance(log_z, dict):
        method, value = log_z.get("method", "?"), log_z.get("log_z")
        return method if value is None else f"{method}, {value:.3f}"
    if isinstance(log_z, (int, float)):
        return f"given, {log_z:.3f}"
    return log_z or "as recorded"


def _metric_text(key, value):
    if not isinstance(value, dict):
        return f"{value:.2f}" if isinstance(value, float) else str(value)
    text = f"{value['mean']:.2f}"
    if "standard_error" in value:
        text += f" ± {value['standard_error']:.2f} s.e."
    if "bits_per_dim" in value:
        text += f" ({value['bits_per_dim']:.3f} bits/dim)"
    details = [f"K = {value['num_samples']}"] if "num_samples" in value else []
    if "num_examples" in value:
        split = value.get("split") or next(
            (s for s in ("test", "valid", "train") if key.startswith(s)), ""
        )
        details.append(f"{value['num_examples']} {split} examples".replace("  ", " "))
    if _other_rows(value.get("examples")):
        details.append(f"rows: {value['examples']}")
    if value.get("log_partition"):
        details.append(f"log Z {_log_z_text(value['log_partition'])}")
    return text + (f" ({'; '.join(details)})" if details else "")


def _stage_text(stage):
    """A stage in words, from what it records: "21,000 → 34,000 on JAX,
    2-core CPU (48 min)"."""
    start, end = stage["steps"]
    text = f"{start:,} → {end:,}"
    if stage.get("hardware"):
        text += f" on {_machine(stage)}"
    if "train_seconds" in stage:
        text += f" ({stage['train_seconds'] / 60:.0f} min)"
    return text


def _training_text(training):
    parts = []
    if "iterations" in training:
        parts.append(f"{training['iterations']:,} iterations")
        if "trained_iterations" in training:
            parts.append(
                f"(the best validation evaluation of "
                f"{training['trained_iterations']:,} trained"
                + (f", {training['epochs']} epochs)" if "epochs" in training else ")")
            )
        elif "epochs" in training:
            parts.append(f"({training['epochs']} epochs)")
    if "train_seconds" in training:
        parts.append(f"in {training['train_seconds'] / 60:.0f} min")
    stages = training.get("stages") or []
    where = ", ".join(
        str(training[k]) for k in ("hardware", "backend") if training.get(k)
    )
    if len(stages) > 1:
        # Each stage ran where it ran: the last stage's machine is not the
        # whole run's.
        parts.append(f"over {len(stages)} stages:")
        parts.append("; ".join(_stage_text(s) for s in stages))
    elif where:
        parts.append(f"on {where}")
    budget = f" Budget: {training['budget']}." if training.get("budget") else ""
    return " ".join(parts) + "." + budget

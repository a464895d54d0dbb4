"""Writing a trained model as a preset folder, with its model card."""

import contextlib
import datetime
import json
import os
import pathlib
import platform
import shlex
import subprocess

import keras
import numpy as np

from keras_dvae import training
from keras_dvae.utils import files, images
from keras_dvae.version import __version__
from keras_dvae.zoo.loading import (
    CARD_FILE,
    CONFIG_FILE,
    METADATA_FILE,
    SAMPLES_FILE,
    WEIGHTS_FILE,
    get_metadata,
    list_presets,
    sha256,
    write_manifest,
)


def export(model, directory, metadata, samples=None, model_card=True):
    """Writes `model` as a preset folder for `zoo.load`; returns the metadata.

    `config.json` (no compile config), `model.weights.h5`
    (`training.save_weights`: PCD chains and seeds included, no optimizer
    state), `metadata.json` (`metadata` plus "class", the library versions,
    an RBM prior's log Z and "weights_sha256"), `samples.png`, and a model
    card `README.md` unless the folder has one (hand-edited cards are kept).

    Args:
        model: a built `keras_dvae` model.
        directory: the preset folder; its name is the preset's name.
        metadata: a JSON-serialisable dict (`model_card` lists the keys it
            shows; `run_ci_check` reads "ci_check").
        samples: optional uint8 image (H, W) or (H, W, 3), e.g.
            `keras_dvae.utils.images.sample_grid(model, data)`.
        model_card: write README.md when the folder has none.

    Raises:
        ValueError: `metadata` is not a dict, `samples` is not a uint8
            image, or the config does not rebuild the same variables.
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
    directory = pathlib.Path(directory)
    weights = directory / WEIGHTS_FILE
    files.write_json(directory / CONFIG_FILE, training.save_weights(model, weights))
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
    metadata["weights_sha256"] = sha256(weights)
    files.write_json(directory / METADATA_FILE, metadata)
    write_manifest(directory)
    if samples is not None:
        images.write_png(samples, directory / SAMPLES_FILE)
    if model_card and not (directory / CARD_FILE).exists():
        write_model_card(directory)
    return metadata


def ci_check(model, recipe, data, repeats=3):
    """The `ci_check` a preset records (`zoo.run_ci_check` re-measures it).

    The mean log-likelihood of the first `ci_examples` test rows at K =
    `ci_samples`, with a tolerance of 5 × the spread of `repeats` estimates
    (at least 1 nat, or 0.002 nats a dimension for 8-bit data).
    """
    x = data.x_test[: recipe["ci_examples"]]
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
    stages in order), its recorded one "original_command"."""
    training = previous.get("training", {})
    if "stages" in training:
        return list(training["stages"]), list(previous.get("history", []))
    keys = ("epochs", "train_seconds", "steps_per_second", "backend", "hardware")
    stage = {"steps": [0, training.get("iterations", 0)]}
    stage.update({k: training[k] for k in keys if k in training})
    stage["command"] = shlex.join(
        [f"KERAS_BACKEND={training.get('backend', 'jax')}", "python", "-m"]
        + ["keras_dvae.zoo.train", name, "--epochs", str(training.get("epochs"))]
        + ["--seed", "0", "--data-dir", "../shared/data"]
    )
    if training.get("command") != stage["command"]:
        stage["original_command"] = training.get("command")
    metrics = previous.get("metrics", {})
    return [stage], [_history_point(stage["steps"][1], metrics)]


def _history_point(step, metrics):
    """{"step", "test_ll", K, examples[, "bits_per_dim"]} of a stage's metrics."""
    m = metrics.get("test_ll") or metrics.get("test_ll_subset") or {}
    point = {"step": step, "test_ll": m.get("mean")}
    for key in ("num_samples", "num_examples", "bits_per_dim"):
        if key in m:
            point[key] = m[key]
    return point


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
        + ["--epochs", str(recipe["epochs"])]
        + ["--seed", str(facts["seed"]), "--data-dir", "../shared/data"]
    )
    steps, seconds = facts["steps"], facts["train_seconds"]
    metrics = facts["evaluation"]
    stages, history = [], []
    if initial:
        with open(pathlib.Path(directory) / METADATA_FILE) as f:
            stages, history = _stages(json.load(f), pathlib.Path(directory).name)
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
    stages.append(stage)
    history.append(_history_point(initial + steps, metrics))
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
            "iterations": initial + steps,
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
    info = metrics.get("test_ll", {}).get("log_partition") or {}
    if info.get("method") in ("exact", "ais"):
        # The estimate `zoo.load` restores (without the reverse-AIS bracket).
        keys = ("log_z", "method", "log_z_lower", "log_z_upper", "num_betas")
        metadata["log_partition"] = {k: info[k] for k in keys if k in info}
    if data.lossy:
        metadata["lossy_data"] = (
            "Trained and tested on the lossy JPEG copy of CIFAR-10: bits/dim "
            "are NOT comparable with published numbers."
        )
    samples = images.sample_grid(model, data)
    written = export(model, directory, metadata, samples=samples, model_card=False)
    write_model_card(directory)
    commands = "\n".join(str(s.get("command")) for s in stages)
    files.write_text(
        pathlib.Path(directory) / "train.sh",
        "#!/usr/bin/env bash\n# Reproduces this preset: its training stages in "
        f"order.\nset -e\n{commands}\n",
    )
    return written


def zoo_table():
    """The Markdown table of every preset: measured metric against the paper."""
    lines = [
        "| preset | dataset | measured (test) | K, examples | paper | budget |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in list_presets():
        meta = get_metadata(name)
        metrics = meta.get("metrics", {})
        m = metrics.get("test_ll") or metrics.get("test_ll_subset")
        measured, detail = "—", ""
        if m:
            measured = f"{m['mean']:.2f} nats"
            if "bits_per_dim" in m:
                measured = f"{m['bits_per_dim']:.3f} bits/dim"
            detail = f"K={m.get('num_samples')}, {m.get('num_examples')}"
        paper = meta.get("paper") or {}
        reference = paper.get("test_ll", paper.get("bits_per_dim", "—"))
        run = meta.get("training", {})
        hardware = run.get("hardware", "")
        device = "GPU" if "cuda" in hardware or "gpu" in hardware else "CPU"
        budget = (
            f"{run.get('iterations', '?'):,} steps, "
            f"{run.get('train_seconds', 0) / 60:.0f} min "
            f"({run.get('backend', '?')}, {device})"
        )
        lines.append(
            f"| `{name}` | {meta.get('dataset')} | {measured} | {detail} | "
            f"{reference} | {budget} |"
        )
    return "\n".join(lines)


def write_model_card(directory):
    """Writes a preset folder's README.md (`model_card` of its metadata.json,
    showing samples.png if present) and returns its path."""
    directory = pathlib.Path(directory)
    with open(directory / METADATA_FILE) as f:
        metadata = json.load(f)
    path = directory / CARD_FILE
    samples = (directory / SAMPLES_FILE).is_file()
    files.write_text(path, model_card(directory.name, metadata, samples=samples))
    return path


def model_card(name, metadata, samples=False):
    """The Markdown model card of a preset from its metadata.

    Shows, when present: "description", "lossy_data", "class", "dataset",
    "metrics", "paper", "training", "history", "ci_check", "weights_sha256"; and
    samples.png if `samples`.
    """
    cls = metadata.get("class", "model")
    dataset = metadata.get("dataset")
    lines = [f"# {name}", ""]
    if metadata.get("description"):
        lines += [metadata["description"], ""]
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
    points = [p for p in metadata.get("history", []) if p.get("test_ll") is not None]
    if len(points) > 1:
        curve = "; ".join(f"{p['step']:,} → {p['test_ll']:.2f}" for p in points)
        lines.append(f"- **History** (steps → test log-likelihood): {curve}.")
    check = metadata.get("ci_check")
    if check:
        lines.append(
            f"- **CI check** (`tests/zoo`): the first {check['num_examples']} "
            f"{check.get('split', 'test')} images of `{check['dataset']}`, "
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
    lines += ["```python", "from keras_dvae import models", ""]
    lines += [f'model = models.{cls}.from_preset("{name}")', "```", ""]
    return "\n".join(lines)


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
    if value.get("log_partition"):
        details.append(f"log Z {_log_z_text(value['log_partition'])}")
    return text + (f" ({'; '.join(details)})" if details else "")


def _training_text(training):
    parts = []
    if "iterations" in training:
        parts.append(f"{training['iterations']:,} iterations")
        if "epochs" in training:
            parts.append(f"({training['epochs']} epochs)")
    if "train_seconds" in training:
        parts.append(f"in {training['train_seconds'] / 60:.0f} min")
    where = ", ".join(
        str(training[k]) for k in ("hardware", "backend") if training.get(k)
    )
    if where:
        parts.append(f"on {where}")
    budget = f" Budget: {training['budget']}." if training.get("budget") else ""
    return " ".join(parts) + "." + budget

"""Writing a trained model as a preset folder, with its model card."""

import json
import pathlib

import keras
import numpy as np

from keras_dvae.utils import files, images
from keras_dvae.version import __version__
from keras_dvae.zoo.loading import (
    CARD_FILE,
    CONFIG_FILE,
    METADATA_FILE,
    SAMPLES_FILE,
    WEIGHTS_FILE,
    sha256,
)


def export(model, directory, metadata, samples=None, model_card=True):
    """Writes `model` as a preset folder that `zoo.load` reads back.

    Writes `config.json` (`keras.saving.serialize_keras_object`, without
    the compile config),
    `model.weights.h5` (the model's variables, PCD chains and seeds
    included, never optimizer state), `metadata.json` (`metadata` plus
    "class", the library versions, the log Z the model holds when it has
    an RBM prior and "weights_sha256"), `samples.png` when `samples` is
    given, and a model card `README.md` unless the folder already has one
    (hand-edited cards are kept; `write_model_card` rewrites it).

    The weights are saved from a fresh copy rebuilt from the config, so the
    export also checks that the config round-trips.

    Args:
        model: a built `keras_dvae` model.
        directory: the preset folder (made if missing); its name is the
            preset's name.
        metadata: dict, JSON-serialisable: "dataset", "description",
            "paper", "metrics" (each with its K, examples and log Z method),
            "training" (iterations, epochs, train_seconds, hardware,
            backend, command) and optionally "ci_check" (see
            `run_ci_check`). `write_model_card` documents the keys it uses.
        samples: optional uint8 image (H, W) or (H, W, 3), e.g.
            `keras_dvae.utils.images.sample_grid(model, data)`.
        model_card: write README.md when the folder has none.

    Returns:
        The completed metadata dict.

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
    directory.mkdir(parents=True, exist_ok=True)
    config = keras.saving.serialize_keras_object(model)
    # No compile config: a preset is loaded uncompiled (compile it to
    # fine-tune). A compiled model's save_weights also writes the
    # optimizer's slots; the uncompiled copy writes the model's variables.
    config.pop("compile_config", None)
    copy = keras.saving.deserialize_keras_object(json.loads(json.dumps(config)))
    _copy_variables(model, copy)
    # Every file under a temporary name, renamed into place (atomic).
    weights = directory / WEIGHTS_FILE
    with files.atomic_path(weights) as tmp:
        copy.save_weights(tmp)
    with files.atomic_path(directory / CONFIG_FILE) as tmp, open(tmp, "w") as f:
        json.dump(config, f, indent=2)
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
    if samples is not None:
        images.write_png(samples, directory / SAMPLES_FILE)
    if model_card and not (directory / CARD_FILE).exists():
        write_model_card(directory)
    return metadata


def _copy_variables(source, target):
    src, dst = source.variables, target.variables
    if len(src) != len(dst) or any(
        tuple(a.shape) != tuple(b.shape) for a, b in zip(src, dst, strict=True)
    ):
        raise ValueError(
            f"The config of this {type(source).__name__} does not rebuild the "
            f"same variables ({len(src)} in the model, {len(dst)} rebuilt): "
            "check that `get_config` returns every constructor argument."
        )
    for a, b in zip(src, dst, strict=True):
        b.assign(a)


def write_model_card(directory):
    """Writes README.md, a short model card, from the folder's metadata.json.

    Uses, when present: "description"; "class"; "dataset"; "metrics" (a
    dict of name → {"mean", "standard_error", "num_samples",
    "num_examples", "split", "log_partition": {"method", "log_z"}} or a
    number); "paper" ({"setting", "test_ll"}); "training" ({"iterations",
    "epochs", "train_seconds", "hardware", "backend", "budget",
    "command"}); "lossy_data" (a caveat);
    "ci_check"; "weights_sha256"; and samples.png.

    Args:
        directory: a preset folder holding metadata.json.

    Returns:
        The path of the card.
    """
    directory = pathlib.Path(directory)
    with open(directory / METADATA_FILE) as f:
        metadata = json.load(f)
    path = directory / CARD_FILE
    files.write_text(
        path, model_card(directory.name, metadata, samples=_has_samples(directory))
    )
    return path


def _has_samples(directory):
    return (directory / SAMPLES_FILE).is_file()


def model_card(name, metadata, samples=False):
    """The text of a preset's model card (Markdown); see `write_model_card`."""
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
        lines += [f"  - {_metric_line(k, v)}" for k, v in metrics.items()]
    paper = metadata.get("paper")
    if paper:
        value = paper.get("test_ll")
        if value is None and "bits_per_dim" in paper:
            value = f"{paper['bits_per_dim']} bits/dim"
        lines.append(f"- **Paper:** {paper.get('setting', '')}: {value}.")
    training = metadata.get("training") or {}
    if training:
        lines.append(f"- **Training:** {_training_line(training)}")
        if training.get("command"):
            lines.append(f"  `{training['command']}`")
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
        lines += [
            f"![Rows: prior samples, test images, reconstructions]({SAMPLES_FILE})",
            "",
        ]
    lines += [
        "```python",
        "from keras_dvae import models",
        "",
        f'model = models.{cls}.from_preset("{name}")',
        "```",
        "",
    ]
    return "\n".join(lines)


def _log_z_text(log_z):
    if log_z is None:
        return "as recorded"
    if isinstance(log_z, dict):
        value = log_z.get("log_z")
        method = log_z.get("method", "?")
        return method if value is None else f"{method}, {value:.3f}"
    if isinstance(log_z, str):
        return log_z
    return f"given, {log_z:.3f}"


def _metric_line(key, value):
    if not isinstance(value, dict):
        return (
            f"`{key}`: {value:.2f}" if isinstance(value, float) else f"`{key}`: {value}"
        )
    text = f"`{key}`: {value['mean']:.2f}"
    if "standard_error" in value:
        text += f" ± {value['standard_error']:.2f} s.e."
    if "bits_per_dim" in value:
        text += f" ({value['bits_per_dim']:.3f} bits/dim)"
    details = []
    if "num_samples" in value:
        details.append(f"K = {value['num_samples']}")
    if "num_examples" in value:
        split = value.get("split") or next(
            (s for s in ("test", "valid", "train") if key.startswith(s)), ""
        )
        details.append(f"{value['num_examples']} {split} examples".replace("  ", " "))
    if value.get("log_partition"):
        details.append(f"log Z {_log_z_text(value['log_partition'])}")
    return text + (f" ({'; '.join(details)})" if details else "")


def _training_line(training):
    parts = []
    if "iterations" in training:
        budget = f"{training['iterations']:,} iterations"
        if "epochs" in training:
            budget += f" ({training['epochs']} epochs)"
        parts.append(budget)
    if "train_seconds" in training:
        parts.append(f"in {training['train_seconds'] / 60:.0f} min")
    where = ", ".join(
        str(training[k]) for k in ("hardware", "backend") if training.get(k)
    )
    if where:
        parts.append(f"on {where}")
    text = " ".join(parts) + "."
    if training.get("budget"):
        text += f" Budget: {training['budget']}."
    return text

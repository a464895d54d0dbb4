"""Finding, verifying and loading the pretrained preset folders."""

import hashlib
import importlib.util
import json
import os
import pathlib

import keras
import numpy as np

# `import keras_dvae.models` registers the classes that config.json names.
from keras_dvae import datasets, models  # noqa: F401

ENV_VAR = "KERAS_DVAE_ZOO"
# The wheel carries the checkout's top-level zoo/ as this data package
# (pyproject.toml, [tool.setuptools.package-dir]).
PACKAGE = "keras_dvae._zoo_presets"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
CARD_FILE = "README.md"
SAMPLES_FILE = "samples.png"
# A checkout's root: keras_dvae/zoo/loading.py → keras_dvae/zoo → keras_dvae → root.
_CHECKOUT = pathlib.Path(__file__).resolve().parents[2]


def search_dirs():
    """The directories searched for presets, first match wins.

    `$KERAS_DVAE_ZOO` (one or more directories separated by `os.pathsep`),
    then the `zoo/` folder of the checkout this package runs from, then the
    copy packaged in the wheel (`keras_dvae/_zoo_presets`). Directories that
    do not exist are left out.

    Returns:
        A list of `pathlib.Path`.
    """
    candidates = [
        pathlib.Path(p).expanduser()
        for p in os.environ.get(ENV_VAR, "").split(os.pathsep)
        if p
    ]
    # Only a real checkout: an installed package's parents[2] is
    # site-packages, where a `zoo/` would belong to someone else.
    if (_CHECKOUT / "pyproject.toml").is_file():
        candidates.append(_CHECKOUT / "zoo")
    candidates += _packaged_dirs()
    result = []
    for path in candidates:
        if path.is_dir() and all(not _same(path, seen) for seen in result):
            result.append(path)
    return result


def _packaged_dirs():
    # A folder without __init__.py is a namespace package, for which
    # `importlib.resources.files` gives no plain path on Python 3.10; its
    # spec's search locations are plain directories on every version.
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except ModuleNotFoundError:
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    return [pathlib.Path(p) for p in spec.submodule_search_locations]


def _same(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _is_preset(path):
    return (path / METADATA_FILE).is_file()


def list_presets():
    """Names of the available presets (folders with a metadata.json), sorted.

    Example:

    >>> from keras_dvae import zoo
    >>> "dvaepp_2nl_mnist_static" in zoo.list_presets()
    True
    """
    names = set()
    for root in search_dirs():
        names.update(p.name for p in root.iterdir() if p.is_dir() and _is_preset(p))
    return sorted(names)


def preset_dir(name):
    """The folder of preset `name` (a name, or a path to a preset folder).

    A `str` without a path separator is a preset name, looked up in
    `search_dirs()`; a path (`os.PathLike`, or a string holding a
    separator) is used as the folder itself.

    Returns:
        A `pathlib.Path`.

    Raises:
        ValueError: no such preset; the message lists the available ones.
    """
    if isinstance(name, os.PathLike) or (
        isinstance(name, str) and (os.sep in name or "/" in name)
    ):
        path = pathlib.Path(name).expanduser()
        if not _is_preset(path):
            raise ValueError(
                f"{path} is not a preset folder (it has no {METADATA_FILE}). "
                f"Received: name={name!r}"
            )
        return path
    if not isinstance(name, str) or not name:
        raise ValueError(
            f"`name` must be a preset name or folder. Received: name={name!r}"
        )
    for root in search_dirs():
        if _is_preset(root / name):
            return root / name
    dirs = ", ".join(str(d) for d in search_dirs()) or "none exist"
    raise ValueError(
        f"Unknown preset. Available: {', '.join(list_presets()) or 'none'} "
        f"(searched: {dirs}; set ${ENV_VAR} to add a folder). "
        f"Received: name={name!r}"
    )


def get_metadata(name):
    """The parsed metadata.json of a preset (a fresh dict each call).

    Holds the dataset, measured metrics with their K and log Z method, the
    training command, hardware, wall time and `weights_sha256`.
    """
    with open(preset_dir(name) / METADATA_FILE) as f:
        return json.load(f)


def sha256(path):
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def presets_of(cls):
    """Names of the presets whose model is `cls` or a subclass of it."""
    names = []
    for name in list_presets():
        try:
            with open(preset_dir(name) / CONFIG_FILE) as f:
                class_name = json.load(f).get("class_name")
        except (OSError, ValueError):
            continue
        kind = getattr(models, str(class_name), None)
        if isinstance(kind, type) and issubclass(kind, cls):
            names.append(name)
    return names


def load(name, verify=True, load_weights=True, cls=None):
    """Builds a preset's model and loads its weights.

    The weights' sha256 is checked against metadata.json before anything is
    built, and the file is opened as HDF5 before any weight is read, so a
    corrupted or truncated download fails with the preset and file named.
    A model with an RBM prior gets the log Z recorded in the metadata
    (`metadata["log_partition"]`, e.g. from AIS), so that
    `model.log_likelihood` does not re-estimate it.

    Args:
        name: a preset name (`list_presets()`) or a path to a preset folder.
        verify: check the weights' sha256 against `weights_sha256`.
        load_weights: load the weights (else the configured, untrained model).
        cls: None, or the class the preset's model must be (or subclass):
            checked from config.json before anything is built.

    Returns:
        The `keras_dvae` model, weights loaded.

    Raises:
        ValueError: an unknown preset; weights whose sha256 differs from the
            recorded one; a missing, unreadable or corrupted weights file or
            config; weights that do not fit the model.

    Example:

    >>> from keras_dvae import zoo
    >>> model = zoo.load("dvaepp_2nl_mnist_static")
    >>> model.image_shape
    (784,)
    """
    directory = preset_dir(name)
    label = f"Preset {directory.name!r}"
    metadata = get_metadata(directory)
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise ValueError(f"{label} has no weights file: {weights} is missing.")
    if verify:
        expected = metadata.get("weights_sha256")
        if not expected:
            raise ValueError(
                f"{label}: {directory / METADATA_FILE} records no "
                "`weights_sha256`; re-export it with `zoo.export`, or pass "
                "verify=False to load unverified weights."
            )
        actual = sha256(weights)
        if actual != expected:
            raise ValueError(
                f"{label}: the sha256 of {weights} is {actual}, but "
                f"{METADATA_FILE} records {expected}. The file is corrupted "
                "or was replaced; restore it (or re-export the preset)."
            )
    _check_hdf5(weights, label)
    try:
        with open(directory / CONFIG_FILE) as f:
            config = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"{label}: cannot read {directory / CONFIG_FILE}: {e}") from e
    class_name = config.get("class_name") if isinstance(config, dict) else None
    kind = getattr(models, str(class_name), None)
    if not isinstance(kind, type) or not issubclass(kind, models.DiscreteVAE):
        raise ValueError(
            f"{label}: {CONFIG_FILE} names no keras_dvae model class. "
            f"Received: class_name={class_name!r}"
        )
    if cls is not None and not issubclass(kind, cls):
        raise ValueError(
            f"{label} holds a {kind.__name__}, not a {cls.__name__}: load it with "
            f"{kind.__name__}.from_preset or keras_dvae.zoo.load. "
            f"Received: name={name!r}"
        )
    model = keras.saving.deserialize_keras_object(config)
    if not load_weights:
        return model
    try:
        model.load_weights(weights)
    except Exception as e:  # Keras raises ValueError, KeyError or OSError
        raise ValueError(
            f"{label}: the weights in {weights} do not load into the "
            f"{type(model).__name__} of {CONFIG_FILE}: {e}"
        ) from e
    _restore_log_partition(model, metadata)
    return model


def _check_hdf5(path, label):
    import h5py  # a dependency of Keras, for .weights.h5

    try:
        with h5py.File(path, "r") as f:
            f.visit(lambda _: None)  # reads every group header
    except Exception as e:  # h5py raises OSError, KeyError or RuntimeError
        raise ValueError(
            f"{label}: {path} is not a readable HDF5 weights file "
            f"(truncated or corrupted?): {e}"
        ) from e


def _restore_log_partition(model, metadata):
    info = metadata.get("log_partition")
    if model.prior.has_log_partition and info:
        model.prior.set_log_partition(info["log_z"], {**info, "source": METADATA_FILE})


def run_ci_check(name, data_dir=None, model=None):
    """Re-measures the metric recorded under `metadata["ci_check"]`.

    `ci_check` = {"dataset", "split", "num_examples", "num_samples",
    "mean", "tolerance", "log_partition"}: the importance-weighted
    log-likelihood (K = `num_samples`) of the first `num_examples` rows of
    the split, averaged, should lie within `tolerance` nats of `mean`.
    `log_partition` is "exact", a number (a log Z recorded for these
    weights, so that no AIS runs), or absent (the model's own: the
    metadata's `log_partition`, else its default estimate).

    Args:
        name: a preset name or folder.
        data_dir: directory of the dataset files (see `datasets.load`);
            nothing is downloaded.
        model: the already loaded preset, to skip loading it again.

    Returns:
        A dict: the `ci_check` entries plus "measured" (the mean),
        "standard_error" (over examples), "difference" and "passed".

    Raises:
        ValueError: the metadata has no "ci_check".
        FileNotFoundError: the dataset files are not found.
    """
    metadata = get_metadata(name)
    if "ci_check" not in metadata:
        raise ValueError(f"Preset {name!r} records no `ci_check` in its metadata.")
    check = metadata["ci_check"]
    data = datasets.load(check["dataset"], data_dir, download=False)
    x = getattr(data, f"x_{check.get('split', 'test')}")[: check["num_examples"]]
    model = load(name) if model is None else model
    log_z = check.get("log_partition")
    if log_z == "exact":
        model.prior.estimate_log_partition("exact")
    elif log_z is not None:
        model.prior.set_log_partition(log_z)
    ll = model.log_likelihood(x, num_samples=check["num_samples"])
    difference = float(ll.mean()) - check["mean"]
    return {
        **check,
        "measured": float(ll.mean()),
        "standard_error": float(ll.std(ddof=1) / np.sqrt(len(ll))),
        "difference": difference,
        "passed": bool(abs(difference) < check["tolerance"]),
    }

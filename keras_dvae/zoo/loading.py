"""Finding, verifying and loading the pretrained preset folders."""

import importlib.util
import os
import pathlib

import keras
import numpy as np

# `import keras_dvae.models` registers the classes that config.json names.
from keras_dvae import datasets, models, recipes, training

# A preset folder holds what a training run folder holds, and these.
from keras_dvae.training import CONFIG_FILE, SAMPLES_FILE, WEIGHTS_FILE  # noqa: F401
from keras_dvae.utils import files

ENV_VAR = "KERAS_DVAE_ZOO"
# The checkout's zoo/ in the wheel (pyproject.toml, package-dir).
PACKAGE = "keras_dvae._zoo_presets"
METADATA_FILE = "metadata.json"
CARD_FILE = "README.md"
# The sha256 of every file that defines the model or its reported figures
# (the card and the sample picture are documentation).
MANIFEST_FILE = "manifest.json"
MANIFEST_FILES = (CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE)
# A checkout's root: keras_dvae/zoo/loading.py → keras_dvae/zoo → keras_dvae → root.
_CHECKOUT = pathlib.Path(__file__).resolve().parents[2]


def search_dirs():
    """The existing preset directories (`pathlib.Path`s), first match wins.

    `$KERAS_DVAE_ZOO` (`os.pathsep`-separated), the checkout's `zoo/`, then
    the copy in the wheel (`keras_dvae/_zoo_presets`).
    """
    candidates = [
        pathlib.Path(p).expanduser()
        for p in os.environ.get(ENV_VAR, "").split(os.pathsep)
        if p
    ]
    # In an installed package, parents[2] is site-packages: not ours.
    if (_CHECKOUT / "pyproject.toml").is_file():
        candidates.append(_CHECKOUT / "zoo")
    # A namespace package (no __init__.py) has no plain path from
    # `importlib.resources.files` on Python 3.10; its spec's locations do.
    spec = importlib.util.find_spec(PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        candidates += [pathlib.Path(p) for p in spec.submodule_search_locations]
    result = []
    for path in candidates:
        if path.is_dir() and not any(os.path.samefile(path, p) for p in result):
            result.append(path)
    return result


def _is_preset(path):
    return (path / METADATA_FILE).is_file()


def list_presets():
    """Names of the available presets (folders with a metadata.json), sorted."""
    names = set()
    for root in search_dirs():
        names.update(
            p.name
            for p in root.iterdir()
            # A dot folder is a copy being written (`exporting.remeasure`).
            if p.is_dir() and not p.name.startswith(".") and _is_preset(p)
        )
    return sorted(names)


def preset_dir(name):
    """The folder (a `pathlib.Path`) of preset `name`: a name looked up in
    `search_dirs()`, or a path (`os.PathLike`, or a str with a separator).

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
        f"Unknown preset.{_missing_preset_hint(name)} "
        f"Available: {', '.join(list_presets()) or 'none'} "
        f"(searched: {dirs}; set ${ENV_VAR} to add a folder). "
        f"Received: name={name!r}"
    )


def _missing_preset_hint(name):
    """Why a recipe name has no preset, and where its old weights went."""
    hint = ""
    if name in recipes.RECIPES:
        hint += (
            f" {name!r} is a training recipe with no trained weights yet: train "
            f"it with `python -m keras_dvae.zoo.train {name}` (made for a GPU "
            "where the zoo README says so)."
        )
    for other in list_presets():
        metadata = get_metadata(other)
        if metadata.get("renamed_from") == name:
            hint += (
                f" The preset once called {name!r} is now {other!r} "
                f"({metadata.get('description', '').rstrip('.')})."
            )
    return hint


def get_metadata(name):
    """The parsed metadata.json of a preset (a fresh dict each call).

    Raises:
        ValueError: an unknown preset, or a metadata.json that is not a
            JSON object (naming the preset and the file).
    """
    directory = preset_dir(name)
    return _read_json(directory, METADATA_FILE)


def _read_json(directory, filename):
    path = directory / filename
    try:
        value = files.read_json(path)  # strict: no NaN or Infinity tokens
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"Preset {directory.name!r}: cannot read {path}: {e}") from e
    if not isinstance(value, dict):
        raise ValueError(
            f"Preset {directory.name!r}: {path} holds a {type(value).__name__}, "
            "not a JSON object."
        )
    return value


def write_manifest(directory):
    """Writes `manifest.json`: the sha256 of config.json, metadata.json and
    the weights. `export` calls it; call it after editing a preset by hand.

    Returns:
        The manifest dict.
    """
    directory = pathlib.Path(directory)
    manifest = {"sha256": {n: sha256(directory / n) for n in MANIFEST_FILES}}
    files.write_json(directory / MANIFEST_FILE, manifest)
    return manifest


def verify_manifest(directory):
    """Raises `ValueError` unless every file in the folder's manifest.json
    has the sha256 recorded there (naming the preset and the file)."""
    directory = pathlib.Path(directory)
    label = f"Preset {directory.name!r}"
    if not (directory / MANIFEST_FILE).is_file():
        raise ValueError(
            f"{label} has no {MANIFEST_FILE} (the sha256 of {', '.join(MANIFEST_FILES)}"
            "): re-export it with `zoo.export`, write one with "
            "`zoo.write_manifest` if you trust the folder, or pass verify=False."
        )
    recorded = _read_json(directory, MANIFEST_FILE).get("sha256")
    if not isinstance(recorded, dict) or set(MANIFEST_FILES) - set(recorded):
        raise ValueError(
            f"{label}: {directory / MANIFEST_FILE} must map each of "
            f"{list(MANIFEST_FILES)} to its sha256. Received: {recorded!r}"
        )
    for filename in MANIFEST_FILES:
        path = directory / filename
        actual = sha256(path) if path.is_file() else "missing"
        if actual != recorded[filename]:
            raise ValueError(
                f"{label}: the sha256 of {path} is {actual}, but {MANIFEST_FILE} "
                f"records {recorded[filename]}. The file is corrupted or was "
                "edited; restore it (or re-export the preset)."
            )


sha256 = files.sha256


def _read_config(directory):
    """A preset's config.json, its "class_name" and that `DiscreteVAE` or None."""
    config = files.read_json(directory / CONFIG_FILE)
    class_name = config.get("class_name") if isinstance(config, dict) else None
    kind = getattr(models, str(class_name), None)
    if not (isinstance(kind, type) and issubclass(kind, models.DiscreteVAE)):
        kind = None
    return config, class_name, kind


def presets_of(cls):
    """Names of the presets whose model is `cls` or a subclass of it."""
    names = []
    for name in list_presets():
        try:
            _, _, kind = _read_config(preset_dir(name))
        except (OSError, ValueError):
            continue
        if kind is not None and issubclass(kind, cls):
            names.append(name)
    return names


def load(name, verify=True, load_weights=True, cls=None):
    """Builds a preset's model and loads its weights.

    The sha256 and the HDF5 structure of the weights are checked before
    anything is built, so a corrupted download fails naming the file, and
    so are the config's sizes against the stored arrays' shapes (also with
    verify=False), so an edited config.json fails naming its key before it
    allocates a model of the wrong size. An RBM prior gets the log Z
    recorded in `metadata["log_partition"]`, so `model.log_likelihood`
    does not re-estimate it. The model comes
    compiled with its default `compile()`, ready for `evaluate` or `fit`.

    Args:
        name: a preset name (`list_presets()`) or a path to a preset folder.
        verify: check the sha256 of config.json, metadata.json and the
            weights against manifest.json (and `weights_sha256`).
        load_weights: load the weights (else the untrained model).
        cls: None, or the class the preset's model must be (or subclass).

    Raises:
        ValueError: an unknown preset; a file whose sha256 differs from the
            recorded one; a missing, unreadable or corrupted weights file,
            config or metadata (a NaN or Infinity token included); a
            config size longer than any stored array's axis (naming the
            key); weights that do not fit the model (each naming the
            preset and the file).

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
        verify_manifest(directory)
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
    import h5py  # a dependency of Keras, for .weights.h5

    shapes = []  # of every stored array, from the headers: no data is read

    def collect(_, item):
        if isinstance(item, h5py.Dataset):
            shapes.append(tuple(item.shape))

    try:
        with h5py.File(weights, "r") as f:
            f.visititems(collect)  # reads every group header
    except Exception as e:  # h5py raises OSError, KeyError or RuntimeError
        raise ValueError(
            f"{label}: {weights} is not a readable HDF5 weights file "
            f"(truncated or corrupted?): {e}"
        ) from e
    try:
        config, class_name, kind = _read_config(directory)
    except (OSError, ValueError) as e:
        raise ValueError(f"{label}: cannot read {directory / CONFIG_FILE}: {e}") from e
    if kind is None:
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
    _check_sizes(label, directory / CONFIG_FILE, config, weights, shapes)
    try:
        model = keras.saving.deserialize_keras_object(config)
    except Exception as e:  # Keras raises TypeError, KeyError, ValueError, ...
        raise ValueError(
            f"{label}: {directory / CONFIG_FILE} does not build a "
            f"{class_name}: {type(e).__name__}: {e}"
        ) from e
    if not load_weights:
        model.compile()
        return model
    try:
        model.load_weights(weights)
    except Exception as e:  # Keras raises ValueError, KeyError or OSError
        raise ValueError(
            f"{label}: the weights in {weights} do not load into the "
            f"{type(model).__name__} of {CONFIG_FILE}: {e}"
        ) from e
    info = metadata.get("log_partition")
    if model.prior.has_log_partition and info:
        model.prior.set_log_partition(info["log_z"], {**info, "source": METADATA_FILE})
    # Compiled (after loading: the weights file has no optimizer) as Keras
    # users expect of a loaded model: `evaluate` and `fit` work at once.
    model.compile()
    return model


# The config keys that size a model's arrays, at any depth of config.json
# (a named model's arguments, or an assembled `DiscreteVAE`'s parts).
SIZE_KEYS = frozenset(
    {
        "image_shape",
        "output_dim",
        "num_latents",
        "num_z1",
        "num_z2",
        "num_groups",
        "num_categories",
        "num_chains",
        "hidden_units",
        "units",
        "filters",
        "local_groups",
        "local_channels",
        "num_mixtures",
        "continuous_units",
        "continuous_layers",
    }
)
# Sizes up to this always pass `_check_sizes`: an argument the model does
# not use keeps its small default (continuous_units=64 without continuous
# layers) even where no stored array is that long.
SIZE_FLOOR = 256


def _config_sizes(value, key=None):
    """(key, value) of every `SIZE_KEYS` entry in a config, keys dotted."""
    if isinstance(value, dict):
        for name, item in value.items():
            path = str(name) if key is None else f"{key}.{name}"
            if name in SIZE_KEYS:
                yield path, item
            else:
                yield from _config_sizes(item, path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _config_sizes(item, f"{key}[{i}]")


def _check_sizes(label, config_path, config, weights, shapes):
    """Refuses a config whose sizes cannot fit the stored arrays, before
    anything is built: a hand-edited num_chains of 2·10⁷ would otherwise
    allocate gigabytes of PCD chains before `load_weights` noticed.

    Every size a model uses is the length of an axis of one of its kernels
    or chains (arrays of rank ≥ 2: dense and conv kernels, W, the PCD
    chains), so none can exceed the longest such axis in the weights file
    (or `SIZE_FLOOR`); a list of sizes (`hidden_units`) has at most one
    entry per stored array. This bounds what a mismatched config allocates
    (about 9 · longest² numbers per kernel) without reading any weights;
    smaller mismatches are refused by `load_weights` as before.
    """
    longest = max((max(s) for s in shapes if len(s) >= 2), default=0)
    bound = max(longest, SIZE_FLOOR)
    for key, value in _config_sizes(config.get("config")):
        if isinstance(value, list) and len(value) > max(len(shapes), 3):
            raise ValueError(
                f"{label}: {config_path} lists {len(value)} sizes under `{key}`, "
                f"more than the {len(shapes)} arrays in {weights}: the config "
                "does not match these weights (edited, or another model's), so "
                f"nothing was built. Received: {key} of length {len(value)}"
            )
        for size in value if isinstance(value, list) else [value]:
            if isinstance(size, bool) or not isinstance(size, (int, float)):
                continue  # names ("nonlinear"), None: the constructor checks
            if size > bound:
                raise ValueError(
                    f"{label}: {config_path} sets `{key}` to {size}, but no "
                    f"kernel or chain array in {weights} is longer than "
                    f"{longest} on any axis: the config does not match these "
                    "weights (edited, or another model's), so nothing was "
                    f"built. Received: {key}={value}"
                )


def run_ci_check(name, data_dir=None, model=None):
    """Re-measures the metric recorded under `metadata["ci_check"]`.

    The mean log-likelihood (K = `num_samples`) of `num_examples` rows of
    the `split` of `dataset` (`training.evaluation_rows` when "rows" is
    "permutation", else the first rows) should lie within `tolerance` nats of
    `mean`, with log Z `log_partition`: "exact", a recorded number (no AIS
    runs), or absent (the model's own). `data_dir` is searched for the
    dataset (nothing is downloaded); `model` is the loaded preset, if any.

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
    x = getattr(data, f"x_{check.get('split', 'test')}")
    if check.get("rows") == "permutation":  # exported since 2026-12-01
        x = x[training.evaluation_rows(len(x), check["num_examples"])]
    else:  # the committed checks: the split's first rows
        x = x[: check["num_examples"]]
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

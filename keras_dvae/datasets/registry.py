"""`load(name)`: one entry point for every dataset."""

import inspect
import os

from keras_dvae.datasets import (
    caltech101_silhouettes,
    cifar10,
    digits,
    files,
    mnist,
    omniglot,
)

_LOADERS = {
    "digits": digits.load,
    "mnist_static": mnist.load_static,
    "mnist": mnist.load_dynamic,
    "omniglot": omniglot.load,
    "caltech101_silhouettes": caltech101_silhouettes.load,
    "cifar10": cifar10.load,
}
NAMES = tuple(_LOADERS)


def names():
    """The dataset names `load` accepts."""
    return list(NAMES)


def load(name, data_dir=None, *, download=True, verify=None, **options):
    """Loads a benchmark dataset as a `Dataset`.

    | name | x | splits (train / valid / test) |
    | --- | --- | --- |
    | "digits" | (n, 64) {0,1}, 8×8 | 1,497 / - / 300 (embedded) |
    | "mnist_static" | (n, 784) {0,1} | 50,000 / 10,000 / 10,000 |
    | "mnist" | (n, 784) grey, dynamic | 50,000 / 10,000 / 10,000 |
    | "omniglot" | (n, 784) grey, dynamic | 23,000 / 1,345 / 8,115 |
    | "caltech101_silhouettes" | (n, 784) {0,1} | 4,100 / 2,264 / 2,307 |
    | "cifar10" | (n, 32, 32, 3) uint8 | 50,000 / - / 10,000 (JPEG, LOSSY) |

    See `Dataset` for the layout; `dataset.notes` gives the provenance,
    preprocessing, split and caveats. Files are looked for in `data_dir`,
    then `$KERAS_DVAE_DATA`, then `~/.keras/keras_dvae/datasets`; when
    absent, the canonical source is downloaded into that cache and converted.

    Args:
        name: one of `NAMES`.
        data_dir: directory searched first, or `None`.
        download: allow downloading missing files.
        verify: `None` compares the offline copies' sizes with the
            documented ones, and their sha256 the first time each file is
            used (remembered in the cache, keyed by path, size and
            modification time); `True` their sha256 now; both also check
            the rows of every split. `False` checks only the shape of an
            example.
        **options: options of the dataset's loader, e.g. `variant` for
            "cifar10", `validation_size` and `seed` for "mnist" and
            "omniglot", `test_size` for "digits".

    Raises:
        ValueError: unknown `name` or option, a bad option value, or a
            file that differs from its documented size, checksum or shapes.
        FileNotFoundError: the files are missing and cannot be downloaded.

    Example:

    >>> from keras_dvae import datasets
    >>> data = datasets.load("digits")
    >>> data.x_train.shape, data.image_shape
    ((1497, 64), (8, 8))
    """
    if name not in _LOADERS:
        raise ValueError(
            f"Unknown dataset. Valid names: {', '.join(NAMES)}. Received: name={name!r}"
        )
    loader = _LOADERS[name]
    valid = options_of(name)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        takes = f"its options are {valid}" if valid else "it takes no options"
        raise ValueError(
            f"Unknown option(s) {unknown} for dataset {name!r}; {takes}. "
            f"Received: {unknown[0]}={options[unknown[0]]!r}"
        )
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise ValueError(
            f"`data_dir` must be a path or None. Received: data_dir={data_dir!r}"
        )
    if not isinstance(download, bool):
        raise ValueError(
            f"`download` must be True or False. Received: download={download!r}"
        )
    files.check_verify(verify)
    return loader(data_dir, download=download, verify=verify, **options)


def options_of(name):
    """The names of the options (`**options` of `load`) of dataset `name`."""
    parameters = inspect.signature(_LOADERS[name]).parameters
    return [
        option
        for option, parameter in parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        and option not in ("download", "verify")
    ]

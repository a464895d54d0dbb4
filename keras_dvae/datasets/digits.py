"""scikit-learn's bundled 8×8 handwritten digits, statically binarised."""

import math

import numpy as np

from keras_dvae.datasets.base import DIGITS, Dataset
from keras_dvae.utils import checks

#: Images in scikit-learn's set.
NUM_IMAGES = 1797


def load_digits(test_size=300, threshold=0.5, seed=0):
    """The embedded default dataset: 1,797 digits of 8×8 pixels, binarised.

    Args:
        test_size: number of test examples, 1..1,796 (both splits keep
            at least one image).
        threshold: binarisation threshold on the pixels scaled to [0, 1],
            a number in [0, 1) (ink is a pixel above it).
        seed: seed of the split's permutation, an integer >= 0.

    Returns:
        ((x_train, y_train), (x_test, y_test)), x as float32 (n, 64) in {0, 1}.
    """
    test_size = checks.check_positive_int("test_size", test_size)
    if test_size >= NUM_IMAGES:
        raise ValueError(
            f"`test_size` must be < {NUM_IMAGES} (the digits set's size), so "
            f"that some images are left to train on. Received: test_size={test_size}"
        )
    number = isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
    if not (number and math.isfinite(threshold) and 0 <= threshold < 1):
        raise ValueError(
            "`threshold` must be a number in [0, 1) (pixels scaled to [0, 1] "
            f"above it are ink). Received: threshold={threshold!r}"
        )
    seed = checks.check_positive_int("seed", seed, minimum=0)
    from sklearn.datasets import load_digits as sklearn_digits

    data = sklearn_digits()
    x = (data.data / 16.0 > threshold).astype("float32")
    y = data.target.astype("int64")
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    return (x[test_size:], y[test_size:]), (x[:test_size], y[:test_size])


def load(
    data_dir=None, *, download=True, verify=None, test_size=300, threshold=0.5, seed=0
):
    """`load_digits` as a `Dataset` (no validation split); `data_dir`,
    `download` and `verify` are ignored (the data ships with scikit-learn)."""
    del data_dir, download, verify
    (x_train, y_train), (x_test, y_test) = load_digits(test_size, threshold, seed)
    notes = (
        "scikit-learn's bundled 8x8 handwritten digits (the UCI optical "
        "recognition of handwritten digits test set, 1,797 images, 0..16): scaled "
        f"by 1/16 and thresholded once at {threshold} (static binarization); "
        f"split by np.random.default_rng({seed}).permutation into "
        f"{len(x_train)} train / {len(x_test)} test; no validation split. "
        "Row-major, ink = 1."
    )
    return Dataset(
        name="digits",
        x_train=x_train,
        x_test=x_test,
        y_train=y_train,
        y_test=y_test,
        image_shape=(8, 8),
        binary=True,
        notes=notes,
        class_names=DIGITS,
    )

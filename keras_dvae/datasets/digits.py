"""scikit-learn's bundled 8×8 handwritten digits, statically binarised."""

import numpy as np

from keras_dvae.datasets.base import DIGITS, Dataset


def load_digits(test_size=300, threshold=0.5, seed=0):
    """The embedded default dataset: 1,797 digits of 8×8 pixels, binarised.

    Args:
        test_size: number of test examples.
        threshold: binarisation threshold on the pixels scaled to [0, 1].
        seed: seed of the split's permutation.

    Returns:
        ((x_train, y_train), (x_test, y_test)), x as float32 (n, 64) in {0, 1}.
    """
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

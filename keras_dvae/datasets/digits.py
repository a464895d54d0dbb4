"""scikit-learn's bundled 8×8 handwritten digits, statically binarised."""

import numpy as np


def load_digits(test_size=300, threshold=0.5, seed=0):
    """The embedded default dataset: 1,797 digits of 8×8 pixels, binarised.

    Pixels (0..16) are scaled to [0, 1] and thresholded once (static
    binarisation), and the examples split by a fixed permutation.

    Args:
        test_size: number of test examples.
        threshold: binarisation threshold on the scaled pixels.
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

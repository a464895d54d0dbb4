"""Datasets. `digits` (scikit-learn's bundled 8×8 digits) needs no download."""

from keras_dvae.datasets.digits import load_digits

__all__ = ["load_digits"]

"""Benchmark datasets: `load(name)` returns a `Dataset`."""

from keras_dvae.datasets.base import Dataset
from keras_dvae.datasets.digits import load_digits
from keras_dvae.datasets.registry import NAMES, load, names
from keras_dvae.datasets.sequences import ArraySequence, BinarizedSequence, binarize

__all__ = [
    "NAMES",
    "ArraySequence",
    "BinarizedSequence",
    "Dataset",
    "binarize",
    "load",
    "load_digits",
    "names",
]

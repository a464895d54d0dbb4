"""keras_dvae: discrete variational autoencoders for Keras 3."""

from keras_dvae.utils.warnings import KerasDVAEWarning  # noqa: I001 (first)
from keras_dvae.utils import backend_choice  # noqa: F401 (before Keras)
from keras_dvae import (
    callbacks,
    datasets,
    distributions,
    evaluation,
    layers,
    models,
    priors,
    recipes,
    smoothing,
    training,
    zoo,
)
from keras_dvae.version import __version__

__all__ = [
    "KerasDVAEWarning",
    "__version__",
    "callbacks",
    "datasets",
    "distributions",
    "evaluation",
    "layers",
    "models",
    "priors",
    "recipes",
    "smoothing",
    "training",
    "zoo",
]

"""keras_dvae: discrete variational autoencoders for Keras 3."""

from keras_dvae import callbacks, distributions, layers, models, priors, smoothing
from keras_dvae.version import __version__


class KerasDVAEWarning(UserWarning):
    """Warnings issued by keras_dvae (tests turn them into errors)."""


__all__ = [
    "callbacks",
    "distributions",
    "layers",
    "models",
    "priors",
    "smoothing", "KerasDVAEWarning", "__version__"]

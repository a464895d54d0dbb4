"""keras_dvae: discrete variational autoencoders for Keras 3."""

import importlib
import os
import sys

# Neither imports Keras; backend_choice must run before anything does.
from keras_dvae.utils import backend_choice  # noqa: F401
from keras_dvae.utils.warnings import KerasDVAEWarning
from keras_dvae.version import __version__

_SUBMODULES = (
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
)

__all__ = ["KerasDVAEWarning", "__version__", *_SUBMODULES]


def import_all():
    """Imports every submodule (and so registers every class with Keras)."""
    from keras_dvae.utils import tensorflow_probe

    tensorflow_probe.defer_tensorflow()  # no TensorFlow import on JAX/torch
    for name in _SUBMODULES:
        importlib.import_module(f"keras_dvae.{name}")


def __getattr__(name):
    # Reached only in the command line's lazy mode (below).
    if name in _SUBMODULES:
        return importlib.import_module(f"keras_dvae.{name}")
    raise AttributeError(f"module 'keras_dvae' has no attribute {name!r}")


# Everything is imported at once, so that `keras.saving.load_model` finds
# the registered classes after `import keras_dvae`; only the `keras-dvae`
# console script defers it (Keras takes seconds to import), so that
# `keras-dvae --help` answers at once. The command imports what it runs.
if not os.path.basename(sys.argv[0] if sys.argv else "").startswith("keras-dvae"):
    import_all()

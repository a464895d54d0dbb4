"""Falls back to an installed Keras backend when the configured one is missing.

`pip install 'keras-dvae[jax]'` installs no TensorFlow, but Keras's default
backend (no `~/.keras/keras.json`, or one written by an earlier TensorFlow
install) is TensorFlow, so `import keras` would fail with
`ModuleNotFoundError: No module named 'tensorflow'`. Imported by
`keras_dvae/__init__.py` before anything imports Keras, and runs
`choose_backend` on import: if `KERAS_BACKEND`
is unset and the configured backend's package is not installed, it sets
`KERAS_BACKEND` to the first installed of JAX, torch and TensorFlow, with a
warning. An explicit `KERAS_BACKEND`, or Keras already imported, is left
alone.
"""

import importlib.util
import json
import os
import sys
import warnings

from keras_dvae.utils.warnings import KerasDVAEWarning

#: Keras backend name → the package it needs; the fallback order.
PACKAGES = {"jax": "jax", "torch": "torch", "tensorflow": "tensorflow"}


def configured_backend():
    """(backend named by Keras's config file, the file's path); Keras's
    default "tensorflow" when the file is absent or unreadable."""
    home = os.environ.get("KERAS_HOME") or os.path.join(
        os.path.expanduser("~"), ".keras"
    )
    path = os.path.join(home, "keras.json")
    try:
        with open(path) as f:
            return str(json.load(f).get("backend", "tensorflow")), path
    except (OSError, ValueError, AttributeError):
        return "tensorflow", path


def installed(package):
    return importlib.util.find_spec(package) is not None


def choose_backend(environ=None, modules=None, is_installed=installed):
    """Sets `KERAS_BACKEND` in `environ` (default `os.environ`) if needed (see
    the module docstring); returns the backend it set, or None. `modules`
    (default `sys.modules`) tells whether Keras is imported."""
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    if "keras" in modules or environ.get("KERAS_BACKEND"):
        return None
    backend, path = configured_backend()
    if backend not in PACKAGES or is_installed(PACKAGES[backend]):
        return None
    for candidate, package in PACKAGES.items():
        if is_installed(package):
            environ["KERAS_BACKEND"] = candidate
            warnings.warn(
                f"Keras's backend is {backend!r} ({path} or Keras's default), "
                f"but {PACKAGES[backend]} is not installed: keras_dvae uses the "
                f"installed {candidate!r} backend. Set KERAS_BACKEND to choose.",
                KerasDVAEWarning,
                stacklevel=3,
            )
            return candidate
    return None


choose_backend()

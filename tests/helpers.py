"""Backend-aware helpers for tests (tests may import backends; the library may not)."""

import os
import pathlib

import keras
import numpy as np
import pytest

BACKEND = keras.backend.backend()

# The benchmark data (the offline `.npz` copies of shared/data/README.md):
# `$KERAS_DVAE_DATA`, else `../shared/data` beside the repository, as CI
# checks it out. Read once, at import: some tests unset the variable.
DATA_ENV_VAR = "KERAS_DVAE_DATA"
DATA_DIR = pathlib.Path(
    os.environ.get(DATA_ENV_VAR)
    or pathlib.Path(__file__).parents[1] / ".." / "shared" / "data"
).resolve()
# Every skip for missing data says this, so conftest.py can count them.
DATA_MISSING = "benchmark data missing"


def need_data(*names):
    """`DATA_DIR` if it holds every file in `names` (or, without names,
    exists), else skips the test."""
    missing = [n for n in names if not (DATA_DIR / n).is_file()]
    if not names and not DATA_DIR.is_dir():
        missing = ["the whole folder"]
    if missing:
        pytest.skip(f"{DATA_MISSING} in {DATA_DIR}: {', '.join(missing)}")
    return DATA_DIR


def is_data_skip(reason):
    """Whether a skip reason is a missing benchmark file.

    Tests that skip with their own words (tests/zoo/test_zoo.py) are counted
    too: their reason names `DATA_DIR`.
    """
    return DATA_MISSING in reason or str(DATA_DIR) in reason


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def grad(fn, x):
    """Gradient of sum(fn(x)) with respect to the NumPy array `x`."""
    x = np.asarray(x)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = tf.reduce_sum(fn(xt))
        return tape.gradient(y, xt).numpy()
    if BACKEND == "jax":
        import jax
        import jax.numpy as jnp

        return np.asarray(jax.grad(lambda v: jnp.sum(fn(v)))(jnp.asarray(x)))
    if BACKEND == "torch":
        import torch

        xt = torch.tensor(x, requires_grad=True)
        fn(xt).sum().backward()
        return xt.grad.detach().cpu().numpy()
    raise NotImplementedError(BACKEND)


def supports_float64():
    """Whether the backend computes in float64 when given float64 inputs."""
    if BACKEND == "jax":
        import jax

        return bool(jax.config.jax_enable_x64)
    return True

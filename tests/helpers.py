"""Backend-aware helpers for tests (tests may import backends; the library may not)."""

import keras
import numpy as np

BACKEND = keras.backend.backend()


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

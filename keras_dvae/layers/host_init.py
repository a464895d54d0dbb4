"""Weights initialised on the host, and the layers that use them.

On JAX, `keras.random.uniform` compiles one XLA program per weight shape
(0.2–0.4 s each on a CPU), so building the convolutional preset spent 10 of
its 18 s compiling random-number programs, and filling biases and batch-norm
statistics compiled one more program per shape. NumPy draws the same
distribution, and fills the constants, with no compilation, on every
backend.
"""

import math

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="keras_dvae")
class HostGlorotUniform(keras.initializers.GlorotUniform):
    """`keras.initializers.GlorotUniform`, drawn with NumPy.

    U(−a, a) with a = `gain` · √(6 / (fan_in + fan_out)) (Glorot & Bengio
    2010; Keras's at `gain` = 1). An integer seed (drawn from Python's
    `random`, which `keras.utils.set_random_seed` seeds, when None) gives
    the same values on every backend; a `SeedGenerator` seed falls back to
    `keras.random`.

    Args:
        seed: int, `SeedGenerator` or None.
        gain: float > 0, a factor on the bound (a small one starts a layer
            near zero but lets gradients through it).

    Example:

    >>> init = HostGlorotUniform(seed=1)
    >>> w = keras.ops.convert_to_numpy(init((300, 100)))
    >>> bool(abs(w).max() <= (6 / 400) ** 0.5)
    True
    >>> small = HostGlorotUniform(seed=1, gain=0.01)
    >>> w_small = keras.ops.convert_to_numpy(small((300, 100)))
    >>> bool(abs(w_small - 0.01 * w).max() < 1e-9), small.get_config()["gain"]
    (True, 0.01)
    """

    def __init__(self, seed=None, gain=1.0):
        super().__init__(seed=seed)
        if not (isinstance(gain, (int, float)) and gain > 0):
            raise ValueError(f"`gain` must be a number > 0. Received: gain={gain!r}")
        self.gain = float(gain)

    def __call__(self, shape, dtype=None):
        if not isinstance(self.seed, int):
            return super().__call__(shape, dtype) * self.gain
        shape = tuple(int(s) for s in shape)
        receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
        fan_in = shape[-2] * receptive if len(shape) > 1 else shape[0]
        fan_out = shape[-1] * receptive
        limit = self.gain * math.sqrt(6.0 / max(1.0, fan_in + fan_out))
        values = np.random.default_rng(self.seed).uniform(-limit, limit, shape)
        return host_tensor(values, dtype)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


@keras.saving.register_keras_serializable(package="keras_dvae")
class HostConstant(keras.initializers.Constant):
    """`keras.initializers.Constant`, filled with NumPy (no compilation).

    Example:

    >>> keras.ops.convert_to_numpy(HostConstant(1.0)((2,))).tolist()
    [1.0, 1.0]
    """

    def __call__(self, shape, dtype=None):
        return host_tensor(np.full(tuple(int(s) for s in shape), self.value), dtype)


def on_host(initializer):
    """`initializer`, or its host-filled equal for Keras's constant ones.

    Example:

    >>> type(on_host(keras.initializers.get("zeros"))).__name__
    'HostConstant'
    """
    if type(initializer) in (keras.initializers.Zeros, keras.initializers.Ones):
        return HostConstant(float(type(initializer) is keras.initializers.Ones))
    if type(initializer) is keras.initializers.Constant:
        return HostConstant(initializer.value)
    return initializer


def host_tensor(values, dtype=None):
    """A NumPy array as a backend tensor of `dtype` (default floatx).

    The explicit dtype matters on JAX: `jnp.asarray(array)` without one
    compiles a program per shape (`lax.stage`), with one it copies.

    Example:

    >>> keras.ops.convert_to_numpy(host_tensor(np.ones(2), "float32")).dtype
    dtype('float32')
    """
    dtype = keras.backend.standardize_dtype(dtype or keras.config.floatx())
    return keras.ops.convert_to_tensor(values.astype(dtype), dtype=dtype)


def conv2d(filters, kernel_size, kernel_initializer=None, **kwargs):
    """`keras.layers.Conv2D` with host-initialised weights (Glorot-uniform
    kernel unless `kernel_initializer` is given, zero bias)."""
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        kernel_initializer=kernel_initializer or HostGlorotUniform(),
        bias_initializer=HostConstant(0.0),
        **kwargs,
    )


def dense(units, kernel_initializer=None, **kwargs):
    """`keras.layers.Dense` with host-initialised weights (Glorot-uniform
    kernel unless `kernel_initializer` is given, zero bias)."""
    return keras.layers.Dense(
        units,
        kernel_initializer=kernel_initializer or HostGlorotUniform(),
        bias_initializer=HostConstant(0.0),
        **kwargs,
    )


def batch_norm(**kwargs):
    """`keras.layers.BatchNormalization` with host-initialised variables."""
    zero, one = HostConstant(0.0), HostConstant(1.0)
    return keras.layers.BatchNormalization(
        beta_initializer=zero,
        gamma_initializer=one,
        moving_mean_initializer=zero,
        moving_variance_initializer=one,
        **kwargs,
    )

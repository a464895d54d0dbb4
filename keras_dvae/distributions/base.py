"""The base class of the discrete latent distributions, and Gumbel noise."""

import keras
import numpy as np
from keras import ops

from keras_dvae.utils import checks
from keras_dvae.utils.numerics import to_float


class Distribution:
    """A distribution over a batch of independent discrete (or relaxed) latents.

    `logits` has shape batch_shape + event_shape, the event being the last
    `event_ndims` axes; `log_prob` reduces over the event only, giving
    per-latent values. Subclasses implement `_sample` and `_log_prob` (on
    checked arguments) and whichever of `entropy`, `mean`, `mode`, `cdf`,
    `icdf` they support; the others raise `NotImplementedError`.
    """

    #: Number of trailing axes that form one event.
    event_ndims = 0

    # ----------------------------------------------------------------- API

    def sample(self, seed=None, sample_shape=()):
        """Draws a tensor of shape `sample_shape + batch_shape + event_shape`.

        `seed` is a `keras.random.SeedGenerator` (needed under JAX `jit`),
        an int or None.
        """
        return self._sample(_shape_tuple("sample_shape", sample_shape), seed)

    def log_prob(self, value):
        """Log-probability (mass or density) of `value`, reduced over the event."""
        return self._log_prob(self._check_value(value))

    def entropy(self):
        """Entropy in nats, one value per batch element."""
        raise _not_implemented(self, "entropy")

    def mean(self):
        """The mean, with the shape of a sample."""
        raise _not_implemented(self, "mean")

    def mode(self):
        """The most probable value, with the shape of a sample."""
        raise _not_implemented(self, "mode")

    def cdf(self, value):
        """The cumulative distribution function (where one is defined)."""
        raise _not_implemented(self, "cdf")

    def icdf(self, value):
        """The inverse CDF (where one is defined)."""
        raise _not_implemented(self, "icdf")

    @property
    def batch_shape(self):
        """The static shape of the batch of independent latents."""
        shape = tuple(ops.shape(self._shape_source()))
        return shape[: len(shape) - self.event_ndims]

    @property
    def event_shape(self):
        """The static shape of one event."""
        shape = tuple(ops.shape(self._shape_source()))
        return shape[len(shape) - self.event_ndims :]

    # --------------------------------------------------------- serialising

    def get_config(self):
        """Constructor arguments as Python numbers and nested lists."""
        return {"logits": to_python(self.logits)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # ------------------------------------------------------ subclass hooks

    def _sample(self, sample_shape, seed):
        raise _not_implemented(self, "sample")

    def _log_prob(self, value):
        raise _not_implemented(self, "log_prob")

    def _shape_source(self):
        """The parameter tensor whose shape is batch_shape + event_shape."""
        return self.logits

    # ------------------------------------------------------------- helpers

    def _check_value(self, value, unit_interval=False):
        return checks.check_value("value", value, self._shape_source(), unit_interval)


def sample_gumbel(shape, dtype=None, seed=None):
    """Standard Gumbel(0, 1) noise g = −log(−log U) of `shape` and `dtype`.

    U is clipped to [tiny, 1 − ε] of its float type, so g lies in
    [−4.5, 16.7] in float32 ([−6.6, 36.7] in float64); half precision is
    drawn in float32 and cast. `dtype` defaults to `keras.config.floatx()`.
    """
    dtype = dtype or keras.config.floatx()
    noise_dtype = "float64" if str(dtype) == "float64" else "float32"
    info = np.finfo(noise_dtype)
    u = keras.random.uniform(shape, dtype=noise_dtype, seed=seed)
    u = ops.clip(u, float(info.tiny), float(1.0 - info.epsneg))
    return ops.cast(-ops.log(-ops.log(u)), dtype)


def float_parameter(name, x, min_rank=0):
    """A parameter as a float tensor (ints → floatx), checked if concrete."""
    checks.check_finite(name, x)  # host data only (see `checks`)
    x = to_float(x)
    if len(ops.shape(x)) < min_rank:
        raise ValueError(
            f"`{name}` must have rank >= {min_rank} (the last axis is the "
            f"event axis). Received: {name}.shape={tuple(ops.shape(x))}"
        )
    return x


def to_python(x):
    """A tensor or variable as a Python float or nested list, for configs."""
    if isinstance(x, (int, float)):
        return x
    array = np.asarray(ops.convert_to_numpy(x))
    return array.item() if array.ndim == 0 else array.tolist()


def _shape_tuple(name, shape):
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        if isinstance(shape, str) or any(
            isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in shape
        ):
            raise TypeError
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise ValueError(
            f"`{name}` must be an int or a tuple of ints. Received: {name}={shape!r}"
        ) from None
    if any(s < 0 for s in shape):
        raise ValueError(
            f"`{name}` must hold non-negative sizes. Received: {name}={shape}"
        )
    return shape


def _not_implemented(distribution, method):
    return NotImplementedError(
        f"{type(distribution).__name__} does not implement `{method}`."
    )


class CategoricalLogits(Distribution):
    """A distribution over one-hot vectors, parameterised by logits over K categories.

    Raises:
        ValueError: if `logits` is a scalar or holds NaN or Inf.
    """

    event_ndims = 1

    def __init__(self, logits):
        self.logits = float_parameter("logits", logits, min_rank=1)

    @property
    def num_categories(self):
        """K, the size of the last axis."""
        return ops.shape(self.logits)[-1]

    @property
    def probs(self):
        """softmax(logits) along the last axis."""
        return ops.softmax(self.logits, axis=-1)

    def _noisy_logits(self, sample_shape, seed):
        """logits + g, g ~ Gumbel(0, 1) of shape `sample_shape + logits.shape`."""
        shape = tuple(sample_shape) + tuple(ops.shape(self.logits))
        return self.logits + sample_gumbel(shape, self.logits.dtype, seed=seed)

"""The Gumbel-softmax (concrete) relaxation of a one-hot categorical."""

import math

import keras
import numpy as np
from keras import ops

from keras_dvae.distributions.base import (
    CategoricalLogits,
    Distribution,
    float_parameter,
    sample_gumbel,
    to_python,
)
from keras_dvae.utils import checks


@keras.saving.register_keras_serializable(package="keras_dvae")
class RelaxedOneHotCategorical(CategoricalLogits, Distribution):
    """Gumbel-softmax: a continuous relaxation of one-hot categorical latents.

    A sample is a point y in the interior of the probability simplex,
    y = softmax((logits + g) / τ) with independent Gumbel(0, 1) noise g.
    As τ → 0 it tends to the one-hot `Categorical(logits)` sample with the
    same noise (argmax y is that sample for every τ); as τ → ∞ to the
    barycentre. The last axis holds the K categories; leading axes are
    independent latents, e.g. `(batch, num_latents, K)`.

    Mathematical details:

        y_k = exp((l_k + g_k)/τ) / Σ_j exp((l_j + g_j)/τ),   g ~ Gumbel(0, 1)

    The density of y on the simplex, with respect to Lebesgue measure on
    (y_1, ..., y_{K−1}) (Jang et al. eq. 2; Maddison et al. Def. 1):

        p(y) = Γ(K) τ^{K−1} (Σ_k π_k y_k^{−τ})^{−K} Π_k π_k y_k^{−τ−1},
        π = softmax(l).

    In log space, with x = log y (the ExpConcrete variable) and
    a = l − τ x, it is

        log p(y) = log Γ(K) + (K−1) log τ + Σ_k log_softmax(a)_k − Σ_k x_k,

    since Σ_k log π_k − K log Σ_k π_k e^{−τ x_k} = Σ_k log_softmax(a)_k:
    the normaliser of π cancels, and log_softmax keeps every term bounded.
    This is the density TensorFlow Probability's
    `RelaxedOneHotCategorical(temperature, logits=logits)` computes. For
    K = 2 it is the binary concrete density of y_2 with logits l_2 − l_1
    (`keras_dvae.smoothing.RelaxedBernoulli`).

    Where τ is small a float sample can have components that underflow to
    0: `log_prob` floors y at the smallest normal float (1e-38 in
    float32), which is inexact there. `log_sample`
    returns x = log y = log_softmax((l + g)/τ), finite for every τ, and
    `log_prob_from_log(x)` evaluates the same density exactly from it.

    Args:
        temperature: τ > 0, a float or a tensor (e.g. an annealed Keras
            variable) broadcastable to the batch shape.
        logits: float tensor of shape `batch_shape + (K,)`.

    Raises:
        ValueError: if `temperature` is not finite and positive, or
            `logits` is a scalar or holds NaN or Inf.

    Example:

    >>> import numpy as np
    >>> d = RelaxedOneHotCategorical(0.5, np.zeros((2, 4, 8), "float32"))
    >>> y = d.sample(seed=0)               # (2, 4, 8) on the simplex
    >>> log_p = d.log_prob(y)              # (2, 4)

    References:
        Jang, Gu, Poole, "Categorical Reparameterization with
        Gumbel-Softmax", ICLR 2017, eqs. 1-2;
        Maddison, Mnih, Teh, "The Concrete Distribution", ICLR 2017,
        Definition 1 and Appendix C (ExpConcrete).
    """

    event_ndims = 1

    def __init__(self, temperature, logits):
        self.temperature = checks.check_positive_finite("temperature", temperature)
        self.logits = float_parameter("logits", logits, min_rank=1)

    def log_sample(self, seed=None, sample_shape=()):
        """Draws x = log y, finite even where y underflows.

        Args:
            seed: a `keras.random.SeedGenerator`, an int, or None.
            sample_shape: leading shape of independent draws.

        Returns:
            x = log_softmax((logits + g)/τ), of shape
            `sample_shape + logits.shape`; exp(x) is `sample` for the same
            seed.
        """
        return ops.log_softmax(self._scaled_noisy_logits(sample_shape, seed), axis=-1)

    def log_prob_from_log(self, log_value):
        """log p(y) at y = exp(`log_value`): exact where y underflows.

        Args:
            log_value: x = log y, with Σ_k exp(x_k) = 1 (not checked).

        Returns:
            The log-density of y, reduced over the last axis.
        """
        checks.check_finite("log_value", log_value)
        log_value = ops.cast(ops.convert_to_tensor(log_value), self.logits.dtype)
        checks.check_broadcastable("log_value", log_value, "logits", self.logits)
        return self._log_prob_log(log_value)

    def _sample(self, sample_shape, seed):
        return ops.softmax(self._scaled_noisy_logits(sample_shape, seed), axis=-1)

    def _log_prob(self, value):
        # Floor at the smallest normal number of the value's dtype. `where`,
        # not `ops.maximum`, which returns float32 for float64 on torch.
        floor = ops.convert_to_tensor(
            np.finfo(_numpy_dtype(value.dtype)).tiny, dtype=value.dtype
        )
        return self._log_prob_log(ops.log(ops.where(value > floor, value, floor)))

    def _log_prob_log(self, x):
        tau = self._tau()
        num_categories = self.num_categories
        log_norm = math.lgamma(num_categories) + (num_categories - 1) * ops.log(
            tau[..., 0]
        )
        a = self.logits - tau * x
        return (
            log_norm
            + ops.sum(ops.log_softmax(a, axis=-1), axis=-1)
            - ops.sum(x, axis=-1)
        )

    def _check_value(self, value, unit_interval=True):
        return super()._check_value(value, unit_interval=unit_interval)

    def _scaled_noisy_logits(self, sample_shape, seed):
        shape = tuple(sample_shape) + tuple(ops.shape(self.logits))
        noise = sample_gumbel(shape, self.logits.dtype, seed=seed)
        return (self.logits + noise) / self._tau()

    def _tau(self):
        """τ as a tensor of the logits' dtype with a trailing unit axis."""
        dtype = self.logits.dtype
        if isinstance(self.temperature, float):
            # Straight to the logits' dtype: no float32 rounding of τ.
            tau = ops.convert_to_tensor(self.temperature, dtype=dtype)
        else:
            tau = ops.cast(self.temperature, dtype)
        return ops.expand_dims(tau, -1)

    def _mode(self):
        # The density's maximiser has no closed form; the hard mode is not it.
        raise NotImplementedError(
            "RelaxedOneHotCategorical does not implement `mode`: the density's "
            "maximiser has no closed form. Use Categorical(logits).mode()."
        )

    def get_config(self):
        return {
            "temperature": to_python(self.temperature),
            "logits": to_python(self.logits),
        }

    def __repr__(self):
        return (
            f"RelaxedOneHotCategorical(temperature={to_python(self.temperature)}, "
            f"batch_shape={self.batch_shape}, K={self.num_categories})"
        )


def _numpy_dtype(dtype):
    """A float dtype NumPy knows (bfloat16 and float16 map to float32)."""
    name = keras.backend.standardize_dtype(dtype)
    return name if name in ("float32", "float64") else "float32"

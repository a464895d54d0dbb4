"""The Gumbel-softmax (concrete) relaxation of a one-hot categorical."""

import math

import keras
import numpy as np
from keras import ops

from keras_dvae.distributions.base import CategoricalLogits, to_python
from keras_dvae.utils import checks
from keras_dvae.utils.numerics import as_dtype


@keras.saving.register_keras_serializable(package="keras_dvae")
class RelaxedOneHotCategorical(CategoricalLogits):
    """Gumbel-softmax: a continuous relaxation of one-hot categorical latents.

    argmax y is the `Categorical(logits)` sample with the same noise; y
    tends to it as τ → 0 and to the barycentre as τ → ∞.

    Mathematical details:

        y_k = exp((l_k + g_k)/τ) / Σ_j exp((l_j + g_j)/τ),   g ~ Gumbel(0, 1)
        p(y) = Γ(K) τ^{K−1} (Σ_k π_k y_k^{−τ})^{−K} Π_k π_k y_k^{−τ−1},
        π = softmax(l)

    (density on (y_1, ..., y_{K−1}); Jang et al. eq. 2, Maddison et al.
    Def. 1), evaluated with x = log y (ExpConcrete) as

        log p(y) = log Γ(K) + (K−1) log τ + Σ_k log_softmax(l − τ x)_k − Σ_k x_k,

    TFP's density. At small τ sample components can underflow to 0, where
    `log_prob` floors y at the smallest normal float (inexact);
    `log_sample` and `log_prob_from_log` use x, exact for every τ.

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

    def __init__(self, temperature, logits):
        self.temperature = checks.check_positive_finite("temperature", temperature)
        super().__init__(logits)

    def log_sample(self, seed=None, sample_shape=()):
        """Draws x = log y, finite where y underflows; see `Distribution.sample`."""
        return ops.log_softmax(self._scaled_noisy_logits(sample_shape, seed), axis=-1)

    def log_prob_from_log(self, log_value):
        """log p(y) at y = exp(`log_value`) (Σ_k y_k = 1, not checked)."""
        return self._log_prob_log(
            checks.check_value("log_value", log_value, self.logits)
        )

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
        return self._noisy_logits(sample_shape, seed) / self._tau()

    def _tau(self):
        """τ as a tensor of the logits' dtype with a trailing unit axis."""
        return ops.expand_dims(as_dtype(self.temperature, self.logits.dtype), -1)

    def mode(self):
        # The density's maximiser has no closed form; the hard mode is not it.
        raise NotImplementedError(
            "RelaxedOneHotCategorical does not implement `mode`: the density's "
            "maximiser has no closed form. Use Categorical(logits).mode()."
        )

    def get_config(self):
        return {"temperature": to_python(self.temperature), **super().get_config()}

    def __repr__(self):
        return (
            f"RelaxedOneHotCategorical(temperature={to_python(self.temperature)}, "
            f"batch_shape={self.batch_shape}, K={self.num_categories})"
        )


def _numpy_dtype(dtype):
    """A float dtype NumPy knows (bfloat16 and float16 map to float32)."""
    name = keras.backend.standardize_dtype(dtype)
    return name if name in ("float32", "float64") else "float32"

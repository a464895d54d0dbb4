"""Concrete / relaxed Bernoulli smoothing (Maddison et al. 2016; Jang et al. 2016)."""

import keras
from keras import ops

from keras_dvae.smoothing.base import Smoothing
from keras_dvae.utils import checks


@keras.saving.register_keras_serializable(package="keras_dvae")
class RelaxedBernoulli(Smoothing):
    """The binary concrete (Gumbel-sigmoid) relaxation at temperature τ.

    Mathematical details:

        ζ      = σ((logits + log ρ − log(1 − ρ)) / τ),  ρ ~ U(0, 1)
        F(ζ)   = σ(τ logit(ζ) − logits)
        log p(ζ) = log σ(y) + log σ(−y) + log τ − log ζ − log(1 − ζ),
                   y = τ logit(ζ) − logits

    In logit space, u = logit(ζ), with log σ(x) + log σ(−x) = −|x| −
    2 log(1 + e^−|x|) and −log ζ − log(1 − ζ) = |u| + 2 log(1 + e^−|u|):

        log p(ζ) = log τ + |u| − |y| + 2 log(1 + e^−|u|) − 2 log(1 + e^−|y|)

    which is finite for every ζ in (0, 1), down to float32's smallest ζ.
    At the ends (where float32 samples round: ζ = 0 or 1, u = ∓∞) the two
    log(1 + e^−|·|) terms vanish and y has the sign of u, so with
    s = sign(u) = ±1

        |u| − |y| = s (u − y) = s (1 − τ) u + s · logits,
        log p(0) = log τ − logits + (1 − τ)·∞,
        log p(1) = log τ + logits + (1 − τ)·∞:

    +∞ for τ < 1 (the density's poles), −∞ for τ > 1 (it vanishes) and
    ∓logits for τ = 1 (p(0) = e^−logits = (1 − q)/q, p(1) = e^logits).
    `log_prob` returns these limits there, never NaN; its gradient there
    is finite (zero with respect to ζ, the sample having saturated).

    This is the distribution TFP calls `RelaxedBernoulli(temperature,
    logits)`. Its `binary_sample` (z = 1 iff ρ > 1 − q) equals 1[ζ > 1/2]:
    the hard threshold of the same sample. It has no closed-form mean.

    Args:
        temperature: float > 0 (default 0.5). τ → 0 recovers z.

    References:
        Maddison, Mnih, Teh, "The Concrete Distribution", ICLR 2017, eq. 21;
        Jang, Gu, Poole, "Categorical Reparameterization with
        Gumbel-Softmax", ICLR 2017.
    """

    parameter_name = "temperature"
    default_parameter = 0.5

    def __init__(self, temperature=None):
        if temperature is None:
            temperature = self.default_parameter
        self.temperature = checks.check_positive_finite("temperature", temperature)

    def _icdf(self, rho, logits):
        return ops.sigmoid(self._icdf_logit(rho, logits))

    def _icdf_logit(self, rho, logits):
        rho, logits = ops.convert_to_tensor(rho), ops.convert_to_tensor(logits)
        tau = self._param(logits.dtype)
        noise = ops.log(rho) - ops.log1p(-rho)  # ±inf at ρ ∈ {0, 1}: σ saturates
        return (logits + noise) / tau

    def _cdf_logs(self, log_zeta, log_one_minus_zeta, logits):
        tau = self._param(logits.dtype)
        return ops.sigmoid(tau * (log_zeta - log_one_minus_zeta) - logits)

    def _log_prob(self, zeta, logits):
        # In logit space (the class docstring): ζ = 0 or 1 would give
        # ∞ − ∞ in log σ(y) − log ζ. The ends take their limits; the double
        # `where` keeps log 0 (and its infinite slope) out of the gradient.
        dtype = logits.dtype
        tau = self._param(dtype)
        inside = (zeta > 0) & (zeta < 1)
        safe = ops.where(inside, zeta, ops.cast(0.5, dtype))
        u = ops.log(safe) - ops.log1p(-safe)
        y = tau * u - logits
        interior = (
            ops.abs(u)
            - ops.abs(y)
            + 2.0 * (ops.softplus(-ops.abs(u)) - ops.softplus(-ops.abs(y)))
        )
        infinity = ops.cast(float("inf"), dtype)
        pole = ops.where(
            tau < 1, infinity, ops.where(tau > 1, -infinity, ops.cast(0.0, dtype))
        )
        end = ops.where(zeta > 0.5, logits, -logits) + pole  # ±logits + (1 − τ)·∞
        return ops.log(tau) + ops.where(inside, interior, end)

"""Power-function smoothing (Vahdat, Andriyash, Macready 2018, DVAE#)."""

import keras
from keras import ops

from keras_dvae.smoothing.base import Smoothing
from keras_dvae.utils.numerics import log_sigmoid, logaddexp


def _times_log(c, x):
    """c · log(x) for x ≥ 0, with 0 · log 0 = 0 and finite gradients."""
    positive = x > 0
    value = c * ops.log(ops.where(positive, x, 1.0))
    at_zero = ops.where(c > 0, -float("inf"), ops.where(c < 0, float("inf"), 0.0))
    return ops.where(positive, value, at_zero)


@keras.saving.register_keras_serializable(package="keras_dvae")
class PowerFunction(Smoothing):
    """Power-function densities piled up at ζ = 0 (z = 0) and ζ = 1 (z = 1).

    Mathematical details:

        r(ζ|z=0) = (1/β) ζ^{1/β − 1}         (a Beta(1/β, 1) density)
        r(ζ|z=1) = (1/β) (1 − ζ)^{1/β − 1}
        F(ζ)     = (1 − q) ζ^{1/β} + q (1 − (1 − ζ)^{1/β})
        log r(ζ|1) − log r(ζ|0) = (1/β − 1)(log(1 − ζ) − log ζ)

    `icdf` bisects (no closed form). For β > 1 most mass lies within
    e^{−O(β)} of 0 or 1, and float32 resolves 1 − ζ only to ~6e-8: large-β
    samples near 1 round to exactly 1.

    Args:
        beta: float > 0, inverse temperature (default 30).

    References:
        Vahdat, Andriyash, Macready, "DVAE#: Discrete Variational
        Autoencoders with Relaxed Boltzmann Priors", NeurIPS 2018, §4.
    """

    default_parameter = 30.0
    is_overlapping = True

    def _cdf_logs(self, log_zeta, log_one_minus_zeta, logits):
        inv_beta = 1.0 / self._param(logits.dtype)
        f0 = ops.exp(inv_beta * log_zeta)
        f1 = 1.0 - ops.exp(inv_beta * log_one_minus_zeta)
        cdf = ops.sigmoid(-logits) * f0 + ops.sigmoid(logits) * f1
        return ops.clip(cdf, 0.0, 1.0)

    def _log_prob(self, zeta, logits):
        beta = self._param(logits.dtype)
        exponent = 1.0 / beta - 1.0
        return logaddexp(
            log_sigmoid(-logits) + _times_log(exponent, zeta),
            log_sigmoid(logits) + _times_log(exponent, 1.0 - zeta),
        ) - ops.log(beta)

    def _log_likelihood_ratio(self, zeta):
        exponent = 1.0 / self._param(zeta.dtype) - 1.0
        return _times_log(exponent, 1.0 - zeta) - _times_log(exponent, zeta)

    def _mean(self, logits):
        beta = self._param(logits.dtype)
        q = ops.sigmoid(logits)
        return ((1.0 - q) + q * beta) / (1.0 + beta)

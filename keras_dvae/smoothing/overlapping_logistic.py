"""Overlapping truncated-logistic smoothing (DVAE++ appendix B)."""

import math

import keras
from keras import ops

from keras_dvae.smoothing.base import Smoothing
from keras_dvae.utils.numerics import log1mexp, log_sigmoid, logaddexp


@keras.saving.register_keras_serializable(package="keras_dvae")
class OverlappingLogistic(Smoothing):
    """Two logistic densities of scale 1/β centred at 0 and 1, truncated to [0, 1].

    Mathematical details (the exact density this library uses):

        ℓ(t)     = β σ(βt) σ(−βt)          logistic density, location 0, scale 1/β
        N        = σ(β) − 1/2 = tanh(β/2)/2 its mass on [0, 1] (same for both)
        r(ζ|z=0) = ℓ(ζ) / N,        ζ ∈ [0, 1]
        r(ζ|z=1) = ℓ(ζ − 1) / N = r(1 − ζ|z=0)
        F(ζ)     = (1 − q) tanh(βζ/2)/tanh(β/2)
                   + q (1 − tanh(β(1 − ζ)/2)/tanh(β/2))
        log r(ζ|1) − log r(ζ|0) = log σ(β(1−ζ)) + log σ(−β(1−ζ))
                                  − log σ(βζ) − log σ(−βζ)   (→ β(2ζ − 1))

    `icdf` bisects: the closed form needs e^{β}, which overflows float32
    for β ≳ 88.

    Args:
        beta: float > 0, inverse temperature (default 10).

    References:
        Vahdat et al., "DVAE++", ICML 2018, appendix B (mixtures of
        overlapping logistic smoothing).
    """

    default_parameter = 10.0
    is_overlapping = True

    def _cdf_logs(self, log_zeta, log_one_minus_zeta, logits):
        beta = self._param(logits.dtype)
        scale = ops.tanh(0.5 * beta)
        f0 = ops.tanh(0.5 * beta * ops.exp(log_zeta)) / scale
        f1 = 1.0 - ops.tanh(0.5 * beta * ops.exp(log_one_minus_zeta)) / scale
        cdf = ops.sigmoid(-logits) * f0 + ops.sigmoid(logits) * f1
        return ops.clip(cdf, 0.0, 1.0)

    def _log_r0(self, zeta):
        beta = self._param(zeta.dtype)
        log_norm = log1mexp(beta) - ops.softplus(-beta) - math.log(2.0)
        t = beta * zeta
        return ops.log(beta) + log_sigmoid(t) + log_sigmoid(-t) - log_norm

    def _log_prob(self, zeta, logits):
        return logaddexp(
            log_sigmoid(-logits) + self._log_r0(zeta),
            log_sigmoid(logits) + self._log_r0(1.0 - zeta),
        )

    def _log_likelihood_ratio(self, zeta):
        return self._log_r0(1.0 - zeta) - self._log_r0(zeta)

    def _mean(self, logits):
        beta = self._param(logits.dtype)
        # ∫₀¹ ζ ℓ(ζ) dζ = σ(β) − (softplus(β) − log 2)/β, by parts.
        norm = ops.sigmoid(beta) - 0.5
        mean_r0 = (
            ops.sigmoid(beta) - (ops.softplus(beta) - math.log(2.0)) / beta
        ) / norm
        q = ops.sigmoid(logits)
        return (1.0 - q) * mean_r0 + q * (1.0 - mean_r0)

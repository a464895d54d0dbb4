"""Overlapping-exponential smoothing (Vahdat et al. 2018, DVAE++)."""

import math

import keras
from keras import ops

from keras_dvae.smoothing.base import Smoothing
from keras_dvae.utils.numerics import floor, log1mexp, log_sigmoid, logaddexp

# exp(-80) ~ 1.8e-35: a normal float32 number.
_MIN_LOG = -80.0


@keras.saving.register_keras_serializable(package="keras_dvae")
class OverlappingExponential(Smoothing):
    """Two truncated exponentials on [0, 1], one decaying from each end.

    Mathematical details:

        r(ζ|z=0) = β e^{−βζ} / (1 − e^{−β})
        r(ζ|z=1) = β e^{β(ζ−1)} / (1 − e^{−β})
        F(ζ) = [(1 − q)(1 − e^{−βζ}) + q (e^{β(ζ−1)} − e^{−β})] / (1 − e^{−β})
        log r(ζ|1) − log r(ζ|0) = β (2ζ − 1)

    The inverse CDF (DVAE++ eq. 3) takes the positive root of
    (1 − q) x² + B x − q e^{−β} = 0, x = e^{−βζ}, B = ρ − (1 − q) + e^{−β}(q − ρ),
    without cancellation: x = 2 q e^{−β} / (B + √(B² + D)) for B > 0, else
    (−B + √(B² + D)) / (2 (1 − q)), D = 4 q (1 − q) e^{−β}, in log space.

    Args:
        beta: float > 0, inverse temperature (default 10, the DVAE++ recipe).

    Example:

    >>> import numpy as np
    >>> s = OverlappingExponential(beta=10.0)
    >>> zeta = s.icdf(np.array([0.1, 0.9]), np.array([0.0, 2.0]))
    >>> nu = s.posterior_logits(zeta, np.array([0.0, 2.0]))

    References:
        Vahdat, Macready, Bian, Khoshaman, Andriyash, "DVAE++: Discrete
        Variational Autoencoders with Overlapping Transformations", ICML
        2018, eq. 3.
    """

    default_parameter = 10.0
    is_overlapping = True

    def _icdf(self, rho, logits):
        beta = self._param(logits.dtype)
        log_q = log_sigmoid(logits)
        log_1mq = log_sigmoid(-logits)
        exp_neg_beta = ops.exp(-beta)
        b = rho - ops.sigmoid(-logits) + exp_neg_beta * (ops.sigmoid(logits) - rho)
        # D floored at e^-80 so the roots stay finite when it underflows.
        d = ops.exp(floor(math.log(4.0) + log_q + log_1mq - beta, _MIN_LOG))
        positive = b > 0
        # Double-where: each branch sees inputs for which it is finite.
        b_pos = ops.where(positive, b, 1.0)
        b_neg = ops.where(positive, -1.0, b)
        log_x_pos = (
            math.log(2.0) + log_q - beta - ops.log(b_pos + ops.sqrt(b_pos * b_pos + d))
        )
        log_x_neg = (
            ops.log(-b_neg + ops.sqrt(b_neg * b_neg + d)) - math.log(2.0) - log_1mq
        )
        log_x = ops.where(positive, log_x_pos, log_x_neg)
        return ops.clip(-log_x / beta, 0.0, 1.0)

    def _cdf_logs(self, log_zeta, log_one_minus_zeta, logits):
        beta = self._param(logits.dtype)
        f0 = -ops.expm1(-beta * ops.exp(log_zeta))
        f1 = ops.exp(-beta * ops.exp(log_one_minus_zeta)) - ops.exp(-beta)
        cdf = (ops.sigmoid(-logits) * f0 + ops.sigmoid(logits) * f1) / (
            -ops.expm1(-beta)
        )
        return ops.clip(cdf, 0.0, 1.0)

    def _log_prob(self, zeta, logits):
        beta = self._param(logits.dtype)
        return (
            logaddexp(
                log_sigmoid(-logits) - beta * zeta,
                log_sigmoid(logits) + beta * (zeta - 1.0),
            )
            + ops.log(beta)
            - log1mexp(beta)
        )

    def _log_likelihood_ratio(self, zeta):
        return self._param(zeta.dtype) * (2.0 * zeta - 1.0)

    def _mean(self, logits):
        beta = self._param(logits.dtype)
        mean_r0 = 1.0 / beta - 1.0 / ops.expm1(beta)
        q = ops.sigmoid(logits)
        return (1.0 - q) * mean_r0 + q * (1.0 - mean_r0)

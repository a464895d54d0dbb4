"""Spike-and-exponential smoothing (Rolfe 2016, DVAE)."""

import keras
from keras import ops

from keras_dvae.smoothing.base import Smoothing
from keras_dvae.utils.numerics import TINY, floor, log1mexp, log_sigmoid


@keras.saving.register_keras_serializable(package="keras_dvae")
class SpikeAndExponential(Smoothing):
    """Spike at ζ = 0 for z = 0, truncated exponential rising to 1 for z = 1.

    Mathematical details:

        r(ζ|z=0) = δ(ζ)
        r(ζ|z=1) = β e^{β(ζ−1)} / (1 − e^{−β}),   ζ ∈ [0, 1]
        F(ζ)     = (1 − q) + q (e^{β(ζ−1)} − e^{−β}) / (1 − e^{−β}),  ζ ≥ 0
        F⁻¹(ρ)   = 0                                    if ρ ≤ 1 − q
                 = 1 + (1/β) log(u (1 − e^{−β}) + e^{−β}),  u = (ρ − 1 + q)/q

    The spike is an atom of mass 1 − q (`atom_mass`), in `cdf` but not in
    `log_prob`. z = 1[ζ > 0] exactly, so there is no `posterior_logits`.

    Args:
        beta: float > 0, inverse temperature (default 4, the DVAE recipe).

    References:
        Rolfe, "Discrete Variational Autoencoders", ICLR 2017, §2.1 and
        Appendix D.1.
    """

    default_parameter = 4.0

    def _icdf(self, rho, logits):
        beta = self._param(logits.dtype)
        active = rho > ops.sigmoid(-logits)  # outside the spike
        # Double-where: inactive entries see a harmless input, so neither
        # branch yields Inf or NaN gradients (e^{-logits} could overflow).
        safe_rho = ops.where(active, rho, 1.0)
        safe_logits = ops.where(active, logits, 0.0)
        u = 1.0 - (1.0 - safe_rho) * (1.0 + ops.exp(-safe_logits))
        exp_neg_beta = ops.exp(-beta)
        # The floor only binds where F(ζ|z=1) < 1e-30: a null set in float32.
        inner = floor(u * (1.0 - exp_neg_beta) + exp_neg_beta, TINY)
        zeta = ops.clip(1.0 + ops.log(inner) / beta, 0.0, 1.0)
        return ops.where(active, zeta, 0.0)

    def _cdf_logs(self, log_zeta, log_one_minus_zeta, logits):
        beta = self._param(logits.dtype)
        q = ops.sigmoid(logits)
        one_minus_zeta = ops.exp(log_one_minus_zeta)
        continuous = (ops.exp(-beta * one_minus_zeta) - ops.exp(-beta)) / (
            -ops.expm1(-beta)
        )
        return ops.sigmoid(-logits) + q * ops.clip(continuous, 0.0, 1.0)

    def _log_prob(self, zeta, logits):
        beta = self._param(logits.dtype)
        return (
            log_sigmoid(logits) + ops.log(beta) + beta * (zeta - 1.0) - log1mexp(beta)
        )

    def _atom_mass(self, logits):
        return ops.sigmoid(-logits)

    def _mean(self, logits):
        beta = self._param(logits.dtype)
        # Mean of r(ζ|1) is 1 − (1/β − 1/(e^β − 1)).
        mean_r0 = 1.0 / beta - 1.0 / ops.expm1(beta)
        return ops.sigmoid(logits) * (1.0 - mean_r0)

"""Concrete / relaxed Bernoulli smoothing (Maddison et al. 2016; Jang et al. 2016)."""

import keras
from keras import ops

from keras_dvae.smoothing.base import Smoothing
from keras_dvae.utils import checks
from keras_dvae.utils.numerics import log_sigmoid


@keras.saving.register_keras_serializable(package="keras_dvae")
class RelaxedBernoulli(Smoothing):
    """The binary concrete (Gumbel-sigmoid) relaxation at temperature τ.

    Mathematical details:

        ζ      = σ((logits + log ρ − log(1 − ρ)) / τ),  ρ ~ U(0, 1)
        F(ζ)   = σ(τ logit(ζ) − logits)
        log p(ζ) = log σ(y) + log σ(−y) + log τ − log ζ − log(1 − ζ),
                   y = τ logit(ζ) − logits

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
        tau = self._param(logits.dtype)
        y = tau * (ops.log(zeta) - ops.log1p(-zeta)) - logits
        return (
            log_sigmoid(y)
            + log_sigmoid(-y)
            + ops.log(tau)
            - ops.log(zeta)
            - ops.log1p(-zeta)
        )

"""The standard Normal prior over continuous latents."""

import keras
from keras import ops

from keras_dvae.distributions.kl import register_kl
from keras_dvae.distributions.normal import normal_kl, normal_log_prob
from keras_dvae.distributions.posterior import NormalPosterior
from keras_dvae.priors.base import Prior
from keras_dvae.utils import checks


@keras.saving.register_keras_serializable(package="keras_dvae")
class NormalPrior(Prior):
    """p(z) = N(0, I) over `num_latents` continuous units.

    The all-continuous baseline of DVAE++ Table 3 uses it for the global
    latents. Its KL against a `NormalPosterior` is analytic,
    Σ_i ½(σ_i² + m_i² − 1 − log σ_i²).

    Args:
        num_latents: int ≥ 1.
        seed: int ≥ 0 or None, seeds `sample`.
        **kwargs: base `keras.layers.Layer` arguments.

    Example:

    >>> prior = NormalPrior(num_latents=4, seed=0)
    >>> tuple(prior.sample(3).shape)
    (3, 4)
    """

    def __init__(self, num_latents, seed=None, **kwargs):
        super().__init__(num_latents=num_latents, seed=seed, **kwargs)
        self.built = True

    def log_prob(self, z):
        z = ops.cast(ops.convert_to_tensor(z), self.compute_dtype)
        zeros = ops.zeros_like(z)
        return normal_log_prob(z, zeros, zeros)

    def sample(self, num_samples):
        num_samples = checks.check_positive_int("num_samples", num_samples)
        return keras.random.normal(
            (num_samples, self.num_latents), seed=self.seed_generator
        )


@register_kl(NormalPosterior, NormalPrior)
def _kl_normal_standard(q, p):
    mean, log_var = q.moments
    zeros = ops.zeros_like(mean)
    return normal_kl(mean, log_var, zeros, zeros)

"""Priors over the latent codes: one interface, one file each.

Each prior registers its KL against the posterior it pairs with in
`keras_dvae.distributions.kl_divergence`'s registry.

>>> from keras_dvae.priors import RBMPrior
>>> prior = RBMPrior(num_z1=8, num_z2=8, num_chains=100, seed=0)
>>> log_z = prior.exact_log_partition()
"""

from keras_dvae.distributions.categorical import bernoulli_entropy
from keras_dvae.priors import rbm_kl  # noqa: F401 (registers the RBM's KL)
from keras_dvae.priors.base import Prior
from keras_dvae.priors.bernoulli import BernoulliPrior
from keras_dvae.priors.categorical import CategoricalPrior
from keras_dvae.priors.normal import NormalPrior
from keras_dvae.priors.rbm import EXACT_LIMIT, RBMPrior
from keras_dvae.priors.rbm_log_partition import (
    AISEstimate,
    check_schedule,
    default_schedule,
    exact_log_partition,
)

__all__ = [
    "AISEstimate",
    "BernoulliPrior",
    "CategoricalPrior",
    "EXACT_LIMIT",
    "NormalPrior",
    "Prior",
    "RBMPrior",
    "bernoulli_entropy",
    "check_schedule",
    "default_schedule",
    "exact_log_partition",
]

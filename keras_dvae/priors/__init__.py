"""Priors over the binary latents: the RBM and its analytic KL terms.

>>> from keras_dvae.priors import RBMPrior
>>> prior = RBMPrior(num_z1=8, num_z2=8, num_chains=100, seed=0)
>>> log_z = prior.exact_log_partition()
"""

from keras_dvae.priors.bernoulli import bernoulli_entropy
from keras_dvae.priors.rbm import RBMPrior
from keras_dvae.priors.rbm_log_partition import (
    AISEstimate,
    check_schedule,
    default_schedule,
    exact_log_partition,
)

__all__ = [
    "AISEstimate",
    "RBMPrior",
    "bernoulli_entropy",
    "check_schedule",
    "default_schedule",
    "exact_log_partition",
]

"""Output distributions p(x | ·) of the VAEs: one interface, one file each."""

from keras_dvae.likelihoods.base import Likelihood
from keras_dvae.likelihoods.bernoulli import BernoulliLikelihood
from keras_dvae.likelihoods.logistic_mixture import LogisticMixtureLikelihood

LIKELIHOODS = {
    "bernoulli": BernoulliLikelihood,
    "logistic_mixture": LogisticMixtureLikelihood,
}

__all__ = [
    "BernoulliLikelihood",
    "LIKELIHOODS",
    "Likelihood",
    "LogisticMixtureLikelihood",
]

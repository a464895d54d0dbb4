"""Distributions of discrete latents, their relaxations, KLs and estimators.

>>> import numpy as np
>>> from keras_dvae import distributions
>>> q = distributions.Categorical(np.zeros((2, 4, 8), "float32"))
>>> prior = distributions.Categorical(np.zeros((4, 8), "float32"))
>>> kl = distributions.kl_divergence(q, prior)  # (2, 4), per latent
"""

from keras_dvae.distributions.base import Distribution, sample_gumbel
from keras_dvae.distributions.categorical import Bernoulli, Categorical
from keras_dvae.distributions.kl import kl_divergence, register_kl
from keras_dvae.distributions.relaxed_one_hot_categorical import (
    RelaxedOneHotCategorical,
)
from keras_dvae.distributions.score_function import (
    MovingAverageBaseline,
    score_function_surrogate,
)
from keras_dvae.distributions.straight_through import StraightThrough

__all__ = [
    "Distribution",
    "Bernoulli",
    "Categorical",
    "RelaxedOneHotCategorical",
    "StraightThrough",
    "kl_divergence",
    "register_kl",
    "score_function_surrogate",
    "MovingAverageBaseline",
    "sample_gumbel",
]

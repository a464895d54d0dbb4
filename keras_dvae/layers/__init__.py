"""Latent layers (own their β/τ variables and seeds, sample in `call`) and blocks."""

from keras_dvae.layers.gaussian_latent import GaussianLatent
from keras_dvae.layers.gumbel_softmax import GumbelSoftmax
from keras_dvae.layers.mlp import mlp, resolve_hidden_units
from keras_dvae.layers.residual_block import ResidualBlock
from keras_dvae.layers.smoothed_bernoulli import SmoothedBernoulli

__all__ = [
    "GaussianLatent",
    "GumbelSoftmax",
    "ResidualBlock",
    "SmoothedBernoulli",
    "mlp",
    "resolve_hidden_units",
]

"""Latent layers: own their β/τ variables and seeds, sample in `call`."""

from keras_dvae.layers.gumbel_softmax import GumbelSoftmax
from keras_dvae.layers.residual_block import ResidualBlock
from keras_dvae.layers.smoothed_bernoulli import SmoothedBernoulli

__all__ = ["GumbelSoftmax", "ResidualBlock", "SmoothedBernoulli"]

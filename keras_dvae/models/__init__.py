"""Assembled VAEs trained with `compile()` + `fit()`."""

from keras_dvae.models.base import DiscreteVAE
from keras_dvae.models.bernoulli_vae import BernoulliVAE
from keras_dvae.models.binary_latent import BinaryLatentVAE
from keras_dvae.models.categorical_vae import CategoricalVAE
from keras_dvae.models.conv_dvaepp import ConvDVAEPP
from keras_dvae.models.dvae import DVAE
from keras_dvae.models.dvaepp import DVAEPP

__all__ = [
    "BernoulliVAE",
    "BinaryLatentVAE",
    "CategoricalVAE",
    "ConvDVAEPP",
    "DVAE",
    "DVAEPP",
    "DiscreteVAE",
]

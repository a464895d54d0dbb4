"""VAEs: one `DiscreteVAE` assembled from parts, and its named constructors."""

from keras_dvae.models.bernoulli_vae import BernoulliVAE
from keras_dvae.models.categorical_vae import CategoricalVAE
from keras_dvae.models.conv_dvaepp import ConvDVAEPP
from keras_dvae.models.dvae import DVAE
from keras_dvae.models.dvaepp import DVAEPP
from keras_dvae.models.vae import DiscreteVAE

__all__ = [
    "BernoulliVAE",
    "CategoricalVAE",
    "ConvDVAEPP",
    "DVAE",
    "DVAEPP",
    "DiscreteVAE",
]

"""Networks of the VAEs: the hierarchical encoder (MLP or conv trunk), decoders."""

from keras_dvae.networks.conv_trunk import ConvTrunk
from keras_dvae.networks.features import EncoderFeatures
from keras_dvae.networks.hierarchical_encoder import HierarchicalEncoder
from keras_dvae.networks.mlp_decoder import MLPDecoder
from keras_dvae.networks.top_down_decoder import TopDownDecoder

__all__ = [
    "ConvTrunk",
    "EncoderFeatures",
    "HierarchicalEncoder",
    "MLPDecoder",
    "TopDownDecoder",
]

"""The interface of a VAE's output distribution p(x | ·)."""

import keras
import numpy as np


class Likelihood(keras.layers.Layer):
    """p(x | decoder output), one part of a `DiscreteVAE`."""

    #: Factor that brings the data to [0, 1] for the encoder.
    scale = 1.0

    def num_outputs(self, channels):
        """Parameters per pixel the decoder must output."""
        raise NotImplementedError

    def nll(self, x, out):
        """−log p(x | out), per example."""
        raise NotImplementedError

    def images(self, out):
        """Flat images in [0, 1] that `out` stands for (mean or sample)."""
        raise NotImplementedError

    def initial_bias(self, mean):
        """The decoder's starting output bias for mean image `mean`, or None."""
        return None

    def check_data(self, array, name):
        """Raises `ValueError` naming `name` unless `array` holds valid data."""

    def build(self, input_shape=None):
        self.built = True


def describe_bad(array, bad):
    return f"{int(np.sum(bad))} value(s) are not, e.g. {array[bad].flat[0]!r}"

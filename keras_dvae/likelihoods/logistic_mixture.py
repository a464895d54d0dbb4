"""The discretised mixture of logistics (PixelCNN++) over 8-bit pixels."""

import keras
import numpy as np
from keras import ops

from keras_dvae.distributions import discretized_logistic
from keras_dvae.likelihoods.base import Likelihood, describe_bad
from keras_dvae.utils import checks
from keras_dvae.utils.numerics import flatten


@keras.saving.register_keras_serializable(package="keras_dvae")
class LogisticMixtureLikelihood(Likelihood):
    """PixelCNN++'s discretised logistic mixture over 8-bit colour pixels.

    Data are integers 0..255 (the encoder sees them divided by 255); the
    decoder outputs M (1 + 2C + C(C−1)/2) parameters per pixel. `nll` is in
    nats over the 8-bit values: bits/dim = nll / (H·W·C·ln 2).

    Args:
        image_shape: (H, W, C).
        num_mixtures: int ≥ 1, M.
        seed: int or None, seeds `images` (samples).
        **kwargs: base `Layer` arguments.

    References:
        Salimans et al., "PixelCNN++", ICLR 2017.
    """

    scale = 1.0 / 255.0

    def __init__(self, image_shape, num_mixtures=10, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.num_mixtures = checks.check_positive_int("num_mixtures", num_mixtures)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def num_outputs(self, channels):
        return discretized_logistic.num_parameters(channels, self.num_mixtures)

    def nll(self, x, out):
        x = ops.cast(ops.convert_to_tensor(x), out.dtype)
        x = ops.reshape(x, (-1, *self.image_shape)) / 127.5 - 1.0
        return -discretized_logistic.log_prob(x, out, self.num_mixtures)

    def images(self, out):
        return flatten(
            discretized_logistic.sample(
                out, self.image_shape[-1], self.num_mixtures, seed=self.seed_generator
            )
        )

    def check_data(self, array, name):
        bad = (array < 0) | (array > 255) | (array != np.round(array))
        if np.any(bad):
            raise ValueError(
                f"`{name}` must hold 8-bit pixel values (integers 0..255) for the "
                f"logistic-mixture likelihood; {describe_bad(array, bad)}. "
                f"Received: {name} with shape {array.shape}"
            )

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": list(self.image_shape),
            "num_mixtures": self.num_mixtures,
            "seed": self.seed,
        }

"""A group of diagonal Gaussian latents, reparameterised."""

import keras
from keras import ops

from keras_dvae.distributions.normal import split_gaussian
from keras_dvae.distributions.posterior import NormalPosterior
from keras_dvae.utils import checks, seed_state


def sample_normal(mean, log_var, seed):
    """h = mean + exp(log_var / 2) ε, ε ~ N(0, I) drawn with `seed`."""
    noise = keras.random.normal(ops.shape(mean), dtype=mean.dtype, seed=seed)
    return mean + ops.exp(0.5 * log_var) * noise


@keras.saving.register_keras_serializable(package="keras_dvae")
class GaussianLatent(seed_state.SavesSeedState, keras.layers.Layer):
    """Samples h = m + σ ε, ε ~ N(0, I), from params m ‖ log σ².

    The continuous counterpart of `SmoothedBernoulli` (the all-continuous
    baseline of DVAE++ Table 3): it samples in evaluation too, and its
    mode is the mean.

    Args:
        seed: int or None.
        **kwargs: base `Layer` arguments.

    Call arguments:
        params: (n, 2 D) means ‖ log-variances (clipped to ±12).

    Returns:
        (n, D) samples.

    Example:

    >>> import numpy as np
    >>> layer = GaussianLatent(seed=0)
    >>> tuple(layer(np.zeros((2, 6), "float32")).shape)
    (2, 3)
    """

    def __init__(self, seed=None, **kwargs):
        checks.check_dtype_policy(type(self).__name__, kwargs.get("dtype"))
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.built = True

    def call(self, params, training=None, discrete=None):
        params = ops.cast(params, self.compute_dtype)
        return sample_normal(*split_gaussian(params), self.seed_generator)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // 2)

    def num_params(self, units):
        """A mean and a log-variance per unit."""
        return 2 * units

    def num_values(self, units):
        return units

    def sample_codes(self, params, training=None, discrete=None):
        return self(params, training=training)

    def mode_codes(self, params):
        return split_gaussian(params)[0]

    def posterior(self, params, samples, **kwargs):
        return NormalPosterior(params, samples, latent=self, **kwargs)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}

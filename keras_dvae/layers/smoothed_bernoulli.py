"""A group of binary latents smoothed into ζ ∈ [0, 1]."""

import keras
from keras import ops

from keras_dvae import smoothing as smoothing_lib
from keras_dvae.distributions.posterior import BinaryPosterior
from keras_dvae.utils import checks, seed_state


@keras.saving.register_keras_serializable(package="keras_dvae")
class SmoothedBernoulli(seed_state.SavesSeedState, keras.layers.Layer):
    """Samples one group of smoothed binary latents from encoder logits.

    In training it draws ζ = F⁻¹(ρ; logits, β), ρ ~ U(0, 1), whose gradient
    reaches the logits; otherwise the discrete z ∈ {0, 1} coupled to the
    same ρ (`Smoothing.binary_sample`). β (τ for the concrete family) is a
    non-trainable variable named "beta" (or "temperature") that schedules
    anneal.

    Args:
        smoothing: a family name, config dict or `smoothing.Smoothing`;
            its β or τ is the variable's initial value.
        seed: int or None.
        **kwargs: base `Layer` arguments.

    Call arguments:
        logits: log-odds of q(z=1|x), any shape.
        training: bool; relaxed ζ when True.
        discrete: optional bool overriding that choice.

    Returns:
        ζ ∈ [0, 1] or z ∈ {0, 1}, shaped like `logits`.

    Example:

    >>> import numpy as np
    >>> layer = SmoothedBernoulli("overlapping_exponential", seed=0)
    >>> zeta = layer(np.zeros((2, 8), "float32"), training=True)
    >>> z = layer(np.zeros((2, 8), "float32"))  # exact 0/1
    """

    def __init__(self, smoothing="overlapping_exponential", seed=None, **kwargs):
        checks.check_dtype_policy(type(self).__name__, kwargs.get("dtype"))
        super().__init__(**kwargs)
        self.smoothing = smoothing_lib.get(smoothing)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.sharpness = self.add_weight(
            name=self.smoothing.parameter_name,
            shape=(),
            initializer=keras.initializers.Constant(self.smoothing.parameter),
            trainable=False,
        )

    @property
    def family(self):
        """The smoothing family bound to the current value of β or τ."""
        return self.smoothing.with_parameter(self.sharpness)

    def call(self, logits, training=None, discrete=None):
        logits = ops.cast(logits, self.compute_dtype)
        rho = keras.random.uniform(
            ops.shape(logits), dtype=logits.dtype, seed=self.seed_generator
        )
        if discrete is None:
            discrete = not training
        family = self.family
        if discrete:
            return family.binary_sample(rho, logits)
        return family._icdf(rho, logits)

    def compute_output_shape(self, input_shape):
        return input_shape

    # The latent-layer protocol of `keras_dvae.networks.HierarchicalEncoder`.

    def num_params(self, units):
        return units

    def num_values(self, units):
        return units

    def sample_codes(self, params, training=None, discrete=None):
        return self(params, training=training, discrete=discrete)

    def mode_codes(self, params):
        return ops.cast(params > 0, params.dtype)  # 1[logit > 0]

    def posterior(self, params, samples, **kwargs):
        return BinaryPosterior(params, samples, latent=self, **kwargs)

    def get_config(self):
        return {
            **super().get_config(),
            "smoothing": smoothing_lib.serialize(self.smoothing),
            "seed": self.seed,
        }

"""A group of binary latents smoothed into ζ ∈ [0, 1]."""

import keras
from keras import ops

from keras_dvae import smoothing as smoothing_lib
from keras_dvae.distributions.posterior import BinaryPosterior


@keras.saving.register_keras_serializable(package="keras_dvae")
class SmoothedBernoulli(keras.layers.Layer):
    """Samples one group of smoothed binary latents from encoder logits.

    While training, the layer draws the continuous relaxation
    ζ = F⁻¹(ρ; logits, β), ρ ~ U(0, 1), whose gradient reaches the logits.
    Otherwise (evaluation, `predict`) it returns the discrete z ∈ {0, 1}
    coupled to the same ρ (`Smoothing.binary_sample`): the binary limit in
    which the papers report likelihoods.

    The sharpness of the smoothing (β, or τ for the concrete family) lives
    in a non-trainable variable named after it ("beta" or "temperature"),
    so that a schedule (`DiscreteVAE.compile(schedules={"beta": ...})`) can
    anneal it during `fit` and checkpoints and `.keras` files keep its
    current value.

    Args:
        smoothing: a family name, config dict or `keras_dvae.smoothing.Smoothing`
            instance; its β or τ is the variable's initial value.
            Defaults to "overlapping_exponential" (β = 10).
        seed: int or None, seeds the layer's `keras.random.SeedGenerator`.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        logits: log-odds of q(z=1|x), any shape.
        training: bool; relaxed ζ when True, discrete z otherwise.
        discrete: optional bool overriding that choice.

    Returns:
        A tensor with the shape of `logits`: ζ ∈ [0, 1] or z ∈ {0, 1}.

    Example:

    >>> import numpy as np
    >>> layer = SmoothedBernoulli("overlapping_exponential", seed=0)
    >>> zeta = layer(np.zeros((2, 8), "float32"), training=True)
    >>> z = layer(np.zeros((2, 8), "float32"))  # exact 0/1
    """

    def __init__(self, smoothing="overlapping_exponential", seed=None, **kwargs):
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
        """Encoder outputs per group of `units` binary units: their logits."""
        return units

    def num_values(self, units):
        """Width of the codes of `units` binary units."""
        return units

    def sample_codes(self, params, training=None, discrete=None):
        """`call`, flat: ζ (training) or z (n, units)."""
        return self(params, training=training, discrete=discrete)

    def mode_codes(self, params):
        """The most likely code, 1[logit > 0]."""
        return ops.cast(params > 0, params.dtype)

    def posterior(self, params, samples, **kwargs):
        """A `BinaryPosterior` of these logits and samples."""
        return BinaryPosterior(params, samples, latent=self, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"smoothing": smoothing_lib.serialize(self.smoothing), "seed": self.seed}
        )
        return config

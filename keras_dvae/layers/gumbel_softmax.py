"""The Gumbel-softmax latent layer for categorical VAEs."""

import keras
import numpy as np
from keras import ops

from keras_dvae.distributions.categorical import Categorical
from keras_dvae.distributions.posterior import CategoricalPosterior
from keras_dvae.distributions.relaxed_one_hot_categorical import (
    RelaxedOneHotCategorical,
)
from keras_dvae.distributions.straight_through import StraightThrough
from keras_dvae.utils import checks


@keras.saving.register_keras_serializable(package="keras_dvae")
class GumbelSoftmax(keras.layers.Layer):
    """Samples `num_latents` categorical latents with K categories each.

    In training the layer draws the Gumbel-softmax relaxation
    y = softmax((logits + g)/τ) (or, with `straight_through=True`, its
    one-hot argmax with the relaxed gradient); otherwise the one-hot sample
    of Categorical(logits), the τ → 0 limit used to evaluate the model.

    τ lives in a non-trainable weight named "temperature" (made in
    `build`), so a schedule can anneal it and it is saved with the model;
    `get_config` records the initial τ.

    Args:
        num_latents: int ≥ 1, the number of categorical latents.
        num_categories: int ≥ 2, K.
        temperature: float > 0, the initial τ (default 1.0).
        straight_through: bool; training samples are hard one-hot vectors
            with the relaxed gradient (`StraightThrough`).
        seed: int or None, seeds the layer's `keras.random.SeedGenerator`.
        **kwargs: base `Layer` arguments.

    Call arguments:
        logits: (batch, num_latents * num_categories), latent-major (the K
            logits of a latent are contiguous), or (batch, num_latents,
            num_categories).
        training: bool; relaxed samples when true, hard one-hot otherwise.
        discrete: optional bool overriding that choice.

    Returns:
        (batch, num_latents, num_categories): points of the simplex in
        training, one-hot vectors otherwise.

    Raises:
        ValueError: for a bad argument, or logits of the wrong shape.

    Example:

    >>> import numpy as np
    >>> layer = GumbelSoftmax(num_latents=30, num_categories=10, seed=0)
    >>> logits = np.zeros((2, 300), "float32")
    >>> y = layer(logits, training=True)    # (2, 30, 10), relaxed
    >>> z = layer(logits, training=False)   # (2, 30, 10), one-hot
    >>> _ = layer.temperature_variable.assign(0.5)  # e.g. from a schedule

    References:
        Jang, Gu, Poole, "Categorical Reparameterization with
        Gumbel-Softmax", ICLR 2017; Maddison, Mnih, Teh, "The Concrete
        Distribution", ICLR 2017.
    """

    def __init__(
        self,
        num_latents,
        num_categories,
        temperature=1.0,
        straight_through=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_latents = checks.check_positive_int("num_latents", num_latents)
        self.num_categories = checks.check_positive_int(
            "num_categories", num_categories, minimum=2
        )
        if not isinstance(temperature, (int, float, np.integer, np.floating)):
            raise ValueError(
                "`temperature` must be a finite number > 0. Received: "
                f"temperature={temperature!r}"
            )
        self.temperature = checks.check_positive_finite("temperature", temperature)
        if not isinstance(straight_through, bool):
            raise ValueError(
                "`straight_through` must be a bool. Received: "
                f"straight_through={straight_through!r}"
            )
        self.straight_through = straight_through
        if seed is not None:
            seed = checks.check_positive_int("seed", seed, minimum=0)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def build(self, input_shape):
        self._target_shape(input_shape)
        self.temperature_variable = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self.temperature),
            trainable=False,
            name="temperature",
        )

    def call(self, logits, training=None, discrete=None):
        logits = ops.reshape(logits, (-1, self.num_latents, self.num_categories))
        if discrete is None:
            discrete = not training
        if discrete:
            return Categorical(logits).sample(seed=self.seed_generator)
        tau = ops.cast(self.temperature_variable, logits.dtype)
        distribution = RelaxedOneHotCategorical(tau, logits)
        if self.straight_through:
            distribution = StraightThrough(distribution)
        return distribution.sample(seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_latents, self.num_categories)

    # The latent-layer protocol of `keras_dvae.networks.HierarchicalEncoder`.

    def num_params(self, units):
        """Encoder outputs for `units` latents: K logits each."""
        return units * self.num_categories

    def num_values(self, units):
        """Width of the flattened one-hot codes of `units` latents."""
        return units * self.num_categories

    def sample_codes(self, params, training=None, discrete=None):
        """`call`, flattened to (n, num_latents × num_categories)."""
        y = self(params, training=training, discrete=discrete)
        return ops.reshape(y, (-1, self.num_latents * self.num_categories))

    def mode_codes(self, params):
        """The one-hot argmax of each latent, flattened."""
        blocks = ops.reshape(params, (-1, self.num_latents, self.num_categories))
        one_hot = ops.one_hot(
            ops.argmax(blocks, axis=-1), self.num_categories, dtype=blocks.dtype
        )
        return ops.reshape(one_hot, (-1, self.num_latents * self.num_categories))

    def posterior(self, params, samples, **kwargs):
        """A `CategoricalPosterior` of these logits and samples."""
        return CategoricalPosterior(
            params, samples, num_categories=self.num_categories, latent=self, **kwargs
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_latents": self.num_latents,
                "num_categories": self.num_categories,
                "temperature": self.temperature,
                "straight_through": self.straight_through,
                "seed": self.seed,
            }
        )
        return config

    def _target_shape(self, input_shape):
        shape = tuple(input_shape)
        flat = self.num_latents * self.num_categories
        if (len(shape) == 2 and shape[-1] in (flat, None)) or (
            len(shape) == 3
            and shape[-2] in (self.num_latents, None)
            and shape[-1] in (self.num_categories, None)
        ):
            return
        raise ValueError(
            "GumbelSoftmax expects logits of shape (batch, "
            f"{flat}) or (batch, {self.num_latents}, {self.num_categories}) "
            f"(num_latents={self.num_latents}, num_categories="
            f"{self.num_categories}). Received: input_shape={shape}"
        )

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
from keras_dvae.utils import checks, seed_state


@keras.saving.register_keras_serializable(package="keras_dvae")
class GumbelSoftmax(seed_state.SavesSeedState, keras.layers.Layer):
    """Samples `num_latents` categorical latents with K categories each.

    In training the layer draws y = softmax((logits + g)/τ) (with
    `straight_through=True`, its one-hot argmax with the relaxed gradient);
    otherwise a one-hot sample of Categorical(logits), the τ → 0 limit. τ
    is a non-trainable weight named "temperature" that schedules anneal.

    Args:
        num_latents: int ≥ 1.
        num_categories: int ≥ 2, K.
        temperature: float > 0, the initial τ.
        straight_through: bool (`distributions.StraightThrough`).
        seed: int or None.
        **kwargs: base `Layer` arguments.

    Call arguments:
        logits: (batch, num_latents * K), latent-major, or (batch,
            num_latents, K).
        training: bool; relaxed samples when true.
        discrete: optional bool overriding that choice.

    Returns:
        (batch, num_latents, K) points of the simplex (one-hot if discrete).

    Example:

    >>> import numpy as np
    >>> layer = GumbelSoftmax(num_latents=3, num_categories=4, seed=0)
    >>> logits = np.zeros((2, 12), "float32")
    >>> y = layer(logits, training=True)    # (2, 3, 4), relaxed
    >>> z = layer(logits, training=False)   # (2, 3, 4), one-hot
    >>> _ = layer.temperature_variable.assign(0.5)  # e.g. from a schedule

    References:
        Jang et al., "Categorical Reparameterization with Gumbel-Softmax",
        ICLR 2017; Maddison et al., "The Concrete Distribution", ICLR 2017.
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
        checks.check_dtype_policy(type(self).__name__, kwargs.get("dtype"))
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
        return units * self.num_categories

    def num_values(self, units):
        return units * self.num_categories

    def sample_codes(self, params, training=None, discrete=None):
        y = self(params, training=training, discrete=discrete)
        return ops.reshape(y, (-1, self.num_latents * self.num_categories))

    def mode_codes(self, params):
        blocks = ops.reshape(params, (-1, self.num_latents, self.num_categories))
        one_hot = ops.one_hot(
            ops.argmax(blocks, axis=-1), self.num_categories, dtype=blocks.dtype
        )
        return ops.reshape(one_hot, (-1, self.num_latents * self.num_categories))

    def posterior(self, params, samples, **kwargs):
        return CategoricalPosterior(
            params, samples, num_categories=self.num_categories, latent=self, **kwargs
        )

    def get_config(self):
        return {
            **super().get_config(),
            "num_latents": self.num_latents,
            "num_categories": self.num_categories,
            "temperature": self.temperature,
            "straight_through": self.straight_through,
            "seed": self.seed,
        }

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

"""The straight-through wrapper: hard samples with relaxed gradients."""

import keras
from keras import ops

from keras_dvae.distributions.base import Distribution


@keras.saving.register_keras_serializable(package="keras_dvae")
class StraightThrough(Distribution):
    """Wraps a relaxed distribution so `sample` is discrete in the forward pass.

    The sample is the hard value (one-hot argmax, or threshold at 1/2 for
    `event_ndims` 0) with the relaxed sample's (biased) gradient. Every
    other attribute is the wrapped distribution's: `log_prob` is the relaxed
    density, as in Jang et al.'s straight-through Gumbel-softmax.

    Mathematical details:

        y    = relaxed sample,  h = hard(y)
        out  = h + (y − stop_gradient(y))

    The bracket is exactly 0, so `out` equals `h` bit for bit.

    Args:
        distribution: the relaxed `Distribution` to wrap, `event_ndims` 0 or
            1, e.g. a `RelaxedOneHotCategorical`.

    Raises:
        ValueError: if `distribution` is not such a `Distribution`.

    Example:

    >>> import numpy as np
    >>> from keras_dvae.distributions import RelaxedOneHotCategorical
    >>> logits = np.zeros((2, 4, 8), "float32")
    >>> d = StraightThrough(RelaxedOneHotCategorical(0.5, logits))
    >>> h = d.sample(seed=0)               # exact one-hot, soft gradient

    References:
        Bengio, Léonard, Courville, "Estimating or Propagating Gradients
        Through Stochastic Neurons", 2013; Jang, Gu, Poole, ICLR 2017, §2.2.
    """

    def __init__(self, distribution):
        if not isinstance(distribution, Distribution) or isinstance(
            distribution, StraightThrough
        ):
            raise ValueError(
                "`distribution` must be a relaxed keras_dvae Distribution (not "
                f"already StraightThrough). Received: distribution={distribution!r}"
            )
        if distribution.event_ndims not in (0, 1):
            raise ValueError(
                "`distribution` must have event_ndims 0 or 1. Received: "
                f"distribution={distribution!r}"
            )
        self.distribution = distribution
        self.event_ndims = distribution.event_ndims

    def __getattr__(self, name):
        # Only reached for attributes not found on the wrapper itself.
        if name == "distribution":
            raise AttributeError(name)
        return getattr(self.distribution, name)

    def hard(self, soft):
        """The discrete value of a relaxed sample, without gradient."""
        if self.event_ndims == 1:
            return ops.one_hot(
                ops.argmax(soft, axis=-1), ops.shape(soft)[-1], dtype=soft.dtype
            )
        return ops.cast(soft > 0.5, soft.dtype)

    def sample(self, seed=None, sample_shape=()):
        """Hard sample with the relaxed sample's gradient; see `Distribution.sample`."""
        soft = self.distribution.sample(seed=seed, sample_shape=sample_shape)
        hard = ops.stop_gradient(self.hard(soft))
        # Brackets matter: hard + soft − soft need not round back to hard.
        return hard + (soft - ops.stop_gradient(soft))

    def log_prob(self, value):
        """See `Distribution.log_prob` (the wrapped distribution's)."""
        return self.distribution.log_prob(value)

    def entropy(self):
        """See `Distribution.entropy` (of the wrapped distribution)."""
        return self.distribution.entropy()

    def mean(self):
        """See `Distribution.mean` (of the wrapped distribution)."""
        return self.distribution.mean()

    def mode(self):
        """See `Distribution.mode` (of the wrapped distribution)."""
        return self.distribution.mode()

    def _shape_source(self):
        return self.distribution._shape_source()

    def get_config(self):
        return {"distribution": keras.saving.serialize_keras_object(self.distribution)}

    @classmethod
    def from_config(cls, config):
        distribution = config["distribution"]
        if isinstance(distribution, dict):
            distribution = keras.saving.deserialize_keras_object(distribution)
        return cls(distribution)

    def __repr__(self):
        return f"StraightThrough({self.distribution!r})"

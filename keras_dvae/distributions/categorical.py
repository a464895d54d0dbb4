"""Factorial categorical (one-hot) and Bernoulli latents."""

import keras
from keras import ops

from keras_dvae.distributions.base import (
    CategoricalLogits,
    Distribution,
    float_parameter,
)
from keras_dvae.utils.numerics import log_sigmoid, to_float


@keras.saving.register_keras_serializable(package="keras_dvae")
class Categorical(CategoricalLogits):
    """Independent K-way categorical latents, as one-hot vectors.

    Mathematical details:

        p_k       = softmax(logits)_k
        log p(z)  = Σ_k z_k log p_k           (z one-hot; log_softmax used)
        H         = −Σ_k p_k log p_k
        sample    = one_hot(argmax_k(logits_k + g_k)),  g_k ~ Gumbel(0, 1)

    The sample is the argmax of a `RelaxedOneHotCategorical` sample with the
    same noise. `log_prob` accepts any vector on the simplex (soft targets
    give the cross-entropy).

    Args:
        logits: float tensor `batch_shape + (K,)`, e.g. (batch, latents, K).

    Example:

    >>> import numpy as np
    >>> q = Categorical(np.zeros((2, 4, 8), "float32"))
    >>> z = q.sample(seed=0)                # (2, 4, 8) one-hot
    >>> log_q = q.log_prob(z)               # (2, 4): one value per latent

    References:
        Gumbel, "Statistical theory of extreme values", 1954 (Gumbel-max);
        Maddison, Tarlow, Minka, "A* Sampling", NeurIPS 2014.
    """

    @property
    def log_probs(self):
        """log_softmax(logits) along the last axis."""
        return ops.log_softmax(self.logits, axis=-1)

    def _sample(self, sample_shape, seed):
        return _one_hot_argmax(self._noisy_logits(sample_shape, seed))

    def _log_prob(self, value):
        return ops.sum(value * self.log_probs, axis=-1)

    def entropy(self):
        return -ops.sum(self.probs * self.log_probs, axis=-1)

    def mean(self):
        return self.probs

    def mode(self):
        return _one_hot_argmax(self.logits)

    def __repr__(self):
        return f"Categorical(batch_shape={self.batch_shape}, K={self.num_categories})"


@keras.saving.register_keras_serializable(package="keras_dvae")
class Bernoulli(Distribution):
    """Independent binary latents z ∈ {0, 1}, one per element of `logits`.

    Mathematical details:

        q        = σ(logits)
        log p(z) = z log σ(l) + (1 − z) log σ(−l)
        H        = −q log σ(l) − (1 − q) log σ(−l)
        sample   = 1[U < q],  U ~ U(0, 1)

    `log_prob` and `entropy` are elementwise (`event_ndims = 0`).

    Args:
        logits: float tensor of log-odds of z = 1, any shape.

    Raises:
        ValueError: if `logits` holds NaN or Inf.

    Example:

    >>> import numpy as np
    >>> q = Bernoulli(np.zeros((2, 4, 8), "float32"))
    >>> z = q.sample(seed=0)                # (2, 4, 8) of 0.0 / 1.0
    >>> log_q = q.log_prob(z)               # (2, 4, 8)
    """

    event_ndims = 0

    def __init__(self, logits):
        self.logits = float_parameter("logits", logits)

    @property
    def probs(self):
        """σ(logits)."""
        return ops.sigmoid(self.logits)

    def _sample(self, sample_shape, seed):
        shape = sample_shape + tuple(ops.shape(self.logits))
        u = keras.random.uniform(shape, dtype=self.logits.dtype, seed=seed)
        return ops.cast(u < self.probs, self.logits.dtype)

    def _log_prob(self, value):
        return value * log_sigmoid(self.logits) + (1.0 - value) * log_sigmoid(
            -self.logits
        )

    def entropy(self):
        return bernoulli_entropy(self.logits)

    def mean(self):
        return self.probs

    def mode(self):
        return ops.cast(self.logits > 0, self.logits.dtype)

    def __repr__(self):
        return f"Bernoulli(batch_shape={self.batch_shape})"


def _one_hot_argmax(x):
    """one_hot(argmax(x, -1)) in the dtype of `x`; ties go to the first index."""
    return ops.one_hot(ops.argmax(x, axis=-1), ops.shape(x)[-1], dtype=x.dtype)


def bernoulli_entropy(logits):
    """Elementwise entropy of Bernoulli(σ(logits)), in nats.

    Mathematical details:

        H = -q log q - (1 - q) log(1 - q),   q = σ(l)
          = σ(l) softplus(-l) + σ(-l) softplus(l),

    the second form finite for finite l and relatively precise as |l| → ∞.

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> h = ops.sum(bernoulli_entropy(np.zeros((2, 3), "float32")), axis=-1)
    >>> bool(np.allclose(ops.convert_to_numpy(h), 3 * np.log(2)))
    True
    """
    logits = to_float(logits)
    return ops.sigmoid(logits) * ops.softplus(-logits) + ops.sigmoid(
        -logits
    ) * ops.softplus(logits)

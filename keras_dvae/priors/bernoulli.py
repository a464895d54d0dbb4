"""Analytic quantities of factorial Bernoulli posteriors used by the priors' KLs."""

import keras
from keras import ops


def bernoulli_entropy(logits):
    """Elementwise entropy of Bernoulli(σ(logits)), in nats.

    Mathematical details:

        H = -q log q - (1 - q) log(1 - q),   q = σ(l)
          = σ(l) softplus(-l) + σ(-l) softplus(l),

    since log q = -softplus(-l), log(1 - q) = -softplus(l) and
    1 - q = σ(-l). The second form is finite for every finite l, tends to 0
    as |l| → ∞, and keeps its relative precision there (1 - q is not
    computed by subtraction).

    Args:
        logits: log-odds l of q(z=1), any shape.

    Returns:
        The entropies, with the shape of `logits`. Sum over the last axis for
        a factorial posterior.

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> h = ops.sum(bernoulli_entropy(np.zeros((2, 3), "float32")), axis=-1)
    >>> bool(np.allclose(ops.convert_to_numpy(h), 3 * np.log(2)))
    True
    """
    logits = ops.convert_to_tensor(logits)
    if "float" not in str(logits.dtype):
        logits = ops.cast(logits, keras.config.floatx())
    return ops.sigmoid(logits) * ops.softplus(-logits) + ops.sigmoid(
        -logits
    ) * ops.softplus(logits)

"""Analytic quantities of factorial Bernoulli posteriors used by the priors' KLs."""

import keras
from keras import ops


def bernoulli_entropy(logits):
    """Elementwise entropy of Bernoulli(σ(logits)), in nats.

        Mathematical details:

            H = -q log q - (1 - q) log(1 - q),   q = σ(l)
              = q softplus(-l) + (1 - q) softplus(l),

        since log q = -softplus(-l) and log(1 - q) = -softplus(l). The second
        form is finite for every finite l and tends to 0 as |l| → ∞.

        Args:
            logits: log-odds l of q(z=1), any shape.

        Returns:
            The entropies, with the shape of `logits`. Sum over the last axis for
            a factorial posterior.

        Example:

        >>> import numpy as np
        >>> import keras
    from keras import ops
        >>> h = ops.sum(bernoulli_entropy(np.zeros((2, 3), "float32")), axis=-1)
        >>> np.allclose(ops.convert_to_numpy(h), 3 * np.log(2))
        True
    """
    logits = ops.convert_to_tensor(logits)
    if "float" not in str(logits.dtype):
        logits = ops.cast(logits, keras.config.floatx())
    q = ops.sigmoid(logits)
    return q * ops.softplus(-logits) + (1.0 - q) * ops.softplus(logits)

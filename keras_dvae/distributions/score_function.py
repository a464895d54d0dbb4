"""The score-function (REINFORCE) gradient estimator, with NVIL baselines.

For z ~ q_φ(z|x) and a learning signal f (for a VAE, log p(x, z) − log q),

    ∇_φ E_q[f(z)] = E_q[f(z) ∇_φ log q_φ(z|x)] + E_q[∇_φ f(z)].

The first term needs no reparameterisation; (f − b) ∇ log q stays unbiased
for any baseline b independent of z. The second (pathwise) term is the
caller's. NVIL (Mnih & Gregor 2014, §3), all supported here:

    l = f − b(x)                 input-dependent baseline b(x), a network
    c ← running mean of l        `MovingAverageBaseline`
    v ← running variance of l − c
    A = (l − c) / max(1, √v)     centred, normalised signal
    φ-gradient: −A ∇_φ log q(z|x)
    b-gradient: from the squared error (f − c − b(x))²

In a model's `compute_loss` (`log_q` per latent, the rest per example):

    f = log_px_given_z + log_pz - log_q_sum        # the learning signal
    b = baseline_net(x)[:, 0]                       # optional b(x)
    c = self.moving_baseline(f - b, training=training)
    loss = ops.mean(-f + score_function_surrogate(
        log_q, f, baseline=c, learned_baseline=b,
        scale=self.moving_baseline.scale()))
"""

import math

import keras
import numpy as np
from keras import ops


def score_function_surrogate(
    log_prob, learning_signal, baseline=None, learned_baseline=None, scale=None
):
    """A surrogate loss whose gradient is the score-function estimate.

    With the pathwise loss −f it gives a stochastic gradient of −E_q[f]
    (the module docstring's φ- and b-gradients; f, c, s are constants).

    Mathematical details:

        A         = stop_gradient((f − c − b(x)) / s)
        surrogate = −A (log q − stop_gradient(log q)) + (f̄ − c − b(x))² / s

    The first term's value is 0, so the reported loss gains only the
    learned baseline's squared error.

    Args:
        log_prob: log q(z|x) of the samples, shape S + E; the axes beyond
            the rank of `learning_signal` are summed.
        learning_signal: f, shape S (e.g. (batch,)); gradient stopped.
        baseline: None or c, a float or tensor broadcastable to S that does
            not depend on z (e.g. `MovingAverageBaseline`'s); gradient stopped.
        learned_baseline: None or b(x), broadcastable to S, trained by the
            squared-error term.
        scale: None or s > 0 broadcastable to S, dividing the centred signal
            (e.g. `MovingAverageBaseline.scale()`).

    Returns:
        The surrogate, shape S; average it like the pathwise loss.

    Raises:
        ValueError: if `log_prob` has lower rank than `learning_signal`.

    Example:

    >>> import numpy as np
    >>> log_q = np.full((4, 2), np.log(1 / 3), "float32")  # per latent
    >>> f = np.arange(4.0, dtype="float32")  # e.g. log p(x, z) − log q
    >>> loss = score_function_surrogate(log_q, f, baseline=1.5)  # (4,) zeros

    References:
        Williams, "Simple statistical gradient-following algorithms", 1992;
        Mnih & Gregor, "Neural Variational Inference and Learning in Belief
        Networks", ICML 2014, §3 and Algorithm 1.
    """
    log_prob = ops.convert_to_tensor(log_prob)
    dtype = log_prob.dtype
    signal = ops.stop_gradient(ops.cast(learning_signal, dtype))
    rank = len(ops.shape(signal))
    extra = len(ops.shape(log_prob)) - rank
    if extra < 0:
        raise ValueError(
            "`log_prob` must have at least the rank of `learning_signal` (its "
            "extra trailing axes are summed). Received: "
            f"log_prob.shape={tuple(ops.shape(log_prob))}"
        )
    if extra > 0:
        log_prob = ops.sum(log_prob, axis=tuple(range(rank, rank + extra)))

    residual = signal
    if baseline is not None:
        residual = residual - ops.stop_gradient(ops.cast(baseline, dtype))
    if learned_baseline is not None:
        residual = residual - ops.cast(learned_baseline, dtype)
    if scale is None:
        scale = 1.0  # x / 1.0 == x exactly
    else:
        scale = ops.stop_gradient(ops.cast(scale, dtype))
    advantage = ops.stop_gradient(residual) / scale
    surrogate = -advantage * (log_prob - ops.stop_gradient(log_prob))
    if learned_baseline is not None:
        surrogate = surrogate + ops.square(residual) / scale
    return surrogate


@keras.saving.register_keras_serializable(package="keras_dvae")
class MovingAverageBaseline(keras.layers.Layer):
    """A running mean of the learning signal, used as a REINFORCE baseline.

    c ("moving_mean") and v ("moving_variance") are updated only when
    `training`; early updates average all signals seen, so c starts at the
    first batch's mean. The call returns c from *before* this batch's
    update, so the estimator stays unbiased.

    Mathematical details:

        w  = max(1 − decay, 1 / (n + 1)),   n = updates so far
        c ← c + w (mean(l) − c)
        v ← v + w (mean((l − c)²) − v)
        scale = max(1, √v)   if normalize_variance, else 1

    Args:
        decay: float in [0, 1), the EMA decay α (NVIL uses 0.8-0.9).
        normalize_variance: bool; whether `scale()` returns max(1, √v).
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        learning_signal: l (for NVIL, f − b(x)), any shape; statistics over
            all elements, gradient stopped.
        training: bool; whether to update the statistics.

    Returns:
        c broadcast to the shape of `learning_signal`, without gradient.

    Raises:
        ValueError: if `decay` is not in [0, 1) or `normalize_variance` is
            not a bool.

    Example:

    >>> import numpy as np
    >>> baseline = MovingAverageBaseline(decay=0.9)
    >>> f = np.array([1.0, 2.0, 3.0], "float32")
    >>> c = baseline(f, training=True)      # zeros: nothing seen yet
    >>> c = baseline(f, training=False)     # 2.0 everywhere

    References:
        Mnih & Gregor, "Neural Variational Inference and Learning in Belief
        Networks", ICML 2014, §3.3 and Algorithm 1.
    """

    def __init__(self, decay=0.9, normalize_variance=False, **kwargs):
        super().__init__(**kwargs)
        self.decay = _check_decay(decay)
        if not isinstance(normalize_variance, bool):
            raise ValueError(
                "`normalize_variance` must be a bool. Received: "
                f"normalize_variance={normalize_variance!r}"
            )
        self.normalize_variance = normalize_variance

    def build(self, input_shape=None):
        self.moving_mean = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="moving_mean"
        )
        self.moving_variance = self.add_weight(
            shape=(), initializer="ones", trainable=False, name="moving_variance"
        )
        self.count = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="count"
        )

    def call(self, learning_signal, training=None):
        signal = ops.stop_gradient(ops.convert_to_tensor(learning_signal))
        mean = ops.cast(self.moving_mean, signal.dtype)
        baseline = ops.zeros_like(signal) + mean
        if training:
            self._update(ops.cast(signal, self.moving_mean.dtype))
        return baseline

    def _update(self, signal):
        mean = ops.convert_to_tensor(self.moving_mean)
        variance = ops.convert_to_tensor(self.moving_variance)
        count = ops.convert_to_tensor(self.count)
        weight = ops.maximum(1.0 - self.decay, 1.0 / (count + 1.0))
        new_mean = mean + weight * (ops.mean(signal) - mean)
        deviation = ops.mean(ops.square(signal - new_mean))
        self.moving_mean.assign(new_mean)
        self.moving_variance.assign(variance + weight * (deviation - variance))
        self.count.assign(count + 1.0)

    def scale(self):
        """max(1, √v) with `normalize_variance`, else 1: divides the signal."""
        if not self.normalize_variance or not self.built:
            return ops.ones((), dtype=self.variable_dtype)
        return ops.maximum(ops.sqrt(self.moving_variance), 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {"decay": self.decay, "normalize_variance": self.normalize_variance}
        )
        return config


def _check_decay(decay):
    if (
        isinstance(decay, bool)
        or not isinstance(decay, (int, float, np.integer, np.floating))
        or not math.isfinite(decay)
        or not 0.0 <= decay < 1.0
    ):
        raise ValueError(
            f"`decay` must be a float in [0, 1). Received: decay={decay!r}"
        )
    return float(decay)

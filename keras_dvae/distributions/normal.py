"""Diagonal Gaussian helpers for the continuous latents of the models."""

import math

from keras import ops

# Log-variance range: e^±12 covers any scale a model needs and keeps e^{−v} finite.
LOG_VAR_RANGE = 12.0


def split_gaussian(params):
    """Splits the last axis in halves: (mean, log variance clipped to ±12)."""
    mean, log_var = ops.split(params, 2, axis=-1)
    return mean, ops.clip(log_var, -LOG_VAR_RANGE, LOG_VAR_RANGE)


def normal_log_prob(h, mean, log_var):
    """Σ log N(h; mean, e^{log_var}) over the last axis."""
    return -0.5 * ops.sum(
        math.log(2 * math.pi) + log_var + ops.square(h - mean) * ops.exp(-log_var),
        axis=-1,
    )


def normal_kl(q_mean, q_log_var, p_mean, p_log_var):
    """Σ KL(N(q_mean, e^{q_log_var}) ‖ N(p_mean, e^{p_log_var})), last axis."""
    return 0.5 * ops.sum(
        p_log_var
        - q_log_var
        + (ops.exp(q_log_var) + ops.square(q_mean - p_mean)) * ops.exp(-p_log_var)
        - 1.0,
        axis=-1,
    )

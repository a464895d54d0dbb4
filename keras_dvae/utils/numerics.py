"""Numerically careful elementwise math on `keras.ops`."""

from keras import ops

# Floors for logs and divisions. 1e-30 is a normal float32 number, so it is
# safe in float32 and float64 alike; any probability below it is far beneath
# float32's resolution of the quantities it feeds.
TINY = 1e-30


def log1mexp(x):
    """Computes log(1 - exp(-x)) for x > 0 without cancellation.

    Uses log(-expm1(-x)) for small x and log1p(-exp(-x)) for large x
    (Mächler 2012, "Accurately computing log(1 - exp(-|a|))").
    """
    x = ops.convert_to_tensor(x)
    safe_small = ops.minimum(x, 0.6931)
    safe_large = ops.maximum(x, 0.6931)
    return ops.where(
        x < 0.6931,
        ops.log(-ops.expm1(-safe_small)),
        ops.log1p(-ops.exp(-safe_large)),
    )


def log_sigmoid(x):
    """log σ(x), stable for large |x|."""
    return -ops.softplus(-x)


def safe_log(x):
    """log(max(x, TINY)): finite value and gradient for x >= 0."""
    return ops.log(ops.maximum(x, TINY))

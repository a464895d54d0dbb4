"""Numerically careful elementwise math on `keras.ops`, keeping the dtype.

(`ops.maximum(x, 1e-30)` and `ops.logaddexp` give float32 for float64 on
some backends.)
"""

import math

import keras
from keras import ops

# Floor for logs and divisions: a normal float32 number.
TINY = 1e-30


def log1mexp(x):
    """log(1 - exp(-x)) for x > 0 without cancellation (Mächler 2012)."""
    x = ops.convert_to_tensor(x)
    small = x < 0.6931
    safe_small = ops.where(small, x, 0.6931)
    safe_large = ops.where(small, 0.6931, x)
    return ops.where(
        small,
        ops.log(-ops.expm1(-safe_small)),
        ops.log1p(-ops.exp(-safe_large)),
    )


def log_sigmoid(x):
    """log σ(x), stable for large |x|."""
    return -ops.softplus(-x)


def floor(x, value):
    """max(x, value) in the dtype of `x` (NaN maps to `value`)."""
    return ops.where(x > value, x, ops.cast(value, x.dtype))


def to_float(x):
    """`x` as a tensor; a non-float one is cast to `keras.config.floatx()`."""
    x = ops.convert_to_tensor(x)
    if "float" not in str(ops.dtype(x)):
        x = ops.cast(x, keras.config.floatx())
    return x


def as_dtype(value, dtype):
    """A float or tensor as a `dtype` tensor (a float is not rounded via float32)."""
    if isinstance(value, float):
        return ops.convert_to_tensor(value, dtype=dtype)
    return ops.cast(value, dtype)


def logaddexp(a, b):
    """log(e^a + e^b), keeping dtype, exact at ±inf, NaN-free gradients."""
    high = ops.where(a > b, a, b)
    low = ops.where(a > b, b, a)
    # -inf - -inf and inf - inf are NaN: feed a harmless 0 there.
    finite = ops.isfinite(high)
    gap = ops.where(finite, low - ops.where(finite, high, 0.0), 0.0)
    return ops.where(finite, high + ops.log1p(ops.exp(gap)), high)


def flatten(t):
    """(n, ...) → (n, prod(...)) with a static width."""
    return ops.reshape(t, (-1, math.prod(t.shape[1:])))

"""Argument validation shared by every public class.

Value checks (finiteness, sign) run on host data only (Python, NumPy);
backend tensors pass unchecked, so no check runs inside a training step.
"""

import math
import sys

import keras
import numpy as np
from keras import ops


def concrete_value(x):
    """`x` as a NumPy array if it is host data, else None (no device copies)."""
    if isinstance(x, (int, float, np.number, np.ndarray, list, tuple)):
        return np.asarray(x)
    return None


def check_positive_finite(name, value):
    """Checks a hyperparameter is finite and > 0; returns a float, or a tensor as is."""
    if isinstance(value, bool):
        raise ValueError(
            f"`{name}` must be a finite number > 0. Received: {name}={value!r}"
        )
    if isinstance(value, (int, float, np.number)):
        value = float(value)
        if not math.isfinite(value) or value <= 0:
            raise ValueError(
                f"`{name}` must be a finite number > 0. Received: {name}={value}"
            )
        return value
    array = concrete_value(value)
    if array is not None and (
        array.dtype.kind not in "fiu"
        or not np.all(np.isfinite(array))
        or np.any(array <= 0)
    ):
        raise ValueError(f"`{name}` must be finite and > 0. Received: {name}={array}")
    return value


def check_positive_int(name, value, minimum=1):
    """Checks an integer argument is >= `minimum`; returns it as int."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}"
        )
    if value < minimum:
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}. Received: {name}={value}"
        )
    return int(value)


def check_num_groups(num_latents, num_groups):
    """Checks `num_groups` is an integer >= 1 dividing `num_latents`; returns it."""
    num_groups = check_positive_int("num_groups", num_groups)
    if num_latents % num_groups:
        raise ValueError(
            "`num_latents` must be a multiple of `num_groups`. Received: "
            f"num_latents={num_latents}, num_groups={num_groups}"
        )
    return num_groups


def check_finite(name, x):
    """Raises if a concrete `x` holds NaN or Inf; symbolic `x` passes."""
    array = concrete_value(x)
    if array is not None and array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        bad = array[~np.isfinite(array)]
        raise ValueError(
            f"`{name}` must be finite; found {bad.size} non-finite value(s) "
            f"(first: {bad.flat[0]}). Received: {name} with shape {array.shape}"
        )


def check_in_unit_interval(name, x):
    """Raises if a concrete `x` has values outside [0, 1] or NaN."""
    array = concrete_value(x)
    if array is not None and not np.all((array >= 0) & (array <= 1)):
        bad = array[~((array >= 0) & (array <= 1))]
        raise ValueError(
            f"`{name}` must lie in [0, 1]; found {bad.size} value(s) outside "
            f"(first: {bad.flat[0]}). Received: {name} with shape {array.shape}"
        )


def check_value(name, x, logits, unit_interval=False):
    """`x` in the dtype of `logits`, checked finite (in [0, 1]) and broadcastable."""
    check_finite(name, x)
    if unit_interval:
        check_in_unit_interval(name, x)
    x = ops.cast(ops.convert_to_tensor(x), logits.dtype)
    check_broadcastable(name, x, "logits", logits)
    return x


def check_broadcastable(name_a, a, name_b, b):
    """Raises if the static shapes of `a` and `b` cannot broadcast."""
    shape_a = tuple(ops.shape(a))
    shape_b = tuple(ops.shape(b))
    for dim_a, dim_b in zip(reversed(shape_a), reversed(shape_b), strict=False):
        # Only static sizes: in a TF graph `ops.shape` gives tensors (or None)
        # for dimensions known at run time only.
        if not isinstance(dim_a, int) or not isinstance(dim_b, int):
            continue
        if dim_a != dim_b and dim_a != 1 and dim_b != 1:
            raise ValueError(
                f"`{name_a}` and `{name_b}` must have broadcastable shapes. "
                f"Received: {name_a}.shape={shape_a}, {name_b}.shape={shape_b}"
            )


#: Compute or variable dtypes that keras_dvae refuses (`check_dtype_policy`).
LOW_PRECISION_DTYPES = ("float16", "bfloat16")


def check_dtype_policy(owner, dtype=None):
    """Refuses a float16 or bfloat16 dtype policy for the layer or model `owner`.

    keras_dvae computes in float32 (or float64): in half precision the
    bisection inverse CDFs get NaN gradients (the spike-and-exponential's),
    means at small β come out wrong and TensorFlow crashes, so a
    `"mixed_float16"`, `"float16"`, `"bfloat16"` or `"mixed_bfloat16"`
    policy is refused at construction rather than left to fail in training.

    Args:
        owner: the class name to name in the message.
        dtype: the `dtype` argument (a name, `keras.DTypePolicy` or its
            config), or None for the global policy
            (`keras.config.set_dtype_policy`).

    Raises:
        ValueError: the policy computes or stores variables in float16 or
            bfloat16; it names the policy and says to use "float32".
    """
    policy = keras.dtype_policies.get(dtype)
    if not (
        policy.compute_dtype in LOW_PRECISION_DTYPES
        or policy.variable_dtype in LOW_PRECISION_DTYPES
    ):
        return
    if dtype is None:
        source = (
            f"the global dtype policy is {policy.name!r} "
            "(keras.config.set_dtype_policy)"
        )
        fix = 'keras.config.set_dtype_policy("float32")'
        received = f"dtype_policy={policy.name!r}"
    else:
        source = f"`dtype` is {policy.name!r}"
        fix = 'dtype="float32"'
        received = f"dtype={policy.name!r}"
    raise ValueError(
        f"{owner} supports float32 (and float64) only, but {source}: in float16 "
        "or bfloat16 the smoothing's inverse CDFs and log-densities lose their "
        f'precision (NaN gradients, wrong means). Use "float32": {fix}. '
        f"Received: {received}"
    )


def verbosity(verbose):
    """`verbose` as 0 or 1: "auto" is 1 when stdout is a terminal (interactive
    use shows the progress of long work; logs and pipes stay quiet).

    Example:

    >>> verbosity(0), verbosity(1)
    (0, 1)
    """
    if verbose == "auto":
        isatty = getattr(sys.stdout, "isatty", None)
        return int(bool(isatty and isatty()))
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(
            f"`verbose` must be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}"
        )
    return int(verbose)

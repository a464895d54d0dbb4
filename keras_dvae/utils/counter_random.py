"""Counter-based uniform draws: a keyed integer hash of each element's index.

Block-Gibbs sweeps draw one uniform per unit and chain; with Keras's
generators (threefry on JAX) those draws cost about twice the sweep's
matmuls on a CPU. Here each call takes two 31-bit keys from the layer's
`keras.random.SeedGenerator` (one small draw), and the element with flat
index i gets

    x_i = mix(mix(i + k0) XOR k1),   u_i = (top 24 bits of x_i + ½) / 2²⁴,

where `mix` is the "lowbias32" integer hash (two xor-shift-multiply
rounds: Wellons, "Hash function prospector", 2018; the constants are
its published lowbias32). Everything is int32 arithmetic in `keras.ops`
(the multiplications wrap modulo 2³², the right shifts are made logical
by masks), so it runs on every backend, fused into one elementwise loop
by XLA. A call's draws are a deterministic function of the generator's
state, like Keras's own, so a seed reproduces a chain.

It is a statistical generator, not a cryptographic one: tests compare the
Gibbs chains it drives with exact enumeration, and its draws' moments,
serial correlation and pairwise bins with their uniform values.
"""

import math

import keras
import numpy as np
from keras import ops

_MASK_16 = 0xFFFF
_MASK_17 = 0x1FFFF
_MASK_24 = 0xFFFFFF
# lowbias32's multipliers, as the int32 values of their 32-bit patterns.
_MULTIPLIERS = tuple(int(np.uint32(m).view(np.int32)) for m in (0x7FEB352D, 0x846CA68B))


def _mix(x):
    """lowbias32 of int32 `x` (bit patterns as unsigned, wrapping products)."""
    x = ops.bitwise_xor(x, ops.bitwise_and(ops.right_shift(x, 16), _MASK_16))
    x = ops.multiply(x, ops.convert_to_tensor(_MULTIPLIERS[0], "int32"))
    x = ops.bitwise_xor(x, ops.bitwise_and(ops.right_shift(x, 15), _MASK_17))
    x = ops.multiply(x, ops.convert_to_tensor(_MULTIPLIERS[1], "int32"))
    return ops.bitwise_xor(x, ops.bitwise_and(ops.right_shift(x, 16), _MASK_16))


def uniform(shape, seed, dtype="float32"):
    """Uniform draws in (0, 1) of static `shape`, from a keyed hash.

    Args:
        shape: a tuple of Python ints (at most 2³¹ elements).
        seed: a `keras.random.SeedGenerator`; one small draw advances it.
        dtype: a float dtype.

    Returns:
        A tensor of `shape`: multiples of 2⁻²⁴ offset by 2⁻²⁵, so that
        every value is inside (0, 1).

    Example:

    >>> import keras
    >>> u = uniform((2, 3), keras.random.SeedGenerator(0))
    >>> tuple(u.shape)
    (2, 3)
    """
    shape = tuple(int(s) for s in shape)
    size = math.prod(shape)
    if size >= 2**31:
        raise ValueError(
            f"`shape` must have fewer than 2**31 elements. Received: shape={shape}"
        )
    keys = keras.random.randint((2,), 0, 2**31 - 1, dtype="int32", seed=seed)
    index = ops.reshape(ops.arange(size, dtype="int32"), shape)
    bits = _mix(ops.bitwise_xor(_mix(index + keys[0]), keys[1]))
    top = ops.bitwise_and(ops.right_shift(bits, 8), _MASK_24)
    return ops.cast(top, dtype) * (2.0**-24) + 2.0**-25

"""The counter-based uniforms: the hash against a NumPy uint32 reference,
and the draws' statistics against their uniform values."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_dvae.utils import counter_random
from tests.helpers import to_numpy


def lowbias32(x):
    """Wellons's lowbias32 on uint32 arrays (the reference, in NumPy)."""
    x = np.asarray(x, np.uint64) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    return x.astype(np.uint32)


def test_mix_is_lowbias32_on_all_bit_patterns():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2**32, size=4096, dtype=np.uint64).astype(np.uint32)
    x[:4] = [0, 1, 2**31, 2**32 - 1]  # zero, one, the sign bit, all ones
    out = to_numpy(counter_random._mix(ops.convert_to_tensor(x.view(np.int32))))
    np.testing.assert_array_equal(out.view(np.uint32), lowbias32(x))


def test_uniform_is_the_keyed_hash_of_the_index():
    seed = keras.random.SeedGenerator(7)
    keys = keras.random.randint(
        (2,), 0, 2**31 - 1, dtype="int32", seed=keras.random.SeedGenerator(7)
    )
    k0, k1 = (int(k) for k in to_numpy(keys))
    u = to_numpy(counter_random.uniform((3, 5), seed))
    index = np.arange(15, dtype=np.uint64)
    bits = lowbias32(lowbias32(index + k0) ^ np.uint32(k1))
    expected = ((bits >> 8) + 0.5) / 2.0**24
    np.testing.assert_allclose(u.ravel(), expected, rtol=0, atol=1e-7)


def test_uniform_statistics():
    shape = (400, 500)
    n = shape[0] * shape[1]
    seed = keras.random.SeedGenerator(3)
    u = to_numpy(counter_random.uniform(shape, seed))
    v = to_numpy(counter_random.uniform(shape, seed))  # the next call
    assert u.shape == shape and u.dtype == np.float32
    assert 0.0 < u.min() and u.max() < 1.0
    # Mean and variance to 5 standard errors: var(u) = 1/12 and
    # var((u - ½)²) = 1/80 - 1/144 = 1/180.
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    assert abs(((u - 0.5) ** 2).mean() - 1 / 12) < 5 * np.sqrt(1 / 180 / n)
    flat = u.ravel()
    pairs = {
        "neighbours": (flat[:-1], flat[1:]),
        "rows apart": (u[:-1].ravel(), u[1:].ravel()),
        "successive calls": (flat, v.ravel()),
    }
    for name, (a, b) in pairs.items():
        corr = np.corrcoef(a, b)[0, 1]
        assert abs(corr) < 5 / np.sqrt(len(a)), name
        # 10 × 10 joint bins: χ² with 99 degrees of freedom (99 ± 14).
        counts = np.histogram2d(a, b, bins=10, range=[[0, 1], [0, 1]])[0]
        expected = len(a) / 100
        chi2 = ((counts - expected) ** 2 / expected).sum()
        assert chi2 < 99 + 5 * np.sqrt(2 * 99), (name, chi2)
    assert not np.array_equal(u, v)


def test_same_seed_same_draws():
    draws = [
        to_numpy(counter_random.uniform((4, 6), keras.random.SeedGenerator(11)))
        for _ in range(2)
    ]
    np.testing.assert_array_equal(*draws)
    other = to_numpy(counter_random.uniform((4, 6), keras.random.SeedGenerator(12)))
    assert not np.array_equal(draws[0], other)


def test_uniform_in_float64():
    u = to_numpy(counter_random.uniform((8,), keras.random.SeedGenerator(0), "float64"))
    # JAX without x64 gives float32; the values are 24-bit either way.
    float64 = keras.backend.standardize_dtype(ops.ones((), "float64").dtype)
    assert u.dtype == np.dtype(float64)
    np.testing.assert_array_equal(u * 2**24 - 0.5, np.round(u * 2**24 - 0.5))


def test_bad_shape():
    with pytest.raises(ValueError, match="shape"):
        counter_random.uniform((2**16, 2**15), keras.random.SeedGenerator(0))

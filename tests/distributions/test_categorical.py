"""Categorical and Bernoulli latents, and the Gumbel noise, against NumPy/SciPy."""

import keras
import numpy as np
import pytest
from scipy import special, stats

from keras_dvae.distributions import Bernoulli, Categorical, sample_gumbel
from tests.helpers import BACKEND, grad, to_numpy

WIDE = "float32" if BACKEND == "jax" else "float64"
RTOL = 1e-5 if WIDE == "float32" else 1e-12
# Shapes are shared across the test files: JAX compiles its sampler per shape.
LOGITS = np.array([[1.0, 0.0, -1.0, 2.0, 0.5], [-3.0, 0.0, 3.0, 0.0, -3.0]], "float32")


def test_gumbel_noise_is_standard_gumbel():
    g = to_numpy(sample_gumbel((20000, 5), seed=3)).ravel()
    assert np.all(np.isfinite(g))
    assert stats.kstest(g, stats.gumbel_r.cdf).pvalue > 1e-3
    assert to_numpy(sample_gumbel((2, 3), dtype=WIDE, seed=1)).dtype == WIDE


def test_categorical_sample_frequencies():
    n = 20000
    z = to_numpy(
        Categorical(LOGITS).sample(seed=keras.random.SeedGenerator(7), sample_shape=n)
    )
    assert z.shape == (n, 2, 5)
    np.testing.assert_array_equal(z.sum(-1), 1.0)
    assert set(np.unique(z)) == {0.0, 1.0}
    probs = special.softmax(LOGITS.astype(np.float64), axis=-1)
    for latent in range(2):
        counts = z[:, latent].sum(0)
        # Fixed seed; a correct sampler fails this with probability 1e-3.
        assert stats.chisquare(counts, n * probs[latent]).pvalue > 1e-3


def test_categorical_against_numpy():
    logits = np.random.default_rng(0).normal(0.0, 3.0, size=(3, 4, 6)).astype(WIDE)
    q = Categorical(logits)
    log_p = special.log_softmax(logits.astype(np.float64), axis=-1)
    p = np.exp(log_p)
    index = np.random.default_rng(1).integers(0, 6, size=(3, 4))
    one_hot = np.eye(6, dtype=WIDE)[index]
    np.testing.assert_allclose(
        to_numpy(q.log_prob(one_hot)),
        np.take_along_axis(log_p, index[..., None], -1)[..., 0],
        rtol=RTOL,
    )
    np.testing.assert_allclose(to_numpy(q.probs), p, rtol=RTOL)
    np.testing.assert_allclose(to_numpy(q.mean()), p, rtol=RTOL)
    np.testing.assert_allclose(to_numpy(q.entropy()), -(p * log_p).sum(-1), rtol=RTOL)
    np.testing.assert_array_equal(to_numpy(q.mode()), np.eye(6)[logits.argmax(-1)])
    # Soft values give the cross-entropy.
    np.testing.assert_allclose(
        to_numpy(q.log_prob(p)), (p * log_p).sum(-1), rtol=RTOL, atol=RTOL
    )
    assert q.batch_shape == (3, 4)
    assert q.event_shape == (6,)
    # The uniform prior.
    uniform = Categorical(np.zeros((4, 6), WIDE))
    np.testing.assert_allclose(
        to_numpy(uniform.log_prob(one_hot)), -np.log(6.0), rtol=RTOL
    )
    np.testing.assert_allclose(to_numpy(uniform.entropy()), np.log(6.0), rtol=RTOL)


def test_bernoulli_against_numpy():
    logits = np.array([-4.0, -1.0, 0.0, 0.5, 3.0], WIDE)
    q = Bernoulli(logits)
    p = special.expit(logits.astype(np.float64))
    n = 20000
    z = to_numpy(q.sample(seed=keras.random.SeedGenerator(2), sample_shape=n))
    assert set(np.unique(z)) <= {0.0, 1.0}
    # Binomial counts within 4.5 standard deviations (fixed seed).
    z_score = (z.sum(0) - n * p) / np.sqrt(n * p * (1 - p))
    assert np.all(np.abs(z_score) < 4.5)
    for value in (0.0, 1.0):
        expected = value * np.log(p) + (1 - value) * np.log1p(-p)
        np.testing.assert_allclose(
            to_numpy(q.log_prob(np.full(5, value, WIDE))), expected, rtol=RTOL
        )
    entropy = -(p * np.log(p) + (1 - p) * np.log1p(-p))
    np.testing.assert_allclose(to_numpy(q.entropy()), entropy, rtol=RTOL)
    np.testing.assert_allclose(to_numpy(q.probs), p, rtol=RTOL)
    np.testing.assert_array_equal(to_numpy(q.mode()), (logits > 0).astype(WIDE))


def test_extreme_logits_stay_finite():
    logits = np.random.default_rng(3).uniform(-50, 50, size=(6, 4, 5)).astype("float32")
    logits[0, 0] = [50.0] + [-50.0] * 4
    one_hot = to_numpy(Categorical(logits).sample(seed=1))
    bits = to_numpy(Bernoulli(logits).sample(seed=1))

    def categorical_terms(x):
        q = Categorical(x)
        return q.log_prob(one_hot) + q.entropy()

    def bernoulli_terms(x):
        q = Bernoulli(x)
        return q.log_prob(bits) + q.entropy()

    for fn in (categorical_terms, bernoulli_terms):
        assert np.all(np.isfinite(to_numpy(fn(logits))))
        assert np.all(np.isfinite(grad(fn, logits)))
    assert to_numpy(Bernoulli(np.float32(50.0)).entropy()) >= 0


def test_config_round_trip_and_bad_arguments():
    for cls in (Categorical, Bernoulli):
        d = cls(np.array([[0.5, -1.0]], "float32"))
        restored = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(d)
        )
        assert isinstance(restored, cls)
        assert restored.get_config() == d.get_config()
        with pytest.raises(ValueError, match="Received: logits"):
            cls(np.array([0.0, np.inf], "float32"))
        with pytest.raises(ValueError, match="Received: sample_shape="):
            d.sample(seed=0, sample_shape="big")
    with pytest.raises(ValueError, match="Received: logits.shape="):
        Categorical(np.float32(1.0))
    with pytest.raises(ValueError, match="Received: value"):
        Categorical(np.zeros((2, 3), "float32")).log_prob(np.zeros((2, 4), "float32"))
    with pytest.raises(NotImplementedError, match="Categorical"):
        Categorical(np.zeros(3, "float32")).cdf(0.5)

"""The KL registry and the analytic KLs, against enumeration and Monte Carlo."""

import itertools

import keras
import numpy as np
import pytest
from scipy import special

from keras_dvae.distributions import (
    Bernoulli,
    Categorical,
    RelaxedOneHotCategorical,
    kl_divergence,
    register_kl,
)
from tests.helpers import BACKEND, grad, to_numpy

WIDE = "float32" if BACKEND == "jax" else "float64"
RTOL = 1e-5 if WIDE == "float32" else 1e-10


def test_categorical_kl_equals_joint_enumeration():
    # KL between factorial distributions over 3 latents × 3 categories, by
    # summing q(z) log q(z)/p(z) over all 27 joint configurations.
    rng = np.random.default_rng(0)
    q_logits = rng.normal(0.0, 2.0, size=(2, 3, 3)).astype(WIDE)
    p_logits = rng.normal(0.0, 2.0, size=(3, 3)).astype(WIDE)
    kl = to_numpy(kl_divergence(Categorical(q_logits), Categorical(p_logits)))
    assert kl.shape == (2, 3)  # per latent: the models sum
    log_q = special.log_softmax(q_logits.astype(np.float64), -1)
    log_p = special.log_softmax(p_logits.astype(np.float64), -1)
    for b in range(2):
        joint = 0.0
        for z in itertools.product(range(3), repeat=3):
            lq = sum(log_q[b, i, z[i]] for i in range(3))
            lp = sum(log_p[i, z[i]] for i in range(3))
            joint += np.exp(lq) * (lq - lp)
        np.testing.assert_allclose(kl[b].sum(), joint, rtol=RTOL)


def test_categorical_kl_to_uniform():
    logits = np.random.default_rng(1).normal(0.0, 3.0, size=(6, 4, 5)).astype(WIDE)
    kl = to_numpy(kl_divergence(Categorical(logits), Categorical(np.zeros(5, WIDE))))
    q = special.softmax(logits.astype(np.float64), -1)
    np.testing.assert_allclose(kl, (q * np.log(q)).sum(-1) + np.log(5), rtol=RTOL)
    assert np.all(kl >= 0)
    same = to_numpy(kl_divergence(Categorical(logits), Categorical(logits + 7.0)))
    np.testing.assert_allclose(same, 0.0, atol=10 * RTOL)


def test_categorical_kl_matches_monte_carlo():
    rng = np.random.default_rng(2)
    q = Categorical(rng.normal(size=(2, 5)).astype("float32"))
    p = Categorical(rng.normal(size=(2, 5)).astype("float32"))
    z = q.sample(seed=keras.random.SeedGenerator(4), sample_shape=20000)
    log_ratio = to_numpy(q.log_prob(z)) - to_numpy(p.log_prob(z))  # (n, 2)
    error = log_ratio.std(0) / np.sqrt(len(log_ratio))
    # Fixed seed; 4.5 standard errors.
    assert np.all(
        np.abs(log_ratio.mean(0) - to_numpy(kl_divergence(q, p))) < 4.5 * error
    )


def test_bernoulli_kl_against_enumeration_and_monte_carlo():
    rng = np.random.default_rng(3)
    lq = rng.normal(0.0, 2.0, size=5).astype(WIDE)
    lp = rng.normal(0.0, 2.0, size=5).astype(WIDE)
    q, p = Bernoulli(lq), Bernoulli(lp)
    kl = to_numpy(kl_divergence(q, p))
    assert kl.shape == (5,)
    a = special.expit(lq.astype(np.float64))
    b = special.expit(lp.astype(np.float64))
    np.testing.assert_allclose(
        kl, a * np.log(a / b) + (1 - a) * np.log((1 - a) / (1 - b)), rtol=1e-6
    )
    z = q.sample(seed=keras.random.SeedGenerator(5), sample_shape=20000)
    log_ratio = to_numpy(q.log_prob(z)) - to_numpy(p.log_prob(z))
    error = log_ratio.std(0) / np.sqrt(len(log_ratio))
    assert np.all(np.abs(log_ratio.mean(0) - kl) < 4.5 * error + 1e-6)
    # Against a uniform prior: log 2 − H(q).
    uniform = to_numpy(kl_divergence(q, Bernoulli(np.zeros(5, WIDE))))
    np.testing.assert_allclose(uniform, np.log(2) - to_numpy(q.entropy()), rtol=1e-6)


def test_extreme_logits_stay_finite():
    logits = np.random.default_rng(4).uniform(-50, 50, size=(6, 4, 5)).astype("float32")
    logits[0, 0] = [50.0] + [-50.0] * 4

    def categorical(x):
        return kl_divergence(Categorical(x), Categorical(np.zeros(5, "float32")))

    def bernoulli(x):
        return kl_divergence(Bernoulli(x), Bernoulli(np.full(5, 3.0, "float32")))

    for fn in (categorical, bernoulli):
        value = to_numpy(fn(logits))
        assert np.all(np.isfinite(value)) and np.all(value >= -1e-5)
        assert np.all(np.isfinite(grad(fn, logits)))
    # KL(one-hot-like q ‖ uniform) → log K.
    np.testing.assert_allclose(
        to_numpy(categorical(logits))[0, 0], np.log(5), rtol=1e-5
    )


def test_registry_lookup():
    class Sharper(Categorical):
        pass

    class Other(Categorical):
        pass

    logits = np.array([[2.0, 0.0, -1.0]], "float32")
    # A subclass is served by the base pair, found through the MRO.
    np.testing.assert_allclose(
        to_numpy(kl_divergence(Sharper(logits), Categorical(np.zeros(3, "float32")))),
        to_numpy(
            kl_divergence(Categorical(logits), Categorical(np.zeros(3, "float32")))
        ),
    )

    # A more specific registration takes precedence.
    @register_kl(Other, Categorical)
    def _kl_other(q, p):
        return keras.ops.zeros(q.batch_shape)

    assert np.all(to_numpy(kl_divergence(Other(logits), Categorical(logits))) == 0)
    with pytest.raises(ValueError, match="already registered"):
        register_kl(Other, Categorical)
    with pytest.raises(ValueError, match="Received: type_b="):
        register_kl(Other, "categorical")
    relaxed = RelaxedOneHotCategorical(0.5, logits)
    with pytest.raises(
        NotImplementedError, match="RelaxedOneHotCategorical.*Bernoulli"
    ):
        kl_divergence(relaxed, Bernoulli(np.zeros(3, "float32")))
    with pytest.raises(ValueError, match="broadcastable"):
        kl_divergence(Categorical(np.zeros((2, 3))), Categorical(np.zeros((4, 3))))

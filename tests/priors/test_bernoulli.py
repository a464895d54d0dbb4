"""bernoulli_entropy against the definition in float64."""

import numpy as np
from scipy.special import expit

from keras_dvae.priors import bernoulli_entropy
from tests.helpers import grad, to_numpy


def test_entropy_matches_definition():
    logits = np.linspace(-15, 15, 61).astype("float32")
    q = expit(logits.astype(np.float64))
    expected = -(q * np.log(q) + (1 - q) * np.log1p(-q))
    np.testing.assert_allclose(
        to_numpy(bernoulli_entropy(logits)), expected, rtol=1e-5, atol=1e-12
    )


def test_entropy_is_finite_at_extreme_logits():
    logits = np.array([-200.0, -90.0, 0.0, 90.0, 200.0], "float32")
    entropy = to_numpy(bernoulli_entropy(logits))
    assert np.all(np.isfinite(entropy)) and np.all(entropy >= 0)
    np.testing.assert_allclose(entropy[[0, 4]], 0.0, atol=1e-30)
    np.testing.assert_allclose(entropy[2], np.log(2), rtol=1e-6)
    gradient = grad(bernoulli_entropy, logits)
    assert np.all(np.isfinite(gradient))


def test_entropy_gradient():
    # dH/dl = -l σ(l)(1 - σ(l)).
    logits = np.linspace(-6, 6, 13).astype("float32")
    q = expit(logits.astype(np.float64))
    np.testing.assert_allclose(
        grad(bernoulli_entropy, logits), -logits * q * (1 - q), rtol=1e-4, atol=1e-6
    )


def test_integer_logits_are_cast():
    np.testing.assert_allclose(
        to_numpy(bernoulli_entropy(np.zeros(3, "int32"))), np.log(2)
    )

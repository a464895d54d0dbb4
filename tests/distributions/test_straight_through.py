"""StraightThrough: exact one-hot forward values, relaxed gradients."""

import keras
import numpy as np
import pytest

from keras_dvae.distributions import (
    Categorical,
    RelaxedOneHotCategorical,
    StraightThrough,
)
from tests.helpers import grad, to_numpy

LOGITS = np.random.default_rng(0).normal(0.0, 3.0, size=(6, 4, 5)).astype("float32")
WEIGHTS = np.random.default_rng(1).normal(size=(6, 4, 5)).astype("float32")


def test_forward_value_is_exactly_one_hot():
    for tau in (0.1, 1.0, 5.0):
        relaxed = RelaxedOneHotCategorical(tau, LOGITS)
        hard = to_numpy(StraightThrough(relaxed).sample(seed=3))
        soft = to_numpy(relaxed.sample(seed=3))
        # Bit-exact one-hot (not merely close), at the soft sample's argmax,
        # which is the Categorical sample drawn with the same noise.
        np.testing.assert_array_equal(hard, np.eye(5, dtype="float32")[soft.argmax(-1)])
        np.testing.assert_array_equal(
            hard, to_numpy(Categorical(LOGITS).sample(seed=3))
        )


def test_gradient_is_the_soft_samples_gradient():
    weights = keras.ops.convert_to_tensor(WEIGHTS)
    for tau in (0.3, 2.0):

        def through(x, tau=tau):
            return (
                StraightThrough(RelaxedOneHotCategorical(tau, x)).sample(seed=5)
                * weights
            )

        def soft(x, tau=tau):
            return RelaxedOneHotCategorical(tau, x).sample(seed=5) * weights

        g_through = grad(through, LOGITS)
        g_soft = grad(soft, LOGITS)
        assert np.all(np.isfinite(g_through))
        assert np.abs(g_soft).max() > 0
        np.testing.assert_allclose(g_through, g_soft, rtol=1e-6, atol=1e-8)


def test_extreme_logits_stay_finite():
    logits = np.random.default_rng(2).uniform(-50, 50, size=(6, 4, 5)).astype("float32")
    weights = keras.ops.convert_to_tensor(WEIGHTS)

    def through(x):
        return (
            StraightThrough(RelaxedOneHotCategorical(0.05, x)).sample(seed=1) * weights
        )

    sample = to_numpy(
        StraightThrough(RelaxedOneHotCategorical(0.05, logits)).sample(seed=1)
    )
    np.testing.assert_array_equal(sample.sum(-1), 1.0)
    assert np.all(np.isfinite(grad(through, logits)))


def test_delegates_to_the_relaxed_distribution():
    relaxed = RelaxedOneHotCategorical(0.5, LOGITS)
    through = StraightThrough(relaxed)
    y = to_numpy(relaxed.sample(seed=0))
    np.testing.assert_array_equal(
        to_numpy(through.log_prob(y)), to_numpy(relaxed.log_prob(y))
    )
    np.testing.assert_array_equal(to_numpy(through.probs), to_numpy(relaxed.probs))
    assert through.temperature == 0.5
    assert through.batch_shape == (6, 4)
    assert through.event_shape == (5,)
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(through)
    )
    assert isinstance(restored, StraightThrough)
    assert restored.get_config() == through.get_config()


def test_bad_distribution_raises():
    with pytest.raises(ValueError, match="Received: distribution="):
        StraightThrough("gumbel")
    with pytest.raises(ValueError, match="Received: distribution="):
        StraightThrough(StraightThrough(RelaxedOneHotCategorical(1.0, LOGITS)))

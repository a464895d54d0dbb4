"""The score-function estimator against exact gradients by enumeration."""

import itertools

import keras
import numpy as np
import pytest
from scipy import special

from keras_dvae.distributions import (
    Bernoulli,
    Categorical,
    MovingAverageBaseline,
    score_function_surrogate,
)
from tests.helpers import grad, to_numpy

N = 20000  # samples per estimate; each row of the logits gets its own sample
OFFSET = 10.0  # a large constant in f, which only a baseline removes


def categorical_problem():
    """Two latents with 5 categories and a table f(z) = T[z_1, z_2]."""
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(2, 5)).astype("float32")
    table = (OFFSET + rng.normal(size=(5, 5))).astype("float32")
    p1, p2 = special.softmax(theta.astype(np.float64), -1)
    t = table.astype(np.float64)
    expected = p1 @ t @ p2
    # ∂/∂θ_k Σ_i p_i m_i = p_k (m_k − Σ_i p_i m_i), with m the table
    # averaged over the other latent.
    exact = np.stack([p1 * (t @ p2 - expected), p2 * (t.T @ p1 - expected)])
    return theta, table, exact, expected


def per_sample_categorical_gradients(theta, table, baseline=None, seed=11):
    """The estimator's per-sample gradients w.r.t. θ, shape (N, 2, 5)."""
    table_t = keras.ops.convert_to_tensor(table)

    def surrogate(logits):
        q = Categorical(logits)
        z = q.sample(seed=seed)
        f = keras.ops.einsum("ni,ij,nj->n", z[:, 0], table_t, z[:, 1])
        return score_function_surrogate(q.log_prob(z), f, baseline=baseline)

    # Row n of the tiled logits receives only sample n's gradient.
    return grad(surrogate, np.broadcast_to(theta, (N,) + theta.shape).copy())


def assert_unbiased(per_sample, exact):
    # The surrogate is a loss: its gradient estimates −∇E[f].
    mean = per_sample.mean(0)
    error = per_sample.std(0) / np.sqrt(len(per_sample))
    # Fixed seed; 4.5 standard errors per component.
    np.testing.assert_array_less(np.abs(mean + exact), 4.5 * error + 1e-4)


def test_categorical_estimate_is_unbiased_and_baseline_reduces_variance():
    theta, table, exact, _ = categorical_problem()
    plain = per_sample_categorical_gradients(theta, table)
    assert_unbiased(plain, exact)
    # A running-mean baseline fitted on an independent batch of signals.
    z = to_numpy(Categorical(theta).sample(seed=12, sample_shape=N))
    signals = table[z[:, 0].argmax(-1), z[:, 1].argmax(-1)]
    moving = MovingAverageBaseline(decay=0.9)
    moving(signals, training=True)
    baseline = to_numpy(moving(signals, training=False))[0]
    assert abs(baseline - signals.mean()) < 1e-4
    centred = per_sample_categorical_gradients(theta, table, baseline=baseline)
    assert_unbiased(centred, exact)
    # Same samples (same seed), so the ratio is the baseline's effect alone:
    # E[(f − b)²] / E[f²] ≈ Var f / (Var f + E[f]²) ≈ 1/100 here.
    ratio = centred.var(0).sum() / plain.var(0).sum()
    assert ratio < 0.05, ratio


def test_bernoulli_estimate_is_unbiased():
    rng = np.random.default_rng(1)
    theta = rng.normal(size=5).astype("float32")
    weights = rng.normal(size=5).astype("float32")
    pairs = np.triu(rng.normal(size=(5, 5)), 1).astype("float32")

    def f_numpy(z):
        return OFFSET + z @ weights + np.einsum("...i,ij,...j->...", z, pairs, z)

    # Exact gradient by enumerating the 32 configurations:
    # ∂E/∂θ_k = q_k (1 − q_k) (E[f | z_k = 1] − E[f | z_k = 0]).
    q = special.expit(theta.astype(np.float64))
    configs = np.array(list(itertools.product([0.0, 1.0], repeat=5)))
    probs = np.prod(np.where(configs == 1, q, 1 - q), axis=-1)
    values = f_numpy(configs)
    exact = np.array(
        [
            q[k]
            * (1 - q[k])
            * (
                (probs * values)[configs[:, k] == 1].sum() / q[k]
                - (probs * values)[configs[:, k] == 0].sum() / (1 - q[k])
            )
            for k in range(5)
        ]
    )
    weights_t = keras.ops.convert_to_tensor(weights)
    pairs_t = keras.ops.convert_to_tensor(pairs)

    def surrogate(logits, baseline=None):
        d = Bernoulli(logits)
        z = d.sample(seed=21)
        f = OFFSET + keras.ops.sum(z * weights_t, -1)
        f = f + keras.ops.einsum("ni,ij,nj->n", z, pairs_t, z)
        # log_prob is per latent, (N, 5): the estimator sums it.
        return score_function_surrogate(d.log_prob(z), f, baseline=baseline)

    tiled = np.broadcast_to(theta, (N, 5)).copy()
    plain = grad(surrogate, tiled)
    assert_unbiased(plain, exact)
    centred = grad(lambda x: surrogate(x, baseline=float(values @ probs)), tiled)
    assert_unbiased(centred, exact)
    assert centred.var(0).sum() < 0.05 * plain.var(0).sum()


def test_surrogate_terms():
    rng = np.random.default_rng(2)
    log_q = rng.normal(size=8).astype("float32")
    f = rng.normal(3.0, 1.0, size=8).astype("float32")
    b = rng.normal(size=8).astype("float32")
    c, s = 2.5, 1.7
    residual = f - c - b
    value = to_numpy(score_function_surrogate(log_q, f, c, b, s))
    np.testing.assert_allclose(value, residual**2 / s, rtol=1e-5)
    # The REINFORCE term is zero-valued but carries −A ∇ log q.
    np.testing.assert_array_equal(to_numpy(score_function_surrogate(log_q, f, c)), 0.0)
    np.testing.assert_allclose(
        grad(lambda lq: score_function_surrogate(lq, f, c, b, s), log_q),
        -residual / s,
        rtol=1e-5,
    )
    # The learned baseline is fitted by the squared error only.
    np.testing.assert_allclose(
        grad(lambda bb: score_function_surrogate(log_q, f, c, bb, s), b),
        -2 * residual / s,
        rtol=1e-5,
    )
    # No gradient reaches the signal or the constant baseline (the `0 * x`
    # keeps the input connected, so that every backend returns a gradient).
    np.testing.assert_array_equal(
        grad(lambda ff: score_function_surrogate(log_q, ff, c, b, s) + 0 * ff, f), 0.0
    )
    c_vector = np.full(8, c, "float32")
    np.testing.assert_array_equal(
        grad(
            lambda cc: score_function_surrogate(log_q, f, cc, b, s) + 0 * cc, c_vector
        ),
        0.0,
    )
    with pytest.raises(ValueError, match="Received: log_prob.shape="):
        score_function_surrogate(log_q, np.zeros((8, 2), "float32"))


def test_moving_average_updates_only_in_training():
    layer = MovingAverageBaseline(decay=0.8, normalize_variance=True)
    rng = np.random.default_rng(3)
    mean, variance, count = 0.0, 1.0, 0
    for step in range(5):
        signal = rng.normal(5.0, 3.0, size=16).astype("float32")
        # Evaluation calls leave the statistics alone.
        for training in (False, None):
            np.testing.assert_allclose(
                to_numpy(layer(signal, training=training)), mean, rtol=1e-6
            )
        out = to_numpy(layer(signal, training=True))
        # The baseline returned is the one from before this batch.
        np.testing.assert_allclose(out, np.full(16, mean), rtol=1e-6)
        weight = max(1 - 0.8, 1 / (count + 1))
        mean = mean + weight * (signal.mean() - mean)
        variance = variance + weight * (np.mean((signal - mean) ** 2) - variance)
        count += 1
        np.testing.assert_allclose(to_numpy(layer.moving_mean), mean, rtol=1e-5)
        np.testing.assert_allclose(to_numpy(layer.moving_variance), variance, rtol=1e-5)
        assert to_numpy(layer.count) == count
        np.testing.assert_allclose(
            to_numpy(layer.scale()), max(1.0, np.sqrt(variance)), rtol=1e-5
        )
        if step == 0:
            np.testing.assert_allclose(mean, signal.mean(), rtol=1e-6)
    assert not layer.trainable_weights
    assert to_numpy(MovingAverageBaseline().scale()) == 1.0


def test_moving_average_config_and_bad_arguments():
    layer = MovingAverageBaseline(decay=0.95, normalize_variance=True, name="baseline")
    config = layer.get_config()
    assert config["decay"] == 0.95 and config["normalize_variance"] is True
    assert MovingAverageBaseline.from_config(config).get_config() == config
    for decay in (1.0, -0.1, float("nan"), "0.9", True):
        with pytest.raises(ValueError, match="Received: decay="):
            MovingAverageBaseline(decay=decay)
    with pytest.raises(ValueError, match="Received: normalize_variance="):
        MovingAverageBaseline(normalize_variance="yes")


def test_moving_average_survives_keras_save_and_load(tmp_path):
    inputs = keras.Input((1,))
    model = keras.Model(
        inputs, MovingAverageBaseline(decay=0.5, name="baseline")(inputs)
    )
    for value in (1.0, 4.0, 2.0):
        model(np.full((4, 1), value, "float32"), training=True)
    path = str(tmp_path / "baseline.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    before, after = model.get_layer("baseline"), loaded.get_layer("baseline")
    assert isinstance(after, MovingAverageBaseline)
    assert after.get_config() == before.get_config()
    for name in ("moving_mean", "moving_variance", "count"):
        np.testing.assert_allclose(
            to_numpy(getattr(after, name)), to_numpy(getattr(before, name))
        )
    np.testing.assert_allclose(to_numpy(after.moving_mean), 2.25)  # 1 → 2.5 → 2.25
    out = to_numpy(loaded(np.zeros((2, 1), "float32")))
    np.testing.assert_allclose(out, 2.25)


def test_moving_average_updates_inside_fit():
    # The compiled train step (jit on JAX and TensorFlow) carries the update.
    inputs = keras.Input((1,))
    baseline = MovingAverageBaseline(decay=0.9, name="baseline")
    outputs = keras.layers.Add()([keras.layers.Dense(1)(inputs), baseline(inputs)])
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    x = np.full((8, 1), 3.0, "float32")
    model.fit(x, np.zeros((8, 1), "float32"), batch_size=4, epochs=1, verbose=0)
    assert to_numpy(baseline.count) == 2
    np.testing.assert_allclose(to_numpy(baseline.moving_mean), 3.0, rtol=1e-6)
    model.predict(x, verbose=0)
    assert to_numpy(baseline.count) == 2

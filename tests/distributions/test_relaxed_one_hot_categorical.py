"""RelaxedOneHotCategorical against TFP, a NumPy density and quadrature."""

import keras
import numpy as np
import pytest
from scipy import integrate, special, stats

from keras_dvae import smoothing
from keras_dvae.distributions import Categorical, RelaxedOneHotCategorical
from tests.helpers import BACKEND, grad, to_numpy

# Keras on JAX computes in float32 unless x64 is enabled for the process.
WIDE = "float32" if BACKEND == "jax" else "float64"
RTOL = 2e-4 if WIDE == "float32" else 1e-9
TEMPERATURES = [0.1, 0.5, 1.0, 3.0]


def reference_log_density(y, logits, tau):
    """Jang et al. eq. 2 term by term in float64 (the product form)."""
    y = np.asarray(y, np.float64)
    k = y.shape[-1]
    pi = special.softmax(np.asarray(logits, np.float64), axis=-1)
    total = np.sum(pi * y ** (-tau), axis=-1)
    return (
        special.gammaln(k)
        + (k - 1) * np.log(tau)
        - k * np.log(total)
        + np.sum(np.log(pi * y ** (-tau - 1.0)), axis=-1)
    )


def interior_points(rng, shape, k):
    """Simplex points with no coordinate below 1e-3 (the reference's range)."""
    y = rng.dirichlet(np.ones(k), size=shape)
    y = 1e-3 + (1.0 - k * 1e-3) * y
    return y / y.sum(-1, keepdims=True)


# ---------------------------------------------------------------- density


@pytest.mark.tensorflow_only
def test_log_prob_matches_tfp():
    import tensorflow_probability as tfp

    rng = np.random.default_rng(0)
    for k in (2, 3, 7):
        for tau in TEMPERATURES:
            logits = rng.normal(0.0, 2.0, size=(4, 5, k))
            d = RelaxedOneHotCategorical(tau, logits)
            y = to_numpy(d.sample(seed=3))
            oracle = tfp.distributions.RelaxedOneHotCategorical(tau, logits=logits)
            np.testing.assert_allclose(
                to_numpy(d.log_prob(y)), oracle.log_prob(y).numpy(), rtol=1e-9
            )
            # ExpConcrete: the density of x = log y, which differs by Σ_k x_k.
            x = to_numpy(d.log_sample(seed=4))
            exp_oracle = tfp.distributions.ExpRelaxedOneHotCategorical(
                tau, logits=logits
            )
            np.testing.assert_allclose(
                to_numpy(d.log_prob_from_log(x)) + x.sum(-1),
                exp_oracle.log_prob(x).numpy(),
                rtol=1e-9,
            )


def test_log_prob_matches_numpy_reference():
    rng = np.random.default_rng(1)
    for k in (2, 3, 6):
        for tau in TEMPERATURES:
            logits = rng.normal(0.0, 2.0, size=(3, 4, k)).astype(WIDE)
            y = interior_points(rng, (3, 4), k).astype(WIDE)
            d = RelaxedOneHotCategorical(tau, logits)
            expected = reference_log_density(y, logits, tau)
            np.testing.assert_allclose(
                to_numpy(d.log_prob(y)), expected, rtol=RTOL, atol=10 * RTOL
            )
            np.testing.assert_allclose(
                to_numpy(d.log_prob_from_log(np.log(y))),
                expected,
                rtol=RTOL,
                atol=10 * RTOL,
            )


def test_two_categories_is_relaxed_bernoulli():
    # y = (1 − ζ, ζ): the density in y_1 is that of ζ (|dy_1/dζ| = 1) with
    # logits l_2 − l_1.
    logits = np.array([[0.7, -0.4], [-3.0, 2.0], [0.0, 0.0]], WIDE)
    zeta = np.broadcast_to(np.linspace(0.02, 0.98, 25, dtype=WIDE)[:, None], (25, 3))
    y = np.stack([1.0 - zeta, zeta], axis=-1)
    for tau in (0.3, 1.0, 2.5):
        ours = to_numpy(RelaxedOneHotCategorical(tau, logits).log_prob(y))
        binary = smoothing.RelaxedBernoulli(temperature=tau)
        theirs = to_numpy(binary.log_prob(zeta, logits[:, 1] - logits[:, 0]))
        # 1e-6: RelaxedBernoulli rounds τ to float32 before casting.
        np.testing.assert_allclose(ours, theirs, rtol=max(RTOL, 1e-6), atol=1e-5)


def test_density_integrates_to_one():
    # K = 2: over u = logit(y_2) ∈ ℝ, with Jacobian y_1 y_2; log y is passed
    # exactly so that the far tails are not rounded onto the vertices.
    for tau in (0.3, 2.5):
        d = RelaxedOneHotCategorical(tau, np.array([0.7, -0.4], WIDE))

        def integrand(u, d=d):
            log_y = np.array([-np.logaddexp(0.0, u), -np.logaddexp(0.0, -u)], WIDE)
            return float(np.exp(to_numpy(d.log_prob_from_log(log_y)) + log_y.sum()))

        total, error = integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-7)
        assert error < 1e-5
        assert abs(total - 1.0) < 1e-4
    # K = 3: y = softmax(a, b, 0) maps ℝ² onto the simplex with Jacobian
    # y_1 y_2 y_3; the integrand is smooth and decays like e^{−τ|a|}, so
    # Simpson's rule on [−40/τ, 40/τ]² converges fast.
    for tau in (0.5, 2.0):
        d = RelaxedOneHotCategorical(tau, np.array([0.5, -1.0, 0.2], WIDE))
        a = np.linspace(-40.0 / tau, 40.0 / tau, 801)
        aa, bb = np.meshgrid(a, a, indexing="ij")
        log_y = special.log_softmax(np.stack([aa, bb, np.zeros_like(aa)], -1), -1)
        log_p = to_numpy(d.log_prob_from_log(log_y.astype(WIDE)))
        density = np.exp(log_p + log_y.sum(-1))
        total = integrate.simpson(integrate.simpson(density, x=a, axis=1), x=a)
        assert abs(total - 1.0) < 1e-4


# ---------------------------------------------------------------- samples


def test_sample_shape_and_simplex():
    logits = np.random.default_rng(2).normal(size=(4, 5)).astype("float32")
    d = RelaxedOneHotCategorical(0.5, logits)
    y = to_numpy(d.sample(seed=0, sample_shape=(6,)))
    assert y.shape == (6, 4, 5)
    assert np.all(y >= 0)
    np.testing.assert_allclose(y.sum(-1), 1.0, atol=1e-5)
    assert d.batch_shape == (4,)
    assert d.event_shape == (5,)
    # exp(log_sample) is the sample for the same seed, with the same density.
    x = to_numpy(d.log_sample(seed=6, sample_shape=(6,)))
    y = to_numpy(d.sample(seed=6, sample_shape=(6,)))
    np.testing.assert_allclose(np.exp(x), y, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        to_numpy(d.log_prob_from_log(x)), to_numpy(d.log_prob(y)), rtol=1e-4
    )


def test_argmax_frequencies_match_softmax():
    # Gumbel-max: argmax y ~ Categorical(softmax(logits)) at every τ.
    logits = np.array([1.0, 0.0, -1.0, 2.0, 0.5], "float32")
    probs = special.softmax(logits.astype(np.float64))
    n = 20000
    for tau in (0.2, 2.0):
        d = RelaxedOneHotCategorical(tau, logits)
        y = to_numpy(d.sample(seed=keras.random.SeedGenerator(5), sample_shape=(n,)))
        counts = np.bincount(y.argmax(-1), minlength=5)
        # Fixed seed; a correct sampler fails this with probability 1e-3.
        assert stats.chisquare(counts, n * probs).pvalue > 1e-3
    # With the same noise, argmax y is exactly the Categorical sample.
    logits = np.random.default_rng(3).normal(size=(6, 4, 5)).astype("float32")
    soft = to_numpy(RelaxedOneHotCategorical(0.7, logits).sample(seed=9))
    hard = to_numpy(Categorical(logits).sample(seed=9))
    np.testing.assert_array_equal(np.eye(5)[soft.argmax(-1)], hard)


def test_two_category_marginal_ks():
    # y_2 is binary concrete: F(ζ) = σ(τ logit ζ − (l_2 − l_1)).
    logits = np.array([0.3, -0.8], "float32")
    shift = float(logits[1] - logits[0])
    for tau in (0.3, 1.5):
        d = RelaxedOneHotCategorical(tau, logits)
        y = to_numpy(d.sample(seed=2, sample_shape=10000)).astype(np.float64)
        zeta = np.clip(y[:, 1], 1e-300, 1 - 1e-16)

        def cdf(z, tau=tau):
            return special.expit(tau * special.logit(z) - shift)

        assert stats.kstest(zeta, cdf).pvalue > 1e-3


def test_reparameterised_gradient_matches_finite_differences():
    logits = np.random.default_rng(5).normal(size=(2, 4)).astype(WIDE)
    weights = np.random.default_rng(6).normal(size=(2, 4)).astype(WIDE)

    def objective(x):
        y = RelaxedOneHotCategorical(0.7, x).sample(seed=13)
        return keras.ops.sum(y * keras.ops.convert_to_tensor(weights), axis=-1)

    analytic = grad(objective, logits)
    eps = 1e-2 if WIDE == "float32" else 1e-6
    numeric = np.zeros_like(logits, dtype=np.float64)
    for index in np.ndindex(logits.shape):
        step = np.zeros_like(logits)
        step[index] = eps
        up = to_numpy(objective(logits + step)).sum()
        down = to_numpy(objective(logits - step)).sum()
        numeric[index] = (up - down) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-2, atol=1e-3)


def test_extreme_logits_stay_finite():
    rng = np.random.default_rng(7)
    logits = rng.uniform(-50, 50, size=(6, 4, 5)).astype("float32")
    logits[0, 0] = [50.0] + [-50.0] * 4
    weights = rng.normal(size=(6, 4, 5)).astype("float32")
    for tau in (0.05, 2.0):

        def sample_objective(x, tau=tau):
            y = RelaxedOneHotCategorical(tau, x).sample(seed=1)
            return y * keras.ops.convert_to_tensor(weights)

        def log_prob_objective(x, tau=tau):
            d = RelaxedOneHotCategorical(tau, x)
            return d.log_prob_from_log(keras.ops.stop_gradient(d.log_sample(seed=1)))

        d = RelaxedOneHotCategorical(tau, logits)
        y = to_numpy(d.sample(seed=1))
        assert np.all(np.isfinite(y))
        assert np.all(np.isfinite(to_numpy(d.log_prob(y))))
        assert np.all(np.isfinite(to_numpy(d.log_prob_from_log(d.log_sample(seed=1)))))
        assert np.all(np.isfinite(grad(sample_objective, logits)))
        assert np.all(np.isfinite(grad(log_prob_objective, logits)))


# ------------------------------------------------------ parameters, config


def test_temperature_may_be_a_variable_or_batched():
    logits = np.zeros((2, 3), "float32")
    tau = keras.Variable(0.4, trainable=False, name="temperature")
    y_var = to_numpy(RelaxedOneHotCategorical(tau, logits).sample(seed=4))
    y_float = to_numpy(RelaxedOneHotCategorical(0.4, logits).sample(seed=4))
    np.testing.assert_allclose(y_var, y_float, rtol=1e-6)
    # One τ per batch element broadcasts against the event axis.
    logits = np.random.default_rng(9).normal(size=(2, 3)).astype(WIDE)
    y = interior_points(np.random.default_rng(10), (2,), 3).astype(WIDE)
    taus = np.array([0.5, 2.0], WIDE)
    got = to_numpy(RelaxedOneHotCategorical(taus, logits).log_prob(y))
    for i, t in enumerate(taus):
        np.testing.assert_allclose(
            got[i], reference_log_density(y[i], logits[i], t), rtol=RTOL
        )


def test_config_round_trip_and_bad_arguments():
    d = RelaxedOneHotCategorical(0.25, np.array([[0.0, 1.0, -1.0]], "float32"))
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(d)
    )
    assert isinstance(restored, RelaxedOneHotCategorical)
    assert restored.get_config() == d.get_config()
    for tau in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="Received: temperature="):
            RelaxedOneHotCategorical(tau, np.zeros(3, "float32"))
    with pytest.raises(ValueError, match="Received: logits.shape="):
        RelaxedOneHotCategorical(1.0, np.float32(0.0))
    with pytest.raises(ValueError, match="Received: logits"):
        RelaxedOneHotCategorical(1.0, np.array([0.0, np.nan], "float32"))
    with pytest.raises(ValueError, match="Received: value"):
        d.log_prob(np.array([1.5, -0.25, -0.25], "float32"))
    with pytest.raises(NotImplementedError, match="RelaxedOneHotCategorical"):
        d.mode()

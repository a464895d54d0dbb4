"""log Z of an RBM: exact enumeration and AIS against brute force."""

import math

import keras
import numpy as np
import pytest
from keras import ops

from keras_dvae.priors import (
    AISEstimate,
    RBMPrior,
    check_schedule,
    default_schedule,
    exact_log_partition,
)
from keras_dvae.priors.rbm_log_partition import _softplus_step
from tests.helpers import to_numpy
from tests.priors import rbm_reference as ref

# ------------------------------------------------------------------ exact


def test_exact_log_partition_matches_brute_force():
    # Cases in one test, not a parametrisation: each test item pays for a
    # session clear (~0.4 s) in the shared conftest.
    for n1, n2 in [(1, 5), (6, 4), (10, 10), (8, 12), (12, 8), (1, 19)]:
        a1, a2, w = ref.random_rbm(n1, n2, seed=n1 * 100 + n2, scale=1.0)
        expected = ref.log_partition(a1, a2, w)
        # Small chunks exercise the running maximum across chunks.
        for chunk_size in (1 << 14, 7):
            log_z = exact_log_partition(a1, a2, w, chunk_size=chunk_size)
            assert log_z == pytest.approx(expected, rel=1e-6), (n1, n2, chunk_size)


def test_exact_log_partition_of_layer():
    a1, a2, w = ref.random_rbm(7, 9, seed=0, scale=1.5)
    prior = RBMPrior(7, 9, num_chains=1, seed=0)
    ref.set_parameters(prior, a1, a2, w)
    assert prior.exact_log_partition() == pytest.approx(
        ref.log_partition(a1, a2, w), rel=1e-6
    )
    # A fresh layer has zero parameters: Z = 2^(n1 + n2).
    assert RBMPrior(30, 5, num_chains=1).exact_log_partition() == pytest.approx(
        35 * math.log(2), rel=1e-12
    )


# --------------------------------------------------------------- schedule


def test_default_schedule_is_salakhutdinov_murray_at_full_length():
    schedule = default_schedule(14501)
    steps = np.diff(schedule)
    np.testing.assert_allclose(steps[:500], 1e-3, rtol=1e-6)
    np.testing.assert_allclose(steps[500:4500], 1e-4, rtol=1e-6)
    np.testing.assert_allclose(steps[4500:], 1e-5, rtol=1e-6)


def test_default_schedule_increases_from_zero_to_one():
    for num_betas in [2, 3, 100, 1001]:
        schedule = default_schedule(num_betas)
        assert schedule.shape == (num_betas,)
        assert schedule[0] == 0.0 and schedule[-1] == 1.0
        assert np.all(np.diff(schedule) > 0)
        check_schedule(schedule)


def test_bad_schedule():
    bad = [[0.0], [0.0, 0.5], [0.1, 1.0], [0.0, 0.5, 0.5, 1.0], [0.0, 1.2, 1.0]]
    for schedule in bad + [[[0.0, 1.0]]]:
        with pytest.raises(ValueError, match=r"schedule=None.*Received: schedule=\S"):
            check_schedule(schedule)


# -------------------------------------------------------------------- AIS


def _trained_prior(n1, n2, seed, sweeps=100):
    a1, a2, w = ref.trained_like_rbm(n1, n2, seed)
    prior = RBMPrior(n1, n2, num_chains=500, seed=seed)
    ref.set_parameters(prior, a1, a2, w)
    prior.update_chains(sweeps)  # the bias-only base is fitted to these
    return prior, prior.exact_log_partition()


def test_ais_matches_exact_on_trained_like_rbm():
    prior, exact = _trained_prior(12, 12, seed=0)
    estimate = prior.ais_log_partition(num_betas=1000, num_chains=300, seed=0)
    assert isinstance(estimate, AISEstimate)
    assert estimate.log_weights.shape == (300,)
    assert abs(estimate.log_z - exact) < 0.05
    assert estimate.log_z_lower <= exact <= estimate.log_z_upper
    assert 1 <= estimate.effective_sample_size <= 300


def test_ais_bookkeeping_on_independent_units():
    # All parameters zero: every p_β is uniform, every log-weight is 0 and
    # log Z = log Z_base = (n1 + n2) log 2.
    prior = RBMPrior(5, 7, num_chains=1, seed=0)
    # (The same shapes as below: on JAX one compiled loop serves both.)
    estimate = prior.ais_log_partition(num_betas=500, num_chains=1000, base="uniform")
    np.testing.assert_array_equal(estimate.log_weights, 0.0)
    assert estimate.log_z == pytest.approx(12 * math.log(2), rel=1e-12)
    assert estimate.log_z_lower == estimate.log_z_upper == estimate.log_z
    # W = 0: each sweep samples p_β exactly; the log-weights' variance is
    # Σ_k Δβ_k² Var(aᵀz) ≈ 0.03 with 500 temperatures here, so the
    # estimate's standard error is ≈ 0.17 / √1000 ≈ 0.006.
    a1, a2 = np.linspace(-2, 2, 5), np.linspace(1, -1, 7)
    ref.set_parameters(prior, a1, a2, np.zeros((5, 7)))
    estimate = prior.ais_log_partition(
        num_betas=500, num_chains=1000, base="uniform", seed=3
    )
    exact = prior.exact_log_partition()
    assert estimate.log_z == pytest.approx(exact, abs=0.03)
    assert estimate.log_z_lower <= exact <= estimate.log_z_upper


def test_ais_carries_the_smaller_side_and_batches_chains():
    a1, a2, w = ref.random_rbm(12, 6, seed=1, scale=0.5)
    prior = RBMPrior(12, 6, num_chains=100, seed=0)
    ref.set_parameters(prior, a1, a2, w)
    estimate = prior.ais_log_partition(
        num_betas=300, num_chains=300, batch_size=100, base="uniform", seed=2
    )
    assert estimate.log_weights.shape == (300,)
    assert abs(estimate.log_z - ref.log_partition(a1, a2, w)) < 0.05


def test_reverse_ais_from_exact_samples():
    a1, a2, w = ref.trained_like_rbm(10, 10, seed=3)
    prior = RBMPrior(10, 10, num_chains=300, seed=0)
    ref.set_parameters(prior, a1, a2, w)
    exact = ref.log_partition(a1, a2, w)
    samples = ref.exact_samples(a1, a2, w, 300, np.random.default_rng(0))
    # Fit the base to exact samples too, as to training data.
    estimate = prior.ais_log_partition(
        num_betas=1000,
        reverse=True,
        target_samples=samples,
        base_samples=samples,
        seed=0,
    )
    assert estimate.reverse and estimate.num_chains == 300
    assert abs(estimate.log_z - exact) < 0.05
    assert estimate.log_z_lower <= exact <= estimate.log_z_upper


def test_ais_progress_bar(capsys):
    prior = RBMPrior(4, 4, num_chains=4, seed=0)
    prior.ais_log_partition(num_betas=20, num_chains=8, seed=0, verbose=1)
    assert "19/19" in capsys.readouterr().out


def test_ais_is_reproducible_with_a_seed():
    prior = RBMPrior(4, 4, num_chains=4, seed=0)
    ref.set_parameters(prior, *ref.random_rbm(4, 4, seed=2))
    first = prior.ais_log_partition(num_betas=20, num_chains=8, seed=5)
    second = prior.ais_log_partition(num_betas=20, num_chains=8, seed=5)
    np.testing.assert_array_equal(first.log_weights, second.log_weights)


@pytest.mark.slow
def test_ais_spread_covers_exact_value():
    covered, errors = 0, []
    for seed in range(20):
        keras.backend.clear_session()
        prior, exact = _trained_prior(12, 12, seed=seed)
        estimate = prior.ais_log_partition(num_betas=1000, num_chains=300, seed=seed)
        covered += estimate.log_z_lower <= exact <= estimate.log_z_upper
        errors.append(estimate.log_z - exact)
    assert covered >= 18, errors
    assert np.max(np.abs(errors)) < 0.05, errors


@pytest.mark.slow
def test_ais_with_all_defaults():
    prior, exact = _trained_prior(12, 12, seed=1)
    estimate = prior.ais_log_partition(seed=0)
    assert estimate.num_betas == 10000 and estimate.num_chains == 1000
    assert abs(estimate.log_z - exact) < 0.05
    assert estimate.log_z_lower <= exact <= estimate.log_z_upper


# ---------------------------------------------------------------- numerics


def test_softplus_step_is_accurate_for_small_steps():
    x = np.linspace(-40, 40, 81)[:, None]
    delta = np.array([1e-7, -1e-6, 3e-5, -2e-3, 0.3, -0.9, 1.0])[None, :]
    x, delta = np.broadcast_arrays(x, delta)
    x32, delta32 = x.astype("float32"), delta.astype("float32")
    x64, delta64 = x32.astype(np.float64), delta32.astype(np.float64)
    expected = np.logaddexp(0, x64 + delta64) - np.logaddexp(0, x64)
    for guarded in (True, False):
        x_next, diff = _softplus_step(
            ops.convert_to_tensor(x32), ops.convert_to_tensor(delta32), guarded
        )
        np.testing.assert_allclose(to_numpy(diff), expected, rtol=2e-5, atol=1e-37)
        np.testing.assert_allclose(to_numpy(x_next), x64 + delta64, rtol=1e-6)


def test_softplus_step_guards_large_steps():
    x = np.array([-80.0, -5.0, 0.0, 5.0, 80.0], "float32")[:, None]
    delta = np.array([-100.0, -3.0, 3.0, 100.0], "float32")[None, :]
    x, delta = np.broadcast_arrays(x, delta)
    expected = np.logaddexp(0, x.astype(float) + delta) - np.logaddexp(
        0, x.astype(float)
    )
    _, diff = _softplus_step(ops.convert_to_tensor(x), ops.convert_to_tensor(delta))
    np.testing.assert_allclose(to_numpy(diff), expected, rtol=1e-5, atol=1e-6)

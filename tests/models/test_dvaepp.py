"""DVAEPP: the RBM-prior KL in both modes, its gradients, the discrete limit."""

import keras
import numpy as np
import pytest

from keras_dvae.models import DVAE, DVAEPP
from tests.helpers import to_numpy
from tests.models import reference as ref
from tests.priors import rbm_reference as rbm_ref


def _binary(rng, n, d, p=0.4):
    return (rng.random((n, d)) < p).astype("float32")


def test_discrete_limit_matches_enumeration():
    # RBM 2 + 2 over two groups of 2: 16 codes, q(z1|x) q(z2|x, z1).
    rng = np.random.default_rng(0)
    xs = _binary(rng, 3, 6)
    model = DVAEPP(
        image_shape=(6,),
        num_latents=4,
        num_groups=2,
        hidden_units=(8,),
        num_chains=8,
        seed=0,
    )
    a1, a2, w = rbm_ref.random_rbm(2, 2, seed=5, scale=1.0)
    rbm_ref.set_parameters(model.prior, a1, a2, w)
    info = model.prior.estimate_log_partition("exact")
    log_z = rbm_ref.log_partition(a1, a2, w)
    assert info["method"] == "exact"
    np.testing.assert_allclose(info["log_z"], log_z, rtol=1e-10)
    np.testing.assert_allclose(to_numpy(model.prior.log_partition), log_z, rtol=1e-6)

    log_q, codes = ref.enumerate_posterior(model, xs)
    log_p = ref.rbm_log_prior(model, codes, log_z)[None]
    log_px = ref.enumerate_decoder(model, xs, codes)
    q = np.exp(log_q)
    exact_kl = np.sum(q * (log_q - log_p), axis=1)
    # q(z1|x): the codes' first two bits are z1.
    q1 = np.stack([q[:, (np.arange(16) & 3) == k].sum(1) for k in range(4)], 1)

    # In evaluation the KL is exact given the sampled z1 (the rest is
    # analytic), so its q(z1|x)-weighted values give the KL exactly.
    repeats = 1000
    rows = np.repeat(xs, repeats, axis=0)
    y_pred = model(rows, training=False)
    kl = ref.model_kl(model, y_pred, False)
    kl = np.asarray(to_numpy(kl), float).reshape(3, repeats)
    z1 = to_numpy(y_pred["latents"])[:, :2].reshape(3, repeats, 2)
    index = (z1 @ np.array([1, 2])).astype(int)
    for i in range(3):
        counts = np.bincount(index[i], minlength=4) / repeats
        assert np.all(np.abs(counts - q1[i]) < 5 * np.sqrt(q1[i] / repeats) + 1e-3)
        values = [kl[i][index[i] == k] for k in range(4)]
        assert all(len(v) and np.ptp(v) < 1e-4 for v in values)
        np.testing.assert_allclose(
            sum(q1[i, k] * values[k][0] for k in range(4)), exact_kl[i], atol=1e-4
        )

    log_joint = log_p + log_px
    exact = ref.logsumexp(log_joint, axis=1)
    estimate = model.log_likelihood(xs, num_samples=4000)
    # The IWAE estimate's spread, from the enumerated importance weights
    # w = p(x, z)/q(z|x): sd(log mean w) ≈ sd_q(w) / (√K p(x)).
    log_w = log_joint - log_q
    second = ref.logsumexp(log_q + 2 * log_w, axis=1)  # log E_q[w²]
    spread = np.sqrt(np.expm1(second - 2 * exact) / 4000)
    assert np.all(np.abs(estimate - exact) < 5 * spread + 1e-3), (estimate, exact)

    model.compile()
    metrics = model.evaluate(rows, batch_size=len(rows), verbose=0, return_dict=True)
    exact_elbo = np.sum(q * (log_joint - log_q), axis=1)
    variance = np.sum(q * (log_joint - log_q - exact_elbo[:, None]) ** 2, axis=1)
    error = np.sqrt(variance.mean() / len(rows))
    assert abs(metrics["elbo"] - exact_elbo.mean()) < 5 * error + 1e-3
    assert metrics["elbo"] < exact.mean()
    assert abs(metrics["kl"] - exact_kl.mean()) < 5 * kl.std() / np.sqrt(kl.size)


def test_training_kl_is_unbiased():
    # Relaxed posterior q(z1|x) r(ζ1|z1) q(z2|x, ζ1): the analytic KL, with
    # ν1 = q(z1=1|x, ζ1), averaged over ζ against the same expectation with z
    # enumerated and ζ1 integrated by quadrature.
    model = ref.linear_rbm_model(DVAEPP, 4, 2, 2, seed=2)
    x = np.array([[1.0, 0.0, 1.0, 1.0]], "float32")
    mean, error = ref.training_kl(model, x, 20000)
    expected = ref.relaxed_rbm_kl(**ref.objective_inputs(model, x))
    assert abs(mean - expected) < 4 * error + 2e-4, (mean, expected, error)


@pytest.mark.slow
def test_training_kl_is_unbiased_with_more_groups():
    # Three groups of 2 split the middle group between the RBM's halves;
    # four put two groups on each side. Reference: sampled z and ζ.
    x = np.array([[1.0, 0.0, 1.0, 1.0]], "float32")
    for num_groups in (3, 4):
        model = ref.linear_rbm_model(DVAEPP, 4, 2, num_groups, seed=num_groups)
        mean, error = ref.training_kl(model, x, 20000)
        samples = ref.sample_relaxed_rbm_kl(
            **ref.objective_inputs(model, x),
            n=1_000_000,
            rng=np.random.default_rng(num_groups),
        )
        expected_error = samples.std() / np.sqrt(len(samples))
        assert abs(mean - samples.mean()) < 4 * np.hypot(error, expected_error)


@pytest.mark.parametrize("cls", [DVAEPP, DVAE])
def test_rbm_gradient_is_prior_minus_posterior_moments(cls):
    # The model's p-moments come from 20,000 PCD chains; DVAE shares the
    # prior's gradient with DVAE++.
    model = ref.linear_rbm_model(
        cls, 4, 2, 2, scale=1.0, seed=3, num_chains=20000, gibbs_sweeps=2
    )
    model.prior.update_chains(sweeps=30)
    x = np.array([[0.0, 1.0, 1.0, 0.0]], "float32")
    got, expected = ref.rbm_gradient_against_moments(
        model, x, 4000, 400000, np.random.default_rng(0)
    )
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, atol=0.03)


def test_encoder_gradient_is_unbiased():
    # One unit a group: the expected KL is a 1-D integral over ζ1, so its
    # gradient by finite differences is exact to ~1e-8.
    model = ref.linear_rbm_model(DVAEPP, 3, 1, 2, seed=1, scale=2.0)
    x = np.array([[1.0, 1.0, 0.0]], "float32")
    mean, error, expected = ref.encoder_gradient_against_quadrature(model, x, 4000, 16)
    assert np.max(np.abs(expected)) > 0.1
    assert np.all(np.abs(mean - expected) < 5 * error + 1e-4), (mean, expected, error)


def test_variants_train_and_bad_arguments_raise():
    x = _binary(np.random.default_rng(1), 40, 6)
    for num_latents, num_groups in ((4, 1), (8, 4)):
        model = DVAEPP(
            image_shape=(6,),
            num_latents=num_latents,
            num_groups=num_groups,
            hidden_units=(4,),
            num_chains=16,
            gibbs_sweeps=2,
            seed=0,
        )
        half = num_latents // 2
        assert (model.prior.num_z1, model.prior.num_z2) == (half, half)
        chains = to_numpy(model.prior.chains_z1)
        rbm = [to_numpy(v) for v in (model.prior.a1, model.prior.W)]
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        history = model.fit(x, epochs=1, batch_size=20, verbose=0)
        assert np.all(np.isfinite(history.history["elbo"]))
        assert not np.array_equal(to_numpy(model.prior.chains_z1), chains)
        for before, variable in zip(rbm, (model.prior.a1, model.prior.W), strict=True):
            assert not np.allclose(to_numpy(variable), before)
    DVAEPP(6, num_latents=2, hidden_units=(), smoothing="power_function")
    DVAEPP(6, num_latents=2, hidden_units=(), smoothing="overlapping_logistic")
    cases = [
        ({"num_latents": 3}, "num_latents"),
        ({"num_latents": 9, "num_groups": 3}, "num_latents"),
        ({"num_latents": 4, "num_groups": 3}, "num_latents"),
        ({"smoothing": "spike_and_exponential"}, "smoothing"),
        ({"smoothing": "concrete"}, "smoothing"),
        ({"num_chains": 0}, "num_chains"),
        ({"gibbs_sweeps": 0}, "gibbs_sweeps"),
    ]
    for kwargs, name in cases:
        arguments = {"image_shape": (6,), "num_latents": 2, "hidden_units": ()}
        arguments.update(kwargs)
        with pytest.raises(ValueError, match=rf"Received: {name}="):
            DVAEPP(**arguments)
    model = DVAEPP(6, num_latents=2, hidden_units=(), num_chains=2)
    with pytest.raises(ValueError, match="Received: method='ais2'"):
        model.prior.estimate_log_partition("ais2")

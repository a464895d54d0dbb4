"""DVAE (Rolfe): spike-and-exponential KL values and Rolfe's gradient estimator."""

import keras
import numpy as np
import pytest

from keras_dvae import smoothing
from keras_dvae.models import DVAE, DVAEPP
from tests.helpers import to_numpy
from tests.models import reference as ref


def test_one_group_is_the_factorial_closed_form():
    # One group: KL = log Z − H(q) − a1ᵀμ1 − a2ᵀμ2 − μ1ᵀWμ2 (μ the factorial
    # q), whatever the smoothing; DVAE and DVAEPP agree in value and gradient.
    x = (np.random.default_rng(0).random((8, 4)) < 0.5).astype("float32")
    models = [ref.linear_rbm_model(cls, 4, 4, 1, seed=7) for cls in (DVAE, DVAEPP)]
    ((kernel, bias),) = ref.linear_encoders(models[0])
    xc = ref.centred(models[0], x)
    logits = xc @ kernel + bias
    mu = ref.expit(logits)
    a1, a2, w = ref.rbm_parameters(models[0].prior)
    log_z = float(to_numpy(models[0].prior.log_partition))
    entropy = -np.sum(mu * np.log(mu) + (1 - mu) * np.log1p(-mu), axis=1)
    mu1, mu2 = mu[:, :2], mu[:, 2:]
    kl = log_z - entropy - mu1 @ a1 - mu2 @ a2 - np.sum((mu1 @ w) * mu2, axis=1)
    # ∂KL/∂logits = q(1 − q)(logits − a − (Wμ2, Wᵀμ1)).
    coupling = np.concatenate([mu2 @ w.T, mu1 @ w], axis=1)
    d_logits = mu * (1 - mu) * (logits - np.concatenate([a1, a2]) - coupling) / len(x)
    expected = [xc.T @ d_logits, d_logits.sum(0)]
    for model in models:
        value = to_numpy(ref.model_kl(model, model(x, training=True), True))
        np.testing.assert_allclose(value, kl, rtol=1e-5, atol=1e-5)
        got = ref.mean_kl_gradient(model, x, models_encoder_variables(model))
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e.ravel(), rtol=1e-4, atol=1e-6)


def models_encoder_variables(model):
    return [v for net in model.encoder.networks for v in net.trainable_weights]


def test_training_kl_is_unbiased():
    # Two groups: ν1 = z1 = 1[ζ1 > 0]; the value averages to the expectation
    # over q(z1|x) r(ζ1|z1) q(z2|x, ζ1) computed by enumeration and quadrature.
    model = ref.linear_rbm_model(DVAE, 4, 2, 2, seed=4)
    assert ref.is_spike(model) and ref.beta_of(model) == 4.0
    x = np.array([[1.0, 0.0, 0.0, 1.0]], "float32")
    mean, error = ref.training_kl(model, x, 20000)
    expected = ref.relaxed_rbm_kl(**ref.objective_inputs(model, x))
    assert abs(mean - expected) < 4 * error + 2e-4, (mean, expected, error)


def test_rolfe_gradient_is_unbiased():
    # Rolfe's surrogate: its expected gradient w.r.t. both encoders equals the
    # finite-difference gradient of the expected KL (a 1-D integral over ζ1
    # with an atom at 0, one unit a group). The (1 − z)/(1 − q) factor carries
    # the jump of z1 at ρ = 1 − q; the scale makes that term matter.
    model = ref.linear_rbm_model(DVAE, 3, 1, 2, seed=1, scale=2.0)
    x = np.array([[1.0, 1.0, 0.0]], "float32")
    mean, error, expected = ref.encoder_gradient_against_quadrature(model, x, 4000, 16)
    assert np.max(np.abs(expected)) > 0.1
    assert np.all(np.abs(mean - expected) < 5 * error + 1e-4), (mean, expected, error)


def test_evaluation_kl_is_the_exact_discrete_kl():
    # Discrete z: given the sampled z1 the KL is analytic, so the values
    # weighted by the exact q(z1|x) give KL(q(z|x) ‖ p(z)) over 16 codes.
    model = ref.linear_rbm_model(DVAE, 4, 2, 2, seed=5, scale=1.0)
    x = np.array([[0.0, 1.0, 1.0, 1.0]], "float32")
    log_z = float(to_numpy(model.prior.log_partition))
    log_q, codes = ref.enumerate_posterior(model, x)
    q = np.exp(log_q[0])
    exact = np.sum(q * (log_q[0] - ref.rbm_log_prior(model, codes, log_z)))
    y_pred = model(np.repeat(x, 2000, axis=0), training=False)
    kl = np.asarray(to_numpy(ref.model_kl(model, y_pred, False)), float)
    index = (to_numpy(y_pred["latents"])[:, :2] @ np.array([1, 2])).astype(int)
    total = 0.0
    for k in range(4):
        values = kl[index == k]
        assert len(values) and np.ptp(values) < 1e-4
        total += q[(np.arange(16) & 3) == k].sum() * values[0]
    np.testing.assert_allclose(total, exact, atol=1e-4)


def test_smoothing_must_be_spike_and_exponential():
    for family in ("overlapping_exponential", "power_function"):
        with pytest.raises(ValueError, match="Received: smoothing="):
            DVAE(4, num_latents=2, hidden_units=(), smoothing=family)
    model = DVAE(
        4,
        num_latents=2,
        hidden_units=(),
        smoothing=smoothing.SpikeAndExponential(beta=6.0),
        num_chains=2,
    )
    assert ref.beta_of(model) == 6.0
    restored = DVAE.from_config(model.get_config())
    assert isinstance(restored.smoothing, smoothing.SpikeAndExponential)
    assert restored.smoothing.beta == 6.0


# Small random weights: q(h|x, z) and p(h|z) differ but overlap well, so the
# ratio p/q has light tails (with large ones the IWAE needs far more samples).
SCALE = 0.05


def test_continuous_layers_leave_the_discrete_likelihood_exact():
    # With the decoder's weights on h set to zero, p(x) = Σ_z p(z) p(x|z)
    # exactly, while the importance weights still carry p(h|z)/q(h|x, z)
    # (mean one): the IWAE estimate must converge to the enumeration.
    x = (np.random.default_rng(3).random((6, 5)) < 0.5).astype("float32")
    model = DVAE(
        image_shape=(5,),
        num_latents=2,
        hidden_units=(),
        num_chains=10,
        gibbs_sweeps=1,
        continuous_layers=2,
        continuous_units=2,
        seed=0,
    )
    dense = model.decoder.network.layers[-1]
    kernel = to_numpy(dense.kernel).copy()
    kernel[2:] = 0.0  # rows 2.. read h_1, h_2
    dense.kernel.assign(kernel)
    decoder = model.decoder
    for net in [*decoder.continuous_posteriors, *decoder.continuous_priors]:
        w = net.layers[-1].kernel
        w.assign(np.random.default_rng(4).normal(0, SCALE, w.shape).astype("float32"))
    log_z = model.prior.estimate_log_partition("exact")["log_z"]
    log_q, codes = ref.enumerate_posterior(model, x)
    log_px_z = ref.log_bernoulli(
        x[:, None, :], (codes @ kernel[:2] + to_numpy(dense.bias))[None]
    ).sum(-1)
    exact = np.logaddexp.reduce(log_px_z + ref.rbm_log_prior(model, codes, log_z), 1)
    estimate = model.log_likelihood(x, num_samples=4000)
    np.testing.assert_allclose(estimate, exact, atol=0.05)
    # The continuous KL in training is the closed-form Gaussian KL.
    outputs = model(x, training=True)
    assert to_numpy(outputs["decoder_kl"]).shape == (6,)
    assert np.all(to_numpy(outputs["decoder_kl"]) >= 0)


def test_gaussian_kl_matches_numpy():
    from keras_dvae.distributions.normal import normal_kl as _normal_kl
    from keras_dvae.distributions.normal import normal_log_prob as _normal_log_prob

    rng = np.random.default_rng(5)
    qm, qv, pm, pv = (rng.normal(size=(4, 3)).astype("float32") for _ in range(4))
    tensors = [keras.ops.convert_to_tensor(a) for a in (qm, qv, pm, pv)]
    expected = 0.5 * np.sum(
        pv - qv + (np.exp(qv) + (qm - pm) ** 2) / np.exp(pv) - 1.0, axis=1
    )
    np.testing.assert_allclose(to_numpy(_normal_kl(*tensors)), expected, rtol=1e-5)
    h = rng.normal(size=(4, 3)).astype("float32")
    from scipy.stats import norm

    lp = norm.logpdf(h, qm, np.exp(0.5 * qv)).sum(1)
    np.testing.assert_allclose(
        to_numpy(_normal_log_prob(keras.ops.convert_to_tensor(h), *tensors[:2])),
        lp,
        rtol=1e-5,
    )

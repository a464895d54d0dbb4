"""BernoulliVAE: discrete limit, joint and marginal ELBOs, against NumPy."""

import keras
import numpy as np
import pytest

from keras_dvae import smoothing
from keras_dvae.models import BernoulliVAE
from tests.helpers import to_numpy
from tests.models import reference as ref


def _binary(rng, n, d, p=0.4):
    return (rng.random((n, d)) < p).astype("float32")


def _enumerate(model, x):
    """log q(z|x), log p(z) and log p(x|z) on every code z: (n, 2^L) arrays.

    q(z|x) = Π_g q(z_g|x, z_<g) and p(z) = p(z_1) Π_g p(z_g|z_<g), each
    conditional read from the model's networks in evaluation mode.
    """
    log_q, codes = ref.enumerate_posterior(model, x)
    n = model.num_latents // model.num_groups
    prior_logits = np.asarray(to_numpy(model.prior.logits), float)
    log_p = ref.log_bernoulli(codes[:, :n], prior_logits).sum(1)
    for g in range(1, model.num_groups):
        logits = ref.run(model.prior.networks[g - 1], codes[:, : g * n])
        log_p = log_p + ref.log_bernoulli(codes[:, g * n : (g + 1) * n], logits).sum(1)
    return log_q, log_p[None], ref.enumerate_decoder(model, x, codes)


def _exact_log_likelihood(model, x):
    _, log_p, log_px = _enumerate(model, x)
    return ref.logsumexp(log_p + log_px, axis=1)


def test_fit_then_log_likelihood_matches_enumeration(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((200, 10)) > 0.6).astype("float32")
    model = BernoulliVAE(
        image_shape=(10,),
        num_latents=6,
        hidden_units=(16,),
        weight_decay=0.0,
        seed=0,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(x, epochs=5, batch_size=50, verbose=0)
    assert set(history.history) >= {"elbo", "reconstruction", "kl"}
    assert np.all(np.isfinite(history.history["elbo"]))
    exact = _exact_log_likelihood(model, x[:8])
    estimate = model.log_likelihood(x[:8], num_samples=4000, chunk_size=1000)
    # IWAE with K = 4000 over 64 codes is tight; allow Monte Carlo error.
    np.testing.assert_allclose(estimate, exact, atol=0.05)
    # (`evaluate`'s ELBO is checked against enumeration with two groups below.)
    path = str(tmp_path / "vae.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(_exact_log_likelihood(loaded, x[:8]), exact, rtol=1e-5)


def test_directed_prior_discrete_limit_matches_enumeration():
    # Two groups of 3: p(z1) p(z2|z1) and q(z1|x) q(z2|x, z1); 64 codes.
    rng = np.random.default_rng(1)
    x = _binary(rng, 200, 8)
    model = BernoulliVAE(8, num_latents=6, num_groups=2, hidden_units=(8,), seed=0)
    model.compile(optimizer=keras.optimizers.Adam(2e-2))
    model.fit(x, epochs=3, batch_size=50, verbose=0)
    xs = x[:6]
    log_q, log_p, log_px = _enumerate(model, xs)
    log_joint = log_p + log_px
    exact = ref.logsumexp(log_joint, axis=1)
    q = np.exp(log_q)
    np.testing.assert_allclose(q.sum(1), 1.0, rtol=1e-6)
    exact_elbo = np.sum(q * (log_joint - log_q), axis=1)
    assert np.all(exact - exact_elbo > 1e-3)  # q is not the true posterior

    estimate = model.log_likelihood(xs, num_samples=4000)
    np.testing.assert_allclose(estimate, exact, atol=0.05)

    # `evaluate` draws one z per row, so average 500 draws per example; the
    # spread of the log-weight under q sets the scale of the tolerance.
    repeats = 500
    rows = np.repeat(xs, repeats, axis=0)
    elbo = model.evaluate(rows, batch_size=len(rows), verbose=0, return_dict=True)
    variance = np.sum(q * (log_joint - log_q - exact_elbo[:, None]) ** 2, axis=1)
    standard_error = np.sqrt(variance.mean() / len(rows))
    assert abs(elbo["elbo"] - exact_elbo.mean()) < 5 * standard_error + 1e-3
    assert elbo["elbo"] < exact.mean()
    reconstruction = -np.sum(q * log_px, axis=1).mean()
    assert abs(elbo["reconstruction"] - reconstruction) < 5 * np.sqrt(
        np.sum(q * (log_px + reconstruction) ** 2, axis=1).mean() / len(rows)
    )

    # Ancestral samples of the directed prior follow p(z); N = 20,000 over 64
    # codes: expected TV distance ≤ ½ √(2·64 / (π N)) ≈ 0.023.
    samples = to_numpy(model.prior.sample(20000))
    index = (samples.astype(int) << np.arange(model.num_latents)).sum(1)
    counts = np.bincount(index, minlength=64) / len(samples)
    assert 0.5 * np.abs(counts - np.exp(log_p[0])).sum() < 0.05
    generated = to_numpy(model.generate(7))
    assert generated.shape == (7, 8)
    assert np.all((generated >= 0) & (generated <= 1))


def _linear_model(elbo, beta, latents_per_group, num_groups, input_dim, seed=0):
    """A "linear" model (no batch norm) with large random weights."""
    model = BernoulliVAE(
        image_shape=(input_dim,),
        num_latents=latents_per_group * num_groups,
        num_groups=num_groups,
        hidden_units=(),
        smoothing=smoothing.OverlappingExponential(beta=beta),
        elbo=elbo,
        weight_decay=0.0,
        seed=seed,
    )
    rng = np.random.default_rng(seed)
    for variable in model.trainable_weights:
        variable.assign(rng.normal(0.0, 1.5, variable.shape).astype("float32"))
    return model


def test_training_kls_match_numpy_on_the_sampled_zeta():
    # Joint: Σ_g KL(q(z_g|x, ζ_<g) ‖ p(z_g|ζ_<g)); marginal: Σ_g log q(ζ_g|x,
    # ζ_<g) − log p(ζ_g|ζ_<g) with the mixture densities of METHODS.md §1.
    beta = 6.0
    model = _linear_model(
        "marginal", beta, latents_per_group=2, num_groups=2, input_dim=5
    )
    x = _binary(np.random.default_rng(2), 16, 5, p=0.5)
    y_pred = model(x, training=True)
    zeta = np.asarray(to_numpy(y_pred["latents"]), float)
    assert np.all((zeta > 0) & (zeta < 1))
    xc = ref.centred(model, x)
    encoders = ref.encoder_networks(model)
    q_logits = np.concatenate(
        [
            ref.apply_linear(encoders[0], xc),
            ref.apply_linear(encoders[1], np.concatenate([xc, zeta[:, :2]], 1)),
        ],
        axis=1,
    )
    np.testing.assert_allclose(
        to_numpy(y_pred["posterior_params"]), q_logits, rtol=1e-4, atol=1e-4
    )
    p_logits = np.concatenate(
        [
            np.broadcast_to(to_numpy(model.prior.logits), (16, 2)),
            ref.apply_linear(model.prior.networks[0], zeta[:, :2]),
        ],
        axis=1,
    )
    marginal = np.sum(
        ref.overlapping_exponential_log_density(zeta, q_logits, beta)
        - ref.overlapping_exponential_log_density(zeta, p_logits, beta),
        axis=1,
    )
    np.testing.assert_allclose(
        to_numpy(ref.model_kl(model, y_pred, True)), marginal, rtol=1e-4, atol=1e-4
    )
    # Evaluation (or the joint ELBO) uses the analytic Bernoulli KL.
    joint = ref.bernoulli_kl(q_logits, p_logits).sum(1)
    np.testing.assert_allclose(
        to_numpy(ref.model_kl(model, y_pred, False)), joint, rtol=1e-4, atol=1e-4
    )
    model.prior.elbo = "joint"
    np.testing.assert_allclose(
        to_numpy(ref.model_kl(model, y_pred, True)), joint, rtol=1e-4, atol=1e-4
    )


def test_marginal_kl_is_unbiased_and_tighter_than_joint():
    # One unit: E_q[log q(ζ) − log p(ζ)] by quadrature; the joint KL exceeds it
    # by E_ζ[KL(q(z|ζ) ‖ p(z|ζ))] > 0, so the marginal ELBO is the tighter one.
    beta = 2.0
    model = _linear_model(
        "marginal", beta, latents_per_group=1, num_groups=1, input_dim=3
    )
    (encoder,) = ref.encoder_networks(model)
    encoder.layers[0].bias.assign(np.array([1.5], "float32"))
    model.prior.logits.assign(np.array([-1.0], "float32"))
    x = np.array([[1.0, 0.0, 1.0]], "float32")
    q_logit = float(ref.apply_linear(encoder, ref.centred(model, x))[0, 0])
    p_logit = -1.0
    zeta, weights = ref.gauss_legendre(200)
    log_q = ref.overlapping_exponential_log_density(zeta, q_logit, beta)
    log_p = ref.overlapping_exponential_log_density(zeta, p_logit, beta)
    np.testing.assert_allclose(np.sum(weights * np.exp(log_q)), 1.0, rtol=1e-10)
    marginal = np.sum(weights * np.exp(log_q) * (log_q - log_p))
    joint = float(ref.bernoulli_kl(q_logit, p_logit))
    assert joint - marginal > 0.1  # the test can tell the two apart

    rows = np.repeat(x, 40000, axis=0)
    y_pred = model(rows, training=True)
    samples = np.asarray(to_numpy(ref.model_kl(model, y_pred, True)), float)
    error = samples.std() / np.sqrt(len(samples))
    assert abs(samples.mean() - marginal) < 4 * error
    # The same ζ under the joint ELBO: the per-sample gap is the ELBO gap.
    model.prior.elbo = "joint"
    gap = np.asarray(to_numpy(ref.model_kl(model, y_pred, True)), float) - samples
    gap_error = gap.std() / np.sqrt(len(gap))
    assert gap.mean() > 10 * gap_error
    assert abs(gap.mean() - (joint - marginal)) < 4 * gap_error


def test_bad_arguments():
    cases = [
        ({"elbo": "tight"}, "elbo"),
        ({"elbo": "marginal", "smoothing": "spike_and_exponential"}, "elbo"),
        ({"learn_prior": False, "num_groups": 2}, "learn_prior"),
        ({"hidden_units": "deep"}, "hidden_units"),
        ({"hidden_units": (4, 0)}, "hidden_units"),
        ({"weight_decay": -1.0}, "weight_decay"),
        ({"num_latents": 0}, "num_latents"),
        ({"num_latents": 3, "num_groups": 2}, "num_latents"),
        ({"image_shape": (4, 4)}, "image_shape"),
        ({"num_groups": 0}, "num_groups"),
        ({"seed": -3}, "seed"),
        ({"smoothing": "gaussian"}, "identifier"),
    ]
    for kwargs, name in cases:
        arguments = {"image_shape": (4,), "num_latents": 2, "hidden_units": ()}
        arguments.update(kwargs)
        with pytest.raises(ValueError, match=rf"Received: {name}="):
            BernoulliVAE(**arguments)


def test_uniform_prior_is_not_trained():
    model = BernoulliVAE(6, num_latents=3, hidden_units=(), learn_prior=False)
    assert not model.prior.logits.trainable
    assert all(w is not model.prior.logits for w in model.trainable_weights)
    np.testing.assert_array_equal(to_numpy(model.prior.logits), np.zeros(3))
    assert BernoulliVAE.from_config(model.get_config()).learn_prior is False


def test_power_function_marginal_elbo_trains_at_its_default_beta():
    # At β = 30 a quarter of the float32 samples round to ζ = 0 or 1, where
    # the power-function densities are infinite; the marginal KL uses their
    # finite ratio (`Smoothing.log_density_ratio`), so training stays finite.
    x = _binary(np.random.default_rng(5), 64, 12, p=0.3)
    model = BernoulliVAE(
        image_shape=(12,),
        num_latents=8,
        hidden_units=(16,),
        smoothing="power_function",
        elbo="marginal",
        seed=0,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(x, epochs=5, batch_size=32, verbose=0).history
    assert np.all(np.isfinite(history["loss"])), history["loss"]
    assert history["elbo"][-1] > history["elbo"][0], history["elbo"]
    assert all(np.all(np.isfinite(to_numpy(w))) for w in model.weights)

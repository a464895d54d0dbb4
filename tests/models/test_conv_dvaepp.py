"""ConvDVAEPP: the discrete limit against enumeration, KLs, variants, state."""

import itertools
import os

import keras
import numpy as np
import pytest
from scipy import special

from keras_dvae.distributions import kl_divergence
from keras_dvae.models import DVAEPP, ConvDVAEPP
from tests.helpers import to_numpy
from tests.priors import rbm_reference as rbm_ref

TINY = dict(
    image_shape=(8, 8, 1),
    filters=8,
    hidden_units=(8,),
    num_chains=8,
    gibbs_sweeps=2,
)


def _energy(z1, z2, a1, a2, w):
    return -(z1 @ a1 + z2 @ a2 + np.einsum("ni,ij,nj->n", z1, w, z2))


def _binary(rng, n, d=64, p=0.3):
    return (rng.random((n, d)) < p).astype("float32")


def test_discrete_limit_matches_enumeration():
    # RBM 2 + 2 global units in two groups, one 2×2×1 map of local Bernoulli
    # latents: 2^8 codes. E_q[p(x, z, h)/q(z, h|x)] = p(x), so the
    # importance-weighted estimate with large K must reach the enumerated
    # log p(x) = logsumexp_{z,h} log p(z) p(h|z) p(x|z, h).
    rng = np.random.default_rng(0)
    model = ConvDVAEPP(
        num_latents=4,
        num_groups=2,
        local_groups=1,
        local_channels=1,
        local_latents="bernoulli",
        seed=0,
        **TINY,
    )
    a1, a2, w = rbm_ref.random_rbm(2, 2, seed=5, scale=1.0)
    rbm_ref.set_parameters(model.prior, a1, a2, w)
    assert model.prior.estimate_log_partition()["method"] == "exact"
    # The local prior and posterior start near Bernoulli(1/2); random
    # kernels make the local latents' part of the sum matter.
    for conv in (model.decoder.local_priors[0], model.decoder.local_posteriors[0]):
        conv.kernel.assign(rng.normal(0.0, 0.5, conv.kernel.shape).astype("float32"))
    x = _binary(rng, 2)
    codes = np.array(list(itertools.product([0.0, 1.0], repeat=8)), "float32")
    z, h = codes[:, :4], codes[:, 4:].reshape(-1, 2, 2, 1)
    log_pz = -_energy(z[:, :2], z[:, 2:], a1, a2, w) - rbm_ref.log_partition(a1, a2, w)
    exact = []
    for row in x:
        xs = np.repeat(row[None], len(codes), axis=0)
        out, _, _, log_ph = model.decoder.run(
            keras.ops.convert_to_tensor(z),
            None,
            training=False,
            discrete=True,
            local_values=[h],
        )
        log_px = -to_numpy(model.likelihood.nll(keras.ops.convert_to_tensor(xs), out))
        exact.append(special.logsumexp(log_pz + to_numpy(log_ph) + log_px))
    # The estimate's bias, −Var(w)/(2K E[w]²), is up to −0.05 nats at K =
    # 20,000 for some initial weights: K = 50,000 keeps it near −0.02.
    estimate = model.log_likelihood(x, num_samples=50_000, chunk_size=5000)
    np.testing.assert_allclose(estimate, exact, atol=0.05)


@pytest.mark.parametrize("prior", ["rbm", "bernoulli"])
def test_global_kl_matches_enumeration(prior):
    # One group: q(z|x) factorial, KL = Σ_z q(z) [log q(z) − log p(z)].
    model = ConvDVAEPP(num_latents=4, num_groups=1, prior=prior, local_groups=1, **TINY)
    rng = np.random.default_rng(1)
    codes = np.array(list(itertools.product([0.0, 1.0], repeat=4)))
    if prior == "rbm":
        a1, a2, w = rbm_ref.random_rbm(2, 2, seed=2, scale=1.0)
        rbm_ref.set_parameters(model.prior, a1, a2, w)
        model.prior.estimate_log_partition("exact")
        log_p = -_energy(codes[:, :2], codes[:, 2:], a1, a2, w)
        log_p -= rbm_ref.log_partition(a1, a2, w)
    else:
        prior_logits = rng.normal(size=4)
        model.prior.logits.assign(prior_logits.astype("float32"))
        log_p = np.sum(
            codes * special.log_expit(prior_logits)
            + (1 - codes) * special.log_expit(-prior_logits),
            axis=1,
        )
    logits = rng.normal(size=(3, 4)).astype("float32")
    posterior = model.encoder.latent.posterior(
        keras.ops.convert_to_tensor(logits),
        keras.ops.zeros((3, 4)),
        num_groups=1,
        training=False,
        discrete=True,
    )
    kl = to_numpy(kl_divergence(posterior, model.prior))
    for row, value in zip(logits.astype("float64"), kl, strict=True):
        log_q = np.sum(
            codes * special.log_expit(row) + (1 - codes) * special.log_expit(-row),
            axis=1,
        )
        expected = np.sum(np.exp(log_q) * (log_q - log_p))
        np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "variant",
    [
        {},  # RBM + overlapping smoothing + Normal locals (DVAE++)
        {"prior": "bernoulli", "local_latents": "bernoulli"},
        # Rolfe's smoothing with two groups: the RBM's KL takes Rolfe's
        # estimator (formerly refused: spike-and-exponential needed 1 group).
        {"smoothing": "spike_and_exponential", "num_groups": 2},
    ],
    ids=["dvaepp", "all_discrete_bernoulli", "spike_exp_two_groups"],
)
def test_one_step_trains_every_weight(variant):
    rng = np.random.default_rng(2)
    # Two local groups for DVAE++ (the hierarchy's second group must train
    # too); one is enough to test the prior and smoothing variants.
    local_groups = 1 if variant else 2
    model = ConvDVAEPP(local_groups=local_groups, seed=3, **TINY, **variant)
    x = _binary(rng, 16)
    model.adapt(x)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = [to_numpy(v).copy() for v in model.trainable_variables]
    history = model.fit(x, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    frozen = [
        v.path
        for v, old in zip(model.trainable_variables, before, strict=True)
        if np.allclose(to_numpy(v), old)
    ]
    assert not frozen, f"no gradient reached {frozen}"
    ll = model.log_likelihood(x[:2], num_samples=20)
    assert np.all(np.isfinite(ll)) and np.all(ll < 0)


def test_sixteen_local_groups_start_near_their_prior():
    # The local prior and posterior convolutions start near zero, so at
    # initialisation q(h_k | ·) ≈ p(h_k | ·) = N(0, 1) in every group: the
    # local KL over 16 groups of 8×8×4 units is a few nats. With Glorot
    # kernels the state, the log-variances and the samples fed each other
    # down the groups (KL 10¹³ nats here, 3·10¹¹ at the first training step).
    rng = np.random.default_rng(4)
    model = ConvDVAEPP(**{**TINY, "image_shape": (28, 28, 1)}, local_groups=16, seed=0)
    model.adapt(_binary(rng, 8, d=784))
    codes = keras.ops.convert_to_tensor(rng.integers(0, 2, (8, 16)).astype("float32"))
    context = keras.ops.convert_to_tensor(rng.normal(size=(8, 8, 8, 8)), "float32")
    out, kl, log_q, log_p = model.decoder.run(codes, context, training=False)
    kl = to_numpy(kl)
    assert np.all(np.isfinite(kl)) and np.all(kl >= 0) and np.all(kl < 16.0)
    assert np.all(np.isfinite(to_numpy(out)))
    # The posterior still reads the encoder's features (the kernel is not 0).
    kernel = to_numpy(model.decoder.local_posteriors[0].kernel)
    assert 0 < np.abs(kernel).max() < 0.01


def test_colour_images_and_bits_per_dim_scale():
    # 8-bit images with the logistic mixture: samples are values k/255, and
    # an untrained model is near the uniform 8 bits/dim, not orders off.
    rng = np.random.default_rng(3)
    model = ConvDVAEPP(
        image_shape=(8, 8, 3),
        likelihood="logistic_mixture",
        num_mixtures=2,
        local_groups=1,
        filters=8,
        hidden_units=(8,),
        num_chains=8,
        seed=1,
    )
    x = rng.integers(0, 256, size=(3, 8, 8, 3)).astype("uint8")
    model.adapt(x)
    ll = model.log_likelihood(x, num_samples=4)
    bits = -ll / (8 * 8 * 3 * np.log(2))
    assert np.all((bits > 7.5) & (bits < 12))
    samples = model.generate(2)
    assert isinstance(samples, np.ndarray) and samples.shape == (2, 192)
    np.testing.assert_allclose(samples * 255, np.round(samples * 255), atol=1e-3)
    with pytest.raises(ValueError, match="8-bit pixel values"):
        model.log_likelihood(x / 255.0, num_samples=2)


def test_save_load_keeps_weights_chains_and_config(tmp_path):
    rng = np.random.default_rng(4)
    model = ConvDVAEPP(local_groups=1, seed=5, **TINY)
    x = _binary(rng, 8)
    model.compile(optimizer="adam")
    model.fit(x, batch_size=8, epochs=1, verbose=0)
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, ConvDVAEPP)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded.encode(x)[1], model.encode(x)[1], rtol=1e-5)
    np.testing.assert_array_equal(
        to_numpy(loaded.prior.chains_z1), to_numpy(model.prior.chains_z1)
    )
    assert loaded.generate(3).shape == (3, 64)
    codes, probs = loaded.encode(x.reshape(-1, 8, 8, 1))
    assert codes.shape == probs.shape == (8, 16)
    assert set(np.unique(codes)) <= {0.0, 1.0}
    assert not issubclass(ConvDVAEPP, DVAEPP)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"image_shape": (8, 8)}, "image_shape"),
        ({"num_latents": 6, "num_groups": 4}, "multiple of `num_groups`"),
        ({"num_latents": 5, "num_groups": 1}, "must be even"),
        ({"prior": "gaussian"}, "prior"),
        ({"local_latents": "categorical"}, "local_latents"),
        ({"likelihood": "gaussian"}, "likelihood"),
        ({"filters": 10}, "multiple of 4"),
        ({"weight_decay": -1}, "weight_decay"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, match):
    args = {**TINY, "local_groups": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        ConvDVAEPP(**args)


def test_bad_data_names_the_shape():
    model = ConvDVAEPP(local_groups=1, **TINY)
    with pytest.raises(ValueError, match="shape"):
        model.log_likelihood(np.zeros((2, 63)), num_samples=2)
    with pytest.raises(ValueError, match="binary"):
        model.log_likelihood(np.full((2, 64), 0.5), num_samples=2)

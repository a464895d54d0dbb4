"""The demo BernoulliVAE: trains, scores the binary limit exactly, round-trips."""

import itertools

import keras
import numpy as np

from keras_dvae.models import BernoulliVAE
from tests.helpers import to_numpy


def _exact_log_likelihood(model, x):
    """log Σ_z p(z) p(x|z) by enumerating all 2^L codes."""
    codes = np.array(
        list(itertools.product([0.0, 1.0], repeat=model.num_latents)), "float32"
    )
    prior_logits = to_numpy(model.prior_logits)
    log_prior = (codes * prior_logits - np.logaddexp(0, prior_logits)).sum(-1)
    x_logits = to_numpy(model.decoder(codes))
    log_px = x[:, None, :] * x_logits[None] - np.logaddexp(0, x_logits)[None]
    joint = log_px.sum(-1) + log_prior[None]
    return np.logaddexp.reduce(joint, axis=1)


def test_fit_then_log_likelihood_matches_enumeration(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((200, 10)) > 0.6).astype("float32")
    model = BernoulliVAE(input_dim=10, num_latents=6, hidden_units=(16,), seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(x, epochs=5, batch_size=50, verbose=0)
    assert set(history.history) >= {"elbo", "reconstruction", "kl"}
    exact = _exact_log_likelihood(model, x[:8])
    estimate = model.log_likelihood(x[:8], num_samples=4000, chunk_size=1000)
    # IWAE with K = 4000 over 64 codes is tight; allow Monte Carlo error.
    np.testing.assert_allclose(estimate, exact, atol=0.05)
    # ELBO (binary limit) is a lower bound on the exact log-likelihood.
    elbo = model.evaluate(x[:8], batch_size=8, verbose=0, return_dict=True)["elbo"]
    assert elbo <= exact.mean() + 0.05
    path = str(tmp_path / "vae.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(_exact_log_likelihood(loaded, x[:8]), exact, rtol=1e-5)

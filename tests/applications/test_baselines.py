"""Hashing baselines and the Gaussian VAE.

LSH, PCA-ITQ and k-means are NumPy and scikit-learn: their tests run once, on
one backend; the Gaussian VAE is a Keras model and runs on every backend.
"""

import numpy as np
import pytest

from applications import baselines, metrics
from applications import data as app_data


@pytest.mark.backend_independent
def test_itq_lowers_the_quantisation_loss_of_pca_sign():
    x = app_data.load("digits").x_train
    for bits in (8, 16):
        pca_sign = baselines.PCAITQ(bits, iterations=0, random_start=False).fit(x)
        itq = baselines.PCAITQ(bits, iterations=50, seed=0).fit(x)
        assert itq.losses[-1] < pca_sign.losses[-1]
        # Each alternation can only lower the loss.
        assert np.all(np.diff(itq.losses) <= 1e-9 * itq.losses[0])
        assert itq.quantization_loss(x) == pytest.approx(itq.losses[-1], rel=1e-5)
        rotation = itq.rotation.astype(np.float64)
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(bits), atol=1e-5)
        # R = I: the codes are the signs of the principal components.
        np.testing.assert_array_equal(
            pca_sign.encode(x), (pca_sign.pca.transform(x) >= 0).astype(np.uint8)
        )


@pytest.mark.backend_independent
def test_hashing_beats_chance_on_digits():
    data = app_data.load("digits")
    for hasher in (
        baselines.RandomProjectionLSH(16, seed=0),
        baselines.PCAITQ(16, seed=0),
    ):
        hasher.fit(data.x_train)
        codes = hasher.encode(data.x_train)
        assert codes.shape == (len(data.x_train), 16)
        result = metrics.retrieval_metrics(
            hasher.encode(data.x_test), data.y_test, codes, data.y_train
        )
        assert result["map"] > 0.15  # chance is ~0.1


@pytest.mark.backend_independent
def test_kmeans_returns_a_fitted_model():
    x = app_data.load("digits").x_train
    fitted = baselines.kmeans(x, 10, n_init=1, seed=0)
    assert fitted.labels_.shape == (len(x),)
    assert set(fitted.predict(x[:20])) <= set(range(10))


def test_gaussian_vae_trains_and_encodes():
    x = app_data.load("digits").x_train[:200]
    vae = baselines.GaussianVAE((64,), latent_dim=4, hidden_units=(16,), seed=0)
    vae.adapt(x)
    vae.compile(optimizer="adam")
    history = vae.fit(x, epochs=2, batch_size=50, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    means, spread = vae.encode(x, batch_size=64)
    assert spread.shape == (200, 4) and np.all(spread > 0)
    assert means.shape == (200, 4)
    log_likelihood = vae.log_likelihood(x[:5], num_samples=20)
    assert np.all(np.isfinite(log_likelihood)) and np.all(log_likelihood < 0)

"""A VAE with one group of smoothed binary latents and a factorial prior."""

import math

import keras
import numpy as np
from keras import ops

from keras_dvae import smoothing as smoothing_lib
from keras_dvae.distributions import Bernoulli, kl_divergence
from keras_dvae.layers import SmoothedBernoulli
from keras_dvae.utils import checks


@keras.saving.register_keras_serializable(package="keras_dvae")
class BernoulliVAE(keras.Model):
    """Binary-latent VAE: x → q(z|x) → ζ → p(x|ζ), factorial Bernoulli prior.

    The generative model is p(z) r(ζ|z) p(x|ζ) with p(z) a factorial
    Bernoulli (learned or uniform) and r(ζ|z) a smoothing family; with the
    posterior q(z|x) r(ζ|z) the ELBO is

        E_{q(ζ|x)}[log p(x|ζ)] − KL(q(z|x) ‖ p(z)),

    the KL being analytic because r(ζ|z) is shared (Rolfe 2016, §2). While
    training ζ is the smoothed sample; in evaluation the latent layer
    returns the discrete z, so `evaluate` and `log_likelihood` score the
    binary limit p(x) = Σ_z p(z) p(x|z) that the papers report.

    Args:
        input_dim: int, number of binary pixels.
        num_latents: int, number of binary latents.
        hidden_units: tuple of ints, tanh hidden layers of the encoder and the
            decoder; `()` gives the "linear" model.
        smoothing: smoothing family name, config or instance.
        learn_prior: bool, learn the prior's logits (else uniform).
        seed: int or None, for the latent layer's sampling.
        **kwargs: base `keras.Model` arguments.

    Example:

    >>> import numpy as np
    >>> model = BernoulliVAE(input_dim=64, num_latents=16, hidden_units=(64,))
    >>> model.compile(optimizer="adam")
    >>> x = (np.random.rand(100, 64) > 0.5).astype("float32")
    >>> history = model.fit(x, epochs=1, batch_size=50, verbose=0)
    >>> ll = model.log_likelihood(x[:4], num_samples=10)
    """

    def __init__(
        self,
        input_dim,
        num_latents=200,
        hidden_units=(200, 200),
        smoothing="overlapping_exponential",
        learn_prior=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.input_dim = checks.check_positive_int("input_dim", input_dim)
        self.num_latents = checks.check_positive_int("num_latents", num_latents)
        self.hidden_units = tuple(
            checks.check_positive_int("hidden_units", h) for h in hidden_units
        )
        self.smoothing = smoothing_lib.get(smoothing)
        self.learn_prior = bool(learn_prior)
        self.seed = seed
        self.encoder = self._mlp(num_latents, "encoder")
        self.decoder = self._mlp(input_dim, "decoder")
        self.latent = SmoothedBernoulli(self.smoothing, seed=seed, name="latent")
        self.prior_logits = self.add_weight(
            name="prior_logits",
            shape=(num_latents,),
            initializer="zeros",
            trainable=self.learn_prior,
        )
        self.kl_weight = self.add_weight(
            name="kl_weight", shape=(), initializer="ones", trainable=False
        )
        self.elbo_tracker = keras.metrics.Mean(name="elbo")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self._eval_seed = keras.random.SeedGenerator(seed)
        # Built now, so callbacks find the β and KL-weight variables before
        # the first step on every backend.
        self.build((None, self.input_dim))

    def _mlp(self, units, name):
        layers = [keras.layers.Dense(h, activation="tanh") for h in self.hidden_units]
        return keras.Sequential([*layers, keras.layers.Dense(units)], name=name)

    def build(self, input_shape):
        self.encoder.build(input_shape)
        self.latent.build((None, self.num_latents))
        self.decoder.build((None, self.num_latents))
        self.built = True

    def call(self, x, training=None):
        posterior_logits = self.encoder(x, training=training)
        latents = self.latent(posterior_logits, training=training)
        return {
            "reconstruction_logits": self.decoder(latents, training=training),
            "posterior_logits": posterior_logits,
            "latents": latents,
        }

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        reconstruction = ops.sum(
            ops.binary_crossentropy(
                x, y_pred["reconstruction_logits"], from_logits=True
            ),
            axis=-1,
        )
        prior_logits = ops.broadcast_to(
            self.prior_logits, ops.shape(y_pred["posterior_logits"])
        )
        kl = ops.sum(
            kl_divergence(
                Bernoulli(y_pred["posterior_logits"]), Bernoulli(prior_logits)
            ),
            axis=-1,
        )
        elbo = -(reconstruction + kl)
        self.elbo_tracker.update_state(elbo)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return ops.mean(reconstruction + self.kl_weight * kl)

    @property
    def metrics(self):
        return [self.elbo_tracker, self.reconstruction_tracker, self.kl_tracker]

    def log_likelihood(
        self, x, num_samples=1000, batch_size=100, chunk_size=100, verbose=0
    ):
        """Importance-weighted log p(x) in the binary limit, per example.

        log p(x) ≈ log (1/K) Σ_k p(x|z_k) p(z_k) / q(z_k|x),  z_k ~ q(z|x),
        with a running log-sum-exp over chunks of samples so K = 4000 fits
        in bounded memory. A lower bound in expectation, tightening as K grows.

        Args:
            x: binary data, shape (n, input_dim).
            num_samples: K.
            batch_size: examples per batch.
            chunk_size: importance samples per chunk.
            verbose: 1 for a progress bar.

        Returns:
            NumPy array (n,) of log-likelihood estimates in nats.
        """
        num_samples = checks.check_positive_int("num_samples", num_samples)
        x = np.asarray(x, "float32")
        results = []
        progress = keras.utils.Progbar(len(x), verbose=verbose)
        for start in range(0, len(x), batch_size):
            batch = ops.convert_to_tensor(x[start : start + batch_size])
            logits = self.encoder(batch, training=False)
            total = None
            for offset in range(0, num_samples, chunk_size):
                k = min(chunk_size, num_samples - offset)
                log_w = self._log_weights(batch, logits, k)
                chunk = ops.logsumexp(log_w, axis=0)
                total = chunk if total is None else ops.logaddexp(total, chunk)
            results.append(ops.convert_to_numpy(total) - math.log(num_samples))
            progress.add(int(batch.shape[0]))
        return np.concatenate(results)

    def _log_weights(self, x, logits, k):
        shape = (k, *ops.shape(logits))
        q = ops.sigmoid(logits)
        z = ops.cast(keras.random.uniform(shape, seed=self._eval_seed) < q, "float32")
        log_q = ops.sum(Bernoulli(logits).log_prob(z), axis=-1)
        log_prior = ops.sum(Bernoulli(self.prior_logits).log_prob(z), axis=-1)
        flat = ops.reshape(z, (-1, self.num_latents))
        x_logits = ops.reshape(
            self.decoder(flat, training=False), (k, -1, self.input_dim)
        )
        log_px = -ops.sum(
            ops.binary_crossentropy(
                ops.broadcast_to(x, ops.shape(x_logits)), x_logits, from_logits=True
            ),
            axis=-1,
        )
        return log_px + log_prior - log_q

    def generate(self, num_samples, seed=None):
        """Draws x-probabilities from the prior: z ~ p(z), p(x=1|z)."""
        u = keras.random.uniform((num_samples, self.num_latents), seed=seed)
        z = ops.cast(u < ops.sigmoid(self.prior_logits), "float32")
        return ops.sigmoid(self.decoder(z, training=False))

    def reconstruct(self, x):
        """p(x=1|z) with z the discrete code of x drawn from q(z|x)."""
        return ops.sigmoid(self(x, training=False)["reconstruction_logits"])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "input_dim": self.input_dim,
                "num_latents": self.num_latents,
                "hidden_units": list(self.hidden_units),
                "smoothing": smoothing_lib.serialize(self.smoothing),
                "learn_prior": self.learn_prior,
                "seed": self.seed,
            }
        )
        return config

"""The interface every prior of a `DiscreteVAE` implements."""

import keras

from keras_dvae.utils import checks, seed_state


class Prior(seed_state.SavesSeedState, keras.layers.Layer):
    """A prior p(z) over a VAE's latent codes, as a Keras layer.

    A `DiscreteVAE` asks it for the KL against the encoder's posterior,
    `kl_divergence(posterior, prior)` (registered next to the prior with
    `register_kl`; per example, the gradient possibly a surrogate), for
    normalised `log_prob(z)` per example, and for `sample(num_samples)`.
    A prior with an intractable normaliser (`has_log_partition`, `RBMPrior`)
    keeps its own log Z estimate, made current by `ensure_log_partition()`
    before anything reports a likelihood. Untrained state (chains, seeds)
    lives in non-trainable variables, so weight files keep it.

    Args:
        num_latents: int ≥ 1, width of the codes (n, num_latents).
        seed: int ≥ 0 or None, seeds the `SeedGenerator` used by `sample`.
        **kwargs: base `keras.layers.Layer` arguments.
    """

    #: Whether the prior has a log Z of its own to estimate.
    has_log_partition = False

    def __init__(self, num_latents, seed=None, **kwargs):
        checks.check_dtype_policy(type(self).__name__, kwargs.get("dtype"))
        super().__init__(**kwargs)
        self.num_latents = checks.check_positive_int("num_latents", num_latents)
        if seed is not None:
            seed = checks.check_positive_int("seed", seed, minimum=0)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def log_prob(self, z):
        """log p(z) of discrete codes `z` (n, num_latents), per example."""
        raise NotImplementedError(f"{type(self).__name__} must implement log_prob")

    def sample(self, num_samples):
        """Codes z ~ p(z) of shape (num_samples, num_latents)."""
        raise NotImplementedError(f"{type(self).__name__} must implement sample")

    def ensure_log_partition(self, verbose=0):
        """Makes log Z current (re-estimates it if stale); returns its info dict."""
        return {"log_z": 0.0, "method": "normalised prior", "seconds": 0.0}

    def call(self, *args, **kwargs):
        raise NotImplementedError(
            f"{type(self).__name__} is not called directly: use "
            "kl_divergence(posterior, prior), log_prob and sample."
        )

    def get_config(self):
        return {
            **super().get_config(),
            "num_latents": self.num_latents,
            "seed": self.seed,
        }

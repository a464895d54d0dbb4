"""A factorial categorical prior over one-hot latents: uniform or learned."""

import keras
from keras import ops

from keras_dvae.distributions import Categorical, kl_divergence
from keras_dvae.distributions.kl import register_kl
from keras_dvae.distributions.posterior import CategoricalPosterior
from keras_dvae.priors.base import Prior
from keras_dvae.utils import checks


@keras.saving.register_keras_serializable(package="keras_dvae")
class CategoricalPrior(Prior):
    """p(z) = Π_l Categorical(softmax(b_l)) over L one-hot latents of K categories.

    Codes are flattened one-hot vectors, (n, L × K), latent-major. With
    `learned=False` the logits stay 0: the uniform prior of Jang et al.,
    whose KL per latent is Σ_k q_k log q_k + log K.

    Args:
        num_latents: int ≥ 1, L.
        num_categories: int ≥ 2, K.
        learned: learn the logits b (L, K).
        seed: int ≥ 0 or None, seeds `sample`.
        **kwargs: base `keras.layers.Layer` arguments.

    Example:

    >>> prior = CategoricalPrior(num_latents=3, num_categories=4)
    >>> tuple(prior.sample(2).shape)
    (2, 12)
    """

    def __init__(self, num_latents, num_categories, learned=False, seed=None, **kwargs):
        super().__init__(num_latents=num_latents, seed=seed, **kwargs)
        self.num_categories = checks.check_positive_int(
            "num_categories", num_categories, minimum=2
        )
        self.learned = bool(learned)
        self.logits = self.add_weight(
            name="logits",
            shape=(self.num_latents, self.num_categories),
            initializer="zeros",
            trainable=self.learned,
        )
        self.built = True

    @property
    def distribution(self):
        """`Categorical` over the (L, K) logits."""
        return Categorical(ops.cast(self.logits, self.compute_dtype))

    def log_prob(self, z):
        one_hot = ops.reshape(z, (-1, self.num_latents, self.num_categories))
        return ops.sum(self.distribution.log_prob(one_hot), axis=-1)

    def sample(self, num_samples):
        num_samples = checks.check_positive_int("num_samples", num_samples)
        logits = ops.broadcast_to(
            self.distribution.logits,
            (num_samples, self.num_latents, self.num_categories),
        )
        z = Categorical(logits).sample(seed=self.seed_generator)
        return ops.reshape(z, (num_samples, self.num_latents * self.num_categories))

    def get_config(self):
        return {
            **super().get_config(),
            "num_categories": self.num_categories,
            "learned": self.learned,
        }


@register_kl(CategoricalPosterior, CategoricalPrior)
def _kl_categorical_prior(q, p):
    return ops.sum(kl_divergence(q.distribution, p.distribution), axis=-1)

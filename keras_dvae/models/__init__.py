"""Assembled VAEs trained with `compile()` + `fit()`."""

from keras_dvae.models.bernoulli_vae import BernoulliVAE

__all__ = ["BernoulliVAE"]

"""Parts shared by the named constructors (one place for each)."""

import math

from keras_dvae import smoothing as smoothing_lib
from keras_dvae.layers import SmoothedBernoulli
from keras_dvae.likelihoods import BernoulliLikelihood
from keras_dvae.models.vae import check_image_shape
from keras_dvae.networks import HierarchicalEncoder, MLPDecoder
from keras_dvae.priors import RBMPrior
from keras_dvae.utils import checks


def check_choice(name, value, options):
    """Raises `ValueError` unless `value` is one of `options`."""
    if value not in options:
        raise ValueError(
            f"`{name}` must be one of {list(options)}. Received: {name}={value!r}"
        )


def smoothing_family(smoothing, default, overlapping, model):
    """The family (default if None), checked for being overlapping or not."""
    family = smoothing_lib.get(default if smoothing is None else smoothing)
    if family.is_overlapping != overlapping:
        wanted = (
            "an overlapping smoothing family (overlapping_exponential, "
            "overlapping_logistic, power_function)"
            if overlapping
            else "the spike-and-exponential smoothing"
        )
        raise ValueError(
            f"{model} needs {wanted}. Received: smoothing={type(family).__name__}"
        )
    return family


def binary_encoder(smoothing, num_latents, num_groups, hidden_units, seed):
    """A fully connected hierarchical encoder over smoothed binary units."""
    if seed is not None:
        # Before any seed generator sees it (JAX raises OverflowError).
        checks.check_positive_int("seed", seed, minimum=0)
    return HierarchicalEncoder(
        SmoothedBernoulli(smoothing, seed=seed, name="latent"),
        num_latents=num_latents,
        num_groups=num_groups,
        hidden_units=hidden_units,
        name="encoder",
    )


def bernoulli_mlp_output(image_shape, hidden_units, **kwargs):
    """The decoder and likelihood parts: an MLP to one logit per pixel."""
    output_dim = math.prod(check_image_shape(image_shape))
    return {
        "decoder": MLPDecoder(output_dim, hidden_units, name="decoder", **kwargs),
        "likelihood": BernoulliLikelihood(name="likelihood"),
    }


def rbm_prior(num_latents, num_chains, gibbs_sweeps, seed):
    """The RBM prior over `num_latents` units split in two equal sides."""
    num_latents = checks.check_positive_int("num_latents", num_latents)
    if num_latents % 2:
        raise ValueError(
            "The RBM splits the latent units in two halves, so `num_latents` "
            f"must be even. Received: num_latents={num_latents}"
        )
    half = num_latents // 2
    return RBMPrior(
        half,
        half,
        num_chains=num_chains,
        gibbs_sweeps=gibbs_sweeps,
        seed=seed,
        name="prior",
    )

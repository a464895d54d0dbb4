"""Convolutional DVAE++: a global RBM over binary units, local conv latents."""

import keras

from keras_dvae import smoothing as smoothing_lib
from keras_dvae.layers import GaussianLatent, SmoothedBernoulli
from keras_dvae.likelihoods import LIKELIHOODS
from keras_dvae.models import assembly
from keras_dvae.models.vae import DiscreteVAE, check_image_shape
from keras_dvae.networks import ConvTrunk, HierarchicalEncoder, TopDownDecoder
from keras_dvae.priors import BernoulliPrior, NormalPrior
from keras_dvae.utils import checks

PRIORS = ("rbm", "bernoulli", "normal")


@keras.saving.register_keras_serializable(package="keras_dvae")
class ConvDVAEPP(DiscreteVAE):
    """Convolutional DVAE++ (Vahdat et al. 2018, §6 and Table 3).

    `num_latents` global units z (binary unless `prior="normal"`) over
    `num_groups` posterior groups summarise the image; below them
    `local_groups` groups of local latents h_k, each a P/4 × P/4 ×
    `local_channels` map (P the image side padded to a multiple of 8):

        p(x, h, ζ, z) = p(z) r(ζ|z) Π_k p(h_k | ζ, h_<k) p(x | ζ, h),
        q(z, ζ, h | x) = Π_g q(z_g | x, ζ_<g) r(ζ_g|z_g) Π_k q(h_k | x, ζ, h_<k).

    Parts: a `HierarchicalEncoder` on a `ConvTrunk`, a `TopDownDecoder`,
    and Bernoulli pixels or a discretised logistic mixture (8-bit images).
    The variants of DVAE++ Table 3 are configurations of this model:

    | Table 3 column            | prior       | smoothing  | local_latents |
    | ------------------------- | ----------- | ---------- | ------------- |
    | all continuous            | "normal"    | —          | "normal"      |
    | RBM, Rolfe's smoothing    | "rbm"       | spike-exp  | "normal"      |
    | RBM, overlapping (DVAE++) | "rbm"       | overlap-ex | "normal"      |
    | all discrete, RBM         | "rbm"       | overlap-ex | "bernoulli"   |
    | all discrete, Bernoulli   | "bernoulli" | overlap-ex | "bernoulli"   |

    (spike-exp: "spike_and_exponential", with Rolfe's KL estimator as in
    `DVAE`; overlap-ex: "overlapping_exponential", the default.) For 8-bit
    images `log_likelihood` is in nats over the pixel values; bits/dim =
    −log p(x) / (H·W·C·ln 2).

    Args:
        image_shape: (H, W, C).
        num_latents: int, global latent units (16).
        num_groups: int, groups of the global posterior's hierarchy.
        prior: "rbm", "bernoulli" (factorial, learned) or "normal".
        smoothing: smoothing family of the binary latents.
        local_groups: int ≥ 1, groups of local latents (16).
        local_channels: int, channels of each local group's map.
        local_latents: "normal" or "bernoulli".
        filters: int (multiple of 4), channels of the networks.
        hidden_units: hidden sizes of the global posterior's MLPs.
        likelihood: "bernoulli" (binary images) or "logistic_mixture"
            (8-bit images).
        num_mixtures: mixture components of the logistic likelihood.
        num_chains, gibbs_sweeps, weight_decay, seed, **kwargs: see `DVAEPP`.

    Example:

    >>> import numpy as np
    >>> model = ConvDVAEPP(image_shape=(8, 8, 1), num_latents=4, local_groups=1,
    ...                    filters=4, hidden_units=(), num_chains=4)
    >>> x = (np.random.rand(2, 8, 8, 1) > 0.5).astype("float32")
    >>> model.log_likelihood(x, num_samples=2).shape   # log Z exact
    (2,)

    References:
        Vahdat et al., "DVAE++", ICML 2018; Vahdat & Kautz, "NVAE", NeurIPS
        2020 (top-down cells); Salimans et al., "PixelCNN++", ICLR 2017.
    """

    def __init__(
        self,
        image_shape=(28, 28, 1),
        num_latents=16,
        num_groups=2,
        prior="rbm",
        smoothing=None,
        local_groups=16,
        local_channels=4,
        local_latents="normal",
        filters=64,
        hidden_units=(256,),
        likelihood="bernoulli",
        num_mixtures=10,
        num_chains=1000,
        gibbs_sweeps=40,
        weight_decay=0.0,
        seed=None,
        **kwargs,
    ):
        image_shape = check_image_shape(image_shape)
        if len(image_shape) != 3:
            raise ValueError(
                "`image_shape` must be (height, width, channels) for a "
                f"convolutional model. Received: image_shape={image_shape!r}"
            )
        assembly.check_choice("prior", prior, PRIORS)
        assembly.check_choice("likelihood", likelihood, LIKELIHOODS)
        smoothing = smoothing_lib.get(
            "overlapping_exponential" if smoothing is None else smoothing
        )
        if seed is not None:
            checks.check_positive_int("seed", seed, minimum=0)
        seeds = [None if seed is None else seed + i for i in range(4)]
        if prior == "normal":
            latent = GaussianLatent(seed=seeds[2], name="latent")
            prior_part = NormalPrior(num_latents, seed=seeds[2], name="prior")
        else:
            latent = SmoothedBernoulli(smoothing, seed=seeds[0], name="latent")
            if prior == "rbm":
                prior_part = assembly.rbm_prior(
                    num_latents, num_chains, gibbs_sweeps, seed
                )
            else:
                prior_part = BernoulliPrior(
                    num_latents, hidden_units=(), seed=seeds[0], name="prior"
                )
        if likelihood == "bernoulli":
            likelihood_part = LIKELIHOODS[likelihood](name="likelihood")
        else:
            likelihood_part = LIKELIHOODS[likelihood](
                image_shape, num_mixtures, seed=seeds[3], name="likelihood"
            )
        super().__init__(
            encoder=HierarchicalEncoder(
                latent,
                num_latents=num_latents,
                num_groups=num_groups,
                hidden_units=hidden_units,
                trunk=ConvTrunk(image_shape, filters, name="trunk"),
                name="encoder",
            ),
            prior=prior_part,
            decoder=TopDownDecoder(
                image_shape,
                likelihood_part.num_outputs(image_shape[-1]),
                local_groups=local_groups,
                local_channels=local_channels,
                local_latents=local_latents,
                filters=filters,
                output_bias=likelihood == "bernoulli",
                smoothing=smoothing,
                seed=seeds[1],
                name="decoder",
            ),
            likelihood=likelihood_part,
            image_shape=image_shape,
            weight_decay=weight_decay,
            seed=seed,
            **kwargs,
        )
        self.smoothing = smoothing

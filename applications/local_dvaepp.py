"""DVAE++ with a layer of local Gaussian latents below its binary code."""

import keras

from keras_dvae import smoothing as smoothing_lib
from keras_dvae.models import DiscreteVAE, assembly
from keras_dvae.models.vae import check_image_shape
from keras_dvae.utils import checks


@keras.saving.register_keras_serializable(package="applications")
class LocalDVAEPP(DiscreteVAE):
    """A one-group DVAE++ whose decoder has Gaussian latents below the code.

    The parts of `DVAEPP` (overlapping-exponential smoothing, an RBM prior
    of `num_latents`/2 + `num_latents`/2 units, tanh MLPs with batch norm),
    except that the `MLPDecoder` carries one layer of `local_units`
    diagonal Gaussian latents h between the code and the pixels, as in
    Rolfe's DVAE (§4) and the local latents of `ConvDVAEPP`:

        p(x, h, ζ, z) = p(z) r(ζ|z) p(h|ζ) p(x|ζ, h),
        q(z, ζ, h | x) = q(z|x) r(ζ|z) q(h|x, ζ).

    The loss adds KL(q(h|x,ζ) ‖ p(h|ζ)) to the code's KL. The point for
    hashing: the pixel detail that a 16–64 bit code would otherwise have to
    carry can go into h, so the binary code (read by `feature_extractor`,
    which runs the encoder only) is left with the coarse shape. That is the
    mechanism behind the convolutional presets' global codes (see
    applications/README.md), here with the fully connected networks.

    Args:
        image_shape: (D,) of binary pixels.
        num_latents: int, even, binary units of the code.
        hidden_units: "nonlinear", "linear" or a tuple of hidden sizes (all
            the MLPs: encoder, decoder, q(h|x, ζ) and p(h|ζ)).
        local_units: int ≥ 1, Gaussian units of h.
        num_chains, gibbs_sweeps: persistent chains of the RBM prior.
        weight_decay: L2 coefficient λ: λ/2 Σ w² over the kernels.
        seed: int ≥ 0 or None.
        **kwargs: base `keras.Model` arguments.

    Example:

    >>> import numpy as np
    >>> model = LocalDVAEPP((16,), num_latents=4, hidden_units=(8,),
    ...                     local_units=3, num_chains=4, gibbs_sweeps=1, seed=0)
    >>> model.compile(optimizer="adam")
    >>> x = (np.random.rand(8, 16) > 0.5).astype("float32")
    >>> history = model.fit(x, epochs=1, batch_size=4, verbose=0)
    >>> model.feature_extractor("codes").predict(x, verbose=0).shape
    (8, 4)

    References:
        Rolfe, "Discrete Variational Autoencoders", ICLR 2017, §4;
        Vahdat et al., "DVAE++", ICML 2018, §5–6.
    """

    def __init__(
        self,
        image_shape=(784,),
        num_latents=32,
        hidden_units="nonlinear",
        local_units=64,
        num_chains=100,
        gibbs_sweeps=10,
        weight_decay=1e-4,
        seed=None,
        **kwargs,
    ):
        image_shape = check_image_shape(image_shape)
        if len(image_shape) != 1:
            raise ValueError(
                "`image_shape` must be (num_pixels,) for the fully connected "
                f"networks. Received: image_shape={image_shape!r}"
            )
        local_units = checks.check_positive_int("local_units", local_units)
        super().__init__(
            encoder=assembly.binary_encoder(
                smoothing_lib.get("overlapping_exponential"),
                num_latents,
                1,
                hidden_units,
                seed,
            ),
            prior=assembly.rbm_prior(num_latents, num_chains, gibbs_sweeps, seed),
            **assembly.bernoulli_mlp_output(
                image_shape,
                hidden_units,
                context_dim=image_shape[0],
                continuous_layers=1,
                continuous_units=local_units,
                seed=None if seed is None else seed + 1,
            ),
            image_shape=image_shape,
            weight_decay=weight_decay,
            seed=seed,
            **kwargs,
        )

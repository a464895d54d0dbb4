"""DVAE (Rolfe 2016): spike-and-exponential smoothing with an RBM prior."""

import math

import keras

from keras_dvae.models import assembly
from keras_dvae.models.vae import DiscreteVAE, check_image_shape


@keras.saving.register_keras_serializable(package="keras_dvae")
class DVAE(DiscreteVAE):
    """The discrete VAE of Rolfe (2016): spike-and-exponential, RBM prior.

    The parts of `DVAEPP` with the spike-and-exponential smoothing (β = 4
    in the reference recipe): ζ = 0 exactly when z = 0, so z is a function
    of ζ and the posterior of a unit given its own ζ is z itself. The KL
    (`priors.rbm_kl`) has the DVAE++ value with ν = z; with several groups
    its gradient for the encoder is Rolfe's estimator (arXiv:1609.02200v2,
    eqs. 11–12, as in the DVAE/DVAE# reference code). With one group both
    reduce to the closed-form factorial KL.

    Continuous layers (Rolfe 2016, §4). With `continuous_layers = L > 0`
    the decoder (`MLPDecoder`) carries L layers of Gaussian latents below
    the discrete ones; the ELBO gains their KL and `log_likelihood` is the
    IWAE bound over (z, h) jointly.

    Args:
        image_shape, num_latents, num_groups, hidden_units, num_chains,
            gibbs_sweeps, weight_decay, seed: see `DVAEPP`.
        smoothing: a spike-and-exponential family (default β = 4).
        continuous_layers: int ≥ 0, Gaussian layers below the discrete ones.
        continuous_units: int ≥ 1, units of each Gaussian layer.
        **kwargs: base `keras.Model` arguments.

    Example:

    >>> import numpy as np
    >>> model = DVAE(image_shape=(64,), num_latents=8, num_groups=2,
    ...              hidden_units=(32,), num_chains=50, gibbs_sweeps=5)
    >>> model.compile(optimizer="adam")
    >>> x = (np.random.rand(100, 64) > 0.5).astype("float32")
    >>> history = model.fit(x, epochs=1, batch_size=50, verbose=0)

    References:
        Rolfe, "Discrete Variational Autoencoders", ICLR 2017.
    """

    def __init__(
        self,
        image_shape=(784,),
        num_latents=200,
        num_groups=1,
        hidden_units="nonlinear",
        smoothing=None,
        num_chains=1000,
        gibbs_sweeps=40,
        continuous_layers=0,
        continuous_units=64,
        weight_decay=1e-4,
        seed=None,
        **kwargs,
    ):
        smoothing = assembly.smoothing_family(
            smoothing,
            {"class_name": "SpikeAndExponential", "config": {"beta": 4.0}},
            False,
            "DVAE",
        )
        super().__init__(
            encoder=assembly.binary_encoder(
                smoothing, num_latents, num_groups, hidden_units, seed
            ),
            prior=assembly.rbm_prior(num_latents, num_chains, gibbs_sweeps, seed),
            **assembly.bernoulli_mlp_output(
                image_shape,
                hidden_units,
                context_dim=math.prod(check_image_shape(image_shape)),
                continuous_layers=continuous_layers,
                continuous_units=continuous_units,
                seed=None if seed is None else seed + 1,
            ),
            image_shape=image_shape,
            weight_decay=weight_decay,
            seed=seed,
            **kwargs,
        )
        self.smoothing = smoothing

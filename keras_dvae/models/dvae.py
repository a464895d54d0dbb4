"""DVAE (Rolfe 2016): spike-and-exponential smoothing with an RBM prior."""

import math

import keras

from keras_dvae.models import assembly
from keras_dvae.models.vae import DiscreteVAE, check_image_shape


@keras.saving.register_keras_serializable(package="keras_dvae")
class DVAE(DiscreteVAE):
    """The discrete VAE of Rolfe (2016): spike-and-exponential, RBM prior.

    The parts of `DVAEPP` with spike-and-exponential smoothing (β = 4 in
    the reference recipe): ζ = 0 exactly when z = 0, so z is a function of
    ζ. The KL (`priors.rbm_kl`) has the DVAE++ value with ν = z; with
    several groups its encoder gradient is Rolfe's estimator
    (arXiv:1609.02200v2, eqs. 11–12), as in the DVAE/DVAE# reference code.
    With `continuous_layers = L > 0` the `MLPDecoder` carries L layers of
    Gaussian latents below the discrete ones (Rolfe 2016, §4).

    Args:
        image_shape, num_latents, num_groups, hidden_units, num_chains,
            gibbs_sweeps, weight_decay, seed, **kwargs: see `DVAEPP`.
        smoothing: a spike-and-exponential family (default β = 4).
        continuous_layers: int ≥ 0, Gaussian layers below the discrete ones.
        continuous_units: int ≥ 1, units of each Gaussian layer.

    Example:

    >>> import numpy as np
    >>> model = DVAE(image_shape=(16,), num_latents=4, num_groups=2,
    ...              hidden_units=(8,), num_chains=4, gibbs_sweeps=1)
    >>> model.compile(optimizer="adam")
    >>> x = (np.random.rand(4, 16) > 0.5).astype("float32")
    >>> history = model.fit(x, epochs=1, batch_size=4, verbose=0)

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

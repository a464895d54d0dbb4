"""A binary-latent VAE with a factorial or directed hierarchical Bernoulli prior."""

import keras

from keras_dvae import smoothing as smoothing_lib
from keras_dvae.models import assembly
from keras_dvae.models.vae import DiscreteVAE
from keras_dvae.priors import BernoulliPrior


@keras.saving.register_keras_serializable(package="keras_dvae")
class BernoulliVAE(DiscreteVAE):
    """Binary-latent VAE with a directed Bernoulli prior (DVAE++ §4).

    The parts: a `HierarchicalEncoder` over G groups of smoothed binary
    units, a `BernoulliPrior` with the same groups (p(z_g|ζ_<g) an MLP of
    the earlier groups; factorial with one group, DVAE++ Table 1), an
    `MLPDecoder` and Bernoulli pixels. `elbo="joint"` or `"marginal"`
    selects the KL term (see `BernoulliPrior`); the marginal ELBO needs an
    overlapping smoothing family. In evaluation both report the discrete
    ELBO.

    Args:
        image_shape: (D,) or (H, W, C) of binary pixels.
        num_latents: int, binary units over all groups.
        num_groups: int ≥ 1.
        hidden_units: "nonlinear", "linear" or sizes, for the encoder,
            decoder and prior conditionals.
        smoothing: smoothing family (default overlapping exponential, β = 10).
        elbo: "joint" or "marginal".
        learn_prior: learn the prior (else p(z) uniform; only with one group).
        weight_decay: L2 coefficient λ on every kernel.
        seed: int or None.
        **kwargs: base `keras.Model` arguments.

    Example:

    >>> import numpy as np
    >>> model = BernoulliVAE(image_shape=(64,), num_latents=16, hidden_units=(64,))
    >>> model.compile(optimizer="adam")
    >>> x = (np.random.rand(100, 64) > 0.5).astype("float32")
    >>> history = model.fit(x, epochs=1, batch_size=50, verbose=0)
    >>> ll = model.log_likelihood(x[:4], num_samples=10)

    References:
        Vahdat, Macready, Bian, Khoshaman, Andriyash, "DVAE++: Discrete
        Variational Autoencoders with Overlapping Transformations", ICML 2018,
        §4 and Tables 1–2.
    """

    def __init__(
        self,
        image_shape=(784,),
        num_latents=200,
        num_groups=1,
        hidden_units="nonlinear",
        smoothing="overlapping_exponential",
        elbo="joint",
        learn_prior=True,
        weight_decay=1e-4,
        seed=None,
        **kwargs,
    ):
        smoothing = smoothing_lib.get(smoothing)
        if elbo == "marginal" and not smoothing.is_overlapping:
            raise ValueError(
                "The marginal ELBO needs a smoothing family with a density on "
                f"[0, 1] (an overlapping one); {type(smoothing).__name__} has an "
                f"atom. Received: elbo={elbo!r}, "
                f"smoothing={type(smoothing).__name__}"
            )
        if not learn_prior and num_groups != 1:
            # Checked here to name this constructor's argument.
            raise ValueError(
                "`learn_prior=False` (a uniform prior) needs num_groups=1. "
                f"Received: learn_prior={learn_prior!r}, num_groups={num_groups!r}"
            )
        super().__init__(
            encoder=assembly.binary_encoder(
                smoothing, num_latents, num_groups, hidden_units, seed
            ),
            prior=BernoulliPrior(
                num_latents,
                num_groups=num_groups,
                hidden_units=hidden_units,
                learned=learn_prior,
                elbo=elbo,
                seed=seed,
                name="prior",
            ),
            **assembly.bernoulli_mlp_output(image_shape, hidden_units),
            image_shape=image_shape,
            weight_decay=weight_decay,
            seed=seed,
            **kwargs,
        )
        self.smoothing = smoothing
        self.learn_prior = bool(learn_prior)

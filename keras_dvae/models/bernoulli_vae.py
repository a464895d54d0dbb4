"""A binary-latent VAE with a factorial or directed hierarchical Bernoulli prior."""

import keras

from keras_dvae import estimators
from keras_dvae import smoothing as smoothing_lib
from keras_dvae.models import assembly
from keras_dvae.models.vae import DiscreteVAE
from keras_dvae.priors import BernoulliPrior


@keras.saving.register_keras_serializable(package="keras_dvae")
class BernoulliVAE(DiscreteVAE):
    """Binary-latent VAE with a directed Bernoulli prior (DVAE++ §4).

    Parts: a `HierarchicalEncoder` over G groups of smoothed binary units,
    a `BernoulliPrior` with the same groups (p(z_g|ζ_<g) an MLP of the
    earlier groups; factorial with one group, DVAE++ Table 1), an
    `MLPDecoder` and Bernoulli pixels.

    Args:
        image_shape, num_latents, num_groups, weight_decay, seed, **kwargs:
            see `DVAEPP`.
        hidden_units: as for `DVAEPP`, also for the prior's conditionals.
        smoothing: smoothing family.
        elbo: "joint" or "marginal", the KL term (see `BernoulliPrior`);
            "marginal" needs an overlapping smoothing family.
        learn_prior: learn the prior (else p(z) uniform; only with one group).
        estimator: None (train through the smoothing relaxation) or a
            gradient estimator for hard codes (`keras_dvae.estimators`:
            "score_function", "disarm", "rebar", "relax", "vimco", or an
            instance); needs `num_groups=1`.

    Example:

    >>> import numpy as np
    >>> model = BernoulliVAE(image_shape=(16,), num_latents=4, hidden_units=(8,))
    >>> model.compile(optimizer="adam")
    >>> x = (np.random.rand(4, 16) > 0.5).astype("float32")
    >>> history = model.fit(x, epochs=1, batch_size=4, verbose=0)
    >>> ll = model.log_likelihood(x, num_samples=2)

    References:
        Vahdat et al., "DVAE++", ICML 2018, §4 and Tables 1–2.
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
        estimator=None,
        weight_decay=1e-4,
        seed=None,
        **kwargs,
    ):
        smoothing = smoothing_lib.get(smoothing)
        if estimator is not None:
            estimator = estimators.get(estimator, seed=seed)
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
            estimator=estimator,
            seed=seed,
            **kwargs,
        )
        self.smoothing = smoothing
        self.learn_prior = bool(learn_prior)

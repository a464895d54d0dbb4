"""A binary-latent VAE with a factorial or directed hierarchical Bernoulli prior."""

import keras
from keras import ops

from keras_dvae.distributions import Bernoulli, kl_divergence
from keras_dvae.models.base import mlp
from keras_dvae.models.binary_latent import BinaryLatentVAE

ELBOS = ("joint", "marginal")


@keras.saving.register_keras_serializable(package="keras_dvae")
class BernoulliVAE(BinaryLatentVAE):
    """Binary-latent VAE with a directed Bernoulli prior (DVAE++ §4).

    Generative model over G groups of binary units smoothed into ζ:

        p(z, ζ, x) = Π_g p(z_g | ζ_<g) r(ζ_g | z_g) · p(x | ζ),

    p(z_1) a factorial Bernoulli with learned logits and p(z_g|ζ_<g) an MLP
    of the earlier groups (same structure as the encoder); with one group
    the prior is factorial (DVAE++ Table 1). The posterior is
    Π_g q(z_g|x, ζ_<g) r(ζ_g|z_g) (see `BinaryLatentVAE`). Two objectives:

    - `elbo="joint"`, the ELBO of (z, ζ): the r(ζ|z) factors cancel and
      KL = Σ_g E_{ζ_<g}[KL(q(z_g|x, ζ_<g) ‖ p(z_g|ζ_<g))], analytic given
      the sampled ζ_<g (DVAE++ eq. 8).
    - `elbo="marginal"`, the ELBO of ζ alone (tighter): the KL term is
      E_q[log q(ζ|x) − log p(ζ)] with the mixture densities
      q(ζ_g|x, ζ_<g) = Σ_z q(z|·) r(ζ_g|z) and likewise p (DVAE++ eq. 9),
      estimated on the reparameterised sample. It needs an overlapping
      family (no atom at ζ = 0).

    In evaluation both report the discrete ELBO,
    E_q[log p(x|z)] − Σ_g E[KL(q(z_g|x, z_<g) ‖ p(z_g|z_<g))].

    Args:
        input_dim: int, number of binary pixels.
        latents_per_group: int, binary units per group.
        num_groups: int ≥ 1.
        structure: "nonlinear", "linear" or a tuple of hidden sizes, for the
            encoder, decoder and prior conditionals.
        smoothing: smoothing family (default overlapping exponential, β = 10).
        elbo: "joint" or "marginal".
        learn_prior: learn the prior (else p(z) uniform; only with one group).
        weight_decay: see `BinaryLatentVAE`.
        seed: int or None.
        **kwargs: base `keras.Model` arguments.

    Example:

    >>> import numpy as np
    >>> model = BernoulliVAE(input_dim=64, latents_per_group=16, structure=(64,))
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
        input_dim,
        latents_per_group=200,
        num_groups=1,
        structure="nonlinear",
        smoothing="overlapping_exponential",
        elbo="joint",
        learn_prior=True,
        weight_decay=1e-4,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            input_dim=input_dim,
            latents_per_group=latents_per_group,
            num_groups=num_groups,
            structure=structure,
            smoothing=smoothing,
            weight_decay=weight_decay,
            seed=seed,
            **kwargs,
        )
        if elbo not in ELBOS:
            raise ValueError(f"`elbo` must be one of {ELBOS}. Received: elbo={elbo!r}")
        if elbo == "marginal" and not self.smoothing.is_overlapping:
            raise ValueError(
                "The marginal ELBO needs a smoothing family with a density on "
                f"[0, 1] (an overlapping one); {type(self.smoothing).__name__} "
                f"has an atom. Received: elbo={elbo!r}, "
                f"smoothing={type(self.smoothing).__name__}"
            )
        if not learn_prior and num_groups > 1:
            raise ValueError(
                "`learn_prior=False` (a uniform prior) needs num_groups=1. "
                f"Received: learn_prior={learn_prior}, num_groups={num_groups}"
            )
        self.elbo = elbo
        self.learn_prior = bool(learn_prior)
        self.prior_logits = self.add_weight(
            name="prior_logits",
            shape=(latents_per_group,),
            initializer="zeros",
            trainable=self.learn_prior,
        )
        self.prior_networks = [
            mlp(self.hidden_units, latents_per_group, f"prior_{g}")
            for g in range(1, num_groups)
        ]
        self.build((None, input_dim))

    def build(self, input_shape=None):
        super().build(input_shape)
        for g, net in enumerate(self.prior_networks, start=1):
            net.build((None, g * self.latents_per_group))

    def _extra_networks(self):
        return self.prior_networks

    def prior_group_logits(self, latents):
        """Logits of p(z_g | ζ_<g) for every group, concatenated, per example."""
        groups = self._split(latents)
        first = ops.broadcast_to(
            ops.cast(self.prior_logits, latents.dtype),
            (*ops.shape(latents)[:-1], self.latents_per_group),
        )
        logits = [first]
        for g, net in enumerate(self.prior_networks, start=1):
            logits.append(net(ops.concatenate(groups[:g], axis=-1)))
        return ops.concatenate(logits, axis=-1)

    def _prior_outputs(self, latents, training):
        if not self.prior_networks:
            return {}
        return {"prior_logits": self.prior_group_logits(latents)}

    def _prior_logits(self, y_pred):
        if "prior_logits" in y_pred:
            return y_pred["prior_logits"]
        return self.prior_group_logits(y_pred["latents"])

    def _kl(self, y_pred, training):
        q_logits = y_pred["posterior_logits"]
        p_logits = self._prior_logits(y_pred)
        if self.elbo == "marginal" and training:
            family = self.latent.family
            zeta = y_pred["latents"]
            return ops.sum(
                family._log_prob(zeta, q_logits) - family._log_prob(zeta, p_logits),
                axis=-1,
            )
        return ops.sum(kl_divergence(Bernoulli(q_logits), Bernoulli(p_logits)), axis=-1)

    def _log_prior(self, z):
        return ops.sum(Bernoulli(self.prior_group_logits(z)).log_prob(z), axis=-1)

    def _sample_prior(self, num_samples, seed=None):
        seed = self._eval_seed if seed is None else seed
        groups = []
        for g in range(self.num_groups):
            if g == 0:
                logits = ops.broadcast_to(
                    self.prior_logits, (num_samples, self.latents_per_group)
                )
            else:
                logits = self.prior_networks[g - 1](
                    ops.concatenate(groups, axis=-1), training=False
                )
            u = keras.random.uniform(ops.shape(logits), seed=seed)
            groups.append(ops.cast(u < ops.sigmoid(logits), logits.dtype))
        return ops.concatenate(groups, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"elbo": self.elbo, "learn_prior": self.learn_prior})
        return config

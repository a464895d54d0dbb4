"""Factorial and directed hierarchical Bernoulli priors over binary latents."""

import keras
from keras import ops

from keras_dvae.distributions import Bernoulli, kl_divergence
from keras_dvae.distributions.kl import register_kl
from keras_dvae.distributions.posterior import BinaryPosterior
from keras_dvae.layers.mlp import mlp, resolve_hidden_units, serialize_hidden_units
from keras_dvae.priors.base import Prior
from keras_dvae.utils import checks

ELBOS = ("joint", "marginal")


@keras.saving.register_keras_serializable(package="keras_dvae")
class BernoulliPrior(Prior):
    """A directed prior over G groups of binary units (factorial for G = 1).

    Mathematical details:

        p(z) = Π_g p(z_g | ζ_<g),   p(z_1) = Π_i Bernoulli(σ(b_i)),

    p(z_g|ζ_<g) for g > 1 a factorial Bernoulli with logits an MLP of the
    earlier groups (DVAE++ §4). The KL against a `BinaryPosterior`:

    - `elbo="joint"`, of (z, ζ): Σ_g E_{ζ_<g}[KL(q(z_g|x, ζ_<g) ‖ p(z_g|ζ_<g))]
      (DVAE++ eq. 8);
    - `elbo="marginal"`, of ζ alone (tighter): log q(ζ|x) − log p(ζ) with
      the mixture densities Σ_z q(z|·) r(ζ_g|z) (DVAE++ eq. 9) on the
      sample; it needs an overlapping family (no atom).

    On discrete samples both give the discrete KL.

    Args:
        num_latents: int, binary units in all groups.
        num_groups: int ≥ 1 dividing `num_latents`.
        hidden_units: the conditionals' MLPs ("nonlinear", "linear" or
            sizes).
        learned: learn p(z_1)'s logits (else uniform; only with one group).
        elbo: "joint" or "marginal".
        seed: int ≥ 0 or None, seeds `sample`.
        **kwargs: base `keras.layers.Layer` arguments.

    Example:

    >>> prior = BernoulliPrior(num_latents=8)
    >>> z = prior.sample(4)                       # (4, 8) of 0/1
    >>> log_p = prior.log_prob(z)                 # 8 log(1/2) each

    References:
        Vahdat et al., "DVAE++", ICML 2018, §4, eqs. 8–9, Table 1.
    """

    def __init__(
        self,
        num_latents,
        num_groups=1,
        hidden_units="nonlinear",
        learned=True,
        elbo="joint",
        seed=None,
        **kwargs,
    ):
        super().__init__(num_latents=num_latents, seed=seed, **kwargs)
        self.num_groups = checks.check_num_groups(self.num_latents, num_groups)
        self.hidden_units = hidden_units
        units = resolve_hidden_units(hidden_units)
        if not learned and num_groups > 1:
            raise ValueError(
                "`learned=False` (a uniform prior) needs num_groups=1. "
                f"Received: learned={learned}, num_groups={num_groups}"
            )
        if elbo not in ELBOS:
            raise ValueError(f"`elbo` must be one of {ELBOS}. Received: elbo={elbo!r}")
        self.learned = bool(learned)
        self.elbo = elbo
        per_group = self.num_latents // self.num_groups
        self.networks = [
            mlp(units, per_group, f"prior_{g}") for g in range(1, self.num_groups)
        ]
        self.logits = self.add_weight(
            name="logits",
            shape=(per_group,),
            initializer="zeros",
            trainable=self.learned,
        )
        for g, net in enumerate(self.networks, start=1):
            net.build((None, g * per_group))
        self.built = True

    def group_logits(self, latents, training=None):
        """Logits of p(z_g | ζ_<g) for every group, concatenated, per example."""
        per_group = self.num_latents // self.num_groups
        first = ops.broadcast_to(
            ops.cast(self.logits, latents.dtype), (ops.shape(latents)[0], per_group)
        )
        logits = [first]
        for g, net in enumerate(self.networks, start=1):
            logits.append(net(latents[:, : g * per_group], training=training))
        return ops.concatenate(logits, axis=-1) if len(logits) > 1 else first

    def log_prob(self, z):
        logits = self.group_logits(z, training=False)
        return ops.sum(Bernoulli(logits).log_prob(z), axis=-1)

    def sample(self, num_samples):
        num_samples = checks.check_positive_int("num_samples", num_samples)
        per_group = self.num_latents // self.num_groups
        logits = ops.broadcast_to(self.logits, (num_samples, per_group))
        z = Bernoulli(logits).sample(seed=self.seed_generator)
        for net in self.networks:  # z_g ~ p(z_g | z_<g)
            z_g = Bernoulli(net(z, training=False)).sample(seed=self.seed_generator)
            z = ops.concatenate([z, z_g], axis=-1)
        return z

    def get_config(self):
        return {
            **super().get_config(),
            "num_groups": self.num_groups,
            "hidden_units": serialize_hidden_units(self.hidden_units),
            "learned": self.learned,
            "elbo": self.elbo,
        }


@register_kl(BinaryPosterior, BernoulliPrior)
def _kl_binary_bernoulli(q, p):
    """Joint or marginal KL of `BernoulliPrior`, per example (see there)."""
    p_logits = p.group_logits(q.samples, training=q.training)
    if p.elbo == "marginal" and not q.discrete:
        return ops.sum(
            q.family.log_density_ratio(q.samples, q.logits, p_logits), axis=-1
        )
    return ops.sum(kl_divergence(Bernoulli(q.logits), Bernoulli(p_logits)), axis=-1)

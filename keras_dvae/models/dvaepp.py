"""DVAE++: overlapping smoothing with a restricted Boltzmann machine prior."""

import keras
from keras import ops

from keras_dvae.models.binary_latent import BinaryLatentVAE
from keras_dvae.models.log_partition import EXACT_LIMIT, LogPartitionMixin
from keras_dvae.priors import RBMPrior
from keras_dvae.utils import checks

__all__ = ["DVAEPP", "EXACT_LIMIT"]


@keras.saving.register_keras_serializable(package="keras_dvae")
class DVAEPP(LogPartitionMixin, BinaryLatentVAE):
    """DVAE++ (fully connected): RBM prior, overlapping smoothing, analytic KL.

    The binary units z (all groups, `num_latents` of them) are split in two
    halves z1 = z[:n/2], z2 = z[n/2:] that form the two sides of an RBM
    prior p(z) = e^{−E(z)}/Z. With the hierarchical posterior of
    `BinaryLatentVAE`, the KL (DVAE++ §5, eq. 13) is

        KL = log Z − Σ_g E[H(q(z_g|x, ζ_<g))] − E_ζ[a1ᵀμ1 + a2ᵀμ2 + ν1ᵀWμ2],

    μ = q(z=1|x, ζ_<g) and ν = q(z=1|x, ζ) = σ(logit μ + log r(ζ|1)/r(ζ|0)),
    the posterior of a unit given its own ζ. E[z_i z_j] = E[ν_i μ_j] holds
    whenever unit j's group does not come before unit i's, because z_j is
    drawn given ζ_<g only; units of the last group (all of them with one
    group, where the posterior is factorial) use ν = μ, which has lower
    variance. ∇ log Z comes from the RBM's persistent chains
    (`RBMPrior.log_partition_surrogate`).

    The value of log Z in the loss and the `elbo` / `kl` metrics is the
    variable `log_partition`, which `estimate_log_partition()` sets (exact
    or AIS); until then it is 0, so training metrics are unnormalised.
    `evaluate` and `log_likelihood` re-estimate it first.

    Args:
        input_dim: int, number of binary pixels.
        latents_per_group: int, units per group (200 in the papers);
            `latents_per_group × num_groups` must be even.
        num_groups: int ≥ 1, groups of the hierarchical posterior.
        structure: "nonlinear", "linear" or a tuple of hidden sizes.
        smoothing: an overlapping family (default overlapping exponential
            with β = 10, as in DVAE++).
        num_chains: PCD chains of the RBM (1000 in the reference recipe).
        gibbs_sweeps: block-Gibbs sweeps per training step (40).
        weight_decay: L2 coefficient λ on every kernel and the RBM coupling.
        seed: int or None.
        **kwargs: base `keras.Model` arguments.

    Example:

    >>> import numpy as np
    >>> model = DVAEPP(input_dim=64, latents_per_group=8, structure=(32,),
    ...                num_chains=50, gibbs_sweeps=5)
    >>> model.compile(optimizer="adam")
    >>> x = (np.random.rand(100, 64) > 0.5).astype("float32")
    >>> history = model.fit(x, epochs=1, batch_size=50, verbose=0)
    >>> log_z = model.estimate_log_partition()["log_z"]  # exact: 4 + 4 units
    >>> ll = model.log_likelihood(x[:4], num_samples=10)

    References:
        Vahdat et al., "DVAE++", ICML 2018, §5 and Table 2.
    """

    #: Smoothing families this model accepts (`None`: overlapping only).
    _default_smoothing = "overlapping_exponential"

    def __init__(
        self,
        input_dim,
        latents_per_group=200,
        num_groups=1,
        structure="nonlinear",
        smoothing=None,
        num_chains=1000,
        gibbs_sweeps=40,
        weight_decay=1e-4,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            input_dim=input_dim,
            latents_per_group=latents_per_group,
            num_groups=num_groups,
            structure=structure,
            smoothing=self._default_smoothing if smoothing is None else smoothing,
            weight_decay=weight_decay,
            seed=seed,
            **kwargs,
        )
        self._check_smoothing()
        if self.num_latents % 2:
            raise ValueError(
                "The RBM splits the latent units in two halves, so "
                "latents_per_group × num_groups must be even. Received: "
                f"latents_per_group={latents_per_group}, num_groups={num_groups}"
            )
        self.num_chains = checks.check_positive_int("num_chains", num_chains)
        self.gibbs_sweeps = checks.check_positive_int("gibbs_sweeps", gibbs_sweeps)
        half = self.num_latents // 2
        self.prior = RBMPrior(
            half,
            half,
            num_chains=num_chains,
            gibbs_sweeps=gibbs_sweeps,
            seed=seed,
            name="prior",
        )
        self.log_partition = self.add_weight(
            name="log_partition", shape=(), initializer="zeros", trainable=False
        )
        self._create_extra_networks()
        self.build((None, input_dim))

    def _create_extra_networks(self):
        """Hook for subclasses' extra networks, made before `build`."""

    def _check_smoothing(self):
        if not self.smoothing.is_overlapping:
            raise ValueError(
                f"{type(self).__name__} needs an overlapping smoothing family "
                "(overlapping_exponential, overlapping_logistic, power_function); "
                f"use DVAE for spike-and-exponential. Received: "
                f"smoothing={type(self.smoothing).__name__}"
            )

    def build(self, input_shape=None):
        super().build(input_shape)
        if not self.prior.built:
            self.prior.build()

    def _kernels(self):
        return [*super()._kernels(), self.prior.W]

    # ------------------------------------------------------------------ KL

    def _posterior_of_own_zeta(self, logits, latents, training):
        """ν per group: q(z=1|x, ζ_g) for all but the last group, μ there."""
        last = self.num_groups - 1
        groups = zip(self._split(logits), self._split(latents), strict=True)
        return ops.concatenate(
            [
                ops.sigmoid(lg) if g == last else self._own_posterior(lg, zg, training)
                for g, (lg, zg) in enumerate(groups)
            ],
            axis=-1,
        )

    def _own_posterior(self, logits, latents, training):
        """q(z=1|x, ζ) of one group given its own ζ (or its discrete z)."""
        if not training:
            return latents  # a discrete z is its own posterior
        return ops.sigmoid(self.latent.family.posterior_logits(latents, logits))

    def _halves(self, t):
        half = self.num_latents // 2
        return t[..., :half], t[..., half:]

    def _kl(self, y_pred, training):
        logits = y_pred["posterior_logits"]
        mu = ops.sigmoid(logits)
        nu = self._posterior_of_own_zeta(logits, y_pred["latents"], training)
        mu1, mu2 = self._halves(mu)
        nu1, _ = self._halves(nu)
        cross_entropy = self.prior.cross_entropy_terms(mu1, mu2, nu1)
        return (
            cross_entropy
            + self._log_partition_term(training)
            - self.posterior_entropy(logits)
        )

    # ------------------------------------------------------ discrete limit

    def _log_prior(self, z):
        z1, z2 = self._halves(z)
        return -self.prior.energy(z1, z2) - ops.cast(self.log_partition, z.dtype)

    def _sample_prior(self, num_samples, sweeps=1000):
        """Ends of `num_samples` fresh Gibbs chains of `sweeps` sweeps."""
        z1, z2 = self.prior.sample(num_samples, sweeps=sweeps)
        return ops.concatenate([z1, z2], axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"num_chains": self.num_chains, "gibbs_sweeps": self.gibbs_sweeps}
        )
        return config

"""DVAE++: overlapping smoothing with a restricted Boltzmann machine prior."""

import keras

from keras_dvae.models import assembly
from keras_dvae.models.vae import DiscreteVAE


@keras.saving.register_keras_serializable(package="keras_dvae")
class DVAEPP(DiscreteVAE):
    """DVAE++ (fully connected): RBM prior, overlapping smoothing, analytic KL.

    Parts: a `HierarchicalEncoder` of MLPs over `num_groups` groups of
    smoothed binary units, an `RBMPrior` whose two sides are the first and
    second halves of the units, an `MLPDecoder` and Bernoulli pixels. The
    KL (DVAE++ §5, eq. 13; `priors.rbm_kl`) is

        KL = log Z − Σ_g E[H(q(z_g|x, ζ_<g))] − E_ζ[a1ᵀμ1 + a2ᵀμ2 + ν1ᵀWμ2],

    with ∇ log Z from the RBM's persistent chains. log Z is the prior's
    estimate (exact up to 20 units a side, AIS beyond), refreshed before
    any likelihood is reported; training metrics use the last estimate
    (`callbacks.LogPartitionUpdate` refreshes it every epoch).

    Args:
        image_shape: (D,) or (H, W, C) of binary pixels.
        num_latents: int, binary units over all groups (even; 200 per group
            in the papers).
        num_groups: int ≥ 1, groups of the hierarchical posterior.
        hidden_units: "nonlinear" (two 200-unit tanh layers with batch
            norm per conditional), "linear" or hidden sizes.
        smoothing: an overlapping family (default overlapping exponential,
            β = 10).
        num_chains: PCD chains of the RBM (1000 in the reference recipe).
        gibbs_sweeps: block-Gibbs sweeps per training step (40).
        weight_decay: L2 coefficient λ on every kernel and the RBM coupling.
        seed: int or None.
        **kwargs: base `keras.Model` arguments.

    Example:

    >>> import numpy as np
    >>> model = DVAEPP(image_shape=(16,), num_latents=4, hidden_units=(8,),
    ...                num_chains=4, gibbs_sweeps=1)
    >>> model.compile(optimizer="adam")
    >>> x = (np.random.rand(4, 16) > 0.5).astype("float32")
    >>> history = model.fit(x, epochs=1, batch_size=4, verbose=0)
    >>> log_z = model.prior.ensure_log_partition()["log_z"]  # exact: 2 + 2 units
    >>> ll = model.log_likelihood(x, num_samples=2)

    References:
        Vahdat et al., "DVAE++", ICML 2018, §5 and Table 2.
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
        weight_decay=1e-4,
        seed=None,
        **kwargs,
    ):
        smoothing = assembly.smoothing_family(
            smoothing, "overlapping_exponential", True, "DVAEPP"
        )
        super().__init__(
            encoder=assembly.binary_encoder(
                smoothing, num_latents, num_groups, hidden_units, seed
            ),
            prior=assembly.rbm_prior(num_latents, num_chains, gibbs_sweeps, seed),
            **assembly.bernoulli_mlp_output(image_shape, hidden_units),
            image_shape=image_shape,
            weight_decay=weight_decay,
            seed=seed,
            **kwargs,
        )
        self.smoothing = smoothing

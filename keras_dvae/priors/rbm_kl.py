"""KL(q ‖ p) of a hierarchical binary posterior against an RBM prior."""

from keras import ops

from keras_dvae.distributions.kl import register_kl
from keras_dvae.distributions.posterior import BinaryPosterior
from keras_dvae.priors import rbm_sampling
from keras_dvae.priors.rbm import RBMPrior

# Rolfe's estimator clips q below 1 in its (1 − z)/(1 − q) factor.
_MAX_PROBABILITY = 0.999


@register_kl(BinaryPosterior, RBMPrior)
def _kl_binary_rbm(q, p):
    """DVAE++ §5 (eq. 13), with Rolfe's gradient for an atom at ζ = 0.

    With z1 = z[:num_z1], z2 = z[num_z1:] over all groups in order,

        KL = log Z − Σ_g E[H(q(z_g|x, ζ_<g))] − E_ζ[a1ᵀμ1 + a2ᵀμ2 + ν1ᵀWμ2],

    μ = q(z=1|x, ζ_<g), ν = `BinaryPosterior.own_posterior()`; log Z is the
    prior's estimate carrying the PCD gradient (`log_partition_term`).

    With spike-and-exponential smoothing and several groups (DVAE) ν = z and
    the encoder's gradient is Rolfe's estimator (arXiv:1609.02200v2, eqs.
    11–12, as in the DVAE/DVAE# code): a surrogate Σ_i sg(l_i − a_i − c_i) q_i,
    c_i the coupling (W z̃)_i scaled by (1 − z_i)/(1 − q_i) on the first
    side, z̃ the sampled z with the last group replaced by its probabilities.
    """
    if q.training and q.num_groups > 1 and not q.family.is_overlapping:
        return _rolfe_kl(q, p)
    mu1, mu2 = p.split(ops.sigmoid(q.logits))
    nu1, _ = p.split(q.own_posterior())
    return (
        p.cross_entropy_terms(mu1, mu2, nu1)
        + p.log_partition_term(q.training)
        - q.entropy()
    )


def _rolfe_kl(q, p):
    logits = ops.clip(q.logits, -88.0, 88.0)
    mu = ops.sigmoid(logits)
    codes = ops.stop_gradient(q.own_posterior())
    mu1, mu2 = p.split(ops.stop_gradient(mu))
    codes1, codes2 = p.split(codes)
    cross_entropy = p.cross_entropy_terms(mu1, mu2, codes1)
    w = ops.cast(p.W, logits.dtype)
    coupling = ops.concatenate(
        [
            rbm_sampling.matmul_last_axis(codes2, ops.transpose(w)),
            rbm_sampling.matmul_last_axis(codes1, w),
        ],
        axis=-1,
    )
    prob = ops.minimum(mu, _MAX_PROBABILITY)
    scale1, _ = p.split((1.0 - codes) / (1.0 - prob))
    scale = ops.concatenate([scale1, ops.ones_like(codes2)], axis=-1)
    bias = ops.concatenate([p.a1, p.a2], axis=-1)
    coefficient = ops.stop_gradient(logits - bias - coupling * scale)
    surrogate = ops.sum(coefficient * prob, axis=-1)
    return (
        cross_entropy
        + p.log_partition_term(q.training)
        - ops.stop_gradient(q.entropy())
        + surrogate
        - ops.stop_gradient(surrogate)
    )

"""NumPy float64 references for RBM tests: enumeration of every state."""

import numpy as np
from scipy.special import logsumexp


def all_states(n):
    """(2^n, n) array of every binary vector of length n."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(np.float64)


def joint_log_probs(a1, a2, w):
    """log p(z1, z2) on the grid all_states(n1) × all_states(n2), and log Z."""
    z1, z2 = all_states(len(a1)), all_states(len(a2))
    neg_energy = (z1 @ a1)[:, None] + (z2 @ a2)[None, :] + z1 @ w @ z2.T
    log_z = logsumexp(neg_energy)
    return neg_energy - log_z, log_z


def log_partition(a1, a2, w):
    return joint_log_probs(a1, a2, w)[1]


def grad_log_partition(a1, a2, w):
    """(∂/∂a1, ∂/∂a2, ∂/∂W) log Z = (E[z1], E[z2], E[z1 z2ᵀ])."""
    log_p, _ = joint_log_probs(a1, a2, w)
    p = np.exp(log_p)
    z1, z2 = all_states(len(a1)), all_states(len(a2))
    return p.sum(1) @ z1, p.sum(0) @ z2, z1.T @ p @ z2


def state_index(z1, z2):
    """Index of each (z1, z2) row in the flattened joint grid."""
    n2 = z2.shape[1]
    i1 = (np.asarray(z1).astype(np.int64) << np.arange(z1.shape[1])).sum(1)
    i2 = (np.asarray(z2).astype(np.int64) << np.arange(n2)).sum(1)
    return i1 * 2**n2 + i2


def total_variation(z1, z2, a1, a2, w):
    """TV distance between the samples' empirical law and the exact RBM."""
    log_p, _ = joint_log_probs(a1, a2, w)
    counts = np.bincount(state_index(z1, z2), minlength=log_p.size)
    return 0.5 * np.abs(counts / counts.sum() - np.exp(log_p).ravel()).sum()


def exact_samples(a1, a2, w, num, rng):
    """Exact samples: z1 from its marginal (enumerated), then z2 | z1."""
    z1_all = all_states(len(a1))
    log_marginal = z1_all @ a1 + np.logaddexp(0.0, a2 + z1_all @ w).sum(1)
    p = np.exp(log_marginal - logsumexp(log_marginal))
    z1 = z1_all[rng.choice(len(p), size=num, p=p)]
    p2 = 1.0 / (1.0 + np.exp(-(a2 + z1 @ w)))
    z2 = (rng.random(p2.shape) < p2).astype(np.float64)
    return z1, z2


def random_rbm(n1, n2, seed, scale=0.5):
    rng = np.random.default_rng(seed)
    return _float32(
        rng.normal(0, scale, n1),
        rng.normal(0, scale, n2),
        rng.normal(0, scale, (n1, n2)),
    )


def trained_like_rbm(n1, n2, seed, modes=3, strength=2.0):
    """W ~ N(0, 0.3²) plus `modes` strong rank-one patterns ±s/(n1 n2)^¼.

    Each pattern u vᵀ adds a pair of modes (z1, z2) ≈ ((1 ± u)/2, (1 ± v)/2);
    biases -W·1/2 (plus noise) keep the patterns' two signs balanced.
    """
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 0.3, (n1, n2))
    for _ in range(modes):
        u, v = rng.choice([-1.0, 1.0], n1), rng.choice([-1.0, 1.0], n2)
        w += strength * np.outer(u, v) / (n1 * n2) ** 0.25
    a1 = -0.5 * w.sum(1) + rng.normal(0.0, 0.3, n1)
    a2 = -0.5 * w.sum(0) + rng.normal(0.0, 0.3, n2)
    return _float32(a1, a2, w)


def _float32(*arrays):
    """Rounds to float32 (the layer's precision) and back, for exact references."""
    return tuple(np.asarray(x, np.float32).astype(np.float64) for x in arrays)


def set_parameters(prior, a1, a2, w):
    prior.a1.assign(np.asarray(a1, "float32"))
    prior.a2.assign(np.asarray(a2, "float32"))
    prior.W.assign(np.asarray(w, "float32"))

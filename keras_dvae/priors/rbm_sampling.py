"""Block-Gibbs sampling and replica exchange for restricted Boltzmann machines.

Functions on tensors, shared by `RBMPrior` (persistent chains, parallel
tempering) and by annealed importance sampling. The RBM is given by its
parameters `(a1, a2, w)`:

    E(z1, z2) = -a1ᵀz1 - a2ᵀz2 - z1ᵀ W z2,   p_β(z1, z2) ∝ exp(-β E(z1, z2)).

Randomness inside compiled loops: `seeded_fori_loop` threads the state of a
`keras.random.SeedGenerator` through the loop carry (as keras-hub's samplers
do), so that the body may call `keras.random.*` with `seed=generator` under
`jax.jit`, `tf.function` and eager PyTorch alike.
"""

import keras
import numpy as np
from keras import ops


def energy(z1, z2, a1, a2, w):
    """E(z1, z2) = -a1ᵀz1 - a2ᵀz2 - z1ᵀWz2 over the last axis.

    Example:

    >>> import numpy as np
    >>> e = energy(np.ones((2, 3)), np.ones((2, 4)), np.zeros(3), np.zeros(4),
    ...            np.ones((3, 4)))
    """
    z1 = ops.convert_to_tensor(z1)
    z2 = ops.cast(z2, z1.dtype)
    interaction = ops.sum(matmul_last_axis(z1, ops.cast(w, z1.dtype)) * z2, axis=-1)
    return -(ops.sum(z1 * a1, axis=-1) + ops.sum(z2 * a2, axis=-1) + interaction)


def free_energy(z1, a1, a2, w):
    """F(z1) = -a1ᵀz1 - Σ_j softplus(a2_j + (Wᵀz1)_j), with z2 summed out.

    p(z1) = exp(-F(z1)) / Z, and ∇_θ(-F(z1)) = E_{p(z2|z1)}[-∇_θ E(z1, z2)].
    """
    z1 = ops.convert_to_tensor(z1)
    return -(
        ops.sum(z1 * a1, axis=-1)
        + ops.sum(ops.softplus(a2 + matmul_last_axis(z1, w)), axis=-1)
    )


def bernoulli(logits, seed):
    """z ~ Bernoulli(σ(logits)) as floats of the logits' dtype."""
    u = keras.random.uniform(ops.shape(logits), dtype=logits.dtype, seed=seed)
    return ops.cast(u < ops.sigmoid(logits), logits.dtype)


def matmul_last_axis(z, w):
    """z @ w for z of any rank ≥ 1, through one 2-D matmul."""
    shape = ops.shape(z)
    out = ops.matmul(ops.reshape(z, (-1, shape[-1])), w)
    return ops.reshape(out, tuple(shape[:-1]) + (ops.shape(w)[-1],))


def gibbs_sweep(z1, a1, a2, w, seed, beta=None):
    """One block-Gibbs sweep: z2 ~ p_β(z2|z1), then z1 ~ p_β(z1|z2).

    Args:
        z1: (..., n1) binary floats.
        a1, a2, w: the RBM's parameters.
        seed: a `keras.random.SeedGenerator`.
        beta: None (β = 1) or inverse temperatures broadcastable to
            (..., 1), e.g. shape (K, 1, 1) for K replicas of shape (K, C, n).

    Returns:
        (z1, z2), the new state; (z1, z2) ~ p_β when z1 was.
    """
    logits2 = a2 + matmul_last_axis(z1, w)
    if beta is not None:
        logits2 = beta * logits2
    z2 = bernoulli(logits2, seed)
    logits1 = a1 + matmul_last_axis(z2, ops.transpose(w))
    if beta is not None:
        logits1 = beta * logits1
    return bernoulli(logits1, seed), z2


def exchange_partners(num_replicas):
    """Partner indices for the even and the odd replica-exchange moves.

    The even move pairs replicas (0, 1), (2, 3), ...; the odd move pairs
    (1, 2), (3, 4), ...; an unpaired replica is its own partner.

    Returns:
        int32 array of shape (2, num_replicas).
    """
    partners = np.tile(np.arange(num_replicas, dtype="int32"), (2, 1))
    for parity in (0, 1):
        for k in range(parity, num_replicas - 1, 2):
            partners[parity, k], partners[parity, k + 1] = k + 1, k
    return partners


def replica_exchange(z1, z2, a1, a2, w, betas, partners, seed):
    """Metropolis swaps between neighbouring inverse temperatures.

    Each sweep attempts either the even or the odd set of neighbour pairs,
    chosen at random (each set alone is a reversible Metropolis move, so the
    mixture is too). A pair (k, l) swaps states with probability

        min(1, exp((β_k - β_l)(E(x_k) - E(x_l)))),

    which leaves Π_k p_{β_k} invariant (Swendsen & Wang 1986; Earl & Deem
    2005, eq. 2).

    Args:
        z1, z2: (K, C, n1) and (K, C, n2) states, replica k at `betas[k]`.
        betas: (K,) inverse temperatures.
        partners: (2, K) int32 from `exchange_partners`.
        seed: a `keras.random.SeedGenerator`.

    Returns:
        (z1, z2) after the swaps.
    """
    dtype = z1.dtype
    use_odd = keras.random.uniform((), dtype=dtype, seed=seed) < 0.5
    partner = ops.where(use_odd, partners[1], partners[0])
    e = energy(z1, z2, a1, a2, w)  # (K, C)
    e_partner = ops.take(e, partner, axis=0)
    beta_partner = ops.take(betas, partner, axis=0)
    log_ratio = ops.expand_dims(betas - beta_partner, -1) * (e - e_partner)
    # Both members of a pair must use the same uniform: take the lower one's.
    u = keras.random.uniform(ops.shape(e), dtype=dtype, seed=seed)
    lower = ops.minimum(ops.arange(ops.shape(betas)[0], dtype="int32"), partner)
    u = ops.take(u, lower, axis=0)
    accept = ops.expand_dims(ops.log(u) < log_ratio, -1)
    z1 = ops.where(accept, ops.take(z1, partner, axis=0), z1)
    z2 = ops.where(accept, ops.take(z2, partner, axis=0), z2)
    return z1, z2


def run_chains(z1, z2, a1, a2, w, sweeps, seed, betas=None):
    """Advances chains by `sweeps` block-Gibbs sweeps in one compiled loop.

    With `betas` (K ≥ 2 increasing inverse temperatures ending at 1), the
    leading axis of `z1`, `z2` indexes the replicas and every sweep is
    followed by a replica-exchange move (parallel tempering).

    Args:
        z1, z2: (C, n1), (C, n2) states, or (K, C, n1), (K, C, n2) with
            `betas`.
        a1, a2, w: the RBM's parameters (gradients are stopped).
        sweeps: Python int ≥ 1.
        seed: a `keras.random.SeedGenerator`; its state advances.
        betas: None, or a (K,) tensor of inverse temperatures.

    Returns:
        (z1, z2) after the sweeps.
    """
    a1, a2, w = (ops.stop_gradient(x) for x in (a1, a2, w))
    if betas is None:

        def body(_, state):
            return gibbs_sweep(state[0], a1, a2, w, seed)

    else:
        betas = ops.stop_gradient(ops.cast(betas, z1.dtype))
        column = ops.reshape(betas, (-1, 1, 1))
        partners = ops.convert_to_tensor(exchange_partners(ops.shape(betas)[0]))

        def body(_, state):
            z1, z2 = gibbs_sweep(state[0], a1, a2, w, seed, beta=column)
            return replica_exchange(z1, z2, a1, a2, w, betas, partners, seed)

    return seeded_fori_loop(0, sweeps, body, (z1, z2), seed)


def seeded_fori_loop(lower, upper, body, init, seed_generator):
    """`ops.fori_loop` whose body may draw from `seed_generator`.

    A `SeedGenerator` advances by assigning to its state variable, and an
    assignment inside a traced loop body would leak the tracer. Instead the
    state rides in the loop carry: each iteration maps the variable to the
    carried value in a `keras.StatelessScope`, runs `body`, and carries the
    updated value out; after the loop the final value is assigned once.

    The body must not read other Keras variables (it would see their stored
    values, not those of an enclosing stateless scope such as JAX's `fit`):
    read them before the loop and close over the tensors.

    Args:
        lower, upper: loop bounds.
        body: `body(i, state) -> state`.
        init: the initial state (a nested structure of tensors).
        seed_generator: the `keras.random.SeedGenerator` the body uses.

    Returns:
        The final state.
    """
    variable = seed_generator.state

    def wrapped(i, carry):
        state, seed_state = carry
        with keras.StatelessScope(state_mapping=[(variable, seed_state)]) as scope:
            state = body(i, state)
            seed_state = scope.get_current_value(variable)
        return state, seed_state

    state, seed_state = ops.fori_loop(
        lower, upper, wrapped, (init, ops.convert_to_tensor(variable.value))
    )
    variable.assign(seed_state)
    return state

"""Block-Gibbs sampling and replica exchange for RBMs, on tensors.

The RBM is `(a1, a2, w)`: E(z1, z2) = -a1ᵀz1 - a2ᵀz2 - z1ᵀ W z2 and
p_β(z1, z2) ∝ exp(-β E(z1, z2)).
"""

import keras
import numpy as np
from keras import ops

from keras_dvae.utils import counter_random


def energy(z1, z2, a1, a2, w):
    """E(z1, z2) = -a1ᵀz1 - a2ᵀz2 - z1ᵀWz2 over the last axis.

    Example:

    >>> import numpy as np
    >>> e = energy(np.ones((2, 3)), np.ones((2, 4)), np.zeros(3), np.zeros(4),
    ...            np.ones((3, 4)))
    """
    z1 = ops.convert_to_tensor(z1)
    z2, a1, a2, w = (ops.cast(x, z1.dtype) for x in (z2, a1, a2, w))
    interaction = ops.sum(matmul_last_axis(z1, w) * z2, axis=-1)
    return -(ops.sum(z1 * a1, axis=-1) + ops.sum(z2 * a2, axis=-1) + interaction)


def free_energy(z1, a1, a2, w):
    """F(z1) = -a1ᵀz1 - Σ_j softplus(a2_j + (Wᵀz1)_j), with z2 summed out.

    p(z1) = exp(-F(z1)) / Z, and ∇_θ(-F(z1)) = E_{p(z2|z1)}[-∇_θ E(z1, z2)].
    """
    z1 = ops.convert_to_tensor(z1)
    a1, a2, w = (ops.cast(x, z1.dtype) for x in (a1, a2, w))
    return -(
        ops.sum(z1 * a1, axis=-1)
        + ops.sum(ops.softplus(a2 + matmul_last_axis(z1, w)), axis=-1)
    )


# Backends whose Gibbs sweeps draw `counter_random` uniforms. XLA fuses the
# hash into one elementwise loop, about a tenth of threefry's cost on a CPU;
# TensorFlow's graph and torch's eager mode run its dozen integer ops one by
# one, which measured no faster (TF) or slower (torch, 0.8×) than their own
# generators (benchmarks/gibbs_profile.py, benchmarks/RESULTS.md).
COUNTER_BACKENDS = ("jax",)


def uniform(shape, seed, dtype):
    """The sweeps' uniforms: `counter_random` on `COUNTER_BACKENDS` when
    `shape` is static (as persistent chains are), else Keras's generator."""
    static = all(isinstance(s, int) for s in shape)
    if static and keras.backend.backend() in COUNTER_BACKENDS:
        return counter_random.uniform(shape, seed, dtype=dtype)
    return keras.random.uniform(shape, dtype=dtype, seed=seed)


def bernoulli(logits, seed):
    """z ~ Bernoulli(σ(logits)) as floats of the logits' dtype (`uniform`)."""
    u = uniform(ops.shape(logits), seed, logits.dtype)
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
            (..., 1), e.g. (K, 1, 1) for K replicas.

    Returns:
        (z1, z2), distributed as p_β when z1 was.
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
    """(2, num_replicas) int32 partners: even move (0, 1), (2, 3), ...; odd (1, 2), ...

    An unpaired replica is its own partner.
    """
    partners = np.tile(np.arange(num_replicas, dtype="int32"), (2, 1))
    for parity in (0, 1):
        for k in range(parity, num_replicas - 1, 2):
            partners[parity, k], partners[parity, k + 1] = k + 1, k
    return partners


def replica_exchange(z1, z2, a1, a2, w, betas, partners, seed):
    """Metropolis swaps between neighbouring inverse temperatures.

    Each chain tries the even or the odd pairs (chosen at random per chain
    and sweep; a mixture of reversible moves). A pair (k, l) swaps with
    probability min(1, exp((β_k - β_l)(E(x_k) - E(x_l)))), leaving
    Π_k p_{β_k} invariant (Swendsen & Wang 1986; Earl & Deem 2005, eq. 2).

    Args:
        z1, z2: (K, C, n1) and (K, C, n2) states, replica k at `betas[k]`.
        betas: (K,) inverse temperatures.
        partners: (2, K) int32 from `exchange_partners`.
        seed: a `keras.random.SeedGenerator`.
    """
    z1 = ops.convert_to_tensor(z1)
    dtype = z1.dtype
    z2, betas = ops.cast(z2, dtype), ops.cast(betas, dtype)
    partners = ops.convert_to_tensor(partners, dtype="int32")
    e = energy(z1, z2, a1, a2, w)  # (K, C)
    u = keras.random.uniform(ops.shape(e), dtype=dtype, seed=seed)
    use_odd = keras.random.uniform(ops.shape(e)[1:], dtype=dtype, seed=seed) < 0.5
    index = ops.arange(ops.shape(betas)[0], dtype="int32")
    accepts, proposals_1, proposals_2 = [], [], []
    for partner in (partners[0], partners[1]):
        log_ratio = ops.expand_dims(betas - ops.take(betas, partner), -1) * (
            e - ops.take(e, partner, axis=0)
        )
        # Both members of a pair use the same uniform: the lower one's.
        u_pair = ops.take(u, ops.minimum(index, partner), axis=0)
        accepts.append(ops.log(u_pair) < log_ratio)
        proposals_1.append(ops.take(z1, partner, axis=0))
        proposals_2.append(ops.take(z2, partner, axis=0))
    accept = ops.expand_dims(ops.where(use_odd, accepts[1], accepts[0]), -1)
    use_odd = ops.reshape(use_odd, (1, -1, 1))
    z1 = ops.where(accept, ops.where(use_odd, proposals_1[1], proposals_1[0]), z1)
    z2 = ops.where(accept, ops.where(use_odd, proposals_2[1], proposals_2[0]), z2)
    return z1, z2


def run_chains(z1, z2, a1, a2, w, sweeps, seed, betas=None):
    """Advances chains by `sweeps` block-Gibbs sweeps in one compiled loop.

    Args:
        z1, z2: (C, n1), (C, n2) states, or (K, C, n1), (K, C, n2) with
            `betas`.
        a1, a2, w: the RBM's parameters (gradients are stopped).
        sweeps: Python int ≥ 1.
        seed: a `keras.random.SeedGenerator`; its state advances.
        betas: None, or (K,) increasing inverse temperatures ending at 1:
            parallel tempering, a replica exchange after every sweep.
    """
    constants = tuple(ops.stop_gradient(x) for x in (a1, a2, w))
    if betas is None:
        return seeded_fori_loop(0, sweeps, _sweep, (z1, z2), constants, seed)
    betas = ops.stop_gradient(ops.cast(betas, z1.dtype))
    partners = ops.convert_to_tensor(exchange_partners(ops.shape(betas)[0]))
    constants += (betas, partners)
    return seeded_fori_loop(0, sweeps, _tempered_sweep, (z1, z2), constants, seed)


def _sweep(_, state, constants, seed):
    return gibbs_sweep(state[0], *constants, seed)


def _tempered_sweep(_, state, constants, seed):
    a1, a2, w, betas, partners = constants
    z1, z2 = gibbs_sweep(state[0], a1, a2, w, seed, beta=ops.reshape(betas, (-1, 1, 1)))
    return replica_exchange(z1, z2, a1, a2, w, betas, partners, seed)


# Loop bodies wrapped by `seeded_fori_loop`, and the generators of the
# loops running now (innermost last).
_WRAPPED_BODIES = {}
_ACTIVE_GENERATORS = []


def seeded_fori_loop(lower, upper, body, state, constants, seed_generator):
    """`ops.fori_loop` whose body may draw from `seed_generator`.

    Assigning the generator's state inside a traced body would leak the
    tracer, so the state rides in the carry (mapped in a
    `keras.StatelessScope` each iteration) and is assigned once after the
    loop, as keras-hub's samplers do. Constants ride in the carry too and
    each body is wrapped once, so JAX reuses the compiled loop across
    calls. The body must not read Keras variables (it would see their
    stored values, not an enclosing stateless scope's such as JAX `fit`'s):
    pass them in `constants`.

    Args:
        lower, upper: Python int loop bounds.
        body: a module-level function
            `body(i, state, constants, seed_generator) -> state`.
        state: the initial state (a nested structure of tensors).
        constants: tensors the body reads, unchanged by the loop.
        seed_generator: the `keras.random.SeedGenerator` the body uses.

    Returns:
        The final state.
    """
    if body not in _WRAPPED_BODIES:

        def wrapped(i, carry):
            state, constants, seed_state = carry
            generator = _ACTIVE_GENERATORS[-1]
            mapping = [(generator.state, seed_state)]
            with keras.StatelessScope(state_mapping=mapping) as scope:
                state = body(i, state, constants, generator)
                seed_state = scope.get_current_value(generator.state)
            return state, constants, seed_state

        _WRAPPED_BODIES[body] = wrapped
    variable = seed_generator.state
    carry = (state, tuple(constants), ops.convert_to_tensor(variable.value))
    _ACTIVE_GENERATORS.append(seed_generator)
    try:
        state, _, seed_state = ops.fori_loop(lower, upper, _WRAPPED_BODIES[body], carry)
    finally:
        _ACTIVE_GENERATORS.pop()
    variable.assign(seed_state)
    return state

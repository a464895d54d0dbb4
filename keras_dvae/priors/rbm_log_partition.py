"""log Z of an RBM: exact enumeration (NumPy float64) and AIS (compiled loops)."""

import dataclasses
import math
import time

import keras
import numpy as np
from keras import ops

from keras_dvae.priors import rbm_sampling
from keras_dvae.utils import checks

#: Largest smaller side `exact_log_partition` enumerates (2^24 ≈ 1.7e7 states).
MAX_EXACT_UNITS = 24

# Salakhutdinov & Murray (2008, §4.2); see `default_schedule`.
_SM_KNOTS_BETA = np.array([0.0, 0.5, 0.9, 1.0])
_SM_KNOTS_STEPS = np.array([0.0, 500.0, 4500.0, 14500.0]) / 14500.0

# Temperatures per compiled loop call: the progress bar advances between them.
_BLOCK = 2000


def exact_log_partition(a1, a2, w, max_units=MAX_EXACT_UNITS, chunk_size=1 << 14):
    """log Z of an RBM as a float, enumerating the smaller side in float64.

        log Z = logsumexp_{z1 ∈ {0,1}^n1} [a1ᵀz1 + Σ_j softplus(a2_j + (Wᵀz1)_j)],

    z1 the smaller side, summed in chunks of `chunk_size` states with a
    running maximum (bounded memory, no overflow).

    Raises:
        ValueError: if the smaller side has more than `max_units` units.

    Example:

    >>> import numpy as np
    >>> log_z = exact_log_partition(np.zeros(2), np.zeros(3), np.zeros((2, 3)))
    >>> bool(np.isclose(log_z, 5 * np.log(2)))
    True
    """
    a1, a2, w = (np.asarray(x, dtype=np.float64) for x in (a1, a2, w))
    if a1.shape[0] > a2.shape[0]:
        a1, a2, w = a2, a1, w.T
    n = a1.shape[0]
    if n > max_units:
        raise ValueError(
            f"Exact enumeration sums 2**min(num_z1, num_z2) states and supports "
            f"at most {max_units} units on the smaller side; estimate log Z with "
            "`ais_log_partition()` (annealed importance sampling) instead. "
            f"Received: num_z1={w.shape[0]}, num_z2={w.shape[1]}"
        )
    bits = np.arange(n, dtype=np.int64)
    running_max, total = -np.inf, 0.0
    for start in range(0, 2**n, chunk_size):
        index = np.arange(start, min(start + chunk_size, 2**n), dtype=np.int64)
        z = ((index[:, None] >> bits) & 1).astype(np.float64)
        log_terms = z @ a1 + np.logaddexp(0.0, a2 + z @ w).sum(axis=1)
        chunk_max = log_terms.max()
        if chunk_max > running_max:
            total *= math.exp(running_max - chunk_max)
            running_max = chunk_max
        total += math.fsum(np.exp(log_terms - running_max))
    return float(running_max + math.log(total))


def default_schedule(num_betas):
    """The β schedule of Salakhutdinov & Murray (2008, §4.2), `num_betas` ≥ 2 points.

    Piecewise linear: 500/14,500 of the steps on [0, 0.5], 4,000/14,500 on
    [0.5, 0.9], 10,000/14,500 on [0.9, 1]; `num_betas=14501` is theirs exactly.

    Example:

    >>> default_schedule(5)
    array([0.     , 0.8125 , 0.9275 , 0.96375, 1.     ])
    """
    num_betas = checks.check_positive_int("num_betas", num_betas, minimum=2)
    u = np.linspace(0.0, 1.0, num_betas)
    schedule = np.interp(u, _SM_KNOTS_STEPS, _SM_KNOTS_BETA)
    schedule[0], schedule[-1] = 0.0, 1.0
    return schedule


def increases_to_one(array):
    """Whether `array` is 1-D, finite, of length ≥ 2 and strictly increasing to 1."""
    return bool(
        array.ndim == 1
        and array.shape[0] >= 2
        and np.all(np.isfinite(array))
        and array[-1] == 1.0
        and np.all(np.diff(array) > 0)
    )


def check_schedule(schedule):
    """Returns `schedule` as float64 if it increases strictly from 0 to 1."""
    array = np.asarray(schedule, dtype=np.float64)
    if not increases_to_one(array) or array[0] != 0.0:
        shown = np.array2string(array, threshold=8, precision=4)
        raise ValueError(
            "`schedule` must be a 1-D sequence of inverse temperatures "
            "increasing strictly from 0 to 1 (both included); pass "
            "`schedule=None` for the default. "
            f"Received: schedule={shown}"
        )
    return array


@dataclasses.dataclass(frozen=True)
class AISEstimate:
    """The result of annealed importance sampling of log Z.

    Attributes:
        log_z: log Z_base ± log-mean-exp of the log-weights (− for reverse).
        log_z_lower, log_z_upper: log(Ẑ ∓ 3σ̂), σ̂ the standard error of the
            mean weight (Salakhutdinov & Murray 2008, §4.2); -inf (+inf for
            reverse) when Ẑ - 3σ̂ ≤ 0. They show the weights' spread, not
            AIS's bias: with too few temperatures both can miss log Z.
        log_weights: float64 array of shape (num_chains,).
        log_z_base: log Z of the factorial base model.
        num_betas: inverse temperatures, 0 and 1 included.
        num_chains: AIS runs.
        reverse: whether this is reverse AIS.
        seconds: wall-clock time of the sampling.
    """

    log_z: float
    log_z_lower: float
    log_z_upper: float
    log_weights: np.ndarray
    log_z_base: float
    num_betas: int
    num_chains: int
    reverse: bool
    seconds: float

    @property
    def effective_sample_size(self):
        """(Σw)² / Σw² of the importance weights."""
        w = np.exp(self.log_weights - self.log_weights.max())
        return float(w.sum() ** 2 / np.sum(w * w))

    def __repr__(self):
        return (
            f"AISEstimate(log_z={self.log_z:.4f}, "
            f"bounds=({self.log_z_lower:.4f}, {self.log_z_upper:.4f}), "
            f"num_betas={self.num_betas}, num_chains={self.num_chains}, "
            f"reverse={self.reverse})"
        )


def annealed_log_partition(
    a1,
    a2,
    w,
    b1,
    b2,
    schedule,
    initial_state,
    seed_generator,
    reverse=False,
    batch_size=None,
    verbose=0,
):
    """Annealed importance sampling of log Z, collapsed over one side.

    p_β(z1, z2) ∝ exp(-(1 - β) E_A - β E_B) runs from the factorial base
    p_A ∝ exp(b1ᵀz1 + b2ᵀz2) to the RBM p_B. With z2 summed out
    (Salakhutdinov & Murray 2008, eq. 13) the chains carry z1 only:

        log p*_β(z1) = (b1 + β(a1 - b1))ᵀz1 + Σ_j softplus(x_j(β)),
        x(β) = b2 + β d,   d = a2 + Wᵀz1 - b2.

    Each step adds log p*_{β_k}(z1) - log p*_{β_{k-1}}(z1) to the log-weight
    (softplus differences without cancellation, `_softplus_step`; Kahan
    summation, so 10^4 float32 steps lose nothing to rounding), then does a
    block-Gibbs sweep at β_k. Forward AIS starts from exact samples of p_A:
    log Ẑ_B = log Z_A + log mean w, biased low. Reverse AIS (Burda, Grosse &
    Salakhutdinov 2015) runs from 1 to 0 from samples of p_B:
    log Ẑ_B = log Z_A - log mean w, biased high if those samples are exact.
    Samples from Gibbs chains (`RBMPrior.ais_log_partition`'s default) are
    not, so reverse AIS from them is not a strict upper bound.

    Args:
        a1, a2, w: the RBM's parameters; z1 (the carried side) has a1.
        b1, b2: the base model's biases.
        schedule: float64 (K,) inverse temperatures from 0 to 1.
        initial_state: (C, n1) starting z1, one row a chain: samples of p_A
            (forward) or p_B (reverse).
        seed_generator: a `keras.random.SeedGenerator`.
        reverse: run the schedule from 1 to 0.
        batch_size: chains per batch (None: all); memory is
            O(batch_size · (n1 + n2)).
        verbose: 0 silent, 1 a `keras.utils.Progbar`.

    Returns:
        An `AISEstimate`.
    """
    start_time = time.perf_counter()
    dtype = keras.config.floatx()
    a1, a2, w, b1, b2 = (
        ops.convert_to_tensor(np.asarray(x), dtype=dtype) for x in (a1, a2, w, b1, b2)
    )
    np_b1 = np.asarray(ops.convert_to_numpy(b1), dtype=np.float64)
    np_b2 = np.asarray(ops.convert_to_numpy(b2), dtype=np.float64)
    log_z_base = float(np.logaddexp(0.0, np_b1).sum() + np.logaddexp(0.0, np_b2).sum())
    betas = schedule[::-1] if reverse else schedule
    num_chains = ops.shape(initial_state)[0]
    batch_size = num_chains if batch_size is None else min(batch_size, num_chains)
    starts = list(range(0, num_chains, batch_size))
    # Equal blocks, so that JAX compiles one loop: the last is padded with
    # zero-length steps at the final β (extra sweeps that leave it invariant
    # and add nothing to the weights).
    num_steps = len(betas) - 1
    num_blocks = math.ceil(num_steps / _BLOCK)
    length = math.ceil(num_steps / num_blocks)
    padded = np.concatenate(
        [betas, np.full(num_blocks * length - num_steps, betas[-1])]
    )
    blocks = [
        (
            padded[i : i + length],
            padded[i + 1 : i + length + 1],
            min(length, num_steps - i),
        )
        for i in range(0, num_blocks * length, length)
    ]
    progbar = keras.utils.Progbar(
        len(starts) * num_steps, verbose=verbose, unit_name="step"
    )
    log_weights = []
    for start in starts:
        z1 = ops.convert_to_tensor(initial_state[start : start + batch_size], dtype)
        carry = (z1, ops.zeros(ops.shape(z1)[:1], dtype), ops.zeros_like(z1[:, 0]))
        for previous, following, real_steps in blocks:
            carry = _anneal(
                carry, a1, a2, w, b1, b2, previous, following, seed_generator
            )
            progbar.add(real_steps)
        log_weights.append(np.asarray(ops.convert_to_numpy(carry[1]), np.float64))
    log_weights = np.concatenate(log_weights)
    log_mean, log_lo, log_hi = _log_mean_exp_with_bounds(log_weights)
    if reverse:
        log_z = log_z_base - log_mean
        lower, upper = log_z_base - log_hi, log_z_base - log_lo
    else:
        log_z = log_z_base + log_mean
        lower, upper = log_z_base + log_lo, log_z_base + log_hi
    return AISEstimate(
        log_z=float(log_z),
        log_z_lower=float(lower),
        log_z_upper=float(upper),
        log_weights=log_weights,
        log_z_base=log_z_base,
        num_betas=len(schedule),
        num_chains=int(num_chains),
        reverse=bool(reverse),
        seconds=time.perf_counter() - start_time,
    )


def _anneal(carry, a1, a2, w, b1, b2, previous, following, seed_generator):
    """Runs AIS over the β steps previous[i] → following[i] in one loop."""
    dtype = a1.dtype
    delta_a2 = a2 - b2
    # |δ_j| = Δβ |d_j| ≤ Δβ (|a2 - b2|_j + Σ_i |W_ij|): when no step can
    # exceed 1, the guarded branch of `_softplus_step` is not needed.
    bound = np.max(
        np.abs(ops.convert_to_numpy(delta_a2))
        + np.abs(ops.convert_to_numpy(w)).sum(axis=0)
    )
    guarded = float(np.max(following - previous)) * float(bound) > 1.0
    constants = (
        ops.convert_to_tensor(previous, dtype=dtype),
        ops.convert_to_tensor(following - previous, dtype=dtype),
        a1 - b1,
        delta_a2,
        b1,
        b2,
        w,
        ops.transpose(w),
    )
    body = _guarded_ais_step if guarded else _ais_step
    return rbm_sampling.seeded_fori_loop(
        0, int(previous.shape[0]), body, carry, constants, seed_generator
    )


def _ais_step(i, state, constants, seed_generator, guarded=False):
    """One AIS step: the weight increment, then a sweep at the new β."""
    z1, total, compensation = state
    beta_0s, steps, delta_a1, delta_a2, b1, b2, w, w_t = constants
    num_chains, num_keep = ops.shape(z1)
    num_sum = ops.shape(w)[1]
    # Eager TensorFlow and PyTorch pay per operation: the body is kept short
    # (`ops.slice`, not `take` or indexing, which cost several operations).
    beta_0 = ops.slice(beta_0s, [i], [1])
    step = ops.slice(steps, [i], [1])
    d = delta_a2 + ops.matmul(z1, w)
    x = b2 + beta_0 * d
    x_next, increment_2 = _softplus_step(x, step * d, guarded)
    increment = step * ops.sum(z1 * delta_a1, axis=-1) + ops.sum(increment_2, -1)
    # Kahan summation of the log-weight.
    y = increment - compensation
    new_total = total + y
    compensation = (new_total - total) - y
    # Block-Gibbs sweep leaving p_{β_1} invariant, x_next = b2 + β_1 d.
    u = keras.random.uniform(
        (num_chains, num_sum + num_keep), dtype=z1.dtype, seed=seed_generator
    )
    u2 = ops.slice(u, [0, 0], [num_chains, num_sum])
    u1 = ops.slice(u, [0, num_sum], [num_chains, num_keep])
    z2 = ops.cast(u2 < ops.sigmoid(x_next), z1.dtype)
    logits1 = b1 + (beta_0 + step) * (delta_a1 + ops.matmul(z2, w_t))
    z1 = ops.cast(u1 < ops.sigmoid(logits1), z1.dtype)
    return z1, new_total, compensation


def _guarded_ais_step(i, state, constants, seed_generator):
    return _ais_step(i, state, constants, seed_generator, guarded=True)


def _softplus_step(x, delta, guarded=True):
    """(x + δ, softplus(x + δ) - softplus(x)), the difference without cancellation.

    It is log1p(σ(x) expm1(δ)), relatively precise for |δ| ≤ 1 however
    large |x|; for |δ| > 1 that form can overflow and, with `guarded`, the
    direct difference (accurate there) is used.
    """
    x_next = x + delta
    if not guarded:
        return x_next, ops.log1p(ops.sigmoid(x) * ops.expm1(delta))
    near = ops.log1p(ops.sigmoid(x) * ops.expm1(ops.clip(delta, -1.0, 1.0)))
    direct = ops.softplus(x_next) - ops.softplus(x)
    return x_next, ops.where(ops.abs(delta) <= 1.0, near, direct)


def _log_mean_exp_with_bounds(log_weights):
    """log mean w and log(mean w ∓ 3 × standard error), in float64."""
    m = log_weights.max()
    r = np.exp(log_weights - m)
    mean = r.mean()
    sem = r.std(ddof=1) / math.sqrt(r.size) if r.size > 1 else 0.0
    lower = m + math.log(mean - 3 * sem) if mean - 3 * sem > 0 else -math.inf
    return m + math.log(mean), lower, m + math.log(mean + 3 * sem)

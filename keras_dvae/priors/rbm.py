"""A restricted Boltzmann machine prior over two groups of binary latents."""

import hashlib
import random
import time

import keras
import numpy as np
from keras import ops

from keras_dvae.layers import host_init
from keras_dvae.priors import rbm_log_partition, rbm_sampling
from keras_dvae.priors.base import Prior
from keras_dvae.utils import checks

# Key of the seed generator's state in a layer's saved variables.
_BASES = ("bias", "uniform")
#: Largest smaller side for which `estimate_log_partition("auto")` enumerates.
EXACT_LIMIT = 20
_METHODS = ("auto", "exact", "ais")


@keras.saving.register_keras_serializable(package="keras_dvae")
class RBMPrior(Prior):
    """A restricted Boltzmann machine p(z1, z2) trained by persistent chains.

    The prior of DVAE, DVAE++ and DVAE# over two groups of binary latents,

        E(z1, z2) = -a1ᵀz1 - a2ᵀz2 - z1ᵀ W z2,   p(z1, z2) = e^{-E} / Z.

    For a factorial or hierarchical q(z1|x) q(z2|x, ζ1) (DVAE++ §5),

        KL(q‖p) = log Z - H(q) + [-a1ᵀμ1 - a2ᵀμ2 - ν1ᵀ W μ2],

    μ1 = q(z1=1|x), μ2 = q(z2=1|x, ζ1), ν1 = q(z1=1|x, ζ1) (μ1 if factorial),
    the bracket (`cross_entropy_terms`) averaged over samples of ζ1. The
    call returns the bracket plus `log_partition_surrogate`, whose gradient
    is the PCD estimate of ∇ log Z (its value is not log Z), so
    `kl = prior(mu1, mu2, nu1, training=training) - entropy_of_q` trains
    prior, encoder and decoder together. Keras passes no training context
    to `compute_loss`: pass `training` explicitly, and call the layer once
    per step, since each training call advances the chains by
    `gibbs_sweeps` block-Gibbs sweeps.

    The non-trainable variable `log_partition` holds the log Z estimate
    that `log_prob` uses, set by `estimate_log_partition` (exact up to
    `EXACT_LIMIT` units on the smaller side, AIS beyond) or
    `set_log_partition`, each with a fingerprint of (a1, a2, W); once the
    parameters change, it is stale and `ensure_log_partition()` re-estimates
    it.

    With `tempering_betas`, each chain is a ladder of replicas at inverse
    temperatures β_k (p_β ∝ e^{-βE}) with replica exchange between
    neighbours after every sweep (Desjardins et al. 2010), at
    `len(tempering_betas)` times the cost. The chains are the non-trainable
    variables `chains_z1` (K, num_chains, num_z1) and `chains_z2`
    (K, num_chains, num_z2), replica K - 1 at β = 1; they and the seed
    generator's state are saved with the weights, so a restored layer
    continues its chains exactly.

    Args:
        num_z1: int ≥ 1, units in the first group.
        num_z2: int ≥ 1, units in the second group.
        num_chains: int ≥ 1, persistent chains.
        gibbs_sweeps: int ≥ 1, block-Gibbs sweeps per training step.
        tempering_betas: None for plain block Gibbs, or ≥ 2 inverse
            temperatures in [0, 1], strictly increasing, ending at 1.
        kernel_initializer: initializer of `W` (default zeros).
        bias_initializer: initializer of `a1` and `a2` (default zeros).
        seed: int ≥ 0 or None, seeds the layer's `SeedGenerator`.
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`).

    Call arguments:
        mu1: (..., num_z1) probabilities q(z1=1|x).
        mu2: (..., num_z2) probabilities q(z2=1|x, ζ1).
        nu1: (..., num_z1) probabilities q(z1=1|x, ζ1), or None for μ1.
        training: advance the chains when true.

    Returns:
        (...,) per-example -E_q[log p(z)] with the PCD surrogate for log Z.

    Raises:
        ValueError: for a bad argument, naming it and its value.

    Example:

    >>> import numpy as np
    >>> prior = RBMPrior(4, 3, num_chains=8, seed=0)
    >>> mu1, mu2 = np.full((2, 4), 0.5, "float32"), np.full((2, 3), 0.5, "float32")
    >>> cross_entropy = prior(mu1, mu2)  # (2,); training=True advances the chains
    >>> log_z = prior.exact_log_partition()

    References:
        Rolfe, "Discrete Variational Autoencoders", ICLR 2017, §2 and D.3.
        Vahdat et al., "DVAE++", ICML 2018, §5 (the KL above).
        Tieleman, "Training restricted Boltzmann machines using
        approximations to the likelihood gradient", ICML 2008 (PCD).
        Desjardins et al., "Tempered Markov chain Monte Carlo for training
        of restricted Boltzmann machines", AISTATS 2010.
        Salakhutdinov & Murray, "On the quantitative analysis of deep
        belief networks", ICML 2008 (AIS).
    """

    def __init__(
        self,
        num_z1,
        num_z2,
        num_chains=1000,
        gibbs_sweeps=40,
        tempering_betas=None,
        kernel_initializer="zeros",
        bias_initializer="zeros",
        seed=None,
        **kwargs,
    ):
        num_z1 = checks.check_positive_int("num_z1", num_z1)
        num_z2 = checks.check_positive_int("num_z2", num_z2)
        kwargs.pop("num_latents", None)  # derived: num_z1 + num_z2
        super().__init__(num_latents=num_z1 + num_z2, seed=seed, **kwargs)
        self.num_z1 = num_z1
        self.num_z2 = num_z2
        self.num_chains = checks.check_positive_int("num_chains", num_chains)
        self.gibbs_sweeps = checks.check_positive_int("gibbs_sweeps", gibbs_sweeps)
        self.tempering_betas = _check_ladder(tempering_betas)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self._log_partition_info = None
        self._log_partition_fingerprint = None
        # The variables' shapes do not depend on the inputs: build now, so
        # that sampling and log Z work before the first call.
        self.build()

    def build(self, input_shape=None):
        replicas = self.num_replicas
        bias = host_init.on_host(self.bias_initializer)
        self.a1 = self.add_weight(shape=(self.num_z1,), initializer=bias, name="a1")
        self.a2 = self.add_weight(shape=(self.num_z2,), initializer=bias, name="a2")
        self.W = self.add_weight(
            shape=(self.num_z1, self.num_z2),
            initializer=host_init.on_host(self.kernel_initializer),
            name="W",
        )
        self.chains_z1 = self.add_weight(
            shape=(replicas, self.num_chains, self.num_z1),
            initializer=self._uniform_binary,
            trainable=False,
            name="chains_z1",
        )
        self.chains_z2 = self.add_weight(
            shape=(replicas, self.num_chains, self.num_z2),
            initializer=self._uniform_binary,
            trainable=False,
            name="chains_z2",
        )
        self.log_partition = self.add_weight(
            shape=(),
            initializer=host_init.HostConstant(0.0),
            trainable=False,
            name="log_partition",
        )

    # ------------------------------------------------------------- energy

    @property
    def num_replicas(self):
        """Replicas per chain: `len(tempering_betas)`, or 1 without tempering."""
        return 1 if self.tempering_betas is None else len(self.tempering_betas)

    @property
    def chains(self):
        """(z1, z2): the persistent chains' current states at β = 1."""
        return self.chains_z1[-1], self.chains_z2[-1]

    def energy(self, z1, z2):
        """E(z1, z2) = -a1ᵀz1 - a2ᵀz2 - z1ᵀWz2 of (..., num_z1), (..., num_z2)."""
        z1 = self._check_group("z1", z1, self.num_z1)
        z2 = self._check_group("z2", z2, self.num_z2)
        return rbm_sampling.energy(z1, z2, self.a1, self.a2, self.W)

    def free_energy(self, z1):
        """F(z1) = -a1ᵀz1 - Σ_j softplus(a2 + Wᵀz1)_j: log p(z1) = -F(z1) - log Z."""
        z1 = self._check_group("z1", z1, self.num_z1)
        return rbm_sampling.free_energy(z1, self.a1, self.a2, self.W)

    # ----------------------------------------------------------- sampling

    def gibbs_sweep(self, z1, inverse_temperature=1.0):
        """(z1, z2) after one sweep at β from z1; see `rbm_sampling.gibbs_sweep`."""
        z1 = self._check_group("z1", z1, self.num_z1)
        a1, a2, w = self._rbm_parameters()
        beta = ops.cast(inverse_temperature, z1.dtype)
        return rbm_sampling.gibbs_sweep(z1, a1, a2, w, self.seed_generator, beta)

    def sample(self, num_samples, sweeps=1000):
        """Draws z = [z1, z2] of shape (num_samples, num_z1 + num_z2).

        Each sample ends a fresh uniform chain run for `sweeps` sweeps (the
        persistent chains are untouched): exact only in the limit.
        """
        num_samples = checks.check_positive_int("num_samples", num_samples)
        sweeps = checks.check_positive_int("sweeps", sweeps)
        return ops.concatenate(self._sample(num_samples, sweeps), axis=-1)

    def split(self, z):
        """(z1, z2): the two sides of codes z (..., num_z1 + num_z2)."""
        return z[..., : self.num_z1], z[..., self.num_z1 :]

    def log_prob(self, z):
        """log p(z) = −E(z1, z2) − log Z, with the current log Z estimate."""
        z1, z2 = self.split(z)
        return -self.energy(z1, z2) - ops.cast(self.log_partition, self.compute_dtype)

    def update_chains(self, sweeps=None):
        """Advances the chains `sweeps` (default `gibbs_sweeps`); (z1, z2) at β = 1."""
        sweeps = self.gibbs_sweeps if sweeps is None else sweeps
        sweeps = checks.check_positive_int("sweeps", sweeps)
        z1, z2 = self._run_chains(
            ops.convert_to_tensor(self.chains_z1),
            ops.convert_to_tensor(self.chains_z2),
            sweeps,
        )
        self.chains_z1.assign(z1)
        self.chains_z2.assign(z2)
        return z1[-1], z2[-1]

    # ----------------------------------------------------------- training

    def log_partition_surrogate(self, training=None):
        """A scalar whose gradient is the PCD estimate of ∇ log Z (value: not log Z).

        S = -mean F(z1) over the chains' stop-gradient z1 at β = 1, so
        ∇S = mean E_{p(z2|z1)}[-∇E] ≈ ∇ log Z, z2 summed out (lower variance).
        With `training`, the chains first advance.
        """
        if training:
            z1, _ = self.update_chains()
        else:
            z1 = self.chains_z1[-1]
        z1 = ops.stop_gradient(ops.convert_to_tensor(z1))
        return -ops.mean(rbm_sampling.free_energy(z1, self.a1, self.a2, self.W))

    def cross_entropy_terms(self, mu1, mu2, nu1=None):
        """-a1ᵀμ1 - a2ᵀμ2 - ν1ᵀWμ2 per example, E_q[E(z)] given ζ1; see the call."""
        mu1 = self._check_group("mu1", mu1, self.num_z1)
        mu2 = self._check_group("mu2", mu2, self.num_z2)
        nu1 = mu1 if nu1 is None else self._check_group("nu1", nu1, self.num_z1)
        coupling = rbm_sampling.matmul_last_axis(nu1, ops.cast(self.W, nu1.dtype))
        return -(
            ops.sum(mu1 * self.a1, axis=-1)
            + ops.sum(mu2 * self.a2, axis=-1)
            + ops.sum(coupling * mu2, axis=-1)
        )

    def call(self, mu1, mu2, nu1=None, training=None):
        return self.cross_entropy_terms(mu1, mu2, nu1) + self.log_partition_surrogate(
            training=training
        )

    def compute_output_shape(self, mu1_shape, mu2_shape=None, nu1_shape=None):
        return tuple(mu1_shape[:-1])

    # ------------------------------------------------------------- log Z

    has_log_partition = True

    def _fingerprint(self):
        digest = hashlib.sha1()
        for v in (self.a1, self.a2, self.W):
            digest.update(np.ascontiguousarray(ops.convert_to_numpy(v)).tobytes())
        return digest.hexdigest()

    @property
    def log_partition_info(self):
        """The current estimate's info dict, or None when it is stale."""
        if self._log_partition_info is None or (
            self._fingerprint() != self._log_partition_fingerprint
        ):
            return None
        return self._log_partition_info

    def set_log_partition(self, log_z, info=None):
        """Records a known log Z (e.g. a preset's) for the current parameters.

        Returns the info dict: `info` (how it was obtained) plus `log_z`.
        """
        info = {"method": "given", **(info or {}), "log_z": float(log_z)}
        self.log_partition.assign(np.float32(log_z))
        self._log_partition_info = info
        self._log_partition_fingerprint = self._fingerprint()
        return info

    def estimate_log_partition(self, method="auto", verbose=0, **ais_kwargs):
        """Estimates log Z and stores it in `log_partition`.

        Args:
            method: "exact" (smaller side ≤ 24 units), "ais" (forward
                `ais_log_partition`), or "auto" (exact up to `EXACT_LIMIT`).
            verbose: progress bar for AIS.
            **ais_kwargs: passed to `ais_log_partition`.

        Returns:
            A dict: log_z, method, seconds, and for AIS log_z_lower /
            log_z_upper (±3 standard errors of the mean weight), num_betas
            and num_chains.

        Example:

        >>> prior = RBMPrior(4, 4, num_chains=8, seed=0)
        >>> prior.estimate_log_partition()["method"]
        'exact'
        """
        if method not in _METHODS:
            raise ValueError(
                f"`method` must be one of {_METHODS}. Received: method={method!r}"
            )
        if method == "auto":
            smaller = min(self.num_z1, self.num_z2)
            method = "exact" if smaller <= EXACT_LIMIT else "ais"
        start = time.time()
        if method == "exact":
            info = {"log_z": self.exact_log_partition(), "method": "exact"}
        else:
            estimate = self.ais_log_partition(verbose=verbose, **ais_kwargs)
            info = {
                "log_z": float(estimate.log_z),
                "method": "ais",
                "log_z_lower": float(estimate.log_z_lower),
                "log_z_upper": float(estimate.log_z_upper),
                "num_betas": int(estimate.num_betas),
                "num_chains": int(estimate.num_chains),
            }
        info["seconds"] = round(time.time() - start, 2)
        return self.set_log_partition(info["log_z"], info)

    def ensure_log_partition(self, verbose=0):
        """The current log Z info, re-estimated (method "auto") if stale."""
        return self.log_partition_info or self.estimate_log_partition(verbose=verbose)

    def log_partition_term(self, training=None):
        """log Z's value (the estimate) carrying the PCD gradient of log Z."""
        surrogate = self.log_partition_surrogate(training=training)
        return (
            ops.cast(self.log_partition, surrogate.dtype)
            + surrogate
            - ops.stop_gradient(surrogate)
        )

    def exact_log_partition(self):
        """log Z as a float, by `rbm_log_partition.exact_log_partition`.

        Raises:
            ValueError: if min(num_z1, num_z2) > 24; use `ais_log_partition`.
        """
        return rbm_log_partition.exact_log_partition(
            *(ops.convert_to_numpy(v) for v in (self.a1, self.a2, self.W))
        )

    def ais_log_partition(
        self,
        num_betas=10000,
        num_chains=1000,
        schedule=None,
        base="bias",
        base_samples=None,
        reverse=False,
        target_samples=None,
        target_sweeps=1000,
        seed=None,
        batch_size=None,
        verbose=0,
    ):
        """Estimates log Z by annealed importance sampling.

        Anneals from a factorial base p_A ∝ exp(b1ᵀz1 + b2ᵀz2) to the RBM,
        the larger side summed out (see `annealed_log_partition`). Forward
        AIS is biased low in log Z; reverse AIS (Burda et al. 2015) is
        biased high only if it starts from exact RBM samples. By default it
        starts from `target_sweeps` block-Gibbs sweeps of fresh uniform
        chains, which are not exact samples (a multimodal RBM's chains may
        not have mixed between its modes), so its estimate is not a strict
        upper bound and forward and reverse together are not a guaranteed
        bracket: their agreement is a consistency check. Pass exact or
        better-mixed `target_samples` (e.g. from parallel tempering) for a
        sharper one; `benchmarks/RESULTS_rbm.md` shows a hard RBM where
        reverse came out below forward.

        Args:
            num_betas: int ≥ 2, points of `default_schedule`.
            num_chains: int ≥ 1, independent AIS runs.
            schedule: None, or inverse temperatures increasing strictly from
                0 to 1 (overrides `num_betas`).
            base: "bias" (biases b = logit((Σz + 1) / (N + 2)) fitted to
                `base_samples`) or "uniform" (b = 0).
            base_samples: (z1, z2) binary arrays; None: the chains at β = 1.
            reverse: run reverse AIS.
            target_samples: for reverse AIS, (z1, z2) RBM samples, one row a
                chain; None draws `num_chains` by `sample(n, target_sweeps)`.
            target_sweeps: int ≥ 1.
            seed: int ≥ 0 for a reproducible estimate with its own
                generator; None uses (and advances) the layer's.
            batch_size: chains per batch (None: all); memory is
                O(batch_size · (num_z1 + num_z2)).
            verbose: 0 silent, 1 a progress bar.

        Returns:
            An `AISEstimate`.

        Example:

        >>> prior = RBMPrior(3, 3, num_chains=8, seed=0)
        >>> estimate = prior.ais_log_partition(num_betas=100, num_chains=64)
        >>> abs(estimate.log_z - prior.exact_log_partition()) < 0.1
        True
        """
        if schedule is None:
            schedule = rbm_log_partition.default_schedule(num_betas)
        else:
            schedule = rbm_log_partition.check_schedule(schedule)
        num_chains = checks.check_positive_int("num_chains", num_chains)
        target_sweeps = checks.check_positive_int("target_sweeps", target_sweeps)
        if batch_size is not None:
            batch_size = checks.check_positive_int("batch_size", batch_size)
        if base not in _BASES:
            raise ValueError(f"`base` must be one of {_BASES}. Received: base={base!r}")
        if seed is None:
            generator = self.seed_generator
        else:
            generator = keras.random.SeedGenerator(
                checks.check_positive_int("seed", seed, minimum=0)
            )
        a1, a2, w = (
            np.asarray(ops.convert_to_numpy(v), np.float64)
            for v in (self.a1, self.a2, self.W)
        )
        if base == "uniform":
            b1, b2 = np.zeros_like(a1), np.zeros_like(a2)
        else:
            samples = self.chains if base_samples is None else base_samples
            z1, z2 = self._check_samples("base_samples", samples)
            b1, b2 = _fit_biases(z1), _fit_biases(z2)
        if reverse:
            if target_samples is None:
                z1, z2 = self._sample(num_chains, target_sweeps, generator)
            else:
                z1, z2 = self._check_samples("target_samples", target_samples)
            initial = (z1, z2)
        else:
            initial = tuple(
                rbm_sampling.bernoulli(
                    ops.broadcast_to(
                        ops.convert_to_tensor(b, self.variable_dtype),
                        (num_chains, b.shape[0]),
                    ),
                    generator,
                )
                for b in (b1, b2)
            )
        # Carry the smaller side; sum the larger one out analytically.
        if self.num_z2 < self.num_z1:
            a1, a2, w, b1, b2 = a2, a1, w.T, b2, b1
            initial = initial[::-1]
        return rbm_log_partition.annealed_log_partition(
            a1,
            a2,
            w,
            b1,
            b2,
            schedule,
            np.asarray(ops.convert_to_numpy(initial[0])),
            generator,
            reverse=reverse,
            batch_size=batch_size,
            verbose=verbose,
        )

    # -------------------------------------------------------- serialising

    def get_config(self):
        return {
            **super().get_config(),
            "num_z1": self.num_z1,
            "num_z2": self.num_z2,
            "num_chains": self.num_chains,
            "gibbs_sweeps": self.gibbs_sweeps,
            "tempering_betas": self.tempering_betas and list(self.tempering_betas),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }

    # ------------------------------------------------------------ helpers

    def _rbm_parameters(self):
        return tuple(ops.convert_to_tensor(v) for v in (self.a1, self.a2, self.W))

    def _ladder(self):
        if self.tempering_betas is None:
            return None
        return ops.convert_to_tensor(
            np.asarray(self.tempering_betas), dtype=self.variable_dtype
        )

    def _uniform_binary(self, shape, dtype=None):
        # Drawn with NumPy (no program compiled per shape on JAX), from
        # `seed`, or from Python's `random` (which
        # `keras.utils.set_random_seed` seeds) when it is None.
        seed = self.seed if self.seed is not None else random.getrandbits(32)
        bits = np.random.default_rng([seed, len(shape), *shape]).random(shape) < 0.5
        return host_init.host_tensor(bits, dtype or self.variable_dtype)

    def _run_chains(self, z1, z2, sweeps, generator=None):
        return rbm_sampling.run_chains(
            z1,
            z2,
            *self._rbm_parameters(),
            sweeps,
            self.seed_generator if generator is None else generator,
            self._ladder(),
        )

    def _sample(self, num_samples, sweeps, generator=None):
        """(z1, z2) at β = 1 after `sweeps` sweeps of fresh uniform chains."""
        shape = (self.num_replicas, num_samples)
        z1, z2 = self._run_chains(
            self._uniform_binary(shape + (self.num_z1,)),
            ops.zeros(shape + (self.num_z2,), dtype=self.variable_dtype),
            sweeps,
            generator,
        )
        return z1[-1], z2[-1]

    def _check_group(self, name, x, size):
        x = ops.cast(ops.convert_to_tensor(x), self.compute_dtype)
        if x.shape[-1] is not None and x.shape[-1] != size:
            raise ValueError(
                f"`{name}` must have {size} units on its last axis. "
                f"Received: {name}.shape={tuple(x.shape)}"
            )
        return x

    def _check_samples(self, name, samples):
        if not isinstance(samples, (tuple, list)) or len(samples) != 2:
            raise ValueError(
                f"`{name}` must be a pair (z1, z2) of binary arrays. "
                f"Received: {name}={samples!r}"
            )
        z1, z2 = (np.asarray(ops.convert_to_numpy(z), np.float64) for z in samples)
        if (
            z1.ndim != 2
            or z2.ndim != 2
            or z1.shape[1] != self.num_z1
            or z2.shape[1] != self.num_z2
            or z1.shape[0] != z2.shape[0]
        ):
            raise ValueError(
                f"`{name}` must be arrays of shapes (N, {self.num_z1}) and "
                f"(N, {self.num_z2}). Received: {name} with shapes "
                f"{z1.shape} and {z2.shape}"
            )
        return z1, z2


def _fit_biases(z):
    """Biases of the factorial model matching the samples' means (smoothed)."""
    mean = (z.sum(axis=0) + 1.0) / (z.shape[0] + 2.0)
    return np.log(mean) - np.log1p(-mean)


def _check_ladder(betas):
    """Returns `tempering_betas` as a tuple of floats, or None."""
    if betas is None:
        return None
    try:
        array = np.asarray(betas, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or not rbm_log_partition.increases_to_one(array) or array[0] < 0:
        raise ValueError(
            "`tempering_betas` must be None (plain block Gibbs) or at least two "
            "inverse temperatures in [0, 1], strictly increasing and ending at "
            f"1, e.g. [0.25, 0.5, 0.75, 1.0]. Received: tempering_betas={betas!r}"
        )
    return tuple(float(b) for b in array)

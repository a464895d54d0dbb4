"""The base class of the smoothing families for binary latents."""

import keras
from keras import ops

from keras_dvae.utils import checks
from keras_dvae.utils.numerics import TINY, as_dtype, log_sigmoid, to_float

# Bisection runs on u = logit(zeta) in [-_U_BOUND, _U_BOUND], wide enough for
# the power-function family at β = 100 (1 − ζ ~ e^{-β log(1/(1-ρ))}).
_U_BOUND = 4096.0
# |log r(ζ|1) − log r(ζ|0)| beyond this changes log_density_ratio by less
# than float32 resolves (e^-80 relative).
LOG_RATIO_LIMIT = 80.0


class Smoothing:
    """A smoothing transformation r(ζ|z) of a binary latent z, elementwise.

    The encoder's marginal over ζ ∈ [0, 1] is the mixture

        q(ζ|x) = (1 - q) r(ζ|z=0) + q r(ζ|z=1),   q = σ(logits),

    sampled by the inverse CDF ζ = F⁻¹(ρ), ρ ~ U(0, 1). Subclasses implement
    `_cdf_logs` and `_log_prob`, and may override `_icdf` with a closed
    form; otherwise `icdf` bisects `cdf` and attaches the implicit gradient
    dζ/dθ = -(∂F(ζ; θ)/∂θ) / p(ζ; θ) (Figurnov et al. 2018). The sharpness
    (`beta`, or `temperature`) may be a float or a tensor such as an
    annealed Keras variable.

    Args:
        beta: float > 0, the inverse temperature. β → ∞ recovers z.

    Example:

    >>> import numpy as np
    >>> from keras_dvae.smoothing import PowerFunction
    >>> s = PowerFunction(beta=30.0)
    >>> zeta = s.icdf(np.array([0.25, 0.75]), np.array([0.0, 0.0]))
    """

    #: Name of the sharpness argument: "beta" or "temperature".
    parameter_name = "beta"
    #: Default value of the sharpness argument.
    default_parameter = 1.0
    #: Whether q(z=1|x, ζ) is a nontrivial function of ζ (`posterior_logits`).
    is_overlapping = False

    def __init__(self, beta=None):
        if beta is None:
            beta = self.default_parameter
        self.beta = checks.check_positive_finite("beta", beta)

    # ----------------------------------------------------------------- API

    @property
    def parameter(self):
        """The current value of the sharpness parameter (β or τ)."""
        return getattr(self, self.parameter_name)

    def with_parameter(self, value):
        """A copy with sharpness `value` (e.g. a variable holding an annealed β)."""
        return type(self)(**{self.parameter_name: value})

    def icdf(self, rho, logits):
        """ζ = F⁻¹(ρ) for ρ ∈ [0, 1], differentiable in `logits` (log-odds of q)."""
        rho, logits = self._check("rho", rho, logits)
        return self._icdf(rho, logits)

    def cdf(self, zeta, logits):
        """F(ζ) = P(ζ' ≤ ζ) under q(ζ|x), atoms included."""
        zeta, logits = self._check("zeta", zeta, logits)
        return self._cdf(zeta, logits)

    def log_prob(self, zeta, logits):
        """Log-density of the continuous part of q(ζ|x), of mass 1 - `atom_mass`."""
        zeta, logits = self._check("zeta", zeta, logits)
        return self._log_prob(zeta, logits)

    def prob(self, zeta, logits):
        """exp(`log_prob`)."""
        return ops.exp(self.log_prob(zeta, logits))

    def atom_mass(self, logits):
        """Probability mass of the atom at ζ = 0 (zero without an atom)."""
        return self._atom_mass(self._check_logits(logits))

    def mean(self, logits):
        """E[ζ] under q(ζ|x)."""
        return self._mean(self._check_logits(logits))

    def posterior_logits(self, zeta, logits):
        """logit q(z=1|x, ζ) = logits + log r(ζ|1) − log r(ζ|0) (overlapping only)."""
        if not self.is_overlapping:
            raise NotImplementedError(
                f"{type(self).__name__} has no posterior_logits: it is not an "
                "overlapping family (z is a deterministic function of ζ)."
            )
        zeta, logits = self._check("zeta", zeta, logits)
        return logits + self._log_likelihood_ratio(zeta)

    def log_density_ratio(self, zeta, logits, other_logits):
        """log r(ζ; logits) − log r(ζ; other_logits), finite on all of [0, 1].

        An overlapping family's density is the mixture r0(ζ)[(1 − q) +
        q e^L], L = log r(ζ|1) − log r(ζ|0), so the ratio needs only L:

            log σ(−a) + softplus(a + L)   minus the same at the other logits

        L is clipped to ±`LOG_RATIO_LIMIT` (exact to float32 precision):
        where a sample rounds to ζ = 0 or 1 the densities are infinite (the
        power function at β > 1) but their ratio has the finite limit
        σ(∓a)/σ(∓b), and its gradients stay finite (the marginal ELBO).
        """
        if not self.is_overlapping:
            raise NotImplementedError(
                f"{type(self).__name__} has no log_density_ratio: it is not an "
                "overlapping family."
            )
        zeta, logits = self._check("zeta", zeta, logits)
        other_logits = self._check_logits(other_logits)
        ratio = ops.clip(
            self._log_likelihood_ratio(zeta), -LOG_RATIO_LIMIT, LOG_RATIO_LIMIT
        )

        def log_mixture(a):
            return log_sigmoid(-a) + ops.softplus(a + ratio)

        return log_mixture(logits) - log_mixture(other_logits)

    def sample(self, logits, seed=None):
        """Draws ζ ~ q(ζ|x); `seed` is a `SeedGenerator`, an int or None."""
        logits = self._check_logits(logits)
        rho = keras.random.uniform(ops.shape(logits), dtype=logits.dtype, seed=seed)
        return self._icdf(rho, logits)

    def binary_sample(self, rho, logits):
        """The z ~ Bernoulli(q) that ζ = icdf(ρ) smooths: z = 1 iff ρ > 1 − q."""
        rho = ops.convert_to_tensor(rho)
        logits = ops.cast(logits, rho.dtype)
        return ops.cast(rho > ops.sigmoid(-logits), rho.dtype)

    def numerical_icdf(self, rho, logits, num_iterations=None):
        """F⁻¹(ρ) by bisection, with the implicit reparameterisation gradient.

        Bisection runs on u = logit(ζ) with F from log σ(±u), resolving ζ
        and 1 − ζ to float precision; the gradient comes from the zero-valued
        surrogate ζ − (F(ζ̄; θ) − F̄) / p̄ (bars: stopped gradients).
        `num_iterations` defaults to 40 in float32 (width 8192 → 7e-9) and
        64 in float64.
        """
        rho, logits = self._check("rho", rho, logits)
        return self._numerical_icdf(rho, logits, num_iterations)

    # --------------------------------------------------------- serialising

    def get_config(self):
        parameter = self.parameter
        if not isinstance(parameter, float):
            parameter = float(ops.convert_to_numpy(parameter))
        return {self.parameter_name: parameter}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({self.parameter_name}={self.parameter})"

    # ------------------------------------------------------ subclass hooks

    def _cdf_logs(self, log_zeta, log_one_minus_zeta, logits):
        """F(ζ) from log ζ and log(1 − ζ), so that both ends keep full precision."""
        raise NotImplementedError(f"{type(self).__name__} must implement _cdf_logs.")

    def _log_prob(self, zeta, logits):
        raise NotImplementedError(f"{type(self).__name__} must implement _log_prob.")

    def _log_likelihood_ratio(self, zeta):
        """log r(ζ|1) − log r(ζ|0), for overlapping families."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement _log_likelihood_ratio."
        )

    def _mean(self, logits):
        raise NotImplementedError(f"{type(self).__name__} does not implement mean.")

    def _atom_mass(self, logits):
        return ops.zeros_like(logits)

    def _cdf(self, zeta, logits):
        return self._cdf_logs(ops.log(zeta), ops.log1p(-zeta), logits)

    def _cdf_logit(self, u, logits):
        """F(σ(u)), exact even where σ(u) rounds to 0 or 1."""
        u, logits = ops.convert_to_tensor(u), ops.convert_to_tensor(logits)
        return self._cdf_logs(log_sigmoid(u), log_sigmoid(-u), logits)

    def _icdf(self, rho, logits):
        return self._numerical_icdf(rho, logits)

    def _icdf_logit(self, rho, logits):
        """u = logit F⁻¹(ρ) without gradient, resolved where a float ζ rounds to 1."""
        rho, logits = ops.convert_to_tensor(rho), ops.convert_to_tensor(logits)
        if type(self)._icdf is Smoothing._icdf:  # the bisection inverse
            rho, logits = _broadcast(rho, logits)
            return self._bisect_logit(rho, logits)
        zeta = self._icdf(rho, logits)
        return ops.log(zeta) - ops.log1p(-zeta)

    # ------------------------------------------------------------- helpers

    def _param(self, dtype):
        return as_dtype(self.parameter, dtype)

    def _bisect_logit(self, rho, logits, num_iterations=None):
        """u = logit(F⁻¹(ρ)) by bisection; no gradient."""
        if num_iterations is None:  # see `numerical_icdf`
            num_iterations = (
                40 if ops.dtype(rho) in ("float32", "float16", "bfloat16") else 64
            )
        rho_bar = ops.stop_gradient(rho)
        logits_bar = ops.stop_gradient(logits)

        def body(_, bounds):
            lo, hi = bounds
            mid = 0.5 * (lo + hi)
            below = self._cdf_logit(mid, logits_bar) < rho_bar
            return ops.where(below, mid, lo), ops.where(below, hi, mid)

        lo = ops.full_like(rho_bar, -_U_BOUND)
        hi = ops.full_like(rho_bar, _U_BOUND)
        lo, hi = ops.fori_loop(0, num_iterations, body, (lo, hi))
        return 0.5 * (lo + hi)

    def _numerical_icdf(self, rho, logits, num_iterations=None):
        rho, logits = _broadcast(rho, logits)
        rho_bar = ops.stop_gradient(rho)
        zeta = ops.stop_gradient(self._bisect_logit(rho, logits, num_iterations))
        zeta = ops.sigmoid(zeta)
        zeta = ops.where(rho_bar <= 0, 0.0, ops.where(rho_bar >= 1, 1.0, zeta))

        # Implicit gradient (METHODS.md §1): zero-valued surrogate.
        cdf = self._cdf(zeta, logits)
        density = ops.stop_gradient(ops.exp(self._log_prob(zeta, logits)))
        # `where`, not `maximum`, so that a NaN density at an end point
        # (0 · ∞ in a log-density) also falls back to the floor.
        density = ops.where(density > TINY, density, TINY)
        correction = (cdf - ops.stop_gradient(cdf)) / density
        # Inside an atom ζ does not move with θ.
        in_atom = rho_bar <= ops.stop_gradient(self._atom_mass(logits))
        return zeta - ops.where(in_atom, 0.0, correction)

    def _check_logits(self, logits):
        checks.check_finite("logits", logits)  # host data only (see `checks`)
        return to_float(logits)

    def _check(self, name, x, logits):
        """(x, logits) as tensors, x checked to lie in [0, 1]."""
        logits = self._check_logits(logits)
        return checks.check_value(name, x, logits, unit_interval=True), logits


def _broadcast(a, b):
    shape = ops.shape(a + b)
    return ops.broadcast_to(a, shape), ops.broadcast_to(b, shape)

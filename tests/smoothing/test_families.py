"""Properties of every smoothing family against independent references."""

import numpy as np
import pytest
from scipy import integrate, stats

from keras_dvae import smoothing
from tests.helpers import BACKEND, grad, to_numpy

FAMILIES = sorted(smoothing.FAMILIES)
BETAS = [1.0, 5.0, 20.0, 50.0]
GRID_LOGITS = np.array([-20.0, -5.0, -1.0, 0.0, 1.0, 5.0, 20.0])
GRID_RHO = np.linspace(0.0, 1.0, 201)


def make(name, beta):
    """The family at inverse temperature β (temperature 1/β for the concrete)."""
    family = smoothing.FAMILIES[name]
    if family.parameter_name == "temperature":
        return family(temperature=1.0 / beta)
    return family(beta=beta)


# Keras on JAX computes in float32 unless x64 is enabled for the whole
# process, so float64 references run on TensorFlow and PyTorch, and JAX runs
# the same checks in float32 where float32 can hold the distribution.
FLOAT64 = BACKEND != "jax"
WIDE = "float64" if FLOAT64 else "float32"


def beyond_float32(name, beta):
    """Whether the family puts > 1e-4 of its mass where float32 ζ underflows."""
    return (name == "power_function" and beta > 1) or (
        name == "relaxed_bernoulli" and beta > 5
    )


def grid(dtype="float32"):
    rho, logits = np.meshgrid(GRID_RHO, GRID_LOGITS)
    return rho.astype(dtype), logits.astype(dtype)


# ------------------------------------------------------------ inverse CDF


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("name", FAMILIES)
def test_icdf_inverts_cdf(name, beta):
    s = make(name, beta)
    rho, logits = grid()
    atom = to_numpy(s.atom_mass(logits))
    # (ζ, 1 − ζ) at full precision: checks the inverse itself, including
    # where float32 rounds ζ to exactly 1 (power function, concrete).
    u = s._icdf_logit(rho, logits)
    roundtrip = to_numpy(s._cdf_logit(u, logits))
    one_minus = 1.0 / (1.0 + np.exp(np.clip(to_numpy(u), -80, 80)))
    outside_atom = rho > atom + 1e-6
    np.testing.assert_array_less(np.abs(roundtrip - rho)[outside_atom], 1e-4)
    # The public float32 ζ wherever rounding ζ to float32 moves F by less
    # than half the tolerance: p(ζ) · ulp(ζ) < 5e-5.
    zeta = to_numpy(s.icdf(rho, logits))
    cdf = to_numpy(s.cdf(zeta, logits))
    inner = np.clip(
        1.0 / (1.0 + np.exp(-np.clip(to_numpy(u), -80, 80))), 1e-30, 1 - 6e-8
    )
    density = to_numpy(s.prob(inner.astype("float32"), logits))
    shift = density * np.spacing(inner.astype("float32"))
    u_values = to_numpy(u)
    representable = outside_atom & (
        (u_values > -69) & (shift < 5e-5) & (one_minus > 6e-8) | (rho == 1)
    )
    assert representable.mean() > (0.4 if beta <= 5 else 0.05)
    np.testing.assert_array_less(np.abs(cdf - rho)[representable], 1e-4)
    if name in (
        "spike_and_exponential",
        "overlapping_exponential",
        "overlapping_logistic",
    ):
        # Nothing is left out for the families whose mass float32 can hold.
        assert representable.sum() == outside_atom.sum()
    # Inside an atom the generalised inverse returns the atom and F jumps past ρ.
    in_atom = ~outside_atom
    assert np.all(zeta[in_atom & (rho < atom - 1e-6)] == 0.0)
    assert np.all(cdf[in_atom] >= rho[in_atom] - 1e-6)


@pytest.mark.parametrize("beta", [1.0, 5.0, 20.0])
@pytest.mark.parametrize(
    "name", ["spike_and_exponential", "overlapping_exponential", "relaxed_bernoulli"]
)
def test_closed_form_icdf_matches_bisection(name, beta):
    s = make(name, beta)
    rho, logits = grid()
    closed = to_numpy(s.icdf(rho, logits))
    numerical = to_numpy(s.numerical_icdf(rho, logits))
    # Where the density is low a float32 ρ pins ζ only to ~1e-7 / p(ζ).
    density = to_numpy(s.prob(np.clip(closed, 1e-6, 1 - 1e-6), logits))
    tolerance = 2e-5 + 1e-6 / np.maximum(density, 1e-30)
    np.testing.assert_array_less(np.abs(closed - numerical), tolerance)


# --------------------------------------------------- density, CDF, atom


@pytest.mark.parametrize("beta", [1.0, 5.0, 20.0, 50.0])
@pytest.mark.parametrize("name", FAMILIES)
def test_cdf_is_integral_of_density(name, beta):
    """F(b) = atom + ∫₀ᵇ p(ζ) dζ by Simpson's rule on u = logit ζ."""
    if not FLOAT64 and beyond_float32(name, beta):
        pytest.skip("mass below float32's smallest ζ exceeds 1e-4; run on TF/torch")
    s = make(name, beta)
    logits = np.array([-4.0, -0.5, 0.0, 1.5, 4.0], WIDE)[:, None]
    lowest = -700.0 if FLOAT64 else -87.0
    ends = np.array([0.02, 0.3, 0.5, 0.8, 0.999])
    u = np.linspace(lowest, np.log(0.999 / 0.001), 200_001)
    picks = np.minimum(np.searchsorted(u, np.log(ends / (1 - ends))), len(u) - 1)
    zeta = (1.0 / (1.0 + np.exp(-u))).astype(WIDE)
    log_density = to_numpy(s.log_prob(zeta[None, :], logits)).astype("float64")
    # dζ/du = ζ (1 − ζ), in logs: log σ(u) + log σ(−u).
    log_jacobian = -np.logaddexp(0.0, -u) - np.logaddexp(0.0, u)
    integrand = np.exp(log_density + log_jacobian)
    cumulative = integrate.cumulative_simpson(integrand, x=u, initial=0.0)
    cdf = to_numpy(s.cdf(zeta[picks][None, :], logits))
    atom = to_numpy(s.atom_mass(logits))
    assert log_density.shape == (5, u.size)
    np.testing.assert_allclose(atom + cumulative[:, picks], cdf, atol=1e-4)


@pytest.mark.parametrize("name", [n for n in FAMILIES if n != "relaxed_bernoulli"])
@pytest.mark.parametrize("beta", [1.0, 8.0, 30.0])
def test_mean_matches_quadrature(name, beta):
    if not FLOAT64 and beyond_float32(name, beta):
        pytest.skip(
            "float32 quadrature cannot reach the mass near ζ = 0; run on TF/torch"
        )
    s = make(name, beta)
    logits = np.array([-3.0, 0.0, 2.0])
    for logit, mean in zip(
        logits, to_numpy(s.mean(logits.astype("float32"))), strict=True
    ):
        value, _ = integrate.quad(
            lambda z, logit=logit: (
                z
                * float(
                    to_numpy(s.prob(np.array([z], WIDE), np.array([logit], WIDE)))[0]
                )
            ),
            0.0,
            1.0,
            points=[0.5],
            limit=200,
        )
        np.testing.assert_allclose(mean, value, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("name", FAMILIES)
def test_samples_pass_kolmogorov_smirnov(name):
    # β = 2 keeps the mass that float32 rounds to ζ = 1 below 1e-3 (KS needs
    # a continuous law); the spike's atom is tested apart and removed.
    s = make(name, 2.0)
    logit = np.float32(0.7)
    samples = to_numpy(s.sample(np.full((20_000,), logit), seed=7))
    assert np.all((samples >= 0) & (samples <= 1))
    atom = float(to_numpy(s.atom_mass(np.array([logit])))[0])
    in_atom = samples == 0.0
    n = samples.size
    assert abs(in_atom.mean() - atom) < 5 * np.sqrt(atom * (1 - atom) / n) + 1e-6
    continuous = samples[~in_atom]

    def cdf(z):
        z = np.asarray(z, "float32")
        value = to_numpy(s.cdf(z, np.full(z.shape, logit)))
        return (value - atom) / (1.0 - atom)

    result = stats.kstest(continuous, cdf)
    assert result.pvalue > 1e-3, result


@pytest.mark.parametrize(
    "name", ["overlapping_exponential", "overlapping_logistic", "power_function"]
)
@pytest.mark.parametrize("beta", [2.0, 10.0, 20.0])
def test_posterior_logits_match_component_densities(name, beta):
    """ν = σ(l + log r(ζ|1) − log r(ζ|0)), with r(ζ|z) read off log_prob at l = ±40."""
    s = make(name, beta)
    zeta = np.linspace(0.05, 0.95, 19)
    zeta = zeta.astype(WIDE)
    log_r1 = to_numpy(s.log_prob(zeta, np.full_like(zeta, 40.0)))
    log_r0 = to_numpy(s.log_prob(zeta, np.full_like(zeta, -40.0)))
    for logit in (-2.0, 0.0, 3.0):
        expected = logit + log_r1 - log_r0
        actual = to_numpy(
            s.posterior_logits(zeta.astype("float32"), np.full(19, logit, "float32"))
        )
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-3)


def test_overlapping_exponential_posterior_is_linear():
    s = smoothing.OverlappingExponential(beta=10.0)
    zeta = np.linspace(0, 1, 11).astype("float32")
    expected = 0.5 + 10.0 * (2 * zeta - 1)
    actual = to_numpy(s.posterior_logits(zeta, np.full(11, 0.5, "float32")))
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("temperature", [0.1, 0.5, 2.0])
def test_relaxed_bernoulli_matches_tfp(temperature):
    import tensorflow_probability as tfp

    s = smoothing.RelaxedBernoulli(temperature=temperature)
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, 500).astype("float32")
    zeta = rng.uniform(0.001, 0.999, 500).astype("float32")
    reference = tfp.distributions.RelaxedBernoulli(temperature, logits=logits)
    np.testing.assert_allclose(
        to_numpy(s.log_prob(zeta, logits)),
        reference.log_prob(zeta).numpy(),
        rtol=1e-4,
        atol=1e-4,
    )
    np.testing.assert_allclose(
        to_numpy(s.cdf(zeta, logits)), reference.cdf(zeta).numpy(), atol=1e-5
    )


# Where float32 samples land: both ends, the smallest normal number, one
# ulp from 1 (ζ rounds to 1 above u ≈ 16.6). Subnormal ζ (XLA flushes them
# to 0) are checked apart.
EXTREME_ZETA = np.array(
    [0.0, 1.2e-38, 1e-30, 1e-7, 0.5, 1 - 1e-7, 1 - 6e-8, 1.0], "float32"
)
SUBNORMAL_ZETA = np.array([1e-45, 1e-40], "float32")
CONCRETE_TEMPERATURES = [0.1, 0.5, 1.0, 2.0, 5.0]


def _concrete_log_prob_float64(zeta, logits, tau):
    """Maddison et al. eq. 21 in float64 NumPy, for 0 < ζ < 1."""
    zeta = zeta.astype("float64")
    y = tau * (np.log(zeta) - np.log1p(-zeta)) - logits

    def log_sigmoid(x):
        return -np.logaddexp(0.0, -x)

    return (
        log_sigmoid(y) + log_sigmoid(-y) + np.log(tau) - np.log(zeta) - np.log1p(-zeta)
    )


@pytest.mark.parametrize("temperature", CONCRETE_TEMPERATURES)
def test_relaxed_bernoulli_density_integrates_to_one(temperature):
    """∫₀¹ p(ζ) dζ = 1 by Simpson's rule on u = logit ζ. ζ near 1 rounds to
    1 (above u ≈ 16.6 in float32, 36.7 in float64), so the upper half is
    integrated as the lower half at −logits (1 − ζ ~ concrete(−logits)).
    Each half must be the closed-form mass of its window, F(1/2) − F(ζ_min)
    with F(ζ) = σ(τ logit ζ ∓ logits) in NumPy; in float64 the window
    misses < 1e-12 and the two halves sum to 1. JAX (float32) starts at
    float32's smallest normal ζ, u = −87, where τ = 0.1 leaves ~1 % out."""
    s = smoothing.RelaxedBernoulli(temperature=temperature)
    logits = np.array([-4.0, -1.0, 0.0, 0.5, 3.0], WIDE)[:, None]
    lowest = -700.0 if FLOAT64 else -87.0
    u = np.linspace(lowest, 0.0, 400_001)
    zeta = (1.0 / (1.0 + np.exp(-u))).astype(WIDE)[None, :]
    log_jacobian = -np.logaddexp(0.0, -u) - np.logaddexp(0.0, u)

    def sigmoid(x):
        return np.exp(-np.logaddexp(0.0, -x))

    halves, windows = [], []
    for sign in (1.0, -1.0):
        a = sign * logits
        log_density = to_numpy(s.log_prob(zeta, a)).astype("float64")
        assert np.all(np.isfinite(log_density))
        halves.append(integrate.simpson(np.exp(log_density + log_jacobian), x=u))
        a = a[:, 0].astype("float64")
        windows.append(sigmoid(-a) - sigmoid(temperature * lowest - a))
    np.testing.assert_allclose(halves, windows, rtol=1e-5, atol=1e-6)
    total = halves[0] + halves[1]
    if FLOAT64:
        np.testing.assert_allclose(total, 1.0, rtol=0, atol=1e-6)
    else:
        np.testing.assert_allclose(total, windows[0] + windows[1], atol=2e-6)
        assert np.all(total > 0.98)


@pytest.mark.parametrize("temperature", CONCRETE_TEMPERATURES)
def test_relaxed_bernoulli_log_prob_at_float32_extremes(temperature):
    """No NaN wherever float32 ζ lands: eq. 21 (float64) inside (0, 1), the
    limits log τ ∓ logits + (1 − τ)·∞ at ζ = 0 and 1, finite gradients."""
    s = smoothing.RelaxedBernoulli(temperature=temperature)
    zeta, logits = np.meshgrid(EXTREME_ZETA, np.linspace(-30, 30, 13, dtype="float32"))
    zeta, logits = zeta.ravel(), logits.ravel()
    got = to_numpy(s.log_prob(zeta, logits))
    assert not np.any(np.isnan(got))
    inside = (zeta > 0) & (zeta < 1)
    want = _concrete_log_prob_float64(zeta[inside], logits[inside], temperature)
    assert np.all(np.isfinite(got[inside]))
    np.testing.assert_allclose(got[inside], want, rtol=2e-6, atol=2e-4)
    side = np.where(zeta == 1, 1.0, -1.0)
    pole = np.sign(1.0 - temperature) * np.inf if temperature != 1 else 0.0
    limit = np.log(temperature) + side * logits + pole
    np.testing.assert_array_equal(got[~inside], limit[~inside].astype("float32"))
    for wrt in ("logits", "zeta"):
        if wrt == "logits":
            g = grad(lambda v: s.log_prob(zeta, v), logits)
        else:
            g = grad(lambda v: s.log_prob(v, logits), zeta)
        assert not np.any(np.isnan(g)), (wrt, zeta[np.isnan(g)], logits[np.isnan(g)])
    # d log p / d logits = 2 σ(y) − 1 ∈ [−1, 1]; at the ends it is ±1.
    g = grad(lambda v: s.log_prob(zeta, v), logits)
    assert np.all(np.abs(g) <= 1 + 1e-6)
    np.testing.assert_array_equal(g[~inside], side[~inside])
    # A subnormal ζ gives eq. 21 or, where the backend flushes it to zero,
    # the limit at 0: never NaN.
    logits = np.linspace(-30, 30, len(SUBNORMAL_ZETA), dtype="float32")
    got = to_numpy(s.log_prob(SUBNORMAL_ZETA, logits))
    exact = _concrete_log_prob_float64(SUBNORMAL_ZETA, logits, temperature)
    at_zero = np.log(temperature) - logits + pole
    assert np.all(np.isclose(got, exact, rtol=1e-5) | (got == at_zero)), got


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("temperature", CONCRETE_TEMPERATURES)
def test_relaxed_bernoulli_matches_tfp_at_float32_extremes(temperature):
    """TFP's RelaxedBernoulli (a logistic in logit space) agrees on every
    float32 ζ, the ends' ±∞ included."""
    import tensorflow_probability as tfp

    s = smoothing.RelaxedBernoulli(temperature=temperature)
    zeta, logits = np.meshgrid(EXTREME_ZETA, np.linspace(-20, 20, 9, dtype="float32"))
    zeta, logits = zeta.ravel(), logits.ravel()
    reference = tfp.distributions.RelaxedBernoulli(
        np.float32(temperature), logits=logits
    )
    want = reference.log_prob(zeta).numpy()
    got = to_numpy(s.log_prob(zeta, logits))
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite], want[~finite])
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-5, atol=1e-4)


# -------------------------------------------------------------- gradients


def _fd_check(s, rho, logits, eps, rtol, atol):
    analytic = grad(lambda lg: s.icdf(rho, lg), logits)
    plus = to_numpy(s.icdf(rho, logits + eps))
    minus = to_numpy(s.icdf(rho, logits - eps))
    np.testing.assert_allclose(
        analytic, (plus - minus) / (2 * eps), rtol=rtol, atol=atol
    )


@pytest.mark.parametrize("beta", [1.0, 5.0, 20.0])
@pytest.mark.parametrize("name", FAMILIES)
def test_gradient_matches_finite_differences(name, beta):
    s = make(name, beta)
    rng = np.random.default_rng(1)
    logits = rng.uniform(-4, 4, 200)
    rho = rng.uniform(0.01, 0.99, 200)
    atom = 1.0 / (1.0 + np.exp(logits))
    if name == "spike_and_exponential":  # away from the kink at ρ = 1 − q
        keep = np.abs(rho - atom) > 0.02
        logits, rho = logits[keep], rho[keep]
    if FLOAT64:
        _fd_check(s, rho, logits, eps=1e-6, rtol=1e-4, atol=1e-6)
    elif beta <= 5:  # float32 differences are too coarse for sharper ζ(ρ)
        logits, rho = logits.astype("float32"), rho.astype("float32")
        _fd_check(s, rho, logits, eps=1e-2, rtol=2e-2, atol=2e-3)
    else:
        pytest.skip("float64 finite differences run on TF/torch")


@pytest.mark.parametrize("beta", [1.0, 5.0, 20.0])
@pytest.mark.parametrize(
    "name", ["spike_and_exponential", "overlapping_exponential", "relaxed_bernoulli"]
)
def test_implicit_gradient_matches_closed_form(name, beta):
    s = make(name, beta)
    rng = np.random.default_rng(2)
    logits = rng.uniform(-6, 6, 500).astype("float32")
    rho = rng.uniform(0.001, 0.999, 500).astype("float32")
    closed = grad(lambda lg: s.icdf(rho, lg), logits)
    implicit = grad(lambda lg: s.numerical_icdf(rho, lg), logits)
    np.testing.assert_allclose(implicit, closed, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", FAMILIES)
def test_no_nan_or_inf_in_extremes(name):
    logits = np.linspace(-50, 50, 41).astype("float32")
    rho = np.concatenate([[0.0, 1e-30, 1e-7, 0.5, 1 - 6e-8, 1.0]]).astype("float32")
    rho, logits = [a.ravel() for a in np.meshgrid(rho, logits)]
    for beta in [1.0, 10.0, 50.0, 100.0]:
        s = make(name, beta)
        zeta = to_numpy(s.icdf(rho, logits))
        assert np.all(np.isfinite(zeta)) and np.all((zeta >= 0) & (zeta <= 1))
        g = grad(lambda lg, s=s: s.icdf(rho, lg), logits)
        assert np.all(np.isfinite(g)), (
            beta,
            logits[~np.isfinite(g)],
            rho[~np.isfinite(g)],
        )
        samples = to_numpy(s.sample(logits, seed=3))
        assert np.all(np.isfinite(samples))


# ----------------------------------------------------------- binary limit


@pytest.mark.parametrize("name", FAMILIES)
def test_samples_approach_bernoulli_as_beta_grows(name):
    rng = np.random.default_rng(3)
    logits = np.full(20_000, 0.8, "float32")
    rho = rng.uniform(size=20_000).astype("float32")
    distances = []
    for beta in [2.0, 20.0, 200.0]:
        s = make(name, beta)
        zeta = to_numpy(s.icdf(rho, logits))
        z = to_numpy(s.binary_sample(rho, logits))
        distances.append(np.mean(np.abs(zeta - z)))
    assert distances[0] > distances[1] > distances[2]
    assert distances[2] < 0.02
    # z is exactly binary with mean q (binomial 5σ bound).
    q = 1 / (1 + np.exp(-0.8))
    assert set(np.unique(z)) <= {0.0, 1.0}
    assert abs(z.mean() - q) < 5 * np.sqrt(q * (1 - q) / z.size)


# ----------------------------------------------------- resolution, errors


def test_get_by_name_alias_config_and_instance():
    s = smoothing.get("overlapping_exponential", beta=8.0)
    assert isinstance(s, smoothing.OverlappingExponential) and s.beta == 8.0
    assert isinstance(smoothing.get("concrete"), smoothing.RelaxedBernoulli)
    assert smoothing.get(s) is s
    config = smoothing.serialize(smoothing.PowerFunction(beta=12.0))
    restored = smoothing.get(config)
    assert isinstance(restored, smoothing.PowerFunction) and restored.beta == 12.0


def test_unknown_name_lists_valid_ones():
    with pytest.raises(
        ValueError, match="overlapping_exponential.*identifier='gaussian'"
    ):
        smoothing.get("gaussian")


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_parameter_raises(name, bad):
    family = smoothing.FAMILIES[name]
    argument = family.parameter_name
    with pytest.raises(ValueError, match=f"Received: {argument}="):
        family(**{argument: bad})


def test_bad_tensor_inputs_raise():
    s = smoothing.OverlappingExponential(beta=5.0)
    with pytest.raises(ValueError, match="`logits` must be finite"):
        s.icdf(np.array([0.5]), np.array([np.nan]))
    with pytest.raises(ValueError, match=r"`rho` must lie in \[0, 1\]"):
        s.icdf(np.array([1.5]), np.array([0.0]))
    with pytest.raises(ValueError, match="broadcastable.*rho.shape=\\(3,\\)"):
        s.icdf(np.zeros(3), np.zeros(4))
    with pytest.raises(NotImplementedError, match="SpikeAndExponential"):
        smoothing.SpikeAndExponential().posterior_logits(np.zeros(2), np.zeros(2))


@pytest.mark.parametrize(
    "name", [n for n in FAMILIES if smoothing.get(n).is_overlapping]
)
def test_log_density_ratio_is_the_log_prob_difference_and_finite_at_the_ends(name):
    """The marginal ELBO's term: log r(ζ; a) − log r(ζ; b). Inside (0, 1)
    it is the difference of `log_prob`s (float64 scipy-free reference:
    the mixture formula in NumPy); at ζ = 0 and 1, where the power
    function's densities are infinite, the limit σ(∓a)/σ(∓b), with finite
    gradients."""
    rng = np.random.default_rng(0)
    s = smoothing.get(name, beta=30.0)
    a = rng.normal(0.0, 3.0, 64).astype("float32")
    b = rng.normal(0.0, 3.0, 64).astype("float32")
    zeta = rng.uniform(0.01, 0.99, 64).astype("float32")
    got = to_numpy(s.log_density_ratio(zeta, a, b))
    want = to_numpy(s.log_prob(zeta, a)) - to_numpy(s.log_prob(zeta, b))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)

    def log_sigmoid(x):
        return -np.logaddexp(0.0, -x.astype("float64"))

    ends = {
        0.0: log_sigmoid(-a) - log_sigmoid(-b),
        1.0: log_sigmoid(a) - log_sigmoid(b),
    }
    for end, limit in ends.items():
        at_end = np.full(64, end, "float32")
        np.testing.assert_allclose(
            to_numpy(s.log_density_ratio(at_end, a, b)), limit, rtol=1e-4, atol=1e-4
        )
        gradient = grad(lambda v, e=at_end: s.log_density_ratio(e, v, b), a)
        assert np.all(np.isfinite(gradient))

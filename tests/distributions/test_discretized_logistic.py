"""The discretised logistic mixture against closed forms and enumeration."""

import numpy as np
from scipy import special, stats

from keras_dvae.distributions import discretized_logistic as dl
from tests.helpers import to_numpy

VALUES = np.arange(256) / 127.5 - 1.0


def _params(rng, channels, mixtures, pixels=1):
    n = dl.num_parameters(channels, mixtures)
    return rng.normal(size=(pixels, 1, 1, n)).astype("float32")


def _log_prob_grid(params, x, mixtures):
    """log p of each row of x (n, C) under the same one-pixel parameters."""
    x = x.reshape(len(x), 1, 1, -1).astype("float32")
    tiled = np.repeat(params, len(x), axis=0)
    return to_numpy(dl.log_prob(x, tiled, mixtures)).astype("float64")


def test_single_channel_matches_logistic_bins():
    # p(k) = Σ_m π_m [F((x+1/255−μ)/s) − F((x−1/255−μ)/s)], tails at the edges.
    rng = np.random.default_rng(0)
    mixtures = 3
    params = _params(rng, 1, mixtures)
    log_p = _log_prob_grid(params, VALUES[:, None], mixtures)
    logits, means, log_scales = np.split(params[0, 0, 0].astype("float64"), 3)
    weights = special.softmax(logits)
    scales = np.exp(np.maximum(log_scales, -7.0))
    upper = np.where(VALUES >= 0.999, np.inf, VALUES + 1 / 255)[:, None]
    lower = np.where(VALUES <= -0.999, -np.inf, VALUES - 1 / 255)[:, None]
    mass = stats.logistic.cdf(upper, means, scales) - stats.logistic.cdf(
        lower, means, scales
    )
    expected = np.log(mass @ weights)
    np.testing.assert_allclose(log_p, expected, rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(np.exp(log_p).sum(), 1.0, atol=1e-4)


def _bin_log_mass(x, mean, scale):
    upper = np.where(x >= 0.999, np.inf, x + 1 / 255)
    lower = np.where(x <= -0.999, -np.inf, x - 1 / 255)
    return np.log(
        stats.logistic.cdf(upper, mean, scale) - stats.logistic.cdf(lower, mean, scale)
    )


def test_coupled_channels_match_the_chain_rule():
    # p(x) = Σ_m π_m Π_c Logistic-bin(x_c; μ_mc + Σ_{j<c} α_mcj x_j, s_mc),
    # computed here with scipy from the documented parameter layout.
    rng = np.random.default_rng(1)
    mixtures = 2
    params = _params(rng, 3, mixtures)
    points = VALUES[rng.integers(0, 256, size=(40, 3))]
    points[:4] = [[-1, -1, -1], [1, 1, 1], [-1, 1, 0], [1, -1, 0.2]]
    log_p = _log_prob_grid(params, points, mixtures)
    flat = params[0, 0, 0].astype("float64")
    logits = flat[:mixtures]
    means = flat[mixtures : 4 * mixtures].reshape(3, mixtures)
    scales = np.exp(np.maximum(flat[4 * mixtures : 7 * mixtures], -7.0)).reshape(
        3, mixtures
    )
    alpha = np.tanh(flat[7 * mixtures :]).reshape(3, mixtures)  # (1,0) (2,0) (2,1)
    expected = []
    for x in points:
        per_component = special.log_softmax(logits).copy()
        for m in range(mixtures):
            mu = [
                means[0, m],
                means[1, m] + alpha[0, m] * x[0],
                means[2, m] + alpha[1, m] * x[0] + alpha[2, m] * x[1],
            ]
            per_component[m] += sum(
                _bin_log_mass(x[c], mu[c], scales[c, m]) for c in range(3)
            )
        expected.append(special.logsumexp(per_component))
    np.testing.assert_allclose(log_p, expected, rtol=2e-4, atol=2e-4)


def test_samples_follow_the_probabilities():
    rng = np.random.default_rng(2)
    mixtures = 2
    params = _params(rng, 1, mixtures)
    probs = np.exp(_log_prob_grid(params, VALUES[:, None], mixtures))
    n = 20000
    draws = to_numpy(dl.sample(np.repeat(params, n, axis=0), 1, mixtures, seed=3))
    counts = np.bincount(np.round(draws.reshape(-1) * 255).astype(int), minlength=256)
    # Compare on 8 coarse bins: a chi-square test at a generous level.
    coarse_p = probs.reshape(8, 32).sum(axis=1)
    coarse_n = counts.reshape(8, 32).sum(axis=1)
    keep = coarse_p * n > 5
    chi2 = np.sum((coarse_n[keep] - n * coarse_p[keep]) ** 2 / (n * coarse_p[keep]))
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-4
    assert draws.min() >= 0.0 and draws.max() <= 1.0


def test_wrong_parameter_count_names_it():
    import pytest

    with pytest.raises(ValueError, match="must have 20 channels"):
        dl.log_prob(np.zeros((1, 1, 1, 3)), np.zeros((1, 1, 1, 7), "float32"), 2)

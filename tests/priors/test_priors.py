"""The priors' interface (log_prob, sample, KL) against independent references.

Every prior here is tiny, so its law is enumerated over all codes (binary,
one-hot) or integrated numerically (Normal) in NumPy/SciPy float64.
"""

import itertools

import keras
import numpy as np
import pytest
from scipy import integrate, special, stats

from keras_dvae.distributions import kl_divergence
from keras_dvae.distributions.posterior import CategoricalPosterior, NormalPosterior
from keras_dvae.layers import SmoothedBernoulli
from keras_dvae.priors import (
    BernoulliPrior,
    CategoricalPrior,
    NormalPrior,
    RBMPrior,
)
from tests.helpers import to_numpy
from tests.priors import rbm_reference as rbm_ref

# Every binary code of 4 units, (16, 4), in lexicographic order.
CODES4 = np.array(list(itertools.product([0.0, 1.0], repeat=4)))


def _log_bernoulli(z, logits):
    """Σ log Bernoulli(z; σ(logits)) over the last axis, float64."""
    return np.sum(
        z * special.log_expit(logits) + (1 - z) * special.log_expit(-logits), -1
    )


def _numpy_sequential(model, x):
    """A `layers.mlp` Sequential in inference mode, recomputed in float64."""
    h = np.asarray(x, np.float64)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            h = h @ to_numpy(layer.kernel).astype(np.float64)
            h = h + to_numpy(layer.bias).astype(np.float64)
        elif isinstance(layer, keras.layers.BatchNormalization):
            mean = to_numpy(layer.moving_mean).astype(np.float64)
            var = to_numpy(layer.moving_variance).astype(np.float64)
            gamma = to_numpy(layer.gamma).astype(np.float64)
            beta = to_numpy(layer.beta).astype(np.float64)
            h = gamma * (h - mean) / np.sqrt(var + layer.epsilon) + beta
        elif isinstance(layer, keras.layers.Activation):
            assert layer.activation is keras.activations.tanh
            h = np.tanh(h)
        else:
            raise AssertionError(f"unexpected layer {layer}")
    return h


def _randomise(layer, seed, scale=1.0):
    """Random values for every trainable variable of `layer`."""
    rng = np.random.default_rng(seed)
    for v in layer.trainable_variables:
        v.assign(rng.normal(0.0, scale, tuple(v.shape)).astype("float32"))


def _binary_posterior(logits, samples, num_groups):
    latent = SmoothedBernoulli()
    return latent.posterior(
        keras.ops.convert_to_tensor(np.asarray(logits, "float32")),
        keras.ops.convert_to_tensor(np.asarray(samples, "float32")),
        num_groups=num_groups,
        training=False,
        discrete=True,
    )


# ------------------------------------------------------------- Bernoulli


def _directed_prior(seed=0):
    """A 2-group directed Bernoulli prior over 4 units with random weights."""
    prior = BernoulliPrior(4, num_groups=2, hidden_units=(3,), seed=seed)
    _randomise(prior, seed=seed + 10)
    # Batch norm's moving statistics too (not trainable): a non-trivial
    # inference-mode normalisation.
    norm = prior.networks[0].layers[1]
    norm.moving_mean.assign(np.array([0.3, -0.2, 0.1], "float32"))
    norm.moving_variance.assign(np.array([0.5, 2.0, 1.5], "float32"))
    return prior


def _directed_log_p(prior, z):
    """log p(z) of `_directed_prior`, recomputed in NumPy float64."""
    first = np.broadcast_to(to_numpy(prior.logits).astype(np.float64), (len(z), 2))
    second = _numpy_sequential(prior.networks[0], z[:, :2])
    return _log_bernoulli(z[:, :2], first) + _log_bernoulli(z[:, 2:], second)


def test_factorial_bernoulli_log_prob_is_normalised():
    prior = BernoulliPrior(4, seed=0)
    logits = np.array([-1.3, 0.2, 2.1, -0.4])
    prior.logits.assign(logits.astype("float32"))
    log_p = to_numpy(prior.log_prob(CODES4.astype("float32"))).astype(np.float64)
    np.testing.assert_allclose(special.logsumexp(log_p), 0.0, atol=1e-5)
    np.testing.assert_allclose(log_p, _log_bernoulli(CODES4, logits), atol=1e-5)
    # Not learned: the uniform prior, 4 log ½ for every code.
    uniform = BernoulliPrior(4, learned=False)
    np.testing.assert_allclose(
        to_numpy(uniform.log_prob(CODES4.astype("float32"))), 4 * np.log(0.5), rtol=1e-6
    )
    assert not uniform.trainable_variables


def test_directed_bernoulli_log_prob_is_normalised():
    prior = _directed_prior()
    log_p = to_numpy(prior.log_prob(CODES4.astype("float32"))).astype(np.float64)
    np.testing.assert_allclose(special.logsumexp(log_p), 0.0, atol=1e-5)
    np.testing.assert_allclose(log_p, _directed_log_p(prior, CODES4), atol=1e-5)
    # The conditional really depends on the first group.
    assert np.ptp(_numpy_sequential(prior.networks[0], CODES4[:, :2])) > 0.1


@pytest.mark.parametrize("num_groups", [1, 2])
def test_bernoulli_joint_kl_matches_enumeration(num_groups):
    """Σ_z q(z)[log q(z) − log p(z)] over all 16 codes, q hierarchical too.

    With 2 groups, q(z_2|x, z_1) has logits that depend on z_1; the KL of
    one discrete sample is the first group's KL plus the second group's
    given the sampled z_1, and its q(z_1)-weighted average is the joint KL.
    """
    rng = np.random.default_rng(1)
    if num_groups == 1:
        prior = BernoulliPrior(4, seed=0)
        prior.logits.assign(rng.normal(size=4).astype("float32"))
        log_p = _log_bernoulli(CODES4, to_numpy(prior.logits).astype(np.float64))
    else:
        prior = _directed_prior(seed=1)
        log_p = _directed_log_p(prior, CODES4)
    first = rng.normal(size=2)
    # q(z_2 | z_1): logits for each of the 4 values of z_1 (rows of z1s).
    z1s = CODES4[::4, :2]
    second = (
        rng.normal(size=(4, 2))
        if num_groups == 2
        else np.tile(rng.normal(size=2), (4, 1))
    )

    # Enumeration of q(z) = q(z_1) q(z_2|z_1) and of the KL.
    index = (CODES4[:, 0] * 2 + CODES4[:, 1]).astype(int)
    log_q = _log_bernoulli(CODES4[:, :2], first) + _log_bernoulli(
        CODES4[:, 2:], second[index]
    )
    np.testing.assert_allclose(special.logsumexp(log_q), 0.0, atol=1e-12)
    expected = np.sum(np.exp(log_q) * (log_q - log_p))

    # The library's KL, one row per value of z_1, weighted by q(z_1).
    logits = np.concatenate([np.tile(first, (4, 1)), second], axis=1)
    samples = np.concatenate([z1s, np.zeros((4, 2))], axis=1)
    kl = to_numpy(kl_divergence(_binary_posterior(logits, samples, num_groups), prior))
    q_z1 = np.exp(_log_bernoulli(z1s, first))
    if num_groups == 1:
        # A factorial q: every row is the same KL.
        np.testing.assert_allclose(kl, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(q_z1 @ kl, expected, rtol=1e-4, atol=1e-5)


def test_directed_bernoulli_samples_follow_the_probabilities():
    prior = _directed_prior(seed=2)
    n = 20000
    z = to_numpy(prior.sample(n))
    assert z.shape == (n, 4) and set(np.unique(z)) <= {0.0, 1.0}
    index = (z.astype(int) << np.arange(3, -1, -1)).sum(1)  # CODES4 order
    frequency = np.bincount(index, minlength=16) / n
    p = np.exp(_directed_log_p(prior, CODES4))
    tolerance = 5 * np.sqrt(p * (1 - p) / n) + 1e-3
    assert np.all(np.abs(frequency - p) <= tolerance), (frequency, p)


# ----------------------------------------------------------- categorical

LATENTS, CATEGORIES = 2, 3
ONE_HOTS = np.array(
    [
        np.eye(CATEGORIES)[list(c)].ravel()
        for c in itertools.product(range(CATEGORIES), repeat=LATENTS)
    ]
)  # (9, 6)


def _categorical_prior(seed=0):
    prior = CategoricalPrior(LATENTS, CATEGORIES, learned=True, seed=seed)
    prior.logits.assign(
        np.random.default_rng(seed).normal(size=(LATENTS, CATEGORIES)).astype("float32")
    )
    return prior


def test_categorical_log_prob_is_normalised():
    prior = _categorical_prior()
    log_p = to_numpy(prior.log_prob(ONE_HOTS.astype("float32"))).astype(np.float64)
    np.testing.assert_allclose(special.logsumexp(log_p), 0.0, atol=1e-5)
    log_softmax = special.log_softmax(to_numpy(prior.logits).astype(np.float64), -1)
    expected = (ONE_HOTS.reshape(-1, LATENTS, CATEGORIES) * log_softmax).sum((1, 2))
    np.testing.assert_allclose(log_p, expected, atol=1e-5)
    # Uniform: log(1/K) per latent.
    uniform = CategoricalPrior(LATENTS, CATEGORIES)
    np.testing.assert_allclose(
        to_numpy(uniform.log_prob(ONE_HOTS.astype("float32"))),
        -LATENTS * np.log(CATEGORIES),
        rtol=1e-6,
    )


@pytest.mark.parametrize("learned", [False, True])
def test_categorical_kl_matches_closed_form(learned):
    prior = _categorical_prior(seed=3) if learned else CategoricalPrior(2, 3)
    rng = np.random.default_rng(4)
    logits = rng.normal(0, 2, size=(5, LATENTS * CATEGORIES))
    posterior = CategoricalPosterior(
        keras.ops.convert_to_tensor(logits.astype("float32")),
        keras.ops.convert_to_tensor(np.tile(ONE_HOTS[:1], (5, 1)).astype("float32")),
        num_categories=CATEGORIES,
        num_groups=1,
        training=False,
        discrete=True,
    )
    kl = to_numpy(kl_divergence(posterior, prior))
    log_q = special.log_softmax(logits.reshape(5, LATENTS, CATEGORIES), -1)
    log_p = special.log_softmax(to_numpy(prior.logits).astype(np.float64), -1)
    expected = (np.exp(log_q) * (log_q - log_p)).sum((1, 2))
    np.testing.assert_allclose(kl, expected, rtol=1e-4, atol=1e-6)
    # And by enumeration of the 9 joint codes.
    q_codes = np.exp(
        (ONE_HOTS.reshape(1, 9, LATENTS, CATEGORIES) * log_q[:, None]).sum((2, 3))
    )
    log_p_codes = (ONE_HOTS.reshape(9, LATENTS, CATEGORIES) * log_p).sum((1, 2))
    enumerated = (q_codes * (np.log(q_codes) - log_p_codes)).sum(1)
    np.testing.assert_allclose(kl, enumerated, rtol=1e-4, atol=1e-6)


def test_categorical_samples_follow_the_probabilities():
    prior = _categorical_prior(seed=5)
    n = 20000
    z = to_numpy(prior.sample(n)).reshape(n, LATENTS, CATEGORIES)
    np.testing.assert_array_equal(z.sum(-1), 1.0)
    p = special.softmax(to_numpy(prior.logits).astype(np.float64), -1)
    tolerance = 5 * np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(z.mean(0) - p) <= tolerance), (z.mean(0), p)


# ---------------------------------------------------------------- Normal


def test_normal_kl_matches_numerical_integration():
    prior = NormalPrior(2, seed=0)
    means = np.array([[0.7, -1.2], [0.0, 2.0]])
    log_vars = np.array([[-0.5, 0.8], [0.0, -2.0]])
    params = np.concatenate([means, log_vars], axis=1)
    samples = means  # unused by the analytic KL
    posterior = NormalPosterior(
        keras.ops.convert_to_tensor(params.astype("float32")),
        keras.ops.convert_to_tensor(samples.astype("float32")),
        num_groups=1,
        training=False,
        discrete=False,
    )
    kl = to_numpy(kl_divergence(posterior, prior))
    for row, value in enumerate(kl):
        total = 0.0
        for m, lv in zip(means[row], log_vars[row], strict=True):
            q = stats.norm(m, np.exp(0.5 * lv))
            total += integrate.quad(
                lambda t, q=q: q.pdf(t) * (q.logpdf(t) - stats.norm.logpdf(t)),
                -np.inf,
                np.inf,
            )[0]
        np.testing.assert_allclose(value, total, rtol=1e-5, atol=1e-6)
    # log p(z) is the standard Normal's log-density.
    z = np.array([[0.3, -1.1], [2.0, 0.0]], "float32")
    np.testing.assert_allclose(
        to_numpy(prior.log_prob(z)), stats.norm.logpdf(z).sum(1), rtol=1e-5
    )


def test_normal_samples_are_standard():
    z = to_numpy(NormalPrior(3, seed=1).sample(20000))
    assert z.shape == (20000, 3)
    np.testing.assert_allclose(z.mean(0), 0.0, atol=5 / np.sqrt(20000))
    np.testing.assert_allclose(z.var(0), 1.0, atol=5 * np.sqrt(2 / 20000))


# ------------------------------------------------------------------- RBM


def _tiny_rbm(seed=0):
    prior = RBMPrior(2, 2, num_chains=8, seed=0)
    a1, a2, w = rbm_ref.random_rbm(2, 2, seed=seed, scale=1.0)
    rbm_ref.set_parameters(prior, a1, a2, w)
    return prior, (a1, a2, w)


def _rbm_log_p(z, a1, a2, w):
    """log p(z) over codes [z1, z2] of a 2 + 2 RBM, by enumeration."""
    neg_energy = (
        z[:, :2] @ a1 + z[:, 2:] @ a2 + np.einsum("ni,ij,nj->n", z[:, :2], w, z[:, 2:])
    )
    return neg_energy - rbm_ref.log_partition(a1, a2, w)


def test_rbm_log_prob_is_normalised_after_exact_log_partition():
    prior, params = _tiny_rbm(seed=1)
    info = prior.estimate_log_partition("exact")
    assert info["method"] == "exact"
    np.testing.assert_allclose(info["log_z"], rbm_ref.log_partition(*params), rtol=1e-6)
    log_p = to_numpy(prior.log_prob(CODES4.astype("float32"))).astype(np.float64)
    np.testing.assert_allclose(special.logsumexp(log_p), 0.0, atol=1e-5)
    np.testing.assert_allclose(log_p, _rbm_log_p(CODES4, *params), atol=1e-5)


@pytest.mark.parametrize("num_groups", [1, 2])
def test_rbm_kl_matches_enumeration(num_groups):
    """kl_divergence(posterior, RBMPrior) in the discrete limit vs Σ_z q log q/p.

    One group: a factorial q, every row the exact KL. Two groups (z_1 the
    RBM's first side): q(z_2|z_1) depends on z_1, and the q(z_1)-weighted
    average of the per-sample KL is the joint KL.
    """
    prior, params = _tiny_rbm(seed=2)
    prior.estimate_log_partition("exact")
    log_p = _rbm_log_p(CODES4, *params)
    rng = np.random.default_rng(6)
    first = rng.normal(size=2)
    z1s = CODES4[::4, :2]
    if num_groups == 1:
        second = np.tile(rng.normal(size=2), (4, 1))
    else:
        second = rng.normal(size=(4, 2))
    index = (CODES4[:, 0] * 2 + CODES4[:, 1]).astype(int)
    log_q = _log_bernoulli(CODES4[:, :2], first) + _log_bernoulli(
        CODES4[:, 2:], second[index]
    )
    expected = np.sum(np.exp(log_q) * (log_q - log_p))

    logits = np.concatenate([np.tile(first, (4, 1)), second], axis=1)
    samples = np.concatenate([z1s, np.zeros((4, 2))], axis=1)
    kl = to_numpy(kl_divergence(_binary_posterior(logits, samples, num_groups), prior))
    if num_groups == 1:
        np.testing.assert_allclose(kl, expected, rtol=1e-4, atol=1e-5)
    q_z1 = np.exp(_log_bernoulli(z1s, first))
    np.testing.assert_allclose(q_z1 @ kl, expected, rtol=1e-4, atol=1e-5)


def test_rbm_log_partition_goes_stale_when_the_parameters_change():
    prior, params = _tiny_rbm(seed=3)
    assert prior.has_log_partition
    assert prior.log_partition_info is None  # never estimated
    info = prior.ensure_log_partition()
    assert info["method"] == "exact"
    assert prior.log_partition_info == info
    np.testing.assert_allclose(
        float(to_numpy(prior.log_partition)), rbm_ref.log_partition(*params), rtol=1e-6
    )

    # Any change of (a1, a2, W) makes the estimate stale ...
    _, _, w = rbm_ref.random_rbm(2, 2, seed=4, scale=1.0)
    prior.W.assign(np.asarray(w, "float32"))
    assert prior.log_partition_info is None
    new_params = (params[0], params[1], w)
    # ... and ensure_log_partition re-estimates it for the new parameters.
    info = prior.ensure_log_partition()
    assert info is not None and prior.log_partition_info == info
    np.testing.assert_allclose(info["log_z"], rbm_ref.log_partition(*new_params))
    np.testing.assert_allclose(
        float(to_numpy(prior.log_partition)),
        rbm_ref.log_partition(*new_params),
        rtol=1e-6,
    )
    log_p = to_numpy(prior.log_prob(CODES4.astype("float32"))).astype(np.float64)
    np.testing.assert_allclose(special.logsumexp(log_p), 0.0, atol=1e-5)
    assert prior.ensure_log_partition() == info
    # A bias change counts too, as does a known value set explicitly.
    prior.a1.assign(np.asarray(params[0] + 0.5, "float32"))
    assert prior.log_partition_info is None
    given = prior.set_log_partition(1.25)
    assert prior.log_partition_info == given and given["method"] == "given"
    # A current value is kept, not re-estimated (the exact log Z is not 1.25).
    assert abs(prior.exact_log_partition() - 1.25) > 0.1
    assert prior.ensure_log_partition() == given
    np.testing.assert_allclose(float(to_numpy(prior.log_partition)), 1.25)

"""RBMPrior against NumPy enumeration of every state."""

import os

import keras
import numpy as np
import pytest
from keras import ops
from scipy.special import expit, logsumexp

from keras_dvae.priors import RBMPrior, bernoulli_entropy
from tests.helpers import grad, to_numpy
from tests.priors import rbm_reference as ref

# ------------------------------------------------------------ construction


def test_variables_and_shapes():
    prior = RBMPrior(3, 5, num_chains=7, tempering_betas=[0.5, 0.75, 1.0], seed=0)
    assert [v.path.split("/")[-1] for v in prior.trainable_weights] == [
        "a1",
        "a2",
        "W",
    ]
    assert tuple(prior.W.shape) == (3, 5)
    assert tuple(prior.chains_z1.shape) == (3, 7, 3)
    assert tuple(prior.chains_z2.shape) == (3, 7, 5)
    assert not prior.chains_z1.trainable and not prior.chains_z2.trainable
    chains = to_numpy(prior.chains_z1)
    assert set(np.unique(chains)) <= {0.0, 1.0}
    z1, z2 = prior.chains
    assert tuple(z1.shape) == (7, 3) and tuple(z2.shape) == (7, 5)


def test_config_round_trip():
    prior = RBMPrior(
        4,
        6,
        num_chains=9,
        gibbs_sweeps=3,
        tempering_betas=[0.2, 0.6, 1.0],
        kernel_initializer=keras.initializers.RandomNormal(stddev=0.1, seed=1),
        seed=11,
        name="rbm",
    )
    config = prior.get_config()
    clone = RBMPrior.from_config(config)
    assert clone.get_config() == config
    assert clone.tempering_betas == (0.2, 0.6, 1.0)
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(prior)
    )
    assert isinstance(restored, RBMPrior) and restored.get_config() == config


def test_bad_constructor_arguments():
    # One test, not a parametrisation: each test item pays for a session clear.
    cases = [
        ({"num_z1": 0}, "num_z1"),
        ({"num_z2": -2}, "num_z2"),
        ({"num_z1": 2.5}, "num_z1"),
        ({"num_chains": 0}, "num_chains"),
        ({"gibbs_sweeps": 0}, "gibbs_sweeps"),
        ({"seed": -1}, "seed"),
        ({"tempering_betas": [1.0]}, "tempering_betas"),
        ({"tempering_betas": [0.5, 0.9]}, "tempering_betas"),
        ({"tempering_betas": [0.5, 0.5, 1.0]}, "tempering_betas"),
        ({"tempering_betas": [-0.1, 1.0]}, "tempering_betas"),
    ]
    for kwargs, name in cases:
        arguments = {"num_z1": 3, "num_z2": 4, "num_chains": 2, **kwargs}
        with pytest.raises(ValueError, match=rf"Received: {name}=[^\n]*$"):
            RBMPrior(**arguments)


def test_bad_method_arguments():
    prior = RBMPrior(3, 4, num_chains=2, seed=0)
    cases = [
        (lambda: prior.sample(0), "num_samples"),
        (lambda: prior.sample(5, sweeps=0), "sweeps"),
        (lambda: prior.update_chains(sweeps=0), "sweeps"),
        (lambda: prior.ais_log_partition(num_betas=1), "num_betas"),
        (lambda: prior.ais_log_partition(num_chains=0), "num_chains"),
        (lambda: prior.ais_log_partition(schedule=[0.0, 0.6, 0.4, 1.0]), "schedule"),
        (lambda: prior.ais_log_partition(schedule=[0.1, 1.0]), "schedule"),
        (lambda: prior.ais_log_partition(schedule=[0.0, 0.9]), "schedule"),
        (lambda: prior.ais_log_partition(base="data"), "base"),
    ]
    for call, name in cases:
        with pytest.raises(ValueError, match=rf"Received: {name}="):
            call()
    with pytest.raises(ValueError, match=r"Received: mu1.shape=\(2, 5\)"):
        prior.cross_entropy_terms(np.zeros((2, 5)), np.zeros((2, 4)))


def test_exact_log_partition_too_large_points_to_ais():
    prior = RBMPrior(25, 30, num_chains=1, seed=0)
    with pytest.raises(ValueError, match="ais_log_partition") as info:
        prior.exact_log_partition()
    assert str(info.value).endswith("Received: num_z1=25, num_z2=30")


# ------------------------------------------------------------------ energy


def test_energy_and_free_energy_match_numpy():
    a1, a2, w = ref.random_rbm(3, 4, seed=0)
    prior = RBMPrior(3, 4, num_chains=2, seed=0)
    ref.set_parameters(prior, a1, a2, w)
    z1 = ref.all_states(3)[[0, 3, 5, 7]]
    z2 = ref.all_states(4)[[1, 6, 9, 15]]
    expected = -(z1 @ a1 + z2 @ a2 + np.sum(z1 @ w * z2, axis=1))
    np.testing.assert_allclose(to_numpy(prior.energy(z1, z2)), expected, rtol=1e-5)
    # exp(-F(z1)) = Σ_z2 exp(-E(z1, z2)).
    neg_energies = (
        (z1 @ a1)[:, None] + ref.all_states(4) @ a2 + z1 @ w @ ref.all_states(4).T
    )
    np.testing.assert_allclose(
        to_numpy(prior.free_energy(z1)), -logsumexp(neg_energies, axis=1), rtol=1e-5
    )


# -------------------------------------------------------------- sampling


def test_gibbs_sampling_reproduces_exact_distribution():
    # 3 + 4 units: 128 joint states. With N samples the expected TV distance
    # of the empirical law is ≤ ½ √(2·128 / (π N)) ≈ 0.032 for N = 20,000.
    a1, a2, w = ref.random_rbm(3, 4, seed=1, scale=0.8)
    prior = RBMPrior(3, 4, num_chains=2, seed=0)
    ref.set_parameters(prior, a1, a2, w)
    z1, z2 = prior.split(to_numpy(prior.sample(20000, sweeps=30)))
    assert ref.total_variation(to_numpy(z1), to_numpy(z2), a1, a2, w) < 0.05


def test_gibbs_sweep_kernel_is_one_step():
    a1, a2, w = ref.random_rbm(3, 4, seed=2, scale=0.8)
    prior = RBMPrior(3, 4, num_chains=2, seed=0)
    ref.set_parameters(prior, a1, a2, w)
    # One sweep from exact samples stays exact.
    z1, _ = ref.exact_samples(a1, a2, w, 20000, np.random.default_rng(0))
    new_z1, new_z2 = prior.gibbs_sweep(z1)
    assert ref.total_variation(to_numpy(new_z1), to_numpy(new_z2), a1, a2, w) < 0.05
    # β = 0 is uniform whatever the state.
    z1, z2 = prior.gibbs_sweep(z1, inverse_temperature=0.0)
    assert abs(to_numpy(z1).mean() - 0.5) < 0.02
    assert abs(to_numpy(z2).mean() - 0.5) < 0.02


def test_parallel_tempering_chains_reproduce_exact_distribution():
    # A bimodal RBM: the chains at β = 1 must weigh both modes correctly.
    a1, a2, w = ref.trained_like_rbm(3, 4, seed=3, modes=1, strength=2.5)
    prior = RBMPrior(
        3, 4, num_chains=4000, tempering_betas=[0.25, 0.5, 0.75, 1.0], seed=0
    )
    ref.set_parameters(prior, a1, a2, w)
    z1, z2 = prior.update_chains(sweeps=30)
    # N = 4000: expected TV ≤ ½ √(256 / (π N)) ≈ 0.071.
    assert ref.total_variation(to_numpy(z1), to_numpy(z2), a1, a2, w) < 0.1
    np.testing.assert_array_equal(to_numpy(z1), to_numpy(prior.chains_z1[-1]))


def test_sample_leaves_persistent_chains_alone():
    prior = RBMPrior(3, 4, num_chains=5, seed=0)
    before = to_numpy(prior.chains_z1)
    prior.sample(10, sweeps=2)
    np.testing.assert_array_equal(to_numpy(prior.chains_z1), before)


def test_same_seed_same_samples():
    first = RBMPrior(3, 4, num_chains=5, seed=7)
    second = RBMPrior(3, 4, num_chains=5, seed=7)
    np.testing.assert_array_equal(to_numpy(first.chains_z1), to_numpy(second.chains_z1))
    np.testing.assert_array_equal(
        to_numpy(first.sample(6, sweeps=3)), to_numpy(second.sample(6, sweeps=3))
    )


# -------------------------------------------------------------- training


def _surrogate_gradient(prior):
    """∇ of `log_partition_surrogate` w.r.t. (a1, a2, W), flattened."""
    n1, n2 = prior.num_z1, prior.num_z2

    def surrogate(flat):
        mapping = [
            (prior.a1, flat[:n1]),
            (prior.a2, flat[n1 : n1 + n2]),
            (prior.W, ops.reshape(flat[n1 + n2 :], (n1, n2))),
        ]
        with keras.StatelessScope(state_mapping=mapping):
            return prior.log_partition_surrogate()

    flat = np.concatenate([to_numpy(v).ravel() for v in (prior.a1, prior.a2, prior.W)])
    return grad(surrogate, flat.astype("float32"))


def test_pcd_gradient_matches_exact_gradient_of_log_z():
    a1, a2, w = ref.random_rbm(4, 5, seed=4, scale=0.7)
    num_chains = 10000
    prior = RBMPrior(4, 5, num_chains=num_chains, gibbs_sweeps=40, seed=0)
    ref.set_parameters(prior, a1, a2, w)
    prior.update_chains()
    expected = np.concatenate([g.ravel() for g in ref.grad_log_partition(a1, a2, w)])
    # Each component is a mean of N terms in [0, 1]: standard error ≤ ½/√N.
    tolerance = 5 * 0.5 / np.sqrt(num_chains)
    np.testing.assert_allclose(_surrogate_gradient(prior), expected, atol=tolerance)


def test_call_adds_surrogate_and_advances_chains_only_when_training():
    prior = RBMPrior(3, 4, num_chains=8, gibbs_sweeps=2, seed=0)
    ref.set_parameters(prior, *ref.random_rbm(3, 4, seed=5))
    mu1 = np.random.rand(6, 3).astype("float32")
    mu2 = np.random.rand(6, 4).astype("float32")
    chains = to_numpy(prior.chains_z1)
    out = prior(mu1, mu2)
    assert tuple(out.shape) == (6,)
    expected = to_numpy(prior.cross_entropy_terms(mu1, mu2)) + to_numpy(
        prior.log_partition_surrogate()
    )
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-6)
    prior(mu1, mu2, training=False)
    np.testing.assert_array_equal(to_numpy(prior.chains_z1), chains)
    prior(mu1, mu2, training=True)
    assert not np.array_equal(to_numpy(prior.chains_z1), chains)


# ------------------------------------------------------------------- KL


def _log_factorial(z, p):
    return (z * np.log(p) + (1 - z) * np.log1p(-p)).sum(-1)


def test_kl_of_factorial_posterior_matches_enumeration():
    a1, a2, w = ref.random_rbm(3, 4, seed=6, scale=0.8)
    prior = RBMPrior(3, 4, num_chains=2, seed=0)
    ref.set_parameters(prior, a1, a2, w)
    rng = np.random.default_rng(0)
    logits1 = rng.normal(0, 2, (5, 3)).astype("float32")
    logits2 = rng.normal(0, 2, (5, 4)).astype("float32")
    kl = (
        to_numpy(prior.cross_entropy_terms(expit(logits1), expit(logits2)))
        - to_numpy(ops.sum(bernoulli_entropy(logits1), -1))
        - to_numpy(ops.sum(bernoulli_entropy(logits2), -1))
        + prior.exact_log_partition()
    )
    log_p, _ = ref.joint_log_probs(a1, a2, w)
    z1, z2 = ref.all_states(3), ref.all_states(4)
    for b in range(5):
        mu1, mu2 = (
            expit(logits1[b].astype(np.float64)),
            expit(logits2[b].astype(np.float64)),
        )
        log_q = _log_factorial(z1, mu1)[:, None] + _log_factorial(z2, mu2)[None, :]
        expected = np.sum(np.exp(log_q) * (log_q - log_p))
        np.testing.assert_allclose(kl[b], expected, rtol=1e-4, atol=1e-4)


def test_kl_of_hierarchical_posterior_matches_enumeration():
    # q(z1) q(z2|z1) with ζ1 = z1 (an infinitely sharp smoothing): then
    # ν1 = z1 and KL = log Z - H(q1) - E_z1[H(q2|z1) + a1ᵀμ1 + a2ᵀμ2 + z1ᵀWμ2].
    a1, a2, w = ref.random_rbm(3, 4, seed=7, scale=0.8)
    prior = RBMPrior(3, 4, num_chains=2, seed=0)
    ref.set_parameters(prior, a1, a2, w)
    rng = np.random.default_rng(1)
    logits1 = rng.normal(0, 1.5, 3)
    coupling = rng.normal(0, 1.5, (3, 4))
    offset = rng.normal(0, 1.5, 4)
    z1_all, z2_all = ref.all_states(3), ref.all_states(4)
    q1 = np.exp(_log_factorial(z1_all, expit(logits1)))
    logits2 = (offset + z1_all @ coupling).astype("float32")  # one row per z1
    mu1 = np.tile(expit(logits1), (8, 1)).astype("float32")
    terms = to_numpy(
        prior.cross_entropy_terms(mu1, expit(logits2).astype("float32"), nu1=z1_all)
    ) - to_numpy(ops.sum(bernoulli_entropy(logits2), -1))
    kl = (
        q1 @ terms
        - to_numpy(ops.sum(bernoulli_entropy(logits1.astype("float32"))))
        + prior.exact_log_partition()
    )
    log_p, _ = ref.joint_log_probs(a1, a2, w)
    log_q = np.log(q1)[:, None] + np.stack(
        [_log_factorial(z2_all, expit(row.astype(np.float64))) for row in logits2]
    )
    expected = np.sum(np.exp(log_q) * (log_q - log_p))
    np.testing.assert_allclose(kl, expected, rtol=1e-4, atol=1e-4)


def test_cross_entropy_of_overlapping_posterior_matches_enumeration():
    # ζ1 takes 3 values with probabilities π; given ζ1, z1 ~ Bern(ν1(ζ1)) and
    # z2 ~ Bern(μ2(ζ1)) independently, and μ1 = E[ν1]. The cross-entropy
    # -E_q[log p(z)] = log Z + E_ζ1[cross_entropy_terms(μ1, μ2, ν1)].
    a1, a2, w = ref.random_rbm(3, 4, seed=8, scale=0.8)
    prior = RBMPrior(3, 4, num_chains=2, seed=0)
    ref.set_parameters(prior, a1, a2, w)
    rng = np.random.default_rng(2)
    pi = np.array([0.2, 0.5, 0.3])
    nu1 = rng.uniform(0.05, 0.95, (3, 3))
    mu2 = rng.uniform(0.05, 0.95, (3, 4))
    mu1 = np.tile(pi @ nu1, (3, 1))
    terms = to_numpy(
        prior.cross_entropy_terms(
            mu1.astype("float32"), mu2.astype("float32"), nu1=nu1.astype("float32")
        )
    )
    cross_entropy = pi @ terms + prior.exact_log_partition()
    log_p, _ = ref.joint_log_probs(a1, a2, w)
    z1, z2 = ref.all_states(3), ref.all_states(4)
    q = sum(
        p_s * np.exp(_log_factorial(z1, n)[:, None] + _log_factorial(z2, m)[None, :])
        for p_s, n, m in zip(pi, nu1, mu2, strict=True)
    )
    np.testing.assert_allclose(cross_entropy, -np.sum(q * log_p), rtol=1e-5)


# --------------------------------------------------------- fit and saving


@keras.saving.register_keras_serializable(package="keras_dvae_tests")
class TinyRBMModel(keras.Model):
    """An encoder to factorial logits, with an RBM prior in compute_loss."""

    def __init__(self, tempering_betas=None, **kwargs):
        super().__init__(**kwargs)
        self.tempering_betas = tempering_betas
        self.encoder = keras.layers.Dense(3 + 4)
        self.prior = RBMPrior(
            3, 4, num_chains=16, gibbs_sweeps=3, tempering_betas=tempering_betas, seed=5
        )

    def call(self, x):
        return self.encoder(x)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        mu1, mu2 = ops.sigmoid(y_pred[:, :3]), ops.sigmoid(y_pred[:, 3:])
        entropy = ops.sum(bernoulli_entropy(y_pred), axis=-1)
        return ops.mean(self.prior(mu1, mu2, training=training) - entropy)

    def get_config(self):
        return {**super().get_config(), "tempering_betas": self.tempering_betas}


def _state(prior):
    return [
        to_numpy(v)
        for v in (prior.chains_z1, prior.chains_z2, prior.seed_generator.state)
    ]


@pytest.mark.parametrize(
    "tempering_betas",
    # The tempered variant compiles a second train step (slow on JAX).
    [None, pytest.param([0.5, 1.0], marks=pytest.mark.slow)],
)
def test_chains_advance_in_fit_and_survive_saving(tmp_path, tempering_betas):
    model = TinyRBMModel(tempering_betas=tempering_betas)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    x = np.random.rand(32, 5).astype("float32")
    before = _state(model.prior)
    weights = to_numpy(model.prior.W)
    model.fit(x, epochs=1, batch_size=8, verbose=0)
    after = _state(model.prior)
    assert not np.array_equal(after[0], before[0])
    assert not np.array_equal(to_numpy(model.prior.W), weights)
    assert np.isfinite(model.evaluate(x, verbose=0))
    # evaluate() does not train: the chains stay put.
    for saved, now in zip(after, _state(model.prior), strict=True):
        np.testing.assert_array_equal(saved, now)

    model.save(os.path.join(tmp_path, "model.keras"))
    model.save_weights(os.path.join(tmp_path, "model.weights.h5"))
    loaded = keras.saving.load_model(os.path.join(tmp_path, "model.keras"))
    fresh = TinyRBMModel(tempering_betas=tempering_betas)
    fresh(x[:2])
    fresh.load_weights(os.path.join(tmp_path, "model.weights.h5"))
    for restored in (loaded, fresh):
        for saved, value in zip(after, _state(restored.prior), strict=True):
            np.testing.assert_array_equal(saved, value)
    # The restored chains continue exactly as the original's.
    model.prior.update_chains()
    fresh.prior.update_chains()
    for saved, value in zip(_state(model.prior), _state(fresh.prior), strict=True):
        np.testing.assert_array_equal(saved, value)

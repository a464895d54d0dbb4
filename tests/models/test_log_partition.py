"""log Z is owned by the RBM prior: never stale, whatever changed the weights."""

import keras
import numpy as np
import pytest

from keras_dvae.evaluation import log_likelihood_report
from keras_dvae.models import DVAEPP, BernoulliVAE
from tests.helpers import to_numpy
from tests.models import reference as ref
from tests.priors import rbm_reference as rbm_ref


def _binary(rng, n, d, p=0.4):
    return (rng.random((n, d)) < p).astype("float32")


def _exact_log_z(model):
    return rbm_ref.log_partition(*ref.rbm_parameters(model.prior))


def _assert_not_stale(model):
    """The recorded estimate is either gone or that of the current weights."""
    info = model.prior.log_partition_info
    if info is not None:
        np.testing.assert_allclose(info["log_z"], _exact_log_z(model), rtol=1e-6)


def _exact_log_likelihood(model, x, num_samples=None):
    """log p(x) = logsumexp_z [−E(z) − log Z + log p(x|z)], z enumerated.

    With `num_samples` K, also the standard error of the IWAE estimate,
    √(Var_q[w/p(x)] / K) (delta method), from the exact law of the weights.
    """
    codes = ref.all_states(model.num_latents)
    log_prior = ref.rbm_log_prior(model, codes, _exact_log_z(model))
    log_joint = log_prior[None] + ref.enumerate_decoder(model, x, codes)
    exact = ref.logsumexp(log_joint, 1)
    if num_samples is None:
        return exact
    log_q, _ = ref.enumerate_posterior(model, x)
    ratio = np.exp(log_joint - log_q - exact[:, None])
    variance = np.sum(np.exp(log_q) * (ratio - 1.0) ** 2, axis=1)
    return exact, np.sqrt(variance / num_samples)


def _assert_log_likelihood_uses_the_current_log_z(model, x):
    estimate = model.log_likelihood(x, num_samples=20000)
    log_z = _exact_log_z(model)
    info = model.prior.log_partition_info
    assert info is not None and info["method"] == "exact"
    np.testing.assert_allclose(info["log_z"], log_z, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(model.prior.log_partition), log_z, rtol=1e-6)
    # The importance weights read that value: log p(z) = −E(z) − log Z ...
    codes = ref.all_states(model.num_latents)
    np.testing.assert_allclose(
        to_numpy(model.prior.log_prob(codes.astype("float32"))),
        ref.rbm_log_prior(model, codes, log_z),
        rtol=1e-5,
        atol=1e-5,
    )
    # ... and the IWAE estimate (K = 20,000 over 16 codes) is the enumeration.
    exact, error = _exact_log_likelihood(model, x, 20000)
    assert np.all(np.abs(estimate - exact) < 5 * error + 2e-3), (estimate, exact)


def test_log_z_is_never_stale():
    # Every route that changes the RBM's parameters, one after the other on
    # the same model (the compiled importance-weight function is reused).
    rng = np.random.default_rng(0)
    x = _binary(rng, 5, 6)
    model = ref.linear_rbm_model(DVAEPP, 6, 2, 2, scale=0.5, seed=1)
    _assert_log_likelihood_uses_the_current_log_z(model, x)
    changes = []

    def changed(previous):
        log_z = _exact_log_z(model)
        changes.append(abs(log_z - previous))
        _assert_not_stale(model)
        _assert_log_likelihood_uses_the_current_log_z(model, x)
        return log_z

    log_z = _exact_log_z(model)
    # train_on_batch (large steps so that log Z moves).
    model.compile(optimizer=keras.optimizers.Adam(0.5))
    for _ in range(3):
        model.train_on_batch(_binary(rng, 20, 6))
    log_z = changed(log_z)
    # set_weights from another model with other RBM parameters.
    other = ref.linear_rbm_model(DVAEPP, 6, 2, 2, scale=2.5, seed=2)
    model.set_weights(other.get_weights())
    log_z = changed(log_z)
    # An assign to W.
    model.prior.W.assign(rng.normal(0.0, 2.0, (2, 2)).astype("float32"))
    log_z = changed(log_z)
    # An assign to a bias.
    model.prior.a2.assign(np.array([2.0, -1.0], "float32"))
    log_z = changed(log_z)
    # A stale estimate would be detectable: log Z moved every time by far
    # more than the checks' tolerance (rtol 1e-6 on a log Z of a few nats).
    assert min(changes) > 0.01, changes


def test_log_z_is_never_stale_after_load_weights(tmp_path):
    x = _binary(np.random.default_rng(1), 5, 6)
    model = ref.linear_rbm_model(DVAEPP, 6, 2, 2, scale=0.5, seed=3)
    other = ref.linear_rbm_model(DVAEPP, 6, 2, 2, scale=1.5, seed=4)
    path = str(tmp_path / "other.weights.h5")
    other.save_weights(path)
    _assert_log_likelihood_uses_the_current_log_z(model, x)
    before = _exact_log_z(model)
    model.load_weights(path)
    assert abs(_exact_log_z(model) - before) > 0.1
    _assert_not_stale(model)
    _assert_log_likelihood_uses_the_current_log_z(model, x)


def _closed_form_kl(model, x):
    """One group: KL = log Z − H(q) − a1ᵀμ1 − a2ᵀμ2 − μ1ᵀWμ2, exact log Z."""
    ((kernel, bias),) = ref.linear_encoders(model)
    mu = ref.expit(ref.centred(model, x) @ kernel + bias)
    a1, a2, w = ref.rbm_parameters(model.prior)
    half = model.prior.num_z1
    mu1, mu2 = mu[:, :half], mu[:, half:]
    entropy = -np.sum(mu * np.log(mu) + (1 - mu) * np.log1p(-mu), axis=1)
    cross = mu1 @ a1 + mu2 @ a2 + np.sum((mu1 @ w) * mu2, axis=1)
    return _exact_log_z(model) - entropy - cross


class _CheckValidation(keras.callbacks.Callback):
    """After each epoch's validation: `val_kl` against the closed form with
    the exact log Z of the weights the validation ran with."""

    def __init__(self, x_val):
        super().__init__()
        self.x_val = x_val
        self.log_z = []

    def on_epoch_end(self, epoch, logs=None):
        model = self.model
        self.log_z.append(_exact_log_z(model))
        expected = _closed_form_kl(model, self.x_val).mean()
        np.testing.assert_allclose(logs["val_kl"], expected, rtol=1e-4, atol=1e-4)


def test_validation_inside_fit_uses_the_current_log_z():
    # One group: in evaluation the KL is analytic (no sampling), so the
    # validation KL is a deterministic function of the weights and log Z.
    rng = np.random.default_rng(2)
    x, x_val = _binary(rng, 40, 6), _binary(rng, 16, 6)
    model = ref.linear_rbm_model(DVAEPP, 6, 4, 1, scale=0.5, seed=5)
    initial = _exact_log_z(model)
    model.compile(optimizer=keras.optimizers.Adam(0.5))
    check = _CheckValidation(x_val)
    history = model.fit(
        x,
        validation_data=(x_val,),
        epochs=3,
        batch_size=20,
        verbose=0,
        callbacks=[check],
        adapt=False,  # the reference model's weights as they are
    )
    assert len(check.log_z) == 3
    # log Z moved in every epoch by far more than the check's tolerance
    # (~2e-4): a stale value would have failed it.
    assert np.all(np.abs(np.diff([initial, *check.log_z])) > 5e-3), check.log_z
    _assert_not_stale(model)
    after = model.evaluate(x_val, batch_size=len(x_val), verbose=0, return_dict=True)
    np.testing.assert_allclose(history.history["val_kl"][-1], after["kl"], rtol=1e-5)
    np.testing.assert_allclose(
        after["kl"], _closed_form_kl(model, x_val).mean(), rtol=1e-4, atol=1e-4
    )
    # The validation ELBO is that of `evaluate` up to the sampled codes.
    metrics = [
        model.evaluate(x_val, batch_size=len(x_val), verbose=0, return_dict=True)
        for _ in range(20)
    ]
    elbos = np.array([m["elbo"] for m in metrics])
    spread = elbos.std(ddof=1)
    assert abs(history.history["val_elbo"][-1] - elbos.mean()) < 5 * spread + 1e-4


def test_log_likelihood_report_with_reverse_ais():
    rng = np.random.default_rng(3)
    x = _binary(rng, 4, 6)
    model = ref.linear_rbm_model(DVAEPP, 6, 2, 2, scale=1.0, seed=6)
    log_z = _exact_log_z(model)
    ais = {"num_betas": 300, "num_chains": 200}
    report = log_likelihood_report(
        model, x, num_samples=500, reverse_ais=True, ais_kwargs=ais
    )
    info = report.log_partition
    assert info["method"] == "exact"
    np.testing.assert_allclose(info["log_z"], log_z, rtol=1e-6)
    # Reverse AIS on a 2 + 2 RBM is accurate: its bracket (the estimate ±
    # 3 standard errors) holds the exact log Z.
    lower, upper = info["reverse_log_z_bounds"]
    assert lower <= info["reverse_log_z"] <= upper
    assert lower <= log_z <= upper and upper - lower < 0.3, (info, log_z)
    np.testing.assert_allclose(
        info["mean_reverse"], report.mean + log_z - info["reverse_log_z"], rtol=1e-9
    )
    assert report.per_example.shape == (4,)
    exact, error = _exact_log_likelihood(model, x, 500)
    assert np.all(np.abs(report.per_example - exact) < 5 * error + 2e-3)
    # Forward AIS as the log Z of the report, then reverse AIS beside it.
    report = log_likelihood_report(
        model, x, num_samples=500, log_partition="ais", reverse_ais=True, ais_kwargs=ais
    )
    info = report.log_partition
    assert info["method"] == "ais"
    assert info["log_z_lower"] <= log_z <= info["log_z_upper"], (info, log_z)
    lower, upper = info["reverse_log_z_bounds"]
    assert lower <= log_z <= upper, (info, log_z)


def test_reverse_ais_needs_a_log_partition():
    model = BernoulliVAE((6,), num_latents=4, hidden_units=(), seed=0)
    x = _binary(np.random.default_rng(4), 3, 6)
    with pytest.raises(ValueError, match="reverse_ais"):
        log_likelihood_report(
            model, x, num_samples=10, reverse_ais=True, ais_kwargs={"num_betas": 10}
        )
    # Without it, the normalised prior reports no log Z.
    report = log_likelihood_report(model, x, num_samples=10)
    assert report.log_partition is None
    assert np.all(np.isfinite(report.per_example))


def test_from_config_and_keras_file_keep_the_chains_and_log_z(tmp_path):
    model = ref.linear_rbm_model(DVAEPP, 6, 2, 2, scale=1.0, seed=7, num_chains=6)
    model.prior.update_chains(sweeps=3)
    log_z = model.prior.log_partition_info["log_z"]
    restored = DVAEPP.from_config(model.get_config())
    assert type(restored) is DVAEPP
    for name in ("chains_z1", "chains_z2", "log_partition"):
        assert tuple(getattr(restored.prior, name).shape) == tuple(
            getattr(model.prior, name).shape
        )
    restored.set_weights(model.get_weights())
    for name in ("chains_z1", "chains_z2"):
        np.testing.assert_array_equal(
            to_numpy(getattr(restored.prior, name)),
            to_numpy(getattr(model.prior, name)),
        )
    assert to_numpy(restored.prior.log_partition) == np.float32(log_z)
    np.testing.assert_allclose(
        restored.prior.ensure_log_partition()["log_z"], log_z, rtol=1e-6
    )
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is DVAEPP
    for name in ("chains_z1", "chains_z2"):
        np.testing.assert_array_equal(
            to_numpy(getattr(loaded.prior, name)), to_numpy(getattr(model.prior, name))
        )
    assert to_numpy(loaded.prior.log_partition) == np.float32(log_z)
    _assert_not_stale(loaded)
    x = _binary(np.random.default_rng(5), 4, 6)
    _assert_log_likelihood_uses_the_current_log_z(loaded, x)

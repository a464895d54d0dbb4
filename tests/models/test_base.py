"""Shared behaviour of the binary-latent models: files, resume, data, IWAE."""

import itertools

import keras
import numpy as np
import pytest

from keras_dvae import smoothing
from keras_dvae.models import DVAE, DVAEPP, BernoulliVAE
from tests.helpers import to_numpy
from tests.models import reference as ref


def _binary(rng, n, d, p=0.4):
    return (rng.random((n, d)) < p).astype("float32")


def _small(cls, input_dim=6, seed=0, **kwargs):
    arguments = {"num_latents": 4, "num_groups": 2, "hidden_units": (4,)}
    if cls is not BernoulliVAE:
        arguments.update(num_chains=8, gibbs_sweeps=2)
    return cls(image_shape=(input_dim,), seed=seed, **{**arguments, **kwargs})


def _values(model):
    """Every variable's value, in order (paths differ between instances)."""
    return [to_numpy(v).copy() for v in model.weights]


# --------------------------------------------------------------- files


def test_keras_file_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    for cls in (BernoulliVAE, DVAEPP, DVAE):
        model = _small(cls, seed=1)
        for variable in model.trainable_weights:
            variable.assign(rng.normal(0, 0.5, variable.shape).astype("float32"))
        model.adapt(_binary(rng, 20, 6))
        if cls is not BernoulliVAE:
            model.prior.update_chains(sweeps=3)
            model.prior.estimate_log_partition("exact")
        path = str(tmp_path / f"{cls.__name__}.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        assert type(loaded) is cls
        assert loaded.get_config() == model.get_config()
        # Same variables in the same order (paths carry per-session layer names).
        assert len(loaded.weights) == len(model.weights)
        for variable, value in zip(model.weights, _values(loaded), strict=True):
            np.testing.assert_array_equal(value, to_numpy(variable), variable.path)
        if cls is BernoulliVAE:
            continue
        np.testing.assert_array_equal(
            to_numpy(loaded.prior.chains_z1), to_numpy(model.prior.chains_z1)
        )
        log_z = model.prior.log_partition_info["log_z"]
        assert to_numpy(loaded.prior.log_partition) == np.float32(log_z) != 0.0
        # The loaded log Z is that of the loaded weights: it matches them.
        np.testing.assert_allclose(
            loaded.prior.ensure_log_partition()["log_z"], log_z, rtol=1e-6
        )
        # The RBM's sampler state travels too: both continue the same chains.
        np.testing.assert_array_equal(
            to_numpy(loaded.prior.update_chains()[0]),
            to_numpy(model.prior.update_chains()[0]),
        )


def test_config_round_trip():
    models = [
        BernoulliVAE(
            (7,),
            num_latents=6,
            num_groups=2,
            hidden_units=(5, 4),
            smoothing=smoothing.OverlappingExponential(beta=7.0),
            elbo="marginal",
            weight_decay=1e-3,
            seed=4,
        ),
        BernoulliVAE(7, num_latents=3, hidden_units="linear", learn_prior=False),
        DVAEPP(
            7,
            num_latents=6,
            num_groups=2,
            hidden_units=(5,),
            smoothing="power_function",
            num_chains=9,
            gibbs_sweeps=3,
            weight_decay=0.0,
            seed=2,
        ),
        DVAE(7, num_latents=8, num_groups=4, hidden_units=(), num_chains=5),
        DVAEPP((7,), num_latents=4, hidden_units="nonlinear", num_chains=3),
    ]
    for model in models:
        # Through the registry (the path of `.keras` files) and from_config.
        config = model.get_config()
        restored = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(model)
        )
        assert type(restored) is type(model)
        assert restored.get_config() == config
        # The named constructor's own from_config gives the same model.
        direct = type(model).from_config(config)
        assert type(direct) is type(model)
        assert direct.get_config() == config
        assert restored.hidden_units == model.hidden_units
        assert type(restored.smoothing) is type(model.smoothing)
        assert restored.smoothing.beta == model.smoothing.beta
        for other in (restored, direct):
            assert [tuple(v.shape) for v in other.weights] == [
                tuple(v.shape) for v in model.weights
            ]
        if isinstance(model, (DVAEPP, DVAE)):
            # The PCD chains and the log Z variable are part of the model.
            for other in (restored, direct):
                assert tuple(other.prior.chains_z1.shape) == (
                    1,
                    model.num_chains,
                    model.num_latents // 2,
                )
                assert tuple(other.prior.log_partition.shape) == ()


# -------------------------------------------------------------- resume


class _Recorder(keras.callbacks.Callback):
    """Snapshots of the variables (PCD chains included) at epoch boundaries."""

    def __init__(self):
        super().__init__()
        self.begin, self.end = {}, {}

    def _snapshot(self):
        prior = self.model.prior
        return {
            "variables": _values(self.model),
            "chains": (to_numpy(prior.chains_z1), to_numpy(prior.chains_z2)),
            "sampler": to_numpy(prior.seed_generator.state),
            "iterations": int(to_numpy(self.model.optimizer.iterations)),
        }

    def on_epoch_begin(self, epoch, logs=None):
        self.begin[epoch] = self._snapshot()

    def on_epoch_end(self, epoch, logs=None):
        self.end[epoch] = self._snapshot()


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch:
            raise RuntimeError("simulated interruption")


def test_backup_and_restore_resumes_with_the_saved_chains(tmp_path):
    x = _binary(np.random.default_rng(2), 40, 6)
    backup = str(tmp_path / "backup")

    def run(seed, callbacks):
        model = _small(DVAEPP, seed=seed)
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        recorder = _Recorder()
        callbacks = [keras.callbacks.BackupAndRestore(backup), recorder, *callbacks]
        return (
            model,
            recorder,
            lambda: model.fit(
                x, epochs=4, batch_size=20, verbose=0, callbacks=callbacks
            ),
        )

    _, first, fit = run(seed=0, callbacks=[_Interrupt(epoch=2)])
    with pytest.raises(RuntimeError, match="simulated interruption"):
        fit()
    assert sorted(first.end) == [0, 1]
    saved = first.end[1]
    assert saved["iterations"] == 4
    # A fresh process: a new model (other seed, other chains) resumes.
    model, second, fit = run(seed=5, callbacks=[])
    assert not np.array_equal(to_numpy(model.prior.chains_z1), saved["chains"][0])
    history = fit()
    assert sorted(second.begin) == [2, 3]
    assert len(history.history["elbo"]) == 2
    resumed = second.begin[2]
    assert resumed["iterations"] == 4
    for name in ("chains", "sampler"):
        np.testing.assert_array_equal(resumed[name], saved[name], name)
    for a, b in zip(resumed["variables"], saved["variables"], strict=True):
        np.testing.assert_array_equal(a, b)
    # The chains moved during the interrupted epoch and after resuming.
    assert not np.array_equal(second.end[2]["chains"][0], saved["chains"][0])


# ---------------------------------------------------------------- data


def test_bad_data_raises_before_any_step():
    rng = np.random.default_rng(3)
    good = _binary(rng, 10, 6)
    half, nan = good.copy(), good.copy()
    half[0, 0] = 0.5
    nan[1, 2] = np.nan
    for cls in (BernoulliVAE, DVAEPP):
        model = _small(cls, hidden_units=())
        model.compile(optimizer="sgd")
        before = _values(model)
        cases = [
            (lambda m=model: m.fit(half, verbose=0), "must be binary"),
            (lambda m=model: m.fit(good[:, :5], verbose=0), r"shape \(10, 5\)"),
            (
                lambda m=model: m.fit(np.stack([good, good], -1), verbose=0),
                "must have shape",
            ),
            (lambda m=model: m.fit(nan, verbose=0), "NaN"),
            (lambda m=model: m.fit(good.astype(str), verbose=0), "numeric"),
            (
                lambda m=model: m.fit(good, validation_data=(half,), verbose=0),
                "Received: validation_data",
            ),
            (
                lambda m=model: m.fit(good, validation_data=nan, verbose=0),
                "Received: validation_data",
            ),
            (lambda m=model: m.evaluate(half, verbose=0), "must be binary"),
            (lambda m=model: m.log_likelihood(nan, num_samples=2), "NaN"),
            (lambda m=model: m.log_likelihood(good, num_samples=0), "num_samples"),
            # encode takes grey levels (a binarised set's expectation), not
            # values outside the pixels' range.
            (lambda m=model: m.encode(good * 2), "range"),
            (lambda m=model: m.adapt(good[:, :4]), "shape"),
        ]
        for call, message in cases:
            with pytest.raises(ValueError, match=message):
                call()
        assert int(to_numpy(model.optimizer.iterations)) == 0
        for a, b in zip(before, _values(model), strict=True):
            np.testing.assert_array_equal(a, b)


def test_adapt_centres_inputs_and_sets_the_output_bias():
    model = BernoulliVAE((4,), num_latents=2, hidden_units=(), seed=0)
    x = np.array([[0, 1, 1, 0], [0, 1, 0, 0], [0, 1, 1, 1], [0, 1, 0, 0]], "float32")
    assert model.adapt(x) is model
    mean = x.mean(0)
    np.testing.assert_allclose(to_numpy(model.encoder.input_mean), mean)
    p = np.clip(mean, 1e-3, 1 - 1e-3)
    np.testing.assert_allclose(
        to_numpy(model.decoder.output_bias), np.log(p / (1 - p)), rtol=1e-5
    )
    # With a zero kernel the decoder outputs the (clipped) mean pixel.
    model.decoder.network.layers[-1].kernel.assign(np.zeros((2, 4), "float32"))
    np.testing.assert_allclose(
        to_numpy(model.decode(np.ones((1, 2), "float32")))[0], p, rtol=1e-4
    )
    # The encoder sees x − mean.
    _, probs = model.encode(x)
    kernel, bias = ref.linear(model.encoder.networks[0])
    np.testing.assert_allclose(probs, ref.expit((x - mean) @ kernel + bias), rtol=1e-5)
    # Any shape with as many values per example is the same data.
    np.testing.assert_array_equal(model.encode(x.reshape(4, 2, 2))[1], probs)


def test_fit_adapts_an_untouched_model_first():
    """`fit` without `adapt` centres the input as `adapt(x)` does, leaving
    the output bias at 0 (the collapse fix), reads at most AUTO_ADAPT_ROWS
    rows of a dataset, never re-adapts a trained or adapted model, and
    leaves it alone with adapt=False."""
    from keras_dvae.datasets import ArraySequence
    from keras_dvae.models import vae as vae_lib

    rng = np.random.default_rng(3)
    x = _binary(rng, 40, 4, p=0.3)

    def state(model):
        return [
            to_numpy(model.encoder.input_mean).copy(),
            to_numpy(model.decoder.output_bias).copy(),
        ]

    def fresh():
        return BernoulliVAE((4,), num_latents=2, hidden_units=(), seed=0)

    reference = fresh().adapt(x)
    # Grey levels (a dynamically binarised set's probabilities) adapt by
    # their means, as the expected bits would.
    grey = rng.random((40, 4)).astype("float32")
    adapted = fresh().adapt(grey)
    np.testing.assert_allclose(state(adapted)[0], grey.mean(0), rtol=1e-6)
    p = grey.mean(0)
    np.testing.assert_allclose(state(adapted)[1], np.log(p / (1 - p)), rtol=1e-5)
    for data in (x, ArraySequence(x, batch_size=8, seed=0)):
        model = fresh()
        model.compile(optimizer=keras.optimizers.SGD(0.0))  # weights stay put
        model.fit(data, epochs=1, batch_size=8, verbose=0)
        np.testing.assert_allclose(state(model)[0], state(reference)[0], rtol=1e-6)
        assert not np.any(state(model)[1])  # the output bias stays at 0

    # Only the first rows of a dataset: 16 rows → the mean of x[:16].
    model = fresh()
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    limit = vae_lib.AUTO_ADAPT_ROWS
    vae_lib.AUTO_ADAPT_ROWS = 16
    try:
        model.fit(ArraySequence(x, 8, shuffle=False), epochs=1, verbose=0)
    finally:
        vae_lib.AUTO_ADAPT_ROWS = limit
    np.testing.assert_allclose(
        to_numpy(model.encoder.input_mean), x[:16].mean(0), rtol=1e-6
    )

    # Trained (or adapted) once: a later fit on other data keeps the state.
    before = state(model)
    model.fit(1.0 - x, epochs=1, batch_size=8, verbose=0)
    for got, want in zip(state(model), before, strict=True):
        np.testing.assert_array_equal(got, want)

    model = fresh()
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    model.fit(x, epochs=1, batch_size=8, verbose=0, adapt=False)
    assert not np.any(state(model)[0]) and not np.any(state(model)[1])

    def batches():
        while True:
            yield (x[:8],)

    model = fresh()
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    with pytest.warns(UserWarning, match="cannot be read twice"):
        model.fit(batches(), steps_per_epoch=2, epochs=1, verbose=0)
    assert not np.any(state(model)[0])


def test_encode_reconstruct_and_generate():
    rng = np.random.default_rng(4)
    model = BernoulliVAE((5,), num_latents=4, num_groups=2, hidden_units=(), seed=0)
    for variable in model.trainable_weights:
        variable.assign(rng.normal(0, 2.0, variable.shape).astype("float32"))
    x = _binary(rng, 10, 5, p=0.5)
    codes, probs = model.encode(x)
    assert codes.shape == probs.shape == (10, 4)
    # The mode of each group given the earlier groups' codes: deterministic.
    np.testing.assert_array_equal(codes, (probs > 0.5).astype(codes.dtype))
    np.testing.assert_array_equal(model.encode(x)[0], codes)
    (k1, b1), (k2, b2) = ref.linear_encoders(model)
    xc = ref.centred(model, x)
    np.testing.assert_allclose(probs[:, :2], ref.expit(xc @ k1 + b1), rtol=1e-5)
    expected = ref.expit(np.concatenate([xc, codes[:, :2]], 1) @ k2 + b2)
    np.testing.assert_allclose(probs[:, 2:], expected, rtol=1e-5, atol=1e-7)
    # Sampled codes follow q(z1|x), and q(z2|x, z1) is read at the sampled z1.
    rows = np.repeat(x[:1], 4000, axis=0)
    sampled, sampled_probs = model.encode(rows, sample=True)
    assert set(np.unique(sampled)) <= {0.0, 1.0}
    q1 = probs[0, :2]
    assert np.all(
        np.abs(sampled[:, :2].mean(0) - q1) < 5 * np.sqrt(q1 * (1 - q1) / 4000) + 1e-3
    )
    h = np.concatenate([np.broadcast_to(xc[:1], (4000, 5)), sampled[:, :2]], 1)
    np.testing.assert_allclose(
        sampled_probs[:, 2:], ref.expit(h @ k2 + b2), rtol=1e-5, atol=1e-7
    )
    reconstruction = to_numpy(model.reconstruct(x))
    assert reconstruction.shape == (10, 5)
    rbm_model = _small(DVAEPP, input_dim=5, hidden_units=())
    for generated in (model.generate(6), rbm_model.generate(6)):
        assert isinstance(generated, np.ndarray)
        assert generated.shape == (6, 5)
        assert np.all((generated >= 0) & (generated <= 1))


# ---------------------------------------------------------- likelihood


def test_log_likelihood_is_the_iwae_bound_with_fresh_samples_per_chunk():
    # K = 4 over 8 codes: the estimator's law is exact over all 8^4 ordered
    # draws. Chunks of one sample must be independent draws: reused samples
    # would give the K = 1 expectation (the ELBO), far below.
    rng = np.random.default_rng(5)
    model = BernoulliVAE((5,), num_latents=3, hidden_units=(), seed=0)
    for variable in model.trainable_weights:
        variable.assign(rng.normal(0, 1.0, variable.shape).astype("float32"))
    x = np.array([[1.0, 0.0, 1.0, 1.0, 0.0]], "float32")
    log_q, codes = ref.enumerate_posterior(model, x)
    prior_logits = np.asarray(to_numpy(model.prior.logits), float)
    log_p = ref.log_bernoulli(codes, prior_logits).sum(1)
    log_w = (log_p + ref.enumerate_decoder(model, x, codes) - log_q)[0]
    q = np.exp(log_q[0])
    draws = np.array(list(itertools.product(range(8), repeat=4)))
    law = q[draws].prod(1)
    values = ref.logsumexp(log_w[draws], axis=1) - np.log(4)
    mean = np.sum(law * values)
    rows = 4000
    error = np.sqrt(np.sum(law * (values - mean) ** 2) / rows)
    assert mean - np.sum(q * log_w) > 10 * error
    for chunk_size in (1, 4):
        estimate = model.log_likelihood(
            np.repeat(x, rows, axis=0), num_samples=4, chunk_size=chunk_size
        )
        assert abs(estimate.mean() - mean) < 4 * error, chunk_size


# -------------------------------------------------------- weight decay


def _kernels(model):
    return [
        v
        for v in model.trainable_weights
        if v.path.endswith("/kernel") or v.path.endswith("prior/W")
    ]


def test_weight_decay_adds_half_lambda_sum_of_squares():
    rng = np.random.default_rng(6)
    x = _binary(rng, 16, 6)
    decay = 0.1
    for cls in (BernoulliVAE, DVAEPP):
        plain, decayed = (_small(cls, seed=3, weight_decay=w) for w in (0.0, decay))
        for variable in plain.trainable_weights:
            variable.assign(rng.normal(0, 0.5, variable.shape).astype("float32"))
        decayed.set_weights(plain.get_weights())
        kernels = [to_numpy(v) for v in _kernels(plain)]
        assert len(kernels) == (8 if cls is BernoulliVAE else 7)
        penalty = 0.5 * decay * sum(np.sum(k.astype(float) ** 2) for k in kernels)
        losses = []
        for model in (plain, decayed):
            y_pred = model(x, training=False)
            losses.append(
                float(to_numpy(model.compute_loss(x, y_pred=y_pred, training=False)))
            )
        np.testing.assert_allclose(losses[1] - losses[0], penalty, rtol=1e-4)
    # One SGD step on the DVAEPP pair: the decayed kernels (W included) move
    # by an extra −lr·λ·w, everything else identically.
    before = [to_numpy(v) for v in plain.trainable_weights]
    kernel_ids = {id(v) for v in _kernels(plain)}
    for model in (plain, decayed):
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        model.fit(x, epochs=1, batch_size=len(x), shuffle=False, verbose=0)
    for old, a, b in zip(
        before, plain.trainable_weights, decayed.trainable_weights, strict=True
    ):
        extra = -0.5 * decay * old if id(a) in kernel_ids else np.zeros_like(old)
        np.testing.assert_allclose(to_numpy(b) - to_numpy(a), extra, atol=1e-5)


def test_auto_compile_is_the_reference_optimizer():
    model = BernoulliVAE((4,), num_latents=2, hidden_units=(), seed=0)
    model.compile()
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.optimizer.epsilon == 1e-3
    assert float(to_numpy(model.optimizer.learning_rate)) == pytest.approx(3e-3)

"""Annealing callbacks change variables during `fit`, on every backend."""

import math

import keras
import numpy as np
import pytest

from keras_dvae import callbacks, smoothing
from keras_dvae.models import BernoulliVAE
from tests.helpers import to_numpy


def _data(n=64, d=12):
    return (np.random.default_rng(0).random((n, d)) > 0.5).astype("float32")


def _model():
    model = BernoulliVAE(
        image_shape=(12,),
        num_latents=4,
        hidden_units=(8,),  # with batch norm: its trainable offset is named "beta"
        smoothing=smoothing.OverlappingExponential(beta=5.0),
        seed=0,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def test_beta_and_kl_weight_follow_their_schedules_during_fit(tmp_path):
    model = _model()
    anneal = callbacks.BetaAnnealing(start=5.0, end=12.0, steps=10)
    warmup = callbacks.KLWarmup(steps=20)
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if hasattr(self.model, "jax_state_sync"):
                self.model.jax_state_sync()
            seen.append(float(to_numpy(self.model.encoder.latent.sharpness)))

    model.fit(
        _data(), epochs=3, batch_size=8, verbose=0, callbacks=[anneal, warmup, Record()]
    )
    # 8 steps an epoch: steps 0..23; the value set before step s is schedule(s).
    expected = [anneal.value_at(s) for s in range(24)]
    np.testing.assert_allclose(seen, expected, rtol=1e-6)
    # BatchNormalization's "beta" (a trainable vector) is left to the optimizer.
    offsets = [v for v in model.trainable_variables if v.name == "beta"]
    assert offsets and all(v.shape == (8,) for v in offsets)
    assert float(to_numpy(model.kl_weight)) == pytest.approx(warmup.value_at(23))
    # The annealed value survives a .keras round trip.
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert float(to_numpy(loaded.encoder.latent.sharpness)) == pytest.approx(12.0)


def test_exponential_mode_is_geometric():
    cb = callbacks.TemperatureAnnealing(start=1.0, end=0.5, steps=100)
    assert cb.value_at(0) == 1.0 and cb.value_at(100) == pytest.approx(0.5)
    assert cb.value_at(50) == pytest.approx(math.sqrt(0.5))
    assert cb.value_at(10_000) == pytest.approx(0.5)
    jang = callbacks.ParameterAnnealing(
        "temperature", schedule=lambda s: max(0.5, math.exp(-3e-5 * s))
    )
    assert jang.value_at(1000) == pytest.approx(math.exp(-0.03))


def test_missing_variable_is_a_clear_error():
    model = _model()
    with pytest.raises(ValueError, match="no variable named 'temperature'.*beta"):
        model.fit(
            _data(),
            epochs=1,
            batch_size=8,
            verbose=0,
            callbacks=[callbacks.TemperatureAnnealing(1.0, 0.5, 10)],
        )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"start": 1.0, "end": 2.0, "steps": 0}, "steps=0"),
        ({"start": 1.0, "end": 2.0, "steps": 5, "mode": "cosine"}, "mode='cosine'"),
        ({"start": 0.0, "end": 2.0, "steps": 5, "mode": "exponential"}, "start=0.0"),
        ({"start": 1.0}, "Received: start=1.0"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        callbacks.ParameterAnnealing("beta", **kwargs)


def test_reference_learning_rate_pieces():
    schedule = callbacks.reference_learning_rate(
        total_steps=1000, base_learning_rate=3e-3
    )
    expected = {
        0: 3e-4,
        19: 3e-4,
        21: 3e-3,
        599: 3e-3,
        601: 1e-3,
        749: 1e-3,
        751: 3e-4,
        949: 3e-4,
        951: 3e-3 / 33,
    }
    for step, value in expected.items():
        assert float(to_numpy(schedule(step))) == pytest.approx(value, rel=1e-5), step
    with pytest.raises(ValueError, match="total_steps=0"):
        callbacks.reference_learning_rate(total_steps=0)


@keras.saving.register_keras_serializable(package="keras_dvae_tests")
class ScheduleProbe(keras.Model):
    """Logs the value of its "beta" variable seen inside each training step."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(1)
        self.beta = self.add_weight(
            name="beta", shape=(), initializer="zeros", trainable=False
        )
        self.seen = keras.metrics.Mean(name="seen")
        self.build((None, 2))

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, x):
        return self.dense(x)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        self.seen.update_state(self.beta)
        return keras.ops.mean(keras.ops.square(y_pred)) + 0.0 * self.beta


def test_every_step_sees_its_scheduled_value():
    # On JAX the callback writes into the trainer's pending state instead of
    # syncing it; the value used by each step must still be schedule(step).
    model = ScheduleProbe()
    model.compile(optimizer="sgd")
    anneal = callbacks.ParameterAnnealing("beta", start=0.0, end=30.0, steps=30)
    x = np.ones((40, 2), "float32")
    history = model.fit(x, epochs=2, batch_size=2, verbose=0, callbacks=[anneal])
    # Steps 0..19 in epoch 1 and 20..39 in epoch 2 (the schedule stops at 30).
    for epoch, steps in enumerate((range(20), range(20, 40))):
        expected = np.mean([anneal.value_at(s) for s in steps])
        assert history.history["seen"][epoch] == pytest.approx(expected, rel=1e-6)
    assert float(to_numpy(model.beta)) == pytest.approx(anneal.value_at(39))


def test_every_n_steps_holds_the_value_and_a_finished_ramp_stays_put():
    model = ScheduleProbe()
    model.compile(optimizer="sgd")
    anneal = callbacks.ParameterAnnealing(
        "beta", start=0.0, end=12.0, steps=12, every=5
    )
    x = np.ones((40, 2), "float32")
    history = model.fit(x, epochs=1, batch_size=2, verbose=0, callbacks=[anneal])
    # Updates before steps 0, 5, 10, 15 (the ramp ends at 12): step s sees
    # schedule(5 ⌊s/5⌋), and from step 15 on the ramp's end value.
    expected = np.mean([anneal.value_at(5 * (s // 5)) for s in range(20)])
    assert history.history["seen"][0] == pytest.approx(expected, rel=1e-6)
    assert anneal._finished
    assert float(to_numpy(model.beta)) == pytest.approx(12.0)

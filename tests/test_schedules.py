"""In-graph schedules: β, τ and the KL weight set inside each training step."""

import math

import keras
import numpy as np
import pytest

from keras_dvae import schedules, smoothing
from keras_dvae.models import BernoulliVAE, CategoricalVAE
from tests.helpers import to_numpy


def _data(n=64, d=12):
    return (np.random.default_rng(0).random((n, d)) > 0.5).astype("float32")


def _model():
    return BernoulliVAE(
        image_shape=(12,),
        num_latents=4,
        hidden_units=(8,),  # with batch norm: its trainable offset is named "beta"
        smoothing=smoothing.OverlappingExponential(beta=5.0),
        seed=0,
    )


def test_beta_and_kl_weight_follow_their_schedules_during_fit(tmp_path):
    model = _model()
    beta = schedules.Linear(5.0, 12.0, steps=10)
    warmup = schedules.Linear(0.0, 1.0, steps=20)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        schedules={"beta": beta, "kl_weight": warmup},
    )
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if hasattr(self.model, "jax_state_sync"):
                self.model.jax_state_sync()
            seen.append(float(to_numpy(self.model.encoder.latent.sharpness)))

    model.fit(_data(), epochs=3, batch_size=8, verbose=0, callbacks=[Record()])
    # 8 steps an epoch: steps 0..23; step s sets schedule(s) inside itself.
    expected = [5.0 + 7.0 * min(s / 10, 1.0) for s in range(24)]
    np.testing.assert_allclose(seen, expected, rtol=1e-6)
    assert float(to_numpy(model.training_step)) == 24
    # BatchNormalization's "beta" (a trainable vector) is left to the optimizer.
    offsets = [v for v in model.trainable_variables if v.name == "beta"]
    assert offsets and all(v.shape == (8,) for v in offsets)
    assert float(to_numpy(model.kl_weight)) == pytest.approx(1.0)
    # The annealed value, the step and the schedules survive a .keras round trip.
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert float(to_numpy(loaded.encoder.latent.sharpness)) == pytest.approx(12.0)
    assert float(to_numpy(loaded.training_step)) == 24
    assert loaded.schedules["beta"].get_config() == beta.get_config()


def test_closed_forms():
    tau = schedules.Geometric(1.0, 0.5, steps=100)
    assert float(tau(0)) == pytest.approx(1.0)
    assert float(tau(50)) == pytest.approx(math.sqrt(0.5))
    assert float(tau(100)) == pytest.approx(0.5)
    assert float(tau(10_000)) == pytest.approx(0.5)
    # Jang et al.: τ = max(0.5, exp(−3e-5 step)).
    jang = schedules.Geometric(1.0, 0.5, steps=round(math.log(2) / 3e-5))
    for step in (0, 1000, 20_000, 50_000):
        expected = max(0.5, math.exp(-3e-5 * step))
        assert float(jang(step)) == pytest.approx(expected, rel=1e-4)
    ramp = schedules.Linear(0.0, 1.0, steps=8)
    assert [float(ramp(s)) for s in (0, 2, 8, 9)] == pytest.approx([0, 0.25, 1, 1])
    assert float(schedules.get(0.3)(123)) == pytest.approx(0.3)
    config = keras.saving.serialize_keras_object(tau)
    assert schedules.get(config).get_config() == tau.get_config()


def test_temperature_of_a_categorical_model():
    model = CategoricalVAE(
        image_shape=(12,), num_latents=2, num_categories=3, hidden_units=(8,), seed=0
    )
    model.compile(
        optimizer="adam", schedules={"temperature": schedules.Geometric(1, 0.5, 4)}
    )
    model.fit(_data(), epochs=1, batch_size=8, verbose=0)
    # 8 steps: the last one set τ(7) = 0.5 (the ramp ended at step 4).
    assert float(to_numpy(model.encoder.latent.temperature_variable)) == 0.5


@pytest.mark.parametrize(
    "targets, match",
    [
        ({"temperature": 1.0}, "no 'temperature' variable"),
        ({"gamma": 1.0}, "Received: schedules key 'gamma'"),
        ({"beta": schedules.Linear(5.0, 0.0, 10)}, "must stay > 0"),
        ({"kl_weight": schedules.Linear(0.0, -1.0, 10)}, "must stay >= 0"),
        ({"beta": "fast"}, "Received: 'fast'"),
        ([1.0], "must be a dict"),
    ],
)
def test_bad_schedules_are_refused_at_compile(targets, match):
    with pytest.raises(ValueError, match=match):
        _model().compile(optimizer="adam", schedules=targets)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: schedules.Linear(1.0, 2.0, steps=0), "steps=0"),
        (lambda: schedules.Linear(float("nan"), 2.0, steps=3), "start=nan"),
        (lambda: schedules.Geometric(0.0, 2.0, steps=3), "start"),
        (lambda: schedules.Geometric(1.0, 2.0, steps=1.5), "steps=1.5"),
    ],
)
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()

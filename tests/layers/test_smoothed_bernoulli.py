"""SmoothedBernoulli: sampling modes, state, serialisation."""

import keras
import numpy as np
import pytest

from keras_dvae import smoothing
from keras_dvae.layers import SmoothedBernoulli
from tests.helpers import to_numpy


def test_training_gives_relaxed_samples_and_eval_gives_exact_bits():
    layer = SmoothedBernoulli("overlapping_exponential", seed=3)
    logits = np.full((4000, 5), 0.6, "float32")
    zeta = to_numpy(layer(logits, training=True))
    z = to_numpy(layer(logits, training=False))
    assert zeta.shape == z.shape == logits.shape
    assert np.mean((zeta > 0) & (zeta < 1)) > 0.99
    assert set(np.unique(z)) == {0.0, 1.0}
    q = 1 / (1 + np.exp(-0.6))
    assert abs(z.mean() - q) < 5 * np.sqrt(q * (1 - q) / z.size)


def test_variable_is_named_after_the_parameter():
    beta_layer = SmoothedBernoulli(smoothing.OverlappingExponential(beta=7.0))
    beta_layer.build((None, 3))
    assert beta_layer.sharpness.name == "beta"
    assert float(to_numpy(beta_layer.sharpness)) == 7.0
    assert not beta_layer.sharpness.trainable
    tau_layer = SmoothedBernoulli("concrete")
    tau_layer.build((None, 3))
    assert tau_layer.sharpness.name == "temperature"


def test_samples_follow_the_variable():
    layer = SmoothedBernoulli(smoothing.OverlappingExponential(beta=2.0), seed=0)
    logits = np.zeros((20_000, 1), "float32")
    soft = to_numpy(layer(logits, training=True))
    layer.sharpness.assign(200.0)
    sharp = to_numpy(layer(logits, training=True))
    # Larger β pushes ζ towards {0, 1}.
    assert np.mean(np.minimum(sharp, 1 - sharp)) < 0.2 * np.mean(
        np.minimum(soft, 1 - soft)
    )


def test_get_config_round_trip():
    layer = SmoothedBernoulli(smoothing.PowerFunction(beta=12.0), seed=5, name="z1")
    restored = SmoothedBernoulli.from_config(layer.get_config())
    assert isinstance(restored.smoothing, smoothing.PowerFunction)
    assert (
        restored.smoothing.beta == 12.0 and restored.seed == 5 and restored.name == "z1"
    )


def test_keras_file_round_trip_keeps_annealed_value(tmp_path):
    inputs = keras.Input((6,))
    outputs = SmoothedBernoulli("spike_and_exponential", seed=1, name="latent")(inputs)
    model = keras.Model(inputs, outputs)
    model.get_layer("latent").sharpness.assign(9.5)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    layer = loaded.get_layer("latent")
    assert isinstance(layer.smoothing, smoothing.SpikeAndExponential)
    assert float(to_numpy(layer.sharpness)) == 9.5
    bits = to_numpy(loaded.predict(np.zeros((3, 6), "float32"), verbose=0))
    assert set(np.unique(bits)) <= {0.0, 1.0}


def test_bad_smoothing_name():
    with pytest.raises(ValueError, match="identifier='spike'"):
        SmoothedBernoulli("spike")

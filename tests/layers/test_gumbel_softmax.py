"""The GumbelSoftmax layer: modes, the temperature weight, saving, arguments."""

import keras
import numpy as np
import pytest
from scipy import special, stats

from keras_dvae.distributions import RelaxedOneHotCategorical
from keras_dvae.layers import GumbelSoftmax
from tests.helpers import grad, to_numpy

# Shapes are shared with the distribution tests: JAX compiles its sampler
# per shape. Four latents with five categories, a batch of six.
LATENTS, CATEGORIES = 4, 5
LOGITS = np.random.default_rng(0).normal(0.0, 2.0, size=(6, LATENTS, CATEGORIES))
LOGITS = LOGITS.astype("float32")
FLAT = LOGITS.reshape(6, LATENTS * CATEGORIES)


def make(**kwargs):
    return GumbelSoftmax(LATENTS, CATEGORIES, **kwargs)


def test_temperature_weight():
    layer = make(temperature=0.7)
    layer.build(FLAT.shape)
    variable = layer.temperature_variable
    assert variable.name == "temperature"
    assert not variable.trainable
    assert not layer.trainable_weights
    assert [v for v in layer.non_trainable_weights if v.name == "temperature"] == [
        variable
    ]
    np.testing.assert_allclose(to_numpy(variable), 0.7)
    # The sample follows the variable, not the constructor argument.
    variable.assign(0.3)
    expected = RelaxedOneHotCategorical(0.3, LOGITS).sample(
        seed=keras.random.SeedGenerator(5)
    )
    layer = make(temperature=0.7, seed=5)
    layer.build(FLAT.shape)
    layer.temperature_variable.assign(0.3)
    np.testing.assert_allclose(
        to_numpy(layer(FLAT, training=True)), to_numpy(expected), rtol=1e-5, atol=1e-7
    )


def test_training_relaxed_evaluation_one_hot():
    for inputs in (FLAT, LOGITS):
        layer = make(temperature=1.0, seed=1)
        y = to_numpy(layer(inputs, training=True))
        assert y.shape == (6, LATENTS, CATEGORIES)
        np.testing.assert_allclose(y.sum(-1), 1.0, atol=1e-5)
        assert np.all(y > 0) and np.any((y > 0.01) & (y < 0.99))  # not one-hot
        for training in (False, None):
            z = to_numpy(layer(inputs, training=training))
            np.testing.assert_array_equal(z, np.eye(CATEGORIES)[z.argmax(-1)])
    # `discrete` overrides `training` either way.
    z = to_numpy(make(seed=1)(FLAT, training=True, discrete=True))
    np.testing.assert_array_equal(z, np.eye(CATEGORIES)[z.argmax(-1)])
    y = to_numpy(make(seed=1)(FLAT, training=False, discrete=False))
    assert np.any((y > 0.01) & (y < 0.99))
    # Flat and shaped logits are the same logits, latent-major.
    a = to_numpy(make(seed=2)(FLAT, training=True))
    b = to_numpy(make(seed=2)(LOGITS, training=True))
    np.testing.assert_array_equal(a, b)
    # Successive calls draw fresh noise from the layer's SeedGenerator.
    layer = make(seed=3)
    assert not np.array_equal(to_numpy(layer(FLAT)), to_numpy(layer(FLAT)))


def test_evaluation_frequencies_match_softmax():
    logits = np.array([[1.0, 0.0, -1.0, 2.0, 0.5]] * LATENTS, "float32")
    layer = make(seed=4)
    batch = np.broadcast_to(logits, (4000, LATENTS, CATEGORIES))
    counts = to_numpy(layer(batch, training=False)).sum((0, 1))
    probs = special.softmax(logits[0].astype(np.float64))
    # Fixed seed; a correct sampler fails this with probability 1e-3.
    assert stats.chisquare(counts, counts.sum() * probs).pvalue > 1e-3


def test_straight_through():
    weights = keras.ops.convert_to_tensor(
        np.random.default_rng(1).normal(size=(6, LATENTS, CATEGORIES)).astype("float32")
    )
    hard = make(straight_through=True, temperature=0.5, seed=6)
    soft = make(straight_through=False, temperature=0.5, seed=6)
    h = to_numpy(hard(FLAT, training=True))
    np.testing.assert_array_equal(h, np.eye(CATEGORIES)[h.argmax(-1)])
    np.testing.assert_array_equal(
        h.argmax(-1), to_numpy(soft(FLAT, training=True)).argmax(-1)
    )
    hard, soft = make(straight_through=True, seed=7), make(seed=7)
    g_hard = grad(lambda x: hard(x, training=True) * weights, FLAT)
    g_soft = grad(lambda x: soft(x, training=True) * weights, FLAT)
    np.testing.assert_allclose(g_hard, g_soft, rtol=1e-6, atol=1e-8)


def test_extreme_logits_stay_finite():
    logits = (
        np.random.default_rng(2).uniform(-50, 50, size=FLAT.shape).astype("float32")
    )
    weights = keras.ops.convert_to_tensor(
        np.random.default_rng(3).normal(size=(6, LATENTS, CATEGORIES)).astype("float32")
    )
    for straight_through in (False, True):
        layer = make(temperature=0.05, straight_through=straight_through, seed=8)
        y = to_numpy(layer(logits, training=True))
        assert np.all(np.isfinite(y))
        g = grad(lambda x, layer=layer: layer(x, training=True) * weights, logits)
        assert np.all(np.isfinite(g))


def test_keras_save_and_load_keeps_temperature(tmp_path):
    inputs = keras.Input((LATENTS * CATEGORIES,))
    hidden = keras.layers.Dense(LATENTS * CATEGORIES)(inputs)
    outputs = make(temperature=1.0, straight_through=True, seed=9, name="gumbel")(
        hidden
    )
    model = keras.Model(inputs, outputs)
    model.get_layer("gumbel").temperature_variable.assign(0.3)
    path = str(tmp_path / "gumbel.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    layer = loaded.get_layer("gumbel")
    assert isinstance(layer, GumbelSoftmax)
    np.testing.assert_allclose(to_numpy(layer.temperature_variable), 0.3, rtol=1e-6)
    assert layer.get_config() == model.get_layer("gumbel").get_config()
    z = to_numpy(loaded(FLAT, training=False))
    np.testing.assert_array_equal(z, np.eye(CATEGORIES)[z.argmax(-1)])


def test_fit_and_annealing_by_name():
    inputs = keras.Input((LATENTS * CATEGORIES,))
    latents = make(temperature=2.0, seed=10)(
        keras.layers.Dense(LATENTS * CATEGORIES)(inputs)
    )
    outputs = keras.layers.Dense(1)(keras.layers.Flatten()(latents))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(
        FLAT, np.zeros((6, 1), "float32"), batch_size=3, epochs=1, verbose=0
    )
    assert np.isfinite(history.history["loss"][0])
    # What an annealing callback does: find the weight by name and assign.
    found = [v for v in model.non_trainable_weights if v.name == "temperature"]
    assert len(found) == 1
    found[0].assign(0.5)
    np.testing.assert_allclose(to_numpy(model.layers[2].temperature_variable), 0.5)


def test_config_round_trip():
    layer = make(temperature=0.4, straight_through=True, seed=11, name="g")
    config = layer.get_config()
    for key, value in {
        "num_latents": LATENTS,
        "num_categories": CATEGORIES,
        "temperature": 0.4,
        "straight_through": True,
        "seed": 11,
    }.items():
        assert config[key] == value
    restored = GumbelSoftmax.from_config(config)
    assert restored.get_config() == config
    assert (
        keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(layer)
        ).get_config()
        == config
    )


BAD_ARGUMENTS = [
    ("num_latents", 0),
    ("num_latents", 2.0),
    ("num_latents", True),
    ("num_categories", 1),
    ("temperature", 0.0),
    ("temperature", -1.0),
    ("temperature", float("inf")),
    ("temperature", float("nan")),
    ("temperature", "hot"),
    ("straight_through", "yes"),
    ("seed", "x"),
]


def test_bad_arguments_raise():
    for name, value in BAD_ARGUMENTS:
        kwargs = {"num_latents": LATENTS, "num_categories": CATEGORIES, name: value}
        with pytest.raises(ValueError, match=f"Received: {name}="):
            GumbelSoftmax(**kwargs)


def test_bad_input_shape_raises():
    with pytest.raises(ValueError, match="Received: input_shape="):
        make()(np.zeros((6, 7), "float32"))
    with pytest.raises(ValueError, match="Received: input_shape="):
        make()(np.zeros((6, CATEGORIES, LATENTS), "float32"))

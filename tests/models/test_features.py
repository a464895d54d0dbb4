"""`feature_extractor`: the encoder as a shared, deterministic `keras.Model`."""

import keras
import numpy as np
import pytest

from keras_dvae.models import DVAE, DVAEPP, BernoulliVAE, CategoricalVAE, ConvDVAEPP
from keras_dvae.networks import EncoderFeatures
from tests.helpers import to_numpy
from tests.models.test_conv_dvaepp import TINY

INPUT_DIM, N = 12, 32


def data(seed=0, dim=INPUT_DIM):
    rng = np.random.default_rng(seed)
    x = (rng.random((N, dim)) < 0.4).astype("float32")
    y = rng.integers(0, 3, N)
    return x, y


def binary_vae(cls=DVAEPP):
    kwargs = {"num_chains": 8, "gibbs_sweeps": 1} if cls is not BernoulliVAE else {}
    return cls(
        image_shape=(INPUT_DIM,),
        num_latents=8,
        num_groups=2,
        hidden_units=(8,),
        seed=0,
        **kwargs,
    )


def categorical_vae():
    return CategoricalVAE(
        image_shape=(INPUT_DIM,), num_latents=2, num_categories=3, hidden_units=(8,)
    )


def conv_vae(**kwargs):
    """A tiny convolutional DVAE++ on 8×8 images (64 inputs)."""
    args = {**TINY, "num_latents": 6, "local_groups": 1, "filters": 4, "seed": 0}
    return ConvDVAEPP(**{**args, **kwargs})


def first_kernel(vae):
    """The first kernel of the encoder's first group network."""
    return to_numpy(vae.encoder.networks[0].layers[0].kernel).copy()


@pytest.mark.parametrize("cls", [DVAEPP, DVAE, BernoulliVAE])
def test_binary_features_equal_encode(cls):
    x, _ = data()
    vae = binary_vae(cls)
    vae.adapt(x)  # a non-zero input mean, which the extractor must share
    codes, probs = vae.encode(x)
    extracted = {
        output: vae.feature_extractor(output).predict(x, verbose=0)
        for output in ("codes", "probabilities", "logits")
    }
    for value in extracted.values():
        assert value.shape == (N, 8)
    np.testing.assert_array_equal(extracted["codes"], codes)
    assert set(np.unique(extracted["codes"])) <= {0.0, 1.0}
    np.testing.assert_allclose(extracted["probabilities"], probs, atol=1e-6)
    np.testing.assert_allclose(1 / (1 + np.exp(-extracted["logits"])), probs, atol=1e-6)


def test_categorical_features_equal_encode():
    x, _ = data()
    vae = categorical_vae()
    vae.adapt(x)
    codes, probs = vae.encode(x)
    onehot = vae.feature_extractor("codes").predict(x, verbose=0)
    assert onehot.shape == codes.shape == (N, 6)
    np.testing.assert_array_equal(onehot, codes)
    np.testing.assert_array_equal(onehot.sum(axis=-1), np.full(N, 2.0))
    # The codes are the one-hot argmax of each latent's probabilities.
    np.testing.assert_array_equal(
        onehot.reshape(N, 2, 3).argmax(-1), probs.reshape(N, 2, 3).argmax(-1)
    )
    features = vae.feature_extractor().predict(x, verbose=0)
    np.testing.assert_allclose(features, probs, atol=1e-6)


@pytest.mark.parametrize("make", [binary_vae, categorical_vae, conv_vae])
def test_fine_tuning_updates_the_vae_and_freezing_stops_it(make, tmp_path):
    vae = make()
    x, y = data(dim=vae.input_dim)
    classifier = keras.Sequential(
        [vae.feature_extractor(), keras.layers.Dense(3, activation="softmax")]
    )
    classifier.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    before = first_kernel(vae)
    classifier.fit(x, y, epochs=1, batch_size=N, verbose=0)
    tuned = first_kernel(vae)
    assert np.abs(tuned - before).max() > 0  # the VAE's own weights moved

    classifier.layers[0].trainable = False
    assert len(classifier.trainable_weights) == 2  # the Dense kernel and bias
    classifier.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    dense = to_numpy(classifier.layers[1].kernel).copy()
    classifier.fit(x, y, epochs=1, batch_size=N, verbose=0)
    np.testing.assert_array_equal(first_kernel(vae), tuned)
    assert np.abs(to_numpy(classifier.layers[1].kernel) - dense).max() > 0

    # Still frozen after `.keras` save and load (it used to thaw: 2 → 151).
    path = str(tmp_path / "classifier.keras")
    classifier.save(path)
    loaded = keras.saving.load_model(path)
    assert len(loaded.trainable_weights) == 2


@pytest.mark.filterwarnings("ignore:Gradients do not exist:UserWarning")
def test_codes_have_no_gradient_and_probabilities_do():
    x, y = data()
    for output, moves in (("codes", False), ("probabilities", True)):
        vae = binary_vae()
        classifier = keras.Sequential(
            [vae.feature_extractor(output), keras.layers.Dense(3)]
        )
        classifier.compile(
            keras.optimizers.SGD(0.5),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        before = first_kernel(vae)
        classifier.fit(x, y, epochs=1, batch_size=N, verbose=0)
        assert (np.abs(first_kernel(vae) - before).max() > 0) == moves, output


@pytest.mark.parametrize(
    "make, layer", [(binary_vae, EncoderFeatures), (conv_vae, EncoderFeatures)]
)
def test_keras_file_round_trip(tmp_path, make, layer):
    vae = make()
    x, _ = data(dim=vae.input_dim)
    vae.adapt(x)
    classifier = keras.Sequential(
        [vae.feature_extractor(), keras.layers.Dense(3, activation="softmax")]
    )
    expected = classifier.predict(x, verbose=0)
    path = str(tmp_path / "classifier.keras")
    classifier.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, atol=1e-5)
    assert isinstance(loaded.layers[0].layers[-1], layer)


def test_functional_use_and_bad_arguments():
    x, _ = data()
    vae = categorical_vae()
    inputs = keras.Input((INPUT_DIM,))
    features = vae.feature_extractor("codes", name="codes")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(features))
    assert model.predict(x, verbose=0).shape == (N, 1)
    with pytest.raises(ValueError, match="output='samples'"):
        vae.feature_extractor("samples")
    with pytest.raises(ValueError, match="output_type='samples'"):
        EncoderFeatures(vae.encoder, output_type="samples")
    with pytest.raises(ValueError, match="must be a HierarchicalEncoder"):
        EncoderFeatures([vae.encoder])


# ----------------------------------------------- convolutional DVAE++


def test_conv_features_equal_encode():
    x, _ = data(dim=64)
    vae = conv_vae()
    codes, probabilities = vae.encode(x)
    np.testing.assert_array_equal(
        vae.feature_extractor("codes").predict(x, verbose=0), codes
    )
    np.testing.assert_allclose(
        vae.feature_extractor().predict(x, verbose=0), probabilities, atol=1e-6
    )
    logits = vae.feature_extractor("logits").predict(x, verbose=0)
    np.testing.assert_array_equal(logits > 0, codes.astype(bool))


def test_conv_features_need_binary_global_latents():
    with pytest.raises(ValueError, match="continuous"):
        conv_vae(prior="normal").feature_extractor()
    with pytest.raises(ValueError, match="output='nope'"):
        conv_vae().feature_extractor("nope")

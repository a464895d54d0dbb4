"""Dataset loaders against the facts stated in shared/data/README.md.

The offline copies are looked for in `$KERAS_DVAE_DATA`, else in
`../shared/data` beside the repository (as CI checks it out); tests that
need a missing file are skipped (`tests.helpers.need_data`), and the run's
summary counts them. Downloads are always mocked.

The loaders are NumPy: these tests run once, on one backend (marker
`backend_independent`), except the one that trains with `fit`.
"""

import dataclasses
import io
import os
import pathlib
import pickle
import tarfile
import zipfile

import keras
import numpy as np
import pytest
from keras import ops

from keras_dvae import datasets
from keras_dvae.datasets import cifar10, files, omniglot
from tests.helpers import DATA_DIR, need_data

pytestmark = pytest.mark.backend_independent
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """No test reads the user's environment or cache, or reaches the network."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("KERAS_DVAE_DATA", raising=False)

    def offline(*args, **kwargs):
        raise ConnectionError("offline (tests never download)")

    monkeypatch.setattr(keras.utils, "get_file", offline)


def _load_once(name, *needed, **options):
    data_dir = need_data(*needed)
    return datasets.load(name, data_dir, **options)


@pytest.fixture(scope="module")
def mnist_static():
    return _load_once("mnist_static", "mnist_static.npz")


@pytest.fixture(scope="module")
def mnist():
    return _load_once("mnist", "mnist.npz")


@pytest.fixture(scope="module")
def omniglot_data():
    return _load_once("omniglot", "omniglot_raw.npz")


@pytest.fixture(scope="module")
def cifar_jpeg():
    return _load_once("cifar10", *cifar10.JPEG_TRAIN_FILES, cifar10.JPEG_TEST_FILE)


def _check_split(x, n, d, dtype="float32"):
    assert x.shape == (n, d) and x.dtype == dtype


# --- the registry


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as info:
        datasets.load("mnsit")
    message = str(info.value)
    for name in datasets.NAMES:
        assert name in message
    assert message.endswith("Received: name='mnsit'")
    assert datasets.names() == list(datasets.NAMES)


def test_digits_wraps_load_digits():
    data = datasets.load("digits")
    (x_train, y_train), (x_test, _) = datasets.load_digits()
    np.testing.assert_array_equal(data.x_train, x_train)
    np.testing.assert_array_equal(data.y_train, y_train)
    np.testing.assert_array_equal(data.x_test, x_test)
    assert data.x_valid is None and data.image_shape == (8, 8)
    assert data.binary and not data.dynamic_binarization and not data.lossy
    assert isinstance(data.train_batches(32, seed=0), datasets.ArraySequence)
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.name = "other"


# --- MNIST


def test_mnist_static_matches_readme(mnist_static):
    data = mnist_static
    for split, n, mean in (
        ("train", 50000, 0.13056),
        ("valid", 10000, 0.13113),
        ("test", 10000, 0.13251),
    ):
        x = getattr(data, f"x_{split}")
        _check_split(x, n, 784)
        assert set(np.unique(x)) == {0.0, 1.0}
        assert x.mean() == pytest.approx(mean, abs=5e-6)
    assert data.binary and not data.dynamic_binarization
    assert data.image_shape == (28, 28)
    # Train and valid partition the MNIST training set (derived labels).
    counts = np.bincount(np.concatenate([data.y_train, data.y_valid]), minlength=10)
    assert counts.tolist() == MNIST_TRAIN_COUNTS
    # The test file is the MNIST test set sorted by label.
    assert (np.diff(data.y_test) >= 0).all()
    assert "DERIVED" in data.notes


def test_mnist_dynamic_grey_train_and_fixed_binary_test(mnist):
    data = mnist
    _check_split(data.x_train, 50000, 784)
    _check_split(data.x_valid, 10000, 784)
    _check_split(data.x_test, 10000, 784)
    assert data.dynamic_binarization and not data.binary
    assert 0.0 <= data.x_train.min() and data.x_train.max() == 1.0
    assert ((data.x_train > 0) & (data.x_train < 1)).any()  # grey levels
    for x in (data.x_valid, data.x_test):
        assert set(np.unique(x)) == {0.0, 1.0}
    # One Bernoulli draw of 7.84e6 pixels: std of the mean ≈ 1.2e-4.
    assert data.x_test.mean() == pytest.approx(0.13251, abs=6e-4)
    assert np.bincount(data.y_test).tolist() == MNIST_TEST_COUNTS
    assert data.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert isinstance(data.train_batches(100, seed=0), datasets.BinarizedSequence)


def test_mnist_test_binarization_is_the_documented_draw(mnist):
    with np.load(DATA_DIR / "mnist.npz") as z:
        grey = z["x_test"].reshape(10000, 784).astype("float32") / 255.0
    expected = np.random.default_rng([0, 2]).random(grey.shape, dtype=np.float32)
    np.testing.assert_array_equal(mnist.x_test, (expected < grey).astype("float32"))
    np.testing.assert_array_equal(
        mnist.x_test, datasets.binarize(grey, np.random.default_rng([0, 2]))
    )


def test_mnist_without_validation_keeps_all_60000():
    data = _load_once("mnist", "mnist.npz", validation_size=0)
    assert data.x_train.shape == (60000, 784) and data.x_valid is None
    assert data.x_train.mean() == pytest.approx(0.13066, abs=5e-6)
    assert np.bincount(data.y_train).tolist() == MNIST_TRAIN_COUNTS


def test_static_mnist_is_row_major_like_raw_mnist(mnist_static, mnist):
    # Static test row 0 is the first "0" of the MNIST test set (raw index 3).
    static = mnist_static.x_test[0].reshape(28, 28)
    raw = mnist.x_test[3].reshape(28, 28)
    assert (static == raw).mean() > 0.95
    assert (static == raw).mean() > (static == raw.T).mean() + 0.03


# --- Omniglot


def test_omniglot_split_shapes_and_labels(omniglot_data):
    data = omniglot_data
    _check_split(data.x_train, 23000, 784)
    _check_split(data.x_valid, 1345, 784)
    _check_split(data.x_test, 8115, 784)
    assert data.dynamic_binarization and data.image_shape == (28, 28)
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert ((data.x_train > 0) & (data.x_train < 1)).mean() > 0.05  # grey
    for x in (data.x_valid, data.x_test):
        assert set(np.unique(x)) == {0.0, 1.0}
    # 15 drawings of every one of the 1,623 characters train, 5 test.
    train = np.bincount(np.concatenate([data.y_train, data.y_valid]), minlength=1623)
    assert (train == 15).all() and (np.bincount(data.y_test) == 5).all()
    assert len(data.class_names) == 1623
    assert data.class_names[0] == "Alphabet_of_the_Magi/character01"
    assert data.class_names[964] == "Angelic/character01"
    assert "NOT the IWAE" in data.notes


def test_omniglot_resize_keeps_the_ink_fraction(omniglot_data):
    del omniglot_data  # fills the in-memory cache
    path = DATA_DIR / "omniglot_raw.npz"
    stat = path.stat()
    parts = omniglot._resized(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    # Area averaging preserves the mean: the README's ink fractions.
    assert parts["background"]["x"].mean() == pytest.approx(0.077940, abs=2e-6)
    assert parts["evaluation"]["x"].mean() == pytest.approx(0.084284, abs=2e-6)


def test_resize_area_is_the_exact_block_mean():
    images = (np.random.default_rng(0).random((3, 105, 105)) < 0.3).astype("uint8")
    # Independent reference: upsample ×28 (each source pixel → 28×28), then
    # average 105×105 blocks: the exact area of each output pixel.
    fine = images.repeat(28, axis=1).repeat(28, axis=2).astype("float64")
    reference = fine.reshape(3, 28, 105, 28, 105).mean(axis=(2, 4))
    np.testing.assert_allclose(omniglot.resize_area(images, 28), reference, atol=2e-6)
    np.testing.assert_allclose(omniglot.area_weights(105, 28).sum(axis=1), 1.0, 1e-6)


# --- Caltech-101 Silhouettes


def test_caltech_is_inverted_and_row_major():
    data_dir = need_data("caltech101_silhouettes.npz")
    data = datasets.load("caltech101_silhouettes", data_dir, verify=True)
    for split, n, background in (
        ("train", 4100, 0.55105),
        ("valid", 2264, 0.53596),
        ("test", 2307, 0.53902),
    ):
        x = getattr(data, f"x_{split}")
        _check_split(x, n, 784)
        assert set(np.unique(x)) == {0.0, 1.0}
        # Ink (silhouette) = 1 is now the minority.
        assert x.mean() == pytest.approx(1 - background, abs=5e-6)
        assert x.mean() < 0.5
        y = getattr(data, f"y_{split}")
        assert y.min() == 0 and y.max() == 100 and len(np.unique(y)) == 101
    with np.load(data_dir / "caltech101_silhouettes.npz") as z:
        raw = files.unpack_bits(z["x_train"][:5], (5, 784))
        first_label = int(z["y_train"][0])
    # README: the source is column-major with 1 = background.
    upright = np.stack([1 - v.reshape(28, 28, order="F") for v in raw])
    np.testing.assert_array_equal(data.x_train[:5].reshape(5, 28, 28), upright)
    assert data.y_train[0] == first_label - 1 and len(data.class_names) == 101
    assert data.binary and "INVERTED" in data.notes


# --- CIFAR-10


def test_cifar_jpeg_is_lossy_class_major_uint8(cifar_jpeg):
    data = cifar_jpeg
    assert data.x_train.shape == (50000, 32, 32, 3) and data.x_train.dtype == "uint8"
    assert data.x_test.shape == (10000, 32, 32, 3) and data.x_valid is None
    assert data.image_shape == (32, 32, 3)
    assert np.bincount(data.y_train).tolist() == [5000] * 10
    assert np.bincount(data.y_test).tolist() == [1000] * 10
    np.testing.assert_array_equal(data.y_train, np.arange(50000) // 5000)
    means = data.x_train.reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(means, [125.269, 122.933, 113.863], atol=2e-3)
    assert data.lossy and not data.binary
    assert "LOSSY" in data.notes and "NOT comparable" in data.notes
    assert data.class_names[3] == "cat"


def test_cifar_lossless_first4000():
    data = _load_once("cifar10", cifar10.FIRST4000_FILE, variant="lossless_first4000")
    assert data.x_train.shape == (4000, 32, 32, 3) and data.x_test is None
    assert not data.lossy
    first_red = [59, 43, 50, 68, 98, 119, 139, 145, 149, 149, 131, 125, 142, 144]
    assert data.x_train[0, 0, : len(first_red), 0].tolist() == first_red
    assert data.y_train[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    counts = [396, 366, 420, 384, 422, 393, 414, 385, 407, 413]
    assert np.bincount(data.y_train).tolist() == counts


def test_cifar_bad_variant():
    with pytest.raises(ValueError, match="Received: variant='png'"):
        datasets.load("cifar10", variant="png")


# --- batches for fit


def test_array_sequence_reshuffles_every_epoch():
    x = np.arange(10, dtype="float32")[:, None]
    seq = datasets.ArraySequence(x, batch_size=4, seed=0)
    assert len(seq) == 3 and [len(seq[i][0]) for i in range(3)] == [4, 4, 2]

    def epoch():
        return np.concatenate([seq[i][0][:, 0] for i in range(len(seq))])

    first = epoch()
    assert sorted(first) == list(range(10))
    seq.on_epoch_end()
    second = epoch()
    assert sorted(second) == list(range(10)) and (first != second).any()
    assert (
        datasets.ArraySequence(x, 4, seed=0)[1][0].tolist() == first[4:8, None].tolist()
    )
    unshuffled = datasets.ArraySequence(x, 4, shuffle=False)
    assert unshuffled[0][0][:, 0].tolist() == [0, 1, 2, 3]
    with pytest.raises(IndexError):
        seq[3]
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        datasets.ArraySequence(x, 0)


def test_binarized_sequence_redraws_bits_every_epoch():
    p = np.random.default_rng(1).random((2000, 50)).astype("float32")
    seq = datasets.BinarizedSequence(p, batch_size=500, seed=3)
    (xb,) = seq[0]
    assert xb.dtype == "float32" and set(np.unique(xb)) <= {0.0, 1.0}
    epochs = []
    for _ in range(3):
        # Rows come back in a new order: compare bits with their row's p.
        order = seq._order
        bits = np.concatenate([seq[i][0] for i in range(len(seq))])
        epochs.append(bits[np.argsort(order)])
        seq.on_epoch_end()
    # Mean of Bernoulli(p): 1e5 bits, std ≈ 1.6e-3.
    for bits in epochs:
        assert bits.mean() == pytest.approx(p.mean(), abs=0.01)
        # Pixels with p = 0.9 are on ~90% of the time, p = 0.1 ~10%.
        assert bits[p > 0.9].mean() > 0.9 and bits[p < 0.1].mean() < 0.1
    assert (epochs[0] != epochs[1]).mean() > 0.3 and (epochs[1] != epochs[2]).any()
    # A batch depends on (seed, epoch, index) only, not on the order of calls.
    a = datasets.BinarizedSequence(p, 500, seed=3)
    b = datasets.BinarizedSequence(p, 500, seed=3)
    later = a[3][0]
    b[0], b[1]
    np.testing.assert_array_equal(b[3][0], later)
    with pytest.raises(ValueError, match="range"):
        datasets.BinarizedSequence(p * 2, 10)


@pytest.mark.backend_independent(False)  # `fit` reads a PyDataset per backend
def test_fit_sees_fresh_bits_every_epoch():
    class Autoencoder(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(6, activation="sigmoid")

        def call(self, x):
            return self.dense(x)

        def compute_loss(
            self, x=None, y=None, y_pred=None, sample_weight=None, training=True
        ):
            assert y is None  # batches are (x,) tuples
            return ops.mean(ops.square(x - y_pred))

    class Recording(datasets.BinarizedSequence):
        def __getitem__(self, index):
            seen.append((self.epoch, index))
            return super().__getitem__(index)

    seen = []
    p = np.random.default_rng(0).random((40, 6)).astype("float32")
    seq = Recording(p, batch_size=16, seed=0)
    model = Autoencoder()
    model.compile(optimizer="sgd")
    history = model.fit(seq, epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    # The batches of the 3 training epochs (after any batches Keras reads to
    # infer shapes): each epoch reads every index once, drawn with a new
    # epoch number, so with new order and new bits.
    n = len(seq)
    epochs = [sorted(seen[len(seen) - 3 * n :][k * n : (k + 1) * n]) for k in range(3)]
    for block in epochs:
        assert [i for _, i in block] == list(range(n))
        assert len({e for e, _ in block}) == 1
    assert epochs[0][0][0] < epochs[1][0][0] < epochs[2][0][0]


# --- lookup, checks, errors


def test_missing_files_error_names_files_dirs_url_and_fix(tmp_path, monkeypatch):
    env_dir = tmp_path / "env"
    monkeypatch.setenv("KERAS_DVAE_DATA", str(env_dir))
    with pytest.raises(FileNotFoundError) as info:
        datasets.load("mnist_static", tmp_path / "nowhere")
    message = str(info.value)
    for text in (
        "mnist_static.npz",
        "binarized_mnist_train.amat",
        "binarized_mnist_test.amat",
        str(tmp_path / "nowhere"),
        str(env_dir),
        str(files.cache_dir()),
        "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/"
        "binarized_mnist_train.amat",
        "ConnectionError",
        "KERAS_DVAE_DATA",
        "data_dir=",
    ):
        assert text in message, text


def test_missing_cifar_jpeg_says_there_is_no_download(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        datasets.load("cifar10", tmp_path, download=False)
    message = str(info.value)
    for name in cifar10.JPEG_TRAIN_FILES + (cifar10.JPEG_TEST_FILE,):
        assert name in message
    assert "(not set)" in message and "variant='lossless'" in message
    assert "no download origin" in message
    with pytest.raises(FileNotFoundError, match="download=False"):
        datasets.load("cifar10", tmp_path, download=False, variant="lossless")


def test_env_var_is_searched(monkeypatch):
    data_dir = need_data("caltech101_silhouettes.npz")
    monkeypatch.setenv("KERAS_DVAE_DATA", str(data_dir))
    data = datasets.load("caltech101_silhouettes")
    assert str(data_dir) in data.notes


def _write_static_npz(path, n=3):
    x = (np.arange(n * 784).reshape(n, 784) % 3 == 0).astype(np.uint8)
    arrays = {}
    for split in ("train", "valid", "test"):
        arrays[f"x_{split}"] = np.packbits(x, axis=-1)
        arrays[f"shape_{split}"] = np.array(x.shape)
    np.savez_compressed(path, **arrays)
    return x


def test_size_check_and_its_bypass(tmp_path):
    x = _write_static_npz(tmp_path / "mnist_static.npz")
    with pytest.raises(ValueError, match="verify=False"):
        datasets.load("mnist_static", tmp_path)
    data = datasets.load("mnist_static", tmp_path, verify=False)
    np.testing.assert_array_equal(data.x_test, x)
    assert data.y_train is None
    with pytest.raises(ValueError, match="sha256"):
        datasets.load("mnist_static", tmp_path, verify=True)


# --- mocked downloads


@pytest.fixture
def fake_get_file(monkeypatch):
    """Replaces `keras.utils.get_file`; `writers[fname](path)` makes the file."""
    calls, writers = [], {}

    def get_file(fname=None, origin=None, file_hash=None, cache_dir=None, **kwargs):
        calls.append((fname, origin, file_hash))
        path = pathlib.Path(cache_dir) / kwargs["cache_subdir"] / fname
        path.parent.mkdir(parents=True, exist_ok=True)
        writers[fname](path)
        return str(path)

    monkeypatch.setattr(keras.utils, "get_file", get_file)
    return calls, writers


def test_download_static_mnist_from_amat(tmp_path, fake_get_file):
    calls, writers = fake_get_file
    rows = {"train": 4, "valid": 2, "test": 3}
    for split, n in rows.items():
        x = np.random.default_rng(n).integers(0, 2, (n, 784))
        writers[f"binarized_mnist_{split}.amat"] = lambda p, x=x: np.savetxt(
            p, x, fmt="%d"
        )
    # verify=False: these few rows are not the documented 50,000 / 10,000 / 10,000.
    data = datasets.load("mnist_static", tmp_path, verify=False)
    assert [len(getattr(data, f"x_{s}")) for s in rows] == list(rows.values())
    np.testing.assert_array_equal(
        data.x_test, np.random.default_rng(3).integers(0, 2, (3, 784))
    )
    assert data.y_test is None and "converted" in data.notes
    assert [c[1] for c in calls] == [r.origin for r in datasets.mnist.STATIC_REMOTES]
    assert (files.cache_dir() / "mnist_static_converted.npz").is_file()
    # The converted copy, no download; its few rows are refused unless verify=False.
    with pytest.raises(ValueError, match=r"`x_train` has shape \(4, 784\)"):
        datasets.load("mnist_static", tmp_path)
    datasets.load("mnist_static", tmp_path, verify=False)
    assert len(calls) == 3


def test_download_raw_mnist_checks_keras_hash(tmp_path, fake_get_file):
    calls, writers = fake_get_file
    rng = np.random.default_rng(0)
    writers["mnist.npz"] = lambda p: np.savez(
        p,
        x_train=rng.integers(0, 256, (8, 28, 28), dtype=np.uint8),
        y_train=np.arange(8, dtype=np.uint8),
        x_test=rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        y_test=np.arange(2, dtype=np.uint8),
    )
    data = datasets.load("mnist", tmp_path, validation_size=3, verify=False)
    assert data.x_train.shape == (5, 784) and data.x_valid.shape == (3, 784)
    assert calls == [
        (
            "mnist.npz",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
            "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
        )
    ]


def _png(ink):
    out = io.BytesIO()
    from PIL import Image

    Image.fromarray((1 - ink).astype(bool)).save(out, format="PNG")
    return out.getvalue()


def test_download_omniglot_from_zips(tmp_path, fake_get_file):
    calls, writers = fake_get_file
    rng = np.random.default_rng(0)
    layout = {
        "background": [("Greek", 1, 1), ("Latin", 2, 2)],
        "evaluation": [("ULOG", 1, 3)],
    }
    drawings = {}

    def write(part):
        def writer(path):
            with zipfile.ZipFile(path, "w") as archive:
                for alphabet, character, char_id in layout[part]:
                    for drawer in range(1, 21):
                        ink = (rng.random((105, 105)) < 0.1).astype(np.uint8)
                        drawings[part, alphabet, drawer] = ink
                        name = (
                            f"images_{part}/{alphabet}/character{character:02d}/"
                            f"{char_id:04d}_{drawer:02d}.png"
                        )
                        archive.writestr(name, _png(ink))

        return writer

    for part in omniglot.PARTS:
        writers[f"images_{part}.zip"] = write(part)
    data = datasets.load("omniglot", tmp_path, validation_size=2, verify=False)
    assert len(calls) == 2
    assert data.x_train.shape == (43, 784) and data.x_test.shape == (15, 784)
    data = datasets.load("omniglot", tmp_path, validation_size=0, verify=False)
    assert len(calls) == 2  # the converted copy is reused
    assert data.class_names == (
        "Greek/character01",
        "Latin/character02",
        "ULOG/character01",
    )
    # Rows in path order: Greek drawings 1-15, Latin 1-15, ULOG 1-15.
    for row, key in ((0, ("background", "Greek", 1)), (44, ("evaluation", "ULOG", 15))):
        expected = omniglot.resize_area(drawings[key][None], 28).ravel()
        np.testing.assert_allclose(data.x_train[row], expected, atol=1e-6)


def test_download_caltech_from_mat(tmp_path, fake_get_file):
    scipy_io = pytest.importorskip("scipy.io")
    calls, writers = fake_get_file
    images = {}

    def writer(path):
        mat = {}
        for key, n in (("train", 3), ("val", 2), ("test", 2)):
            x = (np.random.default_rng(n).random((n, 784)) < 0.5).astype(np.uint8)
            images[key] = x
            mat[f"{key}_data"] = x.astype(float)
            mat[f"{key}_labels"] = np.arange(1, n + 1)[:, None]
        mat["classnames"] = np.array(["a", "bb", "ccc"], dtype=object)[None, :]
        scipy_io.savemat(path, mat)

    writers["caltech101_silhouettes_28_split1.mat"] = writer
    data = datasets.load("caltech101_silhouettes", tmp_path, verify=False)
    assert calls[0][1].endswith("caltech101_silhouettes_28_split1.mat")
    expected = 1 - images["val"].reshape(2, 28, 28).transpose(0, 2, 1)
    np.testing.assert_array_equal(data.x_valid, expected.reshape(2, 784))
    assert data.y_train.tolist() == [0, 1, 2]
    assert data.class_names == ("a", "bb", "ccc")


def _cifar_batch(n, label):
    data = np.zeros((n, 3072), np.uint8)
    data[:, :1024], data[:, 1024:2048], data[:, 2048:] = 10, 20, 30  # R, G, B planes
    return {b"data": data, b"labels": [label] * n}


def _tar(path, members):
    with tarfile.open(path, "w:gz") as archive:
        for name, payload in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))


def test_download_lossless_cifar(tmp_path, fake_get_file):
    calls, writers = fake_get_file
    members = {
        f"data_batch_{i}": pickle.dumps(_cifar_batch(2, i), 2) for i in range(1, 6)
    }
    members["test_batch"] = pickle.dumps(_cifar_batch(3, 9), 2)
    writers["cifar-10-python.tar.gz"] = lambda p: _tar(p, members)
    data = datasets.load("cifar10", tmp_path, variant="lossless", verify=False)
    assert calls[0][2] == "c58f30108f718f92721af3b95e74349a"
    assert data.x_train.shape == (10, 32, 32, 3) and data.x_test.shape == (3, 32, 32, 3)
    assert data.x_train[0, 5, 7].tolist() == [10, 20, 30]  # planes → HWC
    assert data.y_train.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert not data.lossy


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cifar_archive_refuses_other_pickled_objects(tmp_path):
    batch = pickle.dumps(_cifar_batch(1, 0), 2)
    members = {f"data_batch_{i}": batch for i in range(1, 6)}
    members["test_batch"] = pickle.dumps({b"data": _Exploit(), b"labels": []}, 2)
    _tar(tmp_path / "cifar-10-python.tar.gz", members)
    with pytest.raises(pickle.UnpicklingError, match="Refusing"):
        cifar10.read_python_archive(tmp_path / "cifar-10-python.tar.gz")


# --- verifying files: checksums remembered, documented shapes


def test_known_checksums_are_those_of_the_data_readme():
    data_dir = need_data("SHA256SUMS")
    listed = dict(
        reversed(line.split())
        for line in (data_dir / "SHA256SUMS").read_text().splitlines()
        if line.strip()
    )
    for name, digest in listed.items():
        assert digest in [d for _, d in files.KNOWN_FILES[name]], name
        assert (data_dir / name).stat().st_size in [
            size for size, _ in files.KNOWN_FILES[name]
        ], name


def test_a_corrupted_copy_of_the_right_size_is_refused(tmp_path):
    # Right name and size, other bytes: the size check alone let it through.
    (size, digest), *_ = files.KNOWN_FILES["caltech101_silhouettes.npz"]
    path = tmp_path / "caltech101_silhouettes.npz"
    path.write_bytes(np.random.default_rng(0).bytes(size))
    for verify in (None, True):
        with pytest.raises(ValueError, match="sha256") as info:
            datasets.load("caltech101_silhouettes", tmp_path, verify=verify)
        assert str(path) in str(info.value) and digest in str(info.value)
    # It is remembered as bad too: a second default load refuses it again.
    with pytest.raises(ValueError, match="sha256"):
        datasets.load("caltech101_silhouettes", tmp_path)


def _count_hashes(monkeypatch):
    """Counts `files._sha256` calls; forgets what this process remembered."""
    calls = []
    hash_file = files._sha256
    monkeypatch.setattr(files, "_DIGESTS", {})
    monkeypatch.setattr(
        files, "_sha256", lambda path: calls.append(path) or hash_file(path)
    )
    return calls


def test_an_unchanged_file_is_hashed_once(tmp_path, monkeypatch):
    path = tmp_path / "example.npz"
    np.savez(path, x=np.arange(10))
    content = path.read_bytes()
    digest = files.hashlib.sha256(content).hexdigest()
    monkeypatch.setitem(files.KNOWN_FILES, path.name, [(len(content), digest)])
    calls = _count_hashes(monkeypatch)
    files.check(path)
    files.check(path)
    assert len(calls) == 1
    # Remembered on disk, for the next process.
    assert (files.cache_dir() / files.VERIFIED_FILE).is_file()
    monkeypatch.setattr(files, "_DIGESTS", {})
    files.check(path)
    assert len(calls) == 1
    # Another version (a new modification time) is hashed again, and a
    # rewrite of the same size with other bytes is refused.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    files.check(path)
    assert len(calls) == 2
    path.write_bytes(content[:-1] + bytes([content[-1] ^ 1]))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2 * 10**9))
    with pytest.raises(ValueError, match="sha256"):
        files.check(path)
    assert len(calls) == 3
    # verify=True always hashes; verify=False never does.
    files.check(path, verify=False)
    with pytest.raises(ValueError, match="sha256"):
        files.check(path, verify=True)
    assert len(calls) == 4


def test_a_dataset_file_is_hashed_on_its_first_load_only(monkeypatch):
    data_dir = need_data("caltech101_silhouettes.npz")
    calls = _count_hashes(monkeypatch)
    first = datasets.load("caltech101_silhouettes", data_dir)
    second = datasets.load("caltech101_silhouettes", data_dir)
    assert len(calls) == 1
    np.testing.assert_array_equal(first.x_test, second.x_test)


def _write_converted_static(folder, rows, width=784):
    arrays = {}
    for split, n in zip(("train", "valid", "test"), rows, strict=True):
        x = (np.random.default_rng(n).random((n, width)) < 0.5).astype(np.uint8)
        arrays[f"x_{split}"] = np.packbits(x, axis=-1)
        arrays[f"shape_{split}"] = np.array(x.shape)
    np.savez(folder / "mnist_static_converted.npz", **arrays)


def test_truncated_or_reshaped_arrays_are_refused_naming_the_shapes(tmp_path):
    # A converted copy has no documented checksum: its shapes are checked
    # against the dataset's facts (50,000 / 10,000 / 10,000 rows of 784).
    path = tmp_path / "mnist_static_converted.npz"
    _write_converted_static(tmp_path, (50_000, 10_000, 9_999))
    with pytest.raises(ValueError) as info:
        datasets.load("mnist_static", tmp_path)
    message = str(info.value)
    for text in (str(path), "`x_test`", "(9999, 784)", "(10000, 784)", "verify=False"):
        assert text in message, text
    assert len(datasets.load("mnist_static", tmp_path, verify=False).x_test) == 9999
    # 64-pixel rows are refused even with verify=False: they are no 28x28 images.
    _write_converted_static(tmp_path, (50_000, 10_000, 10_000), width=64)
    for verify in (None, False):
        with pytest.raises(ValueError, match=r"`x_train` has shape \(50000, 64\)"):
            datasets.load("mnist_static", tmp_path, verify=verify)


def test_a_cifar_shard_of_other_rows_is_refused(tmp_path):
    path = tmp_path / "shard.npz"
    np.savez(path, x=np.zeros((3, 32, 32, 3), np.uint8), y=np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match=r"`y` has shape \(4,\).*\(3,\)"):
        cifar10.read_shard(path)
    with pytest.raises(ValueError, match=r"`x` has shape \(3, 32, 32, 3\)"):
        cifar10.read_shard(path, rows=10_000)


# --- options


BAD_OPTIONS = {
    "unknown option": ("digits", {"test_sise": 5}, "Received: test_sise=5"),
    "option of another set": (
        "mnist_static",
        {"validation_size": 5},
        "it takes no options",
    ),
    "test_size 0": ("digits", {"test_size": 0}, "Received: test_size=0"),
    "test_size too large": ("digits", {"test_size": 1797}, "Received: test_size=1797"),
    "threshold above 1": ("digits", {"threshold": 2.0}, "Received: threshold=2.0"),
    "threshold NaN": ("digits", {"threshold": float("nan")}, "threshold=nan"),
    "negative seed": ("digits", {"seed": -1}, "Received: seed=-1"),
    "seed not an integer": ("mnist", {"seed": 1.5}, "Received: seed=1.5"),
    "negative validation_size": (
        "omniglot",
        {"validation_size": -5},
        "Received: validation_size=-5",
    ),
    "verify": ("mnist_static", {"verify": "yes"}, "Received: verify='yes'"),
    "download": ("mnist_static", {"download": "no"}, "Received: download='no'"),
    "data_dir": ("caltech101_silhouettes", {"data_dir": 3}, "Received: data_dir=3"),
    "variant": ("cifar10", {"variant": "png"}, "Received: variant='png'"),
}


@pytest.mark.parametrize("case", list(BAD_OPTIONS))
def test_bad_options_are_refused_before_any_file_is_read(case, tmp_path):
    # tmp_path holds no file: each refusal comes before the search.
    name, options, message = BAD_OPTIONS[case]
    options.setdefault("data_dir", tmp_path)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        datasets.load(name, **options)

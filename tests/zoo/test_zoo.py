"""Pretrained presets: every preset loads, samples and reproduces its metric;
corrupted folders fail loudly; `export` writes folders that load back.

Parametrised over `zoo.list_presets()`, so a new preset is tested without
editing this file. The metric check reads the dataset from
`$KERAS_DVAE_DATA`, else `../shared/data` beside the repository, and skips
when it is absent.
"""

import json
import os
import pathlib
import re
import shutil

import h5py
import keras
import numpy as np
import pytest

from keras_dvae import models, zoo
from keras_dvae.models import DiscreteVAE
from keras_dvae.zoo import loading

PRESETS = zoo.list_presets()
DATA_DIR = pathlib.Path(
    os.environ.get("KERAS_DVAE_DATA")
    or pathlib.Path(__file__).parents[2] / ".." / "shared" / "data"
).resolve()
REQUIRED_FILES = (
    "config.json",
    "model.weights.h5",
    "metadata.json",
    "manifest.json",
    "README.md",
)
REQUIRED_METADATA = ("dataset", "metrics", "training", "weights_sha256", "ci_check")


@pytest.fixture(scope="module")
def loaded():
    """name → model, loaded once per module (a load builds the networks)."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = zoo.load(name)
        return cache[name]

    return get


@pytest.fixture(autouse=True)
def _no_user_zoo(monkeypatch):
    monkeypatch.delenv(zoo.ENV_VAR, raising=False)


def _binary_rows(model, n=3):
    rng = np.random.default_rng(0)
    return (rng.random((n, model.input_dim)) < 0.3).astype("float32")


def _copy_preset(tmp_path, name=None):
    name = name or PRESETS[0]
    target = tmp_path / "zoo" / name
    shutil.copytree(zoo.preset_dir(name), target)
    return target


def _forbid_building(monkeypatch):
    def build(*args, **kwargs):
        raise AssertionError("a model was built from a corrupted preset")

    monkeypatch.setattr(keras.saving, "deserialize_keras_object", build)


# ------------------------------------------------------------ every preset


def test_the_zoo_is_not_empty():
    assert "dvaepp_2nl_mnist_static" in PRESETS


@pytest.mark.parametrize("name", PRESETS)
def test_folder_is_complete(name):
    directory = zoo.preset_dir(name)
    for fname in REQUIRED_FILES:
        assert (directory / fname).is_file(), f"{name} lacks {fname}"
    metadata = zoo.get_metadata(name)
    missing = [k for k in REQUIRED_METADATA if k not in metadata]
    assert not missing, f"{name}/metadata.json lacks {missing}"
    assert zoo.sha256(directory / "model.weights.h5") == metadata["weights_sha256"]
    zoo.verify_manifest(directory)  # config, metadata and weights as exported


@pytest.mark.parametrize("name", PRESETS)
def test_load(name, loaded):
    model = loaded(name)
    metadata = zoo.get_metadata(name)
    assert isinstance(model, DiscreteVAE)
    assert model.built
    if "class" in metadata:
        assert type(model).__name__ == metadata["class"]
    if "log_partition" in metadata:
        # The recorded log Z is restored: log_likelihood runs no AIS.
        info = model.prior.log_partition_info
        assert info["log_z"] == metadata["log_partition"]["log_z"]
        assert np.isclose(
            float(keras.ops.convert_to_numpy(model.prior.log_partition)),
            metadata["log_partition"]["log_z"],
        )


@pytest.mark.parametrize("name", PRESETS)
def test_from_preset(name):
    cls = getattr(models, zoo.get_metadata(name).get("class", ""), DiscreteVAE)
    model = cls.from_preset(name)
    assert isinstance(model, cls)
    assert name in cls.presets() and name in DiscreteVAE.presets()
    fresh = cls.from_preset(name, load_weights=False)
    assert type(fresh) is type(model)
    assert fresh.get_config() == model.get_config()


@pytest.mark.parametrize("name", PRESETS)
def test_codes_and_samples(name, loaded):
    model = loaded(name)
    x = _binary_rows(model)
    if hasattr(model, "encode"):
        codes, probabilities = model.encode(x)
        assert codes.shape[0] == len(x) and codes.ndim == 2
        assert probabilities.shape[:2] == codes.shape
        assert np.all(np.isfinite(probabilities))
        # The deterministic codes are deterministic.
        np.testing.assert_array_equal(model.encode(x)[0], codes)
    if hasattr(model, "reconstruct"):
        reconstruction = np.asarray(keras.ops.convert_to_numpy(model.reconstruct(x)))
        assert reconstruction.shape == (len(x), model.input_dim)
    if hasattr(model, "generate"):
        samples = np.asarray(keras.ops.convert_to_numpy(model.generate(2)))
        assert samples.shape == (2, model.input_dim)
        assert np.all((samples >= 0) & (samples <= 1))


@pytest.mark.end_to_end
@pytest.mark.parametrize("name", PRESETS)
def test_metric_reproduces(name, loaded):
    check = zoo.get_metadata(name).get("ci_check")
    if check is None:
        pytest.skip(f"{name}/metadata.json has no ci_check")
    try:
        result = zoo.run_ci_check(name, data_dir=DATA_DIR, model=loaded(name))
    except FileNotFoundError as e:
        pytest.skip(f"dataset {check['dataset']!r} not found in {DATA_DIR}: {e}")
    assert result["passed"], (
        f"{name}: mean log-likelihood {result['measured']:.3f} on the first "
        f"{check['num_examples']} {check.get('split', 'test')} examples "
        f"(K={check['num_samples']}) differs from the recorded {check['mean']} "
        f"by more than {check['tolerance']}"
    )


# ----------------------------------------------------------- lookup, class


def test_unknown_preset_lists_the_available_ones():
    with pytest.raises(ValueError, match="Unknown preset") as info:
        zoo.load("no_such_preset")
    assert PRESETS[0] in str(info.value)
    with pytest.raises(ValueError, match="no_such_preset"):
        models.DVAEPP.from_preset("no_such_preset")


def test_a_recipe_without_weights_and_a_renamed_preset_are_named():
    # `dvaepp_mnist` is the Table 3 recipe, not trained yet; the small model
    # that had the name is `dvaepp_small_mnist`.
    if "dvaepp_mnist" in zoo.list_presets():
        pytest.skip("the Table 3 preset has weights now")
    with pytest.raises(ValueError, match="no trained weights yet") as info:
        models.ConvDVAEPP.from_preset("dvaepp_mnist")
    message = str(info.value)
    assert "now 'dvaepp_small_mnist'" in message
    assert message.endswith("Received: name='dvaepp_mnist'")
    assert zoo.get_metadata("dvaepp_small_mnist")["renamed_from"] == "dvaepp_mnist"


def test_environment_folder_comes_first(tmp_path, monkeypatch):
    copy = _copy_preset(tmp_path)
    monkeypatch.setenv(zoo.ENV_VAR, str(tmp_path / "zoo"))
    assert zoo.search_dirs()[0] == tmp_path / "zoo"
    assert zoo.preset_dir(copy.name) == copy
    renamed = copy.rename(tmp_path / "zoo" / "my_copy")
    assert "my_copy" in zoo.list_presets()
    assert zoo.preset_dir("my_copy") == renamed
    assert zoo.preset_dir(str(renamed)) == renamed  # a path is used as is


def test_from_preset_checks_the_class_before_building(monkeypatch):
    import keras_dvae.zoo.loading as loading

    built = []
    real = keras.saving.deserialize_keras_object
    monkeypatch.setattr(
        loading.keras.saving,
        "deserialize_keras_object",
        lambda config: built.append(config) or real(config),
    )
    name = next(n for n in PRESETS if zoo.get_metadata(n)["class"] == "BernoulliVAE")
    assert isinstance(models.BernoulliVAE.from_preset(name), models.BernoulliVAE)
    built.clear()
    with pytest.raises(ValueError, match="holds a BernoulliVAE, not a DVAEPP"):
        models.DVAEPP.from_preset(name)
    assert built == []  # refused from config.json alone
    # A subclass's presets are its parent's too, never the other way.
    assert set(models.DVAEPP.presets()) <= set(DiscreteVAE.presets())
    assert not set(models.DVAEPP.presets()) & set(models.BernoulliVAE.presets())


# -------------------------------------------------------------- corruption


def test_flipped_bytes_fail_before_building(tmp_path, monkeypatch):
    folder = _copy_preset(tmp_path)
    weights = folder / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    weights.write_bytes(bytes(data))
    expected = zoo.get_metadata(folder)["weights_sha256"]
    _forbid_building(monkeypatch)
    with pytest.raises(ValueError) as info:
        zoo.load(folder)
    message = str(info.value)
    for part in (folder.name, str(weights), expected, zoo.sha256(weights)):
        assert part in message
    # The same through from_preset, with the copy found by name.
    monkeypatch.setenv(zoo.ENV_VAR, str(folder.parent))
    with pytest.raises(ValueError, match="sha256"):
        DiscreteVAE.from_preset(folder.name)


def test_edited_hash_fails(tmp_path, monkeypatch):
    folder = _copy_preset(tmp_path)
    metadata = zoo.get_metadata(folder)
    actual = metadata["weights_sha256"]
    metadata["weights_sha256"] = "0" * 64
    (folder / "metadata.json").write_text(json.dumps(metadata))
    _forbid_building(monkeypatch)
    # The manifest sees the edit first; with a manifest rewritten to match,
    # the recorded weights hash still refuses the weights.
    with pytest.raises(ValueError, match="metadata.json is [0-9a-f]+, but manifest"):
        zoo.load(folder)
    zoo.write_manifest(folder)
    with pytest.raises(ValueError, match=f"is {actual}, but metadata.json records 0+"):
        zoo.load(folder)
    del metadata["weights_sha256"]
    (folder / "metadata.json").write_text(json.dumps(metadata))
    zoo.write_manifest(folder)
    with pytest.raises(ValueError, match="records no `weights_sha256`"):
        zoo.load(folder)


@pytest.mark.parametrize(
    "edit",
    [
        ("config.json", lambda c: c["config"].update(activation="relu")),
        ("metadata.json", lambda m: m["log_partition"].update(log_z=0.0)),
    ],
    ids=["config activation", "metadata log_z"],
)
def test_edited_config_or_metadata_fails_before_building(tmp_path, monkeypatch, edit):
    filename, change = edit
    folder = _copy_preset(tmp_path, "dvaepp_2nl_mnist_static")
    content = json.loads((folder / filename).read_text())
    change(content)
    (folder / filename).write_text(json.dumps(content))
    _forbid_building(monkeypatch)
    with pytest.raises(ValueError, match="but manifest.json records") as info:
        zoo.load(folder)
    assert str(folder / filename) in str(info.value) and folder.name in str(info.value)


def test_malformed_files_name_the_preset_and_the_file(tmp_path, monkeypatch):
    folder = _copy_preset(tmp_path)
    (folder / "manifest.json").unlink()
    with pytest.raises(ValueError, match="has no manifest.json"):
        zoo.load(folder)
    zoo.write_manifest(folder)
    (folder / "config.json").write_text('{"class_name": "CategoricalVAE", "config": 3}')
    zoo.write_manifest(folder)  # a trusted but malformed config
    with pytest.raises(ValueError, match="config.json does not build") as info:
        zoo.load(folder)
    assert folder.name in str(info.value)
    (folder / "metadata.json").write_text("{not json")
    with pytest.raises(ValueError, match="cannot read") as info:
        zoo.load(folder)
    assert str(folder / "metadata.json") in str(info.value)


def test_truncated_weights_with_matching_hash_fail(tmp_path, monkeypatch):
    folder = _copy_preset(tmp_path)
    weights = folder / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    metadata = zoo.get_metadata(folder)
    metadata["weights_sha256"] = zoo.sha256(weights)
    (folder / "metadata.json").write_text(json.dumps(metadata))
    zoo.write_manifest(folder)
    _forbid_building(monkeypatch)
    with pytest.raises(ValueError, match="not a readable HDF5 weights file") as info:
        zoo.load(folder)
    assert str(weights) in str(info.value) and folder.name in str(info.value)


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("num_chains", 20_000_000, "sets `num_chains` to 20000000, but no"),
        ("num_chains", 2e7, "sets `num_chains` to 20000000.0, but no"),
        ("num_latents", 40_000, "sets `num_latents` to 40000, but no"),
        ("hidden_units", [200] * 1000, "lists 1000 sizes under `hidden_units`"),
        ("image_shape", [784, 100_000], "sets `image_shape` to 100000, but no"),
    ],
)
def test_config_sizes_are_checked_against_the_weights_before_building(
    tmp_path, monkeypatch, key, value, message
):
    """verify=False skips the hashes, not the shapes: a config.json size
    that no stored array fits fails naming the preset, the file and the key
    before Keras allocates anything (2·10⁷ chains of 200 units: 32 GB)."""
    folder = _copy_preset(tmp_path, "dvaepp_2nl_mnist_static")
    config = json.loads((folder / "config.json").read_text())
    config["config"][key] = value
    (folder / "config.json").write_text(json.dumps(config))
    _forbid_building(monkeypatch)
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        zoo.load(folder, verify=False)
    text = str(info.value)
    assert f"Preset {folder.name!r}" in text and f"Received: {key}" in text
    assert str(folder / "config.json") in text
    assert str(folder / "model.weights.h5") in text


def test_size_check_reads_nested_part_configs():
    """An assembled `DiscreteVAE`'s config nests its parts: their sizes are
    found under their dotted keys; unused small defaults pass."""
    shapes = [(784, 200), (200, 200), (1, 100, 200), (200,), ()]
    config = {
        "config": {
            "prior": {"config": {"num_chains": 100, "gibbs_sweeps": 10**6}},
            "decoder": {"config": {"continuous_units": 64, "hidden_units": [200]}},
        }
    }
    loading._check_sizes("Preset 'p'", "c.json", config, "w.h5", shapes)
    config["config"]["prior"]["config"]["num_chains"] = 20_000_000
    with pytest.raises(ValueError, match=r"`prior\.config\.num_chains` to 20000000"):
        loading._check_sizes("Preset 'p'", "c.json", config, "w.h5", shapes)


def test_non_finite_tokens_in_preset_json_are_refused(tmp_path, monkeypatch):
    """config.json is read as strict JSON: a bare NaN (which Python's json
    would accept) is refused naming the preset and the file."""
    folder = _copy_preset(tmp_path, "dvaepp_2nl_mnist_static")
    text = (folder / "config.json").read_text()
    edited = text.replace('"weight_decay": 0.0001', '"weight_decay": NaN')
    assert edited != text
    (folder / "config.json").write_text(edited)
    _forbid_building(monkeypatch)
    with pytest.raises(ValueError, match="NaN is not JSON") as info:
        zoo.load(folder, verify=False)
    assert folder.name in str(info.value)
    assert str(folder / "config.json") in str(info.value)


def test_missing_weights_fail(tmp_path):
    folder = _copy_preset(tmp_path)
    (folder / "model.weights.h5").unlink()
    with pytest.raises(ValueError, match="has no weights file"):
        zoo.load(folder)


# ------------------------------------------------------------------ export


def _tiny_trained(cls=models.BernoulliVAE, **kwargs):
    model = cls(image_shape=(16,), num_latents=4, hidden_units=(8,), seed=1, **kwargs)
    x = (np.random.default_rng(0).random((20, 16)) < 0.5).astype("float32")
    model.compile(optimizer="adam")
    model.fit(x, epochs=1, batch_size=10, verbose=0)
    return model, x


def test_export_round_trip(tmp_path):
    model, x = _tiny_trained()
    grid = np.zeros((10, 12), "uint8")
    metadata = zoo.export(
        model,
        tmp_path / "tiny",
        {"dataset": "digits", "metrics": {"test_ll": {"mean": -1.5}}},
        samples=grid,
    )
    folder = tmp_path / "tiny"
    for fname in (*REQUIRED_FILES, "samples.png"):
        assert (folder / fname).is_file()
    assert metadata["class"] == "BernoulliVAE"
    assert zoo.get_metadata(folder) == json.loads(json.dumps(metadata))
    assert metadata["weights_sha256"] == zoo.sha256(folder / "model.weights.h5")
    # Model variables only: the compiled model's optimizer stays behind.
    with h5py.File(folder / "model.weights.h5") as f:
        assert "optimizer" not in f
    loaded = models.BernoulliVAE.from_preset(folder)
    # `weights`: Keras does not save every seed generator's state.
    for a, b in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
        )
    np.testing.assert_array_equal(loaded.encode(x)[0], model.encode(x)[0])
    card = (folder / "README.md").read_text()
    assert "# tiny" in card and "BernoulliVAE" in card and "samples.png" in card
    # Every JSON file written is strict JSON (no NaN/Infinity tokens).
    written = sorted(folder.glob("*.json"))
    assert {p.name for p in written} >= {"config.json", "metadata.json"}
    for path in written:
        json.loads(path.read_text(), parse_constant=_refuse_constant)


def _refuse_constant(token):
    raise AssertionError(f"non-strict JSON token {token}")


def test_export_refuses_non_finite_metrics_before_writing(tmp_path):
    """A preset publishes its figures: a NaN metric is refused naming its
    key, and nothing of the folder is written."""
    model = models.BernoulliVAE(
        image_shape=(16,), num_latents=4, hidden_units=(8,), seed=1
    )
    metadata = {"dataset": "digits", "metrics": {"test_ll": {"mean": np.nan}}}
    with pytest.raises(
        ValueError,
        match=r"`metrics\.test_ll\.mean` is nan: JSON has no NaN or Infinity.*"
        r"Received: metrics\.test_ll\.mean=nan",
    ):
        zoo.export(model, tmp_path / "bad", metadata)
    assert not (tmp_path / "bad").exists()
    metadata["metrics"]["test_ll"]["mean"] = np.float32(-np.inf)
    with pytest.raises(ValueError, match=r"`metrics\.test_ll\.mean` is -inf"):
        zoo.export(model, tmp_path / "bad", metadata)
    assert not (tmp_path / "bad").exists()


def test_export_keeps_a_written_card_and_records_log_z(tmp_path):
    model, _ = _tiny_trained(models.DVAEPP, num_chains=4, gibbs_sweeps=1)
    info = model.prior.estimate_log_partition("exact")
    folder = tmp_path / "rbm"
    folder.mkdir()
    (folder / "README.md").write_text("hand-written")
    metadata = zoo.export(model, folder, {"dataset": "digits"})
    assert (folder / "README.md").read_text() == "hand-written"
    assert metadata["log_partition"]["log_z"] == info["log_z"]
    loaded = zoo.load(folder)
    assert loaded.prior.log_partition_info["method"] == "exact"
    zoo.write_model_card(folder)
    assert "DVAEPP" in (folder / "README.md").read_text()


def test_export_rejects_bad_arguments(tmp_path):
    model = models.BernoulliVAE(image_shape=(16,), num_latents=4, hidden_units=(8,))
    with pytest.raises(ValueError, match="must be a dict"):
        zoo.export(model, tmp_path / "a", [("dataset", "digits")])
    with pytest.raises(ValueError, match="uint8 image"):
        zoo.export(model, tmp_path / "b", {}, samples=np.zeros((4, 4)))


@pytest.mark.parametrize("name", PRESETS)
def test_model_card_from_metadata(name):
    metadata = zoo.get_metadata(name)
    card = zoo.model_card(name, metadata, samples=True)
    assert card.startswith(f"# {name}\n")
    assert metadata["weights_sha256"] in card
    assert f'from_preset("{name}")' in card
    check = metadata["ci_check"]
    assert f"K = {check['num_samples']}" in card


def test_save_to_preset_round_trip(tmp_path):
    model = models.DVAEPP(
        image_shape=(16,), num_latents=4, hidden_units=(8,), num_chains=3, seed=2
    )
    model.prior.W.assign(np.full((2, 2), 0.7, "float32"))
    log_z = model.prior.estimate_log_partition("exact")["log_z"]
    metadata = model.save_to_preset(tmp_path / "mine", {"dataset": "digits"})
    assert metadata["log_partition"]["log_z"] == log_z
    loaded = models.DVAEPP.from_preset(str(tmp_path / "mine"))
    assert loaded.prior.log_partition_info["log_z"] == log_z
    for a, b in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
        )
    with pytest.raises(ValueError, match="not a BernoulliVAE"):
        models.BernoulliVAE.from_preset(str(tmp_path / "mine"))


def test_a_loaded_preset_is_compiled(loaded):
    # `evaluate` works on a preset as loaded (no "call compile() first").
    model = loaded("bernoulli_joint_1nl_mnist_static")
    assert model.compiled
    logs = model.evaluate(_binary_rows(model), verbose=0, return_dict=True)
    assert np.isfinite(logs["elbo"]) and logs["elbo"] < 0

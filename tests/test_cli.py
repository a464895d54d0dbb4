"""The command line: train → evaluate → sample on digits, presets, resume files."""

import json

import numpy as np
import pytest

from keras_dvae import cli, presets

TINY = json.dumps({"num_chains": 10, "gibbs_sweeps": 2, "structure": [16]})


def test_train_evaluate_sample(tmp_path, capsys):
    out = str(tmp_path / "run")
    args = ["train", "--epochs", "2", "--num-samples", "20", "--examples", "40"]
    assert cli.main([*args, "--model-args", TINY, "--output-dir", out]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    # Exact log Z for the 16 + 16 RBM; IWAE ≥ discrete ELBO up to MC noise.
    assert metrics["log_partition"]["method"] == "exact"
    assert metrics["test_log_likelihood"] < 0
    assert metrics["test_log_likelihood"] > metrics["test_elbo_discrete"] - 1.0
    assert (tmp_path / "run" / "samples.png").stat().st_size > 0
    # A finished run leaves no backup; weights and config rebuild the model.
    assert not (tmp_path / "run" / "backup").exists()
    model, saved = cli.load_trained(out)
    assert saved["preset"] == "digits_dvaepp"
    assert model.num_chains == 10
    capsys.readouterr()
    assert (
        cli.main(
            ["evaluate", "--model-dir", out, "--num-samples", "20", "--examples", "10"]
        )
        == 0
    )
    evaluation = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    assert evaluation["test_examples"] == 10
    assert np.isfinite(evaluation["test_log_likelihood"])
    png = str(tmp_path / "s.png")
    assert cli.main(["sample", "--model-dir", out, "--num", "4", "--output", png]) == 0
    from PIL import Image

    image = Image.open(png)
    assert image.width > image.height > 0


def test_presets_listing_and_overrides(capsys):
    assert cli.main(["presets"]) == 0
    listing = capsys.readouterr().out
    for name in presets.names():
        assert name in listing
    config = presets.get("digits_dvaepp", epochs=3, model_args={"num_chains": 7})
    assert config["epochs"] == 3
    assert config["model_args"]["num_chains"] == 7
    # The base model arguments survive a partial override.
    assert config["model_args"]["latents_per_group"] == 32
    assert presets.get("digits_dvaepp")["model_args"]["num_chains"] == 100


def test_preset_errors():
    with pytest.raises(ValueError, match="Received: name='nope'"):
        presets.get("nope")
    with pytest.raises(ValueError, match="Received: epoch=3"):
        presets.get("digits_dvaepp", epoch=3)


def test_interrupted_train_resumes_with_its_chains(tmp_path, monkeypatch):
    import keras

    out = str(tmp_path / "run")
    args = ["train", "--epochs", "3", "--num-samples", "5", "--examples", "10"]
    args += ["--model-args", TINY, "--output-dir", out]
    saved = {}

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                if hasattr(self.model, "jax_state_sync"):
                    self.model.jax_state_sync()
                saved["chains"] = np.array(
                    keras.ops.convert_to_numpy(self.model.prior.chains_z1)
                )
                raise KeyboardInterrupt

    original = cli._callbacks

    def with_interrupt(*a, **k):
        return [*original(*a, **k), Interrupt()]

    monkeypatch.setattr(cli, "_callbacks", with_interrupt)
    with pytest.raises(KeyboardInterrupt):
        cli.main(args)
    assert (tmp_path / "run" / "backup").is_dir()
    monkeypatch.setattr(cli, "_callbacks", original)
    resumed = {}

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            resumed.setdefault("first_epoch", epoch)
            chains = keras.ops.convert_to_numpy(self.model.prior.chains_z1)
            resumed.setdefault("chains", np.array(chains))

    monkeypatch.setattr(
        cli, "_callbacks", lambda *a, **k: [*original(*a, **k), Record()]
    )
    assert cli.main(args) == 0
    # Epochs 0 and 1 finished before the interruption: the rerun starts at
    # epoch 2 from the chains saved at the end of epoch 1.
    assert resumed["first_epoch"] == 2
    np.testing.assert_array_equal(resumed["chains"], saved["chains"])
    assert (tmp_path / "run" / "metrics.json").exists()

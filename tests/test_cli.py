"""The command line: train → evaluate → sample on digits; recipe and preset lists."""

import json

import numpy as np
import pytest

from keras_dvae import cli, recipes, training, zoo
from tests.helpers import need_data

pytestmark = pytest.mark.end_to_end

TINY = json.dumps({"num_chains": 10, "gibbs_sweeps": 2, "hidden_units": [16]})


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
    model, saved = training.load_trained(out)
    assert saved["recipe"] == "digits_dvaepp"
    assert model.num_chains == 10
    assert "Training DVAEPP (recipe digits_dvaepp) on digits" in capsys.readouterr().out
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


def test_train_runs_a_convolutional_preset_recipe(tmp_path):
    # The conv presets' recipes train through the same command (one step of
    # a narrowed model on Caltech-101 Silhouettes, the smallest set).
    data_dir = need_data("caltech101_silhouettes.npz")
    out = tmp_path / "conv"
    narrow = json.dumps({"filters": 8, "local_groups": 2, "hidden_units": [16]})
    args = ["train", "dvaepp_caltech101_silhouettes", "--epochs", "1"]
    args += ["--batch-size", "4100", "--examples", "4", "--num-samples", "4"]
    args += ["--model-args", narrow, "--data-dir", str(data_dir)]
    assert cli.main([*args, "--output-dir", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "ConvDVAEPP" and metrics["steps"] == 1
    assert np.isfinite(metrics["test_log_likelihood"])
    model, _ = training.load_trained(str(out))
    assert model.filters == 8


def test_a_finished_run_is_kept_refused_or_overwritten(tmp_path, capsys):
    # Rerunning a finished run returns it (no new history rows); another
    # configuration into its folder is refused; --overwrite trains afresh.
    # `sample` writes beside the run's samples.png, never over it.
    out = tmp_path / "run"
    args = ["train", "digits_bernoulli", "--epochs", "1", "--num-samples", "2"]
    args += ["--examples", "5", "--output-dir", str(out)]
    tiny = ["--model-args", json.dumps({"num_latents": 4, "hidden_units": [8]})]
    assert cli.main([*args, *tiny]) == 0
    rows = (out / "history.csv").read_text()
    weights = (out / "model.weights.h5").read_bytes()
    capsys.readouterr()
    assert cli.main([*args, *tiny]) == 0
    printed = capsys.readouterr().out
    assert "holds this run, finished" in printed and "Kept" in printed
    assert (out / "history.csv").read_text() == rows
    assert (out / "model.weights.h5").read_bytes() == weights
    other = ["--model-args", json.dumps({"num_latents": 6, "hidden_units": [8]})]
    assert cli.main([*args, *other]) == 2
    assert "a finished run of another" in capsys.readouterr().err
    (out / "evaluation.json").write_text("{}")  # a stale evaluation
    assert cli.main([*args, *other, "--overwrite"]) == 0
    assert (
        json.loads((out / "config.json").read_text())["training"]["model_args"][
            "num_latents"
        ]
        == 6
    )
    assert (out / "history.csv").read_text().count("\n") == rows.count("\n")
    assert not (out / "evaluation.json").exists()
    samples = (out / "samples.png").read_bytes()
    for n in (1, 2):
        assert cli.main(["sample", "--model-dir", str(out), "--num", "2"]) == 0
        assert (out / f"samples-{n}.png").is_file()
    assert (out / "samples.png").read_bytes() == samples


def test_train_takes_the_recipe_as_argument_or_flag(tmp_path):
    common = ["--epochs", "1", "--num-samples", "2", "--examples", "5"]
    common += ["--model-args", json.dumps({"num_latents": 4, "hidden_units": [8]})]
    for how in (["digits_bernoulli"], ["--recipe", "digits_bernoulli"]):
        out = tmp_path / how[-1] / str(len(how))
        assert cli.main(["train", *how, *common, "--output-dir", str(out)]) == 0
        saved = json.loads((out / "config.json").read_text())
        assert saved["recipe"] == "digits_bernoulli"
        assert saved["training"]["model"] == "BernoulliVAE"


def test_recipes_and_presets_listings(capsys):
    assert cli.main(["recipes"]) == 0
    listing = capsys.readouterr().out
    for name in recipes.list_recipes():
        assert name in listing
    # `presets` lists the pretrained presets of the zoo, with their figures.
    assert cli.main(["presets"]) == 0
    listing = capsys.readouterr().out.splitlines()
    names = zoo.list_presets()
    rows = listing[1 : 1 + len(names)]
    assert [line.split()[0] for line in rows] == names
    for name, row in zip(names, rows, strict=True):
        meta = zoo.get_metadata(name)
        steps = meta["training"]["iterations"]
        assert f"{steps:,}" in row
    assert "keras-dvae recipes" in listing[-1]

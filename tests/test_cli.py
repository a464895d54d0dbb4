"""The command line: train → evaluate → sample on digits; recipe and preset lists."""

import json
import pathlib
import subprocess
import sys

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


# ------------------------------------------------------------------- misuse


def _exit_status(argv):
    """`cli.main(argv)`'s exit status: returned, or argparse's SystemExit."""
    try:
        return cli.main(argv)
    except SystemExit as exit:
        return exit.code


def _assert_one_line_error(status, err, command, *texts):
    assert status == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"keras-dvae {command}: error: ")
    for text in texts:
        assert text in lines[0], (text, lines[0])


MISUSE = {
    "batch size 0": (["train", "--batch-size", "0"], "--batch-size", "'0'"),
    "epochs 0": (["train", "--epochs", "0"], "--epochs", ">= 1", "'0'"),
    "negative epochs": (["train", "--epochs", "-3"], "--epochs", "'-3'"),
    "epochs not a number": (["train", "--epochs", "two"], "--epochs", "'two'"),
    "train num samples 0": (["train", "--num-samples", "0"], "--num-samples"),
    "train examples 0": (["train", "--examples", "0"], "--examples", "'0'"),
    "learning rate 0": (["train", "--learning-rate", "0"], "--learning-rate"),
    "negative seed": (["train", "--seed", "-1"], "--seed", ">= 0"),
    "malformed model args": (
        ["train", "--model-args", '{"num_latents": 4,'],
        "--model-args",
        "JSON object",
        "char 18",
    ),
    "model args not a dict": (["train", "--model-args", "[4]"], "--model-args"),
    "evaluate num samples 0": (["evaluate", "--num-samples", "0"], "--num-samples"),
    "evaluate examples -2": (["evaluate", "--examples", "-2"], "--examples", "'-2'"),
    "sample num 0": (["sample", "--num", "0"], "--num", "'0'"),
    "unknown dataset": (
        ["train", "--dataset", "nope", "--output-dir", "{tmp}/run"],
        "Unknown dataset",
        "name='nope'",
    ),
    "unknown model argument": (
        ["train", "digits_bernoulli", "--model-args", '{"num_latentz": 4}']
        + ["--output-dir", "{tmp}/run"],
        "num_latentz",
    ),
}


@pytest.mark.parametrize("case", list(MISUSE))
def test_misuse_is_one_line_and_exit_status_2(case, tmp_path, capsys):
    argv, *texts = MISUSE[case]
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    status = _exit_status(argv)
    _assert_one_line_error(status, capsys.readouterr().err, argv[0], *texts)
    # Refused before anything was trained or written.
    assert not (tmp_path / "run" / "config.json").exists()


def _preset_folder(tmp_path):
    return str(zoo.preset_dir(zoo.list_presets()[0]))


def _unfinished_run(tmp_path):
    # A train run killed before its first weights: config.json only.
    folder = tmp_path / "unfinished"
    folder.mkdir()
    saved = {"recipe": None, "training": recipes.get("digits_bernoulli"), "seed": 0}
    (folder / "config.json").write_text(json.dumps({**saved, "model": {}}))
    return str(folder)


MODEL_DIRS = {
    "missing": (lambda tmp: str(tmp / "nowhere"), "does not exist"),
    "empty": (lambda tmp: str(tmp), "holds no config.json"),
    "zoo preset": (_preset_folder, "it is a zoo preset's"),
    "unfinished run": (_unfinished_run, "holds no model.weights.h5"),
}


@pytest.mark.parametrize("command", ["evaluate", "sample"])
@pytest.mark.parametrize("case", list(MODEL_DIRS))
def test_a_model_dir_that_is_no_finished_run_is_refused(
    case, command, tmp_path, capsys
):
    folder_of, text = MODEL_DIRS[case]
    folder = folder_of(tmp_path)
    status = _exit_status([command, "--model-dir", folder])
    _assert_one_line_error(status, capsys.readouterr().err, command, folder, text)


def test_the_console_command_exits_with_status_2(tmp_path):
    # The installed entry point, in a process of its own: argparse's refusal
    # comes before Keras is imported (nothing else on stderr), and the
    # status reaches the shell.
    script = pathlib.Path(sys.executable).with_name("keras-dvae")
    if not script.is_file():
        pytest.skip(f"no keras-dvae console script beside {sys.executable}")
    done = subprocess.run(
        [str(script), "train", "--batch-size", "0"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    _assert_one_line_error(done.returncode, done.stderr, "train", "--batch-size")
    assert done.stdout == ""

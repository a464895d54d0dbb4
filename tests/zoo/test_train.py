"""`python -m keras_dvae.zoo.train`: train, evaluate and export a preset folder."""

import dataclasses
import json

import keras
import numpy as np
import pytest

from keras_dvae import callbacks, datasets, recipes, zoo
from keras_dvae.callbacks import selection
from keras_dvae.zoo import exporting, train

pytestmark = pytest.mark.end_to_end


def test_table_and_list(capsys):
    assert train.main(["--table"]) == 0
    table = capsys.readouterr().out
    assert all(f"| `{name}` |" in table for name in zoo.list_presets())
    assert train.main(["--list"]) == 0
    assert "* dvaepp_2nl_mnist_static " in capsys.readouterr().out


def test_train_export_and_evaluate_only(tmp_path):
    run, folder = tmp_path / "run", tmp_path / "preset"
    common = ["digits_bernoulli", "--output-dir", str(run), "--verbose", "0"]
    assert train.main([*common, "--epochs", "1", "--export", str(folder)]) == 0
    metadata = zoo.get_metadata(folder)
    assert metadata["training"]["iterations"] == 14
    assert metadata["training"]["command"].endswith(
        "keras_dvae.zoo.train digits_bernoulli --epochs 1 --seed 0 "
        "--data-dir ../shared/data"
    )
    assert metadata["training"]["command"] in (folder / "train.sh").read_text()
    assert metadata["ci_check"]["num_examples"] == 50
    assert (
        zoo.load(folder).get_config()
        == json.loads((run / "config.json").read_text())["model"]["config"]
    )
    again = tmp_path / "again"
    assert train.main([*common, "--evaluate-only", "--export", str(again)]) == 0
    # The same trained weights (the seed generators' states moved on).
    for a, b in zip(
        zoo.load(folder).trainable_weights,
        zoo.load(again).trainable_weights,
        strict=True,
    ):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
        )


def test_continue_resumes_weights_chains_and_schedules(tmp_path, monkeypatch):
    # A preset continued for another epoch starts from its weights and PCD
    # chains, at its recorded step (the learning rate of step 14 of 28, not
    # the warm-up's tenth), and records both stages and their test figures.
    folder = tmp_path / "preset"
    common = ["digits_dvaepp", "--epochs", "1", "--verbose", "0"]
    common += ["--export", str(folder)]
    assert train.main([*common, "--output-dir", str(tmp_path / "run1")]) == 0
    first = zoo.get_metadata(folder)
    assert first["training"]["iterations"] == 14
    preset = zoo.load(folder)
    seen = {}

    def record(logs=None):
        model = seen["model"]
        seen["chains"] = keras.ops.convert_to_numpy(model.prior.chains_z1)
        seen["step"] = float(keras.ops.convert_to_numpy(model.training_step))
        seen["rate"] = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))

    class Recorder(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["model"] = self.model
            record()

    real_train = train.training.train

    def recording_train(*args, **kwargs):
        return real_train(*args, callbacks=[Recorder()], **kwargs)

    monkeypatch.setattr(train.training, "train", recording_train)
    second = ["--continue", "--output-dir", str(tmp_path / "run2")]
    second += ["--eval-examples", "0", "--eval-samples", "5"]  # every test row
    assert train.main([*common, *second]) == 0
    np.testing.assert_array_equal(
        seen["chains"], keras.ops.convert_to_numpy(preset.prior.chains_z1)
    )
    assert seen["step"] == 14
    expected = callbacks.reference_learning_rate(28)(14)
    np.testing.assert_allclose(seen["rate"], keras.ops.convert_to_numpy(expected))
    assert seen["rate"] == pytest.approx(3e-3)  # the full rate, not 3e-4
    metadata = zoo.get_metadata(folder)
    training = metadata["training"]
    assert training["iterations"] == 28 and training["epochs"] == 2
    assert [s["steps"] for s in training["stages"]] == [[0, 14], [14, 28]]
    assert "--continue" in training["stages"][1]["command"]
    assert [p["step"] for p in metadata["history"]] == [14, 28]
    test_rows = len(datasets.load("digits").x_test)
    assert metadata["history"][1]["num_examples"] == test_rows
    assert metadata["history"][1]["num_samples"] == 5
    assert metadata["history"][0]["test_ll"] == first["metrics"]["test_ll"]["mean"]
    script = (folder / "train.sh").read_text()
    assert all(s["command"] in script for s in training["stages"])
    continued = zoo.load(folder)
    assert float(keras.ops.convert_to_numpy(continued.training_step)) == 28
    # A weights file that is not the recorded one is refused.
    (folder / "model.weights.h5").write_bytes(b"not the weights")
    with pytest.raises(ValueError, match="sha256"):
        train.main([*common, "--continue", "--output-dir", str(tmp_path / "run3")])


def test_a_legacy_preset_in_another_folder_keeps_its_recipe_name(tmp_path):
    # A preset exported before stages were recorded (one run, no "stages")
    # and copied to a folder of another name: continuing or remeasuring it
    # rebuilds its first stage's command from the recipe's name, not the
    # folder's (which `train.sh` would run as an unknown recipe), and keeps
    # the name the preset had before a rename.
    folder = tmp_path / "a_copy"
    common = ["digits_bernoulli", "--verbose", "0", "--export", str(folder)]
    first = ["--epochs", "1", "--output-dir", str(tmp_path / "r1")]
    assert train.main([*common, *first]) == 0
    legacy = zoo.get_metadata(folder)
    legacy.pop("history")
    legacy["training"].pop("stages")
    legacy["renamed_from"] = "digits_old_name"
    (folder / "metadata.json").write_text(json.dumps(legacy))
    zoo.write_manifest(folder)
    rebuilt = "keras_dvae.zoo.train digits_bernoulli --epochs 1 --seed 0"
    flags = ["--remeasure", "--eval-samples", "5"]
    assert train.main([*common, *flags]) == 0
    assert rebuilt in zoo.get_metadata(folder)["training"]["stages"][0]["command"]
    assert (folder / "README.md").read_text().startswith("# digits_bernoulli\n")
    (folder / "metadata.json").write_text(json.dumps(legacy))
    zoo.write_manifest(folder)
    again = ["--continue", "--epochs", "1", "--output-dir", str(tmp_path / "r2")]
    assert train.main([*common, *again, "--eval-samples", "5"]) == 0
    stages = zoo.get_metadata(folder)["training"]["stages"]
    assert [s["steps"] for s in stages] == [[0, 14], [14, 28]]
    assert rebuilt in stages[0]["command"]
    assert zoo.get_metadata(folder)["renamed_from"] == "digits_old_name"
    assert "a_copy" not in (folder / "train.sh").read_text()
    # The model card (and the curve's title) name the preset, not the copy.
    card = (folder / "README.md").read_text()
    assert card.startswith("# digits_bernoulli\n") and "a_copy" not in card


def test_a_restarted_stage_runs_at_the_base_rate_and_is_recorded(tmp_path, monkeypatch):
    # `--restart-learning-rate` lays the schedule over the new stage alone:
    # its first step gets the warm-up's tenth of the rate (step 0 of 14), not
    # the full rate of step 14 of 28; the stage's command and record say so,
    # and `benchmarks.stage_rates` counts the stage from the schedule's start.
    from benchmarks import stage_rates

    folder = tmp_path / "preset"
    common = ["digits_dvaepp", "--epochs", "1", "--verbose", "0"]
    common += ["--export", str(folder)]
    assert train.main([*common, "--output-dir", str(tmp_path / "run1")]) == 0
    seen = {}

    class Recorder(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["step"] = float(keras.ops.convert_to_numpy(self.model.training_step))
            rate = self.model.optimizer.learning_rate
            seen["rate"] = float(keras.ops.convert_to_numpy(rate))

    real_train = train.training.train

    def recording_train(*args, **kwargs):
        return real_train(*args, callbacks=[Recorder()], **kwargs)

    monkeypatch.setattr(train.training, "train", recording_train)
    second = ["--continue", "--restart-learning-rate"]
    second += ["--output-dir", str(tmp_path / "run2"), "--eval-samples", "5"]
    assert train.main([*common, *second]) == 0
    assert seen["step"] == 14
    assert seen["rate"] == pytest.approx(3e-4)
    stage = zoo.get_metadata(folder)["training"]["stages"][1]
    assert stage["steps"] == [14, 28]
    assert "--continue --restart-learning-rate" in stage["command"]
    assert stage["learning_rate"].startswith("restarted")
    assert stage_rates.restarted(stage)
    metadata = zoo.get_metadata(folder)
    monkeypatch.setattr(stage_rates.zoo, "get_metadata", lambda name: metadata)
    monkeypatch.setattr(
        stage_rates.recipes, "get", lambda name: {"learning_rate": 3e-3}
    )
    rows = stage_rates.main(["digits_dvaepp"])["digits_dvaepp"]["stages"]
    # Both stages span 14 steps from the schedule's start; resumed at 14,
    # the second would have had other rates.
    assert rows == [stage_rates.stage_rates(0, 14, 3e-3)] * 2
    assert rows[1] != stage_rates.stage_rates(14, 14, 3e-3)


def test_the_command_refuses_bad_input_in_one_line(capsys):
    assert train.command_line(["digits_bernoulli", "--epochs", "0"]) == 2
    assert train.command_line(["no_such_recipe"]) == 2
    assert train.command_line(["digits_bernoulli", "--restart-learning-rate"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "Traceback" not in "".join(err)
    assert "--restart-learning-rate" in err[2] and "--continue" in err[2]
    assert err[0].startswith("python -m keras_dvae.zoo.train: error: `epochs`")
    assert "Unknown recipe" in err[1] and "no_such_recipe" in err[1]


def test_remeasure_records_a_new_figure_of_the_same_weights(tmp_path, monkeypatch):
    folder = tmp_path / "preset"
    common = ["digits_bernoulli", "--verbose", "0", "--export", str(folder)]
    first = ["--epochs", "1", "--output-dir", str(tmp_path / "r")]
    assert train.main([*common, *first]) == 0
    before = zoo.get_metadata(folder)
    weights = (folder / "model.weights.h5").read_bytes()
    # Bad input is refused before anything is measured or written.
    with pytest.raises(ValueError, match="trains nothing.*--epochs 3"):
        train.main([*common, "--remeasure", "--epochs", "3"])
    with pytest.raises(ValueError, match="its class is 'BernoulliVAE'.*'DVAEPP'"):
        train.main(["digits_dvaepp", "--remeasure", "--export", str(folder)])

    # A remeasurement interrupted before its folder replaces the preset's
    # leaves the preset as it was.
    def interrupted(source, target):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(exporting.files, "replace_folder", interrupted)
        with pytest.raises(KeyboardInterrupt):
            train.main([*common, "--remeasure", "--eval-examples", "0"])
    assert zoo.get_metadata(folder) == before
    zoo.verify_manifest(folder)

    flags = ["--remeasure", "--eval-examples", "0", "--eval-samples", "7"]
    assert train.main([*common, *flags]) == 0
    after = zoo.get_metadata(folder)
    assert (folder / "model.weights.h5").read_bytes() == weights
    zoo.verify_manifest(folder)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    test = after["metrics"]["test_ll"]
    x_test = datasets.load("digits").x_test
    assert test["num_examples"] == len(x_test) and test["num_samples"] == 7
    assert test["examples"] == "the whole test set"
    # The recorded figure is these weights' log-likelihood on those rows
    # (an independent K = 7 estimate, other random draws).
    ll = zoo.load(folder).log_likelihood(x_test, num_samples=7)
    assert abs(float(np.mean(ll)) - test["mean"]) < 4 * test["standard_error"]
    (record,) = after["remeasured"]
    old = before["metrics"]["test_ll"]
    assert record["replaced"]["mean"] == old["mean"]
    assert record["replaced"]["num_samples"] == old["num_samples"] == 1000
    assert record["command"].endswith(
        "keras_dvae.zoo.train digits_bernoulli --remeasure --data-dir "
        "../shared/data --eval-samples 7"  # the recipe's rows: every test row
    )
    assert (folder / "train.sh").read_text().splitlines()[-2:] == [
        after["training"]["command"],
        record["command"],
    ]
    stages = after["training"]["stages"]
    assert after["training"] == {**before["training"], "stages": stages}
    assert [p["step"] for p in after["history"]] == [14]
    assert after["history"][0]["test_ll"] == test["mean"]
    assert after["ci_check"] == before["ci_check"]
    card = (folder / "README.md").read_text()
    # Titled with the recipe's name, not the folder's ("preset").
    assert card.startswith("# digits_bernoulli\n") and "**Remeasured** on" in card
    monkeypatch.setattr(exporting, "list_presets", lambda: [str(folder)])
    (row,) = [r for r in exporting.zoo_table().splitlines() if str(folder) in r]
    where = exporting._machine(record)  # e.g. "JAX, 2-core CPU"
    assert f"| K=7, {len(x_test)} (remeasured {record['date']}, {where}) |" in row


def test_a_selected_preset_records_its_weights_step_and_validation_curve(
    tmp_path, monkeypatch
):
    # A recipe with `selection` exports its best validation epoch's weights:
    # the preset's step is that epoch's, the stage records the trained steps
    # and the validation curve, and a continuation starts at that step.
    digits = datasets.load("digits")
    digits = dataclasses.replace(digits, x_valid=digits.x_test[:40])
    monkeypatch.setattr(train.training, "load_data", lambda *args: digits)
    recipe = {
        **recipes.RECIPES["digits_bernoulli"],
        "selection": {"every": 1, "examples": None, "num_samples": 5},
    }
    monkeypatch.setitem(recipes.RECIPES, "digits_bernoulli", recipe)
    real = selection.evaluation.log_likelihood_report
    calls = []

    def earliest_best(*args, **kwargs):
        # Scores that fall by 100 nats an evaluation: epoch 1 is the best.
        report = real(*args, **kwargs)
        calls.append(report.mean)
        return dataclasses.replace(report, mean=report.mean - 100.0 * len(calls))

    monkeypatch.setattr(selection.evaluation, "log_likelihood_report", earliest_best)
    folder = tmp_path / "preset"
    common = ["digits_bernoulli", "--verbose", "0", "--export", str(folder)]
    assert (
        train.main([*common, "--epochs", "3", "--output-dir", str(tmp_path / "r")]) == 0
    )
    metadata = zoo.get_metadata(folder)
    training = metadata["training"]
    assert training["iterations"] == 14 and training["trained_iterations"] == 42
    (stage,) = training["stages"]
    assert stage["steps"] == [0, 42]
    assert stage["selected"]["step"] == 14 and stage["selected"]["last_step"] == 42
    assert [step for step, _ in stage["validation"]] == [14, 28, 42]
    assert stage["selected"]["validation_ll"] == round(calls[0] - 100.0, 3)
    assert [p["step"] for p in metadata["history"]] == [14]
    # The weights are epoch 1's: its step counter is in them.
    assert float(keras.ops.convert_to_numpy(zoo.load(folder).training_step)) == 14
    assert exporting.continuation(folder)["initial_step"] == 14
    assert (folder / "curve.png").is_file()
    assert (
        "best validation evaluation of 42 trained" in (folder / "README.md").read_text()
    )
    monkeypatch.setattr(exporting, "list_presets", lambda: [str(folder)])
    (row,) = [r for r in exporting.zoo_table().splitlines() if str(folder) in r]
    assert "| 14 (0.0014 %), best validation of 42 |" in row
    # --no-selection keeps the last epoch, and the command says so.
    last = tmp_path / "last"
    flags = ["--epochs", "3", "--no-selection", "--output-dir", str(tmp_path / "r2")]
    assert (
        train.main(
            ["digits_bernoulli", "--verbose", "0", "--export", str(last), *flags]
        )
        == 0
    )
    training = zoo.get_metadata(last)["training"]
    assert training["iterations"] == 42 and "trained_iterations" not in training
    assert training["command"].endswith("--no-selection")
    assert "selected" not in training["stages"][0]
    # --evaluate-only --no-selection exports the selected run's last epoch;
    # a run that kept its last epoch anyway has no other to give.
    other = tmp_path / "last_of_selected"
    flags = ["--evaluate-only", "--no-selection", "--eval-samples", "5"]
    common = ["digits_bernoulli", "--verbose", "0", *flags]
    assert (
        train.main(
            [*common, "--output-dir", str(tmp_path / "r"), "--export", str(other)]
        )
        == 0
    )
    training = zoo.get_metadata(other)["training"]
    assert training["iterations"] == 42 and training["command"].endswith(
        "--no-selection"
    )
    assert float(keras.ops.convert_to_numpy(zoo.load(other).training_step)) == 42
    with pytest.raises(ValueError, match="did not.*last.weights.h5"):
        train.main(
            [*common, "--output-dir", str(tmp_path / "r2"), "--export", str(other)]
        )

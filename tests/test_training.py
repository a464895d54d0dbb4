"""The trainer on the embedded digits data: files, steps, schedules, resume."""

import json
import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_dvae import callbacks, datasets, models, recipes, schedules, training
from tests.helpers import BACKEND

TINY_RBM = {"num_chains": 10, "gibbs_sweeps": 2, "hidden_units": [16]}
TINY_BERNOULLI = {"num_latents": 4, "hidden_units": [8]}


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


@pytest.mark.end_to_end
def test_train_writes_a_run_folder_that_rebuilds(tmp_path, digits):
    out = str(tmp_path / "run")
    run = training.train(
        "digits_dvaepp",
        output_dir=out,
        epochs=2,
        data=digits,
        model_args=TINY_RBM,
        num_samples=10,
        examples=30,
    )
    # Whole batches: len(x_train) // batch_size steps an epoch.
    assert run.steps == 2 * (len(digits.x_train) // 100) == 28
    assert int(keras.ops.convert_to_numpy(run.model.optimizer.iterations)) == 28
    files = sorted(os.listdir(out))
    # Nothing half-written is left behind (temporary files start with ".").
    assert files == [
        "config.json",
        "history.csv",
        "metrics.json",
        "model.weights.h5",
        "samples.png",
    ]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["recipe"] == "digits_dvaepp" and metrics["steps"] == 28
    assert metrics["test_examples"] == 30
    # log Z by the model's own rule: exact for an RBM of 16 + 16 units.
    assert metrics["log_partition"]["method"] == "exact"
    assert metrics["test_log_likelihood"] > metrics["test_elbo_discrete"] - 1.0
    # The weights file holds the model's variables only (no Adam slots), so
    # an uncompiled rebuild loads it strictly.
    import h5py

    with h5py.File(os.path.join(out, "model.weights.h5")) as f:
        assert "optimizer" not in f
    model, saved = training.load_trained(out)
    assert saved["recipe"] == "digits_dvaepp"
    assert saved["training"]["epochs"] == 2
    assert getattr(model, "optimizer", None) is None
    for a, b in zip(model.weights, run.model.weights, strict=True):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
        )


def test_recipe_schedules_follow_the_recipe():
    steps = 1000
    made = training.recipe_schedules(recipes.get("digits_dvaepp"), steps)
    assert list(made) == ["kl_weight"]
    assert isinstance(made["kl_weight"], schedules.Linear)
    assert made["kl_weight"].get_config() == {"start": 0.0, "end": 1.0, "steps": 300}
    recipe = recipes.get("bernoulli_joint_1nl_mnist_static", kl_warmup=0)
    (beta,) = training.recipe_schedules(recipe, steps).values()
    assert beta.get_config() == {"start": 6.0, "end": 15.0, "steps": 1000}
    made = training.recipe_schedules(recipes.get("categorical_mnist"), steps)
    assert list(made) == ["kl_weight", "temperature"]
    assert isinstance(made["temperature"], schedules.Geometric)
    # Values along the run: the closed forms of the recipe's ramps.
    assert float(made["kl_weight"](150)) == pytest.approx(0.5)
    assert float(made["temperature"](500)) == pytest.approx(np.sqrt(0.5))


def test_schedules_run_inside_fit_and_resume_at_the_saved_step(digits):
    model = training.build_model(
        recipes.get("digits_bernoulli", model_args=TINY_BERNOULLI), digits
    )
    recipe = recipes.get("digits_bernoulli", beta_schedule=[5.0, 9.0])
    batches = training.training_batches(digits, 100, seed=0)
    steps = 3 * len(batches)
    training.compile_model(model, recipe, steps)
    model.fit(batches, epochs=1, verbose=0)
    done = len(batches)
    assert float(keras.ops.convert_to_numpy(model.training_step)) == done
    # The value assigned in the last step, at step index done − 1.
    beta = float(keras.ops.convert_to_numpy(model.encoder.latent.sharpness))
    assert beta == pytest.approx(5.0 + 4.0 * (done - 1) / steps, rel=1e-5)
    warm = float(keras.ops.convert_to_numpy(model.kl_weight))
    assert warm == pytest.approx(min(1.0, (done - 1) / int(0.3 * steps)), rel=1e-5)
    # A fresh model given these weights continues at the same step.
    copy = training.build_model(
        recipes.get("digits_bernoulli", model_args=TINY_BERNOULLI), digits
    )
    copy.set_weights(model.get_weights())
    training.compile_model(copy, recipe, steps)
    copy.fit(batches, epochs=1, verbose=0)
    assert float(keras.ops.convert_to_numpy(copy.training_step)) == 2 * done


def test_compile_uses_adam_with_the_recipes_schedule(digits):
    model = training.build_model(
        recipes.get("digits_bernoulli", model_args=TINY_BERNOULLI), digits
    )
    training.compile_model(model, "digits_bernoulli", steps=1000)
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.Adam)
    assert optimizer.epsilon == 1e-3
    schedule = optimizer._learning_rate
    reference = callbacks.reference_learning_rate(1000, 3e-3)
    assert schedule.get_config() == reference.get_config()
    training.compile_model(
        model, recipes.get("digits_bernoulli", schedule="constant"), steps=1000
    )
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == (
        pytest.approx(3e-3)
    )


def test_a_restarted_learning_rate_spans_the_run_alone(digits, tmp_path):
    # A continued run of 1,000 steps after 4,000: by default the rate is the
    # reference schedule's over 5,000 from step 4,000 (the 1/10 piece after
    # 75 %); restarted, it is the schedule over the 1,000 steps from 0 (base
    # rate from 2 % to 60 % of them). β and the KL warm-up stay cumulative.
    recipe = recipes.get("digits_bernoulli", beta_schedule=[5.0, 9.0])
    model = training.build_model(recipes.get(recipe, model_args=TINY_BERNOULLI), digits)

    def rates(**kwargs):
        training.compile_model(model, recipe, 1000, initial_step=4000, **kwargs)
        schedule = model.optimizer._learning_rate
        return [float(keras.ops.convert_to_numpy(schedule(t))) for t in (0, 100, 700)]

    assert rates() == pytest.approx([3e-4, 3e-4, 3e-4])
    assert rates(restart_learning_rate=True) == pytest.approx([3e-4, 3e-3, 1e-3])
    cumulative = training.recipe_schedules(recipe, 5000)
    assert set(model.schedules) == set(cumulative)
    for name, schedule in cumulative.items():
        assert model.schedules[name].get_config() == schedule.get_config()
    constant = recipes.get(recipe, schedule="constant")
    with pytest.raises(ValueError, match="schedule='constant'"):
        training.compile_model(model, constant, 10, 5, restart_learning_rate=True)
    # `train` refuses a restart without a start before it writes anything.
    run = tmp_path / "run"
    with pytest.raises(ValueError, match="initial_step=0"):
        training.train(
            recipe, output_dir=str(run), data=digits, restart_learning_rate=True
        )
    assert not run.exists()


def test_batches_are_whole_and_binarised_when_dynamic(digits):
    batches = training.training_batches(digits, 100, seed=0)
    assert len(batches) == len(digits.x_train) // 100
    assert all(len(batches[i][0]) == 100 for i in range(len(batches)))
    with pytest.raises(IndexError):
        batches[len(batches)]


@pytest.mark.end_to_end
def test_evaluate_on_a_subset_with_the_full_test_set(digits):
    recipe = recipes.get(
        "digits_bernoulli",
        model_args=TINY_BERNOULLI,
        eval_examples=20,
        eval_samples=5,
        full_test_samples=3,
    )
    model = training.build_model(recipe, digits)
    training.adapt(model, digits)
    metrics = training.evaluate(model, digits, recipe)
    rows = training.evaluation_rows(len(digits.x_test), 20)
    assert len(rows) == 20 and np.all(np.diff(rows) > 0)
    again = training.evaluation_rows(len(digits.x_test), 20)
    np.testing.assert_array_equal(rows, again)
    assert metrics["test_ll"]["num_examples"] == 20
    assert metrics["test_ll"]["log_partition"]["method"].startswith("none")
    full = metrics["test_ll_full"]
    assert full["num_examples"] == len(digits.x_test) and full["num_samples"] == 3
    assert np.isfinite(full["mean_on_subset"])


@pytest.mark.end_to_end
def test_an_interrupted_run_resumes_with_its_chains(tmp_path, digits):
    out = str(tmp_path / "run")
    kwargs = dict(
        output_dir=out,
        epochs=3,
        data=digits,
        model_args=TINY_RBM,
        evaluate_model=False,
    )
    saved = {}

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                time.sleep(0.5)  # training time the rerun must count
            if epoch == 1:
                if hasattr(self.model, "jax_state_sync"):
                    self.model.jax_state_sync()
                saved["chains"] = np.array(
                    keras.ops.convert_to_numpy(self.model.prior.chains_z1)
                )
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        training.train("digits_dvaepp", callbacks=[Interrupt()], **kwargs)
    assert os.path.isdir(os.path.join(out, "backup"))
    assert not os.path.exists(os.path.join(out, "model.weights.h5"))
    with open(os.path.join(out, "backup", "epoch-000002.json")) as f:
        first_seconds = json.load(f)["train_seconds"]
    assert first_seconds >= 0.5
    resumed = {}

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            resumed.setdefault("first_epoch", epoch)
            chains = keras.ops.convert_to_numpy(self.model.prior.chains_z1)
            resumed.setdefault("chains", np.array(chains))

    run = training.train("digits_dvaepp", callbacks=[Record()], **kwargs)
    # Epochs 0 and 1 finished before the interruption: the rerun starts at
    # epoch 2 from the chains saved at the end of epoch 1, and ends at the
    # step count of an uninterrupted run.
    assert resumed["first_epoch"] == 2
    np.testing.assert_array_equal(resumed["chains"], saved["chains"])
    assert int(keras.ops.convert_to_numpy(run.model.optimizer.iterations)) == 42
    # The training time sums both calls' (the stage's wall time in a preset).
    assert run.metrics["train_seconds"] > first_seconds
    assert not os.path.exists(os.path.join(out, "backup"))
    assert os.path.exists(os.path.join(out, "model.weights.h5"))


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: recipe=3$"):
        training.train(3)


_DATA_PARALLEL_RUN = """
import json, sys
import keras, numpy as np
from keras_dvae import training
if sys.argv[1] == "2":
    keras.distribution.set_distribution(keras.distribution.DataParallel())
run = training.train(
    "digits_dvaepp", output_dir=sys.argv[2], epochs=1, batch_size=50,
    evaluate_model=False, model_args=json.loads(sys.argv[3]),
)
print(json.dumps({"devices": len(keras.distribution.list_devices()),
                  "weights": [np.asarray(v).ravel()[:50].tolist()
                              for v in run.model.trainable_variables]}))
"""


@pytest.mark.skipif(BACKEND != "jax", reason="keras.distribution is JAX-only")
def test_data_parallel_matches_one_device(tmp_path):
    # `--data-parallel` (DataParallel over 2 virtual CPU devices) gives the
    # weights of one device: same batches, same seeds, gradients averaged.
    results = {}
    for devices in ("1", "2"):
        env = {
            **os.environ,
            "KERAS_BACKEND": "jax",
            # Keeps conftest's fast-compile flags.
            "XLA_FLAGS": os.environ.get("XLA_FLAGS", "")
            + f" --xla_force_host_platform_device_count={devices}",
        }
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                _DATA_PARALLEL_RUN,
                devices,
                str(tmp_path / devices),
                json.dumps(TINY_RBM),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            cwd=os.path.dirname(os.path.dirname(__file__)),
        )
        assert out.returncode == 0, out.stderr[-3000:]
        results[devices] = json.loads(out.stdout.strip().splitlines()[-1])
    assert results["1"]["devices"] == 1 and results["2"]["devices"] == 2
    for one, two in zip(results["1"]["weights"], results["2"]["weights"], strict=True):
        np.testing.assert_allclose(two, one, rtol=1e-3, atol=1e-4)


@pytest.mark.end_to_end
def test_time_budget_sets_the_epochs_from_a_probe(tmp_path, digits, monkeypatch):
    rates = []
    probe = training.epochs_for_budget

    def recording_probe(*args, **kwargs):
        epochs, rate = probe(*args, steps=30, skip=10, **kwargs)
        rates.append(rate)
        return epochs, rate

    monkeypatch.setattr(training, "epochs_for_budget", recording_probe)
    run = training.train(
        "digits_dvaepp",
        data=digits,
        output_dir=str(tmp_path),
        batch_size=100,
        time_budget=1.0,
        evaluate_model=False,
        model_args=TINY_RBM,
    )
    steps_per_epoch = len(digits.x_train) // 100
    assert rates and rates[0] > 0
    assert run.recipe["epochs"] == max(1, int(0.85 * 1.0 * rates[0] // steps_per_epoch))
    assert int(keras.ops.convert_to_numpy(run.model.optimizer.iterations)) == (
        run.recipe["epochs"] * steps_per_epoch
    )
    assert run.metrics["probed_steps_per_second"] == rates[0]
    # The probe's throw-away model leaves no trace in the run's layer names.
    assert run.model.name == "dvaepp"


@pytest.mark.backend_independent
def test_an_unfinished_run_of_another_configuration_is_not_resumed(tmp_path):
    # A backup left by another recipe/seed would resume the wrong run.
    (tmp_path / "backup").mkdir()
    (tmp_path / "config.json").write_text('{"recipe": "digits_dvaepp", "seed": 3}')
    with pytest.raises(ValueError, match="an unfinished run of another recipe"):
        training.train("digits_bernoulli", output_dir=str(tmp_path), epochs=1)


@pytest.mark.end_to_end
def test_a_run_stopped_before_its_evaluation_resumes_under_new_evaluation_keys(
    tmp_path, digits, monkeypatch
):
    # Evaluation keys say how a model is measured, not what was trained: a
    # run whose evaluation failed is rerun with other ones and resumes from
    # its backup, training no batch again. A training key still refuses it.
    def failing(*args, **kwargs):
        raise RuntimeError("evaluation failed")

    kwargs = dict(
        data=digits,
        output_dir=str(tmp_path),
        epochs=2,
        batch_size=500,
        model_args=TINY_BERNOULLI,
        examples=20,
    )
    with monkeypatch.context() as patch:
        patch.setattr(training, "evaluate", failing)
        with pytest.raises(RuntimeError, match="evaluation failed"):
            training.train("digits_bernoulli", eval_samples=5, **kwargs)
    assert (tmp_path / training.BACKUP_DIR).is_dir()
    with pytest.raises(ValueError, match="an unfinished run of another recipe"):
        training.train("digits_bernoulli", learning_rate=1e-4, **kwargs)
    batches = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append(batch)

    run = training.train(
        "digits_bernoulli",
        eval_samples=7,
        description="measured anew",
        paper={"setting": "none", "test_ll": -1.0},
        reverse_ais=False,
        ci_samples=3,
        callbacks=[Count()],
        **kwargs,
    )
    assert batches == []
    assert run.metrics["num_importance_samples"] == 7
    assert run.metrics["steps"] == 2 * (len(digits.x_train) // 500)
    assert not (tmp_path / training.BACKUP_DIR).exists()


def test_a_non_finite_epoch_stops_training_before_anything_records_it(tmp_path):
    # A PyDataset is checked through its first batch only: a NaN in a later
    # batch reaches the step. The guard stops at the epoch's end, before
    # the CSV history (after it in the list) writes the epoch.
    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            x = np.full((8, 16), 0.0 if i == 0 else np.nan, "float32")
            return (x,)

    model = models.BernoulliVAE(image_shape=(16,), num_latents=4, hidden_units=(8,))
    model.compile(optimizer="adam")
    history = str(tmp_path / "history.csv")
    with pytest.raises(FloatingPointError, match="non-finite in epoch 1"):
        model.fit(
            Batches(),
            epochs=2,
            verbose=0,
            callbacks=[training.NonFiniteGuard(), keras.callbacks.CSVLogger(history)],
            adapt=False,  # adapting would read the NaN batch and refuse it
        )
    assert not os.path.exists(history) or len(open(history).readlines()) <= 1


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("examples", 0),
        ("examples", -2),
        ("num_samples", 0),
        ("seed", -1),
        ("seed", 2**32),
        ("time_budget", 0),
        ("epochs", 0),
        ("batch_size", 0),
    ],
)
def test_train_refuses_bad_arguments_before_anything_runs(tmp_path, argument, value):
    # Evaluation arguments too: a bad one must not surface after the training.
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=rf"Received: {argument}={value}"):
        training.train("digits_bernoulli", output_dir=str(out), **{argument: value})
    assert not out.exists()


@pytest.mark.backend_independent
@pytest.mark.parametrize("examples", [0, -2, 1.5, "10"])
def test_evaluation_rows_refuses_a_bad_count(examples):
    # -2 used to drop the last two rows; 0 gave an empty evaluation.
    with pytest.raises(ValueError, match="Received: examples="):
        training.evaluation_rows(100, examples)

"""Crash safety of a training run: atomic writes, the two-generation backup,
and runs killed at many points of their write path that, rerun, finish as
an uninterrupted run would.

The kills use the test hook `keras_dvae.utils.files.crash_point`: in
process, a patched hook raises at a named write point; in a subprocess,
`$KERAS_DVAE_CRASH_AT` makes the process SIGKILL itself there (as
`kill -9` would). The randomised many-kills harness (`--runslow`) kills at
random times too; `KERAS_DVAE_CRASH_SECONDS` sets its length (default
120 s), `KERAS_DVAE_CRASH_SEED` its random choices (default 0) and
`KERAS_DVAE_CRASH_REPORT` a JSON file for its figures.
"""

import contextlib
import csv
import dataclasses
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_dvae import KerasDVAEWarning, datasets, training
from keras_dvae.utils import files, generations
from tests.helpers import BACKEND, to_numpy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_RBM = {"num_chains": 10, "gibbs_sweeps": 2, "hidden_units": [16]}
BATCH_SIZE = 250  # 5 steps an epoch on the 1,497 digits
EPOCHS = 3


def _dynamic_digits():
    """The digits as grey levels, binarised afresh every epoch, so that a
    resumed run must continue the binarisation as well as the order."""
    data = datasets.load("digits")
    return dataclasses.replace(
        data,
        x_train=0.2 + 0.6 * data.x_train,
        binary=False,
        dynamic_binarization=True,
    )


def _train(out, data, epochs=EPOCHS, **kwargs):
    return training.train(
        "digits_dvaepp",
        output_dir=str(out),
        epochs=epochs,
        data=data,
        batch_size=BATCH_SIZE,
        model_args=TINY_RBM,
        evaluate_model=False,
        **kwargs,
    )


def _weights(model):
    return [to_numpy(w) for w in model.weights]


def _max_difference(a, b):
    return max(
        float(np.max(np.abs(x.astype("float64") - y.astype("float64"))))
        for x, y in zip(a, b, strict=True)
    )


def _history_epochs(out):
    path = os.path.join(out, training.HISTORY_FILE)
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def _check_finished(out, epochs=EPOCHS, evaluated=False):
    """Asserts `out` holds a whole finished run of `epochs`; returns its
    model's weights."""
    names = sorted(os.listdir(out))
    expected = ["config.json", "history.csv", "metrics.json", "model.weights.h5"]
    if evaluated:
        expected.append("samples.png")
    # No backup, no temporary file or half-deleted folder left behind.
    assert names == expected, names
    with open(os.path.join(out, training.METRICS_FILE)) as f:
        metrics = json.load(f)
    steps_per_epoch = 1497 // BATCH_SIZE
    assert metrics["epochs"] == epochs
    assert metrics["steps"] == epochs * steps_per_epoch
    # Every epoch's row, once, in order.
    assert _history_epochs(out) == list(range(epochs))
    model, _ = training.load_trained(out)
    weights = _weights(model)
    assert all(np.all(np.isfinite(w)) for w in weights)
    return weights


class _Crash(BaseException):
    """What the patched hook raises (a BaseException, like a kill, escapes
    every `except Exception`)."""


def _crash_at(point):
    """A `crash_point` that raises at the `point`-th ("NAME@N") write point
    of that name."""
    name, _, count = point.partition("@")
    seen = [0]

    def hook(reached):
        if reached == name:
            seen[0] += 1
            if seen[0] == int(count or 1):
                raise _Crash(point)

    return hook


@pytest.fixture(scope="module")
def dynamic_digits():
    return _dynamic_digits()


# --- the helpers -----------------------------------------------------------


@pytest.mark.backend_independent
def test_atomic_writes_leave_the_old_file_or_the_new_one(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    files.write_json(target, {"a": 1})
    monkeypatch.setattr(files, "crash_point", _crash_at("write:metrics.json"))
    with pytest.raises(_Crash):
        files.write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 1}
    monkeypatch.setattr(files, "crash_point", _crash_at("wrote:metrics.json"))
    with pytest.raises(_Crash):
        files.write_json(target, {"a": 3})
    assert json.loads(target.read_text()) == {"a": 3}
    files.write_csv(tmp_path / "h.csv", [{"epoch": 0, "x": 1.5}, {"epoch": 1}])
    assert (tmp_path / "h.csv").read_text().splitlines() == [
        "epoch,x",
        "0,1.5",
        "1,NA",
    ]
    # What a kill leaves (a temporary file, a folder renamed for deletion)
    # is cleared; other dot files are not touched.
    (tmp_path / ".metrics.json.tmp-abc.json").write_text("{")
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "x").write_text("x")
    monkeypatch.setattr(files, "crash_point", _crash_at("remove:backup"))
    with pytest.raises(_Crash):
        files.remove_tree(tmp_path / "backup")
    assert not (tmp_path / "backup").exists()
    (tmp_path / ".keep").write_text("")
    removed = files.remove_temporaries(tmp_path)
    assert len(removed) == 2 and ".metrics.json.tmp-abc.json" in removed
    assert sorted(os.listdir(tmp_path)) == [".keep", "h.csv", "metrics.json"]


@pytest.mark.backend_independent
def test_replace_folder_leaves_the_old_folder_or_the_new_one(tmp_path, monkeypatch):
    def folder(name, text):
        path = tmp_path / name
        path.mkdir()
        (path / "metadata.json").write_text(text)
        return path

    target = folder("preset", "old")
    files.replace_folder(folder("new", "new"), target)
    assert (target / "metadata.json").read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == ["preset"]
    # Killed between the two renames: the old folder is kept aside as a
    # temporary (what `remove_temporaries` clears), the new one unmoved.
    monkeypatch.setattr(files, "crash_point", _crash_at("replace:preset"))
    with pytest.raises(_Crash):
        files.replace_folder(folder("newer", "newer"), target)
    assert not target.exists()
    (aside,) = [n for n in os.listdir(tmp_path) if n.startswith(".preset")]
    assert (tmp_path / aside / "metadata.json").read_text() == "new"
    assert (tmp_path / "newer" / "metadata.json").read_text() == "newer"
    assert files.remove_temporaries(tmp_path) == [aside]
    with pytest.raises(ValueError, match="`source` must be a folder"):
        files.replace_folder(tmp_path / "missing", target)


@pytest.mark.backend_independent
def test_the_crash_hook_refuses_a_malformed_spec(monkeypatch):
    monkeypatch.setenv(files.CRASH_ENV, "write:*@0")
    with pytest.raises(ValueError, match="Received: KERAS_DVAE_CRASH_AT='write:"):
        files.crash_point("write:x")
    monkeypatch.setenv(files.CRASH_ENV, "write:other@2")
    files.crash_point("write:x")  # does not match: nothing happens


@pytest.mark.backend_independent
def test_generations_keep_two_and_fall_back_past_a_damaged_one(tmp_path):
    store = generations.Generations(tmp_path, keep=2)

    def text(value):
        return {".txt": lambda path: pathlib.Path(path).write_text(value)}

    for n in (1, 2, 3):
        store.save(n, text(f"state {n}"), {"epoch": n})
    assert store.committed() == [2, 3]
    assert sorted(os.listdir(tmp_path)) == [
        "epoch-000002.json",
        "epoch-000002.txt",
        "epoch-000003.json",
        "epoch-000003.txt",
    ]
    number, manifest, paths = store.newest()
    assert (number, manifest["epoch"]) == (3, 3)
    # A truncated newest file: the previous generation, with a warning.
    with open(store.path(3, ".txt"), "w") as f:
        f.write("stat")
    with pytest.warns(KerasDVAEWarning, match="epoch-000003: epoch-000003.txt"):
        number, manifest, paths = store.newest()
    assert number == 2 and open(paths[".txt"]).read() == "state 2"
    # A garbled manifest too; with both gone, nothing (start afresh).
    with open(store.path(2, ".json"), "w") as f:
        f.write('{"files": ')
    with pytest.warns(KerasDVAEWarning, match="manifest is unreadable"):
        assert store.newest() is None
    # Files of an uncommitted generation (a kill before its manifest) are
    # not a generation, and the next save removes them with the old ones.
    pathlib.Path(store.path(5, ".txt")).write_text("half")
    store.save(4, text("state 4"))
    assert store.committed() == [3, 4]
    assert not os.path.exists(store.path(2, ".txt"))
    assert not os.path.exists(store.path(5, ".txt"))
    with pytest.raises(ValueError, match="Received: keep=0"):
        generations.Generations(tmp_path, keep=0)
    with pytest.raises(ValueError, match="Received: number=-1"):
        store.save(-1, text("x"))


# --- the trainer, crashed in process at named write points ------------------

# In order, each resumed from the last: inside the backup's weights write;
# between a generation's weights and its manifest; after the manifest,
# before the history row (then the newest generation is truncated); before
# the final weights; between the final weights and the metrics; after the
# metrics, with the backup renamed away but not deleted.
CRASH_POINTS = (
    "write:epoch-000002.weights.h5",
    "write:epoch-000002.json",
    "write:history.csv@2",
    "write:model.weights.h5",
    "write:metrics.json",
    "remove:backup",
)


def test_crashes_at_every_write_point_resume_to_the_uninterrupted_run(
    tmp_path, dynamic_digits, monkeypatch
):
    reference = _weights(_train(tmp_path / "reference", dynamic_digits).model)
    with open(tmp_path / "reference" / training.HISTORY_FILE) as f:
        reference_history = f.read()
    out = tmp_path / "run"
    backup = out / training.BACKUP_DIR
    first_epochs = []

    class First(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            first_epochs.append(None)

        def on_epoch_begin(self, epoch, logs=None):
            if first_epochs[-1] is None:
                first_epochs[-1] = epoch

    for point in CRASH_POINTS:
        monkeypatch.setattr(files, "crash_point", _crash_at(point))
        damaged = point == "write:model.weights.h5"
        with (
            pytest.warns(KerasDVAEWarning, match="epoch-000002.weights.h5 does not")
            if damaged
            else contextlib.nullcontext()
        ):
            with pytest.raises(_Crash):
                _train(out, dynamic_digits, callbacks=[First()])
        # The history never runs ahead of the newest whole backup.
        newest = generations.Generations(backup).newest()
        done = newest[0] if newest else EPOCHS
        assert _history_epochs(out) in (list(range(done)), list(range(done - 1)))
        if point == "write:history.csv@2":
            # Truncated as an in-place overwrite killed mid-write would leave
            # it (what keras.callbacks.BackupAndRestore did): h5py cannot
            # open it. The next run warns and resumes from generation 1.
            newest = backup / "epoch-000002.weights.h5"
            newest.write_bytes(newest.read_bytes()[:2000])
    # Each run started after the last whole generation: epoch 1 twice
    # (its generation uncommitted, then damaged); none after the training.
    assert first_epochs == [0, 1, 1, 1, None, None]
    monkeypatch.setattr(files, "crash_point", lambda name: None)
    # The last crash came after the metrics: the run is finished, and the
    # rerun returns it (and clears the backup's renamed leftover).
    assert _train(out, dynamic_digits).reused
    weights = _check_finished(out)
    # Same batches, binarisation, random draws and optimizer state as the
    # uninterrupted run: the same weights, up to reduction order (exactly
    # on JAX and torch).
    assert _max_difference(weights, reference) <= 1e-5
    with open(out / training.HISTORY_FILE) as f:
        history = f.read()
    if BACKEND in ("jax", "torch"):
        assert _max_difference(weights, reference) == 0.0
        assert history == reference_history


# --- real kills: a subprocess SIGKILLed at named write points ---------------

_CHILD = """
import dataclasses, json, sys
print("ready", flush=True)
from keras_dvae import datasets, training
out, epochs, evaluate = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
data = datasets.load("digits")
data = dataclasses.replace(
    data, x_train=0.2 + 0.6 * data.x_train, binary=False,
    dynamic_binarization=True,
)
training.train(
    "digits_dvaepp", output_dir=out, epochs=epochs, data=data,
    batch_size=int(sys.argv[4]), model_args=json.loads(sys.argv[5]),
    evaluate_model=evaluate, examples=5, num_samples=2,
)
"""


def _command(out, epochs=EPOCHS, evaluate=False):
    return [
        sys.executable,
        "-c",
        _CHILD,
        str(out),
        str(epochs),
        "1" if evaluate else "0",
        str(BATCH_SIZE),
        json.dumps(TINY_RBM),
    ]


def _environment(crash_at=None):
    env = {**os.environ, "KERAS_BACKEND": BACKEND, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop(files.CRASH_ENV, None)
    if crash_at:
        env[files.CRASH_ENV] = crash_at
    return env


def _launch(out, crash_at=None, evaluate=False, timeout=300):
    return subprocess.run(
        _command(out, evaluate=evaluate),
        env=_environment(crash_at),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


@pytest.mark.end_to_end
def test_sigkilled_inside_the_backup_write_then_rerun_finishes(tmp_path):
    # SIGKILL inside the backup's weights write of epoch 2 (the temporary
    # file complete, not yet renamed): what left a truncated
    # `latest.weights.h5` with keras.callbacks.BackupAndRestore. The rerun
    # resumes from epoch 1's generation and finishes the whole run. (Every
    # other write point: in process, above; random kills: --runslow.)
    out = tmp_path / "run"
    result = _launch(out, crash_at="write:epoch-000002.weights.h5")
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    backup = sorted(os.listdir(out / training.BACKUP_DIR))
    assert backup[0].startswith(".epoch-000002.weights.h5" + files.TEMP_MARK)
    assert backup[1:] == ["epoch-000001.json", "epoch-000001.weights.h5"]
    result = _launch(out)
    assert result.returncode == 0, result.stderr[-3000:]
    _check_finished(out)


# --- the randomised harness ---------------------------------------------------

# Write points to kill at (with an occurrence drawn per kill): the backup's
# weights (inside the write and after it), its manifest (the commit), the
# history, and every final file and the backup's removal.
_WRITE_POINTS = (
    "write:epoch-*.weights.h5",
    "wrote:epoch-*.weights.h5",
    "write:epoch-*.json",
    "wrote:epoch-*.json",
    "write:history.csv",
    "write:config.json",
    "write:model.weights.h5",
    "write:samples.png",
    "write:metrics.json",
    "wrote:metrics.json",
    "remove:backup",
)


def _random_kill_launch(out, rng, kind, duration, evaluate):
    """One launch of the child, killed by `kind`: "timed" (SIGKILL after a
    random delay after it starts) or "write" (at a random write point).
    Returns (return code, the write point or None, stderr)."""
    crash_at = None
    if kind == "write":
        point = rng.choice(
            [p for p in _WRITE_POINTS if evaluate or p != "write:samples.png"]
        )
        # Points reached once an epoch: one of the next two epochs.
        crash_at = f"{point}@{rng.randint(1, 2)}" if "epoch-" in point else point
    process = subprocess.Popen(
        _command(out, evaluate=evaluate),
        env=_environment(crash_at),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    if kind == "timed":
        process.stdout.readline()  # "ready": Python is up, imports start
        time.sleep(rng.uniform(0.0, duration))
        process.send_signal(signal.SIGKILL)
    _, stderr = process.communicate(timeout=600)
    return process.returncode, crash_at, stderr


@pytest.mark.slow
def test_random_sigkills_never_leave_an_unrecoverable_run(tmp_path):
    # Runs of 3 epochs, each killed 1-4 times, at random times or at random
    # write points, then rerun to the end; each must finish whole, with
    # the weights of an uninterrupted run.
    seconds = float(os.environ.get("KERAS_DVAE_CRASH_SECONDS", "120"))
    rng = random.Random(int(os.environ.get("KERAS_DVAE_CRASH_SEED", "0")))
    references, durations = {}, {}
    for evaluate in (False, True):
        start = time.perf_counter()
        result = _launch(tmp_path / f"reference{int(evaluate)}", evaluate=evaluate)
        assert result.returncode == 0, result.stderr[-3000:]
        durations[evaluate] = time.perf_counter() - start
        references[evaluate] = _check_finished(
            tmp_path / f"reference{int(evaluate)}", evaluated=evaluate
        )
    figures = {
        "backend": BACKEND,
        "seconds": seconds,
        "kills": {"timed": 0, "write": 0},
        "write_kills": {},
        "launches": 0,
        "launches_not_killed": 0,
        "runs": 0,
        "unrecoverable": [],
        "max_weight_difference": 0.0,
    }
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        figures["runs"] += 1
        out = tmp_path / f"run{figures['runs']}"
        evaluate = rng.random() < 0.3
        failure, finished = None, False
        for _ in range(rng.randint(1, 4)):
            kind = rng.choice(("timed", "write"))
            code, point, stderr = _random_kill_launch(
                out, rng, kind, 0.8 * durations[evaluate], evaluate
            )
            figures["launches"] += 1
            if code == -signal.SIGKILL:
                figures["kills"][kind] += 1
                if point:
                    count = figures["write_kills"].get(point, 0)
                    figures["write_kills"][point] = count + 1
                continue
            figures["launches_not_killed"] += 1
            if code == 0:  # it finished before the kill came
                finished = True
            else:
                failure = f"exit {code} after the kills: {stderr[-2000:]}"
            break
        if failure is None and not finished:
            result = _launch(out, evaluate=evaluate)
            figures["launches"] += 1
            if result.returncode:
                failure = f"rerun exit {result.returncode}: {result.stderr[-2000:]}"
        if failure is None:
            try:
                weights = _check_finished(out, evaluated=evaluate)
                difference = _max_difference(weights, references[evaluate])
                assert difference <= 1e-5, f"weights differ by {difference}"
                figures["max_weight_difference"] = max(
                    figures["max_weight_difference"], difference
                )
            except AssertionError as error:
                failure = f"check failed: {error}"
        if failure is not None:
            figures["unrecoverable"].append({"run": out.name, "failure": failure})
    print(json.dumps(figures, indent=2))
    if os.environ.get("KERAS_DVAE_CRASH_REPORT"):
        files.write_json(os.environ["KERAS_DVAE_CRASH_REPORT"], figures)
    assert sum(figures["kills"].values()) > 0
    assert not figures["unrecoverable"], figures["unrecoverable"]

"""Shared pytest configuration: backend selection, slow tests, seeds, and a
summary of the skips at the end of the run."""

import collections
import os
import shutil
import tempfile

import keras
import numpy as np
import pytest

from tests.helpers import DATA_DIR, DATA_ENV_VAR, is_data_skip

# JAX compiles every model's train/predict step and every small eager
# program again in each test; a persistent compilation cache, keyed by the
# program's HLO, lets identical programs of later tests reuse the first
# compilation (about 40 % of the JAX run). One fresh folder per run (and
# its subprocesses), removed at the end; KERAS_DVAE_JAX_CACHE=0 turns it off.
BACKEND = keras.backend.backend()
_JAX_CACHE = None
if BACKEND == "jax":
    # Tests run tiny programs once: XLA's CPU code generation at -O0 without
    # its expensive LLVM passes compiles about a third faster (the conv
    # model's train step 18.8 → 11.5 s); numerics are unchanged (fast-math
    # stays off). Flags the user set win.
    os.environ.setdefault(
        "XLA_FLAGS",
        "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true",
    )
if BACKEND == "jax" and os.environ.get("KERAS_DVAE_JAX_CACHE", "1") != "0":
    import jax

    if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
        _JAX_CACHE = tempfile.mkdtemp(suffix="-jax-cache")
        os.environ["JAX_COMPILATION_CACHE_DIR"] = _JAX_CACHE
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    cache = os.environ["JAX_COMPILATION_CACHE_DIR"]
    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)

# Tests marked `backend_independent` exercise no Keras op (NumPy loaders,
# metrics, packaging): they run on this backend only (by default the
# current one; scripts/run_tests.sh picks torch, the quickest to test).
ONCE_BACKEND = os.environ.get("KERAS_DVAE_ONCE_BACKEND") or BACKEND
# Doctests of modules that are NumPy only, marked by path.
BACKEND_INDEPENDENT_DOCTESTS = ("keras_dvae/datasets/",)
# Whole-pipeline runs (trainer, command lines, zoo retraining and
# re-measurement, applications) run once too: what is backend-specific in
# them (fit, save/load, log Z, each model's numerics) has unit tests that
# run on every backend, so once is enough for the plumbing.
END_TO_END_DOCTESTS = ("keras_dvae/training.py",)


def pytest_addoption(parser):
    parser.addoption(
        "--runslow", action="store_true", default=False, help="run slow tests"
    )


def _end_to_end(item):
    path = item.nodeid.split("::")[0]
    return "end_to_end" in item.keywords or (
        isinstance(item, pytest.DoctestItem) and path in END_TO_END_DOCTESTS
    )


def _backend_independent(item):
    marker = item.get_closest_marker("backend_independent")
    if marker is not None:
        # `@pytest.mark.backend_independent(False)` opts a test out of its
        # module's `pytestmark`.
        return bool(marker.args[0]) if marker.args else True
    path = item.nodeid.split("::")[0]
    return isinstance(item, pytest.DoctestItem) and path.startswith(
        BACKEND_INDEPENDENT_DOCTESTS
    )


def pytest_configure(config):
    # A data folder named on purpose must exist: its tests would otherwise
    # all skip and the run could look green without having tested them.
    if os.environ.get(DATA_ENV_VAR) and not DATA_DIR.is_dir():
        raise pytest.UsageError(
            f"${DATA_ENV_VAR} names {DATA_DIR}, which does not exist: fix the "
            f"path, or unset {DATA_ENV_VAR} to use ../shared/data (its tests "
            "then skip, counted, if it is missing)."
        )


def pytest_collection_modifyitems(config, items):
    run_slow = config.getoption("--runslow") or os.environ.get("KERAS_DVAE_SLOW")
    skip_slow = pytest.mark.skip(reason="slow: pass --runslow to run")
    skip_once = pytest.mark.skip(
        reason=f"backend-independent: runs once, on {ONCE_BACKEND}"
    )
    # The first skip marker added gives the reason: the backend first, since
    # --runslow cannot run a test on a backend that never runs it.
    skip_end_to_end = pytest.mark.skip(
        reason=f"end-to-end: runs once, on {ONCE_BACKEND}"
    )
    for item in items:
        if BACKEND != ONCE_BACKEND and _backend_independent(item):
            item.add_marker(skip_once)
        elif BACKEND != ONCE_BACKEND and _end_to_end(item):
            item.add_marker(skip_end_to_end)
        if "tensorflow_only" in item.keywords and BACKEND != "tensorflow":
            item.add_marker(pytest.mark.skip(reason="needs the TensorFlow backend"))
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)


def pytest_sessionfinish(session, exitstatus):
    if _JAX_CACHE:
        shutil.rmtree(_JAX_CACHE, ignore_errors=True)


def pytest_report_header(config):
    found = "found" if DATA_DIR.is_dir() else "MISSING"
    return [
        f"keras backend: {BACKEND} (backend-independent and end-to-end tests "
        f"run on {ONCE_BACKEND})",
        f"benchmark data: {DATA_DIR} ({found}; ${DATA_ENV_VAR} overrides)",
    ]


def _skip_reason(report):
    if isinstance(report.longrepr, tuple):
        reason = report.longrepr[2]
    else:
        reason = str(report.longrepr)
    return reason.removeprefix("Skipped: ").strip()


def _one_line(reason):
    """Some reasons quote a whole error message: its first 160 characters."""
    line = (reason.splitlines() or [""])[0]
    return line if len(line) <= 160 else line[:159] + "…"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """How many tests skipped and why; one loud line for missing data."""
    reports = terminalreporter.stats.get("skipped", [])
    if not reports:
        return
    reasons = [_skip_reason(r) for r in reports]
    write = terminalreporter.write_line
    terminalreporter.section(f"{len(reports)} skipped on {BACKEND}", sep="-")
    for reason, count in collections.Counter(map(_one_line, reasons)).most_common():
        write(f"{count:5d}  {reason}")
    data = sum(map(is_data_skip, reasons))
    if data:
        write(
            f"!!! BENCHMARK DATA MISSING: {data} test(s) skipped because files are "
            f"not in {DATA_DIR} (set ${DATA_ENV_VAR} or check out shared/data); "
            f"this run does not test the datasets or the presets' metrics !!!",
            red=True,
            bold=True,
        )


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    np.random.seed(1234)
    yield
    # free_memory=False skips a gc.collect() that costs ~0.5 s a test.
    keras.backend.clear_session(free_memory=False)


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))

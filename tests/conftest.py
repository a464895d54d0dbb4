"""Shared pytest configuration: backend selection, slow tests, seeds."""

import os

import keras
import numpy as np
import pytest

BACKEND = keras.backend.backend()


def pytest_addoption(parser):
    parser.addoption(
        "--runslow", action="store_true", default=False, help="run slow tests"
    )


def pytest_collection_modifyitems(config, items):
    run_slow = config.getoption("--runslow") or os.environ.get("KERAS_DVAE_SLOW")
    skip_slow = pytest.mark.skip(reason="slow: pass --runslow to run")
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)
        if "tensorflow_only" in item.keywords and BACKEND != "tensorflow":
            item.add_marker(pytest.mark.skip(reason="needs the TensorFlow backend"))


def pytest_report_header(config):
    return f"keras backend: {BACKEND}"


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    np.random.seed(1234)
    yield
    # free_memory=False skips a gc.collect() that costs ~0.5 s a test.
    keras.backend.clear_session(free_memory=False)


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))

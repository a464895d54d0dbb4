"""`benchmarks.paired_presets`: a preset at a git revision, and the paired
standard error."""

import pathlib
import subprocess

import numpy as np
import pytest

from benchmarks import paired_presets
from keras_dvae import zoo

pytestmark = pytest.mark.backend_independent

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _git_head():
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")


def test_paired_difference_closed_form():
    # b − a = (1, 3): mean 2, sample sd √2, s.e. √2 / √2 = 1.
    assert paired_presets.paired_difference([0.0, 5.0], [1.0, 8.0]) == pytest.approx(
        (2.0, 1.0)
    )
    # A constant shift has no paired error, however spread the images are.
    a = np.random.default_rng(0).normal(-90.0, 20.0, size=100)
    assert paired_presets.paired_difference(a, a + 0.25) == pytest.approx(
        (0.25, 0.0), abs=1e-9
    )


def test_materialise_reads_the_committed_preset(tmp_path):
    head = _git_head()
    name = "dvaepp_1nl_mnist_static"
    folder = paired_presets.materialise(f"{name}@{head}", tmp_path)
    committed = subprocess.run(
        ["git", "show", f"{head}:zoo/{name}/manifest.json"],
        check=True,
        capture_output=True,
        cwd=ROOT,
    ).stdout
    assert (folder / "manifest.json").read_bytes() == committed
    # The folder is a whole preset: its manifest checks, and it loads.
    zoo.verify_manifest(folder)
    assert zoo.load(str(folder), load_weights=False) is not None


def test_materialise_names_a_missing_preset(tmp_path):
    head = _git_head()
    with pytest.raises(ValueError, match="no_such_preset@"):
        paired_presets.materialise(f"no_such_preset@{head}", tmp_path)

"""`benchmarks.paired_presets`: a preset at a git revision, and the paired
standard error."""

import json
import pathlib
import subprocess

import numpy as np
import pytest

from benchmarks import paired_presets
from keras_dvae import zoo
from tests.helpers import need_data

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


def test_every_pair_of_several_presets_from_one_evaluation_each(tmp_path, capsys):
    data_dir = need_data("mnist_static.npz")
    specs = [
        "dvaepp_1nl_mnist_static",
        "dvae_1nl_mnist_static",
        "bernoulli_joint_1nl_mnist_static",
    ]
    saved = tmp_path / "figures.npz"
    flags = ["--examples", "6", "--samples", "3", "--save", str(saved)]
    paired_presets.main([*specs, "--data-dir", str(data_dir), *flags])
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["preset"] for line in lines[:3]] == specs
    stored = np.load(saved)
    assert list(stored["specs"]) == specs and len(stored["rows"]) == 6
    figures = {s: stored[f"preset_{i}"] for i, s in enumerate(specs)}
    for line in lines[:3]:
        printed = json.loads(line)
        assert printed["test_ll"] == pytest.approx(
            figures[printed["preset"]].mean(), abs=1e-3
        )
    # Every pair, later minus earlier, from the stored per-image figures.
    expected = [
        f"{b} − {a}: {m:+.3f} ± {e:.3f} nats"
        for a, b, m, e in paired_presets.all_pairs(figures)
    ]
    assert [line.split(" (")[0] for line in lines[3:]] == expected
    assert len(expected) == 3


@pytest.mark.parametrize(
    "presets", [["dvae_1nl_mnist_static"], ["dvae_1nl_mnist_static"] * 2]
)
def test_fewer_than_two_different_presets_are_refused(presets):
    with pytest.raises(ValueError, match="two or more different presets"):
        paired_presets.main(presets)


def test_the_validation_split_scores_the_selection_rows(monkeypatch, capsys):
    # `--split valid` scores the validation rows a recipe's `selection`
    # draws (`training.evaluation_rows`), and a dataset without a validation
    # split is refused, naming the flag.
    import dataclasses

    from keras_dvae import evaluation, training

    data_dir = need_data("mnist_static.npz")
    seen = []
    real_report = evaluation.log_likelihood_report

    def recording_report(model, x, **kwargs):
        seen.append(np.array(x))
        return real_report(model, x, **kwargs)

    monkeypatch.setattr(evaluation, "log_likelihood_report", recording_report)
    specs = ["dvae_1nl_mnist_static", "dvaepp_1nl_mnist_static"]
    flags = ["--split", "valid", "--examples", "5", "--samples", "3"]
    paired_presets.main([*specs, "--data-dir", str(data_dir), *flags])
    data = training.load_data(specs[0], str(data_dir))
    expected = data.x_valid[training.evaluation_rows(len(data.x_valid), 5)]
    assert len(seen) == 2
    for x in seen:
        np.testing.assert_array_equal(x, expected)
    lines = capsys.readouterr().out.splitlines()
    assert "valid_ll" in json.loads(lines[0])
    assert "over 5 valid images" in lines[-1]
    real_load = training.load_data
    monkeypatch.setattr(
        training,
        "load_data",
        lambda *a: dataclasses.replace(real_load(*a), x_valid=None),
    )
    with pytest.raises(ValueError, match="no validation split.*--split valid"):
        paired_presets.main([*specs, "--data-dir", str(data_dir), *flags])

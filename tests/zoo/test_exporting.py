"""What an export writes besides the model: the curve, the card's example,
the `ci_check`'s rows, the legacy rows in a history, and the zoo table."""

import json
import pathlib
import re
import types

import numpy as np
import pytest
from PIL import Image

from keras_dvae import recipes, training, zoo
from keras_dvae.zoo import exporting

pytestmark = pytest.mark.backend_independent

PRESETS = zoo.list_presets()


def _metadata_only(tmp_path, name):
    """A folder with a copy of the preset's metadata.json (what the curve and
    the card are drawn from)."""
    folder = tmp_path / name
    folder.mkdir()
    metadata = zoo.get_metadata(name)
    (folder / "metadata.json").write_text(json.dumps(metadata))
    return folder, metadata


@pytest.mark.parametrize("name", PRESETS)
def test_curve_and_card_of_every_preset(tmp_path, name):
    folder, metadata = _metadata_only(tmp_path, name)
    path = exporting.write_curve(folder)
    with Image.open(path) as image:
        assert image.size == (800, 500) and image.format == "PNG"
    points = exporting.curve_points(metadata, name)
    assert points and points[-1]["step"] == metadata["training"]["iterations"]
    assert points[-1]["standard_error"] > 0
    card = exporting.write_model_card(folder).read_text()
    assert "(curve.png)" in card
    # The example measures the headline metric on the metrics' rows, never
    # on the first rows of a test file sorted by label.
    (example,) = re.findall(r"```python\n(.*?)```", card, re.S)
    assert "data.x_test[:" not in example
    headline = exporting._headline(metadata)
    assert f"num_samples={headline['num_samples']}" in example
    if headline.get("examples") != "the whole test set":
        assert f"permutation(len(data.x_test))[:{headline['num_examples']}]" in example


@pytest.mark.parametrize("name", PRESETS)
def test_committed_cards_do_not_evaluate_the_first_rows(name):
    card = (zoo.preset_dir(name) / "README.md").read_text()
    assert "data.x_test[:" not in card


def test_curve_marks_points_measured_on_other_rows(tmp_path):
    metadata = {
        "dataset": "mnist_static",
        "paper": {"test_ll": -84.27},
        "metrics": {"test_ll": {"mean": -87.8, "standard_error": 1.0}},
        "training": {
            "iterations": 140,
            "stages": [
                {
                    "steps": [0, 60],
                    "original_command": "python -m "
                    "benchmarks.reproduce_dvaepp --model dvaepp_2nl",
                },
                {"steps": [60, 140], "date": "2026-11-30"},
            ],
        },
        "history": [
            {"step": 60, "test_ll": -89.0, "num_samples": 4000, "num_examples": 500},
            {"step": 140, "test_ll": -87.8, "num_samples": 4000, "num_examples": 500},
        ],
    }
    first, last = exporting.curve_points(metadata)
    assert first["examples"] == exporting.CHOICE_ROWS
    assert first["standard_error"] is None and last["standard_error"] == 1.0
    # A continued export keeps the note in the history it copies.
    _, history = exporting._stages(metadata, "x")
    assert history[0]["examples"] == exporting.CHOICE_ROWS
    assert "examples" not in history[1]
    folder = tmp_path / "legacy"
    folder.mkdir()
    (folder / "metadata.json").write_text(json.dumps(metadata))
    assert exporting.write_curve(folder).is_file()
    card = exporting.model_card("legacy", metadata)
    assert "60 → -89.00 (rng.choice rows)" in card


def test_a_card_names_the_machine_of_every_stage():
    # A preset trained 21,000 steps on a GPU, then 13,000 on the CPU: its
    # card once gave the whole 34,000 steps the last stage's 2-core CPU.
    gpu = "x86_64, 16 cores, NVIDIA H200, devices ['gpu:0']"
    cpu = "x86_64, 2 cores, devices ['cpu:0']"
    stages = [
        {"steps": [0, 21_000], "train_seconds": 300, "backend": "jax", "hardware": gpu},
        {
            "steps": [21_000, 34_000],
            "train_seconds": 2852,
            "backend": "jax",
            "hardware": cpu,
        },
    ]
    training = {
        "iterations": 34_000,
        "epochs": 68,
        "train_seconds": 3152,
        "backend": "jax",
        "hardware": cpu,
        "stages": stages,
    }
    card = exporting.model_card(
        "two_machines", {"dataset": "mnist", "training": training}
    )
    (line,) = [x for x in card.splitlines() if x.startswith("- **Training:**")]
    assert line == (
        "- **Training:** 34,000 iterations (68 epochs) in 53 min over 2 stages: "
        "0 → 21,000 on JAX, NVIDIA H200 (5 min); "
        "21,000 → 34,000 on JAX, 2-core CPU (48 min)."
    )
    # One stage: the machine it recorded, in full.
    one = {**training, "stages": stages[1:], "iterations": 13_000, "epochs": 26}
    one_card = exporting.model_card("one", {"dataset": "mnist", "training": one})
    assert f"on {cpu}, jax." in one_card


def test_ci_check_draws_the_metrics_rows():
    # A test file sorted by label: the first rows are all one class.
    x_test = np.repeat(np.eye(4, dtype="float32"), 25, axis=0)
    data = types.SimpleNamespace(
        x_test=x_test, image_shape=(4,), binary=True, dynamic_binarization=False
    )
    seen = []

    class Model:
        prior = types.SimpleNamespace(has_log_partition=False)

        def log_likelihood(self, x, num_samples):
            seen.append(np.asarray(x))
            return -np.ones(len(x))

    recipe = {"dataset": "toy", "ci_examples": 20, "ci_samples": 3}
    check = exporting.ci_check(Model(), recipe, data)
    rows = training.evaluation_rows(len(x_test), 20)
    np.testing.assert_array_equal(seen[0], x_test[rows])
    assert len(np.unique(seen[0].argmax(axis=1))) > 1
    assert check["rows"] == "permutation" and check["num_examples"] == 20
    assert exporting.PERMUTATION_ROWS in check["examples"]
    assert "20 random test images" in exporting._ci_rows_text(check)
    legacy = {"dataset": "mnist_static", "num_examples": 100}
    assert "all one class" in exporting._ci_rows_text(legacy)


def test_paper_share_never_writes_an_exponent():
    # 2 significant figures below 10 %, whole percents from there: the
    # 1,000,000-step preset once read "1e+02 %".
    assert exporting.paper_share(4_100) == "0.41"
    assert exporting.paper_share(21_000) == "2.1"
    assert exporting.paper_share(724_500) == "72"
    assert exporting.paper_share(999_600) == "100"
    assert exporting.paper_share(10**6) == "100"
    for steps in range(0, 2 * exporting.PAPER_STEPS + 1, 500):
        text = exporting.paper_share(steps)
        assert "e" not in text
        assert abs(float(text) - steps / 10**4) <= max(0.5, 0.05 * steps / 10**4)
    assert "e+" not in exporting.zoo_table()


def test_the_zoo_readme_shows_the_table_the_metadata_prints():
    # The README's results table is `zoo.train --table`'s output, so a
    # replaced preset whose README was not redone fails here.
    readme = (pathlib.Path(__file__).parents[2] / "zoo" / "README.md").read_text()
    assert exporting.zoo_table().strip() in readme, (
        "zoo/README.md's results table differs from the presets' metadata: "
        "paste `python -m keras_dvae.zoo.train --table` over it"
    )


def test_zoo_table_columns():
    lines = exporting.zoo_table().splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == [
        "preset",
        "dataset",
        "paper",
        "ours",
        "K, test examples",
        "steps so far / paper's 10⁶",
        "hardware",
        "date",
    ]
    # Then the recipes with a published figure and no weights yet.
    pending = [
        name
        for name in recipes.list_recipes()
        if recipes.get(name)["paper"] and name not in PRESETS
    ]
    assert "dvaepp_mnist" in pending
    assert len(lines) == 2 + len(PRESETS) + len(pending)
    for name, line in zip(pending, lines[2 + len(PRESETS) :], strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[0] == f"`{name}`" and cells[3] == "not trained yet (a recipe)"
        paper = recipes.get(name)["paper"]
        figure = paper.get("test_ll", f"{paper.get('bits_per_dim')} bits/dim")
        assert cells[2] == str(figure)
    for name, line in zip(PRESETS, lines[2:], strict=False):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert len(cells) == 8 and cells[0] == f"`{name}`"
        iterations = zoo.get_metadata(name)["training"]["iterations"]
        assert cells[5].startswith(f"{iterations:,} (")
        assert re.fullmatch(r"[\w-]+, .+, [\d +]+ min", cells[6].split(";")[0])


def test_a_legacy_run_of_a_recipe_that_now_selects_is_rebuilt_without_selection():
    # A single-run preset predates the recipes' model selection: it kept its
    # last epoch, so its rebuilt first stage says `--no-selection` where the
    # recipe now selects on validation, and not where it does not.
    legacy = {
        "training": {"epochs": 100, "iterations": 4100, "backend": "jax"},
        "metrics": {"test_ll": {"mean": -92.0, "num_samples": 1000}},
    }
    selecting = "dvaepp_small_caltech101_silhouettes"
    assert recipes.get(selecting)["selection"] is not None
    (stage,), _ = exporting._stages(legacy, selecting)
    assert stage["command"].split()[-1] == "--no-selection"
    (stage,), _ = exporting._stages(legacy, "dvaepp_small_omniglot")
    assert "--no-selection" not in stage["command"]


def test_the_zoo_readme_shows_the_recorded_sample_diversity():
    # One row per MNIST preset, the shares and entropy that
    # benchmarks/results/sample_diversity.json records for its weights: a
    # row remeasured into the file but not into the README fails here.
    from benchmarks import sample_diversity

    root = pathlib.Path(__file__).parents[2]
    readme = (root / "zoo" / "README.md").read_text()
    recorded = json.loads(
        (root / "benchmarks" / "results" / "sample_diversity.json").read_text()
    )["presets"]
    assert sorted(recorded) == sorted(sample_diversity.mnist_presets())
    for name, row in recorded.items():
        cells = sample_diversity.share_cells(np.asarray(row["shares"]))
        assert f"| `{name}` | {cells} | {row['entropy']:.2f} |" in readme, name

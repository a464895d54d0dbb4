"""`python -m keras_dvae.zoo.train`: train, evaluate and export a preset folder."""

import json

import keras
import numpy as np
import pytest

from keras_dvae import zoo
from keras_dvae.zoo import train

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

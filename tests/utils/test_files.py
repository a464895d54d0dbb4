"""Strict JSON: `files.write_json` never writes NaN or Infinity tokens."""

import json

import numpy as np
import pytest

from keras_dvae.utils import files

pytestmark = pytest.mark.backend_independent


def _strict(text):
    """json.loads that refuses NaN, Infinity and -Infinity, as strict parsers do."""

    def refuse(token):
        raise AssertionError(f"non-strict JSON token {token}")

    return json.loads(text, parse_constant=refuse)


METRICS = {
    "dataset": "mnist",
    "train_seconds": np.float32(12.5),
    "steps": np.int64(300),
    "evaluation": {
        "test_ll": {"mean": np.float64("nan"), "num_samples": 5000},
        "valid_ll": {"mean": -88.5, "bounds": [float("-inf"), np.float32("inf")]},
    },
}


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), -np.inf, np.float32("nan")]
)
def test_non_finite_is_refused_naming_the_key_and_nothing_is_written(tmp_path, bad):
    target = tmp_path / "metrics.json"
    payload = {"evaluation": {"test_ll": {"mean": bad}}}
    with pytest.raises(ValueError, match="JSON has no NaN or Infinity") as info:
        files.write_json(target, payload)
    message = str(info.value)
    assert "`evaluation.test_ll.mean`" in message and str(target) in message
    assert message.endswith(f"Received: evaluation.test_ll.mean={float(bad)}")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_a_list_item_is_named_by_its_index(tmp_path):
    with pytest.raises(ValueError, match=r"`history\[1\]\.elbo` is nan"):
        files.write_json(tmp_path / "h.json", {"history": [{}, {"elbo": np.nan}]})


def test_null_mode_writes_strict_json_and_notes_what_it_replaced(tmp_path):
    target = tmp_path / "metrics.json"
    files.write_json(target, METRICS, non_finite="null")
    written = _strict(target.read_text())
    assert written["evaluation"]["test_ll"]["mean"] is None
    assert written["evaluation"]["valid_ll"]["bounds"] == [None, None]
    assert written[files.NON_FINITE_KEY] == {
        "evaluation.test_ll.mean": "nan",
        "evaluation.valid_ll.bounds[0]": "-inf",
        "evaluation.valid_ll.bounds[1]": "inf",
    }
    # Finite numbers (NumPy's included) are kept, integers as integers.
    assert written["train_seconds"] == 12.5 and written["steps"] == 300
    assert written["evaluation"]["valid_ll"]["mean"] == -88.5
    assert isinstance(written["steps"], int)
    # The caller's dict is not modified.
    assert np.isnan(METRICS["evaluation"]["test_ll"]["mean"])
    assert files.NON_FINITE_KEY not in METRICS


def test_null_mode_needs_a_dict_to_note_in(tmp_path):
    with pytest.raises(ValueError, match="only a dict gets a 'non_finite' note"):
        files.write_json(tmp_path / "x.json", [1.0, np.nan], non_finite="null")
    files.write_json(tmp_path / "x.json", [1.0, 2], non_finite="null")
    assert _strict((tmp_path / "x.json").read_text()) == [1.0, 2]


def test_bad_arguments_and_unserialisable_values(tmp_path):
    with pytest.raises(ValueError, match="Received: non_finite='drop'"):
        files.write_json(tmp_path / "x.json", {}, non_finite="drop")
    with pytest.raises(TypeError, match="`a.b` is of type object"):
        files.write_json(tmp_path / "x.json", {"a": {"b": object()}})


def test_finite_payloads_are_written_as_before(tmp_path):
    payload = {"a": 1, "b": [0.5, True, None, "x"], "c": {"d": np.float32(0.25)}}
    files.write_json(tmp_path / "x.json", payload)
    assert _strict((tmp_path / "x.json").read_text()) == {
        "a": 1,
        "b": [0.5, True, None, "x"],
        "c": {"d": 0.25},
    }


def test_read_json_is_strict(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"a": 1.5}')
    assert files.read_json(path) == {"a": 1.5}
    for token in ("NaN", "Infinity", "-Infinity"):
        path.write_text(f'{{"a": {token}}}')
        with pytest.raises(ValueError, match=f"{token} is not JSON"):
            files.read_json(path)

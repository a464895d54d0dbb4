"""Bad data refused up front at every entry point of a model (models/data.py).

Every refusal is a `ValueError` that names the argument and what was wrong
with it, raised before any step: the model's variables and its optimizer
are left as they were.
"""

import keras
import numpy as np
import pytest

from keras_dvae import evaluation
from keras_dvae.models import DVAEPP
from tests.helpers import to_numpy

WIDTH = 6


def _good(n=10):
    return (np.random.default_rng(0).random((n, WIDTH)) < 0.4).astype("float32")


def _with(value, row, column):
    x = _good()
    x[row, column] = value
    return x


# name → a function giving the bad data (tensors are made on the backend).
BAD_DATA = {
    "no rows": lambda: np.zeros((0, WIDTH), "float32"),
    "no rows, a tensor": lambda: keras.ops.zeros((0, WIDTH)),
    "no rows, 1-D": lambda: np.zeros((0,), "float32"),
    "wrong width": lambda: _good()[:, :5],
    "wrong width, a tensor": lambda: keras.ops.zeros((4, WIDTH + 1)),
    "one example, 1-D": lambda: _good()[0],
    "NaN": lambda: _with(np.nan, 1, 2),
    "Inf": lambda: _with(-np.inf, 3, 4),
    "strings": lambda: _good().astype(str),
    "objects": lambda: _good().astype(object),
    "complex": lambda: _good().astype(complex),
    "ragged list": lambda: [[0, 1, 0, 1, 0, 1], [1, 0]],
    "out of range": lambda: 3 * _good(),
    "None": lambda: None,
}

ENTRY_POINTS = {
    "fit": lambda m, x: m.fit(x, epochs=1, batch_size=5, verbose=0),
    "fit validation_data": lambda m, x: m.fit(
        _good(), validation_data=(x,), epochs=1, verbose=0
    ),
    "evaluate": lambda m, x: m.evaluate(x, verbose=0),
    "adapt": lambda m, x: m.adapt(x),
    "log_likelihood": lambda m, x: m.log_likelihood(x, num_samples=2, verbose=0),
    "log_likelihood_report": lambda m, x: evaluation.log_likelihood_report(
        m, x, num_samples=2, verbose=0
    ),
    "encode": lambda m, x: m.encode(x),
    "reconstruct": lambda m, x: m.reconstruct(x),
}
# What needs at least one example (the others give empty results).
NEEDS_ROWS = {
    "fit": "fit",
    "fit validation_data": "validation",
    "evaluate": "evaluate",
    "adapt": "adapt",
    "log_likelihood_report": "log_likelihood_report",
}
# These take grey levels in [0, 1] (a binarised set's expectation).
GREY_LEVELS = ("adapt", "encode", "reconstruct")


def _expected(entry, case):
    """The message (a regex) `entry` gives for `case`, or None when the
    case is not bad for it."""
    name = "validation_data" if entry == "fit validation_data" else "x"
    if case.startswith("no rows") and case != "no rows, 1-D":
        if entry not in NEEDS_ROWS:
            return None  # test_no_rows_give_empty_results
        return (
            rf"`{name}` holds no examples: {NEEDS_ROWS[entry]} needs at least one. "
            rf"Received: {name} with shape \(0, {WIDTH}\)"
        )
    if case == "None":
        if entry == "fit validation_data":
            return None  # no validation at all
        if entry in ("fit", "evaluate"):
            return r"needs data `x`. Received: x=None"
        return r"Received: x of type NoneType"
    if case == "out of range":
        if entry in GREY_LEVELS:
            return r"`x` must hold values in the likelihood's range"
        return rf"`{name}` must be binary \(0/1\)"
    return {
        "no rows, 1-D": rf"Received: {name} with shape \(0,\)",
        "wrong width": rf"must have shape \(num_examples, {WIDTH}\).*"
        rf"Received: {name} with shape \(10, 5\)",
        "wrong width, a tensor": rf"Received: {name} with shape \(4, {WIDTH + 1}\)",
        "one example, 1-D": rf"Received: {name} with shape \({WIDTH},\)",
        "NaN": rf"`{name}` holds 1 NaN or Inf value",
        "Inf": rf"`{name}` holds 1 NaN or Inf value",
        "strings": rf"`{name}` must be numeric. Received: {name} with dtype <U",
        "objects": rf"`{name}` must be numeric. Received: {name} with dtype object",
        "complex": rf"`{name}` must be numeric. Received: {name} with dtype complex",
        "ragged list": rf"`{name}` must be a rectangular array",
    }[case]


@pytest.fixture(scope="module")
def model():
    model = DVAEPP(
        image_shape=(WIDTH,),
        num_latents=4,
        num_groups=2,
        hidden_units=(4,),
        num_chains=8,
        gibbs_sweeps=2,
        seed=0,
    )
    model.compile(optimizer="sgd")
    return model


def _values(model):
    return [to_numpy(v).copy() for v in model.variables]


def _assert_untouched(model, before):
    assert int(to_numpy(model.optimizer.iterations)) == 0
    for a, b in zip(before, _values(model), strict=True):
        np.testing.assert_array_equal(a, b)


CASES = [
    (entry, case)
    for entry in ENTRY_POINTS
    for case in BAD_DATA
    if _expected(entry, case) is not None
]


@pytest.mark.parametrize(("entry", "case"), CASES, ids=[f"{e}-{c}" for e, c in CASES])
def test_every_entry_point_refuses_bad_data_up_front(model, entry, case):
    before = _values(model)
    with pytest.raises(ValueError, match=_expected(entry, case)):
        ENTRY_POINTS[entry](model, BAD_DATA[case]())
    _assert_untouched(model, before)


BAD_CODES = {
    "wrong width": (np.zeros((3, 3), "float32"), r"Received: z with shape \(3, 3\)"),
    "one code, 1-D": (np.zeros(4, "float32"), r"Received: z with shape \(4,\)"),
    "NaN": (np.full((2, 4), np.nan, "float32"), r"`z` holds 8 NaN or Inf"),
    "Inf": (np.full((2, 4), np.inf, "float32"), r"`z` holds 8 NaN or Inf"),
    "strings": (np.zeros((2, 4)).astype(str), r"`z` must be numeric"),
    "ragged list": ([[0, 1, 0, 1], [1]], r"`z` must be a rectangular array"),
    "None": (None, r"Received: z with shape \(\)"),
}


@pytest.mark.parametrize("case", list(BAD_CODES))
def test_decode_refuses_bad_codes(model, case):
    z, message = BAD_CODES[case]
    with pytest.raises(ValueError, match=message):
        model.decode(z)


BAD_ARGUMENTS = {
    "fit batch_size": (
        lambda m: m.fit(_good(), batch_size=0, verbose=0),
        r"`batch_size` must be an integer >= 1. Received: batch_size=0",
    ),
    "fit epochs": (
        lambda m: m.fit(_good(), epochs=0, verbose=0),
        r"Received: epochs=0",
    ),
    "evaluate batch_size": (
        lambda m: m.evaluate(_good(), batch_size=-1, verbose=0),
        r"Received: batch_size=-1",
    ),
    "log_likelihood num_samples": (
        lambda m: m.log_likelihood(_good(), num_samples=0),
        r"Received: num_samples=0",
    ),
    "log_likelihood chunk_size": (
        lambda m: m.log_likelihood(_good(), num_samples=2, chunk_size=0),
        r"Received: chunk_size=0",
    ),
    "log_likelihood batch_size": (
        lambda m: m.log_likelihood(_good(), num_samples=2, batch_size=0),
        r"Received: batch_size=0",
    ),
    "log_likelihood_report num_samples": (
        lambda m: evaluation.log_likelihood_report(m, _good(), num_samples=0),
        r"Received: num_samples=0",
    ),
    "encode batch_size": (
        lambda m: m.encode(_good(), batch_size=0),
        r"Received: batch_size=0",
    ),
    "decode batch_size": (
        lambda m: m.decode(np.zeros((2, 4)), batch_size=0),
        r"Received: batch_size=0",
    ),
    "generate num_samples": (
        lambda m: m.generate(0),
        r"Received: num_samples=0",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ARGUMENTS))
def test_bad_arguments_are_refused_up_front(model, case):
    call, message = BAD_ARGUMENTS[case]
    before = _values(model)
    with pytest.raises(ValueError, match=message):
        call(model)
    _assert_untouched(model, before)


@pytest.mark.parametrize("tensor", [False, True], ids=["array", "tensor"])
def test_no_rows_give_empty_results(model, tensor):
    # Results over no example: the shapes and dtypes of those over some.
    empty = keras.ops.zeros((0, WIDTH)) if tensor else np.zeros((0, WIDTH), "float32")
    x = _good(3)
    for got, some in zip(model.encode(empty), model.encode(x), strict=True):
        assert got.shape == (0, some.shape[1]) and got.dtype == some.dtype
    some = model.reconstruct(x)
    got = model.reconstruct(empty)
    assert got.shape == (0, WIDTH) and got.dtype == some.dtype
    codes = np.zeros((0, model.encoder.num_values), "float32")
    got = model.decode(codes)
    assert got.shape == (0, WIDTH) and got.dtype == some.dtype
    ll = model.log_likelihood(empty, num_samples=2, verbose=0)
    assert ll.shape == (0,)
    assert ll.dtype == model.log_likelihood(x, num_samples=2, verbose=0).dtype

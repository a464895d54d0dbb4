"""The reference learning-rate schedule."""

import pytest

from keras_dvae import callbacks
from tests.helpers import to_numpy


def test_reference_learning_rate_pieces():
    schedule = callbacks.reference_learning_rate(
        total_steps=1000, base_learning_rate=3e-3
    )
    expected = {
        0: 3e-4,
        19: 3e-4,
        21: 3e-3,
        599: 3e-3,
        601: 1e-3,
        749: 1e-3,
        751: 3e-4,
        949: 3e-4,
        951: 3e-3 / 33,
    }
    for step, value in expected.items():
        assert float(to_numpy(schedule(step))) == pytest.approx(value, rel=1e-5), step
    with pytest.raises(ValueError, match="total_steps=0"):
        callbacks.reference_learning_rate(total_steps=0)


@pytest.mark.parametrize("start", [0, 1, 20, 21, 400, 600, 750, 950, 951, 999, 1500])
def test_shifted_schedule_is_the_schedule_from_its_start_step(start):
    # A fresh optimizer continuing at `start` gets rate(start + t) at its t.
    full = callbacks.reference_learning_rate(1000)
    shifted = callbacks.reference_learning_rate(1000, start_step=start)
    steps = range(0, 1100 - min(start, 1000), 7)
    got = [float(to_numpy(shifted(t))) for t in steps]
    want = [float(to_numpy(full(start + t))) for t in steps]
    assert got == pytest.approx(want, rel=1e-6)
    with pytest.raises(ValueError, match="start_step=-1"):
        callbacks.reference_learning_rate(1000, start_step=-1)

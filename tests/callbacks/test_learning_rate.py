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

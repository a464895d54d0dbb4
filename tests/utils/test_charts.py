"""The Pillow line chart behind a preset's curve.png."""

import numpy as np
import pytest

from keras_dvae.utils import charts

pytestmark = pytest.mark.backend_independent


def test_draws_markers_error_bars_and_the_reference():
    points = [
        {"x": 60_000, "y": -89.0, "hollow": True},
        {"x": 140_000, "y": -87.8, "error": 1.0},
    ]
    image = charts.line_chart(points, reference=-84.3, footnote="word " * 60)
    assert image.shape == (*reversed(charts.SIZE), 3) and image.dtype == np.uint8
    assert (image == 255).mean() > 0.5  # a white page with some ink
    assert np.any(np.all(image == charts.REFERENCE, axis=-1))  # the dashed line
    assert np.any(np.all(image == charts.LINE, axis=-1))  # markers and line


@pytest.mark.parametrize(
    "points", [[], [{"x": 1}], [{"x": 1, "y": float("nan")}], [{"y": 1.0}]]
)
def test_refuses_points_without_finite_coordinates(points):
    with pytest.raises(ValueError, match="finite 'x' and 'y'"):
        charts.line_chart(points)


def test_ticks_and_labels():
    assert charts.nice_ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert charts.nice_ticks(3, 3) == [3.0]
    assert charts.tick_text(60_000, 20_000) == "60k"
    assert charts.tick_text(0, 20_000) == "0"
    assert charts.tick_text(-87.5, 0.5) == "-87.5"

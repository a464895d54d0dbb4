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


def _ink_rows_beside(image, x, y, rows):
    """INK pixels in the rows `rows` (relative to y) just left of x."""
    window = image[y + rows[0] : y + rows[1], x - 60 : x - 8]
    return int(np.all(window == charts.INK, axis=-1).sum())


@pytest.mark.parametrize(("reference", "below"), [(-95.04, True), (-90.0, False)])
def test_a_label_moves_below_its_marker_next_to_the_reference_line(reference, below):
    # The reference's label sits above its line, right-aligned: a figure just
    # under the line would have its own label drawn over it.
    points = [
        {"x": 20_000, "y": -102.7},
        {"x": 400_000, "y": -95.19, "label": "-95.19"},
    ]
    image = charts.line_chart(points, reference=reference)
    marker = np.argwhere(np.all(image == charts.LINE, axis=-1))
    right = marker[marker[:, 1] > marker[:, 1].max() - 12]
    y, x = (int(v) for v in right.mean(axis=0).round())
    under, over = (_ink_rows_beside(image, x, y, r) for r in ((8, 26), (-26, -8)))
    assert (under > 0, over > 0) == (below, not below)

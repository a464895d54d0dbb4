"""A small line chart drawn with Pillow (a dependency; matplotlib is not).

Enough for a preset's test figure against its training steps (`zoo`'s
`curve.png`): one marker a point, optional ±1 standard-error bars, hollow
markers for points measured another way, a dashed reference line, and a
second, unlabelled series (a validation curve) with its legend.
"""

import math

import numpy as np

SIZE = (800, 500)
# left, top, right, bottom margins around the plotting area, in pixels.
MARGINS = (90, 70, 40, 105)
INK, GRID, LINE, REFERENCE = (0, 0, 0), (225, 225, 225), (31, 99, 180), (200, 60, 40)
SECONDARY = (46, 140, 70)


def _font(size):
    """Pillow's bundled scalable font (Pillow ≥ 10.1), else its bitmap font."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow 10.0: no size argument
        return ImageFont.load_default()


def nice_ticks(low, high, count=5):
    """About `count` round tick values (1, 2 or 5 × 10^k apart) in [low, high].

    Example:

    >>> nice_ticks(0, 140000)
    [0.0, 50000.0, 100000.0]
    >>> nice_ticks(-92.5, -84.0)
    [-92.0, -90.0, -88.0, -86.0, -84.0]
    """
    span = high - low
    if not span > 0:
        return [float(low)]
    raw = span / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    # Rounded to the step's decimals: 3 × 0.2 is 0.6000000000000001.
    decimals = max(0, -math.floor(math.log10(step))) + 1
    return [float(round(i * step, decimals)) for i in range(first, last + 1)]


def _text(draw, xy, text, font, fill=INK, anchor="lt"):
    """`draw.text` at an anchor ("l"/"m"/"r" then "t"/"m"/"b"), placed from
    the text's box: Pillow's own `anchor` needs a scalable font."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = xy[0] - {"l": 0, "m": (right - left) / 2, "r": right - left}[anchor[0]]
    y = xy[1] - {"t": 0, "m": (bottom - top) / 2, "b": bottom - top}[anchor[1]]
    draw.text((x - left, y - top), text, fill=fill, font=font)


def _wrap(text, font, width):
    """`text` as lines no wider than `width` pixels (breaking at spaces)."""
    lines = []
    for word in text.split(" "):
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


def tick_text(value, step):
    """A tick label: thousands as "60k", else as many decimals as `step` needs."""
    if value == 0:
        return "0"
    if step >= 1000 and value % 1000 == 0:
        return f"{value / 1000:,.0f}k"
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    return f"{value:,.{decimals}f}"


def line_chart(
    points,
    *,
    title="",
    subtitle="",
    x_label="",
    y_label="",
    reference=None,
    reference_label="",
    footnote="",
    secondary=(),
    secondary_label="",
):
    """Draws points joined by a line as a uint8 RGB image (H, W, 3).

    Args:
        points: dicts with "x", "y", optional "error" (drawn as ±error) and
            "hollow" (an open marker); each gets a marker labelled with its y.
        title, subtitle: text above the plot.
        x_label, y_label: the axes' names (x below, y above the axis).
        reference: optional y of a dashed horizontal line, in the y range.
        reference_label: the text on that line.
        footnote: text under the x axis's name (wrapped to the width).
        secondary: more dicts with "x" and "y" (and "highlight": a larger
            marker), drawn as a thin green line of small unlabelled markers
            on the same axes.
        secondary_label: that series' legend, top right.

    Returns:
        np.uint8 array of shape (500, 800, 3).

    Raises:
        ValueError: no point, or a point without a finite x and y.

    Example:

    >>> image = line_chart([{"x": 100, "y": -90.0}], reference=-85.0,
    ...                    secondary=[{"x": 50, "y": -92.0}, {"x": 100, "y": -91.0}])
    >>> image.shape, image.dtype
    ((500, 800, 3), dtype('uint8'))
    """
    from PIL import Image, ImageDraw

    points = [dict(p) for p in points]
    secondary = [dict(p) for p in secondary]
    checked = (("points", points, False), ("secondary", secondary, True))
    for name, series, empty in checked:
        if not (points or empty) or not all(
            math.isfinite(float(p.get("x", math.nan)))
            and math.isfinite(float(p.get("y", math.nan)))
            for p in series
        ):
            raise ValueError(
                f"`{name}` must be a{'' if empty else ' non-empty'} list of dicts "
                f"with finite 'x' and 'y'. Received: {name}={series!r}"
            )
    width, height = SIZE
    left, top, right, bottom = MARGINS
    x0, x1 = left, width - right
    y0, y1 = top, height - bottom
    x_max = max(p["x"] for p in points + secondary)
    x_ticks = nice_ticks(0, x_max * 1.08 if x_max > 0 else 1)
    x_step = x_ticks[1] - x_ticks[0] if len(x_ticks) > 1 else 1.0
    x_hi = max(x_ticks[-1] + (x_step if x_ticks[-1] < x_max * 1.04 else 0), 1e-9)
    ys = [p["y"] for p in points + secondary]
    ys += [p["y"] + s * p["error"] for p in points if p.get("error") for s in (-1, 1)]
    if reference is not None:
        ys.append(reference)
    low, high = min(ys), max(ys)
    pad = max((high - low) * 0.12, abs(high) * 0.005, 1e-3)
    y_ticks = nice_ticks(low - pad, high + pad)
    y_step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else pad
    y_lo, y_hi = min(y_ticks[0], low - pad), max(y_ticks[-1], high + pad)

    def px(x):
        return x0 + (x1 - x0) * x / x_hi

    def py(y):
        return y1 - (y1 - y0) * (y - y_lo) / (y_hi - y_lo)

    image = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(image)
    small, normal, large = _font(13), _font(15), _font(18)
    draw.text((left, 12), title, fill=INK, font=large)
    for i, line in enumerate(_wrap(subtitle, small, width - left - 10)[:2]):
        draw.text((left, 38 + 15 * i), line, fill=INK, font=small)
    for y in y_ticks:
        if y_lo <= y <= y_hi:
            draw.line([(x0, py(y)), (x1, py(y))], fill=GRID)
            text = tick_text(y, y_step)
            _text(draw, (x0 - 8, py(y)), text, small, INK, "rm")
    for x in x_ticks:
        draw.line([(px(x), y0), (px(x), y1)], fill=GRID)
        text = tick_text(x, x_step)
        _text(draw, (px(x), y1 + 8), text, small, INK, "mt")
    draw.rectangle([x0, y0, x1, y1], outline=INK)
    _text(draw, ((x0 + x1) / 2, y1 + 30), x_label, normal, INK, "mt")
    _text(draw, (x0 + 4, y0 + 4), y_label, small)
    for i, line in enumerate(_wrap(footnote, small, width - 40)[:3]):
        position = (width / 2, y1 + 54 + 16 * i)
        _text(draw, position, line, small, INK, "mt")
    if reference is not None:
        y = py(reference)
        for start in np.arange(x0, x1, 12.0):
            draw.line([(start, y), (min(start + 7, x1), y)], fill=REFERENCE, width=2)
        _text(draw, (x1 - 6, y - 4), reference_label, small, REFERENCE, "rb")
    if secondary:
        trail = sorted(secondary, key=lambda p: p["x"])
        if len(trail) > 1:
            draw.line([(px(p["x"]), py(p["y"])) for p in trail], fill=SECONDARY)
        for p in trail:
            r = 5 if p.get("highlight") else 2
            x, y = px(p["x"]), py(p["y"])
            draw.rectangle([x - r, y - r, x + r, y + r], fill=SECONDARY)
        _text(draw, (x1 - 6, y1 - 6), secondary_label, small, SECONDARY, "rb")
    order = sorted(points, key=lambda p: p["x"])
    if len(order) > 1:
        draw.line([(px(p["x"]), py(p["y"])) for p in order], fill=LINE, width=2)
    for p in order:
        x, y = px(p["x"]), py(p["y"])
        if p.get("error"):
            top_y, bottom_y = py(p["y"] + p["error"]), py(p["y"] - p["error"])
            draw.line([(x, top_y), (x, bottom_y)], fill=LINE, width=1)
            for end in (top_y, bottom_y):
                draw.line([(x - 4, end), (x + 4, end)], fill=LINE, width=1)
        box = [x - 5, y - 5, x + 5, y + 5]
        draw.ellipse(
            box, fill="white" if p.get("hollow") else LINE, outline=LINE, width=2
        )
        label = p.get("label", tick_text(p["y"], y_step / 10))
        right = x > (x0 + x1) / 2
        # Above the marker, unless the reference line's label (above the
        # line) would cover it: a figure close to the reference.
        below = reference is not None and -9 < y - py(reference) < 30
        anchor = ("r" if right else "l") + ("t" if below else "b")
        position = (x + (-8 if right else 8), y + 8 if below else y - 8)
        _text(draw, position, label, small, INK, anchor)
    return np.asarray(image, dtype=np.uint8)

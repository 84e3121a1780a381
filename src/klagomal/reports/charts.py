"""A report's charts as inline SVG, for :mod:`klagomal.reports.render`.

The charts are laid out here, with no browser to measure text: every text's
width is estimated from :data:`CHAR_WIDTHS` (per character, in em, on the
generous side of the sans-serif fonts a browser picks, DejaVu Sans and
Arial), so that a box computed from the SVG alone (its ``x``, ``y``,
``text-anchor``, ``font-size`` and text; :func:`text_box`) holds the text
as drawn.  The layout keeps every such box apart: category names are
shortened, month names thinned out, and the value labels of a line chart
placed above, below or beside their point, wherever no other text is.

* Every chart is as wide as the page (``width="100%"`` with a
  ``viewBox``): on a phone it shrinks with the page.
* A bar chart's value axis starts at 0, since a bar's length is its value.
  A line chart's axis fits its points: shares from 91 to 100 % get an axis
  from 90 to 100 %, with the unit on every tick (``95 %``).
* Each series' colour has a contrast of at least 3:1 against the white
  page (WCAG 2.1, 1.4.11 non-text contrast): :data:`PALETTE`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from typing import Any

from markupsafe import Markup, escape

from klagomal.core import formats
from klagomal.core.i18n import _
from klagomal.reports.model import Chart

__all__ = ["BACKGROUND", "CHAR_WIDTHS", "PALETTE", "contrast", "svg_chart", "text_box", "text_width"]

#: The page behind the charts.
BACKGROUND = "#FFFFFF"

#: Series colours: Okabe and Ito's, told apart also by the colour-blind,
#: with the orange darkened and the sky blue left out so that each has a
#: contrast of at least 3:1 against :data:`BACKGROUND` (WCAG 1.4.11).
PALETTE = ("#0072B2", "#A65D00", "#009E73", "#CC79A7", "#000000", "#D55E00")

#: Width of a character in em: digits and most letters as in DejaVu Sans,
#: the widest of the usual sans-serif fonts; others by class below.
CHAR_WIDTHS: dict[str, float] = {
    **dict.fromkeys("0123456789", 0.64),
    **dict.fromkeys(" ,.:;'|!", 0.34),
    **dict.fromkeys("ijlfrtI()[]", 0.42),
    **dict.fromkeys("mwMW%@", 1.0),
    "–": 0.52,
    "-": 0.38,
    "…": 1.0,
    "<": 0.84,
    ">": 0.84,
}
_LOWER = 0.64
_UPPER = 0.78

#: Where the text sits around its baseline, in em (DejaVu Sans: 0.93 and 0.24).
ASCENT = 0.95
DESCENT = 0.25

#: The font sizes of the charts' texts, by class.
_SIZES = {"value": 11.0, "tick": 12.0, "label": 12.0, "unit": 12.0, "legend-text": 12.0, "empty": 12.0}

_WIDTH = 640.0


def text_width(text: str, size: float) -> float:
    """The width *text* takes at font size *size* (pixels), generously."""
    return size * sum(CHAR_WIDTHS.get(c, _UPPER if c.isupper() else _LOWER) for c in text)


def text_box(
    x: float, y: float, text: str, size: float, anchor: str = "start"
) -> tuple[float, float, float, float]:
    """The box (left, top, right, bottom) of *text* drawn at *x*, baseline
    *y*, with ``text-anchor`` *anchor*."""
    width = text_width(text, size)
    left = x - {"start": 0.0, "middle": width / 2, "end": width}[anchor]
    return left, y - ASCENT * size, left + width, y + DESCENT * size


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _relative_luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(colour: str, background: str = BACKGROUND) -> float:
    """The WCAG 2.1 contrast ratio of two ``#RRGGBB`` colours."""
    light, dark = sorted((_relative_luminance(colour), _relative_luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def number_shown(value: float, decimals: int = 1) -> str:
    """*value* as the reports write it (:func:`klagomal.core.formats.number`):
    ``12``, ``87,5``, ``1 204``; a whole number without decimals; non-finite as ``–``."""
    if not math.isfinite(value):
        return "–"
    return formats.number(value, 0 if float(value).is_integer() else decimals)


def value_label(value: float | str, unit: str) -> str:
    """A value as a chart writes it: ``87,5 %``, ``12``, or the mark of a count not shown."""
    if isinstance(value, str):
        return value
    text = number_shown(value)
    return f"{text} %" if unit == "%" and math.isfinite(value) else text


def _data_value(value: float | str) -> str:
    """A value for a ``data-value`` attribute: for machines, with a decimal
    point; empty for a missing value or a count not shown."""
    return f"{value:.15g}" if isinstance(value, float | int) and math.isfinite(value) else ""


def _drawn(value: float | str) -> float | None:
    """The value to draw: ``None`` when missing or not shown (a ``<3`` or
    ``..`` is never drawn, least of all at its true height)."""
    return float(value) if isinstance(value, float | int) and math.isfinite(value) else None


def _fmt(x: float) -> str:
    """A coordinate for SVG."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _fit(text: str, size: float, room: float) -> str:
    """*text*, shortened with … to fit *room* pixels."""
    if text_width(text, size) <= room:
        return text
    while text and text_width(text + "…", size) > room:
        text = text[:-1]
    return text.rstrip() + "…"


def _check_chart(chart: Chart) -> None:
    if chart.kind not in ("bar", "line"):
        raise ValueError(
            _("diagrammet {id} har en okänd sort '{kind}'; det kan vara bar eller line").format(
                id=chart.id, kind=chart.kind
            )
        )
    for series in chart.series:
        if len(series.values) != len(chart.labels):
            raise ValueError(
                _("serien '{name}' i diagrammet {id} har {values} värden för {labels} etiketter").format(
                    name=series.name, id=chart.id, values=len(series.values), labels=len(chart.labels)
                )
            )


def _values(chart: Chart) -> list[float]:
    """The values drawn: not the missing ones, nor the marks of counts not shown."""
    return [v for s in chart.series for v in map(_drawn, s.values) if v is not None]


def _whole(chart: Chart) -> bool:
    return chart.unit != "%" and all(float(v).is_integer() for v in _values(chart))


def _step(rough: float, whole: bool) -> float:
    """The nice step (1, 2 or 5 times a power of ten) at or above *rough*."""
    power: float = 10.0 ** math.floor(math.log10(rough))
    step: float = next(f * power for f in (1, 2, 5, 10) if f * power >= rough * (1 - 1e-9))
    return max(step, 1.0) if whole else step


def _zero_scale(top: float, *, whole: bool) -> tuple[float, float, float]:
    """A bar chart's axis from 0: (low, high, step), about five steps."""
    if not math.isfinite(top) or top <= 0:
        return 0.0, 1.0, 1.0 if whole else 0.2
    step = _step(top / 5, whole)
    return 0.0, math.ceil(top / step - 1e-9) * step, step


def _fitted_scale(values: list[float], *, unit: str, whole: bool) -> tuple[float, float, float]:
    """A line chart's axis fitted to *values*: (low, high, step).  Shares
    stay within 0–100 %; a span narrower than 5 (% or units) is widened
    around the values, so that one point or a flat line still sits inside."""
    if not values:
        return (0.0, 100.0, 20.0) if unit == "%" else (0.0, 1.0, 1.0 if whole else 0.2)
    low, high = min(values), max(values)
    span = max(high - low, 5.0)
    pad = (span - (high - low)) / 2
    low, high = low - pad, high + pad
    if unit == "%" and min(values) >= 0 and max(values) <= 100:
        low, high = max(low, 0.0), min(high, 100.0)
        if high - low < span:  # pushed against 0 or 100
            low, high = (0.0, span) if low == 0 else (100.0 - span, 100.0)
    step = _step((high - low) / 4, whole)
    bottom = math.floor(low / step + 1e-9) * step
    top = math.ceil(high / step - 1e-9) * step
    if unit == "%" and min(values) >= 0 and max(values) <= 100:
        bottom, top = max(bottom, 0.0), min(top, 100.0)
    if top <= bottom:
        top = bottom + step
    return bottom, top, step


def _ticks(low: float, high: float, step: float) -> list[float]:
    count = round((high - low) / step)
    return [low + i * step for i in range(count + 1)]


class _Svg:
    """The elements of an SVG fragment, laid out before they are written:
    every text's box is known (:meth:`free`), and the whole drawing can be
    moved down (:attr:`dy`) when a label had to go above the top.  Every
    text and attribute value is escaped."""

    _Y = ("y", "y1", "y2", "cy")

    def __init__(self) -> None:
        self.items: list[tuple[str, str | None, str, dict[str, Any]]] = []
        self.boxes: list[tuple[float, float, float, float]] = []
        self.obstacles: list[tuple[float, float, float, float]] = []

    def add(self, tag: str, text: str | None = None, /, *, children: str = "", **attrs: Any) -> None:
        self.items.append((tag, text, children, attrs))

    def text(self, text: str, x: float, y: float, cls: str, anchor: str = "start") -> None:
        """A text of class *cls*, its box kept to place others around it."""
        size = _SIZES[cls]
        self.boxes.append(text_box(x, y, text, size, anchor))
        self.add(
            "text",
            text,
            x=x,
            y=y,
            font_size=_fmt(size),
            text_anchor=None if anchor == "start" else anchor,
            class_=cls,
        )

    def free(self, box: tuple[float, float, float, float]) -> bool:
        """Whether *box* meets no text (nor point) laid out so far."""
        return not any(_overlap(box, other) for other in (*self.boxes, *self.obstacles))

    def top(self) -> float:
        return min((box[1] for box in self.boxes), default=0.0)

    def bottom(self) -> float:
        return max((box[3] for box in self.boxes), default=0.0)

    def render(self, dy: float = 0.0) -> str:
        parts = []
        for tag, text, children, attrs in self.items:
            values = []
            for name, value in attrs.items():
                if value is None:
                    continue
                if name in self._Y and isinstance(value, float | int):
                    value = value + dy
                if name == "points":
                    value = " ".join(f"{_fmt(x)},{_fmt(y + dy)}" for x, y in value)
                elif isinstance(value, float):
                    value = _fmt(value)
                values.append(f' {name.rstrip("_").replace("_", "-")}="{escape(str(value))}"')
            inner = (str(escape(text)) if text is not None else "") + children
            attributes = "".join(values)
            parts.append(f"<{tag}{attributes}>{inner}</{tag}>" if inner else f"<{tag}{attributes}/>")
        return "".join(parts)


def _legend(svg: _Svg, chart: Chart, top: float, width: float) -> float:
    """Draws the series' names with their colours from *top*; returns the
    height used."""
    if len(chart.series) < 2:
        return 0.0
    x, y = 10.0, top
    size = _SIZES["legend-text"]
    for index, series in enumerate(chart.series):
        name = _fit(series.name, size, width - 40)
        item = 16 + text_width(name, size)
        if x + item > width - 10 and x > 10:
            x, y = 10.0, y + 18
        svg.add("rect", x=x, y=y, width=12, height=12, fill=PALETTE[index % len(PALETTE)], class_="legend")
        svg.text(name, x + 16, y + 10.5, "legend-text")
        x += item + 14
    return y - top + 24


def _open(chart: Chart, width: float, height: float, body: str) -> Markup:
    ident = f"diagram-{chart.id}"
    desc = "; ".join(
        f"{s.name}: "
        + ", ".join(
            f"{label} {value_label(v, chart.unit)}" for label, v in zip(chart.labels, s.values, strict=True)
        )
        for s in chart.series
    )
    head = _Svg()
    head.add("title", chart.title, id=f"{ident}-titel")
    head.add("desc", desc or _("Inga värden"), id=f"{ident}-beskrivning")
    return Markup(
        '<svg id="{id}" class="chart chart-{kind}" role="img" aria-label="{title}" '
        'aria-describedby="{id}-beskrivning" viewBox="0 0 {w} {h}" width="100%" '
        'preserveAspectRatio="xMinYMin meet" font-family="sans-serif" font-size="12">{head}{body}</svg>'
    ).format(
        id=ident,
        kind=chart.kind,
        title=chart.title,
        w=_fmt(width),
        h=_fmt(height),
        head=Markup(head.render()),
        body=Markup(body),
    )


# -- bars -----------------------------------------------------------------------


def _bar_chart(chart: Chart) -> Markup:
    """Grouped horizontal bars: a group per label, a bar per series, the
    value at the end of each bar and a value axis from 0 under them."""
    width = _WIDTH
    svg = _Svg()
    top = 10.0 + _legend(svg, chart, 10.0, width)
    label_size, value_size = _SIZES["label"], _SIZES["value"]
    longest = max((text_width(label, label_size) for label in chart.labels), default=0.0)
    left = min(max(longest + 14, 80.0), 240.0)
    widest_value = max(
        (text_width(value_label(v, chart.unit), value_size) for s in chart.series for v in s.values),
        default=0.0,
    )
    right = max(widest_value + 12, 30.0)
    plot = width - left - right
    low, high, step = _zero_scale(max(_values(chart), default=0.0), whole=_whole(chart))
    ticks = _ticks(low, high, step)
    while len(ticks) > 2 and _ticks_crowded(
        [(plot * (t - low) / (high - low), number_shown(t)) for t in ticks]
    ):
        step *= 2
        high = math.ceil(high / step - 1e-9) * step
        ticks = _ticks(low, high, step)
    bar, gap, group_gap = 14.0, 3.0, 12.0
    group = len(chart.series) * (bar + gap) - gap if chart.series else bar
    y = top
    for index, label in enumerate(chart.labels):
        svg.text(_fit(label, label_size, left - 14), left - 8, y + group / 2 + 4, "label", "end")
        for number, series in enumerate(chart.series):
            value = series.values[index]
            drawn = _drawn(value)
            length = plot * max(drawn, 0.0) / high if drawn is not None else 0.0
            tooltip = f"{series.name}, {label}: {value_label(value, chart.unit)}"
            svg.add(
                "rect",
                children=f"<title>{escape(tooltip)}</title>",
                x=left,
                y=y,
                width=length,
                height=bar,
                fill=PALETTE[number % len(PALETTE)],
                class_="bar",
                data_series=series.name,
                data_label=label,
                data_value=_data_value(value),
            )
            svg.text(value_label(value, chart.unit), left + length + 4, y + bar - 3, "value")
            y += bar + gap
        if not chart.series:
            y += bar + gap
        y += group_gap - gap
    if not chart.labels:
        svg.text(_("Inga värden"), left, y + 12, "empty")
        y += 20
    axis = y + 4
    svg.add("line", x1=left, y1=top - 4, x2=left, y2=axis, stroke="#333")
    svg.add("line", x1=left, y1=axis, x2=left + plot, y2=axis, stroke="#333")
    for value in ticks:
        x = left + plot * value / high
        svg.add("line", x1=x, y1=axis, x2=x, y2=axis + 4, stroke="#333")
        svg.text(number_shown(value), x, axis + 17, "tick", "middle")
    height = axis + 24
    if chart.unit:
        svg.text(chart.unit, left + plot / 2, axis + 34, "unit", "middle")
        height = axis + 42
    return _open(chart, width, height, svg.render())


def _ticks_crowded(ticks: list[tuple[float, str]]) -> bool:
    """Whether tick labels centred at these x would touch."""
    size = _SIZES["tick"]
    return any(
        (x2 - x1) < (text_width(a, size) + text_width(b, size)) / 2 + 6
        for (x1, a), (x2, b) in itertools.pairwise(ticks)
    )


# -- lines ------------------------------------------------------------------------


def _shown_labels(xs: list[float], labels: list[str], size: float) -> list[int]:
    """The indexes of the x labels to write: every one, or every second,
    third ..., so that none touches the next."""
    widths = [text_width(label, size) for label in labels]
    for every in range(1, len(labels) + 1):
        shown = list(range(0, len(labels), every))
        if all(xs[b] - xs[a] >= (widths[a] + widths[b]) / 2 + 8 for a, b in itertools.pairwise(shown)):
            return shown
    return [0]


def _place(svg: _Svg, text: str, x: float, y: float, lowest: float) -> tuple[float, float, str]:
    """Where the value label *text* of the point (*x*, *y*) goes: just above
    it, else just below, else beside it, else further up or down, where it
    meets no other text; never below *lowest* (the x labels' row)."""
    size = _SIZES["value"]
    line = (ASCENT + DESCENT) * size + 2
    above, below = y - 8, y + 8 + ASCENT * size
    width = text_width(text, size)
    candidates: list[tuple[float, float, str]] = [
        (x, above, "middle"),
        (x, below, "middle"),
        (x + 8, y + 4, "start"),
        (x - 8, y + 4, "end"),
    ]
    for step in range(1, 40):
        candidates += [(x, above - step * line, "middle"), (x, below + step * line, "middle")]
    candidates += [(x + 8 + width * k, y + 4, "start") for k in range(1, 3)]
    for cx, cy, anchor in candidates:
        box = text_box(cx, cy, text, size, anchor)
        if box[3] <= lowest and box[0] >= 0 and box[2] <= _WIDTH and svg.free(box):
            return cx, cy, anchor
    # Nowhere near: above everything drawn so far.
    return x, svg.top() - DESCENT * size - 3, "middle"


def _line_chart(chart: Chart) -> Markup:
    """A line per series over the labels, a point with its value at each
    label; a missing (non-finite) value breaks the line."""
    width = _WIDTH
    svg = _Svg()
    top = 10.0 + _legend(svg, chart, 10.0, width)
    percent = chart.unit == "%"
    values = _values(chart)
    low, high, step = _fitted_scale(values, unit=chart.unit, whole=_whole(chart))
    ticks = _ticks(low, high, step)
    tick_size, label_size = _SIZES["tick"], _SIZES["label"]

    def tick_text(value: float) -> str:
        return f"{number_shown(value)} %" if percent else number_shown(value)

    if chart.unit and not percent:  # the unit above the axis, its own row
        svg.text(chart.unit, 4, top + 10, "unit")
        top += 18
    top += 20  # room for the values over the highest points
    plot_height = 220.0
    axis = top + plot_height
    left = max(text_width(tick_text(t), tick_size) for t in ticks) + 14
    labels = list(chart.labels)
    count = len(labels)
    last_half = text_width(labels[-1], label_size) / 2 if labels else 0.0
    first_half = text_width(labels[0], label_size) / 2 if labels else 0.0
    left = max(left, first_half + 6)
    right = max(24.0, last_half + 6)
    plot = width - left - right

    def x_of(index: int) -> float:
        return left + plot / 2 if count == 1 else left + plot * index / (count - 1)

    def y_of(value: float) -> float:
        return axis - plot_height * (value - low) / (high - low)

    for value in ticks:
        y = y_of(value)
        svg.add("line", x1=left, y1=y, x2=left + plot, y2=y, stroke="#ddd")
        svg.text(tick_text(value), left - 6, y + 4, "tick", "end")
    svg.add("line", x1=left, y1=top, x2=left, y2=axis, stroke="#333")
    svg.add("line", x1=left, y1=axis, x2=left + plot, y2=axis, stroke="#333")
    xs = [x_of(i) for i in range(count)]
    for index in _shown_labels(xs, labels, label_size):
        svg.text(labels[index], xs[index], axis + 20, "label", "middle")
    if not labels:
        svg.text(_("Inga värden"), left + 10, axis - 10, "empty")
    points: list[tuple[int, int, float, float, float | str]] = []
    for number, series in enumerate(chart.series):
        colour = PALETTE[number % len(PALETTE)]
        segments: list[list[tuple[float, float]]] = [[]]
        for index, point in enumerate(series.values):
            drawn = _drawn(point)
            if drawn is None:
                segments.append([])
                continue
            segments[-1].append((x_of(index), y_of(drawn)))
            points.append((index, number, x_of(index), y_of(drawn), point))
        for segment in segments:
            if len(segment) > 1:
                svg.add(
                    "polyline",
                    points=segment,
                    fill="none",
                    stroke=colour,
                    stroke_width=2,
                    class_="line",
                    data_series=series.name,
                )
        for index, point in enumerate(series.values):
            drawn = _drawn(point)
            if drawn is None:
                continue
            label = chart.labels[index]
            tooltip = f"{series.name}, {label}: {value_label(point, chart.unit)}"
            svg.add(
                "circle",
                children=f"<title>{escape(tooltip)}</title>",
                cx=x_of(index),
                cy=y_of(drawn),
                r=4,
                fill=colour,
                class_="point",
                data_series=series.name,
                data_label=label,
                data_value=_data_value(point),
            )
    svg.obstacles = [(x - 4, y - 4, x + 4, y + 4) for _i, _n, x, y, _v in points]
    lowest = axis + 20 - ASCENT * label_size - 1
    # Column by column, the highest point first: it gets the place above.
    for _index, _series, x, y, point in sorted(points, key=lambda p: (p[0], p[3], p[1])):
        text = value_label(point, chart.unit)
        cx, cy, anchor = _place(svg, text, x, y, lowest)
        svg.text(text, cx, cy, "value", anchor)
    dy = max(0.0, 4 - svg.top())
    return _open(chart, width, axis + 30 + dy, svg.render(dy))


def svg_chart(chart: Chart) -> Markup:
    """*chart* as an inline ``<svg>`` element (escaped, ready for HTML).

    Bars are ``<rect class="bar">`` and points ``<circle class="point">``,
    each with ``data-series``, ``data-label`` and ``data-value``; every text
    has its ``font-size``, so :func:`text_box` can tell where it is.

    :raises ValueError: for an unknown kind or a series with as many values
        as the chart has labels.
    """
    _check_chart(chart)
    return _bar_chart(chart) if chart.kind == "bar" else _line_chart(chart)


def texts(svg: Iterable[Any]) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Every ``<text>`` of a parsed SVG (``xml.etree`` elements) with its
    box: for tests and checks of a drawn chart."""
    found = []
    for element in svg:
        if element.tag.rsplit("}", 1)[-1] != "text":
            continue
        text = "".join(element.itertext())
        size = float(element.get("font-size", "12"))
        box = text_box(
            float(element.get("x", "0")),
            float(element.get("y", "0")),
            text,
            size,
            element.get("text-anchor", "start"),
        )
        found.append((text, box))
    return found

"""The reports' SVG charts (klagomal.reports.charts): scaled to their data,
labels that never overlap, as wide as the page, and colours with enough
contrast (WCAG 2.1, 1.4.11)."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from klagomal.reports import charts
from klagomal.reports.charts import BACKGROUND, PALETTE, contrast, svg_chart, text_box
from klagomal.reports.model import Chart, Series

MONTHS = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


def parse(chart: Chart) -> ET.Element:
    return ET.fromstring(str(svg_chart(chart)))


def boxes(svg: ET.Element) -> list[tuple[str, tuple[float, float, float, float]]]:
    return charts.texts(svg.iter())


def assert_apart(svg: ET.Element) -> None:
    """No two texts' boxes meet, and every one lies inside the viewBox."""
    _x, _y, width, height = (float(v) for v in (svg.get("viewBox") or "").split())
    found = boxes(svg)
    for (a, box_a), (b, box_b) in itertools.combinations(found, 2):
        overlap = box_a[0] < box_b[2] and box_b[0] < box_a[2] and box_a[1] < box_b[3] and box_b[1] < box_a[3]
        assert not overlap, f"{a!r} {box_a} meets {b!r} {box_b}"
    for text, (left, top, right, bottom) in found:
        assert left >= 0, text
        assert right <= width, text
        assert top >= 0, text
        assert bottom <= height, text


# -- the reviewer's chart ------------------------------------------------------------

TIMELINESS = Chart(
    "tidsfrister-trend",
    "Tidsfrister månad för månad",
    "line",
    tuple(f"{m} 2026" for m in MONTHS[:6]),
    (
        Series("Besked i tid", (100.0, 93.9, 96.2, 100.0, 98.5, 91.0)),
        Series("Svar senast utlovat datum", (93.9, 100.0, 96.0, 100.0, 97.1, 94.4)),
    ),
    "%",
)


def test_the_timeliness_axis_fits_its_points() -> None:
    svg = parse(TIMELINESS)
    ticks = ["".join(t.itertext()) for t in svg.iter("text") if t.get("class") == "tick"]
    assert ticks[0] == "90 %"
    assert ticks[-1] == "100 %"
    assert "0 %" not in ticks
    # The unit is on the ticks: no title of its own that could stand on one.
    assert all(t.get("class") != "unit" for t in svg.iter("text"))
    assert_apart(svg)


def test_equal_values_at_one_month_get_labels_apart() -> None:
    chart = Chart(
        "t", "t", "line", ("jan", "feb"), (Series("a", (100.0, 95.0)), Series("b", (100.0, 95.0))), "%"
    )
    svg = parse(chart)
    values = [t for t in svg.iter("text") if t.get("class") == "value"]
    assert sorted("".join(t.itertext()) for t in values) == ["100 %", "100 %", "95 %", "95 %"]
    assert_apart(svg)


def test_a_single_point_sits_inside_its_axis() -> None:
    svg = parse(Chart("t", "t", "line", ("jan",), (Series("a", (100.0,)),), "%"))
    ticks = ["".join(t.itertext()) for t in svg.iter("text") if t.get("class") == "tick"]
    assert ticks[-1] == "100 %"
    assert ticks[0] != "100 %"
    assert_apart(svg)


def test_charts_are_as_wide_as_the_page() -> None:
    for chart in (TIMELINESS, Chart("b", "b", "bar", ("a", "b"), (Series("s", (3, 4)),), "ärenden")):
        svg = parse(chart)
        assert svg.get("width") == "100%"
        assert svg.get("height") is None
        assert re.fullmatch(r"0 0 \d+(\.\d+)? \d+(\.\d+)?", svg.get("viewBox") or "")


# -- contrast (WCAG 2.1, 1.4.11) ---------------------------------------------------


def test_every_series_colour_has_a_contrast_of_3_to_1() -> None:
    assert len(set(PALETTE)) == len(PALETTE)
    for colour in PALETTE:
        assert contrast(colour, BACKGROUND) >= 3.0, colour


def test_the_contrast_is_wcags() -> None:
    assert math.isclose(contrast("#000000", "#FFFFFF"), 21.0)
    assert math.isclose(contrast("#FFFFFF", "#FFFFFF"), 1.0)
    assert 2.2 < contrast("#E69F00") < 2.3  # the orange the reviewer measured


def test_every_series_colour_drawn_is_from_the_palette() -> None:
    chart = Chart(
        "b", "b", "bar", ("x",), tuple(Series(f"s{i}", (i + 1,)) for i in range(len(PALETTE) + 2)), "ärenden"
    )
    fills = {e.get("fill") for e in parse(chart).iter() if e.get("class") in ("bar", "legend")}
    assert fills == set(PALETTE)


# -- no label overlaps another, whatever the data -----------------------------------------

_value = st.one_of(
    st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda v: round(v, 1)),
    st.sampled_from(["<3", "..", float("nan")]),
)
_count = st.one_of(st.integers(min_value=0, max_value=250_000), st.sampled_from(["<3", ".."]))
_name = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzåäöABCDEFGHIJKLMNOPQRSTUVWXYZÅÄÖ -", min_size=1, max_size=60
)


@st.composite
def line_charts(draw: st.DrawFn) -> Chart:
    count = draw(st.integers(min_value=1, max_value=13))
    labels = tuple(f"{MONTHS[i % 12]} {2025 + (i // 12)}" for i in range(count))
    series = draw(st.lists(st.lists(_value, min_size=count, max_size=count), min_size=1, max_size=4))
    names = draw(st.lists(_name, min_size=len(series), max_size=len(series)))
    unit = draw(st.sampled_from(["%", "ärenden", ""]))
    return Chart(
        "l", "l", "line", labels, tuple(Series(n, tuple(v)) for n, v in zip(names, series, strict=True)), unit
    )


@st.composite
def bar_charts(draw: st.DrawFn) -> Chart:
    labels = tuple(draw(st.lists(_name, min_size=0, max_size=10)))
    series = draw(
        st.lists(st.lists(_count, min_size=len(labels), max_size=len(labels)), min_size=1, max_size=4)
    )
    names = draw(st.lists(_name, min_size=len(series), max_size=len(series)))
    return Chart(
        "b",
        "b",
        "bar",
        labels,
        tuple(Series(n, tuple(v)) for n, v in zip(names, series, strict=True)),
        "ärenden",
    )


@settings(max_examples=150, deadline=None)
@given(line_charts())
def test_no_text_of_a_line_chart_meets_another(chart: Chart) -> None:
    assert_apart(parse(chart))


@settings(max_examples=150, deadline=None)
@given(bar_charts())
def test_no_text_of_a_bar_chart_meets_another(chart: Chart) -> None:
    assert_apart(parse(chart))


def test_the_box_of_a_text_follows_its_anchor() -> None:
    start = text_box(100, 50, "93,9 %", 11, "start")
    middle = text_box(100, 50, "93,9 %", 11, "middle")
    end = text_box(100, 50, "93,9 %", 11, "end")
    assert start[0] == 100
    assert end[2] == 100
    assert math.isclose((middle[0] + middle[2]) / 2, 100)
    assert start[1] < 50 < start[3]

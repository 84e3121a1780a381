"""Reporting periods: tertials for staff (R17), half-years for politicians (R18)."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from klagomal.reports.model import Period
from klagomal.reports.periods import (
    FIRST_YEAR,
    LAST_YEAR,
    half_years,
    parse_period,
    previous_period,
    same_period_last_year,
    tertials,
)

D = dt.date
ONE_DAY = dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "id", "start", "end", "label"),
    [
        ("2026-T1", "2026-T1", D(2026, 1, 1), D(2026, 4, 30), "tertial 1 2026 (januari–april)"),
        ("2026-T2", "2026-T2", D(2026, 5, 1), D(2026, 8, 31), "tertial 2 2026 (maj–augusti)"),
        ("2026-t3", "2026-T3", D(2026, 9, 1), D(2026, 12, 31), "tertial 3 2026 (september–december)"),
        ("2026-H1", "2026-H1", D(2026, 1, 1), D(2026, 6, 30), "halvår 1 2026 (januari–juni)"),
        ("2026-h2", "2026-H2", D(2026, 7, 1), D(2026, 12, 31), "halvår 2 2026 (juli–december)"),
        ("2026", "2026", D(2026, 1, 1), D(2026, 12, 31), "år 2026"),
        (
            "2026-03-01..2026-05-31",
            "2026-03-01..2026-05-31",
            D(2026, 3, 1),
            D(2026, 5, 31),
            "1 mars–31 maj 2026",
        ),
        (
            " 2025-12-01 .. 2026-02-28 ",
            "2025-12-01..2026-02-28",
            D(2025, 12, 1),
            D(2026, 2, 28),
            "1 december 2025–28 februari 2026",
        ),
        ("2026-03-04..2026-03-04", "2026-03-04..2026-03-04", D(2026, 3, 4), D(2026, 3, 4), "4 mars 2026"),
    ],
)
def test_parse_period(text: str, id: str, start: dt.date, end: dt.date, label: str) -> None:
    assert parse_period(text) == Period(id=id, start=start, end=end, label=label)


def test_half_years_follow_the_budget_forecast_dates() -> None:
    h1 = parse_period("2026-H1", half_years=((1, 1), (9, 1)))
    h2 = parse_period("2026-H2", half_years=((1, 1), (9, 1)))
    assert (h1.start, h1.end, h1.label) == (D(2026, 1, 1), D(2026, 8, 31), "halvår 1 2026 (januari–augusti)")
    assert (h2.start, h2.end, h2.label) == (
        D(2026, 9, 1),
        D(2026, 12, 31),
        "halvår 2 2026 (september–december)",
    )


def test_a_half_year_that_starts_mid_month_is_labelled_with_dates() -> None:
    h1 = parse_period("2026-H1", half_years=((1, 1), (7, 15)))
    assert h1.end == D(2026, 7, 14)
    assert h1.label == "halvår 1 2026 (1 januari–14 juli)"


@pytest.mark.parametrize(
    "text",
    ["2026-Q1", "", "T2", "2026-T", "26-T1", "2026-03-01/2026-05-31", "2026-03-01 - 2026-05-31", "maj"],
)
def test_unknown_period_names_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="okänd period") as info:
        parse_period(text)
    message = str(info.value)
    for form in ("2026-T2", "2026-H1", "2026 ", "2026-03-01..2026-05-31"):
        assert form in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-T4", "tertial 4 finns inte"),
        ("2026-T0", "tertial 0 finns inte"),
        ("2026-H3", "halvår 3 finns inte"),
        ("2026-02-30..2026-03-31", "datumet 2026-02-30 finns inte"),
        ("2026-3-1..2026-05-31", "inget datum"),
        ("2026-05-31..2026-03-01", "slutar 2026-03-01 innan den börjar 2026-05-31"),
    ],
)
def test_invalid_periods_are_refused_in_swedish(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_period(text)


@pytest.mark.parametrize(
    ("starts", "message"),
    [
        (((2, 1), (7, 1)), "första halvåret måste börja 1 januari"),
        (((1, 1), (2, 29)), "inte finns"),
        (((1, 1), (13, 1)), "inte finns"),
        (((1, 1), (1, 1)), "kan inte börja 1 januari"),
    ],
)
def test_invalid_half_year_starts(starts: tuple[tuple[int, int], tuple[int, int]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_period("2026-H1", half_years=starts)
    with pytest.raises(ValueError, match=message):
        half_years(2026, starts)


def test_tertials_and_half_years_lists() -> None:
    assert [p.id for p in tertials(2026)] == ["2026-T1", "2026-T2", "2026-T3"]
    assert [p.id for p in half_years(2026)] == ["2026-H1", "2026-H2"]
    assert tertials(2026)[1] == parse_period("2026-T2")


@pytest.mark.parametrize(
    ("text", "previous"),
    [
        ("2026-T1", "2025-T3"),
        ("2026-T2", "2026-T1"),
        ("2026-T3", "2026-T2"),
        ("2026-H1", "2025-H2"),
        ("2026-H2", "2026-H1"),
        ("2026", "2025"),
        ("2026-03-01..2026-05-31", "2025-11-29..2026-02-28"),
        ("2026-03-04..2026-03-04", "2026-03-03..2026-03-03"),
    ],
)
def test_previous_period(text: str, previous: str) -> None:
    assert previous_period(parse_period(text)) == parse_period(previous)


def test_previous_half_year_keeps_the_kommuns_split() -> None:
    starts = ((1, 1), (9, 1))
    h1 = parse_period("2026-H1", half_years=starts)
    assert previous_period(h1) == parse_period("2025-H2", half_years=starts)
    h2 = parse_period("2026-H2", half_years=starts)
    assert previous_period(h2) == h1


@pytest.mark.parametrize(
    ("text", "last_year"),
    [
        ("2026-T2", "2025-T2"),
        ("2026-H2", "2025-H2"),
        ("2026", "2025"),
        ("2026-03-01..2026-05-31", "2025-03-01..2025-05-31"),
        ("2024-02-29..2024-03-31", "2023-02-28..2023-03-31"),
        ("2024-01-01..2024-02-29", "2023-01-01..2023-02-28"),
    ],
)
def test_same_period_last_year(text: str, last_year: str) -> None:
    assert same_period_last_year(parse_period(text)) == parse_period(last_year)


def test_same_half_year_last_year_across_a_leap_day() -> None:
    starts = ((1, 1), (3, 1))
    h1 = parse_period("2024-H1", half_years=starts)
    assert h1.end == D(2024, 2, 29)
    assert same_period_last_year(h1) == parse_period("2023-H1", half_years=starts)
    assert same_period_last_year(h1).end == D(2023, 2, 28)


def _tiles(periods: list[Period], year: int) -> bool:
    if periods[0].start != D(year, 1, 1) or periods[-1].end != D(year, 12, 31):
        return False
    return all(a.end + ONE_DAY == b.start for a, b in itertools.pairwise(periods)) and all(
        p.start <= p.end for p in periods
    )


# A valid start of H2: any day from 2 January to 31 December that every year has.
_splits = st.dates(min_value=D(2025, 1, 2), max_value=D(2025, 12, 31)).map(lambda d: (d.month, d.day))


@given(year=st.integers(2000, 2100), split=_splits)
def test_tertials_and_half_years_tile_the_year(year: int, split: tuple[int, int]) -> None:
    assert _tiles(tertials(year), year)
    halves = half_years(year, ((1, 1), split))
    assert _tiles(halves, year)
    assert halves[1].start == D(year, *split)
    assert sum((p.end - p.start).days + 1 for p in halves) == (D(year + 1, 1, 1) - D(year, 1, 1)).days


@given(year=st.integers(2000, 2100), split=_splits, which=st.integers(0, 5))
def test_previous_period_ends_the_day_before(year: int, split: tuple[int, int], which: int) -> None:
    candidates = [*tertials(year), *half_years(year, ((1, 1), split)), parse_period(str(year))]
    period = candidates[which]
    before = previous_period(period)
    assert before.end + ONE_DAY == period.start
    # The same kind of period: a tertial before a tertial, a half-year before a half-year.
    assert before.id[4:6] == period.id[4:6]


@given(
    start=st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 12, 31)),
    days=st.integers(0, 800),
)
def test_previous_range_has_the_same_length(start: dt.date, days: int) -> None:
    period = parse_period(f"{start.isoformat()}..{(start + dt.timedelta(days=days)).isoformat()}")
    before = previous_period(period)
    assert before.end + ONE_DAY == period.start
    assert before.end - before.start == period.end - period.start


# -- the years a period may lie in (issue 17) -------------------------------------------------


@given(
    st.one_of(
        st.integers(0, 9999).map(lambda y: f"{y:04d}"),
        st.tuples(st.integers(0, 9999), st.sampled_from("TH"), st.integers(1, 3)).map(
            lambda t: f"{t[0]:04d}-{t[1]}{t[2]}"
        ),
        st.tuples(st.dates(), st.dates()).map(lambda d: f"{d[0].isoformat()}..{d[1].isoformat()}"),
    )
)
def test_a_period_is_refused_in_swedish_or_can_be_compared(text: str) -> None:
    # A report compares a period with the one before and the same one a year
    # earlier: whatever a user writes is refused with a Swedish ValueError, or
    # both exist (no OverflowError, no "year 0 is out of range").
    try:
        period = parse_period(text)
    except ValueError as exc:
        refused = str(exc)
    else:
        refused = ""
    if refused:
        assert not re.search(r"out of range|year|month|day is|must be|invalid", refused), refused
        return
    assert FIRST_YEAR <= period.start.year <= period.end.year <= LAST_YEAR
    previous_period(period)
    same_period_last_year(period)


@pytest.mark.parametrize(
    "text", ["0001-T1", "1899", "2200-H1", "0001-01-01..9999-12-31", "1899-12-31..1900-01-01"]
)
def test_a_period_outside_the_years_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=f"perioden {re.escape(text)} ligger utanför åren 1900–2199"):
        parse_period(text)

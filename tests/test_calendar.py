"""The working-day calendar (klagomal.deadlines.calendars): R7, R10 and R11 are counted on it.

Expected dates are worked out by hand from lag 1930:173 and lag 1989:253 (see
docs/calendar.md), or taken from workalendar's Sweden where it is right (from
2005), never from the calendar under test.
"""

from __future__ import annotations

import collections
import datetime as dt
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from workalendar.europe import Sweden

from klagomal.core.errors import CalendarError, InvalidInputError
from klagomal.deadlines import calendars
from klagomal.deadlines.calendars import (
    SWEDISH_CALENDAR,
    Calendar,
    WorkingCalendar,
    as_working_calendar,
    swedish_calendar,
    swedish_holidays,
)

FIRST = dt.date(2000, 1, 1)
LAST = dt.date(2100, 12, 31)
WORKALENDAR = Sweden()
DOC = Path(__file__).resolve().parents[1] / "docs" / "calendar.md"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

quick = settings(max_examples=200, deadline=None, database=None)

dates_2005_2100 = st.dates(min_value=dt.date(2005, 1, 1), max_value=LAST)
dates_in_range = st.dates(min_value=FIRST, max_value=LAST)


@pytest.fixture(scope="module")
def se() -> Iterator[WorkingCalendar]:
    """The Swedish calendar, built anew for this module from workalendar.

    Not the process's cached one: whatever built that (an earlier test, or
    the parent process of a mutation run) would otherwise be what these
    tests check, and the construction of the index would go untested.
    """
    with pytest.MonkeyPatch.context() as patch:
        for cached in ("_swedish", "_non_working", "_workalendar_sweden"):
            patch.setattr(calendars, cached, None)
        built = swedish_calendar()
        assert built is swedish_calendar()
        yield built


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


# -- the examples of the issue ------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # R7: the besked is due ten working days after receipt.
        (dt.date(2026, 12, 18), dt.date(2027, 1, 8)),
        (dt.date(2026, 12, 24), dt.date(2027, 1, 13)),
        (dt.date(2026, 6, 19), dt.date(2026, 7, 3)),
        (dt.date(2026, 4, 3), dt.date(2026, 4, 20)),
    ],
)
def test_ten_working_days_after_the_issues_examples(se: WorkingCalendar, start: dt.date, expected: dt.date):
    # R7
    assert se.add_working_days(start, 10) == expected
    assert se.working_days_between(start, expected) == 10


def test_the_swedish_calendar_is_one_object_named_se_with_its_range():
    se = swedish_calendar()
    assert se is swedish_calendar()
    assert se.name == SWEDISH_CALENDAR == "se"
    assert "1930:173" in se.label
    assert (se.first_day, se.last_day) == (FIRST, LAST)
    assert isinstance(se, Calendar)


# -- the edge-case table in docs/calendar.md ------------------------------------------

ROW = re.compile(
    r"^\| (?P<start>\d{4}-\d{2}-\d{2}) \((?P<start_day>\w{3})\) \| (?P<n>\d+) \| "
    r"(?:(?P<result>\d{4}-\d{2}-\d{2}) \((?P<result_day>\w{3})\)|(?P<error>error)) \| (?P<why>.+) \|$"
)


def _edge_rows() -> list[re.Match[str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Edge cases\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    assert lines[0] == "| from | n | result | why |"
    assert set(lines[1]) <= {"|", "-"}
    rows = []
    for line in lines[2:]:
        match = ROW.match(line)
        assert match, f"a row of the edge-case table that the test cannot read: {line}"
        rows.append(match)
    return rows


EDGE_ROWS = _edge_rows()


def test_the_edge_case_table_covers_the_years_that_matter():
    years = {int(row["start"][:4]) for row in EDGE_ROWS}
    assert {2000, 2003, 2004, 2005, 2024, 2026, 2027, 2038, 2099, 2100} <= years
    assert len(EDGE_ROWS) >= 30
    assert any(row["error"] for row in EDGE_ROWS)


@pytest.mark.parametrize("row", EDGE_ROWS, ids=[f"{row['start']}+{row['n']}" for row in EDGE_ROWS])
def test_the_edge_case_table_in_the_docs_holds(se: WorkingCalendar, row: re.Match[str]):
    # R7, R10: every deadline around the holidays lands where the law says.
    start, n = dt.date.fromisoformat(row["start"]), int(row["n"])
    assert WEEKDAYS[start.weekday()] == row["start_day"], "the table names the wrong weekday"
    if row["error"]:
        with pytest.raises(CalendarError, match=re.escape(str(LAST))):
            se.add_working_days(start, n)
        return
    result = dt.date.fromisoformat(row["result"])
    assert WEEKDAYS[result.weekday()] == row["result_day"], "the table names the wrong weekday"
    assert se.add_working_days(start, n) == result
    assert se.working_days_between(start, result) == n


# -- agreement with workalendar from 2005 ------------------------------------------------


@quick
@given(day=dates_2005_2100, n=st.integers(min_value=0, max_value=60))
def test_add_working_days_agrees_with_workalendar_from_2005(day: dt.date, n: int):
    expected = WORKALENDAR.add_working_days(day, n)
    se = swedish_calendar()
    if expected <= LAST:
        assert se.add_working_days(day, n) == expected
    else:
        with pytest.raises(CalendarError):
            se.add_working_days(day, n)


@pytest.mark.parametrize(
    ("day", "n"),
    [(dt.date(2100, 12, 30), 1), (dt.date(2100, 12, 23), 5), (dt.date(2100, 12, 1), 40), (LAST, 1)],
)
def test_a_result_beyond_the_range_is_an_error_exactly_where_workalendar_leaves_it(
    se: WorkingCalendar, day: dt.date, n: int
):
    assert WORKALENDAR.add_working_days(day, n) > LAST
    with pytest.raises(CalendarError):
        se.add_working_days(day, n)


def test_every_day_from_2005_to_2100_agrees_with_workalendar(se: WorkingCalendar):
    differ = [
        day
        for day in days(dt.date(2005, 1, 1), LAST)
        if se.is_working_day(day) != WORKALENDAR.is_working_day(day)
    ]
    assert differ == []


def test_in_2000_to_2004_only_the_two_corrections_differ_from_workalendar(se: WorkingCalendar):
    # Nationaldagen is a holiday from 2005 (SFS 2004:1320); annandag pingst until 2004.
    differ = {
        day: se.is_working_day(day)
        for day in days(FIRST, dt.date(2004, 12, 31))
        if se.is_working_day(day) != WORKALENDAR.is_working_day(day)
    }
    national_days = {
        dt.date(year, 6, 6): True for year in range(2000, 2005) if dt.date(year, 6, 6).weekday() < 5
    }
    whit_mondays = {
        dt.date(2000, 6, 12): False,
        dt.date(2001, 6, 4): False,
        dt.date(2002, 5, 20): False,
        dt.date(2003, 6, 9): False,
        dt.date(2004, 5, 31): False,
    }
    assert differ == national_days | whit_mondays
    assert len(national_days) == 4  # 6 June 2004 was a Sunday


# -- holidays by name ------------------------------------------------------------------


def test_the_holidays_of_2026_by_name():
    assert swedish_holidays(2026) == {
        dt.date(2026, 1, 1): "Nyårsdagen",
        dt.date(2026, 1, 6): "Trettondedag jul",
        dt.date(2026, 4, 3): "Långfredagen",
        dt.date(2026, 4, 5): "Påskdagen",
        dt.date(2026, 4, 6): "Annandag påsk",
        dt.date(2026, 5, 1): "Första maj",
        dt.date(2026, 5, 14): "Kristi himmelsfärdsdag",
        dt.date(2026, 5, 24): "Pingstdagen",
        dt.date(2026, 6, 6): "Sveriges nationaldag",  # a Saturday: listed all the same
        dt.date(2026, 6, 19): "Midsommarafton",
        dt.date(2026, 6, 20): "Midsommardagen",
        dt.date(2026, 10, 31): "Alla helgons dag",
        dt.date(2026, 12, 24): "Julafton",
        dt.date(2026, 12, 25): "Juldagen",
        dt.date(2026, 12, 26): "Annandag jul",
        dt.date(2026, 12, 31): "Nyårsafton",
    }


def test_the_holidays_of_2004_have_annandag_pingst_and_no_national_day():
    assert swedish_holidays(2004) == {
        dt.date(2004, 1, 1): "Nyårsdagen",
        dt.date(2004, 1, 6): "Trettondedag jul",
        dt.date(2004, 4, 9): "Långfredagen",
        dt.date(2004, 4, 11): "Påskdagen",
        dt.date(2004, 4, 12): "Annandag påsk",
        dt.date(2004, 5, 1): "Första maj",
        dt.date(2004, 5, 20): "Kristi himmelsfärdsdag",
        dt.date(2004, 5, 30): "Pingstdagen",
        dt.date(2004, 5, 31): "Annandag pingst",
        dt.date(2004, 6, 25): "Midsommarafton",
        dt.date(2004, 6, 26): "Midsommardagen",
        dt.date(2004, 11, 6): "Alla helgons dag",
        dt.date(2004, 12, 24): "Julafton",
        dt.date(2004, 12, 25): "Juldagen",
        dt.date(2004, 12, 26): "Annandag jul",
        dt.date(2004, 12, 31): "Nyårsafton",
    }


def test_two_holidays_on_one_day_keep_both_names():
    assert swedish_holidays(2008)[dt.date(2008, 5, 1)] == "Första maj, Kristi himmelsfärdsdag"


def test_every_listed_holiday_is_a_non_working_day(se: WorkingCalendar):
    for year in (2000, 2004, 2005, 2026, 2100):
        for day in swedish_holidays(year):
            assert not se.is_working_day(day), day


@pytest.mark.parametrize("year", [1999, 2101])
def test_holidays_outside_the_range_are_refused(year: int):
    with pytest.raises(CalendarError, match=f"2000–2100, inte {year}"):
        swedish_holidays(year)


def test_a_holiday_workalendar_adds_that_klagomal_does_not_know_is_an_error(monkeypatch: pytest.MonkeyPatch):
    class SwedenWithANewHoliday(Sweden):  # a real workalendar calendar, as a future version might be
        FIXED_HOLIDAYS = (*Sweden.FIXED_HOLIDAYS, (3, 8, "Women's Day"))

    monkeypatch.setattr(calendars, "_workalendar_sweden", SwedenWithANewHoliday())
    with pytest.raises(CalendarError) as caught:
        swedish_holidays(2026)
    assert str(caught.value) == (
        "workalendar anger en helgdag som klagomal inte känner till: Women's Day (2026-03-08); "
        "den svenska kalendern måste ses över"
    )


def test_a_fresh_index_agrees_with_workalendar_and_the_two_corrections_every_day(
    monkeypatch: pytest.MonkeyPatch,
):
    """The whole construction of the Swedish index, in one test: every day
    of the hundred years, and every year's holidays in date order."""
    for cached in ("_swedish", "_non_working", "_workalendar_sweden"):
        monkeypatch.setattr(calendars, cached, None)
    fresh = swedish_calendar()
    assert fresh.label == "Sverige (lag 1930:173 om beräkning av lagstadgad tid)"
    corrected = {
        **{dt.date(year, 6, 6): dt.date(year, 6, 6).weekday() < 5 for year in range(2000, 2005)},
        **dict.fromkeys((dt.date(2000, 6, 12), dt.date(2001, 6, 4), dt.date(2002, 5, 20)), False),
        **dict.fromkeys((dt.date(2003, 6, 9), dt.date(2004, 5, 31)), False),
    }
    differ = [
        day
        for day in days(FIRST, LAST)
        if fresh.is_working_day(day) != corrected.get(day, WORKALENDAR.is_working_day(day))
    ]
    assert differ == []
    for year in range(2000, 2101):
        listed = list(swedish_holidays(year))
        assert listed == sorted(listed), year
        # Where two holidays share a day, the law's order is also the
        # alphabetical one (docs/testing.md, the equivalent mutants).
        raw = calendars._holiday_list(year)
        assert raw == sorted(raw), year


# -- exact messages ----------------------------------------------------------------


def test_a_calendar_that_ends_before_it_starts_is_refused():
    with pytest.raises(CalendarError) as caught:
        WorkingCalendar("bakvänd", "Bakvänd", dt.date(2027, 1, 1), dt.date(2026, 12, 31), lambda day: True)
    assert str(caught.value) == "kalendern 'bakvänd' slutar (2026-12-31) före sin första dag (2027-01-01)"


def test_the_range_errors_word_for_word(se: WorkingCalendar):
    range_ = "kalendern 'se', Sverige (lag 1930:173 om beräkning av lagstadgad tid), "
    range_ += "som gäller från 2000-01-01 till och med 2100-12-31"
    with pytest.raises(CalendarError) as caught:
        se.is_working_day(AFTER)
    assert str(caught.value) == f"datumet 2101-01-01 ligger utanför {range_}"
    with pytest.raises(CalendarError) as caught:
        se.add_working_days(dt.date(2100, 12, 30), 1)
    assert str(caught.value) == f"1 arbetsdag efter 2100-12-30 ligger utanför {range_}"
    with pytest.raises(CalendarError) as caught:
        se.add_working_days_many([MID, MID], [1])
    assert str(caught.value) == "add_working_days_many: listorna har olika längd (2 och 1)"
    with pytest.raises(CalendarError) as caught:
        se.working_days_between_many([MID], [MID, MID])
    assert str(caught.value) == "working_days_between_many: listorna har olika längd (1 och 2)"
    with pytest.raises(CalendarError) as caught:
        swedish_holidays(2101)
    assert str(caught.value) == "den svenska kalendern gäller åren 2000–2100, inte 2101"
    assert se.with_closed_days([MID]).label == f"{se.label}, med 1 egen stängd dag"


def test_the_first_negative_count_is_the_one_named(se: WorkingCalendar):
    with pytest.raises(CalendarError) as caught:
        se.add_working_days_many([MID, MID, MID], [3, 0, -2])
    assert str(caught.value) == "antalet arbetsdagar kan inte vara negativt: -2"


def test_a_datetime_before_the_range_is_refused_by_the_bulk_path_too(se: WorkingCalendar):
    # A datetime cannot be compared with the range's dates; it must not slip
    # past the check into the index, where a negative offset counts from the end.
    with pytest.raises(CalendarError, match=r"^datumet 1990-01-01 00:00:00 ligger utanför kalendern 'se'"):
        se.add_working_days_many([dt.datetime(1990, 1, 1)], 1)


def test_counts_may_be_any_iterable(se: WorkingCalendar):
    assert se.add_working_days_many([MID, MID], iter([1, 2])) == [dt.date(2026, 3, 3), dt.date(2026, 3, 4)]
    assert se.add_working_days_many([MID, MID], range(2)) == [MID, dt.date(2026, 3, 3)]


def test_a_reversed_pair_among_others_counts_zero_and_leaves_the_others(se: WorkingCalendar):
    assert se.working_days_between_many(
        [MID, MID, MID], [MID - dt.timedelta(days=3), dt.date(2026, 3, 3), MID]
    ) == [
        0,
        1,
        0,
    ]


def test_the_first_answer_of_a_fresh_calendar_builds_its_index():
    for ask in (
        lambda c: c.working_days_between(dt.date(2026, 1, 2), dt.date(2026, 1, 9)),
        lambda c: c.add_working_days(dt.date(2026, 1, 2), 5),
        lambda c: c.working_days_left(dt.date(2026, 1, 9), dt.date(2026, 1, 2)),
        lambda c: c.add_working_days_many([dt.date(2026, 1, 2)], 5)[0],
    ):
        fresh = WorkingCalendar(
            "v", "Vardagar", dt.date(2026, 1, 1), dt.date(2026, 12, 31), lambda d: d.weekday() < 5
        )
        assert ask(fresh) in (5, dt.date(2026, 1, 9))


def test_answers_within_the_range_never_take_the_slow_path(
    se: WorkingCalendar, monkeypatch: pytest.MonkeyPatch
):
    """The index answers in-range questions itself; the checked path is for
    n = 0 and for errors.  (The bulk paths fall back on it for any failure,
    so a broken fast path would give right answers a hundred times slower.)"""

    def slow(*args: object) -> object:
        raise AssertionError(f"the slow path was taken for {args[1:]}")

    days_ = [FIRST, MID, dt.date(2026, 12, 24), dt.date(2100, 12, 1)]
    expected_one = [se.add_working_days(day, 1) for day in days_]
    expected_mixed = [se.add_working_days(day, n) for day, n in zip(days_, [1, 0, 2, 3], strict=True)]
    expected_between = [se.working_days_between(FIRST, day) for day in days_]
    monkeypatch.setattr(WorkingCalendar, "_add_working_days_checked", slow)
    monkeypatch.setattr(WorkingCalendar, "working_days_between", slow)
    assert se.add_working_days(FIRST, 1) == dt.date(2000, 1, 3)
    assert se.add_working_days_many(days_, 1) == expected_one
    assert se.add_working_days_many(days_, [1, 1, 1, 1]) == expected_one
    assert se.add_working_days_many(days_, [1, 0, 2, 3]) == expected_mixed
    # The last day of the range, counted 0 days from, is answered by the index too.
    assert se.add_working_days_many([MID, LAST], [1, 0]) == [dt.date(2026, 3, 3), LAST]
    assert se.working_days_between_many([FIRST] * 4, days_) == expected_between
    assert se.working_days_between_many(days_, [FIRST] * 4) == [0, 0, 0, 0]


# -- the range -------------------------------------------------------------------


BEFORE, AFTER = dt.date(1999, 12, 31), dt.date(2101, 1, 1)
MID = dt.date(2026, 3, 2)
RANGE_DAYS = (LAST - FIRST).days + 1

#: Days before the range by one, by the range's length and by twice it (a
#: negative offset must not index a list from its end), and the extremes.
FAR_OUT = [
    BEFORE,
    FIRST - dt.timedelta(days=RANGE_DAYS),
    FIRST - dt.timedelta(days=2 * RANGE_DAYS),
    FIRST - dt.timedelta(days=2 * RANGE_DAYS + 17),
    dt.date.min,
    AFTER,
    LAST + dt.timedelta(days=RANGE_DAYS),
    dt.date.max,
]


@pytest.mark.parametrize("bad", FAR_OUT, ids=str)
def test_no_day_outside_the_range_gets_an_answer(se: WorkingCalendar, bad: dt.date):
    calls = [
        lambda: se.is_working_day(bad),
        lambda: se.add_working_days(bad, 1),
        lambda: se.add_working_days(bad, 0),
        lambda: se.working_days_between(bad, MID),
        lambda: se.working_days_between(MID, bad),
        lambda: se.working_days_left(bad, MID),
        lambda: se.add_working_days_many([MID, bad], 1),
        lambda: se.add_working_days_many([MID, bad], [1, 1]),
        lambda: se.add_working_days_many([MID, bad], [1, 0]),
        lambda: se.add_working_days_many([bad], 0),
        lambda: se.working_days_between_many([bad], [MID]),
        lambda: se.working_days_between_many([MID], [bad]),
        lambda: se.with_closed_days([bad]),
    ]
    for call in calls:
        with pytest.raises(CalendarError, match=re.escape(f"datumet {bad} ligger utanför")):
            call()


@pytest.mark.parametrize(
    ("call", "bad"),
    [
        (lambda c: c.is_working_day(BEFORE), BEFORE),
        (lambda c: c.is_working_day(AFTER), AFTER),
        (lambda c: c.add_working_days(BEFORE, 1), BEFORE),
        (lambda c: c.add_working_days(AFTER, 1), AFTER),
        (lambda c: c.add_working_days(BEFORE, 0), BEFORE),
        (lambda c: c.working_days_between(BEFORE, MID), BEFORE),
        (lambda c: c.working_days_between(MID, AFTER), AFTER),
        (lambda c: c.working_days_between(AFTER, MID), AFTER),  # even when the answer would be 0
        (lambda c: c.working_days_left(AFTER, MID), AFTER),
        (lambda c: c.working_days_left(MID, BEFORE), BEFORE),
        (lambda c: c.add_working_days_many([MID, AFTER], 1), AFTER),
        (lambda c: c.add_working_days_many([BEFORE, MID], [0, 1]), BEFORE),
        (lambda c: c.working_days_between_many([MID], [AFTER]), AFTER),
        (lambda c: c.with_closed_days([MID, AFTER]), AFTER),
    ],
)
def test_a_date_outside_the_range_is_an_error_naming_the_date_and_the_range(se: WorkingCalendar, call, bad):
    with pytest.raises(CalendarError) as caught:
        call(se)
    message = str(caught.value)
    assert f"datumet {bad} ligger utanför kalendern 'se'" in message
    assert "från 2000-01-01 till och med 2100-12-31" in message
    assert isinstance(caught.value, InvalidInputError)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.add_working_days(dt.date(2100, 12, 23), 5),
        lambda c: c.add_working_days_many([MID, dt.date(2100, 12, 23)], 5),
        lambda c: c.add_working_days_many([MID, dt.date(2100, 12, 23)], [1, 5]),
    ],
)
def test_a_result_beyond_the_end_is_an_error_naming_the_day_and_the_range(se: WorkingCalendar, call):
    with pytest.raises(CalendarError) as caught:
        call(se)
    assert str(caught.value) == (
        "5 arbetsdagar efter 2100-12-23 ligger utanför kalendern 'se', "
        "Sverige (lag 1930:173 om beräkning av lagstadgad tid), "
        "som gäller från 2000-01-01 till och med 2100-12-31"
    )


def test_the_first_and_last_days_of_the_range_can_be_used(se: WorkingCalendar):
    assert se.is_working_day(FIRST) is False  # nyårsdagen 2000, a Saturday
    assert se.add_working_days(FIRST, 1) == dt.date(2000, 1, 3)
    assert se.add_working_days(LAST, 0) == LAST
    assert se.is_working_day(LAST) is False  # nyårsafton 2100
    assert se.is_working_day(dt.date(2100, 12, 30)) is True
    assert se.working_days_between(FIRST, LAST) == se.working_days_between(FIRST, dt.date(2100, 12, 30))


# -- n = 0 and negative n --------------------------------------------------------------


@pytest.mark.parametrize(
    "day", [dt.date(2026, 3, 2), dt.date(2026, 12, 25), dt.date(2026, 3, 7), FIRST, LAST]
)
def test_zero_working_days_after_a_day_is_the_day_itself(se: WorkingCalendar, day: dt.date):
    assert se.add_working_days(day, 0) == day == WORKALENDAR.add_working_days(day, 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.add_working_days(MID, -1),
        lambda c: c.add_working_days_many([MID], -1),
        lambda c: c.add_working_days_many([MID, MID], [3, -1]),
    ],
)
def test_a_negative_number_of_working_days_is_an_error(se: WorkingCalendar, call):
    with pytest.raises(CalendarError, match=r"^antalet arbetsdagar kan inte vara negativt: -1$"):
        call(se)


# -- counting between days ---------------------------------------------------------------


@quick
@given(day=dates_in_range, n=st.integers(min_value=0, max_value=300))
def test_working_days_between_is_the_inverse_of_add_working_days(day: dt.date, n: int):
    se = swedish_calendar()
    try:
        result = se.add_working_days(day, n)
    except CalendarError:
        assert day > dt.date(2099, 1, 1)  # only near the end of the range
        return
    assert se.working_days_between(day, result) == n
    if n > 0:
        assert se.is_working_day(result)
        assert se.working_days_between(day, result - dt.timedelta(days=1)) == n - 1


@quick
@given(start=dates_in_range, span=st.integers(min_value=-30, max_value=60))
def test_working_days_between_counts_the_working_days_after_start_up_to_end(start: dt.date, span: int):
    se = swedish_calendar()
    end = min(max(start + dt.timedelta(days=span), FIRST), LAST)
    expected = sum(se.is_working_day(day) for day in days(start + dt.timedelta(days=1), end))
    assert se.working_days_between(start, end) == expected


def test_working_days_between_when_end_is_not_after_start_is_zero(se: WorkingCalendar):
    assert se.working_days_between(MID, MID) == 0
    assert se.working_days_between(dt.date(2027, 1, 8), dt.date(2026, 12, 18)) == 0


@pytest.mark.parametrize(
    ("today", "left"),
    [
        (dt.date(2026, 12, 18), 10),
        (dt.date(2027, 1, 7), 1),
        (dt.date(2027, 1, 8), 0),  # due today
        (dt.date(2027, 1, 9), 0),  # the Saturday after: passed, but no working day since
        (dt.date(2027, 1, 11), -1),
        (dt.date(2027, 1, 13), -3),
    ],
)
def test_working_days_left_is_signed(se: WorkingCalendar, today: dt.date, left: int):
    # R11: a handler sees how long is left before the promised date passes.
    assert se.working_days_left(dt.date(2027, 1, 8), today) == left


@quick
@given(deadline=dates_in_range, today=dates_in_range)
def test_working_days_left_is_between_with_a_sign(deadline: dt.date, today: dt.date):
    se = swedish_calendar()
    if deadline >= today:
        assert se.working_days_left(deadline, today) == se.working_days_between(today, deadline)
    else:
        assert se.working_days_left(deadline, today) == -se.working_days_between(deadline, today)


# -- the bulk path ---------------------------------------------------------------------


def _single_or_error(calendar: WorkingCalendar, pairs: list[tuple[dt.date, int]]) -> list[dt.date] | str:
    try:
        return [calendar.add_working_days(day, n) for day, n in pairs]
    except CalendarError as exc:
        return str(exc)


def _bulk_or_error(
    calendar: WorkingCalendar, days_: list[dt.date], n: int | list[int]
) -> list[dt.date] | str:
    try:
        return calendar.add_working_days_many(days_, n)
    except CalendarError as exc:
        return str(exc)


near_the_end = st.dates(min_value=dt.date(2100, 11, 1), max_value=LAST)


@quick
@given(
    days_=st.lists(st.one_of(dates_in_range, near_the_end), max_size=20),
    n=st.integers(min_value=0, max_value=60),
)
def test_add_working_days_many_with_one_n_equals_the_single_path(days_: list[dt.date], n: int):
    se = swedish_calendar()
    assert _bulk_or_error(se, days_, n) == _single_or_error(se, [(day, n) for day in days_])


@quick
@given(pairs=st.lists(st.tuples(st.one_of(dates_in_range, near_the_end), st.integers(0, 60)), max_size=20))
def test_add_working_days_many_with_one_n_per_day_equals_the_single_path(pairs: list[tuple[dt.date, int]]):
    se = swedish_calendar()
    days_, ns = [day for day, _n in pairs], [n for _day, n in pairs]
    assert _bulk_or_error(se, days_, ns) == _single_or_error(se, pairs)


@quick
@given(pairs=st.lists(st.tuples(dates_in_range, dates_in_range), max_size=20))
def test_working_days_between_many_equals_the_single_path(pairs: list[tuple[dt.date, dt.date]]):
    se = swedish_calendar()
    starts, ends = [start for start, _end in pairs], [end for _start, end in pairs]
    assert se.working_days_between_many(starts, ends) == [se.working_days_between(s, e) for s, e in pairs]


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.add_working_days_many([MID, MID], [1]),
        lambda c: c.add_working_days_many([MID], [1, 2]),
        lambda c: c.working_days_between_many([MID, MID], [MID]),
    ],
)
def test_bulk_lists_of_different_lengths_are_an_error(se: WorkingCalendar, call):
    with pytest.raises(CalendarError, match=r"listorna har olika längd \((1 och 2|2 och 1)\)"):
        call(se)


def test_bulk_paths_accept_empty_lists(se: WorkingCalendar):
    assert se.add_working_days_many([], 10) == []
    assert se.add_working_days_many([], []) == []
    assert se.working_days_between_many([], []) == []


# -- closed days ---------------------------------------------------------------------------


def test_a_klamdag_moves_a_deadline_by_one_day(se: WorkingCalendar):
    # R7: Friday 15 May 2026, after Kristi himmelsfärdsdag, closed by the kommun.
    received = dt.date(2026, 5, 13)
    closed = se.with_closed_days([dt.date(2026, 5, 15)])
    assert se.add_working_days(received, 10) == dt.date(2026, 5, 28)
    assert closed.add_working_days(received, 10) == dt.date(2026, 5, 29)
    assert closed.is_working_day(dt.date(2026, 5, 15)) is False
    assert closed.working_days_between(received, dt.date(2026, 5, 29)) == 10
    # The calendar it came from is unchanged.
    assert se.is_working_day(dt.date(2026, 5, 15)) is True
    assert se.add_working_days(received, 10) == dt.date(2026, 5, 28)


def test_closed_days_change_nothing_else(se: WorkingCalendar):
    klamdag, already_closed = dt.date(2026, 5, 15), dt.date(2026, 12, 25)
    closed = se.with_closed_days([klamdag, already_closed, klamdag])
    year = days(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert [day for day in year if se.is_working_day(day) != closed.is_working_day(day)] == [klamdag]


def test_closed_days_get_a_name_and_a_label(se: WorkingCalendar):
    closed = se.with_closed_days([dt.date(2026, 5, 15), dt.date(2026, 11, 2)])
    assert closed.name == "se+stängt"
    assert closed.label == f"{se.label}, med 2 egna stängda dagar"
    assert (closed.first_day, closed.last_day) == (se.first_day, se.last_day)
    own = se.with_closed_days([dt.date(2026, 5, 15)], name="se+kultur", label="Kulturförvaltningen")
    assert (own.name, own.label) == ("se+kultur", "Kulturförvaltningen")
    assert se.with_closed_days([]).add_working_days(MID, 10) == se.add_working_days(MID, 10)


def test_closed_days_can_be_added_twice(se: WorkingCalendar):
    once = se.with_closed_days([dt.date(2026, 5, 15)])
    twice = once.with_closed_days([dt.date(2026, 5, 18)])
    assert twice.name == "se+stängt+stängt"
    assert twice.add_working_days(dt.date(2026, 5, 13), 1) == dt.date(2026, 5, 19)
    assert once.add_working_days(dt.date(2026, 5, 13), 1) == dt.date(2026, 5, 18)


@pytest.mark.parametrize("bad", [BEFORE, AFTER])
def test_a_closed_day_outside_the_range_is_refused(se: WorkingCalendar, bad: dt.date):
    with pytest.raises(CalendarError, match=str(bad)):
        se.with_closed_days([dt.date(2026, 5, 15), bad])


# -- your own calendar ---------------------------------------------------------------------


class FourDayWeek:
    """A hand-written Calendar: Monday to Thursday, no holidays, 2026–2028, counting day by day."""

    name = "fyra"
    label = "Fyradagarsvecka"
    first_day = dt.date(2026, 1, 1)
    last_day = dt.date(2028, 12, 31)

    def is_working_day(self, day: dt.date) -> bool:
        if not self.first_day <= day <= self.last_day:
            raise CalendarError(f"{day} utanför")
        return day.weekday() < 4

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        if n < 0:
            raise CalendarError("negativt")
        self.is_working_day(day)
        while n:
            day += dt.timedelta(days=1)
            n -= self.is_working_day(day)
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        self.is_working_day(start)
        self.is_working_day(end)
        return sum(self.is_working_day(day) for day in days(start + dt.timedelta(days=1), end))


def outcome(method, *args):
    """The result, or ``"error"`` if it is a CalendarError."""
    try:
        return method(*args)
    except CalendarError:
        return "error"


def test_as_working_calendar_gives_the_same_answers_as_the_object():
    plain = FourDayWeek()
    assert isinstance(plain, Calendar)
    fast = as_working_calendar(plain)
    assert isinstance(fast, WorkingCalendar)
    assert (fast.name, fast.label, fast.first_day, fast.last_day) == (
        "fyra",
        "Fyradagarsvecka",
        plain.first_day,
        plain.last_day,
    )
    all_days = days(plain.first_day, plain.last_day)
    assert [fast.is_working_day(day) for day in all_days] == [plain.is_working_day(day) for day in all_days]
    for day in all_days[::5]:
        for n in (0, 1, 4, 5, 30):
            assert outcome(fast.add_working_days, day, n) == outcome(plain.add_working_days, day, n)
        end = min(day + dt.timedelta(days=45), plain.last_day)
        assert fast.working_days_between(day, end) == plain.working_days_between(day, end)
    assert fast.add_working_days(dt.date(2026, 3, 5), 1) == dt.date(2026, 3, 9)  # Thursday -> Monday
    with pytest.raises(CalendarError, match="fyra"):
        fast.add_working_days(dt.date(2028, 12, 28), 1)


def test_as_working_calendar_returns_a_working_calendar_unchanged(se: WorkingCalendar):
    assert as_working_calendar(se) is se


def test_a_range_that_ends_before_it_starts_is_refused():
    with pytest.raises(CalendarError, match="slutar"):
        WorkingCalendar("bak", "Baklänges", dt.date(2026, 1, 2), dt.date(2026, 1, 1), lambda day: True)


def test_a_one_day_calendar_works():
    one = WorkingCalendar("en", "En dag", MID, MID, lambda day: True)
    assert one.is_working_day(MID)
    assert one.add_working_days(MID, 0) == MID
    assert one.working_days_between(MID, MID) == 0
    with pytest.raises(CalendarError):
        one.add_working_days(MID, 1)


# -- the lazy, thread-safe index ---------------------------------------------------------------


def test_the_rule_is_asked_once_per_day_on_first_use_only():
    calls: collections.Counter[dt.date] = collections.Counter()

    def rule(day: dt.date) -> bool:
        calls[day] += 1
        return day.weekday() < 5

    calendar = WorkingCalendar("t", "Test", dt.date(2026, 1, 1), dt.date(2026, 12, 31), rule)
    assert not calls
    calendar.add_working_days(MID, 10)
    calendar.is_working_day(MID)
    calendar.working_days_between(MID, dt.date(2026, 12, 31))
    assert len(calls) == 365
    assert set(calls.values()) == {1}


def test_a_rule_that_fails_leaves_the_calendar_usable_once_it_works():
    failing = [True]

    def rule(day: dt.date) -> bool:
        if failing[0]:
            raise RuntimeError("not ready")
        return day.weekday() < 5

    calendar = WorkingCalendar("t", "Test", dt.date(2026, 1, 1), dt.date(2026, 12, 31), rule)
    with pytest.raises(RuntimeError):
        calendar.is_working_day(MID)
    failing[0] = False
    assert calendar.add_working_days(dt.date(2026, 3, 6), 1) == dt.date(2026, 3, 9)


def test_threads_that_first_touch_a_new_calendar_together_get_the_same_answers():
    calls: collections.Counter[dt.date] = collections.Counter()

    def rule(day: dt.date) -> bool:
        calls[day] += 1
        if day.day == 1:
            time.sleep(0.001)  # let the other threads run in the middle of the build
        return day.weekday() < 5 and (day.month, day.day) != (12, 25)

    calendar = WorkingCalendar("t", "Test", dt.date(2026, 1, 1), dt.date(2030, 12, 31), rule)
    queries = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(0, 1700, 13)]
    barrier = threading.Barrier(8)
    answers: list[object] = [None] * 8

    def first_touch(k: int) -> None:
        barrier.wait()
        method = k % 3
        if method == 0:
            answers[k] = [calendar.add_working_days(day, 10) for day in queries]
        elif method == 1:
            answers[k] = [calendar.is_working_day(day) for day in queries]
        else:
            answers[k] = calendar.working_days_between_many(queries, [dt.date(2030, 12, 31)] * len(queries))

    threads = [threading.Thread(target=first_touch, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(calls.values()) == {1}, "the index was built more than once"
    assert len(calls) == (dt.date(2030, 12, 31) - dt.date(2026, 1, 1)).days + 1
    for k in range(8):
        assert answers[k] == answers[k % 3]
    assert answers[0] == [naive_add(rule, day, 10) for day in queries]


def naive_add(rule, day: dt.date, n: int) -> dt.date:
    while n:
        day += dt.timedelta(days=1)
        n -= rule(day)
    return day


def test_importing_the_module_does_not_import_workalendar():
    code = (
        "import sys, datetime\n"
        "import klagomal.deadlines.calendars as c\n"
        "se = c.swedish_calendar()\n"
        "assert 'workalendar' not in sys.modules, sorted(m for m in sys.modules if 'workalendar' in m)\n"
        "assert se.is_working_day(datetime.date(2026, 3, 2))\n"
        "assert 'workalendar' in sys.modules, 'the index was built without workalendar?'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr

"""The last day an appeal can arrive, :func:`klagomal.cases.lifecycle.appeal_deadline`:
three weeks after the person was notified of the decision (förvaltningslagen 44 §),
moved to the next working day when that day is a Saturday, a Sunday, a public
holiday, midsommarafton, julafton or nyårsafton (lag 1930:173).

A wrong answer makes a person miss their appeal, or tells them they still
have a day they do not have; so the rule is checked for every day of seven
years against two answers that do not use the function's loop: the Swedish
calendar's index (the first working day strictly after the day before) and
the week with the named holidays of :func:`swedish_holidays`.  The days
around jul, påsk and midsommar are spelt out by hand below.
"""

from __future__ import annotations

import collections
import datetime as dt

import pytest

from klagomal.cases.lifecycle import APPEAL_PERIOD, appeal_deadline
from klagomal.deadlines.calendars import swedish_calendar, swedish_holidays

ONE_DAY = dt.timedelta(days=1)

#: Seven years, two of them leap years (2024, 2028).
FIRST, LAST = dt.date(2024, 1, 1), dt.date(2030, 12, 31)


def _every_day(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _calendar_answer(day: dt.date) -> dt.date:
    """The first working day on or after *day*, by the calendar's own index:
    the first working day strictly after the day before."""
    return swedish_calendar().add_working_days(day - ONE_DAY, 1)


def _closed(day: dt.date) -> bool:
    """Whether no time limit set by law can end on *day*, by the week and the
    named holidays and eves, without the calendar's index."""
    return day.weekday() >= 5 or day in swedish_holidays(day.year)


def test_three_weeks() -> None:
    assert dt.timedelta(days=21) == APPEAL_PERIOD


def test_every_notification_day_of_seven_years_agrees_with_the_calendar() -> None:
    moved: collections.Counter[int] = collections.Counter()
    for notified in _every_day(FIRST, LAST):
        three_weeks = notified + APPEAL_PERIOD
        last = appeal_deadline(notified)
        assert last == _calendar_answer(three_weeks), notified
        # The same by the named holidays: the day found is open, and every
        # day from three weeks after the notice up to it is closed.
        assert not _closed(last), notified
        skipped = (last - three_weeks).days
        assert all(_closed(three_weeks + dt.timedelta(days=i)) for i in range(skipped)), notified
        moved[skipped] += 1
    # The moving loop ran, over every length a Swedish year has between
    # 2024 and 2030: a Sunday (1), a weekend (2), a Friday holiday and its
    # weekend (3), långfredag to tisdag after påsk (4), and the week of jul
    # (5: julafton on a Wednesday in 2025, a Saturday before jul in 2029).
    assert sorted(moved) == [0, 1, 2, 3, 4, 5]


#: (notified, three weeks later, the last day), each spelt out by hand.
AROUND_HOLIDAYS = {
    "sunday": (dt.date(2026, 3, 1), "söndag 22 mars", dt.date(2026, 3, 23)),
    "saturday": (dt.date(2026, 2, 28), "lördag 21 mars", dt.date(2026, 3, 23)),
    "working-day": (dt.date(2026, 3, 2), "måndag 23 mars", dt.date(2026, 3, 23)),
    # Jul: julafton, juldagen and annandag jul, with or without a weekend.
    "julafton-wednesday-2025": (dt.date(2025, 12, 3), "onsdag 24 december", dt.date(2025, 12, 29)),
    "juldagen-thursday-2025": (dt.date(2025, 12, 4), "torsdag 25 december", dt.date(2025, 12, 29)),
    "julafton-thursday-2026": (dt.date(2026, 12, 3), "torsdag 24 december", dt.date(2026, 12, 28)),
    "julafton-monday-2029": (dt.date(2029, 12, 3), "måndag 24 december", dt.date(2029, 12, 27)),
    "saturday-before-jul-2029": (dt.date(2029, 12, 1), "lördag 22 december", dt.date(2029, 12, 27)),
    "day-before-julafton-2026": (dt.date(2026, 12, 2), "onsdag 23 december", dt.date(2026, 12, 23)),
    "nyarsafton-wednesday-2025": (dt.date(2025, 12, 10), "onsdag 31 december", dt.date(2026, 1, 2)),
    "nyarsafton-thursday-2026": (dt.date(2026, 12, 10), "torsdag 31 december", dt.date(2027, 1, 4)),
    "trettondedag-jul-2026": (dt.date(2025, 12, 16), "tisdag 6 januari", dt.date(2026, 1, 7)),
    # Påsk: långfredag to annandag påsk.
    "langfredag-2024": (dt.date(2024, 3, 8), "långfredag 29 mars", dt.date(2024, 4, 2)),
    "annandag-pask-2024": (dt.date(2024, 3, 11), "annandag påsk 1 april", dt.date(2024, 4, 2)),
    "langfredag-2026": (dt.date(2026, 3, 13), "långfredag 3 april", dt.date(2026, 4, 7)),
    "skartorsdag-2026": (dt.date(2026, 3, 12), "skärtorsdag 2 april", dt.date(2026, 4, 2)),
    "annandag-pask-2027": (dt.date(2027, 3, 8), "annandag påsk 29 mars", dt.date(2027, 3, 30)),
    "kristi-himmelsfard-2026": (dt.date(2026, 4, 23), "torsdag 14 maj", dt.date(2026, 5, 15)),
    # Annandag pingst has been a working day since 2005; nationaldagen a holiday.
    "nationaldagen-friday-2025": (dt.date(2025, 5, 16), "fredag 6 juni", dt.date(2025, 6, 9)),
    # Midsommar: midsommarafton (an eve that counts as a holiday) and midsommardagen.
    "midsommarafton-2025": (dt.date(2025, 5, 30), "midsommarafton 20 juni", dt.date(2025, 6, 23)),
    "midsommarafton-2026": (dt.date(2026, 5, 29), "midsommarafton 19 juni", dt.date(2026, 6, 22)),
    "midsommardagen-2026": (dt.date(2026, 5, 30), "midsommardagen 20 juni", dt.date(2026, 6, 22)),
    "day-before-midsommarafton-2026": (dt.date(2026, 5, 28), "torsdag 18 juni", dt.date(2026, 6, 18)),
}


@pytest.mark.parametrize("case", sorted(AROUND_HOLIDAYS))
def test_around_jul_pask_and_midsommar(case: str) -> None:
    notified, _three_weeks_later, expected = AROUND_HOLIDAYS[case]
    assert appeal_deadline(notified) == expected
    assert appeal_deadline(notified) == _calendar_answer(notified + APPEAL_PERIOD)

"""Timeliness figures for reports (R7, R10, R11), against a scenario worked out by hand.

Each case below is commented with what it should count.  The working days in
the expected durations are counted a second time, independently of klagomal,
by :func:`working_days` over the spring of 2026 (weekends, Good Friday 3
April, Easter Monday 6 April, 1 May).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from conftest import register_case
from klagomal import FixedClock, InvalidInputError, Klagomal

HOLIDAYS_2026 = {dt.date(2026, 4, 3), dt.date(2026, 4, 6), dt.date(2026, 5, 1), dt.date(2026, 5, 14)}
AS_OF = dt.date(2026, 4, 30)


@pytest.fixture
def db_url(any_db_url: str) -> str:
    """These tests run on SQLite, PostgreSQL and MariaDB."""
    return any_db_url


def working_days(start: dt.date, end: dt.date) -> int:
    """Working days after *start* up to and including *end*, counted day by day."""
    days = (start + dt.timedelta(days=i) for i in range(1, (end - start).days + 1))
    return sum(1 for d in days if d.weekday() < 5 and d not in HOLIDAYS_2026)


def d(month: int, day: int) -> dt.date:
    return dt.date(2026, month, day)


@pytest.fixture
def scenario(k: Klagomal, clock: FixedClock) -> Klagomal:
    def on(day: dt.date, step: Callable[[], object]) -> None:
        clock.set(day)
        step()

    def new(day: dt.date, **overrides: object) -> str:
        clock.set(day)
        return register_case(k, **overrides).reference

    # C1: besked in time (2 working days), answered by the promised date (13).
    c1 = new(d(3, 2))
    on(d(3, 4), lambda: k.acknowledge(c1, "Hanna", d(3, 20)))
    on(d(3, 19), lambda: k.answer(c1, "skriftligt", "Svar"))
    # C2: besked late (11), postponed in time, answered a day after the new date (31).
    c2 = new(d(3, 2))
    on(d(3, 17), lambda: k.acknowledge(c2, "Hanna", d(3, 31)))
    on(d(3, 30), lambda: k.postpone(c2, d(4, 15), "Yttrande saknas"))
    on(d(4, 16), lambda: k.answer(c2, "skriftligt", "Svar"))
    # C3: anonymous: besked in time (3), closed unanswered; no answer was owed (R5).
    c3 = new(d(3, 2), contact=None)
    on(d(3, 5), lambda: k.acknowledge(c3, "Hanna", d(3, 20)))
    on(d(3, 6), lambda: k.close(c3, None))
    # C4: never acknowledged: late by AS_OF.
    new(d(3, 2))
    # C5: received on 27 April, besked due 11 May: pending on AS_OF.
    new(d(4, 27))
    # C6: besked in time (1); a postponement told too late breaks the promise, so
    # the answer is late even though it comes before the new date (14).
    c6 = new(d(3, 2))
    on(d(3, 3), lambda: k.acknowledge(c6, "Hanna", d(3, 13)))
    on(d(3, 16), lambda: k.postpone(c6, d(3, 27), "Sjukdom"))
    on(d(3, 20), lambda: k.answer(c6, "skriftligt", "Svar"))
    # C7: besked in time (1); paused 10–20 March (8 working days), so 13 March
    # becomes 25 March; answered on 24 March, in time (16).
    c7 = new(d(3, 2))
    on(d(3, 3), lambda: k.acknowledge(c7, "Hanna", d(3, 13)))
    on(d(3, 10), lambda: k.pause(c7, "Väntar på intyg"))
    on(d(3, 20), lambda: k.resume(c7))
    on(d(3, 24), lambda: k.answer(c7, "skriftligt", "Svar"))
    # C8: level 1 in time (besked 0, answer 3); escalated on 9 March, besked in
    # time (1), answer late (14 working days from the escalation).
    c8 = new(d(3, 2))
    on(d(3, 2), lambda: k.acknowledge(c8, "Hanna", d(3, 6)))
    on(d(3, 5), lambda: k.answer(c8, "skriftligt", "Svar"))
    on(d(3, 5), lambda: k.close(c8, False))
    on(d(3, 9), lambda: k.escalate(c8, "Inte nöjd"))
    on(d(3, 10), lambda: k.acknowledge(c8, "Socialchefen", d(3, 20)))
    on(d(3, 27), lambda: k.answer(c8, "skriftligt", "Svar"))
    # C9: besked in time (1); forwarded on 9 March after its promise of 6 March had
    # passed (a late answer); the new unit's besked in time (2 from the forward),
    # its answer in time (18 from receipt).
    c9 = new(d(3, 2))
    on(d(3, 3), lambda: k.acknowledge(c9, "Hanna", d(3, 6)))
    on(d(3, 9), lambda: k.forward(c9, "soc-aldre-solgarden"))
    on(d(3, 11), lambda: k.acknowledge(c9, "Maria", d(3, 27)))
    on(d(3, 26), lambda: k.answer(c9, "skriftligt", "Svar"))
    # C10: besked in time (1); the answer is due 15 May: pending on AS_OF.
    c10 = new(d(4, 20))
    on(d(4, 21), lambda: k.acknowledge(c10, "Hanna", d(5, 15)))
    # C11: besked in time (1); promised 17 April, unanswered on AS_OF: late.
    c11 = new(d(4, 1))
    on(d(4, 2), lambda: k.acknowledge(c11, "Hanna", d(4, 17)))
    return k


def test_the_durations_are_what_an_independent_count_says() -> None:
    assert [working_days(d(3, 2), d(3, 4)), working_days(d(3, 2), d(3, 17))] == [2, 11]
    assert [working_days(d(3, 9), d(3, 11)), working_days(d(4, 20), d(4, 21))] == [2, 1]
    answers = [
        working_days(d(3, 2), d(3, 19)),  # C1
        working_days(d(3, 2), d(4, 16)),  # C2, across Easter
        working_days(d(3, 2), d(3, 20)),  # C6
        working_days(d(3, 2), d(3, 24)),  # C7
        working_days(d(3, 2), d(3, 5)),  # C8, level 1
        working_days(d(3, 9), d(3, 27)),  # C8, level 2
        working_days(d(3, 2), d(3, 26)),  # C9
    ]
    assert answers == [13, 31, 14, 16, 3, 14, 18]
    assert working_days(d(3, 10), d(3, 20)) == 8  # C7's pause


def test_timeliness_of_the_scenario(scenario: Klagomal) -> None:
    t = scenario.timeliness(d(3, 1), d(4, 30), as_of=AS_OF)
    assert t.cases == 11
    # R7: twelve besked known (C5 pending); C2 was late and C4 never came.
    assert (t.acknowledgements, t.acknowledged_in_time, t.acknowledgements_pending) == (12, 10, 1)
    assert t.days_to_acknowledge == (0, 1, 1, 1, 1, 1, 1, 2, 2, 3, 11)
    assert t.median_days_to_acknowledge == 1
    # R10: nine answers known (C10 pending): C1, C7, C8 level 1 and C9's second kept.
    assert (t.answers, t.answered_in_time, t.answers_pending) == (9, 4, 1)
    assert t.days_to_answer == (3, 13, 14, 14, 16, 18, 31)
    assert t.median_days_to_answer == 14
    # R11: C2 told in time, C6 too late.
    assert (t.delay_notices, t.delay_notices_in_time, t.share_delay_notices_in_time) == (2, 1, 0.5)
    assert t.share_acknowledged_in_time == pytest.approx(10 / 12)
    assert t.share_answered_in_time == pytest.approx(4 / 9)
    assert t.to_json()["share_answered_in_time"] == pytest.approx(4 / 9)


def test_outcomes_are_judged_as_known_on_the_day(scenario: Klagomal) -> None:
    # On 16 March C1–C4 and C6–C9 (received 2 March) are in their first days.
    t = scenario.timeliness(d(3, 1), d(4, 30), as_of=d(3, 16))
    assert t.cases == 8
    # Besked given by then: C1, C3, C6, C7, C8 at both levels and C9 before and
    # after its forward; C2 and C4 are still within their deadline of 16 March.
    assert (t.acknowledgements, t.acknowledged_in_time, t.acknowledgements_pending) == (8, 8, 2)
    # Answers known by then: C8's first (in time), C9's first (cut short by the
    # forward after its date) and C6's (broken by the late postponement that day).
    # Pending: C1, C7 (paused), C8 at level 2 and C9 after the forward.
    assert (t.answers, t.answered_in_time, t.answers_pending) == (3, 1, 4)
    assert scenario.timeliness(d(3, 1), d(4, 30), as_of=d(2, 27)).cases == 0


def test_the_period_and_the_forvaltning_select_the_cases(scenario: Klagomal) -> None:
    april = scenario.timeliness(d(4, 1), d(4, 30), as_of=AS_OF)
    assert (april.cases, april.acknowledgements, april.answers) == (3, 2, 1)
    assert scenario.timeliness(d(3, 1), d(4, 30), department="kof", as_of=AS_OF).cases == 0
    assert scenario.timeliness(d(3, 1), d(4, 30), department="soc", as_of=AS_OF).cases == 11
    with pytest.raises(InvalidInputError, match="okänd förvaltning 'socc'"):
        scenario.timeliness(d(3, 1), d(4, 30), department="socc")


def test_nothing_counted_gives_no_shares(k: Klagomal) -> None:
    t = k.timeliness(d(1, 1), d(12, 31))
    assert (t.cases, t.share_acknowledged_in_time, t.median_days_to_answer) == (0, None, None)

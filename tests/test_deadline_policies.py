"""The deadline rules of :mod:`klagomal.deadlines.policies`, without a database.

What a förvaltning may decide (R7, R10, R11, R25), each refusal of a bad
policy with its whole Swedish message, every deadline counted with the
rules of the förvaltning it belongs to, and the worklist's "time left" in
every wording.  The same rules through a :class:`~klagomal.Klagomal` are in
``test_deadlines.py``; these are the module's own tests in the mutation run
(``tox -e mutation``, docs/testing.md).
"""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from conftest import stored
from klagomal import Case, Contact, Kind
from klagomal.cases import lifecycle as lc
from klagomal.core.errors import CalendarError, ConfigurationError
from klagomal.core.events import Acknowledged, Paused
from klagomal.core.organisation import default_organisation
from klagomal.deadlines import policies
from klagomal.deadlines.calendars import WorkingCalendar, swedish_calendar
from klagomal.deadlines.policies import (
    ACKNOWLEDGE_WORKING_DAYS,
    DEFAULT_REMINDER_DAYS,
    DEFAULT_RESPONSE_DAYS,
    DeadlinePolicy,
    Deadlines,
    OpenDeadline,
)
from klagomal.hooks.builtin import BUILTIN_CHANNELS, BUILTIN_DIMENSIONS

ORG = default_organisation()
MONDAY = dt.date(2026, 3, 2)


def deadlines(**by_department: DeadlinePolicy) -> Deadlines:
    return Deadlines(
        ORG,
        {"se": swedish_calendar()},
        lambda department: (by_department.get(department, DeadlinePolicy()), "test-policy"),
    )


# -- a policy ---------------------------------------------------------------------


def test_the_default_policy_is_the_routines() -> None:
    policy = DeadlinePolicy()
    assert (ACKNOWLEDGE_WORKING_DAYS, DEFAULT_REMINDER_DAYS) == (10, 2)
    assert dict(DEFAULT_RESPONSE_DAYS) == {Kind.KLAGOMAL: 20, Kind.FORSLAG: 30, Kind.BEROM: 10}
    assert (policy.calendar, policy.acknowledge_days, policy.reminder_days) == ("se", 10, 2)
    assert dict(policy.response_days) == dict(DEFAULT_RESPONSE_DAYS)
    assert (policy.count_from_registration, policy.closed_days) == (frozenset(), frozenset())
    assert policy.problems() == []


def test_a_response_time_given_for_one_kind_keeps_the_others() -> None:
    policy = DeadlinePolicy(response_days={"forslag": 40, Kind.BEROM: 5})
    assert dict(policy.response_days) == {Kind.KLAGOMAL: 20, Kind.FORSLAG: 40, Kind.BEROM: 5}
    with pytest.raises(TypeError):
        policy.response_days[Kind.KLAGOMAL] = 1  # type: ignore[index]
    assert dict(DEFAULT_RESPONSE_DAYS)[Kind.FORSLAG] == 30  # the defaults are untouched


def test_a_response_time_for_an_unknown_kind_names_the_valid_ones() -> None:
    with pytest.raises(ConfigurationError) as info:
        DeadlinePolicy(response_days={"klagomål": 10})
    assert str(info.value) == (
        "tidsfristpolicyn anger svarstid för okänd typ 'klagomål' (giltiga: klagomal, forslag, berom)"
    )


@pytest.mark.parametrize(
    ("policy", "problems"),
    [
        (DeadlinePolicy(acknowledge_days=1), []),
        (DeadlinePolicy(acknowledge_days=10, reminder_days=0), []),
        (DeadlinePolicy(acknowledge_days=11), ["besked ska ges inom 1–10 arbetsdagar (R7), inte 11"]),
        (DeadlinePolicy(acknowledge_days=0), ["besked ska ges inom 1–10 arbetsdagar (R7), inte 0"]),
        (DeadlinePolicy(response_days={"berom": 1}), []),
        (
            DeadlinePolicy(response_days={"berom": 0, "forslag": -2}),
            [
                "svarstiden för forslag måste vara minst 1 arbetsdag, inte -2",
                "svarstiden för berom måste vara minst 1 arbetsdag, inte 0",
            ],
        ),
        (DeadlinePolicy(reminder_days=-1), ["påminnelser kan inte skickas -1 arbetsdagar före en frist"]),
        (
            DeadlinePolicy(acknowledge_days=12, reminder_days=-3),
            [
                "besked ska ges inom 1–10 arbetsdagar (R7), inte 12",
                "påminnelser kan inte skickas -3 arbetsdagar före en frist",
            ],
        ),
    ],
)
def test_every_problem_of_a_policy_in_swedish(policy: DeadlinePolicy, problems: list[str]) -> None:
    assert policy.problems() == problems


# -- the time left, as a worklist shows it -------------------------------------------


@pytest.mark.parametrize(
    ("left", "overdue", "when"),
    [
        (0, False, "i dag"),
        (1, False, "om 1 arbetsdag"),
        (3, False, "om 3 arbetsdagar"),
        (0, True, ""),  # the Saturday after a Friday deadline
        (-1, True, "för 1 arbetsdag sedan"),
        (-4, True, "för 4 arbetsdagar sedan"),
    ],
    ids=["today", "one-left", "three-left", "weekend-after", "one-ago", "four-ago"],
)
def test_the_time_left_in_every_wording(left: int, overdue: bool, when: str) -> None:
    assert OpenDeadline("svar", MONDAY, left, overdue).when == when


# -- the built-in calendar, for code without an instance --------------------------------


def test_the_module_functions_count_on_the_swedish_calendar() -> None:
    assert policies.is_working_day(dt.date(2026, 12, 24)) is False
    assert policies.is_working_day(dt.date(2026, 12, 23)) is True
    assert policies.add_working_days(dt.date(2026, 12, 18), 10) == dt.date(2027, 1, 8)
    assert policies.working_days_between(dt.date(2026, 12, 18), dt.date(2027, 1, 8)) == 10


# -- resolving each förvaltning's rules ---------------------------------------------------


def test_each_forvaltning_gets_its_policy_its_calendar_and_the_plugin_it_came_from() -> None:
    rules = deadlines(soc=DeadlinePolicy(acknowledge_days=5))
    assert rules.policy("soc").acknowledge_days == 5
    assert rules.policy("bou").acknowledge_days == 10
    assert rules.sources == dict.fromkeys(ORG.departments, "test-policy")
    assert rules.calendar("bou") is swedish_calendar()
    assert rules.calendar("soc") is rules.calendar("soc")
    builtin = Deadlines.builtin(ORG)
    assert builtin.sources == dict.fromkeys(ORG.departments, "klagomal.builtin")
    assert builtin.calendars == {"se": swedish_calendar()}
    assert builtin.policy("klf") == DeadlinePolicy()


def test_an_invalid_policy_names_forvaltning_plugin_and_every_problem() -> None:
    with pytest.raises(ConfigurationError) as info:
        deadlines(soc=DeadlinePolicy(calendar="mars", acknowledge_days=11))
    assert str(info.value) == (
        "tidsfristpolicyn för förvaltningen 'soc' från test-policy är ogiltig: "
        "besked ska ges inom 1–10 arbetsdagar (R7), inte 11; "
        "kalendern 'mars' finns inte (kända kalendrar: se)"
    )
    weekdays = WorkingCalendar(
        "vardagar", "Vardagar", MONDAY, dt.date(2026, 12, 31), lambda d: d.weekday() < 5
    )
    with pytest.raises(ConfigurationError) as info:
        Deadlines(
            ORG, {"se": swedish_calendar(), "vardagar": weekdays}, lambda d: (DeadlinePolicy("mars"), "p")
        )
    assert str(info.value).endswith("kalendern 'mars' finns inte (kända kalendrar: se, vardagar)")
    with pytest.raises(ConfigurationError) as info:
        Deadlines(ORG, {}, lambda department: (DeadlinePolicy(), "p"))
    assert str(info.value) == (
        "tidsfristpolicyn för förvaltningen 'klf' från p är ogiltig: "
        "kalendern 'se' finns inte (kända kalendrar: -)"
    )


def test_closed_days_of_the_policy_the_kommun_and_the_forvaltning_all_count() -> None:
    kommun, soc_day, policy_day = dt.date(2026, 3, 3), dt.date(2026, 3, 4), dt.date(2026, 3, 5)
    org = attrs.evolve(
        ORG,
        closed_days=(kommun,),
        departments={**ORG.departments, "soc": attrs.evolve(ORG.departments["soc"], closed_days=(soc_day,))},
    )
    rules = Deadlines(
        org,
        {"se": swedish_calendar()},
        lambda d: (DeadlinePolicy(closed_days=[policy_day] if d == "soc" else []), "p"),
    )
    soc, bou = rules.calendar("soc"), rules.calendar("bou")
    assert [d for d in (kommun, soc_day, policy_day) if not soc.is_working_day(d)] == [
        kommun,
        soc_day,
        policy_day,
    ]
    assert [d for d in (kommun, soc_day, policy_day) if not bou.is_working_day(d)] == [kommun]
    # Förvaltningar with the same closed days share one index.
    assert rules.calendar("bou") is rules.calendar("kof")
    assert rules.calendar("soc") is not rules.calendar("bou")
    assert swedish_calendar().is_working_day(kommun)  # the built-in calendar is unchanged


def test_a_closed_day_outside_the_calendar_names_the_forvaltning() -> None:
    with pytest.raises(ConfigurationError) as info:
        deadlines(bou=DeadlinePolicy(closed_days=[dt.date(2101, 1, 3)]))
    assert str(info.value) == (
        "stängda dagar för förvaltningen 'bou': datumet 2101-01-03 ligger utanför kalendern 'se', "
        "Sverige (lag 1930:173 om beräkning av lagstadgad tid), "
        "som gäller från 2000-01-01 till och med 2100-12-31"
    )
    assert isinstance(info.value.__cause__, CalendarError)


def test_a_forvaltning_outside_the_organisation_gets_its_policy_when_first_asked() -> None:
    asked: list[str] = []

    def policy(department: str) -> tuple[DeadlinePolicy, str]:
        asked.append(department)
        return DeadlinePolicy(acknowledge_days=4), "p"

    rules = Deadlines(ORG, {"se": swedish_calendar()}, policy)
    assert asked == list(ORG.departments)
    assert rules.acknowledge_by("gammal", MONDAY) == dt.date(2026, 3, 6)
    assert rules.acknowledge_by("gammal", MONDAY) == dt.date(2026, 3, 6)
    assert asked == [*ORG.departments, "gammal"]  # resolved once
    assert rules.sources["gammal"] == "p"


# -- the routine's deadlines ------------------------------------------------------------


def test_the_besked_counts_from_receipt_unless_the_channel_counts_from_registration() -> None:
    rules = deadlines(soc=DeadlinePolicy(acknowledge_days=5, count_from_registration=["svarskort"]))
    received, registered = dt.date(2026, 3, 2), dt.date(2026, 3, 9)
    assert rules.acknowledge_by("soc", received) == dt.date(2026, 3, 9)
    assert rules.acknowledge_by("soc", received, channel="brev", registered=registered) == dt.date(2026, 3, 9)
    assert rules.acknowledge_by("soc", received, channel="svarskort", registered=registered) == (
        dt.date(2026, 3, 16)
    )
    assert rules.acknowledge_by("soc", received, channel="svarskort") == dt.date(2026, 3, 9)
    assert rules.acknowledge_by("bou", received, channel="svarskort", registered=registered) == (
        dt.date(2026, 3, 16)  # ten days from receipt: bou counts every channel from receipt
    )


def test_the_default_response_time_is_the_forvaltnings_for_the_kind() -> None:
    rules = deadlines(soc=DeadlinePolicy(response_days={"berom": 3}))
    assert rules.default_respond_by("soc", Kind.BEROM, MONDAY) == dt.date(2026, 3, 5)
    assert rules.default_respond_by("soc", Kind.KLAGOMAL, MONDAY) == dt.date(2026, 3, 30)
    assert rules.default_respond_by("bou", Kind.BEROM, MONDAY) == dt.date(2026, 3, 16)


def test_a_resumed_date_moves_by_the_working_days_paused_in_the_forvaltnings_calendar() -> None:
    rules = deadlines(soc=DeadlinePolicy(closed_days=[dt.date(2026, 3, 4)]))
    respond_by = dt.date(2026, 3, 27)
    # Paused Monday 2 to Monday 9 March: five working days, four where 4 March is closed.
    assert rules.resumed_respond_by("bou", respond_by, MONDAY, dt.date(2026, 3, 9)) == (
        dt.date(2026, 4, 7),
        5,
    )
    assert rules.resumed_respond_by("soc", respond_by, MONDAY, dt.date(2026, 3, 9)) == (
        dt.date(2026, 4, 2),
        4,
    )
    # Paused and resumed the same day, or over a weekend only: nothing moves.
    assert rules.resumed_respond_by("soc", respond_by, MONDAY, MONDAY) == (respond_by, 0)
    saturday = dt.date(2026, 3, 7)
    assert rules.resumed_respond_by("soc", dt.date(2026, 3, 8), saturday, dt.date(2026, 3, 8)) == (
        dt.date(2026, 3, 8),
        0,
    )


def test_check_date_and_limit_use_the_forvaltnings_calendar() -> None:
    rules = deadlines(soc=DeadlinePolicy(closed_days=[dt.date(2026, 3, 3)]))
    rules.check_date("soc", dt.date(2100, 12, 31))
    with pytest.raises(CalendarError) as info:
        rules.check_date("soc", dt.date(2101, 1, 1))
    assert str(info.value).startswith("datumet 2101-01-01 ligger utanför kalendern 'se+stängt'")
    assert rules.limit("soc", MONDAY, 1) == dt.date(2026, 3, 4)
    assert rules.limit("bou", MONDAY, 1) == dt.date(2026, 3, 3)
    assert rules.limit("bou", MONDAY, 0) == MONDAY


# -- the deadline a case waits for -------------------------------------------------------


def _case(rules: Deadlines, *steps: object) -> Case:
    ctx = lc.Context(
        today=MONDAY,
        organisation=ORG,
        channels={c.id: c for c in BUILTIN_CHANNELS},
        dimensions={d.id: d for d in BUILTIN_DIMENSIONS},
        deadlines=rules,
    )
    data = lc.register(
        ctx, kind="klagomal", channel="telefon", unit="soc-aldre", text="x", contact=Contact(name="Eva")
    )
    case = stored(None, data, day=MONDAY)
    for payload in steps:
        case = stored(case, payload, day=MONDAY)
    return case


def test_the_open_deadline_of_a_case_in_each_state() -> None:
    rules = deadlines(soc=DeadlinePolicy(acknowledge_days=5, closed_days=[dt.date(2026, 3, 5)]))
    registered = _case(rules)
    assert registered.acknowledge_by == dt.date(2026, 3, 10)  # five days, 5 March closed
    assert rules.open_deadline(registered, MONDAY) == OpenDeadline("besked", dt.date(2026, 3, 10), 5, False)
    assert rules.open_deadline(registered, dt.date(2026, 3, 10)) == OpenDeadline(
        "besked", dt.date(2026, 3, 10), 0, False
    )
    assert rules.open_deadline(registered, dt.date(2026, 3, 11)) == OpenDeadline(
        "besked", dt.date(2026, 3, 10), -1, True
    )
    handling = _case(rules, Acknowledged(handler="Hanna", respond_by=dt.date(2026, 3, 6)))
    assert rules.open_deadline(handling, MONDAY) == OpenDeadline("svar", dt.date(2026, 3, 6), 3, False)
    assert rules.open_deadline(handling, dt.date(2026, 3, 7)) == OpenDeadline(
        "svar", dt.date(2026, 3, 6), 0, True
    )
    paused = _case(rules, Acknowledged(handler="Hanna", respond_by=dt.date(2026, 3, 6)), Paused(reason="x"))
    assert rules.open_deadline(paused, MONDAY) is None


def test_forvaltningar_sharing_a_plugin_calendar_share_its_index() -> None:
    class Weekdays:
        name, label = "vardagar", "Vardagar"
        first_day, last_day = dt.date(2026, 1, 1), dt.date(2027, 12, 31)

        def is_working_day(self, day: dt.date) -> bool:
            return day.weekday() < 5

        def add_working_days(self, day: dt.date, n: int) -> dt.date:  # pragma: no cover - not called
            raise NotImplementedError

        def working_days_between(self, start: dt.date, end: dt.date) -> int:  # pragma: no cover
            raise NotImplementedError

    rules = Deadlines(
        ORG, {"se": swedish_calendar(), "vardagar": Weekdays()}, lambda d: (DeadlinePolicy("vardagar"), "p")
    )
    assert isinstance(rules.calendar("soc"), WorkingCalendar)
    assert rules.calendar("soc") is rules.calendar("bou") is rules.calendars["vardagar"]
    # Good Friday is a weekday in this calendar.
    assert rules.limit("soc", dt.date(2026, 4, 2), 1) == dt.date(2026, 4, 3)

"""Deadlines on cases: per-förvaltning policies, closed days, plugin
calendars, the paused clock, and bad input (R7, R10, R11, R25).

Dates are worked out by hand in the comments, from the Swedish calendar of
2026: Easter is Good Friday 3 April and Easter Monday 6 April; Kristi
himmelsfärd is Thursday 14 May.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conftest import EVA, START, UNIT, register_case
from klagomal import (
    CalendarError,
    CaseState,
    ConfigurationError,
    FixedClock,
    InvalidInputError,
    InvalidStepError,
    Kind,
    Klagomal,
    hookimpl,
)
from klagomal.core.events import Paused, Resumed
from klagomal.core.organisation import parse_organisation
from klagomal.deadlines.calendars import WorkingCalendar
from klagomal.deadlines.policies import DEFAULT_RESPONSE_DAYS, DeadlinePolicy

#: Registered on Monday 2 March 2026: the besked is due ten working days later.
ACK_BY = dt.date(2026, 3, 16)


class Policy:
    """A plugin giving *policy* to the förvaltningar in *departments*."""

    def __init__(self, policy: DeadlinePolicy, *departments: str, name: str = "test-policy") -> None:
        self.policy = policy
        self.departments = departments
        self.name = name

    @hookimpl
    def klagomal_deadline_policy(self, department: str) -> DeadlinePolicy | None:
        return self.policy if department in self.departments else None


@pytest.fixture
def db_url(any_db_url: str) -> str:
    """These tests run on SQLite, PostgreSQL and MariaDB."""
    return any_db_url


@pytest.fixture
def make(new_database: Callable[[], str], clock: FixedClock) -> Iterator[Callable[..., Klagomal]]:
    """``make(*plugins, organisation=None)``: an initialised Klagomal on its own new database."""
    made: list[Klagomal] = []

    def factory(*plugins: object, organisation: Any = None) -> Klagomal:
        k = Klagomal(
            new_database(),
            clock=clock,
            plugins=plugins,
            organisation=organisation,
            load_entrypoints=False,
        )
        k.init()
        made.append(k)
        return k

    yield factory
    for k in made:
        k.dispose()


def snapshot(k: Klagomal) -> tuple[object, ...]:
    """Everything a refused step must leave as it was."""
    return (k.export(), k.reminders())


# -- policies per förvaltning (R7, R25) ---------------------------------------------


def test_a_forvaltning_may_promise_the_besked_sooner(make: Callable[..., Klagomal]) -> None:
    k = make(Policy(DeadlinePolicy(acknowledge_days=5), "soc"))
    # R7, R25: Socialförvaltningen gives itself five working days, the others ten.
    assert register_case(k, unit=UNIT).acknowledge_by == dt.date(2026, 3, 9)
    assert register_case(k, unit="kof-bibliotek").acknowledge_by == ACK_BY
    assert k.deadlines.policy("soc").acknowledge_days == 5
    assert k.deadlines.policy("kof").acknowledge_days == 10


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (DeadlinePolicy(acknowledge_days=15), "besked ska ges inom 1–10 arbetsdagar (R7), inte 15"),
        (DeadlinePolicy(acknowledge_days=0), "inte 0"),
        (DeadlinePolicy(response_days={"forslag": 0}), "svarstiden för forslag måste vara minst 1 arbetsdag"),
        (DeadlinePolicy(reminder_days=-1), "påminnelser kan inte skickas -1 arbetsdagar före en frist"),
        (DeadlinePolicy(calendar="mars"), "kalendern 'mars' finns inte (kända kalendrar: se)"),
    ],
    ids=["more-than-ten", "zero", "response", "reminder", "unknown-calendar"],
)
def test_an_invalid_policy_stops_start_up_naming_forvaltning_and_plugin(
    tmp_path: Any, clock: FixedClock, policy: DeadlinePolicy, expected: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        Klagomal(
            f"sqlite:///{tmp_path / 'x.db'}",
            clock=clock,
            plugins=[Policy(policy, "soc")],
            load_entrypoints=False,
        )
    message = str(info.value)
    assert "tidsfristpolicyn för förvaltningen 'soc' från test-policy är ogiltig" in message
    assert expected in message
    assert not (tmp_path / "x.db").exists()  # nothing was touched


def test_a_response_time_for_an_unknown_kind_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="okänd typ 'klagomål'"):
        DeadlinePolicy(response_days={"klagomål": 10})


def test_a_policy_hook_returning_something_else_is_a_configuration_error(
    tmp_path: Any, clock: FixedClock
) -> None:
    class Wrong:
        @hookimpl
        def klagomal_deadline_policy(self) -> object:
            return {"acknowledge_days": 5}

    with pytest.raises(
        ConfigurationError, match=r"gav \{'acknowledge_days': 5\} som tidsfristpolicy för 'klf'"
    ):
        Klagomal(f"sqlite:///{tmp_path / 'x.db'}", clock=clock, plugins=[Wrong()], load_entrypoints=False)


def test_a_policy_plugin_that_raises_is_logged_and_skipped(
    make: Callable[..., Klagomal], caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        name = "trasig"

        @hookimpl(tryfirst=True)
        def klagomal_deadline_policy(self, department: str) -> DeadlinePolicy:
            raise RuntimeError("databasen för policyer svarar inte")

    with caplog.at_level(logging.ERROR, logger="klagomal"):
        k = make(Broken(), Policy(DeadlinePolicy(acknowledge_days=5), "soc"))
    # The next plugin's policy is in force; the failure names the plugin and the hook.
    assert register_case(k).acknowledge_by == dt.date(2026, 3, 9)
    assert any(
        "'trasig' fick ett fel i klagomal_deadline_policy" in record.getMessage() for record in caplog.records
    )


def test_default_response_time_per_kind_is_promised_at_the_besked(
    make: Callable[..., Klagomal], clock: FixedClock
) -> None:
    k = make(Policy(DeadlinePolicy(response_days={Kind.BEROM: 3}), "kof"))
    complaint = register_case(k)
    suggestion = register_case(k, kind="forslag")
    praise = register_case(k, kind="berom", unit="kof-bibliotek")
    clock.set(dt.date(2026, 3, 4))
    assert DEFAULT_RESPONSE_DAYS == {Kind.KLAGOMAL: 20, Kind.FORSLAG: 30, Kind.BEROM: 10}
    # R10: 20 working days after Wednesday 4 March: 5–31 March are 19, 1 April the 20th.
    assert k.acknowledge(complaint.reference, "Hanna").respond_by == dt.date(2026, 4, 1)
    # 30 working days: 3 and 6 April are holidays, so 17 April.
    assert k.acknowledge(suggestion.reference, "Hanna").respond_by == dt.date(2026, 4, 17)
    # Kultur- och fritid thanks within three working days.
    assert k.acknowledge(praise.reference, "Hanna").respond_by == dt.date(2026, 3, 9)
    # A date the handler names wins over the default.
    other = register_case(k)
    assert k.acknowledge(other.reference, "Hanna", dt.date(2026, 3, 20)).respond_by == dt.date(2026, 3, 20)


def test_a_letter_counts_from_the_day_it_was_received(
    make: Callable[..., Klagomal], clock: FixedClock
) -> None:
    # A letter that arrived on Monday 2 March and was opened on Wednesday:
    # both dates are recorded, and the besked counts from Monday.
    clock.set(dt.date(2026, 3, 4))
    k = make()
    letter = register_case(k, channel="brev", received=START)
    assert (letter.received, letter.registered, letter.acknowledge_by) == (START, dt.date(2026, 3, 4), ACK_BY)
    # A kommun that empties its reply-card box weekly counts those from registration.
    cards = make(Policy(DeadlinePolicy(count_from_registration={"svarskort"}), "soc"))
    card = register_case(cards, channel="svarskort", received=START)
    assert card.acknowledge_by == dt.date(2026, 3, 18)
    assert register_case(cards, channel="brev", received=START).acknowledge_by == ACK_BY


# -- closed days and calendars ---------------------------------------------------------


def _org_with(kommun_days: str, soc_days: str) -> Any:
    """Exempelkommun's file with closed days added for the kommun and for soc."""
    from importlib.resources import files

    text = (files("klagomal") / "data" / "exempelkommun.toml").read_text(encoding="utf-8")
    text = text.replace('systemagare = "klf"', f'systemagare = "klf"\nstangda_dagar = [{kommun_days}]', 1)
    text = text.replace(
        'namnd = "Socialnämnden"', f'namnd = "Socialnämnden"\nstangda_dagar = [{soc_days}]', 1
    )
    return parse_organisation(text, source="kommun.toml")


def test_closed_days_from_the_organisation_file(make: Callable[..., Klagomal]) -> None:
    # The whole kommun closes Friday 6 March; Socialförvaltningen also Tuesday 10 March.
    k = make(organisation=_org_with("2026-03-06", '"2026-03-10"'))
    assert register_case(k, unit="kof-bibliotek").acknowledge_by == dt.date(2026, 3, 17)
    assert register_case(k, unit=UNIT).acknowledge_by == dt.date(2026, 3, 18)
    assert not k.deadlines.calendar("soc").is_working_day(dt.date(2026, 3, 10))
    assert k.deadlines.calendar("kof").is_working_day(dt.date(2026, 3, 10))
    # Those with only the kommun's closed day share one index.
    assert k.deadlines.calendar("kof") is k.deadlines.calendar("bou")
    assert k.deadlines.calendar("kof") is not k.deadlines.calendar("soc")


def test_a_klamdag_from_a_policy(make: Callable[..., Klagomal], clock: FixedClock) -> None:
    # Friday 15 May 2026, after Kristi himmelsfärd, is a klämdag at Socialförvaltningen.
    clock.set(dt.date(2026, 5, 11))
    k = make(Policy(DeadlinePolicy(closed_days={dt.date(2026, 5, 15)}), "soc"))
    # 12, 13, (14 holiday), (15 closed), 18, 19, 20, 21, 22, 25, 26, 27: the tenth is 27 May.
    assert register_case(k).acknowledge_by == dt.date(2026, 5, 27)
    # Elsewhere the 15th is a working day, so the tenth is 26 May.
    assert register_case(k, unit="kof").acknowledge_by == dt.date(2026, 5, 26)


def test_a_closed_day_outside_the_calendar_stops_start_up(tmp_path: Any, clock: FixedClock) -> None:
    with pytest.raises(ConfigurationError) as info:
        Klagomal(f"sqlite:///{tmp_path / 'x.db'}", clock=clock, organisation=_org_with("1026-05-15", ""))
    assert "stängda dagar för förvaltningen 'klf'" in str(info.value)
    assert "1026-05-15" in str(info.value)


class FourDayWeek:
    """A plugin calendar: Monday to Thursday are working days."""

    name = "fyradagarsvecka"

    @hookimpl
    def klagomal_calendars(self) -> Iterator[WorkingCalendar]:
        yield WorkingCalendar(
            "fyra", "Fyradagarsvecka", dt.date(2020, 1, 1), dt.date(2030, 12, 31), lambda d: d.weekday() < 4
        )


def test_a_plugin_calendar_chosen_by_a_policy(make: Callable[..., Klagomal]) -> None:
    k = make(FourDayWeek(), Policy(DeadlinePolicy(calendar="fyra"), "kof"))
    assert sorted(k.registry.calendars) == ["fyra", "se"]
    # 3, 4, 5, 9, 10, 11, 12, 16, 17, 18 March: Fridays do not count.
    assert register_case(k, unit="kof-badhus").acknowledge_by == dt.date(2026, 3, 18)
    assert register_case(k).acknowledge_by == ACK_BY


def test_two_plugins_with_one_calendar_name_are_an_error(tmp_path: Any, clock: FixedClock) -> None:
    class Again(FourDayWeek):
        name = "igen"

    with pytest.raises(ConfigurationError, match="kalendern 'fyra' registreras av både"):
        Klagomal(f"sqlite:///{tmp_path / 'x.db'}", plugins=[FourDayWeek(), Again()], load_entrypoints=False)


# -- bad input changes nothing and names the case and the step ----------------------


def test_a_received_date_outside_the_calendar(k: Klagomal) -> None:
    before = snapshot(k)
    with pytest.raises(CalendarError) as info:
        register_case(k, received=dt.date(1999, 12, 31))
    assert info.value.step == "register"
    assert str(info.value).startswith("steg 'registrera': ")
    assert "1999-12-31" in str(info.value)
    assert "2000-01-01" in str(info.value)
    assert snapshot(k) == before


@pytest.mark.parametrize(
    ("respond_by", "error", "reason"),
    [
        (
            dt.date(2101, 1, 3),
            CalendarError,
            "datumet 2101-01-03 ligger utanför kalendern 'se', Sverige (lag 1930:173 om beräkning av "
            "lagstadgad tid), som gäller från 2000-01-01 till och med 2100-12-31",
        ),
        (
            dt.date(2026, 2, 27),
            InvalidInputError,
            "svarsdatum 2026-02-27 ligger före mottagningsdatum 2026-03-02",
        ),
    ],
    ids=["outside-calendar", "before-received"],
)
def test_a_bad_respond_by_is_refused_naming_case_and_step(
    k: Klagomal, respond_by: dt.date, error: type[Exception], reason: str
) -> None:
    ref = register_case(k).reference
    before = snapshot(k)
    with pytest.raises(error) as info:
        k.acknowledge(ref, "Hanna", respond_by)
    assert str(info.value) == f"Ärende {ref}, steg 'ge besked': {reason}"
    assert snapshot(k) == before
    k.acknowledge(ref, "Hanna", dt.date(2026, 3, 27))
    before = snapshot(k)
    with pytest.raises(CalendarError, match=f"Ärende {ref}, steg 'ge nytt svarsdatum': datumet 2101-01-03"):
        k.postpone(ref, dt.date(2101, 1, 3), "Mycket senare")
    assert snapshot(k) == before


def test_a_negative_number_of_working_days_is_refused(k: Klagomal) -> None:
    with pytest.raises(InvalidInputError, match="antalet arbetsdagar kan inte vara negativt: -1"):
        k.cases(due_within=-1)
    with pytest.raises(CalendarError, match="negativt: -3"):
        k.deadlines.calendar("soc").add_working_days(START, -3)


# -- the paused clock (R10, R11) ----------------------------------------------------------


def test_pausing_across_easter_keeps_the_working_days_that_were_left(k: Klagomal, clock: FixedClock) -> None:
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna", dt.date(2026, 3, 27))
    clock.set(dt.date(2026, 3, 20))  # five working days left: 23–27 March
    case = k.pause(ref, "Väntar på läkarintyg")
    assert (case.paused_since, case.respond_by, case.state) == (
        clock.today(),
        dt.date(2026, 3, 27),
        CaseState.HANDLAGGNING,
    )
    # While it waits, the promised date passes without the case being overdue.
    clock.set(dt.date(2026, 4, 1))
    assert k.get(ref).overdue_reason(clock.today()) is None
    assert k.open_deadline(k.get(ref)) is None
    assert k.cases(overdue=True) == []
    # Resumed on Wednesday 8 April: eleven working days stood still (23 March–8 April
    # without Good Friday and Easter Monday); the five left run 9–15 April.
    clock.set(dt.date(2026, 4, 8))
    case = k.resume(ref)
    assert (case.paused_since, case.respond_by) == (None, dt.date(2026, 4, 15))
    assert k.history(ref)[-1].data == Resumed(
        respond_by=dt.date(2026, 4, 15), previous=dt.date(2026, 3, 27), paused_days=11
    )
    assert k.history(ref)[-2].data == Paused(reason="Väntar på läkarintyg")
    # R9: the person is asked for what is missing, and told the new date.
    assert k.notices(ref) == [(2, "besked"), (3, "komplettering"), (4, "aterupptaget")]
    assert k.rebuild(ref) == case
    clock.set(dt.date(2026, 4, 16))
    assert k.get(ref).overdue_reason(clock.today()) == "svar"


def test_resuming_on_the_day_of_the_pause_moves_nothing(k: Klagomal) -> None:
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna", dt.date(2026, 3, 27))
    k.pause(ref, "Ringer tillbaka i eftermiddag")
    assert k.resume(ref).respond_by == dt.date(2026, 3, 27)
    assert k.history(ref)[-1].data.paused_days == 0  # type: ignore[union-attr]


@pytest.mark.parametrize("step", ["answer", "postpone", "forward", "pause"])
def test_steps_that_need_the_clock_running_are_refused_while_paused(
    k: Klagomal, clock: FixedClock, step: str
) -> None:
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna", dt.date(2026, 3, 27))
    clock.set(dt.date(2026, 3, 10))
    k.pause(ref, "Väntar på uppgifter")
    commands: dict[str, Callable[[], object]] = {
        "answer": lambda: k.answer(ref, "skriftligt", "Svar"),
        "postpone": lambda: k.postpone(ref, dt.date(2026, 4, 30), "Mer tid"),
        "forward": lambda: k.forward(ref, "soc-aldre-solgarden"),
        "pause": lambda: k.pause(ref, "Igen"),
    }
    before = snapshot(k)
    with pytest.raises(InvalidStepError) as info:
        commands[step]()
    assert (info.value.reference, info.value.step) == (ref, step)
    assert "väntar på personen sedan 2026-03-10; återuppta det först (resume)" in str(info.value)
    assert snapshot(k) == before
    # Information and actions go on while the clock stands still.
    k.inform(ref, "Vi väntar fortfarande på intyget.")
    k.record_action(ref, "Rutinen ses över")


def test_a_pause_is_refused_where_it_would_hide_a_broken_promise_or_nobody_can_answer(
    k: Klagomal, clock: FixedClock
) -> None:
    fresh = register_case(k).reference
    with pytest.raises(InvalidStepError, match="kräver status under handläggning"):
        k.pause(fresh, "Väntar")  # the besked is not paused (R7)
    anonymous = register_case(k, contact=None).reference
    k.acknowledge(anonymous, "Hanna", dt.date(2026, 3, 27))
    with pytest.raises(InvalidStepError, match="anonymt"):
        k.pause(anonymous, "Väntar")  # R5: nobody to wait for
    late = register_case(k).reference
    k.acknowledge(late, "Hanna", dt.date(2026, 3, 6))
    clock.set(dt.date(2026, 3, 9))
    with pytest.raises(
        InvalidStepError, match=r"svarsdatumet 2026-03-06 har redan passerat; meddela ett nytt datum"
    ):
        k.pause(late, "Väntar")  # R11: a new date, not a pause
    with pytest.raises(InvalidStepError, match="ärendet är inte pausat"):
        k.resume(late)
    with pytest.raises(InvalidInputError, match="skälet saknas"):
        k.pause(_acknowledged(k, clock), " ")


def _acknowledged(k: Klagomal, clock: FixedClock) -> str:
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna", clock.today() + dt.timedelta(days=14))
    return ref


# -- postponements told in time or late (R11) -----------------------------------------


def test_a_postponement_before_the_date_passes_is_in_time(k: Klagomal, clock: FixedClock) -> None:
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna", dt.date(2026, 3, 20))
    clock.set(dt.date(2026, 3, 20))  # on the promised day itself: still in time
    assert k.postpone(ref, dt.date(2026, 4, 2), "Yttrande saknas").late_postponements == 0
    clock.set(dt.date(2026, 4, 3))  # the day after: late, but allowed
    case = k.postpone(ref, dt.date(2026, 4, 17), "Sjukdom")
    assert (case.postponements, case.late_postponements) == (2, 1)
    assert [e.data.in_time for e in k.history(ref) if e.type == "postponed"] == [True, False]  # type: ignore[union-attr]


def test_forwarding_an_acknowledged_case_counts_the_new_besked_under_the_new_forvaltning(
    make: Callable[..., Klagomal], clock: FixedClock
) -> None:
    k = make(Policy(DeadlinePolicy(acknowledge_days=3), "kof"))
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna", dt.date(2026, 3, 27))
    clock.set(dt.date(2026, 3, 5))
    # The new unit at Kultur- och fritid owes its besked within its own three days: 6, 9, 10 March.
    assert k.forward(ref, "kof-bibliotek").acknowledge_by == dt.date(2026, 3, 10)


def test_every_deadline_change_is_an_event(k: Klagomal, clock: FixedClock) -> None:
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna")
    k.postpone(ref, dt.date(2026, 4, 30), "Utredning")
    k.pause(ref, "Väntar")
    clock.advance(7)
    k.resume(ref)
    history = k.history(ref)
    assert [e.type for e in history] == ["registered", "acknowledged", "postponed", "paused", "resumed"]
    dates = [getattr(e.data, "respond_by", None) or getattr(e.data, "acknowledge_by", None) for e in history]
    # The default 20 working days end on 30 March; five working days paused
    # (3–9 March) move 30 April past 1 May to 8 May.
    assert dates == [ACK_BY, dt.date(2026, 3, 30), dt.date(2026, 4, 30), None, dt.date(2026, 5, 8)]
    assert k.rebuild(ref) == k.get(ref)


def test_a_policy_change_does_not_move_deadlines_already_decided(any_db_url: str, clock: FixedClock) -> None:
    url = any_db_url
    with Klagomal(url, clock=clock, load_entrypoints=False) as k:
        k.init()
        ref = register_case(k).reference
    with Klagomal(
        url, clock=clock, plugins=[Policy(DeadlinePolicy(acknowledge_days=5), "soc")], load_entrypoints=False
    ) as k:
        # The stored event keeps the date that was promised.
        assert k.get(ref).acknowledge_by == ACK_BY
        assert k.rebuild(ref).acknowledge_by == ACK_BY
        assert register_case(k).acknowledge_by == dt.date(2026, 3, 9)


def test_the_open_deadline_counts_the_working_days_left(k: Klagomal, clock: FixedClock) -> None:
    case = register_case(k, contact=EVA)
    deadline = k.open_deadline(case)
    assert deadline is not None
    assert (deadline.kind, deadline.due, deadline.working_days_left, deadline.overdue) == (
        "besked",
        ACK_BY,
        10,
        False,
    )
    assert deadline.when == "om 10 arbetsdagar"
    clock.set(dt.date(2026, 3, 13))
    assert k.open_deadline(case).when == "om 1 arbetsdag"  # type: ignore[union-attr]
    clock.set(ACK_BY)
    assert k.open_deadline(case).when == "i dag"  # type: ignore[union-attr]
    clock.set(dt.date(2026, 3, 18))  # two working days late
    deadline = k.open_deadline(case)
    assert deadline is not None
    assert (deadline.working_days_left, deadline.overdue, deadline.when) == (
        -2,
        True,
        "för 2 arbetsdagar sedan",
    )


def test_forvaltningar_sharing_a_plugin_calendar_share_its_index(make: Callable[..., Klagomal]) -> None:
    class Protocolish:
        """A plugin calendar that is not a WorkingCalendar: only the protocol."""

        name, label = "enkel", "Måndag–fredag"
        first_day, last_day = dt.date(2020, 1, 1), dt.date(2030, 12, 31)
        asked = 0

        def is_working_day(self, day: dt.date) -> bool:
            Protocolish.asked += 1
            return day.weekday() < 5

        def add_working_days(self, day: dt.date, n: int) -> dt.date:  # pragma: no cover - indexed instead
            raise NotImplementedError

        def working_days_between(self, start: dt.date, end: dt.date) -> int:  # pragma: no cover
            raise NotImplementedError

    class Plugin:
        @hookimpl
        def klagomal_calendars(self) -> Iterator[object]:
            yield Protocolish()

        @hookimpl
        def klagomal_deadline_policy(self, department: str) -> DeadlinePolicy | None:
            return DeadlinePolicy(calendar="enkel") if department in ("kof", "bou") else None

    k = make(Plugin())
    assert k.deadlines.calendar("kof") is k.deadlines.calendar("bou")
    assert register_case(k, unit="kof").acknowledge_by == ACK_BY  # no holidays in March anyway
    register_case(k, unit="bou")
    # Asked once per day of its range, however many förvaltningar use it.
    assert Protocolish.asked == (dt.date(2030, 12, 31) - dt.date(2020, 1, 1)).days + 1

"""Properties of the lifecycle under random sequences of commands.

A hypothesis state machine drives one Klagomal (in-memory SQLite, new for every
example) with random commands and checks after every step that the stored
projection is what the events say, and the R5/R12/R19–R21 invariants.
"""

from __future__ import annotations

import collections
import datetime as dt
import os

import hypothesis.strategies as st
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conftest import EVA, START
from klagomal import CaseState, FixedClock, Kind, Klagomal, KlagomalError, Level
from klagomal.cases.threats import active_flags
from klagomal.core.events import THREAT_ABOUT, THREAT_KINDS, Acknowledged, Forwarded, Paused, Resumed
from klagomal.hooks.builtin import BUILTIN_CHANNELS, BUILTIN_DIMENSIONS

UNITS = ["soc", "soc-aldre", "soc-aldre-hemtjanst-norr", "soc-ifo-barn-familj", "sbf-gatapark-park", "kof"]
CHANNELS = [c.id for c in BUILTIN_CHANNELS]
DIMENSIONS = [d.id for d in BUILTIN_DIMENSIONS]

#: What the runs did, summed over every example, so that the test can check
#: afterwards that the properties were not satisfied vacuously.
STATS: collections.Counter[str] = collections.Counter()

case_index = st.integers(min_value=0, max_value=20)
MAX_CASES = 4
# Escalation needs a person who was not satisfied.
unsatisfied_mostly = st.sampled_from([False, False, False, True])
# Now and then a case under handling waits for the person (a paused clock) or
# gets a new date, instead of being answered at once.
detours = st.sampled_from([None, None, "pause", "postpone"])


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(START)
        self.k = Klagomal("sqlite://", clock=self.clock, load_entrypoints=False)
        self.k.init()
        self.refs: list[str] = []
        self.levels: dict[str, int] = {}

    def teardown(self) -> None:
        self.k.dispose()

    # -- helpers -------------------------------------------------------------

    def _ref(self, index: int) -> str | None:
        return self.refs[index % len(self.refs)] if self.refs else None

    def _snapshot(self, ref: str) -> tuple[object, ...]:
        return (self.k.get(ref), self.k.history(ref), self.k.notices(ref))

    def _step(self, name: str, index: int, command) -> None:  # type: ignore[no-untyped-def]
        ref = self._ref(index)
        if ref is None:
            return
        before = self._snapshot(ref)
        try:
            case = command(ref)
        except KlagomalError:
            # A refused step changes nothing.
            assert self._snapshot(ref) == before
            STATS[f"refused {name}"] += 1
            event(f"refused {name}")
            return
        assert case.version == before[0].version + 1  # type: ignore[attr-defined]
        assert len(self.k.history(ref)) == len(before[1]) + 1  # type: ignore[arg-type]
        assert self.k.get(ref) == case
        STATS[name] += 1
        event(name)

    # -- commands --------------------------------------------------------------

    # Few cases per run, so that the other commands take them far.
    @precondition(lambda self: len(self.refs) < MAX_CASES)
    @rule(
        kind=st.sampled_from(list(Kind)),
        channel=st.sampled_from(CHANNELS),
        anonymous=st.sampled_from([False, False, True]),
        serious=st.sampled_from([False, False, False, True]),
        unit=st.sampled_from(UNITS),
        dimensions=st.lists(st.sampled_from(DIMENSIONS), max_size=3),
        days_ago=st.integers(min_value=0, max_value=20),
    )
    def register(
        self,
        kind: Kind,
        channel: str,
        anonymous: bool,
        serious: bool,
        unit: str,
        dimensions: list[str],
        days_ago: int,
    ) -> None:
        count = len(self.k.cases())
        try:
            case = self.k.register(
                kind=kind,
                channel=channel,
                unit=unit,
                text="Synpunkt",
                contact=None if anonymous else EVA,
                dimensions=dimensions,
                serious=serious,
                received=self.clock.today() - dt.timedelta(days=days_ago),
            )
        except KlagomalError:
            assert len(self.k.cases()) == count
            STATS["refused register"] += 1
            return
        assert case.anonymous == anonymous
        assert case.reference.startswith(f"{self.clock.today().year}-")
        self.refs.append(case.reference)
        self.levels[case.reference] = int(case.level)
        STATS["register anonymous" if anonymous else "register"] += 1

    @rule(index=case_index, unit=st.sampled_from(UNITS))
    def forward(self, index: int, unit: str) -> None:
        self._step("forward", index, lambda ref: self.k.forward(ref, unit))

    @rule(index=case_index, days=st.integers(min_value=-2, max_value=30))
    def acknowledge(self, index: int, days: int) -> None:
        respond_by = self.clock.today() + dt.timedelta(days=days)
        self._step("acknowledge", index, lambda ref: self.k.acknowledge(ref, "Hanna", respond_by))

    @rule(index=case_index)
    def inform(self, index: int) -> None:
        self._step("inform", index, lambda ref: self.k.inform(ref, "Vi utreder"))

    @rule(index=case_index, days=st.integers(min_value=-1, max_value=20))
    def postpone(self, index: int, days: int) -> None:
        def command(ref: str):  # type: ignore[no-untyped-def]
            # Mostly a valid new date: after both the promised date and today.
            promised = self.k.get(ref).respond_by or self.clock.today()
            respond_by = max(promised, self.clock.today()) + dt.timedelta(days=days)
            return self.k.postpone(ref, respond_by, "Mer tid")

        self._step("postpone", index, command)

    @rule(index=case_index)
    def pause(self, index: int) -> None:
        self._step("pause", index, lambda ref: self.k.pause(ref, "Väntar på uppgifter"))

    @rule(index=case_index)
    def resume(self, index: int) -> None:
        def command(ref: str):  # type: ignore[no-untyped-def]
            before = self.k.get(ref)
            case = self.k.resume(ref)
            # R10: the working days that were left when the clock stopped are
            # left again when it starts.
            assert before.paused_since is not None
            assert before.respond_by is not None
            assert case.respond_by is not None
            calendar = self.k.deadlines.calendar(case.department)
            assert calendar.working_days_between(self.clock.today(), case.respond_by) == (
                calendar.working_days_between(before.paused_since, before.respond_by)
            )
            assert case.respond_by >= before.respond_by
            return case

        self._step("resume", index, command)

    @rule(index=case_index, mode=st.sampled_from(["skriftligt", "muntligt"]))
    def answer(self, index: int, mode: str) -> None:
        self._step("answer", index, lambda ref: self.k.answer(ref, mode, "Svar"))

    @rule(index=case_index)
    def action(self, index: int) -> None:
        self._step("action", index, lambda ref: self.k.record_action(ref, "Åtgärd"))

    @rule(index=case_index, satisfied=st.sampled_from([True, False, None]))
    def close(self, index: int, satisfied: bool | None) -> None:
        self._step("close", index, lambda ref: self.k.close(ref, satisfied))

    @rule(index=case_index)
    def escalate(self, index: int) -> None:
        self._step("escalate", index, lambda ref: self.k.escalate(ref, "Inte nöjd"))

    @rule(index=case_index)
    def pass_on_praise(self, index: int) -> None:
        self._step("pass_on_praise", index, lambda ref: self.k.pass_on_praise(ref, ["Lisa"]))

    @rule(index=case_index, kind=st.sampled_from(list(Kind)))
    def reclassify(self, index: int, kind: Kind) -> None:
        self._step("reclassify", index, lambda ref: self.k.reclassify(ref, kind, "Rättat"))

    @rule(index=case_index, kind=st.sampled_from(THREAT_KINDS), about=st.sampled_from(THREAT_ABOUT))
    def flag(self, index: int, kind: str, about: str) -> None:
        def command(ref: str):  # type: ignore[no-untyped-def]
            before = self.k.get(ref)
            case = self.k.flag_threat(ref, kind, about=about, reason="Hotade personalen")
            # R28: a flag leaves the routine's own course as it was.
            assert (case.state, case.level, case.respond_by, case.acknowledge_by) == (
                before.state,
                before.level,
                before.respond_by,
                before.acknowledge_by,
            )
            return case

        self._step("flag", index, command)

    @rule(index=case_index)
    def unflag(self, index: int) -> None:
        self._step("unflag", index, lambda ref: self.k.lift_threat_flag(ref, "Utrett"))

    @rule(index=case_index, satisfied=unsatisfied_mostly, detour=detours)
    def progress(self, index: int, satisfied: bool, detour: str | None) -> None:
        """The natural next step, so that runs get deep into the lifecycle."""
        ref = self._ref(index)
        if ref is None:
            return
        case = self.k.get(ref)
        if case.kind is Kind.BEROM and not case.praise_passed_on and case.state is not CaseState.AVSLUTAT:
            self._step("pass_on_praise", index, lambda r: self.k.pass_on_praise(r, ["Lisa"]))  # R22
        elif case.state is CaseState.REGISTRERAT:
            respond_by = self.clock.today() + dt.timedelta(days=14)
            self._step("acknowledge", index, lambda r: self.k.acknowledge(r, "Hanna", respond_by))
        elif case.paused:
            self._step("resume", index, self.k.resume)
        elif case.state is CaseState.HANDLAGGNING and case.anonymous:
            self._step("close", index, lambda r: self.k.close(r, None))
        elif case.state is CaseState.HANDLAGGNING and detour == "pause":
            self._step("pause", index, lambda r: self.k.pause(r, "Väntar på uppgifter"))
        elif case.state is CaseState.HANDLAGGNING and detour == "postpone":
            self.postpone(index, 10)
        elif case.state is CaseState.HANDLAGGNING:
            self._step("answer", index, lambda r: self.k.answer(r, "skriftligt", "Svar"))
        elif case.state is CaseState.BESVARAT:
            self._step("close", index, lambda r: self.k.close(r, satisfied))
        else:
            self._step("escalate", index, lambda r: self.k.escalate(r, "Inte nöjd"))

    @rule(index=case_index, satisfied=unsatisfied_mostly, detour=detours)
    def progress_again(self, index: int, satisfied: bool, detour: str | None) -> None:
        """The same again: hypothesis picks among rules evenly, and deep runs matter."""
        self.progress(index, satisfied, detour)

    @rule(days=st.integers(min_value=0, max_value=40))
    def advance(self, days: int) -> None:
        self.clock.advance(days)

    # -- invariants ------------------------------------------------------------

    @invariant()
    def every_case_is_consistent(self) -> None:
        stored = {case.reference: case for case in self.k.cases()}
        assert sorted(stored) == sorted(self.refs)
        for ref, case in stored.items():
            history = self.k.history(ref)
            # The projection is what the events say.
            assert self.k.rebuild(ref) == case
            assert case.version == len(history)
            assert [e.seq for e in history] == list(range(1, len(history) + 1))
            # R12: every hop is counted.
            assert case.forwards == sum(isinstance(e.data, Forwarded) for e in history)
            # R19–R21: levels 1..3, never down.
            assert Level.ENHET <= case.level <= Level.NAMND
            assert case.level >= self.levels[ref]
            self.levels[ref] = int(case.level)
            # R2: a complaint stays a complaint.
            if history[0].data.kind is Kind.KLAGOMAL:  # type: ignore[union-attr]
                assert case.kind is Kind.KLAGOMAL
            notices = self.k.notices(ref)
            if case.anonymous:
                # R5: never any notice for an anonymous case.
                assert notices == []
                STATS["anonymous besked checked"] += sum(isinstance(e.data, Acknowledged) for e in history)
            else:
                # R7: every besked given to a known person is a notice.
                acknowledged = [e.seq for e in history if isinstance(e.data, Acknowledged)]
                assert [seq for seq, kind in notices if kind == "besked"] == acknowledged
                STATS["besked checked"] += len(acknowledged)
            assert all(seq <= case.version for seq, _kind in notices)
            # R28: the flags set are those the history sets and has not lifted.
            assert set(case.threat_flags) == {flag.key for flag in active_flags(history)}
            # A paused clock: only under handling, never overdue, and exactly
            # when the last pause has not been resumed.
            pauses = [e for e in history if isinstance(e.data, Paused | Resumed)]
            assert case.paused == bool(pauses and isinstance(pauses[-1].data, Paused))
            if case.paused:
                assert case.state is CaseState.HANDLAGGNING
                assert case.overdue_reason(self.clock.today()) is None
                assert case.paused_since == pauses[-1].day
                STATS["paused checked"] += 1
            # Every open deadline lies within the calendar, which can count to it.
            deadline = self.k.open_deadline(case)
            if deadline is not None:
                assert deadline.overdue == case.is_overdue(self.clock.today())


def test_lifecycle_properties() -> None:
    STATS.clear()
    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=150,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
            # The same examples on every run: whether a random run happens to
            # reach every step (checked below) varies a lot between runs, and
            # a gate in CI must not flicker.  Set KLAGOMAL_HYPOTHESIS_RANDOM=1
            # to explore new examples locally.
            derandomize=not os.environ.get("KLAGOMAL_HYPOTHESIS_RANDOM"),
        ),
    )
    # The properties above were checked on runs that went somewhere.
    for what in (
        "register",
        "register anonymous",
        "acknowledge",
        "postpone",
        "answer",
        "close",
        "escalate",
        "forward",
        "reclassify",
        "pass_on_praise",
        "pause",
        "resume",
        "flag",
        "unflag",
    ):
        assert STATS[what] > 0, (what, STATS)
    assert STATS["paused checked"] > 0
    assert STATS["besked checked"] > 0
    assert STATS["anonymous besked checked"] > 0
    assert STATS["refused register"] > 0
    assert sum(n for what, n in STATS.items() if what.startswith("refused ")) > STATS["refused register"]

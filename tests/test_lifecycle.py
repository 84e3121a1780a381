"""The lifecycle state machine, through ``klagomal.cases.lifecycle`` and the public API,
on SQLite, PostgreSQL and MariaDB.

Allowed steps (see the module docstring of :mod:`klagomal.cases.lifecycle`)::

    forward       registrerat | handlaggning        -> registrerat      (R12)
    acknowledge   registrerat                       -> handlaggning     (R7)
    inform        registrerat | handlaggning        (not anonymous; R9)
    postpone      handlaggning                      (R11)
    answer        handlaggning                      -> besvarat (R13)
    action        any state                         (R16)
    close         besvarat, or handlaggning when anonymous -> avslutat
    escalate      avslutat, not satisfied, level < 3 (R19–R21)
    pass-on       praise, not avslutat              (R22)
    reclassify    not avslutat, never away from klagomal (R2)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from conftest import EVA, START, UNIT, register_case, stored
from klagomal import (
    AnswerMode,
    Case,
    CaseNotFoundError,
    CaseState,
    Contact,
    Event,
    InvalidInputError,
    InvalidStepError,
    Kind,
    Klagomal,
    Level,
)
from klagomal.cases import lifecycle as lc
from klagomal.cases import threats
from klagomal.cases.amendments import NOTE_MAX
from klagomal.core.events import (
    Acknowledged,
    Answered,
    Closed,
    Forwarded,
    Guided,
    Informed,
    Postponed,
    Registered,
)
from klagomal.core.location import Location
from klagomal.core.organisation import default_organisation
from klagomal.core.steps import step_label
from klagomal.core.text_rules import TEXT_MAX
from klagomal.records.disposal import TEXT_FIELDS
from klagomal.storage import tables

R, H, B, A = CaseState.REGISTRERAT, CaseState.HANDLAGGNING, CaseState.BESVARAT, CaseState.AVSLUTAT
RESPOND_BY = dt.date(2026, 3, 27)


@pytest.fixture
def db_url(any_db_url: str) -> str:
    """These tests run on SQLite, PostgreSQL and MariaDB."""
    return any_db_url


def _ctx(k: Klagomal, today: dt.date = START) -> lc.Context:
    return lc.Context(
        today=today, organisation=default_organisation(), channels=k.channels, dimensions=k.dimensions
    )


def _apply(case: Case | None, data: object, reference: str = "2026-00001", day: dt.date = START) -> Case:
    return stored(case, data, reference=reference, day=day)


def _case_in(k: Klagomal, state: CaseState, *, kind: str = "berom", anonymous: bool = False) -> Case:
    """A case in *state*, built with lifecycle decisions and ``evolve`` only."""
    ctx = _ctx(k)
    contact = None if anonymous else EVA
    case = _apply(
        None, lc.register(ctx, kind=kind, channel="telefon", unit=UNIT, text="Tack!", contact=contact)
    )
    if state is R:
        return case
    case = _apply(case, lc.acknowledge(case, ctx, "Handläggare Hanna", RESPOND_BY))
    if state is H:
        return case
    if anonymous:
        return _apply(case, lc.close(case, ctx, None))
    case = _apply(case, lc.answer(case, ctx, "skriftligt", "Svar"))
    if state is B:
        return case
    return _apply(case, lc.close(case, ctx, False))


# Every step, with arguments that are valid whenever the state allows the step.
STEPS: dict[str, Callable[[Case, lc.Context], object]] = {
    "forward": lambda c, ctx: lc.forward(c, ctx, "soc-aldre-solgarden"),
    "acknowledge": lambda c, ctx: lc.acknowledge(c, ctx, "Handläggare Hanna", RESPOND_BY),
    "inform": lambda c, ctx: lc.inform(c, ctx, "Vi utreder."),
    "postpone": lambda c, ctx: lc.postpone(c, ctx, RESPOND_BY + dt.timedelta(days=14), "Semester"),
    "answer": lambda c, ctx: lc.answer(c, ctx, "skriftligt", "Svar"),
    "action": lambda c, ctx: lc.record_action(c, ctx, "Rutinen ändrad"),
    "close": lambda c, ctx: lc.close(c, ctx, True),
    "escalate": lambda c, ctx: lc.escalate(c, ctx, "Inte nöjd"),
    "pass-on": lambda c, ctx: lc.pass_on_praise(c, ctx, ["Lisa"]),
    "reclassify": lambda c, ctx: lc.reclassify(c, ctx, "forslag", "Egentligen ett förslag"),
    "flag": lambda c, ctx: threats.flag(c, ctx, "hotfullt", "kontakt", "Hotade personalen"),
}

# Which states allow each step, for a non-anonymous praise case.
ALLOWED: dict[str, set[CaseState]] = {
    "forward": {R, H},
    "acknowledge": {R},
    "inform": {R, H},
    "postpone": {H},
    "answer": {H},
    "action": {R, H, B, A},
    "close": {B},
    "escalate": {A},
    "pass-on": {R, H, B},
    "reclassify": {R, H, B},
    # R28: the treatment may come in any state, also after the case closed.
    "flag": {R, H, B, A},
}


@pytest.mark.parametrize("state", [R, H, B, A], ids=lambda s: s.value)
@pytest.mark.parametrize("step", sorted(STEPS))
def test_transition_table(k: Klagomal, step: str, state: CaseState) -> None:
    case = _case_in(k, state)
    assert case.state is state
    ctx = _ctx(k)
    if state in ALLOWED[step]:
        data = STEPS[step](case, ctx)
        after = _apply(case, data)
        assert after.version == case.version + 1
    else:
        with pytest.raises(InvalidStepError) as info:
            STEPS[step](case, ctx)
        # The error names the case, its state and the refused step.
        assert info.value.reference == case.reference
        assert info.value.state == state.value
        assert info.value.step == step
        assert case.reference in str(info.value)
        assert f"'{step_label(step)}'" in str(info.value)


def test_state_targets_of_each_step(k: Klagomal) -> None:
    ctx = _ctx(k)
    case = _case_in(k, H)
    assert _apply(case, STEPS["forward"](case, ctx)).state is R
    assert _apply(case, STEPS["inform"](case, ctx)).state is H
    assert _apply(case, STEPS["postpone"](case, ctx)).state is H
    assert _apply(case, STEPS["action"](case, ctx)).state is H
    assert _apply(case, STEPS["answer"](case, ctx)).state is B
    answered = _case_in(k, B)
    assert _apply(answered, STEPS["close"](answered, ctx)).state is A
    closed = _case_in(k, A)
    escalated = _apply(closed, STEPS["escalate"](closed, ctx))
    assert escalated.state is R
    assert escalated.level is Level.FORVALTNINGSCHEF


def test_decisions_have_no_side_effects(k: Klagomal) -> None:
    case = register_case(k)
    before = k.get(case.reference)
    data = lc.acknowledge(before, _ctx(k), "Hanna", RESPOND_BY)
    assert isinstance(data, Acknowledged)
    # Deciding does not store anything: the case and its history are as before.
    assert k.get(case.reference) == before
    assert len(k.history(case.reference)) == 1


def test_full_lifecycle_through_the_api(k: Klagomal, clock) -> None:
    case = register_case(k, dimensions=["bemotande"])
    assert case.state is R
    assert case.version == 1
    assert case.registered == START

    clock.advance(3)
    case = k.acknowledge(case.reference, "Handläggare Hanna", RESPOND_BY)
    assert (case.state, case.handler, case.respond_by, case.acknowledged) == (
        H,
        "Handläggare Hanna",
        RESPOND_BY,
        clock.today(),
    )

    case = k.inform(case.reference, "Vi har pratat med personalen.")
    case = k.record_action(case.reference, "Nytt schema")
    clock.advance(5)
    case = k.answer(case.reference, "skriftligt", "Vi ber om ursäkt.")
    assert (case.state, case.answered, case.answer_mode) == (B, clock.today(), AnswerMode.SKRIFTLIGT)

    clock.advance(1)
    case = k.close(case.reference, True)
    assert (case.state, case.closed, case.satisfied) == (A, clock.today(), True)
    assert case.version == 6
    assert [e.type for e in k.history(case.reference)] == [
        "registered",
        "acknowledged",
        "informed",
        "action_recorded",
        "answered",
        "closed",
    ]
    assert k.get(case.reference) == case


def test_forward_resets_the_acknowledgement(k: Klagomal) -> None:
    case = register_case(k)
    k.acknowledge(case.reference, "Hanna", RESPOND_BY)
    case = k.forward(case.reference, "soc-aldre-solgarden")
    # The new unit owes its own besked.
    assert (case.state, case.respond_by, case.acknowledged, case.handler) == (R, None, None, None)
    assert (case.unit, case.department) == ("soc-aldre-solgarden", "soc")


def test_forward_before_besked_keeps_the_deadline(k: Klagomal, clock) -> None:
    # The person has waited since receipt: the hop does not restart R7's clock.
    case = register_case(k)
    clock.advance(7)
    forwarded = k.forward(case.reference, "soc-aldre-solgarden")
    assert forwarded.acknowledge_by == case.acknowledge_by == dt.date(2026, 3, 16)


def test_forward_after_besked_owes_a_new_one(k: Klagomal, clock) -> None:
    case = register_case(k)
    k.acknowledge(case.reference, "Hanna", RESPOND_BY)
    clock.set(dt.date(2026, 3, 20))
    forwarded = k.forward(case.reference, "soc-aldre-solgarden")
    # Ten working days from the hop: Friday 20 March → Tuesday 7 April, past
    # långfredag (3 April) and annandag påsk (6 April).
    assert forwarded.acknowledge_by == dt.date(2026, 4, 7)
    assert k.history(case.reference)[-1].data.acknowledge_by == dt.date(2026, 4, 7)  # type: ignore[union-attr]


def test_forward_across_departments_changes_department(k: Klagomal) -> None:
    case = register_case(k)
    case = k.forward(case.reference, "sbf-gatapark-park")
    assert (case.unit, case.department) == ("sbf-gatapark-park", "sbf")


def test_forward_to_unknown_unit_refused(k: Klagomal) -> None:
    case = register_case(k)
    with pytest.raises(InvalidInputError) as info:
        k.forward(case.reference, "finns-inte")
    assert info.value.reference == case.reference
    assert info.value.step == "forward"
    assert k.get(case.reference) == case


def test_acknowledge_respond_by_in_the_past_refused(k: Klagomal, clock) -> None:
    case = register_case(k)
    with pytest.raises(InvalidInputError) as info:
        k.acknowledge(case.reference, "Hanna", START - dt.timedelta(days=1))
    assert info.value.step == "acknowledge"
    with pytest.raises(InvalidInputError):
        k.acknowledge(case.reference, "   ", RESPOND_BY)
    # Today itself is allowed.
    assert k.acknowledge(case.reference, "Hanna", START).respond_by == START


def test_postpone_must_move_the_date_forward(k: Klagomal) -> None:
    case = register_case(k)
    k.acknowledge(case.reference, "Hanna", RESPOND_BY)
    with pytest.raises(InvalidInputError):
        k.postpone(case.reference, RESPOND_BY, "Samma dag")
    with pytest.raises(InvalidInputError):
        k.postpone(case.reference, RESPOND_BY + dt.timedelta(days=1), " ")
    case = k.postpone(case.reference, RESPOND_BY + dt.timedelta(days=1), "Sjukdom")
    assert case.respond_by == RESPOND_BY + dt.timedelta(days=1)
    assert case.postponements == 1
    event = k.history(case.reference)[-1].data
    assert event == Postponed(
        respond_by=RESPOND_BY + dt.timedelta(days=1), previous=RESPOND_BY, reason="Sjukdom", in_time=True
    )


def test_answer_mode_unknown_refused(k: Klagomal) -> None:
    case = register_case(k)
    k.acknowledge(case.reference, "Hanna", RESPOND_BY)
    with pytest.raises(InvalidInputError) as info:
        k.answer(case.reference, "telepatiskt", "Svar")
    assert info.value.step == "answer"


def test_close_requires_satisfaction_unless_anonymous(k: Klagomal) -> None:
    case = _case_in(k, B)
    with pytest.raises(InvalidStepError):
        lc.close(case, _ctx(k), None)
    anonymous = _case_in(k, H, anonymous=True)
    assert lc.close(anonymous, _ctx(k), None) == Closed(satisfied=None)
    with pytest.raises(InvalidStepError):
        lc.close(anonymous, _ctx(k), True)
    # A non-anonymous case cannot skip the answer.
    with pytest.raises(InvalidStepError):
        lc.close(_case_in(k, H), _ctx(k), True)


def test_escalation_resets_the_handling(k: Klagomal) -> None:
    closed = _case_in(k, A)
    case = _apply(closed, lc.escalate(closed, _ctx(k), "Inte nöjd"))
    assert case.state is R
    assert (case.respond_by, case.acknowledged, case.answered, case.answer_mode) == (None, None, None, None)
    assert (case.closed, case.satisfied) == (None, None)
    # What happened before is still counted.
    assert case.version == closed.version + 1


def test_unknown_case(k: Klagomal) -> None:
    with pytest.raises(CaseNotFoundError) as info:
        k.acknowledge("2026-99999", "Hanna", RESPOND_BY)
    assert info.value.reference == "2026-99999"
    with pytest.raises(CaseNotFoundError):
        k.get("2026-99999")
    with pytest.raises(CaseNotFoundError):
        k.history("2026-99999")


def test_register_refuses_bad_input(k: Klagomal) -> None:
    with pytest.raises(InvalidInputError, match="okänd typ"):
        register_case(k, kind="klagomål")
    with pytest.raises(InvalidInputError, match="okänd enhet"):
        register_case(k, unit="nowhere")
    with pytest.raises(InvalidInputError):
        register_case(k, text="   ")
    with pytest.raises(InvalidInputError):
        register_case(k, received=START + dt.timedelta(days=1))
    with pytest.raises(InvalidInputError):
        register_case(k, contact=attrs.evolve(EVA, name=None, email=None))
    assert k.cases() == []


def test_replay_and_evolve_edge_cases() -> None:
    with pytest.raises(ValueError, match="empty history"):
        lc.replay([])
    stray = Event(
        reference="2026-00001",
        seq=1,
        day=START,
        recorded_at=dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC),
        data=Informed(text="x"),
    )
    with pytest.raises(ValueError, match="must start with 'registered'"):
        lc.evolve(None, stray)


def test_replay_equals_stepwise_evolve(k: Klagomal) -> None:
    case = register_case(k)
    k.acknowledge(case.reference, "Hanna", RESPOND_BY)
    k.forward(case.reference, "soc-aldre-solgarden")
    history = k.history(case.reference)
    assert [type(e.data) for e in history] == [Registered, Acknowledged, Forwarded]
    assert lc.replay(history) == k.get(case.reference)


def test_citizen_notice_mapping(k: Klagomal) -> None:
    case = _case_in(k, H)
    anonymous = _case_in(k, H, anonymous=True)

    def event(data: object) -> Event:
        return Event("2026-00001", 9, START, dt.datetime(2026, 3, 2, tzinfo=dt.UTC), data)  # type: ignore[arg-type]

    assert lc.citizen_notice(case, event(Acknowledged("Hanna", RESPOND_BY))) == "besked"
    assert lc.citizen_notice(case, event(Informed("x"))) == "information"
    assert lc.citizen_notice(case, event(Postponed(RESPOND_BY, START, "x", True))) == "forsening"
    assert lc.citizen_notice(case, event(Answered(AnswerMode.SKRIFTLIGT, "x"))) == "svar"
    assert lc.citizen_notice(case, event(Answered(AnswerMode.MUNTLIGT, "x"))) is None
    assert lc.citizen_notice(case, event(Closed(True))) is None
    assert lc.citizen_notice(anonymous, event(Acknowledged("Hanna", RESPOND_BY))) is None


def test_reclassify_changes_only_the_kind(k: Klagomal) -> None:
    case = register_case(k, kind="forslag")
    after = k.reclassify(case.reference, "berom", "Det var beröm")
    assert after.kind is Kind.BEROM
    assert attrs.evolve(after, kind=case.kind, version=case.version) == case
    with pytest.raises(InvalidStepError):
        k.reclassify(case.reference, "berom", "Igen")
    with pytest.raises(InvalidInputError):
        k.reclassify(case.reference, "forslag", "  ")


# -- the text rule in every step (klagomal.core.text_rules, issue 17) ------------------------------------

#: What a careless or hostile user puts in a text: a terminal escape with a
#: forged line, NUL, DEL, a C1 control (CSI), a lone surrogate (an undecodable byte).
BAD_TEXTS = {
    "esc": "Svar\x1b[2J\n2026-00002  Registrerat",
    "nul": "Svar\x00",
    "del": "Svar\x7f",
    "c1": "Svar\x9b31m",
    "surrogate": "Svar \udcff",
    "too-long": "x" * (TEXT_MAX + 1),
}


def _stored(k: Klagomal, ref: str) -> Case:
    """The case as stored, read without an audit entry."""
    with k._transaction() as uow:
        return uow.get(ref)


def _secret(k: Klagomal, ref: str) -> None:
    k.mark_secret(ref, "OSL 26 kap. 1 §")


def _praise(k: Klagomal) -> str:
    return register_case(k, kind="berom").reference


def _in_handling(k: Klagomal) -> str:
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna", RESPOND_BY)
    return ref


def _closed_not_satisfied(k: Klagomal) -> str:
    ref = _in_handling(k)
    k.answer(ref, "skriftligt", "Svar")
    k.close(ref, False)
    return ref


def _published(k: Klagomal) -> str:
    ref = _closed_not_satisfied(k)
    k.publish(ref)
    return ref


#: For every free text of every step (disposal.TEXT_FIELDS): how to make a
#: case where the step is allowed, and how to take the step through the API
#: with *text* in that field.  None: the step registers the case itself.
TEXT_STEPS: dict[tuple[str, str], tuple[Callable[[Klagomal], str] | None, Callable[..., object]]] = {
    ("registered", "text"): (
        None,
        lambda k, ref, text: k.register(
            kind="klagomal", channel="telefon", unit=UNIT, text=text, contact=EVA
        ),
    ),
    ("reclassified", "reason"): (_praise, lambda k, ref, text: k.reclassify(ref, "forslag", text)),
    ("informed", "text"): (_in_handling, lambda k, ref, text: k.inform(ref, text)),
    ("postponed", "reason"): (
        _in_handling,
        lambda k, ref, text: k.postpone(ref, RESPOND_BY + dt.timedelta(days=7), text),
    ),
    ("paused", "reason"): (_in_handling, lambda k, ref, text: k.pause(ref, text)),
    ("answered", "text"): (_in_handling, lambda k, ref, text: k.answer(ref, "skriftligt", text)),
    ("action_recorded", "text"): (_in_handling, lambda k, ref, text: k.record_action(ref, text)),
    ("escalated", "reason"): (_closed_not_satisfied, lambda k, ref, text: k.escalate(ref, text)),
    ("praise_passed_on", "text"): (_praise, lambda k, ref, text: k.pass_on_praise(ref, ["Lisa"], text)),
    ("guided", "text"): (_in_handling, lambda k, ref, text: k.guide(ref, "felanmalan", text)),
    ("guided", "decision"): (
        _in_handling,
        lambda k, ref, text: k.guide(
            ref, "overklagande", "Så överklagar du.", decision=text, appeal_to="Nämnden", notified=START
        ),
    ),
    # The e-mail intake cleans a message's text before this decision; the
    # decision is the guard for any other caller.
    ("message_received", "text"): (
        _in_handling,
        lambda k, ref, text: lc.receive_message(_stored(k, ref), k._context(), text, "eva@example.se", None),
    ),
    ("resolved_at_once", "text"): (
        lambda k: register_case(k).reference,
        lambda k, ref, text: k.resolve_at_once(ref, text, "Hanna"),
    ),
    ("secrecy_marked", "reason"): (
        lambda k: register_case(k).reference,
        lambda k, ref, text: k.mark_secret(ref, "OSL 26 kap. 1 §", reason=text),
    ),
    ("secrecy_lifted", "reason"): (
        lambda k: (ref := register_case(k).reference, _secret(k, ref))[0],
        lambda k, ref, text: k.lift_secrecy(ref, text),
    ),
    # R28: the reason a flag for threatening treatment was set, and lifted.
    ("threat_flagged", "reason"): (
        lambda k: register_case(k).reference,
        lambda k, ref, text: k.flag_threat(ref, "hotfullt", reason=text),
    ),
    ("threat_flag_lifted", "reason"): (
        lambda k: (ref := register_case(k).reference, k.flag_threat(ref, "hotfullt", reason="Hot."))[0],
        lambda k, ref, text: k.lift_threat_flag(ref, text),
    ),
    # Issue 19: an internal note, in any state, and the reason for a correction.
    ("note_added", "text"): (_closed_not_satisfied, lambda k, ref, text: k.add_note(ref, text)),
    ("contact_corrected", "reason"): (
        _in_handling,
        lambda k, ref, text: k.correct_contact(ref, phone=f"070-{len(text) % 9999999:07d}", reason=text),
    ),
    # Why a case was withdrawn from the public list of answered cases.
    ("publication_withdrawn", "reason"): (_published, lambda k, ref, text: k.unpublish(ref, text)),
    # Issue 21: why where the case is about was changed.
    ("located", "reason"): (
        _in_handling,
        lambda k, ref, text: k.locate(ref, Location(address=f"Storgatan {len(text)}"), reason=text),
    ),
}

#: The longest text of a step whose limit is not the text rule's own.
LONGEST = {("note_added", "text"): NOTE_MAX}


def test_every_free_text_of_every_step_has_a_text_step() -> None:
    # Read from the list of a step's free texts, so that a text added to a
    # step (and listed for disposal) cannot slip past the rule untested.
    listed = {(cls.TYPE, name) for cls, names in TEXT_FIELDS.items() for name in names}
    assert set(TEXT_STEPS) == listed


def _written(k: Klagomal) -> tuple[int, int, list[tuple[str, int]]]:
    """Events, audit entries, and each case's version, straight from the tables."""
    with k.storage.engine.connect() as conn:  # type: ignore[attr-defined]
        events = conn.execute(sa.select(sa.func.count()).select_from(tables.events)).scalar_one()
        entries = conn.execute(sa.select(sa.func.count()).select_from(tables.audit_log)).scalar_one()
        versions = conn.execute(sa.select(tables.cases.c.reference, tables.cases.c.version)).all()
    return events, entries, sorted(tuple(row) for row in versions)


@pytest.mark.parametrize("step_field", sorted(TEXT_STEPS), ids=lambda s: f"{s[0]}.{s[1]}")
def test_a_bad_character_or_length_in_any_free_text_is_refused_and_writes_nothing(
    k: Klagomal, step_field: tuple[str, str]
) -> None:
    prepare, take = TEXT_STEPS[step_field]
    ref = prepare(k) if prepare else None
    for what, text in BAD_TEXTS.items():
        before = _written(k)
        with pytest.raises(InvalidInputError) as refused:
            take(k, ref, text)
        message = str(refused.value)
        assert refused.value.step is not None, (what, message)
        assert f"steg '{step_label(refused.value.step)}'" in message
        if ref is not None:
            assert message.startswith(f"Ärende {ref}, "), message
        expected = "för lång" if what == "too-long" else "tecken"
        assert expected in message, (what, message)
        assert _written(k) == before, what
    # The same step with a clean text of the longest length, and a Windows
    # line break, is taken: the rule refuses nothing else.
    if step_field[0] != "message_received":
        longest = LONGEST.get(step_field, TEXT_MAX)
        result = take(k, ref, "Första raden\r\nandra\tslutet" + "x" * (longest - 26))
        case = result if isinstance(result, Case) else k.get(ref or "")
        event = k.history(case.reference)[-1]
        assert getattr(event.data, step_field[1]).startswith("Första raden\nandra\tslutet")


@pytest.mark.parametrize(
    ("contact", "expected"),
    [
        (Contact(name="Eva\x1b[31m"), "namnet innehåller ett styrtecken som inte kan tas emot (U+001B ESC"),
        (Contact(name="Eva\nSvensson"), "namnet får inte innehålla radbrytningar"),
        (Contact(phone="070\x00123"), "telefonnumret innehåller ett styrtecken"),
        (Contact(name="E" * 201), "namnet är för lång: 201 tecken, högst 200"),
        (Contact(address="Storgatan 1\n" + "x" * 500), "postadressen är för lång"),
        (
            Contact(email="bo@example.se\r\nBcc: alla@example.se"),
            "e-postadressen får inte innehålla radbrytningar",
        ),
        (Contact(email="a@example.se, ond@example.se"), "ange en enda adress"),
        (Contact(email='"ond@example.se" <a@example.se>'), "utan namn eller tecknen"),
        (Contact(email="eva@example"), "följer inte formen namn@exempel.se"),
        (Contact(email="eva@example.test"), "följer inte formen namn@exempel.se"),
        (Contact(email="eva..lind@example.se"), "följer inte formen namn@exempel.se"),
        (Contact(email="eva@[127.0.0.1]"), "följer inte formen namn@exempel.se"),
    ],
)
def test_a_bad_contact_is_refused_at_registration_and_writes_nothing(
    k: Klagomal, contact: Contact, expected: str
) -> None:
    before = _written(k)
    with pytest.raises(InvalidInputError) as refused:
        k.register(kind="klagomal", channel="telefon", unit=UNIT, text="Hej", contact=contact)
    assert str(refused.value).startswith("steg 'registrera': ")
    assert expected in str(refused.value)
    assert _written(k) == before


def test_an_e_mail_address_is_kept_as_the_library_normalises_it(k: Klagomal) -> None:
    contact = Contact(
        name=" Åsa Öberg ", email="  Åsa.Öberg@Exempel.SE ", address="Storgatan 1\r\n123 45 Ort"
    )
    case = k.register(kind="klagomal", channel="brev", unit=UNIT, text="Hej", contact=contact)
    assert case.contact == Contact(
        name="Åsa Öberg", email="Åsa.Öberg@exempel.se", address="Storgatan 1\n123 45 Ort"
    )


# -- refusals of single steps, each with its message and nothing written ---------------------------------
#
# Each refusal is asserted by its whole message, as the handler reads it, and
# the tables are compared before and after: a refused step writes no event,
# no audit entry and no new version.


def _not_allowed(ref: str, state: str, step: str, reason: str) -> str:
    """The message of an :class:`InvalidStepError`, written out."""
    return f"Ärende {ref} (status {state}): steget '{step}' är inte tillåtet: {reason}"


def test_describe_with_the_description_the_case_already_has_is_refused(k: Klagomal) -> None:
    ref = register_case(k).reference
    k.describe(ref, "Klagomål på hemtjänstens tider")
    for same in ("Klagomål på hemtjänstens tider", "  Klagomål på hemtjänstens tider \t"):
        before = _written(k)
        with pytest.raises(InvalidStepError) as refused:
            k.describe(ref, same)
        assert str(refused.value) == _not_allowed(
            ref, "registrerat", "beskriva i diariet", "ärendet har redan den beskrivningen"
        )
        assert _written(k) == before
    # Another description is taken, and replaces the first.
    assert k.describe(ref, "Klagomål på hemtjänsten").summary == "Klagomål på hemtjänsten"


def test_a_secrecy_ground_longer_than_200_characters_is_refused(k: Klagomal) -> None:
    ref = register_case(k).reference
    ground = "OSL 26 kap. 1 § " + "x" * 184
    assert len(ground) == 200
    before = _written(k)
    with pytest.raises(InvalidInputError) as refused:
        k.mark_secret(ref, ground + "x")
    assert str(refused.value) == (
        f"Ärende {ref}, steg 'sekretessmarkera': sekretessgrunden är för lång (högst 200 tecken)"
    )
    assert _written(k) == before
    # 200 characters are taken, the blanks around them removed, and stored whole.
    assert k.mark_secret(ref, f"  {ground}  ").secrecy == ground
    assert _stored(k, ref).secrecy == ground


def test_a_respond_by_date_before_the_received_date_is_refused(k: Klagomal) -> None:
    received = dt.date(2026, 2, 16)
    ref = register_case(k, received=received).reference
    before = _written(k)
    with pytest.raises(InvalidInputError) as refused:
        k.acknowledge(ref, "Hanna", dt.date(2026, 2, 13))
    assert str(refused.value) == (
        f"Ärende {ref}, steg 'ge besked': svarsdatum 2026-02-13 ligger före mottagningsdatum 2026-02-16"
    )
    # The received day itself, before today, has passed: another refusal.
    with pytest.raises(InvalidInputError) as passed:
        k.acknowledge(ref, "Hanna", received)
    assert str(passed.value) == f"Ärende {ref}, steg 'ge besked': svarsdatum 2026-02-16 har redan passerat"
    assert _written(k) == before
    # A case received today may be promised an answer today.
    today = register_case(k).reference
    assert k.acknowledge(today, "Hanna", START).respond_by == START


def _appeal(k: Klagomal, ref: str, **changes: object) -> Case:
    args: dict[str, object] = {
        "decision": "Beslut om hemtjänst, 2026-02-20",
        "appeal_to": "Socialnämnden",
        "notified": START,
    }
    args.update(changes)
    return k.guide(ref, "overklagande", "Så överklagar du beslutet.", **args)  # type: ignore[arg-type]


def test_guidance_to_appeal_a_decision_notified_in_the_future_is_refused(k: Klagomal, clock) -> None:
    ref = _in_handling(k)
    before = _written(k)
    with pytest.raises(InvalidInputError) as refused:
        _appeal(k, ref, notified=START + dt.timedelta(days=1))
    assert str(refused.value) == (
        f"Ärende {ref}, steg 'vägleda': personen kan inte ha fått del av beslutet i framtiden (2026-03-03)"
    )
    assert _written(k) == before
    # Notified today: the three weeks end on midsommarafton, Friday 19 June
    # 2026, and the last day moves past midsommar to Monday 22 June (lag 1930:173).
    clock.set(dt.date(2026, 5, 29))
    _appeal(k, ref, notified=clock.today())
    guided: Any = k.history(ref)[-1].data
    assert (guided.route, guided.appeal_by) == ("overklagande", dt.date(2026, 6, 22))


#: The guide step's refusals: how to make the case (anonymous or not, which
#: state), the arguments that differ from a valid appeal, and the message
#: after "Ärende <ref>" (and a comma, when it names the step first).
GUIDE_REFUSALS: dict[str, tuple[Callable[[Klagomal], str], dict[str, object], str]] = {
    "unknown-route": (
        _in_handling,
        {"route": "domstol"},
        "steg 'vägleda': okänd väg 'domstol' (giltiga: overklagande, felanmalan)",
    ),
    "no-text": (_in_handling, {"text": " \n "}, "steg 'vägleda': vägledningen saknas"),
    "no-decision": (
        _in_handling,
        {"decision": None},
        "steg 'vägleda': beslutet som kan överklagas saknas",
    ),
    "no-appeal-to": (
        _in_handling,
        {"appeal_to": "  "},
        "steg 'vägleda': vart överklagandet ska skickas saknas",
    ),
    "no-notified": (
        _in_handling,
        {"notified": None},
        "steg 'vägleda': ange dagen då personen fick del av beslutet",
    ),
    "anonymous": (
        lambda k: register_case(k, contact=None).reference,
        {},
        "(status registrerat): steget 'vägleda' är inte tillåtet: "
        "ärendet är anonymt; personen kan inte nås med vägledning",
    ),
    "closed": (
        _closed_not_satisfied,
        {},
        "(status avslutat): steget 'vägleda' är inte tillåtet: kräver status registrerat, "
        "under handläggning, besvarat",
    ),
}


def test_every_refusal_of_the_guide_step(k: Klagomal) -> None:
    # One test for all of them: a database per refusal on three backends costs seconds.
    for refusal, (prepare, changes, expected) in GUIDE_REFUSALS.items():
        ref = prepare(k)
        args: dict[str, object] = {
            "route": "overklagande",
            "text": "Så överklagar du beslutet.",
            "decision": "Beslut om hemtjänst, 2026-02-20",
            "appeal_to": "Socialnämnden",
            "notified": START,
        }
        args.update(changes)
        before = _written(k)
        with pytest.raises((InvalidInputError, InvalidStepError)) as refused:
            k.guide(ref, **args)  # type: ignore[arg-type]
        separator = "" if expected.startswith("(") else ","
        assert str(refused.value) == f"Ärende {ref}{separator} {expected}", refusal
        assert _written(k) == before, refusal
    # A fault report needs no decision, nobody to appeal to and no day.
    ref = _in_handling(k)
    k.guide(ref, "felanmalan", "Felanmäl gatlampan på kommunens webbplats.")
    assert k.history(ref)[-1].data == Guided("felanmalan", "Felanmäl gatlampan på kommunens webbplats.")


def test_a_message_with_neither_text_nor_attachments_is_refused(k: Klagomal) -> None:
    ref = _in_handling(k)
    case = _stored(k, ref)
    before = _written(k)
    for blank in ("", "  \n\t "):
        with pytest.raises(InvalidInputError) as refused:
            lc.receive_message(case, k._context(), blank, "eva@example.se", None)
        assert str(refused.value) == (
            f"Ärende {ref}, steg 'ta emot meddelande': meddelandet har varken text eller bilagor"
        )
    assert _written(k) == before
    # A text alone, or attachments alone, is a message.
    assert lc.receive_message(case, k._context(), "Hej igen", None, None).text == "Hej igen"
    only_files = lc.receive_message(case, k._context(), " ", None, None, ("kvitto.pdf",))
    assert only_files.attachments == ("kvitto.pdf",)


def test_an_escalated_case_cannot_be_resolved_at_once(k: Klagomal) -> None:
    ref = _closed_not_satisfied(k)
    escalated = k.escalate(ref, "Inte nöjd med svaret")
    assert (escalated.state, escalated.level) == (R, Level.FORVALTNINGSCHEF)
    before = _written(k)
    with pytest.raises(InvalidStepError) as refused:
        k.resolve_at_once(ref, "Ringde och bad om ursäkt.", "Hanna")
    assert str(refused.value) == _not_allowed(
        ref, "registrerat", "lösa direkt", "ett ärende som lyfts till en högre nivå kan inte lösas direkt"
    )
    assert _written(k) == before
    # A serious complaint goes to the nearest manager (R15).
    serious = register_case(k, serious=True).reference
    before = _written(k)
    with pytest.raises(InvalidStepError) as refused:
        k.resolve_at_once(serious, "Ringde och bad om ursäkt.", "Hanna")
    assert str(refused.value) == _not_allowed(
        serious,
        "registrerat",
        "lösa direkt",
        "ett allvarligt klagomål går till närmaste chef och löses inte direkt (R15)",
    )
    assert _written(k) == before
    # A new case at its first level is resolved at once.
    resolved = k.resolve_at_once(register_case(k).reference, "Ringde och bad om ursäkt.", "Hanna")
    assert (resolved.state, resolved.resolved_at_once) == (A, True)


#: Every way a person may want to be reached, and the contact field it needs.
WAYS = {"epost": "email", "brev": "address", "telefon": "phone"}

#: A contact with every way filled in.
EVERY_WAY = Contact(name="Eva Svensson", email="eva@example.se", phone="070-123 45 67", address="Storgatan 1")


def test_a_preferred_way_of_contact_unknown_or_without_its_detail_is_refused(k: Klagomal) -> None:
    def register(contact: Contact) -> Case:
        return k.register(kind="klagomal", channel="telefon", unit=UNIT, text="Hej", contact=contact)

    before = _written(k)
    with pytest.raises(InvalidInputError) as refused:
        register(attrs.evolve(EVERY_WAY, preferred="sms"))
    assert str(refused.value) == "steg 'registrera': okänt kontaktsätt 'sms' (giltiga: epost, brev, telefon)"
    assert _written(k) == before
    for way, field in WAYS.items():
        # The other ways are there: the check looks at the right one.
        for missing in (None, "   "):
            with pytest.raises(InvalidInputError) as refused:
                register(attrs.evolve(EVERY_WAY, preferred=way, **{field: missing}))
            assert str(refused.value) == (
                f"steg 'registrera': personen vill bli kontaktad via {way}, men den uppgiften saknas"
            )
            assert _written(k) == before, (way, missing)
        # With only that detail, the way is taken.
        case = register(Contact(preferred=way, **{field: getattr(EVERY_WAY, field)}))
        assert case.contact is not None
        assert (case.contact.preferred, getattr(case.contact, field)) == (way, getattr(EVERY_WAY, field))
        before = _written(k)

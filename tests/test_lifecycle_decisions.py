"""Every decision of :mod:`klagomal.cases.lifecycle`, called directly, without a database.

Each refusal is checked with its whole Swedish message, the step and the case
it names, and each accepted step with the exact payload it decides: a
handler reads the message to know what to do next (R7–R22), so a changed
word, a lost case reference or a step named wrongly is a fault.  These tests
are the lifecycle module's own in the mutation run (``tox -e mutation``,
docs/testing.md); the same refusals through the database are in
``test_lifecycle.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import attrs
import pytest

from conftest import stored
from klagomal import (
    AnswerMode,
    Case,
    CaseState,
    Contact,
    Event,
    InvalidInputError,
    InvalidStepError,
    Kind,
    Level,
)
from klagomal.cases import lifecycle as lc
from klagomal.cases import step_texts
from klagomal.core.errors import CalendarError, InvalidPersonNumberError
from klagomal.core.events import (
    TEXT_FIELDS,
    Acknowledged,
    ActionRecorded,
    Answered,
    Assigned,
    AttachmentAdded,
    Closed,
    ContactCorrected,
    Described,
    Escalated,
    Forwarded,
    Guided,
    Informed,
    Located,
    MessageReceived,
    NoteAdded,
    Paused,
    Postponed,
    PraisePassedOn,
    PublicationWithdrawn,
    Published,
    Reclassified,
    ResolvedAtOnce,
    Resumed,
    SecrecyLifted,
    SecrecyMarked,
    ThreatFlagged,
    ThreatFlagLifted,
)
from klagomal.core.location import Location
from klagomal.core.model import Route
from klagomal.core.organisation import default_organisation
from klagomal.deadlines.calendars import WorkingCalendar, swedish_calendar
from klagomal.deadlines.policies import DeadlinePolicy, Deadlines
from klagomal.hooks.builtin import BUILTIN_CHANNELS, BUILTIN_DIMENSIONS

REF = "2026-00001"
START = dt.date(2026, 3, 2)  # a Monday
UNIT = "soc-aldre-hemtjanst-norr"
OTHER = "soc-aldre-solgarden"
EVA = Contact(name="Eva Svensson", email="eva@example.se")
RESPOND_BY = dt.date(2026, 3, 27)
CTX = lc.Context(
    today=START,
    organisation=default_organisation(),
    channels={c.id: c for c in BUILTIN_CHANNELS},
    dimensions={d.id: d for d in BUILTIN_DIMENSIONS},
)

#: Förvaltningar with rules of their own: Socialförvaltningen gives its
#: besked within five working days and is closed on 4 March 2026,
#: Barn och utbildning within three.  Every deadline of a step must be
#: counted with the rules of the case's own förvaltning.
#: Kultur och fritid counts on a calendar of its own, weekdays of 2026 and
#: 2027 only, promises an answer to a complaint within five, and counts
#: reply cards from the day they were registered.
LOCAL_POLICIES = {
    "soc": DeadlinePolicy(acknowledge_days=5, closed_days=[dt.date(2026, 3, 4)]),
    "bou": DeadlinePolicy(acknowledge_days=3),
    "kof": DeadlinePolicy(
        calendar="kort", response_days={"klagomal": 5}, count_from_registration=["svarskort"]
    ),
}
SHORT = WorkingCalendar(
    "kort", "Vardagar 2026–2027", dt.date(2026, 1, 1), dt.date(2027, 12, 31), lambda day: day.weekday() < 5
)
LOCAL = attrs.evolve(
    CTX,
    deadlines=Deadlines(
        CTX.organisation,
        {"se": swedish_calendar(), "kort": SHORT},
        lambda department: (LOCAL_POLICIES.get(department, DeadlinePolicy()), "test"),
    ),
)
LIBRARY = "kof-bibliotek"


def on(day: dt.date, ctx: lc.Context = CTX) -> lc.Context:
    return attrs.evolve(ctx, today=day)


def _apply(case: Case | None, data: object, day: dt.date = START) -> Case:
    return stored(case, data, reference=REF, day=day)


def new(
    kind: str = "klagomal", *, contact: Contact | None = EVA, serious: bool = False, unit: str = UNIT
) -> Case:
    return _apply(
        None,
        lc.register(
            CTX, kind=kind, channel="telefon", unit=unit, text="Ingen kom.", contact=contact, serious=serious
        ),
    )


def handling(kind: str = "klagomal", *, contact: Contact | None = EVA) -> Case:
    case = new(kind, contact=contact)
    return _apply(case, lc.acknowledge(case, CTX, "Hanna", RESPOND_BY))


def answered(kind: str = "klagomal") -> Case:
    case = handling(kind)
    return _apply(case, lc.answer(case, CTX, "skriftligt", "Svar"))


def closed(satisfied: bool = False, kind: str = "klagomal") -> Case:
    case = answered(kind)
    return _apply(case, lc.close(case, CTX, satisfied))


def paused(day: dt.date = START) -> Case:
    case = handling()
    return _apply(case, lc.pause(case, on(day), "Väntar på intyg"), day)


def step_refused(call: Callable[[], object], step: str, reference: str | None = REF) -> str:
    """The whole message of the refusal *call* raises, after checking that it
    is an :class:`InvalidStepError` naming *step* and *reference*."""
    with pytest.raises(InvalidStepError) as info:
        call()
    assert (info.value.step, info.value.reference) == (step, reference)
    return str(info.value)


def input_refused(call: Callable[[], object], step: str, reference: str | None = REF) -> str:
    """The same for an :class:`InvalidInputError`."""
    with pytest.raises(InvalidInputError) as info:
        call()
    assert (info.value.step, info.value.reference) == (step, reference)
    return str(info.value)


def not_allowed(state: str, step: str, reason: str) -> str:
    return f"Ärende {REF} (status {state}): steget '{step}' är inte tillåtet: {reason}"


# -- register ---------------------------------------------------------------------


def test_register_decides_the_whole_registration() -> None:
    data = lc.register(
        CTX,
        kind="klagomal",
        channel="brev",
        unit=UNIT,
        text="Ingen kom.",
        received=dt.date(2026, 2, 27),
        contact=Contact(name="Eva", personnummer="19121212-1212"),
        dimensions=("bemotande", "kompetens", "bemotande"),
        serious=True,
    )
    assert attrs.asdict(data, recurse=False) == {
        "kind": Kind.KLAGOMAL,
        "channel": "brev",
        "unit": UNIT,
        "department": "soc",
        "text": "Ingen kom.",
        "received": dt.date(2026, 2, 27),
        # Ten working days from receipt (Friday 27 February), not from registration.
        "acknowledge_by": dt.date(2026, 3, 13),
        "contact": Contact(name="Eva", personnummer="191212121212"),
        "dimensions": ("bemotande", "kompetens"),
        "serious": True,
        "handler": "Enhetschef Lena Holm",  # R15: the nearest manager
        "secrecy": None,
        "notes": (),
        "external_id": None,
        "summary": None,
        "location": None,
        "language": "sv",
    }


def test_register_without_received_is_received_today_and_not_serious_has_no_handler() -> None:
    data = lc.register(CTX, kind="forslag", channel="telefon", unit=UNIT, text="Bänkar", contact=EVA)
    assert (data.received, data.acknowledge_by, data.handler, data.serious) == (
        START,
        dt.date(2026, 3, 16),
        None,
        False,
    )


REGISTER_REFUSALS = [
    ({"kind": "gnall"}, "okänd typ 'gnall' (giltiga: klagomal, forslag, berom)"),
    (
        {"channel": "brevduva"},
        "okänd kanal 'brevduva' (giltiga: besok, brev, epost, open311, svarskort, telefon, "
        "telefonsvarare, webbformular)",
    ),
    ({"unit": "soc-mars"}, "okänd enhet 'soc-mars'"),
    ({"text": "   "}, "texten saknas"),
    (
        {"received": START + dt.timedelta(days=1)},
        "mottagningsdatum 2026-03-03 ligger efter dagens datum 2026-03-02",
    ),
    ({"contact": Contact()}, "ange minst ett sätt att nå personen, eller registrera ärendet som anonymt"),
    (
        {"contact": Contact(name="Eva", preferred="duva")},
        "okänt kontaktsätt 'duva' (giltiga: epost, brev, telefon)",
    ),
    (
        {"contact": Contact(name="Eva", email="eva@example.se", preferred="telefon")},
        "personen vill bli kontaktad via telefon, men den uppgiften saknas",
    ),
    (
        {"contact": Contact(name="Eva", phone="0701234567", preferred="brev")},
        "personen vill bli kontaktad via brev, men den uppgiften saknas",
    ),
    (
        {"contact": Contact(name="Eva", phone="0701234567", preferred="epost")},
        "personen vill bli kontaktad via epost, men den uppgiften saknas",
    ),
    (
        {"dimensions": ("bemotande", "humor", "ton")},
        "okänd kvalitetsdimension 'humor' (giltiga: bemotande, inflytande, kompetens, tillganglighet)",
    ),
    ({"kind": "forslag", "serious": True}, "bara klagomål kan markeras som allvarliga"),
    (
        {"channel": "webbformular", "contact": None},
        "anonyma synpunkter tas inte emot via kanalen 'webbformular'",
    ),
]


#: Plain ASCII ids: the mutation run passes node ids back to pytest, which
#: does not find a parameter id it had to escape.
REGISTER_IDS = [
    "kind",
    "channel",
    "unit",
    "text",
    "received",
    "empty-contact",
    "unknown-way",
    "no-phone",
    "no-address",
    "no-email",
    "dimension",
    "serious-suggestion",
    "anonymous-web",
]


@pytest.mark.parametrize(("changes", "reason"), REGISTER_REFUSALS, ids=REGISTER_IDS)
def test_every_refusal_of_register(changes: dict[str, object], reason: str) -> None:
    args: dict[str, object] = {"kind": "klagomal", "channel": "telefon", "unit": UNIT, "text": "Ingen kom."}
    args["contact"] = EVA
    args.update(changes)
    message = input_refused(lambda: lc.register(CTX, **args), "register", None)  # type: ignore[arg-type]
    assert message == f"steg 'registrera': {reason}"


def test_preferred_ways_that_have_their_detail_are_accepted() -> None:
    for way, contact in (
        ("epost", Contact(email="eva@example.se")),
        ("brev", Contact(address="Storgatan 1")),
        ("telefon", Contact(phone="0701234567")),
    ):
        data = lc.register(
            CTX,
            kind="klagomal",
            channel="telefon",
            unit=UNIT,
            text="x",
            contact=attrs.evolve(contact, preferred=way),
        )
        assert data.contact == attrs.evolve(contact, preferred=way)


def test_a_wrong_personnummer_is_refused_without_the_number() -> None:
    with pytest.raises(InvalidPersonNumberError) as info:
        lc.register(
            CTX,
            kind="klagomal",
            channel="telefon",
            unit=UNIT,
            text="x",
            contact=Contact(name="Eva", personnummer="19121212-1213"),
        )
    assert (info.value.step, info.value.reference) == ("register", None)
    assert str(info.value) == (
        "steg 'registrera': personnumret är ogiltigt: kontrollsiffran stämmer inte; "
        "rätta det, eller registrera utan personnummer"
    )


def test_anonymous_feedback_by_phone_is_registered_and_the_web_form_refuses_it() -> None:
    assert lc.register(CTX, kind="klagomal", channel="telefon", unit=UNIT, text="x").contact is None
    error = lc.anonymous_refused("webbformular")
    assert (error.step, error.reference) == ("register", None)
    assert str(error) == "steg 'registrera': anonyma synpunkter tas inte emot via kanalen 'webbformular'"


def test_parse_kind_names_the_step_and_case_it_was_given() -> None:
    assert lc.parse_kind("berom") is Kind.BEROM
    message = input_refused(lambda: lc.parse_kind("gnall", "reclassify", REF), "reclassify")
    assert message == f"Ärende {REF}, steg 'ändra typ': okänd typ 'gnall' (giltiga: klagomal, forslag, berom)"
    assert input_refused(lambda: lc.parse_kind("gnall"), "register", None).startswith("steg 'registrera': ")


def test_check_date_refuses_a_day_before_the_latest_event_and_allows_the_same_day() -> None:
    case = handling()
    lc.check_date(case, CTX, "answer")
    message = input_refused(lambda: lc.check_date(case, on(START - dt.timedelta(days=1)), "answer"), "answer")
    assert message == (
        f"Ärende {REF}, steg 'besvara': "
        "dagens datum 2026-03-01 ligger före ärendets senaste händelse 2026-03-02"
    )


# -- forward, acknowledge, assign ------------------------------------------------------


def test_forward_before_besked_keeps_the_deadline_and_serious_goes_to_the_new_manager() -> None:
    case = new(serious=True)
    data = lc.forward(case, on(dt.date(2026, 3, 10)), OTHER)
    assert data == Forwarded(
        from_unit=UNIT,
        to_unit=OTHER,
        department="soc",
        acknowledge_by=case.acknowledge_by,
        handler=CTX.organisation.nearest_manager(OTHER),
    )
    assert data.handler is not None


def test_forward_after_besked_owes_a_new_one_from_today() -> None:
    data = lc.forward(handling(), on(dt.date(2026, 3, 10)), "bou-forskola-ekorren")
    assert data == Forwarded(
        from_unit=UNIT,
        to_unit="bou-forskola-ekorren",
        department="bou",
        acknowledge_by=dt.date(2026, 3, 24),
        handler=None,
    )


def test_every_refusal_of_forward() -> None:
    assert step_refused(lambda: lc.forward(answered(), CTX, OTHER), "forward") == not_allowed(
        "besvarat", "skicka vidare", "kräver status registrerat, under handläggning"
    )
    assert step_refused(lambda: lc.forward(paused(), CTX, OTHER), "forward") == not_allowed(
        "under handläggning",
        "skicka vidare",
        "ärendet väntar på personen sedan 2026-03-02; återuppta det först (resume)",
    )
    assert input_refused(lambda: lc.forward(new(), CTX, "soc-mars"), "forward") == (
        f"Ärende {REF}, steg 'skicka vidare': okänd enhet 'soc-mars'"
    )
    assert step_refused(lambda: lc.forward(new(), CTX, UNIT), "forward") == not_allowed(
        "registrerat", "skicka vidare", f"ärendet ligger redan hos {UNIT}"
    )


def test_acknowledge_with_and_without_a_date() -> None:
    assert lc.acknowledge(new(), CTX, "Hanna", RESPOND_BY) == Acknowledged(
        handler="Hanna", respond_by=RESPOND_BY
    )
    # Without a date: the förvaltning's response time for a complaint, from today.
    assert lc.acknowledge(new(), CTX, "Hanna") == Acknowledged(
        handler="Hanna", respond_by=dt.date(2026, 3, 30)
    )
    # The received day itself and today are allowed.
    assert lc.acknowledge(new(), CTX, "Hanna", START).respond_by == START


def test_every_refusal_of_acknowledge() -> None:
    assert step_refused(lambda: lc.acknowledge(handling(), CTX, "Hanna"), "acknowledge") == not_allowed(
        "under handläggning", "ge besked", "kräver status registrerat"
    )
    assert input_refused(lambda: lc.acknowledge(new(), CTX, " "), "acknowledge") == (
        f"Ärende {REF}, steg 'ge besked': handläggare saknas"
    )
    late = _apply(None, lc.register(CTX, kind="klagomal", channel="brev", unit=UNIT, text="x", contact=EVA))
    assert (
        input_refused(
            lambda: lc.acknowledge(late, on(dt.date(2026, 3, 5)), "Hanna", dt.date(2026, 3, 3)), "acknowledge"
        )
        == f"Ärende {REF}, steg 'ge besked': svarsdatum 2026-03-03 har redan passerat"
    )
    assert (
        input_refused(lambda: lc.acknowledge(new(), CTX, "Hanna", dt.date(2026, 3, 1)), "acknowledge")
        == f"Ärende {REF}, steg 'ge besked': svarsdatum 2026-03-01 ligger före mottagningsdatum 2026-03-02"
    )


def test_assign_and_its_refusals() -> None:
    assert lc.assign(handling(), CTX, "Olle") == Assigned(handler="Olle", previous="Hanna")
    assert lc.assign(new(), CTX, "Olle") == Assigned(handler="Olle", previous=None)
    assert lc.assign(answered(), CTX, "Olle").handler == "Olle"
    assert step_refused(lambda: lc.assign(closed(), CTX, "Olle"), "assign") == not_allowed(
        "avslutat", "tilldela handläggare", "kräver status registrerat, under handläggning, besvarat"
    )
    assert input_refused(lambda: lc.assign(new(), CTX, ""), "assign") == (
        f"Ärende {REF}, steg 'tilldela handläggare': handläggare saknas"
    )
    assert step_refused(lambda: lc.assign(handling(), CTX, "Hanna"), "assign") == not_allowed(
        "under handläggning", "tilldela handläggare", "Hanna är redan handläggare för ärendet"
    )


# -- inform, postpone, pause, resume, answer, action ----------------------------------------


def test_inform_and_its_refusals() -> None:
    assert lc.inform(new(), CTX, "Vi utreder.") == Informed(text="Vi utreder.")
    assert lc.inform(handling(), CTX, "Vi utreder.") == Informed(text="Vi utreder.")
    assert step_refused(lambda: lc.inform(answered(), CTX, "x"), "inform") == not_allowed(
        "besvarat", "informera", "kräver status registrerat, under handläggning"
    )
    assert step_refused(lambda: lc.inform(new(contact=None), CTX, "x"), "inform") == not_allowed(
        "registrerat", "informera", "ärendet är anonymt; personen kan inte nås"
    )
    assert input_refused(lambda: lc.inform(new(), CTX, ""), "inform") == (
        f"Ärende {REF}, steg 'informera': texten saknas"
    )


def test_postpone_in_time_and_late() -> None:
    later = RESPOND_BY + dt.timedelta(days=14)
    assert lc.postpone(handling(), on(RESPOND_BY), later, "Semester") == Postponed(
        respond_by=later, previous=RESPOND_BY, reason="Semester", in_time=True
    )
    assert lc.postpone(handling(), on(RESPOND_BY + dt.timedelta(days=1)), later, "Semester") == Postponed(
        respond_by=later, previous=RESPOND_BY, reason="Semester", in_time=False
    )
    assert lc.postpone(handling(), CTX, RESPOND_BY + dt.timedelta(days=1), "x").respond_by == dt.date(
        2026, 3, 28
    )


def test_every_refusal_of_postpone() -> None:
    later = RESPOND_BY + dt.timedelta(days=14)
    assert step_refused(lambda: lc.postpone(new(), CTX, later, "x"), "postpone") == not_allowed(
        "registrerat", "ge nytt svarsdatum", "kräver status under handläggning"
    )
    assert step_refused(lambda: lc.postpone(paused(), CTX, later, "x"), "postpone") == not_allowed(
        "under handläggning",
        "ge nytt svarsdatum",
        "ärendet väntar på personen sedan 2026-03-02; återuppta det först (resume)",
    )
    assert input_refused(lambda: lc.postpone(handling(), CTX, later, " "), "postpone") == (
        f"Ärende {REF}, steg 'ge nytt svarsdatum': skälet saknas"
    )
    assert input_refused(lambda: lc.postpone(handling(), CTX, RESPOND_BY, "x"), "postpone") == (
        f"Ärende {REF}, steg 'ge nytt svarsdatum': "
        "nytt svarsdatum 2026-03-27 måste ligga efter det lovade 2026-03-27"
    )
    assert (
        input_refused(lambda: lc.postpone(handling(), CTX, dt.date(2026, 3, 1), "x"), "postpone")
        == f"Ärende {REF}, steg 'ge nytt svarsdatum': "
        "svarsdatum 2026-03-01 ligger före mottagningsdatum 2026-03-02"
    )


def test_pause_up_to_the_promised_day_and_its_refusals() -> None:
    assert lc.pause(handling(), on(RESPOND_BY), " Väntar ") == Paused(reason=" Väntar ")
    assert step_refused(lambda: lc.pause(new(), CTX, "x"), "pause") == not_allowed(
        "registrerat", "pausa", "kräver status under handläggning"
    )
    assert step_refused(lambda: lc.pause(paused(), CTX, "x"), "pause") == not_allowed(
        "under handläggning",
        "pausa",
        "ärendet väntar på personen sedan 2026-03-02; återuppta det först (resume)",
    )
    assert step_refused(lambda: lc.pause(handling(contact=None), CTX, "x"), "pause") == not_allowed(
        "under handläggning", "pausa", "ärendet är anonymt; personen kan inte nås"
    )
    assert step_refused(
        lambda: lc.pause(handling(), on(RESPOND_BY + dt.timedelta(days=1)), "x"), "pause"
    ) == (
        not_allowed(
            "under handläggning",
            "pausa",
            "svarsdatumet 2026-03-27 har redan passerat; meddela ett nytt datum (postpone)",
        )
    )
    assert input_refused(lambda: lc.pause(handling(), CTX, ""), "pause") == (
        f"Ärende {REF}, steg 'pausa': skälet saknas"
    )
    assert input_refused(lambda: lc.pause(handling(), CTX, "a\x00b"), "pause").startswith(
        f"Ärende {REF}, steg 'pausa': skälet "
    )


def test_resume_moves_the_date_by_the_working_days_it_stood_still() -> None:
    # Paused Monday 2 March, resumed Monday 9 March: five working days, past påsk.
    assert lc.resume(paused(), on(dt.date(2026, 3, 9))) == Resumed(
        respond_by=dt.date(2026, 4, 7), previous=RESPOND_BY, paused_days=5
    )
    assert step_refused(lambda: lc.resume(handling(), CTX), "resume") == not_allowed(
        "under handläggning", "återuppta", "ärendet är inte pausat"
    )


def test_answer_and_its_refusals() -> None:
    assert lc.answer(handling(), CTX, "muntligt", "Svar") == Answered(mode=AnswerMode.MUNTLIGT, text="Svar")
    assert step_refused(lambda: lc.answer(new(), CTX, "skriftligt", "x"), "answer") == not_allowed(
        "registrerat", "besvara", "kräver status under handläggning"
    )
    assert step_refused(lambda: lc.answer(paused(), CTX, "skriftligt", "x"), "answer") == not_allowed(
        "under handläggning",
        "besvara",
        "ärendet väntar på personen sedan 2026-03-02; återuppta det först (resume)",
    )
    assert step_refused(lambda: lc.answer(handling(contact=None), CTX, "skriftligt", "x"), "answer") == (
        not_allowed("under handläggning", "besvara", "ärendet är anonymt; inget personligt svar kan ges")
    )
    assert input_refused(lambda: lc.answer(handling(), CTX, "sjunget", "x"), "answer") == (
        f"Ärende {REF}, steg 'besvara': okänt svarssätt 'sjunget' (giltiga: skriftligt, muntligt)"
    )
    assert input_refused(lambda: lc.answer(handling(), CTX, "skriftligt", ""), "answer") == (
        f"Ärende {REF}, steg 'besvara': svaret saknas"
    )


def test_record_action_in_any_state() -> None:
    for case in (new(), handling(), answered(), closed()):
        assert lc.record_action(case, CTX, "Rutinen ändrad") == ActionRecorded(text="Rutinen ändrad")
    assert input_refused(lambda: lc.record_action(closed(), CTX, "\n"), "action") == (
        f"Ärende {REF}, steg 'registrera åtgärd': åtgärden saknas"
    )


# -- guide, message, resolve, close, escalate -------------------------------------------------


def test_guide_to_a_fault_report_and_to_an_appeal() -> None:
    assert lc.guide(new(), CTX, "felanmalan", "Ring 020-123") == Guided("felanmalan", "Ring 020-123")
    data = lc.guide(
        answered(),
        CTX,
        "overklagande",
        "Skriv till nämnden",
        decision="Beslut om hemtjänst",
        appeal_to="Socialnämnden",
        notified=START,
    )
    assert data == Guided(
        "overklagande",
        "Skriv till nämnden",
        decision="Beslut om hemtjänst",
        appeal_to="Socialnämnden",
        appeal_by=dt.date(2026, 3, 23),
    )


def test_every_refusal_of_guide() -> None:
    def appeal(case: Case, **changes: object) -> object:
        args: dict[str, object] = {"decision": "Beslut", "appeal_to": "Nämnden", "notified": START}
        args.update(changes)
        return lc.guide(case, CTX, "overklagande", "Så här", **args)  # type: ignore[arg-type]

    prefix = f"Ärende {REF}, steg 'vägleda': "
    assert input_refused(lambda: lc.guide(new(), CTX, "brevduva", "x"), "guide") == (
        prefix + "okänd väg 'brevduva' (giltiga: overklagande, felanmalan)"
    )
    assert step_refused(lambda: appeal(closed()), "guide") == not_allowed(
        "avslutat", "vägleda", "kräver status registrerat, under handläggning, besvarat"
    )
    assert step_refused(lambda: appeal(new(contact=None)), "guide") == not_allowed(
        "registrerat", "vägleda", "ärendet är anonymt; personen kan inte nås med vägledning"
    )
    assert (
        input_refused(lambda: lc.guide(new(), CTX, "overklagande", ""), "guide")
        == prefix + "vägledningen saknas"
    )
    assert input_refused(lambda: appeal(new(), decision=None), "guide") == (
        prefix + "beslutet som kan överklagas saknas"
    )
    assert input_refused(lambda: appeal(new(), appeal_to=None), "guide") == (
        prefix + "vart överklagandet ska skickas saknas"
    )
    assert input_refused(lambda: appeal(new(), notified=None), "guide") == (
        prefix + "ange dagen då personen fick del av beslutet"
    )
    assert input_refused(lambda: appeal(new(), notified=START + dt.timedelta(days=1)), "guide") == (
        prefix + "personen kan inte ha fått del av beslutet i framtiden (2026-03-03)"
    )


def test_receive_message_in_any_state_with_text_or_attachments() -> None:
    for case in (new(), closed()):
        assert lc.receive_message(case, CTX, "Hej", "eva@example.se", "<m@x>") == MessageReceived(
            text="Hej", sender="eva@example.se", message="<m@x>", attachments=()
        )
    assert lc.receive_message(new(), CTX, " ", None, None, ("intyg.pdf",)).attachments == ("intyg.pdf",)
    assert input_refused(lambda: lc.receive_message(new(), CTX, " \n", None, None), "message") == (
        f"Ärende {REF}, steg 'ta emot meddelande': meddelandet har varken text eller bilagor"
    )
    assert input_refused(lambda: lc.receive_message(new(), CTX, "a\x00b", None, None), "message").startswith(
        f"Ärende {REF}, steg 'ta emot meddelande': texten "
    )


def test_resolve_at_once_and_its_refusals() -> None:
    assert lc.resolve_at_once(new(), CTX, "Hanna", "Bytte glödlampan", None) == ResolvedAtOnce(
        handler="Hanna", text="Bytte glödlampan", satisfied=None
    )
    assert lc.resolve_at_once(new(), CTX, "Hanna", "x").satisfied is True
    assert step_refused(lambda: lc.resolve_at_once(handling(), CTX, "Hanna", "x"), "resolve") == not_allowed(
        "under handläggning", "lösa direkt", "kräver status registrerat"
    )
    escalated = _apply(
        closed(),
        Escalated(level=Level.FORVALTNINGSCHEF, reason="x", handler="Chef", acknowledge_by=RESPOND_BY),
    )
    assert escalated.state is CaseState.REGISTRERAT
    assert step_refused(lambda: lc.resolve_at_once(escalated, CTX, "Hanna", "x"), "resolve") == not_allowed(
        "registrerat", "lösa direkt", "ett ärende som lyfts till en högre nivå kan inte lösas direkt"
    )
    assert step_refused(lambda: lc.resolve_at_once(new(serious=True), CTX, "Hanna", "x"), "resolve") == (
        not_allowed(
            "registrerat",
            "lösa direkt",
            "ett allvarligt klagomål går till närmaste chef och löses inte direkt (R15)",
        )
    )
    prefix = f"Ärende {REF}, steg 'lösa direkt': "
    assert input_refused(lambda: lc.resolve_at_once(new(), CTX, "", "x"), "resolve") == (
        prefix + "vem som löste det saknas"
    )
    assert input_refused(lambda: lc.resolve_at_once(new(), CTX, "Hanna", ""), "resolve") == (
        prefix + "vad som gjordes saknas"
    )


def test_close_and_its_refusals() -> None:
    assert lc.close(answered(), CTX, True) == Closed(satisfied=True)
    assert lc.close(answered(), CTX, False) == Closed(satisfied=False)
    assert lc.close(handling(contact=None), CTX, None) == Closed(satisfied=None)
    assert step_refused(lambda: lc.close(handling(), CTX, True), "close") == not_allowed(
        "under handläggning", "avsluta", "kräver status besvarat"
    )
    assert step_refused(lambda: lc.close(new(contact=None), CTX, None), "close") == not_allowed(
        "registrerat", "avsluta", "kräver status under handläggning"
    )
    assert step_refused(lambda: lc.close(handling(contact=None), CTX, False), "close") == not_allowed(
        "under handläggning", "avsluta", "ett anonymt ärende kan inte ange om personen är nöjd"
    )
    assert step_refused(lambda: lc.close(answered(), CTX, None), "close") == not_allowed(
        "besvarat", "avsluta", "ange om personen är nöjd eller inte"
    )


def test_escalate_to_the_forvaltningschef_then_the_namnd_and_no_further() -> None:
    today = on(dt.date(2026, 4, 1))
    first = lc.escalate(closed(), today, " Inte nöjd ")
    assert first == Escalated(
        level=Level.FORVALTNINGSCHEF,
        reason=" Inte nöjd ",
        handler="Socialchef Eva Nyström",
        acknowledge_by=dt.date(2026, 4, 17),  # ten working days, over påsk
    )
    case = _apply(closed(), first)
    case = _apply(case, lc.acknowledge(case, CTX, "Eva", RESPOND_BY))
    case = _apply(case, lc.answer(case, CTX, "skriftligt", "Svar"))
    case = _apply(case, lc.close(case, CTX, False))
    second = lc.escalate(case, today, "Fortfarande inte nöjd")
    assert (second.level, second.handler) == (Level.NAMND, "Socialnämnden")
    case = _apply(case, second)
    case = _apply(case, lc.acknowledge(case, CTX, "Nämnden", RESPOND_BY))
    case = _apply(case, lc.answer(case, CTX, "skriftligt", "Svar"))
    case = _apply(case, lc.close(case, CTX, False))
    assert step_refused(lambda: lc.escalate(case, today, "x"), "escalate") == not_allowed(
        "avslutat", "lyfta till nästa nivå", "ärendet är redan på högsta nivån (nämnden)"
    )


def test_every_refusal_of_escalate() -> None:
    assert step_refused(lambda: lc.escalate(answered(), CTX, "x"), "escalate") == not_allowed(
        "besvarat", "lyfta till nästa nivå", "kräver status avslutat"
    )
    for satisfied_case in (closed(satisfied=True), _apply(handling(contact=None), Closed(satisfied=None))):
        assert step_refused(lambda c=satisfied_case: lc.escalate(c, CTX, "x"), "escalate") == not_allowed(
            "avslutat", "lyfta till nästa nivå", "bara ett ärende där personen inte är nöjd kan lyftas"
        )
    assert input_refused(lambda: lc.escalate(closed(), CTX, ""), "escalate") == (
        f"Ärende {REF}, steg 'lyfta till nästa nivå': skälet saknas"
    )


# -- praise, kind, register description, secrecy ---------------------------------------------


def test_pass_on_praise_and_its_refusals() -> None:
    praise = new("berom")
    assert lc.pass_on_praise(praise, CTX, [" Lisa ", "", "  ", "Lisa", "Olle"], "Tack!") == PraisePassedOn(
        recipients=("Lisa", "Olle"), text="Tack!"
    )
    assert lc.pass_on_praise(answered("berom"), CTX, ["Lisa"]) == PraisePassedOn(
        recipients=("Lisa",), text=""
    )
    assert step_refused(lambda: lc.pass_on_praise(new(), CTX, ["Lisa"]), "pass-on") == not_allowed(
        "registrerat", "föra beröm vidare", "bara beröm förs vidare till personalen"
    )
    assert step_refused(
        lambda: lc.pass_on_praise(closed(kind="berom"), CTX, ["Lisa"]), "pass-on"
    ) == not_allowed(
        "avslutat", "föra beröm vidare", "kräver status registrerat, under handläggning, besvarat"
    )
    prefix = f"Ärende {REF}, steg 'föra beröm vidare': "
    assert input_refused(lambda: lc.pass_on_praise(praise, CTX, ["", " "]), "pass-on") == (
        prefix + "ange vem berömmet ska föras vidare till"
    )
    assert input_refused(lambda: lc.pass_on_praise(praise, CTX, ["Lisa\nOlle"]), "pass-on").startswith(
        prefix + "mottagaren "
    )
    assert input_refused(lambda: lc.pass_on_praise(praise, CTX, ["Lisa"], "a\x00b"), "pass-on").startswith(
        prefix + "texten "
    )


def test_reclassify_and_its_refusals() -> None:
    assert lc.reclassify(new("forslag"), CTX, "klagomal", "Det är ett klagomål") == Reclassified(
        kind=Kind.KLAGOMAL, reason="Det är ett klagomål"
    )
    assert lc.reclassify(answered("berom"), CTX, Kind.FORSLAG, "x").kind is Kind.FORSLAG
    assert step_refused(lambda: lc.reclassify(new(), CTX, "forslag", "x"), "reclassify") == not_allowed(
        "registrerat", "ändra typ", "ett klagomål kan aldrig omklassificeras; den enskilde avgör (R2)"
    )
    assert step_refused(lambda: lc.reclassify(new("berom"), CTX, "berom", "x"), "reclassify") == not_allowed(
        "registrerat", "ändra typ", "ärendet är redan av typen Beröm"
    )
    assert step_refused(lambda: lc.reclassify(new(), CTX, "klagomal", "x"), "reclassify") == not_allowed(
        "registrerat", "ändra typ", "ärendet är redan av typen Klagomål"
    )
    assert step_refused(lambda: lc.reclassify(closed(kind="berom"), CTX, "forslag", "x"), "reclassify") == (
        not_allowed("avslutat", "ändra typ", "kräver status registrerat, under handläggning, besvarat")
    )
    assert input_refused(lambda: lc.reclassify(new("berom"), CTX, "forslag", ""), "reclassify") == (
        f"Ärende {REF}, steg 'ändra typ': skälet saknas"
    )


def test_describe_and_its_refusals() -> None:
    assert lc.describe(closed(), CTX, "  Klagomål på hemtjänst  ") == Described(
        summary="Klagomål på hemtjänst"
    )
    assert lc.describe(new(), CTX, "x" * lc.SUMMARY_MAX) == Described(summary="x" * 300)
    described = _apply(new(), Described(summary="Klagomål på hemtjänst"))
    prefix = f"Ärende {REF}, steg 'beskriva i diariet': "
    assert step_refused(
        lambda: lc.describe(described, CTX, " Klagomål på hemtjänst"), "describe"
    ) == not_allowed("registrerat", "beskriva i diariet", "ärendet har redan den beskrivningen")
    assert input_refused(lambda: lc.describe(new(), CTX, ""), "describe") == prefix + "beskrivningen saknas"
    too_long = prefix + (
        "beskrivningen ska vara en rad på högst 300 tecken: ett diarieuttryck, inte ärendets text"
    )
    assert input_refused(lambda: lc.describe(new(), CTX, "x" * 301), "describe") == too_long
    assert input_refused(lambda: lc.describe(new(), CTX, "rad ett\nrad två"), "describe") == too_long
    assert input_refused(lambda: lc.describe(new(), CTX, "a\x00b"), "describe").startswith(
        prefix + "beskrivningen "
    )


def test_check_summary_names_what_it_is_given() -> None:
    lc.check_summary("Klagomål", "register")
    # A lone carriage return is a line break too, however the text came in.
    assert input_refused(lambda: lc.check_summary("a\rb", "describe", REF), "describe") == (
        f"Ärende {REF}, steg 'beskriva i diariet': beskrivningen får inte innehålla radbrytningar (tecken 2)"
    )
    assert input_refused(lambda: lc.check_summary("a\nb", "register"), "register", None).startswith(
        "steg 'registrera': beskrivningen ska vara en rad"
    )
    assert input_refused(lambda: lc.check_summary("a\tb\x00", "describe", REF), "describe").startswith(
        f"Ärende {REF}, steg 'beskriva i diariet': beskrivningen "
    )


def test_mark_secret_and_its_refusals() -> None:
    case = handling()  # events 1 and 2
    assert lc.mark_secret(case, CTX, " OSL 26 kap. 1 § ", [2, 1, 2], " Hälsa ") == SecrecyMarked(
        ground="OSL 26 kap. 1 §", parts=(1, 2), reason="Hälsa"
    )
    assert lc.mark_secret(case, CTX, "x" * 200) == SecrecyMarked(ground="x" * 200, parts=(), reason="")
    secret = _apply(case, SecrecyMarked(ground="OSL 26 kap. 1 §", parts=(), reason=""))
    # Marking some steps of a secret case on the same ground is allowed.
    assert lc.mark_secret(secret, CTX, "OSL 26 kap. 1 §", [1]).parts == (1,)
    prefix = f"Ärende {REF}, steg 'sekretessmarkera': "
    assert (
        input_refused(lambda: lc.mark_secret(case, CTX, " "), "secrecy") == prefix + "sekretessgrunden saknas"
    )
    assert input_refused(lambda: lc.mark_secret(case, CTX, "OSL\n26 kap."), "secrecy") == (
        prefix + "sekretessgrunden får inte innehålla radbrytningar (tecken 4)"
    )
    assert input_refused(lambda: lc.mark_secret(case, CTX, "x" * 201), "secrecy") == (
        prefix + "sekretessgrunden är för lång (högst 200 tecken)"
    )
    for seq in (0, 3):
        assert input_refused(lambda s=seq: lc.mark_secret(case, CTX, "OSL", [1, s]), "secrecy") == (
            prefix + f"ärendet har ingen händelse {seq} (händelserna är 1 till 2)"
        )
    assert step_refused(lambda: lc.mark_secret(secret, CTX, "OSL 26 kap. 1 §"), "secrecy") == not_allowed(
        "under handläggning", "sekretessmarkera", "ärendet är redan sekretessmarkerat enligt OSL 26 kap. 1 §"
    )
    assert input_refused(lambda: lc.mark_secret(case, CTX, "OSL", reason="a\x00b"), "secrecy").startswith(
        prefix
    )


def test_lift_secrecy_and_its_refusals() -> None:
    secret = _apply(handling(), SecrecyMarked(ground="OSL 26 kap. 1 §", parts=(), reason=""))
    assert lc.lift_secrecy(secret, CTX, " Prövat ") == SecrecyLifted(reason="Prövat")
    prefix = f"Ärende {REF}, steg 'sekretessmarkera': "
    assert input_refused(lambda: lc.lift_secrecy(secret, CTX, ""), "secrecy") == prefix + "skälet saknas"
    assert step_refused(lambda: lc.lift_secrecy(handling(), CTX, "x"), "secrecy") == not_allowed(
        "under handläggning", "sekretessmarkera", "ärendet är inte sekretessmarkerat"
    )


def test_forward_escalate_and_resume_count_with_the_rules_of_the_cases_forvaltning() -> None:
    # A besked owed after a hop is the new förvaltning's: three working days.
    assert lc.forward(handling(), on(dt.date(2026, 3, 10), LOCAL), "bou-forskola-ekorren").acknowledge_by == (
        dt.date(2026, 3, 13)
    )
    # The förvaltningschef's besked is Socialförvaltningen's five days, over påsk.
    assert lc.escalate(closed(), on(dt.date(2026, 4, 1), LOCAL), "x").acknowledge_by == dt.date(2026, 4, 10)
    # Paused 2 to 9 March stood still four working days, 4 March being closed.
    assert lc.resume(paused(), on(dt.date(2026, 3, 9), LOCAL)) == Resumed(
        respond_by=dt.date(2026, 4, 2), previous=RESPOND_BY, paused_days=4
    )


def test_reclassify_to_an_unknown_kind_names_the_case_and_step() -> None:
    assert input_refused(lambda: lc.reclassify(new("berom"), CTX, "gnall", "x"), "reclassify") == (
        f"Ärende {REF}, steg 'ändra typ': okänd typ 'gnall' (giltiga: klagomal, forslag, berom)"
    )


# -- the projection: what each stored step changes in the case ----------------------------

DAY2, DAY3 = dt.date(2026, 3, 3), dt.date(2026, 3, 4)


def changed(before: Case, data: object, day: dt.date = DAY3) -> dict[str, object]:
    """The fields of the case that *data*, stored on *day*, changes, with their new values."""
    after = _apply(before, data, day)
    return {
        field.name: getattr(after, field.name)
        for field in attrs.fields(Case)
        if getattr(after, field.name) != getattr(before, field.name)
    }


def test_a_registration_is_the_whole_new_case() -> None:
    location = Location(latitude=59.3, longitude=18.0, address="Storgatan 1")
    data = attrs.evolve(
        lc.register(
            CTX, kind="forslag", channel="brev", unit=UNIT, text="Bänkar", contact=EVA, serious=False
        ),
        received=dt.date(2026, 2, 27),
        secrecy="OSL 26 kap. 1 §",
        summary="Förslag om bänkar",
        location=location,
        language="en",
        dimensions=("inflytande",),
        handler="Hanna",
    )
    case = _apply(None, data, DAY2)
    assert attrs.asdict(case, recurse=False) == {
        **{f.name: f.default for f in attrs.fields(Case) if f.default is not attrs.NOTHING},
        "reference": REF,
        "kind": Kind.FORSLAG,
        "channel": "brev",
        "unit": UNIT,
        "department": "soc",
        "text": "Bänkar",
        "received": dt.date(2026, 2, 27),
        "registered": DAY2,
        "acknowledge_by": data.acknowledge_by,
        "updated": DAY2,
        "contact": EVA,
        "dimensions": ("inflytande",),
        "handler": "Hanna",
        "secrecy": "OSL 26 kap. 1 §",
        "summary": "Förslag om bänkar",
        "location": location,
        "language": "en",
        "version": 1,
    }
    assert (case.state, case.level, case.serious) == (CaseState.REGISTRERAT, Level.ENHET, False)
    assert _apply(None, attrs.evolve(data, serious=True)).serious is True


def test_a_history_must_start_with_its_registration() -> None:
    with pytest.raises(
        ValueError, match=r"^2026-00001: the history must start with 'registered', not 'described'$"
    ):
        _apply(None, Described(summary="x"))
    with pytest.raises(ValueError, match=r"^an empty history describes no case$"):
        lc.replay([])


def test_what_each_step_changes_in_the_case() -> None:
    registered = new(serious=True)
    stamp = {"version": 2, "updated": DAY3}
    forwarded = Forwarded(
        from_unit=UNIT, to_unit=OTHER, department="soc", acknowledge_by=dt.date(2026, 3, 20), handler="Chef"
    )
    assert changed(registered, forwarded) == {
        **stamp,
        "unit": OTHER,
        "handler": "Chef",
        "acknowledge_by": dt.date(2026, 3, 20),
        "forwards": 1,
    }
    acknowledged = Acknowledged(handler="Hanna", respond_by=RESPOND_BY)
    assert changed(registered, acknowledged) == {
        **stamp,
        "handler": "Hanna",
        "respond_by": RESPOND_BY,
        "acknowledged": DAY3,
        "state": CaseState.HANDLAGGNING,
    }
    case = handling()
    stamp = {"version": 3, "updated": DAY3}
    # Forwarded after the besked: back to registrerat, owing a new one, and
    # a secrecy the hop brings is kept (never one the case already has lost).
    hop = attrs.evolve(
        forwarded, handler=None, department="bou", to_unit="bou-forskola-ekorren", secrecy="OSL"
    )
    assert changed(case, hop) == {
        **stamp,
        "unit": "bou-forskola-ekorren",
        "department": "bou",
        "handler": None,
        "acknowledge_by": dt.date(2026, 3, 20),
        "state": CaseState.REGISTRERAT,
        "respond_by": None,
        "acknowledged": None,
        "forwards": 1,
        "secrecy": "OSL",
    }
    secret = _apply(case, SecrecyMarked(ground="OSL 26 kap. 1 §", parts=(), reason=""))
    assert _apply(secret, hop).secrecy == "OSL 26 kap. 1 §"
    assert _apply(_apply(case, forwarded), forwarded).forwards == 2
    assert changed(case, Assigned(handler="Olle", previous="Hanna")) == {**stamp, "handler": "Olle"}
    assert changed(case, Informed(text="x")) == stamp
    later = dt.date(2026, 4, 10)
    assert changed(case, Postponed(respond_by=later, previous=RESPOND_BY, reason="x", in_time=True)) == {
        **stamp,
        "respond_by": later,
        "postponements": 1,
    }
    assert changed(case, Postponed(respond_by=later, previous=RESPOND_BY, reason="x", in_time=False)) == {
        **stamp,
        "respond_by": later,
        "postponements": 1,
        "late_postponements": 1,
    }
    twice = _apply(
        _apply(case, Postponed(later, RESPOND_BY, "x", False)), Postponed(later, RESPOND_BY, "x", False)
    )
    assert (twice.postponements, twice.late_postponements) == (2, 2)
    assert changed(case, Paused(reason="x")) == {**stamp, "paused_since": DAY3}
    assert changed(paused(), Resumed(respond_by=later, previous=RESPOND_BY, paused_days=2)) == {
        "version": 4,
        "updated": DAY3,
        "respond_by": later,
        "paused_since": None,
    }
    assert changed(case, Answered(mode=AnswerMode.MUNTLIGT, text="x")) == {
        **stamp,
        "answered": DAY3,
        "answer_mode": AnswerMode.MUNTLIGT,
        "state": CaseState.BESVARAT,
    }
    assert changed(case, ActionRecorded(text="x")) == {**stamp, "actions": 1}
    assert _apply(_apply(case, ActionRecorded(text="x")), ActionRecorded(text="y")).actions == 2
    for kind in (Guided("felanmalan", "x"), MessageReceived(text="x", sender=None, message=None)):
        assert changed(case, kind) == stamp
    assert changed(case, NoteAdded(text="x")) == stamp
    assert changed(
        case, AttachmentAdded(filename="a.pdf", media_type="application/pdf", size=1, message="m")
    ) == (stamp)
    assert changed(case, Published()) == stamp
    assert changed(case, PublicationWithdrawn(reason="x")) == stamp
    assert changed(case, Described(summary="Om hemtjänst")) == {**stamp, "summary": "Om hemtjänst"}
    place = Location(address="Storgatan 1")
    assert changed(case, Located(location=place)) == {**stamp, "location": place}


def test_closing_escalating_and_resolving_at_once() -> None:
    case = answered()
    stamp = {"version": 4, "updated": DAY3}
    assert changed(case, Closed(satisfied=False)) == {
        **stamp,
        "closed": DAY3,
        "satisfied": False,
        "state": CaseState.AVSLUTAT,
    }
    case = closed()
    stamp = {"version": 5, "updated": DAY3}
    escalated = Escalated(
        level=Level.FORVALTNINGSCHEF, reason="x", handler="Chefen", acknowledge_by=RESPOND_BY
    )
    assert changed(case, escalated) == {
        **stamp,
        "level": Level.FORVALTNINGSCHEF,
        "handler": "Chefen",
        "acknowledge_by": RESPOND_BY,
        "state": CaseState.REGISTRERAT,
        "respond_by": None,
        "acknowledged": None,
        "answered": None,
        "answer_mode": None,
        "closed": None,
        "satisfied": None,
    }
    assert changed(new(), ResolvedAtOnce(handler="Hanna", text="x", satisfied=None)) == {
        "version": 2,
        "updated": DAY3,
        "state": CaseState.AVSLUTAT,
        "handler": "Hanna",
        "acknowledged": DAY3,
        "answered": DAY3,
        "answer_mode": AnswerMode.MUNTLIGT,
        "closed": DAY3,
        "resolved_at_once": True,
    }
    assert _apply(new(), ResolvedAtOnce(handler="Hanna", text="x", satisfied=True)).satisfied is True


def test_praise_kind_contact_secrecy_and_flags_in_the_case() -> None:
    case = new("berom")
    stamp = {"version": 2, "updated": DAY3}
    assert changed(case, PraisePassedOn(recipients=("Lisa",))) == {**stamp, "praise_passed_on": True}
    assert changed(case, Reclassified(kind=Kind.FORSLAG, reason="x")) == {**stamp, "kind": Kind.FORSLAG}
    moved = Contact(name="Eva", address="Nya gatan 2")
    assert changed(case, ContactCorrected(previous=EVA, contact=moved)) == {**stamp, "contact": moved}
    assert changed(case, ContactCorrected(previous=EVA, contact=moved, language="en")) == {
        **stamp,
        "contact": moved,
        "language": "en",
    }
    ground = "OSL 26 kap. 1 §"
    assert changed(case, SecrecyMarked(ground=ground, parts=(), reason="")) == {**stamp, "secrecy": ground}
    assert changed(case, SecrecyMarked(ground=ground, parts=(1,), reason="")) == stamp  # some steps only
    secret = _apply(case, SecrecyMarked(ground=ground, parts=(), reason=""), DAY2)
    assert changed(secret, SecrecyMarked(ground="OSL 21 kap. 1 §", parts=(1,), reason="")) == {
        "version": 3,
        "updated": DAY3,
    }
    assert changed(secret, SecrecyLifted(reason="x")) == {"version": 3, "updated": DAY3, "secrecy": None}
    flag = ThreatFlagged(kind="hotfullt", about="kontakt", reason="x")
    assert changed(case, flag) == {**stamp, "threat_flags": ("hotfullt:kontakt",)}
    assert changed(case, attrs.evolve(flag, handler="Chefen")) == {
        **stamp,
        "threat_flags": ("hotfullt:kontakt",),
        "handler": "Chefen",
    }
    flagged = _apply(_apply(case, flag), attrs.evolve(flag, kind="krankande", about="arende"))
    assert flagged.threat_flags == ("hotfullt:kontakt", "krankande:arende")  # sorted, each once
    assert _apply(flagged, flag).threat_flags == flagged.threat_flags
    lifted = _apply(flagged, ThreatFlagLifted(kind="hotfullt", about="kontakt", reason="x"))
    assert lifted.threat_flags == ("krankande:arende",)
    assert lifted.handler == flagged.handler


def test_replay_gives_the_case_stepwise_evolve_gives() -> None:
    events = []
    case = None
    for seq, data in enumerate(
        (
            lc.register(CTX, kind="klagomal", channel="telefon", unit=UNIT, text="x", contact=EVA),
            Acknowledged(handler="Hanna", respond_by=RESPOND_BY),
            Answered(mode=AnswerMode.SKRIFTLIGT, text="Svar"),
        ),
        start=1,
    ):
        event = Event(
            reference=REF,
            seq=seq,
            day=START,
            recorded_at=dt.datetime.combine(START, dt.time(12), tzinfo=dt.UTC),
            data=data,
        )
        events.append(event)
        case = lc.evolve(case, event)
    assert lc.replay(events) == case
    assert lc.replay(iter(events)) == case


def test_the_notice_each_step_owes_the_person() -> None:
    def event(data: object) -> Event:
        return Event(
            reference=REF,
            seq=9,
            day=START,
            recorded_at=dt.datetime.combine(START, dt.time(12), tzinfo=dt.UTC),
            data=data,  # type: ignore[arg-type]
        )

    owed = {
        Acknowledged(handler="Hanna", respond_by=RESPOND_BY): "besked",
        Informed(text="x"): "information",
        Postponed(respond_by=RESPOND_BY, previous=START, reason="x", in_time=True): "forsening",
        Paused(reason="x"): "komplettering",
        Resumed(respond_by=RESPOND_BY, previous=START, paused_days=1): "aterupptaget",
        Answered(mode=AnswerMode.SKRIFTLIGT, text="x"): "svar",
        Answered(mode=AnswerMode.MUNTLIGT, text="x"): None,  # given in person already
        Guided("felanmalan", "x"): "vagledning",
        Closed(satisfied=True): None,
        ActionRecorded(text="x"): None,
    }
    case = handling()
    assert {data: lc.citizen_notice(case, event(data)) for data in owed} == owed
    anonymous = handling(contact=None)
    assert {lc.citizen_notice(anonymous, event(data)) for data in owed} == {None}


def test_check_intake_without_seriousness_is_not_serious_and_a_bad_contact_names_the_step() -> None:
    intake = lc.check_intake(CTX, kind="forslag", channel="telefon", unit=UNIT, text="Bänkar")
    assert (intake.kind, intake.serious, intake.contact, intake.received) == (
        Kind.FORSLAG,
        False,
        None,
        START,
    )
    bad = Contact(name="Eva", email="inte en adress")
    assert (
        input_refused(
            lambda: lc.check_intake(CTX, kind="forslag", channel="telefon", unit=UNIT, text="x", contact=bad),
            "register",
            None,
        )
        == "steg 'registrera': e-postadressen 'inte en adress' kan inte användas: den innehåller blanksteg"
    )


def test_registered_counts_the_besked_by_the_channel_and_forvaltning_and_keeps_what_plugins_decided() -> None:
    ctx = on(dt.date(2026, 3, 9), LOCAL)
    card = lc.check_intake(
        ctx, kind="klagomal", channel="svarskort", unit=LIBRARY, text="x", received=START, contact=EVA
    )
    data = lc.registered(
        ctx,
        card,
        Route(LIBRARY, "Bibliotekschef"),
        serious=True,
        secrecy="OSL 26 kap. 1 §",
        notes=("a", "b", "a"),
    )
    # A reply card counts from registration (Monday 9 March) in Kultur och fritid.
    assert (data.acknowledge_by, data.department, data.handler) == (
        dt.date(2026, 3, 23),
        "kof",
        "Bibliotekschef",
    )
    assert (data.serious, data.secrecy, data.notes) == (True, "OSL 26 kap. 1 §", ("a", "b"))
    letter = attrs.evolve(card, channel="brev")
    assert lc.registered(ctx, letter, Route(LIBRARY, None), serious=False).acknowledge_by == dt.date(
        2026, 3, 16
    )
    # Elsewhere every channel counts from receipt.
    water = attrs.evolve(card, unit="sbf-va")
    assert lc.registered(ctx, water, Route("sbf-va", None), serious=False).acknowledge_by == dt.date(
        2026, 3, 16
    )


def test_a_besked_counts_with_its_forvaltnings_response_time_and_calendar() -> None:
    case = new(unit=LIBRARY)
    assert lc.acknowledge(case, LOCAL, "Hanna").respond_by == dt.date(2026, 3, 9)  # five weekdays
    with pytest.raises(CalendarError) as info:
        lc.acknowledge(case, LOCAL, "Hanna", dt.date(2028, 1, 10))
    assert str(info.value) == (
        "datumet 2028-01-10 ligger utanför kalendern 'kort', Vardagar 2026–2027, "
        "som gäller från 2026-01-01 till och med 2027-12-31"
    )


def test_a_payload_the_projection_does_not_know_is_a_type_error() -> None:
    class Unknown:
        TYPE = "unknown"

    with pytest.raises(TypeError, match=r"^unknown event payload Unknown$"):
        _apply(new(), Unknown())


def test_what_plugins_add_at_registration_is_checked_as_part_of_the_registration() -> None:
    # A secrecy ground and notes come from plugins, not from the person: the
    # registration's closing check is the only one they pass.
    intake = lc.check_intake(CTX, kind="klagomal", channel="telefon", unit=UNIT, text="x", contact=EVA)
    route = Route(UNIT, None)
    assert input_refused(
        lambda: lc.registered(CTX, intake, route, serious=False, notes=("bra\x00",)), "register", None
    ).startswith("steg 'registrera': noteringen ")
    assert (
        input_refused(
            lambda: lc.registered(CTX, intake, route, serious=False, secrecy="OSL\n26 kap."), "register", None
        )
        == "steg 'registrera': sekretessgrunden får inte innehålla radbrytningar (tecken 4)"
    )


def test_every_text_a_step_carries_is_named_in_swedish_when_refused() -> None:
    # Read from the payload classes, so that a field added later is named too.
    unnamed = []
    for cls in TEXT_FIELDS:
        single, several = step_texts._one_line_fields(cls)
        for name in (*TEXT_FIELDS[cls], *single, *several):
            swedish = step_texts._FIELD_NAMES.get(name)
            if swedish is None or swedish == name:
                unnamed.append(f"{cls.__name__}.{name}")
    assert unnamed == []

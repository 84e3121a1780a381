"""One test (or a few) per requirement the core encodes, named by its id.

The requirement texts are in ``docs/requirements.md``; the organisation is the
example kommun shipped with klagomal.
"""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import START, UNIT, register_case
from klagomal import (
    AnswerMode,
    CaseState,
    InvalidInputError,
    InvalidStepError,
    Kind,
    Klagomal,
    Level,
)
from klagomal.core.events import PraisePassedOn
from klagomal.core.organisation import default_organisation

RESPOND_BY = dt.date(2026, 3, 27)
ORG = default_organisation()


def _answered(k: Klagomal, **register_args: object) -> str:
    case = register_case(k, **register_args)
    k.acknowledge(case.reference, "Hanna", RESPOND_BY)
    k.answer(case.reference, "skriftligt", "Svar")
    return case.reference


def _closed_unsatisfied(k: Klagomal, **register_args: object) -> str:
    reference = _answered(k, **register_args)
    k.close(reference, False)
    return reference


# -- R1 ----------------------------------------------------------------------


def test_r1_three_kinds_in_the_same_system(k: Klagomal) -> None:
    # R1: klagomål, förslag and beröm are registered in the same database.
    assert {kind.value for kind in Kind} == {"klagomal", "forslag", "berom"}
    assert [kd.label for kd in Kind] == ["Klagomål", "Förslag", "Beröm"]
    refs = [register_case(k, kind=kind).reference for kind in ("klagomal", "forslag", "berom")]
    assert [k.get(r).kind for r in refs] == [Kind.KLAGOMAL, Kind.FORSLAG, Kind.BEROM]
    assert [c.reference for c in k.cases()] == refs


# -- R2 ----------------------------------------------------------------------


@pytest.mark.parametrize("target", ["forslag", "berom"])
def test_r2_complaint_never_reclassified(k: Klagomal, target: str) -> None:
    # R2: the individual decides what is a complaint; in no state can staff
    # turn it into something else.
    reference = register_case(k).reference
    steps = [
        lambda: None,
        lambda: k.acknowledge(reference, "Hanna", RESPOND_BY),
        lambda: k.answer(reference, "skriftligt", "Svar"),
        lambda: k.close(reference, False),
        lambda: k.escalate(reference, "Inte nöjd"),
    ]
    for step in steps:
        step()
        before = k.get(reference)
        with pytest.raises(InvalidStepError) as info:
            k.reclassify(reference, target, "Inget klagomål egentligen")
        assert info.value.step == "reclassify"
        assert k.get(reference) == before
        assert k.get(reference).kind is Kind.KLAGOMAL


def test_r2_suggestion_may_become_complaint(k: Klagomal) -> None:
    # R2: förslag → klagomål is allowed (the person meant a complaint) ...
    reference = register_case(k, kind="forslag").reference
    case = k.reclassify(reference, "klagomal", "Personen menar ett klagomål")
    assert case.kind is Kind.KLAGOMAL
    assert k.history(reference)[-1].type == "reclassified"
    # ... and then it is a complaint for good.
    with pytest.raises(InvalidStepError):
        k.reclassify(reference, "forslag", "Tillbaka")


# -- R4 ----------------------------------------------------------------------

BUILTIN_CHANNELS = ["telefon", "brev", "epost", "besok", "svarskort", "webbformular", "telefonsvarare"]


def test_r4_builtin_channels(k: Klagomal) -> None:
    # R4: telephone, letter, e-mail, visit, reply card, web form, answering machine.
    assert set(BUILTIN_CHANNELS) <= set(k.channels)
    assert all(k.channels[c].label for c in BUILTIN_CHANNELS)


@pytest.mark.parametrize("channel", BUILTIN_CHANNELS)
def test_r4_channel_is_recorded(k: Klagomal, channel: str) -> None:
    # R4: the channel is recorded on the case and in its registration event.
    case = register_case(k, channel=channel)
    assert case.channel == channel
    assert k.get(case.reference).channel == channel
    assert k.history(case.reference)[0].data.channel == channel  # type: ignore[union-attr]


def test_r4_unknown_channel_refused(k: Klagomal) -> None:
    with pytest.raises(InvalidInputError, match="okänd kanal 'fax'"):
        register_case(k, channel="fax")
    assert k.cases() == []


# -- R5 ----------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["svarskort", "telefon", "brev"])
def test_r5_anonymous_allowed(k: Klagomal, channel: str) -> None:
    # R5: anonymous feedback by reply card, telephone and letter.
    case = register_case(k, channel=channel, contact=None)
    assert case.anonymous
    assert k.get(case.reference).anonymous
    assert k.get(case.reference).contact is None


def test_r5_anonymous_refused_on_web_form(k: Klagomal) -> None:
    # R5: the routine does not accept anonymous feedback through the web form.
    assert k.channels["webbformular"].allows_anonymous is False
    with pytest.raises(InvalidInputError) as info:
        register_case(k, channel="webbformular", contact=None)
    assert info.value.step == "register"
    assert "webbformular" in str(info.value)
    assert k.cases() == []
    # With a contact the web form is fine.
    assert not register_case(k, channel="webbformular").anonymous


def test_r5_anonymous_case_never_gets_a_notice(k: Klagomal, clock) -> None:
    # R5: no personal reply can be given, so no notice is ever created.
    ref = register_case(k, channel="svarskort", contact=None, dimensions=["bemotande"]).reference
    k.forward(ref, "soc-aldre-solgarden")
    k.acknowledge(ref, "Hanna", RESPOND_BY)
    with pytest.raises(InvalidStepError):
        k.inform(ref, "Vi utreder")
    clock.set(RESPOND_BY + dt.timedelta(days=1))
    k.postpone(ref, RESPOND_BY + dt.timedelta(days=10), "Försenat")
    k.record_action(ref, "Ny rutin")
    with pytest.raises(InvalidStepError):
        k.answer(ref, "skriftligt", "Svar")
    with pytest.raises(InvalidStepError):
        k.answer(ref, "muntligt", "Svar")
    case = k.close(ref, None)
    assert case.state is CaseState.AVSLUTAT
    assert case.satisfied is None
    assert k.notices(ref) == []
    # The anonymous case counts like any other (R5: "in all statistics").
    assert [c.reference for c in k.cases(state="avslutat")] == [ref]


def test_r5_non_anonymous_case_gets_notices(k: Klagomal) -> None:
    ref = _answered(k)
    kinds = [kind for _seq, kind in k.notices(ref)]
    assert kinds == ["besked", "svar"]
    assert k.notices(ref) == [(2, "besked"), (3, "svar")]


# -- R6 ----------------------------------------------------------------------


def test_r6_four_builtin_dimensions_with_swedish_labels(k: Klagomal) -> None:
    labels = {d.id: d.label for d in k.dimensions.values()}
    assert labels == {
        "tillganglighet": "Tillgång och tillgänglighet",
        "kompetens": "Kompetens",
        "bemotande": "Bemötande och personkontakt",
        "inflytande": "Inflytande",
    }
    assert all(d.department is None for d in k.dimensions.values())  # municipality-wide


def test_r6_several_dimensions_per_case(k: Klagomal) -> None:
    case = register_case(k, dimensions=["bemotande", "kompetens", "bemotande", "inflytande"])
    # Kept in the order given, each once.
    assert case.dimensions == ("bemotande", "kompetens", "inflytande")
    assert k.get(case.reference).dimensions == ("bemotande", "kompetens", "inflytande")


def test_r6_unknown_dimension_refused(k: Klagomal) -> None:
    with pytest.raises(InvalidInputError, match="okänd kvalitetsdimension 'trygghet'"):
        register_case(k, dimensions=["bemotande", "trygghet"])
    assert k.cases() == []


# -- R7 ----------------------------------------------------------------------


def test_r7_acknowledge_by_ten_working_days(k: Klagomal) -> None:
    # Monday 2 March 2026 + 10 working days = Monday 16 March.
    assert register_case(k).acknowledge_by == dt.date(2026, 3, 16)


def test_r7_acknowledge_by_over_christmas_from_received_date(k: Klagomal, clock) -> None:
    # R7: counted from the day it was received, strictly after it; julafton,
    # juldagen, annandag jul, nyårsafton, nyårsdagen and trettondagen are not
    # working days.
    clock.set(dt.date(2027, 1, 4))
    case = register_case(k, received=dt.date(2026, 12, 18))
    assert case.received == dt.date(2026, 12, 18)
    assert case.registered == dt.date(2027, 1, 4)
    assert case.acknowledge_by == dt.date(2027, 1, 8)
    assert case.reference.startswith("2027-")  # numbered in the year it is registered


def test_r7_acknowledge_by_across_easter(k: Klagomal, clock) -> None:
    # Easter 2026: långfredag 3 April and annandag påsk 6 April are holidays.
    clock.set(dt.date(2026, 4, 1))
    assert register_case(k).acknowledge_by == dt.date(2026, 4, 17)


def test_r7_besked_is_a_notice(k: Klagomal) -> None:
    ref = register_case(k).reference
    case = k.acknowledge(ref, "Handläggare Hanna", RESPOND_BY)
    assert (case.handler, case.respond_by) == ("Handläggare Hanna", RESPOND_BY)
    assert k.notices(ref) == [(2, "besked")]


# -- R11 ---------------------------------------------------------------------


def test_r11_postpone_in_time_and_late(k: Klagomal, clock) -> None:
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna", RESPOND_BY)
    # On the promised day itself the person is still told in time.
    clock.set(RESPOND_BY)
    case = k.postpone(ref, dt.date(2026, 4, 10), "Utredningen tar tid")
    assert (case.postponements, case.late_postponements) == (1, 0)
    assert k.history(ref)[-1].data.in_time is True  # type: ignore[union-attr]
    # After the promised date has passed it counts as late.
    clock.set(dt.date(2026, 4, 11))
    case = k.postpone(ref, dt.date(2026, 4, 24), "Sjukdom")
    assert (case.postponements, case.late_postponements) == (2, 1)
    assert case.respond_by == dt.date(2026, 4, 24)
    assert k.history(ref)[-1].data.in_time is False  # type: ignore[union-attr]
    assert [kind for _s, kind in k.notices(ref)] == ["besked", "forsening", "forsening"]


# -- R12 ---------------------------------------------------------------------


def test_r12_forwarding_counts_hops(k: Klagomal) -> None:
    ref = register_case(k, unit="klf-kontaktcenter").reference
    for n, unit in enumerate(["soc", "soc-aldre", UNIT], 1):
        case = k.forward(ref, unit)
        assert case.forwards == n
        assert case.unit == unit
    assert [e.data.to_unit for e in k.history(ref)[1:]] == ["soc", "soc-aldre", UNIT]  # type: ignore[union-attr]
    assert [e.data.from_unit for e in k.history(ref)[1:]] == ["klf-kontaktcenter", "soc", "soc-aldre"]  # type: ignore[union-attr]
    assert k.get(ref).forwards == 3


def test_r12_forwarding_to_same_unit_refused(k: Klagomal) -> None:
    ref = register_case(k).reference
    before = k.get(ref)
    with pytest.raises(InvalidStepError) as info:
        k.forward(ref, UNIT)
    assert info.value.step == "forward"
    assert k.get(ref) == before
    assert k.get(ref).forwards == 0


# -- R13 ---------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "notices"), [("skriftligt", ["besked", "svar"]), ("muntligt", ["besked"])])
def test_r13_answer_mode_recorded(k: Klagomal, mode: str, notices: list[str]) -> None:
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna", RESPOND_BY)
    case = k.answer(ref, mode, "Vi ber om ursäkt")
    assert case.answer_mode is AnswerMode(mode)
    assert k.get(ref).answer_mode is AnswerMode(mode)
    # An oral answer was given in person, so no written notice is owed.
    assert [kind for _s, kind in k.notices(ref)] == notices


# -- R15 ---------------------------------------------------------------------


def test_r15_serious_complaint_goes_to_nearest_manager(k: Klagomal) -> None:
    case = register_case(k, serious=True)
    assert case.serious
    assert case.handler == ORG.unit(UNIT).manager == "Enhetschef Lena Holm"
    # Also after forwarding: the new unit's manager.
    case = k.forward(case.reference, "sbf-gatapark-park")
    assert case.handler == "Enhetschef Amanda Ljung"
    case = k.forward(case.reference, "kof")
    assert case.handler == ORG.unit("kof").manager


def test_r15_not_serious_gets_no_automatic_handler(k: Klagomal) -> None:
    case = register_case(k)
    assert case.handler is None
    assert k.forward(case.reference, "sbf-gatapark-park").handler is None


@pytest.mark.parametrize("kind", ["forslag", "berom"])
def test_r15_only_complaints_can_be_serious(k: Klagomal, kind: str) -> None:
    with pytest.raises(InvalidInputError, match="allvarliga"):
        register_case(k, kind=kind, serious=True)
    assert k.cases() == []


# -- R16 ---------------------------------------------------------------------


def test_r16_actions_counted(k: Klagomal) -> None:
    ref = register_case(k, dimensions=["kompetens"]).reference
    k.record_action(ref, "Utbildning av personalen")
    k.acknowledge(ref, "Hanna", RESPOND_BY)
    k.record_action(ref, "Nytt schema")
    k.answer(ref, "skriftligt", "Svar")
    k.close(ref, True)
    case = k.record_action(ref, "Uppföljning efter avslut")
    assert case.actions == 3
    texts = [e.data.text for e in k.history(ref) if e.type == "action_recorded"]  # type: ignore[union-attr]
    assert texts == ["Utbildning av personalen", "Nytt schema", "Uppföljning efter avslut"]
    with pytest.raises(InvalidInputError):
        k.record_action(ref, " ")
    assert k.get(ref).actions == 3


# -- R19–R21 -----------------------------------------------------------------


def test_r19_escalation_only_after_closed_unsatisfied(k: Klagomal) -> None:
    ref = register_case(k).reference
    with pytest.raises(InvalidStepError):
        k.escalate(ref, "Inte nöjd")  # registrerat
    k.acknowledge(ref, "Hanna", RESPOND_BY)
    with pytest.raises(InvalidStepError):
        k.escalate(ref, "Inte nöjd")  # handlaggning
    k.answer(ref, "skriftligt", "Svar")
    with pytest.raises(InvalidStepError):
        k.escalate(ref, "Inte nöjd")  # besvarat
    k.close(ref, True)
    with pytest.raises(InvalidStepError):
        k.escalate(ref, "Ändå inte nöjd")  # satisfied
    assert k.get(ref).level is Level.ENHET


def test_r19_anonymous_case_cannot_be_escalated(k: Klagomal) -> None:
    ref = register_case(k, contact=None).reference
    k.acknowledge(ref, "Hanna", RESPOND_BY)
    k.close(ref, None)
    with pytest.raises(InvalidStepError):
        k.escalate(ref, "Inte nöjd")


def test_r20_r21_escalation_ladder(k: Klagomal, clock) -> None:
    ref = _closed_unsatisfied(k)
    soc = ORG.departments["soc"]

    clock.set(dt.date(2026, 4, 1))
    case = k.escalate(ref, "Inte nöjd med enhetens svar")
    # R20: level 2 is the förvaltningschef.
    assert (case.level, case.handler, case.state) == (Level.FORVALTNINGSCHEF, soc.head, CaseState.REGISTRERAT)
    assert case.handler == "Socialchef Eva Nyström"
    # A new besked is owed, ten working days from the escalation day (Easter
    # holidays 3 and 6 April in between).
    assert case.acknowledge_by == dt.date(2026, 4, 17)

    k.acknowledge(ref, soc.head, dt.date(2026, 4, 30))
    k.answer(ref, "skriftligt", "Förvaltningschefens svar")
    k.close(ref, False)
    clock.set(dt.date(2026, 5, 4))
    case = k.escalate(ref, "Fortfarande inte nöjd")
    # R21: level 3 is the nämnd.
    assert (case.level, case.handler) == (Level.NAMND, soc.board)
    assert case.handler == "Socialnämnden"
    # Kristi himmelsfärd, Thursday 14 May 2026, is a holiday.
    assert case.acknowledge_by == dt.date(2026, 5, 19)

    k.acknowledge(ref, soc.board, dt.date(2026, 6, 1))
    k.answer(ref, "skriftligt", "Nämndens svar")
    k.close(ref, False)
    before = k.get(ref)
    # There is no level 4.
    with pytest.raises(InvalidStepError) as info:
        k.escalate(ref, "Vill gå vidare")
    assert info.value.step == "escalate"
    assert k.get(ref) == before
    assert before.level is Level.NAMND


def test_r20_escalation_uses_department_after_forwarding(k: Klagomal) -> None:
    ref = register_case(k).reference
    k.forward(ref, "sbf-gatapark-park")
    k.acknowledge(ref, "Amanda", RESPOND_BY)
    k.answer(ref, "skriftligt", "Svar")
    k.close(ref, False)
    case = k.escalate(ref, "Inte nöjd")
    assert case.handler == ORG.departments["sbf"].head


# -- R22 ---------------------------------------------------------------------


def test_r22_praise_passed_on(k: Klagomal) -> None:
    ref = register_case(k, kind="berom", text="Tack till Lisa och Omar!").reference
    case = k.pass_on_praise(ref, ["Lisa", " Omar ", "Lisa", ""], "Från en nöjd brukare")
    assert case.praise_passed_on
    assert k.history(ref)[-1].data == PraisePassedOn(recipients=("Lisa", "Omar"), text="Från en nöjd brukare")
    with pytest.raises(InvalidInputError):
        k.pass_on_praise(ref, [" ", ""])


@pytest.mark.parametrize("kind", ["klagomal", "forslag"])
def test_r22_only_praise_is_passed_on(k: Klagomal, kind: str) -> None:
    ref = register_case(k, kind=kind).reference
    with pytest.raises(InvalidStepError) as info:
        k.pass_on_praise(ref, ["Lisa"])
    assert info.value.step == "pass-on"
    assert not k.get(ref).praise_passed_on
    assert len(k.history(ref)) == 1


def test_r22_suggestion_answered_too(k: Klagomal) -> None:
    ref = _answered(k, kind="forslag")
    assert k.get(ref).state is CaseState.BESVARAT
    assert [kind for _s, kind in k.notices(ref)] == ["besked", "svar"]


def test_start_is_a_working_monday() -> None:
    # The fixtures' start date matters to the deadline assertions above.
    assert START.weekday() == 0


def test_r10_working_days_between_is_the_inverse_of_adding_them() -> None:
    # R10: keeping the promised time needs "how many working days are left" to agree with the deadline.
    from klagomal.deadlines import policies as deadlines

    start = dt.date(2026, 12, 18)
    for n in (0, 1, 5, 10, 25):
        assert deadlines.working_days_between(start, deadlines.add_working_days(start, n)) == n
    assert (
        deadlines.working_days_between(dt.date(2026, 12, 23), dt.date(2026, 12, 27)) == 0
    )  # julafton–söndag
    assert deadlines.working_days_between(start, start - dt.timedelta(days=3)) == 0

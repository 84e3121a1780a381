"""The key messages of a report's first page (klagomal.reports.messages):
each rule of docs/reports.md, and that a message never tells a count the
report does not show."""

from __future__ import annotations

import re

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klagomal.reports.messages import (
    CHANGE_SAME,
    TIMELY_MOSTLY,
    TIMELY_NEARLY_ALWAYS,
    Figures,
    Problem,
    key_messages,
)

PERIOD = "halvår 1 2026 (januari–juni)"

FULL = Figures(
    period=PERIOD,
    total=296,
    kinds=(("klagomål", 186), ("förslag", 54), ("beröm", 56)),
    last_year=250,
    problems=(
        Problem("Kompetens", 64, "Socialförvaltningen"),
        Problem("Inflytande", 61, None),
        Problem("Bemötande och personkontakt", 53, "Socialförvaltningen"),
    ),
    ack=(188, 200),
    answer=(180, 200),
    actions=134,
    satisfied=223,
    not_satisfied=37,
    raised=23,
)


def test_the_messages_of_a_full_report() -> None:
    assert key_messages(FULL) == (
        "296 synpunkter kom in under halvår 1 2026 (januari–juni): 186 klagomål, 54 förslag och 56 beröm.",
        "Det är 18 % fler än samma period i fjol (250).",
        "Flest klagomål gällde kompetens (64 klagomål, varav flest inom Socialförvaltningen) "
        "och inflytande (61 klagomål).",
        "Löftet om när den som hörde av sig får besked och svar hölls oftast: "
        "94 % fick besked inom tidsfristen och 90 % fick svar senast det datum som utlovats.",
        "134 åtgärder registrerades för periodens synpunkter.",
        "Av 260 avslutade ärenden var den som hörde av sig nöjd i 223 (86 %). "
        "23 ärenden lyftes till förvaltningschefen.",
    )


def test_no_cases_is_one_message() -> None:
    assert key_messages(attrs.evolve(FULL, total=0)) == ("Inga synpunkter kom in under perioden.",)


def test_one_case_is_singular_and_kinds_without_cases_are_left_out() -> None:
    figures = attrs.evolve(FULL, total=1, kinds=(("klagomål", 0), ("förslag", 1), ("beröm", 0)))
    assert key_messages(figures)[0] == "1 synpunkt kom in under halvår 1 2026 (januari–juni): 1 förslag."


@pytest.mark.parametrize(
    ("now", "then", "sentence"),
    [
        (296, 250, "Det är 18 % fler än samma period i fjol (250)."),
        (200, 250, "Det är 20 % färre än samma period i fjol (250)."),
        (104, 100, "Det är ungefär lika många som samma period i fjol (100)."),
        (96, 100, "Det är ungefär lika många som samma period i fjol (100)."),
        (105, 100, "Det är 5 % fler än samma period i fjol (100)."),
        (5, 0, "Samma period i fjol kom inga synpunkter in, så det finns inget att jämföra med."),
    ],
)
def test_the_change_against_last_year(now: int, then: int, sentence: str) -> None:
    assert CHANGE_SAME == 5
    assert sentence in key_messages(attrs.evolve(FULL, total=now, last_year=then))


@pytest.mark.parametrize(("total", "last_year"), [(296, "<3"), (296, ".."), ("..", 250), ("<3", 250)])
def test_no_change_is_told_from_a_count_not_shown(total: int | str, last_year: int | str) -> None:
    messages = key_messages(attrs.evolve(FULL, total=total, last_year=last_year))
    assert not any("i fjol" in m for m in messages)


def test_a_total_not_shown_is_said_so() -> None:
    assert key_messages(attrs.evolve(FULL, total="<3"))[0] == (
        "Färre än 3 synpunkter kom in under halvår 1 2026 (januari–juni)."
    )
    assert key_messages(attrs.evolve(FULL, total=".."))[0] == (
        "Antalet synpunkter under halvår 1 2026 (januari–juni) redovisas inte (röjandekontroll)."
    )
    # A kind not shown: the total, without the kinds.
    kinds = (("klagomål", 186), ("förslag", ".."), ("beröm", "<3"))
    assert key_messages(attrs.evolve(FULL, kinds=kinds))[0] == (
        "296 synpunkter kom in under halvår 1 2026 (januari–juni)."
    )


def test_problems_are_left_out_when_a_count_compared_is_withheld() -> None:
    withheld = (*FULL.problems, Problem("Tillgänglighet", ".."))
    assert not any("Flest klagomål" in m for m in key_messages(attrs.evolve(FULL, problems=withheld)))
    # A <3 is below every count shown: the ranking tells nothing of it.
    small = (*FULL.problems, Problem("Tillgänglighet", "<3"))
    assert any("Flest klagomål" in m for m in key_messages(attrs.evolve(FULL, problems=small)))
    none = (Problem("Kompetens", 0),)
    assert not any("Flest klagomål" in m for m in key_messages(attrs.evolve(FULL, problems=none)))


@pytest.mark.parametrize(
    ("ack", "answer", "judged"),
    [
        ((95, 100), (99, 100), "nästan alltid"),
        ((94, 100), (99, 100), "oftast"),
        ((80, 100), None, "oftast"),
        ((79, 100), (100, 100), "för sällan"),
    ],
)
def test_timeliness_is_judged_by_the_lower_share(
    ack: tuple[int, int], answer: tuple[int, int] | None, judged: str
) -> None:
    assert (TIMELY_NEARLY_ALWAYS, TIMELY_MOSTLY) == (95, 80)
    messages = key_messages(attrs.evolve(FULL, ack=ack, answer=answer))
    assert any(
        m.startswith(f"Löftet om när den som hörde av sig får besked och svar hölls {judged}:")
        for m in messages
    )


def test_timeliness_not_shown_is_left_out() -> None:
    messages = key_messages(attrs.evolve(FULL, ack=None, answer=(0, 0)))
    assert not any(m.startswith("Löftet") for m in messages)


def test_actions_and_reception() -> None:
    messages = key_messages(attrs.evolve(FULL, actions=0, satisfied=1, not_satisfied=0, raised=0))
    assert "Inga åtgärder registrerades för periodens synpunkter." in messages
    assert (
        "Av 1 avslutat ärende var den som hörde av sig nöjd i 1 (100 %). "
        "Inget ärende lyftes till förvaltningschefen." in messages
    )
    hidden = key_messages(attrs.evolve(FULL, actions="..", satisfied="<3", raised=".."))
    assert not any("åtgärd" in m or "nöjd" in m or "förvaltningschefen" in m for m in hidden)


# -- whatever the figures, a message tells no count that is not shown ------------------------

_cell = st.one_of(st.integers(min_value=0, max_value=5000), st.sampled_from(["<3", ".."]))


@st.composite
def figures(draw: st.DrawFn) -> Figures:
    def pair() -> tuple[int, int] | None:
        whole = draw(st.integers(min_value=0, max_value=500))
        return draw(st.one_of(st.none(), st.just((draw(st.integers(min_value=0, max_value=whole)), whole))))

    return Figures(
        period=PERIOD,
        total=draw(_cell),
        kinds=tuple((k, draw(_cell)) for k in ("klagomål", "förslag", "beröm")),
        last_year=draw(_cell),
        problems=tuple(
            Problem(name, draw(_cell), draw(st.one_of(st.none(), st.just("Socialförvaltningen"))))
            for name in draw(st.lists(st.sampled_from(["Kompetens", "Inflytande", "Bemötande"]), unique=True))
        ),
        ack=pair(),
        answer=pair(),
        actions=draw(_cell),
        satisfied=draw(_cell),
        not_satisfied=draw(_cell),
        raised=draw(_cell),
    )


@settings(max_examples=300, deadline=None)
@given(figures())
def test_a_message_uses_only_counts_shown(f: Figures) -> None:
    messages = key_messages(f)
    assert messages
    if f.total == 0:
        assert messages == ("Inga synpunkter kom in under perioden.",)
        return
    text = " ".join(messages)
    # Every number in a message is a count shown, a share of counts shown,
    # the threshold of a <3, or part of the period's label.
    shown = {
        c
        for c in (
            f.total,
            f.last_year,
            f.actions,
            f.satisfied,
            f.not_satisfied,
            f.raised,
            *(n for _k, n in f.kinds),
            *(p.complaints for p in f.problems),
        )
        if isinstance(c, int)
    }
    if isinstance(f.satisfied, int) and isinstance(f.not_satisfied, int):
        shown.add(f.satisfied + f.not_satisfied)
    for number in re.findall(r"\d+", text.replace(PERIOD, "")):
        value = int(number)
        is_share = re.search(rf"\b{number} %", text) is not None
        assert value in shown or is_share or (value == 3 and "Färre än 3" in text), (number, text)
    if not isinstance(f.total, int) or not isinstance(f.last_year, int):
        assert "% fler" not in text
        assert "% färre" not in text

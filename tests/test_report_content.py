"""What a report says, read from storage on every backend: key messages
first, headings in plain words (no requirement ids), tables sorted by size,
comparisons only with periods that had cases, and the staff report's
actions of its own period, with the unit, and praise quoted once."""

from __future__ import annotations

import ast
import datetime as dt
import json
import pathlib
import re
from collections.abc import Iterator

import pytest

from conftest import register_case
from klagomal import FixedClock, Klagomal
from klagomal.notices.letters import swedish_date
from klagomal.reports.data import build_report
from klagomal.reports.model import Report, Table
from klagomal.reports.periods import parse_period
from klagomal.reports.render import TEMPLATES, render_html, render_json, render_text

SRC = pathlib.Path(__file__).parent.parent / "src" / "klagomal" / "reports"
DOCS = pathlib.Path(__file__).parent.parent / "docs" / "reports.md"

#: A requirement id, as the docs use them: R7, R12, R19–R21.
REQUIREMENT = re.compile(r"\bR\d{1,2}\b")

SOC, KOF, SBF, LIB = "soc-aldre-hemtjanst-norr", "kof-badhus", "sbf-gatapark-park", "kof-bibliotek"


def _case(k: Klagomal, clock: FixedClock, day: dt.date, **overrides: object) -> str:
    clock.set(day)
    return register_case(k, **overrides).reference


def _act(k: Klagomal, clock: FixedClock, reference: str, day: dt.date, text: str) -> None:
    clock.set(day)
    k.record_action(reference, text)


@pytest.fixture
def world(any_db_url: str) -> Iterator[Klagomal]:
    """Cases in tertial 2 of 2025 and in 2026, with actions taken in and
    after tertial 2 of 2026, and the same praise twice."""
    clock = FixedClock(dt.date(2025, 5, 5))
    k = Klagomal(any_db_url, clock=clock, load_entrypoints=False)
    k.init()
    for day in (dt.date(2025, 5, 12), dt.date(2025, 6, 2)):
        _case(k, clock, day, unit=KOF, dimensions=["bemotande"])
    early = _case(k, clock, dt.date(2026, 3, 2), unit=SOC, dimensions=["kompetens"])
    kof = [_case(k, clock, dt.date(2026, 5, 4 + i), unit=KOF, dimensions=["bemotande"]) for i in range(3)]
    soc = [_case(k, clock, dt.date(2026, 5, 11 + i), unit=SOC, dimensions=["kompetens"]) for i in range(4)]
    _case(k, clock, dt.date(2026, 5, 20), unit=SBF, dimensions=["kompetens"])
    for day, text in (
        (dt.date(2026, 6, 1), "Tack för en fin sagostund!"),
        (dt.date(2026, 6, 3), "Tack för  en fin sagostund!"),
        (dt.date(2026, 6, 5), "Tack för hjälpen med lånekortet."),
    ):
        _case(k, clock, day, kind="berom", unit=LIB, text=text)
    _act(k, clock, early, dt.date(2026, 5, 5), "Ny rutin för nycklar.")
    _act(k, clock, kof[0], dt.date(2026, 6, 15), "Varmvattnet lagat.")
    _act(k, clock, soc[0], dt.date(2026, 9, 10), "Schemat ändrat.")
    clock.set(dt.date(2026, 12, 5))
    yield k
    k.dispose()


def _table(report: Report, table_id: str) -> Table:
    return next(t for t in report.tables if t.id == table_id)


def test_the_staff_report_lists_the_periods_actions_with_the_unit_and_quotes_praise_once(
    world: Klagomal,
) -> None:
    k = world
    names = {u.id: u.name for u in k.organisation.units.values()}
    t2 = build_report(k, parse_period("2026-T2"))
    actions = _table(t2, "atgarder")
    assert actions.columns == ("Datum", "Enhet", "Ärende", "Åtgärd")
    # Taken in the period, the latest first: also on a case received before
    # it, never one taken after it.
    assert [(row[0], row[1], row[3]) for row in actions.rows] == [
        (swedish_date(dt.date(2026, 6, 15)), names[KOF], "Varmvattnet lagat."),
        (swedish_date(dt.date(2026, 5, 5)), names[SOC], "Ny rutin för nycklar."),
    ]
    t3 = build_report(k, parse_period("2026-T3"))
    assert [(row[1], row[3]) for row in _table(t3, "atgarder").rows] == [(names[SOC], "Schemat ändrat.")]
    # The same praise twice (spacing aside) is quoted once.
    assert t2.highlights == ("Tack för hjälpen med lånekortet.", "Tack för en fin sagostund!")


def test_tables_are_sorted_by_size(world: Klagomal) -> None:
    k = world
    for audience in ("staff", "politicians"):
        report = build_report(k, parse_period("2026-H1"), audience=audience)
        deficiencies = _table(report, "brister").rows
        assert [row[2] for row in deficiencies] == sorted((row[2] for row in deficiencies), reverse=True)
        if audience == "staff":  # the politicians' withholds these small counts
            assert [(row[0], row[1]) for row in deficiencies] == [
                ("Socialförvaltningen", "Kompetens"),
                ("Kultur- och fritidsförvaltningen", "Bemötande och personkontakt"),
                ("Samhällsbyggnadsförvaltningen", "Kompetens"),
            ]
        for table_id in ("per-forvaltning", "per-kanal"):
            counts = [row[1] for row in _table(report, table_id).rows if isinstance(row[1], int)]
            assert counts == sorted(counts, reverse=True), table_id


def test_equal_counts_are_sorted_by_name(any_db_url: str) -> None:
    clock = FixedClock(dt.date(2026, 5, 4))
    with Klagomal(any_db_url, clock=clock, load_entrypoints=False) as k:
        k.init()
        for unit in (SBF, KOF, SOC):
            for _ in range(3):
                register_case(k, unit=unit, dimensions=["kompetens"])
        clock.set(dt.date(2026, 9, 1))
        rows = _table(build_report(k, parse_period("2026-T2")), "brister").rows
        assert [row[0] for row in rows] == sorted(row[0] for row in rows)


def test_a_comparison_only_with_a_period_that_had_cases(world: Klagomal) -> None:
    k = world
    t2 = build_report(k, parse_period("2026-T2"))
    volume = _table(t2, "volym-per-typ")
    assert volume.columns == (
        "Typ",
        "tertial 2 2026 (maj–augusti)",
        "tertial 1 2026 (januari–april)",
        "tertial 2 2025 (maj–augusti)",
        "Förändring mot i fjol",
    )
    assert volume.note == ""
    assert [s.name for s in next(c for c in t2.charts if c.id == "typ").series] == [
        "tertial 2 2025 (maj–augusti)",
        "tertial 2 2026 (maj–augusti)",
    ]
    assert "Det är 450 % fler än samma period i fjol (2)." in t2.messages

    # Tertial 3: the one before had cases, the same a year earlier none.
    t3 = build_report(k, parse_period("2026-T3"))
    volume = _table(t3, "volym-per-typ")
    assert volume.columns == ("Typ", "tertial 3 2026 (september–december)", "tertial 2 2026 (maj–augusti)")
    assert (
        volume.note == "Det finns inga synpunkter från tertial 3 2025 (september–december) att jämföra med."
    )
    chart = next(c for c in t3.charts if c.id == "typ")
    assert [s.name for s in chart.series] == ["tertial 3 2026 (september–december)"]
    text = render_text(t3)
    assert "Förändring mot i fjol" not in text
    assert "Det finns inga synpunkter från tertial 3 2025" in text


def test_the_key_messages_come_first(world: Klagomal) -> None:
    k = world
    staff = build_report(k, parse_period("2026-H1"))
    assert staff.messages[:3] == (
        "12 synpunkter kom in under halvår 1 2026 (januari–juni): 9 klagomål och 3 beröm.",
        "Det är 500 % fler än samma period i fjol (2).",
        "Flest klagomål gällde kompetens (6 klagomål, varav flest inom Socialförvaltningen) "
        "och bemötande och personkontakt (3 klagomål, varav flest inom Kultur- och fritidsförvaltningen).",
    )
    report = build_report(k, parse_period("2026-H1"), audience="politicians")
    # The politicians' report withholds the total here (one case at
    # Samhällsbyggnadsförvaltningen), and its messages with it.
    assert report.total == ".."
    assert report.messages[0] == (
        "Antalet synpunkter under halvår 1 2026 (januari–juni) redovisas inte (röjandekontroll)."
    )
    assert not any("i fjol" in m or "Socialförvaltningen" in m for m in report.messages)
    text = render_text(report)
    assert text.index("Det viktigaste i korthet") < text.index("Synpunkter per typ")
    html = render_html(report)
    assert html.index('class="viktigast"') < html.index("<svg")
    assert json.loads(json.dumps(render_json(report)))["messages"] == list(report.messages)


def test_no_requirement_id_in_any_report(world: Klagomal) -> None:
    k = world
    for audience in ("staff", "politicians"):
        for period in ("2026-T2", "2026-H1"):
            if audience == "politicians" and period.endswith("T2"):
                continue
            report = build_report(k, parse_period(period), audience=audience)
            headings = [
                report.title,
                *(t.title for t in report.tables),
                *(c for t in report.tables for c in t.columns),
                *(str(row[0]) for t in report.tables for row in t.rows),
                *(t.note for t in report.tables),
                *(c.title for c in report.charts),
                *(s.name for c in report.charts for s in c.series),
                *report.messages,
                *report.notes,
            ]
            assert [h for h in headings if REQUIREMENT.search(h)] == []
            for output in (render_text(report), render_html(report), json.dumps(render_json(report))):
                assert REQUIREMENT.search(output) is None


def _translated(path: pathlib.Path) -> list[str]:
    """Every string literal passed to _() or ngettext() in *path*."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("_", "ngettext")
        ):
            found += [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return found


def test_no_requirement_id_in_any_text_the_reports_code_writes() -> None:
    # Read from the code: every Swedish text of every module of the reports,
    # and the template's own words.
    modules = sorted(SRC.rglob("*.py"))
    assert {"data.py", "messages.py", "render.py", "charts.py"} <= {m.name for m in modules}
    for module in modules:
        texts = _translated(module)
        assert [t for t in texts if REQUIREMENT.search(t)] == [], module.name
    for template in TEMPLATES.iterdir():
        words = re.sub(r"{[{%#].*?[}%#]}|<[^>]*>", " ", template.read_text(encoding="utf-8"))
        assert REQUIREMENT.search(words) is None, template.name


def test_the_docs_name_every_table_a_report_has(world: Klagomal) -> None:
    k = world
    documented = set(
        re.findall(r"^\| `([a-z-]+)`(?: / `([a-z-]+)`)?", DOCS.read_text(encoding="utf-8"), re.M)
    )
    names = {name for pair in documented for name in pair if name}
    made = {
        t.id
        for audience, kwargs in (("staff", {}), ("politicians", {}), ("staff", {"department": "kof"}))
        for t in build_report(k, parse_period("2026-H1"), audience=audience, **kwargs).tables  # type: ignore[arg-type]
    }
    assert made <= names

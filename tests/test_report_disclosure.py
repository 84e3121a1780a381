"""Disclosure control of the politicians' report (R18, R27): no count it does
not show can be worked out from what the politicians' reports of a period
show, in any format.

An attacker reads only what is published: the kommun's report and every
förvaltning's report for the period, as text, HTML, CSV and JSON (the four
are first checked to show the same cells).  It knows every relation
docs/reports.md states between their figures (the kinds add up to the total,
so do the channels, the units and the förvaltningar; the kommun's counts
are the sums of the förvaltningar's; the comparison columns are the earlier
periods' counts; a share of a published total gives its count), and tries
to recover every count shown as ``<3`` or ``..`` by subtraction, by exact
linear algebra and by a search over whole numbers (test_disclosure).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
import tempfile
from collections.abc import Hashable, Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from conftest import register_case
from klagomal import Contact, FixedClock, Klagomal, hookimpl
from klagomal.core.errors import InvalidInputError
from klagomal.reports import ReportSection, ReportTable
from klagomal.reports.data import build_report
from klagomal.reports.disclosure import HIDDEN, Line, Published, Status
from klagomal.reports.model import Report
from klagomal.reports.periods import parse_period, previous_period, same_period_last_year
from klagomal.reports.render import render_csv, render_html, render_json, render_text
from test_disclosure import by_linear_algebra, by_subtraction, pinned

T = 3
LESS = f"<{T}"


# -- what is published, in every format --------------------------------------------------------


def _as_text(value: Any) -> str:
    return "" if value is None else str(value)


def json_tables(report: Report) -> dict[str, list[list[str]]]:
    return {t["id"]: [[_as_text(c) for c in row] for row in t["rows"]] for t in render_json(report)["tables"]}


def text_tables(report: Report) -> dict[str, list[list[str]]]:
    """The tables of the text format, read back by their column rulers."""
    lines = render_text(report).splitlines()
    out = {}
    for table in report.tables:
        start = lines.index(table.title) + 2
        ruler = lines[start + 1]
        spans = [(m.start(), m.end()) for m in re.finditer(r"-+", ruler)]
        rows = []
        for line in lines[start + 2 :]:
            if not line or line == table.note or line == "(inga rader)":
                break
            cells = [line[a:b].strip() for a, b in spans[:-1]] + [line[spans[-1][0] :].strip()]
            rows.append(cells)
        out[table.id] = rows
    return out


class _HtmlTables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: str | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.empty = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section" and (values.get("id") or "").startswith("tabell-"):
            self.current = (values["id"] or "")[len("tabell-") :]
            self.tables[self.current] = []
        elif tag == "tr" and self.current is not None:
            self.row = []
        elif tag == "td" and self.row is not None:
            self.cell = []
            self.empty = values.get("class") == "tom"

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.row is not None and self.cell is not None:
            if not self.empty:
                self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None and self.current is not None:
            if self.row:
                self.tables[self.current].append(self.row)
            self.row = None
        elif tag == "section":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def html_tables(report: Report) -> dict[str, list[list[str]]]:
    parser = _HtmlTables()
    parser.feed(render_html(report))
    return parser.tables


def csv_tables(report: Report) -> dict[str, list[list[str]]]:
    out = {}
    for name, text in render_csv(report).items():
        rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))[1:]
        # A cell that would start a formula has a leading ' (report_render).
        out[name.removesuffix(".csv")] = [[c[1:] if c.startswith("'") else c for c in row] for row in rows]
    return out


def published_tables(report: Report) -> dict[str, list[list[str]]]:
    """The tables of *report*, after checking that text, HTML, CSV and JSON
    show the very same cells."""
    tables = json_tables(report)
    assert text_tables(report) == tables
    assert html_tables(report) == tables
    assert csv_tables(report) == tables
    return tables


def published_total(report: Report) -> str:
    """The total as every format says it: the first key message (text and
    HTML), and the JSON."""
    total = str(render_json(report)["total"])
    lines = render_text(report).splitlines()
    assert lines[6] == "Det viktigaste i korthet"
    line = lines[8].removeprefix("* ")
    period = report.period.label
    expected = {
        "0": "Inga synpunkter kom in under perioden.",
        "1": f"1 synpunkt kom in under {period}",
        LESS: f"Färre än {T} synpunkter kom in under {period}.",
        HIDDEN: f"Antalet synpunkter under {period} redovisas inte (röjandekontroll).",
    }.get(total, f"{total} synpunkter kom in under {period}")
    assert line.startswith(expected)
    assert f"<li>{escape(line)}</li>" in render_html(report)
    return total


# -- the attacker ---------------------------------------------------------------------------------

KINDS = ("Klagomål", "Förslag", "Beröm")
COUNTS = (
    "Skickade vidare till en annan enhet",
    "Gånger de skickades vidare",
    "Lösta direkt",
    "Åtgärder",
    "Avslutade, nöjda",
    "Avslutade, inte nöjda",
    "Lyfta till förvaltningschefen (nivå 2)",
    "Lyfta till nämnden (nivå 3)",
)
#: Counts of some of the cases (or of another count's), whose rest no table shows.
SUBSETS = (
    ("Ärenden", ("Skickade vidare till en annan enhet",)),
    ("Ärenden", ("Lösta direkt",)),
    ("Ärenden", ("Avslutade, nöjda", "Avslutade, inte nöjda")),
    ("Ärenden", ("Lyfta till förvaltningschefen (nivå 2)",)),
    ("Lyfta till förvaltningschefen (nivå 2)", ("Lyfta till nämnden (nivå 3)",)),
)


class Attack:
    """What the politicians' reports of one period publish, as cells and lines."""

    def __init__(self) -> None:
        self.cells: dict[Hashable, str] = {}
        self.lines: list[Line] = []
        self.truth: dict[Hashable, int] = {}
        self.unshown: set[Hashable] = set()

    def cell(self, key: Hashable, shown: str, truth: int) -> Hashable:
        if key in self.cells:
            assert self.cells[key] == shown, (key, self.cells[key], shown)
        self.cells[key] = shown
        self.truth[key] = truth
        return key

    def rest(self, key: Hashable, truth: int) -> Hashable:
        """A count no table shows."""
        self.unshown.add(key)
        self.truth[key] = truth
        return key

    def line(self, total: Hashable, parts: list[Hashable]) -> None:
        self.lines.append(Line(total, tuple(parts)))

    def published(self) -> Published:
        statuses = {}
        numbers = {}
        for key in self.truth:
            shown = self.cells.get(key, HIDDEN)
            if key in self.unshown:
                statuses[key] = Status.WITHHELD
            elif shown == LESS:
                statuses[key] = Status.PRIMARY
            elif shown == HIDDEN:
                statuses[key] = Status.WITHHELD  # what a "..": hides, as weakly as can be assumed
            else:
                statuses[key] = Status.PUBLISHED
                numbers[key] = int(shown)
        return Published(T, statuses, numbers)

    def protected(self) -> set[Hashable]:
        """The counts that must not be worked out: every one not shown but 0,
        and of those no table shows, the ones below the threshold."""
        published = self.published()
        return {
            key
            for key, value in self.truth.items()
            if published.status(key) is not Status.PUBLISHED
            and value != 0
            and (key not in self.unshown or value < T)
        }

    def check(self, search: bool = True) -> None:
        published = self.published()
        for key, value in published.numbers.items():
            assert value == self.truth[key], key  # what is shown is true
        for key, value in self.truth.items():
            if 0 < value < T and key not in self.unshown:
                assert published.status(key) is not Status.PUBLISHED, key
        protected = self.protected()
        recovered = set(by_subtraction(published, self.lines)) | by_linear_algebra(published, self.lines)
        assert not protected & recovered, sorted(map(repr, protected & recovered))
        if search:
            assert not pinned(published, self.lines, self.truth, sorted(protected, key=repr))


def attack(k: Klagomal, period_id: str) -> Attack:
    """Read every politicians' report of *period_id* (the kommun's and each
    förvaltning's, in every format) into an :class:`Attack`; the true counts
    come from the staff's reports of the same scopes."""
    org = k.organisation
    period = parse_period(period_id)
    a = Attack()
    scopes: list[str | None] = [None, *org.departments]
    public = {s: build_report(k, period, department=s, audience="politicians") for s in scopes}
    staff = {s: build_report(k, period, department=s) for s in scopes}
    tables = {s: published_tables(public[s]) for s in scopes}
    truth = {s: json_tables(staff[s]) for s in scopes}
    for s in scopes:
        assert published_total(public[s]) == str(public[s].total)

    def rows(
        s: str | None, table: str, which: dict[str | None, dict[str, list[list[str]]]]
    ) -> dict[str, list[str]]:
        return {row[0]: row[1:] for row in which[s][table]}

    # The table of kinds has a column for a period compared with only when
    # that period had cases: a column left out is all 0.
    compared = (period.label, previous_period(period).label, same_period_last_year(period).label)

    def index(report: Report, table: str, column: int) -> int | None:
        if table != "volym-per-typ":
            return column
        headings = next(t for t in report.tables if t.id == table).columns[1:]
        return headings.index(compared[column]) if compared[column] in headings else None

    def true(s: str | None, table: str, label: str, column: int) -> int:
        row = rows(s, table, truth).get(label)
        at = index(staff[s], table, column)
        return int(row[at]) if row is not None and at is not None else 0

    def shown(s: str | None, table: str, label: str, column: int) -> str:
        row = rows(s, table, tables).get(label)
        if row is None:  # a list leaves out what is 0, unless it is withheld as a whole
            return HIDDEN if withheld(s, table) else "0"
        at = index(public[s], table, column)
        return row[at] if at is not None else "0"

    def cell(s: str | None, table: str, label: str, column: int) -> Hashable:
        return a.cell(
            (s, table, label, column), shown(s, table, label, column), true(s, table, label, column)
        )

    def withheld(s: str | None, table: str) -> bool:
        return next(t for t in public[s].tables if t.id == table).note.startswith("Färre än")

    departments = list(org.departments)
    channels = sorted({row[0] for s in scopes for row in truth[s]["per-kanal"]})
    dimensions = sorted({row[0] for s in scopes for row in truth[s]["kvalitetsdimension"]})
    for s in scopes:
        # The kinds add up to the total, in each period's column; the total is the cases.
        for column in range(3):
            a.line(
                cell(s, "volym-per-typ", "Totalt", column),
                [cell(s, "volym-per-typ", r, column) for r in KINDS],
            )
        total = cell(s, "volym-per-typ", "Totalt", 0)
        a.line(total, [cell(s, "handlaggning", "Ärenden", 0)])
        if not withheld(s, "per-kanal"):
            a.line(total, [cell(s, "per-kanal", c, 0) for c in channels])
        # A share of a published total gives its count (to the rounding).
        anonymous = sum(c.anonymous for c in cases_of(k, period, s))
        share = shown(s, "handlaggning", "Anonyma", 0)
        named = a.cell((s, "named"), HIDDEN, true(s, "handlaggning", "Ärenden", 0) - anonymous)
        anon = a.cell((s, "anonymous"), HIDDEN, anonymous)
        a.line(total, [anon, named])
        if share.endswith(" %") and a.cells[total].isdigit():
            n = int(a.cells[total])
            fits = [x for x in range(n + 1) if round(100 * x / n) == int(share[:-2])]
            if len(fits) == 1:
                a.cells[anon], a.cells[named] = str(fits[0]), str(n - fits[0])
        # What some cases are, the others are not.
        for whole, parts in SUBSETS:
            keys = [cell(s, "handlaggning", p, 0) for p in parts]
            value = true(s, "handlaggning", whole, 0) - sum(true(s, "handlaggning", p, 0) for p in parts)
            a.line(cell(s, "handlaggning", whole, 0), [*keys, a.rest((s, whole, parts), value)])
        for dimension in dimensions:
            for column, kind in enumerate(KINDS):
                d = cell(s, "kvalitetsdimension", dimension, column)
                value = true(s, "volym-per-typ", kind, 0) - true(s, "kvalitetsdimension", dimension, column)
                a.line(cell(s, "volym-per-typ", kind, 0), [d, a.rest((s, dimension, kind), value)])
    # The förvaltningar add up to the kommun, and each is its own report's total.
    kommun_total = cell(None, "volym-per-typ", "Totalt", 0)
    names = {d: org.departments[d].name for d in departments}
    places = [cell(None, "per-forvaltning", names[d], 0) for d in departments]
    a.line(kommun_total, places)
    for d, place in zip(departments, places, strict=True):
        a.line(place, [cell(d, "volym-per-typ", "Totalt", 0)])
        units = sorted({row[0] for row in truth[d]["per-enhet"]} | {row[0] for row in tables[d]["per-enhet"]})
        if not withheld(d, "per-enhet"):
            a.line(cell(d, "volym-per-typ", "Totalt", 0), [cell(d, "per-enhet", u, 0) for u in units])
    # The kommun's counts are the sums of the förvaltningar's.

    def across(table: str, label: str, column: int) -> None:
        a.line(cell(None, table, label, column), [cell(d, table, label, column) for d in departments])

    for column in range(3):
        for label in (*KINDS, "Totalt"):
            across("volym-per-typ", label, column)
    for label in COUNTS:
        across("handlaggning", label, 0)
    for c in channels:
        if not any(withheld(d, "per-kanal") for d in departments):
            across("per-kanal", c, 0)
    for dimension in dimensions:
        for column in range(4):
            across("kvalitetsdimension", dimension, column)
    a.line((None, "anonymous"), [(d, "anonymous") for d in departments])
    # The kommun's list of quality deficiencies repeats each förvaltning's counts.
    for name, dimension, n in tables[None]["brister"]:
        d = next(d for d in departments if names[d] == name)
        value = true(d, "kvalitetsdimension", dimension, 0)
        a.line(
            cell(d, "kvalitetsdimension", dimension, 0),
            [a.cell((None, "brister", name, dimension), n, value)],
        )
    return a


def cases_of(k: Klagomal, period: Any, department: str | None) -> list[Any]:
    return k.cases_received(period.start, period.end, department=department)


# -- the reviewer's case ------------------------------------------------------------------------


def _reviewers_kommun(url: str) -> Klagomal:
    """4 cases at one förvaltning and 1 (anonymous) at another, in 2026-T2."""
    clock = FixedClock(dt.date(2026, 5, 4))
    k = Klagomal(url, clock=clock, load_entrypoints=False)
    k.init()
    for _ in range(4):
        register_case(k, unit="kof-badhus")
    register_case(k, unit="sbf-gatapark-park", contact=None)
    clock.set(dt.date(2026, 9, 2))
    return k


def test_the_reviewers_case_cannot_be_undone_in_any_format(any_db_url: str) -> None:
    # The defect: "Totalt 5", "4", "<3" and "Anonyma 20 %" told every 1.
    k = _reviewers_kommun(any_db_url)
    try:
        report = build_report(k, parse_period("2026-T2"), audience="politicians")
        tables = published_tables(report)
        assert published_total(report) == "5"
        assert tables["per-forvaltning"] == [
            ["Kultur- och fritidsförvaltningen", HIDDEN],
            ["Samhällsbyggnadsförvaltningen", LESS],
        ]
        handling = dict(map(tuple, tables["handlaggning"]))  # type: ignore[arg-type]
        assert handling["Anonyma"] == HIDDEN  # 20 % of 5 would be the 1
        everything = render_text(report) + render_html(report) + str(render_json(report))
        assert "20 %" not in everything
        # The förvaltningar's own reports do not undo the kommun's.
        kof = build_report(k, parse_period("2026-T2"), department="kof", audience="politicians")
        sbf = build_report(k, parse_period("2026-T2"), department="sbf", audience="politicians")
        assert (kof.total, sbf.total) == (HIDDEN, LESS)
        assert published_total(kof) == HIDDEN
        attack(k, "2026-T2").check()
    finally:
        k.dispose()


def test_the_staff_report_shows_the_counts_as_they_are() -> None:
    # Staff see their own units' cases: no disclosure control there.
    with tempfile.TemporaryDirectory() as tmp:
        k = _reviewers_kommun(f"sqlite:///{tmp}/k.db")
        try:
            report = build_report(k, parse_period("2026-T2"))
            assert dict(map(tuple, json_tables(report)["per-forvaltning"])) == {  # type: ignore[arg-type]
                "Kultur- och fritidsförvaltningen": "4",
                "Samhällsbyggnadsförvaltningen": "1",
            }
            assert dict(map(tuple, json_tables(report)["handlaggning"]))["Anonyma"] == "20 %"  # type: ignore[arg-type]
        finally:
            k.dispose()


# -- a kommun over two years ------------------------------------------------------------------


@pytest.fixture(scope="module")
def kommun(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Klagomal]:
    from test_report_data import _populate

    clock = FixedClock(dt.date(2025, 5, 5))
    k = Klagomal(
        f"sqlite:///{tmp_path_factory.mktemp('kommun') / 'k.db'}", clock=clock, load_entrypoints=False
    )
    k.init()
    _populate(k, clock)
    yield k
    k.dispose()


@pytest.mark.parametrize("period_id", ["2026-T1", "2026-T2", "2025-H2", "2026-05-01..2026-05-31"])
def test_no_report_of_a_period_undoes_another(kommun: Klagomal, period_id: str) -> None:
    a = attack(kommun, period_id)
    assert any(shown in (LESS, HIDDEN) for shown in a.cells.values())  # there is something to protect
    a.check(search=period_id == "2026-05-01..2026-05-31")


def test_a_comparison_shows_the_earlier_period_as_its_own_report_does(kommun: Klagomal) -> None:
    # Else the two together would undo both: the earlier period's counts are
    # published once, the same in both places.
    for department in [None, *kommun.organisation.departments]:
        now = build_report(kommun, parse_period("2026-T2"), department=department, audience="politicians")
        before = build_report(kommun, parse_period("2026-T1"), department=department, audience="politicians")
        a_year_ago = build_report(
            kommun, parse_period("2025-T2"), department=department, audience="politicians"
        )
        headings = now.tables[0].columns
        for earlier in (before, a_year_ago):
            theirs = {row[0]: row[1] for row in earlier.tables[0].rows}
            if earlier.period.label not in headings:  # no cases then: no column
                assert set(theirs.values()) == {0}
                continue
            at = headings.index(earlier.period.label)
            assert {row[0]: row[at] for row in now.tables[0].rows} == theirs


# -- random small kommuner ----------------------------------------------------------------------

UNITS = ("kof-badhus", "kof-bibliotek", "sbf-gatapark-park", "soc-aldre-solgarden", "bou-forskola-ekorren")


@st.composite
def small_kommuner(draw: st.DrawFn) -> list[tuple[str, str, str, bool, tuple[str, ...], bool, int]]:
    """A few cases: (unit, kind, channel, anonymous, dimensions, forwarded, month)."""
    case = st.tuples(
        st.sampled_from(UNITS),
        st.sampled_from(["klagomal", "klagomal", "forslag", "berom"]),
        st.sampled_from(["telefon", "telefon", "epost", "brev"]),
        st.booleans(),
        st.sampled_from([(), ("bemotande",), ("kompetens",), ("bemotande", "inflytande")]),
        st.booleans(),
        st.sampled_from([1, 5, 6]),
    )
    return draw(st.lists(case, min_size=1, max_size=14))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_kommuner())
def test_no_count_of_a_small_kommun_can_be_worked_out(
    cases: list[tuple[str, str, str, bool, tuple[str, ...], bool, int]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clock = FixedClock(dt.date(2026, 1, 5))
        k = Klagomal(f"sqlite:///{tmp}/k.db", clock=clock, load_entrypoints=False)
        try:
            k.init()
            for unit, kind, channel, anonymous, dimensions, forwarded, month in sorted(
                cases, key=lambda c: c[6]
            ):
                clock.set(dt.date(2026, month, 5))
                case = register_case(
                    k,
                    unit=unit,
                    kind=kind,
                    channel=channel,
                    contact=None if anonymous else Contact(name="Eva", email="eva@example.se"),
                    dimensions=list(dimensions),
                )
                if forwarded:
                    k.forward(case.reference, "kof-fritidsgardar")
            clock.set(dt.date(2026, 9, 1))
            attack(k, "2026-T2").check()
        finally:
            k.dispose()


# -- shares, medians, trends and charts --------------------------------------------------------


def test_a_share_or_median_is_shown_only_when_its_counts_may_be(tmp_path: Any) -> None:
    clock = FixedClock(dt.date(2026, 5, 4))
    with Klagomal(f"sqlite:///{tmp_path / 'k.db'}", clock=clock, load_entrypoints=False) as k:
        k.init()
        refs = [register_case(k, unit="kof-badhus").reference for _ in range(4)]
        for ref in refs[:3]:
            k.acknowledge(ref, "Hanna")
        clock.set(dt.date(2026, 6, 30))  # the fourth's besked is late
        k.acknowledge(refs[3], "Hanna")
        for ref in refs[:2]:
            k.answer(ref, "skriftligt", "Svar")
        clock.set(dt.date(2026, 9, 2))
        period = parse_period("2026-T2")
        staff = dict(build_report(k, period).tables[5].rows)
        public = dict(build_report(k, period, audience="politicians").tables[5].rows)
        assert staff["Besked inom tidsfristen"] == "75 %"  # 3 of 4: with 4 cases shown, tells the 1 late
        assert public["Besked inom tidsfristen"] == HIDDEN
        assert staff["Median till svar, arbetsdagar"] != "-"  # two answers: the median is one case's time
        assert public["Median till svar, arbetsdagar"] == HIDDEN
        assert public["Median till besked, arbetsdagar"] not in (HIDDEN, "-")  # four besked


def test_the_trend_and_the_charts_show_only_what_the_tables_do(tmp_path: Any) -> None:
    clock = FixedClock(dt.date(2026, 5, 4))
    with Klagomal(f"sqlite:///{tmp_path / 'k.db'}", clock=clock, load_entrypoints=False) as k:
        k.init()
        for day in (dt.date(2026, 5, 4), dt.date(2026, 6, 8), dt.date(2026, 6, 9), dt.date(2026, 6, 10)):
            clock.set(day)
            k.acknowledge(register_case(k, unit="kof-badhus").reference, "Hanna")
        k.acknowledge(register_case(k, unit="kof-badhus", kind="berom", contact=None).reference, "Hanna")
        clock.set(dt.date(2026, 9, 2))
        report = build_report(k, parse_period("2026-T2"), audience="politicians")
        charts = {c.id: c for c in report.charts}
        # May has one besked: its share would be that case's; June has four, all in time.
        may, june = charts["tidsfrister-trend"].series[0].values
        assert (may, june) == (HIDDEN, 100.0)
        assert build_report(k, parse_period("2026-T2")).charts[-1].series[0].values == (100.0, 100.0)
        # The bars are the table's counts; a count not shown is no bar at all.
        kinds = [row[1] for row in report.tables[0].rows[:3]]
        assert kinds == [HIDDEN, 0, LESS]  # 4, 0 and 1: the 1 is "<3", and the total 5 would tell it
        now = next(s for s in charts["typ"].series if s.name == report.period.label).values
        assert now == (HIDDEN, 0.0, LESS)
        html = render_html(report)
        for label in ("Klagomål", "Beröm"):
            bar = re.search(
                rf'<rect[^>]*data-series="tertial 2 2026[^"]*" data-label="{label}" data-value=""', html
            )
            assert bar is not None
            assert 'width="0"' in bar.group(0)
        assert render_json(report)["charts"][0]["series"][-1]["values"] == [HIDDEN, 0.0, LESS]


# -- scope and the förvaltningar's own sections ---------------------------------------------


def test_the_politicians_report_is_for_the_kommun_or_a_forvaltning(tmp_path: Any) -> None:
    with Klagomal(f"sqlite:///{tmp_path / 'k.db'}", load_entrypoints=False) as k:
        k.init()
        with pytest.raises(InvalidInputError) as refused:
            build_report(k, parse_period("2026-T2"), unit="kof-badhus", audience="politicians")
        assert refused.value.step == "report"
        assert "inte för enheten 'kof-badhus'" in str(refused.value)
        assert "--forvaltning" in str(refused.value)
        build_report(k, parse_period("2026-T2"), unit="kof-badhus")  # staff: their own units


def test_a_forvaltnings_own_table_gets_secondary_suppression_over_its_sums(tmp_path: Any) -> None:
    class Schools:
        @hookimpl
        def klagomal_report_sections(self) -> list[ReportSection]:
            table = ReportTable(
                ("Enhet", "Klagomål", "Förslag", "Totalt"),
                (("Ekorren", 4, 1, 5), ("Blåklinten", 6, 3, 9), ("Summa", 10, 4, 14)),
            )
            return [ReportSection("skolor", "Skolor", lambda scope: table, department="bou")]

    with Klagomal(f"sqlite:///{tmp_path / 'k.db'}", plugins=[Schools()], load_entrypoints=False) as k:
        k.init()
        rows = next(
            t.rows
            for t in build_report(k, parse_period("2026-T2"), department="bou", audience="politicians").tables
            if t.id == "skolor"
        )
        a = Attack()
        for i, row in enumerate(rows):
            for j in range(1, 4):
                truth = ((4, 1, 5), (6, 3, 9), (10, 4, 14))[i][j - 1]
                a.cell((i, j), str(row[j]), truth)
        for i in range(3):
            a.line((i, 3), [(i, 1), (i, 2)])
        for j in range(1, 4):
            a.line((2, j), [(0, j), (1, j)])
        assert rows[0][2] == LESS
        a.check()


def test_what_a_reader_sees_is_said_in_the_report() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        k = _reviewers_kommun(f"sqlite:///{tmp}/k.db")
        try:
            report = build_report(k, parse_period("2026-T2"), audience="politicians")
            notes = " ".join(report.notes)
            assert all(word in notes for word in (LESS, HIDDEN, "röjandekontroll"))
            kof = build_report(k, parse_period("2026-T2"), department="kof", audience="politicians")
            assert render_text(kof).splitlines()[8] == (
                "* Antalet synpunkter under tertial 2 2026 (maj–augusti) redovisas inte (röjandekontroll)."
            )
        finally:
            k.dispose()


def test_the_counts_of_every_kommun_report_still_add_up_where_shown(kommun: Klagomal) -> None:
    # Disclosure control hides counts; it never changes one.
    staff = build_report(kommun, parse_period("2026-H1"))
    public = build_report(kommun, parse_period("2026-H1"), audience="politicians")
    for mine, theirs in zip(public.tables, staff.tables, strict=False):
        if mine.id in ("brister", "tidsfrister"):  # a list by förvaltning; shares
            continue
        assert mine.id == theirs.id
        true = {row[0]: row[1:] for row in theirs.rows}
        for row in mine.rows:
            for shown, value in itertools.zip_longest(row[1:], true.get(row[0], ())):
                if isinstance(shown, int):
                    assert shown == value, (mine.id, row)
    assert any(c in (LESS, HIDDEN) for t in public.tables for r in t.rows for c in r)

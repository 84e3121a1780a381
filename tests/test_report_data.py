"""The figures of a report (klagomal.reports.data), checked against an
independent computation from the exported events: every number in the
tables is recomputed by replaying each case's history in Python (R16–R18,
R32)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import register_case
from klagomal import Contact, FixedClock, Klagomal, hookimpl
from klagomal.cases import lifecycle
from klagomal.core.errors import InvalidInputError
from klagomal.core.events import Event
from klagomal.core.model import Case
from klagomal.deadlines.calendars import swedish_calendar
from klagomal.notices.letters import swedish_date
from klagomal.reports import ReportSection, ReportTable
from klagomal.reports.data import build_report
from klagomal.reports.model import Period, Report, Table
from klagomal.reports.periods import parse_period, previous_period, same_period_last_year

UNITS = [
    "soc-aldre-hemtjanst-norr",
    "soc-aldre-solgarden",
    "kof-badhus",
    "sbf-gatapark-park",
    "bou-forskola-blaklinten",
]
CHANNELS = ["telefon", "epost", "brev", "besok", "svarskort"]
DIMENSIONS = ["tillganglighet", "kompetens", "bemotande", "inflytande"]


def _populate(k: Klagomal, clock: FixedClock) -> None:
    """Cases in 2025 and 2026, of every kind, channel and outcome."""
    day = dt.date(2025, 5, 5)
    n = 0
    while day < dt.date(2026, 8, 20):
        clock.set(day)
        kind = ["klagomal", "klagomal", "forslag", "berom"][n % 4]
        unit = UNITS[n % len(UNITS)]
        anonymous = n % 7 == 0
        case = register_case(
            k,
            kind=kind,
            channel=CHANNELS[n % len(CHANNELS)],
            unit=unit,
            text=f"Synpunkt nr {n}: personalen på {unit}.",
            contact=None if anonymous else Contact(name="Eva", email="eva@example.se"),
            dimensions=[DIMENSIONS[n % 4], *([DIMENSIONS[(n + 1) % 4]] if n % 3 == 0 else [])],
        )
        ref = case.reference
        if n % 5 == 1:
            k.forward(ref, UNITS[(n + 1) % len(UNITS)])
        if n % 9 == 4 and not anonymous:
            k.resolve_at_once(ref, "Ordnat direkt.", "Personal")
        elif n % 6 != 5:  # some are never acknowledged
            clock.set(day + dt.timedelta(days=n % 20))
            k.acknowledge(ref, "Hanna", clock.today() + dt.timedelta(days=20))
            if n % 4 == 0:
                k.record_action(ref, f"Åtgärd för ärende {n}")
            if n % 8 == 3:
                k.postpone(ref, clock.today() + dt.timedelta(days=30), "Semester")
            if not anonymous and n % 3 != 2:
                clock.set(clock.today() + dt.timedelta(days=n % 25))
                k.answer(ref, "skriftligt", "Svar")
                k.close(ref, n % 5 != 0)
                if n % 10 == 0:
                    k.escalate(ref, "Inte nöjd")
        day += dt.timedelta(days=3)
        n += 1
    clock.set(dt.date(2026, 9, 15))


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Klagomal, list[tuple[Case, list[Event]]]]]:
    clock = FixedClock(dt.date(2025, 5, 5))
    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'k.db'}"
    k = Klagomal(url, clock=clock, load_entrypoints=False)
    k.init()
    _populate(k, clock)
    exported = k.export()
    replayed = []
    for item in exported["cases"]:
        history = [k.converter.structure(e, Event) for e in item["events"]]
        replayed.append((lifecycle.replay(history), history))
    yield k, replayed
    k.dispose()


def _table(report: Report, table_id: str) -> Table:
    return next(t for t in report.tables if t.id == table_id)


def _in(case: Case, period: Period) -> bool:
    return period.start <= case.received <= period.end


def _share(part: int, whole: int) -> str:
    return "-" if whole == 0 else f"{round(100 * part / whole)} %"


@pytest.mark.parametrize("period_id", ["2026-T1", "2026-T2", "2026-H1", "2025", "2025-09-01..2026-02-28"])
@pytest.mark.parametrize("department", [None, "soc"])
def test_every_number_equals_an_independent_computation(
    world: tuple[Klagomal, list[tuple[Case, list[Event]]]], period_id: str, department: str | None
) -> None:
    k, replayed = world
    period = parse_period(period_id)
    report = build_report(k, period, department=department)
    scoped = [(c, h) for c, h in replayed if department is None or c.department == department]
    now = [c for c, _h in scoped if _in(c, period)]
    assert report.total == len(now)

    # Volume by kind, with the previous period and the same period last year.
    def by_kind(p: Period) -> Counter[str]:
        return Counter(c.kind.label for c, _h in scoped if _in(c, p))

    current, before, ago = (
        by_kind(period),
        by_kind(previous_period(period)),
        by_kind(same_period_last_year(period)),
    )
    # A period compared with is a column only when it had cases.
    compared = [c for c in (before, ago) if sum(c.values())]
    volume = _table(report, "volym-per-typ")
    rows = {r[0]: r[1 : 2 + len(compared)] for r in volume.rows}
    for label in ("Klagomål", "Förslag", "Beröm"):
        assert rows[label] == tuple(c[label] for c in (current, *compared))
    assert rows["Totalt"] == tuple(sum(c.values()) for c in (current, *compared))
    assert len(volume.columns) == 2 + len(compared) + (1 if sum(ago.values()) else 0)
    assert ("att jämföra med" in volume.note) == (len(compared) < 2)

    # By dimension, with the actions of the cases that carry it.
    dims: Counter[tuple[str, str]] = Counter()
    actions: Counter[str] = Counter()
    for c in now:
        for d in c.dimensions:
            dims[d, c.kind.label] += 1
            actions[d] += c.actions
    labels = {d.id: d.label for d in k.dimensions.values()}
    got = {r[0]: r[1:] for r in _table(report, "kvalitetsdimension").rows}
    assert set(got) == {labels[d] for d, _kind in dims}
    for d in {d for d, _kind in dims}:
        assert got[labels[d]] == (dims[d, "Klagomål"], dims[d, "Förslag"], dims[d, "Beröm"], actions[d])

    # Where, and by which channel (R32).
    place = (
        (lambda c: k.organisation.unit(c.unit).name)
        if department
        else (lambda c: k.organisation.departments[c.department].name)
    )
    table = _table(report, "per-enhet" if department else "per-forvaltning")
    assert dict(table.rows) == dict(Counter(place(c) for c in now))
    channel_labels = {ch.id: ch.label for ch in k.channels.values()}
    assert dict(_table(report, "per-kanal").rows) == dict(Counter(channel_labels[c.channel] for c in now))

    # Handling and reception (R12, R14, R16, R17, R19-R21).
    handling = dict(_table(report, "handlaggning").rows)
    assert handling["Ärenden"] == len(now)
    assert handling["Anonyma"] == _share(sum(c.anonymous for c in now), len(now))
    assert handling["Skickade vidare till en annan enhet"] == sum(c.forwards > 0 for c in now)
    assert handling["Gånger de skickades vidare"] == sum(c.forwards for c in now)
    assert handling["Lösta direkt"] == sum(c.resolved_at_once for c in now)
    assert handling["Åtgärder"] == sum(c.actions for c in now)
    assert handling["Avslutade, nöjda"] == sum(c.closed is not None and c.satisfied is True for c in now)
    assert handling["Avslutade, inte nöjda"] == sum(
        c.closed is not None and c.satisfied is False for c in now
    )
    assert handling["Lyfta till förvaltningschefen (nivå 2)"] == sum(c.level >= 2 for c in now)
    assert handling["Lyfta till nämnden (nivå 3)"] == sum(c.level >= 3 for c in now)

    # Timeliness, by the definitions the report states, from the replayed cases.
    today = k.clock.today()
    ack_due = [c for c in now if c.acknowledged is not None or c.acknowledge_by < today]
    ack_ok = [c for c in now if c.acknowledged is not None and c.acknowledged <= c.acknowledge_by]
    ans_due = [
        c
        for c in now
        if c.answered is not None
        or (c.respond_by is not None and c.respond_by < today and c.paused_since is None and c.closed is None)
    ]
    ans_ok = [
        c
        for c in now
        if c.answered is not None
        and c.respond_by is not None
        and c.answered <= c.respond_by
        and c.late_postponements == 0
    ]
    post = sum(c.postponements for c in now)
    late = sum(c.late_postponements for c in now)
    calendar = swedish_calendar()
    to_ack = [calendar.working_days_between(c.received, c.acknowledged) for c in now if c.acknowledged]
    to_ans = [
        calendar.working_days_between(c.received, c.answered) for c in now if c.acknowledged and c.answered
    ]

    def median(values: list[int]) -> str:
        return "-" if not values else f"{statistics.median(values):g}".replace(".", ",")

    assert dict(_table(report, "tidsfrister").rows) == {
        "Besked inom tidsfristen": _share(len(ack_ok), len(ack_due)),
        "Svar senast utlovat datum": _share(len(ans_ok), len(ans_due)),
        "Förseningsbesked i tid": _share(post - late, post),
        "Median till besked, arbetsdagar": median(to_ack),
        "Median till svar, arbetsdagar": median(to_ans),
    }

    # The trend, month by month: the same definitions per month received.
    months = sorted({(c.received.year, c.received.month) for c in now})
    trend = [chart for chart in report.charts if chart.id == "tidsfrister-trend"]
    if len(months) > 1:
        [chart] = trend
        for i, (y, m) in enumerate(months):
            month_cases = [c for c in now if (c.received.year, c.received.month) == (y, m)]
            due = [c for c in month_cases if c.acknowledged is not None or c.acknowledge_by < today]
            ok = [c for c in month_cases if c.acknowledged is not None and c.acknowledged <= c.acknowledge_by]
            expected_share = round(100 * len(ok) / len(due), 1) if due else None
            value = chart.series[0].values[i]
            assert (None if value != value else value) == expected_share
    else:
        assert trend == []

    # The quality deficiencies: complaints' top three dimensions per förvaltning.
    top: dict[str, Counter[str]] = {}
    for c in now:
        if c.kind.value == "klagomal":
            for d in c.dimensions:
                top.setdefault(c.department, Counter())[d] += 1
    expected = [
        (k.organisation.departments[dep].name, labels[d], n)
        for dep in top
        for d, n in sorted(top[dep].items(), key=lambda t: (-t[1], t[0]))[:3]
    ]
    # The largest first, equal counts by förvaltning and dimension.
    assert list(_table(report, "brister").rows) == sorted(expected, key=lambda r: (-r[2], r[0], r[1]))

    # The actions listed are the latest actions taken in the period, in
    # cases in scope, with their units.
    listed = _table(report, "atgarder").rows
    taken = {
        (e.day, (swedish_date(e.day), k.organisation.unit(c.unit).name, c.reference, e.data.text))
        for c, h in scoped
        for e in h
        if e.type == "action_recorded" and period.start <= e.day <= period.end
    }
    days = {row: day for day, row in taken}
    assert set(listed) <= set(days)
    assert len(listed) == min(20, len(taken))
    assert [days[row] for row in listed] == sorted((days[row] for row in listed), reverse=True)
    if listed:  # the latest: none left out is later than one listed
        assert all(day <= days[listed[-1]] for day, row in taken if row not in listed)


def test_the_politicians_report_is_fit_to_publish(
    world: tuple[Klagomal, list[tuple[Case, list[Event]]]],
) -> None:
    # R18: a public document: small counts suppressed, no text a person wrote.
    k, _replayed = world
    staff = build_report(k, parse_period("2026-T2"), department="kof")
    public = build_report(k, parse_period("2026-T2"), department="kof", audience="politicians")
    assert staff.highlights  # praise quoted for staff
    assert public.highlights == ()
    assert "atgarder" not in {t.id for t in public.tables}
    cells = [cell for t in public.tables for row in t.rows for cell in row]
    assert all(not (isinstance(c, int) and 0 < c < 3) for c in cells)
    assert "<3" in cells
    assert any("allmän handling" in note for note in public.notes)


def test_a_secret_case_is_never_quoted(tmp_path: Any, clock: FixedClock) -> None:
    class Secret:
        @hookimpl
        def klagomal_default_secrecy(self, intake: Any) -> str | None:
            return "OSL 26 kap. 1 §" if "hemligt" in intake.text else None

    with Klagomal(
        f"sqlite:///{tmp_path / 'k.db'}", clock=clock, plugins=[Secret()], load_entrypoints=False
    ) as k:
        k.init()
        register_case(k, kind="berom", text="Tack till Lisa, hemligt om min mamma.")
        register_case(k, kind="berom", text="Tack för en fin sagostund!", unit="kof-bibliotek")
        report = build_report(k, parse_period("2026-T1"))
        assert report.highlights == ("Tack för en fin sagostund!",)


def test_an_empty_period_still_makes_a_report(world: tuple[Klagomal, list[tuple[Case, list[Event]]]]) -> None:
    k, _replayed = world
    report = build_report(k, parse_period("2030-T1"))
    assert report.empty
    assert report.total == 0
    assert {t.id for t in report.tables} >= {"volym-per-typ", "per-kanal", "tidsfrister"}


def test_a_unit_subtree_is_a_managers_scope(world: tuple[Klagomal, list[tuple[Case, list[Event]]]]) -> None:
    k, replayed = world
    period = parse_period("2026-H1")
    report = build_report(k, period, unit="soc-aldre")
    subtree = set(k.organisation.subtree("soc-aldre"))
    assert report.total == sum(1 for c, _h in replayed if c.unit in subtree and _in(c, period))
    assert report.scope == "Äldreomsorg"


def test_a_bad_scope_or_audience_is_a_clear_error(
    world: tuple[Klagomal, list[tuple[Case, list[Event]]]],
) -> None:
    k, _replayed = world
    period = parse_period("2026-T1")
    with pytest.raises(InvalidInputError, match="okänd förvaltning 'vof'"):
        build_report(k, period, department="vof")
    with pytest.raises(InvalidInputError, match="okänd enhet 'soc-finns-inte'"):
        build_report(k, period, unit="soc-finns-inte")
    with pytest.raises(InvalidInputError, match="okänd mottagare 'press'"):
        build_report(k, period, audience="press")


def test_a_forvaltnings_own_section_is_included(tmp_path: Any, clock: FixedClock) -> None:
    class Ivo:
        @hookimpl
        def klagomal_report_sections(self) -> list[ReportSection]:
            return [
                ReportSection(
                    "soc-ivo",
                    "Allvarliga klagomål inom omsorgen",
                    lambda scope: ReportTable(("Mått", "Antal"), (("Allvarliga", len(scope.cases())),)),
                    department="soc",
                )
            ]

    with Klagomal(
        f"sqlite:///{tmp_path / 'k.db'}", clock=clock, plugins=[Ivo()], load_entrypoints=False
    ) as k:
        k.init()
        register_case(k)
        staff = build_report(k, parse_period("2026-T1"), department="soc")
        assert _table(staff, "soc-ivo").rows == (("Allvarliga", 1),)
        public = build_report(k, parse_period("2026-T1"), department="soc", audience="politicians")
        assert _table(public, "soc-ivo").rows == (("Allvarliga", "<3"),)
        assert "soc-ivo" not in {
            t.id for t in build_report(k, parse_period("2026-T1"), department="kof").tables
        }
        # R27: a chef's report of her unit has the section too, though the
        # section itself counts over the förvaltning she has no access to.
        lena = build_report(k.as_user("lena.holm"), parse_period("2026-T1"), unit="soc-aldre-hemtjanst-norr")
        assert _table(lena, "soc-ivo").rows == (("Allvarliga", 1),)


# -- the command line ---------------------------------------------------------------------------


def test_report_on_the_command_line(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_cli import Cli

    for name in ("KLAGOMAL_DB", "KLAGOMAL_ORG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    cli = Cli()
    cli.ok("init")
    for i in range(4):
        cli.ok(
            [
                "register", "--kind", "klagomal", "--channel", "telefon", "--unit", "kof-badhus",
                "--text", f"Kallt i duschen {i} <b>", "--phone", "070-1", "--dimension", "tillganglighet",
            ],
            today="2026-05-1" + str(i),
        )  # fmt: skip
    text = cli.ok("report --period 2026-T2", today="2026-09-01").out
    assert "* 4 synpunkter kom in under tertial 2 2026 (maj–augusti): 4 klagomål." in text
    assert "tertial 2 2026 (maj–augusti)" in text
    as_json = cli.ok("report --period 2026-H1 --audience politicians --forvaltning kof", json=True).json()
    assert (as_json["total"], as_json["audience"], as_json["scope"]) == (
        4,
        "politicians",
        "Kultur- och fritidsförvaltningen",
    )
    cli.ok("report --period 2026-T2 --format html --out rapport.html", today="2026-09-01")
    html = (tmp_path / "rapport.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 2
    assert "<b>" not in html  # nothing a person wrote is in a report, and nothing renders unescaped
    run = cli.ok("report --period 2026-T2 --format csv --out tabeller", today="2026-09-01")
    assert "CSV" in run.out
    assert (tmp_path / "tabeller" / "volym-per-typ.csv").read_bytes().startswith("\ufeff".encode())
    empty = cli.ok("report --period 2030-T1", today="2026-09-01").out
    assert "Inga synpunkter kom in under perioden." in empty
    assert "okänd period '2026-Q1'" in cli.refused("report --period 2026-Q1").err
    assert "okänd förvaltning 'vof'" in cli.refused("report --period 2026-T2 --forvaltning vof").err
    # Without --period: the last complete tertial (R17); a tertial is not the politicians' (R18).
    assert "tertial 2 2026 (maj–augusti)" in cli.ok("report", today="2026-09-01").out
    assert "tertial" in cli.refused("report --period 2026-T2 --audience politicians").err

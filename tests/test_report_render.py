"""Reports as text, self-contained HTML with inline SVG, CSV and JSON (R16–R18, R31, R32)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import pathlib
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

import attrs
import pytest

from klagomal.reports.model import Chart, Report, Series, Table
from klagomal.reports.periods import parse_period
from klagomal.reports.render import (
    render_csv,
    render_html,
    render_json,
    render_text,
    svg_chart,
    write_report,
)

EVIL = "<script>alert('x')</script> & Co"

KIND = Table(
    id="volym-per-typ",
    title="Volym per typ",
    columns=("Typ", "Antal", "Andel %"),
    rows=(("Klagomål", 40, 70.2), ("Förslag", 12, 21.1), ("Beröm", 5, 8.8)),
)
DEPARTMENT = Table(
    id="volym-per-forvaltning",
    title="Volym per förvaltning",
    columns=("Förvaltning", "Klagomål", "Förslag", "Beröm"),
    rows=(
        ("Socialförvaltningen", 22, 4, "<3"),
        ("Barn- och utbildningsförvaltningen", 14, 6, 3),
        ("Samhällsbyggnadsförvaltningen", 4, "<3", None),
    ),
    note="<3: färre än tre ärenden visas inte (röjandekontroll).",
)
DIMENSION = Table(
    id="klagomal-per-dimension",
    title="Klagomål per kvalitetsdimension",
    columns=("Dimension", "Antal"),
    rows=(("Bemötande", 15), ("Tillgänglighet", 11), ("Information", 9), ("Handläggningstid", 5)),
)
CHANNEL = Table(
    id="per-kanal",
    title="Per kanal",
    columns=("Kanal", "Antal"),
    rows=(("E-tjänst", 30), ("Telefon (020-nummer)", 19), ("Brev", "<3")),
)
VOLUME_CHART = Chart(
    id="volym",
    title="Ärenden per typ, jämfört med året innan",
    kind="bar",
    labels=("Klagomål", "Förslag", "Beröm"),
    series=(Series("T2 2026", (40, 12, 5)), Series("T2 2025", (33, 9, 7))),
    unit="ärenden",
)
TREND_CHART = Chart(
    id="i-tid",
    title="Andel besked och svar i tid",
    kind="line",
    labels=("T2 2025", "T3 2025", "T1 2026", "T2 2026"),
    series=(
        Series("Besked inom 5 dagar", (78.0, 81.5, 88.0, 92.0)),
        Series("Svar i tid", (64.0, 70, 75.5, 80)),
    ),
    unit="%",
)


def make_report(**changes: Any) -> Report:
    report = Report(
        title="Synpunkter – rapport till personalen",
        kommun="Exempelkommun",
        audience="staff",
        period=parse_period("2026-T2"),
        scope="hela kommunen",
        generated=dt.date(2026, 9, 3),
        total=57,
        tables=(KIND, DEPARTMENT, DIMENSION, CHANNEL),
        charts=(VOLUME_CHART, TREND_CHART),
        highlights=("Personalen på Solgläntan var fantastisk mot min mamma.",),
        notes=("Avsnittet Allvarliga missförhållanden kunde inte byggas: databasen svarade inte.",),
        logo_text="EXEMPELKOMMUN",
    )
    return attrs.evolve(report, **changes)


EMPTY = make_report(
    total=0,
    tables=(attrs.evolve(KIND, rows=()),),
    charts=(attrs.evolve(VOLUME_CHART, labels=(), series=(Series("T2 2026", ()),)),),
    highlights=(),
    notes=(),
)

EVIL_REPORT = make_report(
    tables=(attrs.evolve(DEPARTMENT, rows=((EVIL, 3, 4, 5),), note=EVIL),),
    charts=(
        attrs.evolve(VOLUME_CHART, labels=(EVIL, "Beröm"), series=(Series(EVIL, (2, 1)),), title=EVIL),
        attrs.evolve(TREND_CHART, labels=(EVIL, "b"), series=(Series(EVIL, (50, 60)),)),
    ),
    highlights=(EVIL,),
    notes=(EVIL,),
    scope=EVIL,
)


# -- text ------------------------------------------------------------------


def test_text_heading_total_and_aligned_tables() -> None:
    text = render_text(make_report())
    lines = text.splitlines()
    assert lines[:5] == [
        "Synpunkter – rapport till personalen",
        "=" * len("Synpunkter – rapport till personalen"),
        "Exempelkommun · hela kommunen",
        "tertial 2 2026 (maj–augusti)",
        "Till personalen, skapad 3 september 2026",
    ]
    assert "Totalt 57 ärenden" in lines
    assert "Inga synpunkter" not in text
    start = lines.index("Volym per typ")
    assert lines[start + 2 : start + 7] == [
        "Typ       Antal  Andel %",
        "--------  -----  -------",
        "Klagomål     40     70,2",
        "Förslag      12     21,1",
        "Beröm         5      8,8",
    ]
    # The suppressed count is right-aligned with the numbers; None is an empty cell.
    assert "Socialförvaltningen                       22        4     <3" in lines
    assert lines[lines.index("Samhällsbyggnadsförvaltningen              4       <3") + 1].startswith(
        "<3: färre än tre"
    )
    assert "  > Personalen på Solgläntan var fantastisk mot min mamma." in lines
    assert lines[-1] == "* Avsnittet Allvarliga missförhållanden kunde inte byggas: databasen svarade inte."


def test_text_one_case_is_singular() -> None:
    assert "Totalt 1 ärende" in render_text(make_report(total=1)).splitlines()


def test_text_of_an_empty_report_keeps_the_structure() -> None:
    text = render_text(EMPTY)
    assert "Inga synpunkter kom in under perioden." in text
    assert "Totalt" not in text
    lines = text.splitlines()
    start = lines.index("Volym per typ")
    assert lines[start + 2 : start + 5] == ["Typ  Antal  Andel %", "---  -----  -------", "(inga rader)"]


def test_a_row_of_the_wrong_length_is_refused() -> None:
    report = make_report(tables=(attrs.evolve(KIND, rows=(("Klagomål", 40),)),))
    with pytest.raises(ValueError, match="volym-per-typ har en rad med 2 celler men 3 kolumner"):
        render_text(report)


# -- HTML ------------------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "input", "link"}


class _Balance(HTMLParser):
    """Checks that every tag is closed in order; collects tag names and attribute values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attr_values: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attr_values.extend(v for _, v in attrs if v is not None)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attr_values.extend(v for _, v in attrs if v is not None)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> _Balance:
    parser = _Balance()
    parser.feed(html)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    return parser


def svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(fragment) for fragment in re.findall(r"<svg\b.*?</svg>", html, re.S)]


def test_html_is_one_balanced_self_contained_swedish_document() -> None:
    html = render_html(make_report())
    parsed = parse(html)
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="sv">' in html
    assert "@media print" in html
    assert "size: A4" in html
    assert "break-inside: avoid" in html
    assert "<script" not in html.lower()
    assert "http" not in html  # no external resource, not even the SVG namespace
    for tag in ("link", "img", "iframe", "object", "script"):
        assert tag not in parsed.tags
    text = " ".join(parsed.text)
    for expected in (
        "EXEMPELKOMMUN",
        "Exempelkommun",
        "hela kommunen",
        "tertial 2 2026 (maj–augusti)",
        "Totalt 57 ärenden",
        "3 september 2026",
        "Personalen på Solgläntan var fantastisk mot min mamma.",
        "Avsnittet Allvarliga missförhållanden kunde inte byggas",
    ):
        assert expected in text


def test_html_tables_are_real_tables_with_captions() -> None:
    html = render_html(make_report())
    parsed = parse(html)
    assert parsed.tags.count("table") == 4
    assert parsed.tags.count("caption") == 4
    assert "<caption>Volym per förvaltning</caption>" in html
    assert '<th scope="col" class="num">Klagomål</th>' in html
    assert (
        '<td>Socialförvaltningen</td><td class="num">22</td><td class="num">4</td><td class="num">&lt;3</td>'
        in html
    )
    assert '<td class="num">70,2</td>' in html
    assert '<td class="num"></td></tr>' in html  # None
    assert "&lt;3: färre än tre ärenden visas inte" in html


def test_html_draws_each_chart_as_inline_svg() -> None:
    html = render_html(make_report())
    charts = svgs(html)
    assert len(charts) == html.count("<svg") == 2
    bar, line = charts
    for svg, title in ((bar, VOLUME_CHART.title), (line, TREND_CHART.title)):
        assert svg.get("role") == "img"
        assert svg.get("aria-label") == title
        assert svg.findtext("title") == title
        assert svg.get("viewBox")
    bars = bar.findall(".//rect[@class='bar']")
    assert len(bars) == 6  # 3 labels x 2 series
    assert [(b.get("data-series"), b.get("data-label"), b.get("data-value")) for b in bars[:2]] == [
        ("T2 2026", "Klagomål", "40"),
        ("T2 2025", "Klagomål", "33"),
    ]
    # The longest bar is the biggest value; the bars of one series share a colour.
    widths = {b.get("data-value"): float(b.get("width", "0")) for b in bars}
    assert widths["40"] == max(widths.values())
    assert widths["5"] < widths["7"] < widths["9"] < widths["12"] < widths["33"]
    assert len({b.get("fill") for b in bars[0::2]}) == 1
    assert bars[0].get("fill") != bars[1].get("fill")
    texts = ["".join(t.itertext()) for t in bar.iter("text")]
    assert "ärenden" in texts  # the axis' unit
    assert {"Klagomål", "Förslag", "Beröm", "T2 2026", "T2 2025", "40", "0"} <= set(texts)

    assert len(line.findall(".//polyline[@class='line']")) == 2
    points = line.findall(".//circle[@class='point']")
    assert len(points) == 8
    assert points[1].get("data-value") == "81.5"
    texts = ["".join(t.itertext()) for t in line.iter("text")]
    # The unit is on every tick, so no title stands on the top one.
    assert {"81,5 %", "T3 2025", "100 %", "60 %"} <= set(texts)
    assert "%" not in texts
    # Higher values are drawn higher up.
    ys = [float(p.get("cy", "0")) for p in points[:4]]
    assert ys == sorted(ys, reverse=True)


def test_a_missing_value_breaks_the_line() -> None:
    chart = attrs.evolve(TREND_CHART, series=(Series("Besked", (78.0, float("nan"), 88.0, 92.0)),))
    svg = ET.fromstring(str(svg_chart(chart)))
    assert len(svg.findall(".//circle")) == 3
    assert [len(p.get("points", "").split()) for p in svg.findall(".//polyline")] == [2]


def test_a_count_not_shown_is_drawn_as_no_bar_with_its_mark() -> None:
    # Disclosure control: "<3" and ".." are never drawn at their true height.
    chart = attrs.evolve(VOLUME_CHART, series=(Series("T2 2026", (40, "..", "<3")),))
    svg = ET.fromstring(str(svg_chart(chart)))
    bars = {b.get("data-label"): b for b in svg.findall(".//rect[@class='bar']")}
    assert [(bars[k].get("data-value"), float(bars[k].get("width", "-1"))) for k in ("Förslag", "Beröm")] == [
        ("", 0.0),
        ("", 0.0),
    ]
    assert float(bars["Klagomål"].get("width", "0")) > 0
    texts = ["".join(t.itertext()) for t in svg.iter("text")]
    assert {"40", "..", "<3"} <= set(texts)
    assert svg.findtext("desc") == "T2 2026: Klagomål 40, Förslag .., Beröm <3"
    # The axis is scaled to what is drawn, not to a count not shown.
    assert max(float(t) for t in texts if t.isdigit()) == 40


def test_a_share_not_shown_breaks_the_line_and_keeps_its_mark() -> None:
    chart = attrs.evolve(TREND_CHART, series=(Series("Besked", (78.0, "..", 88.0, 92.0)),))
    svg = ET.fromstring(str(svg_chart(chart)))
    assert [c.get("data-label") for c in svg.findall(".//circle")] == ["T2 2025", "T1 2026", "T2 2026"]
    assert [len(p.get("points", "").split()) for p in svg.findall(".//polyline")] == [2]
    assert "T3 2025 .." in (svg.findtext("desc") or "")
    report = make_report(charts=(chart,))
    assert render_json(report)["charts"][0]["series"][0]["values"] == [78.0, "..", 88.0, 92.0]


@pytest.mark.parametrize(
    ("total", "line"),
    [
        (57, "Totalt 57 ärenden"),
        ("<3", "Färre än 3 ärenden"),
        ("..", "Antalet ärenden visas inte (.., röjandekontroll)"),
    ],
)
def test_the_total_as_published(total: int | str, line: str) -> None:
    report = make_report(total=total)
    assert line in render_text(report).splitlines()
    assert f'<p class="summering">{line}</p>' in render_html(report)
    assert render_json(report)["total"] == total


def test_marks_are_aligned_as_numbers() -> None:
    table = Table(
        "t", "Tabell", ("Förvaltning", "Antal"), (("Socialförvaltningen", 12), ("Kof", ".."), ("Sbf", "<3"))
    )
    lines = render_text(make_report(tables=(table,))).splitlines()
    start = lines.index("Tabell") + 2
    assert lines[start + 2 : start + 5] == [
        "Socialförvaltningen     12",
        "Kof                     ..",
        "Sbf                     <3",
    ]
    assert '<td class="num">..</td>' in render_html(make_report(tables=(table,)))


def test_a_chart_with_a_series_of_the_wrong_length_is_refused() -> None:
    chart = attrs.evolve(VOLUME_CHART, series=(Series("T2 2026", (40, 12)),))
    with pytest.raises(ValueError, match="2 värden för 3 etiketter"):
        svg_chart(chart)
    with pytest.raises(ValueError, match="okänd sort 'pie'"):
        svg_chart(attrs.evolve(VOLUME_CHART, kind="pie"))


def test_html_escapes_everything_from_data() -> None:
    html = render_html(EVIL_REPORT)
    parsed = parse(html)
    assert "<script" not in html.lower()
    assert "script" not in parsed.tags
    assert "&lt;script&gt;" in html
    assert "&amp; Co" in html
    assert " & Co" not in html
    # Escaped text reads back as what was written, in cells, captions, notes and quotes...
    assert " ".join(parsed.text).count(EVIL) >= 5
    # ... and in the SVG's attributes and texts, which are well-formed XML.
    for svg in svgs(html):
        assert EVIL in [e.get("data-series") for e in svg.iter() if e.get("data-series")]
        assert any(EVIL in "".join(t.itertext()) for t in svg.iter("text"))
    assert EVIL in parsed.attr_values


def test_html_of_an_empty_report() -> None:
    html = render_html(EMPTY)
    parse(html)
    assert "Inga synpunkter kom in under perioden." in html
    assert "Totalt" not in html
    assert "<caption>Volym per typ</caption>" in html
    assert "Inga rader" in html
    (svg,) = svgs(html)
    assert svg.findall(".//rect[@class='bar']") == []
    assert "Inga värden" in ["".join(t.itertext()) for t in svg.iter("text")]


# -- CSV and JSON ----------------------------------------------------------


def test_csv_a_file_per_table_for_swedish_excel() -> None:
    files = render_csv(make_report())
    assert sorted(files) == sorted(f"{t.id}.csv" for t in make_report().tables)
    text = files["volym-per-forvaltning.csv"]
    assert text.startswith("\ufeff")
    assert text.splitlines()[:2] == [
        "\ufeffFörvaltning;Klagomål;Förslag;Beröm",
        "Socialförvaltningen;22;4;<3",
    ]
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert rows == [
        ["Förvaltning", "Klagomål", "Förslag", "Beröm"],
        ["Socialförvaltningen", "22", "4", "<3"],
        ["Barn- och utbildningsförvaltningen", "14", "6", "3"],
        ["Samhällsbyggnadsförvaltningen", "4", "<3", ""],
    ]
    assert "Klagomål;40;70,2" in files["volym-per-typ.csv"]


def test_csv_quotes_and_defuses_formulas() -> None:
    table = Table("t", "T", ("Enhet", "Antal"), (('=HYPERLINK("x")', 1), ("a;b", 2), (EVIL, -3)))
    rows = list(csv.reader(io.StringIO(render_csv(make_report(tables=(table,)))["t.csv"][1:]), delimiter=";"))
    assert rows[1:] == [['\'=HYPERLINK("x")', "1"], ["a;b", "2"], [EVIL, "-3"]]


def test_csv_refuses_ids_that_are_no_file_names() -> None:
    for bad in ("../ut", "a/b", ""):
        with pytest.raises(ValueError, match="duger inte som filnamn"):
            render_csv(make_report(tables=(attrs.evolve(KIND, id=bad),)))
    with pytest.raises(ValueError, match="samma id"):
        render_csv(make_report(tables=(KIND, KIND)))


def test_json_is_ready_for_json_dumps() -> None:
    data = render_json(make_report())
    back = json.loads(json.dumps(data, ensure_ascii=False, allow_nan=False))
    assert back == data
    assert data["period"] == {
        "id": "2026-T2",
        "start": "2026-05-01",
        "end": "2026-08-31",
        "label": "tertial 2 2026 (maj–augusti)",
    }
    assert (data["kommun"], data["scope"], data["audience"], data["total"]) == (
        "Exempelkommun",
        "hela kommunen",
        "staff",
        57,
    )
    assert data["generated"] == "2026-09-03"
    assert data["tables"][1] == {
        "id": "volym-per-forvaltning",
        "title": "Volym per förvaltning",
        "columns": ["Förvaltning", "Klagomål", "Förslag", "Beröm"],
        "rows": [
            ["Socialförvaltningen", 22, 4, "<3"],
            ["Barn- och utbildningsförvaltningen", 14, 6, 3],
            ["Samhällsbyggnadsförvaltningen", 4, "<3", None],
        ],
        "note": DEPARTMENT.note,
    }
    assert data["charts"][1] == {
        "id": "i-tid",
        "title": "Andel besked och svar i tid",
        "kind": "line",
        "labels": ["T2 2025", "T3 2025", "T1 2026", "T2 2026"],
        "series": [
            {"name": "Besked inom 5 dagar", "values": [78.0, 81.5, 88.0, 92.0]},
            {"name": "Svar i tid", "values": [64.0, 70, 75.5, 80]},
        ],
        "unit": "%",
    }
    assert data["highlights"] == list(make_report().highlights)
    assert data["notes"] == list(make_report().notes)
    assert data["title"] == "Synpunkter – rapport till personalen"


def test_json_has_no_nan() -> None:
    chart = attrs.evolve(TREND_CHART, series=(Series("Besked", (78.0, float("nan"), 88.0, 92.0)),))
    data = render_json(make_report(charts=(chart,)))
    json.dumps(data, allow_nan=False)
    assert data["charts"][0]["series"][0]["values"] == [78.0, None, 88.0, 92.0]


# -- files -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "html", "json"])
def test_write_report_to_a_file_or_return_it(tmp_path: pathlib.Path, fmt: str) -> None:
    report = make_report()
    returned = write_report(report, fmt, None)
    assert isinstance(returned, str)
    out = tmp_path / "ut" / f"rapport.{fmt}"
    assert write_report(report, fmt, out) is None
    assert out.read_text(encoding="utf-8") == returned
    if fmt == "json":
        assert json.loads(returned) == render_json(report)
    elif fmt == "html":
        assert returned == render_html(report)
    else:
        assert returned == render_text(report)


def test_write_report_csv_into_a_folder(tmp_path: pathlib.Path) -> None:
    folder = tmp_path / "csv" / "t2"
    summary = write_report(make_report(), "csv", str(folder))
    assert summary is not None
    assert summary.startswith("Skrev 4 CSV-filer i ")
    assert "volym-per-typ.csv" in summary
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(render_csv(make_report()))
    raw = (folder / "volym-per-typ.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfTyp;Antal;Andel %\r\n")
    assert raw.count(b"\xef\xbb\xbf") == 1


def test_write_report_refuses_unknown_formats_and_csv_without_a_folder() -> None:
    with pytest.raises(ValueError, match="okänt format 'pdf'; välj text, html, csv, json"):
        write_report(make_report(), "pdf", None)
    with pytest.raises(ValueError, match="ange en mapp"):
        write_report(make_report(), "csv", None)


# -- the first page, the letterhead, print ----------------------------------------


MESSAGES = (
    "57 synpunkter kom in under tertial 2 2026 (maj–augusti): 40 klagomål, 12 förslag och 5 beröm.",
    "Flest klagomål gällde bemötande (15 klagomål).",
)


def test_the_key_messages_open_the_report_in_every_format() -> None:
    report = make_report(messages=MESSAGES)
    lines = render_text(report).splitlines()
    assert lines[6:10] == ["Det viktigaste i korthet", "-" * 24, f"* {MESSAGES[0]}", f"* {MESSAGES[1]}"]
    assert "Totalt 57 ärenden" not in lines  # the first message says it
    html = render_html(report)
    section = html[html.index('<section class="viktigast"') : html.index("</section>")]
    assert [f"<li>{m}</li>" in section for m in MESSAGES] == [True, True]
    assert html.index('class="viktigast"') < html.index("<svg") < html.index("<table")
    assert 'class="summering"' not in html
    assert render_json(report)["messages"] == list(MESSAGES)
    # In print they have the first page to themselves.
    assert re.search(r"section\.viktigast \{ break-after: page;", html)


@pytest.mark.parametrize(
    ("logo_text", "kommun", "shown"),
    [
        ("EXEMPELKOMMUN", "Exempelkommun", ["EXEMPELKOMMUN"]),
        (None, "Exempelkommun", ["Exempelkommun"]),
        ("EK", "Exempelkommun", ["EK", "Exempelkommun"]),
    ],
)
def test_the_letterhead_names_the_kommun_once(logo_text: str | None, kommun: str, shown: list[str]) -> None:
    html = render_html(make_report(logo_text=logo_text, kommun=kommun))
    header = html[html.index('<header class="brevhuvud">') : html.index("</header>")]
    assert re.findall(r"<span class=\"[a-z]+\">([^<]*)</span>", header) == shown
    assert "flex-wrap: wrap" in html  # on a phone the two wrap rather than touch


def test_every_printed_page_has_the_period_and_its_number() -> None:
    html = render_html(make_report())
    page = html[html.index("@page {") : html.index("@media print")]
    assert "@top-right" in page
    assert '"Sida" " " counter(page) " " "av" " " counter(pages)' in page
    assert '"tertial 2 2026 \\000028 maj\\002013 augusti\\000029 "' in page


def test_data_cannot_leave_the_style_sheet() -> None:
    title = 'Rapport"; } body { display: none } x { content: "'
    html = render_html(make_report(kommun=EVIL, title=title))
    style = html[html.index("<style>") : html.index("</style>")]
    assert "<script" not in style
    assert 'Rapport"' not in style
    # Every character but letters, digits and spaces is a CSS escape.
    assert "Rapport\\000022 \\00003b  \\00007d  body \\00007b  display\\00003a  none" in style
    assert "\\00003c script\\00003e " in style
    assert "script" not in parse(html).tags


def test_dates_and_references_stay_on_one_line() -> None:
    table = Table(
        "atgarder", "Åtgärder", ("Datum", "Ärende", "Åtgärd"), (("5 maj 2026", "2026-00001", "x" * 40),)
    )
    html = render_html(make_report(tables=(table,)))
    assert '<td class="kort">5 maj 2026</td><td class="kort">2026-00001</td><td>' in html

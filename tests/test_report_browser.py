"""The HTML report as a real browser shows and prints it (Debian's chromium,
and pdftotext from poppler-utils): page numbers and the period on every
printed page, the key messages alone on the first, a phone-width page that
needs no sideways scrolling, a header that reads as words, and chart labels
that do not overlap with the fonts the browser really uses.

Without chromium these tests skip, saying so; in CI (``CI=true``) they fail
instead, since there they must run (``.ci/run`` installs chromium).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import shutil
import subprocess
from typing import Any

import attrs
import pytest

from klagomal.reports.model import Chart, Report, Series, Table
from klagomal.reports.periods import parse_period
from klagomal.reports.render import render_html

MONTHS = ("jan", "feb", "mar", "apr", "maj", "jun")


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        how = "apt-get install -y chromium poppler-utils"
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing; the browser tests must run in CI ({how}; .ci/run does)")
        pytest.skip(f"{name} is not installed; {how}")
    return found


@pytest.fixture(scope="module")
def chromium() -> str:
    return _tool("chromium")


@pytest.fixture(scope="module")
def pdftotext() -> str:
    return _tool("pdftotext")


def _run_chromium(chromium: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def report(**changes: Any) -> Report:
    """A politicians' report as build_report makes one: key messages,
    tables long enough for several pages, and both kinds of chart."""
    period = parse_period("2026-H1")
    places = tuple((f"Förvaltning {chr(65 + i)} med ett långt namn", 120 - 7 * i) for i in range(14))
    tables = (
        *tuple(
            Table(
                f"tabell-{n}",
                f"Tabell {n}",
                ("Förvaltning", "Antal"),
                places,
                "En anmärkning under tabellen.",
            )
            for n in range(1, 5)
        ),
        Table(
            "atgarder",
            "Åtgärder som vidtogs under perioden",
            ("Datum", "Enhet", "Ärende", "Åtgärd"),
            tuple(
                (
                    "28 augusti 2026",
                    "Miljö- och hälsoskyddsenheten",
                    f"2026-{n:05d}",
                    "Rutinen ses över. " * 4,
                )
                for n in range(8)
            ),
        ),
    )
    charts = (
        Chart(
            "typ",
            "Synpunkter per typ",
            "bar",
            ("Klagomål", "Förslag", "Beröm"),
            (Series(period.label, (186.0, 54.0, 56.0)),),
            "ärenden",
        ),
        Chart(
            "tidsfrister-trend",
            "Tidsfrister månad för månad",
            "line",
            tuple(f"{m} 2026" for m in MONTHS),
            (
                Series("Besked i tid", (100.0, 93.9, 96.2, 100.0, 98.5, 91.0)),
                Series("Svar senast utlovat datum", (93.9, 100.0, 96.0, 100.0, 97.1, 94.4)),
            ),
            "%",
        ),
        Chart(  # a year, month by month, three series close together
            "ar",
            "Ett år",
            "line",
            tuple(f"{m} 2026" for m in (*MONTHS, "jul", "aug", "sep", "okt", "nov", "dec")),
            tuple(
                Series(name, tuple(90.0 + ((i * 7 + n * 3) % 10) + 0.1 * n for i in range(12)))
                for n, name in enumerate(("Besked i tid", "Svar i tid", "Förseningsbesked i tid"))
            ),
            "%",
        ),
        Chart(
            "dimension",
            "Synpunkter per kvalitetsdimension",
            "bar",
            ("Bemötande och personkontakt", "Tillgång och tillgänglighet", "Kompetens", "Inflytande"),
            tuple(
                Series(kind, tuple(float(v) for v in values))
                for kind, values in (
                    ("Klagomål", (1153, 998, 1164, 61)),
                    ("Förslag", (41, 39, 33, 22)),
                    ("Beröm", (33, 0, 31, 21)),
                )
            ),
            "ärenden",
        ),
    )
    made = Report(
        title="Synpunkter: rapport till de förtroendevalda",
        kommun="Exempelkommun",
        audience="politicians",
        period=period,
        scope="hela kommunen",
        generated=dt.date(2026, 12, 5),
        total=296,
        tables=tables,
        charts=charts,
        messages=(
            "296 synpunkter kom in under halvår 1 2026 (januari–juni): "
            "186 klagomål, 54 förslag och 56 beröm.",
            "Flest klagomål gällde kompetens (64 klagomål, varav flest inom Socialförvaltningen).",
        ),
        notes=("Rapporten är en allmän handling.",),
        logo_text="EXEMPELKOMMUN",
    )
    return attrs.evolve(made, **changes)


def test_every_printed_page_has_its_number_and_the_period(
    chromium: str, pdftotext: str, tmp_path: pathlib.Path
) -> None:
    made = report()
    html = tmp_path / "rapport.html"
    html.write_text(render_html(made), encoding="utf-8")
    pdf = tmp_path / "rapport.pdf"
    _run_chromium(chromium, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.as_uri())
    text = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = text.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        flat = " ".join(page.split())
        assert f"Sida {number} av {len(pages)}" in flat, (number, flat[:300])
        assert made.period.label in flat, number
        assert "Exempelkommun · Synpunkter: rapport till de förtroendevalda" in flat, number
    # The key messages have the first page to themselves.
    first = " ".join(pages[0].split())
    assert "Det viktigaste i korthet" in first
    assert "Flest klagomål gällde kompetens" in first
    assert "Tabell 1" not in first
    assert "Synpunkter per typ" not in first


_MEASURE = """
<script>
(function () {
  function box(e) { var r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }
  var texts = [];
  document.querySelectorAll("svg").forEach(function (svg, n) {
    svg.querySelectorAll("text").forEach(function (t) { texts.push([n, t.textContent, box(t)]); });
  });
  var header = Array.from(document.querySelectorAll("header.brevhuvud > *")).map(function (e) {
    return [e.textContent, box(e)];
  });
  var result = {
    viewport: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    svgs: Array.from(document.querySelectorAll("svg")).map(box),
    header: header,
    headerText: document.querySelector("header.brevhuvud").innerText,
    texts: texts
  };
  var pre = document.createElement("pre");
  pre.id = "matt";
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
})();
</script>
"""


def _measure(chromium: str, tmp_path: pathlib.Path, made: Report, width: int) -> dict[str, Any]:
    html = render_html(made).replace("</body>", _MEASURE + "</body>")
    page = tmp_path / f"matt-{width}.html"
    page.write_text(html, encoding="utf-8")
    dom = _run_chromium(chromium, f"--window-size={width},900", "--dump-dom", page.as_uri()).stdout
    start = dom.index('<pre id="matt">') + len('<pre id="matt">')
    raw = dom[start : dom.index("</pre>", start)]
    return json.loads(raw.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def _meet(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("width", [360, 1280])
def test_the_page_fits_a_phone_and_its_labels_do_not_overlap(
    chromium: str, tmp_path: pathlib.Path, width: int
) -> None:
    made = report(logo_text="EK", kommun="Exempelkommun")
    found = _measure(chromium, tmp_path, made, width)
    assert found["scrollWidth"] <= found["viewport"]
    for left, _top, right, _bottom in found["svgs"]:
        assert left >= 0
        assert right <= found["viewport"]
    # The letterhead's parts stand apart, and read as two words.
    (_logo, logo_box), (_name, name_box) = found["header"]
    assert not _meet(logo_box, name_box)
    assert logo_box[2] < name_box[0] or logo_box[3] <= name_box[1]
    assert "EKExempelkommun" not in found["headerText"]
    # Every chart's texts, as the browser draws them, stand apart.
    for (n, a, box_a), (m, b, box_b) in (
        (x, y) for i, x in enumerate(found["texts"]) for y in found["texts"][i + 1 :]
    ):
        if n == m:
            assert not _meet(box_a, box_b), (a, box_a, b, box_b)


def test_a_logo_text_that_is_the_kommuns_name_is_not_written_twice(
    chromium: str, tmp_path: pathlib.Path
) -> None:
    found = _measure(chromium, tmp_path, report(), 360)
    assert [text for text, _box in found["header"]] == ["EXEMPELKOMMUN"]

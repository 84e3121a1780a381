"""A :class:`~klagomal.reports.model.Report` as text, HTML, CSV or JSON.

* :func:`render_text`: for the terminal; tables aligned, numbers to the right.
* :func:`render_html`: one self-contained HTML file (template
  ``reports/templates/report.html``): inline CSS, also for printing on A4,
  and every chart as inline SVG drawn here, so the file needs no script, no
  font and nothing from the network and can be mailed or archived as it is.
  Everything that comes from data is escaped.
* :func:`render_csv`: a file per table, for Excel as Swedish offices use it:
  ``;`` between the cells, a decimal comma, UTF-8 with a byte order mark
  (without the mark Excel reads the file as Windows-1252 and garbles å, ä
  and ö) and CRLF line ends.  A text cell that starts with ``=``, ``+``,
  ``-`` or ``@`` gets a leading ``'`` so that Excel never runs it as a
  formula.
* :func:`render_json`: plain JSON values, dates as ISO 8601.

:func:`write_report` writes any of them to a file (for CSV, a folder).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import pathlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

import jinja2
from markupsafe import Markup

from klagomal.core.formats import swedish_date
from klagomal.core.i18n import _, ngettext
from klagomal.reports.charts import PALETTE, number_shown, svg_chart
from klagomal.reports.model import Report, Table, is_mark

__all__ = [
    "FORMATS",
    "PALETTE",
    "TEMPLATES",
    "render_csv",
    "render_html",
    "render_json",
    "render_text",
    "svg_chart",
    "write_report",
]

#: The formats :func:`write_report` writes.
FORMATS = ("text", "html", "csv", "json")

#: The report's HTML template.
TEMPLATES = pathlib.Path(__file__).parent / "templates"

Cell = str | int | float | None

_CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_TABLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _empty_sentence() -> str:
    return _("Inga synpunkter kom in under perioden.")


def _total(report: Report) -> str:
    total = report.total
    if isinstance(total, str):  # not shown in the politicians' report (disclosure control)
        if total.startswith("<"):
            return _("Färre än {n} ärenden").format(n=total[1:])
        return _("Antalet ärenden visas inte ({mark}, röjandekontroll)").format(mark=total)
    return ngettext("Totalt {n} ärende", "Totalt {n} ärenden", total).format(n=total)


def _key_heading() -> str:
    return _("Det viktigaste i korthet")


def _css_string(text: str) -> Markup:
    """*text* as a quoted CSS string for the style sheet: every character
    but letters, digits and spaces escaped (``\\00003c``), so that nothing
    from data ends the string or the ``<style>`` element."""
    return Markup('"{}"').format(
        Markup("".join(c if c.isalnum() or c == " " else f"\\{ord(c):06x} " for c in text))
    )


def _audience(report: Report) -> str:
    labels = {"staff": _("personalen"), "politicians": _("de förtroendevalda")}
    return labels.get(report.audience, report.audience)


def _addressed(report: Report) -> str:
    return _("Till {audience}, skapad {day}").format(
        audience=_audience(report), day=swedish_date(report.generated)
    )


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("ja") if value else _("nej")
    if isinstance(value, int | float):
        return number_shown(value)
    return str(value)


def _is_number(value: Cell) -> bool:
    """Whether a cell is a count or a measure (also one not shown, ``<3`` or
    ``..``): right-aligned."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return True
    return is_mark(value)


def _check_table(table: Table) -> None:
    for row in table.rows:
        if len(row) != len(table.columns):
            raise ValueError(
                _("tabellen {id} har en rad med {cells} celler men {columns} kolumner: {row!r}").format(
                    id=table.id, cells=len(row), columns=len(table.columns), row=row
                )
            )


def _numeric_columns(table: Table) -> list[bool]:
    """Per column: whether every filled cell is a number."""
    return [
        any(row[i] is not None for row in table.rows)
        and all(row[i] is None or _is_number(row[i]) for row in table.rows)
        for i in range(len(table.columns))
    ]


def _short_columns(table: Table) -> list[bool]:
    """Per column: whether every cell is short (a date, a reference), so
    that the HTML keeps it on one line."""
    return [all(len(_cell(row[i])) <= 18 for row in table.rows) for i in range(len(table.columns))]


# -- text ------------------------------------------------------------------


def _text_table(table: Table) -> str:
    _check_table(table)
    numeric = _numeric_columns(table)
    cells = [list(table.columns), *([_cell(c) for c in row] for row in table.rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(table.columns))]
    lines = []
    for index, row in enumerate(cells):
        parts = [
            c.rjust(w) if numeric[i] and index > 0 else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    if not table.rows:
        lines.append(_("(inga rader)"))
    return "\n".join(lines)


def _underlined(text: str, char: str) -> list[str]:
    return [text, char * len(text)]


def render_text(report: Report) -> str:
    """*report* as plain text for the terminal."""
    lines = _underlined(report.title, "=")
    lines.append(f"{report.kommun} · {report.scope}")
    lines.append(report.period.label)
    lines.append(_addressed(report))
    lines.append("")
    if report.messages:
        lines.extend(_underlined(_key_heading(), "-"))
        lines.extend(f"* {message}" for message in report.messages)
    else:
        lines.append(_empty_sentence() if report.empty else _total(report))
    for table in report.tables:
        lines.append("")
        lines.extend(_underlined(table.title, "-"))
        lines.append(_text_table(table))
        if table.note:
            lines.append(table.note)
    if report.highlights:
        lines.append("")
        lines.extend(_underlined(_("Citat ur beröm"), "-"))
        for highlight in report.highlights:
            quoted = "\n".join(f"  > {line}".rstrip() for line in highlight.strip().splitlines())
            lines.append(quoted)
            lines.append("")
        lines.pop()
    if report.notes:
        lines.append("")
        lines.extend(_underlined(_("Anmärkningar"), "-"))
        lines.extend(f"* {note}" for note in report.notes)
    return "\n".join(lines) + "\n"


# -- HTML ------------------------------------------------------------------


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["datum"] = swedish_date
    env.filters["cell"] = _cell
    env.filters["css_string"] = _css_string
    return env


def render_html(report: Report) -> str:
    """*report* as one self-contained HTML file."""
    tables = []
    for table in report.tables:
        _check_table(table)
        tables.append({"table": table, "numeric": _numeric_columns(table), "short": _short_columns(table)})
    charts = [{"chart": chart, "svg": svg_chart(chart)} for chart in report.charts]
    return (
        _environment()
        .get_template("report.html")
        .render(
            report=report,
            tables=tables,
            charts=charts,
            addressed=_addressed(report),
            summary=_empty_sentence() if report.empty else _total(report),
            key_heading=_key_heading(),
            show_kommun=bool(report.logo_text)
            and (report.logo_text or "").casefold() != report.kommun.casefold(),
            running_head=f"{report.kommun} · {report.title}",
            page_of=(_("Sida"), _("av")),
        )
    )


# -- CSV and JSON ----------------------------------------------------------


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _cell(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.15g}".replace(".", ",") if math.isfinite(value) else ""
    text = str(value)
    return "'" + text if text.startswith(_CSV_FORMULA) else text


def _check_ids(tables: Iterable[Table]) -> None:
    seen: set[str] = set()
    for table in tables:
        if not _TABLE_ID.fullmatch(table.id):
            raise ValueError(
                _("tabellens id '{id}' duger inte som filnamn; använd bokstäver a–z, siffror och -").format(
                    id=table.id
                )
            )
        if table.id in seen:
            raise ValueError(_("två tabeller har samma id '{id}'").format(id=table.id))
        seen.add(table.id)


def render_csv(report: Report) -> dict[str, str]:
    """A CSV text per table of *report*, by file name (``<table.id>.csv``):
    ``;``-separated, decimal comma, a byte order mark first (see the
    module's docstring); the first row holds the columns."""
    _check_ids(report.tables)
    files = {}
    for table in report.tables:
        _check_table(table)
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow([_csv_cell(c) for c in table.columns])
        writer.writerows([_csv_cell(c) for c in row] for row in table.rows)
        files[f"{table.id}.csv"] = "\ufeff" + buffer.getvalue()
    return files


def _json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _json_value(value: float | str) -> float | str | None:
    """A chart's value: the number (``null`` when missing), or the mark of a count not shown."""
    return value if isinstance(value, str) else _json_number(value)


def render_json(report: Report) -> dict[str, Any]:
    """*report* as plain JSON values (``json.dumps`` takes it as it is)."""
    return {
        "title": report.title,
        "kommun": report.kommun,
        "logo_text": report.logo_text,
        "audience": report.audience,
        "scope": report.scope,
        "generated": report.generated.isoformat(),
        "period": {
            "id": report.period.id,
            "start": report.period.start.isoformat(),
            "end": report.period.end.isoformat(),
            "label": report.period.label,
        },
        "total": report.total,
        "tables": [
            {
                "id": t.id,
                "title": t.title,
                "columns": list(t.columns),
                "rows": [[_json_number(c) if isinstance(c, float) else c for c in row] for row in t.rows],
                "note": t.note,
            }
            for t in report.tables
        ],
        "charts": [
            {
                "id": c.id,
                "title": c.title,
                "kind": c.kind,
                "labels": list(c.labels),
                "series": [{"name": s.name, "values": [_json_value(v) for v in s.values]} for s in c.series],
                "unit": c.unit,
            }
            for c in report.charts
        ],
        "messages": list(report.messages),
        "highlights": list(report.highlights),
        "notes": list(report.notes),
    }


# -- files -----------------------------------------------------------------


def _render(report: Report, format: str) -> str:
    if format == "text":
        return render_text(report)
    if format == "html":
        return render_html(report)
    return json.dumps(render_json(report), ensure_ascii=False, indent=2) + "\n"


def write_report(report: Report, format: str, out: str | pathlib.Path | None = None) -> str | None:
    """Write *report* in *format* (one of :data:`FORMATS`).

    ``text``, ``html`` and ``json`` go to the file *out* (UTF-8), or are
    returned when *out* is ``None``; then nothing is written and ``None``
    returned otherwise.  ``csv`` writes a file per table into the folder
    *out*, created if needed, and returns a Swedish line saying what it
    wrote.

    :raises ValueError: in Swedish, for an unknown format or CSV without a
        folder.
    """
    if format not in FORMATS:
        raise ValueError(
            _("okänt format '{format}'; välj {formats}").format(format=format, formats=", ".join(FORMATS))
        )
    if format == "csv":
        if out is None:
            raise ValueError(_("CSV blir en fil per tabell; ange en mapp att skriva dem i"))
        return _write_csv(report, pathlib.Path(out))
    text = _render(report, format)
    if out is None:
        return text
    path = pathlib.Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")
    return None


def _write_csv(report: Report, folder: pathlib.Path) -> str:
    files = render_csv(report)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        # The text starts with the byte order mark; newline="" keeps the CRLF.
        (folder / name).write_text(text, encoding="utf-8", newline="")
    return _files_written(folder, sorted(files))


def _files_written(folder: pathlib.Path, names: Sequence[str]) -> str:
    if not names:
        return _("Rapporten har inga tabeller; inget skrevs i {folder}").format(folder=folder)
    return ngettext(
        "Skrev {n} CSV-fil i {folder}: {names}", "Skrev {n} CSV-filer i {folder}: {names}", len(names)
    ).format(n=len(names), folder=folder, names=", ".join(names))

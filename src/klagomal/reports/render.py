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
from markupsafe import Markup, escape

from klagomal.core.i18n import _, ngettext
from klagomal.notices.letters import swedish_date
from klagomal.reports.model import Chart, Report, Table, is_mark

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

#: Chart colours, told apart also by the colour-blind (Okabe–Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")

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


def _audience(report: Report) -> str:
    labels = {"staff": _("personalen"), "politicians": _("de förtroendevalda")}
    return labels.get(report.audience, report.audience)


def _addressed(report: Report) -> str:
    return _("Till {audience}, skapad {day}").format(
        audience=_audience(report), day=swedish_date(report.generated)
    )


def _number(value: float, decimals: int = 1) -> str:
    """*value* the Swedish way: ``12``, ``87,5``; non-finite as ``–``."""
    if not math.isfinite(value):
        return "–"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.{decimals}f}".replace(".", ",")


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("ja") if value else _("nej")
    if isinstance(value, int | float):
        return _number(value)
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


# -- SVG charts ------------------------------------------------------------


def _nice_scale(top: float, *, whole: bool) -> tuple[float, float]:
    """The axis maximum and tick step for values up to *top*: steps of 1, 2
    or 5 times a power of ten, about five of them; whole steps for counts."""
    if not math.isfinite(top) or top <= 0:
        return 1.0, 1.0 if whole else 0.2
    rough = top / 5
    power = 10 ** math.floor(math.log10(rough))
    step = next(f * power for f in (1, 2, 5, 10) if f * power >= rough)
    if whole:
        step = max(step, 1.0)
    return math.ceil(top / step - 1e-9) * step, step


def _data_value(value: float | str) -> str:
    """A value for a ``data-value`` attribute: for machines, with a decimal
    point; empty for a missing value or a count not shown."""
    return f"{value:.15g}" if isinstance(value, float | int) and math.isfinite(value) else ""


def _drawn(value: float | str) -> float | None:
    """The height to draw *value* at: ``None`` when missing or not shown (a
    ``<3`` or ``..`` is never drawn, least of all at its true height)."""
    return float(value) if isinstance(value, float | int) and math.isfinite(value) else None


def _fmt(x: float) -> str:
    """A coordinate for SVG."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _value_label(value: float | str, unit: str) -> str:
    if isinstance(value, str):  # the mark of a count not shown
        return value
    text = _number(value)
    return f"{text} %" if unit == "%" and math.isfinite(value) else text


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_chart(chart: Chart) -> None:
    if chart.kind not in ("bar", "line"):
        raise ValueError(
            _("diagrammet {id} har en okänd sort '{kind}'; det kan vara bar eller line").format(
                id=chart.id, kind=chart.kind
            )
        )
    for series in chart.series:
        if len(series.values) != len(chart.labels):
            raise ValueError(
                _("serien '{name}' i diagrammet {id} har {values} värden för {labels} etiketter").format(
                    name=series.name, id=chart.id, values=len(series.values), labels=len(chart.labels)
                )
            )


def _values(chart: Chart) -> list[float]:
    """The values drawn: not the missing ones, nor the marks of counts not shown."""
    return [v for s in chart.series for v in map(_drawn, s.values) if v is not None]


def _whole(chart: Chart) -> bool:
    return chart.unit != "%" and all(float(v).is_integer() for v in _values(chart))


class _Svg:
    """Builds an SVG fragment; every text and attribute value is escaped."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, tag: str, text: str | None = None, /, *, children: str = "", **attrs: object) -> None:
        attributes = "".join(
            f' {name.rstrip("_").replace("_", "-")}="{escape(str(value))}"'
            for name, value in attrs.items()
            if value is not None
        )
        inner = (str(escape(text)) if text is not None else "") + children
        if inner:
            self.parts.append(f"<{tag}{attributes}>{inner}</{tag}>")
        else:
            self.parts.append(f"<{tag}{attributes}/>")

    def __str__(self) -> str:
        return "".join(self.parts)


def _legend(svg: _Svg, chart: Chart, top: float, width: float) -> float:
    """Draws the series' names with their colours; returns the height used."""
    if len(chart.series) < 2:
        return 0.0
    x, y = 10.0, top
    for index, series in enumerate(chart.series):
        name = _short(series.name, 28)
        item = 22 + 7 * len(name)
        if x + item > width and x > 10:
            x, y = 10.0, y + 18
        svg.add(
            "rect",
            x=_fmt(x),
            y=_fmt(y),
            width=12,
            height=12,
            fill=PALETTE[index % len(PALETTE)],
            class_="legend",
        )
        svg.add("text", name, x=_fmt(x + 16), y=_fmt(y + 10), class_="legend-text")
        x += item + 12
    return y - top + 24


def _svg_open(chart: Chart, width: float, height: float, body: str) -> Markup:
    ident = f"diagram-{chart.id}"
    desc = "; ".join(
        f"{s.name}: "
        + ", ".join(
            f"{label} {_value_label(v, chart.unit)}" for label, v in zip(chart.labels, s.values, strict=True)
        )
        for s in chart.series
    )
    head = _Svg()
    head.add("title", chart.title, id=f"{ident}-titel")
    head.add("desc", desc or _("Inga värden"), id=f"{ident}-beskrivning")
    return Markup(
        '<svg id="{id}" class="chart chart-{kind}" role="img" aria-label="{title}" '
        'aria-describedby="{id}-beskrivning" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'font-family="sans-serif" font-size="12">{head}{body}</svg>'
    ).format(
        id=ident,
        kind=chart.kind,
        title=chart.title,
        w=_fmt(width),
        h=_fmt(height),
        head=Markup(str(head)),
        body=Markup(body),
    )


def _bar_chart(chart: Chart) -> Markup:
    """Grouped horizontal bars: a group per label, a bar per series, the
    value at the end of each bar and a value axis under them."""
    width = 640.0
    svg = _Svg()
    top = 10.0 + _legend(svg, chart, 10.0, width)
    longest = max((len(label) for label in chart.labels), default=0)
    left = min(max(7.0 * min(longest, 32) + 16, 80.0), 240.0)
    right = 70.0
    plot = width - left - right
    top_value, step = _nice_scale(max(_values(chart), default=0.0), whole=_whole(chart))
    bar, gap, group_gap = 14.0, 3.0, 12.0
    group = len(chart.series) * (bar + gap) - gap if chart.series else bar
    y = top
    for index, label in enumerate(chart.labels):
        svg.add(
            "text",
            _short(label, 32),
            x=_fmt(left - 8),
            y=_fmt(y + group / 2 + 4),
            text_anchor="end",
            class_="label",
        )
        for number, series in enumerate(chart.series):
            value = series.values[index]
            drawn = _drawn(value)
            length = plot * max(drawn, 0.0) / top_value if drawn is not None else 0.0
            tooltip = f"{series.name}, {label}: {_value_label(value, chart.unit)}"
            svg.add(
                "rect",
                children=f"<title>{escape(tooltip)}</title>",
                x=_fmt(left),
                y=_fmt(y),
                width=_fmt(length),
                height=_fmt(bar),
                fill=PALETTE[number % len(PALETTE)],
                class_="bar",
                data_series=series.name,
                data_label=label,
                data_value=_data_value(value),
            )
            svg.add(
                "text",
                _value_label(value, chart.unit),
                x=_fmt(left + length + 4),
                y=_fmt(y + bar - 3),
                class_="value",
            )
            y += bar + gap
        if not chart.series:
            y += bar + gap
        y += group_gap - gap
    if not chart.labels:
        svg.add("text", _("Inga värden"), x=_fmt(left), y=_fmt(y + 12), class_="empty")
        y += 20
    axis = y + 4
    svg.add("line", x1=_fmt(left), y1=_fmt(top - 4), x2=_fmt(left), y2=_fmt(axis), stroke="#333")
    svg.add("line", x1=_fmt(left), y1=_fmt(axis), x2=_fmt(left + plot), y2=_fmt(axis), stroke="#333")
    ticks = round(top_value / step)
    for tick in range(ticks + 1):
        value = tick * step
        x = left + plot * value / top_value
        svg.add("line", x1=_fmt(x), y1=_fmt(axis), x2=_fmt(x), y2=_fmt(axis + 4), stroke="#333")
        svg.add("text", _number(value), x=_fmt(x), y=_fmt(axis + 17), text_anchor="middle", class_="tick")
    if chart.unit:
        svg.add(
            "text",
            chart.unit,
            x=_fmt(left + plot / 2),
            y=_fmt(axis + 34),
            text_anchor="middle",
            class_="unit",
        )
    return _svg_open(chart, width, axis + 44, str(svg))


def _line_chart(chart: Chart) -> Markup:
    """A line per series over the labels, a point with its value at each
    label; a missing (non-finite) value breaks the line."""
    width = 640.0
    svg = _Svg()
    top = 10.0 + _legend(svg, chart, 10.0, width)
    left, right, bottom, plot_height = 56.0, 24.0, 48.0, 220.0
    plot = width - left - right
    top += 14  # room for the values over the highest points
    values = _values(chart)
    highest = max(values, default=0.0)
    if chart.unit == "%" and 0 < highest <= 100:
        top_value, step = 100.0, 20.0
    else:
        top_value, step = _nice_scale(highest, whole=_whole(chart))
    axis = top + plot_height
    ticks = round(top_value / step)
    for tick in range(ticks + 1):
        value = tick * step
        y = axis - plot_height * value / top_value
        svg.add("line", x1=_fmt(left), y1=_fmt(y), x2=_fmt(left + plot), y2=_fmt(y), stroke="#ddd")
        svg.add("text", _number(value), x=_fmt(left - 6), y=_fmt(y + 4), text_anchor="end", class_="tick")
    svg.add("line", x1=_fmt(left), y1=_fmt(top), x2=_fmt(left), y2=_fmt(axis), stroke="#333")
    svg.add("line", x1=_fmt(left), y1=_fmt(axis), x2=_fmt(left + plot), y2=_fmt(axis), stroke="#333")
    if chart.unit:
        svg.add("text", chart.unit, x=_fmt(left - 6), y=_fmt(top - 8), text_anchor="end", class_="unit")
    count = len(chart.labels)

    def x_of(index: int) -> float:
        return left + plot / 2 if count == 1 else left + plot * index / (count - 1)

    limit = max(6, int(plot / max(count, 1) / 6.5))
    for index, label in enumerate(chart.labels):
        svg.add(
            "text",
            _short(label, limit),
            x=_fmt(x_of(index)),
            y=_fmt(axis + 18),
            text_anchor="middle",
            class_="label",
        )
    if not chart.labels:
        svg.add("text", _("Inga värden"), x=_fmt(left + 10), y=_fmt(axis - 10), class_="empty")
    for number, series in enumerate(chart.series):
        colour = PALETTE[number % len(PALETTE)]
        segments: list[list[tuple[float, float]]] = [[]]
        for index, point in enumerate(series.values):
            drawn = _drawn(point)
            if drawn is None:
                segments.append([])
                continue
            segments[-1].append((x_of(index), axis - plot_height * max(drawn, 0.0) / top_value))
        for segment in segments:
            if len(segment) > 1:
                svg.add(
                    "polyline",
                    points=" ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in segment),
                    fill="none",
                    stroke=colour,
                    stroke_width=2,
                    class_="line",
                    data_series=series.name,
                )
        for index, point in enumerate(series.values):
            drawn = _drawn(point)
            if drawn is None:
                continue
            x, y = x_of(index), axis - plot_height * max(drawn, 0.0) / top_value
            label = chart.labels[index]
            tooltip = f"{series.name}, {label}: {_value_label(point, chart.unit)}"
            svg.add(
                "circle",
                children=f"<title>{escape(tooltip)}</title>",
                cx=_fmt(x),
                cy=_fmt(y),
                r=4,
                fill=colour,
                class_="point",
                data_series=series.name,
                data_label=label,
                data_value=_data_value(point),
            )
            svg.add(
                "text",
                _value_label(point, chart.unit),
                x=_fmt(x),
                y=_fmt(y - 8),
                text_anchor="middle",
                class_="value",
            )
    return _svg_open(chart, width, axis + bottom, str(svg))


def svg_chart(chart: Chart) -> Markup:
    """*chart* as an inline ``<svg>`` element (escaped, ready for HTML).

    Bars are ``<rect class="bar">`` and points ``<circle class="point">``,
    each with ``data-series``, ``data-label`` and ``data-value``.

    :raises ValueError: for an unknown kind or a series with as many values
        as the chart has labels.
    """
    _check_chart(chart)
    return _bar_chart(chart) if chart.kind == "bar" else _line_chart(chart)


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
    return env


def render_html(report: Report) -> str:
    """*report* as one self-contained HTML file."""
    tables = []
    for table in report.tables:
        _check_table(table)
        tables.append({"table": table, "numeric": _numeric_columns(table)})
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

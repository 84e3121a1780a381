"""The data of a report, apart from how it is computed and how it is shown.

:mod:`klagomal.reports.data` fills a :class:`Report` with SQL aggregates;
:mod:`klagomal.reports.render` writes it as terminal text, one self-contained
HTML file with inline SVG charts, CSV (a file per table) or JSON.  Labels
are Swedish, because staff and politicians read them (R16–R18).
"""

from __future__ import annotations

import datetime as dt

import attrs

__all__ = ["AUDIENCES", "Cell", "Chart", "Period", "Report", "Series", "Table", "is_mark"]

#: Who a report is for: staff (three times a year, R17) or the elected
#: officials (twice a year, a public document, R18).
AUDIENCES = ("staff", "politicians")

Cell = str | int | float | None


def is_mark(value: object) -> bool:
    """Whether *value* is the mark of a count the politicians' report does not
    show (klagomal.reports.disclosure): ``<3`` (fewer than the threshold) or ``..``
    (withheld so that no ``<3`` can be worked out)."""
    if not isinstance(value, str):
        return False
    return value == ".." or (value.startswith("<") and value[1:].isdigit())


@attrs.frozen
class Period:
    """A reporting period: both days included.

    :param id: what the user wrote, normalised: ``2026-T2``, ``2026-H1``,
        ``2026`` or ``2026-03-01..2026-05-31``.
    :param label: Swedish, for a heading: ``tertial 2 2026 (maj–augusti)``.
    """

    id: str
    start: dt.date
    end: dt.date
    label: str


@attrs.frozen
class Table:
    """One table of a report.

    :param id: stable ASCII id, also the CSV file's name (``volym-per-typ``).
    :param title: Swedish heading.
    :param columns: Swedish column headings.
    :param rows: plain values; ``None`` is shown empty.  A count the
        politicians' report does not show is its mark (:func:`is_mark`):
        ``"<3"`` below the threshold, ``".."`` withheld.
    :param note: a Swedish line under the table, or ``""``.
    """

    id: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...] = ()
    note: str = ""


@attrs.frozen
class Series:
    """One named series of a chart, a value per label: a number, or the mark
    of a count not shown (``"<3"``, ``".."``), which is drawn as no bar or
    point at all, with the mark in its place."""

    name: str
    values: tuple[float | str, ...]


@attrs.frozen
class Chart:
    """A chart drawn as inline SVG in HTML reports.

    :param kind: ``bar`` (grouped bars, one group per label) or ``line``
        (one line per series over the labels, e.g. a timeliness trend).
    :param unit: what the values are, for the axis: ``"ärenden"`` or ``"%"``.
    """

    id: str
    title: str
    kind: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    unit: str = ""


@attrs.frozen
class Report:
    """A whole report.

    :param kommun: the kommun's name, for the heading.
    :param scope: Swedish: ``hela kommunen``, a förvaltning's name, or a unit's.
    :param total: the number of cases received in the period and scope, as
        published: in the politicians' report ``"<3"`` or ``".."`` when not
        shown.
    :param messages: the key messages for the first page, in plain Swedish
        (klagomal.reports.messages).
    :param highlights: praise quoted (only where the case is not secret, and
        never in the politicians' report unless the text is free of personal
        data; see :mod:`klagomal.reports.data`).
    :param notes: Swedish lines at the end: disclosure control, sections a
        plugin could not build, and so on.
    """

    title: str
    kommun: str
    audience: str
    period: Period
    scope: str
    generated: dt.date
    total: int | str
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = ()
    messages: tuple[str, ...] = ()
    highlights: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    logo_text: str | None = None

    @property
    def empty(self) -> bool:
        """Whether no case was received in the period and scope ("inga synpunkter")."""
        return self.total == 0

"""Report sections: the part of a report a förvaltning adds through a plugin.

The core's reports (volume, types, actions, timeliness; R16–R18) are built
by klagomal itself.  A förvaltning that must report something of its own,
such as Socialförvaltningen's counts of serious complaints in care, adds a
:class:`ReportSection` through the ``klagomal_report_sections`` hook.  A
section is a title and a function that builds one table for a
:class:`ReportScope`: a period and, optionally, one förvaltning.

Labels in a table are Swedish, because staff and politicians read them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import attrs

from klagomal.core.i18n import _

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.app import Klagomal
    from klagomal.core.model import Case

__all__ = ["ReportScope", "ReportSection", "ReportTable", "SectionResult", "build_sections"]

log = logging.getLogger(__name__)

Cell = str | int | float | None


@attrs.frozen
class ReportTable:
    """A table: Swedish column headings and rows of plain values."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...] = ()

    def __attrs_post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"a row has {len(row)} cells for {len(self.columns)} columns: {row!r}")

    def render(self) -> str:
        """Plain text, columns aligned."""
        cells = [list(self.columns)] + [["" if c is None else str(c) for c in row] for row in self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells
        )


@attrs.frozen
class ReportScope:
    """What a report covers: cases received from *start* to *end* (both
    included), in one förvaltning or, with ``department=None``, the whole
    kommun.  ``klagomal`` is the instance the report is made from."""

    klagomal: Klagomal
    start: dt.date
    end: dt.date
    department: str | None = None

    def cases(self) -> list[Case]:
        """The cases in scope, as they are now, as numbers are made of them:
        without their texts and without who the person is
        (:func:`klagomal.records.redaction.for_statistics`), since a section's table
        goes into a report to many readers (R27)."""
        from klagomal.records.redaction import for_statistics

        found = self.klagomal.cases_received(self.start, self.end, department=self.department)
        return [for_statistics(case) for case in found]


@attrs.frozen
class ReportSection:
    """A section a plugin adds to reports.

    :param id: a stable ASCII id, unique among all plugins' sections.
    :param title: the Swedish heading.
    :param build: makes the table for a scope.
    :param department: the förvaltning the section belongs to; it appears in
        reports on that förvaltning and on the whole kommun, not in reports
        on other förvaltningar.  ``None``: in every report.
    """

    id: str
    title: str
    build: Callable[[ReportScope], ReportTable]
    department: str | None = None

    def applies_to(self, department: str | None) -> bool:
        """Whether the section belongs in a report on *department* (``None``: the kommun)."""
        return self.department is None or department is None or department == self.department


@attrs.frozen
class SectionResult:
    """A built section: its table, or why it is missing."""

    section: ReportSection
    table: ReportTable | None
    error: str | None = None

    def render(self) -> str:
        """The heading and the table, or a note that the section failed."""
        body = (
            self.table.render()
            if self.table is not None
            else _("(avsnittet kunde inte tas fram: {error})").format(error=self.error)
        )
        return f"{self.section.title}\n{body}"


def build_sections(
    sections: Sequence[ReportSection], scope: ReportScope, owners: dict[str, str] | None = None
) -> list[SectionResult]:
    """Build every section that applies to *scope*.  A section that raises
    is logged with its plugin and reported as missing; the rest of the
    report is still made."""
    results = []
    for section in sections:
        if not section.applies_to(scope.department):
            continue
        try:
            table = section.build(scope)
            if not isinstance(table, ReportTable):
                raise TypeError(f"build returned {type(table).__name__}, not a ReportTable")
        except Exception as exc:
            plugin = (owners or {}).get(section.id, "?")
            log.exception(
                _(
                    "klagomal: insticksmodulen %r kunde inte göra "
                    "rapportavsnittet %r (klagomal_report_sections)"
                ),
                plugin,
                section.id,
            )
            results.append(SectionResult(section, None, f"{plugin}: {type(exc).__name__}: {exc}"))
        else:
            results.append(SectionResult(section, table))
    return results

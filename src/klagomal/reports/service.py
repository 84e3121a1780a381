"""The reports' service: timeliness, the cases a report counts and the
plugins' report sections, for :class:`~klagomal.app.Klagomal`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import attrs

from klagomal.context import naming
from klagomal.core.errors import InvalidInputError
from klagomal.core.i18n import _
from klagomal.deadlines.timeliness import Timeliness, measure_timeliness
from klagomal.records.access import Operation
from klagomal.records.redaction import for_statistics
from klagomal.reports import ReportScope, SectionResult, build_sections
from klagomal.storage.base import CaseQuery

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.context import Context
    from klagomal.core.model import Case
    from klagomal.core.organisation import Organisation

__all__ = ["ReportService", "received_query"]


@attrs.frozen
class ReportService:
    """What the reports are made of, for one :class:`Context`."""

    ctx: Context

    def _allowed_statistics(self, department: str | None) -> None:
        """Refuse a user without access to *department*'s statistics (or the
        whole kommun's, for ``None``)."""
        organisation = self.ctx.organisation
        units = (
            []
            if department is None or department not in organisation.departments
            else organisation.subtree(department)
        )
        self.ctx.allowed_units(Operation.STATISTICS, units)

    def timeliness(
        self, start: dt.date, end: dt.date, department: str | None, as_of: dt.date | None
    ) -> Timeliness:
        """How well the deadlines were kept for the cases received from
        *start* to *end*, as known on *as_of* (default today)."""
        ctx = self.ctx
        self._allowed_statistics(department)
        query = received_query(ctx.organisation, start, end, department, "timeliness")
        with ctx.transaction() as uow:
            references = [case.reference for case in uow.find(query)]
            histories = uow.histories(references)
        with naming("timeliness", None):
            return measure_timeliness(histories.values(), ctx.deadlines.calendar, as_of or ctx.clock.today())

    def cases_received(self, start: dt.date, end: dt.date, department: str | None) -> list[Case]:
        """The cases received from *start* to *end*: as the acting user may
        see those they may read, as numbers are made of the others."""
        ctx = self.ctx
        self._allowed_statistics(department)
        query = received_query(ctx.organisation, start, end, department, "report")
        with ctx.transaction() as uow:
            found = []
            readable = []
            for case in uow.find(query):
                if ctx.access.allows(ctx.user, Operation.READ) and ctx.may_read(case):  # type: ignore[arg-type]
                    found.append(ctx.shown(case))
                    readable.append(case.reference)
                else:
                    found.append(for_statistics(case))
            ctx.audit_list(uow, Operation.READ, readable, "cases received")
            if len(found) > len(readable):
                ctx.audit(uow, Operation.STATISTICS, [None], f"cases received: {len(found) - len(readable)}")
            return found

    def report_sections(self, start: dt.date, end: dt.date, department: str | None) -> list[SectionResult]:
        """The plugins' report sections for the cases received from *start* to *end*."""
        ctx = self.ctx
        self._allowed_statistics(department)
        received_query(ctx.organisation, start, end, department, "report")  # refuses an unknown förvaltning
        scope = ReportScope(ctx.klagomal, start, end, department)
        owners = dict(ctx.registry.owners.get("report_sections", {}))
        return build_sections(list(ctx.registry.report_sections.values()), scope, owners)


def received_query(
    organisation: Organisation, start: dt.date, end: dt.date, department: str | None, step: str
) -> CaseQuery:
    """The query for the cases received from *start* to *end* in
    *department* (or all), refusing an unknown förvaltning."""
    if department is not None and department not in organisation.departments:
        raise InvalidInputError(
            _("okänd förvaltning '{department}'").format(department=department), step=step
        )
    return CaseQuery(
        received_from=start,
        received_to=end,
        departments=None if department is None else [department],
    )

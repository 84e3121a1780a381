"""The handläggare's pages: "Mina ärenden" (the library's worklist).

Each page is a function that takes the request, finds the signed-in user
with :func:`~klagomal.web.ui.login.staff` and calls the facade as that
user; the library checks access and writes the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import markupsafe
from litestar import Request, Response, get

from klagomal.cases.worklist import WorkItem
from klagomal.core.formats import swedish_date
from klagomal.core.i18n import _
from klagomal.core.model import CaseState, Kind
from klagomal.web.ui.login import staff
from klagomal.web.ui.render import due_tag

__all__ = ["WORKLIST_ROWS", "WorklistRow", "routes", "worklist_rows"]

#: The most rows "Mina ärenden" shows at once.
WORKLIST_ROWS = 500


def deadline_labels() -> dict[str, str]:
    """What a worklist row's deadline is, in Swedish."""
    return {"besked": _("besked"), "svar": _("svar"), "uppgift": _("uppgift")}


class WorklistRow(NamedTuple):
    """A row of "Mina ärenden" as the page shows it: a worklist item's
    texts, made once per page (one look-up per label, not one per row and
    column: the page has hundreds of rows, docs/performance.md, issue 22)."""

    reference: str
    threat: bool
    serious: bool
    kind: str
    state: str
    #: What the row is ("min", "ingen handläggare", "uppgift") and what is due.
    what: str
    #: The task's kind, for a task's row.
    task: str | None
    #: The last day, in Swedish, and how urgent it is; empty when nothing is due.
    due: str
    urgency: markupsafe.Markup | str


def worklist_rows(items: Sequence[WorkItem]) -> list[WorklistRow]:
    """The rows of "Mina ärenden" for the facade's worklist *items*."""
    kinds = {kind: kind.label for kind in Kind}
    states = {state: state.label for state in CaseState}
    deadlines = deadline_labels()
    whats: dict[tuple[str, str | None], str] = {}
    dates: dict[Any, str] = {}
    tags: dict[tuple[int, bool], markupsafe.Markup] = {}
    rows = []
    for item in items:
        case = item.case
        what = whats.get((item.what, item.deadline))
        if what is None:
            what = item.label
            if item.deadline:
                what += ": " + deadlines.get(item.deadline, item.deadline)
            whats[(item.what, item.deadline)] = what
        due, urgency = "", ""
        if item.due:
            due = dates.get(item.due) or dates.setdefault(item.due, swedish_date(item.due))
            days = (item.days_late if item.overdue else item.days_left) or 0
            urgency = tags.get((days, item.overdue)) or tags.setdefault(
                (days, item.overdue), due_tag(days, item.overdue)
            )
        rows.append(
            WorklistRow(
                reference=case.reference,
                threat=bool(case.threat_flags),
                serious=case.serious,
                kind=kinds[case.kind],
                state=states[case.state],
                what=what,
                task=None if item.task is None else item.task.kind,
                due=due,
                urgency=urgency,
            )
        )
    return rows


@get("/arenden", sync_to_thread=True, name="ui-worklist")
def worklist(request: Request[Any, Any, Any]) -> Response[Any]:
    """Mina ärenden: the user's open cases, the unassigned ones at their
    units and their tasks, due first, with how urgent each is."""
    ui = staff(request)
    items = ui.k.worklist(limit=WORKLIST_ROWS)
    return ui.page("worklist.html", title=_("Mina ärenden"), rows=worklist_rows(items))


routes = [worklist]

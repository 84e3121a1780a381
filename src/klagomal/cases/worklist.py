"""A handler's own worklist (``klagomal list --mine``,
:meth:`klagomal.Klagomal.worklist`): what the acting user has to do, due
first.

Three kinds of row:

``handler``
    an open case (any state but ``avslutat``) whose handler is the user: by
    their id, or by their display name for cases from before handlers were
    users;
``unassigned``
    an open case without a handler at one of the user's units (a
    ``handlaggare``'s ``enheter``; a ``chef``'s units and every unit below
    them);
``task``
    a task for the handler in one of the user's own cases: phone the person,
    or tell them at a visit (a notice whose status is ``task``; done with
    ``klagomal outbox --done ID``).

Each row carries the deadline the case waits for
(:meth:`klagomal.deadlines.policies.Deadlines.open_deadline`: the besked
while ``registrerat``, the answer while ``handlaggning``) and the days left
to it in **working days** of the case's förvaltning calendar, negative when
late, as every other deadline in klagomal is counted.  A case with no open
deadline (answered, waiting for the person) has none.  A task is due at
once: its row has the case's deadline when there is one, else today (0
days left).  Rows are sorted by due date, those without one last, then by
reference.
"""

from __future__ import annotations

import datetime as dt

import attrs

from klagomal.core.i18n import _
from klagomal.core.model import Case, CaseState
from klagomal.deadlines.policies import OpenDeadline
from klagomal.notices.outbox import Notice

__all__ = ["HANDLER", "OPEN_STATES", "TASK", "UNASSIGNED", "WorkItem", "sort_worklist"]

#: Every state a case is open in: all but ``avslutat``.
OPEN_STATES = tuple(s for s in CaseState if s is not CaseState.AVSLUTAT)

HANDLER = "handler"
UNASSIGNED = "unassigned"
TASK = "task"


@attrs.frozen
class WorkItem:
    """One row of a worklist.

    :param what: :data:`HANDLER`, :data:`UNASSIGNED` or :data:`TASK`.
    :param case: the case, as the acting user may see it.
    :param due: the last day, or ``None`` when nothing is due.
    :param deadline: what is due: ``"besked"``, ``"svar"`` or, for a task,
        ``"uppgift"``; ``None`` when nothing is.
    :param days_left: working days from today to *due*; 0 on the day,
        negative by the working days since it passed; ``None`` without *due*.
    :param overdue: whether today is after *due*.
    :param task: the task (a notice of the outbox) for a :data:`TASK` row.
    """

    what: str
    case: Case
    due: dt.date | None = None
    deadline: str | None = None
    days_left: int | None = None
    overdue: bool = False
    task: Notice | None = None

    @property
    def reference(self) -> str:
        """The case's reference."""
        return self.case.reference

    @property
    def days_late(self) -> int:
        """Working days since *due* passed; 0 when not late."""
        return -self.days_left if self.days_left is not None and self.days_left < 0 else 0

    @property
    def label(self) -> str:
        """What the row is, in Swedish."""
        return {
            HANDLER: _("min"),
            UNASSIGNED: _("ingen handläggare"),
            TASK: _("uppgift"),
        }[self.what]

    @property
    def when(self) -> str:
        """The time left, in Swedish: ``i dag``, ``om 3 arbetsdagar``,
        ``för 2 arbetsdagar sedan`` (``-`` when nothing is due)."""
        if self.due is None or self.days_left is None:
            return "-"
        return OpenDeadline(self.deadline or "", self.due, self.days_left, self.overdue).when


def item(
    what: str, case: Case, deadline: OpenDeadline | None, today: dt.date, task: Notice | None = None
) -> WorkItem:
    """The row of *case* with the deadline it waits for."""
    if deadline is not None:
        return WorkItem(
            what,
            case,
            due=deadline.due,
            deadline=("uppgift" if task is not None else deadline.kind),
            days_left=deadline.working_days_left,
            overdue=deadline.overdue,
            task=task,
        )
    if task is not None:
        return WorkItem(what, case, due=today, deadline="uppgift", days_left=0, task=task)
    return WorkItem(what, case)


def sort_worklist(items: list[WorkItem]) -> list[WorkItem]:
    """*items* due first; those with nothing due last; then by reference
    (a task after its case)."""
    order = {HANDLER: 0, UNASSIGNED: 1, TASK: 2}
    return sorted(
        items,
        key=lambda i: (i.due is None, i.due or dt.date.min, i.reference, order[i.what]),
    )

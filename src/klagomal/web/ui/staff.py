"""The handläggare's pages: "Mina ärenden" (the library's worklist).

Each page is a function that takes the request, finds the signed-in user
with :func:`~klagomal.web.ui.login.staff` and calls the facade as that
user; the library checks access and writes the audit log.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from klagomal.core.i18n import _
from klagomal.web.ui.login import staff

__all__ = ["WORKLIST_ROWS", "routes"]

#: The most rows "Mina ärenden" shows at once.
WORKLIST_ROWS = 500


def deadline_labels() -> dict[str, str]:
    """What a worklist row's deadline is, in Swedish."""
    return {"besked": _("besked"), "svar": _("svar"), "uppgift": _("uppgift")}


@get("/arenden", sync_to_thread=True, name="ui-worklist")
def worklist(request: Request[Any, Any, Any]) -> Response[Any]:
    """Mina ärenden: the user's open cases, the unassigned ones at their
    units and their tasks, due first, with how urgent each is."""
    ui = staff(request)
    items = ui.k.worklist(limit=WORKLIST_ROWS)
    return ui.page("worklist.html", title=_("Mina ärenden"), items=items, deadline_labels=deadline_labels())


routes = [worklist]

"""The staff side of "Följ ditt ärende" (:mod:`klagomal.web.ui.follow`):
on the case page, a handläggare who may handle the case gives the person a
new private link or revokes the one they have.

* ``POST /arenden/{reference}/folj-lank/ny``: :meth:`klagomal.Klagomal.follow_link`;
  the new link is shown once, on the page this answers with (the library
  keeps only its hash, and the link is never put in a cookie or an
  address other than its own); the case's old link stops working.
* ``POST /arenden/{reference}/folj-lank/aterkalla``:
  :meth:`klagomal.Klagomal.revoke_follow_link`; back to the case page with
  a confirmation.

Both act as the signed-in user: the library checks that they may handle
the case, and audits it (R27).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from klagomal.app import Klagomal
from klagomal.core import errors
from klagomal.core.i18n import _
from klagomal.core.model import Case
from klagomal.records.access import Operation
from klagomal.web.ui.citizen import private_link
from klagomal.web.ui.login import staff

__all__ = ["may_give_link", "routes"]


def may_give_link(k: Klagomal, case: Case) -> bool:
    """Whether the acting user may give *case*'s person a new link or
    revoke it (the right to handle the case): the case page's section shows then."""
    user = k.user
    if user is None:
        return False
    try:
        k.access.check(user, Operation.HANDLE, case)
    except errors.AccessDeniedError:
        return False
    return True


@post(
    "/arenden/{reference:str}/folj-lank/ny", sync_to_thread=True, name="ui-follow-link-new", status_code=200
)
def new_link(request: Request[Any, Any, Any], reference: str) -> Response[Any]:
    """A new link for the person, shown once."""
    ui = staff(request)
    token = ui.k.follow_link(reference)
    return ui.page(
        "follow_link_new.html",
        title=_("Ny länk till Följ ditt ärende – ärende {reference}").format(reference=reference),
        reference=reference,
        link=private_link(request, token),
    )


@post(
    "/arenden/{reference:str}/folj-lank/aterkalla",
    sync_to_thread=True,
    name="ui-follow-link-revoke",
    status_code=303,
)
def revoke_link(request: Request[Any, Any, Any], reference: str) -> Response[Any]:
    """The case's link stops working."""
    ui = staff(request)
    if ui.k.revoke_follow_link(reference):
        ui.say(
            "ok",
            _("Länken till Följ ditt ärende för ärende {reference} är återkallad.").format(
                reference=reference
            ),
        )
    else:
        ui.say("info", _("Ärende {reference} hade ingen länk som fungerade.").format(reference=reference))
    return ui.redirect(f"/arenden/{reference}")


routes = [new_link, revoke_link]

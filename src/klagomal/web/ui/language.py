"""The citizen's language (lag 2009:724): the citizen's pages, their
receipt and the letters to them can be read in every language klagomal
has a catalogue for (:func:`klagomal.core.i18n.available_languages`:
Swedish, English as the example, and what the kommun adds).

The choice is a cookie, ``klagomal_sprak``, set by ``/sprak/<code>``; the
pages of the modules marked ``PUBLIC`` are drawn in it (:func:`activate`),
and the web form registers the case in it, so that its letters follow.
Staff pages stay Swedish.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromQuery
from litestar.response import Redirect

from klagomal.core.i18n import available_languages, set_language
from klagomal.web.ui.render import SECURITY_HEADERS

__all__ = ["COOKIE", "PUBLIC", "activate", "chosen", "routes"]

#: For anyone (the leak canaries hold these pages to what is public).
PUBLIC = True

#: The cookie that keeps the chosen language.
COOKIE = "klagomal_sprak"


def chosen(request: Request[Any, Any, Any]) -> str:
    """The language the visitor chose, if klagomal has it; else Swedish."""
    code = request.cookies.get(COOKIE, "sv")
    return code if code in available_languages() else "sv"


def public(request: Request[Any, Any, Any], public_paths: frozenset[str]) -> bool:
    """Whether the request is for one of *public_paths* (the pages of the
    modules marked ``PUBLIC``, :func:`klagomal.web.ui.public_paths`)."""
    handler = request.scope.get("route_handler")
    return bool(public_paths & set(getattr(handler, "paths", ())))


def activate(request: Request[Any, Any, Any], public_paths: frozenset[str]) -> None:
    """Make the visitor's language active for the rest of the request, on a
    public page (the request's own context: the page's thread gets a copy)."""
    if public(request, public_paths):
        set_language(chosen(request))


def _safe_back(value: str | None) -> str:
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/tyck-till"
    return value


@get("/sprak/{code:str}", sync_to_thread=False, name="ui-language")
def choose(code: str, tillbaka: FromQuery[str | None] = None) -> Response[Any]:
    """Read the citizen's pages in *code*, then go back where they were."""
    response: Response[Any] = Redirect(
        path=_safe_back(tillbaka), status_code=303, headers=dict(SECURITY_HEADERS)
    )
    if code in available_languages():
        response.set_cookie(
            COOKIE, code, path="/", httponly=True, secure=True, samesite="lax", max_age=365 * 86400
        )
    return response


routes = [choose]

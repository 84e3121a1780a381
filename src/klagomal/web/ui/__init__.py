"""The web interface: server-rendered Swedish pages for the handläggare,
the chef, the förvaltning's administrators and the citizen, served by
``klagomal serve`` beside the HTTP API (docs/web.md).

Like the API it is a face over the facade: each page acts as its signed-in
user (:mod:`klagomal.web.ui.login`) through :meth:`klagomal.Klagomal.as_user`,
so every rule, access check and audit entry is the library's.  The pages
work without JavaScript; the one script only moves focus and asks before
steps that cannot be undone.

- :mod:`klagomal.web.ui.render`: templates, the request's :class:`~klagomal.web.ui.render.Ui`,
  and the security headers of every page;
- :mod:`klagomal.web.ui.session`: the signed session cookie and CSRF;
- :mod:`klagomal.web.ui.login`, :mod:`klagomal.web.ui.oidc`: signing in;
- :mod:`klagomal.web.ui.staff`: Mina ärenden;
- :mod:`klagomal.web.ui.citizen`: the citizen's form "Tala om vad du tycker" and its receipt.
- :mod:`klagomal.web.ui.worktools`: search, the quick path, the chef's overview.
- :mod:`klagomal.web.ui.casepage`: the case page and the routine's steps as forms.
- :mod:`klagomal.web.ui.admin`: the administration's pages.
- :mod:`klagomal.web.ui.language`: the citizen's language.
- :mod:`klagomal.web.ui.phrases`: the phrase library's upkeep and its picker in the step forms (R23).
- :mod:`klagomal.web.ui.published`: the public list of answered cases, "Besvarade synpunkter".
- :mod:`klagomal.web.ui.follow`: the citizen's "Följ ditt ärende" by the private link;
  :mod:`klagomal.web.ui.followlink`: its new link and revocation on the case page.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from litestar import Request, Response, Router, get
from litestar.exceptions import HTTPException, NotFoundException
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from klagomal.app import Klagomal
from klagomal.core import errors
from klagomal.core.i18n import _
from klagomal.web.ui import (
    admin,
    casepage,
    citizen,
    follow,
    followlink,
    language,
    login,
    phrases,
    published,
    staff,
    worktools,
)
from klagomal.web.ui.login import LoginConfig, LoginRequired
from klagomal.web.ui.oidc import OidcProvider, oidc_config
from klagomal.web.ui.render import SECURITY_HEADERS, STATIC, FieldError, Ui
from klagomal.web.ui.session import CSRF_FIELD, Session, session_config

#: The error classes the API's handlers answer as problem details (klagomal.web.problems).
_PROBLEM_CLASSES: tuple[type[Exception], ...] = (
    errors.KlagomalError,
    HTTPException,
    LoginRequired,
)

__all__ = ["PAGE_MODULES", "configure", "html_error", "routers"]

log = logging.getLogger(__name__)

#: The modules whose ``routes`` are the interface's pages.
PAGE_MODULES = (
    login,
    staff,
    citizen,
    worktools,
    casepage,
    admin,
    phrases,
    published,
    follow,
    followlink,
    language,
)


@get("/", sync_to_thread=True, name="ui-home")
def home(request: Request[Any, Any, Any]) -> Response[Any]:
    """The front page: a member of staff's start page, or the login."""
    ui = Ui(request)
    if ui.user is None:
        return ui.redirect("/logga-in")
    return ui.redirect(login.start_page(ui.user.role))


@get("/tema.css", name="ui-theme", sync_to_thread=False, cache=False)
def theme(request: Request[Any, Any, Any]) -> Response[str]:
    """The kommun's colour (``[kommun] farg``) as a stylesheet."""
    colour = request.app.state.klagomal.organisation.profile.colour
    css = f":root {{ --farg: {colour}; }}\n" if colour else "/* klagomal's own colour */\n"
    return Response(content=css, media_type="text/css", headers=dict(SECURITY_HEADERS))


def html_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """An error on a page of the interface, as a Swedish page (never a
    trace): the login for a page that needs one, 403, 404, 422 or 503 with
    the library's reason, 500 with nothing but an apology."""
    if isinstance(exc, LoginRequired):
        target = request.url.path
        if request.method == "GET" and request.url.query:
            target += "?" + request.url.query
        return Redirect(
            path="/logga-in",
            query_params={"till": target},
            status_code=303,
            headers=dict(SECURITY_HEADERS),
        )
    ui = Ui(request)
    try:
        ui.user  # noqa: B018 - the header shows who is signed in, if anyone
    except Exception:
        ui.session = Session()
    if isinstance(exc, errors.AccessDeniedError):
        return ui.page("error.html", title=_("Du har inte behörighet"), status=403, message=str(exc))
    if isinstance(exc, errors.CaseNotFoundError):
        return ui.page("error.html", title=_("Ärendet finns inte"), status=404, message=str(exc))
    if isinstance(exc, errors.TransientStorageError | errors.StorageUnavailableError):
        return ui.page(
            "error.html",
            title=_("Databasen är upptagen"),
            status=503,
            headers={"Retry-After": "5"},
            message=_("Försök igen om en stund. Inget har ändrats."),
        )
    if isinstance(exc, errors.KlagomalError):
        return ui.page("error.html", title=_("Det gick inte"), status=422, message=str(exc))
    if isinstance(exc, NotFoundException):
        return ui.page(
            "error.html",
            title=_("Sidan finns inte"),
            status=404,
            message=_("Kontrollera adressen, eller gå till startsidan."),
        )
    if isinstance(exc, HTTPException):
        return ui.page(
            "error.html", title=_("Det gick inte"), status=exc.status_code, message=str(exc.detail)
        )
    log.exception(
        _("klagomal: ett fel på en sida i webbgränssnittet: %s %s"), request.method, request.url.path
    )
    return ui.page(
        "error.html",
        title=_("Något gick fel"),
        status=500,
        message=_(
            "Något gick fel hos oss. Försök igen om en stund; kvarstår felet, kontakta systemförvaltaren."
        ),
    )


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def before_page(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """Before every page: the citizen's language on a public page
    (:mod:`klagomal.web.ui.language`), then the CSRF guard."""
    language.activate(request, public_paths())
    return await csrf_guard(request)


@functools.cache
def public_paths() -> frozenset[str]:
    """The paths of the pages for anyone: those of the modules marked ``PUBLIC``."""
    return frozenset(
        path
        for module in PAGE_MODULES
        if getattr(module, "PUBLIC", False)
        for handler in module.routes
        for path in handler.paths
    )


async def csrf_guard(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """Every form the interface receives must carry the session's CSRF
    token (:mod:`klagomal.web.ui.session`).  One without it is not acted
    on; the person gets a page that says why and holds what they wrote,
    ready to send again with a fresh token, so nothing they wrote is lost."""
    if request.method in _SAFE_METHODS:
        return None
    form = await request.form()
    ui = Ui(request)
    if ui.form_ok(form):
        return None
    kept = [(key, value) for key, value in form.multi_items() if key != CSRF_FIELD and isinstance(value, str)]
    files = [key for key, value in form.multi_items() if not isinstance(value, str)]
    return ui.page(
        "resend.html",
        title=_("Skicka igen"),
        status=403,
        errors=[
            FieldError(
                "skicka-igen",
                _(
                    "Sidan hade legat öppen för länge eller kom från en annan webbplats, "
                    "så inget av det har sparats."
                ),
            )
        ],
        action=request.url.path,
        kept=kept,
        texts=[(key, value) for key, value in kept if value.strip()],
        files=bool(files),
    )


async def _static_headers(response: Response[Any]) -> Response[Any]:
    response.headers.update({**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"})
    return response


def configure(app_state: Any, k: Klagomal, *, demo_login: bool = False) -> None:
    """Put the interface's settings on the application's state: sessions,
    the login, from the environment (docs/web.md)."""
    app_state.ui_sessions = session_config(demo=demo_login)
    found = oidc_config()
    app_state.ui_login = LoginConfig(demo=demo_login, oidc=None if found is None else OidcProvider(found))


def routers() -> list[Any]:
    """The interface's routes: its pages and its static files."""
    pages = [home, theme]
    for module in PAGE_MODULES:
        pages += module.routes
    return [
        Router(
            path="/",
            route_handlers=pages,
            include_in_schema=False,
            # Every error class the application answers as a problem (the API's
            # handlers, by class) is a page here: the more specific class would
            # otherwise win over this router's catch-all.
            exception_handlers=dict.fromkeys((*_PROBLEM_CLASSES, Exception), html_error),
            before_request=before_page,
        ),
        create_static_files_router(
            path="/static",
            directories=[STATIC],
            include_in_schema=False,
            name="ui-static",
            after_request=_static_headers,
        ),
    ]

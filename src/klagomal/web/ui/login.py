"""Who is signed in to the web interface, three ways (docs/web.md):

* **OpenID Connect** with the kommun's identity provider
  (:mod:`klagomal.web.ui.oidc`): ``KLAGOMAL_OIDC_ISSUER`` and the rest;
* **the trusted header** of the kommun's reverse proxy, the same as the
  HTTP API's (``KLAGOMAL_TRUSTED_HEADER``, ``KLAGOMAL_TRUSTED_PROXIES``,
  :mod:`klagomal.web.auth`): every request from the proxy's address names
  its user, and there is nothing to sign in to or out of;
* **the demo login**: pick one of the organisation file's users, only when
  ``klagomal serve --demo-login`` asks for it, which listens on the loopback
  address only, and only for requests from it.

Either way the user is the organisation file's (or a plugin's directory's,
``klagomal_identify``) and acts through :meth:`klagomal.Klagomal.as_user`,
so every rule and audit entry is the library's.
"""

from __future__ import annotations

import ipaddress
import secrets
import urllib.parse
from typing import Annotated, Any

import anyio.to_thread
import attrs
from litestar import Request, Response, get, post
from litestar.params import FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Redirect

from klagomal.core.i18n import _
from klagomal.core.users import SYSTEM_USER, Role
from klagomal.web.ui.oidc import LoginError, OidcProvider
from klagomal.web.ui.render import SECURITY_HEADERS, FieldError, Ui

__all__ = ["PUBLIC", "LoginConfig", "LoginRequired", "routes", "staff", "start_page"]

#: For anyone, signed in or not (the leak canaries hold these pages to what is public).
PUBLIC = True


@attrs.frozen
class LoginConfig:
    """How people sign in: ``demo`` (the demo login), an OpenID Connect
    provider, or neither (then only the trusted header, if configured)."""

    demo: bool = False
    oidc: OidcProvider | None = None


class LoginRequired(Exception):
    """The page needs a signed-in user; the handler sends the browser to the login page."""


def _loopback(request: Request[Any, Any, Any]) -> bool:
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def staff(request: Request[Any, Any, Any]) -> Ui:
    """The request's :class:`Ui` with a signed-in member of staff.

    :raises LoginRequired: nobody is signed in (or the user has left the
        organisation file).
    """
    ui = Ui(request)
    if ui.session.user is None or ui.user is None or ui.user.id == SYSTEM_USER.id:
        raise LoginRequired
    return ui


def start_page(role: Role) -> str:
    """Where a user lands after signing in: a reader has only the reports."""
    return "/admin/rapporter" if role is Role.READER else "/arenden"


def _safe_next(value: str | None) -> str | None:
    """A local path to go back to after the login, never another site's."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    return value


@get("/logga-in", sync_to_thread=True, name="ui-login")
def login_page(
    request: Request[Any, Any, Any], till: str | None = None, ut: str | None = None
) -> Response[Any]:
    """The login page: the demo's list of users, or the button to the
    kommun's login, or the administrator's instructions."""
    ui = Ui(request)
    config: LoginConfig = request.app.state.ui_login
    if ui.user is not None:
        return ui.redirect(_safe_next(till) or start_page(ui.user.role))
    users = []
    if config.demo:
        users = [
            (u.id, f"{u.name} – {u.role.label}")
            for u in ui.base.organisation.users.values()
            if u.id != SYSTEM_USER.id
        ]
    return ui.page(
        "login.html",
        title=_("Logga in"),
        demo=config.demo,
        oidc=config.oidc is not None,
        users=users,
        next=_safe_next(till) or "",
        chosen="",
        signed_out=ut is not None,
    )


@post("/logga-in", sync_to_thread=True, name="ui-login-demo", status_code=303)
def login_demo(request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]) -> Response[Any]:
    """The demo login: sign in as the chosen user of the organisation file."""
    ui = Ui(request)
    config: LoginConfig = request.app.state.ui_login
    if not config.demo or not _loopback(request):
        return ui.page(
            "error.html",
            title=_("Inloggningen är avstängd"),
            status=403,
            message=_("Demoinloggningen är inte påslagen på den här servern."),
        )
    chosen = data.get("anvandare", "")
    users = {u.id: u for u in ui.base.organisation.users.values() if u.id != SYSTEM_USER.id}
    if not ui.form_ok(data):
        return _login_again(ui, users, chosen, _("Sidan hade legat öppen för länge. Välj användare igen."))
    if chosen not in users:
        return _login_again(ui, users, chosen, _("Välj vem du vill logga in som"))
    ui.session = ui.session.signed_in(chosen)
    return ui.redirect(_safe_next(data.get("till")) or start_page(users[chosen].role))


def _login_again(ui: Ui, users: dict[str, Any], chosen: str, message: str) -> Response[Any]:
    return ui.page(
        "login.html",
        title=_("Logga in"),
        status=400,
        errors=[FieldError("anvandare", message)],
        demo=True,
        oidc=False,
        users=[(u.id, f"{u.name} – {u.role.label}") for u in users.values()],
        next="",
        chosen=chosen,
        signed_out=False,
    )


@get("/logga-in/start", name="ui-login-start")
async def login_start(request: Request[Any, Any, Any], till: FromQuery[str | None] = None) -> Response[Any]:
    """Off to the kommun's identity provider, with a new state, nonce and
    PKCE verifier kept in the session."""
    ui = Ui(request)
    config: LoginConfig = request.app.state.ui_login
    if config.oidc is None:
        return ui.redirect("/logga-in")
    state, nonce, verifier = (secrets.token_urlsafe(32) for _i in range(3))
    try:
        url = await anyio.to_thread.run_sync(
            lambda: config.oidc.authorization_url(state=state, nonce=nonce, verifier=verifier)  # type: ignore[union-attr]
        )
    except LoginError as exc:
        return ui.page("error.html", title=_("Inloggningen misslyckades"), status=502, message=str(exc))
    login = {"state": state, "nonce": nonce, "verifier": verifier, "till": _safe_next(till) or ""}
    ui.session = attrs.evolve(ui.session, login=login)
    response: Response[Any] = Redirect(path=url, status_code=302, headers=dict(SECURITY_HEADERS))
    return ui.keep(response)


@get("/logga-in/oidc", name="ui-login-oidc")
async def login_oidc(
    request: Request[Any, Any, Any],
    code: FromQuery[str | None] = None,
    sent_state: Annotated[str | None, QueryParameter(name="state")] = None,
    error: FromQuery[str | None] = None,
) -> Response[Any]:
    """Back from the identity provider: the code for the ID token, whose
    claim names the user."""
    ui = Ui(request)
    config: LoginConfig = request.app.state.ui_login
    login = dict(ui.session.login)
    if config.oidc is None:
        return ui.redirect("/logga-in")
    failed = _("Inloggningen misslyckades")
    if error or not code or not sent_state or not login.get("state"):
        return ui.page(
            "error.html",
            title=failed,
            status=400,
            message=_("Inloggningstjänsten skickade ingen inloggning. Försök igen."),
            retry=True,
        )
    if not secrets.compare_digest(sent_state, login["state"]):
        return ui.page(
            "error.html",
            title=failed,
            status=400,
            message=_("Inloggningen hör inte till den här webbläsaren. Försök igen."),
            retry=True,
        )
    provider = config.oidc
    try:
        name = await anyio.to_thread.run_sync(
            lambda: provider.user_id(code=code, verifier=login["verifier"], nonce=login["nonce"])
        )
    except LoginError as exc:
        return ui.page("error.html", title=failed, status=403, message=str(exc), retry=True)
    user = await anyio.to_thread.run_sync(lambda: ui.base.as_user(name).user)
    if user is None or user.id == SYSTEM_USER.id:
        return ui.page(
            "error.html",
            title=failed,
            status=403,
            message=_("Du ({name}) finns inte bland klagomals användare. Kontakta systemförvaltaren.").format(
                name=name[:200]
            ),
        )
    ui.session = ui.session.signed_in(user.id)
    return ui.redirect(_safe_next(login.get("till")) or start_page(user.role))


@post("/logga-ut", sync_to_thread=True, name="ui-logout", status_code=303)
def logout(request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]) -> Response[Any]:
    """Sign out: the session cookie is cleared."""
    ui = Ui(request)
    if not ui.form_ok(data):
        return ui.redirect("/")
    response: Response[Any] = Redirect(
        path="/logga-in?" + urllib.parse.urlencode({"ut": "1"}),
        status_code=303,
        headers=dict(SECURITY_HEADERS),
    )
    return ui.end(response)


routes = [login_page, login_demo, login_start, login_oidc, logout]

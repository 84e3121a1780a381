"""Pages: the Jinja2 environment, the request's view of the interface
(:class:`Ui`), and the headers every page carries.

Every page is rendered from ``templates/`` by :meth:`Ui.page`, on
``base.html``: the skip link, the kommun's name and colours, the navigation
the user's role gives, the error summary, the page's ``<main>``.  Texts are
Swedish source strings in ``{{ _("…") }}``, translated like the rest of
klagomal (:mod:`klagomal.core.i18n`).

Every response of the interface carries :data:`SECURITY_HEADERS`: a
Content-Security-Policy without ``unsafe-inline`` (scripts and styles only
from the interface's own ``/static/``), frame denial, no referrer (a
citizen's private link never travels to another site), and no sniffing.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import jinja2
import markupsafe
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.enums import MediaType
from litestar.response import Redirect

from klagomal.app import Klagomal
from klagomal.core.formats import swedish_date
from klagomal.core.i18n import _, active_language, available_languages, ngettext
from klagomal.core.users import Role, User
from klagomal.web.ui.session import COOKIE, CSRF_FIELD, Session, SessionConfig, check_csrf

__all__ = [
    "SECURITY_HEADERS",
    "STATIC",
    "TEMPLATES",
    "FieldError",
    "NavItem",
    "Ui",
    "due_tag",
    "environment",
    "navigation",
]

#: Where the templates are.
TEMPLATES = Path(__file__).parent / "templates"
#: Where the stylesheet, the script and the print stylesheet are.
STATIC = Path(__file__).parent / "static"

#: Headers on every response of the interface.
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


@attrs.frozen
class FieldError:
    """A field's error: the field's id (its ``<input id>``) and the Swedish text."""

    field: str
    text: str


@attrs.frozen
class NavItem:
    """A link of the navigation."""

    href: str
    label: str


def navigation(user: User | None) -> list[NavItem]:
    """The links a user's role gives them, in the order of their day."""
    if user is None:
        return []
    role = user.role
    items: list[NavItem] = []
    if role in (Role.HANDLER, Role.MANAGER, Role.DEPARTMENT_ADMIN, Role.SYSTEM_OWNER):
        items += [
            NavItem("/arenden", _("Mina ärenden")),
            NavItem("/arenden/sok", _("Sök")),
            NavItem("/arenden/ny", _("Registrera")),
        ]
    if role in (Role.MANAGER, Role.DEPARTMENT_ADMIN, Role.SYSTEM_OWNER):
        items.append(NavItem("/chef", _("Chefsöversikt")))
    items.append(NavItem("/admin/rapporter", _("Rapporter")))
    if role in (Role.DEPARTMENT_ADMIN, Role.SYSTEM_OWNER):
        items += [
            NavItem("/admin", _("Administration")),
        ]
    return items


def _date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    return swedish_date(value)


def _datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return f"{swedish_date(value.date())} {value:%H:%M}"


def due_tag(days: int, late: bool) -> markupsafe.Markup:
    """A deadline by urgency, in words and not only colour: *days* working
    days late (*late*), due today or tomorrow, or *days* left.  The macro
    ``due`` of ``macros.html``; a function, because "Mina ärenden" draws one
    on each of hundreds of rows (docs/performance.md, issue 22)."""
    if late:
        text = ngettext("%(num)d arbetsdag sen", "%(num)d arbetsdagar sen", days) % {"num": days}
        return markupsafe.Markup('<strong class="tag tag--late">%s</strong>') % text
    if days <= 1:
        text = _("i dag") if days == 0 else _("i morgon")
        return markupsafe.Markup('<strong class="tag tag--soon">%s</strong>') % text
    text = ngettext("%(num)d arbetsdag kvar", "%(num)d arbetsdagar kvar", days) % {"num": days}
    return markupsafe.Markup('<span class="tag">%s</span>') % text


@functools.cache
def environment() -> jinja2.Environment:
    """The interface's Jinja2 environment: autoescape always, undefined
    names an error, Swedish source strings through ``_``."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _(s), ngettext=lambda s, p, n: ngettext(s, p, n), newstyle=True
    )
    env.filters["datum"] = _date
    env.filters["tid"] = _datetime
    env.globals["due_tag"] = due_tag
    return env


class Ui:
    """One request's view of the interface: its session, its user and the
    :class:`~klagomal.Klagomal` acting as that user, and the page it answers."""

    def __init__(self, request: Request[Any, Any, Any]) -> None:
        self.request = request
        state = request.app.state
        self.config: SessionConfig = state.ui_sessions
        self.base: Klagomal = state.klagomal
        found = self.config.decode(request.cookies.get(COOKIE))
        self.fresh = found is None
        self.session: Session = found if found is not None else Session()
        self._user: User | None = None
        self._k: Klagomal | None = None
        #: Whether the kommun's reverse proxy named the user (the trusted
        #: header): then there is no login or logout in the interface.
        self.by_proxy = False
        named = _proxy_user(request, self.base)
        if named is not None:
            self.session = attrs.evolve(self.session, user=named)
            self.by_proxy = True
        self.flash = self.session.flash
        if self.flash is not None:
            self.session = attrs.evolve(self.session, flash=None)

    @property
    def k(self) -> Klagomal:
        """The instance acting as the signed-in user (or as nobody)."""
        if self._k is None:
            from klagomal.web.auth import LOCK_WAIT

            base = self.base.with_lock_wait(LOCK_WAIT)
            self._k = base.as_user(self.session.user) if self.session.user else base
        return self._k

    @property
    def user(self) -> User | None:
        """The signed-in user, or ``None``."""
        if self.session.user is None:
            return None
        if self._user is None:
            self._user = self.k.user
        return self._user

    def form_ok(self, form: Mapping[str, Any]) -> bool:
        """Whether the posted *form* carries this session's CSRF token."""
        return not self.fresh and check_csrf(self.session, form)

    def say(self, kind: str, text: str) -> None:
        """Show *text* on the next page (after a redirect): ``kind`` is
        ``"ok"`` (a confirmation) or ``"info"``."""
        self.session = attrs.evolve(self.session, flash=(kind, text))

    def page(
        self,
        template: str,
        *,
        title: str,
        status: int = 200,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
        citizen: bool = False,
        **context: Any,
    ) -> Response[str]:
        """The page *template* with *context*; with *errors*, the page's
        title starts "Fel:" and the error summary lists them.  A *citizen*
        page shows no staff navigation and nobody signed in, whoever is."""
        if errors:
            title = _("Fel: {title}").format(title=title)
        html = (
            environment()
            .get_template(template)
            .render(
                title=title,
                errors=list(errors),
                error_for={e.field: e.text for e in errors},
                flash=self.flash,
                user=None if citizen else self.user,
                nav=[] if citizen else navigation(self.user),
                kommun=self.base.organisation,
                csrf_field=CSRF_FIELD,
                csrf_token=self.session.csrf,
                path=self.request.url.path,
                by_proxy=self.by_proxy,
                language=active_language(),
                # An error page's language links lead to the form, never back to the
                # address asked for (a 404 must not differ by what was asked).
                back=self.request.url.path if status < 400 else "/tyck-till",
                languages=available_languages() if citizen else {},
                **context,
            )
        )
        response: Response[str] = Response(
            content=html,
            status_code=status,
            media_type=MediaType.HTML,
            headers={**SECURITY_HEADERS, **(headers or {})},
        )
        return self.keep(response)

    def redirect(self, to: str) -> Response[Any]:
        """A redirect (303: after a form, the next page is fetched with GET)."""
        response: Response[Any] = Redirect(path=to, status_code=303, headers=dict(SECURITY_HEADERS))
        return self.keep(response)

    def keep(self, response: Response[Any]) -> Response[Any]:
        """Set the (renewed) session cookie on *response*."""
        import time

        self.session = attrs.evolve(self.session, seen=time.time())
        response.set_cookie(self.cookie(self.config.encode(self.session)))
        return response

    def cookie(self, value: str, *, max_age: int | None = None) -> Cookie:
        """The session cookie with *value*: HttpOnly, Secure, SameSite=Lax."""
        return Cookie(
            key=COOKIE,
            value=value,
            path="/",
            httponly=True,
            secure=True,
            samesite="lax",
            max_age=max_age,
        )

    def end(self, response: Response[Any]) -> Response[Any]:
        """Clear the session cookie on *response* (logout)."""
        response.set_cookie(self.cookie("", max_age=0))
        return response


def _proxy_user(request: Request[Any, Any, Any], base: Klagomal) -> str | None:
    """The user the trusted header of the kommun's reverse proxy names, when
    the request comes from the proxy's address (:mod:`klagomal.web.auth`)."""
    trusted = request.app.state.get("trusted_header")
    if trusted is None:
        return None
    name = request.headers.get(trusted.header)
    if name is None or not trusted.trusts(request.client.host if request.client else None):
        return None
    name = name.strip()
    if not name or len(name) > 200 or not name.isprintable():
        return None
    user = base.as_user(name).user
    return None if user is None else user.id


def nonce() -> str:
    """A random value for a login's state and nonce."""
    return secrets.token_urlsafe(24)


Handler = Callable[..., Any]

"""The citizen's page "Följ ditt ärende": the private link of a case
(:mod:`klagomal.cases.follow`), with no login (R7, R9, R13, R27).

* ``GET /folj/{token}``: what :meth:`klagomal.Klagomal.follow` gives the
  person, the state, the dates, the förvaltning and unit (and the
  handläggare once the besked has named them), and the letters meant for
  them, readable and printable (print.css); a form to add information.
* ``POST /folj/{token}/komplettera``: :meth:`klagomal.Klagomal.add_information`;
  a refusal gives the page again with the library's reason and what was
  written kept (422); else back to the page with a confirmation.

An unknown or revoked token gives one and the same Swedish 404 page, which
does not tell whether a case exists.  The token is in the address by design
(it is the private link): the page's title holds nothing of the case, every
page carries ``Referrer-Policy: no-referrer`` and ``Cache-Control: no-store``
(:data:`~klagomal.web.ui.render.SECURITY_HEADERS`), and both routes are
rate-limited per client address (``KLAGOMAL_RATE_LIMIT``, counted on their
own: :data:`~klagomal.web.ratelimit.FOLLOW`); over the limit the person gets
a Swedish page (429, ``Retry-After``) with what they wrote kept, as they do
when the database is busy (503).

The page acts as nobody (the base instance, whoever is signed in): the
library audits each look and addition as ``medborgare (följ-länk)``.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from klagomal.app import Klagomal
from klagomal.cases.follow import TEXT_MAX, CaseForCitizen
from klagomal.core import errors
from klagomal.core.formats import number
from klagomal.core.i18n import _
from klagomal.intake import webform
from klagomal.web.ratelimit import FOLLOW, PageRateLimit, over_limit
from klagomal.web.ui.citizen import FORM_PATH
from klagomal.web.ui.render import FieldError, Ui

__all__ = ["FIELD", "PAGE_PATH", "PUBLIC", "FollowRateLimit", "routes"]

#: For anyone, signed in or not (the leak canaries hold these pages to what is public).
PUBLIC = True

#: The page's route; the link is ``<base>/folj/<token>``.
PAGE_PATH = "/folj/{token:str}"
#: The id and name of the text field for adding information.
FIELD = "information"

#: A posted form's fields.
Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class FollowRateLimit(PageRateLimit):
    """The rate limit of "Följ ditt ärende": each look and each addition,
    per client address, counted on its own."""

    store = FOLLOW


def _library(ui: Ui, lock_wait: float | None = None) -> Klagomal:
    """The library as nobody: the token is the person's, not a user's."""
    from klagomal.web.auth import LOCK_WAIT

    return ui.base.with_lock_wait(LOCK_WAIT if lock_wait is None else lock_wait)


def _gone(ui: Ui) -> Response[Any]:
    """The one page for a token that is no live link: the same whether it
    never was one or was revoked, and whatever the case."""
    return ui.page(
        "error.html",
        title=_("Länken fungerar inte"),
        status=404,
        citizen=True,
        home=FORM_PATH,
        message=_(
            "Länken till Följ ditt ärende fungerar inte. Kontrollera att du har fått med hela länken. "
            "Den kan också ha ersatts av en ny länk. Kontakta kommunen om du vill veta hur det går "
            "med ditt ärende."
        ),
    )


def _again(
    ui: Ui, title: str, lead: str, status: int, seconds: int, action: str, text: str = ""
) -> Response[Any]:
    """Not now: the page says why, and keeps what the person wrote, ready to send again."""
    return ui.page(
        "follow_again.html",
        title=title,
        status=status,
        citizen=True,
        home=FORM_PATH,
        headers={"Retry-After": str(seconds)},
        lead=lead,
        action=action,
        text=text,
        field=FIELD,
    )


def _too_many(ui: Ui, seconds: int, action: str, text: str = "") -> Response[Any]:
    lead = _("Det har kommit för många försök från din uppkoppling. Vänta en stund och försök sedan igen.")
    return _again(ui, _("För många försök"), lead, 429, seconds, action, text)


def _page(
    ui: Ui,
    token: str,
    found: CaseForCitizen,
    *,
    text: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response[Any]:
    return ui.page(
        "follow.html",
        # Nothing of the case in the title: it is in the browser's history and tabs.
        title=_("Följ ditt ärende"),
        status=status,
        errors=[FieldError(FIELD, error)] if error else [],
        citizen=True,
        home=FORM_PATH,
        case=found,
        action=f"/folj/{token}/komplettera",
        text=text,
        field=FIELD,
        limit_text=_("Högst {limit} tecken.").format(limit=number(TEXT_MAX)),
    )


@get(PAGE_PATH, sync_to_thread=True, name="ui-follow", middleware=[FollowRateLimit])
def follow_page(request: Request[Any, Any, Any], token: str) -> Response[Any]:
    """The case for the person, or the page for a link that does not work."""
    ui = Ui(request)
    limited = over_limit(request)
    if limited is not None:
        return _too_many(ui, limited, request.url.path)
    found = _library(ui).follow(token)
    if found is None:
        return _gone(ui)
    return _page(ui, token, found)


@post(
    "/folj/{token:str}/komplettera",
    sync_to_thread=True,
    name="ui-follow-add",
    middleware=[FollowRateLimit],
    status_code=303,
)
def add_information(
    request: Request[Any, Any, Any],
    token: str,
    data: dict[str, str] = Form,
) -> Response[Any]:
    """Lägg till information: threaded into the case, or the page again with why not."""
    ui = Ui(request)
    text = data.get(FIELD, "")
    text = text if isinstance(text, str) else ""
    limited = over_limit(request)
    if limited is not None:
        return _too_many(ui, limited, request.url.path, text)
    k = _library(ui, webform.LOCK_WAIT)
    try:
        added = k.add_information(token, text)
    except errors.TransientStorageError:
        lead = _("Vi kunde inte ta emot det du skrev just nu, eftersom systemet är upptaget.")
        return _again(ui, _("Systemet är upptaget"), lead, 503, webform.RETRY_AFTER, request.url.path, text)
    except (errors.InvalidInputError, errors.InvalidStepError) as exc:
        found = k.follow(token)
        if found is None:
            return _gone(ui)
        reason = getattr(exc, "reason", None) or str(exc)
        reason = reason[:1].upper() + reason[1:]
        return _page(ui, token, found, text=text, error=reason, status=422)
    if added is None:
        return _gone(ui)
    ui.say(
        "ok",
        _("Tack, vi har tagit emot det du skrev. Det finns nu i ärende {reference}.").format(
            reference=added.reference
        ),
    )
    return ui.redirect(f"/folj/{token}")


routes = [follow_page, add_information]

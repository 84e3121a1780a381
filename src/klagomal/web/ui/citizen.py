"""The citizen's pages: the web form "Tala om vad du tycker" and its receipt.

The form is :mod:`klagomal.intake.webform`'s: its fields (:data:`~klagomal.intake.webform.FIELDS`,
drawn in order with their labels, help texts and choices), its checks
(:func:`~klagomal.intake.webform.validate_form`), its registration through
the channel ``webbformular`` and its receipt.  This module only draws them
and carries the person from one page to the next:

* ``GET /tyck-till``: the form, with the kommun's name and no staff
  navigation, and how the kommun handles personal data;
* ``POST /tyck-till``: checked; with errors the form again with everything
  written kept (400); a busy database, the form again with
  :data:`~klagomal.intake.webform.BUSY_TEXT` (503, ``Retry-After``); too many
  forms from one address, the same with :data:`~klagomal.intake.webform.TOO_MANY_TEXT`
  (429, ``KLAGOMAL_RATE_LIMIT``, :mod:`klagomal.web.ratelimit`); else the case is
  registered, its photos stored without their metadata, and the browser goes
  on to the receipt (Post/Redirect/Get);
* ``GET /tyck-till/tack``: the receipt (:func:`~klagomal.intake.webform.receipt`),
  with the private link "Följ ditt ärende" (:mod:`klagomal.web.ui.follow`).
  The case's reference and the link's token travel in the signed session,
  never in the address.

The form registers on behalf of the public as klagomal itself (the system
user), with ``webbformular`` as the actor of the registration, as the
example application does (docs/intake-webform.md).
"""

from __future__ import annotations

import itertools
from typing import Any

import anyio.to_thread
import attrs
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile

from klagomal.app import Klagomal
from klagomal.cases.follow import follow_url, public_url
from klagomal.core import errors
from klagomal.core.formats import number
from klagomal.core.i18n import _, active_language
from klagomal.core.users import SYSTEM_USER
from klagomal.intake import webform
from klagomal.web.ratelimit import WEBFORM, PageRateLimit, over_limit
from klagomal.web.ui.render import FieldError, Ui

__all__ = [
    "FORM_PATH",
    "PUBLIC",
    "RECEIPT_PATH",
    "FormRateLimit",
    "private_link",
    "routes",
    "shown_fields",
]

#: For anyone, signed in or not (the leak canaries hold these pages to what is public).
PUBLIC = True

#: Where the form is.
FORM_PATH = "/tyck-till"
#: Where the receipt is.
RECEIPT_PATH = "/tyck-till/tack"


#: A part's type that says nothing: the type is then guessed from the file's name.
_UNKNOWN_TYPES = {"", "application/octet-stream"}


def _registrar(ui: Ui) -> Klagomal:
    """The library acting for the public: klagomal itself."""
    return ui.base.as_user(SYSTEM_USER)


def _fallback_unit(k: Klagomal) -> str:
    """Where feedback naming no unit goes: the organisation file's
    ``[intag] enhet``, else the system owner's förvaltning (R24), which
    forwards it (R12)."""
    org = k.organisation
    return org.intake.unit or org.system_owner


def shown_fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields of *schema* (:func:`~klagomal.intake.webform.form_schema`)
    the page draws: all of them, but the box for anonymous feedback only
    where some förvaltning accepts it through the web form (R5)."""
    offer_anonymous = schema["anonymous_allowed"] or bool(schema["anonymous_units"])
    return [f for f in schema["fields"] if f["id"] != "anonym" or offer_anonymous]


def _form(
    ui: Ui,
    values: dict[str, str],
    *,
    messages: dict[str, str] | None = None,
    status: int = 200,
    notice: str = "",
    photos_again: bool = False,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    k = _registrar(ui)
    schema = webform.form_schema(k.organisation, k)
    fields = [
        {
            **f,
            "options": [(c["value"], c["label"]) for c in f["choices"]],
            # Said, not enforced with maxlength: a browser cuts pasted text without a word.
            "limit_text": _("Högst {limit} tecken.").format(limit=number(f["max_length"]))
            if f["max_length"] and f["max_length"] >= 1000
            else "",
        }
        for f in shown_fields(schema)
    ]
    sections = [(group, list(items)) for group, items in itertools.groupby(fields, lambda f: f["group"])]
    privacy = webform.translated(webform.CONSENT_TEXT).split("\n\n")
    found = [FieldError(field, text) for field, text in (messages or {}).items()]
    return ui.page(
        "citizen_form.html",
        title=schema["title"],
        status=status,
        errors=found,
        headers=headers,
        citizen=True,
        home=FORM_PATH,
        schema=schema,
        sections=sections,
        groups=schema["groups"],
        values=values,
        checked=webform.checked,
        notice=notice,
        privacy_heading=privacy[0],
        privacy=privacy[1:],
        acknowledgement=webform.ACKNOWLEDGEMENT,
        photo=webform.PHOTO_FIELD,
        photos_again=photos_again,
        photos_again_text=webform.translated(webform.PHOTOS_AGAIN),
        form_path=FORM_PATH,
    )


class FormRateLimit(PageRateLimit):
    """The rate limit of the form's posts, counted on its own
    (:data:`~klagomal.web.ratelimit.WEBFORM`)."""

    store = WEBFORM


@get(FORM_PATH, sync_to_thread=True, name="ui-citizen-form")
def form_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """Tala om vad du tycker: the empty form.  A receipt of an earlier form
    in this browser is forgotten (a shared computer's next person)."""
    ui = Ui(request)
    ui.session = attrs.evolve(ui.session, receipt=None, follow=None)
    return _form(ui, {})


@post(FORM_PATH, name="ui-citizen-send", middleware=[FormRateLimit], status_code=303)
async def send(request: Request[Any, Any, Any]) -> Response[Any]:
    """The form sent: registered and on to the receipt, or back with why not."""
    raw = await request.form()
    texts: dict[str, str | list[str]] = {}
    uploads: list[tuple[str, bytes, str | None]] = []
    for key, value in raw.multi_items():
        if isinstance(value, UploadFile):
            if key == webform.PHOTO_FIELD.id:
                media = (value.content_type or "").split(";")[0].strip().lower()
                uploads.append(
                    (value.filename or "", await value.read(), None if media in _UNKNOWN_TYPES else media)
                )
            continue
        texts.setdefault(key, [])
        held = texts[key]
        assert isinstance(held, list)
        held.append(value)
    limited = over_limit(request)
    return await anyio.to_thread.run_sync(lambda: _send(Ui(request), texts, uploads, limited))


def _send(
    ui: Ui,
    texts: dict[str, str | list[str]],
    uploads: list[tuple[str, bytes, str | None]],
    limited: int | None,
) -> Response[Any]:
    photos_sent = any(name or data for name, data, _media in uploads)
    if limited is not None:
        return _form(
            ui,
            webform.form_values(texts),
            status=429,
            notice=webform.translated(webform.TOO_MANY_TEXT),
            photos_again=photos_sent,
            headers={"Retry-After": str(limited)},
        )
    k = _registrar(ui)
    fallback = _fallback_unit(k)
    chosen = webform.chosen_unit(k.organisation, webform.form_values(texts).get("enhet")) or fallback
    result = webform.validate_form(
        texts,
        k.organisation,
        allow_anonymous=webform.anonymous_allowed(k, chosen),
        today=k.clock.today(),
    )
    if isinstance(result, webform.FormErrors):
        if result.spam:
            # A robot: the receipt page without a reference, and nothing stored.
            ui.session = attrs.evolve(ui.session, receipt=None, follow=None)
            return ui.redirect(RECEIPT_PATH)
        return _form(ui, result.values, messages=result.messages, status=400, photos_again=photos_sent)
    written = webform.form_values(texts)
    try:
        photos = webform.check_photos(uploads)
    except errors.InvalidInputError as exc:
        reason = exc.reason[:1].upper() + exc.reason[1:]
        return _form(ui, written, messages={webform.PHOTO_FIELD.id: reason}, status=422, photos_again=True)
    try:
        registration = webform.register_submission(
            k, result, fallback_unit=fallback, language=active_language()
        )
        case = registration.case
    except errors.TransientStorageError:
        return _form(
            ui,
            written,
            status=503,
            notice=webform.translated(webform.BUSY_TEXT),
            photos_again=photos_sent,
            headers={"Retry-After": str(webform.RETRY_AFTER)},
        )
    except errors.InvalidInputError as exc:
        return _form(ui, written, messages={"text": exc.reason}, status=422, photos_again=photos_sent)
    if photos and not webform.attach_photos(k, case.reference, photos):
        ui.say("info", webform.translated(webform.PHOTOS_NOT_SAVED))
    # The private link, for the receipt page (klagomal.web.ui.follow): only its hash is stored.
    ui.session = attrs.evolve(ui.session, receipt=case.reference, follow=registration.follow_token)
    return ui.redirect(RECEIPT_PATH)


def private_link(request: Request[Any, Any, Any], token: str) -> str:
    """The whole "Följ ditt ärende" link of *token*: below
    ``KLAGOMAL_PUBLIC_URL`` when it is set, else below the address the
    request came to (the kommun's own site)."""
    base = public_url() or str(request.base_url)
    return follow_url(base, token)


@get(RECEIPT_PATH, sync_to_thread=True, name="ui-citizen-receipt")
def receipt_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The receipt of the form this browser just sent: the reference, the
    day received, what happens next and by when, how the besked comes."""
    ui = Ui(request)
    reference = ui.session.receipt
    receipt = None
    mailed = False
    if reference is not None:
        try:
            case = _registrar(ui).get(reference)
            receipt = webform.receipt(case)
            # The kvittens carries the link when the public address is known (webform.register_submission).
            mailed = bool(case.contact and case.contact.email and public_url())
        except errors.CaseNotFoundError:
            ui.session = attrs.evolve(ui.session, receipt=None, follow=None)
    token = ui.session.follow if receipt is not None else None
    return ui.page(
        "follow_receipt.html",
        title=webform.translated(webform.RECEIPT_TITLE),
        citizen=True,
        home=FORM_PATH,
        receipt=receipt,
        form_path=FORM_PATH,
        follow_link=private_link(request, token) if token else None,
        mailed=mailed,
    )


routes = [form_page, send, receipt_page]

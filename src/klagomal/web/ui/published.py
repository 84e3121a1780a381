"""The public list of answered cases, "Besvarade synpunkter" (R27,
:mod:`klagomal.records.publication`): what people said and what the kommun
answered, as the library publishes it, masked.  For anyone, signed in or
not, with no staff navigation:

* ``GET /besvarade``: the published cases, newest published first,
  :data:`PER_PAGE` a page (``?sida=N``), of the whole kommun or of one
  förvaltning (``?forvaltning=soc``, a GET form: a förvaltning's id is not
  personal); each with its reference, kind, förvaltning, dimensions, the
  days it was received and answered, the masked description and the masked
  answer, shortened to :data:`SHORT` characters with a link to the case;
* ``GET /besvarade/{reference}``: one published case in full; a case that
  is not published (or no longer may be) and one that does not exist get
  the same 404 page.

A kommun that has not turned publication on (``[publicering] tillaten``)
gets the list page saying so (200) and 404 for every case: nothing is read.
The pages only show what :meth:`~klagomal.Klagomal.published` and
:meth:`~klagomal.Klagomal.published_case` give, which audit the read.
Both are limited per client address (``KLAGOMAL_RATE_LIMIT``,
:mod:`klagomal.web.ratelimit`), counted on their own
(:data:`~klagomal.web.ratelimit.PUBLISHED`): over the limit, a Swedish page
with status 429 and ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from klagomal.app import Klagomal
from klagomal.core import errors
from klagomal.core.i18n import _
from klagomal.records.publication import PublishedCase
from klagomal.web.ratelimit import PUBLISHED, PageRateLimit, over_limit
from klagomal.web.ui.render import FieldError, Ui

__all__ = ["LIST_PATH", "PER_PAGE", "PUBLIC", "SHORT", "PublishedRateLimit", "routes", "shorten"]

#: For anyone, signed in or not (the leak canaries hold these pages to what is public).
PUBLIC = True

#: Where the list is.
LIST_PATH = "/besvarade"
#: Cases a page.
PER_PAGE = 20
#: The highest page number the list answers (beyond it: 404).
MAX_PAGE = 10_000
#: The longest text the list shows whole; a longer one is shortened, with a link to the case.
SHORT = 400
#: Where the citizen gives feedback (:mod:`klagomal.web.ui.citizen`).
FORM_PATH = "/tyck-till"


class PublishedRateLimit(PageRateLimit):
    """The rate limit of the list's pages, counted on its own
    (:data:`~klagomal.web.ratelimit.PUBLISHED`)."""

    store = PUBLISHED


def shorten(text: str, limit: int = SHORT) -> tuple[str, bool]:
    """*text* whole when it is at most *limit* characters, else cut at the
    last space before the limit with an ellipsis; and whether it was cut."""
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + " …", True


def _reader(ui: Ui) -> Klagomal:
    """The library for the public list: public, so acting as nobody in
    particular (the read is audited as klagomal), waiting briefly for locks."""
    from klagomal.web.auth import LOCK_WAIT

    return ui.base.with_lock_wait(LOCK_WAIT)


def _view(ui: Ui, case: PublishedCase) -> dict[str, Any]:
    dimensions = ui.base.dimensions
    return {
        "case": case,
        "dimensions": [dimensions[d].label if d in dimensions else d for d in case.dimensions],
    }


def _too_many(ui: Ui, wait: int) -> Response[str]:
    return ui.page(
        "error.html",
        title=_("För många förfrågningar"),
        status=429,
        headers={"Retry-After": str(wait)},
        citizen=True,
        home=LIST_PATH,
        message=_("Du har frågat efter sidorna många gånger på kort tid. Vänta en stund och försök igen."),
    )


def _not_found(ui: Ui) -> Response[str]:
    """The same page for a case that is not published and one that does not exist."""
    return ui.page(
        "published_missing.html",
        title=_("Sidan finns inte"),
        status=404,
        citizen=True,
        home=LIST_PATH,
        list_path=LIST_PATH,
        form_path=FORM_PATH,
    )


def _page_number(raw: str | None) -> int | None:
    """``?sida``: a whole number from 1 to :data:`MAX_PAGE` (1 when absent), else ``None``."""
    if raw is None or raw == "":
        return 1
    if not raw.isascii() or not raw.isdigit():
        return None
    number = int(raw)
    return number if 1 <= number <= MAX_PAGE else None


def _address(page: int, department: str | None) -> str:
    """The list's address for *page* of *department* (or the whole kommun)."""
    query = []
    if department:
        query.append(f"forvaltning={department}")
    if page > 1:
        query.append(f"sida={page}")
    return LIST_PATH + ("?" + "&".join(query) if query else "")


@get(LIST_PATH, sync_to_thread=True, name="ui-published-list", middleware=[PublishedRateLimit])
def list_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """Besvarade synpunkter: the published cases, a page of them."""
    ui = Ui(request)
    limited = over_limit(request)
    if limited is not None:
        return _too_many(ui, limited)
    organisation = ui.base.organisation
    departments = [(d.id, d.name) for d in organisation.departments.values()]
    common: dict[str, Any] = {
        "citizen": True,
        "home": LIST_PATH,
        "form_path": FORM_PATH,
        "list_path": LIST_PATH,
        "departments": [("", _("Alla förvaltningar")), *departments],
    }
    title = _("Besvarade synpunkter")
    if not organisation.publication:
        return ui.page("published_list.html", title=title, enabled=False, department="", **common)
    page = _page_number(request.query_params.get("sida"))
    if page is None:
        return _not_found(ui)
    department = request.query_params.get("forvaltning") or None
    try:
        # One more than a page: whether there is a next page.
        found = _reader(ui).published(limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE, department=department)
    except errors.InvalidInputError as exc:
        # The reason begins with the förvaltning's id as asked for: kept as written.
        return ui.page(
            "published_list.html",
            title=title,
            status=400,
            errors=[FieldError("forvaltning", exc.reason)],
            enabled=True,
            department=department or "",
            items=[],
            page=1,
            previous=None,
            following=None,
            **common,
        )
    items = []
    for case in found[:PER_PAGE]:
        view = _view(ui, case)
        view["description"], view["description_cut"] = shorten(case.description)
        view["answer"], view["answer_cut"] = shorten(case.answer)
        items.append(view)
    return ui.page(
        "published_list.html",
        title=title if page == 1 else _("Besvarade synpunkter, sida {page}").format(page=page),
        enabled=True,
        department=department or "",
        department_name=organisation.departments[department].name if department else "",
        items=items,
        page=page,
        previous=_address(page - 1, department) if page > 1 else None,
        following=_address(page + 1, department) if len(found) > PER_PAGE else None,
        first=_address(1, department),
        **common,
    )


@get(
    f"{LIST_PATH}/{{reference:str}}",
    sync_to_thread=True,
    name="ui-published-case",
    middleware=[PublishedRateLimit],
)
def case_page(request: Request[Any, Any, Any], reference: str) -> Response[Any]:
    """One published case, in full; 404 when it is not published, whether or not it exists."""
    ui = Ui(request)
    limited = over_limit(request)
    if limited is not None:
        return _too_many(ui, limited)
    if not ui.base.organisation.publication or len(reference) > 64:
        return _not_found(ui)
    found = _reader(ui).published_case(reference)
    if found is None:
        return _not_found(ui)
    return ui.page(
        "published_case.html",
        title=_("Besvarad synpunkt {reference}").format(reference=found.reference),
        citizen=True,
        home=LIST_PATH,
        list_path=LIST_PATH,
        form_path=FORM_PATH,
        view=_view(ui, found),
    )


routes = [list_page, case_page]

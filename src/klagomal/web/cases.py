"""The endpoints of cases: register, read a case and its history, list
cases and the caller's worklist (docs/api.md).

A case is sent as ``klagomal show --json`` prints it (the library's own
converter, :func:`klagomal.core.serialization.case_to_json`), with its
``version`` also in the ``ETag`` header: the value a step's ``If-Match``
names (:mod:`klagomal.web.steps`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from typing import TYPE_CHECKING, Annotated, Any

import attrs
from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from klagomal.core.i18n import _
from klagomal.core.model import Contact
from klagomal.core.serialization import case_to_json
from klagomal.core.users import handler_name
from klagomal.web.auth import Caller
from klagomal.web.idempotency import idempotent
from klagomal.web.problems import ProblemError

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.core.model import Case

__all__ = ["RegisterBody", "case_json", "etag", "routes"]

#: The most rows one page of a list holds, and the default.
MAX_LIMIT = 500
DEFAULT_LIMIT = 100


def etag(case: Case) -> str:
    """The case's version as a strong entity tag: ``"3"``."""
    return f'"{case.version}"'


def case_json(k: Caller, case: Case, *, history: bool = False) -> dict[str, Any]:
    """*case* as the API sends it: as ``klagomal show --json`` prints it."""
    obj = case_to_json(k.converter, case, k.history(case.reference) if history else None)
    obj["version"] = case.version
    obj["handler"] = handler_name(k.organisation.users, case.handler)
    obj["handler_id"] = case.handler if case.handler in k.organisation.users else None
    obj["overdue"] = case.overdue_reason(k.clock.today())
    deadline = k.open_deadline(case)
    obj["deadline"] = None if deadline is None else k.converter.unstructure(deadline)
    return obj


def case_response(k: Caller, case: Case, status: int = 200, **extra: Any) -> Response[dict[str, Any]]:
    headers = {"ETag": etag(case), **extra.pop("headers", {})}
    return Response(case_json(k, case, **extra), status_code=status, headers=headers)


@attrs.frozen
class RegisterBody:
    """New feedback (:meth:`klagomal.Klagomal.register`): without
    ``contact``, anonymous."""

    kind: str
    """``klagomal``, ``forslag`` or ``berom`` (or another kind the organisation file adds)."""
    channel: str
    """How it came in: ``webbformular``, ``epost``, ``telefon``, ``brev``, ``besok``, ..."""
    text: str
    unit: str | None = None
    received: dt.date | None = None
    contact: Contact | None = None
    dimensions: list[str] = attrs.field(factory=list)
    serious: bool = False
    summary: str | None = None
    resolved: str | None = None
    """What was done, when the case was put right at once (with ``resolved_by``)."""
    resolved_by: str | None = None
    language: str | None = None
    """The language the person writes in and gets letters in: ``sv`` (by
    default), ``en`` or one the kommun's catalogues add (lag 2009:724)."""


@post("/cases", status_code=201, sync_to_thread=True, summary="Registrera en synpunkt")
def register(request: Request[Any, Any, Any], k: Caller, data: JSONBody[RegisterBody]) -> Response[Any]:
    """Register new feedback; the new case, with its reference."""

    def work() -> Response[Any]:
        case = k.register(
            kind=data.kind,
            channel=data.channel,
            text=data.text,
            unit=data.unit,
            received=data.received,
            contact=data.contact,
            dimensions=tuple(data.dimensions),
            serious=data.serious,
            summary=data.summary,
            resolved=data.resolved,
            resolved_by=data.resolved_by,
            language=data.language,
        )
        return case_response(k, case, 201, headers={"Location": f"/api/v1/cases/{case.reference}"})

    return idempotent(request, k, data, work)


@get("/cases/{reference:str}", sync_to_thread=True, summary="Läs ett ärende")
def read_case(k: Caller, reference: FromPath[str]) -> Response[dict[str, Any]]:
    """The case as the caller may see it, with its ``ETag``."""
    return case_response(k, k.get(reference))


@get("/cases/{reference:str}/history", sync_to_thread=True, summary="Läs ett ärendes historik")
def read_history(k: Caller, reference: FromPath[str]) -> Response[dict[str, Any]]:
    """The case with its events, as the caller may see them."""
    return case_response(k, k.get(reference), history=True)


def _cursor(value: str | None) -> str:
    """What a cursor of :func:`_next_cursor` holds; a 422 for anything else."""
    if value is None:
        return ""
    try:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
            raise ValueError(value)
        decoded = base64.urlsafe_b64decode(value.encode("ascii") + b"=" * (-len(value) % 4)).decode("utf-8")
        if not decoded or _next_cursor(decoded) != value:
            raise ValueError(value)
        return decoded
    except (binascii.Error, UnicodeError, ValueError):
        raise ProblemError(
            422, _("pekaren '{cursor}' är ogiltig; använd next från förra sidan").format(cursor=value)
        ) from None


def _next_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="rader per sida")]


@get("/cases", sync_to_thread=True, summary="Lista ärenden")
def list_cases(
    k: Caller,
    unit: FromQuery[str | None] = None,
    case_state: Annotated[
        str | None, QueryParameter(name="state", description="ärendets tillstånd; open: alla utom avslutat")
    ] = None,
    overdue: FromQuery[bool] = False,
    handler: FromQuery[str | None] = None,
    subtree: Annotated[bool, QueryParameter(description="med unit: också enheterna under den")] = False,
    due_within: Annotated[
        int | None,
        QueryParameter(ge=0, le=366, description="tidsfristen går ut inom så många arbetsdagar (0: i dag)"),
    ] = None,
    manager: Annotated[
        str | None, QueryParameter(description="ärendena i enheterna som denna chef leder (id eller namn)")
    ] = None,
    unassigned: Annotated[bool, QueryParameter(description="bara ärenden utan handläggare")] = False,
    cursor: FromQuery[str | None] = None,
    limit: Limit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """The cases the caller may read, by reference; ``next`` is the cursor
    of the next page (``null`` on the last).  The filters are those of
    :meth:`klagomal.Klagomal.cases` (``klagomal list``)."""
    after = _cursor(cursor)
    found = sorted(
        (
            c
            for c in k.cases(
                unit=unit,
                subtree=subtree,
                state=case_state,
                overdue=overdue,
                due_within=due_within,
                handler=handler,
                manager=manager,
                unassigned=unassigned,
            )
            if c.reference > after
        ),
        key=lambda c: c.reference,
    )
    page = found[:limit]
    more = len(found) > limit
    return {
        "cases": [case_json(k, case) for case in page],
        "next": _next_cursor(page[-1].reference) if more else None,
    }


@get("/worklist", sync_to_thread=True, summary="Min arbetslista")
def worklist(k: Caller, cursor: FromQuery[str | None] = None, limit: Limit = DEFAULT_LIMIT) -> dict[str, Any]:
    """The caller's worklist (``klagomal list --mine``), due first.  The
    order changes as days pass, so its cursor is a position in it."""
    start_text = _cursor(cursor)
    start = int(start_text) if start_text.isdigit() else 0
    if start_text and not start_text.isdigit():
        raise ProblemError(
            422, _("pekaren '{cursor}' är ogiltig; använd next från förra sidan").format(cursor=cursor)
        )
    # One row more than the page: whether there is a next page.
    items = k.worklist(start=start, limit=limit + 1)
    page = items[:limit]
    return {
        "worklist": [
            {
                "reference": item.reference,
                "what": item.what,
                "kind": item.case.kind.value,
                "unit": item.case.unit,
                "state": item.case.state.value,
                "handler": handler_name(k.organisation.users, item.case.handler),
                "deadline": item.deadline,
                "due": None if item.due is None else item.due.isoformat(),
                "days_left": item.days_left,
                "overdue": item.overdue,
                "version": item.case.version,
            }
            for item in page
        ],
        "next": _next_cursor(str(start + limit)) if len(items) > limit else None,
    }


@get("/whoami", sync_to_thread=True, summary="Vem anropar")
def whoami(k: Caller) -> dict[str, Any]:
    """The user the API key acts as: id, name and role."""
    user = k.user
    assert user is not None  # the key's user, or a 401 before
    return {"id": user.id, "name": user.name, "role": user.role.value}


routes = [register, read_case, read_history, list_cases, worklist, whoami]

"""Errors as RFC 9457 problem details (``application/problem+json``), with
``title`` and ``detail`` in Swedish.

Each error class of the library has one problem type, so that a calling
system can tell a refused step from a conflict, a denial or bad input
without reading the Swedish text (:data:`PROBLEMS`); HTTP's own errors
(no such route, a body that is no JSON, a body too large) get theirs too.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import attrs
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from klagomal.core import errors
from klagomal.core.i18n import _

__all__ = [
    "HTTP_PROBLEMS",
    "PROBLEMS",
    "PROBLEM_JSON",
    "TYPE_BASE",
    "Problem",
    "ProblemError",
    "exception_handlers",
    "klagomal_problem",
    "problem_response",
]

log = logging.getLogger(__name__)

#: The media type of a problem (RFC 9457, section 3).
PROBLEM_JSON = "application/problem+json"

#: Where the problem types are named; each type is this and a short name.
TYPE_BASE = "urn:klagomal:problem:"


@attrs.frozen
class Problem:
    """One problem type: its HTTP status, name and Swedish title."""

    status: int
    name: str
    title: str

    @property
    def type(self) -> str:
        return TYPE_BASE + self.name


#: The library's error classes, most specific first, and their problem types.
PROBLEMS: tuple[tuple[type[Exception], Problem], ...] = (
    (errors.AccessDeniedError, Problem(403, "access-denied", _("Åtkomst nekad"))),
    (errors.CaseNotFoundError, Problem(404, "not-found", _("Ärendet finns inte"))),
    (errors.UnknownUnitError, Problem(422, "unknown-unit", _("Okänd enhet"))),
    (errors.InvalidInputError, Problem(422, "invalid-input", _("Ogiltiga uppgifter"))),
    (errors.InvalidStepError, Problem(409, "refused-step", _("Steget kan inte tas"))),
    (errors.ConflictError, Problem(412, "conflict", _("Ärendet har ändrats"))),
    (errors.TransientStorageError, Problem(503, "busy", _("Databasen är upptagen"))),
    (errors.StorageUnavailableError, Problem(503, "unavailable", _("Databasen kan inte nås"))),
    (errors.SchemaError, Problem(503, "schema", _("Databasens schema passar inte"))),
    (errors.KlagomalError, Problem(422, "refused", _("Begäran kunde inte utföras"))),
)

#: HTTP's own errors, by status.
HTTP_PROBLEMS: dict[int, Problem] = {
    400: Problem(400, "bad-request", _("Felaktig begäran")),
    401: Problem(401, "unauthenticated", _("API-nyckel saknas eller gäller inte")),
    403: Problem(403, "access-denied", _("Åtkomst nekad")),
    404: Problem(404, "no-such-resource", _("Adressen finns inte")),
    405: Problem(405, "method-not-allowed", _("Metoden är inte tillåten här")),
    409: Problem(409, "in-progress", _("Begäran pågår redan")),
    412: Problem(412, "conflict", _("Ärendet har ändrats")),
    413: Problem(413, "too-large", _("Begäran är för stor")),
    415: Problem(415, "unsupported-media-type", _("Innehållstypen stöds inte")),
    422: Problem(422, "invalid-input", _("Ogiltiga uppgifter")),
    428: Problem(428, "precondition-required", _("If-Match krävs")),
    429: Problem(429, "too-many-requests", _("För många anrop")),
    500: Problem(500, "internal", _("Oväntat fel")),
}


class ProblemError(Exception):
    """An error the web face itself raises, as a problem of *status*."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def problem_response(
    problem: Problem, detail: str, request: Request[Any, Any, Any] | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    headers = extra.pop("headers", {})
    body.update(extra)
    return Response(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def _http_problem(status: int) -> Problem:
    return HTTP_PROBLEMS.get(status) or Problem(status, f"http-{status}", _("Fel i begäran"))


def klagomal_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """The problem response of a library error."""
    for cls, problem in PROBLEMS:
        if isinstance(exc, cls):
            headers = {"Retry-After": "1"} if problem.status == 503 else {}
            return problem_response(problem, str(exc), request, headers=headers)
    return _unexpected(request, exc)  # pragma: no cover - KlagomalError is the last entry


def _problem_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    assert isinstance(exc, ProblemError)
    return problem_response(_http_problem(exc.status), exc.detail, request, headers=exc.headers)


#: msgspec's names of JSON types, in Swedish ("ska vara ...").
_TYPES = {
    "str": "text",
    "int": "ett heltal",
    "float": "ett tal",
    "decimal": "ett tal",
    "bool": "true eller false",
    "array": "en lista",
    "object": "ett objekt",
    "null": "null",
    "date": "ett datum (ÅÅÅÅ-MM-DD)",
    "datetime": "en tidpunkt (ÅÅÅÅ-MM-DDTHH:MM:SS)",
    "time": "ett klockslag (HH:MM)",
    "uuid": "ett UUID",
    "bytes": "base64-kodade byte",
    "duration": "en tidslängd",
}

#: Where a parameter is, in Swedish: a body's field, a query parameter, ...
_WHERE = {
    "body": "fältet",
    "query": "parametern",
    "header": "huvudet",
    "path": "adressdelen",
    "cookie": "kakan",
}


def _type_name(name: str) -> str:
    names = [_(_TYPES[part.strip()]) if part.strip() in _TYPES else part.strip() for part in name.split("|")]
    return _(" eller ").join(dict.fromkeys(names))


def _bound(op: str) -> str:
    return {">=": "minst", ">": "större än", "<=": "högst", "<": "mindre än"}[op]


def _reason(message: str) -> tuple[str | None, str]:
    """The Swedish reason of one msgspec/Litestar *message*, and the field a
    message names itself (a missing or unknown field), if any."""
    message = re.sub(r" - at `\$[^`]*`$", "", message.strip())
    m = re.fullmatch(r"Object missing required field `([^`]+)`", message)
    if m:
        return m.group(1), _("saknas")
    m = re.fullmatch(r"Object contains unknown field `([^`]+)`", message)
    if m:
        return m.group(1), _("finns inte här; ta bort det")
    m = re.fullmatch(r"Expected `([^`]+)`, got `([^`]+)`", message)
    if m:
        return None, _("ska vara {expected}, inte {got}").format(
            expected=_type_name(m.group(1)), got=_type_name(m.group(2))
        )
    m = re.fullmatch(r"Expected `([^`]+)` (>=|>|<=|<) (\S+)", message)
    if m:
        return None, _("ska vara {expected}, {bound} {n}").format(
            expected=_type_name(m.group(1)), bound=_(_bound(m.group(2))), n=m.group(3)
        )
    m = re.fullmatch(r"Expected `([^`]+)` of length (>=|>|<=|<) (\d+)", message)
    if m:
        what = _("tecken") if m.group(1) == "str" else _("element")
        return None, _("ska vara {expected} med {bound} {n} {what}").format(
            expected=_type_name(m.group(1)), bound=_(_bound(m.group(2))), n=m.group(3), what=what
        )
    m = re.fullmatch(r"Expected `([^`]+)` of length (\d+), got (\d+)", message)
    if m:
        return None, _("ska ha {n} element, inte {got}").format(n=m.group(2), got=m.group(3))
    m = re.fullmatch(r"Expected `([^`]+)` matching regex (.+)", message)
    if m:
        return None, _("har fel form (ska matcha {pattern})").format(pattern=m.group(2))
    m = re.fullmatch(r"Expected `([^`]+)` that's a multiple of (\S+)", message)
    if m:
        return None, _("ska vara en multipel av {n}").format(n=m.group(2))
    m = re.fullmatch(r"Expected `([^`]+)` with (a|no) timezone component", message)
    if m:
        with_zone = m.group(2) == "a"
        return None, _("ska vara en tidpunkt med tidszon") if with_zone else _(
            "ska vara en tidpunkt utan tidszon"
        )
    m = re.fullmatch(r"Unsupported type: <class '(\w+)'>", message)
    if m:  # a form's text part where a file is wanted
        return None, _("ska vara en fil (en del med filnamn), inte {got}").format(
            got=_type_name(
                {"str": "str", "int": "int", "list": "array", "dict": "object"}.get(m.group(1), "str")
            )
        )
    m = re.fullmatch(r"Invalid enum value (.+)", message)
    if m:
        return None, _("har ett okänt värde {value}").format(value=m.group(1))
    m = re.fullmatch(r"Invalid RFC3339 encoded (date|datetime|time)", message)
    if m:
        return None, _("ska vara {expected}").format(expected=_(_TYPES[m.group(1)]))
    invalid = {
        "Invalid ISO8601 duration": _("ska vara en tidslängd enligt ISO 8601 (till exempel P3D)"),
        "Invalid UUID": _("ska vara ett UUID"),
        "Invalid decimal string": _("ska vara ett tal"),
        "Invalid base64 encoded string": _("ska vara base64-kodade byte"),
        "Integer value out of range": _("är ett för stort heltal"),
    }
    if message in invalid:
        return None, invalid[message]
    return None, _("har fel form")


def _source(item: dict[str, Any]) -> str:
    source = item.get("source")
    return str(getattr(source, "value", source) or "body")


def validation_parts(exc: ValidationException) -> list[str]:
    """Swedish reasons, one a field, of Litestar's and msgspec's
    validation errors: which field, and what is wrong with it."""
    parts = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        named, reason = _reason(str(item.get("message", "")))
        key = str(item.get("key") or "")
        where = _WHERE.get(_source(item), "fältet")
        if named is not None:  # a missing or unknown field: in the object at *key*
            field = named if key in ("", "data") else f"{key}.{named}"
        elif key in ("", "data") and where == "fältet":
            parts.append(_("begärans innehåll {reason}").format(reason=reason))
            continue
        else:
            field = key
        parts.append(_("{where} '{field}' {reason}").format(where=_(where), field=field, reason=reason))
    missing = re.search(r"Missing required (\w+) parameter '([^']+)'", str(exc.detail))
    if missing and not parts:
        where = _WHERE.get(missing.group(1), "parametern")
        parts.append(_("{where} '{field}' saknas").format(where=_(where), field=missing.group(2)))
    return parts


def _validation(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    assert isinstance(exc, ValidationException)
    parts = validation_parts(exc)
    detail = _("begäran kunde inte läsas: {parts}").format(parts="; ".join(parts) or _("fel form"))
    return problem_response(HTTP_PROBLEMS[422], detail, request)


#: Swedish details of HTTP's own errors.
_HTTP_DETAILS = {
    401: _("ange en giltig API-nyckel i huvudet Authorization: Bearer …"),
    404: _("det finns ingen resurs på denna adress"),
    405: _("metoden går inte att använda på denna adress"),
    413: _("begärans innehåll är större än servern tar emot"),
    415: _("innehållstypen stöds inte här"),
    429: _("för många anrop från din adress; vänta och försök igen (se Retry-After)"),
}


def _http_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status >= 500:
        return _unexpected(request, exc)
    if status == 400 and type(exc.__cause__).__name__ == "SerializationException":
        detail = _("begärans innehåll kunde inte läsas som JSON")
    elif status == 400 and "multipart" in str(exc.detail):
        detail = _(
            "begärans innehåll ska vara multipart/form-data med filen i fältet 'file' "
            "(till exempel curl -F file=@bild.jpg)"
        )
    else:
        detail = _HTTP_DETAILS.get(status, _("begäran kunde inte utföras"))
    headers = dict(exc.headers or {})
    if status == 429 and "Retry-After" not in headers:  # the rate limit (klagomal.web.ratelimit)
        reset = headers.get("RateLimit-Reset", "")
        headers["Retry-After"] = str(max(int(reset), 1)) if reset.isdigit() else "60"
    return problem_response(_http_problem(status), detail, request, headers=headers)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error(
        _("klagomal: oväntat fel i HTTP-API:t vid %s %s"), request.method, request.url.path, exc_info=exc
    )
    return problem_response(
        HTTP_PROBLEMS[500],
        _("oväntat fel ({kind}) i klagomal; felet är loggat").format(kind=type(exc).__name__),
        request,
    )


#: The application's exception handlers, most specific first.
exception_handlers: dict[type[Exception] | int, Any] = {
    ProblemError: _problem_error,
    errors.KlagomalError: klagomal_problem,
    ValidationException: _validation,
    HTTPException: _http_error,
    Exception: _unexpected,
}

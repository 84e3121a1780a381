"""Open311 GeoReport v2 (docs/open311.md): how FixaMinGata and other
Open311 clients report a problem to the kommun and follow it.

Everything lives under ``/open311``: the discovery document
(``/open311/discovery.json``) and the endpoint ``/open311/v2/`` with
``services``, ``services/{code}``, ``requests`` (GET and POST),
``requests/{id}`` and ``tokens/{token}``, each in the formats ``.json``
and ``.xml``.

- The GET endpoints are public: no key.  They show only the public view
  of a case (:meth:`klagomal.Klagomal.public_requests`), which the library
  builds and audits: masked, never a secret part, nothing of a protected
  person, no place where the redaction withholds it.
- ``POST requests`` needs ``api_key``: a klagomal API key, whose user
  registers the case through the channel ``open311``, audited as usual.
- ``POST requests`` honours ``Idempotency-Key`` as every POST of the JSON
  API does (:mod:`klagomal.web.idempotency`): a retry with the same key
  gets the first answer again and registers nothing new.
- Errors are Open311's: a list of ``{code, description}``, descriptions
  in Swedish, with the HTTP status as code; an unknown address under
  ``/open311`` too (:func:`unknown`).
- Rate limited per client IP (:mod:`klagomal.web.ratelimit`).

Services are the kinds of feedback and, under each, its quality
dimensions: ``klagomal``, ``klagomal.bemotande``, ``forslag``, ...
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
import re
import xml.etree.ElementTree as ET
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from litestar import HttpMethod, Request, Response, Router, get, post, route
from litestar.exceptions import HTTPException, ValidationException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath, FromQuery

from klagomal.app import IdempotentRequest, Klagomal, Outcome, SubscriptionOutcome
from klagomal.core import errors
from klagomal.core.errors import ConfigurationError
from klagomal.core.i18n import _
from klagomal.core.location_rules import check_location
from klagomal.core.model import Contact, Kind
from klagomal.core.settings import Open311Service
from klagomal.web.auth import LOCK_WAIT
from klagomal.web.idempotency import HEADER as IDEMPOTENCY_KEY
from klagomal.web.idempotency import check_key, run_once
from klagomal.web.problems import PROBLEMS, ProblemError

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.records.public_requests import PublicRequest

__all__ = [
    "CHANNEL",
    "DEFAULT_WINDOW",
    "MAX_REQUESTS",
    "PREFIX",
    "Open311Error",
    "create_router",
    "service_code",
    "services",
]

log = logging.getLogger(__name__)

#: Where Open311 lives.
PREFIX = "/open311"

#: The channel a request posted through Open311 is registered on.
CHANNEL = "open311"

#: The most requests one ``GET requests`` returns, and its default.
MAX_REQUESTS = 1000

#: ``GET requests`` spans at most this many days, and by default the latest.
DEFAULT_WINDOW = 90

#: The spec's document, named in discovery.
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"

#: Dates are days in klagomal; Open311 wants moments: midnight, Swedish time.
TIMEZONE = zoneinfo.ZoneInfo("Europe/Stockholm")

#: The media types of the formats; Litestar adds ``; charset=utf-8`` to a ``text/`` type itself.
_FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml"}


class Open311Error(Exception):
    """An error answered in Open311's form: HTTP *status*, a Swedish *description*."""

    def __init__(self, status: int, description: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = dict(headers or {})


# -- formats ---------------------------------------------------------------------------------------


def _split(name: str) -> tuple[str, str]:
    """``"ABC.json"`` as ``("ABC", "json")``; a 404 for another format."""
    stem, dot, fmt = name.rpartition(".")
    if not dot or fmt not in _FORMATS or not stem:
        raise Open311Error(
            404, _("ange formatet som .json eller .xml i slutet av adressen ({name})").format(name=name)
        )
    return stem, fmt


def _format_of(path: str) -> str:
    return "xml" if path.endswith(".xml") else "json"


def _xml_value(parent: ET.Element, key: str, value: Any) -> None:
    child = ET.SubElement(parent, key)
    if isinstance(value, bool):
        child.text = "true" if value else "false"
    elif isinstance(value, list):
        item_tag = "value" if key == "values" else key.rstrip("s") or "item"
        for item in value:
            _xml_item(child, item_tag, item)
    elif isinstance(value, dict):
        for k, v in value.items():
            _xml_value(child, k, v)
    elif value is not None:
        child.text = str(value)


def _xml_item(parent: ET.Element, tag: str, item: Any) -> None:
    if isinstance(item, dict):
        element = ET.SubElement(parent, tag)
        for key, value in item.items():
            _xml_value(element, key, value)
    else:
        _xml_value(parent, tag, item)


def render(
    fmt: str,
    root: str,
    item: str,
    body: list[dict[str, Any]] | dict[str, Any],
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response[bytes]:
    """*body* as JSON, or as XML with the root element *root* and one
    element *item* per entry (a dict: its fields under *root*)."""
    if fmt == "xml":
        top = ET.Element(root)
        if isinstance(body, dict):
            for key, value in body.items():
                _xml_value(top, key, value)
        else:
            for entry in body:
                _xml_item(top, item, entry)
        content = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="unicode").encode()
    else:
        content = json.dumps(body, ensure_ascii=False).encode()
    return Response(content, status_code=status, media_type=_FORMATS[fmt], headers=dict(headers or {}))


def error_response(
    path: str, status: int, description: str, headers: Mapping[str, str] | None = None
) -> Response[bytes]:
    """An error in Open311's form, in the format the path asks for."""
    return render(
        _format_of(path), "errors", "error", [{"code": status, "description": description}], status, headers
    )


# -- errors ----------------------------------------------------------------------------------------

#: The library's errors' HTTP statuses as Open311 uses them: bad input is a 400.
_STATUS = {422: 400, 409: 400, 412: 400}

#: Swedish descriptions of HTTP's own errors.
_HTTP_DESCRIPTIONS = {
    400: _("begäran kunde inte läsas"),
    404: _("det finns ingen resurs på denna adress"),
    405: _("metoden går inte att använda på denna adress"),
    413: _("begärans innehåll är större än servern tar emot"),
    415: _("innehållstypen stöds inte här; skicka formulärdata (application/x-www-form-urlencoded)"),
    429: _("för många anrop från din adress; vänta och försök igen (se Retry-After)"),
}


def _library_status(exc: errors.KlagomalError) -> int | None:
    """The HTTP status of an error of the library, as Open311 uses it."""
    for cls, problem in PROBLEMS:
        if isinstance(exc, cls):
            return _STATUS.get(problem.status, problem.status)
    return None


def _handle(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    path = request.url.path
    if isinstance(exc, Open311Error):
        return error_response(path, exc.status, exc.description, exc.headers)
    if isinstance(exc, ProblemError):
        return error_response(path, _STATUS.get(exc.status, exc.status), exc.detail, exc.headers)
    if isinstance(exc, errors.KlagomalError) and (status := _library_status(exc)) is not None:
        headers = {"Retry-After": "1"} if status == 503 else {}
        return error_response(path, status, str(exc), headers)
    if isinstance(exc, ValidationException):
        return error_response(path, 400, _("begäran kunde inte läsas: {detail}").format(detail=exc.detail))
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        status = exc.status_code
        headers = dict(exc.headers or {})
        if status == 429 and "Retry-After" not in headers:
            reset = headers.get("RateLimit-Reset")
            headers["Retry-After"] = reset if reset and reset.isdigit() else "60"
        description = _HTTP_DESCRIPTIONS.get(status, _("begäran kunde inte utföras"))
        return error_response(path, status, description, headers)
    log.error(_("klagomal: oväntat fel i Open311 vid %s %s"), request.method, path, exc_info=exc)
    return error_response(
        path, 500, _("oväntat fel ({kind}) i klagomal; felet är loggat").format(kind=type(exc).__name__)
    )


# -- services --------------------------------------------------------------------------------------


def catalogue(k: Klagomal) -> dict[str, Open311Service]:
    """The services by code: those the organisation file configures
    (``[[open311.tjanst]]``), else each kind and each quality dimension
    under it (``klagomal``, ``klagomal.bemotande``, ...)."""
    if k.organisation.open311:
        return {service.code: service for service in k.organisation.open311}
    found: dict[str, Open311Service] = {}
    for kind in Kind:
        found[kind.value] = Open311Service(
            code=kind.value,
            name=kind.label,
            kind=kind.value,
            description=_("{kind} till {kommun}").format(kind=kind.label, kommun=k.organisation.name),
            group=kind.label,
        )
        for dimension in k.dimensions.values():
            code = f"{kind.value}.{dimension.id}"
            found[code] = Open311Service(
                code=code,
                name=f"{kind.label}: {dimension.label}",
                kind=kind.value,
                dimension=dimension.id,
                description=dimension.description or dimension.label,
                group=kind.label,
            )
    return found


def check_catalogue(k: Klagomal) -> None:
    """Refuse, at start, a configured service whose dimension no plugin registers."""
    for service in k.organisation.open311:
        if service.dimension is not None and service.dimension not in k.dimensions:
            raise ConfigurationError(
                _(
                    "{source}: [[open311.tjanst]] '{code}': kvalitetsdimensionen '{dimension}' finns inte "
                    "(finns: {known})"
                ).format(
                    source=k.organisation.source,
                    code=service.code,
                    dimension=service.dimension,
                    known=", ".join(k.dimensions),
                )
            )


def services(k: Klagomal) -> list[dict[str, Any]]:
    """The service list (:func:`catalogue`)."""
    return [
        {
            "service_code": service.code,
            "service_name": service.name,
            "description": service.description or service.name,
            "metadata": True,
            "type": "realtime",
            "keywords": ", ".join(p for p in (service.kind, service.dimension) if p),
            "group": service.group or Kind(service.kind).label,
        }
        for service in catalogue(k).values()
    ]


def _service(k: Klagomal, code: str) -> Open311Service:
    """Service *code*; a 404 for an unknown one."""
    found = catalogue(k).get(code)
    if found is None:
        raise Open311Error(
            404,
            _("tjänsten '{code}' finns inte; se services.json för tjänsterna").format(code=code),
        )
    return found


def _matches(found: PublicRequest, service: Open311Service) -> bool:
    """Whether the case *found* is one of *service*'s."""
    return (
        found.kind.value == service.kind
        and (service.dimension is None or service.dimension in found.dimensions)
        and (service.unit is None or service.unit == found.unit)
    )


def service_code(k: Klagomal, found: PublicRequest) -> str:
    """The service a case is shown under: the most specific that matches
    it (a dimension and a unit count), else its kind."""
    matching = [s for s in catalogue(k).values() if _matches(found, s)]
    if not matching:
        return found.kind.value
    return max(matching, key=lambda s: (s.dimension is not None) + (s.unit is not None)).code


def _definition(k: Klagomal, code: str) -> dict[str, Any]:
    dimension = _service(k, code).dimension
    units = [
        {"key": unit.id, "name": unit.name}
        for unit in k.organisation.units.values()
        if unit.level.value == "enhet"
    ]
    attributes: list[dict[str, Any]] = [
        {
            "variable": True,
            "code": "enhet",
            "datatype": "singlevaluelist",
            "required": False,
            "datatype_description": _("den enhet det gäller, om du vet den"),
            "order": 1,
            "description": _("Enhet"),
            "values": units,
        }
    ]
    if dimension is None:
        attributes.append(
            {
                "variable": True,
                "code": "dimension",
                "datatype": "multivaluelist",
                "required": False,
                "datatype_description": _("vad det gäller; en eller flera"),
                "order": 2,
                "description": _("Kvalitetsdimension"),
                "values": [{"key": d.id, "name": d.label} for d in k.dimensions.values()],
            }
        )
    return {"service_code": code, "attributes": attributes}


# -- requests --------------------------------------------------------------------------------------


def _moment(day: dt.date | None) -> str | None:
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time(), TIMEZONE).isoformat()


def _request_json(k: Klagomal, found: PublicRequest) -> dict[str, Any]:
    """One request as Open311 shows it, with klagomal's own fields (``klagomal_*``)."""
    return {
        "service_request_id": found.reference,
        "status": "closed" if found.closed else "open",
        "status_notes": found.notes,
        "service_name": found.kind.label,
        "service_code": service_code(k, found),
        "description": None,  # the person's own text is not published
        "agency_responsible": found.department_name,
        "service_notice": "",
        "requested_datetime": _moment(found.received),
        "updated_datetime": _moment(found.updated),
        "expected_datetime": _moment(found.expected),
        "address": found.address,
        "lat": found.latitude,
        "long": found.longitude,
        "media_url": None,  # nor their photos
        "klagomal_kind": found.kind.value,
        "klagomal_state": found.state.value,
        "klagomal_level": found.level,
        "klagomal_unit": found.unit_name,
        "klagomal_besked_due": None if found.acknowledge_by is None else found.acknowledge_by.isoformat(),
        "klagomal_besked_date": None if found.acknowledged is None else found.acknowledged.isoformat(),
    }


def token_of(reference: str) -> str:
    """The token of a posted request: its reference, encoded (stateless)."""
    return base64.urlsafe_b64encode(reference.encode("utf-8")).decode("ascii").rstrip("=")


def _reference_of_token(token: str) -> str:
    try:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", token):
            raise ValueError(token)
        reference = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
        if token_of(reference) != token:
            raise ValueError(token)
        return reference
    except (binascii.Error, UnicodeError, ValueError):
        raise Open311Error(404, _("token '{token}' finns inte").format(token=token)) from None


def _public(request: Request[Any, Any, Any]) -> Klagomal:
    base: Klagomal = request.app.state.klagomal
    return base.with_lock_wait(LOCK_WAIT)


def _check_jurisdiction(k: Klagomal, jurisdiction_id: str | None) -> None:
    if jurisdiction_id and jurisdiction_id != k.organisation.id:
        raise Open311Error(
            404,
            _("jurisdiction_id '{given}' finns inte här; denna server är {ours}").format(
                given=jurisdiction_id, ours=k.organisation.id
            ),
        )


def _when(name: str, value: str | None) -> dt.date | None:
    """A W3C date-time of the query as a day in Swedish time; a 400 if it is none."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace(" ", "+"))
    except ValueError:
        raise Open311Error(
            400,
            _("{name} '{value}' är ingen tidpunkt; skriv till exempel 2026-03-01T00:00:00+01:00").format(
                name=name, value=value
            ),
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(TIMEZONE)
    return moment.date()


def window(today: dt.date, start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """The days ``GET requests`` covers: the latest :data:`DEFAULT_WINDOW`
    days by default, and never more (a 400)."""
    span = dt.timedelta(days=DEFAULT_WINDOW)
    if start is None and end is None:
        end = today
    if start is None:
        assert end is not None
        start = end - span
    if end is None:
        end = min(start + span, max(today, start))
    if end < start:
        raise Open311Error(400, _("end_date ligger före start_date"))
    if end - start > span:
        raise Open311Error(
            400,
            _("start_date och end_date får spänna över högst {days} dagar").format(days=DEFAULT_WINDOW),
        )
    return start, end


def _list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


# -- the endpoints ---------------------------------------------------------------------------------


@get(["/discovery.json", "/discovery.xml"], sync_to_thread=False)
def discovery(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The discovery document: where the endpoint is and what it speaks."""
    k: Klagomal = request.app.state.klagomal
    base = str(request.base_url).rstrip("/")
    body: dict[str, Any] = {
        "changeset": "2026-01-01T00:00:00Z",
        "contact": _("{kommun}, via klagomal").format(kommun=k.organisation.name),
        "key_service": _("API-nycklar skapas av kommunen med klagomal apikey create"),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": f"{base}{PREFIX}/v2",
                "changeset": "2026-01-01T00:00:00Z",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    fmt = _format_of(request.url.path)
    if fmt == "xml":
        top = ET.Element("discovery")
        for key in ("changeset", "contact", "key_service"):
            ET.SubElement(top, key).text = body[key]
        endpoints = ET.SubElement(top, "endpoints")
        for endpoint in body["endpoints"]:
            element = ET.SubElement(endpoints, "endpoint")
            for key in ("specification", "url", "changeset", "type"):
                ET.SubElement(element, key).text = endpoint[key]
            formats = ET.SubElement(element, "formats")
            for media in endpoint["formats"]:
                ET.SubElement(formats, "format").text = media
        content = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="unicode").encode()
        return Response(content, media_type=_FORMATS["xml"])
    return render("json", "discovery", "", body)


@get(["/v2/services.json", "/v2/services.xml"], sync_to_thread=False)
def list_services(
    request: Request[Any, Any, Any], jurisdiction_id: FromQuery[str | None] = None
) -> Response[bytes]:
    """The services: each kind of feedback and each quality dimension under it."""
    k: Klagomal = request.app.state.klagomal
    _check_jurisdiction(k, jurisdiction_id)
    return render(_format_of(request.url.path), "services", "service", services(k))


@get("/v2/services/{name:str}", sync_to_thread=False)
def service_definition(
    request: Request[Any, Any, Any], name: FromPath[str], jurisdiction_id: FromQuery[str | None] = None
) -> Response[bytes]:
    """A service's definition: the attributes ``POST requests`` takes."""
    code, fmt = _split(name)
    k: Klagomal = request.app.state.klagomal
    _check_jurisdiction(k, jurisdiction_id)
    return render(fmt, "service_definition", "", _definition(k, code))


@get(["/v2/requests.json", "/v2/requests.xml"])
async def list_requests(
    request: Request[Any, Any, Any],
    jurisdiction_id: FromQuery[str | None] = None,
    service_request_id: FromQuery[str | None] = None,
    start_date: FromQuery[str | None] = None,
    end_date: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
    limit: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Requests, newest first: those named, or those received in the window."""
    # Run in a thread by hand: Litestar's sync_to_thread and a list of paths do not mix.
    return await anyio.to_thread.run_sync(
        lambda: _list_requests(
            request, jurisdiction_id, service_request_id, start_date, end_date, status, limit
        )
    )


def _list_requests(
    request: Request[Any, Any, Any],
    jurisdiction_id: str | None,
    service_request_id: str | None,
    start_date: str | None,
    end_date: str | None,
    status: str | None,
    limit: str | None,
) -> Response[bytes]:
    k = _public(request)
    _check_jurisdiction(k, jurisdiction_id)
    fmt = _format_of(request.url.path)
    ids = _list(service_request_id)
    if ids:
        # The spec: with service_request_id, every other parameter is ignored.
        found = k.public_requests(references=ids)
    else:
        start, end = window(k.clock.today(), _when("start_date", start_date), _when("end_date", end_date))
        codes = _list(request.query_params.get("service_code"))
        wanted = [_service(k, code) for code in codes]
        states = _list(status)
        for state in states:
            if state not in ("open", "closed"):
                raise Open311Error(
                    400, _("status '{status}' finns inte; ange open eller closed").format(status=state)
                )
        most = MAX_REQUESTS
        if limit is not None:
            if not limit.isdigit() or not 1 <= int(limit) <= MAX_REQUESTS:
                raise Open311Error(
                    400, _("limit ska vara ett tal från 1 till {most}").format(most=MAX_REQUESTS)
                )
            most = int(limit)
        found = [
            r
            for r in k.public_requests(start=start, end=end)
            if (not codes or any(_matches(r, service) for service in wanted))
            and (not states or ("closed" if r.closed else "open") in states)
        ]
        found = sorted(found, key=lambda r: (r.received, r.reference), reverse=True)[:most]
    return render(fmt, "service_requests", "request", [_request_json(k, r) for r in found])


@get("/v2/requests/{name:str}", sync_to_thread=True)
def read_request(
    request: Request[Any, Any, Any], name: FromPath[str], jurisdiction_id: FromQuery[str | None] = None
) -> Response[bytes]:
    """One request by its id (the case's reference)."""
    reference, fmt = _split(name)
    k = _public(request)
    _check_jurisdiction(k, jurisdiction_id)
    found = k.public_requests(references=[reference])
    if not found:
        raise Open311Error(404, _("ärendet {reference} finns inte").format(reference=reference))
    return render(fmt, "service_requests", "request", [_request_json(k, r) for r in found])


@get("/v2/tokens/{name:str}", sync_to_thread=True)
def read_token(
    request: Request[Any, Any, Any], name: FromPath[str], jurisdiction_id: FromQuery[str | None] = None
) -> Response[bytes]:
    """The request id a token stands for."""
    token, fmt = _split(name)
    k = _public(request)
    _check_jurisdiction(k, jurisdiction_id)
    reference = _reference_of_token(token)
    if not k.public_requests(references=[reference]):
        raise Open311Error(404, _("token '{token}' finns inte").format(token=token))
    return render(fmt, "service_requests", "request", [{"service_request_id": reference, "token": token}])


_ATTRIBUTE = re.compile(r"attribute\[([A-Za-z0-9_-]+)\](\[\])?")
_MEDIA_URL = re.compile(r"https?://[^\s<>\"]{1,2000}")


def _field(form: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = form.get(name) or []
    value = values[-1].strip() if values else ""
    return value or None


def _intake(k: Klagomal, form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The registration *form* asks for, checked; a 400 naming what is wrong."""
    code = _field(form, "service_code")
    if code is None:
        raise Open311Error(400, _("service_code saknas; se services.json för tjänsterna"))
    try:
        service = _service(k, code)
    except Open311Error as exc:
        raise Open311Error(400, exc.description) from None  # bad input of a POST, not a missing page
    kind, dimension, unit = Kind(service.kind), service.dimension, service.unit
    dimensions: list[str] = [dimension] if dimension else []
    for key, values in form.items():
        found = _ATTRIBUTE.fullmatch(key)
        if key.startswith("attribute") and found is None:
            raise Open311Error(400, _("fältet '{key}' kan inte läsas; skriv attribute[kod]").format(key=key))
        if found is None:
            continue
        name = found.group(1)
        if name == "enhet":
            unit = values[-1].strip() or None
            if unit is not None and unit not in k.organisation.units:
                raise Open311Error(400, _("enheten '{unit}' finns inte").format(unit=unit))
        elif name == "dimension" and dimension is None:
            for value in values:
                for part in value.split(","):
                    if part.strip() and part.strip() not in k.dimensions:
                        raise Open311Error(
                            400, _("kvalitetsdimensionen '{value}' finns inte").format(value=part.strip())
                        )
                    if part.strip():
                        dimensions.append(part.strip())
        else:
            raise Open311Error(
                400, _("tjänsten '{code}' har inget attribut '{name}'").format(code=code, name=name)
            )
    text = _field(form, "description")
    if text is None:
        raise Open311Error(400, _("description saknas; beskriv vad det gäller"))
    if len(text) > 4000:
        raise Open311Error(400, _("description är längre än 4000 tecken"))
    media_url = _field(form, "media_url")
    if media_url is not None:
        if not _MEDIA_URL.fullmatch(media_url):
            raise Open311Error(
                400, _("media_url '{url}' är ingen http- eller https-adress").format(url=media_url)
            )
        # klagomal fetches nothing from the net: the address is kept in the text for the handler.
        text += "\n\n" + _("Bild (media_url): {url}").format(url=media_url)
    lat, long, address = _field(form, "lat"), _field(form, "long"), _field(form, "address_string")
    if (lat is None or long is None) and address is None:
        raise Open311Error(400, _("ange platsen: lat och long, eller address_string"))
    location = check_location(latitude=lat, longitude=long, address=address, step="register")
    name = _field(form, "name") or " ".join(
        part for part in (_field(form, "first_name"), _field(form, "last_name")) if part
    )
    contact = Contact(name=name or None, email=_field(form, "email"), phone=_field(form, "phone"))
    return {
        "kind": kind,
        "channel": CHANNEL,
        "text": text,
        "unit": unit,
        "contact": None if contact.is_empty() else contact,
        "dimensions": tuple(dict.fromkeys(dimensions)),
        "location": location,
    }


def _posted(fmt: str, reference: str) -> Response[bytes]:
    """The answer to ``POST requests`` that registered *reference*."""
    body = [
        {
            "service_request_id": reference,
            "service_notice": _("Tack! Ärendet har diarienummer {reference}.").format(reference=reference),
            "account_id": None,
            # The spec: a token only where there is no id yet.  klagomal has
            # one at once; its token is an extension, for tokens/{token}.
            "klagomal_token": token_of(reference),
        }
    ]
    return render(fmt, "service_requests", "request", body)


@post(["/v2/requests.json", "/v2/requests.xml"], status_code=200)
async def post_request(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Report a problem: a new case through the channel ``open311``,
    registered by the user of ``api_key``.  The answer has the case's
    reference as ``service_request_id``, and its token as ``klagomal_token``.
    With ``Idempotency-Key``, a retry gets the first answer (:func:`_idempotent`)."""
    fmt = _format_of(request.url.path)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise Open311Error(415, _HTTP_DESCRIPTIONS[415])
    raw = await request.form()
    form = {key: [v for v in raw.getall(key) if isinstance(v, str)] for key in raw}
    base: Klagomal = request.app.state.klagomal
    api_key = _field(form, "api_key")
    if api_key is None:
        raise Open311Error(403, _("api_key saknas; kommunen ger ut nycklar (klagomal apikey create)"))
    user = await anyio.to_thread.run_sync(base.api_key_user, api_key)
    if user is None:
        raise Open311Error(403, _("api_key är okänd eller återkallad"))
    k = base.as_user(user).with_lock_wait(LOCK_WAIT)
    _check_jurisdiction(k, _field(form, "jurisdiction_id"))
    retry_key = request.headers.get(IDEMPOTENCY_KEY.lower())

    def work() -> Response[bytes]:
        intake = _intake(k, form)  # bad input is refused before the key is looked at: nothing kept
        if retry_key is None:
            return _posted(fmt, k.register(**intake).reference)
        return _idempotent(request, k, api_key, retry_key, form, lambda: _register(request, k, fmt, intake))

    return await anyio.to_thread.run_sync(work)


# -- retries ---------------------------------------------------------------------------------------


def _register(
    request: Request[Any, Any, Any], k: Klagomal, fmt: str, intake: dict[str, Any]
) -> Response[bytes]:
    """Register a case for a request with an ``Idempotency-Key``: its answer,
    or the error of a refused step as an answer to keep (a refused step
    stays refused), as the JSON API does; an error of 500 or more is
    raised, and nothing is kept."""
    try:
        return _posted(fmt, k.register(**intake).reference)
    except errors.KlagomalError as exc:
        status = _library_status(exc)
        if status is None or status >= 500:
            raise
        return _handle(request, exc)


def _refuse(status: int, description: str, headers: dict[str, str] | None) -> Exception:
    return Open311Error(status, description, headers)


def _idempotent(
    request: Request[Any, Any, Any],
    k: Klagomal,
    api_key: str,
    key: str,
    form: Mapping[str, Sequence[str]],
    work: Callable[[], Response[bytes]],
) -> Response[Any]:
    """Run *work* once per ``Idempotency-Key`` *key* of the caller.

    The JSON API's rules and storage (:func:`klagomal.web.idempotency.run_once`,
    :meth:`klagomal.Klagomal.idempotent_request`), with two differences of
    Open311: the caller is named by the form's ``api_key``, not by
    ``Authorization``, and answers and errors are Open311's.  The scope is
    the JSON API's (a hash of the API key, bound to its user by the
    facade), so a caller's key is one key on both faces; the request is the
    path and the form without ``api_key``.  The answer names only the
    case's reference, so one made again from a write's outcome is the same,
    byte for byte."""
    check_key(key, _refuse)
    fmt = _format_of(request.url.path)
    scope = hashlib.sha256(api_key.encode("utf-8")).hexdigest()
    asked = {name: list(values) for name, values in form.items() if name != "api_key"}
    what = json.dumps([request.method, request.url.path, asked], sort_keys=True)
    pending = k.idempotent_request(scope, key, hashlib.sha256(what.encode("utf-8")).hexdigest())

    def posted(_pending: IdempotentRequest, outcome: Outcome | SubscriptionOutcome) -> Response[bytes]:
        assert isinstance(outcome, Outcome)  # the same request: a registration's
        return _posted(fmt, outcome.reference)

    return run_once(pending, key, work, posted, refuse=_refuse, failure=lambda exc: _handle(request, exc))


# -- unknown addresses -----------------------------------------------------------------------------


def unknown(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Any other address under :data:`PREFIX`, with any method: Open311's
    404, in XML for an address ending in ``.xml``, else JSON (the paths:
    :func:`unknown_paths`)."""
    raise Open311Error(
        404,
        _("det finns ingen Open311-resurs på {path}; se {prefix}/discovery.json").format(
            path=request.url.path, prefix=PREFIX
        ),
    )


def unknown_paths(handlers: Sequence[Any]) -> list[str]:
    """The paths that lead :func:`unknown` every address under
    :data:`PREFIX` that none of *handlers* has.

    Litestar's router does not go back: once a segment matched a static
    part of a route (``v2``, ``services``, ``discovery.json``), an address
    that fails further on is the application's 404 (an RFC 9457 problem),
    not one of this router's.  So below every part of every route, unless a
    route's parameter already takes any segment there, a path parameter
    takes the rest (``/v2/{path:path}``, ``/v2/services/{name:str}/{path:path}``),
    and every part that is no route itself (``/``, ``/v2``, ``/v2/services``)
    is one.  Static segments go first in Litestar's matching, so none of
    these shadows a route."""
    paths = {path for handler in handlers for path in handler.paths}
    parts = {
        tuple(segments[:i])
        for path in paths
        for segments in [[s for s in path.split("/") if s]]
        for i in range(len(segments) + 1)
    }
    with_parameter = {part[:-1] for part in parts if part and part[-1].startswith("{")}
    exact = {"/" + "/".join(part) for part in parts} - paths
    rest = {"/" + "/".join((*part, "{path:path}")) for part in parts if part not in with_parameter}
    return sorted(exact | rest)


ROUTES: list[Callable[..., Any]] = [
    discovery,
    list_services,
    service_definition,
    list_requests,
    read_request,
    read_token,
    post_request,
]


def create_router(k: Klagomal, rate_limit: RateLimitConfig | None) -> Router:
    """The Open311 endpoints under :data:`PREFIX` for *k*'s organisation,
    public and rate limited (*rate_limit*, or none), with Open311's errors."""
    check_catalogue(k)
    return Router(
        path=PREFIX,
        route_handlers=[
            *ROUTES,
            route(unknown_paths(ROUTES), http_method=list(HttpMethod), sync_to_thread=False)(unknown),
        ],
        # Every class the application handles too: the most specific one wins.
        exception_handlers=dict.fromkeys(
            (Open311Error, ProblemError, errors.KlagomalError, ValidationException, HTTPException, Exception),
            _handle,
        ),
        middleware=[rate_limit.middleware] if rate_limit is not None else [],
        include_in_schema=False,
    )

"""The endpoints of what goes out and what comes in: a case's letter, the
public register list and a case's public extract, the reports (JSON, CSV,
HTML) and raw e-mail intake.

The library's own attrs classes (:class:`~klagomal.notices.letters.Letter`,
:class:`~klagomal.records.public_records.RegisterEntry`,
:class:`~klagomal.records.public_records.PublicExtract`,
:class:`~klagomal.intake.service.IntakeOutcome`) are the response types, as
they are: no second model layer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Annotated, Any, Literal

from litestar import Request, Response, get, post
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, FromQuery, QueryParameter, RawBody

from klagomal.core.errors import InvalidInputError
from klagomal.core.i18n import _
from klagomal.intake.service import IntakeOutcome
from klagomal.notices.letters import Letter
from klagomal.records.public_records import PublicExtract, RegisterEntry
from klagomal.web.auth import Caller
from klagomal.web.idempotency import idempotent

__all__ = ["routes"]


@get("/cases/{reference:str}/letter", sync_to_thread=True, summary="Brevet till personen")
def letter(
    k: Caller,
    reference: FromPath[str],
    seq: Annotated[int | None, QueryParameter(ge=1, description="händelsen som brevet gäller")] = None,
) -> Letter:
    """The letter owed to the person because of event *seq* (default: the
    latest event that owes one): subject, text and HTML."""
    return k.letter(reference, seq)


@get("/register", sync_to_thread=True, summary="Diariet (offentlig förteckning)")
def register_list(
    k: Caller,
    start: FromQuery[dt.date],
    end: FromQuery[dt.date],
    department: FromQuery[str | None] = None,
) -> list[RegisterEntry]:
    """The public register entries of the cases received from *start* to
    *end* (OSL 5 kap. 1 §), as ``klagomal register-extract`` lists them."""
    return k.register_list(start, end, department=department)


@get("/cases/{reference:str}/extract", sync_to_thread=True, summary="Utlämnande av allmän handling")
def extract(k: Caller, reference: FromPath[str]) -> PublicExtract:
    """The case as it may be handed out to anyone: secret parts removed,
    personal data masked, the person never named."""
    return k.public_extract(reference)


@dataclasses.dataclass
class _ReportOperation(Operation):
    """The report's operation in the OpenAPI document: its 200 is JSON, HTML
    or CSV (``format``), and the document says so."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        content = getattr(ok, "content", None)
        if content is not None:
            content["text/html"] = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
            content["text/csv"] = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))


@get("/reports", sync_to_thread=True, summary="Rapport för en period", operation_class=_ReportOperation)
def report(
    k: Caller,
    period: FromQuery[str],
    audience: FromQuery[Literal["staff", "politicians"]] = "staff",
    report_format: Annotated[Literal["json", "html", "csv"], QueryParameter(name="format")] = "json",
    table: FromQuery[str | None] = None,
    department: FromQuery[str | None] = None,
    unit: FromQuery[str | None] = None,
) -> Response[Any]:
    """The report on *period* (``2026-T1``, ``2026-H2``, ``2026-03-01..2026-03-31``)
    as ``klagomal report`` makes it: JSON, HTML, or one table as CSV (``table``)."""
    from klagomal.reports.data import build_report
    from klagomal.reports.defaults import check_audience_period, default_department
    from klagomal.reports.periods import parse_period
    from klagomal.reports.render import render_csv, render_html, render_json

    settings = k.organisation.reports
    try:
        parsed = parse_period(period, half_years=((1, 1), settings.second_half))
    except ValueError as exc:
        raise InvalidInputError(str(exc), step="report") from None
    check_audience_period(audience, parsed)
    if department is None and unit is None:
        department = default_department(k.user, k.organisation)
    built = build_report(
        k, parsed, department=department, unit=unit, audience=audience, threshold=settings.threshold
    )
    if report_format == "html":
        return Response(render_html(built), media_type="text/html")
    if report_format == "csv":
        tables = render_csv(built)
        if table not in tables:
            raise InvalidInputError(
                _("ange tabellen med table=, en av: {tables}").format(tables=", ".join(sorted(tables))),
                step="report",
            )
        return Response(tables[table], media_type="text/csv")
    return Response(render_json(built))


@dataclasses.dataclass
class _IntakeOperation(Operation):
    """The intake's operation in the OpenAPI document: its body is the
    message's bytes (a raw body, which Litestar does not document)."""

    def __post_init__(self) -> None:
        binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
        self.request_body = RequestBody(
            content={"message/rfc822": OpenAPIMediaType(schema=binary)},
            description=_("e-postmeddelandet, byte för byte som det kom"),
            required=True,
        )


@post(
    "/intake/email",
    status_code=200,
    sync_to_thread=True,
    summary="Ta emot ett e-postmeddelande",
    operation_class=_IntakeOperation,
)
def intake_email(request: Request[Any, Any, Any], k: Caller, body: RawBody) -> Response[Any]:
    """One received e-mail, its bytes exactly as they arrived
    (``Content-Type: message/rfc822``): a new case, a reply in its case,
    an automatic message, a duplicate, or the quarantine.  Stored whatever
    it holds; the answer says what became of it."""
    if not body:
        raise InvalidInputError(_("meddelandet är tomt; skicka e-postmeddelandets bytes"), step="intake")

    def work() -> Response[Any]:
        outcome: IntakeOutcome = k.receive_email(body, source="api")
        return Response(
            {
                "outcome": outcome.outcome,
                "reference": outcome.reference,
                "reason": outcome.reason,
                "message_key": outcome.message_key,
                "description": outcome.describe(),
            }
        )

    # A retry after a worker died past the write: the intake knows the
    # message it stored and answers "duplicate" with its case, adding nothing.
    return idempotent(
        request, k, {"sha256": hashlib.sha256(body).hexdigest()}, work, lambda _pending, _outcome: work()
    )


routes = [letter, register_list, extract, report, intake_email]

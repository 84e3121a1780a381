"""The administration pages: the förvaltning's administrator's and the
system owner's (docs/web.md, "Administration").

- ``/admin``: what needs attention, a line per page;
- ``/admin/rapporter``: the staff's tertial report and the politicians'
  half-year report in the page, each table as CSV (``/admin/rapporter.csv``);
- ``/admin/diarium``: the public register list (OSL 5 kap. 1 §);
- ``/admin/utskick``: failed and uncertain notices, queued again on request;
- ``/admin/karantan``: the intake's quarantine: released into a case, or
  marked as no case with a reason (nothing is deleted);
- ``/admin/logg``: the audit log's chain and its latest entries (R27);
- ``/admin/tillagg``: the installed plugins.

Each page calls the facade as the signed-in user, so who may see what is
the library's (:data:`~klagomal.records.access.PERMISSIONS`): a denial is
the library's, shown as a 403 page.  :data:`OPERATIONS` names, for each
page, the operation whose permission it needs, for the documentation and
the tests; the handlers never decide access themselves.
"""

from __future__ import annotations

import datetime as dt
import math
import urllib.parse
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from klagomal.core.errors import AccessDeniedError, KlagomalError
from klagomal.core.i18n import _
from klagomal.core.users import Role
from klagomal.records.access import AccessPolicy, Operation
from klagomal.web.ui.login import staff
from klagomal.web.ui.render import SECURITY_HEADERS, FieldError, Ui

__all__ = ["AUDIT_ROWS", "OPERATIONS", "REGISTER_ROWS", "routes"]

Form = Body(media_type=RequestEncodingType.URL_ENCODED)

#: Rows of the register list per page.
REGISTER_ROWS = 50
#: The latest audit entries the audit page shows.
AUDIT_ROWS = 50
#: The outbox statuses that need a person: failed and uncertain.
ATTENTION = ("failed", "uncertain")

#: The operation each page's facade call needs (the library checks it).
OPERATIONS: Mapping[str, Operation] = {
    "/admin": Operation.DELIVER,
    "/admin/rapporter": Operation.STATISTICS,
    "/admin/rapporter.csv": Operation.STATISTICS,
    "/admin/diarium": Operation.REGISTER_LIST,
    "/admin/utskick": Operation.DELIVER,
    "/admin/karantan": Operation.REGISTER,
    "/admin/logg": Operation.AUDIT,
    "/admin/tillagg": Operation.DELIVER,
}


def _may(ui: Ui, operation: Operation) -> bool:
    """Whether the signed-in user's role may do *operation* at all (for
    what a page offers; the facade still checks every call)."""
    return ui.user is not None and AccessPolicy(ui.base.organisation).allows(ui.user, operation)


def _require(ui: Ui, operation: Operation) -> None:
    """The library's denial, for a page whose facade call checks nothing itself."""
    AccessPolicy(ui.base.organisation).check(ui.user, operation)


# -- the index ----------------------------------------------------------------


@get("/admin", sync_to_thread=True, name="ui-admin")
def index(request: Request[Any, Any, Any]) -> Response[Any]:
    """The administration's pages, each with a line on what needs attention."""
    ui = staff(request)
    notices = ui.k.outbox(statuses=ATTENTION)
    quarantine = ui.k.intake_log(outcomes=["quarantined"]) if _may(ui, Operation.REGISTER) else None
    audit = ui.k.audit_verify() if _may(ui, Operation.AUDIT) else None
    return ui.page(
        "admin/index.html",
        title=_("Administration"),
        failed=sum(1 for n in notices if n.status == "failed"),
        uncertain=sum(1 for n in notices if n.status == "uncertain"),
        quarantine=quarantine,
        audit=audit,
        plugins=len([p for _n, p in ui.k.plugin_manager.list_name_plugin() if p is not None]),
        plugin_failures=len(ui.k.plugin_manager.failures),
    )


# -- reports ------------------------------------------------------------------

CUSTOM = "egen"


def _audiences(ui: Ui) -> list[tuple[str, str]]:
    """The reports the user's role may have: the staff report needs
    :attr:`~Operation.STAFF_REPORT`, the politicians' :attr:`~Operation.STATISTICS`."""
    found = []
    if _may(ui, Operation.STAFF_REPORT):
        found.append(("staff", _("Till personalen (tertial)")))
    found.append(("politicians", _("Till de förtroendevalda (halvår)")))
    return found


def _periods(ui: Ui, audience: str) -> list[tuple[str, str]]:
    from klagomal.reports.periods import half_years, tertials

    today = ui.base.clock.today()
    starts = ((1, 1), ui.base.organisation.reports.second_half)
    found: list[tuple[str, str]] = []
    for year in (today.year, today.year - 1):
        parts = half_years(year, starts) if audience == "politicians" else tertials(year)
        found += [(p.id, p.label) for p in reversed(parts) if p.start <= today]
        found.append((str(year), _("hela året {year}").format(year=year)))
    found.append((CUSTOM, _("Egna datum")))
    return found


#: How the scope field names a unit (a chef's report covers their units).
UNIT_PREFIX = "enhet:"


def _departments(ui: Ui) -> list[tuple[str, str]]:
    """What the report may cover: a förvaltning administrator's (or a
    reader's) own förvaltningar; a chef's or a handler's own units first;
    else the whole kommun and every förvaltning.  The library's access
    check decides what the user really gets."""
    org = ui.base.organisation
    user = ui.user
    assert user is not None
    own = [d for d in user.departments if d in org.departments]
    if user.role in (Role.DEPARTMENT_ADMIN, Role.READER) and own:
        return [(d, org.departments[d].name) for d in own]
    units = [
        (UNIT_PREFIX + u, _("{unit} (enhet)").format(unit=org.unit(u).name))
        for u in user.units
        if org.has_unit(u)
    ]
    if user.role in (Role.MANAGER, Role.HANDLER) and units:
        return units
    return [("", _("Hela kommunen")), *((d.id, d.name) for d in org.departments.values())]


def _report_query(query: Mapping[str, str]) -> dict[str, str]:
    return {k: query.get(k, "") for k in ("mottagare", "period", "fran", "till", "forvaltning")}


def _build(ui: Ui, chosen: dict[str, str]) -> Any:
    """The report the form asks for (:func:`klagomal.reports.data.build_report`);
    :class:`~klagomal.core.errors.InvalidInputError` for a bad choice."""
    from klagomal.core.errors import InvalidInputError
    from klagomal.reports.data import build_report
    from klagomal.reports.defaults import check_audience_period
    from klagomal.reports.periods import parse_period

    settings = ui.base.organisation.reports
    try:
        if chosen["period"] == CUSTOM:
            if not chosen["fran"] or not chosen["till"]:
                raise ValueError(_("ange både från och med och till och med"))
            period = parse_period(f"{chosen['fran']}..{chosen['till']}")
        else:
            period = parse_period(chosen["period"], half_years=((1, 1), settings.second_half))
    except ValueError as exc:
        raise InvalidInputError(str(exc), step="report") from None
    check_audience_period(chosen["mottagare"], period)
    scope = chosen["forvaltning"]
    unit = scope.removeprefix(UNIT_PREFIX) if scope.startswith(UNIT_PREFIX) else None
    return build_report(
        ui.k,
        period,
        department=None if unit is not None else scope or None,
        unit=unit,
        audience=chosen["mottagare"],
        threshold=settings.threshold,
    )


def _chosen(ui: Ui, request: Request[Any, Any, Any]) -> tuple[dict[str, str], bool]:
    """The form's choices, defaults filled in; whether the form was sent."""
    from klagomal.reports.defaults import last_complete_period

    sent = "period" in request.query_params
    chosen = _report_query(request.query_params)
    # Only what is missing is filled in: a choice the user may not have
    # is the library's to refuse, never silently replaced.
    if not chosen["mottagare"]:
        chosen["mottagare"] = _audiences(ui)[0][0]
    if not chosen["period"]:
        starts = ((1, 1), ui.base.organisation.reports.second_half)
        chosen["period"] = last_complete_period(ui.base.clock.today(), chosen["mottagare"], starts).id
    if "forvaltning" not in request.query_params:
        chosen["forvaltning"] = _departments(ui)[0][0]
    return chosen, sent


@get("/admin/rapporter", sync_to_thread=True, name="ui-admin-reports")
def reports(request: Request[Any, Any, Any]) -> Response[Any]:
    """The reports: the form, and the report it asks for."""
    ui = staff(request)
    chosen, sent = _chosen(ui, request)
    report, errors, status = None, [], 200
    if sent:
        try:
            report = _build(ui, chosen)
        except AccessDeniedError as exc:
            errors, status = [FieldError("forvaltning", str(exc))], 403
        except KlagomalError as exc:
            field = "fran" if chosen["period"] == CUSTOM else "period"
            errors, status = [FieldError(field, str(exc))], 422
    else:
        _require(ui, Operation.STATISTICS)
    csv_links = []
    if report is not None:
        csv_links = [
            (table, "/admin/rapporter.csv?" + urllib.parse.urlencode({**chosen, "tabell": table.id}))
            for table in report.tables
        ]
    return ui.page(
        "admin/reports.html",
        title=_("Rapporter"),
        status=status,
        errors=errors,
        chosen=chosen,
        audiences=_audiences(ui),
        periods=_periods(ui, chosen["mottagare"]),
        departments=_departments(ui),
        custom=CUSTOM,
        report=report,
        csv_links=csv_links,
    )


@get("/admin/rapporter.csv", sync_to_thread=True, name="ui-admin-report-csv")
def report_csv(request: Request[Any, Any, Any], tabell: str = "") -> Response[Any]:
    """One table of the report as CSV (:func:`klagomal.reports.render.render_csv`), to save."""
    from klagomal.reports.render import render_csv

    ui = staff(request)
    chosen, _sent = _chosen(ui, request)
    report = _build(ui, chosen)
    files = render_csv(report)
    name = f"{tabell}.csv"
    if name not in files:
        return ui.page(
            "error.html",
            title=_("Tabellen finns inte"),
            status=404,
            message=_("Rapporten har ingen tabell '{table}'.").format(table=tabell[:100]),
        )
    download = f"{tabell}-{report.period.id.replace('..', '--')}.csv"
    return Response(
        content=files[name].encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{download}"'},
    )


# -- the register list --------------------------------------------------------


def _date_arg(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@get("/admin/diarium", sync_to_thread=True, name="ui-admin-register")
def register(request: Request[Any, Any, Any], fran: str = "", till: str = "", sida: int = 1) -> Response[Any]:
    """The public register list of the cases received in a period, a page at a time."""
    ui = staff(request)
    today = ui.base.clock.today()
    start, end = _date_arg(fran), _date_arg(till)
    errors = []
    if fran and start is None:
        errors.append(FieldError("fran", _("Skriv datumet som ÅÅÅÅ-MM-DD, till exempel 2026-01-31")))
    if till and end is None:
        errors.append(FieldError("till", _("Skriv datumet som ÅÅÅÅ-MM-DD, till exempel 2026-01-31")))
    start = start or today.replace(month=1, day=1)
    end = end or today
    if not errors and end < start:
        errors.append(FieldError("till", _("Till och med kan inte vara före från och med")))
    entries = [] if errors else ui.k.register_list(start, end)
    pages = max(1, math.ceil(len(entries) / REGISTER_ROWS))
    sida = min(max(1, sida), pages)
    shown = entries[(sida - 1) * REGISTER_ROWS : sida * REGISTER_ROWS]

    def page_url(n: int) -> str:
        return "/admin/diarium?" + urllib.parse.urlencode(
            {"fran": start.isoformat(), "till": end.isoformat(), "sida": n}
        )

    return ui.page(
        "admin/register.html",
        title=_("Diarium"),
        status=422 if errors else 200,
        errors=errors,
        fran=fran or start.isoformat(),
        till=till or end.isoformat(),
        entries=shown,
        total=len(entries),
        page_no=sida,
        pages=pages,
        previous=page_url(sida - 1) if sida > 1 else None,
        next=page_url(sida + 1) if sida < pages else None,
        unit_name=AccessPolicy(ui.base.organisation).unit_name,
    )


# -- the outbox ---------------------------------------------------------------


@get("/admin/utskick", sync_to_thread=True, name="ui-admin-outbox")
def outbox(request: Request[Any, Any, Any]) -> Response[Any]:
    """The failed and uncertain notices, each with a way to send it again."""
    from klagomal.notices.outbox import kind_label

    ui = staff(request)
    notices = ui.k.outbox(statuses=ATTENTION)
    return ui.page(
        "admin/outbox.html", title=_("Utskick som inte gått fram"), notices=notices, kind_label=kind_label
    )


@post(
    "/admin/utskick/{notice_id:int}/forsok-igen",
    sync_to_thread=True,
    name="ui-admin-requeue",
    status_code=303,
)
def requeue(request: Request[Any, Any, Any], notice_id: int, data: dict[str, str] = Form) -> Response[Any]:
    """Queue one failed or uncertain notice again (:meth:`~klagomal.Klagomal.requeue`)."""
    ui = staff(request)
    done = ui.k.requeue([notice_id], statuses=ATTENTION)
    if done:
        ui.say(
            "ok",
            _("Utskick {id} i ärende {reference} skickas igen vid nästa utskick.").format(
                id=notice_id, reference=done[0].reference
            ),
        )
    else:
        ui.say(
            "info", _("Utskick {id} väntade inte på att skickas igen; inget ändrades.").format(id=notice_id)
        )
    return ui.redirect("/admin/utskick")


# -- the quarantine -----------------------------------------------------------


def _quarantine_page(
    ui: Ui, *, status: int = 200, errors: list[FieldError] | None = None, kept: dict[str, str] | None = None
) -> Response[Any]:
    entries = ui.k.intake_log(outcomes=["quarantined"])
    return ui.page(
        "admin/quarantine.html",
        title=_("Karantän"),
        status=status,
        errors=errors or [],
        entries=list(reversed(entries)),
        kept=kept or {},
    )


@get("/admin/karantan", sync_to_thread=True, name="ui-admin-quarantine")
def quarantine(request: Request[Any, Any, Any]) -> Response[Any]:
    """The messages in quarantine, newest first, each to release or mark as no case."""
    return _quarantine_page(staff(request))


@post(
    "/admin/karantan/{message_id:int}/slapp-in", sync_to_thread=True, name="ui-admin-release", status_code=303
)
def release(request: Request[Any, Any, Any], message_id: int, data: dict[str, str] = Form) -> Response[Any]:
    """Release a quarantined message: into the case named, or the one it
    claims, or as a new case (:meth:`~klagomal.Klagomal.release_from_quarantine`)."""
    ui = staff(request)
    field = f"arende-{message_id}"
    into = data.get(field, "").strip() or None
    try:
        outcome = ui.k.release_from_quarantine(message_id, into=into)
    except AccessDeniedError:
        raise  # the library's denial: the 403 page
    except KlagomalError as exc:
        return _quarantine_page(ui, status=422, errors=[FieldError(field, str(exc))], kept=data)
    ui.say(
        "ok",
        _("Meddelande {id} är släppt ur karantänen: {what}.").format(id=message_id, what=outcome.describe()),
    )
    return ui.redirect("/admin/karantan")


@post(
    "/admin/karantan/{message_id:int}/inget-arende",
    sync_to_thread=True,
    name="ui-admin-dismiss",
    status_code=303,
)
def dismiss(request: Request[Any, Any, Any], message_id: int, data: dict[str, str] = Form) -> Response[Any]:
    """Mark a quarantined message as no case, with the reason given
    (:meth:`~klagomal.Klagomal.dismiss_from_quarantine`): nothing is deleted."""
    ui = staff(request)
    field = f"skal-{message_id}"
    try:
        ui.k.dismiss_from_quarantine(message_id, reason=data.get(field, ""))
    except AccessDeniedError:
        raise  # the library's denial: the 403 page
    except KlagomalError as exc:
        return _quarantine_page(ui, status=422, errors=[FieldError(field, str(exc))], kept=data)
    ui.say("ok", _("Meddelande {id} är markerat som inget ärende och finns kvar.").format(id=message_id))
    return ui.redirect("/admin/karantan")


# -- the audit log ------------------------------------------------------------


@get("/admin/logg", sync_to_thread=True, name="ui-admin-audit")
def audit(request: Request[Any, Any, Any]) -> Response[Any]:
    """The audit log's chain, checked now, and its latest entries, newest first."""
    ui = staff(request)
    verification = ui.k.audit_verify()
    entries = list(reversed(ui.k.audit_log(limit=AUDIT_ROWS)))
    return ui.page("admin/audit.html", title=_("Granskningslogg"), verification=verification, entries=entries)


# -- the plugins --------------------------------------------------------------


@get("/admin/tillagg", sync_to_thread=True, name="ui-admin-plugins")
def plugins(request: Request[Any, Any, Any]) -> Response[Any]:
    """The installed plugins: name, version, hooks, what they add; and those that failed."""
    ui = staff(request)
    _require(ui, OPERATIONS["/admin/tillagg"])
    pm = ui.k.plugin_manager
    found = []
    for name, plugin in sorted(pm.list_name_plugin()):
        if plugin is None:
            continue
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        found.append({"name": name, "version": pm.version_of(name), "hooks": hooks})
    return ui.page(
        "admin/plugins.html",
        title=_("Tillägg"),
        plugins=found,
        disabled=list(pm.disabled),
        failures=list(pm.failures),
    )


routes = [index, reports, report_csv, register, outbox, requeue, quarantine, release, dismiss, audit, plugins]

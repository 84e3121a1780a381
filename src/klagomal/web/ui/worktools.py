"""Staff's work tools: search, the quick path and the chef's overview.

- ``/arenden/sok``: the library's search (:meth:`klagomal.Klagomal.search`),
  as the user may see its hits.  A search text may hold a person's name, so
  it never travels in a URL: the form is POSTed and the answer to the POST
  is the result page (the CSRF guard covers it; nothing is written but the
  audit entry the library makes, R27);
- ``/arenden/ny``: the quick path (R14, R29): a call or a visit at the desk
  registered in one short form, and put right at once when it was;
- ``/chef``: the chef's overview (R10, R16, R28): the overdue and the
  unassigned cases in their units, with days late in working days, the
  threat flags, and assignment with one action (``/chef/tilldela``).

Each handler acts as the signed-in user through the facade; access, rules
and the audit log are the library's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from klagomal.app import Klagomal
from klagomal.cases.threats import flag_label
from klagomal.core import errors
from klagomal.core.i18n import _
from klagomal.core.model import Case, Contact, Kind
from klagomal.core.users import HANDLING_ROLES, Role, User, handler_name
from klagomal.records.access import AccessPolicy, Operation
from klagomal.web.ui.login import staff
from klagomal.web.ui.render import FieldError, Ui

__all__ = ["NO_UNIT", "QUICK_FIELDS", "SEARCH_LIMIT", "handlers_of", "routes"]

Form = Body(media_type=RequestEncodingType.URL_ENCODED)

#: The most hits a search page shows.
SEARCH_LIMIT = 50

#: The unit choice "Vet inte": the case lands where ``[intag] enhet`` says.
NO_UNIT = ""

#: The quick path's fields, in the order of the form (their input ids).
QUICK_FIELDS = ("kanal", "typ", "text", "enhet", "namn", "telefon", "epost", "allvarligt", "lost")


# -- shared ------------------------------------------------------------------


def _units_seen(k: Klagomal, user: User) -> list[tuple[str, str]]:
    """``(id, "Unit (Förvaltning)")`` of the units whose cases *user* may
    read, in the organisation's order."""
    organisation = k.organisation
    scope = AccessPolicy(organisation).scope(user)
    return [
        (unit.id, _unit_label(k, unit.id))
        for unit in organisation.units.values()
        if scope.everything or unit.department in scope.departments or unit.id in scope.units
    ]


def _unit_label(k: Klagomal, unit_id: str) -> str:
    organisation = k.organisation
    if not organisation.has_unit(unit_id):
        return unit_id
    unit = organisation.unit(unit_id)
    department = organisation.department_of(unit_id)
    return unit.name if unit.id == department.id else f"{unit.name} ({department.name})"


def _refused(ui: Ui, operation: Operation, reason: str | None = None) -> Response[Any] | None:
    """The 403 page when the user's role may not do *operation* at all
    (a reader on the search, a handläggare on the chef's overview);
    ``None`` when it may.  The page says why, in Swedish."""
    user = ui.user
    assert user is not None
    if AccessPolicy(ui.k.organisation).allows(user, operation):
        return None
    message = errors.AccessDeniedError(
        operation,
        None,
        reason or _("{user} får inte {operation}").format(user=user.describe(), operation=operation.label),
        user=user,
    )
    return _denied(ui, message)


def _denied(ui: Ui, exc: errors.AccessDeniedError) -> Response[Any]:
    """The library's denial as the interface's 403 page.  (Raised out of a
    handler, the HTTP API's handler would answer it as JSON.)"""
    return ui.page("error.html", title=_("Du har inte behörighet"), status=403, message=str(exc))


def _message(exc: Exception) -> str:
    """The library's Swedish message, with a capital first letter."""
    text = str(exc)
    return text[:1].upper() + text[1:]


# -- search ------------------------------------------------------------------


def _search_page(
    ui: Ui,
    *,
    query: str = "",
    unit: str = "",
    found: Sequence[Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response[Any]:
    user = ui.user
    assert user is not None
    return ui.page(
        "search.html",
        title=_("Sök ärenden"),
        status=status,
        errors=[FieldError("q", error)] if error else [],
        query=query,
        unit=unit,
        units=[("", _("Alla enheter")), *_units_seen(ui.k, user)],
        found=found,
        limit=SEARCH_LIMIT,
        unit_label=lambda u: _unit_label(ui.k, u),
    )


@get("/arenden/sok", sync_to_thread=True, name="ui-search")
def search_form(request: Request[Any, Any, Any]) -> Response[Any]:
    """The search form, before anything is searched for."""
    ui = staff(request)
    return _refused(ui, Operation.SEARCH) or _search_page(ui)


@post("/arenden/sok", sync_to_thread=True, name="ui-search-results", status_code=200)
def search_results(request: Request[Any, Any, Any], data: dict[str, str] = Form) -> Response[Any]:
    """The hits of a search, as the answer to the POSTed form (the search
    text stays out of every URL and title)."""
    ui = staff(request)
    query = data.get("q", "")
    unit = data.get("enhet", "")
    try:
        found = ui.k.search(query, limit=SEARCH_LIMIT, unit=unit or None)
    except errors.AccessDeniedError as exc:
        return _denied(ui, exc)
    except (errors.InvalidInputError, errors.UnknownUnitError) as exc:
        return _search_page(ui, query=query, unit=unit, error=_message(exc), status=422)
    return _search_page(ui, query=query, unit=unit, found=found)


# -- the quick path --------------------------------------------------------------


@attrs.frozen
class QuickForm:
    """What the quick path's form holds, as written."""

    channel: str = "telefon"
    kind: str = ""
    text: str = ""
    unit: str = NO_UNIT
    name: str = ""
    phone: str = ""
    email: str = ""
    dimensions: tuple[str, ...] = ()
    serious: bool = False
    resolved: str = ""

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> QuickForm:
        dimensions = data.get("dimension", ())
        if isinstance(dimensions, str):
            dimensions = (dimensions,)
        return cls(
            channel=str(data.get("kanal", "")),
            kind=str(data.get("typ", "")),
            text=str(data.get("text", "")),
            unit=str(data.get("enhet", NO_UNIT)),
            name=str(data.get("namn", "")).strip(),
            phone=str(data.get("telefon", "")).strip(),
            email=str(data.get("epost", "")).strip(),
            dimensions=tuple(str(d) for d in dimensions),
            serious=data.get("allvarligt") == "ja",
            resolved=str(data.get("lost", "")),
        )

    def contact(self) -> Contact | None:
        """The person's contact, or ``None``: anonymous (R5)."""
        if not (self.name or self.phone or self.email):
            return None
        return Contact(name=self.name or None, phone=self.phone or None, email=self.email or None)


def _field_of(exc: errors.KlagomalError) -> str:
    """The quick path's field a refusal of the library concerns, by what it
    names; the first field when it names none of them."""
    if isinstance(exc, errors.NoUnitError | errors.UnknownUnitError):
        return "enhet"
    if isinstance(exc, errors.PluginRejectedError):
        return "text"
    reason = str(getattr(exc, "reason", exc)).lower()
    for words, field in (
        (("anonym", "nå personen", "kontakt"), "namn"),
        (("e-post",), "epost"),
        (("telefon",), "telefon"),
        (("kvalitetsdimension",), "dimension-0"),
        (("allvarlig",), "allvarligt"),
        (("vad som gjordes", "löses direkt", "lösas direkt"), "lost"),
        (("enhet",), "enhet"),
        (("kanal",), "kanal"),
        (("typ",), "typ"),
        (("text",), "text"),
    ):
        if any(word in reason for word in words):
            return field
    return QUICK_FIELDS[0]


def _quick_page(
    ui: Ui, form: QuickForm, *, errors_: Sequence[FieldError] = (), status: int = 200
) -> Response[Any]:
    k = ui.k
    intake_unit = k.organisation.intake.unit
    unknown = (
        _("Vet inte (hamnar hos {unit})").format(unit=_unit_label(k, intake_unit))
        if intake_unit
        else _("Vet inte")
    )
    units = [(NO_UNIT, unknown)] + [(u.id, _unit_label(k, u.id)) for u in k.organisation.units.values()]
    return ui.page(
        "quick.html",
        title=_("Registrera en synpunkt"),
        status=status,
        errors=errors_,
        form=form,
        channels=[(c.id, c.label) for c in k.channels.values()],
        kinds=[(kind.value, kind.label) for kind in Kind],
        units=units,
        dimensions=list(k.dimensions.values()),
    )


@get("/arenden/ny", sync_to_thread=True, name="ui-quick")
def quick_form(request: Request[Any, Any, Any]) -> Response[Any]:
    """The quick path's empty form: telefon, nothing else chosen."""
    ui = staff(request)
    return _refused(ui, Operation.REGISTER) or _quick_page(ui, QuickForm())


@post("/arenden/ny", sync_to_thread=True, name="ui-quick-register", status_code=303)
def quick_register(request: Request[Any, Any, Any], data: dict[str, Any] = Form) -> Response[Any]:
    """Register the call or visit (and put it right at once when the form
    says what was done); then off to the new case."""
    ui = staff(request)
    form = QuickForm.read(data)
    user = ui.user
    assert user is not None
    problems = []
    if form.kind not in {kind.value for kind in Kind}:
        problems.append(FieldError("typ", _("Välj om det är ett klagomål, ett förslag eller beröm")))
    if form.resolved and not form.resolved.strip():
        problems.append(FieldError("lost", _("Skriv vad som gjordes, eller lämna fältet tomt")))
    if problems:
        return _quick_page(ui, form, errors_=problems, status=422)
    k = ui.k
    try:
        case = k.register(
            kind=form.kind,
            channel=form.channel,
            text=form.text,
            unit=form.unit or k.organisation.intake.unit,
            contact=form.contact(),
            dimensions=form.dimensions,
            serious=form.serious,
            resolved=form.resolved.strip() or None,
            resolved_by=user.id if form.resolved.strip() else None,
        )
    except errors.AccessDeniedError as exc:
        return _denied(ui, exc)
    except (errors.InvalidInputError, errors.InvalidStepError, errors.UnknownUnitError) as exc:
        reference = getattr(exc, "reference", None)
        if reference:
            # Refused while resolving at once: the registration was undone
            # with it, so the reference the message names does not exist.
            problem = FieldError("lost", _("Kan inte lösas direkt: {reason}").format(reason=exc.reason))  # type: ignore[union-attr]
        else:
            problem = FieldError(_field_of(exc), _message(exc))
        return _quick_page(ui, form, errors_=[problem], status=422)
    unit = _unit_label(k, case.unit)
    if case.resolved_at_once:
        ui.say(
            "ok",
            _("Registrerade {reference} hos {unit}, löst direkt och avslutat.").format(
                reference=case.reference, unit=unit
            ),
        )
    else:
        ui.say("ok", _("Registrerade {reference} hos {unit}.").format(reference=case.reference, unit=unit))
    if not k.may_read(case):
        # R29: one may register for a unit whose cases one may not read.
        return ui.redirect("/arenden/ny")
    return ui.redirect(f"/arenden/{case.reference}")


# -- the chef's overview ------------------------------------------------------


def handlers_of(k: Klagomal, unit: str) -> list[User]:
    """Who may handle a case at *unit*: the organisation's handläggare and
    chefs whose units cover it (a handläggare's ``enheter``, a chef's
    units and everything below them), by name."""
    policy = AccessPolicy(k.organisation)
    return sorted(
        (
            user
            for user in k.organisation.users.values()
            if user.role in HANDLING_ROLES and unit in policy.scope(user).units
        ),
        key=lambda u: (u.name.casefold(), u.id),
    )


@attrs.frozen
class ChefRow:
    """A case on the chef's overview and why it is there."""

    case: Case
    due: Any
    days_late: int
    overdue: bool
    handlers: list[tuple[str, str]]
    flags: list[str]
    handler: str | None


def _chef_rows(ui: Ui) -> tuple[list[ChefRow], str | None]:
    """The rows of the overview and, when the chef leads no unit, why it is empty."""
    k = ui.k
    user = ui.user
    assert user is not None
    manager = user.id if user.role is Role.MANAGER else None
    try:
        late = k.cases(manager=manager, state="open", overdue=True)
        unassigned = k.cases(manager=manager, state="open", unassigned=True)
    except errors.InvalidInputError as exc:
        return [], _message(exc)
    cases = {c.reference: c for c in (*late, *unassigned)}
    users = k.organisation.users
    rows = []
    for case in cases.values():
        deadline = k.open_deadline(case)
        overdue = deadline is not None and deadline.overdue
        rows.append(
            ChefRow(
                case=case,
                due=deadline.due if deadline else None,
                days_late=-deadline.working_days_left if overdue and deadline is not None else 0,
                overdue=overdue,
                handlers=[(u.id, u.name) for u in handlers_of(k, case.unit)],
                flags=[flag_label(f) for f in case.threat_flags],
                handler=handler_name(users, case.handler),
            )
        )
    rows.sort(key=lambda r: (not r.overdue, -r.days_late, r.case.reference))
    return rows, None


def _chef_page(
    ui: Ui,
    *,
    errors_: Sequence[FieldError] = (),
    chosen: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    rows, note = _chef_rows(ui)
    return ui.page(
        "chef.html",
        title=_("Chefsöversikt"),
        status=status,
        errors=errors_,
        rows=rows,
        note=note,
        chosen=chosen or {},
        unit_label=lambda u: _unit_label(ui.k, u),
    )


def _chef(ui: Ui) -> Response[Any] | None:
    """The 403 page for one whose role may not assign cases
    (:attr:`Operation.ASSIGN`): the overview is for those who may."""
    user = ui.user
    assert user is not None
    return _refused(
        ui,
        Operation.ASSIGN,
        _(
            "chefsöversikten är till för chefer och förvaltningsadministratörer; "
            "{user} ser sina ärenden under Mina ärenden"
        ).format(user=user.describe()),
    )


@get("/chef", sync_to_thread=True, name="ui-chef")
def chef(request: Request[Any, Any, Any]) -> Response[Any]:
    """The chef's overview: the overdue and the unassigned cases in their units."""
    ui = staff(request)
    return _chef(ui) or _chef_page(ui)


@post("/chef/tilldela", sync_to_thread=True, name="ui-chef-assign", status_code=303)
def chef_assign(request: Request[Any, Any, Any], data: dict[str, str] = Form) -> Response[Any]:
    """Assign a case with one action, then back to the overview."""
    ui = staff(request)
    refused = _chef(ui)
    if refused is not None:
        return refused
    k = ui.k
    reference = data.get("arende", "")
    field = f"handlaggare-{reference}"
    handler = data.get("handlaggare", "")
    chosen = {reference: handler}
    try:
        version = int(data.get("version", ""))
    except ValueError:
        version = None
    try:
        case = k.get(reference)
    except errors.AccessDeniedError as exc:
        return _denied(ui, exc)
    except errors.CaseNotFoundError as exc:
        return _chef_page(ui, errors_=[FieldError("chef-lista", _message(exc))], status=404)
    allowed = {u.id: u for u in handlers_of(k, case.unit)}
    if handler not in allowed:
        text = _("Välj vem som ska handlägga ärende {reference}").format(reference=reference)
        return _chef_page(ui, errors_=[FieldError(field, text)], chosen=chosen, status=422)
    try:
        k.assign(reference, handler, expected_version=version)
    except errors.ConflictError:
        text = _(
            "Ärendet {reference} har ändrats av någon annan sedan du öppnade sidan. "
            "Se efter hur det ser ut nu och välj igen."
        ).format(reference=reference)
        return _chef_page(ui, errors_=[FieldError(field, text)], chosen=chosen, status=409)
    except (errors.InvalidInputError, errors.InvalidStepError, errors.AccessDeniedError) as exc:
        return _chef_page(ui, errors_=[FieldError(field, _message(exc))], chosen=chosen, status=422)
    ui.say(
        "ok",
        _("Ärende {reference} har tilldelats {name}.").format(
            reference=reference, name=allowed[handler].name
        ),
    )
    return ui.redirect("/chef")


routes = [search_form, search_results, quick_form, quick_register, chef, chef_assign]

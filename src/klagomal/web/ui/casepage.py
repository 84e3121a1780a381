"""The handläggare's case page and the routine's steps as forms.

``/arenden/{reference}`` shows a case as the signed-in user may see it,
with what ``klagomal show`` prints: the summary with its deadlines and
their urgency, the flags for abusive or threatening treatment (R28), the
secrecy marking (R27), the person's contact as the facade gives it, the
text, the person's messages and the attachments (downloads), the notes,
the history with who took each step, the related cases ("Liknande
ärenden"), the letters to the person with their delivery status, and the
steps the user can take now, the one the routine expects next first
(:func:`klagomal.cases.next_step.next_step`).

``/arenden/{reference}/steg/{step}`` is one form per step of the routine.
The steps are those of the HTTP API (:data:`klagomal.web.steps.STEPS` and
:data:`~klagomal.web.steps.OWN_ROUTES`), by the same names, plus
``complete-task`` (the handler phoned the person); :data:`NOT_A_FORM` says
why a facade step has no form here.  Each form carries the case's version
when it was drawn, passed on as ``expected_version``; a refusal re-renders
the form with what the person wrote and the library's Swedish reason, and
nothing is written.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio.to_thread
import attrs
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile

from klagomal.app import Klagomal
from klagomal.cases.next_step import actor_label, next_step
from klagomal.cases.threats import about_label, flag_label, kind_label
from klagomal.core import errors
from klagomal.core.events import (
    ABOUT_CASE,
    ABOUT_CONTACT,
    ABUSIVE,
    APPEAL,
    FAULT_REPORT,
    THREATENING,
    Acknowledged,
    ActionRecorded,
    Answered,
    Assigned,
    AttachmentAdded,
    Closed,
    ContactCorrected,
    Escalated,
    Event,
    Forwarded,
    Guided,
    Informed,
    Located,
    MessageReceived,
    NoteAdded,
    Paused,
    Postponed,
    PraisePassedOn,
    Reclassified,
    ResolvedAtOnce,
)
from klagomal.core.i18n import _
from klagomal.core.location_rules import check_location
from klagomal.core.model import Case, CaseState, Kind, Level
from klagomal.core.steps import step_label
from klagomal.core.users import Role, handler_name
from klagomal.records.access import Operation
from klagomal.web.steps import OWN_ROUTES, STEPS
from klagomal.web.ui.followlink import may_give_link
from klagomal.web.ui.login import staff
from klagomal.web.ui.render import SECURITY_HEADERS, FieldError, Ui

__all__ = ["NOT_A_FORM", "STEP_FORMS", "Field", "StepForm", "routes"]


# -- the forms ---------------------------------------------------------------------------

Choices = Callable[[Klagomal, Case], list[tuple[str, str]]]
Default = Callable[[Klagomal, Case], str]


@attrs.frozen
class Field:
    """One field of a step's form.

    :param id: the input's id and name.
    :param kind: ``text``, ``textarea``, ``date``, ``select``, ``radios``,
        ``checkbox`` or ``file``.
    :param choices: the options of a ``select`` or ``radios``, from the case
        and the organisation.
    :param default: the value the form proposes.
    """

    id: str
    kind: str
    label: str
    hint: str | None = None
    required: bool = False
    choices: Choices | None = None
    default: Default | None = None


@attrs.frozen
class StepForm:
    """The form of one step.

    :param step: the step's name, in the address (the HTTP API's).
    :param method: the facade method the step calls (``None``: none that
        takes ``expected_version``).
    :param operation: what the access check calls the step, to offer it
        only to those who may take it.
    :param when: whether the case as it is now allows the step (the
        library decides: this only chooses which links the page offers).
    :param call: takes the step with the form's values and the version;
        the case afterwards when the step may take it out of the user's
        reach (forwarded to a unit they cannot read).
    """

    step: str
    method: str | None
    title: str
    button: str
    done: str
    fields: tuple[Field, ...]
    operation: Operation
    when: Callable[[Case], bool]
    call: Callable[[Klagomal, Case, Mapping[str, Any], int], Case | None]
    lead: str = ""
    warning: bool = False
    #: The field the library's refusal of what was written concerns, when
    #: it is not the first (a refusal of the step itself goes to the first).
    error_field: str | None = None


#: Facade steps that have no form on the case page, and why.
NOT_A_FORM: dict[str, str] = {
    "register": "the quick path: another page builds it (/arenden/ny), for a case that does not exist yet",
}


def _open(case: Case) -> bool:
    return case.state is not CaseState.AVSLUTAT


def _reachable(case: Case) -> bool:
    return case.contact is not None and not case.anonymous


def _running(case: Case) -> bool:
    return case.state is CaseState.HANDLAGGNING and case.paused_since is None


def _text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _optional(values: Mapping[str, Any], name: str) -> str | None:
    return _text(values, name) or None


class FormError(Exception):
    """A field the form itself could not read (a date that is no date):
    the field's id and the library's kind of message."""

    def __init__(self, field: str, error: errors.InvalidInputError) -> None:
        super().__init__(str(error))
        self.field = field
        self.error = error


def _day(values: Mapping[str, Any], name: str, case: Case, step: str) -> dt.date | None:
    value = _text(values, name)
    if not value:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    reason = _("'{value}' är inget datum i formen ÅÅÅÅ-MM-DD").format(value=value[:40])
    raise FormError(name, errors.InvalidInputError(reason, step=step, reference=case.reference))


def _required_day(values: Mapping[str, Any], name: str, case: Case, step: str) -> dt.date:
    day = _day(values, name, case, step)
    if day is None:
        reason = _("ange ett datum i formen ÅÅÅÅ-MM-DD")
        raise FormError(name, errors.InvalidInputError(reason, step=step, reference=case.reference))
    return day


def _units(k: Klagomal, case: Case) -> list[tuple[str, str]]:
    org = k.organisation
    return [("", _("Välj enhet"))] + [
        (
            u.id,
            f"{u.name} ({org.departments[u.department].name})" if u.department in org.departments else u.name,
        )
        for u in org.units.values()
        if u.id != case.unit
    ]


def _handlers(k: Klagomal, case: Case, *, empty: str) -> list[tuple[str, str]]:
    """The users who handle cases: the case's unit's first."""
    people = [
        u
        for u in k.organisation.users.values()
        if u.role in (Role.HANDLER, Role.MANAGER) and u.id != "system"
    ]
    people.sort(key=lambda u: (case.unit not in u.units, u.name))
    return [("", empty)] + [(u.id, f"{u.name} ({u.role.label})") for u in people]


def _respond_by(k: Klagomal, case: Case) -> str:
    """The date the besked promises unless the handler picks another: the
    förvaltning's response time for the kind (R10)."""
    try:
        return k.deadlines.default_respond_by(case.department, case.kind, k.clock.today()).isoformat()
    except errors.KlagomalError:
        return ""


def _yes_no(values: Mapping[str, Any], name: str) -> bool | None:
    return {"ja": True, "nej": False}.get(_text(values, name))


# Each step's call: the form's values to the facade's parameters.


def _forward(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> Case:
    return k.forward(case.reference, _text(v, "to_unit"), expected_version=version)


def _acknowledge(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    respond_by = _day(v, "respond_by", case, "acknowledge")
    k.acknowledge(case.reference, _optional(v, "handler"), respond_by, expected_version=version)


def _assign(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    k.assign(case.reference, _text(v, "handler"), expected_version=version)


def _flag(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    k.flag_threat(
        case.reference,
        _text(v, "kind"),
        about=_text(v, "about") or ABOUT_CONTACT,
        reason=_text(v, "reason"),
        expected_version=version,
    )


def _unflag(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    kind, _sep, about = _text(v, "flag").partition(":")
    k.lift_threat_flag(
        case.reference, _text(v, "reason"), kind=kind or None, about=about or None, expected_version=version
    )


def _pause(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    k.pause(case.reference, _text(v, "reason"), expected_version=version)


def _resume(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    k.resume(case.reference, expected_version=version)


def _inform(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    k.inform(case.reference, _text(v, "text"), expected_version=version)


def _postpone(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    respond_by = _required_day(v, "respond_by", case, "postpone")
    k.postpone(case.reference, respond_by, _text(v, "reason"), expected_version=version)


def _answer(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    k.answer(case.reference, _text(v, "mode"), _text(v, "text"), expected_version=version)


def _action(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    k.record_action(case.reference, _text(v, "text"), expected_version=version)


def _close(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    k.close(
        case.reference,
        _yes_no(v, "satisfied"),
        drop_tasks=_optional(v, "drop_tasks"),
        expected_version=version,
    )


def _escalate(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    k.escalate(case.reference, _text(v, "reason"), expected_version=version)


def _pass_on(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    recipients = [r.strip() for r in re.split(r"[,\n]", _text(v, "recipients")) if r.strip()]
    k.pass_on_praise(case.reference, recipients, _text(v, "text"), expected_version=version)


def _guide(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    k.guide(
        case.reference,
        _text(v, "route"),
        _text(v, "text"),
        decision=_optional(v, "decision"),
        appeal_to=_optional(v, "appeal_to"),
        notified=_day(v, "notified", case, "guide"),
        expected_version=version,
    )


def _reclassify(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    k.reclassify(case.reference, _text(v, "kind"), _text(v, "reason"), expected_version=version)


def _note(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    k.add_note(case.reference, _text(v, "text"), expected_version=version)


#: The contact's fields the correction form shows, as the facade names them.
_CONTACT_FIELDS = ("name", "email", "phone", "address", "personnummer")


def _contact_value(case: Case, name: str) -> str:
    if case.contact is None:
        return ""
    value = getattr(case.contact, name)
    if name == "preferred":
        return value or "ingen"
    if name == "protected":
        return "ja" if value else "nej"
    return value or ""


def _correct_contact(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    changes: dict[str, Any] = {}
    for name in _CONTACT_FIELDS:
        value = _text(v, name)
        if value != _contact_value(case, name):
            changes[name] = value
    preferred = _text(v, "preferred") or "ingen"
    if preferred != _contact_value(case, "preferred"):
        changes["preferred"] = "" if preferred == "ingen" else preferred
    protected = _text(v, "protected") or "nej"
    if protected != _contact_value(case, "protected"):
        changes["protected"] = protected == "ja"
    if not changes:
        raise FormError(
            "name",
            errors.InvalidInputError(
                _("ändra minst en av kontaktuppgifterna; de är som förut"),
                step="correct-contact",
                reference=case.reference,
            ),
        )
    k.correct_contact(case.reference, reason=_text(v, "reason"), expected_version=version, **changes)


def _describe(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    k.describe(case.reference, _text(v, "summary"), expected_version=version)


def _mark_secret(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    parts: list[int] = []
    for part in re.split(r"[,\s]+", _text(v, "parts")):
        if not part:
            continue
        if not part.isdigit() or len(part) > 9:
            raise FormError(
                "parts",
                errors.InvalidInputError(
                    _("'{part}' är inget händelsenummer; skriv numren med komma emellan").format(
                        part=part[:20]
                    ),
                    step="secrecy",
                    reference=case.reference,
                ),
            )
        parts.append(int(part))
    k.mark_secret(
        case.reference, _text(v, "ground"), parts=parts, reason=_text(v, "reason"), expected_version=version
    )


def _lift_secrecy(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    k.lift_secrecy(case.reference, _text(v, "reason"), expected_version=version)


def _resolve(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    handler = _text(v, "handler") or (k.user.name if k.user is not None else "")
    k.resolve_at_once(
        case.reference, _text(v, "text"), handler, satisfied=_yes_no(v, "satisfied"), expected_version=version
    )


def _locate(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    location = check_location(
        latitude=_optional(v, "latitude"),
        longitude=_optional(v, "longitude"),
        address=_optional(v, "place"),
        step="locate",
        reference=case.reference,
    )
    remove = _text(v, "remove") == "ja"
    if location is None and not remove:
        raise FormError(
            "place",
            errors.InvalidInputError(
                _("ange platsen med ord eller med latitud och longitud, eller kryssa i att den ska tas bort"),
                step="locate",
                reference=case.reference,
            ),
        )
    if location is not None and remove:
        raise FormError(
            "remove",
            errors.InvalidInputError(
                _("ange antingen en plats eller att platsen ska tas bort, inte båda"),
                step="locate",
                reference=case.reference,
            ),
        )
    k.locate(case.reference, location, reason=_text(v, "reason"), expected_version=version)


def _attach(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    upload = v.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise FormError(
            "file",
            errors.InvalidInputError(_("välj en fil att bifoga"), step="attach", reference=case.reference),
        )
    data = upload.file.read()
    media = (upload.content_type or "").split(";")[0].strip().lower()
    k.attach(
        case.reference,
        data,
        filename=upload.filename,
        media_type=None if media in ("", "application/octet-stream") else media,
        expected_version=version,
    )


def _tasks(k: Klagomal, case: Case) -> list[tuple[str, str]]:
    return [
        (str(n.id), _("{kind} (händelse {seq})").format(kind=n.kind, seq=n.seq))
        for n in k.outbox(reference=case.reference, statuses=["task"])
    ]


def _complete_task(k: Klagomal, case: Case, v: Mapping[str, Any], version: int) -> None:
    chosen = _text(v, "task")
    if chosen not in {value for value, _label in _tasks(k, case)}:
        raise FormError(
            "task",
            errors.InvalidInputError(
                _("välj den uppgift du har gjort"), step="complete-task", reference=case.reference
            ),
        )
    k.complete_task(int(chosen))


def _kinds(k: Klagomal, case: Case) -> list[tuple[str, str]]:
    return [(kind.value, kind.label) for kind in Kind if kind is not case.kind]


def _flags(k: Klagomal, case: Case) -> list[tuple[str, str]]:
    return [(key, flag_label(key)) for key in case.threat_flags]


def _static(*pairs: tuple[str, str]) -> Choices:
    return lambda k, case: list(pairs)


def _const(value: str) -> Default:
    return lambda k, case: value


_REASON = Field("reason", "textarea", _("Skäl"), required=True)


def _forms() -> dict[str, StepForm]:
    forms = [
        StepForm(
            "acknowledge",
            "acknowledge",
            _("Ge besked"),
            _("Ge besked"),
            _("Besked givet i ärende {reference}."),
            (
                Field(
                    "handler",
                    "select",
                    _("Handläggare"),
                    _("Lämna tomt för att själv bli handläggare."),
                    choices=lambda k, c: _handlers(k, c, empty=_("Jag själv")),
                ),
                Field(
                    "respond_by",
                    "date",
                    _("Svar senast"),
                    _(
                        "Datumet personen får svar senast (ÅÅÅÅ-MM-DD). "
                        "Förslaget följer förvaltningens svarstid."
                    ),
                    default=_respond_by,
                ),
            ),
            Operation.HANDLE,
            lambda c: c.state is CaseState.REGISTRERAT,
            _acknowledge,
            lead=_("Besked om vem som handlägger ärendet och när personen får svar (R7)."),
        ),
        StepForm(
            "assign",
            "assign",
            _("Tilldela handläggare"),
            _("Tilldela"),
            _("Ärende {reference} har fått ny handläggare."),
            (
                Field(
                    "handler",
                    "select",
                    _("Handläggare"),
                    required=True,
                    choices=lambda k, c: _handlers(k, c, empty=_("Välj handläggare")),
                ),
            ),
            Operation.ASSIGN,
            _open,
            _assign,
        ),
        StepForm(
            "forward",
            "forward",
            _("Skicka vidare"),
            _("Skicka vidare"),
            _("Ärende {reference} är skickat vidare."),
            (
                Field(
                    "to_unit", "select", _("Till enhet"), _("Enheten som ärendet gäller (R12)."), True, _units
                ),
            ),
            Operation.HANDLE,
            lambda c: c.state in (CaseState.REGISTRERAT, CaseState.HANDLAGGNING) and c.paused_since is None,
            _forward,
        ),
        StepForm(
            "inform",
            "inform",
            _("Informera personen"),
            _("Skicka informationen"),
            _("Informationen till personen i ärende {reference} är sparad och skickas."),
            (Field("text", "textarea", _("Text till personen"), _("Hur handläggningen går (R9)."), True),),
            Operation.HANDLE,
            lambda c: c.state in (CaseState.REGISTRERAT, CaseState.HANDLAGGNING) and _reachable(c),
            _inform,
        ),
        StepForm(
            "pause",
            "pause",
            _("Pausa"),
            _("Pausa"),
            _("Ärende {reference} är pausat."),
            (
                Field(
                    "reason",
                    "textarea",
                    _("Vad väntar ärendet på?"),
                    _("Till exempel uppgifter från personen."),
                    True,
                ),
            ),
            Operation.HANDLE,
            lambda c: _running(c) and _reachable(c),
            _pause,
        ),
        StepForm(
            "resume",
            "resume",
            _("Återuppta"),
            _("Återuppta"),
            _("Ärende {reference} är återupptaget."),
            (),
            Operation.HANDLE,
            lambda c: c.paused_since is not None,
            _resume,
            lead=_("Klockan startar igen; svarsdatumet flyttas med de arbetsdagar ärendet stod still."),
        ),
        StepForm(
            "postpone",
            "postpone",
            _("Ge nytt svarsdatum"),
            _("Ge nytt svarsdatum"),
            _("Ärende {reference} har fått nytt svarsdatum."),
            (
                Field("respond_by", "date", _("Nytt svarsdatum"), _("ÅÅÅÅ-MM-DD"), True),
                Field("reason", "textarea", _("Skäl"), _("Personen får veta varför (R11)."), True),
            ),
            Operation.HANDLE,
            _running,
            _postpone,
        ),
        StepForm(
            "answer",
            "answer",
            _("Besvara"),
            _("Besvara"),
            _("Ärende {reference} är besvarat."),
            (
                Field(
                    "mode",
                    "radios",
                    _("Hur svarar du?"),
                    required=True,
                    choices=_static(("skriftligt", _("Skriftligt")), ("muntligt", _("Muntligt"))),
                    default=_const("skriftligt"),
                ),
                Field(
                    "text",
                    "textarea",
                    _("Svaret"),
                    _("Skriftligt: brevet till personen. Muntligt: vad du sa."),
                    True,
                ),
            ),
            Operation.HANDLE,
            lambda c: _running(c) and _reachable(c),
            _answer,
            error_field="text",
        ),
        StepForm(
            "action",
            "record_action",
            _("Registrera åtgärd"),
            _("Spara åtgärden"),
            _("Åtgärden är registrerad i ärende {reference}."),
            (
                Field(
                    "text",
                    "textarea",
                    _("Åtgärd"),
                    _("Vad som har gjorts med anledning av synpunkten (R16)."),
                    True,
                ),
            ),
            Operation.HANDLE,
            lambda c: True,
            _action,
        ),
        StepForm(
            "close",
            "close",
            _("Avsluta"),
            _("Avsluta ärendet"),
            _("Ärende {reference} är avslutat."),
            (
                Field(
                    "satisfied",
                    "radios",
                    _("Är personen nöjd?"),
                    _("Ett anonymt ärende avslutas utan svar på frågan."),
                    choices=lambda k, c: (
                        [("", _("Anonymt – kan inte anges"))]
                        if c.anonymous
                        else [("ja", _("Ja, nöjd")), ("nej", _("Nej, inte nöjd"))]
                    ),
                ),
                Field(
                    "drop_tasks",
                    "text",
                    _("Skäl att stryka öppna uppgifter"),
                    _("Bara om en uppgift (ring personen) ännu är öppen och inte ska göras."),
                ),
            ),
            Operation.HANDLE,
            lambda c: c.state is CaseState.BESVARAT or (c.state is CaseState.HANDLAGGNING and c.anonymous),
            _close,
            warning=True,
        ),
        StepForm(
            "escalate",
            "escalate",
            _("Lyfta till nästa nivå"),
            _("Lyft ärendet"),
            _("Ärende {reference} är lyft till nästa nivå."),
            (Field("reason", "textarea", _("Skäl"), _("Varför personen inte är nöjd (R19–R21)."), True),),
            Operation.HANDLE,
            lambda c: c.state is CaseState.AVSLUTAT and c.satisfied is False and c.level < Level.NAMND,
            _escalate,
        ),
        StepForm(
            "pass-on",
            "pass_on_praise",
            _("För berömmet vidare"),
            _("För vidare"),
            _("Berömmet i ärende {reference} är fört vidare."),
            (
                Field(
                    "recipients",
                    "text",
                    _("Till vem?"),
                    _("Namn på personal eller arbetslag, med komma emellan (R22)."),
                    True,
                ),
                Field("text", "textarea", _("Hälsning"), _("Det du vill säga med berömmet.")),
            ),
            Operation.HANDLE,
            lambda c: c.kind is Kind.BEROM and _open(c),
            _pass_on,
        ),
        StepForm(
            "guide",
            "guide",
            _("Vägleda"),
            _("Skicka vägledningen"),
            _("Vägledningen i ärende {reference} är sparad och skickas."),
            (
                Field(
                    "route",
                    "radios",
                    _("Vilken väg gäller också?"),
                    required=True,
                    choices=_static(
                        (APPEAL, _("Överklagande av ett beslut")), (FAULT_REPORT, _("Felanmälan"))
                    ),
                ),
                Field("text", "textarea", _("Vägledning till personen"), _("Var och hur (R3)."), True),
                Field("decision", "text", _("Beslutet"), _("Vid överklagande: beslutet det gäller.")),
                Field("appeal_to", "text", _("Överklagandet ställs till"), _("Vid överklagande.")),
                Field(
                    "notified",
                    "date",
                    _("Personen fick beslutet"),
                    _("Vid överklagande (ÅÅÅÅ-MM-DD); tre veckor räknas därifrån."),
                ),
            ),
            Operation.HANDLE,
            lambda c: _open(c) and _reachable(c),
            _guide,
        ),
        StepForm(
            "reclassify",
            "reclassify",
            _("Ändra typ"),
            _("Ändra typ"),
            _("Ärende {reference} har ny typ."),
            (
                Field("kind", "radios", _("Ny typ"), _("Ett klagomål ändras aldrig (R2)."), True, _kinds),
                _REASON,
            ),
            Operation.HANDLE,
            lambda c: _open(c) and c.kind is not Kind.KLAGOMAL,
            _reclassify,
        ),
        StepForm(
            "resolve",
            "resolve_at_once",
            _("Lösa direkt"),
            _("Lös och avsluta"),
            _("Ärende {reference} är löst direkt och avslutat."),
            (
                Field(
                    "text",
                    "textarea",
                    _("Vad gjordes?"),
                    _("Besked, svar och avslut i ett steg (R14)."),
                    True,
                ),
                Field("handler", "text", _("Vem löste det?"), _("Lämna tomt om det var du.")),
                Field(
                    "satisfied",
                    "radios",
                    _("Är personen nöjd?"),
                    choices=_static(("ja", _("Ja, nöjd")), ("nej", _("Nej, inte nöjd"))),
                    default=_const("ja"),
                ),
            ),
            Operation.HANDLE,
            lambda c: c.state is CaseState.REGISTRERAT and c.level is Level.ENHET and not c.serious,
            _resolve,
        ),
        StepForm(
            "note",
            "add_note",
            _("Skriva anteckning"),
            _("Spara anteckningen"),
            _("Anteckningen är sparad i ärende {reference}."),
            (
                Field(
                    "text",
                    "textarea",
                    _("Anteckning"),
                    _("Intern: för dem som handlägger ärendet, skickas till ingen."),
                    True,
                ),
            ),
            Operation.NOTE,
            lambda c: True,
            _note,
        ),
        StepForm(
            "attach",
            "attach",
            _("Bifoga handling"),
            _("Bifoga"),
            _("Handlingen är bifogad till ärende {reference}."),
            (Field("file", "file", _("Fil"), _("PDF, bild, text eller kontorsdokument."), True),),
            Operation.ATTACH,
            lambda c: True,
            _attach,
        ),
        StepForm(
            "correct-contact",
            "correct_contact",
            _("Rätta kontaktuppgifter"),
            _("Spara rättelsen"),
            _("Kontaktuppgifterna i ärende {reference} är rättade."),
            (
                Field("name", "text", _("Namn"), default=lambda k, c: _contact_value(c, "name")),
                Field("email", "text", _("E-postadress"), default=lambda k, c: _contact_value(c, "email")),
                Field("phone", "text", _("Telefon"), default=lambda k, c: _contact_value(c, "phone")),
                Field(
                    "address", "textarea", _("Postadress"), default=lambda k, c: _contact_value(c, "address")
                ),
                Field(
                    "preferred",
                    "select",
                    _("Vill bli kontaktad med"),
                    choices=_static(
                        ("ingen", _("Inget särskilt sätt")),
                        ("epost", _("E-post")),
                        ("brev", _("Brev")),
                        ("telefon", _("Telefon")),
                    ),
                    default=lambda k, c: _contact_value(c, "preferred"),
                ),
                Field(
                    "personnummer",
                    "text",
                    _("Personnummer"),
                    _("Bara om ärendet kräver det."),
                    default=lambda k, c: _contact_value(c, "personnummer"),
                ),
                Field(
                    "protected",
                    "select",
                    _("Skyddade personuppgifter"),
                    choices=_static(("nej", _("Nej")), ("ja", _("Ja"))),
                    default=lambda k, c: _contact_value(c, "protected"),
                ),
                Field("reason", "text", _("Varför rättas uppgifterna?")),
            ),
            Operation.CORRECT_CONTACT,
            lambda c: c.contact is not None,
            _correct_contact,
            lead=_("De gamla uppgifterna finns kvar i historiken (rättelse, GDPR artikel 16)."),
        ),
        StepForm(
            "locate",
            "locate",
            _("Ange plats"),
            _("Spara platsen"),
            _("Platsen för ärende {reference} är sparad."),
            (
                Field("place", "text", _("Platsen med ord"), _("Gatuadress, korsning eller park.")),
                Field("latitude", "text", _("Latitud"), _("I WGS84, till exempel 59.3293.")),
                Field("longitude", "text", _("Longitud"), _("I WGS84, till exempel 18.0686.")),
                Field("remove", "checkbox", _("Ta bort platsen")),
                Field("reason", "text", _("Varför ändras platsen?")),
            ),
            Operation.HANDLE,
            lambda c: True,
            _locate,
        ),
        StepForm(
            "describe",
            "describe",
            _("Beskriva i diariet"),
            _("Spara beskrivningen"),
            _("Diariets beskrivning av ärende {reference} är sparad."),
            (
                Field(
                    "summary",
                    "text",
                    _("Beskrivning"),
                    _("En allmän rad om vad ärendet gäller, utan personuppgifter (R27)."),
                    True,
                    default=lambda k, c: c.summary or "",
                ),
            ),
            Operation.HANDLE,
            lambda c: True,
            _describe,
        ),
        StepForm(
            "mark-secret",
            "mark_secret",
            _("Sekretessmarkera"),
            _("Sekretessmarkera"),
            _("Ärende {reference} är sekretessmarkerat."),
            (
                Field("ground", "text", _("Grund"), _("Lagrummet, till exempel OSL 26 kap. 1 §."), True),
                Field(
                    "parts",
                    "text",
                    _("Händelser"),
                    _("Numren på de händelser som är hemliga, med komma emellan; tomt: hela ärendet."),
                ),
                Field("reason", "text", _("Skäl")),
            ),
            Operation.SECRECY,
            lambda c: True,
            _mark_secret,
        ),
        StepForm(
            "lift-secrecy",
            "lift_secrecy",
            _("Häva sekretessmarkering"),
            _("Häv markeringen"),
            _("Sekretessmarkeringen av ärende {reference} är hävd."),
            (_REASON,),
            Operation.SECRECY,
            lambda c: c.secrecy is not None,
            _lift_secrecy,
        ),
        StepForm(
            "flag",
            "flag_threat",
            _("Flagga kränkande eller hotfullt bemötande"),
            _("Flagga"),
            _("Flaggan är satt i ärende {reference}; chefen får veta."),
            (
                Field(
                    "kind",
                    "radios",
                    _("Vad hände?"),
                    required=True,
                    choices=_static((ABUSIVE, kind_label(ABUSIVE)), (THREATENING, kind_label(THREATENING))),
                ),
                Field(
                    "about",
                    "radios",
                    _("Flaggan gäller"),
                    choices=_static(
                        (ABOUT_CONTACT, about_label(ABOUT_CONTACT)), (ABOUT_CASE, about_label(ABOUT_CASE))
                    ),
                    default=_const(ABOUT_CONTACT),
                ),
                Field("reason", "textarea", _("Vad hände?"), _("Skickas aldrig till personen (R28)."), True),
            ),
            Operation.FLAG,
            lambda c: True,
            _flag,
        ),
        StepForm(
            "unflag",
            "lift_threat_flag",
            _("Häva flagga"),
            _("Häv flaggan"),
            _("Flaggan i ärende {reference} är hävd."),
            (
                Field("flag", "select", _("Flagga"), required=True, choices=_flags),
                _REASON,
            ),
            Operation.UNFLAG,
            lambda c: bool(c.threat_flags),
            _unflag,
        ),
        StepForm(
            "complete-task",
            None,
            _("Markera uppgift som gjord"),
            _("Markera som gjord"),
            _("Uppgiften i ärende {reference} är markerad som gjord."),
            (
                Field(
                    "task",
                    "radios",
                    _("Vilken uppgift har du gjort?"),
                    _("Till exempel ringt personen."),
                    True,
                    _tasks,
                ),
            ),
            Operation.HANDLE,
            lambda c: True,
            _complete_task,
        ),
    ]
    return {form.step: form for form in forms}


@functools.cache
def step_forms() -> dict[str, StepForm]:
    """Every step's form, by its name in the address."""
    return _forms()


#: The steps with a form: the HTTP API's (:data:`STEPS`, :data:`OWN_ROUTES`)
#: and ``complete-task``.
STEP_FORMS: tuple[str, ...] = (*STEPS, *OWN_ROUTES, "complete-task")


def available(k: Klagomal, case: Case) -> list[StepForm]:
    """The steps the user may take on *case* as it is now, in the table's order."""
    user = k.user
    if user is None:
        return []
    found = []
    has_tasks: bool | None = None
    for form in step_forms().values():
        try:
            k.access.check(user, form.operation, case)
        except errors.AccessDeniedError:
            continue
        if not form.when(case):
            continue
        if form.step == "complete-task":
            if has_tasks is None:
                has_tasks = bool(_tasks(k, case))
            if not has_tasks:
                continue
        found.append(form)
    return found


# -- the case page ----------------------------------------------------------------------


def _event_text(k: Klagomal, event: Event) -> str:
    """What an event recorded, in a few Swedish words (as ``klagomal show``)."""
    org = k.organisation
    data = event.data
    match data:
        case Forwarded():
            return _("till {unit}").format(unit=k.access.unit_name(data.to_unit))
        case Acknowledged():
            return _("{handler}, svar senast {date}").format(
                handler=handler_name(org.users, data.handler), date=data.respond_by
            )
        case Assigned():
            return _("{handler} (förut {previous})").format(
                handler=handler_name(org.users, data.handler),
                previous=handler_name(org.users, data.previous) or _("ingen"),
            )
        case Postponed():
            return _("till {date}: {reason}").format(date=data.respond_by, reason=data.reason)
        case Paused():
            return data.reason
        case Answered():
            return data.mode.value
        case Closed():
            return {True: _("nöjd"), False: _("inte nöjd"), None: _("anonym")}[data.satisfied]
        case Escalated():
            return _("nivå {n}, {handler}").format(n=int(data.level), handler=data.handler)
        case PraisePassedOn():
            return ", ".join(data.recipients)
        case Reclassified():
            return data.kind.label
        case ActionRecorded() | Informed():
            return data.text
        case ResolvedAtOnce():
            return _("{handler}: {text}").format(handler=data.handler, text=data.text)
        case Guided():
            return data.route
        case NoteAdded():
            return _("intern anteckning")
        case AttachmentAdded():
            return f"{data.filename} ({data.media_type}, {data.size} byte)"
        case ContactCorrected():
            return _("kontaktuppgifterna rättade") + (f" ({data.reason})" if data.reason else "")
        case Located():
            return data.location.describe() if data.location is not None else _("borttagen")
        case MessageReceived():
            return _("meddelande från personen")
    return ""


def _case_context(ui: Ui, reference: str) -> dict[str, Any]:
    k = ui.k
    case = k.get(reference)
    events = k.history(reference)
    users, channels = k.organisation.users, k.channels
    today = k.clock.today()
    notices = k.outbox(reference=reference)
    letters = sorted({(n.seq, n.kind) for n in notices if n.to_person})
    statuses = {(n.seq, n.kind): n for n in notices if n.to_person}
    deadline = k.open_deadline(case)
    org = k.organisation
    return {
        "case": case,
        "events": [(e, actor_label(e, users, channels), _event_text(k, e)) for e in events],
        "messages": [e for e in events if isinstance(e.data, MessageReceived)],
        "notes": [(e, handler_name(users, e.actor) or "-") for e in events if isinstance(e.data, NoteAdded)],
        "files": k.attachments(reference),
        "related": k.related(reference),
        "letters": [(seq, kind, statuses.get((seq, kind))) for seq, kind in letters],
        "tasks": [n for n in notices if n.status == "task"],
        "next": next_step(case, today),
        "deadline": deadline,
        "steps": available(k, case),
        "handler": handler_name(users, case.handler),
        "unit": k.access.unit_name(case.unit),
        "department": org.departments[case.department].name
        if case.department in org.departments
        else case.department,
        "channel": channels[case.channel].label if case.channel in channels else case.channel,
        "dimensions": [k.dimensions[d].label if d in k.dimensions else d for d in case.dimensions],
        "flags": [flag_label(key) for key in case.threat_flags],
        "overdue": case.overdue_reason(today),
        "step_label": step_label,
    }


@get("/arenden/{reference:str}", sync_to_thread=True, name="ui-case")
def case_page(request: Request[Any, Any, Any], reference: str) -> Response[Any]:
    """The case as the user may see it, with the steps they can take now."""
    ui = staff(request)
    context = _case_context(ui, reference)
    # -- "Följ ditt ärende-länk" (klagomal.web.ui.followlink): for those who may handle the case.
    context["follow_link"] = may_give_link(ui.k, context["case"])
    return ui.page("case.html", title=_("Ärende {reference}").format(reference=reference), **context)


@get("/arenden/{reference:str}/bilagor/{attachment_id:int}", sync_to_thread=True, name="ui-attachment")
def attachment(request: Request[Any, Any, Any], reference: str, attachment_id: int) -> Response[Any]:
    """One attachment's bytes as the facade gives them, as a download:
    never shown inline, never sniffed, in a sandbox if opened anyway."""
    ui = staff(request)
    found = ui.k.attachments(reference, ids=[attachment_id], with_data=True)
    if not found:
        return ui.page(
            "error.html",
            title=_("Bilagan finns inte"),
            status=404,
            message=_("Ärende {reference} har ingen bilaga {id}.").format(
                reference=reference, id=attachment_id
            ),
        )
    (file,) = found
    if file.data is None:
        return ui.page(
            "error.html",
            title=_("Du har inte behörighet"),
            status=403,
            message=_(
                "Bilaga {id} i ärende {reference} visas inte för dig: den kan röja vem en skyddad person är."
            ).format(reference=reference, id=attachment_id),
        )
    name = file.filename or f"bilaga-{attachment_id}"
    media = file.content_type or "application/octet-stream"
    if (
        "html" in media
        or "xml" in media
        or "javascript" in media
        or not re.fullmatch(r"[\w.+-]+/[\w.+-]+", media)
    ):
        media = "application/octet-stream"
    return Response(
        file.data,
        media_type=media,
        headers={
            **SECURITY_HEADERS,
            # Stricter than a page's: nothing of it runs, even if opened.
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Content-Disposition": "attachment; filename*=UTF-8''" + urllib.parse.quote(name, safe=""),
            "Cache-Control": "private, no-store",
        },
    )


@get("/arenden/{reference:str}/brev/{seq:int}", sync_to_thread=True, name="ui-letter")
def letter_page(request: Request[Any, Any, Any], reference: str, seq: int) -> Response[Any]:
    """The letter to the person owed to event *seq*, as it will be or was
    sent, ready to print (print.css)."""
    ui = staff(request)
    case = ui.k.get(reference)
    letter = ui.k.letter(reference, seq)
    sent = [n for n in ui.k.outbox(reference=reference) if n.to_person and n.seq == seq]
    return ui.page(
        "letter.html",
        title=_("Brev i ärende {reference}").format(reference=reference),
        case=case,
        letter=letter,
        notices=sent,
    )


# -- the step forms ---------------------------------------------------------------------


def _form_or_404(step: str) -> StepForm:
    from litestar.exceptions import NotFoundException

    form = step_forms().get(step)
    if form is None:
        raise NotFoundException(_("Steget '{step}' finns inte.").format(step=step[:40]))
    return form


def _defaults(k: Klagomal, case: Case, form: StepForm) -> dict[str, str]:
    return {f.id: (f.default(k, case) if f.default else "") for f in form.fields if f.kind != "file"}


def _step_page(
    ui: Ui,
    case: Case,
    form: StepForm,
    values: Mapping[str, Any],
    version: int,
    *,
    errors_: Sequence[FieldError] = (),
    status: int = 200,
) -> Response[Any]:
    k = ui.k
    choices = {f.id: f.choices(k, case) for f in form.fields if f.choices is not None}
    return ui.page(
        "step.html",
        title=_("{step} – ärende {reference}").format(step=form.title, reference=case.reference),
        status=status,
        errors=errors_,
        case=case,
        form=form,
        values={key: value for key, value in values.items() if isinstance(value, str)},
        choices=choices,
        version=version,
        multipart=any(f.kind == "file" for f in form.fields),
    )


@get("/arenden/{reference:str}/steg/{step:str}", sync_to_thread=True, name="ui-step")
def step_page(request: Request[Any, Any, Any], reference: str, step: str) -> Response[Any]:
    """The form of one step, with the values it proposes."""
    ui = staff(request)
    form = _form_or_404(step)
    case = ui.k.get(reference)
    return _step_page(ui, case, form, _defaults(ui.k, case, form), case.version)


def _submit(ui: Ui, reference: str, form: StepForm, values: Mapping[str, Any]) -> Response[Any]:
    k = ui.k
    case = k.get(reference)
    raw_version = values.get("version", "")
    version = int(raw_version) if isinstance(raw_version, str) and raw_version.isdigit() else case.version
    first = form.fields[0].id if form.fields else "skicka"
    try:
        after = form.call(k, case, values, version)
    except FormError as exc:
        return _step_page(
            ui, case, form, values, version, errors_=[FieldError(exc.field, str(exc))], status=422
        )
    except errors.ConflictError as exc:
        text = _("Ärendet har ändrats av någon annan sedan du öppnade sidan. {reason}").format(
            reason=str(exc)
        )
        return _step_page(ui, case, form, values, version, errors_=[FieldError(first, text)], status=409)
    except (errors.InvalidInputError, errors.UnknownUnitError) as exc:
        field = form.error_field or first
        return _step_page(ui, case, form, values, version, errors_=[FieldError(field, str(exc))], status=422)
    except errors.InvalidStepError as exc:
        return _step_page(ui, case, form, values, version, errors_=[FieldError(first, str(exc))], status=422)
    ui.say("ok", form.done.format(reference=reference))
    if after is not None and not k.may_read(after):
        return ui.redirect("/arenden")  # the case has gone where the user cannot follow it
    return ui.redirect(f"/arenden/{reference}")


@post("/arenden/{reference:str}/steg/{step:str}", name="ui-step-post", status_code=303)
async def step_post(request: Request[Any, Any, Any], reference: str, step: str) -> Response[Any]:
    """Take the step with the form's values: back to the case page with a
    confirmation, or the form again with the library's reason."""
    form = _form_or_404(step)
    posted = await request.form()
    values: dict[str, Any] = {}
    for key, value in posted.multi_items():
        values.setdefault(key, value)

    def work() -> Response[Any]:
        ui = staff(request)
        return _submit(ui, reference, form, values)

    return await anyio.to_thread.run_sync(work)


routes = [case_page, attachment, letter_page, step_page, step_post]

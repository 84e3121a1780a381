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

``/arenden/{reference}/steg/{step}`` is one form per step of the routine,
as :mod:`klagomal.web.ui.stepforms` describes them.  Each form carries the case's version
when it was drawn, passed on as ``expected_version``; a refusal re-renders
the form with what the person wrote and the library's Swedish reason, and
nothing is written.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import anyio.to_thread
from litestar import Request, Response, get, post

from klagomal.app import Klagomal
from klagomal.cases.next_step import actor_label, next_step
from klagomal.cases.threats import flag_label
from klagomal.core import errors
from klagomal.core.events import (
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
from klagomal.core.model import Case
from klagomal.core.steps import step_label
from klagomal.core.users import handler_name
from klagomal.web.ui import phrases
from klagomal.web.ui.followlink import may_give_link
from klagomal.web.ui.login import staff
from klagomal.web.ui.render import SECURITY_HEADERS, FieldError, Ui
from klagomal.web.ui.stepforms import (
    NOT_A_FORM,
    STEP_FORMS,
    Field,
    FormError,
    StepForm,
    available,
    step_forms,
)

__all__ = ["NOT_A_FORM", "STEP_FORMS", "Field", "StepForm", "routes", "step_forms"]


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
    inserted: bool = False,
) -> Response[Any]:
    k = ui.k
    choices = {f.id: f.choices(k, case) for f in form.fields if f.choices is not None}
    # The phrase library's picker (R23, klagomal.web.ui.phrases): above the
    # text the person reads, when the förvaltning has phrases for the user.
    picker = phrases.picker(k, case, form.step, inserted=inserted)
    return ui.page(
        picker.pop("template", "step.html"),
        title=_("{step} – ärende {reference}").format(step=form.title, reference=case.reference),
        status=status,
        errors=errors_,
        case=case,
        form=form,
        values={key: value for key, value in values.items() if isinstance(value, str)},
        choices=choices,
        version=version,
        multipart=any(f.kind == "file" for f in form.fields),
        **picker,
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
    # The phrase library's picker (R23, klagomal.web.ui.phrases): "Infoga
    # frasen" takes no step; the form comes back with the phrase after the
    # text, everything else as it was written.
    if values.get("atgard") == phrases.INSERT:
        done = phrases.insert(k, case, form.step, values)
        return _step_page(
            ui,
            case,
            form,
            done.values,
            version,
            errors_=done.errors,
            status=422 if done.errors else 200,
            inserted=not done.errors,
        )
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

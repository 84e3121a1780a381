"""The lifecycle of a case as an explicit state machine over its events.

Each step is split in two, as in any event-sourced design:

* a *decide* function (``register``, ``forward``, ``acknowledge``, ...) checks
  the step against the routine and the case as it is now and returns the
  event payload, or raises :class:`~klagomal.core.errors.InvalidStepError` or
  :class:`~klagomal.core.errors.InvalidInputError`.  It has no side effects, so a
  refused step changes nothing;
* :func:`evolve` applies a payload to a case.  It never refuses: whatever was
  decided and stored is history.  :func:`replay` folds a whole history.

Allowed steps (states in ``CaseState``)::

    register      -> registrerat (check_intake, then the plugins decide, then registered)
    forward       registrerat | handlaggning (clock running) -> registrerat (R12; a new besked is owed)
    acknowledge   registrerat                       -> handlaggning     (R7)
    assign        registrerat | handlaggning | besvarat (any open state; the handler changes)
    inform        registrerat | handlaggning        (not anonymous; R9)
    postpone      handlaggning, clock running       (R11)
    pause         handlaggning, clock running, not anonymous, promised date not passed
    resume        handlaggning, clock paused        (the promised date moves by the days paused)
    answer        handlaggning, clock running       -> besvarat (not anonymous; R13)
    action        any state                         (R16)
    close         besvarat; handlaggning when anonymous (no answer possible) -> avslutat
    escalate      avslutat, not satisfied, level < 3 -> registrerat at level + 1 (R19–R21)
    pass-on       praise, not avslutat              (R22)
    reclassify    not avslutat, never away from klagomal (R2)
    flag, unflag  any state (R28; the decide functions are in cases.threats)
    note, attach, correct-contact  any state (klagomal.cases.amendments; the contact changes)

Why this is one long module: it is one concept, the routine as a state
machine.  A step's decide function and its branch of :func:`evolve` are the
two halves of one transition, and the table above sums them up; split
apart, one rule of the routine would be read in two places.  What does not
depend on a case's state lives elsewhere: the text rule applied to a
step's values (:mod:`klagomal.cases.step_texts`), which fields are free
texts (:data:`klagomal.core.events.TEXT_FIELDS`) and the check of an e-mail
address (:mod:`klagomal.core.email_rules`).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from klagomal.cases.step_texts import check_contact, check_step_texts, required_name, required_text
from klagomal.core.errors import InvalidInputError, InvalidPersonNumberError, InvalidStepError
from klagomal.core.events import (
    APPEAL,
    GUIDANCE_ROUTES,
    Acknowledged,
    ActionRecorded,
    Answered,
    Assigned,
    AttachmentAdded,
    Closed,
    ContactCorrected,
    Described,
    Escalated,
    Event,
    EventData,
    Forwarded,
    Guided,
    Informed,
    Located,
    MessageReceived,
    NoteAdded,
    Paused,
    Postponed,
    PraisePassedOn,
    PublicationWithdrawn,
    Published,
    Reclassified,
    Registered,
    ResolvedAtOnce,
    Resumed,
    SecrecyLifted,
    SecrecyMarked,
    ThreatFlagged,
    ThreatFlagLifted,
)
from klagomal.core.i18n import _
from klagomal.core.identity_numbers import parse_person_number
from klagomal.core.model import (
    AnswerMode,
    Case,
    CaseState,
    Channel,
    Contact,
    Intake,
    Kind,
    Level,
    QualityDimension,
    Route,
)
from klagomal.core.organisation import Organisation
from klagomal.core.text_rules import check_text
from klagomal.deadlines.policies import Deadlines, is_working_day

__all__ = [
    "APPEAL_PERIOD",
    "Context",
    "acknowledge",
    "anonymous_refused",
    "answer",
    "appeal_deadline",
    "assign",
    "check_contact",
    "check_date",
    "check_intake",
    "check_step_texts",
    "citizen_notice",
    "close",
    "escalate",
    "evolve",
    "forward",
    "guide",
    "inform",
    "parse_kind",
    "pass_on_praise",
    "pause",
    "postpone",
    "receive_message",
    "reclassify",
    "record_action",
    "register",
    "registered",
    "replay",
    "resolve_at_once",
    "resume",
]


def _builtin_deadlines(ctx: Context) -> Deadlines:
    return Deadlines.builtin(ctx.organisation)


@attrs.frozen
class Context:
    """What a decision may consult besides the case itself.

    ``deadlines`` holds each förvaltning's calendar and deadline policy; by
    default the built-in Swedish calendar and policy.
    """

    today: dt.date
    organisation: Organisation
    channels: Mapping[str, Channel]
    dimensions: Mapping[str, QualityDimension]
    deadlines: Deadlines = attrs.field(default=attrs.Factory(_builtin_deadlines, takes_self=True))


# -- helpers ---------------------------------------------------------------


def _refuse(case: Case, step: str, reason: str) -> InvalidStepError:
    return InvalidStepError(case.reference, case.state.value, step, reason)


def _require_state(case: Case, step: str, *allowed: CaseState) -> None:
    if case.state not in allowed:
        names = ", ".join(s.label.lower() for s in allowed)
        raise _refuse(case, step, _("kräver status {states}").format(states=names))


def _require_running(case: Case, step: str) -> None:
    """Refuse a step that needs the clock running while it is paused."""
    if case.paused_since is not None:
        raise _refuse(
            case,
            step,
            _("ärendet väntar på personen sedan {day}; återuppta det först (resume)").format(
                day=case.paused_since
            ),
        )


def parse_kind(value: str | Kind, step: str = "register", reference: str | None = None) -> Kind:
    """The :class:`Kind` for *value*, or a clear error listing the valid ones."""
    try:
        return Kind(value)
    except ValueError:
        valid = ", ".join(k.value for k in Kind)
        raise InvalidInputError(
            _("okänd typ '{value}' (giltiga: {valid})").format(value=value, valid=valid),
            step=step,
            reference=reference,
        ) from None


def check_date(case: Case, ctx: Context, step: str) -> None:
    """Refuse a step dated before the case's latest event (a clock set back,
    or ``--today`` mistyped): the history must stay in order."""
    if ctx.today < case.updated:
        raise InvalidInputError(
            _("dagens datum {today} ligger före ärendets senaste händelse {day}").format(
                today=ctx.today, day=case.updated
            ),
            step=step,
            reference=case.reference,
        )


# -- decisions -------------------------------------------------------------


def check_intake(
    ctx: Context,
    *,
    kind: str | Kind,
    channel: str,
    unit: str | None,
    text: str,
    received: dt.date | None = None,
    contact: Contact | None = None,
    dimensions: Sequence[str] = (),
    serious: bool = False,
) -> Intake:
    """Check new feedback for form (R1, R4, R6, R15): a known kind, channel,
    unit (when one is named) and dimensions, a text, a date not in the
    future, and a contact that holds something.  What the plugins decide
    (seriousness, routing, anonymity, secrecy) comes after, in
    :mod:`klagomal.hooks.decisions`."""
    step = "register"
    kind = parse_kind(kind, step)
    if channel not in ctx.channels:
        valid = ", ".join(sorted(ctx.channels))
        raise InvalidInputError(
            _("okänd kanal '{channel}' (giltiga: {valid})").format(channel=channel, valid=valid), step=step
        )
    if unit is not None and not ctx.organisation.has_unit(unit):
        raise InvalidInputError(_("okänd enhet '{unit}'").format(unit=unit), step=step)
    text = required_text(text, step, _("texten"))
    received = received or ctx.today
    if received > ctx.today:
        raise InvalidInputError(
            _("mottagningsdatum {received} ligger efter dagens datum {today}").format(
                received=received, today=ctx.today
            ),
            step=step,
        )
    if contact is not None:
        contact = check_contact(contact, step)
    if contact is not None and contact.is_empty():
        raise InvalidInputError(
            _("ange minst ett sätt att nå personen, eller registrera ärendet som anonymt"), step=step
        )
    if contact is not None and contact.preferred is not None:
        needs = {"epost": contact.email, "brev": contact.address, "telefon": contact.phone}
        if contact.preferred not in needs:
            raise InvalidInputError(
                _("okänt kontaktsätt '{way}' (giltiga: epost, brev, telefon)").format(way=contact.preferred),
                step=step,
            )
        if not needs[contact.preferred]:
            raise InvalidInputError(
                _("personen vill bli kontaktad via {way}, men den uppgiften saknas").format(
                    way=contact.preferred
                ),
                step=step,
            )
    if contact is not None and contact.personnummer is not None:
        # R27, R30: validated and normalised to twelve digits; a wrong one is
        # refused with what is wrong (never the number itself, which would
        # end up in logs), and the case can be registered without it.
        try:
            number = parse_person_number(contact.personnummer, today=ctx.today)
        except InvalidInputError as exc:
            raise InvalidPersonNumberError(
                _("personnumret är ogiltigt: {reason}; rätta det, eller registrera utan personnummer").format(
                    reason=exc.reason
                ),
                step=step,
            ) from None
        contact = attrs.evolve(contact, personnummer=number.digits)
    unknown = [d for d in dimensions if d not in ctx.dimensions]
    if unknown:
        valid = ", ".join(sorted(ctx.dimensions))
        raise InvalidInputError(
            _("okänd kvalitetsdimension '{dimension}' (giltiga: {valid})").format(
                dimension=unknown[0], valid=valid
            ),
            step=step,
        )
    if serious and kind is not Kind.KLAGOMAL:
        raise InvalidInputError(_("bara klagomål kan markeras som allvarliga"), step=step)
    return Intake(
        kind=kind,
        channel=channel,
        text=text,
        received=received,
        unit=unit,
        contact=contact,
        dimensions=tuple(dict.fromkeys(dimensions)),
        serious=serious,
    )


def anonymous_refused(channel: str) -> InvalidInputError:
    """The error for anonymous feedback through a channel that does not take it (R5)."""
    return InvalidInputError(
        _("anonyma synpunkter tas inte emot via kanalen '{channel}'").format(channel=channel), step="register"
    )


def registered(
    ctx: Context,
    intake: Intake,
    route: Route,
    *,
    serious: bool,
    secrecy: str | None = None,
    notes: Sequence[str] = (),
) -> Registered:
    """Decide the registration of checked feedback once the plugins have
    decided where it goes (R7, R8, R15)."""
    department = ctx.organisation.unit(route.unit).department
    data = Registered(
        kind=intake.kind,
        channel=intake.channel,
        unit=route.unit,
        department=department,
        text=intake.text,
        received=intake.received,
        # R7, counted from receipt unless the förvaltning's policy says otherwise.
        acknowledge_by=ctx.deadlines.acknowledge_by(
            department, intake.received, channel=intake.channel, registered=ctx.today
        ),
        contact=intake.contact,
        dimensions=intake.dimensions,
        serious=serious,
        handler=route.handler,
        secrecy=secrecy,
        notes=tuple(dict.fromkeys(notes)),
    )
    return check_step_texts(data, "register")


def register(
    ctx: Context,
    *,
    kind: str | Kind,
    channel: str,
    unit: str,
    text: str,
    received: dt.date | None = None,
    contact: Contact | None = None,
    dimensions: Sequence[str] = (),
    serious: bool = False,
) -> Registered:
    """Decide the registration of new feedback with the routine's own rules
    and no plugins: the named unit, the registrar's marking of seriousness
    (a serious complaint goes to the nearest manager, R15), and the
    channel's anonymity policy (R5).  :class:`~klagomal.Klagomal` asks its
    plugins instead (:mod:`klagomal.hooks.decisions`)."""
    intake = check_intake(
        ctx,
        kind=kind,
        channel=channel,
        unit=unit,
        text=text,
        received=received,
        contact=contact,
        dimensions=dimensions,
        serious=serious,
    )
    if contact is None and not ctx.channels[channel].allows_anonymous:
        # R5: the routine does not accept anonymous feedback through the web form.
        raise anonymous_refused(channel)
    handler = ctx.organisation.nearest_manager(unit) if serious else None
    return registered(ctx, intake, Route(unit, handler), serious=serious)


def forward(case: Case, ctx: Context, to_unit: str) -> Forwarded:
    """Send the case on to the unit it concerns; every hop is counted (R12)."""
    step = "forward"
    _require_state(case, step, CaseState.REGISTRERAT, CaseState.HANDLAGGNING)
    _require_running(case, step)
    if not ctx.organisation.has_unit(to_unit):
        raise InvalidInputError(
            _("okänd enhet '{unit}'").format(unit=to_unit), step=step, reference=case.reference
        )
    if to_unit == case.unit:
        raise _refuse(case, step, _("ärendet ligger redan hos {unit}").format(unit=to_unit))
    handler = ctx.organisation.nearest_manager(to_unit) if case.serious else None
    department = ctx.organisation.unit(to_unit).department
    if case.state is CaseState.HANDLAGGNING:
        # The new unit owes its own besked, under its förvaltning's policy.
        acknowledge_by = ctx.deadlines.acknowledge_by(department, ctx.today)
    else:
        acknowledge_by = case.acknowledge_by  # the person has waited since receipt
    data = Forwarded(
        from_unit=case.unit,
        to_unit=to_unit,
        department=department,
        acknowledge_by=acknowledge_by,
        handler=handler,
    )
    return check_step_texts(data, step, case.reference)


def acknowledge(case: Case, ctx: Context, handler: str, respond_by: dt.date | None = None) -> Acknowledged:
    """Record the besked: who handles the case and by when it will be answered (R7).

    Without *respond_by*, the date promised is the förvaltning's response
    time for the case's kind, counted in working days from today (R10).
    """
    step = "acknowledge"
    _require_state(case, step, CaseState.REGISTRERAT)
    handler = required_name(handler, step, _("handläggare"), case.reference)
    if respond_by is None:
        respond_by = ctx.deadlines.default_respond_by(case.department, case.kind, ctx.today)
    _check_respond_by(case, ctx, step, respond_by)
    return check_step_texts(Acknowledged(handler=handler, respond_by=respond_by), step, case.reference)


def assign(case: Case, ctx: Context, handler: str) -> Assigned:
    """Appoint or change the handler of an open case (tilldelning).  The
    state, the deadlines and the besked stay as they are: a case still
    waiting for its besked gets it from the new handler."""
    step = "assign"
    _require_state(case, step, CaseState.REGISTRERAT, CaseState.HANDLAGGNING, CaseState.BESVARAT)
    handler = required_name(handler, step, _("handläggare"), case.reference)
    if handler == case.handler:
        raise _refuse(case, step, _("{handler} är redan handläggare för ärendet").format(handler=handler))
    return check_step_texts(Assigned(handler=handler, previous=case.handler), step, case.reference)


def _check_respond_by(case: Case, ctx: Context, step: str, respond_by: dt.date) -> None:
    # The calendar must be able to count to the date, for reminders and reports.
    ctx.deadlines.check_date(case.department, respond_by)
    if respond_by < case.received:
        raise InvalidInputError(
            _("svarsdatum {date} ligger före mottagningsdatum {received}").format(
                date=respond_by, received=case.received
            ),
            step=step,
            reference=case.reference,
        )
    if respond_by < ctx.today:
        raise InvalidInputError(
            _("svarsdatum {date} har redan passerat").format(date=respond_by),
            step=step,
            reference=case.reference,
        )


def inform(case: Case, ctx: Context, text: str) -> Informed:
    """Tell the person how the handling proceeds (R9)."""
    step = "inform"
    _require_state(case, step, CaseState.REGISTRERAT, CaseState.HANDLAGGNING)
    if case.anonymous:
        raise _refuse(case, step, _("ärendet är anonymt; personen kan inte nås"))  # R5
    text = required_text(text, step, _("texten"), case.reference)
    return check_step_texts(Informed(text=text), step, case.reference)


def postpone(case: Case, ctx: Context, respond_by: dt.date, reason: str) -> Postponed:
    """Promise a new date.  Telling the person before the old date passed is
    what R11 asks; doing it later is allowed but recorded as late."""
    step = "postpone"
    _require_state(case, step, CaseState.HANDLAGGNING)
    _require_running(case, step)
    assert case.respond_by is not None  # set by every acknowledgement
    reason = required_text(reason, step, _("skälet"), case.reference)
    _check_respond_by(case, ctx, step, respond_by)
    if respond_by <= case.respond_by:
        raise InvalidInputError(
            _("nytt svarsdatum {date} måste ligga efter det lovade {previous}").format(
                date=respond_by, previous=case.respond_by
            ),
            step=step,
            reference=case.reference,
        )
    data = Postponed(
        respond_by=respond_by,
        previous=case.respond_by,
        reason=reason,
        in_time=ctx.today <= case.respond_by,
    )
    return check_step_texts(data, step, case.reference)


def pause(case: Case, ctx: Context, reason: str) -> Paused:
    """Stop the clock while the case waits for the person, for example for
    details that are missing.  *reason* says what the case waits for.

    Only a case under handling can wait for a person who can be reached, and
    only before its promised date has passed: a promise already broken is
    not mended by waiting, but by a new date (``postpone``, R11).
    """
    step = "pause"
    _require_state(case, step, CaseState.HANDLAGGNING)
    _require_running(case, step)
    if case.anonymous:
        raise _refuse(case, step, _("ärendet är anonymt; personen kan inte nås"))  # R5
    assert case.respond_by is not None  # set by every acknowledgement
    if ctx.today > case.respond_by:
        raise _refuse(
            case,
            step,
            _("svarsdatumet {date} har redan passerat; meddela ett nytt datum (postpone)").format(
                date=case.respond_by
            ),
        )
    reason = required_text(reason, step, _("skälet"), case.reference)
    return check_step_texts(Paused(reason=reason), step, case.reference)


def resume(case: Case, ctx: Context) -> Resumed:
    """Start the clock again; the promised date moves by the working days it
    stood still."""
    step = "resume"
    if case.paused_since is None:
        raise _refuse(case, step, _("ärendet är inte pausat"))
    assert case.respond_by is not None  # only a case under handling is paused
    respond_by, paused = ctx.deadlines.resumed_respond_by(
        case.department, case.respond_by, case.paused_since, ctx.today
    )
    return check_step_texts(
        Resumed(respond_by=respond_by, previous=case.respond_by, paused_days=paused), step, case.reference
    )


def answer(case: Case, ctx: Context, mode: str | AnswerMode, text: str) -> Answered:
    """Record the answer and whether it was given in writing or orally (R13)."""
    step = "answer"
    _require_state(case, step, CaseState.HANDLAGGNING)
    _require_running(case, step)
    if case.anonymous:
        raise _refuse(case, step, _("ärendet är anonymt; inget personligt svar kan ges"))  # R5
    try:
        mode = AnswerMode(mode)
    except ValueError:
        raise InvalidInputError(
            _("okänt svarssätt '{mode}' (giltiga: skriftligt, muntligt)").format(mode=mode),
            step=step,
            reference=case.reference,
        ) from None
    text = required_text(text, step, _("svaret"), case.reference)
    return check_step_texts(Answered(mode=mode, text=text), step, case.reference)


def record_action(case: Case, ctx: Context, text: str) -> ActionRecorded:
    """Record an action taken about what the feedback showed (R16)."""
    text = required_text(text, "action", _("åtgärden"), case.reference)
    return check_step_texts(ActionRecorded(text=text), "action", case.reference)


#: An appeal of an authority decision must arrive within three weeks of the
#: day the person was told of the decision (förvaltningslagen 44 §).
APPEAL_PERIOD = dt.timedelta(weeks=3)


def appeal_deadline(notified: dt.date) -> dt.date:
    """The last day an appeal can arrive: three weeks after *notified*,
    moved to the next working day when that is a Saturday, Sunday or holiday
    (lagen om beräkning av lagstadgad tid, 1930:173).  Local closed days do
    not move a time limit set by law.

    >>> import datetime as dt
    >>> appeal_deadline(dt.date(2026, 12, 3))   # three weeks later is julafton
    datetime.date(2026, 12, 28)
    """
    last = notified + APPEAL_PERIOD
    while not is_working_day(last):
        last += dt.timedelta(days=1)
    return last


def guide(
    case: Case,
    ctx: Context,
    route: str,
    text: str,
    *,
    decision: str | None = None,
    appeal_to: str | None = None,
    notified: dt.date | None = None,
) -> Guided:
    """Tell the person that another route also applies (R3): an appeal of an
    authority decision (``overklagande``: which decision, to whom, and by
    when) or a fault report (``felanmalan``).  The case itself is kept and
    handled as before.  An anonymous person cannot be told, so the step is
    refused for an anonymous case (R5)."""
    step = "guide"
    if route not in GUIDANCE_ROUTES:
        raise InvalidInputError(
            _("okänd väg '{route}' (giltiga: {valid})").format(route=route, valid=", ".join(GUIDANCE_ROUTES)),
            step=step,
            reference=case.reference,
        )
    _require_state(case, step, CaseState.REGISTRERAT, CaseState.HANDLAGGNING, CaseState.BESVARAT)
    if case.anonymous:
        raise _refuse(case, step, _("ärendet är anonymt; personen kan inte nås med vägledning"))  # R5
    text = required_text(text, step, _("vägledningen"), case.reference)
    if route == APPEAL:
        decision = required_text(decision or "", step, _("beslutet som kan överklagas"), case.reference)
        appeal_to = required_name(appeal_to or "", step, _("vart överklagandet ska skickas"), case.reference)
        if notified is None:
            raise InvalidInputError(
                _("ange dagen då personen fick del av beslutet"), step=step, reference=case.reference
            )
        if notified > ctx.today:
            raise InvalidInputError(
                _("personen kan inte ha fått del av beslutet i framtiden ({day})").format(day=notified),
                step=step,
                reference=case.reference,
            )
        data = Guided(
            route, text, decision=decision, appeal_to=appeal_to, appeal_by=appeal_deadline(notified)
        )
        return check_step_texts(data, step, case.reference)
    return check_step_texts(Guided(route, text), step, case.reference)


def receive_message(
    case: Case,
    ctx: Context,
    text: str,
    sender: str | None,
    message: str | None,
    attachments: tuple[str, ...] = (),
) -> MessageReceived:
    """Record that the person wrote again about the case: in any state, so
    that nothing they send is lost (a reply after closing may start an
    escalation, R20)."""
    if not text.strip() and not attachments:
        raise InvalidInputError(
            _("meddelandet har varken text eller bilagor"), step="message", reference=case.reference
        )
    data = MessageReceived(text=text, sender=sender, message=message, attachments=attachments)
    return check_step_texts(data, "message", case.reference)


def resolve_at_once(
    case: Case, ctx: Context, handler: str, text: str, satisfied: bool | None = True
) -> ResolvedAtOnce:
    """The one who received the feedback puts it right at once (R14, R29):
    besked, oral answer and closing in one step, only while the case is
    newly registered at its first level, and never for a serious complaint,
    which goes to the nearest manager (R15)."""
    step = "resolve"
    _require_state(case, step, CaseState.REGISTRERAT)
    if case.level is not Level.ENHET:
        raise _refuse(case, step, _("ett ärende som lyfts till en högre nivå kan inte lösas direkt"))
    if case.serious:
        raise _refuse(
            case, step, _("ett allvarligt klagomål går till närmaste chef och löses inte direkt (R15)")
        )
    handler = required_name(handler, step, _("vem som löste det"), case.reference)
    text = required_text(text, step, _("vad som gjordes"), case.reference)
    return check_step_texts(
        ResolvedAtOnce(handler=handler, text=text, satisfied=satisfied), step, case.reference
    )


def close(case: Case, ctx: Context, satisfied: bool | None) -> Closed:
    """Close the case, recording whether the person was satisfied.

    An answered case is closed with ``satisfied`` true or false.  An anonymous
    case cannot be answered, so it is closed from ``handlaggning`` with
    ``satisfied=None``.
    """
    step = "close"
    if case.anonymous:
        _require_state(case, step, CaseState.HANDLAGGNING)
        if satisfied is not None:
            raise _refuse(case, step, _("ett anonymt ärende kan inte ange om personen är nöjd"))
    else:
        _require_state(case, step, CaseState.BESVARAT)
        if satisfied is None:
            raise _refuse(case, step, _("ange om personen är nöjd eller inte"))
    return check_step_texts(Closed(satisfied=satisfied), step, case.reference)


def escalate(case: Case, ctx: Context, reason: str) -> Escalated:
    """Take the case to the next level after the person was not satisfied.

    Level 2 goes to the förvaltningschef (R20), level 3 to the nämnd or
    styrelse (R21); there is no level 4.  The new level owes a new besked
    within the acknowledgement deadline, counted from today.
    """
    step = "escalate"
    _require_state(case, step, CaseState.AVSLUTAT)
    if case.satisfied is not False:
        raise _refuse(case, step, _("bara ett ärende där personen inte är nöjd kan lyftas"))  # R19
    if case.level is Level.NAMND:
        raise _refuse(case, step, _("ärendet är redan på högsta nivån (nämnden)"))  # R21
    reason = required_text(reason, step, _("skälet"), case.reference)
    level = Level(case.level + 1)
    department = ctx.organisation.departments[case.department]
    handler = department.head if level is Level.FORVALTNINGSCHEF else department.board
    data = Escalated(
        level=level,
        reason=reason,
        handler=handler,
        acknowledge_by=ctx.deadlines.acknowledge_by(case.department, ctx.today),
    )
    return check_step_texts(data, step, case.reference)


def pass_on_praise(case: Case, ctx: Context, recipients: Sequence[str], text: str = "") -> PraisePassedOn:
    """Pass praise on to the staff it concerns (R22)."""
    step = "pass-on"
    if case.kind is not Kind.BEROM:
        raise _refuse(case, step, _("bara beröm förs vidare till personalen"))
    _require_state(case, step, CaseState.REGISTRERAT, CaseState.HANDLAGGNING, CaseState.BESVARAT)
    names = tuple(
        dict.fromkeys(
            required_name(r.strip(), step, _("mottagaren"), case.reference)
            for r in recipients
            if r and r.strip()
        )
    )
    if not names:
        raise InvalidInputError(
            _("ange vem berömmet ska föras vidare till"), step=step, reference=case.reference
        )
    return check_step_texts(PraisePassedOn(recipients=names, text=text), step, case.reference)


def reclassify(case: Case, ctx: Context, kind: str | Kind, reason: str) -> Reclassified:
    """Correct the kind.  The person decides what is a complaint (R2), so a
    complaint can never be turned into something else."""
    step = "reclassify"
    new_kind = parse_kind(kind, step, case.reference)
    if case.kind is Kind.KLAGOMAL and new_kind is not Kind.KLAGOMAL:
        raise _refuse(case, step, _("ett klagomål kan aldrig omklassificeras; den enskilde avgör (R2)"))
    if new_kind is case.kind:
        raise _refuse(case, step, _("ärendet är redan av typen {kind}").format(kind=new_kind.label))
    _require_state(case, step, CaseState.REGISTRERAT, CaseState.HANDLAGGNING, CaseState.BESVARAT)
    reason = required_text(reason, step, _("skälet"), case.reference)
    return check_step_texts(Reclassified(kind=new_kind, reason=reason), step, case.reference)


#: The longest register description: a line in the public register, not a text.
SUMMARY_MAX = 300


def describe(case: Case, ctx: Context, summary: str) -> Described:
    """Write the register entry's short description (OSL 5 kap. 1 §, R27).
    Allowed in every state: the register must be complete also for closed
    cases."""
    step = "describe"
    summary = required_text(summary, step, _("beskrivningen"), case.reference).strip()
    check_summary(summary, step, case.reference)
    if summary == case.summary:
        raise _refuse(case, step, _("ärendet har redan den beskrivningen"))
    return check_step_texts(Described(summary=summary), step, case.reference)


def check_summary(summary: str, step: str, reference: str | None = None) -> None:
    """A register description is one short line."""
    if len(summary) > SUMMARY_MAX or "\n" in summary:
        raise InvalidInputError(
            _(
                "beskrivningen ska vara en rad på högst {n} tecken: ett diarieuttryck, inte ärendets text"
            ).format(n=SUMMARY_MAX),
            step=step,
            reference=reference,
        )
    check_text(
        summary, step=step, field=_("beskrivningen"), reference=reference, multiline=False, max_length=None
    )


def mark_secret(
    case: Case, ctx: Context, ground: str, parts: Sequence[int] = (), reason: str = ""
) -> SecrecyMarked:
    """Mark the case, or some of its steps, as secret on *ground* (R27).

    *parts* are event numbers; each must be a step of the case that holds a
    text.  Marking the whole case again replaces the ground."""
    step = "secrecy"
    ground = required_text(ground, step, _("sekretessgrunden"), case.reference, multiline=False).strip()
    if len(ground) > 200:
        raise InvalidInputError(
            _("sekretessgrunden är för lång (högst 200 tecken)"), step=step, reference=case.reference
        )
    for seq in parts:
        if not 1 <= seq <= case.version:
            raise InvalidInputError(
                _("ärendet har ingen händelse {seq} (händelserna är 1 till {last})").format(
                    seq=seq, last=case.version
                ),
                step=step,
                reference=case.reference,
            )
    if not parts and case.secrecy == ground:
        raise _refuse(
            case, step, _("ärendet är redan sekretessmarkerat enligt {ground}").format(ground=ground)
        )
    data = SecrecyMarked(ground=ground, parts=tuple(sorted(set(parts))), reason=reason.strip())
    return check_step_texts(data, step, case.reference)


def lift_secrecy(case: Case, ctx: Context, reason: str) -> SecrecyLifted:
    """Lift the whole case's secrecy marking (R27)."""
    step = "secrecy"
    reason = required_text(reason, step, _("skälet"), case.reference)
    if case.secrecy is None:
        raise _refuse(case, step, _("ärendet är inte sekretessmarkerat"))
    return check_step_texts(SecrecyLifted(reason=reason.strip()), step, case.reference)


# -- projection ------------------------------------------------------------


#: The fields of a case, for :func:`_changed`.
_CASE_FIELDS = tuple(field.name for field in attrs.fields(Case))
#: Every field's value of a case at once, in :data:`_CASE_FIELDS`' order.
_CASE_VALUES = operator.attrgetter(*_CASE_FIELDS)


def _changed(case: Case, stamp: dict[str, Any], **changes: Any) -> Case:
    """``attrs.evolve(case, **stamp, **changes)`` without attrs' introspection
    on every call, which cost a fifth of a bulk import: replay and the import
    call this once for every event."""
    values = dict(zip(_CASE_FIELDS, _CASE_VALUES(case), strict=True))
    values.update(stamp)
    values.update(changes)
    return Case(**values)


def evolve(case: Case | None, event: Event) -> Case:
    """Apply one stored event to the case it belongs to."""
    data = event.data
    if isinstance(data, Registered):
        return Case(
            reference=event.reference,
            kind=data.kind,
            channel=data.channel,
            unit=data.unit,
            department=data.department,
            text=data.text,
            received=data.received,
            registered=event.day,
            acknowledge_by=data.acknowledge_by,
            updated=event.day,
            contact=data.contact,
            dimensions=data.dimensions,
            serious=data.serious,
            handler=data.handler,
            secrecy=data.secrecy,
            summary=data.summary,
            location=data.location,
            language=data.language,
            version=event.seq,
        )
    if case is None:
        raise ValueError(f"{event.reference}: the history must start with 'registered', not {event.type!r}")
    stamp = {"version": event.seq, "updated": event.day}
    match data:
        case Reclassified(kind=kind):
            return _changed(case, stamp, kind=kind)
        case Forwarded(to_unit=to_unit, department=department, handler=handler, acknowledge_by=ack_by):
            return _changed(
                case,
                stamp,
                secrecy=case.secrecy or data.secrecy,
                unit=to_unit,
                department=department,
                handler=handler,
                acknowledge_by=ack_by,
                state=CaseState.REGISTRERAT,
                respond_by=None,
                acknowledged=None,
                forwards=case.forwards + 1,
            )
        case Acknowledged(handler=handler, respond_by=respond_by):
            return _changed(
                case,
                stamp,
                handler=handler,
                respond_by=respond_by,
                acknowledged=event.day,
                state=CaseState.HANDLAGGNING,
            )
        case Assigned(handler=handler):
            return _changed(case, stamp, handler=handler)
        case Informed():
            return _changed(case, stamp)
        case Postponed(respond_by=respond_by, in_time=in_time):
            return _changed(
                case,
                stamp,
                respond_by=respond_by,
                postponements=case.postponements + 1,
                late_postponements=case.late_postponements + (0 if in_time else 1),
            )
        case Paused():
            return _changed(case, stamp, paused_since=event.day)
        case Resumed(respond_by=respond_by):
            return _changed(case, stamp, respond_by=respond_by, paused_since=None)
        case Answered(mode=mode):
            return _changed(case, stamp, answered=event.day, answer_mode=mode, state=CaseState.BESVARAT)
        case ActionRecorded():
            return _changed(case, stamp, actions=case.actions + 1)
        case Closed(satisfied=satisfied):
            return _changed(case, stamp, closed=event.day, satisfied=satisfied, state=CaseState.AVSLUTAT)
        case Escalated(level=level, handler=handler, acknowledge_by=ack_by):
            return _changed(
                case,
                stamp,
                level=level,
                handler=handler,
                acknowledge_by=ack_by,
                state=CaseState.REGISTRERAT,
                respond_by=None,
                acknowledged=None,
                answered=None,
                answer_mode=None,
                closed=None,
                satisfied=None,
            )
        case PraisePassedOn():
            return _changed(case, stamp, praise_passed_on=True)
        case Guided() | MessageReceived() | NoteAdded() | AttachmentAdded():
            return _changed(case, stamp)
        case Published() | PublicationWithdrawn():
            return _changed(case, stamp)
        case ContactCorrected(contact=contact, language=language):
            return _changed(case, stamp, contact=contact, language=language or case.language)
        case Described(summary=summary):
            return _changed(case, stamp, summary=summary)
        case Located(location=location):
            return _changed(case, stamp, location=location)
        case SecrecyMarked(ground=ground, parts=parts):
            return _changed(case, stamp, secrecy=case.secrecy if parts else ground)
        case SecrecyLifted():
            return _changed(case, stamp, secrecy=None)
        case ThreatFlagged(handler=handler):
            flags = tuple(sorted({*case.threat_flags, data.key}))
            return _changed(case, stamp, threat_flags=flags, handler=handler or case.handler)
        case ThreatFlagLifted():
            return _changed(case, stamp, threat_flags=tuple(f for f in case.threat_flags if f != data.key))
        case ResolvedAtOnce():
            return _changed(
                case,
                stamp,
                state=CaseState.AVSLUTAT,
                handler=data.handler,
                acknowledged=event.day,
                answered=event.day,
                answer_mode=AnswerMode.MUNTLIGT,
                closed=event.day,
                satisfied=data.satisfied,
                resolved_at_once=True,
            )
    raise TypeError(f"unknown event payload {type(data).__name__}")  # pragma: no cover


def replay(events: Iterable[Event]) -> Case:
    """The case that a history describes.

    >>> replay([])
    Traceback (most recent call last):
    ...
    ValueError: an empty history describes no case
    """
    case: Case | None = None
    for event in events:
        case = evolve(case, event)
    if case is None:
        raise ValueError("an empty history describes no case")
    return case


#: The notice (to the person) that each kind of step gives rise to.
_NOTICES: dict[type[EventData], str] = {
    Acknowledged: "besked",
    Informed: "information",
    Postponed: "forsening",
    # Waiting for the person means asking them for what is missing (R9) ...
    Paused: "komplettering",
    # ... and when it has come, telling them the new date (R10).
    Resumed: "aterupptaget",
    Answered: "svar",
    # Another route also applies (R3): tell the person how to take it.
    Guided: "vagledning",
}


def citizen_notice(case: Case, event: Event) -> str | None:
    """The kind of notice the person is owed because of *event*, if any.

    An anonymous case never gets one (R5); an oral answer was already given
    in person, so it is not sent again.
    """
    if case.anonymous:
        return None
    if isinstance(event.data, Answered) and event.data.mode is AnswerMode.MUNTLIGT:
        return None
    return _NOTICES.get(type(event.data))

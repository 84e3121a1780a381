"""The outbox: which notices an event gives rise to, to whom, and how.

The routine is about telling people things on time: the besked (R7),
progress (R9), a new date before the promised one passes (R11), the answer
(R13), guidance to another route (R3), praise passed on to the staff it
concerns (R22), and the escalation ladder (R20, R21).  Each such notice is a
row in the ``notices`` table, written in the same transaction as the event
that causes it, so that no notice is ever lost and none exists for a step
that did not happen.  :meth:`klagomal.Klagomal.deliver` delivers them
afterwards.

This module decides; storage keeps; the service layer delivers:

* :func:`owed_notices` gives the notices of one event: kind, recipient, way
  and a stable ``Message-ID``.  An anonymous case never owes the person
  anything (R5); an oral answer was given in person.
* :func:`resolve_recipient` finds, at delivery, the name and address of a
  notice's recipient in the case and the organisation, or says which setting
  is missing.
* :func:`retry_delay` is the backoff after a failed attempt.

The status of a notice (:class:`Notice`) is one of:

``pending``
    waiting for its first attempt, or for a retry after ``next_attempt``;
``sending``
    handed to a notifier; if a run stopped here, whether it arrived is
    unknown, and it is not sent again automatically;
``sent``
    delivered;
``failed``
    not delivered, and trying again cannot help until something is changed
    (an invalid address, a template error, a missing setting) or the
    attempts are used up; ``klagomal deliver --retry-failed`` queues it
    again;
``uncertain``
    a run stopped while sending, or the connection broke while the message
    was being handed over: it may have arrived.  A person checks and queues
    it again with ``klagomal outbox --resend``;
``task``
    work for the handler: phone the person, or tell them at a visit;
``done``
    a task the handler has carried out;
``dropped``
    a task the handler did not carry out, dropped with a reason (kept in
    ``last_error``) when the case was closed (``klagomal close --drop-tasks``);
``imported``, ``manual``
    steps imported from another system, or owed before klagomal delivered
    notices: never sent.
"""

from __future__ import annotations

import datetime as dt
import email.utils

import attrs

from klagomal.cases.lifecycle import citizen_notice
from klagomal.core.errors import DeliveryError
from klagomal.core.events import Assigned, Escalated, Event, PraisePassedOn, ThreatFlagged
from klagomal.core.i18n import _
from klagomal.core.model import Case, Level
from klagomal.core.organisation import Organisation
from klagomal.notices.notifiers import EMAIL, LETTER, TASK, Recipient

__all__ = [
    "AUTOMATIC_KINDS",
    "CITIZEN_KINDS",
    "DROPPED",
    "OPEN_STATUSES",
    "RECEIPT_KIND",
    "SENDING_LEASE",
    "STAFF_KINDS",
    "STATUSES",
    "DeliveryRun",
    "Notice",
    "OwedNotice",
    "describe_failure",
    "kind_label",
    "message_id",
    "owed_notices",
    "owed_recipients",
    "recipient_label",
    "resolve_recipient",
    "retry_delay",
    "staff_address",
    "status_label",
    "way_label",
]

#: Notices to the person who gave the feedback, by the event that causes them.
CITIZEN_KINDS = ("besked", "information", "forsening", "komplettering", "aterupptaget", "svar", "vagledning")
#: The kvittens: the e-mail that confirms to the person that their web form
#: arrived, with the private link of "Följ ditt ärende" (:mod:`klagomal.cases.follow`).
#: No event gives rise to it: the web form's registration queues it
#: (:func:`klagomal.intake.webform.register_submission`), for the
#: registration event.
RECEIPT_KIND = "kvittens"

#: Notices to staff caused by an event.
STAFF_KINDS = ("berom_vidare", "eskalering_chef", "eskalering_namnd", "tilldelning", "flaggning")

#: Notices generated from a template alone, rather than carrying words a
#: member of staff wrote for this case: they carry ``Auto-Submitted:
#: auto-generated`` (RFC 3834) so that auto-responders stay quiet.
AUTOMATIC_KINDS = frozenset(
    {
        "besked",
        "kvittens",
        "forsening",
        "komplettering",
        "aterupptaget",
        "eskalering_chef",
        "eskalering_namnd",
        "tilldelning",
        "flaggning",
    }
)

#: Statuses a handler must still act on or that may still change.
OPEN_STATUSES = ("pending", "sending", "failed", "uncertain", "task")
#: Every status a notice can have (each has a label, :func:`status_label`).
STATUSES = (*OPEN_STATUSES, "sent", "done", "dropped", "imported", "manual")
#: A task dropped with a reason when its case was closed.
DROPPED = "dropped"

#: A notice left ``sending`` for longer than this was cut off by a crash.
SENDING_LEASE = dt.timedelta(minutes=10)

_PERSON = "person"


@attrs.frozen
class OwedNotice:
    """A notice an event gives rise to, before it is stored.

    :param recipient: who it is for, unique within the event: ``person``,
        ``chef``, ``forvaltningschef``, ``namnd``, ``handlaggare`` (the
        handler a case was assigned to), ``personal-1``,
        ``personal-2``, ... (the staff that praise concerns, in the order
        the handler named them) or ``anvandare-1``, ... (the users a
        routine for abusive or threatening treatment names, R28).
    :param way: :data:`~klagomal.notices.notifiers.EMAIL`,
        :data:`~klagomal.notices.notifiers.LETTER` or :data:`~klagomal.notices.notifiers.TASK`.
    """

    kind: str
    recipient: str
    way: str
    message_id: str

    @property
    def status(self) -> str:
        """The status it is stored with: a task waits for the handler, the rest for delivery."""
        return "task" if self.way == TASK else "pending"


@attrs.frozen
class Notice:
    """One row of the outbox (see the module docstring for the statuses)."""

    id: int
    reference: str
    seq: int
    kind: str
    recipient: str
    status: str
    way: str | None = None
    message_id: str | None = None
    attempts: int = 0
    next_attempt: dt.datetime | None = None
    attempted_at: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    address: str | None = None
    last_error: str | None = None

    @property
    def to_person(self) -> bool:
        """Whether it is for the person who gave the feedback."""
        return self.recipient == _PERSON

    @property
    def status_label(self) -> str:
        """The Swedish label of the status."""
        return status_label(self.status)


#: Set on a log record (``extra={REPORTED: True}``) about a failure that the
#: call also returns to its caller, in a :class:`DeliveryRun` or a
#: :class:`~klagomal.notices.reminders.ReminderRun`: the command line, which
#: prints the run, does not repeat the log line on stderr
#: (:data:`klagomal.cli.base.REPORTED` is the same name).
REPORTED = "reported_to_caller"


@attrs.define
class DeliveryRun:
    """What one :meth:`klagomal.Klagomal.deliver` did.

    :param sent: delivered in this run.
    :param retry: failed for a passing reason; tried again after ``next_attempt``.
    :param failed: failed, and not tried again until queued again.
    :param uncertain: may have arrived (the connection broke while handing it
        over, or an earlier run stopped while sending); never sent again
        automatically.
    :param tasks: tasks waiting for handlers (phone the person, tell them at a visit).
    :param failed_waiting: failed notices in the outbox, from this run or an
        earlier one: they wait until someone corrects the cause and queues
        them again (``klagomal deliver --retry-failed``).
    """

    now: dt.datetime
    sent: list[Notice] = attrs.Factory(list)
    retry: list[Notice] = attrs.Factory(list)
    failed: list[Notice] = attrs.Factory(list)
    uncertain: list[Notice] = attrs.Factory(list)
    tasks: int = 0
    failed_waiting: int = 0


def describe_failure(notice: Notice) -> str:
    """A handler's one-line account of what went wrong with *notice*: which
    notice, which case, and why."""
    return _("meddelande {id} ({kind} till {recipient}) i ärende {reference}: {status}: {reason}").format(
        id=notice.id,
        kind=kind_label(notice.kind),
        recipient=recipient_label(notice.recipient),
        reference=notice.reference,
        status=notice.status_label,
        reason=notice.last_error or "-",
    )


def status_label(status: str) -> str:
    """The Swedish label of a notice status, for handlers."""
    return {
        "pending": _("väntar"),
        "sending": _("skickas"),
        "sent": _("skickat"),
        "failed": _("misslyckat"),
        "uncertain": _("osäkert om det kom fram"),
        "task": _("att göra för handläggaren"),
        "done": _("utfört"),
        "dropped": _("struket"),
        "imported": _("importerat"),
        "manual": _("hanterat utanför klagomal"),
    }.get(status, status)


def recipient_label(recipient: str) -> str:
    """The Swedish label of a notice's recipient, for handlers."""
    if recipient.startswith("personal-"):
        return _("personal {n}").format(n=recipient.split("-", 1)[1])
    if recipient.startswith("anvandare-"):
        return _("användare {n}").format(n=recipient.split("-", 1)[1])
    return {
        "person": _("personen"),
        "chef": _("chefen"),
        "forvaltningschef": _("förvaltningschefen"),
        "namnd": _("nämnden"),
        "handlaggare": _("handläggaren"),
    }.get(recipient, recipient)


def kind_label(kind: str) -> str:
    """The Swedish label of a kind of notice (its id, ``aterupptaget``, names
    its template), for handlers; a plugin's own kind as it is."""
    return {
        "besked": _("besked"),
        "information": _("information"),
        "forsening": _("försening"),
        "komplettering": _("komplettering"),
        "aterupptaget": _("återupptaget"),
        "svar": _("svar"),
        "vagledning": _("vägledning"),
        "kvittens": _("kvittens"),
        "berom_vidare": _("beröm vidare"),
        "eskalering_chef": _("eskalering (chef)"),
        "eskalering_namnd": _("eskalering (nämnd)"),
        "tilldelning": _("tilldelning"),
    }.get(kind, kind)


def way_label(way: str | None) -> str:
    """The Swedish label of a way of delivery."""
    return {EMAIL: _("e-post"), LETTER: _("brev"), TASK: _("ring eller berätta vid besök")}.get(
        way or "", way or "-"
    )


def _domain(organisation: Organisation) -> str:
    sender = organisation.delivery.sender
    if sender:
        address = email.utils.parseaddr(sender)[1]
        if "@" in address:
            return address.rsplit("@", 1)[1].lower()
    return f"{organisation.id}.klagomal.invalid"


def message_id(organisation: Organisation, reference: str, seq: int, recipient: str, kind: str) -> str:
    """The stable ``Message-ID`` of a notice: the same on every attempt, and
    one the intake can recognise in ``In-Reply-To`` when the person replies."""
    return f"<{reference}.{seq}.{recipient}.{kind}@{_domain(organisation)}>"


def person_way(case: Case) -> str:
    """How the person who gave the feedback is reached: the way they prefer
    when they gave what it needs, else e-mail, else a letter, else a task for
    the handler (a phone call, or telling them at a visit)."""
    contact = case.contact
    assert contact is not None  # an anonymous case owes the person nothing
    given = {EMAIL: contact.email, LETTER: contact.address, TASK: contact.phone}
    preferred = TASK if contact.preferred == "telefon" else contact.preferred
    if preferred is not None and given.get(preferred):
        return preferred
    if contact.email:
        return EMAIL
    if contact.address:
        return LETTER
    return TASK


def owed_recipients(case: Case, event: Event, organisation: Organisation) -> list[tuple[str, str, str]]:
    """``(kind, recipient, way)`` of every notice *event* gives rise to;
    *case* is the case right after it."""
    owed: list[tuple[str, str, str]] = []
    kind = citizen_notice(case, event)
    if kind is not None:
        owed.append((kind, _PERSON, person_way(case)))
    data = event.data
    if isinstance(data, PraisePassedOn):
        # R22: to each member of staff concerned, and to their manager.
        manager = organisation.units[case.unit].manager if organisation.has_unit(case.unit) else None
        names = [staff_address(r)[0] for r in data.recipients]
        owed += [("berom_vidare", f"personal-{i}", EMAIL) for i in range(1, len(data.recipients) + 1)]
        if manager is not None and manager not in names:
            owed.append(("berom_vidare", "chef", EMAIL))
    elif isinstance(data, Escalated):
        if data.level is Level.FORVALTNINGSCHEF:
            owed.append(("eskalering_chef", "forvaltningschef", EMAIL))  # R20
        elif data.level is Level.NAMND:
            owed.append(("eskalering_namnd", "namnd", EMAIL))  # R21
    elif isinstance(data, Assigned):
        owed.append(("tilldelning", "handlaggare", EMAIL))
    elif isinstance(data, ThreatFlagged):
        # R28: those the förvaltning's routine names; never the person.
        if data.alert_manager:
            owed.append(("flaggning", "chef", EMAIL))
        if data.alert_department_head:
            owed.append(("flaggning", "forvaltningschef", EMAIL))
        owed += [("flaggning", f"anvandare-{i}", EMAIL) for i in range(1, len(data.alert_users) + 1)]
    return owed


def owed_notices(case: Case, event: Event, organisation: Organisation) -> list[OwedNotice]:
    """Every notice *event* gives rise to, with its Message-ID; *case* is
    the case right after the event."""
    return [
        OwedNotice(
            kind, recipient, way, message_id(organisation, event.reference, event.seq, recipient, kind)
        )
        for kind, recipient, way in owed_recipients(case, event, organisation)
    ]


def staff_address(text: str) -> tuple[str, str | None]:
    """The name and e-mail address in a recipient the handler wrote:
    ``"Lisa Holm <lisa.holm@exempelkommun.se>"``, ``"lisa.holm@exempelkommun.se"``
    or just ``"Lisa Holm"`` (no address).

    >>> staff_address("Lisa Holm <lisa.holm@exempelkommun.se>")
    ('Lisa Holm', 'lisa.holm@exempelkommun.se')
    >>> staff_address("Omar Ali")
    ('Omar Ali', None)
    """
    text = text.strip()
    if "<" in text or "@" in text:
        name, address = email.utils.parseaddr(text)
        if "@" in address:
            return name or address, address
    return text, None


def _unit_mailbox(organisation: Organisation, unit_id: str) -> str | None:
    """The functional mailbox of the unit, or of the nearest unit above it that has one."""
    if not organisation.has_unit(unit_id):
        return None
    for unit in reversed(organisation.path(unit_id)):
        if unit.email:
            return unit.email
    return None


def _missing(what: str, where: str) -> DeliveryError:
    return DeliveryError(
        _("{what} saknas; ange {where} i organisationsfilen").format(what=what, where=where), permanent=True
    )


def _missing_in_contact(what: str) -> DeliveryError:
    """The person's address is missing: it was removed from the contact
    (a correction) after the notice was owed, or never given."""
    return DeliveryError(
        _(
            "{what} saknas i kontaktuppgifterna; rätta dem i ärendet (klagomal correct-contact) "
            "och skicka igen (klagomal deliver --retry-failed)"
        ).format(what=what),
        permanent=True,
    )


def resolve_recipient(notice: Notice, case: Case, event: Event, organisation: Organisation) -> Recipient:
    """Name and address of the recipient of *notice*; *case* is the case as it
    was right after *event*.  A missing address or setting is a permanent
    :class:`~klagomal.core.errors.DeliveryError` that says what to fill in."""
    role = notice.recipient
    if role == _PERSON:
        contact = case.contact
        if contact is None:  # pragma: no cover - never stored for anonymous cases (R5)
            raise DeliveryError(_("ärendet är anonymt och får inga meddelanden"), permanent=True)
        recipient = Recipient(
            _PERSON, contact.name, contact.email, contact.address, contact.phone, protected=contact.protected
        )
    elif role.startswith("personal-"):
        assert isinstance(event.data, PraisePassedOn)
        name, address = staff_address(event.data.recipients[int(role.split("-", 1)[1]) - 1])
        recipient = Recipient("personal", name, address or _unit_mailbox(organisation, case.unit))
        if recipient.email is None:
            raise _missing(
                _("e-postadress till {name}").format(name=recipient.name),
                _("'epost' för enheten {unit}").format(unit=case.unit),
            )
    elif role == "chef":
        unit = organisation.unit(case.unit)
        recipient = Recipient("chef", unit.manager, _unit_mailbox(organisation, case.unit))
        if recipient.email is None:
            raise _missing(
                _("e-postadress till {name}").format(name=unit.manager),
                _("'epost' för enheten {unit}").format(unit=case.unit),
            )
    elif role == "handlaggare":
        # The handler a case was assigned to: their own address when they
        # are a user with one ([[anvandare]] epost), else the unit's mailbox.
        assert isinstance(event.data, Assigned)
        user = organisation.users.get(event.data.handler)
        name = user.name if user is not None else event.data.handler
        address = (user.email if user is not None else None) or _unit_mailbox(organisation, case.unit)
        recipient = Recipient("handlaggare", name, address)
        if recipient.email is None:
            raise _missing(
                _("e-postadress till {name}").format(name=name),
                _("'epost' för användaren eller enheten {unit}").format(unit=case.unit),
            )
    elif role.startswith("anvandare-"):
        # A user the routine for abusive or threatening treatment names (R28).
        assert isinstance(event.data, ThreatFlagged)
        user_id = event.data.alert_users[int(role.split("-", 1)[1]) - 1]
        user = organisation.users.get(user_id)
        name = user.name if user is not None else user_id
        address = (user.email if user is not None else None) or _unit_mailbox(organisation, case.unit)
        recipient = Recipient("anvandare", name, address)
        if recipient.email is None:
            raise _missing(
                _("e-postadress till {name}").format(name=name),
                _("'epost' för användaren eller enheten {unit}").format(unit=case.unit),
            )
    elif role == "forvaltningschef":
        department = organisation.departments[case.department]
        head_address = department.head_email or organisation.units[department.id].email
        if head_address is None:
            raise _missing(
                _("e-postadress till förvaltningschefen {name}").format(name=department.head),
                _("'chef_epost' eller 'epost' för förvaltningen {department}").format(
                    department=department.id
                ),
            )
        recipient = Recipient("forvaltningschef", department.head, head_address)
    elif role == "namnd":
        department = organisation.departments[case.department]
        if department.board_email is None:
            raise _missing(
                _("e-postadress till {board}s sekreterare").format(board=department.board),
                _("'namnd_epost' för förvaltningen {department}").format(department=department.id),
            )
        recipient = Recipient("namnd", department.board_secretary or department.board, department.board_email)
    else:
        raise DeliveryError(_("okänd mottagare '{role}'").format(role=role), permanent=True)
    # Only the person's address can be missing here (staff's were checked
    # above), and it is given in the case, not in the organisation file.
    if notice.way == EMAIL and not recipient.email:
        raise _missing_in_contact(_("personens e-postadress"))
    if notice.way == LETTER and not recipient.address:
        raise _missing_in_contact(_("personens postadress"))
    return recipient


#: The first retry waits this long; each later one twice as long as the one before.
RETRY_BASE = dt.timedelta(minutes=1)
#: No retry waits longer than this.
RETRY_CAP = dt.timedelta(hours=6)


def retry_delay(attempts: int) -> dt.timedelta:
    """How long to wait after the *attempts*-th failed attempt: 1, 2, 4, ...
    minutes, at most six hours."""
    delay: dt.timedelta = RETRY_BASE * 2 ** max(attempts - 1, 0)
    return min(delay, RETRY_CAP)

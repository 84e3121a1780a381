"""Which reminders ``klagomal remind`` owes, to whom, and what they say.

``klagomal remind`` is meant to run once a day from cron.  For every case
waiting for a deadline (see :meth:`klagomal.core.model.Case.deadline`) it owes:

* a **reminder** (``paminnelse``) to the handler when the deadline is at most
  the förvaltning's ``reminder_days`` working days away, so that a besked is
  given in time (R7), or the answer is given, or the person told of a new date
  before the promised one passes (R10, R11).  A case without a handler yet
  reminds the unit's chef, who must appoint one;
* a **breach alert** (``overskriden``) to the responsible manager when the
  deadline has passed.

Each is owed once per case, deadline and due date: a new promised date (a
postponement, a resumed clock) owes a new reminder, a second run owes none.
This module decides; :meth:`klagomal.Klagomal.remind` stores and sends.
"""

from __future__ import annotations

import datetime as dt

import attrs

from klagomal.core.i18n import _
from klagomal.core.model import Case, Level
from klagomal.core.organisation import Organisation
from klagomal.core.users import handler_name
from klagomal.deadlines.policies import OpenDeadline
from klagomal.notices.letters import Letters
from klagomal.notices.notifiers import Recipient, StaffMessage
from klagomal.records.redaction import Redaction

__all__ = [
    "BREACH",
    "REMINDER",
    "Reminder",
    "ReminderRun",
    "mailbox_unit",
    "owed_reminder",
    "staff_message",
]

#: A deadline is close.
REMINDER = "paminnelse"
#: A deadline has passed.
BREACH = "overskriden"


@attrs.frozen
class Reminder:
    """One reminder or breach alert, as the ``reminders`` table keeps it.

    ``(reference, deadline, due, kind)`` identifies it: nothing with the same
    four is ever created twice.

    :param status: ``pending`` (owed, not yet handed to a notifier),
        ``sending`` (handed over; if a run stopped here, whether it arrived is
        unknown, and it is not sent again), ``sent``, ``failed`` (the notifier
        raised; retried on the next run), ``undeliverable`` (the notifier
        refused it for good, such as a unit without a mailbox for ``smtp``;
        never sent again, and the next reminder for the unit reads the
        organisation file afresh) or ``obsolete`` (the case moved on before
        it was sent).
    """

    reference: str
    deadline: str
    due: dt.date
    kind: str
    recipient: str
    role: str
    created: dt.date
    email: str | None = None
    status: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    sent_at: dt.datetime | None = None
    id: int | None = None

    @property
    def key(self) -> tuple[str, str, dt.date, str]:
        """What makes it unique."""
        return (self.reference, self.deadline, self.due, self.kind)


@attrs.frozen
class ReminderRun:
    """What one ``klagomal remind`` did.

    :param created: reminders owed for the first time today.
    :param sent: reminders the notifier accepted in this run (today's and
        earlier failures retried).
    :param failed: reminders the notifier could not send this time; retried
        on the next run.
    :param obsolete: reminders not sent because the case moved on first.
    :param uncertain: reminders handed to a notifier by an earlier run that
        stopped before recording the result; never sent again automatically.
    :param undeliverable: reminders the notifier refused for good
        (``DeliveryError(permanent=True)``); never sent again.
    :param missing_mailbox: of those, the ones refused because the
        organisation file gives no mailbox (``epost``) for the unit the
        reminder goes to, by that unit's id: what the kommun must add.
    """

    today: dt.date
    notifier: str
    created: list[Reminder]
    sent: list[Reminder]
    failed: list[Reminder]
    obsolete: list[Reminder]
    uncertain: list[Reminder]
    undeliverable: list[Reminder] = attrs.Factory(list)
    missing_mailbox: dict[str, list[Reminder]] = attrs.Factory(dict)


def _breach_recipient(case: Case, organisation: Organisation) -> tuple[str, str]:
    """The manager responsible when *case* breaches its deadline, and the
    unit whose mailbox reaches them.

    At level 1, the nearest chef above the case's unit who is not its handler
    (a chef handling a serious complaint themselves is reported to their own
    chef).  At levels 2 and 3, where the förvaltningschef or the nämnd
    handles the case, the förvaltningschef.
    """
    if case.level is Level.ENHET and organisation.has_unit(case.unit):
        handler = (case.handler, handler_name(organisation.users, case.handler))
        for unit in reversed(organisation.path(case.unit)):
            if unit.manager not in handler:
                return unit.manager, unit.id
    department = organisation.departments[case.department]
    return department.head, department.id


def mailbox_unit(case: Case, kind: str, organisation: Organisation) -> str | None:
    """The unit whose mailbox (``epost``) a reminder of *kind* about *case*
    goes to, or ``None`` when it goes to a user's own address or the unit is
    no longer in the organisation."""
    if kind == BREACH:
        return _breach_recipient(case, organisation)[1]
    user = organisation.users.get(case.handler) if case.handler else None
    if user is not None and user.email:
        return None
    return case.unit if case.unit in organisation.units else None


def owed_reminder(
    case: Case, deadline: OpenDeadline, reminder_days: int, organisation: Organisation, today: dt.date
) -> Reminder | None:
    """The reminder or breach alert *case* owes today, or ``None``."""
    if deadline.overdue:
        recipient, unit_id = _breach_recipient(case, organisation)
        email = organisation.units[unit_id].email
        kind, role = BREACH, "chef"
    elif deadline.working_days_left <= reminder_days:
        kind = REMINDER
        unit = organisation.units.get(case.unit)
        email = unit.email if unit is not None else None
        if case.handler:
            # A handler who is a user: by name, at their own address if they have one.
            user = organisation.users.get(case.handler)
            recipient, role = (user.name if user else case.handler), "handlaggare"
            email = (user.email if user else None) or email
        else:
            recipient, role = organisation.nearest_manager(case.unit), "chef"
    else:
        return None
    return Reminder(
        reference=case.reference,
        deadline=deadline.kind,
        due=deadline.due,
        kind=kind,
        recipient=recipient,
        role=role,
        email=email,
        created=today,
    )


def staff_message(
    reminder: Reminder,
    case: Case,
    deadline: OpenDeadline,
    organisation: Organisation,
    letters: Letters | None = None,
    redaction: Redaction | None = None,
) -> StaffMessage:
    """The Swedish message for *reminder* about *case* as it is now, rendered
    from the templates ``paminnelse`` or ``overskriden`` (:mod:`klagomal.notices.letters`):
    the text as ``body``, the HTML as ``html``.

    The text is kept short, without greeting or signature, because notifiers
    such as SMS send it as it is.  The templates see, besides the usual
    context, ``reminder``, ``deadline`` (:class:`~klagomal.deadlines.policies.OpenDeadline`,
    whose ``when`` says the time left in words) and ``what`` (``besked`` or
    ``svar``).  Without *letters*, the built-in templates are used.
    *redaction* is what staff may be told of the case
    (:meth:`klagomal.records.redaction.Redaction.for_staff`, from its history);
    without it, what the case itself says is secret.
    """
    letters = letters if letters is not None else Letters(organisation)
    what = {"besked": _("besked"), "svar": _("svar")}[reminder.deadline]
    letter = letters.render(
        case,
        None,
        reminder.kind,
        reminder.created,
        recipient=Recipient(role=reminder.role, name=reminder.recipient, email=reminder.email),
        extra={"reminder": reminder, "deadline": deadline, "what": what, "due": reminder.due},
        redaction=redaction,
    )
    return StaffMessage(
        reference=case.reference,
        kind=reminder.kind,
        recipient=reminder.recipient,
        role=reminder.role,
        subject=letter.subject,
        body=letter.text.strip(),
        email=reminder.email,
        html=letter.html,
    )

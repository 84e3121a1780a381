"""The notices' service: letters, the outbox and its delivery, and the
reminders to staff, for :class:`~klagomal.app.Klagomal`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

from klagomal.cases import lifecycle
from klagomal.cases.service import CaseService
from klagomal.context import naming
from klagomal.core.errors import (
    ConfigurationError,
    DeliveryError,
    DeliveryUncertainError,
    InvalidInputError,
    KlagomalError,
)
from klagomal.core.events import ContactCorrected
from klagomal.core.i18n import _
from klagomal.notices.notifiers import (
    EMAIL,
    LETTER,
    LOG_NOTIFIER,
    SMTP_NOTIFIER,
    Message,
    Notifier,
    StaffMessage,
)
from klagomal.notices.outbox import (
    AUTOMATIC_KINDS,
    RECEIPT_KIND,
    REPORTED,
    SENDING_LEASE,
    DeliveryRun,
    Notice,
    describe_failure,
    message_id,
    resolve_recipient,
    retry_delay,
    way_label,
)
from klagomal.notices.reminders import (
    BREACH,
    Reminder,
    ReminderRun,
    mailbox_unit,
    owed_reminder,
    staff_message,
)
from klagomal.records.access import Operation
from klagomal.records.redaction import Redaction
from klagomal.storage.base import CaseQuery

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from klagomal.context import Context
    from klagomal.core.events import Event
    from klagomal.notices.letters import Letter
    from klagomal.storage.base import UnitOfWork

__all__ = ["NoticeService"]

# The facade's logger: what operators' logging configuration names.
log = logging.getLogger("klagomal.app")


@attrs.frozen
class NoticeService:
    """Letters, the outbox, delivery and reminders, for one :class:`Context`."""

    ctx: Context
    #: The follow links (:mod:`klagomal.cases.follow`) of the kvittens
    #: notices being delivered, by notice id: known only while the web
    #: form's registration runs, since the database keeps their hash alone.
    links: Mapping[int, str] = attrs.field(factory=dict)

    # -- letters -------------------------------------------------------------------

    def letter(self, reference: str, seq: int | None) -> Letter:
        """The letter owed to the person because of event *seq* (default:
        the latest event that owes one)."""
        ctx = self.ctx
        history = ctx.klagomal.history(reference)
        owed = dict(ctx.klagomal.notices(reference))
        if seq is None:
            if not owed:
                raise InvalidInputError(
                    _("ärendet har inga brev till personen (anonymt, eller inget besked ännu)"),
                    step="letter",
                    reference=reference,
                )
            seq = max(owed)
        if seq not in owed:
            raise InvalidInputError(
                _("händelse {seq} ger inget brev till personen (brev finns för {owed})").format(
                    seq=seq, owed=", ".join(map(str, sorted(owed))) or "-"
                ),
                step="letter",
                reference=reference,
            )
        case = lifecycle.replay(history[:seq])
        with naming("letter", reference):
            # The letter as the person will get it, shown to the acting user:
            # who a protected person is only if the user may see it.
            return ctx.letters.render(
                case, history[seq - 1], owed[seq], ctx.clock.today(), redaction=ctx.redaction(case)
            )

    # -- the outbox ------------------------------------------------------------------

    def outbox(self, reference: str | None, statuses: Sequence[str] | None) -> list[Notice]:
        """The notices in the outbox with their delivery state, oldest first."""
        ctx = self.ctx
        if reference is not None:
            with ctx.reading(reference, "outbox") as (uow, case):
                return ctx.redaction(case).notices(uow.outbox(reference=reference, statuses=statuses))
        user = ctx.allowed(Operation.DELIVER)
        with ctx.transaction() as uow:
            found = self.visible_notices(
                uow, uow.outbox(statuses=statuses, departments=ctx.delivery_departments(user))
            )
            ctx.audit_list(uow, Operation.DELIVER, sorted({n.reference for n in found}), "outbox")
            return found

    def visible_notices(self, uow: UnitOfWork, notices: Sequence[Notice]) -> list[Notice]:
        """Those of *notices* whose case the acting user may read, as they may
        see them (a protected person's address withheld)."""
        ctx = self.ctx
        references = sorted({n.reference for n in notices})
        shown = {
            case.reference: ctx.redaction(case)
            for case in uow.find(CaseQuery(references=references))
            if ctx.may_read(case)
        }
        return [shown[n.reference].notice(n) for n in notices if n.reference in shown]

    def open_notices(self, references: Sequence[str]) -> dict[str, list[Notice]]:
        """The notices of these cases that need a person's attention, by reference."""
        ctx = self.ctx
        ctx.allowed(Operation.LIST)
        with ctx.transaction() as uow:
            found = uow.notices_with(references, ("pending", "failed", "uncertain", "task"))
            visible = self.visible_notices(uow, [n for notices in found.values() for n in notices])
        grouped: dict[str, list[Notice]] = {}
        for notice in visible:
            if notice.status != "pending" or notice.last_error:
                grouped.setdefault(notice.reference, []).append(notice)
        return grouped

    def requeue(self, ids: Sequence[int] | None, statuses: Sequence[str]) -> list[Notice]:
        """Queue failed or uncertain notices again; their attempts start over."""
        ctx = self.ctx
        user = ctx.allowed(Operation.DELIVER)
        departments = ctx.delivery_departments(user)
        allowed = {"failed", "uncertain"}
        with ctx.transaction() as uow:
            found = uow.outbox(
                ids=ids, statuses=None if ids is not None else list(statuses), departments=departments
            )
            if ids is not None:
                _check_requeued(ids, found, allowed)
            queued = [
                attrs.evolve(n, status="pending", attempts=0, next_attempt=None)
                for n in found
                if n.status in allowed
            ]
            for notice in queued:
                uow.update_notice(notice)
            ctx.audit_list(uow, Operation.DELIVER, sorted({n.reference for n in queued}), "requeue")
            return self.visible_notices(uow, queued)

    def complete_task(self, notice_id: int) -> Notice:
        """Record that the handler has carried out a task."""
        ctx = self.ctx
        ctx.allowed(Operation.HANDLE)
        with ctx.denials(Operation.HANDLE), ctx.transaction() as uow:
            found = uow.outbox(ids=[notice_id])
            if not found or found[0].status != "task":
                raise InvalidInputError(
                    _("meddelande {id} är ingen uppgift som väntar").format(id=notice_id), step="outbox"
                )
            case = uow.get(found[0].reference)
            ctx.check(Operation.HANDLE, case)
            ctx.audit(uow, Operation.HANDLE, [found[0].reference], f"task {notice_id} done")
            notice: Notice = attrs.evolve(found[0], status="done", sent_at=ctx.utcnow())
            uow.update_notice(notice)
        return ctx.redaction(case).notice(notice)

    # -- delivery --------------------------------------------------------------------

    def _notifiers(self) -> dict[str, Notifier]:
        """The notifier for each way of delivery, checked before anything is claimed."""
        registry = self.ctx.registry
        settings = self.ctx.organisation.delivery
        chosen: dict[str, Notifier] = {}
        for way, name in ((EMAIL, settings.notifier_for_email), (LETTER, settings.letter_notifier)):
            notifier = registry.notifiers.get(name)
            if notifier is None or notifier.deliver is None:
                usable = sorted(n for n, v in registry.notifiers.items() if v.deliver is not None)
                raise ConfigurationError(
                    _(
                        "aviseringssättet '{name}' för {way} finns inte eller kan inte leverera meddelanden "
                        "(användbara: {known}); se [utskick] i organisationsfilen"
                    ).format(name=name, way=way_label(way), known=", ".join(usable))
                )
            chosen[way] = notifier
        return chosen

    def deliver_receipt(self, notice_id: int, link: str | None) -> DeliveryRun:
        """Deliver the kvittens *notice_id* now, with the follow *link* in it
        (:func:`klagomal.intake.webform.register_submission`)."""
        links = {notice_id: link} if link else {}
        return attrs.evolve(self, links=links).deliver(None, [notice_id], None)

    def deliver(self, reference: str | None, ids: Sequence[int] | None, limit: int | None) -> DeliveryRun:
        """Deliver the notices waiting in the outbox (see :meth:`klagomal.app.Klagomal.deliver`)."""
        ctx = self.ctx
        user = ctx.allowed(Operation.DELIVER)
        departments = ctx.delivery_departments(user)
        notifiers = self._notifiers()
        now = ctx.utcnow()
        run = DeliveryRun(now)
        with ctx.transaction() as uow:
            sending = uow.outbox(reference=reference, ids=ids, statuses=("sending",), departments=departments)
            _mark_uncertain(uow, sending, now, run)
            due = uow.outbox(
                reference=reference,
                ids=ids,
                statuses=("pending",),
                ways=(EMAIL, LETTER),
                due=now,
                limit=limit,
                departments=departments,
            )
        for notice in due:
            self._deliver_one(notice, notifiers[notice.way or EMAIL], now, run)
        with ctx.transaction() as uow:
            run.tasks = len(uow.outbox(reference=reference, statuses=("task",), departments=departments))
            run.failed_waiting = len(
                uow.outbox(reference=reference, statuses=("failed",), departments=departments)
            )
            # What the run tells its user, as they may see it.
            for name in ("sent", "retry", "failed", "uncertain"):
                setattr(run, name, self.visible_notices(uow, getattr(run, name)))
        return run

    def _deliver_one(self, notice: Notice, notifier: Notifier, now: dt.datetime, run: DeliveryRun) -> None:
        ctx = self.ctx
        with ctx.transaction() as uow:
            if not uow.claim_notice(notice.id, ("pending",), now):
                return  # another delivery took it
            history = uow.history(notice.reference)
            earlier = [
                n.message_id
                for n in uow.outbox(reference=notice.reference, statuses=("sent", "uncertain"))
                if n.recipient == notice.recipient and n.message_id and n.id != notice.id
            ]
        notice = attrs.evolve(notice, status="sending", attempts=notice.attempts + 1, attempted_at=now)
        notice = self._sent(notice, notifier, history, tuple(earlier), now, run)
        if notice.status != "sent":
            # The run returns it and 'klagomal deliver' prints it: no second line there.
            log.warning(_("klagomal: %s"), describe_failure(notice), extra={REPORTED: True})
        with ctx.transaction() as uow:
            uow.update_notice(notice)

    def _sent(
        self,
        notice: Notice,
        notifier: Notifier,
        history: Sequence[Event],
        earlier: tuple[str, ...],
        now: dt.datetime,
        run: DeliveryRun,
    ) -> Notice:
        """*notice* once *notifier* was given it: sent, uncertain, or not delivered."""
        address: str | None = None
        try:
            message = self._message(notice, history, earlier)
            address = message.recipient.email if notice.way == EMAIL else message.recipient.address
            assert notifier.deliver is not None
            notifier.deliver(message)
        except DeliveryUncertainError as exc:
            notice = attrs.evolve(notice, status="uncertain", last_error=exc.reason, address=address)
            run.uncertain.append(notice)
        except (DeliveryError, ConfigurationError, InvalidInputError) as exc:
            reason = exc.reason if isinstance(exc, DeliveryError | InvalidInputError) else str(exc)
            permanent = not isinstance(exc, DeliveryError) or exc.permanent
            notice = self._not_delivered(notice, reason, address, now, run, permanent=permanent)
        except Exception as exc:
            # A notifier's own failure: not delivered, so it is tried again.
            log.exception(
                _("klagomal: aviseringssättet %r fick ett fel med meddelande %s"),
                notifier.name,
                notice.id,
                extra={REPORTED: True},
            )
            notice = self._not_delivered(notice, f"{type(exc).__name__}: {exc}", address, now, run)
        else:
            notice = attrs.evolve(
                notice,
                status="sent",
                sent_at=self.ctx.utcnow(),
                address=address,
                last_error=None,
                next_attempt=None,
            )
            run.sent.append(notice)
        return notice

    def _not_delivered(
        self,
        notice: Notice,
        reason: str,
        address: str | None,
        now: dt.datetime,
        run: DeliveryRun,
        *,
        permanent: bool = False,
    ) -> Notice:
        """*notice* after a definite failure: retried after the backoff, or
        ``failed`` when trying again cannot help or the attempts are used up."""
        if permanent or notice.attempts >= self.ctx.organisation.delivery.max_attempts:
            notice = attrs.evolve(
                notice, status="failed", last_error=reason, address=address, next_attempt=None
            )
            run.failed.append(notice)
        else:
            notice = attrs.evolve(
                notice,
                status="pending",
                last_error=reason,
                address=address,
                next_attempt=now + retry_delay(notice.attempts),
            )
            run.retry.append(notice)
        return notice

    def _message(self, notice: Notice, history: Sequence[Event], earlier: tuple[str, ...]) -> Message:
        """The notice rendered for its notifier, as the case was right after its event."""
        organisation = self.ctx.organisation
        case = lifecycle.replay(history[: notice.seq])
        event = history[notice.seq - 1]
        if notice.to_person:
            # A notice not yet sent goes where the person's contact says now:
            # corrected since (rättelse, ContactCorrected), to the new values.
            later = [e.data for e in history[notice.seq :]]
            corrected = [data.contact for data in later if isinstance(data, ContactCorrected)]
            if corrected:
                case = attrs.evolve(case, contact=corrected[-1])
        recipient = resolve_recipient(notice, case, event, organisation)
        # The person gets their own case; staff get no secret text and never
        # who a protected person is (the whole history knows the markings).
        shown = (
            Redaction(contact_visible=True, protected=case.protected)
            if notice.to_person
            else Redaction.for_staff(case, history)
        )
        # A kvittens carries its follow link only while the registration
        # that made the link delivers it; later (a retry), none.
        extra = {"folj_lank": self.links.get(notice.id)} if notice.kind == RECEIPT_KIND else None
        letter = self.ctx.letters.render(
            case, event, notice.kind, event.day, recipient=recipient, redaction=shown, extra=extra
        )
        settings = organisation.delivery
        return Message(
            notice_id=notice.id,
            reference=notice.reference,
            seq=notice.seq,
            kind=notice.kind,
            way=notice.way or EMAIL,
            recipient=recipient,
            subject=letter.subject,
            text=letter.text,
            html=letter.html,
            message_id=notice.message_id
            or message_id(organisation, notice.reference, notice.seq, notice.recipient, notice.kind),
            sender=settings.sender
            or email.utils.formataddr((organisation.name, f"noreply@{organisation.id}.klagomal.invalid")),
            reply_to=settings.reply_to,
            auto_submitted=notice.kind in AUTOMATIC_KINDS,
            references=earlier,
            date=self.ctx.clock.now(),
        )

    # -- reminders -------------------------------------------------------------------

    def remind(self, notifier: str | None) -> ReminderRun:
        """Remind handlers of close deadlines and tell managers of passed
        ones (see :meth:`klagomal.app.Klagomal.remind`)."""
        ctx = self.ctx
        user = ctx.allowed(Operation.REMIND)
        departments = ctx.delivery_departments(user)
        if notifier is None:
            notifier = SMTP_NOTIFIER if ctx.organisation.delivery.smtp.host else LOG_NOTIFIER
        if notifier not in ctx.registry.notifiers:
            raise ConfigurationError(
                _("aviseringssättet '{name}' finns inte (kända: {known})").format(
                    name=notifier, known=", ".join(sorted(ctx.registry.notifiers))
                )
            )
        with ctx.denials(Operation.REMIND):
            CaseService(ctx).business_day("remind")
        send = ctx.registry.notifiers[notifier].send
        if send is None:
            raise ConfigurationError(
                _("aviseringssättet '{name}' kan inte skicka påminnelser till personal").format(name=notifier)
            )
        today = ctx.clock.today()
        created, waiting, uncertain = self._owed_reminders(today, departments)
        run = ReminderRun(today, notifier, created, [], [], [], uncertain)
        for reminder in waiting:
            self._remind_one(reminder, notifier, send, today, run)
        return run

    def _owed_reminders(
        self, today: dt.date, departments: list[str] | None
    ) -> tuple[list[Reminder], list[Reminder], list[Reminder]]:
        """Record the reminders owed *today*; return those created, those
        waiting to be sent, and those whose sending is uncertain."""
        ctx = self.ctx
        deadlines = ctx.deadlines
        window = CaseService(ctx).due_window(
            today, lambda department: deadlines.policy(department).reminder_days
        )
        with ctx.transaction() as uow:
            owed: list[Reminder] = []
            for case in uow.find(CaseQuery(overdue_on=today, due=window, departments=departments)):
                deadline = deadlines.open_deadline(case, today)
                assert deadline is not None  # the query found it by its deadline
                reminder_days = deadlines.policy(case.department).reminder_days
                reminder = owed_reminder(case, deadline, reminder_days, ctx.organisation, today)
                if reminder is not None:
                    owed.append(reminder)
            created = uow.add_reminders(owed)
            waiting = uow.reminders(statuses=("pending", "failed"), departments=departments)
            uncertain = uow.reminders(statuses=("sending",), departments=departments)
        return created, waiting, uncertain

    def _remind_one(
        self,
        reminder: Reminder,
        notifier: str,
        send: Callable[[StaffMessage], None],
        today: dt.date,
        run: ReminderRun,
    ) -> None:
        ctx = self.ctx
        # Record the attempt before the notifier is called: if this run
        # dies while sending, the reminder is never sent a second time.
        with ctx.transaction() as uow:
            case = uow.get(reminder.reference)
            history = uow.history(reminder.reference)
            deadline = ctx.deadlines.open_deadline(case, today)
            current = (
                deadline is not None
                and (deadline.kind, deadline.due) == (reminder.deadline, reminder.due)
                and deadline.overdue == (reminder.kind == BREACH)
            )
            reminder = attrs.evolve(
                reminder,
                status="sending" if current else "obsolete",
                attempts=reminder.attempts + int(current),
            )
            uow.update_reminder(reminder)
        if not current:
            run.obsolete.append(reminder)
            return
        assert deadline is not None
        try:
            message = staff_message(
                reminder, case, deadline, ctx.organisation, ctx.letters, Redaction.for_staff(case, history)
            )
            send(attrs.evolve(message, date=ctx.clock.now()))
        except DeliveryError as exc:
            reminder = self._reminder_failed(reminder, notifier, exc)
            if not exc.permanent:
                run.failed.append(reminder)
            else:
                # Trying again cannot help: said once, never sent again.
                reminder = attrs.evolve(reminder, status="undeliverable")
                run.undeliverable.append(reminder)
                unit = mailbox_unit(case, reminder.kind, ctx.organisation)
                if reminder.email is None and unit is not None:
                    run.missing_mailbox.setdefault(unit, []).append(reminder)
        except Exception as exc:
            reminder = self._reminder_failed(reminder, notifier, exc)
            run.failed.append(reminder)
        else:
            reminder = attrs.evolve(reminder, status="sent", last_error=None, sent_at=ctx.clock.now())
            run.sent.append(reminder)
        with ctx.transaction() as uow:
            uow.update_reminder(reminder)

    @staticmethod
    def _reminder_failed(reminder: Reminder, notifier: str, exc: Exception) -> Reminder:
        # An expected refusal (a KlagomalError, such as a name missing
        # from a directory) needs no traceback in a daily cron log.
        log.error(
            _("klagomal: aviseringssättet %r kunde inte skicka påminnelsen i ärende %s: %s: %s"),
            notifier,
            reminder.reference,
            type(exc).__name__,
            exc,
            exc_info=not isinstance(exc, KlagomalError),
            extra={REPORTED: True},  # the run returns it; 'klagomal remind' prints it
        )
        reason = exc.reason if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
        return attrs.evolve(reminder, status="failed", last_error=reason)

    def reminders(self, reference: str | None) -> list[Reminder]:
        """Every reminder and breach alert recorded, or those of one case."""
        ctx = self.ctx
        user = ctx.allowed(Operation.REMIND)
        with ctx.transaction() as uow:
            found: list[Reminder] = uow.reminders(
                reference=reference, departments=ctx.delivery_departments(user)
            )
            return found


def _mark_uncertain(uow: UnitOfWork, sending: Sequence[Notice], now: dt.datetime, run: DeliveryRun) -> None:
    """Mark the notices a stopped run left ``sending`` as ``uncertain``,
    unless another delivery may be sending them right now."""
    for notice in sending:
        if notice.attempted_at is not None and now - notice.attempted_at < SENDING_LEASE:
            continue  # another delivery may be sending it right now
        notice = attrs.evolve(
            notice,
            status="uncertain",
            last_error=_("avbröts under utskicket och kan ha kommit fram; kontrollera och skicka om"),
        )
        uow.update_notice(notice)
        run.uncertain.append(notice)


def _check_requeued(ids: Sequence[int], found: Sequence[Notice], allowed: set[str]) -> None:
    """Refuse ids that are not in the outbox or cannot be queued again."""
    missing = sorted(set(ids) - {n.id for n in found})
    wrong = [n for n in found if n.status not in allowed]
    if missing or wrong:
        raise InvalidInputError(
            _("meddelande {ids} finns inte eller kan inte skickas om (bara misslyckade och osäkra)").format(
                ids=", ".join(map(str, missing + [n.id for n in wrong]))
            ),
            step="outbox",
        )

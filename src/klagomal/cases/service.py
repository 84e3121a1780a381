"""The cases' service: registering, the steps, the business day and the
case lists, for :class:`~klagomal.app.Klagomal`.

Every command runs as one unit of work: read the case, check the acting
user's access, let :mod:`klagomal.cases.lifecycle` decide the event,
project it, store event, projection, owed notices and audit entry
together, commit, and only then tell the event listeners.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import attrs

from klagomal.cases import amendments, lifecycle, threats
from klagomal.cases.step_texts import required_text
from klagomal.cases.worklist import HANDLER, OPEN_STATES, TASK, UNASSIGNED, WorkItem, item, sort_worklist
from klagomal.context import naming
from klagomal.core.clock import BusinessDate
from klagomal.core.errors import (
    AccessDeniedError,
    CaseNotFoundError,
    ConflictError,
    InvalidInputError,
    InvalidPersonNumberError,
    InvalidStepError,
    NoUnitError,
)
from klagomal.core.events import Event, EventData, Registered
from klagomal.core.i18n import _, ngettext
from klagomal.core.languages import check_language
from klagomal.core.location import Location
from klagomal.core.location_rules import checked
from klagomal.core.model import Case, CaseState, Contact, Intake, Kind
from klagomal.core.users import HANDLING_ROLES, User, find_user
from klagomal.notices.outbox import DROPPED, kind_label, owed_notices, way_label
from klagomal.records.access import Operation, Role
from klagomal.storage.base import CaseQuery, DueWindow

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.context import Context
    from klagomal.intake.records import ReceivedMessage, StoredAttachment
    from klagomal.storage.base import UnitOfWork

__all__ = ["CaseService"]

#: The operation an event is written under, in the audit log; the rest are HANDLE.
WRITE_OPERATIONS = {
    "registered": Operation.REGISTER,
    "message_received": Operation.REGISTER,
    "secrecy_marked": Operation.SECRECY,
    "secrecy_lifted": Operation.SECRECY,
    "assigned": Operation.ASSIGN,
    "threat_flagged": Operation.FLAG,
    "threat_flag_lifted": Operation.UNFLAG,
    "note_added": Operation.NOTE,
    "attachment_added": Operation.ATTACH,
    "contact_corrected": Operation.CORRECT_CONTACT,
}

#: ``list --state open``: every state but ``avslutat``.
OPEN = "open"


@attrs.frozen
class CaseService:
    """Registration, the steps and the case lists, for one :class:`Context`."""

    ctx: Context

    # -- the business day ------------------------------------------------------

    def business_day(self, step: str, reference: str | None = None) -> dt.date:
        """Today, for a write.  A business date set by hand
        (:class:`~klagomal.core.clock.BusinessDate`, ``klagomal --today``) is held
        to the rules: never after the real date, so that no mistyped year
        locks a case until then; before it only for a user who may date
        steps afterwards (:attr:`Operation.BACKDATE`), and no further back
        than ``[behorighet] efterregistrering_dagar`` unless they are the
        system owner.  The audit log always has the real time."""
        ctx = self.ctx
        today = ctx.clock.today()
        if not isinstance(ctx.clock, BusinessDate):
            return today  # the clock is the world (a system clock, a test's, the demo's)
        real = ctx.clock.real_today()
        if today > real:
            raise InvalidInputError(
                _(
                    "datumet {today} ligger efter dagens datum {real}; ett steg kan inte dateras i framtiden"
                ).format(today=today, real=real),
                step=step,
                reference=reference,
            )
        if today < real:
            self._check_backdating(today, real, reference)
        return today

    def _check_backdating(self, today: dt.date, real: dt.date, reference: str | None) -> None:
        """Refuse a step dated before the real date for a user who may not
        date steps afterwards, or not that far back."""
        try:
            user = self.ctx.check(Operation.BACKDATE)
        except AccessDeniedError as exc:
            raise type(exc)(exc.operation, reference, exc.reason, user=exc.user) from None
        days = (real - today).days
        limit = self.ctx.organisation.backdating_days
        if user.role is not Role.SYSTEM_OWNER and days > limit:
            raise AccessDeniedError(
                Operation.BACKDATE,
                reference,
                _(
                    "{user} får datera steg högst {limit} dagar bakåt, men {today} ligger {days} dagar "
                    "före dagens datum {real}"
                ).format(user=user.describe(), limit=limit, today=today, days=days, real=real),
                user=user,
            )

    # -- the one write path --------------------------------------------------------

    def event(self, reference: str, seq: int, data: EventData, actor: str | None) -> Event:
        user = self.ctx.user
        return Event(
            reference=reference,
            seq=seq,
            day=self.business_day(data.TYPE, reference),
            recorded_at=self.ctx.clock.now().astimezone(dt.UTC),
            data=data,
            actor=actor if actor is not None else (user.id if user else None),
        )

    def commit(self, case: Case, event: Event, uow: UnitOfWork) -> Case:
        ctx = self.ctx
        new_case = lifecycle.evolve(case, event)
        if ctx.idempotency is not None:
            # A retried request's outcome, in the same transaction as its
            # event (klagomal.storage.sql.idempotency); first, so that a
            # second request with the key waits here and then rolls back.
            ctx.idempotency.record(uow, new_case)
        uow.append(new_case, event, owed_notices(new_case, event, ctx.organisation))
        # Every write of case text or personal data, in its own transaction (R27).
        # A step dated afterwards says so: the entry's own time is the real one.
        dated = (
            f" (daterat {event.day})"
            if isinstance(ctx.clock, BusinessDate) and event.day < ctx.clock.real_today()
            else ""
        )
        ctx.audit(
            uow,
            WRITE_OPERATIONS.get(event.type, Operation.HANDLE),
            [event.reference],
            f"{event.seq} {event.type}{dated}",
        )
        return new_case

    def step(
        self,
        reference: str,
        step: str,
        decide: Callable[[Case, lifecycle.Context], EventData],
        actor: str | None,
        expected_version: int | None = None,
        operation: Operation = Operation.HANDLE,
        before_commit: Callable[[UnitOfWork, Case], None] | None = None,
    ) -> Case:
        """Read the case, check the acting user's access to it, decide the
        step, and store its event and the audit entry, all in one
        transaction.  With *expected_version* (the version the caller showed
        its user), a case changed since then is a :class:`ConflictError`
        instead of a step decided on a stale view."""
        ctx = self.ctx

        def body(uow: UnitOfWork) -> tuple[Case, Event]:
            try:
                case = uow.get(reference)
            except CaseNotFoundError:
                raise CaseNotFoundError(reference, step) from None
            ctx.check(operation, case)
            if expected_version is not None and case.version != expected_version:
                raise ConflictError(reference, step=step, expected=expected_version, found=case.version)
            data = self._decided(case, step, decide)
            if before_commit is not None:
                before_commit(uow, case)
            event = self.event(reference, case.version + 1, data, actor)
            try:
                new_case = self.commit(case, event, uow)
            except ConflictError as exc:
                raise ConflictError(reference, step=step, expected=exc.expected, found=exc.found) from exc
            return new_case, event

        ctx.allowed(operation)  # the role at all, before the case is read
        with ctx.denials(operation):
            self.business_day(step, reference)
            new_case, event = ctx.write(body)
        ctx.klagomal._after_commit(new_case, event)
        return ctx.shown(new_case)

    def _decided(
        self, case: Case, step: str, decide: Callable[[Case, lifecycle.Context], EventData]
    ) -> EventData:
        """What *decide* makes of *case* today, once the day is one the
        case's calendar can count from."""
        today = self.ctx.lifecycle()
        lifecycle.check_date(case, today, step)
        with naming(step, case.reference):
            # A day the case's calendar cannot count from is refused before
            # anything is stored: what a step shows afterwards counts from it.
            self.ctx.deadlines.check_date(case.department, today.today)
            return decide(case, today)

    # -- handlers ------------------------------------------------------------------

    def find_user(self, text: str, step: str, reference: str | None = None) -> User | None:
        """The user of the organisation file *text* names (id or display
        name), or ``None``; an ambiguous display name is refused."""
        return find_user(self.ctx.organisation.users, text, step=step, reference=reference)

    def handler_of(self, text: str, step: str, reference: str | None = None) -> str:
        """What is stored as a case's handler for *text*: the user's id when
        *text* names a user, else the name as written (free text, for
        kommuner without users and handlers outside klagomal)."""
        user = self.find_user(text, step, reference)
        return user.id if user is not None else text.strip()

    def acknowledge(
        self,
        reference: str,
        handler: str | None,
        respond_by: dt.date | None,
        actor: str | None,
        expected_version: int | None,
    ) -> Case:
        """The besked (see :meth:`klagomal.app.Klagomal.acknowledge`)."""
        step = "acknowledge"
        if handler is None:
            user = self.ctx.user
            if user is not None and user.role not in HANDLING_ROLES:
                raise InvalidInputError(
                    _("ange handläggaren (--handler): {user} handlägger inte ärenden själv").format(
                        user=user.describe()
                    ),
                    step=step,
                    reference=reference,
                )
            # Without a user, the access check refuses before the decision.
            handler = user.id if user is not None else ""
        else:
            handler = self.handler_of(handler, step, reference)
        return self.step(
            reference,
            step,
            lambda c, today: lifecycle.acknowledge(c, today, handler, respond_by),
            actor,
            expected_version,
        )

    def assign(self, reference: str, handler: str, actor: str | None, expected_version: int | None) -> Case:
        """Appoint or change the handler (see :meth:`klagomal.app.Klagomal.assign`)."""
        step = "assign"
        new_handler = self.handler_of(handler, step, reference)
        return self.step(
            reference,
            step,
            lambda c, today: lifecycle.assign(c, today, new_handler),
            actor,
            expected_version,
            Operation.ASSIGN,
        )

    def add_note(self, reference: str, text: str, actor: str | None, expected_version: int | None) -> Case:
        """An internal note (see :meth:`klagomal.app.Klagomal.add_note`)."""
        return self.step(
            reference,
            "note",
            lambda c, _today: amendments.add_note(c, text),
            actor,
            expected_version,
            Operation.NOTE,
        )

    def attach(
        self,
        reference: str,
        data: bytes,
        filename: str,
        media_type: str | None,
        actor: str | None,
        expected_version: int | None,
    ) -> Case:
        """Attach a document (see :meth:`klagomal.app.Klagomal.attach`): the
        event and the stored document in one transaction."""
        document = amendments.check_document(filename, data, media_type, reference)

        def store(uow: UnitOfWork, case: Case) -> None:
            from klagomal.intake.records import ReceivedMessage, StoredAttachment

            uow.store_received(
                ReceivedMessage(
                    message_key=amendments.document_key(case.reference, case.version + 1),
                    received_at=self.ctx.utcnow(),
                    source=amendments.SOURCE,
                    outcome=amendments.OUTCOME,
                    size=len(document.data),
                    raw=b"",
                    reference=case.reference,
                ),
                [StoredAttachment(document.filename, document.media_type, len(document.data), document.data)],
            )

        return self.step(
            reference,
            "attach",
            lambda c, _today: amendments.attach(c, document),
            actor,
            expected_version,
            Operation.ATTACH,
            before_commit=store,
        )

    def locate(
        self,
        reference: str,
        location: Location | None,
        reason: str,
        actor: str | None,
        expected_version: int | None,
    ) -> Case:
        """Set, correct or remove where the case is about (see
        :meth:`klagomal.app.Klagomal.locate`)."""
        location = checked(location, step="locate", reference=reference)
        return self.step(
            reference,
            "locate",
            lambda c, _today: amendments.locate(c, location, reason),
            actor,
            expected_version,
        )

    def correct_contact(
        self,
        reference: str,
        changes: dict[str, object],
        reason: str,
        actor: str | None,
        expected_version: int | None,
    ) -> Case:
        """Correct the person's contact details (see
        :meth:`klagomal.app.Klagomal.correct_contact`).  A person with
        skyddade personuppgifter is corrected only by a user who may see
        who they are, and only such a user lifts the protection."""
        step = "correct-contact"
        ctx = self.ctx

        def decide(case: Case, today: lifecycle.Context) -> EventData:
            if case.protected and not ctx.access.sees_protected(ctx.user, case):
                raise AccessDeniedError(
                    Operation.CORRECT_CONTACT,
                    case.reference,
                    _("personen har skyddade personuppgifter, som {user} inte får se").format(
                        user=ctx.user.describe() if ctx.user else "-"
                    ),
                    user=ctx.user,
                )
            return amendments.correct_contact(case, today.today, changes, reason)

        with ctx.refusals(Operation.CORRECT_CONTACT, InvalidPersonNumberError):
            return self.step(reference, step, decide, actor, expected_version, Operation.CORRECT_CONTACT)

    def close(
        self,
        reference: str,
        satisfied: bool | None,
        drop_tasks: str | None,
        actor: str | None,
        expected_version: int | None,
    ) -> Case:
        """Close the case (see :meth:`klagomal.app.Klagomal.close`): refused
        while a task for the handler is open, unless *drop_tasks* gives the
        reason to drop them, which is recorded with each task."""
        step = "close"

        def tasks(uow: UnitOfWork, case: Case) -> None:
            open_tasks = uow.outbox(reference=case.reference, statuses=["task"])
            if not open_tasks:
                return
            named = ", ".join(
                _("uppgift {id} ({kind}, {way})").format(
                    id=n.id, kind=kind_label(n.kind), way=way_label(n.way)
                )
                for n in open_tasks
            )
            if drop_tasks is None:
                raise InvalidStepError(
                    case.reference,
                    case.state.value,
                    step,
                    ngettext(
                        "{tasks} är inte gjord; gör den först (klagomal outbox --done ID) "
                        "eller stryk den med ett skäl (--drop-tasks SKÄL)",
                        "{tasks} är inte gjorda; gör dem först (klagomal outbox --done ID) "
                        "eller stryk dem med ett skäl (--drop-tasks SKÄL)",
                        len(open_tasks),
                    ).format(tasks=named),
                )
            reason = required_text(drop_tasks, step, _("skälet"), case.reference)
            for notice in open_tasks:
                uow.update_notice(
                    attrs.evolve(notice, status=DROPPED, sent_at=self.ctx.utcnow(), last_error=reason)
                )
                self.ctx.audit(uow, Operation.HANDLE, [case.reference], f"task {notice.id} dropped")

        return self.step(
            reference,
            step,
            lambda c, today: lifecycle.close(c, today, satisfied),
            actor,
            expected_version,
            before_commit=tasks,
        )

    def flag_threat(
        self,
        reference: str,
        kind: str,
        about: str,
        reason: str,
        actor: str | None,
        expected_version: int | None,
    ) -> Case:
        """Flag abusive or threatening treatment, and let the förvaltning's
        routine decide what follows (see :meth:`klagomal.app.Klagomal.flag_threat`)."""

        def decide(case: Case, today: lifecycle.Context) -> EventData:
            data = threats.flag(case, today, kind, about, reason)
            routine, plugin = self.ctx.decisions.threat_routine(case, data, today.channels)
            return threats.apply_routine(case, data, routine, plugin, today.organisation, today.channels)

        return self.step(reference, threats.FLAG_STEP, decide, actor, expected_version, Operation.FLAG)

    def lift_threat_flag(
        self,
        reference: str,
        reason: str,
        kind: str | None,
        about: str | None,
        actor: str | None,
        expected_version: int | None,
    ) -> Case:
        """Lift a flag (see :meth:`klagomal.app.Klagomal.lift_threat_flag`)."""
        return self.step(
            reference,
            threats.UNFLAG_STEP,
            lambda c, today: threats.lift(c, today, reason, kind, about),
            actor,
            expected_version,
            Operation.UNFLAG,
        )

    def forward(self, reference: str, to_unit: str, actor: str | None, expected_version: int | None) -> Case:
        """Send the case on to *to_unit*; into a förvaltning whose cases are
        secret, it becomes secret (R27)."""

        def decide(case: Case, today: lifecycle.Context) -> EventData:
            data = lifecycle.forward(case, today, to_unit)
            if case.secrecy is None:
                secrecy, _notes = self.ctx.decisions.secrecy_on_forward(case, to_unit)
                data = attrs.evolve(data, secrecy=secrecy)
            return data

        return self.step(reference, "forward", decide, actor, expected_version)

    # -- registration ------------------------------------------------------------

    def registration(self, intake: Intake, today: lifecycle.Context) -> Registered:
        """The registration of checked feedback once the plugins have decided
        (see :meth:`klagomal.app.Klagomal.registration`)."""
        decision = self.ctx.decisions.decide(intake, today.channels[intake.channel])
        return lifecycle.registered(
            today,
            intake,
            decision.route,
            serious=decision.serious,
            secrecy=decision.secrecy,
            notes=decision.notes,
        )

    def register(
        self,
        *,
        kind: str | Kind,
        channel: str,
        text: str,
        unit: str | None,
        received: dt.date | None,
        contact: Contact | None,
        dimensions: Sequence[str],
        serious: bool,
        actor: str | None,
        resolved: str | None,
        resolved_by: str | None,
        summary: str | None,
        location: Location | None = None,
        language: str | None = None,
    ) -> Case:
        """Register new feedback (see :meth:`klagomal.app.Klagomal.register`)."""
        ctx = self.ctx
        with naming("register", None), ctx.refusals(Operation.REGISTER, InvalidPersonNumberError):
            today = ctx.lifecycle()
            intake = lifecycle.check_intake(
                today,
                kind=kind,
                channel=channel,
                unit=unit,
                text=text,
                received=received,
                contact=contact,
                dimensions=dimensions,
                serious=serious,
            )
            data = self._routed(intake, today)
            if summary is not None and summary.strip():
                # The register entry's short description (OSL 5 kap. 1 §, R27).
                lifecycle.check_summary(summary.strip(), "register")
                data = attrs.evolve(data, summary=summary.strip())
            if location is not None:
                data = attrs.evolve(data, location=checked(location, step="register"))
            if language is not None:
                # The person's language (lag 2009:724): their letters follow it.
                data = attrs.evolve(data, language=check_language(language, step="register"))
        if resolved is not None and not (resolved_by or actor):
            raise InvalidInputError(_("ange vem som löste det direkt"), step="register")
        ctx.allowed(Operation.REGISTER)
        with ctx.denials(Operation.REGISTER):
            self.business_day("register")
        done = ctx.write(lambda uow: self._registered(uow, data, actor, resolved, resolved_by))
        for case, event in done:
            ctx.klagomal._after_commit(case, event)
        return ctx.shown(done[-1][0])

    def _routed(self, intake: Intake, today: lifecycle.Context) -> Registered:
        """The registration of *intake*.  When it names no unit and no plugin
        can tell which unit it concerns, a registrar with exactly one unit
        (a handler, a chef) registers it at their own; one with several is
        told which they are."""
        try:
            return self.ctx.klagomal.registration(intake, today)
        except NoUnitError as exc:
            own = self._own_units()
            if len(own) == 1:
                return self.ctx.klagomal.registration(attrs.evolve(intake, unit=own[0]), today)
            if not own:
                raise
            org = self.ctx.organisation
            names = ", ".join(f"{org.unit(u).name} ({u})" for u in own)
            raise NoUnitError(
                _("ange vilken enhet synpunkten gäller (--unit ENHET); dina enheter är {units}").format(
                    units=names
                ),
                step=exc.step,
            ) from None

    def _own_units(self) -> list[str]:
        """The acting user's own units that the organisation knows, in order."""
        user = self.ctx.user
        if user is None:
            return []
        org = self.ctx.organisation
        return [u for u in dict.fromkeys(user.units) if org.has_unit(u)]

    def _registered(
        self,
        uow: UnitOfWork,
        data: Registered,
        actor: str | None,
        resolved: str | None,
        resolved_by: str | None,
    ) -> list[tuple[Case, Event]]:
        """Store the registration, and the quick path's resolution with it."""
        reference = uow.next_reference(self.ctx.clock.today().year)
        event = self.event(reference, 1, data, actor)
        done = [(self.commit(None, event, uow), event)]  # type: ignore[arg-type]
        if resolved is not None:
            today = self.ctx.lifecycle()
            with naming("resolve", reference):
                solved = lifecycle.resolve_at_once(done[0][0], today, resolved_by or actor or "", resolved)
            event = self.event(reference, 2, solved, actor)
            done.append((self.commit(done[0][0], event, uow), event))
        return done

    # -- reads -------------------------------------------------------------------

    def get(self, reference: str) -> Case:
        """The case with this reference, as the acting user may see it."""
        with self.ctx.reading(reference, "case") as (_uow, case):
            return self.ctx.shown(case)

    def history(self, reference: str) -> list[Event]:
        """The case's events, oldest first, as the acting user may see them."""
        events: list[Event] = []
        with self.ctx.reading(reference, "history", self.ctx.replayed(reference, events)) as (_uow, case):
            return self.ctx.shown_events(case, events)

    def rebuild(self, reference: str) -> Case:
        """The case replayed from its events alone."""
        with self.ctx.reading(reference, "rebuild", self.ctx.replayed(reference, [])) as (_uow, case):
            return self.ctx.shown(case)

    def notices(self, reference: str) -> list[tuple[int, str]]:
        """``(event seq, kind)`` of the notices to the person."""
        with self.ctx.reading(reference, "notices") as (uow, _case):
            notices: list[tuple[int, str]] = uow.notices(reference)
            return notices

    def attachments(
        self, reference: str, ids: Sequence[int] | None = None, with_data: bool = False
    ) -> list[StoredAttachment]:
        """The attachments kept with a case's messages, as the acting user may see them."""
        with self.ctx.reading(reference, "attachments") as (uow, case):
            shown = self.ctx.redaction(case)
            found = uow.attachments_of(reference, ids=ids, with_data=with_data)
            return [shown.attachment(f) for f in found]

    def received_messages(
        self,
        *,
        outcomes: Sequence[str] | None,
        reference: str | None,
        ids: Sequence[int] | None,
        with_raw: bool,
    ) -> list[ReceivedMessage]:
        """The received messages (see :meth:`klagomal.app.Klagomal.received_messages`)."""
        ctx = self.ctx
        ctx.allowed(Operation.REGISTER if reference is None else Operation.READ)
        with ctx.denials(Operation.READ), ctx.transaction() as uow:
            if reference is not None:
                ctx.check(Operation.READ, uow.get(reference))
            found: list[ReceivedMessage] = uow.received(
                outcomes=outcomes, reference=reference, ids=ids, with_raw=with_raw
            )
            # Messages that became cases are read through their case, as the
            # acting user may see it.
            shown = {
                ref: ctx.redaction(case)
                for ref in {m.reference for m in found if m.reference}
                if ctx.may_read(case := uow.get(ref))
            }
            found = [
                m if m.reference is None else shown[m.reference].received(m)
                for m in found
                if m.reference is None or m.reference in shown
            ]
            ctx.audit_list(
                uow, Operation.READ, sorted({m.reference for m in found if m.reference}), "received messages"
            )
            unattached = sum(1 for m in found if m.reference is None)
            if unattached:
                ctx.audit(uow, Operation.READ, [None], f"received messages without a case: {unattached}")
            return found

    def histories(self, references: Sequence[str]) -> dict[str, list[Event]]:
        """The events of several cases the acting user may read, by reference."""
        ctx = self.ctx
        ctx.allowed(Operation.READ)
        with ctx.transaction() as uow:
            found: dict[str, list[Event]] = uow.histories(references)
            shown: dict[str, list[Event]] = {}
            for reference, events in found.items():
                case = lifecycle.replay(events)
                if ctx.may_read(case):
                    shown[reference] = ctx.shown_events(case, events)
            ctx.audit_list(uow, Operation.READ, list(shown), "histories")
            return shown

    # -- the case lists -----------------------------------------------------------

    def cases(
        self,
        *,
        unit: str | None,
        subtree: bool,
        state: CaseState | str | None,
        overdue: bool,
        due_within: int | None,
        handler: str | None,
        manager: str | None,
        unassigned: bool = False,
    ) -> list[Case]:
        """A worklist (see :meth:`klagomal.app.Klagomal.cases`)."""
        ctx = self.ctx
        units = self._units(unit, subtree, manager)
        if due_within is not None and due_within < 0:
            raise InvalidInputError(
                _("antalet arbetsdagar kan inte vara negativt: {n}").format(n=due_within), step="list"
            )
        states = _states(state)
        handlers = self._handlers(handler)
        today = ctx.clock.today()
        with naming("list", None):
            due = None if due_within is None else self.due_window(today, lambda _department: due_within)
        user = ctx.allowed(Operation.LIST)
        departments = list(user.departments) if user.role is Role.DEPARTMENT_ADMIN else None
        query = CaseQuery(
            units=units,
            states=states,
            overdue_on=today if overdue else None,
            due=due,
            handlers=handlers,
            departments=departments,
            unassigned=unassigned,
        )
        scope = ctx.access.scope(user)
        with ctx.transaction() as uow:
            found = [ctx.shown(case) for case in uow.find(query) if scope.covers(case)]
            ctx.audit_list(uow, Operation.LIST, [case.reference for case in found], "list")
            return found

    def _handlers(self, handler: str | None) -> list[str] | None:
        """The handler values a worklist keeps to: a user's id and display
        name (cases from before handlers were users), or *handler* as written."""
        if handler is None:
            return None
        user = self.find_user(handler, "list")
        return [user.id, user.name] if user is not None else [handler.strip()]

    def worklist(self, start: int = 0, limit: int | None = None) -> list[WorkItem]:
        """The acting user's own worklist (see :meth:`klagomal.app.Klagomal.worklist`)."""
        ctx = self.ctx
        user = ctx.allowed(Operation.LIST)
        if start < 0 or (limit is not None and limit < 1):
            raise InvalidInputError(
                _(
                    "arbetslistans sida börjar på rad {start} med {limit} rader; "
                    "ange start 0 eller mer och minst 1 rad"
                ).format(start=start, limit=limit)
            )
        today = ctx.clock.today()
        scope = ctx.access.scope(user)
        mine = (user.id, user.name)
        with ctx.transaction() as uow:
            own = uow.find(CaseQuery(states=OPEN_STATES, handlers=mine))
            units = scope.units if user.role in HANDLING_ROLES else frozenset()
            # A page needs no more of the unassigned cases than the rows up
            # to its end: read only those, in the worklist's own order (a
            # worklist of every case at a busy unit cost most of the HTTP
            # API's time, docs/performance.md, issue 21).
            unassigned = (
                uow.find(
                    CaseQuery(
                        states=OPEN_STATES,
                        units=sorted(units),
                        unassigned=True,
                        limit=None if limit is None else start + limit,
                    )
                )
                if units
                else []
            )
            own = [c for c in own if scope.covers(c)]
            found = uow.notices_with([c.reference for c in own], ["task"]) if own else {}
            tasks = [n for ref in sorted(found) for n in found[ref]]
            shown = {c.reference: ctx.shown(c) for c in (*own, *unassigned)}
            deadlines = {ref: ctx.deadlines.open_deadline(c, today) for ref, c in shown.items()}
            items = [item(HANDLER, shown[c.reference], deadlines[c.reference], today) for c in own]
            items += [item(UNASSIGNED, shown[c.reference], deadlines[c.reference], today) for c in unassigned]
            redactions = {c.reference: ctx.redaction(c) for c in own}
            items += [
                item(TASK, shown[ref], deadlines[ref], today, redactions[ref].notice(n))
                for n in tasks
                if (ref := n.reference) in redactions
            ]
            page = sort_worklist(items)[start : None if limit is None else start + limit]
            # The log names the cases of the rows the user gets, as many as they read.
            ctx.audit_list(uow, Operation.LIST, sorted({i.reference for i in page}), "worklist")
            return page

    def _units(self, unit: str | None, subtree: bool, manager: str | None) -> list[str] | None:
        """The units a worklist keeps to: *unit* (and below it with
        *subtree*), within *manager*'s; ``None`` for every unit."""
        organisation = self.ctx.organisation
        units: list[str] | None = None
        if unit is not None:
            organisation.unit(unit)  # a clear error for an unknown unit
            units = organisation.subtree(unit) if subtree else [unit]
        if manager is not None:
            managed = self.managed_units(manager)
            if units is not None:
                within = set(units)
                managed = [u for u in managed if u in within]
            units = managed
        return units

    def managed_units(self, manager: str) -> list[str]:
        """Every unit in the subtree of a unit *manager* leads.  *manager* is
        a ``chef`` user's id or display name: the units tied to them by id
        (their ``enheter``) and those whose ``chef`` is their display name;
        or, for a chef who is no user, the exact ``chef`` string of units."""
        organisation = self.ctx.organisation
        user = self.find_user(manager, "list")
        if user is not None and user.role is Role.MANAGER:
            heads = [*user.units, *(u.id for u in organisation.units.values() if u.manager == user.name)]
        else:
            heads = [u.id for u in organisation.units.values() if u.manager == manager]
        if not heads:
            raise InvalidInputError(
                _("ingen enhet har chefen '{manager}' (se 'klagomal units')").format(manager=manager),
                step="list",
            )
        return list(dict.fromkeys(unit for head in heads for unit in organisation.subtree(head)))

    def due_window(self, today: dt.date, days: Callable[[str], int]) -> DueWindow:
        """From *today* to *days(förvaltning)* working days ahead, per
        förvaltning calendar."""
        last = {d: self.ctx.deadlines.limit(d, today, days(d)) for d in self.ctx.organisation.departments}
        # Every case's förvaltning is in the organisation (import checks it);
        # the default only keeps the query total.
        return DueWindow(start=today, last=last, default=max(last.values()))


def _states(state: CaseState | str | None) -> tuple[CaseState, ...] | None:
    """*state* as the states it stands for (``open``: all but ``avslutat``),
    or a clear refusal."""
    if state is None:
        return None
    if state == OPEN:
        return OPEN_STATES
    try:
        return (CaseState(state),)
    except ValueError:
        valid = ", ".join(s.value for s in CaseState)
        raise InvalidInputError(
            _("okänd status '{state}' (giltiga: {valid}), eller {open}: alla utom avslutat").format(
                state=state, valid=valid, open=OPEN
            ),
            step="list",
        ) from None

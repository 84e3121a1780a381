"""The composition root and the typed facade: :class:`Klagomal`.

One instance ties together an organisation, a clock, a plugin manager, a
converter and a storage backend, in one :class:`~klagomal.context.Context`
that each capability's service is built on: :mod:`klagomal.cases.service`
(registration, the steps, the case lists), :mod:`klagomal.notices.service`
(letters, the outbox, reminders), :mod:`klagomal.records.service` (public
records, GDPR, disposal, the audit log, the export),
:mod:`klagomal.reports.service` and :mod:`klagomal.intake.importing`.  Each
method here is one operation: its signature, its documentation and a call
into its capability's service, which checks the acting user's access, writes
the audit log and runs the operation as one unit of work.

The module is longer than klagomal's other rooms (about 1,100 lines) for
one reason: it is the documented public API.  Three quarters of it are the
signatures and docstrings of :class:`Klagomal`'s methods, which the docs
and ``help()`` show; the logic they call is in the services.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import logging
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, Self, TypeVar

import attrs
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from klagomal.cases import lifecycle
from klagomal.cases.service import CaseService
from klagomal.cases.worklist import WorkItem
from klagomal.context import Context, IdempotencyClaim, audit_time, identify, lock_wait_seconds
from klagomal.core.clock import Clock, SystemClock
from klagomal.core.disposal_rules import DisposalRule, check_rules
from klagomal.core.errors import AccessDeniedError, CaseNotFoundError, ConfigurationError, InvalidInputError
from klagomal.core.events import AttachmentAdded, Event, EventData, Registered
from klagomal.core.i18n import _
from klagomal.core.location import Location
from klagomal.core.model import Case, CaseState, Channel, Contact, Intake, Kind, QualityDimension
from klagomal.core.organisation import Organisation, default_organisation
from klagomal.core.serialization import make_converter
from klagomal.deadlines.policies import DeadlinePolicy, Deadlines, OpenDeadline
from klagomal.hooks.decisions import Decisions
from klagomal.hooks.manager import (
    PluginManager,
    Registry,
    call_impl,
    create_plugin_manager,
    implementations,
    plugin_configuration_error,
)
from klagomal.intake import bulk
from klagomal.notices.letters import Letter, Letters
from klagomal.records.access import SYSTEM_USER, AccessPolicy, Operation, User
from klagomal.storage.base import DEFAULT_LOCK_WAIT, Storage, UnitOfWork, takes_lock_wait
from klagomal.storage.drivers import missing_driver_message
from klagomal.storage.sql.api_keys import ApiKey, new_api_key
from klagomal.storage.sql.idempotency import IdempotencyKeyTaken, Outcome, StoredAnswer, SubscriptionOutcome

if TYPE_CHECKING:  # pragma: no cover
    # Only named here: the services but the cases' are built, and their
    # modules imported, when first used (see ``_LAZY_SERVICES``), so that a
    # handler's ``list --mine`` loads none of them and ``show`` the records'
    # and the notices' only (issue 19, item 11).
    from klagomal.cases.follow import CaseForCitizen, FollowService, InformationAdded
    from klagomal.cases.related import Related
    from klagomal.cases.search import Found
    from klagomal.core.jobs import JobRun, JobStatus
    from klagomal.core.phrases import Phrase, Purpose
    from klagomal.deadlines.timeliness import Timeliness
    from klagomal.intake.bulk import BulkImportResult
    from klagomal.intake.imap import MailboxRun
    from klagomal.intake.importing import ImportService
    from klagomal.intake.records import IntakeLogEntry, ReceivedMessage, StoredAttachment
    from klagomal.intake.service import IntakeOutcome
    from klagomal.notices.outbox import DeliveryRun, Notice
    from klagomal.notices.phrases import PhraseService
    from klagomal.notices.reminders import Reminder, ReminderRun
    from klagomal.notices.service import NoticeService
    from klagomal.notices.webhook_service import WebhookService
    from klagomal.notices.webhooks import Subscription
    from klagomal.records import audit, disposal
    from klagomal.records.gdpr import PersonQuery
    from klagomal.records.public_records import PublicExtract, RegisterEntry
    from klagomal.records.public_requests import PublicRequest
    from klagomal.records.publication import PublishedCase
    from klagomal.records.service import RecordsService
    from klagomal.reports import SectionResult
    from klagomal.reports.service import ReportService
    from klagomal.storage.sql.ops import OperationsCounts

__all__ = [
    "DEFAULT_DB",
    "IdempotencyKeyTaken",
    "IdempotentRequest",
    "Klagomal",
    "Outcome",
    "StoredAnswer",
    "SubscriptionOutcome",
]

log = logging.getLogger(__name__)

#: The embedded default database.
DEFAULT_DB = "sqlite:///klagomal.db"

T = TypeVar("T")

#: The instance's attributes that its :class:`~klagomal.context.Context`
#: holds too: setting one sets it there.
_SHARED = frozenset(field.name for field in attrs.fields(Context)) - {
    "klagomal",
    "storage_waits",
    "identity_error",
    "schema",
}

#: The services built when first used, each on the instance's context at
#: the time: :meth:`Klagomal._bind` forgets them when the context changes.
_LAZY_SERVICES = ("_records", "_notices", "_importing", "_reports", "_phrase_library", "_follow")


class Klagomal:
    """A kommun's complaint handling, ready to use.

    :param db: a SQLAlchemy URL or an ``Engine`` (default: SQLite file
        ``klagomal.db`` in the working directory).
    :param organisation: the kommun's organisation (default: Exempelkommun).
    :param clock: where "today" comes from (default: the system clock).
    :param plugins: plugin objects or modules to register besides the
        built-ins and the installed entry points.
    :param load_entrypoints: whether to load installed plugins of the entry
        point group ``klagomal``.
    :param disabled_plugins: names of plugins to leave out; by default those
        in ``KLAGOMAL_DISABLE_PLUGINS`` (comma-separated).
    :param user: who acts: a :class:`~klagomal.records.access.User`, or a login name
        that the ``klagomal_identify`` hook knows; by default the login name
        in ``KLAGOMAL_USER``.  Every operation checks the acting user's
        access and is written to the audit log (:mod:`klagomal.records.access`,
        :mod:`klagomal.records.audit`, R27).  A web application keeps one instance
        and acts for each request's user with :meth:`as_user`.
    :param lock_wait: the most seconds a command waits, over all its tries,
        for a lock that another transaction holds, before it gives up with
        :class:`~klagomal.core.errors.TransientStorageError` ("databasen är
        upptagen, försök igen om en stund") and nothing changed.  A web
        page wants a few seconds (see :meth:`with_lock_wait`); the default,
        30, suits the command line and batch jobs.
    """

    def __init__(
        self,
        db: str | Engine = DEFAULT_DB,
        *,
        organisation: Organisation | None = None,
        clock: Clock | None = None,
        plugins: Iterable[object] = (),
        load_entrypoints: bool = True,
        disabled_plugins: Iterable[str] | None = None,
        user: User | str | None = None,
        lock_wait: float = DEFAULT_LOCK_WAIT,
    ) -> None:
        self.lock_wait = lock_wait_seconds(lock_wait)
        self.organisation = organisation or default_organisation()
        self.clock: Clock = clock or SystemClock()
        self.plugin_manager: PluginManager = create_plugin_manager(
            plugins, load_entrypoints=load_entrypoints, disabled=disabled_plugins
        )
        self.registry = Registry.from_plugin_manager(self.plugin_manager, self.organisation)
        #: Each förvaltning's calendar and deadline policy, checked now so that
        #: a bad policy stops start-up instead of a handler's step.
        self.deadlines = Deadlines(self.organisation, self.registry.calendars, self._deadline_policy)
        #: Seriousness, routing, anonymity, intake checks and secrecy at registration.
        self.decisions = Decisions(self.plugin_manager, self.organisation)
        self.letters = self._letters()
        # Built after the plugins, whose registrations it may need to know.
        self.converter = make_converter()
        self.storage: Storage = self._open_storage(db)
        #: Who may do what (:mod:`klagomal.records.access`).
        self.access = AccessPolicy(self.organisation)
        self.user: User | None = None
        self._bind(self._shared_context())
        self._set_user(user if user is not None else os.environ.get("KLAGOMAL_USER") or None)
        #: The kommun's disposal rules, from the organisation file and the
        #: plugins, checked against each other now: contradicting rules stop
        #: start-up rather than a disposal run (R27).
        self.disposal_rules = self._disposal_rules()

    def _shared_context(self) -> Context:
        """The context every service of this instance works with."""
        return Context(
            klagomal=self,
            organisation=self.organisation,
            clock=self.clock,
            plugin_manager=self.plugin_manager,
            registry=self.registry,
            deadlines=self.deadlines,
            decisions=self.decisions,
            letters=self.letters,
            converter=self.converter,
            storage=self.storage,
            access=self.access,
            lock_wait=self.lock_wait,
            storage_waits=takes_lock_wait(self.storage),
        )

    def _bind(self, ctx: Context) -> None:
        """Act with *ctx*: its user, its lock wait, and services built on it."""
        self._ctx = ctx
        self.user, self.lock_wait = ctx.user, ctx.lock_wait
        self._cases = CaseService(ctx)
        for name in _LAZY_SERVICES:
            self.__dict__.pop(name, None)

    @functools.cached_property
    def _records(self) -> RecordsService:
        from klagomal.records.service import RecordsService

        return RecordsService(self._ctx)

    @functools.cached_property
    def _notices(self) -> NoticeService:
        from klagomal.notices.service import NoticeService

        return NoticeService(self._ctx)

    @functools.cached_property
    def _follow(self) -> FollowService:
        from klagomal.cases.follow import FollowService

        return FollowService(self._ctx)

    @functools.cached_property
    def _importing(self) -> ImportService:
        from klagomal.intake.importing import ImportService

        return ImportService(self._ctx)

    @functools.cached_property
    def _reports(self) -> ReportService:
        from klagomal.reports.service import ReportService

        return ReportService(self._ctx)

    @functools.cached_property
    def _phrase_library(self) -> PhraseService:
        from klagomal.notices.phrases import PhraseService

        return PhraseService(self._ctx)

    def _acting(self, **changes: Any) -> Self:
        """A cheap copy of this instance whose context has *changes*."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other._bind(attrs.evolve(self._ctx, klagomal=other, **changes))
        return other

    def __copy__(self) -> Self:
        return self._acting()

    def __setattr__(self, name: str, value: Any) -> None:
        # What the context holds is set through it too: a copy given another
        # clock (a test's) acts with a context of its own.
        object.__setattr__(self, name, value)
        ctx = self.__dict__.get("_ctx")
        if name in _SHARED and ctx is not None and getattr(ctx, name) is not value:
            self._bind(attrs.evolve(ctx, klagomal=self, **{name: value}))

    def _disposal_rules(self) -> tuple[DisposalRule, ...]:
        rules = list(self.organisation.disposal_rules)
        hook = self.plugin_manager.hook.klagomal_disposal_rules
        for impl in implementations(hook):
            try:
                found = call_impl(impl, organisation=self.organisation)
            except ConfigurationError as exc:
                raise plugin_configuration_error(impl.plugin_name, "klagomal_disposal_rules", exc) from exc
            for rule in found or ():
                if not isinstance(rule, DisposalRule):
                    raise ConfigurationError(
                        _("{plugin} gav {value!r} som gallringsregel, inte en DisposalRule").format(
                            plugin=impl.plugin_name, value=rule
                        )
                    )
                rules.append(rule if rule.source else attrs.evolve(rule, source=impl.plugin_name))
        try:
            check_rules(rules, departments=list(self.organisation.departments))
        except ConfigurationError as exc:
            self._ctx.record_denial(AccessDeniedError(Operation.DISPOSE, None, str(exc)), Operation.DISPOSE)
            raise
        return tuple(rules)

    def as_user(self, user: User | str) -> Self:
        """The same instance (database, plugins, organisation) acting as
        *user*: a web application's one instance, per request.  Cheap: it
        shares everything but the user."""
        found, error = identify(self.plugin_manager, self.organisation, user)
        return self._acting(user=found, identity_error=error)

    def with_lock_wait(self, seconds: float) -> Self:
        """The same instance, waiting at most *seconds* for the database's
        locks (see ``lock_wait`` above): a web form's request, which must
        answer within a few seconds, or a mail receiver, within a minute.
        Cheap, like :meth:`as_user`."""
        return self._acting(lock_wait=lock_wait_seconds(seconds))

    def _set_user(self, user: User | str | None) -> None:
        found, error = identify(self.plugin_manager, self.organisation, user)
        self._bind(attrs.evolve(self._ctx, user=found, identity_error=error))

    def _internal(self) -> Self:
        """This instance acting as klagomal itself, for what a step sets off
        (immediate delivery) once the step's own access was checked."""
        return self._acting(user=SYSTEM_USER, identity_error=None)

    def _check(self, operation: Operation, case: Case | None = None) -> User:
        return self._ctx.check(operation, case)

    def _denials(self, operation: Operation) -> contextlib.AbstractContextManager[None]:
        return self._ctx.denials(operation)

    def _allowed(self, operation: Operation, case: Case | None = None) -> User:
        return self._ctx.allowed(operation, case)

    def _allowed_units(self, operation: Operation, units: Sequence[str]) -> User:
        return self._ctx.allowed_units(operation, units)

    def _allowed_identity(self) -> User:
        """The acting user, or the denial that there is none (``whoami``)."""
        return self._ctx.allowed_identity()

    def _audit(
        self, uow: Any, operation: Operation, references: Iterable[str | None], detail: str = ""
    ) -> None:
        self._ctx.audit(uow, operation, references, detail)

    def _letters(self) -> Letters:
        owners = self.registry.owners.get("template_dirs", {})
        for folder in self.registry.template_dirs:
            if not folder.is_dir():
                raise ConfigurationError(
                    _("mallmappen {path} från {plugin} (klagomal_template_dirs) finns inte").format(
                        path=folder, plugin=owners.get(str(folder), "?")
                    )
                )
        return Letters(self.organisation, self.registry.template_dirs, deadlines=self.deadlines)

    def _open_storage(self, db: str | Engine) -> Storage:
        if isinstance(db, Engine):
            return self.registry.storage_backend(db.url.drivername).open_storage(
                db, self.converter, self.registry.plugin_migrations
            )
        try:
            url = make_url(db)
        except ArgumentError:
            raise ConfigurationError(
                _("'{db}' är ingen databasadress; skriv till exempel sqlite:///klagomal.db").format(db=db)
            ) from None
        try:
            return self.registry.storage_backend(url.drivername).open_storage(
                db, self.converter, self.registry.plugin_migrations
            )
        except (ImportError, NoSuchModuleError) as exc:
            raise ConfigurationError(missing_driver_message(url, exc)) from exc

    # -- resources -------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()

    def dispose(self) -> None:
        """Release the database connections."""
        self.storage.dispose()

    def init(self) -> str:
        """Create or upgrade the database schema; return its revision.
        Only the system owner may (on a new database the refusal cannot be
        written to the audit log, which does not exist yet).  It reads and
        writes no case, so it leaves no audit entry of its own."""
        self._allowed(Operation.ADMINISTER)
        revision = self.storage.initialise()
        self._ctx.schema.checked = True
        return revision

    @property
    def channels(self) -> dict[str, Channel]:
        """Every registered channel by id (R4)."""
        return dict(self.registry.channels)

    @property
    def dimensions(self) -> dict[str, QualityDimension]:
        """Every registered quality dimension by id (R6)."""
        return dict(self.registry.dimensions)

    def _deadline_policy(self, department: str) -> tuple[DeadlinePolicy, str]:
        """The first policy a plugin gives for *department*, and the plugin.

        A plugin that raises is logged and skipped, so that one broken plugin
        does not stop a kommun's complaint handling; one that returns
        something else than a policy is a configuration error.
        """
        for impl in implementations(self.plugin_manager.hook.klagomal_deadline_policy):
            try:
                policy = call_impl(impl, department=department, organisation=self.organisation)
            except ConfigurationError as exc:
                # Deliberate: the plugin refuses its settings; start-up stops.
                raise plugin_configuration_error(impl.plugin_name, "klagomal_deadline_policy", exc) from exc
            except Exception:
                log.exception(
                    _(
                        "klagomal: insticksmodulen %r fick ett fel i "
                        "klagomal_deadline_policy för %r, hoppas över"
                    ),
                    impl.plugin_name,
                    department,
                )
                continue
            if policy is not None:
                return _checked_policy(policy, impl.plugin_name, department), impl.plugin_name
        return DeadlinePolicy(), "klagomal"  # only if the built-in plugin is blocked

    def _context(self) -> lifecycle.Context:
        return self._ctx.lifecycle()

    def _transaction(self, lock_wait: float | None = None) -> Any:
        return self._ctx.transaction(lock_wait)

    def _snapshot(self) -> Any:
        return self._ctx.snapshot()

    # -- the one write path ----------------------------------------------

    def _commit(self, case: Case, event: Event, uow: UnitOfWork) -> Case:
        return self._cases.commit(case, event, uow)

    def _after_commit(self, case: Case, event: Event) -> None:
        if self.organisation.delivery.mode == "direkt":
            # Configured to deliver at once; what fails stays in the outbox
            # for 'klagomal deliver', and the step has succeeded either way.
            # The step's access was checked: the delivery it sets off is klagomal's.
            try:
                self._internal().deliver(reference=case.reference)
            except Exception:
                log.exception(
                    _("klagomal: det direkta utskicket för %s misslyckades; meddelandena väntar i utkorgen"),
                    case.reference,
                )
        # Listeners cannot veto: the event is stored.  One failing listener
        # must not hide the others or the fact that the step succeeded.
        for impl in implementations(self.plugin_manager.hook.klagomal_on_event):
            try:
                call_impl(impl, klagomal=self, case=case, event=event)
            except Exception:
                log.exception(
                    _("klagomal: insticksmodulen %r fick ett fel i klagomal_on_event för %s (händelse %s)"),
                    impl.plugin_name,
                    case.reference,
                    event.type,
                )

    def _event(self, reference: str, seq: int, data: EventData, actor: str | None) -> Event:
        return self._cases.event(reference, seq, data, actor)

    def _write(self, body: Callable[[UnitOfWork], T]) -> T:
        return self._ctx.write(body)

    # -- commands --------------------------------------------------------

    def register(
        self,
        *,
        kind: str | Kind,
        channel: str,
        text: str,
        unit: str | None = None,
        received: dt.date | None = None,
        contact: Contact | None = None,
        dimensions: Sequence[str] = (),
        serious: bool = False,
        actor: str | None = None,
        resolved: str | None = None,
        resolved_by: str | None = None,
        summary: str | None = None,
        location: Location | None = None,
        language: str | None = None,
    ) -> Case:
        """Register new feedback and return the case with its new reference.

        ``contact=None`` means anonymous (R5).  ``received`` defaults to today.
        ``unit`` is the unit the feedback concerns; without it, a plugin's
        ``klagomal_route`` must find one.  The plugins then decide whether a
        complaint is serious, where the case goes, whether it may be
        anonymous, whether it is accepted and whether it is secret
        (:mod:`klagomal.hooks.decisions`); their notes are stored with the case.

        *summary* is the register entry's short description of what the case
        is about (:meth:`describe` writes it later); *location* where it is
        about (:meth:`locate` sets it later).  *language* is the language the
        person writes in and gets their letters in (lag 2009:724), one of
        :func:`klagomal.core.i18n.available_languages`; Swedish by default,
        and :meth:`correct_contact` changes it later.

        The quick path for staff on the phone or at the counter (R14, R29):
        with *resolved* (what was done) and *resolved_by* (who did it), the
        case is registered and put right at once in the same transaction
        (:meth:`resolve_at_once`), closed with the person satisfied.
        """
        return self._cases.register(
            kind=kind,
            channel=channel,
            text=text,
            unit=unit,
            received=received,
            contact=contact,
            dimensions=dimensions,
            serious=serious,
            actor=actor,
            resolved=resolved,
            resolved_by=resolved_by,
            summary=summary,
            location=location,
            language=language,
        )

    def resolve_at_once(
        self,
        reference: str,
        text: str,
        handler: str,
        *,
        satisfied: bool | None = True,
        actor: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """The one who received the feedback put it right at once (R14, R29):
        the besked, the oral answer and the closing in one step, recorded as
        such (``Case.resolved_at_once``) so that it counts in statistics.
        Only for a newly registered case at its first level, and never for a
        serious complaint (R15)."""
        return self._cases.step(
            reference,
            "resolve",
            lambda c, ctx: lifecycle.resolve_at_once(c, ctx, handler, text, satisfied),
            actor,
            expected_version,
        )

    # -- intake ------------------------------------------------------------------

    def receive_email(
        self, raw: bytes, *, source: str = "api", unit: str | None = None, source_file: str | None = None
    ) -> IntakeOutcome:
        """Take one received e-mail, exactly as its bytes arrived: a new case,
        a reply in its case, an automatic message, a duplicate, or the
        quarantine (:mod:`klagomal.intake.service`).  Whatever it holds, it
        is stored and never raises for its content.  *source_file* names
        the file it was read from, kept with it for the intake log."""
        from klagomal.intake.service import receive_email

        self._allowed(Operation.REGISTER)
        return receive_email(self, raw, source=source, unit=unit, source_file=source_file)

    def read_mailbox(
        self,
        name: str | None = None,
        *,
        limit: int | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> MailboxRun:
        """Read the mailboxes of ``[[intag.imap]]`` over IMAP, or only the one
        whose ``namn`` is *name* (:mod:`klagomal.intake.imap`).

        Each message of the mailbox's folder (``mapp``), oldest UID first, is
        stored through :meth:`receive_email` (``source="imap"``, its
        ``source_file`` an IMAP URL naming the server, the user, the folder,
        its UIDVALIDITY and the message's UID) and only then, once the
        database has it, moved to ``klar_mapp``.  A message is never lost
        and never a second case: a run that stops between the two (a killed
        process, a lost connection) finds the message again next time, the
        intake knows it as a ``duplicate``, and it is moved then.

        :param limit: at most this many messages from each mailbox; the rest
            wait for the next run (:attr:`MailboxResult.left`).
        :param should_stop: asked before each message and each mailbox; once
            it answers true the run stops, with the message in hand stored
            and moved first.  A worker passes its SIGTERM flag.
        :returns: one :class:`~klagomal.intake.imap.MailboxResult` per
            mailbox: its messages with their outcomes, how many were moved,
            and the Swedish error that stopped it (a server that cannot be
            reached, a refused login, a password variable that is not set, a
            database that would not store a message: that message stays in
            the folder).  A mailbox's error never stops the others.
        :raises ConfigurationError: when no ``[[intag.imap]]`` is configured.
        :raises InvalidInputError: when no mailbox is called *name*, or
            *limit* is below 1.
        :raises AccessDeniedError: unless the acting user may register
            feedback (:attr:`Operation.REGISTER`, as :meth:`receive_email`).
        """
        from klagomal.intake.imap import MailboxRun
        from klagomal.intake.imap import read_mailbox as read

        self._allowed(Operation.REGISTER)
        configured = self.organisation.intake.imap
        if not configured:
            raise ConfigurationError(
                _(
                    "ingen brevlåda att läsa över IMAP är inställd: lägg till en tabell [[intag.imap]] "
                    "i organisationsfilen ({source})"
                ).format(source=self.organisation.source)
            )
        if limit is not None and limit < 1:
            raise InvalidInputError(
                _("'limit' ska vara minst 1, inte {limit}").format(limit=limit), step="intake"
            )
        chosen = configured
        if name is not None:
            found = self.organisation.intake.mailbox(name)
            if found is None:
                raise InvalidInputError(
                    _("det finns ingen brevlåda '{name}' i [[intag.imap]]; de inställda är: {names}").format(
                        name=name, names=", ".join(m.name for m in configured)
                    ),
                    step="intake",
                )
            chosen = (found,)

        def store(raw: bytes, source_file: str) -> IntakeOutcome:
            return self.receive_email(raw, source="imap", source_file=source_file)

        results = []
        for mailbox in chosen:
            if should_stop is not None and should_stop():
                break
            results.append(read(mailbox, store, limit=limit, should_stop=should_stop))
        return MailboxRun(tuple(results))

    def intake_log(
        self, *, since: dt.date | None = None, outcomes: Sequence[str] | None = None
    ) -> list[IntakeLogEntry]:
        """The received messages that became no case, oldest first: automatic
        messages, duplicates and the quarantine (:mod:`klagomal.intake.log`),
        from *since* on, with one of *outcomes*; for those who may read the
        quarantine, audited like it."""
        from klagomal.intake.log import intake_log

        return intake_log(self._ctx, since=since, outcomes=outcomes)

    def release_from_quarantine(
        self, message_id: int, *, unit: str | None = None, into: str | None = None, new: bool = False
    ) -> IntakeOutcome:
        """Take a quarantined message in after all, once a person has looked
        at it: into the case *into* (or the case it claims), or with *new*
        as a new case (:func:`klagomal.intake.service.release`)."""
        from klagomal.intake.service import release

        self._allowed(Operation.REGISTER)
        return release(self, message_id, unit=unit, into=into, new=new)

    def dismiss_from_quarantine(self, message_id: int, *, reason: str) -> IntakeOutcome:
        """Take a quarantined message out of the quarantine as no case (spam,
        a message meant for someone else), with the *reason* a person gives:
        nothing is deleted, the message's outcome becomes ``dismissed`` and
        the audit log names who did it
        (:func:`klagomal.intake.service.dismiss`)."""
        from klagomal.intake.service import dismiss

        return dismiss(self, message_id, reason)

    def received_messages(
        self,
        *,
        outcomes: Sequence[str] | None = None,
        reference: str | None = None,
        ids: Sequence[int] | None = None,
        with_raw: bool = False,
    ) -> list[ReceivedMessage]:
        """The received messages, oldest first: those in quarantine
        (``outcomes=["quarantined"]``), those of one case, or with these ids.

        The messages of a case need access to the case; the others (the
        quarantine, unattached messages) are the intake's, for those who
        register feedback."""
        return self._cases.received_messages(
            outcomes=outcomes, reference=reference, ids=ids, with_raw=with_raw
        )

    def attachments(
        self, reference: str, *, ids: Sequence[int] | None = None, with_data: bool = False
    ) -> list[StoredAttachment]:
        """The attachments kept with a case's messages, as the acting user may
        see them: only those of *ids* (their ``id``), and without their data
        unless *with_data* (a download).  A protected person's attachments
        are listed without their names and data to a reader who may not see
        who they are."""
        return self._cases.attachments(reference, ids, with_data)

    def registration(self, intake: Intake, ctx: lifecycle.Context) -> Registered:
        """The registration of checked feedback once the plugins have decided
        whether it is serious, where it goes, whether it may be anonymous,
        whether it is accepted and whether it is secret; used by
        :meth:`register` and the bulk import alike."""
        return self._cases.registration(intake, ctx)

    def forward(
        self, reference: str, to_unit: str, *, actor: str | None = None, expected_version: int | None = None
    ) -> Case:
        """Send the case on to the unit it concerns (R12)."""
        return self._cases.forward(reference, to_unit, actor, expected_version)

    def acknowledge(
        self,
        reference: str,
        handler: str | None = None,
        respond_by: dt.date | None = None,
        *,
        actor: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Give the besked: the handler and the promised date (R7).

        *handler* is a user's id or display name (stored as the user's id)
        or, for a handler who is no user, a name as written.  Without it,
        the acting user becomes the handler when they handle cases (a
        ``handlaggare`` or ``chef``); anyone else is asked to name one.
        Without *respond_by*, the date promised is the förvaltning's response
        time for the case's kind, in working days from today (R10).
        """
        return self._cases.acknowledge(reference, handler, respond_by, actor, expected_version)

    def assign(
        self, reference: str, handler: str, *, actor: str | None = None, expected_version: int | None = None
    ) -> Case:
        """Appoint or change the handler of an open case (tilldela): a chef
        or a förvaltning's administrator (:attr:`Operation.ASSIGN`).
        *handler* is resolved as in :meth:`acknowledge`; the new handler
        gets a notice (``tilldelning``) through the outbox."""
        return self._cases.assign(reference, handler, actor, expected_version)

    def flag_threat(
        self,
        reference: str,
        kind: str,
        *,
        about: str = "kontakt",
        reason: str,
        actor: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Flag abusive or threatening treatment of staff (R28): *kind* is
        ``krankande`` or ``hotfullt``; *about* is ``kontakt`` (the person)
        or ``arende`` (this case); *reason* says what happened.  Anyone who
        handles the case may (:attr:`Operation.FLAG`), in every state.  The
        förvaltning's routine (the ``klagomal_threat_routine`` hook; built
        in: tell the unit's chef) decides who is told (the notice
        ``flaggning``), whether the case moves to the manager and on which
        channels staff may decline further contact; the event records it.
        Nothing of it goes to the person (:mod:`klagomal.cases.threats`)."""
        return self._cases.flag_threat(reference, kind, about, reason, actor, expected_version)

    def lift_threat_flag(
        self,
        reference: str,
        reason: str,
        *,
        kind: str | None = None,
        about: str | None = None,
        actor: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Lift a flag for abusive or threatening treatment (R28), with the
        reason: a chef or a förvaltning's administrator
        (:attr:`Operation.UNFLAG`).  *kind* and *about* pick the flag; they
        may be left out when only one flag that is set matches."""
        return self._cases.lift_threat_flag(reference, reason, kind, about, actor, expected_version)

    def worklist(self, *, start: int = 0, limit: int | None = None) -> list[WorkItem]:
        """The acting user's own worklist, due first: their open cases,
        the open cases without a handler at their units, and their tasks
        (phone the person), each with the working days left or late
        (:mod:`klagomal.cases.worklist`).  With *limit*, only the rows
        ``start`` to ``start + limit`` of it (a page), which reads no more
        cases than those rows need; the audit log names the cases of the
        rows returned."""
        return self._cases.worklist(start, limit)

    def pause(
        self, reference: str, reason: str, *, actor: str | None = None, expected_version: int | None = None
    ) -> Case:
        """Stop the clock while the case waits for the person, for example for
        missing details; *reason* says what it waits for."""
        return self._cases.step(
            reference, "pause", lambda c, ctx: lifecycle.pause(c, ctx, reason), actor, expected_version
        )

    def resume(
        self, reference: str, *, actor: str | None = None, expected_version: int | None = None
    ) -> Case:
        """Start the clock again; the promised date moves by the working days
        it stood still."""
        return self._cases.step(reference, "resume", lifecycle.resume, actor, expected_version)

    def inform(
        self, reference: str, text: str, *, actor: str | None = None, expected_version: int | None = None
    ) -> Case:
        """Tell the person how the handling proceeds (R9)."""
        return self._cases.step(
            reference, "inform", lambda c, ctx: lifecycle.inform(c, ctx, text), actor, expected_version
        )

    def postpone(
        self,
        reference: str,
        respond_by: dt.date,
        reason: str,
        *,
        actor: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Promise a new date, with the reason (R11)."""
        return self._cases.step(
            reference,
            "postpone",
            lambda c, ctx: lifecycle.postpone(c, ctx, respond_by, reason),
            actor,
            expected_version,
        )

    def answer(
        self,
        reference: str,
        mode: str,
        text: str,
        *,
        actor: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Answer in writing (``skriftligt``) or orally (``muntligt``) (R13)."""
        return self._cases.step(
            reference, "answer", lambda c, ctx: lifecycle.answer(c, ctx, mode, text), actor, expected_version
        )

    def record_action(
        self, reference: str, text: str, *, actor: str | None = None, expected_version: int | None = None
    ) -> Case:
        """Record an action taken (R16)."""
        return self._cases.step(
            reference, "action", lambda c, ctx: lifecycle.record_action(c, ctx, text), actor, expected_version
        )

    def close(
        self,
        reference: str,
        satisfied: bool | None,
        *,
        drop_tasks: str | None = None,
        actor: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Close the case; ``satisfied`` is ``None`` only for anonymous cases.

        A case with a task for the handler still open (phone the person) is
        not closed until the task is done (:meth:`complete_task`) or dropped:
        *drop_tasks* is the reason, recorded with each dropped task."""
        return self._cases.close(reference, satisfied, drop_tasks, actor, expected_version)

    def escalate(
        self, reference: str, reason: str, *, actor: str | None = None, expected_version: int | None = None
    ) -> Case:
        """Take the case to the next level (R19–R21)."""
        return self._cases.step(
            reference, "escalate", lambda c, ctx: lifecycle.escalate(c, ctx, reason), actor, expected_version
        )

    def pass_on_praise(
        self,
        reference: str,
        recipients: Sequence[str],
        text: str = "",
        *,
        actor: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Pass praise on to the staff it concerns (R22)."""
        return self._cases.step(
            reference,
            "pass-on",
            lambda c, ctx: lifecycle.pass_on_praise(c, ctx, recipients, text),
            actor,
            expected_version,
        )

    def guide(
        self,
        reference: str,
        route: str,
        text: str,
        *,
        decision: str | None = None,
        appeal_to: str | None = None,
        notified: dt.date | None = None,
        actor: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Tell the person that another route also applies (R3): an appeal
        of an authority decision (``route="overklagande"``, with the
        *decision*, where to send the appeal (*appeal_to*) and the day the
        person was *notified* of the decision, from which the three weeks
        run) or a fault report (``route="felanmalan"``).  *text* is the
        handler's guidance.  The case is kept and goes on as before; the
        person gets a guidance letter (``vagledning``)."""
        return self._cases.step(
            reference,
            "guide",
            lambda c, ctx: lifecycle.guide(
                c, ctx, route, text, decision=decision, appeal_to=appeal_to, notified=notified
            ),
            actor,
            expected_version,
        )

    def reclassify(
        self,
        reference: str,
        kind: str | Kind,
        reason: str,
        *,
        actor: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Correct the kind; never away from a complaint (R2)."""
        return self._cases.step(
            reference,
            "reclassify",
            lambda c, ctx: lifecycle.reclassify(c, ctx, kind, reason),
            actor,
            expected_version,
        )

    def add_note(
        self, reference: str, text: str, *, actor: str | None = None, expected_version: int | None = None
    ) -> Case:
        """Write an internal note (anteckning) in the case, in any state: for
        those who handle the case, sent to nobody (:mod:`klagomal.cases.amendments`)."""
        return self._cases.add_note(reference, text, actor, expected_version)

    def attach(
        self,
        reference: str,
        file: str | os.PathLike[str] | bytes,
        *,
        filename: str | None = None,
        media_type: str | None = None,
        actor: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Attach a document to the case, in any state: *file* is a path, or
        the bytes with their *filename*.  The type is *media_type* or guessed
        from the name; size and types are limited
        (:func:`klagomal.cases.amendments.check_document`).  It is listed by
        :meth:`attachments` and kept as the intake keeps an e-mail's."""
        if isinstance(file, bytes):
            data, name = file, filename or ""
        else:
            with open(file, "rb") as stream:
                data = stream.read()
            name = filename or os.path.basename(os.fspath(file))
        return self._cases.attach(reference, data, name, media_type, actor, expected_version)

    def locate(
        self,
        reference: str,
        location: Location | None,
        *,
        reason: str = "",
        actor: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Set, correct or (with ``None``) remove where the case is about, in
        any state (:mod:`klagomal.core.location`): the position is checked
        and converted; the previous one stays in the history."""
        return self._cases.locate(reference, location, reason, actor, expected_version)

    def correct_contact(
        self,
        reference: str,
        *,
        reason: str = "",
        actor: str | None = None,
        expected_version: int | None = None,
        **changes: Any,
    ) -> Case:
        """Correct the person's contact details (rättelse, GDPR article 16),
        in any state: ``name``, ``email``, ``phone``, ``address``,
        ``preferred``, ``personnummer`` or ``protected`` as keywords (an
        empty text removes a value), and ``language``, the language the
        letters are written in from now on (lag 2009:724).  The old values
        stay in the history; notices from now on go to the new ones."""
        return self._cases.correct_contact(reference, changes, reason, actor, expected_version)

    def describe(
        self, reference: str, summary: str, *, actor: str | None = None, expected_version: int | None = None
    ) -> Case:
        """Write the register entry's short description of the case (OSL 5
        kap. 1 §, R27): one public line, apart from the person's own text."""
        return self._cases.step(
            reference, "describe", lambda c, ctx: lifecycle.describe(c, ctx, summary), actor, expected_version
        )

    def mark_secret(
        self,
        reference: str,
        ground: str,
        *,
        parts: Sequence[int] = (),
        reason: str = "",
        actor: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Mark the case, or the steps *parts* (event numbers), as secret on
        the legal *ground*, such as ``"OSL 26 kap. 1 §"`` (R27).  A public
        extract then leaves those parts out and says on which ground."""
        return self._cases.step(
            reference,
            "secrecy",
            lambda c, ctx: lifecycle.mark_secret(c, ctx, ground, parts, reason),
            actor,
            expected_version,
            Operation.SECRECY,
        )

    def lift_secrecy(
        self, reference: str, reason: str, *, actor: str | None = None, expected_version: int | None = None
    ) -> Case:
        """Lift the whole case's secrecy marking (R27)."""
        return self._cases.step(
            reference,
            "secrecy",
            lambda c, ctx: lifecycle.lift_secrecy(c, ctx, reason),
            actor,
            expected_version,
            Operation.SECRECY,
        )

    # -- queries ---------------------------------------------------------

    def get(self, reference: str) -> Case:
        """The case with this reference."""
        return self._cases.get(reference)

    def history(self, reference: str) -> list[Event]:
        """The case's events, oldest first."""
        return self._cases.history(reference)

    def histories(self, references: Sequence[str]) -> dict[str, list[Event]]:
        """The events of several cases, by reference; only of the cases the
        acting user may read."""
        return self._cases.histories(references)

    def notices(self, reference: str) -> list[tuple[int, str]]:
        """``(event seq, kind)`` of the notices to the person the case gave
        rise to; :meth:`outbox` has every notice with its delivery state."""
        return self._cases.notices(reference)

    def cases(
        self,
        *,
        unit: str | None = None,
        subtree: bool = False,
        state: CaseState | str | None = None,
        overdue: bool = False,
        due_within: int | None = None,
        handler: str | None = None,
        manager: str | None = None,
        unassigned: bool = False,
    ) -> list[Case]:
        """Cases: a worklist.

        :param unit: only cases at this unit (and below it with ``subtree``).
        :param state: only cases in this state; ``"open"``: every state but
            ``avslutat``.
        :param overdue: only cases whose deadline has passed (R7, R10).
        :param due_within: only cases whose deadline falls within this many
            working days from today (0: today).  With ``overdue`` too, cases
            that are either.
        :param handler: only cases with this handler: a user's id or
            display name (their cases stored by either), or a name as written.
        :param manager: only cases in the subtree of every unit this person
            leads: a ``chef`` user's id or display name (the units tied to
            them by ``enheter``, and those whose ``chef`` is their name), or
            a unit's ``chef`` as written.  A manager's whole worklist.
        :param unassigned: only cases without a handler: with ``manager``,
            what the chef has yet to assign (R28, the chef's overview).
        """
        return self._cases.cases(
            unit=unit,
            subtree=subtree,
            state=state,
            overdue=overdue,
            due_within=due_within,
            handler=handler,
            manager=manager,
            unassigned=unassigned,
        )

    def search(self, text: str, *, limit: int = 20, unit: str | None = None) -> list[Found]:
        """The cases whose reference, texts, names or e-mail addresses hold
        every word of *text*, best first, as the acting user may see them:
        only cases they may read, and never through a part hidden from them
        (a protected person's identity, a text withheld as secret).  The
        search is audited like a worklist (R27).

        :param text: words; quotes, ``*``, ``OR`` or ``-`` are no syntax.
        :param limit: at most this many cases (1–500).
        :param unit: only cases at this unit.
        """
        from klagomal.cases.search import search

        return search(self._ctx, text, limit=limit, unit=unit)

    def related(self, reference: str) -> Related:
        """The cases related to *reference* that a handler may want to answer
        together with it ("Liknande ärenden"), each with why: open or
        recently closed cases of the same person (the same e-mail address,
        phone number or personnummer), and cases at the same unit, received
        within 30 days of it, with similar text.  Only cases the acting user
        may read are looked at; nothing is merged or changed.  Audited as a
        read of the case and a list (R27).  See :mod:`klagomal.cases.related`.
        """
        from klagomal.cases.related import related

        return related(self._ctx, reference)

    def may_read(self, case: Case) -> bool:
        """Whether the acting user may read *case*.  Anyone who takes in
        feedback may register it for any unit (R29), and then need not be
        able to read it: the contact centre registers for the unit that
        handles it."""
        return self._ctx.may_read(case)

    def open_deadline(self, case: Case) -> OpenDeadline | None:
        """The deadline *case* waits for today, with the working days left."""
        return self.deadlines.open_deadline(case, self.clock.today())

    # -- reminders and timeliness ----------------------------------------

    def remind(self, notifier: str | None = None) -> ReminderRun:
        """Remind handlers of deadlines that are close and tell managers of
        deadlines that have passed, through *notifier*.  Meant to run daily.

        Without *notifier*: ``smtp`` when the organisation file names a mail
        server (``[utskick.smtp] vard``), else ``log``.

        Idempotent: a reminder is owed once per case, deadline and due date,
        and is recorded before it is sent, so running twice sends nothing
        twice.  A reminder whose notifier failed is retried on the next run;
        one the case has since outgrown (answered, postponed) is not sent.
        """
        return self._notices.remind(notifier)

    def reminders(self, reference: str | None = None) -> list[Reminder]:
        """Every reminder and breach alert recorded, or those of one case:
        of the förvaltningar the acting user sends reminders for."""
        return self._notices.reminders(reference)

    def timeliness(
        self,
        start: dt.date,
        end: dt.date,
        *,
        department: str | None = None,
        as_of: dt.date | None = None,
    ) -> Timeliness:
        """How well the deadlines were kept for the cases received from
        *start* to *end* (R7, R10, R11), as known on *as_of* (default today).

        See :mod:`klagomal.deadlines.timeliness` for what each figure counts.
        """
        return self._reports.timeliness(start, end, department, as_of)

    def cases_received(self, start: dt.date, end: dt.date, *, department: str | None = None) -> list[Case]:
        """The cases received from *start* to *end* (both included), in one
        förvaltning or all.  For the plugins' report sections, which turn
        them into numbers: the acting user needs access to the statistics.

        A case the acting user may read comes as they may see it
        (:meth:`get`); every other case (all of them, for a ``lasare``)
        comes as numbers are made of it: without its text, its register
        description and who the person is (:func:`klagomal.records.redaction.for_statistics`).
        Reading the cases with their texts is audited as a list read."""
        return self._reports.cases_received(start, end, department)

    def report_sections(
        self, start: dt.date, end: dt.date, *, department: str | None = None
    ) -> list[SectionResult]:
        """The plugins' report sections (``klagomal_report_sections``) for the
        cases received from *start* to *end*, in one förvaltning or the whole
        kommun.  A section that fails is reported as missing, not raised."""
        return self._reports.report_sections(start, end, department)

    # -- public records, secrecy and GDPR (R27) ---------------------------

    def register_list(
        self, start: dt.date, end: dt.date, *, department: str | None = None
    ) -> list[RegisterEntry]:
        """The public register entries (OSL 5 kap. 1 §) of the cases received
        from *start* to *end*: date, reference, from whom and what about,
        with the sender and description left out where the law says so
        (:mod:`klagomal.records.public_records`).  Public by law, so every role may
        have it; reading the names in it is audited all the same."""
        return self._records.register_list(start, end, department)

    def public_extract(self, reference: str) -> PublicExtract:
        """The case as it may be handed out to anyone who asks (utlämnande av
        allmän handling): secret parts removed with the ground, personal
        data masked, the person never named (:mod:`klagomal.records.public_records`).
        Only for a user who may read the case; a denial is audited."""
        return self._records.public_extract(reference)

    def public_requests(
        self,
        *,
        start: dt.date | None = None,
        end: dt.date | None = None,
        references: Sequence[str] | None = None,
    ) -> list[PublicRequest]:
        """What anyone may see of the cases received from *start* to *end*
        (both included) and/or with these *references*, oldest first: kind,
        state, dates, the förvaltning and the masked register description,
        never the person's text or who they are, nothing of a secret case
        but the note that it is withheld, and no place where the redaction
        withholds it (:mod:`klagomal.records.public_requests`).  Open311's
        public ``GET requests`` (docs/open311.md).  Public like the register
        list, so it needs no user; the read is audited like the register
        list's, as the acting user or klagomal."""
        return self._records.public_requests(start, end, references)

    # -- the public list of answered cases ("Tyck till", R27) -----------------

    def publish(
        self, reference: str, *, actor: str | None = None, expected_version: int | None = None
    ) -> Case:
        """Publish the answered case in the kommun's public list of answered
        cases: the person's description and the answer, masked
        (:func:`klagomal.records.masking.mask_text`) and kept as they are
        today (:mod:`klagomal.records.publication`).  A handler's or chef's
        step on a case they may handle, refused with the reason, and nothing
        written, unless the kommun allows publication (``[publicering]
        tillaten``), the case is answered or closed, nothing in it is marked
        secret and its person has no skyddade personuppgifter.  A case marked
        secret later, or whose person gets skyddade personuppgifter, is
        withdrawn by that step."""
        return self._records.publish(reference, actor, expected_version)

    def unpublish(
        self, reference: str, reason: str, *, actor: str | None = None, expected_version: int | None = None
    ) -> Case:
        """Withdraw the case from the public list of answered cases, for *reason*."""
        return self._records.unpublish(reference, reason, actor, expected_version)

    def published(
        self, *, limit: int = 50, offset: int = 0, department: str | None = None
    ) -> list[PublishedCase]:
        """The public list of answered cases, newest published first, *limit*
        from *offset*, of the whole kommun or of one förvaltning: what was
        published, masked, never a case that is secret or of a protected
        person now.  Public, so it needs no user; the read is audited like
        the register list's, as the acting user or klagomal."""
        return self._records.published(limit, offset, department)

    def published_case(self, reference: str) -> PublishedCase | None:
        """The case as the public list shows it, or ``None`` when it is not
        published (or no longer may be).  Public, like :meth:`published`."""
        return self._records.published_case(reference)

    def person_export(self, query: PersonQuery) -> dict[str, Any]:
        """Everything klagomal holds on one person (GDPR article 15), as a
        JSON-ready object: every case with its contact, steps and texts, the
        notices and where they went, the e-mails received, and what was
        disposed of (:mod:`klagomal.records.gdpr`).  A förvaltning's administrator
        gets the cases of their förvaltningar; the system owner all."""
        return self._records.person_export(query)

    def anonymise_person(self, query: PersonQuery, decision: str) -> list[disposal.Applied]:
        """Anonymise one person in every case the acting user may handle
        their data in, keeping the statistics: the contact and every text are
        replaced, and kinds, dimensions, units, dates and steps stay, so
        reports do not change (GDPR article 17, R27).

        *decision* names the decision on the request and its legal ground;
        a complaint is an allmän handling, so archive law comes first: a
        case that a ``bevara`` rule keeps is refused, and nothing is done.
        Irreversible."""
        return self._records.anonymise_person(query, decision)

    def run_disposal(self, *, dry_run: bool = False) -> list[disposal.Planned]:
        """Dispose of what the kommun's disposal rules say is due today
        (gallring, ``klagomal gallra``): each case's disposal is logged with
        its rule, decision, user and day.  With *dry_run*, only list what
        would go.  Reports over past periods add up the same afterwards: only
        texts and contact details are replaced (:mod:`klagomal.records.disposal`)."""
        return self._records.run_disposal(dry_run)

    def disposals(self, reference: str) -> list[disposal.Disposal]:
        """What disposal and anonymisation removed from the case: when, under
        which rule and decision, and by whom (R27)."""
        return self._records.disposals(reference)

    def audit_verify(self, anchors: Iterable[tuple[int, str]] = ()) -> audit.AuditVerification:
        """Check the audit log's hash chain (``klagomal audit verify``),
        and that each of *anchors*, ``(id, hash)`` noted at an earlier check
        (:attr:`~klagomal.records.audit.AuditVerification.anchor`), still holds.
        What it finds is returned, never raised."""
        return self._records.audit_verify(anchors)

    def audit_log(
        self, *, reference: str | None = None, user_id: str | None = None, limit: int | None = None
    ) -> list[audit.StoredAuditEntry]:
        """The audit log's entries, oldest first: of one case, of one user,
        or the latest *limit*."""
        return self._records.audit_log(reference, user_id, limit)

    # -- the HTTP API's keys -------------------------------------------------

    def create_api_key(self, user_id: str, name: str) -> tuple[ApiKey, str]:
        """A new key of the HTTP API for the system *name*, acting as
        *user_id*, a user of the organisation file; return it and the key
        itself, which is stored only as its hash and cannot be shown again
        (``klagomal apikey create``).  Only the system owner may."""
        actor = self._allowed(Operation.ADMINISTER)
        name = name.strip()
        if not name or len(name) > 200 or any(c in name for c in "\r\n\t"):
            raise InvalidInputError(_("namnet på systemet ska vara en rad med 1 till 200 tecken"))
        if user_id not in self.organisation.users:
            raise InvalidInputError(
                _("användaren '{user}' finns inte i organisationsfilen ([[anvandare]])").format(user=user_id)
            )
        key = new_api_key()

        def body(uow: UnitOfWork) -> ApiKey:
            stored = uow.add_api_key(key, name=name, user_id=user_id, at=audit_time(), by=actor.id)
            self._audit(
                uow, Operation.ADMINISTER, [None], f"API-nyckel {stored.id} skapad: {name}, {user_id}"
            )
            return stored

        return self._write(body), key

    def api_keys(self) -> list[ApiKey]:
        """Every key of the HTTP API, revoked ones too (``klagomal apikey
        list``); never the keys themselves.  Only the system owner may."""
        self._allowed(Operation.ADMINISTER)
        with self._snapshot() as uow:
            keys: list[ApiKey] = uow.api_keys()
        return keys

    def revoke_api_key(self, key_id: int) -> ApiKey:
        """Revoke key *key_id*: from now on a request with it is refused.
        Only the system owner may."""
        actor = self._allowed(Operation.ADMINISTER)

        def body(uow: UnitOfWork) -> ApiKey:
            found = uow.api_key(key_id)
            if found is None:
                raise InvalidInputError(_("det finns ingen API-nyckel med id {id}").format(id=key_id))
            if not found.active:
                raise InvalidInputError(_("API-nyckel {id} är redan återkallad").format(id=key_id))
            uow.revoke_api_key(key_id, at=audit_time(), by=actor.id)
            self._audit(uow, Operation.ADMINISTER, [None], f"API-nyckel {key_id} återkallad: {found.name}")
            revoked = uow.api_key(key_id)
            assert revoked is not None
            return revoked

        return self._write(body)

    def api_key_user(self, key: str) -> str | None:
        """The id of the user an active API key acts as, or ``None`` for a
        key that is unknown or revoked: how the HTTP API learns who is
        calling (then :meth:`as_user`).  Needs no user: it is the log-in."""
        with self._snapshot() as uow:
            found: ApiKey | None = uow.api_key_by_key(key)
        return found.user_id if found is not None and found.active else None

    def idempotent_request(self, scope: str, key: str, request: str) -> IdempotentRequest:
        """For a face that takes retries (the HTTP API's ``Idempotency-Key``):
        the request *request* (a hash of what is asked) under *key* of the
        caller *scope* (a hash of its credential), for the acting user.  Its
        answers are the acting user's alone (the scope is bound to the
        user), so a request without a user is refused (:class:`NoUserError`).
        See :class:`IdempotentRequest`."""
        user = self._allowed_identity()
        bound = hashlib.sha256(f"{user.id}\0{scope}".encode()).hexdigest()
        return IdempotentRequest(self, IdempotencyClaim(bound, key, request))

    # -- the phrase library (R23) ---------------------------------------------

    def phrases(
        self,
        department: str | None = None,
        *,
        purpose: Purpose | str | None = None,
        include_retired: bool = False,
    ) -> list[Phrase]:
        """The phrase library (R23): a förvaltning's ready wordings for its
        letters, a thanks, an apology, a common answer
        (:mod:`klagomal.notices.phrases`), sorted by förvaltning, purpose
        (:class:`~klagomal.core.phrases.Purpose`, in its order) and title.

        :param department: a förvaltning's id in the organisation file;
            ``None``: every förvaltning the acting user handles cases in.
        :param purpose: only the phrases for this purpose (``"tack"``, ...).
        :param include_retired: also the phrases taken out of use.
        :raises AccessDeniedError: for a user who handles no case in
            *department* (a ``lasare``, a handler of another förvaltning).
        :raises InvalidInputError: an unknown förvaltning or purpose.

        Anyone who handles cases in a förvaltning may read its phrases: a
        handläggare or a chef for the förvaltningar of their units, a
        förvaltningsadmin for their own, the systemägare for all."""
        return self._phrase_library.phrases(department, purpose, include_retired)

    def phrase(self, phrase_id: int) -> Phrase:
        """Phrase *phrase_id*, retired or not (what a page that edits one
        shows first), for a user who may read its förvaltning's phrases
        (as :meth:`phrases`); an unknown id is :class:`InvalidInputError`."""
        return self._phrase_library.phrase(phrase_id)

    def save_phrase(
        self,
        department: str,
        purpose: Purpose | str,
        title: str,
        text: str,
        *,
        phrase_id: int | None = None,
    ) -> Phrase:
        """Write a new phrase to *department*'s library, or, with
        *phrase_id*, change that phrase (which may move it to another
        förvaltning the user administers); return it as stored.

        *title* is one line of 1 to 120 characters, *text* 1 to 5,000 with
        line breaks; both are stripped of surrounding white space, and
        neither may hold control characters (:mod:`klagomal.core.text_rules`).
        Only the förvaltningsadmin of the phrase's förvaltning (old and new)
        or the systemägare may (``fraser``); anyone else gets
        :class:`AccessDeniedError`, bad input :class:`InvalidInputError`
        naming the step and the reason, and either way nothing is written.
        The write is audited."""
        return self._phrase_library.save_phrase(department, purpose, title, text, phrase_id)

    def retire_phrase(self, phrase_id: int) -> Phrase:
        """Take phrase *phrase_id* out of use: from now on it is left out of
        :meth:`phrases` (unless ``include_retired``), and it can no longer
        be changed.  Nothing is deleted.  Same access as :meth:`save_phrase`;
        retiring a retired phrase is refused.  Audited."""
        return self._phrase_library.retire_phrase(phrase_id)

    # -- letters -----------------------------------------------------------

    def letter(self, reference: str, seq: int | None = None) -> Letter:
        """The letter owed to the person because of event *seq* (default: the
        latest event that owes one), in the wording of the case's förvaltning
        (``klagomal_template_dirs``)."""
        return self._notices.letter(reference, seq)

    # -- "Följ ditt ärende": the person's private link -------------------------

    def follow_link(self, reference: str) -> str:
        """A new private link's token for case *reference*, for the person to
        follow it with (:mod:`klagomal.cases.follow`): 43 random characters,
        given once; the database keeps only its SHA-256.  The page is
        ``<KLAGOMAL_PUBLIC_URL>/folj/<token>``
        (:func:`klagomal.cases.follow.follow_url`).  A case has one live
        link: the one it had stops working.  Needs the right to handle the
        case (or the system, as the web form's registration,
        :func:`klagomal.intake.webform.register_submission`); audited."""
        return self._follow.issue(reference)[0]

    def revoke_follow_link(self, reference: str) -> bool:
        """Make the live link of case *reference* stop working at once (the
        person asked, or it went astray); whether there was one.  Needs the
        right to handle the case; audited."""
        return self._follow.revoke(reference) > 0

    def follow(self, token: str) -> CaseForCitizen | None:
        """What the page of *token* shows the person
        (:class:`~klagomal.cases.follow.CaseForCitizen`): the state, the
        dates, who handles the case and the letters meant for them; never
        its text, notes, history or anything secret.  ``None`` for a token
        that is not a live link, with nothing that tells whether it ever
        was one.  Needs no user: the token is the person's; every call is
        written to the audit log as ``medborgare (följ-länk)`` (R27)."""
        return self._follow.follow(token)

    def add_information(self, token: str, text: str) -> InformationAdded | None:
        """Add what the person writes on the page of *token* to its case, as
        an e-mail reply from them would be (a ``message_received`` event,
        and a received message with source ``folj``); ``None`` when *token*
        is not a live link (nothing is written but the audit entry).
        *text* must be 1 to 10,000 characters without control characters,
        else :class:`~klagomal.core.errors.InvalidInputError` and nothing is
        written.  Needs no user; audited as ``medborgare (följ-länk)``."""
        return self._follow.add_information(token, text)

    def _receipt_link(self, reference: str) -> tuple[str, int | None]:
        """:meth:`follow_link`, and the kvittens to the person's e-mail
        address queued with it (its notice id); for the web form."""
        return self._follow.issue(reference, receipt=True)

    def _deliver_receipt(self, notice_id: int, link: str | None) -> DeliveryRun:
        """Deliver the kvittens *notice_id* now, with *link* in it."""
        return self._notices.deliver_receipt(notice_id, link)

    # -- the outbox -----------------------------------------------------------

    def _utcnow(self) -> dt.datetime:
        """Now, as the outbox stores times: naive UTC."""
        return self._ctx.utcnow()

    def outbox(self, *, reference: str | None = None, statuses: Sequence[str] | None = None) -> list[Notice]:
        """The notices in the outbox with their delivery state, oldest first:
        those of one case, or with one of *statuses* (see :mod:`klagomal.notices.outbox`).
        The whole outbox holds only the cases of the förvaltningar the
        acting user delivers for."""
        return self._notices.outbox(reference, statuses)

    def operations_counts(self) -> OperationsCounts:
        """The numbers operations watches (:mod:`klagomal.observe.metrics`,
        docs/web.md): notices in the outbox by status, deliveries that
        failed, messages in quarantine, and open cases past their deadline
        today at each förvaltning (every förvaltning of the organisation,
        0 for one without).

        Needs no user, as the public register list needs none to be read:
        these are numbers of the whole kommun, not one case's or one
        person's, with no text, name or reference in them, so there is
        nothing a role could be allowed to see of them and nothing for the
        audit log (R27), which records who read personal data.  A
        monitoring system has no user of the organisation file either; who
        may read the numbers is decided where they are served (``/metrics``
        answers only the same machine, or the holder of
        ``KLAGOMAL_METRICS_TOKEN``).  Each count is read through an index
        (:mod:`klagomal.storage.sql.ops`)."""
        with self._snapshot() as uow:
            counts: OperationsCounts = uow.operations_counts(self.clock.today())
        overdue = dict.fromkeys(self.organisation.departments, 0)
        overdue.update(counts.overdue)
        return attrs.evolve(counts, overdue=overdue)

    def open_notices(self, references: Sequence[str]) -> dict[str, list[Notice]]:
        """The notices of these cases that need a person's attention: failed,
        uncertain, waiting for a retry after a failure, or a task for the
        handler; by reference.  Only of the cases the acting user may read."""
        return self._notices.open_notices(references)

    def deliver(
        self,
        *,
        reference: str | None = None,
        ids: Sequence[int] | None = None,
        limit: int | None = None,
    ) -> DeliveryRun:
        """Deliver the notices waiting in the outbox: those due now, of one
        case, with these ids, or at most *limit* of them.  Meant to run often
        (every few minutes from cron) unless ``[utskick] leverans = "direkt"``
        delivers each step's notices at once.

        Each notice is sent at most once.  Its attempt is recorded
        (``sending``) and committed before the notifier is called, and the
        outcome after; a run that stopped in between leaves it ``sending``,
        and the next run marks it ``uncertain`` instead of sending it again.
        A notice that failed for a passing reason is retried with backoff
        (:func:`klagomal.notices.outbox.retry_delay`) up to ``[utskick]
        max_forsok`` attempts; one that cannot succeed until something is
        changed is ``failed`` at once.  Every error names the notice, the
        case and the reason.  A task for the handler is never delivered.
        """
        return self._notices.deliver(reference, ids, limit)

    def requeue(
        self, ids: Sequence[int] | None = None, *, statuses: Sequence[str] = ("failed",)
    ) -> list[Notice]:
        """Queue notices again for :meth:`deliver`: those with these *ids*, or
        every notice with one of *statuses*.  Only ``failed`` and
        ``uncertain`` notices can be queued again; a person should check that
        an uncertain one did not arrive first.  Their attempts start over."""
        return self._notices.requeue(ids, statuses)

    def complete_task(self, notice_id: int) -> Notice:
        """Record that the handler has carried out a task (phoned the person,
        or told them at a visit)."""
        return self._notices.complete_task(notice_id)

    @property
    def webhooks(self) -> WebhookService:
        """Webhook subscriptions and their delivery (:mod:`klagomal.notices.webhooks`):
        ``subscribe``, ``subscriptions``, ``unsubscribe``, ``deliver``,
        ``deliveries`` and ``requeue``, acting as this instance's user."""
        from klagomal.notices.webhook_service import WebhookService

        return WebhookService(self._ctx)

    def rebuild(self, reference: str) -> Case:
        """The case replayed from its events alone, ignoring the stored projection."""
        return self._cases.rebuild(reference)

    # -- export and import -----------------------------------------------

    def export(self, *, include_protected: bool = False, include_secrets: bool = False) -> dict[str, Any]:
        """The whole database as one JSON-ready object.

        Events are the source of truth, so they are what is exported, with
        each notice's delivery status and the reference counters, so that
        numbering continues after import and nothing sent is sent again.
        For a large database, :meth:`export_to` writes the same JSON
        without holding it in memory.

        Skyddade personuppgifter are left out (the contact, the addresses
        notices went to, the person's e-mails) unless *include_protected*:
        for moving the database (R27).  Only the system owner may export.

        The webhook subscriptions and their deliveries are exported too; the
        subscriptions' signing secrets only with *include_secrets* (to move
        the database): one exported without its secret is imported removed
        (:mod:`klagomal.notices.webhook_transfer`).  API keys are not
        exported.
        """
        return self._records.export(include_protected, include_secrets)

    def export_to(
        self, stream: IO[str], *, include_protected: bool = False, include_secrets: bool = False
    ) -> int:
        """Write :meth:`export`'s JSON to *stream*, as ``json.dumps(...,
        ensure_ascii=False, indent=1)`` would, a few hundred cases at a
        time, so that memory stays bounded; return the number of cases.

        It reads one consistent snapshot of the database (see
        :meth:`~klagomal.storage.base.Storage.snapshot`), while handlers go
        on writing.
        """
        return self._records.export_to(stream, include_protected, include_secrets)

    def intake_cards(
        self,
        source: str | os.PathLike[str],
        *,
        rejects: str | os.PathLike[str] | None = None,
        actor: str | None = None,
    ) -> BulkImportResult:
        """Register scanned or typed reply cards (svarskort, R4) from a CSV
        file with Swedish headers (:data:`klagomal.intake.cards.COLUMNS`).

        A row with an error is written to *rejects* with its line number and
        reason, and the valid rows are registered.  Each card is identified by
        its ``kort`` column, or by its content when there is none, so running
        the same file again registers nothing twice.
        """
        return self._importing.cards(source, rejects, actor)

    def import_(self, data: dict[str, Any]) -> int:
        """Load an :meth:`export` into this database, all or nothing.

        Every case is replayed from its events and checked against this
        instance's channels, dimensions and organisation before anything is
        written.  Returns the number of cases imported.

        Exports of every version in
        :data:`~klagomal.core.serialization.EXPORT_VERSIONS` are read; a
        newer version (a newer klagomal's, with parts this one would skip)
        is refused, and nothing is written.
        """
        return self._importing.import_(data, Operation.IMPORT)

    def import_cases(
        self,
        source: str | os.PathLike[str],
        *,
        format: str | None = None,
        batch_size: int = 1000,
        rejects: str | os.PathLike[str] | None = None,
        progress: Callable[[int, int], None] | None = None,
        actor: str | None = None,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        columns: Collection[str] = bulk.FIELDS,
        _operation: Operation = Operation.IMPORT,
    ) -> BulkImportResult:
        """Bulk-import cases from another system (:mod:`klagomal.intake.bulk`).

        *source* is a JSON Lines or CSV file (by its ending, or *format*).
        It is read a batch of *batch_size* rows at a time, one transaction
        per batch, so memory stays constant and a crash loses at most the
        batch in flight.  Rows whose ``external_id`` is stored already are
        skipped: running the same file again, or after a crash, stores
        nothing twice.  Rows the lifecycle refuses are written to *rejects*
        (default: ``<source>.rejected.jsonl``) with their line and reason.

        :param progress: called after each batch with the bytes read so far
            and the size of the file.
        :param transform: turns each row's fields into the import's own
            fields first (as :meth:`intake_cards` does for reply cards).
        """
        return self._importing.import_cases(
            source,
            format=format,
            batch_size=batch_size,
            rejects=rejects,
            progress=progress,
            actor=actor,
            transform=transform,
            columns=columns,
            operation=_operation,
        )

    # -- the worker's jobs (klagomal.worker) -------------------------------
    #
    # Leases and runs hold no case data and no personal data: they need no
    # permission of their own.  What a job does is checked as its work is
    # done (delivering, reminding, registering mail, gallring), as the user
    # the worker acts as.

    def take_job_lease(self, job: str, holder: str, seconds: float) -> bool:
        """Make *holder* (one worker) the leader of *job* for *seconds* from
        now, if no other worker leads it or its lease has run out; return
        whether *holder* leads it.  Called again before the lease runs out,
        it renews it.  A job unknown to the database is added first."""
        from sqlalchemy.exc import IntegrityError

        now = dt.datetime.now(dt.UTC)  # the real time, never a business date (``--today``)
        until = now + dt.timedelta(seconds=seconds)
        with contextlib.suppress(IntegrityError):  # another worker added it at the same moment
            self._write(lambda uow: uow.ensure_job(job))
        return self._write(lambda uow: uow.take_job_lease(job, holder, now, until))

    def release_job_leases(self, holder: str) -> int:
        """Give up every job *holder* leads, so another worker takes them at
        once (a worker that stops); return how many."""
        return self._write(lambda uow: uow.release_job_leases(holder))

    def start_job_run(self, job: str, holder: str, day: dt.date) -> int:
        """Record that *holder* starts a run of *job* for the local *day*;
        return the run's id for :meth:`finish_job_run`."""
        now = dt.datetime.now(dt.UTC)
        return self._write(lambda uow: uow.start_job_run(job, holder, day, now))

    def finish_job_run(self, run_id: int, outcome: str, detail: str | None = None) -> None:
        """Record how a run ended: one of :data:`klagomal.core.jobs.OUTCOMES`."""
        from klagomal.core.jobs import OUTCOMES

        if outcome not in OUTCOMES:
            raise InvalidInputError(
                _("okänt utfall '{outcome}' (kända: {known})").format(
                    outcome=outcome, known=", ".join(OUTCOMES)
                ),
                step="worker",
            )
        now = dt.datetime.now(dt.UTC)
        self._write(lambda uow: uow.finish_job_run(run_id, outcome, detail, now))

    def prune_job_runs(self, days: int = 30) -> int:
        """Forget the runs of jobs that started more than *days* days ago (an
        outbox sent every minute makes half a million a year); return how
        many.  The worker does it once a day."""
        before = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
        return self._write(lambda uow: uow.prune_job_runs(before))

    def job_runs(
        self,
        job: str | None = None,
        *,
        day: dt.date | None = None,
        outcomes: Sequence[str] | None = None,
        limit: int | None = 50,
    ) -> list[JobRun]:
        """The jobs' runs, newest first: of *job*, for the local *day*, with
        one of *outcomes*, at most *limit*."""
        with self._ctx.transaction() as uow:
            found: list[JobRun] = uow.job_runs(job=job, day=day, outcomes=outcomes, limit=limit)
            return found

    def job_status(self) -> list[JobStatus]:
        """Each job's leader, last run and last successful run, in the
        order of :data:`klagomal.core.jobs.JOBS` (then any other job a
        plugin's worker recorded)."""
        from klagomal.core.jobs import JOBS, JobStatus

        with self._ctx.transaction() as uow:
            leases = {lease.job: lease for lease in uow.job_leases()}
            names = list(JOBS) + sorted(set(leases) - set(JOBS))
            status = []
            for job in names:
                last = uow.job_runs(job=job, limit=1)
                success = uow.job_runs(job=job, outcomes=("ok",), limit=1)
                status.append(
                    JobStatus(
                        job=job,
                        lease=leases.get(job),
                        last_run=last[0] if last else None,
                        last_success=success[0] if success else None,
                    )
                )
            return status


class IdempotentRequest:
    """One request of a face that takes retries, by its key
    (:meth:`Klagomal.idempotent_request`; :mod:`klagomal.web.idempotency`).

    :meth:`found` is what the key holds: an answer to send again, or the
    outcome (the case and its version, or a webhook subscription) of a
    request whose worker stopped after its write and before its answer, to
    rebuild the answer from (:meth:`written`, :meth:`attachment`,
    :meth:`subscription`).  Within :meth:`running`, the facade's first case
    write or webhook subscription records its outcome in its own
    transaction; a second request with the key that writes meanwhile is
    rolled back with :class:`IdempotencyKeyTaken`.  :meth:`keep` stores the
    answer; the first answer stored stays."""

    def __init__(self, k: Klagomal, claim: IdempotencyClaim) -> None:
        self._k = k
        self._claim = claim

    @property
    def request(self) -> str:
        return self._claim.request

    @property
    def recorded(self) -> bool:
        """Whether this request's write committed with its outcome."""
        return self._claim.done

    def found(self) -> StoredAnswer | None:
        claim = self._claim
        with self._k._snapshot() as uow:
            found: StoredAnswer | None = uow.idempotent_answer(claim.scope, claim.key, audit_time())
        return found

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Let the facade's writes meanwhile record their outcome under the key."""
        k = self._k
        before = k._ctx
        k._bind(attrs.evolve(before, idempotency=self._claim))
        try:
            yield
        finally:
            k._bind(before)

    def written(self, outcome: Outcome) -> Case:
        """The case as this request's write left it (its events up to the
        outcome's version), as the acting user may see it: what the
        request's own answer showed, to make it again.  The key's row shows
        that the acting user wrote that version (its scope is bound to the
        user), so it needs no read access to the case, as the answer did
        not; the read is audited."""
        ctx = self._k._ctx
        with ctx.transaction() as uow:
            events = [e for e in uow.history(outcome.reference) if e.seq <= outcome.version]
            if not events:
                raise CaseNotFoundError(outcome.reference)
            case = lifecycle.replay(events)
            ctx.audit(
                uow, Operation.READ, [outcome.reference], f"svar på upprepad begäran ({outcome.version})"
            )
        return ctx.shown(case)

    def attachment(self, outcome: Outcome) -> int | None:
        """The id of the attachment this request's write stored, when it was
        an attach step: the document stored under the step's key
        (:func:`klagomal.cases.amendments.document_key`, named by the event
        at the outcome's version), not the case's newest attachment, which
        may be another upload's since."""
        with self._k._ctx.transaction() as uow:
            events = [e for e in uow.history(outcome.reference) if e.seq == outcome.version]
            if not events or not isinstance(events[0].data, AttachmentAdded):
                return None
            found: list[int] = uow.attachments_stored_under(events[0].data.message)
        return found[0] if found else None

    def subscription(self, outcome: SubscriptionOutcome) -> Subscription:
        """The webhook subscription this request made, as it is now, to
        make its answer again.  Its signing secret, which the first answer
        showed, is read from the subscription (where signing needs it; the
        key's row never holds it) and given while the subscription is
        active; a removed one is given without it.  Needs ``administrera``
        now, as subscribing did; audited, since the secret is shown again."""
        ctx = self._k._ctx
        ctx.allowed(Operation.ADMINISTER)
        with ctx.transaction() as uow:  # a WebhookStore (klagomal.notices.webhooks.WebhookStorage)
            found: list[Subscription] = uow.subscriptions(ids=[outcome.subscription], removed=True)
            if not found:
                raise InvalidInputError(
                    _("det finns ingen webhook {id} (se klagomal webhook list)").format(
                        id=outcome.subscription
                    )
                )
            ctx.audit(
                uow, Operation.ADMINISTER, [None], f"webhook {outcome.subscription}: svar på upprepad begäran"
            )
        (subscription,) = found
        return subscription if subscription.removed_at is None else attrs.evolve(subscription, secret="")

    def keep(self, status: int, headers: str, body: bytes, *, rebuilt: bool = False) -> StoredAnswer | None:
        """Keep the answer: ``None`` when it is now the key's, else what the
        key holds (another request's answer, sent instead).  *rebuilt*: an
        answer made from the outcome :meth:`found` gave."""
        claim = self._claim
        on_outcome = rebuilt or claim.done
        answer = (status, headers, body)
        return self._k._write(
            lambda uow: uow.store_idempotent_answer(
                claim.scope, claim.key, claim.request, answer, audit_time(), on_outcome=on_outcome
            )
        )


def _checked_policy(policy: object, plugin: str, department: str) -> DeadlinePolicy:
    """*policy*, if it is a :class:`DeadlinePolicy`; else a configuration error."""
    if not isinstance(policy, DeadlinePolicy):
        raise ConfigurationError(
            _("{plugin} gav {value!r} som tidsfristpolicy för '{department}', inte en DeadlinePolicy").format(
                plugin=plugin, value=policy, department=department
            )
        )
    return policy

"""What every capability's service shares: :class:`Context`.

:class:`~klagomal.app.Klagomal` builds one context from its organisation,
clock, plugins and storage, and hands it to each capability's service
(:mod:`klagomal.cases.service`, :mod:`klagomal.notices.service`,
:mod:`klagomal.records.service`, :mod:`klagomal.reports.service`,
:mod:`klagomal.intake.importing`).  A copy of the facade that acts as
another user or waits another time for locks gets a copy of the context
with just that changed: the rest (the storage, the plugins) is shared.

Besides what it holds, the context is the one place where the acting
user's access is checked, a denial or an allowed operation is written to
the audit log (R27), a case is shown as the acting user may see it, and a
unit of work is opened and retried.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from klagomal.cases import lifecycle
from klagomal.core.errors import (
    AccessDeniedError,
    CaseNotFoundError,
    ConfigurationError,
    InvalidInputError,
    KlagomalError,
    NoUserError,
    SchemaError,
    TransientStorageError,
)
from klagomal.core.i18n import _
from klagomal.records import audit
from klagomal.records.access import SYSTEM_USER, AccessPolicy, Operation, Role, User
from klagomal.records.redaction import Redaction

if TYPE_CHECKING:  # pragma: no cover
    import cattrs

    from klagomal.app import Klagomal
    from klagomal.core.clock import Clock
    from klagomal.core.events import Event
    from klagomal.core.model import Case
    from klagomal.core.organisation import Organisation
    from klagomal.deadlines.policies import Deadlines
    from klagomal.hooks.decisions import Decisions
    from klagomal.hooks.manager import PluginManager, Registry
    from klagomal.notices.letters import Letters
    from klagomal.records.disposal import DisposalRule
    from klagomal.storage.base import Storage, UnitOfWork

__all__ = ["Context", "audit_time", "identify", "lock_wait_seconds", "naming"]

log = logging.getLogger("klagomal.app")

T = TypeVar("T")

#: How often a write transaction is tried at most when the database breaks
#: it off for a passing reason (deadlock, serialization failure), within
#: the instance's ``lock_wait``.
WRITE_ATTEMPTS = 8

#: The room for references in one audit entry of a list read.
LIST_DETAIL = 3800


def lock_wait_seconds(seconds: float) -> float:
    """*seconds* as a lock wait, or :class:`ConfigurationError`."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds < math.inf:
        raise ConfigurationError(
            _("lock_wait ska vara ett positivt antal sekunder, till exempel 5, inte {value!r}").format(
                value=seconds
            )
        )
    return float(seconds)


@attrs.define(eq=False)
class IdempotencyClaim:
    """A request of a face that takes retries (the HTTP API's
    ``Idempotency-Key``), while it runs: the first case write (or webhook
    subscription) it commits records its outcome under the key in the same
    transaction
    (:mod:`klagomal.storage.sql.idempotency`).  Shared by the copies of the
    facade the request makes (``_internal``), so that only its first write
    is recorded."""

    scope: str
    key: str
    request: str
    #: The unit of work that recorded the outcome, until it commits.
    uow: object | None = None
    #: Whether the outcome is committed.
    done: bool = False
    #: The case of the outcome.
    reference: str | None = None

    def record(self, uow: UnitOfWork, case: Case) -> None:
        """Record *case* as the outcome, in *uow*; a later event of the
        same transaction (a registration resolved at once) replaces it."""
        if self.done or (self.uow is uow and case.reference != self.reference):
            return
        from klagomal.storage.sql.idempotency import Outcome

        outcome = Outcome(case.reference, case.version)
        uow.record_idempotent_outcome(
            self.scope, self.key, self.request, outcome, audit_time(), again=self.uow is uow
        )
        self.uow, self.reference = uow, case.reference

    def record_subscription(self, uow: UnitOfWork, subscription_id: int) -> None:
        """Record a webhook subscription, which writes no case event, as the
        outcome, in *uow*, the transaction that stored it."""
        if self.done or self.uow is uow:
            return
        from klagomal.storage.sql.idempotency import SubscriptionOutcome

        outcome = SubscriptionOutcome(subscription_id)
        uow.record_idempotent_outcome(self.scope, self.key, self.request, outcome, audit_time())
        self.uow = uow

    def committed(self, uow: object) -> None:
        if self.uow is not None and self.uow is uow:
            self.done = True


def audit_time() -> dt.datetime:
    """When an audit entry is written: the machine's real time, never the
    business clock, which a handler may set (``--today``)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@contextlib.contextmanager
def naming(step: str, reference: str | None) -> Iterator[None]:
    """Let an error from a lower layer (the calendar, a policy) name the step
    and the case it happened in."""
    try:
        yield
    except InvalidInputError as exc:
        named = exc.in_context(step=step, reference=reference)
        if named is exc:
            raise
        raise named from exc


def denial_not_written(error: Exception) -> None:
    """Say that a denial could not be written to the audit log.  A
    database with no schema yet (not initialised, a mistyped ``--db``) has
    no audit log to write to, and the error that follows says so: that is
    only for the application's log.  Any other failure loses a record the
    law asks for, so it is a warning, in Swedish, since the command line
    shows warnings to the member of staff."""
    if isinstance(error, SchemaError):
        log.info("klagomal: no audit log to write the denial to: %s", error)
    else:
        log.warning(_("klagomal: nekandet kunde inte skrivas i granskningsloggen: %s"), error)


def identify(
    plugin_manager: PluginManager, organisation: Organisation, user: User | str | None
) -> tuple[User | None, AccessDeniedError | None]:
    """Who *user* is (a login name through the ``klagomal_identify`` hook),
    or why they cannot act: the denial every operation then raises."""
    if user is None or isinstance(user, User):
        return user, None
    found = plugin_manager.hook.klagomal_identify(user_id=user, organisation=organisation)
    if found is None:
        reason = _("okänd användare '{user}'; lägg till den under [[anvandare]] i organisationsfilen").format(
            user=user
        )
        return None, AccessDeniedError(None, None, reason)
    if not isinstance(found, User) or not isinstance(found.role, Role):
        reason = _("användaren '{user}' har en okänd roll '{role}' (roller: {roles})").format(
            user=user, role=getattr(found, "role", None), roles=", ".join(r.value for r in Role)
        )
        return None, AccessDeniedError(None, None, reason)
    return found, None


@attrs.define(eq=False)
class SchemaCheck:
    """Whether the storage's schema was checked: shared by every copy."""

    checked: bool = False


@attrs.define(eq=False, repr=False)
class Context:
    """The organisation, clock, plugins and storage every service works
    with, and the acting user and lock wait of one facade (copy)."""

    #: The facade acting with this context: what a plugin's hook is given.
    klagomal: Klagomal
    organisation: Organisation
    clock: Clock
    plugin_manager: PluginManager
    registry: Registry
    deadlines: Deadlines
    decisions: Decisions
    letters: Letters
    converter: cattrs.Converter
    storage: Storage
    access: AccessPolicy
    lock_wait: float
    #: Whether the storage's units of work take ``lock_wait`` (a plugin's
    #: backend written before it existed does not).
    storage_waits: bool
    user: User | None = None
    identity_error: AccessDeniedError | None = None
    disposal_rules: tuple[DisposalRule, ...] = ()
    schema: SchemaCheck = attrs.field(factory=SchemaCheck)
    #: The retried request this context's writes belong to, if any.
    idempotency: IdempotencyClaim | None = None

    # -- access ------------------------------------------------------------

    def check(self, operation: Operation, case: Case | None = None) -> User:
        """The acting user, if they may do *operation* (on *case*); else
        :class:`AccessDeniedError`.  Inside a transaction, raise it out
        through :meth:`denials`, which records it once the transaction is
        rolled back."""
        if self.identity_error is not None:
            raise AccessDeniedError(operation, case.reference if case else None, self.identity_error.reason)
        return self.access.check(self.user, operation, case)

    @contextlib.contextmanager
    def denials(self, operation: Operation) -> Iterator[None]:
        """Log a denial raised inside and write it to the audit log."""
        try:
            yield
        except AccessDeniedError as exc:
            self.record_denial(exc, operation)
            raise

    @contextlib.contextmanager
    def refusals(self, operation: Operation, kind: type[KlagomalError]) -> Iterator[None]:
        """Write a refusal of the kind *kind* (bad personal data) to the
        audit log as a refused attempt, then let it go on."""
        try:
            yield
        except KlagomalError as exc:
            if isinstance(exc, kind):
                reason = getattr(exc, "reason", str(exc))
                self.record_denial(AccessDeniedError(operation, None, reason), operation)
            raise

    def allowed(self, operation: Operation, case: Case | None = None) -> User:
        """The acting user, if they may do *operation* (on *case*); else the
        denial is logged, written to the audit log, and raised."""
        with self.denials(operation):
            return self.check(operation, case)

    def allowed_units(self, operation: Operation, units: Sequence[str]) -> User:
        """The acting user, if they may do *operation* for all of *units*
        (the whole kommun when empty)."""
        try:
            if self.identity_error is not None:
                raise AccessDeniedError(operation, None, self.identity_error.reason)
            return self.access.check_units(self.user, operation, units)
        except AccessDeniedError as exc:
            self.record_denial(exc, operation)
            raise

    def allowed_identity(self) -> User:
        """The acting user, or the denial that there is none (``whoami``)."""
        if self.identity_error is not None or self.user is None:
            exc = self.identity_error or NoUserError(
                None, None, _("ingen användare är angiven; ange en med --user eller KLAGOMAL_USER")
            )
            self.record_denial(exc, None)
            raise exc
        return self.user

    def may_read(self, case: Case) -> bool:
        return self.user is not None and self.access.scope(self.user).covers(case)

    def delivery_departments(self, user: User) -> list[str] | None:
        """The förvaltningar whose outbox and reminders *user* works with:
        every one (``None``) for the system owner, else their own."""
        scope = self.access.scope(user)
        return None if scope.everything else sorted(scope.departments)

    # -- the audit log -------------------------------------------------------

    def record_denial(self, exc: AccessDeniedError, operation: Operation | None) -> None:
        # The denial is written in a transaction of its own: the operation's
        # own is rolled back.  A database that cannot take it (not yet
        # initialised, down) must not hide the denial itself.
        user = self.user
        # The audit log is the record; this line is for the application's log.
        log.info("klagomal: %s", exc)
        entry = audit.AuditEntry(
            user_id=user.id if user else "-",
            role=user.role.value if user else "-",
            action=operation.value if operation else "-",
            outcome=audit.DENIED,
            reference=exc.reference[:20] if exc.reference else None,
            detail=exc.reason[:500],
            at=audit_time(),
        )
        try:
            with self.transaction() as uow:
                audit.append(uow.conn, [entry])
        except Exception as error:
            denial_not_written(error)

    def audit(
        self, uow: Any, operation: Operation, references: Iterable[str | None], detail: str = ""
    ) -> None:
        """Write that the acting user did *operation* on each case in
        *references* (``None``: no case), in *uow*'s transaction."""
        self.append_audit(uow, operation, [(reference, detail) for reference in references])

    def audit_list(self, uow: Any, operation: Operation, references: Sequence[str], what: str) -> None:
        """Write that the acting user read the cases *references* in one
        list: one entry naming them all (a few, for a long list), not one
        per case.  An entry per case made a worklist of 283 cases on
        PostgreSQL miss its 20 ms (docs/performance.md); the log of a case
        still finds it (:func:`klagomal.records.audit.entries`)."""
        if len(references) == 1:
            self.audit(uow, operation, references, what)
            return
        chunks: list[list[str]] = [[]]
        size = 0
        for reference in references:
            if size + len(reference) + 1 > LIST_DETAIL:
                chunks.append([])
                size = 0
            chunks[-1].append(reference)
            size += len(reference) + 1
        head = f"{what} ({len(references)}): "
        self.append_audit(uow, operation, [(None, head + " ".join(chunk)) for chunk in chunks if chunk])

    def append_audit(self, uow: Any, operation: Operation, entries: Sequence[tuple[str | None, str]]) -> None:
        """Append allowed entries ``(reference, detail)`` for the acting user."""
        if not entries:
            return
        user = self.user or SYSTEM_USER
        at = audit_time()
        audit.append(
            uow.conn,
            [
                audit.AuditEntry(
                    user_id=user.id,
                    role=user.role.value,
                    action=operation.value,
                    outcome=audit.ALLOWED,
                    reference=reference,
                    detail=detail,
                    at=at,
                )
                for reference, detail in entries
            ],
        )

    # -- what the acting user sees ---------------------------------------------

    def redaction(self, case: Case) -> Redaction:
        """What the acting user may see of *case* (:mod:`klagomal.records.redaction`):
        the one decision every read path applies."""
        return Redaction.for_reader(case, sees_protected=self.access.sees_protected(self.user, case))

    def shown(self, case: Case) -> Case:
        """*case* as the acting user may see it (:meth:`redaction`)."""
        return self.redaction(case).case(case)

    def shown_events(self, case: Case, events: list[Event]) -> list[Event]:
        """*events* as the acting user may see them (:meth:`redaction`)."""
        return self.redaction(case).events(events)

    @contextlib.contextmanager
    def reading(
        self, reference: str, what: str, load: Callable[[Any], Case] | None = None
    ) -> Iterator[tuple[Any, Case]]:
        """A transaction in which the acting user reads case *reference*:
        access checked (a denial recorded) and the read audited (R27).
        Yields the unit of work and the case, read by *load* (default: the
        stored projection), so that the caller need not read it again."""
        self.allowed(Operation.READ)
        with self.denials(Operation.READ), self.transaction() as uow:
            case = load(uow) if load is not None else uow.get(reference)
            self.check(Operation.READ, case)
            self.audit(uow, Operation.READ, [reference], what)
            yield uow, case

    @staticmethod
    def replayed(reference: str, events: list[Event]) -> Callable[[Any], Case]:
        """A *load* for :meth:`reading` that reads the case's events into
        *events* and replays them: one query instead of two more."""

        def load(uow: Any) -> Case:
            events.extend(uow.history(reference))
            if not events:
                raise CaseNotFoundError(reference)
            return lifecycle.replay(events)

        return load

    # -- time -----------------------------------------------------------------

    def lifecycle(self) -> lifecycle.Context:
        """What the lifecycle decides a step with: today and the rules."""
        return lifecycle.Context(
            today=self.clock.today(),
            organisation=self.organisation,
            channels=self.registry.channels,
            dimensions=self.registry.dimensions,
            deadlines=self.deadlines,
        )

    def utcnow(self) -> dt.datetime:
        """Now, as the outbox stores times: naive UTC."""
        return self.clock.now().astimezone(dt.UTC).replace(tzinfo=None)

    # -- units of work -----------------------------------------------------------

    def transaction(self, lock_wait: float | None = None) -> Any:
        """A unit of work that waits at most *lock_wait* seconds (default:
        the instance's) for a lock."""
        self.check_schema()
        if not self.storage_waits:
            return self.storage.transaction()
        return self.storage.transaction(lock_wait=self.lock_wait if lock_wait is None else lock_wait)

    def snapshot(self) -> Any:
        self.check_schema()
        if not self.storage_waits:
            return self.storage.snapshot()
        return self.storage.snapshot(lock_wait=self.lock_wait)

    def check_schema(self) -> None:
        if not self.schema.checked:
            self.storage.check_schema()
            self.schema.checked = True

    def write(self, body: Callable[[UnitOfWork], T]) -> T:
        """Run *body* in one write transaction, again if the database broke
        it off for a passing reason (a deadlock, a serialization failure, a
        lock that was not given up in time): the whole transaction was
        rolled back, so running it again is safe.

        All the tries together wait at most the instance's ``lock_wait``:
        each try may wait for a lock only as long as is left of it, and none
        starts once it is used up.  Then, or after a few tries, it gives up
        with :class:`TransientStorageError`."""
        deadline = time.monotonic() + self.lock_wait
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self.transaction(deadline - time.monotonic()) as uow:
                    result = body(uow)
                if self.idempotency is not None:
                    self.idempotency.committed(uow)
                return result
            except TransientStorageError:
                left = deadline - time.monotonic()
                if attempt == WRITE_ATTEMPTS - 1 or left <= 0:
                    raise
                # Jitter, so that the transactions that collided do not collide again.
                time.sleep(min(random.uniform(0, 0.02 * 2**attempt), left))
        raise AssertionError("unreachable")  # pragma: no cover

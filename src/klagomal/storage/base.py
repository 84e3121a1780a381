"""The storage interface that the service layer talks to.

The shape follows the repository and unit-of-work patterns: a command opens
one unit of work, reads the case, appends one event together with the new
projection, and either all of it is committed or none of it.
"""

from __future__ import annotations

import datetime as dt
import inspect
import pathlib
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from klagomal.core.errors import ConfigurationError
from klagomal.core.i18n import _

if TYPE_CHECKING:  # pragma: no cover
    from cattrs import Converter
    from sqlalchemy.engine import Engine

    from klagomal.core.events import Event
    from klagomal.core.jobs import JobLease, JobRun
    from klagomal.core.model import Case, CaseState
    from klagomal.core.person_keys import PersonKeys
    from klagomal.core.phrases import Phrase, Purpose
    from klagomal.intake.bulk import ImportedCase
    from klagomal.intake.records import IntakeLogEntry, ReceivedMessage, StoredAttachment
    from klagomal.notices.outbox import Notice, OwedNotice
    from klagomal.notices.reminders import Reminder
    from klagomal.records.access import Scope
    from klagomal.storage.sql.api_keys import ApiKey
    from klagomal.storage.sql.idempotency import Outcome, StoredAnswer, SubscriptionOutcome
    from klagomal.storage.sql.ops import OperationsCounts
    from klagomal.storage.sql.publications import Publication

__all__ = [
    "DEFAULT_LOCK_WAIT",
    "CaseQuery",
    "DueWindow",
    "MigrationBranch",
    "SearchHit",
    "SearchQuery",
    "Storage",
    "StorageBackend",
    "UnitOfWork",
    "takes_lock_wait",
]


@attrs.frozen
class DueWindow:
    """Cases whose open deadline (see :meth:`klagomal.core.model.Case.deadline`)
    falls from *start* up to and including a last day per förvaltning.

    The last day is per förvaltning because "within *n* working days"
    depends on the förvaltning's calendar.

    :param start: the first day of the window, normally today.
    :param last: the last day, by förvaltning id.
    :param default: the last day for a förvaltning not in *last*.
    """

    start: dt.date
    last: Mapping[str, dt.date]
    default: dt.date


@attrs.frozen
class CaseQuery:
    """Which cases a worklist or report wants.  The conditions combine with
    *and*, except *overdue_on* and *due*: given both, a case matches if it is
    overdue **or** due within the window (a worklist of what needs attention).

    :param units: only cases currently at one of these units.
    :param state: only cases in this state.
    :param overdue_on: only cases overdue on this date (see
        :meth:`klagomal.core.model.Case.overdue_reason`).
    :param due: only cases whose open deadline falls within this window.
    :param handler: only cases with this handler.
    :param states: only cases in one of these states (``open``: every state
        but ``avslutat``).
    :param handlers: only cases whose handler is one of these (a user's id
        and display name).
    :param departments: only cases currently at one of these förvaltningar.
    :param received_from: only cases received on or after this day.
    :param received_to: only cases received on or before this day.
    :param references: only the cases with these references.
    :param unassigned: only cases without a handler.
    :param limit: at most this many cases, the first in the order of their
        open deadline (:meth:`klagomal.core.model.Case.deadline`), those
        without one last, then by reference; without it, every case
        matching, by reference.
    """

    units: Collection[str] | None = None
    state: CaseState | None = None
    overdue_on: dt.date | None = None
    due: DueWindow | None = None
    handler: str | None = None
    departments: Collection[str] | None = None
    received_from: dt.date | None = None
    received_to: dt.date | None = None
    references: Collection[str] | None = None
    states: Collection[CaseState] | None = None
    handlers: Collection[str] | None = None
    unassigned: bool = False
    limit: int | None = None


@attrs.frozen
class SearchQuery:
    """A full-text search (:mod:`klagomal.cases.search`): cases whose index
    row holds every word, within the user's scope, best first.

    :param words: lower-case words (:func:`klagomal.storage.sql.search.words`).
    :param limit: at most this many rows; :param offset: after skipping these.
    :param everything: every case is in scope; else the cases of
        *departments*, *units* or with *handler* as handler.
    :param unit: only cases at this unit.
    :param protected: whether rows with a protected person's identity may match.
    :param secret: whether rows with texts marked secret may match.
    """

    words: tuple[str, ...]
    limit: int
    offset: int = 0
    everything: bool = False
    departments: frozenset[str] = frozenset()
    units: frozenset[str] = frozenset()
    handler: str | None = None
    unit: str | None = None
    protected: bool = False
    secret: bool = False


@attrs.frozen
class SearchHit:
    """One index row that matched: which case, which view of it (whether it
    holds a protected identity, secret texts) and how well (higher is better)."""

    reference: str
    protected: bool
    secret: bool
    rank: float


class UnitOfWork(Protocol):
    """One transaction.  Leaving the ``with`` block commits; an exception
    rolls everything back."""

    def get(self, reference: str) -> Case:
        """The stored projection of a case, or :class:`~klagomal.core.errors.CaseNotFoundError`."""
        ...

    def history(self, reference: str) -> list[Event]:
        """The case's events in order."""
        ...

    def next_reference(self, year: int) -> str:
        """Allocate the next reference of *year*, such as ``2026-00042``.

        Allocation is part of the transaction, so a rolled-back registration
        gives its number back.
        """
        ...

    def append(self, case: Case, event: Event, owed: Sequence[OwedNotice] = ()) -> None:
        """Store *event*, the projection *case* it led to, and the notices
        *owed* because of it (the outbox, :mod:`klagomal.notices.outbox`).

        ``case.version`` must be one more than the stored version (optimistic
        concurrency); else :class:`~klagomal.core.errors.ConflictError`.
        """
        ...

    def histories(self, references: Sequence[str]) -> dict[str, list[Event]]:
        """The events of several cases at once."""
        ...

    def find(self, query: CaseQuery) -> list[Case]:
        """Cases matching *query*, ordered by reference."""
        ...

    def references(self) -> dict[int, int]:
        """The last reference number allocated per year."""
        ...

    def restore(self, case: Case, history: Sequence[Event], notices_owed: Sequence[Notice]) -> None:
        """Insert an imported case with its whole history and its outbox
        notices with their delivery state (their ``id`` is not kept)."""
        ...

    def iter_export(self, chunk: int = 500) -> Iterator[tuple[list[Event], list[Notice]]]:
        """Every case's history with its outbox notices, by reference, read
        *chunk* cases at a time."""
        ...

    def allocate_references(self, year: int, count: int) -> int:
        """Allocate *count* consecutive numbers of *year* in this transaction;
        return the last of them."""
        ...

    def known_external_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these external ids (bulk import) are stored already."""
        ...

    def insert_imported(self, batch: Sequence[ImportedCase]) -> list[str]:
        """Store bulk-imported cases with their events under new references,
        numbered by the year each was received; return the references."""
        ...

    def raise_reference_counter(self, year: int, last: int) -> None:
        """Make sure the next reference of *year* is after *last*."""
        ...

    def notices(self, reference: str) -> list[tuple[int, str]]:
        """``(event seq, notice kind)`` for every notice to the person the case gave rise to."""
        ...

    def outbox(
        self,
        *,
        reference: str | None = None,
        statuses: Sequence[str] | None = None,
        due: dt.datetime | None = None,
        ways: Sequence[str] | None = None,
        ids: Sequence[int] | None = None,
        limit: int | None = None,
        departments: Collection[str] | None = None,
    ) -> list[Notice]:
        """Outbox notices, oldest first, filtered by case, status, way, id,
        the förvaltning the case is at now, and (with *due*) a next attempt
        not later than *due*."""
        ...

    def notices_with(self, references: Sequence[str], statuses: Sequence[str]) -> dict[str, list[Notice]]:
        """The notices of these cases that have one of *statuses*, by reference."""
        ...

    def received(
        self,
        *,
        key: str | None = None,
        outcomes: Sequence[str] | None = None,
        reference: str | None = None,
        ids: Sequence[int] | None = None,
        with_raw: bool = False,
    ) -> list[ReceivedMessage]:
        """Received messages (the intake), oldest first, by key, outcome, case or id."""
        ...

    def store_received(self, message: ReceivedMessage, files: Sequence[StoredAttachment] = ()) -> int:
        """Store a received message with its attachments; return its id.  A
        key stored already is an integrity error."""
        ...

    def store_duplicate(
        self, message_id: int, received_at: dt.datetime, source: str, source_file: str | None
    ) -> None:
        """Note that message *message_id* arrived again (the same bytes)."""
        ...

    def intake_log(self, *, since: dt.datetime | None, outcomes: Sequence[str]) -> list[IntakeLogEntry]:
        """The arrivals that became no case, from *since* on, oldest first."""
        ...

    def duplicates_of(
        self, message_ids: Sequence[int] | None = None
    ) -> dict[int, list[tuple[dt.datetime, str, str | None]]]:
        """When, through what and from which file each of these messages (all:
        ``None``) arrived again, by message id."""
        ...

    def release_received(
        self,
        message_id: int,
        outcome: str,
        reference: str | None,
        reason: str | None,
        files: Sequence[StoredAttachment],
    ) -> bool:
        """Move a quarantined message to *outcome*; whether it was still in quarantine."""
        ...

    def iter_received(self, chunk: int = 200) -> Iterator[tuple[ReceivedMessage, list[StoredAttachment]]]:
        """Every received message with its raw bytes and its attachments, oldest first."""
        ...

    def attachments_of(
        self, reference: str, *, ids: Sequence[int] | None = None, with_data: bool = False
    ) -> list[StoredAttachment]:
        """The attachments kept with a case's messages (only those of *ids*),
        without their data unless *with_data*."""
        ...

    def case_of_message_ids(self, message_ids: Sequence[str]) -> str | None:
        """The case whose notice carried one of these Message-IDs."""
        ...

    def exists(self, reference: str) -> bool:
        """Whether a case has this reference."""
        ...

    def claim_notice(self, notice_id: int, expected: Sequence[str], now: dt.datetime) -> bool:
        """Mark a notice ``sending`` and count the attempt if its status is one
        of *expected*; whether it was (never true for two callers at once)."""
        ...

    def update_notice(self, notice: Notice) -> None:
        """Store a notice's delivery state."""
        ...

    def add_reminders(self, owed: Sequence[Reminder]) -> list[Reminder]:
        """Store those of *owed* whose ``(reference, deadline, due, kind)`` is
        not stored yet, and return them."""
        ...

    def reminders(
        self,
        *,
        statuses: Collection[str] | None = None,
        reference: str | None = None,
        departments: Collection[str] | None = None,
    ) -> list[Reminder]:
        """Stored reminders, optionally with one of *statuses*, of one case or
        of the cases now at these förvaltningar, oldest first."""
        ...

    def update_reminder(self, reminder: Reminder) -> None:
        """Store the new status, attempts, error and time of a stored reminder."""
        ...

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """The index rows matching *query*, best first (the search index)."""
        ...

    def same_person(
        self, keys: PersonKeys, *, exclude: str, closed_since: dt.date, scope: Scope, limit: int
    ) -> list[tuple[str, dt.date]]:
        """``(reference, received)`` of the cases other than *exclude* whose
        contact has one of *keys* (:mod:`klagomal.core.person_keys`), open
        or closed on or after *closed_since*, in *scope*, newest first: at
        most *limit* for each key (the related cases)."""
        ...

    def unit_texts(
        self,
        unit: str,
        *,
        received_from: dt.date,
        received_to: dt.date,
        exclude: str,
        scope: Scope,
        limit: int,
    ) -> list[tuple[str, str]]:
        """``(reference, text)`` of the newest *limit* cases at *unit* other
        than *exclude*, received in the window, in *scope* (the related cases)."""
        ...

    # The HTTP API's keys (klagomal.storage.sql.api_keys, klagomal.web).
    def add_api_key(self, key: str, *, name: str, user_id: str, at: dt.datetime, by: str) -> ApiKey: ...
    def api_key(self, key_id: int) -> ApiKey | None: ...
    def api_keys(self) -> list[ApiKey]: ...
    def api_key_by_key(self, key: str) -> ApiKey | None: ...
    def revoke_api_key(self, key_id: int, *, at: dt.datetime, by: str) -> None: ...

    # The phrase library (klagomal.storage.sql.phrases, klagomal.notices.phrases, R23).
    def add_phrase(
        self, *, department: str, purpose: Purpose, title: str, text: str, at: dt.datetime, by: str
    ) -> Phrase: ...
    def update_phrase(
        self,
        phrase_id: int,
        *,
        department: str,
        purpose: Purpose,
        title: str,
        text: str,
        at: dt.datetime,
        by: str,
    ) -> None: ...
    def retire_phrase(self, phrase_id: int, *, at: dt.datetime, by: str) -> None: ...
    def phrase(self, phrase_id: int) -> Phrase | None: ...
    def phrases(
        self,
        *,
        departments: Collection[str] | None = None,
        purpose: Purpose | None = None,
        include_retired: bool = False,
    ) -> list[Phrase]: ...
    def idempotent_answer(self, scope: str, key: str, at: dt.datetime) -> StoredAnswer | None: ...
    def record_idempotent_outcome(
        self,
        scope: str,
        key: str,
        request: str,
        outcome: Outcome | SubscriptionOutcome,
        at: dt.datetime,
        *,
        again: bool = False,
    ) -> None: ...
    def store_idempotent_answer(
        self,
        scope: str,
        key: str,
        request: str,
        answer: tuple[int, str, bytes],
        at: dt.datetime,
        *,
        on_outcome: bool,
    ) -> StoredAnswer | None: ...
    def purge_idempotency_keys(self, at: dt.datetime) -> int: ...
    def attachments_stored_under(self, message_key: str) -> list[int]: ...

    # The public list of answered cases (klagomal.storage.sql.publications).
    def add_publication(
        self, reference: str, department: str, description: str, answer: str, *, at: dt.datetime, by: str
    ) -> None: ...
    def current_publication(self, reference: str) -> Publication | None: ...
    def withdraw_publication(self, reference: str, *, at: dt.datetime, by: str, reason: str) -> int: ...
    def publications(
        self, *, limit: int, offset: int, department: str | None = None
    ) -> list[Publication]: ...

    # The worker's job leases and runs (klagomal.storage.sql.jobs, klagomal.worker).
    def ensure_job(self, job: str) -> None: ...
    def take_job_lease(self, job: str, holder: str, now: dt.datetime, until: dt.datetime) -> bool: ...
    def release_job_leases(self, holder: str) -> int: ...
    def prune_job_runs(self, before: dt.datetime) -> int: ...
    def job_leases(self) -> list[JobLease]: ...
    def start_job_run(self, job: str, holder: str, day: dt.date, at: dt.datetime) -> int: ...
    def finish_job_run(self, run_id: int, outcome: str, detail: str | None, at: dt.datetime) -> None: ...
    def job_runs(
        self,
        *,
        job: str | None = None,
        day: dt.date | None = None,
        outcomes: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[JobRun]: ...

    # What operations watches (klagomal.storage.sql.ops, klagomal.observe.metrics).
    def operations_counts(self, today: dt.date) -> OperationsCounts:
        """The outbox by status, failed deliveries, the quarantine and the
        overdue cases by förvaltning, each counted through an index."""
        ...


#: How many seconds a unit of work waits for a lock another transaction
#: holds, unless its caller says otherwise (``Klagomal(lock_wait=...)``).
DEFAULT_LOCK_WAIT = 30.0


class Storage(Protocol):
    """A place to keep cases.

    ``transaction`` and ``snapshot`` take ``lock_wait``, the most seconds to
    wait for a lock that another transaction holds before giving up with
    :class:`~klagomal.core.errors.TransientStorageError`.  A backend written
    before it existed, whose methods take no argument, is called without it
    (:func:`takes_lock_wait`) and waits as long as it waits.
    """

    url: str

    def transaction(self, *, lock_wait: float | None = None) -> AbstractContextManager[UnitOfWork]:
        """Open a unit of work."""
        ...

    def snapshot(self, *, lock_wait: float | None = None) -> AbstractContextManager[UnitOfWork]:
        """Open a read-only unit of work that sees one consistent state
        however long it reads, without holding up writers (exports)."""
        ...

    def initialise(self) -> str:
        """Create or upgrade the schema, klagomal's own and then every
        plugin branch the storage was opened with; return the revision of
        klagomal's own schema."""
        ...

    def check_schema(self) -> None:
        """Raise :class:`~klagomal.core.errors.SchemaError` unless the schema is
        current, klagomal's own and every plugin branch's."""
        ...

    def dispose(self) -> None:
        """Release connections."""
        ...


@attrs.frozen
class StorageBackend:
    """A storage backend a plugin offers.

    :param name: a short name shown by ``klagomal plugins``.
    :param schemes: SQLAlchemy URL schemes it serves (without ``+driver``).
    :param open: builds a :class:`Storage` from a URL or an existing SQLAlchemy
        ``Engine`` and the converter used for event payloads:
        ``open(db, converter)``.  When plugins register migration branches
        (``klagomal_migrations``), it is called as ``open(db, converter,
        migrations=...)`` with the branches as ``(plugin, MigrationBranch)``
        pairs, which the storage's ``initialise`` and ``check_schema`` must
        honour; :meth:`SqlStorage.open <klagomal.storage.sql.SqlStorage.open>`
        does.
    """

    name: str
    schemes: tuple[str, ...]
    open: Callable[..., Storage]

    def open_storage(
        self,
        db: str | Engine,
        converter: Converter,
        migrations: Sequence[tuple[str, MigrationBranch]] = (),
    ) -> Storage:
        """Open *db* through :attr:`open`, with the plugins' *migrations*.

        They are passed only when there are any, so that a backend written
        before ``klagomal_migrations`` existed, whose ``open`` takes two
        arguments, keeps working; such a backend together with a plugin that
        has tables of its own is a :class:`~klagomal.core.errors.ConfigurationError`,
        never a database without the plugin's tables.
        """
        if not migrations:
            return self.open(db, converter)
        if not _accepts_keyword(self.open, "migrations"):
            raise ConfigurationError(
                _(
                    "lagringen '{name}' kan inte skapa insticksmodulers egna tabeller (dess open tar "
                    "inget argument migrations), men {plugins} har migreringar (klagomal_migrations)"
                ).format(name=self.name, plugins=", ".join(sorted({plugin for plugin, _b in migrations})))
            )
        return self.open(db, converter, migrations=tuple(migrations))


def takes_lock_wait(storage: Storage) -> bool:
    """Whether *storage*'s units of work take ``lock_wait``."""
    return all(_accepts_keyword(method, "lock_wait") for method in (storage.transaction, storage.snapshot))


def _accepts_keyword(function: Callable[..., Any], name: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - a callable without a signature: try it
        return True
    return any(
        p.kind is inspect.Parameter.VAR_KEYWORD
        or (p.name == name and p.kind is not inspect.Parameter.POSITIONAL_ONLY)
        for p in parameters
    )


#: A branch's name is also its Alembic branch label, written ``<name>@head``.
_BRANCH_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


def _check_branch_name(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str) or not _BRANCH_NAME.match(value):
        raise ConfigurationError(
            _(
                "migreringsgrenens namn {name!r} duger inte: skriv små bokstäver a–z, siffror och _, "
                "och börja med en bokstav (det är också grenens branch_labels i Alembic)"
            ).format(name=value)
        )


def _check_head(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(
            _("migreringsgrenens head måste vara id:t på grenens sista revision, inte {value!r}").format(
                value=value
            )
        )


@attrs.frozen
class MigrationBranch:
    """A plugin's own tables: a folder of Alembic revision scripts that form
    one branch of their own next to klagomal's schema (``klagomal_migrations``).

    :param name: the branch's name, also the ``branch_labels`` of its first
        revision (``branch_labels = ("<name>",)``): lowercase letters
        ``a``–``z``, digits and ``_``, starting with a letter.
    :param folder: the folder of revision scripts, shipped with the plugin.
        Its first revision has ``down_revision = None`` and
        ``depends_on = None``; every later one revises one of the branch's
        own.  ``klagomal init`` upgrades klagomal's own schema first, so a
        plugin's tables may refer to ``cases``.
    :param head: the id of the branch's last revision, the one the plugin's
        code needs.  Every command compares it with the database without
        loading Alembic (as the core does with its ``SCHEMA_REVISIONS``);
        ``klagomal init`` checks it against the scripts.
    """

    name: str = attrs.field(validator=_check_branch_name)
    folder: pathlib.Path = attrs.field(converter=pathlib.Path)
    head: str = attrs.field(validator=_check_head)

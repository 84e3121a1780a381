"""The SQLAlchemy storage backend: SQLite by default, any SQLAlchemy server too.

Backend-specific code is confined to :func:`_configure_sqlite`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import sqlalchemy as sa
from cattrs import Converter
from sqlalchemy.engine import Connection, Engine

from klagomal.errors import CaseNotFoundError, ConflictError, SchemaError
from klagomal.events import Event, EventData
from klagomal.i18n import _
from klagomal.model import AnswerMode, Case, CaseState, Contact, Kind, Level
from klagomal.reminders import Reminder
from klagomal.storage.base import CaseQuery, DueWindow
from klagomal.storage.tables import (
    SCHEMA_HEAD,
    SCHEMA_REVISIONS,
    case_dimensions,
    cases,
    events,
    notices,
    reference_counters,
    reminders,
)

__all__ = ["SqlStorage", "SqlUnitOfWork"]


def _configure_sqlite(engine: Engine) -> None:
    """SQLite specifics: WAL so that readers do not block the writer, foreign
    keys on, and write transactions that take the lock at BEGIN so that two
    processes never both read a case and then both write it."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below rule
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _utc(moment: dt.datetime) -> dt.datetime:
    """Stored timestamps are naive UTC, which every backend keeps the same way."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


# Statements built once: building ``.values(...)`` per call costs more than
# executing it on SQLite.  Parameters are passed at execution.
_INSERT_CASE = sa.insert(cases)
_UPDATE_CASE = (
    sa.update(cases)
    .where(
        cases.c.reference == sa.bindparam("b_reference"), cases.c.version == sa.bindparam("expected_version")
    )
    .values({c.name: sa.bindparam(c.name) for c in cases.columns if c.name != "reference"})
)
_INSERT_EVENT = sa.insert(events)
_INSERT_NOTICE = sa.insert(notices)
_SELECT_CASE = sa.select(cases).where(cases.c.reference == sa.bindparam("reference"))
_SELECT_DIMENSIONS = (
    sa.select(case_dimensions.c.dimension)
    .where(case_dimensions.c.reference == sa.bindparam("reference"))
    .order_by(case_dimensions.c.position)
)


def _open_deadline(test: Callable[[sa.Column[Any]], sa.ColumnElement[bool]]) -> sa.ColumnElement[bool]:
    """Cases whose open deadline passes *test*: the besked deadline of a
    registered case (R7), or the promised date of a case under handling whose
    clock runs (R10).  The same rule as :meth:`Case.deadline`, written so
    that the deadline indexes can be used."""
    return sa.or_(
        sa.and_(cases.c.state == CaseState.REGISTRERAT.value, test(cases.c.acknowledge_by)),
        sa.and_(
            cases.c.state == CaseState.HANDLAGGNING.value,
            cases.c.paused_since.is_(None),
            test(cases.c.respond_by),
        ),
    )


def _due_within(window: DueWindow) -> sa.ColumnElement[bool]:
    # The last day depends on the förvaltning's calendar: one CASE, not one
    # query per förvaltning.
    last: sa.ColumnElement[Any] = sa.literal(window.default, sa.Date)
    if window.last:
        last = sa.case(
            {department: sa.literal(day, sa.Date) for department, day in window.last.items()},
            value=cases.c.department,
            else_=sa.literal(window.default, sa.Date),
        )
    return _open_deadline(lambda column: sa.and_(column >= window.start, column <= last))


class SqlStorage:
    """Cases in a relational database through SQLAlchemy Core."""

    def __init__(self, engine: Engine, converter: Converter) -> None:
        self.engine = engine
        self.converter = converter
        self.url = engine.url.render_as_string(hide_password=True)

    @classmethod
    def open(cls, db: str | Engine, converter: Converter) -> SqlStorage:
        """Open *db*: a SQLAlchemy URL, or an ``Engine`` the embedding
        application already configured (used as it is)."""
        if isinstance(db, Engine):
            return cls(db, converter)
        url = sa.engine.make_url(db)
        kwargs: dict[str, Any] = {}
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            # One shared connection, or every checkout would see a new empty database.
            kwargs["poolclass"] = sa.pool.StaticPool
            kwargs["connect_args"] = {"check_same_thread": False}
        engine = sa.create_engine(url, **kwargs)
        if url.get_backend_name() == "sqlite":
            _configure_sqlite(engine)
        return cls(engine, converter)

    # -- schema ----------------------------------------------------------

    def initialise(self) -> str:
        """Create or upgrade the schema through the packaged Alembic migrations.

        A database at a revision this version does not know is newer than
        the package: it is refused, never downgraded.
        """
        from klagomal.storage.migrate import upgrade

        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            folder = os.path.dirname(os.path.abspath(str(url.database)))
            if not os.path.isdir(folder):
                raise SchemaError(
                    _("Katalogen {folder} finns inte; skapa den först eller välj en annan --db.").format(
                        folder=folder
                    )
                )
        self._refuse_newer_schema(self.current_revision())
        return upgrade(self.engine)

    def current_revision(self) -> str | None:
        """The schema revision the database is at, or ``None`` without one."""
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    def _refuse_newer_schema(self, revision: str | None) -> None:
        if revision is not None and revision not in SCHEMA_REVISIONS:
            raise SchemaError(
                _(
                    "Databasen {url} har schemaversion {revision}, som är nyare än denna version "
                    "av klagomal. Uppgradera klagomal; databasen nedgraderas aldrig automatiskt."
                ).format(url=self.url, revision=revision)
            )

    def check_schema(self) -> None:
        """Raise :class:`SchemaError` with what to do unless the schema is current."""
        url = self.engine.url
        # Connecting would create an empty SQLite file where a typo in --db points.
        is_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
        if is_file and not os.path.exists(str(url.database)):
            raise SchemaError(
                _("Databasen {url} finns inte. Kör 'klagomal init' för att skapa den.").format(url=self.url)
            )
        try:
            revision = self.current_revision()
        except sa.exc.OperationalError as exc:
            raise SchemaError(
                _("Kan inte öppna databasen {url}: {reason}").format(url=self.url, reason=exc.orig)
            ) from exc
        if revision == SCHEMA_HEAD:
            return
        if revision is None:
            raise SchemaError(
                _("Databasen {url} har inget klagomal-schema. Kör 'klagomal init' först.").format(
                    url=self.url
                )
            )
        self._refuse_newer_schema(revision)
        raise SchemaError(
            _(
                "Databasen {url} har ett äldre schema ({revision}). Kör 'klagomal init' för att uppgradera."
            ).format(url=self.url, revision=revision)
        )

    # -- transactions ----------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[SqlUnitOfWork]:
        """One unit of work in one database transaction."""
        with self.engine.begin() as conn:
            yield SqlUnitOfWork(conn, self.converter)

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


class SqlUnitOfWork:
    """A unit of work on one SQLAlchemy connection inside a transaction."""

    def __init__(self, conn: Connection, converter: Converter) -> None:
        self.conn = conn
        self.converter = converter

    # -- reading ---------------------------------------------------------

    def get(self, reference: str) -> Case:
        """The stored projection of *reference*."""
        row = self.conn.execute(_SELECT_CASE, {"reference": reference}).one_or_none()
        if row is None:
            raise CaseNotFoundError(reference)
        dimensions = self.conn.execute(_SELECT_DIMENSIONS, {"reference": reference}).scalars()
        return self._case_from_row(row, tuple(dimensions))

    def history(self, reference: str) -> list[Event]:
        """The events of *reference* in order."""
        rows = self.conn.execute(
            sa.select(events).where(events.c.reference == reference).order_by(events.c.seq)
        ).all()
        if not rows:
            raise CaseNotFoundError(reference)
        return [self.event_from_row(row) for row in rows]

    def histories(self, references: Sequence[str]) -> dict[str, list[Event]]:
        """The events of several cases at once, for listings."""
        result: dict[str, list[Event]] = {ref: [] for ref in references}
        for row in self._rows_of(events, references, events.c.seq):
            result[row.reference].append(self.event_from_row(row))
        return result

    def find(self, query: CaseQuery) -> list[Case]:
        """Cases matching *query*, by reference."""
        stmt = sa.select(cases).order_by(cases.c.reference)
        if query.units is not None:
            stmt = stmt.where(cases.c.unit.in_(list(query.units)))
        if query.state is not None:
            stmt = stmt.where(cases.c.state == query.state.value)
        if query.handler is not None:
            stmt = stmt.where(cases.c.handler == query.handler)
        if query.departments is not None:
            stmt = stmt.where(cases.c.department.in_(list(query.departments)))
        if query.received_from is not None:
            stmt = stmt.where(cases.c.received >= query.received_from)
        if query.received_to is not None:
            stmt = stmt.where(cases.c.received <= query.received_to)
        deadline_tests = []
        if query.overdue_on is not None:
            day = query.overdue_on
            deadline_tests.append(_open_deadline(lambda column: column < day))
        if query.due is not None:
            deadline_tests.append(_due_within(query.due))
        if deadline_tests:
            stmt = stmt.where(sa.or_(*deadline_tests))
        rows = self.conn.execute(stmt).all()
        dims = self._dimensions([r.reference for r in rows]) if rows else {}
        return [self._case_from_row(r, dims.get(r.reference, ())) for r in rows]

    def references(self) -> dict[int, int]:
        """The last allocated number per year."""
        rows = self.conn.execute(sa.select(reference_counters).order_by(reference_counters.c.year))
        return {row.year: row.last for row in rows}

    def notices(self, reference: str) -> list[tuple[int, str]]:
        """The citizen notices *reference* gave rise to."""
        rows = self.conn.execute(
            sa.select(notices.c.seq, notices.c.kind)
            .where(notices.c.reference == reference)
            .order_by(notices.c.seq)
        )
        return [(row.seq, row.kind) for row in rows]

    # -- reminders -------------------------------------------------------

    def add_reminders(self, owed: Sequence[Reminder]) -> list[Reminder]:
        """Store those of *owed* whose key is not stored yet; return them.

        One look-up of the stored keys of these cases, then one insert: a
        daily run looks at every overdue case again.  A plain look-up rather
        than a backend's INSERT ... ON CONFLICT keeps this portable; the
        unique key still guards against two runs racing.
        """
        if not owed:
            return []
        key = reminders.c
        stored = {
            (row.reference, row.deadline, row.due, row.kind)
            for row in self._rows_of(reminders, sorted({r.reference for r in owed}), key.id)
        }
        new = [r for r in owed if r.key not in stored]
        if new:
            rows = []
            for reminder in new:
                values = attrs.asdict(reminder)
                del values["id"]
                values["sent_at"] = _utc(reminder.sent_at) if reminder.sent_at else None
                rows.append(values)
            self.conn.execute(sa.insert(reminders), rows)
        return new

    def reminders(
        self, *, statuses: Collection[str] | None = None, reference: str | None = None
    ) -> list[Reminder]:
        """Stored reminders, oldest first."""
        stmt = sa.select(reminders).order_by(reminders.c.id)
        if statuses is not None:
            stmt = stmt.where(reminders.c.status.in_(list(statuses)))
        if reference is not None:
            stmt = stmt.where(reminders.c.reference == reference)
        return [
            Reminder(
                **{
                    **row._asdict(),
                    "sent_at": row.sent_at.replace(tzinfo=dt.UTC) if row.sent_at else None,
                }
            )
            for row in self.conn.execute(stmt)
        ]

    def update_reminder(self, reminder: Reminder) -> None:
        """Store the delivery state of a stored reminder."""
        self.conn.execute(
            sa.update(reminders)
            .where(reminders.c.id == reminder.id)
            .values(
                status=reminder.status,
                attempts=reminder.attempts,
                last_error=reminder.last_error,
                sent_at=_utc(reminder.sent_at) if reminder.sent_at else None,
            )
        )

    # -- writing ---------------------------------------------------------

    def next_reference(self, year: int) -> str:
        """Allocate the next number of *year* inside this transaction."""
        updated = self.conn.execute(
            sa.update(reference_counters)
            .where(reference_counters.c.year == year)
            .values(last=reference_counters.c.last + 1)
        )
        if updated.rowcount == 0:
            self.conn.execute(sa.insert(reference_counters).values(year=year, last=1))
            number = 1
        else:
            number = self.conn.execute(
                sa.select(reference_counters.c.last).where(reference_counters.c.year == year)
            ).scalar_one()
        return f"{year}-{number:05d}"

    def raise_reference_counter(self, year: int, last: int) -> None:
        """Make sure numbers of *year* continue after *last*."""
        current = self.references().get(year)
        if current is None:
            self.conn.execute(sa.insert(reference_counters).values(year=year, last=last))
        elif current < last:
            self.conn.execute(
                sa.update(reference_counters).where(reference_counters.c.year == year).values(last=last)
            )

    def append(self, case: Case, event: Event, notice: str | None) -> None:
        """Store *event* and the projection it led to, checking the version."""
        row = self._case_row(case)
        if event.seq == 1:
            self.conn.execute(_INSERT_CASE, row)
            # Dimensions are set at registration; no later event changes them.
            self._insert_dimensions(case)
        else:
            row["expected_version"] = case.version - 1
            row["b_reference"] = row.pop("reference")
            updated = self.conn.execute(_UPDATE_CASE, row)
            if updated.rowcount != 1:
                raise ConflictError(case.reference)
        self._insert_event(event, notice)

    def iter_histories(self) -> Iterator[list[Event]]:
        """Every case's history, ordered by reference."""
        current: list[Event] = []
        rows = self.conn.execute(sa.select(events).order_by(events.c.reference, events.c.seq))
        for row in rows:
            event = self.event_from_row(row)
            if current and current[0].reference != event.reference:
                yield current
                current = []
            current.append(event)
        if current:
            yield current

    def notice_log(self) -> dict[str, list[tuple[int, str, str]]]:
        """Every notice with its delivery status, by case."""
        result: dict[str, list[tuple[int, str, str]]] = {}
        rows = self.conn.execute(
            sa.select(notices.c.reference, notices.c.seq, notices.c.kind, notices.c.status).order_by(
                notices.c.reference, notices.c.seq
            )
        )
        for row in rows:
            result.setdefault(row.reference, []).append((row.seq, row.kind, row.status))
        return result

    def restore(
        self, case: Case, history: Sequence[Event], notices_owed: Sequence[tuple[int, str, str]]
    ) -> None:
        """Insert an imported case with its history."""
        exists = self.conn.execute(
            sa.select(cases.c.reference).where(cases.c.reference == case.reference)
        ).one_or_none()
        if exists is not None:
            raise ConflictError(
                case.reference,
                _("Ärende {reference} finns redan i databasen").format(reference=case.reference),
            )
        self.conn.execute(_INSERT_CASE, self._case_row(case))
        self._insert_dimensions(case)
        for event in history:
            self._insert_event(event, None)
        if notices_owed:
            self.conn.execute(
                sa.insert(notices),
                [
                    {"reference": case.reference, "seq": q, "kind": k, "status": st}
                    for q, k, st in notices_owed
                ],
            )

    # -- translation -----------------------------------------------------

    def _insert_dimensions(self, case: Case) -> None:
        if case.dimensions:
            self.conn.execute(
                sa.insert(case_dimensions),
                [
                    {"reference": case.reference, "dimension": d, "position": i}
                    for i, d in enumerate(case.dimensions)
                ],
            )

    def _insert_event(self, event: Event, notice: str | None) -> None:
        payload = json.dumps(self.converter.unstructure(event.data, EventData), ensure_ascii=False)
        self.conn.execute(
            _INSERT_EVENT,
            {
                "reference": event.reference,
                "seq": event.seq,
                "type": event.type,
                "day": event.day,
                "recorded_at": _utc(event.recorded_at),
                "actor": event.actor,
                "payload": payload,
            },
        )
        if notice is not None:
            self.conn.execute(
                _INSERT_NOTICE,
                {"reference": event.reference, "seq": event.seq, "kind": notice, "status": "pending"},
            )

    def event_from_row(self, row: sa.Row[Any]) -> Event:
        """The :class:`Event` a row of ``events`` holds."""
        data: EventData = self.converter.structure(json.loads(row.payload), EventData)  # type: ignore[arg-type]
        return Event(
            reference=row.reference,
            seq=row.seq,
            day=row.day,
            recorded_at=row.recorded_at.replace(tzinfo=dt.UTC),
            data=data,
            actor=row.actor,
        )

    def _dimensions(self, references: Sequence[str]) -> dict[str, tuple[str, ...]]:
        result: dict[str, list[str]] = {ref: [] for ref in references}
        for row in self._rows_of(case_dimensions, references, case_dimensions.c.position):
            result[row.reference].append(row.dimension)
        return {ref: tuple(dims) for ref, dims in result.items()}

    def _rows_of(
        self, table: sa.Table, references: Sequence[str], position: sa.Column[Any]
    ) -> Iterator[sa.Row[Any]]:
        """The rows of *table* that belong to *references*, in case and position order.

        Chunked, so that a long worklist never exceeds a backend's limit on
        the number of bound parameters.
        """
        for start in range(0, len(references), 500):
            chunk = list(references[start : start + 500])
            yield from self.conn.execute(
                sa.select(table).where(table.c.reference.in_(chunk)).order_by(table.c.reference, position)
            )

    @staticmethod
    def _case_row(case: Case) -> dict[str, Any]:
        contact = case.contact or Contact()
        return {
            "reference": case.reference,
            "kind": case.kind.value,
            "channel": case.channel,
            "unit": case.unit,
            "department": case.department,
            "state": case.state.value,
            "level": int(case.level),
            "text": case.text,
            "received": case.received,
            "registered": case.registered,
            "acknowledge_by": case.acknowledge_by,
            "updated": case.updated,
            "respond_by": case.respond_by,
            "acknowledged": case.acknowledged,
            "answered": case.answered,
            "answer_mode": case.answer_mode.value if case.answer_mode else None,
            "closed": case.closed,
            "satisfied": case.satisfied,
            "serious": case.serious,
            "anonymous": case.anonymous,
            "handler": case.handler,
            "contact_name": contact.name,
            "contact_email": contact.email,
            "contact_phone": contact.phone,
            "contact_address": contact.address,
            "forwards": case.forwards,
            "postponements": case.postponements,
            "late_postponements": case.late_postponements,
            "actions": case.actions,
            "praise_passed_on": case.praise_passed_on,
            "paused_since": case.paused_since,
            "secrecy": case.secrecy,
            "version": case.version,
        }

    @staticmethod
    def _case_from_row(row: sa.Row[Any], dimensions: tuple[str, ...]) -> Case:
        contact = (
            None
            if row.anonymous
            else Contact(
                name=row.contact_name,
                email=row.contact_email,
                phone=row.contact_phone,
                address=row.contact_address,
            )
        )
        return Case(
            reference=row.reference,
            kind=Kind(row.kind),
            channel=row.channel,
            unit=row.unit,
            department=row.department,
            text=row.text,
            received=row.received,
            registered=row.registered,
            acknowledge_by=row.acknowledge_by,
            updated=row.updated,
            contact=contact,
            dimensions=dimensions,
            serious=bool(row.serious),
            state=CaseState(row.state),
            level=Level(row.level),
            handler=row.handler,
            respond_by=row.respond_by,
            acknowledged=row.acknowledged,
            answered=row.answered,
            answer_mode=AnswerMode(row.answer_mode) if row.answer_mode else None,
            closed=row.closed,
            satisfied=None if row.satisfied is None else bool(row.satisfied),
            forwards=row.forwards,
            postponements=row.postponements,
            late_postponements=row.late_postponements,
            actions=row.actions,
            praise_passed_on=bool(row.praise_passed_on),
            paused_since=row.paused_since,
            secrecy=row.secrecy,
            version=row.version,
        )

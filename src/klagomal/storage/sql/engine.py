"""The SQLAlchemy storage backend: SQLite by default, any SQLAlchemy server too.

Every statement is built with SQLAlchemy Core and runs unchanged on SQLite,
PostgreSQL, MariaDB/MySQL and Microsoft SQL Server.  Backend-specific code is
confined to the functions marked *backend-specific* below:
:func:`_configure_sqlite`, :func:`_connect_args`, :func:`_classify` and the
isolation level of :meth:`SqlStorage.snapshot`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import sqlalchemy as sa
from cattrs import Converter
from sqlalchemy.engine import Connection, Engine

from klagomal.core.errors import (
    CaseNotFoundError,
    ConfigurationError,
    ConflictError,
    KlagomalError,
    SchemaError,
    StorageUnavailableError,
    TransientStorageError,
)
from klagomal.core.events import Event, EventData, Registered
from klagomal.core.i18n import _
from klagomal.core.model import AnswerMode, Case, CaseState, Contact, Kind, Level
from klagomal.intake.bulk import ImportedCase
from klagomal.intake.records import ReceivedMessage, StoredAttachment
from klagomal.notices.outbox import Notice, OwedNotice
from klagomal.notices.reminders import Reminder
from klagomal.storage.base import DEFAULT_LOCK_WAIT, CaseQuery, DueWindow, MigrationBranch
from klagomal.storage.tables import (
    SCHEMA_HEAD,
    SCHEMA_REVISIONS,
    attachments,
    case_dimensions,
    cases,
    events,
    external_ids,
    notices,
    received_messages,
    reference_counters,
    reminders,
)

__all__ = ["SqlStorage", "SqlUnitOfWork"]


def _in_memory(url: sa.URL) -> bool:
    """Whether *url* names an in-memory SQLite database (one per connection)."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _configure_sqlite(engine: Engine) -> None:
    """SQLite specifics of an engine klagomal creates: WAL so that readers do
    not block the writer, foreign keys on, and transactions that SQLAlchemy
    begins (migrations) take the write lock at BEGIN.  klagomal's own units
    of work begin themselves (:meth:`SqlStorage._sqlite_unit`), with the lock
    wait their caller allows."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the explicit BEGIN below rule
        cursor = dbapi_connection.cursor()
        if not _in_memory(engine.url):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_milliseconds(DEFAULT_LOCK_WAIT)}")
        cursor.close()
        record.info[_BUSY_MS] = _milliseconds(DEFAULT_LOCK_WAIT)

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if not conn.get_execution_options().get(_BEGINS_ITSELF):
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def _connect_args(url: sa.URL) -> dict[str, Any]:
    """*Backend-specific.*  A bounded wait for a server that does not answer,
    unless the URL sets one: a command should fail with a clear message,
    not hang."""
    if url.get_backend_name() in ("postgresql", "mysql", "mariadb") and "connect_timeout" not in url.query:
        return {"connect_timeout": 10}
    return {}


#: *Backend-specific.*  Error codes that mean "run the transaction again":
#: PostgreSQL's serialization failure and deadlock (SQLSTATE), MariaDB/MySQL's
#: deadlock (error number).
_TRANSIENT_SQLSTATES = {"40001", "40P01"}
_TRANSIENT_MYSQL = {1213}
#: *Backend-specific.*  A lock held by another transaction longer than this
#: transaction's lock wait: PostgreSQL's lock_not_available (``lock_timeout``),
#: MariaDB/MySQL's lock wait timeout (``innodb_lock_wait_timeout``); SQLite
#: says "database is locked" when its busy timeout runs out.
_BUSY_SQLSTATES = {"55P03"}
_BUSY_MYSQL = {1205}
_BUSY_SQLITE = ("database is locked", "database table is locked")
#: Login refused: PostgreSQL's invalid authorization/password, MariaDB's access denied.
_LOGIN_SQLSTATES = {"28000", "28P01"}
_LOGIN_MYSQL = {1044, 1045, 1698}
#: The database named in the URL does not exist.
_NO_DATABASE_SQLSTATES = {"3D000"}
_NO_DATABASE_MYSQL = {1049}


def _classify(exc: sa.exc.DBAPIError, url: str, lock_wait: float | None = None) -> KlagomalError | None:
    """*Backend-specific.*  The klagomal error a driver's error stands for:
    :class:`TransientStorageError` for a deadlock, a serialization failure
    or a lock held longer than *lock_wait* seconds (the database is busy),
    :class:`StorageUnavailableError` for a server that cannot be reached or
    refuses the login; ``None`` for anything else."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg
    args = getattr(orig, "args", ())
    code = args[0] if args and isinstance(args[0], int) else None  # PyMySQL, mysqlclient
    text = str(orig)
    first = text.strip().splitlines()[0] if text.strip() else type(orig).__name__
    if sqlstate in _BUSY_SQLSTATES or code in _BUSY_MYSQL or any(words in text for words in _BUSY_SQLITE):
        return busy_error(url, DEFAULT_LOCK_WAIT if lock_wait is None else lock_wait, first)
    if sqlstate in _TRANSIENT_SQLSTATES or code in _TRANSIENT_MYSQL:
        return TransientStorageError(
            _("Databasen {url} avbröt transaktionen tillfälligt ({reason}); försök igen.").format(
                url=url, reason=first
            )
        )
    # psycopg reports a refused connection without a SQLSTATE; its text says why.
    lowered = text.lower()
    if (
        sqlstate in _LOGIN_SQLSTATES
        or code in _LOGIN_MYSQL
        or ("role" in lowered and "does not exist" in lowered)
        or "password authentication failed" in lowered
        or "no pg_hba.conf entry" in lowered
    ):
        hint = _("Kontrollera användarnamn och lösenord i databasadressen (--db eller KLAGOMAL_DB).")
    elif (
        sqlstate in _NO_DATABASE_SQLSTATES
        or code in _NO_DATABASE_MYSQL
        or ('database "' in lowered and "does not exist" in lowered)
    ):
        hint = _("Databasen finns inte på servern; skapa den först (till exempel CREATE DATABASE).")
    elif (
        exc.connection_invalidated
        or code in (2002, 2003, 2005, 2006, 2013)
        or (sqlstate is None and isinstance(exc, sa.exc.OperationalError) and _unreachable(text))
    ):
        hint = _("Kontrollera att databasservern är igång och att värd och port i databasadressen stämmer.")
    else:
        return None
    return StorageUnavailableError(
        _("Kan inte ansluta till databasen {url}: {reason}. {hint}").format(url=url, reason=first, hint=hint)
    )


def busy_error(url: str, lock_wait: float, reason: str) -> TransientStorageError:
    """The error of a unit of work that waited *lock_wait* seconds for a
    lock (or a connection) in vain: nothing was changed, and trying again
    in a while will do."""
    return TransientStorageError(
        _(
            "Databasen är upptagen, försök igen om en stund: en annan transaktion har hållit ett lås "
            "längre än {seconds} s, så ingenting ändrades ({url}: {reason})."
        ).format(seconds=_seconds(lock_wait), url=url, reason=reason)
    )


def _seconds(value: float) -> str:
    """Seconds as Swedes write them, to a tenth: 0,5 or 30."""
    return f"{max(value, 0.1):.1f}".removesuffix(".0").replace(".", ",")


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _translated(exc: sa.exc.DBAPIError, url: str, lock_wait: float | None = None) -> KlagomalError | None:
    """The klagomal error *exc* stands for, if any.

    Earlier errors in the chain count too: MariaDB ends the whole
    transaction on a deadlock, savepoints included, so the ROLLBACK TO
    SAVEPOINT that follows fails (1305) and would hide the deadlock.
    """
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, sa.exc.DBAPIError) and (error := _classify(cause, url, lock_wait)) is not None:
            return error
        cause = cause.__context__
    return None


def _unreachable(text: str) -> bool:
    lowered = text.lower()
    return any(
        words in lowered
        for words in ("connection refused", "could not connect", "timeout expired", "timed out", "no route")
    )


#: The status of a notice that the system a case was imported from gave.
IMPORTED = "imported"


def _at_departments(departments: Collection[str]) -> Any:
    """The references of the cases now at one of *departments*, as a subquery."""
    return sa.select(cases.c.reference).where(cases.c.department.in_(list(departments)))


def _utc(moment: dt.datetime) -> dt.datetime:
    """Stored timestamps are naive UTC, which every backend keeps the same way."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


_NOTICE_FIELDS = tuple(f.name for f in attrs.fields(Notice))


def _notice_from_row(row: sa.Row[Any]) -> Notice:
    return Notice(**{name: getattr(row, name) for name in _NOTICE_FIELDS})


def _notice_row(notice: Notice) -> dict[str, Any]:
    row = {name: getattr(notice, name) for name in _NOTICE_FIELDS if name != "id"}
    for name in ("next_attempt", "attempted_at", "sent_at"):
        if row[name] is not None:
            row[name] = _utc(row[name])
    return row


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


#: The execution option with which a unit of work tells the ``begin``
#: listener of klagomal's own SQLite engine that it begins itself.
_BEGINS_ITSELF = "klagomal_begins_itself"
#: What klagomal last set on a pooled connection, in its ``info``.
_BUSY_MS = "klagomal_busy_timeout_ms"
_INNODB_WAIT = "klagomal_innodb_lock_wait_timeout"
#: A statement that changes nothing but takes SQLite's write lock.
_TAKE_WRITE_LOCK = "UPDATE audit_head SET id = id WHERE 0"
#: The least lock wait a unit of work gets: a lock held while another
#: transaction commits must not make it fail.
_LEAST_LOCK_WAIT = 0.05
#: *Backend-specific.*  The isolation level klagomal's write transactions
#: are written for (see :func:`klagomal.records.audit.append`): the servers' defaults.
_ISOLATION = {"postgresql": "READ COMMITTED", "mysql": "REPEATABLE READ", "mariadb": "REPEATABLE READ"}
#: sqlite3's ``autocommit`` before Python 3.12 gave it a choice.
_LEGACY = getattr(sqlite3, "LEGACY_TRANSACTION_CONTROL", -1)
#: One lock per pool that shares its one connection, for all the instances on it.
_TURNS: weakref.WeakKeyDictionary[sa.pool.Pool, threading.RLock] = weakref.WeakKeyDictionary()
_TURNS_LOCK = threading.Lock()


def _nothing() -> None:
    pass


def _turns(pool: sa.pool.Pool) -> threading.RLock:
    """The lock whose holder uses *pool*'s one connection."""
    with _TURNS_LOCK:
        return _TURNS.setdefault(pool, threading.RLock())


def _check_engine(engine: Engine) -> None:
    """Refuse an application's engine that no setting makes safe: an
    in-memory SQLite database that is not one database for every thread."""
    if _in_memory(engine.url) and not isinstance(engine.pool, sa.pool.StaticPool):
        raise ConfigurationError(
            _(
                "Motorn till en SQLite-databas i minnet ({url}) använder {pool}, som ger varje tråd eller "
                "anslutning en egen, tom databas. Skapa den med poolclass=sqlalchemy.pool.StaticPool och "
                "connect_args={{'check_same_thread': False}}, eller använd en databasfil."
            ).format(url=engine.url, pool=type(engine.pool).__name__)
        )


def _bound_thread(engine: Engine) -> int | None:
    """The thread that alone may use the one SQLite connection of *engine*'s
    StaticPool, when the driver binds it to the thread that made it
    (``check_same_thread``); ``None`` when any thread may.

    Found out before klagomal uses it elsewhere: a connection used from the
    wrong thread cannot be given back to the pool, which then replaces it,
    and an in-memory database with it."""
    with engine.connect() as conn:
        dbapi: Any = conn.connection.driver_connection
        refused: list[Exception] = []

        def probe() -> None:
            try:
                dbapi.execute("SELECT 1").close()
            except sqlite3.ProgrammingError as exc:
                refused.append(exc)

        prober = threading.Thread(target=probe, name="klagomal-sqlite-probe")
        prober.start()
        prober.join()
    return threading.get_ident() if refused else None


class SqlStorage:
    """Cases in a relational database through SQLAlchemy Core."""

    def __init__(
        self, engine: Engine, converter: Converter, migrations: Sequence[tuple[str, MigrationBranch]] = ()
    ) -> None:
        self.engine = engine
        self.converter = converter
        self.url = engine.url.render_as_string(hide_password=True)
        #: The plugins' migration branches as ``(plugin, branch)``: upgraded
        #: by :meth:`initialise`, checked by :meth:`check_schema`.
        self.migrations = tuple(migrations)
        #: Disposed by :meth:`dispose` only if klagomal created it: an Engine
        #: the embedding application passed in stays the application's.
        self.owns_engine = True
        #: A pool that hands its one connection to every thread (an
        #: in-memory SQLite database): klagomal's units of work on it take
        #: turns (:func:`_turns`).
        self._turns = _turns(engine.pool) if isinstance(engine.pool, sa.pool.StaticPool) else None
        #: The one thread that may use that connection, if SQLite binds it
        #: to the thread that made it (:func:`_bound_thread`).
        self._thread: int | None = None

    @classmethod
    def open(
        cls, db: str | Engine, converter: Converter, *, migrations: Sequence[tuple[str, MigrationBranch]] = ()
    ) -> SqlStorage:
        """Open *db*: a SQLAlchemy URL, or an ``Engine`` the embedding
        application already configured.  *migrations* are the plugins'
        branches (``klagomal_migrations``).

        An application's engine keeps its own settings for the
        application's own work; klagomal's units of work on it get what
        they need for their own transaction (see :meth:`transaction`).  An
        engine that cannot be made safe is refused with a
        :class:`ConfigurationError`: an in-memory SQLite database whose pool
        gives each thread, or each checkout, a database of its own.
        """
        if isinstance(db, Engine):
            _check_engine(db)
            storage = cls(db, converter, migrations)
            storage.owns_engine = False
            if storage._turns is not None and db.dialect.name == "sqlite":
                storage._thread = _bound_thread(db)
            return storage
        url = sa.engine.make_url(db)
        kwargs: dict[str, Any] = {}
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            # One shared connection, or every checkout would see a new empty database.
            kwargs["poolclass"] = sa.pool.StaticPool
            kwargs["connect_args"] = {"check_same_thread": False}
        if connect_args := _connect_args(url):
            kwargs["connect_args"] = connect_args
        engine = sa.create_engine(url, **kwargs)
        if url.get_backend_name() == "sqlite":
            _configure_sqlite(engine)
        return cls(engine, converter, migrations)

    # -- schema ----------------------------------------------------------

    def initialise(self) -> str:
        """Create or upgrade the schema through the packaged Alembic
        migrations, then every plugin branch in :attr:`migrations`; return
        the revision of klagomal's own schema.

        A database at a revision this version does not know is newer than
        the package: it is refused, never downgraded.  A branch of a plugin
        that is no longer installed is left as it is, with its tables.
        """
        from klagomal.storage.migrate import upgrade

        self._check_thread()
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
        engine = self.engine
        if not self.owns_engine and engine.dialect.name in _ISOLATION:
            # A migration runs in a transaction, even on an engine in autocommit mode.
            engine = engine.execution_options(isolation_level=_ISOLATION[engine.dialect.name])
        return upgrade(engine, branches=self.migrations)

    def current_revision(self) -> str | None:
        """The revision of klagomal's own schema the database is at, or
        ``None`` without one.

        ``alembic_version`` holds one row per head: klagomal's, and one for
        each plugin branch applied (installed or not).  klagomal's is the
        row that is one of ``SCHEMA_REVISIONS``.  Without one the schema is
        newer than this version, and this is every row that is no installed
        plugin's head, comma-separated: one of them is klagomal's.
        """
        return self._core_revision(self._schema_heads())

    def _schema_heads(self) -> list[str]:
        """Every row of ``alembic_version``, sorted; none without the table.

        This is the first thing every command reads, so a server that cannot
        be reached or refuses the login is reported here, saying what to check.
        """
        try:
            with self._connect(DEFAULT_LOCK_WAIT) as conn:
                # A read: on SQLite it must not wait for the write lock (BEGIN IMMEDIATE).
                conn.execution_options(**{_BEGINS_ITSELF: True})
                if not sa.inspect(conn).has_table("alembic_version"):
                    return []
                return sorted(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
        except sa.exc.DBAPIError as exc:
            if (error := _translated(exc, self.url)) is None:
                raise
            raise error from exc

    def _core_revision(self, heads: Sequence[str]) -> str | None:
        if not heads:
            return None
        plugin_heads = {branch.head for _plugin, branch in self.migrations}
        known = [h for h in heads if h in SCHEMA_REVISIONS]
        if known:
            return known[0]
        return ", ".join([h for h in heads if h not in plugin_heads] or heads)

    def _refuse_newer_schema(self, revision: str | None) -> None:
        if revision is not None and revision not in SCHEMA_REVISIONS:
            raise SchemaError(
                _(
                    "Databasen {url} har schemaversion {revision}, som är nyare än denna version "
                    "av klagomal. Uppgradera klagomal; databasen nedgraderas aldrig automatiskt."
                ).format(url=self.url, revision=revision)
            )

    def check_schema(self) -> None:
        """Raise :class:`SchemaError` with what to do unless the schema is
        current: klagomal's own at ``SCHEMA_HEAD``, and each plugin branch
        at the ``head`` its plugin declares.  Rows of branches no installed
        plugin declares are ignored: a plugin's tables outlive the plugin.

        Reads ``alembic_version`` only, never Alembic's scripts, so that
        every command can afford it.
        """
        url = self.engine.url
        # Connecting would create an empty SQLite file where a typo in --db points.
        is_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
        if is_file and not os.path.exists(str(url.database)):
            raise SchemaError(
                _("Databasen {url} finns inte. Kör 'klagomal init' för att skapa den.").format(url=self.url)
            )
        try:
            heads = self._schema_heads()
        except sa.exc.OperationalError as exc:
            raise SchemaError(
                _("Kan inte öppna databasen {url}: {reason}").format(url=self.url, reason=exc.orig)
            ) from exc
        revision = self._core_revision(heads)
        if revision == SCHEMA_HEAD:
            missing = [(plugin, branch) for plugin, branch in self.migrations if branch.head not in heads]
            if missing:
                raise SchemaError(
                    _(
                        "Databasen {url} saknar tabeller som {plugins} behöver, eller har dem i en äldre "
                        "version. Kör 'klagomal init' för att lägga till eller uppgradera dem."
                    ).format(
                        url=self.url,
                        plugins=", ".join(
                            _(
                                "insticksmodulen {plugin} (migreringsgrenen '{branch}', revision {head})"
                            ).format(plugin=plugin, branch=branch.name, head=branch.head)
                            for plugin, branch in missing
                        ),
                    )
                )
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
    def transaction(self, *, lock_wait: float | None = None) -> Iterator[SqlUnitOfWork]:
        """One unit of work in one database transaction.

        It waits at most *lock_wait* seconds (default
        :data:`~klagomal.storage.base.DEFAULT_LOCK_WAIT`) for a lock that
        another transaction holds, then gives up with
        :class:`TransientStorageError` ("databasen är upptagen, försök igen
        om en stund").  *Backend-specific:* SQLite's busy timeout, taken at
        ``BEGIN IMMEDIATE`` so that two writers never interleave;
        PostgreSQL's ``lock_timeout`` for the transaction at READ COMMITTED;
        MariaDB/MySQL's ``innodb_lock_wait_timeout`` at REPEATABLE READ.  On
        an engine the application passed in, these are set for klagomal's
        transaction only, and the connection is given back with the
        application's settings.

        A deadlock or serialization failure rolls everything back and is
        raised as :class:`TransientStorageError` too (the caller may run the
        transaction again); an unreachable server or a refused login as
        :class:`StorageUnavailableError`.
        """
        with self._unit(read_only=False, lock_wait=lock_wait) as conn:
            yield SqlUnitOfWork(conn, self.converter)

    @contextmanager
    def snapshot(self, *, lock_wait: float | None = None) -> Iterator[SqlUnitOfWork]:
        """A read-only unit of work that sees one consistent state of the
        whole database however long it reads (an export), without holding
        up the handlers who write meanwhile.

        *Backend-specific:* SQLite reads in a deferred transaction, which
        WAL keeps consistent; PostgreSQL and MariaDB/MySQL use REPEATABLE
        READ; other servers get their default isolation.
        """
        with self._unit(read_only=True, lock_wait=lock_wait) as conn:
            yield SqlUnitOfWork(conn, self.converter)

    @contextmanager
    def _connect(self, lock_wait: float) -> Iterator[Connection]:
        """A connection from the pool; on a pool that shares one connection,
        once it is this thread's turn (at most *lock_wait* seconds)."""
        self._check_thread()
        if self._turns is None:
            with self.engine.connect() as conn:
                yield conn
            return
        # The turn lasts until the connection is back in the pool: giving it
        # back rolls back whatever runs on it.
        if not self._turns.acquire(timeout=lock_wait):
            raise busy_error(self.url, lock_wait, _("databasens enda anslutning används av en annan tråd"))
        try:
            with self.engine.connect() as conn:
                yield conn
        finally:
            self._turns.release()

    def _check_thread(self) -> None:
        if self._thread is not None and threading.get_ident() != self._thread:
            raise ConfigurationError(
                _(
                    "SQLite-anslutningen till {url} får bara användas i tråden som skapade den. Skapa "
                    "motorn med connect_args={{'check_same_thread': False}} när flera trådar delar den."
                ).format(url=self.url)
            )

    @contextmanager
    def _unit(self, *, read_only: bool, lock_wait: float | None) -> Iterator[Connection]:
        wait = DEFAULT_LOCK_WAIT if lock_wait is None else max(float(lock_wait), _LEAST_LOCK_WAIT)
        try:
            with self._connect(wait) as conn:
                if self.engine.dialect.name == "sqlite":
                    with self._sqlite_unit(conn, read_only=read_only, wait=wait):
                        yield conn
                else:
                    with self._server_unit(conn, read_only=read_only, wait=wait):
                        yield conn
        except sa.exc.DBAPIError as exc:
            if (error := _translated(exc, self.url, wait)) is None:
                raise
            raise error from exc
        except sa.exc.TimeoutError as exc:  # no connection free in the pool
            raise busy_error(self.url, wait, str(exc).splitlines()[0]) from exc

    @contextmanager
    def _sqlite_unit(self, conn: Connection, *, read_only: bool, wait: float) -> Iterator[None]:
        """*Backend-specific.*  One SQLite transaction that klagomal begins
        itself: ``BEGIN IMMEDIATE`` takes the write lock first, so that two
        writers never both read and then both write (the audit head, a
        case), and waits for it at most *wait* seconds."""
        proxied = conn.connection
        dbapi = proxied.driver_connection
        restore = self._sqlite_settings(dbapi, proxied.info, _milliseconds(wait))
        conn.execution_options(**{_BEGINS_ITSELF: True})
        try:
            with conn.begin():
                if not dbapi.in_transaction:  # type: ignore[union-attr]
                    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
                elif not read_only:
                    # The application's own "begin" listener has begun a
                    # deferred transaction (SQLAlchemy's recipe for SQLite):
                    # take the write lock now, as BEGIN IMMEDIATE would have.
                    conn.exec_driver_sql(_TAKE_WRITE_LOCK)
                yield
        finally:
            restore()

    def _sqlite_settings(self, dbapi: Any, info: dict[Any, Any], busy_ms: int) -> Callable[[], None]:
        """Put klagomal's SQLite settings on *dbapi* for one transaction;
        return what puts the connection back as it was.

        klagomal's own engine has them from the start (:func:`_configure_sqlite`)
        but the busy timeout.  An application's engine has its own, which
        its own transactions keep: the driver's own transaction handling
        (which would begin a transaction only at the first write, too late
        for the audit head), its busy timeout and its foreign keys setting.
        """
        if self.owns_engine:
            if info.get(_BUSY_MS) != busy_ms:
                dbapi.execute(f"PRAGMA busy_timeout={busy_ms}")
                info[_BUSY_MS] = busy_ms
            return _nothing
        if getattr(dbapi, "autocommit", _LEGACY) != _LEGACY:
            raise ConfigurationError(
                _(
                    "SQLite-anslutningarna i motorn till {url} har autocommit={value}; klagomal styr själv "
                    "sina transaktioner och behöver standardläget (skapa motorn utan autocommit i "
                    "connect_args)"
                ).format(url=self.url, value=dbapi.autocommit)
            )
        isolation = dbapi.isolation_level
        busy = dbapi.execute("PRAGMA busy_timeout").fetchone()[0]
        foreign_keys = dbapi.execute("PRAGMA foreign_keys").fetchone()[0]
        dbapi.isolation_level = None
        dbapi.execute(f"PRAGMA busy_timeout={busy_ms}")
        if not foreign_keys:
            dbapi.execute("PRAGMA foreign_keys=ON")

        def restore() -> None:
            if not foreign_keys:
                dbapi.execute("PRAGMA foreign_keys=OFF")
            dbapi.execute(f"PRAGMA busy_timeout={int(busy)}")
            dbapi.isolation_level = isolation

        return restore

    @contextmanager
    def _server_unit(self, conn: Connection, *, read_only: bool, wait: float) -> Iterator[None]:
        """*Backend-specific.*  One transaction on a server, at the isolation
        level klagomal's locking is written for, waiting at most *wait*
        seconds for each lock."""
        dialect = self.engine.dialect.name
        if dialect in _ISOLATION:
            if read_only:
                conn.execution_options(isolation_level="REPEATABLE READ")
            elif not self.owns_engine:
                # The application's engine may be at another level, or autocommit.
                conn.execution_options(isolation_level=_ISOLATION[dialect])
        restore = _nothing
        try:
            with conn.begin():
                if dialect == "postgresql":
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {_milliseconds(wait)}")
                elif dialect in ("mysql", "mariadb"):
                    restore = self._mysql_lock_wait(conn, wait)
                yield
        finally:
            if not conn.invalidated:
                restore()

    def _mysql_lock_wait(self, conn: Connection, wait: float) -> Callable[[], None]:
        """*Backend-specific.*  MariaDB/MySQL's lock wait is a session setting
        in whole seconds: set it for this transaction; on an application's
        engine, return what sets the application's back."""
        seconds = max(1, math.ceil(wait))
        info = conn.connection.info
        if self.owns_engine:
            # Not transactional, so it holds until klagomal sets another.
            if info.get(_INNODB_WAIT) != seconds:
                conn.exec_driver_sql(f"SET SESSION innodb_lock_wait_timeout = {seconds}")
                info[_INNODB_WAIT] = seconds
            return _nothing
        conn.exec_driver_sql(
            "SET @klagomal_app_lock_wait = @@SESSION.innodb_lock_wait_timeout, "
            f"SESSION innodb_lock_wait_timeout = {seconds}"
        )

        def restore() -> None:
            # Not transactional: it holds after a rollback too.
            driver: Any = conn.connection.driver_connection
            cursor = driver.cursor()
            try:
                cursor.execute("SET SESSION innodb_lock_wait_timeout = @klagomal_app_lock_wait")
            finally:
                cursor.close()

        return restore

    def dispose(self) -> None:
        """Close pooled connections, unless the engine is the application's."""
        if self.owns_engine:
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
        if query.references is not None:
            # In slices, within every backend's limit on bound parameters.
            wanted = sorted(set(query.references))
            found = [
                case
                for start in range(0, len(wanted), 500)
                for case in self._find(query, wanted[start : start + 500])
            ]
            return sorted(found, key=lambda c: c.reference)
        return self._find(query)

    def _find(self, query: CaseQuery, references: Sequence[str] | None = None) -> list[Case]:
        stmt = sa.select(cases).order_by(cases.c.reference)
        if references is not None:
            stmt = stmt.where(cases.c.reference.in_(list(references)))
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
        """The notices to the person *reference* gave rise to."""
        rows = self.conn.execute(
            sa.select(notices.c.seq, notices.c.kind)
            .where(notices.c.reference == reference, notices.c.recipient == "person")
            .order_by(notices.c.seq)
        )
        return [(row.seq, row.kind) for row in rows]

    # -- intake ------------------------------------------------------------

    def received(
        self,
        *,
        key: str | None = None,
        outcomes: Sequence[str] | None = None,
        reference: str | None = None,
        ids: Sequence[int] | None = None,
        with_raw: bool = False,
    ) -> list[ReceivedMessage]:
        """Received messages, oldest first: by key, outcome, case or id.
        The raw bytes are read only *with_raw* (a worklist does not need them)."""
        columns = [c for c in received_messages.c if with_raw or c.name != "raw"]
        query = sa.select(*columns).order_by(received_messages.c.id)
        if key is not None:
            query = query.where(received_messages.c.message_key == key)
        if outcomes is not None:
            query = query.where(received_messages.c.outcome.in_(list(outcomes)))
        if reference is not None:
            query = query.where(received_messages.c.reference == reference)
        if ids is not None:
            query = query.where(received_messages.c.id.in_(list(ids)))
        return [
            ReceivedMessage(
                **{**{c.name: getattr(row, c.name) for c in columns}, "raw": getattr(row, "raw", b"")}
            )
            for row in self.conn.execute(query)
        ]

    def store_received(self, message: ReceivedMessage, files: Sequence[StoredAttachment] = ()) -> int:
        """Store a received message and its attachments; return its id.  A
        message whose key is stored already raises ``IntegrityError``."""
        row = attrs.asdict(message, recurse=False)
        row.pop("id")
        row["received_at"] = _utc(message.received_at)
        key = self.conn.execute(sa.insert(received_messages), row).inserted_primary_key
        assert key is not None
        new_id = int(key[0])
        self._insert_attachments(new_id, message.reference, files)
        return new_id

    def _insert_attachments(
        self, message_id: int, reference: str | None, files: Sequence[StoredAttachment]
    ) -> None:
        if files:
            self.conn.execute(
                sa.insert(attachments),
                [
                    {
                        "message_id": message_id,
                        "reference": reference,
                        "filename": f.filename,
                        "content_type": f.content_type,
                        "size": f.size,
                        "data": f.data,
                    }
                    for f in files
                ],
            )

    def release_received(
        self,
        message_id: int,
        outcome: str,
        reference: str | None,
        reason: str | None,
        files: Sequence[StoredAttachment],
    ) -> bool:
        """Move a quarantined message to *outcome* (it could be taken in after
        all), with its attachments; whether it was still in quarantine."""
        moved = self.conn.execute(
            sa.update(received_messages)
            .where(received_messages.c.id == message_id, received_messages.c.outcome == "quarantined")
            .values(outcome=outcome, reference=reference, reason=reason)
        )
        if moved.rowcount != 1:
            return False
        self._insert_attachments(message_id, reference, files)
        return True

    def iter_received(self, chunk: int = 200) -> Iterator[tuple[ReceivedMessage, list[StoredAttachment]]]:
        """Every received message with its raw bytes and its attachments with
        their data, oldest first, *chunk* at a time (keyset pagination)."""
        last = 0
        while True:
            rows = list(
                self.conn.execute(
                    sa.select(received_messages)
                    .where(received_messages.c.id > last)
                    .order_by(received_messages.c.id)
                    .limit(chunk)
                )
            )
            if not rows:
                return
            files: dict[int, list[StoredAttachment]] = {row.id: [] for row in rows}
            for row in self.conn.execute(
                sa.select(attachments)
                .where(attachments.c.message_id.in_(list(files)))
                .order_by(attachments.c.id)
            ):
                files[row.message_id].append(
                    StoredAttachment(row.filename, row.content_type, row.size, row.data, row.id)
                )
            for row in rows:
                values = {c.name: getattr(row, c.name) for c in received_messages.c}
                yield ReceivedMessage(**values), files[row.id]
            last = rows[-1].id

    def attachments_of(self, reference: str) -> list[StoredAttachment]:
        """The attachments kept with a case's messages, without their data."""
        rows = self.conn.execute(
            sa.select(
                attachments.c.id, attachments.c.filename, attachments.c.content_type, attachments.c.size
            )
            .where(attachments.c.reference == reference)
            .order_by(attachments.c.id)
        )
        return [StoredAttachment(r.filename, r.content_type, r.size, None, r.id) for r in rows]

    def case_of_message_ids(self, message_ids: Sequence[str]) -> str | None:
        """The case a notice with one of these Message-IDs was sent from,
        the latest such notice first."""
        if not message_ids:
            return None
        found = self.conn.execute(
            sa.select(notices.c.reference)
            .where(notices.c.message_id.in_(list(message_ids)))
            .order_by(notices.c.id.desc())
            .limit(1)
        ).scalar()
        return None if found is None else str(found)

    def exists(self, reference: str) -> bool:
        """Whether a case has this reference."""
        return (
            self.conn.execute(sa.select(cases.c.reference).where(cases.c.reference == reference)).first()
            is not None
        )

    # -- the outbox --------------------------------------------------------

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
        """Notices in the outbox, oldest first: those of one case, with
        these statuses, by these ways, with these ids, of the cases now at
        these förvaltningar, or (with *due*) those whose next attempt is not
        later than *due*."""
        query = sa.select(notices).order_by(notices.c.id)
        if departments is not None:
            query = query.where(notices.c.reference.in_(_at_departments(departments)))
        if reference is not None:
            query = query.where(notices.c.reference == reference)
        if statuses is not None:
            query = query.where(notices.c.status.in_(list(statuses)))
        if ways is not None:
            query = query.where(notices.c.way.in_(list(ways)))
        if ids is not None:
            query = query.where(notices.c.id.in_(list(ids)))
        if due is not None:
            query = query.where(sa.or_(notices.c.next_attempt.is_(None), notices.c.next_attempt <= _utc(due)))
        if limit is not None:
            query = query.limit(limit)
        return [_notice_from_row(row) for row in self.conn.execute(query)]

    def notices_with(self, references: Sequence[str], statuses: Sequence[str]) -> dict[str, list[Notice]]:
        """The notices of these cases that have one of *statuses*, by reference."""
        found: dict[str, list[Notice]] = {}
        for start in range(0, len(references), 500):
            rows = self.conn.execute(
                sa.select(notices)
                .where(
                    notices.c.reference.in_(list(references[start : start + 500])),
                    notices.c.status.in_(list(statuses)),
                )
                .order_by(notices.c.id)
            )
            for row in rows:
                found.setdefault(row.reference, []).append(_notice_from_row(row))
        return found

    def claim_notice(self, notice_id: int, expected: Sequence[str], now: dt.datetime) -> bool:
        """Mark the notice ``sending`` and count the attempt, if its status
        is still one of *expected*; return whether it was.  Two deliveries
        running at once never both claim a notice."""
        claimed = self.conn.execute(
            sa.update(notices)
            .where(notices.c.id == notice_id, notices.c.status.in_(list(expected)))
            .values(status="sending", attempts=notices.c.attempts + 1, attempted_at=_utc(now))
        )
        return bool(claimed.rowcount == 1)

    def update_notice(self, notice: Notice) -> None:
        """Store the delivery state of *notice*."""
        self.conn.execute(
            sa.update(notices)
            .where(notices.c.id == notice.id)
            .values(
                status=notice.status,
                attempts=notice.attempts,
                next_attempt=None if notice.next_attempt is None else _utc(notice.next_attempt),
                attempted_at=None if notice.attempted_at is None else _utc(notice.attempted_at),
                sent_at=None if notice.sent_at is None else _utc(notice.sent_at),
                address=notice.address,
                last_error=notice.last_error,
            )
        )

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
        self,
        *,
        statuses: Collection[str] | None = None,
        reference: str | None = None,
        departments: Collection[str] | None = None,
    ) -> list[Reminder]:
        """Stored reminders, oldest first."""
        stmt = sa.select(reminders).order_by(reminders.c.id)
        if departments is not None:
            stmt = stmt.where(reminders.c.reference.in_(_at_departments(departments)))
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
        return f"{year}-{self.allocate_references(year, 1):05d}"

    def allocate_references(self, year: int, count: int) -> int:
        """Allocate *count* consecutive numbers of *year*; return the last.

        The counter row is locked by the UPDATE until this transaction ends,
        so concurrent registrations queue for it and never share a number.
        The first registration of a year creates the row; when two do that
        at once, the loser's INSERT fails inside a savepoint and it takes the
        winner's row instead.
        """
        counter = reference_counters.c
        for _attempt in range(3):
            updated = self.conn.execute(
                sa.update(reference_counters).where(counter.year == year).values(last=counter.last + count)
            )
            if updated.rowcount == 1:
                last: int = self.conn.execute(
                    sa.select(counter.last).where(counter.year == year)
                ).scalar_one()
                return last
            try:
                with self.conn.begin_nested():
                    self.conn.execute(sa.insert(reference_counters).values(year=year, last=count))
            except sa.exc.IntegrityError:
                continue  # another transaction created the row first; update it
            return count
        raise TransientStorageError(  # pragma: no cover - needs three lost races in a row
            _("referensräknaren för {year} kunde inte låsas; försök igen").format(year=year)
        )

    def known_external_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of *ids* are stored already.

        *Backend-specific:* on PostgreSQL the look-up is planned afresh for
        the ids at hand.  The driver prepares a statement it has run a few
        times, and the server may then keep a generic plan made while the
        table was still small (a sequential scan): without statistics (no
        ANALYZE yet, or autovacuum off) it keeps that plan however much the
        table grows, and a bulk import into a new database slowed down
        quadratically, from milliseconds to seconds a batch after 90,000
        cases.  Planned with the ids themselves, the primary key is used.
        """
        if self.conn.dialect.name == "postgresql":
            self.conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            found.update(
                self.conn.execute(
                    sa.select(external_ids.c.external_id).where(external_ids.c.external_id.in_(chunk))
                ).scalars()
            )
        return found

    def insert_imported(self, batch: Sequence[ImportedCase]) -> list[str]:
        """Store bulk-imported cases with new references, one statement per
        table for the whole batch; return the references, in batch order.

        References are numbered by the year each case was received, so an
        old case keeps its year.  The notices the imported steps gave rise to
        are stored with status ``imported``: the old system gave them, and
        they are never sent.
        """
        by_year: dict[int, int] = {}
        for item in batch:
            by_year[item.case.registered.year] = by_year.get(item.case.registered.year, 0) + 1
        next_number = {
            year: self.allocate_references(year, count) - count + 1 for year, count in sorted(by_year.items())
        }
        references: list[str] = []
        case_rows: list[dict[str, Any]] = []
        dimension_rows: list[dict[str, Any]] = []
        id_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        notice_rows: list[dict[str, Any]] = []
        # The payloads are what _insert_event writes, json.dumps(...,
        # ensure_ascii=False) of the converter's EventData; with the encoder
        # and the hook looked up once per batch rather than per event, they
        # cost half as much (a million cases have four million events).
        encode = json.JSONEncoder(ensure_ascii=False).encode
        converter = self.converter
        hook = getattr(converter, "get_unstructure_hook", None)  # cattrs 24.1 and later
        unstructure: Callable[[EventData], Any] = (
            hook(EventData) if hook is not None else lambda data: converter.unstructure(data, EventData)
        )
        # Every event of an import is recorded at the same moment.
        recorded_at: dict[dt.datetime, dt.datetime] = {}
        for item in batch:
            year = item.case.registered.year
            reference = f"{year}-{next_number[year]:05d}"
            next_number[year] += 1
            references.append(reference)
            row = self._case_row(item.case)
            row["reference"] = reference
            case_rows.append(row)
            dimension_rows += (
                {"reference": reference, "dimension": d, "position": i}
                for i, d in enumerate(item.case.dimensions)
            )
            id_rows.append({"external_id": item.external_id, "reference": reference})
            notice_rows += (
                {"reference": reference, "seq": seq, "kind": kind, "recipient": recipient, "status": IMPORTED}
                for seq, kind, recipient in item.notices
            )
            for event in item.events:
                moment = recorded_at.get(event.recorded_at)
                if moment is None:
                    moment = recorded_at[event.recorded_at] = _utc(event.recorded_at)
                event_rows.append(
                    {
                        "reference": reference,
                        "seq": event.seq,
                        "type": event.type,
                        "day": event.day,
                        "recorded_at": moment,
                        "actor": event.actor,
                        "payload": encode(unstructure(event.data)),
                    }
                )
        self.conn.execute(_INSERT_CASE, case_rows)
        if dimension_rows:
            self.conn.execute(sa.insert(case_dimensions), dimension_rows)
        self.conn.execute(sa.insert(external_ids), id_rows)
        self.conn.execute(_INSERT_EVENT, event_rows)
        if notice_rows:
            self.conn.execute(_INSERT_NOTICE, notice_rows)
        return references

    def raise_reference_counter(self, year: int, last: int) -> None:
        """Make sure numbers of *year* continue after *last*."""
        current = self.references().get(year)
        if current is None:
            self.conn.execute(sa.insert(reference_counters).values(year=year, last=last))
        elif current < last:
            self.conn.execute(
                sa.update(reference_counters).where(reference_counters.c.year == year).values(last=last)
            )

    def append(self, case: Case, event: Event, owed: Sequence[OwedNotice] = ()) -> None:
        """Store *event* and the projection it led to, checking the version."""
        row = self._case_row(case)
        if event.seq == 1:
            self.conn.execute(_INSERT_CASE, row)
            # Dimensions are set at registration; no later event changes them.
            self._insert_dimensions(case)
            self._insert_external_id(event)
        else:
            row["expected_version"] = case.version - 1
            row["b_reference"] = row.pop("reference")
            updated = self.conn.execute(_UPDATE_CASE, row)
            if updated.rowcount != 1:
                # A locking read sees the version now, not this transaction's
                # snapshot (MariaDB's REPEATABLE READ would show the one this step read).
                found = self.conn.execute(
                    sa.select(cases.c.version)
                    .where(cases.c.reference == case.reference)
                    .with_for_update(read=True)
                ).scalar()
                raise ConflictError(case.reference, expected=case.version - 1, found=found)
        self._insert_event(event, owed)

    def iter_export(self, chunk: int = 500) -> Iterator[tuple[list[Event], list[Notice]]]:
        """Every case's history and outbox notices, by
        reference, *chunk* cases at a time, so that memory stays bounded
        however many cases there are (keyset pagination on the reference)."""
        last = ""
        while True:
            refs = list(
                self.conn.execute(
                    sa.select(cases.c.reference)
                    .where(cases.c.reference > last)
                    .order_by(cases.c.reference)
                    .limit(chunk)
                ).scalars()
            )
            if not refs:
                return
            histories: dict[str, list[Event]] = {ref: [] for ref in refs}
            for row in self._rows_of(events, refs, events.c.seq):
                histories[row.reference].append(self.event_from_row(row))
            owed: dict[str, list[Notice]] = {ref: [] for ref in refs}
            for row in self._rows_of(notices, refs, notices.c.id):
                owed[row.reference].append(_notice_from_row(row))
            for ref in refs:
                yield histories[ref], owed[ref]
            last = refs[-1]

    def restore(self, case: Case, history: Sequence[Event], notices_owed: Sequence[Notice]) -> None:
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
        self._insert_external_id(history[0])
        for event in history:
            self._insert_event(event, ())
        if notices_owed:
            self.conn.execute(
                sa.insert(notices),
                [_notice_row(attrs.evolve(n, reference=case.reference)) for n in notices_owed],
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

    def _insert_external_id(self, event: Event) -> None:
        if isinstance(event.data, Registered) and event.data.external_id is not None:
            self.conn.execute(
                sa.insert(external_ids),
                {"external_id": event.data.external_id, "reference": event.reference},
            )

    def _insert_event(self, event: Event, owed: Sequence[OwedNotice]) -> None:
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
        if owed:
            self.conn.execute(
                _INSERT_NOTICE,
                [
                    {
                        "reference": event.reference,
                        "seq": event.seq,
                        "kind": n.kind,
                        "recipient": n.recipient,
                        "way": n.way,
                        "message_id": n.message_id,
                        "status": n.status,
                        "attempts": 0,
                    }
                    for n in owed
                ],
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
            "contact_preferred": contact.preferred,
            "contact_personnummer": contact.personnummer,
            "contact_protected": contact.protected,
            "forwards": case.forwards,
            "postponements": case.postponements,
            "late_postponements": case.late_postponements,
            "actions": case.actions,
            "praise_passed_on": case.praise_passed_on,
            "paused_since": case.paused_since,
            "secrecy": case.secrecy,
            "resolved_at_once": case.resolved_at_once,
            "summary": case.summary,
            "version": case.version,
        }

    @staticmethod
    def _case_from_row(row: sa.Row[Any], dimensions: tuple[str, ...]) -> Case:
        # One dict, not 33 attribute look-ups on the Row: a worklist builds
        # hundreds of cases, and Row.__getattr__ cost most of the time (~20 µs a case).
        v = dict(zip(row._fields, row, strict=True))
        contact = (
            None
            if v["anonymous"]
            else Contact(
                name=v["contact_name"],
                email=v["contact_email"],
                phone=v["contact_phone"],
                address=v["contact_address"],
                preferred=v["contact_preferred"],
                personnummer=v["contact_personnummer"],
                protected=bool(v["contact_protected"]),
            )
        )
        return Case(
            reference=v["reference"],
            kind=Kind(v["kind"]),
            channel=v["channel"],
            unit=v["unit"],
            department=v["department"],
            text=v["text"],
            received=v["received"],
            registered=v["registered"],
            acknowledge_by=v["acknowledge_by"],
            updated=v["updated"],
            contact=contact,
            dimensions=dimensions,
            serious=bool(v["serious"]),
            state=CaseState(v["state"]),
            level=Level(v["level"]),
            handler=v["handler"],
            respond_by=v["respond_by"],
            acknowledged=v["acknowledged"],
            answered=v["answered"],
            answer_mode=AnswerMode(v["answer_mode"]) if v["answer_mode"] else None,
            closed=v["closed"],
            satisfied=None if v["satisfied"] is None else bool(v["satisfied"]),
            forwards=v["forwards"],
            postponements=v["postponements"],
            late_postponements=v["late_postponements"],
            actions=v["actions"],
            praise_passed_on=bool(v["praise_passed_on"]),
            paused_since=v["paused_since"],
            secrecy=v["secrecy"],
            resolved_at_once=bool(v["resolved_at_once"]),
            summary=v["summary"],
            version=v["version"],
        )

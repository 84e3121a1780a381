"""The SQLAlchemy storage backend's engine: opening a database, checking its
schema, and running units of work in transactions with a bounded lock wait.

Every statement is built with SQLAlchemy Core and runs unchanged on SQLite,
PostgreSQL, MariaDB/MySQL and Microsoft SQL Server.  Backend-specific code is
confined to the functions marked *backend-specific*: here
:func:`_configure_sqlite`, :func:`_connect_args`, the transactions of
:meth:`SqlStorage._sqlite_unit` and :meth:`SqlStorage._server_unit` and the
isolation level of :meth:`SqlStorage.snapshot`; and the error codes that
:mod:`klagomal.storage.sql.errors` reads.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from cattrs import Converter
from sqlalchemy.engine import Connection, Engine

from klagomal.core.errors import ConfigurationError, SchemaError
from klagomal.core.i18n import _
from klagomal.storage.base import DEFAULT_LOCK_WAIT, MigrationBranch
from klagomal.storage.sql.errors import busy_error, translated
from klagomal.storage.sql.unit_of_work import SqlUnitOfWork
from klagomal.storage.tables import SCHEMA_HEAD, SCHEMA_REVISIONS

__all__ = ["SqlStorage"]


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


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


#: The execution option with which a unit of work tells the ``begin``
#: listener of klagomal's own SQLite engine that it begins itself.
_BEGINS_ITSELF = "klagomal_begins_itself"
#: What klagomal last set on a pooled connection, in its ``info``.
_BUSY_MS = "klagomal_busy_timeout_ms"
_INNODB_WAIT = "klagomal_innodb_lock_wait_timeout"
_PG_WAIT = "klagomal_postgresql_lock_timeout"
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
            if (error := translated(exc, self.url)) is None:
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
            if (error := translated(exc, self.url, wait)) is None:
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
        session_wait = None
        try:
            with conn.begin():
                if dialect == "postgresql":
                    session_wait = self._postgresql_lock_wait(conn, wait)
                elif dialect in ("mysql", "mariadb"):
                    restore = self._mysql_lock_wait(conn, wait)
                yield
            if session_wait is not None:
                # Committed, so the session keeps it; a rollback undoes it.
                conn.connection.info[_PG_WAIT] = session_wait
        finally:
            if not conn.invalidated:
                restore()

    def _postgresql_lock_wait(self, conn: Connection, wait: float) -> int | None:
        """*Backend-specific.*  PostgreSQL's lock wait for this transaction.
        On an application's engine, ``SET LOCAL``, which ends with the
        transaction.  On klagomal's own, a session setting, set only when the
        connection does not already have it: a statement less in every
        transaction (each cost the HTTP API a round trip, docs/performance.md,
        issue 21).  PostgreSQL undoes a ``SET`` of a transaction that rolls
        back, so the value is known to be the session's only once this
        transaction commits; returns it then to be noted (``None``: nothing to note)."""
        milliseconds = _milliseconds(wait)
        if not self.owns_engine:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {milliseconds}")
            return None
        info = conn.connection.info
        if info.get(_PG_WAIT) == milliseconds:
            return None
        info.pop(_PG_WAIT, None)
        conn.exec_driver_sql(f"SET SESSION lock_timeout = {milliseconds}")
        return milliseconds

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

"""A database that cannot be used gets a clear error that says what to do, a
transaction the server breaks off for a passing reason is run again, and a
lock that another transaction holds is waited for only as long as the caller
allows.

Against the real PostgreSQL and MariaDB servers (see ``server_url`` in
conftest.py): a stopped server, a refused login, a missing database, and a
real deadlock; and on SQLite too, a real lock held by another connection
(``tests/held_lock.py``).
"""

from __future__ import annotations

import datetime as dt
import io
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import server_url
from held_lock import held_write_lock, lock_released_after
from klagomal import (
    Case,
    ConfigurationError,
    FixedClock,
    Klagomal,
    StorageBackend,
    StorageUnavailableError,
    TransientStorageError,
)
from klagomal import cli as cli_module
from klagomal.storage import tables
from klagomal.storage.sql import SqlStorage
from klagomal.testing import plugin, register

SERVERS = ["postgresql", "mariadb"]
UNREACHABLE = "Kontrollera att databasservern är igång"
LOGIN = "Kontrollera användarnamn och lösenord"
NO_DATABASE = "Databasen finns inte på servern"


def _wrong(backend: str) -> dict[str, tuple[sa.URL, str]]:
    url = sa.make_url(server_url(backend))
    login = (
        url.set(username=f"klagomal_nobody_{uuid.uuid4().hex[:6]}")  # trust auth: an unknown role is refused
        if backend == "postgresql"
        else url.set(password="fel-losenord")
    )
    return {
        "stopped server": (url.set(port=1), UNREACHABLE),
        "refused login": (login, LOGIN),
        "missing database": (url.set(database="klagomal_finns_inte"), NO_DATABASE),
    }


@pytest.mark.parametrize("backend", SERVERS)
@pytest.mark.parametrize("situation", ["stopped server", "refused login", "missing database"])
def test_a_database_that_cannot_be_used_says_what_to_do(backend: str, situation: str) -> None:
    url, hint = _wrong(backend)[situation]
    shown = url.render_as_string(hide_password=True)
    for command in (lambda k: k.init(), lambda k: k.cases(), lambda k: register(k)):
        with Klagomal(url, load_entrypoints=False) as k, pytest.raises(StorageUnavailableError) as caught:
            command(k)
        message = str(caught.value)
        assert message.startswith(f"Kan inte ansluta till databasen {shown}: ")
        assert hint in message
        assert "fel-losenord" not in message


@pytest.mark.parametrize("backend", SERVERS)
def test_the_command_line_says_it_in_swedish_without_a_traceback(
    backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _hint = _wrong(backend)["refused login"]
    status = cli_module.main(
        ["--db", url.render_as_string(hide_password=False), "list"], stdout=io.StringIO()
    )
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("klagomal: Kan inte ansluta till databasen ")
    assert LOGIN in err
    assert "Traceback" not in err
    assert "fel-losenord" not in err


# -- a real deadlock ------------------------------------------------------------------


@pytest.fixture(params=SERVERS)
def server_db(request: pytest.FixtureRequest) -> Iterator[str]:
    """A new database on each server, dropped afterwards."""
    admin_url = sa.make_url(server_url(request.param))
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"klagomal_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
    admin.dispose()


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


def test_a_registration_that_loses_a_deadlock_is_run_again(server_db: str) -> None:
    # Another program holds the row of the next case and then waits for the
    # reference counter, which klagomal's registration holds while it waits
    # for that row: a deadlock.  The server rolls klagomal's transaction back
    # (PostgreSQL: it is the one whose deadlock check runs first; MariaDB: it
    # is the smaller transaction), and klagomal runs the registration again.
    clock = FixedClock(dt.date(2026, 3, 2))
    with Klagomal(server_db, clock=clock, load_entrypoints=False) as k:
        k.init()
        first = register(k)
        engine = sa.create_engine(server_db)
        with engine.connect() as conn:
            template = dict(
                conn.execute(sa.select(tables.cases).where(tables.cases.c.reference == first.reference))
                .one()
                ._mapping
            )
        other = engine.connect()
        other.begin()
        if engine.dialect.name == "postgresql":
            other.exec_driver_sql("SET deadlock_timeout = '30s'")
        # Several rows, so that MariaDB picks klagomal's smaller transaction as the victim.
        other.execute(
            sa.insert(tables.cases), [{**template, "reference": f"2026-{n:05d}"} for n in range(2, 8)]
        )
        results: list[Case | BaseException] = []

        def registration() -> None:
            try:
                results.append(register(k))
            except BaseException as exc:  # reported by the assertion below
                results.append(exc)

        worker = threading.Thread(target=registration)
        worker.start()
        _wait_until(lambda: _waiting_for_a_lock(engine), "klagomal's registration waits for the row")
        # Now take the counter: this waits for klagomal, which waits for us.
        other.execute(
            sa.update(tables.reference_counters)
            .where(tables.reference_counters.c.year == 2026)
            .values(last=tables.reference_counters.c.last)
        )
        # That returned, so the server broke klagomal's transaction off.  Give
        # way, and klagomal's second try goes through.
        other.rollback()
        other.close()
        worker.join(timeout=60)
        engine.dispose()
        assert len(results) == 1
        result = results[0]
        assert isinstance(result, Case), result
        assert result.reference == "2026-00002"
        assert [c.reference for c in k.cases()] == ["2026-00001", "2026-00002"]
        assert k.rebuild(result.reference) == k.get(result.reference)


def _waiting_for_a_lock(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            query = (
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        else:
            query = "SELECT count(*) FROM information_schema.innodb_lock_waits"
        return bool(conn.exec_driver_sql(query).scalar())


# -- a lock another transaction holds ---------------------------------------------

#: How every "the database is busy" error begins.
BUSY = "Databasen är upptagen, försök igen om en stund"
#: The lock wait of these tests, in seconds.
WAIT = 1.0
#: What a lock wait may overshoot by: MariaDB counts it in whole seconds,
#: and the process runs on a shared machine.
SLACK = 1.5
RESPOND_BY = dt.date(2026, 3, 27)

#: What a handler or the public does, each of which needs the write lock.
OPERATIONS: dict[str, Callable[[Klagomal], object]] = {
    "register": lambda k: register(k),
    "a step": lambda k: k.acknowledge("2026-00001", "Hanna", RESPOND_BY),
    "a list read": lambda k: k.cases(),
    "a case read": lambda k: k.get("2026-00001"),
}


@pytest.fixture
def one_case(any_db_url: str) -> str:
    """A database on each backend with one registered case."""
    with Klagomal(any_db_url, clock=FixedClock(dt.date(2026, 3, 2)), load_entrypoints=False) as k:
        k.init()
        register(k)
    return any_db_url


def _rows(url: str) -> dict[str, int]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return {
                table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in (tables.cases, tables.events, tables.notices, tables.audit_log)
            }
    finally:
        engine.dispose()


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_a_held_lock_is_waited_for_at_most_lock_wait(one_case: str, operation: str) -> None:
    # Another transaction holds the lock and does not let go.  The command
    # waits lock_wait seconds over all its tries together, not a busy timeout
    # per try, then says in Swedish that the database is busy, having
    # changed nothing.
    with Klagomal(
        one_case, clock=FixedClock(dt.date(2026, 3, 2)), load_entrypoints=False, lock_wait=WAIT
    ) as k:
        k.cases()  # the schema is checked before the lock is taken
        before = _rows(one_case)
        with held_write_lock(one_case):
            start = time.monotonic()
            with pytest.raises(TransientStorageError) as caught:
                OPERATIONS[operation](k)
            waited = time.monotonic() - start
        assert WAIT * 0.9 <= waited < WAIT + SLACK, waited
        assert str(caught.value).startswith(BUSY + ": ")
        assert "1 s" in str(caught.value)
        assert _rows(one_case) == before
        # The lock is gone: the same instance goes on.
        OPERATIONS[operation](k)


def test_the_first_command_of_a_new_instance_waits_no_longer(one_case: str) -> None:
    # A new instance first checks the schema, a read that must not wait for
    # the write lock (it did: SQLite's BEGIN IMMEDIATE, for 30 seconds).
    with held_write_lock(one_case), Klagomal(one_case, load_entrypoints=False, lock_wait=WAIT) as k:
        start = time.monotonic()
        with pytest.raises(TransientStorageError, match=BUSY):
            k.cases()
        waited = time.monotonic() - start
    assert waited < WAIT + SLACK, waited


def test_a_lock_let_go_within_lock_wait_is_waited_for(one_case: str) -> None:
    with Klagomal(one_case, clock=FixedClock(dt.date(2026, 3, 2)), load_entrypoints=False) as k:
        k.cases()
        patient = k.with_lock_wait(20)
        with lock_released_after(one_case, 0.5):
            start = time.monotonic()
            case = register(patient)
            waited = time.monotonic() - start
        assert 0.4 <= waited < 10, waited
        assert case.reference == "2026-00002"
        assert k.lock_wait == 30  # with_lock_wait left the instance as it was


@pytest.mark.parametrize("value", [0, -1, float("inf"), float("nan"), "5", True])
def test_lock_wait_is_a_positive_number_of_seconds(db_url: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match="lock_wait ska vara ett positivt antal sekunder"):
        Klagomal(db_url, load_entrypoints=False, lock_wait=value)  # type: ignore[arg-type]
    with Klagomal(db_url, load_entrypoints=False) as k:
        with pytest.raises(ConfigurationError, match="lock_wait ska vara ett positivt antal sekunder"):
            k.with_lock_wait(value)  # type: ignore[arg-type]
        assert k.with_lock_wait(2).lock_wait == 2.0


def test_a_pool_without_a_free_connection_is_busy_too(one_case: str) -> None:
    # The application's pool has one connection, which the application holds.
    engine = sa.create_engine(one_case, pool_size=1, max_overflow=0, pool_timeout=0.5)
    try:
        with Klagomal(engine, clock=FixedClock(dt.date(2026, 3, 2)), load_entrypoints=False) as k:
            k.cases()
            with engine.connect():
                start = time.monotonic()
                with pytest.raises(TransientStorageError, match=BUSY):
                    k.cases()
                assert time.monotonic() - start < 0.5 + SLACK
            assert len(k.cases()) == 1
    finally:
        engine.dispose()


class _StorageWithoutLockWait:
    """A plugin's storage written before ``lock_wait`` existed: its units
    of work take no argument (here the SQL storage underneath)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def transaction(self) -> Any:
        return self._inner.transaction()

    def snapshot(self) -> Any:
        return self._inner.snapshot()


def test_a_plugin_storage_without_lock_wait_is_called_without_it(one_case: str) -> None:
    backend = StorageBackend(
        "gammal",
        ("sqlite", "postgresql", "mysql"),
        open=lambda db, converter: _StorageWithoutLockWait(SqlStorage.open(db, converter)),
    )
    old = plugin("gammal", klagomal_storage_backends=lambda: [backend])
    with Klagomal(
        one_case, clock=FixedClock(dt.date(2026, 3, 2)), plugins=[old], load_entrypoints=False
    ) as k:
        assert isinstance(k.storage, _StorageWithoutLockWait)
        assert register(k.with_lock_wait(5)).reference == "2026-00002"
        assert [c.reference for c in k.cases()] == ["2026-00001", "2026-00002"]
        assert len(k.export()["cases"]) == 2

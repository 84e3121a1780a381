"""One ``Klagomal`` shared by several threads, and an ``Engine`` the embedding
application owns, on SQLite, PostgreSQL and MariaDB.

A web application serves its handlers from one instance: every registration
must be stored (R8) under its own number, whatever runs at the same moment,
and every stored projection must stay what the events say.  On the
application's own engine, however the application configured it, the audit
log's hash chain stays whole and no database error reaches the caller
(R27), while the application's own transactions keep its settings.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import register_case
from klagomal import (
    Case,
    CaseState,
    ConfigurationError,
    ConflictError,
    FixedClock,
    InvalidStepError,
    Klagomal,
)
from klagomal.storage import tables

#: A promised date some weeks after the clock's Monday 2 March 2026.
RESPOND_BY = dt.date(2026, 3, 27)
THREADS = 6
CASES_PER_THREAD = 4


@pytest.fixture
def db_url(any_db_url: str) -> str:
    """These tests run on SQLite, PostgreSQL and MariaDB."""
    return any_db_url


@pytest.fixture
def shared(db_url: str, clock: FixedClock) -> Iterator[Klagomal]:
    """A new instance on an initialised database with one case in it, as the
    threads of a running application would find it: the instance has not yet
    checked the schema, so its threads race to do that too."""
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as setup:
        setup.init()
        # The year's counter exists before the threads start: the race for the
        # first number of a year has a test of its own below.
        assert register_case(setup).reference == "2026-00001"
    instance = Klagomal(db_url, clock=clock, load_entrypoints=False)
    yield instance
    instance.dispose()


def _run(target: Callable[[int], None], count: int = THREADS) -> list[BaseException]:
    """Run *target(i)* in *count* threads that start together; the errors they raised."""
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait(timeout=30)
            target(i)
        except BaseException as exc:  # reported by the caller, with the others
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hangs"
    return errors


def test_threads_share_one_instance(shared: Klagomal) -> None:
    # Each thread takes its own cases through register, besked and answer,
    # reading the worklist and its cases between the steps.
    k = shared
    done: dict[int, list[Case]] = {}

    def handler(i: int) -> None:
        mine: list[Case] = []
        for n in range(CASES_PER_THREAD):
            case = register_case(k, text=f"Tråd {i}, ärende {n}")
            assert k.get(case.reference) == case
            case = k.acknowledge(case.reference, f"Handläggare {i}", RESPOND_BY)
            if n % 2 == 0:
                case = k.answer(case.reference, "skriftligt", f"Svar {i}.{n}")
            listed = {c.reference: c for c in k.cases()}
            # What this thread committed is seen at once, as it left it.
            for own in [*mine, case]:
                assert listed[own.reference] == own
            mine.append(case)
        done[i] = mine

    assert _run(handler) == []
    stored = k.cases()
    # Every registration is stored (R8), numbered without gaps or repeats.
    references = [c.reference for c in stored]
    total = 1 + THREADS * CASES_PER_THREAD
    assert references == [f"2026-{n:05d}" for n in range(1, total + 1)]
    by_reference = {c.reference: c for c in stored}
    for i, cases in done.items():
        for n, case in enumerate(cases):
            assert by_reference[case.reference] == case
            assert case.text == f"Tråd {i}, ärende {n}"
            assert case.handler == f"Handläggare {i}"
            assert case.state is (CaseState.BESVARAT if n % 2 == 0 else CaseState.HANDLAGGNING)
    # Each projection is what its events say.
    for case in stored:
        assert k.rebuild(case.reference) == case
    with k.storage.transaction() as uow:
        assert uow.references() == {2026: total}


def test_threads_racing_for_one_step_give_one_besked(shared: Klagomal) -> None:
    # All threads acknowledge the same case at once: one besked is given; every
    # other thread is refused with a klagomal error, never a database error,
    # and the refused ones store nothing.
    k = shared
    ref = "2026-00001"
    given: list[Case] = []

    def handler(i: int) -> None:
        given.append(k.acknowledge(ref, f"Handläggare {i}", RESPOND_BY))

    errors = _run(handler)
    assert len(given) == 1
    assert len(errors) == THREADS - 1
    # SQLite serialises the steps, so the later ones see the besked (InvalidStepError);
    # on a server they may have read the case before it was written (ConflictError).
    assert all(isinstance(e, (ConflictError, InvalidStepError)) for e in errors), errors
    assert all(e.reference == ref for e in errors if isinstance(e, (ConflictError, InvalidStepError)))
    assert k.get(ref) == given[0] == k.rebuild(ref)
    assert [e.type for e in k.history(ref)] == ["registered", "acknowledged"]
    assert k.notices(ref) == [(2, "besked")]


def test_first_references_of_a_year_at_once(db_url: str, clock: FixedClock) -> None:
    # The first registrations of a year find no counter row and both create it.
    # The two are held at that moment until both are there, so that the race is
    # run every time (SQLite serialises them: there the wait times out).  On
    # MariaDB the two INSERTs deadlock and the loser's whole transaction is
    # run again.
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as k:
        k.init()
        k.cases()  # the schema is checked before the race, not during it
        both_found_none = threading.Barrier(2, timeout=1)

        @sa.event.listens_for(k.storage.engine, "after_cursor_execute")
        def hold(
            conn: sa.Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
        ) -> None:
            if statement.lstrip().upper().startswith("UPDATE REFERENCE_COUNTERS") and cursor.rowcount == 0:
                # SQLite: the other one waits for this transaction's lock, so the wait times out.
                with contextlib.suppress(threading.BrokenBarrierError):
                    both_found_none.wait()

        references: list[str] = []
        errors = _run(lambda i: references.append(register_case(k).reference), count=2)
        if errors:
            raise errors[0]
        assert sorted(references) == ["2026-00001", "2026-00002"]
        with k.storage.transaction() as uow:
            assert uow.references() == {2026: 2}


# -- an engine the embedding application owns ------------------------------------


@pytest.fixture
def app_engine(db_url: str) -> Iterator[sa.Engine]:
    """The application's own engine, created and disposed by the application."""
    engine = sa.create_engine(db_url)
    yield engine
    engine.dispose()


def test_klagomal_on_the_applications_engine(app_engine: sa.Engine, clock: FixedClock) -> None:
    # An Engine is used as it is (SqlStorage.open): klagomal stores its cases
    # through it, and the application keeps using it after klagomal is done.
    with app_engine.connect() as held:  # the application's own work, under way throughout
        k = Klagomal(app_engine, clock=clock, load_entrypoints=False)
        assert k.storage.engine is app_engine
        assert k.init()
        ref = register_case(k).reference
        k.acknowledge(ref, "Hanna", RESPOND_BY)
        assert k.rebuild(ref) == k.get(ref)
        k.dispose()
        # The application's open connection and its engine still work, and see klagomal's data.
        assert held.execute(sa.text("SELECT count(*) FROM events")).scalar() == 2
    with app_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT state FROM cases")).scalars().all() == ["handlaggning"]
    # So does a new instance on the same engine.
    with Klagomal(app_engine, clock=clock, load_entrypoints=False) as again:
        assert again.get(ref).handler == "Hanna"
    with app_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM cases")).scalar() == 1


#: How the application may have configured its engine: as SQLAlchemy makes
#: it, in autocommit mode, or at the strictest isolation level (each backend
#: knows all three).
APPLICATION_ISOLATION = [None, "AUTOCOMMIT", "SERIALIZABLE"]
APP_THREADS = 20
ROUNDS = 3


def _twenty_threads(engine: sa.Engine, clock: FixedClock) -> None:
    """Twenty threads share one instance on the application's *engine*,
    as docs/storage.md allows: each reads the worklist and takes a case of
    its own through besked and answer.  Not one fails, with a database error
    or any other, and the audit log is whole, with one entry per command."""
    k = Klagomal(engine, clock=clock, load_entrypoints=False)
    k.init()
    refs = [register_case(k, text=f"Ärende för tråd {i}").reference for i in range(APP_THREADS)]
    entries_before = k.audit_verify().checked

    def handler(i: int) -> None:
        for n in range(ROUNDS):
            listed = k.cases()
            assert refs[i] in {c.reference for c in listed}
            if n == 0:
                k.acknowledge(refs[i], f"Handläggare {i}", RESPOND_BY)
            elif n == 1:
                k.answer(refs[i], "skriftligt", f"Svar {i}")
            else:
                assert k.get(refs[i]).state is CaseState.BESVARAT

    errors = _run(handler, count=APP_THREADS)
    # Not one failure, and above all no raw database error.
    assert errors == [], [f"{type(e).__module__}.{type(e).__name__}: {e}" for e in errors]
    result = k.audit_verify()
    assert result.problems == ()
    # Every list read, step and case read left exactly one entry (and the
    # first audit_verify one more): none lost, none twice.
    assert result.checked == entries_before + 1 + APP_THREADS * ROUNDS * 2
    for ref in refs:
        assert k.rebuild(ref) == k.get(ref)
    k.dispose()


@pytest.mark.parametrize("isolation_level", APPLICATION_ISOLATION)
def test_twenty_threads_on_the_applications_engine_keep_the_audit_chain_whole(
    db_url: str, clock: FixedClock, isolation_level: str | None
) -> None:
    # klagomal's transactions must get what the audit chain needs (one
    # appender at a time, in a real transaction) whatever the engine says.
    options = {} if isolation_level is None else {"isolation_level": isolation_level}
    engine = sa.create_engine(db_url, **options)
    try:
        _twenty_threads(engine, clock)
    finally:
        engine.dispose()


def test_twenty_threads_on_an_engine_that_begins_its_own_sqlite_transactions(
    tmp_path: Path, clock: FixedClock
) -> None:
    # SQLite only: SQLAlchemy's documented recipe for SQLite, which turns
    # the driver's transaction handling off and emits its own (deferred)
    # BEGIN.  klagomal's writes must still take the write lock first.
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'recipe.db'}")

    @sa.event.listens_for(engine, "connect")
    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    try:
        _twenty_threads(engine, clock)
    finally:
        engine.dispose()


def _settings(conn: sa.Connection) -> dict[str, Any]:
    """The settings of the application's connection that klagomal changes
    for its own transactions."""
    name = conn.dialect.name
    if name == "sqlite":
        dbapi: Any = conn.connection.driver_connection
        return {
            "isolation_level": dbapi.isolation_level,
            "busy_timeout": dbapi.execute("PRAGMA busy_timeout").fetchone()[0],
            "foreign_keys": dbapi.execute("PRAGMA foreign_keys").fetchone()[0],
            "journal_mode": dbapi.execute("PRAGMA journal_mode").fetchone()[0],
        }
    settings = {"isolation_level": conn.get_isolation_level()}
    if name == "postgresql":
        settings["lock_timeout"] = conn.exec_driver_sql("SHOW lock_timeout").scalar()
    else:
        wait = conn.exec_driver_sql("SELECT @@SESSION.innodb_lock_wait_timeout").scalar()
        settings["innodb_lock_wait_timeout"] = wait
    conn.rollback()
    return settings


@pytest.mark.parametrize("isolation_level", APPLICATION_ISOLATION)
def test_the_applications_connections_keep_its_own_settings(
    db_url: str, clock: FixedClock, isolation_level: str | None
) -> None:
    # klagomal sets what its transactions need on the connection they run
    # on, and gives the connection back as the application configured it:
    # one connection in the pool, so that klagomal's is the application's.
    options = {} if isolation_level is None else {"isolation_level": isolation_level}
    engine = sa.create_engine(db_url, pool_size=1, max_overflow=0, **options)
    try:
        with engine.connect() as conn:
            before = _settings(conn)
        with Klagomal(engine, clock=clock, load_entrypoints=False, lock_wait=7) as k:
            k.init()
            ref = register_case(k).reference
            k.acknowledge(ref, "Hanna", RESPOND_BY)
            k.cases()
            k.export()
        with engine.connect() as conn:
            assert _settings(conn) == before
        if isolation_level is None:
            # The application's own transaction is still one: rolled back, it leaves nothing.
            with engine.connect() as conn:
                conn.execute(sa.delete(tables.case_dimensions))
                conn.execute(sa.update(tables.cases).values(text="Ändrat av programmet"))
                conn.rollback()
            with engine.connect() as conn:
                assert (
                    conn.execute(sa.select(tables.cases.c.text)).scalar()
                    == "Hemtjänsten kom inte som utlovat."
                )
    finally:
        engine.dispose()


def test_dispose_leaves_an_applications_in_memory_database_alone(clock: FixedClock) -> None:
    # SQLite only: an in-memory database lives as long as its one connection.
    engine = sa.create_engine(
        "sqlite://", poolclass=sa.pool.StaticPool, connect_args={"check_same_thread": False}
    )
    try:
        with Klagomal(engine, clock=clock, load_entrypoints=False) as k:
            k.init()
            ref = register_case(k).reference
        # The application's engine: still the same database, with klagomal's case in it.
        with Klagomal(engine, clock=clock, load_entrypoints=False) as again:
            assert again.get(ref).reference == ref
    finally:
        engine.dispose()


def test_threads_on_an_in_memory_database_take_turns(clock: FixedClock) -> None:
    # SQLite only: an in-memory database is one connection, which the
    # application's StaticPool hands to every thread at once.  klagomal's
    # units of work on it take turns, so that none runs inside another's.
    engine = sa.create_engine(
        "sqlite://", poolclass=sa.pool.StaticPool, connect_args={"check_same_thread": False}
    )
    try:
        k = Klagomal(engine, clock=clock, load_entrypoints=False)
        k.init()
        refs = [register_case(k).reference for _i in range(APP_THREADS)]

        def handler(i: int) -> None:
            for _n in range(ROUNDS):
                k.cases()
            k.acknowledge(refs[i], f"Handläggare {i}", RESPOND_BY)

        errors = _run(handler, count=APP_THREADS)
        assert errors == [], [f"{type(e).__module__}.{type(e).__name__}: {e}" for e in errors]
        assert k.audit_verify().problems == ()
        assert {c.state for c in k.cases()} == {CaseState.HANDLAGGNING}
    finally:
        engine.dispose()


def test_an_in_memory_database_that_each_thread_would_see_empty_is_refused(clock: FixedClock) -> None:
    # SQLite only: SQLAlchemy's default pool for "sqlite://" gives each thread
    # a connection, and so a database, of its own; nothing makes that safe.
    engine = sa.create_engine("sqlite://")
    try:
        with pytest.raises(ConfigurationError) as caught:
            Klagomal(engine, clock=clock, load_entrypoints=False)
        message = str(caught.value)
        assert "SQLite-databas i minnet" in message
        assert "SingletonThreadPool" in message
        assert "StaticPool" in message
    finally:
        engine.dispose()


def test_a_connection_bound_to_one_thread_is_a_clear_error_in_another(clock: FixedClock) -> None:
    # SQLite only: a StaticPool without check_same_thread=False has a
    # connection that only the thread that made it may use.
    engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool)
    try:
        k = Klagomal(engine, clock=clock, load_entrypoints=False)
        k.init()
        register_case(k)
        errors = _run(lambda _i: k.cases(), count=1)
        assert len(errors) == 1
        assert isinstance(errors[0], ConfigurationError), errors
        assert "check_same_thread" in str(errors[0])
        assert len(k.cases()) == 1  # its own thread goes on
    finally:
        engine.dispose()

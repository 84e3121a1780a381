"""One ``Klagomal`` shared by several threads, and an ``Engine`` the embedding
application owns, on SQLite, PostgreSQL and MariaDB.

A web application serves its handlers from one instance: every registration
must be stored (R8) under its own number, whatever runs at the same moment,
and every stored projection must stay what the events say.
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
from klagomal import Case, CaseState, ConflictError, FixedClock, InvalidStepError, Klagomal

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


def test_an_applications_sqlite_engine_is_not_reconfigured(tmp_path: Path, clock: FixedClock) -> None:
    # SQLite only: "used as it is" means klagomal adds none of its own SQLite
    # settings (WAL, BEGIN IMMEDIATE) to an engine the application configured.
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    try:
        with Klagomal(engine, clock=clock, load_entrypoints=False) as k:
            k.init()
            register_case(k)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"
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

"""Two rare paths of a write that another transaction gets in the way of,
each made to happen with a real lock that another connection holds (no
fake of klagomal's code):

- the first registration of a year while another transaction creates the
  year's reference counter (``allocate_references``: on PostgreSQL the
  INSERT fails as a duplicate inside its savepoint and the counter the
  other created is taken; on SQLite and MariaDB the registration waits for
  the other and finds the row);
- a step that loses a deadlock against another transaction holding the
  audit log's head, which every write needs (``Context.write`` runs the
  whole transaction again; on PostgreSQL and MariaDB, where deadlocks
  happen: SQLite lets one writer in at a time).

What klagomal's own connection runs is watched with SQLAlchemy's
``before_cursor_execute`` event: that is how the tests know which path was
taken.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import BACKENDS
from klagomal import Case, FixedClock, Klagomal
from klagomal.storage import tables
from klagomal.testing import register
from test_connections import _wait_until, _waiting_for_a_lock

#: The first working day of 2027.
NEW_YEAR = dt.date(2027, 1, 4)
RESPOND_BY = dt.date(2027, 1, 29)


@pytest.fixture
def k(any_db_url: str) -> Iterator[Klagomal]:
    with Klagomal(any_db_url, clock=FixedClock(NEW_YEAR), load_entrypoints=False, user="system") as instance:
        instance.init()
        yield instance


def _watched(k: Klagomal, word: str) -> list[str]:
    """The first word of each statement klagomal's engine runs from now on
    that names *word*, in order."""
    seen: list[str] = []

    @sa.event.listens_for(k.storage.engine, "before_cursor_execute")
    def watch(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if word in statement.lower():
            seen.append(statement.split(None, 1)[0].upper())

    return seen


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """*call* started in a thread; its result (or exception) lands in the list."""
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(call())
        except BaseException as exc:  # reported by the test's assertion
            results.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, results


def _until_klagomal_waits(engine: sa.Engine) -> None:
    """Until klagomal's transaction waits for the other's lock: what a
    server shows; SQLite shows nothing, so a moment's grace there."""
    if engine.dialect.name == "sqlite":
        time.sleep(0.5)
    else:
        _wait_until(lambda: _waiting_for_a_lock(engine), "klagomal waits for the other transaction's lock")


def test_a_counter_another_transaction_creates_meanwhile_is_taken(k: Klagomal) -> None:
    # A bulk import in another process creates 2027's counter (five cases
    # so far) and has not committed when a handler registers the year's
    # first case here.
    url = k.storage.engine.url
    other = sa.create_engine(url, poolclass=sa.pool.NullPool)
    statements = _watched(k, "reference_counters")
    try:
        with other.connect() as conn:
            transaction = conn.begin()
            conn.execute(sa.insert(tables.reference_counters).values(year=2027, last=5))
            thread, results = _in_thread(lambda: register(k))
            _until_klagomal_waits(other)
            transaction.commit()
            thread.join(60)
        seen = list(statements)
    finally:
        other.dispose()
    [result] = results
    assert isinstance(result, Case), result
    assert result.reference == "2027-00006"
    with k.storage.transaction() as uow:
        assert uow.references() == {2027: 6}
    if url.get_backend_name() == "postgresql":
        # Its UPDATE found no row, its INSERT waited and failed as a
        # duplicate, inside a savepoint; the UPDATE again took the row.
        assert seen == ["UPDATE", "INSERT", "UPDATE", "SELECT"]
    else:
        # Its UPDATE (SQLite: its BEGIN) waited, and then found the row.
        assert seen == ["UPDATE", "SELECT"]


@pytest.mark.parametrize("new_database", [b for b in BACKENDS if BACKENDS[b]], indirect=True)
def test_a_step_that_loses_a_deadlock_is_run_again_and_taken_once(k: Klagomal) -> None:
    # Another program holds the audit log's head (every write appends to
    # the log last) and then wants the case a handler's step has just
    # written: a deadlock.  The server breaks klagomal's transaction off
    # (PostgreSQL: its deadlock check runs first, the other waits 30 s
    # before it checks; MariaDB: it is the smaller transaction), klagomal
    # runs the step again, and it is stored once.
    reference = register(k).reference
    url = k.storage.engine.url
    events = _watched(k, "insert into events")
    other = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with other.connect() as conn:
            transaction = conn.begin()
            if other.dialect.name == "postgresql":
                conn.exec_driver_sql("SET deadlock_timeout = '30s'")
            else:  # heavier than klagomal's step, so that MariaDB picks the step as the victim
                conn.execute(
                    sa.insert(tables.reference_counters), [{"year": 3000 + n, "last": 1} for n in range(40)]
                )
            conn.execute(sa.select(tables.audit_head).with_for_update())
            thread, results = _in_thread(lambda: k.acknowledge(reference, "Hanna Holm", RESPOND_BY))
            _until_klagomal_waits(other)
            # Now want the case klagomal's step holds: this returns only once
            # the server has broken klagomal's transaction off.
            conn.execute(
                sa.update(tables.cases)
                .where(tables.cases.c.reference == reference)
                .values(version=tables.cases.c.version)
            )
            transaction.rollback()  # give way: the second try goes through
            thread.join(60)
        written = list(events)
    finally:
        other.dispose()
    [result] = results
    assert isinstance(result, Case), result
    assert written == ["INSERT", "INSERT"]  # the step's event, written twice, committed once
    assert [e.type for e in k.history(reference)] == ["registered", "acknowledged"]
    assert (result.version, k.get(reference)) == (2, result)
    assert [e.action for e in k.audit_log(reference=reference) if e.detail == "2 acknowledged"] == [
        "handlagga"
    ]
    assert k.audit_verify().ok

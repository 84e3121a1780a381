"""Concurrency and crash safety (issue 5), on SQLite, PostgreSQL and MariaDB.

Handlers in several processes at once, and processes killed with SIGKILL in
the middle of their work, as a power cut or the OOM killer would: every
registration is stored under its own number, without gaps (R8); of two
handlers acting on the same version of a case exactly one wins and the
other is told to reload it; and whatever was killed when, the database that
is left opens, holds only whole cases (each projection equal to a replay of
its events, every event, notice and external id belonging to a stored case)
and goes on numbering where it stopped.  A bulk import that was killed
continues where it stopped when it is run again, and never stores a case
twice, not even when two imports of one file run at the same time.

The other processes are ``tests/concurrency_child.py``, each with its own
``Klagomal`` and connections, started together through a ``ready``/``go``
handshake so that they really run at the same time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import START, register_case
from klagomal import Case, ConflictError, FixedClock, InvalidStepError, Klagomal
from klagomal.cases import lifecycle as lc
from klagomal.intake.bulk import FIELDS
from klagomal.storage import tables

CHILD = Path(__file__).with_name("concurrency_child.py")
#: The first working day of 2027 (New Year's Day is a Friday).
NEW_YEAR = dt.date(2027, 1, 4)
#: A promised date some weeks after the clock's Monday 2 March 2026.
RESPOND_BY = dt.date(2026, 3, 27)

#: The tables whose rows belong to a case, by its reference.
CASE_TABLES = (tables.events, tables.notices, tables.case_dimensions, tables.external_ids, tables.reminders)


@pytest.fixture
def url(any_db_url: str) -> str:
    """These tests run on SQLite, PostgreSQL and MariaDB."""
    return any_db_url


@pytest.fixture
def initialised(url: str) -> str:
    """The URL of a database whose schema is created, and nothing else: no
    case, no reference counter."""
    with Klagomal(url, clock=FixedClock(START), load_entrypoints=False) as k:
        k.init()
    return url


def _backend(url: str) -> str:
    return sa.make_url(url).get_backend_name()


# -- the other processes ---------------------------------------------------------


class ChildFailed(Exception):
    """A child process did not do what it should; the message has its stderr."""


class Child:
    """One ``concurrency_child.py`` process; its stdout read line by line by
    a thread, so that waiting for a line can time out instead of hanging."""

    def __init__(self, folder: Path, name: str, command: str, url: str, day: str, *args: object) -> None:
        self.name = name
        self.stderr_path = folder / f"{name}.stderr"
        with self.stderr_path.open("w") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, str(CHILD), command, url, day, *map(str, args)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _fail(self, what: str) -> None:
        raise ChildFailed(f"{self.name}: {what}; its stderr:\n{self.stderr_path.read_text()[-3000:]}")

    def expect(self, wanted: str, timeout: float = 60) -> None:
        """Wait for the line *wanted* (``ready``, ``stalled``)."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self._fail(f"no {wanted!r} within {timeout} s")
        if line != wanted:
            self._fail(f"{wanted!r} expected, got {line!r}")

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def result(self, timeout: float = 600) -> Any:
        """What the child printed last, after it ended successfully."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self._fail(f"no result within {timeout} s")
        if self.proc.wait(timeout=60) != 0 or line is None:
            self._fail(f"ended with {self.proc.returncode}, last line {line!r}")
        return json.loads(line)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no rollback by the process itself."""
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=60) == -signal.SIGKILL


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Callable[..., Child]]:
    """``children(command, url, *args, day=...)`` starts a child process
    whose clock stands at *day* (default: the tests' Monday); any still
    running when the test ends is killed."""
    started: list[Child] = []

    def start(command: str, url: str, *args: object, day: dt.date = START) -> Child:
        child = Child(tmp_path, f"child{len(started)}", command, url, day.isoformat(), *args)
        started.append(child)
        return child

    yield start
    for child in started:
        if child.proc.poll() is None:
            child.proc.kill()
            child.proc.wait()
        if child.proc.stdin is not None:
            child.proc.stdin.close()


def _start_together(children: list[Child]) -> None:
    """Wait until every child is ready, then let them all go at once."""
    for child in children:
        child.expect("ready")
    for child in children:
        child.go()


def _count(url: str, table: sa.Table = tables.cases) -> int:
    """The rows of *table*, on a connection of its own that is closed again."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    finally:
        engine.dispose()


def _wait_for_count(url: str, child: Child, above: int, timeout: float = 120) -> None:
    """Wait until more than *above* cases are stored, while *child* runs."""
    deadline = time.monotonic() + timeout
    while _count(url) <= above:
        if child.proc.poll() is not None:
            child._fail(f"ended with {child.proc.returncode} before {above} cases were stored")
        if time.monotonic() > deadline:
            child._fail(f"not {above} cases stored within {timeout} s")
        time.sleep(0.01)


#: *Backend-specific.*  The sessions on this database besides the asking one.
_OTHER_SESSIONS = {
    "postgresql": "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    "mysql": "SELECT count(*) FROM information_schema.processlist "
    "WHERE db = database() AND id <> connection_id()",
}


def _wait_until_the_dead_are_gone(url: str, timeout: float = 30) -> None:
    """On a server, wait until the killed process's sessions have ended.

    A COMMIT the process sent just before it died may still be finishing on
    the server; once its session is gone, what it left is final.  (This
    test process holds no other connection to the database meanwhile.)
    """
    query = _OTHER_SESSIONS.get(_backend(url))
    if query is None:
        return  # SQLite: the process is reaped, its locks went with it
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            deadline = time.monotonic() + timeout
            while conn.exec_driver_sql(query).scalar():
                assert time.monotonic() < deadline, "the killed process's session does not end"
                time.sleep(0.05)
                conn.rollback()  # a fresh snapshot for the next look (MariaDB)
    finally:
        engine.dispose()


# -- what must hold whatever happened -----------------------------------------------


def _check_whole(k: Klagomal) -> dict[str, Case]:
    """Check that the database holds only whole cases, and return them.

    Every case has a gapless history that starts with its registration, and
    its stored projection is a replay of that history; no event, notice,
    dimension, external id or reminder belongs to a case that is not stored;
    every notice belongs to a stored event; and each year's reference counter
    is exactly at the highest number of the year, so that the next case gets
    a fresh number and no number is skipped (R8).
    """
    c = tables.cases.c
    with k.storage.engine.connect() as conn:
        for table in CASE_TABLES:
            orphans = conn.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.reference.not_in(sa.select(c.reference)))
            ).scalar_one()
            assert orphans == 0, f"{orphans} rows of {table.name} belong to no stored case"
        without_events = conn.execute(
            sa.select(c.reference).where(c.reference.not_in(sa.select(tables.events.c.reference)))
        ).all()
        assert without_events == [], "cases without events"
        e, n = tables.events.c, tables.notices.c
        stray_notices = conn.execute(
            sa.select(n.reference, n.seq)
            .select_from(
                tables.notices.outerjoin(tables.events, (e.reference == n.reference) & (e.seq == n.seq))
            )
            .where(e.id.is_(None))
        ).all()
        assert stray_notices == [], "notices of events that are not stored"
    stored = {case.reference: case for case in k.cases()}
    histories = k.histories(list(stored))
    for reference, case in stored.items():
        history = histories[reference]
        assert [event.seq for event in history] == list(range(1, len(history) + 1)), reference
        assert history[0].type == "registered", reference
        assert case.version == len(history), reference
        assert lc.replay(history) == case, reference
    numbers: dict[int, list[int]] = {}
    for reference in stored:
        year, number = reference.split("-")
        numbers.setdefault(int(year), []).append(int(number))
    with k.storage.transaction() as uow:
        counters = uow.references()
    for year, used in numbers.items():
        assert sorted(used) == list(range(1, len(used) + 1)), f"references of {year} have gaps"
        assert counters.get(year) == len(used), f"the counter of {year} is not at its last case"
    return stored


# -- references under concurrent registration ----------------------------------------


PROCESSES = 8
REGISTRATIONS = 250


def test_eight_processes_registering_at_once_get_unique_gapless_references(
    initialised: str, children: Callable[..., Child]
) -> None:
    # 2,000 registrations from 8 processes at once on a new database: they
    # race to create the year's counter row (the next test makes sure that
    # race is run), then queue for it (SQLite: BEGIN IMMEDIATE; servers: the
    # row's lock), so no two share a number and none is skipped (R8).
    racers = [children("register_many", initialised, REGISTRATIONS) for _ in range(PROCESSES)]
    started = time.perf_counter()
    _start_together(racers)
    results = [child.result() for child in racers]
    seconds = time.perf_counter() - started
    print(f"\n{_backend(initialised)}: {PROCESSES * REGISTRATIONS} registrations in {seconds:.1f} s")
    total = PROCESSES * REGISTRATIONS
    references = [ref for result in results for ref in result["references"]]
    # Each process got its own numbers, in increasing order as it registered;
    # together they are every number from the first on, once (R8).
    for result in results:
        assert result["references"] == sorted(result["references"])
    assert sorted(references) == [f"2026-{n:05d}" for n in range(1, total + 1)]
    with Klagomal(initialised, clock=FixedClock(START), load_entrypoints=False) as k:
        stored = _check_whole(k)
        assert sorted(stored) == sorted(references)
        # Each case is the one its process registered under that number.
        texts = {ref: f"Ärende {n}" for result in results for n, ref in enumerate(result["references"])}
        assert all(case.text == texts[ref] for ref, case in stored.items())
        assert register_case(k).reference == f"2026-{total + 1:05d}"


def test_first_registrations_of_a_new_year_race_for_its_counter(
    initialised: str, children: Callable[..., Child]
) -> None:
    # The first registrations of 2027 find no counter row for the year, and
    # every one of them would create it.  Each process is held a moment after
    # it found none, so that all of them have looked before any creates it:
    # the race is run every time, not by luck.  On PostgreSQL the losers'
    # INSERTs fail as duplicates and they take the winner's row; on MariaDB
    # they deadlock on the gap where the row would be, and the transactions
    # the server ends are run again.  (SQLite lets one writer in at a time, so
    # there the others find the row.)
    with Klagomal(initialised, clock=FixedClock(START), load_entrypoints=False) as k:
        assert register_case(k).reference == "2026-00001"  # the old year's row is no help
    racers = [children("register_many", initialised, 3, 0.5, day=NEW_YEAR) for _ in range(4)]
    _start_together(racers)
    references = sorted(ref for child in racers for ref in child.result()["references"])
    assert references == [f"2027-{n:05d}" for n in range(1, 13)]
    with Klagomal(initialised, clock=FixedClock(NEW_YEAR), load_entrypoints=False) as k:
        _check_whole(k)
        with k.storage.transaction() as uow:
            assert uow.references() == {2026: 1, 2027: 12}


# -- two handlers on one case ---------------------------------------------------------


def _hold_reads(k: Klagomal, barrier: threading.Barrier, armed: threading.Event) -> None:
    """While *armed*, hold each read of a case at *barrier*, so that both
    handlers have read it in their transactions before either writes."""

    @sa.event.listens_for(k.storage.engine, "after_cursor_execute")
    def hold(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if armed.is_set() and statement.lstrip().upper().startswith("SELECT CASES.REFERENCE"):
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()


def test_two_handlers_acting_on_the_same_version_one_wins_the_other_reloads(url: str) -> None:
    # Hanna informs the person and Olle postpones, both on the version their
    # screens showed.  Either step alone is allowed; together, exactly one is
    # stored, and the other handler is told that the case changed, to what
    # version, to reload it, and that their step was not taken.
    clock = FixedClock(START)
    with Klagomal(url, clock=clock, load_entrypoints=False) as setup:
        setup.init()
        ref = register_case(setup).reference
        setup.acknowledge(ref, "Hanna", RESPOND_BY)
    hanna = Klagomal(url, clock=clock, load_entrypoints=False)
    olle = Klagomal(url, clock=clock, load_entrypoints=False)
    try:
        seen = hanna.get(ref)
        assert olle.get(ref) == seen
        assert seen.version == 2
        armed = threading.Event()
        if _backend(url) != "sqlite":
            # Both transactions read the case before either writes: the loser
            # passed the early version check and is stopped by the one at the
            # write.  (SQLite lets one writer in at a time: the loser reads the
            # new version and is stopped before deciding.)
            both_read = threading.Barrier(2, timeout=10)
            _hold_reads(hanna, both_read, armed)
            _hold_reads(olle, both_read, armed)
        steps: dict[str, Callable[[int], Case]] = {
            "inform": lambda version: hanna.inform(ref, "Vi utreder.", expected_version=version),
            "postpone": lambda version: olle.postpone(
                ref,
                RESPOND_BY + dt.timedelta(days=14),
                "Vi väntar på ett yttrande.",
                expected_version=version,
            ),
        }
        won: dict[str, Case] = {}
        lost: dict[str, BaseException] = {}

        def act(step: str) -> None:
            try:
                won[step] = steps[step](seen.version)
            except BaseException as exc:  # judged below
                lost[step] = exc

        armed.set()
        threads = [threading.Thread(target=act, args=(step,)) for step in steps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        armed.clear()
        assert (len(won), len(lost)) == (1, 1), (won, lost)
        [(winner, case)] = won.items()
        [(loser, error)] = lost.items()
        assert isinstance(error, ConflictError), repr(error)
        assert (error.reference, error.step) == (ref, loser)
        assert (error.expected, error.found) == (2, 3)
        message = str(error)
        assert ref in message, message
        assert "Läs in det igen" in message, message
        assert "version 2, nu 3" in message, message
        # Nothing of the loser was stored: the winner's step is the last event,
        # and the only notice besides the besked is the winner's.
        notice = {"inform": "information", "postpone": "forsening"}
        assert [e.type for e in hanna.history(ref)] == [
            "registered",
            "acknowledged",
            {"inform": "informed", "postpone": "postponed"}[winner],
        ]
        assert hanna.notices(ref) == [(2, "besked"), (3, notice[winner])]
        assert hanna.get(ref) == case == hanna.rebuild(ref)
        # The loser reloads, sees what the winner did, and acts again on version 3.
        assert steps[loser](hanna.get(ref).version).version == 4
    finally:
        hanna.dispose()
        olle.dispose()


def test_processes_stepping_one_case_keep_its_history_whole(url: str, children: Callable[..., Child]) -> None:
    # Without an expected version, each step reads the case in its own
    # transaction; steps that collide are refused at the write, never stored
    # half or twice.  Four processes take 30 steps each on one case.
    with Klagomal(url, clock=FixedClock(START), load_entrypoints=False) as setup:
        setup.init()
        ref = register_case(setup).reference
        setup.acknowledge(ref, "Hanna", RESPOND_BY)
    handlers = [children("step_many", url, ref, 30, f"h{i}") for i in range(4)]
    _start_together(handlers)
    outcomes = [outcome for child in handlers for outcome in child.result()["outcomes"]]
    refused = [o for o in outcomes if isinstance(o, str)]
    taken = dict(o for o in outcomes if not isinstance(o, str))
    assert set(refused) <= {ConflictError.__name__, InvalidStepError.__name__}
    with Klagomal(url, clock=FixedClock(START), load_entrypoints=False) as k:
        _check_whole(k)
        history = k.history(ref)
        # Every step that succeeded is stored once, under the version it
        # reported; nothing else is.
        assert len(taken) == len(outcomes) - len(refused), "two steps reported the same version"
        assert {e.seq: e.data.text for e in history[2:]} == taken  # type: ignore[union-attr]
        assert k.notices(ref) == [(2, "besked")] + [
            (e.seq, "information") for e in history[2:] if e.type == "informed"
        ]
        assert k.get(ref) == k.rebuild(ref)


# -- a process killed while it registers ------------------------------------------------


def test_a_process_killed_while_registering_leaves_a_whole_database(
    initialised: str, children: Callable[..., Child]
) -> None:
    # First killed at whatever moment it happens to be at, then killed inside
    # a registration's transaction (its case and event written, not
    # committed): either way, what is left is whole, and the next
    # registration gets the next number at once (no lock left behind).
    url = initialised
    running = children("register_forever", url)
    _start_together([running])
    _wait_for_count(url, running, above=40)
    running.kill()
    _wait_until_the_dead_are_gone(url)
    first = _count(url)
    with Klagomal(url, clock=FixedClock(START), load_entrypoints=False) as k:
        assert len(_check_whole(k)) == first

    stalled = children("register_forever", url, 10)
    _start_together([stalled])
    stalled.expect("stalled")
    stalled.kill()
    _wait_until_the_dead_are_gone(url)
    with Klagomal(url, clock=FixedClock(START), load_entrypoints=False) as k:
        stored = _check_whole(k)
        assert len(stored) == first + 10
        started = time.perf_counter()
        case = register_case(k)
        assert time.perf_counter() - started < 5
        assert case.reference == f"2026-{first + 11:05d}"
        assert k.rebuild(case.reference) == case
        assert _check_whole(k).keys() == {*stored, case.reference}


# -- a bulk import killed --------------------------------------------------------------

UNITS = (
    "soc-aldre-hemtjanst-norr",
    "soc-ifo-forsorjningsstod",
    "bou-forskola-ekorren",
    "sbf-gatapark-park",
    "kof-bibliotek",
    "klf-kontaktcenter",
)
CHANNELS = ("telefon", "epost", "brev", "besok", "webbformular")
KINDS = ("klagomal", "forslag", "berom")


def _import_rows(count: int) -> Iterator[dict[str, Any]]:
    """*count* valid rows from an old register, received over 2025 and early
    2026 (so references of two years), anonymous and not, in every stage
    from registered to closed."""
    first = dt.date(2025, 1, 1)
    for i in range(count):
        received = first + dt.timedelta(days=i * 7 % 400)
        row: dict[str, Any] = {
            "external_id": f"gamla-{i:05d}",
            "kind": KINDS[i % 3],
            "channel": CHANNELS[i % 5],
            "unit": UNITS[i % len(UNITS)],
            "text": f"Ärende {i} ur det gamla systemet",
            "received": received.isoformat(),
        }
        # Every tenth is anonymous, by telephone, and only registered.
        anonymous = i % 10 == 0
        if not anonymous:
            row.update(name=f"Person {i}", email=f"person{i}@example.se")
        if i % 3 == 0:
            row["dimensions"] = ["bemotande", "kompetens"][: 1 + i % 2]
        stage = i % 5
        if stage >= 1:
            acknowledged = received + dt.timedelta(days=2)
            row.update(
                handler="Lena Holm",
                acknowledged=acknowledged.isoformat(),
                respond_by=(acknowledged + dt.timedelta(days=21)).isoformat(),
            )
        if stage >= 2:
            row.update(answered=(received + dt.timedelta(days=12)).isoformat(), answer="Vi har åtgärdat det.")
        if stage >= 3:
            row.update(closed=(received + dt.timedelta(days=15)).isoformat(), satisfied=i % 2 == 0)
        assert set(row) <= set(FIELDS)
        yield row


def _import_file(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for row in _import_rows(count):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def _external_ids(k: Klagomal) -> dict[str, str]:
    """Every stored external id with its case's reference."""
    with k.storage.engine.connect() as conn:
        rows = conn.execute(sa.select(tables.external_ids)).all()
    return {row.external_id: row.reference for row in rows}


ROWS = 5000
BATCH = 100


@pytest.mark.parametrize("when", ["anywhere", "inside-a-batch"])
def test_a_killed_bulk_import_continues_where_it_stopped(
    when: str, initialised: str, children: Callable[..., Child], tmp_path: Path
) -> None:
    # Killed at whatever moment it happens to be at, or inside the
    # transaction of its eighth batch (rows written, not committed): whole
    # batches are stored, nothing of the one in flight, and running the
    # import again stores exactly the rest.
    url = initialised
    source = _import_file(tmp_path / "gamla.jsonl", ROWS)
    if when == "anywhere":
        importer = children("import_file", url, source, BATCH)
        _start_together([importer])
        _wait_for_count(url, importer, above=5 * BATCH)
    else:
        importer = children("import_file", url, source, BATCH, 7)
        _start_together([importer])
        importer.expect("stalled")
    importer.kill()
    _wait_until_the_dead_are_gone(url)
    assert not (tmp_path / "gamla.jsonl.rejected.jsonl").exists()  # every row is valid
    with Klagomal(url, clock=FixedClock(START), load_entrypoints=False) as k:
        before = _check_whole(k)
        stored = len(before)
        assert 0 < stored < ROWS
        # No row was rejected, so whole batches are whole multiples of the batch size.
        assert stored % BATCH == 0, stored
        if when == "inside-a-batch":
            assert stored == 7 * BATCH
        ids_before = _external_ids(k)
        assert len(ids_before) == stored
        assert set(ids_before) == {f"gamla-{i:05d}" for i in range(stored)}  # the file's first rows

        result = k.import_cases(source, batch_size=BATCH)
        assert (result.read, result.imported, result.skipped, result.rejected) == (
            ROWS,
            ROWS - stored,
            stored,
            0,
        )
        after = _check_whole(k)
        assert len(after) == ROWS
        ids = _external_ids(k)
        assert set(ids) == {f"gamla-{i:05d}" for i in range(ROWS)}
        assert len(set(ids.values())) == ROWS  # each external id is one case
        # What the killed run stored is left as it was.
        assert {i: ids[i] for i in ids_before} == ids_before
        assert {ref: after[ref] for ref in before} == before


# -- the same file twice ----------------------------------------------------------------


def test_importing_a_file_again_stores_nothing_twice(initialised: str, tmp_path: Path) -> None:
    source = _import_file(tmp_path / "gamla.jsonl", 1000)
    with Klagomal(initialised, clock=FixedClock(START), load_entrypoints=False) as k:
        first = k.import_cases(source, batch_size=BATCH)
        assert (first.imported, first.skipped, first.rejected) == (1000, 0, 0)
        stored = _check_whole(k)
        ids = _external_ids(k)
        again = k.import_cases(source, batch_size=BATCH)
        assert (again.read, again.imported, again.skipped, again.rejected) == (1000, 0, 1000, 0)
        assert _check_whole(k) == stored
        assert _external_ids(k) == ids


def test_two_processes_importing_one_file_at_once_store_each_case_once(
    initialised: str, children: Callable[..., Child], tmp_path: Path
) -> None:
    # Two operators start the same import at the same moment.  Each checks
    # which external ids are stored before it stores a batch; the one that
    # loses the race finds them stored by the other (the external id is the
    # key) and leaves them out.  (With batches of different sizes, see the
    # next test.)
    rows = 2000
    source = _import_file(tmp_path / "gamla.jsonl", rows)
    importers = [children("import_file", initialised, source, BATCH) for _ in range(2)]
    _start_together(importers)
    results = [child.result() for child in importers]
    for result in results:
        assert (result["read"], result["rejected"]) == (rows, 0)
        assert result["imported"] + result["skipped"] == rows
    assert sum(result["imported"] for result in results) == rows
    with Klagomal(initialised, clock=FixedClock(START), load_entrypoints=False) as k:
        assert len(_check_whole(k)) == rows
        ids = _external_ids(k)
        assert set(ids) == {f"gamla-{i:05d}" for i in range(rows)}
        assert len(set(ids.values())) == rows


def test_an_import_that_loses_the_race_twice_in_one_batch_still_stores_each_case_once(
    initialised: str, tmp_path: Path
) -> None:
    # Another import of the same file, with batches of 70, is always one batch
    # ahead: it stores its next batch each time this import (batches of 100)
    # has looked up which ids are stored and is about to write.  The first
    # batch of 100 then loses twice: to the other's rows 1-70, and, after
    # leaving those out, to its rows 71-140.  Run in one process, in that
    # order, so that the interleaving is the same every time.
    rows = 400
    source = _import_file(tmp_path / "gamla.jsonl", rows)
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    ahead = []
    for n, start in enumerate(range(0, rows, 70)):
        part = tmp_path / f"del{n}.jsonl"
        part.write_text("".join(lines[start : start + 70]), encoding="utf-8")
        ahead.append(part)
    clock = FixedClock(START)
    with (
        Klagomal(initialised, clock=clock, load_entrypoints=False) as k,
        Klagomal(initialised, clock=clock, load_entrypoints=False) as other,
    ):
        other_imported = 0
        looked_up = False

        @sa.event.listens_for(k.storage.engine, "after_cursor_execute")
        def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            nonlocal looked_up
            looked_up = statement.lstrip().upper().startswith("SELECT EXTERNAL_IDS.EXTERNAL_ID")

        # When the look-up's transaction has ended and its connection is back
        # in the pool, so that this import holds no lock while the other writes.
        @sa.event.listens_for(k.storage.engine.pool, "checkin")
        def other_goes_first(*args: Any) -> None:
            nonlocal looked_up, other_imported
            if looked_up and ahead:
                looked_up = False
                other_imported += other.import_cases(ahead.pop(0), batch_size=70).imported

        result = k.import_cases(source, batch_size=BATCH)
        assert (result.read, result.rejected) == (rows, 0)
        assert result.imported + other_imported == rows
        assert result.imported + result.skipped == rows
        assert len(_check_whole(k)) == rows
        ids = _external_ids(k)
        assert set(ids) == {f"gamla-{i:05d}" for i in range(rows)}

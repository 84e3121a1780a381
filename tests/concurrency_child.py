"""The other processes of ``test_concurrency.py``: handlers, importers and
registrations that the test runs beside itself, or kills.

Run as ``python tests/concurrency_child.py COMMAND URL DAY [ARGS...]``.  A
child opens its own :class:`~klagomal.Klagomal` (its own engine, its own
connections), as a handler on another machine would, and checks the schema
before it says ``ready``; it then waits for ``go`` on stdin, so that every
child starts at the same moment, and ends by printing one JSON line with
what it did.  Not a test module (pytest collects ``test_*.py`` only).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from typing import Any

import sqlalchemy as sa

from klagomal import ConflictError, FixedClock, InvalidStepError, Klagomal
from klagomal.testing import register


def _open(url: str, day: str) -> Klagomal:
    k = Klagomal(url, clock=FixedClock(dt.date.fromisoformat(day)), load_entrypoints=False)
    k.cases(state="avslutat")  # the schema check and the first connection, before the start
    return k


def _ready_and_wait() -> None:
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("no go")


def _done(result: Any) -> None:
    print(json.dumps(result), flush=True)


def _hold_first_counter_insert(k: Klagomal, seconds: float) -> None:
    """Wait *seconds* after this process first finds no counter row for the
    year, once: every racer then finds none before anyone creates it, so the
    race for the first number of a year is run every time, not by luck."""
    held = False

    @sa.event.listens_for(k.storage.engine, "after_cursor_execute")
    def hold(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal held
        counter = statement.lstrip().upper().startswith("UPDATE REFERENCE_COUNTERS")
        if counter and not held and cursor.rowcount == 0:
            held = True
            time.sleep(seconds)


def register_many(url: str, day: str, count: str, hold: str = "0") -> None:
    """Register *count* cases; print their references in order."""
    with _open(url, day) as k:
        if float(hold):
            _hold_first_counter_insert(k, float(hold))
        _ready_and_wait()
        started = time.perf_counter()
        references = [register(k, text=f"Ärende {n}").reference for n in range(int(count))]
        _done({"references": references, "seconds": time.perf_counter() - started})


def _stall_in_transaction(k: Klagomal, after: int) -> None:
    """Stop for good inside the write transaction that stores events for the
    (*after* + 1)-th time, after its events are written and before it
    commits, and say ``stalled``: the test kills the process right there."""
    seen = 0

    @sa.event.listens_for(k.storage.engine, "after_cursor_execute")
    def stall(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal seen
        if statement.lstrip().upper().startswith("INSERT INTO EVENTS "):
            seen += 1
            if seen > after:
                print("stalled", flush=True)
                time.sleep(600)


def register_forever(url: str, day: str, stall_after: str = "-1") -> None:
    """Register cases until killed (or stalled, see :func:`_stall_in_transaction`)."""
    with _open(url, day) as k:
        if int(stall_after) >= 0:
            _stall_in_transaction(k, int(stall_after))
        _ready_and_wait()
        n = 0
        while True:
            register(k, text=f"Ärende {n}", dimensions=["bemotande", "kompetens"][: n % 3])
            n += 1


def step_many(url: str, day: str, reference: str, count: str, who: str) -> None:
    """Take *count* steps on one case, each without an expected version, as
    fast as possible; print what became of each: the version the step gave
    the case, or the name of the error that refused it."""
    outcomes: list[Any] = []
    with _open(url, day) as k:
        _ready_and_wait()
        for n in range(int(count)):
            text = f"{who}:{n}"
            step = k.inform if n % 2 else k.record_action
            try:
                case = step(reference, text)
            except (ConflictError, InvalidStepError) as exc:
                # The test checks the name; the case must be this one.
                outcomes.append(type(exc).__name__ if exc.reference == reference else repr(exc))
            else:
                outcomes.append([case.version, text])
        _done({"outcomes": outcomes})


def import_file(url: str, day: str, path: str, batch_size: str, stall_after: str = "-1") -> None:
    """Bulk-import *path*; print the result (or stall in the batch after
    *stall_after* batches, see :func:`_stall_in_transaction`)."""
    with _open(url, day) as k:
        if int(stall_after) >= 0:
            _stall_in_transaction(k, int(stall_after))
        _ready_and_wait()
        result = k.import_cases(path, batch_size=int(batch_size))
        _done(
            {
                "read": result.read,
                "imported": result.imported,
                "skipped": result.skipped,
                "rejected": result.rejected,
            }
        )


COMMANDS = {f.__name__: f for f in (register_many, register_forever, step_many, import_file)}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])

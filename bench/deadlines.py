"""How fast klagomal counts working days, against workalendar on the same inputs.

Every deadline klagomal sets or shows (the besked within ten working days,
R7; the promised response time, R10, R11; the overdue lists) is a count of
Swedish working days.  The issue asks that a single count be at least 100
times faster than workalendar's ``Sweden().add_working_days``, which walks
day by day, and that imports and reports have a bulk path.  This measures,
in one run and on the same seeded random inputs (dates 2005–2099, where
workalendar's Sweden is right):

* (a) a single ``add_working_days`` with n = 10, the besked deadline;
* (b) a single ``add_working_days`` with n drawn from 1..40, promised
  response times;
* (c) the bulk path, ``add_working_days_many``, over many (date, n) pairs,
  against workalendar looping over the same pairs;
* (d) ``working_days_between`` (single and bulk) against workalendar's
  ``get_working_days_delta``, for spans of 0..60 days;
* the one-off cost of the index: the first use of ``swedish_calendar()`` in
  a fresh process (importing workalendar, then the holidays and the index,
  timed apart), building a new calendar over an existing rule in this
  process, and the memory an index keeps.

Before anything is timed, every result is checked to be identical to
workalendar's.  Times are the best of several repeats (``timeit``, garbage
collection off), divided by the number of calls, and include the cost of
the list comprehension that makes the calls, the same for both sides.
Results are recorded in docs/performance.md.

    python bench/deadlines.py [--pairs 20000] [--bulk 100000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import subprocess
import sys
import timeit
import tracemalloc
from collections.abc import Callable, Sequence
from importlib.metadata import version

from workalendar.europe import Sweden

from klagomal.deadlines.calendars import WorkingCalendar, swedish_calendar

TARGET = 100.0
SEED = 20261123
FIRST, LAST = dt.date(2005, 1, 1), dt.date(2099, 12, 31)

# Run in a fresh interpreter, so that nothing is imported or cached yet.
_FIRST_USE = """
import datetime, time
started = time.perf_counter()
import workalendar.europe
imported = time.perf_counter()
from klagomal.deadlines.calendars import swedish_calendar
built = time.perf_counter()
swedish_calendar().is_working_day(datetime.date(2026, 3, 2))
done = time.perf_counter()
print(imported - started, done - built)
"""


def _random_dates(rng: random.Random, first: dt.date, last: dt.date, count: int) -> list[dt.date]:
    low, high = first.toordinal(), last.toordinal()
    return [dt.date.fromordinal(rng.randint(low, high)) for _ in range(count)]


def _best(call: Callable[[], object], repeats: int) -> float:
    return min(timeit.repeat(call, number=1, repeat=repeats))


def _once(call: Callable[[], list[object]]) -> tuple[float, list[object]]:
    """Seconds for one run of *call* (garbage collection off, as in timeit), and its result."""
    kept: list[list[object]] = []
    seconds = _best(lambda: kept.append(call()), 1)
    return seconds, kept[0]


def _check(what: str, ours: Sequence[object], theirs: Sequence[object]) -> None:
    differ = sum(a != b for a, b in zip(ours, theirs, strict=True))
    if differ:
        raise SystemExit(f"FAIL {what}: {differ} of {len(ours)} results differ from workalendar's")


def _first_use(runs: int) -> tuple[float, float]:
    """Median seconds, in fresh processes, to import workalendar and then to build the Swedish index."""
    imports, builds = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _FIRST_USE], capture_output=True, text=True, check=True
        ).stdout.split()
        imports.append(float(out[0]))
        builds.append(float(out[1]))
    return statistics.median(imports), statistics.median(builds)


def _memory(se: WorkingCalendar) -> float:
    """MiB kept by the index of a new calendar like *se*."""
    tracemalloc.start()
    calendar = se.with_closed_days([])
    calendar.is_working_day(FIRST)
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return size / 2**20


def _line(label: str, ours: float, theirs: float, calls: int) -> float:
    ratio = theirs / ours
    print(f"{label:<46} {1e6 * ours / calls:7.3f} µs {1e6 * theirs / calls:10.2f} µs {ratio:7.0f}x")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20_000, help="inputs for the single-call timings")
    parser.add_argument("--bulk", type=int, default=100_000, help="pairs for the bulk timing")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of our timings (best is kept)")
    args = parser.parse_args()
    repeats, slow = args.repeats, max(1, args.repeats // 2)  # workalendar is slow enough to be steady

    rng = random.Random(SEED)
    wk = Sweden()
    se = swedish_calendar()
    se.is_working_day(FIRST)  # build the index now; its cost is measured separately below
    ours_add, theirs_add = se.add_working_days, wk.add_working_days
    between, delta = se.working_days_between, wk.get_working_days_delta

    days = _random_dates(rng, FIRST, LAST, args.pairs)
    ns = [rng.randint(1, 40) for _ in range(args.pairs)]
    bulk_days = _random_dates(rng, FIRST, LAST, args.bulk)
    bulk_ns = [rng.randint(1, 40) for _ in range(args.bulk)]
    recent_days = _random_dates(rng, dt.date(2024, 1, 1), dt.date(2027, 12, 31), args.bulk)
    starts = _random_dates(rng, FIRST, LAST, args.pairs)
    ends = [start + dt.timedelta(days=rng.randint(0, 60)) for start in starts]

    # Identical answers first: a fast wrong answer is worth nothing.  Every
    # result timed below is compared with workalendar's on the same inputs.
    # workalendar takes seconds over the bulk pairs: those loops run once,
    # timed, and give the expected results too.
    c_wk, bulk_theirs = _once(lambda: [theirs_add(d, n) for d, n in zip(bulk_days, bulk_ns, strict=True)])
    c_ten_wk, ten_theirs = _once(lambda: [theirs_add(d, 10) for d in bulk_days])
    c_recent_wk, recent_theirs = _once(
        lambda: [theirs_add(d, n) for d, n in zip(recent_days, bulk_ns, strict=True)]
    )
    expected: dict[str, list[object]] = {
        "(a)": [theirs_add(d, 10) for d in days],
        "(b)": [theirs_add(d, n) for d, n in zip(days, ns, strict=True)],
        "(c)": bulk_theirs,
        "(c) n = 10": ten_theirs,
        "(c) 2024-2027": recent_theirs,
        "(d)": [delta(s, e) for s, e in zip(starts, ends, strict=True)],
    }
    checked = 0
    for what, ours in (
        ("(a)", [ours_add(d, 10) for d in days]),
        ("(b)", [ours_add(d, n) for d, n in zip(days, ns, strict=True)]),
        ("(c)", se.add_working_days_many(bulk_days, bulk_ns)),
        ("(c)", [ours_add(d, n) for d, n in zip(bulk_days, bulk_ns, strict=True)]),
        ("(c) n = 10", se.add_working_days_many(bulk_days, 10)),
        ("(c) n = 10", [ours_add(d, 10) for d in bulk_days]),
        ("(c) 2024-2027", se.add_working_days_many(recent_days, bulk_ns)),
        ("(c) 2024-2027", [ours_add(d, n) for d, n in zip(recent_days, bulk_ns, strict=True)]),
        ("(d)", [between(s, e) for s, e in zip(starts, ends, strict=True)]),
        ("(d)", se.working_days_between_many(starts, ends)),
    ):
        _check(what, ours, expected[what])
        checked += len(ours)

    a_ours = _best(lambda: [ours_add(d, 10) for d in days], repeats)
    a_wk = _best(lambda: [theirs_add(d, 10) for d in days], slow)
    b_ours = _best(lambda: [ours_add(d, n) for d, n in zip(days, ns, strict=True)], repeats)
    b_wk = _best(lambda: [theirs_add(d, n) for d, n in zip(days, ns, strict=True)], slow)
    c_many = _best(lambda: se.add_working_days_many(bulk_days, bulk_ns), repeats)
    c_single = _best(lambda: [ours_add(d, n) for d, n in zip(bulk_days, bulk_ns, strict=True)], repeats)
    c_ten = _best(lambda: se.add_working_days_many(bulk_days, 10), repeats)
    c_ten_single = _best(lambda: [ours_add(d, 10) for d in bulk_days], repeats)
    c_recent = _best(lambda: se.add_working_days_many(recent_days, bulk_ns), repeats)
    c_recent_single = _best(
        lambda: [ours_add(d, n) for d, n in zip(recent_days, bulk_ns, strict=True)], repeats
    )
    d_ours = _best(lambda: [between(s, e) for s, e in zip(starts, ends, strict=True)], repeats)
    d_many = _best(lambda: se.working_days_between_many(starts, ends), repeats)
    d_wk = _best(lambda: [delta(s, e) for s, e in zip(starts, ends, strict=True)], slow)

    fresh_import, fresh_build = _first_use(repeats)
    rule = _best(
        lambda: WorkingCalendar("x", "x", se.first_day, se.last_day, se.is_working_day).is_working_day(FIRST),
        repeats,
    )
    closed = _best(lambda: se.with_closed_days([dt.date(2026, 5, 15)]).is_working_day(FIRST), repeats)
    index_mib = _memory(se)

    print(
        f"klagomal.deadlines.calendars vs workalendar {version('workalendar')} Sweden, seed {SEED}, "
        f"dates {FIRST}..{LAST}"
    )
    print(f"per call, best of {repeats} (workalendar: best of {slow}; its {args.bulk}-pair loops: 1 run)")
    print(f"all {checked} checked results identical to workalendar's")
    print(f"{'':<46} {'ours':>10} {'workalendar':>13} {'ratio':>8}")
    ratio_a = _line(f"(a) add_working_days, n = 10 ({args.pairs})", a_ours, a_wk, args.pairs)
    ratio_b = _line(f"(b) add_working_days, n in 1..40 ({args.pairs})", b_ours, b_wk, args.pairs)
    _line(f"(c) add_working_days_many, n in 1..40 ({args.bulk})", c_many, c_wk, args.bulk)
    _line("      the same, one add_working_days each", c_single, c_wk, args.bulk)
    _line("    add_working_days_many, n = 10", c_ten, c_ten_wk, args.bulk)
    _line("      the same, one add_working_days each", c_ten_single, c_ten_wk, args.bulk)
    _line("    add_working_days_many, dates 2024-2027", c_recent, c_recent_wk, args.bulk)
    _line("      the same, one add_working_days each", c_recent_single, c_recent_wk, args.bulk)
    _line(f"(d) working_days_between, 0..60 days ({args.pairs})", d_ours, d_wk, args.pairs)
    _line("    working_days_between_many", d_many, d_wk, args.pairs)
    print(f"(c) whole bulk run: ours {1000 * c_many:.1f} ms, workalendar {c_wk:.2f} s")
    print(
        f"index, first use in a fresh process (median of {repeats}): import workalendar "
        f"{1000 * fresh_import:.0f} ms, then holidays and index {1000 * fresh_build:.0f} ms"
    )
    print(
        f"index, new calendar in this process: per-day rule {1000 * rule:.0f} ms, "
        f"with_closed_days {1000 * closed:.0f} ms; it keeps {index_mib:.1f} MiB"
    )
    for label, ratio in (("(a)", ratio_a), ("(b)", ratio_b)):
        verdict = "PASS" if ratio >= TARGET else "FAIL"
        print(
            f"{verdict} {label} {ratio:.0f}x (a single add_working_days must be {TARGET:.0f}x faster or more)"
        )


if __name__ == "__main__":
    main()

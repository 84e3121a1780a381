"""Search over a million cases: ``Klagomal.search`` as a handler and as the system owner.

Issue 19 (item 6) asks that a search over a kommun's cases, on the
database's own full-text engine, answers in a median of at most 100 ms at a
million cases on SQLite and PostgreSQL.  This builds the database with
``bench/storage.py``'s generator and bulk import (2019-2026, seeded; the
import writes the search index too), or reuses one (``--reuse URL``), then
times ``Klagomal.search`` (the default limit of 20, ranked, access checked,
audited, the snippets cut) for a seeded list of realistic searches:

* a common word of the texts (in tens of thousands of cases), such as
  ``hemtjänsten`` or ``personalen``;
* two words that occur together, such as ``skolskjutsen dagar``;
* a person's name, first and last (``Karin Berg``), and a last name alone;
* a reference, such as ``2024-01234``;
* a word that is in no case.

Each is run as the system owner (every case in scope) and as a handler
(one unit's cases: the scope is a condition on the join).  It prints the
median and the 90th percentile of each kind and of all, and whether the
goal is met (exit 1 when it is not, unless ``--no-goals``).  Results are
recorded in docs/performance.md.

    python bench/search.py [--cases 1000000] [--searches 200] [--no-goals]
    python bench/search.py --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python bench/search.py --reuse sqlite:////tmp/bench.db   # a database imported before
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from klagomal import FixedClock, Klagomal

SEED = 19
#: The users searching: the system owner, and a handler of one unit.
USERS = {"system owner": "nora.lind", "handler": "omar.ali"}
GOAL_MS = 100.0


def bench_module(name: str) -> ModuleType:
    """bench/<name>.py, loaded as a module (the benchmarks are scripts, not a package)."""
    path = Path(__file__).resolve().parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _storage_bench() -> ModuleType:
    """bench/storage.py, for its generator, databases and import."""
    return bench_module("storage")


def searches(
    storage: ModuleType, count: int, years: range, per_year: int, seed: int = SEED
) -> list[tuple[str, str]]:
    """*count* searches ``(kind, text)``, seeded, from the generator's own words."""
    rng = random.Random(seed)
    sentences = [s for group in storage._OPENINGS.values() for s in group] + list(storage._MORE)
    words = sorted({w.strip(".,").lower() for s in sentences for w in s.split() if len(w.strip(".,")) >= 6})
    kinds = {
        "common word": lambda: rng.choice(words),
        "two words": lambda: " ".join(
            rng.sample([w.strip(".,").lower() for w in rng.choice(sentences).split() if len(w) >= 4], 2)
        ),
        "name": lambda: f"{rng.choice(storage._FIRST_NAMES)} {rng.choice(storage._LAST_NAMES)}",
        "last name": lambda: rng.choice(storage._LAST_NAMES),
        "reference": lambda: f"{rng.choice(years)}-{rng.randint(1, per_year):05d}",
        "no such word": lambda: f"ordsomintefinns{rng.randint(1, 10**6)}",
    }
    names = list(kinds)
    return [(kind, kinds[kind]()) for kind in (names[i % len(names)] for i in range(count))]


def _p90(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.9) - 1)]


def measure(url: str, queries: list[tuple[str, str]]) -> dict[str, dict[str, list[float]]]:
    """The milliseconds of each search, by user and kind."""
    storage = _storage_bench()
    times: dict[str, dict[str, list[float]]] = {who: {} for who in USERS}
    with Klagomal(url, clock=FixedClock(storage.TODAY), load_entrypoints=False, user="system") as k:
        for who, user in USERS.items():
            as_user = k.as_user(user)
            as_user.search("hemtjänsten")  # warm: the schema check, the statements, the caches
            for kind, text in queries:
                started = time.perf_counter()
                as_user.search(text)
                times[who].setdefault(kind, []).append(1000 * (time.perf_counter() - started))
    return times


def timing_lines(times: dict[str, dict[str, list[float]]], noun: str, width: int) -> tuple[list[str], float]:
    """A line per user and kind with the median and p90, then one for all
    the *noun* together; and the median of all."""
    lines: list[str] = []
    every: list[float] = []
    for who, by_kind in times.items():
        for kind, values in by_kind.items():
            every += values
            lines.append(
                f"{who:13} {kind:{width}} n={len(values):4}  median {statistics.median(values):7.1f} ms"
                f"  p90 {_p90(values):7.1f} ms"
            )
    median = statistics.median(every)
    lines.append(f"all {len(every)} {noun}: median {median:.1f} ms, p90 {_p90(every):.1f} ms")
    return lines, median


def report(backend: str, cases: int, times: dict[str, dict[str, list[float]]]) -> tuple[list[str], float]:
    lines, median = timing_lines(times, "searches", 13)
    return [f"klagomal search at scale: {backend}, {cases:,} cases", *lines], median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", help="a SQLite URL of a new file, or a server URL to create databases on")
    parser.add_argument("--reuse", metavar="URL", help="search this database, imported before, instead")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--no-goals", action="store_true", help="only report; exit 0 when a goal is missed")
    parser.add_argument("--keep", action="store_true", help="keep the database made on a server")
    args = parser.parse_args(argv)
    storage = _storage_bench()
    per_year = max(1, args.cases // 8)
    queries = searches(storage, args.searches, range(2019, 2027), per_year)
    with tempfile.TemporaryDirectory(prefix="klagomal-bench-search-") as tmp:
        if args.reuse:
            url, backend, cases = args.reuse, args.reuse.split(":", 1)[0].split("+", 1)[0], args.cases
            times = measure(url, queries)
        else:
            folder = Path(tmp)
            databases = storage.Databases(args.db, folder)
            backend = databases.backend
            try:
                facts = storage.generate(folder / "cases.jsonl", args.cases)
                cases = facts.cases
                url = databases.new("import")
                storage.initialise(url)
                done = storage.import_in_child(facts.path, url, args.batch_size)
                print(f"imported {facts.cases:,} cases in {done.seconds:.0f} s", flush=True)
                if databases.server is not None:
                    storage.analyse(url)
                times = measure(url, queries)
            finally:
                databases.close(args.keep)
    lines, median = report(backend, cases, times)
    met = median <= GOAL_MS or backend not in ("sqlite", "postgresql")
    lines.append(f"{'median <= 100 ms (SQLite, PostgreSQL)':40} {'PASS' if met else 'FAIL'}")
    print("\n".join(lines))
    return 1 if not met and not args.no_goals else 0


if __name__ == "__main__":
    sys.exit(main())

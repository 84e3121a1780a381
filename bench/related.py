"""Related cases over a million cases: ``Klagomal.related`` as the system owner and as a handler.

Issue 19 (item 7) asks that the related cases of one case (the same
person's open or recent cases, by e-mail address, phone number or
personnummer, and the unit's cases with similar text from the same 30
days) are found on indexed queries, fast on a big database.  This builds
the database with ``bench/storage.py``'s generator and bulk import
(2019-2026, seeded), or reuses one (``--reuse URL``), then times
``Klagomal.related`` (access checked, both look-ups, the similarity of
every candidate text, audited) for a seeded sample of references: the
newest cases (registration: the unit's last 30 days are full) and cases
from any year.  A handler reads only their unit's cases, so theirs are
drawn from that unit.

It prints the median and the 90th percentile of each kind and of all, and
whether the median is within the goal (exit 1 when not, unless
``--no-goals``).

    python bench/related.py [--cases 1000000] [--lookups 200] [--no-goals]
    python bench/related.py --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python bench/related.py --reuse sqlite:////tmp/bench.db   # a database imported before
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa

from klagomal import FixedClock, Klagomal
from klagomal.storage.tables import cases

SEED = 19
#: Who looks: the system owner, and a handler of one unit (whose cases are drawn from it).
USERS = {"system owner": ("nora.lind", None), "handler": ("omar.ali", "soc-aldre-hemtjanst-norr")}
GOAL_MS = 100.0


def _search_bench() -> ModuleType:
    """bench/search.py, whose loader and timing lines this benchmark shares."""
    path = Path(__file__).resolve().parent / "search.py"
    spec = importlib.util.spec_from_file_location("bench_search", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _storage_bench() -> ModuleType:
    """bench/storage.py, for its generator, databases and import."""
    return _search_bench().bench_module("storage")


def references(url: str, unit: str | None, count: int, seed: int = SEED) -> dict[str, list[str]]:
    """A seeded sample of references by kind: the newest cases, and any."""
    rng = random.Random(seed)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            where = [] if unit is None else [cases.c.unit == unit]
            newest = list(
                conn.execute(
                    sa.select(cases.c.reference)
                    .where(*where)
                    .order_by(cases.c.received.desc(), cases.c.reference.desc())
                    .limit(max(count, 50))
                ).scalars()
            )
            every = list(conn.execute(sa.select(cases.c.reference).where(*where)).scalars())
    finally:
        engine.dispose()
    half = max(1, count // 2)
    return {"newest": rng.choices(newest, k=half), "any year": rng.sample(every, min(half, len(every)))}


def measure(url: str, count: int) -> tuple[dict[str, dict[str, list[float]]], int]:
    """The milliseconds of each look-up, by user and kind, and how many cases were listed."""
    storage = _storage_bench()
    times: dict[str, dict[str, list[float]]] = {who: {} for who in USERS}
    listed = 0
    with Klagomal(url, clock=FixedClock(storage.TODAY), load_entrypoints=False, user="system") as k:
        for who, (user, unit) in USERS.items():
            as_user = k.as_user(user)
            sample = references(url, unit, count)
            as_user.related(sample["newest"][0])  # warm: the schema check, the statements, the caches
            for kind, refs in sample.items():
                for ref in refs:
                    started = time.perf_counter()
                    found = as_user.related(ref)
                    times[who].setdefault(kind, []).append(1000 * (time.perf_counter() - started))
                    listed += len(found.references)
    return times, listed


def report(backend: str, count: int, times: dict[str, dict[str, list[float]]]) -> tuple[list[str], float]:
    lines, median = _search_bench().timing_lines(times, "look-ups", 9)
    return [f"klagomal related at scale: {backend}, {count:,} cases", *lines], median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", help="a SQLite URL of a new file, or a server URL to create databases on")
    parser.add_argument("--reuse", metavar="URL", help="look in this database, imported before, instead")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--lookups", type=int, default=200, help="per user")
    parser.add_argument("--no-goals", action="store_true", help="only report; exit 0 when a goal is missed")
    parser.add_argument("--keep", action="store_true", help="keep the database made on a server")
    args = parser.parse_args(argv)
    storage = _storage_bench()
    with tempfile.TemporaryDirectory(prefix="klagomal-bench-related-") as tmp:
        if args.reuse:
            url, backend, count = args.reuse, args.reuse.split(":", 1)[0].split("+", 1)[0], args.cases
            times, listed = measure(url, args.lookups)
        else:
            folder = Path(tmp)
            databases = storage.Databases(args.db, folder)
            backend = databases.backend
            try:
                facts = storage.generate(folder / "cases.jsonl", args.cases)
                count = facts.cases
                url = databases.new("import")
                storage.initialise(url)
                done = storage.import_in_child(facts.path, url, args.batch_size)
                print(f"imported {facts.cases:,} cases in {done.seconds:.0f} s", flush=True)
                if databases.server is not None:
                    storage.analyse(url)
                times, listed = measure(url, args.lookups)
            finally:
                databases.close(args.keep)
    lines, median = report(backend, count, times)
    lines.append(f"cases listed in all: {listed:,}")
    met = median <= GOAL_MS
    lines.append(f"{'median <= 100 ms':40} {'PASS' if met else 'FAIL'}")
    print("\n".join(lines))
    return 1 if not met and not args.no_goals else 0


if __name__ == "__main__":
    sys.exit(main())

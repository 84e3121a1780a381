"""How long `klagomal demo` takes, against the issue's 30 s budget and a raw-SQL baseline.

The demo is the main job a newcomer runs, and it must finish in under 30 s
on the reference machine (2 cores).  This measures, in one run:

* the whole demo (``run_demo``), several times, reporting the median;
* a baseline on the same machine and disk: SQLAlchemy Core inserting the
  same number of event rows into a bare SQLite table in WAL mode, one
  transaction per row, which is the least any event-sourced store with a
  transaction per command can cost;

and prints the ratios.  Results are recorded in docs/performance.md.

    python bench/demo.py [--runs 3] [--cases 600]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from klagomal.cli.demo import run_demo

BUDGET_SECONDS = 30.0


def _raw_baseline(folder: Path, rows: int) -> float:
    engine = sa.create_engine(f"sqlite:///{folder / 'raw.db'}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
    meta = sa.MetaData()
    table = sa.Table(
        "events",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    meta.create_all(engine)
    started = time.perf_counter()
    for i in range(rows):
        with engine.begin() as conn:
            conn.execute(
                sa.insert(table).values(reference=f"2026-{i:05d}", day=dt.date(2026, 1, 1), payload="{}")
            )
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cases", type=int, default=600)
    args = parser.parse_args()

    times = []
    events = 0
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            result = run_demo(f"sqlite:///{Path(tmp) / 'demo.db'}", cases=args.cases)
            times.append(time.perf_counter() - started)
            if run == 0:
                from klagomal import Klagomal

                with Klagomal(
                    f"sqlite:///{Path(tmp) / 'demo.db'}", load_entrypoints=False, user="system"
                ) as k:
                    refs = [c.reference for c in k.cases()]
                    events = sum(len(h) for h in k.histories(refs).values())
                cases = result.figures["cases"]
    demo = statistics.median(times)
    with tempfile.TemporaryDirectory() as tmp:
        raw = _raw_baseline(Path(tmp), events)

    print(f"klagomal demo: {cases} cases, {events} events, {args.runs} runs")
    print(f"  demo, median           {demo:8.2f} s   (runs: {', '.join(f'{t:.2f}' for t in times)})")
    print(f"  budget                 {BUDGET_SECONDS:8.2f} s   demo/budget = {demo / BUDGET_SECONDS:.2f}")
    print(f"  raw SQL baseline       {raw:8.2f} s   demo/raw    = {demo / raw:.1f}x")
    print(f"  per event: demo {1000 * demo / events:.2f} ms, raw insert {1000 * raw / events:.2f} ms")
    print("PASS" if demo < BUDGET_SECONDS else "FAIL", f"(demo must finish in under {BUDGET_SECONDS:.0f} s)")


if __name__ == "__main__":
    main()

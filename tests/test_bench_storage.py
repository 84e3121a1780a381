"""bench/storage.py still runs: its whole pipeline on SQLite with a few hundred cases.

The benchmark itself takes 10 to 20 minutes at a million cases.  This only
checks that the script has not rotted (the generator's rows are all
accepted, the baseline stores the same rows, the reads and the report
work), not any of its figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from tests.conftest import load_bench


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench("storage")


def test_the_generated_file_is_deterministic_and_covers_every_path(bench: ModuleType, tmp_path: Path):
    first = bench.generate(tmp_path / "a.jsonl", 300)
    again = bench.generate(tmp_path / "b.jsonl", 300)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    rows = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == first.cases == again.cases == 300
    assert {row["kind"] for row in rows} == {"klagomal", "forslag", "berom"}
    assert any("name" not in row for row in rows)  # anonymous
    assert any("closed" in row for row in rows)
    assert any("closed" not in row for row in rows)
    assert len({row["external_id"] for row in rows}) == 300
    assert [row["received"] for row in rows] == sorted(row["received"] for row in rows)


def test_the_benchmark_runs_on_sqlite(bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    db = tmp_path / "bench.db"
    assert bench.main(["--db", f"sqlite:///{db}", "--cases", "300", "--batch-size", "50", "--no-goals"]) == 0
    out = capsys.readouterr().out
    assert "import/raw" in out
    assert out.count("PASS") + out.count("FAIL") == 5
    # The baseline stored exactly the rows the import stored.
    for path in (db, db.with_stem("bench-raw")):
        engine = sa.create_engine(f"sqlite:///{path}")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM cases").scalar() == 300
            assert conn.exec_driver_sql("SELECT count(*) FROM external_ids").scalar() == 300
        engine.dispose()


def test_a_missed_goal_fails_the_run(bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    facts = bench.FileFacts(tmp_path / "x.jsonl", 10, 1, 1, 20, 0.1)
    fast = bench.ImportRun(seconds=1.0, cpu_seconds=1.0, imported=10, peak_mb=100.0, start_mb=60.0)
    reads = bench.Reads("soc", 3, 1.0, 1.0, 5, 1.0, 10)
    # The raw inserts 1.5 s, the import 1 s: the import at 1.5x the raw rate.
    slow_raw = bench.RawRun(seconds=1.5, cpu_seconds=1.5, cases=10, rows=80)
    result = bench.Result("sqlite", facts, facts, 0.1, fast, fast, slow_raw, reads)
    assert all(goal.met for goal in result.goals())
    fast_raw = bench.RawRun(seconds=0.4, cpu_seconds=0.4, cases=10, rows=80)  # the import at 0.4x
    result = bench.Result("sqlite", facts, facts, 0.1, fast, fast, fast_raw, reads)
    assert [goal.what for goal in result.goals() if not goal.met] == ["bulk import rate"]
    monkeypatch.setattr(bench, "run", lambda *args, **kwargs: result)
    assert bench.main(["--cases", "10"]) == 1
    assert bench.main(["--cases", "10", "--no-goals"]) == 0


def test_the_webhook_lookup_measure_runs_on_sqlite(bench: ModuleType, capsys: pytest.CaptureFixture[str]):
    """``--webhook-lookup``: every configuration registered its cases, the
    baseline without the look-up (0 µs inside it), the others with it."""
    assert bench.main(["--webhook-lookup", "20", "--rounds", "2"]) == 0
    out = capsys.readouterr().out
    for config in bench.LOOKUP_CONFIGS:
        assert out.count(f", {config}: ") == 2
    table = {line.split("  ")[0]: line for line in out.splitlines() if line.startswith(bench.LOOKUP_CONFIGS)}
    assert table["skipped"].endswith("0 µs   0.0%")
    assert not table["0 subscriptions"].endswith("0 µs   0.0%")

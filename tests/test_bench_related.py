"""bench/related.py still runs: its whole pipeline on SQLite with a few hundred cases.

The benchmark itself takes minutes at a million cases (most of it the
import).  This only checks that the script has not rotted (the sample is
seeded and of both kinds, the report and the goal line work), not any of
its figures.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from tests.conftest import load_bench


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench("related")


def test_the_benchmark_runs_on_sqlite(bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    db = tmp_path / "bench.db"
    assert bench.main(["--db", f"sqlite:///{db}", "--cases", "300", "--lookups", "12", "--no-goals"]) == 0
    out = capsys.readouterr().out
    assert "klagomal related at scale: sqlite, 300 cases" in out
    assert "all 24 look-ups: median" in out
    assert out.count("PASS") + out.count("FAIL") == 1
    # The same database looked in again, as --reuse does.
    assert bench.main(["--reuse", f"sqlite:///{db}", "--cases", "300", "--lookups", "6", "--no-goals"]) == 0
    assert "all 12 look-ups" in capsys.readouterr().out

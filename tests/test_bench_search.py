"""bench/search.py still runs: its whole pipeline on SQLite with a few hundred cases.

The benchmark itself takes several minutes at a million cases (most of it
the import).  This only checks that the script has not rotted (the
searches are realistic and found, the report and the goal line work), not
any of its figures.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from tests.conftest import load_bench


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench("search")


def test_the_searches_are_seeded_and_of_every_kind(bench: ModuleType) -> None:
    storage = bench._storage_bench()
    first = bench.searches(storage, 60, range(2019, 2027), 100)
    assert first == bench.searches(storage, 60, range(2019, 2027), 100)
    assert {kind for kind, _ in first} == {
        "common word",
        "two words",
        "name",
        "last name",
        "reference",
        "no such word",
    }


def test_the_benchmark_runs_on_sqlite(bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    db = tmp_path / "bench.db"
    assert bench.main(["--db", f"sqlite:///{db}", "--cases", "300", "--searches", "24", "--no-goals"]) == 0
    out = capsys.readouterr().out
    assert "klagomal search at scale: sqlite, 300 cases" in out
    assert "all 48 searches: median" in out
    assert out.count("PASS") + out.count("FAIL") == 1
    # The same database searched again, as --reuse does.
    assert bench.main(["--reuse", f"sqlite:///{db}", "--cases", "300", "--searches", "12", "--no-goals"]) == 0
    assert "all 24 searches" in capsys.readouterr().out

"""bench/reports.py still runs: its whole pipeline on SQLite with a few hundred cases.

At a million cases the benchmark takes several minutes; this only checks
that the script has not rotted (the database is built, the report and the
hand-written baseline both run, the summary is printed), not its figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import load_bench


def test_the_report_benchmark_runs_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = load_bench("reports")
    db = tmp_path / "bench.db"
    assert module.main(["--db", f"sqlite:///{db}", "--cases", "300", "--repeats", "2", "--no-goals"]) == 0
    out = capsys.readouterr().out
    assert "report/baseline:" in out
    assert out.count("PASS") + out.count("FAIL") == 2

"""bench/reports.py still runs: its whole pipeline on SQLite with a few hundred cases.

At a million cases the benchmark takes several minutes; this only checks
that the script has not rotted (the database is built, the report and the
hand-written baseline both run, the summary is printed), not its figures.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "reports.py"


def test_the_report_benchmark_runs_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_reports", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    db = tmp_path / "bench.db"
    assert module.main(["--db", f"sqlite:///{db}", "--cases", "300", "--repeats", "2", "--no-goals"]) == 0
    out = capsys.readouterr().out
    assert "report/baseline:" in out
    assert out.count("PASS") + out.count("FAIL") == 2

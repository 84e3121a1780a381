"""bench/cli.py still runs: a small demo, one timed run of each program.

The benchmark itself makes the demo's 600 cases and runs each program 15
times or more.  This only checks that the script has not rotted (the demo
is made, the handler found, both sides read the same rows, the report and
its goal lines work), not any of its figures.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "cli.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_cli", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_runs_on_a_small_demo(bench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--demo-cases", "40", "--runs", "1", "--no-goals"]) == 0
    out = capsys.readouterr().out
    assert "klagomal CLI vs SQLAlchemy baseline: demo database" in out
    for name in ("klagomal show", "baseline show", "klagomal list --mine", "baseline list --mine"):
        assert f"\n{name} " in out, name
    assert "show: klagomal/baseline" in out
    assert "list --mine: klagomal/baseline" in out
    assert out.count("PASS") + out.count("FAIL") == 2


def test_a_ratio_above_the_goal_fails_the_run(bench: ModuleType, tmp_path: Path) -> None:
    setup = bench.Setup(tmp_path / "x.db", tmp_path / "org.toml", "Mona Falk", ("soc",), "2026-00001", 5, 600)
    fast = bench.Timing((0.25,), (0.25,))
    slow = bench.Timing((0.5,), (0.5,))
    times = {
        "klagomal show": fast,
        "baseline show": fast,
        "klagomal list --mine": slow,
        "baseline list --mine": fast,
    }
    lines, ratios = bench.report(setup, 1, times)
    assert ratios == {"show": 1.0, "list --mine": 2.0}
    assert [line.split()[-1] for line in lines[-2:]] == ["PASS", "FAIL"]

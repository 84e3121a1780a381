"""bench/cli.py still runs: a small demo, one timed run of each program.

The benchmark itself makes the demo's 600 cases and runs each program 15
times or more.  This only checks that the script has not rotted (the demo
is made, the handler found, both sides read the same rows, the report and
its goal lines work), not any of its figures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from tests.conftest import load_bench


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench("cli")


def test_the_benchmark_runs_on_a_small_demo(bench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--demo-cases", "40", "--runs", "1", "--no-goals"]) == 0
    out = capsys.readouterr().out
    assert "klagomal CLI vs SQLAlchemy baseline: demo database" in out
    for side in ("klagomal", "baseline", "floor"):
        for command in ("show", "list --mine"):
            assert f"\n{side} {command} " in out, (side, command)
    for line in ("show: klagomal/baseline", "list --mine: klagomal/baseline", "show: floor/baseline"):
        assert f"\n{line} " in out, line
    assert out.count("PASS") + out.count("FAIL") == 2


def test_a_ratio_above_the_goal_fails_the_run(bench: ModuleType, tmp_path: Path) -> None:
    setup = bench.Setup(tmp_path / "x.db", tmp_path / "org.toml", "Mona Falk", ("soc",), "2026-00001", 5, 600)
    fast = bench.Timing((0.25,), (0.25,))
    slow = bench.Timing((0.5,), (0.5,))
    times = {
        "klagomal show": fast,
        "baseline show": fast,
        "floor show": fast,
        "klagomal list --mine": slow,
        "baseline list --mine": fast,
        "floor list --mine": slow,
    }
    lines, ratios = bench.report(setup, 1, times)
    # Only klagomal's ratios decide the goal; a slow floor is reported, not judged.
    assert ratios == {"show": 1.0, "list --mine": 2.0}
    assert any(line.startswith("list --mine: floor/baseline") and " 2.00x wall" in line for line in lines)
    assert [line.split()[-1] for line in lines[-2:]] == ["PASS", "FAIL"]


def test_the_floor_loads_the_definitions_and_none_of_the_logic(bench: ModuleType) -> None:
    """The floor is what no change to klagomal's logic can avoid: it loads
    the schema and the data classes, and nothing that checks, counts or
    formats (the facade, the CLI, the capabilities)."""
    imports = bench.FLOOR.removesuffix(bench.BASELINE)
    assert imports != bench.FLOOR
    probe = imports + "import sys\nprint(*sorted(m for m in sys.modules if m.startswith('klagomal')))\n"
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert {"klagomal.storage.tables", "klagomal.core.events", "klagomal.core.model"} <= loaded
    for logic in ("klagomal.app", "klagomal.cli", "klagomal.cases", "klagomal.records", "klagomal.deadlines"):
        assert logic not in loaded, logic

"""bench/api.py still runs, and its accounting holds: a few clients for a
few seconds on PostgreSQL, the kill run included.

The benchmark itself runs 50 clients for 60 s (docs/performance.md).  This
checks the script has not rotted and that what it counts is right: every
registration the server acknowledged is found in the database exactly
once, on both sides and in the kill run, where the requests that lost their
connection were sent again and all answered.  Not its speed: the goals are
off (``--no-goals``), on a machine shared with other work.
"""

from __future__ import annotations

import collections
import os
import re
from types import ModuleType

import pytest
from tests.conftest import load_bench

pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench("api")


@pytest.fixture(scope="module")
def baseline() -> ModuleType:
    return load_bench("api_baseline")


def captured_like(shapes: dict[str, list[list[str]]]) -> dict[str, list[list[tuple[str, dict[str, object]]]]]:
    """SQL of the shape the baseline was written for: each statement its expected start."""
    return {
        kind: [[(f"{start} ...", {}) for start in statements] for statements in transactions]
        for kind, transactions in shapes.items()
    }


def test_the_baseline_takes_sql_of_the_shape_it_was_written_for(baseline: ModuleType) -> None:
    statements = baseline.Statements(captured_like(baseline.SHAPES))
    assert statements.counted.startswith("SELECT reference_counters.")
    assert statements.audit.startswith("INSERT INTO audit_log")
    assert statements.keep.startswith("UPDATE idempotency_keys")


@pytest.mark.parametrize("kind", ["read", "worklist", "register"])
def test_the_baseline_refuses_to_run_sql_klagomal_no_longer_runs(baseline: ModuleType, kind: str) -> None:
    """A statement more, less or another in klagomal's SQL stops the
    baseline instead of letting it measure something else."""
    shapes = {k: [list(t) for t in v] for k, v in baseline.SHAPES.items()}
    shapes[kind][-1].append("SELECT something_new.")
    with pytest.raises(SystemExit, match=f"klagomal's SQL for a {kind} is no longer what the baseline runs"):
        baseline.Statements(captured_like(shapes))
    shapes[kind][-1][-1:] = []
    shapes[kind][-1][0] = "DELETE FROM cases"
    with pytest.raises(SystemExit, match=f"for a {kind}"):
        baseline.Statements(captured_like(shapes))


def test_a_short_run_stores_every_acknowledged_registration_exactly_once(
    bench: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    server = os.environ.get("KLAGOMAL_TEST_POSTGRESQL")
    if not server:
        pytest.skip("bench/api.py runs on PostgreSQL: set KLAGOMAL_TEST_POSTGRESQL")
    argv = ["--server", server, "--clients", "4", "--duration", "3", "--kill-duration", "5"]
    assert bench.main([*argv, "--seed-cases", "10", "--no-goals"]) == 0
    out = capsys.readouterr().out
    for side in ("klagomal", "baseline", "floor"):
        assert re.search(rf"^{side} +\d+ requests .* errors 0$", out, re.MULTILINE), side
    counts = re.findall(
        r"registrations: (\d+) acknowledged, (\d+) stored exactly once, (\d+) missing, (\d+) stored more", out
    )
    assert len(counts) == 4, out  # klagomal, the baseline, the floor, the kill run
    for acknowledged, once, missing, twice in counts:
        assert int(acknowledged) > 0
        assert (once, missing, twice) == (acknowledged, "0", "0"), out
    assert "klagomal/baseline: throughput " in out
    assert "klagomal/floor: throughput " in out
    kill = re.search(r"SIGKILL to worker (\d+) at", out)
    assert kill is not None, out
    assert re.search(r"unanswered in the end: 0; other errors: 0$", out, re.MULTILINE), out


def test_the_accounting_finds_a_registration_missing_or_stored_twice(bench: ModuleType) -> None:
    done = [
        bench.Done("register", 0.0, 0.1, 201, key="a"),
        bench.Done("register", 0.0, 0.1, 201, key="b"),
        bench.Done("register", 0.0, 0.1, 201, key="c"),
        bench.Done("register", 0.0, 0.1, None, key="d"),  # never answered: may be stored once
        bench.Done("read", 0.0, 0.1, 200),
    ]
    marks = collections.Counter({"a": 1, "b": 2, "d": 1})
    assert bench.exactly_once(done, marks) == (3, 1, 1, 1)
    assert bench.exactly_once(done[:1], collections.Counter({"a": 1})) == (1, 1, 0, 0)


def test_the_figures_count_an_unexpected_status_or_no_answer_as_an_error(bench: ModuleType) -> None:
    done = [
        bench.Done("register", 0.0, 0.2, 201),
        bench.Done("read", 0.0, 0.1, 200),
        bench.Done("read", 0.0, 0.1, 404),
        bench.Done("worklist", 0.0, 0.3, None),
    ]
    figures = bench.figures(done, 2.0)
    assert (figures.requests, figures.per_second, figures.errors) == (4, 2.0, 2)
    assert figures.p99 == 0.3

"""bench/ui.py still runs, and its baseline is still what the pages call.

The benchmark itself takes many minutes at a million cases (most of it the
import).  This runs its whole pipeline on SQLite with a few hundred cases,
in a child process (it serves the web application in its own process,
which a test must not), and checks that it reports both pages with their
ratios, that it reuses its database, and that the library calls it times
are the ones the pages make: the run records them from real requests and
stops when :data:`LIBRARY_CALLS` says otherwise.  None of its figures are
checked.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from tests.conftest import load_bench

from klagomal import FixedClock, Klagomal
from klagomal.core.model import Contact

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "ui.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench("ui")


def run(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    """bench/ui.py with *args* in a child process (or *code* with them as ``sys.argv``)."""
    command = [sys.executable, str(SCRIPT), *args] if code is None else [sys.executable, "-c", code, *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    db = tmp_path_factory.mktemp("bench-ui") / "bench.db"
    done = run("--cache", str(db), "--cases", "300", "--open-cases", "12", "--repeats", "6", "--no-goals")
    return db, done


def test_the_benchmark_reports_both_pages_and_their_ratios(
    bench: ModuleType, first: tuple[Path, subprocess.CompletedProcess[str]]
) -> None:
    _db, done = first
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "imported 300 cases" in out
    # The 300 imported, the handler's 12 and the two of the same person.
    assert "klagomal web interface at scale: sqlite, 314 cases" in out
    assert re.search(r"omar\.ali: Mina ärenden has \d+ rows \(3 tasks\)", out)
    for page, path in bench.PAGES.items():
        calls = ", ".join(bench.LIBRARY_CALLS[page])
        assert f"{page} (GET {path}): calls {calls} (and " in out
    assert len(re.findall(r"  page     n=   6  median +\d+\.\d ms  p95 +\d+\.\d ms", out)) == 2
    assert len(re.findall(r"  library  n=   6  median +\d+\.\d ms  p95 +\d+\.\d ms", out)) == 2
    assert len(re.findall(r"  page/library: \d+\.\d\d \(p95 \d+\.\d\d\)", out)) == 2
    assert out.count("PASS") + out.count("FAIL") == 2
    assert "HTTP Request" not in done.stderr  # no line per request


def test_the_database_is_reused_and_the_handler_seeded_once(
    first: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    db, _done = first
    again = run("--cache", str(db), "--open-cases", "12", "--repeats", "2", "--no-goals")
    assert again.returncode == 0, again.stderr
    assert "imported" not in again.stdout
    assert "sqlite, 314 cases" in again.stdout


def test_the_run_stops_when_the_pages_call_what_the_list_does_not_say(
    bench: ModuleType, first: tuple[Path, subprocess.CompletedProcess[str]]
) -> None:
    """A page that makes one more call (here: the list without one of the
    case page's) is a baseline out of date: the run stops and says so."""
    db, _done = first
    dropped = bench.LIBRARY_CALLS["case page"][:-1]
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('bench_ui', {str(SCRIPT)!r})\n"
        "bench = importlib.util.module_from_spec(spec)\n"
        "sys.modules['bench_ui'] = bench\n"
        "spec.loader.exec_module(bench)\n"
        f"bench.LIBRARY_CALLS['case page'] = {dropped!r}\n"
        "sys.exit(bench.main(sys.argv[1:]))\n"
    )
    done = run("--cache", str(db), "--open-cases", "12", "--repeats", "2", "--no-goals", code=code)
    assert done.returncode == 2
    assert "the benchmark is out of date: the pages call" in done.stderr
    assert "PASS" not in done.stdout


def test_the_recorder_keeps_the_outermost_calls_and_puts_the_facade_back(
    bench: ModuleType, tmp_path: Path
) -> None:
    names = bench.facade_methods()
    assert {"worklist", "get", "history", "related", "as_user"} <= set(names)
    assert {name for calls in bench.LIBRARY_CALLS.values() for name in calls} <= set(names)
    before = {name: vars(Klagomal)[name] for name in names}
    with Klagomal(
        f"sqlite:///{tmp_path / 'k.db'}",
        clock=FixedClock(bench._storage_bench().TODAY),
        load_entrypoints=False,
        user="system",
    ) as k:
        k.init()
        reference = (
            k.as_user("kontaktcenter")
            .register(
                kind="klagomal",
                channel="telefon",
                text="Hemtjänsten kom inte.",
                unit=bench.UNIT,
                contact=Contact(name="Eva Svensson", email="eva@example.se"),
            )
            .reference
        )
        omar = k.as_user(bench.USER)
        recorder = bench.Recorder()
        with recorder.active():
            acting = k.as_user(bench.USER)
            case = acting.get(reference)
            acting.history(reference)
            acting.related(reference)
            acting.open_deadline(case)
        assert [c.name for c in recorder.calls] == ["as_user", "get", "history", "related", "open_deadline"]
        assert [c.name for c in recorder.library_calls()] == ["get", "history", "related", "open_deadline"]
        assert recorder.calls[1].args == (reference,)
        # Replayed on another instance acting as the same user, a call does the same.
        assert recorder.calls[1].replay(omar) == omar.get(reference)
    assert {name: vars(Klagomal)[name] for name in names} == before


# -- what the benchmark led to: the rows of Mina ärenden made once per page ---------------


def test_due_tag_says_how_urgent_in_words() -> None:
    from klagomal.web.ui.render import due_tag

    assert due_tag(3, True) == '<strong class="tag tag--late">3 arbetsdagar sen</strong>'
    assert due_tag(1, True) == '<strong class="tag tag--late">1 arbetsdag sen</strong>'
    assert due_tag(0, False) == '<strong class="tag tag--soon">i dag</strong>'
    assert due_tag(1, False) == '<strong class="tag tag--soon">i morgon</strong>'
    assert due_tag(5, False) == '<span class="tag">5 arbetsdagar kvar</span>'


def test_the_worklist_rows_say_what_each_item_does(bench: ModuleType, tmp_path: Path) -> None:
    from klagomal.core.formats import swedish_date
    from klagomal.web.ui.render import due_tag
    from klagomal.web.ui.staff import deadline_labels, worklist_rows

    today = bench._storage_bench().TODAY
    with Klagomal(
        f"sqlite:///{tmp_path / 'k.db'}", clock=FixedClock(today), load_entrypoints=False, user="system"
    ) as k:
        k.init()
        intake, omar = k.as_user("kontaktcenter"), k.as_user(bench.USER)
        for i, contact in enumerate(
            [
                Contact(name="Eva Svensson", email="eva@example.se"),
                Contact(name="Per Holm", phone="070-1234567", preferred="telefon"),
                Contact(name="Ali Said", email="ali@example.se"),
            ]
        ):
            reference = intake.register(
                kind=("klagomal", "forslag", "berom")[i],
                channel="telefon",
                text="Hemtjänsten kom inte.",
                unit=bench.UNIT,
                contact=contact,
                serious=i == 0,
            ).reference
            if i < 2:
                omar.acknowledge(reference)
        items = omar.worklist(limit=500)
        rows = worklist_rows(items)
    assert {item.what for item in items} == {"handler", "unassigned", "task"}
    assert len(rows) == len(items)
    for item, row in zip(items, rows, strict=True):
        assert row.reference == item.case.reference
        assert (row.kind, row.state) == (item.case.kind.label, item.case.state.label)
        assert (row.threat, row.serious) == (bool(item.case.threat_flags), item.case.serious)
        deadline = f": {deadline_labels()[item.deadline]}" if item.deadline else ""
        assert row.what == item.label + deadline
        assert row.task == (item.task.kind if item.task else None)
        assert item.due is not None
        assert row.due == swedish_date(item.due)
        assert row.urgency == due_tag(item.days_late if item.overdue else item.days_left or 0, item.overdue)
    assert any(row.serious for row in rows)

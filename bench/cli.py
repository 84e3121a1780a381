"""How long a handler waits for ``klagomal show`` and ``klagomal list --mine``, as whole processes.

A handler runs a command many times a day, so what counts is the whole
process: starting Python, importing klagomal, opening the database, and
the reads.  Issue 19 (item 11) asks that ``klagomal show REF`` and
``klagomal list --mine`` on the demo database take no more than 1.3 times
the least Python program that reads the same rows with SQLAlchemy.  This
measures, in one run:

* the demo database, made by ``klagomal demo`` in a temporary folder (or
  one made before: ``--db FILE``);
* a handler of the demo: the display name that handles the most open
  cases, made a user (``handlaggare`` at the units of those cases) in a
  copy of Exempelkommun's organisation file, so that ``list --mine`` has a
  real worklist; ``show`` is of that handler's case with the most events;
* klagomal: the ``klagomal`` console script an installation runs (or
  ``python -m klagomal.cli`` when there is none beside the interpreter),
  with ``--db``, ``--org`` and ``--user``;
* the baseline: the least Python program that opens the same SQLite file
  with SQLAlchemy (``create_engine`` and ``text`` queries) and prints the
  same rows: the case row and its events for ``show``; the open cases the
  handler handles, or that wait without a handler at the handler's units,
  for ``list --mine``.  It checks no access, writes no audit log, knows no
  deadline and formats nothing: the least any such command can cost.
* the floor: the baseline after importing, and running none of, what
  klagomal cannot start without: the design card's libraries every command
  uses (attrs, cattrs, pluggy, workalendar's Sweden, argparse, tomllib) and
  klagomal's data definitions (the schema's tables, the case and its event
  classes).  It prints what the baseline prints.  Its ratio to the baseline
  is the part of the gap that no change to klagomal's logic can close.

Both sides run with the same environment, without klagomal's own variables,
and with the compiled modules kept in the temporary folder
(``PYTHONPYCACHEPREFIX``) as an installation keeps them beside its sources:
a ``PYTHONDONTWRITEBYTECODE`` in the caller's environment would otherwise
make every run compile klagomal's modules again.

Before any time counts, both sides' rows are compared (the same events; the
same cases in the worklist; the floor prints what the baseline prints).
Then each of the six programs runs
``--runs`` times, alternating, so that a busy moment of a shared machine
falls on both sides; one run of each first warms the file cache.  It prints
the median wall time of each, the ratio of the medians, and the median CPU
time (user and system, of the child process), which varies less on a
shared machine, and exits with 1 when a ratio is above the goal (unless
``--no-goals``).  Results are recorded in docs/performance.md.

    python bench/cli.py [--runs 15] [--demo-cases 600] [--db klagomal-demo.db] [--no-goals]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import attrs

#: The goal: klagomal's median at most this many times the baseline's.
GOAL = 1.3

#: The user id the benchmark gives the demo's busiest handler.
USER = "bench.handlaggare"

#: The least program that reads the same rows: SQLAlchemy, text queries, print.
BASELINE = """\
import sys

import sqlalchemy as sa

url, command, *rest = sys.argv[1:]
engine = sa.create_engine(url)
with engine.connect() as conn:
    if command == "show":
        (reference,) = rest
        case = conn.execute(sa.text("SELECT * FROM cases WHERE reference = :r"), {"r": reference}).one()
        print(*case, sep="\\t")
        events = conn.execute(
            sa.text("SELECT seq, type, day, actor, payload FROM events WHERE reference = :r ORDER BY seq"),
            {"r": reference},
        )
        for event in events:
            print(*event, sep="\\t")
    else:
        user_id, name, *units = rest
        query = sa.text(
            "SELECT * FROM cases WHERE state != 'avslutat'"
            " AND (handler IN (:id, :name) OR (handler IS NULL AND unit IN :units))"
            " ORDER BY reference"
        ).bindparams(sa.bindparam("units", expanding=True))
        for case in conn.execute(query, {"id": user_id, "name": name, "units": units}):
            print(*case, sep="\\t")
"""

#: The floor: the baseline after importing what klagomal cannot start
#: without, and running none of it: the design card's libraries that every
#: command uses, and klagomal's own data definitions (the schema's tables,
#: the case and its events as attrs classes).  No organisation file is read,
#: no access checked, no audit written, no deadline counted.  If this alone
#: is above the goal, no change to klagomal's own logic can reach the goal.
FLOOR = (
    """\
import argparse  # the command line
import tomllib  # the organisation file

import attrs  # the data classes
import cattrs  # events to and from JSON
import pluggy  # the plugins
from workalendar.europe import Sweden  # the holidays of the Swedish calendar

from klagomal.core import events, model  # the case and its events
from klagomal.storage import tables  # the schema

"""
    + BASELINE
)


@attrs.frozen
class Setup:
    """The demo database and what the commands are run with."""

    db: Path
    org: Path
    name: str
    units: tuple[str, ...]
    reference: str
    events: int
    cases: int


@attrs.frozen
class Timing:
    """One program's runs: wall and CPU seconds."""

    wall: tuple[float, ...]
    cpu: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)


def klagomal_command() -> list[str]:
    """How an installation starts klagomal: its console script, run by this
    interpreter, or ``-m klagomal.cli`` when the script is not there."""
    script = shutil.which("klagomal", path=str(Path(sys.executable).parent))
    if script is not None:
        return [sys.executable, script]
    return [sys.executable, "-m", "klagomal.cli"]


def make_demo(folder: Path, cases: int | None) -> Path:
    """``klagomal demo`` into *folder*; the database file."""
    db = folder / "klagomal-demo.db"
    argv = [*klagomal_command(), "--db", f"sqlite:///{db}", "demo", "--outbox", str(folder / "utskick")]
    if cases is not None:
        argv += ["--cases", str(cases)]
    subprocess.run(argv, cwd=folder, env=_environment(folder / "pycache"), capture_output=True, check=True)
    return db


def prepare(db: Path, folder: Path) -> Setup:
    """The handler, the organisation file that makes them a user, and the case ``show`` shows."""
    with sqlite3.connect(db) as conn:
        found = conn.execute(
            "SELECT handler FROM cases WHERE state != 'avslutat' AND handler IS NOT NULL"
            " GROUP BY handler ORDER BY count(*) DESC, handler LIMIT 1"
        ).fetchone()
        if found is None:
            raise SystemExit(f"{db}: no open case has a handler")
        name: str = found[0]
        units = tuple(
            unit
            for (unit,) in conn.execute(
                "SELECT DISTINCT unit FROM cases WHERE state != 'avslutat' AND handler = ? ORDER BY unit",
                (name,),
            )
        )
        reference, events = conn.execute(
            "SELECT c.reference, count(*) FROM cases c JOIN events e ON e.reference = c.reference"
            " WHERE c.state != 'avslutat' AND c.handler = ?"
            " GROUP BY c.reference ORDER BY count(*) DESC, c.reference LIMIT 1",
            (name,),
        ).fetchone()
        (cases,) = conn.execute("SELECT count(*) FROM cases").fetchone()
    org = folder / "organisation.toml"
    exempelkommun = _package_data("exempelkommun.toml").read_text(encoding="utf-8")
    org.write_text(
        exempelkommun
        + "\n[[anvandare]]\n"
        + f"id = {json.dumps(USER)}\n"
        + f"namn = {json.dumps(name, ensure_ascii=False)}\n"
        + 'roll = "handlaggare"\n'
        + f"enheter = {json.dumps(list(units))}\n",
        encoding="utf-8",
    )
    return Setup(db, org, name, units, reference, events, cases)


def _package_data(name: str) -> Path:
    import klagomal

    return Path(klagomal.__file__).parent / "data" / name


def programs(setup: Setup, baseline: Path, floor: Path) -> dict[str, list[str]]:
    """The six programs, by name, in the order they alternate."""
    url = f"sqlite:///{setup.db}"
    options = ["--db", url, "--org", str(setup.org), "--user", USER]
    run: dict[str, list[str]] = {}
    for command, ours, theirs in (
        ("show", ["show", setup.reference], ["show", setup.reference]),
        ("list --mine", ["list", "--mine"], ["list", USER, setup.name, *setup.units]),
    ):
        run[f"klagomal {command}"] = [*klagomal_command(), *options, *ours]
        run[f"baseline {command}"] = [sys.executable, str(baseline), url, *theirs]
        run[f"floor {command}"] = [sys.executable, str(floor), url, *theirs]
    return run


def _environment(pycache: Path | None = None) -> dict[str, str]:
    """This process's environment without klagomal's own variables, so that
    only the command line says which database, organisation and user; with
    the compiled modules kept in *pycache*, as an installation keeps them
    (pip compiles them when it installs), and not in the source folders."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("KLAGOMAL_") and key != "PYTHONDONTWRITEBYTECODE"
    }
    if pycache is not None:
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def _run(argv: Sequence[str], cwd: Path) -> tuple[float, float, str]:
    """Run *argv*; its wall and CPU seconds, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = _environment(cwd / "pycache")
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def check(setup: Setup, run: dict[str, list[str]], cwd: Path) -> None:
    """Both sides read the same rows: the same events, the same worklist's cases."""
    shown = json.loads(_run([*run["klagomal show"][:-2], "--json", *run["klagomal show"][-2:]], cwd)[2])
    base_show = _run(run["baseline show"], cwd)[2]
    seqs = [int(seq) for seq in re.findall(r"^(\d+)\t", base_show, flags=re.MULTILINE)]
    if not (
        shown["reference"] == setup.reference
        and [event["seq"] for event in shown["events"]] == seqs == list(range(1, setup.events + 1))
    ):
        raise SystemExit(f"show {setup.reference}: klagomal and the baseline read different rows")
    worklist = json.loads(_run([*run["klagomal list --mine"], "--json"], cwd)[2])["worklist"]
    base_list = re.findall(r"^(\d{4}-\d+)\t", _run(run["baseline list --mine"], cwd)[2], flags=re.MULTILINE)
    if sorted({item["reference"] for item in worklist}) != base_list or not base_list:
        raise SystemExit("list --mine: klagomal and the baseline read different cases")
    for command in ("show", "list --mine"):
        if _run(run[f"floor {command}"], cwd)[2] != _run(run[f"baseline {command}"], cwd)[2]:
            raise SystemExit(f"{command}: the floor and the baseline print different rows")


def measure(run: dict[str, list[str]], runs: int, cwd: Path) -> dict[str, Timing]:
    """Each program *runs* times, alternating, after one warm-up run of each."""
    for argv in run.values():
        _run(argv, cwd)
    wall: dict[str, list[float]] = {name: [] for name in run}
    cpu: dict[str, list[float]] = {name: [] for name in run}
    for _ in range(runs):
        for name, argv in run.items():
            seconds, cpu_seconds, _out = _run(argv, cwd)
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
    return {name: Timing(tuple(wall[name]), tuple(cpu[name])) for name in run}


def report(setup: Setup, runs: int, times: dict[str, Timing]) -> tuple[list[str], dict[str, float]]:
    """The lines to print, and each command's ratio of the medians."""
    lines = [
        f"klagomal CLI vs SQLAlchemy baseline: demo database, {setup.cases} cases; "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores",
        f"show {setup.reference} ({setup.events} events); list --mine as {setup.name!r} "
        f"({len(setup.units)} units); {runs} runs each, alternating; median",
        f"{'':24}{'wall':>10}{'cpu':>10}{'wall min':>10}",
    ]
    for name, timing in times.items():
        lines.append(
            f"{name:24}{timing.median * 1000:8.0f} ms{timing.median_cpu * 1000:7.0f} ms"
            f"{min(timing.wall) * 1000:7.0f} ms"
        )
    ratios: dict[str, float] = {}
    for command in ("show", "list --mine"):
        base = times[f"baseline {command}"]
        for side in ("klagomal", "floor"):
            timing = times[f"{side} {command}"]
            if side == "klagomal":
                ratios[command] = timing.median / base.median
            lines.append(
                f"{f'{command}: {side}/baseline':36} {timing.median / base.median:.2f}x wall, "
                f"{timing.median_cpu / base.median_cpu:.2f}x cpu"
            )
    for command, ratio in ratios.items():
        lines.append(f"{f'{command} <= {GOAL}x the baseline':36} {'PASS' if ratio <= GOAL else 'FAIL'}")
    return lines, ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each program (default 15)")
    parser.add_argument("--db", type=Path, help="a demo database made before (a SQLite file)")
    parser.add_argument("--demo-cases", type=int, help="cases of the demo made (default: the demo's 600)")
    parser.add_argument("--no-goals", action="store_true", help="only report; exit 0 when a goal is missed")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="klagomal-bench-cli-") as tmp:
        folder = Path(tmp)
        db = args.db.resolve() if args.db else make_demo(folder, args.demo_cases)
        setup = prepare(db, folder)
        baseline = folder / "baseline.py"
        baseline.write_text(BASELINE, encoding="utf-8")
        floor = folder / "floor.py"
        floor.write_text(FLOOR, encoding="utf-8")
        run = programs(setup, baseline, floor)
        check(setup, run, folder)
        times = measure(run, args.runs, folder)
    lines, ratios = report(setup, args.runs, times)
    print("\n".join(lines))
    met = all(ratio <= GOAL for ratio in ratios.values())
    return 1 if not met and not args.no_goals else 0


if __name__ == "__main__":
    sys.exit(main())

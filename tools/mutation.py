"""Mutation testing of the modules where a wrong answer deletes data or makes
a person miss a deadline (``tox -e mutation``, docs/testing.md).

Each module is mutated by mutmut and run against **its own** test files
only, so that a mutant another file happens to catch (a role table that
crashes on a broken ``describe``) does not count: the score says how well
the module's own tests pin it down.  Each module runs in a copy of the
repository of its own (mutmut writes ``mutants/`` next to ``pyproject.toml``),
on SQLite only, and the result is written as JSON::

    python tools/mutation.py                 # every module
    python tools/mutation.py lifecycle audit # some
    python tools/mutation.py --list          # the modules and their tests
    python tools/mutation.py --again audit   # only what the last run left alive

The score is killed / (killed + survived + no tests + timeout), as mutmut
counts them; surviving mutants are listed with ``mutmut show`` in the copy
(the path is printed), to be killed by a test or explained as equivalent in
docs/testing.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Each module: the file (or folder) mutated, and its own test files.
MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "lifecycle": (
        "src/klagomal/cases/lifecycle.py",
        ("tests/test_lifecycle.py", "tests/test_lifecycle_decisions.py", "tests/test_appeal_deadline.py"),
    ),
    "calendars": ("src/klagomal/deadlines/calendars.py", ("tests/test_calendar.py",)),
    "deadlines": (
        "src/klagomal/deadlines/policies.py",
        ("tests/test_deadlines.py", "tests/test_deadline_policies.py", "tests/test_timeliness.py"),
    ),
    "access": ("src/klagomal/records/access.py", ("tests/test_access.py", "tests/test_access_policy.py")),
    "disposal": ("src/klagomal/records/disposal.py", ("tests/test_disposal.py",)),
    "audit": ("src/klagomal/records/audit/*", ("tests/test_audit.py",)),
}


def _config(target: str, tests: tuple[str, ...]) -> str:
    listed = ", ".join(json.dumps(t) for t in tests)
    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"only_mutate = [{json.dumps(target)}]\n"
        f"pytest_add_cli_args_test_selection = [{listed}]\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]\n'
        # A mutant that loops (a 'while' whose step is gone) is stopped after
        # four times its tests' time, not mutmut's fifteen: the audit walk's
        # loops otherwise cost minutes each.
        "timeout_multiplier = 4.0\n"
        'also_copy = ["conftest.py", "tests", "docs", "README.md", "examples", "bench", "tools", "plugins"]\n'
    )


#: Run in a copy after mutmut: every mutant not killed, as the lines it
#: changes, into one file to read through (``mutmut show`` one by one
#: starts Python once for each).
_SHOW = """
import sys
from mutmut.__main__ import SourceFileMutationData, status_by_exit_code, walk_mutatable_files
from mutmut.mutation.diff_apply import get_diff_for_mutant

with open(sys.argv[1], "w", encoding="utf-8") as out:
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for name, code in data.exit_code_by_key.items():
            status = status_by_exit_code[code]
            if status != "killed":
                changed = get_diff_for_mutant(name, path=data.path).splitlines()[2:]
                out.write(f"## {name} [{status}]\\n")
                out.writelines(line + "\\n" for line in changed if line[:1] in "-+")
"""


def _copy(where: Path) -> None:
    """The repository's tracked files, as they are in the work tree."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout.split(
        b"\0"
    )
    for name in filter(None, files):
        source = ROOT / os.fsdecode(name)
        if source.is_file():
            target = where / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _not_killed(where: Path, env: dict[str, str]) -> list[str]:
    listed = subprocess.run(
        [sys.executable, "-m", "mutmut", "results"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [s.rstrip(":") for s in listed if "__mutmut_" in s]


def run(module: str, keep: Path, *, again: bool = False) -> dict[str, object]:
    """Mutate *module* in a copy under *keep*.  With *again*, reuse the copy
    of an earlier run: bring the tests up to date and run only the mutants
    it did not kill (after a test was added for them)."""
    target, tests = MODULES[module]
    where = keep / module
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAGOMAL_TEST_")}  # SQLite only
    env["PYTHONPATH"] = str(where / "src")
    again = again and (where / "mutants").is_dir()
    names = _not_killed(where, env) if again else []
    if not again:
        if where.exists():
            shutil.rmtree(where)
        where.mkdir(parents=True)
    _copy(where)
    with (where / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write(_config(target, tests))
    if not again or names:
        subprocess.run([sys.executable, "-m", "mutmut", "run", *names], cwd=where, env=env, check=False)
    subprocess.run([sys.executable, "-m", "mutmut", "export-cicd-stats"], cwd=where, env=env, check=True)
    stats = json.loads((where / "mutants" / "mutmut-cicd-stats.json").read_text(encoding="utf-8"))
    judged = stats["killed"] + stats["survived"] + stats["no_tests"] + stats["timeout"]
    diffs = where / "survivors.diff"
    subprocess.run([sys.executable, "-c", _SHOW, str(diffs)], cwd=where, env=env, check=True)
    return {
        "module": module,
        "target": target,
        "tests": list(tests),
        **stats,
        "score": round(stats["killed"] / judged, 3) if judged else None,
        "survivors": _not_killed(where, env),
        "copy": str(where),
        "diffs": str(diffs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"of {', '.join(MODULES)}")
    parser.add_argument("--list", action="store_true", help="list the modules and their tests")
    parser.add_argument(
        "--again",
        action="store_true",
        help="rerun only the mutants an earlier run (its copy under --keep) did not kill",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "mutation-results.json")
    parser.add_argument("--keep", type=Path, default=Path(tempfile.gettempdir()) / "klagomal-mutation")
    args = parser.parse_args(argv)
    if args.list:
        for name, (target, tests) in MODULES.items():
            print(f"{name}: {target} <- {' '.join(tests)}")
        return 0
    unknown = sorted(set(args.modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    results = [run(module, args.keep, again=args.again) for module in args.modules or MODULES]
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for r in results:
        print(
            f"{r['module']}: {r['killed']} killed of {r['total']}, "
            f"{r['survived']} survived, score {r['score']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build the core and every plugin in plugins/ as wheels, install them into
the running (fresh) environment, and run each plugin's tests against the
installed core.  ``tox -e plugins`` runs this.

It proves what an editable checkout cannot: that the wheels carry what they
need (the migrations, the letter templates), that the entry points of the
group ``klagomal`` are found once installed, and that the plugins' tests
pass against the core as a kommun would install it.  It also checks that the
installed core adds no pytest fixtures to a test suite that does not ask for
them (``pytest_plugins = ["klagomal.testing.pytest_plugin"]``).

Usage: python plugins/check_installed.py WORKDIR
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
PLUGINS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())


def run(*args: str | pathlib.Path, cwd: pathlib.Path | None = None) -> None:
    print("+", " ".join(map(str, args)), flush=True)
    subprocess.run([str(a) for a in args], check=True, cwd=cwd)


def main(workdir: pathlib.Path) -> int:
    wheels = workdir / "wheels"
    if wheels.exists():
        for old in wheels.glob("*.whl"):
            old.unlink()
    pip = (sys.executable, "-m", "pip")
    run(*pip, "wheel", "--no-deps", "--wheel-dir", wheels, ROOT, *PLUGINS)
    built = sorted(wheels.glob("*.whl"))
    if len(built) != 1 + len(PLUGINS):
        print(f"expected {1 + len(PLUGINS)} wheels, got {[w.name for w in built]}", file=sys.stderr)
        return 1
    # The wheel files themselves, not names, so that nothing of ours can come
    # from an index; their dependencies (pluggy, SQLAlchemy, ...) do.
    run(*pip, "install", "--force-reinstall", *built, "pytest>=8")
    # Run from the work directory, so that nothing imports the source tree.
    run(
        sys.executable,
        "-c",
        "import klagomal, sys; "
        "assert 'site-packages' in klagomal.__file__, klagomal.__file__; "
        "print('klagomal from', klagomal.__file__)",
        cwd=workdir,
    )
    # klagomal's fixtures are opt-in: installed, they enter no other test suite.
    # (Each plugin's tests below ask for them with `pytest_plugins`.)
    # The bystander lives outside this repository: below it, pytest would take
    # the repository's own conftest.py, which asks for the fixtures.
    with tempfile.TemporaryDirectory(prefix="klagomal-bystander-") as folder:
        bystander = pathlib.Path(folder)
        (bystander / "test_other.py").write_text(
            "def test_other(klagomal_instance):\n    pass\n", encoding="utf-8"
        )
        pytest_argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir", folder]
        other = subprocess.run(
            [*pytest_argv, "test_other.py"],
            cwd=bystander,
            capture_output=True,
            text=True,
            timeout=300,
        )
    if "fixture 'klagomal_instance' not found" not in other.stdout:
        print(
            "klagomal's fixtures reached another test suite:\n" + other.stdout + other.stderr,
            file=sys.stderr,
        )
        return 1
    print("klagomal's fixtures are opt-in: another test suite does not get them", flush=True)
    for plugin in PLUGINS:
        run(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", plugin / "tests", cwd=plugin)
    return 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1]).resolve()))

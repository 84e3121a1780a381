"""The examples in the docstrings of ``src/klagomal`` run as doctests, so that they stay true.

What ``pytest --doctest-modules src/klagomal`` would do, done from ``tests/``:
the suite runs as ``pytest tests`` (tox.ini, and so CI), which never collects
``src/``, and the documentation environment runs pytest on ``docs/`` with the
same configuration.  Every module of the package is imported and searched as
``--doctest-modules`` searches it (:class:`doctest.DocTestFinder`), with
pytest's default option ``ELLIPSIS``; each docstring with examples is one test,
named after what it documents.

A module that needs an optional extra that is not installed (web, ops, geo)
is skipped, naming the package; one that fails to import for any other reason
fails the collection of this file.  A module whose source holds an example that no test finds fails too,
so that an example cannot be written where it is never run.
"""

from __future__ import annotations

import doctest
import importlib
import pathlib
import re
from types import ModuleType

import pytest

import klagomal

PACKAGE = pathlib.Path(klagomal.__file__).resolve().parent

#: Modules that are never imported on their own: Alembic's environment script
#: runs only inside a migration (it reads ``alembic.context.config``).  Nor is
#: any ``__main__`` (``python -m klagomal``): importing it runs the command
#: line, and ``--doctest-modules`` leaves it out too.
NOT_IMPORTED = {"klagomal.storage.migrations.env"}

#: The top-level packages of the optional extras (pyproject.toml), by extra.
EXTRAS = {
    "litestar": "web",
    "uvicorn": "web",
    "httpx": "web",
    "prometheus_client": "ops",
    "pyproj": "geo",
}

#: A line of a docstring example.
EXAMPLE = re.compile(r"^\s*>>> ", re.MULTILINE)


def _modules() -> dict[str, pathlib.Path]:
    """Every module of the package that can be imported by name, with its file:
    files in folders without ``__init__.py`` (the migration scripts, which
    Alembic loads by path) are not modules of the package."""
    found: dict[str, pathlib.Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        folder = path.parent.relative_to(PACKAGE)
        if any(not (PACKAGE / part / "__init__.py").is_file() for part in (folder, *folder.parents)):
            continue
        parts = ("klagomal", *path.relative_to(PACKAGE).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name not in NOT_IMPORTED and parts[-1] != "__main__":
            found[name] = path
    return found


def _import(name: str) -> ModuleType | str:
    """The module, or why it is skipped: an extra that is not installed."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").partition(".")[0]
        if top in EXTRAS:
            return f"{name} needs {top}, of the extra '{EXTRAS[top]}', which is not installed"
        raise


MODULES = _modules()
IMPORTED = {name: _import(name) for name in MODULES}
FINDER = doctest.DocTestFinder(exclude_empty=True)
DOCTESTS = {
    test.name: test
    for module in IMPORTED.values()
    if isinstance(module, ModuleType)
    for test in FINDER.find(module, module.__name__)
    if test.examples
}
SKIPPED = {name: why for name, why in IMPORTED.items() if isinstance(why, str)}


@pytest.mark.parametrize(
    "name",
    [
        *sorted(DOCTESTS),
        *(pytest.param(name, marks=pytest.mark.skip(reason=why)) for name, why in sorted(SKIPPED.items())),
    ],
)
def test_docstring_examples(name: str) -> None:
    test = DOCTESTS[name]
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    result = runner.run(test, out=report.append)
    assert result.failed == 0, "".join(report)
    assert result.attempted == len(test.examples)


def test_every_example_in_the_sources_is_run() -> None:
    with_examples = {
        path for path in PACKAGE.rglob("*.py") if EXAMPLE.search(path.read_text(encoding="utf-8"))
    }
    run = {pathlib.Path(test.filename or "").resolve() for test in DOCTESTS.values()}
    # A skipped module's examples run where its extra is installed.
    run |= {MODULES[name] for name in SKIPPED}
    assert sorted(str(path.relative_to(PACKAGE.parent)) for path in with_examples - run) == []

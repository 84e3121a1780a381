"""The layers of klagomal and their "nevers" hold (``[tool.importlinter]`` in
pyproject.toml), and no package is left out of the layers.

``lint-imports`` is import-linter's command; it comes with the ``test``
and ``lint`` extras (``tox -e lint`` runs it too), so only an environment
without either skips the tests that need it.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "klagomal"


def _config() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        config: dict[str, Any] = tomllib.load(file)["tool"]["importlinter"]
    return config


def _layers_contract() -> dict[str, Any]:
    (contract,) = [c for c in _config()["contracts"] if c["type"] == "layers"]
    return contract


def _lint_imports() -> str:
    pytest.importorskip("importlinter", reason="import-linter comes with the test and lint extras")
    found = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which(
        "lint-imports"
    )
    if found is None:  # pragma: no cover - installed with the package
        pytest.skip("the lint-imports command is not on the path")
    return found


def test_the_import_contracts_are_kept() -> None:
    result = subprocess.run(
        [_lint_imports(), "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_package_and_module_is_in_a_layer() -> None:
    contract = _layers_contract()
    assert contract["containers"] == ["klagomal"]
    declared: set[str] = set()
    for layer in contract["layers"]:
        for name in re.split(r"[|:]", layer):
            declared.add(name.strip().removeprefix("(").removesuffix(")"))
    on_disk = set()
    for path in PACKAGE.iterdir():
        if path.is_dir() and (path / "__init__.py").exists():
            on_disk.add(path.name)
        elif path.is_dir():
            # A folder without __init__.py holds data, never code: a namespace
            # package would escape import-linter's graph.
            assert not list(path.rglob("*.py")), f"{path.name}/ holds Python code but no __init__.py"
        elif path.suffix == ".py" and path.name != "__init__.py":
            on_disk.add(path.stem)
    assert on_disk - declared == set(), "put each in a layer of [tool.importlinter] in pyproject.toml"
    assert {"cli", "testing", "app", "hooks", "core", "deadlines"} <= on_disk


#: A room may be larger than this only with the reason written at its top.
LARGE_ROOM = 1_000


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_a_large_room_without_a_reason(path: Path) -> None:
    """Every module of klagomal, read from disk: one over about 1,000 lines
    says why at its top (its docstring tells that it is longer, and why)."""
    text = path.read_text(encoding="utf-8")
    if text.count("\n") <= LARGE_ROOM:
        return
    docstring = ast.get_docstring(ast.parse(text)) or ""
    assert re.search(r"\blonger than\b", docstring), (
        f"{path.relative_to(PACKAGE)} has {text.count(chr(10))} lines: split it where a concept "
        "separates, or say at its top why it is one room"
    )


def test_no_import_circle_runs() -> None:
    """No module of klagomal imports itself through others when the code
    runs (a function-level import counts; one under ``TYPE_CHECKING`` never
    runs).  Before issue 18 about twenty modules formed one circle."""
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter, in the test and lint extras")
    graph = grimp.build_graph("klagomal", exclude_type_checking_imports=True)
    circles = [
        sorted({module, *graph.find_shortest_chain(imported, module)})
        for module in sorted(graph.modules)
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.find_shortest_chain(imported, module) is not None
    ]
    assert circles == [], f"import circles: {circles}"

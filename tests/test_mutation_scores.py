"""docs/testing.md's table of mutation scores agrees with ``tools/mutation.py``.

Every module the tool mutates has a row naming exactly the test files the
tool runs it against, and every measured row adds up: the killed and the
surviving mutants make the total, and the score is the killed share of the
mutants not explained as equivalent.  A module added to the tool, or a test
file added to a module, cannot be left out of the page.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "testing.md"
ROW = re.compile(r"^\| `(?P<target>[^`]+)` \| (?P<tests>[^|]+) \|(?P<rest>.*)\|$")


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation_tool", ROOT / "tools" / "mutation.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MODULES: dict[str, tuple[str, tuple[str, ...]]] = _tool().MODULES


def _rows() -> dict[str, re.Match[str]]:
    rows = {}
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows[match["target"]] = match
    return rows


def _shown(target: str) -> str:
    """How the page names a target: its path under src/klagomal."""
    return target.removeprefix("src/klagomal/").removesuffix("*")


def test_the_page_has_a_row_for_every_module_and_no_other() -> None:
    assert sorted(_rows()) == sorted(_shown(target) for target, _tests in MODULES.values())


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_row_names_the_modules_own_tests(module: str) -> None:
    target, tests = MODULES[module]
    row = _rows()[_shown(target)]
    assert re.findall(r"`([^`]+)`", row["tests"]) == [Path(test).name for test in tests]
    for test in tests:
        assert (ROOT / test).is_file(), test


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_measured_row_adds_up(module: str) -> None:
    row = _rows()[_shown(MODULES[module][0])]
    cells = [cell.strip() for cell in row["rest"].split("|")]
    mutants, killed, survived, equivalent, score, measured = cells
    if not mutants:
        assert score == "not yet measured"
        return
    total, dead, alive, same = (int(cell) for cell in (mutants, killed, survived, equivalent))
    assert dead + alive == total
    assert same <= alive
    assert score == f"{100 * dead / (total - same):.1f} %"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}, mutmut \d+\.\d+\.\d+", measured)

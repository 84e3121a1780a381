"""docs/plugins.md stays true to the hook catalogue (R25).

Two promises of the plugin documentation are checked here: **every hook is
documented** (a section headed by its exact signature, giving arguments,
how results combine, when it is called, and a runnable example), and
**every hook has a test named after it** (``test_<hook>...`` somewhere in
``tests/``).  The examples themselves run through Sybil with the docs.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from klagomal.hooks import specs as hookspecs

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "plugins.md"


def _hooks() -> dict[str, object]:
    return {
        name: value
        for name, value in vars(hookspecs).items()
        if name.startswith("klagomal_") and callable(value) and hasattr(value, "klagomal_spec")
    }


def _signature(name: str, function: object) -> str:
    """``name(arg: Type, ...) -> Return`` as written in the source (the
    annotations are strings under ``from __future__ import annotations``)."""
    sig = inspect.signature(function)  # type: ignore[arg-type]
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{name}({params}) -> {sig.return_annotation}"


def _sections() -> dict[str, str]:
    """Each ``### `` heading of the hook reference with the text under it."""
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^### (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1].split("\n## ", 1)[0] for i in range(1, len(parts), 2)}


def test_the_hook_groups_cover_every_hook_once() -> None:
    grouped = [hook for group in hookspecs.HOOK_GROUPS.values() for hook in group]
    assert sorted(grouped) == sorted(_hooks())
    assert len(grouped) == len(set(grouped))


@pytest.mark.parametrize("name", sorted(_hooks()))
def test_every_hook_is_documented_under_its_exact_signature(name: str) -> None:
    sections = _sections()
    heading = _signature(name, _hooks()[name])
    assert heading in sections, f"docs/plugins.md has no section '### {heading}'"
    body = sections[heading]
    for part in ("**Arguments:**", "**Combine:**", "**Called:**", "```python\n>>> "):
        assert part in body, f"the section on {name} lacks {part!r}"


def test_the_docs_document_no_hook_that_does_not_exist() -> None:
    documented = {heading.split("(", 1)[0] for heading in _sections()}
    assert documented == set(_hooks())


def test_the_reference_follows_the_catalogues_order() -> None:
    order = [heading.split("(", 1)[0] for heading in _sections()]
    assert order == [hook for group in hookspecs.HOOK_GROUPS.values() for hook in group]


def _test_names() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    return names


@pytest.mark.parametrize("name", sorted(_hooks()))
def test_every_hook_has_a_test_named_after_it(name: str) -> None:
    tests = sorted(t for t in _test_names() if t.startswith(f"test_{name}_") or t == f"test_{name}")
    assert tests, f"no test in tests/ is named test_{name}_..."

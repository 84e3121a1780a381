"""The schema figures the documentation shows are the code's.

Every ``schemaversion NNNN`` (the output of ``klagomal init``) and every
``"revision": "NNNN"`` (its JSON) in README.md and docs/ is the head of the
packaged migrations; every table of the migrations (``| revision | adds |``)
lists every revision the package ships, in order; and every migration script
a page names by file exists.  The revisions are read from the code and the
migrations folder, the pages from the docs folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from klagomal.storage import tables

REPO = Path(__file__).resolve().parent.parent
VERSIONS = REPO / "src" / "klagomal" / "storage" / "migrations" / "versions"


def pages() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def scripts() -> list[str]:
    """The packaged migration scripts, oldest first."""
    return sorted(p.name for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))


def test_the_code_knows_every_packaged_revision() -> None:
    assert [name[:4] for name in scripts()] == list(tables.SCHEMA_REVISIONS)
    assert tables.SCHEMA_REVISIONS[-1] == tables.SCHEMA_HEAD


@pytest.mark.parametrize("page", pages(), ids=_rel)
def test_every_schema_version_shown_is_the_head(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    shown = [
        (text.count("\n", 0, m.start()) + 1, m.group(1) or m.group(2))
        for m in re.finditer(r'schemaversion (\d{4})|"revision": "(\d{4})"', text)
    ]
    wrong = [f"{_rel(page)}:{line}: {revision}" for line, revision in shown if revision != tables.SCHEMA_HEAD]
    assert wrong == [], f"the schema's head is {tables.SCHEMA_HEAD}"


def migration_tables(text: str) -> list[list[str]]:
    """The revisions of each Markdown table headed ``| revision | ...``, in their order."""
    found: list[list[str]] = []
    rows: list[str] | None = None
    for line in text.splitlines():
        if re.match(r"^\|\s*revision\s*\|", line):
            rows = []
            found.append(rows)
        elif rows is not None and line.startswith("|"):
            if cell := re.match(r"^\|\s*`?(\d{4})`?\s*\|", line):
                rows.append(cell.group(1))
        else:
            rows = None
    return found


def test_every_migration_table_lists_every_revision_in_order() -> None:
    listed = {
        _rel(page): migration_tables(page.read_text(encoding="utf-8"))
        for page in pages()
        if migration_tables(page.read_text(encoding="utf-8"))
    }
    assert "docs/storage.md" in listed
    expected = list(tables.SCHEMA_REVISIONS)
    wrong = {page: found for page, found in listed.items() if any(rows != expected for rows in found)}
    assert wrong == {}, f"every table lists {expected}"


def test_every_migration_script_named_exists_and_the_architecture_names_them_all() -> None:
    named = {
        _rel(page): re.findall(r"\b(\d{4}_\w+\.py)\b", page.read_text(encoding="utf-8")) for page in pages()
    }
    unknown = {page: sorted(set(names) - set(scripts())) for page, names in named.items()}
    assert {page: names for page, names in unknown.items() if names} == {}
    assert named["docs/architecture.md"] == scripts()


def test_the_checks_find_a_stale_figure() -> None:
    # The table reader and the patterns above catch what was wrong before.
    stale = (
        "| revision | adds |\n|---|---|\n| `0001` | cases |\n| `0004` | ids |\n| `0008` | log |\n\nText.\n"
    )
    assert migration_tables(stale) == [["0001", "0004", "0008"]]
    assert re.findall(r"schemaversion (\d{4})", "är klar (schemaversion 0006).") == ["0006"]

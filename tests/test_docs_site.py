"""The documentation site (mkdocs.yml) holds every page, and its API reference
every public name.

The pages are read from docs/ and the public names from ``klagomal.__all__``,
so a page or a name added later is covered.  ``tox -e docs`` builds the site
with ``mkdocs build --strict``; these checks need no MkDocs.
"""

from __future__ import annotations

import re
from pathlib import Path

import klagomal

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"


def nav_pages() -> list[str]:
    """The pages mkdocs.yml's nav lists, in order (``- Title: page.md`` or ``- page.md``)."""
    text = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text[text.index("\nnav:") :]
    return re.findall(r"^\s+- (?:[^\n]*?: )?([\w./-]+\.md)\s*$", nav, re.MULTILINE)


def test_every_page_in_docs_is_in_the_nav_once() -> None:
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    listed = nav_pages()
    assert sorted(listed) == pages
    assert len(listed) == len(set(listed))
    assert listed[0] == "index.md"


def test_the_site_is_built_from_docs_with_warnings_as_errors() -> None:
    text = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    assert re.search(r"^docs_dir: docs$", text, re.MULTILINE)
    assert re.search(r"^strict: true$", text, re.MULTILINE)
    tox = (REPO / "tox.ini").read_text(encoding="utf-8")
    docs_env = tox[tox.index("[testenv:docs]") :]
    assert "mkdocs build --strict" in docs_env


def test_the_api_reference_documents_every_public_name() -> None:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    documented = re.findall(r"^::: ([\w.]+)$", text, re.MULTILINE)
    public = [name for name in klagomal.__all__ if name != "__version__"]
    expected = {f"{klagomal._LOCATIONS[name]}.{name}" for name in public}
    assert sorted(documented) == sorted(expected)
    assert "klagomal.app.Klagomal" in documented

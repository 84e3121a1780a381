"""The documentation site (mkdocs.yml) holds every page, and its API reference
every public name.

The pages are read from docs/ and the public names from ``klagomal.__all__``,
so a page or a name added later is covered.  ``tox -e docs`` builds the site
with ``mkdocs build --strict`` and runs this file; only the last test needs
MkDocs (the docs extra) and is skipped without it.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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
    text = (DOCS / "reference.md").read_text(encoding="utf-8")
    documented = re.findall(r"^::: ([\w.]+)$", text, re.MULTILINE)
    public = [name for name in klagomal.__all__ if name != "__version__"]
    expected = {f"{klagomal._LOCATIONS[name]}.{name}" for name in public}
    assert sorted(documented) == sorted(expected)
    assert "klagomal.app.Klagomal" in documented


def test_the_built_reference_shows_the_signatures_and_no_sphinx_markup(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")
    pytest.importorskip("mkdocstrings_handlers.python", reason="the docs extra is not installed")
    site = tmp_path / "site"
    env = {**os.environ, "PYTHONPATH": str(Path(klagomal.__file__).resolve().parent.parent)}
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    for page in nav_pages():
        built = site / ("index.html" if page == "index.md" else page.removesuffix(".md") + "/index.html")
        assert built.is_file(), page
    text = html.unescape(re.sub(r"<[^>]+>", "", (site / "reference" / "index.html").read_text(encoding="utf-8")))
    # The __init__ attrs writes (tools/griffe_klagomal.py) ...
    assert re.search(r"User\(\s*id: str,\s*name: str,\s*role: Role,", text)
    # ... every method of the facade ...
    methods = [
        n
        for n in vars(klagomal.Klagomal)
        if not n.startswith("_") and callable(getattr(klagomal.Klagomal, n))
    ]
    assert [m for m in methods if not re.search(rf"^\s*{m}\(", text, re.MULTILINE)] == []
    # ... and Sphinx's roles shown as code, not as markup.
    assert re.findall(r":(?:class|meth|func|attr|mod|data|exc):", text) == []

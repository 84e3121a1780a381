"""The message catalogues of klagomal's letters and citizen pages.

    python tools/catalogues.py extract   # src/klagomal/locale/klagomal.pot from the sources
    python tools/catalogues.py update    # merge the .pot into every language's .po
    python tools/catalogues.py compile   # every .po into its .mo (committed beside it)

The sources are what a person who gave feedback reads (``CITIZEN_SOURCES``):
the letters to them and their templates, the web form and its receipt, the
web interface's pages for the citizen (the form, the receipt, "Följ ditt
ärende", the published answers), the labels of kinds, states, levels and
quality dimensions and the dates in words.  Staff texts stay Swedish and are not extracted here; a kommun that
wants them translated too extracts with ``pybabel extract`` over all of
``src/klagomal``.

Babel reads and writes the catalogues (it comes with the docs extra, through
mkdocs-material, and the test extra names it): its ``.mo`` writer sorts the
messages, so the same ``.po`` always compiles to the same bytes and
tests/test_languages.py can check that the committed ``.mo`` is the
compiled ``.po``.  The templates are read with Jinja2's own extractor for
``{{ _("...") }}``.
"""

from __future__ import annotations

import io
import pathlib
import re
import sys
from collections.abc import Iterator

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "klagomal"
LOCALE = PACKAGE / "locale"
TEMPLATE = LOCALE / "klagomal.pot"
DOMAIN = "klagomal"

#: The Python modules whose every ``_()`` a person may read.
CITIZEN_MODULES = (
    "core/model.py",
    "core/formats.py",
    "hooks/builtin.py",
    "intake/webform.py",
    "notices/letters.py",
    # The web interface's pages for the citizen (klagomal.web.ui, modules marked PUBLIC).
    "web/ui/citizen.py",
    "web/ui/published.py",
    "web/ui/follow.py",
)

#: The web interface's templates a citizen's pages are drawn from
#: (``src/klagomal/web/ui/templates``): the frame, the form parts, the
#: citizen's pages, and the pages any visitor may meet (an error, sending again).
WEB_TEMPLATES = (
    "base.html",
    "macros.html",
    "error.html",
    "resend.html",
    "citizen_*.html",
    "published_*.html",
    "follow*.html",
)

#: The letters to the person, with the parts they include.
CITIZEN_TEMPLATES = (
    "_layout.html",
    "_halsning.html",
    "_fran_text.html",
    "_signatur.html",
    "_signatur.txt",
    *(
        f"{kind}.{ext}"
        for kind in (
            "besked",
            "information",
            "forsening",
            "komplettering",
            "aterupptaget",
            "svar",
            "vagledning",
        )
        for ext in ("txt", "html")
    ),
)

HEADER = """\
# The texts a person reads in klagomal, in Swedish: the letters to the person,
# the web form and its receipt, the labels and the dates.  Made with
# tools/catalogues.py; a kommun copies it to translate (docs/letters.md).
# This file is distributed under the same license as the klagomal project (MIT).
#"""

_KEYWORDS = {"_": None, "ngettext": (1, 2)}
_JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}


def citizen_sources() -> Iterator[tuple[pathlib.Path, str]]:
    """The files to extract, each with its Babel method."""
    for module in CITIZEN_MODULES:
        if (PACKAGE / module).exists():
            yield PACKAGE / module, "python"
    for template in CITIZEN_TEMPLATES:
        yield PACKAGE / "notices" / "templates" / template, "jinja2.ext:babel_extract"
    for pattern in WEB_TEMPLATES:
        for path in sorted((PACKAGE / "web" / "ui" / "templates").glob(pattern)):
            yield path, "jinja2.ext:babel_extract"


def extract() -> Catalog:
    """Every message of :func:`citizen_sources`, with where it is used."""
    catalog = Catalog(
        domain=DOMAIN,
        project="klagomal",
        version="0.1.0",
        msgid_bugs_address="https://github.com/klagomal/klagomal/issues",
        header_comment=HEADER,
        charset="utf-8",
        fuzzy=False,
    )
    for path, method in citizen_sources():
        options = _JINJA_OPTIONS if method != "python" else {}
        for lineno, message, comments, _context in extract_from_file(
            method, str(path), keywords=_KEYWORDS, comment_tags=("TRANSLATORS:",), options=options
        ):
            catalog.add(message, locations=[(str(path.relative_to(PACKAGE)), lineno)], auto_comments=comments)
    return catalog


def languages() -> list[pathlib.Path]:
    """The ``.po`` files, one per language."""
    return sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


class _WithOwnHeaders(Catalog):
    """A catalogue that keeps the ``X-`` headers of its ``.po`` in its
    ``.mo``: Babel writes only the headers it knows, and klagomal reads a
    language's own name from ``X-Language-Name`` (klagomal.core.i18n).
    The ``.mo`` does not name the Babel that wrote it, so that the same
    ``.po`` compiles to the same bytes with any version."""

    own_headers: tuple[tuple[str, str], ...] = ()

    @property  # type: ignore[override]
    def mime_headers(self) -> list[tuple[str, str]]:
        known = Catalog.mime_headers.fget(self)  # type: ignore[attr-defined]
        # Without "Generated-By": another Babel version compiles the same bytes.
        headers = [*(h for h in known if h[0] != "Generated-By"), *self.own_headers]
        name, value = headers[-1]
        headers[-1] = (name, f"{value}\n")  # the header ends with a line break, as Babel's does
        return headers


_OWN_HEADER = re.compile(r'^"(X-[A-Za-z-]+): (.*?)(?:\\n)?"$', re.MULTILINE)


def read(po: pathlib.Path) -> Catalog:
    """The catalogue *po*, with its own ``X-`` headers."""
    with po.open("rb") as file:
        catalog = read_po(file)
    own = _WithOwnHeaders.__new__(_WithOwnHeaders)
    own.__dict__.update(catalog.__dict__)
    header = po.read_text(encoding="utf-8").split("\n\n", 1)[0]
    own.own_headers = tuple(_OWN_HEADER.findall(header))
    return own


def compiled(po: pathlib.Path) -> bytes:
    """The ``.mo`` that *po* compiles to."""
    out = io.BytesIO()
    write_mo(out, read(po))
    return out.getvalue()


def _write_po(path: pathlib.Path, catalog: Catalog) -> None:
    with path.open("wb") as file:
        write_po(file, catalog, width=100, omit_header=False, sort_output=False)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "extract":
        _write_po(TEMPLATE, extract())
    elif command == "update":
        template = extract()
        for po in languages():
            catalog = read(po)
            catalog.update(template, update_header_comment=False)
            _write_po(po, catalog)
    elif command == "compile":
        for po in languages():
            po.with_suffix(".mo").write_bytes(compiled(po))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Translation of texts that handlers and citizens read, per language.

Source strings are Swedish, because Swedish is what klagomal's users read by
default.  They are marked with :func:`_` so that the standard ``gettext``
tool chain (Babel, ``xgettext``, ``msgfmt``) can extract and translate them.

The language is chosen per context, not per process: :func:`use_language`
makes a language active for the code it wraps, in this thread or asyncio task
only (a :mod:`contextvars` variable), so that a letter to a person who writes
in English is rendered in English while the next request is Swedish::

    with use_language("en"):
        subject = _("Svar i ditt ärende {reference}")

Outside :func:`use_language` the active language is Swedish and :func:`_`
returns its argument.  A kommun in an administrative area for Finnish,
Meänkieli or Sami (lag 2009:724) adds the language by a catalogue
``<dir>/<code>/LC_MESSAGES/klagomal.mo`` in the folder ``KLAGOMAL_LOCALEDIR``
names (docs/letters.md, "Languages / Språk").  Catalogues are looked up in
that folder first and then in the package's own (``klagomal/locale``, which
ships English), so a kommun's catalogue wins message by message and may also
correct the English.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import gettext
import os
import pathlib
from collections.abc import Iterator

__all__ = [
    "DEFAULT_LANGUAGE",
    "DOMAIN",
    "LANGUAGES",
    "PACKAGE_LOCALEDIR",
    "_",
    "active_language",
    "available_languages",
    "ngettext",
    "set_language",
    "use_language",
]

DOMAIN = "klagomal"

#: The language of the source strings, active unless another is chosen.
DEFAULT_LANGUAGE = "sv"

#: The catalogues shipped with klagomal: ``<code>/LC_MESSAGES/klagomal.mo``.
PACKAGE_LOCALEDIR = pathlib.Path(__file__).resolve().parent.parent / "locale"

#: The languages klagomal ships, by code, with each language's name for
#: itself; :func:`available_languages` adds a kommun's own catalogues.
LANGUAGES: dict[str, str] = {"sv": "svenska", "en": "English"}

#: The catalogue header that gives a language's own name (``X-Language-Name:
#: suomi``); a catalogue without it is named by its code.
NAME_HEADER = "x-language-name"

_active: contextvars.ContextVar[str] = contextvars.ContextVar("klagomal_language", default=DEFAULT_LANGUAGE)


def _kommun_localedir() -> str | None:
    return os.environ.get("KLAGOMAL_LOCALEDIR") or None


def _folders(localedir: str | None) -> tuple[pathlib.Path, ...]:
    """The catalogue folders in the order they win: the kommun's, then klagomal's."""
    own = (pathlib.Path(localedir),) if localedir else ()
    return (*own, PACKAGE_LOCALEDIR)


def _catalogue(folder: pathlib.Path, language: str) -> pathlib.Path:
    return folder / language / "LC_MESSAGES" / f"{DOMAIN}.mo"


@functools.cache
def _translation(language: str, localedir: str | None) -> gettext.NullTranslations:
    """The translation to *language*: the kommun's catalogue, falling back
    message by message on klagomal's, then on the Swedish source string.
    Read once per language and folder; :class:`gettext.GNUTranslations` is
    only read after it is made, so one object serves every thread."""
    chain: gettext.NullTranslations = gettext.NullTranslations()
    for folder in reversed(_folders(localedir)):
        path = _catalogue(folder, language)
        if path.is_file():
            with path.open("rb") as file:
                found = gettext.GNUTranslations(file)
            found.add_fallback(chain)
            chain = found
    return chain


@functools.cache
def _available(localedir: str | None) -> dict[str, str]:
    names = dict(LANGUAGES)
    for folder in reversed(_folders(localedir)):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")):
            code = path.parent.parent.name
            info = _translation(code, localedir).info()
            names[code] = info.get(NAME_HEADER) or names.get(code) or code
    return dict(sorted(names.items()))


def available_languages() -> dict[str, str]:
    """Every language a case may be in, code → the language's own name:
    Swedish, those klagomal ships and those the kommun's catalogues add."""
    return dict(_available(_kommun_localedir()))


def active_language() -> str:
    """The language :func:`_` translates to in this context."""
    return _active.get()


def set_language(language: str) -> None:
    """Make *language* active for the rest of this context: a web request's
    own task (its thread gets a copy of the context), which ends with it.
    Elsewhere, prefer :func:`use_language`, which restores the one before."""
    _active.set(language)


@contextlib.contextmanager
def use_language(language: str | None) -> Iterator[str]:
    """Make *language* active for the code inside the ``with`` (this thread
    or task only); ``None`` keeps the active one.  The language is not
    checked here: a language without a catalogue reads Swedish."""
    token = _active.set(language or _active.get())
    try:
        yield _active.get()
    finally:
        _active.reset(token)


def _(message: str) -> str:
    """Translate *message* (a Swedish source string) to the active language."""
    return _translation(_active.get(), _kommun_localedir()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate and choose the singular or plural form for *n*."""
    return _translation(_active.get(), _kommun_localedir()).ngettext(singular, plural, n)

"""Translation of texts that handlers and citizens read.

Source strings are Swedish, because Swedish is what klagomal's users read by
default.  They are marked with :func:`_` so that the standard ``gettext``
tool chain (``xgettext``, ``msgfmt``) can extract and translate them; a
kommun that wants another language ships a ``klagomal.mo`` catalogue and points
``KLAGOMAL_LOCALEDIR`` at it.  Without a catalogue the Swedish text is used.
"""

from __future__ import annotations

import functools
import gettext
import os

__all__ = ["_", "ngettext"]

DOMAIN = "klagomal"


@functools.cache
def _translation() -> gettext.NullTranslations:
    localedir = os.environ.get("KLAGOMAL_LOCALEDIR")
    return gettext.translation(DOMAIN, localedir=localedir, fallback=True)


def _(message: str) -> str:
    """Translate *message* (a Swedish source string) to the active language."""
    return _translation().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate and choose the singular or plural form for *n*."""
    return _translation().ngettext(singular, plural, n)

"""Bytes into text by their charset: declared, mislabelled (ISO-8859-1 that is
really UTF-8 or Windows-1252) or unknown and guessed, with a note for the handler."""

from __future__ import annotations

import codecs
import re

from klagomal.core.i18n import _

__all__ = ["bytes_to_str", "decode_text"]


_UTF8 = "utf-8"
_CP1252 = "windows-1252"
# Codecs that Python knows but that no mail program means by a charset name.
_NOT_CHARSETS = frozenset(
    {"undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode", "mbcs", "oem"}
)
_LATIN1_FAMILY = frozenset({"iso8859-1", "iso8859-15", "cp1252"})


def _codec(label: str | None) -> str | None:
    """The Python codec for a charset *label*, or ``None`` if unknown or not a text charset."""
    if not label:
        return None
    try:
        info = codecs.lookup(label)
    except Exception:  # LookupError, and odd names (NUL bytes) raise ValueError/TypeError
        return None
    name = info.name.replace("_", "-")
    if not getattr(info, "_is_text_encoding", True) or name in _NOT_CHARSETS:
        return None
    return info.name


def _shown_label(label: str) -> str:
    """A charset label fit to appear in a note."""
    cleaned = "".join(ch for ch in label if ch.isprintable() and not ch.isspace())[:40]
    return cleaned or "?"


def _guess(data: bytes) -> tuple[str, str]:
    """Decode *data* whose charset is unknown: UTF-8 if valid, else Windows-1252."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeError:
            pass
    try:
        return data.decode("utf-8"), _UTF8
    except UnicodeError:
        return data.decode("cp1252", "replace"), _CP1252


_UTF8_LEAD = re.compile(rb"[\xc0-\xff]")
_C1_BYTES = re.compile(rb"[\x80-\x9f]")
# Lead bytes of the UTF-8 that Swedish text mislabelled as a one-byte
# charset shows: Latin-1 letters (å ä ö é ü: C2, C3), punctuation (– ” €: E2)
# and emoji (F0).
_PLAUSIBLE_UTF8_LEADS = frozenset({b"\xc2", b"\xc3", b"\xe2", b"\xf0"})


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeError:
        return False
    return True


def _looks_like_utf8(data: bytes) -> bool:
    """Whether one-byte-charset *data* is really UTF-8: valid, and only with plausible sequences.

    Windows-1252 text is seldom valid UTF-8 by chance ("Ä–" is); the lead
    bytes make such a chance all but impossible for real text.
    """
    return _is_utf8(data) and set(_UTF8_LEAD.findall(data)) <= _PLAUSIBLE_UTF8_LEADS


def decode_text(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Decode a text part; returns the text and a Swedish note if the charset had to be guessed."""
    label = declared.strip().strip("\"'").lower() if declared else None
    codec = _codec(label)
    if data.isascii() and codec in (None, "ascii", "utf-8", "utf-8-sig", *_LATIN1_FAMILY):
        return data.decode("ascii"), None
    if codec is None:
        text, actual = _guess(data)
        if label:
            note = _("teckenkodningen {declared} är okänd; texten tolkades som {actual}")
        elif actual == _UTF8:
            return text, None  # undeclared but valid UTF-8: no doubt worth a note
        else:
            note = _("teckenkodning angavs inte; texten tolkades som {actual}")
        return text, note.format(declared=_shown_label(label or ""), actual=actual)
    mislabelled = _("teckenkodningen angavs som {declared} men var {actual}")
    label = label or ""
    if codec == "ascii":
        text, actual = _guess(data)
        return text, mislabelled.format(declared=_shown_label(label), actual=actual)
    if codec in ("utf-8", "utf-8-sig"):
        try:
            return data.decode(codec), None
        except UnicodeDecodeError as exc:
            if exc.reason == "unexpected end of data":  # the first error, and at the very end
                return data[: exc.start].decode(codec), None  # cut in the middle of a character
            return data.decode("cp1252", "replace"), mislabelled.format(
                declared=_shown_label(label), actual=_CP1252
            )
    if codec in _LATIN1_FAMILY:
        # Declared as a one-byte charset but valid UTF-8 with non-ASCII
        # characters: Swedish text in ISO-8859-1 practically never is.
        if _looks_like_utf8(data):
            return data.decode("utf-8"), mislabelled.format(declared=_shown_label(label), actual=_UTF8)
        if codec != "cp1252" and _C1_BYTES.search(data):
            # 0x80-0x9F are control characters in ISO-8859-1 but quotes,
            # dashes and the euro sign in Windows-1252: the usual mislabel.
            return data.decode("cp1252", "replace"), mislabelled.format(
                declared=_shown_label(label), actual=_CP1252
            )
        return data.decode(codec, "replace"), None
    try:
        return data.decode(codec), None
    except Exception:  # UnicodeError, and the odd codec that raises something else
        text, actual = _guess(data)
        return text, mislabelled.format(declared=_shown_label(label), actual=actual)


def bytes_to_str(data: bytes) -> str:
    """Header bytes outside encoded words: UTF-8 (RFC 6532) if valid, else Windows-1252."""
    return _guess(data)[0] if not data.isascii() else data.decode("ascii")

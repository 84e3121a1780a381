"""Header values as the sender meant them: RFC 2047 encoded words (also broken
ones), the sender's name and address, and the date.  Headers are read raw,
without the :mod:`email` policy parsing them."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.message
import email.utils
import re
import unicodedata

from klagomal.intake.mail.charsets import bytes_to_str, decode_text
from klagomal.intake.mail.text import CONTROL, WHITESPACE

__all__ = [
    "MAX_FIELD_BYTES",
    "date_of",
    "decode_words",
    "decoded_header",
    "header_bytes",
    "raw_header",
    "raw_headers",
    "sender_of",
]


# An RFC 2047 encoded word; lenient: spaces inside (broken clients) and a
# missing "?=" at the very end are accepted.
_ENCODED_WORD = re.compile(rb"=\?([^?\s]{1,64})\?([QqBb])\?([^?]*?)(?:\?=|$)")


def header_bytes(value: object) -> bytes:
    """A raw header value (a str with surrogate escapes, as the parser keeps it) as unfolded bytes."""
    text = str(value)
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeError:
        data = text.encode("utf-8", "replace")
    return re.sub(rb"\r?\n", b"", data)


def raw_headers(part: email.message.Message, name: str) -> list[bytes]:
    """Every value of header *name* in *part*, as unfolded bytes, without the policy parsing them."""
    wanted = name.lower()
    return [header_bytes(value) for key, value in part.raw_items() if str(key).lower() == wanted]


def raw_header(part: email.message.Message, name: str) -> bytes | None:
    """The first value of header *name* in *part*, as :func:`raw_headers` reads it; ``None`` if absent."""
    values = raw_headers(part, name)
    return values[0] if values else None


def _decode_encoded_word(match: re.Match[bytes]) -> str | None:
    charset = match.group(1).split(b"*", 1)[0].decode("ascii", "replace")
    encoding = match.group(2).upper()
    payload = match.group(3)
    try:
        if encoding == b"B":
            letters = re.sub(rb"[^A-Za-z0-9+/]", b"", payload)
            if len(letters) % 4 == 1:
                letters = letters[:-1]
            data = base64.b64decode(letters + b"=" * (-len(letters) % 4))
        else:
            data = binascii.a2b_qp(payload, header=True)
    except (binascii.Error, ValueError):
        return None
    return decode_text(data, charset)[0]


def decode_words(data: bytes) -> str:
    """Decode a header value with RFC 2047 encoded words, tolerating malformed ones."""
    parts: list[str] = []
    position = 0
    after_word = False
    for match in _ENCODED_WORD.finditer(data):
        between = data[position : match.start()]
        if not (after_word and not between.strip(b" \t")):
            parts.append(bytes_to_str(between))
        decoded = _decode_encoded_word(match)
        if decoded is None:
            parts.append(bytes_to_str(match.group(0)))
            after_word = False
        else:
            parts.append(decoded)
            after_word = True
        position = match.end()
    parts.append(bytes_to_str(data[position:]))
    return "".join(parts)


def _clean_line(text: str) -> str:
    """One line of header text: NFC, no control characters, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = CONTROL.sub(" ", text.replace("\t", " ").replace("\n", " "))
    return WHITESPACE.sub(" ", text).strip()


def decoded_header(part: email.message.Message, name: str) -> str:
    """Header *name* of *part* as one clean line of text, encoded words decoded; ``""`` if absent."""
    value = raw_header(part, name)
    return _clean_line(decode_words(value)) if value is not None else ""


MAX_FIELD_BYTES = 8192  # of From, Content-Type and Content-Disposition: what is read of them


_ADDR_SPEC = re.compile(
    r"^[^\s@<>()\[\],;:\\\"\x00-\x1f\x7f]+"  # local part (dot-atom, loosely)
    r"@(?:[^\s@<>()\[\],;:\\\"\x00-\x1f\x7f.]+(?:\.[^\s@<>()\[\],;:\\\"\x00-\x1f\x7f.]+)*|\[[0-9A-Fa-f.:]+\])$"
)


def sender_of(part: email.message.Message) -> tuple[str | None, str | None]:
    """(display name, addr-spec) of the first From address; ``None`` where unreadable."""
    raw = raw_header(part, "From")
    if raw is None:
        return None, None
    # Encoded words stay encoded, so a "=2C" is no comma here; only the first address is
    # wanted, and the address parser is slow on a megabyte of them.
    raw = raw[:MAX_FIELD_BYTES]
    value = bytes_to_str(raw)
    name, address = "", ""
    try:
        pairs = email.utils.getaddresses([value])
    except Exception:  # a malformed value that defeats the address parser
        pairs = []
    for pair_name, pair_address in pairs:
        if pair_address and _ADDR_SPEC.match(pair_address):
            name, address = pair_name, pair_address
            break
    if not address:
        match = re.search(r"<([^<>\s]+@[^<>\s]+)>", value) or re.search(
            r"([^\s<>\"',;:]+@[^\s<>\"',;:]+)", value
        )
        if match and _ADDR_SPEC.match(match.group(1)):
            address = match.group(1)
            name = value[: match.start()].strip().strip('"').strip()
    display = _clean_line(decode_words(name.encode("utf-8", "surrogateescape"))).strip("\"' ") if name else ""
    if not any(ch.isalpha() for ch in display):
        # Without a single letter ("--" of a mangled "Robert'); DROP ...;--", "12345") it is
        # no name, and a letter greeting "Hej --!" would be worse than "Hej!".
        display = ""
    if not address:
        # No address: the name alone, if the field reads like one (not a group, not punctuation).
        alone = display or _clean_line(decode_words(raw))
        if ":" in alone or not any(ch.isalpha() for ch in alone):
            return None, None
        return alone.strip("\"' <>") or None, None
    local, _at, domain = address.rpartition("@")
    address = f"{local}@{domain.lower()}"
    if display.lower() == address.lower():
        display = ""
    return (display or None), address


def date_of(part: email.message.Message) -> dt.datetime | None:
    """The Date header, aware (UTC if the zone is unknown); ``None`` if absent or unreadable."""
    raw = raw_header(part, "Date")
    if raw is None:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(_clean_line(raw.decode("ascii", "replace")))
    except Exception:  # ValueError, TypeError, OverflowError, IndexError on odd dates
        return None
    if parsed.tzinfo is None:  # "-0000": the time is UTC, the sender's zone is unknown
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed

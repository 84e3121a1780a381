"""MIME parameters of one part: its content type, charset and disposition, and
the name of an attachment made safe to show and to save.  Read with the
plain-string (compat32) machinery from the raw headers, which never raises
on a malformed parameter."""

from __future__ import annotations

import email.message
import re
import unicodedata

import attrs

from klagomal.intake.mail.headers import MAX_FIELD_BYTES, decode_words, header_bytes

__all__ = ["Mime", "mime_of", "payload_of"]


@attrs.frozen
class Mime:
    """What the Content-Type and Content-Disposition headers of one part say."""

    content_type: str
    charset: str | None
    filename: str | None
    disposition: str | None
    params: dict[str, str]


def mime_of(part: email.message.Message) -> Mime:
    """The MIME parameters of *part*; never raises, whatever its headers."""
    helper = email.message.Message()  # compat32: headers are plain strings
    helper.set_default_type(part.get_default_type())
    for key, value in part.raw_items():
        name = str(key).lower()
        if name in ("content-type", "content-disposition") and name not in helper:
            # compat32's parameter parser is quadratic: a real header is far shorter than this.
            helper[name] = header_bytes(value)[:MAX_FIELD_BYTES].decode("utf-8", "surrogateescape")
    content_type = helper.get_default_type()
    charset: str | None = None
    filename: str | None = None
    disposition: str | None = None
    params: dict[str, str] = {}
    try:
        content_type = helper.get_content_type()
        for key, value in helper.get_params(failobj=[]) or []:
            if isinstance(value, str):
                params.setdefault(str(key).lower(), value)
    except Exception:  # pragma: no cover - compat32 parameter parsing is lenient
        pass
    try:
        charset = helper.get_content_charset()
    except Exception:
        charset = params.get("charset")
    try:
        disposition = helper.get_content_disposition()
    except Exception:
        disposition = None
    try:
        filename = helper.get_filename()
    except Exception:
        filename = params.get("name")
    return Mime(
        content_type=content_type.lower(),
        charset=charset,
        filename=_sanitise_filename(filename),
        disposition=disposition,
        params=params,
    )


def _sanitise_filename(value: str | None) -> str | None:
    """A file name with no path parts and no control or direction-changing characters."""
    if not value:
        return None
    name = decode_words(value.encode("utf-8", "surrogateescape"))
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    name = name.strip().strip(".").strip()
    if not name:
        return None
    if len(name) > 200:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: 200 - len(suffix) - 1] + dot + suffix) if dot and len(suffix) <= 16 else name[:200]
    return name


def payload_of(part: email.message.Message) -> bytes:
    """The content of a leaf part with the transfer encoding (base64, quoted-printable) undone."""
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""

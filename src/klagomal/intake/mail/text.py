"""Plain text once decoded: newlines, control characters, text that is really
binary, and RFC 3676 ``format=flowed``."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["CONTROL", "WHITESPACE", "looks_binary", "normalise_text", "unflow"]


# C0 and C1 control characters other than tab and newline.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: A run of whitespace, collapsed to one space in a line.
WHITESPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Newlines as ``\\n``, no control characters, no trailing spaces, at most one blank line in a row."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = CONTROL.sub("", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# Control characters that no text contains (tab, newlines, form feed excepted).
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def looks_binary(text: str) -> bool:
    """Whether decoded *text* is really binary data: more than one character
    in twenty is a control character or U+FFFD."""
    bad = len(_BINARY.findall(text)) + text.count("\ufffd")
    return bad > 0 and bad * 20 > len(text)


def unflow(text: str, delsp: bool) -> str:
    """Undo RFC 3676 ``format=flowed``: soft line breaks joined, space-stuffing removed."""
    out: list[str] = []
    pending: str | None = None
    pending_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        if pending is not None and depth == pending_depth:
            content = pending + content
        elif pending is not None:
            out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
        pending = None
        if content.endswith(" ") and content != "-- ":
            pending, pending_depth = (content[:-1] if delsp else content), depth
            continue
        out.append(">" * depth + (" " if depth and content else "") + content)
    if pending is not None:
        out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
    return "\n".join(out)

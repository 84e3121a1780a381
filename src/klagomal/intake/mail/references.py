"""What a message refers to: the Message-IDs in its Message-ID, In-Reply-To
and References headers, and the case references (``2026-00042``) in its subject."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["case_references", "message_ids_in"]


_MSGID = re.compile(r"<([^<>\s]*)>")
_MSGID_TEXT = re.compile(r"^[\x21-\x3b\x3d\x3f-\x7e]+$")  # printable ASCII without < and >


def _valid_msgid(candidate: str) -> bool:
    if not 3 <= len(candidate) <= 250 or not _MSGID_TEXT.match(candidate):
        return False
    left, _at, right = candidate.rpartition("@")
    return bool(left) and bool(right)


def message_ids_in(values: Iterable[bytes]) -> list[str]:
    """The Message-IDs in header *values*, normalised to ``<id@domain>``, in order."""
    found: list[str] = []
    for raw in values:
        value = raw.decode("ascii", "replace")
        ids = [f"<{m.group(1)}>" for m in _MSGID.finditer(value) if _valid_msgid(m.group(1))]
        if not ids:
            tokens = value.split()
            if len(tokens) == 1 and _valid_msgid(tokens[0]):
                ids = [f"<{tokens[0]}>"]
        found.extend(ids)
    return list(dict.fromkeys(found))


_REFERENCE = re.compile(r"(?<![\w-])((?:19|20)\d\d-\d{5,})(?![\w-])")


def case_references(subject: str) -> tuple[str, ...]:
    """The case references (``2026-00042``) that *subject* names, in order, each once."""
    return tuple(dict.fromkeys(_REFERENCE.findall(subject)))

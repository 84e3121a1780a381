"""Someone else's e-mail forwarded inline: where the forwarded original begins
in the text, what its header lines say, and who sent it.

Recognised: Gmail's ``---------- Forwarded message ---------`` (and its
Swedish ``Vidarebefordrat meddelande``), Thunderbird's ``-------- Vidarebefordrat
meddelande --------``, Apple Mail's ``Början på vidarebefordrat brev:`` /
``Begin forwarded message:``, and Outlook's header block ``Från: … Skickat: …
Till: … Ämne: …`` (``From: … Sent: … To: … Subject: …``), which carries no
marker and so counts only under a forward's subject (``VB:``, ``Fwd:`` …).
An original attached as ``message/rfc822`` is read by
:mod:`klagomal.intake.mailparse` from its own headers instead.
"""

from __future__ import annotations

import email.utils
import re

import attrs

from klagomal.intake.mail.quotes import FORWARD_MARKER, outlook_block_at

__all__ = ["InlineForward", "address_in", "find_inline_forward"]

_HEADER = re.compile(
    r"^\s*\*?(från|from|datum|date|skickat|sent|till|to|ämne|subject|kopia|cc|svara till|reply-to)"
    r"\s*:\*?[ \t]*(.*)$",
    re.IGNORECASE,
)
_CANONICAL = {
    "från": "from",
    "datum": "date",
    "skickat": "date",
    "sent": "date",
    "till": "to",
    "ämne": "subject",
    "kopia": "cc",
    "svara till": "reply-to",
}
_RULE = re.compile(r"^\s*(?:_{8,}|-{8,})\s*$")
_MAILTO = re.compile(r"\[mailto:([^\]\s]+)\]", re.IGNORECASE)
_ADDRESS = re.compile(r"^[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\".]+(?:\.[^\s@<>()\[\],;:\".]+)+$")
_LOOSE_ADDRESS = re.compile(r"<?([^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+)>?")
#: A header line longer than this is text, not a header.
_MAX_HEADER_LINE = 1000


@attrs.frozen
class InlineForward:
    """A forwarded original found in a message's text."""

    before: str
    """The forwarder's own lines above the original (their comment)."""
    headers: dict[str, str]
    """The original's header lines: ``from``, ``date``, ``subject``, ``to``, ``cc``."""
    body: str
    """The original's text, below its header lines."""


def _headers_from(lines: list[str], start: int) -> tuple[dict[str, str], int] | None:
    """The header lines from *start* (blank lines before them skipped), and
    the index of the first line after them; ``None`` if they name no sender."""
    index = start
    while index < len(lines) and index - start < 3 and not lines[index].strip():
        index += 1
    headers: dict[str, str] = {}
    while index < len(lines):
        line = lines[index]
        match = _HEADER.match(line) if len(line) <= _MAX_HEADER_LINE else None
        if match is None:
            break
        key = match.group(1).lower()
        headers.setdefault(_CANONICAL.get(key, key), match.group(2).strip())
        index += 1
    if "from" not in headers:
        return None
    return headers, index


def find_inline_forward(text: str, *, forward_subject: bool) -> InlineForward | None:
    """The first forwarded original in *text*, or ``None``.

    A marker line ("Forwarded message", "Vidarebefordrat meddelande") with
    header lines below it counts always; an Outlook header block only when
    *forward_subject* (the subject says ``VB:`` or ``Fwd:``), since without
    it the block heads a reply's quoted message."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        start = None
        if FORWARD_MARKER.match(line):
            start, cut = index + 1, index
        elif forward_subject and outlook_block_at(lines, index):
            start, cut = index, index
            previous = index - 1
            while previous >= 0 and not lines[previous].strip():
                previous -= 1
            if previous >= 0 and _RULE.match(lines[previous]):
                cut = previous
        if start is None:
            continue
        found = _headers_from(lines, start)
        if found is None:
            continue
        headers, end = found
        return InlineForward(
            before="\n".join(lines[:cut]).strip(),
            headers=headers,
            body="\n".join(lines[end:]).strip(),
        )
    return None


def address_in(value: str) -> tuple[str | None, str | None]:
    """(display name, address) of a header line's value as a mail program
    shows it: ``Eva Svensson <eva@example.se>``, ``Eva Svensson
    [mailto:eva@example.se]``, ``eva@example.se``; ``None`` where unreadable
    (Outlook often shows only a name)."""
    value = value.strip().strip("*").strip()
    name, address = "", ""
    mailto = _MAILTO.search(value)
    if mailto:
        name, address = value[: mailto.start()], mailto.group(1)
    else:
        try:
            pairs = email.utils.getaddresses([value])
        except Exception:  # a value that defeats the address parser
            pairs = []
        for pair_name, pair_address in pairs:
            if _ADDRESS.match(pair_address):
                name, address = pair_name, pair_address
                break
        if not address:
            loose = _LOOSE_ADDRESS.search(value)
            if loose and _ADDRESS.match(loose.group(1)):
                name, address = value[: loose.start()], loose.group(1)
    name = name.strip().strip("\"'").strip()
    if not address or not _ADDRESS.match(address):
        return (name or value or None), None
    local, _at, domain = address.rpartition("@")
    address = f"{local}@{domain.lower()}"
    if name.lower() == address.lower() or not any(ch.isalpha() for ch in name):
        name = ""
    return (name or None), address

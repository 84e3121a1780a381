"""The person's new text apart from what they quote: ``>`` lines, reply headers
of Gmail, Apple Mail and Outlook in Swedish and English, ``-- `` signatures
and "Skickat från min iPhone" and its kin."""

from __future__ import annotations

import re
from collections.abc import Sequence

from klagomal.intake.mail.text import normalise_text

__all__ = ["FORWARD_MARKER", "FORWARD_SUBJECT", "outlook_block_at", "split_quoted"]


_QUOTE_LINE = re.compile(r"^\s{0,3}>")
_ORIGINAL_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:ursprungligt meddelande|originalmeddelande|ursprungligt brev|original message)"
    r"\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FORWARD_MARKER = re.compile(
    r"^\s*(?:-{2,}\s*(?:vidarebefordrat meddelande|vidarebefordrat brev|forwarded message)\s*-{2,}"
    r"|(?:vidarebefordrat brev|vidarebefordrat meddelande|början på vidarebefordrat brev"
    r"|begin forwarded message)\s*:)\s*$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*(?:_{8,}|-{8,})\s*$")
_HEADER_FROM = re.compile(r"^\s*\*?(?:från|from)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_SENT = re.compile(r"^\s*\*?(?:skickat|sent|datum|date)\s*:", re.IGNORECASE)
_HEADER_TO = re.compile(r"^\s*\*?(?:till|to|ämne|subject|kopia|cc)\s*:", re.IGNORECASE)
# Attributions recognised even without ">" lines below them, so strict
# enough not to match a person's own "Den 3 mars skrev jag till er:".
# Gmail: "Den tis 3 mars 2026 kl 10:15 skrev Eva <eva@...>:" and
# "On Tue, Mar 3, 2026 at 10:15 AM Eva <eva@...> wrote:".
_ATTRIBUTION_STRICT = (
    re.compile(r"^\s*(?:den|on)\s.{4,300}?\d{4}.{0,300}?<[^<>\s]+@[^<>\s]+>.{0,40}:\s*$", re.IGNORECASE),
    # Apple Mail: "Eva Svensson <eva@...> skrev den 3 mars 2026 kl. 10:15:"
    re.compile(r"^\s*.{1,200}\sskrev\s+den\s+\d{1,2}\s+\S+\.?\s+\d{4}.{0,40}:\s*$", re.IGNORECASE),
    # iOS: "3 mars 2026 kl. 10:15 skrev Eva Svensson <eva@...>:"
    re.compile(
        r"^\s*\d{1,2}\s+\S+\.?\s+\d{4}\s+kl\.?\s*\d{1,2}[:.]\d{2}\s+skrev\s.{1,200}:\s*$", re.IGNORECASE
    ),
)
_ATTRIBUTION_LOOSE = re.compile(r"^.{0,300}\b(?:skrev|wrote)\b.{0,300}:\s*$", re.IGNORECASE)
_SIGNATURE = re.compile(r"^--\s?$")
_MOBILE = (
    re.compile(
        r"^(?:skickat|skickad|sent)\s+(?:från|from|via)\s+(?:min|mitt|my)\s+(?:\S+[ -]){0,2}"
        r"(?:iphone|ipad|android|samsung|galaxy|huawei|xiaomi|pixel|oneplus|sony|nokia|motorola|mobil|mobile"
        r"|telefon|phone|smartphone|smarttelefon|surfplatta|tablet|blackberry)\b[\w -]{0,30}\.?$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?:skickat|sent)\s+(?:från|from)\s+(?:outlook|mail|yahoo|gmail|samsung|aol)\b.{0,40}$",
        re.IGNORECASE,
    ),
    re.compile(r"^(?:hämta|get)\s+outlook\s+(?:för|for)\s+(?:android|ios)\s*\.?$", re.IGNORECASE),
)
FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|vb|wg|tr|vs)\s*:", re.IGNORECASE)
#: The line above an inline forwarded message (:mod:`klagomal.intake.mail.forwards`).
FORWARD_MARKER = _FORWARD_MARKER


def _outlook_block_at(lines: Sequence[str], index: int) -> bool:
    """True if an Outlook reply header ("Från: / Skickat: / Till: / Ämne:") starts at *index*."""
    if not _HEADER_FROM.match(lines[index]) or len(lines[index]) > 300:
        return False
    window = lines[index + 1 : index + 7]
    return any(_HEADER_SENT.match(line) for line in window[:3]) and any(
        _HEADER_TO.match(line) for line in window
    )


outlook_block_at = _outlook_block_at


def _attribution_at(lines: Sequence[str], hints: Sequence[bool], index: int, *, strict: bool) -> int | None:
    """If a reply attribution ("... skrev:") starts at *index*, the index of its last line (it may wrap).

    *hints* says which lines contain "skrev" or "wrote": only near one can an attribution start.
    """
    if not any(hints[index : index + 3]):
        return None
    joined = ""
    for end in range(index, min(index + 3, len(lines))):
        line = lines[end].strip()
        if not line or _QUOTE_LINE.match(line):
            return None
        joined = f"{joined} {line}".strip()
        if len(joined) > 400:
            return None
        if strict:
            if any(pattern.match(joined) for pattern in _ATTRIBUTION_STRICT):
                return end
        elif _ATTRIBUTION_LOOSE.match(joined):
            return end
        if joined.endswith(":"):
            return None
    return None


def _next_text_line(lines: Sequence[str], start: int, stop: int) -> int | None:
    for index in range(start, stop):
        if lines[index].strip():
            return index
    return None


def _quote_block_after_attribution(
    lines: Sequence[str], hints: Sequence[bool], index: int, stop: int
) -> int | None:
    """If an attribution ("... skrev:") at *index* introduces ">" lines, the index of the first of them."""
    end = _attribution_at(lines, hints, index, strict=False)
    if end is None:
        return None
    following = _next_text_line(lines, end + 1, stop)
    if following is not None and _QUOTE_LINE.match(lines[following]):
        return following
    return None


def _signature_end(lines: Sequence[str], hints: Sequence[bool], index: int, stop: int) -> int | None:
    """If a signature starts at *index* ("-- "), the index just after it: the next quote, or *stop*.

    A signature is short: a "-- " with more than 30 lines below it (10 for a
    bare "--", which people also use as a dash) is the person's text.
    """
    if not _SIGNATURE.match(lines[index]):
        return None
    limit = 30 if lines[index] == "-- " else 10
    size = 0
    end = index + 1
    while end < stop:
        if (
            _QUOTE_LINE.match(lines[end])
            or _quote_block_after_attribution(lines, hints, end, stop) is not None
        ):
            break
        if lines[end].strip():
            size += 1
            if size > limit:
                return None
        end += 1
    return end


def split_quoted(text: str, *, forwarded: bool) -> tuple[str, str]:
    """Split *text* into the person's new text and what is quoted (earlier message, signature)."""
    lines = text.split("\n")
    count = len(lines)
    quoted = [False] * count
    hints = [("skrev" in lowered or "wrote" in lowered) for lowered in (line.lower() for line in lines)]

    # Below a forward marker is forwarded content that the person sends on
    # purpose: it stays, unless it is itself inside a quoted earlier message.
    region = next((i for i, line in enumerate(lines) if _FORWARD_MARKER.match(line)), count)
    cut = count
    for index in range(region):
        line = lines[index]
        if _ORIGINAL_SEPARATOR.match(line) or _outlook_block_at(lines, index):
            start = index
            previous = index - 1
            while previous >= 0 and not lines[previous].strip():
                previous -= 1
            if previous >= 0 and _RULE.match(lines[previous]):
                start = previous
            if forwarded:  # "VB:" in Outlook: the header block introduces what is forwarded
                region = start
            else:
                cut = start
            break
        end = _attribution_at(lines, hints, index, strict=True)
        if end is not None:
            following = _next_text_line(lines, end + 1, count)
            if following is None or not _QUOTE_LINE.match(lines[following]):
                cut = index  # an attribution above an unmarked quote: all below is quoted
                break
    stop = min(cut, region)

    index = 0
    while index < stop:
        line = lines[index]
        if _QUOTE_LINE.match(line):
            quoted[index] = True
            index += 1
            continue
        following = _quote_block_after_attribution(lines, hints, index, stop)
        if following is not None:
            for marked in range(index, following):
                quoted[marked] = True
            index = following
            continue
        end = _signature_end(lines, hints, index, stop)
        if end is not None:
            for marked in range(index, end):
                quoted[marked] = True
            index = end
            continue
        stripped = line.strip()
        if len(stripped) <= 80 and any(pattern.match(stripped) for pattern in _MOBILE):
            quoted[index] = True
        index += 1
    for index in range(cut, count):  # the cut lies above any forward marker
        quoted[index] = True

    kept = "\n".join(line for line, is_quoted in zip(lines, quoted, strict=True) if not is_quoted)
    if not kept.strip():
        return normalise_text(text), ""  # never lose the person's words
    removed: list[str] = []
    for index, line in enumerate(lines):
        if quoted[index]:
            if removed and index > 0 and not quoted[index - 1]:
                removed.append("")
            removed.append(line)
    return normalise_text(kept), normalise_text("\n".join(removed))

"""The text of an SMS: how long it is in SMS terms, and how a staff message
is made to fit.

A text in the GSM 7-bit alphabet (which has å, ä, ö, é and ü) fits 160
characters in one SMS, or 153 per part when it is split; a single character
outside that alphabet (an en dash, a curly quote, "ł") sends the whole text
as UCS-2: 70 characters, or 67 per part.  Three parts, the default, are 459
GSM characters or 201 UCS-2 ones.
"""

from __future__ import annotations

from collections.abc import Callable

from klagomal.notices.notifiers import StaffMessage

__all__ = ["DEFAULT_MAX_PARTS", "fits", "sms_parts", "sms_text"]

#: Three concatenated SMS: 459 GSM characters.
DEFAULT_MAX_PARTS = 3

# GSM 03.38: the basic alphabet (one septet each) and the extension table
# (an escape and a septet: two each).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")

#: Marks a shortened body.  Three dots, because "…" is not in the GSM alphabet
#: and would send the whole text as UCS-2, with less than half the room.
ELLIPSIS = "..."


def _units(text: str) -> tuple[int, int, int]:
    """(units, units per single SMS, units per part) for *text*'s encoding."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        return sum(2 if c in _GSM_EXTENDED else 1 for c in text), 160, 153
    return len(text.encode("utf-16-le")) // 2, 70, 67


def sms_parts(text: str) -> int:
    """How many SMS *text* is sent as."""
    units, single, part = _units(text)
    return 1 if units <= single else -(-units // part)


def fits(text: str, max_parts: int = DEFAULT_MAX_PARTS) -> bool:
    """Whether *text* goes in at most *max_parts* SMS."""
    return sms_parts(text) <= max_parts


def _longest_prefix(text: str, ok: Callable[[str], bool]) -> str:
    """The longest start of *text* that is *ok*, cut at a word boundary
    when one is near.  *ok* must hold for every start shorter than one it
    holds for (longer texts never fit better)."""
    low, high = 0, len(text)  # ok(text[:low]) is assumed; find the largest such low
    while low < high:
        middle = (low + high + 1) // 2
        if ok(text[:middle]):
            low = middle
        else:
            high = middle - 1
    prefix = text[:low]
    if low < len(text) and not text[low].isspace():
        space = max(prefix.rfind(" "), prefix.rfind("\n"))
        if space > 0 and space > len(prefix) - 20:  # keep most of an unusually long word
            prefix = prefix[:space]
    return prefix.rstrip(" \n,;:-")


def sms_text(message: StaffMessage, *, max_parts: int = DEFAULT_MAX_PARTS) -> str:
    """The SMS for *message*: its subject, then its body, within *max_parts*.

    The body is shortened (ending in ``...``) when the whole does not fit;
    the case reference is never cut.  It is in the subject klagomal writes;
    a subject without it gets ``Ärende <reference>:`` in front.
    """
    if max_parts < 1:
        raise ValueError("max_parts must be at least 1")
    head = message.subject.strip()
    if message.reference not in head:
        head = f"Ärende {message.reference}: {head}"
    body = message.body.strip()
    whole = f"{head}\n{body}" if body else head
    if fits(whole, max_parts):
        return whole
    if fits(f"{head}\n{ELLIPSIS}", max_parts):
        cut = _longest_prefix(body, lambda prefix: fits(f"{head}\n{prefix}{ELLIPSIS}", max_parts))
        return f"{head}\n{cut}{ELLIPSIS}" if cut else head
    if fits(head, max_parts):
        return head
    # Not even the subject fits (one UCS-2 SMS, say): the reference first, whole,
    # then as much of the subject as there is room for.
    start = f"{message.reference}: "
    rest = _longest_prefix(
        message.subject.strip(), lambda prefix: fits(f"{start}{prefix}{ELLIPSIS}", max_parts)
    )
    return f"{start}{rest}{ELLIPSIS}" if rest else message.reference

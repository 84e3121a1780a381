"""What text klagomal takes in, and how it shows text on a terminal.

One rule for every way in: the API (:mod:`klagomal.cases.lifecycle` checks every
free text of every step and every contact field), the web form
(:mod:`klagomal.intake.webform`), the bulk import and the reply cards
(:mod:`klagomal.intake.bulk`, through the lifecycle), and so the command line.

**Characters.**  A text may hold any printable character, tabs, and, where
it may have several lines (the person's text, an answer, a reason, a postal
address), line breaks.  Refused are the control characters (Unicode category
``Cc``: the C0 controls U+0000–U+001F other than tab and line feed, DEL
U+007F and the C1 controls U+0080–U+009F, NUL among them) and lone
surrogates (``Cs``: what undecodable bytes become, for example a Latin-1
``ö`` given to a UTF-8 terminal).  ``\\r\\n`` and a lone ``\\r`` in a text of
several lines are line breaks from another system, and become ``\\n``; in a
one-line value (a name, a handler, an e-mail address) any line break is
refused.

**Lengths.**  A free text has at most :data:`TEXT_MAX` characters (the
e-mail intake's limit on the person's text too); a contact field at most
:data:`CONTACT_MAX` (the web form's limits); a name typed by staff (a
handler, a recipient of praise, an authority) at most :data:`LINE_MAX`.

**Showing text.**  Whatever is stored, old data included, reaches a terminal
only escaped: :func:`one_line` for a value shown on one line (a user id, a
reference, a sender: a line break cannot start a line of its own),
:func:`several_lines` for a text shown with its line breaks (indented, so
that it cannot forge a line that looks like another record), and
:func:`terminal_safe` for a whole output, as the last guard.  An escaped
character is written as in JSON and Python: ``\\n``, ``\\r``, ``\\t``, or
``\\u001b``; text printed as JSON stays valid JSON with the same value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from klagomal.core.errors import InvalidInputError
from klagomal.core.formats import number
from klagomal.core.i18n import _

__all__ = [
    "CONTACT_MAX",
    "LINE_MAX",
    "TEXT_MAX",
    "bad_character",
    "check_text",
    "clean_lines",
    "one_line",
    "refused_character",
    "several_lines",
    "terminal_safe",
]

#: The most characters of a free text: the person's text, an answer, a reason.
TEXT_MAX = 50_000

#: The most characters of a one-line value typed by staff: a handler's name,
#: a recipient of praise, the authority an appeal goes to.
LINE_MAX = 200

#: The most characters of each contact field (the web form's limits; an
#: e-mail address cannot be longer than 254 characters, RFC 5321).
CONTACT_MAX: dict[str, int] = {"name": 200, "email": 254, "phone": 40, "address": 500}

# Category Cc (C0 with tab and line feed allowed where noted, DEL, C1) and Cs.
_REFUSED_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_REFUSED_LINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")

# What a terminal must never get raw: the controls (Cc), lone surrogates (Cs),
# the line and paragraph separators (Zl, Zp), and the bidirectional
# formatting characters, which reorder what is shown ("Trojan Source").
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029{_BIDI}]")
_UNSAFE_KEEP_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029{_BIDI}]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match[0]
    return _SHORT.get(char) or f"\\u{ord(char):04x}"


def refused_character(value: str, *, multiline: bool) -> tuple[int, str] | None:
    """The first character the rule refuses in *value*, as (position from
    1, character), or ``None``.  *multiline* allows line feeds."""
    match = (_REFUSED_LINES if multiline else _REFUSED_LINE).search(value)
    return None if match is None else (match.start() + 1, match[0])


def bad_character(value: str, multiline: bool) -> bool:
    """Whether *value* holds a character the rule refuses."""
    return refused_character(value, multiline=multiline) is not None


def _character_name(char: str) -> str:
    code = f"U+{ord(char):04X}"
    names = {"\x00": "NUL", "\x1b": "ESC", "\r": _("vagnretur"), "\n": _("radbrytning"), "\x7f": "DEL"}
    return f"{code} {names[char]}" if char in names else code


def check_text(
    value: str,
    *,
    step: str,
    field: str,
    reference: str | None = None,
    multiline: bool = True,
    max_length: int | None = TEXT_MAX,
) -> str:
    """*value* checked against the rule, with ``\\r\\n`` and ``\\r`` as
    ``\\n`` when *multiline*.

    :param field: how a message names the value, in Swedish (``"texten"``).
    :raises InvalidInputError: naming *step*, *reference*, *field*, the
        character and where it is, or the length and the limit.
    """
    if multiline and "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    # The common case first, in one regular expression: a bulk import checks
    # every text of millions of steps.
    match = (_REFUSED_LINES if multiline else _REFUSED_LINE).search(value)
    if match is None and (max_length is None or len(value) <= max_length):
        return value
    if match is not None:
        position, char = match.start() + 1, match[0]
        if char in "\r\n":
            reason = _("{field} får inte innehålla radbrytningar (tecken {position})")
        elif "\ud800" <= char <= "\udfff":
            reason = _(
                "{field} innehåller något som inte är text ({char}, tecken {position}); "
                "kontrollera teckenkodningen (UTF-8)"
            )
        else:
            reason = _(
                "{field} innehåller ett styrtecken som inte kan tas emot ({char}, tecken {position}); "
                "ta bort det och försök igen"
            )
        raise InvalidInputError(
            reason.format(field=field, char=_character_name(char), position=position),
            step=step,
            reference=reference,
        )
    if max_length is not None and len(value) > max_length:
        raise InvalidInputError(
            _("{field} är för lång: {count} tecken, högst {limit} tas emot").format(
                field=field, count=number(len(value)), limit=number(max_length)
            ),
            step=step,
            reference=reference,
        )
    return value


def clean_lines(values: Iterable[str], *, multiline: bool = False) -> bool:
    """Whether the rule takes all *values* as they are (one-line values,
    or with *multiline* texts; no length limit): one search over all of
    them, for the common case."""
    return (_REFUSED_LINES if multiline else _REFUSED_LINE).search("\t".join(values)) is None


def one_line(value: object) -> str:
    """*value* as text for one line of a terminal: every line break, tab and
    control character escaped (``\\n``, ``\\t``, ``\\u001b``)."""
    text = str(value)
    return _UNSAFE.sub(_escaped, text) if _UNSAFE.search(text) else text


def several_lines(value: str, indent: str) -> str:
    """*value* with its line breaks kept, each following line starting with
    *indent*, and every other control character escaped."""
    text = _UNSAFE_KEEP_LINES.sub(_escaped, value) if _UNSAFE_KEEP_LINES.search(value) else value
    return text.replace("\n", "\n" + indent)


def terminal_safe(text: str) -> str:
    """*text* (a whole output, plain or JSON) with every control character
    but line feed and tab escaped.  JSON stays valid and means the same."""
    return _UNSAFE_KEEP_LINES.sub(_escaped, text) if _UNSAFE_KEEP_LINES.search(text) else text

"""Telephone numbers: Swedish ways of writing them, normalised to E.164."""

from __future__ import annotations

import re

__all__ = ["normalise_number"]

# "+46 (0)70-123 45 67": the trunk zero some write in brackets after the country code.
_TRUNK_ZERO = re.compile(r"\(\s*0\s*\)")
# Separators people write between groups of digits (\s includes no-break spaces).
_SEPARATORS = re.compile(r"[\s\-./()]")

#: Sweden's country code.
SWEDEN = "46"


def normalise_number(text: str) -> str:
    """*text* as an E.164 number (``+46701234567``).

    Accepts the ways numbers are written in Sweden: ``070-123 45 67``,
    ``0701234567``, ``+46 70 123 45 67``, ``+46 (0)70-123 45 67``,
    ``0046 70 123 45 67``; a number without a country code is Swedish.
    Foreign numbers need their country code (``+47 912 34 567``).

    :raises ValueError: with a Swedish reason, when *text* is not a number.
    """
    compact = _SEPARATORS.sub("", _TRUNK_ZERO.sub("", text.strip()))
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("00"):
        digits = compact[2:]
    elif compact.startswith("0"):
        digits = SWEDEN + compact[1:]
    else:
        raise ValueError("numret ska börja med 0, 00 eller + och landsnummer")
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError("numret får bara innehålla siffror, mellanslag och bindestreck")
    if digits.startswith("0"):
        raise ValueError("landsnumret efter + kan inte börja med 0")
    if digits.startswith(SWEDEN):
        national = digits[len(SWEDEN) :]
        # "+46 070 ..." is a common slip: the trunk zero is dropped after the country code.
        national = national.removeprefix("0")
        if not 7 <= len(national) <= 9:
            raise ValueError(
                "ett svenskt nummer har 8–10 siffror med inledande 0, till exempel 070-123 45 67"
            )
        digits = SWEDEN + national
    elif not 7 <= len(digits) <= 15:
        raise ValueError("ett nummer har högst 15 siffror med landsnummer (E.164)")
    return "+" + digits

"""Swedish personnummer and samordningsnummer.

A personnummer is the date of birth (``YYMMDD`` or ``YYYYMMDD``), a
three-digit *födelsenummer* and a check digit computed with the Luhn
algorithm over the ten digits ``YYMMDDNNN``.  A samordningsnummer (for people
who are not or have not been folkbokförda in Sweden) is built the same way
with 60 added to the day of birth.

The ten-digit form leaves the century out.  Its separator tells it: ``-``
(or none) for someone younger than 100, ``+`` for someone who is 100 or
older.  This module resolves the century against an explicit *today*, never
against the system clock, so that the same text always gives the same
number for the same day.

The check digit and the normalisation to twelve digits are done by the
`personnummer <https://pypi.org/project/personnummer/>`_ library; this
module decides the century itself (the library would use the real date) and
tells exactly what is wrong with a number it refuses, in Swedish, without
repeating the number: it is personal data and error messages end up in logs
(R27).  Ask for a personnummer only where the matter needs it (R30).
"""

from __future__ import annotations

import datetime as dt
import re

import attrs
from personnummer import personnummer  # type: ignore[import-untyped]

from klagomal.core.errors import InvalidInputError
from klagomal.core.i18n import _

__all__ = ["PersonNumber", "is_person_number", "parse_person_number"]

_TEN_DIGITS = re.compile(
    r"(?P<yy>[0-9]{2})(?P<mmdd>[0-9]{4})(?P<sep>[-+]?)(?P<serial>[0-9]{3})(?P<check>[0-9])"
)
_TWELVE_DIGITS = re.compile(r"(?P<yyyy>[0-9]{4})(?P<mmdd>[0-9]{4})-?(?P<serial>[0-9]{3})(?P<check>[0-9])")
_NORMALISED = re.compile(r"[0-9]{12}")

#: Added to the day of birth in a samordningsnummer.
COORDINATION_OFFSET = 60


def _check_digits(instance: PersonNumber, attribute: attrs.Attribute[str], value: str) -> None:
    if not _NORMALISED.fullmatch(value):
        raise ValueError("PersonNumber.digits must be twelve digits (YYYYMMDDNNNC)")


@attrs.frozen
class PersonNumber:
    """A valid personnummer or samordningsnummer.

    :param digits: the number normalised to twelve digits, ``YYYYMMDDNNNC``
        (for a samordningsnummer the day is the day of birth plus 60).
    :param coordination: whether it is a samordningsnummer.

    Build one with :func:`parse_person_number`, which checks it.
    """

    digits: str = attrs.field(validator=_check_digits)
    coordination: bool

    @property
    def birth_date(self) -> dt.date:
        """The real date of birth (for a samordningsnummer, the day minus 60)."""
        day = int(self.digits[6:8])
        if self.coordination:
            day -= COORDINATION_OFFSET
        return dt.date(int(self.digits[0:4]), int(self.digits[4:6]), day)

    @property
    def formatted(self) -> str:
        """The number as ``YYYYMMDD-NNNC``."""
        return f"{self.digits[:8]}-{self.digits[8:]}"

    @property
    def masked(self) -> str:
        """The date part only, as ``YYYYMMDD-XXXX``, for lists that must not show the number."""
        return f"{self.digits[:8]}-XXXX"

    def age(self, today: dt.date) -> int:
        """The age in whole years on *today* (the birthday counts from the day itself)."""
        born = self.birth_date
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _format_error() -> InvalidInputError:
    return InvalidInputError(_("personnumret ska ha 10 eller 12 siffror, till exempel 19121212-1212"))


def _split_day(mmdd: str) -> tuple[int, int, bool]:
    """Month, real day and whether the day marks a samordningsnummer."""
    month, day = int(mmdd[:2]), int(mmdd[2:])
    if day > COORDINATION_OFFSET:
        return month, day - COORDINATION_OFFSET, True
    return month, day, False


def _century_year(yy: int, month: int, day: int, *, hundred_or_older: bool, today: dt.date) -> int:
    """The full year of birth for a ten-digit number, on *today*.

    Without ``+`` the person is younger than 100 on *today*: the birth date is
    the latest one on or before *today* whose year ends in *yy*.  With ``+``
    the person is 100 or older: the same date a hundred years earlier.
    """
    year = today.year - (today.year - yy) % 100
    if year == today.year and (month, day) > (today.month, today.day):
        year -= 100
    if hundred_or_older:
        year -= 100
    return year


def parse_person_number(text: str, *, today: dt.date) -> PersonNumber:
    """Check a personnummer or samordningsnummer and normalise it.

    Accepts ``YYMMDD-NNNC``, ``YYMMDDNNNC``, ``YYMMDD+NNNC`` (100 years or
    older), ``YYYYMMDD-NNNC`` and ``YYYYMMDDNNNC``, with whitespace around.
    The century of a ten-digit number is decided on *today*, so the result
    depends on the text and *today* only.

    :raises InvalidInputError: with a Swedish reason that says what is wrong
        (length or form, date, födelsenummer, check digit, a birth date after
        *today*) and never repeats the number.
    """
    stripped = text.strip()
    if (short := _TEN_DIGITS.fullmatch(stripped)) is not None:
        month, day, coordination = _split_day(short["mmdd"])
        year = _century_year(int(short["yy"]), month, day, hundred_or_older=short["sep"] == "+", today=today)
        serial, check = short["serial"], short["check"]
    elif (long := _TWELVE_DIGITS.fullmatch(stripped)) is not None:
        month, day, coordination = _split_day(long["mmdd"])
        year = int(long["yyyy"])
        serial, check = long["serial"], long["check"]
    else:
        raise _format_error()

    try:
        born = dt.date(year, month, day)
    except ValueError:
        if coordination:
            raise InvalidInputError(
                _("samordningsnumret innehåller inget giltigt datum (dagen minus 60 är ingen riktig dag)")
            ) from None
        raise InvalidInputError(_("personnumret innehåller inget giltigt datum")) from None
    if born > today:
        raise InvalidInputError(_("födelsedatumet i personnumret ligger i framtiden"))
    if serial == "000":
        raise InvalidInputError(_("födelsenumret (de tre siffrorna efter datumet) får inte vara 000"))

    shown_day = day + COORDINATION_OFFSET if coordination else day
    twelve = f"{year:04d}{month:02d}{shown_day:02d}{serial}{check}"
    try:
        # The library checks the Luhn digit; with twelve digits it takes the
        # century as given and does not consult the system date for validity.
        checked = personnummer.parse(twelve)
    except personnummer.PersonnummerException:
        # Form, date and födelsenummer were checked above: what is left is the check digit.
        raise InvalidInputError(_("kontrollsiffran stämmer inte")) from None
    return PersonNumber(
        digits=str(checked.format(long_format=True)), coordination=bool(checked.is_coordination_number())
    )


def is_person_number(text: str, *, today: dt.date) -> bool:
    """Whether *text* is a valid personnummer or samordningsnummer on *today*."""
    try:
        parse_person_number(text, today=today)
    except InvalidInputError:
        return False
    return True

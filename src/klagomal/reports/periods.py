"""Reporting periods as staff and politicians name them (R17, R18).

Staff get a report three times a year, per tertial (R17); the elected
officials twice a year, per half-year, together with the budget forecasts
(R18).  :func:`parse_period` reads what a user writes on the command line:

=========================  ====================================================
``2026-T1`` … ``2026-T3``  tertial: January–April, May–August, September–December
``2026-H1``, ``2026-H2``   half-year; where H2 starts is the kommun's choice
``2026``                   the whole year
``2026-03-01..2026-05-31`` any range of days, both included
=========================  ====================================================

Lower-case ``t2`` and ``h1`` are accepted too.  A period lies within the
years :data:`FIRST_YEAR` to :data:`LAST_YEAR`: a report compares it with the
period before and the same period a year earlier, which must exist too, and
no kommun's cases lie further away.  A kommun whose budget
forecasts follow other dates than January and July moves the half-years with
``half_years``: ``((1, 1), (9, 1))`` makes H1 January–August and H2
September–December.  The first half always starts on 1 January, because a
kommun's financial year is the calendar year.

Each :class:`~klagomal.reports.model.Period` has a Swedish label for the
heading of a report (``tertial 2 2026 (maj–augusti)``).
"""

from __future__ import annotations

import datetime as dt
import re

from klagomal.core.formats import MONTHS, date_span
from klagomal.core.i18n import _
from klagomal.reports.model import Period

__all__ = [
    "DEFAULT_HALF_YEARS",
    "FIRST_YEAR",
    "LAST_YEAR",
    "half_years",
    "parse_period",
    "previous_period",
    "same_period_last_year",
    "tertials",
]

#: Where the two half-years start, as (month, day): January and July.
DEFAULT_HALF_YEARS: tuple[tuple[int, int], tuple[int, int]] = ((1, 1), (7, 1))

#: The first and the last year a period given by a user may lie in.
FIRST_YEAR = 1900
LAST_YEAR = 2199

_MONTHS = MONTHS

_ONE_DAY = dt.timedelta(days=1)
_YEAR = re.compile(r"(\d{4})")
_PART = re.compile(r"(\d{4})-([TtHh])(\d)")
_RANGE = re.compile(r"([^.\s]+)\s*\.\.\s*([^.\s]+)")


def _examples() -> str:
    return _("skriv till exempel 2026-T2, 2026-H1, 2026 eller 2026-03-01..2026-05-31")


def _unknown(text: str) -> ValueError:
    return ValueError(_("okänd period '{text}'; {examples}").format(text=text, examples=_examples()))


def _check_starts(starts: tuple[tuple[int, int], tuple[int, int]]) -> dt.date:
    """The start of H2 in a year that is not a leap year, after checking *starts*."""
    first, second = starts
    if tuple(first) != (1, 1):
        raise ValueError(
            _("första halvåret måste börja 1 januari (räkenskapsåret är kalenderåret), inte {value}").format(
                value=f"{first[0]}-{first[1]}"
            )
        )
    try:
        # 2025 is not a leap year, so 29 February is refused: it does not
        # exist every year.
        split = dt.date(2025, second[0], second[1])
    except (ValueError, TypeError):
        raise ValueError(
            _("andra halvåret börjar på ett datum som inte finns: månad {month}, dag {day}").format(
                month=second[0], day=second[1]
            )
        ) from None
    if split == dt.date(2025, 1, 1):
        raise ValueError(_("andra halvåret kan inte börja 1 januari, samma dag som det första"))
    return split


def _month_span(start: dt.date, end: dt.date) -> str:
    """``maj–augusti`` when the period is whole months, else ``1 januari–14 juli``."""
    if start.day == 1 and (end + _ONE_DAY).day == 1:
        if start.month == end.month:
            return _MONTHS[start.month - 1]
        return f"{_MONTHS[start.month - 1]}–{_MONTHS[end.month - 1]}"
    return f"{start.day} {_MONTHS[start.month - 1]}–{end.day} {_MONTHS[end.month - 1]}"


def _year(year: int) -> Period:
    return Period(
        id=f"{year:04d}",
        start=dt.date(year, 1, 1),
        end=dt.date(year, 12, 31),
        label=_("år {year}").format(year=year),
    )


def _tertial(year: int, number: int) -> Period:
    if number not in (1, 2, 3):
        raise ValueError(
            _("tertial {number} finns inte; ett år har tertial 1, 2 och 3").format(number=number)
        )
    start = dt.date(year, 4 * (number - 1) + 1, 1)
    end = dt.date(year, 12, 31) if number == 3 else dt.date(year, 4 * number + 1, 1) - _ONE_DAY
    label = _("tertial {number} {year} ({months})").format(
        number=number, year=year, months=_month_span(start, end)
    )
    return Period(id=f"{year:04d}-T{number}", start=start, end=end, label=label)


def _half(year: int, number: int, split: tuple[int, int]) -> Period:
    """Half-year *number* of *year* when H2 starts on *split* (month, day)."""
    if number not in (1, 2):
        raise ValueError(_("halvår {number} finns inte; ett år har halvår 1 och 2").format(number=number))
    h2 = dt.date(year, *split)
    if number == 1:
        start, end = dt.date(year, 1, 1), h2 - _ONE_DAY
    else:
        start, end = h2, dt.date(year, 12, 31)
    label = _("halvår {number} {year} ({months})").format(
        number=number, year=year, months=_month_span(start, end)
    )
    return Period(id=f"{year:04d}-H{number}", start=start, end=end, label=label)


def _range(start: dt.date, end: dt.date) -> Period:
    if end < start:
        raise ValueError(
            _("perioden slutar {end} innan den börjar {start}").format(
                end=end.isoformat(), start=start.isoformat()
            )
        )
    label = date_span(start, end)
    return Period(id=f"{start.isoformat()}..{end.isoformat()}", start=start, end=end, label=label)


def _date(text: str) -> dt.date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(_("'{text}' är inget datum; skriv det som 2026-03-01").format(text=text))
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(_("datumet {text} finns inte").format(text=text)) from None


def parse_period(
    text: str, *, half_years: tuple[tuple[int, int], tuple[int, int]] = DEFAULT_HALF_YEARS
) -> Period:
    """The period *text* names (see the module's docstring).

    :param half_years: where H1 and H2 start, as (month, day); H1 must start
        on 1 January.
    :raises ValueError: in Swedish, for text that names no period, a date
        that does not exist, a range that ends before it starts, or a period
        outside the years :data:`FIRST_YEAR` to :data:`LAST_YEAR`.
    """
    cleaned = text.strip()
    period = _parsed(cleaned, half_years)
    if period.start.year < FIRST_YEAR or period.end.year > LAST_YEAR:
        raise _outside(cleaned)
    return period


def _outside(text: str) -> ValueError:
    return ValueError(
        _("perioden {text} ligger utanför åren {first}–{last}").format(
            text=text, first=FIRST_YEAR, last=LAST_YEAR
        )
    )


def _parsed(cleaned: str, half_years: tuple[tuple[int, int], tuple[int, int]]) -> Period:
    if match := _YEAR.fullmatch(cleaned):
        year = int(match[1])
        if not FIRST_YEAR <= year <= LAST_YEAR:  # before any date: 9999-12-31 has no next day
            raise _outside(cleaned)
        return _year(year)
    if match := _PART.fullmatch(cleaned):
        year, kind, number = int(match[1]), match[2].upper(), int(match[3])
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise _outside(cleaned)
        if kind == "T":
            return _tertial(year, number)
        split = _check_starts(half_years)
        return _half(year, number, (split.month, split.day))
    if match := _RANGE.fullmatch(cleaned):
        return _range(_date(match[1]), _date(match[2]))
    raise _unknown(cleaned)


def tertials(year: int) -> list[Period]:
    """The three tertials of *year*, the staff's reporting periods (R17)."""
    return [_tertial(year, number) for number in (1, 2, 3)]


def half_years(
    year: int, starts: tuple[tuple[int, int], tuple[int, int]] = DEFAULT_HALF_YEARS
) -> list[Period]:
    """The two half-years of *year*, the politicians' reporting periods (R18)."""
    split = _check_starts(starts)
    return [_half(year, number, (split.month, split.day)) for number in (1, 2)]


def _kind(period: Period) -> tuple[str, int, int]:
    """(``Y``, ``T``, ``H`` or ``R``; the year; the tertial or half's number)."""
    if _YEAR.fullmatch(period.id):
        return "Y", period.start.year, 0
    if match := _PART.fullmatch(period.id):
        return match[2].upper(), int(match[1]), int(match[3])
    return "R", period.start.year, 0


def _split(period: Period) -> tuple[int, int]:
    """Where H2 starts in the half-year *period*, as (month, day)."""
    h2 = period.start if period.id.endswith("H2") else period.end + _ONE_DAY
    return h2.month, h2.day


def previous_period(period: Period) -> Period:
    """The period of the same kind just before *period*: T1 after the
    previous year's T3, H1 after the previous H2 (split where *period*'s
    is), a year after the previous year, and a range after the same number
    of days before it."""
    kind, year, number = _kind(period)
    if kind == "Y":
        return _year(year - 1)
    if kind == "T":
        return _tertial(year - 1, 3) if number == 1 else _tertial(year, number - 1)
    if kind == "H":
        split = _split(period)
        return _half(year - 1, 2, split) if number == 1 else _half(year, 1, split)
    length = period.end - period.start
    end = period.start - _ONE_DAY
    return _range(end - length, end)


def _shift_year(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def same_period_last_year(period: Period) -> Period:
    """*period* one year earlier, to compare with; a range that starts or
    ends on 29 February starts or ends on 28 February."""
    kind, year, number = _kind(period)
    if kind == "Y":
        return _year(year - 1)
    if kind == "T":
        return _tertial(year - 1, number)
    if kind == "H":
        return _half(year - 1, number, _split(period))
    return _range(_shift_year(period.start, -1), _shift_year(period.end, -1))

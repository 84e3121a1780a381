"""Working-day deadline rules.

This is the one place where deadlines are computed, so that a faster and more
exact calendar can replace the implementation without touching callers.

Semantics: "*n* working days after *d*" is the *n*-th Swedish working day
strictly after *d*, whatever kind of day *d* is.  A working day is a day that
is not a Saturday, a Sunday or a Swedish public holiday; midsommarafton,
julafton and nyårsafton are not working days either (workalendar's Sweden
already treats them as holidays).

workalendar is imported lazily: loading it costs tens of milliseconds, and
``klagomal --help`` should not pay for it.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from klagomal.errors import InvalidInputError
from klagomal.i18n import _

__all__ = [
    "ACKNOWLEDGE_WORKING_DAYS",
    "acknowledge_by",
    "add_working_days",
    "is_working_day",
    "working_days_between",
]

#: R7: the person is told within ten working days who handles the case.
ACKNOWLEDGE_WORKING_DAYS = 10


@functools.cache
def _sweden() -> Any:
    from workalendar.europe import Sweden

    return Sweden()


def is_working_day(day: dt.date) -> bool:
    """Whether *day* is a Swedish working day."""
    return bool(_sweden().is_working_day(day))


def add_working_days(day: dt.date, n: int) -> dt.date:
    """The *n*-th working day strictly after *day*.

    >>> import datetime as dt
    >>> add_working_days(dt.date(2026, 12, 18), 10)
    datetime.date(2027, 1, 8)
    """
    if n < 0:
        raise InvalidInputError(_("antalet arbetsdagar kan inte vara negativt: {n}").format(n=n))
    if n == 0:
        return day
    result: dt.date = _sweden().add_working_days(day, n)
    return result


def working_days_between(start: dt.date, end: dt.date) -> int:
    """How many working days lie strictly after *start* up to and including *end*;
    0 when *end* is not after *start*.  The inverse of :func:`add_working_days`.

    >>> import datetime as dt
    >>> working_days_between(dt.date(2026, 12, 18), dt.date(2027, 1, 8))
    10
    """
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count


def acknowledge_by(received: dt.date, days: int = ACKNOWLEDGE_WORKING_DAYS) -> dt.date:
    """The last day on which the acknowledgement (besked) may be given (R7)."""
    return add_working_days(received, days)

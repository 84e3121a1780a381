"""Where "today" comes from.

Deadlines are counted in working days from dates, so every part of klagomal
asks a clock instead of calling :func:`datetime.date.today` itself.  Tests
and the demo use a :class:`FixedClock` to move through time: the clock is
their whole world.

``klagomal --today`` is something else: a **business date** set by a person
on a real system, to record a step on the day it was taken
(:class:`BusinessDate`).  Such a date is held to the rules of
``docs/offentlighet-sekretess-gdpr.md`` ("Dagens datum"): never later than
the real date, and earlier only for the roles and within the bound the
organisation file allows; the audit log records the real time.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import attrs

__all__ = ["BusinessDate", "Clock", "FixedClock", "SystemClock"]


class Clock(Protocol):
    """Anything that can tell the date and the time."""

    def today(self) -> dt.date:
        """The business date: the day a step is taken on."""
        ...

    def now(self) -> dt.datetime:
        """The moment, timezone-aware, for recording when something was stored."""
        ...


@attrs.frozen
class SystemClock:
    """The real clock, in the machine's local timezone."""

    def today(self) -> dt.date:
        """Today's local date."""
        return dt.date.today()

    def now(self) -> dt.datetime:
        """The current local time, timezone-aware."""
        return dt.datetime.now().astimezone()


@attrs.define
class FixedClock:
    """A clock that stands still until it is moved.

    ``now()`` is noon of the current day in UTC, so stored timestamps are
    deterministic too.
    """

    current: dt.date

    def today(self) -> dt.date:
        """The date the clock is set to."""
        return self.current

    def now(self) -> dt.datetime:
        """Noon UTC on the date the clock is set to."""
        return dt.datetime.combine(self.current, dt.time(12), tzinfo=dt.UTC)

    def set(self, day: dt.date) -> None:
        """Move the clock to *day* (backwards too)."""
        self.current = day

    def advance(self, days: int = 1) -> dt.date:
        """Move the clock *days* calendar days forward and return the new date."""
        self.current += dt.timedelta(days=days)
        return self.current


@attrs.define
class BusinessDate(FixedClock):
    """A business date set by hand on a real system (``klagomal --today``):
    a :class:`FixedClock` that also knows the real date, so that a step
    dated by it can be held to the business-date rules
    (:meth:`klagomal.Klagomal.business_day`).

    :param real: the clock of the real world (the system clock; tests give
        a fixed one).
    """

    real: Clock = attrs.field(factory=SystemClock)

    def real_today(self) -> dt.date:
        """The real date, whatever the business date says."""
        return self.real.today()

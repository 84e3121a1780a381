"""Where "today" comes from.

Deadlines are counted in working days from dates, so every part of klagomal
asks a clock instead of calling :func:`datetime.date.today` itself.  Tests,
the demo and ``klagomal --today`` use a :class:`FixedClock` to move through
time.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import attrs

__all__ = ["Clock", "FixedClock", "SystemClock"]


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

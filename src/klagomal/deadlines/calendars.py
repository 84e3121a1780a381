"""Working-day calendars: which days count when a deadline is given in working days.

A deadline such as "besked within ten working days" (R7) or a promised
response time (R10, R11) is counted on a calendar.  A calendar answers three
questions: is this day a working day, which is the *n*-th working day strictly
after a day, and how many working days lie between two days.

* :class:`Calendar` is the protocol a plugin implements.
* :class:`WorkingCalendar` is the implementation klagomal counts with.  It
  asks its rule about every day of its range once, on first use, and keeps an
  index, so that every later answer is a list look-up (a hundred times faster
  than workalendar's day-by-day loop).  It also has bulk methods for imports
  and reports, and :meth:`WorkingCalendar.with_closed_days` for a kommun's
  own closed days (klämdagar).
* :func:`as_working_calendar` gives any protocol object that index.
* :func:`swedish_calendar` is the built-in Swedish calendar (lag 1930:173),
  built on workalendar's holidays with two corrections for 2000–2004, and
  :func:`swedish_holidays` lists one year's holidays and eves by name.

A calendar never guesses: a date outside its range, or a result that would
fall beyond it, is a :class:`~klagomal.core.errors.CalendarError`.

workalendar is imported only when the Swedish index is first built: loading
it costs about 50 ms, and ``klagomal --help`` should not pay for it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from klagomal.core.errors import CalendarError
from klagomal.core.i18n import _, ngettext

__all__ = [
    "SWEDISH_CALENDAR",
    "Calendar",
    "WorkingCalendar",
    "as_working_calendar",
    "swedish_calendar",
    "swedish_holidays",
]

#: The name of the built-in Swedish calendar.
SWEDISH_CALENDAR = "se"

_SWEDISH_FIRST_DAY = dt.date(2000, 1, 1)
_SWEDISH_LAST_DAY = dt.date(2100, 12, 31)

#: Nationaldagen became a public holiday, and annandag pingst stopped being
#: one, by SFS 2004:1320 (prop. 2004/05:23), in force from 1 April 2005: both
#: changes first applied to the days of 2005.
_NATIONAL_DAY_FROM = 2005


@runtime_checkable
class Calendar(Protocol):
    """What a working-day calendar provides; a plugin may return any object like this.

    Dates outside ``first_day``..``last_day`` must be refused with a
    :class:`~klagomal.core.errors.CalendarError`, never guessed.  klagomal turns
    every calendar into a :class:`WorkingCalendar` (:func:`as_working_calendar`),
    which calls :meth:`is_working_day` once per day of the range and answers
    everything else from its index, so a plugin only needs a correct
    :meth:`is_working_day`.
    """

    @property
    def name(self) -> str:
        """A stable id, such as ``"se"``; policies refer to the calendar by it."""
        ...

    @property
    def label(self) -> str:
        """A label for handlers, in Swedish."""
        ...

    @property
    def first_day(self) -> dt.date:
        """The first day the calendar is correct for."""
        ...

    @property
    def last_day(self) -> dt.date:
        """The last day the calendar is correct for."""
        ...

    def is_working_day(self, day: dt.date) -> bool:
        """Whether *day* is a working day."""
        ...

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The *n*-th working day strictly after *day* (*day* itself when *n* is 0)."""
        ...

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """How many working days lie strictly after *start* up to and including *end*;
        0 when *end* is not after *start*."""
        ...


class WorkingCalendar:
    """A calendar with a precomputed working-day index; satisfies :class:`Calendar`.

    :param name: a stable id (see :attr:`Calendar.name`).
    :param label: a label for handlers, in Swedish.
    :param first_day: the first day of the range.
    :param last_day: the last day of the range, not before *first_day*.
    :param is_working_day: the rule.  It is called once for every day of the
        range, in order, when the index is first needed (not when the
        calendar is created), and never again; it must not change its mind.

    Every date given to a method must lie within the range, and so must every
    result; otherwise the method raises :class:`~klagomal.core.errors.CalendarError`.
    Building the index is thread-safe; after that the calendar is read-only.
    """

    __slots__ = (
        "_first_day",
        "_first_ordinal",
        "_flags",
        "_label",
        "_last_day",
        "_lock",
        "_name",
        "_pos",
        "_source",
        "_work",
    )

    # The index, for the day at offset i = day.toordinal() - first ordinal:
    #   _flags[i]  whether it is a working day;
    #   _pos[i]    the position in _work of the last working day on or before
    #              it (-1 before the first one), so the n-th working day
    #              strictly after it is _work[_pos[i] + n] and the working days
    #              in (a, b] number _pos[b] - _pos[a];
    #   _work      the working days in order, as ready-made date objects.
    # An offset past the range is an IndexError, which the hot paths catch
    # to let the slow path explain; a negative one must be checked, because
    # Python would silently count it from the end of the list.
    # _pos is assigned last and is what readers test, so that a reader who
    # sees it also sees the rest.

    def __init__(
        self,
        name: str,
        label: str,
        first_day: dt.date,
        last_day: dt.date,
        is_working_day: Callable[[dt.date], bool],
    ) -> None:
        first_ordinal = first_day.toordinal()
        days = last_day.toordinal() - first_ordinal + 1

        def flags() -> list[bool]:
            fromordinal = dt.date.fromordinal
            return [bool(is_working_day(fromordinal(first_ordinal + i))) for i in range(days)]

        self._init(name, label, first_day, last_day, flags)

    def _init(
        self,
        name: str,
        label: str,
        first_day: dt.date,
        last_day: dt.date,
        source: Callable[[], list[bool]],
    ) -> None:
        # Subclasses of date (datetime) would leak into answers and comparisons.
        first_day = dt.date(first_day.year, first_day.month, first_day.day)
        last_day = dt.date(last_day.year, last_day.month, last_day.day)
        if last_day < first_day:
            raise CalendarError(
                _("kalendern '{name}' slutar ({last}) före sin första dag ({first})").format(
                    name=name, first=first_day, last=last_day
                )
            )
        self._name = name
        self._label = label
        self._first_day = first_day
        self._last_day = last_day
        self._first_ordinal = first_day.toordinal()
        self._source: Callable[[], list[bool]] | None = source
        self._lock = threading.Lock()
        self._flags: list[bool] = []
        self._work: list[dt.date] = []
        self._pos: list[int] | None = None

    def __repr__(self) -> str:
        return f"<WorkingCalendar {self._name!r} {self._first_day}..{self._last_day}>"

    # -- the protocol's properties ----------------------------------------

    @property
    def name(self) -> str:
        """A stable id, such as ``"se"``."""
        return self._name

    @property
    def label(self) -> str:
        """A label for handlers, in Swedish."""
        return self._label

    @property
    def first_day(self) -> dt.date:
        """The first day of the range."""
        return self._first_day

    @property
    def last_day(self) -> dt.date:
        """The last day of the range."""
        return self._last_day

    # -- the index ----------------------------------------------------------

    def _build(self) -> list[int]:
        with self._lock:
            if self._pos is not None:  # another thread built it while we waited
                return self._pos
            assert self._source is not None
            flags = self._source()
            days = self._last_day.toordinal() - self._first_ordinal + 1
            if len(flags) != days:  # pragma: no cover - a bug in a flag source
                raise AssertionError(f"{len(flags)} flags for {days} days")
            first = self._first_ordinal
            fromordinal = dt.date.fromordinal
            self._work = [fromordinal(first + i) for i, working in enumerate(flags) if working]
            self._flags = flags
            pos = list(itertools.accumulate(flags, initial=-1))
            del pos[0]
            self._pos = pos
            self._source = None  # the rule may hold large objects; it is never needed again
            return pos

    def _index(self) -> tuple[list[bool], list[int], list[dt.date]]:
        pos = self._pos
        if pos is None:
            pos = self._build()
        return self._flags, pos, self._work

    def _offset(self, day: dt.date) -> int:
        offset = day.toordinal() - self._first_ordinal
        if not 0 <= offset <= self._last_day.toordinal() - self._first_ordinal:
            raise CalendarError(
                _(
                    "datumet {day} ligger utanför kalendern '{name}', {label}, "
                    "som gäller från {first} till och med {last}"
                ).format(
                    day=day, name=self._name, label=self._label, first=self._first_day, last=self._last_day
                )
            )
        return offset

    def _beyond(self, day: dt.date, n: int) -> CalendarError:
        return CalendarError(
            ngettext(
                "{n} arbetsdag efter {day} ligger utanför kalendern '{name}', {label}, "
                "som gäller från {first} till och med {last}",
                "{n} arbetsdagar efter {day} ligger utanför kalendern '{name}', {label}, "
                "som gäller från {first} till och med {last}",
                n,
            ).format(
                n=n, day=day, name=self._name, label=self._label, first=self._first_day, last=self._last_day
            )
        )

    @staticmethod
    def _negative(n: int) -> CalendarError:
        return CalendarError(_("antalet arbetsdagar kan inte vara negativt: {n}").format(n=n))

    # -- single answers -------------------------------------------------------

    def is_working_day(self, day: dt.date) -> bool:
        """Whether *day* is a working day.

        :raises CalendarError: if *day* is outside the range.
        """
        if self._pos is None:
            self._build()
        i = day.toordinal() - self._first_ordinal
        if i >= 0:
            try:
                return self._flags[i]
            except IndexError:
                pass
        raise self._out_of_range(day)

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The *n*-th working day strictly after *day*, whatever kind of day *day* is.

        *n* = 0 gives *day* itself.

        :raises CalendarError: if *n* is negative, if *day* is outside the
            range, or if the result would fall after :attr:`last_day`.
        """
        pos = self._pos
        if pos is None:
            pos = self._build()
        i = day.toordinal() - self._first_ordinal
        if n > 0 and i >= 0:
            try:
                return self._work[pos[i] + n]
            except IndexError:
                pass
        return self._add_working_days_checked(day, n)

    def _add_working_days_checked(self, day: dt.date, n: int) -> dt.date:
        # The slow path: n == 0, and every error.
        if n < 0:
            raise self._negative(n)
        _flags, pos, work = self._index()
        i = self._offset(day)
        if n == 0:
            return day
        j = pos[i] + n
        if j >= len(work):
            raise self._beyond(day, n)
        return work[j]

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """How many working days lie strictly after *start* up to and including *end*;
        0 when *end* is not after *start*.

        The inverse of :meth:`add_working_days`:
        ``working_days_between(d, add_working_days(d, n)) == n``.

        :raises CalendarError: if *start* or *end* is outside the range (even
            when *end* is not after *start*).
        """
        pos = self._pos
        if pos is None:
            pos = self._build()
        first = self._first_ordinal
        i = start.toordinal() - first
        j = end.toordinal() - first
        if i >= 0 and j >= 0:
            try:
                count = pos[j] - pos[i]
            except IndexError:
                pass
            else:
                return count if count > 0 else 0
        raise self._out_of_range(start, end)

    def working_days_left(self, deadline: dt.date, today: dt.date) -> int:
        """Working days from *today* to *deadline*, signed.

        ``working_days_between(today, deadline)`` when *deadline* is today or
        later (0 on the day itself), else ``-working_days_between(deadline,
        today)``: how many working days it is overdue.  Being overdue is
        ``today > deadline``: on the Saturday after a Friday deadline this is
        still 0, because no working day has passed since.

        :raises CalendarError: if either date is outside the range.
        """
        pos = self._index()[1]
        # pos is non-decreasing, so one subtraction gives both signs.
        return pos[self._offset(deadline)] - pos[self._offset(today)]

    def _out_of_range(self, *days: dt.date) -> CalendarError:
        """The error for the first of *days* that is outside the range."""
        for day in days:
            try:
                self._offset(day)
            except CalendarError as exc:
                return exc
        raise AssertionError(f"{days} are in range")  # pragma: no cover

    # -- bulk answers ---------------------------------------------------------

    def _in_range(self, days: Sequence[dt.date], *, upper: bool = True) -> bool:
        # One C-level pass each for min and max costs less than a check per
        # item.  Where the items are looked up in the index, a day past the
        # range is an IndexError anyway (upper=False); a day before it must be
        # caught here, as a negative offset would silently index from the end.
        try:
            return not days or (min(days) >= self._first_day and (not upper or max(days) <= self._last_day))
        except TypeError:  # a datetime cannot be compared with a date: leave it to the single path
            return False

    @staticmethod
    def _same_length(what: str, first: Sequence[object], second: Sequence[object]) -> None:
        if len(first) != len(second):
            raise CalendarError(
                _("{what}: listorna har olika längd ({first} och {second})").format(
                    what=what, first=len(first), second=len(second)
                )
            )

    def add_working_days_many(self, days: Sequence[dt.date], n: int | Sequence[int]) -> list[dt.date]:
        """:meth:`add_working_days` for many days at once, for imports and reports.

        :param days: the days to count from.
        :param n: one number of working days for all, or one per day (as
            many as *days*).
        :returns: the results, in the order of *days*; equal to calling
            :meth:`add_working_days` on each.
        :raises CalendarError: if *n* and *days* differ in length or a number
            is negative (checked first), else as :meth:`add_working_days` for
            the first day whose answer is an error.
        """
        if isinstance(n, int):
            if n < 0:
                raise self._negative(n)
            counts: Sequence[int] = (n,) * len(days)
            least = n
        else:
            counts = n if isinstance(n, list | tuple) else list(n)
            self._same_length("add_working_days_many", days, counts)
            least = min(counts, default=1)
            if least < 0:
                raise self._negative(next(k for k in counts if k < 0))
        _flags, pos, work = self._index()
        first = self._first_ordinal
        try:
            if least > 0 and self._in_range(days, upper=False):  # the common case
                if isinstance(n, int):
                    return [work[pos[day.toordinal() - first] + n] for day in days]
                return [work[pos[day.toordinal() - first] + k] for day, k in zip(days, counts, strict=True)]
            if self._in_range(days):
                return [
                    work[pos[day.toordinal() - first] + k] if k else day
                    for day, k in zip(days, counts, strict=True)
                ]
        except IndexError:
            pass
        # A day out of range, a result beyond it: the single path deals with
        # them in order, so that the error names the first one.
        return [self._add_working_days_checked(day, k) for day, k in zip(days, counts, strict=True)]

    def working_days_between_many(self, starts: Sequence[dt.date], ends: Sequence[dt.date]) -> list[int]:
        """:meth:`working_days_between` for many pairs at once.

        :returns: ``[working_days_between(s, e) for s, e in zip(starts, ends)]``.
        :raises CalendarError: if *starts* and *ends* differ in length, else
            for the first day outside the range.
        """
        self._same_length("working_days_between_many", starts, ends)
        pos = self._index()[1]
        first = self._first_ordinal
        try:
            if self._in_range(starts, upper=False) and self._in_range(ends, upper=False):
                found = [
                    pos[end.toordinal() - first] - pos[start.toordinal() - first]
                    for start, end in zip(starts, ends, strict=True)
                ]
                if found and min(found) < 0:  # only where an end is before its start
                    return [count if count > 0 else 0 for count in found]
                return found
        except IndexError:
            pass
        return [self.working_days_between(start, end) for start, end in zip(starts, ends, strict=True)]

    # -- derived calendars ------------------------------------------------------

    def with_closed_days(
        self, days: Iterable[dt.date], *, name: str | None = None, label: str | None = None
    ) -> WorkingCalendar:
        """A new calendar: this one, with *days* no longer working days.

        For a kommun's or förvaltning's own closed days: klämdagar, a local
        closure.  A closed day that is not a working day anyway changes
        nothing.  This calendar is not changed.

        :param days: the closed days, each within the range.
        :param name: the new calendar's name; by default this one's name
            followed by ``+stängt`` (``"se+stängt"``).
        :param label: the new calendar's label; by default this one's label
            followed by how many closed days were added.
        :raises CalendarError: if a closed day lies outside the range.
        """
        closed = sorted({self._offset(day) for day in days})
        count = len(closed)
        if label is None:
            label = ngettext(
                "{label}, med {count} egen stängd dag", "{label}, med {count} egna stängda dagar", count
            ).format(label=self._label, count=count)

        def flags() -> list[bool]:
            copy = list(self._index()[0])
            for i in closed:
                copy[i] = False
            return copy

        calendar = WorkingCalendar.__new__(WorkingCalendar)
        calendar._init(
            f"{self._name}+stängt" if name is None else name, label, self._first_day, self._last_day, flags
        )
        return calendar


def as_working_calendar(calendar: Calendar) -> WorkingCalendar:
    """*calendar* with the index, the bulk methods and :meth:`~WorkingCalendar.with_closed_days`.

    A :class:`WorkingCalendar` is returned as it is.  Any other object gets a
    new :class:`WorkingCalendar` with its name, label and range, whose rule is
    its ``is_working_day``, asked once per day of the range on first use.
    Keep the result: each call builds a new index.
    """
    if isinstance(calendar, WorkingCalendar):
        return calendar
    return WorkingCalendar(
        calendar.name, calendar.label, calendar.first_day, calendar.last_day, calendar.is_working_day
    )


# -- the Swedish calendar -----------------------------------------------------------

#: workalendar's labels for Sweden, and the Swedish names (lag 1989:253 om
#: allmänna helgdagar, and the three eves of lag 1930:173).
_SWEDISH_NAMES: Mapping[str, str] = {
    "New year": "Nyårsdagen",
    "Epiphany": "Trettondedag jul",
    "Good Friday": "Långfredagen",
    "Easter Sunday": "Påskdagen",
    "Easter Monday": "Annandag påsk",
    "Labour Day": "Första maj",
    "Ascension Thursday": "Kristi himmelsfärdsdag",
    "Pentecost": "Pingstdagen",
    "National Day": "Sveriges nationaldag",
    "Midsummer's Eve": "Midsommarafton",
    "Midsummer's Day": "Midsommardagen",
    "All Saints": "Alla helgons dag",
    "Christmas Eve": "Julafton",
    "Christmas Day": "Juldagen",
    "Second Day of Christmas": "Annandag jul",
    "New Year's Eve": "Nyårsafton",
}

#: The order of the names when two holidays fall on the same day.
_RANK = {
    name: rank
    for rank, name in enumerate(
        (
            "Nyårsdagen",
            "Trettondedag jul",
            "Långfredagen",
            "Påskdagen",
            "Annandag påsk",
            "Första maj",
            "Kristi himmelsfärdsdag",
            "Pingstdagen",
            "Annandag pingst",
            "Sveriges nationaldag",
            "Midsommarafton",
            "Midsommardagen",
            "Alla helgons dag",
            "Julafton",
            "Juldagen",
            "Annandag jul",
            "Nyårsafton",
        )
    )
}

_swedish_lock = threading.Lock()
_swedish: WorkingCalendar | None = None
_workalendar_sweden: Any = None  # workalendar.europe.Sweden, once loaded
_non_working: frozenset[dt.date] | None = None


def _holiday_list(year: int) -> list[tuple[dt.date, str]]:
    """Every holiday and eve of *year* as (day, Swedish name), corrected, in date order."""
    global _workalendar_sweden
    if _workalendar_sweden is None:
        from workalendar.europe import Sweden

        _workalendar_sweden = Sweden()
    raw: list[tuple[dt.date, str]] = _workalendar_sweden.holidays(year)
    found: list[tuple[dt.date, str]] = []
    for day, english in raw:
        swedish = _SWEDISH_NAMES.get(english)
        if swedish is None:
            # A holiday we cannot name is one we have not checked against the law.
            raise CalendarError(
                _(
                    "workalendar anger en helgdag som klagomal inte känner till: {label} ({day}); "
                    "den svenska kalendern måste ses över"
                ).format(label=english, day=day)
            )
        if english == "National Day" and year < _NATIONAL_DAY_FROM:
            continue  # before 2005, 6 June was a flag day, not a public holiday
        found.append((day, swedish))
        if english == "Pentecost" and year < _NATIONAL_DAY_FROM:
            found.append((day + dt.timedelta(days=1), "Annandag pingst"))
    found.sort(key=lambda entry: (entry[0], _RANK[entry[1]]))
    return found


def swedish_holidays(year: int) -> dict[dt.date, str]:
    """Every public holiday and every eve that is not a working day in *year*, by Swedish name.

    The public holidays of lag (1989:253) om allmänna helgdagar, and
    midsommarafton, julafton and nyårsafton (lag 1930:173), including those
    that fall on a Saturday or Sunday.  They come from workalendar's Sweden
    with two corrections: Sveriges nationaldag (6 June) is a holiday only
    from 2005, and annandag pingst only until 2004.  Two holidays on the same
    day (Kristi himmelsfärdsdag on 1 May, as in 2008) share one entry whose
    name joins both.  The names are the holidays' Swedish proper names and
    are not translated.

    :raises CalendarError: if *year* is outside 2000–2100, the range of the
        Swedish calendar, or if workalendar names a holiday klagomal does not
        know (so that a new one is never silently dropped).
    """
    if not _SWEDISH_FIRST_DAY.year <= year <= _SWEDISH_LAST_DAY.year:
        raise CalendarError(
            _("den svenska kalendern gäller åren {first}–{last}, inte {year}").format(
                first=_SWEDISH_FIRST_DAY.year, last=_SWEDISH_LAST_DAY.year, year=year
            )
        )
    holidays: dict[dt.date, str] = {}
    for day, name in _holiday_list(year):
        holidays[day] = f"{holidays[day]}, {name}" if day in holidays else name
    return holidays


def _swedish_non_working() -> frozenset[dt.date]:
    """Every holiday and eve of the Swedish calendar's range."""
    global _non_working
    if _non_working is None:
        _non_working = frozenset(
            day
            for year in range(_SWEDISH_FIRST_DAY.year, _SWEDISH_LAST_DAY.year + 1)
            for day, _name in _holiday_list(year)
        )
    return _non_working


def _swedish_flags() -> list[bool]:
    """Whether each day of the range is a working day, in order, as the
    index wants them: the weeks' Mondays to Fridays, less the holidays.
    One pass over the weeks and one over the holidays, where a call of a
    rule per day of the hundred years cost 20 ms at every start of a
    command that shows a deadline."""
    first = _SWEDISH_FIRST_DAY.toordinal()
    days = _SWEDISH_LAST_DAY.toordinal() - first + 1
    start = _SWEDISH_FIRST_DAY.weekday()
    week = [(start + i) % 7 < 5 for i in range(7)]
    flags = week * (days // 7 + 1)
    del flags[days:]
    for day in _swedish_non_working():
        flags[day.toordinal() - first] = False
    return flags


def swedish_calendar() -> WorkingCalendar:
    """The built-in Swedish calendar, named ``"se"``; one per process.

    A working day is a day that is not a Saturday, a Sunday, a public holiday
    or midsommarafton, julafton or nyårsafton (lag 1930:173 om beräkning av
    lagstadgad tid), from 2000-01-01 to 2100-12-31.  The holidays are those
    of :func:`swedish_holidays`.  Creating it is cheap; the index (and the
    import of workalendar) comes on first use.
    """
    global _swedish
    if _swedish is None:
        with _swedish_lock:
            if _swedish is None:
                calendar = WorkingCalendar.__new__(WorkingCalendar)
                calendar._init(
                    SWEDISH_CALENDAR,
                    _("Sverige (lag 1930:173 om beräkning av lagstadgad tid)"),
                    _SWEDISH_FIRST_DAY,
                    _SWEDISH_LAST_DAY,
                    _swedish_flags,
                )
                _swedish = calendar
    return _swedish

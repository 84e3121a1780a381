"""Deadline rules: which calendar and which deadlines apply, per förvaltning.

The routine stands or falls on deadlines.  The person is told within ten
working days who handles the case and by when (R7), the promised date is kept
(R10), and if it cannot be kept the person is told *before* it passes (R11).
This module decides those dates; :mod:`klagomal.deadlines.calendars` counts the working
days.

* :class:`DeadlinePolicy` is what a förvaltning decides: its calendar, how
  many working days it gives itself for the besked (at most ten), its default
  response time per kind, how early handlers are reminded, and which channels
  count from the day of registration instead of the day of receipt.  A plugin
  returns one from the ``klagomal_deadline_policy`` hook.
* :class:`Deadlines` is what one :class:`~klagomal.Klagomal` instance uses:
  the policy and the calendar (with the kommun's and the förvaltning's closed
  days) of every förvaltning, resolved and checked once at start-up, so that
  a bad policy is an error before any case is touched.

Every date this module computes is stored in the event that needed it, so a
history replays to the same case even after a policy or a holiday changes.

The module-level functions (:func:`add_working_days` and friends) count on
the built-in Swedish calendar, for code that has no instance at hand.
"""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Callable, Mapping

import attrs

from klagomal.core.errors import CalendarError, ConfigurationError
from klagomal.core.i18n import _, ngettext
from klagomal.core.model import Case, Kind
from klagomal.core.organisation import Organisation
from klagomal.deadlines.calendars import (
    SWEDISH_CALENDAR,
    Calendar,
    WorkingCalendar,
    as_working_calendar,
    swedish_calendar,
)

__all__ = [
    "ACKNOWLEDGE_WORKING_DAYS",
    "DEFAULT_REMINDER_DAYS",
    "DEFAULT_RESPONSE_DAYS",
    "DeadlinePolicy",
    "Deadlines",
    "OpenDeadline",
    "add_working_days",
    "is_working_day",
    "working_days_between",
]

#: R7: the person is told within ten working days who handles the case.  A
#: förvaltning may promise fewer, never more.
ACKNOWLEDGE_WORKING_DAYS = 10

#: The response time promised at the besked when the handler names no date,
#: in working days after the besked.  A complaint usually needs an inquiry; a
#: suggestion may have to be weighed by the nämnd; praise needs a thank-you.
DEFAULT_RESPONSE_DAYS: Mapping[Kind, int] = types.MappingProxyType(
    {Kind.KLAGOMAL: 20, Kind.FORSLAG: 30, Kind.BEROM: 10}
)

#: How many working days before a deadline ``klagomal remind`` reminds.
DEFAULT_REMINDER_DAYS = 2


def _response_days(value: Mapping[Kind | str, int]) -> Mapping[Kind, int]:
    """Every kind's response time: the defaults, overridden by *value*."""
    days = dict(DEFAULT_RESPONSE_DAYS)
    for kind, n in value.items():
        try:
            days[Kind(kind)] = n
        except ValueError:
            valid = ", ".join(k.value for k in Kind)
            raise ConfigurationError(
                _("tidsfristpolicyn anger svarstid för okänd typ '{kind}' (giltiga: {valid})").format(
                    kind=kind, valid=valid
                )
            ) from None
    return types.MappingProxyType(days)


@attrs.frozen
class DeadlinePolicy:
    """A förvaltning's deadline rules (R7, R10, R11, R25).

    :param calendar: the name of the working-day calendar, registered through
        the ``klagomal_calendars`` hook (built in: ``"se"``).
    :param acknowledge_days: working days after receipt within which the
        besked is given; at most :data:`ACKNOWLEDGE_WORKING_DAYS` (R7).
    :param response_days: the response time promised at the besked when the
        handler names no date, per kind, in working days after the besked.
        Kinds left out keep :data:`DEFAULT_RESPONSE_DAYS`.
    :param reminder_days: how many working days before a deadline the
        handler is reminded; 0 reminds on the day itself.
    :param count_from_registration: channels whose deadlines count from the
        day the case was registered rather than the day it was received.  By
        default every channel counts from the date received: a letter that
        arrived on Monday and was opened on Wednesday is due ten working days
        after Monday.  A kommun whose reply-card box is emptied weekly, with
        no date of receipt on the cards, may name ``svarskort`` here.
    :param closed_days: days this förvaltning is closed besides the
        calendar's non-working days (klämdagar); added to those of the
        organisation file.
    """

    calendar: str = SWEDISH_CALENDAR
    acknowledge_days: int = ACKNOWLEDGE_WORKING_DAYS
    response_days: Mapping[Kind, int] = attrs.field(
        factory=lambda: DEFAULT_RESPONSE_DAYS, converter=_response_days
    )
    reminder_days: int = DEFAULT_REMINDER_DAYS
    count_from_registration: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset)
    closed_days: frozenset[dt.date] = attrs.field(default=frozenset(), converter=frozenset)

    def problems(self) -> list[str]:
        """What is wrong with this policy, in Swedish; empty when it is valid."""
        found = []
        if not 1 <= self.acknowledge_days <= ACKNOWLEDGE_WORKING_DAYS:
            found.append(
                _("besked ska ges inom 1–{most} arbetsdagar (R7), inte {n}").format(
                    most=ACKNOWLEDGE_WORKING_DAYS, n=self.acknowledge_days
                )
            )
        for kind, n in self.response_days.items():
            if n < 1:
                found.append(
                    _("svarstiden för {kind} måste vara minst 1 arbetsdag, inte {n}").format(
                        kind=kind.value, n=n
                    )
                )
        if self.reminder_days < 0:
            found.append(
                _("påminnelser kan inte skickas {n} arbetsdagar före en frist").format(n=self.reminder_days)
            )
        return found


@attrs.frozen
class OpenDeadline:
    """The deadline a case is waiting for, as a worklist shows it.

    :param kind: ``"besked"`` (the acknowledgement, R7) or ``"svar"`` (the
        promised answer, R10).
    :param due: the last day.
    :param working_days_left: working days from today to *due*; 0 on the day
        itself, negative by the working days since it passed.
    :param overdue: whether today is after *due*.  Not the same as a
        negative count: on the Saturday after a Friday deadline the case is
        overdue by zero working days.
    """

    kind: str
    due: dt.date
    working_days_left: int
    overdue: bool

    @property
    def when(self) -> str:
        """The time left, in Swedish: ``i dag``, ``om 3 arbetsdagar``, or
        once passed ``för 2 arbetsdagar sedan`` (empty on the weekend right
        after the deadline, when no working day has passed yet)."""
        left = self.working_days_left
        if self.overdue:
            days = -left
            return (
                ngettext("för {n} arbetsdag sedan", "för {n} arbetsdagar sedan", days).format(n=days)
                if days
                else ""
            )
        if left == 0:
            return _("i dag")
        return ngettext("om {n} arbetsdag", "om {n} arbetsdagar", left).format(n=left)


# -- the built-in Swedish calendar, for code without an instance -------------


def is_working_day(day: dt.date) -> bool:
    """Whether *day* is a Swedish working day (lag 1930:173)."""
    return swedish_calendar().is_working_day(day)


def add_working_days(day: dt.date, n: int) -> dt.date:
    """The *n*-th Swedish working day strictly after *day*.

    >>> import datetime as dt
    >>> add_working_days(dt.date(2026, 12, 18), 10)
    datetime.date(2027, 1, 8)
    """
    return swedish_calendar().add_working_days(day, n)


def working_days_between(start: dt.date, end: dt.date) -> int:
    """How many Swedish working days lie strictly after *start* up to and
    including *end*; 0 when *end* is not after *start*.

    >>> import datetime as dt
    >>> working_days_between(dt.date(2026, 12, 18), dt.date(2027, 1, 8))
    10
    """
    return swedish_calendar().working_days_between(start, end)


# -- per-instance deadline rules ----------------------------------------------

#: Where a policy comes from: the policy and the name of the plugin that gave it.
PolicySource = Callable[[str], tuple[DeadlinePolicy, str]]


def _builtin_policy(department: str) -> tuple[DeadlinePolicy, str]:
    return DeadlinePolicy(), "klagomal.builtin"


class Deadlines:
    """The deadline rules in force in one :class:`~klagomal.Klagomal`.

    :param organisation: the kommun, for its and its förvaltningar's closed days.
    :param calendars: the registered calendars by name.
    :param policies: gives the policy of a förvaltning and the plugin it came
        from (the ``klagomal_deadline_policy`` hook in an instance).

    Every förvaltning's policy is resolved and checked here, so a policy
    naming an unknown calendar, promising more than ten working days for the
    besked, or closing a day outside the calendar is a
    :class:`~klagomal.core.errors.ConfigurationError` at start-up, naming the
    förvaltning and the plugin.  Calendars build their working-day index
    lazily, on the first deadline.
    """

    def __init__(
        self,
        organisation: Organisation,
        calendars: Mapping[str, Calendar],
        policies: PolicySource = _builtin_policy,
    ) -> None:
        self.organisation = organisation
        # Wrapped once each (the index itself is built on first use), so
        # förvaltningar that share a calendar share its index.
        self.calendars = {name: as_working_calendar(calendar) for name, calendar in calendars.items()}
        self._policies = policies
        self._resolved: dict[str, tuple[DeadlinePolicy, WorkingCalendar]] = {}
        #: The plugin each förvaltning's policy came from (``klagomal plugins``).
        self.sources: dict[str, str] = {}
        # Förvaltningar with the same calendar and closed days (the kommun's
        # klämdagar alone, say) share one index.
        self._with_closed: dict[tuple[str, frozenset[dt.date]], WorkingCalendar] = {}
        for department in organisation.departments:
            self._resolve(department)

    @classmethod
    def builtin(cls, organisation: Organisation) -> Deadlines:
        """The default rules: the Swedish calendar and :class:`DeadlinePolicy` defaults."""
        return cls(organisation, {SWEDISH_CALENDAR: swedish_calendar()})

    def _resolve(self, department: str) -> tuple[DeadlinePolicy, WorkingCalendar]:
        found = self._resolved.get(department)
        if found is not None:
            return found
        policy, source = self._policies(department)
        problems = policy.problems()
        if policy.calendar not in self.calendars:
            problems.append(
                _("kalendern '{calendar}' finns inte (kända kalendrar: {known})").format(
                    calendar=policy.calendar, known=", ".join(sorted(self.calendars)) or "-"
                )
            )
        if problems:
            raise ConfigurationError(
                _(
                    "tidsfristpolicyn för förvaltningen '{department}' från {plugin} är ogiltig: {problems}"
                ).format(department=department, plugin=source, problems="; ".join(problems))
            )
        calendar = self.calendars[policy.calendar]
        closed = set(policy.closed_days) | set(self.organisation.closed_days)
        if department in self.organisation.departments:
            closed |= set(self.organisation.departments[department].closed_days)
        if closed:
            key = (policy.calendar, frozenset(closed))
            try:
                if key not in self._with_closed:
                    self._with_closed[key] = calendar.with_closed_days(closed)
            except CalendarError as exc:
                raise ConfigurationError(
                    _("stängda dagar för förvaltningen '{department}': {reason}").format(
                        department=department, reason=exc.reason
                    )
                ) from exc
            calendar = self._with_closed[key]
        self._resolved[department] = (policy, calendar)
        self.sources[department] = source
        return policy, calendar

    # -- look-ups ----------------------------------------------------------

    def policy(self, department: str) -> DeadlinePolicy:
        """The deadline policy of *department*."""
        return self._resolve(department)[0]

    def calendar(self, department: str) -> WorkingCalendar:
        """The working-day calendar of *department*, closed days included."""
        return self._resolve(department)[1]

    # -- the routine's deadlines -----------------------------------------

    def acknowledge_by(
        self,
        department: str,
        received: dt.date,
        *,
        channel: str | None = None,
        registered: dt.date | None = None,
    ) -> dt.date:
        """The last day for the besked (R7) of feedback received on *received*
        and registered on *registered* through *channel*.

        It counts from the date received, unless the policy counts *channel*
        from the day of registration.
        """
        policy, calendar = self._resolve(department)
        start = received
        if registered is not None and channel in policy.count_from_registration:
            start = registered
        return calendar.add_working_days(start, policy.acknowledge_days)

    def default_respond_by(self, department: str, kind: Kind, today: dt.date) -> dt.date:
        """The date promised at a besked given *today* when the handler names
        none: the policy's response time for *kind* (R10)."""
        policy, calendar = self._resolve(department)
        return calendar.add_working_days(today, policy.response_days[kind])

    def resumed_respond_by(
        self, department: str, respond_by: dt.date, paused_since: dt.date, today: dt.date
    ) -> tuple[dt.date, int]:
        """The promised date after the clock stood still from *paused_since*
        to *today*, and how many working days it stood still.

        The working days that were left when the clock stopped are left again
        when it starts: the date moves by the working days paused.
        """
        calendar = self.calendar(department)
        paused = calendar.working_days_between(paused_since, today)
        return calendar.add_working_days(respond_by, paused) if paused else respond_by, paused

    def check_date(self, department: str, day: dt.date) -> None:
        """Raise :class:`~klagomal.core.errors.CalendarError` unless *day* lies
        within *department*'s calendar, which must be able to count to it."""
        # The calendar's own look-up refuses a date outside its range, in its words.
        self.calendar(department).is_working_day(day)

    def limit(self, department: str, today: dt.date, n: int) -> dt.date:
        """The last day that lies within *n* working days of *today*."""
        return self.calendar(department).add_working_days(today, n)

    def open_deadline(self, case: Case, today: dt.date) -> OpenDeadline | None:
        """The deadline *case* waits for on *today*, if any.

        A case waits for its besked while ``registrerat`` (R7) and for its
        answer while ``handlaggning`` (R10), unless its clock is paused while
        it waits for the person.
        """
        deadline = case.deadline()
        if deadline is None:
            return None
        kind, due = deadline
        left = self.calendar(case.department).working_days_left(due, today)
        return OpenDeadline(kind, due, left, overdue=today > due)

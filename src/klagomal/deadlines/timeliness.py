"""How well deadlines were kept: figures any report can use (R7, R10, R11).

The figures are computed from the events, which are the truth, so they count
every level of a case and every forward, not only its latest state:

* **besked in time** (R7): each time a case owes a besked, at registration,
  after an escalation (R19–R21), or after a forward of a case that already had
  one (R12), it is given in time if the ``acknowledged`` event is on or
  before the deadline.  One still missing after the deadline is late; one
  still missing before it is *pending* and not counted.  Anonymous cases
  count too: their besked is the appointment of a handler.
* **answered by the promised date** (R10): each besked promises a date.  The
  promise is kept if the answer comes on or before the date in force, where a
  postponement told in time (R11) and a paused clock move the date, and a
  postponement told too late breaks the promise.  An answer still missing
  after the date (clock running) is late; a promise cut short by a forward
  is counted only if it had already been broken.  Anonymous cases, which
  cannot be answered (R5), owe no answer.
* **delay notices in time** (R11): the postponements told before the old
  date passed, of all postponements.
* **working days to besked and to answer**: from the date received (or the
  day of the escalation, or of the forward that owed a new besked) to the
  besked, and from the date received (or the escalation) to the answer,
  counted on the förvaltning's calendar with the bulk path.

:func:`measure_timeliness` takes the histories the caller selected (for
example the cases received in a tertial) and the day on which outcomes are
judged.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from klagomal.core.events import (
    Acknowledged,
    Answered,
    Closed,
    Escalated,
    Event,
    Forwarded,
    Paused,
    Postponed,
    Registered,
    ResolvedAtOnce,
    Resumed,
)
from klagomal.deadlines.calendars import WorkingCalendar

__all__ = ["Timeliness", "measure_timeliness"]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _median(values: Sequence[int]) -> float | None:
    return float(statistics.median(values)) if values else None


@attrs.frozen
class Timeliness:
    """Timeliness figures for a set of cases, as known on ``as_of``.

    Counts are of obligations (a besked owed, an answer promised), which a
    case can have several of; ``cases`` is the number of cases looked at.
    The ``share_*`` and ``median_*`` properties are ``None`` where nothing
    was counted.
    """

    as_of: dt.date
    cases: int
    """Cases registered by ``as_of``."""
    acknowledgements: int
    """Besked owed whose outcome is known: given, or missing after the deadline."""
    acknowledged_in_time: int
    acknowledgements_pending: int
    """Besked not yet given, whose deadline has not passed."""
    answers: int
    """Promised answers whose outcome is known."""
    answered_in_time: int
    answers_pending: int
    delay_notices: int
    delay_notices_in_time: int
    days_to_acknowledge: tuple[int, ...]
    """Working days from receipt (or escalation, or forward) to each besked."""
    days_to_answer: tuple[int, ...]
    """Working days from receipt (or escalation) to each answer."""

    @property
    def share_acknowledged_in_time(self) -> float | None:
        """The share of besked given within the deadline (R7)."""
        return _share(self.acknowledged_in_time, self.acknowledgements)

    @property
    def share_answered_in_time(self) -> float | None:
        """The share of answers given by the promised date (R10)."""
        return _share(self.answered_in_time, self.answers)

    @property
    def share_delay_notices_in_time(self) -> float | None:
        """The share of delay notices told before the old date passed (R11)."""
        return _share(self.delay_notices_in_time, self.delay_notices)

    @property
    def median_days_to_acknowledge(self) -> float | None:
        """The median working days to the besked."""
        return _median(self.days_to_acknowledge)

    @property
    def median_days_to_answer(self) -> float | None:
        """The median working days to the answer."""
        return _median(self.days_to_answer)

    def to_json(self) -> dict[str, Any]:
        """The counts, shares and medians as one JSON-ready object (without
        the individual durations)."""
        return {
            "as_of": self.as_of.isoformat(),
            "cases": self.cases,
            "acknowledgements": self.acknowledgements,
            "acknowledged_in_time": self.acknowledged_in_time,
            "acknowledgements_pending": self.acknowledgements_pending,
            "share_acknowledged_in_time": self.share_acknowledged_in_time,
            "answers": self.answers,
            "answered_in_time": self.answered_in_time,
            "answers_pending": self.answers_pending,
            "share_answered_in_time": self.share_answered_in_time,
            "delay_notices": self.delay_notices,
            "delay_notices_in_time": self.delay_notices_in_time,
            "share_delay_notices_in_time": self.share_delay_notices_in_time,
            "median_days_to_acknowledge": self.median_days_to_acknowledge,
            "median_days_to_answer": self.median_days_to_answer,
        }


@attrs.define
class _Tally:
    """Outcomes collected over all cases; durations as (start, end) by förvaltning."""

    cases: int = 0
    ack_due: int = 0
    ack_in_time: int = 0
    ack_pending: int = 0
    answer_due: int = 0
    answer_in_time: int = 0
    answer_pending: int = 0
    delays: int = 0
    delays_in_time: int = 0
    ack_spans: dict[str, tuple[list[dt.date], list[dt.date]]] = attrs.Factory(
        lambda: defaultdict(lambda: ([], []))
    )
    answer_spans: dict[str, tuple[list[dt.date], list[dt.date]]] = attrs.Factory(
        lambda: defaultdict(lambda: ([], []))
    )


@attrs.define
class _Promise:
    """An answer promised at a besked: the date in force, and whether a late
    postponement broke it."""

    due: dt.date
    broken: bool = False


def _walk(history: Sequence[Event], tally: _Tally, as_of: dt.date) -> None:
    """Add one case's obligations and their outcomes to *tally*."""
    department = ""
    level_start = dt.date.min
    ack: tuple[dt.date, dt.date] | None = None  # (deadline, counted from)
    promise: _Promise | None = None
    paused = False
    for event in history:
        if event.day > as_of:
            break  # judged as known on as_of
        data = event.data
        if isinstance(data, Registered):
            tally.cases += 1
            department, level_start = data.department, data.received
            ack = (data.acknowledge_by, data.received)
        elif isinstance(data, Forwarded):
            department = data.department
            if promise is not None:
                # The new unit owes a new besked; the old promise counts
                # only if it was already broken.
                if promise.broken or (not paused and event.day > promise.due):
                    tally.answer_due += 1
                promise, paused = None, False
                ack = (data.acknowledge_by, event.day)
            elif ack is not None:
                ack = (data.acknowledge_by, ack[1])
        elif isinstance(data, Acknowledged | ResolvedAtOnce):
            if ack is not None:
                tally.ack_due += 1
                tally.ack_in_time += event.day <= ack[0]
                starts, ends = tally.ack_spans[department]
                starts.append(ack[1])
                ends.append(event.day)
                ack = None
            # R14: a case resolved at once got its (oral) answer the same day; nothing is owed.
            promise = _Promise(data.respond_by) if isinstance(data, Acknowledged) else None
        elif isinstance(data, Postponed):
            tally.delays += 1
            tally.delays_in_time += data.in_time
            if promise is not None:
                promise.due = data.respond_by
                promise.broken |= not data.in_time
        elif isinstance(data, Paused):
            paused = True
        elif isinstance(data, Resumed):
            paused = False
            if promise is not None:
                promise.due = data.respond_by
        elif isinstance(data, Answered):
            if promise is not None:
                tally.answer_due += 1
                tally.answer_in_time += not promise.broken and event.day <= promise.due
                starts, ends = tally.answer_spans[department]
                starts.append(level_start)
                ends.append(event.day)
                promise = None
        elif isinstance(data, Closed):
            promise = None  # an anonymous case closes unanswered; no answer was owed
        elif isinstance(data, Escalated):
            level_start = event.day
            ack, promise, paused = (data.acknowledge_by, event.day), None, False
    if ack is not None:
        if as_of > ack[0]:
            tally.ack_due += 1
        else:
            tally.ack_pending += 1
    if promise is not None:
        if promise.broken or (not paused and as_of > promise.due):
            tally.answer_due += 1
        else:
            tally.answer_pending += 1


def _durations(
    spans: dict[str, tuple[list[dt.date], list[dt.date]]], calendar_for: Callable[[str], WorkingCalendar]
) -> tuple[int, ...]:
    found: list[int] = []
    for department, (starts, ends) in sorted(spans.items()):
        found += calendar_for(department).working_days_between_many(starts, ends)
    return tuple(sorted(found))


def measure_timeliness(
    histories: Iterable[Sequence[Event]],
    calendar_for: Callable[[str], WorkingCalendar],
    as_of: dt.date,
) -> Timeliness:
    """Timeliness figures for the cases whose *histories* are given, judged
    on *as_of*: events after it are not looked at.

    :param calendar_for: the working-day calendar of a förvaltning, such as
        :meth:`klagomal.deadlines.policies.Deadlines.calendar`.
    """
    tally = _Tally()
    for history in histories:
        _walk(history, tally, as_of)
    return Timeliness(
        as_of=as_of,
        cases=tally.cases,
        acknowledgements=tally.ack_due,
        acknowledged_in_time=tally.ack_in_time,
        acknowledgements_pending=tally.ack_pending,
        answers=tally.answer_due,
        answered_in_time=tally.answer_in_time,
        answers_pending=tally.answer_pending,
        delay_notices=tally.delays,
        delay_notices_in_time=tally.delays_in_time,
        days_to_acknowledge=_durations(tally.ack_spans, calendar_for),
        days_to_answer=_durations(tally.answer_spans, calendar_for),
    )

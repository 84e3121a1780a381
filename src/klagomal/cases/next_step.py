"""What the routine expects next of a case, and who took each step of its
history, as a member of staff reads them (``klagomal show``; a web UI the
same).

:func:`next_step` reads the case as it is now (its state, level, deadlines,
whether it is anonymous, paused or praise) and returns a :class:`NextStep`:
the step the routine expects, in Swedish, with the command that takes it
and the day it is due.  It decides nothing: the lifecycle
(:mod:`klagomal.cases.lifecycle`) still refuses a step that is not allowed.

:func:`actor_label` names who took a step: a user by their display name,
``systemet`` for the scheduled jobs (the reserved user ``system``), the
channel for what came in by itself (the web form), ``personen`` for a
message from the person (never their name: it may be protected, and the
history is read by others than the handler).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import attrs

from klagomal.core.events import Event, MessageReceived
from klagomal.core.i18n import _
from klagomal.core.model import Case, CaseState, Channel, Kind, Level
from klagomal.core.users import SYSTEM_USER, User

__all__ = ["NextStep", "actor_label", "next_step"]


@attrs.frozen
class NextStep:
    """The step the routine expects next.

    :param step: the command that takes it (``"acknowledge"``), or ``None``
        when nothing more is expected.
    :param text: what to do, in Swedish, with the deadline when there is one.
    :param due: the deadline, when the routine sets one.
    :param overdue: the deadline has passed.
    """

    step: str | None
    text: str
    due: dt.date | None = None
    overdue: bool = False


def next_step(case: Case, today: dt.date) -> NextStep:
    """The step the routine expects next of *case*, on *today*."""
    if case.state is CaseState.REGISTRERAT:
        if case.anonymous:
            # R5: no besked can be given; the deadline is for choosing a handler.
            return _due("acknowledge", _("utse handläggare senast {due}"), case.acknowledge_by, today)
        text = _("ge besked om handläggare och svarsdatum senast {due}")
        return _due("acknowledge", text, case.acknowledge_by, today)
    if case.state is CaseState.HANDLAGGNING:
        if case.paused_since is not None:
            text = _("återuppta när personen har hört av sig (pausat sedan {day})")
            return NextStep("resume", text.format(day=case.paused_since))
        if case.kind is Kind.BEROM and not case.praise_passed_on:
            return NextStep("pass-on", _("för berömmet vidare till berörd personal (R22)"))
        if case.anonymous:
            return NextStep("close", _("avsluta när ärendet är utrett; ett anonymt ärende kan inte besvaras"))
        return _due("answer", _("besvara senast {due}"), case.respond_by, today)
    if case.state is CaseState.BESVARAT:
        return NextStep("close", _("avsluta, och ange om personen är nöjd"))
    if case.satisfied is False and case.level < Level.NAMND:
        return NextStep(
            "escalate",
            _("inget; personen är inte nöjd och kan få ärendet lyft till nivå {level}").format(
                level=int(case.level) + 1
            ),
        )
    return NextStep(None, _("inget; ärendet är avslutat"))


def _due(step: str, text: str, due: dt.date | None, today: dt.date) -> NextStep:
    overdue = due is not None and today > due
    shown = text.format(due=due) if due is not None else text.replace(" senast {due}", "")
    if overdue:
        shown = _("{text} (FÖRSENAT)").format(text=shown)
    return NextStep(step, shown, due, overdue)


def actor_label(event: Event, users: Mapping[str, User], channels: Mapping[str, Channel]) -> str:
    """Who took the step *event* records, as staff read it."""
    if isinstance(event.data, MessageReceived):
        return _("personen")
    actor = event.actor
    if actor is None:
        return "-"
    if actor == SYSTEM_USER.id:
        return _("systemet")
    user = users.get(actor)
    if user is not None:
        return user.name
    channel = channels.get(actor)
    if channel is not None:
        return channel.label
    return actor

"""Notifiers: how a message reaches a member of staff.

A notifier is a small record registered through the ``klagomal_notifiers``
hook: a name and a ``send`` function.  ``klagomal remind`` hands each
reminder and breach alert to one notifier as a :class:`StaffMessage`.

The built-in ``log`` notifier writes the message to the Python logger
``klagomal.notices``; what was sent, and when, is kept in the database either
way (the ``reminders`` table), so a log notifier is a complete, inspectable
outbox for development and for kommuner that forward their logs.  Real
e-mail arrives with the notices issue as another notifier through the same
hook.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import attrs

__all__ = ["LOG_NOTIFIER", "Notifier", "StaffMessage", "log_notifier"]

#: The name of the built-in notifier.
LOG_NOTIFIER = "log"

log = logging.getLogger("klagomal.notices")


@attrs.frozen
class StaffMessage:
    """A message to a member of staff about a case.

    :param reference: the case.
    :param kind: ``"paminnelse"`` (a deadline is close) or ``"overskriden"``
        (a deadline has passed).
    :param recipient: who is told: the handler's or the manager's name as
        the case or the organisation file writes it.
    :param role: ``"handlaggare"`` or ``"chef"``.
    :param subject: a one-line Swedish summary.
    :param body: the Swedish text.
    :param email: the functional mailbox of the unit concerned, when the
        organisation file gives one.
    """

    reference: str
    kind: str
    recipient: str
    role: str
    subject: str
    body: str
    email: str | None = None


@attrs.frozen
class Notifier:
    """A way to reach staff, registered through the ``klagomal_notifiers`` hook.

    :param name: a stable id, such as ``log``; ``klagomal remind --notifier``
        chooses by it.
    :param label: a Swedish display label.
    :param send: delivers one message; raising means it was not delivered
        (it is retried on the next run).
    """

    name: str
    label: str
    send: Callable[[StaffMessage], None]


def _log_message(message: StaffMessage) -> None:
    log.info(
        "%s till %s (%s)%s: %s\n%s",
        message.kind,
        message.recipient,
        message.role,
        f" <{message.email}>" if message.email else "",
        message.subject,
        message.body,
    )


def log_notifier() -> Notifier:
    """The built-in notifier: writes each message to the ``klagomal.notices`` logger."""
    return Notifier(LOG_NOTIFIER, "Logg (klagomal.notices)", _log_message)

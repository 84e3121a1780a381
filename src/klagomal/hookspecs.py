"""The hooks through which klagomal is extended.

Only the core defines hooks (the spec marker is private); plugins implement
them with the public :data:`hookimpl` marker::

    from klagomal import hookimpl

    @hookimpl
    def klagomal_quality_dimensions():
        yield QualityDimension("trygghet", "Trygghet och säkerhet", department="soc")

pluggy ignores defaults on hook arguments, so the core always calls every
hook with every keyword argument.  Arguments may be added in later versions,
never renamed or removed; an implementation may accept any subset of them.

Built-in features are ordinary plugins (:mod:`klagomal.builtin`) registered
through these same hooks, marked ``trylast`` so that any plugin can override
them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover - imports for annotations only
    from klagomal.app import Klagomal
    from klagomal.calendars import Calendar
    from klagomal.deadlines import DeadlinePolicy
    from klagomal.events import Event
    from klagomal.model import Case, Channel, QualityDimension
    from klagomal.notifiers import Notifier
    from klagomal.organisation import Organisation
    from klagomal.storage.base import StorageBackend

__all__ = ["PROJECT_NAME", "hookimpl"]

#: The pluggy project name, also the entry-point group plugins register under.
PROJECT_NAME = "klagomal"

_hookspec = pluggy.HookspecMarker(PROJECT_NAME)

#: Marker for hook implementations in plugins.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# -- registration hooks: each returns an iterable of small records ------------


@_hookspec
def klagomal_quality_dimensions() -> Iterable[QualityDimension]:  # type: ignore[empty-body]
    """Quality dimensions this plugin adds (R6).

    Results from all plugins are collected; two plugins that add the same id
    are an error at start-up.

    .. versionadded:: 0.1
    """


@_hookspec
def klagomal_channels() -> Iterable[Channel]:  # type: ignore[empty-body]
    """Channels through which feedback can arrive (R4), each with its
    anonymity policy (R5).

    Results from all plugins are collected; duplicate ids are an error.

    .. versionadded:: 0.1
    """


@_hookspec
def klagomal_storage_backends() -> Iterable[StorageBackend]:  # type: ignore[empty-body]
    """Storage backends, each claiming the SQLAlchemy URL schemes it serves.

    Results from all plugins are collected; a plugin's backend for a scheme
    wins over the built-in one.

    .. versionadded:: 0.1
    """


@_hookspec
def klagomal_calendars() -> Iterable[Calendar]:  # type: ignore[empty-body]
    """Working-day calendars, each with its own ``name`` (R7, R10).

    A calendar is any object with the :class:`klagomal.calendars.Calendar`
    protocol; :class:`klagomal.calendars.WorkingCalendar` builds one from a
    rule.  A förvaltning's deadline policy chooses a calendar by name.
    Results from all plugins are collected; a plugin may replace the built-in
    ``"se"`` by registering the same name; the same name from two outside
    plugins is an error at start-up.

    .. versionadded:: 0.2
    """


@_hookspec
def klagomal_notifiers() -> Iterable[Notifier]:  # type: ignore[empty-body]
    """Ways to reach staff (reminders and breach alerts), each with its own
    ``name``.  Built in: ``log``.

    Results from all plugins are collected; duplicate names are an error.

    .. versionadded:: 0.2
    """


# -- decision hooks: the first result wins ----------------------------------


@_hookspec(firstresult=True)
def klagomal_deadline_policy(department: str, organisation: Organisation) -> DeadlinePolicy | None:
    """The deadline policy of a förvaltning (R7, R10, R11, R25): its
    calendar, the working days for the besked (at most ten), the default
    response time per kind, the reminder lead time, which channels count
    from registration rather than receipt, and closed days of its own.

    :param department: the förvaltning's id, such as ``"soc"``.
    :param organisation: the kommun's organisation.

    Stops at the first result that is not ``None``; the built-in policy
    (:class:`klagomal.deadlines.DeadlinePolicy` with its defaults) comes
    last.  Called once per förvaltning when a :class:`~klagomal.Klagomal` is
    created; an invalid policy is a
    :class:`~klagomal.errors.ConfigurationError` then, naming the plugin.  An
    implementation that raises is logged with its plugin's name and skipped.

    .. versionadded:: 0.2
    """


# -- event hooks: called after the event is committed ------------------------


@_hookspec
def klagomal_on_event(klagomal: Klagomal, case: Case, event: Event) -> None:
    """Called after every committed event, for example to push it to the
    kommun's diarium or a statistics system.

    :param klagomal: the instance the event happened in.
    :param case: the case as it is after the event.
    :param event: the event that was committed.

    All implementations are called.  A listener cannot veto: the event is
    already stored.  An exception in a listener is logged with the plugin's
    name and does not reach the caller.

    .. versionadded:: 0.1
    """

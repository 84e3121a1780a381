"""The hooks through which klagomal is extended: the whole catalogue.

Only the core defines hooks (the spec marker is private); plugins implement
them with the public :data:`hookimpl` marker::

    from klagomal import hookimpl

    @hookimpl
    def klagomal_quality_dimensions():
        yield QualityDimension("trygghet", "Trygghet och säkerhet", department="soc")

The hooks come in four groups, and each group combines results its own way:

* **registration hooks** (``klagomal_quality_dimensions``, ``klagomal_channels``,
  ``klagomal_calendars``, ``klagomal_notifiers``, ``klagomal_storage_backends``,
  ``klagomal_template_dirs``, ``klagomal_report_sections``,
  ``klagomal_migrations``) are called once
  when a :class:`~klagomal.Klagomal` is created, with the kommun's
  ``organisation`` (whose ``settings(name)`` holds a plugin's own settings);
  every plugin's records are collected.  Two plugins that register the same id are an error at
  start-up; a plugin may replace a built-in record by registering its id.
* **decision hooks** (``klagomal_deadline_policy``, ``klagomal_is_serious``,
  ``klagomal_route``, ``klagomal_allows_anonymous``,
  ``klagomal_default_secrecy``, ``klagomal_threat_routine``) stop at the first result that is not
  ``None``.  The built-in answer comes last.
* the **validation hook** (``klagomal_validate_intake``) collects findings
  from every plugin; it is the only hook that may *veto* a registration.
* the **identity hook** (``klagomal_identify``) turns a login name into a
  :class:`~klagomal.records.access.User` and stops at the first answer; the
  **disposal rules hook** (``klagomal_disposal_rules``) collects every
  plugin's rules, which are checked against each other at start-up.
* the **listener hook** (``klagomal_on_event``) is called after commit and
  can never veto: the event is already stored.

A plugin that raises inside a hook is isolated: the failure is logged with
the plugin's name and the hook, and the plugin's answer is skipped.  The one
exception is deliberate: a :class:`~klagomal.core.errors.ConfigurationError`
raised from a hook called at start-up (the registration hooks and
``klagomal_deadline_policy``) stops start-up, naming the plugin, so that a
plugin can refuse settings it cannot work with.  At
registration a skipped plugin leaves a note on the case, so the handler
knows a check did not run; a case being registered is never lost because of
a plugin.

pluggy ignores defaults on hook arguments, so the core always calls every
hook with every keyword argument.  Arguments may be added in later versions,
never renamed or removed; an implementation may accept any subset of them.

Built-in features are ordinary plugins (:mod:`klagomal.hooks.builtin`) registered
through these same hooks, marked ``trylast`` so that any plugin can override
them.  ``docs/plugins.md`` documents every hook; a test checks that it does.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover - imports for annotations only
    from klagomal.app import Klagomal
    from klagomal.core.events import Event, ThreatFlagged
    from klagomal.core.model import Case, Channel, Finding, Intake, QualityDimension, Route, ThreatRoutine
    from klagomal.core.organisation import Organisation
    from klagomal.deadlines.calendars import Calendar
    from klagomal.deadlines.policies import DeadlinePolicy
    from klagomal.notices.notifiers import Notifier
    from klagomal.records.access import User
    from klagomal.records.disposal import DisposalRule
    from klagomal.reports import ReportSection
    from klagomal.storage.base import MigrationBranch, StorageBackend

__all__ = ["HOOK_GROUPS", "PROJECT_NAME", "hookimpl"]

#: The pluggy project name, also the entry-point group plugins register under.
PROJECT_NAME = "klagomal"

_hookspec = pluggy.HookspecMarker(PROJECT_NAME)

#: Marker for hook implementations in plugins.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

#: Every hook by group, in the order ``docs/plugins.md`` documents them.
HOOK_GROUPS: dict[str, tuple[str, ...]] = {
    "registration": (
        "klagomal_quality_dimensions",
        "klagomal_channels",
        "klagomal_calendars",
        "klagomal_notifiers",
        "klagomal_storage_backends",
        "klagomal_template_dirs",
        "klagomal_report_sections",
        "klagomal_migrations",
        "klagomal_disposal_rules",
    ),
    "decision": (
        "klagomal_deadline_policy",
        "klagomal_is_serious",
        "klagomal_route",
        "klagomal_allows_anonymous",
        "klagomal_default_secrecy",
        "klagomal_threat_routine",
        "klagomal_identify",
    ),
    "validation": ("klagomal_validate_intake",),
    "listener": ("klagomal_on_event",),
}


# -- registration hooks: each returns an iterable of small records ------------


@_hookspec
def klagomal_quality_dimensions(organisation: Organisation) -> Iterable[QualityDimension]:  # type: ignore[empty-body]
    """Quality dimensions this plugin adds (R6).

    Results from all plugins are collected; two plugins that add the same id
    are an error at start-up.

    .. versionadded:: 0.1
    """


@_hookspec
def klagomal_channels(organisation: Organisation) -> Iterable[Channel]:  # type: ignore[empty-body]
    """Channels through which feedback can arrive (R4), each with its
    anonymity policy (R5).

    Results from all plugins are collected; duplicate ids are an error.

    .. versionadded:: 0.1
    """


@_hookspec
def klagomal_storage_backends(organisation: Organisation) -> Iterable[StorageBackend]:  # type: ignore[empty-body]
    """Storage backends, each claiming the SQLAlchemy URL schemes it serves.

    Results from all plugins are collected; a plugin's backend for a scheme
    wins over the built-in one.

    .. versionadded:: 0.1
    """


@_hookspec
def klagomal_calendars(organisation: Organisation) -> Iterable[Calendar]:  # type: ignore[empty-body]
    """Working-day calendars, each with its own ``name`` (R7, R10).

    A calendar is any object with the :class:`klagomal.deadlines.calendars.Calendar`
    protocol; :class:`klagomal.deadlines.calendars.WorkingCalendar` builds one from a
    rule.  A förvaltning's deadline policy chooses a calendar by name.
    Results from all plugins are collected; a plugin may replace the built-in
    ``"se"`` by registering the same name; the same name from two outside
    plugins is an error at start-up.

    .. versionadded:: 0.2
    """


@_hookspec
def klagomal_notifiers(organisation: Organisation) -> Iterable[Notifier]:  # type: ignore[empty-body]
    """Ways to reach people, each a :class:`klagomal.notices.notifiers.Notifier`
    with its own ``name``: ``send`` delivers reminders and breach alerts to
    staff, ``deliver`` delivers notices from the outbox
    (:mod:`klagomal.notices.outbox`).  Built in: ``log``, ``fil``, ``utskrift``
    and ``smtp``.

    Results from all plugins are collected; duplicate names are an error.

    .. versionadded:: 0.2
    """


@_hookspec
def klagomal_template_dirs(organisation: Organisation) -> Iterable[str | os.PathLike[str]]:  # type: ignore[empty-body]
    """Folders of Jinja2 templates for the notices (letters to the person
    and messages to staff), searched before the built-in ones
    (:mod:`klagomal.notices.letters`, ``docs/letters.md``).

    A template named ``<förvaltning>/<notice>.txt`` (for example
    ``bou/besked.txt``) changes the wording for that förvaltning's cases
    only; ``<notice>.txt`` changes it for every case.  A ``.html`` next to
    it gives the HTML version; without one, the HTML is made from the text.
    Folders from all plugins are collected, in the order pluggy calls the
    plugins (later registered first), then the built-in folder.  A folder that does not
    exist is an error at start-up.

    .. versionadded:: 0.3
    """


@_hookspec
def klagomal_report_sections(organisation: Organisation) -> Iterable[ReportSection]:  # type: ignore[empty-body]
    """Sections a förvaltning adds to reports (R16–R18), each a
    :class:`klagomal.reports.ReportSection` with its own ``id``.

    Results from all plugins are collected; duplicate ids are an error.  A
    section is built when a report covering its förvaltning is made; a
    section that raises is left out of the report, with a note saying so.

    .. versionadded:: 0.3
    """


@_hookspec
def klagomal_migrations(organisation: Organisation) -> Iterable[MigrationBranch]:  # type: ignore[empty-body]
    """The plugin's own tables: folders of Alembic revision scripts, each a
    :class:`klagomal.storage.base.MigrationBranch` that forms one branch of
    its own next to klagomal's schema, with its own ``name`` (also the
    branch label of its first revision).

    ``klagomal init`` upgrades klagomal's own schema first and then every
    branch to its head; every other command checks that each branch is at
    the ``head`` the plugin declares and otherwise asks for ``klagomal
    init``.  Results from all plugins are collected; the same name from two
    plugins is an error at start-up, as is a folder that does not exist.  A
    database keeps the tables of a plugin that is no longer installed: they
    are never downgraded or dropped.

    .. versionadded:: 0.4
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
    (:class:`klagomal.deadlines.policies.DeadlinePolicy` with its defaults) comes
    last.  Called once per förvaltning when a :class:`~klagomal.Klagomal` is
    created; an invalid policy is a
    :class:`~klagomal.core.errors.ConfigurationError` then, naming the plugin.  An
    implementation that raises is logged with its plugin's name and skipped.

    .. versionadded:: 0.2
    """


@_hookspec(firstresult=True)
def klagomal_is_serious(intake: Intake, organisation: Organisation) -> bool | None:
    """Whether a new complaint is serious, so that it goes to the nearest
    manager at once (R15).

    :param intake: the feedback as given, with ``intake.serious`` set when
        the registrar marked it.
    :param organisation: the kommun's organisation.

    Called at registration, for complaints (``klagomal``) only.  Stops at the
    first result that is not ``None``; the built-in answer is the
    registrar's marking.  A plugin can make a complaint serious but never
    unmark one the registrar marked: ``True`` from either side wins.

    .. versionadded:: 0.3
    """


@_hookspec(firstresult=True)
def klagomal_route(intake: Intake, serious: bool, organisation: Organisation) -> Route | None:
    """Where a new case goes: the unit that handles it, and the handler when
    one is assigned at once (R12, R15).

    :param intake: the feedback as given; ``intake.unit`` is the unit the
        registrar named, or ``None``.
    :param serious: whether the complaint is serious (after
        :func:`klagomal_is_serious`).
    :param organisation: the kommun's organisation.

    Called at registration, after the seriousness is decided.  Stops at the
    first result that is not ``None``.  The built-in route keeps the named
    unit.  When the route names no handler and the complaint is serious,
    the core assigns the routed unit's nearest manager (R15).  A route to a
    unit the organisation does not know is logged and skipped, like a
    plugin that raises.

    .. versionadded:: 0.3
    """


@_hookspec(firstresult=True)
def klagomal_allows_anonymous(channel: Channel, department: str, organisation: Organisation) -> bool | None:
    """Whether anonymous feedback is accepted through *channel* for a case
    of *department* (R5).

    :param channel: the channel the feedback came through.
    :param department: the förvaltning the case was routed to.
    :param organisation: the kommun's organisation.

    Called at registration of a case without contact details.  Stops at the
    first result that is not ``None``; the built-in answer is the channel's
    own ``allows_anonymous`` (every channel but the web form).

    .. versionadded:: 0.3
    """


@_hookspec(firstresult=True)
def klagomal_default_secrecy(intake: Intake, route: Route, organisation: Organisation) -> str | None:
    """The legal ground on which a new case is marked secret from the start,
    such as ``"OSL 26 kap. 1 §"``, or ``None`` for a public document.

    :param intake: the feedback as given.
    :param route: where the case goes (after :func:`klagomal_route`).
    :param organisation: the kommun's organisation.

    Called at registration, and when a case that is not yet secret is
    forwarded to another unit (then *intake* is the case as registered and
    *route* the new unit), so that a case forwarded into social services
    becomes secret too.  Stops at the first result that is not ``None``;
    built in, no case is secret.  The marking is stored with the case
    (``Case.secrecy``) and is never lifted by a forward.

    .. versionadded:: 0.3
    """


@_hookspec(firstresult=True)
def klagomal_threat_routine(
    case: Case, flag: ThreatFlagged, organisation: Organisation
) -> ThreatRoutine | None:
    """The förvaltning's routine when staff flag abusive or threatening
    treatment (kränkande / hotfullt bemötande, R28): a
    :class:`~klagomal.core.model.ThreatRoutine` saying who is told, whether
    the case moves to the unit's manager, and on which channels staff may
    decline further contact with the person.

    :param case: the case as it is before the flag (``case.department`` is
        the förvaltning whose routine applies).
    :param flag: the flag: ``flag.kind`` (``krankande`` or ``hotfullt``),
        ``flag.about`` (``kontakt``: the person, or ``arende``: the case)
        and ``flag.reason``.
    :param organisation: the kommun's organisation.

    Called when a flag is set (``klagomal flag``), inside the step: what it
    decides is stored with the flag's event, so the history says what the
    routine was.  Stops at the first result that is not ``None``; the
    built-in routine, last, tells the unit's chef and nothing else.  An
    answer that is not a ``ThreatRoutine``, or names a user or channel
    klagomal does not know, is logged and skipped like a plugin that raises.

    .. versionadded:: 0.5
    """


# -- access and records hooks -----------------------------------------------


@_hookspec(firstresult=True)
def klagomal_identify(user_id: str, organisation: Organisation) -> User | None:
    """The user with the login name *user_id*, or ``None`` if this plugin
    does not know them.

    :param user_id: the login name the CLI got from ``KLAGOMAL_USER`` (or
        ``--user``), or the embedding application passed to
        ``Klagomal(user="...")`` or ``as_user("...")``.
    :param organisation: the kommun's organisation.

    This is where an embedding application plugs in its own identity source:
    its single sign-on, its directory's groups mapped to roles.  Stops at the
    first result that is not ``None``; the built-in source, last, knows the
    organisation file's ``[[anvandare]]`` and the reserved ``system``.  An id
    nobody knows is refused (:class:`~klagomal.core.errors.AccessDeniedError`).

    .. versionadded:: 0.4
    """


@_hookspec
def klagomal_disposal_rules(organisation: Organisation) -> Iterable[DisposalRule] | None:
    """The kommun's disposal rules (gallring) that come from this plugin,
    besides the organisation file's ``[[gallring]]`` tables.

    :param organisation: the kommun's organisation.

    Every plugin's rules are collected at start-up and checked together:
    rules that contradict each other stop start-up
    (:class:`~klagomal.core.errors.ConfigurationError`).  Each rule must name the
    decision it rests on.  See :mod:`klagomal.records.disposal`.

    .. versionadded:: 0.4
    """


# -- validation hook: every plugin may warn or refuse ----------------------


@_hookspec
def klagomal_validate_intake(
    intake: Intake, route: Route, serious: bool, organisation: Organisation
) -> Iterable[Finding] | None:
    """Check new feedback before it is registered.

    :param intake: the feedback as given.
    :param route: where the case would go.
    :param serious: whether the complaint is serious (after
        :func:`klagomal_is_serious`).
    :param organisation: the kommun's organisation.

    Return :class:`~klagomal.core.model.Finding` values, or nothing.  Findings
    from every plugin are collected.  A rejection (``Finding.rejection``)
    stops the registration with a
    :class:`~klagomal.core.errors.PluginRejectedError` that names the plugin and
    gives its reason; nothing is stored.  A warning is stored with the case
    as a note for the handler.  This is the only hook that may veto.  A
    plugin that *raises* does not veto: it is logged, and the case is
    registered with a note that the plugin's check did not run.

    .. versionadded:: 0.3
    """


# -- listener hook: called after the event is committed ---------------------


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

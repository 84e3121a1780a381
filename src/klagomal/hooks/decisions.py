"""Asking the plugins what to do with new feedback.

At registration the core asks, in this order (R5, R12, R15, R25):

1. ``klagomal_is_serious``: is the complaint serious?
2. ``klagomal_route``: which unit handles it, and which handler?
3. ``klagomal_allows_anonymous``: may it be anonymous through its channel?
4. ``klagomal_validate_intake``: does any plugin refuse it, or warn?
5. ``klagomal_default_secrecy``: is it secret from the start?

Each decision hook stops at the first answer that is not ``None``; the
built-in answers come last.  A plugin that raises, or answers with something
the core cannot use (a route to a unit the organisation does not know, a
string where a yes or no was asked), is logged with its name and the hook and
skipped: the next plugin, and in the end the built-in, decides.  The case
records a note saying which plugin was skipped, so that the handler can
check by hand what the plugin would have checked.  A case being registered
is never lost because of a plugin; only a deliberate rejection from
``klagomal_validate_intake`` stops it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from klagomal.cases.lifecycle import anonymous_refused
from klagomal.cases.threats import check_routine
from klagomal.core.errors import NoUnitError, PluginRejectedError
from klagomal.core.events import ThreatFlagged
from klagomal.core.i18n import _
from klagomal.core.model import Case, Channel, Finding, Intake, Kind, Route, ThreatRoutine
from klagomal.core.organisation import Organisation
from klagomal.hooks.manager import PluginManager, call_impl, implementations

__all__ = ["Decision", "Decisions"]

log = logging.getLogger(__name__)


@attrs.frozen
class Decision:
    """What the plugins decided about new feedback, and the notes for the
    handler (routing reasons, warnings, plugins that were skipped)."""

    serious: bool
    route: Route
    secrecy: str | None
    notes: tuple[str, ...]


def _skipped_note(plugin: str, hook: str, reason: str) -> str:
    return _("{plugin}: kunde inte svara i {hook} ({reason}); kontrollera detta för hand").format(
        plugin=plugin, hook=hook, reason=reason
    )


class Decisions:
    """The registration decisions of one :class:`~klagomal.Klagomal`."""

    def __init__(self, pm: PluginManager, organisation: Organisation) -> None:
        self.pm = pm
        self.organisation = organisation

    def _first(
        self,
        hook_name: str,
        check: Callable[[Any], str | None],
        notes: list[str],
        **kwargs: Any,
    ) -> tuple[Any, str]:
        """The first usable answer, and the plugin that gave it.  *check*
        returns why an answer cannot be used, or ``None``."""
        hook = getattr(self.pm.hook, hook_name)
        for impl in implementations(hook):
            try:
                answer = call_impl(impl, **kwargs)
                if answer is None:
                    continue
                problem = check(answer)
                if problem is not None:
                    raise ValueError(problem)
            except Exception as exc:
                log.error(
                    _("klagomal: insticksmodulen %r fick ett fel i %s och hoppas över: %s: %s"),
                    impl.plugin_name,
                    hook_name,
                    type(exc).__name__,
                    exc,
                    exc_info=exc,
                )
                notes.append(_skipped_note(impl.plugin_name, hook_name, f"{type(exc).__name__}: {exc}"))
                continue
            return answer, impl.plugin_name
        return None, ""

    def decide(self, intake: Intake, channel: Channel) -> Decision:
        """Every decision about *intake*, in order; raises
        :class:`~klagomal.core.errors.PluginRejectedError` or
        :class:`~klagomal.core.errors.InvalidInputError` when it cannot be
        registered."""
        notes: list[str] = []
        org = self.organisation
        serious = intake.serious
        if intake.kind is Kind.KLAGOMAL and not serious:
            answer, _plugin = self._first(
                "klagomal_is_serious", _yes_or_no, notes, intake=intake, organisation=org
            )
            serious = bool(answer)
        route = self._route(intake, serious, notes)
        department = org.unit(route.unit).department
        if intake.anonymous:
            allowed, _plugin = self._first(
                "klagomal_allows_anonymous",
                _yes_or_no,
                notes,
                channel=channel,
                department=department,
                organisation=org,
            )
            if not (channel.allows_anonymous if allowed is None else allowed):
                # R5: the routine does not accept anonymous feedback through the web form.
                raise anonymous_refused(channel.id)
        notes += self._validate(intake, route, serious)
        secrecy, _plugin = self._first(
            "klagomal_default_secrecy", _legal_ground, notes, intake=intake, route=route, organisation=org
        )
        return Decision(serious=serious, route=route, secrecy=secrecy, notes=tuple(notes))

    def allows_anonymous(self, channel: Channel, department: str) -> bool:
        """Whether anonymous feedback through *channel* is accepted for
        *department*, as :meth:`decide` will decide it (R5): the first
        plugin's yes or no to ``klagomal_allows_anonymous``, else the
        channel's own policy.  A plugin that fails, or answers something
        else, is skipped and logged for debugging only: the web form asks
        this for every unit on every page
        (:func:`klagomal.intake.webform.anonymous_allowed`), and registration
        logs the failure and notes it with the case."""
        hook = self.pm.hook.klagomal_allows_anonymous
        for impl in implementations(hook):
            try:
                result = call_impl(
                    impl, channel=channel, department=department, organisation=self.organisation
                )
            except Exception:
                log.debug("plugin %r failed in klagomal_allows_anonymous", impl.plugin_name, exc_info=True)
                continue
            if isinstance(result, bool):
                return result
        return channel.allows_anonymous

    def secrecy_on_forward(self, case: Case, to_unit: str) -> tuple[str | None, tuple[str, ...]]:
        """The secrecy marking a case that is not yet secret gets when it is
        forwarded to *to_unit* (R27), and notes on skipped plugins."""
        notes: list[str] = []
        intake = Intake(
            kind=case.kind,
            channel=case.channel,
            text=case.text,
            received=case.received,
            unit=case.unit,
            contact=case.contact,
            dimensions=case.dimensions,
            serious=case.serious,
        )
        secrecy, _plugin = self._first(
            "klagomal_default_secrecy",
            _legal_ground,
            notes,
            intake=intake,
            route=Route(to_unit),
            organisation=self.organisation,
        )
        return secrecy, tuple(notes)

    def threat_routine(
        self, case: Case, flag: ThreatFlagged, channels: Mapping[str, Channel]
    ) -> tuple[ThreatRoutine, str]:
        """The förvaltning's routine for a flag for abusive or threatening
        treatment (R28), and the plugin whose routine it is: the first
        usable answer to ``klagomal_threat_routine``; a plugin that raises
        or answers something unusable is logged and skipped, and the
        built-in routine (tell the unit's chef) answers last."""
        notes: list[str] = []
        answer, plugin = self._first(
            "klagomal_threat_routine",
            lambda a: check_routine(a, self.organisation, channels),
            notes,
            case=case,
            flag=flag,
            organisation=self.organisation,
        )
        if answer is None:  # pragma: no cover - the built-in always answers
            return ThreatRoutine(), ""
        return answer, plugin

    def _route(self, intake: Intake, serious: bool, notes: list[str]) -> Route:
        org = self.organisation

        def usable(answer: Any) -> str | None:
            if not isinstance(answer, Route):
                return f"{answer!r} is not a Route"
            if not org.has_unit(answer.unit):
                return _("enheten '{unit}' finns inte i organisationen").format(unit=answer.unit)
            return None

        route: Route | None
        route, plugin = self._first(
            "klagomal_route", usable, notes, intake=intake, serious=serious, organisation=org
        )
        if route is None:
            raise _no_route()
        if serious and route.handler is None:
            # R15: a serious complaint goes to the nearest manager at once.
            route = attrs.evolve(route, handler=org.nearest_manager(route.unit))
        if route.note:
            notes.append(f"{plugin}: {route.note}")
        return route

    def _validate(self, intake: Intake, route: Route, serious: bool) -> list[str]:
        notes: list[str] = []
        hook = self.pm.hook.klagomal_validate_intake
        for impl in implementations(hook):
            try:
                findings = list(
                    call_impl(
                        impl, intake=intake, route=route, serious=serious, organisation=self.organisation
                    )
                    or ()
                )
                if not all(isinstance(f, Finding) for f in findings):
                    raise TypeError(f"returned {findings!r}, not Finding values")
            except Exception as exc:
                log.error(
                    _(
                        "klagomal: insticksmodulen %r fick ett fel i "
                        "klagomal_validate_intake, hoppas över: %s: %s"
                    ),
                    impl.plugin_name,
                    type(exc).__name__,
                    exc,
                    exc_info=exc,
                )
                notes.append(
                    _skipped_note(
                        impl.plugin_name, "klagomal_validate_intake", f"{type(exc).__name__}: {exc}"
                    )
                )
                continue
            for finding in findings:
                if finding.reject:
                    raise PluginRejectedError(impl.plugin_name, finding.message)
                notes.append(f"{impl.plugin_name}: {finding.message}")
        return notes


def _yes_or_no(answer: Any) -> str | None:
    return None if isinstance(answer, bool) else f"{answer!r} is not True, False or None"


def _legal_ground(answer: Any) -> str | None:
    if not isinstance(answer, str) or not answer.strip() or len(answer) > 200:
        return f"{answer!r} is not a legal ground (a text of 1-200 characters)"
    return None


def _no_route() -> NoUnitError:
    return NoUnitError(
        _("ange vilken enhet synpunkten gäller (--unit ENHET; se 'klagomal units')"), step="register"
    )

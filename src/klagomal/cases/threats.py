"""Flags for abusive or threatening treatment (kränkande / hotfullt
bemötande, R28).

Staff need not accept abusive or threatening treatment: a member of staff
flags the person (``kontakt``: their contacts with the kommun) or the case
(``arende``), with the reason, and the förvaltning's own routine decides
what follows (the ``klagomal_threat_routine`` hook, asked by
:meth:`klagomal.cases.service.CaseService.flag_threat`): who is told, whether
the case moves to the unit's manager, and on which channels staff may
decline further contact.  A chef or a förvaltning's administrator lifts a
flag, with the reason.  Both are events in the case's history and in the
audit log; nothing of them goes to the person.

A flag may be set and lifted in every state, also on a closed case: the
treatment may come after the answer, and the flag on the person matters
for their next contact.

Like :mod:`klagomal.cases.lifecycle`, the decide functions here are pure: a
refused step raises and writes nothing.  :func:`active_flags` reads the
flags that are set, with who set them, when and why, from a history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import attrs

from klagomal.cases.lifecycle import Context
from klagomal.cases.step_texts import check_step_texts, required_text
from klagomal.core.errors import InvalidInputError, InvalidStepError
from klagomal.core.events import (
    ABOUT_CASE,
    ABOUT_CONTACT,
    THREAT_ABOUT,
    THREAT_KINDS,
    Event,
    ThreatFlagged,
    ThreatFlagLifted,
    threat_key,
)
from klagomal.core.i18n import _
from klagomal.core.model import Case, Channel, ThreatRoutine
from klagomal.core.organisation import Organisation
from klagomal.core.users import Role, User

__all__ = [
    "ActiveFlag",
    "about_label",
    "active_flags",
    "apply_routine",
    "flag",
    "flag_label",
    "kind_label",
    "lift",
    "manager_of",
]

FLAG_STEP = "flag"
UNFLAG_STEP = "unflag"


def kind_label(kind: str) -> str:
    """The Swedish label of a flag's kind."""
    return {"krankande": _("Kränkande bemötande"), "hotfullt": _("Hotfullt bemötande")}.get(kind, kind)


def about_label(about: str) -> str:
    """The Swedish label of what a flag is about."""
    return {ABOUT_CONTACT: _("personen"), ABOUT_CASE: _("ärendet")}.get(about, about)


def flag_label(key: str) -> str:
    """``"Hotfullt bemötande, gäller personen"`` for ``"hotfullt:kontakt"``."""
    kind, _sep, about = key.partition(":")
    return _("{kind}, gäller {about}").format(kind=kind_label(kind), about=about_label(about))


def _refuse(case: Case, step: str, reason: str) -> InvalidStepError:
    return InvalidStepError(case.reference, case.state.value, step, reason)


def _check_kind(case: Case, step: str, kind: str) -> str:
    if kind not in THREAT_KINDS:
        raise InvalidInputError(
            _("okänt slag av bemötande '{kind}' (giltiga: {valid})").format(
                kind=kind, valid=", ".join(THREAT_KINDS)
            ),
            step=step,
            reference=case.reference,
        )
    return kind


def _check_about(case: Case, step: str, about: str) -> str:
    if about not in THREAT_ABOUT:
        raise InvalidInputError(
            _("okänt '{about}': flaggan gäller {contact} (personen) eller {case} (ärendet)").format(
                about=about, contact=ABOUT_CONTACT, case=ABOUT_CASE
            ),
            step=step,
            reference=case.reference,
        )
    return about


def flag(case: Case, ctx: Context, kind: str, about: str, reason: str) -> ThreatFlagged:
    """Flag the person (``kontakt``) or the case (``arende``) for abusive
    (``krankande``) or threatening (``hotfullt``) treatment.  Allowed in every
    state; refused for a flag already set, for the person of an anonymous
    case (flag the case) and without a reason.  The routine's decision is
    added by :func:`apply_routine`."""
    step = FLAG_STEP
    _check_kind(case, step, kind)
    _check_about(case, step, about)
    reason = required_text(reason, step, _("skälet"), case.reference).strip()
    if about == ABOUT_CONTACT and case.anonymous:
        raise _refuse(
            case,
            step,
            _("ärendet är anonymt, så det finns ingen känd person att flagga; flagga ärendet (--om arende)"),
        )
    if threat_key(kind, about) in case.threat_flags:
        raise _refuse(
            case,
            step,
            _("flaggan '{flag}' är redan satt").format(flag=flag_label(threat_key(kind, about))),
        )
    return check_step_texts(ThreatFlagged(kind=kind, about=about, reason=reason), step, case.reference)


def lift(
    case: Case, ctx: Context, reason: str, kind: str | None = None, about: str | None = None
) -> ThreatFlagLifted:
    """Lift a flag that is set.  *kind* and *about* pick it; either may be
    left out when only one flag that is set matches."""
    step = UNFLAG_STEP
    if kind is not None:
        _check_kind(case, step, kind)
    if about is not None:
        _check_about(case, step, about)
    reason = required_text(reason, step, _("skälet"), case.reference).strip()
    if not case.threat_flags:
        raise _refuse(case, step, _("ärendet har ingen flagga för kränkande eller hotfullt bemötande"))
    matching = [
        key
        for key in case.threat_flags
        if (kind is None or key.startswith(f"{kind}:")) and (about is None or key.endswith(f":{about}"))
    ]
    if not matching:
        raise _refuse(
            case,
            step,
            _("den flaggan är inte satt; satta flaggor: {flags}").format(
                flags="; ".join(flag_label(key) for key in case.threat_flags)
            ),
        )
    if len(matching) > 1:
        raise _refuse(
            case,
            step,
            _(
                "flera flaggor är satta ({flags}); ange vilken: hotfullt eller krankande, "
                "och kontakt eller arende"
            ).format(flags="; ".join(flag_label(key) for key in matching)),
        )
    kind, _sep, about = matching[0].partition(":")
    return check_step_texts(ThreatFlagLifted(kind=kind, about=about, reason=reason), step, case.reference)


def manager_of(organisation: Organisation, unit: str) -> str:
    """The handler a case at *unit* moves to when the routine moves it to
    the manager: the ``chef`` user who leads the unit (tied to it by id, or
    whose display name is its ``chef``), nearest first, as their user id;
    else the unit's ``chef`` as written (R15's nearest manager)."""
    chefs = [u for u in organisation.users.values() if u.role is Role.MANAGER]
    for level in reversed(organisation.path(unit)):
        for user in chefs:
            if level.id in user.units or user.name == level.manager:
                return user.id
    return organisation.nearest_manager(unit)


def apply_routine(
    case: Case,
    data: ThreatFlagged,
    routine: ThreatRoutine,
    plugin: str,
    organisation: Organisation,
    channels: Mapping[str, Channel],
) -> ThreatFlagged:
    """*data* with what *routine* decided: who is told, the manager the case
    moves to (``None`` when it stays, or when the manager already handles
    it) and the channels staff may decline."""
    handler = None
    if routine.to_manager:
        manager = manager_of(organisation, case.unit)
        handler = None if manager == case.handler else manager
    declined = tuple(dict.fromkeys(c for c in routine.decline if c in channels))
    return attrs.evolve(
        data,
        # The manager a case moves to is told, whatever else the routine says.
        alert_manager=routine.alert_manager or handler is not None,
        alert_department_head=routine.alert_department_head,
        alert_users=tuple(dict.fromkeys(u for u in routine.alert_users if u in organisation.users)),
        handler=handler,
        declined=declined,
        routine=plugin,
    )


def check_routine(answer: object, organisation: Organisation, channels: Mapping[str, Channel]) -> str | None:
    """Why a plugin's answer to ``klagomal_threat_routine`` cannot be used,
    or ``None``: it must be a :class:`ThreatRoutine` that names known users
    and channels."""
    if not isinstance(answer, ThreatRoutine):
        return f"{answer!r} is not a ThreatRoutine"
    unknown = [u for u in answer.alert_users if u not in organisation.users]
    if unknown:
        return _("användaren {users} finns inte i organisationsfilen").format(users=", ".join(unknown))
    unknown = [c for c in answer.decline if c not in channels]
    if unknown:
        return _("kanalen {channels} finns inte").format(channels=", ".join(unknown))
    return None


@attrs.frozen
class ActiveFlag:
    """A flag that is set, as its history tells: who set it, when, why,
    and what the routine decided."""

    key: str
    day: dt.date
    actor: str | None
    data: ThreatFlagged

    @property
    def label(self) -> str:
        """``"Hotfullt bemötande, gäller personen"``."""
        return flag_label(self.key)

    def by(self, users: Mapping[str, User]) -> str:
        """Who set it, by display name when they are a user."""
        if self.actor is None:
            return "-"
        user = users.get(self.actor)
        return user.name if user is not None else self.actor


def active_flags(events: Iterable[Event]) -> list[ActiveFlag]:
    """The flags set at the end of *events*, in the order they were set."""
    active: dict[str, ActiveFlag] = {}
    for event in events:
        data = event.data
        if isinstance(data, ThreatFlagged):
            active[data.key] = ActiveFlag(data.key, event.day, event.actor, data)
        elif isinstance(data, ThreatFlagLifted):
            active.pop(data.key, None)
    return list(active.values())

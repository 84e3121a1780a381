"""The domain model: cases and the vocabulary they are described with.

Everything here is a frozen attrs value with no knowledge of storage.  Stable
identifiers are ASCII Swedish words (``klagomal``, ``bemotande``); what people
read is in the ``label`` fields, in Swedish.

Kinds, states, escalation levels and answer modes are closed sets fixed by the
routine, so they are enums.  Channels and quality dimensions are open sets: a
förvaltning may add its own through plugins (R4, R6, R25), so they are records
registered through hooks and referred to by id.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from klagomal.core.i18n import _
from klagomal.core.location import Location

__all__ = [
    "AnswerMode",
    "Case",
    "CaseState",
    "Channel",
    "Contact",
    "Finding",
    "Intake",
    "Kind",
    "Level",
    "QualityDimension",
    "Route",
    "ThreatRoutine",
]


class Kind(enum.StrEnum):
    """The three kinds of feedback registered in the same system (R1)."""

    KLAGOMAL = "klagomal"
    FORSLAG = "forslag"
    BEROM = "berom"

    @property
    def label(self) -> str:
        """Swedish display label."""
        return {"klagomal": _("Klagomål"), "forslag": _("Förslag"), "berom": _("Beröm")}[self.value]


class CaseState(enum.StrEnum):
    """Where a case is in its lifecycle.

    ``registrerat`` → ``handlaggning`` (acknowledged, R7) → ``besvarat`` (R13)
    → ``avslutat``; a person who is not satisfied may take a closed case to the
    next level, which starts again at ``registrerat`` (R19–R21).
    """

    REGISTRERAT = "registrerat"
    HANDLAGGNING = "handlaggning"
    BESVARAT = "besvarat"
    AVSLUTAT = "avslutat"

    @property
    def label(self) -> str:
        """Swedish display label."""
        return {
            "registrerat": _("Registrerat"),
            "handlaggning": _("Under handläggning"),
            "besvarat": _("Besvarat"),
            "avslutat": _("Avslutat"),
        }[self.value]


class Level(enum.IntEnum):
    """Escalation levels, the routine's *turordning* (R19–R21)."""

    ENHET = 1
    """Level 1: the unit where the matter arose (R19)."""
    FORVALTNINGSCHEF = 2
    """Level 2: the förvaltningschef decides who continues (R20)."""
    NAMND = 3
    """Level 3: the responsible nämnd or styrelse (R21)."""

    @property
    def label(self) -> str:
        """Swedish display label."""
        return {1: _("Nivå 1: enheten"), 2: _("Nivå 2: förvaltningschefen"), 3: _("Nivå 3: nämnden")}[
            int(self)
        ]


class AnswerMode(enum.StrEnum):
    """How a case was answered (R13)."""

    SKRIFTLIGT = "skriftligt"
    MUNTLIGT = "muntligt"


@attrs.frozen
class Channel:
    """A way feedback reaches the kommun (R4).

    :param id: stable ASCII id, such as ``telefon``.
    :param label: Swedish display label.
    :param allows_anonymous: whether the default anonymity policy accepts an
        anonymous case through this channel (R5).
    """

    id: str
    label: str
    allows_anonymous: bool = True
    description: str = ""


@attrs.frozen
class QualityDimension:
    """A classification axis for what went wrong or right (R6).

    :param department: ``None`` for the municipality-wide dimensions, else the
        id of the förvaltning that added it.
    """

    id: str
    label: str
    description: str = ""
    department: str | None = None


@attrs.frozen
class Contact:
    """How to reach the person who gave the feedback.  Every field is optional
    (R30: ask only for what is needed), but a contact must hold at least one.

    :param preferred: how the person wants to be reached: ``"epost"``,
        ``"brev"`` or ``"telefon"``, or ``None`` for no preference (then
        e-mail, else a letter, else a phone call).
    :param personnummer: the person's personnummer or samordningsnummer,
        normalised to twelve digits (``YYYYMMDDNNNC``) when registered
        (:mod:`klagomal.core.identity_numbers`); only where the matter needs it.
    :param protected: the person has skyddade personuppgifter (sekretess-
        markering or skyddad folkbokföring): the contact never appears in a
        report, an export, a log, a public extract or a notice to anyone but
        the person, and only users allowed to see it are shown it
        (:mod:`klagomal.records.access`, R27).

    The contact is kept in these fields, never in the case text, so that it
    can be protected, exported and anonymised on its own (R27, GDPR).
    """

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    preferred: str | None = None
    personnummer: str | None = None
    protected: bool = False

    def is_empty(self) -> bool:
        """Whether no field is filled in."""
        return not any((self.name, self.email, self.phone, self.address, self.personnummer))


@attrs.frozen
class Intake:
    """New feedback as it was given, checked for form but not yet decided on.

    Registration hooks (:mod:`klagomal.hooks.specs`) receive it to decide
    whether the case is serious, where it goes, and whether it is accepted.

    :param unit: the unit the person or the registrar named; ``None`` when
        nobody knew, and routing must find one.
    :param serious: whether the registrar marked the complaint as serious (R15).
    """

    kind: Kind
    channel: str
    text: str
    received: dt.date
    unit: str | None = None
    contact: Contact | None = None
    dimensions: tuple[str, ...] = ()
    serious: bool = False

    @property
    def anonymous(self) -> bool:
        """No contact was given (R5)."""
        return self.contact is None


@attrs.frozen
class Route:
    """Where a new case goes: the unit that handles it and, when one is
    assigned at once, the handler (R12, R15).

    :param note: why, in Swedish, for the handler (for example which keyword
        matched); shown with the case.
    """

    unit: str
    handler: str | None = None
    note: str = ""


@attrs.frozen
class ThreatRoutine:
    """What a förvaltning's routine does when staff flag abusive or
    threatening treatment (R28): the answer of ``klagomal_threat_routine``.
    The built-in routine tells the unit's chef and nothing else.

    :param alert_manager: tell the unit's chef (notice ``flaggning``).
    :param alert_department_head: tell the förvaltningschef.
    :param alert_users: user ids (``[[anvandare]]``) of others to tell,
        such as a safety officer.
    :param to_manager: the case moves to the unit's manager, who becomes
        its handler and is told (also without ``alert_manager``).
    :param decline: channel ids (``telefon``, ``besok``, ...) on which staff
        may decline further contact with the person.
    """

    alert_manager: bool = True
    alert_department_head: bool = False
    alert_users: tuple[str, ...] = ()
    to_manager: bool = False
    decline: tuple[str, ...] = ()


@attrs.frozen
class Finding:
    """What an intake check found: a warning the handler sees with the case,
    or, with ``reject=True``, the reason the feedback is not registered."""

    message: str
    reject: bool = False

    @classmethod
    def warning(cls, message: str) -> Finding:
        """A note for the handler; the case is registered."""
        return cls(message)

    @classmethod
    def rejection(cls, message: str) -> Finding:
        """A refusal; *message* tells the registrar why and what to do instead."""
        return cls(message, reject=True)


@attrs.frozen
class Case:
    """The current state of a case, projected from its events.

    Never build or change one by hand in application code: it is the result
    of :func:`klagomal.cases.lifecycle.replay`, and storage keeps a copy only to
    make queries fast.

    :param unit: the unit that currently handles the case.
    :param handler: the person responsible, if one is assigned.
    :param forwards: how many times it was forwarded (R12).
    :param updated: the day of the latest event; no later step may be dated
        before it, so the history stays in order.
    :param paused_since: the day the clock was paused while the case waits
        for the person (for example for missing details); ``None`` while it runs.
    :param secrecy: the legal ground for secrecy (for example
        ``"OSL 26 kap. 1 §"``) when the case is marked secret, by default from
        the förvaltning's plugin; ``None`` for an ordinary public document.
    :param resolved_at_once: the one who received it put it right at once
        (R14, R29), without a separate besked and answer.
    :param summary: the register entry's short description of what the case
        is about, written by the handler (OSL 5 kap. 1 §), kept apart from
        the person's own text; ``None`` until someone writes it.
    :param threat_flags: the flags for abusive or threatening treatment
        that are set (R28), by key (``"hotfullt:kontakt"``, see
        :func:`klagomal.core.events.threat_key`), sorted.
    :param location: where the case is about, a position and/or an
        address (:mod:`klagomal.core.location`); ``None`` when not given.
    :param language: the language the person writes in and gets letters in
        (``sv``, ``en`` or one a kommun's catalogue adds,
        :func:`klagomal.core.i18n.available_languages`; lag 2009:724).
    :param version: the number of events, for optimistic concurrency.
    """

    reference: str
    kind: Kind
    channel: str
    unit: str
    department: str
    text: str
    received: dt.date
    registered: dt.date
    acknowledge_by: dt.date
    updated: dt.date
    contact: Contact | None = None
    dimensions: tuple[str, ...] = ()
    serious: bool = False
    state: CaseState = CaseState.REGISTRERAT
    level: Level = Level.ENHET
    handler: str | None = None
    respond_by: dt.date | None = None
    acknowledged: dt.date | None = None
    answered: dt.date | None = None
    answer_mode: AnswerMode | None = None
    closed: dt.date | None = None
    satisfied: bool | None = None
    forwards: int = 0
    postponements: int = 0
    late_postponements: int = 0
    actions: int = 0
    praise_passed_on: bool = False
    paused_since: dt.date | None = None
    secrecy: str | None = None
    resolved_at_once: bool = False
    summary: str | None = None
    threat_flags: tuple[str, ...] = ()
    location: Location | None = None
    language: str = "sv"
    version: int = 0

    @property
    def anonymous(self) -> bool:
        """An anonymous case has no contact and never gets a notice (R5)."""
        return self.contact is None

    @property
    def protected(self) -> bool:
        """The person has skyddade personuppgifter (R27)."""
        return self.contact is not None and self.contact.protected

    @property
    def paused(self) -> bool:
        """Whether the clock stands still while the case waits for the person."""
        return self.paused_since is not None

    def deadline(self) -> tuple[str, dt.date] | None:
        """The deadline the case waits for: ``("besked", acknowledge_by)``
        while ``registrerat`` (R7), ``("svar", respond_by)`` while
        ``handlaggning`` with the clock running (R10), else ``None``."""
        if self.state is CaseState.REGISTRERAT:
            return "besked", self.acknowledge_by
        if self.state is CaseState.HANDLAGGNING and self.respond_by is not None and self.paused_since is None:
            return "svar", self.respond_by
        return None

    def is_overdue(self, today: dt.date) -> bool:
        """Whether a deadline has passed without the step it asks for."""
        return self.overdue_reason(today) is not None

    def overdue_reason(self, today: dt.date) -> str | None:
        """``"besked"`` if not acknowledged by ``acknowledge_by``, ``"svar"`` if
        not answered by ``respond_by`` (and not paused), else ``None``."""
        deadline = self.deadline()
        if deadline is not None and today > deadline[1]:
            return deadline[0]
        return None

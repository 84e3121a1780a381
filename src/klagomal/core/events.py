"""Events: the append-only history that is the source of truth of a case.

An :class:`Event` is an envelope (which case, which position in its history,
on which day, by whom) around one payload class per kind of step.  Payloads
hold exactly what the step decided, including derived dates such as a new
deadline, so that replaying the history never needs the calendar or the
organisation again and always gives the same case.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import attrs

from klagomal.core.i18n import _
from klagomal.core.location import Location
from klagomal.core.model import AnswerMode, Contact, Kind, Level

__all__ = [
    "APPEAL",
    "EVENT_TYPES",
    "FAULT_REPORT",
    "GUIDANCE_ROUTES",
    "KEPT_FIELDS",
    "OWN_FIELDS",
    "TEXT_FIELDS",
    "THREAT_ABOUT",
    "THREAT_KINDS",
    "Acknowledged",
    "ActionRecorded",
    "Answered",
    "Assigned",
    "AttachmentAdded",
    "Closed",
    "ContactCorrected",
    "Described",
    "Escalated",
    "Event",
    "EventData",
    "Forwarded",
    "Guided",
    "Informed",
    "Located",
    "MessageReceived",
    "NoteAdded",
    "Paused",
    "Postponed",
    "PraisePassedOn",
    "PublicationWithdrawn",
    "Published",
    "Reclassified",
    "Registered",
    "ResolvedAtOnce",
    "Resumed",
    "SecrecyLifted",
    "SecrecyMarked",
    "ThreatFlagLifted",
    "ThreatFlagged",
    "event_label",
    "threat_key",
]


@attrs.frozen
class Registered:
    """The case was registered (R8).  ``handler`` is set when the routine
    assigns one at once: the nearest manager for a serious complaint (R15).

    ``secrecy`` is the legal ground when the case is marked secret from the
    start (a förvaltning's default); ``notes`` are what plugins told the
    handler at intake (how the case was routed, warnings), with the plugin's
    name.  ``external_id`` is the case's id in another system it was
    bulk-imported from (:mod:`klagomal.intake.bulk`).
    """

    TYPE: ClassVar[str] = "registered"

    kind: Kind
    channel: str
    unit: str
    department: str
    text: str
    received: dt.date
    acknowledge_by: dt.date
    contact: Contact | None = None
    dimensions: tuple[str, ...] = ()
    serious: bool = False
    handler: str | None = None
    secrecy: str | None = None
    notes: tuple[str, ...] = ()
    #: The case's id in the system it was bulk-imported from, if any; unique.
    external_id: str | None = None
    #: The register entry's short description (OSL 5 kap. 1 §), by the registrar.
    summary: str | None = None
    #: Where the case is about (a position and/or an address), if given.
    location: Location | None = None
    #: The language the person writes in and gets letters in (lag 2009:724);
    #: an event stored before languages were known is Swedish.
    language: str = "sv"


@attrs.frozen
class Reclassified:
    """The kind was corrected.  Never away from ``klagomal`` (R2)."""

    TYPE: ClassVar[str] = "reclassified"

    kind: Kind
    reason: str


@attrs.frozen
class Forwarded:
    """The case was sent on to the unit it concerns (R12).

    ``acknowledge_by`` is the deadline for the besked after the hop: the
    original one while no besked has been given (the person has waited since
    receipt), a new one counted from the hop when a besked had already been
    given by the unit that passed the case on.
    """

    TYPE: ClassVar[str] = "forwarded"

    from_unit: str
    to_unit: str
    department: str
    acknowledge_by: dt.date
    handler: str | None = None
    #: The secrecy marking the case gets at the new unit (a case forwarded
    #: into social services becomes secret); ``None`` keeps the case's own.
    secrecy: str | None = None


@attrs.frozen
class Acknowledged:
    """The person was told who handles the case and by when (besked, R7)."""

    TYPE: ClassVar[str] = "acknowledged"

    handler: str
    respond_by: dt.date


@attrs.frozen
class Assigned:
    """A chef or a förvaltning's administrator appointed or changed the
    case's handler (tilldelning, ``klagomal assign``); the new handler is
    told.  ``handler`` is a user id from ``[[anvandare]]`` when the name
    given was a user's, else the name as written; ``previous`` is who
    handled the case before, if anyone."""

    TYPE: ClassVar[str] = "assigned"

    handler: str
    previous: str | None = None


@attrs.frozen
class Informed:
    """The person was told how the handling proceeds (R9)."""

    TYPE: ClassVar[str] = "informed"

    text: str


@attrs.frozen
class Postponed:
    """A new promised date, with the reason (R11).  ``in_time`` records whether
    the person was told before the old date had passed."""

    TYPE: ClassVar[str] = "postponed"

    respond_by: dt.date
    previous: dt.date
    reason: str
    in_time: bool


@attrs.frozen
class Paused:
    """The clock stopped while the case waits for the person, for example for
    details that are missing.  Until :class:`Resumed` the promised date does
    not come closer and the case is never overdue."""

    TYPE: ClassVar[str] = "paused"

    reason: str


@attrs.frozen
class Resumed:
    """The clock runs again.  The promised date moved by the working days the
    clock stood still, so the handler has the time that was left (R10)."""

    TYPE: ClassVar[str] = "resumed"

    respond_by: dt.date
    previous: dt.date
    paused_days: int


@attrs.frozen
class Answered:
    """The case was answered, in writing or orally (R13)."""

    TYPE: ClassVar[str] = "answered"

    mode: AnswerMode
    text: str


@attrs.frozen
class ActionRecorded:
    """An action taken about what the feedback showed (R16)."""

    TYPE: ClassVar[str] = "action_recorded"

    text: str


@attrs.frozen
class Closed:
    """The case was closed.  ``satisfied`` is ``None`` for an anonymous case,
    whose opinion of the outcome cannot be known."""

    TYPE: ClassVar[str] = "closed"

    satisfied: bool | None


@attrs.frozen
class Escalated:
    """A person who was not satisfied took the case to the next level
    (R19–R21); it gets a new acknowledgement deadline."""

    TYPE: ClassVar[str] = "escalated"

    level: Level
    reason: str
    handler: str
    acknowledge_by: dt.date


@attrs.frozen
class PraisePassedOn:
    """Praise was passed on to the staff it concerns (R22)."""

    TYPE: ClassVar[str] = "praise_passed_on"

    recipients: tuple[str, ...]
    text: str = ""


@attrs.frozen
class MessageReceived:
    """The person wrote again about the case (a reply by e-mail, threaded
    into the case by the intake).  It changes nothing but the record: the
    handler reads it in the case's history.

    :param text: the person's new text (the quoted earlier message left out).
    :param sender: who wrote it, as the message said.
    :param message: the intake's key of the stored message (its Message-ID),
        whose raw bytes and attachments are kept.
    :param attachments: the file names of the attachments kept with it.
    """

    TYPE: ClassVar[str] = "message_received"

    text: str
    sender: str | None = None
    message: str | None = None
    attachments: tuple[str, ...] = ()


@attrs.frozen
class ResolvedAtOnce:
    """The one who received the feedback put it right at once, on the phone
    or at the counter (R14, R29): the besked, the (oral) answer and the
    closing in one step.  Counted as such in statistics.

    :param handler: who resolved it.
    :param text: what was done.
    :param satisfied: whether the person said they were satisfied; ``None``
        when they did not say.
    """

    TYPE: ClassVar[str] = "resolved_at_once"

    handler: str
    text: str
    satisfied: bool | None = True


#: The other routes a matter may also need (R3).
APPEAL = "overklagande"
FAULT_REPORT = "felanmalan"
GUIDANCE_ROUTES = (APPEAL, FAULT_REPORT)


@attrs.frozen
class Guided:
    """The person was told that another route also applies (R3): an appeal
    of an authority decision (överklagande) or a fault report (felanmälan).
    The case itself goes on as before.

    :param route: :data:`APPEAL` or :data:`FAULT_REPORT`.
    :param text: the handler's guidance: where and how.
    :param decision: for an appeal, the decision it concerns.
    :param appeal_to: for an appeal, the authority the appeal is sent to
        (the one that made the decision, which forwards it to the court).
    :param appeal_by: for an appeal, the last day it can arrive: three weeks
        after the person was told of the decision (förvaltningslagen 44 §),
        moved to the next working day when that is a Saturday, Sunday or
        holiday (lagen om beräkning av lagstadgad tid).
    """

    TYPE: ClassVar[str] = "guided"

    route: str
    text: str
    decision: str | None = None
    appeal_to: str | None = None
    appeal_by: dt.date | None = None


@attrs.frozen
class Described:
    """The handler wrote or changed the register entry's short description
    of what the case is about (OSL 5 kap. 1 §, R27).  It is public unless
    the case is secret, so it is written for the public register: no name,
    no personal details, apart from the person's own text."""

    TYPE: ClassVar[str] = "described"

    summary: str


@attrs.frozen
class SecrecyMarked:
    """A handler marked the case, or parts of it, as secret (R27).

    The marking is a warning to whoever handles a request for the document:
    the assessment under offentlighets- och sekretesslagen (OSL) is made at
    each request, and the marking says on which ground to make it.

    :param ground: the legal ground, such as ``"OSL 26 kap. 1 §"``.
    :param parts: the steps (event numbers) whose texts are secret; empty
        for the whole case: the person's text, every text written in it and
        who the person is.
    :param reason: why, for the next handler.
    """

    TYPE: ClassVar[str] = "secrecy_marked"

    ground: str
    parts: tuple[int, ...] = ()
    reason: str = ""


@attrs.frozen
class SecrecyLifted:
    """A handler lifted the secrecy marking of the whole case (R27); the
    markings of single parts stay."""

    TYPE: ClassVar[str] = "secrecy_lifted"

    reason: str


#: The kinds of treatment a flag names (R28): abusive (kränkande) and
#: threatening (hotfullt) treatment of staff.
ABUSIVE = "krankande"
THREATENING = "hotfullt"
THREAT_KINDS = (ABUSIVE, THREATENING)
#: What a flag is about: the person who gave the feedback (their contacts
#: with the kommun) or this case alone.
ABOUT_CONTACT = "kontakt"
ABOUT_CASE = "arende"
THREAT_ABOUT = (ABOUT_CONTACT, ABOUT_CASE)


def threat_key(kind: str, about: str) -> str:
    """The key a flag is known by in a case (``Case.threat_flags``), such
    as ``"hotfullt:kontakt"``."""
    return f"{kind}:{about}"


@attrs.frozen
class ThreatFlagged:
    """A member of staff flagged the person or the case for abusive or
    threatening treatment (kränkande / hotfullt bemötande, R28), and the
    förvaltning's routine decided what follows
    (``klagomal_threat_routine``).  Who flagged it and when is the event's
    own ``actor`` and ``day``.  Nothing of it ever goes to the person.

    :param kind: ``krankande`` or ``hotfullt`` (:data:`THREAT_KINDS`).
    :param about: ``kontakt`` (the person) or ``arende`` (this case).
    :param reason: what happened, for colleagues and the manager.
    :param alert_manager: the unit's chef is told (notice ``flaggning``).
    :param alert_department_head: the förvaltningschef is told.
    :param alert_users: user ids of others who are told.
    :param handler: the manager the case moved to, when the routine moved
        it; ``None`` when the handler stays.
    :param declined: channels on which staff may decline further contact
        with the person.
    :param routine: the plugin whose routine decided it.
    """

    TYPE: ClassVar[str] = "threat_flagged"

    kind: str
    about: str
    reason: str
    alert_manager: bool = True
    alert_department_head: bool = False
    alert_users: tuple[str, ...] = ()
    handler: str | None = None
    declined: tuple[str, ...] = ()
    routine: str = ""

    @property
    def key(self) -> str:
        """The flag's key in ``Case.threat_flags``."""
        return threat_key(self.kind, self.about)


@attrs.frozen
class ThreatFlagLifted:
    """A chef or a förvaltning's administrator lifted a flag for abusive
    or threatening treatment (R28), with the reason."""

    TYPE: ClassVar[str] = "threat_flag_lifted"

    kind: str
    about: str
    reason: str

    @property
    def key(self) -> str:
        """The key of the flag lifted."""
        return threat_key(self.kind, self.about)


@attrs.frozen
class NoteAdded:
    """A handler wrote an internal note (anteckning) in the case: a working
    note for those who handle the case, never sent to anyone.  Who wrote it
    and when is the event's ``actor`` and ``day``."""

    TYPE: ClassVar[str] = "note_added"

    text: str


@attrs.frozen
class AttachmentAdded:
    """A handler attached a document to the case (bilaga): a letter that
    came by post, scanned; a photo handed in at the counter.  Its bytes are
    kept as the intake keeps an e-mail's attachments, under the key
    *message* (:mod:`klagomal.cases.amendments`).

    :param filename: the file's name, without any folder.
    :param media_type: its type, such as ``"application/pdf"``.
    :param size: its size in bytes.
    :param message: the key it is stored under, ``bifogad:<reference>:<seq>``.
    """

    TYPE: ClassVar[str] = "attachment_added"

    filename: str
    media_type: str
    size: int
    message: str


@attrs.frozen
class ContactCorrected:
    """The person's contact details were corrected (rättelse, GDPR article
    16): *contact* is the whole contact from now on, *previous* the whole
    contact before, so that the history keeps the old values for those who
    may see them.  Notices from now on go to *contact*.

    :param reason: why, when the handler says (the person phoned, the
        letter came back).
    """

    TYPE: ClassVar[str] = "contact_corrected"

    previous: Contact
    contact: Contact
    reason: str = ""
    #: The language the letters are written in from now on, when it was
    #: corrected too (``None``: unchanged), and the one before.
    language: str | None = None
    previous_language: str | None = None


@attrs.frozen
class Located:
    """Where the case is about was set, corrected or removed (step
    ``locate``, :mod:`klagomal.core.location`): *location* from now on
    (``None``: removed), *previous* before, so the history keeps both.

    :param reason: why, when the handler says.
    """

    TYPE: ClassVar[str] = "located"

    location: Location | None
    previous: Location | None = None
    reason: str = ""


@attrs.frozen
class Published:
    """A handler published the answered case in the kommun's public list of
    answered cases ("Tyck till", :mod:`klagomal.records.publication`): the
    person's description and the answer, masked, as they stood that day.
    What was published is kept exactly in the table ``publications``, not
    here: the history says that and when, the table says what."""

    TYPE: ClassVar[str] = "published"


@attrs.frozen
class PublicationWithdrawn:
    """A handler withdrew the case from the public list of answered cases.

    :param reason: why.
    """

    TYPE: ClassVar[str] = "publication_withdrawn"

    reason: str


EventData = (
    Registered
    | Reclassified
    | Forwarded
    | Acknowledged
    | Informed
    | Postponed
    | Paused
    | Resumed
    | Answered
    | ActionRecorded
    | Closed
    | Escalated
    | PraisePassedOn
    | Guided
    | MessageReceived
    | ResolvedAtOnce
    | Described
    | SecrecyMarked
    | SecrecyLifted
    | Assigned
    | ThreatFlagged
    | ThreatFlagLifted
    | NoteAdded
    | AttachmentAdded
    | ContactCorrected
    | Located
    | Published
    | PublicationWithdrawn
)

#: Every payload class by its stable type id.
EVENT_TYPES: dict[str, type[EventData]] = {
    cls.TYPE: cls
    for cls in (
        Registered,
        Reclassified,
        Forwarded,
        Acknowledged,
        Informed,
        Postponed,
        Paused,
        Resumed,
        Answered,
        ActionRecorded,
        Closed,
        Escalated,
        PraisePassedOn,
        Guided,
        MessageReceived,
        ResolvedAtOnce,
        Described,
        SecrecyMarked,
        SecrecyLifted,
        Assigned,
        ThreatFlagged,
        ThreatFlagLifted,
        NoteAdded,
        AttachmentAdded,
        ContactCorrected,
        Located,
        Published,
        PublicationWithdrawn,
    )
}


# -- what each field of a payload is -----------------------------------------
# Every field that holds a text is one of three kinds, and a new payload or a
# new text in one must be given its kind here (tests/test_disposal.py checks
# that each is): a free text, which every step checks as a text (the
# lifecycle) and disposal removes; a kept value, which reports, deadlines and
# the register read; or one handled on its own (the contact and the like).

#: The free texts of each kind of event: replaced by the marker when the
#: texts go, scrubbed of contact data when only the contact goes.  Besides
#: these, ``Registered.contact`` and ``MessageReceived.sender`` are the
#: contact, ``Registered.notes`` (what the intake and plugins told the
#: handler, with the e-mail's subject line) are texts, and
#: ``MessageReceived.attachments`` are file names.
TEXT_FIELDS: dict[type[EventData], tuple[str, ...]] = {
    Registered: ("text",),
    Reclassified: ("reason",),
    Forwarded: (),
    Acknowledged: (),
    Informed: ("text",),
    Postponed: ("reason",),
    Paused: ("reason",),
    Resumed: (),
    Answered: ("text",),
    ActionRecorded: ("text",),
    Closed: (),
    Escalated: ("reason",),
    PraisePassedOn: ("text",),
    Guided: ("text", "decision"),
    MessageReceived: ("text",),
    ResolvedAtOnce: ("text",),
    Described: (),
    SecrecyMarked: ("reason",),
    SecrecyLifted: ("reason",),
    Assigned: (),
    ThreatFlagged: ("reason",),
    ThreatFlagLifted: ("reason",),
    NoteAdded: ("text",),
    AttachmentAdded: (),
    ContactCorrected: ("reason",),
    Located: ("reason",),
    Published: (),
    PublicationWithdrawn: ("reason",),
}

#: Text-valued fields that are never touched: what reports, deadlines and
#: the register read, and the kommun's own officials.
KEPT_FIELDS: dict[type[EventData], tuple[str, ...]] = {
    # The register entry (OSL 5 kap. 1 §) and the legal ground of secrecy stay.
    Registered: (
        "channel",
        "unit",
        "department",
        "dimensions",
        "handler",
        "secrecy",
        "external_id",
        "summary",
        "location",
        # The person's language (lag 2009:724) names no one once the contact is
        # gone, and the kommun counts the cases in each minority language.
        "language",
    ),
    ContactCorrected: ("language", "previous_language"),
    Forwarded: ("from_unit", "to_unit", "department", "handler", "secrecy"),
    Acknowledged: ("handler",),
    Escalated: ("handler",),
    # The staff the praise was passed on to.
    PraisePassedOn: ("recipients",),
    Guided: ("route", "appeal_to"),
    # The key that threads the message, its Message-ID.
    MessageReceived: ("message",),
    ResolvedAtOnce: ("handler",),
    Described: ("summary",),
    SecrecyMarked: ("ground",),
    Assigned: ("handler", "previous"),
    # What the flag is and what the routine decided: the staff report counts them.
    ThreatFlagged: ("kind", "about", "alert_users", "handler", "declined", "routine"),
    ThreatFlagLifted: ("kind", "about"),
    # The media type, and the key the attached document is stored under.
    AttachmentAdded: ("media_type", "message"),
    # Where the matter is (the place, not the person's): kept like the unit.
    Located: ("location", "previous"),
}

#: The fields handled on their own (the contact, the notes, a sender, file names).
OWN_FIELDS: dict[type[EventData], tuple[str, ...]] = {
    Registered: ("contact", "notes"),
    MessageReceived: ("sender", "attachments"),
    # The file name may name the person; the corrected contact is the contact.
    AttachmentAdded: ("filename",),
    ContactCorrected: ("previous", "contact"),
}


def event_label(type_id: str) -> str:
    """The Swedish display label of an event type id, such as ``"acknowledged"``."""
    labels = {
        "registered": _("Registrerat"),
        "reclassified": _("Typ ändrad"),
        "forwarded": _("Vidarebefordrat"),
        "acknowledged": _("Besked givet"),
        "informed": _("Information lämnad"),
        "postponed": _("Nytt svarsdatum"),
        "paused": _("Pausat i väntan på personen"),
        "resumed": _("Återupptaget"),
        "answered": _("Besvarat"),
        "action_recorded": _("Åtgärd registrerad"),
        "closed": _("Avslutat"),
        "escalated": _("Lyft till nästa nivå"),
        "praise_passed_on": _("Beröm vidarebefordrat"),
        "guided": _("Vägledning om annan väg"),
        "message_received": _("Meddelande från personen"),
        "resolved_at_once": _("Löst direkt"),
        "described": _("Kort beskrivning i diariet"),
        "secrecy_marked": _("Sekretessmarkerat"),
        "secrecy_lifted": _("Sekretessmarkering hävd"),
        "assigned": _("Tilldelat handläggare"),
        "threat_flagged": _("Flaggat för kränkande eller hotfullt bemötande"),
        "threat_flag_lifted": _("Flagga för kränkande eller hotfullt bemötande hävd"),
        "note_added": _("Anteckning"),
        "attachment_added": _("Bilaga tillagd"),
        "contact_corrected": _("Kontaktuppgifter rättade"),
        "located": _("Plats angiven"),
        "published": _("Publicerat i listan över besvarade ärenden"),
        "publication_withdrawn": _("Publicering återkallad"),
    }
    return labels.get(type_id, type_id)


@attrs.frozen
class Event:
    """One step in a case's history.

    :param reference: the case.
    :param seq: position in the case's history, from 1, without gaps.
    :param day: the business date the step was taken on.
    :param recorded_at: when it was stored.
    :param actor: who took the step, when known.
    :param data: what happened.
    """

    reference: str
    seq: int
    day: dt.date
    recorded_at: dt.datetime
    data: EventData
    actor: str | None = None

    @property
    def type(self) -> str:
        """The payload's stable type id, such as ``"acknowledged"``."""
        return self.data.TYPE

    @property
    def label(self) -> str:
        """The Swedish display label of the event's type."""
        return event_label(self.type)

"""What a reader may see of a case: the one place that decides (R27).

Every path that shows a case to someone goes through a :class:`Redaction`:
a user reading it in klagomal (``show``, worklists, the outbox, exports of
a person's data), a message to staff (praise passed on, an escalation to
the förvaltningschef or the nämnd, reminders), and the staff report.  It
is built for one reader and one case, and applied to the case, its
events, its notices and its received messages alike, so that a new output
path gets the same answer by asking the same object.

Two things are withheld, each for its own reason:

* **Skyddade personuppgifter.**  Who a person with protected personal data
  is (name, e-mail, phone, address, personnummer) is shown only to a user
  allowed to see it (:meth:`klagomal.records.access.AccessPolicy.sees_protected`);
  everyone else sees :data:`~klagomal.records.access.PROTECTED_PLACEHOLDER`, also
  where the address hides in a notice (``address``, a delivery error) or a
  received message (its sender, its subject and its bytes).
* **Secret texts.**  A case marked secret, wholly or step by step
  (:class:`~klagomal.core.events.SecrecyMarked`), is read in full by the staff
  whose cases it is: they handle it.  It never leaves klagomal in clear:
  a message to staff, which travels by e-mail, and the staff report, which
  goes to everyone at a unit, carry the note that information was withheld
  and on which ground, instead of the text (:data:`WITHHELD`).  The public
  register and extract (:mod:`klagomal.records.public_records`) use the same
  markings.

A marking by part names event numbers; the marking of the whole case covers
every text written in it.  Lifting the whole case's marking leaves the
markings of parts in force.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from klagomal.core.events import (
    TEXT_FIELDS,
    AttachmentAdded,
    ContactCorrected,
    Event,
    Forwarded,
    Located,
    MessageReceived,
    Registered,
    SecrecyLifted,
    SecrecyMarked,
)
from klagomal.core.i18n import _
from klagomal.records.access import PROTECTED_PLACEHOLDER, protected_stand_in

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.core.model import Case, Contact
    from klagomal.intake.records import ReceivedMessage, StoredAttachment
    from klagomal.notices.outbox import Notice

__all__ = [
    "WITHHELD",
    "Audience",
    "Markings",
    "Redaction",
    "for_statistics",
    "known_names",
    "withheld",
]

#: The note that stands where information was withheld; ``{ground}`` is the legal ground.
WITHHELD = _("Uppgifter har utelämnats med stöd av {ground}.")

#: What stands in for a protected person's received e-mail.
PROTECTED_RAW = b"X-Klagomal: skyddade personuppgifter, utelamnat\r\n\r\n"


def withheld(ground: str) -> str:
    """The note that information was withheld on *ground*."""
    return WITHHELD.format(ground=ground)


def known_names(history: Sequence[Event]) -> list[str]:
    """The names a history knows the person by, to mask wherever they
    appear: the contact's as registered and as corrected (before and
    after), and the senders of the messages they wrote to the case."""
    first = history[0].data if history else None
    names = (
        [first.contact.name] if isinstance(first, Registered) and first.contact and first.contact.name else []
    )
    names += [e.data.sender for e in history if isinstance(e.data, MessageReceived) and e.data.sender]
    names += [
        name
        for e in history
        if isinstance(e.data, ContactCorrected)
        for name in (e.data.previous.name, e.data.contact.name)
        if name
    ]
    return names


class Audience(enum.Enum):
    """Who a case is shown to."""

    READER = "reader"
    """A user reading the case in klagomal: everything in their scope, with a
    protected contact only if they may see it."""
    STAFF = "staff"
    """A message to staff or the staff report: no secret text, never who a
    protected person is."""


@attrs.frozen
class Markings:
    """The secrecy markings of one case: the whole case's ground, and the
    ground of each step marked on its own."""

    whole: str | None = None
    parts: Mapping[int, str] = attrs.field(factory=dict)

    @classmethod
    def of(cls, history: Iterable[Event]) -> Markings:
        """The markings a history holds now."""
        whole: str | None = None
        parts: dict[int, str] = {}
        for event in history:
            data = event.data
            if isinstance(data, Registered):
                whole = data.secrecy
            elif isinstance(data, SecrecyMarked):
                if data.parts:
                    parts.update(dict.fromkeys(data.parts, data.ground))
                else:
                    whole = data.ground
            elif isinstance(data, SecrecyLifted):
                whole = None
            elif isinstance(data, Forwarded) and data.secrecy:
                whole = whole or data.secrecy  # forwarded into a förvaltning whose cases are secret
        return cls(whole, parts)

    def ground(self, seq: int) -> str | None:
        """The ground on which step *seq*'s texts are secret, if they are."""
        return self.whole or self.parts.get(seq)

    @property
    def any(self) -> bool:
        """Whether anything in the case is marked."""
        return self.whole is not None or bool(self.parts)


@attrs.frozen
class Redaction:
    """What one reader may see of one case (see the module's description).

    Build it with :meth:`for_reader` or :meth:`for_staff`; apply it with
    :meth:`case`, :meth:`events`, :meth:`notices` and :meth:`received`.

    :param contact_visible: whether the reader may see who a person with
        skyddade personuppgifter is.
    :param markings: the case's secrecy markings.
    :param withhold_secret: whether secret texts are replaced by the note
        that they were withheld.
    :param protected: whether the case's person has skyddade personuppgifter.
    """

    contact_visible: bool
    markings: Markings = attrs.field(factory=Markings)
    withhold_secret: bool = False
    protected: bool = False

    @classmethod
    def for_reader(cls, case: Case, *, sees_protected: bool) -> Redaction:
        """For a user reading *case* in klagomal."""
        return cls(contact_visible=sees_protected or not case.protected, protected=case.protected)

    @classmethod
    def for_staff(cls, case: Case, history: Sequence[Event]) -> Redaction:
        """For a message to staff, or the staff report, about *case*."""
        return cls(
            contact_visible=not case.protected,
            markings=Markings.of(history),
            withhold_secret=True,
            protected=case.protected,
        )

    @property
    def hides_contact(self) -> bool:
        return self.protected and not self.contact_visible

    def ground(self, seq: int) -> str | None:
        """The ground step *seq* is withheld on for this reader, if it is."""
        return self.markings.ground(seq) if self.withhold_secret else None

    @property
    def secret(self) -> str | None:
        """The ground of a secrecy that touches what this reader is shown, if
        any: the whole case's, else the first marked step's."""
        if not self.withhold_secret:
            return None
        return self.markings.whole or next(iter(sorted(self.markings.parts.items())), (0, None))[1]

    # -- applying it ------------------------------------------------------

    def case(self, case: Case) -> Case:
        """*case* as this reader may see it.  Its text is the registration's
        (step 1): withheld when that step is secret, and then the case's
        ``secrecy`` names the ground, so that a template that asks whether
        the case is secret gets the answer that holds for this reader."""
        changes: dict[str, Any] = {}
        if self.hides_contact and case.contact is not None:
            changes["contact"] = protected_stand_in(case.contact)
        ground = self.ground(1)
        if ground is not None:
            changes["text"] = withheld(ground)
        if case.location is not None and (self.hides_contact or self.secret is not None):
            # A place can be where the protected person lives, or part of
            # what the secrecy covers: withheld with the rest.
            changes["location"] = None
        if self.secret is not None and case.secrecy is None:
            changes["secrecy"] = self.secret
        return attrs.evolve(case, **changes) if changes else case

    def event(self, event: Event) -> Event:
        """*event* as this reader may see it."""
        data = event.data
        changes: dict[str, Any] = {}
        if self.hides_contact:
            if isinstance(data, Registered) and data.contact is not None:
                changes["contact"] = protected_stand_in(data.contact)
            if isinstance(data, MessageReceived) and data.sender:
                changes["sender"] = PROTECTED_PLACEHOLDER
            if isinstance(data, ContactCorrected):
                # The old and the new values alike: both say who the person is.
                changes["previous"] = protected_stand_in(data.previous)
                changes["contact"] = protected_stand_in(data.contact)
            if isinstance(data, AttachmentAdded):
                changes["filename"] = PROTECTED_PLACEHOLDER  # a file name may name the person
        if self.hides_contact or self.secret is not None:
            # The place, as in :meth:`case`: where a protected person may
            # live, or part of what the secrecy covers.
            if isinstance(data, Registered) and data.location is not None:
                changes["location"] = None
            if isinstance(data, Located):
                changes["location"] = None
                changes["previous"] = None
        ground = self.ground(event.seq)
        if ground is not None:
            note = withheld(ground)
            for key in TEXT_FIELDS[type(data)]:
                if getattr(data, key, None):
                    changes[key] = note
            if isinstance(data, MessageReceived) and data.attachments:
                changes["attachments"] = ()
            if isinstance(data, ContactCorrected):
                changes["previous"] = _withheld_contact(data.previous, note)
                changes["contact"] = _withheld_contact(data.contact, note)
            if isinstance(data, AttachmentAdded):
                changes["filename"] = note
        return attrs.evolve(event, data=attrs.evolve(data, **changes)) if changes else event

    def events(self, events: Iterable[Event]) -> list[Event]:
        """*events* as this reader may see them."""
        return [self.event(e) for e in events]

    def notice(self, notice: Notice) -> Notice:
        """*notice* without the address of a protected person, wherever it
        is written (also in a delivery error that quotes it)."""
        if not self.hides_contact or not notice.to_person:
            return notice
        error = notice.last_error
        if error and notice.address:
            error = error.replace(notice.address, PROTECTED_PLACEHOLDER)
        return attrs.evolve(
            notice, address=PROTECTED_PLACEHOLDER if notice.address else None, last_error=error
        )

    def notices(self, notices: Iterable[Notice]) -> list[Notice]:
        """*notices* as this reader may see them."""
        return [self.notice(n) for n in notices]

    def received(self, message: ReceivedMessage) -> ReceivedMessage:
        """A received message of the case as this reader may see it."""
        if not self.hides_contact:
            return message
        return attrs.evolve(
            message,
            sender=PROTECTED_PLACEHOLDER if message.sender else None,
            subject=PROTECTED_PLACEHOLDER if message.subject else None,
            raw=PROTECTED_RAW,
            size=len(PROTECTED_RAW),
        )

    def attachment(self, attachment: StoredAttachment) -> StoredAttachment:
        """An attachment of the case's messages as this reader may see it:
        a protected person's file names may name them."""
        if not self.hides_contact:
            return attachment
        return attrs.evolve(attachment, filename=PROTECTED_PLACEHOLDER, data=None)


def _withheld_contact(contact: Contact, note: str) -> Contact:
    """What stands in for a contact correction's values where the step is
    withheld as secret: the note, and nothing that reaches the person."""
    return attrs.evolve(protected_stand_in(contact), name=note, preferred=None)


def for_statistics(case: Case) -> Case:
    """*case* as numbers are made of it, for a reader of statistics only:
    kind, channel, unit, dates, state, dimensions and the like, but no text,
    no register description and nothing of who the person is.  Whether the
    case is anonymous is still told (an empty contact is not none)."""
    from klagomal.core.model import Contact

    contact = None if case.contact is None else Contact(protected=case.protected)
    return attrs.evolve(case, text="", summary=None, contact=contact, location=None)

"""E-mail straight into the database (R4, R30): one received message becomes
a new case, a reply in its case, a machine-made message that makes no case,
or an entry in the quarantine.  Never lost.

:func:`receive_email` is what every e-mail path calls: ``klagomal intake
email|maildir|mbox`` and the SMTP/LMTP receiver ``klagomal serve-smtp``.  It
stores the raw bytes, whatever becomes of them, in the same transaction as
the case's event, so that a message is either stored with its outcome or not
stored at all (and the sender's server tries again).

* A message with a Message-ID (or, without one, the same bytes) that is
  stored already is a **duplicate**: nothing changes.
* A message whose ``In-Reply-To``/``References`` names a notice klagomal
  sent, or whose subject names an existing case, is a **reply**: a
  ``message_received`` event in that case.
* An auto-reply, a bounce or a mailing-list message is **automatic**: kept,
  makes no case.
* Anything else **registers** a new case through the ``epost`` channel, at
  the unit ``[intag] enhet`` (or the one a plugin routes to), with the
  sender as contact.
* A message that cannot be read, or that the registration refuses, goes to
  the **quarantine** with the reason, for a person to look at.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import re
from typing import TYPE_CHECKING

import attrs
from sqlalchemy.exc import IntegrityError

from klagomal import lifecycle
from klagomal.errors import InvalidInputError, KlagomalError
from klagomal.events import Event, Registered
from klagomal.i18n import _
from klagomal.intake.mailparse import MailLimits, MailParseError, ParsedMail, parse_mail
from klagomal.intake.records import ReceivedMessage, StoredAttachment
from klagomal.model import Case, Contact, Kind

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.app import Klagomal
    from klagomal.storage.base import UnitOfWork

__all__ = ["IntakeOutcome", "kind_of", "message_key", "receive_email", "release"]

_MESSAGE_ID = re.compile(r"<[^<>\s]{1,246}>")


@attrs.frozen
class IntakeOutcome:
    """What became of one received message.

    :param outcome: ``registered``, ``reply``, ``automatic``, ``quarantined``
        or ``duplicate`` (stored before; nothing changed).
    :param reference: the case it registered or was threaded into.
    :param reason: why it is in quarantine or automatic.
    """

    outcome: str
    message_key: str
    reference: str | None = None
    reason: str | None = None

    def describe(self) -> str:
        """One Swedish line for the person who runs the intake."""
        if self.outcome == "registered":
            return _("registrerat som {reference}").format(reference=self.reference)
        if self.outcome == "reply":
            return _("svar i ärende {reference}").format(reference=self.reference)
        if self.outcome == "duplicate":
            return _("redan mottaget ({reference})").format(reference=self.reference or "-")
        if self.outcome == "automatic":
            return _("automatiskt meddelande, inget ärende ({reason})").format(reason=self.reason)
        return _("i karantän: {reason}").format(reason=self.reason)


def message_key(raw: bytes, parsed: ParsedMail | None) -> str:
    """The key a message is stored under: its Message-ID, or a digest of the
    bytes when it has none (or cannot be read)."""
    if parsed is not None and parsed.message_id:
        return parsed.message_id
    if parsed is None:
        try:
            head = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw[:65536])
            found = _MESSAGE_ID.search(str(head.get("Message-ID", "")))
        except Exception:  # any header junk: fall back to the digest
            found = None
        if found:
            return found.group(0)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


_KIND_WORDS = (
    (Kind.KLAGOMAL, re.compile(r"\bklago(mål|målet)\b|\bklaga(r)?\b|\bjag är missnöjd\b", re.IGNORECASE)),
    (Kind.BEROM, re.compile(r"\bberöm(ma)?\b", re.IGNORECASE)),
    (Kind.FORSLAG, re.compile(r"\bförslag(et)?\b|\bföreslå(r)?\b", re.IGNORECASE)),
)


def kind_of(parsed: ParsedMail, default: str) -> tuple[Kind, str | None]:
    """The kind the person named in the subject or the text (R2: the person
    decides), else *default*, with a note for the handler then."""
    words = f"{parsed.subject}\n{parsed.text}"
    for kind, pattern in _KIND_WORDS:
        if pattern.search(words):
            return kind, None
    kind = Kind(default)
    note = _(
        "e-postmeddelandet säger inte om det är ett klagomål, ett förslag eller beröm; det är registrerat "
        "som {kind}: läs det och ändra typen med 'reclassify' vid behov"
    ).format(kind=kind.label.lower())
    return kind, note


def _attachments(parsed: ParsedMail) -> list[StoredAttachment]:
    """The attachments to keep: the parser has already left out what is over
    the limits, with a note (the raw message still holds them)."""
    return [StoredAttachment(a.filename, a.content_type[:100], a.size, a.data) for a in parsed.attachments]


def receive_email(
    k: Klagomal,
    raw: bytes,
    *,
    source: str = "api",
    unit: str | None = None,
    limits: MailLimits | None = None,
) -> IntakeOutcome:
    """Store one received message, exactly as received, and do with it what
    the module docstring says.  Never raises for what the message holds; a
    database failure raises (nothing is stored then, so the sender may try
    again)."""
    limits = limits or MailLimits()
    now = k._utcnow()
    try:
        parsed: ParsedMail | None = parse_mail(raw, limits)
        trouble = None
    except MailParseError as exc:
        parsed, trouble = None, exc.reason
    key = message_key(raw, parsed)

    def record(outcome: str, reason: str | None = None, reference: str | None = None) -> ReceivedMessage:
        return ReceivedMessage(
            message_key=key,
            received_at=now,
            source=source,
            outcome=outcome,
            size=len(raw),
            raw=raw,
            sender=(parsed.sender_address if parsed else None),
            subject=(parsed.subject[:400] if parsed else None),
            reason=reason,
            reference=reference,
        )

    # What a new case would be is decided before the transaction: the
    # plugins' decisions need no database, and a refusal means quarantine.
    registration: Registered | None = None
    if parsed is not None and trouble is None and not parsed.automatic:
        try:
            registration = _registration(k, parsed, unit)
        except KlagomalError as exc:
            trouble = _("registreringen gick inte: {reason}").format(reason=exc)

    def body(uow: UnitOfWork) -> tuple[IntakeOutcome, Case | None, Event | None]:
        stored = uow.received(key=key)
        if stored:
            return IntakeOutcome("duplicate", key, stored[0].reference, stored[0].reason), None, None
        if parsed is None:
            reason = trouble or _("meddelandet kunde inte läsas")
            uow.store_received(record("quarantined", reason))
            return IntakeOutcome("quarantined", key, None, reason), None, None
        if parsed.automatic:
            uow.store_received(record("automatic", parsed.automatic), _attachments(parsed))
            return IntakeOutcome("automatic", key, None, parsed.automatic), None, None
        files = _attachments(parsed)
        target = _reply_target(uow, parsed)
        if target is None and registration is None:
            reason = trouble or _("meddelandet kunde inte registreras")
            uow.store_received(record("quarantined", reason), files)
            return IntakeOutcome("quarantined", key, None, reason), None, None
        if target is not None:
            new_case, event = _thread(k, uow, target, parsed, key, files)
            uow.store_received(record("reply", "; ".join(parsed.notes) or None, target), files)
            return IntakeOutcome("reply", key, target), new_case, event
        assert registration is not None
        reference = uow.next_reference(k.clock.today().year)
        event = k._event(reference, 1, registration, None)
        new_case = k._commit(None, event, uow)  # type: ignore[arg-type]
        uow.store_received(record("registered", "; ".join(parsed.notes) or None, reference), files)
        return IntakeOutcome("registered", key, reference), new_case, event

    try:
        outcome, case, event = k._write(body)
    except IntegrityError:
        # Another receiver stored the same message meanwhile.
        return IntakeOutcome("duplicate", key)
    if case is not None and event is not None:
        k._after_commit(case, event)
    return outcome


def _thread(
    k: Klagomal, uow: UnitOfWork, target: str, parsed: ParsedMail, key: str, files: list[StoredAttachment]
) -> tuple[Case, Event]:
    """Store *parsed* as a ``message_received`` event in case *target*."""
    case = uow.get(target)
    sender = (
        f"{parsed.sender_name} <{parsed.sender_address}>" if parsed.sender_name else parsed.sender_address
    )
    data = lifecycle.receive_message(
        case,
        k._context(),
        parsed.text or _("(bara bilagor)"),
        sender,
        key,
        tuple(f.filename or f.content_type for f in files),
    )
    event = k._event(target, case.version + 1, data, None)
    return k._commit(case, event, uow), event


def _reply_target(uow: UnitOfWork, parsed: ParsedMail) -> str | None:
    """The case a message answers: a notice it replies to, else a case its
    subject names."""
    found = uow.case_of_message_ids(parsed.in_reply_to)
    if found is not None:
        return found
    for reference in parsed.references:
        if uow.exists(reference):
            return reference
    return None


def _registration(k: Klagomal, parsed: ParsedMail, unit: str | None) -> Registered:
    """The registration of a new case from *parsed*, with the plugins' decisions."""
    kind, note = kind_of(parsed, k.organisation.intake.kind)
    text = parsed.text or _("(meddelandet hade ingen text, bara bilagor: {files})").format(
        files=", ".join(a.filename or a.content_type for a in parsed.attachments)
    )
    contact, unusable = _sender_contact(parsed)
    ctx = k._context()
    intake = lifecycle.check_intake(
        ctx,
        kind=kind,
        channel="epost",
        unit=unit or k.organisation.intake.unit,
        text=text,
        received=ctx.today,
        contact=contact,
        dimensions=(),
        serious=False,
    )
    data = k.registration(intake, ctx)
    notes = [*data.notes, *([note] if note else []), *([unusable] if unusable else []), *parsed.notes]
    if parsed.subject:
        notes.insert(0, _("ämnesrad: {subject}").format(subject=parsed.subject))
    return attrs.evolve(data, notes=tuple(dict.fromkeys(notes)))


def _sender_contact(parsed: ParsedMail) -> tuple[Contact | None, str | None]:
    """The sender as the case's contact, and a note for the handler when
    the address cannot be used: a message is registered whatever its From
    says (the raw message keeps it), checked like every registration
    (:func:`klagomal.lifecycle.check_contact`)."""
    from klagomal.mail import check_person_address
    from klagomal.text_rules import CONTACT_MAX

    name, address, note = parsed.sender_name, parsed.sender_address, None
    if address:
        try:
            address = check_person_address(address)
        except InvalidInputError as exc:
            note = _("avsändarens adress kan inte användas för svar: {reason}").format(reason=exc.reason)
            address = None
    if name:
        name = name[: CONTACT_MAX["name"]]  # what is cut stays in the raw message
    return (Contact(name=name, email=address) if name or address else None), note


def release(k: Klagomal, message_id: int, *, unit: str | None = None) -> IntakeOutcome:
    """Take a quarantined message in after all, once what stopped it is put
    right: a unit to register it at (*unit*, or a corrected ``[intag]
    enhet``), a plugin that no longer refuses it.  It becomes a new case or
    a reply, exactly as if it had just arrived, and leaves the quarantine;
    its raw bytes stay as they were.  A message that still cannot be read
    or registered is refused with the reason, and nothing changes."""
    step = "release"
    found = k.received_messages(ids=[message_id], with_raw=True)
    if not found or found[0].outcome != "quarantined":
        raise InvalidInputError(_("meddelande {id} finns inte i karantänen").format(id=message_id), step=step)
    stored = found[0]
    try:
        parsed = parse_mail(stored.raw)
    except MailParseError as exc:
        raise InvalidInputError(
            _("meddelande {id} kan fortfarande inte läsas: {reason}").format(
                id=message_id, reason=exc.reason
            ),
            step=step,
        ) from None
    files = _attachments(parsed)

    def body(uow: UnitOfWork) -> tuple[IntakeOutcome, Case, Event]:
        target = _reply_target(uow, parsed)
        if target is not None:
            new_case, event = _thread(k, uow, target, parsed, stored.message_key, files)
            outcome = "reply"
        else:
            if registration is None:  # pragma: no cover - the case it replied to vanished meanwhile
                raise InvalidInputError(
                    _("meddelande {id} kan inte registreras").format(id=message_id), step=step
                )
            data = registration
            target = uow.next_reference(k.clock.today().year)
            event = k._event(target, 1, data, None)
            new_case = k._commit(None, event, uow)  # type: ignore[arg-type]
            outcome = "registered"
        if not uow.release_received(message_id, outcome, target, _("släppt ur karantänen"), files):
            raise InvalidInputError(
                _("meddelande {id} har redan släppts ur karantänen").format(id=message_id), step=step
            )
        return IntakeOutcome(outcome, stored.message_key, target), new_case, event

    registration: Registered | None = None
    with k._transaction() as uow:
        replying = _reply_target(uow, parsed) is not None
    if not replying:
        try:
            registration = _registration(k, parsed, unit)
        except KlagomalError as exc:
            raise InvalidInputError(
                _("meddelande {id} kan fortfarande inte registreras: {reason}").format(
                    id=message_id, reason=exc
                ),
                step=step,
            ) from None
    outcome, case, event = k._write(body)
    k._after_commit(case, event)
    return outcome

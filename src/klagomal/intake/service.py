"""E-mail straight into the database (R4, R30): one received message becomes
a new case, a reply in its case, a machine-made message that makes no case,
or an entry in the quarantine.  Never lost.

:func:`receive_email` is what every e-mail path calls: ``klagomal intake
email|maildir|mbox`` and the SMTP/LMTP receiver ``klagomal serve-smtp``.  It
stores the raw bytes, whatever becomes of them, in the same transaction as
the case's event, so that a message is either stored with its outcome or not
stored at all (and the sender's server tries again).

* A message with the same bytes as one stored already is a **duplicate**:
  nothing changes.  A message with the Message-ID of a stored one but other
  bytes is a message of its own: stored under the digest of its bytes, with
  a note that the Message-ID was seen before.
* A message that **claims** a case, because its ``In-Reply-To``/``References``
  names a notice klagomal sent about it or its subject names its reference,
  is a **reply**, a ``message_received`` event in that case, when its sender
  is one of the case's correspondents: the contact, someone whose message
  was taken into the case before, or an address one of its notices went to.
  From anyone else it goes to the **quarantine**, with a reason naming the
  case, and a handler of that case takes it in with :func:`release`.  (A
  reference is no secret and klagomal's Message-IDs can be guessed from it,
  so naming a case proves nothing about who writes.)
* An auto-reply, a bounce or a mailing-list message is **automatic**: kept,
  makes no case, and is never answered.  So is a message from the
  kommun's own addresses (``[utskick] avsandare`` and ``svarsadress``, the
  IMAP mailboxes' logins): one of klagomal's own notices come back, which
  as a case would be answered, come back again, and loop.
* Anything else **registers** a new case through the ``epost`` channel, at
  the unit ``[intag] enhet`` (or the one a plugin routes to), with the
  sender as contact.
* A message that cannot be read, or that the registration refuses, goes to
  the **quarantine** with the reason, for a person to look at.
* A message from the kommun's own staff (an address in ``[intag] domaner``)
  that **forwards** someone else's e-mail stands for that e-mail: its
  sender is the contact (or the correspondent of a reply), its text the
  case's text, and a note names who forwarded it and what they wrote
  above it (:func:`forwarded`).  The message is stored under its real
  sender, the forwarder.
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs
from sqlalchemy.exc import IntegrityError

from klagomal.cases import lifecycle
from klagomal.core.errors import CaseNotFoundError, InvalidInputError, KlagomalError
from klagomal.core.events import Event, MessageReceived, Registered
from klagomal.core.i18n import _
from klagomal.core.model import Case, Contact, Kind
from klagomal.intake.mailparse import MailLimits, MailParseError, ParsedMail, parse_mail, readable_headers
from klagomal.intake.records import ReceivedMessage, StoredAttachment
from klagomal.notices.notifiers import EMAIL
from klagomal.records.access import Operation

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.app import Klagomal
    from klagomal.storage.base import UnitOfWork

__all__ = [
    "IntakeOutcome",
    "digest_key",
    "dismiss",
    "forwarded",
    "kind_of",
    "message_key",
    "receive_email",
    "release",
]

_MESSAGE_ID = re.compile(r"<[^<>\s]{1,246}>")


@attrs.frozen
class IntakeOutcome:
    """What became of one received message.

    :param outcome: ``registered``, ``reply``, ``automatic``, ``quarantined``
        or ``duplicate`` (stored before; nothing changed but a line in the
        intake log, :mod:`klagomal.intake.log`).
    :param reference: the case it registered or was threaded into.
    :param reason: why it is in quarantine or automatic; for a new case or a
        reply, a note for the one who runs the intake (its Message-ID was
        seen before with other content), else ``None``.
    """

    outcome: str
    message_key: str
    reference: str | None = None
    reason: str | None = None
    source_file: str | None = None
    """The file the message was read from, as the caller named it (``None``: SMTP, the library)."""

    def describe(self) -> str:
        """One Swedish line for the person who runs the intake."""
        if self.outcome in ("registered", "reply"):
            if self.outcome == "registered":
                line = _("registrerat som {reference}").format(reference=self.reference)
            else:
                line = _("svar i ärende {reference}").format(reference=self.reference)
            return f"{line} ({self.reason})" if self.reason else line
        if self.outcome == "duplicate":
            return _("redan mottaget ({reference})").format(reference=self.reference or "-")
        if self.outcome == "automatic":
            return _("automatiskt meddelande, inget ärende ({reason})").format(reason=self.reason)
        return _("i karantän: {reason}").format(reason=self.reason)


def message_key(raw: bytes, parsed: ParsedMail | None) -> str:
    """The key a message is first looked up and stored under: its Message-ID,
    or the digest of its bytes (:func:`digest_key`) when it has none.  A
    message whose Message-ID is stored already with other bytes is stored
    under its digest instead (:func:`receive_email`)."""
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
    return digest_key(raw)


def digest_key(raw: bytes) -> str:
    """``sha256:<hex>``: the key of these bytes, whatever their headers say."""
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
    the limits, with a note (the raw message still holds them).  A picture
    is kept without its metadata (EXIF: where, when, with what), and one
    whose metadata cannot be removed is left out like what is over the
    limits (:mod:`klagomal.core.photos`)."""
    from klagomal.core.photos import cleaned_image

    kept = []
    for a in parsed.attachments:
        data = cleaned_image(a.content_type, a.data)
        if data is not None:
            kept.append(StoredAttachment(a.filename, a.content_type[:100], len(data), data))
    return kept


#: How often a message is tried again when another receiver stored a message
#: under the same key between our look-up and our insert.
_STORE_ATTEMPTS = 3


#: The reason stored for a message from one of the kommun's own addresses.
OWN_ADDRESS = "own-address"


def own_addresses(k: Klagomal) -> frozenset[str]:
    """The kommun's own addresses, lower-cased: what notices are sent from
    and answered to (``[utskick] avsandare``, ``svarsadress``) and the
    IMAP mailboxes read (``[[intag.imap]] anvandare``, where it is one)."""
    organisation = k.organisation
    values = (
        organisation.delivery.sender,
        organisation.delivery.reply_to,
        *(mailbox.user for mailbox in organisation.intake.imap),
    )
    found = (email.utils.parseaddr(value)[1].lower() for value in values if value)
    return frozenset(address for address in found if "@" in address)


def receive_email(
    k: Klagomal,
    raw: bytes,
    *,
    source: str = "api",
    unit: str | None = None,
    limits: MailLimits | None = None,
    source_file: str | None = None,
) -> IntakeOutcome:
    """Store one received message, exactly as received, and do with it what
    the module docstring says.  Never raises for what the message holds; a
    database failure raises (nothing is stored then, so the sender may try
    again).  *source_file* names the file the message was read from, if
    any: it is stored with the message and shown in the intake log."""
    limits = limits or MailLimits()
    if source_file is not None:
        source_file = source_file[:_SOURCE_FILE_CHARS]
    now = k._utcnow()
    try:
        parsed: ParsedMail | None = parse_mail(raw, limits)
        trouble = None
    except MailParseError as exc:
        parsed, trouble = None, exc.reason
    first_key = message_key(raw, parsed)
    # The message's real sender, stored with it even when a forward stands for another's e-mail.
    real_sender = parsed.sender_address if parsed is not None else None
    # Of a message that cannot be parsed, what can be read of its From and Subject.
    unread_sender, unread_subject = readable_headers(raw) if parsed is None else (None, None)
    if parsed is not None and not parsed.automatic and (real_sender or "").lower() in own_addresses(k):
        # A loop guard: whatever it says, it is not a person writing.
        parsed = attrs.evolve(parsed, automatic=OWN_ADDRESS)
    if parsed is not None:
        parsed = forwarded(k, parsed)

    # What a new case would be is decided before the transaction: the
    # plugins' decisions need no database, and a refusal means quarantine.
    registration: Registered | None = None
    if parsed is not None and trouble is None and not parsed.automatic:
        try:
            registration = _registration(k, parsed, unit)
        except KlagomalError as exc:
            trouble = _("registreringen gick inte: {reason}").format(reason=exc)

    def body(uow: UnitOfWork) -> tuple[IntakeOutcome, Case | None, Event | None]:
        key, note = first_key, None
        stored = uow.received(key=key, with_raw=True)
        if stored:
            if stored[0].raw == raw:
                uow.store_duplicate(stored[0].id or 0, now, source, source_file)
                return IntakeOutcome("duplicate", key, stored[0].reference, stored[0].reason), None, None
            # The same Message-ID, other bytes: whatever the sender's software
            # (or someone else) put in the header, this is a message of its own.
            key = digest_key(raw)
            again = uow.received(key=key)
            if again:
                uow.store_duplicate(again[0].id or 0, now, source, source_file)
                return IntakeOutcome("duplicate", key, again[0].reference, again[0].reason), None, None
            note = _(
                "Message-ID {message_id} har tagits emot förut med annat innehåll, som meddelande {id}; "
                "det här är ett eget meddelande"
            ).format(message_id=first_key, id=stored[0].id)

        def store(
            outcome: str,
            reason: str | None,
            reference: str | None = None,
            files: Sequence[StoredAttachment] = (),
        ) -> str | None:
            """Store the message with *outcome*; the reason as stored (with the note)."""
            reason = "; ".join(part for part in (reason, note) if part) or None
            uow.store_received(
                ReceivedMessage(
                    message_key=key,
                    received_at=now,
                    source=source,
                    outcome=outcome,
                    size=len(raw),
                    raw=raw,
                    sender=real_sender or unread_sender,
                    subject=parsed.subject[:400] if parsed else (unread_subject or "")[:400] or None,
                    reason=reason,
                    reference=reference,
                    source_file=source_file,
                ),
                files,
            )
            return reason

        if parsed is None:
            reason = store("quarantined", trouble or _("meddelandet kunde inte läsas"))
            return IntakeOutcome("quarantined", key, None, reason), None, None
        if parsed.automatic:
            reason = store("automatic", parsed.automatic, None, _attachments(parsed))
            return IntakeOutcome("automatic", key, None, reason), None, None
        files = _attachments(parsed)
        notes = "; ".join(parsed.notes) or None
        claims = _claims(uow, parsed)
        case = _verified(uow, claims, parsed.sender_address)
        if case is None and claims:
            reason = store("quarantined", _unverified(claims, parsed), None, files)
            return IntakeOutcome("quarantined", key, None, reason), None, None
        if case is not None:
            new_case, event = _thread(k, uow, case, parsed, key, files)
            store("reply", notes, case.reference, files)
            return IntakeOutcome("reply", key, case.reference, note), new_case, event
        if registration is None:
            reason = store("quarantined", trouble or _("meddelandet kunde inte registreras"), None, files)
            return IntakeOutcome("quarantined", key, None, reason), None, None
        data = registration if note is None else attrs.evolve(registration, notes=(*registration.notes, note))
        reference = uow.next_reference(k.clock.today().year)
        event = k._event(reference, 1, data, None)
        new_case = k._commit(None, event, uow)  # type: ignore[arg-type]
        store("registered", notes, reference, files)
        return IntakeOutcome("registered", key, reference, note), new_case, event

    for attempt in range(_STORE_ATTEMPTS):
        try:
            outcome, case, event = k._write(body)
            break
        except IntegrityError:
            # Another receiver stored a message under the same key meanwhile:
            # look again, now that it is there (the same bytes are then a
            # duplicate; other bytes are stored under their own digest).
            if attempt == _STORE_ATTEMPTS - 1:
                raise
    if case is not None and event is not None:
        k._after_commit(case, event)
    return attrs.evolve(outcome, source_file=source_file)


#: The longest file name stored with a message (the column's length).
_SOURCE_FILE_CHARS = 1000


@attrs.frozen
class _Claim:
    """A case a message says it belongs to: *by_notice* when its
    ``In-Reply-To``/``References`` names a notice of the case, else its
    subject names the reference."""

    reference: str
    by_notice: bool


#: How many references in a subject are looked up: enough for any person's
#: subject line, and a bound on the work a subject full of them makes.
_MAX_NAMED = 10


def _claims(uow: UnitOfWork, parsed: ParsedMail) -> list[_Claim]:
    """The existing cases *parsed* claims to belong to, a notice it replies to first."""
    claims: list[_Claim] = []
    found = uow.case_of_message_ids(parsed.in_reply_to)
    if found is not None:
        claims.append(_Claim(found, by_notice=True))
    for reference in parsed.references[:_MAX_NAMED]:
        if reference != found and uow.exists(reference):
            claims.append(_Claim(reference, by_notice=False))
    return claims


def _address(value: str | None) -> str | None:
    """An e-mail address as compared: the bare address, NFC, case-folded."""
    if not value:
        return None
    bare = email.utils.parseaddr(value)[1] or value
    return unicodedata.normalize("NFC", bare).strip().casefold() or None


def _is_correspondent(uow: UnitOfWork, case: Case, address: str) -> bool:
    """Whether *address* may write into *case*: its contact's, a sender of a
    message taken into it (registered from, threaded or released into it),
    or an address one of its e-mail notices went to.  Cheapest first, and
    only through the case's own indexed rows (its events, its notices)."""
    if case.contact is not None and _address(case.contact.email) == address:
        return True
    for event in uow.history(case.reference):
        data = event.data
        if isinstance(data, MessageReceived):
            known = data.sender
        elif isinstance(data, Registered):
            known = data.contact.email if data.contact is not None else None
        else:
            continue
        if _address(known) == address:
            return True
    return any(_address(n.address) == address for n in uow.outbox(reference=case.reference, ways=[EMAIL]))


def _verified(uow: UnitOfWork, claims: Sequence[_Claim], sender: str | None) -> Case | None:
    """The first claimed case *sender* is a correspondent of."""
    address = _address(sender)
    if address is None:
        return None
    for claim in claims:
        case = uow.get(claim.reference)
        if _is_correspondent(uow, case, address):
            return case
    return None


def _unverified(claims: Sequence[_Claim], parsed: ParsedMail) -> str:
    """Why a message that claims a case was not taken into it: the case and
    the reason, never the case's contact (it may be protected)."""
    named = ", ".join(c.reference for c in claims if not c.by_notice)
    claim = _("ämnesraden nämner ärende {references}").format(references=named) if named else ""
    if claims[0].by_notice:
        replied = _("meddelandet svarar på ett besked i ärende {reference}").format(
            reference=claims[0].reference
        )
        claim = _("{replied}, och {named}").format(replied=replied, named=claim) if claim else replied
    if parsed.sender_address is None:
        why = _("men det har ingen avsändaradress")
    else:
        why = _("men avsändaren är inte ärendets kontaktperson och har inte skrivit i det förut")
    return _(
        "{claim}, {why}: det har inte lagts till i ärendet (hör det dit tar 'klagomal intake release' "
        "in det; '--new' gör ett nytt ärende av det)"
    ).format(claim=claim, why=why)


def _thread(
    k: Klagomal, uow: UnitOfWork, case: Case, parsed: ParsedMail, key: str, files: Sequence[StoredAttachment]
) -> tuple[Case, Event]:
    """Store *parsed* as a ``message_received`` event in *case*."""
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
    event = k._event(case.reference, case.version + 1, data, None)
    return k._commit(case, event, uow), event


#: How much of the forwarder's own text a note keeps (the raw message keeps it all).
_COMMENT_CHARS = 2000


def forwarded(k: Klagomal, parsed: ParsedMail) -> ParsedMail:
    """*parsed* as the e-mail it forwards, when a member of staff (an address
    in ``[intag] domaner``) forwarded someone else's e-mail to the intake:
    the original's sender, subject and text, with a note naming the
    forwarder and quoting what they wrote above it.  When the original's
    sender cannot be read, *parsed* as it is (nothing is lost) with a note
    saying so.  Any other message is returned unchanged."""
    original = parsed.forward
    if original is None or not k.organisation.intake.is_kommun_address(parsed.sender_address):
        return parsed
    forwarder = (
        f"{parsed.sender_name} <{parsed.sender_address}>" if parsed.sender_name else parsed.sender_address
    )
    if original.sender_address is None:
        note = _(
            "vidarebefordrat av {forwarder}, men avsändaren av det vidarebefordrade meddelandet kunde inte "
            "hittas: meddelandet är registrerat som det kom, och kontaktuppgifterna behöver rättas för hand"
        ).format(forwarder=forwarder)
        return attrs.evolve(parsed, notes=(note, *parsed.notes))
    notes = [_("vidarebefordrat av {forwarder}").format(forwarder=forwarder)]
    if original.comment:
        comment = original.comment
        if len(comment) > _COMMENT_CHARS:
            comment = comment[:_COMMENT_CHARS].rstrip() + " …"
        notes.append(_("{forwarder} skrev: {comment}").format(forwarder=forwarder, comment=comment))
    return attrs.evolve(
        parsed,
        sender_name=original.sender_name,
        sender_address=original.sender_address,
        subject=original.subject or parsed.subject,
        text=original.text,
        notes=(*notes, *parsed.notes),
    )


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
    (:func:`klagomal.cases.lifecycle.check_contact`)."""
    from klagomal.core.text_rules import CONTACT_MAX
    from klagomal.notices.mail import check_person_address

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


def release(
    k: Klagomal,
    message_id: int,
    *,
    unit: str | None = None,
    into: str | None = None,
    new: bool = False,
) -> IntakeOutcome:
    """Take a quarantined message in after all, once a person has looked at
    it: into the case *into*; with *new*, as a new case (at *unit*, or
    ``[intag] enhet``); else into the case it claims (a notice it replies
    to, a reference in its subject), or as a new case when it claims none.
    Putting it into a case is a step in that case, for a user who may
    handle it; a denial is written to the audit log.  It leaves the
    quarantine, and its sender is one of the case's correspondents from
    then on; its raw bytes stay as they were.  A message that still cannot
    be read or registered is refused with the reason, and nothing changes."""
    step = "release"
    if into is not None and new:
        raise InvalidInputError(
            _("ange antingen ärendet meddelandet ska läggas i eller att det ska bli ett nytt ärende"),
            step=step,
        )
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
    parsed = forwarded(k, parsed)
    files = _attachments(parsed)
    if into is None and not new:
        with k._transaction() as uow:
            claims = _claims(uow, parsed)
        into = claims[0].reference if claims else None
    if into is not None and unit is not None:
        raise InvalidInputError(
            _(
                "meddelande {id} läggs i ärende {reference}, och en enhet (--unit) gäller bara ett nytt "
                "ärende (--new)"
            ).format(id=message_id, reference=into),
            step=step,
            reference=into,
        )

    def moved(uow: UnitOfWork, outcome: str, reference: str) -> None:
        if not uow.release_received(message_id, outcome, reference, _("släppt ur karantänen"), files):
            raise InvalidInputError(
                _("meddelande {id} har redan släppts ur karantänen").format(id=message_id), step=step
            )

    if into is not None:
        target = into

        def into_case(uow: UnitOfWork) -> tuple[IntakeOutcome, Case, Event]:
            try:
                case = uow.get(target)
            except CaseNotFoundError:
                raise CaseNotFoundError(target, step) from None
            k._check(Operation.HANDLE, case)
            new_case, event = _thread(k, uow, case, parsed, stored.message_key, files)
            moved(uow, "reply", target)
            return IntakeOutcome("reply", stored.message_key, target), new_case, event

        with k._denials(Operation.HANDLE):
            outcome, case, event = k._write(into_case)
    else:
        try:
            registration = _registration(k, parsed, unit)
        except KlagomalError as exc:
            raise InvalidInputError(
                _("meddelande {id} kan fortfarande inte registreras: {reason}").format(
                    id=message_id, reason=exc
                ),
                step=step,
            ) from None

        def as_new_case(uow: UnitOfWork) -> tuple[IntakeOutcome, Case, Event]:
            reference = uow.next_reference(k.clock.today().year)
            event = k._event(reference, 1, registration, None)
            new_case = k._commit(None, event, uow)  # type: ignore[arg-type]
            moved(uow, "registered", reference)
            return IntakeOutcome("registered", stored.message_key, reference), new_case, event

        outcome, case, event = k._write(as_new_case)
    k._after_commit(case, event)
    return attrs.evolve(outcome, source_file=stored.source_file)


#: The longest reason for taking a message out of the quarantine as no case.
DISMISSAL_REASON_CHARS = 1000


def dismiss(k: Klagomal, message_id: int, reason: str) -> IntakeOutcome:
    """Take a quarantined message out of the quarantine as no case (spam, a
    message meant for someone else), once a person has looked at it, with
    the *reason* they give.  Nothing is deleted: the message keeps its raw
    bytes and its quarantine reason, its outcome becomes ``dismissed`` and
    the reason is added to it; the audit log names who did it, when, and
    which message (R27).  A message no longer in the quarantine, or an empty reason, is
    refused, and nothing changes."""
    step = "dismiss"
    why = " ".join(reason.split())
    if not why:
        raise InvalidInputError(
            _("ange varför meddelande {id} inte är något ärende").format(id=message_id), step=step
        )
    if len(why) > DISMISSAL_REASON_CHARS:
        raise InvalidInputError(
            _("skälet för meddelande {id} är för långt: högst {n} tecken").format(
                id=message_id, n=DISMISSAL_REASON_CHARS
            ),
            step=step,
        )
    k._allowed(Operation.REGISTER)
    found = k.received_messages(ids=[message_id])
    if not found or found[0].outcome != "quarantined":
        raise InvalidInputError(_("meddelande {id} finns inte i karantänen").format(id=message_id), step=step)
    stored = found[0]
    kept = "; ".join(
        part for part in (stored.reason, _("inte något ärende: {reason}").format(reason=why)) if part
    )

    def body(uow: UnitOfWork) -> IntakeOutcome:
        if not uow.release_received(message_id, "dismissed", None, kept, ()):
            raise InvalidInputError(
                _("meddelande {id} har redan tagits ur karantänen").format(id=message_id), step=step
            )
        # The reason is kept with the message, not here: staff write it, and
        # an audit entry's detail never holds what may be personal data.
        k._ctx.audit(uow, Operation.REGISTER, [None], f"quarantine: message {message_id} is no case")
        return IntakeOutcome("dismissed", stored.message_key, None, kept, stored.source_file)

    return k._write(body)

"""What is added to a case's file without moving it along the routine:
internal notes (anteckningar), attached documents (bilagor) and corrected
contact details (rättelse).

Each is a decide function like those of :mod:`klagomal.cases.lifecycle`
(pure: the case and the day in, the event payload out, or a Swedish
error naming the case, the step and the reason), and each is allowed in
every state, a closed case too:

* a **note** records what the handler learnt or did (the person phoned
  after the case was closed), for those who handle the case; it is sent to
  nobody;
* an **attachment** is a document that came in another way than by e-mail
  (a letter by post, scanned; a photo handed in at the counter), and what
  arrives is kept whatever the state, as the intake keeps a late reply;
* a **correction** of the contact is the person's right also after the
  case is closed (GDPR article 16): the old values stay in the history
  for those who may see them, and notices from then on go to the new ones.

The document itself is stored as the intake stores an e-mail's
attachments (the tables ``received_messages`` and ``attachments``), as a
received item of its own with the source :data:`SOURCE` and the outcome
:data:`OUTCOME`: :func:`document_key` names it, and the event carries the
key, as a reply's event carries its message's.  So listing a case's files,
exporting and importing them, and disposal's dropping of their bytes need
nothing new.  The limits are the intake's
(:attr:`~klagomal.intake.mailparse.MailLimits.max_attachment_bytes`), and
the types those of documents and pictures (:data:`ATTACHABLE_TYPES`).
A picture is kept without its metadata (EXIF: where, when, with what;
:mod:`klagomal.core.photos`), and one whose metadata cannot be removed
(HEIC/HEIF, TIFF) is refused.

A case's location (``locate``, :mod:`klagomal.core.location`) is set and
corrected here too: where the matter is, in any state.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import re
from collections.abc import Mapping
from typing import Any

import attrs

from klagomal.cases.step_texts import check_contact, check_step_texts, required_text
from klagomal.core.errors import InvalidInputError, InvalidPersonNumberError, InvalidStepError
from klagomal.core.events import AttachmentAdded, ContactCorrected, Located, NoteAdded
from klagomal.core.formats import file_size
from klagomal.core.i18n import _
from klagomal.core.identity_numbers import parse_person_number
from klagomal.core.languages import check_language
from klagomal.core.location import Location
from klagomal.core.model import Case
from klagomal.core.photos import ImageRefused, clean_image, heif_refused, image_type, is_heif
from klagomal.core.text_rules import check_text

__all__ = [
    "ATTACHABLE_TYPES",
    "CONTACT_FIELDS",
    "NOTE_MAX",
    "OUTCOME",
    "SOURCE",
    "Document",
    "add_note",
    "attach",
    "check_document",
    "correct_contact",
    "correction_lines",
    "corrections",
    "document_key",
    "locate",
    "max_document_bytes",
]

#: The longest note: a working note, not a document (attach one instead).
NOTE_MAX = 10_000

#: The source and outcome an attached document is stored with among the
#: received messages.
SOURCE = "bifogad"
OUTCOME = "attached"

#: The types a handler may attach: documents and pictures.  The intake
#: keeps whatever an e-mail carries (it cannot refuse what was sent); a
#: handler chooses what to attach, so programs and archives are refused.
ATTACHABLE_TYPES: Mapping[str, str] = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WebP",
    "text/plain": _("text"),
    "text/csv": "CSV",
    "message/rfc822": _("e-postmeddelande"),
    "application/rtf": "RTF",
    "application/msword": "Word",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.ms-excel": "Excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
    "application/vnd.oasis.opendocument.text": "OpenDocument",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument",
}

#: What the first bytes of a file of these types are; a file that claims
#: the type and starts otherwise is not what it says.
_SIGNATURES: Mapping[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
}

#: The beginnings of programs, refused whatever type they claim.
_PROGRAMS = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe")

#: The longest file name kept (the column's length).
_FILENAME_MAX = 255


def max_document_bytes() -> int:
    """The largest document a handler may attach: the intake's limit for one attachment."""
    # Imported here: the mail parser is intake's, and a handler's ``show``
    # or ``list --mine`` has no use for it (issue 19, item 11).
    from klagomal.intake.mailparse import MailLimits

    return MailLimits().max_attachment_bytes


def document_key(reference: str, seq: int) -> str:
    """The key the document attached by step *seq* of *reference* is stored under."""
    return f"{SOURCE}:{reference}:{seq}"


@attrs.frozen
class Document:
    """A document to attach, checked: its name, type and bytes."""

    filename: str
    media_type: str
    data: bytes


def check_document(
    filename: str, data: bytes, media_type: str | None = None, reference: str | None = None
) -> Document:
    """*filename* and *data* as a document a handler may attach: a name
    without folders, one line; not empty and within the intake's limit;
    one of :data:`ATTACHABLE_TYPES` (as given, or guessed from the name);
    and bytes that are what the type says and no program.

    :raises InvalidInputError: naming the step ``attach``, *reference* and the reason.
    """
    step = "attach"

    def refuse(reason: str) -> InvalidInputError:
        return InvalidInputError(reason, step=step, reference=reference)

    name = re.split(r"[\\/]", filename or "")[-1].strip()
    if not name:
        raise refuse(_("filnamnet saknas"))
    name = check_text(
        name, step=step, field=_("filnamnet"), reference=reference, multiline=False, max_length=None
    )
    if len(name) > _FILENAME_MAX:
        raise refuse(_("filnamnet är längre än {n} tecken").format(n=_FILENAME_MAX))
    if not data:
        raise refuse(_("filen {name} är tom").format(name=name))
    limit = max_document_bytes()
    if len(data) > limit:
        raise refuse(
            _(
                "filen {name} är för stor: {size}, högst {limit} (samma gräns som för bilagor i e-post)"
            ).format(name=name, size=file_size(len(data)), limit=file_size(limit))
        )
    kind = (media_type or mimetypes.guess_type(name, strict=False)[0] or "").strip().lower()
    if is_heif(kind) or is_heif(image_type(None, data) or ""):
        # An iPhone's photo, whatever its name says: a reason of its own (klagomal.core.photos).
        raise refuse(_("bilden {name} kan inte bifogas: {reason}").format(name=name, reason=heif_refused()))
    if kind not in ATTACHABLE_TYPES:
        allowed = ", ".join(sorted(dict.fromkeys(ATTACHABLE_TYPES.values())))
        raise refuse(
            _("filen {name} har typen {kind}, som inte kan bifogas (tillåtna: {allowed})").format(
                name=name, kind=kind or _("okänd"), allowed=allowed
            )
        )
    if data.startswith(_PROGRAMS):
        raise refuse(_("filen {name} är ett program och kan inte bifogas").format(name=name))
    signatures = _SIGNATURES.get(kind)
    if signatures is not None and not data.startswith(signatures):
        raise refuse(
            _("filen {name} är inte en {kind}-fil, fast namnet eller typen säger det").format(
                name=name, kind=ATTACHABLE_TYPES[kind]
            )
        )
    image = image_type(kind, data)
    if image is not None:
        # A photo is kept without its metadata: where, when, with what (klagomal.core.photos).
        try:
            data = clean_image(data, image)
        except ImageRefused as exc:
            raise refuse(
                _("bilden {name} kan inte bifogas: {reason}").format(name=name, reason=exc)
            ) from None
    return Document(filename=name, media_type=kind, data=data)


def add_note(case: Case, text: str) -> NoteAdded:
    """An internal note in *case*, in any state."""
    step = "note"
    text = required_text(text, step, _("anteckningen"), case.reference, max_length=NOTE_MAX)
    return check_step_texts(NoteAdded(text=text), step, case.reference)


def attach(case: Case, document: Document) -> AttachmentAdded:
    """The attachment of a checked *document* to *case*, in any state; it is
    stored under :func:`document_key` of the step."""
    data = AttachmentAdded(
        filename=document.filename,
        media_type=document.media_type,
        size=len(document.data),
        message=document_key(case.reference, case.version + 1),
    )
    return check_step_texts(data, "attach", case.reference)


def locate(case: Case, location: Location | None, reason: str = "") -> Located:
    """Set, correct or (with ``None``) remove where *case* is about, in any
    state; *location* is checked (:func:`klagomal.core.location.check_location`).
    Refused when nothing changes."""
    step = "locate"
    if location == case.location:
        raise InvalidStepError(
            case.reference,
            case.state.value,
            step,
            _("ärendet har ingen plats att ta bort")
            if location is None
            else _("ärendet har redan den platsen"),
        )
    reason = reason.strip()
    if reason:
        reason = required_text(reason, step, _("skälet"), case.reference)
    return check_step_texts(
        Located(location=location, previous=case.location, reason=reason), step, case.reference
    )


#: The contact fields a correction may change, with how an error names each.
CONTACT_FIELDS: Mapping[str, str] = {
    "name": _("namnet"),
    "email": _("e-postadressen"),
    "phone": _("telefonnumret"),
    "address": _("postadressen"),
    "preferred": _("kontaktsättet"),
    "personnummer": _("personnumret"),
    "protected": _("skyddade personuppgifter"),
}


def correct_contact(
    case: Case, today: dt.date, changes: Mapping[str, Any], reason: str = ""
) -> ContactCorrected:
    """The correction of *case*'s contact by *changes* (field: new value; an
    empty text removes the value), in any state (GDPR article 16).

    *today* is the business date a personnummer is checked against.
    Refused for an anonymous case (there is no contact to correct: it
    stays anonymous), for unknown fields, when nothing changes, and when
    the contact would hold nothing to reach or name the person by."""
    step = "correct-contact"

    def refuse(reason: str) -> InvalidStepError:
        return InvalidStepError(case.reference, case.state.value, step, reason)

    if case.contact is None:
        raise refuse(_("ärendet är anonymt; det finns inga kontaktuppgifter att rätta"))
    changes = dict(changes)
    language = changes.pop("language", None)
    if language is not None:
        language = check_language(str(language), step=step, reference=case.reference)
        if language == case.language:
            language = None
    unknown = [name for name in changes if name not in CONTACT_FIELDS]
    if unknown:
        raise InvalidInputError(
            _("okänt fält '{field}' (giltiga: {valid})").format(
                field=unknown[0], valid=", ".join((*CONTACT_FIELDS, "language"))
            ),
            step=step,
            reference=case.reference,
        )
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "protected":
            values[name] = bool(value)
        elif value is not None:
            values[name] = value.strip() or None if isinstance(value, str) else value
    previous = case.contact
    contact = check_contact(attrs.evolve(previous, **values), step, case.reference)
    if contact.personnummer is not None and contact.personnummer != previous.personnummer:
        try:
            number = parse_person_number(contact.personnummer, today=today)
        except InvalidInputError as exc:
            raise InvalidPersonNumberError(
                _("personnumret är ogiltigt: {reason}").format(reason=exc.reason),
                step=step,
                reference=case.reference,
            ) from None
        contact = attrs.evolve(contact, personnummer=number.digits)
    if contact.preferred is not None:
        needs = {"epost": contact.email, "brev": contact.address, "telefon": contact.phone}
        if contact.preferred not in needs:
            raise InvalidInputError(
                _("okänt kontaktsätt '{way}' (giltiga: epost, brev, telefon)").format(way=contact.preferred),
                step=step,
                reference=case.reference,
            )
        if not needs[contact.preferred]:
            raise InvalidInputError(
                _("personen vill bli kontaktad via {way}, men den uppgiften saknas").format(
                    way=contact.preferred
                ),
                step=step,
                reference=case.reference,
            )
    if contact.is_empty():
        raise InvalidInputError(
            _("kontaktuppgifterna kan inte tas bort helt: ange minst ett sätt att nå personen"),
            step=step,
            reference=case.reference,
        )
    if contact == previous and language is None:
        raise refuse(_("rättelsen ändrar ingenting: uppgifterna är redan de angivna"))
    reason = reason.strip()
    if reason:
        reason = required_text(reason, step, _("skälet"), case.reference)
    data = ContactCorrected(previous=previous, contact=contact, reason=reason)
    if language is not None:
        data = attrs.evolve(data, language=language, previous_language=case.language)
    return check_step_texts(data, step, case.reference)


#: How a correction names each field to a reader.
_FIELD_LABELS: Mapping[str, str] = {
    "name": _("Namn"),
    "email": _("E-post"),
    "phone": _("Telefon"),
    "address": _("Adress"),
    "preferred": _("Kontaktsätt"),
    "personnummer": _("Personnummer"),
    "protected": _("Skyddade personuppgifter"),
}


def _shown_value(name: str, value: object) -> str:
    if name == "protected":
        return _("ja") if value else _("nej")
    if value is None or value == "":
        return "-"
    text = str(value)
    if name == "address":
        return ", ".join(text.splitlines())
    if name == "personnummer" and len(text) == 12 and text.isdigit():
        return text[:8] + "-" + text[8:]
    return text


def corrections(data: ContactCorrected) -> list[tuple[str, str, str]]:
    """What a correction changed, as a reader is shown it: ``(field, old,
    new)`` with Swedish field names, for each field whose value changed.
    A correction shown with its values withheld (the step is secret, or
    the person protected: :mod:`klagomal.records.redaction`) shows the
    stand-ins, which may be equal: then the name's line says so."""
    found = []
    for name, label in _FIELD_LABELS.items():
        old, new = getattr(data.previous, name), getattr(data.contact, name)
        if old != new:
            found.append((label, _shown_value(name, old), _shown_value(name, new)))
    return found or [
        (
            _FIELD_LABELS["name"],
            _shown_value("name", data.previous.name),
            _shown_value("name", data.contact.name),
        )
    ]


def correction_lines(data: ContactCorrected) -> list[str]:
    """:func:`corrections` as lines ``"E-post: gammal → ny"``."""
    return [f"{label}: {old} → {new}" for label, old, new in corrections(data)]

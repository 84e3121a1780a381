"""The text rule applied to every value a step takes: the free texts, the
one-line values and the contact of each event payload.

:mod:`klagomal.core.text_rules` says what a text may hold;
:mod:`klagomal.core.events` says which field of a payload is a free text
(:data:`~klagomal.core.events.TEXT_FIELDS`); this module checks a payload
or a contact against both, with messages that name the step and the field.
Every decide function of :mod:`klagomal.cases.lifecycle` ends with
:func:`check_step_texts`, and intake checks a contact with
:func:`check_contact` before it registers anything.  None of it depends on
a case's state, which is why it is not part of the lifecycle's state machine.
"""

from __future__ import annotations

from typing import Any, TypeVar

import attrs

from klagomal.core.email_rules import check_person_address
from klagomal.core.errors import InvalidInputError
from klagomal.core.events import TEXT_FIELDS, EventData, Registered
from klagomal.core.i18n import _
from klagomal.core.model import Contact
from klagomal.core.text_rules import CONTACT_MAX, LINE_MAX, TEXT_MAX, check_text, clean_lines

__all__ = ["check_contact", "check_step_texts", "required_name", "required_text"]


def required_text(
    value: str,
    step: str,
    field: str,
    reference: str | None = None,
    *,
    multiline: bool = True,
    max_length: int = TEXT_MAX,
) -> str:
    """*value*, required, checked against the text rule
    (:mod:`klagomal.core.text_rules`): a free text of at most
    :data:`~klagomal.core.text_rules.TEXT_MAX` characters with its line breaks
    as ``\\n``, or with *multiline* false a one-line value."""
    if not value or not value.strip():
        raise InvalidInputError(_("{field} saknas").format(field=field), step=step, reference=reference)
    return check_text(
        value, step=step, field=field, reference=reference, multiline=multiline, max_length=max_length
    )


def required_name(value: str, step: str, field: str, reference: str | None = None) -> str:
    """A required one-line name typed by staff (a handler, who resolved it)."""
    return required_text(value, step, field, reference, multiline=False, max_length=LINE_MAX)


#: How an error names a payload's field, when the decide function has not
#: already checked it under a name of its own.
_FIELD_NAMES = {
    "text": _("texten"),
    "reason": _("skälet"),
    "decision": _("beslutet"),
    "handler": _("handläggaren"),
    "recipients": _("mottagaren"),
    "appeal_to": _("vart överklagandet ska skickas"),
    "ground": _("sekretessgrunden"),
    "summary": _("beskrivningen"),
    "sender": _("avsändaren"),
    "message": _("meddelandets id"),
    "attachments": _("bilagans namn"),
    "notes": _("noteringen"),
    "route": _("vägen"),
    # Ids and names a step carries besides its texts: a refusal names them
    # in Swedish too (every one is listed; tests/test_lifecycle_decisions.py).
    "previous": _("den tidigare handläggaren"),
    "filename": _("filnamnet"),
    "media_type": _("filtypen"),
    "language": _("språket"),
    "previous_language": _("det tidigare språket"),
    "department": _("förvaltningen"),
    "from_unit": _("enheten som skickade ärendet vidare"),
    "to_unit": _("enheten som tog emot ärendet"),
    "secrecy": _("sekretessgrunden"),
    "channel": _("kanalen"),
    "unit": _("enheten"),
    "dimensions": _("kvalitetsdimensionen"),
    "external_id": _("id:t i det andra systemet"),
    "kind": _("typen av bemötande"),
    "about": _("vad flaggan gäller"),
    "alert_users": _("användaren som ska underrättas"),
    "declined": _("kanalen som personalen kan avböja"),
    "routine": _("rutinen"),
}

_Payload = TypeVar("_Payload", bound=EventData)

#: The text-valued fields of each payload class that are not free texts,
#: found once per class (the bulk import checks millions of payloads):
#: those holding one text or ``None``, and those holding a tuple of texts.
_ONE_LINE_FIELDS: dict[type[EventData], tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _one_line_fields(cls: type[EventData]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    found = _ONE_LINE_FIELDS.get(cls)
    if found is None:
        texts = TEXT_FIELDS[cls]
        fields = [
            f
            for f in attrs.fields(cls)
            if f.name not in texts and f.name not in ("contact", "notes") and "str" in str(f.type)
        ]
        found = _ONE_LINE_FIELDS[cls] = (
            tuple(f.name for f in fields if not str(f.type).startswith("tuple")),
            tuple(f.name for f in fields if str(f.type).startswith("tuple")),
        )
    return found


def check_step_texts(data: _Payload, step: str, reference: str | None = None) -> _Payload:
    """*data* with every free text of the step checked against the text
    rule and its line breaks as ``\\n``, every other text-valued field
    (ids, names, a sender) checked as one line, and the contact checked.

    The free texts are those :data:`klagomal.core.events.TEXT_FIELDS` lists,
    so a text field added to a step is checked as soon as it is listed
    there.  Every decide function ends with this check.

    :raises InvalidInputError: naming *step*, *reference* and the field.
    """
    payload: EventData = data
    cls = type(payload)
    single, several = _one_line_fields(cls)
    texts_of_step = TEXT_FIELDS[cls]
    if not (texts_of_step or single or several):
        return data  # a step with no text at all (closed, resumed)
    changes: dict[str, Any] = {}
    for name in texts_of_step:
        value = getattr(data, name)
        if value is not None:
            checked = check_text(value, step=step, field=_FIELD_NAMES.get(name, name), reference=reference)
            if checked is not value:
                changes[name] = checked
    # The common case in one search for each kind of value; only when the
    # rule refuses something is it looked for field by field, for the message.
    lines = [value for name in single if (value := getattr(data, name)) is not None]
    for name in several:
        lines += getattr(data, name)
    texts: list[str] = []
    contact = data.contact if isinstance(data, Registered) else None
    if isinstance(data, Registered):
        texts += data.notes
    if contact is not None:
        lines += [value for value in (contact.name, contact.email, contact.phone) if value is not None]
        texts += [contact.address] if contact.address is not None else []
    if not (clean_lines(lines) and clean_lines(texts, multiline=True)):
        _refuse_texts(data, step, reference)
    return attrs.evolve(data, **changes) if changes else data


def _refuse_texts(data: EventData, step: str, reference: str | None) -> None:
    """Raise the error for the first field of *data* the text rule refuses."""
    single, several = _one_line_fields(type(data))
    named = [(name, getattr(data, name)) for name in single]
    named += [(name, item) for name in several for item in getattr(data, name)]
    texts: list[tuple[str, str | None]] = []
    if isinstance(data, Registered):
        texts += [("notes", note) for note in data.notes]
        if data.contact is not None:
            named += [(name, getattr(data.contact, name)) for name in ("name", "email", "phone")]
            texts.append(("address", data.contact.address))
    fields = {**_FIELD_NAMES, **_CONTACT_FIELDS}
    for multiline, values in ((False, named), (True, texts)):
        for name, value in values:
            if value is not None:
                check_text(
                    value,
                    step=step,
                    field=fields.get(name, name),
                    reference=reference,
                    multiline=multiline,
                    max_length=None,
                )


#: How an error names each contact field.
_CONTACT_FIELDS = {
    "name": _("namnet"),
    "email": _("e-postadressen"),
    "phone": _("telefonnumret"),
    "address": _("postadressen"),
}


def _plain(value: str | None, name: str) -> bool:
    """Whether a contact field needs nothing removed and is within its length."""
    return value is None or (0 < len(value) <= CONTACT_MAX[name] and value == value.strip())


def check_contact(contact: Contact, step: str = "register", reference: str | None = None) -> Contact:
    """*contact* checked against the text rule and the contact fields'
    lengths (:data:`~klagomal.core.text_rules.CONTACT_MAX`): one line each, a
    postal address may have several.  The e-mail address is checked and
    normalised (:func:`klagomal.core.email_rules.check_person_address`); blanks around
    a value are removed.

    :raises InvalidInputError: naming *step*, *reference* and the field.
    """
    name, email, phone, address = contact.name, contact.email, contact.phone, contact.address
    if (
        # The common case, for a bulk import's million rows: nothing to strip,
        # cut or refuse, and only the e-mail address to normalise.
        _plain(name, "name")
        and _plain(email, "email")
        and _plain(phone, "phone")
        and _plain(address, "address")
        and clean_lines([value for value in (name, email, phone) if value is not None])
        and (address is None or ("\r" not in address and clean_lines([address], multiline=True)))
    ):
        if email is None:
            return contact
        normalised = check_person_address(email, step=step, reference=reference)
        return contact if normalised == email else attrs.evolve(contact, email=normalised)
    changes: dict[str, Any] = {}
    for name, noun in _CONTACT_FIELDS.items():
        value = getattr(contact, name)
        if value is None:
            continue
        checked = check_text(
            value.strip(),
            step=step,
            field=noun,
            reference=reference,
            multiline=name == "address",
            max_length=CONTACT_MAX[name],
        )
        if name == "email" and checked:
            checked = check_person_address(checked, step=step, reference=reference)
        if checked != value:
            changes[name] = checked or None
    return attrs.evolve(contact, **changes) if changes else contact

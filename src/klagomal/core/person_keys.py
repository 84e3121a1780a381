"""What tells that two cases come from the same person: their contact's
e-mail address, phone number or personnummer, each in one normal form
(the *keys* of a contact).

Two spellings of one address or number have the same key: ``Anna@Example.SE``
and ``anna@example.se``; ``070-123 45 67``, ``0701234567`` and
``+46 70 123 45 67``.  The storage keeps the keys of each case's contact
in indexed columns, written from the projection with every event
(:func:`klagomal.storage.sql.cases.CaseStore.append`), so that the cases of
one person are found without reading every case
(:mod:`klagomal.cases.related`); a GDPR request compares the same normal
forms (:mod:`klagomal.records.gdpr`).

An anonymous case has no keys, and neither has a contact that disposal
replaced: it matches nobody.
"""

from __future__ import annotations

import contextlib
import email.utils
import re
import unicodedata
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.core.model import Contact

__all__ = [
    "MIN_PHONE_DIGITS",
    "PersonKeys",
    "email_key",
    "normalise_email",
    "normalise_phone",
    "person_keys",
    "phone_key",
]

#: A phone number shorter than this (``112``, an extension) says too little
#: to tie two cases to one person.
MIN_PHONE_DIGITS = 7

_TWELVE_DIGITS = re.compile(r"[0-9]{12}")

#: An address of plain ASCII with nothing around it: its normal form is
#: its lower case (see :func:`email_key`).
_PLAIN = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def normalise_phone(phone: str) -> str:
    """Digits only, with a Swedish +46 written as a leading 0."""
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("+46") or phone.strip().startswith("0046"):
        digits = "0" + digits.removeprefix("00").removeprefix("46")
    return digits


def normalise_email(value: str) -> str:
    """The address part of *value*, in the form two spellings of one address share.

    The display name and angle brackets are dropped (``Anna Lind
    <anna@example.se>``), blanks around it too; the local part is
    lower-cased (no mail server of a Swedish kommun tells ``Anna`` from
    ``anna``); the domain is lower-cased and written in its ASCII form
    (IDNA: ``exämple.se`` and ``xn--exmple-cua.se`` are one domain), without
    a trailing dot.  Text that is no address is only stripped and
    lower-cased, so it matches only itself."""
    text = unicodedata.normalize("NFC", value).strip()
    _name, address = email.utils.parseaddr(text)
    text = (address or text).strip()
    local, at, domain = text.rpartition("@")
    if not at:
        return text.lower()
    domain = domain.strip().rstrip(".")
    with contextlib.suppress(UnicodeError):  # not a valid domain name: compared as written
        domain = domain.encode("idna").decode("ascii")
    return f"{local.strip().lower()}@{domain.lower()}"


def email_key(value: str | None) -> str | None:
    """The key of an e-mail address (:func:`normalise_email`), or ``None``
    for no address.  A plain ASCII address, which is nearly every one, is
    only lower-cased: the same result without parsing it (a bulk import
    writes a million)."""
    if not value or not value.strip():
        return None
    if _PLAIN.fullmatch(value):
        return value.lower()
    key = normalise_email(value)
    return key if "@" in key else None


def phone_key(value: str | None) -> str | None:
    """The key of a phone number (:func:`normalise_phone`), or ``None`` when
    it has fewer than :data:`MIN_PHONE_DIGITS` digits."""
    if not value:
        return None
    digits = normalise_phone(value)
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


@attrs.frozen
class PersonKeys:
    """The keys of one contact; ``None`` where it has none."""

    email: str | None = None
    phone: str | None = None
    personnummer: str | None = None

    @property
    def any(self) -> bool:
        """Whether the contact has any key at all."""
        return bool(self.email or self.phone or self.personnummer)

    def shared_with(self, other: PersonKeys) -> tuple[str, ...]:
        """Which keys the two have in common: ``"email"``, ``"phone"``,
        ``"personnummer"``, in that order."""
        return tuple(
            name
            for name in ("email", "phone", "personnummer")
            if (mine := getattr(self, name)) is not None and mine == getattr(other, name)
        )


def person_keys(contact: Contact | None) -> PersonKeys:
    """The keys of *contact*; none for an anonymous case (``None``).  A
    personnummer is stored in twelve digits (:mod:`klagomal.core.identity_numbers`)
    and is its own key."""
    if contact is None:
        return PersonKeys()
    number = contact.personnummer
    return PersonKeys(
        email=email_key(contact.email),
        phone=phone_key(contact.phone),
        personnummer=number if number and _TWELVE_DIGITS.fullmatch(number) else None,
    )

"""What e-mail address klagomal takes for a person: the rule for the
contact's ``email`` field, wherever feedback comes in (the API and the
command line through :mod:`klagomal.cases.lifecycle`, the web form, a bulk
import, a reply card, an e-mail's sender).

It sits next to :mod:`klagomal.core.text_rules`, the rule for every other
text; :mod:`klagomal.notices.mail` checks an address again, for delivery,
and imports :func:`check_person_address` from here.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable

from klagomal.core.errors import InvalidInputError
from klagomal.core.i18n import _

__all__ = ["check_person_address", "has_controls", "shown"]


def shown(value: str) -> str:
    """*value* with line breaks and other control characters made visible."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in value)


def has_controls(value: str) -> bool:
    """Whether *value* holds a control or format character or a line or
    paragraph separator (Unicode categories Cc, Cf, Zl, Zp)."""
    return any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value)


#: An address whose local part is plain ASCII dot-atoms (RFC 5322 atext),
#: which email-validator keeps exactly as it is, and whose domain is no more
#: than letters, digits, hyphens and dots (checked by email-validator).
_PLAIN_ADDRESS = re.compile(
    r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@([A-Za-z0-9.-]+)"
)
#: Control characters, blanks, line and paragraph separators: never in an address.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NOT_IN_ADDRESS = re.compile(r"[\s\u2028\u2029]")


def check_person_address(address: str, *, step: str = "register", reference: str | None = None) -> str:
    """A person's e-mail address as given at registration (the command
    line, the API, a bulk import, a reply card, an e-mail's sender),
    checked and normalised with the maintained ``email-validator`` library:
    one ``addr-spec`` and nothing else.  No DNS look-up is made.

    Refused, with a Swedish reason: line breaks and other control
    characters (header injection, ``bo@x\\r\\nBcc: ...``), several
    addresses (``a@x, b@y``), a display name or angle brackets
    (``"Eva" <eva@x.se>``), quoted local parts, IP-address domains, a domain
    without a dot, special-use domains (``.test``, ``.invalid``,
    ``localhost``), and a part before ``@`` longer than 64 characters.  Kept
    as the library normalises it: surrounding blanks removed, the domain in
    lower case, Unicode in NFC; a non-ASCII domain stays readable (delivery
    turns it into IDNA, :func:`klagomal.notices.mail.check_address`).

    The library checks every domain, once per domain (:func:`_person_domain`,
    kept for the next address: a bulk import checks a million), and every
    address whose part before ``@`` is not plain ASCII; a plain ASCII part
    (``eva.lind+synpunkt``) it would keep as it is, so it is taken as it is
    (``tests/test_text_rules.py`` compares the two).

    :raises InvalidInputError: naming *step* and *reference*.
    """

    def refuse(why: str) -> InvalidInputError:
        return InvalidInputError(
            _("e-postadressen '{address}' kan inte användas: {why}").format(address=shown(address), why=why),
            step=step,
            reference=reference,
        )

    value = address.strip()
    plain = _PLAIN_ADDRESS.fullmatch(value)
    if plain is not None and len(value) <= 200 and len(plain[1]) <= 64:
        normalised_domain = _person_domain(plain[2])
        if normalised_domain is not None:
            return f"{plain[1]}@{normalised_domain}"
    if _CONTROL.search(value) or (not value.isascii() and has_controls(value)):
        raise refuse(_("den innehåller radbrytningar eller andra styrtecken"))
    if not value:
        raise refuse(_("den är tom"))
    if any(c in value for c in '<>"()'):
        raise refuse(_('ange bara själva adressen, som namn@exempel.se, utan namn eller tecknen < > " ( )'))
    if any(c in value for c in ",;") or value.count("@") > 1:
        raise refuse(_("ange en enda adress"))
    if _NOT_IN_ADDRESS.search(value):
        raise refuse(_("den innehåller blanksteg"))
    if "@" not in value:
        raise refuse(_("den saknar @"))
    return _validated(value, refuse)


def _validated(value: str, refuse: Callable[[str], InvalidInputError]) -> str:
    """*value* through the whole of email-validator."""
    import email_validator  # only when an address is given: it takes 30 ms to import

    try:
        checked = email_validator.validate_email(value, check_deliverability=False, strict=True)
    except email_validator.EmailNotValidError:
        raise refuse(
            _(
                "den följer inte formen namn@exempel.se (en domän med punkt, "
                "inga tomma delar eller otillåtna tecken)"
            )
        ) from None
    return str(checked.normalized)


@functools.lru_cache(maxsize=4096)
def _person_domain(domain: str) -> str | None:
    """*domain* as email-validator normalises it after ``@``, or ``None`` if
    it refuses it (whatever comes before ``@``)."""
    import email_validator

    try:
        checked = email_validator.validate_email("x@" + domain, check_deliverability=False, strict=True)
    except email_validator.EmailNotValidError:
        return None
    return str(checked.domain)

"""A person's data (GDPR): finding it, handing it over (article 15), and
anonymising it while the statistics stay (R27, R30).

:class:`PersonQuery` says who: an e-mail address, a phone number, a
personnummer or a name, any of which finds the person's cases.  Each is
matched exactly after both sides are normalised the same way
(:func:`normalise_email`, :func:`normalise_phone`, :func:`normalise_name`):
``ANNA@Example.se`` and ``Anna Lind <anna@example.se>`` are the same
address, ``johanna@example.se`` is not.  :func:`find_cases` narrows the
cases down in SQL and compares the normalised values in Python, so that
SQLite, whose ``lower()`` leaves Å, Ä and Ö alone, matches like the server
databases; :func:`person_data` gathers
everything klagomal holds on them, case by case: the contact, every step
with its text, the notices sent and where, the e-mails received with their
attachments' names, and what disposal has removed; :func:`render_html`
makes it readable for the person.

Anonymisation is :func:`klagomal.records.disposal.redact_case` with both the
contact and the texts: kinds, dimensions, units, dates and every step stay,
so reports over past periods do not change.  It is irreversible and, since
a complaint is an allmän handling, allowed only where the kommun's
gallringsbeslut or another legal ground permits: the caller must name it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa

from klagomal.core.errors import InvalidInputError
from klagomal.core.events import TEXT_FIELDS, EventData
from klagomal.core.i18n import _
from klagomal.core.identity_numbers import parse_person_number
from klagomal.core.person_keys import normalise_email, normalise_phone
from klagomal.storage.tables import cases, received_messages

if TYPE_CHECKING:  # pragma: no cover
    import jinja2

__all__ = [
    "PersonQuery",
    "find_cases",
    "normalise_email",
    "normalise_name",
    "normalise_phone",
    "render_html",
    "unattached_messages",
]

#: The escape character of the LIKE patterns below: not a backslash, which
#: MariaDB's string literals would swallow.
_ESCAPE = "/"


def normalise_name(value: str) -> str:
    """*value* in the form two spellings of one name share: Unicode NFC,
    case folded, runs of blanks as one space, none around it."""
    return " ".join(unicodedata.normalize("NFC", value).casefold().split())


def _like(value: str, *, start: bool = True, end: bool = True) -> str:
    """A LIKE pattern, for ``lower(column)``, that every value normalising to
    *value* matches (and others besides, which the exact comparison drops):
    its ASCII characters in order, with ``%`` for the rest, since SQLite's
    ``lower()`` and a decomposed ``å`` are beyond what SQL compares alike."""
    pattern = "".join(
        (_ESCAPE + c if c in "%_" + _ESCAPE else c) if c.isascii() and not c.isspace() else "%"
        for c in value.lower()
    )
    pattern = ("%" if start else "") + pattern + ("%" if end else "")
    return re.sub("%+", "%", pattern)


@attrs.frozen
class PersonQuery:
    """Who to look for; at least one field.  A personnummer is validated."""

    email: str | None = None
    phone: str | None = None
    personnummer: str | None = None
    name: str | None = None

    def checked(self, today: dt.date) -> PersonQuery:
        """The query normalised, or :class:`InvalidInputError`."""
        if not any((self.email, self.phone, self.personnummer, self.name)):
            raise InvalidInputError(
                _("ange personens e-postadress, telefonnummer, personnummer eller namn"), step="person"
            )
        number = None
        if self.personnummer:
            try:
                number = parse_person_number(self.personnummer, today=today).digits
            except InvalidInputError as exc:
                raise InvalidInputError(
                    _("personnumret är ogiltigt: {reason}").format(reason=exc.reason), step="person"
                ) from None
        phone = normalise_phone(self.phone) if self.phone else None
        if self.phone and not phone:
            raise InvalidInputError(_("telefonnumret innehåller inga siffror"), step="person")
        address = normalise_email(self.email) if self.email else None
        if address is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
            raise InvalidInputError(
                _("e-postadressen '{address}' är ingen hel adress (namn@domän)").format(
                    address=self.email.strip() if self.email else ""
                ),
                step="person",
            )
        name = normalise_name(self.name) if self.name else None
        if self.name and not name:
            raise InvalidInputError(_("namnet är tomt"), step="person")
        return PersonQuery(email=address, phone=phone, personnummer=number, name=name)

    def describe(self) -> str:
        """What was searched for, for the audit log: which fields, not their values."""
        return ", ".join(
            field for field in ("email", "phone", "personnummer", "name") if getattr(self, field)
        )


def _matches(row: Any, query: PersonQuery) -> bool:
    """Whether a case's contact has one of the (checked) values of *query*, exactly."""
    return bool(
        (query.email and row.contact_email and normalise_email(row.contact_email) == query.email)
        or (query.personnummer and row.contact_personnummer == query.personnummer)
        or (query.name and row.contact_name and normalise_name(row.contact_name) == query.name)
        or (query.phone and row.contact_phone and normalise_phone(row.contact_phone) == query.phone)
    )


def _email_candidates(column: Any, address: str) -> Any:
    """A condition every value of *column* that normalises to *address*
    meets: it holds the local part followed by ``@``."""
    local = address.rpartition("@")[0]
    return sa.func.lower(column).like(_like(local, end=False) + "@%", escape=_ESCAPE)


def find_cases(conn: sa.Connection, query: PersonQuery) -> list[str]:
    """The references of the cases whose contact matches *query* (checked):
    the same e-mail address, phone number, personnummer or name, after
    normalisation, never a part of one (``anna@`` is not ``johanna@``)."""
    conditions = []
    if query.email:
        conditions.append(_email_candidates(cases.c.contact_email, query.email))
    if query.personnummer:
        conditions.append(cases.c.contact_personnummer == query.personnummer)
    if query.name:
        conditions.append(sa.func.lower(cases.c.contact_name).like(_like(query.name), escape=_ESCAPE))
    if query.phone:
        # Its digits in order, whatever stands between them; a leading 0 may be +46.
        conditions.append(cases.c.contact_phone.like("%" + "%".join(query.phone[1:]) + "%"))
    rows = conn.execute(
        sa.select(
            cases.c.reference,
            cases.c.contact_email,
            cases.c.contact_personnummer,
            cases.c.contact_name,
            cases.c.contact_phone,
        )
        .where(sa.or_(*conditions))
        .order_by(cases.c.reference)
    )
    return [row.reference for row in rows if _matches(row, query)]


def unattached_messages(conn: sa.Connection, query: PersonQuery) -> list[int]:
    """The ids of received messages from the person's e-mail address (the
    same address after normalisation, see :func:`normalise_email`) that
    belong to no case (the quarantine, automatic replies)."""
    if not query.email:
        return []
    rows = conn.execute(
        sa.select(received_messages.c.id, received_messages.c.sender)
        .where(
            received_messages.c.reference.is_(None),
            _email_candidates(received_messages.c.sender, query.email),
        )
        .order_by(received_messages.c.id)
    )
    return [row.id for row in rows if row.sender and normalise_email(row.sender) == query.email]


#: The page of :func:`render_html`, compiled by :func:`_html` when first needed:
#: Jinja2 and the compiling are not for every command that imports this module.
_HTML = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; line-height: 1.45; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-top: 1px solid #999; }
dl { display: grid; grid-template-columns: 12rem 1fr; gap: .2rem 1rem; }
dt { font-weight: 600; } .text { white-space: pre-wrap; background: #f4f4f4; padding: .4rem .6rem; }
@media print { body { margin: 0; } h2 { break-before: auto; } }
</style></head><body>
<h1>{{ title }}</h1>
<p>{{ intro }}</p>
<p>{{ made }}</p>
{% for case in data.cases %}
<h2>{{ labels.case }} {{ case.reference }}</h2>
<dl>
<dt>{{ labels.kind }}</dt><dd>{{ case.kind }}</dd>
<dt>{{ labels.unit }}</dt><dd>{{ case.unit }}</dd>
<dt>{{ labels.received }}</dt><dd>{{ case.received }}</dd>
<dt>{{ labels.state }}</dt><dd>{{ case.state }}</dd>
{% for key, value in case.contact.items() if value %}<dt>{{ key }}</dt><dd>{{ value }}</dd>{% endfor %}
</dl>
<h3>{{ labels.steps }}</h3>
{% for step in case.events %}
<p><strong>{{ step.day }} {{ step.label }}</strong>{% if step.actor %} ({{ step.actor }}){% endif %}</p>
{% for text in step.texts %}<div class="text">{{ text }}</div>{% endfor %}
{% endfor %}
{% if case.notices %}<h3>{{ labels.notices }}</h3><ul>
{% for n in case.notices %}<li>{{ n.kind }}: {{ n.status }}
{%- if n.address %}, {{ n.address }}{% endif %}{% if n.sent_at %}, {{ n.sent_at }}{% endif %}</li>{% endfor %}
</ul>{% endif %}
{% if case.messages %}<h3>{{ labels.messages }}</h3><ul>
{% for m in case.messages %}<li>{{ m.received_at }}: {{ m.subject or "-" }}
{%- if m.attachments %} ({{ m.attachments | join(", ") }}){% endif %}</li>{% endfor %}
</ul>{% endif %}
{% if case.disposed %}<h3>{{ labels.disposed }}</h3><ul>
{% for d in case.disposed %}<li>{{ d.day }}: {{ d.action }} ({{ d.decision }})</li>{% endfor %}
</ul>{% endif %}
{% endfor %}
{% if data.unattached %}<h2>{{ labels.unattached }}</h2><ul>
{% for m in data.unattached %}<li>{{ m.received_at }}: {{ m.subject or "-" }}</li>{% endfor %}
</ul>{% endif %}
</body></html>
"""


@functools.cache
def _html() -> jinja2.Template:
    import jinja2

    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(_HTML)


def render_html(data: dict[str, Any], kommun: str, made: dt.date) -> str:
    """The person's data as one readable, self-contained HTML page."""
    return _html().render(
        data=data,
        title=_("Dina uppgifter hos {kommun}").format(kommun=kommun),
        intro=_(
            "Här är alla synpunkter och alla uppgifter om dig som {kommun} har i sitt system för "
            "klagomål, förslag och beröm (artikel 15 i dataskyddsförordningen)."
        ).format(kommun=kommun),
        made=_("Utdraget gjordes {day}.").format(day=made.isoformat()),
        labels={
            "case": _("Ärende"),
            "kind": _("Typ"),
            "unit": _("Enhet"),
            "received": _("Inkom"),
            "state": _("Status"),
            "steps": _("Händelser"),
            "notices": _("Meddelanden till dig och till personal"),
            "messages": _("E-post från dig"),
            "disposed": _("Gallrat"),
            "unattached": _("E-post som inte hör till något ärende"),
        },
    )


def texts_of(data: EventData) -> list[str]:
    """Every free text of a step (:data:`klagomal.records.disposal.TEXT_FIELDS`),
    and the register description, for the person's export."""
    keys = (*TEXT_FIELDS[type(data)], "summary")
    return [value for key in keys if isinstance(value := getattr(data, key, None), str) and value]

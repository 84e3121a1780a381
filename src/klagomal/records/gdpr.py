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
attachments' names, and what disposal has removed; :func:`information`
adds what article 15 asks to be told (purposes, legal basis, categories,
recipients, how long, rights, IMY), from the organisation file's
``[dataskydd]`` and the kommun's disposal rules; :func:`actor_name` and
:func:`event_details` say who took each step and what it decided; and
:func:`render_html` makes the person's own page of it
(:mod:`klagomal.records.person_page`).

Anonymisation is :func:`klagomal.records.disposal.redact_case` with both the
contact and the texts: kinds, dimensions, units, dates and every step stay,
so reports over past periods do not change.  It is irreversible and, since
a complaint is an allmän handling, allowed only where the kommun's
gallringsbeslut or another legal ground permits: the caller must name it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa

from klagomal.core.disposal_rules import Action, DisposalRule
from klagomal.core.errors import InvalidInputError
from klagomal.core.events import (
    TEXT_FIELDS,
    Acknowledged,
    Answered,
    Assigned,
    Closed,
    Escalated,
    Event,
    EventData,
    Forwarded,
    MessageReceived,
    Postponed,
    PraisePassedOn,
    Reclassified,
    Registered,
    ResolvedAtOnce,
    Resumed,
    ThreatFlagged,
    ThreatFlagLifted,
)
from klagomal.core.formats import join_names, swedish_date
from klagomal.core.i18n import _
from klagomal.core.identity_numbers import parse_person_number
from klagomal.core.model import AnswerMode, Kind
from klagomal.core.person_keys import normalise_email, normalise_phone
from klagomal.core.privacy_notice import LIST_SECTIONS, SECTIONS, section_heading
from klagomal.core.users import SYSTEM_USER, handler_name
from klagomal.storage.tables import cases, received_messages

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Mapping, Sequence

    from klagomal.core.clock import Clock
    from klagomal.core.model import Case
    from klagomal.core.organisation import Organisation

__all__ = [
    "SELF_SERVICE_CHANNELS",
    "PersonQuery",
    "actor_name",
    "event_details",
    "export_date",
    "find_cases",
    "information",
    "normalise_email",
    "normalise_name",
    "normalise_phone",
    "render_html",
    "responsible_by_step",
    "retention",
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


def export_date(clock: Clock) -> dt.date:
    """The day an export of a person's data is made, from the facade's
    clock: the real date under a business date set by hand (``--today``
    dates steps, not exports), so that the export never stands before the
    steps recorded today."""
    real = getattr(clock, "real_today", None)
    return real() if callable(real) else clock.today()


#: The channels through which the person writes to the kommun themselves:
#: a registration from one of them, not taken by a known user, is theirs.
SELF_SERVICE_CHANNELS = frozenset({"epost", "webbformular", "brev", "svarskort"})


def responsible_by_step(history: Sequence[Event]) -> dict[int, tuple[str | None, str]]:
    """The case's handler and unit right after each step (by ``seq``)."""
    handler: str | None = None
    unit = ""
    found: dict[int, tuple[str | None, str]] = {}
    for event in history:
        data = event.data
        if isinstance(data, Registered):
            handler, unit = data.handler, data.unit
        elif isinstance(data, Forwarded):
            handler, unit = data.handler, data.to_unit
        elif isinstance(data, Acknowledged | Assigned | Escalated | ResolvedAtOnce) or (
            isinstance(data, ThreatFlagged) and data.handler
        ):
            handler = data.handler
        found[event.seq] = (handler, unit)
    return found


def actor_name(
    event: Event,
    handler: str | None,
    unit: str,
    organisation: Organisation,
    channels: Mapping[str, str],
) -> str:
    """Who took step *event*, as the person's page names them.

    A user of the organisation file by their name (a kommun's officials act
    in public).  A step that klagomal recorded as itself (``system``: a
    script, an integration, the demo) or without a user names who was
    responsible for it: the person themselves for what they sent in, else
    the case's handler at that step (*handler*), else the unit (*unit*).
    Who flagged the person for threatening or abusive treatment is never
    named to them: the unit stands in (R28)."""
    data = event.data
    units = organisation.units
    unit_name = units[unit].name if unit in units else unit
    if isinstance(data, ThreatFlagged | ThreatFlagLifted):
        return unit_name
    user = organisation.users.get(event.actor or "")
    if user is not None and user.id != SYSTEM_USER.id:
        return user.name
    if isinstance(data, MessageReceived):
        return _("du, via e-post")
    if isinstance(data, Registered) and (
        data.channel in SELF_SERVICE_CHANNELS or event.actor == data.channel
    ):
        return _("du, via {channel}").format(channel=channels.get(data.channel, data.channel).lower())
    if event.actor not in (None, SYSTEM_USER.id) and event.actor not in channels:
        return str(event.actor)
    return handler_name(organisation.users, handler) or unit_name


def event_details(event: Event, organisation: Organisation, channels: Mapping[str, str]) -> list[str]:
    """What a step decided, in words, besides its texts (:func:`texts_of`)."""
    data = event.data
    users = organisation.users
    units = organisation.units

    def unit(unit_id: str) -> str:
        return units[unit_id].name if unit_id in units else unit_id

    if isinstance(data, Registered):
        return [
            _("Inkom {day} via {channel} till {unit}.").format(
                day=swedish_date(data.received),
                channel=channels.get(data.channel, data.channel).lower(),
                unit=unit(data.unit),
            )
        ]
    if isinstance(data, Forwarded):
        return [_("Skickat vidare från {a} till {b}.").format(a=unit(data.from_unit), b=unit(data.to_unit))]
    if isinstance(data, Acknowledged):
        return [
            _("Handläggare: {name}. Du får svar senast {day}.").format(
                name=handler_name(users, data.handler), day=swedish_date(data.respond_by)
            )
        ]
    if isinstance(data, Assigned):
        return [_("Ny handläggare: {name}.").format(name=handler_name(users, data.handler))]
    if isinstance(data, Postponed | Resumed):
        return [
            _("Nytt datum för svar: {day} (tidigare {previous}).").format(
                day=swedish_date(data.respond_by), previous=swedish_date(data.previous)
            )
        ]
    if isinstance(data, Answered):
        return [_("Skriftligt svar.") if data.mode is AnswerMode.SKRIFTLIGT else _("Muntligt svar.")]
    if isinstance(data, Closed) and data.satisfied is not None:
        return [_("Du var nöjd med svaret.") if data.satisfied else _("Du var inte nöjd med svaret.")]
    if isinstance(data, Escalated):
        return [
            _("{level}. Handläggare: {name}. Besked senast {day}.").format(
                level=data.level.label,
                name=handler_name(users, data.handler),
                day=swedish_date(data.acknowledge_by),
            )
        ]
    if isinstance(data, Reclassified):
        return [_("Ny typ: {kind}.").format(kind=data.kind.label)]
    if isinstance(data, PraisePassedOn) and data.recipients:
        return [_("Till: {names}.").format(names=join_names(data.recipients))]
    if isinstance(data, ResolvedAtOnce):
        return [_("Åtgärdat direkt av {name}.").format(name=handler_name(users, data.handler))]
    return []


def information(
    organisation: Organisation, rules: Sequence[DisposalRule], cases: Sequence[Case]
) -> list[dict[str, Any]]:
    """The information of GDPR article 15.1 for the person whose cases are
    *cases*: one part per :data:`~klagomal.core.privacy_notice.SECTIONS`,
    with the organisation file's texts (``[dataskydd]``) or the defaults,
    and what holds for these cases: the nämnder responsible, and how long
    the kommun's disposal rules (*rules*) keep them."""
    notice = organisation.privacy
    parts = []
    for key in SECTIONS:
        own: list[str] = []
        if key == "personuppgiftsansvarig":
            boards: dict[str, list[str]] = {}
            for case in cases:
                department = organisation.departments.get(case.department)
                if department is not None:
                    boards.setdefault(department.board, []).append(case.reference)
            own = [
                _("{board}: {references}").format(board=board, references=", ".join(refs))
                for board, refs in boards.items()
            ]
        elif key == "lagring":
            own = retention(organisation, rules, cases)
        parts.append(
            {
                "id": key,
                "heading": section_heading(key),
                "texts": list(notice.texts(key, organisation.name, organisation.profile)),
                "list": key in LIST_SECTIONS,
                "these_cases": own,
            }
        )
    return parts


def _scope(rule: DisposalRule, organisation: Organisation) -> str:
    kinds = (
        _("alla ärenden")
        if rule.kinds is None
        else join_names(kind.label.lower() for kind in Kind if kind in rule.kinds)
    )
    if rule.serious is True:
        kinds = _("{kinds} (bara allvarliga klagomål)").format(kinds=kinds)
    elif rule.serious is False:
        kinds = _("{kinds} (utom allvarliga klagomål)").format(kinds=kinds)
    if rule.departments is None:
        return kinds
    names = [d.name for d in organisation.departments.values() if d.id in rule.departments]
    return _("{kinds} i {departments}").format(kinds=kinds, departments=join_names(names))


def retention(organisation: Organisation, rules: Sequence[DisposalRule], cases: Sequence[Case]) -> list[str]:
    """How long the kommun's disposal rules keep *cases*, one sentence per
    rule that covers at least one of them."""
    lines = []
    for rule in rules:
        if not any(rule.covers(c.kind, c.department, c.serious) for c in cases):
            continue
        scope = _capitalised(_scope(rule, organisation))
        if rule.action is Action.KEEP:
            text = _("{scope} bevaras för framtiden (beslut {decision}).")
        else:
            text = {
                Action.PSEUDONYMISE_CONTACT: _(
                    "{scope}: kontaktuppgifterna tas bort {months} månader efter att ärendet "
                    "avslutades (beslut {decision})."
                ),
                Action.REMOVE_TEXTS: _(
                    "{scope}: texterna och e-posten tas bort {months} månader efter att ärendet "
                    "avslutades (beslut {decision})."
                ),
                Action.ANONYMISE: _(
                    "{scope}: kontaktuppgifterna, texterna och e-posten tas bort {months} månader "
                    "efter att ärendet avslutades (beslut {decision})."
                ),
            }[rule.action]
        lines.append(text.format(scope=scope, months=rule.months, decision=rule.decision))
    if not lines:
        lines.append(
            _("{kommun} har inte beslutat om gallring av dina ärenden, så de bevaras tills vidare.").format(
                kommun=organisation.name
            )
        )
    return lines


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def render_html(data: dict[str, Any], kommun: str | None = None, made: dt.date | None = None) -> str:
    """The person's data (:meth:`klagomal.Klagomal.person_export`) as one
    readable, printable, self-contained HTML page
    (:mod:`klagomal.records.person_page`).  The kommun's name and the day
    of the export are the export's own; *kommun* and *made* are for an
    export that lacks them."""
    from klagomal.records.person_page import render

    return render(data, kommun=kommun, made=made)


def texts_of(data: EventData) -> list[str]:
    """Every free text of a step (:data:`klagomal.records.disposal.TEXT_FIELDS`),
    and the register description, for the person's export."""
    keys = (*TEXT_FIELDS[type(data)], "summary")
    return [value for key in keys if isinstance(value := getattr(data, key, None), str) and value]

"""Disposal (gallring) under the kommun's decisions, and the redaction that
GDPR anonymisation shares with it (R27).

A kommun decides, in a *gallringsbeslut*, how long the personal data and the
texts of closed cases are kept.  Its rules come from the organisation file's
``[[gallring]]`` tables (:func:`parse_rules`) and from plugins
(``klagomal_disposal_rules``); rules that contradict each other stop
start-up (:func:`check_rules`); the rules are values of the organisation,
so they, their parsing and that check live in :mod:`klagomal.core.disposal_rules`
and are imported here.  Archive law takes precedence over erasure:
nothing is ever disposed of except under a rule that names the decision it
rests on, and a *bevara* rule (an archive decision to keep) must not share a
single case with a rule that removes something.

``klagomal gallra --dry-run`` lists what :func:`plan` finds due; the real run
performs it with :func:`apply`, which writes one row per case and action in
the table ``disposals`` (:func:`record`): which case, which rule, which
decision, what was done, by whom and when.  :func:`disposed` reads that log.

The actions (:class:`Action`)
-----------------------------

``pseudonymisera_kontakt``
    The contact becomes ``Contact(name="[gallrad]")``: e-mail, phone,
    address, personnummer and preferred way are gone; whether the person has
    skyddade personuppgifter stays.  The contact never becomes ``None``,
    because a case without a contact is an anonymous case, and the reports'
    anonymous share must not change.  The sender of every reply in the case,
    the sender and subject of its received messages, the files they were
    read from (also of their duplicates) and the file names of their
    attachments are replaced too, and so are the old and the new values of
    every correction of the contact (``ContactCorrected``) and the names of
    the documents a handler attached.  In the texts, which stay, the
    contact's own name, e-mail address, phone number, postal address and
    personnummer (in its usual spellings) are replaced wherever they occur
    as words, and so is anything that looks like contact data of anyone: a
    personnummer or samordningsnummer (valid date and control digit), an
    e-mail address, a Swedish phone number; the intake notes lose the
    subject line too.  The addresses the outbox used (``notices.address``)
    and its delivery errors are cleared.
``ta_bort_texter``
    Every free text of every event (the person's text, information, answers,
    actions, praise passed on, guidance, replies, reasons for postponing,
    pausing, escalating, reclassifying, for secrecy markings and for
    corrections of the contact, the handlers' internal notes, and the
    intake notes) becomes a marker that names the day and the decision, such
    as ``[gallrat 2026-03-02 enligt KS 2025-11-12 § 45]``.
``anonymisera``
    Both of the above.  GDPR anonymisation of one person on request is the
    same, recorded under the rule :data:`GDPR_RULE` (:func:`anonymise`).
``bevara``
    An archive decision to keep: it removes nothing, and no removing rule
    may overlap it.

Both removing actions also replace the raw bytes of the case's received
e-mails with a small stub message and drop the data of their attachments
(keeping type and size), because the raw message holds the sender, the
subject and the whole text.

What is never touched, and why
------------------------------

Reports over past periods must still add up after disposal, so nothing a
report or a deadline reads changes: kinds, channels, units, förvaltningar,
quality dimensions, seriousness, levels, states, every date, answer modes,
satisfaction, counters, event types, sequence numbers and days, handlers and
the staff who acted (they are the kommun's own officials, not the person).
The register entry's short description (``Described.summary``, OSL 5 kap.
1 §) is the public diary and stays; it is written without personal data.
Legal grounds for secrecy stay, as do decisions' dates, the authority an
appeal goes to, the message keys that thread replies and the ids of
imported cases.  The audit log holds no personal data of the person and is
not touched.

After rewriting the events the case row is written again from
:func:`klagomal.cases.lifecycle.replay` of them, so the stored projection always
equals a replay.

Disposal is irreversible: the removed data exist nowhere in the database
afterwards, and the log says only what kinds of data were removed, never
what they were.  Backups follow the kommun's own backup routine.

Why one module: planning, redacting, logging and performing a disposal are
one routine over the same stored rows, and what each step may touch is the
list above; the rules themselves, which the organisation file holds, are in
:mod:`klagomal.core.disposal_rules`.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import email.header
import email.utils
import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa

from klagomal.core.disposal_rules import (
    DECISION_LENGTH,
    RULE_KEYS,
    Action,
    DisposalRule,
    RuleReader,
    check_rules,
    parse_rules,
)
from klagomal.core.errors import CaseNotFoundError, ConfigurationError
from klagomal.core.events import (
    KEPT_FIELDS,
    OWN_FIELDS,
    TEXT_FIELDS,
    AttachmentAdded,
    ContactCorrected,
    Event,
    EventData,
    MessageReceived,
    Registered,
)
from klagomal.core.i18n import _
from klagomal.core.model import CaseState, Contact, Kind
from klagomal.storage.tables import (
    attachments,
    cases,
    disposals,
    events,
    follow_tokens,
    notices,
    received_duplicates,
    received_messages,
)

if TYPE_CHECKING:  # pragma: no cover
    from cattrs import Converter
    from sqlalchemy.engine import Connection

__all__ = [
    "GDPR_RULE",
    "KEPT_FIELDS",
    "OWN_FIELDS",
    "RULE_KEYS",
    "TEXT_FIELDS",
    "Action",
    "Applied",
    "Disposal",
    "DisposalRule",
    "Planned",
    "RedactionResult",
    "RuleReader",
    "add_months",
    "anonymise",
    "apply",
    "check_rules",
    "disposed",
    "keeping_rule",
    "parse_rules",
    "plan",
    "record",
    "redact_case",
]

#: The rule id a manual GDPR anonymisation is logged under.
GDPR_RULE = "gdpr-anonymisering"

# -- planning -----------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """*day* plus *months* calendar months, on the month's last day when the
    day does not exist there.

    >>> add_months(dt.date(2026, 1, 31), 1)
    datetime.date(2026, 2, 28)
    >>> add_months(dt.date(2024, 2, 29), 12)
    datetime.date(2025, 2, 28)
    """
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    month += 1
    return dt.date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def _last_closing_due(today: dt.date, months: int) -> dt.date:
    """The latest closing day *c* with ``add_months(c, months) <= today``.

    ``add_months`` never decreases as *c* grows, so the days due are exactly
    those up to this one; it lets the database compare ``closed`` directly.
    """
    back = add_months(today, -months)
    if today.day == _calendar.monthrange(today.year, today.month)[1]:
        # On a month's last day, every later day of the month *months* back
        # is clamped to it too.
        back = back.replace(day=_calendar.monthrange(back.year, back.month)[1])
    return back


@attrs.frozen
class Planned:
    """A disposal that is due.

    :param action: what is to be done: the rule's action, less what an
        earlier disposal already did (an ``anonymisera`` rule on a case
        whose contact was pseudonymised only removes the texts) and what
        there is not (an anonymous case has no contact).
    :param closed: the day the case was closed.
    :param due: the day the rule made it due: *closed* plus the rule's months.
    """

    reference: str
    rule: DisposalRule
    action: Action
    closed: dt.date
    due: dt.date


def _in_scope(rule: DisposalRule) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if rule.kinds is not None:
        conditions.append(cases.c.kind.in_(sorted(k.value for k in rule.kinds)))
    if rule.departments is not None:
        conditions.append(cases.c.department.in_(sorted(rule.departments)))
    if rule.serious is not None:
        conditions.append(cases.c.serious == (sa.true() if rule.serious else sa.false()))
    return conditions


def _done(actions: Sequence[Action]) -> sa.Exists:
    """Whether the case's history, as it is now, was already disposed of by
    one of *actions*: a disposal logged no earlier than its latest event.
    A case that got new events since (a reply, an escalation and a new
    closing) holds new texts, and is due again."""
    latest = (
        sa.select(sa.func.max(events.c.recorded_at))
        .where(events.c.reference == disposals.c.reference)
        .correlate(disposals)
        .scalar_subquery()
    )
    return sa.exists().where(
        disposals.c.reference == cases.c.reference,
        disposals.c.action.in_([a.value for a in actions]),
        disposals.c.at >= latest,
    )


def plan(conn: Connection, rules: Sequence[DisposalRule], today: dt.date) -> list[Planned]:
    """The disposals due on *today*, by reference.

    A case is due under a removing rule when it is closed (state
    ``avslutat``; a case raised to the next level after closing is not), its
    closing day plus the rule's months is not after *today*, it is in the
    rule's scope and in no ``bevara`` rule's (which :func:`check_rules`
    already makes impossible, but archive law goes first whatever the rules
    say), and what the rule does was not done already.  A case due under
    several rules gets each action once, under the first rule in *rules*
    that asks for it; ``anonymisera`` covers the other two.

    One query per removing rule, filtered in the database.
    """
    keeps = [r for r in rules if r.action is Action.KEEP]
    contact_done = _done([Action.PSEUDONYMISE_CONTACT, Action.ANONYMISE])
    texts_done = _done([Action.REMOVE_TEXTS, Action.ANONYMISE])
    found: dict[str, dict[Action, Planned]] = {}
    for rule in rules:
        if rule.action is Action.KEEP:
            continue
        query = sa.select(
            cases.c.reference,
            cases.c.closed,
            cases.c.anonymous,
            contact_done.label("contact_done"),
            texts_done.label("texts_done"),
        ).where(
            cases.c.state == CaseState.AVSLUTAT.value,
            cases.c.closed.is_not(None),
            cases.c.closed <= _last_closing_due(today, rule.months),
            *_in_scope(rule),
        )
        for keep in keeps:
            if keep.overlaps(rule):
                query = query.where(sa.not_(sa.and_(sa.true(), *_in_scope(keep))))
        if rule.action is Action.PSEUDONYMISE_CONTACT:
            query = query.where(cases.c.anonymous == sa.false(), sa.not_(contact_done))
        elif rule.action is Action.REMOVE_TEXTS:
            query = query.where(sa.not_(texts_done))
        else:
            query = query.where(
                sa.not_(sa.and_(texts_done, sa.or_(contact_done, cases.c.anonymous == sa.true())))
            )
        for row in conn.execute(query):  # in any order: the result is sorted below
            contact = rule.action.contact and not row.anonymous and not row.contact_done
            texts = rule.action.texts and not row.texts_done
            action = (
                Action.ANONYMISE
                if contact and texts
                else Action.PSEUDONYMISE_CONTACT
                if contact
                else Action.REMOVE_TEXTS
            )
            planned = found.setdefault(row.reference, {})
            if action not in planned:
                planned[action] = Planned(
                    row.reference, rule, action, row.closed, add_months(row.closed, rule.months)
                )
    result: list[Planned] = []
    order = list(Action)
    for reference in sorted(found):
        planned = found[reference]
        if Action.ANONYMISE in planned:
            # It does what the others would.
            planned = {Action.ANONYMISE: planned[Action.ANONYMISE]}
        result += sorted(planned.values(), key=lambda p: order.index(p.action))
    return result


def keeping_rule(conn: Connection, rules: Sequence[DisposalRule], reference: str) -> DisposalRule | None:
    """The first ``bevara`` rule whose scope holds the case, if any: what a
    request for erasure must be weighed against (archive law goes first)."""
    row = conn.execute(
        sa.select(cases.c.kind, cases.c.department, cases.c.serious).where(cases.c.reference == reference)
    ).one_or_none()
    if row is None:
        raise CaseNotFoundError(reference)
    kind = Kind(row.kind)
    return next(
        (r for r in rules if r.action is Action.KEEP and r.covers(kind, row.department, bool(row.serious))),
        None,
    )


# -- redaction ----------------------------------------------------------------


@attrs.frozen
class RedactionResult:
    """What :func:`redact_case` replaced in one case.

    :param contact: whether a contact was replaced (``False`` for an
        anonymous case, or without ``contact=True``).
    :param fields: fields of event payloads that changed: each text, the
        contact, each sender, each intake note and each file name counts as one.
    :param events: events whose payload was rewritten.
    :param messages: received messages whose raw bytes were replaced.
    :param attachments: attachments whose data was dropped.
    :param notices: outbox notices whose address was cleared.
    """

    reference: str
    contact: bool = False
    fields: int = 0
    events: int = 0
    messages: int = 0
    attachments: int = 0
    notices: int = 0

    @property
    def detail(self) -> str:
        """What was replaced, in Swedish, without the data themselves: for the disposal log."""
        parts = []
        if self.contact:
            parts.append(_("kontaktuppgifterna ersatta"))
        parts.append(_("fält ersatta: {n}").format(n=self.fields))
        parts.append(_("händelser ändrade: {n}").format(n=self.events))
        parts.append(_("e-postmeddelanden rensade: {n}").format(n=self.messages))
        parts.append(_("bilagor rensade: {n}").format(n=self.attachments))
        if self.notices:
            parts.append(_("utskicksadresser rensade: {n}").format(n=self.notices))
        return "; ".join(parts)


def _personnummer_spellings(number: str) -> list[str]:
    """The ways a twelve-digit personnummer is commonly written."""
    digits = re.sub(r"\D", "", number)
    spellings = [number]
    if len(digits) == 12:
        spellings += [digits, f"{digits[:8]}-{digits[8:]}", f"{digits[2:8]}-{digits[8:]}", digits[2:]]
    elif len(digits) == 10:
        spellings += [digits, f"{digits[:6]}-{digits[6:]}"]
    return spellings


# Contact data of anyone, wherever a text holds it, besides the contact's own
# values: personnummer and samordningsnummer (with a valid date and control
# digit, so that other numbers stay), e-mail addresses and Swedish phone numbers.
_PERSONNUMMER = re.compile(r"(?<![\w+-])(?:\d{2})?(\d{6})[-+]?(\d{4})(?!\w)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w+])(?:\+46|0)(?:[ -]?\d){7,11}(?!\w)")


def _is_personnummer(ten: str) -> bool:
    """Whether ten digits ``YYMMDDNNNC`` are a personnummer or samordningsnummer."""
    month, day = int(ten[2:4]), int(ten[4:6])
    if not (1 <= month <= 12 and (1 <= day <= 31 or 61 <= day <= 91)):
        return False
    total = 0
    for i, digit in enumerate(ten[:9]):
        product = int(digit) * (2 - i % 2)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10 == int(ten[9])


def _scrubber(values: Iterable[str | None], replacement: str) -> Callable[[str], str]:
    """A function replacing each of *values* (whole words, any case), and
    any personnummer, e-mail address or phone number, with *replacement*."""
    words = sorted(
        {v.strip() for v in values if v is not None and len(v.strip()) >= 3 and v.strip() != replacement},
        key=len,
        reverse=True,
    )
    own = (
        re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE)
        if words
        else None
    )

    def personnummer(match: re.Match[str]) -> str:
        return replacement if _is_personnummer(match[1] + match[2]) else match[0]

    def scrub(text: str) -> str:
        if own is not None:
            text = own.sub(replacement, text)
        text = _PERSONNUMMER.sub(personnummer, text)
        text = _EMAIL.sub(replacement, text)
        return _PHONE.sub(replacement, text)

    return scrub


@attrs.define
class _Redactor:
    """Rewrites one payload, counting the fields it changes."""

    contact: bool
    texts: bool
    marker: str
    name_marker: str
    scrub: Callable[[str], str]
    scrub_notes: Callable[[str], str]
    fields: int = 0

    def text(self, value: str | None) -> str | None:
        """A free text: the marker when texts go, else scrubbed of the
        contact; an empty or missing one stays as it is."""
        if not value:
            return value
        new = self.marker if self.texts else self.scrub(value) if self.contact else value
        self.fields += new != value
        return new

    def name(self, value: str | None) -> str | None:
        """Something that names the person: the sender of a reply."""
        if value is None or not self.contact:
            return value
        self.fields += value != self.name_marker
        return self.name_marker

    def files(self, names: tuple[str, ...]) -> tuple[str, ...]:
        if not (self.contact or self.texts):
            return names
        self.fields += sum(name != self.name_marker for name in names)
        return tuple(self.name_marker for _name in names)

    def notes(self, notes: tuple[str, ...]) -> tuple[str, ...]:
        if self.texts:
            new = tuple(self.marker for _note in notes)
        elif self.contact:
            new = tuple(self.scrub_notes(note) for note in notes)
        else:
            return notes
        self.fields += sum(a != b for a, b in zip(notes, new, strict=True))
        return new

    def contact_value(self, contact: Contact | None) -> Contact | None:
        if contact is None or not self.contact:
            return contact
        new = Contact(name=self.name_marker, protected=contact.protected)
        self.fields += new != contact
        return new

    def payload(self, data: EventData) -> EventData:
        """*data* with its texts replaced as :data:`TEXT_FIELDS` says;
        everything else is left as it is."""
        fields = TEXT_FIELDS.get(type(data))
        if fields is None:  # test_every_event_field_is_classified keeps this from happening
            raise TypeError(f"disposal does not know the event payload {type(data).__name__}")
        changes: dict[str, Any] = {name: self.text(getattr(data, name)) for name in fields}
        if isinstance(data, Registered):
            changes["contact"] = self.contact_value(data.contact)
            changes["notes"] = self.notes(data.notes)
        elif isinstance(data, MessageReceived):
            changes["sender"] = self.name(data.sender)
            changes["attachments"] = self.files(data.attachments)
        elif isinstance(data, ContactCorrected):
            # The old values and the new go alike, as the contact does.
            changes["previous"] = self.contact_value(data.previous)
            changes["contact"] = self.contact_value(data.contact)
        elif isinstance(data, AttachmentAdded):
            changes["filename"] = self.files((data.filename,))[0]
        return attrs.evolve(data, **changes)


#: The longest name marker :func:`redact_case` takes: the narrowest column it
#: replaces a value in, the contact's name in ``cases``.
NAME_MARKER_LENGTH: int = cases.c.contact_name.type.length  # type: ignore[attr-defined]


def _utc(moment: dt.datetime) -> dt.datetime:
    """Stored timestamps are naive UTC (as :mod:`klagomal.storage.sql` keeps them)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _stub(marker: str) -> bytes:
    """The raw message left in place of a disposed one: a valid, empty message."""
    header = marker if marker.isascii() else email.header.Header(marker, "utf-8").encode()
    return f"X-Klagomal-Gallrat: {header}\r\n\r\n".encode("ascii")


def _identifying(contact: Contact | None, senders: Iterable[str | None]) -> list[str]:
    """What names or reaches the person, as it may be written in a text."""
    values: list[str] = []
    if contact is not None:
        values += [contact.name or "", contact.email or "", contact.phone or "", contact.address or ""]
        if contact.personnummer:
            values += _personnummer_spellings(contact.personnummer)
    for sender in senders:
        if sender:
            name, address = email.utils.parseaddr(sender)
            values += [sender, name, address]
    return [v for v in values if v]


def redact_case(
    conn: Connection,
    converter: Converter,
    reference: str,
    *,
    contact: bool,
    texts: bool,
    marker: str,
    name_marker: str | None = None,
) -> RedactionResult:
    """Replace the personal data of one case, on *conn* in the caller's
    transaction (the module docstring says exactly what).

    :param contact: replace the contact and everything that names or reaches
        the person.
    :param texts: replace every free text with *marker*.
    :param marker: what replaces a text, such as
        ``"[gallrat 2026-03-02 enligt KS 2025-11-12 § 45]"``.
    :param name_marker: what replaces the contact's name, a sender, a
        subject or a file name; default: :func:`_` ``("[gallrad]")``.  One
        line of at most :data:`NAME_MARKER_LENGTH` characters, so that it
        fits every column it is written to (``ValueError`` otherwise,
        before anything is written).

    The case row is locked first, then written from the replay of the
    rewritten events, so it equals :func:`klagomal.cases.lifecycle.replay`.
    Raises :class:`CaseNotFoundError` for an unknown reference.
    """
    from klagomal.cases.lifecycle import replay
    from klagomal.storage.sql import SqlUnitOfWork, search
    from klagomal.storage.sql.publications import redact_publications

    name_marker = name_marker if name_marker is not None else _("[gallrad]")
    if not 0 < len(name_marker) <= NAME_MARKER_LENGTH or "\n" in name_marker:
        raise ValueError(f"name_marker must be one line of 1 to {NAME_MARKER_LENGTH} characters")
    locked = conn.execute(
        sa.select(cases.c.reference).where(cases.c.reference == reference).with_for_update()
    ).one_or_none()
    if locked is None:
        raise CaseNotFoundError(reference)
    if contact:
        # The person is no longer known: nobody follows the case by a link ("Följ ditt ärende").
        conn.execute(
            sa.update(follow_tokens)
            .where(follow_tokens.c.reference == reference, follow_tokens.c.revoked_at.is_(None))
            .values(revoked_at=dt.datetime.now(dt.UTC).replace(tzinfo=None))
        )
    # Locking reads from here on: they see what a step committed since this
    # transaction's snapshot was taken (a non-locking read at MariaDB's
    # REPEATABLE READ would not), so that it is rewritten too and the case
    # row is written from the whole history, never from part of it.
    rows = conn.execute(
        sa.select(events).where(events.c.reference == reference).order_by(events.c.seq).with_for_update()
    ).all()
    history = [
        Event(
            reference=row.reference,
            seq=row.seq,
            day=row.day,
            recorded_at=row.recorded_at.replace(tzinfo=dt.UTC),
            data=converter.structure(json.loads(row.payload), EventData),  # type: ignore[arg-type]
            actor=row.actor,
        )
        for row in rows
    ]
    messages = conn.execute(
        sa.select(received_messages.c.id, received_messages.c.sender, received_messages.c.subject)
        .where(received_messages.c.reference == reference)
        .with_for_update()
    ).all()
    files = conn.execute(
        sa.select(attachments.c.filename)
        .where(attachments.c.reference == reference, attachments.c.filename.is_not(None))
        .with_for_update()
    ).scalars()
    registered = history[0].data if history and isinstance(history[0].data, Registered) else None
    person = _identifying(
        registered.contact if registered is not None else None,
        [
            *(e.data.sender for e in history if isinstance(e.data, MessageReceived)),
            *(m.sender for m in messages),
        ],
    )
    # A corrected contact's old and new values name the person too.
    for e in history:
        if isinstance(e.data, ContactCorrected):
            person += _identifying(e.data.previous, []) + _identifying(e.data.contact, [])
    subjects = [m.subject for m in messages if m.subject]
    file_names = [
        *files,
        *(name for e in history if isinstance(e.data, MessageReceived) for name in e.data.attachments),
        *(e.data.filename for e in history if isinstance(e.data, AttachmentAdded)),
    ]
    redactor = _Redactor(
        contact=contact,
        texts=texts,
        marker=marker,
        name_marker=name_marker,
        scrub=_scrubber([*person, *file_names], name_marker),
        scrub_notes=_scrubber([*person, *subjects, *file_names], name_marker),
    )
    rewritten: list[Event] = []
    changed = 0
    for row, event in zip(rows, history, strict=True):
        before = redactor.fields
        data = redactor.payload(event.data)
        if redactor.fields != before:
            changed += 1
            conn.execute(
                sa.update(events)
                .where(events.c.id == row.id)
                .values(payload=json.dumps(converter.unstructure(data, EventData), ensure_ascii=False))
            )
        rewritten.append(attrs.evolve(event, data=data))
    if contact or texts:
        case = replay(rewritten)
        values = SqlUnitOfWork._case_row(case)
        del values["reference"]
        conn.execute(sa.update(cases).where(cases.c.reference == reference).values(values))
        # A removed text or contact must not stay findable.
        search.index_case(conn, case, rewritten)
        # Nor stay published: what was published is replaced and withdrawn.
        redact_publications(conn, reference, marker, dt.datetime.now(dt.UTC))

    n_messages = n_attachments = n_notices = 0
    if contact or texts:
        for message in messages:
            conn.execute(
                sa.update(received_messages)
                .where(received_messages.c.id == message.id)
                .values(
                    raw=_stub(name_marker),
                    sender=sa.case((received_messages.c.sender.is_(None), None), else_=name_marker),
                    subject=sa.case((received_messages.c.subject.is_(None), None), else_=name_marker),
                    reason=sa.case((received_messages.c.reason.is_(None), None), else_=name_marker),
                    # The file a message was read from may be named after the person.
                    source_file=sa.case((received_messages.c.source_file.is_(None), None), else_=name_marker),
                )
            )
            conn.execute(
                sa.update(received_duplicates)
                .where(
                    received_duplicates.c.message_id == message.id,
                    received_duplicates.c.source_file.is_not(None),
                )
                .values(source_file=name_marker)
            )
        n_messages = len(messages)
        n_attachments = conn.execute(
            sa.update(attachments)
            .where(attachments.c.reference == reference)
            .values(
                data=None,
                filename=sa.case((attachments.c.filename.is_(None), None), else_=name_marker),
            )
        ).rowcount
    if contact:
        n_notices = conn.execute(
            sa.update(notices)
            .where(
                notices.c.reference == reference,
                sa.or_(notices.c.address.is_not(None), notices.c.last_error.is_not(None)),
            )
            .values(address=None, last_error=None)
        ).rowcount
    return RedactionResult(
        reference=reference,
        contact=contact and registered is not None and registered.contact is not None,
        fields=redactor.fields,
        events=changed,
        messages=n_messages,
        attachments=n_attachments,
        notices=n_notices,
    )


# -- the log ------------------------------------------------------------------


@attrs.frozen
class Disposal:
    """One row of the disposal log: what was done to a case, under which
    rule and decision, by whom and when.  ``detail`` says what kinds of data
    were replaced, never what they were."""

    reference: str
    rule: str
    decision: str
    action: Action
    user_id: str
    detail: str
    at: dt.datetime
    day: dt.date
    id: int | None = None


def record(
    conn: Connection,
    reference: str,
    rule: DisposalRule | str,
    action: Action,
    *,
    decision: str | None = None,
    user_id: str,
    at: dt.datetime,
    day: dt.date,
    detail: str,
) -> Disposal:
    """Log a disposal of *reference*: under *rule* (a :class:`DisposalRule`,
    whose decision is logged, or the id of a manual one such as
    :data:`GDPR_RULE`, with *decision*)."""
    rule_id = rule.id if isinstance(rule, DisposalRule) else rule
    decision = decision if decision is not None else rule.decision if isinstance(rule, DisposalRule) else None
    if not decision or not decision.strip():
        raise ConfigurationError(
            _("Gallring av {reference} loggas inte utan det beslut den sker enligt").format(
                reference=reference
            )
        )
    entry = Disposal(
        reference=reference,
        rule=rule_id,
        decision=decision.strip()[:DECISION_LENGTH],
        action=Action(action),
        user_id=user_id,
        detail=detail,
        at=at,
        day=day,
    )
    key = conn.execute(
        sa.insert(disposals).values(
            reference=entry.reference,
            rule=entry.rule,
            decision=entry.decision,
            action=entry.action.value,
            user_id=entry.user_id,
            detail=entry.detail,
            at=_utc(entry.at),
            day=entry.day,
        )
    ).inserted_primary_key
    return attrs.evolve(entry, id=None if key is None else int(key[0]))


def disposed(conn: Connection, reference: str) -> list[Disposal]:
    """The disposal log of a case, oldest first."""
    rows = conn.execute(
        sa.select(disposals).where(disposals.c.reference == reference).order_by(disposals.c.id)
    ).all()
    return [
        Disposal(
            reference=row.reference,
            rule=row.rule,
            decision=row.decision,
            action=Action(row.action),
            user_id=row.user_id,
            detail=row.detail,
            at=row.at.replace(tzinfo=dt.UTC),
            day=row.day,
            id=row.id,
        )
        for row in rows
    ]


# -- performing ---------------------------------------------------------------


@attrs.frozen
class Applied:
    """A disposal performed: what was planned, what was replaced, and the log entry."""

    planned: Planned
    result: RedactionResult
    disposal: Disposal


def apply(
    conn: Connection,
    converter: Converter,
    planned: Sequence[Planned],
    *,
    user_id: str,
    at: dt.datetime,
    day: dt.date,
) -> list[Applied]:
    """Perform and log each of *planned* (from :func:`plan`), on *conn* in
    the caller's transaction.  A case that is no longer closed on the day it
    was planned for (raised to the next level meanwhile, also by a step
    another transaction committed while this one ran) is left alone and
    not in the result.  Irreversible once committed."""
    done: list[Applied] = []
    for item in planned:
        if item.action is Action.KEEP:
            continue
        # A locking read: it sees the case as it is now, with a step another
        # transaction committed since the plan was made (MariaDB's
        # REPEATABLE READ would show the plan's snapshot), and keeps the
        # case as it is until the disposal is committed.
        state = conn.execute(
            sa.select(cases.c.state, cases.c.closed)
            .where(cases.c.reference == item.reference)
            .with_for_update()
        ).one_or_none()
        if state is None or state.state != CaseState.AVSLUTAT.value or state.closed != item.closed:
            continue
        result = redact_case(
            conn,
            converter,
            item.reference,
            contact=item.action.contact,
            texts=item.action.texts,
            marker=_("[gallrat {day} enligt {decision}]").format(
                day=day.isoformat(), decision=item.rule.decision
            ),
        )
        detail = _("{action} enligt regeln '{rule}', {months} månader efter avslut {closed}: {what}").format(
            action=item.action.label,
            rule=item.rule.id,
            months=item.rule.months,
            closed=item.closed.isoformat(),
            what=result.detail,
        )
        entry = record(
            conn, item.reference, item.rule, item.action, user_id=user_id, at=at, day=day, detail=detail
        )
        done.append(Applied(item, result, entry))
    return done


def anonymise(
    conn: Connection,
    converter: Converter,
    reference: str,
    *,
    decision: str,
    user_id: str,
    at: dt.datetime,
    day: dt.date,
) -> Applied:
    """Anonymise one person's case on request (GDPR), keeping the
    statistics: the contact and every text are replaced, as by an
    ``anonymisera`` rule, and the log names :data:`GDPR_RULE` and
    *decision* (the decision on the request).  The caller weighs the
    request against archive law first (:func:`keeping_rule`)."""
    row = conn.execute(sa.select(cases.c.closed).where(cases.c.reference == reference)).one_or_none()
    if row is None:
        raise CaseNotFoundError(reference)
    rule = DisposalRule(GDPR_RULE, decision, Action.ANONYMISE, source=_("begäran om radering"))
    result = redact_case(
        conn,
        converter,
        reference,
        contact=True,
        texts=True,
        marker=_("[anonymiserat {day} enligt {decision}]").format(day=day.isoformat(), decision=decision),
        name_marker=_("[anonymiserad]"),
    )
    entry = record(
        conn, reference, rule, Action.ANONYMISE, user_id=user_id, at=at, day=day, detail=result.detail
    )
    closed = row.closed or day
    return Applied(Planned(reference, rule, Action.ANONYMISE, closed, day), result, entry)

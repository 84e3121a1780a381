"""The records' service: what the law asks of the records (R27), for
:class:`~klagomal.app.Klagomal`: a person's export and anonymisation
(GDPR), disposal runs, the public register and extracts, the audit log's
reads and checks, and the whole database's export.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, cast

import attrs
import sqlalchemy as sa

from klagomal.cases.amendments import OUTCOME
from klagomal.cases.service import CaseService
from klagomal.core.errors import InvalidInputError, KlagomalError
from klagomal.core.events import (
    AttachmentAdded,
    ContactCorrected,
    Event,
    MessageReceived,
    Registered,
    event_label,
)
from klagomal.core.i18n import _
from klagomal.core.serialization import EXPORT_FORMAT, EXPORT_VERSION
from klagomal.notices.webhook_transfer import export_delivery, export_subscription
from klagomal.records import audit, disposal, gdpr
from klagomal.records.access import SYSTEM_USER, Operation, Role
from klagomal.records.redaction import Redaction, known_names

if TYPE_CHECKING:  # pragma: no cover
    import datetime as dt

    from klagomal.context import Context
    from klagomal.core.model import Case, Contact
    from klagomal.notices.outbox import Notice
    from klagomal.notices.webhooks import WebhookStorage
    from klagomal.records.gdpr import PersonQuery
    from klagomal.records.public_records import PublicExtract, RegisterEntry
    from klagomal.records.public_requests import PublicRequest
    from klagomal.records.publication import PublishedCase
    from klagomal.storage.base import UnitOfWork

__all__ = ["RecordsService"]

#: The most cases one page of the public list of answered cases holds.
PUBLISHED_MAX = 500

# The facade's logger: what operators' logging configuration names.
log = logging.getLogger("klagomal.app")


@attrs.frozen
class RecordsService:
    """Public records, secrecy, GDPR, disposal and the audit log, for one :class:`Context`."""

    ctx: Context

    # -- public records ----------------------------------------------------------

    def register_list(self, start: dt.date, end: dt.date, department: str | None) -> list[RegisterEntry]:
        """The public register entries of the cases received from *start* to *end*."""
        ctx = self.ctx
        ctx.allowed(Operation.REGISTER_LIST)
        # Imported here: ``klagomal show``, which reads the disposals through
        # this service, has no use for the reports (issue 19, item 11).
        from klagomal.reports.service import received_query

        query = received_query(ctx.organisation, start, end, department, "register-extract")
        with ctx.transaction() as uow:
            found = uow.find(query)
            ctx.audit_list(uow, Operation.REGISTER_LIST, [c.reference for c in found], "register list")
        # Imported here: the masking it brings loads phonenumbers' data, which
        # no other command needs.
        from klagomal.records.public_records import register_entries

        return register_entries(found, ctx.organisation)

    def public_requests(
        self, start: dt.date | None, end: dt.date | None, references: Sequence[str] | None
    ) -> list[PublicRequest]:
        """The public view of the cases received from *start* to *end* and/or
        with these *references*, for anyone, with or without a user."""
        ctx = self.ctx
        from klagomal.storage.base import CaseQuery

        query = CaseQuery(
            received_from=start, received_to=end, references=None if references is None else list(references)
        )
        with ctx.transaction() as uow:
            found = sorted(uow.find(query), key=lambda c: (c.received, c.reference))
            histories = uow.histories([c.reference for c in found]) if found else {}
            ctx.audit_list(uow, Operation.REGISTER_LIST, [c.reference for c in found], "open311")
        # Imported here, as for the register list: the masking loads phonenumbers' data.
        from klagomal.records.public_requests import public_request

        today = ctx.clock.today()
        return [
            public_request(case, histories.get(case.reference, []), ctx.organisation, today) for case in found
        ]

    def public_extract(self, reference: str) -> PublicExtract:
        """The case as it may be handed out to anyone who asks."""
        ctx = self.ctx
        ctx.allowed(Operation.EXTRACT)
        with ctx.denials(Operation.EXTRACT), ctx.transaction() as uow:
            case = uow.get(reference)
            ctx.check(Operation.EXTRACT, case)
            history = uow.history(reference)
            ctx.audit(uow, Operation.EXTRACT, [reference], f"secret: {case.secrecy or '-'}")
        from klagomal.records.public_records import public_extract

        return public_extract(case, history, ctx.organisation, ctx.clock.today())

    # -- the public list of answered cases ---------------------------------------------

    def publish(self, reference: str, actor: str | None, expected_version: int | None) -> Case:
        """Publish the answered case (see :meth:`klagomal.app.Klagomal.publish`):
        the event and the masked texts in one transaction."""
        ctx = self.ctx
        from klagomal.records import publication

        def store(uow: UnitOfWork, case: Case) -> None:
            history = uow.history(case.reference)
            publication.check_history(case, history, uow.current_publication(case.reference) is not None)
            description, answer = publication.masked_texts(case, history, ctx.organisation, ctx.clock.today())
            by = actor or (ctx.user.id if ctx.user is not None else SYSTEM_USER.id)
            uow.add_publication(case.reference, case.department, description, answer, at=ctx.utcnow(), by=by)

        return CaseService(ctx).step(
            reference,
            publication.PUBLISH,
            lambda c, _today: publication.publish(c, ctx.organisation),
            actor,
            expected_version,
            before_commit=store,
        )

    def unpublish(self, reference: str, reason: str, actor: str | None, expected_version: int | None) -> Case:
        """Withdraw the case from the public list (see :meth:`klagomal.app.Klagomal.unpublish`)."""
        ctx = self.ctx
        from klagomal.records import publication

        def withdraw(uow: UnitOfWork, case: Case) -> None:
            publication.check_published(case, uow.current_publication(case.reference) is not None)
            by = actor or (ctx.user.id if ctx.user is not None else SYSTEM_USER.id)
            uow.withdraw_publication(case.reference, at=ctx.utcnow(), by=by, reason=reason.strip())

        return CaseService(ctx).step(
            reference,
            publication.UNPUBLISH,
            lambda c, _today: publication.unpublish(c, reason),
            actor,
            expected_version,
            before_commit=withdraw,
        )

    def published(self, limit: int, offset: int, department: str | None) -> list[PublishedCase]:
        """The public list of answered cases, newest first, for anyone."""
        ctx = self.ctx
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PUBLISHED_MAX:
            raise InvalidInputError(
                _("antalet ska vara ett heltal från 1 till {n}").format(n=PUBLISHED_MAX),
                step="published-list",
            )
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidInputError(_("början ska vara ett heltal från 0"), step="published-list")
        if department is not None and department not in ctx.organisation.departments:
            raise InvalidInputError(
                _("{department} är ingen förvaltning i {kommun}").format(
                    department=department, kommun=ctx.organisation.name
                ),
                step="published-list",
            )
        with ctx.transaction() as uow:
            rows = uow.publications(limit=limit, offset=offset, department=department)
            shown = self._publishable(uow, [row.reference for row in rows])
            listed = [(row, shown[row.reference]) for row in rows if row.reference in shown]
            ctx.audit_list(uow, Operation.REGISTER_LIST, [row.reference for row, _c in listed], "publicerade")
        from klagomal.records.publication import published_case

        return [
            published_case(case, ctx.organisation, row.description, row.answer, row.published_at)
            for row, case in listed
        ]

    def published_case(self, reference: str) -> PublishedCase | None:
        """One case of the public list, or ``None``."""
        ctx = self.ctx
        with ctx.transaction() as uow:
            row = uow.current_publication(reference)
            if row is None:
                return None
            case = self._publishable(uow, [reference]).get(reference)
            if case is None:
                return None
            ctx.audit(uow, Operation.REGISTER_LIST, [reference], "publicerat")
        from klagomal.records.publication import published_case

        return published_case(case, ctx.organisation, row.description, row.answer, row.published_at)

    @staticmethod
    def _publishable(uow: UnitOfWork, references: Sequence[str]) -> dict[str, Case]:
        """The cases of *references* that may be shown in the public list now:
        neither secret, wholly or in part, nor of a protected person.  The
        table's withdrawals keep this so (:mod:`klagomal.storage.sql.publications`);
        this is the second lock on the door."""
        if not references:
            return {}
        from klagomal.records.redaction import Markings
        from klagomal.storage.base import CaseQuery

        found = uow.find(CaseQuery(references=list(references)))
        histories = uow.histories([c.reference for c in found])
        return {
            c.reference: c
            for c in found
            if c.secrecy is None and not c.protected and not Markings.of(histories.get(c.reference, [])).any
        }

    # -- a person's data (GDPR) ------------------------------------------------------

    def _person_cases(self, uow: UnitOfWork, query: PersonQuery) -> list[Case]:
        """The person's cases the acting user may handle personal data of."""
        scope = self.ctx.access.scope(self.ctx.user or SYSTEM_USER)
        return [case for ref in gdpr.find_cases(uow.conn, query) if scope.covers(case := uow.get(ref))]  # type: ignore[attr-defined]

    def person_export(self, query: PersonQuery) -> dict[str, Any]:
        """Everything klagomal holds on one person (GDPR article 15)."""
        ctx = self.ctx
        user = ctx.allowed(Operation.PERSON_DATA)
        query = query.checked(ctx.clock.today())
        with ctx.transaction() as uow:
            found = self._person_cases(uow, query)
            exported = [self._person_case(uow, case) for case in found]
            unattached = (
                uow.received(ids=gdpr.unattached_messages(uow.conn, query))
                if user.role is Role.SYSTEM_OWNER
                else []
            )
            ctx.audit(
                uow,
                Operation.PERSON_DATA,
                [c.reference for c in found] or [None],
                f"export: {query.describe()}",
            )
        return {
            "format": "klagomal-person",
            "made": gdpr.export_date(ctx.clock).isoformat(),
            "kommun": ctx.organisation.name,
            "information": gdpr.information(ctx.organisation, ctx.disposal_rules, found),
            "cases": exported,
            "unattached": [
                {"received_at": m.received_at.isoformat(), "subject": m.subject, "sender": m.sender}
                for m in unattached
            ],
        }

    def _person_case(self, uow: UnitOfWork, case: Case) -> dict[str, Any]:
        """One case of a person's export, as the acting user may see it: a
        user who may not see skyddade personuppgifter gets the stand-in for
        the contact, no addresses, and the texts masked (R27)."""
        shown = self.ctx.redaction(case)
        history = uow.history(case.reference)
        units = self.ctx.organisation.units
        responsible = gdpr.responsible_by_step(history)
        return {
            "reference": case.reference,
            "kind": case.kind.label,
            "unit": units[case.unit].name if case.unit in units else case.unit,
            "received": case.received.isoformat(),
            "state": case.state.label,
            "contact": _contact(shown.case(case).contact, protected=case.protected),
            "events": [self._person_event(e, history, shown, *responsible[e.seq]) for e in history],
            "notices": [_person_notice(n) for n in shown.notices(uow.outbox(reference=case.reference))],
            "messages": _person_messages(uow, case, shown),
            "disposed": [
                {"day": d.day.isoformat(), "action": d.action, "decision": d.decision}
                for d in disposal.disposed(uow.conn, case.reference)  # type: ignore[attr-defined]
            ],
        }

    def _person_event(
        self, event: Event, history: Sequence[Event], shown: Redaction, handler: str | None, unit: str
    ) -> dict[str, Any]:
        """One step of a person's case, its texts masked for a user who may
        not see who a protected person is."""
        channels = {c.id: c.label for c in self.ctx.registry.channels.values()}
        texts = gdpr.texts_of(event.data)
        if isinstance(event.data, ContactCorrected):
            # The old values and the new: what the kommun holds on them (article 15).
            from klagomal.cases.amendments import correction_lines

            texts = correction_lines(shown.event(event).data) + texts  # type: ignore[arg-type]
        if isinstance(event.data, AttachmentAdded):
            attached = shown.event(event).data
            assert isinstance(attached, AttachmentAdded)
            texts = [f"{attached.filename} ({attached.media_type}, {attached.size} byte)"]
        if shown.hides_contact:
            from klagomal.records.masking import mask_text

            names = known_names(history)
            today = self.ctx.clock.today()
            texts = [mask_text(text, names=names, today=today).text for text in texts]
        return {
            "seq": event.seq,
            "day": event.day.isoformat(),
            "label": event_label(event.type),
            "actor": event.actor,
            "actor_name": gdpr.actor_name(event, handler, unit, self.ctx.organisation, channels),
            "details": gdpr.event_details(shown.event(event), self.ctx.organisation, channels),
            "texts": texts,
        }

    def anonymise_person(self, query: PersonQuery, decision: str) -> list[disposal.Applied]:
        """Anonymise one person in every case the acting user may handle
        their data in (GDPR article 17, R27)."""
        ctx = self.ctx
        ctx.allowed(Operation.PERSON_DATA)
        if not decision or not decision.strip():
            raise InvalidInputError(
                _("ange beslutet som anonymiseringen görs enligt (till exempel diarienummer)"),
                step="anonymise",
            )
        query = query.checked(ctx.clock.today())
        with ctx.denials(Operation.PERSON_DATA):
            CaseService(ctx).business_day("anonymise")
        return ctx.write(lambda uow: self._anonymised(uow, query, decision.strip()))

    def _anonymised(self, uow: UnitOfWork, query: PersonQuery, decision: str) -> list[disposal.Applied]:
        """Anonymise the person's cases in *uow*, or none if a rule keeps one."""
        ctx = self.ctx
        user = ctx.user or SYSTEM_USER
        conn = uow.conn  # type: ignore[attr-defined]
        found = self._person_cases(uow, query)
        for case in found:
            kept = disposal.keeping_rule(conn, ctx.disposal_rules, case.reference)
            if kept is not None:
                raise InvalidInputError(
                    _(
                        "ärendet ska bevaras enligt regeln '{rule}' ({decision}); inget har anonymiserats"
                    ).format(rule=kept.id, decision=kept.decision),
                    step="anonymise",
                    reference=case.reference,
                )
        done = [
            disposal.anonymise(
                conn,
                ctx.converter,
                case.reference,
                decision=decision,
                user_id=user.id,
                at=ctx.utcnow(),
                day=ctx.clock.today(),
            )
            for case in found
        ]
        ctx.audit(
            uow,
            Operation.PERSON_DATA,
            [c.reference for c in found] or [None],
            f"anonymise: {query.describe()}",
        )
        return done

    # -- disposal ----------------------------------------------------------------

    def run_disposal(self, dry_run: bool) -> list[disposal.Planned]:
        """Dispose of what the kommun's disposal rules say is due today."""
        ctx = self.ctx
        ctx.allowed(Operation.DISPOSE)
        with ctx.denials(Operation.DISPOSE):
            # A date set ahead would dispose of what is not yet due: never.
            today = CaseService(ctx).business_day("gallra")
        return ctx.write(lambda uow: self._disposed(uow, today, dry_run))

    def _disposed(self, uow: UnitOfWork, today: dt.date, dry_run: bool) -> list[disposal.Planned]:
        """Plan the disposal due *today* in *uow*, and apply it unless *dry_run*."""
        ctx = self.ctx
        user = ctx.user or SYSTEM_USER
        conn = uow.conn  # type: ignore[attr-defined]
        planned = disposal.plan(conn, ctx.disposal_rules, today)
        if dry_run:
            ctx.audit(uow, Operation.DISPOSE, [None], f"dry run: {len(planned)} planned")
            return planned
        applied = disposal.apply(conn, ctx.converter, planned, user_id=user.id, at=ctx.utcnow(), day=today)
        # The HTTP API's kept answers hold case data for a day, out of the
        # rules' reach: those older go with every run too.
        from klagomal.context import audit_time

        uow.purge_idempotency_keys(audit_time())
        for item in applied:
            ctx.audit(
                uow,
                Operation.DISPOSE,
                [item.planned.reference],
                f"{item.planned.action.value} ({item.planned.rule.id})",
            )
        return [item.planned for item in applied]

    def disposals(self, reference: str) -> list[disposal.Disposal]:
        """What disposal and anonymisation removed from the case."""
        with self.ctx.reading(reference, "disposals") as (uow, _case):
            return disposal.disposed(uow.conn, reference)

    # -- the audit log -------------------------------------------------------------

    def audit_verify(self, anchors: Iterable[tuple[int, str]]) -> audit.AuditVerification:
        """Check the audit log's hash chain and *anchors*; the check is logged."""
        ctx = self.ctx
        ctx.allowed(Operation.AUDIT)
        anchors = list(anchors)
        # Read in a snapshot, so that a long check does not hold the write
        # lock (SQLite); the check itself is logged afterwards.
        with ctx.snapshot() as uow:
            result = audit.verify(uow.conn, anchors=anchors)
        try:
            with ctx.transaction() as uow:
                ctx.audit(
                    uow,
                    Operation.AUDIT,
                    [None],
                    f"verify: {result.checked} entries, {len(result.problems) + result.omitted} problems, "
                    f"{len(anchors)} anchors",
                )
        except KlagomalError as error:
            if result.ok:
                raise
            # A log broken so that nothing can be logged (its head row
            # deleted): the check that says so must still reach its reader.
            log.warning(_("klagomal: kontrollen av granskningsloggen kunde inte skrivas i loggen: %s"), error)
        return result

    def audit_log(
        self, reference: str | None, user_id: str | None, limit: int | None
    ) -> list[audit.StoredAuditEntry]:
        """The audit log's entries, oldest first."""
        ctx = self.ctx
        ctx.allowed(Operation.AUDIT)
        with ctx.transaction() as uow:
            found = audit.entries(uow.conn, reference=reference, user_id=user_id, limit=limit)
            ctx.audit(uow, Operation.AUDIT, [reference], f"read log: user={user_id or '-'}")
        return found

    # -- the whole database's export ------------------------------------------------

    def export(self, include_protected: bool, include_secrets: bool = False) -> dict[str, Any]:
        """The whole database as one JSON-ready object."""
        ctx = self.ctx
        ctx.allowed(Operation.EXPORT)
        with ctx.snapshot() as uow:
            protected = _protected_references(uow, include_protected)
            exported = {
                **_export_head(uow),
                "cases": list(self._export_cases(uow, protected)),
                "received": list(_export_received(uow, protected)),
                "webhooks": list(_export_webhooks(uow, include_secrets)),
                "webhook_deliveries": list(_export_deliveries(uow)),
            }
        self._audit_export(len(exported["cases"]), include_protected, include_secrets)
        return exported

    def export_to(self, stream: IO[str], include_protected: bool, include_secrets: bool = False) -> int:
        """Write :meth:`export`'s JSON to *stream* a few hundred cases at a
        time, from one snapshot; return the number of cases."""
        ctx = self.ctx
        ctx.allowed(Operation.EXPORT)
        count = 0
        with ctx.snapshot() as uow:
            protected = _protected_references(uow, include_protected)
            head = json.dumps(_export_head(uow), ensure_ascii=False, indent=1)
            # The head without its closing brace, then the cases one by one,
            # each indented as json.dumps would indent it at that depth.
            stream.write(head[: -len("\n}")])
            count = _write_array(stream, "cases", self._export_cases(uow, protected))
            _write_array(stream, "received", _export_received(uow, protected))
            _write_array(stream, "webhooks", _export_webhooks(uow, include_secrets))
            _write_array(stream, "webhook_deliveries", _export_deliveries(uow))
            stream.write("\n}\n")
        self._audit_export(count, include_protected, include_secrets)
        return count

    def _audit_export(self, count: int, include_protected: bool, include_secrets: bool) -> None:
        detail = f"{count} ärenden" + (", med skyddade personuppgifter" if include_protected else "")
        detail += ", med webhookarnas hemligheter" if include_secrets else ""
        with self.ctx.transaction() as uow:
            self.ctx.audit(uow, Operation.EXPORT, [None], detail)

    def _export_cases(self, uow: UnitOfWork, protected: frozenset[str]) -> Iterator[dict[str, Any]]:
        converter, today = self.ctx.converter, self.ctx.clock.today()
        for history, notices in uow.iter_export():
            events = [converter.unstructure(e, Event) for e in history]
            if history[0].reference in protected:
                events = _protected_export(history, events, today)
                notices = [attrs.evolve(n, address=None) for n in notices]
            yield {
                "reference": history[0].reference,
                "events": events,
                "notices": [_export_notice(n) for n in notices],
            }


def _contact(contact: Contact | None, *, protected: bool) -> dict[str, Any]:
    """The contact of a person's case, as shown, under Swedish headings."""
    return {
        _("Namn"): contact.name if contact else None,
        _("E-post"): contact.email if contact else None,
        _("Telefon"): contact.phone if contact else None,
        _("Adress"): contact.address if contact else None,
        _("Personnummer"): contact.personnummer if contact else None,
        _("Skyddade personuppgifter"): _("ja") if protected else None,
    }


def _person_notice(notice: Notice) -> dict[str, Any]:
    return {
        "kind": notice.kind,
        "recipient": notice.recipient,
        "status": notice.status_label,
        "code": notice.status,
        "way": notice.way,
        "address": notice.address if notice.recipient == "person" else None,
        "sent_at": notice.sent_at.isoformat() if notice.sent_at else None,
    }


def _person_messages(uow: UnitOfWork, case: Case, shown: Redaction) -> list[dict[str, Any]]:
    """The e-mails received in a person's case, with the names of the files kept."""
    files = [shown.attachment(a).filename or "-" for a in uow.attachments_of(case.reference)]
    return [
        {
            "received_at": m.received_at.isoformat(),
            "subject": m.subject,
            "sender": m.sender,
            "attachments": files,
        }
        for m in map(shown.received, uow.received(reference=case.reference))
        # A document a handler attached is no e-mail: it is a step of the case.
        if m.outcome != OUTCOME
    ]


def _protected_references(uow: UnitOfWork, include_protected: bool) -> frozenset[str]:
    """The cases whose contact is protected, unless they are to be included."""
    if include_protected:
        return frozenset()
    from klagomal.storage.tables import cases

    rows = uow.conn.execute(sa.select(cases.c.reference).where(cases.c.contact_protected))  # type: ignore[attr-defined]
    return frozenset(row.reference for row in rows)


def _write_array(stream: IO[str], name: str, items: Iterator[dict[str, Any]]) -> int:
    """``,\n "name": [...]`` as ``json.dumps(..., indent=1)`` writes it
    at the second level, one item at a time; return how many."""
    stream.write(f',\n "{name}": [')
    count = 0
    for item in items:
        text = json.dumps(item, ensure_ascii=False, indent=1).replace("\n", "\n  ")
        stream.write(("\n  " if count == 0 else ",\n  ") + text)
        count += 1
    stream.write("\n ]" if count else "]")
    return count


def _export_head(uow: UnitOfWork) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "references": {str(year): last for year, last in uow.references().items()},
    }


def _export_webhooks(uow: UnitOfWork, include_secrets: bool) -> Iterator[dict[str, Any]]:
    """Every webhook subscription, also removed ones; the signing secrets
    only with *include_secrets* (klagomal.notices.webhook_transfer)."""
    store = cast("WebhookStorage", uow)
    for subscription in store.subscriptions(removed=True):
        yield export_subscription(subscription, include_secret=include_secrets)


def _export_deliveries(uow: UnitOfWork) -> Iterator[dict[str, Any]]:
    """Every webhook delivery with its state, oldest first."""
    yield from map(export_delivery, cast("WebhookStorage", uow).iter_webhook_deliveries())


def _export_received(uow: UnitOfWork, protected: frozenset[str]) -> Iterator[dict[str, Any]]:
    """Every received message with its raw bytes and attachments (base64),
    so that moving to another database keeps the quarantine and the
    original e-mails too.  A protected person's messages are replaced by
    a stub that says so."""
    hidden = Redaction(contact_visible=False, protected=True)
    duplicates = uow.duplicates_of()
    for message, files in uow.iter_received():
        secret = message.reference in protected
        if secret:
            message = hidden.received(message)
            files = [hidden.attachment(f) for f in files]
        yield {
            "message_key": message.message_key,
            "received_at": message.received_at.isoformat(),
            "source": message.source,
            "sender": message.sender,
            "subject": message.subject,
            "outcome": message.outcome,
            "reason": message.reason,
            "reference": message.reference,
            "size": message.size,
            "source_file": None if secret else message.source_file,
            "duplicates": [
                {"received_at": at.isoformat(), "source": source, "source_file": None if secret else file}
                for at, source, file in duplicates.get(message.id or 0, [])
            ],
            "raw": base64.b64encode(message.raw).decode("ascii"),
            "attachments": [
                {
                    "filename": f.filename,
                    "content_type": f.content_type,
                    "size": f.size,
                    "data": None if f.data is None else base64.b64encode(f.data).decode("ascii"),
                }
                for f in files
            ],
        }


def _export_notice(notice: Notice) -> dict[str, Any]:
    """A notice as the export writes it: everything but its row id and case,
    times as ISO 8601 UTC, unset fields left out."""
    item: dict[str, Any] = {"seq": notice.seq, "kind": notice.kind, "status": notice.status}
    for name in ("recipient", "way", "message_id", "attempts", "address", "last_error"):
        value = getattr(notice, name)
        if value not in (None, 0) or name == "recipient":
            item[name] = value
    for name in ("next_attempt", "attempted_at", "sent_at"):
        moment = getattr(notice, name)
        if moment is not None:
            item[name] = moment.isoformat()
    return item


def _protected_export(
    history: Sequence[Event], events: list[dict[str, Any]], today: dt.date
) -> list[dict[str, Any]]:
    """The exported events of a case whose person has skyddade
    personuppgifter: the contact replaced, and whatever in the texts names
    or reaches them masked (:mod:`klagomal.records.masking`), since people write
    their address and number into their own words (R27)."""
    from klagomal.records.masking import mask_text

    names = known_names(history)
    hidden = Redaction(contact_visible=False, protected=True)
    shown = []
    for event, exported in zip(history, events, strict=True):
        data = dict(exported["data"])
        plain = hidden.event(event).data
        if isinstance(plain, Registered) and plain.contact is not None:
            data["contact"] = {**data["contact"], **attrs.asdict(plain.contact)}
        if isinstance(plain, MessageReceived):
            data["sender"] = plain.sender
        if isinstance(plain, ContactCorrected):
            data["previous"] = {**data["previous"], **attrs.asdict(plain.previous)}
            data["contact"] = {**data["contact"], **attrs.asdict(plain.contact)}
        if isinstance(plain, AttachmentAdded):
            data["filename"] = plain.filename
        for key in disposal.TEXT_FIELDS[type(event.data)]:
            if isinstance(data.get(key), str):
                data[key] = mask_text(data[key], names=names, today=today).text
        if isinstance(data.get("notes"), list):
            data["notes"] = [mask_text(n, names=names, today=today).text for n in data["notes"]]
        shown.append({**exported, "data": data})
    return shown

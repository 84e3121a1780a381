"""Imports, for :class:`~klagomal.app.Klagomal`: a klagomal export loaded
into this database all or nothing (:meth:`ImportService.import_`), and
cases from another system or reply cards, a batch at a time
(:meth:`ImportService.import_cases`, :mod:`klagomal.intake.bulk`).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import attrs
import cattrs
from sqlalchemy.exc import IntegrityError

from klagomal.cases import lifecycle
from klagomal.cases.service import CaseService
from klagomal.core.errors import InvalidInputError
from klagomal.core.events import THREAT_ABOUT, THREAT_KINDS, ContactCorrected, Event, Forwarded, Registered
from klagomal.core.i18n import _, available_languages
from klagomal.core.serialization import EXPORT_FORMAT, EXPORT_VERSION, EXPORT_VERSIONS
from klagomal.intake import bulk
from klagomal.intake.bulk import BulkImportResult
from klagomal.intake.records import ReceivedMessage, StoredAttachment
from klagomal.notices.outbox import Notice, owed_notices
from klagomal.notices.webhook_transfer import imported_webhooks, restore_webhooks
from klagomal.records.access import Operation

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.context import Context
    from klagomal.core.model import Case
    from klagomal.notices.webhooks import WebhookStorage
    from klagomal.storage.base import UnitOfWork

__all__ = ["ImportService"]

#: A case of an export, as restored: the case, its events and its notices.
Restored = tuple["Case", list[Event], list[Notice]]


@attrs.frozen
class ImportService:
    """Loading exports and other systems' cases, for one :class:`Context`."""

    ctx: Context

    # -- a klagomal export -------------------------------------------------------------

    def import_(self, data: dict[str, Any], operation: Operation) -> int:
        """Load an export into this database, all or nothing (see
        :meth:`klagomal.app.Klagomal.import_`); return the number of cases."""
        ctx = self.ctx
        ctx.allowed(operation)
        _check_format(data)
        cases, counters = _contents(data)
        restored = [
            self._restored(position, item, legacy=data.get("version") == 1)
            for position, item in enumerate(cases)
        ]
        received = _imported_received(data.get("received", []), {c.reference for c, _h, _n in restored})
        subscriptions, deliveries = imported_webhooks(
            data, {c.reference: len(h) for c, h, _n in restored}, ctx.organisation.users, ctx.utcnow()
        )
        with ctx.transaction() as uow:
            for case, history, notices in restored:
                uow.restore(case, history, notices)
            for year, last in counters.items():
                uow.raise_reference_counter(year, last)
            for message, files, duplicates in received:
                stored = uow.store_received(message, files)
                for at, source, file in duplicates:
                    uow.store_duplicate(stored, at, source, file)
            restore_webhooks(cast("WebhookStorage", uow), subscriptions, deliveries)
            detail = f"{len(restored)} ärenden" + (
                f", {len(subscriptions)} webhookar" if subscriptions else ""
            )
            ctx.audit(uow, operation, [None], detail)
        return len(restored)

    def _restored(self, position: int, item: Any, *, legacy: bool) -> Restored:
        """Case nr *position* of an export, replayed and checked."""
        if not isinstance(item, dict):
            raise InvalidInputError(
                _("post nr {n} i 'cases' är inget ärende").format(n=position + 1), step="import"
            )
        reference = str(item.get("reference"))
        try:
            history = [self.ctx.converter.structure(e, Event) for e in item["events"]]
            case = lifecycle.replay(history)
            notices = self._imported_notices(item, history, legacy=legacy)
        except Exception as exc:  # cattrs raises several kinds; all mean unreadable input
            raise InvalidInputError(
                _("händelserna kan inte läsas: {reason}").format(reason=_readable(exc)),
                step="import",
                reference=reference,
            ) from exc
        self._check_imported(reference, case, history)
        return case, history, notices

    def _imported_notices(self, item: dict[str, Any], history: list[Event], *, legacy: bool) -> list[Notice]:
        """The outbox notices of an imported case, with their delivery state.

        Which notices a case owes follows from its events, so the file may
        only carry those, each with its delivery state (so that nothing sent
        is sent again).  Notices to staff missing from the file, and every
        notice of an export without notice records, are added as
        ``manual``: handled outside klagomal, never sent.  A version 1
        export predates delivery, so its ``pending`` notices are ``manual``
        too.
        """
        owed: dict[tuple[int, str], Notice] = {}
        projected: Case | None = None
        for event in history:
            projected = lifecycle.evolve(projected, event)
            for n in owed_notices(projected, event, self.ctx.organisation):
                owed[event.seq, n.recipient] = Notice(
                    0, event.reference, event.seq, n.kind, n.recipient, "manual", n.way, n.message_id
                )
        given: dict[tuple[int, str], Notice] = {}
        for raw in item.get("notices", []):
            key, notice = _given_notice(raw, owed, given, legacy=legacy)
            given[key] = notice
        missing_person = [k for k in owed if k[1] == "person" and k not in given]
        if "notices" in item and missing_person:
            raise ValueError(
                f"the notices to the person for events {[s for s, _r in missing_person]} are missing"
            )
        return [given.get(key, notice) for key, notice in owed.items()]

    def _check_imported(self, reference: str, case: Case, history: list[Event]) -> None:
        """Refuse a case whose history this instance could not have written:
        another case's events, gaps, or ids its plugins and organisation do
        not know, anywhere in the history."""
        registry = self.ctx.registry
        problems = []
        if case.reference != reference or any(e.reference != reference for e in history):
            problems.append(_("händelser för ett annat ärende"))
        if [e.seq for e in history] != list(range(1, len(history) + 1)):
            problems.append(_("händelsernas ordningsnummer har luckor"))
        if case.channel not in registry.channels:
            problems.append(_("okänd kanal '{channel}'").format(channel=case.channel))
        problems += [
            _("okänd kvalitetsdimension '{d}'").format(d=d)
            for d in case.dimensions
            if d not in registry.dimensions
        ]
        problems += self._unknown_places(history)
        languages = available_languages()
        problems += [
            _("okänt språk '{language}'").format(language=language)
            for language in dict.fromkeys(_languages(history))
            if language not in languages
        ]
        problems += [
            _("okänd flagga '{flag}'").format(flag=key)
            for key in case.threat_flags
            if key.partition(":")[0] not in THREAT_KINDS or key.partition(":")[2] not in THREAT_ABOUT
        ]
        if problems:
            raise InvalidInputError("; ".join(dict.fromkeys(problems)), step="import", reference=reference)

    def _unknown_places(self, history: list[Event]) -> list[str]:
        """What is wrong with the units and förvaltningar *history* names."""
        organisation = self.ctx.organisation
        problems = []
        for event in history:
            if isinstance(event.data, Registered):
                places = [(event.data.unit, event.data.department)]
            elif isinstance(event.data, Forwarded):
                places = [(event.data.to_unit, event.data.department)]
            else:
                continue
            for unit, department in places:
                if not organisation.has_unit(unit):
                    problems.append(_("okänd enhet '{unit}'").format(unit=unit))
                elif organisation.unit(unit).department != department:
                    problems.append(
                        _("enheten '{unit}' hör inte till förvaltningen '{department}'").format(
                            unit=unit, department=department
                        )
                    )
        return problems

    def cards(
        self, source: str | os.PathLike[str], rejects: str | os.PathLike[str] | None, actor: str | None
    ) -> BulkImportResult:
        """Register reply cards from a CSV file (see :meth:`klagomal.app.Klagomal.intake_cards`)."""
        from klagomal.intake.cards import COLUMNS, card_fields

        today = self.ctx.clock.today()
        unit = self.ctx.organisation.intake.unit
        return self.ctx.klagomal.import_cases(
            source,
            format="csv",
            rejects=rejects,
            actor=actor,
            transform=lambda fields: card_fields(fields, today, unit),
            columns=COLUMNS,
            _operation=Operation.REGISTER,
        )

    # -- another system's cases ---------------------------------------------------------

    def import_cases(
        self,
        source: str | os.PathLike[str],
        *,
        format: str | None,
        batch_size: int,
        rejects: str | os.PathLike[str] | None,
        progress: Callable[[int, int], None] | None,
        actor: str | None,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None,
        columns: Collection[str],
        operation: Operation,
    ) -> BulkImportResult:
        """Bulk-import cases from another system (see
        :meth:`klagomal.app.Klagomal.import_cases`)."""
        ctx = self.ctx
        ctx.allowed(operation)
        with ctx.denials(operation):
            CaseService(ctx).business_day("bulk-import")
        path = os.fspath(source)
        fmt = bulk.detect_format(path, format)
        try:
            stream = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise InvalidInputError(
                _("kan inte läsa {file}: {reason}").format(file=path, reason=exc.strerror), step="bulk-import"
            ) from exc
        reject = bulk.RejectsFile(rejects if rejects is not None else path + ".rejected.jsonl")
        try:
            read, imported, skipped, rejected = self._imported_rows(
                stream, fmt, columns, transform, reject, batch_size, progress, actor, operation
            )
        finally:
            stream.close()
            reject.close()
        return BulkImportResult(read, imported, skipped, rejected, reject.written)

    def _imported_rows(
        self,
        stream: BinaryIO,
        fmt: str,
        columns: Collection[str],
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None,
        reject: bulk.RejectsFile,
        batch_size: int,
        progress: Callable[[int, int], None] | None,
        actor: str | None,
        operation: Operation,
    ) -> tuple[int, int, int, int]:
        """Read, check and store the rows of *stream*, a batch at a time."""
        ctx = self.ctx
        total = os.fstat(stream.fileno()).st_size
        base = ctx.lifecycle()
        builder = bulk.RowBuilder(
            context=lambda day: attrs.evolve(base, today=day),
            registration=ctx.klagomal.registration,
            now=ctx.clock.now().astimezone(dt.UTC),
            actor=actor,
        )
        rows, lines = bulk.read_rows(stream, fmt, columns)
        if transform is not None:
            rows = (
                attrs.evolve(row, fields=transform(dict(row.fields))) if row.fields is not None else row
                for row in rows
            )
        return bulk.import_cases(
            rows,
            builder=builder,
            store=lambda batch: self._store(batch, operation),
            known=self._known,
            reject=reject,
            batch_size=batch_size,
            progress=None if progress is None else lambda: progress(lines.bytes_read, total),
        )

    def _known(self, ids: list[str]) -> set[str]:
        """Those of the external *ids* stored already."""
        with self.ctx.transaction() as uow:
            found: set[str] = uow.known_external_ids(ids)
        return found

    def _insert(self, batch: list[bulk.ImportedCase], operation: Operation) -> int:
        def body(uow: UnitOfWork) -> list[str]:
            stored: list[str] = uow.insert_imported(batch)
            # One audit entry per batch, not per case: a million-case
            # import must stay a bulk write (the entry names the range).
            if stored:
                self.ctx.audit(uow, operation, [None], f"{len(stored)} ärenden {stored[0]}–{stored[-1]}")
            return stored

        return len(self.ctx.write(body))

    def _store(self, batch: list[bulk.ImportedCase], operation: Operation) -> int:
        while batch:
            try:
                return self._insert(batch, operation)
            except IntegrityError:
                # Another import stored some of these meanwhile: leave those
                # out, as often as it happens (it may be ahead again).
                stored = self._known([item.external_id for item in batch])
                if not stored:
                    raise  # not another import's doing
                batch = [item for item in batch if item.external_id not in stored]
        return 0


def _readable(exc: Exception) -> str:
    """What is wrong with unreadable import data, with the path to it."""
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc, path="events"))
    if isinstance(exc, KeyError):
        return _("fältet {key} saknas").format(key=exc)
    return str(exc)


def _check_format(data: dict[str, Any]) -> None:
    """Refuse a file that is no klagomal export, or one of a version this
    code does not read (a newer klagomal's, whose new parts it would skip)."""
    if data.get("format") != EXPORT_FORMAT:
        raise InvalidInputError(_("filen är ingen klagomal-export"), step="import")
    version = data.get("version")
    if type(version) is int and version in EXPORT_VERSIONS:
        return
    known = _("{first} och {last}").format(
        first=", ".join(map(str, EXPORT_VERSIONS[:-1])), last=EXPORT_VERSIONS[-1]
    )
    if type(version) is int and version > EXPORT_VERSION:
        reason = _(
            "filen är en klagomal-export av version {found}, som är nyare än vad den här versionen "
            "av klagomal kan läsa (version {known}); importera den med en nyare klagomal"
        )
    else:
        reason = _("filen är en klagomal-export av okänd version {found} (kända versioner: {known})")
    found = version if type(version) is int else json.dumps(version, ensure_ascii=False)
    raise InvalidInputError(reason.format(found=found, known=known), step="import")


def _contents(data: dict[str, Any]) -> tuple[list[Any], dict[int, int]]:
    """An export's cases and reference counters, checked for their shape."""
    cases, references = data.get("cases", []), data.get("references", {})
    if not isinstance(cases, list) or not isinstance(references, dict):
        raise InvalidInputError(_("'cases' måste vara en lista och 'references' ett objekt"), step="import")
    try:
        counters = {int(year): int(last) for year, last in references.items()}
    except (TypeError, ValueError):
        raise InvalidInputError(
            _("'references' ska ange år och senaste nummer som heltal"), step="import"
        ) from None
    return cases, counters


def _given_notice(
    raw: dict[str, Any],
    owed: dict[tuple[int, str], Notice],
    given: dict[tuple[int, str], Notice],
    *,
    legacy: bool,
) -> tuple[tuple[int, str], Notice]:
    """One notice of an imported case as the file gives it, if the events owe it."""
    status = str(raw["status"])
    if not status or len(status) > 16:
        raise ValueError("a notice has no valid status")
    if legacy and status == "pending":
        status = "manual"
    key = (int(raw["seq"]), str(raw.get("recipient", "person")))
    expected = owed.get(key)
    if expected is None or expected.kind != raw["kind"] or key in given:
        raise ValueError(
            f"the notice {raw} is not one the events give rise to "
            f"{sorted((s, r, n.kind) for (s, r), n in owed.items())}"
        )

    def moment(name: str) -> dt.datetime | None:
        return dt.datetime.fromisoformat(raw[name]) if raw.get(name) else None

    return key, attrs.evolve(
        expected,
        status=status,
        way=raw.get("way", expected.way if not legacy else None),
        message_id=raw.get("message_id", expected.message_id),
        attempts=int(raw.get("attempts", 0)),
        address=raw.get("address"),
        last_error=raw.get("last_error"),
        next_attempt=moment("next_attempt"),
        attempted_at=moment("attempted_at"),
        sent_at=moment("sent_at"),
    )


#: When, through what and from which file a message arrived again.
Duplicate = tuple[dt.datetime, str, str | None]


def _imported_received(
    items: Any, references: set[str]
) -> list[tuple[ReceivedMessage, list[StoredAttachment], list[Duplicate]]]:
    """The received messages of an export, checked before anything is written."""
    if not isinstance(items, list):
        raise InvalidInputError(_("'received' måste vara en lista"), step="import")
    found = []
    for position, item in enumerate(items, 1):
        try:
            message, files, duplicates = _received(item)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(
                _("mottaget meddelande nr {n} kan inte läsas: {reason}").format(
                    n=position, reason=_readable(exc)
                ),
                step="import",
            ) from exc
        if message.reference is not None and message.reference not in references:
            raise InvalidInputError(
                _("mottaget meddelande nr {n} hör till ärende {reference}, som inte finns i filen").format(
                    n=position, reference=message.reference
                ),
                step="import",
            )
        found.append((message, files, duplicates))
    return found


def _received(item: Any) -> tuple[ReceivedMessage, list[StoredAttachment], list[Duplicate]]:
    """One received message of an export, with its attachments."""
    from klagomal.core.photos import cleaned_image

    files = []
    for f in item["attachments"]:
        data = None if f["data"] is None else base64.b64decode(f["data"], validate=True)
        if data is not None:
            # A picture from an older export is kept without its metadata too;
            # one whose metadata cannot be removed keeps its name, not its bytes.
            data = cleaned_image(str(f["content_type"]), data)
        size = int(f["size"]) if data is None else len(data)
        files.append(StoredAttachment(f["filename"], str(f["content_type"]), size, data))
    message = ReceivedMessage(
        message_key=str(item["message_key"]),
        received_at=dt.datetime.fromisoformat(item["received_at"]),
        source=str(item["source"]),
        outcome=str(item["outcome"]),
        size=int(item["size"]),
        raw=base64.b64decode(item["raw"], validate=True),
        sender=item["sender"],
        subject=item["subject"],
        reason=item["reason"],
        reference=item["reference"],
        # Exports before the intake log have none.
        source_file=None if item.get("source_file") is None else str(item["source_file"])[:1000],
    )
    duplicates = [
        (
            dt.datetime.fromisoformat(d["received_at"]),
            str(d["source"]),
            None if d.get("source_file") is None else str(d["source_file"])[:1000],
        )
        for d in item.get("duplicates", [])  # exports before the intake log have none
    ]
    return message, files, duplicates


def _languages(history: list[Event]) -> list[str]:
    """Every language *history* gives the case (lag 2009:724)."""
    found = [e.data.language for e in history if isinstance(e.data, Registered)]
    for event in history:
        if isinstance(event.data, ContactCorrected) and event.data.language is not None:
            found.append(event.data.language)
    return found

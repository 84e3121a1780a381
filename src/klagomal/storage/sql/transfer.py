"""Cases moved in and out whole: the export read in chunks, the restore of
an exported case, and the bulk import from another system."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs
import sqlalchemy as sa

from klagomal.core.errors import ConflictError
from klagomal.core.events import Event, EventData
from klagomal.core.i18n import _
from klagomal.core.model import Case
from klagomal.intake.bulk import ImportedCase
from klagomal.notices.outbox import Notice
from klagomal.storage.sql import search
from klagomal.storage.sql.cases import INSERT_CASE, INSERT_EVENT, INSERT_NOTICE, CaseStore
from klagomal.storage.sql.rows import notice_from_row, notice_row, rows_of, utc
from klagomal.storage.tables import case_dimensions, cases, events, external_ids, notices, reference_counters

__all__ = ["IMPORTED", "TransferStore"]


IMPORTED = "imported"


class TransferStore(CaseStore):
    """Export, restore and bulk import in a unit of work (part of
    :class:`~klagomal.storage.sql.SqlUnitOfWork`); they write cases as :class:`CaseStore` does."""

    def known_external_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of *ids* are stored already.

        *Backend-specific:* on PostgreSQL the look-up is planned afresh for
        the ids at hand.  The driver prepares a statement it has run a few
        times, and the server may then keep a generic plan made while the
        table was still small (a sequential scan): without statistics (no
        ANALYZE yet, or autovacuum off) it keeps that plan however much the
        table grows, and a bulk import into a new database slowed down
        quadratically, from milliseconds to seconds a batch after 90,000
        cases.  Planned with the ids themselves, the primary key is used.
        """
        if self.conn.dialect.name == "postgresql":
            self.conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            found.update(
                self.conn.execute(
                    sa.select(external_ids.c.external_id).where(external_ids.c.external_id.in_(chunk))
                ).scalars()
            )
        return found

    def insert_imported(self, batch: Sequence[ImportedCase]) -> list[str]:
        """Store bulk-imported cases with new references, one statement per
        table for the whole batch; return the references, in batch order.

        References are numbered by the year each case was received, so an
        old case keeps its year.  The notices the imported steps gave rise to
        are stored with status ``imported``: the old system gave them, and
        they are never sent.
        """
        by_year: dict[int, int] = {}
        for item in batch:
            by_year[item.case.registered.year] = by_year.get(item.case.registered.year, 0) + 1
        next_number = {
            year: self.allocate_references(year, count) - count + 1 for year, count in sorted(by_year.items())
        }
        references: list[str] = []
        case_rows: list[dict[str, Any]] = []
        dimension_rows: list[dict[str, Any]] = []
        id_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        notice_rows: list[dict[str, Any]] = []
        # The payloads are what _insert_event writes, json.dumps(...,
        # ensure_ascii=False) of the converter's EventData; with the encoder
        # and the hook looked up once per batch rather than per event, they
        # cost half as much (a million cases have four million events).
        encode = json.JSONEncoder(ensure_ascii=False).encode
        converter = self.converter
        hook = getattr(converter, "get_unstructure_hook", None)  # cattrs 24.1 and later
        unstructure: Callable[[EventData], Any] = (
            hook(EventData) if hook is not None else lambda data: converter.unstructure(data, EventData)
        )
        # Every event of an import is recorded at the same moment.
        recorded_at: dict[dt.datetime, dt.datetime] = {}
        for item in batch:
            year = item.case.registered.year
            reference = f"{year}-{next_number[year]:05d}"
            next_number[year] += 1
            references.append(reference)
            row = self._case_row(item.case)
            row["reference"] = reference
            case_rows.append(row)
            dimension_rows += (
                {"reference": reference, "dimension": d, "position": i}
                for i, d in enumerate(item.case.dimensions)
            )
            id_rows.append({"external_id": item.external_id, "reference": reference})
            notice_rows += (
                {"reference": reference, "seq": seq, "kind": kind, "recipient": recipient, "status": IMPORTED}
                for seq, kind, recipient in item.notices
            )
            for event in item.events:
                moment = recorded_at.get(event.recorded_at)
                if moment is None:
                    moment = recorded_at[event.recorded_at] = utc(event.recorded_at)
                event_rows.append(
                    {
                        "reference": reference,
                        "seq": event.seq,
                        "type": event.type,
                        "day": event.day,
                        "recorded_at": moment,
                        "actor": event.actor,
                        "payload": encode(unstructure(event.data)),
                    }
                )
        self.conn.execute(INSERT_CASE, case_rows)
        if dimension_rows:
            self.conn.execute(sa.insert(case_dimensions), dimension_rows)
        self.conn.execute(sa.insert(external_ids), id_rows)
        self.conn.execute(INSERT_EVENT, event_rows)
        if notice_rows:
            self.conn.execute(INSERT_NOTICE, notice_rows)
        search.insert_documents(
            self.conn, ((ref, item.case, item.events) for ref, item in zip(references, batch, strict=True))
        )
        return references

    def raise_reference_counter(self, year: int, last: int) -> None:
        """Make sure numbers of *year* continue after *last*."""
        current = self.references().get(year)
        if current is None:
            self.conn.execute(sa.insert(reference_counters).values(year=year, last=last))
        elif current < last:
            self.conn.execute(
                sa.update(reference_counters).where(reference_counters.c.year == year).values(last=last)
            )

    def iter_export(self, chunk: int = 500) -> Iterator[tuple[list[Event], list[Notice]]]:
        """Every case's history and outbox notices, by
        reference, *chunk* cases at a time, so that memory stays bounded
        however many cases there are (keyset pagination on the reference)."""
        last = ""
        while True:
            refs = list(
                self.conn.execute(
                    sa.select(cases.c.reference)
                    .where(cases.c.reference > last)
                    .order_by(cases.c.reference)
                    .limit(chunk)
                ).scalars()
            )
            if not refs:
                return
            histories: dict[str, list[Event]] = {ref: [] for ref in refs}
            for row in rows_of(self.conn, events, refs, events.c.seq):
                histories[row.reference].append(self.event_from_row(row))
            owed: dict[str, list[Notice]] = {ref: [] for ref in refs}
            for row in rows_of(self.conn, notices, refs, notices.c.id):
                owed[row.reference].append(notice_from_row(row))
            for ref in refs:
                yield histories[ref], owed[ref]
            last = refs[-1]

    def restore(self, case: Case, history: Sequence[Event], notices_owed: Sequence[Notice]) -> None:
        """Insert an imported case with its history."""
        exists = self.conn.execute(
            sa.select(cases.c.reference).where(cases.c.reference == case.reference)
        ).one_or_none()
        if exists is not None:
            raise ConflictError(
                case.reference,
                _("Ärende {reference} finns redan i databasen").format(reference=case.reference),
            )
        self.conn.execute(INSERT_CASE, self._case_row(case))
        self._insert_dimensions(case)
        self._insert_external_id(history[0])
        for event in history:
            self._insert_event(event, ())
        search.index_case(self.conn, case, history)
        if notices_owed:
            self.conn.execute(
                sa.insert(notices),
                [notice_row(attrs.evolve(n, reference=case.reference)) for n in notices_owed],
            )

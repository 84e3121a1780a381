"""Received messages (the intake) and their attachments, as stored: kept
whole, quarantined, released into a case, and found by the Message-IDs of
the notices a reply answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from klagomal.intake.records import IntakeLogEntry, ReceivedMessage, StoredAttachment
from klagomal.storage.sql.rows import row_ids, utc
from klagomal.storage.tables import attachments, notices, received_duplicates, received_messages

__all__ = ["ReceivedStore"]


class ReceivedStore:
    """The received messages of a unit of work (part of :class:`~klagomal.storage.sql.SqlUnitOfWork`)."""

    conn: Connection

    # -- intake ------------------------------------------------------------

    def received(
        self,
        *,
        key: str | None = None,
        outcomes: Sequence[str] | None = None,
        reference: str | None = None,
        ids: Sequence[int] | None = None,
        with_raw: bool = False,
    ) -> list[ReceivedMessage]:
        """Received messages, oldest first: by key, outcome, case or id.
        The raw bytes are read only *with_raw* (a worklist does not need them)."""
        columns = [c for c in received_messages.c if with_raw or c.name != "raw"]
        query = sa.select(*columns).order_by(received_messages.c.id)
        if key is not None:
            query = query.where(received_messages.c.message_key == key)
        if outcomes is not None:
            query = query.where(received_messages.c.outcome.in_(list(outcomes)))
        if reference is not None:
            query = query.where(received_messages.c.reference == reference)
        if ids is not None:
            query = query.where(received_messages.c.id.in_(list(ids)))
        return [
            ReceivedMessage(
                **{**{c.name: getattr(row, c.name) for c in columns}, "raw": getattr(row, "raw", b"")}
            )
            for row in self.conn.execute(query)
        ]

    def store_received(self, message: ReceivedMessage, files: Sequence[StoredAttachment] = ()) -> int:
        """Store a received message and its attachments; return its id.  A
        message whose key is stored already raises ``IntegrityError``."""
        row = attrs.asdict(message, recurse=False)
        row.pop("id")
        row["received_at"] = utc(message.received_at)
        key = self.conn.execute(sa.insert(received_messages), row).inserted_primary_key
        assert key is not None
        new_id = int(key[0])
        self._insert_attachments(new_id, message.reference, files)
        return new_id

    def _insert_attachments(
        self, message_id: int, reference: str | None, files: Sequence[StoredAttachment]
    ) -> None:
        if files:
            self.conn.execute(
                sa.insert(attachments),
                [
                    {
                        "message_id": message_id,
                        "reference": reference,
                        "filename": f.filename,
                        "content_type": f.content_type,
                        "size": f.size,
                        "data": f.data,
                    }
                    for f in files
                ],
            )

    def store_duplicate(
        self, message_id: int, received_at: dt.datetime, source: str, source_file: str | None
    ) -> None:
        """Note that message *message_id* arrived again (the same bytes)."""
        self.conn.execute(
            sa.insert(received_duplicates),
            {
                "message_id": message_id,
                "received_at": utc(received_at),
                "source": source,
                "source_file": source_file,
            },
        )

    def intake_log(self, *, since: dt.datetime | None, outcomes: Sequence[str]) -> list[IntakeLogEntry]:
        """The arrivals that became no case (``automatic``, ``quarantined``,
        ``duplicate`` among *outcomes*) from *since* on, oldest first."""
        m = received_messages.c
        found: list[IntakeLogEntry] = []
        stored = [o for o in outcomes if o != "duplicate"]
        if stored:
            query = sa.select(
                m.id, m.message_key, m.received_at, m.source, m.source_file, m.sender, m.subject,
                m.outcome, m.reason, m.reference,
            ).where(m.outcome.in_(stored))  # fmt: skip
            if since is not None:
                query = query.where(m.received_at >= utc(since))
            found += [
                IntakeLogEntry(
                    outcome=row.outcome,
                    received_at=row.received_at,
                    source=row.source,
                    source_file=row.source_file,
                    message_id=row.id,
                    message_key=row.message_key,
                    sender=row.sender,
                    subject=row.subject,
                    reason=row.reason,
                    reference=row.reference,
                )
                for row in self.conn.execute(query)
            ]
        if "duplicate" in outcomes:
            d = received_duplicates.c
            again = sa.select(
                d.received_at, d.source, d.source_file, m.id, m.message_key, m.sender, m.subject, m.reference,
                m.outcome,
            ).join_from(received_duplicates, received_messages, d.message_id == m.id)  # fmt: skip
            if since is not None:
                again = again.where(d.received_at >= utc(since))
            found += [
                IntakeLogEntry(
                    outcome="duplicate",
                    received_at=row.received_at,
                    source=row.source,
                    source_file=row.source_file,
                    message_id=row.id,
                    message_key=row.message_key,
                    sender=row.sender,
                    subject=row.subject,
                    reason=row.outcome,  # the service words it
                    reference=row.reference,
                )
                for row in self.conn.execute(again)
            ]
        return sorted(found, key=lambda e: (e.received_at, e.message_id))

    def duplicates_of(
        self, message_ids: Sequence[int] | None = None
    ) -> dict[int, list[tuple[dt.datetime, str, str | None]]]:
        """When, through what and from which file each of these messages (all:
        ``None``) arrived again, oldest first, by message id (for an export;
        duplicates are few)."""
        found: dict[int, list[tuple[dt.datetime, str, str | None]]] = {}
        d = received_duplicates.c
        query = sa.select(d.message_id, d.received_at, d.source, d.source_file).order_by(d.id)
        if message_ids is not None:
            query = query.where(d.message_id.in_(list(message_ids)))
        for row in self.conn.execute(query):
            found.setdefault(row.message_id, []).append((row.received_at, row.source, row.source_file))
        return found

    def release_received(
        self,
        message_id: int,
        outcome: str,
        reference: str | None,
        reason: str | None,
        files: Sequence[StoredAttachment],
    ) -> bool:
        """Move a quarantined message to *outcome* (it could be taken in after
        all), with its attachments; whether it was still in quarantine."""
        moved = self.conn.execute(
            sa.update(received_messages)
            .where(received_messages.c.id == message_id, received_messages.c.outcome == "quarantined")
            .values(outcome=outcome, reference=reference, reason=reason)
        )
        if moved.rowcount != 1:
            return False
        self._insert_attachments(message_id, reference, files)
        return True

    def iter_received(self, chunk: int = 200) -> Iterator[tuple[ReceivedMessage, list[StoredAttachment]]]:
        """Every received message with its raw bytes and its attachments with
        their data, oldest first, *chunk* at a time (keyset pagination)."""
        last = 0
        while True:
            rows = list(
                self.conn.execute(
                    sa.select(received_messages)
                    .where(received_messages.c.id > last)
                    .order_by(received_messages.c.id)
                    .limit(chunk)
                )
            )
            if not rows:
                return
            files: dict[int, list[StoredAttachment]] = {row.id: [] for row in rows}
            for row in self.conn.execute(
                sa.select(attachments)
                .where(attachments.c.message_id.in_(list(files)))
                .order_by(attachments.c.id)
            ):
                files[row.message_id].append(
                    StoredAttachment(row.filename, row.content_type, row.size, row.data, row.id)
                )
            for row in rows:
                values = {c.name: getattr(row, c.name) for c in received_messages.c}
                yield ReceivedMessage(**values), files[row.id]
            last = rows[-1].id

    def attachments_of(
        self, reference: str, *, ids: Sequence[int] | None = None, with_data: bool = False
    ) -> list[StoredAttachment]:
        """The attachments kept with a case's messages (only those of *ids*),
        without their data unless *with_data*."""
        columns = [attachments.c.id, attachments.c.filename, attachments.c.content_type, attachments.c.size]
        if with_data:
            columns.append(attachments.c.data)
        query = sa.select(*columns).where(attachments.c.reference == reference)
        if ids is not None:
            query = query.where(attachments.c.id.in_(row_ids(ids)))
        rows = self.conn.execute(query.order_by(attachments.c.id))
        return [
            StoredAttachment(r.filename, r.content_type, r.size, r.data if with_data else None, r.id)
            for r in rows
        ]

    def case_of_message_ids(self, message_ids: Sequence[str]) -> str | None:
        """The case a notice with one of these Message-IDs was sent from,
        the latest such notice first."""
        if not message_ids:
            return None
        found = self.conn.execute(
            sa.select(notices.c.reference)
            .where(notices.c.message_id.in_(list(message_ids)))
            .order_by(notices.c.id.desc())
            .limit(1)
        ).scalar()
        return None if found is None else str(found)

"""The outbox: notices and reminders waiting to be sent, claimed by one
delivery at a time, and their delivery state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from klagomal.notices.outbox import Notice
from klagomal.notices.reminders import Reminder
from klagomal.storage.sql.rows import notice_from_row, rows_of, utc
from klagomal.storage.tables import cases, notices, reminders

__all__ = ["OutboxStore"]


def _at_departments(departments: Collection[str]) -> Any:
    """The references of the cases now at one of *departments*, as a subquery."""
    return sa.select(cases.c.reference).where(cases.c.department.in_(list(departments)))


class OutboxStore:
    """The outbox of a unit of work (part of :class:`~klagomal.storage.sql.SqlUnitOfWork`)."""

    conn: Connection

    # -- the outbox --------------------------------------------------------

    def outbox(
        self,
        *,
        reference: str | None = None,
        statuses: Sequence[str] | None = None,
        due: dt.datetime | None = None,
        ways: Sequence[str] | None = None,
        ids: Sequence[int] | None = None,
        limit: int | None = None,
        departments: Collection[str] | None = None,
    ) -> list[Notice]:
        """Notices in the outbox, oldest first: those of one case, with
        these statuses, by these ways, with these ids, of the cases now at
        these förvaltningar, or (with *due*) those whose next attempt is not
        later than *due*."""
        query = sa.select(notices).order_by(notices.c.id)
        if departments is not None:
            query = query.where(notices.c.reference.in_(_at_departments(departments)))
        if reference is not None:
            query = query.where(notices.c.reference == reference)
        if statuses is not None:
            query = query.where(notices.c.status.in_(list(statuses)))
        if ways is not None:
            query = query.where(notices.c.way.in_(list(ways)))
        if ids is not None:
            query = query.where(notices.c.id.in_(list(ids)))
        if due is not None:
            query = query.where(sa.or_(notices.c.next_attempt.is_(None), notices.c.next_attempt <= utc(due)))
        if limit is not None:
            query = query.limit(limit)
        return [notice_from_row(row) for row in self.conn.execute(query)]

    def notices_with(self, references: Sequence[str], statuses: Sequence[str]) -> dict[str, list[Notice]]:
        """The notices of these cases that have one of *statuses*, by reference."""
        found: dict[str, list[Notice]] = {}
        for start in range(0, len(references), 500):
            rows = self.conn.execute(
                sa.select(notices)
                .where(
                    notices.c.reference.in_(list(references[start : start + 500])),
                    notices.c.status.in_(list(statuses)),
                )
                .order_by(notices.c.id)
            )
            for row in rows:
                found.setdefault(row.reference, []).append(notice_from_row(row))
        return found

    def claim_notice(self, notice_id: int, expected: Sequence[str], now: dt.datetime) -> bool:
        """Mark the notice ``sending`` and count the attempt, if its status
        is still one of *expected*; return whether it was.  Two deliveries
        running at once never both claim a notice."""
        claimed = self.conn.execute(
            sa.update(notices)
            .where(notices.c.id == notice_id, notices.c.status.in_(list(expected)))
            .values(status="sending", attempts=notices.c.attempts + 1, attempted_at=utc(now))
        )
        return bool(claimed.rowcount == 1)

    def update_notice(self, notice: Notice) -> None:
        """Store the delivery state of *notice*."""
        self.conn.execute(
            sa.update(notices)
            .where(notices.c.id == notice.id)
            .values(
                status=notice.status,
                attempts=notice.attempts,
                next_attempt=None if notice.next_attempt is None else utc(notice.next_attempt),
                attempted_at=None if notice.attempted_at is None else utc(notice.attempted_at),
                sent_at=None if notice.sent_at is None else utc(notice.sent_at),
                address=notice.address,
                last_error=notice.last_error,
            )
        )

    # -- reminders -------------------------------------------------------

    def add_reminders(self, owed: Sequence[Reminder]) -> list[Reminder]:
        """Store those of *owed* whose key is not stored yet; return them.

        One look-up of the stored keys of these cases, then one insert: a
        daily run looks at every overdue case again.  A plain look-up rather
        than a backend's INSERT ... ON CONFLICT keeps this portable; the
        unique key still guards against two runs racing.
        """
        if not owed:
            return []
        key = reminders.c
        stored = {
            (row.reference, row.deadline, row.due, row.kind)
            for row in rows_of(self.conn, reminders, sorted({r.reference for r in owed}), key.id)
        }
        new = [r for r in owed if r.key not in stored]
        if new:
            rows = []
            for reminder in new:
                values = attrs.asdict(reminder)
                del values["id"]
                values["sent_at"] = utc(reminder.sent_at) if reminder.sent_at else None
                rows.append(values)
            self.conn.execute(sa.insert(reminders), rows)
        return new

    def reminders(
        self,
        *,
        statuses: Collection[str] | None = None,
        reference: str | None = None,
        departments: Collection[str] | None = None,
    ) -> list[Reminder]:
        """Stored reminders, oldest first."""
        stmt = sa.select(reminders).order_by(reminders.c.id)
        if departments is not None:
            stmt = stmt.where(reminders.c.reference.in_(_at_departments(departments)))
        if statuses is not None:
            stmt = stmt.where(reminders.c.status.in_(list(statuses)))
        if reference is not None:
            stmt = stmt.where(reminders.c.reference == reference)
        return [
            Reminder(
                **{
                    **row._asdict(),
                    "sent_at": row.sent_at.replace(tzinfo=dt.UTC) if row.sent_at else None,
                }
            )
            for row in self.conn.execute(stmt)
        ]

    def update_reminder(self, reminder: Reminder) -> None:
        """Store the delivery state of a stored reminder."""
        self.conn.execute(
            sa.update(reminders)
            .where(reminders.c.id == reminder.id)
            .values(
                status=reminder.status,
                attempts=reminder.attempts,
                last_error=reminder.last_error,
                sent_at=utc(reminder.sent_at) if reminder.sent_at else None,
            )
        )

"""What the stores of a unit of work share: stored timestamps, notices as
rows, and the rows of many cases read in chunks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from klagomal.notices.outbox import Notice

__all__ = ["MAX_ROW_ID", "notice_from_row", "notice_row", "row_ids", "rows_of", "utc"]

#: The largest id an integer primary key holds on every backend (32 bits
#: on PostgreSQL and MariaDB).
MAX_ROW_ID = 2**31 - 1


def row_ids(ids: Sequence[int]) -> list[int]:
    """The ids of *ids* that a stored row can have: a larger one (which
    PostgreSQL refuses to compare and SQLite cannot bind) finds nothing,
    like any id that is not there."""
    return [i for i in ids if 1 <= i <= MAX_ROW_ID]


def utc(moment: dt.datetime) -> dt.datetime:
    """Stored timestamps are naive UTC, which every backend keeps the same way."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


_NOTICE_FIELDS = tuple(f.name for f in attrs.fields(Notice))


def notice_from_row(row: sa.Row[Any]) -> Notice:
    return Notice(**{name: getattr(row, name) for name in _NOTICE_FIELDS})


def notice_row(notice: Notice) -> dict[str, Any]:
    row = {name: getattr(notice, name) for name in _NOTICE_FIELDS if name != "id"}
    for name in ("next_attempt", "attempted_at", "sent_at"):
        if row[name] is not None:
            row[name] = utc(row[name])
    return row


def rows_of(
    conn: Connection, table: sa.Table, references: Sequence[str], position: sa.Column[Any]
) -> Iterator[sa.Row[Any]]:
    """The rows of *table* that belong to *references*, in case and position order.

    Chunked, so that a long worklist never exceeds a backend's limit on
    the number of bound parameters.
    """
    for start in range(0, len(references), 500):
        chunk = list(references[start : start + 500])
        yield from conn.execute(
            sa.select(table).where(table.c.reference.in_(chunk)).order_by(table.c.reference, position)
        )

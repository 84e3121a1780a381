"""Writing the audit log and reading it back: :func:`append` numbers and
chains entries under the lock of the head row, :func:`entries` reads them
(see :mod:`klagomal.records.audit`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from klagomal.core.errors import InvalidInputError, SchemaError
from klagomal.core.i18n import _
from klagomal.records.audit.chain import (
    ALLOWED,
    DENIED,
    HEAD_ID,
    MAX_DETAIL,
    AuditEntry,
    StoredAuditEntry,
    entry_hash,
    naive_utc,
)
from klagomal.storage.tables import audit_head, audit_log

__all__ = ["append", "entries"]


#: The longest value of each string column, from the table: an entry that
#: does not fit is refused rather than cut by a lenient server, which would
#: store a row whose hash no longer matches.
def _length(name: str) -> int:
    column_type = audit_log.c[name].type
    assert isinstance(column_type, sa.String), name
    assert column_type.length is not None, name
    return column_type.length


_LIMITS = {name: _length(name) for name in ("user_id", "role", "action", "outcome", "reference")}


def _check(entry: AuditEntry) -> None:
    """Refuse an entry that the table cannot hold exactly as it is."""
    if entry.outcome not in (ALLOWED, DENIED):
        raise InvalidInputError(
            _(
                "Granskningsposten har utfallet {outcome!r}; det ska vara {allowed!r} eller {denied!r}."
            ).format(outcome=entry.outcome, allowed=ALLOWED, denied=DENIED)
        )
    if not isinstance(entry.at, dt.datetime):
        raise InvalidInputError(_("Granskningsposten saknar tidpunkt."))
    for name, limit in _LIMITS.items():
        value = getattr(entry, name)
        if value is not None and len(value) > limit:
            raise InvalidInputError(
                _("Granskningspostens fält {field} är längre än {limit} tecken.").format(
                    field=name, limit=limit
                )
            )
    if len(entry.detail) > MAX_DETAIL:
        raise InvalidInputError(
            _("Granskningspostens beskrivning är längre än {limit} tecken.").format(limit=MAX_DETAIL)
        )


#: The head, locked, and the first row stored past it: NULL unless someone
#: wrote to the log behind klagomal's back.  (Correlated, so that the head
#: PostgreSQL reads again after waiting for the lock is the one used.)  Built
#: once: every write of every command runs it.
_LOCK_HEAD: Final = (
    sa.select(
        audit_head.c.last_id,
        audit_head.c.last_hash,
        sa.select(sa.func.min(audit_log.c.id))
        .where(audit_log.c.id > audit_head.c.last_id)
        .scalar_subquery()
        .label("taken"),
    )
    .where(audit_head.c.id == HEAD_ID)
    .with_for_update()
)

#: The entries' rows, and the head moved past them (if it is where it was
#: read), built once too.
_INSERT_ENTRIES: Final = sa.insert(audit_log)
_MOVE_HEAD: Final = (
    sa.update(audit_head)
    .where(audit_head.c.id == HEAD_ID, audit_head.c.last_id == sa.bindparam("read_id"))
    .values(last_id=sa.bindparam("new_id"), last_hash=sa.bindparam("new_hash"))
)


def append(conn: Connection, entries: Sequence[AuditEntry]) -> list[int]:
    """Append *entries* to the log, in order, in the caller's transaction;
    return their ids.

    *conn* must be in a write transaction (``SqlStorage.transaction()``),
    and the entries become visible, and the head lock is released, when it
    commits.  Log last in the transaction, just before it commits: every
    writer of the log queues on the head row while it is locked.

    The entries take the numbers after the one the head names, chained to
    the head's hash.  A number already taken by a row that someone wrote
    past the head behind klagomal's back is passed over: such a row must
    not stop the log, and with it every step and every read, from taking
    entries.  :func:`verify` reports it as not belonging to the chain.

    *Backend-specific* locking: the head row is read ``FOR UPDATE``.  On
    PostgreSQL at READ COMMITTED (klagomal's default) a second appender
    waits for the first to commit and then reads the head it left; at
    REPEATABLE READ or SERIALIZABLE it fails instead with a serialization
    failure, which ``SqlStorage.transaction()`` raises as
    :class:`~klagomal.core.errors.TransientStorageError`, so that the write path
    runs the whole transaction again.  On MariaDB/MySQL (REPEATABLE READ) the
    locking read waits likewise and sees the latest committed head, not the
    transaction's snapshot.  SQLite renders no FOR UPDATE: its write
    transactions begin with ``BEGIN IMMEDIATE`` and never overlap.

    Raises :class:`~klagomal.core.errors.InvalidInputError` before writing
    anything if an entry does not fit its columns or its outcome is neither
    :data:`ALLOWED` nor :data:`DENIED`, and
    :class:`~klagomal.core.errors.SchemaError` if the head row is missing.
    """
    if not entries:
        return []
    for entry in entries:
        _check(entry)
    head = conn.execute(_LOCK_HEAD).one_or_none()
    if head is None:
        raise SchemaError(
            _(
                "Granskningsloggens huvud (tabellen audit_head) saknas, så inget kan loggas. Databasen har "
                "ändrats utanför klagomal; kör 'klagomal audit verify'."
            )
        )
    last_id: int = head.last_id
    last_hash: str = head.last_hash
    ids: Sequence[int]
    if head.taken is None or head.taken > last_id + len(entries):
        ids = range(last_id + 1, last_id + len(entries) + 1)
    else:
        ids = _free_ids(conn, last_id, len(entries))
    rows: list[dict[str, Any]] = []
    for entry, entry_id in zip(entries, ids, strict=True):
        new_hash = entry_hash(last_hash, entry_id, entry)
        rows.append(
            {
                "id": entry_id,
                "at": naive_utc(entry.at),
                "user_id": entry.user_id,
                "role": entry.role,
                "action": entry.action,
                "outcome": entry.outcome,
                "reference": entry.reference,
                "detail": entry.detail,
                "prev_hash": last_hash,
                "hash": new_hash,
            }
        )
        last_id, last_hash = entry_id, new_hash
    conn.execute(_INSERT_ENTRIES, rows)
    updated = conn.execute(_MOVE_HEAD, {"read_id": head.last_id, "new_id": last_id, "new_hash": last_hash})
    if updated.rowcount != 1:  # pragma: no cover - the row is locked
        raise AssertionError("the audit head changed while it was locked")
    return [row["id"] for row in rows]


def _free_ids(conn: Connection, after: int, count: int) -> list[int]:
    """The *count* lowest ids above *after* that no row has taken.  Only
    rows written behind klagomal's back take ids past the head, so this runs
    once for each such row or run of rows, and the head then moves past it."""
    found: list[int] = []
    candidate = after + 1
    batch = max(count, 256)
    while True:
        taken = (
            conn.execute(
                sa.select(audit_log.c.id)
                .where(audit_log.c.id >= candidate)
                .order_by(audit_log.c.id)
                .limit(batch)
            )
            .scalars()
            .all()
        )
        for taken_id in taken:
            found.extend(range(candidate, min(taken_id, candidate + count - len(found))))
            if len(found) == count:
                return found
            candidate = taken_id + 1
        if len(taken) < batch:
            found.extend(range(candidate, candidate + count - len(found)))
            return found


def _stored(row: sa.Row[Any]) -> StoredAuditEntry:
    return StoredAuditEntry(
        user_id=row.user_id,
        role=row.role,
        action=row.action,
        outcome=row.outcome,
        reference=row.reference,
        detail=row.detail,
        at=naive_utc(row.at).replace(tzinfo=dt.UTC),
        id=row.id,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def entries(
    conn: Connection,
    *,
    reference: str | None = None,
    user_id: str | None = None,
    since: dt.datetime | None = None,
    limit: int | None = None,
) -> list[StoredAuditEntry]:
    """Logged entries, oldest first: those of one case, of one user, from
    *since* on (inclusive).  With *limit*, the newest *limit* of them.

    The entries of one case include those that name it among others: a
    list read is one entry naming every case listed (``reference`` empty,
    the references in ``detail``), and is found by a search of ``detail``."""
    query = sa.select(audit_log)
    if reference is not None:
        query = query.where(
            sa.or_(
                audit_log.c.reference == reference,
                sa.and_(
                    audit_log.c.reference.is_(None), audit_log.c.detail.contains(reference, autoescape=True)
                ),
            )
        )
    if user_id is not None:
        query = query.where(audit_log.c.user_id == user_id)
    if since is not None:
        query = query.where(audit_log.c.at >= naive_utc(since))
    try:
        if limit is None:
            return [_stored(row) for row in conn.execute(query.order_by(audit_log.c.id))]
        newest = [_stored(row) for row in conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit))]
    except (ValueError, TypeError) as exc:
        # A row written past klagomal with a value its column cannot hold
        # (SQLite keeps what it is given): say so, as verify does, not crash.
        raise SchemaError(
            _(
                "granskningsloggen har en post som inte kan läsas ({reason}); "
                "'klagomal audit verify' visar vilken"
            ).format(reason=exc)
        ) from exc
    newest.reverse()
    return newest

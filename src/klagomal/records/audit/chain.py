"""One audit entry and its place in the hash chain: what an entry holds, the
canonical form its hash is computed from, and the hash (see
:mod:`klagomal.records.audit`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Final

import attrs

__all__ = [
    "ALLOWED",
    "DENIED",
    "GENESIS",
    "HEAD_ID",
    "MAX_DETAIL",
    "AuditEntry",
    "StoredAuditEntry",
    "canonical",
    "canonical_fields",
    "entry_hash",
    "naive_utc",
]

#: The ``prev_hash`` of the first entry (the head of an empty log has it too).
GENESIS: Final = "0" * 64
#: The outcome of an access that was allowed.
ALLOWED: Final = "allowed"
#: The outcome of an access that was refused.
DENIED: Final = "denied"
#: The longest ``detail`` accepted, in characters: a short description, and
#: well within what every backend keeps whole (MariaDB's TEXT is 64 KB).
MAX_DETAIL: Final = 4000

#: The head row's id: the table has exactly one row.
HEAD_ID = 1


@attrs.frozen
class AuditEntry:
    """One access to a person's data or a case's text, to be logged.

    ``detail`` is short and must never hold personal data of the person the
    case is about (nor the case text): the caller's duty, see
    :mod:`klagomal.records.audit`.  ``at`` is aware, or naive UTC; it is stored as naive UTC
    with microseconds.
    """

    user_id: str
    role: str
    #: A stable ASCII id: "read", "register", "step", "export", "extract", "denied"...
    action: str
    #: :data:`ALLOWED` or :data:`DENIED`.
    outcome: str
    reference: str | None
    detail: str
    at: dt.datetime


@attrs.frozen
class StoredAuditEntry(AuditEntry):
    """An entry as the log holds it: numbered from 1, chained to the one
    before it.  Its ``at`` is aware (UTC)."""

    id: int
    prev_hash: str
    hash: str


def naive_utc(moment: dt.datetime) -> dt.datetime:
    """Stored timestamps are naive UTC, which every backend keeps the same way."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def canonical_fields(
    prev_hash: str,
    id: int,
    at: dt.datetime,
    user_id: str,
    role: str,
    action: str,
    outcome: str,
    reference: str | None,
    detail: str,
) -> bytes:
    """The bytes of :func:`canonical`, from the fields one by one (as :func:`verify` reads them)."""
    fields = [
        prev_hash,
        id,
        naive_utc(at).isoformat(timespec="microseconds"),
        user_id,
        role,
        action,
        outcome,
        reference,
        detail,
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def canonical(prev_hash: str, id: int, entry: AuditEntry) -> bytes:
    """The bytes an entry's hash is computed from: the JSON array
    ``[prev_hash, id, at, user_id, role, action, outcome, reference,
    detail]`` without spaces, in UTF-8, where ``at`` is naive UTC in ISO 8601
    with microseconds (``2026-03-02T09:15:00.000000``) and a missing
    reference is ``null``.  Published so that the chain can be checked
    without klagomal."""
    return canonical_fields(
        prev_hash,
        id,
        entry.at,
        entry.user_id,
        entry.role,
        entry.action,
        entry.outcome,
        entry.reference,
        entry.detail,
    )


def entry_hash(prev_hash: str, id: int, entry: AuditEntry) -> str:
    """The hash of *entry* stored as number *id* after an entry with hash
    *prev_hash*: SHA-256 of :func:`canonical`, in lower-case hex."""
    return hashlib.sha256(canonical(prev_hash, id, entry)).hexdigest()

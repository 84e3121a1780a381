"""The audit log: who read or wrote what, when, and in which case (R27).

What is logged
--------------
Every read and every write of a person's data or of the text of a case
records one :class:`AuditEntry`: who (``user_id`` and the ``role`` they acted
in), when (``at``, UTC), what (``action``, a stable ASCII id such as
``"read"``, ``"register"``, ``"step"`` or ``"export"``, and a short
``detail``), the case (``reference``, if there is one), and whether it was
``allowed`` or ``denied``.  Every refused access is logged too, also for a
case that does not exist.  The log answers the question a registered person
may ask under the GDPR, and the one the kommun's own checks ask: who has
looked at this case, and who tried to.

The entries hold no personal data of the person a case is about: ``detail``
says *what* was done ("utdrag", "steg besked", "export 12 ärenden"), never
*with what* (no names, addresses, personnummer or case text).  That is the
caller's duty; this module cannot tell.  It is what lets the log outlive the
disposal (gallring) of the cases it mentions, and be shown to whoever audits
access without disclosing what the cases are about.

The hash chain and the head row
-------------------------------
The log is append-only, and tampering is detectable.  Each entry carries the
hash of the one before it (``prev_hash``; the first one chains to
:data:`GENESIS`) and its own ``hash``: SHA-256 of the canonical form of
``[prev_hash, id, at, user_id, role, action, outcome, reference, detail]``
(:func:`canonical`).  An edited field changes the hash of its row; a row
removed from the middle leaves a gap in the ids and a link that points
nowhere; a row inserted or moved breaks the link of the row after it.

The last entry has no successor to betray it, so the one row of
``audit_head`` keeps the id and hash of the last entry: removing entries at
the end leaves the head pointing past the log.  The head row is also the
lock that orders concurrent writers: :func:`append` locks it (``SELECT ...
FOR UPDATE``) before it numbers its entries, so two transactions that log at
the same moment append one after the other and the chain never forks.  (The
primary key on the id is a second guard: two writers that both took the
same number could not both store it.)

Detecting is not preventing
---------------------------
Whoever can write to these tables can rewrite the chain from an edited row
onwards, hashes and head included; the chain alone then looks whole.  Two
things close that hole.

1. The application's database user should only be able to add to the log.
   Let another user own the schema and run ``klagomal init``, and grant the
   user klagomal runs as only INSERT and SELECT on ``audit_log`` and SELECT
   and UPDATE on ``audit_head`` (the lock needs UPDATE).  On PostgreSQL,
   where an owner keeps every privilege, the application must not connect as
   the owner::

       REVOKE ALL ON audit_log, audit_head FROM klagomal_app;
       GRANT SELECT, INSERT ON audit_log TO klagomal_app;
       GRANT SELECT, UPDATE ON audit_head TO klagomal_app;

   On MariaDB/MySQL a table-level REVOKE cannot take back what a grant on
   ``klagomal.*`` gave, so grant the application's tables one by one instead
   of the whole database, and these two like this (the REVOKEs only where
   more was granted on these tables before; MariaDB refuses to revoke a
   grant that does not exist)::

       REVOKE ALL PRIVILEGES ON klagomal.audit_log FROM 'klagomal_app'@'%';
       REVOKE ALL PRIVILEGES ON klagomal.audit_head FROM 'klagomal_app'@'%';
       GRANT SELECT, INSERT ON klagomal.audit_log TO 'klagomal_app'@'%';
       GRANT SELECT, UPDATE ON klagomal.audit_head TO 'klagomal_app'@'%';

   With exactly these grants klagomal appends and verifies, and the
   application's user is refused UPDATE, DELETE and TRUNCATE on the log.

   :func:`append` numbers the entries itself, so no privilege on the id's
   sequence is needed.  SQLite has no users: protect the file, and its
   backups, instead.

2. Run ``klagomal audit verify`` regularly (:func:`verify`), and keep the
   last id and hash it prints somewhere the database's users cannot reach,
   for example in the diarium.  A chain rewritten afterwards gives that
   entry another hash, which :func:`verify` reports when given the saved
   pair as an anchor (``anchors=[(id, hash)]``), and which anyone can also
   see by comparing with the next printout.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from klagomal.errors import InvalidInputError, SchemaError
from klagomal.i18n import _, ngettext
from klagomal.storage.tables import audit_head, audit_log

__all__ = [
    "ALLOWED",
    "DENIED",
    "GENESIS",
    "MAX_DETAIL",
    "MAX_PROBLEMS",
    "AuditEntry",
    "AuditProblem",
    "AuditVerification",
    "StoredAuditEntry",
    "append",
    "canonical",
    "entries",
    "entry_hash",
    "verify",
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
#: Problems listed by :func:`verify`; the rest are only counted.
MAX_PROBLEMS: Final = 100

#: The head row's id: the table has exactly one row.
_HEAD_ID = 1


#: The longest value of each string column, from the table: an entry that
#: does not fit is refused rather than cut by a lenient server, which would
#: store a row whose hash no longer matches.
def _length(name: str) -> int:
    column_type = audit_log.c[name].type
    assert isinstance(column_type, sa.String), name
    assert column_type.length is not None, name
    return column_type.length


_LIMITS = {name: _length(name) for name in ("user_id", "role", "action", "outcome", "reference")}


@attrs.frozen
class AuditEntry:
    """One access to a person's data or a case's text, to be logged.

    ``detail`` is short and must never hold personal data of the person the
    case is about (nor the case text): the caller's duty, see the module
    documentation.  ``at`` is aware, or naive UTC; it is stored as naive UTC
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


@attrs.frozen
class AuditProblem:
    """One thing :func:`verify` found wrong: the entry it concerns (or
    ``None``) and a Swedish description."""

    entry: int | None
    reason: str

    def __str__(self) -> str:
        return self.reason


@attrs.frozen
class AuditVerification:
    """What :func:`verify` found.

    ``last_id`` and ``last_hash`` are those of the last entry read (0 and
    :data:`GENESIS` for an empty log): the pair to keep outside the
    database.  ``omitted`` counts the problems found beyond the
    :data:`MAX_PROBLEMS` listed.
    """

    checked: int
    problems: tuple[AuditProblem, ...]
    last_id: int = 0
    last_hash: str = GENESIS
    omitted: int = 0

    @property
    def ok(self) -> bool:
        """Whether the log is whole."""
        return not self.problems

    def summary(self) -> str:
        """The result for the member of staff who ran the check, in Swedish."""
        checked = _number(self.checked)
        if self.ok:
            lines = [
                ngettext(
                    "Granskningsloggen är hel: {n} post kontrollerad.",
                    "Granskningsloggen är hel: {n} poster kontrollerade.",
                    self.checked,
                ).format(n=checked)
            ]
        else:
            found = len(self.problems) + self.omitted
            lines = [
                ngettext(
                    "Granskningsloggen är inte hel: {problems} fel bland {n} kontrollerad post.",
                    "Granskningsloggen är inte hel: {problems} fel bland {n} kontrollerade poster.",
                    self.checked,
                ).format(problems=_number(found), n=checked)
            ]
            lines += (f"  - {problem.reason}" for problem in self.problems)
            if self.omitted:
                lines.append(_("  ... och {n} fel till.").format(n=_number(self.omitted)))
            lines.append(
                _(
                    "Loggen har ändrats utanför klagomal. Ändra ingenting i den; spara en kopia av "
                    "databasen och kontakta den som ansvarar för informationssäkerheten."
                )
            )
        if self.checked:
            lines.append(
                _("Sista posten: nummer {id}, kontrollsumma {hash}.").format(
                    id=self.last_id, hash=self.last_hash
                )
            )
            if self.ok:
                lines.append(
                    _(
                        "Anteckna numret och kontrollsumman utanför databasen, till exempel i diariet: "
                        "vid nästa kontroll ska post {id} ha samma kontrollsumma, annars har loggen "
                        "skrivits om."
                    ).format(id=self.last_id)
                )
        return "\n".join(lines)


def _number(n: int) -> str:
    """*n* with a space between thousands, as Swedish writes it."""
    return f"{n:,}".replace(",", " ")


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    """Stored timestamps are naive UTC, which every backend keeps the same way."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _canonical(
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
    fields = [
        prev_hash,
        id,
        _naive_utc(at).isoformat(timespec="microseconds"),
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
    return _canonical(
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


def append(conn: Connection, entries: Sequence[AuditEntry]) -> list[int]:
    """Append *entries* to the log, in order, in the caller's transaction;
    return their ids.

    *conn* must be in a write transaction (``SqlStorage.transaction()``),
    and the entries become visible, and the head lock is released, when it
    commits.  Log last in the transaction, just before it commits: every
    writer of the log queues on the head row while it is locked.

    *Backend-specific* locking: the head row is read ``FOR UPDATE``.  On
    PostgreSQL at READ COMMITTED (klagomal's default) a second appender
    waits for the first to commit and then reads the head it left; at
    REPEATABLE READ or SERIALIZABLE it fails instead with a serialization
    failure, which ``SqlStorage.transaction()`` raises as
    :class:`~klagomal.errors.TransientStorageError`, so that the write path
    runs the whole transaction again.  On MariaDB/MySQL (REPEATABLE READ) the
    locking read waits likewise and sees the latest committed head, not the
    transaction's snapshot.  SQLite renders no FOR UPDATE: its write
    transactions begin with ``BEGIN IMMEDIATE`` and never overlap.

    Raises :class:`~klagomal.errors.InvalidInputError` before writing
    anything if an entry does not fit its columns or its outcome is neither
    :data:`ALLOWED` nor :data:`DENIED`, and
    :class:`~klagomal.errors.SchemaError` if the head row is missing.
    """
    if not entries:
        return []
    for entry in entries:
        _check(entry)
    head = conn.execute(
        sa.select(audit_head.c.last_id, audit_head.c.last_hash)
        .where(audit_head.c.id == _HEAD_ID)
        .with_for_update()
    ).one_or_none()
    if head is None:
        raise SchemaError(
            _(
                "Granskningsloggens huvud (tabellen audit_head) saknas, så inget kan loggas. Databasen har "
                "ändrats utanför klagomal; kör 'klagomal audit verify'."
            )
        )
    last_id: int = head.last_id
    last_hash: str = head.last_hash
    rows: list[dict[str, Any]] = []
    for entry in entries:
        last_id += 1
        new_hash = entry_hash(last_hash, last_id, entry)
        rows.append(
            {
                "id": last_id,
                "at": _naive_utc(entry.at),
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
        last_hash = new_hash
    conn.execute(sa.insert(audit_log), rows)
    updated = conn.execute(
        sa.update(audit_head)
        .where(audit_head.c.id == _HEAD_ID, audit_head.c.last_id == head.last_id)
        .values(last_id=last_id, last_hash=last_hash)
    )
    if updated.rowcount != 1:  # pragma: no cover - the row is locked
        raise AssertionError("the audit head changed while it was locked")
    return [row["id"] for row in rows]


def _stored(row: sa.Row[Any]) -> StoredAuditEntry:
    return StoredAuditEntry(
        user_id=row.user_id,
        role=row.role,
        action=row.action,
        outcome=row.outcome,
        reference=row.reference,
        detail=row.detail,
        at=_naive_utc(row.at).replace(tzinfo=dt.UTC),
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
        query = query.where(audit_log.c.at >= _naive_utc(since))
    if limit is None:
        return [_stored(row) for row in conn.execute(query.order_by(audit_log.c.id))]
    newest = [_stored(row) for row in conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit))]
    newest.reverse()
    return newest


class _Problems:
    """The problems found, the first :data:`MAX_PROBLEMS` of them listed."""

    def __init__(self) -> None:
        self.listed: list[AuditProblem] = []
        self.omitted = 0

    def add(self, entry: int | None, reason: str) -> None:
        if len(self.listed) < MAX_PROBLEMS:
            self.listed.append(AuditProblem(entry, reason))
        else:
            self.omitted += 1


def verify(
    conn: Connection, *, chunk: int = 5000, anchors: Iterable[tuple[int, str]] = ()
) -> AuditVerification:
    """Check the whole chain, *chunk* entries at a time, in id order.

    Each entry's hash is computed again from its fields, its ``prev_hash``
    compared with the hash of the entry before it, and the ids checked to
    run from 1 without a gap; finally the head must name the last entry and
    its hash.  Every problem is reported at the entry it concerns, and the
    check goes on after it.  *anchors* are ``(id, hash)`` pairs kept outside
    the database from earlier checks: an entry that no longer has the hash
    saved for it means the chain was rewritten.

    Run it in a consistent snapshot (``SqlStorage.snapshot()``) so that the
    log is seen as of one moment; in a READ COMMITTED transaction the
    entries appended while it reads are picked up before the head is
    compared, so those do not show as problems either.  Memory stays
    bounded: the rows are read with keyset pagination on the id.
    """
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    expected_hashes = dict(anchors)
    problems = _Problems()
    checked = 0
    last_id = 0
    prev_hash = GENESIS

    def read_from(after: int | None) -> int:
        """Check the entries after id *after* (all with ``None``, even any
        numbered below 1); return how many there were."""
        nonlocal checked, last_id, prev_hash
        count = 0
        while True:
            query = sa.select(audit_log).order_by(audit_log.c.id).limit(chunk)
            if after is not None:
                query = query.where(audit_log.c.id > after)
            rows = conn.execute(query).all()
            for row in rows:
                _check_row(row, last_id, prev_hash, problems)
                expected = expected_hashes.get(row.id)
                if expected is not None and row.hash != expected:
                    problems.add(
                        row.id,
                        _(
                            "post {id} har inte den kontrollsumma som antecknades vid en tidigare kontroll; "
                            "kedjan har skrivits om"
                        ).format(id=row.id),
                    )
                if row.id >= 1:  # a row numbered below 1 is reported, and left out of the chain
                    last_id = row.id
                    prev_hash = row.hash
            checked += len(rows)
            count += len(rows)
            if len(rows) < chunk:
                return count
            after = rows[-1].id

    read_from(None)
    while True:
        head = conn.execute(
            sa.select(audit_head.c.last_id, audit_head.c.last_hash).where(audit_head.c.id == _HEAD_ID)
        ).one_or_none()
        # Entries committed after the last read (READ COMMITTED) raise the
        # head with them: read those before comparing.  The head is read
        # after the entries, so entries read are never ahead of it.
        if head is None or head.last_id <= last_id or not read_from(last_id):
            break
    # An anchor inside a gap is reported with the gap.
    for anchor in sorted(a for a in expected_hashes if not 1 <= a <= last_id):
        problems.add(
            anchor,
            _(
                "post {id} finns inte, men den antecknades vid en tidigare kontroll; poster har tagits bort"
            ).format(id=anchor),
        )
    _check_head(None if head is None else (head.last_id, head.last_hash), last_id, prev_hash, problems)
    return AuditVerification(
        checked=checked,
        problems=tuple(problems.listed),
        last_id=last_id,
        last_hash=prev_hash,
        omitted=problems.omitted,
    )


def _check_row(row: sa.Row[Any], last_id: int, prev_hash: str, problems: _Problems) -> None:
    """Report what is wrong with *row*, read after the entry *last_id* whose
    stored hash is *prev_hash*."""
    expected_id = last_id + 1
    if row.id > expected_id:
        if row.id == expected_id + 1:
            reason = _("post {missing} saknas (nummerföljden hoppar från {before} till {after})")
        else:
            reason = _("posterna {missing}–{last} saknas (nummerföljden hoppar från {before} till {after})")
        problems.add(
            expected_id,
            reason.format(missing=expected_id, last=row.id - 1, before=last_id, after=row.id),
        )
    elif row.id < 1:
        problems.add(
            row.id, _("post {id} har ett nummer utanför nummerföljden, som börjar på 1").format(id=row.id)
        )
    elif row.prev_hash != prev_hash:
        # After a gap the link is broken as a matter of course: the gap says it.
        if row.id == 1:
            problems.add(row.id, _("post 1 pekar inte på kedjans början"))
        else:
            problems.add(row.id, _("post {id} pekar inte på post {before}").format(id=row.id, before=last_id))
    computed = _canonical(
        row.prev_hash,
        row.id,
        row.at,
        row.user_id,
        row.role,
        row.action,
        row.outcome,
        row.reference,
        row.detail,
    )
    if hashlib.sha256(computed).hexdigest() != row.hash:
        problems.add(row.id, _("post {id}: kontrollsumman stämmer inte; raden har ändrats").format(id=row.id))


def _check_head(head: tuple[int, str] | None, last_id: int, last_hash: str, problems: _Problems) -> None:
    """Report a head that does not name the last entry *last_id* with *last_hash*."""
    if head is None:
        problems.add(None, _("huvudet (tabellen audit_head) saknas"))
        return
    head_id, head_hash = head
    if head_id > last_id:
        if last_id == 0:
            reason = _("loggen är tom men huvudet anger post {head}; poster har tagits bort")
        else:
            reason = _(
                "loggen slutar vid post {last} men huvudet anger post {head}; poster har tagits bort i slutet"
            )
        problems.add(last_id + 1, reason.format(last=last_id, head=head_id))
    elif head_id < last_id:
        problems.add(
            head_id + 1,
            _(
                "huvudet anger post {head} men loggen slutar vid post {last}; huvudet pekar inte på den "
                "sista posten"
            ).format(head=head_id, last=last_id),
        )
    elif head_hash != last_hash:
        if last_id == 0:
            problems.add(None, _("loggen är tom men huvudet pekar inte på kedjans början"))
        else:
            problems.add(
                last_id, _("huvudet pekar inte på den sista posten (post {last})").format(last=last_id)
            )

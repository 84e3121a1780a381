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
nowhere; a row inserted or moved is passed by: the link of the entry after
it names the one before it.

The last entry has no successor to betray it, so the one row of
``audit_head`` keeps the id and hash of the last entry: removing entries at
the end leaves the head pointing past the log, and a row added at the end
lies past the entry the head names.  The head is where :func:`verify`
starts: the chain is the path from the entry the head names, link by link,
down to :data:`GENESIS`, and every row off that path is reported.

The head row is also the lock that orders concurrent writers: :func:`append`
locks it (``SELECT ... FOR UPDATE``) before it numbers its entries, so two
transactions that log at the same moment append one after the other and
the chain never forks.  (The primary key on the id is a second guard: two
writers that both took the same number could not both store it.)  Entries
are numbered after the head, and a number that a row written behind
klagomal's back already holds is passed over: whoever can write to the
table can add rows that verify reports, but cannot stop the log, and so
every command, by taking the next number first.

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
   anchor it prints, the last entry's id and hash as ``id:hash``
   (:attr:`AuditVerification.anchor`), somewhere the database's users cannot
   reach, for example in the diarium.  A chain rewritten afterwards gives
   that entry another hash, which ``klagomal audit verify --anchor id:hash``
   (``verify(conn, anchors=[(id, hash)])``) reports, as it reports an anchor
   whose entry is gone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from klagomal.core.errors import InvalidInputError, SchemaError
from klagomal.core.i18n import _, ngettext
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

    ``last_id`` and ``last_hash`` are those of the chain's last entry, the
    one the head names (0 and :data:`GENESIS` for an empty log): the pair to
    keep outside the database, the :attr:`anchor` of the next check.
    ``omitted`` counts the problems found beyond the :data:`MAX_PROBLEMS`
    listed; ``anchored`` lists the entries given as anchors that still have
    the hash noted for them.
    """

    checked: int
    problems: tuple[AuditProblem, ...]
    last_id: int = 0
    last_hash: str = GENESIS
    omitted: int = 0
    anchored: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the log is whole."""
        return not self.problems

    @property
    def anchor(self) -> str:
        """The last entry as ``"id:hash"``, as ``klagomal audit verify
        --anchor`` takes it back at the next check."""
        return f"{self.last_id}:{self.last_hash}"

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
        if self.anchored:
            lines.append(
                ngettext(
                    "Post {ids} har samma kontrollsumma som antecknades vid en tidigare kontroll.",
                    "Posterna {ids} har samma kontrollsummor som antecknades vid tidigare kontroller.",
                    len(self.anchored),
                ).format(ids=", ".join(str(entry) for entry in self.anchored))
            )
        if self.last_id:
            lines.append(
                _("Sista posten: nummer {id}, kontrollsumma {hash}.").format(
                    id=self.last_id, hash=self.last_hash
                )
            )
            if self.ok:
                lines.append(
                    _(
                        "Anteckna ankaret {anchor} utanför databasen, till exempel i diariet, och "
                        "kontrollera nästa gång med 'klagomal audit verify --anchor {anchor}': har loggen "
                        "skrivits om sedan i dag, har post {id} inte längre samma kontrollsumma."
                    ).format(anchor=self.anchor, id=self.last_id)
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
    .where(audit_head.c.id == _HEAD_ID)
    .with_for_update()
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
        last_id, last_hash = entry_id, new_hash
    conn.execute(sa.insert(audit_log), rows)
    updated = conn.execute(
        sa.update(audit_head)
        .where(audit_head.c.id == _HEAD_ID, audit_head.c.last_id == head.last_id)
        .values(last_id=last_id, last_hash=last_hash)
    )
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


#: How many rows :func:`verify` reads on past a link that names none of
#: them before it reports the link as broken.  Rows put in between the
#: entries of the chain, up to this many in a row, are reported one by one
#: as not belonging to it.
_LOOKAHEAD: Final = 1000
#: How often :func:`verify` reads the head again when entries were
#: appended while it read the newest rows (outside a snapshot).
_HEAD_READS: Final = 5

# The order of the problems of one entry: its place in the chain, its own
# hash, then the anchor noted for it.
_CHAIN, _CHECKSUM, _ANCHOR = 0, 1, 2


class _Problems:
    """The problems found: those of the :data:`MAX_PROBLEMS` lowest entries
    listed, in the order of the entries (problems of no one entry first),
    the rest only counted."""

    def __init__(self) -> None:
        # A heap of the listed problems by their keys negated: the problem
        # of the highest entry is the one dropped for a lower one.
        self._heap: list[tuple[tuple[int, int, int, int], AuditProblem]] = []
        self._order = itertools.count()
        self.omitted = 0

    def add(self, entry: int | None, reason: str, rank: int = _CHAIN) -> None:
        key = (0 if entry is None else 1, entry or 0, rank, next(self._order))
        heapq.heappush(self._heap, ((-key[0], -key[1], -key[2], -key[3]), AuditProblem(entry, reason)))
        if len(self._heap) > MAX_PROBLEMS:
            heapq.heappop(self._heap)
            self.omitted += 1

    def listed(self) -> tuple[AuditProblem, ...]:
        return tuple(problem for _key, problem in sorted(self._heap, reverse=True))


@attrs.frozen
class _Link:
    """What the walk along the chain keeps of a row."""

    id: int
    prev_hash: str
    hash: str
    #: Whether its hash is that of its fields: a row changed behind
    #: klagomal's back cannot vouch for passing rows by.
    sound: bool


def verify(
    conn: Connection, *, chunk: int = 5000, anchors: Iterable[tuple[int, str]] = ()
) -> AuditVerification:
    """Check the whole chain, *chunk* entries at a time; never raise for
    what is in the tables.

    Each entry's hash is computed again from its fields.  Then the chain is
    followed from the head down, in descending id order: the entry the head
    names, the one its ``prev_hash`` names, and so on to :data:`GENESIS`,
    the ids falling by one at each link.  Every row off that path is
    reported, at the entry it concerns, and the check goes on after it:

    - an edited row: its hash does not match its fields (and, if the hash
      was recomputed, the next entry's link no longer names it);
    - a deleted row: a gap in the ids (at the end: the head names an entry
      that is not there);
    - an inserted or moved row: the next entry's link passes it by, or it
      lies past the entry the head names;
    - a head that does not name the last entry, or is missing;
    - an emptied log, with or without its head, and a chain that does not
      begin at entry 1 with :data:`GENESIS`;
    - an id below 1, and a row whose fields cannot be read.

    *anchors* are ``(id, hash)`` pairs kept outside the database from
    earlier checks (:attr:`AuditVerification.anchor`): an entry that no
    longer has the hash noted for it, or is gone, means the chain was
    rewritten.

    Run it in a consistent snapshot (``SqlStorage.snapshot()``) so that the
    log is seen as of one moment; outside one, the head is read again until
    entries appended meanwhile are read with it.  Memory stays bounded: the
    rows are read with keyset pagination on the id, and at most
    ``_LOOKAHEAD`` of them are kept while a link is sought.
    """
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    expected_hashes = dict(anchors)
    anchored: list[int] = []
    present: set[int] = set()
    problems = _Problems()

    def read(below: int | None) -> list[sa.Row[Any]]:
        query = sa.select(*_VERIFIED_COLUMNS).order_by(audit_log.c.id.desc()).limit(chunk)
        if below is not None:
            query = query.where(audit_log.c.id < below)
        return list(conn.execute(query))

    def read_head() -> tuple[int, str] | None:
        found = conn.execute(
            sa.select(audit_head.c.last_id, audit_head.c.last_hash).where(audit_head.c.id == _HEAD_ID)
        ).one_or_none()
        return None if found is None else (found.last_id, found.last_hash)

    # The newest rows and the head, as of one moment: entries appended in
    # between would otherwise lie past the head read.
    for _attempt in range(_HEAD_READS):
        head = read_head()
        rows = read(None)
        if read_head() == head:
            break

    def locate(hash_: str, below: int) -> int | None:
        """The id of the highest row below *below* whose hash is *hash_*."""
        found: int | None = conn.execute(
            sa.select(sa.func.max(audit_log.c.id)).where(
                audit_log.c.hash == hash_, audit_log.c.id < below, audit_log.c.id >= 1
            )
        ).scalar()
        return found

    walk = _Walk(head, problems, locate)
    checked = 0
    while rows:
        for row in rows:
            checked += 1
            sound = _check_fields(row, problems)
            expected = expected_hashes.get(row.id)
            if expected is not None:
                present.add(row.id)
                if row.hash == expected:
                    anchored.append(row.id)
                else:
                    problems.add(
                        row.id,
                        _(
                            "post {id} har inte den kontrollsumma som antecknades vid en tidigare kontroll; "
                            "kedjan har skrivits om"
                        ).format(id=row.id),
                        _ANCHOR,
                    )
            if row.id < 1:
                problems.add(
                    row.id,
                    _("post {id} har ett nummer utanför nummerföljden, som börjar på 1").format(id=row.id),
                )
            else:
                walk.row(_Link(row.id, row.prev_hash, row.hash, sound))
        if len(rows) < chunk:
            break
        rows = read(rows[-1].id)
    walk.finish()
    for entry_id in sorted(set(expected_hashes) - present):
        problems.add(
            entry_id,
            _(
                "post {id} finns inte, men den antecknades vid en tidigare kontroll; poster har tagits bort"
            ).format(id=entry_id),
            _ANCHOR,
        )
    top = walk.top
    return AuditVerification(
        checked=checked,
        problems=problems.listed(),
        last_id=top.id if top else 0,
        last_hash=str(top.hash) if top else GENESIS,
        omitted=problems.omitted,
        anchored=tuple(sorted(anchored)),
    )


#: The columns :func:`verify` reads.  ``at`` as the text SQLite holds, so
#: that a value that is no moment is reported rather than raised when the
#: row is fetched; the servers return their own timestamps all the same.
_VERIFIED_COLUMNS = (
    *(column for column in audit_log.c if column.name != "at"),
    sa.type_coerce(audit_log.c.at, sa.String).label("at"),
)


def _check_fields(row: sa.Row[Any], problems: _Problems) -> bool:
    """Whether *row*'s hash is that of its fields; report it if not."""
    try:
        at = row.at if isinstance(row.at, dt.datetime) else dt.datetime.fromisoformat(row.at)
        computed = hashlib.sha256(
            _canonical(
                row.prev_hash,
                row.id,
                at,
                row.user_id,
                row.role,
                row.action,
                row.outcome,
                row.reference,
                row.detail,
            )
        ).hexdigest()
    except (TypeError, ValueError):  # a value that no column of klagomal's holds
        problems.add(
            row.id,
            _("post {id} går inte att läsa: {reason}; raden har ändrats utanför klagomal").format(
                id=row.id, reason=_unreadable(row)
            ),
            _CHECKSUM,
        )
        return False
    if computed != row.hash:
        problems.add(
            row.id,
            _("post {id}: kontrollsumman stämmer inte; raden har ändrats").format(id=row.id),
            _CHECKSUM,
        )
        return False
    return True


def _unreadable(row: sa.Row[Any]) -> str:
    """What makes *row* unreadable, in Swedish."""
    for name in ("user_id", "role", "action", "outcome", "reference", "detail", "prev_hash", "hash"):
        value = getattr(row, name)
        if not isinstance(value, str) and not (value is None and name == "reference"):
            return _("fältet {field} håller {kind}, inte text").format(field=name, kind=type(value).__name__)
    return _("tidpunkten {value!r} går inte att tolka").format(value=row.at)


class _Walk:
    """The chain followed from the head down, one row at a time in
    descending id order (see :func:`verify`).

    ``above`` is the lowest entry found on the chain so far (``None``: the
    head itself), ``expected`` the hash its link names (``None`` when the
    head is missing: the newest row is taken as the last entry).  Rows read
    that do not have that hash wait in ``pending``: if a row further down
    has it, they lie off the chain.  If none of the next ``_LOOKAHEAD`` rows
    has it, *locate* asks the database for the row that has; the rows down
    to it are then reported as they are read, without being kept.  If no
    row has it, the link is broken, and the rows are taken as the chain
    goes on from there."""

    def __init__(
        self,
        head: tuple[int, str] | None,
        problems: _Problems,
        locate: Callable[[str, int], int | None],
    ) -> None:
        self.head = head
        self.problems = problems
        self.locate = locate
        self.above: _Link | None = None
        self.expected: str | None = head[1] if head is not None else None
        self.top: _Link | None = None
        self.pending: list[_Link] = []
        # While rows are passed by down to the located one: its id, and the
        # id of the last row read.
        self.located: int | None = None
        self.last_read = 0

    def row(self, link: _Link) -> None:
        if self.located is not None:
            self._gap_between(link.id, self.last_read)
            self.last_read = link.id
            if link.id > self.located:
                self._off_chain([link], self.located)
                return
            self.located = None
            if link.hash == self.expected:
                self._accept(link)
                return
        if self.expected is None or link.hash == self.expected:
            if self.pending and self.above is not None and not self.above.sound:
                # An edited entry's link may be what was edited: report it as
                # broken rather than the rows it passes by as off the chain.
                self.pending.append(link)
                self._break()
            else:
                self._on_chain(link)
        else:
            self.pending.append(link)
            if len(self.pending) > _LOOKAHEAD:
                self._look_further()

    def finish(self) -> None:
        """Report what the end of the rows leaves unresolved."""
        if self.pending and self.expected == GENESIS:
            # The chain has reached its beginning: the rows left lie off it.
            passed, self.pending = self.pending, []
            self._off_chain(passed, 0)
            if self.above is not None:
                self._gaps(0, self.above.id, passed)
            elif self.head is not None and self.head[0] != 0:
                self.problems.add(
                    None,
                    _("huvudet anger post {head} men pekar på kedjans början; huvudet har ändrats").format(
                        head=self.head[0]
                    ),
                )
            return
        if self.pending:
            self._break()
        if self.above is None:
            self._empty()
        elif self.above.id > 1:
            self._gap(0, self.above.id)  # the gap says why the link is broken, if it is
        elif self.expected != GENESIS:
            self.problems.add(1, _("post 1 pekar inte på kedjans början"))

    def _empty(self) -> None:
        """No row is on the chain: the log is empty, or was emptied."""
        if self.head is None:
            self.problems.add(
                None,
                _(
                    "tabellen audit_log är tom och huvudet (tabellen audit_head) saknas; loggen har tömts "
                    "utanför klagomal"
                ),
            )
        elif self.head[0] > 0:
            self.problems.add(
                1,
                _(
                    "tabellen audit_log är tom men huvudet anger post {head}; loggens poster har tagits bort"
                ).format(head=self.head[0]),
            )
        elif self.head[1] != GENESIS:
            self.problems.add(None, _("loggen är tom men huvudet pekar inte på kedjans början"))

    def _on_chain(self, link: _Link) -> None:
        """*link* is the entry the link of ``above`` (or the head) names."""
        passed, self.pending = self.pending, []
        self._off_chain(passed, link.id)
        if self.above is not None and (passed or link.id < self.above.id - 1):
            self._gaps(link.id, self.above.id, passed)
        self._accept(link)

    def _accept(self, link: _Link) -> None:
        """Go on down the chain from *link*."""
        if self.above is None:
            self.top = link
            if self.head is None:
                self.problems.add(None, _("huvudet (tabellen audit_head) saknas"))
            elif self.head[0] != link.id:
                self.problems.add(
                    link.id,
                    _(
                        "huvudet anger post {head} men har kontrollsumman för post {last}; huvudet har "
                        "ändrats"
                    ).format(head=self.head[0], last=link.id),
                )
        self.above, self.expected = link, link.prev_hash

    def _look_further(self) -> None:
        """No row of the lookahead has the hash expected: find the one
        that has, and pass by the rows down to it; or report the link broken."""
        assert self.expected is not None
        below = self.pending[-1].id
        found = None if self.above is not None and not self.above.sound else self.locate(self.expected, below)
        if found is None:
            self._break()
            return
        passed, self.pending = self.pending, []
        self._off_chain(passed, found)
        if self.above is not None:
            self._gaps(below, self.above.id, passed)
        self.located, self.last_read = found, below

    def _off_chain(self, passed: list[_Link], below: int) -> None:
        """Report the rows *passed* by, which lie between ``above`` (or
        past the head) and the chain entry *below* (0: the chain's beginning)."""
        for link in passed:
            if self.above is None and below == 0:
                reason = _(
                    "post {id} ligger efter huvudet, som anger att loggen är tom; den har förts in utanför "
                    "klagomal, eller huvudet har skrivits tillbaka"
                ).format(id=link.id)
            elif self.above is None:
                assert self.head is not None
                reason = _(
                    "post {id} ligger efter den sista posten i kedjan, den som huvudet anger (post {head}); "
                    "den har förts in utanför klagomal, eller huvudet har skrivits tillbaka"
                ).format(id=link.id, head=self.head[0])
            elif below == 0:
                reason = _(
                    "post {id} hör inte till kedjan: post {after} pekar förbi den, på kedjans början; den "
                    "har förts in eller flyttats utanför klagomal"
                ).format(id=link.id, after=self.above.id)
            else:
                reason = _(
                    "post {id} hör inte till kedjan: post {after} pekar förbi den, på post {before}; den "
                    "har förts in eller flyttats utanför klagomal"
                ).format(id=link.id, after=self.above.id, before=below)
            self.problems.add(link.id, reason)

    def _break(self) -> None:
        """The link of ``above`` (or the head) names none of the rows
        pending: report it broken, and take the rows as the chain goes on."""
        links, self.pending = self.pending, []
        first = links[0]
        if self.above is None:
            assert self.head is not None
            head_id = self.head[0]
            if head_id > first.id:
                reason = _(
                    "loggen slutar vid post {last} men huvudet anger post {head}; poster har tagits bort "
                    "i slutet"
                )
                entry = first.id + 1
            elif head_id < first.id:
                reason = _(
                    "huvudet anger post {head} men loggen slutar vid post {last}; huvudet pekar inte på den "
                    "sista posten"
                )
                entry = head_id + 1
            else:
                reason = _("huvudet pekar inte på den sista posten (post {last})")
                entry = first.id
            self.problems.add(entry, reason.format(head=head_id, last=first.id))
            self.top = first
        else:
            self._broken(self.above, first)
        self.above, self.expected = first, first.prev_hash
        for link in links[1:]:
            if link.hash != self.expected:
                self._broken(self.above, link)
            else:
                self._gap_between(link.id, self.above.id)
            self.above, self.expected = link, link.prev_hash

    def _broken(self, after: _Link, link: _Link) -> None:
        """The link of *after* does not name *link*, the next row down."""
        if link.id < after.id - 1:
            self._gap(link.id, after.id)  # the gap says why the link is broken
        else:
            self.problems.add(
                after.id, _("post {id} pekar inte på post {before}").format(id=after.id, before=link.id)
            )

    def _gaps(self, low: int, high: int, present: list[_Link]) -> None:
        """Report the ids between *low* and *high* that no row has."""
        before = low
        for entry_id in [*sorted(link.id for link in present if low < link.id < high), high]:
            self._gap_between(before, entry_id)
            before = entry_id

    def _gap_between(self, low: int, high: int) -> None:
        """Report the ids between *low* and *high* as missing, if there are
        any and they lie within the chain."""
        if self.above is not None and high > low + 1:
            self._gap(low, high)

    def _gap(self, before: int, after: int) -> None:
        if after == before + 2:
            reason = _("post {missing} saknas (nummerföljden hoppar från {before} till {after})")
        else:
            reason = _("posterna {missing}–{last} saknas (nummerföljden hoppar från {before} till {after})")
        self.problems.add(
            before + 1, reason.format(missing=before + 1, last=after - 1, before=before, after=after)
        )

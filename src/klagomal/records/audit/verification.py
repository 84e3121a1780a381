"""Verifying the audit log: the chain followed from the head down, every row
off it reported at the entry it concerns, and the anchors noted at earlier
checks compared (see :func:`verify` and :mod:`klagomal.records.audit`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import itertools
from collections.abc import Callable, Iterable
from typing import Any, Final

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from klagomal.core.formats import number
from klagomal.core.i18n import _, ngettext
from klagomal.records.audit.chain import GENESIS, HEAD_ID, canonical_fields
from klagomal.storage.tables import audit_head, audit_log

__all__ = ["MAX_PROBLEMS", "AuditProblem", "AuditVerification", "verify"]

#: Problems listed by :func:`verify`; the rest are only counted.
MAX_PROBLEMS: Final = 100


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
        checked = number(self.checked)
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
                ).format(problems=number(found), n=checked)
            ]
            lines += (f"  - {problem.reason}" for problem in self.problems)
            if self.omitted:
                lines.append(_("  ... och {n} fel till.").format(n=number(self.omitted)))
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
            sa.select(audit_head.c.last_id, audit_head.c.last_hash).where(audit_head.c.id == HEAD_ID)
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
            canonical_fields(
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

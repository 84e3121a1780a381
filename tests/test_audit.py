"""The audit log and its hash chain (klagomal.records.audit), on SQLite, PostgreSQL
and MariaDB.

# R27: who read or wrote a person's data or a case's text is logged, denials
# too, in a log that is append-only and whose tampering is detectable: each
# entry carries the hash of the one before it, and the head row the last one.
The tamper tests change the tables behind klagomal's back with plain SQL, as
someone with write access to the database would, and check that
:func:`klagomal.records.audit.verify` reports exactly what was done, at the entry
where it was done.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from klagomal import Klagomal
from klagomal.core.errors import InvalidInputError, SchemaError, TransientStorageError
from klagomal.records.audit import (
    ALLOWED,
    DENIED,
    GENESIS,
    MAX_PROBLEMS,
    AuditEntry,
    AuditProblem,
    AuditVerification,
    append,
    canonical,
    entries,
    entry_hash,
    verify,
)
from klagomal.records.audit.chain import naive_utc
from klagomal.records.audit.verification import _LOOKAHEAD, _check_fields, _Problems
from klagomal.storage.tables import audit_head, audit_log
from test_cli import Cli

#: A moment with microseconds, so that losing them would show.
T0 = dt.datetime(2026, 3, 2, 8, 15, 0, 1)
STOCKHOLM_WINTER = dt.timezone(dt.timedelta(hours=1))


@pytest.fixture
def k(new_database: Callable[[], str]) -> Iterator[Klagomal]:
    """An initialised Klagomal on each backend in turn, with an empty audit log."""
    instance = Klagomal(new_database(), load_entrypoints=False)
    instance.init()
    yield instance
    instance.dispose()


def engine(k: Klagomal) -> sa.Engine:
    return k.storage.engine


def sample(i: int, **changes: Any) -> AuditEntry:
    """The *i*-th of a series of entries: several users, roles and cases,
    some denied, some without a case.  # R27: detail names what was done, no personal data."""
    values: dict[str, Any] = {
        "user_id": f"handl{i % 3}",
        "role": ("handläggare", "registrator", "granskare")[i % 3],
        "action": ("read", "step", "extract", "denied")[i % 4],
        "outcome": DENIED if i % 4 == 3 else ALLOWED,
        "reference": None if i % 5 == 4 else f"2026-{i % 7 + 1:05d}",
        "detail": f"post {i}: steg besked – åäö",
        "at": T0 + dt.timedelta(seconds=i, microseconds=i),
    }
    values.update(changes)
    return AuditEntry(**values)


def log(k: Klagomal, count: int, *, first: int = 1) -> list[int]:
    """Append *count* sample entries in one write transaction."""
    with k.storage.transaction() as uow:
        return append(uow.conn, [sample(i) for i in range(first, first + count)])


def check(k: Klagomal, **options: Any) -> AuditVerification:
    """Verify the log in a snapshot, as ``klagomal audit verify`` would."""
    with k.storage.snapshot() as uow:
        return verify(uow.conn, **options)


def found(result: AuditVerification) -> list[tuple[int | None, str]]:
    return [(p.entry, p.reason) for p in result.problems]


def execute(k: Klagomal, *statements: sa.Executable) -> None:
    """Run *statements* in one transaction straight through the engine, as
    someone with write access to the database could."""
    with engine(k).begin() as conn:
        for statement in statements:
            conn.execute(statement)


def row(k: Klagomal, entry_id: int) -> sa.Row[Any]:
    with engine(k).connect() as conn:
        return conn.execute(sa.select(audit_log).where(audit_log.c.id == entry_id)).one()


def head(k: Klagomal) -> tuple[int, str]:
    with engine(k).connect() as conn:
        found_head = conn.execute(sa.select(audit_head.c.last_id, audit_head.c.last_hash)).one()
    return found_head.last_id, found_head.last_hash


def as_entry(stored: sa.Row[Any]) -> AuditEntry:
    """The entry a raw row holds, as the attacker who recomputes hashes reads it."""
    return AuditEntry(
        stored.user_id,
        stored.role,
        stored.action,
        stored.outcome,
        stored.reference,
        stored.detail,
        stored.at,
    )


def edit(entry_id: int, **values: Any) -> sa.Executable:
    return sa.update(audit_log).where(audit_log.c.id == entry_id).values(**values)


def checksum(entry_id: int) -> str:
    return f"post {entry_id}: kontrollsumman stämmer inte; raden har ändrats"


def link(entry_id: int) -> str:
    return f"post {entry_id} pekar inte på post {entry_id - 1}"


# -- appending -----------------------------------------------------------------


def test_an_empty_log_verifies(k: Klagomal) -> None:
    result = check(k)
    assert result.ok
    assert (result.checked, result.last_id, result.last_hash) == (0, 0, GENESIS)
    assert result.summary() == "Granskningsloggen är hel: 0 poster kontrollerade."
    assert head(k) == (0, GENESIS)


def test_appended_entries_are_numbered_from_1_and_chained(k: Klagomal) -> None:
    # R27: who, when, what and which case, in the order it happened.
    assert log(k, 3) == [1, 2, 3]
    assert log(k, 1, first=4) == [4]
    assert log(k, 5, first=5) == [5, 6, 7, 8, 9]
    with engine(k).connect() as conn:
        stored = entries(conn)
    assert [e.id for e in stored] == list(range(1, 10))
    prev = GENESIS
    for number, entry in enumerate(stored, start=1):
        assert entry.prev_hash == prev
        assert entry.hash == entry_hash(prev, entry.id, sample(number))
        assert entry.hash == hashlib.sha256(canonical(prev, entry.id, entry)).hexdigest()
        assert attrs_of(entry) == attrs_of(sample(number))
        prev = entry.hash
    assert head(k) == (9, prev)
    result = check(k)
    assert result.ok, result.summary()
    assert (result.checked, result.last_id, result.last_hash) == (9, 9, prev)


def attrs_of(entry: AuditEntry) -> tuple[Any, ...]:
    """The logged fields, with ``at`` as naive UTC."""
    at = entry.at if entry.at.tzinfo is None else entry.at.astimezone(dt.UTC).replace(tzinfo=None)
    return (entry.user_id, entry.role, entry.action, entry.outcome, entry.reference, entry.detail, at)


def test_the_canonical_form_is_compact_json_in_utf8() -> None:
    # Published so that the chain can be checked without klagomal (R27).
    entry = sample(1, reference=None, at=dt.datetime(2026, 3, 2, 9, 15, 0, 1, tzinfo=STOCKHOLM_WINTER))
    expected = (
        '["' + GENESIS + '",1,"2026-03-02T08:15:00.000001","handl1","registrator","step","allowed",'
        'null,"post 1: steg besked – åäö"]'
    ).encode()
    assert canonical(GENESIS, 1, entry) == expected
    assert entry_hash(GENESIS, 1, entry) == hashlib.sha256(expected).hexdigest()


def test_aware_moments_are_stored_as_utc_with_microseconds(k: Klagomal) -> None:
    local = dt.datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=STOCKHOLM_WINTER)
    with k.storage.transaction() as uow:
        append(uow.conn, [sample(1, at=local)])
    assert row(k, 1).at == dt.datetime(2026, 3, 2, 9, 0, 0, 123456)
    with engine(k).connect() as conn:
        (stored,) = entries(conn)
    assert stored.at == local
    assert stored.at.tzinfo is dt.UTC
    assert check(k).ok


def test_nothing_is_logged_by_a_transaction_that_is_rolled_back(k: Klagomal) -> None:
    log(k, 2)

    def failing_step() -> None:
        with k.storage.transaction() as uow:
            append(uow.conn, [sample(3), sample(4)])
            raise RuntimeError("the step failed")

    with pytest.raises(RuntimeError):
        failing_step()
    assert head(k) == (2, row(k, 2).hash)
    assert log(k, 1, first=3) == [3]
    assert check(k).ok


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"outcome": "maybe"}, "utfallet 'maybe'"),
        ({"user_id": "x" * 201}, "user_id är längre än 200 tecken"),
        ({"action": "a" * 41}, "action är längre än 40 tecken"),
        ({"reference": "2026-" + "1" * 16}, "reference är längre än 20 tecken"),
        ({"detail": "d" * 4001}, "beskrivning är längre än 4000 tecken"),
    ],
    ids=["outcome", "user_id", "action", "reference", "detail"],
)
def test_an_entry_that_does_not_fit_is_refused_before_anything_is_written(
    k: Klagomal, changes: dict[str, Any], words: str
) -> None:
    # A server that cut the value to fit would store a row whose hash no longer matched.
    with pytest.raises(InvalidInputError, match=words), k.storage.transaction() as uow:
        append(uow.conn, [sample(1), sample(2, **changes)])
    assert head(k) == (0, GENESIS)
    assert check(k).checked == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"outcome": "maybe"},
            "Granskningsposten har utfallet 'maybe'; det ska vara 'allowed' eller 'denied'.",
        ),
        ({"at": None}, "Granskningsposten saknar tidpunkt."),
        ({"action": "a" * 41}, "Granskningspostens fält action är längre än 40 tecken."),
        ({"detail": "d" * 4001}, "Granskningspostens beskrivning är längre än 4000 tecken."),
    ],
    ids=["outcome", "at", "action", "detail"],
)
def test_each_refusal_of_an_entry_word_for_word(k: Klagomal, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError) as caught, k.storage.transaction() as uow:
        append(uow.conn, [sample(1, **changes)])
    assert str(caught.value) == message


def test_an_entry_exactly_as_long_as_its_columns_is_kept_whole(k: Klagomal) -> None:
    longest = sample(1, action="a" * 40, user_id="u" * 200, detail="d" * 4000)
    with k.storage.transaction() as uow:
        assert append(uow.conn, [longest]) == [1]
    with engine(k).connect() as conn:
        (stored,) = entries(conn)
    assert (stored.action, stored.user_id, stored.detail) == (longest.action, longest.user_id, longest.detail)
    assert check(k).ok


def test_a_moment_is_stored_as_utc_whatever_the_machines_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Stockholm")
    time.tzset()
    try:
        noon_in_stockholm = dt.datetime(2026, 3, 2, 12, 0, tzinfo=STOCKHOLM_WINTER)
        assert naive_utc(noon_in_stockholm) == dt.datetime(2026, 3, 2, 11, 0)
        assert naive_utc(dt.datetime(2026, 3, 2, 12, 0)) == dt.datetime(
            2026, 3, 2, 12, 0
        )  # already naive UTC
    finally:
        monkeypatch.undo()
        time.tzset()


def test_appending_nothing_writes_nothing(k: Klagomal) -> None:
    with k.storage.transaction() as uow:
        assert append(uow.conn, []) == []
    assert head(k) == (0, GENESIS)


def test_entries_by_case_user_and_time_newest_last(k: Klagomal) -> None:
    # R27: "who has looked at my case?" and "what has this user done?"
    log(k, 20)
    with engine(k).connect() as conn:
        by_case = entries(conn, reference="2026-00002")
        assert [e.id for e in by_case] == [1, 8, 15]
        assert [e.id for e in entries(conn, user_id="handl0")] == [3, 6, 9, 12, 15, 18]
        assert [e.id for e in entries(conn, user_id="handl0", limit=2)] == [15, 18]
        assert [e.id for e in entries(conn, limit=3)] == [18, 19, 20]
        since = (T0 + dt.timedelta(seconds=18, microseconds=18)).replace(tzinfo=dt.UTC)
        assert [e.id for e in entries(conn, since=since)] == [18, 19, 20]
        assert [e.id for e in entries(conn, since=since.astimezone(STOCKHOLM_WINTER))] == [18, 19, 20]
        assert entries(conn, reference="2026-99999") == []
    assert all(e.reference == "2026-00002" for e in by_case)


def test_a_cases_entries_include_the_lists_that_name_it_and_no_other_cases(k: Klagomal) -> None:
    # R27: a list read is one entry without a case, naming the cases listed.
    with k.storage.transaction() as uow:
        append(
            uow.conn,
            [
                sample(1, reference="2026-00002", detail="läst"),
                sample(2, reference=None, detail="lista: 2026-00002, 2026-00003"),
                sample(3, reference="2026-00003", detail="jämfört med 2026-00002"),
                sample(4, reference=None, detail="lista: 2026-00003"),
            ],
        )
    with engine(k).connect() as conn:
        assert [e.id for e in entries(conn, reference="2026-00002")] == [1, 2]
        assert [e.id for e in entries(conn, reference="2026-00003")] == [2, 3, 4]
        # The reference is searched for as it is written: "_" and "%" match only themselves.
        assert entries(conn, reference="2026_00002") == []
        assert entries(conn, reference="2026%") == []


# -- tampering -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "what"),
    [
        ({"detail": "post 3: steg besked – åäö!"}, "detail"),
        ({"user_id": "handl9"}, "user_id"),
        ({"role": "granskare"}, "role"),
        ({"action": "read"}, "action"),
        ({"outcome": ALLOWED}, "outcome"),
        ({"reference": None}, "reference"),
        ({"at": T0 + dt.timedelta(seconds=3, microseconds=4)}, "at, one microsecond later"),
    ],
)
def test_an_edited_field_is_reported_at_its_entry(k: Klagomal, values: dict[str, Any], what: str) -> None:
    # R27: an edited row gives another hash; the next link still holds, so
    # exactly this entry is reported.
    log(k, 6)
    assert row(k, 3).at == T0 + dt.timedelta(seconds=3, microseconds=3)
    execute(k, edit(3, **values))
    result = check(k)
    assert found(result) == [(3, checksum(3))], what
    assert not result.ok
    assert result.checked == 6


def test_an_edited_hash_is_reported_at_its_entry_and_the_next(k: Klagomal) -> None:
    log(k, 6)
    execute(k, edit(3, hash="a" * 64))
    assert found(check(k)) == [(3, checksum(3)), (4, link(4))]


def test_an_edited_link_is_reported(k: Klagomal) -> None:
    log(k, 6)
    execute(k, edit(1, prev_hash="1" * 64), edit(4, prev_hash=row(k, 2).hash))
    assert found(check(k)) == [
        (1, "post 1 pekar inte på kedjans början"),
        (1, checksum(1)),
        (4, link(4)),
        (4, checksum(4)),
    ]


def test_a_deleted_entry_in_the_middle_is_reported(k: Klagomal) -> None:
    # R27: removing who looked at a case leaves a gap.
    log(k, 6)
    execute(k, sa.delete(audit_log).where(audit_log.c.id == 4))
    assert found(check(k)) == [(4, "post 4 saknas (nummerföljden hoppar från 3 till 5)")]


def test_several_deleted_entries_are_reported_as_one_gap(k: Klagomal) -> None:
    log(k, 6)
    execute(k, sa.delete(audit_log).where(audit_log.c.id.in_([2, 3, 4])))
    assert found(check(k)) == [(2, "posterna 2–4 saknas (nummerföljden hoppar från 1 till 5)")]


def test_a_deleted_first_entry_is_reported(k: Klagomal) -> None:
    log(k, 3)
    execute(k, sa.delete(audit_log).where(audit_log.c.id == 1))
    assert found(check(k)) == [(1, "post 1 saknas (nummerföljden hoppar från 0 till 2)")]


def test_a_deleted_last_entry_is_reported_through_the_head(k: Klagomal) -> None:
    # R27: the last entry has no successor to betray it; the head does.
    log(k, 6)
    execute(k, sa.delete(audit_log).where(audit_log.c.id == 6))
    result = check(k)
    assert found(result) == [
        (6, "loggen slutar vid post 5 men huvudet anger post 6; poster har tagits bort i slutet")
    ]
    assert result.checked == 5


def test_a_log_of_one_entry_emptied_is_reported_and_verify_wants_chunks_of_one_or_more(k: Klagomal) -> None:
    log(k, 1)
    execute(k, sa.delete(audit_log))
    assert found(check(k)) == [
        (1, "tabellen audit_log är tom men huvudet anger post 1; loggens poster har tagits bort")
    ]
    with k.storage.snapshot() as uow, pytest.raises(ValueError, match=r"^chunk must be at least 1$"):
        verify(uow.conn, chunk=0)


def test_a_log_emptied_behind_the_heads_back_is_reported(k: Klagomal) -> None:
    log(k, 3)
    execute(k, sa.delete(audit_log))
    assert found(check(k)) == [
        (1, "tabellen audit_log är tom men huvudet anger post 3; loggens poster har tagits bort")
    ]
    # The writers go on from the head; the entries taken away stay reported.
    assert log(k, 2, first=4) == [4, 5]
    assert found(check(k)) == [(1, "posterna 1–3 saknas (nummerföljden hoppar från 0 till 4)")]


def test_a_log_emptied_with_its_head_is_reported(k: Klagomal) -> None:
    log(k, 3)
    execute(k, sa.delete(audit_log), sa.delete(audit_head))
    result = check(k)
    assert found(result) == [
        (
            None,
            "tabellen audit_log är tom och huvudet (tabellen audit_head) saknas; loggen har tömts "
            "utanför klagomal",
        )
    ]
    assert (result.checked, result.last_id) == (0, 0)


def test_a_forged_entry_inserted_in_the_middle_breaks_the_next_link(k: Klagomal) -> None:
    # R27: the attacker makes room at 4, inserts a forged entry chained to 3
    # with a correct hash, gives the moved entries correct hashes for their
    # new numbers and moves the head, but entry 5 still points at entry 3.
    log(k, 6)
    before = [row(k, i) for i in range(1, 7)]
    forged = sample(4, user_id="handl1", detail="inget att se här")
    forged_hash = entry_hash(before[2].hash, 4, forged)
    statements: list[sa.Executable] = [
        edit_where(audit_log.c.id >= 4, id=-audit_log.c.id),
        edit_where(audit_log.c.id < 0, id=-audit_log.c.id + 1),
        sa.insert(audit_log).values(id=4, **attrs_dict(forged), prev_hash=before[2].hash, hash=forged_hash),
    ]
    prev_hash = before[3].prev_hash  # not changed to forged_hash: the broken link
    new_hash = ""
    for old in before[3:]:
        new_hash = entry_hash(prev_hash, old.id + 1, as_entry(old))
        statements.append(edit(old.id + 1, prev_hash=prev_hash, hash=new_hash))
        prev_hash = new_hash
    statements.append(sa.update(audit_head).values(last_id=7, last_hash=new_hash))
    execute(k, *statements)
    result = check(k)
    assert found(result) == [(4, off_chain(4, 5, 3))]
    assert result.checked == 7


def test_a_head_that_names_an_entry_but_points_at_the_beginning_is_reported(k: Klagomal) -> None:
    log(k, 2)
    execute(k, sa.update(audit_head).values(last_hash=GENESIS))
    past_empty = (
        "post {} ligger efter huvudet, som anger att loggen är tom; den har förts in utanför klagomal, "
        "eller huvudet har skrivits tillbaka"
    )
    assert found(check(k)) == [
        (None, "huvudet anger post 2 men pekar på kedjans början; huvudet har ändrats"),
        (1, past_empty.format(1)),
        (2, past_empty.format(2)),
    ]


def test_a_missing_first_entry_below_a_chain_made_to_start_later_is_reported(k: Klagomal) -> None:
    log(k, 3)
    three = as_entry(row(k, 3))
    three_hash = entry_hash(GENESIS, 3, three)
    execute(
        k,
        sa.delete(audit_log).where(audit_log.c.id == 1),
        edit(3, prev_hash=GENESIS, hash=three_hash),
        sa.update(audit_head).values(last_hash=three_hash),
    )
    assert found(check(k)) == [
        (1, "post 1 saknas (nummerföljden hoppar från 0 till 2)"),
        (
            2,
            "post 2 hör inte till kedjan: post 3 pekar förbi den, på kedjans början; den har förts in eller "
            "flyttats utanför klagomal",
        ),
    ]


def test_an_entry_deleted_and_the_chain_relinked_over_it_is_still_missing(k: Klagomal) -> None:
    # Someone who deletes entry 3 and recomputes the links and hashes of the
    # entries after it leaves a chain that holds, but not the numbering.
    log(k, 5)
    two = row(k, 2).hash
    four_hash = entry_hash(two, 4, as_entry(row(k, 4)))
    five_hash = entry_hash(four_hash, 5, as_entry(row(k, 5)))
    execute(
        k,
        sa.delete(audit_log).where(audit_log.c.id == 3),
        edit(4, prev_hash=two, hash=four_hash),
        edit(5, prev_hash=four_hash, hash=five_hash),
        sa.update(audit_head).values(last_hash=five_hash),
    )
    assert found(check(k)) == [(3, "post 3 saknas (nummerföljden hoppar från 2 till 4)")]


def test_rows_behind_a_head_that_says_the_log_is_empty_are_each_reported(k: Klagomal) -> None:
    log(k, 2)
    execute(k, sa.update(audit_head).values(last_id=0, last_hash=GENESIS))
    past_empty = (
        "post {} ligger efter huvudet, som anger att loggen är tom; den har förts in utanför klagomal, "
        "eller huvudet har skrivits tillbaka"
    )
    assert found(check(k)) == [(1, past_empty.format(1)), (2, past_empty.format(2))]


def test_a_row_below_a_chain_that_was_made_to_start_later_is_reported(k: Klagomal) -> None:
    # Entry 2 rewritten as the chain's first, entry 3 relinked to it and the
    # head to entry 3: entry 1 is left below the chain's beginning.
    log(k, 3)
    two, three = as_entry(row(k, 2)), as_entry(row(k, 3))
    two_hash = entry_hash(GENESIS, 2, two)
    three_hash = entry_hash(two_hash, 3, three)
    execute(
        k,
        edit(2, prev_hash=GENESIS, hash=two_hash),
        edit(3, prev_hash=two_hash, hash=three_hash),
        sa.update(audit_head).values(last_id=3, last_hash=three_hash),
    )
    assert found(check(k)) == [
        (
            1,
            "post 1 hör inte till kedjan: post 2 pekar förbi den, på kedjans början; den har förts in eller "
            "flyttats utanför klagomal",
        )
    ]


def off_chain(entry_id: int, after: int, before: int) -> str:
    return (
        f"post {entry_id} hör inte till kedjan: post {after} pekar förbi den, på post {before}; den har "
        "förts in eller flyttats utanför klagomal"
    )


def past_head(entry_id: int, head_id: int) -> str:
    return (
        f"post {entry_id} ligger efter den sista posten i kedjan, den som huvudet anger (post {head_id}); "
        "den har förts in utanför klagomal, eller huvudet har skrivits tillbaka"
    )


def edit_where(condition: sa.ColumnElement[bool], **values: Any) -> sa.Executable:
    return sa.update(audit_log).where(condition).values(**values)


def attrs_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "user_id": entry.user_id,
        "role": entry.role,
        "action": entry.action,
        "outcome": entry.outcome,
        "reference": entry.reference,
        "detail": entry.detail,
    }


def test_a_forged_entry_put_in_place_of_a_deleted_one_breaks_the_next_link(k: Klagomal) -> None:
    log(k, 6)
    forged = sample(4, detail="inget att se här")
    prev_hash = row(k, 3).hash
    execute(
        k,
        sa.delete(audit_log).where(audit_log.c.id == 4),
        sa.insert(audit_log).values(
            id=4, **attrs_dict(forged), prev_hash=prev_hash, hash=entry_hash(prev_hash, 4, forged)
        ),
    )
    assert found(check(k)) == [(5, link(5))]


def test_a_forged_entry_added_at_the_end_without_the_head_is_reported(k: Klagomal) -> None:
    log(k, 6)
    forged = sample(7)
    prev_hash = row(k, 6).hash
    execute(
        k,
        sa.insert(audit_log).values(
            id=7, **attrs_dict(forged), prev_hash=prev_hash, hash=entry_hash(prev_hash, 7, forged)
        ),
    )
    assert found(check(k)) == [(7, past_head(7, 6))]


def test_an_entry_numbered_below_1_is_reported(k: Klagomal) -> None:
    # (-1 rather than 0: MariaDB would number an inserted 0 itself, AUTO_INCREMENT.)
    log(k, 2)
    forged = sample(0)
    execute(
        k,
        sa.insert(audit_log).values(
            id=-1, **attrs_dict(forged), prev_hash=GENESIS, hash=entry_hash(GENESIS, -1, forged)
        ),
    )
    result = check(k)
    assert found(result) == [(-1, "post -1 har ett nummer utanför nummerföljden, som börjar på 1")]
    assert result.checked == 3
    # A problem of no one entry is listed first, also before an entry numbered below 1.
    execute(k, sa.delete(audit_head))
    assert found(check(k)) == [
        (None, "huvudet (tabellen audit_head) saknas"),
        (-1, "post -1 har ett nummer utanför nummerföljden, som börjar på 1"),
    ]


def test_two_swapped_entries_are_reported(k: Klagomal) -> None:
    # R27: reordering who did what first changes the hashes (they include
    # the number) of both entries; entry 5 still names the old entry 4, now
    # at 3, so the old 3, now at 4, is off the chain, and the new 3 names 3.
    log(k, 6)
    execute(k, edit(3, id=-1), edit(4, id=3), edit(-1, id=4))
    assert found(check(k)) == [
        (3, link(3)),
        (3, checksum(3)),
        (4, off_chain(4, 5, 3)),
        (4, checksum(4)),
    ]


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"last_hash": "f" * 64}, (6, "huvudet pekar inte på den sista posten (post 6)")),
        (
            {"last_id": 5},
            (6, "huvudet anger post 5 men har kontrollsumman för post 6; huvudet har ändrats"),
        ),
        (
            {"last_id": 8},
            (6, "huvudet anger post 8 men har kontrollsumman för post 6; huvudet har ändrats"),
        ),
        (
            {"last_id": 5, "last_hash": "f" * 64},
            (6, "huvudet anger post 5 men loggen slutar vid post 6; huvudet pekar inte på den sista posten"),
        ),
        (
            {"last_id": 8, "last_hash": "f" * 64},
            (7, "loggen slutar vid post 6 men huvudet anger post 8; poster har tagits bort i slutet"),
        ),
    ],
)
def test_an_edited_head_is_reported(k: Klagomal, values: dict[str, Any], problem: tuple[int, str]) -> None:
    log(k, 6)
    execute(k, sa.update(audit_head).values(**values))
    result = check(k)
    assert found(result) == [problem]
    # The anchor to note is still the chain's own last entry, not the head's word.
    assert (result.last_id, result.last_hash) == (6, row(k, 6).hash)


def test_the_head_of_an_empty_log_is_checked_too(k: Klagomal) -> None:
    execute(k, sa.update(audit_head).values(last_hash="f" * 64))
    assert found(check(k)) == [(None, "loggen är tom men huvudet pekar inte på kedjans början")]
    execute(k, sa.delete(audit_head))
    assert found(check(k)) == [
        (
            None,
            "tabellen audit_log är tom och huvudet (tabellen audit_head) saknas; loggen har tömts "
            "utanför klagomal",
        )
    ]


def test_a_deleted_head_is_reported_and_stops_the_writers_with_a_swedish_error(k: Klagomal) -> None:
    # Nothing can be logged without the head (SchemaError); verify still
    # reads the chain from the newest entry down.
    log(k, 4)
    execute(k, sa.delete(audit_head))
    result = check(k)
    assert found(result) == [(None, "huvudet (tabellen audit_head) saknas")]
    assert (result.checked, result.last_id, result.last_hash) == (4, 4, row(k, 4).hash)
    with pytest.raises(SchemaError, match="Granskningsloggens huvud"):
        log(k, 1, first=5)
    # The check that says so is still returned, though it cannot be logged.
    assert not k.audit_verify().ok


def test_a_problem_of_no_one_entry_is_listed_before_those_of_entries(k: Klagomal) -> None:
    log(k, 4)
    execute(k, edit(3, detail="ändrad"), edit(2, detail="ändrad"), sa.delete(audit_head))
    assert found(check(k)) == [
        (None, "huvudet (tabellen audit_head) saknas"),
        (2, checksum(2)),
        (3, checksum(3)),
    ]


#: What every writer is told when the head is gone.
NO_HEAD = (
    "Granskningsloggens huvud (tabellen audit_head) saknas, så inget kan loggas. Databasen har "
    "ändrats utanför klagomal; kör 'klagomal audit verify'."
)


def _rows(k: Klagomal, *names: str) -> dict[str, int]:
    from klagomal.storage import tables

    with engine(k).connect() as conn:
        return {
            name: conn.execute(
                sa.select(sa.func.count()).select_from(tables.metadata.tables[name])
            ).scalar_one()
            for name in names
        }


@pytest.mark.parametrize(
    "loss",
    [sa.delete(audit_head), sa.update(audit_head).values(id=2)],
    ids=["deleted", "another-id"],
)
def test_without_the_head_row_nothing_is_appended_and_no_step_is_taken(
    k: Klagomal, loss: sa.Executable
) -> None:
    # R27: a step that cannot be logged is not taken.  The head is the one
    # row with id 1; a row under another id is not it.
    log(k, 3)
    execute(k, loss)
    with pytest.raises(SchemaError) as refused:
        log(k, 1, first=4)
    assert str(refused.value) == NO_HEAD
    assert [e.id for e in _entries(k)] == [1, 2, 3]
    before = _rows(k, "cases", "events", "reference_counters", "audit_log")
    with pytest.raises(SchemaError) as step:
        k.register(kind="klagomal", channel="telefon", unit="kof-badhus", text="Kallt vatten", contact=None)
    assert str(step.value) == NO_HEAD
    assert _rows(k, "cases", "events", "reference_counters", "audit_log") == before


def _entries(k: Klagomal) -> list[Any]:
    with engine(k).connect() as conn:
        return entries(conn)


def test_a_rewritten_chain_is_caught_by_the_hash_kept_outside_the_database(k: Klagomal) -> None:
    # R27: whoever can write the tables can rewrite the chain from an edited
    # entry on; only the last hash noted in the diarium shows it.
    log(k, 6)
    noted = check(k)
    assert noted.ok
    assert f"Sista posten: nummer 6, kontrollsumma {noted.last_hash}." in noted.summary()
    execute(k, edit(3, detail="ändrad"))
    prev_hash = row(k, 2).hash
    statements: list[sa.Executable] = []
    for entry_id in range(3, 7):
        new_hash = entry_hash(prev_hash, entry_id, as_entry(row(k, entry_id)))
        statements.append(edit(entry_id, prev_hash=prev_hash, hash=new_hash))
        prev_hash = new_hash
    statements.append(sa.update(audit_head).values(last_hash=prev_hash))
    execute(k, *statements)
    assert check(k).ok  # the chain alone looks whole
    assert found(check(k, anchors=[(noted.last_id, noted.last_hash), (2, row(k, 2).hash)])) == [
        (
            6,
            "post 6 har inte den kontrollsumma som antecknades vid en tidigare kontroll; "
            "kedjan har skrivits om",
        )
    ]
    assert found(check(k, anchors=[(9, "b" * 64)])) == [
        (9, "post 9 finns inte, men den antecknades vid en tidigare kontroll; poster har tagits bort")
    ]


def test_an_entry_whose_hash_was_overwritten_is_reported_by_its_checksum_then_its_anchor(k: Klagomal) -> None:
    # The problems of one entry in a fixed order: its place in the chain,
    # its own hash, then the anchor noted for it.
    log(k, 5)
    noted = row(k, 3).hash
    execute(k, edit(3, hash="a" * 64))
    assert found(check(k, anchors=[(3, noted)])) == [
        (3, checksum(3)),
        (
            3,
            "post 3 har inte den kontrollsumma som antecknades vid en tidigare kontroll; "
            "kedjan har skrivits om",
        ),
        (4, link(4)),
    ]


# -- rows written behind klagomal's back: the writers go on -------------------


def intruder(entry_id: int, *, linked_to: str | None = None) -> sa.Insert:
    """A row written straight into the log by someone with write access to
    the database: with a made-up hash, or (*linked_to*) chained and hashed
    as an entry after the one with that hash would be."""
    entry = sample(entry_id, user_id="inkräktare", detail="inget att se här")
    if linked_to is None:
        prev_hash, own_hash = "0" * 64, "e" * 64
    else:
        prev_hash, own_hash = linked_to, entry_hash(linked_to, entry_id, entry)
    return sa.insert(audit_log).values(id=entry_id, **attrs_dict(entry), prev_hash=prev_hash, hash=own_hash)


@pytest.mark.parametrize("linked", [False, True], ids=["made-up", "chained"])
def test_a_row_inserted_past_the_head_does_not_stop_the_writers(k: Klagomal, linked: bool) -> None:
    # The attacker's repro: one row at head + 1 made every later append
    # collide with it (a UNIQUE error), and so every command fail.
    log(k, 3)
    execute(k, intruder(4, linked_to=row(k, 3).hash if linked else None))
    made_up = [] if linked else [(4, checksum(4))]
    assert found(check(k)) == [(4, past_head(4, 3)), *made_up]
    assert log(k, 2, first=4) == [5, 6]
    assert row(k, 5).prev_hash == row(k, 3).hash  # the chain passes the row by
    assert head(k) == (6, row(k, 6).hash)
    result = check(k)
    assert found(result) == [(4, off_chain(4, 5, 3)), *made_up]
    assert (result.checked, result.last_id, result.last_hash) == (6, 6, row(k, 6).hash)


def test_runs_of_rows_past_the_head_are_passed_over_and_reported_one_by_one(k: Klagomal) -> None:
    log(k, 2)
    execute(k, intruder(3), intruder(4), intruder(5), intruder(7))
    assert log(k, 3, first=3) == [6, 8, 9]
    assert log(k, 1, first=6) == [10]
    result = check(k)
    assert found(result) == [
        (3, off_chain(3, 6, 2)),
        (3, checksum(3)),
        (4, off_chain(4, 6, 2)),
        (4, checksum(4)),
        (5, off_chain(5, 6, 2)),
        (5, checksum(5)),
        (7, off_chain(7, 8, 6)),
        (7, checksum(7)),
    ]
    assert result.checked == 10


def test_rows_past_the_head_written_out_of_order_are_passed_over_in_id_order(k: Klagomal) -> None:
    # Written highest first, the rows lie in the table out of id order; a
    # server reading them without an ORDER BY (PostgreSQL's table scan)
    # would hand out an id twice.
    log(k, 2)
    execute(k, intruder(7), intruder(5), intruder(3))
    assert log(k, 4, first=3) == [4, 6, 8, 9]
    assert [problem.entry for problem in check(k).problems] == [3, 3, 5, 5, 7, 7]


def test_a_row_at_the_top_of_the_id_range_does_not_stop_the_writers(k: Klagomal) -> None:
    top = 2**31 - 1  # the largest INTEGER of PostgreSQL and MariaDB
    log(k, 2)
    execute(k, intruder(top))
    assert log(k, 2, first=3) == [3, 4]
    assert found(check(k)) == [(top, past_head(top, 4)), (top, checksum(top))]


def test_more_rows_in_a_run_than_verify_looks_ahead_are_still_passed_over(k: Klagomal) -> None:
    # Past the lookahead, verify asks the database for the row the link names.
    log(k, 2)
    count = _LOOKAHEAD + 10
    with engine(k).begin() as conn:
        conn.execute(
            sa.insert(audit_log),
            [
                {"id": 3 + i, **attrs_dict(sample(3 + i)), "prev_hash": "0" * 64, "hash": "e" * 64}
                for i in range(count)
            ],
        )
    assert log(k, 2, first=3) == [count + 3, count + 4]
    result = check(k)
    assert result.checked == count + 4
    assert len(result.problems) + result.omitted == 2 * count  # each row off the chain, each hash wrong
    assert found(result)[:4] == [
        (3, off_chain(3, count + 3, 2)),
        (3, checksum(3)),
        (4, off_chain(4, count + 3, 2)),
        (4, checksum(4)),
    ]
    assert {p.entry for p in result.problems} == set(range(3, 3 + MAX_PROBLEMS // 2))
    # The same when the rows past the lookahead lie past the head.
    execute(k, sa.delete(audit_log).where(audit_log.c.id > 2), sa.update(audit_head).values(last_id=2))
    execute(k, sa.update(audit_head).values(last_hash=row(k, 2).hash))
    with engine(k).begin() as conn:
        conn.execute(
            sa.insert(audit_log),
            [
                {"id": 3 + i, **attrs_dict(sample(3 + i)), "prev_hash": "0" * 64, "hash": "e" * 64}
                for i in range(count)
            ],
        )
    result = check(k)
    assert len(result.problems) + result.omitted == 2 * count
    assert found(result)[0] == (3, past_head(3, 2))


def made_up(k: Klagomal, first: int, count: int) -> None:
    """*count* rows with made-up links and hashes from id *first* on, in one
    statement (linked to no row, and not to the chain's beginning either)."""
    with engine(k).begin() as conn:
        conn.execute(
            sa.insert(audit_log),
            [
                {"id": i, **attrs_dict(sample(i)), "prev_hash": "d" * 64, "hash": "e" * 64}
                for i in range(first, first + count)
            ],
        )


#: Just past the lookahead: every row passed by is passed in one step, so
#: that the lowest entries listed are the ones that step reports.
PAST_LOOKAHEAD = _LOOKAHEAD + 1


def test_past_the_lookahead_the_entry_named_is_sought_below_the_rows_passed_by(k: Klagomal) -> None:
    # Entry 1 and a chained entry above a run of forged rows: the search for
    # the entry the link names starts below the rows read (a copy of entry 1
    # past the head, with its hash, is not it) and reaches entry 1 itself.
    log(k, 1)
    made_up(k, 2, PAST_LOOKAHEAD)
    top = PAST_LOOKAHEAD + 2
    assert log(k, 1, first=2) == [top]
    one = row(k, 1)
    execute(
        k,
        sa.insert(audit_log).values(
            id=top + 1, **attrs_dict(as_entry(one)), prev_hash=one.prev_hash, hash=one.hash
        ),
    )
    result = check(k)
    assert found(result)[:4] == [
        (2, off_chain(2, top, 1)),
        (2, checksum(2)),
        (3, off_chain(3, top, 1)),
        (3, checksum(3)),
    ]
    assert (
        len(result.problems) + result.omitted == 2 * PAST_LOOKAHEAD + 2
    )  # and the copy: past the head, its hash
    assert (result.last_id, result.last_hash) == (top, row(k, top).hash)


def test_past_the_lookahead_an_entry_moved_below_1_is_not_the_one_the_link_names(k: Klagomal) -> None:
    # Entry 1 moved to -1 keeps its hash, but ids below 1 are off the
    # numbering: the link above the forged rows is broken, and entry 1 missing.
    log(k, 1)
    made_up(k, 2, PAST_LOOKAHEAD)
    top = PAST_LOOKAHEAD + 2
    assert log(k, 1, first=2) == [top]
    execute(k, edit(1, id=-1))
    result = check(k)
    assert found(result)[:5] == [
        (-1, "post -1 har ett nummer utanför nummerföljden, som börjar på 1"),
        (-1, checksum(-1)),
        (1, "post 1 saknas (nummerföljden hoppar från 0 till 2)"),
        (2, checksum(2)),
        (3, link(3)),
    ]
    assert (top, link(top)) not in found(result)[:5]


def test_past_the_lookahead_an_edited_entry_is_reported_broken_not_vouching_for_rows(k: Klagomal) -> None:
    # The top entry is edited: its link cannot be trusted to name entry 1, so
    # the rows below it are not passed by as off the chain but taken as the
    # chain going on, each link reported.
    log(k, 1)
    made_up(k, 2, PAST_LOOKAHEAD)
    top = PAST_LOOKAHEAD + 2
    assert log(k, 1, first=2) == [top]
    execute(k, edit(top, detail="ändrad"))
    result = check(k)
    assert found(result)[:4] == [(2, link(2)), (2, checksum(2)), (3, link(3)), (3, checksum(3))]
    assert not any("hör inte till kedjan" in problem.reason for problem in result.problems)


def test_a_chain_that_starts_past_entry_1_is_reported(k: Klagomal) -> None:
    # The first entries removed, and the chain rewritten to start at the genesis from entry 3.
    log(k, 5)
    prev_hash = GENESIS
    statements: list[sa.Executable] = [sa.delete(audit_log).where(audit_log.c.id < 3)]
    for entry_id in range(3, 6):
        new_hash = entry_hash(prev_hash, entry_id, as_entry(row(k, entry_id)))
        statements.append(edit(entry_id, prev_hash=prev_hash, hash=new_hash))
        prev_hash = new_hash
    statements.append(sa.update(audit_head).values(last_hash=prev_hash))
    execute(k, *statements)
    assert found(check(k)) == [(1, "posterna 1–2 saknas (nummerföljden hoppar från 0 till 3)")]


TAMPERING: dict[str, Callable[[Klagomal], list[sa.Executable]]] = {
    "an edited field": lambda k: [edit(3, detail="ändrad")],
    "an edited hash": lambda k: [edit(3, hash="a" * 64)],
    "an edited link": lambda k: [edit(3, prev_hash="b" * 64)],
    "a deleted entry": lambda k: [sa.delete(audit_log).where(audit_log.c.id == 3)],
    "a deleted first entry": lambda k: [sa.delete(audit_log).where(audit_log.c.id == 1)],
    "a deleted last entry": lambda k: [sa.delete(audit_log).where(audit_log.c.id == 5)],
    "a row past the head": lambda k: [intruder(6)],
    "a chained row past the head": lambda k: [intruder(6, linked_to=row(k, 5).hash)],
    "a row far past the head": lambda k: [intruder(10**6)],
    "a row below 1": lambda k: [intruder(-5)],
    "a row in a gap": lambda k: [sa.delete(audit_log).where(audit_log.c.id == 3), intruder(3)],
    "an emptied log": lambda k: [sa.delete(audit_log)],
    "a head moved back": lambda k: [sa.update(audit_head).values(last_id=4, last_hash=row(k, 4).hash)],
    "a head moved on": lambda k: [sa.update(audit_head).values(last_id=9)],
    "a head with another hash": lambda k: [sa.update(audit_head).values(last_hash="c" * 64)],
}


def test_every_tampering_is_reported_and_the_writers_go_on(k: Klagomal) -> None:
    # Whatever someone with write access does to the log, verify reports it
    # in Swedish instead of raising, and every writer can still log.  (One
    # database for all of them, emptied between them: a new MariaDB
    # database takes seconds.)
    for what, tampering in TAMPERING.items():
        execute(k, sa.delete(audit_log), sa.update(audit_head).values(last_id=0, last_hash=GENESIS))
        log(k, 5)
        assert check(k).ok
        execute(k, *tampering(k))
        before = check(k)
        assert not before.ok, what
        assert all(problem.reason for problem in before.problems)
        ids = log(k, 3, first=6)
        assert len(ids) == 3, what
        after = check(k)
        assert not after.ok, what  # the writers do not cover it up
        assert after.checked == before.checked + 3, what
        assert (after.last_id, after.last_hash) == (ids[-1], row(k, ids[-1]).hash), what


@pytest.mark.parametrize("new_database", ["sqlite"], indirect=True)
def test_a_row_that_cannot_be_read_is_reported_not_raised(k: Klagomal) -> None:
    # SQLite keeps whatever it is given: text that is no moment, bytes in a text column.
    log(k, 4)
    with engine(k).begin() as conn:
        conn.exec_driver_sql("UPDATE audit_log SET at = 'i morgon' WHERE id = 2")
        conn.exec_driver_sql("UPDATE audit_log SET detail = X'00ff' WHERE id = 3")
    result = check(k)
    unreadable = "post {} går inte att läsa: {}; raden har ändrats utanför klagomal"
    assert found(result) == [
        (2, unreadable.format(2, "tidpunkten 'i morgon' går inte att tolka")),
        (3, unreadable.format(3, "fältet detail håller bytes, inte text")),
    ]
    assert log(k, 1, first=5) == [5]
    # Reading the log says what is wrong and where to look, in Swedish, not a traceback.
    with pytest.raises(SchemaError) as caught:
        k.audit_log()
    assert re.fullmatch(
        r"granskningsloggen har en post som inte kan läsas \((?P<reason>.+)\); "
        r"'klagomal audit verify' visar vilken",
        str(caught.value),
    )
    assert str(caught.value.__cause__) in str(caught.value)


@pytest.mark.parametrize("new_database", ["sqlite"], indirect=True)
def test_what_makes_a_row_unreadable_is_named_whatever_the_case_reference_holds(k: Klagomal) -> None:
    log(k, 5)  # entry 4 has no case
    with engine(k).begin() as conn:
        conn.exec_driver_sql("UPDATE audit_log SET at = 'i morgon' WHERE id = 4")
        conn.exec_driver_sql("UPDATE audit_log SET reference = X'00ff' WHERE id = 5")
    unreadable = "post {} går inte att läsa: {}; raden har ändrats utanför klagomal"
    assert found(check(k)) == [
        (4, unreadable.format(4, "tidpunkten 'i morgon' går inte att tolka")),
        (5, unreadable.format(5, "fältet reference håller bytes, inte text")),
    ]


@pytest.mark.parametrize("new_database", ["sqlite"], indirect=True)
def test_an_unreadable_entry_whose_link_was_edited_cannot_vouch_for_the_rows_it_passes_by(
    k: Klagomal,
) -> None:
    # Entry 4 made unreadable and linked past entry 3 to entry 2: a row that
    # cannot be read is no sounder than one whose hash is wrong, so its link
    # is reported broken, and entry 3 is not called a row put in from outside.
    log(k, 5)
    two = row(k, 2).hash
    with engine(k).begin() as conn:
        conn.exec_driver_sql("UPDATE audit_log SET at = 'i morgon', prev_hash = ? WHERE id = 4", (two,))
    assert found(check(k)) == [
        (4, link(4)),
        (
            4,
            "post 4 går inte att läsa: tidpunkten 'i morgon' går inte att tolka; raden har ändrats "
            "utanför klagomal",
        ),
    ]


def test_a_moment_the_server_returns_as_a_timestamp_is_read_as_it_is(k: Klagomal) -> None:
    # verify reads the moment as SQLite's text; PostgreSQL and MariaDB return
    # their own timestamps whatever the query says, and a row read with the
    # table's own types has one on every backend.
    log(k, 2)
    problems = _Problems()
    stored = row(k, 2)
    assert isinstance(stored.at, dt.datetime)
    assert _check_fields(stored, problems) is True
    assert problems.listed() == ()


def test_problems_are_listed_by_entry_and_those_of_one_entry_as_found() -> None:
    problems = _Problems()
    problems.add(3, "tredje, först funnen")
    problems.add(1, "ett")
    problems.add(0, "noll")
    problems.add(3, "tredje, sist funnen")
    problems.add(None, "ingen post")
    problems.add(3, "tredje, kontrollsumman", rank=1)
    assert [(p.entry, p.reason) for p in problems.listed()] == [
        (None, "ingen post"),
        (0, "noll"),
        (1, "ett"),
        (3, "tredje, först funnen"),
        (3, "tredje, sist funnen"),
        (3, "tredje, kontrollsumman"),
    ]
    assert problems.omitted == 0


def test_problems_are_listed_up_to_a_limit_and_counted_beyond_it(k: Klagomal) -> None:
    count = MAX_PROBLEMS + 30
    with k.storage.transaction() as uow:
        append(uow.conn, [sample(i) for i in range(1, count + 1)])
    execute(k, sa.update(audit_log).values(detail="ändrad"))
    result = check(k)
    assert result.checked == count
    assert len(result.problems) == MAX_PROBLEMS
    assert result.omitted == 30
    assert result.problems[0] == AuditProblem(1, checksum(1))
    text = result.summary()
    assert text.startswith("Granskningsloggen är inte hel: 130 fel bland 130 kontrollerade poster.\n")
    assert "  - post 100: kontrollsumman stämmer inte; raden har ändrats\n  ... och 30 fel till.\n" in text
    assert "post 101:" not in text


def test_verify_reads_in_chunks_and_still_finds_every_problem(k: Klagomal) -> None:
    # Keyset pagination on the id, never OFFSET: memory stays bounded however long the log is.
    log(k, 50)
    execute(
        k,
        edit(20, outcome=DENIED if row(k, 20).outcome == ALLOWED else ALLOWED),
        sa.delete(audit_log).where(audit_log.c.id == 22),  # the first entry of the fourth chunk
        edit(35, at=row(k, 35).at + dt.timedelta(microseconds=1)),
    )
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if "FROM audit_log" in statement:
            statements.append((statement, parameters))

    sa.event.listen(engine(k), "before_cursor_execute", capture)
    try:
        result = check(k, chunk=7)
    finally:
        sa.event.remove(engine(k), "before_cursor_execute", capture)
    assert found(result) == [
        (20, checksum(20)),
        (22, "post 22 saknas (nummerföljden hoppar från 21 till 23)"),
        (35, checksum(35)),
    ]
    assert result.checked == 49
    assert len(statements) == 8  # 49 entries: seven full chunks, then an empty one
    assert "WHERE" not in statements[0][0]
    assert all("WHERE audit_log.id <" in statement for statement, _ in statements[1:])
    # SQLite's dialect writes "LIMIT ? OFFSET ?" with an offset of 0 for every LIMIT.
    assert all("OFFSET" not in statement or list(parameters)[-1] == 0 for statement, parameters in statements)
    assert check(k, chunk=7).problems == check(k).problems == check(k, chunk=1).problems


def test_the_summary_gives_the_last_entry_to_keep_outside_the_database() -> None:
    whole = AuditVerification(checked=1234, problems=(), last_id=1234, last_hash="ab" * 32)
    assert whole.summary() == (
        "Granskningsloggen är hel: 1\xa0234 poster kontrollerade.\n"
        f"Sista posten: nummer 1234, kontrollsumma {'ab' * 32}.\n"
        f"Anteckna ankaret 1234:{'ab' * 32} utanför databasen, till exempel i diariet, och kontrollera "
        f"nästa gång med 'klagomal audit verify --anchor 1234:{'ab' * 32}': har loggen skrivits om sedan "
        "i dag, har post 1234 inte längre samma kontrollsumma."
    )
    assert whole.anchor == f"1234:{'ab' * 32}"
    assert (
        AuditVerification(1, (), 1, "cd" * 32)
        .summary()
        .startswith("Granskningsloggen är hel: 1 post kontrollerad.\n")
    )
    broken = AuditVerification(5, (AuditProblem(3, checksum(3)),), 5, "ef" * 32)
    assert not broken.ok
    assert broken.summary().splitlines()[:2] == [
        "Granskningsloggen är inte hel: 1 fel bland 5 kontrollerade poster.",
        "  - post 3: kontrollsumman stämmer inte; raden har ändrats",
    ]


def test_every_line_of_the_summary_word_for_word() -> None:
    one = AuditVerification(1, (AuditProblem(1, checksum(1)),), 1, "ef" * 32, anchored=(1,))
    assert one.summary() == (
        "Granskningsloggen är inte hel: 1 fel bland 1 kontrollerad post.\n"
        "  - post 1: kontrollsumman stämmer inte; raden har ändrats\n"
        "Loggen har ändrats utanför klagomal. Ändra ingenting i den; spara en kopia av databasen och "
        "kontakta den som ansvarar för informationssäkerheten.\n"
        "Post 1 har samma kontrollsumma som antecknades vid en tidigare kontroll.\n"
        f"Sista posten: nummer 1, kontrollsumma {'ef' * 32}."
    )
    several = AuditVerification(1200, (), 1200, "ab" * 32, anchored=(7, 1200))
    assert several.summary().splitlines()[1] == (
        "Posterna 7, 1200 har samma kontrollsummor som antecknades vid tidigare kontroller."
    )
    assert (
        AuditVerification(0, (), 0, GENESIS).summary() == "Granskningsloggen är hel: 0 poster kontrollerade."
    )


# -- properties (SQLite) -------------------------------------------------------

#: Any text the databases keep: no lone surrogates (not UTF-8), no NUL (PostgreSQL refuses it).
TEXT = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
ENTRIES = st.builds(
    AuditEntry,
    user_id=st.text(TEXT, max_size=30),
    role=st.text(TEXT, max_size=40),
    action=st.text(TEXT, max_size=40),
    outcome=st.sampled_from([ALLOWED, DENIED]),
    reference=st.none() | st.text(TEXT, max_size=20),
    detail=st.text(TEXT, max_size=100),
    at=st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.sampled_from([None, dt.UTC, STOCKHOLM_WINTER, dt.timezone(-dt.timedelta(hours=5))]),
    ),
)
FIELDS = ("at", "user_id", "role", "action", "outcome", "reference", "detail", "prev_hash")


def changed(field: str, value: Any) -> Any:
    """A value of *field* that differs from *value*."""
    if field == "at":
        return value + dt.timedelta(microseconds=1)
    if field == "outcome":
        return DENIED if value == ALLOWED else ALLOWED
    if field == "reference":
        return "2026-00001" if value is None else None
    if field == "prev_hash":
        return ("1" if value[0] != "1" else "2") + value[1:]
    return value + "å"


@pytest.fixture
def sqlite_k(db_url: str) -> Iterator[Klagomal]:
    """One SQLite database for all the examples of a property, emptied by each."""
    instance = Klagomal(db_url, load_entrypoints=False)
    instance.init()
    yield instance
    instance.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), logged=st.lists(ENTRIES, min_size=1, max_size=25))
def test_any_entries_verify_and_any_edited_field_is_found_at_its_entry(
    sqlite_k: Klagomal, data: st.DataObject, logged: list[AuditEntry]
) -> None:
    # R27: whatever is logged, in whatever batches, the chain holds; and any
    # one field changed in any one entry is reported at exactly that entry.
    k = sqlite_k
    execute(k, sa.delete(audit_log), sa.update(audit_head).values(last_id=0, last_hash=GENESIS))
    rest = list(logged)
    while rest:
        size = data.draw(st.integers(1, len(rest)), label="batch")
        with k.storage.transaction() as uow:
            append(uow.conn, rest[:size])
        rest = rest[size:]
    result = check(k)
    assert result.ok, result.summary()
    assert result.checked == len(logged)
    with engine(k).connect() as conn:
        stored = entries(conn)
    assert [attrs_of(e) for e in stored] == [attrs_of(e) for e in logged]

    target = data.draw(st.integers(1, len(logged)), label="entry")
    field = data.draw(st.sampled_from(FIELDS), label="field")
    execute(k, edit(target, **{field: changed(field, getattr(row(k, target), field))}))
    problems = check(k).problems
    assert problems
    assert {p.entry for p in problems} == {target}, (field, problems)


STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("log"), st.integers(1, 4), st.just(0)),
        # A run of rows written past the newest row, after a hole of 0-3 ids.
        st.tuples(st.just("intrude"), st.integers(1, 3), st.integers(0, 3)),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_rows_written_past_the_log_never_stop_it_and_are_each_reported(
    sqlite_k: Klagomal, steps: list[tuple[str, int, int]]
) -> None:
    # Whatever rows someone writes past the log, and whenever: every append
    # succeeds, and verify names exactly those rows, at their ids.
    k = sqlite_k
    execute(k, sa.delete(audit_log), sa.update(audit_head).values(last_id=0, last_hash=GENESIS))
    intruders: set[int] = set()
    logged: list[int] = []
    for kind, count, hole in steps:
        if kind == "log":
            ids = log(k, count, first=len(logged) + 1)
            assert len(set(ids)) == count
            assert not set(ids) & intruders
            assert ids == sorted([*logged, *ids])[len(logged) :]  # numbered on from the last entry
            logged += ids
        else:
            with engine(k).connect() as conn:
                newest = conn.execute(sa.select(sa.func.max(audit_log.c.id))).scalar() or 0
            run = [newest + hole + 1 + i for i in range(count)]
            execute(k, *(intruder(entry_id) for entry_id in run))
            intruders |= set(run)
    result = check(k)
    assert result.checked == len(logged) + len(intruders)
    assert {p.entry for p in result.problems} == intruders, result.summary()
    assert (result.last_id, result.last_hash) == head(k)


# -- concurrency ---------------------------------------------------------------


def _append_concurrently(
    k: Klagomal, *, per_writer: int = 200, isolation: str | None = None
) -> tuple[float, dict[str, int]]:
    """Two writers appending *per_writer* entries each in small batches, each
    batch in its own transaction, retried on a transient failure as
    klagomal's write path does; return the seconds taken and the retries."""
    barrier = threading.Barrier(2)
    retries = {"a": 0, "b": 0}
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        rng = random.Random(name)
        pending = [sample(i, user_id=f"writer-{name}", detail=f"{name} {i}") for i in range(per_writer)]
        try:
            barrier.wait()
            while pending:
                batch = pending[: rng.randint(1, 5)]
                for attempt in range(50):
                    try:
                        with k.storage.transaction() as uow:
                            if isolation:
                                uow.conn.exec_driver_sql(f"SET TRANSACTION ISOLATION LEVEL {isolation}")
                            append(uow.conn, batch)
                        break
                    except TransientStorageError:
                        retries[name] += 1
                        time.sleep(rng.uniform(0, 0.002 * 2 ** min(attempt, 6)))
                else:
                    raise AssertionError("too many retries")
                pending = pending[len(batch) :]
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=writer, args=(name,)) for name in retries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    return time.perf_counter() - started, retries


def _check_after_concurrent_appends(k: Klagomal, per_writer: int = 200) -> int:
    """Check the log two writers left; return how often the writer changed
    from one entry to the next (a sign that they really ran at once)."""
    result = check(k)
    assert result.ok, result.summary()
    assert result.checked == 2 * per_writer
    assert head(k)[0] == 2 * per_writer
    with engine(k).connect() as conn:
        stored = entries(conn)
    assert [e.id for e in stored] == list(range(1, 2 * per_writer + 1))
    for name in "ab":
        # Each writer's entries in the order it appended them, none lost or doubled.
        mine = [e.detail for e in stored if e.user_id == f"writer-{name}"]
        assert mine == [f"{name} {i}" for i in range(per_writer)]
    return sum(1 for a, b in itertools.pairwise(stored) if a.user_id != b.user_id)


def test_concurrent_writers_never_fork_the_chain(k: Klagomal) -> None:
    # R27: every access is logged even when many handlers work at once, in
    # one chain: the head row is the lock that orders the writers.
    seconds, retries = _append_concurrently(k)
    switches = _check_after_concurrent_appends(k)
    if engine(k).dialect.name != "sqlite":  # SQLite may run one writer's batches all in one go
        assert switches > 1  # interleaved, not one writer after the other
    print(
        f"{engine(k).dialect.name}: 400 entries by two writers in {seconds:.2f} s, "
        f"{switches} changes of writer, retries {retries}"
    )


@pytest.mark.parametrize("new_database", ["postgresql"], indirect=True)
def test_concurrent_writers_at_repeatable_read_retry_and_never_fork_the_chain(k: Klagomal) -> None:
    # PostgreSQL at REPEATABLE READ refuses to update a head another
    # transaction changed since its snapshot (a serialization failure): the
    # transaction raises TransientStorageError and runs again.
    seconds, retries = _append_concurrently(k, isolation="REPEATABLE READ")
    switches = _check_after_concurrent_appends(k)
    print(
        f"postgresql REPEATABLE READ: 400 entries in {seconds:.2f} s, "
        f"{switches} changes of writer, retries {retries}"
    )


@pytest.mark.parametrize("new_database", ["postgresql"], indirect=True)
def test_a_serialization_failure_in_append_is_a_transient_error(k: Klagomal) -> None:
    # The write path runs a transaction again only on TransientStorageError:
    # an error raised inside k.storage.transaction() is translated too.
    log(k, 1)

    def late_append() -> None:
        with k.storage.transaction() as uow:
            uow.conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            uow.conn.execute(sa.select(audit_head))  # the snapshot is taken
            log(k, 1, first=2)  # another transaction appends and commits meanwhile
            append(uow.conn, [sample(3)])

    with pytest.raises(TransientStorageError, match="avbröt transaktionen tillfälligt"):
        late_append()
    assert head(k)[0] == 2
    assert log(k, 1, first=3) == [3]
    assert check(k).ok


@pytest.mark.parametrize("new_database", ["mariadb"], indirect=True)
def test_a_lock_wait_timeout_in_append_is_a_transient_error(k: Klagomal) -> None:
    # MariaDB/MySQL: a writer that waited too long for the head may run again.

    def impatient_append() -> None:
        with k.storage.transaction() as second:
            second.conn.exec_driver_sql("SET SESSION innodb_lock_wait_timeout = 1")
            append(second.conn, [sample(2)])

    with k.storage.transaction() as first:
        append(first.conn, [sample(1)])  # holds the head until commit
        with pytest.raises(TransientStorageError, match="Databasen är upptagen, försök igen om en stund"):
            impatient_append()
    assert check(k).ok
    assert head(k)[0] == 1


@pytest.mark.parametrize("new_database", ["postgresql", "mariadb"], indirect=True)
def test_writers_wait_for_the_head_lock(k: Klagomal) -> None:
    # The second writer blocks on the head until the first commits, then
    # continues the chain from the first one's last entry.  (On SQLite,
    # BEGIN IMMEDIATE already keeps write transactions apart.)
    locked = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        with k.storage.transaction() as uow:
            append(uow.conn, [sample(1)])
            locked.set()
            release.wait(10)
            order.append("first commits")

    def second() -> None:
        locked.wait(10)
        with k.storage.transaction() as uow:
            ids = append(uow.conn, [sample(2)])
            order.append(f"second appended {ids}")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    locked.wait(10)
    time.sleep(0.5)
    assert order == []  # the second writer is waiting for the head
    release.set()
    for thread in threads:
        thread.join(20)
    assert order == ["first commits", "second appended [2]"]
    assert check(k).ok


# -- the command line: klagomal audit verify ---------------------------------------

REGISTER = (
    "register --kind klagomal --channel telefon --unit kof-badhus --text 'Kallt vatten' --name 'Eva Lind'"
)


@pytest.fixture
def cli_db(any_db_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database made with ``klagomal init``, on each backend in turn, and
    the system owner of Exempelkommun acting, as in the attacker's repro."""
    monkeypatch.setenv("KLAGOMAL_USER", "nora.lind")
    monkeypatch.chdir(tmp_path)
    Cli().ok("init", db=any_db_url)
    return any_db_url


def tamper(url: str, *statements: sa.Executable) -> None:
    """Run *statements* straight against the database at *url*."""
    direct = sa.create_engine(url)
    try:
        with direct.begin() as conn:
            for statement in statements:
                conn.execute(statement)
    finally:
        direct.dispose()


def test_an_inserted_row_is_reported_and_every_command_still_works(cli_db: str) -> None:
    # The attacker's repro: one row past the head, and every command failed
    # with a UNIQUE error (exit 3), audit verify too.
    cli = Cli()
    whole = cli.ok("audit verify", json=True, db=cli_db).json()
    assert (whole["ok"], whole["problems"]) == (True, [])
    last = whole["last_id"]
    tamper(cli_db, intruder(last + 2))  # + 1: the check just made was logged
    broken = cli("audit verify", db=cli_db)
    assert (broken.status, broken.err) == (1, "")
    assert broken.out.startswith("Granskningsloggen är inte hel: 2 fel bland")
    assert f"  - {past_head(last + 2, last + 1)}\n" in broken.out
    assert "spara en kopia av databasen" in broken.out
    cli.ok(REGISTER, today="2026-03-02", db=cli_db)
    cli.ok("show 2026-00001", today="2026-03-02", db=cli_db)
    as_json = cli("audit verify", json=True, db=cli_db)
    assert (as_json.status, as_json.err, as_json.out.count("\n")) == (1, "", 1)
    found_json = as_json.json()
    assert found_json["ok"] is False
    assert found_json["problems"] == [
        {"entry": last + 2, "reason": off_chain(last + 2, last + 3, last + 1)},
        {"entry": last + 2, "reason": checksum(last + 2)},
    ]
    assert found_json["last_id"] > last + 3
    assert found_json["anchor"] == f"{found_json['last_id']}:{found_json['last_hash']}"


def test_an_anchor_noted_at_one_check_catches_a_rewritten_chain_at_the_next(cli_db: str) -> None:
    cli = Cli()
    cli.ok(REGISTER, today="2026-03-02", db=cli_db)
    printed = cli.ok("audit verify", db=cli_db).out
    match = re.search(r"--anchor ([0-9]+):([0-9a-f]{64})'", printed)
    assert match is not None, printed
    number, noted = int(match.group(1)), match.group(2)
    assert f"Sista posten: nummer {number}, kontrollsumma {noted}.\n" in printed
    held = cli.ok(f"audit verify --anchor {number}:{noted.upper()}", db=cli_db).out
    assert f"Post {number} har samma kontrollsumma som antecknades vid en tidigare kontroll.\n" in held
    # Someone rewrites the chain from entry 1 on, hashes and head included.
    direct = sa.create_engine(cli_db)
    with direct.connect() as conn:
        stored = conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).all()
    direct.dispose()
    prev_hash, statements = GENESIS, []
    for old in stored:
        entry = as_entry(old)
        if old.id == 1:
            entry = AuditEntry(**{**attrs_dict(entry), "detail": "något annat"})
        new_hash = entry_hash(prev_hash, old.id, entry)
        statements.append(edit(old.id, detail=entry.detail, prev_hash=prev_hash, hash=new_hash))
        prev_hash = new_hash
    statements.append(sa.update(audit_head).values(last_hash=prev_hash))
    tamper(cli_db, *statements)
    assert cli.ok("audit verify", db=cli_db).out.startswith("Granskningsloggen är hel:")  # the chain alone
    caught = cli(f"audit verify --anchor {number}:{noted}", db=cli_db)
    assert (caught.status, caught.err) == (1, "")
    assert (
        f"  - post {number} har inte den kontrollsumma som antecknades vid en tidigare kontroll; "
        "kedjan har skrivits om\n"
    ) in caught.out
    gone = cli(f"audit verify --anchor {number}:{noted} --anchor 99999:{'a' * 64}", json=True, db=cli_db)
    assert gone.status == 1
    assert gone.json()["problems"][-1] == {
        "entry": 99999,
        "reason": "post 99999 finns inte, men den antecknades vid en tidigare kontroll; "
        "poster har tagits bort",
    }
    for bad in ("3:abc", f"0:{noted}", noted, f"x:{noted}"):
        refused = cli.refused(f"audit verify --anchor {bad}", status=2, db=cli_db)
        assert "ska skrivas NUMMER:KONTROLLSUMMA" in refused.err


def test_a_deleted_head_is_reported_by_verify_and_refused_by_every_writer(cli_db: str) -> None:
    cli = Cli()
    cli.ok(REGISTER, today="2026-03-02", db=cli_db)
    tamper(cli_db, sa.delete(audit_head))
    broken = cli("audit verify", db=cli_db)
    assert broken.status == 1
    assert "  - huvudet (tabellen audit_head) saknas\n" in broken.out
    # The check itself cannot be written to a log without a head, and says so, in one Swedish line.
    assert broken.err == (
        "klagomal: kontrollen av granskningsloggen kunde inte skrivas i loggen: Granskningsloggens huvud "
        "(tabellen audit_head) saknas, så inget kan loggas. Databasen har ändrats utanför klagomal; "
        "kör 'klagomal audit verify'.\n"
    )
    refused = cli.refused(REGISTER, today="2026-03-02", db=cli_db)
    assert "Granskningsloggens huvud (tabellen audit_head) saknas" in refused.err
    tamper(cli_db, sa.delete(audit_log))
    emptied = cli("audit verify", db=cli_db)
    assert emptied.status == 1
    assert "tabellen audit_log är tom och huvudet (tabellen audit_head) saknas" in emptied.out

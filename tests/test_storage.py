"""Storage: schema through Alembic, references, atomicity, concurrency, the
projection and the worklist queries, on SQLite, PostgreSQL and MariaDB.

A few tests are about SQLite itself (in-memory databases, WAL, foreign keys
by pragma) and run on SQLite only.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from conftest import UNIT, register_case
from klagomal import (
    CaseState,
    ConflictError,
    Event,
    FixedClock,
    InvalidInputError,
    InvalidStepError,
    Klagomal,
    KlagomalError,
    SchemaError,
)
from klagomal.cases import lifecycle as lc
from klagomal.core.events import Informed
from klagomal.core.serialization import EXPORT_FORMAT, EXPORT_VERSION
from klagomal.storage import migrate, tables
from klagomal.storage.sql import SqlStorage, search

RESPOND_BY = dt.date(2026, 3, 27)
TABLES = {
    "alembic_version",
    "cases",
    "case_dimensions",
    "events",
    "external_ids",
    "notices",
    "reference_counters",
    "reminders",
    "received_messages",
    "received_duplicates",
    "attachments",
    "audit_log",
    "audit_head",
    "disposals",
    "search_documents",
    "webhook_subscriptions",
    "webhook_deliveries",
    "api_keys",
    "idempotency_keys",
    "phrases",
    "follow_tokens",
    "publications",
    "job_leases",
    "job_runs",
}

#: The tables revisions after 0001 add: 0002 the reminders, 0004 the external
#: ids, 0006 the received messages and their attachments, 0007 the audit log
#: and the disposal log, 0008 the log of duplicates, 0009 the search index,
#: 0012 the webhooks, 0014 the HTTP API's keys and idempotency keys, 0015 the
#: phrase library, 0016 the links of "Följ ditt ärende", 0017 the published cases,
#: 0019 the worker's job leases and runs.
LATER_TABLES = {
    "reminders",
    "external_ids",
    "received_messages",
    "received_duplicates",
    "attachments",
    "audit_log",
    "audit_head",
    "disposals",
    "search_documents",
    "webhook_subscriptions",
    "webhook_deliveries",
    "api_keys",
    "idempotency_keys",
    "phrases",
    "follow_tokens",
    "publications",
    "job_leases",
    "job_runs",
}


@pytest.fixture
def db_url(any_db_url: str) -> str:
    """These tests run on SQLite, PostgreSQL and MariaDB."""
    return any_db_url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file, for the tests of what klagomal does to SQLite itself."""
    return f"sqlite:///{tmp_path / 'klagomal.db'}"


def _table_names(k: Klagomal) -> set[str]:
    # Without the full-text engine's own tables (SQLite's FTS5 and its shadow tables).
    with k.storage.engine.connect() as conn:
        return {name for name in sa.inspect(conn).get_table_names() if search.include_name(name, "table", {})}


def _snapshot(k: Klagomal, ref: str) -> tuple[object, ...]:
    return (k.get(ref), k.history(ref), k.notices(ref))


# -- schema ------------------------------------------------------------------


def test_init_creates_schema_and_is_idempotent(db_url: str, clock: FixedClock) -> None:
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as k:
        assert _table_names(k) == set()
        assert k.init() == tables.SCHEMA_HEAD
        assert _table_names(k) == TABLES
        ref = register_case(k).reference
        # Running init again changes nothing and keeps the data.
        assert k.init() == tables.SCHEMA_HEAD
        assert _table_names(k) == TABLES
        assert [c.reference for c in k.cases()] == [ref]
        assert k.storage.current_revision() == tables.SCHEMA_HEAD
    # A new instance on the initialised file works without init.
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as again:
        assert again.get(ref).reference == ref


def test_klagomal_init_command(db_url: str, clock: FixedClock) -> None:
    # `klagomal init` on the command line, twice: the second run is a no-op.
    from klagomal import cli

    for _ in range(2):
        out = io.StringIO()
        assert cli.main(["--db", db_url, "--json", "init"], stdout=out) == 0
        assert json.loads(out.getvalue())["revision"] == tables.SCHEMA_HEAD
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as k:
        assert _table_names(k) == TABLES
        assert register_case(k).reference == "2026-00001"


def test_schema_revisions_match_migration_scripts() -> None:
    assert list(tables.SCHEMA_REVISIONS) == migrate.script_revisions()
    assert migrate.script_revisions()[-1] == tables.SCHEMA_HEAD


def test_upgrading_a_0001_database_keeps_every_case(
    tmp_path: Path, clock: FixedClock, new_database: Callable[[], str]
) -> None:
    # A database from before the deadlines work (revision 0001), with cases in it:
    # written with the rows the current code writes, minus the tables later revisions add.
    with Klagomal(f"sqlite:///{tmp_path / 'source.db'}", clock=clock, load_entrypoints=False) as source:
        source.init()
        acknowledged = register_case(source, dimensions=["bemotande"]).reference
        source.acknowledge(acknowledged, "Hanna", RESPOND_BY)
        register_case(source, contact=None, channel="svarskort")
        expected = source.export()
        with source.storage.engine.connect() as conn:
            rows = {
                table.name: [dict(row._mapping) for row in conn.execute(sa.select(table))]
                for table in tables.metadata.sorted_tables
                if table.name not in LATER_TABLES
            }
    old_url = new_database()  # on every backend
    engine = sa.create_engine(old_url)
    assert migrate.upgrade(engine, "0001") == "0001"
    old = sa.MetaData()
    old.reflect(engine)
    assert "paused_since" not in old.tables["cases"].c
    assert LATER_TABLES.isdisjoint(old.tables)
    with engine.begin() as conn:
        for name, table_rows in rows.items():
            # Surrogate ids are left to the database, as when the app wrote the rows.
            columns = set(old.tables[name].c.keys()) - {"id"}
            conn.execute(
                sa.insert(old.tables[name]),
                [{c: v for c, v in r.items() if c in columns} for r in table_rows],
            )
    engine.dispose()

    with Klagomal(old_url, clock=clock, load_entrypoints=False) as k:
        with pytest.raises(SchemaError, match=r"äldre schema \(0001\). Kör 'klagomal init'"):
            k.get(acknowledged)
        assert k.init() == tables.SCHEMA_HEAD
        # Nothing is lost, every projection equals its replay, and the clocks run.
        # Notices owed before the outbox (0005) were handled by hand: never sent.
        for item in expected["cases"]:
            item["notices"] = [
                {"seq": n["seq"], "kind": n["kind"], "status": "manual", "recipient": "person"}
                for n in item["notices"]
            ]
        assert k.export() == expected
        for case in k.cases():
            assert k.rebuild(case.reference) == case
            assert case.paused_since is None
            assert case.secrecy is None
        assert _table_names(k) == TABLES
        # The upgraded database takes the new steps.
        clock.set(dt.date(2026, 3, 10))
        assert k.pause(acknowledged, "Väntar på intyg").paused_since == dt.date(2026, 3, 10)


def test_migrated_schema_equals_metadata(k: Klagomal) -> None:
    with k.storage.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": search.include_name}
        )
        assert compare_metadata(context, tables.metadata) == []


def test_compare_metadata_would_notice_a_difference(k: Klagomal) -> None:
    # Guard for the test above: a column missing from the database is found.
    extra = sa.MetaData()
    for table in tables.metadata.sorted_tables:
        table.to_metadata(extra)
    sa.Table("cases", extra, sa.Column("extra", sa.Integer), extend_existing=True)
    with k.storage.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"include_name": search.include_name}), extra
        )
    assert [d[0] for d in diff] == ["add_column"]


def test_uninitialised_database_refused(db_url: str, clock: FixedClock) -> None:
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as k:
        with pytest.raises(SchemaError, match="klagomal init"):
            k.get("2026-00001")
        with pytest.raises(SchemaError, match="klagomal init"):
            register_case(k)
        with pytest.raises(SchemaError, match="klagomal init"):
            k.export()
        assert _table_names(k) == set()  # nothing was created behind the user's back


def test_newer_schema_refused(db_url: str, clock: FixedClock) -> None:
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as k:
        k.init()
        with k.storage.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = 'ffff9999'"))
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as k:
        with pytest.raises(SchemaError, match="nyare") as info:
            k.cases()
        assert "ffff9999" in str(info.value)
        assert "klagomal init" not in str(info.value)  # init would not help


def test_init_on_newer_schema_gives_schema_error(db_url: str, clock: FixedClock) -> None:
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as k:
        k.init()
        with k.storage.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = 'ffff9999'"))
        with pytest.raises(SchemaError, match="nyare"):
            k.init()


# -- references --------------------------------------------------------------


def test_references_sequential_per_year(k: Klagomal, clock: FixedClock) -> None:
    refs = [register_case(k).reference for _ in range(3)]
    assert refs == ["2026-00001", "2026-00002", "2026-00003"]
    clock.set(dt.date(2026, 12, 31))
    assert register_case(k).reference == "2026-00004"
    clock.set(dt.date(2027, 1, 4))
    assert register_case(k).reference == "2027-00001"
    assert register_case(k).reference == "2027-00002"
    # The counters are kept per year.
    with k.storage.transaction() as uow:
        assert uow.references() == {2026: 4, 2027: 2}


def test_an_import_raises_the_counters_and_never_lowers_them(k: Klagomal) -> None:
    # R8: numbers go on after the highest the export or this database gave:
    # a year the database has not numbered in gets the export's counter, a
    # lower counter is raised to the export's, a higher one is kept.
    for _ in range(2):
        register_case(k)
    export = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "cases": []}
    assert k.import_(export | {"references": {"2025": 40, "2026": 7}}) == 0

    def counters() -> dict[int, int]:
        with k.storage.transaction() as uow:
            return uow.references()

    assert counters() == {2025: 40, 2026: 7}
    k.import_(export | {"references": {"2025": 39, "2026": 1}})
    assert counters() == {2025: 40, 2026: 7}
    k.import_(export | {"references": {"2026": 7}})  # the same: nothing to change
    assert counters() == {2025: 40, 2026: 7}
    assert register_case(k).reference == "2026-00008"


def test_refused_registration_uses_no_number(k: Klagomal) -> None:
    with pytest.raises(InvalidInputError):
        register_case(k, channel="webbformular", contact=None)
    assert register_case(k).reference == "2026-00001"


def test_reference_format(k: Klagomal) -> None:
    ref = register_case(k).reference
    assert re.fullmatch(r"\d{4}-\d{5}", ref)
    assert ref == "2026-00001"


# -- a refused step changes nothing ------------------------------------------


def test_refused_steps_leave_case_unchanged(k: Klagomal) -> None:
    ref = register_case(k, dimensions=["kompetens", "bemotande"]).reference
    k.acknowledge(ref, "Hanna", RESPOND_BY)
    before = _snapshot(k, ref)
    refusals = [
        (InvalidStepError, lambda: k.acknowledge(ref, "Hanna", RESPOND_BY)),
        (InvalidStepError, lambda: k.close(ref, True)),
        (InvalidStepError, lambda: k.escalate(ref, "x")),
        (InvalidStepError, lambda: k.reclassify(ref, "berom", "x")),
        (InvalidStepError, lambda: k.pass_on_praise(ref, ["Lisa"])),
        (InvalidStepError, lambda: k.forward(ref, UNIT)),
        (InvalidInputError, lambda: k.postpone(ref, RESPOND_BY, "x")),
        (InvalidInputError, lambda: k.answer(ref, "sms", "x")),
        (InvalidInputError, lambda: k.forward(ref, "finns-inte")),
        (InvalidInputError, lambda: k.inform(ref, "")),
    ]
    for error, step in refusals:
        with pytest.raises(error):
            step()
        assert _snapshot(k, ref) == before


# -- optimistic concurrency --------------------------------------------------


def test_stale_write_conflicts(k: Klagomal, db_url: str, clock: FixedClock) -> None:
    ref = register_case(k).reference
    stale = k.get(ref)
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as other:
        other.acknowledge(ref, "Hanna", RESPOND_BY)
    current = k.get(ref)
    assert current.version == stale.version + 1

    event = Event(
        reference=ref,
        seq=stale.version + 1,
        day=clock.today(),
        recorded_at=clock.now(),
        data=Informed("Från en gammal läsning"),
    )
    with pytest.raises(ConflictError) as info, k.storage.transaction() as uow:
        uow.append(lc.evolve(stale, event), event, "information")
    assert info.value.reference == ref
    assert ref in str(info.value)
    # Nothing of the stale write was stored.
    assert k.get(ref) == current
    assert [e.type for e in k.history(ref)] == ["registered", "acknowledged"]
    assert k.notices(ref) == [(2, "besked")]


def test_two_instances_take_turns(k: Klagomal, db_url: str, clock: FixedClock) -> None:
    ref = register_case(k).reference
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as other:
        other.acknowledge(ref, "Hanna", RESPOND_BY)
        # The first instance reads fresh state and continues from there.
        case = k.inform(ref, "Vi utreder")
        assert case.version == 3
        assert other.get(ref) == case
        assert register_case(other).reference == "2026-00002"
        assert register_case(k).reference == "2026-00003"


# -- projection --------------------------------------------------------------


def test_rebuild_equals_projection_after_long_history(k: Klagomal, clock: FixedClock) -> None:
    ref = register_case(k, kind="forslag", dimensions=["inflytande", "kompetens"], channel="brev").reference
    k.forward(ref, "soc-aldre")
    k.reclassify(ref, "klagomal", "Personen menar ett klagomål")
    k.forward(ref, "soc-aldre-solgarden")
    k.inform(ref, "Vi har tagit emot ditt ärende")
    k.acknowledge(ref, "Maria", RESPOND_BY)
    k.record_action(ref, "Samtal med personalen")
    clock.set(dt.date(2026, 3, 30))
    k.postpone(ref, dt.date(2026, 4, 10), "Sent")
    k.postpone(ref, dt.date(2026, 4, 20), "Ännu senare")
    k.answer(ref, "muntligt", "Vi ringde")
    k.close(ref, False)
    k.escalate(ref, "Inte nöjd")
    k.acknowledge(ref, "Socialchefen", dt.date(2026, 5, 1))
    k.answer(ref, "skriftligt", "Brev")
    k.close(ref, False)
    k.escalate(ref, "Fortfarande inte nöjd")
    k.record_action(ref, "Nämnden beslutar ny rutin")

    case = k.get(ref)
    assert case.version == len(k.history(ref)) == 17
    assert k.rebuild(ref) == case
    assert (case.forwards, case.postponements, case.late_postponements, case.actions) == (2, 2, 1, 2)
    assert case.level == 3


# -- queries -----------------------------------------------------------------


def test_cases_by_unit_and_subtree(k: Klagomal) -> None:
    a = register_case(k, unit="soc").reference
    b = register_case(k, unit="soc-aldre").reference
    c = register_case(k, unit="soc-aldre-solgarden").reference
    d = register_case(k, unit="soc-ifo-barn-familj").reference
    e = register_case(k, unit="sbf").reference

    def refs(**query: object) -> list[str]:
        return [case.reference for case in k.cases(**query)]  # type: ignore[arg-type]

    assert refs() == [a, b, c, d, e]
    assert refs(unit="soc-aldre") == [b]
    assert refs(unit="soc-aldre", subtree=True) == [b, c]
    assert refs(unit="soc", subtree=True) == [a, b, c, d]
    assert refs(unit="sbf", subtree=True) == [e]
    assert refs(unit="kof", subtree=True) == []
    # A forwarded case is listed where it is now.
    k.forward(c, "sbf-gatapark-park")
    assert refs(unit="soc", subtree=True) == [a, b, d]
    assert refs(unit="sbf", subtree=True) == [c, e]
    with pytest.raises(KlagomalError):
        k.cases(unit="finns-inte")


def test_cases_by_state(k: Klagomal) -> None:
    registered = register_case(k).reference
    handled = register_case(k).reference
    k.acknowledge(handled, "Hanna", RESPOND_BY)
    answered = register_case(k).reference
    k.acknowledge(answered, "Hanna", RESPOND_BY)
    k.answer(answered, "skriftligt", "Svar")
    assert [c.reference for c in k.cases(state="registrerat")] == [registered]
    assert [c.reference for c in k.cases(state=CaseState.HANDLAGGNING)] == [handled]
    assert [c.reference for c in k.cases(state="besvarat", unit=UNIT)] == [answered]
    assert k.cases(state="avslutat") == []
    with pytest.raises(InvalidInputError, match="okänd status"):
        k.cases(state="klar")


def test_overdue_both_kinds(k: Klagomal, clock: FixedClock) -> None:
    not_acknowledged = register_case(k).reference  # acknowledge_by 2026-03-16
    not_answered = register_case(k).reference
    k.acknowledge(not_answered, "Hanna", dt.date(2026, 3, 10))
    answered = register_case(k).reference
    k.acknowledge(answered, "Hanna", dt.date(2026, 3, 10))
    k.answer(answered, "skriftligt", "Svar")
    postponed = register_case(k).reference
    k.acknowledge(postponed, "Hanna", dt.date(2026, 3, 10))
    k.postpone(postponed, dt.date(2026, 3, 31), "Utredning")

    def overdue() -> list[str]:
        found = k.cases(overdue=True)
        assert all(c.is_overdue(clock.today()) for c in found)
        return [c.reference for c in found]

    assert overdue() == []
    clock.set(dt.date(2026, 3, 10))  # the promised day itself is not late
    assert overdue() == []
    clock.set(dt.date(2026, 3, 11))
    assert overdue() == [not_answered]
    assert k.get(not_answered).overdue_reason(clock.today()) == "svar"
    clock.set(dt.date(2026, 3, 16))
    assert overdue() == [not_answered]
    clock.set(dt.date(2026, 3, 17))
    assert overdue() == [not_acknowledged, not_answered]
    assert k.get(not_acknowledged).overdue_reason(clock.today()) == "besked"
    assert [c.reference for c in k.cases(overdue=True, state="registrerat")] == [not_acknowledged]
    clock.set(dt.date(2026, 4, 1))
    assert overdue() == [not_acknowledged, not_answered, postponed]
    # Acknowledging late takes it off the besked list.
    k.acknowledge(not_acknowledged, "Hanna", dt.date(2026, 4, 10))
    assert overdue() == [not_answered, postponed]


def test_in_memory_database(clock: FixedClock) -> None:
    # SQLite only: an in-memory database needs one shared connection (StaticPool).
    with Klagomal("sqlite://", clock=clock, load_entrypoints=False) as k:
        k.init()
        ref = register_case(k).reference
        k.acknowledge(ref, "Hanna", RESPOND_BY)
        assert k.rebuild(ref) == k.get(ref)
        assert k.export()["cases"][0]["reference"] == ref


def test_sqlite_file_runs_in_wal_mode_with_foreign_keys(sqlite_url: str, clock: FixedClock) -> None:
    # SQLite only: pragmas and the -wal file are SQLite's; the servers do both by themselves.
    # WAL lets the CLI read while the daily job writes; foreign keys keep events tied to cases.
    with Klagomal(sqlite_url, clock=clock, load_entrypoints=False) as k:
        k.init()
        storage = k.storage
        assert isinstance(storage, SqlStorage)
        with storage.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        path = sa.engine.make_url(sqlite_url).database
        assert path is not None
        register_case(k)
        assert Path(path + "-wal").exists()


def test_references_stay_unique_when_several_instances_register_at_once(
    db_url: str, clock: FixedClock
) -> None:
    # Reference allocation is part of the registering transaction: SQLite
    # serialises it (BEGIN IMMEDIATE), the servers lock the year's counter row,
    # so concurrent handlers never share a number.
    import threading

    with Klagomal(db_url, clock=clock, load_entrypoints=False) as setup:
        setup.init()
    references: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def handler() -> None:
        try:
            with Klagomal(db_url, clock=clock, load_entrypoints=False) as k:
                for _ in range(15):
                    case = register_case(k)
                    with lock:
                        references.append(case.reference)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=handler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(references) == [f"2026-{n:05d}" for n in range(1, 61)]
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as k:
        assert [c.reference for c in k.cases()] == sorted(references)

"""A database that cannot be used gets a clear error that says what to do, and
a transaction the server breaks off for a passing reason is run again.

Against the real PostgreSQL and MariaDB servers (see ``server_url`` in
conftest.py): a stopped server, a refused login, a missing database, and a
real deadlock.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from conftest import server_url
from klagomal import Case, FixedClock, Klagomal, StorageUnavailableError
from klagomal import cli as cli_module
from klagomal.storage import tables
from klagomal.testing import register

SERVERS = ["postgresql", "mariadb"]
UNREACHABLE = "Kontrollera att databasservern är igång"
LOGIN = "Kontrollera användarnamn och lösenord"
NO_DATABASE = "Databasen finns inte på servern"


def _wrong(backend: str) -> dict[str, tuple[sa.URL, str]]:
    url = sa.make_url(server_url(backend))
    login = (
        url.set(username=f"klagomal_nobody_{uuid.uuid4().hex[:6]}")  # trust auth: an unknown role is refused
        if backend == "postgresql"
        else url.set(password="fel-losenord")
    )
    return {
        "stopped server": (url.set(port=1), UNREACHABLE),
        "refused login": (login, LOGIN),
        "missing database": (url.set(database="klagomal_finns_inte"), NO_DATABASE),
    }


@pytest.mark.parametrize("backend", SERVERS)
@pytest.mark.parametrize("situation", ["stopped server", "refused login", "missing database"])
def test_a_database_that_cannot_be_used_says_what_to_do(backend: str, situation: str) -> None:
    url, hint = _wrong(backend)[situation]
    shown = url.render_as_string(hide_password=True)
    for command in (lambda k: k.init(), lambda k: k.cases(), lambda k: register(k)):
        with Klagomal(url, load_entrypoints=False) as k, pytest.raises(StorageUnavailableError) as caught:
            command(k)
        message = str(caught.value)
        assert message.startswith(f"Kan inte ansluta till databasen {shown}: ")
        assert hint in message
        assert "fel-losenord" not in message


@pytest.mark.parametrize("backend", SERVERS)
def test_the_command_line_says_it_in_swedish_without_a_traceback(
    backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _hint = _wrong(backend)["refused login"]
    status = cli_module.main(
        ["--db", url.render_as_string(hide_password=False), "list"], stdout=io.StringIO()
    )
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("klagomal: Kan inte ansluta till databasen ")
    assert LOGIN in err
    assert "Traceback" not in err
    assert "fel-losenord" not in err


# -- a real deadlock ------------------------------------------------------------------


@pytest.fixture(params=SERVERS)
def server_db(request: pytest.FixtureRequest) -> Iterator[str]:
    """A new database on each server, dropped afterwards."""
    admin_url = sa.make_url(server_url(request.param))
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"klagomal_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
    admin.dispose()


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


def test_a_registration_that_loses_a_deadlock_is_run_again(server_db: str) -> None:
    # Another program holds the row of the next case and then waits for the
    # reference counter, which klagomal's registration holds while it waits
    # for that row: a deadlock.  The server rolls klagomal's transaction back
    # (PostgreSQL: it is the one whose deadlock check runs first; MariaDB: it
    # is the smaller transaction), and klagomal runs the registration again.
    clock = FixedClock(dt.date(2026, 3, 2))
    with Klagomal(server_db, clock=clock, load_entrypoints=False) as k:
        k.init()
        first = register(k)
        engine = sa.create_engine(server_db)
        with engine.connect() as conn:
            template = dict(
                conn.execute(sa.select(tables.cases).where(tables.cases.c.reference == first.reference))
                .one()
                ._mapping
            )
        other = engine.connect()
        other.begin()
        if engine.dialect.name == "postgresql":
            other.exec_driver_sql("SET deadlock_timeout = '30s'")
        # Several rows, so that MariaDB picks klagomal's smaller transaction as the victim.
        other.execute(
            sa.insert(tables.cases), [{**template, "reference": f"2026-{n:05d}"} for n in range(2, 8)]
        )
        results: list[Case | BaseException] = []

        def registration() -> None:
            try:
                results.append(register(k))
            except BaseException as exc:  # reported by the assertion below
                results.append(exc)

        worker = threading.Thread(target=registration)
        worker.start()
        _wait_until(lambda: _waiting_for_a_lock(engine), "klagomal's registration waits for the row")
        # Now take the counter: this waits for klagomal, which waits for us.
        other.execute(
            sa.update(tables.reference_counters)
            .where(tables.reference_counters.c.year == 2026)
            .values(last=tables.reference_counters.c.last)
        )
        # That returned, so the server broke klagomal's transaction off.  Give
        # way, and klagomal's second try goes through.
        other.rollback()
        other.close()
        worker.join(timeout=60)
        engine.dispose()
        assert len(results) == 1
        result = results[0]
        assert isinstance(result, Case), result
        assert result.reference == "2026-00002"
        assert [c.reference for c in k.cases()] == ["2026-00001", "2026-00002"]
        assert k.rebuild(result.reference) == k.get(result.reference)


def _waiting_for_a_lock(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            query = (
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        else:
            query = "SELECT count(*) FROM information_schema.innodb_lock_waits"
        return bool(conn.exec_driver_sql(query).scalar())

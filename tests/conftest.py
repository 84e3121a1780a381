"""Shared fixtures: a fixed clock, a Klagomal on a fresh SQLite file, and
fresh databases on every backend.

``new_database`` runs a test on SQLite, PostgreSQL and MariaDB.  The server
tests need a server URL with an administrative database, from which they
create (and afterwards drop) a throw-away database per test::

    KLAGOMAL_TEST_POSTGRESQL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    KLAGOMAL_TEST_MARIADB=mysql+pymysql://root@127.0.0.1:3306/test

Without them those tests skip, saying so; in CI (``CI=true``) they fail
instead, because there they must run (``.ci/run`` sets both).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from klagomal import Case, Event, FixedClock, Klagomal
from klagomal.cases.lifecycle import evolve
from klagomal.testing import CONTACT, START, UNIT, register  # noqa: F401 - re-exported for the tests

# Every test acts as the reserved system owner, ``system``, unless it says
# otherwise (``k.as_user(...)``, ``monkeypatch.setenv("KLAGOMAL_USER", ...)``);
# the access control itself is tested in tests/test_access.py.  Set for the
# whole session, so module-scoped fixtures and child processes have it too.
os.environ["KLAGOMAL_USER"] = "system"

# The same defaults as the helpers plugin authors use (klagomal.testing),
# under the names the core's tests have always used.
EVA = CONTACT
register_case = register


def stored(case: Case | None, data: object, *, reference: str = "2026-00001", day: dt.date = START) -> Case:
    """*case* after the step *data* was stored on *day*, projected without a
    database (``lifecycle.evolve``); *case* ``None`` for a registration."""
    event = Event(
        reference=reference,
        seq=1 if case is None else case.version + 1,
        day=day,
        recorded_at=dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC),
        data=data,  # type: ignore[arg-type]
    )
    return evolve(case, event)


@pytest.fixture
def clock() -> FixedClock:
    """A clock standing at 2026-03-02 until a test moves it."""
    return FixedClock(START)


@pytest.fixture
def db_url(tmp_path: Any) -> str:
    """The URL of a SQLite file in the test's own directory."""
    return f"sqlite:///{tmp_path / 'klagomal.db'}"


#: The backends ``new_database`` runs on, with the variable naming each server.
BACKENDS = {"sqlite": None, "postgresql": "KLAGOMAL_TEST_POSTGRESQL", "mariadb": "KLAGOMAL_TEST_MARIADB"}

_EXAMPLE_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/test",
}


def server_url(backend: str) -> str:
    """The administrative URL of *backend*'s test server; skips the test
    (fails it in CI) when none is configured."""
    variable = BACKENDS[backend]
    assert variable is not None, backend
    server = os.environ.get(variable)
    if not server:
        how = f"set {variable}, for example {variable}={_EXAMPLE_URLS[backend]}"
        if os.environ.get("CI"):
            pytest.fail(f"{backend}: the server tests must run in CI; {how} (.ci/run does)")
        pytest.skip(f"{backend} is not configured; {how}")
    return server


@pytest.fixture(params=list(BACKENDS))
def new_database(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Callable[[], str]]:
    """``new_database()`` returns the URL of a new, empty database on this
    test's backend; server databases are dropped afterwards."""
    backend: str = request.param
    variable = BACKENDS[backend]
    if variable is None:
        numbers = itertools.count()
        yield lambda: f"sqlite:///{tmp_path / f'db{next(numbers)}.db'}"
        return
    server = server_url(backend)
    import sqlalchemy as sa

    admin_url = sa.make_url(server)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def create() -> str:
        name = f"klagomal_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        created.append(name)
        return admin_url.set(database=name).render_as_string(hide_password=False)

    yield create
    with admin.connect() as conn:
        for name in created:
            force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
    admin.dispose()


@pytest.fixture
def any_db_url(new_database: Callable[[], str]) -> str:
    """A new, empty database on each backend in turn."""
    return new_database()


@pytest.fixture
def k(db_url: str, clock: FixedClock) -> Iterator[Klagomal]:
    """An initialised Klagomal on a SQLite file, without installed plugins."""
    instance = Klagomal(db_url, clock=clock, load_entrypoints=False)
    instance.init()
    yield instance
    instance.dispose()


@pytest.fixture
def new_case(k: Klagomal) -> Callable[..., Case]:
    """``new_case(**overrides)`` registers a case in ``k`` (see :func:`register_case`)."""
    return lambda **overrides: register_case(k, **overrides)


#: The benchmark scripts, which the tests under tests/test_bench_*.py run briefly.
BENCH = Path(__file__).resolve().parents[1] / "bench"


def load_bench(name: str) -> ModuleType:
    """The script ``bench/<name>.py`` as a module (``bench_<name>``): the
    benchmarks are scripts, not a package."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module

"""Health, readiness, Prometheus metrics and JSON-line logs (issue 23,
klagomal.observe, docs/web.md "Health, metrics and logs").

``klagomal serve`` runs as a real process, two of them for the whole
module: one with the JSON log and ``KLAGOMAL_METRICS_TOKEN`` (``json``),
one as a kommun starts it, text log and no token (``plain``).  The counts'
queries run on SQLite, PostgreSQL and MariaDB in the test process; the
worker's server (klagomal.observe.server, the standard library's) is
started in the test process too.

Every route of the application is read from the code (in a child process,
never Litestar in pytest) and called with a canary in its path, query,
headers and body: no canary may reach /metrics or the log.
"""

from __future__ import annotations

import collections
import datetime as dt
import io
import json
import logging
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from klagomal import FixedClock, Klagomal
from klagomal.core.errors import InvalidInputError
from klagomal.storage.tables import SCHEMA_HEAD, SCHEMA_REVISIONS, notices, reminders
from klagomal.testing import register

pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")
pytest.importorskip("prometheus_client", reason="the ops extra: pip install 'klagomal[ops]'")

from prometheus_client.parser import text_string_to_metric_families
from tests.test_intake import mail
from tests.test_web_server import START_TIMEOUT, Answer, Server, child_env, free_port, stop

from klagomal.observe import health, logs, metrics
from klagomal.observe.bounded import Bounded
from klagomal.observe.server import listen_address, start_observe_server
from klagomal.storage.sql.ops import operations_statements

#: What a client sends that must reach neither /metrics nor the log.
CANARY = "kanarie-5e1f"
CANARY_EMAIL = "kanarie.5e1f@example.se"
#: The metrics token of the ``json`` server.
TOKEN = "matvarden-nyckel-0123456789"

BOU_UNIT = "bou-forskola-blaklinten"


# -- servers -----------------------------------------------------------------------------------


@attrs.frozen
class Running:
    server: Server
    stderr: Path

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        """GET *path*; the answer's header names in lower case."""
        answer = self.server.call("GET", path, user=None, headers=headers)
        return attrs.evolve(answer, headers={k.lower(): v for k, v in answer.headers.items()})

    def log(self) -> str:
        return self.stderr.read_text(encoding="utf-8")


def serve(tmp: Path, args: list[str], env: dict[str, str]) -> Running:
    """``klagomal serve`` on a new SQLite database with a key per user,
    stderr to a file; once /healthz answers (bounded)."""
    db = f"sqlite:///{tmp / 'klagomal.db'}"
    keys: dict[str, str] = {}
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        for user in k.organisation.users:
            keys[user] = k.create_api_key(user, f"System för {user}")[1]
    port = free_port()
    stderr = tmp / "stderr.txt"
    with stderr.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "klagomal.cli", "--db", db, "serve", "--port", str(port), *args],
            cwd=tmp,
            env=child_env(**env),
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    running = Running(Server(f"http://127.0.0.1:{port}", db, keys, process), stderr)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert process.poll() is None, stderr.read_text(encoding="utf-8")
        try:
            if running.get("/healthz").status == 200:
                return running
        except OSError:
            pass
        assert time.monotonic() < deadline, f"klagomal serve did not answer within {START_TIMEOUT} s"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def json_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = serve(
        tmp_path_factory.mktemp("observe-json"),
        ["--log-format", "json"],
        {
            "KLAGOMAL_METRICS_TOKEN": TOKEN,
            "KLAGOMAL_METRICS_CACHE": "0",  # every scrape reads the database: the values are compared
            "KLAGOMAL_RATE_LIMIT": "av",  # every route is called, many without a key
        },
    )
    yield running
    stop(running.server)


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = serve(tmp_path_factory.mktemp("observe-plain"), [], {})
    yield running
    stop(running.server)


def scrape(running: Running, token: str | None = TOKEN) -> str:
    answer = running.get("/metrics", {"Authorization": f"Bearer {token}"} if token else None)
    assert answer.status == 200, answer.body
    assert re.fullmatch(r"text/plain; version=[\d.]+; charset=utf-8", answer.headers["content-type"])
    return answer.body.decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def by_label(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str) -> dict[str, float]:
    """The values of the metric *name* with one label, by that label's value."""
    return {labels[0][1]: value for (n, labels), value in found.items() if n == name and len(labels) == 1}


# -- a world with something to count ---------------------------------------------------------


def populate(db: str) -> None:
    """Cases overdue and not, at two förvaltningar; notices in each watched
    status; a message in quarantine; failed reminders and webhook deliveries."""
    today = dt.date.today()
    with Klagomal(db, clock=FixedClock(today - dt.timedelta(days=90)), load_entrypoints=False,
                  user="system") as k:  # fmt: skip
        late = [register(k) for _ in range(5)]
        register(k, unit=BOU_UNIT)
        for case in late[:4]:
            k.acknowledge(case.reference, "Omar Ali")  # besked owed: a notice in the outbox
        k.pause(late[3].reference, "Väntar på underlag.")  # the clock stands: not overdue
        subject = f"ärende {late[0].reference}"
        raw = mail("Köp billiga klockor!", subject=subject, sender="Okänd <x@example.net>")
        assert k.receive_email(raw).outcome == "quarantined"
        reference = late[0].reference
    with Klagomal(db, load_entrypoints=False, user="system") as k:
        register(k)  # today: not overdue
        register(k, unit=BOU_UNIT)
        k.acknowledge(register(k, unit=BOU_UNIT).reference, "Omar Ali")  # promised later: not overdue
        engine = sa.create_engine(db)
        with engine.begin() as conn:
            ids = list(conn.execute(sa.select(notices.c.id).order_by(notices.c.id)).scalars())
            assert len(ids) >= 4, ids
            for status, notice_id in zip(("failed", "uncertain", "sending"), ids, strict=False):
                conn.execute(sa.update(notices).where(notices.c.id == notice_id).values(status=status))
            base = {"reference": reference, "deadline": "besked", "kind": "paminnelse", "recipient": "x",
                    "role": "handlaggare", "created": today, "attempts": 1}  # fmt: skip
            conn.execute(
                sa.insert(reminders),
                [
                    {**base, "due": today - dt.timedelta(days=n), "status": status}
                    for n, status in enumerate(("failed", "undeliverable", "sent"))
                ],
            )
        engine.dispose()
        k.webhooks.subscribe("https://system.example.se/krok", user="nora.lind")
        k.add_note(reference, "En anteckning.")  # a delivery to the subscription
        engine = sa.create_engine(db)
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE webhook_deliveries SET status = 'failed'")
        engine.dispose()


def expected_counts(db: str) -> dict[str, Any]:
    """What the library says of the same database, through its own reads."""
    today = dt.date.today()
    with Klagomal(db, load_entrypoints=False, user="system") as k:
        outbox = collections.Counter(n.status for n in k.outbox())
        overdue = collections.Counter(c.department for c in k.cases() if c.is_overdue(today))
        return {
            "outbox": {status: outbox[status] for status in ("pending", "sending", "failed", "uncertain")},
            "overdue": {department: overdue[department] for department in k.organisation.departments},
            "quarantined": len(k.received_messages(outcomes=["quarantined"])),
            "failed": {
                "notice": outbox["failed"],
                "reminder": sum(r.status in ("failed", "undeliverable") for r in k.reminders()),
                "webhook": sum(d.status == "failed" for d in k.webhooks.deliveries()),
            },
        }


# -- liveness and readiness -------------------------------------------------------------------


def test_healthz_answers_ok_to_anyone_without_login(json_server: Running) -> None:
    answer = json_server.get("/healthz")
    assert (answer.status, answer.body) == (200, b"ok\n")
    assert answer.headers["cache-control"] == "no-store"
    # A form's CSRF guard and the login are the web interface's, not these routes'.
    assert "set-cookie" not in answer.headers


def _set_schema(db: str, revision: str) -> None:
    engine = sa.create_engine(db)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    engine.dispose()


def test_readyz_is_ok_and_503_with_a_swedish_reason_while_the_schema_is_behind(json_server: Running) -> None:
    answer = json_server.get("/readyz")
    assert answer.status == 200, answer.body
    assert answer.json() == {
        "status": "ok",
        "checks": {
            "database": {"ok": True, "reason": "databasen svarar"},
            "schema": {"ok": True, "reason": "schemat är aktuellt"},
        },
    }
    _set_schema(json_server.server.db, SCHEMA_REVISIONS[-2])
    try:
        time.sleep(health.READY_FRESH + 0.1)
        behind = json_server.get("/readyz")
        assert behind.status == 503
        checks = behind.json()["checks"]
        assert checks["database"] == {"ok": True, "reason": "databasen svarar"}
        assert checks["schema"]["ok"] is False
        assert "kör klagomal init" in checks["schema"]["reason"]
        # Nothing but the short reasons: not the database's address nor the revision.
        assert "klagomal.db" not in behind.body.decode()
        assert SCHEMA_REVISIONS[-2] not in behind.body.decode()
        # Liveness does not ask the database.
        assert json_server.get("/healthz").status == 200
    finally:
        _set_schema(json_server.server.db, SCHEMA_HEAD)
    time.sleep(health.READY_FRESH + 0.1)
    assert json_server.get("/readyz").status == 200


def _closed_port() -> int:
    return free_port()  # bound and closed again: nothing listens there


def test_readiness_of_a_database_that_cannot_be_reached_is_not_ready_at_once() -> None:
    pytest.importorskip("psycopg")
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/klagomal"
    with Klagomal(url, load_entrypoints=False, user="system") as k:
        started = time.monotonic()
        result = health.Readiness(k).check()
        assert time.monotonic() - started < health.READY_TIMEOUT
        assert not result.ok
        assert result.as_json()["checks"] == {
            "database": {"ok": False, "reason": "databasen kan inte nås"},
            "schema": {"ok": False, "reason": "inte kontrollerat: databasen svarar inte"},
        }
        assert "Connection refused" in result.checks[0].detail or "connect" in result.checks[0].detail.lower()
        # The worker's server says the same, and its metrics say the counts could not be read.
        server = start_observe_server(k, "127.0.0.1", 0, metrics.new_registry(k, fresh=0), token=None)
        try:
            base = f"http://127.0.0.1:{server.port}"
            assert _get(base + "/healthz").status == 200
            ready = _get(base + "/readyz")
            assert ready.status == 503
            assert ready.json()["checks"]["database"]["reason"] == "databasen kan inte nås"
            started = time.monotonic()
            found = samples(_get(base + "/metrics").body.decode())
            assert time.monotonic() - started < metrics.COUNTS_TIMEOUT
            assert found[("klagomal_operations_counts_ok", ())] == 0
            assert not any(name == "klagomal_outbox_notices" for name, _l in found)
        finally:
            server.stop()


def test_readiness_of_a_database_that_does_not_answer_gives_up_in_time() -> None:
    pytest.importorskip("psycopg")
    # A port that takes the connection and then says nothing, as a server that hangs.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"postgresql+psycopg://postgres@127.0.0.1:{silent.getsockname()[1]}/klagomal"
        with Klagomal(url, load_entrypoints=False, user="system") as k:
            readiness = health.Readiness(k, timeout=0.5, fresh=0)
            started = time.monotonic()
            result = readiness.check()
            again = readiness.check()  # the first call still runs: no second one is started
            assert time.monotonic() - started < 2.0
    assert not result.ok
    assert result.checks[0].reason == "databasen svarade inte inom 0,5 s"
    assert again.checks[0].reason == result.checks[0].reason


def test_readiness_on_every_backend(new_database: Callable[[], str]) -> None:
    db = new_database()
    with Klagomal(db, load_entrypoints=False, user="system") as k:
        k.init()
        readiness = health.Readiness(k, fresh=0)
        assert readiness.check().ok
        _set_schema(db, SCHEMA_REVISIONS[-2])
        behind = readiness.check()
        assert [(c.name, c.ok) for c in behind.checks] == [("database", True), ("schema", False)]
        assert SCHEMA_REVISIONS[-2] in behind.checks[1].detail  # the storage's own words, kept
        _set_schema(db, SCHEMA_HEAD)
        assert readiness.check().ok


# -- the counts ----------------------------------------------------------------------------------


def test_operations_counts_are_the_database_s_on_every_backend(
    new_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = new_database()
    with Klagomal(db, load_entrypoints=False, user="system") as k:
        k.init()
        empty = k.operations_counts()
    assert empty.outbox == dict.fromkeys(("pending", "sending", "failed", "uncertain"), 0)
    assert set(empty.overdue) == {"klf", "soc", "bou", "sbf", "kof"}
    populate(db)
    expected = expected_counts(db)
    # Not vacuous: each kind of number is there.
    assert expected["overdue"]["soc"] == 4  # three past their svar, one its besked; one paused
    assert expected["overdue"]["bou"] == 1
    assert all(expected["outbox"].values())
    assert expected["quarantined"] == 1
    assert expected["failed"] == {"notice": 1, "reminder": 2, "webhook": 1}
    # Without a user: numbers of the whole kommun, no person's (docs/web.md).
    monkeypatch.delenv("KLAGOMAL_USER")
    with Klagomal(db, load_entrypoints=False) as k:
        assert k.user is None
        counts = k.operations_counts()
    assert dict(counts.outbox) == expected["outbox"]
    assert dict(counts.overdue) == expected["overdue"]
    assert counts.quarantined == expected["quarantined"]
    assert dict(counts.failed) == expected["failed"]
    assert dict(counts.job_last_success) == {}


def test_the_counts_are_read_through_indexes(k: Klagomal) -> None:
    """SQLite's plan of every statement: a search in an index, never a
    table read whole (a scrape on a million cases stays cheap)."""
    engine: sa.Engine = k.storage.engine  # type: ignore[attr-defined]
    statements = operations_statements()
    assert len(statements) == 6
    with engine.connect() as conn:
        for name, statement in statements.items():
            sql = str(
                statement.params(today=dt.date(2026, 3, 2)).compile(
                    dialect=engine.dialect, compile_kwargs={"literal_binds": True}
                )
            )
            plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
            reads = [step for step in plan if step.startswith(("SCAN", "SEARCH"))]
            assert reads, (name, plan)
            assert all(step.startswith("SEARCH") and " INDEX " in step for step in reads), (name, plan)


def test_the_counts_are_kept_a_while_and_read_again_after() -> None:
    now = [0.0]
    calls: list[int] = []

    def read() -> int:
        calls.append(1)
        return len(calls)

    counts = Bounded(read, timeout=1.0, fresh=15.0, name="test", clock=lambda: now[0])
    assert [counts().value for _ in range(50)] == [1] * 50  # a storm of scrapes: one read
    now[0] = 14.9
    assert counts().value == 1
    now[0] = 30.0
    assert counts().value == 2


# -- /metrics ------------------------------------------------------------------------------------------


def test_the_scraped_numbers_are_the_database_s(json_server: Running) -> None:
    populate(json_server.server.db)
    expected = expected_counts(json_server.server.db)
    found = samples(scrape(json_server))
    assert found[("klagomal_operations_counts_ok", ())] == 1
    assert by_label(found, "klagomal_outbox_notices") == expected["outbox"]
    assert by_label(found, "klagomal_overdue_cases") == expected["overdue"]
    assert by_label(found, "klagomal_failed_deliveries") == expected["failed"]
    assert found[("klagomal_quarantined_messages", ())] == expected["quarantined"] == 1
    assert expected["overdue"]["soc"] == 4  # three past their svar, one its besked; one paused
    # The process's own.
    assert any(name == "process_resident_memory_bytes" for name, _l in found)


def test_metrics_need_the_token_when_it_is_set(json_server: Running) -> None:
    for headers in ({}, {"Authorization": "Bearer fel-nyckel"}, {"Authorization": TOKEN}):
        refused = json_server.get("/metrics", headers)
        assert refused.status == 403, headers
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["type"] == "urn:klagomal:problem:access-denied"
        assert problem["title"] == "Åtkomst nekad"
        assert problem["detail"] == metrics.metrics_refusal(TOKEN)["detail"]
        assert "KLAGOMAL_METRICS_TOKEN" in problem["detail"]
        assert b"klagomal_" not in refused.body
    assert "klagomal_outbox_notices" in scrape(json_server)


def test_metrics_without_a_token_answer_only_this_machine(plain_server: Running) -> None:
    assert "klagomal_outbox_notices" in scrape(plain_server, token=None)
    # Through a reverse proxy on the same machine the peer is loopback, but the client is not.
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        refused = plain_server.get("/metrics", {header: "198.51.100.7"})
        assert refused.status == 403, header
        assert refused.json()["detail"] == metrics.metrics_refusal(None)["detail"]
    # The text log is as it was: the line that says where, and no line per request.
    log = plain_server.log()
    assert log.startswith("klagomal: tar emot HTTP på http://127.0.0.1:")
    assert "/metrics" not in log
    assert "{" not in log


def test_a_scrape_storm_reads_the_database_once_in_15_s(plain_server: Running) -> None:
    with Klagomal(plain_server.server.db, load_entrypoints=False, user="system") as k:
        reference = register(k).reference
        before = samples(scrape(plain_server, token=None))[("klagomal_quarantined_messages", ())]
        junk = mail("Reklam", sender="Okänd <y@example.net>", subject=f"ärende {reference}")
        assert k.receive_email(junk).outcome == "quarantined"
    for _ in range(20):
        # Kept: the default KLAGOMAL_METRICS_CACHE, 15 s.
        assert samples(scrape(plain_server, token=None))[("klagomal_quarantined_messages", ())] == before


# -- what a client sent never reaches the metrics or the log ------------------------------------------

ROUTES = """
import json
from klagomal import Klagomal
from klagomal.web.app import create_app
app = create_app(Klagomal("sqlite://", load_entrypoints=False))
print(json.dumps(sorted({(m, r.path) for r in app.routes for m in getattr(r, "methods", ())
                         if m not in ("HEAD", "OPTIONS")})))
"""


def every_route() -> list[tuple[str, str]]:
    """(method, path) of every route of the application, read from its code
    in a child process (Litestar is never started in pytest)."""
    command = [sys.executable, "-c", ROUTES]
    done = subprocess.run(command, env=child_env(), capture_output=True, text=True, timeout=120, check=True)
    return [(method, path) for method, path in json.loads(done.stdout)]


def template(path: str) -> str:
    """A route's path as the metrics and the log name it: parameters without their types."""
    return re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path)


def filled(path: str) -> str:
    """A path of the route *path*: 1 for a number, the canary for anything else."""
    return re.sub(r"\{\w+(:\w+)?\}", CANARY, re.sub(r"\{\w+:int\}", "1", path))


def _send(base: str, method: str, path: str, *, body: bytes | None = None) -> int:
    request = urllib.request.Request(
        base + path,
        data=body,
        method=method,
        headers={
            "X-Kanarie": CANARY,
            "User-Agent": f"{CANARY} {CANARY_EMAIL}",
            "Referer": f"https://example.se/{CANARY}",
            "Cookie": f"kanarie={CANARY}",
            "Authorization": f"Bearer {CANARY}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.read()
        return int(error.code)


def test_no_route_puts_what_a_client_sent_in_the_metrics_or_the_log(json_server: Running) -> None:
    routes = every_route()
    assert ("GET", "/folj/{token:str}") in routes
    assert ("GET", "/metrics") in routes
    templates = {template(path) for _m, path in routes}
    body = json.dumps({"text": CANARY, "email": CANARY_EMAIL, "name": CANARY}).encode()
    sent: set[tuple[str, str]] = set()
    for method, path in routes:
        status = _send(
            json_server.server.base,
            method,
            f"{filled(path)}?q={CANARY}&email={CANARY_EMAIL}",
            body=body if method in ("POST", "PUT", "PATCH") else None,
        )
        assert status < 500, (method, path, status)
        sent.add((method, template(path)))
    # No route at all, and a method no one knows: counted, never named.
    assert _send(json_server.server.base, "GET", f"/{CANARY}/{CANARY_EMAIL}") == 404
    assert _send(json_server.server.base, CANARY.upper().replace("-", ""), "/healthz") in (400, 405)

    text = scrape(json_server)
    assert "kanarie" not in text.lower()
    found = samples(text)
    counted = {
        (dict(labels)["method"], dict(labels)["route"])
        for name, labels in found
        if name == "klagomal_http_requests_total"
    }
    assert {route for _method, route in counted} <= templates | {metrics.UNMATCHED}
    assert sent - counted == set(), "routes not counted under their template"
    assert ("GET", metrics.UNMATCHED) in counted
    assert ("other", metrics.UNMATCHED) in counted
    assert all(
        dict(labels)["method"] in logs.METHODS | {"other"}
        for name, labels in found
        if name.startswith("klagomal_http_")
    )

    # The log: every line on stderr a JSON object, none holding the canary.
    log = json_server.log()
    assert "kanarie" not in log.lower()
    lines = [json.loads(line) for line in log.splitlines()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    requests = [line for line in lines if line["logger"] == logs.REQUEST_LOGGER]
    assert len(requests) >= len(routes)
    assert all(set(logs.REQUEST_FIELDS) <= set(line) for line in requests)
    assert {(line["method"], line["route"]) for line in requests} >= sent
    assert {line["route"] for line in requests} <= templates | {metrics.UNMATCHED}
    assert lines[0]["message"].startswith("klagomal: tar emot HTTP på http://127.0.0.1:")


# -- the worker's server ---------------------------------------------------------------------------


def _get(url: str, headers: dict[str, str] | None = None) -> Answer:
    """GET *url*; the answer's header names in lower case."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, named, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, named, body = error.code, error.headers, error.read()
    return Answer(status, {k.lower(): v for k, v in named.items()}, body)


def test_the_observe_server_serves_the_same_without_the_web_application(k: Klagomal) -> None:
    registry = metrics.new_registry(k, fresh=0)
    server = start_observe_server(k, "127.0.0.1", 0, registry, token=None)
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert _get(base + "/healthz").body == b"ok\n"
        assert _get(base + "/readyz").json()["status"] == "ok"
        found = samples(_get(base + "/metrics").body.decode())
        assert found[("klagomal_operations_counts_ok", ())] == 1
        assert by_label(found, "klagomal_overdue_cases")["soc"] == 0
        refused = _get(base + "/metrics", {"X-Forwarded-For": "198.51.100.7"})
        assert refused.status == 403
        assert refused.json() == metrics.metrics_refusal(None)
        assert _get(base + f"/{CANARY}").status == 404
        # Its port cannot be taken twice: a Swedish reason.
        taken = f"kan inte ta emot HTTP på 127.0.0.1:{server.port}: adressen används redan"
        with pytest.raises(InvalidInputError, match=taken):
            start_observe_server(k, "127.0.0.1", server.port, registry)
    finally:
        server.stop()
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        _get(base + "/healthz")
    # With a token: only its holder, from here too.
    server = start_observe_server(k, "127.0.0.1", 0, metrics.new_registry(k, fresh=0), token=TOKEN)
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert _get(base + "/metrics").json() == metrics.metrics_refusal(TOKEN)
        assert _get(base + "/metrics", {"Authorization": f"Bearer {TOKEN}"}).status == 200
    finally:
        server.stop()


def test_a_listen_address_is_host_and_port() -> None:
    assert listen_address("127.0.0.1:9108") == ("127.0.0.1", 9108)
    assert listen_address("[::1]:9108") == ("::1", 9108)
    assert listen_address("localhost:0") == ("localhost", 0)
    for wrong in ("9108", "127.0.0.1", "127.0.0.1:port", "::1:9108", "127.0.0.1:70000", ":9108", "[::1]"):
        with pytest.raises(InvalidInputError, match="är ingen adress att lyssna på: skriv VÄRD:PORT"):
            listen_address(wrong)


def test_two_registries_share_nothing(k: Klagomal) -> None:
    first, second = metrics.new_registry(k, fresh=0), metrics.new_registry(k, fresh=0)
    metrics.RequestMetrics(first).observe("GET", "/healthz", 200, 0.01)
    metrics.RequestMetrics(second)  # the same names again: no clash with the first
    one = samples(metrics.exposition(first)[0].decode())
    two = samples(metrics.exposition(second)[0].decode())
    key = ("klagomal_http_requests_total", (("method", "GET"), ("route", "/healthz"), ("status", "200")))
    assert one[key] == 1
    assert key not in two


# -- the JSON lines -----------------------------------------------------------------------------------


def _record(message: str, *args: Any, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("klagomal.notices", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_a_json_line_keeps_templates_and_numbers_never_the_values() -> None:
    formatter = logs.JsonFormatter()
    record = _record("%s i ärende %s till %s: %d försök", "besked", "2026-00001", CANARY_EMAIL, 3)
    line = json.loads(formatter.format(record))
    assert line["message"] == "[…] i ärende […] till […]: 3 försök"
    assert line["level"] == "WARNING"
    assert line["logger"] == "klagomal.notices"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    record = _record("lyssnar på %s:%s", "127.0.0.1", 8000, **{logs.PUBLIC: True})
    public = json.loads(formatter.format(record))
    assert public["message"] == "lyssnar på 127.0.0.1:8000"
    try:
        raise ValueError(f"kunde inte skicka till {CANARY_EMAIL}")
    except ValueError:
        record = _record("fel vid %s", CANARY)
        record.exc_info = sys.exc_info()
    failed = formatter.format(record)
    assert "kanarie" not in failed
    exception = json.loads(failed)["exception"]
    assert exception["type"] == "builtins.ValueError"
    assert exception["frames"][0].startswith("test_observe.py:")


def test_json_logs_take_over_every_handler_and_give_them_back() -> None:
    access, root = logging.getLogger("uvicorn.access"), logging.getLogger()
    before = (list(root.handlers), root.level, access.disabled)
    stream = io.StringIO()
    restore = logs.use_json_logs(stream)
    try:
        logging.getLogger("klagomal.test").info("ett meddelande om %s", CANARY)
        access.warning('127.0.0.1 - "GET /folj/%s HTTP/1.1" 200', CANARY)  # uvicorn's line: off
        logs.log_request("KANARIE", "/folj/{token}", 404, 0.0123)
    finally:
        restore()
    assert (list(root.handlers), root.level, access.disabled) == before
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["ett meddelande om […]", "other /folj/{token} 404 12.3 ms"]
    assert {key: lines[1][key] for key in logs.REQUEST_FIELDS} == {
        "method": "other",
        "route": "/folj/{token}",
        "status": 404,
        "duration_ms": 12.3,
    }


def test_the_application_under_uvicorn_writes_json_lines_when_asked(tmp_path: Path) -> None:
    """The production command of docs/web.md with ``KLAGOMAL_LOG_FORMAT=json``:
    uvicorn's own lines are JSON too, and its access log (paths) is off."""
    db = f"sqlite:///{tmp_path / 'klagomal.db'}"
    with Klagomal(db, load_entrypoints=False, user="system") as k:
        k.init()
    port = free_port()
    stderr = tmp_path / "stderr.txt"
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "klagomal.web.app:create_app",
        "--port",
        str(port),
    ]
    env = child_env(KLAGOMAL_DB=db, KLAGOMAL_LOG_FORMAT="json")
    with stderr.open("wb") as sink:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=sink)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, stderr.read_text(encoding="utf-8")
            try:
                if _get(base + "/healthz").status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert _send(base, "GET", f"/folj/{CANARY}?q={CANARY_EMAIL}") == 404
    finally:
        process.terminate()
        process.wait(timeout=20)
    log = stderr.read_text(encoding="utf-8")
    assert "kanarie" not in log.lower()
    lines = [json.loads(line) for line in log.splitlines()]
    assert {line["logger"] for line in lines} >= {"uvicorn.error", logs.REQUEST_LOGGER}
    assert "uvicorn.access" not in {line["logger"] for line in lines}
    assert {"method": "GET", "route": "/folj/{token}", "status": 404} in [
        {key: line.get(key) for key in ("method", "route", "status")} for line in lines
    ]


def test_an_unknown_log_format_is_refused_in_swedish() -> None:
    from klagomal.core.errors import ConfigurationError

    assert logs.log_format(None, {}) == "text"
    assert logs.log_format(None, {"KLAGOMAL_LOG_FORMAT": "json"}) == "json"
    with pytest.raises(ConfigurationError, match="loggformatet 'xml' finns inte"):
        logs.log_format("xml", {})
    with pytest.raises(ConfigurationError, match="KLAGOMAL_METRICS_CACHE ska vara"):
        metrics.counts_fresh({"KLAGOMAL_METRICS_CACHE": "snart"})
    assert metrics.counts_fresh({"KLAGOMAL_METRICS_CACHE": "2,5"}) == 2.5

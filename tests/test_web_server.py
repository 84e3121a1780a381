"""The HTTP API end to end: ``klagomal serve`` started as a real process on
a free loopback port, on SQLite and PostgreSQL (and MariaDB when it is
configured), called with the standard library's HTTP client.

Who is calling (API keys, 401), the problem details of each error class,
ETag and If-Match, every step generated from the facade, the audit log of
each request, and the OpenAPI document against the routes.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from tests.conftest import BACKENDS, server_url

import klagomal
from klagomal import Klagomal
from klagomal.storage.tables import audit_log

pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")

from litestar.middleware.rate_limit import RateLimitMiddleware

from klagomal.web import steps
from klagomal.web.app import create_app
from klagomal.web.auth import require_key
from klagomal.web.observe import OPERATIONS_PATHS

#: How long the server may take to start.
START_TIMEOUT = 60.0

SRC = str(Path(klagomal.__file__).resolve().parents[1])

HEMTJANST = "soc-aldre-hemtjanst-norr"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAGOMAL_")}
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


@attrs.frozen
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@attrs.frozen
class Server:
    """A running ``klagomal serve`` and the keys of its users."""

    base: str
    db: str
    keys: dict[str, str]
    process: subprocess.Popen[bytes]

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        user: str | None = "omar.ali",
        key: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        if key is None and user is not None:
            key = self.keys[user]
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers.items()), error.read())


def start_server(db: str, tmp: Path, env: dict[str, str] | None = None) -> Server:
    """Initialise *db*, make a key per user of Exempelkommun, and start
    ``klagomal serve`` on it (with the environment variables *env*); wait
    for the port with a bounded timeout."""
    keys: dict[str, str] = {}
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        for user in k.organisation.users:
            keys[user] = k.create_api_key(user, f"System för {user}")[1]
    base, process = launch(db, tmp, env)
    return Server(base, db, keys, process)


def launch(db: str, tmp: Path, env: dict[str, str] | None = None) -> tuple[str, subprocess.Popen[bytes]]:
    """Start ``klagomal serve`` on an initialised *db* (with the environment
    variables *env*) on a free port; its address once it answers, within
    a bounded time."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "klagomal.cli", "--db", db, "serve", "--port", str(port)],
        cwd=tmp,
        env=child_env(**(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise AssertionError(process.communicate()[1].decode())
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/openapi.json", timeout=5) as r:
                if r.status == 200:
                    return f"http://127.0.0.1:{port}", process
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"klagomal serve did not answer within {START_TIMEOUT} s")
        time.sleep(0.1)


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:  # pragma: no cover
        server.process.kill()
        server.process.wait()


@contextlib.contextmanager
def served(backend: str, tmp: Path, env: dict[str, str] | None = None) -> Iterator[Server]:
    """``klagomal serve`` on a new database of *backend* (a key of
    :data:`BACKENDS`), with the environment variables *env*; the database
    is dropped afterwards."""
    if BACKENDS[backend] is None:
        db = f"sqlite:///{tmp / 'klagomal.db'}"
        admin = None
    else:
        admin = sa.create_engine(sa.make_url(server_url(backend)), isolation_level="AUTOCOMMIT")
        name = f"klagomal_web_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        db = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        running = start_server(db, tmp, env)
        try:
            yield running
        finally:
            stop(running)
    finally:
        if admin is not None:
            with admin.connect() as conn:
                force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
            admin.dispose()


@pytest.fixture(scope="module", params=list(BACKENDS))
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    backend: str = request.param
    with served(backend, tmp_path_factory.mktemp(f"web-{backend}")) as running:
        yield running


def register(server: Server, **changes: Any) -> Answer:
    body = {
        "kind": "klagomal",
        "channel": "webbformular",
        "text": "Hemtjänsten kom inte på tisdagen.",
        "unit": HEMTJANST,
        "contact": {"name": "Eva Svensson", "email": "eva@example.se"},
        **changes,
    }
    return server.call("POST", "/api/v1/cases", body, user=changes.pop("user", "kontaktcenter"))


def is_problem(answer: Answer, status: int, name: str) -> dict[str, Any]:
    assert answer.status == status, answer.body
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = answer.json()
    assert problem["status"] == status
    assert problem["type"] == f"urn:klagomal:problem:{name}"
    assert problem["title"]
    assert problem["detail"]
    return problem


# -- who is calling ----------------------------------------------------------------------


def test_no_key_an_unknown_key_and_a_malformed_header_get_401(server: Server) -> None:
    for headers in ({}, {"Authorization": "Bearer klg_nope"}, {"Authorization": "Basic Zm9vOmJhcg=="}):
        answer = server.call("GET", "/api/v1/whoami", user=None, headers=headers)
        problem = is_problem(answer, 401, "unauthenticated")
        assert problem["title"] == "API-nyckel saknas eller gäller inte"
        assert answer.headers["www-authenticate"].startswith("Bearer")


def test_each_key_acts_as_its_user(server: Server) -> None:
    for user, key in server.keys.items():
        assert server.call("GET", "/api/v1/whoami", key=key).json()["id"] == user


def test_a_key_revoked_by_the_cli_is_refused_by_the_running_server(server: Server, tmp_path: Path) -> None:
    with Klagomal(server.db, user="nora.lind", load_entrypoints=False) as k:
        stored, key = k.create_api_key("omar.ali", "Kortlivat system")
    assert server.call("GET", "/api/v1/whoami", key=key).status == 200
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "klagomal.cli",
            "--db",
            server.db,
            "--user",
            "nora.lind",
            "apikey",
            "revoke",
            str(stored.id),
        ],
        env=child_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    is_problem(server.call("GET", "/api/v1/whoami", key=key), 401, "unauthenticated")


# -- cases, ETag and the steps -------------------------------------------------------------


def test_register_read_and_step_with_etag_and_if_match(server: Server) -> None:
    created = register(server)
    assert created.status == 201, created.body
    case = created.json()
    ref = case["reference"]
    assert created.headers["location"] == f"/api/v1/cases/{ref}"
    assert created.headers["etag"] == f'"{case["version"]}"'
    read = server.call("GET", f"/api/v1/cases/{ref}")
    assert read.status == 200
    assert read.headers["etag"] == created.headers["etag"]
    assert read.json()["contact"]["email"] == "eva@example.se"

    step = f"/api/v1/cases/{ref}/steps/acknowledge"
    is_problem(server.call("POST", step, {}), 428, "precondition-required")
    stale = is_problem(server.call("POST", step, {}, headers={"If-Match": '"99"'}), 412, "conflict")
    assert "har ändrats" in stale["detail"]
    done = server.call("POST", step, {}, headers={"If-Match": read.headers["etag"]})
    assert done.status == 200, done.body
    assert done.json()["handler_id"] == "omar.ali"
    assert done.headers["etag"] == f'"{case["version"] + 1}"'

    history = server.call("GET", f"/api/v1/cases/{ref}/history").json()
    assert len(history["events"]) == case["version"] + 1


def test_a_refused_step_is_409_and_writes_nothing(server: Server) -> None:
    ref = register(server).json()["reference"]
    before = server.call("GET", f"/api/v1/cases/{ref}")
    # A case is not closed before it is answered.
    refused = server.call(
        "POST",
        f"/api/v1/cases/{ref}/steps/close",
        {"satisfied": True},
        headers={"If-Match": before.headers["etag"]},
    )
    is_problem(refused, 409, "refused-step")
    after = server.call("GET", f"/api/v1/cases/{ref}")
    assert after.headers["etag"] == before.headers["etag"]
    assert after.json() == before.json()


def audited(server: Server, ref: str) -> set[tuple[str, str, str]]:
    """The audit log's entries of case *ref*: (user, action, outcome)."""
    engine = sa.create_engine(server.db)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(audit_log.c.user_id, audit_log.c.action, audit_log.c.outcome).where(
                    audit_log.c.reference == ref
                )
            ).all()
    finally:
        engine.dispose()
    return {(row[0], row[1], row[2]) for row in rows}


def test_access_is_the_librarys_and_every_request_is_audited(server: Server) -> None:
    ref = register(server).json()["reference"]
    # The reader may not register; the handler of another unit may not read.
    is_problem(register(server, user="sven.ek"), 403, "access-denied")
    is_problem(server.call("GET", f"/api/v1/cases/{ref}", user="kontaktcenter"), 403, "access-denied")
    assert server.call("GET", f"/api/v1/cases/{ref}", user="omar.ali").status == 200
    entries = audited(server, ref)
    assert ("omar.ali", "lasa", "allowed") in entries
    assert ("kontaktcenter", "lasa", "denied") in entries
    assert ("kontaktcenter", "registrera", "allowed") in entries


def test_not_found_bad_input_and_bad_json_are_problems(server: Server) -> None:
    is_problem(server.call("GET", "/api/v1/cases/2026-09999"), 404, "not-found")
    bad = is_problem(register(server, channel="brevduva"), 422, "invalid-input")
    assert "okänd kanal 'brevduva'" in bad["detail"]
    is_problem(server.call("POST", "/api/v1/cases", {"text": "x"}), 422, "invalid-input")
    broken = server.call("POST", "/api/v1/cases", raw=b"{", headers={"Content-Type": "application/json"})
    assert broken.status == 400
    assert broken.json()["detail"] == "begärans innehåll kunde inte läsas som JSON"
    assert broken.headers["content-type"].startswith("application/problem+json")
    missing = is_problem(server.call("GET", "/api/v1/register?start=2026-01-01"), 422, "invalid-input")
    assert missing["detail"] == "begäran kunde inte läsas: parametern 'end' saknas"
    is_problem(server.call("GET", "/api/v1/ingenstans"), 404, "no-such-resource")


def test_lists_are_paged_with_a_cursor(server: Server) -> None:
    for _ in range(3):
        register(server)
    seen: list[str] = []
    cursor = None
    while True:
        path = "/api/v1/cases?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = server.call("GET", path, user="nora.lind").json()
        assert len(page["cases"]) <= 2
        seen += [c["reference"] for c in page["cases"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == sorted(set(seen))
    assert len(seen) >= 3
    is_problem(server.call("GET", "/api/v1/cases?cursor=%%%", user="nora.lind"), 422, "invalid-input")
    worklist = server.call("GET", "/api/v1/worklist").json()
    assert all(item["reference"] for item in worklist["worklist"])


def test_the_list_takes_every_filter_of_the_library_and_answers_as_it_does(server: Server) -> None:
    """Every keyword of :meth:`Klagomal.cases` is a query parameter of
    ``GET /api/v1/cases`` (read from the signature, so a filter added to
    the library is missed here at once), and each answers the cases the
    library answers for the same user."""
    document = json.loads(server.call("GET", "/api/openapi.json", user=None).body)
    documented = {p["name"] for p in document["paths"]["/api/v1/cases"]["get"]["parameters"]}
    filters = set(inspect.signature(Klagomal.cases).parameters) - {"self"}
    assert filters <= documented, filters - documented
    for _ in range(2):
        register(server)
    queries: list[dict[str, Any]] = [
        {},
        {"unit": "soc-aldre", "subtree": True},
        {"unit": "soc-aldre"},
        {"state": "open"},
        {"due_within": 10},
        {"due_within": 0, "overdue": True},
        {"manager": "lena.holm"},
        {"manager": "Socialchef Eva Nyström"},
        {"handler": "omar.ali"},
        {"unassigned": True},
        {"unassigned": True, "manager": "lena.holm"},
    ]
    with Klagomal(server.db, user="nora.lind", load_entrypoints=False) as k:
        for query in queries:
            expected = sorted(c.reference for c in k.cases(**query))
            text = urllib.parse.urlencode(
                {n: str(v).lower() if isinstance(v, bool) else v for n, v in query.items()}
            )
            answer = server.call("GET", f"/api/v1/cases?limit=500&{text}", user="nora.lind")
            assert answer.status == 200, (query, answer.body)
            assert [c["reference"] for c in answer.json()["cases"]] == expected, query
    assert server.call("GET", "/api/v1/cases?due_within=-1", user="nora.lind").status == 422


# -- the routes, the steps and the OpenAPI document ---------------------------------------


def test_every_facade_step_has_a_route_or_a_reason() -> None:
    facade = {
        name
        for name, function in inspect.getmembers(Klagomal, inspect.isfunction)
        if "expected_version" in inspect.signature(function).parameters
    }
    tables = [set(steps.STEPS.values()), set(steps.OWN_ROUTES), set(steps.NOT_HERE)]
    assert facade == set.union(*tables)
    assert sum(map(len, tables)) == len(facade)  # each in one table only
    # A step with a route of its own has that route, as a POST.
    app = create_app(Klagomal("sqlite://", load_entrypoints=False))
    posts = {route.path for route in app.routes if "POST" in getattr(route, "methods", ())}
    for method, path in steps.OWN_ROUTES.items():
        assert "/api/v1" + path in posts, method


def test_every_route_is_in_the_openapi_document_and_no_operation_fails_without_a_key(server: Server) -> None:
    document = server.call("GET", "/api/openapi.json", user=None).json()
    assert document["openapi"].startswith("3.1")
    app = create_app(Klagomal("sqlite://", load_entrypoints=False))
    routes = {re.sub(r":\w+\}", "}", route.path) for route in app.routes if route.path.startswith("/api/v1")}
    assert routes - set(document["paths"]) == set()
    for path, operations in document["paths"].items():
        for method in operations:
            concrete = re.sub(r"\{\w+_id\}", "1", path.replace("{reference}", "2026-00001"))
            answer = server.call(method.upper(), concrete, user=None)
            assert answer.status < 500, (method, path, answer.body)
            if path.startswith("/api/v1"):
                is_problem(answer, 401, "unauthenticated")
    assert server.call("GET", "/api/docs", user=None).status == 200


# -- the rate limit on the routes without a key ----------------------------------------------


def _handlers(app: Any) -> list[tuple[str, str, Any]]:
    """``(path, method, handler)`` of every route of *app*."""
    return [
        (route.path, method, handler)
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        for method in sorted(handler.http_methods)
    ]


def _keyless(app: Any) -> list[tuple[str, str]]:
    """The routes of *app*'s API and Open311 that need no API key (no
    ``require_key`` guard).  The web interface's pages are not the API: a
    member of staff signs in to them, and its public forms have limits of
    their own (tests/test_ui_*.py).  Nor are ``/healthz``, ``/readyz`` and
    ``/metrics`` (klagomal.web.observe, tests/test_observe.py): a load
    balancer's probe must never get a 429, and they read the database at
    most once a second (readiness) or once in 15 s (the counts)."""
    return [
        (path, method)
        for path, method, h in _handlers(app)
        if require_key not in h.resolve_guards() and not _interface(path) and path not in OPERATIONS_PATHS
    ]


def _interface(path: str) -> bool:
    """Whether *path* is the web interface's (klagomal.web.ui), not the API's."""
    from klagomal.web import ui

    pages = {route.path for router in ui.routers() for route in router.routes}
    return path in pages


def _rate_limited(handler: Any) -> bool:
    return any(getattr(m, "middleware", None) is RateLimitMiddleware for m in handler.resolve_middleware())


@pytest.mark.parametrize("setting", ["3/minute", "", "av"])
def test_every_route_without_a_key_is_rate_limited_and_no_route_with_one(
    monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    """Read from the application, so that a public route added later cannot
    escape the limit (KLAGOMAL_RATE_LIMIT, docs/web.md)."""
    monkeypatch.setenv("KLAGOMAL_RATE_LIMIT", setting)  # "": the default, 120/minute
    app = create_app(Klagomal("sqlite://", load_entrypoints=False))
    keyless = set(_keyless(app))
    # Open311's and the OpenAPI documents', and every other route is the keyed API.
    for public in (("/api/openapi.json", "GET"), ("/api/docs", "GET"), ("/open311/v2/requests.json", "POST")):
        assert public in keyless
    assert {path.split("/")[1] for path, _m in keyless} == {"api", "open311"}
    assert [
        path
        for path, m, _h in _handlers(app)
        if (path, m) not in keyless
        and not path.startswith("/api/v1/")
        and not _interface(path)
        and path not in OPERATIONS_PATHS
    ] == []
    limited = {
        (path, method) for path, method, h in _handlers(app) if _rate_limited(h) and not _interface(path)
    }
    assert limited == (set() if setting == "av" else keyless)
    assert {path for path, _m, _h in _handlers(app) if path in OPERATIONS_PATHS} == set(OPERATIONS_PATHS)


def test_past_the_limit_every_route_without_a_key_answers_429_and_the_keyed_api_goes_on(
    tmp_path: Path,
) -> None:
    server = start_server(
        f"sqlite:///{tmp_path / 'klagomal.db'}", tmp_path, {"KLAGOMAL_RATE_LIMIT": "3/minute"}
    )
    try:
        # launch() waited for the first 200 of /api/openapi.json: that was the first request.
        for _ in range(2):
            assert server.call("GET", "/api/openapi.json", user=None).status == 200
        fourth = server.call("GET", "/api/openapi.json", user=None)
        problem = is_problem(fourth, 429, "too-many-requests")
        assert (problem["title"], problem["detail"], problem["instance"]) == (
            "För många anrop",
            "för många anrop från din adress; vänta och försök igen (se Retry-After)",
            "/api/openapi.json",
        )
        headers = {name.lower(): value for name, value in fourth.headers.items()}
        assert 0 < int(headers["retry-after"]) <= 60
        assert (headers["ratelimit-limit"], headers["ratelimit-remaining"]) == ("3", "0")
        # Open311 counts on its own: reading the documents took nothing from it.
        for _ in range(3):
            assert server.call("GET", "/open311/v2/services.json", user=None).status == 200
        # Now every route without a key, read from the application, answers 429.
        with Klagomal("sqlite://", load_entrypoints=False) as k:
            keyless = _keyless(create_app(k))
        assert len(keyless) > 20
        for path, method in keyless:
            answer = server.call(method, re.sub(r"\{\w+:\w+\}", "x", path), user=None)
            if method == "HEAD":  # an answer to HEAD has no body
                assert answer.status == 429, (method, path)
            elif path == "/open311" or path.startswith("/open311/"):  # Open311's own form (docs/open311.md)
                assert answer.status == 429, (method, path)
                assert "för många anrop" in answer.body.decode(), (method, path)
            else:
                is_problem(answer, 429, "too-many-requests")
        # The keyed API is limited per key, not by this: it goes on answering.
        for _ in range(5):
            assert server.call("GET", "/api/v1/whoami").status == 200
        assert server.call("GET", "/api/v1/cases").status == 200
    finally:
        stop(server)


# -- Idempotency-Key -----------------------------------------------------------------------


def _count(server: Server) -> int:
    total, cursor = 0, None
    while True:
        page = server.call(
            "GET", "/api/v1/cases?limit=500" + (f"&cursor={cursor}" if cursor else ""), user="nora.lind"
        ).json()
        total += len(page["cases"])
        cursor = page["next"]
        if cursor is None:
            return total


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer_and_creates_nothing(
    server: Server,
) -> None:
    before = _count(server)
    key = {"Idempotency-Key": f"reg-{time.time_ns()}"}
    body = {"kind": "forslag", "channel": "telefon", "text": "Fler bänkar.", "unit": HEMTJANST}
    first = server.call("POST", "/api/v1/cases", body, user="kontaktcenter", headers=key)
    assert first.status == 201, first.body
    again = server.call("POST", "/api/v1/cases", body, user="kontaktcenter", headers=key)
    assert (again.status, again.body) == (first.status, first.body)
    assert (again.headers["etag"], again.headers["location"]) == (
        first.headers["etag"],
        first.headers["location"],
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert _count(server) == before + 1
    other = server.call(
        "POST", "/api/v1/cases", {**body, "text": "Annat."}, user="kontaktcenter", headers=key
    )
    assert "användes redan för en annan begäran" in is_problem(other, 422, "invalid-input")["detail"]
    # Another system's key is another scope: the same key is free for it.
    assert server.call("POST", "/api/v1/cases", body, user="nora.lind", headers=key).status == 201
    assert _count(server) == before + 2


def test_a_retried_step_is_taken_once_and_a_refusal_stays_the_answer(server: Server) -> None:
    ref = register(server).json()["reference"]
    headers = {"If-Match": '"1"', "Idempotency-Key": f"ack-{time.time_ns()}"}
    first = server.call("POST", f"/api/v1/cases/{ref}/steps/acknowledge", {}, headers=headers)
    again = server.call("POST", f"/api/v1/cases/{ref}/steps/acknowledge", {}, headers=headers)
    assert first.status == again.status == 200
    assert first.body == again.body
    assert server.call("GET", f"/api/v1/cases/{ref}").headers["etag"] == '"2"'
    refused = {"If-Match": '"2"', "Idempotency-Key": f"close-{time.time_ns()}"}
    one = server.call("POST", f"/api/v1/cases/{ref}/steps/close", {"satisfied": True}, headers=refused)
    two = server.call("POST", f"/api/v1/cases/{ref}/steps/close", {"satisfied": True}, headers=refused)
    is_problem(one, 409, "refused-step")
    assert (two.status, two.body) == (one.status, one.body)


def test_concurrent_requests_with_one_key_create_one_case(server: Server) -> None:
    import concurrent.futures

    before = _count(server)
    key = {"Idempotency-Key": f"race-{time.time_ns()}"}
    body = {"kind": "berom", "channel": "telefon", "text": "Tack!", "unit": HEMTJANST}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda _: server.call("POST", "/api/v1/cases", body, user="kontaktcenter", headers=key),
                range(8),
            )
        )
    assert {a.status for a in answers} <= {201, 409}
    for busy in (a for a in answers if a.status == 409):
        assert is_problem(busy, 409, "in-progress")
        assert busy.headers["retry-after"] == "1"
    created = {a.body for a in answers if a.status == 201}
    assert len(created) == 1
    assert _count(server) == before + 1


# -- letters, records, reports, e-mail intake ----------------------------------------------


def test_letter_register_list_and_extract(server: Server) -> None:
    ref = register(server).json()["reference"]
    server.call("POST", f"/api/v1/cases/{ref}/steps/acknowledge", {}, headers={"If-Match": '"1"'})
    letter = server.call("GET", f"/api/v1/cases/{ref}/letter")
    assert letter.status == 200, letter.body
    assert letter.json()["reference"] == ref
    assert ref in letter.json()["subject"]
    today = time.strftime("%Y-%m-%d")
    entries = server.call("GET", f"/api/v1/register?start={today}&end={today}").json()
    assert ref in [e["reference"] for e in entries]
    extract = server.call("GET", f"/api/v1/cases/{ref}/extract").json()
    assert extract["reference"] == ref
    # The person is never named in what may be handed out to anyone.
    assert "Eva Svensson" not in json.dumps(extract, ensure_ascii=False)
    is_problem(server.call("GET", f"/api/v1/cases/{ref}/extract", user="kontaktcenter"), 403, "access-denied")


def test_reports_as_json_html_and_csv(server: Server) -> None:
    year = time.strftime("%Y")
    as_json = server.call("GET", f"/api/v1/reports?period={year}", user="nora.lind")
    assert as_json.status == 200, as_json.body
    assert as_json.json()["audience"] == "staff"
    html = server.call("GET", f"/api/v1/reports?period={year}&format=html", user="nora.lind")
    assert html.headers["content-type"].startswith("text/html")
    assert html.body.startswith(b"<!DOCTYPE html>")
    missing = is_problem(
        server.call("GET", f"/api/v1/reports?period={year}&format=csv", user="nora.lind"),
        422,
        "invalid-input",
    )
    table = missing["detail"].split("en av: ")[1].split(", ")[0]
    csv = server.call("GET", f"/api/v1/reports?period={year}&format=csv&table={table}", user="nora.lind")
    assert csv.headers["content-type"].startswith("text/csv")
    is_problem(server.call("GET", "/api/v1/reports?period=snart", user="nora.lind"), 422, "invalid-input")


def test_raw_email_intake_registers_once(server: Server) -> None:
    message = (
        "From: Eva Ek <eva@example.se>\r\nTo: synpunkter@exempelkommun.se\r\nSubject: Gatlampa\r\n"
        f"Message-ID: <{time.time_ns()}@example.se>\r\nDate: Sun, 06 Dec 2026 10:00:00 +0100\r\n"
        "\r\nLampan vid busshållplatsen lyser inte.\r\n"
    ).encode()
    headers = {"Content-Type": "message/rfc822"}
    first = server.call("POST", "/api/v1/intake/email", raw=message, user="kontaktcenter", headers=headers)
    assert first.status == 200, first.body
    assert first.json()["outcome"] == "registered"
    again = server.call("POST", "/api/v1/intake/email", raw=message, user="kontaktcenter", headers=headers)
    assert again.json()["outcome"] == "duplicate"
    assert again.json()["reference"] == first.json()["reference"]
    is_problem(
        server.call("POST", "/api/v1/intake/email", raw=message, user="sven.ek", headers=headers),
        403,
        "access-denied",
    )
    is_problem(
        server.call("POST", "/api/v1/intake/email", raw=b"", user="kontaktcenter", headers=headers),
        422,
        "invalid-input",
    )


def test_a_body_over_the_limit_is_413(server: Server) -> None:
    import http.client

    from klagomal.web.app import MAX_BODY

    # Announced too large: refused before a byte of it is read.
    host, port = server.base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest("POST", "/api/v1/intake/email")
        conn.putheader("Authorization", f"Bearer {server.keys['kontaktcenter']}")
        conn.putheader("Content-Type", "message/rfc822")
        conn.putheader("Content-Length", str(MAX_BODY + 1))
        conn.endheaders()
        response = conn.getresponse()
        answer = Answer(response.status, dict(response.headers.items()), response.read())
    finally:
        conn.close()
    is_problem(answer, 413, "too-large")


# -- the production command of docs/web.md ----------------------------------------------------


def production_command() -> list[str]:
    """The uvicorn command line docs/web.md shows under "Production"."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "web.md").read_text(encoding="utf-8")
    section = text[text.index("## Production") :]
    line = next(line.strip() for line in section.splitlines() if line.strip().startswith("uvicorn "))
    return line.split()


def test_the_documented_production_command_serves_with_several_workers(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    argv = production_command()
    assert argv[:3] == ["uvicorn", "--factory", "klagomal.web.app:create_app"]
    assert "--workers" in argv
    # The peer's own address, never X-Forwarded-For; no access log with the paths' secrets.
    assert {"--no-proxy-headers", "--no-access-log"} <= set(argv)
    db = new_database()
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        key = k.create_api_key("omar.ali", "Prov")[1]
    port = free_port()
    argv[argv.index("--port") + 1] = str(port)
    argv[argv.index("--workers") + 1] = "2"
    process = subprocess.Popen(
        [sys.executable, "-m", *argv],
        env=child_env(KLAGOMAL_DB=db),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    server = Server(f"http://127.0.0.1:{port}", db, {"omar.ali": key}, process)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, process.communicate()[1].decode()
            try:
                if server.call("GET", "/api/v1/whoami").status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "uvicorn did not answer"
            time.sleep(0.2)
        assert server.call("GET", "/api/v1/whoami").json()["id"] == "omar.ali"
    finally:
        stop(server)


def test_every_step_route_answers_without_a_5xx_and_a_routine_runs_through_them(server: Server) -> None:
    ref = register(server).json()["reference"]
    for step in steps.STEPS:
        version = server.call("GET", f"/api/v1/cases/{ref}", user="nora.lind").headers["etag"]
        answer = server.call(
            "POST", f"/api/v1/cases/{ref}/steps/{step}", {}, user="nora.lind", headers={"If-Match": version}
        )
        assert answer.status < 500, (step, answer.body)
        assert answer.status in (200, 403, 409, 422), (step, answer.body)
    # A whole routine through the generated bodies, each step on the version before it.
    ref = register(server).json()["reference"]
    routine: list[tuple[str, dict[str, Any]]] = [
        ("acknowledge", {}),
        ("inform", {"text": "Vi utreder saken."}),
        ("note", {"text": "Ringde enheten."}),
        ("postpone", {"respond_by": "2099-01-30", "reason": "Vi väntar på ett yttrande."}),
        ("correct-contact", {"phone": "070-123 45 67", "reason": "Personen ringde."}),
        ("locate", {"location": {"latitude": 63.1792, "longitude": 14.6357, "address": "Storgatan 1"}}),
        ("answer", {"mode": "skriftligt", "text": "Vi har pratat med personalen."}),
        ("close", {"satisfied": True}),
        # Exempelkommun publishes answered cases: the handler's step, and its withdrawal.
        ("publish", {}),
        ("unpublish", {"reason": "Personen bad oss ta bort det."}),
        ("publish", {}),
    ]
    version = 1
    for step, body in routine:
        done = server.call(
            "POST", f"/api/v1/cases/{ref}/steps/{step}", body, headers={"If-Match": f'"{version}"'}
        )
        assert done.status == 200, (step, done.body)
        version = done.json()["version"]
    final = server.call("GET", f"/api/v1/cases/{ref}").json()
    assert final["state"] == "avslutat"
    with Klagomal(server.db, load_entrypoints=False) as library:
        [published] = [p for p in library.published() if p.reference == ref]
    assert published.answer == "Vi har pratat med personalen."
    assert final["contact"]["phone"] == "070-123 45 67"
    assert final["location"]["address"] == "Storgatan 1"
    assert final["location"]["latitude"] == 63.1792


def test_if_match_star_takes_the_step_on_any_version_and_a_malformed_one_is_412(server: Server) -> None:
    ref = register(server).json()["reference"]
    step = f"/api/v1/cases/{ref}/steps/acknowledge"
    is_problem(server.call("POST", step, {}, headers={"If-Match": "gammal"}), 412, "conflict")
    done = server.call("POST", step, {}, headers={"If-Match": "*"})
    assert done.status == 200, done.body
    assert done.headers["etag"] == '"2"'


def test_a_protected_person_is_shown_only_to_a_user_who_may_see_protected_data(server: Server) -> None:
    contact = {"name": "Skyddad Person", "email": "skyddad@example.se", "protected": True}
    ref = register(server, contact=contact).json()["reference"]
    library = Klagomal(server.db, load_entrypoints=False)
    try:
        for user in ("omar.ali", "nora.lind"):
            expected = case_of(library.as_user(user), ref)
            shown = server.call("GET", f"/api/v1/cases/{ref}", user=user).json()
            assert shown["contact"] == expected, user
    finally:
        library.dispose()
    as_omar = json.dumps(
        server.call("GET", f"/api/v1/cases/{ref}/history", user="omar.ali").json(), ensure_ascii=False
    )
    assert "Skyddad Person" not in as_omar
    assert "skyddad@example.se" not in as_omar
    as_owner = server.call("GET", f"/api/v1/cases/{ref}", user="nora.lind").json()
    assert as_owner["contact"]["name"] == "Skyddad Person"


def case_of(k: Klagomal, ref: str) -> Any:
    """The contact of case *ref* as the library shows it to *k*'s user."""
    return k.converter.unstructure(k.get(ref))["contact"]


def test_a_case_is_registered_in_the_persons_language(server: Server) -> None:
    # lag 2009:724: the person's language is kept with the case, and their letters follow it.
    made = register(server, language="en")
    assert made.status == 201, made.body
    assert made.json()["language"] == "en"
    assert server.call("GET", made.headers["location"]).json()["language"] == "en"
    refused = is_problem(register(server, language="tlh"), 422, "invalid-input")
    assert "okänt språk 'tlh' (tillgängliga: en (English), sv (svenska))" in refused["detail"]

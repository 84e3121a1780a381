"""The HTTP API under load, and a worker killed in the middle of it (issue 21,
"Performance and faults").

Fifty concurrent clients for 60 s against PostgreSQL, each sending its
next request as soon as it has the answer to the last: 20 % registrations
(``POST /api/v1/cases`` with an ``Idempotency-Key``), 50 % case reads
(``GET /api/v1/cases/{reference}``), 30 % worklists
(``GET /api/v1/worklist``).  In the same run, on the same server:

* klagomal: the production command of docs/web.md (``uvicorn --factory
  klagomal.web.app:create_app --workers 2``, ``KLAGOMAL_DB``), on a fresh
  database made and dropped by the run; every request acts as the handler
  Omar Ali of Exempelkommun (his API key), who registers at his unit, reads
  its cases and has them in his worklist;
* the baseline (``bench/api_baseline.py``): a bare Litestar application
  under the same uvicorn with the same workers, on a database klagomal
  made (the same schema, indexes and seeded cases), running klagomal's own
  SQL directly: the statements klagomal's HTTP API runs for each kind of
  request, in the same transactions, captured from klagomal when the run
  starts (:func:`capture_sql`: one request of each kind through the real
  application, in a child process).  What it leaves out is what klagomal
  does in Python: access checks, rules, routing, deadlines, redaction,
  klagomal's JSON of a case.  This is the baseline the issue names ("doing
  the same SQL directly"), and the goals are measured against it;
* the floor: a bare Litestar application doing one statement per request
  on a table of its own (insert a row with the key in a unique column,
  select a row, select the first 100 open cases of the unit by date): no
  API key, no audit, no events.  The least the same answers can cost,
  reported for reference (the baseline of the runs before 2026-12-06).

All three start with the same number of cases (``--seed-cases``); the clients
read the seeded cases and those they registered.  Each side's answers are
counted (requests per second, p50/p95/p99 of each request's time, errors:
any answer but the expected status, or none) and compared as ratios
klagomal/baseline (and klagomal/floor).  Afterwards each registration the server acknowledged
(``201``) is looked for in the database by the marker its text carries
(``[bench KEY]``, KEY its ``Idempotency-Key``): it must be there exactly once.

Then the kill run (``--kill-duration``, 0 leaves it out): klagomal again under
the same load, and half way through one of uvicorn's two worker processes is
sent ``SIGKILL``; uvicorn starts a new one.  A request that gets no answer
(the connection reset or closed) is sent again on a new connection, a
registration with the same ``Idempotency-Key``, as a client of the API
should; a ``409`` with ``Retry-After`` is asked again after it.  What it
reports: how many requests lost their connection, and when (those sent
before the kill were in flight on the killed worker; those sent just after,
on a kept-alive connection to it that had not yet seen it close); that no
request went unanswered in the end and none got another error; and the same
exactly-once count of the registrations.

It exits with 1 when a goal is missed (unless ``--no-goals``): an error, a
registration stored other than once, throughput below
:data:`GOAL_THROUGHPUT` of the baseline's, p99 above :data:`GOAL_P99` times
the baseline's; in the kill run, a request unanswered or failed otherwise.
Results are recorded in docs/performance.md.

    python bench/api.py [--clients 50] [--duration 60] [--kill-duration 30] [--seed-cases 200]
                        [--server postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                        [--quick] [--no-goals]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

#: The goals of issue 21: throughput at least this share of the baseline's ...
GOAL_THROUGHPUT = 0.5
#: ... and p99 at most this many times the baseline's.
GOAL_P99 = 2.0

#: The mix: the share of each kind of request.
MIX = (("register", 0.2), ("read", 0.5), ("worklist", 0.3))

#: Who the clients act as, and the unit they register at.
USER = "omar.ali"
UNIT = "soc-aldre-hemtjanst-norr"

#: How long a server may take to start, and a request to be answered.
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 60.0

#: How often a request without an answer is sent again in the kill run.
RETRIES = 8

#: Seconds between one client's first connection and the next one's.
RAMP = 0.02

#: The bare application of the floor (a module written to a temporary folder).
FLOOR_APP = '''\
"""The floor of bench/api.py: one statement per request, the least the same answers can cost."""

import datetime as dt
import os
from typing import Any

import sqlalchemy as sa
from litestar import Litestar, Request, Response, get, post

engine = sa.create_engine(os.environ["BENCH_DB"])

INSERT = sa.text(
    "INSERT INTO cases (unit, state, received, text, idempotency_key) "
    "VALUES (:unit, 'registrerat', :received, :text, :key) "
    "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, unit, state, received, text"
)
BY_KEY = sa.text("SELECT id, unit, state, received, text FROM cases WHERE idempotency_key = :key")
BY_ID = sa.text("SELECT id, unit, state, received, text FROM cases WHERE id = :id")
WORKLIST = sa.text(
    "SELECT id, unit, state, received FROM cases WHERE unit = :unit AND state != 'avslutat' "
    "ORDER BY received, id LIMIT 100"
)


def as_json(row: Any) -> dict[str, Any]:
    return {
        "reference": f"2026-{row.id:05d}",
        "unit": row.unit,
        "state": row.state,
        "received": row.received.isoformat(),
        "text": getattr(row, "text", None),
    }


@post("/cases", status_code=201, sync_to_thread=True)
def register(request: Request[Any, Any, Any], data: dict[str, Any]) -> Response[Any]:
    key = request.headers.get("idempotency-key")
    values = {"unit": data["unit"], "received": dt.date.today(), "text": data["text"], "key": key}
    with engine.begin() as conn:
        row = conn.execute(INSERT, values).one_or_none()
        if row is None:
            row = conn.execute(BY_KEY, values).one()
    return Response(as_json(row), status_code=201)


@get("/cases/{reference:str}", sync_to_thread=True)
def read(reference: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return as_json(conn.execute(BY_ID, {"id": int(reference.split("-")[1])}).one())


@get("/worklist", sync_to_thread=True)
def worklist() -> dict[str, Any]:
    with engine.connect() as conn:
        return {"worklist": [as_json(row) for row in conn.execute(WORKLIST, {"unit": "UNIT_ID"})]}


def create_app() -> Litestar:
    return Litestar([register, read, worklist], path="/api/v1")
'''.replace("UNIT_ID", UNIT)

FLOOR_SCHEMA = """\
CREATE TABLE cases (
    id serial PRIMARY KEY,
    unit varchar(80) NOT NULL,
    state varchar(16) NOT NULL,
    received date NOT NULL,
    text text NOT NULL,
    idempotency_key varchar(200) UNIQUE
);
CREATE INDEX cases_unit_state ON cases (unit, state, received)
"""


def capture_sql(db: str, key: str, reference: str) -> dict[str, list[list[tuple[str, dict[str, Any]]]]]:
    """The SQL klagomal's HTTP API runs for each kind of request: one request
    of each, through the real application in the calling process, on *db*, as the
    key's user; the statements of each transaction with their values.  The
    second request of each kind is kept (the first also sets a pooled
    connection's lock wait, once per connection)."""
    import logging

    from litestar.testing import TestClient

    from klagomal.web.app import create_app, klagomal_from_environment

    logging.getLogger("httpx").setLevel(logging.WARNING)
    k = klagomal_from_environment({"KLAGOMAL_DB": db})
    log: list[tuple[str, dict[str, Any]] | None] = []

    def statement(conn: Any, cursor: Any, sql: str, values: Any, context: Any, many: bool) -> None:
        if not sql.startswith("SET "):
            log.append((" ".join(sql.split()), dict(values or {})))

    engine = k.storage.engine  # type: ignore[attr-defined]
    sa.event.listen(engine, "before_cursor_execute", statement)
    sa.event.listen(engine, "commit", lambda conn: log.append(None))
    headers = {"Authorization": f"Bearer {key}"}
    captured: dict[str, list[list[tuple[str, dict[str, Any]]]]] = {}
    try:
        with TestClient(create_app(k)) as http:
            for kind in (*captured_kinds(), *captured_kinds()):
                log.clear()
                if kind == "read":
                    answer = http.get(f"/api/v1/cases/{reference}", headers=headers)
                elif kind == "worklist":
                    answer = http.get("/api/v1/worklist", headers=headers)
                else:
                    answer = http.post(
                        "/api/v1/cases",
                        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                        json={
                            "kind": "klagomal",
                            "channel": "telefon",
                            "text": "Fångad för baslinjen.",
                            "unit": UNIT,
                        },
                    )
                assert answer.status_code in (200, 201), answer.text
                transactions: list[list[tuple[str, dict[str, Any]]]] = [[]]
                for entry in log:
                    if entry is None:
                        transactions.append([])
                    else:
                        transactions[-1].append(entry)
                captured[kind] = [t for t in transactions if t]
    finally:
        k.dispose()
    return captured


#: How the run captures klagomal's SQL: in a process of its own, since
#: starting the application in-process sets up Litestar's logging there,
#: whose handler outlives the stream it writes to (under pytest, a test's
#: captured stderr) and then fails every later log record.
CAPTURE = (
    "import pathlib, pickle, sys, api; "
    "pathlib.Path(sys.argv[4]).write_bytes(pickle.dumps(api.capture_sql(*sys.argv[1:4])))"
)


def captured_kinds() -> tuple[str, ...]:
    return tuple(kind for kind, _ in MIX)


# -- the HTTP client --------------------------------------------------------------------


class NoAnswer(Exception):
    """The connection closed or reset before the whole answer came."""


class Connection:
    """One kept-alive HTTP/1.1 connection, as a client of the API holds it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            assert self.reader is not None
            lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            if body is not None:
                lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
            self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b""))
            await self.writer.drain()
            head = await self.reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            status = int(status_line.split(" ", 2)[1])
            answer = {}
            for line in header_lines:
                if line:
                    name, _, value = line.partition(":")
                    answer[name.strip().lower()] = value.strip()
            if answer.get("transfer-encoding") == "chunked":
                content = b""
                while True:
                    size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                    content += await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
                content = content[:-2]
            else:
                content = await self.reader.readexactly(int(answer.get("content-length", "0")))
            if answer.get("connection") == "close":
                await self.close()
            return status, answer, content
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            await self.close()
            raise NoAnswer(repr(exc)) from exc


@attrs.define
class Done:
    """One request: what it was, when it was sent (seconds from the start),
    how long it took, its status (``None``: no answer in the end), and how
    many of its tries got no answer."""

    kind: str
    start: float
    seconds: float
    status: int | None
    lost: list[float] = attrs.field(factory=list)
    key: str | None = None
    reference: str | None = None
    replayed: bool = False


@attrs.define
class Side:
    """What a side needs to be called: its port, its headers, where cases are read."""

    name: str
    port: int
    headers: dict[str, str]
    references: list[str]


async def client(
    side: Side, number: int, run: str, until: float, t0: float, done: list[Done], retry: bool, seed: int
) -> None:
    rng = random.Random(seed)
    connection = Connection(side.port)
    # The clients connect one by one over the first second, as the kommun's
    # systems would, not in one burst: uvicorn's worker that wakes first
    # accepts a whole burst, and one worker would serve every client.
    await asyncio.sleep(number * RAMP)
    kinds = [kind for kind, _ in MIX]
    weights = [weight for _, weight in MIX]
    sequence = 0
    try:
        while time.monotonic() < until:
            kind = rng.choices(kinds, weights)[0]
            headers = dict(side.headers)
            body = None
            key = None
            if kind == "register":
                sequence += 1
                key = f"{run}-{number}-{sequence}"
                headers["Idempotency-Key"] = key
                method, path, expected = "POST", "/api/v1/cases", 201
                text = f"Ingen kom med maten i dag. [bench {key}]"
                body = json.dumps(
                    {"kind": "klagomal", "channel": "telefon", "text": text, "unit": UNIT}
                ).encode()
            elif kind == "read":
                method, path, expected = "GET", f"/api/v1/cases/{rng.choice(side.references)}", 200
            else:
                method, path, expected = "GET", "/api/v1/worklist", 200
            start = time.monotonic()
            record = Done(kind, start - t0, 0.0, None, key=key)
            for _try in range(RETRIES if retry else 1):
                try:
                    status, answer, content = await asyncio.wait_for(
                        connection.request(method, path, headers, body), REQUEST_TIMEOUT
                    )
                except (NoAnswer, TimeoutError):
                    record.lost.append(time.monotonic() - t0)
                    await connection.close()
                    continue
                if status == 409 and retry and "retry-after" in answer:
                    await asyncio.sleep(float(answer["retry-after"]))
                    continue
                record.status = status
                record.replayed = answer.get("idempotent-replayed") == "true"
                if status == expected and kind == "register":
                    record.reference = json.loads(content)["reference"]
                    side.references.append(record.reference)
                break
            record.seconds = time.monotonic() - start
            done.append(record)
            if record.status != expected and not retry:
                await asyncio.sleep(0.05)  # an error: do not spin on it
    finally:
        await connection.close()


async def load(side: Side, clients: int, seconds: float, run: str, retry: bool) -> list[Done]:
    """*clients* clients against *side* for *seconds*, each request sent
    again when it got no answer if *retry*."""
    done: list[Done] = []
    t0 = time.monotonic()
    tasks = [
        asyncio.create_task(client(side, n, run, t0 + seconds, t0, done, retry, hash((run, n))))
        for n in range(clients)
    ]
    await asyncio.gather(*tasks)
    return done


# -- the servers -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def production_command() -> list[str]:
    """The uvicorn command line docs/web.md shows under "Production"."""
    text = (ROOT / "docs" / "web.md").read_text(encoding="utf-8")
    section = text[text.index("## Production") :]
    return next(line.strip() for line in section.splitlines() if line.strip().startswith("uvicorn ")).split()


def server_command(factory: str, port: int, workers: int) -> list[str]:
    """The documented command with *factory*, *port* and *workers*."""
    argv = production_command()
    argv[argv.index("--factory") + 1] = factory
    argv[argv.index("--port") + 1] = str(port)
    argv[argv.index("--workers") + 1] = str(workers)
    return [sys.executable, "-m", *argv]


@contextmanager
def serving(argv: list[str], env: dict[str, str], tmp: Path, name: str) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp / f"{name}.log").open("wb")
    process = subprocess.Popen(argv, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    port = int(argv[argv.index("--port") + 1])
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{name} did not start: {(tmp / f'{name}.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/worklist", timeout=5):
                    pass
                break
            except urllib.error.HTTPError:
                break  # it answers (a 401 without a key)
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} did not answer within {START_TIMEOUT} s")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def workers_of(pid: int) -> list[int]:
    """uvicorn's worker processes: the children of *pid* it spawned."""
    found = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"multiprocessing" in cmdline and b"resource_tracker" not in cmdline:
            found.append(int(child))
    return found


def sockets(pid: int) -> int:
    """How many sockets process *pid* has open."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            count += os.readlink(fd).startswith("socket:")
    return count


def server_cpu(pid: int) -> float:
    """The CPU seconds (user and system) uvicorn's workers under *pid* have used."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for worker in workers_of(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAGOMAL_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])])
    env.update(extra)
    return env


@contextmanager
def database(admin: sa.Engine, name: str) -> Iterator[str]:
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# -- the sides ---------------------------------------------------------------------------


def seed_klagomal(db: str, cases: int) -> tuple[str, list[str]]:
    """The schema, Omar Ali's API key and *cases* cases at his unit."""
    from klagomal import Klagomal

    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        key = k.create_api_key(USER, "bench/api.py")[1]
        handler = k.as_user(USER)
        references = [
            handler.register(
                kind="klagomal", channel="telefon", unit=UNIT, text=f"Fall {n} före körningen."
            ).reference
            for n in range(cases)
        ]
    return key, references


def seed_floor(db: str, cases: int) -> list[str]:
    engine = sa.create_engine(db)
    try:
        with engine.begin() as conn:
            for statement in FLOOR_SCHEMA.split(";"):
                conn.exec_driver_sql(statement)
            if cases:
                conn.execute(
                    sa.text(
                        "INSERT INTO cases (unit, state, received, text) "
                        "VALUES (:unit, 'registrerat', CURRENT_DATE, :text)"
                    ),
                    [{"unit": UNIT, "text": f"Fall {n} före körningen."} for n in range(cases)],
                )
            ids = conn.execute(sa.text("SELECT id FROM cases ORDER BY id")).scalars().all()
    finally:
        engine.dispose()
    return [f"2026-{i:05d}" for i in ids]


def stored_marks(db: str, table: str = "cases") -> collections.Counter[str]:
    """How many cases carry each registration's marker."""
    engine = sa.create_engine(db)
    try:
        with engine.connect() as conn:
            texts = conn.execute(sa.text(f"SELECT text FROM {table} WHERE text LIKE '%[bench %'")).scalars()
            return collections.Counter(m for text in texts for m in re.findall(r"\[bench ([^\]]+)\]", text))
    finally:
        engine.dispose()


# -- the figures -------------------------------------------------------------------------


@attrs.frozen
class Figures:
    requests: int
    per_second: float
    p50: float
    p95: float
    p99: float
    errors: int
    by_kind: dict[str, tuple[int, float, float]]


def percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def figures(done: Sequence[Done], seconds: float) -> Figures:
    expected = {"register": 201, "read": 200, "worklist": 200}
    times = [d.seconds for d in done]
    by_kind = {}
    for kind, _ in MIX:
        mine = [d.seconds for d in done if d.kind == kind]
        by_kind[kind] = (len(mine), percentile(mine, 0.5), percentile(mine, 0.99))
    return Figures(
        requests=len(done),
        per_second=len(done) / seconds,
        p50=percentile(times, 0.5),
        p95=percentile(times, 0.95),
        p99=percentile(times, 0.99),
        errors=sum(1 for d in done if d.status != expected[d.kind]),
        by_kind=by_kind,
    )


def exactly_once(done: Sequence[Done], marks: collections.Counter[str]) -> tuple[int, int, int, int]:
    """(acknowledged, stored once, missing, stored more than once) of the
    acknowledged registrations, and the unacknowledged ones stored twice."""
    acknowledged = [d.key for d in done if d.kind == "register" and d.status == 201]
    once = sum(1 for key in acknowledged if marks[key] == 1)
    missing = sum(1 for key in acknowledged if marks[key] == 0)
    twice = sum(1 for count in marks.values() if count > 1)
    return len(acknowledged), once, missing, twice


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def side_lines(name: str, f: Figures) -> list[str]:
    lines = [
        f"{name:<9} {f.requests:7d} requests {f.per_second:8.1f}/s  p50 {ms(f.p50)}  p95 {ms(f.p95)}"
        f"  p99 {ms(f.p99)}  errors {f.errors}"
    ]
    for kind, (count, p50, p99) in f.by_kind.items():
        lines.append(f"  {kind:<9} {count:7d}  p50 {ms(p50)}  p99 {ms(p99)}")
    return lines


# -- the run -----------------------------------------------------------------------------


@attrs.frozen
class Options:
    server: str
    clients: int
    duration: float
    kill_duration: float
    seed_cases: int
    workers: int
    goals: bool


def parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--server",
        default=os.environ.get(
            "KLAGOMAL_TEST_POSTGRESQL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL server's administrative URL: the run makes its databases there and drops them",
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load on each side")
    parser.add_argument("--kill-duration", type=float, default=30.0, help="seconds of the kill run (0: none)")
    parser.add_argument("--seed-cases", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a few clients for a few seconds: does it work")
    parser.add_argument("--no-goals", action="store_true", help="report, and exit 0 whatever the figures")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.duration, args.kill_duration, args.seed_cases = 6, 4.0, 6.0, 20
    return Options(
        args.server,
        args.clients,
        args.duration,
        args.kill_duration,
        args.seed_cases,
        args.workers,
        not args.no_goals,
    )


def kill_run(
    side: Side, options: Options, process: subprocess.Popen[bytes], run: str
) -> tuple[list[Done], float, int]:
    """The load with one worker killed half way: the requests, when the
    kill was sent (seconds from the start), and the killed pid."""
    killed: list[tuple[float, int]] = []

    async def main() -> list[Done]:
        t0 = time.monotonic()

        async def kill() -> None:
            await asyncio.sleep(options.kill_duration / 2)
            # The worker holding the most connections (clients' and the database's).
            counts = {pid: sockets(pid) for pid in workers_of(process.pid)}
            pid = max(counts, key=lambda p: counts[p])
            os.kill(pid, signal.SIGKILL)
            print(f"  sockets open at the kill, by worker: {counts}", flush=True)
            killed.append((time.monotonic() - t0, pid))

        killer = asyncio.create_task(kill())
        done = await load(side, options.clients, options.kill_duration, run, True)
        await killer
        return done

    done = asyncio.run(main())
    return done, killed[0][0], killed[0][1]


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    admin = sa.create_engine(options.server, isolation_level="AUTOCOMMIT")
    stamp = f"{os.getpid()}_{int(time.time()) % 10**6}"
    run = uuid.uuid4().hex[:8]
    lines = [
        f"klagomal HTTP API vs a bare Litestar baseline running klagomal's SQL: {options.clients} clients,"
        f" {options.duration:g} s each,"
        f" {options.workers} uvicorn workers, PostgreSQL {admin.url.host}:{admin.url.port},"
        f" {options.seed_cases} cases to start with",
        "mix: " + ", ".join(f"{int(w * 100)} % {k}" for k, w in MIX),
        f"klagomal: {' '.join(server_command('klagomal.web.app:create_app', 8000, options.workers)[2:])}",
    ]
    print(*lines, sep="\n", flush=True)
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-api-") as folder:
        tmp = Path(folder)
        (tmp / "bench_api_floor.py").write_text(FLOOR_APP, encoding="utf-8")
        with (
            database(admin, f"bench_api_k_{stamp}") as kdb,
            database(admin, f"bench_api_b_{stamp}") as bdb,
            database(admin, f"bench_api_f_{stamp}") as fdb,
        ):
            key, references = seed_klagomal(kdb, options.seed_cases)
            base_key, base_refs = seed_klagomal(bdb, options.seed_cases)
            captured = tmp / "sql.pickle"
            subprocess.run(
                [sys.executable, "-c", CAPTURE, bdb, base_key, base_refs[0], str(captured)],
                env=child_env(PYTHONPATH=f"{ROOT / 'bench'}{os.pathsep}{child_env()['PYTHONPATH']}"),
                check=True,
                timeout=START_TIMEOUT,
            )
            floor_refs = seed_floor(fdb, options.seed_cases)
            paths = child_env()["PYTHONPATH"]
            env_b = child_env(
                BENCH_DB=bdb,
                BENCH_SQL=str(captured),
                PYTHONPATH=f"{ROOT / 'bench'}{os.pathsep}{paths}",
            )
            env_f = child_env(BENCH_DB=fdb, PYTHONPATH=f"{tmp}{os.pathsep}{paths}")
            env_k = child_env(KLAGOMAL_DB=kdb)
            results: dict[str, tuple[Figures, list[Done]]] = {}
            sides = (
                (Side("floor", free_port(), {}, floor_refs), "bench_api_floor:create_app", env_f),
                (
                    Side("baseline", free_port(), {"Authorization": f"Bearer {base_key}"}, base_refs),
                    "api_baseline:create_app",
                    env_b,
                ),
                (
                    Side("klagomal", free_port(), {"Authorization": f"Bearer {key}"}, references),
                    "klagomal.web.app:create_app",
                    env_k,
                ),
            )
            cpu: dict[str, float] = {}
            for side, factory, env in sides:
                argv_s = server_command(factory, side.port, options.workers)
                with serving(argv_s, env, tmp, side.name) as process:
                    before = server_cpu(process.pid)
                    done = asyncio.run(
                        load(side, options.clients, options.duration, f"{run}-{side.name}", False)
                    )
                    cpu[side.name] = server_cpu(process.pid) - before
                results[side.name] = (figures(done, options.duration), done)
            print()
            for name in ("klagomal", "baseline", "floor"):
                print(*side_lines(name, results[name][0]), sep="\n")
            for name in ("klagomal", "baseline", "floor"):
                per = cpu[name] / max(1, results[name][0].requests) * 1000
                print(f"{name} workers' CPU: {cpu[name]:.1f} s, {per:.2f} ms a request")
            k, b, f = results["klagomal"][0], results["baseline"][0], results["floor"][0]
            throughput = k.per_second / b.per_second
            p99 = k.p99 / b.p99
            print(
                f"klagomal/baseline: throughput {throughput:.2f}x, p50 {k.p50 / b.p50:.2f}x,"
                f" p95 {k.p95 / b.p95:.2f}x, p99 {p99:.2f}x"
            )
            print(
                f"klagomal/floor: throughput {k.per_second / f.per_second:.2f}x, p50 {k.p50 / f.p50:.2f}x,"
                f" p95 {k.p95 / f.p95:.2f}x, p99 {k.p99 / f.p99:.2f}x (for reference: the goals are"
                " against the baseline)"
            )
            for name, db in (("klagomal", kdb), ("baseline", bdb), ("floor", fdb)):
                acknowledged, once, missing, twice = exactly_once(results[name][1], stored_marks(db))
                print(
                    f"{name} registrations: {acknowledged} acknowledged, {once} stored exactly once,"
                    f" {missing} missing, {twice} stored more than once"
                )
                if once != acknowledged or twice:
                    failures.append(f"{name}: a registration stored other than once")
                if results[name][0].errors:
                    failures.append(f"{name}: {results[name][0].errors} errors")
            if throughput < GOAL_THROUGHPUT:
                failures.append(f"throughput {throughput:.2f}x < {GOAL_THROUGHPUT}x")
            if p99 > GOAL_P99:
                failures.append(f"p99 {p99:.2f}x > {GOAL_P99}x")
            if options.kill_duration > 0:
                port_k = free_port()
                argv_k = server_command("klagomal.web.app:create_app", port_k, options.workers)
                side = Side("klagomal", port_k, {"Authorization": f"Bearer {key}"}, references)
                with serving(argv_k, env_k, tmp, "klagomal-kill") as process:
                    done, at, pid = kill_run(side, options, process, f"{run}-kill")
                f = figures(done, options.kill_duration)
                lost = [d for d in done if d.lost]
                before = sum(1 for d in lost if d.start < at)
                unanswered = [d for d in done if d.status is None]
                other = [d for d in done if d.status is not None and d.status >= 400]
                late = max((t - at for d in lost for t in d.lost), default=0.0)
                acknowledged, once, missing, twice = exactly_once(done, stored_marks(kdb))
                print()
                print(
                    f"kill run: {options.kill_duration:g} s, SIGKILL to worker {pid} at {at:.1f} s;"
                    f" {f.requests} requests, {f.per_second:.1f}/s, p99 {ms(f.p99).strip()}"
                )
                print(
                    f"  lost their connection: {len(lost)} requests ({before} sent before the kill, in flight"
                    f" on the killed worker; {len(lost) - before} sent after it on a kept-alive connection"
                    " to it),"
                    f" all within {late * 1000:.0f} ms of the kill"
                )
                retried_registrations = [d for d in lost if d.kind == "register"]
                replayed = sum(1 for d in retried_registrations if d.replayed)
                print(
                    f"  retried with the same Idempotency-Key: {len(retried_registrations)} registrations"
                    f" ({replayed} answered from the key's row: written before the kill, not written again);"
                    f" unanswered in the end: {len(unanswered)}; other errors: {len(other)}"
                )
                print(
                    f"  registrations: {acknowledged} acknowledged, {once} stored exactly once,"
                    f" {missing} missing, {twice} stored more than once"
                )
                if unanswered or other:
                    failures.append(f"kill run: {len(unanswered)} unanswered, {len(other)} errors")
                if once != acknowledged or twice:
                    failures.append("kill run: a registration stored other than once")
                if len(lost) > options.clients:
                    failures.append("kill run: more requests lost than clients")
    admin.dispose()
    print()
    for failure in failures:
        print(f"FAIL {failure}")
    if not failures:
        print("PASS (0 errors, exactly once, throughput and p99 within the goals)")
    return 1 if failures and options.goals else 0


if __name__ == "__main__":
    sys.exit(main())

"""A worker killed between a request's write and its answer (issue 21,
"Performance and faults"): the retry with the same ``Idempotency-Key`` gets
a correct answer and the step is not done twice.

The server runs as a real process: the application of ``create_app`` under
uvicorn, with a plugin whose ``klagomal_on_event`` (called after the step's
transaction committed and before the answer is made and stored) sends the
worker ``SIGKILL`` for a request that asks for it.  The retry goes to a new
``klagomal serve`` on the same database, as after a restart.  The facade's
side (:meth:`klagomal.Klagomal.idempotent_request`): its answers are bound
to the acting user, and one is needed (R27).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from klagomal import Klagomal
from klagomal.core.errors import KlagomalError
from klagomal.storage.tables import events, idempotency_keys

pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")

from tests.test_web_server import START_TIMEOUT, Server, child_env, free_port, stop

HEMTJANST = "soc-aldre-hemtjanst-norr"

#: A text that makes the killing plugin kill the worker that wrote it.
DIE = "KILL-THE-WORKER"

#: The application with the killing plugin, as uvicorn's factory.
KILLER_APP = textwrap.dedent(
    f"""
    import os
    import signal

    from klagomal import Klagomal, hookimpl
    from klagomal.web.app import create_app


    class Killer:
        @hookimpl
        def klagomal_on_event(self, klagomal, case, event):
            if {DIE!r} in case.text:
                os.kill(os.getpid(), signal.SIGKILL)


    def make():
        k = Klagomal(os.environ["KLAGOMAL_DB"], plugins=[Killer()], load_entrypoints=False)
        return create_app(k)
    """
)


def _wait(process: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise AssertionError(process.communicate()[1].decode())
        try:
            with urllib.request.urlopen(f"{base}/api/openapi.json", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, "the server did not answer"
        time.sleep(0.1)


def _start(argv: list[str], db: str, tmp: Path, keys: dict[str, str]) -> Server:
    port = free_port()
    process = subprocess.Popen(
        [*argv, "--port", str(port)],
        cwd=tmp,
        env=child_env(KLAGOMAL_DB=db, PYTHONPATH=f"{tmp}{os.pathsep}{child_env()['PYTHONPATH']}"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    server = Server(f"http://127.0.0.1:{port}", db, keys, process)
    _wait(process, server.base)
    return server


def _killing(db: str, tmp: Path, keys: dict[str, str]) -> Server:
    (tmp / "killer_app.py").write_text(KILLER_APP, encoding="utf-8")
    argv = [sys.executable, "-m", "uvicorn", "--factory", "killer_app:make", "--host", "127.0.0.1"]
    return _start(argv, db, tmp, keys)


def _plain(db: str, tmp: Path, keys: dict[str, str]) -> Server:
    return _start([sys.executable, "-m", "klagomal.cli", "--db", db, "serve"], db, tmp, keys)


def _killed(
    server: Server, method: str, path: str, body: object, headers: dict[str, str], user: str = "omar.ali"
) -> None:
    """Send a request that kills its worker: no answer, the process gone by SIGKILL."""
    with pytest.raises((ConnectionError, urllib.error.URLError)):
        server.call(method, path, body, headers=headers, user=user)
    assert server.process.wait(timeout=30) == -signal.SIGKILL


def _rows(db: str) -> tuple[int, int, list[tuple[int | None, str | None]]]:
    """The cases with the marker, their events, and the idempotency rows."""
    engine = sa.create_engine(db)
    try:
        with engine.connect() as conn:
            cases = conn.execute(sa.text("SELECT reference FROM cases")).scalars().all()
            count = conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()
            rows = conn.execute(sa.select(idempotency_keys.c.status, idempotency_keys.c.headers)).all()
        return len(cases), count, [(r.status, r.headers) for r in rows]
    finally:
        engine.dispose()


def test_a_retry_after_the_worker_was_killed_after_its_write_gets_the_answer_once(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    db = new_database()
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        keys = {user: k.create_api_key(user, "E-tjänst")[1] for user in ("omar.ali", "kontaktcenter")}
    body = {"kind": "klagomal", "channel": "telefon", "text": f"Ingen kom. {DIE}", "unit": HEMTJANST}
    register = {"Idempotency-Key": "reg-1"}
    killing = _killing(db, tmp_path, keys)
    try:
        # The contact centre registers at a unit whose cases it may not read.
        _killed(killing, "POST", "/api/v1/cases", body, register, "kontaktcenter")
    finally:
        stop(killing)
    # The write committed with its outcome, and no answer was stored.
    cases, count, rows = _rows(db)
    assert (cases, count) == (1, 1)
    assert [status for status, _ in rows] == [None]
    plain = _plain(db, tmp_path, keys)
    try:
        retry = plain.call("POST", "/api/v1/cases", body, headers=register, user="kontaktcenter")
        assert retry.status == 201, retry.body
        assert retry.headers["idempotent-replayed"] == "true"
        reference = retry.json()["reference"]
        assert retry.headers["location"] == f"/api/v1/cases/{reference}"
        assert plain.call("GET", f"/api/v1/cases/{reference}", user="kontaktcenter").status == 403
        read = plain.call("GET", f"/api/v1/cases/{reference}")
        assert retry.json() == read.json()
        assert retry.headers["etag"] == read.headers["etag"] == '"1"'
        again = plain.call("POST", "/api/v1/cases", body, headers=register, user="kontaktcenter")
        assert (again.status, again.body) == (retry.status, retry.body)
        assert _rows(db)[:2] == (1, 1)
        # The same key with another body is still another request.
        other = plain.call(
            "POST", "/api/v1/cases", {**body, "text": "Annat."}, headers=register, user="kontaktcenter"
        )
        assert other.status == 422
    finally:
        stop(plain)
    # A step, killed after its event: the retry's answer is the case after it, and one event.
    killing = _killing(db, tmp_path, keys)
    step = {"Idempotency-Key": "ack-1", "If-Match": '"1"'}
    path = f"/api/v1/cases/{reference}/steps/acknowledge"
    try:
        _killed(killing, "POST", path, {}, step)
    finally:
        stop(killing)
    assert _rows(db)[:2] == (1, 2)
    plain = _plain(db, tmp_path, keys)
    try:
        retry = plain.call("POST", path, {}, headers=step)
        assert retry.status == 200, retry.body
        assert retry.headers["etag"] == '"2"'
        assert retry.json() == plain.call("GET", f"/api/v1/cases/{reference}").json()
        assert plain.call("POST", path, {}, headers=step).body == retry.body
    finally:
        stop(plain)
    assert _rows(db)[:2] == (1, 2)


def _answer_of(k: Klagomal, user: str) -> object:
    pending = k.as_user(user).idempotent_request("system", "nyckel", "fraga")
    return pending.found()


def test_idempotent_answers_are_the_acting_users_own(
    new_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KLAGOMAL_USER", raising=False)
    db = new_database()
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        mine = k.as_user("omar.ali").idempotent_request("system", "nyckel", "fraga")
        assert mine.keep(201, "{}", b"Omars svar") is None
        assert _answer_of(k, "omar.ali") == mine.found()
        # The same scope and key, another user: nothing of Omar's.
        assert _answer_of(k, "sven.ek") is None
        with pytest.raises(KlagomalError):
            Klagomal(db, load_entrypoints=False, user=None).idempotent_request("system", "nyckel", "fraga")


def test_answers_are_purged_by_the_disposal_run_once_expired(new_database: Callable[[], str]) -> None:
    import datetime as dt

    from klagomal.storage.sql.idempotency import KEPT

    db = new_database()
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        engine = sa.create_engine(db)
        with engine.begin() as conn:
            for key, created in (("gammal", now - KEPT - dt.timedelta(minutes=1)), ("ny", now)):
                row = {"scope": "s", "key": key, "request": "r", "status": 201, "headers": "{}"}
                conn.execute(sa.insert(idempotency_keys).values(**row, body=b"svar", created=created))
        engine.dispose()
        assert len(_rows(db)[2]) == 2
        k.run_disposal()
        assert [status for status, _ in _rows(db)[2]] == [201]


# The storage's rule, whatever the order of the requests' writes: the first
# answer stored under a key stays, and a store is told whether its answer is
# the key's or is given the one that is.
_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["outcome", "answer", "rebuilt"]), st.sampled_from(["r1", "r2"]), st.integers(1, 3)
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_STEPS)
def test_the_first_answer_stored_under_a_key_stays(steps: list[tuple[str, str, int]], tmp_path: Path) -> None:
    import datetime as dt

    from klagomal.storage.sql.idempotency import IdempotencyKeyTaken, Outcome

    db = f"sqlite:///{tmp_path / f'keys-{uuid.uuid4().hex}.db'}"
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        at = dt.datetime(2026, 3, 2, 12, 0)
        first: tuple[str, int] | None = None
        for what, request, n in steps:
            with k.storage.transaction() as uow:
                if what == "outcome":
                    try:
                        uow.record_idempotent_outcome("s", "k", request, Outcome("2026-00001", n), at)
                    except IdempotencyKeyTaken:
                        continue
                    continue
                answer = (200 + n, "{}", f"{request} {n}".encode())
                kept = uow.store_idempotent_answer(
                    "s", "k", request, answer, at, on_outcome=what == "rebuilt"
                )
            if first is None and kept is None:
                first = (request, n)
            if kept is not None:
                # Told what the key holds instead: its answer, or another's outcome.
                assert kept.status is not None or kept.request != request or what != "rebuilt"
            with k.storage.snapshot() as uow:
                found = uow.idempotent_answer("s", "k", at)
            assert found is not None
            if first is not None:
                assert (found.request, found.status, found.body) == (
                    first[0],
                    200 + first[1],
                    f"{first[0]} {first[1]}".encode(),
                )

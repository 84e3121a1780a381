"""Open311's ``POST requests`` with ``Idempotency-Key`` when the worker is
killed between the write and the answer (issue 21, "Performance and
faults"): the retry gets the answer the first request would have had, byte
for byte as a later retry gets it, and the case is registered once.

The servers are those of :mod:`tests.test_web_idempotency_kill`: the
application under uvicorn with a plugin that sends its worker ``SIGKILL``
after the step's transaction committed, then a new ``klagomal serve`` on
the same database, as after a restart.
"""

from __future__ import annotations

import signal
import urllib.error
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from klagomal import Klagomal
from klagomal.storage.tables import idempotency_keys

pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")

from tests.test_open311 import http
from tests.test_web_idempotency_kill import DIE, HEMTJANST, _killing, _plain
from tests.test_web_server import stop

from klagomal.web.open311 import PREFIX, token_of


def _state(db: str) -> tuple[list[str], list[int | None]]:
    """The cases' references, and the statuses the idempotency keys hold."""
    engine = sa.create_engine(db)
    try:
        with engine.connect() as conn:
            cases = list(conn.execute(sa.text("SELECT reference FROM cases ORDER BY reference")).scalars())
            statuses = list(conn.execute(sa.select(idempotency_keys.c.status)).scalars())
        return cases, statuses
    finally:
        engine.dispose()


def test_a_retry_after_the_worker_was_killed_after_its_write_registers_once(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    db = new_database()
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        api_key = k.create_api_key("omar.ali", "FixaMinGata")[1]
    form = {
        "api_key": api_key,
        "service_code": "klagomal.bemotande",
        "address_string": "Drottninggatan 1, Exempelstad",
        "description": f"Personalen var otrevlig. {DIE}",
        "attribute[enhet]": HEMTJANST,
    }
    known: set[str] = set()
    for fmt in ("json", "xml"):
        path = f"{PREFIX}/v2/requests.{fmt}"
        headers = {"Idempotency-Key": f"fixamingata-{fmt}"}
        killing = _killing(db, tmp_path, {})
        try:
            with pytest.raises((ConnectionError, urllib.error.URLError)):
                http("POST", killing.base + path, form, headers)
            assert killing.process.wait(timeout=30) == -signal.SIGKILL
        finally:
            stop(killing)
        # The case was written with its outcome under the key, and no answer kept.
        cases, statuses = _state(db)
        (reference,) = set(cases) - known
        assert statuses.count(None) == 1
        plain = _plain(db, tmp_path, {})
        try:
            retry = http("POST", plain.base + path, form, headers)
            assert retry.status == 200, retry.body
            assert retry.headers["idempotent-replayed"] == "true"
            assert retry.headers["content-type"].startswith(
                "application/json" if fmt == "json" else "text/xml"
            )
            if fmt == "json":
                (posted,) = retry.json()
                assert posted == {
                    "service_request_id": reference,
                    "service_notice": f"Tack! Ärendet har diarienummer {reference}.",
                    "account_id": None,
                    "klagomal_token": token_of(reference),
                }
            else:
                root = retry.xml()
                assert root.findtext("request/service_request_id") == reference
                assert root.findtext("request/klagomal_token") == token_of(reference)
            again = http("POST", plain.base + path, form, headers)
            assert (again.status, again.body) == (retry.status, retry.body)
            # Another request under the key is refused, in Open311's form.
            other = http("POST", plain.base + path, {**form, "description": "Annat."}, headers)
            assert other.status == 422
            assert "annan begäran" in other.body.decode()
        finally:
            stop(plain)
        # One case for the request, and its answer now kept under the key.
        cases, statuses = _state(db)
        assert set(cases) == known | {reference}
        assert None not in statuses
        known = set(cases)

"""Retries of the two POSTs whose answer is not a case's alone: a webhook
subscription and an upload (``Idempotency-Key``, docs/api.md).

A subscription writes no case event, so its write records the
subscription itself as the key's outcome, in the same transaction; its
answer holds the signing secret, so it is never stored with the key: every
retry makes it again from the subscription.  An upload's retry names the
attachment its own write stored, not the newest, which may be another
upload's since.  Both with a worker killed between the write and the
answer (as tests/test_web_idempotency_kill.py does for case steps), and
with a worker that lived.
"""

from __future__ import annotations

import json
import signal
import sys
import textwrap
import urllib.error
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from klagomal import Klagomal
from klagomal.core.errors import AccessDeniedError
from klagomal.storage.tables import attachments, idempotency_keys, webhook_subscriptions

pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")

from tests.test_web_endpoints import upload
from tests.test_web_idempotency_kill import _killed, _plain, _start
from tests.test_web_server import Server, register, server, stop

__all__ = ["server"]  # tests/test_web_server.py's fixture, for the tests without a kill

#: A text that makes the killing application kill the worker that wrote it.
DIE = "KILL-THE-WORKER"

#: The application under uvicorn, with a worker that dies by ``SIGKILL``
#: after a write and before its answer: after a subscription whose URL
#: holds :data:`DIE` was committed, and after the event of an upload whose
#: file name does (``klagomal_on_event`` runs once the step committed).
KILLER_APP = textwrap.dedent(
    f"""
    import os
    import signal

    from klagomal import Klagomal, hookimpl
    from klagomal.notices.webhook_service import WebhookService
    from klagomal.web.app import create_app

    _subscribe = WebhookService.subscribe


    def subscribe(self, url, **options):
        made = _subscribe(self, url, **options)
        if {DIE!r} in url:
            os.kill(os.getpid(), signal.SIGKILL)
        return made


    WebhookService.subscribe = subscribe


    class Killer:
        @hookimpl
        def klagomal_on_event(self, klagomal, case, event):
            if {DIE!r} in (getattr(event.data, "filename", None) or ""):
                os.kill(os.getpid(), signal.SIGKILL)


    def make():
        k = Klagomal(os.environ["KLAGOMAL_DB"], plugins=[Killer()], load_entrypoints=False)
        return create_app(k)
    """
)


def _killing(db: str, tmp: Path, keys: dict[str, str]) -> Server:
    (tmp / "retry_killer_app.py").write_text(KILLER_APP, encoding="utf-8")
    argv = [sys.executable, "-m", "uvicorn", "--factory", "retry_killer_app:make", "--host", "127.0.0.1"]
    return _start(argv, db, tmp, keys)


def _select(db: str, query: sa.Select[Any]) -> list[sa.Row[Any]]:
    engine = sa.create_engine(db)
    try:
        with engine.connect() as conn:
            return list(conn.execute(query).all())
    finally:
        engine.dispose()


def _keys_rows(db: str) -> list[sa.Row[Any]]:
    return _select(
        db, sa.select(idempotency_keys.c.status, idempotency_keys.c.headers, idempotency_keys.c.body)
    )


def _holds(rows: list[sa.Row[Any]], secret: str) -> bool:
    """Whether any idempotency row holds *secret*."""
    return any(secret in (row.headers or "") or secret.encode() in (row.body or b"") for row in rows)


def test_a_killed_subscription_is_made_once_and_its_retry_shows_its_secret(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    db = new_database()
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        keys = {user: k.create_api_key(user, "Ärendesystem")[1] for user in ("nora.lind", "omar.ali")}
    body = {"url": f"http://127.0.0.1:9/hook/{DIE}", "user": "omar.ali", "events": None}
    key = {"Idempotency-Key": "sub-1"}
    killing = _killing(db, tmp_path, keys)
    try:
        _killed(killing, "POST", "/api/v1/webhooks", body, key, "nora.lind")
    finally:
        stop(killing)
    # The subscription committed with its outcome under the key; no answer,
    # and the secret only in the subscription.
    (made,) = _select(db, sa.select(webhook_subscriptions))
    rows = _keys_rows(db)
    assert [(row.status, json.loads(row.headers)) for row in rows] == [(None, {"subscription": made.id})]
    assert made.secret.startswith("whsec_")
    assert not _holds(rows, made.secret)
    plain = _plain(db, tmp_path, keys)
    try:
        retry = plain.call("POST", "/api/v1/webhooks", body, headers=key, user="nora.lind")
        assert retry.status == 201, retry.body
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.headers["location"] == f"/api/v1/webhooks/{made.id}"
        (listed,) = plain.call("GET", "/api/v1/webhooks", user="nora.lind").json()["webhooks"]
        assert retry.json() == {**listed, "secret": made.secret}
        again = plain.call("POST", "/api/v1/webhooks", body, headers=key, user="nora.lind")
        assert (again.status, again.body, again.headers["location"]) == (
            201,
            retry.body,
            retry.headers["location"],
        )
        # Another user with the key is another caller: a new request, refused by the library.
        other = plain.call("POST", "/api/v1/webhooks", body, headers=key, user="omar.ali")
        assert other.status == 403
        # Removed since: the retry still names it, as it is now, but its secret signs nothing more.
        assert plain.call("DELETE", f"/api/v1/webhooks/{made.id}", user="nora.lind").status == 200
        late = plain.call("POST", "/api/v1/webhooks", body, headers=key, user="nora.lind")
        assert late.status == 201, late.body
        assert late.json()["id"] == made.id
        assert late.json()["removed_at"] is not None
        assert late.json()["secret"] is None
    finally:
        stop(plain)
    assert len(_select(db, sa.select(webhook_subscriptions))) == 1
    assert not _holds(_keys_rows(db), made.secret)


def test_a_killed_upload_is_stored_once_and_its_retry_names_its_own_attachment(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    db = new_database()
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        keys = {user: k.create_api_key(user, "E-tjänst")[1] for user in ("omar.ali", "kontaktcenter")}
    mine = b"Protokoll fran mottet.\n"
    name = f"protokoll-{DIE}.txt"
    key = {"Idempotency-Key": "upload-1"}
    killing = _killing(db, tmp_path, keys)
    try:
        reference = register(killing).json()["reference"]
        with pytest.raises((ConnectionError, urllib.error.URLError)):
            upload(killing, reference, mine, name, "text/plain", if_match='"1"', headers=key)
        assert killing.process.wait(timeout=30) == -signal.SIGKILL
    finally:
        stop(killing)
    ((stored_id,),) = _select(db, sa.select(attachments.c.id))
    assert [row.status for row in _keys_rows(db)] == [None]
    plain = _plain(db, tmp_path, keys)
    try:
        # Another upload comes in before the retry: the case's newest attachment is now its.
        theirs = upload(plain, reference, b"Ett annat brev.\n", "brev.txt", "text/plain", if_match='"2"')
        assert theirs.status == 201, theirs.body
        assert theirs.headers["location"] != f"/api/v1/cases/{reference}/attachments/{stored_id}"
        retry = upload(plain, reference, mine, name, "text/plain", if_match='"1"', headers=key)
        assert retry.status == 201, retry.body
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.headers["location"] == f"/api/v1/cases/{reference}/attachments/{stored_id}"
        # The case as this upload left it: version 2, not the 3 of the other upload.
        assert retry.headers["etag"] == '"2"'
        assert retry.json()["version"] == 2
        downloaded = plain.call("GET", retry.headers["location"])
        assert downloaded.body == mine
        again = upload(plain, reference, mine, name, "text/plain", if_match='"1"', headers=key)
        assert (again.status, again.body) == (retry.status, retry.body)
        assert again.headers["location"] == retry.headers["location"]
    finally:
        stop(plain)
    assert len(_select(db, sa.select(attachments.c.id))) == 2


# -- with a worker that lived -------------------------------------------------------------


def test_a_retried_subscription_gets_the_first_answer_and_subscribes_once(server: Server) -> None:
    body = {"url": f"http://127.0.0.1:9/hook/{uuid.uuid4().hex[:8]}", "user": "omar.ali", "events": None}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = server.call("POST", "/api/v1/webhooks", body, user="nora.lind", headers=key)
    assert first.status == 201, first.body
    secret = first.json()["secret"]
    assert secret.startswith("whsec_")
    again = server.call("POST", "/api/v1/webhooks", body, user="nora.lind", headers=key)
    assert (again.status, again.body) == (201, first.body)
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    listed = server.call("GET", "/api/v1/webhooks", user="nora.lind").json()["webhooks"]
    assert [s["url"] for s in listed].count(body["url"]) == 1
    # The key keeps which subscription, never its secret.
    rows = _keys_rows(server.db)
    assert not _holds(rows, secret)
    assert {"subscription": first.json()["id"]} in [json.loads(r.headers) for r in rows if r.status is None]
    # A refusal is kept as it is: the same key gets it again, and nothing is made.
    refused_key = {"Idempotency-Key": str(uuid.uuid4())}
    bad = {**body, "user": "okand"}
    refused = server.call("POST", "/api/v1/webhooks", bad, user="nora.lind", headers=refused_key)
    assert refused.status == 422
    assert (
        server.call("POST", "/api/v1/webhooks", bad, user="nora.lind", headers=refused_key).body
        == refused.body
    )


def test_a_retried_upload_names_its_own_attachment_after_another_upload(server: Server) -> None:
    reference = register(server).json()["reference"]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = upload(server, reference, b"Mitt brev.\n", "mitt.txt", "text/plain", if_match='"1"', headers=key)
    assert first.status == 201, first.body
    other = upload(server, reference, b"Ett annat brev.\n", "annat.txt", "text/plain", if_match='"2"')
    assert other.status == 201, other.body
    again = upload(server, reference, b"Mitt brev.\n", "mitt.txt", "text/plain", if_match='"1"', headers=key)
    assert (again.status, again.body) == (201, first.body)
    assert again.headers["location"] == first.headers["location"] != other.headers["location"]
    assert again.headers["etag"] == first.headers["etag"] == '"2"'
    listed = server.call("GET", f"/api/v1/cases/{reference}/attachments").json()["attachments"]
    assert [a["filename"] for a in listed] == ["mitt.txt", "annat.txt"]


def test_the_outcome_of_a_subscription_is_made_again_only_for_an_administrator(
    new_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from klagomal.app import SubscriptionOutcome

    monkeypatch.delenv("KLAGOMAL_USER", raising=False)
    db = new_database()
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        pending = k.idempotent_request("system", "nyckel", "fraga")
        with pending.running():
            made = k.webhooks.subscribe("http://127.0.0.1:9/hook", user="omar.ali")
        assert pending.recorded
        found = pending.found()
        assert found is not None
        assert (found.status, found.outcome) == (None, SubscriptionOutcome(made.id))
        assert pending.subscription(SubscriptionOutcome(made.id)) == made
        # The same key in another request: rolled back, nothing subscribed.
        from klagomal.app import IdempotencyKeyTaken

        second = k.idempotent_request("system", "nyckel", "fraga")
        with pytest.raises(IdempotencyKeyTaken), second.running():
            k.webhooks.subscribe("http://127.0.0.1:9/annan", user="omar.ali")
        assert [s.id for s in k.webhooks.subscriptions()] == [made.id]
        omar = k.as_user("omar.ali").idempotent_request("system", "nyckel", "fraga")
        with pytest.raises(AccessDeniedError):
            omar.subscription(SubscriptionOutcome(made.id))


def test_the_attachment_of_an_upload_is_its_own_not_the_newest(new_database: Callable[[], str]) -> None:
    from klagomal.app import Outcome

    db = new_database()
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        omar = k.as_user("omar.ali")
        case = omar.register(
            kind="klagomal", channel="telefon", text="Ingen kom.", unit="soc-aldre-hemtjanst-norr"
        )
        pending = omar.idempotent_request("system", "nyckel", "fraga")
        with pending.running():
            attached = omar.attach(case.reference, b"Mitt brev.\n", filename="mitt.txt")
        omar.attach(case.reference, b"Ett annat brev.\n", filename="annat.txt")
        found = pending.found()
        assert found is not None
        assert found.outcome == Outcome(case.reference, attached.version)
        mine, theirs = omar.attachments(case.reference)
        assert pending.attachment(found.outcome) == mine.id != theirs.id
        assert pending.written(found.outcome).version == attached.version
        # An outcome that is no upload names no attachment.
        assert pending.attachment(Outcome(case.reference, 1)) is None

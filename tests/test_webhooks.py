"""Webhooks (issue 21, item 6): written with the event, delivered at least
once over real HTTP on loopback, signed as Standard Webhooks describes
(checked with the independent ``standardwebhooks`` package), retried with
back-off, and carrying only what the subscription's user may see."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from klagomal import Contact, FixedClock, Klagomal
from klagomal.cli import main
from klagomal.core.errors import AccessDeniedError, InvalidInputError, KlagomalError
from klagomal.core.events import EVENT_TYPES
from klagomal.notices import webhooks

UNIT = "soc-aldre-hemtjanst-norr"
GROUND = "OSL 26 kap. 1 §"
#: Who the protected person is, and the secret text: none of it may leave.
CANARIES = ("Kanarie Skyddad", "skyddad.kanarie", "111 22 33", "Kanariegatan", "19850412", "HEMLIG-KANARIE")


class Receiver:
    """A real HTTP server on loopback that records each request and answers
    with the next of *codes* (then 200)."""

    def __init__(self, port: int = 0, codes: list[int] | None = None) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.codes = list(codes or [])
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                code = receiver.codes.pop(0) if receiver.codes else 200
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def kl(any_db_url: str) -> Iterator[Klagomal]:
    instance = Klagomal(any_db_url, clock=FixedClock(dt.date(2026, 3, 2)), load_entrypoints=False)
    instance.init()
    yield instance
    instance.dispose()


def register(k: Klagomal, **contact: Any) -> str:
    case = k.register(
        kind="klagomal",
        channel="epost",
        unit=UNIT,
        text="Hemtjänsten kom inte.",
        contact=Contact(name="Anna Andersson", email="anna@example.se", **contact) if contact else None,
    )
    return case.reference


def verified(subscription: webhooks.Subscription, request: tuple[dict[str, str], bytes]) -> dict[str, Any]:
    """The payload, verified by the standardwebhooks package (it raises on a bad signature)."""
    headers, body = request
    result: dict[str, Any] = Webhook(subscription.secret).verify(body, headers)
    return result


def test_a_delivery_is_written_with_its_event_signed_and_verified(kl: Klagomal, receiver: Receiver) -> None:
    sub = kl.webhooks.subscribe(receiver.url, user="nora.lind")
    assert sub.secret.startswith("whsec_")
    reference = register(kl)
    (pending,) = kl.webhooks.deliveries()
    assert (pending.status, pending.reference, pending.seq, pending.event_type) == (
        "pending",
        reference,
        1,
        "registered",
    )
    run = kl.webhooks.deliver()
    assert [d.webhook_id for d in run.sent] == [pending.webhook_id]
    (request,) = receiver.requests
    assert request[0]["webhook-id"] == pending.webhook_id
    assert request[0]["webhook-signature"].startswith("v1,")
    data = verified(sub, request)
    assert data["type"] == "registered"
    assert data["data"]["reference"] == reference
    assert data["data"]["case"]["text"] == "Hemtjänsten kom inte."
    # Tampered with, the same request fails the independent check.
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(sub.secret).verify(request[1] + b" ", request[0])
    (sent,) = kl.webhooks.deliveries(statuses=["sent"])
    assert (sent.attempts, sent.response_status) == (1, 200)
    assert kl.webhooks.deliver().sent == []  # never twice


def test_only_the_event_types_subscribed_to(kl: Klagomal, receiver: Receiver) -> None:
    kl.webhooks.subscribe(receiver.url, user="nora.lind", events=["acknowledged"])
    reference = register(kl)
    assert kl.webhooks.deliveries() == []
    kl.acknowledge(reference, "Omar Ali")
    assert [d.event_type for d in kl.webhooks.deliveries()] == ["acknowledged"]


def test_a_receiver_that_is_down_gets_the_delivery_later_with_the_same_id(kl: Klagomal) -> None:
    port = free_port()
    sub = kl.webhooks.subscribe(f"http://127.0.0.1:{port}/hook", user="nora.lind")
    register(kl)
    run = kl.webhooks.deliver()
    (retry,) = run.retry
    assert retry.status == "pending"
    assert (retry.last_error or "").startswith(
        "kunde inte ansluta till mottagaren: anslutningen nekades (ingen tar emot på adressen) "
        "(försök 1 av 10"
    )
    assert kl.webhooks.deliver().retry == []  # not due yet: back-off
    up = Receiver(port)
    try:
        assert isinstance(kl.clock, FixedClock)
        kl.clock.advance(1)
        run = kl.webhooks.deliver()
        assert [d.webhook_id for d in run.sent] == [retry.webhook_id]
        (request,) = up.requests
        assert request[0]["webhook-id"] == retry.webhook_id
        verified(sub, request)
    finally:
        up.close()
    (sent,) = kl.webhooks.deliveries()
    assert (sent.status, sent.attempts) == ("sent", 2)


def test_a_500_is_retried_with_back_off(kl: Klagomal) -> None:
    receiver = Receiver(codes=[500, 500])
    try:
        kl.webhooks.subscribe(receiver.url, user="nora.lind")
        register(kl)
        clock = kl.clock
        assert isinstance(clock, FixedClock)
        delays = []
        for _ in range(2):
            (retry,) = kl.webhooks.deliver().retry
            assert "mottagaren svarade 500" in (retry.last_error or "")
            assert retry.next_attempt is not None
            delays.append(retry.next_attempt - kl._utcnow())
            assert kl.webhooks.deliver().retry == []  # waits for its time
            clock.advance(1)
        assert delays == [dt.timedelta(minutes=1), dt.timedelta(minutes=2)]
        assert len(kl.webhooks.deliver().sent) == 1
        assert len({h["webhook-id"] for h, _ in receiver.requests}) == 1
        assert len(receiver.requests) == 3
    finally:
        receiver.close()


def test_back_off_doubles_up_to_a_cap() -> None:
    delays = [webhooks.retry_delay(n) for n in range(1, 20)]
    assert delays[:3] == [dt.timedelta(minutes=m) for m in (1, 2, 4)]
    assert max(delays) == webhooks.RETRY_CAP
    assert delays == sorted(delays)


def test_a_delivery_that_never_succeeds_fails_visibly(kl: Klagomal) -> None:
    receiver = Receiver(codes=[503] * webhooks.MAX_ATTEMPTS)
    try:
        kl.webhooks.subscribe(receiver.url, user="nora.lind")
        register(kl)
        clock = kl.clock
        assert isinstance(clock, FixedClock)
        for _ in range(webhooks.MAX_ATTEMPTS):
            kl.webhooks.deliver()
            clock.advance(1)
        (failed,) = kl.webhooks.deliveries(statuses=["failed"])
        assert failed.attempts == webhooks.MAX_ATTEMPTS
        assert "mottagaren svarade 503" in (failed.last_error or "")
        assert "köa igen" in (failed.last_error or "")
        assert kl.webhooks.deliver().sent == []
        kl.webhooks.requeue([failed.id])
        assert [d.webhook_id for d in kl.webhooks.deliver().sent] == [failed.webhook_id]
    finally:
        receiver.close()


def test_a_payload_carries_no_protected_identity_and_no_secret_text(kl: Klagomal, receiver: Receiver) -> None:
    handler = kl.webhooks.subscribe(receiver.url, user="omar.ali")
    owner = kl.webhooks.subscribe(receiver.url, user="nora.lind")  # may see protected data inside klagomal
    outside = kl.webhooks.subscribe(receiver.url, user="kontaktcenter")  # another unit's handler
    case = kl.register(
        kind="klagomal",
        channel="epost",
        unit=UNIT,
        text="HEMLIG-KANARIE om Kanarie Skyddad, Kanariegatan 7.",
        contact=Contact(
            name="Kanarie Skyddad",
            email="skyddad.kanarie@example.se",
            phone="070-111 22 33",
            address="Kanariegatan 7, 123 45 Exempelstad",
            personnummer="19850412-1230",
            protected=True,
        ),
    )
    kl.mark_secret(case.reference, GROUND)
    kl.add_note(case.reference, "HEMLIG-KANARIE i en anteckning.")
    run = kl.webhooks.deliver()
    assert {d.subscription_id for d in run.skipped} == {outside.id}
    assert all("får inte läsa" in (d.last_error or "") for d in run.skipped)
    assert {d.subscription_id for d in run.sent} == {handler.id, owner.id}
    assert len(receiver.requests) == len(run.sent) == 6
    for headers, body in receiver.requests:
        text = json.dumps(json.loads(body), ensure_ascii=False)
        for canary in CANARIES:
            assert canary not in text, (headers["webhook-id"], canary)
    assert any(GROUND in body.decode() for _, body in receiver.requests)


def test_bad_input_is_refused_in_swedish_and_writes_nothing(kl: Klagomal, receiver: Receiver) -> None:
    with pytest.raises(InvalidInputError, match="okända händelsetyper: registrerad"):
        kl.webhooks.subscribe(receiver.url, user="nora.lind", events=["registrerad"])
    with pytest.raises(InvalidInputError, match="ingen http- eller https-adress"):
        kl.webhooks.subscribe("ftp://example.se/x", user="nora.lind")
    with pytest.raises(InvalidInputError, match="okänd användare 'vem'"):
        kl.webhooks.subscribe(receiver.url, user="vem")
    with pytest.raises(InvalidInputError, match="får inte läsa ärenden"):
        kl.webhooks.subscribe(receiver.url, user="sven.ek")  # läsare: statistics only
    with pytest.raises(InvalidInputError, match="mellanslag eller styrtecken"):
        kl.webhooks.subscribe(receiver.url + "\nX-Forged: 1", user="nora.lind")
    with pytest.raises(InvalidInputError, match="ingen webhook 7"):
        kl.webhooks.unsubscribe(7)
    assert kl.webhooks.subscriptions() == []


def test_only_the_system_owner_manages_subscriptions(kl: Klagomal, receiver: Receiver) -> None:
    with pytest.raises(AccessDeniedError):
        kl.as_user("omar.ali").webhooks.subscribe(receiver.url, user="omar.ali")
    assert kl.webhooks.subscriptions() == []


def test_a_removed_subscription_gets_nothing_more(kl: Klagomal, receiver: Receiver) -> None:
    sub = kl.webhooks.subscribe(receiver.url, user="nora.lind")
    register(kl)
    removed = kl.webhooks.unsubscribe(sub.id)
    assert removed.removed_at is not None
    assert removed.secret == ""
    (failed,) = kl.webhooks.deliveries()
    assert (failed.status, failed.last_error) == ("failed", "prenumerationen togs bort")
    register(kl)
    assert len(kl.webhooks.deliveries()) == 1
    assert kl.webhooks.deliver().sent == []
    assert receiver.requests == []


def test_a_step_rolled_back_leaves_no_delivery(kl: Klagomal, receiver: Receiver) -> None:
    kl.webhooks.subscribe(receiver.url, user="nora.lind")
    reference = register(kl)
    with pytest.raises(KlagomalError):
        kl.answer(reference, "skriftligt", "")
    assert len(kl.webhooks.deliveries()) == 1


def test_every_event_type_can_be_subscribed_to() -> None:
    assert webhooks.check_events(list(EVENT_TYPES)) == tuple(EVENT_TYPES)


def test_the_signature_is_the_standard_one() -> None:
    secret = webhooks.new_secret()
    body = b'{"type":"registered"}'
    signature = webhooks.sign(secret, "msg_1", 1_700_000_000, body)
    ours = Webhook(secret).sign("msg_1", dt.datetime.fromtimestamp(1_700_000_000, dt.UTC), body.decode())
    assert signature == ours


def test_the_cli_adds_lists_shows_deliveries_and_removes(
    db_url: str, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(*argv: str) -> tuple[int, str]:
        code = main(["--db", db_url, *argv])
        return code, capsys.readouterr().out

    assert run("init")[0] == 0
    code, out = run(
        "webhook", "add", receiver.url, "--for-user", "nora.lind", "--events", "registered,answered"
    )
    assert code == 0
    assert "Webhook 1 skapad" in out
    assert "whsec_" in out
    code, out = run("webhook", "list")
    assert receiver.url in out
    assert "registered,answered" in out
    assert "whsec_" not in out
    assert (
        run(
            "register",
            "--kind",
            "forslag",
            "--channel",
            "telefon",
            "--unit",
            UNIT,
            "--text",
            "Ny.",
            "--anonymous",
        )[0]
        == 0
    )
    code, out = run("webhook", "deliver")
    assert (code, out.strip()) == (
        0,
        "Webbhookar: 1 skickade, 0 försöks igen senare, 0 misslyckade, 0 inte skickade.",
    )
    code, out = run("webhook", "add", "http://127.0.0.1:9/nere", "--for-user", "omar.ali", "--all")
    assert (
        run(
            "register",
            "--kind",
            "forslag",
            "--channel",
            "telefon",
            "--unit",
            UNIT,
            "--text",
            "Nr 2.",
            "--anonymous",
        )[0]
        == 0
    )
    code = main(["--db", db_url, "webhook", "deliver"])
    captured = capsys.readouterr()
    assert code == 0
    assert "kunde inte ansluta till mottagaren" in captured.out
    assert captured.err == ""  # said once, on stdout, not again as a log line
    code, out = run("--json", "webhook", "deliveries", "--status", "sent")
    assert [d["status"] for d in json.loads(out)["deliveries"]] == ["sent", "sent"]
    code, out = run("webhook", "remove", "1")
    assert "är borttagen" in out
    assert run("webhook", "remove", "2")[0] == 0
    assert run("webhook", "list")[1].strip() == "Inga webbhookar."


def test_the_tables_are_in_the_schema(kl: Klagomal) -> None:
    inspector = sa.inspect(sa.create_engine(kl.storage.url))
    assert {"webhook_subscriptions", "webhook_deliveries"} <= set(inspector.get_table_names())


def test_a_delivery_cut_off_while_sending_is_sent_again_with_the_same_id(
    kl: Klagomal, receiver: Receiver
) -> None:
    kl.webhooks.subscribe(receiver.url, user="nora.lind")
    register(kl)
    (pending,) = kl.webhooks.deliveries()
    with kl.storage.transaction() as uow:  # a run that stopped after claiming it
        assert uow.claim_webhook(pending.id, ("pending",), kl._utcnow())  # type: ignore[attr-defined]
    assert kl.webhooks.deliver().sent == []  # within the lease: perhaps still being sent
    clock = kl.clock
    assert isinstance(clock, FixedClock)
    clock.advance(1)
    (sent,) = kl.webhooks.deliver().sent
    assert (sent.webhook_id, sent.attempts) == (pending.webhook_id, 2)
    assert [h["webhook-id"] for h, _ in receiver.requests] == [pending.webhook_id]


@settings(max_examples=50, deadline=None)
@given(
    msg_id=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=60),
    body=st.text(max_size=300),
)
def test_every_signature_verifies_with_the_independent_implementation(msg_id: str, body: str) -> None:
    secret = webhooks.new_secret()
    now = int(time.time())
    data = json.dumps({"type": "registered", "data": {"text": body}}, ensure_ascii=False).encode()
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(now),
        "webhook-signature": webhooks.sign(secret, msg_id, now, data),
    }
    assert Webhook(secret).verify(data, headers)["data"]["text"] == body
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(webhooks.new_secret()).verify(data, headers)


def test_the_list_of_deliveries_holds_the_newest(kl: Klagomal, receiver: Receiver) -> None:
    kl.webhooks.subscribe(receiver.url, user="nora.lind")
    references = [register(kl) for _ in range(3)]
    assert [d.reference for d in kl.webhooks.deliveries(limit=2)] == references[1:]
    assert [d.reference for d in kl.webhooks.deliveries(limit=0)] == references


def test_two_runs_at_once_send_each_delivery_once(kl: Klagomal, receiver: Receiver) -> None:
    kl.webhooks.subscribe(receiver.url, user="nora.lind")
    for _ in range(6):
        register(kl)
    others = [
        Klagomal(kl.storage.url, clock=kl.clock, load_entrypoints=False, user="nora.lind") for _ in range(2)
    ]
    runs: list[webhooks.WebhookRun] = []
    try:
        threads = [threading.Thread(target=lambda o=o: runs.append(o.webhooks.deliver())) for o in others]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for other in others:
            other.dispose()
    sent = [d.webhook_id for run in runs for d in run.sent]
    assert sorted(sent) == sorted(d.webhook_id for d in kl.webhooks.deliveries())
    assert sorted(h["webhook-id"] for h, _ in receiver.requests) == sorted(sent)

"""``klagomal serve-smtp`` as a real process: a real SMTP (and LMTP) session
from the standard library's client, a receiver killed in the middle of a
message, a database held by another transaction, and a resend.  A message
is either stored or refused, never lost, and never stored twice (R4); a
refusal comes within a minute, in ASCII.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from held_lock import held_write_lock
from klagomal import FixedClock, Klagomal
from klagomal.intake.smtpd import LOCK_WAIT, ascii_reply


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _message(message_id: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Karin Lund <karin.lund@example.se>"
    message["To"] = "synpunkter@exempelkommun.se"
    message["Subject"] = "Klagomål på skolskjutsen"
    message["Message-ID"] = message_id
    message.set_content(
        "Skolskjutsen har inte kommit tre dagar i rad. Jag vill klaga.\n" + "Mer text om bussen.\n" * 2000
    )
    return message.as_bytes()


class Receiver:
    """``klagomal serve-smtp`` in a child process, on a free port."""

    def __init__(self, db: str, *, lmtp: bool = False) -> None:
        self.db = db
        self.lmtp = lmtp
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [sys.executable, "-m", "klagomal.cli", "--db", self.db, "--today", "2026-03-02", "serve-smtp"]
        argv += ["--port", str(self.port), *(["--lmtp"] if self.lmtp else [])]
        env = {k: v for k, v in os.environ.items() if not k.startswith("KLAGOMAL_")}
        env["KLAGOMAL_USER"] = "system"  # the receiver acts as klagomal itself
        self.process = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                assert self.process.poll() is None, self.process.stderr.read() if self.process.stderr else ""
                time.sleep(0.1)
        raise AssertionError("serve-smtp did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'klagomal.db'}"
    with Klagomal(url, load_entrypoints=False) as k:
        k.init()
    return url


def _cases(db: str) -> list[str]:
    with Klagomal(db, clock=FixedClock(dt.date(2026, 3, 2)), load_entrypoints=False) as k:
        return [c.reference for c in k.cases()]


def test_a_message_is_stored_before_it_is_acknowledged(db: str) -> None:
    receiver = Receiver(db)
    receiver.start()
    try:
        with smtplib.SMTP("127.0.0.1", receiver.port, timeout=30) as client:
            refused = client.sendmail(
                "karin.lund@example.se", ["synpunkter@exempelkommun.se"], _message("<a1@example.se>")
            )
            assert refused == {}
            # The 250 came after the commit: the case is there now.
            assert _cases(db) == ["2026-00001"]
            client.sendmail(
                "karin.lund@example.se", ["synpunkter@exempelkommun.se"], _message("<a1@example.se>")
            )
        assert _cases(db) == ["2026-00001"]  # the resend is recognised
    finally:
        receiver.stop()
    with Klagomal(db, load_entrypoints=False) as k:
        case = k.get("2026-00001")
        assert (case.channel, case.kind.value) == ("epost", "klagomal")
        assert case.contact is not None
        assert case.contact.email == "karin.lund@example.se"


def test_a_receiver_killed_mid_message_loses_nothing_and_stores_nothing_twice(db: str) -> None:
    raw = _message("<mitt-i@example.se>")
    receiver = Receiver(db)
    receiver.start()
    # Half a message, then the receiver dies.
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=30) as conn:
        reader = conn.makefile("rb")
        assert reader.readline().startswith(b"220")
        for command in (
            b"EHLO klient",
            b"MAIL FROM:<karin.lund@example.se>",
            b"RCPT TO:<synpunkter@exempelkommun.se>",
        ):
            conn.sendall(command + b"\r\n")
            line = reader.readline()
            while line[3:4] == b"-":
                line = reader.readline()
            assert line[:1] == b"2", line
        conn.sendall(b"DATA\r\n")
        assert reader.readline().startswith(b"354")
        conn.sendall(raw[: len(raw) // 2].replace(b"\n", b"\r\n"))
        receiver.kill()
    assert _cases(db) == []  # not acknowledged, not stored: the sender still has it
    with Klagomal(db, load_entrypoints=False) as k:
        assert k.received_messages() == []
    # The sender's server tries again, and once more (its 250 went missing).
    receiver.start()
    try:
        for _attempt in range(2):
            with smtplib.SMTP("127.0.0.1", receiver.port, timeout=30) as client:
                client.sendmail("karin.lund@example.se", ["synpunkter@exempelkommun.se"], raw)
    finally:
        receiver.stop()
    assert _cases(db) == ["2026-00001"]
    with Klagomal(db, load_entrypoints=False) as k:
        assert [m.outcome for m in k.received_messages()] == ["registered"]


def test_lmtp_for_a_mail_server_transport(db: str) -> None:
    receiver = Receiver(db, lmtp=True)
    receiver.start()
    try:
        with smtplib.LMTP("127.0.0.1", receiver.port, timeout=30) as client:
            client.sendmail(
                "karin.lund@example.se", ["synpunkter@exempelkommun.se"], _message("<l1@example.se>")
            )
    finally:
        receiver.stop()
    assert _cases(db) == ["2026-00001"]


def test_an_unreadable_message_is_acknowledged_into_quarantine(db: str) -> None:
    receiver = Receiver(db)
    receiver.start()
    try:
        with smtplib.SMTP("127.0.0.1", receiver.port, timeout=30) as client:
            client.sendmail("x@example.se", ["synpunkter@exempelkommun.se"], b"\x00\x01 inget meddelande")
    finally:
        receiver.stop()
    with Klagomal(db, load_entrypoints=False) as k:
        [kept] = k.received_messages(outcomes=["quarantined"], with_raw=True)
        assert kept.raw.startswith(b"\x00\x01 inget meddelande")
        assert kept.source == "smtp"


@pytest.fixture
def any_db(any_db_url: str) -> str:
    """An initialised database on each backend."""
    with Klagomal(any_db_url, load_entrypoints=False) as k:
        k.init()
    return any_db_url


def test_a_busy_database_gets_a_451_in_ascii_within_a_minute_and_the_resend_is_stored(any_db: str) -> None:
    # Another transaction holds the write lock and does not let go.  Two
    # sending servers deliver at once, one of them with SMTPUTF8.  Each gets
    # 451 (try again later) within a minute, however long the lock is held,
    # with a reply text in ASCII; nothing is stored.  Once the lock is gone,
    # their retries are stored.
    receiver = Receiver(any_db)
    receiver.start()
    messages = {"plain": _message("<upptagen-1@example.se>"), "utf8": _message("<upptagen-2@example.se>")}
    answers: dict[str, tuple[int, bytes, float]] = {}

    def send(name: str) -> None:
        options = ["SMTPUTF8"] if name == "utf8" else []
        start = time.monotonic()
        with smtplib.SMTP("127.0.0.1", receiver.port, timeout=120) as client:
            try:
                client.sendmail(
                    "karin.lund@example.se",
                    ["synpunkter@exempelkommun.se"],
                    messages[name],
                    mail_options=options,
                )
            except smtplib.SMTPDataError as refused:
                answers[name] = (refused.smtp_code, refused.smtp_error, time.monotonic() - start)
            else:
                answers[name] = (250, b"", time.monotonic() - start)

    try:
        with held_write_lock(any_db):
            senders = [threading.Thread(target=send, args=(name,)) for name in messages]
            for sender in senders:
                sender.start()
            for sender in senders:
                sender.join(timeout=150)
        assert set(answers) == set(messages)
        for code, text, waited in answers.values():
            assert code == 451, (code, text)
            assert waited < 60, waited
            assert waited >= LOCK_WAIT * 0.9, waited  # it did wait for the lock
            reply = text.decode("ascii")  # not a byte outside ASCII
            assert reply.startswith("4.3.0 databasen ar upptagen"), reply
            assert "forsok igen" in reply, reply
        assert _cases(any_db) == []
        # The sending servers try again, as a 451 tells them to.
        for raw in messages.values():
            with smtplib.SMTP("127.0.0.1", receiver.port, timeout=60) as client:
                assert client.sendmail("karin.lund@example.se", ["synpunkter@exempelkommun.se"], raw) == {}
    finally:
        receiver.stop()
    assert _cases(any_db) == ["2026-00001", "2026-00002"]


@given(st.text())
def test_a_reply_text_is_one_line_of_ascii_whatever_it_says(text: str) -> None:
    # RFC 5321: a reply line is ASCII, ended by CRLF; a client that did not
    # ask for SMTPUTF8 gets no other byte, and a line break inside the text
    # (a quarantine reason) would end the reply early.
    reply = ascii_reply(text)
    assert reply.isascii()
    assert reply.isprintable()
    assert reply == reply.strip()


def test_swedish_letters_lose_their_dots_and_rings_not_their_place() -> None:
    assert ascii_reply("Försök igen, ÅÄÖ åäö é ü") == "Forsok igen, AAO aao e u"
    assert ascii_reply("i karantän:\r\nrad två") == "i karantan: rad tva"

"""Notices end to end over real SMTP: klagomal's outbox and its built-in
``smtp`` notifier against an SMTP server on loopback (aiosmtpd, started by
the test).  The received bytes are checked, and delivery is crashed and
rerun in a real child process.
"""

from __future__ import annotations

import datetime as dt
import email.header
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from conftest import register_case
from klagomal import FixedClock, Klagomal
from klagomal.core.model import Contact
from klagomal.core.organisation import Organisation, default_organisation, load_organisation
from klagomal.core.settings import SmtpSettings
from klagomal.storage import tables
from smtp_server import SmtpServer

RESPOND_BY = dt.date(2026, 3, 27)
EVA = Contact(name="Eva Åström", email="eva.astrom@example.se")
ORG_FILE = Path(__file__).parent.parent / "src" / "klagomal" / "data" / "exempelkommun.toml"


def _organisation(server: SmtpServer, **smtp: object) -> Organisation:
    base = default_organisation()
    settings = SmtpSettings(host=server.host, port=server.port, security="ingen", timeout=5)
    delivery = attrs.evolve(base.delivery, email_notifier="smtp", smtp=attrs.evolve(settings, **smtp))
    return attrs.evolve(base, delivery=delivery)


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer() as running:
        yield running


@pytest.fixture
def k(server: SmtpServer, db_url: str, clock: FixedClock) -> Iterator[Klagomal]:
    instance = Klagomal(db_url, clock=clock, organisation=_organisation(server), load_entrypoints=False)
    instance.init()
    yield instance
    instance.dispose()


def _header(raw: bytes, name: str) -> str:
    """The raw value of header *name* in *raw*, unfolded, undecoded."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    value = None
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t") and value is not None:
            value += line
        elif value is not None:
            break
        elif line.lower().startswith(name.lower() + ":"):
            value = line.split(":", 1)[1]
    assert value is not None, f"no {name} header in {head}"
    return value.strip()


def test_the_besked_arrives_as_utf8_mail_with_every_header(k: Klagomal, server: SmtpServer) -> None:
    # R7, R23: the person is thanked and told who handles the case and when.
    ref = register_case(k, contact=EVA).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    assert len(k.deliver().sent) == 1
    [received] = server.messages
    raw, message = received.data, received.message
    [notice] = k.outbox(reference=ref)

    # The envelope and the addresses.
    assert received.mail_from == "synpunkter@exempelkommun.se"
    assert received.rcpt_tos == ["eva.astrom@example.se"]
    assert message["To"].addresses[0].display_name == "Eva Åström"
    assert message["Reply-To"].addresses[0].addr_spec == "synpunkter@exempelkommun.se"
    # A stable Message-ID per notice, the reference in the subject, no auto-replies.
    assert message["Message-ID"] == notice.message_id == f"<{ref}.2.person.besked@exempelkommun.se>"
    assert message["Subject"] == f"Besked om ditt ärende {ref}"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"] is not None
    # Headers are 7-bit on the wire; å, ä and ö travel as RFC 2047 encoded words.
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(byte < 128 for byte in head)
    subject = _header(raw, "Subject")
    assert "=?utf-8?" in subject.lower()
    assert (
        str(email.header.make_header(email.header.decode_header(subject))) == f"Besked om ditt ärende {ref}"
    )
    # Both versions, UTF-8, with the handler's name and the promised date.
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    assert "Hanna Lind" in text.get_content()
    assert "27 mars 2026" in text.get_content()
    assert "Hanna Lind" in html.get_content()
    assert k.outbox(reference=ref)[0].address == "eva.astrom@example.se"


def test_the_answer_threads_under_the_besked(k: Klagomal, server: SmtpServer) -> None:
    ref = register_case(k, contact=EVA).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    k.deliver()
    k.answer(ref, "skriftligt", "Vi ber om ursäkt & har ändrat körschemat <nu>.")
    k.deliver()
    besked, answer = (r.message for r in server.messages)
    assert answer["In-Reply-To"] == besked["Message-ID"]
    assert answer["References"] == besked["Message-ID"]
    assert answer["Auto-Submitted"] is None  # a handler wrote the answer
    html = answer.get_body(("html",))
    assert html is not None
    assert "&amp; har ändrat körschemat &lt;nu&gt;" in html.get_content()


def test_an_anonymous_case_sends_nothing(k: Klagomal, server: SmtpServer) -> None:
    # R5
    ref = register_case(k, contact=None, channel="svarskort").reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    k.record_action(ref, "Rutinen ändrad")
    k.close(ref, None)
    run = k.deliver()
    assert (run.sent, run.failed, server.messages) == ([], [], [])


def test_a_server_that_was_down_gets_the_notice_once_when_it_is_back(
    k: Klagomal, server: SmtpServer, clock: FixedClock
) -> None:
    ref = register_case(k, contact=EVA).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    server.stop()
    [retry] = k.deliver().retry
    assert retry.status == "pending"
    assert retry.next_attempt is not None
    assert str(server.port) in (retry.last_error or "")  # names the server it tried
    server.start()
    assert k.deliver().sent == []  # not due yet
    clock.advance(1)
    assert len(k.deliver().sent) == 1
    assert k.deliver().sent == []
    assert [r.message["Message-ID"] for r in server.messages] == [retry.message_id]


def test_a_refusal_is_kept_with_its_reason(k: Klagomal, server: SmtpServer, clock: FixedClock) -> None:
    ref = register_case(k, contact=EVA).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    server.reply = "451 4.3.0 Försök senare"
    [retry] = k.deliver().retry
    assert "451" in (retry.last_error or "")
    server.reply = "550 5.1.1 Ingen sådan mottagare"
    clock.advance(1)
    [failed] = k.deliver().failed
    assert failed.status == "failed"
    assert "550" in (failed.last_error or "")
    assert server.messages == []
    assert k.get(ref).acknowledged is not None  # the step stands


def test_an_invalid_address_fails_without_connecting(k: Klagomal, server: SmtpServer) -> None:
    # Registration refuses such an address now; one stored before that (or
    # imported from an old export) is refused at delivery.
    ref = register_case(k, contact=Contact(name="Eva", email="eva.astrom@example.se")).reference
    with k.storage.engine.begin() as conn:  # type: ignore[attr-defined]
        payload = tables.events.c.payload
        conn.execute(
            sa.update(tables.events).values(payload=sa.func.replace(payload, "@example.se", "(at)example.se"))
        )
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    [failed] = k.deliver().failed
    assert "eva.astrom(at)example.se" in (failed.last_error or "")
    assert server.messages == []
    shown = k.open_notices([ref])[ref]
    assert [n.status for n in shown] == ["failed"]


def test_staff_notices_go_by_mail_too(k: Klagomal, server: SmtpServer) -> None:
    # R22: praise reaches the member of staff and the manager.
    ref = register_case(k, kind="berom", text="Lisa var så snäll mot mamma.").reference
    k.pass_on_praise(ref, ["Lisa Holm <lisa.holm@exempelkommun.se>"], "Tack!")
    assert len(k.deliver().sent) == 2
    to = sorted(r.rcpt_tos[0] for r in server.messages)
    assert to == ["hemtjanst.norr@exempelkommun.se", "lisa.holm@exempelkommun.se"]


# -- crash and rerun, in a real process ------------------------------------------------------


def _org_file(tmp_path: Path, server: SmtpServer, extra: str = "") -> Path:
    path = tmp_path / "kommun.toml"
    path.write_text(
        ORG_FILE.read_text(encoding="utf-8")
        + f'\n[utskick.smtp]\nvard = "{server.host}"\nport = {server.port}\ntidsgrans = 30\n{extra}',
        encoding="utf-8",
    )
    load_organisation(path)  # valid
    return path


def _cli(tmp_path: Path, org: Path, *argv: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "klagomal.cli",
        "--db",
        f"sqlite:///{tmp_path / 'k.db'}",
        "--org",
        str(org),
        *argv,
    ]


def test_delivery_killed_mid_send_never_sends_twice(tmp_path: Path) -> None:
    """The child process hands the besked to the server, which takes it in
    and does not answer; the child is killed there.  Reruns mark the notice
    uncertain and never send it again, over STARTTLS with a login."""
    with SmtpServer(starttls=True, auth=("klagomal", "hemligt lösenord")) as server:
        org = _org_file(
            tmp_path,
            server,
            'sakerhet = "starttls"\nanvandare = "klagomal"\nlosenord_miljovariabel = "TEST_SMTP_PW"\n',
        )
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KLAGOMAL_")},
            "TEST_SMTP_PW": "hemligt lösenord",
            "KLAGOMAL_USER": "system",  # a delivery run from cron acts as klagomal itself
            "SSL_CERT_FILE": server.write_ca(str(tmp_path / "ca.pem")),
        }

        def run(*argv: str, today: str = "2026-03-04") -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                _cli(tmp_path, org, "--today", today, *argv),
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        assert run("init").returncode == 0
        registered = run(
            "register", "--kind", "klagomal", "--channel", "epost", "--unit", "soc-aldre-hemtjanst-norr",
            "--text", "Hemtjänsten kom för sent.", "--name", "Eva Åström", "--email", "eva.astrom@example.se",
        )  # fmt: skip
        assert registered.returncode == 0, registered.stderr
        assert run("acknowledge", "2026-00001", "--handler", "Hanna Lind").returncode == 0

        server.stall.set()
        child = subprocess.Popen(_cli(tmp_path, org, "--today", "2026-03-04", "deliver"), env=env)
        deadline = time.monotonic() + 60
        while not server.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(server.messages) == 1, "the server never got the message"
        child.send_signal(signal.SIGKILL)  # dies while waiting for the reply to DATA
        child.wait(timeout=30)
        server.stall.clear()

        # Rerun at once: perhaps still being sent, so nothing is sent.
        again = run("deliver")
        assert again.returncode == 0, again.stderr
        # The next day the notice is known to be uncertain; it is listed, not resent.
        later = run("deliver", today="2026-03-05")
        assert later.returncode == 1
        assert "2026-00001" in later.stdout
        assert "osäker" in later.stdout
        shown = run("outbox")
        assert "osäkert om det kom fram" in shown.stdout
        assert len(server.messages) == 1
        received = server.messages[0].message
        assert received["Message-ID"] == "<2026-00001.2.person.besked@exempelkommun.se>"

        # A person checks and asks for it again: it goes out with the same Message-ID.
        resend = run("outbox", "--resend", "1", today="2026-03-05")
        assert resend.returncode == 0, resend.stderr
        assert run("deliver", today="2026-03-05").returncode == 0
        assert [r.message["Message-ID"] for r in server.messages] == [received["Message-ID"]] * 2


def test_reminders_go_by_mail_once_a_server_is_configured(
    k: Klagomal, server: SmtpServer, clock: FixedClock
) -> None:
    # R7: two working days before the besked deadline the unit is reminded, by e-mail.
    ref = register_case(k, contact=EVA).reference
    clock.set(dt.date(2026, 3, 12))
    run = k.remind()
    assert run.notifier == "smtp"
    assert [r.reference for r in run.sent] == [ref]
    [received] = server.messages
    assert received.rcpt_tos == ["hemtjanst.norr@exempelkommun.se"]
    assert ref in received.message["Subject"]
    assert received.message.get_body(("html",)) is not None
    assert k.remind().sent == []  # once


def test_a_failed_notice_waits_and_deliver_says_how_to_send_it_again(tmp_path: Path) -> None:
    """A wrong password is a permanent failure.  Once the setting is
    corrected, a plain ``deliver`` sends nothing and fails nothing, but says
    that the failed notice waits and names ``--retry-failed``, which sends it."""
    with SmtpServer(starttls=True, auth=("klagomal", "rätt lösenord")) as server:
        org = _org_file(
            tmp_path,
            server,
            'sakerhet = "starttls"\nanvandare = "klagomal"\nlosenord_miljovariabel = "TEST_SMTP_PW"\n',
        )
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KLAGOMAL_")},
            "TEST_SMTP_PW": "fel lösenord",
            "KLAGOMAL_USER": "system",
            "SSL_CERT_FILE": server.write_ca(str(tmp_path / "ca.pem")),
        }

        def run(*argv: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                _cli(tmp_path, org, "--today", "2026-03-04", *argv),
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        assert run("init").returncode == 0
        registered = run(
            "register", "--kind", "klagomal", "--channel", "epost", "--unit", "soc-aldre-hemtjanst-norr",
            "--text", "Hemtjänsten kom för sent.", "--name", "Eva Åström", "--email", "eva.astrom@example.se",
        )  # fmt: skip
        assert registered.returncode == 0, registered.stderr
        assert run("acknowledge", "2026-00001", "--handler", "Hanna Lind").returncode == 0

        failed = run("deliver")
        assert failed.returncode == 1
        assert "0 skickade, 0 försöks igen senare, 1 misslyckade" in failed.stdout
        assert "'klagomal deliver --retry-failed'" in failed.stdout
        assert failed.stderr == "klagomal: 1 meddelande kom inte fram\n"  # nothing in English

        env["TEST_SMTP_PW"] = "rätt lösenord"  # the setting is corrected
        plain = run("deliver")
        assert plain.returncode == 0, plain.stderr
        assert plain.stdout == (
            "Utskick: 0 skickade, 0 försöks igen senare, 0 misslyckade, 0 osäkra.\n"
            "1 misslyckat meddelande väntar i utkorgen och skickas inte av sig självt "
            "(se 'klagomal outbox --status failed'); rätta felet och kör 'klagomal deliver --retry-failed'.\n"
        )
        assert json.loads(run("deliver", "--json").stdout)["failed_waiting"] == 1
        assert server.messages == []

        again = run("deliver", "--retry-failed")
        assert again.returncode == 0, again.stderr
        assert again.stdout == (
            "1 misslyckat meddelande köades om.\n"
            "Utskick: 1 skickade, 0 försöks igen senare, 0 misslyckade, 0 osäkra.\n"
        )
        assert [r.rcpt_tos for r in server.messages] == [["eva.astrom@example.se"]]

"""E-mail over SMTP and the built-in notifiers (``klagomal.notices.mail``,
``klagomal.notices.notifiers``).

Every e-mail test talks to a real SMTP server on 127.0.0.1
(``tests/smtp_server.py``, aiosmtpd) and checks the bytes it received; the
TLS tests use a throwaway certificate authority (trustme).  The messages are
built here directly, as the outbox (``klagomal.notices.outbox``) would hand them to
a notifier.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path

import attrs
import pytest

from klagomal import Klagomal
from klagomal.core.errors import DeliveryError, DeliveryUncertainError
from klagomal.core.organisation import default_organisation
from klagomal.core.settings import DeliverySettings, SmtpSettings
from klagomal.hooks.builtin import klagomal_notifiers as builtin_notifiers
from klagomal.notices.mail import SmtpSender, build_email, build_staff_email, check_address, split_mailbox
from klagomal.notices.notifiers import (
    EMAIL,
    LETTER,
    Message,
    Notifier,
    Recipient,
    StaffMessage,
    file_notifier,
    letter_notifier,
    log_notifier,
    render_letter,
    smtp_notifier,
)
from smtp_server import SmtpServer

DATE = dt.datetime(2026, 3, 12, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
SENDER = "Exempelkommun <synpunkter@exempelkommun.se>"
REPLY_TO = "synpunkter@exempelkommun.se"
PASSWORD_VARIABLE = "KLAGOMAL_TEST_SMTP_LOSENORD"

TEXT = """\
Hej Åsa Öberg!

Tack för att du hörde av dig om snöröjningen på Storgatan. Ditt ärende har
nummer 2026-00001 och handläggs av Gatuchef Per Åström.
.
Du får svar senast den 26 mars 2026. Svara på det här brevet om du vill
lägga till något; ange ärendenumret.

Med vänliga hälsningar
Exempelkommun
"""

HTML = """\
<!DOCTYPE html>
<html lang="sv">
<head>
<meta charset="utf-8">
<title>Besked om ditt ärende 2026-00001</title>
</head>
<body>
<p>Hej Åsa Öberg!</p>
<p>Tack för att du hörde av dig om snöröjningen på Storgatan &lt;gång- och cykelvägen&gt;.</p>
<p>Du får svar senast den 26 mars 2026.</p>
</body>
</html>
"""


def notice(**changes: object) -> Message:
    """The besked (R7) to the person who complained about the snow clearing."""
    message = Message(
        notice_id=17,
        reference="2026-00001",
        seq=3,
        kind="besked",
        way=EMAIL,
        recipient=Recipient(
            "person", "Åsa Öberg", "asa.oberg@example.se", "Storgatan 12 B\n831 30 Östersund", "070-123 45 67"
        ),
        subject="Besked om ditt ärende 2026-00001",
        text=TEXT,
        html=HTML,
        message_id="<besked.17.2026-00001@exempelkommun.se>",
        sender=SENDER,
        reply_to=REPLY_TO,
        references=(
            "<mottaget.11.2026-00001@exempelkommun.se>",
            "<information.14.2026-00001@exempelkommun.se>",
        ),
    )
    return attrs.evolve(message, **changes)


def reminder(**changes: object) -> StaffMessage:
    message = StaffMessage(
        reference="2026-00001",
        kind="paminnelse",
        recipient="Gatuchef Per Åström",
        role="handlaggare",
        subject="Påminnelse: besked i ärende 2026-00001 senast 2026-03-16",
        body="Besked ska ges senast 2026-03-16 (om 2 arbetsdagar).\n",
        email="gata@exempelkommun.se",
    )
    return attrs.evolve(message, **changes)


def settings(server: SmtpServer | None = None, **smtp: object) -> DeliverySettings:
    values: dict[str, object] = {"security": "ingen", "timeout": 5.0}
    if server is not None:
        values |= {"host": server.host, "port": server.port}
    values |= smtp
    return DeliverySettings(sender=SENDER, reply_to=REPLY_TO, smtp=SmtpSettings(**values))  # type: ignore[arg-type]


def at_date() -> dt.datetime:
    return DATE


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer() as running:
        yield running


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(PASSWORD_VARIABLE, "Snöröjning-2026!")  # UTF-8 in the login
    return "Snöröjning-2026!"


def deliver(notifier: Notifier, message: Message) -> None:
    assert notifier.deliver is not None
    notifier.deliver(message)


def header_text(raw: str) -> str:
    return str(make_header(decode_header(raw)))


def raw_headers(data: bytes) -> dict[str, str]:
    """The top-level headers as received, unfolded, not decoded."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    unfolded = re.sub(r"\r\n[ \t]", " ", head)
    return dict(line.split(": ", 1) for line in unfolded.split("\r\n"))


# -- what arrives ----------------------------------------------------------------------------------


def test_a_notice_arrives_with_every_header_the_outbox_relies_on(server: SmtpServer) -> None:
    # R7: the besked reaches the person by e-mail, with what lets a reply find the case.
    deliver(smtp_notifier(settings(server), now=at_date), notice())
    [received] = server.messages
    assert received.mail_from == "synpunkter@exempelkommun.se"
    assert received.rcpt_tos == ["asa.oberg@example.se"]
    assert received.data == build_email(notice(), date=DATE).as_bytes()

    headers = raw_headers(received.data)
    assert headers["From"] == "Exempelkommun <synpunkter@exempelkommun.se>"
    assert header_text(headers["To"]) == "Åsa Öberg <asa.oberg@example.se>"
    assert headers["Reply-To"] == "synpunkter@exempelkommun.se"
    assert headers["Message-ID"] == "<besked.17.2026-00001@exempelkommun.se>"
    assert headers["Date"] == "Thu, 12 Mar 2026 09:30:00 +0100"
    assert headers["In-Reply-To"] == "<information.14.2026-00001@exempelkommun.se>"
    assert headers["References"] == (
        "<mottaget.11.2026-00001@exempelkommun.se> <information.14.2026-00001@exempelkommun.se>"
    )
    assert headers["Auto-Submitted"] == "auto-generated"
    assert headers["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert headers["X-Klagomal-Reference"] == "2026-00001"
    assert headers["X-Klagomal-Notice"] == "besked"

    parsed = received.message
    assert parsed["Message-ID"] == "<besked.17.2026-00001@exempelkommun.se>"
    assert parsed["Date"].datetime == DATE
    assert parsed["To"].addresses[0].display_name == "Åsa Öberg"


def test_the_subject_is_rfc_2047_encoded_and_the_message_is_7_bit(server: SmtpServer) -> None:
    subject = "Besked om ditt ärende 2026-00001: snöröjning på Storgatan – vi återkommer"
    deliver(smtp_notifier(settings(server), now=at_date), notice(subject=subject))
    [received] = server.messages
    assert received.data.isascii()  # no raw UTF-8 anywhere: SMTPUTF8 was not needed
    raw_subject = raw_headers(received.data)["Subject"]
    assert "=?utf-8?" in raw_subject
    assert header_text(raw_subject) == subject
    assert received.message["Subject"] == subject
    assert "2026-00001" in received.message["Subject"]  # replies thread back into the case


def test_both_alternatives_arrive_in_utf_8_text_first(server: SmtpServer) -> None:
    deliver(smtp_notifier(settings(server), now=at_date), notice())
    parsed = server.messages[0].message
    assert parsed.get_content_type() == "multipart/alternative"
    text, html = parsed.iter_parts()
    assert isinstance(text, EmailMessage)
    assert isinstance(html, EmailMessage)
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    for part in (text, html):
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        assert part["MIME-Version"] is None
    assert text.get_content().replace("\r\n", "\n") == TEXT  # the lone "." line survived dot stuffing
    assert html.get_content().replace("\r\n", "\n") == HTML
    assert "snöröjningen" in html.get_payload(decode=True).decode("utf-8")


def test_without_reply_to_references_or_auto_submitted_those_headers_are_left_out(server: SmtpServer) -> None:
    # R13: an answer written by the handler herself is no automatic message.
    deliver(
        smtp_notifier(settings(server), now=at_date),
        notice(kind="svar", reply_to=None, references=(), auto_submitted=False),
    )
    parsed = server.messages[0].message
    for name in ("Reply-To", "In-Reply-To", "References", "Auto-Submitted", "X-Auto-Response-Suppress"):
        assert parsed[name] is None, name
    assert parsed["X-Klagomal-Notice"] == "svar"


def test_the_same_notice_builds_the_same_bytes() -> None:
    # The Message-ID and the MIME boundary stay the same, so a repeat can be recognised.
    first = build_email(notice(), date=DATE).as_bytes()
    assert build_email(notice(), date=DATE).as_bytes() == first
    assert b"Message-ID: <besked.17.2026-00001@exempelkommun.se>\r\n" in first
    other = build_email(notice(notice_id=18, message_id="<besked.18.2026-00002@exempelkommun.se>"), date=DATE)
    assert other.get_boundary() != build_email(notice(), date=DATE).get_boundary()


def test_a_non_ascii_local_part_is_sent_with_smtputf8(server: SmtpServer) -> None:
    recipient = Recipient("person", "Örjan Åkesson", "örjan.åkesson@example.se")
    deliver(smtp_notifier(settings(server), now=at_date), notice(recipient=recipient))
    [received] = server.messages
    assert received.rcpt_tos == ["örjan.åkesson@example.se"]
    assert not received.data.isascii()
    assert "To: Örjan Åkesson <örjan.åkesson@example.se>\r\n" in received.data.decode("utf-8")
    assert received.message["Subject"] == "Besked om ditt ärende 2026-00001"


def test_a_non_ascii_local_part_is_refused_when_the_server_has_no_smtputf8() -> None:
    recipient = Recipient("person", "Örjan Åkesson", "örjan@example.se")
    with SmtpServer(smtputf8=False) as server, pytest.raises(DeliveryError, match="SMTPUTF8") as caught:
        deliver(smtp_notifier(settings(server)), notice(recipient=recipient))
    assert caught.value.permanent
    assert server.messages == []


def test_a_non_ascii_domain_is_sent_in_its_ascii_form(server: SmtpServer) -> None:
    recipient = Recipient("person", "Åsa Öberg", "asa@örebro.se")
    deliver(smtp_notifier(settings(server), now=at_date), notice(recipient=recipient))
    [received] = server.messages
    assert received.rcpt_tos == ["asa@xn--rebro-iua.se"]
    assert received.data.isascii()


# -- TLS and login --------------------------------------------------------------------------------


def test_starttls_and_login_with_the_password_from_the_environment(password: str) -> None:
    with SmtpServer(require_starttls=True, auth=("klagomal", password)) as server:
        notifier = smtp_notifier(
            settings(server, security="starttls", user="klagomal", password_variable=PASSWORD_VARIABLE),
            ssl_context=server.client_context,
            now=at_date,
        )
        deliver(notifier, notice())
        assert [m.message["Message-ID"] for m in server.messages] == [
            "<besked.17.2026-00001@exempelkommun.se>"
        ]


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_login_with_either_mechanism_the_server_offers(password: str, mechanism: str) -> None:
    other = {"PLAIN": "LOGIN", "LOGIN": "PLAIN"}[mechanism]
    with SmtpServer(auth=("klagomal", password), auth_exclude=(other,)) as server:
        notifier = smtp_notifier(settings(server, user="klagomal", password_variable=PASSWORD_VARIABLE))
        deliver(notifier, notice())
        assert len(server.messages) == 1


def test_implicit_tls_on_the_ssl_port(password: str) -> None:
    with SmtpServer(implicit_tls=True, auth=("klagomal", password)) as server:
        notifier = smtp_notifier(
            settings(server, security="ssl", user="klagomal", password_variable=PASSWORD_VARIABLE),
            ssl_context=server.client_context,
        )
        deliver(notifier, notice())
        assert len(server.messages) == 1


def test_a_refused_login_is_permanent_and_names_the_user_and_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_VARIABLE, "fel-lösenord")
    with SmtpServer(starttls=True, auth=("klagomal", "Vinter-2026!")) as server:
        notifier = smtp_notifier(
            settings(server, security="starttls", user="klagomal", password_variable=PASSWORD_VARIABLE),
            ssl_context=server.client_context,
        )
        with pytest.raises(
            DeliveryError, match=f"nekade inloggningen som 'klagomal'.*{PASSWORD_VARIABLE}"
        ) as caught:
            deliver(notifier, notice())
        assert caught.value.permanent
        assert server.messages == []


def test_a_missing_password_is_permanent_and_nothing_is_connected_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_VARIABLE, raising=False)
    # Nothing listens on port 9: a connection would be refused, a temporary failure.
    notifier = smtp_notifier(
        settings(host="127.0.0.1", port=9, user="klagomal", password_variable=PASSWORD_VARIABLE)
    )
    with pytest.raises(DeliveryError, match=f"miljövariabeln {PASSWORD_VARIABLE} är inte satt") as caught:
        deliver(notifier, notice())
    assert caught.value.permanent


def test_starttls_that_the_server_does_not_offer_is_permanent(server: SmtpServer) -> None:
    with pytest.raises(DeliveryError, match="erbjuder inte STARTTLS") as caught:
        deliver(smtp_notifier(settings(server, security="starttls")), notice())
    assert caught.value.permanent
    assert server.messages == []


def test_a_server_certificate_that_cannot_be_verified_is_permanent() -> None:
    with SmtpServer(starttls=True) as server:
        # The default context does not trust the test's certificate authority.
        with pytest.raises(DeliveryError, match="Certifikatet för e-postservern") as caught:
            deliver(smtp_notifier(settings(server, security="starttls")), notice())
        assert caught.value.permanent
        assert server.messages == []


def test_a_server_that_requires_starttls_refuses_a_plain_session_for_good() -> None:
    with SmtpServer(require_starttls=True) as server:
        with pytest.raises(DeliveryError, match=r"avvisade .*530") as caught:
            deliver(smtp_notifier(settings(server, security="ingen")), notice())
        assert caught.value.permanent


# -- failures and what they mean for the outbox ------------------------------------------------------


def test_a_server_that_is_down_is_a_temporary_failure_and_up_again_it_delivers(server: SmtpServer) -> None:
    notifier = smtp_notifier(settings(server))
    server.stop()
    with pytest.raises(DeliveryError, match=f"127.0.0.1:{server.port}.*försöker igen senare") as caught:
        deliver(notifier, notice())
    assert not caught.value.permanent
    server.start()
    deliver(notifier, notice())
    assert len(server.messages) == 1


def test_a_4xx_reply_to_the_content_is_temporary(server: SmtpServer) -> None:
    server.reply = "451 4.3.0 Försök senare"
    with pytest.raises(
        DeliveryError, match=re.escape("451 4.3.0 Försök senare; försöker igen senare")
    ) as caught:
        deliver(smtp_notifier(settings(server)), notice())
    assert not caught.value.permanent
    assert server.messages == []


def test_a_5xx_reply_to_the_content_is_permanent(server: SmtpServer) -> None:
    server.reply = "550 5.1.1 Ingen sådan mottagare"
    with pytest.raises(
        DeliveryError, match=re.escape("avvisade meddelandet till asa.oberg@example.se: 550")
    ) as caught:
        deliver(smtp_notifier(settings(server)), notice())
    assert caught.value.permanent


def test_no_reply_after_the_content_is_uncertain(server: SmtpServer) -> None:
    # The server has the message but its reply never comes: it may have arrived.
    server.stall.set()
    with pytest.raises(DeliveryUncertainError, match="Det kan ha kommit fram"):
        deliver(smtp_notifier(settings(server, timeout=1.0)), notice())
    assert len(server.messages) == 1
    server.stall.clear()


def test_a_server_going_down_before_it_replies_is_uncertain(server: SmtpServer) -> None:
    # A crash after the content arrived: the message is there, the reply never comes.
    server.stall.set()
    outcome: list[BaseException] = []

    def attempt() -> None:
        try:
            deliver(smtp_notifier(settings(server, timeout=5.0)), notice())
        except BaseException as exc:
            outcome.append(exc)

    sending = threading.Thread(target=attempt)
    sending.start()
    deadline = time.monotonic() + 5
    while not server.messages and time.monotonic() < deadline:
        time.sleep(0.01)
    server.stop()
    sending.join()
    assert [type(exc) for exc in outcome] == [DeliveryUncertainError]
    assert len(server.messages) == 1  # it did arrive; the outbox must not send it again by itself


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("asa.oberg.example.se", "saknar @"),
        ("asa oberg@example.se", "blanksteg"),
        ("asa@example.se\r\nBcc: alla@example.se", "radbrytningar"),
        ("asa@@example.se", "mer än ett @"),
        ("asa@example", "domänen 'example' är ogiltig"),
        ("asa@exam_ple.se", "domänen"),
        (".asa@example.se", "otillåtna tecken"),
        ("asa..oberg@example.se", "otillåtna tecken"),
        ("@example.se", "namnet före @ saknas"),
        ("asa@", "domänen efter @ saknas"),
        ('"asa"@example.se', "otillåtna tecken"),
    ],
)
def test_an_invalid_address_is_permanent_before_anything_is_sent(
    server: SmtpServer, address: str, why: str
) -> None:
    # R27: a line break in an address cannot smuggle in another recipient.
    with pytest.raises(DeliveryError, match=re.escape(why)) as caught:
        check_address(address)
    assert caught.value.permanent
    recipient = Recipient("person", "Åsa Öberg", address)
    with pytest.raises(DeliveryError, match="Ogiltig e-postadress") as caught:
        deliver(smtp_notifier(settings(server)), notice(recipient=recipient))
    assert caught.value.permanent
    assert server.messages == []


def test_valid_addresses_are_kept_as_written() -> None:
    assert (
        check_address(" anna-karin.lind+synpunkt@sub.example.se ")
        == "anna-karin.lind+synpunkt@sub.example.se"
    )
    assert check_address("åsa@example.se") == "åsa@example.se"
    assert split_mailbox('"Exempelkommun, synpunkter" <synpunkter@exempelkommun.se>') == (
        "Exempelkommun, synpunkter",
        "synpunkter@exempelkommun.se",
    )
    assert split_mailbox("synpunkter@exempelkommun.se") == ("", "synpunkter@exempelkommun.se")


def test_a_name_with_a_line_break_is_refused() -> None:
    recipient = Recipient("person", "Åsa\r\nBcc: alla@example.se", "asa.oberg@example.se")
    with pytest.raises(DeliveryError, match="radbrytningar") as caught:
        build_email(notice(recipient=recipient))
    assert caught.value.permanent


def test_a_recipient_without_an_address_is_permanent(server: SmtpServer) -> None:
    with pytest.raises(DeliveryError, match=r"Mottagaren \(person\) har ingen e-postadress") as caught:
        deliver(smtp_notifier(settings(server)), notice(recipient=Recipient("person", "Åsa Öberg")))
    assert caught.value.permanent


def test_a_missing_sender_or_server_is_permanent_and_names_the_setting(server: SmtpServer) -> None:
    no_sender = attrs.evolve(settings(server), sender=None)
    with pytest.raises(DeliveryError, match=r"\[utskick\] avsandare") as caught:
        deliver(smtp_notifier(no_sender), notice(sender=""))
    assert caught.value.permanent
    send = smtp_notifier(no_sender).send
    assert send is not None
    with pytest.raises(DeliveryError, match=r"\[utskick\] avsandare"):
        send(reminder())
    with pytest.raises(DeliveryError, match=r"\[utskick.smtp\] vard") as caught:
        deliver(smtp_notifier(settings()), notice())
    assert caught.value.permanent
    assert server.messages == []


def test_a_message_without_a_sender_gets_the_organisations(server: SmtpServer) -> None:
    deliver(smtp_notifier(settings(server)), notice(sender=""))
    assert server.messages[0].message["From"] == SENDER


def test_an_invalid_message_id_is_refused() -> None:
    with pytest.raises(DeliveryError, match="inget giltigt Message-ID") as caught:
        build_email(notice(message_id="besked-17"))
    assert caught.value.permanent


def test_the_sender_class_sends_any_email_message(server: SmtpServer) -> None:
    sender = SmtpSender(settings(server).smtp)
    email_message = build_email(notice(), date=DATE)
    sender.send(email_message, sender="studsar@exempelkommun.se", recipients=["arkiv@exempelkommun.se"])
    [received] = server.messages
    assert (received.mail_from, received.rcpt_tos) == ("studsar@exempelkommun.se", ["arkiv@exempelkommun.se"])


# -- reminders to staff ----------------------------------------------------------------------------


def test_a_reminder_goes_to_the_units_mailbox(server: SmtpServer) -> None:
    # R10: the handler is reminded before the promised date passes.
    notifier = smtp_notifier(settings(server), now=at_date)
    assert notifier.send is not None
    notifier.send(reminder(html="<p>Besked ska ges senast <b>2026-03-16</b>.</p>"))
    [received] = server.messages
    assert received.rcpt_tos == ["gata@exempelkommun.se"]
    parsed = received.message
    assert parsed["Subject"] == "Påminnelse: besked i ärende 2026-00001 senast 2026-03-16"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Klagomal-Notice"] == "paminnelse"
    assert parsed["Message-ID"].endswith("@exempelkommun.se>")
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]


def test_a_reminder_without_a_mailbox_is_permanent(server: SmtpServer) -> None:
    notifier = smtp_notifier(settings(server))
    assert notifier.send is not None
    with pytest.raises(DeliveryError, match="Gatuchef Per Åström har ingen e-postadress") as caught:
        notifier.send(reminder(email=None))
    assert caught.value.permanent


def test_a_staff_email_without_html_is_plain_text() -> None:
    built = build_staff_email(
        reminder(), sender=SENDER, reply_to=None, message_id="<paminnelse.1@exempelkommun.se>", date=DATE
    )
    assert built.get_content_type() == "text/plain"
    assert built["To"] == "gata@exempelkommun.se"
    assert built["Reply-To"] is None


# -- the file notifier --------------------------------------------------------------------------------


def test_the_file_notifier_writes_exactly_what_smtp_would_send(tmp_path: Path, server: SmtpServer) -> None:
    folder = tmp_path / "utskick"
    deliver(file_notifier(folder, now=at_date), notice())
    deliver(smtp_notifier(settings(server), now=at_date), notice())
    path = folder / "2026-00001-03-besked-17.eml"
    assert sorted(p.name for p in folder.iterdir()) == [path.name]  # no temporary file left behind
    assert path.read_bytes() == build_email(notice(), date=DATE).as_bytes() == server.messages[0].data
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Besked om ditt ärende 2026-00001"
    assert parsed["To"].addresses[0].addr_spec == "asa.oberg@example.se"


def test_the_file_notifier_replaces_a_repeat_of_the_same_notice(tmp_path: Path) -> None:
    notifier = file_notifier(tmp_path)
    deliver(notifier, notice(subject="Första försöket 2026-00001"))
    deliver(notifier, notice())
    [path] = tmp_path.iterdir()
    assert email.message_from_bytes(path.read_bytes(), policy=email.policy.default)["Subject"] == (
        "Besked om ditt ärende 2026-00001"
    )


def test_the_file_notifier_checks_addresses_like_smtp(tmp_path: Path) -> None:
    recipient = Recipient("person", "Åsa Öberg", "asa.oberg@example.se\nBcc: alla@example.se")
    with pytest.raises(DeliveryError, match="radbrytningar") as caught:
        deliver(file_notifier(tmp_path), notice(recipient=recipient))
    assert caught.value.permanent
    assert list(tmp_path.iterdir()) == []


def test_the_file_notifier_writes_reminders_without_overwriting(tmp_path: Path) -> None:
    notifier = file_notifier(tmp_path, sender=SENDER, now=at_date)
    assert notifier.send is not None
    notifier.send(reminder())
    notifier.send(reminder())
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "2026-00001-paminnelse-handlaggare-20260312T093000-2.eml",
        "2026-00001-paminnelse-handlaggare-20260312T093000.eml",
    ]
    parsed = email.message_from_bytes((tmp_path / names[1]).read_bytes(), policy=email.policy.default)
    assert (parsed["From"], parsed["To"]) == (SENDER, "gata@exempelkommun.se")


def test_the_file_notifier_needs_no_sender_for_development(tmp_path: Path) -> None:
    deliver(file_notifier(tmp_path), notice(sender=""))
    [path] = tmp_path.iterdir()
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["From"].addresses[0].domain == "avsandare-saknas.invalid"


def test_a_folder_that_cannot_be_written_is_a_temporary_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "utskick"
    blocker.write_text("en fil, ingen katalog", encoding="utf-8")
    with pytest.raises(DeliveryError, match="kunde inte skrivas") as caught:
        deliver(file_notifier(blocker), notice())
    assert not caught.value.permanent


# -- the letter notifier ------------------------------------------------------------------------------


def test_the_letter_has_the_address_for_a_window_envelope_and_the_letter_itself(tmp_path: Path) -> None:
    # R13: an answer in writing, on paper.
    message = notice(
        way=LETTER,
        kind="svar",
        recipient=Recipient("person", "Åsa <Öberg> & Co", None, "Storgatan 12 B\n831 30 Östersund"),
    )
    deliver(letter_notifier(tmp_path), message)
    path = tmp_path / "2026-00001-03-svar-17.html"
    page = path.read_text(encoding="utf-8")
    block = (
        '<div class="klagomal-kuvert"><p class="klagomal-adress" aria-label="Mottagare">'
        "Åsa &lt;Öberg&gt; &amp; Co<br>Storgatan 12 B<br>831 30 Östersund</p></div>"
    )
    assert block in page
    assert page.index("<body>") < page.index(block) < page.index("<p>Hej Åsa Öberg!</p>")
    assert page.index("@page") < page.index("</head>")
    assert "&lt;gång- och cykelvägen&gt;" in page  # the letter's own escaping is kept
    assert page.count("<html") == 1
    assert ".mottagare { display: none !important; }" in page  # no second address on paper


def test_an_address_on_one_line_is_split_at_its_commas() -> None:
    recipient = Recipient("person", "Åsa Öberg", None, "c/o Lind, Storgatan 12 B, 831 30 Östersund")
    page = render_letter(notice(way=LETTER, recipient=recipient))
    assert "Åsa Öberg<br>c/o Lind<br>Storgatan 12 B<br>831 30 Östersund</p>" in page


def test_a_letter_fragment_is_wrapped_in_a_page() -> None:
    page = render_letter(notice(way=LETTER, html="<p>Tack för ditt beröm av hemtjänsten!</p>"))
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    assert page.index("klagomal-adress") < page.index("Tack för ditt beröm")


def test_a_letter_without_a_postal_address_is_permanent(tmp_path: Path) -> None:
    recipient = Recipient("person", "Åsa Öberg", "asa.oberg@example.se")
    with pytest.raises(DeliveryError, match="ingen postadress") as caught:
        deliver(letter_notifier(tmp_path), notice(way=LETTER, recipient=recipient))
    assert caught.value.permanent
    assert list(tmp_path.iterdir()) == []


# -- the log notifier and the built-in registration --------------------------------------------------


def test_the_log_notifier_logs_a_notice(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="klagomal.notices"):
        deliver(log_notifier(), notice())
    [record] = [r for r in caplog.records if r.name == "klagomal.notices"]
    assert record.getMessage().startswith(
        "besked i ärende 2026-00001 (epost) till Åsa Öberg (person) <asa.oberg@example.se>: "
        "Besked om ditt ärende 2026-00001\nHej Åsa Öberg!"
    )


def test_klagomal_notifiers_builtin_are_set_up_from_utskick(tmp_path: Path) -> None:
    delivery = DeliverySettings(
        sender=SENDER, folder=str(tmp_path / "ut"), smtp=SmtpSettings(host="smtp.example.se")
    )
    organisation = attrs.evolve(default_organisation(), delivery=delivery)
    notifiers = {n.name: n for n in builtin_notifiers(organisation)}
    assert sorted(notifiers) == ["fil", "log", "smtp", "utskrift"]
    assert all(n.deliver is not None for n in notifiers.values())
    assert notifiers["utskrift"].send is None
    assert delivery.notifier_for_email in notifiers
    assert delivery.letter_notifier in notifiers
    deliver(notifiers["fil"], notice())
    deliver(notifiers["utskrift"], notice(way=LETTER))
    assert sorted(p.name for p in (tmp_path / "ut").iterdir()) == [
        "2026-00001-03-besked-17.eml",
        "2026-00001-03-besked-17.html",
    ]


def test_klagomal_notifiers_builtin_reach_the_registry(make_klagomal: Callable[..., Klagomal]) -> None:
    k = make_klagomal()
    assert {"log", "fil", "utskrift", "smtp"} <= set(k.registry.notifiers)


def test_the_environment_variable_is_read_when_sending(
    monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    # The password is never in the organisation file, and a change needs no restart.
    with SmtpServer(auth=("klagomal", password)) as server:
        notifier = smtp_notifier(settings(server, user="klagomal", password_variable=PASSWORD_VARIABLE))
        monkeypatch.setenv(PASSWORD_VARIABLE, "nytt-lösenord")
        with pytest.raises(DeliveryError, match="nekade inloggningen"):
            deliver(notifier, notice())
        monkeypatch.setenv(PASSWORD_VARIABLE, password)
        deliver(notifier, notice())
        assert len(server.messages) == 1
    assert os.environ[PASSWORD_VARIABLE] == password

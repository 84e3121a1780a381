"""Reading a mailbox over IMAP (``[[intag.imap]]``, ``Klagomal.read_mailbox``,
``klagomal intake imap``) against a real Dovecot on loopback
(tests/imap_server.py): each message is stored, and only then moved to
``klar_mapp``; never lost and never a second case, also when the process
is killed between the two (R4, R30).

The storage-dependent heart (messages become cases and move; the kill) runs
on SQLite, PostgreSQL and MariaDB; the rest on SQLite, to keep the file fast.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from held_lock import held_write_lock
from imap_server import NEITHER, NO_MOVE, PASSWORD, ImapServer, free_port
from klagomal import FixedClock, Klagomal
from klagomal.core.errors import ConfigurationError, InvalidInputError
from klagomal.core.organisation import Organisation, parse_organisation
from klagomal.intake.imap import folder_name, source_file, xoauth2
from klagomal.testing import START

ROOT = Path(__file__).resolve().parent.parent
EXEMPELKOMMUN = (ROOT / "src" / "klagomal" / "data" / "exempelkommun.toml").read_text(encoding="utf-8")
TODAY = START.isoformat()


@pytest.fixture(scope="module")
def server() -> Iterator[ImapServer]:
    with ImapServer() as running:
        yield running


@pytest.fixture
def user(server: ImapServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh mailbox; klagomal trusts the server's CA and knows the password."""
    monkeypatch.setenv("SSL_CERT_FILE", server.ca_file)
    monkeypatch.setenv("KLAGOMAL_IMAP_LOSENORD", PASSWORD)
    return server.new_user()


def org_text(server: ImapServer, user: str, **keys: Any) -> str:
    """Exempelkommun with one ``[[intag.imap]]`` reading *user*'s INBOX (or
    more tables: ``keys`` may be a list of dicts under ``tables``)."""
    tables = keys.pop("tables", None) or [keys]
    text = EXEMPELKOMMUN
    for extra in tables:
        table: dict[str, Any] = {
            "namn": "synpunkter",
            "vard": "127.0.0.1",
            "port": server.imaps_port,
            "anvandare": user,
            "tidsgrans": 5,
            **extra,
        }
        text += "\n[[intag.imap]]\n" + "".join(
            f"{key} = {json.dumps(value, ensure_ascii=False)}\n"
            for key, value in table.items()
            if value is not None
        )
    return text


def organisation(server: ImapServer, user: str, **keys: Any) -> Organisation:
    return parse_organisation(org_text(server, user, **keys), "kommun.toml")


def klagomal(url: str, org: Organisation) -> Klagomal:
    k = Klagomal(url, organisation=org, clock=FixedClock(START), load_entrypoints=False)
    k.init()
    return k


def mail(n: int, *, subject: str = "Trasig gatlykta", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"Person {n} <person{n}@example.se>"
    message["To"] = "synpunkter@exempelkommun.se"
    message["Subject"] = f"{subject} {n}"
    message["Message-ID"] = f"<imap-{n}-{time.monotonic_ns()}@example.se>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(f"Hej! Gatlyktan vid Storgatan {n} är trasig sedan en vecka. Jag klagar.\n")
    return message.as_bytes().replace(b"\n", b"\r\n")


# -- the heart, on every backend --------------------------------------------------------------


def test_messages_become_cases_and_move_to_klar_mapp(
    server: ImapServer, user: str, new_database: Callable[[], str]
) -> None:
    sent = [mail(1), mail(2), mail(3)]
    server.append(user, *sent)
    assert "Hanterade" not in server.folders(user)
    k = klagomal(new_database(), organisation(server, user))

    run = k.read_mailbox()

    [result] = run.mailboxes
    assert (result.name, result.error, result.moved, result.left) == ("synpunkter", None, 3, 0)
    assert [o.outcome for o in result.outcomes] == ["registered"] * 3
    assert [m.uid for m in result.messages] == [1, 2, 3]
    # Stored exactly as the server had them, each a case of its own.
    assert len(k.cases()) == 3
    stored = k.received_messages(outcomes=["registered"], with_raw=True)
    assert [m.raw for m in stored] == sent
    assert {m.source for m in stored} == {"imap"}
    assert stored[0].source_file is not None
    assert re.fullmatch(
        rf"imap://{re.escape(user.replace('@', '%40'))}@127\.0\.0\.1:{server.imaps_port}/INBOX;"
        r"UIDVALIDITY=\d+/;UID=1",
        stored[0].source_file,
    )
    # Moved, only now: the folder was created, INBOX is empty, and nothing was marked read.
    assert server.messages(user, "INBOX") == []
    assert server.messages(user, "Hanterade") == sent

    again = k.read_mailbox()
    assert (again.outcomes, again.moved, again.errors) == ((), 0, [])
    assert len(k.cases()) == 3
    k.dispose()


def test_a_kill_between_storing_and_moving_leaves_one_case_and_the_next_run_moves_it(
    server: ImapServer, user: str, new_database: Callable[[], str], tmp_path: Path
) -> None:
    sent = mail(1)
    server.append(user, sent)
    url = new_database()
    org_file = tmp_path / "kommun.toml"
    org_file.write_text(org_text(server, user), encoding="utf-8")
    klagomal(url, parse_organisation(org_file.read_text(encoding="utf-8"))).dispose()

    child = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "imap_child.py"), url, str(org_file), TODAY],
        capture_output=True,
        text=True,
        timeout=120,
        env=_child_env(),
    )

    assert child.returncode == -9, child.stderr  # SIGKILL, right after the store committed
    assert json.loads(child.stdout)["outcome"] == "registered"
    # Stored and not moved: exactly the window the kill was aimed at.
    assert server.messages(user, "INBOX") == [sent]
    k = klagomal(url, parse_organisation(org_file.read_text(encoding="utf-8")))
    [case] = k.cases()

    run = k.read_mailbox()

    assert [o.outcome for o in run.outcomes] == ["duplicate"]
    assert run.outcomes[0].reference == case.reference
    assert (run.moved, run.errors) == (1, [])
    assert [c.reference for c in k.cases()] == [case.reference]
    assert server.messages(user, "INBOX") == []
    assert server.messages(user, "Hanterade") == [sent]
    k.dispose()


def _child_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


# -- what the intake keeps without a case is moved too ---------------------------------------------


@pytest.fixture
def k_for(tmp_path: Path) -> Iterator[Callable[[Organisation], Klagomal]]:
    made: list[Klagomal] = []

    def make(org: Organisation) -> Klagomal:
        made.append(klagomal(f"sqlite:///{tmp_path / f'k{len(made)}.db'}", org))
        return made[-1]

    yield make
    for k in made:
        k.dispose()


def test_a_duplicate_an_unreadable_and_an_automatic_message_are_all_stored_and_moved(
    server: ImapServer, user: str, k_for: Callable[[Organisation], Klagomal]
) -> None:
    k = k_for(organisation(server, user))
    known = mail(1)
    assert k.receive_email(known, source="smtp").outcome == "registered"  # came by SMTP already
    unreadable = b"\r\nBara text, inga rubriker alls.\r\n"
    automatic = mail(2, subject="Tack för ditt mejl", Auto_Submitted="auto-replied")
    server.append(user, known, unreadable, automatic)

    run = k.read_mailbox()

    assert [(o.outcome, o.reason) for o in run.outcomes] == [
        ("duplicate", None),
        ("quarantined", "meddelandet saknar rubriker: det börjar med en tom rad"),
        ("automatic", "auto-reply"),
    ]
    assert (run.moved, run.errors) == (3, [])
    assert len(k.cases()) == 1  # the one from SMTP; nothing lost, nothing twice
    assert [m.raw for m in k.received_messages(outcomes=["quarantined"], with_raw=True)] == [unreadable]
    assert server.messages(user, "INBOX") == []
    assert server.messages(user, "Hanterade") == [known, unreadable, automatic]


def test_a_database_that_will_not_store_leaves_the_message_and_stops_the_mailbox(
    server: ImapServer, user: str, k_for: Callable[[Organisation], Klagomal]
) -> None:
    k = k_for(organisation(server, user))
    sent = [mail(1), mail(2)]
    server.append(user, *sent)
    url = k.storage.engine.url.render_as_string(hide_password=False)

    with held_write_lock(url):
        run = k.with_lock_wait(0.3).read_mailbox()

    [result] = run.mailboxes
    assert (result.messages, result.moved, result.left) == ((), 0, 2)
    assert result.error is not None
    assert result.error.startswith(
        "brevlådan 'synpunkter': meddelande UID 1 kunde inte sparas och ligger kvar i INBOX "
        "till nästa körning: "
    )
    assert "Databasen är upptagen, försök igen om en stund" in result.error
    assert server.messages(user, "INBOX") == sent
    assert k.cases() == []
    # Once the database is back, the next run takes both.
    assert k.read_mailbox().moved == 2
    assert len(k.cases()) == 2


def test_a_storage_failure_of_another_kind_is_named_by_its_type_without_the_messages_data(
    server: ImapServer, user: str, k_for: Callable[[Organisation], Klagomal]
) -> None:
    """A database driver's error quotes the statement and its values (the
    sender, the subject): the error a run reports and logs names its type."""
    k = k_for(organisation(server, user))
    sent = mail(1)
    server.append(user, sent)
    with k.storage.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON received_messages BEGIN SELECT RAISE(ABORT, 'nej'); END"
        )

    [error] = k.read_mailbox().errors

    assert error == (
        "brevlådan 'synpunkter': meddelande UID 1 kunde inte sparas och ligger kvar i INBOX till nästa "
        "körning: oväntat fel (IntegrityError); meddelandet sparades inte"
    )
    assert server.messages(user, "INBOX") == [sent]


# -- limits and stopping --------------------------------------------------------------------------


def test_limit_and_should_stop_leave_the_rest_for_the_next_run(
    server: ImapServer, user: str, k_for: Callable[[Organisation], Klagomal]
) -> None:
    k = k_for(organisation(server, user))
    server.append(user, mail(1), mail(2), mail(3), mail(4))

    first = k.read_mailbox(limit=1)
    assert (first.moved, first.mailboxes[0].left) == (1, 3)

    asked = []

    def stop_after_one() -> bool:
        asked.append(1)
        return len(asked) > 2  # once for the mailbox, once for its first message

    second = k.read_mailbox(should_stop=stop_after_one)
    assert (second.moved, second.mailboxes[0].left, second.errors) == (1, 2, [])
    assert k.read_mailbox(should_stop=lambda: True).mailboxes == ()
    assert k.read_mailbox().moved == 2
    assert len(k.cases()) == 4
    with pytest.raises(InvalidInputError, match="'limit' ska vara minst 1"):
        k.read_mailbox(limit=0)


# -- servers, logins and failures ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("security", "host", "port"),
    [
        ("starttls", "127.0.0.1", "imap_port"),
        ("ingen", "localhost", "imap_port"),
        ("ssl", NO_MOVE, "imaps_port"),
    ],
)
def test_starttls_plain_text_on_loopback_and_a_server_without_move(
    server: ImapServer,
    user: str,
    k_for: Callable[[Organisation], Klagomal],
    security: str,
    host: str,
    port: str,
) -> None:
    """STARTTLS, plain text to this machine, and a server without MOVE:
    there a message is copied, marked deleted and expunged by its UID
    (UIDPLUS), and the folder is left empty."""
    k = k_for(organisation(server, user, sakerhet=security, vard=host, port=getattr(server, port)))
    sent = [mail(1), mail(2)]
    server.append(user, *sent)

    run = k.read_mailbox()

    assert (run.moved, run.errors) == (2, [])
    assert server.messages(user, "INBOX") == []
    assert server.messages(user, "Hanterade") == sent


def test_a_server_that_can_neither_move_nor_expunge_one_message_is_refused_before_reading(
    server: ImapServer, user: str, k_for: Callable[[Organisation], Klagomal]
) -> None:
    k = k_for(organisation(server, user, vard=NEITHER))
    server.append(user, mail(1))

    run = k.read_mailbox()

    assert run.outcomes == ()
    assert run.errors == [
        f"brevlådan 'synpunkter': IMAP-servern {NEITHER}:{server.imaps_port} kan varken flytta ett "
        "meddelande (MOVE) eller radera just ett (UIDPLUS); utan något av dem kan klagomal inte flytta "
        "meddelandena till Hanterade utan att röra andras raderade meddelanden"
    ]
    assert len(server.messages(user, "INBOX")) == 1


def test_a_klar_mapp_with_swedish_letters_and_spaces_is_created_and_used(
    server: ImapServer, user: str, k_for: Callable[[Organisation], Klagomal]
) -> None:
    k = k_for(organisation(server, user, klar_mapp='Klagomål "klara"'))
    sent = mail(1)
    server.append(user, sent)

    assert k.read_mailbox().moved == 1

    assert folder_name('Klagomål "klara"') == '"Klagom&AOU-l \\"klara\\""'
    assert 'Klagom&AOU-l "klara"' in server.folders(user)
    assert server.messages(user, 'Klagom&AOU-l "klara"') == [sent]


def test_a_wrong_password_moves_nothing_and_says_what_to_check(
    server: ImapServer, user: str, k_for: Callable[[Organisation], Klagomal], monkeypatch: pytest.MonkeyPatch
) -> None:
    k = k_for(organisation(server, user))
    server.append(user, mail(1))
    monkeypatch.setenv("KLAGOMAL_IMAP_LOSENORD", "fel lösenord")

    run = k.read_mailbox()

    assert run.errors == [
        f"brevlådan 'synpunkter': IMAP-servern 127.0.0.1:{server.imaps_port} nekade inloggningen som "
        f"'{user}': [AUTHENTICATIONFAILED] Authentication failed.; kontrollera 'anvandare' och lösenordet "
        "i miljövariabeln KLAGOMAL_IMAP_LOSENORD"
    ]
    assert (run.outcomes, run.moved) == ((), 0)
    assert k.received_messages(outcomes=["registered", "quarantined"]) == []
    assert len(server.messages(user, "INBOX")) == 1


def test_a_folder_that_does_not_exist_is_named(
    server: ImapServer, user: str, k_for: Callable[[Organisation], Klagomal]
) -> None:
    k = k_for(organisation(server, user, mapp="Synpunkter"))
    server.append(user, mail(1))

    [error] = k.read_mailbox().errors

    assert error.startswith(
        f"brevlådan 'synpunkter': IMAP-servern 127.0.0.1:{server.imaps_port} avvisade mappen Synpunkter: "
        "NO Mailbox doesn't exist: Synpunkter"
    )
    assert "Hanterade" not in server.folders(user)  # nothing was done


def test_an_unset_password_variable_is_named_before_connecting(
    server: ImapServer, user: str, k_for: Callable[[Organisation], Klagomal], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A port where nothing listens: the missing password is named, not the connection.
    k = k_for(organisation(server, user, losenord_miljovariabel="SYNPUNKTER_LOSENORD", port=free_port()))
    monkeypatch.delenv("SYNPUNKTER_LOSENORD", raising=False)

    assert k.read_mailbox().errors == [
        "brevlådan 'synpunkter': lösenordet saknas: miljövariabeln SYNPUNKTER_LOSENORD är inte satt "
        f"('losenord_miljovariabel', användare '{user}')"
    ]


def test_a_server_that_cannot_be_reached_is_an_error_within_the_timeout(
    server: ImapServer, user: str, k_for: Callable[[Organisation], Klagomal]
) -> None:
    closed = free_port()  # nothing listens here
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, and never says a word
        quiet = silent.getsockname()[1]
        orgs = organisation(
            server,
            user,
            tables=[
                {"namn": "stangd", "port": closed},
                {"namn": "tyst", "port": quiet, "tidsgrans": 1},
                {"namn": "klartext", "port": server.imap_port},  # TLS at once, to the plain-text port
            ],
        )
        k = k_for(orgs)
        started = time.monotonic()
        run = k.read_mailbox()
        took = time.monotonic() - started

    assert run.errors == [
        f"brevlådan 'stangd': kontakten med IMAP-servern 127.0.0.1:{closed} misslyckades (anslutningen): "
        "anslutningen nekades (ingen IMAP-server lyssnar på porten)",
        f"brevlådan 'tyst': kontakten med IMAP-servern 127.0.0.1:{quiet} misslyckades "
        "(anslutningen): inget svar på 1 sekunder ('tidsgrans')",
        f"brevlådan 'klartext': kontakten med IMAP-servern 127.0.0.1:{server.imap_port} misslyckades "
        "(anslutningen): TLS misslyckades (WRONG_VERSION_NUMBER); stämmer 'sakerhet' och 'port' med servern?",
    ]
    assert took < 5, took


def test_a_certificate_that_is_not_trusted_is_refused(
    server: ImapServer, user: str, k_for: Callable[[Organisation], Klagomal], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")  # the system's authorities do not know the test CA
    k = k_for(organisation(server, user))

    [error] = k.read_mailbox().errors

    assert error.startswith(
        f"brevlådan 'synpunkter': certifikatet för IMAP-servern 127.0.0.1:{server.imaps_port} kunde inte "
        "verifieras (anslutningen): "
    )


# -- OAuth2 (XOAUTH2), against Dovecot's oauth2 passdb and a token introspection endpoint -----------


def test_oauth2_with_a_token_from_a_variable_and_from_a_command(
    server: ImapServer,
    user: str,
    k_for: Callable[[Organisation], Klagomal],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    token = server.new_token(user)
    monkeypatch.setenv("SYNPUNKTER_TOKEN", token)
    script = tmp_path / "token.py"
    script.write_text(f"print({token!r})\n", encoding="utf-8")
    k = k_for(
        organisation(
            server,
            user,
            tables=[
                {"namn": "variabel", "inloggning": "oauth2", "token_miljovariabel": "SYNPUNKTER_TOKEN"},
                {"namn": "kommando", "inloggning": "oauth2", "token_kommando": f"{sys.executable} {script}"},
            ],
        )
    )
    server.append(user, mail(1))
    monkeypatch.delenv("KLAGOMAL_IMAP_LOSENORD")  # no password anywhere

    run = k.read_mailbox()

    assert (run.errors, run.moved) == ([], 1)
    assert [m.moved for m in run.mailboxes] == [1, 0]  # the second login found the folder empty


def test_oauth2_refusals_say_where_the_token_came_from(
    server: ImapServer,
    user: str,
    k_for: Callable[[Organisation], Klagomal],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("KLAGOMAL_IMAP_TOKEN", "inte-en-giltig-token")
    failing = tmp_path / "fails.py"
    failing.write_text("import sys\nsys.exit('AADSTS7000215: Invalid client secret provided.')\n")
    k = k_for(
        organisation(
            server,
            user,
            tables=[
                {"namn": "ogiltig", "inloggning": "oauth2"},
                {"namn": "fel", "inloggning": "oauth2", "token_kommando": f"{sys.executable} {failing}"},
                {"namn": "saknas", "inloggning": "oauth2", "token_kommando": "/finns/inte --token"},
            ],
        )
    )
    server.append(user, mail(1))

    run = k.read_mailbox()

    assert run.errors == [
        f"brevlådan 'ogiltig': IMAP-servern 127.0.0.1:{server.imaps_port} nekade inloggningen som '{user}': "
        "[AUTHENTICATIONFAILED] Authentication failed.; kontrollera 'anvandare' och åtkomsttoken i "
        "miljövariabeln KLAGOMAL_IMAP_TOKEN",
        f"brevlådan 'fel': kommandot i 'token_kommando' ({sys.executable}) misslyckades med status 1: "
        "AADSTS7000215: Invalid client secret provided.",
        "brevlådan 'saknas': kommandot i 'token_kommando' (/finns/inte) kunde inte köras: "
        "No such file or directory",
    ]
    assert run.moved == 0
    assert len(server.messages(user, "INBOX")) == 1


def test_the_xoauth2_string_has_the_documented_form() -> None:
    """``user=...^Aauth=Bearer ...^A^A`` (what Microsoft and Google document)."""
    assert xoauth2("synpunkter@exempelkommun.se", "ya29.abc") == (
        b"user=synpunkter@exempelkommun.se\x01auth=Bearer ya29.abc\x01\x01"
    )


# -- the facade's configuration errors -------------------------------------------------------------


def test_no_mailbox_configured_and_an_unknown_name_are_refused(
    server: ImapServer, user: str, k_for: Callable[[Organisation], Klagomal]
) -> None:
    plain = k_for(parse_organisation(EXEMPELKOMMUN, "kommun.toml"))
    with pytest.raises(ConfigurationError) as error:
        plain.read_mailbox()
    assert str(error.value) == (
        "ingen brevlåda att läsa över IMAP är inställd: lägg till en tabell [[intag.imap]] i "
        "organisationsfilen (kommun.toml)"
    )
    k = k_for(organisation(server, user))
    with pytest.raises(InvalidInputError) as unknown:
        k.read_mailbox("okand")
    assert str(unknown.value) == (
        "steg 'ta emot e-post': det finns ingen brevlåda 'okand' i [[intag.imap]]; "
        "de inställda är: synpunkter"
    )


def test_reading_needs_the_right_to_register_feedback(
    server: ImapServer, user: str, k_for: Callable[[Organisation], Klagomal]
) -> None:
    from klagomal.core.errors import AccessDeniedError

    k = k_for(organisation(server, user))
    server.append(user, mail(1))
    with pytest.raises(AccessDeniedError):
        k.as_user("sven.ek").read_mailbox()  # Exempelkommun's lasare
    assert len(server.messages(user, "INBOX")) == 1


def test_source_file_names_server_user_folder_uidvalidity_and_uid() -> None:
    org = parse_organisation(
        EXEMPELKOMMUN + '\n[[intag.imap]]\nnamn = "a"\nvard = "imap.exempelkommun.se"\n'
        'anvandare = "synpunkter@exempelkommun.se"\n'
        'mapp = "Inkorg/Synpunkter och klagomål"\n',
        "kommun.toml",
    )
    assert source_file(org.intake.imap[0], 1700000000, 17) == (
        "imap://synpunkter%40exempelkommun.se@imap.exempelkommun.se:993/"
        "Inkorg/Synpunkter%20och%20klagom%C3%A5l;UIDVALIDITY=1700000000/;UID=17"
    )


# -- the command line ---------------------------------------------------------------------------------


def _cli(org_file: Path, db: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "klagomal.cli", "--db", db, "--org", str(org_file), "--today", TODAY, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=_child_env(),
    )


def test_the_command_line_reads_the_mailbox(server: ImapServer, user: str, tmp_path: Path) -> None:
    from tests.test_cli import run_main

    org_file = tmp_path / "kommun.toml"
    org_file.write_text(
        org_text(server, user, tables=[{}, {"namn": "tom", "anvandare": server.new_user()}]), encoding="utf-8"
    )
    db = f"sqlite:///{tmp_path / 'k.db'}"
    klagomal(db, parse_organisation(org_file.read_text(encoding="utf-8"))).dispose()
    first = mail(1)
    server.append(user, first, mail(2, subject="Tack för ditt mejl", Auto_Submitted="auto-replied"), first)
    common = ["--db", db, "--org", str(org_file), "--today", TODAY, "intake", "imap"]

    ran = run_main([*common, "--mailbox", "synpunkter", "--limit", "2"])
    assert (ran.status, ran.err) == (0, "")
    assert ran.out == (
        "synpunkter UID 1: registrerat som 2026-00001\n"
        "synpunkter UID 2: automatiskt meddelande, inget ärende (auto-reply)\n"
        "synpunkter: 2 meddelanden: 1 nya ärenden, 0 svar, 0 redan mottagna, 1 automatiska, 0 i karantän; "
        "2 flyttade till Hanterade; 1 ligger kvar till nästa körning\n"
    )
    ran = run_main(["--json", *common])
    assert (ran.status, ran.err) == (0, "")
    answer = json.loads(ran.out)
    [synpunkter, empty] = answer["mailboxes"]
    assert synpunkter["counts"] == {"duplicate": 1}
    assert synpunkter["messages"][0]["uid"] == 3
    assert synpunkter["messages"][0]["moved"] is True
    assert synpunkter["messages"][0]["outcome"] == "duplicate"
    assert synpunkter["messages"][0]["source_file"].endswith(";UID=3")
    assert (synpunkter["moved"], synpunkter["left"], synpunkter["error"]) == (1, 0, None)
    assert (empty["name"], empty["messages"], empty["error"]) == ("tom", [], None)


def test_the_command_line_names_the_error_and_exits_with_1(
    server: ImapServer, user: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_cli import run_main

    org_file = tmp_path / "kommun.toml"
    org_file.write_text(org_text(server, user), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'k.db'}"
    klagomal(db, parse_organisation(org_file.read_text(encoding="utf-8"))).dispose()
    common = ["--db", db, "--org", str(org_file), "intake", "imap"]
    monkeypatch.delenv("KLAGOMAL_IMAP_LOSENORD")

    ran = run_main(common)
    assert ran.status == 1
    assert ran.out == (
        "synpunkter: 0 meddelanden: 0 nya ärenden, 0 svar, 0 redan mottagna, 0 automatiska, 0 i karantän; "
        "0 flyttade till Hanterade\n"
    )
    assert ran.err == (
        "klagomal: brevlådan 'synpunkter': lösenordet saknas: miljövariabeln KLAGOMAL_IMAP_LOSENORD är inte "
        f"satt ('losenord_miljovariabel', användare '{user}')\n"
    )
    ran = run_main([*common, "--mailbox", "annan"])
    assert (ran.status, ran.out) == (1, "")
    assert ran.err == (
        "klagomal: steg 'ta emot e-post': det finns ingen brevlåda 'annan' i [[intag.imap]]; "
        "de inställda är: synpunkter\n"
    )
    plain = tmp_path / "utan.toml"
    plain.write_text(EXEMPELKOMMUN, encoding="utf-8")
    ran = run_main(["--db", db, "--org", str(plain), "intake", "imap"])
    assert (ran.status, ran.out) == (1, "")
    assert ran.err == (
        "klagomal: ingen brevlåda att läsa över IMAP är inställd: lägg till en tabell [[intag.imap]] i "
        f"organisationsfilen ({plain})\n"
    )


def test_the_documented_session_runs_as_shown(server: ImapServer, user: str, tmp_path: Path) -> None:
    """The console block of docs/cli.md's ``intake imap``, against Dovecot."""
    from tests.test_cli import console_block, run_main

    steps = console_block(command="intake imap")
    org_file = tmp_path / "kommun.toml"
    org_file.write_text(org_text(server, user), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'k.db'}"
    klagomal(db, parse_organisation(org_file.read_text(encoding="utf-8"))).dispose()
    server.append(user, mail(1), mail(2))
    for command, expected in steps:
        argv = command.split()[2:]
        ran = run_main(["--db", db, "--org", str(org_file), *argv])
        assert (ran.out, ran.status) == (expected, 0), command


def test_the_cli_and_a_worker_reading_at_once_store_each_message_once(
    server: ImapServer, user: str, tmp_path: Path
) -> None:
    """Two readers of one mailbox at the same moment (the command line beside
    a worker): whichever stores a message first, it is one case, and it is
    moved; the one who finds it gone says so without an error."""
    org_file = tmp_path / "kommun.toml"
    org_file.write_text(org_text(server, user), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'k.db'}"
    klagomal(db, parse_organisation(org_file.read_text(encoding="utf-8"))).dispose()
    sent = [mail(n) for n in range(1, 7)]
    server.append(user, *sent)
    results: list[subprocess.CompletedProcess[str]] = []
    readers = [
        threading.Thread(target=lambda: results.append(_cli(org_file, db, "intake", "imap"))) for _ in "ab"
    ]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()

    k = klagomal(db, parse_organisation(org_file.read_text(encoding="utf-8")))
    assert len(k.cases()) == 6
    # Every message is in klar_mapp; one that both moved at the same moment
    # may be there twice (Dovecot's MOVE is a copy and an expunge), never in the database.
    assert set(server.messages(user, "Hanterade")) == set(sent)
    assert server.messages(user, "INBOX") == []
    k.dispose()
    assert [(r.returncode, r.stderr) for r in results] == [(0, ""), (0, "")]

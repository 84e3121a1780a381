"""The intake log (R4, R27; issue 19 item 9): the received messages that
became no case (automatic messages, duplicates, the quarantine) with their
reason, date, sender and source file, and the source file of each message
in ``klagomal intake … --json``.

Messages are built with the standard library's ``email`` package; the
command line runs in-process as in test_cli.py.
"""

from __future__ import annotations

import datetime as dt
import json
import mailbox
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from klagomal import Contact, FixedClock, Klagomal
from klagomal.core.errors import AccessDeniedError, InvalidInputError
from klagomal.records.access import PERMISSIONS, PROTECTED_PLACEHOLDER, Operation, Role
from klagomal.records.audit import DENIED
from test_access import USERS
from test_cli import Cli, console_block

INSIDE = "soc-aldre-hemtjanst-norr"


def mail(
    text: str = "Jag föreslår fler bänkar i parken.",
    *,
    subject: str = "Parken",
    sender: str = "Eva Åström <eva.astrom@example.se>",
    headers: dict[str, str] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "synpunkter@exempelkommun.se"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.se")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    return message.as_bytes()


AUTO_REPLY = {"Auto-Submitted": "auto-replied"}


@pytest.fixture
def k(new_database: Callable[[], str], clock: FixedClock) -> Iterator[Klagomal]:
    instance = Klagomal(new_database(), clock=clock, load_entrypoints=False)
    instance.init()
    yield instance
    instance.dispose()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    for name in ("KLAGOMAL_DB", "KLAGOMAL_ORG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return Cli()


def test_the_log_holds_what_became_no_case(k: Klagomal, clock: FixedClock) -> None:
    registered = mail()
    assert k.receive_email(registered, source_file="/post/1.eml").outcome == "registered"
    automatic = k.receive_email(mail("Jag är borta.", subject="Autosvar", headers=AUTO_REPLY), source="smtp")
    junk = k.receive_email(b"\x00\x01 skrap", source="maildir", source_file="/post/cur/2:2,S")
    clock.advance(1)
    again = k.receive_email(registered, source="maildir", source_file="/post/cur/3:2,S")
    assert [automatic.outcome, junk.outcome, again.outcome] == ["automatic", "quarantined", "duplicate"]
    assert again.source_file == "/post/cur/3:2,S"

    log = k.intake_log()
    assert [e.outcome for e in log] == ["automatic", "quarantined", "duplicate"]
    auto, held, duplicate = log
    assert (auto.source, auto.source_file, auto.sender) == ("smtp", None, "eva.astrom@example.se")
    assert auto.reason == automatic.reason
    assert (held.source_file, held.reason, held.sender) == ("/post/cur/2:2,S", junk.reason, None)
    # A duplicate: when it came again and from where; which message it repeats.
    assert duplicate.received_at.date() == dt.date(2026, 3, 3)
    assert duplicate.source_file == "/post/cur/3:2,S"
    assert duplicate.reference == again.reference
    assert duplicate.reason == f"samma meddelande som nummer 1, som blev ärende {again.reference}"
    # The message itself keeps the file it was first read from.
    [first] = k.received_messages(reference=again.reference or "")
    assert first.source_file == "/post/1.eml"


def test_the_log_filters_by_date_and_outcome(k: Klagomal, clock: FixedClock) -> None:
    k.receive_email(mail("Borta.", subject="Autosvar", headers=AUTO_REPLY))
    clock.advance(2)
    k.receive_email(b"\x00 skrap")
    assert [e.outcome for e in k.intake_log(since=dt.date(2026, 3, 4))] == ["quarantined"]
    assert [e.outcome for e in k.intake_log(since=dt.date(2026, 3, 5))] == []
    assert [e.outcome for e in k.intake_log(outcomes=["automatic"])] == ["automatic"]
    assert k.intake_log(outcomes=["duplicate"]) == []
    with pytest.raises(InvalidInputError, match="okänt utfall 'registered'"):
        k.intake_log(outcomes=["registered"])


def test_a_released_message_leaves_the_log(k: Klagomal) -> None:
    quarantined = mail("Fortfarande trasigt.", subject="Ärende 2026-00001")
    k.register(kind="klagomal", channel="telefon", unit=INSIDE, text="Trasigt.", contact=None)
    assert k.receive_email(quarantined).outcome == "quarantined"
    [entry] = k.intake_log()
    k.release_from_quarantine(entry.message_id, new=True)
    assert k.intake_log() == []


def test_an_export_carries_the_log(k: Klagomal, clock: FixedClock, new_database: Callable[[], str]) -> None:
    # Moving to another database keeps what became no case, and where it came from.
    raw = mail("Borta.", subject="Autosvar", headers=AUTO_REPLY)
    k.receive_email(raw, source="maildir", source_file="inkorg/cur/1:2,S")
    clock.advance(1)
    k.receive_email(raw, source="mbox", source_file="post.mbox#0")
    before = k.intake_log()
    assert [(e.outcome, e.source_file) for e in before] == [
        ("automatic", "inkorg/cur/1:2,S"),
        ("duplicate", "post.mbox#0"),
    ]
    with Klagomal(new_database(), clock=clock, load_entrypoints=False) as copy:
        copy.init()
        copy.import_(k.export())
        assert copy.intake_log() == before


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_reading_the_log_needs_the_right_to_read_the_quarantine(k: Klagomal, role: Role) -> None:
    # R27: the same right as 'list --quarantine' (registering feedback), denied and audited alike.
    k.receive_email(b"\x00 skrap")
    acting = k.as_user(USERS[role])
    audit = k.as_user("system")
    if Operation.REGISTER in PERMISSIONS[role]:
        assert [e.outcome for e in acting.intake_log()] == ["quarantined"]
        entry = audit.audit_log(user_id=USERS[role])[-1]
        assert (entry.action, entry.detail) == ("lasa", "intake log: 1 messages without a case")
    else:
        with pytest.raises(AccessDeniedError):
            acting.intake_log()
        [denied] = [e for e in audit.audit_log(user_id=USERS[role]) if e.outcome == DENIED]
        assert denied.action == Operation.REGISTER.value


def test_a_duplicate_of_a_protected_person_s_message_is_shown_as_the_case_is(k: Klagomal) -> None:
    hidden = Contact(name="Sanna Gömd", email="sanna.gomd@example.se", protected=True)
    case = k.register(kind="klagomal", channel="epost", unit=INSIDE, text="Ingen kom.", contact=hidden)
    reply = mail("Fortfarande ingen.", subject=f"Ärende {case.reference}", sender="sanna.gomd@example.se")
    assert [k.receive_email(reply).outcome, k.receive_email(reply).outcome] == ["reply", "duplicate"]
    [seen] = k.as_user("nora.lind").intake_log()  # skyddade = true
    assert (seen.sender, seen.reference) == ("sanna.gomd@example.se", case.reference)
    [masked] = k.as_user("omar.ali").intake_log()  # handles the unit, may not see who she is
    assert (masked.sender, masked.subject) == (PROTECTED_PLACEHOLDER, PROTECTED_PLACEHOLDER)
    # Someone who may not read the case does not learn that it was written to again.
    assert k.as_user("kontaktcenter").intake_log() == []
    entries = k.as_user("system").audit_log(reference=case.reference)
    assert any(e.user_id == "omar.ali" and e.detail == "intake log" for e in entries)


def test_intake_json_names_each_source_file(cli: Cli, tmp_path: Path) -> None:
    cli.ok("init")
    one = tmp_path / "ett.eml"
    one.write_bytes(mail())
    obj = cli.ok(f"intake email {one}", json=True).json()
    assert (obj["outcome"], obj["source_file"]) == ("registered", str(one))
    folder = tmp_path / "inkorg"
    box = mailbox.Maildir(folder, create=True)
    key = box.add(mail("Borta", subject="Autosvar", headers=AUTO_REPLY))
    [message] = cli.ok(f"intake maildir {folder}", json=True).json()["messages"]
    assert message["source_file"] == str(folder / "cur" / f"{key}:2,S")
    assert (folder / "cur" / f"{key}:2,S").exists()  # where it is now, marked read
    path = tmp_path / "post.mbox"
    path.write_bytes(b"From eva@example.se Mon Mar  2 10:00:00 2026\n" + mail().replace(b"\r\n", b"\n"))
    [boxed] = cli.ok(f"intake mbox {path}", json=True).json()["messages"]
    assert boxed["source_file"] == f"{path}#0"
    assert boxed["outcome"] == "registered"


def test_intake_log_on_the_command_line(cli: Cli, tmp_path: Path) -> None:
    cli.ok("init")
    folder = tmp_path / "inkorg"
    box = mailbox.Maildir(folder, create=True)
    box.add(mail("Borta", subject="Autosvar", headers=AUTO_REPLY))
    box.add(mail())
    cli.ok(f"intake maildir {folder}", today="2026-03-02")
    # The same files again: each a duplicate now, read from cur/.
    cli.ok(f"intake maildir {folder}", today="2026-03-03")
    odd = tmp_path / "konstigt\x1b[31mnamn.eml"
    odd.write_bytes(b"\x00 skrap")
    cli.ok(["intake", "email", str(odd)], today="2026-03-03")

    shown = cli.ok("intake log", today="2026-03-03").out
    lines = shown.splitlines()
    assert lines[-1] == "4 mottagna meddelanden blev inget ärende"
    assert "\x1b" not in shown  # a file name cannot colour the terminal
    assert "automatiskt" in lines[0]
    assert "eva.astrom@example.se" in lines[0]
    assert sum("dubblett" in line for line in lines) == 2
    assert any("i karantän" in line and "konstigt" in line for line in lines)

    obj = cli.ok("intake log --outcome duplicate --since 2026-03-03", json=True).json()
    assert [m["outcome"] for m in obj["messages"]] == ["duplicate", "duplicate"]
    assert all(m["source_file"].startswith(str(folder / "cur")) for m in obj["messages"])
    assert obj["messages"][0].keys() == {
        "outcome", "received_at", "message_id", "message_key", "sender", "subject", "reason",
        "reference", "source", "source_file",
    }  # fmt: skip
    only = cli.ok("intake log --outcome automatic --outcome quarantined", json=True).json()["messages"]
    assert [m["outcome"] for m in only] == ["automatic", "quarantined"]
    assert cli.ok("intake log --since 2026-03-04", today="2026-03-04").out == (
        "0 mottagna meddelanden blev inget ärende\n"
    )
    refused = cli.refused("intake log --outcome registered", status=2)
    assert "registered" in refused.err
    json.loads(cli.ok("intake log", json=True).out)  # one JSON object


BREV = (
    b"From: Eva Svensson <eva@example.se>\nTo: synpunkter@exempelkommun.se\nSubject: Parken\n"
    b"Message-ID: <1@example.se>\n\nJag f\xc3\xb6resl\xc3\xa5r fler b\xc3\xa4nkar i parken.\n"
)
AUTOSVAR = (
    b"From: Bo Ek <bo@example.se>\nTo: synpunkter@exempelkommun.se\nSubject: Autosvar: Besked\n"
    b"Auto-Submitted: auto-replied\nMessage-ID: <2@example.se>\n\nJag \xc3\xa4r p\xc3\xa5 semester.\n"
)


def intake_log_example() -> list[tuple[str, str]]:
    """The console block in docs/cli.md that shows ``intake log``."""
    return console_block(command=" intake log")


def test_the_intake_log_example_in_the_docs_runs_as_shown(cli: Cli, tmp_path: Path) -> None:
    from test_cli import run_session

    (tmp_path / "brev.eml").write_bytes(BREV)
    (tmp_path / "autosvar.eml").write_bytes(AUTOSVAR)
    cli.ok("init")
    steps = intake_log_example()
    assert any(command.endswith("intake log") for command, _ in steps)
    assert run_session(steps) == steps

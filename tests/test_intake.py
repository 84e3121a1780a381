"""Intake into the database: e-mail (one message, Maildir, mbox), the
quarantine, replies threaded into their case, duplicates, auto-replies,
reply cards (CSV), and the quick path for staff (resolved at once).

Messages are built with the standard library's ``email`` package; the
hand-written fixtures of real mail clients are parsed in test_mailparse.py.
"""

from __future__ import annotations

import datetime as dt
import mailbox
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import register_case
from klagomal import FixedClock, Klagomal, hookimpl
from klagomal.core.errors import AccessDeniedError, CaseNotFoundError, InvalidInputError, InvalidStepError
from klagomal.core.model import Contact, Finding
from klagomal.records.audit import DENIED
from test_cli import Cli

RESPOND_BY = dt.date(2026, 3, 27)


def mail(
    text: str = "Hej! Jag vill klaga på snöröjningen på Storgatan, den har inte plogats på tre dagar.",
    *,
    subject: str = "Snöröjning",
    sender: str = "Eva Åström <eva.astrom@example.se>",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "synpunkter@exempelkommun.se"
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="example.se")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if attachment:
        message.add_attachment(attachment[1], maintype="application", subtype="pdf", filename=attachment[0])
    return message.as_bytes()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The CLI, in-process, in an empty working directory of its own."""
    for name in ("KLAGOMAL_DB", "KLAGOMAL_ORG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return Cli()


@pytest.fixture
def k(new_database: Callable[[], str], clock: FixedClock) -> Iterator[Klagomal]:
    instance = Klagomal(new_database(), clock=clock, load_entrypoints=False)
    instance.init()
    yield instance
    instance.dispose()


def test_an_email_becomes_a_case_with_its_bytes_kept(k: Klagomal) -> None:
    # R4: e-mail straight into the database, no retyping; R30: nothing to fill in.
    raw = mail(attachment=("bild.pdf", b"%PDF-1.4 snohog"))
    outcome = k.receive_email(raw, source="smtp")
    assert outcome.outcome == "registered"
    case = k.get(outcome.reference or "")
    assert (case.channel, case.unit, case.kind.value) == ("epost", "klf-kontaktcenter", "klagomal")
    assert case.contact is not None
    assert (case.contact.name, case.contact.email) == ("Eva Åström", "eva.astrom@example.se")
    assert "inte plogats på tre dagar" in case.text
    [stored] = k.received_messages(reference=case.reference, with_raw=True)
    assert (stored.outcome, stored.source, stored.raw) == ("registered", "smtp", raw)
    [attachment] = k.attachments(case.reference)
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "bild.pdf",
        "application/pdf",
        15,
    )
    notes = k.history(case.reference)[0].data.notes
    assert any("Snöröjning" in note for note in notes)  # the subject, for the handler


def test_the_kind_is_what_the_person_says_or_a_suggestion_to_check(k: Klagomal) -> None:
    # R2: the person decides; a message that does not say can still become anything.
    said = k.receive_email(mail("Stort beröm till personalen på biblioteket!", subject="Tack"))
    assert k.get(said.reference or "").kind.value == "berom"
    unsaid = k.receive_email(mail("Kan ni ringa mig om parkeringen?", subject="Parkering"))
    case = k.get(unsaid.reference or "")
    assert case.kind.value == "forslag"
    assert any("reclassify" in note for note in k.history(case.reference)[0].data.notes)


def test_the_same_message_twice_is_stored_once(k: Klagomal) -> None:
    raw = mail(message_id="<abc123@example.se>")
    first = k.receive_email(raw)
    again = k.receive_email(raw)
    assert (first.outcome, again.outcome, again.reference) == ("registered", "duplicate", first.reference)
    assert len(k.cases()) == 1
    # Without a Message-ID the bytes themselves identify it.
    bare = mail().replace(b"Message-ID:", b"X-Old-Id:")
    assert [k.receive_email(bare).outcome, k.receive_email(bare).outcome] == ["registered", "duplicate"]


def test_a_reply_to_a_notice_is_threaded_into_its_case(k: Klagomal) -> None:
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    [besked] = k.outbox(reference=ref)
    reply = mail(
        "Tack för beskedet. Det hände igen i morse.\n\n> Ditt ärende har nummer " + ref,
        subject="SV: Besked om ditt ärende",
        in_reply_to=besked.message_id,
        sender="Eva Svensson <eva@example.se>",
    )
    outcome = k.receive_email(reply)
    assert (outcome.outcome, outcome.reference) == ("reply", ref)
    event = k.history(ref)[-1]
    assert event.type == "message_received"
    assert "Det hände igen i morse." in event.data.text
    assert "Ditt ärende har nummer" not in event.data.text  # the quote is not new text
    assert len(k.cases()) == 1
    assert k.rebuild(ref) == k.get(ref)


def test_a_reply_naming_the_case_in_the_subject_is_threaded(k: Klagomal) -> None:
    ref = register_case(k).reference
    outcome = k.receive_email(
        mail("Jag har ett foto också.", subject=f"Re: ärende {ref}", sender="Eva Svensson <eva@example.se>")
    )
    assert (outcome.outcome, outcome.reference) == ("reply", ref)
    # A reference that does not exist makes a new case instead.
    other = k.receive_email(mail("Om ärende 2026-09999", subject="Ärende 2026-09999"))
    assert other.outcome == "registered"


STRANGER = "Mallory Främling <mallory@angripare.example>"


def test_a_stranger_naming_a_case_is_quarantined_not_joined(k: Klagomal) -> None:
    # Whoever knows a reference must not be able to write into that case.
    ref = register_case(k).reference
    before = k.history(ref)
    raw = mail("Jag skriver i ert ärende.", subject=f"hej {ref}", sender=STRANGER)
    outcome = k.receive_email(raw)
    assert outcome.outcome == "quarantined"
    assert f"ärende {ref}" in (outcome.reason or "")
    assert "avsändaren" in (outcome.reason or "")
    assert k.history(ref) == before
    assert len(k.cases()) == 1  # nor a new case: it claims to belong to one
    [kept] = k.received_messages(outcomes=["quarantined"], with_raw=True)
    assert (kept.raw, kept.reason, kept.reference) == (raw, outcome.reason, None)
    assert k.received_messages(reference=ref) == []
    # The case's contact, however she writes her address, is let in.
    own = k.receive_email(mail("Ett foto till.", subject=f"Re: {ref}", sender="Eva <EVA@Example.SE>"))
    assert (own.outcome, own.reference) == ("reply", ref)
    assert k.history(ref)[-1].type == "message_received"


def test_a_forged_reply_to_a_notice_is_quarantined(k: Klagomal) -> None:
    # klagomal's Message-IDs can be guessed from a reference: naming one proves nothing on its own.
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    [besked] = k.outbox(reference=ref)
    before = k.history(ref)
    forged = k.receive_email(mail("Ändra min adress.", subject="SV: Besked", in_reply_to=besked.message_id,
                                  sender=STRANGER))  # fmt: skip
    assert forged.outcome == "quarantined"
    assert f"besked i ärende {ref}" in (forged.reason or "")
    assert k.history(ref) == before


def test_an_address_a_notice_of_the_case_went_to_may_reply(
    new_database: Callable[[], str], clock: FixedClock, tmp_path: Path
) -> None:
    import attrs

    from klagomal.core.organisation import default_organisation

    organisation = default_organisation()
    delivery = attrs.evolve(organisation.delivery, email_notifier="fil", folder=str(tmp_path))
    organisation = attrs.evolve(organisation, delivery=delivery)
    with Klagomal(new_database(), clock=clock, organisation=organisation, load_entrypoints=False) as k:
        k.init()
        ref = register_case(k).reference
        k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
        k.answer(ref, "skriftligt", "Vi har pratat med personalen.")
        k.close(ref, False)
        k.escalate(ref, "Inte nöjd")
        [escalation] = [n for n in k.outbox(reference=ref) if n.kind == "eskalering_chef"]

        def answer() -> bytes:
            return mail(
                "Jag tar över ärendet.",
                subject="SV: Ärende lyft till dig",
                in_reply_to=escalation.message_id,
                sender="Socialchefen <socialforvaltningen@exempelkommun.se>",
            )

        # Not yet e-mailed to anyone: the address is not the case's.
        assert k.receive_email(answer()).outcome == "quarantined"
        k.deliver()
        [sent] = [n for n in k.outbox(reference=ref) if n.kind == "eskalering_chef"]
        assert sent.address == "socialforvaltningen@exempelkommun.se"
        again = k.receive_email(answer())
        assert (again.outcome, again.reference) == ("reply", ref)


def test_a_protected_contacts_address_is_never_in_the_reason(k: Klagomal) -> None:
    hidden = Contact(name="Sanna Gömd", email="sanna.gomd@example.se", phone="070-987 65 43", protected=True)
    ref = register_case(k, contact=hidden).reference
    outcome = k.receive_email(mail("Hej", subject=f"SV: {ref}", sender="Sanna <sanna.gomd@annan.example>"))
    assert outcome.outcome == "quarantined"
    [kept] = k.received_messages(outcomes=["quarantined"])
    for reason in (outcome.reason or "", kept.reason or ""):
        assert ref in reason
        assert not any(s in reason for s in ("sanna.gomd@example.se", "Gömd", "987 65 43"))


def test_release_puts_a_claimed_message_into_its_case(k: Klagomal) -> None:
    ref = register_case(k).reference
    other = register_case(k).reference
    first = k.receive_email(
        mail("Jag är Evas granne och såg det också.", subject=f"ärende {ref}", sender=STRANGER)
    )
    [held] = k.received_messages(outcomes=["quarantined"])
    # Into the case it named, by default; its sender is known to the case from then on.
    released = k.release_from_quarantine(held.id or 0)
    assert (first.outcome, released.outcome, released.reference) == ("quarantined", "reply", ref)
    assert "Evas granne" in k.history(ref)[-1].data.text
    again = k.receive_email(mail("Och en sak till.", subject=f"Re: ärende {ref}", sender=STRANGER))
    assert (again.outcome, again.reference) == ("reply", ref)
    # Into another case the handler names, or as a new case.
    k.receive_email(mail("Fel nummer i ämnet.", subject=f"ärende {other}", sender="Bo <bo@example.se>"))
    k.receive_email(
        mail("Jag föreslår en ny lekplats.", subject=f"ang. {other}", sender="Cecilia <c@example.se>")
    )
    [wrong, new] = k.received_messages(outcomes=["quarantined"])
    with pytest.raises(CaseNotFoundError):
        k.release_from_quarantine(wrong.id or 0, into="2026-09999")
    with pytest.raises(InvalidInputError, match="--unit"):
        k.release_from_quarantine(wrong.id or 0, into=ref, unit="klf-kontaktcenter")
    moved = k.release_from_quarantine(wrong.id or 0, into=ref)
    assert (moved.outcome, moved.reference) == ("reply", ref)
    assert k.history(other)[-1].type != "message_received"
    registered = k.release_from_quarantine(new.id or 0, new=True)
    assert registered.outcome == "registered"
    assert registered.reference not in (ref, other)
    assert k.received_messages(outcomes=["quarantined"]) == []


def test_release_into_a_case_needs_the_right_to_handle_it(k: Klagomal) -> None:
    ref = register_case(k).reference  # at soc-aldre-hemtjanst-norr
    k.receive_email(mail("Hej", subject=f"ärende {ref}", sender=STRANGER))
    [held] = k.received_messages(outcomes=["quarantined"])
    before = k.history(ref)
    outside = k.as_user("kontaktcenter")  # a handler of klf-kontaktcenter only
    with pytest.raises(AccessDeniedError, match=ref):
        outside.release_from_quarantine(held.id or 0)
    with pytest.raises(AccessDeniedError, match=ref):
        outside.release_from_quarantine(held.id or 0, into=ref)
    assert k.history(ref) == before
    assert [m.id for m in k.received_messages(outcomes=["quarantined"])] == [held.id]
    denied = [e for e in k.audit_log(user_id="kontaktcenter") if e.outcome == DENIED]
    assert [(e.action, e.reference) for e in denied] == [("handlagga", ref)] * 2
    released = k.as_user("omar.ali").release_from_quarantine(held.id or 0)
    assert (released.outcome, released.reference) == ("reply", ref)


def test_the_same_message_id_with_other_bytes_is_a_new_message(k: Klagomal) -> None:
    # Only the same bytes are the same message: a Message-ID is whatever the sender wrote.
    first = mail("Gatlyktan på Storgatan är trasig.", message_id="<samma@example.se>")
    second = mail("Jag vill klaga på bussen, den kom aldrig.", message_id="<samma@example.se>")
    one = k.receive_email(first)
    two = k.receive_email(second)
    assert (one.outcome, two.outcome) == ("registered", "registered")
    assert one.reference != two.reference
    assert "<samma@example.se>" in (two.reason or "")
    assert "bussen" in k.get(two.reference or "").text
    assert any("<samma@example.se>" in n for n in k.history(two.reference or "")[0].data.notes)
    assert [k.receive_email(first).outcome, k.receive_email(second).outcome] == ["duplicate", "duplicate"]
    kept = k.received_messages(with_raw=True)
    assert [m.raw for m in kept] == [first, second]
    assert kept[0].message_key == "<samma@example.se>"
    assert kept[1].message_key != kept[0].message_key
    assert k.received_messages(reference=two.reference)[0].reason == two.reason


def test_a_message_stored_meanwhile_under_its_message_id_does_not_swallow_it(
    new_database: Callable[[], str], clock: FixedClock
) -> None:
    # Two receivers at once: the other one stores a message with the same Message-ID between
    # this one's look-up and its insert.  This one's message is still stored, under its digest.
    import attrs

    from klagomal.core.organisation import default_organisation
    from klagomal.core.settings import IntakeSettings

    url = new_database()
    if url.startswith("sqlite"):
        pytest.skip("SQLite takes the write lock at BEGIN: the two cannot interleave")
    # No receiving unit: both wait in the quarantine, so neither takes a lock the other needs.
    organisation = attrs.evolve(default_organisation(), intake=IntakeSettings())
    with (
        Klagomal(url, clock=clock, organisation=organisation, load_entrypoints=False) as k,
        Klagomal(url, clock=clock, organisation=organisation, load_entrypoints=False) as other,
    ):
        k.init()
        mine = mail("Min text.", message_id="<krock@example.se>")
        theirs = mail("Deras text.", message_id="<krock@example.se>")
        meanwhile: list[str] = []

        def interleave(conn: object, cursor: object, statement: str, *args: object) -> None:
            if statement.startswith("INSERT INTO received_messages") and not meanwhile:
                meanwhile.append(other.receive_email(theirs).outcome)

        sa.event.listen(k.storage.engine, "before_cursor_execute", interleave)
        outcome = k.receive_email(mine)
        assert (meanwhile, outcome.outcome) == (["quarantined"], "quarantined")
        kept = k.received_messages(with_raw=True)
        assert [m.raw for m in kept] == [theirs, mine]
        assert [m.message_key for m in kept] == ["<krock@example.se>", outcome.message_key]
        assert outcome.message_key.startswith("sha256:")


def test_a_display_name_without_letters_is_no_name(k: Klagomal) -> None:
    raw = mail(subject="Gatlyktan", sender="Robert'); DROP TABLE cases;-- <robert@example.se>")
    outcome = k.receive_email(raw)
    case = k.get(outcome.reference or "")
    assert case.contact is not None
    assert (case.contact.name, case.contact.email) == (None, "robert@example.se")
    k.acknowledge(case.reference, "Hanna Lind", RESPOND_BY)
    assert k.letter(case.reference).text.startswith("Hej!\n")


def test_auto_replies_and_bounces_make_no_case(k: Klagomal) -> None:
    away = mail("Jag är på semester.", subject="Frånvaro", headers={"Auto-Submitted": "auto-replied"})
    assert k.receive_email(away).outcome == "automatic"
    assert k.cases() == []
    assert [m.outcome for m in k.received_messages()] == ["automatic"]  # kept all the same


@pytest.mark.parametrize(
    ("sender", "headers", "reason"),
    [
        # A list passing on a neighbour's post, with only Mailman's header to say so.
        ("Grannar <grannar@lists.example.org>", {"X-Mailman-Version": "2.1.39"}, "mailing-list"),
        # A bounce that is no delivery report, from a server that signs with its name.
        ("Mail Delivery Subsystem <bounces@mx.example.net>", {}, "bounce"),
        ("MAILER-DAEMON (Mail Delivery System)", {}, "bounce"),
        # One of klagomal's own notices come back: answered, it would come back again.
        ("Exempelkommun <synpunkter@exempelkommun.se>", {}, "own-address"),
        ("SYNPUNKTER@Exempelkommun.SE", {}, "own-address"),
    ],
    ids=["list", "delivery-subsystem", "bare-mailer-daemon", "own-address", "own-address-any-case"],
)
def test_mail_no_person_wrote_is_kept_makes_no_case_and_is_never_answered(
    k: Klagomal, sender: str, headers: dict[str, str], reason: str
) -> None:
    raw = mail("Hej! Snöröjningen på Storgatan är dålig.", sender=sender, headers=headers)
    outcome = k.receive_email(raw)
    assert (outcome.outcome, outcome.reference, outcome.reason) == ("automatic", None, reason)
    assert k.cases() == []
    assert k.outbox() == []
    [kept] = k.received_messages(with_raw=True)
    assert (kept.outcome, kept.reason, kept.raw) == ("automatic", reason, raw)


def test_the_loop_guard_holds_for_a_reply_naming_a_case_and_not_for_the_kommuns_staff(k: Klagomal) -> None:
    case = k.receive_email(mail()).reference or ""
    back = mail("Kopia av beskedet", subject=f"Re: Ärende {case}", sender="synpunkter@exempelkommun.se")
    assert k.receive_email(back).outcome == "automatic"
    assert [e.type for e in k.history(case)] == ["registered"]
    # A member of staff writing from the kommun's domain is a person.
    staff = mail(
        "Gatlyktan vid skolan är trasig.",
        subject="Gatlykta",
        sender="Hanna Holm <hanna.holm@exempelkommun.se>",
    )
    assert k.receive_email(staff).outcome == "registered"


def test_the_quarantine_shows_the_sender_and_subject_of_a_message_it_could_not_parse(k: Klagomal) -> None:
    # A NUL byte in the Subject keeps the message from being parsed, but
    # its From can be read: the quarantine shows it, so she can be reached.
    raw = (
        b"From: Karin Lindqvist <Karin.Lindqvist@Example.SE>\r\nTo: synpunkter@exempelkommun.se\r\n"
        b"Subject: Klagom\x00l p\xc3\xa5 sn\xc3\xb6r\xc3\xb6jningen\r\nMessage-ID: <nul@example.se>\r\n"
        b"\r\nGatan har inte plogats.\r\n"
    )
    outcome = k.receive_email(raw)
    assert (outcome.outcome, outcome.reason) == ("quarantined", "rubrikerna innehåller NUL-tecken")
    [held] = k.received_messages(with_raw=True)
    assert (held.sender, held.subject, held.raw) == (
        "Karin.Lindqvist@example.se",
        "Klagoml på snöröjningen",
        raw,
    )


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00" * 10, b"Subject: \x00\r\n\r\n", b"From: \xff\xfe\r\n\r\n", b"not a message at all"],
    ids=["empty", "nuls", "nul-subject", "undecodable-from", "no-headers"],
)
def test_what_cannot_be_read_of_an_unparsable_message_is_left_empty(k: Klagomal, raw: bytes) -> None:
    assert k.receive_email(raw).outcome == "quarantined"
    [held] = k.received_messages(with_raw=True)
    assert (held.sender, held.subject, held.raw) == (None, None, raw)


def test_what_cannot_be_read_goes_to_quarantine_never_dropped(k: Klagomal) -> None:
    junk = b"\x00\x01\x02 not a message \xff\xfe" * 40
    outcome = k.receive_email(junk)
    assert outcome.outcome == "quarantined"
    assert outcome.reason
    [kept] = k.received_messages(outcomes=["quarantined"], with_raw=True)
    assert kept.raw == junk
    assert kept.reason == outcome.reason
    assert k.receive_email(junk).outcome == "duplicate"


def test_a_registration_a_plugin_refuses_goes_to_quarantine(
    new_database: Callable[[], str], clock: FixedClock
) -> None:
    class Strict:
        @hookimpl
        def klagomal_validate_intake(self) -> list[Finding]:
            return [Finding.rejection("e-post tas inte emot här")]

    with Klagomal(new_database(), clock=clock, plugins=[Strict()], load_entrypoints=False) as k:
        k.init()
        outcome = k.receive_email(mail())
        assert outcome.outcome == "quarantined"
        assert "e-post tas inte emot här" in (outcome.reason or "")
        assert k.cases() == []


def test_sql_and_script_in_mail_are_just_text(k: Klagomal) -> None:
    text = "Robert'); DROP TABLE cases; -- <script>alert('x')</script> tack"
    outcome = k.receive_email(mail(text))
    case = k.get(outcome.reference or "")
    assert "DROP TABLE cases;" in case.text
    assert len(k.cases()) == 1


ANY_BYTES = st.one_of(
    st.binary(max_size=2000),
    st.builds(
        lambda head, body: head + b"\r\n\r\n" + body,
        st.sampled_from([b"From: a@b.se", b"Subject: =?utf-8?q?=C3=A5?=", b"Content-Type: multipart/mixed"]),
        st.binary(max_size=500),
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=ANY_BYTES)
def test_any_bytes_end_as_a_case_or_in_quarantine(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    """Whatever arrives, it is stored with an outcome; nothing raises."""
    url = f"sqlite:///{tmp_path_factory.mktemp('intake') / 'k.db'}"
    with Klagomal(url, clock=FixedClock(dt.date(2026, 3, 2)), load_entrypoints=False) as k:
        k.init()
        outcome = k.receive_email(raw)
        assert outcome.outcome in {"registered", "reply", "automatic", "quarantined"}
        [kept] = k.received_messages(with_raw=True)
        assert kept.raw == raw


# -- mailboxes and reply cards on the command line --------------------------------------------


def test_a_maildir_is_taken_in_once(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "inkorg"
    box = mailbox.Maildir(folder, create=True)
    for raw in (
        mail(message_id="<1@example.se>"),
        mail("Jag föreslår fler bänkar i parken.", message_id="<2@example.se>"),
        mail(
            "Borta",
            subject="Autosvar",
            message_id="<3@example.se>",
            headers={"Auto-Submitted": "auto-replied"},
        ),
        b"\x00\x00 skrap",
    ):
        box.add(raw)
    cli.ok("init")
    first = cli.ok(f"intake maildir {folder}", today="2026-03-02", json=True).json()
    assert first["counts"] == {"registered": 2, "automatic": 1, "quarantined": 1}
    again = cli.ok(f"intake maildir {folder}", today="2026-03-02", json=True).json()
    assert again["counts"] == {"duplicate": 4}
    assert all(m.get_subdir() == "cur" for m in mailbox.Maildir(folder, create=False))
    listed = cli.ok("list --quarantine").out
    assert listed.endswith("1 meddelande i karantän\n")


def test_an_mbox_is_taken_in(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "synpunkter.mbox"
    box = mailbox.mbox(path)
    box.add(mail(message_id="<m1@example.se>"))
    box.add(mail("Tack för hjälpen i receptionen, stort beröm!", message_id="<m2@example.se>"))
    box.flush()
    cli.ok("init")
    run = cli.ok(f"intake mbox {path}", today="2026-03-02")
    assert run.out.endswith(
        "2 meddelanden: 2 nya ärenden, 0 svar, 0 redan mottagna, 0 automatiska, 0 i karantän\n"
    )


def test_a_single_message_from_a_file(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "brev.eml").write_bytes(mail())
    cli.ok("init")
    assert cli.ok("intake email brev.eml", today="2026-03-02").out == "registrerat som 2026-00001\n"
    assert cli.ok("intake email brev.eml", today="2026-03-02").out == "redan mottaget (2026-00001)\n"


CARDS = """\ufeffkort;typ;text;enhet;mottaget;namn;telefon;dimensioner
101;klagomal;Maten på Solgården är kall.;soc-aldre-solgarden;2026-02-27;Gösta Berg;070-111 22 33;bemotande
102;berom;Underbar personal!;soc-aldre-solgarden;;;;
103;klagomal;Ingen enhet som finns;soc-finns-inte;2026-02-27;;;
;forslag;Fler bänkar i parken.;;;;;tillganglighet
"""


def test_reply_cards_from_csv(cli: Cli, tmp_path: Path) -> None:
    # R4: reply cards, scanned or typed; an error is reported, the rest registered, nothing twice.
    (tmp_path / "kort.csv").write_text(CARDS, encoding="utf-8")
    cli.ok("init")
    run = cli("intake csv kort.csv", today="2026-03-02")
    assert run.status == 1
    assert run.out.startswith("4 kort lästa: 3 registrerade, 0 redan registrerade, 1 med fel.")
    rejected = (tmp_path / "kort.csv.rejected.jsonl").read_text(encoding="utf-8")
    assert '"line": 4' in rejected
    assert "soc-finns-inte" in rejected
    again = cli("intake csv kort.csv", today="2026-03-02")
    assert again.out.startswith("4 kort lästa: 0 registrerade, 3 redan registrerade, 1 med fel.")
    listed = cli.ok("list", json=True).json()["cases"]
    assert sorted(c["channel"] for c in listed) == ["svarskort"] * 3
    anonymous = [c for c in listed if c["anonymous"]]
    assert len(anonymous) == 2  # R5: reply cards may be anonymous
    assert {c["unit"] for c in listed} == {"soc-aldre-solgarden", "klf-kontaktcenter"}


# -- the quick path: resolved at once (R14, R29) ---------------------------------------------


def test_staff_can_register_and_resolve_at_once(k: Klagomal) -> None:
    case = k.register(
        kind="klagomal",
        channel="telefon",
        unit="kof-badhus",
        text="Duschen i herrarnas omklädningsrum är kall.",
        contact=None,
        resolved="Bytte termostat medan personen väntade.",
        resolved_by="Badmästare Ola",
    )
    assert (case.state.value, case.resolved_at_once, case.handler, case.satisfied) == (
        "avslutat",
        True,
        "Badmästare Ola",
        True,
    )
    assert [e.type for e in k.history(case.reference)] == ["registered", "resolved_at_once"]
    assert k.outbox(reference=case.reference) == []  # told in person
    assert k.rebuild(case.reference) == case
    timeliness = k.timeliness(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert (timeliness.acknowledgements, timeliness.acknowledged_in_time) == (1, 1)


def test_resolving_at_once_is_refused_where_the_routine_says_no(k: Klagomal) -> None:
    serious = register_case(k, serious=True).reference
    with pytest.raises(InvalidStepError, match="R15"):
        k.resolve_at_once(serious, "Pratade med personalen.", "Lena Holm")
    acknowledged = register_case(k).reference
    k.acknowledge(acknowledged, "Hanna Lind", RESPOND_BY)
    with pytest.raises(InvalidStepError, match="kräver status registrerat"):
        k.resolve_at_once(acknowledged, "Klart.", "Hanna Lind")
    with pytest.raises(InvalidInputError, match="vem som löste det direkt"):
        k.register(kind="klagomal", channel="besok", unit="kof-badhus", text="Kallt.", resolved="Fixat.")
    assert len(k.cases()) == 2


def test_the_quick_path_on_the_command_line(cli: Cli) -> None:
    cli.ok("init")
    run = cli.ok(
        [
            "register", "--kind", "klagomal", "--channel", "besok", "--unit", "kof-bibliotek",
            "--text", "Hittar inga lånekort.", "--anonymous", "--resolved", "Gav ett nytt lånekort.",
            "--resolved-by", "Bibliotekarie Sara",
        ],
        today="2026-03-02",
    )  # fmt: skip
    assert run.out.startswith("Registrerade 2026-00001 (Klagomål) hos Biblioteket, löst direkt av ")
    assert run.out.endswith("Bibliotekarie Sara och avslutat.\n")
    assert "Löst direkt" in cli.ok("show 2026-00001").out


FIXTURES = sorted((Path(__file__).parent / "data" / "mail").glob("*.eml"))
EXPECTED = {
    "binary-junk.eml": "quarantined",
    "nul-in-header.eml": "quarantined",
    "out-of-office-sv.eml": "automatic",
    "bounce-delivery-status.eml": "automatic",
    "mailing-list.eml": "automatic",
}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_every_kind_of_real_mail_is_stored_with_an_outcome(
    db_url: str, clock: FixedClock, path: Path
) -> None:
    # R4: real clients' mail, and broken mail, all end up stored; never an exception.
    raw = path.read_bytes()
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as k:
        k.init()
        outcome = k.receive_email(raw, source="maildir")
        assert outcome.outcome == EXPECTED.get(path.name, "registered"), outcome
        [kept] = k.received_messages(with_raw=True)
        assert kept.raw == raw
        if outcome.outcome == "registered":
            case = k.get(outcome.reference or "")
            assert case.channel == "epost"
            assert case.text.strip()
            assert "<script" not in case.text.lower()


def test_show_lists_the_attachments(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "brev.eml").write_bytes(mail(attachment=("bild.pdf", b"%PDF-1.4 snohog")))
    cli.ok("init")
    cli.ok("intake email brev.eml", today="2026-03-02")
    shown = cli.ok("show 2026-00001", today="2026-03-02").out
    assert "Bilagor:\n  bild.pdf  application/pdf  15 byte\n" in shown
    assert cli.ok("show 2026-00001", json=True).json()["attachments"][0]["filename"] == "bild.pdf"


def test_received_messages_move_with_an_export(k: Klagomal, db_url: str, clock: FixedClock) -> None:
    # Moving to another database keeps the original e-mails and the quarantine.
    registered = k.receive_email(mail(attachment=("bild.pdf", b"%PDF-1.4 snohog")))
    k.receive_email(b"\x00 skrap")
    exported = k.export()
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as copy:
        copy.init()
        copy.import_(exported)
        assert copy.export() == exported
        [kept] = copy.received_messages(reference=registered.reference, with_raw=True)
        [original] = k.received_messages(reference=registered.reference, with_raw=True)
        assert kept.raw == original.raw
        assert [a.filename for a in copy.attachments(registered.reference or "")] == ["bild.pdf"]
        assert [m.raw for m in copy.received_messages(outcomes=["quarantined"], with_raw=True)] == [
            b"\x00 skrap"
        ]
        # A message for a case that is not in the file is refused, with nothing written.
        with Klagomal(f"{db_url}-2", clock=clock, load_entrypoints=False) as other:
            other.init()
            with pytest.raises(InvalidInputError, match="hör till ärende"):
                other.import_({**exported, "cases": []})
            assert other.received_messages() == []


def test_a_quarantined_message_is_released_once_its_cause_is_fixed(
    new_database: Callable[[], str], clock: FixedClock
) -> None:
    import attrs

    from klagomal.core.organisation import default_organisation
    from klagomal.core.settings import IntakeSettings

    # No receiving unit configured: new e-mail cannot be registered, so it waits in quarantine.
    organisation = attrs.evolve(default_organisation(), intake=IntakeSettings())
    with Klagomal(new_database(), clock=clock, organisation=organisation, load_entrypoints=False) as k:
        k.init()
        raw = mail(attachment=("bild.pdf", b"%PDF-1.4 snohog"))
        held = k.receive_email(raw)
        assert held.outcome == "quarantined"
        assert "enhet" in (held.reason or "")
        junk = k.receive_email(b"\x00 skrap")
        [first, second] = k.received_messages(outcomes=["quarantined"])
        with pytest.raises(InvalidInputError, match="kan fortfarande inte registreras"):
            k.release_from_quarantine(first.id or 0)
        released = k.release_from_quarantine(first.id or 0, unit="klf-kontaktcenter")
        assert released.outcome == "registered"
        case = k.get(released.reference or "")
        assert case.unit == "klf-kontaktcenter"
        assert [a.filename for a in k.attachments(case.reference)] == ["bild.pdf"]
        [kept] = k.received_messages(reference=case.reference, with_raw=True)
        assert (kept.outcome, kept.raw) == ("registered", raw)
        assert [m.id for m in k.received_messages(outcomes=["quarantined"])] == [second.id]
        with pytest.raises(InvalidInputError, match="finns inte i karantänen"):
            k.release_from_quarantine(first.id or 0, unit="klf-kontaktcenter")
        with pytest.raises(InvalidInputError, match="kan fortfarande inte läsas"):
            k.release_from_quarantine(second.id or 0)
        assert junk.outcome == "quarantined"
        assert k.receive_email(raw).outcome == "duplicate"  # still known by its Message-ID


def test_release_on_the_command_line(cli: Cli, tmp_path: Path) -> None:
    source = (Path(__file__).parent.parent / "src" / "klagomal" / "data" / "exempelkommun.toml").read_text(
        "utf-8"
    )
    start = source.index("[intag]")
    (tmp_path / "kommun.toml").write_text(source[:start] + source[source.index("\n\n", start) :], "utf-8")
    (tmp_path / "brev.eml").write_bytes(mail())
    org = ["--org", "kommun.toml"]
    cli.ok([*org, "init"])
    held = cli.ok([*org, "intake", "email", "brev.eml"], today="2026-03-02").out
    assert held.startswith("i karantän: registreringen gick inte: ")
    listed = cli.ok([*org, "list", "--quarantine"]).out
    assert listed.startswith("1  ")
    released = cli.ok([*org, "intake", "release", "1", "--unit", "klf-kontaktcenter"], today="2026-03-02")
    assert released.out == "registrerat som 2026-00001\n"
    assert cli.ok([*org, "list", "--quarantine"]).out == "0 meddelanden i karantän\n"
    assert "finns inte i karantänen" in cli.refused([*org, "intake", "release", "1"]).err


def test_a_stranger_and_a_release_into_its_case_on_the_command_line(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLAGOMAL_USER", "nora.lind")
    cli.ok("init")
    cli.ok(
        ["register", "--kind", "klagomal", "--channel", "telefon", "--unit", "kof-badhus",
         "--text", "Duschen är kall.", "--name", "Eva Svensson", "--email", "eva@example.se"],
        today="2026-03-02",
    )  # fmt: skip
    (tmp_path / "hej.eml").write_bytes(
        mail("Jag skriver i ert ärende.", subject="hej 2026-00001", sender=STRANGER)
    )
    held = cli.ok("intake email hej.eml", today="2026-03-02").out
    assert held.startswith("i karantän: ")
    assert "2026-00001" in held
    assert "Jag skriver i ert ärende" not in cli.ok("show 2026-00001").out
    assert cli.ok("list --quarantine").out.startswith("1  ")
    released = cli.ok("intake release 1 --into 2026-00001", today="2026-03-02")
    assert released.out == "svar i ärende 2026-00001\n"
    assert "Jag skriver i ert ärende" in cli.ok("show 2026-00001").out
    assert cli.ok("list --quarantine").out == "0 meddelanden i karantän\n"
    (tmp_path / "ny.eml").write_bytes(
        mail("Fler bänkar i parken.", subject="hej 2026-00001", sender=STRANGER)
    )
    assert cli.ok("intake email ny.eml", today="2026-03-02").out == "svar i ärende 2026-00001\n"
    (tmp_path / "fel.eml").write_bytes(
        mail("Fler bänkar.", subject="2026-00001", sender="Bo <bo@example.se>")
    )
    cli.ok("intake email fel.eml", today="2026-03-02")
    assert "finns inte" in cli.refused("intake release 3 --into 2026-00042", today="2026-03-02").err
    assert "--unit" in cli.refused("intake release 3 --into 2026-00001 --unit kof-badhus").err
    assert cli.ok("intake release 3 --new", today="2026-03-02").out == "registrerat som 2026-00002\n"


def test_same_message_id_and_a_name_without_letters_on_the_command_line(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLAGOMAL_USER", "nora.lind")
    cli.ok("init")
    sender = "Robert'); DROP TABLE cases;-- <robert@example.se>"
    (tmp_path / "a.eml").write_bytes(mail("Gatlyktan är trasig.", message_id="<x@example.se>", sender=sender))
    (tmp_path / "b.eml").write_bytes(mail("Bussen kom aldrig.", message_id="<x@example.se>", sender=sender))
    assert cli.ok("intake email a.eml", today="2026-03-02").out == "registrerat som 2026-00001\n"
    second = cli.ok("intake email b.eml", today="2026-03-02").out
    assert second.startswith("registrerat som 2026-00002 (")
    assert "<x@example.se>" in second
    for name, reference in (("a", "2026-00001"), ("b", "2026-00002")):
        assert cli.ok(f"intake email {name}.eml", today="2026-03-02").out == f"redan mottaget ({reference})\n"
    assert "Bussen kom aldrig." in cli.ok("show 2026-00002").out
    cli.ok("acknowledge 2026-00002 --handler Hanna", today="2026-03-02")
    assert cli.ok("letter 2026-00002", today="2026-03-02").out.split("\n")[2] == "Hej!"

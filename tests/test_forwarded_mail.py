"""Forwarded mail (R4, R29; issue 19 item 8): a member of staff forwards a
person's e-mail to the intake address, and the forwarded original's sender
becomes the case's contact, with a note naming who forwarded it.

Both ways of forwarding are built with the standard library's ``email``
package: the original attached as ``message/rfc822``, and inline below a
forward marker (Gmail, Thunderbird, Apple Mail) or Outlook's header block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from klagomal import Case, FixedClock, Klagomal
from klagomal.intake.mail.forwards import address_in, find_inline_forward
from klagomal.intake.mailparse import parse_mail

STAFF = "Anna Berg <anna.berg@exempelkommun.se>"
CITIZEN_TEXT = "Hej! Jag vill klaga på snöröjningen på Storgatan, den har inte plogats på tre dagar."


@pytest.fixture
def k(new_database: Callable[[], str], clock: FixedClock) -> Iterator[Klagomal]:
    instance = Klagomal(new_database(), clock=clock, load_entrypoints=False)
    instance.init()
    yield instance
    instance.dispose()


def email_of(case: Case) -> str | None:
    return None if case.contact is None else case.contact.email


def original(
    text: str = CITIZEN_TEXT, sender: str = "Eva Åström <eva.astrom@example.se>", subject: str = "Snöröjning"
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "anna.berg@exempelkommun.se"
    message["Subject"] = subject
    message["Date"] = "Mon, 02 Mar 2026 08:15:00 +0100"
    message["Message-ID"] = make_msgid(domain="example.se")
    message.set_content(text)
    return message


def attached(comment: str = "Hej, detta kom till mig. /Anna", *, sender: str = STAFF, **kwargs: str) -> bytes:
    """The original attached as message/rfc822, as Thunderbird and Outlook may forward."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "synpunkter@exempelkommun.se"
    message["Subject"] = "VB: Snöröjning"
    message["Message-ID"] = make_msgid(domain="exempelkommun.se")
    message.set_content(comment)
    message.add_attachment(original(**kwargs))
    return message.as_bytes()


def inline(body: str, *, sender: str = STAFF, subject: str = "Fwd: Snöröjning") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "synpunkter@exempelkommun.se"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="exempelkommun.se")
    message.set_content(body)
    return message.as_bytes()


GMAIL = f"""Hej, kan ni ta hand om den här?

Anna

---------- Forwarded message ---------
From: Eva Åström <eva.astrom@example.se>
Date: Mon, Mar 2, 2026 at 8:15 AM
Subject: Snöröjning
To: <anna.berg@exempelkommun.se>


{CITIZEN_TEXT}

Eva Åström
"""

THUNDERBIRD = f"""Vidarebefordrar.


-------- Vidarebefordrat meddelande --------
Ämne: \tSnöröjning
Datum: \tMon, 2 Mar 2026 08:15:00 +0100
Från: \tEva Åström <eva.astrom@example.se>
Till: \tanna.berg@exempelkommun.se

{CITIZEN_TEXT}
"""

APPLE = f"""Se nedan.

Början på vidarebefordrat brev:

Från: Eva Åström <eva.astrom@example.se>
Ämne: Snöröjning
Datum: 2 mars 2026 08:15:00 CET
Till: anna.berg@exempelkommun.se

{CITIZEN_TEXT}
"""

OUTLOOK_SV = f"""Hej kontaktcenter, detta ringde hon också om.

Med vänlig hälsning
Anna Berg

________________________________
Från: Eva Åström <eva.astrom@example.se>
Skickat: den 2 mars 2026 08:15
Till: Anna Berg <anna.berg@exempelkommun.se>
Ämne: Snöröjning

{CITIZEN_TEXT}
"""

OUTLOOK_EN = f"""Please register this one.

From: Eva Åström [mailto:eva.astrom@example.se]
Sent: Monday, March 2, 2026 8:15 AM
To: Anna Berg <anna.berg@exempelkommun.se>
Subject: Snöröjning

{CITIZEN_TEXT}
"""


def test_an_attached_original_makes_its_sender_the_contact(k: Klagomal) -> None:
    outcome = k.receive_email(attached())
    assert outcome.outcome == "registered"
    case = k.get(outcome.reference or "")
    assert case.contact is not None
    assert (case.contact.name, case.contact.email) == ("Eva Åström", "eva.astrom@example.se")
    # The original's text is the case's text; the forwarder's lines are a note.
    assert case.text == CITIZEN_TEXT
    notes = k.history(case.reference)[0].data.notes
    assert "vidarebefordrat av Anna Berg <anna.berg@exempelkommun.se>" in notes
    assert any("Hej, detta kom till mig" in note for note in notes)
    assert "ämnesrad: Snöröjning" in notes
    # The message is stored under its real sender, the forwarder.
    [stored] = k.received_messages(reference=case.reference)
    assert stored.sender == "anna.berg@exempelkommun.se"


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        (GMAIL, "Fwd: Snöröjning"),
        (THUNDERBIRD, "Vb: Snöröjning"),
        (APPLE, "Vb: Snöröjning"),
        (OUTLOOK_SV, "VB: Snöröjning"),
        (OUTLOOK_EN, "FW: Snöröjning"),
    ],
    ids=["gmail", "thunderbird", "apple-mail", "outlook-sv", "outlook-en"],
)
def test_an_inline_forward_makes_its_sender_the_contact(k: Klagomal, body: str, subject: str) -> None:
    outcome = k.receive_email(inline(body, subject=subject))
    case = k.get(outcome.reference or "")
    assert case.contact is not None
    assert case.contact.email == "eva.astrom@example.se"
    assert case.contact.name == "Eva Åström"
    assert case.text.startswith(CITIZEN_TEXT)
    assert not any(word in case.text for word in ("Anna", "Från:", "From:"))
    notes = k.history(case.reference)[0].data.notes
    assert notes[:3] == (
        "ämnesrad: Snöröjning",
        "vidarebefordrat av Anna Berg <anna.berg@exempelkommun.se>",
        notes[2],
    )
    assert notes[2].startswith("Anna Berg <anna.berg@exempelkommun.se> skrev: ")


def test_a_forward_whose_sender_cannot_be_read_keeps_the_message_whole(k: Klagomal) -> None:
    # Outlook inside an Exchange organisation shows a name only.
    body = OUTLOOK_SV.replace("Eva Åström <eva.astrom@example.se>", "Eva Åström")
    outcome = k.receive_email(inline(body, subject="VB: Snöröjning"))
    case = k.get(outcome.reference or "")
    assert email_of(case) == "anna.berg@exempelkommun.se"  # as today
    assert CITIZEN_TEXT in case.text  # nothing the person wrote is lost
    notes = k.history(case.reference)[0].data.notes
    assert any("avsändaren av det vidarebefordrade meddelandet kunde inte hittas" in n for n in notes)


def test_a_kommun_address_that_forwards_nothing_is_as_before(k: Klagomal) -> None:
    outcome = k.receive_email(inline("Jag har ett förslag: fler bänkar i parken.", subject="Bänkar"))
    case = k.get(outcome.reference or "")
    assert email_of(case) == "anna.berg@exempelkommun.se"
    assert case.text == "Jag har ett förslag: fler bänkar i parken."
    assert not any("vidarebefordrat" in n for n in k.history(case.reference)[0].data.notes)


def test_a_forward_from_outside_the_kommun_is_as_before(k: Klagomal) -> None:
    # A person who forwards a neighbour's e-mail is the contact themself.
    outcome = k.receive_email(inline(GMAIL, sender="Per Ek <per.ek@example.org>"))
    case = k.get(outcome.reference or "")
    assert email_of(case) == "per.ek@example.org"
    assert CITIZEN_TEXT in case.text


def test_an_outlook_block_without_a_forward_subject_is_a_reply_quote(k: Klagomal) -> None:
    outcome = k.receive_email(inline(OUTLOOK_SV, subject="Snöröjning"))
    case = k.get(outcome.reference or "")
    assert email_of(case) == "anna.berg@exempelkommun.se"


def test_a_subdomain_of_the_kommun_counts(k: Klagomal) -> None:
    outcome = k.receive_email(inline(GMAIL, sender="Rektor <rektor@skola.exempelkommun.se>"))
    case = k.get(outcome.reference or "")
    assert email_of(case) == "eva.astrom@example.se"
    outcome = k.receive_email(inline(GMAIL, sender="Falsk <x@exempelkommun.se.example.org>"))
    case = k.get(outcome.reference or "")
    assert email_of(case) == "x@exempelkommun.se.example.org"


def test_a_forwarded_reply_is_threaded_as_the_person_s_own(k: Klagomal) -> None:
    first = k.receive_email(attached())
    reference = first.reference or ""
    reply = inline(
        GMAIL.replace("Subject: Snöröjning", f"Subject: Re: Ärende {reference}"),
        subject=f"Fwd: Re: Ärende {reference}",
    )
    outcome = k.receive_email(reply)
    assert (outcome.outcome, outcome.reference) == ("reply", reference)
    assert k.history(reference)[-1].data.sender == "Eva Åström <eva.astrom@example.se>"


def test_without_configured_domains_nothing_is_a_staff_forward(
    new_database: Callable[[], str], clock: FixedClock, tmp_path: object
) -> None:
    from pathlib import Path

    from klagomal.core.organisation import load_organisation

    source = (Path(__file__).parent.parent / "src" / "klagomal" / "data" / "exempelkommun.toml").read_text(
        "utf-8"
    )
    assert 'domaner = ["exempelkommun.se"]' in source
    org = Path(str(tmp_path)) / "org.toml"
    org.write_text(source.replace('domaner = ["exempelkommun.se"]', ""), "utf-8")
    with Klagomal(
        new_database(), clock=clock, organisation=load_organisation(org), load_entrypoints=False
    ) as k:
        k.init()
        case = k.get(k.receive_email(attached()).reference or "")
        assert email_of(case) == "anna.berg@exempelkommun.se"


def test_the_parser_finds_each_forward_style() -> None:
    for body, subject in ((GMAIL, "Fwd: x"), (THUNDERBIRD, "x"), (APPLE, "x"), (OUTLOOK_EN, "FW: x")):
        parsed = parse_mail(inline(body, subject=subject))
        assert parsed.forward is not None, body
        assert parsed.forward.sender_address == "eva.astrom@example.se"
        assert parsed.forward.text.startswith(CITIZEN_TEXT)
    assert parse_mail(inline(OUTLOOK_EN, subject="x")).forward is None
    assert parse_mail(inline("Bara text.")).forward is None
    attached_one = parse_mail(attached()).forward
    assert attached_one is not None
    assert (attached_one.subject, attached_one.comment) == ("Snöröjning", "Hej, detta kom till mig. /Anna")


def test_the_sender_of_a_forward_header_line() -> None:
    assert address_in("Eva <eva@Example.SE>") == ("Eva", "eva@example.se")
    assert address_in("Eva Åström [mailto:eva@example.se]") == ("Eva Åström", "eva@example.se")
    assert address_in("*eva@example.se*") == (None, "eva@example.se")
    assert address_in("Eva Åström") == ("Eva Åström", None)
    assert find_inline_forward("Från: Eva <eva@example.se>\nÄmne: x\n\nText", forward_subject=False) is None


def test_the_organisation_file_checks_the_domains(tmp_path: object) -> None:
    from pathlib import Path

    from klagomal.core.errors import ConfigurationError
    from klagomal.core.organisation import load_organisation

    source = (Path(__file__).parent.parent / "src" / "klagomal" / "data" / "exempelkommun.toml").read_text(
        "utf-8"
    )
    org = Path(str(tmp_path)) / "org.toml"
    for bad in ('"exempelkommun.se"', '["inte en domän"]'):
        org.write_text(source.replace('["exempelkommun.se"]', bad), "utf-8")
        with pytest.raises(ConfigurationError, match="domaner"):
            load_organisation(org)
    org.write_text(source.replace('["exempelkommun.se"]', '["@ExempelKommun.SE", "skola.exempelkommun.se"]'))
    assert load_organisation(org).intake.domains == ("exempelkommun.se", "skola.exempelkommun.se")


def test_a_released_forward_is_taken_in_as_the_person_s_own(k: Klagomal) -> None:
    # The original's sender is no correspondent of the case its subject names: quarantine, then release.
    case = k.register(
        kind="klagomal", channel="telefon", unit="klf-kontaktcenter", text="Trasigt.", contact=None
    )
    held = k.receive_email(inline(GMAIL, subject=f"Fwd: Ärende {case.reference}"))
    assert held.outcome == "quarantined"
    [message] = k.received_messages(outcomes=["quarantined"])
    assert message.sender == "anna.berg@exempelkommun.se"  # stored under its real sender
    released = k.release_from_quarantine(message.id or 0, new=True)
    new = k.get(released.reference or "")
    assert email_of(new) == "eva.astrom@example.se"
    assert (
        "vidarebefordrat av Anna Berg <anna.berg@exempelkommun.se>" in k.history(new.reference)[0].data.notes
    )

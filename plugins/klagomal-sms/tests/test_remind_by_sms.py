"""``k.remind(notifier="sms")`` end to end: klagomal's real reminder run,
the plugin, and a real HTTP gateway on 127.0.0.1 (R7, R10, R11, R14)."""

from __future__ import annotations

import datetime as dt
import logging
import pathlib
from collections.abc import Callable

import pytest
from klagomal import FixedClock, Klagomal
from klagomal.testing import register

from conftest import BIRGITTA, DIRECTORY, HANNA, LENA, PASSWORD, SENDER, USER
from fake_gateway import FakeGateway
from klagomal_sms import PhoneDirectory, SmsGateway, SmsPlugin


def remind(k: Klagomal, clock: FixedClock, day: dt.date) -> list[str]:
    """Run the daily reminders on *day*; the references sent."""
    clock.set(day)
    return [r.reference for r in k.remind(notifier="sms").sent]


def test_a_reminder_is_texted_once_before_the_besked_is_due(
    klagomal_instance: Klagomal, klagomal_clock: FixedClock, gateway_server: FakeGateway
) -> None:
    k = klagomal_instance
    ref = register(k).reference  # 2 March; besked due Monday 16 March (R7)
    assert remind(k, klagomal_clock, dt.date(2026, 3, 11)) == []  # three working days left
    assert gateway_server.received == []
    # Two working days left: the unit's chef, who must appoint a handler, gets a text.
    assert remind(k, klagomal_clock, dt.date(2026, 3, 12)) == [ref]
    [sms] = gateway_server.received
    assert (sms.to, sms.sender) == (LENA, SENDER)
    assert sms.message == (
        f"Påminnelse: besked i ärende {ref} senast 2026-03-16\n"
        f"Ärende {ref} (Klagomål) hos Hemtjänst Norr ska ha besked senast 2026-03-16, om 2 arbetsdagar.\n"
        "Ingen handläggare är utsedd ännu."
    )
    assert [(r.kind, r.recipient, r.status, r.last_error) for r in k.reminders(ref)] == [
        ("paminnelse", "Enhetschef Lena Holm", "sent", None)
    ]
    # Idempotent: again the same day, and the next day, nothing is texted twice.
    assert remind(k, klagomal_clock, dt.date(2026, 3, 12)) == []
    assert remind(k, klagomal_clock, dt.date(2026, 3, 13)) == []
    assert len(gateway_server.received) == 1


def test_swedish_characters_arrive_intact_as_utf8(
    klagomal_instance: Klagomal, klagomal_clock: FixedClock, gateway_server: FakeGateway
) -> None:
    ref = register(klagomal_instance).reference
    remind(klagomal_instance, klagomal_clock, dt.date(2026, 3, 12))
    [sms] = gateway_server.received
    assert "Påminnelse" in sms.message
    assert f"ärende {ref}" in sms.message
    assert "Hemtjänst Norr" in sms.message
    # On the wire: percent-encoded UTF-8 (å is C3 A5, ä is C3 A4), not Latin-1.
    assert b"P%C3%A5minnelse" in sms.raw_body
    assert b"Hemtj%C3%A4nst" in sms.raw_body


def test_the_handler_is_texted_about_the_answer_and_the_nearest_manager_about_a_breach(
    klagomal_instance: Klagomal, klagomal_clock: FixedClock, gateway_server: FakeGateway
) -> None:
    k = klagomal_instance
    ref = register(k).reference
    k.acknowledge(ref, "Handläggare Hanna Ek", dt.date(2026, 3, 27))
    # R10, R11: two working days before the promised date the handler is reminded.
    assert remind(k, klagomal_clock, dt.date(2026, 3, 25)) == [ref]
    # R14: when it has passed, the nearest manager is told.
    assert remind(k, klagomal_clock, dt.date(2026, 3, 30)) == [ref]
    reminder, alert = gateway_server.received
    assert reminder.to == HANNA
    assert reminder.message.startswith(f"Påminnelse: svar i ärende {ref} senast 2026-03-27\n")
    assert "med ett nytt datum (R11)" in reminder.message
    assert alert.to == LENA
    assert alert.message.startswith(
        f"Tidsfristen har passerat: svar i ärende {ref} skulle ha getts senast 2026-03-27\n"
    )
    assert "Handläggare: Handläggare Hanna Ek." in alert.message
    assert [(r.kind, r.status) for r in k.reminders(ref)] == [("paminnelse", "sent"), ("overskriden", "sent")]


def test_a_chef_handling_a_serious_complaint_is_reported_to_her_own_chef(
    klagomal_instance: Klagomal, klagomal_clock: FixedClock, gateway_server: FakeGateway
) -> None:
    # R15: a serious complaint goes to the nearest manager; R14: her breach goes one level up,
    # to a name with Å in it, which the directory finds.
    case = register(klagomal_instance, serious=True)
    assert case.handler == "Enhetschef Lena Holm"
    remind(klagomal_instance, klagomal_clock, dt.date(2026, 3, 17))
    assert [sms.to for sms in gateway_server.received] == [BIRGITTA]


def test_a_500_from_the_gateway_fails_the_reminder_and_the_next_run_sends_it_once(
    klagomal_instance: Klagomal,
    klagomal_clock: FixedClock,
    gateway_server: FakeGateway,
    caplog: pytest.LogCaptureFixture,
) -> None:
    k = klagomal_instance
    ref = register(k).reference
    gateway_server.fail_next(500, body="Internal error, try again")
    klagomal_clock.set(dt.date(2026, 3, 12))
    with caplog.at_level(logging.ERROR, logger="klagomal"):
        run = k.remind(notifier="sms")
    assert run.sent == []
    [failed] = run.failed
    assert failed.last_error == (
        f"GatewayError: SMS till Enhetschef Lena Holm ({LENA}) kunde inte skickas: "
        f"SMS-tjänsten {gateway_server.url}/a1/sms svarade HTTP 500 Internal Server Error: "
        "Internal error, try again"
    )
    assert "aviseringssättet 'sms' kunde inte skicka" in caplog.text
    assert [(r.status, r.attempts) for r in k.reminders(ref)] == [("failed", 1)]
    assert gateway_server.received == []
    # The next day's run, the gateway healthy again: sent, exactly once (retried, not owed anew).
    assert remind(k, klagomal_clock, dt.date(2026, 3, 13)) == [ref]
    assert remind(k, klagomal_clock, dt.date(2026, 3, 13)) == []
    assert [sms.to for sms in gateway_server.received] == [LENA]
    assert [(r.status, r.attempts, r.last_error) for r in k.reminders(ref)] == [("sent", 2, None)]


def test_a_wrong_password_is_a_clear_error_that_never_shows_the_password(
    make_klagomal: Callable[..., Klagomal],
    klagomal_clock: FixedClock,
    gateway_server: FakeGateway,
    directory_file: pathlib.Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "Fel-lösen-0815"
    sms = SmsPlugin(
        SmsGateway(gateway_server.url, USER, wrong, SENDER, timeout=2), PhoneDirectory.load(directory_file)
    )
    k = make_klagomal(plugins=[sms])
    register(k)
    klagomal_clock.set(dt.date(2026, 3, 12))
    with caplog.at_level(logging.DEBUG):
        [failed] = k.remind(notifier="sms").failed
    assert failed.status == "failed"
    assert failed.last_error is not None
    assert "HTTP 401 Unauthorized" in failed.last_error
    assert "kontrollera användarnamn och lösenord" in failed.last_error
    assert "Enhetschef Lena Holm" in failed.last_error
    for secret in (wrong, PASSWORD):
        assert secret not in failed.last_error
        assert secret not in caplog.text
    assert gateway_server.received == []


def test_a_recipient_missing_from_the_directory_fails_until_the_directory_is_fixed(
    klagomal_instance: Klagomal,
    klagomal_clock: FixedClock,
    gateway_server: FakeGateway,
    sms: SmsPlugin,
    directory_file: pathlib.Path,
) -> None:
    k = klagomal_instance
    ref = register(k).reference
    k.acknowledge(ref, "Handläggare Olle Okänd", dt.date(2026, 3, 27))
    klagomal_clock.set(dt.date(2026, 3, 25))
    [failed] = k.remind(notifier="sms").failed
    assert failed.last_error == (
        "UnknownRecipientError: SMS till Handläggare Olle Okänd kunde inte skickas: namnet finns inte i "
        f"telefonkatalogen {directory_file}; lägg till numret så skickas meddelandet vid nästa körning"
    )
    assert gateway_server.received == []
    # The directory is fixed; the next run texts the handler, once.
    directory_file.write_text(DIRECTORY + '"Handläggare Olle Okänd" = "072-000 11 22"\n', encoding="utf-8")
    sms.directory = PhoneDirectory.load(directory_file)
    assert remind(k, klagomal_clock, dt.date(2026, 3, 26)) == [ref]
    assert remind(k, klagomal_clock, dt.date(2026, 3, 26)) == []
    assert [s.to for s in gateway_server.received] == ["+46720001122"]
    assert [r.status for r in k.reminders(ref)] == ["sent"]


def test_a_gateway_that_is_down_fails_every_reminder_and_sends_none(
    klagomal_instance: Klagomal, klagomal_clock: FixedClock, gateway_server: FakeGateway
) -> None:
    k = klagomal_instance
    first, second = register(k).reference, register(k).reference
    gateway_server.stop()
    klagomal_clock.set(dt.date(2026, 3, 12))
    run = k.remind(notifier="sms")
    assert [r.reference for r in run.failed] == [first, second]
    assert all("gick inte att nå" in (r.last_error or "") for r in run.failed)


def test_a_text_to_staff_never_carries_a_secret_text_or_a_protected_person(
    make_klagomal: Callable[..., Klagomal],
    sms: SmsPlugin,
    klagomal_clock: FixedClock,
    gateway_server: FakeGateway,
    tmp_path: pathlib.Path,
) -> None:
    # R27: even a förvaltning's own reminder that asks for the person's words
    # and name gets what staff may be told, which an SMS may carry.
    from klagomal import Contact, hookimpl

    folder = tmp_path / "mallar"
    folder.mkdir()
    (folder / "paminnelse.txt").write_text(
        "Ärende {{ reference }}: {{ case.text }} Från {{ case.contact.name }}.\n", encoding="utf-8"
    )

    class Wording:
        @hookimpl
        def klagomal_template_dirs(self) -> list[pathlib.Path]:
            return [folder]

    k = make_klagomal(plugins=[sms, Wording()])
    contact = Contact(name="Sanna Gömd", phone="070-987 65 43", protected=True)
    ref = register(k, text="Min diagnos är hemlig.", contact=contact).reference
    k.mark_secret(ref, "OSL 26 kap. 1 §", parts=[1])
    assert remind(k, klagomal_clock, dt.date(2026, 3, 12)) == [ref]
    [text] = gateway_server.received
    assert "diagnos" not in text.message
    assert "Sanna" not in text.message
    assert "OSL 26 kap. 1 §" in text.message

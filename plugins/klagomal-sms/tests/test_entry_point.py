"""The installed entry point ``sms``, configured from the environment (R25:
a kommun adds SMS by installing a package, without forking)."""

from __future__ import annotations

import datetime as dt
import logging
import pathlib
from collections.abc import Callable

import pytest
from klagomal import ConfigurationError, FixedClock, Klagomal
from klagomal.testing import register

from conftest import LENA, PASSWORD, SENDER, USER
from fake_gateway import FakeGateway
from klagomal_sms import SmsPlugin

MakeKlagomal = Callable[..., Klagomal]


@pytest.fixture
def configured(
    monkeypatch: pytest.MonkeyPatch, gateway_server: FakeGateway, directory_file: pathlib.Path
) -> FakeGateway:
    """The five variables a kommun's cron job sets."""
    monkeypatch.setenv("KLAGOMAL_SMS_URL", gateway_server.url)
    monkeypatch.setenv("KLAGOMAL_SMS_USER", USER)
    monkeypatch.setenv("KLAGOMAL_SMS_PASSWORD", PASSWORD)
    monkeypatch.setenv("KLAGOMAL_SMS_FROM", SENDER)
    monkeypatch.setenv("KLAGOMAL_SMS_DIRECTORY", str(directory_file))
    return gateway_server


def test_the_configured_entry_point_texts_reminders(
    make_klagomal: MakeKlagomal, klagomal_clock: FixedClock, configured: FakeGateway
) -> None:
    k = make_klagomal(load_entrypoints=True)
    assert k.registry.notifiers["sms"].label == "SMS"
    assert k.plugin_manager.version_of("sms") == "0.1.0"
    assert k.plugin_manager.failures == []
    ref = register(k).reference
    klagomal_clock.set(dt.date(2026, 3, 12))  # R7: two working days before the besked is due
    assert [r.reference for r in k.remind(notifier="sms").sent] == [ref]
    [sms] = configured.received
    assert (sms.to, sms.sender) == (LENA, SENDER)
    assert ref in sms.message


def test_without_configuration_klagomal_starts_without_the_notifier(
    make_klagomal: MakeKlagomal,
    klagomal_clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("KLAGOMAL_SMS_URL", "https://api.46elks.com")
    monkeypatch.setenv("KLAGOMAL_SMS_FROM", "  ")  # blank counts as missing
    with caplog.at_level(logging.WARNING, logger="klagomal_sms"):
        k = make_klagomal(load_entrypoints=True)
    assert "sms" not in k.registry.notifiers
    assert "log" in k.registry.notifiers
    assert k.plugin_manager.failures == []
    assert caplog.messages == [
        "klagomal-sms: no 'sms' notifier, because KLAGOMAL_SMS_USER, KLAGOMAL_SMS_PASSWORD, "
        "KLAGOMAL_SMS_FROM, KLAGOMAL_SMS_DIRECTORY are not set"
    ]
    # The rest of klagomal works; asking for sms is refused before anything is recorded.
    register(k)
    klagomal_clock.set(dt.date(2026, 3, 12))
    with pytest.raises(ConfigurationError, match=r"aviseringssättet 'sms' finns inte \(kända: [^)]*\blog\b"):
        k.remind(notifier="sms")
    assert k.reminders() == []


def test_an_invalid_directory_is_reported_and_leaves_start_up_alone(
    make_klagomal: MakeKlagomal, configured: FakeGateway, directory_file: pathlib.Path
) -> None:
    directory_file.write_text('[numbers]\n"Enhetschef Lena Holm" = "070-12"\n', encoding="utf-8")
    k = make_klagomal(load_entrypoints=True)
    assert "sms" not in k.registry.notifiers
    [failure] = k.plugin_manager.failures
    assert (failure.plugin, failure.hook) == ("sms", "klagomal_notifiers")
    assert failure.error.startswith(
        f"SmsSetupFailed: DirectoryError: telefonkatalogen {directory_file}: numret '070-12'"
    )
    register(k)  # registration is not affected


def test_an_invalid_sender_is_reported_and_leaves_start_up_alone(
    make_klagomal: MakeKlagomal, configured: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLAGOMAL_SMS_FROM", "Exempelkommunen")  # 15 characters
    k = make_klagomal(load_entrypoints=True)
    [failure] = k.plugin_manager.failures
    assert failure.error.startswith(
        "SmsSetupFailed: SmsConfigurationError: avsändaren 'Exempelkommunen' ska vara 3–11"
    )
    assert "sms" not in k.registry.notifiers


def test_a_plugin_passed_in_code_takes_the_entry_points_place(
    make_klagomal: MakeKlagomal, configured: FakeGateway, sms: SmsPlugin
) -> None:
    # Both would register "sms"; klagomal skips an entry point whose name is taken.
    k = make_klagomal(plugins=[sms], load_entrypoints=True)
    assert k.registry.notifiers["sms"].send == sms.send


def test_the_plugin_can_be_disabled_by_its_distribution_name(
    make_klagomal: MakeKlagomal, configured: FakeGateway
) -> None:
    k = make_klagomal(load_entrypoints=True, disabled=["klagomal-sms"])
    assert "sms" not in k.registry.notifiers
    assert k.plugin_manager.disabled == ["sms"]

"""Fixtures: a fake gateway server, a phone directory for Exempelkommun's
staff, and the ``sms`` plugin wired to both.

klagomal's own fixtures (``make_klagomal``, ``klagomal_instance``,
``klagomal_clock``, ``klagomal_plugins``) come from its pytest plugin;
``klagomal_plugins`` is overridden here so that ``klagomal_instance`` has
the ``sms`` notifier.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator, Sequence

import pytest

from fake_gateway import FakeGateway
from klagomal_sms import ENVIRONMENT_VARIABLES, PhoneDirectory, SmsGateway, SmsPlugin

# klagomal's fixtures (klagomal_instance, make_klagomal, ...) are opt-in: this is the
# top-level conftest.py of the plugin's tests, where pytest reads ``pytest_plugins``.
pytest_plugins = ["klagomal.testing.pytest_plugin"]

USER = "u0123456789abcdef"
PASSWORD = "Hemligt-lösen-4711"
SENDER = "Kommunen"

#: The fictitious staff of Exempelkommun that the tests text, with
#: fictitious numbers written the ways people write them.
DIRECTORY = """\
# Telefonkatalog för SMS-påminnelser (påhittade nummer)
[numbers]
"Enhetschef Lena Holm" = "070-123 45 67"
"Avdelningschef Birgitta Åberg" = "+46 (0)70-765 43 21"
"Socialchef Eva Nyström" = "0046 73 111 22 33"
"Handläggare Hanna Ek" = "076-555 01 02"
"""

LENA = "+46701234567"
BIRGITTA = "+46707654321"
EVA = "+46731112233"
HANNA = "+46765550102"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing from the developer's environment: no SMS settings, no disabled
    plugins, and no proxy between the tests and the local gateway."""
    for name in (*ENVIRONMENT_VARIABLES, "KLAGOMAL_DISABLE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture
def gateway_server() -> Iterator[FakeGateway]:
    """A fake 46elks gateway listening on 127.0.0.1, on a free port."""
    server = FakeGateway(USER, PASSWORD).start()
    yield server
    server.stop()


@pytest.fixture
def directory_file(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "telefonkatalog.toml"
    path.write_text(DIRECTORY, encoding="utf-8")
    return path


@pytest.fixture
def gateway(gateway_server: FakeGateway) -> SmsGateway:
    """A client for the fake gateway, with a short timeout."""
    return SmsGateway(gateway_server.url, USER, PASSWORD, SENDER, timeout=2)


@pytest.fixture
def sms(gateway: SmsGateway, directory_file: pathlib.Path) -> SmsPlugin:
    return SmsPlugin(gateway, PhoneDirectory.load(directory_file))


@pytest.fixture
def klagomal_plugins(sms: SmsPlugin) -> Sequence[object]:
    return [sms]

"""The gateway client against the fake 46elks server: what it sends, and
every way the gateway can say no."""

from __future__ import annotations

import logging
import time

import pytest
from klagomal import ConfigurationError

from conftest import LENA, PASSWORD, SENDER, USER
from fake_gateway import FakeGateway
from klagomal_sms import GatewayError, SmsConfigurationError, SmsGateway, check_sender


def test_a_text_is_posted_as_a_form_with_basic_auth(gateway: SmsGateway, gateway_server: FakeGateway) -> None:
    sms_id = gateway.send("070-123 45 67", "Hej!", recipient="Enhetschef Lena Holm")
    [sms] = gateway_server.received
    assert sms_id == sms.id
    assert (sms.sender, sms.to, sms.message) == (SENDER, LENA, "Hej!")


def test_swedish_and_other_characters_arrive_exactly(
    gateway: SmsGateway, gateway_server: FakeGateway
) -> None:
    text = "Påminnelse: ÅÄÖ åäö é ü – ”citat” & 100 % + €\nrad två"
    gateway.send(LENA, text)
    [sms] = gateway_server.received
    assert sms.message == text
    assert b"P%C3%A5minnelse" in sms.raw_body


def test_an_http_error_names_the_recipient_and_the_status(
    gateway: SmsGateway, gateway_server: FakeGateway
) -> None:
    gateway_server.fail_next(503, body="Service Unavailable: maintenance")
    with pytest.raises(GatewayError) as raised:
        gateway.send(LENA, "Hej", recipient="Enhetschef Lena Holm")
    assert raised.value.status == 503
    assert str(raised.value) == (
        f"SMS till Enhetschef Lena Holm ({LENA}) kunde inte skickas: SMS-tjänsten "
        f"{gateway_server.url}/a1/sms svarade HTTP 503 Service Unavailable: Service Unavailable: maintenance"
    )


def test_a_wrong_password_never_appears_in_the_error(gateway_server: FakeGateway) -> None:
    wrong = "Fel-lösen-0815"
    gateway = SmsGateway(gateway_server.url, USER, wrong, SENDER, timeout=2)
    with pytest.raises(GatewayError) as raised:
        gateway.send(LENA, "Hej", recipient="Enhetschef Lena Holm")
    assert raised.value.status == 401
    assert "nekade inloggningen (HTTP 401 Unauthorized); kontrollera användarnamn och lösenord" in str(
        raised.value
    )
    assert wrong not in str(raised.value)
    assert wrong not in repr(raised.value)
    assert wrong not in repr(gateway)
    assert raised.value.__cause__ is None  # nothing chained that could carry the request


def test_a_gateway_that_echoes_the_password_has_it_blanked_out(
    gateway: SmsGateway, gateway_server: FakeGateway
) -> None:
    gateway_server.fail_next(400, body=f"Bad request from {USER}:{PASSWORD}")
    with pytest.raises(
        GatewayError, match=r"HTTP 400 Bad Request: Bad request from u0123456789abcdef:\*\*\*$"
    ):
        gateway.send(LENA, "Hej")


def test_a_slow_gateway_times_out(gateway_server: FakeGateway) -> None:
    gateway_server.delay = 1.0
    gateway = SmsGateway(gateway_server.url, USER, PASSWORD, SENDER, timeout=0.2)
    start = time.monotonic()
    with pytest.raises(GatewayError, match=r"svarade inte inom 0\.2 sekunder") as raised:
        gateway.send(LENA, "Hej", recipient="Enhetschef Lena Holm")
    assert time.monotonic() - start < 0.9
    assert raised.value.status is None
    assert raised.value.recipient == f"Enhetschef Lena Holm ({LENA})"


def test_a_gateway_that_is_down_cannot_be_reached(gateway: SmsGateway, gateway_server: FakeGateway) -> None:
    gateway_server.stop()
    with pytest.raises(GatewayError, match=r"a1/sms gick inte att nå \(.*refused.*\)"):
        gateway.send(LENA, "Hej")


def test_a_2xx_without_an_id_is_not_taken_for_a_sent_text(
    gateway: SmsGateway, gateway_server: FakeGateway
) -> None:
    # A wrong URL that answers 200 with a web page must not mark reminders as sent.
    gateway_server.reply_next(200, b"<html>Welcome</html>", content_type="text/html")
    with pytest.raises(GatewayError, match=r"oväntat svar utan id \(HTTP 200\): <html>Welcome</html>"):
        gateway.send(LENA, "Hej")
    gateway_server.reply_next(200, b'{"id": "s1", "status": "failed"}', content_type="application/json")
    with pytest.raises(GatewayError, match=r"kunde inte skicka det \(status failed\)"):
        gateway.send(LENA, "Hej")


def test_a_redirect_is_not_followed(gateway: SmsGateway, gateway_server: FakeGateway) -> None:
    # Following it would send the credentials to another address.
    gateway_server.reply_next(302, b"", headers=(("Location", "https://elsewhere.example/a1/sms"),))
    with pytest.raises(
        GatewayError, match=r"HTTP 302 Found och hänvisade till https://elsewhere.example/a1/sms"
    ):
        gateway.send(LENA, "Hej")
    assert gateway_server.requests == 1


def test_an_invalid_number_is_refused_before_anything_is_sent(
    gateway: SmsGateway, gateway_server: FakeGateway
) -> None:
    with pytest.raises(GatewayError, match=r"SMS till Bo \(12345\) kunde inte skickas: ogiltigt nummer"):
        gateway.send("12345", "Hej", recipient="Bo")
    assert gateway_server.requests == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://api.46elks.com",
        "https://api.46elks.com/",
        "https://api.46elks.com/a1",
        "https://api.46elks.com/a1/sms",
    ],
)
def test_the_endpoint_is_below_the_base_url(url: str) -> None:
    assert SmsGateway(url, USER, PASSWORD, SENDER).endpoint == "https://api.46elks.com/a1/sms"


def test_a_base_url_with_a_path_keeps_it() -> None:
    gateway = SmsGateway("https://relay.example/sms/", USER, PASSWORD, SENDER)
    assert gateway.endpoint == "https://relay.example/sms/a1/sms"


def test_plain_http_to_another_host_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="klagomal_sms"):
        SmsGateway("http://sms.example.se", USER, PASSWORD, SENDER)
        SmsGateway("http://127.0.0.1:8080", USER, PASSWORD, SENDER)
    assert caplog.messages == [
        "klagomal-sms: http://sms.example.se is plain http: the password would travel unencrypted"
    ]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://api.46elks.com", "ska börja med https://"),
        ("api.46elks.com", "ska börja med https://"),
        (f"https://{USER}:{PASSWORD}@api.46elks.com", "får inte innehålla användarnamn eller lösenord"),
        ("https://api.46elks.com/?key=1", r"utan \? och #"),
    ],
)
def test_an_invalid_url_is_a_configuration_error(url: str, message: str) -> None:
    with pytest.raises(SmsConfigurationError, match=message) as raised:
        SmsGateway(url, USER, PASSWORD, SENDER)
    assert PASSWORD not in str(raised.value)
    assert isinstance(raised.value, ConfigurationError)


@pytest.mark.parametrize(
    ("sender", "expected"),
    [("Kommunen", "Kommunen"), ("Soc2026", "Soc2026"), ("ABC", "ABC"), ("070-123 45 67", LENA)],
)
def test_a_sender_is_a_short_name_or_a_number(sender: str, expected: str) -> None:
    assert check_sender(sender) == expected


@pytest.mark.parametrize("sender", ["Exempelkommunen", "Kommun Nord", "Kö", "2Kommun", "AB", "+46 70"])
def test_an_invalid_sender_is_a_configuration_error(sender: str) -> None:
    with pytest.raises(SmsConfigurationError, match="avsändaren"):
        check_sender(sender)


def test_user_password_and_timeout_are_required() -> None:
    with pytest.raises(SmsConfigurationError, match="användarnamn saknas"):
        SmsGateway("https://api.46elks.com", "", PASSWORD, SENDER)
    with pytest.raises(SmsConfigurationError, match="lösenord saknas"):
        SmsGateway("https://api.46elks.com", USER, "", SENDER)
    with pytest.raises(SmsConfigurationError, match="mer än 0 sekunder"):
        SmsGateway("https://api.46elks.com", USER, PASSWORD, SENDER, timeout=0)

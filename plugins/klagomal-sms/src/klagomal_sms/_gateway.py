"""The SMS gateway: one text through an HTTP API compatible with 46elks'
``POST /a1/sms``.

The request is form-encoded (``from``, ``to``, ``message``, UTF-8) with HTTP
Basic auth; the gateway answers a 2xx with JSON that has the message's
``id``.  Anything else is a :class:`~klagomal_sms.GatewayError` naming the
recipient and the HTTP status, never the password.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from typing import IO, Protocol

from klagomal_sms._errors import GatewayError, SmsConfigurationError
from klagomal_sms._numbers import normalise_number

__all__ = ["DEFAULT_TIMEOUT", "Gateway", "SmsGateway", "check_sender"]

log = logging.getLogger("klagomal_sms")

#: Seconds to wait for the gateway, to connect and for its reply.
DEFAULT_TIMEOUT = 10.0

#: The path of the send-SMS resource below the gateway's base URL.
SMS_PATH = "/a1/sms"

# A text sender id as operators accept it: 3–11 of A–Z, a–z, 0–9, not starting with a digit.
_TEXT_SENDER = re.compile(r"[A-Za-z][A-Za-z0-9]{2,10}")

# Hosts to which plain http is no risk (the tests' fake gateway, a local relay).
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})

# How much of an error reply goes into the error message.
_DETAIL_CHARS = 200


class Gateway(Protocol):
    """What :class:`~klagomal_sms.SmsPlugin` needs of a gateway; another
    provider can be plugged in by implementing it."""

    def send(self, to: str, message: str, *, recipient: str | None = None) -> str:
        """Send *message* to the E.164 number *to*; return the gateway's id.

        :param recipient: the person's name, for error messages.
        :raises GatewayError: when the text was not accepted.
        """
        ...


def check_sender(sender: str) -> str:
    """*sender* if the gateway can send from it: a text sender id (3–11
    letters A–Z and digits, starting with a letter) or a telephone number,
    which is returned in E.164.

    :raises SmsConfigurationError: otherwise.
    """
    sender = sender.strip()
    if _TEXT_SENDER.fullmatch(sender):
        return sender
    if sender[:1] in {"+", "0"}:
        try:
            return normalise_number(sender)
        except ValueError as exc:
            raise SmsConfigurationError(f"avsändaren {sender!r} är inget giltigt nummer: {exc}") from None
    raise SmsConfigurationError(
        f"avsändaren {sender!r} ska vara 3–11 bokstäver A–Z och siffror, med en bokstav först "
        "(till exempel Kommunen), eller ett telefonnummer"
    )


def _endpoint(url: str) -> str:
    """The send-SMS URL below the base *url* (``https://api.46elks.com``)."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SmsConfigurationError(
            f"SMS-tjänstens adress {url!r} ska börja med https:// (till exempel https://api.46elks.com)"
        )
    if parts.username is not None or parts.password is not None:
        # Credentials in the URL would end up in every error message and log line.
        raise SmsConfigurationError(
            "SMS-tjänstens adress får inte innehålla användarnamn eller lösenord; "
            "ange dem som användare och lösenord (KLAGOMAL_SMS_USER, KLAGOMAL_SMS_PASSWORD)"
        )
    if parts.query or parts.fragment:
        raise SmsConfigurationError(f"SMS-tjänstens adress {url!r} ska vara en basadress utan ? och #")
    path = parts.path.rstrip("/")
    # Forgive a base URL that already is the whole endpoint, or ends in the API version.
    for suffix in (SMS_PATH, "/a1"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        log.warning("klagomal-sms: %s is plain http: the password would travel unencrypted", url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path + SMS_PATH, "", ""))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would resend the Authorization header to the
    new address, and a POST turned into a GET sends no SMS.  The 3xx becomes
    an error that names it."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


class SmsGateway:
    """A 46elks-compatible SMS gateway.

    :param url: the base URL, such as ``https://api.46elks.com``; texts are
        posted to ``<url>/a1/sms``.
    :param user: the API user name (HTTP Basic auth).
    :param password: the API password; it never appears in an error, a log
        line or the ``repr``.
    :param sender: who the text is from: a text sender id of 3–11 letters
        and digits (``Kommunen``) or a telephone number.
    :param timeout: seconds to wait for the gateway.
    :raises SmsConfigurationError: when a setting is invalid.
    """

    def __init__(
        self, url: str, user: str, password: str, sender: str, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.endpoint = _endpoint(url)
        if not user:
            raise SmsConfigurationError("SMS-tjänstens användarnamn saknas")
        if not password:
            raise SmsConfigurationError("SMS-tjänstens lösenord saknas")
        if not timeout > 0:
            raise SmsConfigurationError(
                f"väntetiden mot SMS-tjänsten ska vara mer än 0 sekunder, inte {timeout}"
            )
        self.user = user
        self.sender = check_sender(sender)
        self.timeout = timeout
        self._password = password
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self._authorization = f"Basic {token}"
        self._secrets = (password, token)
        self._opener = urllib.request.build_opener(_NoRedirects())

    def __repr__(self) -> str:
        return f"SmsGateway({self.endpoint!r}, user={self.user!r}, sender={self.sender!r})"

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _error(self, who: str, reason: str, status: int | None = None) -> GatewayError:
        return GatewayError(self._redact(who), self._redact(reason), status=status)

    def send(self, to: str, message: str, *, recipient: str | None = None) -> str:
        """Send *message* to the number *to*; return the gateway's id for it.

        :param recipient: the person's name, so that an error names them.
        :raises GatewayError: when the gateway replies anything but a 2xx
            with an ``id``, does not reply within the timeout, or cannot be
            reached; the message names the recipient and the HTTP status.
        """
        try:
            number = normalise_number(to)
        except ValueError as exc:
            raise self._error(f"{recipient} ({to})" if recipient else to, f"ogiltigt nummer: {exc}") from None
        who = f"{recipient} ({number})" if recipient else number
        body = urllib.parse.urlencode({"from": self.sender, "to": number, "message": message}).encode("ascii")
        request = urllib.request.Request(
            self.endpoint,
            data=body,
            method="POST",
            headers={
                "Authorization": self._authorization,
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "Accept": "application/json",
                "User-Agent": "klagomal-sms/0.1",
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status: int = response.status
                reply: bytes = response.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(who, exc) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError | socket.timeout):
                raise self._timeout(who) from None
            raise self._error(who, f"SMS-tjänsten {self.endpoint} gick inte att nå ({exc.reason})") from None
        except TimeoutError:
            raise self._timeout(who) from None
        except (OSError, http.client.HTTPException) as exc:
            raise self._error(
                who, f"förbindelsen med SMS-tjänsten {self.endpoint} bröts ({type(exc).__name__}: {exc})"
            ) from None
        return self._accepted(who, status, reply)

    def _timeout(self, who: str) -> GatewayError:
        return self._error(who, f"SMS-tjänsten {self.endpoint} svarade inte inom {self.timeout:g} sekunder")

    def _http_error(self, who: str, exc: urllib.error.HTTPError) -> GatewayError:
        status = f"HTTP {exc.code} {exc.reason}".rstrip()
        try:
            detail = exc.read(4096).decode("utf-8", "replace").strip()
        except (OSError, http.client.HTTPException):
            detail = ""
        finally:
            exc.close()
        if exc.code in {401, 403}:
            reason = (
                f"SMS-tjänsten {self.endpoint} nekade inloggningen ({status}); "
                "kontrollera användarnamn och lösenord"
            )
        elif 300 <= exc.code < 400:
            reason = (
                f"SMS-tjänsten {self.endpoint} svarade {status} och hänvisade till "
                f"{exc.headers.get('Location', 'en annan adress')}; ange den adressen"
            )
        else:
            reason = f"SMS-tjänsten {self.endpoint} svarade {status}"
            if detail:
                reason += f": {detail[:_DETAIL_CHARS]}"
        return self._error(who, reason, exc.code)

    def _accepted(self, who: str, status: int, reply: bytes) -> str:
        """The id from a 2xx *reply*; a reply without one is an error, since a
        wrong URL that answers 200 must not pass for a sent SMS."""
        try:
            data = json.loads(reply.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            data = None
        if not isinstance(data, dict) or not data.get("id"):
            detail = reply[:_DETAIL_CHARS].decode("utf-8", "replace").strip()
            raise self._error(
                who,
                f"SMS-tjänsten {self.endpoint} gav ett oväntat svar utan id (HTTP {status}): {detail}",
                status,
            )
        if data.get("status") == "failed":
            raise self._error(
                who, f"SMS-tjänsten {self.endpoint} kunde inte skicka det (status failed)", status
            )
        sms_id = str(data["id"])
        log.info("klagomal-sms: SMS %s to %s accepted by %s", sms_id, self._redact(who), self.endpoint)
        return sms_id

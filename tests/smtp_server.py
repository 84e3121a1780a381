"""A real SMTP server on 127.0.0.1 for the e-mail tests (aiosmtpd).

Import it from a test (``tests/`` is on ``sys.path``)::

    from smtp_server import SmtpServer

    with SmtpServer() as server:
        ...  # send to server.host, server.port
        [received] = server.messages
        assert received.message["Subject"] == "Besked om ditt ärende 2026-00001"

``SmtpServer(*, starttls=False, require_starttls=False, auth=None, auth_exclude=(),
smtputf8=True, implicit_tls=False)``:

* ``starttls``: offer STARTTLS with a certificate for ``127.0.0.1`` and
  ``localhost`` from a throwaway CA (trustme); ``client_context`` is an
  :class:`ssl.SSLContext` that trusts it.
* ``require_starttls``: refuse everything but EHLO, NOOP, QUIT and STARTTLS
  before STARTTLS (implies ``starttls``).
* ``auth``: ``(user, password)``: require AUTH PLAIN/LOGIN with these (only
  after STARTTLS when ``starttls`` is on); a wrong password gets ``535``.
  ``auth_exclude=("PLAIN",)`` leaves mechanisms out of what is offered.
* ``smtputf8``: announce ``SMTPUTF8`` (RFC 6531).
* ``implicit_tls``: TLS from the first byte, as on port 465 (``sakerhet =
  "ssl"``), with the same certificate.

Received messages are in ``messages``, oldest first, as :class:`Received`:
``mail_from``, ``rcpt_tos``, ``data`` (the bytes exactly as received, dot
stuffing undone, line ends CRLF) and ``message`` (parsed with
:data:`email.policy.default`).

Failures on demand:

* ``reply``: when set, such as ``"451 4.3.0 Försök senare"`` or
  ``"550 5.1.1 Ingen sådan mottagare"``, DATA is answered with it after the
  content has arrived, and the message is **not** stored;
* ``stall`` (a :class:`threading.Event`): while set, the server takes in the
  content of DATA, stores the message (it arrived) and then does not reply
  until the event is cleared or the server stops, as if it hung or the reply
  was lost; a client with a short timeout gives up in that window;
* ``stop()`` and ``start()`` take the server down (connections are refused)
  and up again on the same port.

Everything runs in aiosmtpd's own thread; ``messages`` may be read from the
test's thread at any time.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import threading
import warnings
from email.message import EmailMessage
from types import TracebackType
from typing import Any

import attrs
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = ["Received", "SmtpServer"]

HOST = "127.0.0.1"


@attrs.frozen
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: EmailMessage


def _parse(data: bytes) -> EmailMessage:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or text.isascii():
        parsed = email.message_from_bytes(data, policy=email.policy.default)
    else:  # SMTPUTF8: the headers are UTF-8, which the bytes parser does not read
        parsed = email.message_from_string(text, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


class _Controller(Controller):
    """A controller on an ephemeral port: it learns the port the system
    chose before it connects to itself."""

    def factory(self) -> SMTP:
        # AUTH without TLS is what the plain-text tests want: no warning about it.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
            return super().factory()

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    """An SMTP server on 127.0.0.1, started by ``with`` (or :meth:`start`)."""

    host = HOST

    def __init__(
        self,
        *,
        starttls: bool = False,
        require_starttls: bool = False,
        auth: tuple[str, str] | None = None,
        auth_exclude: tuple[str, ...] = (),
        smtputf8: bool = True,
        implicit_tls: bool = False,
    ) -> None:
        self.starttls = starttls or require_starttls
        self.implicit_tls = implicit_tls
        self.require_starttls = require_starttls
        self.auth = auth
        self.auth_exclude = auth_exclude
        self.smtputf8 = smtputf8
        self.messages: list[Received] = []
        self.reply: str | None = None
        self.stall = threading.Event()
        self.port = 0
        self._ca = trustme.CA()
        self._server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ca.issue_cert(HOST, "localhost").configure_cert(self._server_context)
        self.client_context = ssl.create_default_context()
        self._ca.configure_trust(self.client_context)
        self._controller: _Controller | None = None
        self._stopping = threading.Event()

    # -- running -------------------------------------------------------------

    def write_ca(self, path: str) -> str:
        """Write the throwaway CA's certificate (PEM) to *path*, for a client
        in another process (``SSL_CERT_FILE``); return *path*."""
        self._ca.cert_pem.write_to_path(path)
        return path

    def start(self) -> None:
        """Listen (again): on an ephemeral port the first time, then on the same one."""
        assert self._controller is None, "the SMTP server is already running"
        kwargs: dict[str, Any] = {
            "server_hostname": "smtp.test",
            "enable_SMTPUTF8": self.smtputf8,
            "ready_timeout": 10.0,
        }
        if self.starttls:
            kwargs["tls_context"] = self._server_context
            kwargs["require_starttls"] = self.require_starttls
        if self.implicit_tls:
            kwargs["ssl_context"] = self._server_context
        if self.auth is not None:
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_required"] = True
            kwargs["auth_require_tls"] = self.starttls and not self.implicit_tls
            kwargs["auth_exclude_mechanism"] = self.auth_exclude
        self._stopping.clear()
        controller = _Controller(_Handler(self), hostname=HOST, port=self.port, **kwargs)
        controller.start()
        self.port = controller.port
        self._controller = controller

    def stop(self) -> None:
        """Stop listening and drop every connection; a stalled reply is never sent."""
        if self._controller is not None:
            self._stopping.set()
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- inside the server's thread -------------------------------------------

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self.auth is not None
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = self.auth
        ok = auth_data.login == user.encode("utf-8") and auth_data.password == password.encode("utf-8")
        return AuthResult(success=ok, handled=False)

    async def _data(self, envelope: Envelope) -> str:
        reply = self.reply
        if reply is not None:
            return reply
        data = envelope.original_content
        assert isinstance(data, bytes)
        self.messages.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                data=data,
                message=_parse(data),
            )
        )
        while self.stall.is_set():
            if self._stopping.is_set():
                raise asyncio.CancelledError  # the server went down without replying
            await asyncio.sleep(0.02)
        return "250 2.0.0 Meddelandet mottaget"


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return await self._server._data(envelope)

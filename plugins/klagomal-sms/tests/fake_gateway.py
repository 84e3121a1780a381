"""A fake 46elks-compatible SMS gateway: a real HTTP server on 127.0.0.1.

It checks HTTP Basic auth, parses the form body as UTF-8, records every SMS
it accepts and answers as 46elks does (JSON with an ``id``).  A test can
tell it to fail the next requests (a status and a body), to answer with
something else entirely, or to be slow.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["FakeGateway", "ReceivedSms"]

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


@dataclass(frozen=True)
class ReceivedSms:
    """One SMS the gateway accepted."""

    id: str
    sender: str
    to: str
    message: str
    raw_body: bytes


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


class _Server(ThreadingHTTPServer):
    # Do not wait at shutdown for a handler that is still sleeping in a timeout test.
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (timeout tests) is expected; keep the output clean


class FakeGateway:
    """The fake gateway; :meth:`start` it, read :attr:`url`, :meth:`stop` it."""

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self.password = password
        #: Every SMS accepted, in order.
        self.received: list[ReceivedSms] = []
        #: Every request that reached the server, accepted or not.
        self.requests = 0
        #: Seconds to wait before answering.
        self.delay = 0.0
        self._next: list[_Reply] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        """The base URL, as ``KLAGOMAL_SMS_URL`` gives it."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeGateway:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def fail_next(self, status: int, times: int = 1, body: str = "Gateway trouble") -> None:
        """Answer the next *times* requests with *status* and *body*."""
        self.reply_next(status, body.encode(), times=times)

    def reply_next(
        self,
        status: int,
        body: bytes,
        *,
        times: int = 1,
        content_type: str = "text/plain; charset=utf-8",
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Answer the next *times* requests with exactly this."""
        with self._lock:
            self._next.extend([_Reply(status, body, content_type, headers)] * times)

    def _answer(self, method: str, path: str, authorization: str | None, body: bytes, ctype: str) -> _Reply:
        with self._lock:
            self.requests += 1
            if self._next:
                return self._next.pop(0)
        if method != "POST" or path != "/a1/sms":
            return _Reply(404, b"Not found")
        expected = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        if authorization != expected:
            return _Reply(401, b"Unauthorized", headers=(("WWW-Authenticate", 'Basic realm="46elks"'),))
        if not ctype.startswith("application/x-www-form-urlencoded"):
            return _Reply(400, b"Expected a form body")
        try:
            form = urllib.parse.parse_qs(
                body.decode("ascii"), strict_parsing=True, encoding="utf-8", errors="strict"
            )
        except (UnicodeDecodeError, ValueError) as exc:
            return _Reply(400, f"Malformed form body: {exc}".encode())
        fields = {}
        for key in ("from", "to", "message"):
            values = form.get(key, [])
            if len(values) != 1:
                return _Reply(400, f"Missing key {key}".encode())
            fields[key] = values[0]
        if not _E164.fullmatch(fields["to"]):
            return _Reply(400, b"Invalid phone number in to")
        with self._lock:
            sms = ReceivedSms(
                f"s{len(self.received) + 1:04d}", fields["from"], fields["to"], fields["message"], body
            )
            self.received.append(sms)
        reply = {
            "id": sms.id,
            "status": "created",
            "direction": "outgoing",
            "from": sms.sender,
            "to": sms.to,
            "message": sms.message,
        }
        return _Reply(200, json.dumps(reply).encode(), "application/json")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if gateway.delay:
                    time.sleep(gateway.delay)
                reply = gateway._answer(
                    self.command,
                    self.path,
                    self.headers.get("Authorization"),
                    body,
                    self.headers.get("Content-Type", ""),
                )
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

            do_POST = _handle  # the name http.server dispatches to
            do_GET = _handle

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep the test output clean

        return Handler

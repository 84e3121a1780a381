"""``/healthz``, ``/readyz`` and ``/metrics`` for a process without the web
application (``klagomal worker --listen HOST:PORT``), on the standard
library's threading HTTP server in a daemon thread: the same answers, the
same rule for who may read the metrics (:func:`klagomal.observe.metrics.may_read_metrics`)
as the web application's.

    handle = start_observe_server(k, "127.0.0.1", 9108, new_registry(k))
    ...
    handle.stop()

Every connection has a timeout (:data:`SOCKET_TIMEOUT`), so a client that
sends nothing cannot hold a thread; nothing of a request is logged.
"""

from __future__ import annotations

import errno
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry

from klagomal.app import Klagomal
from klagomal.core.errors import InvalidInputError
from klagomal.core.i18n import _
from klagomal.observe.health import Readiness, liveness
from klagomal.observe.metrics import (
    PROXY_HEADERS,
    exposition,
    may_read_metrics,
    metrics_refusal,
    metrics_token,
)

__all__ = ["SOCKET_TIMEOUT", "ObserveServer", "listen_address", "start_observe_server"]

#: The most seconds a connection may wait for the client.
SOCKET_TIMEOUT = 10.0
#: The most seconds :meth:`ObserveServer.stop` waits for the server's thread.
STOP_TIMEOUT = 5.0

_NO_STORE = {"Cache-Control": "no-store"}

#: Why an address cannot be listened on, in Swedish, for the common reasons.
_REASONS = {
    errno.EADDRINUSE: _("adressen används redan"),
    errno.EADDRNOTAVAIL: _("adressen hör inte till den här datorn"),
    errno.EACCES: _("porten kräver högre behörighet"),
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    readiness: Readiness
    registry: CollectorRegistry
    token: str | None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = SOCKET_TIMEOUT
    server_version = "klagomal"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Nothing of a request is logged: its line would hold the path."""

    def _answer(self, status: int, body: bytes, media_type: str, *, head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in _NO_STORE.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _route(self, head: bool) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            liveness()
            self._answer(200, b"ok\n", "text/plain; charset=utf-8", head=head)
        elif path == "/readyz":
            result = self.server.readiness.check()
            body = json.dumps(result.as_json(), ensure_ascii=False).encode()
            self._answer(200 if result.ok else 503, body, "application/json", head=head)
        elif path == "/metrics":
            proxied = any(self.headers.get(name) for name in PROXY_HEADERS)
            if not may_read_metrics(
                peer=self.client_address[0],
                authorization=self.headers.get("Authorization"),
                token=self.server.token,
                proxied=proxied,
            ):
                problem = json.dumps(metrics_refusal(self.server.token), ensure_ascii=False).encode()
                self._answer(403, problem, "application/problem+json", head=head)
                return
            body, media_type = exposition(self.server.registry)
            self._answer(200, body, media_type, head=head)
        else:
            self._answer(404, _("Adressen finns inte\n").encode(), "text/plain; charset=utf-8", head=head)

    def do_GET(self) -> None:
        self._route(head=False)

    def do_HEAD(self) -> None:
        self._route(head=True)


def listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (an IPv6 address in brackets, ``[::1]:9108``) as a host
    and a port, for an option such as ``klagomal worker --listen``.

    :raises InvalidInputError: anything else, in Swedish.
    """
    host, colon, port = text.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]") if host.startswith("[") else host
    if (
        not colon
        or not host
        or not port.isdigit()
        or not 0 <= int(port) < 65536
        or (":" in host and "[" not in text)
    ):
        raise InvalidInputError(
            _(
                "'{text}' är ingen adress att lyssna på: skriv VÄRD:PORT, till exempel 127.0.0.1:9108 "
                "eller [::1]:9108"
            ).format(text=text)
        )
    return host, int(port)


class ObserveServer:
    """A running observe server: its *host*, its *port* (the one the
    system chose, for port 0) and :meth:`stop`."""

    def __init__(self, server: _Server, thread: threading.Thread, host: str) -> None:
        self._server = server
        self._thread = thread
        self.host = host
        self.port: int = server.server_address[1]

    def stop(self) -> None:
        """Stop answering and close the socket; waits at most a few seconds."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(STOP_TIMEOUT)


def start_observe_server(
    k: Klagomal,
    host: str,
    port: int,
    registry: CollectorRegistry,
    *,
    readiness: Readiness | None = None,
    token: str | None = None,
) -> ObserveServer:
    """Serve ``/healthz``, ``/readyz`` and ``/metrics`` of the process
    working on *k* at *host*:*port* (0: a free port, see
    :attr:`ObserveServer.port`), in a daemon thread, with the metrics of
    *registry* (:func:`klagomal.observe.metrics.new_registry`).  *token*:
    who may read the metrics from elsewhere than this machine (default:
    ``KLAGOMAL_METRICS_TOKEN``).

    :raises InvalidInputError: *host*:*port* cannot be listened on, in Swedish.
    """
    server_class: type[_Server] = _Server
    if ":" in host:

        class _Server6(_Server):
            address_family = socket.AF_INET6

        server_class = _Server6
    try:
        server = server_class((host, port), _Handler)
    except OSError as exc:
        reason = _REASONS.get(exc.errno or 0) or exc.strerror or type(exc).__name__
        raise InvalidInputError(
            _("kan inte ta emot HTTP på {host}:{port}: {reason}").format(host=host, port=port, reason=reason)
        ) from exc
    server.readiness = readiness if readiness is not None else Readiness(k)
    server.registry = registry
    server.token = token if token is not None else metrics_token()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="klagomal-observe", daemon=True
    )
    thread.start()
    return ObserveServer(server, thread, host)

"""The web application's ``/healthz``, ``/readyz`` and ``/metrics``, and
what it measures and logs of every request (:mod:`klagomal.observe`,
docs/web.md "Health, metrics and logs").

``/healthz`` and ``/readyz`` are open to anyone, without login or API key:
a load balancer asks them.  They say nothing but ok or not and a short
Swedish reason, and a readiness result is reused for a second, so a flood
of them asks the database at most once a second; they are not rate limited
(a 429 would take a healthy server out of its pool).  ``/metrics`` is
operational data: it answers the same machine, or the holder of
``KLAGOMAL_METRICS_TOKEN`` (:func:`klagomal.observe.metrics.may_read_metrics`),
and anyone else gets a 403 problem.

:class:`RequestObserver` wraps the whole application, outside its routing,
so that it sees every request, also one no route takes (404, 405): it
counts it by method, route template (``/folj/{token}``, never the path)
and status, and logs it as a JSON line when the log is JSON.
"""

from __future__ import annotations

import re
import time
from typing import Any

from litestar import Request, Response, get
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from klagomal.observe.health import Health, liveness
from klagomal.observe.logs import log_request
from klagomal.observe.metrics import (
    PROXY_HEADERS,
    UNMATCHED,
    RequestMetrics,
    exposition,
    may_read_metrics,
    metrics_refusal,
)
from klagomal.web.problems import HTTP_PROBLEMS, problem_response

__all__ = ["OPERATIONS_PATHS", "RequestObserver", "route_template", "routes"]

#: The paths of this module: for a load balancer and a monitoring system, not the API.
OPERATIONS_PATHS = ("/healthz", "/readyz", "/metrics")

_NO_STORE = {"Cache-Control": "no-store"}


def _answer(result: Health) -> Response[Any]:
    return Response(result.as_json(), status_code=200 if result.ok else 503, headers=_NO_STORE)


@get("/healthz", name="observe-healthz", include_in_schema=False, sync_to_thread=False)
def healthz() -> Response[str]:
    """200 ``ok`` while the process answers; the database is not asked."""
    liveness()
    return Response("ok\n", media_type="text/plain", headers=_NO_STORE)


@get("/readyz", name="observe-readyz", include_in_schema=False, sync_to_thread=True)
def readyz(request: Request[Any, Any, Any]) -> Response[Any]:
    """200 with the checks when the database answers and its schema is
    current; 503 with their Swedish reasons otherwise."""
    return _answer(request.app.state.readiness.check())


@get("/metrics", name="observe-metrics", include_in_schema=False, sync_to_thread=True)
def metrics(request: Request[Any, Any, Any]) -> Response[Any]:
    """The metrics in Prometheus's text format, for this machine or the token's holder."""
    state = request.app.state
    client = request.client
    peer = client.host if client is not None else None
    trusted = state.trusted_header
    proxied = any(request.headers.get(name) for name in PROXY_HEADERS) or (
        trusted is not None and trusted.trusts(peer)
    )
    token = state.metrics_token
    if not may_read_metrics(
        peer=peer, authorization=request.headers.get("authorization"), token=token, proxied=proxied
    ):
        refusal = metrics_refusal(token)
        return problem_response(HTTP_PROBLEMS[403], refusal["detail"], request, headers=_NO_STORE)
    body, media_type = exposition(state.metrics_registry)
    # Litestar adds the charset of a text/* type itself.
    return Response(body, media_type=media_type.replace("; charset=utf-8", ""), headers=_NO_STORE)


#: The application's routes of this module.
routes = [healthz, readyz, metrics]

_PARAMETER = re.compile(r"\{(\w+):[^}]*\}")


def route_template(scope: Scope) -> str:
    """The template of the route that took the request (``/folj/{token}``,
    its parameters without their types), or :data:`~klagomal.observe.metrics.UNMATCHED`:
    never the path the client sent."""
    handler = scope.get("route_handler")
    template = scope.get("path_template")
    if handler is None or not template:
        return UNMATCHED
    if getattr(handler, "is_mount", False):
        # A mounted app (the static files) is found by its prefix alone.
        return template.rstrip("/") + "/{file_path}"
    return _PARAMETER.sub(r"{\1}", template)


class RequestObserver:
    """Wraps the application (outside its routing): every HTTP request is
    counted in *metrics* with its method, route template and status, and
    logged as one line when *log_requests* (the JSON log)."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics, *, log_requests: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            method = str(scope.get("method", ""))
            route = route_template(scope)
            self.metrics.observe(method, route, status[0], seconds)
            if self.log_requests:
                log_request(method, route, status[0], seconds)

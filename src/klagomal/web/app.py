"""The application: :func:`create_app`, which ``klagomal serve`` runs and
which uvicorn imports in production (docs/web.md)::

    uvicorn --factory klagomal.web.app:create_app --workers 4

Configured as the command line is: ``KLAGOMAL_DB`` (the database URL;
embedded SQLite ``klagomal.db`` by default) and ``KLAGOMAL_ORG`` (the
organisation file; Exempelkommun by default); ``KLAGOMAL_LOG_FORMAT``,
``KLAGOMAL_METRICS_TOKEN`` and ``KLAGOMAL_METRICS_CACHE`` set the log and
``/metrics`` (:mod:`klagomal.web.observe`, docs/web.md).
"""

from __future__ import annotations

import os
from typing import Any

from litestar import Litestar, Request, Response, Router
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
    Schema,
    SecurityScheme,
)

from klagomal.app import DEFAULT_DB, Klagomal
from klagomal.core.clock import SystemClock
from klagomal.core.i18n import _
from klagomal.observe.health import Readiness
from klagomal.observe.logs import log_format as chosen_log_format
from klagomal.observe.logs import use_json_logs
from klagomal.observe.metrics import RequestMetrics, metrics_token, new_registry
from klagomal.web import attachments, cases, finding, open311, records, steps, ui, webhooks
from klagomal.web import observe as operations
from klagomal.web.auth import acting, require_key, trusted_header
from klagomal.web.problems import PROBLEM_JSON, exception_handlers
from klagomal.web.ratelimit import DOCS, rate_limit_config

__all__ = ["API_PREFIX", "MAX_BODY", "create_app", "document_problems", "klagomal_from_environment"]

#: Where the API lives; its OpenAPI document is ``/api/openapi.json``.
API_PREFIX = "/api/v1"

#: The largest request body, in bytes: a message with its attachments
#: (raw e-mail intake) fits, a flood does not.
MAX_BODY = 25 * 1024 * 1024


def klagomal_from_environment(environ: dict[str, str] | None = None) -> Klagomal:
    """The :class:`~klagomal.Klagomal` the environment configures, as the
    command line reads it: ``KLAGOMAL_DB`` and ``KLAGOMAL_ORG``."""
    from klagomal.core.disposal_rules import check_rules
    from klagomal.core.organisation import load_organisation

    env = os.environ if environ is None else environ
    organisation = load_organisation(env.get("KLAGOMAL_ORG") or None)
    check_rules(organisation.disposal_rules, departments=list(organisation.departments))
    return Klagomal(env.get("KLAGOMAL_DB") or DEFAULT_DB, organisation=organisation, clock=SystemClock())


def document_problems(app: Litestar) -> None:
    """Say in the OpenAPI document how the API's errors are sent: every
    operation of the API answers an error (any status but its success) as
    an RFC 9457 problem, ``application/problem+json`` (:mod:`klagomal.web.problems`).
    Litestar documents a ``400`` of its own shape instead, which the API
    never sends; it goes.  Run when the app starts, after every route is in."""
    document = app.openapi_schema
    string = Schema(type=OpenAPIType.STRING)
    components = document.components if isinstance(document.components, Components) else Components()
    components.schemas = {
        **(components.schemas or {}),
        "Problem": Schema(
            type=OpenAPIType.OBJECT,
            title="Problem",
            description=_("ett fel, som RFC 9457 problem details"),
            properties={
                "type": string,
                "title": string,
                "status": Schema(type=OpenAPIType.INTEGER),
                "detail": string,
                "instance": string,
            },
            required=["type", "title", "status", "detail"],
        ),
    }
    document.components = components
    error = OpenAPIResponse(
        description=_("fel, som RFC 9457 problem details"),
        content={PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))},
    )
    for path, item in (document.paths or {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            kept = {code: r for code, r in (operation.responses or {}).items() if code.startswith("2")}
            operation.responses = {**kept, "default": error}


def _http_error_either(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """HTTP's own errors outside every route (no such address, a method not
    allowed): a problem for the API and Open311, a Swedish page elsewhere."""
    if request.url.path.startswith(("/api", "/open311")):
        handler = exception_handlers[HTTPException]
        response: Response[Any] = handler(request, exc)
        return response
    return ui.html_error(request, exc)


def create_app(
    klagomal: Klagomal | None = None, *, demo_login: bool = False, log_format: str | None = None
) -> Litestar:
    """The web application, on *klagomal* (default: the one the environment
    configures, :func:`klagomal_from_environment`).  Every endpoint of the
    API acts as the user of the request's API key (:mod:`klagomal.web.auth`);
    every page of the web interface (:mod:`klagomal.web.ui`) as its
    signed-in user.  *demo_login*: anyone on the loopback address may pick
    a user of the organisation file (``klagomal serve --demo-login``).
    *log_format*: ``json`` writes the process's log as JSON lines, a line
    for each request (:mod:`klagomal.observe.logs`); default
    ``KLAGOMAL_LOG_FORMAT``, else ``text``, the log as it was."""
    log_json = chosen_log_format(log_format) == "json"
    k = klagomal if klagomal is not None else klagomal_from_environment()
    api = Router(
        path=API_PREFIX,
        route_handlers=[
            *cases.routes,
            *steps.routes,
            *records.routes,
            *attachments.routes,
            *finding.routes,
            *webhooks.routes,
        ],
        guards=[require_key],
        dependencies={"k": Provide(acting, sync_to_thread=False)},
        security=[{"apiKey": []}],
    )
    # The routes without a key, Open311's and the OpenAPI documents', are
    # limited per client address (each counted on its own); the keyed API
    # is not limited this way.
    docs_limit = rate_limit_config(store=DOCS)
    openapi = OpenAPIConfig(
        title="klagomal",
        version="1",
        description=_(
            "Klagomål, förslag och beröm: ett JSON-API för kommunens andra system. "
            "Varje anrop görs med en API-nyckel (Authorization: Bearer …) som agerar som en användare."
        ),
        path="/api",
        openapi_router=Router(
            path="/api",
            route_handlers=[],
            include_in_schema=False,
            middleware=[docs_limit.middleware] if docs_limit is not None else [],
        ),
        render_plugins=[SwaggerRenderPlugin(path="/docs")],
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description=_("en nyckel från klagomal apikey create"),
                )
            }
        ),
        use_handler_docstrings=True,
    )

    def dispose() -> None:
        k.dispose()

    app = Litestar(
        route_handlers=[
            api,
            open311.create_router(k, rate_limit_config()),
            *ui.routers(),
            *operations.routes,
        ],
        openapi_config=openapi,
        exception_handlers={**exception_handlers, HTTPException: _http_error_either},
        request_max_body_size=MAX_BODY,
        on_startup=[document_problems],
        on_shutdown=[dispose],
        debug=False,
    )
    app.state.klagomal = k
    app.state.trusted_header = trusted_header()  # KLAGOMAL_TRUSTED_HEADER, KLAGOMAL_TRUSTED_PROXIES
    ui.configure(app.state, k, demo_login=demo_login)
    document_problems(app)
    # How klagomal.web.idempotency makes a case step's answer again (it
    # cannot import klagomal.web.cases, which imports it).
    app.state.case_answer = cases.case_response
    # Health, metrics and the requests' log (klagomal.web.observe): a registry
    # of this application's own, and every request counted, outside the routing.
    app.state.readiness = Readiness(k)
    app.state.metrics_registry = registry = new_registry(k)
    app.state.metrics_token = metrics_token()  # KLAGOMAL_METRICS_TOKEN
    app.asgi_handler = operations.RequestObserver(
        app.asgi_handler, RequestMetrics(registry), log_requests=log_json
    )
    if log_json:
        # After Litestar, which configured the process's logging as it builds the app.
        use_json_logs()
    return app

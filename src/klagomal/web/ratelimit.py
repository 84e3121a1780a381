"""Rate limits on the public endpoints, those without an API key
(docs/web.md, docs/open311.md): Litestar's own
:class:`~litestar.middleware.rate_limit.RateLimitConfig`, per client IP
address, counted in each worker process's memory.  Open311's endpoints and
the OpenAPI documents (``/api/openapi.json``, ``/api/docs``, ...) each
count on their own (:data:`OPEN311`, :data:`DOCS`), so that reading the
documentation takes nothing from an app's Open311 calls; so does the
citizen's web form, each form sent (:data:`WEBFORM`,
:mod:`klagomal.web.ui.citizen`), the public list of answered cases
(:data:`PUBLISHED`, :mod:`klagomal.web.ui.published`), and "Följ ditt ärende",
each look and each addition (:data:`FOLLOW`, :mod:`klagomal.web.ui.follow`).

``KLAGOMAL_RATE_LIMIT`` sets the limit as ``N/unit`` (``unit`` one of
``second``, ``minute``, ``hour``, ``day``); ``av`` or ``0`` turns it off.
With several worker processes each counts on its own, so a client may
make up to the number of workers times the limit; behind a reverse proxy
the proxy's address is the client's unless uvicorn is told to trust its
``X-Forwarded-For`` (``--forwarded-allow-ips``).
"""

from __future__ import annotations

import os
import re
import time
from typing import Any, Literal, cast

from litestar import Request
from litestar.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from klagomal.core.errors import ConfigurationError
from klagomal.core.i18n import _

__all__ = [
    "DEFAULT_RATE_LIMIT",
    "DOCS",
    "ENV",
    "FOLLOW",
    "OPEN311",
    "PUBLISHED",
    "WEBFORM",
    "parse_rate_limit",
    "rate_limit_config",
]

#: The environment variable that sets the limit.
ENV = "KLAGOMAL_RATE_LIMIT"

#: The default: generous for an app that polls, low enough to stop a flood.
DEFAULT_RATE_LIMIT = "120/minute"

#: The stores the requests are counted in: Open311's, and the OpenAPI documents'.
OPEN311 = "klagomal_rate_limit"
DOCS = "klagomal_rate_limit_docs"
#: The store the citizen's web form's posts are counted in.
WEBFORM = "klagomal_rate_limit_webform"
#: The store the public list of answered cases' pages are counted in.
PUBLISHED = "klagomal_rate_limit_published"
#: The store the looks at and additions to "Följ ditt ärende" are counted in.
FOLLOW = "klagomal_rate_limit_follow"

_UNITS = ("second", "minute", "hour", "day")
Unit = Literal["second", "minute", "hour", "day"]


def parse_rate_limit(text: str) -> tuple[Unit, int] | None:
    """``"120/minute"`` as ``("minute", 120)``; ``None`` for ``av`` or ``0``
    (no limit); a Swedish :class:`ConfigurationError` for anything else."""
    value = text.strip().lower()
    if value in ("av", "off", "0"):
        return None
    found = re.fullmatch(r"([0-9]+)\s*/\s*([a-z]+)", value)
    if found is None or found.group(2) not in _UNITS or int(found.group(1)) < 1:
        raise ConfigurationError(
            _(
                "{env}='{value}' är ingen gräns; skriv till exempel 120/minute "
                "(per second, minute, hour eller day), eller av"
            ).format(env=ENV, value=text)
        )
    return cast(Unit, found.group(2)), int(found.group(1))


def rate_limit_config(
    environ: dict[str, str] | None = None, *, store: str = OPEN311
) -> RateLimitConfig | None:
    """The rate limit the environment sets (default :data:`DEFAULT_RATE_LIMIT`),
    counted in *store*, or ``None`` when it is off."""
    env = os.environ if environ is None else environ
    limit = parse_rate_limit(env.get(ENV) or DEFAULT_RATE_LIMIT)
    if limit is None:
        return None
    return RateLimitConfig(rate_limit=limit, store=store)


#: The key of a request's scope where :class:`PageRateLimit` leaves the
#: seconds to wait when the address has asked too often.
_LIMITED = "klagomal_rate_limited"


class _Marking(RateLimitMiddleware):
    """Litestar's rate limit, counting as it does, but letting a request
    over the limit through to its page, marked (:func:`over_limit`), so that
    the page can say why in Swedish and give back what the person wrote
    instead of an error."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        request: Request[Any, Any, Any] = app.request_class(scope)
        store = self.config.get_store_from_app(app)
        key = self.cache_key_from_request(request)
        async with self._lock:
            history = await self.retrieve_cached_history(key, store)
            if len(history.history) >= self.max_requests:
                cast(dict[str, Any], scope)[_LIMITED] = max(1, history.reset - int(time.time()))
            else:
                await self.set_cached_history(key=key, cache_object=history, store=store)
        await self.app(scope, receive, send)


class PageRateLimit:
    """The rate limit of a public page of the web interface:
    ``KLAGOMAL_RATE_LIMIT`` per client address, counted in the subclass's
    own :attr:`store`; off with ``av``.  The page asks :func:`over_limit`."""

    #: The store the requests are counted in (each subclass names its own).
    store: str = ""

    def __init__(self, app: ASGIApp) -> None:
        config = rate_limit_config(store=self.store)
        self.app: ASGIApp = app if config is None else _Marking(app, config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def over_limit(request: Request[Any, Any, Any]) -> int | None:
    """The seconds to wait when *request*'s address is over a
    :class:`PageRateLimit`, else ``None``."""
    limited: int | None = cast(dict[str, Any], request.scope).get(_LIMITED)
    return limited

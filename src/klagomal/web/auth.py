"""Who is calling: the API key in ``Authorization: Bearer …``.

Each key is bound to one user of the organisation file
(:meth:`klagomal.Klagomal.create_api_key`); a request with it acts as that
user (:meth:`klagomal.Klagomal.as_user`), so that roles, scope, secrecy and
protected identity apply exactly as in the library, which also writes the
audit log.  No key, an unknown key or a revoked one: 401.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers import BaseRouteHandler

from klagomal.app import Klagomal
from klagomal.core.i18n import _
from klagomal.web.problems import ProblemError

__all__ = ["LOCK_WAIT", "Caller", "acting", "bearer_key", "require_key"]

#: How an endpoint asks for the caller's :class:`~klagomal.Klagomal` (:func:`acting`).
Caller = NamedDependency[Klagomal]

#: The most seconds a request waits for a database lock: a system calling
#: the API waits for an answer, and retries a 503 (its ``Retry-After``).
LOCK_WAIT = 10.0

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="klagomal"'}


def bearer_key(request: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The API key of *request*'s ``Authorization`` header, or a 401."""
    header = request.headers.get("authorization", "")
    scheme, _sep, key = header.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise ProblemError(
            401,
            _("ange API-nyckeln i huvudet Authorization: Bearer NYCKEL (skapas med klagomal apikey create)"),
            _CHALLENGE,
        )
    return key


async def require_key(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """The guard of every endpoint: a 401 unless the request carries an
    active API key, before anything else of the request is read.  The
    key's user is kept for :func:`acting`."""
    base: Klagomal = connection.app.state.klagomal
    key = bearer_key(connection)
    user = await anyio.to_thread.run_sync(base.api_key_user, key)
    if user is None:
        raise ProblemError(401, _("API-nyckeln är okänd eller återkallad"), _CHALLENGE)
    connection.state.klagomal_user = user


def acting(request: Request[Any, Any, Any]) -> Klagomal:
    """The application's :class:`~klagomal.Klagomal`, acting as the user the
    request's API key is bound to (a dependency of every endpoint)."""
    base: Klagomal = request.app.state.klagomal
    return base.as_user(request.state.klagomal_user).with_lock_wait(LOCK_WAIT)

"""Who is calling: the API key in ``Authorization: Bearer …``, or a person
whom the kommun's reverse proxy names in a trusted header.

Each key is bound to one user of the organisation file
(:meth:`klagomal.Klagomal.create_api_key`); a request with it acts as that
user (:meth:`klagomal.Klagomal.as_user`), so that roles, scope, secrecy and
protected identity apply exactly as in the library, which also writes the
audit log.  No key, an unknown key or a revoked one: 401.

**The trusted header** (off by default).  Where the kommun's reverse proxy
signs people in (its single sign-on) and passes on who they are in a
header, ``KLAGOMAL_TRUSTED_HEADER`` names that header (``X-Remote-User``)
and ``KLAGOMAL_TRUSTED_PROXIES`` the proxy's addresses (IP addresses or
networks, comma-separated).  A request *from one of those addresses* that
carries the header and no API key acts as the user the header names, who
is looked up through the ``klagomal_identify`` hook (the organisation file's
``[[anvandare]]``, or a plugin's directory); a name it does not know gets a
401.  The header from any other address is ignored, as if it were not
there: anyone can send a header, only the proxy can send from its address.
The address is the TCP peer's, never ``X-Forwarded-For``.
"""

from __future__ import annotations

import copy
import ipaddress
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

import anyio.to_thread
import attrs
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers import BaseRouteHandler

from klagomal.app import Klagomal
from klagomal.core.errors import ConfigurationError
from klagomal.core.i18n import _
from klagomal.core.users import SYSTEM_USER
from klagomal.web.problems import ProblemError

__all__ = [
    "ACTING_TTL",
    "LOCK_WAIT",
    "Caller",
    "TrustedHeader",
    "acting",
    "bearer_key",
    "require_key",
    "trusted_header",
]

#: How an endpoint asks for the caller's :class:`~klagomal.Klagomal` (:func:`acting`).
Caller = NamedDependency[Klagomal]

#: The most seconds a request waits for a database lock: a system calling
#: the API waits for an answer, and retries a 503 (its ``Retry-After``).
LOCK_WAIT = 10.0

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="klagomal"'}

#: How many seconds a worker keeps the :class:`~klagomal.Klagomal` acting as
#: a user (:func:`acting`) before it asks the ``klagomal_identify`` hook
#: again.  Only who the user is (name, role, units) is kept: the API key
#: is looked up on every request, so a revoked key is refused at once.
ACTING_TTL = 5.0


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@attrs.frozen
class TrustedHeader:
    """The header the reverse proxy names people in, and the proxy's addresses."""

    header: str
    proxies: tuple[Network, ...]

    def trusts(self, host: str | None) -> bool:
        """Whether a request from *host* (the TCP peer) comes from the proxy."""
        try:
            address = ipaddress.ip_address((host or "").split("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.proxies)


def trusted_header(environ: Mapping[str, str] | None = None) -> TrustedHeader | None:
    """The trusted header ``KLAGOMAL_TRUSTED_HEADER`` and
    ``KLAGOMAL_TRUSTED_PROXIES`` configure; ``None`` (off) without them.

    :raises ConfigurationError: a header without proxies, or an address that is none.
    """
    env = os.environ if environ is None else environ
    header = env.get("KLAGOMAL_TRUSTED_HEADER", "").strip()
    proxies_text = env.get("KLAGOMAL_TRUSTED_PROXIES", "").strip()
    if not header:
        if proxies_text:
            raise ConfigurationError(
                _("KLAGOMAL_TRUSTED_PROXIES är satt men inte KLAGOMAL_TRUSTED_HEADER; ange huvudets namn")
            )
        return None
    if not header.isascii() or not all(c.isalnum() or c in "-_" for c in header):
        raise ConfigurationError(
            _("KLAGOMAL_TRUSTED_HEADER '{header}' är inget namn på ett HTTP-huvud").format(header=header)
        )
    if header.lower() in ("authorization", "host", "x-forwarded-for", "forwarded"):
        raise ConfigurationError(
            _("KLAGOMAL_TRUSTED_HEADER kan inte vara {header}; välj till exempel X-Remote-User").format(
                header=header
            )
        )
    proxies: list[Network] = []
    for part in (p.strip() for p in proxies_text.split(",")):
        if not part:
            continue
        try:
            proxies.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigurationError(
                _(
                    "KLAGOMAL_TRUSTED_PROXIES: '{part}' är ingen IP-adress eller inget nätverk "
                    "(till exempel 10.0.0.5 eller 10.0.0.0/24)"
                ).format(part=part)
            ) from None
    if not proxies:
        raise ConfigurationError(
            _(
                "KLAGOMAL_TRUSTED_HEADER kräver KLAGOMAL_TRUSTED_PROXIES: omvända proxyns adresser, "
                "kommaseparerade; huvudet från andra adresser godtas aldrig"
            )
        )
    return TrustedHeader(header.lower(), tuple(proxies))


def _configured(connection: ASGIConnection[Any, Any, Any, Any]) -> TrustedHeader | None:
    """The application's trusted header, read from the environment once."""
    state = connection.app.state
    if "trusted_header" not in state:
        state.trusted_header = trusted_header()
    found: TrustedHeader | None = state.trusted_header
    return found


#: What stands for the key of a person the proxy named (the scope of their Idempotency-Keys).
_PROXY_SCOPE = "trusted-header:"


def bearer_key(request: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The API key of *request*'s ``Authorization`` header, or a 401.  For a
    person the trusted header named, a stand-in of their own."""
    named = request.state.get("klagomal_named")
    if named is not None:
        return _PROXY_SCOPE + str(named)
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


def _named_user(base: Klagomal, name: str) -> str | None:
    """The user id the identify hook finds for *name*, or ``None``."""
    user = base.as_user(name).user
    return None if user is None else user.id


async def require_key(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """The guard of every endpoint: a 401 unless the request carries an
    active API key (or comes from the trusted proxy with the trusted
    header), before anything else of the request is read.  The user is
    kept for :func:`acting`."""
    base: Klagomal = connection.app.state.klagomal
    trusted = _configured(connection)
    name = None if trusted is None else connection.headers.get(trusted.header)
    if (
        name is not None
        and "authorization" not in connection.headers
        and trusted is not None
        and trusted.trusts(connection.client.host if connection.client else None)
    ):
        name = name.strip()
        user = None
        if name and len(name) <= 200 and name.isprintable() and name != SYSTEM_USER.id:
            user = await anyio.to_thread.run_sync(_named_user, base, name)
        if user is None:
            raise ProblemError(
                401,
                _("användaren '{name}' som huvudet {header} anger är okänd i klagomal").format(
                    name=name[:200], header=trusted.header
                ),
                _CHALLENGE,
            )
        connection.state.klagomal_named = user
        connection.state.klagomal_user = user
        return
    key = bearer_key(connection)
    # With the lock wait of the request's own transaction (acting): the
    # pooled connection then keeps one lock_timeout for both.
    user = await anyio.to_thread.run_sync(_cache(connection).lookup.api_key_user, key)
    if user is None:
        raise ProblemError(401, _("API-nyckeln är okänd eller återkallad"), _CHALLENGE)
    connection.state.klagomal_user = user


class _ActingCache:
    """The application's instance acting as each user, with the lock wait
    of a request: who the user is asked of the identify hook once per user
    and :data:`ACTING_TTL`, not on every request.  Each request gets a copy
    of its own (:func:`copy.copy`, one cheap copy instead of two and the
    hook), since a request may bind its own state to it, as an
    ``Idempotency-Key`` does (:meth:`klagomal.IdempotentRequest.running`)."""

    def __init__(self, base: Klagomal) -> None:
        self.lookup = base.with_lock_wait(LOCK_WAIT)
        self.base = base
        self._lock = threading.Lock()
        self._acting: dict[str, tuple[float, Klagomal]] = {}

    def get(self, user: str) -> Klagomal:
        """A copy of the instance acting as *user*, for one request."""
        now = time.monotonic()
        found = self._acting.get(user)
        if found is not None and found[0] > now:
            return copy.copy(found[1])
        k = self.base.as_user(user).with_lock_wait(LOCK_WAIT)
        with self._lock:
            if len(self._acting) > 10_000:  # users come and go; never grow without bound
                self._acting.clear()
            self._acting[user] = (now + ACTING_TTL, k)
        return copy.copy(k)


def _cache(connection: ASGIConnection[Any, Any, Any, Any]) -> _ActingCache:
    state = connection.app.state
    cache: _ActingCache | None = state.get("klagomal_acting")
    if cache is None or cache.base is not state.klagomal:
        cache = state.klagomal_acting = _ActingCache(state.klagomal)
    return cache


def acting(request: Request[Any, Any, Any]) -> Klagomal:
    """The application's :class:`~klagomal.Klagomal`, acting as the user the
    request's API key (or the trusted header) names (a dependency of every endpoint)."""
    return _cache(request).get(request.state.klagomal_user)

"""``Idempotency-Key`` on the POSTs: a retry with the same key gets the
first answer, byte for byte, and nothing is done twice; the same key with
another request (another path or body) is a 422.

The first request claims the key in a transaction of its own
(:meth:`klagomal.Klagomal.claim_idempotency_key`), so that of two requests
with one key only one runs; a retry while it runs gets a 409 with
``Retry-After``.  The answer is kept, errors of the library too (a refused
step stays refused); a request that ends without an answer to keep (the
database busy, a bug) gives its claim up, and a retry runs it again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import attrs
from litestar import Request, Response

from klagomal.app import Klagomal
from klagomal.core.errors import KlagomalError
from klagomal.core.i18n import _
from klagomal.web.auth import bearer_key
from klagomal.web.problems import ProblemError, klagomal_problem

__all__ = ["HEADER", "idempotent"]

HEADER = "Idempotency-Key"

#: The headers of an answer that a retry gets again.
_KEPT = ("etag", "location", "content-type", "retry-after")


def _request_hash(request: Request[Any, Any, Any], data: Any) -> str:
    body = attrs.asdict(data) if attrs.has(type(data)) else data
    what = json.dumps([request.method, request.url.path, body], sort_keys=True, default=str)
    return hashlib.sha256(what.encode("utf-8")).hexdigest()


def _as_bytes(response: Response[Any]) -> tuple[int, dict[str, str], bytes]:
    content = response.content
    body = content if isinstance(content, bytes) else json.dumps(content, ensure_ascii=False).encode("utf-8")
    media_type = str(response.media_type or "application/json")
    headers = {name.lower(): value for name, value in response.headers.items() if name.lower() in _KEPT}
    headers["content-type"] = media_type
    return response.status_code or 200, headers, body


def _replay(status: int, headers: dict[str, str], body: bytes, replayed: bool) -> Response[bytes]:
    sent = {name: value for name, value in headers.items() if name != "content-type"}
    if replayed:
        sent["Idempotent-Replayed"] = "true"
    return Response(body, status_code=status, headers=sent, media_type=headers["content-type"])


def idempotent(
    request: Request[Any, Any, Any], k: Klagomal, data: Any, work: Callable[[], Response[Any]]
) -> Response[Any]:
    """Run *work* once per ``Idempotency-Key`` of the caller (every time
    without one)."""
    key = request.headers.get(HEADER.lower())
    if key is None:
        return work()
    if not 1 <= len(key) <= 200 or not key.isascii() or not key.isprintable():
        raise ProblemError(
            422, _("Idempotency-Key ska vara 1 till 200 skrivbara ASCII-tecken, till exempel ett UUID")
        )
    scope = hashlib.sha256(bearer_key(request).encode("utf-8")).hexdigest()
    request_hash = _request_hash(request, data)
    found = k.claim_idempotency_key(scope, key, request_hash)
    if found is not None:
        if found.request != request_hash:
            raise ProblemError(
                422,
                _("Idempotency-Key '{key}' användes redan för en annan begäran; ta en ny nyckel").format(
                    key=key
                ),
            )
        if found.status is None or found.body is None:
            raise ProblemError(
                409,
                _("en begäran med Idempotency-Key '{key}' pågår redan; försök igen om en stund").format(
                    key=key
                ),
                {"Retry-After": "1"},
            )
        return _replay(found.status, json.loads(found.headers or "{}"), found.body, True)
    try:
        response = work()
    except KlagomalError as exc:
        answer = klagomal_problem(request, exc)
        if (answer.status_code or 500) >= 500:
            k.release_idempotency_key(scope, key)
            raise
    except BaseException:
        k.release_idempotency_key(scope, key)
        raise
    else:
        answer = response
    status, headers, body = _as_bytes(answer)
    k.store_idempotent_answer(scope, key, status, json.dumps(headers), body)
    return _replay(status, headers, body, False)

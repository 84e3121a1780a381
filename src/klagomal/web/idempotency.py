"""``Idempotency-Key`` on the POSTs: a retry with the same key gets the
first answer, byte for byte, and nothing is done twice; the same key with
another request (another path or body) is a 422.

The request's write (its step's event) records its *outcome*, the case and
its version, under the key in the same transaction
(:meth:`klagomal.Klagomal.idempotent_request`); the answer is stored after.
So a worker killed after the write leaves the outcome, and a retry rebuilds
the answer from the case as the write left it (``Idempotent-Replayed:
true``); one
killed before leaves nothing, and the retry runs the step, once.  A webhook
subscription records the subscription as its outcome the same way; its
answer, which holds the signing secret, is not stored at all: every retry
makes it again from the subscription (``keep_answer=False``).  A retry
while the first request still writes waits for it and then gets its
answer.  Errors of the library are kept too (a refused step stays refused);
a request that ends without an answer to keep (the database busy, a bug)
leaves nothing, and a retry runs it again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import attrs
from litestar import Request, Response

from klagomal.app import (
    IdempotencyKeyTaken,
    IdempotentRequest,
    Klagomal,
    Outcome,
    StoredAnswer,
    SubscriptionOutcome,
)
from klagomal.core.errors import KlagomalError
from klagomal.core.i18n import _
from klagomal.web.auth import bearer_key
from klagomal.web.problems import ProblemError, klagomal_problem

__all__ = ["HEADER", "Failure", "Rebuild", "Refuse", "check_key", "idempotent", "run_once"]

HEADER = "Idempotency-Key"

#: The headers of an answer that a retry gets again.
_KEPT = ("etag", "location", "content-type", "retry-after")


#: How a route makes its answer again from the outcome of a request whose
#: worker stopped after its write (the default: the case, as a step answers).
Rebuild = Callable[[IdempotentRequest, Outcome | SubscriptionOutcome], Response[Any]]


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


def _case_answer(
    request: Request[Any, Any, Any], k: Klagomal, pending: IdempotentRequest, outcome: Outcome
) -> Response[Any]:
    """The answer a case step gives, made again from the case as the
    request's write left it, with the status of the route, and for a new
    case (``201``) its ``Location``."""
    case_response: Callable[..., Response[Any]] = request.app.state.case_answer  # web.cases.case_response
    status = request.route_handler.status_code or 200
    headers = {"Location": f"{request.url.path.rstrip('/')}/{outcome.reference}"} if status == 201 else {}
    return case_response(k, pending.written(outcome), status, headers=headers)


#: How a face refuses: an exception its error handler answers in the
#: face's own form (the JSON API's :class:`ProblemError`, Open311's error).
Refuse = Callable[[int, str, dict[str, str] | None], Exception]

#: How a face answers an error of the library that a request's work raised.
Failure = Callable[[KlagomalError], Response[Any]]


def check_key(key: str, refuse: Refuse) -> None:
    """Refuse an ``Idempotency-Key`` that is not 1–200 printable ASCII characters."""
    if not 1 <= len(key) <= 200 or not key.isascii() or not key.isprintable():
        raise refuse(
            422, _("Idempotency-Key ska vara 1 till 200 skrivbara ASCII-tecken, till exempel ett UUID"), None
        )


def _busy(key: str, refuse: Refuse) -> Exception:
    return refuse(
        409,
        _("en begäran med Idempotency-Key '{key}' pågår redan; försök igen om en stund").format(key=key),
        {"Retry-After": "1"},
    )


@attrs.frozen
class _Face:
    """What differs between the faces that take retries: how a key is
    named in errors, how they refuse, how a library error is answered, how
    an answer is made again, and whether it may be kept."""

    key: str
    refuse: Refuse
    failure: Failure
    rebuild: Rebuild
    keep_answer: bool


def _answer(pending: IdempotentRequest, found: StoredAnswer, face: _Face) -> Response[Any]:
    """What a request gets when its key holds *found*."""
    if found.request != pending.request:
        raise face.refuse(
            422,
            _("Idempotency-Key '{key}' användes redan för en annan begäran; ta en ny nyckel").format(
                key=face.key
            ),
            None,
        )
    if found.status is not None and found.body is not None:
        return _replay(found.status, json.loads(found.headers or "{}"), found.body, True)
    outcome = found.outcome
    if outcome is None:  # a claim of an older klagomal, whose request may still run
        raise _busy(face.key, face.refuse)
    try:
        made = face.rebuild(pending, outcome)
    except KlagomalError as exc:  # the case is gone since (disposed of): say so, keep nothing
        return face.failure(exc)
    status, headers, body = _as_bytes(made)
    if not face.keep_answer:
        return _replay(status, headers, body, True)
    other = pending.keep(status, json.dumps(headers), body, rebuilt=True)
    if other is not None and other.status is not None and other.body is not None:
        return _replay(other.status, json.loads(other.headers or "{}"), other.body, True)
    return _replay(status, headers, body, True)


def run_once(
    pending: IdempotentRequest,
    key: str,
    work: Callable[[], Response[Any]],
    rebuild: Rebuild,
    *,
    refuse: Refuse,
    failure: Failure,
    keep_answer: bool = True,
) -> Response[Any]:
    """Run *work* once for *pending* (a request under the ``Idempotency-Key``
    *key*): the first answer, kept; or, for a retry, the kept answer, or one
    made again by *rebuild* from the outcome the first request's write
    recorded.  The rules of every face that takes retries (the JSON API's
    :func:`idempotent`, Open311's ``POST requests``); *refuse* and *failure*
    speak the face's own form.  Without *keep_answer*, the answer of a
    request whose write recorded its outcome is not stored (it holds a
    secret): every retry gets it made again; a refusal is stored."""
    face = _Face(key, refuse, failure, rebuild, keep_answer)
    for _attempt in range(3):
        found = pending.found()
        if found is not None:
            return _answer(pending, found, face)
        try:
            with pending.running():
                answer = work()
        except IdempotencyKeyTaken:
            continue  # another request with the key wrote first: its answer
        except KlagomalError as exc:
            answer = failure(exc)
            if (answer.status_code or 500) >= 500:
                raise
        status, headers, body = _as_bytes(answer)
        if not keep_answer and pending.recorded:  # the outcome is kept, the answer made again
            return _replay(status, headers, body, False)
        other = pending.keep(status, json.dumps(headers), body)
        if other is not None:
            return _answer(pending, other, face)
        return _replay(status, headers, body, False)
    raise _busy(key, refuse)


def _problem(status: int, detail: str, headers: dict[str, str] | None) -> Exception:
    return ProblemError(status, detail, headers)


def idempotent(
    request: Request[Any, Any, Any],
    k: Klagomal,
    data: Any,
    work: Callable[[], Response[Any]],
    rebuild: Rebuild | None = None,
    *,
    keep_answer: bool = True,
) -> Response[Any]:
    """Run *work* once per ``Idempotency-Key`` of the caller (every time
    without one), as :func:`run_once` does, in the JSON API's form: the
    caller's scope is its API key, the request its method, path and body.
    *rebuild* makes the answer again from the outcome of a request whose
    worker stopped after its write (default: the case, as a case step
    answers)."""
    key = request.headers.get(HEADER.lower())
    if key is None:
        return work()
    check_key(key, _problem)
    scope = hashlib.sha256(bearer_key(request).encode("utf-8")).hexdigest()
    pending = k.idempotent_request(scope, key, _request_hash(request, data))

    def case_answer(pending: IdempotentRequest, outcome: Outcome | SubscriptionOutcome) -> Response[Any]:
        assert isinstance(outcome, Outcome)  # the same request, so a case step's
        return _case_answer(request, k, pending, outcome)

    return run_once(
        pending,
        key,
        work,
        rebuild or case_answer,
        refuse=_problem,
        failure=lambda exc: klagomal_problem(request, exc),
        keep_answer=keep_answer,
    )

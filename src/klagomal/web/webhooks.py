"""The endpoints of webhooks (:mod:`klagomal.notices.webhooks`, docs/webhooks.md):
subscribe a system's URL, list and remove subscriptions, list deliveries
and queue failed ones again, as ``klagomal webhook`` does.

Everything goes through :attr:`klagomal.Klagomal.webhooks`, so the library's
permissions apply: subscriptions are the system owner's (``administrera``),
deliveries need ``utskick``.  The signing secret is in the answer of the
subscription only, once; a retry with the subscription's
``Idempotency-Key`` gets that answer again, made from the subscription
(:func:`subscribe`), since the secret is never stored with the key.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import attrs
from litestar import Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from klagomal.app import IdempotentRequest, Outcome, SubscriptionOutcome
from klagomal.notices.webhooks import Subscription, delivery_json, subscription_json
from klagomal.web.auth import Caller
from klagomal.web.idempotency import idempotent

__all__ = ["RetryBody", "SubscribeBody", "routes"]


@attrs.frozen
class SubscribeBody:
    """A new subscription (``klagomal webhook add``)."""

    url: str
    """Where the events are posted: ``https://…`` (``http://`` only on loopback)."""
    user: str
    """The user of the organisation file whose access decides what a payload carries."""
    events: list[str] | None = None
    """The event types (``case.registered``, …); ``null``: every type."""


@attrs.frozen
class RetryBody:
    """Failed deliveries to queue again (``klagomal webhook retry``)."""

    ids: list[int]


@post("/webhooks", status_code=201, sync_to_thread=True, summary="Prenumerera på händelser")
def subscribe(request: Request[Any, Any, Any], k: Caller, data: JSONBody[SubscribeBody]) -> Response[Any]:
    """Subscribe a URL to event types, bound to a user: the subscription with
    its signing ``secret`` (``whsec_…``), which is shown this once."""

    def answer(s: Subscription) -> Response[Any]:
        return Response(
            {**subscription_json(s), "secret": s.secret or None},
            status_code=201,
            headers={"Location": f"/api/v1/webhooks/{s.id}"},
        )

    def work() -> Response[Any]:
        return answer(k.webhooks.subscribe(data.url, user=data.user, events=data.events))

    def rebuild(pending: IdempotentRequest, outcome: Outcome | SubscriptionOutcome) -> Response[Any]:
        # The subscription the request made (its write recorded it under the
        # key), as it is now, with its secret while it is active.
        assert isinstance(outcome, SubscriptionOutcome)
        return answer(pending.subscription(outcome))

    # The answer holds the secret, so it is not stored with the key: a retry
    # makes it again from the subscription, which keeps the secret anyway.
    return idempotent(request, k, data, work, rebuild, keep_answer=False)


@get("/webhooks", sync_to_thread=True, summary="Prenumerationerna")
def subscriptions(k: Caller, removed: FromQuery[bool] = False) -> dict[str, Any]:
    """The subscriptions, oldest first (``removed=true``: also those
    removed), without their secrets."""
    return {"webhooks": [subscription_json(s) for s in k.webhooks.subscriptions(removed=removed)]}


@delete(
    "/webhooks/{subscription_id:int}",
    status_code=200,
    sync_to_thread=True,
    summary="Ta bort en prenumeration",
)
def unsubscribe(k: Caller, subscription_id: FromPath[int]) -> dict[str, Any]:
    """Remove a subscription: nothing more is written for it, and its
    deliveries not yet sent fail with the reason."""
    return subscription_json(k.webhooks.unsubscribe(subscription_id))


Status = Literal["pending", "sending", "sent", "failed", "skipped"]


@get("/webhooks/deliveries", sync_to_thread=True, summary="Leveranserna")
def deliveries(
    k: Caller,
    status: FromQuery[Status | None] = None,
    subscription: FromQuery[int | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500, description="de senaste så många")] = 50,
) -> dict[str, Any]:
    """The deliveries, oldest first: of one ``status`` or ``subscription``,
    the latest ``limit``; each with its attempts and last error."""
    found = k.webhooks.deliveries(
        statuses=None if status is None else [status], subscription_id=subscription, limit=limit
    )
    return {"deliveries": [delivery_json(d) for d in found]}


@post("/webhooks/deliveries/retry", status_code=200, sync_to_thread=True, summary="Skicka misslyckade igen")
def retry(request: Request[Any, Any, Any], k: Caller, data: JSONBody[RetryBody]) -> Response[Any]:
    """Queue failed deliveries again (after the receiver is mended): their
    attempts start over, with the same ``webhook-id``."""

    def work() -> Response[Any]:
        return Response({"queued": [delivery_json(d) for d in k.webhooks.requeue(data.ids)]})

    return idempotent(request, k, data, work)


routes = [subscribe, subscriptions, unsubscribe, deliveries, retry]

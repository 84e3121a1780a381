"""Webhooks: events told to the kommun's other systems over HTTP.

A system subscribes a URL to event types (the ids of
:data:`klagomal.core.events.EVENT_TYPES`, or all of them), bound to a user
of the organisation file.  That user's access decides what a payload may
carry: only the cases in their scope, and never who a person with
skyddade personuppgifter is nor a text marked secret (a webhook leaves
klagomal, like a message to staff: :meth:`klagomal.records.redaction.Redaction.for_staff`).

Deliveries go through an outbox of their own, as notices do
(:mod:`klagomal.notices.outbox`): a row of ``webhook_deliveries`` is written
in the transaction of the event that causes it (one per subscription that
wants the event), with a stable id, and ``klagomal webhook deliver`` sends
it afterwards, at least once: a delivery whose response was lost is sent
again with the same ``webhook-id``, which the receiver uses to recognise
it.  Requests are signed as the Standard Webhooks specification
(https://www.standardwebhooks.com/) describes: ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature`` (``v1,`` and the base64
HMAC-SHA256 of ``id.timestamp.body`` under the subscription's secret).

This module holds the values, the signing, the payload and the HTTP call;
:mod:`klagomal.notices.webhook_service` the facade's operations.

The status of a delivery is one of:

``pending``
    waiting for its first attempt, or for a retry after ``next_attempt``;
``sending``
    being sent; left so by a run that stopped, it is sent again once
    :data:`SENDING_LEASE` has passed (at least once, with the same id);
``sent``
    the receiver answered 2xx;
``failed``
    every attempt failed (:data:`MAX_ATTEMPTS`), or the subscription was
    removed; ``last_error`` says why, in Swedish;
``skipped``
    the subscription's user may not read the case (or is no longer in the
    organisation file): nothing was sent.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import attrs

from klagomal.core.events import EVENT_TYPES
from klagomal.core.i18n import _

__all__ = [
    "ALL_EVENTS",
    "MAX_ATTEMPTS",
    "RETRY_BASE",
    "RETRY_CAP",
    "SECRET_PREFIX",
    "SENDING_LEASE",
    "STATUSES",
    "TIMEOUT",
    "Subscription",
    "WebhookDelivery",
    "WebhookResult",
    "WebhookRun",
    "WebhookStorage",
    "check_events",
    "check_url",
    "delivery_json",
    "new_secret",
    "payload",
    "post",
    "retry_delay",
    "sign",
    "status_label",
    "subscription_json",
    "webhook_id",
]

#: What ``events`` holds for a subscription to every event type.
ALL_EVENTS = "*"
#: The prefix of a signing secret, as the Standard Webhooks specification names it.
SECRET_PREFIX = "whsec_"
#: Every status a delivery can have (see the module's description).
STATUSES = ("pending", "sending", "sent", "failed", "skipped")
#: The most attempts of one delivery before it is ``failed``.
MAX_ATTEMPTS = 10
#: The first retry waits this long; each later one twice as long as the one before.
RETRY_BASE = dt.timedelta(minutes=1)
#: No retry waits longer than this.
RETRY_CAP = dt.timedelta(hours=6)
#: A delivery left ``sending`` for longer than this was cut off by a crash, and is sent again.
SENDING_LEASE = dt.timedelta(minutes=10)
#: The most seconds one HTTP request may take, connecting and reading alike.
TIMEOUT = 10.0
#: The most bytes of a receiver's answer that are read (and quoted in an error).
_ANSWER_LIMIT = 2000


@attrs.frozen
class Subscription:
    """A URL subscribed to event types, bound to a user of the organisation file.

    :param events: the event type ids, or ``("*",)`` for all.
    :param secret: the signing secret ``whsec_...``; shown once, when created.
    """

    id: int
    url: str
    user_id: str
    events: tuple[str, ...]
    secret: str = attrs.field(repr=False)
    created_at: dt.datetime
    created_by: str
    removed_at: dt.datetime | None = None

    def wants(self, event_type: str) -> bool:
        """Whether the subscription wants events of *event_type*."""
        return ALL_EVENTS in self.events or event_type in self.events

    @property
    def events_label(self) -> str:
        """The event types as the command line shows them."""
        return _("alla") if ALL_EVENTS in self.events else ",".join(self.events)


@attrs.frozen
class WebhookDelivery:
    """One event's delivery to one subscription (see the module's description for the statuses)."""

    id: int
    webhook_id: str
    subscription_id: int
    reference: str
    seq: int
    event_type: str
    status: str
    created_at: dt.datetime
    attempts: int = 0
    next_attempt: dt.datetime | None = None
    attempted_at: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    response_status: int | None = None
    last_error: str | None = None

    @property
    def status_label(self) -> str:
        """The Swedish label of the status."""
        return status_label(self.status)


@attrs.define
class WebhookRun:
    """What one :meth:`klagomal.notices.webhook_service.WebhookService.deliver` did."""

    now: dt.datetime
    sent: list[WebhookDelivery] = attrs.Factory(list)
    retry: list[WebhookDelivery] = attrs.Factory(list)
    failed: list[WebhookDelivery] = attrs.Factory(list)
    skipped: list[WebhookDelivery] = attrs.Factory(list)


@attrs.frozen
class WebhookResult:
    """The outcome of one HTTP request: the status code (``None`` when no
    answer came) and, unless it was 2xx, why it failed, in Swedish."""

    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class WebhookStorage(Protocol):
    """What the webhook service needs of a unit of work
    (:class:`klagomal.storage.sql.webhooks.WebhookStore`)."""

    def add_subscription(
        self, url: str, user_id: str, events: str, secret: str, now: dt.datetime, by: str
    ) -> int: ...

    def subscriptions(
        self, *, ids: Sequence[int] | None = None, removed: bool = False
    ) -> list[Subscription]: ...

    def remove_subscription(self, subscription_id: int, now: dt.datetime) -> bool: ...

    def webhook_deliveries(
        self,
        *,
        statuses: Sequence[str] | None = None,
        due: dt.datetime | None = None,
        subscription_id: int | None = None,
        ids: Sequence[int] | None = None,
        limit: int | None = None,
        newest: int | None = None,
    ) -> list[WebhookDelivery]: ...

    def claim_webhook(self, delivery_id: int, expected: Sequence[str], now: dt.datetime) -> bool: ...

    def update_webhook(self, delivery: WebhookDelivery) -> None: ...

    def release_stale_webhooks(self, before: dt.datetime) -> int: ...

    def iter_webhook_deliveries(self, chunk: int = 1000) -> Iterator[WebhookDelivery]: ...

    def restore_subscription(self, subscription: Subscription) -> int: ...

    def restore_webhook_deliveries(self, deliveries: Sequence[WebhookDelivery]) -> None: ...


def _stamp(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def subscription_json(s: Subscription) -> dict[str, Any]:
    """A subscription as ``klagomal webhook list --json`` and the HTTP API
    show it: without its signing secret."""
    return {
        "id": s.id,
        "url": s.url,
        "user": s.user_id,
        "events": list(s.events),
        "created_at": _stamp(s.created_at),
        "created_by": s.created_by,
        "removed_at": _stamp(s.removed_at),
    }


def delivery_json(d: WebhookDelivery) -> dict[str, Any]:
    """A delivery as ``klagomal webhook deliveries --json`` and the HTTP API
    show it."""
    return {
        "id": d.id,
        "webhook_id": d.webhook_id,
        "subscription": d.subscription_id,
        "reference": d.reference,
        "seq": d.seq,
        "type": d.event_type,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt": _stamp(d.next_attempt),
        "sent_at": _stamp(d.sent_at),
        "response_status": d.response_status,
        "last_error": d.last_error,
    }


def status_label(status: str) -> str:
    """The Swedish label of a delivery status."""
    return {
        "pending": _("väntar"),
        "sending": _("skickas"),
        "sent": _("skickat"),
        "failed": _("misslyckat"),
        "skipped": _("inte skickat (användaren får inte läsa ärendet)"),
    }.get(status, status)


def retry_delay(attempts: int) -> dt.timedelta:
    """How long to wait after the *attempts*-th failed attempt: 1, 2, 4, ...
    minutes, at most six hours."""
    delay: dt.timedelta = RETRY_BASE * 2 ** max(attempts - 1, 0)
    return min(delay, RETRY_CAP)


def webhook_id(reference: str, seq: int, subscription_id: int) -> str:
    """The stable ``webhook-id`` of event *seq* of *reference* delivered to a
    subscription: the same on every attempt, never the same for two events
    or two subscribers."""
    return f"msg_{reference}_{seq}_{subscription_id}"


def new_secret() -> str:
    """A new signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: ``v1,`` and the base64 HMAC-SHA256
    of ``msg_id.timestamp.body`` under *secret*."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def check_url(url: str) -> str:
    """*url* if a webhook may be sent to it (``http`` or ``https``, with a
    host); else a Swedish :class:`ValueError` that says why."""
    if any(c.isspace() or not c.isprintable() for c in url):
        raise ValueError(_("adressen får inte innehålla mellanslag eller styrtecken"))
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            _(
                "'{url}' är ingen http- eller https-adress med värd (till exempel https://system.kommun.se/klagomal)"
            ).format(url=url)
        )
    if len(url) > 2000:
        raise ValueError(_("adressen är längre än 2000 tecken"))
    return url


def check_events(events: Sequence[str]) -> tuple[str, ...]:
    """The event types, checked against :data:`~klagomal.core.events.EVENT_TYPES`;
    a Swedish :class:`ValueError` names those that are unknown."""
    wanted = tuple(dict.fromkeys(e.strip() for e in events if e.strip()))
    if not wanted:
        raise ValueError(_("ange minst en händelsetyp, eller alla"))
    unknown = [e for e in wanted if e not in EVENT_TYPES and e != ALL_EVENTS]
    if unknown:
        raise ValueError(
            _("okända händelsetyper: {unknown}; kända är {known}").format(
                unknown=", ".join(unknown), known=", ".join(EVENT_TYPES)
            )
        )
    return (ALL_EVENTS,) if ALL_EVENTS in wanted else wanted


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A signed request goes to the subscribed URL only: a redirect is an answer, not a new address."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post(url: str, secret: str, msg_id: str, body: bytes, *, timeout: float = TIMEOUT) -> WebhookResult:
    """POST *body* to *url*, signed, within *timeout* seconds; the result
    says the status code and, unless it was 2xx, why it failed.  The
    timestamp is the real time, which the receiver compares with its own."""
    timestamp = int(time.time())
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "klagomal-webhooks",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, msg_id, timestamp, body),
        },
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(_ANSWER_LIMIT)
            return WebhookResult(response.status)
    except urllib.error.HTTPError as exc:
        answer = exc.read(_ANSWER_LIMIT).decode("utf-8", "replace").strip()
        detail = f": {answer[:200]}" if answer else ""
        return WebhookResult(
            exc.code, _("mottagaren svarade {code}{detail}").format(code=exc.code, detail=detail)
        )
    except TimeoutError:
        return WebhookResult(None, _("inget svar inom {seconds:g} sekunder").format(seconds=timeout))
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, TimeoutError):
            return WebhookResult(None, _("inget svar inom {seconds:g} sekunder").format(seconds=timeout))
        return WebhookResult(
            None, _("kunde inte ansluta till mottagaren: {reason}").format(reason=_why(reason))
        )


def _why(reason: object) -> str:
    """Why a connection failed, in Swedish where the cause is a common one."""
    if isinstance(reason, ConnectionRefusedError):
        return _("anslutningen nekades (ingen tar emot på adressen)")
    if isinstance(reason, socket.gaierror):
        return _("värden finns inte")
    if isinstance(reason, ssl.SSLError | ssl.CertificateError):
        return _("TLS-fel ({reason})").format(reason=reason)
    if isinstance(reason, ConnectionResetError):
        return _("mottagaren bröt anslutningen")
    return str(reason)


def payload(event_type: str, recorded_at: dt.datetime, data: dict[str, Any]) -> bytes:
    """The request body: ``type``, ``timestamp`` (the event's, ISO 8601 UTC)
    and ``data``, as compact JSON in UTF-8."""
    moment = recorded_at if recorded_at.tzinfo else recorded_at.replace(tzinfo=dt.UTC)
    document = {"type": event_type, "timestamp": moment.astimezone(dt.UTC).isoformat(), "data": data}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")

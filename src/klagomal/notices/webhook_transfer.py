"""Webhook subscriptions and their deliveries in the database's export and
import (:meth:`klagomal.app.Klagomal.export`, :meth:`~klagomal.app.Klagomal.import_`;
docs/storage.md).

The export carries every subscription, also removed ones, and every
delivery with its state, so that a database moved to another server goes
on delivering what was due, at least once, with the same ``webhook-id``.

The signing secret is the one thing a subscriber's system and klagomal
share: whoever has it can sign a request the receiver believes came from
klagomal.  An export is a file that leaves the database's protection, so
the secret is in it only when asked for (``include_secrets``, ``klagomal
export --with-secrets``, to move the database).  A subscription exported
without it is imported *removed*: it cannot sign anything, and its
deliveries not yet sent fail with the reason; the system owner subscribes
the URL again (``klagomal webhook add``) and gives the receiver the new
secret.

API keys (:mod:`klagomal.web`) are not exported at all: see docs/storage.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import attrs

from klagomal.core.errors import InvalidInputError
from klagomal.core.i18n import _
from klagomal.notices.webhooks import (
    SECRET_PREFIX,
    STATUSES,
    Subscription,
    WebhookDelivery,
    WebhookStorage,
    check_events,
    new_secret,
)

__all__ = ["export_delivery", "export_subscription", "imported_webhooks", "restore_webhooks"]


def _moment(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC; the database keeps UTC, SQLite without the zone."""
    if value is None:
        return None
    return (value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)).isoformat()


def export_subscription(subscription: Subscription, *, include_secret: bool) -> dict[str, Any]:
    """A subscription as the export writes it; its secret ``null`` unless *include_secret*."""
    return {
        "id": subscription.id,
        "url": subscription.url,
        "user": subscription.user_id,
        "events": list(subscription.events),
        "secret": subscription.secret if include_secret else None,
        "created_at": _moment(subscription.created_at),
        "created_by": subscription.created_by,
        "removed_at": _moment(subscription.removed_at),
    }


def export_delivery(delivery: WebhookDelivery) -> dict[str, Any]:
    """A delivery as the export writes it: everything but its row id."""
    return {
        "webhook_id": delivery.webhook_id,
        "subscription": delivery.subscription_id,
        "reference": delivery.reference,
        "seq": delivery.seq,
        "type": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "created_at": _moment(delivery.created_at),
        "next_attempt": _moment(delivery.next_attempt),
        "attempted_at": _moment(delivery.attempted_at),
        "sent_at": _moment(delivery.sent_at),
        "response_status": delivery.response_status,
        "last_error": delivery.last_error,
    }


def _refused(reason: str) -> InvalidInputError:
    return InvalidInputError(reason, step="import")


def _maybe_time(item: Mapping[str, Any], name: str) -> dt.datetime | None:
    return None if item.get(name) is None else _time(item, name)


def _time(item: Mapping[str, Any], name: str) -> dt.datetime:
    value = item.get(name)
    try:
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(_("'{name}' är ingen tidpunkt med tidszon").format(name=name))
    return moment


def _text(item: Mapping[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(_("'{name}' saknas").format(name=name))
    return value


def _maybe_number(item: Mapping[str, Any], name: str) -> int | None:
    return None if item.get(name) is None else _number(item, name)


def _number(item: Mapping[str, Any], name: str) -> int:
    value = item.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(_("'{name}' är inget heltal").format(name=name))
    return value


def _subscription(item: Any, users: Collection[str], now: dt.datetime) -> tuple[Subscription, bool]:
    """A subscription of an export, checked; and whether its secret came with it."""
    if not isinstance(item, dict):
        raise ValueError(_("är ingen prenumeration"))
    user = _text(item, "user")
    if user not in users:
        raise ValueError(_("okänd användare '{user}'").format(user=user))
    events = item.get("events")
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise ValueError(_("'events' är ingen lista av händelsetyper"))
    secret = item.get("secret")
    if secret is not None and (not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX)):
        raise ValueError(_("'secret' är ingen hemlighet {prefix}...").format(prefix=SECRET_PREFIX))
    created = _time(item, "created_at")
    removed = _maybe_time(item, "removed_at")
    subscription = Subscription(
        id=_number(item, "id"),
        url=_text(item, "url"),
        user_id=user,
        events=check_events(events),
        # Without its secret it can sign nothing: it is imported removed, with
        # a secret nobody knows in the column that must hold one.
        secret=secret if secret is not None else new_secret(),
        created_at=created,
        created_by=_text(item, "created_by"),
        removed_at=removed if removed is not None or secret is not None else now,
    )
    return subscription, secret is not None


def _delivery(item: Any, subscriptions: Mapping[int, bool], events: Mapping[str, int]) -> WebhookDelivery:
    if not isinstance(item, dict):
        raise ValueError(_("är ingen leverans"))
    subscription = _number(item, "subscription")
    if subscription not in subscriptions:
        raise ValueError(_("prenumerationen {id} finns inte i filen").format(id=subscription))
    reference = _text(item, "reference")
    seq = _number(item, "seq")
    if not 1 <= seq <= events.get(reference, 0):
        raise ValueError(
            _("händelse {seq} i ärende {reference} finns inte i filen").format(seq=seq, reference=reference)
        )
    status = _text(item, "status")
    if status not in STATUSES:
        raise ValueError(_("okänd status '{status}'").format(status=status))
    created = _time(item, "created_at")
    delivery = WebhookDelivery(
        id=0,
        webhook_id=_text(item, "webhook_id"),
        subscription_id=subscription,
        reference=reference,
        seq=seq,
        event_type=_text(item, "type"),
        status=status,
        created_at=created,
        attempts=_number(item, "attempts"),
        next_attempt=_maybe_time(item, "next_attempt"),
        attempted_at=_maybe_time(item, "attempted_at"),
        sent_at=_maybe_time(item, "sent_at"),
        response_status=_maybe_number(item, "response_status"),
        last_error=item.get("last_error") if isinstance(item.get("last_error"), str) else None,
    )
    if not subscriptions[subscription] and status in ("pending", "sending"):
        delivery = attrs.evolve(
            delivery,
            status="failed",
            next_attempt=None,
            last_error=_("prenumerationen importerades utan sin hemlighet"),
        )
    return delivery


def imported_webhooks(
    data: Mapping[str, Any], events: Mapping[str, int], users: Collection[str], now: dt.datetime
) -> tuple[list[Subscription], list[WebhookDelivery]]:
    """The subscriptions and deliveries of an export (``webhooks`` and
    ``webhook_deliveries``; an export without them has none), checked
    before anything is written: a user of this organisation, known event
    types, a delivery of a subscription in the file and of an event of a
    case imported with it (*events*: the number of events per reference).
    A Swedish :class:`InvalidInputError` names the entry and the reason."""
    subscriptions: list[Subscription] = []
    with_secret: dict[int, bool] = {}
    for position, item in enumerate(_list(data, "webhooks")):
        try:
            subscription, secret = _subscription(item, users, now)
        except ValueError as exc:
            raise _refused(
                _("webhook nr {n} i 'webhooks': {reason}").format(n=position + 1, reason=exc)
            ) from exc
        if subscription.id in with_secret:
            raise _refused(_("webhook {id} finns två gånger i 'webhooks'").format(id=subscription.id))
        with_secret[subscription.id] = secret
        subscriptions.append(subscription)
    deliveries: list[WebhookDelivery] = []
    for position, item in enumerate(_list(data, "webhook_deliveries")):
        try:
            deliveries.append(_delivery(item, with_secret, events))
        except ValueError as exc:
            raise _refused(
                _("leverans nr {n} i 'webhook_deliveries': {reason}").format(n=position + 1, reason=exc)
            ) from exc
    return subscriptions, deliveries


def _list(data: Mapping[str, Any], name: str) -> list[Any]:
    value = data.get(name, [])
    if not isinstance(value, list):
        raise _refused(_("'{name}' är ingen lista").format(name=name))
    return value


def restore_webhooks(
    store: WebhookStorage, subscriptions: Iterable[Subscription], deliveries: Iterable[WebhookDelivery]
) -> None:
    """Store imported subscriptions (with new ids in this database) and their
    deliveries; a delivery keeps its ``webhook-id``, so a receiver that got
    it before the move recognises a repeat."""
    ids = {s.id: store.restore_subscription(s) for s in subscriptions}
    store.restore_webhook_deliveries(
        [attrs.evolve(d, subscription_id=ids[d.subscription_id]) for d in deliveries]
    )

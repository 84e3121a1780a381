"""Webhook subscriptions and deliveries (:mod:`klagomal.notices.webhooks`):
the deliveries an event gives rise to, written in its transaction, and
their delivery state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from klagomal.core.events import Event
from klagomal.notices.webhooks import ALL_EVENTS, Subscription, WebhookDelivery, webhook_id
from klagomal.storage.sql.rows import row_ids, utc
from klagomal.storage.tables import webhook_deliveries, webhook_subscriptions

__all__ = ["WebhookStore", "after_event"]

_ACTIVE = sa.select(webhook_subscriptions.c.id, webhook_subscriptions.c.events).where(
    webhook_subscriptions.c.removed_at.is_(None)
)
_INSERT = sa.insert(webhook_deliveries)
_FIELDS = tuple(f.name for f in attrs.fields(WebhookDelivery))


def after_event(conn: Connection, event: Event) -> None:
    """Write the deliveries *event* gives rise to: one for each subscription
    that wants its type, in the event's own transaction."""
    rows = [
        {
            "webhook_id": webhook_id(event.reference, event.seq, row.id),
            "subscription_id": row.id,
            "reference": event.reference,
            "seq": event.seq,
            "event_type": event.type,
            "status": "pending",
            "attempts": 0,
            "created_at": utc(event.recorded_at),
        }
        for row in conn.execute(_ACTIVE)
        if row.events == ALL_EVENTS or event.type in row.events.split(",")
    ]
    if rows:
        conn.execute(_INSERT, rows)


def _subscription(row: sa.Row[Any]) -> Subscription:
    return Subscription(
        id=row.id,
        url=row.url,
        user_id=row.user_id,
        events=tuple(row.events.split(",")),
        secret=row.secret,
        created_at=row.created_at,
        created_by=row.created_by,
        removed_at=row.removed_at,
    )


def _delivery(row: sa.Row[Any]) -> WebhookDelivery:
    return WebhookDelivery(**{name: getattr(row, name) for name in _FIELDS})


def _stamp(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else utc(moment)


class WebhookStore:
    """Webhooks of a unit of work (part of :class:`~klagomal.storage.sql.SqlUnitOfWork`)."""

    conn: Connection

    def add_subscription(
        self, url: str, user_id: str, events: str, secret: str, now: dt.datetime, by: str
    ) -> int:
        """Store a subscription; return its id."""
        result = self.conn.execute(
            sa.insert(webhook_subscriptions).values(
                url=url, user_id=user_id, events=events, secret=secret, created_at=utc(now), created_by=by
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def subscriptions(self, *, ids: Sequence[int] | None = None, removed: bool = False) -> list[Subscription]:
        """Subscriptions, oldest first: those with these ids, and (unless
        *removed*) only those not removed."""
        query = sa.select(webhook_subscriptions).order_by(webhook_subscriptions.c.id)
        if ids is not None:
            query = query.where(webhook_subscriptions.c.id.in_(list(ids)))
        if not removed:
            query = query.where(webhook_subscriptions.c.removed_at.is_(None))
        return [_subscription(row) for row in self.conn.execute(query)]

    def remove_subscription(self, subscription_id: int, now: dt.datetime) -> bool:
        """Mark a subscription removed; whether it was there to remove.  Its
        deliveries not yet sent fail (they would go to a system that no
        longer wants them)."""
        if not row_ids([subscription_id]):
            return False
        removed = self.conn.execute(
            sa.update(webhook_subscriptions)
            .where(
                webhook_subscriptions.c.id == subscription_id, webhook_subscriptions.c.removed_at.is_(None)
            )
            .values(removed_at=utc(now))
        )
        return bool(removed.rowcount == 1)

    def webhook_deliveries(
        self,
        *,
        statuses: Sequence[str] | None = None,
        due: dt.datetime | None = None,
        subscription_id: int | None = None,
        ids: Sequence[int] | None = None,
        limit: int | None = None,
        newest: int | None = None,
    ) -> list[WebhookDelivery]:
        """Deliveries, oldest first, filtered by status, subscription, id and
        (with *due*) a next attempt not later than *due*: the first *limit*,
        or the last *newest*."""
        table = webhook_deliveries
        query = sa.select(table).order_by(table.c.id.desc() if newest else table.c.id)
        if statuses is not None:
            query = query.where(table.c.status.in_(list(statuses)))
        if subscription_id is not None:
            query = query.where(table.c.subscription_id.in_(row_ids([subscription_id])))
        if ids is not None:
            query = query.where(table.c.id.in_(row_ids(ids)))
        if due is not None:
            query = query.where(sa.or_(table.c.next_attempt.is_(None), table.c.next_attempt <= utc(due)))
        if limit is not None or newest:
            query = query.limit(newest or limit)
        found = [_delivery(row) for row in self.conn.execute(query)]
        return found[::-1] if newest else found

    def claim_webhook(self, delivery_id: int, expected: Sequence[str], now: dt.datetime) -> bool:
        """Mark a delivery ``sending`` and count the attempt, if its status is
        still one of *expected*; whether it was (never true for two runs at once)."""
        claimed = self.conn.execute(
            sa.update(webhook_deliveries)
            .where(webhook_deliveries.c.id == delivery_id, webhook_deliveries.c.status.in_(list(expected)))
            .values(status="sending", attempts=webhook_deliveries.c.attempts + 1, attempted_at=utc(now))
        )
        return bool(claimed.rowcount == 1)

    def update_webhook(self, delivery: WebhookDelivery) -> None:
        """Store a delivery's state."""
        self.conn.execute(
            sa.update(webhook_deliveries)
            .where(webhook_deliveries.c.id == delivery.id)
            .values(
                status=delivery.status,
                attempts=delivery.attempts,
                next_attempt=_stamp(delivery.next_attempt),
                attempted_at=_stamp(delivery.attempted_at),
                sent_at=_stamp(delivery.sent_at),
                response_status=delivery.response_status,
                last_error=delivery.last_error,
            )
        )

    def release_stale_webhooks(self, before: dt.datetime) -> int:
        """Queue again the deliveries left ``sending`` since before *before*
        (a run stopped while sending: whether they arrived is unknown, and
        a webhook is delivered at least once); return how many."""
        released = self.conn.execute(
            sa.update(webhook_deliveries)
            .where(webhook_deliveries.c.status == "sending", webhook_deliveries.c.attempted_at < utc(before))
            .values(status="pending", next_attempt=None)
        )
        return int(released.rowcount)

    # -- the database's export and import (klagomal.notices.webhook_transfer) --

    def iter_webhook_deliveries(self, chunk: int = 1000) -> Iterator[WebhookDelivery]:
        """Every delivery, oldest first, *chunk* at a time (keyset pagination
        on the id), so that memory stays bounded."""
        last = 0
        while True:
            rows = self.conn.execute(
                sa.select(webhook_deliveries)
                .where(webhook_deliveries.c.id > last)
                .order_by(webhook_deliveries.c.id)
                .limit(chunk)
            ).all()
            if not rows:
                return
            yield from map(_delivery, rows)
            last = rows[-1].id

    def restore_subscription(self, subscription: Subscription) -> int:
        """Store an imported subscription as it was (its new id is returned)."""
        result = self.conn.execute(
            sa.insert(webhook_subscriptions).values(
                url=subscription.url,
                user_id=subscription.user_id,
                events=",".join(subscription.events),
                secret=subscription.secret,
                created_at=utc(subscription.created_at),
                created_by=subscription.created_by,
                removed_at=_stamp(subscription.removed_at),
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def restore_webhook_deliveries(self, deliveries: Sequence[WebhookDelivery]) -> None:
        """Store imported deliveries with their state (new row ids)."""
        if not deliveries:
            return
        self.conn.execute(
            _INSERT,
            [
                {
                    "webhook_id": d.webhook_id,
                    "subscription_id": d.subscription_id,
                    "reference": d.reference,
                    "seq": d.seq,
                    "event_type": d.event_type,
                    "status": d.status,
                    "attempts": d.attempts,
                    "created_at": utc(d.created_at),
                    "next_attempt": _stamp(d.next_attempt),
                    "attempted_at": _stamp(d.attempted_at),
                    "sent_at": _stamp(d.sent_at),
                    "response_status": d.response_status,
                    "last_error": d.last_error,
                }
                for d in deliveries
            ],
        )

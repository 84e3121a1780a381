"""The webhooks' service (:mod:`klagomal.notices.webhooks`) for
:class:`~klagomal.app.Klagomal`: subscribing, listing and removing, and
delivering what the outbox of webhooks holds.

Subscriptions are the system owner's to manage (``administrera``): a
subscription discloses cases to another system, within its user's access.
Delivering is ``utskick``, like the notices' delivery; what a payload
carries is decided by the subscription's user, not by who runs the
delivery.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import attrs

from klagomal.cases import lifecycle
from klagomal.core.errors import CaseNotFoundError, InvalidInputError
from klagomal.core.events import EventData
from klagomal.core.i18n import _
from klagomal.notices.outbox import REPORTED
from klagomal.notices.webhooks import (
    ALL_EVENTS,
    MAX_ATTEMPTS,
    SENDING_LEASE,
    STATUSES,
    Subscription,
    WebhookDelivery,
    WebhookRun,
    WebhookStorage,
    check_events,
    check_url,
    new_secret,
    payload,
    post,
    retry_delay,
)
from klagomal.records.access import Operation
from klagomal.records.redaction import Redaction

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.context import Context

__all__ = ["WebhookService"]

log = logging.getLogger("klagomal.app")

_STEP = "webhook"


@attrs.frozen
class WebhookService:
    """Webhook subscriptions and their delivery, for one :class:`Context`."""

    ctx: Context

    def _store(self, uow: Any) -> WebhookStorage:
        return cast(WebhookStorage, uow)

    # -- subscriptions -------------------------------------------------------------

    def subscribe(self, url: str, *, user: str, events: Sequence[str] | None = None) -> Subscription:
        """Subscribe *url* to *events* (event type ids; ``None``: every type),
        bound to *user*, a user id of the organisation file whose access
        decides what a payload carries.  The result holds the signing
        secret, which is shown this once: later listings leave it out."""
        ctx = self.ctx
        creator = ctx.allowed(Operation.ADMINISTER)
        try:
            url = check_url(url.strip())
            wanted = check_events(events if events is not None else [ALL_EVENTS])
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None
        if user not in ctx.organisation.users:
            raise InvalidInputError(
                _(
                    "okänd användare '{user}'; en prenumeration binds till en användare under "
                    "[[anvandare]] i organisationsfilen"
                ).format(user=user)
            )
        bound = ctx.organisation.users[user]
        if not ctx.access.allows(bound, Operation.READ):
            raise InvalidInputError(
                _(
                    "{user} får inte läsa ärenden, så en webhook för användaren skulle aldrig skicka något"
                ).format(user=bound.describe())
            )
        secret = new_secret()
        now = ctx.utcnow()

        def store(uow: Any) -> int:
            new_id = self._store(uow).add_subscription(url, user, ",".join(wanted), secret, now, creator.id)
            if ctx.idempotency is not None:
                # A retried request's outcome (the HTTP API's Idempotency-Key),
                # in the subscription's own transaction.
                ctx.idempotency.record_subscription(uow, new_id)
            ctx.audit(uow, Operation.ADMINISTER, [None], f"webhook {new_id} {url} ({user})")
            return new_id

        new_id = ctx.write(store)
        return Subscription(new_id, url, user, wanted, secret, now, creator.id)

    def subscriptions(self, *, removed: bool = False) -> list[Subscription]:
        """The subscriptions, oldest first (with *removed*, also those
        removed), without their secrets."""
        ctx = self.ctx
        ctx.allowed(Operation.ADMINISTER)
        with ctx.transaction() as uow:
            found = self._store(uow).subscriptions(removed=removed)
        return [attrs.evolve(s, secret="") for s in found]

    def unsubscribe(self, subscription_id: int) -> Subscription:
        """Remove a subscription: nothing more is written for it, and its
        deliveries not yet sent fail with the reason."""
        ctx = self.ctx
        ctx.allowed(Operation.ADMINISTER)
        now = ctx.utcnow()
        with ctx.transaction() as uow:
            store = self._store(uow)
            if not store.remove_subscription(subscription_id, now):
                raise InvalidInputError(
                    _("det finns ingen webhook {id} (se klagomal webhook list)").format(id=subscription_id)
                )
            for delivery in store.webhook_deliveries(statuses=("pending",), subscription_id=subscription_id):
                store.update_webhook(
                    attrs.evolve(
                        delivery,
                        status="failed",
                        next_attempt=None,
                        last_error=_("prenumerationen togs bort"),
                    )
                )
            ctx.audit(uow, Operation.ADMINISTER, [None], f"webhook {subscription_id} borttagen")
            (removed,) = store.subscriptions(ids=[subscription_id], removed=True)
        return attrs.evolve(removed, secret="")

    def deliveries(
        self, *, statuses: Sequence[str] | None = None, subscription_id: int | None = None, limit: int = 500
    ) -> list[WebhookDelivery]:
        """The deliveries, oldest first: with one of *statuses*, of one
        subscription, at most *limit* (the newest)."""
        ctx = self.ctx
        ctx.allowed(Operation.DELIVER)
        unknown = [s for s in statuses or () if s not in STATUSES]
        if unknown:
            raise InvalidInputError(
                _("okänd status '{status}'; välj bland {statuses}").format(
                    status=unknown[0], statuses=", ".join(STATUSES)
                )
            )
        with ctx.transaction() as uow:
            return self._store(uow).webhook_deliveries(
                statuses=statuses, subscription_id=subscription_id, newest=limit or None
            )

    def requeue(self, ids: Sequence[int]) -> list[WebhookDelivery]:
        """Queue failed deliveries again (after the receiver is mended);
        their attempts start over, with the same ``webhook-id``."""
        ctx = self.ctx
        ctx.allowed(Operation.DELIVER)
        with ctx.transaction() as uow:
            store = self._store(uow)
            found = store.webhook_deliveries(ids=ids)
            missing = sorted(set(ids) - {d.id for d in found})
            if missing:
                raise InvalidInputError(
                    _("det finns ingen webbhook-leverans {id}").format(id=", ".join(map(str, missing)))
                )
            wrong = [d for d in found if d.status != "failed"]
            if wrong:
                raise InvalidInputError(
                    _("leverans {id} är {status}; bara misslyckade leveranser kan köas igen").format(
                        id=wrong[0].id, status=wrong[0].status_label
                    )
                )
            queued = [attrs.evolve(d, status="pending", attempts=0, next_attempt=None) for d in found]
            for delivery in queued:
                store.update_webhook(delivery)
        return queued

    # -- delivery ------------------------------------------------------------------

    def deliver(self, *, limit: int | None = None, timeout: float | None = None) -> WebhookRun:
        """Send the deliveries that are due: each claimed (``sending``, the
        attempt counted) and committed before the request, its outcome
        stored after.  A 2xx answer is ``sent``; anything else is retried
        with back-off (:func:`~klagomal.notices.webhooks.retry_delay`) up
        to :data:`~klagomal.notices.webhooks.MAX_ATTEMPTS` attempts, then
        ``failed``, with the reason in Swedish.  A delivery left
        ``sending`` by a run that stopped is sent again with the same id."""
        ctx = self.ctx
        ctx.allowed(Operation.DELIVER)
        now = ctx.utcnow()
        run = WebhookRun(now)
        with ctx.transaction() as uow:
            store = self._store(uow)
            store.release_stale_webhooks(now - SENDING_LEASE)
            due = store.webhook_deliveries(statuses=("pending",), due=now, limit=limit)
            subscriptions = {s.id: s for s in store.subscriptions(removed=True)}
        for delivery in due:
            with ctx.transaction() as uow:
                if not self._store(uow).claim_webhook(delivery.id, ("pending",), now):
                    continue  # another run took it
            delivery = attrs.evolve(
                delivery, status="sending", attempts=delivery.attempts + 1, attempted_at=now
            )
            subscription = subscriptions[delivery.subscription_id]
            done = self._attempt(delivery, subscription, now, timeout)
            with ctx.transaction() as uow:
                self._store(uow).update_webhook(done)
                if done.status == "sent":
                    ctx.audit(uow, Operation.DELIVER, [done.reference], f"webhook {done.webhook_id}")
            {"sent": run.sent, "pending": run.retry, "failed": run.failed, "skipped": run.skipped}[
                done.status
            ].append(done)
            if done.status in ("failed", "pending"):
                log.warning(
                    _("klagomal: webbhook %s (ärende %s) till %s: %s"),
                    done.webhook_id,
                    done.reference,
                    subscription.url,
                    done.last_error,
                    extra={REPORTED: True},  # the run returns it; the command line prints it once
                )
        return run

    def _attempt(
        self, delivery: WebhookDelivery, subscription: Subscription, now: dt.datetime, timeout: float | None
    ) -> WebhookDelivery:
        """*delivery* after one attempt to send it."""
        if subscription.removed_at is not None:
            return attrs.evolve(delivery, status="failed", last_error=_("prenumerationen togs bort"))
        try:
            body = self.body(delivery, subscription)
        except _Skip as skip:
            return attrs.evolve(delivery, status="skipped", next_attempt=None, last_error=str(skip))
        result = post(
            subscription.url, subscription.secret, delivery.webhook_id, body, timeout=timeout or 10.0
        )
        if result.ok:
            return attrs.evolve(
                delivery,
                status="sent",
                sent_at=now,
                next_attempt=None,
                response_status=result.status,
                last_error=None,
            )
        if delivery.attempts >= MAX_ATTEMPTS:
            error = _("{error} (försök {attempts} av {max}; köa igen med klagomal webhook retry)").format(
                error=result.error, attempts=delivery.attempts, max=MAX_ATTEMPTS
            )
            return attrs.evolve(
                delivery, status="failed", next_attempt=None, response_status=result.status, last_error=error
            )
        error = _("{error} (försök {attempts} av {max}, nästa {at:%Y-%m-%d %H:%M} UTC)").format(
            error=result.error,
            attempts=delivery.attempts,
            max=MAX_ATTEMPTS,
            at=now + retry_delay(delivery.attempts),
        )
        return attrs.evolve(
            delivery,
            status="pending",
            next_attempt=now + retry_delay(delivery.attempts),
            response_status=result.status,
            last_error=error,
        )

    def body(self, delivery: WebhookDelivery, subscription: Subscription) -> bytes:
        """The request body of *delivery*: the event and the case right after
        it, as the subscription's user may see them, and never a protected
        person's identity nor a secret text; :class:`_Skip` if the user may
        not read the case."""
        ctx = self.ctx
        user = ctx.organisation.users.get(subscription.user_id)
        if user is None:
            raise _Skip(
                _("användaren '{user}' finns inte längre i organisationsfilen").format(
                    user=subscription.user_id
                )
            )
        with ctx.transaction() as uow:
            try:
                case = uow.get(delivery.reference)
            except CaseNotFoundError:
                raise _Skip(_("ärendet finns inte längre")) from None
            history = uow.history(delivery.reference)
        if not ctx.access.allows(user, Operation.READ) or not ctx.access.scope(user).covers(case):
            raise _Skip(
                _("{user} får inte läsa ärende {reference}").format(
                    user=user.describe(), reference=delivery.reference
                )
            )
        # What leaves klagomal: as a message to staff, whatever the user may see inside.
        redaction = Redaction.for_staff(case, history)
        event = redaction.event(history[delivery.seq - 1])
        after = redaction.case(lifecycle.replay(history[: delivery.seq]))
        data = {
            "reference": delivery.reference,
            "seq": delivery.seq,
            "day": event.day.isoformat(),
            "actor": event.actor,
            "event": ctx.converter.unstructure(event.data, EventData),
            "case": ctx.converter.unstructure(after),
        }
        return payload(delivery.event_type, event.recorded_at, json.loads(json.dumps(data, default=str)))


class _Skip(Exception):
    """A delivery that must not be sent; the message says why, in Swedish."""

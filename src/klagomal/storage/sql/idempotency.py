"""The answers of the HTTP API's POSTs by their ``Idempotency-Key``
(table ``idempotency_keys``, migration 0014; :mod:`klagomal.web`).

A row is written at one of two moments, whichever comes first:

* in the transaction of the request's write (its step's event), as the
  *outcome*: the case and the version the request produced
  (:class:`Outcome`), or the webhook subscription it made, which writes no
  event (:class:`SubscriptionOutcome`), without an answer yet (``status``
  ``NULL``, ``headers`` the outcome as JSON).  The
  key's row and the write commit together or not at all, so that a worker
  killed after its write leaves a row a retry can rebuild the answer from,
  and a worker killed before it leaves nothing: the retry runs the step, once.
  Of two requests with one key writing at the same time, the second's
  insert waits for the first's transaction and then finds the key taken
  (:class:`IdempotencyKeyTaken`), which rolls its whole write back;
* once the answer is made, as the *answer* (``status``, ``headers``,
  ``body``): the request's own, or one rebuilt from the outcome by a retry.
  The first answer stored stays: a later one finds it and sends it instead.
  A subscription's answer, which holds its signing secret, is never stored:
  its row keeps the outcome, and every retry makes the answer again from
  the subscription (:mod:`klagomal.web.webhooks`).

Rows are kept :data:`KEPT` and no longer: they hold what the case held (the
contact too), which disposal and anonymisation do not reach.  Every write
of an answer purges the expired ones, a read never sees them, and
:meth:`~klagomal.Klagomal.run_disposal` purges them too.
"""

from __future__ import annotations

import datetime as dt
import json

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from klagomal.storage.tables import attachments, idempotency_keys, received_messages

__all__ = [
    "KEPT",
    "IdempotencyKeyTaken",
    "IdempotencyStore",
    "Outcome",
    "StoredAnswer",
    "SubscriptionOutcome",
]

#: How long an answer is kept for retries (see the module's docstring).
KEPT = dt.timedelta(days=1)


class IdempotencyKeyTaken(Exception):
    """Another request with the same key wrote first; this request's write
    was rolled back, and the key's row holds the other's outcome."""


@attrs.frozen
class Outcome:
    """What a request wrote: the case and the version it left the case at."""

    reference: str
    version: int


@attrs.frozen
class SubscriptionOutcome:
    """What a webhook subscription wrote (it writes no case event): the
    subscription, by its id.  Its signing secret stays in the subscription
    alone, never in the key's row."""

    subscription: int


@attrs.frozen
class StoredAnswer:
    """What a key holds: the request's hash, and its answer (``status``
    ``None`` while there is only the outcome, or, in a row of an older
    version of klagomal, while the first request still runs)."""

    request: str
    status: int | None
    headers: str | None
    body: bytes | None

    @property
    def outcome(self) -> Outcome | SubscriptionOutcome | None:
        """The outcome of a row without an answer, if it has one."""
        if self.status is not None or not self.headers:
            return None
        found = json.loads(self.headers)
        if "subscription" in found:
            return SubscriptionOutcome(found["subscription"])
        return Outcome(found["reference"], found["version"])


def _where(scope: str, key: str) -> sa.ColumnElement[bool]:
    return sa.and_(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)


class IdempotencyStore:
    """The idempotency keys in a unit of work (part of
    :class:`~klagomal.storage.sql.SqlUnitOfWork`)."""

    conn: Connection

    def idempotent_answer(self, scope: str, key: str, at: dt.datetime) -> StoredAnswer | None:
        """What *key* of *scope* holds, unless it has expired by *at*."""
        row = self.conn.execute(
            sa.select(idempotency_keys).where(_where(scope, key), idempotency_keys.c.created >= at - KEPT)
        ).one_or_none()
        return None if row is None else StoredAnswer(row.request, row.status, row.headers, row.body)

    def record_idempotent_outcome(
        self,
        scope: str,
        key: str,
        request: str,
        outcome: Outcome | SubscriptionOutcome,
        at: dt.datetime,
        *,
        again: bool = False,
    ) -> None:
        """Record *outcome* of *request* in the write's own transaction, or
        raise :class:`IdempotencyKeyTaken` when another request holds *key*;
        *again*: a later outcome of the same transaction, which replaces it."""
        headers = json.dumps(
            {"subscription": outcome.subscription}
            if isinstance(outcome, SubscriptionOutcome)
            else {"reference": outcome.reference, "version": outcome.version}
        )
        if again:
            self.conn.execute(sa.update(idempotency_keys).where(_where(scope, key)).values(headers=headers))
            return
        expired = idempotency_keys.c.created < at - KEPT
        self.conn.execute(sa.delete(idempotency_keys).where(_where(scope, key), expired))
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    sa.insert(idempotency_keys).values(
                        scope=scope, key=key, request=request, headers=headers, created=at
                    )
                )
        except IntegrityError:
            raise IdempotencyKeyTaken(key) from None

    def store_idempotent_answer(
        self,
        scope: str,
        key: str,
        request: str,
        answer: tuple[int, str, bytes],
        at: dt.datetime,
        *,
        on_outcome: bool,
    ) -> StoredAnswer | None:
        """Keep *answer* of *request*: ``None`` when it is now the key's
        answer, else what the key holds (the first answer stays).  With
        *on_outcome*, the answer goes in the row of an outcome of the same
        request (its own, or one a retry rebuilt the answer from); else, or
        when there is no such row, in a new row."""
        self.purge_idempotency_keys(at)
        status, headers, body = answer
        if on_outcome:
            done = self.conn.execute(
                sa.update(idempotency_keys)
                .where(
                    _where(scope, key),
                    idempotency_keys.c.request == request,
                    idempotency_keys.c.status.is_(None),
                )
                .values(status=status, headers=headers, body=body)
            )
            if done.rowcount == 1:
                return None
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    sa.insert(idempotency_keys).values(
                        scope=scope,
                        key=key,
                        request=request,
                        status=status,
                        headers=headers,
                        body=body,
                        created=at,
                    )
                )
            return None
        except IntegrityError:
            row = self.conn.execute(sa.select(idempotency_keys).where(_where(scope, key))).one()
            return StoredAnswer(row.request, row.status, row.headers, row.body)

    def attachments_stored_under(self, message_key: str) -> list[int]:
        """The ids of the attachments stored with the message *message_key*,
        oldest first: for an attach step's document
        (:func:`klagomal.cases.amendments.document_key` of the step), the
        attachment a retried upload stored, which its answer names again."""
        query = (
            sa.select(attachments.c.id)
            .join(received_messages, received_messages.c.id == attachments.c.message_id)
            .where(received_messages.c.message_key == message_key)
            .order_by(attachments.c.id)
        )
        return [int(found) for found in self.conn.execute(query).scalars()]

    def purge_idempotency_keys(self, at: dt.datetime) -> int:
        """Remove the rows that expired by *at*; how many."""
        done = self.conn.execute(sa.delete(idempotency_keys).where(idempotency_keys.c.created < at - KEPT))
        return done.rowcount or 0

"""The answers of the HTTP API's POSTs by their ``Idempotency-Key``
(table ``idempotency_keys``, migration 0012; :mod:`klagomal.web`).

The first request *claims* its key (a row without an answer), in a
transaction of its own, so that of two requests with the same key only one
goes on; it then stores its answer.  A retry finds the row: the stored
answer, or, while the first still runs, a row without one.
"""

from __future__ import annotations

import datetime as dt

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from klagomal.storage.tables import idempotency_keys

__all__ = ["KEPT", "IdempotencyStore", "StoredAnswer"]

#: How long an answer is kept for retries.  It holds what the case held
#: (the contact too), which disposal and anonymisation do not reach, so it
#: is kept no longer than a retry needs: each claim removes older ones.
KEPT = dt.timedelta(days=1)


@attrs.frozen
class StoredAnswer:
    """What a key holds: the request's hash, and its answer (``status``
    ``None`` while the first request still runs)."""

    request: str
    status: int | None
    headers: str | None
    body: bytes | None


class IdempotencyStore:
    """The idempotency keys in a unit of work (part of
    :class:`~klagomal.storage.sql.SqlUnitOfWork`)."""

    conn: Connection

    def claim_idempotency_key(
        self, scope: str, key: str, request: str, at: dt.datetime
    ) -> StoredAnswer | None:
        """Claim *key* of *scope* for *request*: ``None`` when it is now
        this request's, else what the key already holds."""
        self.conn.execute(sa.delete(idempotency_keys).where(idempotency_keys.c.created < at - KEPT))
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    sa.insert(idempotency_keys).values(scope=scope, key=key, request=request, created=at)
                )
        except IntegrityError:
            row = self.conn.execute(
                sa.select(idempotency_keys).where(
                    idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
                )
            ).one()
            return StoredAnswer(row.request, row.status, row.headers, row.body)
        return None

    def store_idempotent_answer(self, scope: str, key: str, status: int, headers: str, body: bytes) -> None:
        self.conn.execute(
            sa.update(idempotency_keys)
            .where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
            .values(status=status, headers=headers, body=body)
        )

    def release_idempotency_key(self, scope: str, key: str) -> None:
        """Forget a claim whose request failed without an answer to keep."""
        self.conn.execute(
            sa.delete(idempotency_keys).where(
                idempotency_keys.c.scope == scope,
                idempotency_keys.c.key == key,
                idempotency_keys.c.status.is_(None),
            )
        )

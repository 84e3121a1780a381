"""The private links of "Följ ditt ärende" (table ``follow_tokens``,
migration 0016; :mod:`klagomal.cases.follow`).

A link's token is 32 random bytes (URL-safe base64): nothing to guess, so a
plain SHA-256 of it is what is stored and looked up, never the token.  A
case has at most one live link: storing a new one revokes the others in the
same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from klagomal.notices.outbox import OwedNotice
from klagomal.storage.tables import follow_tokens, notices

__all__ = ["FollowTokenStore", "follow_token_hash"]


def follow_token_hash(token: str) -> str:
    """What is stored of *token*: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


#: The live link's case by the token's hash: every visit of the page runs it.
_LIVE = sa.select(follow_tokens.c.reference).where(
    follow_tokens.c.hash == sa.bindparam("hash"), follow_tokens.c.revoked_at.is_(None)
)


class FollowTokenStore:
    """The follow links in a unit of work (part of
    :class:`~klagomal.storage.sql.SqlUnitOfWork`)."""

    conn: Connection

    def add_follow_token(self, reference: str, token: str, *, at: dt.datetime, by: str) -> int:
        """Store *token*'s hash as the live link of case *reference*; the
        case's earlier links are revoked.  Returns how many were revoked."""
        revoked = self.revoke_follow_tokens(reference, at=at)
        self.conn.execute(
            sa.insert(follow_tokens).values(
                reference=reference, hash=follow_token_hash(token), created_at=at, created_by=by
            )
        )
        return revoked

    def revoke_follow_tokens(self, reference: str, *, at: dt.datetime) -> int:
        """Revoke the live links of case *reference*; how many there were."""
        result = self.conn.execute(
            sa.update(follow_tokens)
            .where(follow_tokens.c.reference == reference, follow_tokens.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return int(result.rowcount or 0)

    def follow_reference(self, token: str) -> str | None:
        """The case whose live link *token* is, or ``None`` (unknown or revoked)."""
        row = self.conn.execute(_LIVE, {"hash": follow_token_hash(token)}).first()
        return None if row is None else str(row.reference)

    def queue_notice(self, reference: str, seq: int, owed: OwedNotice) -> int:
        """Put one notice that no new event gives rise to (the kvittens of a
        web form) in the outbox, for event *seq*; its id."""
        result = self.conn.execute(
            sa.insert(notices).values(
                reference=reference,
                seq=seq,
                kind=owed.kind,
                recipient=owed.recipient,
                way=owed.way,
                message_id=owed.message_id,
                status=owed.status,
                attempts=0,
            )
        )
        (notice_id,) = result.inserted_primary_key or (None,)
        return int(notice_id)  # type: ignore[arg-type]

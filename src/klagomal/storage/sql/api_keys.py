"""The API keys of the HTTP API (:mod:`klagomal.web`): each system that
calls the API has its own key, which acts as one user of the organisation
file (table ``api_keys``, migration 0012).

A key is ``klg_`` and 43 characters of 32 random bytes (URL-safe base64):
nothing to guess, so a plain SHA-256 of it is what is stored and looked up,
never the key.  Its first characters (``prefix``) are kept in clear, so that
``klagomal apikey list`` tells the keys apart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from klagomal.storage.tables import api_keys

__all__ = ["KEY_PREFIX", "ApiKey", "ApiKeyStore", "api_key_hash", "new_api_key"]

#: What every key starts with, so that a key pasted where it should not be
#: (a log, a repository) is recognisable for what it is.
KEY_PREFIX = "klg_"

#: How many characters of a key ``prefix`` keeps: ``klg_`` and 8 more.
_SHOWN = len(KEY_PREFIX) + 8


@attrs.frozen
class ApiKey:
    """One API key, as stored: never the key itself."""

    id: int
    name: str
    """The system that uses the key (``--name``)."""
    user_id: str
    """The user of the organisation file the key acts as."""
    prefix: str
    """The key's first characters, to tell keys apart."""
    created: dt.datetime
    created_by: str
    revoked: dt.datetime | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None


def new_api_key() -> str:
    """A new key: ``klg_`` and 256 random bits."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_hash(key: str) -> str:
    """What is stored of *key*: its SHA-256, in hex."""
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def _key(row: sa.Row[tuple[object, ...]]) -> ApiKey:
    m = row._mapping
    return ApiKey(
        id=m["id"],
        name=m["name"],
        user_id=m["user_id"],
        prefix=m["prefix"],
        created=m["created"],
        created_by=m["created_by"],
        revoked=m["revoked"],
        revoked_by=m["revoked_by"],
    )


_COLUMNS = [c for c in api_keys.c if c.name != "hash"]

#: A key by its hash: every request of the HTTP API runs it, so it is built
#: once (building a statement and its cache key cost more CPU than running
#: it, docs/performance.md, issue 21).
_BY_HASH = sa.select(*_COLUMNS).where(api_keys.c.hash == sa.bindparam("hash"))


class ApiKeyStore:
    """The API keys in a unit of work (part of
    :class:`~klagomal.storage.sql.SqlUnitOfWork`)."""

    conn: Connection

    def add_api_key(self, key: str, *, name: str, user_id: str, at: dt.datetime, by: str) -> ApiKey:
        """Store *key* (its hash) for the system *name*, acting as *user_id*."""
        result = self.conn.execute(
            sa.insert(api_keys).values(
                name=name,
                user_id=user_id,
                prefix=key[:_SHOWN],
                hash=api_key_hash(key),
                created=at,
                created_by=by,
            )
        )
        (key_id,) = result.inserted_primary_key or (None,)
        found = self.api_key(int(key_id))  # type: ignore[arg-type]
        assert found is not None
        return found

    def api_key(self, key_id: int) -> ApiKey | None:
        row = self.conn.execute(sa.select(*_COLUMNS).where(api_keys.c.id == key_id)).first()
        return None if row is None else _key(row)

    def api_keys(self) -> list[ApiKey]:
        """Every key, revoked ones too, oldest first."""
        return [_key(row) for row in self.conn.execute(sa.select(*_COLUMNS).order_by(api_keys.c.id))]

    def api_key_by_key(self, key: str) -> ApiKey | None:
        """The stored key whose hash is *key*'s, revoked or not."""
        row = self.conn.execute(_BY_HASH, {"hash": api_key_hash(key)}).first()
        return None if row is None else _key(row)

    def revoke_api_key(self, key_id: int, *, at: dt.datetime, by: str) -> None:
        self.conn.execute(
            sa.update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked.is_(None))
            .values(revoked=at, revoked_by=by)
        )

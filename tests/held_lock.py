"""A real write lock, held by another connection while a test runs: what a
long transaction of another process (a bulk import, a backup, a handler's
step stuck on a slow disk) does to everyone else who writes.

- SQLite: the database's write lock, taken with ``BEGIN IMMEDIATE``;
- PostgreSQL and MariaDB: the audit log's head row, ``SELECT ... FOR
  UPDATE``; every write of klagomal, and every read (which is audited),
  appends to the log under that row's lock (:func:`klagomal.records.audit.append`).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator

import sqlalchemy as sa

from klagomal.storage.tables import audit_head


@contextlib.contextmanager
def held_write_lock(url: str) -> Iterator[None]:
    """Hold a lock that every write to the klagomal database at *url* needs,
    from another connection, until the block ends; then roll back."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        conn = sqlite3.connect(str(parsed.database), isolation_level=None, check_same_thread=False)
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield
            conn.execute("ROLLBACK")
        finally:
            conn.close()
        return
    engine = sa.create_engine(parsed, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            assert conn.execute(sa.select(audit_head).with_for_update()).all(), "no audit head to lock"
            yield
            transaction.rollback()
    finally:
        engine.dispose()


@contextlib.contextmanager
def lock_released_after(url: str, seconds: float) -> Iterator[None]:
    """Hold the lock of :func:`held_write_lock` from before the block until
    *seconds* later, from another thread."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with held_write_lock(url):
            taken.set()
            release.wait(seconds)

    holder = threading.Thread(target=hold, name="held-lock")
    holder.start()
    try:
        assert taken.wait(30), "the lock was not taken"
        yield
    finally:
        release.set()
        holder.join(30)

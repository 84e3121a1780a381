"""The phrase library's rows (table ``phrases``, migration 0015, R23):
translated into :class:`klagomal.core.phrases.Phrase` values.  Who may read
and write them is decided above, in :mod:`klagomal.notices.phrases`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from klagomal.core.phrases import Phrase, Purpose
from klagomal.storage.tables import phrases

__all__ = ["PhraseStore"]


def _phrase(row: sa.Row[tuple[object, ...]]) -> Phrase:
    m = row._mapping
    return Phrase(
        id=m["id"],
        department=m["department"],
        purpose=Purpose(m["purpose"]),
        title=m["title"],
        text=m["text"],
        created_by=m["created_by"],
        created_at=m["created_at"],
        updated_by=m["updated_by"],
        updated_at=m["updated_at"],
        retired_at=m["retired_at"],
    )


class PhraseStore:
    """The phrases in a unit of work (part of
    :class:`~klagomal.storage.sql.SqlUnitOfWork`)."""

    conn: Connection

    def add_phrase(
        self, *, department: str, purpose: Purpose, title: str, text: str, at: dt.datetime, by: str
    ) -> Phrase:
        """Store a new phrase and return it with its id."""
        result = self.conn.execute(
            sa.insert(phrases).values(
                department=department,
                purpose=purpose.value,
                title=title,
                text=text,
                created_by=by,
                created_at=at,
            )
        )
        (phrase_id,) = result.inserted_primary_key or (None,)
        found = self.phrase(int(phrase_id))  # type: ignore[arg-type]
        assert found is not None
        return found

    def update_phrase(
        self,
        phrase_id: int,
        *,
        department: str,
        purpose: Purpose,
        title: str,
        text: str,
        at: dt.datetime,
        by: str,
    ) -> None:
        self.conn.execute(
            sa.update(phrases)
            .where(phrases.c.id == phrase_id)
            .values(
                department=department,
                purpose=purpose.value,
                title=title,
                text=text,
                updated_by=by,
                updated_at=at,
            )
        )

    def retire_phrase(self, phrase_id: int, *, at: dt.datetime, by: str) -> None:
        """Hide the phrase from now on; the row stays."""
        self.conn.execute(
            sa.update(phrases)
            .where(phrases.c.id == phrase_id, phrases.c.retired_at.is_(None))
            .values(retired_at=at, updated_by=by, updated_at=at)
        )

    def phrase(self, phrase_id: int) -> Phrase | None:
        row = self.conn.execute(sa.select(phrases).where(phrases.c.id == phrase_id)).first()
        return None if row is None else _phrase(row)

    def phrases(
        self,
        *,
        departments: Collection[str] | None = None,
        purpose: Purpose | None = None,
        include_retired: bool = False,
    ) -> list[Phrase]:
        """The phrases of *departments* (``None``: every förvaltning), of
        one *purpose* or all, by förvaltning, purpose and title."""
        query = sa.select(phrases)
        if departments is not None:
            query = query.where(phrases.c.department.in_(sorted(departments)))
        if purpose is not None:
            query = query.where(phrases.c.purpose == purpose.value)
        if not include_retired:
            query = query.where(phrases.c.retired_at.is_(None))
        rows = self.conn.execute(query.order_by(phrases.c.id))
        found = [_phrase(row) for row in rows]
        # Sorted here, not in SQL: the databases' collations order Swedish
        # letters (å, ä, ö) differently, and the list must be the same on all.
        order = {p: n for n, p in enumerate(Purpose)}
        return sorted(found, key=lambda p: (p.department, order[p.purpose], p.title.casefold(), p.id))

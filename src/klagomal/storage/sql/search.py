"""The search index: what is written for a case, and the full-text query on
each database's own engine (R27 decides what may be matched).

The words of a case are written to ``search_documents`` in the transaction
of every event that can change them (:meth:`SearchStore.index`), of the bulk
import and restore, and of disposal and anonymisation
(:func:`klagomal.records.disposal.redact_case`), so the index never holds a
text the case no longer has.  The database indexes the rows with its own
engine (migration 0009): SQLite FTS5 through triggers, PostgreSQL a
``tsvector`` with the Swedish configuration and a GIN index, MariaDB a
FULLTEXT index.

A case is written as one row per *view*: what a reader sees of it
(:mod:`klagomal.records.redaction`) differs in two ways only, whether the
identity of a person with skyddade personuppgifter is shown and whether the
texts marked secret are.  A case without either has one row; one with
either has a row with and a row without, flagged, so that the query
matches only a row its user may see in full.  A match in a part hidden from
the user would tell them what the hidden part says, even without showing
it, so it must not make the case a hit.

The body holds lower-case words only (:func:`words`), and so does a query:
no character of the user's input reaches an engine's query syntax.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection

from klagomal.cases.search import words
from klagomal.core.errors import ConfigurationError
from klagomal.core.events import (
    TEXT_FIELDS,
    Acknowledged,
    Closed,
    ContactCorrected,
    Event,
    Forwarded,
    MessageReceived,
    Registered,
    Resumed,
)
from klagomal.core.i18n import _
from klagomal.core.model import Case, Contact
from klagomal.records.redaction import Markings
from klagomal.storage.base import SearchHit, SearchQuery
from klagomal.storage.tables import cases, search_documents

__all__ = [
    "FULLTEXT_NAMES",
    "SearchStore",
    "after_event",
    "documents",
    "include_name",
    "index_case",
    "insert_documents",
    "rows_of",
]

#: The objects each engine keeps beside ``search_documents``, made by
#: migration 0009 and not by the metadata (see :func:`include_name`).
FULLTEXT_NAMES = ("search_fts", "tsv", "ix_search_documents_body", "ix_search_documents_tsv")

#: The shortest word MariaDB's FULLTEXT index holds (``innodb_ft_min_token_size``).
MARIADB_MIN_WORD = 3

#: How many of the newest matching rows in a user's scope are ranked.
SEARCH_WINDOW = 500

#: Steps that change no text, contact or secrecy marking: no rewrite of the index.
_UNCHANGED = (Acknowledged, Resumed, Closed)


def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """For Alembic's comparison of the schema with the metadata: leave out
    the full-text engine's own tables, columns and indexes."""
    return not (name and name.startswith(FULLTEXT_NAMES))


def _contact_texts(contact: Contact | None, history: Sequence[Event]) -> list[str]:
    found: list[str] = []
    if contact is not None:
        found += [v for v in (contact.name, contact.email) if v]
    for event in history:
        data = event.data
        if isinstance(data, Registered) and data.contact is not None:
            found += [v for v in (data.contact.name, data.contact.email) if v]
        elif isinstance(data, MessageReceived) and data.sender:
            found.append(data.sender)
        elif isinstance(data, ContactCorrected):
            # The new values, and the old ones, which the history still
            # shows whoever may see the contact: what they see, they find.
            for value in (data.previous, data.contact):
                found += [v for v in (value.name, value.email) if v]
    return found


def documents(case: Case, history: Sequence[Event], reference: str | None = None) -> list[dict[str, Any]]:
    """The rows of ``search_documents`` for *case* with its *history*
    (stored as *reference*, when the case gets its reference on import)."""
    return rows_of(reference or case.reference, case.summary, case.contact, case.protected, history)


def rows_of(
    reference: str, summary: str | None, contact: Contact | None, protected: bool, history: Sequence[Event]
) -> list[dict[str, Any]]:
    """The rows of ``search_documents`` for the case *reference*: its
    register description, its contact, whether that is protected, and its events."""
    markings = Markings.of(history)
    open_texts: list[str] = [reference]
    if summary:
        open_texts.append(summary)
    secret_texts: list[str] = []
    for event in history:
        texts = secret_texts if markings.ground(event.seq) is not None else open_texts
        for field in TEXT_FIELDS.get(type(event.data), ()):
            value = getattr(event.data, field, None)
            if value:
                texts.append(value)
    identity = _contact_texts(contact, history)
    contact_views = (True, False) if protected and identity else (True,)
    secret_views = (True, False) if secret_texts else (True,)
    rows = []
    for with_contact in contact_views:
        for with_secret in secret_views:
            parts = [*open_texts]
            if with_contact:
                parts += identity
            if with_secret:
                parts += secret_texts
            rows.append(
                {
                    "reference": reference,
                    "protected": with_contact and protected and bool(identity),
                    "secret": with_secret and bool(secret_texts),
                    "body": " ".join(words(" ".join(parts))),
                }
            )
    return rows


def index_case(conn: Connection, case: Case, history: Sequence[Event]) -> None:
    """Write the index rows of *case*, replacing any it had."""
    conn.execute(sa.delete(search_documents).where(search_documents.c.reference == case.reference))
    conn.execute(sa.insert(search_documents), documents(case, history))


def after_event(conn: Connection, case: Case, event: Event, history: Callable[[], Sequence[Event]]) -> None:
    """Bring the index of *case* up to date after *event*, in the event's
    transaction; *history* reads the case's events (not called for a
    registration, nor for a step that changes no text)."""
    data = event.data
    if isinstance(data, _UNCHANGED) or (isinstance(data, Forwarded) and data.secrecy is None):
        return
    index_case(conn, case, [event] if event.seq == 1 else history())


def insert_documents(conn: Connection, items: Iterable[tuple[str, Case, Sequence[Event]]]) -> None:
    """Index new cases ``(reference, case, history)`` (an import), one statement for all."""
    rows = [row for reference, case, history in items for row in documents(case, history, reference)]
    if rows:
        conn.execute(sa.insert(search_documents), rows)


class SearchStore:
    """The search index in a unit of work (part of :class:`~klagomal.storage.sql.SqlUnitOfWork`)."""

    conn: Connection

    def _postgresql_rows(self, stmt: sa.Select[Any], matching: sa.Select[Any]) -> list[Any]:
        """*stmt*'s rows, planned knowing whether the words are rare.

        *Backend-specific:* PostgreSQL cannot estimate a prefix query
        (``word:*``) from its statistics, and for a word in no case it
        walked the primary key backwards through every row looking for the
        newest match (426 ms at a million cases).  The GIN index is asked
        first, by a bitmap scan only, whether the words match more rows
        than the window; when they do not, the search itself is planned
        with bitmap scans only, which start from the index."""
        conn = self.conn
        scans = ("enable_seqscan", "enable_indexscan")
        for setting in scans:
            conn.exec_driver_sql(f"SET LOCAL {setting} = off")
        try:
            probe = sa.select(sa.func.count()).select_from(matching.limit(SEARCH_WINDOW + 1).subquery())
            if conn.execute(probe).scalar_one() > SEARCH_WINDOW:
                for setting in scans:
                    conn.exec_driver_sql(f"SET LOCAL {setting} TO DEFAULT")
            return list(conn.execute(stmt).all())
        finally:
            for setting in scans:
                conn.exec_driver_sql(f"SET LOCAL {setting} TO DEFAULT")

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """The best rows matching every word of *query*, best first."""
        dialect = self.conn.dialect.name
        searched = list(query.words)
        if dialect in ("mysql", "mariadb"):
            searched = [w for w in searched if len(w) >= MARIADB_MIN_WORD]
        if not searched:
            return []
        d = search_documents.c
        conditions: list[sa.ColumnElement[bool]] = []
        if not query.protected:
            conditions.append(d.protected == sa.false())
        if not query.secret:
            conditions.append(d.secret == sa.false())
        if not query.everything:
            scope: list[sa.ColumnElement[bool]] = []
            if query.departments:
                scope.append(cases.c.department.in_(sorted(query.departments)))
            if query.units:
                scope.append(cases.c.unit.in_(sorted(query.units)))
            if query.handler is not None:
                scope.append(cases.c.handler == query.handler)
            if not scope:
                return []
            conditions.append(sa.or_(*scope))
        if query.unit is not None:
            conditions.append(cases.c.unit == query.unit)
        # The newest rows that match, in the user's scope, are found by
        # walking the match backwards by id (no ranking, so it stops early),
        # and only those are ranked: a common word then costs what a rare
        # one does, at any size of the database.
        source: sa.FromClause = search_documents
        if not query.everything or query.unit is not None:
            source = source.join(cases, cases.c.reference == d.reference)
        columns: list[sa.ColumnElement[Any]] = [d.reference, d.protected, d.secret]
        if dialect == "sqlite":
            fts = sa.table("search_fts", sa.column("rowid"))
            # Quoted words: nothing of the input is FTS5 syntax; * matches a word's beginning.
            match = " ".join(f'"{w}"*' for w in searched)
            conditions.append(sa.literal_column("search_fts").op("MATCH")(match))
            newest = (
                sa.select(*columns, sa.func.bm25(sa.literal_column("search_fts")).label("score"))
                .select_from(fts.join(source, fts.c.rowid == d.id))
                .order_by(fts.c.rowid.desc())
            )
        elif dialect == "postgresql":
            # Planned for the words at hand: the driver prepares a statement
            # run a few times, and the server's generic plan for it, made
            # without the words, walked every row for a handler's search
            # (150 ms for a word in no case at 100,000 cases, not 2 ms).
            self.conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
            # The words alone, each as a prefix of a Swedish lexeme.
            tsquery = sa.func.to_tsquery(
                sa.literal_column("'swedish'::regconfig"), " & ".join(f"{w}:*" for w in searched)
            )
            tsv: sa.ColumnElement[Any] = sa.literal_column("search_documents.tsv")
            conditions.append(tsv.op("@@")(tsquery))
            newest = sa.select(*columns, tsv.label("tsv")).select_from(source).order_by(d.id.desc())
        elif dialect in ("mysql", "mariadb"):
            # Every word required, each as a word's beginning.
            score = mysql.match(d.body, against=" ".join(f"+{w}*" for w in searched)).in_boolean_mode()
            conditions.append(score > 0)
            newest = sa.select(*columns, score.label("score")).select_from(source).order_by(d.id.desc())
        else:
            raise ConfigurationError(
                _("sökning finns bara på SQLite, PostgreSQL och MariaDB, inte på {dialect}").format(
                    dialect=dialect
                )
            )
        window = newest.where(*conditions).limit(SEARCH_WINDOW).subquery("newest")
        rank: sa.ColumnElement[Any]
        if dialect == "sqlite":
            rank, order = window.c.score, window.c.score.asc()  # bm25: lower is better
        elif dialect == "postgresql":
            rank = sa.func.ts_rank(window.c.tsv, tsquery)
            order = rank.desc()
        else:
            rank, order = window.c.score, window.c.score.desc()
        stmt = (
            sa.select(window.c.reference, window.c.protected, window.c.secret, rank.label("rank"))
            .order_by(order, window.c.reference.desc())
            .limit(query.limit)
            .offset(query.offset)
        )
        rows: Sequence[Any]
        if dialect == "postgresql":
            rows = self._postgresql_rows(stmt, sa.select(d.id).where(conditions[-1]))
        else:
            rows = self.conn.execute(stmt).all()
        return [
            SearchHit(
                reference=row.reference,
                protected=bool(row.protected),
                secret=bool(row.secret),
                rank=abs(float(row.rank or 0.0)),
            )
            for row in rows
        ]

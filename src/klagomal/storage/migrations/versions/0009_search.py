"""The search index: ``search_documents`` and each database's own full-text
engine over it, filled for the cases already stored.

* SQLite: an FTS5 table ``search_fts`` over ``search_documents.body``
  (external content), kept by triggers on ``search_documents``;
* PostgreSQL: a stored ``tsvector`` column ``tsv`` with the Swedish
  configuration, and a GIN index on it;
* MariaDB: a FULLTEXT index on ``body``.

The rows are written by klagomal (klagomal.storage.sql.search); the engine
only indexes them, so what a case's rows hold is decided in one place.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_SQLITE = (
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    "body, content='search_documents', content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN "
    "INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body); END",
)

#: Cases indexed per round trip when the index is filled.
_CHUNK = 1000


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("protected", sa.Boolean, nullable=False),
        sa.Column("secret", sa.Boolean, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["reference"], ["cases.reference"], name="fk_search_documents_reference_cases"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_search_documents"),
    )
    op.create_index("ix_search_documents_reference", "search_documents", ["reference"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(
            "ALTER TABLE search_documents ADD COLUMN tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('swedish'::regconfig, body)) STORED"
        )
        op.execute("CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)")
    _fill()
    if dialect in ("mysql", "mariadb"):
        # Built once over the filled table: faster than keeping it while filling.
        op.execute("CREATE FULLTEXT INDEX ix_search_documents_body ON search_documents (body)")


def _fill() -> None:
    """Index every stored case from its stored rows, as klagomal writes it.
    The columns are named here, as they are at this revision."""
    import datetime as dt

    from klagomal.core.events import Event, EventData
    from klagomal.core.model import Contact
    from klagomal.core.serialization import make_converter
    from klagomal.storage.sql.search import rows_of

    converter = make_converter()
    conn = op.get_bind()
    cases = sa.table(
        "cases",
        *(sa.column(name) for name in ("reference", "summary", "anonymous", "contact_name", "contact_email")),
        sa.column("contact_protected", sa.Boolean),
    )
    events = sa.table(
        "events",
        *(sa.column(name) for name in ("reference", "seq", "actor", "payload")),
    )
    documents = sa.table(
        "search_documents", *(sa.column(name) for name in ("reference", "protected", "secret", "body"))
    )
    last = ""
    while True:
        rows = conn.execute(
            sa.select(cases).where(cases.c.reference > last).order_by(cases.c.reference).limit(_CHUNK)
        ).all()
        if not rows:
            return
        refs = [row.reference for row in rows]
        histories: dict[str, list[Event]] = {ref: [] for ref in refs}
        for row in conn.execute(
            sa.select(events).where(events.c.reference.in_(refs)).order_by(events.c.reference, events.c.seq)
        ):
            histories[row.reference].append(
                Event(
                    reference=row.reference,
                    seq=row.seq,
                    # When it happened is not indexed.
                    day=dt.date(2000, 1, 1),
                    recorded_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
                    data=converter.structure(json.loads(row.payload), EventData),  # type: ignore[arg-type]
                    actor=row.actor,
                )
            )
        new = [
            document
            for row in rows
            for document in rows_of(
                row.reference,
                row.summary,
                None if row.anonymous else Contact(name=row.contact_name, email=row.contact_email),
                bool(row.contact_protected),
                histories[row.reference],
            )
        ]
        if new:
            conn.execute(sa.insert(documents), new)
        last = refs[-1]


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("search_documents_ai", "search_documents_ad", "search_documents_au"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE search_fts")
    op.drop_table("search_documents")

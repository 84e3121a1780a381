"""Alembic environment for klagomal's packaged migrations.

Always run through :func:`klagomal.storage.migrate.upgrade`, which hands over
an open connection; there is no ``alembic.ini`` and no logging setup here, so
that the embedding application's logging stays as it configured it.
"""

from __future__ import annotations

from alembic import context

from klagomal.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when misused from the alembic CLI
    raise RuntimeError("run klagomal's migrations through `klagomal init`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things; batch mode recreates tables instead.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

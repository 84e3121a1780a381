"""A case's language (lag 2009:724, klagomal.core.i18n): the language the
person writes in and gets letters in, one column of ``cases``.  Every case
stored before is Swedish, which the server default fills in.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: batch mode would copy the table on SQLite, which
    # the foreign keys of the events (and every other table) forbid.
    op.add_column("cases", sa.Column("language", sa.String(16), nullable=False, server_default="sv"))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35 and later), for the same reason.
    op.drop_column("cases", "language")

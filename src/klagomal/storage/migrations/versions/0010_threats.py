"""Flags for abusive or threatening treatment (R28): ``cases.threat_flags``,
the flags that are set, so that worklists and ``show`` mark them without
reading the history.

No case had a flag before this revision, so the column starts empty.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: batch mode would copy the cases table on SQLite,
    # which the other tables' foreign keys forbid.
    op.add_column("cases", sa.Column("threat_flags", sa.String(100)))


def downgrade() -> None:
    # A plain DROP COLUMN too (SQLite 3.35 and later have it): batch mode
    # would copy the cases table, which the foreign keys forbid.
    op.drop_column("cases", "threat_flags")

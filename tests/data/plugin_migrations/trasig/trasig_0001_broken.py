"""A plugin migration that fails when it runs: it reads a column that does not exist.

Revision ID: trasig_0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "trasig_0001"
down_revision = None
branch_labels = ("trasig",)
depends_on = None


def upgrade() -> None:
    op.execute(sa.text("SELECT no_such_column FROM cases"))


def downgrade() -> None:
    pass

"""Secrecy: the legal ground on a case marked secret (OSL), set at registration
by a förvaltning's plugin.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing cases were registered without a secrecy marking: NULL.
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("secrecy", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("secrecy")

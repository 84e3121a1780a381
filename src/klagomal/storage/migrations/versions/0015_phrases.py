"""The phrase library (R23, :mod:`klagomal.notices.phrases`): each
förvaltning's ready wordings for its letters, a thanks, an apology, a
common answer.  Never deleted: a phrase no longer wanted is retired.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "phrases",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("department", sa.String(80), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _Timestamp, nullable=False),
        sa.Column("updated_by", sa.String(200)),
        sa.Column("updated_at", _Timestamp),
        sa.Column("retired_at", _Timestamp),
        sa.PrimaryKeyConstraint("id", name="pk_phrases"),
    )
    op.create_index("ix_phrases_department", "phrases", ["department"])


def downgrade() -> None:
    op.drop_index("ix_phrases_department", table_name="phrases")
    op.drop_table("phrases")

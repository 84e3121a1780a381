"""The private links of "Följ ditt ärende" (klagomal.cases.follow): one row
per link, with the SHA-256 of its token, never the token itself, the case,
who issued it and when it was revoked.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "follow_tokens",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("created_at", _Timestamp, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", _Timestamp),
        sa.PrimaryKeyConstraint("id", name="pk_follow_tokens"),
        sa.ForeignKeyConstraint(["reference"], ["cases.reference"], name="fk_follow_tokens_reference_cases"),
        sa.UniqueConstraint("hash", name="uq_follow_tokens_hash"),
    )
    op.create_index("ix_follow_tokens_reference", "follow_tokens", ["reference"])


def downgrade() -> None:
    # The table with its indexes: MariaDB refuses to drop the index on
    # ``reference`` first, since its foreign key needs it.
    op.drop_table("follow_tokens")

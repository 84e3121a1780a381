"""The public list of answered cases (klagomal.records.publication): one row
each time a case was published, with the masked description and answer as
they were published, and when and why it was withdrawn.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "publications",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("department", sa.String(80), nullable=False),
        sa.Column("published_at", _Timestamp, nullable=False),
        sa.Column("published_by", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("withdrawn_at", _Timestamp),
        sa.Column("withdrawn_by", sa.String(200)),
        sa.Column("withdrawn_reason", sa.Text),
        sa.ForeignKeyConstraint(["reference"], ["cases.reference"], name="fk_publications_reference_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_publications"),
    )
    op.create_index("ix_publications_reference", "publications", ["reference"])
    op.create_index(
        "ix_publications_withdrawn_at_published_at", "publications", ["withdrawn_at", "published_at"]
    )


def downgrade() -> None:
    op.drop_table("publications")

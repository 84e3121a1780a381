"""Diariets länkar: vilket diarienummer ett ärende har fått i kommunens diarium.

Revision ID: diarium_0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "diarium_0001"
down_revision = None  # a branch of its own, beside klagomal's revisions
branch_labels = ("diarium",)
depends_on = None  # `klagomal init` upgrades klagomal's own tables first, so `cases` is there


def upgrade() -> None:
    op.create_table(
        "diarium_links",
        sa.Column("reference", sa.String(20), sa.ForeignKey("cases.reference"), primary_key=True),
        sa.Column("diarienummer", sa.String(40), primary_key=True),
        sa.Column("registered", sa.Date, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("diarium_links")

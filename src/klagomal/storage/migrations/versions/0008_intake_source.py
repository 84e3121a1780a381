"""Intake visibility: the file each received message was read from, and the
log of messages received again (duplicates), for ``klagomal intake log``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    # A plain ADD COLUMN: batch mode would copy the table on SQLite, which
    # the foreign key of the attachments forbids.
    op.add_column("received_messages", sa.Column("source_file", sa.String(1000)))
    op.create_table(
        "received_duplicates",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("message_id", sa.Integer, nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("source_file", sa.String(1000)),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["received_messages.id"],
            name="fk_received_duplicates_message_id_received_messages",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_received_duplicates"),
    )
    op.create_index("ix_received_duplicates_received_at", "received_duplicates", ["received_at"])
    op.create_index("ix_received_duplicates_message_id", "received_duplicates", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_received_duplicates_message_id", "received_duplicates")
    op.drop_index("ix_received_duplicates_received_at", "received_duplicates")
    op.drop_table("received_duplicates")
    with op.batch_alter_table("received_messages") as batch:
        batch.drop_column("source_file")

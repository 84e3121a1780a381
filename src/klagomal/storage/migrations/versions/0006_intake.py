"""Intake: every received message with its raw bytes (e-mail straight into
the database, the quarantine), attachments, and cases put right at once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
Blob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


def upgrade() -> None:
    # A plain ADD COLUMN: batch mode would copy the cases table on SQLite,
    # which the foreign keys of every other table forbid.
    op.add_column(
        "cases", sa.Column("resolved_at_once", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.create_table(
        "received_messages",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("message_key", sa.String(250), nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("sender", sa.String(320)),
        sa.Column("subject", sa.String(400)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("reference", sa.String(20)),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("raw", Blob, nullable=False),
        sa.ForeignKeyConstraint(
            ["reference"], ["cases.reference"], name="fk_received_messages_reference_cases"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_received_messages"),
        sa.UniqueConstraint("message_key", name="uq_received_messages_message_key"),
    )
    op.create_index(
        "ix_received_messages_outcome_received_at", "received_messages", ["outcome", "received_at"]
    )
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("message_id", sa.Integer, nullable=False),
        sa.Column("reference", sa.String(20)),
        sa.Column("filename", sa.String(255)),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", Blob),
        sa.ForeignKeyConstraint(
            ["message_id"], ["received_messages.id"], name="fk_attachments_message_id_received_messages"
        ),
        sa.ForeignKeyConstraint(["reference"], ["cases.reference"], name="fk_attachments_reference_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_attachments"),
    )
    op.create_index("ix_attachments_reference", "attachments", ["reference"])


def downgrade() -> None:
    op.drop_index("ix_attachments_reference", "attachments")
    op.drop_table("attachments")
    op.drop_index("ix_received_messages_outcome_received_at", "received_messages")
    op.drop_table("received_messages")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("resolved_at_once")

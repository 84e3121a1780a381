"""Deadlines: a paused clock on cases, worklists per handler, and the reminder ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    # Existing cases run their clock: NULL is "not paused".
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("paused_since", sa.Date))
    op.create_index("ix_cases_handler_state", "cases", ["handler", "state"])

    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("deadline", sa.String(8), nullable=False),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("created", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", Timestamp),
        sa.ForeignKeyConstraint(["reference"], ["cases.reference"], name="fk_reminders_reference_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_reminders"),
        sa.UniqueConstraint(
            "reference", "deadline", "due", "kind", name="uq_reminders_reference_deadline_due_kind"
        ),
    )
    op.create_index("ix_reminders_status", "reminders", ["status"])


def downgrade() -> None:
    op.drop_index("ix_reminders_status", table_name="reminders")
    op.drop_table("reminders")
    op.drop_index("ix_cases_handler_state", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("paused_since")

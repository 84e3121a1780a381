"""Public records, secrecy and GDPR: the register description, the
personnummer and protected identity of a contact, the audit log with its
hash chain, and the log of disposal (gallring).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

#: The hash the first audit entry chains to (klagomal.records.audit.GENESIS).
GENESIS = "0" * 64


def upgrade() -> None:
    # Plain ADD COLUMNs: batch mode would copy the cases table on SQLite,
    # which the foreign keys of every other table forbid.
    op.add_column("cases", sa.Column("summary", sa.String(300)))
    op.add_column("cases", sa.Column("contact_personnummer", sa.String(12)))
    op.add_column(
        "cases", sa.Column("contact_protected", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(20)),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_reference", "audit_log", ["reference"])
    op.create_index("ix_audit_log_user_id_at", "audit_log", ["user_id", "at"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("last_id", sa.Integer, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    op.bulk_insert(head, [{"id": 1, "last_id": 0, "last_hash": GENESIS}])
    op.create_table(
        "disposals",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("rule", sa.String(80), nullable=False),
        sa.Column("decision", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(["reference"], ["cases.reference"], name="fk_disposals_reference_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_disposals"),
    )
    op.create_index("ix_disposals_reference", "disposals", ["reference"])


def downgrade() -> None:
    op.drop_index("ix_disposals_reference", "disposals")
    op.drop_table("disposals")
    op.drop_table("audit_head")
    op.drop_index("ix_audit_log_user_id_at", "audit_log")
    op.drop_index("ix_audit_log_reference", "audit_log")
    op.drop_table("audit_log")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("contact_protected")
        batch.drop_column("contact_personnummer")
        batch.drop_column("summary")

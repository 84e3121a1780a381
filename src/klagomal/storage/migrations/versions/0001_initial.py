"""The first schema: cases, their events, dimensions, notices and reference counters.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("unit", sa.String(80), nullable=False),
        sa.Column("department", sa.String(80), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("received", sa.Date, nullable=False),
        sa.Column("registered", sa.Date, nullable=False),
        sa.Column("acknowledge_by", sa.Date, nullable=False),
        sa.Column("updated", sa.Date, nullable=False),
        sa.Column("respond_by", sa.Date),
        sa.Column("acknowledged", sa.Date),
        sa.Column("answered", sa.Date),
        sa.Column("answer_mode", sa.String(16)),
        sa.Column("closed", sa.Date),
        sa.Column("satisfied", sa.Boolean),
        sa.Column("serious", sa.Boolean, nullable=False),
        sa.Column("anonymous", sa.Boolean, nullable=False),
        sa.Column("handler", sa.String(200)),
        sa.Column("contact_name", sa.String(200)),
        sa.Column("contact_email", sa.String(320)),
        sa.Column("contact_phone", sa.String(40)),
        sa.Column("contact_address", sa.String(400)),
        sa.Column("forwards", sa.Integer, nullable=False),
        sa.Column("postponements", sa.Integer, nullable=False),
        sa.Column("late_postponements", sa.Integer, nullable=False),
        sa.Column("actions", sa.Integer, nullable=False),
        sa.Column("praise_passed_on", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("reference", name="pk_cases"),
    )
    op.create_index("ix_cases_unit_state", "cases", ["unit", "state"])
    op.create_index("ix_cases_state_acknowledge_by", "cases", ["state", "acknowledge_by"])
    op.create_index("ix_cases_state_respond_by", "cases", ["state", "respond_by"])
    op.create_index("ix_cases_received", "cases", ["received"])
    op.create_index("ix_cases_department_kind", "cases", ["department", "kind"])

    op.create_table(
        "case_dimensions",
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("dimension", sa.String(40), nullable=False),
        sa.Column("position", sa.SmallInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["reference"], ["cases.reference"], name="fk_case_dimensions_reference_cases"
        ),
        sa.PrimaryKeyConstraint("reference", "dimension", name="pk_case_dimensions"),
    )
    op.create_index("ix_case_dimensions_dimension", "case_dimensions", ["dimension"])

    op.create_table(
        "events",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("recorded_at", Timestamp, nullable=False),
        sa.Column("actor", sa.String(200)),
        sa.Column("payload", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(["reference"], ["cases.reference"], name="fk_events_reference_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("reference", "seq", name="uq_events_reference_seq"),
    )

    op.create_table(
        "notices",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["reference"], ["cases.reference"], name="fk_notices_reference_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
        sa.UniqueConstraint("reference", "seq", name="uq_notices_reference_seq"),
    )

    op.create_table(
        "reference_counters",
        sa.Column("year", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("year", name="pk_reference_counters"),
    )


def downgrade() -> None:
    op.drop_table("reference_counters")
    op.drop_table("notices")
    op.drop_table("events")
    op.drop_index("ix_case_dimensions_dimension", table_name="case_dimensions")
    op.drop_table("case_dimensions")
    for name in (
        "ix_cases_department_kind",
        "ix_cases_received",
        "ix_cases_state_respond_by",
        "ix_cases_state_acknowledge_by",
        "ix_cases_unit_state",
    ):
        op.drop_index(name, table_name="cases")
    op.drop_table("cases")

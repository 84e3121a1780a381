"""External ids: the id a case had in the system it was imported from, so that
a bulk import can be rerun or resumed without storing a case twice; and
indexes for reports by förvaltning and period and for a unit's overdue
worklist.

A table of its own rather than a nullable unique column on ``cases``:
Microsoft SQL Server allows only one NULL in a unique constraint, and most
cases never had another system's id.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "external_ids",
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.ForeignKeyConstraint(["reference"], ["cases.reference"], name="fk_external_ids_reference_cases"),
        sa.PrimaryKeyConstraint("external_id", name="pk_external_ids"),
        sa.UniqueConstraint("reference", name="uq_external_ids_reference"),
    )
    with op.batch_alter_table("cases") as batch:
        # Reports filter by förvaltning and period together.
        batch.create_index("ix_cases_department_received", ["department", "received"])
        # A unit's overdue worklist: with the deadline in the index the plan
        # reads only the unit's open cases, not every overdue case in the
        # kommun.  They make (unit, state) redundant.
        batch.create_index("ix_cases_unit_state_acknowledge_by", ["unit", "state", "acknowledge_by"])
        batch.create_index("ix_cases_unit_state_respond_by", ["unit", "state", "respond_by"])
        batch.drop_index("ix_cases_unit_state")


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.create_index("ix_cases_unit_state", ["unit", "state"])
        batch.drop_index("ix_cases_unit_state_respond_by")
        batch.drop_index("ix_cases_unit_state_acknowledge_by")
        batch.drop_index("ix_cases_department_received")
    op.drop_table("external_ids")

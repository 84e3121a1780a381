"""The worker's jobs (``klagomal worker``, :mod:`klagomal.worker`): a lease
per job, so that one worker leads each job however many run, and a record
of every run with its outcome.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "job_leases",
        sa.Column("job", sa.String(40), nullable=False),
        sa.Column("holder", sa.String(200)),
        sa.Column("expires_at", _Timestamp),
        sa.Column("acquired_at", _Timestamp),
        sa.PrimaryKeyConstraint("job", name="pk_job_leases"),
    )
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("job", sa.String(40), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("started_at", _Timestamp, nullable=False),
        sa.Column("finished_at", _Timestamp),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_job_runs"),
    )
    op.create_index("ix_job_runs_job_day", "job_runs", ["job", "day"])
    op.create_index("ix_job_runs_job_outcome_started_at", "job_runs", ["job", "outcome", "started_at"])


def downgrade() -> None:
    op.drop_table("job_runs")
    op.drop_table("job_leases")

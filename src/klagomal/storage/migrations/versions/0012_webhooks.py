"""Webhooks: ``webhook_subscriptions`` (a system's URL, the event types it
wants, the user whose access decides what a payload carries, and the
signing secret) and ``webhook_deliveries`` (one row per event and
subscription, written in the event's transaction, with its delivery state).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# MariaDB/MySQL keep no fractional seconds unless asked to.
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("removed_at", Timestamp),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_subscriptions"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("webhook_id", sa.String(80), nullable=False),
        sa.Column("subscription_id", sa.Integer, nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("next_attempt", Timestamp),
        sa.Column("attempted_at", Timestamp),
        sa.Column("sent_at", Timestamp),
        sa.Column("response_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name="fk_webhook_deliveries_subscription_id_webhook_subscriptions",
        ),
        sa.UniqueConstraint("webhook_id", name="uq_webhook_deliveries_webhook_id"),
    )
    op.create_index(
        "ix_webhook_deliveries_status_next_attempt", "webhook_deliveries", ["status", "next_attempt"]
    )
    op.create_index("ix_webhook_deliveries_subscription_id", "webhook_deliveries", ["subscription_id"])


def downgrade() -> None:
    # Dropping a table drops its indexes.  MariaDB refuses to drop the index
    # on subscription_id on its own, as its foreign key needs it.
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_subscriptions")

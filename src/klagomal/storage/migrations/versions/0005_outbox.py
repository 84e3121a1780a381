"""The outbox: notices to staff as well as to the person, with their delivery
state, and the person's preferred way of contact.

A notice is now one row per recipient of an event (praise passed on reaches
each member of staff and their manager), so the unique key gains the
recipient.  Notices owed before this revision were never delivered by
klagomal: a kommun printed them with ``klagomal letter``.  They are marked
``manual`` so that the first ``klagomal deliver`` after the upgrade does not
send old letters.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("contact_preferred", sa.String(16)))
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("recipient", sa.String(40), nullable=False, server_default="person"))
        batch.add_column(sa.Column("way", sa.String(16)))
        batch.add_column(sa.Column("message_id", sa.String(250)))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt", Timestamp))
        batch.add_column(sa.Column("attempted_at", Timestamp))
        batch.add_column(sa.Column("sent_at", Timestamp))
        batch.add_column(sa.Column("address", sa.String(400)))
        batch.add_column(sa.Column("last_error", sa.Text))
        # The new key first: MariaDB needs an index on the foreign key column
        # at every moment, and the old key is that index until the new exists.
        batch.create_unique_constraint(
            "uq_notices_reference_seq_recipient", ["reference", "seq", "recipient"]
        )
        batch.drop_constraint("uq_notices_reference_seq", type_="unique")
        batch.create_index("ix_notices_status_next_attempt", ["status", "next_attempt"])
        batch.create_index("ix_notices_message_id", ["message_id"])
    notices = sa.table("notices", sa.column("status", sa.String))
    op.execute(notices.update().where(notices.c.status == "pending").values(status="manual"))


def downgrade() -> None:
    notices = sa.table("notices", sa.column("recipient", sa.String), sa.column("status", sa.String))
    op.execute(notices.delete().where(notices.c.recipient != "person"))
    with op.batch_alter_table("notices") as batch:
        batch.drop_index("ix_notices_message_id")
        batch.drop_index("ix_notices_status_next_attempt")
        batch.create_unique_constraint("uq_notices_reference_seq", ["reference", "seq"])
        batch.drop_constraint("uq_notices_reference_seq_recipient", type_="unique")
        for column in (
            "last_error",
            "address",
            "sent_at",
            "attempted_at",
            "next_attempt",
            "attempts",
            "message_id",
            "way",
            "recipient",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("contact_preferred")

"""Related cases: each case's contact keys (its e-mail address and phone
number in their normal forms, klagomal.core.person_keys) in indexed
columns, an index on the personnummer, and one on a unit's cases by the day
received, so that the same person's cases and a unit's recent cases are
found without reading every case (klagomal.cases.related).

The keys of the cases already stored are computed here from their contact
columns, with the same function that writes them from then on.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: Cases whose keys are computed per round trip.
_CHUNK = 2000

_INDEXES = {
    "ix_cases_contact_email_key": ["contact_email_key"],
    "ix_cases_contact_phone_key": ["contact_phone_key"],
    "ix_cases_contact_personnummer": ["contact_personnummer"],
    "ix_cases_unit_received": ["unit", "received"],
}


def upgrade() -> None:
    # Plain ADD COLUMNs: batch mode would copy the table on SQLite, which
    # the foreign keys of the events (and every other table) forbid.
    op.add_column("cases", sa.Column("contact_email_key", sa.String(320)))
    op.add_column("cases", sa.Column("contact_phone_key", sa.String(40)))
    _fill()
    for name, columns in _INDEXES.items():
        op.create_index(name, "cases", columns)


def _fill() -> None:
    """The keys of every stored case with an e-mail address or a phone
    number.  The columns are named here, as they are at this revision."""
    from klagomal.core.person_keys import email_key, phone_key

    conn = op.get_bind()
    cases = sa.table(
        "cases",
        *(
            sa.column(name)
            for name in (
                "reference",
                "anonymous",
                "contact_email",
                "contact_phone",
                "contact_email_key",
                "contact_phone_key",
            )
        ),
    )
    update = (
        sa.update(cases)
        .where(cases.c.reference == sa.bindparam("b_reference"))
        .values(
            contact_email_key=sa.bindparam("email_key"),
            contact_phone_key=sa.bindparam("phone_key"),
        )
    )
    last = ""
    while True:
        rows = conn.execute(
            sa.select(cases.c.reference, cases.c.anonymous, cases.c.contact_email, cases.c.contact_phone)
            .where(cases.c.reference > last)
            .order_by(cases.c.reference)
            .limit(_CHUNK)
        ).all()
        if not rows:
            return
        keyed = [
            {
                "b_reference": row.reference,
                "email_key": email_key(row.contact_email),
                "phone_key": phone_key(row.contact_phone),
            }
            for row in rows
            if not row.anonymous and (row.contact_email or row.contact_phone)
        ]
        if keyed:
            conn.execute(update, keyed)
        last = rows[-1].reference


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, "cases")
    # Plain DROP COLUMNs (SQLite 3.35 and later), for the same reason.
    op.drop_column("cases", "contact_phone_key")
    op.drop_column("cases", "contact_email_key")

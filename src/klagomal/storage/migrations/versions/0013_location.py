"""Location: where a case is about (klagomal.core.location, issue 21) in
five columns of ``cases``: WGS84 latitude and longitude, SWEREF 99 TM
(EPSG:3006) northing and easting, in double precision, and an address.
No case stored before has a location, so nothing is filled.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("location_latitude", sa.Double()),
    ("location_longitude", sa.Double()),
    ("location_northing", sa.Double()),
    ("location_easting", sa.Double()),
    ("location_address", sa.String(400)),
)


def upgrade() -> None:
    # Plain ADD COLUMNs: batch mode would copy the table on SQLite, which
    # the foreign keys of the events (and every other table) forbid.
    for name, type_ in _COLUMNS:
        op.add_column("cases", sa.Column(name, type_))


def downgrade() -> None:
    # Plain DROP COLUMNs (SQLite 3.35 and later), for the same reason.
    for name, _type in reversed(_COLUMNS):
        op.drop_column("cases", name)

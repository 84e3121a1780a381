"""Reply cards (svarskort, R4): scanned or typed cards in a CSV file with
Swedish headers, registered through the bulk import's machinery, so that a
row with an error is reported with its line and reason, the valid rows are
registered, and a rerun registers nothing twice.

The columns (any order; a Swedish spreadsheet's
``;`` and BOM are fine):

========== =====================================================================
column     meaning
========== =====================================================================
kort       the card's own number, if the cards are numbered (what makes a
           rerun skip it; without it, the card's content does)
typ        ``klagomal``, ``forslag`` or ``berom``, as the person ticked it
           (required: the person decides, R2)
text       what the person wrote (required)
enhet      the unit it concerns (default: ``[intag] enhet``)
mottaget   the day the card was received, ``ÅÅÅÅ-MM-DD`` (default: today)
namn, epost, telefon, adress
           how to reach the person; none filled in: anonymous (allowed for
           reply cards, R5)
dimensioner quality dimensions, separated by ``,`` or ``|``
========== =====================================================================
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

__all__ = ["COLUMNS", "card_fields"]

#: The Swedish column names and the bulk import's field each becomes.
COLUMNS: dict[str, str] = {
    "kort": "external_id",
    "typ": "kind",
    "text": "text",
    "enhet": "unit",
    "mottaget": "received",
    "namn": "name",
    "epost": "email",
    "telefon": "phone",
    "adress": "address",
    "dimensioner": "dimensions",
}


def card_fields(fields: Mapping[str, Any], today: dt.date, default_unit: str | None) -> dict[str, Any]:
    """The bulk import's fields for one card row."""
    row = {COLUMNS[name]: value for name, value in fields.items() if name in COLUMNS}
    card = str(row.pop("external_id", "") or "").strip()
    if not card:
        # No number on the card: the same content is the same card.
        content = "\x1f".join(f"{k}={str(fields[k]).strip()}" for k in sorted(fields) if k != "kort")
        card = "sha256:" + hashlib.sha256(content.encode("utf-8")).hexdigest()[:32]
    row["external_id"] = f"svarskort:{card}"
    row["channel"] = "svarskort"
    row["received"] = str(row.get("received") or "").strip() or today.isoformat()
    if not str(row.get("unit") or "").strip() and default_unit:
        row["unit"] = default_unit
    return row

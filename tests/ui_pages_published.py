"""The public list of answered cases for the central page catalogue (UI.md):
every GET route of klagomal.web.ui.published, visited as a citizen (no
user) and, for the list, by a signed-in handler (who sees the same page,
without the staff navigation)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from klagomal import Klagomal
from klagomal.core.model import Contact

#: The unit the published case of these pages is registered at (Exempelkommun's).
UNIT = "soc-aldre-hemtjanst-norr"


def published_case(k: Klagomal) -> str:
    """A published case's page: one the database has, else one answered and published now."""
    for shown in k.published(limit=1):
        return f"/besvarade/{shown.reference}"
    case = k.register(
        kind="forslag",
        channel="telefon",
        text="Fler bänkar längs promenadvägen, tack.",
        unit=UNIT,
        contact=Contact(name="Eva Svensson", phone="070-123 45 67"),
    )
    k.acknowledge(case.reference, "omar.ali", k.clock.today() + dt.timedelta(days=14))
    k.answer(case.reference, "skriftligt", "Tack för förslaget. Vi ställer ut två bänkar i vår.")
    k.as_user("omar.ali").publish(case.reference)
    return f"/besvarade/{case.reference}"


PAGES: dict[str, list[tuple[str | None, Callable[[Klagomal], str]]]] = {
    "/besvarade": [
        (None, lambda k: "/besvarade"),
        (None, lambda k: "/besvarade?forvaltning=soc"),
        ("omar.ali", lambda k: "/besvarade"),
    ],
    "/besvarade/{reference:str}": [(None, published_case)],
}

"""The citizen's "Följ ditt ärende" for the central page catalogue (UI.md):
its GET route, visited as a citizen (no user) by a fresh private link."""

from __future__ import annotations

from collections.abc import Callable

from klagomal import Klagomal

#: The unit the page's case is registered at (Exempelkommun's).
UNIT = "soc-aldre-hemtjanst-norr"


def follow_page(k: Klagomal) -> str:
    """A fresh link (the system owner may issue one) to an open case of the
    database, acknowledged so that the page has a letter; one made now if
    there is none."""
    for case in k.cases(unit=UNIT, state="open"):
        if case.acknowledged is not None:
            return f"/folj/{k.follow_link(case.reference)}"
    case = k.register(kind="klagomal", channel="webbformular", text="Hemtjänsten kom inte.", unit=UNIT)
    k.acknowledge(case.reference, "omar.ali")
    return f"/folj/{k.follow_link(case.reference)}"


PAGES: dict[str, list[tuple[str | None, Callable[[Klagomal], str]]]] = {
    "/folj/{token:str}": [(None, follow_page)],
}

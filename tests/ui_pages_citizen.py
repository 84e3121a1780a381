"""The citizen's pages for the central page catalogue (docs/web.md): every
GET route of klagomal.web.ui.citizen, visited as a citizen (no user)."""

from __future__ import annotations

from collections.abc import Callable

from klagomal import Klagomal

PAGES: dict[str, list[tuple[str | None, Callable[[Klagomal], str]]]] = {
    "/tyck-till": [(None, lambda k: "/tyck-till")],
    # Without a form sent in this browser: the thanks without a reference.
    "/tyck-till/tack": [(None, lambda k: "/tyck-till/tack")],
}

"""The phrase library's GET routes (klagomal.web.ui.phrases) for the
central page catalogue (UI.md): each route template with who visits it and
how to find a concrete address on the test database (a Klagomal acting as
the system owner)."""

from __future__ import annotations

from collections.abc import Callable

from klagomal import Klagomal, Phrase, Purpose


def _phrase(k: Klagomal) -> Phrase:
    """A phrase of soc in use: one the database has, else one written now."""
    for phrase in k.phrases("soc"):
        return phrase
    return k.save_phrase("soc", Purpose.TACK, "Tack för din synpunkt", "Tack för att du hörde av dig.")


def phrase_list(k: Klagomal) -> str:
    _phrase(k)
    return "/admin/fraser"


def new_phrase(k: Klagomal) -> str:
    return "/admin/fraser/ny"


def edit_phrase(k: Klagomal) -> str:
    return f"/admin/fraser/{_phrase(k).id}"


PAGES: dict[str, list[tuple[str | None, Callable[[Klagomal], str]]]] = {
    "/admin/fraser": [("kim.berg", phrase_list), ("nora.lind", phrase_list)],
    "/admin/fraser/ny": [("kim.berg", new_phrase), ("nora.lind", new_phrase)],
    "/admin/fraser/{phrase_id:int}": [("kim.berg", edit_phrase), ("nora.lind", edit_phrase)],
}

"""The login and Mina ärenden for the central page catalogue (docs/web.md)."""

from __future__ import annotations

from collections.abc import Callable

from klagomal import Klagomal

PAGES: dict[str, list[tuple[str | None, Callable[[Klagomal], str]]]] = {
    "/logga-in": [(None, lambda k: "/logga-in"), (None, lambda k: "/logga-in?ut=1")],
    "/arenden": [
        ("omar.ali", lambda k: "/arenden"),
        ("kontaktcenter", lambda k: "/arenden"),
        ("lena.holm", lambda k: "/arenden"),
        ("kim.berg", lambda k: "/arenden"),
        ("nora.lind", lambda k: "/arenden"),
    ],
}

"""The GET pages of :mod:`klagomal.web.ui.worktools` for the central page
catalogue: each route template with who sees it and a concrete path."""

from __future__ import annotations

from collections.abc import Callable

from klagomal import Klagomal

PAGES: dict[str, list[tuple[str | None, Callable[[Klagomal], str]]]] = {
    "/arenden/sok": [
        ("omar.ali", lambda k: "/arenden/sok"),
        ("lena.holm", lambda k: "/arenden/sok"),
        ("nora.lind", lambda k: "/arenden/sok"),
    ],
    "/arenden/ny": [
        ("kontaktcenter", lambda k: "/arenden/ny"),
        ("omar.ali", lambda k: "/arenden/ny"),
        ("kim.berg", lambda k: "/arenden/ny"),
    ],
    "/chef": [
        ("lena.holm", lambda k: "/chef"),
        ("kim.berg", lambda k: "/chef"),
        ("nora.lind", lambda k: "/chef"),
    ],
}

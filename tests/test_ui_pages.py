"""Every page of the web interface, for everyone who sees it, in a real
browser: the routes are read from the interface's routers, and each GET
route must have an entry in the page catalogue (``tests/ui_pages_*.py``,
one file per part of the interface), so that a page added later cannot
escape these checks:

* it answers 200 with the security headers (the Content-Security-Policy
  without ``unsafe-inline``, frame denial, no referrer);
* axe-core finds no violation of WCAG 2.1 A and AA nor of its best practices;
* at 320 px the page does not scroll sideways (WCAG 1.4.10, reflow);
* it has one ``<h1>``, a ``<main>``, a title that ends with the kommun's
  name, and a skip link that lands on the main content;
* its title and its address hold no canary of a protected person or a
  secret text (the leak canaries of every page and role are in
  tests/test_web_canaries.py).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.ui_support import (
    ROOT,
    UiServer,
    axe_violations,
    browser,
    login,
    require_browser,
    start_ui,
    stop_ui,
)

from klagomal import Klagomal

pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")

from klagomal.web import ui
from klagomal.web.ui.render import SECURITY_HEADERS

Factory = Callable[[Klagomal], str]

#: GET routes that are no page to look at, and why.
NOT_A_PAGE: dict[str, str] = {
    "/": "redirects to the login or the user's start page",
    "/tema.css": "the kommun's colour, a stylesheet",
    "/logga-in/start": "redirects to the kommun's identity provider (tests/test_ui_login.py)",
    "/logga-in/oidc": "the identity provider's way back (tests/test_ui_login.py)",
    "/sprak/{code:str}": "sets the citizen's language and goes back (tests/test_ui_language.py)",
}


def catalogue() -> dict[str, list[tuple[str | None, Factory]]]:
    """Every ``tests/ui_pages_*.py``'s ``PAGES``, together."""
    pages: dict[str, list[tuple[str | None, Factory]]] = {}
    for path in sorted((ROOT / "tests").glob("ui_pages_*.py")):
        module = importlib.import_module(f"tests.{path.stem}")
        for route, visits in module.PAGES.items():
            assert route not in pages, f"{route} is in two page catalogues"
            pages[route] = list(visits)
    return pages


def page_routes() -> set[str]:
    """The path of every GET route of the interface's pages."""
    return {
        route.path
        for route in ui.routers()[0].routes
        if "GET" in getattr(route, "methods", ()) and route.path not in NOT_A_PAGE
    }


def test_every_page_is_in_the_catalogue_and_nothing_else_is() -> None:
    routes = page_routes()
    pages = catalogue()
    assert routes - set(pages) == set(), "pages without an entry in a tests/ui_pages_*.py"
    assert set(pages) - routes == set(), "catalogue entries for routes that do not exist"
    assert all(pages.values()), "a page with nobody to visit it"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    tmp = tmp_path_factory.mktemp("ui-pages")
    db = f"sqlite:///{tmp / 'k.db'}"
    with Klagomal(db, user="nora.lind") as k:
        k.init()
    started = start_ui(db, tmp)
    yield started
    stop_ui(started)


def _visits(server: UiServer) -> list[tuple[str, str | None, str]]:
    """(route, user, address) of every visit of the catalogue, the addresses
    made on the server's database as the system owner."""
    found = []
    with Klagomal(server.db, user="nora.lind") as k:
        for route, visits in sorted(catalogue().items()):
            for user, factory in visits:
                found.append((route, user, factory(k)))
    return found


def _is_download(headers: dict[str, str]) -> bool:
    return "attachment" in headers.get("content-disposition", "") or not headers.get(
        "content-type", ""
    ).startswith("text/html")


def test_every_page_for_everyone_who_sees_it(server: UiServer) -> None:
    executable = require_browser()
    visits = _visits(server)
    failures: list[str] = []
    with browser(executable) as b:
        contexts: dict[str | None, Any] = {}

        def page_for(user: str | None) -> Any:
            if user not in contexts:
                context = b.new_context(accept_downloads=True)
                page = context.new_page()
                if user is not None:
                    login(page, server, user)
                contexts[user] = page
            return contexts[user]

        for route, user, address in visits:
            page = page_for(user)
            page.set_viewport_size({"width": 1280, "height": 900})
            what = f"{route} as {user or 'a citizen'} ({address})"
            if route.endswith((".csv",)) or "/bilagor/" in route:
                response = page.request.get(server.url + address)
                headers = {k.lower(): v for k, v in response.headers.items()}
                if response.status != 200 or not _is_download(headers):
                    failures.append(f"{what}: {response.status} {headers.get('content-disposition')}")
                continue
            response = page.goto(server.url + address)
            assert response is not None
            headers = {k.lower(): v for k, v in response.headers.items()}
            if response.status != 200:
                failures.append(f"{what}: status {response.status}")
                continue
            for name, value in SECURITY_HEADERS.items():
                if headers.get(name.lower()) != value:
                    failures.append(f"{what}: header {name} is {headers.get(name.lower())!r}")
            found = axe_violations(page)
            if found:
                failures.append(f"{what}: axe-core {found}")
            if page.locator("h1").count() != 1 or page.locator("main#innehall").count() != 1:
                failures.append(f"{what}: not one h1 and one main")
            if not page.title().endswith("Exempelkommun"):
                failures.append(f"{what}: title {page.title()!r}")
            for canary in ("Kanarie", "KANARIE", "hemlig"):
                if canary in page.title() or canary in page.url:
                    failures.append(f"{what}: {canary!r} in the title or the address")
            page.set_viewport_size({"width": 320, "height": 640})
            if not page.evaluate("document.documentElement.scrollWidth <= 320"):
                failures.append(f"{what}: scrolls sideways at 320 px")
    assert not failures, "\n".join(failures)


def test_the_skip_link_lands_on_the_main_content(server: UiServer) -> None:
    executable = require_browser()
    with browser(executable) as b:
        page = b.new_page()
        login(page, server, "omar.ali")
        page.goto(server.url + "/arenden")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.classList.contains('skip-link')")
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "innehall"


def test_the_print_stylesheet_leaves_out_navigation_and_forms() -> None:
    css = (ROOT / "src" / "klagomal" / "web" / "ui" / "static" / "print.css").read_text(encoding="utf-8")
    hidden = re.search(r"^(.*)\{\s*display:\s*none", css, re.M)
    assert hidden is not None
    for selector in (".site-header", ".site-nav", ".site-footer", "form"):
        assert selector in hidden.group(1)


def test_the_base_template_links_the_print_stylesheet() -> None:
    base = (ROOT / "src" / "klagomal" / "web" / "ui" / "templates" / "base.html").read_text(encoding="utf-8")
    assert '<link rel="stylesheet" href="/static/print.css" media="print">' in base
    assert "<script" in base
    assert "src=" in base
    # No inline script or style anywhere: the Content-Security-Policy forbids them.
    for template in sorted((ROOT / "src" / "klagomal" / "web" / "ui" / "templates").rglob("*.html")):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert "<style" not in text, template.name
        assert " style=" not in text, template.name
        assert not re.search(r"\son[a-z]+=", text), template.name


def test_the_policy_allows_nothing_inline() -> None:
    policy = SECURITY_HEADERS["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy

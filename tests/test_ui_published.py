"""The public list of answered cases, "Besvarade synpunkter"
(klagomal.web.ui.published), in a real ``klagomal serve`` and a real
chromium: what the library publishes (Klagomal.published, published_case),
masked, and nothing else; a case withdrawn or marked secret is gone from the
pages; a case that is not published looks exactly like one that does not
exist; paging and the förvaltning filter; a kommun without publication
says so; too many requests from one address get a Swedish 429.

The pages only read, so SQLite is enough: the library's publication tests
(tests/test_publication.py) cover the backends."""

from __future__ import annotations

import datetime as dt
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.ui_support import UiServer, assert_accessible, browser, login, require_browser, served

from klagomal import Contact, Klagomal
from klagomal.core.organisation import default_organisation
from klagomal.notices.letters import BUILTIN_TEMPLATES
from klagomal.web.ui import published

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

#: Who the person is, in their text and in the answer: never on a page.
NAME = "Eva Svensson"
PHONE = "070-123 45 67"
TEXT = f"Jag heter {NAME}, ring mig på {PHONE}. Hemtjänsten kom inte i tisdags."
ANSWER = f"Hej {NAME}! Vi har ändrat schemat så att det inte händer igen."
CANARIES = (NAME, "Svensson", "123 45 67")
#: The unit of the case with a name and a phone number (Socialförvaltningen).
UNIT = "soc-aldre-hemtjanst-norr"
#: The unit of the many cases that make more than one page (Samhällsbyggnadsförvaltningen).
OTHER_UNIT = "sbf-gatapark-gata"
#: A förvaltning with no published case.
EMPTY_DEPARTMENT = "kof"
GROUND = "OSL 26 kap. 1 §"


def _answer(k: Klagomal, text: str = TEXT, unit: str = UNIT, **extra: Any) -> str:
    """A case answered in writing (not yet published)."""
    case = k.register(
        kind="klagomal",
        channel="telefon",
        unit=unit,
        text=text,
        contact=Contact(name=NAME, phone=PHONE),
        **extra,
    )
    k.acknowledge(case.reference, "omar.ali", k.clock.today() + dt.timedelta(days=14))
    k.answer(case.reference, "skriftligt", ANSWER)
    return case.reference


def _publish(k: Klagomal, **extra: Any) -> str:
    reference = _answer(k, **extra)
    k.publish(reference)
    return reference


class Seeded:
    """The references the tests look for."""

    def __init__(self, k: Klagomal) -> None:
        # More than a page of published cases at another förvaltning, oldest first.
        self.many = [
            _publish(k, text=f"Gropen på gata nummer {n} är kvar.", unit=OTHER_UNIT)
            for n in range(published.PER_PAGE + 2)
        ]
        # The newest: with a name, a phone number and a dimension.
        self.masked = _publish(k, dimensions=["bemotande"])
        # Answered, never published.
        self.unpublished = _answer(k)


def _library(db: str) -> Klagomal:
    return Klagomal(db, user="system", load_entrypoints=False)


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_browser()


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Seeded]:
    tmp = tmp_path_factory.mktemp("published")
    db = f"sqlite:///{tmp / 'klagomal.db'}"
    with _library(db) as k:
        k.init()
        seeded = Seeded(k)
    return db, tmp, seeded


@pytest.fixture(scope="module")
def server(chromium: str, seeded_db: tuple[str, Path, Seeded]) -> Iterator[UiServer]:
    db, tmp, _seeded = seeded_db
    with served(db, tmp, env={"KLAGOMAL_RATE_LIMIT": "av"}) as running:
        yield running


@pytest.fixture(scope="module")
def seeded(seeded_db: tuple[str, Path, Seeded]) -> Seeded:
    return seeded_db[2]


@pytest.fixture(scope="module")
def chrome(chromium: str) -> Iterator[Any]:
    with browser(chromium) as b:
        yield b


@pytest.fixture
def page(chrome: Any) -> Iterator[Any]:
    context = chrome.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def _fetch(url: str) -> tuple[int, dict[str, str], str]:
    """Status, headers (by lower-case name) and body of a GET, without a browser."""
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read().decode(),
            )
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read().decode()


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _narrow(page: Any) -> None:
    """No horizontal scrolling of the page at 320 px."""
    page.set_viewport_size({"width": 320, "height": 800})
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 320, f"{page.url} is {wide} px wide at 320 px"
    page.set_viewport_size({"width": 1280, "height": 800})


def _listed(page: Any) -> list[str]:
    """The references the list shows, in order."""
    ids: list[str] = page.locator("[data-published-list] article").evaluate_all("es => es.map(e => e.id)")
    return [i.removeprefix("arende-") for i in ids]


# -- without a server ---------------------------------------------------------------------


def test_every_get_route_is_in_the_page_catalogue_and_public() -> None:
    from tests.ui_pages_published import PAGES

    paths = {path for handler in published.routes if "GET" in handler.http_methods for path in handler.paths}
    assert paths == set(PAGES) == {"/besvarade", "/besvarade/{reference:str}"}
    assert published.PUBLIC is True
    from klagomal.web import ui

    assert published in ui.PAGE_MODULES


def test_shorten_keeps_short_texts_and_cuts_long_ones_at_a_space() -> None:
    assert published.shorten("Kort text.") == ("Kort text.", False)
    exact = "a" * published.SHORT
    assert published.shorten(exact) == (exact, False)
    long = "ord " * published.SHORT
    cut, was_cut = published.shorten(long)
    assert was_cut
    assert cut.endswith(" …")
    assert len(cut) <= published.SHORT + 2
    assert long.startswith(cut.removesuffix(" …"))
    assert cut.removesuffix(" …").endswith("ord")


# -- with a server and a browser ----------------------------------------------------------


def test_the_list_shows_what_the_library_published_masked_newest_first(
    server: UiServer, seeded: Seeded, page: Any
) -> None:
    response = page.goto(server.url + "/besvarade")
    assert response.status == 200
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert page.title() == "Besvarade synpunkter – Exempelkommun"
    assert page.locator("nav.site-nav").count() == 0  # no staff navigation
    assert page.get_attribute("main a[href='/tyck-till']", "href") == "/tyck-till"
    assert page.inner_text("main a[href='/tyck-till']") == "Tala om vad du tycker"
    with _library(server.db) as k:
        expected = k.published(limit=published.PER_PAGE)
    assert _listed(page) == [c.reference for c in expected]
    assert _listed(page)[0] == seeded.masked
    html = page.content()
    for canary in CANARIES:
        assert canary not in html, canary
    shown = expected[0]
    item = page.locator(f"#arende-{seeded.masked}")
    text = _words(item.inner_text())
    assert f"{shown.kind_label} {seeded.masked}" in text
    assert "Socialförvaltningen" in text
    assert "Bemötande och personkontakt" in text
    assert _words(item.locator("[data-description]").inner_text()) == _words(shown.description)
    assert _words(item.locator("[data-answer]").inner_text()) == _words(shown.answer)
    assert "[namn]" in shown.description
    assert "[telefon]" in shown.description
    assert item.locator(f"a[href='/besvarade/{seeded.masked}']").count() >= 1
    assert seeded.unpublished not in _listed(page)
    assert_accessible(page, "the list")
    _narrow(page)


def test_a_published_case_has_its_page_masked(server: UiServer, seeded: Seeded, page: Any) -> None:
    response = page.goto(f"{server.url}/besvarade/{seeded.masked}")
    assert response.status == 200
    with _library(server.db) as k:
        shown = k.published_case(seeded.masked)
    assert shown is not None
    assert page.title() == f"Besvarad synpunkt {seeded.masked} – Exempelkommun"
    assert page.inner_text("h1") == f"Klagomål {seeded.masked}"
    assert _words(page.inner_text("[data-description]")) == _words(shown.description)
    assert _words(page.inner_text("[data-answer]")) == _words(shown.answer)
    html = page.content()
    for canary in CANARIES:
        assert canary not in html, canary
    assert page.locator("nav.site-nav").count() == 0
    assert page.locator("main a[href='/tyck-till']").count() == 1
    assert page.locator("main a[href='/besvarade']").count() == 1
    assert_accessible(page, "a published case")
    _narrow(page)


def test_a_case_that_is_not_published_is_the_same_404_as_one_that_does_not_exist(
    server: UiServer, seeded: Seeded, page: Any
) -> None:
    status, _headers, unpublished = _fetch(f"{server.url}/besvarade/{seeded.unpublished}")
    missing_status, _h, missing = _fetch(f"{server.url}/besvarade/2026-99999")
    odd_status, _h2, odd = _fetch(f"{server.url}/besvarade/" + "x" * 300)
    assert status == missing_status == odd_status == 404
    assert unpublished == missing == odd  # nothing tells whether the case exists
    assert seeded.unpublished not in unpublished
    response = page.goto(f"{server.url}/besvarade/{seeded.unpublished}")
    assert response.status == 404
    assert page.title() == "Sidan finns inte – Exempelkommun"
    assert "ingen publicerad synpunkt" in page.inner_text("main")
    assert page.locator("nav.site-nav").count() == 0
    assert_accessible(page, "a case that is not published")
    _narrow(page)


def test_a_case_withdrawn_or_marked_secret_is_gone_from_the_pages(
    server: UiServer, seeded: Seeded, page: Any
) -> None:
    with _library(server.db) as k:
        withdrawn = _publish(k, text="Trappan vid biblioteket är hal.")
        secret = _publish(k, text="Personalen var otrevlig.")
    for reference in (withdrawn, secret):
        assert page.goto(f"{server.url}/besvarade/{reference}").status == 200
    page.goto(server.url + "/besvarade")
    assert {withdrawn, secret} <= set(_listed(page))
    with _library(server.db) as k:
        k.unpublish(withdrawn, "Personen bad oss ta bort den.")
        k.mark_secret(secret, GROUND, parts=[1])
    _s, _h, missing = _fetch(f"{server.url}/besvarade/2026-99999")
    for reference in (withdrawn, secret):
        status, _headers, body = _fetch(f"{server.url}/besvarade/{reference}")
        assert (status, body) == (404, missing)
    page.goto(server.url + "/besvarade")
    assert not {withdrawn, secret} & set(_listed(page))
    assert "Personalen var otrevlig" not in page.content()


def test_paging_twenty_a_page(server: UiServer, seeded: Seeded, page: Any) -> None:
    with _library(server.db) as k:
        everything = [c.reference for c in k.published(limit=500)]
    assert len(everything) > published.PER_PAGE  # the seed makes two pages at least
    pages = [everything[i : i + published.PER_PAGE] for i in range(0, len(everything), published.PER_PAGE)]
    page.goto(server.url + "/besvarade")
    assert page.locator("a[rel=prev]").count() == 0
    for number, expected in enumerate(pages, start=1):
        assert _listed(page) == expected, number
        if number > 1:
            assert page.title() == f"Besvarade synpunkter, sida {number} – Exempelkommun"
            assert page.get_attribute("a[rel=prev]", "href") == (
                "/besvarade" if number == 2 else f"/besvarade?sida={number - 1}"
            )
            assert_accessible(page, f"page {number}")
        if number < len(pages):
            with page.expect_navigation():
                page.click("a[rel=next]")
            assert page.url == f"{server.url}/besvarade?sida={number + 1}"
        else:
            assert page.locator("a[rel=next]").count() == 0
    beyond = len(pages) + 1
    response = page.goto(f"{server.url}/besvarade?sida={beyond}")
    assert response.status == 200
    assert _listed(page) == []
    assert "Det finns inga fler besvarade synpunkter." in page.inner_text("main")
    assert_accessible(page, "a page beyond the last")
    for bad in ("0", "abc", "-1", str(published.MAX_PAGE + 1)):
        assert _fetch(f"{server.url}/besvarade?sida={bad}")[0] == 404, bad


def test_the_forvaltning_filter(server: UiServer, seeded: Seeded, page: Any) -> None:
    page.goto(server.url + "/besvarade")
    org = default_organisation()
    options = page.locator("#forvaltning option").evaluate_all("os => os.map(o => o.value)")
    assert options == ["", *org.departments]
    page.select_option("#forvaltning", "soc")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.url == f"{server.url}/besvarade?forvaltning=soc"
    with _library(server.db) as k:
        soc = [c.reference for c in k.published(limit=published.PER_PAGE, department="soc")]
    assert soc
    assert _listed(page) == soc
    assert seeded.masked in soc
    assert not set(seeded.many) & set(soc)
    assert page.input_value("#forvaltning") == "soc"
    assert "Besvarade synpunkter, Socialförvaltningen" in page.inner_text("h2#lista")
    assert_accessible(page, "the list of one förvaltning")
    # A förvaltning with nothing published: the empty list.
    response = page.goto(f"{server.url}/besvarade?forvaltning={EMPTY_DEPARTMENT}")
    assert response.status == 200
    assert _listed(page) == []
    assert "Det finns inga publicerade besvarade synpunkter ännu." in page.inner_text("main")
    assert_accessible(page, "an empty list")
    _narrow(page)
    # The sbf cases page on with the filter kept.
    page.goto(f"{server.url}/besvarade?forvaltning=sbf")
    assert page.get_attribute("a[rel=next]", "href") == "/besvarade?forvaltning=sbf&sida=2"
    # An unknown förvaltning: the library's Swedish reason on the field.
    response = page.goto(f"{server.url}/besvarade?forvaltning=ingen")
    assert response.status == 400
    assert page.title().startswith("Fel: ")
    assert "ingen är ingen förvaltning i Exempelkommun" in page.inner_text(".error-summary")
    assert page.get_attribute(".error-summary a", "href") == "#forvaltning"
    assert page.get_attribute("#forvaltning", "aria-invalid") == "true"
    assert "forvaltning-error" in (page.get_attribute("#forvaltning", "aria-describedby") or "")
    assert_accessible(page, "an unknown förvaltning")


def test_the_list_can_be_used_with_the_keyboard_alone(server: UiServer, seeded: Seeded, page: Any) -> None:
    page.goto(server.url + "/besvarade")
    target = f"/besvarade/{seeded.masked}"
    for _i in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == target:
            break
    else:
        pytest.fail("the newest case's link cannot be reached with Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == server.url + target
    for _i in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == "/besvarade":
            break
    else:
        pytest.fail("the way back to the list cannot be reached with Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == server.url + "/besvarade"
    # The filter: the select and its button, with the keyboard.
    page.focus("#forvaltning")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"


def test_a_signed_in_member_of_staff_sees_the_public_page(
    server: UiServer, seeded: Seeded, page: Any
) -> None:
    login(page, server, "omar.ali")
    assert page.locator("nav.site-nav").count() == 1
    page.goto(server.url + "/besvarade")
    assert page.locator("nav.site-nav").count() == 0
    assert "Omar Ali" not in page.inner_text("header")
    page.goto(f"{server.url}/besvarade/{seeded.unpublished}")  # may handle it, still not published
    assert page.title() == "Sidan finns inte – Exempelkommun"
    assert_accessible(page, "the list signed in")


def test_a_kommun_without_publication_says_so_and_shows_nothing(
    chrome: Any, seeded_db: tuple[str, Path, Seeded], server: UiServer, tmp_path: Path
) -> None:
    """The same database, with publications in it, and the kommun's file
    without ``[publicering] tillaten``: the list says so, every case is 404."""
    db, _tmp, seeded = seeded_db
    text = (BUILTIN_TEMPLATES.parents[1] / "data" / "exempelkommun.toml").read_text(encoding="utf-8")
    assert "[publicering]\ntillaten = true" in text
    org_file = tmp_path / "kommun.toml"
    org_file.write_text(text.replace("[publicering]\ntillaten = true", "[publicering]\ntillaten = false"))
    with served(db, tmp_path, env={"KLAGOMAL_ORG": str(org_file), "KLAGOMAL_RATE_LIMIT": "av"}) as off:
        context = chrome.new_context()
        try:
            page = context.new_page()
            response = page.goto(off.url + "/besvarade")
            assert response.status == 200
            main = page.inner_text("main")
            assert "Exempelkommun publicerar inte besvarade synpunkter här." in main
            assert page.locator("[data-published-list]").count() == 0
            assert page.locator("#forvaltning").count() == 0
            assert page.locator("main a[href='/tyck-till']").count() == 1
            assert_accessible(page, "the list when publication is off")
            _narrow(page)
            response = page.goto(f"{off.url}/besvarade/{seeded.masked}")
            assert response.status == 404
            assert_accessible(page, "a case when publication is off")
        finally:
            context.close()
        _s, _h, missing = _fetch(f"{off.url}/besvarade/2026-99999")
        assert _fetch(f"{off.url}/besvarade/{seeded.masked}")[2] == missing


def test_too_many_requests_from_one_address_get_a_swedish_429(
    chrome: Any, seeded_db: tuple[str, Path, Seeded], server: UiServer, tmp_path: Path
) -> None:
    db, _tmp, seeded = seeded_db
    limit = 3
    with served(db, tmp_path, env={"KLAGOMAL_RATE_LIMIT": f"{limit}/minute"}) as limited:
        paths = ["/besvarade", f"/besvarade/{seeded.masked}", "/besvarade?sida=2"]
        assert [_fetch(limited.url + p)[0] for p in paths] == [200] * limit
        status, headers, body = _fetch(f"{limited.url}/besvarade/{seeded.masked}")
        assert status == 429
        assert int(headers["retry-after"]) >= 1
        assert "För många förfrågningar" in body
        assert NAME not in body
        assert "[namn]" not in body
        assert _fetch(limited.url + "/tyck-till")[0] == 200  # the form counts on its own
        context = chrome.new_context()
        try:
            page = context.new_page()
            assert page.goto(limited.url + "/besvarade").status == 429
            assert_accessible(page, "too many requests")
        finally:
            context.close()

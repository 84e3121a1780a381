"""The citizen's "Följ ditt ärende" in the web interface (klagomal.web.ui.follow,
klagomal.web.ui.followlink), in a real ``klagomal serve`` and a real chromium:
the web form's receipt gives the private link; the link opens the case as
klagomal.cases.follow gives it, and its letters once the handler has given
the besked; what the person adds is threaded into the case; a link that
does not work is one Swedish 404 page, whatever the reason; the page never
shows a note, an internal text or who a protected person is; staff make a
new link or revoke it from the case page."""

from __future__ import annotations

import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from tests.held_lock import held_write_lock
from tests.ui_pages_follow import PAGES
from tests.ui_support import UiServer, assert_accessible, browser, login, require_browser, served

from klagomal import Contact, Klagomal
from klagomal.cases.follow import CITIZEN_ACTOR, SOURCE, TEXT_MAX, state_label
from klagomal.intake import webform
from klagomal.web.ui import follow as follow_module
from klagomal.web.ui.session import Session, session_config

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

UNIT = "soc-aldre-hemtjanst-norr"
GROUND = "OSL 26 kap. 1 §"
#: Texts the page must never show.
SECRET = ("HEMLIG-TEXT-WEBB", "HEMLIG-ANTECKNING-WEBB", "HEMLIG-ATGARD-WEBB", "INTERN-ANTECKNING-WEBB")
PROTECTED = Contact(
    name="Skyddad Webbfolj",
    email="skyddad.webbfolj@example.se",
    phone="070-555 88 99",
    address="Skyddsvägen 9, 123 45 Exempelstad",
    protected=True,
)
#: Who the protected person is.
PERSON = ("Skyddad Webbfolj", "skyddad.webbfolj", "555 88 99", "Skyddsvägen")


# -- without a server ---------------------------------------------------------------------


def test_the_session_carries_the_follow_token_for_the_receipt() -> None:
    config = session_config({})
    token = secrets.token_urlsafe(32)
    decoded = config.decode(config.encode(attrs.evolve(Session(), receipt="2026-00042", follow=token)))
    assert decoded is not None
    assert (decoded.receipt, decoded.follow) == ("2026-00042", token)
    assert config.decode(config.encode(Session())).follow is None  # type: ignore[union-attr]


def test_every_get_route_of_the_module_is_in_the_catalogue() -> None:
    paths = {
        path for handler in follow_module.routes if "GET" in handler.http_methods for path in handler.paths
    }
    assert paths == set(PAGES) == {"/folj/{token:str}"}
    assert follow_module.PUBLIC is True


# -- with a server and a browser ----------------------------------------------------------


def _init(db: str) -> None:
    k = Klagomal(db, user="system", load_entrypoints=False)
    try:
        k.init()
    finally:
        k.dispose()


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_browser()


@pytest.fixture(scope="module")
def server(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    tmp = tmp_path_factory.mktemp("follow")
    db = f"sqlite:///{tmp / 'klagomal.db'}"
    _init(db)
    with served(db, tmp, env={"KLAGOMAL_RATE_LIMIT": "av"}) as running:
        yield running


@pytest.fixture(scope="module")
def library(server: UiServer) -> Iterator[Klagomal]:
    k = Klagomal(server.db, user="system", load_entrypoints=False)
    yield k
    k.dispose()


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


def _words(text: str) -> str:
    return re.sub(r"[ \t\n]+", " ", text).strip()


def _no_horizontal_scroll(page: Any) -> None:
    page.set_viewport_size({"width": 320, "height": 800})
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 320, f"{page.url} is {wide} px wide at 320 px"
    page.set_viewport_size({"width": 1280, "height": 800})


def _tab_to(page: Any, element_id: str) -> None:
    for _press in range(80):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} cannot be reached with Tab")


def _send_form(page: Any, server: UiServer, text: str) -> str:
    """The web form sent with *text* and an e-mail address; the receipt's link."""
    page.goto(server.url + "/tyck-till")
    page.check("input[name=typ][value=klagomal]")
    page.fill("#text", text)
    page.fill("#namn", "Eva Svensson")
    page.fill("#epost", "eva@example.se")
    page.select_option("#enhet", "hemtjanst-norr")  # Exempelkommun's answer for UNIT
    with page.expect_navigation() as navigation:
        page.click("form[action='/tyck-till'] button[type=submit]")
    assert navigation.value.status == 200
    link: str = page.input_value("#folj-lank")
    return link


def _get(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers.items()), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read().decode()


def _title(body: str) -> str:
    found = re.search(r"<title>(.*?)</title>", body, re.S)
    assert found is not None
    return found.group(1)


def test_from_the_receipt_to_the_besked_and_information_added_by_keyboard(
    server: UiServer, library: Klagomal, page: Any
) -> None:
    link = _send_form(page, server, "Hemtjänsten kom inte på tisdagen.")
    # The receipt: the link below the request's own address, to be saved, private.
    token = link.rsplit("/", 1)[1]
    assert link == f"{server.url}/folj/{token}"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert page.locator(f"main a[href='{link}']").count() == 1
    main = page.inner_text("main")
    assert "Spara länken" in main
    assert "dela den inte med andra" in main
    # Without KLAGOMAL_PUBLIC_URL the kvittens carries no link: the page does not claim it was mailed.
    assert "länken till din e-postadress" not in main
    assert token not in page.url
    reference = page.inner_text(".panel--confirm .reference").strip()
    assert_accessible(page, "the receipt with the link")
    _no_horizontal_scroll(page)

    # The link: the case as the library gives it, registered, no letters yet.
    response = page.goto(link)
    assert response.status == 200
    headers = response.headers
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    title = page.title()
    assert title == f"Följ ditt ärende – {library.organisation.name}"
    for personal in ("Eva", "eva@", reference, token):
        assert personal not in title
    case = library.get(reference)
    assert state_label(case) == "Mottaget, du får besked om vem som handlägger det"
    main = _words(page.inner_text("main"))
    assert state_label(case) in main
    assert "Socialförvaltningen" in main
    assert "Handläggare" not in main  # not before the besked names them
    assert "Vi har inte skickat något brev i ärendet ännu." in main
    assert page.locator("nav.site-nav").count() == 0
    assert_accessible(page, "the follow page of a registered case")
    _no_horizontal_scroll(page)

    # The handler gives the besked (through the library): the page shows it, and who handles it.
    library.acknowledge(reference, "omar.ali")
    shown = library.follow(token)
    assert shown is not None
    (besked,) = shown.letters
    assert besked.kind == "besked"
    page.reload()
    main = _words(page.inner_text("main"))
    assert "Handläggs" in main
    assert "Omar Ali" in main
    assert _words(page.inner_text(".letter")) == _words(besked.text)
    assert besked.subject in main
    assert page.inner_text("#brev-1").startswith("Besked, ")
    assert page.get_attribute(".site-header__name", "href") == "/tyck-till"  # not the staff's login
    assert_accessible(page, "the follow page with the besked")
    _no_horizontal_scroll(page)

    # Lägg till information, with the keyboard alone.
    before = len(library.history(reference))
    _tab_to(page, follow_module.FIELD)
    page.keyboard.type("Det gällde tisdagen den 24 februari.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skicka"
    with page.expect_navigation() as navigation:
        page.keyboard.press("Enter")
    assert navigation.value.status == 200
    assert page.url == link
    assert page.inner_text("[data-flash]").startswith("Tack, vi har tagit emot")
    assert reference in page.inner_text("[data-flash]")
    history = library.history(reference)
    assert len(history) == before + 1
    added = history[-1]
    assert (added.type, added.actor) == ("message_received", CITIZEN_ACTOR)
    assert added.data.text == "Det gällde tisdagen den 24 februari."  # type: ignore[union-attr]
    (message,) = library.received_messages(reference=reference)
    assert (message.source, message.outcome) == (SOURCE, "reply")
    # The handler's worklist holds the case (a message makes no task of its own in the
    # library, so the row is the one the library gives: answer by the promised day).
    rows = {item.reference: (item.what, item.deadline) for item in library.as_user("omar.ali").worklist()}
    assert rows[reference] == ("handler", "svar")
    assert_accessible(page, "the follow page after adding information")
    page.reload()
    assert page.locator("[data-flash]").count() == 0  # said once


def test_the_handler_sees_what_was_added_on_the_case_page(
    server: UiServer, library: Klagomal, chrome: Any
) -> None:
    case = library.register(
        kind="klagomal", channel="telefon", text="Maten var kall.", unit=UNIT, contact=Contact(name="Per")
    )
    token = library.follow_link(case.reference)
    assert library.add_information(token, "Det var på lunchen.") is not None
    context = chrome.new_context()
    try:
        page = context.new_page()
        login(page, server, "omar.ali")
        page.goto(f"{server.url}/arenden/{case.reference}")
        assert "Det var på lunchen." in page.inner_text("main")
    finally:
        context.close()


def test_refused_information_keeps_the_text_and_writes_nothing(
    server: UiServer, library: Klagomal, page: Any
) -> None:
    case = library.register(kind="forslag", channel="telefon", text="Fler bänkar.", unit=UNIT)
    token = library.follow_link(case.reference)
    before = len(library.history(case.reference))
    page.goto(f"{server.url}/folj/{token}")
    with page.expect_navigation() as navigation:
        page.click("form button[type=submit]")
    assert navigation.value.status == 422
    assert page.title().startswith("Fel: Följ ditt ärende")
    error = _words(page.inner_text(f"#{follow_module.FIELD}-error"))
    assert error == "Fel: Skriv vad du vill lägga till"  # the library's reason
    field = page.locator(f"#{follow_module.FIELD}")
    assert field.get_attribute("aria-invalid") == "true"
    assert f"{follow_module.FIELD}-error" in (field.get_attribute("aria-describedby") or "").split()
    assert page.get_attribute(".error-summary__list a", "href") == f"#{follow_module.FIELD}"
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert_accessible(page, "the follow page with an error")
    _no_horizontal_scroll(page)

    too_long = "Å<&>" * (TEXT_MAX // 4) + "x"
    page.fill(f"#{follow_module.FIELD}", too_long)
    with page.expect_navigation() as navigation:
        page.click("form button[type=submit]")
    assert navigation.value.status == 422
    assert "högst" in page.inner_text(f"#{follow_module.FIELD}-error")
    assert page.input_value(f"#{follow_module.FIELD}") == too_long
    assert len(library.history(case.reference)) == before
    assert library.received_messages(reference=case.reference) == []


def test_an_unknown_and_a_revoked_link_are_the_same_swedish_404(
    server: UiServer, library: Klagomal, page: Any
) -> None:
    case = library.register(kind="klagomal", channel="telefon", text="Bussen kom inte.", unit=UNIT)
    old = library.follow_link(case.reference)
    new = library.follow_link(case.reference)  # the old one stops working
    other = library.register(kind="klagomal", channel="telefon", text="Igen.", unit=UNIT)
    revoked = library.follow_link(other.reference)
    assert library.revoke_follow_link(other.reference)
    unknown = secrets.token_urlsafe(32)
    answers = [_get(f"{server.url}/folj/{t}") for t in (unknown, old, revoked, "inte.en-lank", "%C3%A5")]
    assert {status for status, _h, _b in answers} == {404}
    assert {_title(body) for _s, _h, body in answers} == {
        f"Länken fungerar inte – {library.organisation.name}"
    }
    # The very same page, byte for byte, but for the address it was asked at, which the
    # language links lead back to (it tells nothing the asker did not send).
    assert len({re.sub(r"tillbaka=[^\"]*", "tillbaka=", body) for _s, _h, body in answers}) == 1
    body = answers[0][2]
    assert case.reference not in body
    for _status, headers, _body in answers:
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
    assert _get(f"{server.url}/folj/{new}")[0] == 200

    # Adding information by a dead link: the same page, nothing written.
    page.goto(f"{server.url}/folj/{new}")
    before = len(library.history(case.reference))
    library.revoke_follow_link(case.reference)
    page.fill(f"#{follow_module.FIELD}", "Hinner jag?")
    with page.expect_navigation() as navigation:
        page.click("form button[type=submit]")
    assert navigation.value.status == 404
    assert page.title() == f"Länken fungerar inte – {library.organisation.name}"
    assert len(library.history(case.reference)) == before
    assert_accessible(page, "the page of a link that does not work")
    _no_horizontal_scroll(page)


def test_the_page_never_shows_a_note_an_internal_text_or_a_protected_person(
    server: UiServer, library: Klagomal, page: Any
) -> None:
    k = library
    protected = k.register(
        kind="klagomal", channel="telefon", text=f"Hemtjänsten kom inte. {SECRET[0]}", unit=UNIT,
        contact=PROTECTED,
    ).reference  # fmt: skip
    k.mark_secret(protected, GROUND, parts=[1])
    plain = k.register(
        kind="klagomal", channel="telefon", text=f"Om min dotter. {SECRET[0]}", unit=UNIT,
        contact=Contact(name="Eva Svensson", email="eva@example.se"),
    ).reference  # fmt: skip
    for ref in (protected, plain):
        k.acknowledge(ref, "omar.ali")
        k.add_note(ref, f"Hon ringde. {SECRET[1]}")
        k.mark_secret(ref, GROUND, parts=[k.get(ref).version])
        k.add_note(ref, f"Internt. {SECRET[3]}")
        k.record_action(ref, f"Samtal. {SECRET[2]}")
        k.answer(ref, "skriftligt", "Vi har rättat det.")
    for ref in (protected, plain):
        token = k.follow_link(ref)
        response = page.goto(f"{server.url}/folj/{token}")
        assert response.status == 200
        html = page.content()
        assert not [s for s in SECRET if s in html], ref
        if ref == protected:
            assert not [p for p in PERSON if p in html], ref
        for word in ("anteckning", "sekretess", "OSL", "omar.ali", "Hon ringde", "Internt"):
            assert word not in html, (ref, word)
        # Not vacuous: the person's own letters are there, with the answer.
        assert "Vi har rättat det." in page.inner_text("main")
        assert page.locator(".letter").count() == 2
        assert_accessible(page, f"the follow page of an answered case ({ref})")


def test_staff_make_a_new_link_and_revoke_it_from_the_case_page(
    server: UiServer, library: Klagomal, chrome: Any
) -> None:
    case = library.register(kind="klagomal", channel="telefon", text="Lampan lyser inte.", unit=UNIT)
    first = library.follow_link(case.reference)
    context = chrome.new_context()
    try:
        page = context.new_page()
        login(page, server, "omar.ali")
        page.goto(f"{server.url}/arenden/{case.reference}")
        assert page.inner_text("#folj-lank-rubrik") == "Följ ditt ärende-länk"
        with page.expect_navigation() as navigation:
            page.click("button:has-text('Skapa ny länk')")
        assert navigation.value.status == 200
        link = page.input_value("#folj-lank")
        assert link.startswith(f"{server.url}/folj/")
        token = link.rsplit("/", 1)[1]
        assert "Länken visas bara nu" in page.inner_text("main")
        assert_accessible(page, "the new link, shown once")
        _no_horizontal_scroll(page)
        assert library.follow(token) is not None
        assert library.follow(first) is None  # the old one stopped working
        page.goto(f"{server.url}/arenden/{case.reference}")
        assert token not in page.content()  # shown once: the case page does not hold it
        assert_accessible(page, "the case page with the link's section")
        with page.expect_navigation():
            page.click("button:has-text('Återkalla länken')")
        assert page.url == f"{server.url}/arenden/{case.reference}"
        assert "återkallad" in page.inner_text("[data-flash]")
        assert library.follow(token) is None
        with page.expect_navigation():
            page.click("button:has-text('Återkalla länken')")
        assert "ingen länk som fungerade" in page.inner_text("[data-flash]")
    finally:
        context.close()


def test_the_catalogues_page_opens(server: UiServer, library: Klagomal, page: Any) -> None:
    for template, visits in PAGES.items():
        for user, path_of in visits:
            assert user is None
            path = path_of(library.as_user("nora.lind"))
            response = page.goto(server.url + path)
            assert response.status == 200, (template, path)
            assert_accessible(page, template)


def test_too_many_looks_and_information_added_on_every_backend(
    chrome: Any, new_database: Callable[[], str], tmp_path: Path
) -> None:
    """On SQLite, PostgreSQL and MariaDB: information added on the page is
    threaded into the case; with the database locked by another transaction
    the person gets a Swedish 503 page, and over ``KLAGOMAL_RATE_LIMIT`` a
    429 page, with what they wrote kept, and nothing is written."""
    db = new_database()
    _init(db)
    k = Klagomal(db, user="system", load_entrypoints=False)
    try:
        case = k.register(kind="klagomal", channel="telefon", text="Sopbilen kom inte.", unit=UNIT)
        token = k.follow_link(case.reference)
        with served(db, tmp_path, env={"KLAGOMAL_RATE_LIMIT": "4/minute"}) as server:
            context = chrome.new_context()
            try:
                page = context.new_page()
                page.goto(f"{server.url}/folj/{token}")  # 1
                page.fill(f"#{follow_module.FIELD}", "Den kom inte i dag heller.")
                with page.expect_navigation() as navigation:
                    page.click("form button[type=submit]")  # 2, and the page after it 3
                assert navigation.value.status == 200
                history = k.history(case.reference)
                assert history[-1].data.text == "Den kom inte i dag heller."  # type: ignore[union-attr]
                (message,) = k.received_messages(reference=case.reference)
                assert message.source == SOURCE
                before = len(history)
                page.fill(f"#{follow_module.FIELD}", "En sak till.")
                with held_write_lock(db):
                    with page.expect_navigation() as navigation:
                        page.click("form button[type=submit]")  # 4: the database is busy
                    assert navigation.value.status == 503
                assert navigation.value.headers["retry-after"] == str(webform.RETRY_AFTER)
                assert page.title() == f"Systemet är upptaget – {k.organisation.name}"
                assert page.input_value(f"#{follow_module.FIELD}") == "En sak till."
                assert_accessible(page, "the follow page when the database was busy")
                assert len(k.history(case.reference)) == before
                with page.expect_navigation() as navigation:
                    page.click("form button[type=submit]")  # 5: over the limit
                assert navigation.value.status == 429
                assert int(navigation.value.headers["retry-after"]) >= 1
                assert page.title() == f"För många försök – {k.organisation.name}"
                assert page.input_value(f"#{follow_module.FIELD}") == "En sak till."
                assert_accessible(page, "the follow page over the rate limit")
                assert len(k.history(case.reference)) == before
                response = page.goto(f"{server.url}/folj/{token}")
                assert response.status == 429
                assert "Vänta en stund" in page.inner_text("main")
            finally:
                context.close()
    finally:
        k.dispose()


def test_the_receipt_says_the_link_was_mailed_when_the_kvittens_carries_it(
    chrome: Any, tmp_path: Path
) -> None:
    """With KLAGOMAL_PUBLIC_URL the link is below it, and the kvittens carries it."""
    db = f"sqlite:///{tmp_path / 'k.db'}"
    _init(db)
    with served(
        db,
        tmp_path,
        env={"KLAGOMAL_RATE_LIMIT": "av", "KLAGOMAL_PUBLIC_URL": "https://synpunkter.example.se/"},
    ) as server:
        context = chrome.new_context()
        try:
            page = context.new_page()
            link = _send_form(page, server, "Gatlyktan lyser inte.")
            assert link.startswith("https://synpunkter.example.se/folj/")
            assert "Vi skickar också länken till din e-postadress." in page.inner_text("main")
            assert webform.RECEIPT_TITLE in page.title()
        finally:
            context.close()

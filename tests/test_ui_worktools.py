"""Search, the quick path and the chef's overview of the web interface
(:mod:`klagomal.web.ui.worktools`): a real ``klagomal serve`` process, a
real chromium, axe-core on every page and state, and what the pages did
read back through the library."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from tests.ui_pages_worktools import PAGES
from tests.ui_support import UiServer, assert_accessible, browser, login, require_browser, served

from klagomal import Contact, FixedClock, Klagomal
from klagomal.core.errors import InvalidInputError
from klagomal.web.ui.worktools import QUICK_FIELDS, handlers_of

NORR = "soc-aldre-hemtjanst-norr"
SOLGARDEN = "soc-aldre-solgarden"
PROTECTED_NAME = "Hemlig Hemligsson"
#: Seconds a member of staff takes per keystroke (about 48 words a minute)
#: and per key that moves between fields: the model of the quick path's time.
SECONDS_PER_CHARACTER = 0.25
SECONDS_PER_KEY = 0.5


@attrs.frozen
class Site:
    server: UiServer
    browser: Any
    late: str
    elsewhere: str
    protected: str
    #: A signed-in page per user, kept for the module (a login costs a second).
    pages: dict[str, Any] = attrs.field(factory=dict)

    def page(self, user: str) -> Any:
        if user not in self.pages:
            self.pages[user] = signed_in(self.browser, self.server, user)
        return self.pages[user]


def seed(db: str) -> tuple[str, str, str]:
    """Three cases: one overdue and unassigned at Hemtjänst Norr with a
    threat flag, one overdue at Solgården, one from a protected person."""
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
    past = dt.date.today() - dt.timedelta(days=40)
    with Klagomal(db, user="nora.lind", clock=FixedClock(past), load_entrypoints=False) as old:
        late = old.register(
            kind="klagomal",
            channel="telefon",
            unit=NORR,
            text="Maten kom för sent till Äppelgatan flera dagar i rad",
            contact=Contact(name="Berit Ek", phone="070-111 11 11"),
        )
        old.flag_threat(late.reference, "hotfullt", reason="Hotade personalen i telefon")
        elsewhere = old.register(
            kind="klagomal",
            channel="brev",
            unit=SOLGARDEN,
            text="Fönstret på rummet läcker när det regnar",
            contact=Contact(name="Per Nilsson", address="Storgatan 1, 123 45 Exempelstad"),
        )
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        protected = k.register(
            kind="klagomal",
            channel="brev",
            unit=NORR,
            text="Snöröjningen vid Tallvägen fungerar inte",
            contact=Contact(name=PROTECTED_NAME, address="Box 1, 123 45 Exempelstad", protected=True),
        )
    return late.reference, elsewhere.reference, protected.reference


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One chromium for the module (Playwright's sync API runs one at a time)."""
    with browser(require_browser()) as b:
        yield b


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, chromium: Any) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("worktools")
    db = f"sqlite:///{tmp / 'ui.db'}"
    late, elsewhere, protected = seed(db)
    with served(db, tmp) as server:
        yield Site(server, chromium, late, elsewhere, protected)


def library(site: Site | UiServer, user: str = "nora.lind") -> Klagomal:
    server = site.server if isinstance(site, Site) else site
    return Klagomal(server.db, user=user, load_entrypoints=False)


def signed_in(b: Any, server: UiServer, user: str, width: int = 1024) -> Any:
    context = b.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    login(page, server, user)
    return page


def error_of(page: Any, field: str) -> str:
    """The error message shown at *field*, which must be marked invalid and
    described by it."""
    element = page.locator(f"#{field}")
    assert element.get_attribute("aria-invalid") == "true", field
    if element.get_attribute("type") == "radio":  # the group is described by the message
        element = page.locator(f"fieldset:has(#{field})")
    described = element.get_attribute("aria-describedby") or ""
    assert f"{field}-error" in described.split(), described
    text: str = page.locator(f"#{field}-error").inner_text()
    return text.replace("Fel:", "", 1).strip()


# -- search ----------------------------------------------------------------


def test_search_finds_a_case_by_post_and_never_shows_a_hidden_name(site: Site) -> None:
    page = site.page("omar.ali")
    page.goto(site.server.url + "/arenden/sok")
    assert page.title().startswith("Sök ärenden")
    assert page.locator("#traffar").count() == 0
    assert_accessible(page, "search, nothing searched")

    page.fill("#q", "Tallvägen")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("main button:has-text('Sök')")
    # The answer to the POST is the result page itself: no redirect, no text in the URL.
    assert answer.value.status == 200
    assert page.url == site.server.url + "/arenden/sok"
    assert "Tallvägen" not in page.title()
    link = page.locator(f"a[href='/arenden/{site.protected}']")
    assert link.inner_text() == site.protected
    row = page.locator("tbody tr", has=link).inner_text()
    assert "Snöröjningen vid Tallvägen" in row
    assert "Hemtjänst Norr" in row
    assert PROTECTED_NAME not in page.content()
    assert "Hemligsson" not in page.content()
    assert page.input_value("#q") == "Tallvägen"  # kept for the next search
    assert_accessible(page, "search with a hit")

    # The hidden name never makes a case a hit either: the empty result.
    page.fill("#q", "Hemligsson")
    page.click("main button:has-text('Sök')")
    assert "Inga ärenden hittades" in page.inner_text("main")
    assert "Hemligsson" not in page.title()
    assert "Hemligsson" not in page.url
    assert_accessible(page, "search without hits")

    # An empty search: the library's refusal at the field.
    with library(site, "omar.ali") as k, pytest.raises(InvalidInputError) as refused:
        k.search("  ")
    page.fill("#q", "  ")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("main button:has-text('Sök')")
    assert answer.value.status == 422
    assert page.title().startswith("Fel: Sök ärenden")
    assert error_of(page, "q").lower() == str(refused.value).lower()
    assert page.locator(".error-summary a[href='#q']").count() == 1
    assert_accessible(page, "search with an empty query")

    # A user who may see protected identities finds the case by the name.
    admin = site.page("kim.berg")
    admin.goto(site.server.url + "/arenden/sok")
    admin.fill("#q", "Hemligsson")
    admin.click("main button:has-text('Sök')")
    assert PROTECTED_NAME in admin.locator("tbody").inner_text()
    assert "Hemligsson" not in admin.title()
    assert_accessible(admin, "search by a protected name, by one who may see it")


def test_search_filters_by_a_unit_of_the_users_scope(site: Site) -> None:
    page = site.page("nora.lind")
    page.goto(site.server.url + "/arenden/sok")
    with library(site) as k:
        options = page.locator("#enhet option").evaluate_all("os => os.map(o => o.value)")
        assert options == ["", *k.organisation.units]  # the system owner: every unit
    page.fill("#q", "läcker")
    page.select_option("#enhet", NORR)
    page.click("main button:has-text('Sök')")
    assert "Inga ärenden hittades" in page.inner_text("main")
    assert page.input_value("#enhet") == NORR
    page.select_option("#enhet", SOLGARDEN)
    page.click("main button:has-text('Sök')")
    assert page.locator(f"a[href='/arenden/{site.elsewhere}']").count() == 1
    assert_accessible(page, "search within a unit")

    handler = site.page("omar.ali")
    handler.goto(site.server.url + "/arenden/sok")
    options = handler.locator("#enhet option").evaluate_all("os => os.map(o => o.value)")
    assert options == ["", NORR]  # only the units whose cases they may read


# -- the quick path ----------------------------------------------------------------


def test_the_quick_path_refuses_a_missing_text_with_the_librarys_error(site: Site) -> None:
    page = site.page("kontaktcenter")
    page.goto(site.server.url + "/arenden/ny")
    assert page.input_value("#kanal") == "telefon"
    assert page.input_value("#enhet") == ""  # Vet inte
    assert "Kontaktcenter" in page.locator("#enhet option[value='']").inner_text()
    assert_accessible(page, "quick path, empty form")
    with library(site) as k:
        before = len(k.cases())
        with pytest.raises(InvalidInputError) as refused:
            k.register(kind="klagomal", channel="telefon", unit="klf-kontaktcenter", text="")

    # No kind chosen: the form's own question, at the first radio.
    page.fill("#namn", "Karin Prov")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("main button:has-text('Registrera')")
    assert answer.value.status == 422
    assert page.title().startswith("Fel: ")
    assert "Välj om det är ett klagomål" in error_of(page, "typ")
    assert_accessible(page, "quick path without a kind")

    page.check("#typ")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("main button:has-text('Registrera')")
    assert answer.value.status == 422
    assert page.title().startswith("Fel: Registrera en synpunkt")
    assert error_of(page, "text").lower() == str(refused.value).lower()
    assert page.locator(".error-summary a[href='#text']").count() == 1
    assert page.input_value("#namn") == "Karin Prov"
    assert page.is_checked("#typ")
    assert_accessible(page, "quick path without a text")

    # A serious complaint is never resolved at once (R15): the registration is refused with it.
    page.fill("#text", "Personalen var otrevlig")
    page.check("#allvarligt")
    page.fill("#lost", "Bad om ursäkt")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("main button:has-text('Registrera')")
    assert answer.value.status == 422
    assert "allvarligt klagomål" in error_of(page, "lost")
    assert page.is_checked("#allvarligt")
    assert page.input_value("#lost") == "Bad om ursäkt"
    assert_accessible(page, "quick path, serious and resolved at once")

    # Anonymous through a channel that takes no anonymous feedback (R5): at the name.
    page.uncheck("#allvarligt")
    page.fill("#lost", "")
    page.fill("#namn", "")
    page.select_option("#kanal", "webbformular")
    page.click("main button:has-text('Registrera')")
    assert "anonyma synpunkter tas inte emot" in error_of(page, "namn")
    assert page.input_value("#kanal") == "webbformular"
    with library(site) as k:
        assert len(k.cases()) == before  # nothing was written


def test_the_quick_path_takes_few_keys_and_registers_at_the_intake_unit(site: Site) -> None:
    """A phone call to the contact centre, with the keyboard only: the
    form's keys besides the person's own words are counted (docs/web.md)."""
    page = site.page("kontaktcenter")
    page.goto(site.server.url + "/arenden/ny")
    fields = page.locator("main form").first.locator(
        "input:not([type=hidden]):visible, select:visible, textarea:visible"
    )
    radios = page.locator("main input[type=radio]").count()
    # Every visible field is one of the form's fields, a kind a radio each.
    assert fields.count() - (radios - 1) == len(QUICK_FIELDS)
    keys: list[str] = []
    typed = 0

    def press(key: str, then: str | None = None) -> None:
        keys.append(key)
        page.keyboard.press(key)
        if then is not None:
            assert page.evaluate("document.activeElement.id") == then, (key, then)

    def write(text: str) -> None:
        nonlocal typed
        typed += len(text)
        page.keyboard.type(text)

    text = "Ringde om att hemtjänsten inte kom i morse."
    press("Tab")  # the skip link
    press("Enter", "innehall")
    press("Tab", "kanal")  # telefon already
    press("Tab", "typ")
    press("Space")  # Klagomål
    press("Tab", "text")
    write(text)
    press("Tab", "enhet")  # Vet inte
    press("Tab", "namn")
    write("Karin Lund")
    press("Tab", "telefon")
    write("070-222 22 22")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        press("Enter")  # sends the form from the last field needed
    response = answer.value
    assert response.status == 303
    location = response.headers["location"]
    assert location.startswith("/arenden/")
    reference = location.removeprefix("/arenden/")
    with library(site) as k:
        case = k.get(reference)
    assert case.channel == "telefon"
    assert case.kind.value == "klagomal"
    assert case.text == text
    assert case.unit == k.organisation.intake.unit == "klf-kontaktcenter"
    assert case.contact is not None
    assert case.contact.name == "Karin Lund"
    assert case.contact.phone == "070-222 22 22"
    # Well under a minute: the keys between fields, and the person's words typed.
    assert len(keys) == 10
    seconds = len(keys) * SECONDS_PER_KEY + typed * SECONDS_PER_CHARACTER
    assert seconds < 30, (keys, typed, seconds)


# -- the chef's overview ----------------------------------------------------------


def row_of(page: Any, reference: str) -> Any:
    return page.locator("tbody tr", has=page.locator(f"a[href='/arenden/{reference}']"))


def test_the_chef_sees_overdue_cases_and_assigns_with_one_action(site: Site) -> None:
    page = site.page("lena.holm")
    page.goto(site.server.url + "/chef")
    assert page.title().startswith("Chefsöversikt")
    assert_accessible(page, "chef's overview")
    with library(site, "lena.holm") as k:
        case = k.get(site.late)
        deadline = k.open_deadline(case)
        candidates = [u.id for u in handlers_of(k, NORR)]
    assert deadline is not None
    assert deadline.overdue
    late = -deadline.working_days_left
    row = row_of(page, site.late)
    assert f"{late} arbetsdagar sen" in row.inner_text()
    assert "Hotfullt bemötande, gäller personen" in row.inner_text()
    assert row_of(page, site.elsewhere).count() == 0  # Solgården is not hers
    assert "omar.ali" in candidates
    assert "kontaktcenter" not in candidates
    select = row.locator("select")
    options = select.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert options == ["", *candidates]

    # Sent without a choice: refused at the row's field, nothing written.
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        row.locator("button").click()
    assert answer.value.status == 422
    assert page.title().startswith("Fel: Chefsöversikt")
    assert f"ärende {site.late}" in error_of(page, f"handlaggare-{site.late}")
    assert_accessible(page, "chef's overview with an error")
    with library(site) as k:
        assert k.get(site.late).version == case.version

    row_of(page, site.late).locator("select").select_option("omar.ali")
    row_of(page, site.late).locator("button").click()
    assert page.url == site.server.url + "/chef"
    assert f"Ärende {site.late} har tilldelats Omar Ali." in page.locator("[data-flash]").inner_text()
    assert_accessible(page, "chef's overview after assigning")
    with library(site) as k:
        assigned = k.get(site.late)
    assert assigned.handler == "omar.ali"
    assert assigned.version == case.version + 1
    # Still late, now with its handler.
    assert "Omar Ali" in row_of(page, site.late).inner_text()


def test_the_overview_covers_a_förvaltning_and_refuses_a_stale_form(site: Site) -> None:
    for user in ("kim.berg", "nora.lind"):
        page = site.page(user)
        page.goto(site.server.url + "/chef")
        row = row_of(page, site.elsewhere)
        assert row.count() == 1, user
        # Nobody of the organisation file handles cases at Solgården: no form to send.
        assert row.locator("select").count() == 0
        assert "Ingen användare handlägger" in row.inner_text()
        assert_accessible(page, f"chef's overview for {user}")
    # kim.berg's page was drawn; someone writes a note on the case meanwhile.
    page = site.page("kim.berg")
    page.goto(site.server.url + "/chef")
    with library(site) as k:
        k.add_note(site.late, "Ringt kocken")
        version = k.get(site.late).version
        handler = k.get(site.late).handler
    row = row_of(page, site.late)
    row.locator("select").select_option("lena.holm")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        row.locator("button").click()
    assert answer.value.status == 409
    assert "ändrats av någon annan" in error_of(page, f"handlaggare-{site.late}")
    assert row_of(page, site.late).locator("select").input_value() == "lena.holm"  # kept
    assert_accessible(page, "chef's overview after a conflict")
    with library(site) as k:
        assert k.get(site.late).version == version
        assert k.get(site.late).handler == handler


def test_a_handlaggare_is_refused_the_overview_and_its_assignment(site: Site) -> None:
    page = site.page("omar.ali")
    response = page.goto(site.server.url + "/chef")
    assert response is not None
    assert response.status == 403
    assert page.title().startswith("Du har inte behörighet")
    assert "chefsöversikten är till för chefer" in page.inner_text("main")
    assert_accessible(page, "chef's overview refused")
    page.goto(site.server.url + "/arenden/sok")
    token_field = page.locator("main form input[type=hidden]").first
    with library(site) as k:
        before = k.get(site.elsewhere)
    answer = page.request.post(
        site.server.url + "/chef/tilldela",
        form={
            token_field.get_attribute("name") or "": token_field.get_attribute("value") or "",
            "arende": site.elsewhere,
            "version": str(before.version),
            "handlaggare": "omar.ali",
        },
        max_redirects=0,
    )
    assert answer.status == 403
    with library(site) as k:
        assert k.get(site.elsewhere).version == before.version
    # A läsare (statistics only) may neither search nor register.
    reader = site.page("sven.ek")
    for path in ("/arenden/sok", "/arenden/ny", "/chef"):
        response = reader.goto(site.server.url + path)
        assert response is not None
        assert response.status == 403, path
        assert reader.title().startswith("Du har inte behörighet"), path


# -- every page, every role that sees it -------------------------------------------


def test_every_page_answers_is_accessible_and_fits_320_pixels(site: Site) -> None:
    with library(site) as k:
        visits = [(path, user, url(k)) for path, entries in PAGES.items() for user, url in entries]
    for path, user, url in visits:
        assert user is not None
        page = site.page(user)
        page.set_viewport_size({"width": 320, "height": 800})
        response = page.goto(site.server.url + url)
        assert response is not None
        assert response.status == 200, (path, user)
        assert_accessible(page, f"{path} as {user}")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, user, overflow)
        page.set_viewport_size({"width": 1024, "height": 800})


# -- the same writes on every backend ----------------------------------------------


def test_the_quick_path_and_assigning_write_on_every_backend(
    new_database: Callable[[], str], tmp_path: Path, chromium: Any
) -> None:
    db = new_database()
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        waiting = k.register(
            kind="forslag", channel="epost", unit=NORR, text="Fler bänkar", contact=Contact(email="a@b.se")
        )
    with served(db, tmp_path) as server:
        b = chromium
        page = signed_in(b, server, "omar.ali")
        page.goto(server.url + "/arenden/ny")
        page.select_option("#kanal", "besok")
        page.check("#typ-2")  # Förslag
        page.fill("#text", "Vill ha längre öppettider på lördagar")
        page.select_option("#enhet", NORR)
        page.fill("#namn", "Olle Prov")
        page.click("main summary")  # the quality dimensions, folded away
        page.check("#dimension-0")
        page.check("#dimension-2")
        page.fill("#lost", "Förklarade öppettiderna och lämnade en broschyr")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click("main button:has-text('Registrera')")
        assert answer.value.status == 303
        reference = answer.value.headers["location"].removeprefix("/arenden/")

        chef = signed_in(b, server, "lena.holm")
        chef.goto(server.url + "/chef")
        row = row_of(chef, waiting.reference)
        row.locator("select").select_option("omar.ali")
        row.locator("button").click()
        assert "har tilldelats Omar Ali" in chef.locator("[data-flash]").inner_text()
        page.context.close()
        chef.context.close()
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        case = k.get(reference)
        assert (case.channel, case.kind.value, case.unit) == ("besok", "forslag", NORR)
        assert case.text == "Vill ha längre öppettider på lördagar"
        assert case.resolved_at_once
        assert case.state.value == "avslutat"
        assert case.handler == "omar.ali"
        assert case.dimensions == tuple(list(k.dimensions)[i] for i in (0, 2))
        assert k.get(waiting.reference).handler == "omar.ali"


# -- the facade's filter the overview uses --------------------------------------------


def test_cases_can_be_listed_unassigned_within_a_managers_units(tmp_path: Path) -> None:
    with Klagomal(f"sqlite:///{tmp_path / 'k.db'}", user="nora.lind", load_entrypoints=False) as k:
        k.init()
        first, second, third = (
            k.register(kind="berom", channel="telefon", unit=unit, text="Tack", contact=Contact(name="A"))
            for unit in (NORR, NORR, SOLGARDEN)
        )
        k.assign(first.reference, "omar.ali")
        found = k.as_user("lena.holm").cases(manager="lena.holm", state="open", unassigned=True)
        assert [c.reference for c in found] == [second.reference]
        everyone = {c.reference for c in k.cases(unassigned=True)}
        assert everyone == {second.reference, third.reference}

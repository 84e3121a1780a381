"""The phrase library in the web interface (R23; klagomal.web.ui.phrases):
``klagomal serve`` as a real process, driven by chromium, checked with axe-core.

The förvaltningsadmin writes, changes and retires a phrase through the
pages (read back through the library; a retired phrase stays in the
database); every role of :class:`~klagomal.core.users.Role` gets the
management pages or the 403 page as the access policy says; a handläggare
picks a phrase in the step forms whose text the person reads
(:data:`~klagomal.web.ui.phrases.PICKER_FIELDS`), inserts it without
JavaScript (no step taken, everything else kept) and then takes the step.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from tests.conftest import BACKENDS, server_url
from tests.ui_pages_phrases import PAGES
from tests.ui_support import (
    UiServer,
    assert_accessible,
    browser,
    login,
    require_browser,
    served,
    start_ui,
    stop_ui,
)

from klagomal import Klagomal, Purpose
from klagomal.core.errors import InvalidInputError
from klagomal.core.model import Contact
from klagomal.core.phrases import check_title
from klagomal.core.users import SYSTEM_USER, Role
from klagomal.notices.phrases import SAVE_STEP
from klagomal.records.access import Operation
from klagomal.web.ui import casepage, phrases

UNIT = "soc-aldre-hemtjanst-norr"
THANKS = "Tack för att du hörde av dig. Det du berättar hjälper oss att bli bättre."
SORRY = "Vi ber om ursäkt för att personalen inte kom i tid."


def _library_says(check: Callable[..., Any], value: str) -> str:
    with pytest.raises(InvalidInputError) as refused:
        check(value, step=SAVE_STEP)
    return str(refused.value)


#: The library's message for an empty title (klagomal.core.phrases.check_title).
EMPTY_TITLE = _library_says(check_title, "")


# -- the database ---------------------------------------------------------------------------


def register(k: Klagomal, *, acknowledged: bool = True) -> str:
    case = k.as_user("kontaktcenter").register(
        kind="klagomal",
        channel="webbformular",
        text="Hemtjänsten kom inte på tisdagen.",
        unit=UNIT,
        contact=Contact(name="Eva Svensson", email="eva@example.se"),
    )
    if acknowledged:
        k.as_user("omar.ali").acknowledge(case.reference)
    return case.reference


@attrs.frozen
class Seeded:
    db: str
    thanks: int  # soc, tack
    sorry: int  # soc, ursäkt
    other: int  # bou: not kim.berg's, not in a soc case's picker


def seed(db: str) -> Seeded:
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        kim = k.as_user("kim.berg")
        thanks = kim.save_phrase("soc", Purpose.TACK, "Tack för din synpunkt", THANKS)
        sorry = kim.save_phrase("soc", Purpose.URSAKT, "Ursäkt för sen hemtjänst", SORRY)
        other = k.save_phrase("bou", Purpose.TACK, "Tack från skolan", "Tack från Barn och utbildning.")
        return Seeded(db, thanks.id, sorry.id, other.id)


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_browser()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Seeded:
    tmp = tmp_path_factory.mktemp("phrases")
    return seed(f"sqlite:///{tmp / 'klagomal.db'}")


@pytest.fixture(scope="module")
def server(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    with served(seeded.db, tmp_path_factory.mktemp("serve")) as running:
        yield running


@pytest.fixture(scope="module")
def chrome(chromium: str) -> Iterator[Any]:
    with browser(chromium) as b:
        yield b


@pytest.fixture(scope="module")
def as_user(chrome: Any, server: UiServer) -> Iterator[Callable[..., Any]]:
    """``as_user(id, script=True)``: a new page in that user's signed-in
    browser context (with or without JavaScript)."""
    contexts: dict[tuple[str, bool], Any] = {}

    def page_for(user: str, script: bool = True) -> Any:
        if (user, script) not in contexts:
            context = chrome.new_context(java_script_enabled=script)
            first = context.new_page()
            login(first, server, user)
            first.close()
            contexts[user, script] = context
        return contexts[user, script].new_page()

    yield page_for
    for context in contexts.values():
        context.close()


def library(server: UiServer, user: str = "nora.lind") -> Klagomal:
    return Klagomal(server.db, user=user, load_entrypoints=False)


def submit(page: Any, text: str) -> Any:
    with page.expect_navigation():
        page.locator(f"main button[type=submit]:has-text('{text}')").first.click()
    return page


def round_trip(page: Any) -> None:
    """ "Infoga frasen" as without JavaScript: the form sent with that
    button, which the script's click handler does not see."""
    with page.expect_navigation():
        page.evaluate(
            "() => { const b = document.querySelector('button[name=atgard]'); b.form.requestSubmit(b); }"
        )


def title(page: Any) -> str:
    return str(page.title())


def assert_field_error(page: Any, field: str, message: str) -> None:
    """The GOV.UK error pattern: "Fel:" first in the title, the summary
    links to the field, which is aria-invalid and described by its message."""
    assert title(page).startswith("Fel: "), title(page)
    assert page.locator(f".error-summary a[href='#{field}']").inner_text().strip() == message
    element = page.locator(f"#{field}")
    assert element.get_attribute("aria-invalid") == "true"
    assert f"{field}-error" in (element.get_attribute("aria-describedby") or "").split()
    assert message in page.locator(f"#{field}-error").inner_text()


# -- the picker's table ---------------------------------------------------------------------------


def test_the_empty_title_message_is_the_librarys() -> None:
    assert "rubriken är tom" in EMPTY_TITLE
    assert "spara fras" in EMPTY_TITLE  # names the step


def test_the_picker_stands_at_a_text_the_person_reads() -> None:
    forms = casepage.step_forms()
    for step, field in phrases.PICKER_FIELDS.items():
        found = [f for f in forms[step].fields if f.id == field]
        assert [f.kind for f in found] == ["textarea"], step
    assert {"answer", "inform"} <= set(phrases.PICKER_FIELDS)
    # Internal texts never get the person's wording.
    assert not {"note", "action", "flag"} & set(phrases.PICKER_FIELDS)


# -- the upkeep, by role --------------------------------------------------------------------------


def _user_of(k: Klagomal, role: Role) -> str:
    return next(u.id for u in k.organisation.users.values() if u.role is role and u.id != SYSTEM_USER.id)


@pytest.mark.parametrize("role", list(Role))
def test_every_role_gets_the_upkeep_or_403(
    role: Role, seeded: Seeded, server: UiServer, as_user: Callable[..., Any]
) -> None:
    with library(server) as k:
        user = _user_of(k, role)
        keeps = k.access.allows(k.organisation.users[user], Operation.PHRASES)
    assert keeps is (role in (Role.SYSTEM_OWNER, Role.DEPARTMENT_ADMIN))
    page = as_user(user)
    try:
        for path in (
            "/admin/fraser",
            "/admin/fraser?visa=alla",
            "/admin/fraser/ny",
            f"/admin/fraser/{seeded.thanks}",
        ):
            answer = page.goto(server.url + path)
            assert answer.status == (200 if keeps else 403), (user, path)
            assert_accessible(page, f"{path} as {user}")
            if not keeps:
                assert "Du har inte behörighet" in title(page)
                assert THANKS not in page.content()
        if keeps:
            page.goto(server.url + "/admin/fraser")
            assert "Tack för din synpunkt" in page.content()
            assert ("Tack från skolan" in page.content()) is (role is Role.SYSTEM_OWNER)
    finally:
        page.close()


def test_a_handler_is_refused_retiring_by_the_library(
    seeded: Seeded, server: UiServer, as_user: Callable[..., Any]
) -> None:
    """A retirement posted with a valid CSRF token by a handläggare: the
    403 page, and the phrase is still in use."""
    page = as_user("omar.ali")
    try:
        page.goto(server.url + "/arenden")
        with page.expect_navigation():
            page.evaluate(
                """([action]) => {
                    const token = document.querySelector('form.site-header__logout input[type=hidden]');
                    const form = document.createElement('form');
                    form.method = 'post';
                    form.action = action;
                    for (const [name, value] of [[token.name, token.value], ['bekrafta', 'ja']]) {
                        const input = document.createElement('input');
                        input.type = 'hidden'; input.name = name; input.value = value;
                        form.appendChild(input);
                    }
                    document.body.appendChild(form);
                    form.submit();
                }""",
                [f"/admin/fraser/{seeded.sorry}/ur-bruk"],
            )
        assert "Du har inte behörighet" in title(page)
        assert "får inte förvalta frasbiblioteket" in page.locator("main").inner_text()
        assert_accessible(page, "a handler's retirement refused")
        with library(server) as k:
            assert not k.phrase(seeded.sorry).retired
    finally:
        page.close()


def test_the_administrator_writes_changes_and_retires_a_phrase(
    seeded: Seeded, server: UiServer, as_user: Callable[..., Any]
) -> None:
    page = as_user("kim.berg")
    try:
        page.goto(server.url + "/admin/fraser")
        assert_accessible(page, "the list")
        page.click("a:has-text('Ny fras')")
        assert page.url.endswith("/admin/fraser/ny")
        assert_accessible(page, "the empty form")
        # kim.berg keeps one förvaltning: it is proposed.
        assert page.locator("#department").input_value() == "soc"

        # Refused: an empty title.  The library's reason, the rest kept.
        page.check("input[name=purpose][value=information]")
        page.fill("#text", "Vi har tagit emot dina uppgifter och fortsätter med ärendet.")
        with library(server) as k:
            before = len(k.phrases(include_retired=True))
        submit(page, "Spara frasen")
        assert_field_error(page, "title", EMPTY_TITLE)
        assert (
            page.locator("#text").input_value()
            == "Vi har tagit emot dina uppgifter och fortsätter med ärendet."
        )
        assert page.locator("input[name=purpose][value=information]").is_checked()
        assert page.locator("#department").input_value() == "soc"
        assert_accessible(page, "the form with an error")
        with library(server) as k:
            assert len(k.phrases(include_retired=True)) == before

        # Everything empty: every field's error at once.
        page.goto(server.url + "/admin/fraser/ny")
        page.select_option("#department", "")
        submit(page, "Spara frasen")
        for field in ("department", "title", "text"):
            assert page.locator(f".error-summary a[href='#{field}']").count() == 1, field
        assert page.locator(".error-summary a[href='#purpose']").count() == 1
        assert_accessible(page, "the form with every error")

        # Written.
        page.select_option("#department", "soc")
        page.check("input[name=purpose][value=information]")
        page.fill("#title", "Ärendet går vidare")
        page.fill("#text", "Vi har tagit emot dina uppgifter\noch fortsätter med ärendet.")
        submit(page, "Spara frasen")
        assert page.url.endswith("/admin/fraser")
        assert "Frasen Ärendet går vidare är sparad." in page.locator("[data-flash]").inner_text()
        assert_accessible(page, "the list after saving")
        with library(server) as k:
            (new,) = [p for p in k.phrases("soc") if p.title == "Ärendet går vidare"]
            assert new.purpose is Purpose.INFORMATION
            assert new.text == "Vi har tagit emot dina uppgifter\noch fortsätter med ärendet."
            assert new.created_by == "kim.berg"

        # Changed.
        page.click(f"a[href='/admin/fraser/{new.id}']")
        assert_accessible(page, "the edit form")
        assert page.locator("#title").input_value() == "Ärendet går vidare"
        page.fill("#title", "")
        submit(page, "Spara frasen")
        assert_field_error(page, "title", EMPTY_TITLE)
        assert_accessible(page, "the edit form with an error")
        page.fill("#title", "Vi fortsätter med ärendet")
        submit(page, "Spara frasen")
        assert "är ändrad" in page.locator("[data-flash]").inner_text()
        with library(server) as k:
            changed = k.phrase(new.id)
            assert changed.title == "Vi fortsätter med ärendet"
            assert changed.updated_by == "kim.berg"

        # Retired, after a confirmation; not deleted.
        page.goto(f"{server.url}/admin/fraser/{new.id}")
        submit(page, "Ta frasen ur bruk")
        assert "Ta frasen ur bruk?" in page.locator("h1").inner_text()
        assert_accessible(page, "the confirmation")
        with library(server) as k:
            assert not k.phrase(new.id).retired  # asking writes nothing
        submit(page, "Ja, ta frasen ur bruk")
        assert page.url.endswith("/admin/fraser")
        assert "är tagen ur bruk" in page.locator("[data-flash]").inner_text()
        assert "Vi fortsätter med ärendet" not in page.locator("main table").all_inner_texts()[0]
        assert_accessible(page, "the list after retiring")
        with library(server) as k:
            retired = k.phrase(new.id)
            assert retired.retired
            assert new.id not in {p.id for p in k.phrases("soc")}
            assert new.id in {p.id for p in k.phrases("soc", include_retired=True)}
        page.click("a:has-text('Visa även fraser ur bruk')")
        assert "Vi fortsätter med ärendet" in page.locator("main").inner_text()
        assert_accessible(page, "the list with retired phrases")
        page.goto(f"{server.url}/admin/fraser/{new.id}")
        assert page.locator("#title").count() == 0  # a retired phrase is not changed
        assert_accessible(page, "a retired phrase")
    finally:
        page.close()


def test_an_unknown_phrase_is_404(server: UiServer, as_user: Callable[..., Any]) -> None:
    page = as_user("kim.berg")
    try:
        answer = page.goto(server.url + "/admin/fraser/999999")
        assert answer.status == 404
        assert "det finns ingen fras med id 999999" in page.locator("main").inner_text()
        assert_accessible(page, "an unknown phrase")
    finally:
        page.close()


# -- the picker -----------------------------------------------------------------------------------


def test_a_handler_inserts_a_phrase_without_javascript_then_answers(
    seeded: Seeded, server: UiServer, as_user: Callable[..., Any]
) -> None:
    with library(server) as k:
        reference = register(k)
        history = len(k.history(reference))
        version = k.get(reference).version
    page = as_user("omar.ali", script=False)
    try:
        page.goto(f"{server.url}/arenden/{reference}/steg/answer")
        groups = page.locator("#fras optgroup")
        assert groups.evaluate_all("gs => gs.map(g => g.label)") == ["Tack", "Ursäkt"]
        options = page.locator("#fras option").evaluate_all("os => os.map(o => o.textContent.trim())")
        assert "Tack för din synpunkt" in options
        assert "Tack från skolan" not in options  # bou's, not the case's förvaltning
        # The picker stands just above the text.
        assert page.evaluate(
            "document.querySelector('#fras').compareDocumentPosition(document.querySelector('#text')) & 4"
        )

        # Nothing chosen: the form says so and keeps the rest.
        page.check("input[name=mode][value=muntligt]")
        page.fill("#text", "Hej Eva!")
        submit(page, "Infoga frasen")
        assert_field_error(page, "fras", "Välj den fras du vill infoga.")
        assert page.locator("#text").input_value() == "Hej Eva!"

        page.select_option("#fras", str(seeded.thanks))
        submit(page, "Infoga frasen")
        assert not title(page).startswith("Fel")
        assert page.locator("#text").input_value() == f"Hej Eva!\n\n{THANKS}"
        assert page.locator("input[name=mode][value=muntligt]").is_checked()
        assert page.locator("input[name=version]").input_value() == str(version)
        assert "Frasen är infogad" in page.locator("main").inner_text()
        page.select_option("#fras", str(seeded.sorry))
        submit(page, "Infoga frasen")
        assert page.locator("#text").input_value() == f"Hej Eva!\n\n{THANKS}\n\n{SORRY}"
        with library(server) as k:
            assert len(k.history(reference)) == history  # no step taken
            assert k.get(reference).version == version

        page.check("input[name=mode][value=skriftligt]")
        submit(page, "Besvara")
        assert page.url.endswith(f"/arenden/{reference}")
        with library(server) as k:
            case = k.get(reference)
            assert case.state.value == "besvarat"
            answered = k.history(reference)[-1]
            assert answered.type == "answered"
            assert answered.data.text == f"Hej Eva!\n\n{THANKS}\n\n{SORRY}"
    finally:
        page.close()


def test_the_picker_is_accessible_and_refuses_a_phrase_it_does_not_offer(
    seeded: Seeded, server: UiServer, as_user: Callable[..., Any]
) -> None:
    with library(server) as k:
        reference = register(k)
    page = as_user("omar.ali")
    try:
        page.goto(f"{server.url}/arenden/{reference}/steg/answer")
        assert_accessible(page, "the answer form with the picker")
        submit(page, "Infoga frasen")
        assert_accessible(page, "the picker with an error")
        page.select_option("#fras", str(seeded.thanks))
        round_trip(page)
        assert_accessible(page, "the answer form after inserting")
        # bou's phrase, posted anyway: refused, nothing inserted.
        page.evaluate(
            f"""() => {{ const o = document.createElement('option');
            o.value = '{seeded.other}'; document.querySelector('#fras').appendChild(o);
            document.querySelector('#fras').value = '{seeded.other}'; }}"""
        )
        round_trip(page)
        assert page.locator("#fras-error").count() == 1
        assert page.locator("#text").input_value() == THANKS
    finally:
        page.close()


def test_with_javascript_the_phrase_goes_where_the_cursor_was_without_a_round_trip(
    seeded: Seeded, server: UiServer, as_user: Callable[..., Any]
) -> None:
    with library(server) as k:
        reference = register(k)
        history = len(k.history(reference))
    page = as_user("omar.ali")
    try:
        page.goto(f"{server.url}/arenden/{reference}/steg/inform")
        page.fill("#text", "Hej Eva! Hälsningar Omar")
        page.evaluate(
            "() => { const t = document.querySelector('#text'); t.focus(); t.setSelectionRange(9, 9); }"
        )
        page.evaluate("() => { window.sameDocument = true; }")
        page.select_option("#fras", str(seeded.thanks))
        page.click("button:has-text('Infoga frasen')")
        assert page.evaluate("() => window.sameDocument === true")  # no round trip
        assert page.locator("#text").input_value() == f"Hej Eva! {THANKS}Hälsningar Omar"
        assert page.evaluate("() => document.activeElement.id") == "text"
        assert page.locator("#fras").input_value() == ""
        assert "Frasen är infogad" in page.locator("[data-phrase-status]").inner_text()
        assert_accessible(page, "the form after inserting with JavaScript")
        with library(server) as k:
            assert len(k.history(reference)) == history
    finally:
        page.close()


def test_every_picker_step_inserts_into_its_own_field(
    seeded: Seeded, server: UiServer, as_user: Callable[..., Any]
) -> None:
    with library(server) as k:
        reference = register(k)
        history = len(k.history(reference))
    page = as_user("omar.ali", script=False)
    try:
        for step in casepage.STEP_FORMS:
            page.goto(f"{server.url}/arenden/{reference}/steg/{step}")
            field = phrases.PICKER_FIELDS.get(step)
            assert page.locator("#fras").count() == (1 if field else 0), step
            if field is None:
                continue
            page.fill(f"#{field}", "Först mina ord.")
            page.select_option("#fras", str(seeded.sorry))
            submit(page, "Infoga frasen")
            assert page.locator(f"#{field}").input_value() == f"Först mina ord.\n\n{SORRY}", step
        with library(server) as k:
            assert len(k.history(reference)) == history
    finally:
        page.close()


def test_no_picker_without_phrases_to_read(server: UiServer, as_user: Callable[..., Any]) -> None:
    """A förvaltning without phrases (kontaktcenter's case at klf): the form as it was."""
    with library(server) as k:
        case = k.as_user("kontaktcenter").register(
            kind="klagomal",
            channel="telefon",
            text="Ingen svarade i telefon.",
            unit="klf-kontaktcenter",
            contact=Contact(name="Bo Ek", email="bo@example.se"),
        )
        assert not k.phrases(case.department)
    page = as_user("kontaktcenter")
    try:
        page.goto(f"{server.url}/arenden/{case.reference}/steg/inform")
        assert page.locator("#text").count() == 1
        assert page.locator("#fras").count() == 0
    finally:
        page.close()


def test_the_pages_fit_320_pixels(seeded: Seeded, server: UiServer, as_user: Callable[..., Any]) -> None:
    with library(server) as k:
        reference = register(k)
    pages = {
        "kim.berg": [
            "/admin/fraser",
            "/admin/fraser?visa=alla",
            "/admin/fraser/ny",
            f"/admin/fraser/{seeded.thanks}",
        ],
        "omar.ali": [f"/arenden/{reference}/steg/answer", f"/arenden/{reference}/steg/postpone"],
    }
    for user, paths in pages.items():
        page = as_user(user)
        try:
            page.set_viewport_size({"width": 320, "height": 640})
            for path in paths:
                page.goto(server.url + path)
                wide = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert wide <= 0, f"{path} scrolls sideways by {wide} px at 320 px"
        finally:
            page.close()


# -- one write on every backend -------------------------------------------------------------------


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_a_phrase_is_written_on_every_backend(backend: str, chrome: Any, tmp_path: Path) -> None:
    if BACKENDS[backend] is None:
        db = f"sqlite:///{tmp_path / 'klagomal.db'}"
        admin = None
    else:
        import sqlalchemy as sa

        admin = sa.create_engine(sa.make_url(server_url(backend)), isolation_level="AUTOCOMMIT")
        name = f"klagomal_uiph_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        db = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
            k.init()
        running = start_ui(db, tmp_path)
        context = chrome.new_context()
        try:
            page = context.new_page()
            login(page, running, "kim.berg")
            page.goto(running.url + "/admin/fraser/ny")
            page.check("input[name=purpose][value=tack]")
            page.fill("#title", "Tack för ditt förslag")
            page.fill("#text", "Tack för att du delar med dig – åäö.")
            submit(page, "Spara frasen")
            assert page.url.endswith("/admin/fraser")
            with Klagomal(db, user="kim.berg", load_entrypoints=False) as k:
                (found,) = k.phrases("soc")
                assert (found.title, found.text, found.created_by) == (
                    "Tack för ditt förslag",
                    "Tack för att du delar med dig – åäö.",
                    "kim.berg",
                )
        finally:
            context.close()
            stop_ui(running)
    finally:
        if admin is not None:
            with admin.connect() as conn:
                force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
            admin.dispose()


# -- the page catalogue -----------------------------------------------------------------------------


def test_the_page_catalogue_names_every_get_route(seeded: Seeded) -> None:
    gets = {path for route in phrases.routes if "GET" in route.http_methods for path in route.paths}
    assert gets == set(PAGES)
    with Klagomal(seeded.db, user="nora.lind", load_entrypoints=False) as k:
        for entries in PAGES.values():
            for user, make in entries:
                assert user in k.organisation.users
                assert make(k).startswith("/admin/fraser")

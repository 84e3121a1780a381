"""The whole routine across roles, in a real browser against ``klagomal
serve`` (issue 22): a citizen sends the web form → the handläggare finds it
in Mina ärenden and gives the besked → the citizen's "Följ ditt ärende"
page shows it → the handläggare answers with a phrase from the phrase
library (R23) → the citizen is not satisfied and says so on that page →
the case is closed unsatisfied and escalated to the förvaltningschef
(R19) → the chef takes it on from the overview → answers it → closes it.

Every step is taken through the pages, as the people would; the library is
asked afterwards what happened.  axe-core checks every page on the way.
With ``KLAGOMAL_SCREENSHOTS=1`` the test writes the screenshots of
docs/web.md into ``docs/images/web/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from tests.ui_support import (
    SCREENSHOTS,
    UiServer,
    assert_accessible,
    browser,
    login,
    require_browser,
    start_ui,
    stop_ui,
)

from klagomal import Klagomal

pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")

UNIT = "soc-aldre-hemtjanst-norr"
TEXT = "Hemtjänsten kom inte på tisdagen och ingen ringde för att säga det."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    tmp = tmp_path_factory.mktemp("ui-routine")
    db = f"sqlite:///{tmp / 'k.db'}"
    with Klagomal(db, user="nora.lind") as k:
        k.init()
        apology = "Vi ber om ursäkt för att vi inte kom som vi lovat."
        k.as_user("kim.berg").save_phrase("soc", "ursakt", "Ursäkt för uteblivet besök", apology)
    started = start_ui(db, tmp)
    yield started
    stop_ui(started)


def shot(page: Any, name: str) -> None:
    """A screenshot for docs/web.md, when asked for."""
    if not os.environ.get("KLAGOMAL_SCREENSHOTS"):
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def step(page: Any, server: UiServer, reference: str, name: str) -> None:
    """Open a step's form from the case page, as a handläggare would."""
    page.goto(f"{server.url}/arenden/{reference}")
    page.click(f"a[href='/arenden/{reference}/steg/{name}']")
    page.wait_for_load_state()
    assert_accessible(page, f"the form of {name}")


def send(page: Any) -> None:
    with page.expect_navigation():
        page.locator("main form[method=post] button[type=submit]").last.click()


def test_the_whole_routine_across_roles(server: UiServer) -> None:
    executable = require_browser()
    with browser(executable) as b:
        citizen = b.new_context().new_page()
        handler = b.new_context().new_page()
        chef = b.new_context().new_page()
        admin = b.new_context().new_page()
        for staff_page in (handler, chef, admin):
            # "Är du säker? Steget kan inte ångras." before closing: yes.
            staff_page.on("dialog", lambda dialog: dialog.accept())

        # The citizen sends the web form.
        citizen.goto(server.url + "/tyck-till")
        citizen.check("input[name=typ][value=klagomal]")
        citizen.fill("#text", TEXT)
        citizen.select_option("#enhet", "hemtjanst-norr")  # the answer that routes to UNIT
        citizen.fill("#namn", "Eva Svensson")
        citizen.fill("#epost", "eva@example.se")
        assert_accessible(citizen, "the web form, filled in")
        shot(citizen, "medborgare-formular")
        with citizen.expect_navigation():
            citizen.click("form[action='/tyck-till'] button[type=submit]")
        reference = citizen.inner_text(".panel--confirm .reference").strip()
        assert_accessible(citizen, "the receipt")
        follow = citizen.locator("a[href*='/folj/']").first.get_attribute("href")
        assert follow is not None
        citizen.goto(follow if follow.startswith("http") else server.url + follow)
        assert reference in citizen.inner_text("main")
        assert_accessible(citizen, "Följ ditt ärende, registered")

        # The handläggare finds it in Mina ärenden and gives the besked.
        login(handler, server, "omar.ali")
        handler.goto(server.url + "/arenden")
        assert handler.locator(f"a[href='/arenden/{reference}']").count() == 1
        shot(handler, "handlaggare-mina-arenden")
        handler.set_viewport_size({"width": 320, "height": 700})
        shot(handler, "handlaggare-mina-arenden-320")
        handler.set_viewport_size({"width": 1280, "height": 900})
        step(handler, server, reference, "acknowledge")
        handler.select_option("#handler", "omar.ali")
        send(handler)
        assert handler.url.endswith(f"/arenden/{reference}")
        shot(handler, "handlaggare-arende")

        # The citizen sees the besked.
        citizen.reload()
        with Klagomal(server.db, user="nora.lind") as k:
            case = k.get(reference)
            assert case.acknowledged is not None
        assert "Omar Ali" in citizen.inner_text("main")
        assert_accessible(citizen, "Följ ditt ärende, after the besked")

        # The handläggare answers with a phrase.
        step(handler, server, reference, "answer")
        handler.check("input[name=mode][value=skriftligt]")
        handler.select_option("select[name=fras]", label="Ursäkt för uteblivet besök")
        # With JavaScript the phrase goes in where the cursor is, without a round trip
        # (tests/test_ui_phrases.py tests the same without it).
        handler.click("button[name=atgard][value=infoga]")
        handler.wait_for_function("document.querySelector('#text').value.includes('Vi ber om ursäkt')")
        handler.fill("#text", handler.input_value("#text") + "\n\nVi har ändrat schemat för tisdagar.")
        handler.check("input[name=mode][value=skriftligt]")
        send(handler)

        # The citizen reads the answer and is not satisfied.
        citizen.reload()
        assert "Vi ber om ursäkt för att vi inte kom som vi lovat." in citizen.inner_text("main")
        citizen.fill("textarea#information", "Jag är inte nöjd: det har hänt tre gånger nu.")
        with citizen.expect_navigation():
            citizen.locator("form[action$='/komplettera'] button[type=submit]").click()
        assert_accessible(citizen, "Följ ditt ärende, after adding information")

        # The case is closed unsatisfied and escalated to the förvaltningschef.
        step(handler, server, reference, "close")
        handler.check("input[name=satisfied][value=nej]")
        send(handler)
        step(handler, server, reference, "escalate")
        handler.fill("#reason", "Personen är inte nöjd med svaret.")
        send(handler)
        with Klagomal(server.db, user="nora.lind") as k:
            assert int(k.get(reference).level) == 2

        # The chef assigns it, from the overview.
        login(chef, server, "lena.holm")
        chef.goto(server.url + "/chef")
        assert_accessible(chef, "the chef's overview")
        shot(chef, "chef-oversikt")
        step(chef, server, reference, "assign")
        chef.select_option("#handler", "lena.holm")
        send(chef)

        # At level 2 the case is new again: she gives the person a besked, answers, closes.
        step(chef, server, reference, "acknowledge")
        chef.select_option("#handler", "lena.holm")
        send(chef)
        step(chef, server, reference, "answer")
        chef.check("input[name=mode][value=skriftligt]")
        chef.fill("#text", "Förvaltningen har gått igenom ärendet och ändrat rutinen för hemtjänsten.")
        send(chef)
        step(chef, server, reference, "close")
        chef.check("input[name=satisfied][value=ja]")
        send(chef)

        # The förvaltning's administrator sees to the rest.
        login(admin, server, "kim.berg")
        admin.goto(server.url + "/admin")
        assert_accessible(admin, "the administration")
        shot(admin, "admin")

    with Klagomal(server.db, user="nora.lind") as k:
        case = k.get(reference)
        assert case.state.value == "avslutat"
        assert case.handler == "lena.holm"
        kinds = [event.type for event in k.history(reference)]
        for expected in ("registered", "acknowledged", "answered", "closed", "escalated", "assigned"):
            assert expected in kinds, (expected, kinds)
        assert kinds.count("answered") == 2
        assert "message_received" in kinds  # what the citizen added

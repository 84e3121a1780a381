"""The case page and the routine's steps as forms (klagomal.web.ui.casepage):
``klagomal serve`` as a real process, driven by chromium, checked with axe-core.

The steps are read from the code: every step of the HTTP API and every
facade method that takes ``expected_version`` has a form, or is named in
:data:`~klagomal.web.ui.casepage.NOT_A_FORM` with the reason; each form is
drawn, refused when sent empty (where it can be), and taken with valid
values, and the step is read back through the library.
"""

from __future__ import annotations

import datetime as dt
import inspect
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from tests.conftest import BACKENDS, server_url
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

from klagomal import Klagomal
from klagomal.core.model import Contact
from klagomal.web.steps import OWN_ROUTES, STEPS
from klagomal.web.ui import casepage

UNIT = "soc-aldre-hemtjanst-norr"
TEXT = "Hemtjänsten kom inte på tisdagen och ingen hörde av sig."


# -- the database and its cases ------------------------------------------------------------


def register(k: Klagomal, *, kind: str = "klagomal", contact: Contact | None = None, text: str = TEXT) -> str:
    contact = contact or Contact(name="Eva Svensson", email="eva@example.se")
    case = k.as_user("kontaktcenter").register(
        kind=kind, channel="webbformular", text=text, unit=UNIT, contact=contact
    )
    return case.reference


def handling(k: Klagomal) -> str:
    reference = register(k)
    k.as_user("omar.ali").acknowledge(reference)
    return reference


def answered(k: Klagomal) -> str:
    reference = handling(k)
    k.as_user("omar.ali").answer(reference, "skriftligt", "Vi ber om ursäkt; det ska inte hända igen.")
    return reference


def published(k: Klagomal) -> str:
    reference = answered(k)
    k.as_user("omar.ali").publish(reference)
    return reference


def closed_unhappy(k: Klagomal) -> str:
    reference = answered(k)
    k.as_user("omar.ali").close(reference, False)
    return reference


def paused(k: Klagomal) -> str:
    reference = handling(k)
    k.as_user("omar.ali").pause(reference, "Väntar på uppgifter från personen.")
    return reference


def flagged(k: Klagomal) -> str:
    reference = handling(k)
    k.as_user("omar.ali").flag_threat(reference, "hotfullt", reason="Hotade personalen i telefon.")
    return reference


def secret(k: Klagomal) -> str:
    reference = handling(k)
    k.as_user("omar.ali").mark_secret(reference, "OSL 26 kap. 1 §")
    return reference


def praise(k: Klagomal) -> str:
    return register(k, kind="berom", text="Personalen var så vänlig mot min mamma.")


def suggestion(k: Klagomal) -> str:
    return register(k, kind="forslag", text="Inför fler bänkar vid äldreboendet.")


def phone_task(k: Klagomal) -> str:
    reference = register(k, contact=Contact(name="Per Holm", phone="070-1234567", preferred="telefon"))
    k.as_user("omar.ali").acknowledge(reference)
    return reference


@attrs.frozen
class Seeded:
    db: str
    main: str  # acknowledged, with a message, a note, attachments, a related case
    fresh: str


def seed(db: str) -> Seeded:
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        main = handling(k)
        omar = k.as_user("omar.ali")
        raw = (
            "From: Eva Svensson <eva@example.se>\nTo: synpunkter@exempelkommun.se\n"
            f"Subject: Re: Besked om ditt ärende {main}\nMessage-ID: <seed-1@example.se>\n"
            "Content-Type: text/plain; charset=utf-8\n\nDet var tredje gången i år.\n"
        ).encode()
        assert k.receive_email(raw).reference == main
        omar.add_note(main, "Ringde Eva, hon vill bli kontaktad efter klockan tre.")
        omar.attach(main, b"Kvitto nr 1\n", filename="kvitto.txt")
        omar.attach(main, b"<html><script>alert(1)</script></html>", filename="sida.txt")
        register(k, text=TEXT)  # the same person and text: a related case
        fresh = register(k, text="Snöröjningen glömde vår gata.")
        return Seeded(db, main, fresh)


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_browser()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Seeded:
    tmp = tmp_path_factory.mktemp("casepage")
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
def as_user(chrome: Any, server: UiServer) -> Iterator[Callable[[str], Any]]:
    """``as_user(id)``: a new page in that user's signed-in browser context."""
    contexts: dict[str, Any] = {}

    def page_for(user: str) -> Any:
        if user not in contexts:
            context = chrome.new_context()
            first = context.new_page()
            login(first, server, user)
            first.close()
            contexts[user] = context
        page = contexts[user].new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        return page

    yield page_for
    for context in contexts.values():
        context.close()


def library(server: UiServer, user: str = "nora.lind") -> Klagomal:
    return Klagomal(server.db, user=user, load_entrypoints=False)


# -- which steps have a form -------------------------------------------------------------------


def facade_steps() -> set[str]:
    """Every facade method that takes ``expected_version``: a step of the routine."""
    return {
        name
        for name, function in inspect.getmembers(Klagomal, inspect.isfunction)
        if not name.startswith("_") and "expected_version" in inspect.signature(function).parameters
    }


def test_every_step_of_the_code_has_a_form_or_a_reason() -> None:
    forms = casepage.step_forms()
    assert set(forms) == set(casepage.STEP_FORMS)
    for step in [*STEPS, *OWN_ROUTES]:
        assert step in forms, f"the API's step {step!r} has no form on the case page"
    methods = {form.method for form in forms.values()}
    for method in facade_steps() | {"register"}:
        assert method in methods or method in casepage.NOT_A_FORM, (
            f"the facade's step {method!r} has no form and is not in NOT_A_FORM"
        )
    for name, reason in casepage.NOT_A_FORM.items():
        assert name not in methods
        assert reason


def test_the_answer_and_inform_forms_leave_room_for_a_phrase_picker() -> None:
    """R23: another page adds phrases above the text the person reads."""
    template = (Path(casepage.__file__).parent / "templates" / "step.html").read_text(encoding="utf-8")
    block = template.index("{% block phrases %}{% endblock %}")
    assert block < template.index("textarea(f.id")
    for step in ("answer", "inform"):
        texts = [f for f in casepage.step_forms()[step].fields if f.id == "text"]
        assert [f.kind for f in texts] == ["textarea"], step


# -- every form, drawn, refused and taken ------------------------------------------------------


@attrs.frozen
class Valid:
    """How to take one step: the case's state, the user, the values (a
    callable gets the case's values as the library gives them) and what
    the library shows afterwards."""

    setup: Callable[[Klagomal], str]
    values: dict[str, Any]
    check: Callable[[Klagomal, str], bool]
    empty_refused: bool = True
    #: Where the browser lands afterwards when not on the case page.
    lands: str | None = None


def _last(k: Klagomal, reference: str) -> str:
    return k.history(reference)[-1].type


VALID: dict[str, Valid] = {
    "acknowledge": Valid(register, {}, lambda k, r: k.get(r).handler == "lena.holm", empty_refused=False),
    "assign": Valid(handling, {"handler": "lena.holm"}, lambda k, r: k.get(r).handler == "lena.holm"),
    "forward": Valid(  # out of the chef's reach: back to Mina ärenden
        register, {"to_unit": "soc-aldre"}, lambda k, r: k.get(r).unit == "soc-aldre", lands="/arenden"
    ),
    "inform": Valid(
        handling, {"text": "Vi har pratat med personalen."}, lambda k, r: _last(k, r) == "informed"
    ),
    "pause": Valid(handling, {"reason": "Väntar på svar."}, lambda k, r: k.get(r).paused_since is not None),
    "resume": Valid(paused, {}, lambda k, r: k.get(r).paused_since is None, empty_refused=False),
    "postpone": Valid(
        handling,
        {
            "respond_by": lambda k, r: (k.get(r).respond_by + dt.timedelta(days=14)).isoformat(),
            "reason": "Vi behöver höra fler.",
        },
        lambda k, r: _last(k, r) == "postponed",
    ),
    "answer": Valid(handling, {"text": "Vi ber om ursäkt."}, lambda k, r: k.get(r).state.value == "besvarat"),
    "action": Valid(handling, {"text": "Nytt schema för tisdagar."}, lambda k, r: k.get(r).actions == 1),
    "close": Valid(answered, {"satisfied": "ja"}, lambda k, r: k.get(r).satisfied is True),
    "escalate": Valid(closed_unhappy, {"reason": "Inte nöjd."}, lambda k, r: int(k.get(r).level) == 2),
    "pass-on": Valid(
        praise, {"recipients": "Hemtjänst Norr", "text": "Tack!"}, lambda k, r: k.get(r).praise_passed_on
    ),
    "guide": Valid(
        handling,
        {"route": "felanmalan", "text": "Felanmäl gatlyktan på webben."},
        lambda k, r: _last(k, r) == "guided",
    ),
    "reclassify": Valid(
        suggestion, {"kind": "berom", "reason": "Det är beröm."}, lambda k, r: k.get(r).kind.value == "berom"
    ),
    "resolve": Valid(register, {"text": "Bad om ursäkt direkt."}, lambda k, r: k.get(r).resolved_at_once),
    "note": Valid(handling, {"text": "Intern anteckning."}, lambda k, r: _last(k, r) == "note_added"),
    "attach": Valid(
        handling,
        {"file": {"name": "brev.txt", "mimeType": "text/plain", "buffer": b"Brevet\n"}},
        lambda k, r: [a.filename for a in k.attachments(r)] == ["brev.txt"],
    ),
    "correct-contact": Valid(
        handling, {"phone": "070-1112233"}, lambda k, r: k.get(r).contact.phone == "070-1112233"
    ),
    "locate": Valid(handling, {"place": "Storgatan 1"}, lambda k, r: k.get(r).location is not None),
    "describe": Valid(
        handling, {"summary": "Utebliven hemtjänst"}, lambda k, r: k.get(r).summary == "Utebliven hemtjänst"
    ),
    "mark-secret": Valid(
        handling, {"ground": "OSL 26 kap. 1 §"}, lambda k, r: k.get(r).secrecy == "OSL 26 kap. 1 §"
    ),
    "publish": Valid(answered, {}, lambda k, r: k.published_case(r) is not None, empty_refused=False),
    "unpublish": Valid(
        published, {"reason": "Personen bad om det."}, lambda k, r: k.published_case(r) is None
    ),
    "lift-secrecy": Valid(secret, {"reason": "Inte längre hemligt."}, lambda k, r: k.get(r).secrecy is None),
    "flag": Valid(
        handling,
        {"kind": "hotfullt", "reason": "Hotade i telefon."},
        lambda k, r: k.get(r).threat_flags == ("hotfullt:kontakt",),
    ),
    "unflag": Valid(flagged, {"reason": "Missförstånd."}, lambda k, r: k.get(r).threat_flags == ()),
    "complete-task": Valid(
        phone_task,
        {"task": "<first>"},
        lambda k, r: not k.outbox(reference=r, statuses=["task"]),
    ),
}


def fill(page: Any, values: dict[str, Any], k: Klagomal, reference: str) -> None:
    """Fill the form as a person would: type, pick, check, choose a file."""
    for name, value in values.items():
        if callable(value):
            value = value(k, reference)
        element = page.locator(f"[name='{name}']").first
        kind = element.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if kind == "input:radio":
            if value == "<first>":
                element.check()
            else:
                page.check(f"input[name='{name}'][value='{value}']")
        elif kind.startswith("select"):
            page.select_option(f"#{name}", value)
        elif kind == "input:checkbox":
            page.check(f"#{name}")
        elif kind == "input:file":
            page.set_input_files(f"#{name}", files=[value])
        else:
            page.fill(f"#{name}", value)


def submit(page: Any) -> Any:
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()
    return page


def test_the_table_of_valid_steps_covers_every_form() -> None:
    assert set(VALID) == set(casepage.step_forms())


@pytest.mark.parametrize("step", list(casepage.STEP_FORMS))
def test_every_step_form_is_drawn_refused_and_taken(
    step: str, server: UiServer, as_user: Callable[[str], Any]
) -> None:
    valid = VALID[step]
    with library(server) as k:
        reference = valid.setup(k)
        before = len(k.history(reference))
    page = as_user("lena.holm")
    try:
        answer = page.goto(f"{server.url}/arenden/{reference}/steg/{step}")
        assert answer.status == 200
        assert page.locator("main form[method=post] input[name=version]").count() == 1
        assert page.locator("main h1").inner_text() == casepage.step_forms()[step].title
        assert_accessible(page, f"the form of {step}")
        if valid.empty_refused:
            with page.expect_navigation() as sent:
                page.locator("main form button[type=submit]").first.click()
            assert sent.value.status in (409, 422), step
            assert page.title().startswith("Fel:")
            assert page.locator(".error-summary a").count() == 1
            assert page.locator("[aria-invalid=true]").count() >= 1
            assert page.locator(".error-message").count() == 1
            if step == "answer":  # what was written is refused: the error is at the text
                assert page.get_attribute("#text", "aria-invalid") == "true"
            assert_accessible(page, f"the form of {step} with an error")
            with library(server) as k:
                assert len(k.history(reference)) == before, "a refused step wrote something"
        with library(server) as k:
            fill(page, valid.values, k, reference)
        submit(page)
        assert page.url.endswith(valid.lands or f"/arenden/{reference}"), page.url
        assert page.locator("[data-flash]").inner_text().strip() == casepage.step_forms()[step].done.format(
            reference=reference
        )
        with library(server) as k:
            assert valid.check(k, reference), f"{step} did not happen"
    finally:
        page.close()


# -- the case page -------------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["omar.ali", "lena.holm", "nora.lind"])
def test_the_case_page_shows_the_case_as_the_user_may_see_it(
    user: str, seeded: Seeded, server: UiServer, as_user: Callable[[str], Any]
) -> None:
    page = as_user(user)
    try:
        answer = page.goto(f"{server.url}/arenden/{seeded.main}")
        assert answer.status == 200
        assert answer.headers["content-security-policy"].startswith("default-src 'none'")
        main = page.locator("main")
        text = main.inner_text()
        with library(server, user) as k:
            case = k.get(seeded.main)
            events = k.history(seeded.main)
            files = k.attachments(seeded.main)
            related = k.related(seeded.main)
            notices = k.notices(seeded.main)
        assert page.title().startswith(f"Ärende {seeded.main}")
        assert case.text in text
        assert "Eva Svensson" in text
        assert "eva@example.se" in text
        assert "Det var tredje gången i år." in text  # the person's message
        assert "Ringde Eva, hon vill bli kontaktad efter klockan tre." in text  # the note
        assert "Omar Ali" in text  # the handler, and the actor in the history
        # the history: one row per event, with the actor
        rows = page.locator("table:has(caption:text('Historik')) tbody tr")
        assert rows.count() == len(events)
        message = next(e for e in events if e.type == "message_received")
        assert "personen" in rows.nth(message.seq - 1).inner_text()  # the message's actor, never a name
        # attachments, letters, related cases
        for f in files:
            assert page.locator(f"a[href='/arenden/{seeded.main}/bilagor/{f.id}']").count() == 1
        for seq, _kind in notices:
            assert page.locator(f"a[href='/arenden/{seeded.main}/brev/{seq}']").count() == 1
        assert related.any
        for r in related.same_person + related.similar:
            assert page.locator(f"main a[href='/arenden/{r.reference}']").count() >= 1
        # the steps: the next one first and highlighted; every link a form
        steps = page.locator("ul.actions a")
        assert steps.count() >= 3
        assert steps.first.get_attribute("href") == f"/arenden/{seeded.main}/steg/answer"
        assert "button--secondary" not in (steps.first.get_attribute("class") or "")
        hrefs = [steps.nth(i).get_attribute("href") for i in range(steps.count())]
        assert (f"/arenden/{seeded.main}/steg/assign" in hrefs) == (user != "omar.ali")
        assert f"/arenden/{seeded.main}/steg/acknowledge" not in hrefs  # not in this state
        assert_accessible(page, f"the case page for {user}")
    finally:
        page.close()


def test_the_case_page_after_a_confirmation_is_accessible(
    server: UiServer, as_user: Callable[[str], Any]
) -> None:
    with library(server) as k:
        reference = handling(k)
    page = as_user("omar.ali")
    try:
        page.goto(f"{server.url}/arenden/{reference}/steg/note")
        page.fill("#text", "Efter bekräftelsen.")
        submit(page)
        assert page.locator("[data-flash]").count() == 1
        assert_accessible(page, "the case page with a confirmation")
    finally:
        page.close()


def test_an_attachment_is_a_download_never_a_page(
    seeded: Seeded, server: UiServer, as_user: Callable[[str], Any]
) -> None:
    with library(server) as k:
        files = {f.filename: f for f in k.attachments(seeded.main)}
    page = as_user("omar.ali")
    try:
        for name, body in (("kvitto.txt", b"Kvitto nr 1\n"), ("sida.txt", None)):
            answer = page.request.get(f"{server.url}/arenden/{seeded.main}/bilagor/{files[name].id}")
            assert answer.status == 200
            headers = answer.headers
            assert headers["content-disposition"].startswith("attachment;")
            assert name in headers["content-disposition"]
            assert headers["x-content-type-options"] == "nosniff"
            assert "sandbox" in headers["content-security-policy"]
            assert headers["x-frame-options"] == "DENY"
            assert "html" not in headers["content-type"]
            if body is not None:
                assert answer.body() == body
        missing = page.request.get(f"{server.url}/arenden/{seeded.main}/bilagor/999999")
        assert missing.status == 404
    finally:
        page.close()


def test_the_letter_is_shown_as_it_is_sent(
    seeded: Seeded, server: UiServer, as_user: Callable[[str], Any]
) -> None:
    with library(server, "omar.ali") as k:
        seq, _kind = k.notices(seeded.main)[0]
        letter = k.letter(seeded.main, seq)
    page = as_user("omar.ali")
    try:
        answer = page.goto(f"{server.url}/arenden/{seeded.main}/brev/{seq}")
        assert answer.status == 200
        assert page.locator("h1").inner_text() == letter.subject
        shown = page.locator(".letter").inner_text()
        assert shown.strip() == letter.text.strip()
        assert page.locator("link[rel=stylesheet][media=print][href='/static/print.css']").count() == 1
        assert_accessible(page, "the letter")
    finally:
        page.close()


def test_a_refused_step_says_why_in_swedish_and_writes_nothing(
    seeded: Seeded, server: UiServer, as_user: Callable[[str], Any]
) -> None:
    with library(server) as k:
        before = len(k.history(seeded.fresh))
    page = as_user("omar.ali")
    try:
        page.goto(f"{server.url}/arenden/{seeded.fresh}/steg/answer")
        page.fill("#text", "Ett svar före beskedet.")
        with page.expect_navigation() as sent:
            page.click("main form button[type=submit]")
        assert sent.value.status == 422
        assert page.title().startswith("Fel: Besvara")
        error = page.locator(".error-summary a").inner_text()
        assert f"Ärende {seeded.fresh}" in error
        assert "steget 'besvara' är inte tillåtet" in error
        assert page.locator("#mode-error").inner_text().endswith(error)
        assert page.get_attribute("#mode", "aria-invalid") == "true"
        assert page.locator("fieldset:has(#mode)").get_attribute("aria-describedby") == "mode-error"
        assert page.input_value("#text") == "Ett svar före beskedet."  # kept
        with library(server) as k:
            assert len(k.history(seeded.fresh)) == before
        # a date that is no date, refused by the form with the case and the step named
        page.goto(f"{server.url}/arenden/{seeded.main}/steg/postpone")
        page.fill("#respond_by", "31/12")
        page.fill("#reason", "Fler ska höras.")
        submit(page)
        assert page.title().startswith("Fel:")
        message = page.locator("#respond_by-error").inner_text()
        assert f"Ärende {seeded.main}" in message
        assert "ÅÅÅÅ-MM-DD" in message
        assert page.get_attribute("#respond_by", "aria-invalid") == "true"
        unknown = page.goto(f"{server.url}/arenden/{seeded.main}/steg/no-such-step")
        assert unknown.status == 404
    finally:
        page.close()


def test_a_conflict_keeps_what_was_written(server: UiServer, as_user: Callable[[str], Any]) -> None:
    with library(server) as k:
        reference = handling(k)
        before = len(k.history(reference))
    first, second = as_user("omar.ali"), as_user("omar.ali")
    try:
        for page in (first, second):
            page.goto(f"{server.url}/arenden/{reference}/steg/note")
        first.fill("#text", "Den första.")
        submit(first)
        second.fill("#text", "Den andra, skriven på en äldre sida.")
        with second.expect_navigation() as sent:
            second.click("main form button[type=submit]")
        assert sent.value.status == 409
        assert second.title().startswith("Fel:")
        assert "har ändrats av någon annan" in second.locator(".error-summary").inner_text()
        assert second.input_value("#text") == "Den andra, skriven på en äldre sida."
        assert_accessible(second, "a conflict")
        with library(server) as k:
            assert len(k.history(reference)) == before + 1
    finally:
        first.close()
        second.close()


def test_a_step_can_be_taken_with_the_keyboard_only(server: UiServer, as_user: Callable[[str], Any]) -> None:
    with library(server) as k:
        reference = handling(k)
    page = as_user("omar.ali")
    target = f"/arenden/{reference}/steg/note"
    try:
        page.goto(f"{server.url}/arenden/{reference}")
        for _i in range(80):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.getAttribute('href')") == target:
                break
        else:
            pytest.fail("the note's link cannot be reached with Tab")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        for _i in range(30):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "text":
                break
        page.keyboard.type("Skriven med tangentbordet.")
        for _i in range(10):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.type") == "submit":
                break
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url.endswith(f"/arenden/{reference}")
        with library(server) as k:
            assert k.history(reference)[-1].data.text == "Skriven med tangentbordet."
    finally:
        page.close()


def test_the_case_page_fits_320_pixels(
    seeded: Seeded, server: UiServer, as_user: Callable[[str], Any]
) -> None:
    page = as_user("omar.ali")
    try:
        page.set_viewport_size({"width": 320, "height": 640})
        for path in (f"/arenden/{seeded.main}", f"/arenden/{seeded.main}/steg/answer"):
            page.goto(server.url + path)
            wide = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert wide <= 0, f"{path} scrolls sideways by {wide} px at 320 px"
    finally:
        page.close()


def test_a_case_of_another_unit_is_not_shown(server: UiServer, as_user: Callable[[str], Any]) -> None:
    with library(server) as k:
        other = k.as_user("kontaktcenter").register(
            kind="klagomal",
            channel="telefon",
            text="Bygglovet dröjer.",
            unit="sbf",
            contact=Contact(name="Ulla"),
        )
    page = as_user("omar.ali")
    try:
        answer = page.goto(f"{server.url}/arenden/{other.reference}")
        assert answer.status == 403
        assert "Ulla" not in page.content()
        assert "Bygglovet" not in page.content()
        answer = page.goto(f"{server.url}/arenden/{other.reference}/steg/note")
        assert answer.status == 403
    finally:
        page.close()


# -- one write on every backend ----------------------------------------------------------------


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_a_step_form_writes_on_every_backend(backend: str, chrome: Any, tmp_path: Path) -> None:
    if BACKENDS[backend] is None:
        db = f"sqlite:///{tmp_path / 'klagomal.db'}"
        admin = None
    else:
        import sqlalchemy as sa

        admin = sa.create_engine(sa.make_url(server_url(backend)), isolation_level="AUTOCOMMIT")
        name = f"klagomal_ui_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        db = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
            k.init()
            reference = register(k)
        running = start_ui(db, tmp_path)
        context = chrome.new_context()
        try:
            page = context.new_page()
            login(page, running, "omar.ali")
            page.goto(f"{running.url}/arenden/{reference}/steg/acknowledge")
            page.fill("#respond_by", (dt.date.today() + dt.timedelta(days=30)).isoformat())
            submit(page)
            assert page.url.endswith(f"/arenden/{reference}")
            with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
                case = k.get(reference)
                assert case.handler == "omar.ali"
                assert case.respond_by == dt.date.today() + dt.timedelta(days=30)
        finally:
            context.close()
            stop_ui(running)
    finally:
        if admin is not None:
            with admin.connect() as conn:
                force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
            admin.dispose()

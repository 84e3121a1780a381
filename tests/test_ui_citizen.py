"""The citizen's web form "Tala om vad du tycker" and its receipt
(klagomal.web.ui.citizen), in a real ``klagomal serve`` and a real chromium:
the form is klagomal.intake.webform's, every field of it drawn; errors are
validate_form's Swedish messages with everything kept; a photo is stored
without its EXIF; a busy database and too many forms give the form back."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from tests.held_lock import held_write_lock
from tests.ui_support import UiServer, assert_accessible, browser, require_browser, served

from klagomal import InvalidInputError, Klagomal
from klagomal.core.photos import HEIF_BRANDS
from klagomal.intake import webform
from klagomal.testing import instance, plugin
from klagomal.web.ui.citizen import shown_fields
from klagomal.web.ui.session import Session, session_config

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

TEXT = "Snöröjningen på <Storgatan> kom aldrig & ingen svarade."


# -- without a server ---------------------------------------------------------------------


def test_the_anonymous_box_is_offered_only_where_a_forvaltning_accepts_it(tmp_path: Path) -> None:
    """R5: by default every field but ``anonym``; with a plugin's
    ``klagomal_allows_anonymous`` for one förvaltning, every field."""
    with instance(tmp_path) as k:
        shown = [f["id"] for f in shown_fields(webform.form_schema(k.organisation, k))]
        assert shown == [f.id for f in webform.fields_for(k.organisation) if f.id != "anonym"]

    def kof_only(channel: Any, department: str) -> bool | None:
        return True if (channel.id, department) == ("webbformular", "kof") else None

    (tmp_path / "kof").mkdir()
    with instance(tmp_path / "kof", plugins=[plugin(klagomal_allows_anonymous=kof_only)]) as k:
        shown = [f["id"] for f in shown_fields(webform.form_schema(k.organisation, k))]
        assert shown == [f.id for f in webform.fields_for(k.organisation)]


def test_check_photos_takes_pictures_within_the_limits_and_refuses_the_rest() -> None:
    from PIL import Image

    jpeg = _jpeg_with_gps()
    (cleaned,) = webform.check_photos([("gatan.jpg", jpeg, "image/jpeg"), ("", b"", None)])
    assert cleaned.media_type == "image/jpeg"
    with Image.open(io.BytesIO(cleaned.data)) as image:
        assert dict(image.getexif()) == {}
    too_many = [(f"{n}.jpg", jpeg, "image/jpeg") for n in range(webform.MAX_PHOTOS + 1)]
    with pytest.raises(InvalidInputError, match=f"högst {webform.MAX_PHOTOS} bilder"):
        webform.check_photos(too_many)
    with pytest.raises(InvalidInputError, match="ingen bild"):
        webform.check_photos([("brev.pdf", b"%PDF-1.4\n", "application/pdf")])
    heic = b"\x00\x00\x00\x18ftyp" + sorted(HEIF_BRANDS)[0] + b"\x00" * 32
    with pytest.raises(InvalidInputError, match="JPEG"):
        webform.check_photos([("IMG_1.heic", heic, None)])


def test_the_session_carries_the_receipt_reference_and_nothing_else_of_the_case() -> None:
    config = session_config({})
    session = attrs.evolve(Session(), receipt="2026-00042")
    value = config.encode(session)
    decoded = config.decode(value)
    assert decoded is not None
    assert decoded.receipt == "2026-00042"
    assert config.decode(config.encode(Session())).receipt is None  # type: ignore[union-attr]


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
    tmp = tmp_path_factory.mktemp("citizen")
    db = f"sqlite:///{tmp / 'klagomal.db'}"
    _init(db)
    with served(db, tmp, demo_login=False, env={"KLAGOMAL_RATE_LIMIT": "av"}) as running:
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


def _submit(page: Any) -> Any:
    """Press Skicka; the response of the page it leads to."""
    with page.expect_navigation() as navigation:
        page.click("form[action='/tyck-till'] button[type=submit]")
    return navigation.value


def _fill_valid(page: Any, *, text: str = TEXT) -> None:
    page.check("input[name=typ][value=klagomal]")
    page.fill("#text", text)
    page.fill("#namn", "Eva Svensson")
    page.fill("#epost", "eva@example.se")


def _reference(page: Any) -> str:
    reference: str = page.inner_text(".panel--confirm .reference").strip()
    return reference


def _words(text: str) -> str:
    """*text* with runs of spaces and line breaks as one space (no-break spaces kept)."""
    return re.sub(r"[ \t\n]+", " ", text).strip()


def _no_horizontal_scroll(page: Any) -> None:
    page.set_viewport_size({"width": 320, "height": 800})
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 320, f"{page.url} is {wide} px wide at 320 px"
    page.set_viewport_size({"width": 1280, "height": 800})


def test_every_field_of_the_module_is_drawn_with_its_label_and_type(
    server: UiServer, library: Klagomal, page: Any
) -> None:
    response = page.goto(server.url + "/tyck-till")
    assert response.status == 200
    assert page.title() == f"{webform.FORM_TITLE} – {library.organisation.name}"
    org = library.organisation
    assert page.text_content(".site-header__name") == (org.profile.logo_text or org.name)
    assert page.locator("nav.site-nav").count() == 0  # no staff navigation
    schema = webform.form_schema(library.organisation, library)
    offered = schema["anonymous_allowed"] or bool(schema["anonymous_units"])
    order = []
    for f in (*webform.fields_for(org), webform.PHOTO_FIELD):
        if f.id == "anonym" and not offered:
            # R5: not offered; the ways to be anonymous are told instead.
            assert page.locator("#anonym").count() == 0
            assert webform.ANONYMOUS_ELSEWHERE in page.inner_text("#kontakt")
            continue
        element = page.locator(f"#{f.id}")
        assert element.count() == 1, f.id
        tag, kind = element.evaluate("e => [e.tagName.toLowerCase(), e.type]")
        if f.type == "radio":
            assert (tag, kind) == ("input", "radio"), f.id
            legend = element.evaluate("e => e.closest('fieldset').querySelector('legend').textContent")
            assert legend == f.label
            for c in f.choices:
                radio = page.locator(f"input[type=radio][name={f.id}][value='{c.value}']")
                label = page.locator(f"label[for='{radio.get_attribute('id')}']").inner_text()
                assert label == c.label
        else:
            expected = {"textarea": ("textarea", "textarea"), "select": ("select", "select-one")}.get(
                f.type, ("input", f.type)
            )
            assert (tag, kind) == expected, f.id
            label = page.locator(f"label[for='{f.id}']").inner_text()
            assert label.startswith(f.label), (f.id, label)
        if f.type == "select":
            values = page.locator(f"#{f.id} option").evaluate_all("os => os.map(o => o.value)")
            assert values == ["", *(c.value for c in webform.unit_choices(library.organisation))]
        if f.help and not f.honeypot:
            assert f.help in page.inner_text("main"), f.id
        if f.max_length and f.max_length >= 1000:
            assert page.locator(f"#{f.id}").get_attribute("maxlength") is None  # never cut pasted text
        if f.honeypot:
            hidden = page.locator(f"#{f.id}")
            assert hidden.get_attribute("tabindex") == "-1"
            wrapper = page.locator(f"[aria-hidden=true]:has(#{f.id})")
            assert wrapper.count() == 1
            assert wrapper.bounding_box()["width"] <= 1  # off screen, not display: none
        order.append(f.id)
    drawn = page.locator("form[action='/tyck-till'] [id]").evaluate_all("es => es.map(e => e.id)")
    # In the module's order, the photos after the text.
    expected_order = [f.id for f in webform.fields_for(org) if f.id in order]
    expected_order.insert(expected_order.index("text") + 1, webform.PHOTO_FIELD.id)
    assert [i for i in drawn if i in order] == expected_order
    heading, *paragraphs = webform.CONSENT_TEXT.split("\n\n")
    assert page.locator("h2#personuppgifter").inner_text() == heading == "Så hanterar vi dina personuppgifter"
    for paragraph in paragraphs:
        assert paragraph in page.inner_text("main")
    assert page.get_attribute("form[action='/tyck-till']", "enctype") == "multipart/form-data"
    assert_accessible(page, "the empty form")
    _no_horizontal_scroll(page)


def test_an_empty_form_gets_every_message_of_validate_form(
    server: UiServer, library: Klagomal, page: Any
) -> None:
    before = len(library.cases())
    page.goto(server.url + "/tyck-till")
    response = _submit(page)
    assert response.status == 400
    assert page.title().startswith("Fel: ")
    expected = webform.validate_form({}, library.organisation, today=library.clock.today())
    assert isinstance(expected, webform.FormErrors)
    assert expected.messages
    summary = page.locator(".error-summary__list a")
    assert summary.evaluate_all("as => as.map(a => [a.getAttribute('href'), a.textContent])") == [
        [f"#{field}", message] for field, message in expected.messages.items()
    ]
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    for field, message in expected.messages.items():
        assert _words(page.locator(f"#{field}-error").text_content()) == f"Fel: {message}"
        target = page.locator(f"#{field}")
        assert target.count() == 1
        if field == "typ":
            # The radios are invalid; their group (the fieldset) is described by the error.
            assert target.get_attribute("aria-invalid") == "true", field
            target = page.locator("fieldset:has(#typ)").last
        else:
            assert target.get_attribute("aria-invalid") == "true", field
        assert f"{field}-error" in (target.get_attribute("aria-describedby") or "").split()
    assert_accessible(page, "the form with every required field empty")
    _no_horizontal_scroll(page)
    assert len(library.cases()) == before  # nothing written


def test_too_long_text_and_a_bad_address_keep_what_was_written(
    server: UiServer, library: Klagomal, page: Any
) -> None:
    before = len(library.cases())
    page.goto(server.url + "/tyck-till")
    long_text = 'Å<&>" ' * 900  # 5 400 characters
    _fill_valid(page, text=long_text)
    page.fill("#epost", "eva@")
    page.fill("#telefon", "08-12 34 56")
    page.select_option("#enhet", "bad")  # Badhuset
    page.check("input[name=kontaktsatt][value=telefon]")
    response = _submit(page)
    assert response.status == 400
    assert page.title().startswith("Fel: ")
    posted = {
        "typ": "klagomal",
        "text": long_text,
        "namn": "Eva Svensson",
        "epost": "eva@",
        "telefon": "08-12 34 56",
        "enhet": "bad",
        "kontaktsatt": "telefon",
    }
    expected = webform.validate_form(posted, library.organisation, today=library.clock.today())
    assert isinstance(expected, webform.FormErrors)
    assert set(expected.messages) == {"text", "epost"}
    for field, message in expected.messages.items():
        assert _words(page.locator(f"#{field}-error").text_content()) == f"Fel: {message}"
    assert "5\xa0000" in expected.messages["text"]
    assert page.input_value("#text") == long_text.strip()
    assert page.input_value("#epost") == "eva@"
    assert page.input_value("#telefon") == "08-12 34 56"
    assert page.input_value("#namn") == "Eva Svensson"
    assert page.input_value("#enhet") == "bad"
    assert page.is_checked("input[name=typ][value=klagomal]")
    assert page.is_checked("input[name=kontaktsatt][value=telefon]")
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert_accessible(page, "the form with a too long text and a bad e-mail address")
    assert len(library.cases()) == before


def _jpeg_with_gps() -> bytes:
    from PIL import Image

    image = Image.new("RGB", (32, 24), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "Fotofon"  # Make
    exif[0x8825] = {1: "N", 2: (59.0, 19.0, 45.48), 3: "E", 4: (18.0, 4.0, 6.96)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get(0x8825) is not None
    return data


def test_a_photo_is_stored_with_the_case_without_its_exif(
    server: UiServer, library: Klagomal, page: Any, tmp_path: Path
) -> None:
    from PIL import Image

    before = len(library.cases())
    page.goto(server.url + "/tyck-till")
    _fill_valid(page)
    heic = tmp_path / "IMG_0001.heic"
    heic.write_bytes(b"\x00\x00\x00\x18ftyp" + sorted(HEIF_BRANDS)[0] + b"\x00" * 32)
    page.set_input_files("#bilder", str(heic))
    response = _submit(page)
    assert response.status == 422
    message = page.inner_text("#bilder-error")
    assert "IMG_0001.heic" in message
    assert "JPEG" in message
    assert webform.PHOTOS_AGAIN in page.inner_text("main")
    assert page.input_value("#text") == TEXT
    assert_accessible(page, "the form with a refused photo")
    assert len(library.cases()) == before  # a refused photo stores nothing

    photo = tmp_path / "gatan.jpg"
    photo.write_bytes(_jpeg_with_gps())
    page.set_input_files("#bilder", str(photo))
    response = _submit(page)
    assert response.status == 200
    assert page.url == server.url + "/tyck-till/tack"
    reference = _reference(page)
    (stored,) = library.attachments(reference, with_data=True)
    assert stored.filename == "gatan.jpg"
    assert stored.content_type == "image/jpeg"
    assert stored.data is not None
    assert b"Exif" not in stored.data
    with Image.open(io.BytesIO(stored.data)) as image:
        assert dict(image.getexif()) == {}
        assert image.size == (32, 24)
    assert library.get(reference).channel == webform.CHANNEL


def _tab_to(page: Any, element_id: str) -> None:
    """Press Tab until *element_id* has the focus (it is reachable by keyboard)."""
    for _press in range(80):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} cannot be reached with Tab")


def test_the_form_can_be_filled_in_and_sent_with_the_keyboard_alone(
    server: UiServer, library: Klagomal, page: Any
) -> None:
    page.goto(server.url + "/tyck-till")
    _tab_to(page, "typ")
    page.keyboard.press("ArrowDown")  # radios: the arrows choose (Förslag)
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Space")
    assert page.is_checked("input[name=typ][value=klagomal]")
    _tab_to(page, "text")
    page.keyboard.type("Gatlyktan vid skolan lyser inte.")
    _tab_to(page, "epost")
    page.keyboard.type("eva@example.se")
    for _press in range(20):  # past the other contact details, optional, to the button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Skicka":
            break
    else:
        raise AssertionError("Skicka cannot be reached with Tab")
    with page.expect_navigation() as navigation:
        page.keyboard.press("Enter")
    assert navigation.value.status == 200
    reference = _reference(page)
    case = library.get(reference)
    assert case.text == "Gatlyktan vid skolan lyser inte."
    assert case.contact is not None
    assert case.contact.email == "eva@example.se"
    expected = webform.receipt(case)
    main = page.inner_text("main")
    for sentence in (expected.thanks, expected.reference_text, *expected.next_steps, expected.receipt_text):
        assert sentence in main
    assert page.title() == f"{webform.RECEIPT_TITLE} – {library.organisation.name}"
    assert page.locator("nav.site-nav").count() == 0
    assert reference not in page.url
    assert_accessible(page, "the receipt")
    _no_horizontal_scroll(page)
    page.reload()
    assert _reference(page) == reference  # the receipt can be reloaded and printed
    page.goto(server.url + "/tyck-till")
    page.goto(server.url + "/tyck-till/tack")
    assert page.locator(".reference").count() == 0  # forgotten once the form is opened again


def test_a_robot_gets_the_thanks_and_nothing_is_stored(
    server: UiServer, library: Klagomal, page: Any
) -> None:
    before = len(library.cases())
    page.goto(server.url + "/tyck-till")
    _fill_valid(page)
    page.evaluate("document.getElementById('webbplats').value = 'http://example.com/'")
    response = _submit(page)
    assert response.status == 200
    assert page.inner_text("h1") == webform.RECEIPT_TITLE
    assert page.locator(".reference").count() == 0
    assert_accessible(page, "the thanks without a receipt")
    assert len(library.cases()) == before


def test_a_form_without_the_session_token_is_kept_and_not_registered(
    server: UiServer, library: Klagomal, page: Any
) -> None:
    before = len(library.cases())
    page.goto(server.url + "/tyck-till")
    _fill_valid(page)
    page.evaluate("document.querySelector('input[name=_csrf]').value = 'fel'")
    response = _submit(page)
    assert response.status == 403
    assert TEXT in page.inner_text("main")
    assert len(library.cases()) == before


def test_registered_busy_and_too_many_on_every_backend(
    chrome: Any, new_database: Callable[[], str], tmp_path: Path
) -> None:
    """On SQLite, PostgreSQL and MariaDB: a form becomes a case of the
    channel webbformular; with the database locked by another transaction
    the form comes back (503, Retry-After, everything kept, nothing stored);
    over ``KLAGOMAL_RATE_LIMIT`` it comes back too (429)."""
    db = new_database()
    _init(db)
    with served(db, tmp_path, demo_login=False, env={"KLAGOMAL_RATE_LIMIT": "3/minute"}) as server:
        k = Klagomal(db, user="system", load_entrypoints=False)
        context = chrome.new_context()
        try:
            page = context.new_page()
            page.goto(server.url + "/tyck-till")
            _fill_valid(page)
            with held_write_lock(db):
                response = _submit(page)
                assert response.status == 503
                assert response.headers["retry-after"] == str(webform.RETRY_AFTER)
            assert webform.BUSY_TEXT in page.inner_text("main")
            assert page.input_value("#text") == TEXT
            assert page.input_value("#epost") == "eva@example.se"
            assert k.cases() == []
            assert_accessible(page, "the form when the database was busy")

            response = _submit(page)  # the same form, sent again
            assert response.status == 200
            reference = _reference(page)
            case = k.get(reference)
            assert (case.text, case.channel, case.kind.value) == (TEXT, "webbformular", "klagomal")
            assert case.contact is not None
            assert case.contact.name == "Eva Svensson"

            page.goto(server.url + "/tyck-till")
            page.fill("#text", "Den tredje.")
            response = _submit(page)  # the third post within the minute
            assert response.status == 400
            response = _submit(page)
            assert response.status == 429
            assert int(response.headers["retry-after"]) >= 1
            assert webform.TOO_MANY_TEXT in page.inner_text("main")
            assert page.input_value("#text") == "Den tredje."
            assert_accessible(page, "the form over the rate limit")
            assert [c.reference for c in k.cases()] == [reference]
        finally:
            context.close()
            k.dispose()


# -- personal data: informed, never asked for consent ---------------------------------------------

#: What the form tells every person about their personal data (GDPR art. 13).
PRIVACY = webform.translated(webform.CONSENT_TEXT).split("\n\n")


def test_the_form_informs_about_personal_data_and_asks_for_no_consent(
    server: UiServer, library: Klagomal, page: Any
) -> None:
    # A kommun handles feedback as a task in the public interest (GDPR art.
    # 6.1 e): consent would suggest it can be withdrawn and the case erased,
    # which archive law does not allow.  The form informs and asks nothing.
    page.goto(server.url + "/tyck-till")
    panel = page.locator("section[aria-labelledby=personuppgifter]")
    assert panel.locator("h2").inner_text() == PRIVACY[0]
    assert [_words(p) for p in panel.locator("p").all_inner_texts()] == PRIVACY[1:]
    main = page.inner_text("main").lower()
    for word in ("samtycke", "godkänn", "medgiv"):
        assert word not in main, word
    assert page.locator(f"#{webform.ACKNOWLEDGEMENT}").count() == 0
    # The information comes before the button that sends.
    assert page.evaluate(
        "document.querySelector('#personuppgifter').compareDocumentPosition("
        "document.querySelector('form button[type=submit]')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    assert_accessible(page, "the form with its information on personal data")
    _fill_valid(page)
    assert _submit(page).status == 200
    assert library.get(_reference(page)).contact is not None


def test_a_kommun_that_asks_has_the_person_tick_that_they_read_the_information(
    chrome: Any, tmp_path: Path
) -> None:
    text = (Path(webform.__file__).parents[1] / "data" / "exempelkommun.toml").read_text(encoding="utf-8")
    org_file = tmp_path / "kommun.toml"
    org_file.write_text(text + "\n[webbformular]\nlasbekraftelse = true\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'klagomal.db'}"
    _init(db)
    env = {"KLAGOMAL_ORG": str(org_file), "KLAGOMAL_RATE_LIMIT": "av"}
    with served(db, tmp_path, demo_login=False, env=env) as ticking:
        context = chrome.new_context()
        try:
            page = context.new_page()
            page.goto(ticking.url + "/tyck-till")
            box = page.locator(f"section[aria-labelledby=personuppgifter] #{webform.ACKNOWLEDGEMENT}")
            assert box.count() == 1
            label = page.inner_text(f"label[for={webform.ACKNOWLEDGEMENT}]")
            assert _words(label) == "Jag har läst hur kommunen hanterar mina personuppgifter"
            _fill_valid(page)
            assert _submit(page).status == 400
            message = "Kryssa i att du har läst hur kommunen hanterar dina personuppgifter."
            assert _words(page.inner_text(f"#{webform.ACKNOWLEDGEMENT}-error")) == f"Fel: {message}"
            assert message in _words(page.inner_text(".error-summary"))
            assert_accessible(page, "the form when the box was not ticked")
            page.check(f"#{webform.ACKNOWLEDGEMENT}")
            assert _submit(page).status == 200
            assert _reference(page)
        finally:
            context.close()


def test_a_kommuns_own_choices_are_offered_in_a_persons_words_and_route_the_case(
    server: UiServer, library: Klagomal, page: Any
) -> None:
    # Exempelkommun's [[webbformular.val]]: services as a person names them,
    # under headings, after "Vet inte"; never the organisation's own units.
    page.goto(server.url + "/tyck-till")
    choices = library.organisation.form_choices
    options = [
        (o.get_attribute("value"), _words(o.inner_text())) for o in page.locator("#enhet option").all()
    ]
    assert options == [("", "Vet inte"), *((c.id, c.label) for c in choices)]
    assert options[1] == ("hemtjanst-norr", "Hemtjänst i norra kommundelen")
    groups = page.locator("#enhet optgroup").evaluate_all("gs => gs.map(g => g.label)")
    assert groups == [
        "Omsorg och stöd",
        "Förskola och skola",
        "Gator, parker och miljö",
        "Kultur och fritid",
        "Kommunen",
    ]
    assert "Löneenheten" not in page.inner_text("#enhet")
    assert page.input_value("#enhet") == ""  # "Vet inte" until the person chooses
    _fill_valid(page)
    page.select_option("#enhet", label="Gator, cykelvägar och snöröjning")
    assert _submit(page).status == 200
    assert library.get(_reference(page)).unit == "sbf-gatapark-gata"

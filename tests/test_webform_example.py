"""The example web form in examples/webform/ works over real HTTP: a person's
feedback becomes a case, mistakes are explained, robots store nothing, and a
busy database gives the person their form back within seconds."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from held_lock import held_write_lock
from klagomal import Contact, Klagomal
from klagomal.core.formats import swedish_date
from klagomal.core.model import Finding
from klagomal.intake import webform
from klagomal.testing import plugin

pytest.importorskip("flask", reason="the example web form needs Flask (pip install flask)")

from werkzeug.serving import make_server  # Flask brings Werkzeug

APP = Path(__file__).parent.parent / "examples" / "webform" / "app.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webform_example_app", APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class Site:
    """The example app served on a free port of 127.0.0.1."""

    def __init__(self, url: str, db_url: str) -> None:
        self.url = url
        self.db_url = db_url

    def get(self) -> tuple[int, str]:
        with urllib.request.urlopen(self.url, timeout=10) as response:
            return response.status, response.read().decode("utf-8")

    def post(self, fields: dict[str, str]) -> tuple[int, str]:
        status, _headers, page = self.send(fields)
        return status, page

    def send(self, fields: dict[str, str]) -> tuple[int, dict[str, str], str]:
        """Post *fields*; the status, the headers and the page."""
        body = urllib.parse.urlencode(fields, encoding="utf-8").encode("ascii")
        request = urllib.request.Request(self.url, data=body, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, dict(exc.headers), exc.read().decode("utf-8")

    def cases(self) -> list[Any]:
        with Klagomal(self.db_url, load_entrypoints=False) as k:
            return [k.get(case.reference) for case in k.cases()]


@contextlib.contextmanager
def serve(tmp_path: Path, plugins: Iterable[object] = (), db_url: str | None = None) -> Iterator[Site]:
    """The example app with *plugins*, on *db_url* (default: a new SQLite
    file), while in the block."""
    db_url = db_url or f"sqlite:///{tmp_path / 'webform.db'}"
    app = _load().create_app(db_url, plugins=plugins, load_entrypoints=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="webform-example", daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}/", db_url)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["klagomal"].dispose()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with serve(tmp_path) as site:
        yield site


FEEDBACK = {
    "typ": "berom",
    "text": "Personalen på Äldreboendet Solgården är så omtänksamma. Stort tack från Åsa!",
    "enhet": "aldreboende",  # Exempelkommun's own answer, routed to Äldreboendet Solgården
    "namn": "Åsa Öberg",
    "epost": "asa.oberg@example.se",
    "kontaktsatt": "epost",
    "webbplats": "",
}


def test_the_form_shows_its_fields_consent_and_hidden_honeypot(site: Site) -> None:
    status, page = site.get()
    assert status == 200
    assert "<h1>Tala om vad du tycker</h1>" in page
    for label in ("Vad vill du lämna?", "Din synpunkt", "Vilken verksamhet gäller det?", "E-postadress"):
        assert label in page
    assert "allmän handling" in page
    assert 'id="webbplats" name="webbplats" value="" tabindex="-1" autocomplete="off"' in page
    assert '<div class="hp" aria-hidden="true">' in page
    assert ".hp { position: absolute; left: -10000px;" in page
    # R5: anonymity is not offered by default, and the other ways are named.
    assert 'name="anonym"' not in page
    assert "lämna ett svarskort" in page


def test_feedback_becomes_a_case_and_the_person_is_thanked(site: Site) -> None:
    status, page = site.post(FEEDBACK)
    assert status == 200
    assert "Tack för att du hör av dig!" in page  # R23
    [case] = site.cases()
    assert f'<strong id="arende">{case.reference}</strong>' in page
    # R7: by when, in the letters' date style ("16 mars 2026", never 2026-03-16), and how.
    assert f"Senast {swedish_date(case.acknowledge_by)} får du besked" in page
    assert str(case.acknowledge_by) not in page
    assert f"Vi tog emot din synpunkt {swedish_date(case.received)}." in page
    assert "<h2>Vad händer nu?</h2>" in page
    assert "Beskedet kommer med e-post till asa.oberg@example.se." in page
    # A kvittens is queued for the e-mail address; without KLAGOMAL_PUBLIC_URL, no link on the page.
    assert '<p id="kvitto">Vi skickar en bekräftelse med ärendenumret till asa.oberg@example.se.' in page
    assert 'id="folj"' not in page
    assert case.channel == "webbformular"
    assert case.kind.value == "berom"
    assert case.unit == "soc-aldre-solgarden"
    assert case.text == FEEDBACK["text"]
    assert case.contact == Contact(name="Åsa Öberg", email="asa.oberg@example.se", preferred="epost")


def test_feedback_without_a_unit_goes_to_the_receiving_unit(site: Site) -> None:
    # [intag] enhet in the organisation file: Exempelkommun's Kontaktcenter forwards it (R12).
    status, _page = site.post({**FEEDBACK, "enhet": ""})
    assert status == 200
    [case] = site.cases()
    assert case.unit == "klf-kontaktcenter"


def test_mistakes_are_explained_and_the_input_kept_escaped(site: Site) -> None:
    text = "<script>alert('hej')</script> Det är fel på gatlyktan vid Storgatan & Ågatan"
    status, page = site.post({**FEEDBACK, "text": text, "epost": "inte-en-adress"})
    assert status == 422
    assert "E-postadressen ser inte ut att stämma. Skriv den som namn@exempel.se." in page
    assert '<a href="#epost">' in page
    assert "<script>alert" not in page
    assert (
        "&lt;script&gt;alert(&#39;hej&#39;)&lt;/script&gt; Det är fel på gatlyktan vid Storgatan &amp; Ågatan"
        in page
    )
    assert 'value="inte-en-adress"' in page
    assert 'value="berom" checked' in page
    assert 'value="aldreboende" selected' in page
    assert site.cases() == []


def test_anonymous_feedback_is_refused_with_the_other_ways(site: Site) -> None:
    fields = {**FEEDBACK, "namn": "", "epost": "", "kontaktsatt": ""}
    status, page = site.post(fields)
    assert status == 422
    assert "Via webbformuläret tar vi inte emot anonyma synpunkter" in page
    assert site.cases() == []


def test_a_robot_gets_the_same_thanks_and_nothing_is_stored(site: Site) -> None:
    status, page = site.post({**FEEDBACK, "webbplats": "http://spam.example/"})
    assert status == 200
    assert "Tack för att du hör av dig!" in page
    assert "ärendenummer" not in page
    assert site.cases() == []


def test_a_forvaltning_that_allows_anonymity_gets_the_box(tmp_path: Path) -> None:
    # R5: klagomal_allows_anonymous changes the default for one förvaltning.
    def kof(channel: Any, department: str) -> bool | None:
        return True if department == "kof" else None

    with serve(tmp_path, [plugin(klagomal_allows_anonymous=kof)]) as site:
        _status, page = site.get()
        assert 'name="anonym" value="ja"' in page
        anonymous = {"typ": "forslag", "text": "Öppna badhuset tidigare!", "anonym": "ja"}
        status, page = site.post({**anonymous, "enhet": "bad"})
        assert status == 200
        assert "ärendenummer" in page
        assert "får du besked" not in page  # nobody to tell (R5)
        status, page = site.post({**anonymous, "enhet": "soc-aldre-solgarden"})
        assert status == 422
        assert "Det går inte att lämna en anonym synpunkt via webbformuläret." in page
        [case] = site.cases()
        assert case.anonymous
        assert case.unit == "kof-badhus"


def test_a_refusal_at_registration_is_shown_above_the_form(tmp_path: Path) -> None:
    def no_adverts(intake: Any) -> list[Finding]:
        return [Finding.rejection("reklam <tas> inte emot")] if "köp nu" in intake.text.lower() else []

    with serve(tmp_path, [plugin("reklamfilter", klagomal_validate_intake=no_adverts)]) as site:
        status, page = site.post({**FEEDBACK, "text": "Köp nu!"})
        assert status == 422
        assert "Vi kunde inte ta emot synpunkten: reklam &lt;tas&gt; inte emot" in page
        assert 'value="asa.oberg@example.se"' in page
        assert site.cases() == []


def test_a_busy_database_gives_the_form_back_with_everything_written(tmp_path: Path, any_db_url: str) -> None:
    # Another transaction holds the write lock (a long import, a backup) and
    # does not let go.  The person gets, within seconds, the form with what
    # they wrote and a Swedish "try again", as a 503 with Retry-After; nothing
    # is stored, and the same form sent again once the lock is gone is.
    text = "Ingen kom på tisdagen & <ingen> ringde. Det här har jag skrivit länge på!"
    fields = {**FEEDBACK, "text": text, "telefon": "070-123 45 67"}
    with serve(tmp_path, db_url=any_db_url) as site:
        with held_write_lock(any_db_url):
            start = time.monotonic()
            status, headers, page = site.send(fields)
            waited = time.monotonic() - start
        assert status == 503
        assert waited < webform.LOCK_WAIT + 3, waited
        assert headers["Retry-After"] == str(webform.RETRY_AFTER)
        assert "Försök igen om en stund" in page
        assert "försök igen om en stund genom att trycka på Skicka" in page
        assert (
            "Ingen kom på tisdagen &amp; &lt;ingen&gt; ringde. Det här har jag skrivit länge på!</textarea>"
            in page
        )
        for kept in ('value="berom" checked', 'value="aldreboende" selected', 'value="Åsa Öberg"'):
            assert kept in page
        assert 'value="asa.oberg@example.se"' in page
        assert 'value="070-123 45 67"' in page
        assert 'id="kontaktsatt-epost" name="kontaktsatt" value="epost" checked' in page
        assert site.cases() == []
        status, page = site.post(fields)
        assert status == 200
        [case] = site.cases()
        assert case.text == text
        assert f'<strong id="arende">{case.reference}</strong>' in page

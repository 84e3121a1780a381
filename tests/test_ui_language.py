"""The citizen's language on the web interface (lag 2009:724): a citizen
who chooses English reads the form, the receipt and (through the case's
language) the letters in English; staff pages stay Swedish.  Against
``klagomal serve`` running as a process.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator

import pytest
from tests.test_ui_login import Client
from tests.ui_support import UiServer, start_ui, stop_ui

from klagomal import Klagomal
from klagomal.core.i18n import available_languages

pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")

from klagomal.web.ui.language import COOKIE


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    tmp = tmp_path_factory.mktemp("ui-language")
    db = f"sqlite:///{tmp / 'k.db'}"
    with Klagomal(db, user="nora.lind") as k:
        k.init()
    started = start_ui(db, tmp)
    yield started
    stop_ui(started)


def _token(body: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', body)
    assert found, body[:500]
    return found.group(1)


def test_every_language_but_the_current_is_offered_on_the_citizens_pages(server: UiServer) -> None:
    assert set(available_languages()) >= {"sv", "en"}
    client = Client(server.url)
    _status, _headers, body = client.request("GET", "/tyck-till")
    assert '<html lang="sv">' in body
    for code, name in available_languages().items():
        link = f'<a href="/sprak/{code}?tillbaka=/tyck-till" lang="{code}" hreflang="{code}">{name}</a>'
        assert (link in body) == (code != "sv"), code


def test_a_citizen_reads_the_form_and_the_receipt_in_english_and_the_case_keeps_it(server: UiServer) -> None:
    client = Client(server.url)
    status, headers, _body = client.request("GET", "/sprak/en?tillbaka=%2Ftyck-till")
    assert status == 303
    assert headers["location"] == "/tyck-till"
    assert client.cookies[COOKIE] == "en"
    _status, _headers, body = client.request("GET", "/tyck-till")
    assert '<html lang="en">' in body
    assert "<title>Tell us what you think" in body
    assert 'lang="sv" hreflang="sv">svenska</a>' in body
    form = {
        "_csrf": _token(body),
        "typ": "klagomal",
        "text": "The home help did not come on Tuesday.",
        "namn": "Ann Smith",
        "epost": "ann@example.se",
    }
    status, headers, _body = client.request("POST", "/tyck-till", form)
    assert status == 303, _body[:2000]
    _status, _headers, body = client.request("GET", headers["location"])
    assert '<html lang="en">' in body
    reference = re.search(r'class="reference">\s*([0-9]{4}-[0-9]{5})', body)
    assert reference is not None, body[:3000]
    with Klagomal(server.db, user="nora.lind") as k:
        case = k.get(reference.group(1))
    assert case.language == "en"
    assert "We received your feedback" in body


def test_staff_pages_stay_swedish_whatever_the_cookie_says(server: UiServer) -> None:
    client = Client(server.url)
    client.request("GET", "/sprak/en")
    status, _headers, body = client.request("GET", "/logga-in")
    assert status == 200
    assert client.cookies[COOKIE] == "en"
    # The login is for anyone, so it follows the choice; Mina ärenden does not.
    token = _token(body)
    status, _headers, _body = client.request("POST", "/logga-in", {"_csrf": token, "anvandare": "omar.ali"})
    assert status == 303
    _status, _headers, body = client.request("GET", "/arenden")
    assert '<html lang="sv">' in body
    assert "Mina ärenden" in body


@pytest.mark.parametrize(
    ("target", "back"),
    [("//evil.example/", "/tyck-till"), ("https://evil.example/", "/tyck-till"), ("/folj/x", "/folj/x")],
)
def test_the_choice_goes_back_only_to_a_page_of_klagomal(server: UiServer, target: str, back: str) -> None:
    client = Client(server.url)
    status, headers, _body = client.request(
        "GET", "/sprak/en?" + urllib.parse.urlencode({"tillbaka": target})
    )
    assert status == 303
    assert headers["location"] == back


def test_an_unknown_language_sets_nothing(server: UiServer) -> None:
    client = Client(server.url)
    status, _headers, _body = client.request("GET", "/sprak/xx")
    assert status == 303
    assert COOKIE not in client.cookies

"""Open311 GeoReport v2 end to end (docs/open311.md, issue 21 item 4):
``klagomal serve`` as a real process on loopback, on SQLite and PostgreSQL
(and MariaDB when configured), called with the standard library's HTTP
client as the spec's examples do: discovery, services, a service
definition, POST requests, the token, GET by id and the list by date, in
JSON and XML (read with :mod:`xml.etree`).

What the public may see (R27): a secret case's and a protected person's
texts and places never come out of any Open311 route, enumerated from the
application; the 90-day window; the rate limit's 429; the channel
``open311`` and its anonymity policy (R4, R5).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import BACKENDS, server_url

import klagomal
from klagomal import Klagomal
from klagomal.core.errors import ConfigurationError, OrganisationError
from klagomal.core.location import Location
from klagomal.core.model import Contact, Kind
from klagomal.core.organisation import parse_organisation
from klagomal.storage.tables import audit_log

pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")

from tests.test_web_server import launch

from klagomal.web.app import create_app
from klagomal.web.open311 import DEFAULT_WINDOW, PREFIX, Open311Error, token_of, unknown, window
from klagomal.web.ratelimit import parse_rate_limit

HEMTJANST = "soc-aldre-hemtjanst-norr"

#: What must never leave through Open311: the secret case's and the
#: protected person's words and places, and the ordinary case's personal data.
SECRET_SUMMARY = "KANARIE-HEMLIG-BESKRIVNING"
SECRET_TEXT = "KANARIE-HEMLIG-TEXT"
PART_SECRET_SUMMARY = "KANARIE-DELHEMLIG-BESKRIVNING"
PROTECTED_NAME = "Petra Skyddadsson"
PROTECTED_SUMMARY = "KANARIE-SKYDDAD-BESKRIVNING"
PROTECTED_TEXT = "KANARIE-SKYDDAD-TEXT"
SECRET_PLACE = (58.7654321, 16.1234567)
PROTECTED_PLACE = (59.1234567, 17.7654321)
PART_SECRET_PLACE = (57.7111111, 12.9111111)
NEVER = [
    SECRET_SUMMARY,
    SECRET_TEXT,
    PART_SECRET_SUMMARY,
    PROTECTED_NAME,
    "Skyddadsson",
    PROTECTED_SUMMARY,
    PROTECTED_TEXT,
    "Hemliga vägen",
    *(str(v) for place in (SECRET_PLACE, PROTECTED_PLACE, PART_SECRET_PLACE) for v in place),
    # the ordinary case's personal data, masked in its description
    "Svensson",
    "070-123 45 67",
    "Storgatan 12",
    # nobody's text is published: only the register description
    "Lampan har varit trasig",
]


@attrs.frozen
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def xml(self) -> ET.Element:
        return ET.fromstring(self.body)


@attrs.frozen
class World:
    """A running server with its cases: ``refs`` by role (ordinary, secret, ...)."""

    base: str
    db: str
    key: str
    refs: dict[str, str]
    process: subprocess.Popen[bytes]

    def call(
        self,
        method: str,
        path: str,
        form: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        return http(method, self.base + path, form, headers)


def http(
    method: str, url: str, form: dict[str, Any] | None = None, sent: dict[str, str] | None = None
) -> Answer:
    data = None
    headers = dict(sent or {})
    if form is not None:
        data = urllib.parse.urlencode(form, doseq=True).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(
                response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
            )
    except urllib.error.HTTPError as error:
        return Answer(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


def serve(db: str, tmp: Path, rate_limit: str, **env: str) -> tuple[str, subprocess.Popen[bytes]]:
    """Start ``klagomal serve`` on *db* with the rate limit *rate_limit*."""
    return launch(db, tmp, {"KLAGOMAL_RATE_LIMIT": rate_limit, **env})


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:  # pragma: no cover
        process.kill()
        process.wait()


def seed(db: str) -> tuple[str, dict[str, str]]:
    """Initialise *db*, make omar.ali's key, and register the cases."""
    today = dt.date.today()
    refs: dict[str, str] = {}
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        key = k.create_api_key("omar.ali", "FixaMinGata")[1]

        def case(name: str, text: str, summary: str, place: tuple[float, float] | None = None,
                 received: dt.date | None = None, contact: Contact | None = None) -> str:  # fmt: skip
            location = None if place is None else Location(latitude=place[0], longitude=place[1])
            found = k.register(
                kind="klagomal", channel="telefon", unit=HEMTJANST, text=text, contact=contact,
                dimensions=("bemotande",), location=location, received=received or today,
            )  # fmt: skip
            k.describe(found.reference, summary)
            refs[name] = found.reference
            return found.reference

        case(
            "ordinary",
            "Lampan har varit trasig i en vecka.",
            "Anna Svensson ringde från 070-123 45 67 om gatlampan vid Storgatan 12",
            (59.3293, 18.0686),
            contact=Contact(name="Anna Svensson", phone="070-123 45 67"),
        )
        secret = case("secret", SECRET_TEXT, SECRET_SUMMARY, SECRET_PLACE)
        k.mark_secret(secret, "OSL 26 kap. 1 §", reason="Uppgifter om hälsa")
        part = case("part_secret", "Vanlig text.", PART_SECRET_SUMMARY, PART_SECRET_PLACE)
        k.mark_secret(part, "OSL 26 kap. 1 §", parts=(1,), reason="Registreringen")
        case(
            "protected",
            PROTECTED_TEXT,
            PROTECTED_SUMMARY,
            PROTECTED_PLACE,
            contact=Contact(name=PROTECTED_NAME, address="Hemliga vägen 3", protected=True),
        )
        case("old", "Gammalt ärende.", "Ett gammalt ärende", received=today - dt.timedelta(days=200))
        case("closed", "Avslutat ärende.", "Ett avslutat ärende")
        k.resolve_at_once(refs["closed"], "Åtgärdat direkt.", "Omar Ali")
    return key, refs


@pytest.fixture(scope="module", params=list(BACKENDS))
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    backend: str = request.param
    tmp = tmp_path_factory.mktemp(f"open311-{backend}")
    admin = None
    if BACKENDS[backend] is None:
        db = f"sqlite:///{tmp / 'klagomal.db'}"
    else:
        admin = sa.create_engine(sa.make_url(server_url(backend)), isolation_level="AUTOCOMMIT")
        name = f"klagomal_open311_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        db = admin.url.set(database=name).render_as_string(hide_password=False)
    key, refs = seed(db)
    base, process = serve(db, tmp, "100000/minute")
    try:
        yield World(base, db, key, refs, process)
    finally:
        stop(process)
        if admin is not None:
            with admin.connect() as conn:
                force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
            admin.dispose()


def _is_open311_error(answer: Answer, status: int, fmt: str = "json") -> str:
    """The Swedish description of an Open311 error answer of *status*."""
    assert answer.status == status, answer.body
    if fmt == "xml":
        errors = answer.xml()
        assert errors.tag == "errors"
        (error,) = errors.findall("error")
        assert error.findtext("code") == str(status)
        description = error.findtext("description") or ""
    else:
        (error,) = answer.json()
        assert error["code"] == status
        description = error["description"]
    assert description
    assert re.search(r"[a-zåäö]", description)
    return description


# -- discovery and services --------------------------------------------------------------------------


def test_discovery_names_the_endpoint_in_both_formats(world: World) -> None:
    found = world.call("GET", f"{PREFIX}/discovery.json").json()
    (endpoint,) = found["endpoints"]
    assert endpoint["url"] == f"{world.base}{PREFIX}/v2"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert set(endpoint["formats"]) == {"application/json", "text/xml"}
    root = world.call("GET", f"{PREFIX}/discovery.xml").xml()
    assert root.tag == "discovery"
    assert root.findtext("endpoints/endpoint/url") == endpoint["url"]
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == endpoint["formats"]


def _expected_services(world: World) -> set[str]:
    with Klagomal(world.db, load_entrypoints=False) as k:
        dimensions = list(k.dimensions)
    return {kind.value for kind in Kind} | {f"{kind.value}.{d}" for kind in Kind for d in dimensions}


def test_services_are_each_kind_and_each_dimension_under_it(world: World) -> None:
    found = world.call("GET", f"{PREFIX}/v2/services.json").json()
    assert {s["service_code"] for s in found} == _expected_services(world)
    assert all(s["metadata"] is True and s["type"] == "realtime" and s["service_name"] for s in found)
    root = world.call("GET", f"{PREFIX}/v2/services.xml").xml()
    assert root.tag == "services"
    assert {s.findtext("service_code") for s in root.findall("service")} == _expected_services(world)


def test_every_service_has_a_definition_with_attributes(world: World) -> None:
    codes = [s["service_code"] for s in world.call("GET", f"{PREFIX}/v2/services.json").json()]
    for code in codes:
        found = world.call("GET", f"{PREFIX}/v2/services/{code}.json").json()
        assert found["service_code"] == code
        attributes = {a["code"]: a for a in found["attributes"]}
        assert "enhet" in attributes
        assert ("dimension" in attributes) == ("." not in code)
        for attribute in found["attributes"]:
            assert {"variable", "code", "datatype", "required", "datatype_description", "order"} <= set(
                attribute
            )
            assert attribute["datatype"] in ("singlevaluelist", "multivaluelist")
            assert all({"key", "name"} == set(v) for v in attribute["values"])
        assert HEMTJANST in {v["key"] for v in attributes["enhet"]["values"]}
        root = world.call("GET", f"{PREFIX}/v2/services/{code}.xml").xml()
        assert root.tag == "service_definition"
        assert [a.findtext("code") for a in root.findall("attributes/attribute")] == list(attributes)
        assert {v.findtext("key") for v in root.findall("attributes/attribute/values/value")} >= {HEMTJANST}
    _is_open311_error(world.call("GET", f"{PREFIX}/v2/services/nej.json"), 404)
    _is_open311_error(world.call("GET", f"{PREFIX}/v2/services/klagomal.html"), 404)


# -- the round trip ---------------------------------------------------------------------------------------


def _post(world: World, fmt: str = "json", headers: dict[str, str] | None = None, **changes: Any) -> Answer:
    """POST requests as the spec's example does (with *headers*)."""
    form: dict[str, Any] = {
        "api_key": world.key,
        "jurisdiction_id": "exempelkommun",
        "service_code": "klagomal.bemotande",
        "lat": "59.3326",
        "long": "18.0649",
        "address_string": "Drottninggatan 1, Exempelstad",
        "email": "kalle@example.se",
        "device_id": "enhet-1",
        "first_name": "Kalle",
        "last_name": "Anka",
        "phone": "070-111 22 33",
        "description": "Personalen var otrevlig vid besöket.",
        "media_url": "https://example.se/bild.jpg",
        "attribute[enhet]": HEMTJANST,
    }
    form.update(changes)
    return world.call(
        "POST", f"{PREFIX}/v2/requests.{fmt}", {k: v for k, v in form.items() if v is not None}, headers
    )


def test_a_request_posted_can_be_followed_by_token_id_and_date(world: World) -> None:
    answer = _post(world)
    assert answer.status == 200, answer.body
    (posted,) = answer.json()
    reference, token = posted["service_request_id"], posted["klagomal_token"]
    # The spec: a token only where there is no id yet; klagomal's is an extension.
    assert "token" not in posted
    # The token stands for the id.
    (by_token,) = world.call("GET", f"{PREFIX}/v2/tokens/{token}.json").json()
    assert by_token == {"service_request_id": reference, "token": token}
    root = world.call("GET", f"{PREFIX}/v2/tokens/{token}.xml").xml()
    assert root.findtext("request/service_request_id") == reference
    # By id, in both formats.
    (found,) = world.call("GET", f"{PREFIX}/v2/requests/{reference}.json").json()
    today = dt.date.today()
    assert found["service_request_id"] == reference
    assert found["status"] == "open"
    assert found["service_code"] == "klagomal.bemotande"
    assert found["agency_responsible"] == "Socialförvaltningen"
    assert found["requested_datetime"].startswith(today.isoformat())
    assert found["lat"] == pytest.approx(59.3326)
    assert found["long"] == pytest.approx(18.0649)
    assert found["address"] == "Drottninggatan 1, Exempelstad"
    assert found["klagomal_kind"] == "klagomal"
    assert found["klagomal_level"] == 1
    assert found["status_notes"].startswith("Registrerat")
    # The person's own words and who they are stay in klagomal.
    assert "otrevlig" not in answer.body.decode() + json.dumps(found)
    assert "Kalle" not in json.dumps(found)
    root = world.call("GET", f"{PREFIX}/v2/requests/{reference}.xml").xml()
    assert root.tag == "service_requests"
    assert {child.tag: child.text for child in root.find("request")} == {  # type: ignore[union-attr]
        key: (None if value in (None, "") else str(value)) for key, value in found.items()
    }
    # In the list of the window.
    listed = world.call(
        "GET", f"{PREFIX}/v2/requests.json?start_date={today.isoformat()}T00:00:00%2B01:00"
    ).json()
    assert reference in [r["service_request_id"] for r in listed]
    # In klagomal: the case, registered through the channel open311 by the key's user.
    with Klagomal(world.db, user="nora.lind", load_entrypoints=False) as k:
        case = k.get(reference)
        assert case.channel == "open311"
        assert case.unit == HEMTJANST
        assert case.dimensions == ("bemotande",)
        assert case.contact == Contact(name="Kalle Anka", email="kalle@example.se", phone="070-111 22 33")
        assert case.location is not None
        assert case.location.address == "Drottninggatan 1, Exempelstad"
        assert "https://example.se/bild.jpg" in case.text
        engine = sa.create_engine(world.db)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(audit_log.c.user_id).where(
                    audit_log.c.reference == reference, audit_log.c.action == "registrera"
                )
            ).all()
        engine.dispose()
    assert [row.user_id for row in rows] == ["omar.ali"]


def test_a_post_answered_in_xml(world: World) -> None:
    answer = _post(world, "xml")
    assert answer.headers["content-type"] == "text/xml; charset=utf-8"
    root = answer.xml()
    assert root.tag == "service_requests"
    reference = root.findtext("request/service_request_id")
    assert reference
    assert root.findtext("request/klagomal_token") == token_of(reference)
    assert root.find("request/token") is None


def test_open311_clients_may_post_anonymously(world: World) -> None:
    # R5: the channel's policy accepts a report without name, e-mail or phone.
    with Klagomal(world.db, load_entrypoints=False) as k:
        assert k.channels["open311"].allows_anonymous is True
        assert k.channels["open311"].label == "Open311 (FixaMinGata m.fl.)"
    answer = _post(world, first_name=None, last_name=None, email=None, phone=None)
    assert answer.status == 200, answer.body
    (posted,) = answer.json()
    with Klagomal(world.db, user="nora.lind", load_entrypoints=False) as k:
        case = k.get(posted["service_request_id"])
    assert case.anonymous
    assert case.channel == "open311"


def _count(world: World) -> int:
    with Klagomal(world.db, user="nora.lind", load_entrypoints=False) as k:
        return len(k.cases())


@pytest.mark.parametrize(
    ("changes", "status", "words"),
    [
        ({"api_key": None}, 403, "api_key saknas"),
        ({"api_key": "inte-en-nyckel"}, 403, "okänd"),
        ({"service_code": "nej"}, 400, "tjänsten 'nej'"),
        ({"service_code": None}, 400, "service_code saknas"),
        ({"description": None}, 400, "description saknas"),
        ({"lat": None, "long": None, "address_string": None}, 400, "lat och long"),
        ({"lat": "norr"}, 400, "latitud"),
        ({"lat": "40.7", "long": "-74.0"}, 400, ""),
        ({"attribute[enhet]": "nej"}, 400, "enheten 'nej'"),
        ({"attribute[farg]": "röd"}, 400, "attribut 'farg'"),
        ({"media_url": "file:///etc/passwd"}, 400, "media_url"),
        ({"jurisdiction_id": "annanstad"}, 404, "annanstad"),
    ],
)
def test_a_refused_post_is_an_open311_error_and_registers_nothing(
    world: World, changes: dict[str, Any], status: int, words: str
) -> None:
    before = _count(world)
    for fmt in ("json", "xml"):
        description = _is_open311_error(_post(world, fmt, **changes), status, fmt)
        assert words.lower() in description.lower()
    assert _count(world) == before


# -- retries with Idempotency-Key ---------------------------------------------------------------------


def _cases_in_database(world: World) -> int:
    engine = sa.create_engine(world.db)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM cases")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_retry_with_the_same_idempotency_key_registers_one_case(world: World, fmt: str) -> None:
    key = {"Idempotency-Key": f"fixamingata-{fmt}-{uuid.uuid4()}"}
    before = _cases_in_database(world)
    first = _post(world, fmt, key)
    assert first.status == 200, first.body
    assert "idempotent-replayed" not in first.headers
    assert _cases_in_database(world) == before + 1
    # The retry: the first answer, byte for byte, and no second case.
    for _retry in range(2):
        again = _post(world, fmt, key)
        assert (again.status, again.body) == (first.status, first.body)
        assert again.headers["content-type"] == first.headers["content-type"]
        assert again.headers["idempotent-replayed"] == "true"
    assert _cases_in_database(world) == before + 1
    # The same key with another request: another form, or the other format.
    other_fmt = "xml" if fmt == "json" else "json"
    for answer, answered_in in (
        (_post(world, fmt, key, description="Något helt annat."), fmt),
        (_post(world, other_fmt, key), other_fmt),
    ):
        description = _is_open311_error(answer, 422, answered_in)
        assert key["Idempotency-Key"] in description
        assert "annan begäran" in description
        assert answered_in in answer.headers["content-type"]
    assert _cases_in_database(world) == before + 1
    # Without the key, every POST is a case, as before.
    assert _post(world, fmt).body != _post(world, fmt).body
    assert _cases_in_database(world) == before + 3


def test_an_idempotency_key_is_the_callers_own(world: World) -> None:
    key = {"Idempotency-Key": f"delad-{uuid.uuid4()}"}
    with Klagomal(world.db, user="nora.lind", load_entrypoints=False) as k:
        other_key = k.create_api_key("kontaktcenter", "Annan Open311-klient")[1]
    before = _cases_in_database(world)
    mine = _post(world, "json", key)
    theirs = _post(world, "json", key, api_key=other_key)
    assert mine.status == theirs.status == 200, theirs.body
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()[0]["service_request_id"] != theirs.json()[0]["service_request_id"]
    assert _cases_in_database(world) == before + 2
    # One key of the caller on both faces: taken by the JSON API, refused by Open311.
    shared = {"Idempotency-Key": f"bada-ytorna-{uuid.uuid4()}"}
    body = {"kind": "klagomal", "channel": "telefon", "text": "Via JSON-API:t.", "unit": HEMTJANST}
    request = urllib.request.Request(
        f"{world.base}/api/v1/cases",
        data=json.dumps(body).encode(),
        method="POST",
        headers={**shared, "Authorization": f"Bearer {world.key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
    assert "annan begäran" in _is_open311_error(_post(world, "json", shared), 422)
    assert _cases_in_database(world) == before + 3


def test_a_refused_post_with_an_idempotency_key_keeps_nothing(world: World) -> None:
    before = _cases_in_database(world)
    key = {"Idempotency-Key": f"rattad-{uuid.uuid4()}"}
    # Bad input is refused before the key is used: the corrected request may have it.
    _is_open311_error(_post(world, "json", key, description=None), 400)
    assert _post(world, "json", key).status == 200
    assert _cases_in_database(world) == before + 1
    for bad in ("x" * 201, "med\tflik"):
        for fmt in ("json", "xml"):
            answer = _post(world, fmt, {"Idempotency-Key": bad})
            assert "Idempotency-Key" in _is_open311_error(answer, 422, fmt)
    assert _cases_in_database(world) == before + 1


# -- unknown addresses -----------------------------------------------------------------------------------

UNKNOWN = [
    "",
    "/",
    "/v2",
    "/v2/",
    "/v2/nothing.json",
    "/v2/nothing.xml",
    "/v2/services",
    "/v2/services/klagomal.json/more.xml",
    "/v2/requests",
    "/v2/requests/ABC.json/x",
    "/v2/tokens",
    "/v2/services.json/x.xml",
    "/discovery.json/x",
    "/v3/requests.json",
    "/v3/requests.xml",
    "/open311/v2/services.xml",
]


def test_an_unknown_address_is_an_open311_404(world: World) -> None:
    for path in UNKNOWN:
        fmt = "xml" if path.endswith(".xml") else "json"
        media = "text/xml; charset=utf-8" if fmt == "xml" else "application/json; charset=utf-8"
        for method in ("GET", "POST", "DELETE"):
            form = {"api_key": world.key} if method == "POST" else None
            answer = world.call(method, PREFIX + path, form)
            description = _is_open311_error(answer, 404, fmt)
            assert answer.headers["content-type"] == media, (method, path, answer.headers)
            assert "discovery.json" in description
            assert PREFIX + path.rstrip("/") in description
    # The real routes are still there, and the JSON API keeps its own 404.
    assert world.call("GET", f"{PREFIX}/v2/services.json").status == 200
    assert world.call("GET", f"{PREFIX}/v2/services/klagomal.xml").status == 200
    outside = world.call("GET", "/api/v1/nothing")
    assert (outside.status, outside.headers["content-type"]) == (404, "application/problem+json")
    # Open311 is not in the JSON API's OpenAPI document, the unknown addresses neither.
    schema = world.call("GET", "/api/openapi.json").json()
    assert not [path for path in schema["paths"] if path.startswith(PREFIX) or "{path}" in path]


# -- what the public may see ---------------------------------------------------------------------------


def _get_routes() -> list[str]:
    """Every GET route of Open311, read from the application; the only
    other one is POST requests, which answers an id and no case.  The
    routes of unknown addresses answer a 404 and nothing else (tested in
    :func:`test_an_unknown_address_is_an_open311_404`)."""
    with Klagomal("sqlite://", load_entrypoints=False) as k:
        app = create_app(k)
        routes = {
            route.path: {
                method
                for handler in getattr(route, "route_handlers", ())
                if handler.fn is not unknown
                for method in handler.http_methods
            }
            - {"HEAD", "OPTIONS"}
            for route in app.routes
            if route.path.startswith(PREFIX)
        }
        routes = {path: methods for path, methods in routes.items() if methods}
    others = {path: methods - {"GET"} for path, methods in routes.items() if methods - {"GET"}}
    assert others == {f"{PREFIX}/v2/requests.json": {"POST"}, f"{PREFIX}/v2/requests.xml": {"POST"}}
    return sorted(path for path, methods in routes.items() if "GET" in methods)


def _urls(world: World, path: str) -> list[str]:
    """Concrete URLs of the route *path* that touch every case."""
    refs = list(world.refs.values())
    if path.endswith("/services/{name:str}"):
        return [path.replace("{name:str}", f"klagomal.bemotande.{fmt}") for fmt in ("json", "xml")]
    if path.endswith("/requests/{name:str}"):
        return [path.replace("{name:str}", f"{ref}.{fmt}") for ref in refs for fmt in ("json", "xml")]
    if path.endswith("/tokens/{name:str}"):
        return [
            path.replace("{name:str}", f"{token_of(ref)}.{fmt}") for ref in refs for fmt in ("json", "xml")
        ]
    assert "{" not in path, f"a new Open311 route: {path}; add it to this test"
    if "/requests." in path:
        old = (dt.date.today() - dt.timedelta(days=210)).isoformat()
        later = (dt.date.today() - dt.timedelta(days=130)).isoformat()
        return [
            path,
            f"{path}?service_request_id={','.join(refs)}",
            f"{path}?start_date={old}T00:00:00Z&end_date={later}T00:00:00Z",
            f"{path}?status=open,closed&service_code=klagomal,klagomal.bemotande",
        ]
    return [path]


def test_no_open311_route_shows_a_secret_or_protected_part(world: World) -> None:
    routes = _get_routes()
    assert len(routes) >= 7, (
        routes
    )  # discovery, services, a service, requests, a request, a token (json, xml)
    shown: dict[str, dict[str, Any]] = {}
    for route in routes:
        for url in _urls(world, route):
            answer = world.call("GET", url)
            assert answer.status == 200, (url, answer.body)
            text = answer.body.decode()
            leaked = [canary for canary in NEVER if canary in text]
            assert not leaked, (url, leaked)
            if url.endswith(".json") or ".json?" in url:
                body = answer.json()
                for item in body if isinstance(body, list) else []:
                    if "status" in item:
                        shown[item["service_request_id"]] = item
    refs = world.refs
    assert set(refs.values()) <= set(shown)
    for name in ("secret", "part_secret", "protected"):
        item = shown[refs[name]]
        assert (item["lat"], item["long"], item["address"]) == (None, None, None), name
        if name != "protected":
            assert item["service_code"] == "klagomal", name  # the dimensions of a secret case are withheld
    assert "OSL 26 kap. 1 §" in shown[refs["secret"]]["status_notes"]
    assert "OSL 26 kap. 1 §" in shown[refs["part_secret"]]["status_notes"]
    assert shown[refs["protected"]]["status_notes"] == "Registrerat."
    # The ordinary case: its place, and its description masked.
    ordinary = shown[refs["ordinary"]]
    assert ordinary["lat"] == pytest.approx(59.3293)
    assert "gatlampan" in ordinary["status_notes"]
    assert "Anna" not in ordinary["status_notes"]
    assert shown[refs["closed"]]["status"] == "closed"


# -- services as the kommun configures them -----------------------------------------------------------

EXEMPEL = (Path(klagomal.__file__).parent / "data" / "exempelkommun.toml").read_text(encoding="utf-8")

CONFIGURED = """
[[open311.tjanst]]
kod = "gatubelysning"
namn = "Gatubelysning"
typ = "klagomal"
dimension = "tillganglighet"
enhet = "sbf-gatapark-gata"
grupp = "Gata och park"

[[open311.tjanst]]
kod = "ide"
namn = "Idé till kommunen"
typ = "forslag"
"""


def test_the_kommun_may_configure_its_services(tmp_path: Path) -> None:
    org = tmp_path / "kommun.toml"
    org.write_text(EXEMPEL + CONFIGURED, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'klagomal.db'}"
    key, refs = seed(db)
    base, process = serve(db, tmp_path, "1000/minute", KLAGOMAL_ORG=str(org))
    try:
        found = http("GET", f"{base}{PREFIX}/v2/services.json").json()
        assert [(s["service_code"], s["service_name"], s["group"]) for s in found] == [
            ("gatubelysning", "Gatubelysning", "Gata och park"),
            ("ide", "Idé till kommunen", "Förslag"),
        ]
        definition = http("GET", f"{base}{PREFIX}/v2/services/ide.json").json()
        assert [a["code"] for a in definition["attributes"]] == ["enhet", "dimension"]
        _is_open311_error(http("GET", f"{base}{PREFIX}/v2/services/klagomal.json"), 404)
        form = {"api_key": key, "service_code": "gatubelysning", "description": "Lampan är släckt.",
                "lat": "59.33", "long": "18.06"}  # fmt: skip
        (posted,) = http("POST", f"{base}{PREFIX}/v2/requests.json", form).json()
        reference = posted["service_request_id"]
        (shown,) = http("GET", f"{base}{PREFIX}/v2/requests/{reference}.json").json()
        assert shown["service_code"] == "gatubelysning"
        assert shown["agency_responsible"] == "Samhällsbyggnadsförvaltningen"
        listed = http("GET", f"{base}{PREFIX}/v2/requests.json?service_code=gatubelysning").json()
        assert [r["service_request_id"] for r in listed] == [reference]
        # A case that no configured service describes is shown under its kind.
        (ordinary,) = http("GET", f"{base}{PREFIX}/v2/requests/{refs['ordinary']}.json").json()
        assert ordinary["service_code"] == "klagomal"
    finally:
        stop(process)
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        case = k.get(reference)
    assert (case.kind.value, case.unit, case.dimensions) == (
        "klagomal",
        "sbf-gatapark-gata",
        ("tillganglighet",),
    )


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('[[open311.tjanst]]\nkod = "a"\nnamn = "A"\ntyp = "fel"\n', "'typ'"),
        ('[[open311.tjanst]]\nkod = "A B"\nnamn = "A"\ntyp = "berom"\n', "'kod'"),
        ('[[open311.tjanst]]\nkod = "a"\nnamn = "A"\ntyp = "berom"\n' * 2, "unik"),
        ('[[open311.tjanst]]\nkod = "a"\ntyp = "berom"\n', "'namn'"),
        ('[[open311.tjanst]]\nkod = "a"\nnamn = "A"\ntyp = "berom"\nenhet = "nej"\n', "enheten 'nej'"),
        ('[[open311.tjanst]]\nkod = "a"\nnamn = "A"\ntyp = "berom"\nfarg = "röd"\n', "'farg'"),
        ("[open311]\ntjanster = 1\n", "'tjanster'"),
    ],
)
def test_a_wrong_service_stops_the_organisation_file(table: str, words: str) -> None:
    with pytest.raises(OrganisationError, match=re.escape(words)) as refused:
        parse_organisation(EXEMPEL + "\n" + table, "kommun.toml")
    assert "kommun.toml" in str(refused.value)


def test_a_service_with_an_unknown_dimension_stops_the_application() -> None:
    organisation = parse_organisation(
        EXEMPEL + '\n[[open311.tjanst]]\nkod = "a"\nnamn = "A"\ntyp = "berom"\ndimension = "nej"\n',
        "kommun.toml",
    )
    with (
        Klagomal("sqlite://", organisation=organisation, load_entrypoints=False) as k,
        pytest.raises(ConfigurationError, match="kvalitetsdimensionen 'nej'"),
    ):
        create_app(k)


# -- the list and its window ----------------------------------------------------------------------------


def _ids(answer: Answer) -> list[str]:
    assert answer.status == 200, answer.body
    return [r["service_request_id"] for r in answer.json()]


def test_the_list_covers_the_latest_90_days_by_default(world: World) -> None:
    refs = world.refs
    listed = _ids(world.call("GET", f"{PREFIX}/v2/requests.json"))
    assert refs["ordinary"] in listed
    assert refs["old"] not in listed
    old = dt.date.today() - dt.timedelta(days=200)
    start = (old - dt.timedelta(days=5)).isoformat()
    end = (old + dt.timedelta(days=DEFAULT_WINDOW - 5)).isoformat()
    within = _ids(
        world.call("GET", f"{PREFIX}/v2/requests.json?start_date={start}T00:00:00Z&end_date={end}T00:00:00Z")
    )
    assert within == [refs["old"]]
    # Only a start: the 90 days from it.
    assert _ids(world.call("GET", f"{PREFIX}/v2/requests.json?start_date={start}T00:00:00Z")) == [refs["old"]]
    too_long = (old + dt.timedelta(days=DEFAULT_WINDOW + 10)).isoformat()
    for fmt in ("json", "xml"):
        answer = world.call(
            "GET", f"{PREFIX}/v2/requests.{fmt}?start_date={start}T00:00:00Z&end_date={too_long}"
        )
        assert "90 dagar" in _is_open311_error(answer, 400, fmt)
    _is_open311_error(world.call("GET", f"{PREFIX}/v2/requests.json?start_date={end}&end_date={start}"), 400)
    _is_open311_error(world.call("GET", f"{PREFIX}/v2/requests.json?start_date=ig%C3%A5r"), 400)


def test_the_list_filters_by_id_status_service_and_limit(world: World) -> None:
    refs = world.refs
    by_id = _ids(
        world.call("GET", f"{PREFIX}/v2/requests.json?service_request_id={refs['old']},{refs['closed']}")
    )
    assert sorted(by_id) == sorted([refs["old"], refs["closed"]])  # the window is ignored with ids
    closed = _ids(world.call("GET", f"{PREFIX}/v2/requests.json?status=closed"))
    assert refs["closed"] in closed
    assert refs["ordinary"] not in closed
    opened = _ids(world.call("GET", f"{PREFIX}/v2/requests.json?status=open"))
    assert refs["ordinary"] in opened
    assert refs["closed"] not in opened
    assert _ids(world.call("GET", f"{PREFIX}/v2/requests.json?service_code=forslag")) == []
    assert refs["ordinary"] in _ids(
        world.call("GET", f"{PREFIX}/v2/requests.json?service_code=klagomal.bemotande")
    )
    assert len(_ids(world.call("GET", f"{PREFIX}/v2/requests.json?limit=1"))) == 1
    _is_open311_error(world.call("GET", f"{PREFIX}/v2/requests.json?limit=1001"), 400)
    _is_open311_error(world.call("GET", f"{PREFIX}/v2/requests.json?status=pending"), 400)
    _is_open311_error(world.call("GET", f"{PREFIX}/v2/requests.json?service_code=nej"), 404)
    _is_open311_error(world.call("GET", f"{PREFIX}/v2/requests/2026-99999.json"), 404)
    _is_open311_error(world.call("GET", f"{PREFIX}/v2/tokens/{token_of('2026-99999')}.xml"), 404, "xml")
    _is_open311_error(world.call("GET", f"{PREFIX}/v2/tokens/%21%21.json"), 404)


@given(
    today=st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)),
    start=st.none() | st.dates(dt.date(2019, 1, 1), dt.date(2031, 1, 1)),
    end=st.none() | st.dates(dt.date(2019, 1, 1), dt.date(2031, 1, 1)),
)
def test_the_window_never_spans_more_than_90_days(
    today: dt.date, start: dt.date | None, end: dt.date | None
) -> None:
    span = dt.timedelta(days=DEFAULT_WINDOW)
    if start is not None and end is not None and (end < start or end - start > span):
        # Only a window the client states itself can be wrong.
        with pytest.raises(Open311Error) as refused:
            window(today, start, end)
        assert refused.value.status == 400
        return
    first, last = window(today, start, end)
    assert first <= last
    assert last - first <= dt.timedelta(days=DEFAULT_WINDOW)
    assert start is None or first == start
    assert end is None or last == end
    if start is None and end is None:
        assert last == today


# -- rate limits -------------------------------------------------------------------------------------------


def test_the_public_endpoints_answer_429_past_the_limit(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'klagomal.db'}"
    key, _refs = seed(db)
    base, process = serve(db, tmp_path, "3/minute")
    try:
        for _ in range(3):
            assert http("GET", f"{base}{PREFIX}/v2/services.json").status == 200
        for fmt in ("json", "xml"):
            answer = http("GET", f"{base}{PREFIX}/v2/requests.{fmt}")
            assert "för många anrop" in _is_open311_error(answer, 429, fmt)
            assert int(answer.headers["retry-after"]) > 0
        # The keyed API is not the public one: not limited.
        for _ in range(5):
            request = urllib.request.Request(
                f"{base}/api/v1/whoami", headers={"Authorization": f"Bearer {key}"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 200
    finally:
        stop(process)


def test_the_rate_limit_is_read_from_its_setting() -> None:
    assert parse_rate_limit("120/minute") == ("minute", 120)
    assert parse_rate_limit(" 5 / second ") == ("second", 5)
    assert parse_rate_limit("av") is None
    assert parse_rate_limit("0") is None
    for bad in ("mycket", "5/vecka", "0/minute", "-1/day"):
        with pytest.raises(ConfigurationError, match="KLAGOMAL_RATE_LIMIT"):
            parse_rate_limit(bad)


# -- the docs' curl session --------------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs" / "open311.md"


def curl_session() -> tuple[list[str], str]:
    """The commands of the console block under "A curl session" in
    docs/open311.md (a line ending in a backslash goes on) and its output."""
    lines = DOCS.read_text(encoding="utf-8").splitlines()
    start = lines.index("## A curl session")
    fence = next(i for i in range(start, len(lines)) if lines[i].startswith("```console"))
    end = next(i for i in range(fence + 1, len(lines)) if lines[i].startswith("```"))
    commands: list[str] = []
    output: list[str] = []
    going_on = False
    for line in lines[fence + 1 : end]:
        if going_on or line.startswith("$ "):
            if going_on:
                commands[-1] += "\n" + line
            else:
                commands.append(line[2:])
            going_on = line.endswith("\\")
        else:
            output.append(line)
    return commands, "".join(f"{line}\n" for line in output)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="the session uses curl and jq")
def test_the_curl_session_in_the_docs_runs_as_shown(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'klagomal.db'}"
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        k.init()
        key = k.create_api_key("kontaktcenter", "FixaMinGata")[1]
    base, process = serve(db, tmp_path, "1000/minute")
    commands, expected = curl_session()
    assert len(commands) >= 8
    try:
        done = subprocess.run(
            ["bash", "-c", "set -e\n" + "\n".join(commands) + "\n"],
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "BASE": base, "KEY": key},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        stop(process)
    assert done.returncode == 0, done.stderr
    # The reference's year is the server's; the docs show 2026.
    assert done.stdout == expected.replace("2026-", f"{dt.date.today().year}-")

"""The leak canaries of tests/test_canaries.py through the HTTP API: every
route of the application, as every user of the organisation (so every role),
against a real ``klagomal serve`` (issue 21, R27).

The database is the canaries' own (:func:`tests.test_canaries._build`): a
protected person's case with secret parts, wholly secret and flagged cases,
a case at another förvaltning.  Each user gets a copy of it and a server of
their own, and calls every route with their API key, on every case: the
reads first, then the steps.  Each answer (its headers and body, errors
too) may hold only the canaries the library shows that user
(:func:`library_shows`: :meth:`~klagomal.Klagomal.get` and
:meth:`~klagomal.Klagomal.history` of each case, as that user):

* a route of ``/api/v1`` on one case (``{reference}``) only those the
  library shows of that case; any other route of ``/api/v1`` (lists, the
  worklist, the intake) only those the library shows of any case;
* :data:`PUBLIC` routes, and every route outside ``/api/v1`` (Open311, for
  anyone), hand things out: never a secret text, never who a protected person
  is, whoever asks.

The routes are read from ``create_app().routes`` and the requests made from
the OpenAPI document (path, query, If-Match, a body from the schema): a route
added later is called without touching this file.  Where a request needs a
value the document cannot give (a path parameter other than ``{reference}``,
a required query parameter, a body that is not JSON), it is looked up in the
tables below, and a route without one fails, naming what to add.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import attrs
import pytest

from klagomal import FixedClock, Klagomal
from klagomal.core.organisation import Organisation, parse_organisation
from klagomal.core.users import Role
from klagomal.notices.letters import BUILTIN_TEMPLATES

pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")

from tests.test_canaries import CANARIES, EXTRA_USERS, GROUND, PROTECTED, ROLES, UNIT, _build
from tests.test_web_server import START_TIMEOUT, Answer, Server, child_env, free_port, stop

from klagomal.web.app import create_app

#: Routes that hand things out (the register list, a public extract, the
#: reports): what they show may leave klagomal, so never a secret text nor
#: who a protected person is, whoever asks.  Routes outside ``/api/v1`` are
#: public too (:func:`policy`).
PUBLIC = {"/api/v1/register", "/api/v1/cases/{reference}/extract", "/api/v1/reports"}

#: Values of path parameters, by name; ``{reference}`` in a value is each
#: case of the canaries in turn (the request is then on that case).
PATH_VALUES: dict[str, list[str]] = {
    "reference": ["{reference}"],
    "path": ["openapi.yaml"],
    "attachment_id": ["1", "2"],
    "subscription_id": ["1"],
    # Open311 (/open311/v2/requests/{name}, tokens/{name}, services/{name}).
    "name": ["{reference}.json", "{reference}.xml", "ingen.json"],
    # The web interface's case page (/arenden/{reference}/brev/{seq}, .../steg/{step}).
    "seq": ["2"],
    "step": ["note", "answer"],
    "file_path": ["klagomal.css"],
    # The web interface's administration (klagomal.web.ui.admin): an outbox
    # notice, a received message.
    "notice_id": ["1"],
    "message_id": ["1"],
    # "Följ ditt ärende" (/folj/{token}): a token that is no live link; the
    # pages of live links are held to what is public in tests/test_ui_follow.py.
    "token": ["ingen-lank"],
    # The phrase library's pages (klagomal.web.ui.phrases) and the citizen's language.
    "phrase_id": ["1"],
    "code": ["en"],
}

#: Values of query parameters, by name: a required one must have one (each
#: value is one request, the other parameters at their first); the values of
#: an optional one, and of a parameter with an ``enum``, are one request each.
QUERY_VALUES: dict[str, list[str]] = {
    "start": ["2026-01-01"],
    "end": ["2026-12-31"],
    "period": ["2026"],
    "state": ["open"],
    "handler": ["omar.ali"],
    "unit": [UNIT],
    "department": ["soc"],
    # Search (/api/v1/search): a secret text, the protected person's name and address.
    "q": ["KANARIE", "Kanarie Skyddad", "skyddad.kanarie@example.se", "hemlig"],
}

#: More queries, by (method, path), for what the document does not list:
#: Open311's filters (GeoReport v2 keeps them out of the OpenAPI document),
#: within the 90 days around the canaries' cases, and every case by id.
#: ``{refs}`` is every case's reference, separated by commas.
MORE_QUERIES: dict[tuple[str, str], list[dict[str, str]]] = {
    ("GET", f"/open311/v2/requests.{fmt}"): [
        {"start_date": "2026-03-01T00:00:00+01:00", "end_date": "2026-05-29T00:00:00+02:00"},
        {"service_request_id": "{refs}"},
    ]
    for fmt in ("json", "xml")
}

#: Values of body fields, by name (any other field: a value of its type).
BODY_VALUES: dict[str, Any] = {
    "kind": "krankande",
    "channel": "telefon",
    "unit": UNIT,
    "text": "Prov.",
    "reason": "Prov.",
    "to_unit": "soc-aldre-solgarden",
    "handler": "omar.ali",
    "mode": "skriftligt",
    "respond_by": "2026-12-30",
    "route": "felanmalan",
    "recipients": ["Omar Ali"],
    "ground": GROUND,
    "summary": "Synpunkt",
    "satisfied": True,
    "location": {"address": "Kanarievägen 3"},
}

#: The protected person writes again: her name and address in a message.
_MESSAGE = (
    f"From: Kanarie Skyddad <{PROTECTED.email}>\r\nTo: synpunkter@exempelkommun.se\r\n"
    "Subject: Igen\r\nMessage-ID: <kanarie-api-1@example.se>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\nHemtjänsten kom inte i dag heller.\r\n"
).encode()

#: Bodies that are not JSON, by (method, path): the bytes and their content type.
RAW_BODIES: dict[tuple[str, str], tuple[bytes, str]] = {
    ("POST", "/api/v1/intake/email"): (_MESSAGE, "message/rfc822"),
}


#: Every canary string, and its group (P, S or O).
GROUP_OF = {canary: group for group, found in CANARIES.items() for canary in found}


def canaries_in(text: str) -> frozenset[str]:
    return frozenset(canary for canary in GROUP_OF if canary in text)


def policy(call: Call, shows: dict[str, frozenset[str]]) -> frozenset[str]:
    """The canaries *call*'s answer may hold, for a user the library shows
    *shows* (canaries by case): those of its case, or of every case;
    public routes never a secret text nor who a protected person is.  The
    web interface's staff pages are the API's equals (the user is signed
    in); its public pages (:func:`public_pages`) are public."""
    everything = frozenset().union(*shows.values())
    allowed = shows.get(call.reference, frozenset()) if call.reference else everything
    staff_page = interface(call.path) and call.path not in public_pages()
    if not staff_page and (call.path in PUBLIC or not call.path.startswith("/api/v1/")):
        return frozenset(c for c in allowed if GROUP_OF[c] not in "SP")
    return allowed


def interface(path: str) -> bool:
    """Whether *path* is a page of the web interface (klagomal.web.ui)."""
    return not path.startswith(("/api", "/open311"))


def public_pages() -> frozenset[str]:
    """The web interface's pages for anyone (its modules marked ``PUBLIC``:
    the citizen's, the login), as the document would name their paths."""
    from klagomal.web import ui

    return frozenset(
        _document_path(path)
        for module in ui.PAGE_MODULES
        if getattr(module, "PUBLIC", False)
        for handler in module.routes
        for path in handler.paths
    ) | {"/", "/tema.css", "/static/{file_path}"}


# -- the world and its servers ---------------------------------------------------------------


@attrs.frozen
class World:
    folder: Path
    org_file: Path
    organisation: Organisation
    db: Path
    refs: dict[str, str]
    keys: dict[str, str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("web-canaries")
    text = (BUILTIN_TEMPLATES.parents[1] / "data" / "exempelkommun.toml").read_text(encoding="utf-8")
    org_file = folder / "kommun.toml"
    org_file.write_text(text + EXTRA_USERS, encoding="utf-8")
    organisation = parse_organisation(org_file.read_text(encoding="utf-8"), source=str(org_file))
    db = folder / "base.db"
    clock = FixedClock(dt.date(2026, 3, 2))
    with Klagomal(f"sqlite:///{db}", clock=clock, organisation=organisation, load_entrypoints=False,
                  user="system") as k:  # fmt: skip
        k.init()
        refs = _build(k, clock)
        keys = {user: k.create_api_key(user, f"System för {user}")[1] for user in organisation.users}
    return World(folder, org_file, organisation, db, refs, keys)


def serve(world: World, user: str) -> Server:
    """``klagomal serve`` on a copy of the world's database, for *user*."""
    run = world.folder / user
    run.mkdir()
    db = run / "klagomal.db"
    shutil.copyfile(world.db, db)
    url = f"sqlite:///{db}"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "klagomal.cli", "--org", str(world.org_file), "--db", url, "serve", "--port",
         str(port)],
        cwd=run,
        env=child_env(KLAGOMAL_SESSION_SECRET=SESSION_SECRET),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", url, world.keys, process)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert process.poll() is None, process.communicate()[1].decode()
        try:
            if server.call("GET", "/api/openapi.json", user=None).status == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop(server)
            raise AssertionError(f"klagomal serve did not answer within {START_TIMEOUT} s")
        time.sleep(0.1)


def library_shows(world: World, user: str) -> dict[str, frozenset[str]]:
    """The canaries *user* reads in the library, by case: each case and its
    history as :meth:`~klagomal.Klagomal.get` and
    :meth:`~klagomal.Klagomal.history` give them to that user (or refuse)."""
    shows = {}
    with Klagomal(f"sqlite:///{world.db}", organisation=world.organisation, load_entrypoints=False,
                  user=user) as k:  # fmt: skip
        for ref in world.refs.values():
            shown = []
            for read in (k.get, k.history):
                try:
                    shown.append(repr(read(ref)))
                except Exception as exc:  # a refusal is what the user sees
                    shown.append(f"{type(exc).__name__}: {exc}")
            shows[ref] = canaries_in("\n".join(shown))
    return shows


def groups(canaries: frozenset[str]) -> frozenset[str]:
    return frozenset(GROUP_OF[c] for c in canaries)


# -- the requests, from the routes and the document ---------------------------------------


@attrs.frozen
class Call:
    method: str
    path: str  # as the document names it, with {reference}
    url: str
    reference: str | None = None  # the case it is on
    body: bytes | None = None
    headers: dict[str, str] = attrs.field(factory=dict)


def _document_path(route_path: str) -> str:
    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route_path)


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = document["components"]["schemas"][name]
    return schema


def instance(schema: dict[str, Any], document: dict[str, Any], name: str = "") -> Any:
    """A value of *schema*: :data:`BODY_VALUES` by field name, else the
    simplest one of its type (an object with its required fields)."""
    if name in BODY_VALUES:
        return BODY_VALUES[name]
    schema = _resolve(schema, document)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(o, document).get("type") != "null"]
            return instance(options[0] if options else schema[key][0], document, name)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {
            field: instance(props.get(field, {}), document, field) for field in schema.get("required", [])
        }
    if kind == "array":
        return [instance(schema.get("items", {}), document, name)] if schema.get("minItems") else []
    if kind == "string":
        return {"date": "2026-12-30", "date-time": "2026-12-30T10:00:00Z"}.get(
            schema.get("format", ""), "Prov."
        )
    return {"boolean": True, "integer": 1, "number": 1.0, "null": None}.get(str(kind), "Prov.")


def multipart(schema: dict[str, Any], document: dict[str, Any]) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body of *schema*'s required fields: a small
    PDF for a file (``format: binary``), else as :func:`instance` makes it."""
    schema = _resolve(schema, document)
    boundary = "kanarie-grans-0123456789"
    parts = []
    for field in schema.get("required", []):
        spec = _resolve(schema.get("properties", {}).get(field, {}), document)
        if spec.get("format") == "binary" or "contentMediaType" in spec:
            head = f'Content-Disposition: form-data; name="{field}"; filename="prov.pdf"\r\n'
            parts.append((head + "Content-Type: application/pdf\r\n\r\n").encode() + b"%PDF-1.4 prov")
        else:
            value = instance(spec, document, field)
            text = value if isinstance(value, str) else json.dumps(value)
            parts.append(f'Content-Disposition: form-data; name="{field}"\r\n\r\n{text}'.encode())
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    return body + b"--" + boundary.encode() + b"--\r\n", f"multipart/form-data; boundary={boundary}"


def calls(document: dict[str, Any], method: str, path: str, refs: dict[str, str]) -> list[Call]:
    """The requests that call *method* *path* on every case of the canaries;
    a failed assertion names what a route needs from the tables above."""
    operation = document.get("paths", {}).get(path, {}).get(method.lower(), {})
    parameters = operation.get("parameters", [])
    templates: dict[str, list[str]] = {}
    for name in re.findall(r"\{(\w+)\}", path):
        templates[name] = PATH_VALUES.get(name, [])
        assert templates[name], (
            f"{method} {path}: no value for the path parameter {{{name}}}; add it to PATH_VALUES"
        )
    per_case = any("{reference}" in t for values in templates.values() for t in values)
    fills: list[tuple[str | None, dict[str, str]]] = []
    for case in refs.values() if per_case else [None]:
        combos: list[dict[str, str]] = [{}]
        for name, values in templates.items():
            filled = [value.format(reference=case) for value in values]
            combos = [{**combo, name: value} for combo in combos for value in filled]
        fills += [(case, combo) for combo in combos]
    queries: list[dict[str, str]] = [{}]
    required: dict[str, str] = {}
    for parameter in (p for p in parameters if p["in"] == "query"):
        name = parameter["name"]
        enum = _resolve(parameter.get("schema", {}), document).get("enum", [])
        values = QUERY_VALUES.get(name, []) + [str(v) for v in enum if v is not None]
        if parameter.get("required"):
            assert values, (
                f"{method} {path}: no value for the required query parameter {name!r}; add to QUERY_VALUES"
            )
            required[name] = values[0]
            values = values[1:]
        queries += [{name: value} for value in values]
    queries += [
        {name: value.format(refs=",".join(refs.values())) for name, value in query.items()}
        for query in MORE_QUERIES.get((method, path), [])
    ]
    headers = {}
    if any(p["in"] == "header" and p["name"].lower() == "if-match" for p in parameters):
        headers["If-Match"] = "*"
    body = None
    content = operation.get("requestBody", {}).get("content", {})
    if (method, path) in RAW_BODIES:
        body, media_type = RAW_BODIES[(method, path)]
        headers["Content-Type"] = media_type
    elif "application/json" in content:
        body = json.dumps(instance(content["application/json"].get("schema", {}), document)).encode()
        headers["Content-Type"] = "application/json"
    elif "multipart/form-data" in content:
        body, headers["Content-Type"] = multipart(content["multipart/form-data"].get("schema", {}), document)
    else:
        assert not content, f"{method} {path}: a body of {sorted(content)}; add one to RAW_BODIES"
    found: list[Call] = []
    for case, fill in fills:
        url = path.format(**{n: urllib.parse.quote(v, safe="") for n, v in fill.items()})
        for query in queries:
            sent = {**required, **query}
            found.append(
                Call(
                    method,
                    path,
                    url + ("?" + urllib.parse.urlencode(sent) if sent else ""),
                    case,
                    body,
                    headers,
                )
            )
    # Once each: a value that names no case is the same request on every case.
    return list({(call.method, call.url): call for call in reversed(found)}.values())[::-1]


def every_route() -> list[tuple[str, str]]:
    """(method, path) of every route of the application, as the document names its path."""
    app = create_app(Klagomal("sqlite://", load_entrypoints=False))
    return sorted(
        {
            (method, _document_path(route.path))
            for route in app.routes
            for method in getattr(route, "methods", ())
            if method not in ("OPTIONS", "HEAD")
        }
    )


#: The session secret of the canaries' servers: the test signs each user's
#: session cookie for the web interface's pages with it.
SESSION_SECRET = "kanarie-" * 5


def send(server: Server, call: Call, key: str, user: str) -> Answer:
    """*call* as *user*: with their API key, or on a page of the web
    interface signed in as them (a form with the session's CSRF token and
    the body values above, so that its step is taken)."""
    if not interface(call.path):
        return server.call(call.method, call.url, key=key, headers=call.headers, raw=call.body)
    from klagomal.web.ui.session import COOKIE, Session, SessionConfig

    session = Session(user=user)
    cookie = SessionConfig(secret=SESSION_SECRET.encode()).encode(session)
    headers = {"Cookie": f"{COOKIE}={cookie}"}
    raw = None
    if call.method == "POST":
        form = {"_csrf": session.csrf}
        form.update(
            {name: str(value) for name, value in BODY_VALUES.items() if isinstance(value, str | bool)}
        )
        raw = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return server.call(call.method, call.url, user=None, headers=headers, raw=raw)


# -- the tests ----------------------------------------------------------------------------------------


def test_every_role_has_a_user_and_the_library_shows_each_what_the_canaries_say(world: World) -> None:
    users = world.organisation.users
    assert {user.role for user in users.values()} == set(Role)
    for user in users:
        if user in ROLES:
            assert groups(frozenset().union(*library_shows(world, user).values())) == ROLES[user], user


@pytest.fixture(scope="module")
def routes() -> list[tuple[str, str]]:
    found = every_route()
    assert ("POST", "/api/v1/cases/{reference}/steps/acknowledge") in found
    return found


def _users() -> list[str]:
    text = (BUILTIN_TEMPLATES.parents[1] / "data" / "exempelkommun.toml").read_text(encoding="utf-8")
    return list(parse_organisation(text + EXTRA_USERS).users)


@pytest.mark.parametrize("user", _users())
def test_no_route_answers_a_user_what_the_library_does_not_show_them(
    world: World, routes: list[tuple[str, str]], user: str
) -> None:
    shows = library_shows(world, user)
    server = serve(world, user)
    try:
        document = server.call("GET", "/api/openapi.json", user=None).json()
        documented = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
        api = {(m, p) for m, p in routes if p.startswith("/api/v1/")}
        assert api <= documented, f"routes missing from the OpenAPI document: {sorted(api - documented)}"
        # The reads first, on the world as it was built; then what changes it.
        ordered = sorted(routes, key=lambda route: route[0] != "GET")
        seen: set[str] = set()
        for method, path in ordered:
            for call in calls(document, method, path, world.refs):
                answer = send(server, call, world.keys[user], user)
                assert answer.status < 500, (user, call.method, call.url, answer.body[:500])
                text = json.dumps(answer.headers, ensure_ascii=False) + answer.body.decode("utf-8", "replace")
                leaked = sorted(canaries_in(text) - policy(call, shows))
                assert not leaked, f"{user}: {call.method} {call.url} ({answer.status}) shows {leaked}"
                seen |= canaries_in(text)
    finally:
        stop(server)
    # Not vacuous: what the library shows the user, the API shows them somewhere.
    assert groups(frozenset(seen)) == groups(frozenset().union(*shows.values())), (user, sorted(seen))


def test_a_route_the_tables_cannot_call_fails_naming_what_to_add() -> None:
    document: dict[str, Any] = {
        "paths": {
            "/x/{nyckel}": {"get": {}},
            "/y": {"get": {"parameters": [{"name": "ord", "in": "query", "required": True, "schema": {}}]}},
            "/z": {"post": {"requestBody": {"content": {"image/jpeg": {"schema": {}}}}}},
        }
    }
    for method, path, needs in (
        ("GET", "/x/{nyckel}", "PATH_VALUES"),
        ("GET", "/y", "QUERY_VALUES"),
        ("POST", "/z", "RAW_BODIES"),
    ):
        with pytest.raises(AssertionError, match=needs):
            calls(document, method, path, {"A": "2026-00001"})

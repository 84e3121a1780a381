"""The reverse proxy's trusted header (issue 21, item 3), against a real
``klagomal serve``: people whom the kommun's reverse proxy has signed in are
named in a header, which klagomal believes only from the proxy's addresses
(``KLAGOMAL_TRUSTED_HEADER``, ``KLAGOMAL_TRUSTED_PROXIES``), and acts as
through the ``klagomal_identify`` hook, audited as that user (R27).

The server listens on 127.0.0.1; a request from 127.0.0.2 (another loopback
address) is one from outside the proxy.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import BACKENDS
from tests.test_web_server import Answer, Server, audited, child_env, free_port, is_problem, register, served

pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")

from klagomal.core.errors import ConfigurationError
from klagomal.web.auth import trusted_header

HEADER = "X-Remote-User"


def call(
    server: Server,
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    source: str = "127.0.0.1",
) -> Answer:
    """A request from the loopback address *source*, without an API key
    unless *headers* has one."""
    host, port = server.base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(source, 0))
    sent = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


@pytest.fixture(scope="module", params=list(BACKENDS))
def proxied(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that believes the header from 127.0.0.1 (and a network that is not this machine's)."""
    backend: str = request.param
    env = {"KLAGOMAL_TRUSTED_HEADER": HEADER, "KLAGOMAL_TRUSTED_PROXIES": "127.0.0.1, 192.0.2.0/24"}
    with served(backend, tmp_path_factory.mktemp(f"proxy-{backend}"), env) as running:
        yield running


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server as it starts by default: no trusted header."""
    with served("sqlite", tmp_path_factory.mktemp("proxy-off")) as running:
        yield running


def test_the_header_is_ignored_by_default(plain: Server) -> None:
    for source in ("127.0.0.1", "127.0.0.2"):
        answer = call(plain, "GET", "/api/v1/whoami", headers={HEADER: "omar.ali"}, source=source)
        problem = is_problem(answer, 401, "unauthenticated")
        assert "Authorization: Bearer" in problem["detail"]
    # The key still works, and the header does not change whom it acts as.
    keyed = call(
        plain,
        "GET",
        "/api/v1/whoami",
        headers={HEADER: "nora.lind", "Authorization": f"Bearer {plain.keys['omar.ali']}"},
    )
    assert keyed.json()["id"] == "omar.ali"


def test_the_proxy_names_a_person_who_acts_as_that_user_and_is_audited(proxied: Server) -> None:
    me = call(proxied, "GET", "/api/v1/whoami", headers={HEADER: "omar.ali"})
    assert me.status == 200, me.body
    assert me.json() == {"id": "omar.ali", "name": "Omar Ali", "role": "handlaggare"}
    # The peer's address counts, never what X-Forwarded-For says of it.
    forwarded = call(
        proxied, "GET", "/api/v1/whoami", headers={HEADER: "omar.ali", "X-Forwarded-For": "203.0.113.9"}
    )
    assert forwarded.json()["id"] == "omar.ali"
    ref = register(proxied).json()["reference"]
    read = call(proxied, "GET", f"/api/v1/cases/{ref}", headers={HEADER: "omar.ali"})
    assert read.status == 200
    denied = call(proxied, "GET", f"/api/v1/cases/{ref}", headers={HEADER: "kontaktcenter"})
    is_problem(denied, 403, "access-denied")
    # A step, with an Idempotency-Key of the person's own.
    key = {HEADER: "omar.ali", "If-Match": '"1"', "Idempotency-Key": str(uuid.uuid4())}
    path = f"/api/v1/cases/{ref}/steps/acknowledge"
    first = call(proxied, "POST", path, {}, headers=key)
    assert first.status == 200, first.body
    again = call(proxied, "POST", path, {}, headers=key)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.body == first.body
    entries = audited(proxied, ref)
    assert ("omar.ali", "lasa", "allowed") in entries
    assert ("kontaktcenter", "lasa", "denied") in entries
    assert ("omar.ali", "handlagga", "allowed") in entries


@pytest.mark.parametrize("name", ["okand.person", "system", "", "omar.ali\x7f"])
def test_a_name_klagomal_does_not_know_gets_a_401(proxied: Server, name: str) -> None:
    answer = call(proxied, "GET", "/api/v1/whoami", headers={HEADER: name})
    problem = is_problem(answer, 401, "unauthenticated")
    if name == "okand.person":
        assert (
            problem["detail"]
            == "användaren 'okand.person' som huvudet x-remote-user anger är okänd i klagomal"
        )


def test_the_header_from_another_address_is_ignored(proxied: Server) -> None:
    answer = call(proxied, "GET", "/api/v1/whoami", headers={HEADER: "nora.lind"}, source="127.0.0.2")
    problem = is_problem(answer, 401, "unauthenticated")
    assert "Authorization: Bearer" in problem["detail"]
    # From there a key is needed, and the header does not change whom it acts as.
    keyed = call(
        proxied,
        "GET",
        "/api/v1/whoami",
        headers={HEADER: "nora.lind", "Authorization": f"Bearer {proxied.keys['sven.ek']}"},
        source="127.0.0.2",
    )
    assert keyed.json()["id"] == "sven.ek"
    # An API key from the proxy wins over the header too.
    keyed = call(
        proxied,
        "GET",
        "/api/v1/whoami",
        headers={HEADER: "nora.lind", "Authorization": f"Bearer {proxied.keys['sven.ek']}"},
    )
    assert keyed.json()["id"] == "sven.ek"


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"KLAGOMAL_TRUSTED_HEADER": HEADER}, "KLAGOMAL_TRUSTED_HEADER kräver KLAGOMAL_TRUSTED_PROXIES"),
        ({"KLAGOMAL_TRUSTED_PROXIES": "127.0.0.1"}, "men inte KLAGOMAL_TRUSTED_HEADER"),
        (
            {"KLAGOMAL_TRUSTED_HEADER": HEADER, "KLAGOMAL_TRUSTED_PROXIES": "proxyn"},
            "'proxyn' är ingen IP-adress",
        ),
        (
            {"KLAGOMAL_TRUSTED_HEADER": "Authorization", "KLAGOMAL_TRUSTED_PROXIES": "10.0.0.1"},
            "kan inte vara",
        ),
        (
            {"KLAGOMAL_TRUSTED_HEADER": "X Remote", "KLAGOMAL_TRUSTED_PROXIES": "10.0.0.1"},
            "inget namn på ett HTTP-huvud",
        ),
    ],
)
def test_a_wrong_configuration_stops_the_server_with_a_swedish_reason(
    tmp_path: Path, env: dict[str, str], reason: str
) -> None:
    with pytest.raises(ConfigurationError, match=reason):
        trusted_header(env)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "klagomal.cli",
            "--db",
            f"sqlite:///{tmp_path / 'k.db'}",
            "serve",
            "--port",
            str(free_port()),
        ],
        cwd=tmp_path,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert reason in done.stderr


def test_the_proxies_may_be_networks_and_ipv6() -> None:
    found = trusted_header(
        {"KLAGOMAL_TRUSTED_HEADER": "X-Remote-User", "KLAGOMAL_TRUSTED_PROXIES": "10.1.0.0/16,::1"}
    )
    assert found is not None
    assert found.header == "x-remote-user"
    assert found.trusts("10.1.2.3")
    assert found.trusts("::1")
    assert found.trusts("::ffff:10.1.2.3")
    assert not found.trusts("10.2.0.1")
    assert not found.trusts("127.0.0.1")
    assert not found.trusts(None)
    assert not found.trusts("proxyn")
    assert trusted_header({}) is None

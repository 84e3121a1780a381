"""The web interface's foundation: sessions, CSRF, the security headers and
signing in (the demo login, the reverse proxy's trusted header, OpenID
Connect with PKCE against a real provider process), checked against
``klagomal serve`` running as a process and in Debian's chromium.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from tests.ui_support import (
    ROOT,
    UiServer,
    assert_accessible,
    browser,
    child_env,
    free_port,
    require_browser,
    start_ui,
    stop_ui,
)

from klagomal import Klagomal
from klagomal.core.errors import ConfigurationError, OrganisationError
from klagomal.core.organisation import default_organisation, load_organisation
from klagomal.core.users import Role

pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")

from klagomal.web import ui
from klagomal.web.ui.login import start_page
from klagomal.web.ui.oidc import challenge, oidc_config
from klagomal.web.ui.render import SECURITY_HEADERS
from klagomal.web.ui.session import COOKIE, Session, SessionConfig, session_config

SECRET = "a" * 40
ORG_USERS = [u for u in default_organisation().users.values() if u.id != "klagomal"]


# -- sessions, without a server ------------------------------------------------


def _config(idle: float = 1800) -> SessionConfig:
    return SessionConfig(secret=SECRET.encode(), idle=idle)


@given(
    user=st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9._@-]{1,40}", fullmatch=True)),
    login=st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=4),
    flash=st.one_of(st.none(), st.tuples(st.sampled_from(["ok", "info"]), st.text(max_size=80))),
    receipt=st.one_of(st.none(), st.from_regex(r"20[0-9]{2}-[0-9]{5}", fullmatch=True)),
    follow=st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_-]{43}", fullmatch=True)),
)
def test_a_session_survives_its_cookie(
    user: str | None, login: dict[str, str], flash: Any, receipt: str | None, follow: str | None
) -> None:
    config = _config()
    session = Session(user=user, login=login, flash=flash, receipt=receipt, follow=follow)
    value = config.encode(session)
    # A cookie value needs no quoting (RFC 6265 cookie-octets): no '=', ',', ';', '"', space.
    assert re.fullmatch(r"[A-Za-z0-9_\-.]+", value)
    back = config.decode(value)
    assert back is not None
    assert (back.user, dict(back.login), back.csrf, back.flash) == (user, login, session.csrf, flash)
    assert (back.receipt, back.follow) == (receipt, follow)


@given(position=st.integers(min_value=0, max_value=10_000), replacement=st.sampled_from("AbZ09-_"))
def test_a_changed_cookie_is_no_session(position: int, replacement: str) -> None:
    config = _config()
    value = config.encode(Session(user="omar.ali"))
    i = position % len(value)
    if value[i] == replacement:
        return
    changed = value[:i] + replacement + value[i + 1 :]
    found = config.decode(changed)
    # Changing the signature or the body breaks the signature, with one exception:
    # the last character of an unpadded base64 block may carry unused bits.
    assert found is None or found.user == "omar.ali"


def test_another_secrets_cookie_is_no_session() -> None:
    value = SessionConfig(secret=b"b" * 40).encode(Session(user="nora.lind"))
    assert _config().decode(value) is None


def test_a_session_ends_when_idle_and_after_a_working_day() -> None:
    config = _config(idle=1800)
    now = time.time()
    idle = Session(user="omar.ali", started=now - 3600, seen=now - 1801)
    assert config.decode(config.encode(idle), now=now) is None
    fresh = Session(user="omar.ali", started=now - 3600, seen=now - 60)
    assert config.decode(config.encode(fresh), now=now) is not None
    too_long = Session(user="omar.ali", started=now - 10 * 3600 - 1, seen=now - 1)
    assert config.decode(config.encode(too_long), now=now) is None


def test_signing_in_gives_a_new_csrf_token() -> None:
    before = Session()
    after = before.signed_in("omar.ali")
    assert after.user == "omar.ali"
    assert after.csrf != before.csrf
    assert not after.login


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({"KLAGOMAL_SESSION_SECRET": "kort"}, "minst 32 tecken"),
        ({"KLAGOMAL_SESSION_IDLE": "0"}, "från 1 till 600"),
        ({"KLAGOMAL_SESSION_IDLE": "en timme"}, "från 1 till 600"),
    ],
)
def test_session_settings_are_refused_in_swedish(environ: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        session_config(environ)


def test_session_settings() -> None:
    config = session_config({"KLAGOMAL_SESSION_SECRET": SECRET, "KLAGOMAL_SESSION_IDLE": "15"})
    assert config.secret == SECRET.encode()
    assert config.idle == 15 * 60
    # Without a secret, each process has one of its own.
    assert session_config({}).secret != session_config({}).secret


def test_pkce_challenge_is_rfc_7636s_example() -> None:
    assert (
        challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({"KLAGOMAL_OIDC_ISSUER": "https://idp.example"}, "KLAGOMAL_OIDC_CLIENT_ID"),
        (
            {
                "KLAGOMAL_OIDC_ISSUER": "http://idp.example",
                "KLAGOMAL_OIDC_CLIENT_ID": "k",
                "KLAGOMAL_PUBLIC_URL": "https://k.example",
            },
            "https://",
        ),
        (
            {
                "KLAGOMAL_OIDC_ISSUER": "https://idp.example",
                "KLAGOMAL_OIDC_CLIENT_ID": "k",
                "KLAGOMAL_PUBLIC_URL": "http://synpunkter.example",
            },
            "KLAGOMAL_PUBLIC_URL",
        ),
    ],
)
def test_oidc_settings_are_refused_in_swedish(environ: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        oidc_config(environ)


def test_oidc_settings() -> None:
    assert oidc_config({}) is None
    found = oidc_config(
        {
            "KLAGOMAL_OIDC_ISSUER": "https://login.exempelkommun.se/",
            "KLAGOMAL_OIDC_CLIENT_ID": "klagomal",
            "KLAGOMAL_PUBLIC_URL": "https://synpunkter.exempelkommun.se",
        }
    )
    assert found is not None
    assert found.issuer == "https://login.exempelkommun.se"
    assert found.claim == "preferred_username"
    assert found.redirect_uri == "https://synpunkter.exempelkommun.se/logga-in/oidc"


@pytest.mark.parametrize(
    ("colour", "ok"), [("#005a8c", True), ("#767676", True), ("#ffdd00", False), ("#8899aa", False)]
)
def test_the_kommuns_colour_must_stand_out_from_white(tmp_path: Path, colour: str, ok: bool) -> None:
    text = (ROOT / "src" / "klagomal" / "data" / "exempelkommun.toml").read_text(encoding="utf-8")
    path = tmp_path / "org.toml"
    path.write_text(text.replace('farg = "#005a8c"', f'farg = "{colour}"'), encoding="utf-8")
    if ok:
        assert load_organisation(path).profile.colour == colour
    else:
        with pytest.raises(OrganisationError, match="4,5:1"):
            load_organisation(path)


# -- the server ---------------------------------------------------------------------


def _routes() -> list[tuple[str, str]]:
    """(method, path template) of every route of the interface's pages."""
    found = []
    for router in ui.routers()[:1]:
        for route in router.routes:
            for method in route.methods:
                if method in ("OPTIONS", "HEAD"):
                    continue
                found.append((method, route.path))
    return sorted(set(found))


def _fill(path: str) -> str:
    """A path of the route *path*: 1 for a number, x for anything else."""
    return re.sub(r"\{[^}]+\}", "x", re.sub(r"\{[^}:]+:int\}", "1", path))


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("ui-login")
    db = f"sqlite:///{tmp / 'k.db'}"
    Klagomal(db).init()
    return db


@pytest.fixture(scope="module")
def demo_server(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    server = start_ui(database, tmp_path_factory.mktemp("serve"), env={"KLAGOMAL_SESSION_SECRET": SECRET})
    yield server
    stop_ui(server)


class Client:
    """A browser without a browser: urllib with the session cookie kept."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        data = None if form is None else urllib.parse.urlencode(form).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if self.cookies:
            req.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(req, timeout=30) as response:
                status, headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, body = error.code, error.headers, error.read()
        for cookie in headers.get_all("set-cookie") or []:
            name, _sep, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";")[0]
        return status, {k.lower(): v for k, v in headers.items()}, body.decode("utf-8", "replace")

    def csrf(self) -> str:
        """The session's CSRF token, as a page's form would carry it."""
        _status, _headers, body = self.request("GET", "/logga-in")
        found = re.search(r'name="_csrf" value="([^"]+)"', body)
        if found:
            return found.group(1)
        # A page without a form: the token is in the session cookie (signed, not secret).
        payload = self.cookies[COOKIE].rpartition(".")[0]
        document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(document["c"])


def _counts(db: str) -> tuple[int, int]:
    engine = sa.create_engine(db)
    try:
        with engine.connect() as c:
            return (
                c.execute(sa.text("select count(*) from audit_log")).scalar_one(),
                c.execute(sa.text("select count(*) from events")).scalar_one(),
            )
    finally:
        engine.dispose()


def test_every_page_carries_the_security_headers(demo_server: UiServer) -> None:
    client = Client(demo_server.url)
    paths = [_fill(path) for method, path in _routes() if method == "GET"]
    paths += ["/finns-inte", "/static/klagomal.css", "/static/klagomal.js", "/tema.css"]
    for path in paths:
        _status, headers, _body = client.request("GET", path)
        for name, value in SECURITY_HEADERS.items():
            if name == "Cache-Control" and path.startswith("/static/"):
                continue
            assert headers.get(name.lower()) == value, (path, name)
    policy = SECURITY_HEADERS["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy


def test_an_unknown_address_is_a_swedish_page(demo_server: UiServer) -> None:
    status, headers, body = Client(demo_server.url).request("GET", "/finns-inte")
    assert status == 404
    assert headers["content-type"].startswith("text/html")
    assert "<h1>Sidan finns inte</h1>" in body
    # The API keeps its problem details.
    status, headers, _body = Client(demo_server.url).request("GET", "/api/v1/finns-inte")
    assert status == 404
    assert headers["content-type"].startswith("application/problem+json")


def test_every_form_refuses_a_post_without_the_sessions_token(demo_server: UiServer) -> None:
    posts = [path for method, path in _routes() if method == "POST"]
    assert "/logga-in" in posts
    assert "/logga-ut" in posts
    client = Client(demo_server.url)
    token = client.csrf()
    before = _counts(demo_server.db)
    for path in posts:
        for form in ({"text": "Det du skrev"}, {"text": "Det du skrev", "_csrf": "fel" + token}):
            status, _headers, body = client.request("POST", _fill(path), form)
            assert status == 403, (path, status)
            assert "<title>Fel: Skicka igen" in body
            # What the person wrote is on the page, ready to be sent again with the right token.
            assert 'name="text" value="Det du skrev"' in body
            assert f'name="_csrf" value="{token}"' in body
    # And with no session at all.
    status, _headers, _body = Client(demo_server.url).request("POST", "/logga-in", {"anvandare": "nora.lind"})
    assert status == 403
    assert _counts(demo_server.db) == before


def test_the_demo_login_takes_each_user_to_their_start_page(demo_server: UiServer) -> None:
    assert {u.role for u in ORG_USERS} == set(Role)  # every role is tried
    for user in ORG_USERS:
        client = Client(demo_server.url)
        token = client.csrf()
        status, headers, _body = client.request(
            "POST", "/logga-in", {"_csrf": token, "anvandare": user.id, "till": ""}
        )
        assert status == 303, user.id
        assert headers["location"] == start_page(user.role), user.id
        status, _headers, body = client.request("GET", headers["location"])
        assert user.name in body, user.id
        # Signing in gave a new token: the one from before the login no longer works.
        assert f'value="{token}"' not in body
        new_token = re.search(r'name="_csrf" value="([^"]+)"', body).group(1)  # type: ignore[union-attr]
        status, headers, _body = client.request("POST", "/logga-ut", {"_csrf": new_token})
        assert status == 303
        assert headers["location"].startswith("/logga-in")
        status, _headers, body = client.request("GET", headers["location"])
        assert "Du är utloggad." in body
        assert 'class="site-header__user"' not in body
        status, headers, _body = client.request("GET", "/arenden")
        assert status == 303
        assert headers["location"] == "/logga-in?till=%2Farenden"


def test_the_demo_login_refuses_an_unknown_user_and_goes_back_where_asked(demo_server: UiServer) -> None:
    client = Client(demo_server.url)
    status, _headers, body = client.request(
        "POST", "/logga-in", {"_csrf": client.csrf(), "anvandare": "mallory"}
    )
    assert status == 400
    assert "<title>Fel: Logga in" in body
    # The radios are marked invalid and the group describes the error.
    assert 'value="nora.lind" aria-invalid="true"' in body
    assert 'aria-describedby="anvandare-error"' in body
    assert '<a href="#anvandare">Välj vem du vill logga in som</a>' in body
    for target, expected in (
        ("/arenden?x=1", "/arenden?x=1"),
        ("//evil.example/", "/arenden"),
        ("https://evil.example", "/arenden"),
    ):
        client = Client(demo_server.url)
        form = {"_csrf": client.csrf(), "anvandare": "omar.ali", "till": target}
        status, headers, _body = client.request("POST", "/logga-in", form)
        assert status == 303
        assert headers["location"] == expected


def test_a_session_that_was_idle_is_over(demo_server: UiServer) -> None:
    config = SessionConfig(secret=SECRET.encode())
    now = time.time()
    for seen, signed_in in ((now - 60, True), (now - 31 * 60, False)):
        client = Client(demo_server.url)
        client.cookies[COOKIE] = config.encode(Session(user="omar.ali", started=now - 3600, seen=seen))
        status, headers, body = client.request("GET", "/arenden")
        if signed_in:
            assert status == 200
            assert "Omar Ali" in body
        else:
            assert status == 303
            assert headers["location"].startswith("/logga-in")


def test_without_demo_login_nobody_picks_a_user(database: str, tmp_path: Path) -> None:
    server = start_ui(database, tmp_path, demo_login=False)
    try:
        client = Client(server.url)
        _status, _headers, body = client.request("GET", "/logga-in")
        assert "omar.ali" not in body
        assert "Kontakta systemförvaltaren" in body
        status, _headers, body = client.request(
            "POST", "/logga-in", {"_csrf": client.csrf(), "anvandare": "nora.lind"}
        )
        assert status == 403
        assert "Demoinloggningen är inte påslagen" in body
        status, _headers, _body = client.request("GET", "/arenden")
        assert status == 303
    finally:
        stop_ui(server)


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_the_demo_login_listens_only_on_loopback(database: str, tmp_path: Path, host: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "klagomal.cli",
            "--db",
            database,
            "serve",
            "--demo-login",
            "--host",
            host,
            "--port",
            str(free_port()),
        ],
        env=child_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "--demo-login" in done.stderr
    assert "bara på den egna datorn" in done.stderr


@pytest.mark.parametrize(("proxies", "named"), [("127.0.0.1", True), ("10.0.0.0/8", False)])
def test_the_reverse_proxys_header_names_the_user(
    database: str, tmp_path: Path, proxies: str, named: bool
) -> None:
    env = {"KLAGOMAL_TRUSTED_HEADER": "X-Remote-User", "KLAGOMAL_TRUSTED_PROXIES": proxies}
    server = start_ui(database, tmp_path, demo_login=False, env=env)
    try:
        for user, known in (("omar.ali", True), ("mallory", False)):
            req = urllib.request.Request(server.url + "/arenden", headers={"X-Remote-User": user})

            class NoRedirect(urllib.request.HTTPRedirectHandler):
                def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                    return None

            try:
                with urllib.request.build_opener(NoRedirect).open(req, timeout=30) as r:
                    status, body = r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                status, body = e.code, e.read().decode()
            if named and known:
                assert status == 200
                assert "Omar Ali" in body
                assert "Logga ut" not in body  # the proxy signs people in and out
            else:
                assert status == 303
    finally:
        stop_ui(server)


# -- OpenID Connect against a provider process ------------------------------------------


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    directory = tmp_path_factory.mktemp("idp")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "oidc_provider.py"), str(port), str(directory)]
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/.well-known/openid-configuration", timeout=5):
                break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.1)
    yield url, directory
    process.kill()
    process.wait(timeout=15)


@pytest.fixture(scope="module")
def oidc_server(
    database: str, provider: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UiServer]:
    port = free_port()
    env = {
        "KLAGOMAL_OIDC_ISSUER": provider[0],
        "KLAGOMAL_OIDC_CLIENT_ID": "klagomal",
        "KLAGOMAL_OIDC_CLIENT_SECRET": "hemligt-for-test",
        "KLAGOMAL_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "KLAGOMAL_SESSION_SECRET": SECRET,
    }
    tmp = tmp_path_factory.mktemp("oidc-serve")
    args = [sys.executable, "-m", "klagomal.cli", "--db", database, "serve", "--port", str(port)]
    log = tmp / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(args, cwd=tmp, env=child_env(**env), stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/logga-in", timeout=5):
                break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise AssertionError(log.read_text()) from None
            time.sleep(0.2)
    server = UiServer(url, database, process, log)
    yield server
    stop_ui(server)


def _set(directory: Path, user: str = "omar.ali", mode: str = "") -> None:
    (directory / "user").write_text(user, encoding="utf-8")
    (directory / "mode").write_text(mode, encoding="utf-8")


def test_openid_connect_signs_in_with_pkce(oidc_server: UiServer, provider: tuple[str, Path]) -> None:
    executable = require_browser()
    _url, directory = provider
    _set(directory)
    (directory / "log").write_text("", encoding="utf-8")
    with browser(executable) as b:
        page = b.new_page()
        page.goto(oidc_server.url + "/arenden")
        assert page.url.endswith("/logga-in?till=%2Farenden")
        assert_accessible(page, "the login page with OpenID Connect")
        page.click("a:has-text('Logga in med kommunens inloggning')")
        page.wait_for_url(oidc_server.url + "/arenden")
        assert "Omar Ali" in page.inner_text("header")
    lines = [json.loads(line) for line in (directory / "log").read_text().splitlines()]
    authorize = next(line for line in lines if line["path"] == "/authorize")["query"]
    token = next(line for line in lines if line["path"] == "/token")["form"]
    assert authorize["code_challenge_method"] == "S256"
    assert authorize["code_challenge"] == challenge(token["code_verifier"])
    assert authorize["redirect_uri"] == oidc_server.url + "/logga-in/oidc"
    assert len(token["code_verifier"]) >= 43
    assert authorize["state"]
    assert authorize["nonce"]


@pytest.mark.parametrize(
    ("user", "mode", "words"),
    [
        ("omar.ali", "wrong-nonce", "hör till en annan inloggning"),
        ("omar.ali", "expired", "har gått ut"),
        ("omar.ali", "other-audience", "inte utfärdad till klagomal"),
        ("omar.ali", "other-issuer", "annan utfärdare"),
        ("omar.ali", "no-claim", "saknar anspråket preferred_username"),
        ("okand.person", "", "finns inte bland klagomals användare"),
    ],
)
def test_openid_connect_refuses_what_it_cannot_trust(
    oidc_server: UiServer, provider: tuple[str, Path], user: str, mode: str, words: str
) -> None:
    _set(provider[1], user, mode)
    client = Client(oidc_server.url)
    status, headers, _body = client.request("GET", "/logga-in/start")
    assert status == 302
    # The provider signs the person in and sends the browser back with a code.
    provider_client = Client("")
    status, provider_headers, _body = provider_client.request("GET", headers["location"])
    assert status == 302
    back = provider_headers["location"]
    assert back.startswith(oidc_server.url + "/logga-in/oidc?")
    status, _headers, body = client.request("GET", back[len(oidc_server.url) :])
    assert status == 403
    assert words in body
    assert "<title>Inloggningen misslyckades" in body
    status, _headers, _body = client.request("GET", "/arenden")
    assert status == 303


def test_openid_connect_refuses_an_answer_to_another_browsers_login(oidc_server: UiServer) -> None:
    client = Client(oidc_server.url)
    client.request("GET", "/logga-in/start")
    status, _headers, body = client.request("GET", "/logga-in/oidc?code=abc&state=not-this-one")
    assert status == 400
    assert "hör inte till den här webbläsaren" in body
    status, _headers, body = Client(oidc_server.url).request("GET", "/logga-in/oidc?code=abc&state=x")
    assert status == 400
    assert "skickade ingen inloggning" in body


# -- in the browser -------------------------------------------------------------------------


def test_the_login_pages_are_accessible_and_work_by_keyboard(demo_server: UiServer) -> None:
    executable = require_browser()
    with browser(executable) as b:
        page = b.new_page()
        page.goto(demo_server.url + "/logga-in")
        assert_accessible(page, "the demo login")
        # Without choosing: the error summary, focused, and the title says "Fel:".
        page.click("button:has-text('Logga in')")
        page.wait_for_selector("[data-error-summary]")
        assert page.title().startswith("Fel: ")
        page.wait_for_load_state()
        page.wait_for_function("document.activeElement.classList.contains('error-summary')", timeout=10_000)
        assert_accessible(page, "the demo login with an error")
        # Keyboard only: Tab to the first user, arrow to the next, Enter sends.
        page.goto(demo_server.url + "/logga-in")
        page.keyboard.press("Tab")  # the skip link
        assert page.evaluate("document.activeElement.textContent") == "Hoppa till innehållet"
        for _i in range(12):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.name") == "anvandare":
                break
        page.keyboard.press("Space")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*/(arenden|admin/rapporter)$"))
        assert page.evaluate("document.querySelector('.site-header__user') !== null")
        assert_accessible(page, "Mina ärenden, empty")
        page.set_viewport_size({"width": 320, "height": 640})
        assert page.evaluate("document.documentElement.scrollWidth <= 320")
        page.click("button:has-text('Logga ut')")
        assert "Du är utloggad." in page.inner_text("main")
        assert_accessible(page, "the login page after logout")
        page.goto(demo_server.url + "/finns-inte")
        assert_accessible(page, "a page that does not exist")

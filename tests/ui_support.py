"""What the browser tests of the web interface share: the server as a real
process (``klagomal serve --demo-login``), Debian's chromium driven by
Playwright for Python, and axe-core from the npm registry
(``tests/browser/package.json``, installed by ``npm ci`` in tox).

Browsers are never downloaded: :func:`chromium_path` is the operating
system's ``chromium`` (``apt-get install chromium``; ``.ci/run`` does it).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = str(ROOT / "src")
#: axe-core's script, from ``npm ci --prefix tests/browser``.
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
#: The rules axe-core checks: WCAG 2.0 and 2.1, levels A and AA (lag 2018:1937),
#: and its best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
#: Where the browser tests write the screenshots docs/web.md shows.
SCREENSHOTS = ROOT / "docs" / "images" / "web"
#: How long the server may take to answer its first request, in seconds.
START_TIMEOUT = 60.0


def chromium_path() -> str | None:
    """The operating system's chromium, or ``None``."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_browser() -> str:
    """The chromium to drive: a skip outside CI without it, an error in CI
    (where ``.ci/run`` installs it, so that the browser tests always run there)."""
    path = chromium_path()
    missing = []
    if path is None:
        missing.append("chromium (apt-get install chromium)")
    if not AXE.exists():
        missing.append("axe-core (npm ci --prefix tests/browser)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install -e '.[test]')")
    if missing:
        message = "the browser tests need " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    assert path is not None
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAGOMAL_")}
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


@attrs.frozen
class UiServer:
    """``klagomal serve`` running in a process of its own."""

    url: str
    db: str
    process: subprocess.Popen[bytes]
    log: Path


def start_ui(db: str, tmp: Path, *, demo_login: bool = True, env: dict[str, str] | None = None) -> UiServer:
    """``klagomal serve`` on *db* on a free loopback port, once it answers
    (within :data:`START_TIMEOUT` seconds)."""
    port = free_port()
    log = tmp / f"serve-{port}.log"
    args = [sys.executable, "-m", "klagomal.cli", "--db", db, "serve", "--port", str(port)]
    if demo_login:
        args.append("--demo-login")
    with log.open("wb") as out:
        process = subprocess.Popen(args, cwd=tmp, env=child_env(**(env or {})), stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"klagomal serve stopped: {log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url + "/logga-in", timeout=5) as response:
                if response.status == 200:
                    return UiServer(url, db, process, log)
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    process.kill()
    raise AssertionError(
        f"klagomal serve did not answer within {START_TIMEOUT} s: {log.read_text(errors='replace')}"
    )


def stop_ui(server: UiServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=15)


@contextlib.contextmanager
def served(db: str, tmp: Path, **kwargs: Any) -> Iterator[UiServer]:
    server = start_ui(db, tmp, **kwargs)
    try:
        yield server
    finally:
        stop_ui(server)


def demo_database(tmp: Path) -> str:
    """A database with ``klagomal demo``'s year of Exempelkommun (about 20 s)."""
    db = f"sqlite:///{tmp / 'demo.db'}"
    subprocess.run(
        [sys.executable, "-m", "klagomal.cli", "--db", db, "demo"],
        cwd=tmp,
        env=child_env(),
        check=True,
        capture_output=True,
        timeout=600,
    )
    return db


@contextlib.contextmanager
def browser(executable: str) -> Iterator[Any]:
    """Chromium, headless, from the operating system."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            b.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on *page* as it is now (WCAG 2.1 A and AA,
    and best practices)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Through the DevTools protocol, which the page's Content-Security-Policy
        # does not govern: the policy stays on while axe-core looks.
        page.evaluate(_axe_source() + "\n;undefined")
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return [
        {
            "id": v["id"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
    ]


@functools.cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def assert_accessible(page: Any, what: str) -> None:
    """axe-core finds nothing on *page*; else the violations, named."""
    found = axe_violations(page)
    assert not found, f"axe-core on {what} ({page.url}): {found}"


def login(page: Any, server: UiServer, user: str) -> None:
    """Sign in through the demo login's form, as a person would."""
    page.goto(server.url + "/logga-in")
    page.check(f"input[name=anvandare][value='{user}']")
    page.click("button:has-text('Logga in')")
    page.wait_for_load_state()

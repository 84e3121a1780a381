"""The files a system administrator copies (examples/drift/) and the page
that explains them (docs/drift.md) against the code (issue 23, item 5).

Everything is enumerated from the files: every command in the systemd units,
the Containerfile and the page's console blocks parses with klagomal's own
parser (or uvicorn's), and the factory they name exists; every variable of
the env file is one klagomal reads, and every variable klagomal reads is in
the env file or in :data:`NOT_FOR_A_KOMMUN`, and its values are accepted;
the proxy takes bodies as large as the application does; the container's
health check answers against a real ``/healthz``; the page names every
file, and the figures it quotes are the benchmarks'.  Where the tools are on
the machine, the units pass ``systemd-analyze verify``, nginx runs the
proxy's file in front of a stand-in for klagomal, and each database's dump
tool restores a database whose audit anchor still holds.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import http.server
import importlib
import inspect
import json
import os
import re
import shlex
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from klagomal import Klagomal
from klagomal.cli import _build_parser
from klagomal.core.settings import SmtpSettings
from klagomal.core.users import SYSTEM_USER
from klagomal.testing import register

REPO = Path(__file__).resolve().parent.parent
DRIFT = REPO / "examples" / "drift"
PAGE = REPO / "docs" / "drift.md"
ENV_FILE = DRIFT / "klagomal.env"
CONTAINERFILE = DRIFT / "Containerfile"
NGINX = DRIFT / "nginx.conf"
UNITS = sorted(DRIFT.glob("*.service"))

#: Where the units and the page install klagomal; the tests put the running
#: environment's prefix in its place.
PREFIX = "/opt/klagomal/current"

#: Variables klagomal reads that a kommun does not set in its services'
#: environment, with why: they are for a developer, a test run or a support
#: session, never in examples/drift/klagomal.env.
NOT_FOR_A_KOMMUN = {
    # The technical detail of one failing command, asked for by whoever supports
    # the installation for that command only (docs/cli.md): tracebacks on stderr.
    "KLAGOMAL_DEBUG",
}
#: Read by the test suite, not by klagomal (tests/): named here so that a
#: variable of that kind moved into src/ is still no kommun's setting.
TEST_ONLY_PREFIXES = ("KLAGOMAL_TEST_", "KLAGOMAL_SCREENSHOTS")


# -- reading the files ----------------------------------------------------------------------------


@functools.cache
def source_variables() -> dict[str, list[str]]:
    """Every ``KLAGOMAL_*`` name the code holds as a string literal of its own
    (what it passes to ``os.environ.get``, directly or through a constant),
    with the files; a docstring or a message that mentions one among other
    words is not such a literal."""
    found: dict[str, list[str]] = {}
    for path in sorted((REPO / "src" / "klagomal").rglob("*.py")):
        for name in re.findall(
            r"""(?<![\w"'])["'](KLAGOMAL_[A-Z0-9_]+)["'](?![\w"'])""", path.read_text(encoding="utf-8")
        ):
            found.setdefault(name, []).append(path.relative_to(REPO).as_posix())
    return found


_ASSIGNMENT = re.compile(r"^(# )?(KLAGOMAL_[A-Z0-9_]+)=(.*)$")


def env_entries() -> list[tuple[str, str, bool]]:
    """(name, value, set) of each variable of the env file; *set* is false
    for one left off (``# KLAGOMAL_X=...``)."""
    entries = []
    for line in ENV_FILE.read_text(encoding="utf-8").splitlines():
        if match := _ASSIGNMENT.match(line):
            entries.append((match.group(2), match.group(3), match.group(1) is None))
    return entries


def env_names() -> list[str]:
    return [name for name, _value, _set in env_entries()]


def unit_settings(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) of each setting of a systemd unit, in order."""
    section, found = "", []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key.strip(), value.strip()))
    return found


def unit_value(path: Path, key: str) -> str:
    (value,) = [v for _s, k, v in unit_settings(path) if k == key]
    return value


def containerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Containerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text(encoding="utf-8"))
    return [
        (m.group(1), m.group(2).strip())
        for line in text.splitlines()
        if (m := re.match(r"^([A-Z]+)\s+(.*)$", line))
    ]


def console_commands(text: str) -> list[str]:
    """Each command of the ``console`` blocks of a page (a line after ``$ ``)."""
    commands = []
    for block in re.findall(r"^```console\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        commands += [line[2:] for line in block.splitlines() if line.startswith("$ ")]
    return commands


def container_comment_commands() -> list[str]:
    """The commands the Containerfile's comments show (``podman run ...``),
    continuation lines joined."""
    lines = [
        line[1:].strip() for line in CONTAINERFILE.read_text(encoding="utf-8").splitlines() if line[:1] == "#"
    ]
    joined = re.sub(r"\\\s*\n", " ", "\n".join(lines))
    return [line for line in joined.splitlines() if re.match(r"(podman|docker) ", line)]


def simple_commands(line: str) -> list[list[str]]:
    """The simple commands of a shell line (split at ``;``, ``&&``, ``||``,
    ``|``), each without its leading ``NAME=value`` assignments and without
    the wrappers the page and the files use around a command: ``exec``,
    ``sudo [-u USER]``, ``sh -c '...'`` and ``podman run/docker run ... IMAGE``."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    tokens = list(lexer)
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token in (";", "&&", "||", "|", "&"):
            commands.append([])
        elif token in ("<", ">"):
            commands[-1].append("\0redirect")
        else:
            commands[-1].append(token)
    found = []
    for argv in commands:
        if "\0redirect" in argv:  # drop a redirection and its file
            i = argv.index("\0redirect")
            argv = argv[:i] + argv[i + 2 :]
        while argv and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", argv[0]):
            argv = argv[1:]
        if argv[:1] == ["exec"]:
            argv = argv[1:]
        if argv[:1] == ["sudo"]:
            argv = argv[1:]
            while argv and argv[0].startswith("-"):
                argv = argv[2:] if argv[0] in ("-u", "-g") else argv[1:]
        if argv[:1] in (["sh"], ["bash"]) and argv[1:2] == ["-c"]:
            found += simple_commands(argv[2])
            continue
        if argv[:2] in (["podman", "run"], ["docker", "run"]):
            images = [i for i, t in enumerate(argv) if re.fullmatch(r"klagomal:[\w.-]+", t)]
            argv = argv[images[0] + 1 :] if images else []
        if argv:
            found.append(argv)
    return found


def exec_lines() -> list[tuple[str, str]]:
    """(where, command) of every Exec*= of every unit."""
    return [
        (f"{unit.name} {key}", value)
        for unit in UNITS
        for _section, key, value in unit_settings(unit)
        if key.startswith("Exec")
    ]


def all_commands() -> list[tuple[str, list[str]]]:
    """(where, argv) of every command the drift files and the page run."""
    found: list[tuple[str, list[str]]] = []
    for where, line in exec_lines():
        found += [(where, argv) for argv in simple_commands(line.lstrip("-@+!:"))]
    for instruction, arguments in containerfile_instructions():
        if instruction in ("CMD", "ENTRYPOINT") and arguments.startswith("["):
            found.append((f"Containerfile {instruction}", json.loads(arguments)))
    for line in container_comment_commands():
        found += [("Containerfile comment", argv) for argv in simple_commands(line)]
    for line in console_commands(PAGE.read_text(encoding="utf-8")):
        found += [("docs/drift.md", argv) for argv in simple_commands(line)]
    return found


def _program(argv: list[str]) -> str:
    return os.path.basename(argv[0])


def klagomal_commands() -> list[tuple[str, list[str]]]:
    return [(where, argv) for where, argv in all_commands() if _program(argv) == "klagomal"]


def uvicorn_commands() -> list[tuple[str, list[str]]]:
    return [(where, argv) for where, argv in all_commands() if _program(argv) == "uvicorn"]


def _id(item: tuple[str, list[str]]) -> str:
    where, argv = item
    return f"{where}: {shlex.join([_program(argv), *argv[1:]])}"


@functools.cache
def _parser() -> argparse.ArgumentParser:
    return _build_parser()


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = _parser()
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:  # argparse's error: the message went to stderr
        raise AssertionError(f"klagomal cannot parse {shlex.join(argv)} (exit {exc.code})") from None


# -- the commands ---------------------------------------------------------------------------------


def test_the_files_hold_the_commands_they_should() -> None:
    # The enumeration finds what it must: the units' two commands, the
    # container's default command and its worker, the page's.
    commands = [" ".join([_program(a), *a[1:]]) for _w, a in all_commands()]
    assert any(c.startswith("uvicorn --factory klagomal.web.app:create_app") for c in commands)
    assert any(c.startswith("klagomal worker") for c in commands)
    assert sum(1 for w, _a in klagomal_commands() if w == "Containerfile comment") >= 2
    assert sum(1 for w, _a in klagomal_commands() if w == "docs/drift.md") >= 8
    assert [w for w, _a in uvicorn_commands()].count("Containerfile CMD") == 1


@pytest.mark.parametrize("command", klagomal_commands(), ids=_id)
def test_every_klagomal_command_parses(command: tuple[str, list[str]]) -> None:
    _where, argv = command
    assert _parse(argv[1:]).command


def test_no_unit_upgrades_the_schema_when_it_starts() -> None:
    # docs/drift.md, "systemd": the schema is upgraded deliberately, never by a start.
    runs_init = [
        where
        for where, line in exec_lines()
        for argv in simple_commands(line.lstrip("-@+!:"))
        if _program(argv) == "klagomal" and _parse(argv[1:]).command == "init"
    ]
    assert runs_init == []


@pytest.fixture(scope="module")
def uvicorn_main() -> Any:
    pytest.importorskip("uvicorn", reason="the web extra: pip install 'klagomal[web]'")
    from uvicorn.main import main

    return main


@pytest.mark.parametrize("command", uvicorn_commands(), ids=_id)
def test_every_uvicorn_command_parses_and_names_a_factory_that_exists(
    command: tuple[str, list[str]], uvicorn_main: Any
) -> None:
    pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")
    where, argv = command
    context = uvicorn_main.make_context("uvicorn", list(argv[1:]))
    params = context.params
    module_name, _, attribute = params["app"].partition(":")
    factory = getattr(importlib.import_module(module_name), attribute)
    assert callable(factory)
    assert params["factory"] is True
    inspect.signature(factory).bind()  # called with no arguments: configured by the environment
    # The client's address is the TCP peer's (docs/api.md), never X-Forwarded-For,
    # and no access log writes a person's private link.
    assert params["proxy_headers"] is False
    assert params["access_log"] is False
    if where.startswith("klagomal-web.service"):
        assert params["host"] == "127.0.0.1"  # only the proxy reaches it
        assert params["workers"] >= 2


# -- the env file -------------------------------------------------------------------------------


def test_the_env_file_is_read_alike_by_systemd_a_container_runtime_and_a_shell() -> None:
    # NAME=value, no quotes or spaces: systemd's EnvironmentFile=, --env-file and
    # `set -a; . file` then read the same values.
    for number, line in enumerate(ENV_FILE.read_text(encoding="utf-8").splitlines(), start=1):
        assert line == "" or line.startswith("#") or _ASSIGNMENT.match(line), (number, line)
    for name, value, _set in env_entries():
        assert not re.search(r"[\s'\"\\$`]", value), (name, value)
    shell = subprocess.run(
        ["sh", "-c", 'set -a; . "$1"; set +a; env', "sh", str(ENV_FILE)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        timeout=10,
    )
    seen = dict(line.split("=", 1) for line in shell.stdout.splitlines() if line.startswith("KLAGOMAL_"))
    assert seen == {name: value for name, value, is_set in env_entries() if is_set}


def test_each_variable_of_the_env_file_is_there_once_and_explained() -> None:
    names = env_names()
    assert len(names) == len(set(names))
    paragraphs = ENV_FILE.read_text(encoding="utf-8").split("\n\n")
    for name in names:
        (paragraph,) = [p for p in paragraphs if re.search(rf"^(# )?{name}=", p, re.MULTILINE)]
        explained = [
            line for line in paragraph.splitlines() if line.startswith("#") and not _ASSIGNMENT.match(line)
        ]
        assert explained, f"{name} has no comment of its own"


@pytest.mark.parametrize("name", env_names())
def test_every_variable_of_the_env_file_is_read_by_klagomal(name: str) -> None:
    assert name in source_variables()


def test_every_variable_klagomal_reads_is_in_the_env_file_or_no_kommuns() -> None:
    read = source_variables()
    assert len(read) > 12  # read from the code, not a list of a few
    in_file = set(env_names())
    missing = sorted(
        name
        for name in read
        if name not in in_file and name not in NOT_FOR_A_KOMMUN and not name.startswith(TEST_ONLY_PREFIXES)
    )
    assert missing == [], f"read by {[read[n] for n in missing]}: put them in examples/drift/klagomal.env"
    # The list of what is no kommun's holds nothing stale, and nothing the file sets.
    assert sorted(n for n in NOT_FOR_A_KOMMUN if n not in read) == []
    assert sorted(in_file & NOT_FOR_A_KOMMUN) == []


def test_the_units_set_only_variables_klagomal_reads() -> None:
    for unit in UNITS:
        for _section, key, value in unit_settings(unit):
            if key == "Environment":
                for assignment in shlex.split(value):
                    name = assignment.partition("=")[0]
                    if name.startswith("KLAGOMAL_"):
                        assert name in source_variables(), (unit.name, name)
                        assert name in env_names(), f"{name}: explain it in klagomal.env too"
    # The worker acts as the reserved system user, the web application as nobody.
    worker = DRIFT / "klagomal-worker.service"
    assert unit_value(worker, "Environment") == f"KLAGOMAL_USER={SYSTEM_USER.id}"
    assert [v for _s, k, v in unit_settings(DRIFT / "klagomal-web.service") if k == "Environment"] == []
    assert ("KLAGOMAL_USER", "system", False) in env_entries()


def test_the_env_file_holds_values_klagomal_accepts_once_the_placeholders_are_replaced() -> None:
    pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")
    from klagomal.core.errors import ConfigurationError
    from klagomal.web.auth import trusted_header
    from klagomal.web.ratelimit import rate_limit_config
    from klagomal.web.ui.oidc import oidc_config
    from klagomal.web.ui.session import session_config

    env = {name: value for name, value, is_set in env_entries() if is_set}
    # A secret left as the placeholder stops the application at start-up.
    with pytest.raises(ConfigurationError, match="KLAGOMAL_SESSION_SECRET"):
        session_config(env)
    env["KLAGOMAL_SESSION_SECRET"] = "0123456789abcdef" * 4
    assert session_config(env).idle == 30 * 60
    provider = oidc_config(env)
    assert provider is not None
    assert provider.public_url == env["KLAGOMAL_PUBLIC_URL"]
    assert rate_limit_config(env) is not None
    # The header login, when its two lines are taken in: the header nginx.conf sets,
    # believed from the address nginx reaches klagomal from.
    left_off = {name: value for name, value, is_set in env_entries() if not is_set}
    header = trusted_header({k: left_off[k] for k in ("KLAGOMAL_TRUSTED_HEADER", "KLAGOMAL_TRUSTED_PROXIES")})
    assert header is not None
    assert header.trusts("127.0.0.1")
    assert header.trusts("::1")
    assert re.search(
        rf"proxy_set_header {re.escape(left_off['KLAGOMAL_TRUSTED_HEADER'])} ", NGINX.read_text()
    )
    # The metrics' and the log's settings, as they are left off.
    pytest.importorskip("prometheus_client", reason="the extra ops (the web extra brings it)")
    from klagomal.observe.logs import log_format
    from klagomal.observe.metrics import counts_fresh

    assert counts_fresh(left_off) == float(left_off["KLAGOMAL_METRICS_CACHE"])
    assert log_format(None, left_off) == "json"


# -- the units -----------------------------------------------------------------------------------


def test_the_units_run_as_the_page_says() -> None:
    web, worker = DRIFT / "klagomal-web.service", DRIFT / "klagomal-worker.service"
    assert [p.name for p in UNITS] == sorted([web.name, worker.name])
    for unit in UNITS:
        settings = {k: v for _s, k, v in unit_settings(unit)}
        assert settings["User"] == "klagomal"
        assert settings["EnvironmentFile"] == "/etc/klagomal/klagomal.env"
        assert settings["WorkingDirectory"] == "/var/lib/klagomal"
        assert settings["WorkingDirectory"] in settings["ReadWritePaths"].split()
        for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome"):
            assert settings[key] == "yes", (unit.name, key)
        assert settings["ProtectSystem"] == "strict"
    assert all(v.split()[0].lstrip("-@+!:").startswith(PREFIX + "/bin/") for _w, v in exec_lines())
    assert unit_value(web, "Restart") == "on-failure"
    assert unit_value(worker, "Restart") == "always"
    assert unit_value(worker, "KillSignal") == "SIGTERM"
    # Long enough for the job in hand: at least ten notices each waiting the SMTP timeout out.
    minutes = re.fullmatch(r"(\d+)min", unit_value(worker, "TimeoutStopSec"))
    assert minutes is not None
    assert int(minutes.group(1)) * 60 >= 10 * SmtpSettings().timeout
    # The worker's stop timeout in the container is the unit's.
    assert f"--stop-timeout {int(minutes.group(1)) * 60}" in CONTAINERFILE.read_text()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    # With the running environment in the place of /opt/klagomal/current, so that
    # the programs they run exist: systemd-analyze checks that too.
    prefix = Path(sys.executable).parent.parent
    copies = []
    for unit in UNITS:
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text(encoding="utf-8").replace(PREFIX, str(prefix)), encoding="utf-8")
        copies.append(str(copy))
    done = subprocess.run(
        ["systemd-analyze", "verify", *copies], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")


# -- the Containerfile ----------------------------------------------------------------------------


def test_the_containerfile_installs_extras_that_exist_from_files_that_exist() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    instructions = containerfile_instructions()
    (base,) = [a for i, a in instructions if i == "FROM"]
    version = re.fullmatch(r"python:(\d+\.\d+)-slim", base)
    assert version is not None
    assert project["requires-python"] == ">=3.11"
    assert tuple(map(int, version.group(1).split("."))) >= (3, 11)
    for instruction, arguments in instructions:
        if instruction == "COPY":
            *sources, _target = arguments.split()
            assert [s for s in sources if not (REPO / s).exists()] == []
    (install,) = [a for i, a in instructions if i == "RUN" and "pip install" in a]
    (extras,) = re.findall(r"\[([\w,]+)\]", install)
    chosen = extras.split(",")
    assert set(chosen) <= set(project["optional-dependencies"])
    assert {"web", "postgresql", "mariadb"} <= set(chosen)


def test_the_container_runs_as_a_user_and_checks_its_health_without_curl() -> None:
    instructions = containerfile_instructions()
    users = [a for i, a in instructions if i == "USER"]
    assert users
    assert users[-1] not in ("root", "0")
    cmd_at = max(n for n, (i, _a) in enumerate(instructions) if i == "CMD")
    assert max(n for n, (i, _a) in enumerate(instructions) if i == "USER") < cmd_at
    (health,) = [a for i, a in instructions if i == "HEALTHCHECK"]
    argv = json.loads(health[health.index("CMD") + 3 :].strip())
    assert argv[:2] == ["python", "-c"]
    compile(argv[2], "HEALTHCHECK", "exec")
    assert "urllib.request" in argv[2]
    assert "HEALTHCHECK_URL" in argv[2]
    env = " ".join(a for i, a in instructions if i == "ENV")
    assert re.search(r"HEALTHCHECK_URL=http://127\.0\.0\.1:8000/healthz\b", env)
    assert "curl" not in health
    assert "wget" not in health


def test_the_container_health_check_answers_against_a_real_healthz(tmp_path: Path) -> None:
    # The HEALTHCHECK's own command, against the health server the worker's
    # --listen starts (the web application's /healthz answers the same).
    pytest.importorskip("prometheus_client", reason="the extra ops (the web extra brings it)")
    from klagomal.observe.metrics import new_registry
    from klagomal.observe.server import start_observe_server

    (health,) = [a for i, a in containerfile_instructions() if i == "HEALTHCHECK"]
    argv = json.loads(health[health.index("CMD") + 3 :].strip())
    with Klagomal(f"sqlite:///{tmp_path / 'k.db'}", user="system", load_entrypoints=False) as k:
        k.init()
        server = start_observe_server(k, "127.0.0.1", 0, new_registry(k), token=None)
        try:
            for url, healthy in (
                (f"http://127.0.0.1:{server.port}/healthz", True),
                (f"http://127.0.0.1:{_free_port()}/healthz", False),
            ):
                done = subprocess.run(
                    [sys.executable, *argv[1:]],
                    env={**os.environ, "HEALTHCHECK_URL": url},
                    capture_output=True,
                    timeout=30,
                    check=False,
                )
                assert (done.returncode == 0) is healthy, (url, done.stderr)
        finally:
            server.stop()


# -- the proxy ---------------------------------------------------------------------------------------


_SIZE = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def test_the_proxy_takes_bodies_as_large_as_klagomal_does() -> None:
    pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")
    from klagomal.web.app import MAX_BODY

    sizes = re.findall(r"^\s*client_max_body_size\s+(\d+)([kmgKMG]?);", NGINX.read_text(), re.MULTILINE)
    assert sizes
    assert [(n, u) for n, u in sizes if int(n) * _SIZE[u.lower()] < MAX_BODY] == []


def test_the_proxy_reaches_the_address_the_web_unit_listens_on() -> None:
    context = re.search(r"--host (\S+) --port (\d+)", unit_value(DRIFT / "klagomal-web.service", "ExecStart"))
    assert context is not None
    assert re.search(rf"^\s*server {context.group(1)}:{context.group(2)};", NGINX.read_text(), re.MULTILINE)


def _nginx_config(tmp_path: Path, ports: dict[str, int]) -> Path:
    """The proxy's file as it is, but on free ports of this machine, with a
    certificate made for the test, and with its logs in *tmp_path*."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("synpunkter.exempelkommun.se", "127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(tmp_path / "fullchain.pem")
    for pem in cert.cert_chain_pems[1:]:
        pem.write_to_path(tmp_path / "fullchain.pem", append=True)
    cert.private_key_pem.write_to_path(tmp_path / "privkey.pem")
    ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    text = NGINX.read_text(encoding="utf-8")
    replacements = {
        "listen 443 ssl http2;": f"listen 127.0.0.1:{ports['https']} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "listen 80;": f"listen 127.0.0.1:{ports['http']};",
        "listen [::]:80;": "",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{ports['klagomal']};",
        "http://127.0.0.1:4180/": f"http://127.0.0.1:{ports['sso']}/",
        "/etc/ssl/klagomal/": f"{tmp_path}/",
        "/var/log/nginx/klagomal.access.log": f"{tmp_path}/access.log",
    }
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    (tmp_path / "klagomal.conf").write_text(text, encoding="utf-8")
    main = tmp_path / "nginx.conf"
    temp = "".join(
        f"    {kind}_temp_path {tmp_path}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main.write_text(
        f"daemon off;\nmaster_process off;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{\n{temp}    include {tmp_path}/klagomal.conf;\n}}\n",
        encoding="utf-8",
    )
    return main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Recorder(http.server.ThreadingHTTPServer):
    """A stand-in for klagomal (or the SSO): answers 200 and keeps what it got."""

    daemon_threads = True

    def __init__(self, user: str | None = None) -> None:
        self.seen: list[dict[str, Any]] = []
        self.user = user
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # the answer's two writes, without 40 ms between

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                read = 0
                while read < length:
                    read += len(self.rfile.read(min(1 << 20, length - read)))
                recorder.seen.append({"path": self.path, "headers": dict(self.headers), "length": read})
                self.send_response(200)
                if recorder.user:
                    self.send_header("X-Auth-Request-User", recorder.user)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@contextlib.contextmanager
def _serving(server: _Recorder) -> Iterator[_Recorder]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """nginx running examples/drift/nginx.conf in front of a stand-in for
    klagomal and one for the kommun's SSO (which signs in omar.ali)."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed; .ci/run installs nginx-core for this test")
        pytest.skip("nginx is not installed (apt-get install nginx-core)")
    with _serving(_Recorder()) as app, _serving(_Recorder(user="omar.ali")) as sso:
        ports = {
            "https": _free_port(),
            "http": _free_port(),
            "klagomal": app.server_address[1],
            "sso": sso.server_address[1],
        }
        config = _nginx_config(tmp_path, ports)
        process = subprocess.Popen(
            [nginx, "-p", str(tmp_path), "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                assert process.poll() is None, process.communicate()[0]
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", ports["https"]), 1):
                    break
                assert time.monotonic() < deadline, "nginx did not listen"
                time.sleep(0.05)
            context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
            state: dict[str, Any] = {
                "ports": ports,
                "app": app,
                "context": context,
                "log": tmp_path / "access.log",
            }
            yield state
            if state.get("connection") is not None:
                state["connection"].close()
        finally:
            process.terminate()
            process.wait(timeout=10)


def _request(
    proxy: dict[str, Any],
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> http.client.HTTPResponse:
    """One request over the proxy's kept-alive connection (a new one if nginx closed it)."""
    for attempt in range(2):
        connection = proxy.get("connection")
        if connection is None:
            connection = proxy["connection"] = http.client.HTTPSConnection(
                "127.0.0.1", proxy["ports"]["https"], context=proxy["context"], timeout=30
            )
        try:
            connection.request(
                method, path, body=body, headers={"Host": "synpunkter.exempelkommun.se", **(headers or {})}
            )
            response = connection.getresponse()
            response.read()
        except (http.client.RemoteDisconnected, ConnectionError):
            connection.close()
            proxy["connection"] = None
            if attempt:
                raise
            continue
        if response.will_close:
            connection.close()
            proxy["connection"] = None
        return response
    raise AssertionError("unreachable")


def test_the_proxy_passes_the_login_header_only_from_its_own_sign_on(proxy: dict[str, Any]) -> None:
    app = proxy["app"]
    forged = {"X-Remote-User": "nora.lind"}
    staff = {"/": "omar.ali", "/arenden": "omar.ali", "/admin/utskick": "omar.ali", "/chef": "omar.ali"}
    public = [
        "/tyck-till",
        "/folj/abc",
        "/besvarade",
        "/open311/v2/services.json",
        "/api/v1/cases",
        "/static/x.css",
    ]
    for path in [*staff, *public]:
        response = _request(proxy, "GET", path, forged)
        assert response.status == 200, path
        assert response.getheader("Strict-Transport-Security", "").startswith("max-age="), path
        got = app.seen[-1]
        assert got["path"] == path
        # The peer is the proxy, and the name is the sign-on's, never the browser's.
        assert got["headers"].get("X-Remote-User") == staff.get(path), path
        assert got["headers"]["X-Forwarded-For"] == "127.0.0.1"


def test_the_proxy_never_serves_the_metrics(proxy: dict[str, Any]) -> None:
    before = len(proxy["app"].seen)
    assert _request(proxy, "GET", "/metrics").status == 403
    assert _request(proxy, "GET", "/metrics", {"Authorization": "Bearer x"}).status == 403
    assert len(proxy["app"].seen) == before


def test_the_proxy_passes_a_body_of_klagomals_limit_and_refuses_more(proxy: dict[str, Any]) -> None:
    pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")
    from klagomal.web.app import MAX_BODY

    largest = _request(
        proxy, "POST", "/tyck-till", {"Content-Type": "application/octet-stream"}, b"x" * MAX_BODY
    )
    assert largest.status == 200
    assert proxy["app"].seen[-1]["length"] == MAX_BODY
    before = len(proxy["app"].seen)
    limit = int(re.findall(r"client_max_body_size (\d+)m;", NGINX.read_text())[0]) * 1024**2
    # A body over the proxy's limit is refused on its Content-Length, before it is sent.
    connection = http.client.HTTPSConnection(
        "127.0.0.1", proxy["ports"]["https"], context=proxy["context"], timeout=30
    )
    connection.putrequest("POST", "/tyck-till")
    connection.putheader("Content-Length", str(limit + 1))
    connection.endheaders()
    assert connection.getresponse().status == 413
    connection.close()
    assert len(proxy["app"].seen) == before


def test_the_proxy_limits_each_person_on_the_public_pages_only(proxy: dict[str, Any]) -> None:
    public = [_request(proxy, "GET", "/besvarade").status for _ in range(40)]
    assert 429 in public
    assert public[:31] == [200] * 31  # the first request and a burst of 30
    api = [_request(proxy, "GET", "/api/v1/worklist").status for _ in range(40)]
    assert api == [200] * 40


def test_the_proxy_logs_no_private_link(proxy: dict[str, Any]) -> None:
    token = "Hemlig-Token-0123456789abcdefghijklmnopqrstu"
    assert _request(proxy, "GET", f"/folj/{token}?ref=mejl").status == 200
    plain = http.client.HTTPConnection("127.0.0.1", proxy["ports"]["http"], timeout=10)
    plain.request("GET", f"/folj/{token}", headers={"Host": "synpunkter.exempelkommun.se"})
    redirect = plain.getresponse()
    assert redirect.status == 301
    assert redirect.getheader("Location", "").startswith("https://synpunkter.exempelkommun.se/")
    plain.close()
    # nginx writes a request's line after it has sent the response: wait for
    # the second, a bounded while (the first CI run read the log too soon).
    deadline = time.monotonic() + 5
    while (log := proxy["log"].read_text(encoding="utf-8")).count("\n") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.count("/folj/{token}") == 2
    assert token not in log
    assert "ref=mejl" not in log


@pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(), reason="no nginx")
def test_nginx_accepts_the_proxy_file_as_it_is_but_for_its_ports_and_certificate(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    config = _nginx_config(
        tmp_path, {"https": _free_port(), "http": _free_port(), "klagomal": 8000, "sso": 4180}
    )
    done = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr


# -- the page --------------------------------------------------------------------------------------


def test_the_page_names_every_file_of_examples_drift_and_is_in_the_site() -> None:
    from tests.test_docs_site import nav_pages

    text = PAGE.read_text(encoding="utf-8")
    files = sorted(p.relative_to(REPO).as_posix() for p in DRIFT.iterdir() if p.is_file())
    assert len(files) == 5
    assert [f for f in files if f"`{f}`" not in text] == []
    assert "drift.md" in nav_pages()
    # The section kept as the lead wrote it, and every section the issue asks for.
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    for heading in (
        "The processes",
        "Installing",
        "systemd",
        "A container",
        "The reverse proxy",
        "The worker",
        "Backups",
        "Upgrading",
        "What to monitor",
        "More than one machine",
        "How far one database goes",
    ):
        assert heading in headings


def test_the_figures_quoted_from_the_benchmarks_are_the_benchmarks() -> None:
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("\n## How far one database goes\n", 1)[1].split("\n## ", 1)[0]
    rows = [
        line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| measured")
    ]
    # Every code span of the first two columns (what was measured, the figure); the third links.
    figures = [
        span for row in rows for cell in row.split(" | ")[:2] for span in re.findall(r"`([^`]+)`", cell)
    ]
    assert len(figures) >= 10
    performance = (REPO / "docs" / "performance.md").read_text(encoding="utf-8")
    assert [f for f in figures if f not in performance] == []


# -- backups ------------------------------------------------------------------------------------------


def _flags(tool: str) -> list[str]:
    """The options of the page's *tool* command in its table of backups."""
    table = PAGE.read_text(encoding="utf-8").split("\n## Backups\n", 1)[1]
    (command,) = re.findall(rf"`({re.escape(tool)} [^`]*)`", table)[:1]
    return [a for a in shlex.split(command.split(" > ")[0].split(" < ")[0]) if a.startswith("-")]


def _server_options(url: sa.URL) -> dict[str, str]:
    return {"host": url.host or "127.0.0.1", "port": str(url.port or ""), "user": url.username or ""}


def _dump_and_restore(source: str, target: str, tmp_path: Path) -> None:
    """The page's commands for the database of *source*, restoring into *target*."""
    url, into = sa.make_url(source), sa.make_url(target)
    env = {**os.environ, "PGPASSWORD": url.password or "", "MYSQL_PWD": url.password or ""}
    run: Callable[..., Any] = lambda argv, **kw: subprocess.run(argv, check=True, timeout=120, env=env, **kw)  # noqa: E731
    if url.get_backend_name() == "sqlite":
        copy = tmp_path / "backup.db"
        if shutil.which("sqlite3"):
            run(["sqlite3", url.database, f".backup '{copy}'"])
        else:  # the same online backup, through Python's module
            with sqlite3.connect(url.database) as db, sqlite3.connect(copy) as to:
                db.backup(to)
        shutil.copyfile(copy, str(into.database))
        return
    server = _server_options(url)
    if url.get_backend_name() == "postgresql":
        flags = _flags("pg_dump")
        assert flags[:1] == ["-Fc"]
        if not shutil.which("pg_dump"):
            pytest.skip("pg_dump is not installed")
        dump = tmp_path / "klagomal.dump"
        connect = ["-h", server["host"], "-p", server["port"] or "5432", "-U", server["user"]]
        run(["pg_dump", "-Fc", *connect, "-f", str(dump), url.database])
        restore = [f for f in _flags("pg_restore") if f.startswith("--") and not f.startswith("--role")]
        assert "--no-owner" in restore
        run(["pg_restore", *restore, *connect, "-d", into.database, str(dump)])
        return
    flags = [f for f in _flags("mariadb-dump") if f.startswith("--")]
    assert "--single-transaction" in flags
    dump_tool = shutil.which("mariadb-dump") or shutil.which("mysqldump")
    if dump_tool is None:
        pytest.skip("mariadb-dump is not installed")
    connect = ["-h", server["host"], "-P", server["port"] or "3306", "-u", server["user"]]
    dump = tmp_path / "klagomal.sql"
    with dump.open("wb") as out:
        run([dump_tool, *flags, *connect, url.database], stdout=out)
    client = shutil.which("mariadb") or shutil.which("mysql")
    assert client is not None
    with dump.open("rb") as source_file:
        run([client, *_flags("mariadb"), *connect, into.database], stdin=source_file)


def test_a_dump_restores_with_its_audit_anchor(new_database: Callable[[], str], tmp_path: Path) -> None:
    """docs/drift.md, "Backups": note the anchor, go on writing, dump while
    klagomal runs, restore into a new database; the anchor holds there, the
    attachment's bytes are the same, and an anchor of another chain is caught."""
    source, target = new_database(), new_database()
    data = b"%PDF-1.4\n" + bytes(range(256)) * 64  # every byte value, as a binary column must keep them
    with Klagomal(source, user="system", load_entrypoints=False) as k:
        k.init()
        case = register(k)
        k.attach(case.reference, data, filename="bilaga.pdf", media_type="application/pdf")
        anchor = k.audit_verify()
        assert anchor.ok
        register(k, text="Skrivet efter ankaret.")  # klagomal goes on while the backup is taken
        _dump_and_restore(source, target, tmp_path)
    with Klagomal(target, user="system", load_entrypoints=False) as restored:
        checked = restored.audit_verify([(anchor.last_id, anchor.last_hash)])
        assert checked.ok, checked.summary()
        assert checked.anchored == (anchor.last_id,)
        assert checked.last_id > anchor.last_id
        (attachment,) = restored.attachments(case.reference, with_data=True)
        assert attachment.data == data
        other = restored.audit_verify([(anchor.last_id, "0" * 64)])
        assert not other.ok
        assert any(p.entry == anchor.last_id for p in other.problems)

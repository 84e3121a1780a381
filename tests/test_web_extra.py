"""The web extra is optional: without Litestar and uvicorn, klagomal imports
and every command runs; ``klagomal serve`` says in Swedish what to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.test_web_server import child_env

#: Run in a child Python in which the web extra cannot be imported.
BLOCKED = """
import sys
for name in ("litestar", "uvicorn"):
    sys.modules[name] = None  # an import of it raises ImportError
import klagomal
from klagomal.cli import main
status = main(sys.argv[1:])
assert not any(n.split(".")[0] in ("litestar", "uvicorn") and sys.modules[n] for n in sys.modules)
sys.exit(status)
"""


def _run(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKED, "--db", f"sqlite:///{tmp_path / 'k.db'}", *argv],
        env=child_env(KLAGOMAL_USER="nora.lind"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_klagomal_and_its_commands_run_without_the_web_extra(tmp_path: Path) -> None:
    done = _run(tmp_path, "init")
    assert done.returncode == 0, done.stderr
    done = _run(tmp_path, "apikey", "create", "--for-user", "omar.ali", "--name", "E-tjänst")
    assert done.returncode == 0, done.stderr


def test_serve_without_the_web_extra_says_what_to_install(tmp_path: Path) -> None:
    done = _run(tmp_path, "serve")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        "klagomal: webbservern behöver tillägget 'web', som saknas (litestar, uvicorn); "
        "installera det med pip install 'klagomal[web]'\n"
    )


def test_serve_on_a_port_in_use_says_so_in_swedish(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "klagomal.cli",
                "--db",
                f"sqlite:///{tmp_path / 'k.db'}",
                "serve",
                "--port",
                str(port),
            ],
            env=child_env(),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr == f"klagomal: kan inte ta emot HTTP på 127.0.0.1:{port}: adressen används redan\n"

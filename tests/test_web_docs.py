"""The curl session of docs/api.md runs as shown, against a real
``klagomal serve`` (tests/test_web_server.py starts it)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.test_web_server import start_server, stop

DOCS_API = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def curl_session() -> tuple[list[str], str]:
    """The commands of the console block under "A curl session" (a line
    ending in a backslash goes on, as in a shell) and its expected output."""
    lines = DOCS_API.read_text(encoding="utf-8").splitlines()
    start = lines.index("## A curl session")
    fence = next(i for i in range(start, len(lines)) if lines[i].startswith("```console"))
    end = next(i for i in range(fence + 1, len(lines)) if lines[i].startswith("```"))
    commands: list[str] = []
    output: list[str] = []
    going_on = False
    for line in lines[fence + 1 : end]:
        if going_on or (line.startswith("$ ") and not going_on):
            text = line if going_on else line[2:]
            if going_on:
                commands[-1] += "\n" + text
            else:
                commands.append(text)
            going_on = line.endswith("\\") or commands[-1].count("'") % 2 == 1
        else:
            output.append(line)
    return commands, "".join(f"{line}\n" for line in output)


def test_the_session_covers_the_conventions() -> None:
    commands, expected = curl_session()
    assert len(commands) >= 8
    for shown in ("401", "428", "412", "409", "403", "handlaggning"):
        assert shown in expected


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="the session uses curl and jq")
def test_the_curl_session_in_the_docs_runs_as_shown(tmp_path: Path) -> None:
    server = start_server(f"sqlite:///{tmp_path / 'klagomal.db'}", tmp_path)
    try:
        commands, expected = curl_session()
        script = "set -e\n" + "\n".join(commands) + "\n"
        done = subprocess.run(
            ["bash", "-c", script],
            env={
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "BASE": server.base,
                "KEY": server.keys["kontaktcenter"],
                "OMAR": server.keys["omar.ali"],
            },
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        stop(server)
    assert done.returncode == 0, done.stderr
    # The reference's year is the server's; the docs show 2026.
    assert done.stdout == expected.replace("2026-", f"{dt.date.today().year}-")

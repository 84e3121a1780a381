"""docs/cli.md against the parser: every command ``klagomal --help`` lists
has its section (``### name``) and its row in the table of commands, read
from the parser itself; and the example of ``serve`` runs as shown (the
examples of ``apikey`` and ``webhook`` are doctests, run by Sybil).
"""

from __future__ import annotations

import argparse
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from tests.test_cli import DOCS_CLI, console_block

from klagomal.cli import _build_parser


def _commands() -> list[str]:
    parser = _build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(sub.choices)


def test_every_command_has_its_section_and_its_row() -> None:
    text = DOCS_CLI.read_text(encoding="utf-8")
    sections = set(re.findall(r"^### ([\w-]+)$", text, re.MULTILINE))
    rows = re.findall(r"^\| \[`([\w-]+)`\]\(#([\w-]+)\) \|", text, re.MULTILINE)
    commands = _commands()
    assert len(commands) > 40  # read from the parser, not a list of a few
    assert [c for c in commands if c not in sections] == []
    assert sorted(c for c in commands if c not in {name for name, _a in rows}) == []
    # Each row links to its own section, and names a command that exists.
    assert [(name, anchor) for name, anchor in rows if name != anchor or name not in commands] == []


def test_every_subcommand_of_a_section_is_in_its_synopsis() -> None:
    """``apikey create/list/revoke``, ``webhook add/...``: each subcommand the
    parser has is in the synopsis block of its command's section."""
    text = DOCS_CLI.read_text(encoding="utf-8")
    parser = _build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    missing = []
    for name, command in sub.choices.items():
        nested = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
        if not nested:
            continue
        section = text.split(f"\n### {name}\n", 1)[1].split("\n### ", 1)[0]
        synopsis = section.split("```text\n", 1)[1].split("```", 1)[0]
        missing += [
            f"{name} {s}"
            for s in nested[0].choices
            if not re.search(rf"^klagomal (\[[^]]*\] )*{name} {s}( |$)", synopsis, re.MULTILINE)
        ]
    assert missing == []


def test_the_serve_example_runs_as_shown() -> None:
    pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")
    from tests.test_web_server import child_env, free_port

    ((command, expected),) = console_block(heading="### serve")
    argv = shlex.split(command[2:])
    assert argv == ["klagomal", "serve"]
    port = free_port()
    # The documented command, on a free port instead of 8000 (which may be taken here).
    process = subprocess.Popen(
        [sys.executable, "-m", "klagomal.cli", "--user", "system", *argv[1:], "--port", str(port)],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    rest = ""
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line == expected.replace(":8000/", f":{port}/")
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/openapi.json", timeout=5) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "klagomal serve did not answer"
                time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C, as the line says
        _out, rest = process.communicate(timeout=20)
    # Stopped as every command Ctrl-C interrupts, with nothing else said.
    assert (process.returncode, rest) == (130, "klagomal: avbrutet\n")

"""The command line with installed plugins, and what it lets through to stderr.

A plugin here is really installed: a module and its ``.dist-info`` with an
entry point of the group ``klagomal`` in a folder on ``PYTHONPATH``, which
``importlib.metadata`` finds as it finds any installed distribution, and
``klagomal`` runs as a real process.

The promise checked (README, docs/cli.md): what a user sees on stderr is
plain Swedish on one line per message, never a traceback, whichever part of
klagomal (or a plugin) logs it; the technical detail only with
``KLAGOMAL_DEBUG=1``.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from klagomal.cli.base import REPORTED as CLI_REPORTED
from klagomal.notices.outbox import REPORTED

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "klagomal"

#: Levels a user sees on stderr (``StderrLog`` shows WARNING and up).
SHOWN_LEVELS = {"warning", "error", "exception", "critical"}


def install(site: Path, module: str, source: str, entry_point: str, version: str = "0.1.0") -> None:
    """Install *module* (its *source*) into *site* as a distribution named
    ``klagomal-<module>`` whose entry point is ``entry_point = module:plugin``."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    dist = site / f"klagomal_{module}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: klagomal-{module}\nVersion: {version}\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(f"[klagomal]\n{entry_point} = {module}:plugin\n", encoding="utf-8")


def klagomal(tmp_path: Path, site: Path, *argv: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
    """``klagomal`` as a real process, with the plugins installed in *site*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAGOMAL_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(site), str(ROOT / "src")]),
        KLAGOMAL_USER="system",
        KLAGOMAL_DB=f"sqlite:///{tmp_path / 'k.db'}",
    )
    if debug:
        env["KLAGOMAL_DEBUG"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "klagomal.cli", *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


REGISTER = (
    "--today", "2026-03-02", "register", "--kind", "klagomal", "--channel", "telefon",
    "--unit", "soc-aldre-hemtjanst-norr", "--text", "Hemtjänsten kom inte.", "--anonymous",
)  # fmt: skip

BROKEN_ROUTE = """
    from klagomal import hookimpl

    class Trasig:
        @hookimpl
        def klagomal_route(self, intake):
            raise RuntimeError("the directory did not answer")

    plugin = Trasig()
"""


def test_a_plugin_route_that_raises_is_one_swedish_line_and_its_traceback_only_when_asked(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    install(site, "trasig", BROKEN_ROUTE, "trasig")
    assert klagomal(tmp_path, site, "init").returncode == 0
    run = klagomal(tmp_path, site, *REGISTER)
    assert run.returncode == 0, run.stderr
    assert "2026-00001" in run.stdout
    assert run.stderr == (
        "klagomal: insticksmodulen 'trasig' fick ett fel i klagomal_route och hoppas över: "
        "RuntimeError: the directory did not answer\n"
    )
    debug = klagomal(tmp_path, site, *REGISTER, debug=True)
    assert debug.returncode == 0, debug.stderr
    assert "Traceback (most recent call last)" in debug.stderr
    assert "[ERROR klagomal.hooks.decisions]" in debug.stderr


def _logging_calls() -> list[tuple[str, int, str, ast.Call]]:
    """Every call of a logger's method in klagomal's source: the file, the
    line, the level and the call."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("log", "logger", "logging")
                and node.func.attr in SHOWN_LEVELS | {"info", "debug", "log"}
            ):
                found.append((str(path.relative_to(ROOT)), node.lineno, node.func.attr, node))
    return found


def test_the_source_logs_through_named_loggers() -> None:
    calls = _logging_calls()
    assert calls, "no logging call found: the test reads the wrong place"
    # logging.warning() and friends go to the root logger, which the CLI
    # does not treat as klagomal's; log.log(level, ...) hides the level.
    assert [(f, n) for f, n, level, call in calls if call.func.value.id == "logging"] == []  # type: ignore[attr-defined]
    assert [(f, n) for f, n, level, _call in calls if level == "log"] == []


@pytest.mark.parametrize(
    ("where", "call"),
    [((f"{f}:{n}"), call) for f, n, level, call in _logging_calls() if level in SHOWN_LEVELS],
)
def test_every_message_a_user_can_see_on_stderr_is_swedish(where: str, call: ast.Call) -> None:
    """A record of level WARNING or above reaches the command line's stderr
    (:class:`klagomal.cli.base.StderrLog`): its message is translatable
    Swedish, ``_("klagomal: ...")``."""
    message = call.args[0] if call.args else None
    swedish = (
        isinstance(message, ast.Call)
        and isinstance(message.func, ast.Name)
        and message.func.id == "_"
        and isinstance(message.args[0], ast.Constant)
        and str(message.args[0].value).startswith("klagomal: ")
    )
    assert swedish, f"{where}: the message of a log record a user sees must be _('klagomal: ...')"


def test_the_cli_and_the_outbox_agree_on_what_the_caller_reports() -> None:
    assert CLI_REPORTED == REPORTED


def test_no_source_writes_to_stderr_outside_the_cli() -> None:
    """Only the command line writes to stderr, where it is made Swedish and
    one line; a library part that printed there would bypass it."""
    writers = []
    for path in sorted(SRC.rglob("*.py")):
        if "cli" in path.relative_to(SRC).parts:
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("sys.stderr", "print(", "traceback.print", "warnings.warn("):
            # The JSON-line log of the long-running faces (serve, uvicorn, the
            # worker) is a logging handler: its lines are the log, without
            # personal data by construction (tests/test_observe.py).
            if needle == "sys.stderr" and path == SRC / "observe" / "logs.py":
                continue
            if needle in text:
                writers.append((str(path.relative_to(ROOT)), needle))
    assert writers == []


# -- docs/plugins.md: the tutorial's plugin, installed ------------------------------------

PLUGINS_DOC = ROOT / "docs" / "plugins.md"


def _tutorial_plugin() -> str:
    """The tutorial's plugin class (the first Python block of docs/plugins.md),
    as the module ``src/klagomal_kof/__init__.py`` the tutorial says to write."""
    text = PLUGINS_DOC.read_text(encoding="utf-8")
    block = text.split("```python\n", 1)[1].split("```", 1)[0]
    code = "\n".join(line[4:] for line in block.splitlines() if line.startswith((">>> ", "... ", "...")))
    return code + "\n\nplugin = KulturOchFritid()\n"


def _console(doc: Path, command: str) -> str:
    """The output under ``$ <command>`` in *doc*'s console block."""
    text = doc.read_text(encoding="utf-8")
    return text.split(f"```console\n$ {command}\n", 1)[1].split("```", 1)[0]


def test_the_plugins_output_in_the_tutorial_is_the_real_one(tmp_path: Path) -> None:
    """The tutorial's plugin, installed as its ``pyproject.toml`` says
    (distribution klagomal-kof 0.1.0, entry point ``kof``): ``klagomal
    plugins`` prints what the docs show, in the same order; the built-in
    plugin's lines are elided there as ``  ...``."""
    site = tmp_path / "site"
    install(site, "kof", _tutorial_plugin(), "kof")
    run = klagomal(tmp_path, site, "plugins")
    assert (run.returncode, run.stderr) == (0, "")
    shown: list[str] = []
    for line in run.stdout.splitlines():
        if line.startswith("  ") and shown and shown[-1] in ("klagomal.builtin", "  ..."):
            line = "  ..."
            if shown[-1] == line:
                continue
        shown.append(line)
    assert "".join(f"{line}\n" for line in shown) == _console(PLUGINS_DOC, "klagomal plugins")


def test_the_tutorial_plugin_reads_the_bath_from_the_organisation(tmp_path: Path) -> None:
    """No unit id is written into the tutorial's plugin: it finds the bath in
    the kommun's file, so a kommun whose bath has another id gets it routed."""
    source = _tutorial_plugin()
    assert "kof-badhus" not in source
    site = tmp_path / "site"
    install(site, "kof", source, "kof")
    org = tmp_path / "kommun.toml"
    example = (SRC / "data" / "exempelkommun.toml").read_text(encoding="utf-8")
    org.write_text(example.replace('"kof-badhus"', '"kof-simhallen"'), encoding="utf-8")
    assert klagomal(tmp_path, site, "init").returncode == 0
    run = klagomal(
        tmp_path, site, "--org", str(org), "--json", "--today", "2026-03-02", "register",
        "--kind", "klagomal", "--channel", "telefon", "--text", "Badhuset var stängt.", "--anonymous",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["unit"] == "kof-simhallen"


# -- a plugin whose template folder is missing --------------------------------------------

MISSING_TEMPLATES = """
    import pathlib

    from klagomal import hookimpl

    class Mallar:
        @hookimpl
        def klagomal_template_dirs(self):
            return [pathlib.Path(__file__).parent / "mallar"]  # left out of the wheel

    plugin = Mallar()
"""


def test_a_plugin_whose_template_folder_is_missing_leaves_every_command_working(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install(site, "mallar", MISSING_TEMPLATES, "mallar")
    folder = site / "mallar"
    warning = (
        f"klagomal: insticksmodulen 'mallar' fick ett fel i klagomal_template_dirs och används inte där: "
        f"ConfigurationError: mallmappen {folder} finns inte; insticksmodulens brevmallar används inte\n"
    )
    init = klagomal(tmp_path, site, "init")
    assert (init.returncode, init.stderr) == (0, warning)
    run = klagomal(tmp_path, site, *REGISTER)
    assert (run.returncode, run.stderr) == (0, warning)
    listed = klagomal(tmp_path, site, "list")
    assert (listed.returncode, listed.stderr) == (0, warning)
    assert "2026-00001" in listed.stdout
    listed = klagomal(tmp_path, site, "plugins")
    assert listed.returncode == 0
    failure = "mallar: fel i klagomal_template_dirs, används inte: ConfigurationError: mallmappen"
    assert f"{failure} {folder} finns inte" in listed.stdout


# -- argparse's own words ------------------------------------------------------------------

#: argparse's messages that only a program's own mistake in building its
#: parser can raise, never a command line a user types.
PARSER_BUILDING = {
    "%(prog)s: error: %(message)s\n",  # Parser.error writes its own line
    "%r is not callable",
    "'required' is an invalid argument for positionals",
    ".__call__() not defined",
    'argument "-" with mode %r',
    "cannot have multiple subparser arguments",
    "cannot merge actions - two groups are named %r",
    "conflicting option string: %s",
    "conflicting subparser alias: %s",
    "conflicting subparser: %s",
    "dest= is required for options like %r",
    "invalid conflict_resolution value: %r",
    "invalid option string %(option)r: must start with a character %(prefix_chars)r",
    "mutually exclusive arguments must be optional",
    "unexpected option string: %s",
    "can't open '%(filename)s': %(error)s",  # argparse.FileType, which klagomal does not use
    "unknown parser %(parser_name)r (choices: %(choices)s)",  # the subparsers' choices check first
    "argument %(argument_name)s: %(message)s",  # the frame of the others, below
}
#: Headings and help, which Parser.format_help makes Swedish.
HEADINGS = {"options", "positional arguments", "show this help message and exit", "usage: "}


def _argparse_messages() -> list[str]:
    import argparse
    import inspect

    tree = ast.parse(inspect.getsource(argparse))
    return sorted(
        {
            node.args[0].value
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("_", "ngettext")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        }
    )


@pytest.mark.parametrize("template", [m for m in _argparse_messages() if m not in PARSER_BUILDING | HEADINGS])
def test_every_argparse_message_a_command_line_can_cause_is_swedish(template: str) -> None:
    """Read from the installed argparse, so that a message a new Python adds
    is found: each, as argparse words it about an argument, comes out Swedish."""
    from klagomal.cli.base import swedish_argparse_message

    sample = re.sub(r"%\((\w+)\)[rs]|%r", "'x'", template).replace("%s", "2")
    english = set(re.findall(r"[a-z]{3,}", re.sub(r"%\(\w+\)[rs]", " ", template))) - {"argument"}

    def leftover(message: str) -> set[str]:
        return set(re.findall(r"[a-z]{3,}", swedish_argparse_message(message))) & english

    # argparse says it about an argument ("argument --flagga: ...") or about
    # the whole command line; either way it reaches the user in Swedish.
    assert not leftover(sample) or not leftover(f"argument --flagga: {sample}"), sample


# -- a bug, and a database klagomal cannot name -------------------------------------------

BROKEN_STORAGE = """
    from klagomal import StorageBackend, hookimpl

    def open_storage(db, converter):
        raise RuntimeError("the storage plugin has a bug")

    class Trasig:
        @hookimpl
        def klagomal_storage_backends(self):
            return [StorageBackend(name="trasig", schemes=("sqlite",), open=open_storage)]

    plugin = Trasig()
"""


def test_a_bug_is_one_swedish_line_and_its_english_detail_only_when_asked(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install(site, "trasig", BROKEN_STORAGE, "trasig")
    run = klagomal(tmp_path, site, "init")
    assert run.returncode == 3
    assert run.stderr == (
        "klagomal: oväntat fel (RuntimeError) i klagomal; kör igen med KLAGOMAL_DEBUG=1 för detaljer, "
        "och rapportera felet\n"
    )
    debug = klagomal(tmp_path, site, "init", debug=True)
    assert "Traceback (most recent call last)" in debug.stderr
    assert "RuntimeError: the storage plugin has a bug" in debug.stderr


BROKEN_DATABASE = """
    import sqlalchemy.exc

    from klagomal import StorageBackend, hookimpl

    def open_storage(db, converter):
        raise sqlalchemy.exc.OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))

    class Trasig:
        @hookimpl
        def klagomal_storage_backends(self):
            return [StorageBackend(name="trasig", schemes=("sqlite",), open=open_storage)]

    plugin = Trasig()
"""


def test_a_database_failure_klagomal_cannot_name_is_one_swedish_line(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install(site, "trasig", BROKEN_DATABASE, "trasig")
    run = klagomal(tmp_path, site, "init")
    assert run.returncode == 3
    assert run.stderr == (
        "klagomal: databasfel (ConnectionError): databasen kunde inte användas; kör igen med "
        "KLAGOMAL_DEBUG=1 för databasens eget meddelande\n"
    )
    debug = klagomal(tmp_path, site, "init", debug=True)
    assert "server closed the connection" in debug.stderr

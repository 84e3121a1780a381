"""The command line as a package (issue 18): one module per command group,
each registering its own commands, and the global options taken after the
command as well as before it.

The commands and the global options are read from the parser, so that a
command or an option added later is covered.  That the outputs and exit
statuses did not change is shown by tests/test_cli.py, test_cli_hygiene.py
and test_canaries.py.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import pkgutil
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import klagomal.cli
from klagomal.cli import COMMANDS, _build_parser, main
from klagomal.cli.base import CommandGroup

PARSER = _build_parser()

# -- reading the parser ------------------------------------------------------------


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[Any] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command that runs, with its parser: ``list``, ``intake email``."""
    sub = _subparsers(parser)
    if sub is None:
        yield path, parser
        return
    for name, child in sub.choices.items():
        yield from _leaves(child, (*path, name))


LEAVES = dict(_leaves(PARSER))

#: The global options, as the parser has them before the command.
GLOBALS = [
    action
    for action in PARSER._actions
    if action.option_strings and not isinstance(action, argparse._HelpAction)
]


def _value(action: argparse.Action) -> str:
    """A value that *action* takes."""
    if action.choices is not None:
        return str(next(iter(action.choices)))
    for candidate in ("2026-03-02", "1", "x"):
        try:
            if callable(action.type):
                action.type(candidate)
        except (argparse.ArgumentTypeError, ValueError, TypeError):
            continue
        return candidate
    raise AssertionError(f"no value for {action}")  # pragma: no cover


def _required(parser: argparse.ArgumentParser) -> list[str]:
    """The arguments *parser* cannot do without, each with a value it takes."""
    options: list[str] = []
    positionals: list[str] = []
    for group in parser._mutually_exclusive_groups:
        if group.required:
            first = group._group_actions[0]
            options += [first.option_strings[0]] + ([] if first.nargs == 0 else [_value(first)])
    for action in parser._actions:
        if not action.required or isinstance(action, argparse._SubParsersAction):
            continue
        if action.option_strings:
            options += [action.option_strings[0], _value(action)]
        else:
            positionals.append(_value(action))
    return [*options, *positionals]


def _given(action: argparse.Action, which: str) -> tuple[list[str], Any]:
    """The global option *action* on a command line, with the value it
    stands for: *which* (``"före"`` or ``"efter"``) tells two values apart."""
    option = action.option_strings[0]
    if action.nargs == 0:
        return [option], action.const
    text = {"före": "2026-03-02", "efter": "2026-03-03"}[which] if action.type else f"{which}-{action.dest}"
    return [option, text], action.type(text) if callable(action.type) else text


def _parse(argv: list[str]) -> argparse.Namespace:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            return PARSER.parse_args(argv)
        except SystemExit:  # pragma: no cover - the assertion below says why
            raise AssertionError(f"klagomal {' '.join(argv)}: {err.getvalue()}") from None


# -- global options after the command --------------------------------------------


def test_the_global_options_are_read_from_the_parser() -> None:
    assert [a.option_strings[0] for a in GLOBALS] == ["--db", "--org", "--today", "--user", "--json"]
    assert len(LEAVES) > len(COMMANDS)  # subcommands of subcommands included


@pytest.mark.parametrize("path", list(LEAVES), ids=" ".join)
def test_every_global_option_is_taken_after_every_command(path: tuple[str, ...]) -> None:
    required = _required(LEAVES[path])
    for action in GLOBALS:
        before, _ = _given(action, "före")
        after, expected = _given(action, "efter")
        # After the command, and after each level of it (`intake --json email`).
        for level in range(1, len(path) + 1):
            argv = [*path[:level], *after, *path[level:], *required]
            assert getattr(_parse(argv), action.dest) == expected, argv
            # Given on both sides, the value after the command wins.
            argv = [*before, *path[:level], *after, *path[level:], *required]
            assert getattr(_parse(argv), action.dest) == expected, argv
        # Given only before the command, it stands.
        _, expected_before = _given(action, "före")
        assert getattr(_parse([*before, *path, *required]), action.dest) == expected_before


@pytest.mark.parametrize("path", list(LEAVES), ids=" ".join)
def test_a_commands_help_shows_only_its_own_options(path: tuple[str, ...]) -> None:
    usage = LEAVES[path].format_usage()
    for action in GLOBALS:
        assert action.option_strings[0] not in usage


def test_an_abbreviation_means_what_it_meant() -> None:
    # --u is --unit in register, though --user is now taken after it too.
    args = _parse(["register", "--kind", "klagomal", "--channel", "brev", "--text", "x", "--u", "kof-badhus"])
    assert (args.unit, args.user) == ("kof-badhus", "system")
    # A global option after the command goes by its full name only.
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit_:
        PARSER.parse_args(["list", "--jso"])
    assert exit_.value.code == 2
    assert err.getvalue().splitlines()[-1] == "klagomal: fel: okända argument: --jso"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(list(argv), stdout=out)
    return status, out.getvalue(), err.getvalue()


def test_global_options_after_the_command_run_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KLAGOMAL_DB", "KLAGOMAL_ORG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'efter.db'}"
    assert _run("init", "--db", db)[0] == 0
    status, out, _ = _run(
        *("register", "--kind", "klagomal", "--channel", "brev", "--unit", "kof-badhus"),
        *("--text", "Badhuset var stängt.", "--name", "Eva Ek", "--today", "2026-03-02", "--json"),
        *("--db", db),
    )
    assert status == 0
    assert json.loads(out)["received"] == "2026-03-02"
    # The same output whichever side of the command the options are on.
    before = _run("--db", db, "--json", "--today", "2026-03-03", "list")
    after = _run("list", "--db", db, "--json", "--today", "2026-03-03")
    assert before == after
    assert [c["reference"] for c in json.loads(after[1])["cases"]] == ["2026-00001"]
    # The value after the command wins: the database, and the user.
    assert _run("--db", "sqlite:///saknas.db", "show", "2026-00001", "--db", db)[0] == 0
    assert _run("--user", "okand", "show", "2026-00001", "--db", db, "--user", "system")[0] == 0
    status, out, err = _run("--user", "system", "show", "2026-00001", "--db", db, "--user", "okand")
    assert (status, out) == (77, "")
    assert err.startswith("klagomal: ")


# -- one module per command group --------------------------------------------------


def _command_modules() -> dict[str, CommandGroup]:
    """Every module of klagomal.cli that registers commands, with its group."""
    found = {}
    for info in pkgutil.iter_modules(klagomal.cli.__path__):
        if info.name == "__main__":
            continue
        module = importlib.import_module(f"klagomal.cli.{info.name}")
        for value in vars(module).values():
            if isinstance(value, CommandGroup):
                assert value.module == module.__name__, (info.name, value.module)
                found[info.name] = value
    return found


def test_each_command_module_registers_only_its_own_commands() -> None:
    modules = _command_modules()
    assert set(modules) == set(COMMANDS.values())
    for name, group in modules.items():
        assert {c.name for c in group} == {c for c, m in COMMANDS.items() if m == name}, name
        for command in group:
            assert command.module == f"klagomal.cli.{name}"


def test_every_command_belongs_to_exactly_one_module() -> None:
    owners: dict[str, list[str]] = {}
    for name, group in _command_modules().items():
        for command in group:
            owners.setdefault(command.name, []).append(name)
    sub = _subparsers(PARSER)
    assert sub is not None
    assert list(sub.choices) == list(COMMANDS)  # in the order klagomal --help lists them
    assert owners == {name: [module] for name, module in COMMANDS.items()}


@pytest.mark.parametrize("path", list(LEAVES), ids=" ".join)
def test_a_commands_handler_lives_in_its_module(path: tuple[str, ...]) -> None:
    run = LEAVES[path].get_default("run")
    assert run.__module__ == f"klagomal.cli.{COMMANDS[path[0]]}", path


def test_no_module_is_over_a_thousand_lines() -> None:
    for path in Path(klagomal.cli.__file__).parent.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 1000, path.name


@pytest.mark.parametrize("argv", [["--help"], ["list", "--help"], ["intake", "email", "--help"]])
def test_help_loads_no_database_layer_templates_or_plugins(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from klagomal.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('sqlalchemy', 'jinja2', 'pluggy', 'cattrs', 'alembic', 'klagomal.app')\n"
        "print(','.join(m for m in heavy if m in sys.modules) or 'none')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[-1] == "none"


def test_the_cli_prints_tables_one_way() -> None:
    """Columns are laid out by :func:`klagomal.cli.base.table_lines` alone:
    no other module of the command line pads a cell by hand (``ljust``,
    ``rjust``, ``center``, an aligned format such as ``{id:<28}``), nor
    calls another table printer."""
    cli = Path(klagomal.cli.__file__).parent
    padding = re.compile(
        r"\.(ljust|rjust|center)\("  # padding a cell
        r"|\{[^{}]*:[^{}]*[<>^]\d*\}|:[<>^]\{"  # an aligned format: {id:<28}, {label:<{width}}
        r"|%-?\d+s"  # the same, the old way
        r"|:\s{4,}\{"  # a label padded by hand in a message: 'anonyma ärenden:        {n}'
        r"|render\(self\.labels\)"  # the reports' own tables
    )
    found = []
    for path in sorted(cli.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        if path.name == "base.py":
            start = source.index("def table_lines(")
            end = source.index("\ndef ", start + 1)
            source = source[:start] + source[end:]
        found += [f"{path.name}: {m.group(0)}" for m in padding.finditer(source)]
    assert found == []

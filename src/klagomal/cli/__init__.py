"""The ``klagomal`` command line.

The command and option names are a contract: scripts depend on them.  What a
handler reads (help, results, errors) is Swedish and translatable; with
``--json`` every command prints exactly one JSON object on stdout.  Errors go
to stderr in plain Swedish with a non-zero exit status, never as a traceback:
1 for a refused or failed step or bad input the library finds, 2 for a
command line that cannot be parsed, 77 for a denial, 3 only for a bug.

Nothing stored or typed reaches the terminal raw: every value shown on one
line goes through :func:`~klagomal.core.text_rules.one_line`, a text of several
lines through :func:`~klagomal.core.text_rules.several_lines`, and all of stdout
and stderr through :func:`~klagomal.core.text_rules.terminal_safe`.

Each command lives in the module of its concept, which registers it
(:class:`~klagomal.cli.base.CommandGroup`) and holds its handler:

- :mod:`klagomal.cli.cases`: a case and its routine: ``register``, ``show``,
  ``list`` and the steps from ``forward`` to ``resolve``;
- :mod:`klagomal.cli.case_file`: what is added to a case's file: ``note``,
  ``attach``, ``correct-contact``;
- :mod:`klagomal.cli.intake`: what comes in: ``intake``, ``serve-smtp``,
  ``import-cases``;
- :mod:`klagomal.cli.notices`: what goes out: ``letter``, ``deliver``,
  ``outbox``, ``remind``;
- :mod:`klagomal.cli.reports`: ``report``;
- :mod:`klagomal.cli.records`: public records, secrecy, GDPR, disposal and
  the audit log: ``whoami``, ``describe``, ``secrecy``, ``register-extract``,
  ``extract``, ``person``, ``gallra``, ``audit``;
- :mod:`klagomal.cli.worker`: the jobs that run by themselves: ``worker``, ``jobs``;
- :mod:`klagomal.cli.admin`: the installation: ``init``, ``units``,
  ``plugins``, ``export``, ``import``, ``demo``.

:mod:`klagomal.cli.base` holds what they share: the parser, the global
options, the output and the errors.  :data:`COMMANDS` is the table of
contents; this module builds the parser from it and runs a command.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import re
import sys
from collections.abc import Sequence
from typing import TextIO, cast

from klagomal.cli.base import (
    DEBUG_VARIABLE,
    EXIT_DENIED,
    Command,
    Output,
    Parser,
    SafeStream,
    add_global_options,
    command_parsers,
    debugging,
    organisation,
    os_problem,
    print_error,
    user_facing_logs,
)
from klagomal.core.errors import AccessDeniedError, KlagomalError
from klagomal.core.i18n import _

__all__ = ["main"]

#: Every command, in the order ``klagomal --help`` lists them, with the
#: module of :mod:`klagomal.cli` that defines it.
COMMANDS: dict[str, str] = {
    "init": "admin",
    "demo": "admin",
    "units": "admin",
    "organisation": "admin",
    "register": "cases",
    "show": "cases",
    "list": "cases",
    "search": "search",
    "related": "related",
    "forward": "cases",
    "acknowledge": "cases",
    "assign": "cases",
    "inform": "cases",
    "postpone": "cases",
    "pause": "cases",
    "resume": "cases",
    "answer": "cases",
    "action": "cases",
    "close": "cases",
    "escalate": "cases",
    "pass-on": "cases",
    "guide": "cases",
    "reclassify": "cases",
    "flag": "threats",
    "unflag": "threats",
    "note": "case_file",
    "attach": "case_file",
    "correct-contact": "case_file",
    "locate": "case_file",
    "export": "admin",
    "import": "admin",
    "import-cases": "intake",
    "plugins": "admin",
    "letter": "notices",
    "phrases": "phrases",
    "report": "reports",
    "whoami": "records",
    "describe": "records",
    "secrecy": "records",
    "register-extract": "records",
    "extract": "records",
    "person": "records",
    "gallra": "records",
    "audit": "records",
    "resolve": "cases",
    "intake": "intake",
    "serve-smtp": "intake",
    "serve": "serve",
    "worker": "worker",
    "jobs": "worker",
    "apikey": "apikeys",
    "deliver": "notices",
    "outbox": "notices",
    "remind": "notices",
    "webhook": "webhooks",
}


def defined_commands() -> dict[str, Command]:
    """Every command, by name, as its module defines it; an error if
    :data:`COMMANDS` and the modules disagree."""
    found: dict[str, Command] = {}
    for module in dict.fromkeys(COMMANDS.values()):
        for command in importlib.import_module(f"klagomal.cli.{module}").commands:
            if COMMANDS.get(command.name) != module:
                raise RuntimeError(f"klagomal.cli.{module} defines {command.name!r}: list it in COMMANDS")
            found[command.name] = command
    missing = set(COMMANDS) - set(found)
    if missing:
        raise RuntimeError(f"no module defines the commands {sorted(missing)} that COMMANDS lists")
    return found


def _build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command; or, when *argv* plainly names a command
    (:func:`_named_command`), of that command alone, which parses *argv*
    exactly as the whole parser would, without importing and building the
    other forty: a handler's every command starts faster."""
    parser = Parser(
        prog="klagomal",
        description=_("Klagomål, förslag och beröm: registrera, handlägg och följ upp synpunkter."),
    )
    add_global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="KOMMANDO", parser_class=Parser)
    sub.required = True
    named = None if argv is None else _named_command(parser, argv)
    if named is None:
        commands = defined_commands()
        for name in COMMANDS:
            commands[name].add_to(sub)
    else:
        module = importlib.import_module(f"klagomal.cli.{COMMANDS[named]}")
        (command,) = [command for command in module.commands if command.name == named]
        command.add_to(sub)
    for command_parser in command_parsers(parser):
        add_global_options(command_parser, after_command=True)
    return parser


def _named_command(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str | None:
    """The command *argv* names, when nothing before it but global options
    written out in full (``--db URL``, ``--db=URL``, ``--json``) can change
    what it means; else ``None`` (``--help``, an abbreviation, ``--``, no
    command, a word that is no command), and the whole parser decides."""
    options = parser._option_string_actions
    arguments = iter(argv)
    for argument in arguments:
        if not argument.startswith("-"):
            return argument if argument in COMMANDS else None
        action = options.get(argument.split("=", 1)[0])
        if action is None or isinstance(action, argparse._HelpAction):
            return None
        if action.nargs != 0 and "=" not in argument:
            next(arguments, None)  # its value, whatever it looks like
    return None


def _not_text(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit 2 if an argument, or an environment variable that gives one
    (``KLAGOMAL_USER``, ``KLAGOMAL_DB``, ``KLAGOMAL_ORG``), is not text: bytes
    that are not UTF-8 arrive as lone surrogates (``surrogateescape``) and
    could be neither stored nor printed."""
    names = _argument_names(parser)
    for dest, value in vars(args).items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and re.search("[\ud800-\udfff]", item):
                parser.error(
                    _(
                        "argument {name}: '{value}' är inte giltig text (UTF-8); ställ in terminalen på "
                        "UTF-8 eller skriv om tecknen"
                    ).format(name=names.get(dest, dest), value=item)
                )


def _argument_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """How the command line names each argument, by its ``dest``: its first
    option (``--text``) or its metavar (``ÄRENDE``), in every subcommand."""
    names: dict[str, str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                for dest, name in _argument_names(sub).items():
                    names.setdefault(dest, name)
        elif action.option_strings:
            names.setdefault(action.dest, action.option_strings[0])
        elif isinstance(action.metavar, str):
            names.setdefault(action.dest, action.metavar)
    return names


#: SQLite's result codes for a file that is not a usable database (sqlite3.h).
_SQLITE_FILE_CODES = {
    8: _("filen är skrivskyddad"),  # SQLITE_READONLY
    10: _("filen kan inte läsas eller skrivas"),  # SQLITE_IOERR
    11: _("filen är skadad"),  # SQLITE_CORRUPT
    13: _("disken är full"),  # SQLITE_FULL
    14: _("filen kan inte öppnas"),  # SQLITE_CANTOPEN
    23: _("behörighet saknas"),  # SQLITE_AUTH
    26: _("filen är ingen SQLite-databas"),  # SQLITE_NOTADB
}


def _database_file_problem(exc: BaseException, args: argparse.Namespace) -> str | None:
    """A Swedish line when *exc* says that the SQLite file ``--db`` points
    at is no usable database (a text file, a damaged or read-only file):
    bad input, not a bug."""
    from sqlalchemy.exc import DBAPIError

    orig = exc.orig if isinstance(exc, DBAPIError) else None
    code = getattr(orig, "sqlite_errorcode", None)
    if code is None:
        return None
    reason = _SQLITE_FILE_CODES.get(code & 0xFF)  # the primary code; extended codes add high bits
    if reason is None:
        return None
    from klagomal.app import DEFAULT_DB

    return _("databasen {db} kan inte användas: {reason}; kontrollera --db").format(
        db=args.db or DEFAULT_DB, reason=reason
    )


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """Run the command line; return the exit status.

    0: done; 1: the step was refused or failed, or the input was wrong
    (found by klagomal, not by the parser); 2: the command line cannot be
    parsed (argparse, and arguments that are not text); 77: the acting user
    may not do it; 3: a bug.  Every message is Swedish, on one line of
    stderr; stdout and stderr get no control character raw.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _build_parser(argv)
    args = parser.parse_args(argv)
    _not_text(parser, args)
    out = Output(args, cast(TextIO, SafeStream(stdout or sys.stdout)))
    with contextlib.redirect_stderr(cast(TextIO, SafeStream(sys.stderr))), user_facing_logs():
        return _run(args, out)


def _denial(exc: AccessDeniedError) -> AccessDeniedError:
    """The denial as the command line says it: without a user, how to name
    one here (``--user``, ``KLAGOMAL_USER``), not in the library's words."""
    from klagomal.core.errors import NoUserError

    if not isinstance(exc, NoUserError):
        return exc
    reason = _("ingen användare är angiven; ange en med --user eller miljövariabeln KLAGOMAL_USER")
    return NoUserError(exc.operation, exc.reference, reason)


def _run(args: argparse.Namespace, out: Output) -> int:
    try:
        if args.reads_organisation:
            organisation(args)  # a file start-up would refuse is refused by every command alike
        status: int = args.run(args, out)
    except AccessDeniedError as exc:
        print_error(_denial(exc))
        return EXIT_DENIED
    except KlagomalError as exc:
        print_error(exc)
        return 1
    except KeyboardInterrupt:  # pragma: no cover
        print_error(_("avbrutet"))
        return 130
    except OSError as exc:
        # A file or address the handler named: missing, not allowed, a directory, in use.
        print_error(os_problem(exc))
        return 1
    except Exception as exc:
        # A handler must never see a traceback; the cause still goes with the message.
        from sqlalchemy.exc import SQLAlchemyError

        problem = _database_file_problem(exc, args)
        if problem is not None:
            print_error(problem)
            return 1
        # The reason is the driver's or Python's, in English: the
        # technical detail, for whoever asks for it (KLAGOMAL_DEBUG=1).
        if isinstance(exc, SQLAlchemyError):
            reason = getattr(exc, "orig", None) or exc
            print_error(
                _(
                    "databasfel ({kind}): databasen kunde inte användas; kör igen med {variable}=1 "
                    "för databasens eget meddelande"
                ).format(kind=type(reason).__name__, variable=DEBUG_VARIABLE)
            )
        else:
            print_error(
                _(
                    "oväntat fel ({kind}) i klagomal; kör igen med {variable}=1 för detaljer, "
                    "och rapportera felet"
                ).format(kind=type(exc).__name__, variable=DEBUG_VARIABLE)
            )
        if debugging():
            raise
        return 3
    return status

"""What every command module of :mod:`klagomal.cli` builds on.

The Swedish argument parser and its argument types, the global options, the
registration of a command (:class:`CommandGroup`), the output (:class:`Output`,
one JSON object with ``--json``), opening the :class:`~klagomal.app.Klagomal`
instance a command works on, and the helpers that keep what is shown on one
line (:func:`~klagomal.core.text_rules.one_line`).

Only the standard library and klagomal's light core are imported here, so that
``klagomal --help`` loads no database layer: a command imports what it needs
when it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import errno
import functools
import json
import logging
import os
import re
import socket
import sys
import warnings
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

import attrs

from klagomal.core.i18n import _, ngettext
from klagomal.core.text_rules import one_line, terminal_safe

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.app import Klagomal
    from klagomal.core.model import Case
    from klagomal.core.organisation import Organisation
    from klagomal.notices.outbox import Notice

#: The exit status when the acting user may not do what was asked
#: (sysexits.h EX_NOPERM), so that a script can tell a denial from an error.
EXIT_DENIED = 77

# -- the parser ----------------------------------------------------------------

#: argparse's own messages are English; these patterns make them Swedish.
_ARGPARSE_MESSAGES: tuple[tuple[str, str], ...] = (
    (r"the following arguments are required: (.*)", "följande argument saknas: {0}"),
    (r"unrecognized arguments: (.*)", "okända argument: {0}"),
    (
        r"argument (\S+): invalid choice: (.*?) \(choose from (.*)\)",
        "argument {0}: ogiltigt val {1} (välj bland {2})",
    ),
    (r"argument (\S+): expected one argument", "argument {0}: ett värde behövs"),
    (r"argument (\S+): expected at most one argument", "argument {0}: högst ett värde"),
    (r"argument (\S+): expected at least one argument", "argument {0}: minst ett värde behövs"),
    (r"argument (\S+): expected (\d+) arguments?", "argument {0}: {1} värden behövs"),
    (r"argument (\S+): ignored explicit argument (.*)", "argument {0} tar inget värde: {1}"),
    (r"argument (\S+): invalid \S+ value: (.*)", "argument {0}: ogiltigt värde {1}"),
    (r"ambiguous option: (\S+) could match (.*)", "flaggan {0} är tvetydig: den kan betyda {1}"),
    (r"argument (\S+): not allowed with argument (\S+)", "argument {0} kan inte kombineras med {1}"),
    (r"one of the arguments (.*) is required", "ett av argumenten {0} krävs"),
    (r"argument (\S+): (.*)", "argument {0}: {1}"),
)


#: argparse's fixed headings, in Swedish.
_ARGPARSE_HEADINGS = (
    ("usage: ", "användning: "),
    ("\noptions:\n", "\nflaggor:\n"),
    ("\npositional arguments:\n", "\nargument:\n"),
    ("show this help message and exit", "visa denna hjälp och avsluta"),
)


class Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Options that only their full name gives (see :func:`add_global_options`).
        self.exact_only: set[argparse.Action] = set()

    def format_usage(self) -> str:
        return self._swedish(super().format_usage())

    def format_help(self) -> str:
        return self._swedish(super().format_help())

    @staticmethod
    def _swedish(text: str) -> str:
        for english, swedish in _ARGPARSE_HEADINGS:
            text = text.replace(english, _(swedish))
        return text

    def error(self, message: str) -> NoReturn:
        message = swedish_argparse_message(message)
        self.print_usage(sys.stderr)
        self.exit(2, terminal_safe(_("klagomal: fel: {message}\n").format(message=one_line(message))))

    def _get_option_tuples(self, option_string: str) -> list[Any]:
        # What an abbreviation means ("--u" for "--unit") stays as it was
        # before the global options were accepted after the command too.
        return [t for t in super()._get_option_tuples(option_string) if t[0] not in self.exact_only]


def swedish_argparse_message(message: str) -> str:
    """One of argparse's English messages about a command line, in Swedish."""
    for pattern, swedish in _ARGPARSE_MESSAGES:
        match = re.fullmatch(pattern, message)
        if match:
            return _(swedish).format(*match.groups())
    return message


def iso_date(value: str) -> dt.date:
    try:
        # fromisoformat alone would also take 20260302 and 2026-W10-1.
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("'{value}' är inget datum i formen ÅÅÅÅ-MM-DD").format(value=value)
        ) from None


#: The largest id or count the database holds: the id columns are INTEGER,
#: 32 bits on PostgreSQL and MariaDB.
SQL_INT_MAX = 2**31 - 1


def _number(n: int) -> str:
    """*n* as Swedes write it: 2 147 483 647, but 2099 (a year, a port)."""
    return f"{n:,}".replace(",", " ") if abs(n) >= 10_000 else str(n)


def integer(low: int, high: int, what: str) -> Callable[[str], int]:
    """An argparse type: a whole number from *low* to *high*, or exit 2
    naming *what* (Swedish, e.g. ``"portnummer"``) and the bounds, so that a
    number the database or the operating system cannot take never gets
    further than the command line."""

    def parse(value: str) -> int:
        text = value.strip()
        if re.fullmatch(r"[+-]?[0-9]{1,19}", text) and low <= int(text) <= high:
            return int(text)
        raise argparse.ArgumentTypeError(
            _("'{value}' är inget {what} (ett heltal från {low} till {high})").format(
                value=value, what=what, low=_number(low), high=_number(high)
            )
        )

    return parse


working_days = integer(0, 10_000, _("antal arbetsdagar"))
identifier = integer(1, SQL_INT_MAX, _("id"))
count = integer(1, SQL_INT_MAX, _("antal"))


def add_global_options(parser: Parser, *, after_command: bool = False) -> None:
    """The options every command takes: ``--db``, ``--org``, ``--today``,
    ``--user`` and ``--json``.

    Before the command (``klagomal --json list``) they have their defaults and
    their help.  *after_command* adds them to a command's own parser
    (``klagomal list --json``): there they have no default, so that a value
    given before the command stands unless one is given after it, which then
    wins; no help, so that a command's help shows its own options; and no
    abbreviation, so that an abbreviation of a command's option means what it
    always meant."""

    def option(*names: str, **kwargs: Any) -> None:
        if after_command:
            kwargs.update(default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        action = parser.add_argument(*names, **kwargs)
        if after_command:
            parser.exact_only.add(action)

    option(
        "--db",
        metavar="URL",
        default=os.environ.get("KLAGOMAL_DB"),
        help=_("databasadress (SQLAlchemy-URL); standard sqlite:///klagomal.db eller $KLAGOMAL_DB"),
    )
    option(
        "--org",
        default=os.environ.get("KLAGOMAL_ORG"),
        metavar="FIL",
        help=_("organisationsfil (TOML); standard är Exempelkommun eller $KLAGOMAL_ORG"),
    )
    option("--today", type=iso_date, metavar="ÅÅÅÅ-MM-DD", help=_("låtsas att dagens datum är detta"))
    option(
        "--user",
        default=os.environ.get("KLAGOMAL_USER"),
        metavar="ANVÄNDARE",
        help=_("vem som utför kommandot (användar-id, se [[anvandare]]); standard $KLAGOMAL_USER"),
    )
    option("--json", action="store_true", help=_("skriv resultatet som ett JSON-objekt"))


def command_parsers(parser: argparse.ArgumentParser) -> Iterator[Parser]:
    """The parser of every command under *parser*, subcommands of
    subcommands (``intake email``) included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if not isinstance(sub, Parser):
                    raise TypeError(f"the command {name!r} needs add_subparsers(parser_class=Parser)")
                yield sub
                yield from command_parsers(sub)


# -- registering a command -----------------------------------------------------

#: What runs a command: it prints the result with the :class:`Output` and
#: returns the exit status.
Handler = Callable[[argparse.Namespace, "Output"], int]

#: What adds a command's own arguments (and subcommands) to its parser.
Arguments = Callable[[argparse.ArgumentParser], None]

#: A step of the routine: what a simple step command does on the case.
Step = Callable[["Klagomal", argparse.Namespace], "Case"]


@attrs.frozen
class Command:
    """One ``klagomal`` command: its name, its help, what runs it, its arguments."""

    name: str
    help: str
    run: Handler
    arguments: Arguments | None
    module: str
    #: Whether the command reads the organisation file (``--org``): then it
    #: is read and checked before the command runs (:func:`organisation`).
    reads_organisation: bool = True

    def add_to(self, commands: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(
            self.name, help=self.help, description=self.help
        )
        # not 'handler': acknowledge has a --handler option
        parser.set_defaults(run=self.run, reads_organisation=self.reads_organisation)
        if self.arguments is not None:
            self.arguments(parser)
        return parser


class CommandGroup:
    """The commands one module of :mod:`klagomal.cli` defines, each with its
    arguments and its handler, as tox's ``session/cmd`` modules do.

    A module makes one (``commands = CommandGroup(__name__)``) and registers
    with :meth:`command` or :meth:`step`; :data:`klagomal.cli.COMMANDS` says
    in which order ``klagomal --help`` lists them."""

    def __init__(self, module: str) -> None:
        self.module = module
        self._commands: dict[str, Command] = {}

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    def command(
        self,
        name: str,
        help_text: str,
        arguments: Arguments | None = None,
        *,
        reads_organisation: bool = True,
    ) -> Callable[[Handler], Handler]:
        """Register the decorated handler as the command *name*;
        *reads_organisation* ``False`` for one that never reads ``--org``."""

        def register(run: Handler) -> Handler:
            self._add(Command(name, help_text, run, arguments, self.module, reads_organisation))
            return run

        return register

    def step(
        self, name: str, help_text: str, message: str, arguments: Arguments | None = None
    ) -> Callable[[Step], Step]:
        """Register the decorated step as the command *name*: it runs the
        step on the case and prints *message* (formatted with the case's
        ``reference``, ``case``, ``level``, ``unit`` and ``forwards``) on
        one line, or the case as JSON."""

        def register(step: Step) -> Step:
            self._add(Command(name, help_text, _step_handler(step, message), arguments, self.module))
            return step

        return register

    def with_subcommands(self, name: str, help_text: str, arguments: Arguments) -> None:
        """Register the command *name* that only holds subcommands
        (``intake email``): *arguments* adds them, each with its handler."""
        self._add(Command(name, help_text, needs_subcommand, arguments, self.module))

    def _add(self, command: Command) -> None:
        if command.name in self._commands:
            raise ValueError(f"{self.module} registers the command {command.name!r} twice")
        self._commands[command.name] = command


def _step_handler(step: Step, message: str) -> Handler:
    @functools.wraps(step)
    def handler(args: argparse.Namespace, out: Output) -> int:
        with open_klagomal(args) as k:
            case = step(k, args)
            text = _(message).format(
                reference=case.reference,
                case=shown_handler(k, case),
                level=int(case.level),
                unit=k.organisation.unit(case.unit).name,
                forwards=ngettext("{n} gång", "{n} gånger", case.forwards).format(n=case.forwards),
            )
            return step_result(k, out, case, one_line(text))  # one line, whatever a name holds

    return handler


def shown_handler(k: Klagomal, case: Case) -> Case:
    """*case* with its handler as people read it: a user's display name
    rather than the user id it is stored as."""
    from klagomal.core.users import handler_name

    handler = handler_name(k.organisation.users, case.handler)
    return case if handler == case.handler else attrs.evolve(case, handler=handler)


def needs_subcommand(
    args: argparse.Namespace, out: Output
) -> int:  # pragma: no cover - a subcommand is required
    """The handler of a command that only holds subcommands (``intake``)."""
    return 2


# -- output --------------------------------------------------------------------


class SafeStream:
    """A text stream that lets no control character through raw
    (:func:`~klagomal.core.text_rules.terminal_safe`): stdout and stderr while a
    command runs, whatever writes to them.  Line feeds and tabs pass; JSON
    stays valid JSON with the same value."""

    def __init__(self, stream: TextIO) -> None:
        self.raw = stream

    def write(self, text: str) -> int:
        self.raw.write(terminal_safe(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class Output:
    def __init__(self, args: argparse.Namespace, stream: TextIO) -> None:
        self.json = bool(args.json)
        self.stream = stream

    def emit_line(self, obj: dict[str, Any], text: str) -> None:
        """Like :meth:`emit`, for a message of one line: whatever a file
        name or a value in it holds, it stays one line."""
        self.emit(obj, one_line(text))

    def emit(self, obj: dict[str, Any], text: str) -> None:
        if self.json:
            self.stream.write(json.dumps(obj, ensure_ascii=False, indent=None, default=str) + "\n")
        else:
            self.stream.write(text.rstrip("\n") + "\n")


def organisation(args: argparse.Namespace) -> Organisation:
    """The organisation file ``--org`` names (or Exempelkommun), read once
    per command and checked as a :class:`~klagomal.app.Klagomal` checks it
    at start-up: disposal rules that contradict each other are refused
    here, whichever command reads the file."""
    found: Organisation | None = getattr(args, "_organisation", None)
    if found is None:
        from klagomal.core.disposal_rules import check_rules
        from klagomal.core.organisation import load_organisation

        found = load_organisation(args.org)
        check_rules(found.disposal_rules, departments=list(found.departments))
        args._organisation = found
    return found


def open_klagomal(args: argparse.Namespace) -> Klagomal:
    from klagomal.app import DEFAULT_DB, Klagomal
    from klagomal.core.clock import BusinessDate, SystemClock

    # --today is a business date set by hand: held to the rules of a real
    # system (never ahead of the real date; afterwards only for some roles).
    clock = BusinessDate(args.today) if args.today else SystemClock()
    return Klagomal(
        args.db or DEFAULT_DB, organisation=organisation(args), clock=clock, user=args.user or None
    )


_Value = TypeVar("_Value")


def lines_escaped(value: _Value, *names: str) -> _Value:
    """*value* (an attrs value that a document shows) with its one-line
    fields *names*, texts or tuples of texts, through
    :func:`~klagomal.core.text_rules.one_line`."""
    changes: dict[str, Any] = {}
    for name in names:
        field = getattr(value, name)
        if isinstance(field, str):
            changes[name] = one_line(field)
        elif isinstance(field, tuple):
            changes[name] = tuple(one_line(item) if isinstance(item, str) else item for item in field)
    return attrs.evolve(value, **changes)  # type: ignore[misc]


def case_obj(k: Klagomal, case: Case, events: list[Any] | None = None) -> dict[str, Any]:
    from klagomal.core.serialization import case_to_json

    if events is None:
        events = k.history(case.reference)
    from klagomal.core.users import handler_name

    obj = case_to_json(k.converter, case, events)
    # The handler as people read it (a user's display name, or a name as
    # written), and the user id it is stored as when the handler is a user.
    obj["handler"] = handler_name(k.organisation.users, case.handler)
    obj["handler_id"] = case.handler if case.handler in k.organisation.users else None
    obj["overdue"] = case.overdue_reason(k.clock.today())
    deadline = k.open_deadline(case)
    obj["deadline"] = None if deadline is None else k.converter.unstructure(deadline)
    return obj


def table_lines(
    rows: Sequence[Sequence[object]], *, right: Collection[int] = (), gap: int = 2, indent: str = ""
) -> list[str]:
    """The one way the command line prints a table: rows as columns as wide
    as their widest cell, *gap* spaces apart, left-aligned but for the
    columns *right* (by index: counts, so that their digits line up), each
    line after *indent* and without trailing blanks.  Every cell is shown on
    one line (:func:`~klagomal.core.text_rules.one_line`), so that no value
    can start a row of its own."""
    if not rows:
        return []
    cells = [[one_line(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    separator = " " * gap
    return [
        indent
        + separator.join(
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in cells
    ]


def yes_no(value: bool | None) -> str:
    return "-" if value is None else (_("ja") if value else _("nej"))


def notice_row(notice: Notice, zone: dt.tzinfo | None = None) -> list[str]:
    """A notice as ``show`` and ``outbox`` list it: what, to whom, how, and its state."""
    from klagomal.notices.outbox import kind_label, recipient_label, way_label

    state = notice.status_label
    if notice.status == "pending" and notice.last_error:
        state = _("försök {n} misslyckades: {reason}; nytt försök {when}").format(
            n=notice.attempts, reason=notice.last_error, when=local_time(notice.next_attempt, zone)
        )
    elif notice.status in ("failed", "uncertain", "dropped") and notice.last_error:
        state = f"{state}: {notice.last_error}"
    elif notice.status == "sent":
        state = _("skickat {when} till {address}").format(
            when=local_time(notice.sent_at, zone), address=notice.address or "-"
        )
    return [
        str(notice.id),
        notice.reference,
        _("händelse {seq}").format(seq=notice.seq),
        kind_label(notice.kind),
        recipient_label(notice.recipient),
        way_label(notice.way),
        state,
    ]


def local_time(moment: dt.datetime | None, zone: dt.tzinfo | None) -> str:
    """A stored (naive UTC) time in the clock's time zone, to the minute: the
    machine's own, or UTC with ``--today``."""
    if moment is None:
        return "-"
    return moment.replace(tzinfo=dt.UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def step_result(k: Klagomal, out: Output, case: Case, message: str) -> int:
    out.emit(case_obj(k, case), message)
    return 0


# -- errors --------------------------------------------------------------------

#: What an operating-system error means, for a handler.
_OS_REASONS = {
    errno.ENOENT: _("filen eller katalogen finns inte"),
    errno.EACCES: _("behörighet saknas"),
    errno.EPERM: _("behörighet saknas"),
    errno.EISDIR: _("det är en katalog"),
    errno.ENOTDIR: _("en del av sökvägen är ingen katalog"),
    errno.ENOSPC: _("disken är full"),
    errno.EROFS: _("filsystemet är skrivskyddat"),
    errno.EEXIST: _("den finns redan"),
    errno.EADDRINUSE: _("adressen används redan"),
    errno.EADDRNOTAVAIL: _("adressen finns inte på den här datorn"),
    socket.EAI_NONAME: _("värdnamnet går inte att slå upp"),
    socket.EAI_AGAIN: _("värdnamnet går inte att slå upp just nu"),
}


def os_reason(exc: OSError) -> str:
    """Why an operating-system call failed, in Swedish where the reason is a common one."""
    return _OS_REASONS.get(exc.errno or 0) or exc.strerror or str(exc)


def os_problem(exc: OSError) -> str:
    """A Swedish line for an operating-system error: which file or address, and why."""
    reason = os_reason(exc)
    if exc.filename is not None:
        return _("kan inte använda {file}: {reason}").format(file=exc.filename, reason=reason)
    return _("systemfel: {reason}").format(reason=reason)


# -- what the libraries log -----------------------------------------------------

#: The environment variable that asks for the technical detail: every log
#: record of klagomal with its logger, level and traceback, Python's
#: warnings, and the traceback of an unexpected error.
DEBUG_VARIABLE = "KLAGOMAL_DEBUG"

#: A log record with this attribute set (``extra={REPORTED: True}``) is
#: about something the call returns to its caller too (a notice or a
#: reminder that failed): the command prints it already, so the log line
#: is not repeated on stderr.
REPORTED = "reported_to_caller"


def debugging() -> bool:
    """Whether ``KLAGOMAL_DEBUG`` asks for the technical detail."""
    return os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")


class StderrLog(logging.Handler):
    """What is logged while a command runs, as a handler reads it on stderr.

    klagomal's own records of level WARNING and above are written as one
    Swedish line, ``klagomal: <message>``: their messages are Swedish
    (``_()``), and the traceback a record may carry is left out.  Another
    library's record is not shown in its words: one Swedish line names the
    library and how to see the detail.  With ``KLAGOMAL_DEBUG=1`` every
    record of klagomal from DEBUG up and every other library's from WARNING
    up is written whole: logger, level, message and traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG if debugging() else logging.WARNING)
        self.debug = debugging()
        self.setFormatter(logging.Formatter("klagomal: [%(levelname)s %(name)s] %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.debug:
                if _is_klagomal(record) or record.levelno >= logging.WARNING:
                    sys.stderr.write(self.format(record) + "\n")
                return
            if getattr(record, REPORTED, False):
                return
            if _is_klagomal(record):
                message = one_line(record.getMessage())
                if not message.startswith("klagomal: "):
                    message = _("klagomal: {message}").format(message=message)
            else:
                message = _(
                    "klagomal: biblioteket {library} rapporterade ett problem; "
                    "kör med {variable}=1 för detaljer"
                ).format(library=record.name.split(".", 1)[0], variable=DEBUG_VARIABLE)
            sys.stderr.write(message + "\n")
        except Exception:  # pragma: no cover - as logging.Handler does
            self.handleError(record)


def _is_klagomal(record: logging.LogRecord) -> bool:
    return record.name == "klagomal" or record.name.startswith("klagomal.")


@contextlib.contextmanager
def user_facing_logs() -> Iterator[None]:
    """While a command runs: the log on stderr as :class:`StderrLog` writes
    it, and Python's warnings (a library's deprecations, for developers)
    shown only with ``KLAGOMAL_DEBUG=1``."""
    handler = StderrLog()
    root, ours = logging.getLogger(), logging.getLogger("klagomal")
    level = ours.level
    root.addHandler(handler)
    if handler.debug:
        ours.setLevel(logging.DEBUG)
    try:
        with warnings.catch_warnings():
            if not handler.debug:
                warnings.simplefilter("ignore")
            yield
    finally:
        root.removeHandler(handler)
        ours.setLevel(level)


def print_error(message: object) -> None:
    """An error for the handler: one line on stderr, never a traceback."""
    sys.stderr.write(_("klagomal: {message}\n").format(message=one_line(message)))

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
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import errno
import json
import os
import pathlib
import re
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar, cast

import attrs

from klagomal.core.errors import AccessDeniedError, KlagomalError
from klagomal.core.events import (
    Acknowledged,
    ActionRecorded,
    Answered,
    Closed,
    Escalated,
    Event,
    Forwarded,
    Guided,
    Informed,
    MessageReceived,
    Paused,
    Postponed,
    PraisePassedOn,
    Reclassified,
    Registered,
    ResolvedAtOnce,
    Resumed,
)
from klagomal.core.i18n import _, ngettext
from klagomal.core.text_rules import one_line, several_lines, terminal_safe

#: The exit status when the acting user may not do what was asked
#: (sysexits.h EX_NOPERM), so that a script can tell a denial from an error.
EXIT_DENIED = 77

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.app import Klagomal
    from klagomal.core.model import Case
    from klagomal.deadlines.policies import OpenDeadline
    from klagomal.notices.outbox import Notice
    from klagomal.notices.reminders import Reminder

__all__ = ["main"]

#: argparse's own messages are English; these patterns make them Swedish.
_ARGPARSE_MESSAGES: tuple[tuple[str, str], ...] = (
    (r"the following arguments are required: (.*)", "följande argument saknas: {0}"),
    (r"unrecognized arguments: (.*)", "okända argument: {0}"),
    (
        r"argument (\S+): invalid choice: (.*?) \(choose from (.*)\)",
        "argument {0}: ogiltigt val {1} (välj bland {2})",
    ),
    (r"argument (\S+): expected one argument", "argument {0}: ett värde behövs"),
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


class _Parser(argparse.ArgumentParser):
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
        for pattern, swedish in _ARGPARSE_MESSAGES:
            match = re.fullmatch(pattern, message)
            if match:
                message = _(swedish).format(*match.groups())
                break
        self.print_usage(sys.stderr)
        self.exit(2, terminal_safe(_("klagomal: fel: {message}\n").format(message=one_line(message))))


def _date(value: str) -> dt.date:
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
_SQL_INT_MAX = 2**31 - 1


def _number(n: int) -> str:
    """*n* as Swedes write it: 2 147 483 647, but 2099 (a year, a port)."""
    return f"{n:,}".replace(",", " ") if abs(n) >= 10_000 else str(n)


def _integer(low: int, high: int, what: str) -> Callable[[str], int]:
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


_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _host(value: str) -> str:
    """An argparse type: an IP address or a host name to listen on."""
    import ipaddress

    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    try:
        labels = value.encode("idna").decode("ascii").split(".") if value else [""]
    except UnicodeError:
        labels = [""]
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise argparse.ArgumentTypeError(
            _("'{value}' är inget värdnamn eller ip-adress att lyssna på").format(value=value)
        )
    return value


_working_days = _integer(0, 10_000, _("antal arbetsdagar"))
_id = _integer(1, _SQL_INT_MAX, _("id"))
_count = _integer(1, _SQL_INT_MAX, _("antal"))


class _NoticeStatuses:
    """The statuses a notice can have (:data:`klagomal.notices.outbox.STATUSES`),
    as argparse ``choices`` read only when a command line is checked or the
    help is shown: ``klagomal --help`` must not load the database layer."""

    def _statuses(self) -> tuple[str, ...]:
        from klagomal.notices.outbox import STATUSES

        return STATUSES

    def __contains__(self, value: object) -> bool:
        return value in self._statuses()

    def __iter__(self) -> Iterator[str]:
        return iter(self._statuses())


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="klagomal",
        description=_("Klagomål, förslag och beröm: registrera, handlägg och följ upp synpunkter."),
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        default=os.environ.get("KLAGOMAL_DB"),
        help=_("databasadress (SQLAlchemy-URL); standard sqlite:///klagomal.db eller $KLAGOMAL_DB"),
    )
    parser.add_argument(
        "--org",
        default=os.environ.get("KLAGOMAL_ORG"),
        metavar="FIL",
        help=_("organisationsfil (TOML); standard är Exempelkommun eller $KLAGOMAL_ORG"),
    )
    parser.add_argument(
        "--today", type=_date, metavar="ÅÅÅÅ-MM-DD", help=_("låtsas att dagens datum är detta")
    )
    parser.add_argument(
        "--user",
        default=os.environ.get("KLAGOMAL_USER"),
        metavar="ANVÄNDARE",
        help=_("vem som utför kommandot (användar-id, se [[anvandare]]); standard $KLAGOMAL_USER"),
    )
    parser.add_argument("--json", action="store_true", help=_("skriv resultatet som ett JSON-objekt"))
    sub = parser.add_subparsers(dest="command", metavar="KOMMANDO", parser_class=_Parser)
    sub.required = True

    def cmd(name: str, help_text: str, handler: Callable[..., Any]) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(run=handler)  # not 'handler': acknowledge has a --handler option
        return p

    cmd("init", _("skapa eller uppgradera databasen"), _cmd_init)
    p = cmd("demo", _("simulera ett år av synpunkter i Exempelkommun och visa en sammanställning"), _cmd_demo)
    p.add_argument(
        "--seed",
        type=_integer(0, _SQL_INT_MAX, _("slumpfrö")),
        default=2026,
        help=_("slumpfrö (standard 2026)"),
    )
    p.add_argument(
        "--year",
        type=_integer(2000, 2099, _("år")),
        default=2026,
        help=_("året som simuleras (standard 2026)"),
    )
    p.add_argument(
        "--cases",
        type=_integer(1, 100_000, _("antal ärenden")),
        default=600,
        help=_("ungefärligt antal ärenden (standard 600)"),
    )
    p.add_argument(
        "--outbox",
        metavar="MAPP",
        help=_("mappen där meddelandena skrivs som .eml- och .html-filer (standard klagomal-demo-utskick)"),
    )
    cmd("units", _("visa organisationens enheter"), _cmd_units)

    p = cmd("register", _("registrera en synpunkt"), _cmd_register)
    p.add_argument("--kind", required=True, metavar="TYP", help=_("klagomal, forslag eller berom"))
    p.add_argument(
        "--channel", required=True, metavar="KANAL", help=_("kanal, t.ex. telefon, brev, epost, webbformular")
    )
    p.add_argument(
        "--unit",
        metavar="ENHET",
        help=_("enhetens id (se 'klagomal units'); utan den avgör en insticksmodul vart ärendet ska"),
    )
    p.add_argument("--text", required=True, metavar="TEXT", help=_("personens egna ord"))
    p.add_argument(
        "--received", type=_date, metavar="ÅÅÅÅ-MM-DD", help=_("mottagningsdatum (standard i dag)")
    )
    p.add_argument(
        "--dimension",
        action="append",
        default=[],
        metavar="DIMENSION",
        help=_("kvalitetsdimension; kan anges flera gånger"),
    )
    p.add_argument("--anonymous", action="store_true", help=_("personen är anonym (inga kontaktuppgifter)"))
    p.add_argument("--name", metavar="NAMN", help=_("personens namn"))
    p.add_argument("--email", metavar="E-POST", help=_("personens e-postadress"))
    p.add_argument("--phone", metavar="TELEFON", help=_("personens telefonnummer"))
    p.add_argument("--address", metavar="ADRESS", help=_("personens postadress"))
    p.add_argument(
        "--prefer",
        choices=("epost", "brev", "telefon"),
        help=_("hur personen vill bli kontaktad (standard: e-post, annars brev, annars telefon)"),
    )
    p.add_argument(
        "--serious", action="store_true", help=_("allvarligt klagomål: går direkt till närmaste chef")
    )
    p.add_argument(
        "--resolved",
        metavar="TEXT",
        help=_("löst direkt av den som tog emot det (R14): vad som gjordes; ärendet avslutas"),
    )
    p.add_argument("--resolved-by", metavar="NAMN", help=_("vem som löste det direkt (med --resolved)"))
    p.add_argument(
        "--personnummer",
        metavar="PNR",
        help=_("personens person- eller samordningsnummer, bara om ärendet kräver det"),
    )
    p.add_argument(
        "--protected",
        action="store_true",
        help=_("personen har skyddade personuppgifter: visas bara för den som har behörighet"),
    )
    p.add_argument(
        "--summary",
        metavar="TEXT",
        help=_("kort beskrivning för diariet: vad ärendet gäller, utan personuppgifter"),
    )

    p = cmd("show", _("visa ett ärende med dess historik"), _cmd_show)
    p.add_argument("reference", metavar="ÄRENDE")
    p = cmd("list", _("lista ärenden"), _cmd_list)
    p.add_argument("--unit", metavar="ENHET", help=_("bara ärenden hos denna enhet och enheterna under den"))
    p.add_argument(
        "--state", metavar="STATUS", help=_("bara ärenden med denna status (registrerat, handlaggning, ...)")
    )
    p.add_argument("--overdue", action="store_true", help=_("bara ärenden där en tidsfrist har passerat"))
    p.add_argument(
        "--due-within",
        type=_working_days,
        metavar="N",
        help=_("bara ärenden vars tidsfrist infaller inom N arbetsdagar (med --overdue: även försenade)"),
    )
    p.add_argument("--handler", metavar="NAMN", help=_("bara ärenden med denna handläggare"))
    p.add_argument(
        "--manager",
        metavar="NAMN",
        help=_("bara ärenden hos enheterna där denna person är chef, med underenheter"),
    )
    p.add_argument(
        "--quarantine",
        action="store_true",
        help=_(
            "i stället för ärenden: mottagna meddelanden i karantän, som inte kunde läsas eller registreras"
        ),
    )

    p = cmd("forward", _("skicka ärendet vidare till rätt enhet"), _cmd_forward)
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--to", required=True, metavar="ENHET", help=_("enheten som ärendet gäller"))
    p = cmd("acknowledge", _("ge besked om handläggare och svarsdatum"), _cmd_acknowledge)
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--handler", required=True, metavar="NAMN", help=_("vem som handlägger ärendet"))
    p.add_argument(
        "--respond-by",
        type=_date,
        metavar="ÅÅÅÅ-MM-DD",
        help=_("lovat svarsdatum (standard: förvaltningens svarstid för ärendetypen)"),
    )
    p = cmd("inform", _("informera personen om hur handläggningen går"), _cmd_inform)
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--text", required=True, metavar="TEXT", help=_("vad personen fick veta"))
    p = cmd("postpone", _("meddela nytt svarsdatum"), _cmd_postpone)
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--respond-by", required=True, type=_date, metavar="ÅÅÅÅ-MM-DD", help=_("nytt svarsdatum"))
    p.add_argument("--reason", required=True, metavar="SKÄL", help=_("varför det tar längre tid"))
    p = cmd("pause", _("pausa tidsfristen medan ärendet väntar på personen"), _cmd_pause)
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument(
        "--reason", required=True, metavar="SKÄL", help=_("vad ärendet väntar på, t.ex. en komplettering")
    )
    p = cmd("resume", _("återuppta ett pausat ärende; svarsdatumet flyttas"), _cmd_resume)
    p.add_argument("reference", metavar="ÄRENDE")
    p = cmd("answer", _("besvara ärendet"), _cmd_answer)
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument(
        "--mode", required=True, choices=["skriftligt", "muntligt"], help=_("skriftligt eller muntligt svar")
    )
    p.add_argument("--text", required=True, metavar="TEXT", help=_("svaret"))
    p = cmd("action", _("registrera en vidtagen åtgärd"), _cmd_action)
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--text", required=True, metavar="TEXT", help=_("vad som gjordes"))
    p = cmd("close", _("avsluta ärendet"), _cmd_close)
    p.add_argument("reference", metavar="ÄRENDE")
    satisfied = p.add_mutually_exclusive_group()
    satisfied.add_argument(
        "--satisfied", dest="satisfied", action="store_const", const=True, help=_("personen är nöjd")
    )
    satisfied.add_argument(
        "--not-satisfied",
        dest="satisfied",
        action="store_const",
        const=False,
        help=_("personen är inte nöjd (kan sedan lyftas med escalate)"),
    )
    p = cmd("escalate", _("lyft ärendet till nästa nivå (förvaltningschef, nämnd)"), _cmd_escalate)
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--reason", required=True, metavar="SKÄL", help=_("varför personen inte är nöjd"))
    p = cmd("pass-on", _("för beröm vidare till berörd personal"), _cmd_pass_on)
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument(
        "--to", required=True, action="append", metavar="NAMN", help=_("mottagare; kan anges flera gånger")
    )
    p.add_argument("--text", default="", metavar="TEXT", help=_("hälsning till personalen"))
    p = cmd(
        "guide",
        _("vägled personen till en annan väg som också gäller: överklagande eller felanmälan (R3)"),
        _cmd_guide,
    )
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--route", required=True, choices=("overklagande", "felanmalan"), help=_("vilken väg"))
    p.add_argument("--text", required=True, metavar="TEXT", help=_("vägledningen: vart och hur"))
    p.add_argument("--decision", metavar="BESLUT", help=_("överklagande: beslutet det gäller"))
    p.add_argument("--appeal-to", metavar="MYNDIGHET", help=_("överklagande: vart överklagandet skickas"))
    p.add_argument(
        "--notified",
        type=_date,
        metavar="ÅÅÅÅ-MM-DD",
        help=_("överklagande: dagen personen fick del av beslutet (tre veckor räknas därifrån)"),
    )
    p = cmd("reclassify", _("ändra typ (ett klagomål kan aldrig ändras till något annat)"), _cmd_reclassify)
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--kind", required=True, metavar="TYP", help=_("ny typ: klagomal, forslag eller berom"))
    p.add_argument("--reason", required=True, metavar="SKÄL", help=_("varför typen ändras"))

    p = cmd("export", _("exportera hela databasen som JSON"), _cmd_export)
    p.add_argument("--output", "-o", metavar="FIL", help=_("skriv till fil i stället för standard ut"))
    p.add_argument(
        "--with-protected",
        action="store_true",
        help=_("ta med skyddade personuppgifter, för att flytta databasen (annars utelämnas de)"),
    )
    p = cmd("import", _("importera en export (allt eller inget)"), _cmd_import)
    p.add_argument("file", metavar="FIL", help=_("exportfil, eller - för standard in"))
    p = cmd(
        "import-cases",
        _(
            "massimportera ärenden från ett annat system (JSON Lines eller CSV), "
            "i omgångar som kan återupptas"
        ),
        _cmd_import_cases,
    )
    p.add_argument("file", metavar="FIL", help=_("en .jsonl- eller .csv-fil med en rad per ärende"))
    p.add_argument(
        "--format", choices=["jsonl", "csv"], help=_("filens format (standard: efter filändelsen)")
    )
    p.add_argument(
        "--batch-size",
        type=_integer(1, 100_000, _("antal ärenden per transaktion")),
        default=1000,
        metavar="N",
        help=_("ärenden per transaktion (standard: 1000)"),
    )
    p.add_argument(
        "--rejects",
        metavar="FIL",
        help=_("var avvisade rader skrivs (standard: FIL.rejected.jsonl)"),
    )
    p.add_argument("--no-progress", action="store_true", help=_("visa ingen förloppsindikator"))
    cmd("plugins", _("visa insticksmoduler och vad de lägger till"), _cmd_plugins)
    p = cmd("letter", _("visa brevet till personen för en händelse i ärendet"), _cmd_letter)
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument(
        "--seq",
        type=_id,
        metavar="NR",
        help=_("händelsens nummer i historiken (standard: det senaste brevet)"),
    )
    p = cmd(
        "report",
        _("rapport för en period: till personalen (tertial) eller de förtroendevalda (halvår)"),
        _cmd_report,
    )
    p.add_argument(
        "--period", metavar="PERIOD", help=_("2026-T2, 2026-H1, 2026 eller 2026-03-01..2026-05-31")
    )
    p.add_argument(
        "--from",
        dest="start",
        type=_date,
        metavar="ÅÅÅÅ-MM-DD",
        help=_("från och med (i stället för --period)"),
    )
    p.add_argument("--to", dest="end", type=_date, metavar="ÅÅÅÅ-MM-DD", help=_("till och med"))
    p.add_argument("--forvaltning", metavar="ID", help=_("bara denna förvaltning (standard: hela kommunen)"))
    p.add_argument("--unit", metavar="ENHET", help=_("bara denna enhet och enheterna under den"))
    p.add_argument(
        "--audience",
        choices=("staff", "politicians"),
        default="staff",
        help=_("staff: till personalen; politicians: till de förtroendevalda, en allmän handling"),
    )
    p.add_argument("--format", choices=("text", "html", "csv", "json"), default="text", help=_("utformat"))
    p.add_argument(
        "--out", metavar="FIL", help=_("skriv till filen (csv: till mappen) i stället för standard ut")
    )
    _records_commands(cmd)
    p = cmd("resolve", _("ärendet löstes direkt av den som tog emot det (R14, R29)"), _cmd_resolve)
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--text", required=True, metavar="TEXT", help=_("vad som gjordes"))
    p.add_argument("--handler", required=True, metavar="NAMN", help=_("vem som löste det"))
    p.add_argument("--not-satisfied", action="store_true", help=_("personen var inte nöjd (annars: nöjd)"))
    p = cmd(
        "intake",
        _("ta emot synpunkter: e-post, en brevlåda (Maildir, mbox) eller svarskort (CSV)"),
        _cmd_help,
    )
    intake = p.add_subparsers(dest="source", metavar="KÄLLA", parser_class=_Parser)
    intake.required = True
    q = intake.add_parser("email", help=_("ett e-postmeddelande från en fil, eller - för standard in"))
    q.add_argument("file", metavar="FIL")
    q.set_defaults(run=_cmd_intake_email)
    q = intake.add_parser("maildir", help=_("alla nya meddelanden i en Maildir-katalog"))
    q.add_argument("folder", metavar="KATALOG")
    q.set_defaults(run=_cmd_intake_mailbox, kind="maildir")
    q = intake.add_parser("mbox", help=_("alla meddelanden i en mbox-fil"))
    q.add_argument("folder", metavar="FIL")
    q.set_defaults(run=_cmd_intake_mailbox, kind="mbox")
    q = intake.add_parser(
        "release", help=_("ta in ett meddelande ur karantänen, när det som stoppade det är rättat")
    )
    q.add_argument("id", type=_id, metavar="ID", help=_("meddelandets nummer i 'klagomal list --quarantine'"))
    q.add_argument("--unit", metavar="ENHET", help=_("enheten som ska ta emot det (standard: [intag] enhet)"))
    into = q.add_mutually_exclusive_group()
    into.add_argument(
        "--into", metavar="ÄRENDE", help=_("lägg det i detta ärende (standard: ärendet det hänvisar till)")
    )
    into.add_argument("--new", action="store_true", help=_("gör ett nytt ärende av det"))
    q.set_defaults(run=_cmd_intake_release)
    q = intake.add_parser("csv", help=_("svarskort, skannade eller inskrivna, ett per rad (CSV)"))
    q.add_argument("file", metavar="FIL")
    q.add_argument(
        "--rejects", metavar="FIL", help=_("där felaktiga rader skrivs (standard FIL.rejected.jsonl)")
    )
    q.set_defaults(run=_cmd_intake_csv)
    p = cmd(
        "serve-smtp",
        _("ta emot e-post över SMTP eller LMTP och spara varje meddelande innan det kvitteras"),
        _cmd_serve_smtp,
    )
    p.add_argument(
        "--host", type=_host, default="127.0.0.1", help=_("adressen att lyssna på (standard 127.0.0.1)")
    )
    p.add_argument(
        "--port", type=_integer(1, 65535, _("portnummer")), default=8025, help=_("porten (standard 8025)")
    )
    p.add_argument("--lmtp", action="store_true", help=_("tala LMTP i stället för SMTP"))
    p = cmd(
        "deliver",
        _("skicka meddelandena som väntar i utkorgen (körs ofta, t.ex. var femte minut)"),
        _cmd_deliver,
    )
    p.add_argument("--reference", metavar="ÄRENDE", help=_("bara detta ärendes meddelanden"))
    p.add_argument("--limit", type=_count, metavar="N", help=_("högst så många meddelanden"))
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help=_("köa först om alla misslyckade meddelanden (efter att felet är rättat)"),
    )
    p = cmd("outbox", _("visa utkorgen: meddelanden, uppgifter och fel"), _cmd_outbox)
    p.add_argument("--reference", metavar="ÄRENDE", help=_("bara detta ärendes meddelanden"))
    p.add_argument(
        "--status",
        action="append",
        choices=_NoticeStatuses(),
        metavar="STATUS",
        help=_("bara denna status (%(choices)s); kan upprepas"),
    )
    p.add_argument("--all", action="store_true", help=_("även skickade och utförda"))
    p.add_argument(
        "--resend",
        type=_id,
        action="append",
        metavar="ID",
        help=_("köa om ett misslyckat eller osäkert meddelande; kontrollera först att det inte kom fram"),
    )
    p.add_argument("--done", type=_id, metavar="ID", help=_("uppgiften är utförd (personen är kontaktad)"))
    p = cmd(
        "remind",
        _("påminn handläggare om frister som närmar sig och chefer om passerade (körs dagligen)"),
        _cmd_remind,
    )
    p.add_argument(
        "--notifier",
        metavar="NAMN",
        help=_(
            "aviseringssätt (standard smtp om [utskick.smtp] anger en server, annars log; "
            "se 'klagomal plugins')"
        ),
    )
    return parser


# -- helpers -----------------------------------------------------------------


class _SafeStream:
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


class _Output:
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


def _records_commands(cmd: Callable[[str, str, Callable[..., Any]], argparse.ArgumentParser]) -> None:
    """Public records, secrecy, GDPR, disposal and the audit log (R27)."""
    p = cmd("whoami", _("visa vem kommandona utförs som och vad rollen får göra"), _cmd_whoami)
    p = cmd("describe", _("skriv diariets korta beskrivning av vad ärendet gäller"), _cmd_describe)
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("summary", metavar="BESKRIVNING", help=_("en rad utan personuppgifter"))
    p = cmd("secrecy", _("sekretessmarkera ärendet eller delar av det, eller häv markeringen"), _cmd_secrecy)
    p.add_argument("reference", metavar="ÄRENDE")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--ground", metavar="GRUND", help=_("sekretessgrunden, t.ex. 'OSL 26 kap. 1 §'"))
    what.add_argument("--lift", metavar="SKÄL", help=_("häv markeringen av hela ärendet, med skälet"))
    p.add_argument(
        "--part",
        type=_id,
        action="append",
        default=[],
        metavar="N",
        help=_("bara händelse N (se 'klagomal show'); kan anges flera gånger"),
    )
    p.add_argument("--reason", default="", metavar="SKÄL", help=_("varför, för nästa handläggare"))
    p = cmd(
        "register-extract", _("diarieförteckning: inkomna ärenden under en period"), _cmd_register_extract
    )
    p.add_argument(
        "--period", metavar="PERIOD", help=_("2026-T2, 2026-H1, 2026-03 eller 2026-03-01..2026-03-31")
    )
    p.add_argument("--forvaltning", metavar="ID", help=_("bara denna förvaltning"))
    p = cmd("extract", _("utdrag ur ett ärende för utlämnande: personuppgifter maskerade"), _cmd_extract)
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--out", metavar="FIL", help=_("skriv till filen i stället för standard ut"))
    p = cmd("person", _("en persons uppgifter (GDPR): registerutdrag och anonymisering"), _cmd_help)
    person = p.add_subparsers(dest="person_command", metavar="KOMMANDO", parser_class=type(p))
    person.required = True
    for name, help_text, handler in (
        ("export", _("allt om personen (artikel 15), som JSON eller läsbar HTML"), _cmd_person_export),
        ("anonymise", _("anonymisera personen men behåll statistiken"), _cmd_person_anonymise),
    ):
        q = person.add_parser(name, help=help_text, description=help_text)
        q.set_defaults(run=handler)
        q.add_argument("--email", metavar="E-POST")
        q.add_argument("--phone", metavar="TELEFON")
        q.add_argument("--personnummer", metavar="PNR")
        q.add_argument("--name", metavar="NAMN", help=_("hela namnet, som det registrerades"))
        if name == "export":
            q.add_argument("--format", choices=("json", "html"), default="json", help=_("utformat"))
            q.add_argument("--out", metavar="FIL", help=_("skriv till filen i stället för standard ut"))
        else:
            q.add_argument(
                "--decision",
                required=True,
                metavar="BESLUT",
                help=_("beslutet om anonymiseringen och dess grund, t.ex. diarienummer"),
            )
    p = cmd("gallra", _("gallra enligt kommunens gallringsbeslut ([[gallring]])"), _cmd_gallra)
    p.add_argument("--dry-run", action="store_true", help=_("visa bara vad som skulle gallras"))
    p = cmd("audit", _("granskningsloggen: vem har läst och ändrat vad"), _cmd_help)
    audit = p.add_subparsers(dest="audit_command", metavar="KOMMANDO", parser_class=type(p))
    audit.required = True
    q = audit.add_parser("verify", help=_("kontrollera att loggen är hel och oförändrad"))
    q.set_defaults(run=_cmd_audit_verify)
    q.add_argument(
        "--anchor",
        type=_audit_anchor,
        action="append",
        default=[],
        metavar="N:KONTROLLSUMMA",
        help=_(
            "ankaret som en tidigare kontroll skrev ut: post N ska ha samma kontrollsumma nu; "
            "kan anges flera gånger"
        ),
    )
    q = audit.add_parser("log", help=_("visa loggens poster"))
    q.set_defaults(run=_cmd_audit_log)
    q.add_argument("--case", metavar="ÄRENDE", help=_("bara detta ärende"))
    q.add_argument("--of-user", metavar="ANVÄNDARE", help=_("bara denna användare"))
    q.add_argument(
        "--limit", type=_count, default=50, metavar="N", help=_("de senaste N posterna (standard 50)")
    )


def _open(args: argparse.Namespace) -> Klagomal:
    from klagomal.app import DEFAULT_DB, Klagomal
    from klagomal.core.clock import BusinessDate, SystemClock
    from klagomal.core.organisation import load_organisation

    # --today is a business date set by hand: held to the rules of a real
    # system (never ahead of the real date; afterwards only for some roles).
    clock = BusinessDate(args.today) if args.today else SystemClock()
    return Klagomal(
        args.db or DEFAULT_DB, organisation=load_organisation(args.org), clock=clock, user=args.user or None
    )


_Value = TypeVar("_Value")


def _lines_escaped(value: _Value, *names: str) -> _Value:
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


def _case_obj(k: Klagomal, case: Case, events: list[Any] | None = None) -> dict[str, Any]:
    from klagomal.core.serialization import case_to_json

    if events is None:
        events = k.history(case.reference)
    obj = case_to_json(k.converter, case, events)
    obj["overdue"] = case.overdue_reason(k.clock.today())
    deadline = k.open_deadline(case)
    obj["deadline"] = None if deadline is None else k.converter.unstructure(deadline)
    return obj


def _table(rows: list[list[str]]) -> list[str]:
    """Rows as left-aligned columns; each cell is shown on one line
    (:func:`~klagomal.core.text_rules.one_line`), so that no value can start a
    row of its own."""
    if not rows:
        return []
    rows = [[one_line(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _deadline_text(case: Case, deadline: OpenDeadline | None) -> str:
    """What a worklist says about the case's deadline."""
    if case.paused_since is not None:
        return _("pausat sedan {day}").format(day=case.paused_since)
    if deadline is None:
        return ""
    if deadline.overdue:
        return _("FÖRSENAT ({what}, senast {due})").format(what=deadline.kind, due=deadline.due)
    return _("{what} senast {due} ({when})").format(what=deadline.kind, due=deadline.due, when=deadline.when)


def _list_row(k: Klagomal, case: Case, attention: Sequence[Notice] = ()) -> list[str]:
    return [
        case.reference,
        case.kind.label,
        k.organisation.unit(case.unit).name,
        case.state.label,
        _("nivå {n}").format(n=int(case.level)),
        case.handler or "-",
        _deadline_text(case, k.open_deadline(case)),
        _attention_text(attention),
    ]


def _attention_text(attention: Sequence[Notice]) -> str:
    """What a worklist says about notices that need someone: failures first."""
    counts: dict[str, int] = {}
    for notice in attention:
        key = "retry" if notice.status == "pending" else notice.status
        counts[key] = counts.get(key, 0) + 1
    parts = []
    if counts.get("failed"):
        parts.append(_("UTSKICK MISSLYCKADES ({n})").format(n=counts["failed"]))
    if counts.get("uncertain"):
        parts.append(_("utskick osäkert ({n})").format(n=counts["uncertain"]))
    if counts.get("retry"):
        parts.append(_("utskick försöks igen ({n})").format(n=counts["retry"]))
    if counts.get("task"):
        parts.append(_("kontakta personen ({n})").format(n=counts["task"]))
    return ", ".join(parts)


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else (_("ja") if value else _("nej"))


def _describe(k: Klagomal, case: Case) -> str:
    org = k.organisation
    dims = ", ".join(k.dimensions[d].label if d in k.dimensions else d for d in case.dimensions) or "-"
    channel = k.channels[case.channel].label if case.channel in k.channels else case.channel
    fields = [
        (_("Status"), f"{case.state.label}, {case.level.label}"),
        (_("Enhet"), f"{org.unit(case.unit).name} ({org.departments[case.department].name})"),
        (_("Kanal"), channel),
        (_("Mottaget"), str(case.received)),
        (_("Besked senast"), str(case.acknowledge_by)),
        (_("Besked givet"), str(case.acknowledged or "-")),
        (_("Svar senast"), str(case.respond_by or "-")),
        (
            _("Besvarat"),
            f"{case.answered} ({case.answer_mode.value})" if case.answered and case.answer_mode else "-",
        ),
        (_("Avslutat"), str(case.closed or "-")),
        (_("Nöjd"), _yes_no(case.satisfied)),
        (_("Handläggare"), case.handler or "-"),
        (_("Dimensioner"), dims),
        (_("Anonym"), _yes_no(case.anonymous)),
        (_("Allvarligt"), _yes_no(case.serious)),
        (
            _("Vidarebefordrat"),
            ngettext("{n} gång", "{n} gånger", case.forwards).format(n=case.forwards),
        ),
        (
            _("Nya svarsdatum"),
            _("{n} (varav {late} för sent)").format(n=case.postponements, late=case.late_postponements),
        ),
        (_("Åtgärder"), str(case.actions)),
    ]
    if case.contact is not None:
        contact = case.contact
        address = ", ".join(contact.address.splitlines()) if contact.address else None
        parts = [contact.name, contact.email, contact.phone, address]
        if contact.personnummer:
            parts.append(contact.personnummer[:8] + "-" + contact.personnummer[8:])
        fields.append((_("Kontakt"), ", ".join(p for p in parts if p) or "-"))
        if contact.protected:
            fields.append((_("Skyddad"), _("ja, skyddade personuppgifter: lämna aldrig ut")))
    if case.summary:
        fields.append((_("Diariet"), case.summary))
    if case.secrecy:
        fields.append((_("Sekretess"), case.secrecy))
    if case.paused_since is not None:
        fields.append((_("Pausat"), _("sedan {day}, väntar på personen").format(day=case.paused_since)))
    reason = case.overdue_reason(k.clock.today())
    if reason:
        fields.append((_("FÖRSENAT"), _("{what} har inte getts i tid").format(what=reason)))
    width = max(len(label) for label, _value in [*fields, (_("Text"), "")]) + 1
    lines = [one_line(_("Ärende {reference}: {kind}").format(reference=case.reference, kind=case.kind.label))]
    lines += [f"  {label + ':':<{width}} {one_line(value)}" for label, value in fields]
    # The person's text keeps its lines, indented under the value column, so
    # that no line of it can pass for a field or a record of its own.
    lines.append(f"  {_('Text') + ':':<{width}} {several_lines(case.text, ' ' * (width + 3))}")
    return "\n".join(lines)


def _event_details(k: Klagomal, event: Event) -> str:
    """A short Swedish description of what an event recorded."""
    data = event.data
    org = k.organisation
    match data:
        case Forwarded():
            return _("till {unit}").format(unit=org.unit(data.to_unit).name)
        case Acknowledged():
            return _("{handler}, svar senast {date}").format(handler=data.handler, date=data.respond_by)
        case Postponed():
            timing = _("i tid") if data.in_time else _("för sent")
            return _("till {date} ({timing}): {reason}").format(
                date=data.respond_by, timing=timing, reason=data.reason
            )
        case Paused():
            return data.reason
        case Resumed():
            return ngettext(
                "svar senast {date} ({n} arbetsdag pausad)",
                "svar senast {date} ({n} arbetsdagar pausad)",
                data.paused_days,
            ).format(date=data.respond_by, n=data.paused_days)
        case Answered():
            return data.mode.value
        case Closed():
            return {True: _("nöjd"), False: _("inte nöjd"), None: _("anonym")}[data.satisfied]
        case Escalated():
            return _("nivå {n}, {handler}").format(n=int(data.level), handler=data.handler)
        case PraisePassedOn():
            return ", ".join(data.recipients)
        case Reclassified():
            return data.kind.label
        case ActionRecorded() | Informed():
            return data.text
        case MessageReceived():
            files = (
                _(" (bilagor: {files})").format(files=", ".join(data.attachments)) if data.attachments else ""
            )
            return f"{data.sender or '-'}: {_first_line(data.text)}{files}"
        case ResolvedAtOnce():
            return _("{handler}: {text}").format(handler=data.handler, text=_first_line(data.text))
        case Guided():
            return data.route
    return ""


def _first_line(text: str, width: int = 80) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def _step_result(k: Klagomal, out: _Output, case: Case, message: str) -> int:
    out.emit(_case_obj(k, case), message)
    return 0


# -- commands ------------------------------------------------------------------


def _cmd_init(args: argparse.Namespace, out: _Output) -> int:
    with _open(args) as k:
        revision = k.init()
        out.emit_line(
            {"db": k.storage.url, "revision": revision},
            _("Databasen {url} är klar (schemaversion {revision}).").format(
                url=k.storage.url, revision=revision
            ),
        )
    return 0


def _cmd_demo(args: argparse.Namespace, out: _Output) -> int:
    from klagomal.cli.demo import DEMO_DB, DEMO_OUTBOX, run_demo

    result = run_demo(
        db=args.db or DEMO_DB,
        seed=args.seed,
        year=args.year,
        cases=args.cases,
        outbox=args.outbox or DEMO_OUTBOX,
    )
    out.emit(result.to_json(), result.render())
    return 0


def _cmd_units(args: argparse.Namespace, out: _Output) -> int:
    from klagomal.core.organisation import load_organisation

    org = load_organisation(args.org)
    lines = [
        _("{name} (systemägare: {owner})").format(name=org.name, owner=org.departments[org.system_owner].name)
    ]
    units = []
    for unit in org.units.values():
        depth = len(org.path(unit.id)) - 1
        lines.append(f"{'  ' * (depth + 1)}{unit.id:<28} {unit.name}  ({_('chef')}: {unit.manager})")
        obj = {
            "id": unit.id,
            "name": unit.name,
            "level": unit.level.value,
            "manager": unit.manager,
            "parent": unit.parent,
            "department": unit.department,
        }
        if unit.parent is None:
            dep = org.departments[unit.id]
            obj.update(head=dep.head, board=dep.board)
        units.append(obj)
    out.emit(
        {"organisation": org.id, "name": org.name, "system_owner": org.system_owner, "units": units},
        "\n".join(lines),
    )
    return 0


def _cmd_register(args: argparse.Namespace, out: _Output) -> int:
    from klagomal.core.errors import InvalidInputError
    from klagomal.core.model import Contact

    details = {
        "name": args.name,
        "email": args.email,
        "phone": args.phone,
        "address": args.address,
        "personnummer": args.personnummer,
    }
    if args.anonymous and any(details.values()):
        raise InvalidInputError(_("en anonym synpunkt kan inte ha kontaktuppgifter"), step="register")
    if not args.anonymous and not any(details.values()):
        raise InvalidInputError(
            _("ange --anonymous eller minst en av --name, --email, --phone, --address"), step="register"
        )
    if args.anonymous and args.protected:
        raise InvalidInputError(_("en anonym synpunkt har inga personuppgifter att skydda"), step="register")
    contact = None if args.anonymous else Contact(**details, preferred=args.prefer, protected=args.protected)
    with _open(args) as k:
        case = k.register(
            kind=args.kind,
            channel=args.channel,
            unit=args.unit,
            text=args.text,
            received=args.received,
            contact=contact,
            dimensions=args.dimension,
            serious=args.serious,
            resolved=args.resolved,
            resolved_by=args.resolved_by,
            summary=args.summary,
        )
        if case.resolved_at_once:
            message = _(
                "Registrerade {reference} ({kind}) hos {unit}, löst direkt av {handler} och avslutat."
            ).format(
                reference=case.reference,
                kind=case.kind.label,
                unit=k.organisation.unit(case.unit).name,
                handler=case.handler,
            )
            return _step_result(k, out, case, one_line(message))
        message = _("Registrerade {reference} ({kind}) hos {unit}. Besked ska ges senast {date}.").format(
            reference=case.reference,
            kind=case.kind.label,
            unit=k.organisation.unit(case.unit).name,
            date=case.acknowledge_by,
        )
        if case.anonymous:
            # R5: nobody can be told; the deadline is for choosing a handler.
            message = _(
                "Registrerade {reference} ({kind}, anonymt) hos {unit}. Inget besked kan skickas; "
                "utse handläggare senast {date}."
            ).format(
                reference=case.reference,
                kind=case.kind.label,
                unit=k.organisation.unit(case.unit).name,
                date=case.acknowledge_by,
            )
        lines = [message]
        if case.serious and case.handler:
            lines.append(
                _("Allvarligt klagomål: handläggs av närmaste chef, {handler}.").format(handler=case.handler)
            )
        elif case.handler:
            lines.append(_("Handläggare: {handler}.").format(handler=case.handler))
        if case.secrecy:
            lines.append(_("Sekretessmarkerat: {ground}.").format(ground=case.secrecy))
        lines += [_("Notering: {note}").format(note=n) for n in _notes(k.history(case.reference))]
        return _step_result(k, out, case, "\n".join(one_line(line) for line in lines))


def _notes(events: Sequence[Event]) -> tuple[str, ...]:
    """What plugins noted for the handler at registration."""
    return events[0].data.notes if events and isinstance(events[0].data, Registered) else ()


def _cmd_show(args: argparse.Namespace, out: _Output) -> int:
    with _open(args) as k:
        case = k.get(args.reference)
        events = k.history(args.reference)
        lines = [_describe(k, case)]
        notes = _notes(events)
        if notes:
            lines.append(_("Noteringar:"))
            lines += [f"  - {one_line(note)}" for note in notes]
        lines.append(_("Historik:"))
        lines += [
            "  " + line
            for line in _table([[str(e.seq), str(e.day), e.label, _event_details(k, e)] for e in events])
        ]
        files = k.attachments(args.reference)
        if files:
            lines.append(_("Bilagor:"))
            lines += [
                "  " + line
                for line in _table(
                    [[f.filename or "-", f.content_type, _("{n} byte").format(n=f.size)] for f in files]
                )
            ]
        notices = k.outbox(reference=args.reference)
        if notices:
            lines.append(_("Meddelanden:"))
            zone = k.clock.now().tzinfo
            lines += ["  " + line for line in _table([_notice_row(n, zone) for n in notices])]
        disposed = k.disposals(args.reference)
        if disposed:
            lines.append(_("Gallrat:"))
            lines += [
                "  " + line
                for line in _table([[str(d.day), d.action.label, d.rule, d.decision] for d in disposed])
            ]
        obj = _case_obj(k, case, events)
        obj["notices"] = [k.converter.unstructure(n) for n in notices]
        obj["disposed"] = [
            {"day": str(d.day), "action": d.action.value, "rule": d.rule, "decision": d.decision}
            for d in disposed
        ]
        obj["attachments"] = [
            {"id": f.id, "filename": f.filename, "content_type": f.content_type, "size": f.size}
            for f in files
        ]
        out.emit(obj, "\n".join(lines))
    return 0


def _notice_row(notice: Notice, zone: dt.tzinfo | None = None) -> list[str]:
    """A notice as ``show`` and ``outbox`` list it: what, to whom, how, and its state."""
    from klagomal.notices.outbox import recipient_label, way_label

    state = notice.status_label
    if notice.status == "pending" and notice.last_error:
        state = _("försök {n} misslyckades: {reason}; nytt försök {when}").format(
            n=notice.attempts, reason=notice.last_error, when=_local(notice.next_attempt, zone)
        )
    elif notice.status in ("failed", "uncertain") and notice.last_error:
        state = f"{state}: {notice.last_error}"
    elif notice.status == "sent":
        state = _("skickat {when} till {address}").format(
            when=_local(notice.sent_at, zone), address=notice.address or "-"
        )
    return [
        str(notice.id),
        notice.reference,
        _("händelse {seq}").format(seq=notice.seq),
        notice.kind,
        recipient_label(notice.recipient),
        way_label(notice.way),
        state,
    ]


def _local(moment: dt.datetime | None, zone: dt.tzinfo | None) -> str:
    """A stored (naive UTC) time in the clock's time zone, to the minute: the
    machine's own, or UTC with ``--today``."""
    if moment is None:
        return "-"
    return moment.replace(tzinfo=dt.UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _cmd_list(args: argparse.Namespace, out: _Output) -> int:
    if args.quarantine:
        return _list_quarantine(args, out)
    with _open(args) as k:
        found = k.cases(
            unit=args.unit,
            subtree=args.unit is not None,
            state=args.state,
            overdue=args.overdue,
            due_within=args.due_within,
            handler=args.handler,
            manager=args.manager,
        )
        histories = k.histories([c.reference for c in found])
        attention = k.open_notices([c.reference for c in found])
        lines = _table([_list_row(k, case, attention.get(case.reference, [])) for case in found])
        lines.append(ngettext("{n} ärende", "{n} ärenden", len(found)).format(n=len(found)))
        cases = []
        for c in found:
            obj = _case_obj(k, c, histories[c.reference])
            obj["notices_needing_attention"] = [
                k.converter.unstructure(n) for n in attention.get(c.reference, [])
            ]
            cases.append(obj)
        out.emit({"cases": cases}, "\n".join(lines))
    return 0


def _simple_step(
    step: Callable[[Klagomal, argparse.Namespace], Case], message: str
) -> Callable[[argparse.Namespace, _Output], int]:
    def handler(args: argparse.Namespace, out: _Output) -> int:
        with _open(args) as k:
            case = step(k, args)
            text = _(message).format(
                reference=case.reference,
                case=case,
                level=int(case.level),
                unit=k.organisation.unit(case.unit).name,
                forwards=ngettext("{n} gång", "{n} gånger", case.forwards).format(n=case.forwards),
            )
            return _step_result(k, out, case, one_line(text))  # one line, whatever a name holds

    return handler


_cmd_forward = _simple_step(
    lambda k, a: k.forward(a.reference, a.to),
    "{reference} skickades vidare till {unit} (vidarebefordrat {forwards}).",
)
_cmd_acknowledge = _simple_step(
    lambda k, a: k.acknowledge(a.reference, a.handler, a.respond_by),
    "Besked registrerat för {reference}: {case.handler} svarar senast {case.respond_by}.",
)
_cmd_inform = _simple_step(
    lambda k, a: k.inform(a.reference, a.text), "Information registrerad för {reference}."
)
_cmd_postpone = _simple_step(
    lambda k, a: k.postpone(a.reference, a.respond_by, a.reason),
    "Nytt svarsdatum för {reference}: {case.respond_by}.",
)
_cmd_pause = _simple_step(
    lambda k, a: k.pause(a.reference, a.reason),
    "{reference} är pausat i väntan på personen. Tidsfristen står still tills ärendet återupptas (resume).",
)
_cmd_resume = _simple_step(
    lambda k, a: k.resume(a.reference), "{reference} är återupptaget. Svar senast {case.respond_by}."
)
_cmd_answer = _simple_step(lambda k, a: k.answer(a.reference, a.mode, a.text), "{reference} är besvarat.")
_cmd_action = _simple_step(
    lambda k, a: k.record_action(a.reference, a.text), "Åtgärd registrerad för {reference}."
)
_cmd_close = _simple_step(lambda k, a: k.close(a.reference, a.satisfied), "{reference} är avslutat.")
_cmd_escalate = _simple_step(
    lambda k, a: k.escalate(a.reference, a.reason),
    "{reference} är lyft till nivå {level} ({case.handler}). Nytt besked senast {case.acknowledge_by}.",
)
_cmd_pass_on = _simple_step(
    lambda k, a: k.pass_on_praise(a.reference, a.to, a.text), "Berömmet i {reference} är vidarebefordrat."
)
_cmd_guide = _simple_step(
    lambda k, a: k.guide(
        a.reference, a.route, a.text, decision=a.decision, appeal_to=a.appeal_to, notified=a.notified
    ),
    "Vägledning registrerad för {reference}; personen får ett brev om den andra vägen.",
)
_cmd_resolve = _simple_step(
    lambda k, a: k.resolve_at_once(a.reference, a.text, a.handler, satisfied=not a.not_satisfied),
    "{reference} löstes direkt av {case.handler} och är avslutat.",
)
_cmd_describe = _simple_step(
    lambda k, a: k.describe(a.reference, a.summary), "Diariets beskrivning av {reference}: {case.summary}"
)


def _cmd_secrecy(args: argparse.Namespace, out: _Output) -> int:
    with _open(args) as k:
        if args.lift is not None:
            if args.part:
                from klagomal.core.errors import InvalidInputError

                raise InvalidInputError(
                    _("--lift häver markeringen av hela ärendet; markeringar av delar står kvar"),
                    step="secrecy",
                    reference=args.reference,
                )
            case = k.lift_secrecy(args.reference, args.lift)
            return _step_result(
                k,
                out,
                case,
                _("Sekretessmarkeringen av {reference} är hävd.").format(reference=case.reference),
            )
        case = k.mark_secret(args.reference, args.ground, parts=args.part, reason=args.reason)
        if args.part:
            message = _("Händelse {parts} i {reference} är sekretessmarkerad enligt {ground}.").format(
                parts=", ".join(map(str, sorted(set(args.part)))),
                reference=case.reference,
                ground=args.ground,
            )
        else:
            message = _("{reference} är sekretessmarkerat enligt {ground}.").format(
                reference=case.reference, ground=case.secrecy
            )
        return _step_result(k, out, case, one_line(message))


def _cmd_whoami(args: argparse.Namespace, out: _Output) -> int:
    from klagomal.records.access import PERMISSIONS

    with _open(args) as k:
        user = k._allowed_identity()
        allowed = sorted(PERMISSIONS[user.role], key=lambda o: o.value)
        scope = k.access.scope(user)
        where = (
            _("hela kommunen")
            if scope.everything
            else ", ".join(sorted(scope.departments | scope.units)) or _("inga ärenden")
        )
        text = "\n".join(
            [
                _("{name} ({id}), roll: {role}").format(name=user.name, id=user.id, role=user.role.label),
                _("Ärenden: {where}").format(where=where),
                _("Skyddade personuppgifter: {yes}").format(
                    yes=_yes_no(k.access.sees_protected_at_all(user))
                ),
                _("Får: {what}").format(what=", ".join(o.label for o in allowed)),
            ]
        )
        text = "\n".join(one_line(line) for line in text.split("\n"))
        out.emit(
            {
                "id": user.id,
                "name": user.name,
                "role": user.role.value,
                "operations": [o.value for o in allowed],
            },
            text,
        )
    return 0


def _period_of(args: argparse.Namespace, k: Klagomal, step: str) -> Any:
    from klagomal.core.errors import InvalidInputError
    from klagomal.reports.periods import parse_period

    if not args.period:
        raise InvalidInputError(_("ange --period, till exempel 2026-T2 eller 2026-03"), step=step)
    try:
        return parse_period(args.period, half_years=((1, 1), k.organisation.reports.second_half))
    except ValueError as exc:
        raise InvalidInputError(str(exc), step=step) from None


def _cmd_register_extract(args: argparse.Namespace, out: _Output) -> int:
    from klagomal.records.public_records import render_register

    with _open(args) as k:
        period = _period_of(args, k, "register-extract")
        entries = k.register_list(period.start, period.end, department=args.forvaltning)
        title = _("Diarieförteckning, {kommun}: synpunkter som kom in {start}–{end}").format(
            kommun=k.organisation.name, start=period.start.isoformat(), end=period.end.isoformat()
        )
    out.emit(
        {
            "period": [period.start.isoformat(), period.end.isoformat()],
            "entries": [
                {
                    "received": e.received.isoformat(),
                    "reference": e.reference,
                    "kind": e.kind,
                    "unit": e.unit,
                    "sender": e.sender,
                    "summary": e.summary,
                }
                for e in entries
            ],
        },
        render_register(
            [_lines_escaped(e, "reference", "kind", "unit", "sender", "summary") for e in entries], title
        ),
    )
    return 0


def _cmd_extract(args: argparse.Namespace, out: _Output) -> int:
    from klagomal.records.public_records import render_extract

    with _open(args) as k:
        extract = k.public_extract(args.reference)
        # The one-line fields stay one line in the document; the texts keep their lines.
        shown = attrs.evolve(
            _lines_escaped(extract, "reference", "summary", "sender", "grounds"),
            parts=tuple(_lines_escaped(part, "label", "withheld") for part in extract.parts),
        )
        text = render_extract(shown, k.organisation)
    if args.out:
        pathlib.Path(args.out).write_text(text, encoding="utf-8")
        out.emit_line(
            {"file": args.out},
            _("Skrev utdraget ur {reference} till {file}.").format(
                reference=extract.reference, file=args.out
            ),
        )
    else:
        out.emit(json.loads(json.dumps(attrs.asdict(extract), default=str)), text)
    return 0


def _person_query(args: argparse.Namespace) -> Any:
    from klagomal.records.gdpr import PersonQuery

    return PersonQuery(email=args.email, phone=args.phone, personnummer=args.personnummer, name=args.name)


def _cmd_person_export(args: argparse.Namespace, out: _Output) -> int:
    from klagomal.records.gdpr import render_html

    with _open(args) as k:
        data = k.person_export(_person_query(args))
        made = k.clock.today()
        kommun = k.organisation.name
    text = (
        render_html(data, kommun, made)
        if args.format == "html"
        else json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    )
    if args.out:
        pathlib.Path(args.out).write_text(text, encoding="utf-8")
        out.emit(
            {"file": args.out, "cases": len(data["cases"])},
            _("Skrev personens uppgifter ({n} ärenden) till {file}.").format(
                n=len(data["cases"]), file=args.out
            ),
        )
    else:
        out.stream.write(text)
    return 0


def _cmd_person_anonymise(args: argparse.Namespace, out: _Output) -> int:
    with _open(args) as k:
        done = k.anonymise_person(_person_query(args), args.decision)
    references = [item.planned.reference for item in done]
    text = (
        _("Anonymiserade personen i {n} ärenden: {refs}.").format(
            n=len(references), refs=", ".join(references)
        )
        if references
        else _("Inga ärenden hittades för personen; inget har ändrats.")
    )
    out.emit({"anonymised": references}, text)
    return 0


def _cmd_gallra(args: argparse.Namespace, out: _Output) -> int:
    with _open(args) as k:
        planned = k.run_disposal(dry_run=args.dry_run)
    rows = [
        [p.reference, p.action.label, p.rule.id, p.rule.decision, p.closed.isoformat(), p.due.isoformat()]
        for p in planned
    ]
    n = len(planned)
    if args.dry_run:
        head = ngettext(
            "Skulle gallras: {n} ärende (inget är ändrat).",
            "Skulle gallras: {n} ärenden (inget är ändrat).",
            n,
        ).format(n=n)
    else:
        head = ngettext(
            "Gallrat: {n} ärende. Gallringen är loggad med regel, beslut och dag.",
            "Gallrat: {n} ärenden. Varje gallring är loggad med regel, beslut och dag.",
            n,
        ).format(n=n)
    table = _table(
        [[_("Ärende"), _("Åtgärd"), _("Regel"), _("Beslut"), _("Avslutat"), _("Gallras från")], *rows]
    )
    out.emit(
        {
            "dry_run": args.dry_run,
            "disposed": [
                {
                    "reference": p.reference,
                    "action": p.action.value,
                    "rule": p.rule.id,
                    "decision": p.rule.decision,
                }
                for p in planned
            ],
        },
        "\n".join([head, *(table if rows else [])]),
    )
    return 0


def _audit_anchor(text: str) -> tuple[int, str]:
    """An anchor ``N:HASH`` given to ``audit verify --anchor``."""
    match = re.fullmatch(r"\s*([0-9]+)\s*:\s*([0-9a-fA-F]{64})\s*", text)
    if match is None or int(match.group(1)) < 1:
        raise argparse.ArgumentTypeError(
            _(
                "ankaret '{anchor}' ska skrivas NUMMER:KONTROLLSUMMA som 'klagomal audit verify' skrev ut "
                "det: postens nummer (från 1), ett kolon och kontrollsummans 64 hexadecimala tecken"
            ).format(anchor=text)
        )
    return int(match.group(1)), match.group(2).lower()


def _cmd_audit_verify(args: argparse.Namespace, out: _Output) -> int:
    with _open(args) as k:
        result = k.audit_verify(anchors=args.anchor)
    out.emit(
        {
            "ok": result.ok,
            "checked": result.checked,
            "problems": [{"entry": p.entry, "reason": p.reason} for p in result.problems],
            "omitted": result.omitted,
            "last_id": result.last_id,
            "last_hash": result.last_hash,
            "anchor": result.anchor if result.last_id else None,
            "anchored": list(result.anchored),
        },
        result.summary(),
    )
    return 0 if result.ok else 1


def _cmd_audit_log(args: argparse.Namespace, out: _Output) -> int:
    with _open(args) as k:
        found = k.audit_log(reference=args.case, user_id=args.of_user, limit=args.limit)
    rows = [
        [
            str(e.id),
            e.at.isoformat(sep=" ", timespec="seconds"),
            e.user_id,
            e.action,
            e.outcome,
            e.reference or "-",
            e.detail,
        ]
        for e in found
    ]
    out.emit(
        {
            "entries": [
                {
                    "id": e.id,
                    "at": e.at.isoformat(),
                    "user": e.user_id,
                    "role": e.role,
                    "action": e.action,
                    "outcome": e.outcome,
                    "reference": e.reference,
                    "detail": e.detail,
                }
                for e in found
            ]
        },
        "\n".join(
            _table(
                [
                    [
                        _("Nr"),
                        _("Tid (UTC)"),
                        _("Användare"),
                        _("Åtgärd"),
                        _("Utfall"),
                        _("Ärende"),
                        _("Vad"),
                    ],
                    *rows,
                ]
            )
        ),
    )
    return 0


_cmd_reclassify = _simple_step(
    lambda k, a: k.reclassify(a.reference, a.kind, a.reason), "{reference} är nu av typen {case.kind.label}."
)


def _cmd_export(args: argparse.Namespace, out: _Output) -> int:
    # Streamed: a million cases never sit in memory at once.
    with _open(args) as k:
        if not args.output:
            k.export_to(out.stream, include_protected=args.with_protected)
            return 0
        with open(args.output, "w", encoding="utf-8") as fh:
            n = k.export_to(fh, include_protected=args.with_protected)
    out.emit_line(
        {"file": args.output, "cases": n},
        ngettext("Exporterade {n} ärende till {file}.", "Exporterade {n} ärenden till {file}.", n).format(
            n=n, file=args.output
        ),
    )
    return 0


def _cmd_import_cases(args: argparse.Namespace, out: _Output) -> int:
    _readable(args.file)
    bar: Any = None
    progress = None
    if not args.no_progress and not args.json and os.path.isfile(args.file):
        from tqdm import tqdm

        # On stderr, so that the summary on stdout stays clean for scripts.
        # tqdm's own \r redraws the bar, so it writes past the escaping of
        # stderr; the file name it shows is escaped here.
        stderr = sys.stderr.raw if isinstance(sys.stderr, _SafeStream) else sys.stderr
        bar = tqdm(
            total=os.path.getsize(args.file), unit="B", unit_scale=True, desc=one_line(args.file), file=stderr
        )

        def progress(done: int, _total: int) -> None:
            bar.update(done - bar.n)

    try:
        with _open(args) as k:
            result = k.import_cases(
                args.file,
                format=args.format,
                batch_size=args.batch_size,
                rejects=args.rejects,
                progress=progress,
            )
    finally:
        if bar is not None:
            bar.close()
    text = _(
        "Läste {read} rader: {imported} ärenden importerade, {skipped} fanns redan, {rejected} avvisade."
    ).format(read=result.read, imported=result.imported, skipped=result.skipped, rejected=result.rejected)
    if result.rejects_file:
        text += "\n" + one_line(
            _("De avvisade raderna, med radnummer och skäl, finns i {file}.").format(file=result.rejects_file)
        )
    import attrs

    out.emit(attrs.asdict(result), text)
    return 1 if result.rejected else 0


def _cmd_import(args: argparse.Namespace, out: _Output) -> int:
    from klagomal.core.errors import InvalidInputError

    try:
        if args.file == "-":
            data = json.load(sys.stdin)
        else:
            with open(args.file, encoding="utf-8") as fh:
                data = json.load(fh)
    except OSError as exc:
        raise InvalidInputError(
            _("kan inte läsa {file}: {reason}").format(file=args.file, reason=_os_reason(exc)), step="import"
        ) from exc
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            _("{file} är inte text i UTF-8 (byte {position})").format(file=args.file, position=exc.start + 1),
            step="import",
        ) from exc
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            _("{file} är inte giltig JSON (rad {line}): {reason}").format(
                file=args.file, line=exc.lineno, reason=exc.msg
            ),
            step="import",
        ) from exc
    if not isinstance(data, dict):
        raise InvalidInputError(_("filen är ingen klagomal-export"), step="import")
    with _open(args) as k:
        n = k.import_(data)
    out.emit({"imported": n}, ngettext("Importerade {n} ärende.", "Importerade {n} ärenden.", n).format(n=n))
    return 0


def _cmd_plugins(args: argparse.Namespace, out: _Output) -> int:
    import attrs

    from klagomal.hooks.manager import DISABLE_VARIABLE
    from klagomal.hooks.specs import HOOK_GROUPS

    with _open(args) as k:
        pm = k.plugin_manager
        decision_hooks = set(HOOK_GROUPS["decision"]) | set(HOOK_GROUPS["validation"])
        labels = {
            "dimensions": _("dimensioner: {items}"),
            "channels": _("kanaler: {items}"),
            "calendars": _("kalendrar: {items}"),
            "notifiers": _("aviseringssätt: {items}"),
            "storage_backends": _("lagring: {items}"),
            "template_dirs": _("brevmallar: {items}"),
            "report_sections": _("rapportavsnitt: {items}"),
            "migrations": _("migreringar: {items}"),
            "deadline_policies": _("tidsfristpolicy för: {items}"),
            "decisions": _("beslut: {items}"),
        }
        plugins = []
        lines = []
        for name, plugin in sorted(pm.list_name_plugin()):
            if plugin is None:  # blocked (disabled)
                continue
            hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
            version = pm.version_of(name)
            registered: dict[str, list[str]] = {
                what: k.registry.registered_by(name, what)
                for what in (
                    "dimensions",
                    "channels",
                    "calendars",
                    "notifiers",
                    "storage_backends",
                    "template_dirs",
                    "report_sections",
                    "migrations",
                )
            }
            registered["deadline_policies"] = [
                d for d, source in k.deadlines.sources.items() if source == name
            ]
            registered["decisions"] = [
                h for h in hooks if h in decision_hooks and h != "klagomal_deadline_policy"
            ]
            plugins.append({"name": name, "version": version, "hooks": hooks, **registered})
            lines.append(f"{name}" + (f" {version}" if version else ""))
            lines.append("  " + _("krokar: {hooks}").format(hooks=", ".join(hooks) or "-"))
            for what, items in registered.items():
                if items:
                    lines.append("  " + labels[what].format(items=", ".join(items)))
        for name in pm.disabled:
            lines.append(_("{name}: avstängd ({variable})").format(name=name, variable=DISABLE_VARIABLE))
        failures = [attrs.asdict(f) for f in pm.failures]
        for failure in pm.failures:
            lines.append(
                _("{plugin}: fel i {hook}, används inte: {error}").format(
                    plugin=failure.plugin, hook=failure.hook, error=failure.error
                )
            )
        out.emit({"plugins": plugins, "disabled": list(pm.disabled), "failures": failures}, "\n".join(lines))
    return 0


def _cmd_letter(args: argparse.Namespace, out: _Output) -> int:
    with _open(args) as k:
        letter = k.letter(args.reference, args.seq)
        out.emit(
            {
                "reference": letter.reference,
                "seq": letter.seq,
                "kind": letter.kind,
                "subject": letter.subject,
                "text": letter.text,
                "template": letter.template,
                "html": letter.html,
                "html_template": letter.html_template,
            },
            one_line(_("Ämne: {subject}").format(subject=letter.subject)) + "\n\n" + letter.text,
        )
    return 0


def _cmd_report(args: argparse.Namespace, out: _Output) -> int:
    from klagomal.core.errors import InvalidInputError
    from klagomal.reports.data import build_report
    from klagomal.reports.periods import parse_period
    from klagomal.reports.render import render_json, render_text, write_report

    with _open(args) as k:
        settings = k.organisation.reports
        try:
            if args.period is not None:
                if args.start or args.end:
                    raise ValueError(_("ange antingen --period eller --from och --to"))
                period = parse_period(args.period, half_years=((1, 1), settings.second_half))
            elif args.start and args.end:
                period = parse_period(f"{args.start.isoformat()}..{args.end.isoformat()}")
            else:
                raise ValueError(_("ange --period, till exempel 2026-T2, eller --from och --to"))
        except ValueError as exc:
            raise InvalidInputError(str(exc), step="report") from None
        report = build_report(
            k,
            period,
            department=args.forvaltning,
            unit=args.unit,
            audience=args.audience,
            threshold=settings.threshold,
        )
    if args.out is None:
        if args.format == "text":
            out.emit(render_json(report), render_text(report))
        elif args.format == "json":
            out.stream.write(json.dumps(render_json(report), ensure_ascii=False, indent=1) + "\n")
        elif args.format == "html":
            out.stream.write(write_report(report, "html", None) or "")
        else:
            raise InvalidInputError(
                _("--format csv skriver en fil per tabell; ange en mapp med --out"), step="report"
            )
        return 0
    try:
        written = write_report(report, args.format, args.out)
    except OSError as exc:
        raise InvalidInputError(_os_problem(exc), step="report") from exc
    except ValueError as exc:
        raise InvalidInputError(str(exc), step="report") from exc
    message = written or one_line(_("Skrev rapporten till {file}.").format(file=args.out))
    out.emit({"file": args.out, "format": args.format, "total": report.total}, message)
    return 0


def _cmd_deliver(args: argparse.Namespace, out: _Output) -> int:
    from klagomal.notices.outbox import describe_failure

    with _open(args) as k:
        queued = k.requeue(statuses=("failed",)) if args.retry_failed else []
        run = k.deliver(reference=args.reference, limit=args.limit)
        as_json = {
            "requeued": len(queued),
            "tasks": run.tasks,
            **{
                what: [k.converter.unstructure(n) for n in getattr(run, what)]
                for what in ("sent", "retry", "failed", "uncertain")
            },
        }
    lines = []
    if queued:
        lines.append(
            ngettext(
                "{n} misslyckat meddelande köades om.", "{n} misslyckade meddelanden köades om.", len(queued)
            ).format(n=len(queued))
        )
    lines.append(
        _(
            "Utskick: {sent} skickade, {retry} försöks igen senare, {failed} misslyckade, {uncertain} osäkra."
        ).format(
            sent=len(run.sent), retry=len(run.retry), failed=len(run.failed), uncertain=len(run.uncertain)
        )
    )
    for notice in run.retry + run.failed + run.uncertain:
        lines.append("  " + one_line(describe_failure(notice)))
    if run.tasks:
        lines.append(
            ngettext(
                "{n} uppgift väntar på en handläggare (se 'klagomal outbox --status task').",
                "{n} uppgifter väntar på handläggare (se 'klagomal outbox --status task').",
                run.tasks,
            ).format(n=run.tasks)
        )
    out.emit(as_json, "\n".join(lines))
    problems = len(run.retry) + len(run.failed) + len(run.uncertain)
    if problems:
        sys.stderr.write(
            ngettext(
                "klagomal: {n} meddelande kom inte fram\n",
                "klagomal: {n} meddelanden kom inte fram\n",
                problems,
            ).format(n=problems)
        )
        return 1
    return 0


def _cmd_outbox(args: argparse.Namespace, out: _Output) -> int:
    from klagomal.notices.outbox import OPEN_STATUSES

    with _open(args) as k:
        if args.resend:
            queued = k.requeue(args.resend)
            out.emit(
                {"requeued": [n.id for n in queued]},
                _("Köade om {ids}; de skickas vid nästa 'klagomal deliver'.").format(
                    ids=", ".join(str(n.id) for n in queued)
                ),
            )
            return 0
        if args.done is not None:
            notice = k.complete_task(args.done)
            out.emit(
                k.converter.unstructure(notice),
                _("Uppgift {id} i ärende {reference} är utförd.").format(
                    id=notice.id, reference=notice.reference
                ),
            )
            return 0
        statuses = args.status or (None if args.all else list(OPEN_STATUSES))
        notices = k.outbox(reference=args.reference, statuses=statuses)
        zone = k.clock.now().tzinfo
    lines = _table([_notice_row(n, zone) for n in notices])
    lines.append(ngettext("{n} meddelande", "{n} meddelanden", len(notices)).format(n=len(notices)))
    out.emit({"notices": [k.converter.unstructure(n) for n in notices]}, "\n".join(lines))
    return 0


def _list_quarantine(args: argparse.Namespace, out: _Output) -> int:
    with _open(args) as k:
        found = k.received_messages(outcomes=["quarantined"])
        zone = k.clock.now().tzinfo
    rows = [
        [
            str(m.id),
            _local(m.received_at, zone),
            m.source,
            m.sender or "-",
            (m.subject or "-")[:40],
            m.reason or "",
        ]
        for m in found
    ]
    lines = _table(rows)
    lines.append(
        ngettext("{n} meddelande i karantän", "{n} meddelanden i karantän", len(found)).format(n=len(found))
    )
    as_json = [
        {
            "id": m.id,
            "message_key": m.message_key,
            "received_at": m.received_at.isoformat(),
            "source": m.source,
            "sender": m.sender,
            "subject": m.subject,
            "reason": m.reason,
            "size": m.size,
        }
        for m in found
    ]
    out.emit({"quarantine": as_json}, "\n".join(lines))
    return 0


def _cmd_help(args: argparse.Namespace, out: _Output) -> int:  # pragma: no cover - a subcommand is required
    return 2


def _cmd_intake_email(args: argparse.Namespace, out: _Output) -> int:
    from klagomal.core.errors import InvalidInputError

    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else pathlib.Path(args.file).read_bytes()
    except OSError as exc:
        raise InvalidInputError(
            _("kan inte läsa {file}: {reason}").format(file=args.file, reason=_os_reason(exc)), step="intake"
        ) from exc
    with _open(args) as k:
        try:
            outcome = k.receive_email(raw, source="api")
        except AccessDeniedError:
            raise  # 77: trying again cannot help until someone gives the user the right
        except Exception as exc:
            # Only the database can fail here, never the message: tell a mail
            # server's pipe transport to keep it and try again (EX_TEMPFAIL).
            _stderr(
                _("meddelandet kunde inte sparas; det ska ligga kvar för ett nytt försök: {reason}").format(
                    reason=exc
                )
            )
            return 75
    out.emit_line(_outcome_json(outcome), outcome.describe())
    return 0


def _outcome_json(outcome: Any) -> dict[str, Any]:
    return {
        "outcome": outcome.outcome,
        "message_key": outcome.message_key,
        "reference": outcome.reference,
        "reason": outcome.reason,
    }


def _cmd_intake_mailbox(args: argparse.Namespace, out: _Output) -> int:
    import mailbox

    from klagomal.core.errors import InvalidInputError

    outcomes = []
    lines = []
    with _open(args) as k:
        if args.kind == "maildir":
            if not os.path.isdir(os.path.join(args.folder, "new")):
                raise InvalidInputError(
                    _("{folder} är ingen Maildir-katalog (den saknar new/)").format(folder=args.folder),
                    step="intake",
                )
            # By the Maildir convention itself, not through mailbox.Maildir,
            # which would rewrite a message it cannot parse when marking it.
            found = [
                (sub, name)
                for sub in ("new", "cur")
                if os.path.isdir(os.path.join(args.folder, sub))
                for name in sorted(os.listdir(os.path.join(args.folder, sub)))
            ]
            for sub, name in found:
                path = os.path.join(args.folder, sub, name)
                with open(path, "rb") as fh:
                    outcome = k.receive_email(fh.read(), source="maildir")
                outcomes.append(outcome)
                lines.append(one_line(f"{sub}/{name}: {outcome.describe()}"))
                if sub == "new":
                    # Stored (or known): mark it read, so a mail program shows it handled.
                    os.rename(path, os.path.join(args.folder, "cur", name.split(":", 1)[0] + ":2,S"))
        else:
            if not os.path.isfile(args.folder):
                raise InvalidInputError(
                    _("mbox-filen {folder} finns inte").format(folder=args.folder), step="intake"
                )
            with open(args.folder, "rb") as fh:
                start = fh.read(5)
            if start and start != b"From ":
                # mailbox.mbox would find no message in it, or drop what comes
                # before the first "From " line without a word.
                raise InvalidInputError(
                    _("{folder} är ingen mbox-fil: den ska börja med en rad 'From ...'").format(
                        folder=args.folder
                    ),
                    step="intake",
                )
            box = mailbox.mbox(args.folder, create=False)
            for key in box.iterkeys():
                outcome = k.receive_email(box.get_bytes(key), source="mbox")
                outcomes.append(outcome)
                lines.append(one_line(f"{key}: {outcome.describe()}"))
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    lines.append(
        _(
            "{n} meddelanden: {registered} nya ärenden, {reply} svar, {duplicate} redan mottagna, "
            "{automatic} automatiska, {quarantined} i karantän"
        ).format(
            n=len(outcomes),
            **{
                name: counts.get(name, 0)
                for name in ("registered", "reply", "duplicate", "automatic", "quarantined")
            },
        )
    )
    out.emit({"messages": [_outcome_json(o) for o in outcomes], "counts": counts}, "\n".join(lines))
    return 0


def _cmd_intake_release(args: argparse.Namespace, out: _Output) -> int:
    with _open(args) as k:
        outcome = k.release_from_quarantine(args.id, unit=args.unit, into=args.into, new=args.new)
    out.emit(_outcome_json(outcome), outcome.describe())
    return 0


def _readable(path: str) -> None:
    """Raise the operating system's error if *path* cannot be read, so that
    the handler is told why in Swedish before anything starts."""
    with open(path, "rb"):
        pass


def _cmd_intake_csv(args: argparse.Namespace, out: _Output) -> int:
    _readable(args.file)
    with _open(args) as k:
        result = k.intake_cards(args.file, rejects=args.rejects)
    text = _(
        "{read} kort lästa: {imported} registrerade, {skipped} redan registrerade, {rejected} med fel."
    ).format(read=result.read, imported=result.imported, skipped=result.skipped, rejected=result.rejected)
    if result.rejects_file:
        text += "\n" + one_line(
            _("Raderna med fel, med radnummer och orsak: {file}").format(file=result.rejects_file)
        )
    out.emit(
        {
            "read": result.read,
            "imported": result.imported,
            "skipped": result.skipped,
            "rejected": result.rejected,
            "rejects_file": result.rejects_file,
        },
        text,
    )
    return 1 if result.rejected else 0


def _cmd_serve_smtp(args: argparse.Namespace, out: _Output) -> int:
    import threading

    from klagomal.core.errors import InvalidInputError
    from klagomal.intake.smtpd import serve

    protocol = "LMTP" if args.lmtp else "SMTP"

    class Ready(threading.Event):
        """Says that the server listens once it does, not before: a port in
        use or a host that is not ours fails instead."""

        def set(self) -> None:
            super().set()
            _stderr(
                _("tar emot {protocol} på {host}:{port} (Ctrl-C avslutar)").format(
                    protocol=protocol, host=args.host, port=args.port
                )
            )

    ready = Ready()
    with _open(args) as k:
        try:
            serve(k, host=args.host, port=args.port, lmtp=args.lmtp, ready=ready)
        except OSError as exc:
            # A host that does not resolve or is not ours, a port in use or not allowed.
            raise InvalidInputError(
                _("kan inte ta emot {protocol} på {host}:{port}: {reason}").format(
                    protocol=protocol, host=args.host, port=args.port, reason=_os_reason(exc)
                ),
                step="serve-smtp",
            ) from exc
    return 0


def _reminder_row(reminder: Reminder) -> list[str]:
    kind = {"paminnelse": _("påminnelse"), "overskriden": _("överskriden")}.get(reminder.kind, reminder.kind)
    return [
        reminder.reference,
        kind,
        _("{what} senast {due}").format(what=reminder.deadline, due=reminder.due),
        _("till {recipient} ({role})").format(recipient=reminder.recipient, role=reminder.role),
    ]


def _cmd_remind(args: argparse.Namespace, out: _Output) -> int:
    with _open(args) as k:
        run = k.remind(args.notifier)
        as_json = {
            "today": run.today,
            "notifier": run.notifier,
            "created": len(run.created),
            **{
                what: [k.converter.unstructure(r) for r in getattr(run, what)]
                for what in ("sent", "failed", "obsolete", "uncertain")
            },
        }
    lines = [
        _(
            "Påminnelser {today} via {notifier}: {sent} skickade, {failed} misslyckade, "
            "{obsolete} inaktuella."
        ).format(
            today=run.today,
            notifier=run.notifier,
            sent=len(run.sent),
            failed=len(run.failed),
            obsolete=len(run.obsolete),
        )
    ]
    lines += ["  " + line for line in _table([_reminder_row(r) for r in run.sent])]
    if run.failed:
        lines.append(_("Kunde inte skickas (försöks igen vid nästa körning):"))
        lines += [
            "  " + line + f"  {one_line(r.last_error)}"
            for line, r in zip(_table([_reminder_row(r) for r in run.failed]), run.failed, strict=True)
        ]
    if run.uncertain:
        lines.append(_("Avbröts under ett tidigare utskick; kontrollera om de kom fram (skickas inte igen):"))
        lines += ["  " + line for line in _table([_reminder_row(r) for r in run.uncertain])]
    out.emit(as_json, "\n".join(lines))
    if run.failed:
        sys.stderr.write(
            ngettext(
                "klagomal: {n} påminnelse kunde inte skickas\n",
                "klagomal: {n} påminnelser kunde inte skickas\n",
                len(run.failed),
            ).format(n=len(run.failed))
        )
        return 1
    return 0


# -- entry point ---------------------------------------------------------------


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


def _os_reason(exc: OSError) -> str:
    """Why an operating-system call failed, in Swedish where the reason is a common one."""
    return _OS_REASONS.get(exc.errno or 0) or exc.strerror or str(exc)


def _os_problem(exc: OSError) -> str:
    """A Swedish line for an operating-system error: which file or address, and why."""
    reason = _os_reason(exc)
    if exc.filename is not None:
        return _("kan inte använda {file}: {reason}").format(file=exc.filename, reason=reason)
    return _("systemfel: {reason}").format(reason=reason)


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


def _stderr(message: object) -> None:
    """An error for the handler: one line on stderr, never a traceback."""
    sys.stderr.write(_("klagomal: {message}\n").format(message=one_line(message)))


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """Run the command line; return the exit status.

    0: done; 1: the step was refused or failed, or the input was wrong
    (found by klagomal, not by the parser); 2: the command line cannot be
    parsed (argparse, and arguments that are not text); 77: the acting user
    may not do it; 3: a bug.  Every message is Swedish, on one line of
    stderr; stdout and stderr get no control character raw.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    _not_text(parser, args)
    out = _Output(args, cast(TextIO, _SafeStream(stdout or sys.stdout)))
    with contextlib.redirect_stderr(cast(TextIO, _SafeStream(sys.stderr))):
        return _run(args, out)


def _run(args: argparse.Namespace, out: _Output) -> int:
    try:
        status: int = args.run(args, out)
    except AccessDeniedError as exc:
        _stderr(exc)
        return EXIT_DENIED
    except KlagomalError as exc:
        _stderr(exc)
        return 1
    except KeyboardInterrupt:  # pragma: no cover
        _stderr(_("avbrutet"))
        return 130
    except OSError as exc:
        # A file or address the handler named: missing, not allowed, a directory, in use.
        _stderr(_os_problem(exc))
        return 1
    except Exception as exc:
        # A handler must never see a traceback; the cause still goes with the message.
        from sqlalchemy.exc import SQLAlchemyError

        problem = _database_file_problem(exc, args)
        if problem is not None:
            _stderr(problem)
            return 1
        if isinstance(exc, SQLAlchemyError):
            reason = getattr(exc, "orig", None) or exc
            _stderr(_("databasfel: {reason}").format(reason=reason))
        else:
            _stderr(_("oväntat fel ({kind}): {reason}").format(kind=type(exc).__name__, reason=exc))
        if os.environ.get("KLAGOMAL_DEBUG"):
            raise
        return 3
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

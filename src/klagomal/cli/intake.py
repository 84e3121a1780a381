"""What comes in: ``intake`` (an e-mail, a Maildir, an mbox, reply cards,
a message released from the quarantine), ``serve-smtp`` and ``import-cases``
(an old register, in batches)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import re
import sys
from typing import Any

from klagomal.cli.base import (
    CommandGroup,
    Output,
    Parser,
    SafeStream,
    identifier,
    integer,
    iso_date,
    local_time,
    open_klagomal,
    os_reason,
    print_error,
    table_lines,
)
from klagomal.core.errors import AccessDeniedError
from klagomal.core.i18n import _, ngettext
from klagomal.core.text_rules import one_line

commands = CommandGroup(__name__)


def _import_cases_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FIL", help=_("en .jsonl- eller .csv-fil med en rad per ärende"))
    p.add_argument(
        "--format", choices=["jsonl", "csv"], help=_("filens format (standard: efter filändelsen)")
    )
    p.add_argument(
        "--batch-size",
        type=integer(1, 100_000, _("antal ärenden per transaktion")),
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


@commands.command(
    "import-cases",
    _("massimportera ärenden från ett annat system (JSON Lines eller CSV), i omgångar som kan återupptas"),
    _import_cases_arguments,
)
def _cmd_import_cases(args: argparse.Namespace, out: Output) -> int:
    _readable(args.file)
    bar: Any = None
    progress = None
    if not args.no_progress and not args.json and os.path.isfile(args.file):
        from tqdm import tqdm

        # On stderr, so that the summary on stdout stays clean for scripts.
        # tqdm's own \r redraws the bar, so it writes past the escaping of
        # stderr; the file name it shows is escaped here.
        stderr = sys.stderr.raw if isinstance(sys.stderr, SafeStream) else sys.stderr
        bar = tqdm(
            total=os.path.getsize(args.file), unit="B", unit_scale=True, desc=one_line(args.file), file=stderr
        )

        def progress(done: int, _total: int) -> None:
            bar.update(done - bar.n)

    try:
        with open_klagomal(args) as k:
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


def _readable(path: str) -> None:
    """Raise the operating system's error if *path* cannot be read, so that
    the handler is told why in Swedish before anything starts."""
    with open(path, "rb"):
        pass


def _intake_arguments(p: argparse.ArgumentParser) -> None:
    intake = p.add_subparsers(dest="source", metavar="KÄLLA", parser_class=Parser)
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
        "imap",
        help=_(
            "läs brevlådorna i [[intag.imap]] över IMAP; varje meddelande sparas och flyttas sedan till "
            "klar_mapp"
        ),
    )
    q.add_argument(
        "--mailbox", metavar="NAMN", help=_("bara brevlådan med detta namn (standard: alla i [[intag.imap]])")
    )
    q.add_argument(
        "--limit",
        type=integer(1, 2_147_483_647, _("antal meddelanden")),
        metavar="N",
        help=_("högst N meddelanden per brevlåda; resten tas vid nästa körning"),
    )
    q.set_defaults(run=_cmd_intake_imap)
    q = intake.add_parser(
        "release", help=_("ta in ett meddelande ur karantänen, när det som stoppade det är rättat")
    )
    q.add_argument(
        "id", type=identifier, metavar="ID", help=_("meddelandets nummer i 'klagomal list --quarantine'")
    )
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
    q = intake.add_parser(
        "log",
        help=_("mottagna meddelanden som inte blev något ärende: automatiska, dubbletter, i karantän"),
    )
    q.add_argument(
        "--since", type=iso_date, metavar="DATUM", help=_("bara meddelanden mottagna från detta datum")
    )
    q.add_argument(
        "--outcome",
        choices=["automatic", "duplicate", "quarantined"],
        action="append",
        metavar="UTFALL",
        help=_("bara detta utfall: automatic, duplicate eller quarantined; kan anges flera gånger"),
    )
    q.set_defaults(run=_cmd_intake_log)


commands.with_subcommands(
    "intake",
    _("ta emot synpunkter: e-post, en brevlåda (Maildir, mbox, IMAP) eller svarskort (CSV)"),
    _intake_arguments,
)


def _cmd_intake_email(args: argparse.Namespace, out: Output) -> int:
    from klagomal.core.errors import InvalidInputError

    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else pathlib.Path(args.file).read_bytes()
    except OSError as exc:
        raise InvalidInputError(
            _("kan inte läsa {file}: {reason}").format(file=args.file, reason=os_reason(exc)), step="intake"
        ) from exc
    with open_klagomal(args) as k:
        try:
            outcome = k.receive_email(raw, source="api", source_file=None if args.file == "-" else args.file)
        except AccessDeniedError:
            raise  # 77: trying again cannot help until someone gives the user the right
        except Exception as exc:
            # Only the database can fail here, never the message: tell a mail
            # server's pipe transport to keep it and try again (EX_TEMPFAIL).
            print_error(
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
        "source_file": outcome.source_file,
    }


def _cmd_intake_mailbox(args: argparse.Namespace, out: Output) -> int:
    import mailbox

    from klagomal.core.errors import InvalidInputError

    outcomes = []
    lines = []
    with open_klagomal(args) as k:
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
                # Where the file is once taken in: a new one is marked read, in cur/.
                kept = path
                if sub == "new":
                    kept = os.path.join(args.folder, "cur", name.split(":", 1)[0] + ":2,S")
                with open(path, "rb") as fh:
                    outcome = k.receive_email(fh.read(), source="maildir", source_file=kept)
                outcomes.append(outcome)
                lines.append(one_line(f"{sub}/{name}: {outcome.describe()}"))
                if sub == "new":
                    # Stored (or known): mark it read, so a mail program shows it handled.
                    os.rename(path, kept)
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
                # The mbox and the message's number in it, from 0 as the lines below show it.
                outcome = k.receive_email(
                    box.get_bytes(key), source="mbox", source_file=f"{args.folder}#{key}"
                )
                outcomes.append(outcome)
                lines.append(one_line(f"{key}: {outcome.describe()}"))
    counts, summary = _counts_line(outcomes)
    lines.append(summary)
    out.emit({"messages": [_outcome_json(o) for o in outcomes], "counts": counts}, "\n".join(lines))
    return 0


def _counts_line(outcomes: list[Any]) -> tuple[dict[str, int], str]:
    """How many messages had each outcome, and the summary line saying so."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    line = _(
        "{n} meddelanden: {registered} nya ärenden, {reply} svar, {duplicate} redan mottagna, "
        "{automatic} automatiska, {quarantined} i karantän"
    ).format(
        n=len(outcomes),
        **{
            name: counts.get(name, 0)
            for name in ("registered", "reply", "duplicate", "automatic", "quarantined")
        },
    )
    return counts, line


def _cmd_intake_imap(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        run = k.read_mailbox(args.mailbox, limit=args.limit)
    lines = []
    as_json = []
    for mailbox in run.mailboxes:
        for message in mailbox.messages:
            line = f"{mailbox.name} UID {message.uid}: {message.outcome.describe()}"
            if message.gone:
                line += " " + _("(redan borta ur mappen: någon annan tog det under tiden)")
            elif not message.moved:
                line += " " + _("(inte flyttat)")
            lines.append(one_line(line))
        counts, summary = _counts_line(list(mailbox.outcomes))
        summary = f"{mailbox.name}: {summary}; " + ngettext(
            "{n} flyttat till {folder}", "{n} flyttade till {folder}", mailbox.moved
        ).format(n=mailbox.moved, folder=mailbox.done_folder)
        if mailbox.left:
            summary += "; " + _("{n} ligger kvar till nästa körning").format(n=mailbox.left)
        lines.append(one_line(summary))
        as_json.append(
            {
                "name": mailbox.name,
                "messages": [
                    {"uid": m.uid, "moved": m.moved, "gone": m.gone, **_outcome_json(m.outcome)}
                    for m in mailbox.messages
                ],
                "counts": counts,
                "moved": mailbox.moved,
                "left": mailbox.left,
                "done_folder": mailbox.done_folder,
                "error": mailbox.error,
            }
        )
    out.emit({"mailboxes": as_json}, "\n".join(lines))
    for error in run.errors:
        print_error(error)
    return 1 if run.errors else 0


def _cmd_intake_release(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        outcome = k.release_from_quarantine(args.id, unit=args.unit, into=args.into, new=args.new)
    out.emit(_outcome_json(outcome), outcome.describe())
    return 0


def _cmd_intake_log(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        found = k.intake_log(since=args.since, outcomes=args.outcome)
        zone = k.clock.now().tzinfo
    words = {"automatic": _("automatiskt"), "duplicate": _("dubblett"), "quarantined": _("i karantän")}
    rows = [
        [
            local_time(e.received_at, zone),
            words[e.outcome],
            str(e.message_id),
            e.sender or "-",
            e.reason or "-",
            e.source_file or e.source,
        ]
        for e in found
    ]
    lines = table_lines(rows)
    lines.append(
        ngettext(
            "{n} mottaget meddelande blev inget ärende",
            "{n} mottagna meddelanden blev inget ärende",
            len(found),
        ).format(n=len(found))
    )
    as_json = [
        {
            "outcome": e.outcome,
            "received_at": e.received_at.replace(tzinfo=dt.UTC).isoformat(),
            "message_id": e.message_id,
            "message_key": e.message_key,
            "sender": e.sender,
            "subject": e.subject,
            "reason": e.reason,
            "reference": e.reference,
            "source": e.source,
            "source_file": e.source_file,
        }
        for e in found
    ]
    out.emit({"messages": as_json}, "\n".join(lines))
    return 0


def _cmd_intake_csv(args: argparse.Namespace, out: Output) -> int:
    _readable(args.file)
    with open_klagomal(args) as k:
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


def _serve_smtp_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--host", type=_host, default="127.0.0.1", help=_("adressen att lyssna på (standard 127.0.0.1)")
    )
    p.add_argument(
        "--port", type=integer(1, 65535, _("portnummer")), default=8025, help=_("porten (standard 8025)")
    )
    p.add_argument("--lmtp", action="store_true", help=_("tala LMTP i stället för SMTP"))


@commands.command(
    "serve-smtp",
    _("ta emot e-post över SMTP eller LMTP och spara varje meddelande innan det kvitteras"),
    _serve_smtp_arguments,
)
def _cmd_serve_smtp(args: argparse.Namespace, out: Output) -> int:
    import threading

    from klagomal.core.errors import InvalidInputError
    from klagomal.intake.smtpd import serve

    protocol = "LMTP" if args.lmtp else "SMTP"

    class Ready(threading.Event):
        """Says that the server listens once it does, not before: a port in
        use or a host that is not ours fails instead."""

        def set(self) -> None:
            super().set()
            print_error(
                _("tar emot {protocol} på {host}:{port} (Ctrl-C avslutar)").format(
                    protocol=protocol, host=args.host, port=args.port
                )
            )

    ready = Ready()
    with open_klagomal(args) as k:
        try:
            serve(k, host=args.host, port=args.port, lmtp=args.lmtp, ready=ready)
        except OSError as exc:
            # A host that does not resolve or is not ours, a port in use or not allowed.
            raise InvalidInputError(
                _("kan inte ta emot {protocol} på {host}:{port}: {reason}").format(
                    protocol=protocol, host=args.host, port=args.port, reason=os_reason(exc)
                ),
                step="serve-smtp",
            ) from exc
    return 0

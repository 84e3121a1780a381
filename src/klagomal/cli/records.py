"""Public records, secrecy, GDPR, disposal and the audit log (R27):
``whoami``, ``describe``, ``secrecy``, ``register-extract``, ``extract``,
``person``, ``gallra`` and ``audit``."""

from __future__ import annotations

import argparse
import json
import pathlib
import re
from typing import TYPE_CHECKING, Any

import attrs

from klagomal.cli.base import (
    CommandGroup,
    Output,
    count,
    identifier,
    lines_escaped,
    open_klagomal,
    step_result,
    table_lines,
    yes_no,
)
from klagomal.core.i18n import _, ngettext
from klagomal.core.text_rules import one_line

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.app import Klagomal
    from klagomal.core.model import Case

commands = CommandGroup(__name__)


@commands.command("whoami", _("visa vem kommandona utförs som och vad rollen får göra"))
def _cmd_whoami(args: argparse.Namespace, out: Output) -> int:
    from klagomal.records.access import PERMISSIONS

    with open_klagomal(args) as k:
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
                _("Skyddade personuppgifter: {yes}").format(yes=yes_no(k.access.sees_protected_at_all(user))),
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


def _describe_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("summary", metavar="BESKRIVNING", help=_("en rad utan personuppgifter"))


@commands.step(
    "describe",
    _("skriv diariets korta beskrivning av vad ärendet gäller"),
    "Diariets beskrivning av {reference}: {case.summary}",
    _describe_arguments,
)
def _describe(k: Klagomal, args: argparse.Namespace) -> Case:
    return k.describe(args.reference, args.summary)


def _secrecy_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--ground", metavar="GRUND", help=_("sekretessgrunden, t.ex. 'OSL 26 kap. 1 §'"))
    what.add_argument("--lift", metavar="SKÄL", help=_("häv markeringen av hela ärendet, med skälet"))
    p.add_argument(
        "--part",
        type=identifier,
        action="append",
        default=[],
        metavar="N",
        help=_("bara händelse N (se 'klagomal show'); kan anges flera gånger"),
    )
    p.add_argument("--reason", default="", metavar="SKÄL", help=_("varför, för nästa handläggare"))


@commands.command(
    "secrecy", _("sekretessmarkera ärendet eller delar av det, eller häv markeringen"), _secrecy_arguments
)
def _cmd_secrecy(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        if args.lift is not None:
            if args.part:
                from klagomal.core.errors import InvalidInputError

                raise InvalidInputError(
                    _("--lift häver markeringen av hela ärendet; markeringar av delar står kvar"),
                    step="secrecy",
                    reference=args.reference,
                )
            case = k.lift_secrecy(args.reference, args.lift)
            return step_result(
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
        return step_result(k, out, case, one_line(message))


def _register_extract_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--period", metavar="PERIOD", help=_("2026-T2, 2026-H1, 2026-03 eller 2026-03-01..2026-03-31")
    )
    p.add_argument("--forvaltning", metavar="ID", help=_("bara denna förvaltning"))


@commands.command(
    "register-extract",
    _("diarieförteckning: inkomna ärenden under en period"),
    _register_extract_arguments,
)
def _cmd_register_extract(args: argparse.Namespace, out: Output) -> int:
    from klagomal.records.public_records import render_register

    with open_klagomal(args) as k:
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
            [lines_escaped(e, "reference", "kind", "unit", "sender", "summary") for e in entries], title
        ),
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


def _extract_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--out", metavar="FIL", help=_("skriv till filen i stället för standard ut"))


@commands.command(
    "extract", _("utdrag ur ett ärende för utlämnande: personuppgifter maskerade"), _extract_arguments
)
def _cmd_extract(args: argparse.Namespace, out: Output) -> int:
    from klagomal.records.public_records import render_extract

    with open_klagomal(args) as k:
        extract = k.public_extract(args.reference)
        # The one-line fields stay one line in the document; the texts keep their lines.
        shown = attrs.evolve(
            lines_escaped(extract, "reference", "summary", "sender", "grounds"),
            parts=tuple(lines_escaped(part, "label", "withheld") for part in extract.parts),
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


def _person_arguments(p: argparse.ArgumentParser) -> None:
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


commands.with_subcommands(
    "person", _("en persons uppgifter (GDPR): registerutdrag och anonymisering"), _person_arguments
)


def _person_query(args: argparse.Namespace) -> Any:
    from klagomal.records.gdpr import PersonQuery

    return PersonQuery(email=args.email, phone=args.phone, personnummer=args.personnummer, name=args.name)


def _cmd_person_export(args: argparse.Namespace, out: Output) -> int:
    from klagomal.records.gdpr import render_html

    with open_klagomal(args) as k:
        data = k.person_export(_person_query(args))
    text = (
        render_html(data) if args.format == "html" else json.dumps(data, ensure_ascii=False, indent=1) + "\n"
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


def _cmd_person_anonymise(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
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


def _gallra_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help=_("visa bara vad som skulle gallras"))


@commands.command("gallra", _("gallra enligt kommunens gallringsbeslut ([[gallring]])"), _gallra_arguments)
def _cmd_gallra(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
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
    table = table_lines(
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


def _audit_arguments(p: argparse.ArgumentParser) -> None:
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
        "--limit", type=count, default=50, metavar="N", help=_("de senaste N posterna (standard 50)")
    )


commands.with_subcommands("audit", _("granskningsloggen: vem har läst och ändrat vad"), _audit_arguments)


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


def _cmd_audit_verify(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
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


def _cmd_audit_log(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
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
            table_lines(
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

"""``klagomal phrases``: the phrase library (R23, :mod:`klagomal.notices.phrases`).

Each förvaltning keeps ready wordings for its letters, a thanks, an
apology, a common answer, that its handlers copy into a besked or an
answer.  ``list`` shows them to whoever handles cases in the förvaltning;
``add``, ``edit`` and ``retire`` are for its förvaltningsadmin and the
systemägare.  Nothing is deleted: ``retire`` hides a phrase.
"""

from __future__ import annotations

import argparse
from typing import Any

from klagomal.cli.base import CommandGroup, Output, identifier, open_klagomal
from klagomal.core.i18n import _
from klagomal.core.phrases import Phrase, Purpose
from klagomal.core.text_rules import one_line, several_lines

__all__ = ["commands", "phrase_obj"]

commands = CommandGroup(__name__)

_PURPOSES = ", ".join(p.value for p in Purpose)


def _arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="phrases_command", metavar="KOMMANDO", parser_class=type(p))
    sub.required = True
    q = sub.add_parser("list", help=_("visa fraserna i de förvaltningar du handlägger ärenden i"))
    q.set_defaults(run=_cmd_list)
    q.add_argument("--department", metavar="FÖRVALTNING", help=_("bara den här förvaltningens fraser"))
    q.add_argument(
        "--purpose",
        metavar="SYFTE",
        help=_("bara fraser för ett syfte: {purposes}").format(purposes=_PURPOSES),
    )
    q.add_argument("--all", action="store_true", help=_("också fraser som är tagna ur bruk"))
    q = sub.add_parser("add", help=_("skriv en ny fras (förvaltningsadministratör, systemägare)"))
    q.set_defaults(run=_cmd_add)
    q.add_argument("department", metavar="FÖRVALTNING", help=_("förvaltningens id, t.ex. soc"))
    q.add_argument(
        "purpose", metavar="SYFTE", help=_("vad frasen är till för: {purposes}").format(purposes=_PURPOSES)
    )
    q.add_argument("--title", required=True, metavar="RUBRIK", help=_("en rad, högst 120 tecken"))
    q.add_argument("--text", required=True, metavar="TEXT", help=_("formuleringen, högst 5 000 tecken"))
    q = sub.add_parser("edit", help=_("ändra en fras; det som inte anges är oförändrat"))
    q.set_defaults(run=_cmd_edit)
    q.add_argument("phrase_id", type=identifier, metavar="ID", help=_("frasens id (se phrases list)"))
    q.add_argument("--department", metavar="FÖRVALTNING", help=_("flytta frasen till en annan förvaltning"))
    q.add_argument("--purpose", metavar="SYFTE", help=_("nytt syfte: {purposes}").format(purposes=_PURPOSES))
    q.add_argument("--title", metavar="RUBRIK", help=_("ny rubrik"))
    q.add_argument("--text", metavar="TEXT", help=_("ny formulering"))
    q = sub.add_parser("retire", help=_("ta en fras ur bruk: den döljs men raderas inte"))
    q.set_defaults(run=_cmd_retire)
    q.add_argument("phrase_id", type=identifier, metavar="ID", help=_("frasens id (se phrases list)"))


commands.with_subcommands("phrases", _("frasbiblioteket: visa, skriv, ändra, ta ur bruk (R23)"), _arguments)


def phrase_obj(phrase: Phrase) -> dict[str, Any]:
    """*phrase* as the JSON output shows it."""
    return {
        "id": phrase.id,
        "department": phrase.department,
        "purpose": phrase.purpose.value,
        "title": phrase.title,
        "text": phrase.text,
        "created_by": phrase.created_by,
        "created_at": phrase.created_at.isoformat(),
        "updated_by": phrase.updated_by,
        "updated_at": phrase.updated_at.isoformat() if phrase.updated_at else None,
        "retired_at": phrase.retired_at.isoformat() if phrase.retired_at else None,
    }


def _lines(phrase: Phrase, department: str) -> list[str]:
    retired = _(" (ur bruk)") if phrase.retired else ""
    head = f"{phrase.id}. {department} · {phrase.purpose.label} · {one_line(phrase.title)}{retired}"
    return [head, "    " + several_lines(phrase.text, "    ")]


def _cmd_list(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        found = k.phrases(args.department, purpose=args.purpose, include_retired=args.all)
        names = {d: k.organisation.unit(d).name for d in k.organisation.departments}
    lines = [line for phrase in found for line in [*_lines(phrase, names[phrase.department]), ""]]
    out.emit({"phrases": [phrase_obj(p) for p in found]}, "\n".join(lines) if lines else _("Inga fraser."))
    return 0


def _cmd_add(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        phrase = k.save_phrase(args.department, args.purpose, args.title, args.text)
    out.emit_line(
        phrase_obj(phrase),
        _("Fras {id} sparad: {title}").format(id=phrase.id, title=phrase.title),
    )
    return 0


def _cmd_edit(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        current = k.phrase(args.phrase_id)
        phrase = k.save_phrase(
            args.department or current.department,
            args.purpose or current.purpose,
            current.title if args.title is None else args.title,
            current.text if args.text is None else args.text,
            phrase_id=current.id,
        )
    out.emit_line(
        phrase_obj(phrase),
        _("Fras {id} ändrad: {title}").format(id=phrase.id, title=phrase.title),
    )
    return 0


def _cmd_retire(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        phrase = k.retire_phrase(args.phrase_id)
    out.emit_line(
        phrase_obj(phrase),
        _("Fras {id} är tagen ur bruk: {title}").format(id=phrase.id, title=phrase.title),
    )
    return 0

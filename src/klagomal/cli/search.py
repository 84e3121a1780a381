"""Full-text search over the cases a user may read: ``klagomal search``
(:mod:`klagomal.cases.search`)."""

from __future__ import annotations

import argparse

from klagomal.cli.base import CommandGroup, Output, open_klagomal, table_lines
from klagomal.core.i18n import _, ngettext

__all__: list[str] = []

commands = CommandGroup(__name__)


def _search_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "text", metavar="TEXT", help=_("ord att söka efter: diarienummer, ord i texterna, namn, e-post")
    )
    p.add_argument(
        "--limit", type=int, default=20, metavar="N", help=_("högst så många ärenden (standard: 20)")
    )
    p.add_argument("--unit", metavar="ENHET", help=_("bara ärenden hos denna enhet"))


@commands.command("search", _("sök bland ärendena du får läsa"), _search_arguments)
def _cmd_search(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        found = k.search(args.text, limit=args.limit, unit=args.unit)
        rows = [
            [
                f.case.reference,
                f.case.state.label,
                k.organisation.unit(f.case.unit).name,
                f.case.received.isoformat(),
                f.snippet,
            ]
            for f in found
        ]
        lines = table_lines(rows)
        lines.append(ngettext("{n} ärende", "{n} ärenden", len(found)).format(n=len(found)))
        obj = {
            "cases": [
                {
                    "reference": f.case.reference,
                    "kind": f.case.kind.value,
                    "state": f.case.state.value,
                    "unit": f.case.unit,
                    "received": f.case.received.isoformat(),
                    "snippet": f.snippet,
                    "rank": f.rank,
                }
                for f in found
            ]
        }
        out.emit(obj, "\n".join(lines))
    return 0

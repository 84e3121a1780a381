"""Related cases: ``klagomal related``, and the lists of the same person's
cases and of similar cases that ``register`` and ``show`` print
(:mod:`klagomal.cases.related`)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from klagomal.cli.base import CommandGroup, Output, open_klagomal, table_lines
from klagomal.cli.threats import kind_words
from klagomal.core.i18n import _

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.app import Klagomal
    from klagomal.cases.related import Related, RelatedCase

__all__ = ["related_lines", "related_obj"]

commands = CommandGroup(__name__)


def related_lines(k: Klagomal, related: Related, indent: str = "  ") -> list[str]:
    """The related cases under their two headings, each with why: for
    ``register``, ``show`` and ``related``."""
    lines: list[str] = []
    for heading, found in (
        (_("Samma person:"), related.same_person),
        (_("Liknande ärenden:"), related.similar),
    ):
        if found:
            lines.append(indent + heading)
            rows = [
                [
                    c.reference,
                    c.state.label,
                    k.organisation.unit(c.unit).name,
                    c.received.isoformat(),
                    c.why,
                    _("PERSONEN FLAGGAD: {kinds}").format(kinds=kind_words(c.person_flags))
                    if c.person_flags
                    else "",
                ]
                for c in found
            ]
            lines += table_lines(rows, indent=indent + "  ")
    return lines


def related_obj(related: Related) -> dict[str, object]:
    def entry(c: RelatedCase) -> dict[str, object]:
        return {
            "reference": c.reference,
            "kind": c.kind.value,
            "state": c.state.value,
            "unit": c.unit,
            "received": c.received.isoformat(),
            "matched": list(c.matched),
            "score": c.score,
            "shared": list(c.shared),
            "why": c.why,
            "person_flags": list(c.person_flags),
        }

    return {
        "same_person": [entry(c) for c in related.same_person],
        "similar": [entry(c) for c in related.similar],
    }


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")


@commands.command(
    "related", _("visa ärenden som hör ihop med ett ärende: samma person, liknande text"), _arguments
)
def _cmd_related(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        related = k.related(args.reference)
        lines = related_lines(k, related, indent="")
        if not related.any:
            lines = [_("Inga relaterade ärenden.")]
        out.emit({"reference": related.reference, **related_obj(related)}, "\n".join(lines))
    return 0

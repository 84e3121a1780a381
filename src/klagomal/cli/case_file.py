"""What is added to a case's file without moving it along the routine:
``note`` (an internal note), ``attach`` (a document) and
``correct-contact`` (the person's contact details), and how ``show``
presents them (:mod:`klagomal.cases.amendments`)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from klagomal.cli.base import CommandGroup, Output, case_obj, open_klagomal
from klagomal.core.events import AttachmentAdded, ContactCorrected, Event, NoteAdded
from klagomal.core.i18n import _
from klagomal.core.text_rules import one_line, several_lines
from klagomal.core.users import handler_name

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.app import Klagomal

__all__ = ["event_details", "note_lines", "notes_obj"]

commands = CommandGroup(__name__)


def _note_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument(
        "text", metavar="TEXT", help=_("anteckningen: för dem som handlägger ärendet, skickas till ingen")
    )


@commands.command("note", _("skriv en intern anteckning i ärendet"), _note_arguments)
def _cmd_note(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        case = k.add_note(args.reference, args.text)
        out.emit_line(
            case_obj(k, case),
            _("Anteckning {seq} sparad i {reference}.").format(seq=case.version, reference=case.reference),
        )
    return 0


def _attach_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("file", metavar="FIL", help=_("handlingen: PDF, bild, text eller kontorsdokument"))
    p.add_argument("--name", metavar="FILNAMN", help=_("filnamnet som visas (standard: filens eget)"))
    p.add_argument(
        "--type", metavar="TYP", help=_("filens typ, t.ex. application/pdf (standard: efter namnet)")
    )


@commands.command("attach", _("bifoga en handling till ärendet"), _attach_arguments)
def _cmd_attach(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        case = k.attach(args.reference, args.file, filename=args.name, media_type=args.type)
        event = k.history(case.reference)[-1]
        assert isinstance(event.data, AttachmentAdded)
        out.emit_line(
            case_obj(k, case),
            _("Bifogade {name} ({type}, {size} byte) till {reference}.").format(
                name=event.data.filename,
                type=event.data.media_type,
                size=event.data.size,
                reference=case.reference,
            ),
        )
    return 0


def _correct_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--name", metavar="NAMN", help=_("rätt namn (tom text tar bort uppgiften)"))
    p.add_argument("--email", metavar="E-POST", help=_("rätt e-postadress (tom text tar bort den)"))
    p.add_argument("--phone", metavar="TELEFON", help=_("rätt telefonnummer (tom text tar bort det)"))
    p.add_argument("--address", metavar="ADRESS", help=_("rätt postadress (tom text tar bort den)"))
    p.add_argument(
        "--prefer",
        choices=("epost", "brev", "telefon", "ingen"),
        help=_("hur personen vill bli kontaktad (ingen: inget särskilt sätt)"),
    )
    p.add_argument("--personnummer", metavar="PNR", help=_("rätt person- eller samordningsnummer"))
    protection = p.add_mutually_exclusive_group()
    protection.add_argument(
        "--protected",
        dest="protected",
        action="store_const",
        const=True,
        help=_("personen har skyddade personuppgifter"),
    )
    protection.add_argument(
        "--not-protected",
        dest="protected",
        action="store_const",
        const=False,
        help=_("personen har inte längre skyddade personuppgifter"),
    )
    p.add_argument("--reason", default="", metavar="TEXT", help=_("varför uppgifterna rättas"))


@commands.command(
    "correct-contact",
    _("rätta personens kontaktuppgifter (det gamla värdet finns kvar i historiken)"),
    _correct_arguments,
)
def _cmd_correct_contact(args: argparse.Namespace, out: Output) -> int:
    from klagomal.cases.amendments import correction_lines
    from klagomal.core.errors import InvalidInputError

    changes: dict[str, Any] = {
        name: value
        for name in ("name", "email", "phone", "address", "personnummer", "protected")
        if (value := getattr(args, name)) is not None
    }
    if args.prefer is not None:
        changes["preferred"] = "" if args.prefer == "ingen" else args.prefer
    if not changes:
        raise InvalidInputError(
            _(
                "ange vad som ska rättas: --name, --email, --phone, --address, --prefer, --personnummer "
                "eller --protected/--not-protected"
            ),
            step="correct-contact",
            reference=args.reference,
        )
    with open_klagomal(args) as k:
        case = k.correct_contact(args.reference, reason=args.reason, **changes)
        event = k.history(case.reference)[-1]
        assert isinstance(event.data, ContactCorrected)
        lines = [_("Kontaktuppgifterna i {reference} är rättade:").format(reference=case.reference)]
        lines += ["  " + one_line(line) for line in correction_lines(event.data)]
        out.emit(case_obj(k, case), "\n".join(lines))
    return 0


# -- how show presents them ------------------------------------------------------


def event_details(k: Klagomal, event: Event) -> str | None:
    """The short description of a note, an attachment or a correction in
    a case's history, or ``None`` for another event."""
    from klagomal.cases.amendments import correction_lines

    data = event.data
    if isinstance(data, NoteAdded):
        # The author is the history line's actor column; the note's first line here.
        first = data.text.strip().splitlines()[0] if data.text.strip() else ""
        return first[:79] + "…" if len(first) > 80 else first
    if isinstance(data, AttachmentAdded):
        return f"{data.filename} ({data.media_type}, {data.size} byte)"
    if isinstance(data, ContactCorrected):
        details = "; ".join(correction_lines(data))
        return f"{details} ({data.reason})" if data.reason else details
    return None


def note_lines(k: Klagomal, events: Sequence[Event]) -> list[str]:
    """The case's internal notes in full, each under its date and author,
    for ``show``; empty when there is none."""
    notes = [e for e in events if isinstance(e.data, NoteAdded)]
    if not notes:
        return []
    lines = [_("Anteckningar:")]
    for event in notes:
        assert isinstance(event.data, NoteAdded)
        author = handler_name(k.organisation.users, event.actor) or "-"
        lines.append(
            "  "
            + one_line(
                _("{day}, {author} (händelse {seq}):").format(day=event.day, author=author, seq=event.seq)
            )
        )
        lines.append("    " + several_lines(event.data.text, "    "))
    return lines


def notes_obj(k: Klagomal, events: Sequence[Event]) -> list[dict[str, Any]]:
    """The case's internal notes for ``show --json``."""
    return [
        {
            "seq": e.seq,
            "day": str(e.day),
            "author": handler_name(k.organisation.users, e.actor),
            "author_id": e.actor,
            "text": e.data.text,
        }
        for e in events
        if isinstance(e.data, NoteAdded)
    ]

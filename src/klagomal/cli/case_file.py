"""What is added to a case's file without moving it along the routine:
``note`` (an internal note), ``attach`` (a document),
``correct-contact`` (the person's contact details) and ``locate`` (where
the case is about), and how ``show`` presents them
(:mod:`klagomal.cases.amendments`)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from klagomal.cli.base import CommandGroup, Output, case_obj, open_klagomal
from klagomal.core.events import AttachmentAdded, ContactCorrected, Event, Located, NoteAdded
from klagomal.core.i18n import _
from klagomal.core.text_rules import one_line, several_lines
from klagomal.core.users import handler_name

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.app import Klagomal
    from klagomal.core.location import Location

__all__ = ["event_details", "location_arguments", "location_of", "note_lines", "notes_obj"]

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


def location_arguments(p: argparse.ArgumentParser) -> None:
    """The options that give where a case is about (``register``, ``locate``)."""
    p.add_argument("--lat", metavar="GRADER", help=_("latitud i WGS84, t.ex. 59.3293 (som Open311 och GPS)"))
    p.add_argument("--long", metavar="GRADER", help=_("longitud i WGS84, t.ex. 18.0686"))
    p.add_argument("--northing", metavar="METER", help=_("nordkoordinat (N) i SWEREF 99 TM (kräver geo)"))
    p.add_argument("--easting", metavar="METER", help=_("östkoordinat (E) i SWEREF 99 TM (kräver geo)"))
    p.add_argument("--place", metavar="ADRESS", help=_("platsen med ord: gatuadress, korsning, park"))


def location_of(args: argparse.Namespace, step: str, reference: str | None = None) -> Location | None:
    """The location the options of :func:`location_arguments` give, checked."""
    from klagomal.core.location_rules import check_location

    return check_location(
        latitude=args.lat,
        longitude=args.long,
        northing=args.northing,
        easting=args.easting,
        address=args.place,
        step=step,
        reference=reference,
    )


def _locate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    location_arguments(p)
    p.add_argument("--remove", action="store_true", help=_("ta bort platsen"))
    p.add_argument("--reason", default="", metavar="TEXT", help=_("varför platsen ändras"))


@commands.command(
    "locate",
    _("ange eller rätta platsen ärendet gäller (den förra finns kvar i historiken)"),
    _locate_arguments,
)
def _cmd_locate(args: argparse.Namespace, out: Output) -> int:
    from klagomal.core.errors import InvalidInputError

    location = location_of(args, "locate", args.reference)
    if (location is None) != args.remove:
        raise InvalidInputError(
            _("ange platsen (--lat och --long, --northing och --easting, --place) eller --remove, inte båda")
            if args.remove
            else _(
                "ange platsen: --lat och --long, --northing och --easting, eller --place (eller --remove)"
            ),
            step="locate",
            reference=args.reference,
        )
    with open_klagomal(args) as k:
        case = k.locate(args.reference, location, reason=args.reason)
        text = (
            _("Platsen för {reference}: {place}.").format(
                reference=case.reference, place=case.location.describe()
            )
            if case.location is not None
            else _("Platsen för {reference} är borttagen.").format(reference=case.reference)
        )
        out.emit_line(case_obj(k, case), one_line(text))
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
    if isinstance(data, Located):
        place = data.location.describe() if data.location is not None else _("borttagen")
        return f"{place} ({data.reason})" if data.reason else place
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

"""A case and its routine: ``register``, ``show``, ``list``, and the steps
from ``forward`` to ``resolve`` that the handler takes on a case."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from klagomal.cli import case_file
from klagomal.cli.base import (
    CommandGroup,
    Output,
    Parser,
    case_obj,
    iso_date,
    local_time,
    notice_row,
    open_klagomal,
    shown_handler,
    step_result,
    table_lines,
    working_days,
    yes_no,
)
from klagomal.cli.related import related_lines, related_obj
from klagomal.cli.threats import threat_details, threat_json, threat_lines, threat_marker
from klagomal.core.events import (
    Acknowledged,
    ActionRecorded,
    Answered,
    Assigned,
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
    PublicationWithdrawn,
    Reclassified,
    Registered,
    ResolvedAtOnce,
    Resumed,
)
from klagomal.core.i18n import _, ngettext
from klagomal.core.text_rules import one_line, several_lines
from klagomal.core.users import handler_name

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.app import Klagomal
    from klagomal.cases.worklist import WorkItem
    from klagomal.core.model import Case
    from klagomal.deadlines.policies import OpenDeadline
    from klagomal.notices.outbox import Notice

commands = CommandGroup(__name__)


def _case_reference(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")


def _register_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", required=True, metavar="TYP", help=_("klagomal, forslag eller berom"))
    p.add_argument(
        "--channel", required=True, metavar="KANAL", help=_("kanal, t.ex. telefon, brev, epost, webbformular")
    )
    p.add_argument(
        "--unit",
        metavar="ENHET",
        help=_(
            "enhetens id (se 'klagomal units'); utan den avgör en insticksmodul, "
            "annars din enhet om du har en enda"
        ),
    )
    p.add_argument("--text", required=True, metavar="TEXT", help=_("personens egna ord"))
    p.add_argument(
        "--received", type=iso_date, metavar="ÅÅÅÅ-MM-DD", help=_("mottagningsdatum (standard i dag)")
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
    case_file.location_arguments(p)


@commands.command("register", _("registrera en synpunkt"), _register_arguments)
def _cmd_register(args: argparse.Namespace, out: Output) -> int:
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
    location = case_file.location_of(args, "register")
    with open_klagomal(args) as k:
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
            location=location,
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
            return step_result(k, out, case, one_line(message))
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
        if not k.may_read(case):
            # R29: registered for a unit outside the registrar's scope; the unit takes it from here.
            lines.append(
                _("Ärendet handläggs av {unit}; du har inte behörighet att läsa det.").format(
                    unit=k.organisation.unit(case.unit).name
                )
            )
            # The case as registered, without its history, which they may not read.
            out.emit(case_obj(k, case, []), "\n".join(one_line(line) for line in lines))
            return 0
        events = k.history(case.reference)
        lines += [_("Notering: {note}").format(note=n) for n in _notes(events)]
        lines = [one_line(line) for line in lines]
        # Cases the handler may want to answer together with it: listed, never merged.
        related = k.related(case.reference)
        lines += related_lines(k, related, indent="")
        obj = case_obj(k, case, events)
        obj["related"] = related_obj(related)
        out.emit(obj, "\n".join(lines))
        return 0


def _notes(events: Sequence[Event]) -> tuple[str, ...]:
    """What plugins noted for the handler at registration."""
    return events[0].data.notes if events and isinstance(events[0].data, Registered) else ()


@commands.command("show", _("visa ett ärende med dess historik"), _case_reference)
def _cmd_show(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        case = k.get(args.reference)
        events = k.history(args.reference)
        lines = [_describe(k, case)]
        lines += threat_lines(k, events)  # R28: the flags that are set
        notes = _notes(events)
        if notes:
            lines.append(_("Noteringar:"))
            lines += [f"  - {one_line(note)}" for note in notes]
        lines.append(_next_step_line(k, case))
        lines.append(_("Historik:"))
        lines += _history_lines(k, events)
        lines += case_file.note_lines(k, events)
        files = k.attachments(args.reference)
        if files:
            lines.append(_("Bilagor:"))
            rows = [[f.filename or "-", f.content_type, _("{n} byte").format(n=f.size)] for f in files]
            lines += table_lines(rows, indent="  ")
        notices = k.outbox(reference=args.reference)
        if notices:
            lines.append(_("Meddelanden:"))
            zone = k.clock.now().tzinfo
            lines += table_lines([notice_row(n, zone) for n in notices], indent="  ")
        disposed = k.disposals(args.reference)
        if disposed:
            lines.append(_("Gallrat:"))
            lines += table_lines(
                [[str(d.day), d.action.label, d.rule, d.decision] for d in disposed], indent="  "
            )
        related = k.related(args.reference)
        if related.any:
            lines.append(_("Relaterade ärenden:"))
            lines += related_lines(k, related)
        obj = case_obj(k, case, events)
        obj.update(_show_extras(k, case, events))
        obj["threats"] = threat_json(k, events)
        obj["related"] = related_obj(related)
        obj["notices"] = [k.converter.unstructure(n) for n in notices]
        obj["notes"] = case_file.notes_obj(k, events)
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


def _history_lines(k: Klagomal, events: Sequence[Event]) -> list[str]:
    """``show``'s history: one line per event with who took the step."""
    from klagomal.cases.next_step import actor_label

    users, channels = k.organisation.users, k.channels
    rows = [
        [str(e.seq), str(e.day), e.label, actor_label(e, users, channels), _event_details(k, e)]
        for e in events
    ]
    return table_lines(rows, indent="  ")


def _next_step_line(k: Klagomal, case: Case) -> str:
    """``show``'s line on what the routine expects next, with its command."""
    from klagomal.cases.next_step import next_step

    step = next_step(case, k.clock.today())
    if step.step is None:
        return one_line(_("Nästa steg: {text}").format(text=step.text))
    return one_line(_("Nästa steg: {text} (klagomal {step})").format(text=step.text, step=step.step))


def _show_extras(k: Klagomal, case: Case, events: Sequence[Event]) -> dict[str, object]:
    """``show --json``: the next step, and who took each step (by event seq)."""
    from klagomal.cases.next_step import actor_label, next_step

    step = next_step(case, k.clock.today())
    users, channels = k.organisation.users, k.channels
    return {
        "next_step": {
            "step": step.step,
            "text": step.text,
            "due": None if step.due is None else step.due.isoformat(),
            "overdue": step.overdue,
        },
        "actors": {str(e.seq): actor_label(e, users, channels) for e in events},
    }


def _list_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--unit", metavar="ENHET", help=_("bara ärenden hos denna enhet och enheterna under den"))
    p.add_argument(
        "--state",
        metavar="STATUS",
        help=_("bara ärenden med denna status (registrerat, handlaggning, ...; open: alla utom avslutat)"),
    )
    p.add_argument("--open", action="store_true", help=_("bara öppna ärenden (samma som --state open)"))
    p.add_argument(
        "--mine",
        action="store_true",
        help=_(
            "min arbetslista: mina öppna ärenden, öppna ärenden utan handläggare i mina enheter "
            "och mina uppgifter, det som ska vara klart först överst"
        ),
    )
    p.add_argument("--overdue", action="store_true", help=_("bara ärenden där en tidsfrist har passerat"))
    p.add_argument(
        "--due-within",
        type=working_days,
        metavar="N",
        help=_("bara ärenden vars tidsfrist infaller inom N arbetsdagar (med --overdue: även försenade)"),
    )
    p.add_argument(
        "--handler",
        metavar="ANVÄNDARE",
        help=_("bara ärenden med denna handläggare (användar-id eller namn)"),
    )
    p.add_argument(
        "--manager",
        metavar="ANVÄNDARE",
        help=_("bara ärenden hos enheterna som denna chef leder, med underenheter (användar-id eller namn)"),
    )
    p.add_argument(
        "--quarantine",
        action="store_true",
        help=_(
            "i stället för ärenden: mottagna meddelanden i karantän, som inte kunde läsas eller registreras"
        ),
    )


@commands.command("list", _("lista ärenden"), _list_arguments)
def _cmd_list(args: argparse.Namespace, out: Output) -> int:
    if args.quarantine:
        return _list_quarantine(args, out)
    if args.mine:
        return _list_mine(args, out)
    with open_klagomal(args) as k:
        found = k.cases(
            unit=args.unit,
            subtree=args.unit is not None,
            state=_list_state(args),
            overdue=args.overdue,
            due_within=args.due_within,
            handler=args.handler,
            manager=args.manager,
        )
        histories = k.histories([c.reference for c in found])
        attention = k.open_notices([c.reference for c in found])
        lines = table_lines([_list_row(k, case, attention.get(case.reference, [])) for case in found])
        lines.append(ngettext("{n} ärende", "{n} ärenden", len(found)).format(n=len(found)))
        cases = []
        for c in found:
            obj = case_obj(k, c, histories[c.reference])
            obj["notices_needing_attention"] = [
                k.converter.unstructure(n) for n in attention.get(c.reference, [])
            ]
            cases.append(obj)
        out.emit({"cases": cases}, "\n".join(lines))
    return 0


def _list_state(args: argparse.Namespace) -> str | None:
    """``--state``, or ``open`` for ``--open``; both only when they agree."""
    from klagomal.core.errors import InvalidInputError

    if args.open and args.state not in (None, "open"):
        raise InvalidInputError(
            _("--open och --state {state} går inte ihop").format(state=args.state), step="list"
        )
    return "open" if args.open else args.state


def _list_mine(args: argparse.Namespace, out: Output) -> int:
    """``list --mine``: the acting user's worklist, due first."""
    from klagomal.core.errors import InvalidInputError

    others = [
        option
        for option, given in (
            ("--unit", args.unit),
            ("--state", args.state),
            ("--overdue", args.overdue),
            ("--due-within", args.due_within is not None),
            ("--handler", args.handler),
            ("--manager", args.manager),
        )
        if given
    ]
    if others:
        raise InvalidInputError(
            _("--mine visar hela din arbetslista och går inte ihop med {options}").format(
                options=", ".join(others)
            ),
            step="list",
        )
    with open_klagomal(args) as k:
        items = k.worklist()
        rows = [
            [
                item.reference,
                item.label,
                item.case.kind.label,
                k.organisation.unit(item.case.unit).name,
                item.case.state.label,
                _worklist_due(item),
                ", ".join(p for p in (threat_marker(item.case), _worklist_task(item)) if p),
            ]
            for item in items
        ]
        lines = table_lines(rows)
        lines.append(ngettext("{n} rad", "{n} rader", len(items)).format(n=len(items)))
        as_json = [
            {
                "reference": item.reference,
                "what": item.what,
                "kind": item.case.kind.value,
                "unit": item.case.unit,
                "state": item.case.state.value,
                "handler": shown_handler(k, item.case).handler,
                "handler_id": item.case.handler if item.case.handler in k.organisation.users else None,
                "deadline": item.deadline,
                "due": None if item.due is None else item.due.isoformat(),
                "days_left": item.days_left,
                "days_late": item.days_late,
                "overdue": item.overdue,
                "task": None if item.task is None else k.converter.unstructure(item.task),
                "threat_flags": list(item.case.threat_flags),
            }
            for item in items
        ]
        out.emit({"worklist": as_json}, "\n".join(lines))
    return 0


def _worklist_due(item: WorkItem) -> str:
    """A worklist row's deadline, with the working days left or late."""
    if item.case.paused_since is not None and item.task is None:
        return _("pausat sedan {day}").format(day=item.case.paused_since)
    if item.due is None:
        return "-"
    if item.overdue:
        return _("FÖRSENAT {what} {due} ({when})").format(what=item.deadline, due=item.due, when=item.when)
    return _("{what} senast {due} ({when})").format(what=item.deadline, due=item.due, when=item.when)


def _worklist_task(item: WorkItem) -> str:
    """What a task row asks: the notice to give, how, and how to mark it done."""
    if item.task is None:
        return ""
    from klagomal.notices.outbox import kind_label, way_label

    return _("{kind}: {way} (klar: klagomal outbox --done {id})").format(
        kind=kind_label(item.task.kind), way=way_label(item.task.way), id=item.task.id
    )


def _list_quarantine(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        found = k.received_messages(outcomes=["quarantined"])
        zone = k.clock.now().tzinfo
    rows = [
        [
            str(m.id),
            local_time(m.received_at, zone),
            m.source,
            m.sender or "-",
            (m.subject or "-")[:40],
            m.reason or "",
        ]
        for m in found
    ]
    lines = table_lines(rows)
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
        shown_handler(k, case).handler or "-",
        _deadline_text(case, k.open_deadline(case)),
        ", ".join(p for p in (threat_marker(case), _attention_text(attention)) if p),
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
        (_("Nöjd"), yes_no(case.satisfied)),
        (_("Handläggare"), shown_handler(k, case).handler or "-"),
        (_("Dimensioner"), dims),
        (_("Anonym"), yes_no(case.anonymous)),
        (_("Allvarligt"), yes_no(case.serious)),
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
    if case.location is not None:
        fields.append((_("Plats"), case.location.describe()))
    if case.secrecy:
        fields.append((_("Sekretess"), case.secrecy))
    if case.paused_since is not None:
        fields.append((_("Pausat"), _("sedan {day}, väntar på personen").format(day=case.paused_since)))
    reason = case.overdue_reason(k.clock.today())
    if reason:
        fields.append((_("FÖRSENAT"), _("{what} har inte getts i tid").format(what=reason)))
    lines = [one_line(_("Ärende {reference}: {kind}").format(reference=case.reference, kind=case.kind.label))]
    # The fields as a table of label and value; the person's text last, with
    # its lines kept, indented under the value column, so that no line of it
    # can pass for a field or a record of its own.
    # The text's row holds a mark where the value column starts.
    rows = [[label + ":", value] for label, value in [*fields, (_("Text"), "|")]]
    *field_lines, text_row = table_lines(rows, gap=1, indent="  ")
    column = text_row[:-1]
    text = column + several_lines(case.text, " " * len(column))
    return "\n".join([*lines, *field_lines, text])


def _event_details(k: Klagomal, event: Event) -> str:
    """A short Swedish description of what an event recorded."""
    threat = threat_details(k, event)
    if threat is not None:
        return threat
    data = event.data
    org = k.organisation
    match data:
        case Forwarded():
            return _("till {unit}").format(unit=org.unit(data.to_unit).name)
        case Acknowledged():
            return _("{handler}, svar senast {date}").format(
                handler=handler_name(org.users, data.handler), date=data.respond_by
            )
        case Assigned():
            return _("{handler} (förut {previous})").format(
                handler=handler_name(org.users, data.handler),
                previous=handler_name(org.users, data.previous) or _("ingen"),
            )
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
        case PublicationWithdrawn():
            return data.reason
    return case_file.event_details(k, event) or ""


def _first_line(text: str, width: int = 80) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def _forward_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--to", required=True, metavar="ENHET", help=_("enheten som ärendet gäller"))


@commands.step(
    "forward",
    _("skicka ärendet vidare till rätt enhet"),
    "{reference} skickades vidare till {unit} (vidarebefordrat {forwards}).",
    _forward_arguments,
)
def _forward(k: Klagomal, args: argparse.Namespace) -> Case:
    return k.forward(args.reference, args.to)


def _acknowledge_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument(
        "--handler",
        metavar="ANVÄNDARE",
        help=_(
            "vem som handlägger ärendet: användar-id eller namn, eller ett namn som skrivet "
            "(standard: du själv, om du är handläggare eller chef)"
        ),
    )
    p.add_argument(
        "--respond-by",
        type=iso_date,
        metavar="ÅÅÅÅ-MM-DD",
        help=_("lovat svarsdatum (standard: förvaltningens svarstid för ärendetypen)"),
    )


@commands.step(
    "acknowledge",
    _("ge besked om handläggare och svarsdatum"),
    "Besked registrerat för {reference}: {case.handler} svarar senast {case.respond_by}.",
    _acknowledge_arguments,
)
def _acknowledge(k: Klagomal, args: argparse.Namespace) -> Case:
    from klagomal.core.users import HANDLING_ROLES

    if args.handler is None and (k.user is None or k.user.role not in HANDLING_ROLES):
        # Only a user who handles cases may leave --handler out (they become
        # the handler); for anyone else it is required, as the parser says.
        usage = Parser(prog="klagomal acknowledge")
        _acknowledge_arguments(usage)
        usage.error("the following arguments are required: --handler")
    return k.acknowledge(args.reference, args.handler, args.respond_by)


def _assign_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument(
        "--handler",
        required=True,
        metavar="ANVÄNDARE",
        help=_("den nya handläggaren: användar-id eller namn; hen får ett meddelande"),
    )


@commands.step(
    "assign",
    _("tilldela ärendet en handläggare (chef, förvaltningsadministratör)"),
    "{reference} är tilldelat {case.handler}. Handläggaren får ett meddelande.",
    _assign_arguments,
)
def _assign(k: Klagomal, args: argparse.Namespace) -> Case:
    return k.assign(args.reference, args.handler)


def _inform_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--text", required=True, metavar="TEXT", help=_("vad personen fick veta"))


@commands.step(
    "inform",
    _("informera personen om hur handläggningen går"),
    "Information registrerad för {reference}.",
    _inform_arguments,
)
def _inform(k: Klagomal, args: argparse.Namespace) -> Case:
    return k.inform(args.reference, args.text)


def _postpone_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument(
        "--respond-by", required=True, type=iso_date, metavar="ÅÅÅÅ-MM-DD", help=_("nytt svarsdatum")
    )
    p.add_argument("--reason", required=True, metavar="SKÄL", help=_("varför det tar längre tid"))


@commands.step(
    "postpone",
    _("meddela nytt svarsdatum"),
    "Nytt svarsdatum för {reference}: {case.respond_by}.",
    _postpone_arguments,
)
def _postpone(k: Klagomal, args: argparse.Namespace) -> Case:
    return k.postpone(args.reference, args.respond_by, args.reason)


def _pause_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument(
        "--reason", required=True, metavar="SKÄL", help=_("vad ärendet väntar på, t.ex. en komplettering")
    )


@commands.step(
    "pause",
    _("pausa tidsfristen medan ärendet väntar på personen"),
    "{reference} är pausat i väntan på personen. Tidsfristen står still tills ärendet återupptas (resume).",
    _pause_arguments,
)
def _pause(k: Klagomal, args: argparse.Namespace) -> Case:
    return k.pause(args.reference, args.reason)


@commands.step(
    "resume",
    _("återuppta ett pausat ärende; svarsdatumet flyttas"),
    "{reference} är återupptaget. Svar senast {case.respond_by}.",
    _case_reference,
)
def _resume(k: Klagomal, args: argparse.Namespace) -> Case:
    return k.resume(args.reference)


def _answer_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument(
        "--mode", required=True, choices=["skriftligt", "muntligt"], help=_("skriftligt eller muntligt svar")
    )
    p.add_argument("--text", required=True, metavar="TEXT", help=_("svaret"))


@commands.step(
    "answer",
    _("besvara ärendet"),
    "{reference} är besvarat.",
    _answer_arguments,
)
def _answer(k: Klagomal, args: argparse.Namespace) -> Case:
    return k.answer(args.reference, args.mode, args.text)


def _action_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--text", required=True, metavar="TEXT", help=_("vad som gjordes"))


@commands.step(
    "action",
    _("registrera en vidtagen åtgärd"),
    "Åtgärd registrerad för {reference}.",
    _action_arguments,
)
def _action(k: Klagomal, args: argparse.Namespace) -> Case:
    return k.record_action(args.reference, args.text)


def _close_arguments(p: argparse.ArgumentParser) -> None:
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
    p.add_argument(
        "--drop-tasks",
        metavar="SKÄL",
        help=_("stryk ärendets öppna uppgifter (ringa personen) med detta skäl, som sparas med dem"),
    )


@commands.step(
    "close",
    _("avsluta ärendet"),
    "{reference} är avslutat.",
    _close_arguments,
)
def _close(k: Klagomal, args: argparse.Namespace) -> Case:
    return k.close(args.reference, args.satisfied, drop_tasks=args.drop_tasks)


def _escalate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--reason", required=True, metavar="SKÄL", help=_("varför personen inte är nöjd"))


@commands.step(
    "escalate",
    _("lyft ärendet till nästa nivå (förvaltningschef, nämnd)"),
    "{reference} är lyft till nivå {level} ({case.handler}). Nytt besked senast {case.acknowledge_by}.",
    _escalate_arguments,
)
def _escalate(k: Klagomal, args: argparse.Namespace) -> Case:
    return k.escalate(args.reference, args.reason)


def _pass_on_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument(
        "--to", required=True, action="append", metavar="NAMN", help=_("mottagare; kan anges flera gånger")
    )
    p.add_argument("--text", default="", metavar="TEXT", help=_("hälsning till personalen"))


@commands.step(
    "pass-on",
    _("för beröm vidare till berörd personal"),
    "Berömmet i {reference} är vidarebefordrat.",
    _pass_on_arguments,
)
def _pass_on(k: Klagomal, args: argparse.Namespace) -> Case:
    return k.pass_on_praise(args.reference, args.to, args.text)


def _guide_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--route", required=True, choices=("overklagande", "felanmalan"), help=_("vilken väg"))
    p.add_argument("--text", required=True, metavar="TEXT", help=_("vägledningen: vart och hur"))
    p.add_argument("--decision", metavar="BESLUT", help=_("överklagande: beslutet det gäller"))
    p.add_argument("--appeal-to", metavar="MYNDIGHET", help=_("överklagande: vart överklagandet skickas"))
    p.add_argument(
        "--notified",
        type=iso_date,
        metavar="ÅÅÅÅ-MM-DD",
        help=_("överklagande: dagen personen fick del av beslutet (tre veckor räknas därifrån)"),
    )


@commands.step(
    "guide",
    _("vägled personen till en annan väg som också gäller: överklagande eller felanmälan (R3)"),
    "Vägledning registrerad för {reference}; personen får ett brev om den andra vägen.",
    _guide_arguments,
)
def _guide(k: Klagomal, args: argparse.Namespace) -> Case:
    return k.guide(
        args.reference,
        args.route,
        args.text,
        decision=args.decision,
        appeal_to=args.appeal_to,
        notified=args.notified,
    )


def _reclassify_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--kind", required=True, metavar="TYP", help=_("ny typ: klagomal, forslag eller berom"))
    p.add_argument("--reason", required=True, metavar="SKÄL", help=_("varför typen ändras"))


@commands.step(
    "reclassify",
    _("ändra typ (ett klagomål kan aldrig ändras till något annat)"),
    "{reference} är nu av typen {case.kind.label}.",
    _reclassify_arguments,
)
def _reclassify(k: Klagomal, args: argparse.Namespace) -> Case:
    return k.reclassify(args.reference, args.kind, args.reason)


def _resolve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument("--text", required=True, metavar="TEXT", help=_("vad som gjordes"))
    p.add_argument("--handler", required=True, metavar="NAMN", help=_("vem som löste det"))
    p.add_argument("--not-satisfied", action="store_true", help=_("personen var inte nöjd (annars: nöjd)"))


@commands.step(
    "resolve",
    _("ärendet löstes direkt av den som tog emot det (R14, R29)"),
    "{reference} löstes direkt av {case.handler} och är avslutat.",
    _resolve_arguments,
)
def _resolve(k: Klagomal, args: argparse.Namespace) -> Case:
    return k.resolve_at_once(args.reference, args.text, args.handler, satisfied=not args.not_satisfied)

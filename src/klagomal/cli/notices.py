"""What goes out to the person and to the staff: ``letter``, ``deliver``,
``outbox`` and ``remind``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from klagomal.cli.base import (
    CommandGroup,
    Output,
    count,
    identifier,
    notice_row,
    open_klagomal,
    table_lines,
)
from klagomal.core.i18n import _, ngettext
from klagomal.core.text_rules import one_line

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.notices.reminders import Reminder

commands = CommandGroup(__name__)


def _letter_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    p.add_argument(
        "--seq",
        type=identifier,
        metavar="NR",
        help=_("händelsens nummer i historiken (standard: det senaste brevet)"),
    )


@commands.command("letter", _("visa brevet till personen för en händelse i ärendet"), _letter_arguments)
def _cmd_letter(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
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


def _deliver_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reference", metavar="ÄRENDE", help=_("bara detta ärendes meddelanden"))
    p.add_argument("--limit", type=count, metavar="N", help=_("högst så många meddelanden"))
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help=_("köa först om alla misslyckade meddelanden (efter att felet är rättat)"),
    )


@commands.command(
    "deliver",
    _("skicka meddelandena som väntar i utkorgen (körs ofta, t.ex. var femte minut)"),
    _deliver_arguments,
)
def _cmd_deliver(args: argparse.Namespace, out: Output) -> int:
    from klagomal.notices.outbox import describe_failure

    with open_klagomal(args) as k:
        queued = k.requeue(statuses=("failed",)) if args.retry_failed else []
        run = k.deliver(reference=args.reference, limit=args.limit)
        as_json = {
            "requeued": len(queued),
            "tasks": run.tasks,
            "failed_waiting": run.failed_waiting,
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
    if run.failed_waiting:
        # A failed notice is never tried again by itself: say so, and how.
        lines.append(
            ngettext(
                "{n} misslyckat meddelande väntar i utkorgen och skickas inte av sig självt "
                "(se 'klagomal outbox --status failed'); rätta felet och kör "
                "'klagomal deliver --retry-failed'.",
                "{n} misslyckade meddelanden väntar i utkorgen och skickas inte av sig självt "
                "(se 'klagomal outbox --status failed'); rätta felet och kör "
                "'klagomal deliver --retry-failed'.",
                run.failed_waiting,
            ).format(n=run.failed_waiting)
        )
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


def _outbox_arguments(p: argparse.ArgumentParser) -> None:
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
        type=identifier,
        action="append",
        metavar="ID",
        help=_("köa om ett misslyckat eller osäkert meddelande; kontrollera först att det inte kom fram"),
    )
    p.add_argument(
        "--done", type=identifier, metavar="ID", help=_("uppgiften är utförd (personen är kontaktad)")
    )


@commands.command("outbox", _("visa utkorgen: meddelanden, uppgifter och fel"), _outbox_arguments)
def _cmd_outbox(args: argparse.Namespace, out: Output) -> int:
    from klagomal.notices.outbox import OPEN_STATUSES

    with open_klagomal(args) as k:
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
    lines = table_lines([notice_row(n, zone) for n in notices])
    lines.append(ngettext("{n} meddelande", "{n} meddelanden", len(notices)).format(n=len(notices)))
    out.emit({"notices": [k.converter.unstructure(n) for n in notices]}, "\n".join(lines))
    return 0


def _remind_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--notifier",
        metavar="NAMN",
        help=_(
            "aviseringssätt (standard smtp om [utskick.smtp] anger en server, annars log; "
            "se 'klagomal plugins')"
        ),
    )


@commands.command(
    "remind",
    _("påminn handläggare om frister som närmar sig och chefer om passerade (körs dagligen)"),
    _remind_arguments,
)
def _cmd_remind(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        run = k.remind(args.notifier)
        as_json = {
            "today": run.today,
            "notifier": run.notifier,
            "created": len(run.created),
            **{
                what: [k.converter.unstructure(r) for r in getattr(run, what)]
                for what in ("sent", "failed", "obsolete", "uncertain", "undeliverable")
            },
            "missing_mailbox": {
                unit: [r.reference for r in found] for unit, found in run.missing_mailbox.items()
            },
        }
        units = {unit: k.organisation.units[unit].name for unit in run.missing_mailbox}
    lines = [
        _(
            "Påminnelser {today} via {notifier}: {sent} skickade, {failed} misslyckade, "
            "{obsolete} inaktuella."
        ).format(
            today=run.today,
            notifier=run.notifier,
            sent=len(run.sent),
            failed=len(run.failed) + len(run.undeliverable),
            obsolete=len(run.obsolete),
        )
    ]
    lines += table_lines([_reminder_row(r) for r in run.sent], indent="  ")
    if run.failed:
        lines.append(_("Kunde inte skickas (försöks igen vid nästa körning):"))
        lines += table_lines([[*_reminder_row(r), r.last_error or "-"] for r in run.failed], indent="  ")
    # A unit without a mailbox: said once for the unit, with what to add.
    for unit, found in run.missing_mailbox.items():
        lines.append(
            ngettext(
                "Enheten {name} ({unit}) har ingen e-postadress: ange 'epost' för enheten i "
                "organisationsfilen. {n} påminnelse (ärende {references}) kunde inte skickas och "
                "skickas inte igen.",
                "Enheten {name} ({unit}) har ingen e-postadress: ange 'epost' för enheten i "
                "organisationsfilen. {n} påminnelser (ärende {references}) kunde inte skickas och "
                "skickas inte igen.",
                len(found),
            ).format(
                name=units[unit],
                unit=unit,
                n=len(found),
                references=", ".join(dict.fromkeys(r.reference for r in found)),
            )
        )
    addressed = {id(r) for found in run.missing_mailbox.values() for r in found}
    others = [r for r in run.undeliverable if id(r) not in addressed]
    if others:
        lines.append(_("Kunde inte skickas, och skickas inte igen (rätta felet):"))
        lines += table_lines([[*_reminder_row(r), r.last_error or "-"] for r in others], indent="  ")
    if run.uncertain:
        lines.append(_("Avbröts under ett tidigare utskick; kontrollera om de kom fram (skickas inte igen):"))
        lines += table_lines([_reminder_row(r) for r in run.uncertain], indent="  ")
    out.emit(as_json, "\n".join(lines))
    unsent = len(run.failed) + len(run.undeliverable)
    if unsent:
        sys.stderr.write(
            ngettext(
                "klagomal: {n} påminnelse kunde inte skickas\n",
                "klagomal: {n} påminnelser kunde inte skickas\n",
                unsent,
            ).format(n=unsent)
        )
        return 1
    return 0


def _reminder_row(reminder: Reminder) -> list[str]:
    kind = {"paminnelse": _("påminnelse"), "overskriden": _("överskriden")}.get(reminder.kind, reminder.kind)
    return [
        reminder.reference,
        kind,
        _("{what} senast {due}").format(what=reminder.deadline, due=reminder.due),
        _("till {recipient} ({role})").format(recipient=reminder.recipient, role=reminder.role),
    ]

"""Abusive or threatening treatment (kränkande / hotfullt bemötande, R28):
``flag`` and ``unflag``, and how ``show`` and the worklists mark a flag.

Staff flag the person (``--om kontakt``) or the case (``--om arende``);
the förvaltning's routine (``klagomal_threat_routine``) decides who is told,
whether the case moves to the manager and on which channels staff may
decline further contact.  A chef or a förvaltning's administrator lifts a
flag.  Nothing of it goes to the person.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from klagomal.cli.base import CommandGroup, Output, open_klagomal, step_result
from klagomal.core.i18n import _
from klagomal.core.text_rules import one_line

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.app import Klagomal
    from klagomal.cases.threats import ActiveFlag
    from klagomal.core.events import Event, ThreatFlagged
    from klagomal.core.model import Case

__all__ = ["commands", "threat_details", "threat_json", "threat_lines", "threat_marker"]

commands = CommandGroup(__name__)


def _kind_arguments(p: argparse.ArgumentParser, required: bool) -> None:
    kinds = p.add_mutually_exclusive_group(required=required)
    kinds.add_argument(
        "--hotfullt",
        dest="kind",
        action="store_const",
        const="hotfullt",
        help=_("hotfullt bemötande"),
    )
    kinds.add_argument(
        "--krankande",
        dest="kind",
        action="store_const",
        const="krankande",
        help=_("kränkande bemötande"),
    )


def _flag_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    _kind_arguments(p, required=True)
    p.add_argument(
        "--om",
        dest="about",
        choices=("kontakt", "arende"),
        default="kontakt",
        help=_("vad flaggan gäller: kontakt (personen, standard) eller arende (bara det här ärendet)"),
    )
    p.add_argument("--reason", required=True, metavar="TEXT", help=_("vad som hände, för kollegor och chef"))


def _unflag_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="ÄRENDE")
    _kind_arguments(p, required=False)
    p.add_argument(
        "--om",
        dest="about",
        choices=("kontakt", "arende"),
        default=None,
        help=_("vilken flagga: kontakt eller arende (behövs bara när flera flaggor är satta)"),
    )
    p.add_argument("--reason", required=True, metavar="TEXT", help=_("varför flaggan hävs"))


@commands.command(
    "flag",
    _("flagga kränkande eller hotfullt bemötande av personalen; förvaltningens rutin avgör vad som händer"),
    _flag_arguments,
)
def _cmd_flag(args: argparse.Namespace, out: Output) -> int:
    from klagomal.core.events import ThreatFlagged

    with open_klagomal(args) as k:
        case = k.flag_threat(args.reference, args.kind, about=args.about, reason=args.reason)
        event = k.history(case.reference)[-1]
        assert isinstance(event.data, ThreatFlagged)
        lines = [
            _("Flaggat i {reference}: {flag}.").format(
                flag=_flag_text(event.data.kind, event.data.about).lower(), reference=case.reference
            ),
            *routine_lines(k, event.data),
        ]
        return step_result(k, out, case, "\n".join(one_line(line) for line in lines))


@commands.command(
    "unflag",
    _("häva en flagga för kränkande eller hotfullt bemötande (chef, förvaltningsadministratör)"),
    _unflag_arguments,
)
def _cmd_unflag(args: argparse.Namespace, out: Output) -> int:
    from klagomal.core.events import ThreatFlagLifted

    with open_klagomal(args) as k:
        case = k.lift_threat_flag(args.reference, args.reason, kind=args.kind, about=args.about)
        data = k.history(case.reference)[-1].data
        assert isinstance(data, ThreatFlagLifted)
        message = _("Flaggan är hävd i {reference}: {flag}.").format(
            flag=_flag_text(data.kind, data.about).lower(), reference=case.reference
        )
        return step_result(k, out, case, one_line(message))


def _flag_text(kind: str, about: str) -> str:
    """``"Hotfullt bemötande, gäller personen"``."""
    from klagomal.cases.threats import flag_label
    from klagomal.core.events import threat_key

    return flag_label(threat_key(kind, about))


def routine_lines(k: Klagomal, data: ThreatFlagged) -> list[str]:
    """What the förvaltning's routine decided, in Swedish, one line each."""
    from klagomal.core.users import handler_name

    users = k.organisation.users
    told = []
    if data.alert_manager:
        told.append(_("enhetens chef"))
    if data.alert_department_head:
        told.append(_("förvaltningschefen"))
    told += [handler_name(users, u) or u for u in data.alert_users]
    lines = []
    if told:
        lines.append(_("Får ett meddelande: {who}.").format(who=", ".join(told)))
    if data.handler is not None:
        lines.append(
            _("Ärendet har flyttats till {handler}.").format(handler=handler_name(users, data.handler))
        )
    if data.declined:
        channels = k.channels
        lines.append(
            _("Personalen får avböja fortsatt kontakt via {channels}.").format(
                channels=", ".join(channels[c].label.lower() if c in channels else c for c in data.declined)
            )
        )
    return lines


def _active(events: Sequence[Event]) -> list[ActiveFlag]:
    from klagomal.cases.threats import active_flags

    return active_flags(events)


def threat_lines(k: Klagomal, events: Sequence[Event]) -> list[str]:
    """``show``'s lines about the flags that are set, with who set them,
    when, why and what the routine decided; none when no flag is set."""
    flags = _active(events)
    if not flags:
        return []
    lines = [_("Flaggat för kränkande eller hotfullt bemötande:")]
    for flag in flags:
        lines.append(
            "  "
            + one_line(
                _("{flag}: flaggat {day} av {who}: {reason}").format(
                    flag=_flag_text(flag.data.kind, flag.data.about),
                    day=flag.day,
                    who=flag.by(k.organisation.users),
                    reason=flag.data.reason,
                )
            )
        )
        lines += ["    " + one_line(line) for line in routine_lines(k, flag.data)]
    return lines


def threat_json(k: Klagomal, events: Sequence[Event]) -> list[dict[str, Any]]:
    """The flags that are set, for ``show --json``."""
    return [
        {
            "kind": flag.data.kind,
            "about": flag.data.about,
            "day": flag.day.isoformat(),
            "by": flag.actor,
            "reason": flag.data.reason,
            "alert_manager": flag.data.alert_manager,
            "alert_department_head": flag.data.alert_department_head,
            "alert_users": list(flag.data.alert_users),
            "handler": flag.data.handler,
            "declined": list(flag.data.declined),
            "routine": flag.data.routine,
        }
        for flag in _active(events)
    ]


def threat_marker(case: Case) -> str:
    """A worklist's mark for a flagged case: ``FLAGGAT: hotfullt``; empty
    when no flag is set."""
    if not case.threat_flags:
        return ""
    return _("FLAGGAT: {kinds}").format(kinds=kind_words(key.partition(":")[0] for key in case.threat_flags))


def kind_words(kinds: Iterable[str]) -> str:
    """The kinds of flags (``hotfullt``, ``krankande``) as staff read them, once each."""
    words = {"hotfullt": _("hotfullt"), "krankande": _("kränkande")}
    return ", ".join(words.get(kind, kind) for kind in dict.fromkeys(kinds))


def threat_details(k: Klagomal, event: Event) -> str | None:
    """The history's description of a flag's event, or ``None`` for another event."""
    from klagomal.core.events import ThreatFlagged, ThreatFlagLifted

    data = event.data
    if isinstance(data, ThreatFlagged):
        return " ".join([f"{_flag_text(data.kind, data.about)}: {data.reason}", *routine_lines(k, data)])
    if isinstance(data, ThreatFlagLifted):
        return f"{_flag_text(data.kind, data.about)}: {data.reason}"
    return None

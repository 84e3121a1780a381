"""Webhooks (:mod:`klagomal.notices.webhooks`): ``webhook add``, ``list``,
``remove``, ``deliver``, ``deliveries`` and ``retry``.

A system's URL is subscribed to event types, bound to a user of the
organisation file whose access decides what a payload carries; the
signing secret is printed once, when the subscription is made.
``webhook deliver`` sends what is due, from cron next to ``klagomal deliver``.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from klagomal.cli.base import CommandGroup, Output, count, open_klagomal, table_lines
from klagomal.core.i18n import _

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.notices.webhooks import Subscription, WebhookDelivery

__all__ = ["commands"]

commands = CommandGroup(__name__)


def _stamp(moment: Any) -> str:
    return "-" if moment is None else moment.isoformat(sep=" ", timespec="seconds")


def _subscription_json(s: Subscription) -> dict[str, Any]:
    from klagomal.notices.webhooks import subscription_json  # not at start-up (klagomal --help)

    return subscription_json(s)


def _delivery_json(d: WebhookDelivery) -> dict[str, Any]:
    from klagomal.notices.webhooks import delivery_json

    return delivery_json(d)


def _events(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="webhook_command", metavar="KOMMANDO", parser_class=type(p))
    sub.required = True
    q = sub.add_parser("add", help=_("prenumerera en adress på händelser; hemligheten visas bara nu"))
    q.set_defaults(run=_cmd_add)
    q.add_argument("url", metavar="URL", help=_("adressen som tar emot händelserna (http eller https)"))
    q.add_argument(
        "--for-user",
        required=True,
        metavar="ANVÄNDARE",
        help=_("användaren i organisationsfilen vars behörighet avgör vad som skickas"),
    )
    which = q.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--events",
        type=_events,
        metavar="TYP,TYP",
        help=_("händelsetyperna, till exempel registered,answered"),
    )
    which.add_argument("--all", action="store_true", help=_("alla händelsetyper"))
    q = sub.add_parser("list", help=_("visa prenumerationerna (utan hemligheter)"))
    q.set_defaults(run=_cmd_list)
    q.add_argument("--removed", action="store_true", help=_("också borttagna"))
    q = sub.add_parser("remove", help=_("ta bort en prenumeration"))
    q.set_defaults(run=_cmd_remove)
    q.add_argument("id", type=count, metavar="ID")
    q = sub.add_parser("deliver", help=_("skicka de leveranser som står på tur (kör ofta, som deliver)"))
    q.set_defaults(run=_cmd_deliver)
    q.add_argument("--limit", type=count, metavar="N", help=_("högst N leveranser"))
    q = sub.add_parser("deliveries", help=_("visa leveranserna med status, försök och senaste fel"))
    q.set_defaults(run=_cmd_deliveries)
    q.add_argument(
        "--status",
        choices=("pending", "sending", "sent", "failed", "skipped"),
        help=_("bara leveranser med denna status"),
    )
    q.add_argument("--webhook", type=count, metavar="ID", help=_("bara denna prenumerations leveranser"))
    q.add_argument("--limit", type=count, default=50, metavar="N", help=_("de senaste N (standard 50)"))
    q = sub.add_parser("retry", help=_("köa misslyckade leveranser igen, med samma webhook-id"))
    q.set_defaults(run=_cmd_retry)
    q.add_argument("ids", type=count, nargs="+", metavar="ID")


commands.with_subcommands(
    "webhook", _("webbhookar: berätta om händelser för kommunens andra system"), _arguments
)


def _cmd_add(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        s = k.webhooks.subscribe(args.url, user=args.for_user, events=None if args.all else args.events)
    text = "\n".join(
        [
            _("Webhook {id} skapad: {url} (användare {user}, händelser: {events}).").format(
                id=s.id, url=s.url, user=s.user_id, events=s.events_label
            ),
            _("Hemlighet (visas bara nu, spara den i mottagarens inställningar): {secret}").format(
                secret=s.secret
            ),
        ]
    )
    out.emit({**_subscription_json(s), "secret": s.secret}, text)
    return 0


def _cmd_list(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        found = k.webhooks.subscriptions(removed=args.removed)
    rows = [
        [
            str(s.id),
            s.url,
            s.user_id,
            s.events_label,
            _stamp(s.created_at),
            _("borttagen") if s.removed_at else "",
        ]
        for s in found
    ]
    head = [_("Id"), _("Adress"), _("Användare"), _("Händelser"), _("Skapad"), ""]
    text = "\n".join(table_lines([head, *rows])) if rows else _("Inga webbhookar.")
    out.emit({"webhooks": [_subscription_json(s) for s in found]}, text)
    return 0


def _cmd_remove(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        s = k.webhooks.unsubscribe(args.id)
    out.emit(_subscription_json(s), _("Webhook {id} ({url}) är borttagen.").format(id=s.id, url=s.url))
    return 0


def _delivery_rows(found: list[WebhookDelivery]) -> list[list[str]]:
    return [
        [
            str(d.id),
            d.webhook_id,
            d.event_type,
            d.status_label,
            str(d.attempts),
            _stamp(d.next_attempt if d.status == "pending" else d.sent_at),
            d.last_error or "",
        ]
        for d in found
    ]


def _cmd_deliveries(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        found = k.webhooks.deliveries(
            statuses=None if args.status is None else [args.status],
            subscription_id=args.webhook,
            limit=args.limit,
        )
    head = [_("Id"), _("webhook-id"), _("Händelse"), _("Status"), _("Försök"), _("Nästa/skickad"), _("Fel")]
    rows = _delivery_rows(found)
    text = "\n".join(table_lines([head, *rows], right={4})) if rows else _("Inga leveranser.")
    out.emit({"deliveries": [_delivery_json(d) for d in found]}, text)
    return 0


def _cmd_deliver(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        run = k.webhooks.deliver(limit=args.limit)
    lines = [
        _(
            "Webbhookar: {sent} skickade, {retry} försöks igen senare, {failed} misslyckade, "
            "{skipped} inte skickade."
        ).format(sent=len(run.sent), retry=len(run.retry), failed=len(run.failed), skipped=len(run.skipped))
    ]
    lines += [
        _("  {id} ({reference}): {error}").format(id=d.webhook_id, reference=d.reference, error=d.last_error)
        for d in [*run.retry, *run.failed, *run.skipped]
    ]
    out.emit(
        {
            "sent": [_delivery_json(d) for d in run.sent],
            "retry": [_delivery_json(d) for d in run.retry],
            "failed": [_delivery_json(d) for d in run.failed],
            "skipped": [_delivery_json(d) for d in run.skipped],
        },
        "\n".join(lines),
    )
    return 1 if run.failed else 0


def _cmd_retry(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        queued = k.webhooks.requeue(args.ids)
    out.emit(
        {"queued": [_delivery_json(d) for d in queued]},
        _("Köade igen: {ids}.").format(ids=", ".join(str(d.id) for d in queued)),
    )
    return 0

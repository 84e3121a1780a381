"""``klagomal apikey``: the keys of the HTTP API (:mod:`klagomal.web`).

Each system that calls the API (the e-tjänsteplattform, the contact centre's
system, the diarium) gets its own key, bound to one user of the organisation
file, whose roles and scope the requests made with it have.  The key is
printed once, when it is created; only its hash is stored.
"""

from __future__ import annotations

import argparse

from klagomal.cli.base import CommandGroup, Output, identifier, open_klagomal, table_lines
from klagomal.core.i18n import _

__all__ = ["commands"]

commands = CommandGroup(__name__)


def _arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="apikey_command", metavar="KOMMANDO", parser_class=type(p))
    sub.required = True
    q = sub.add_parser("create", help=_("skapa en nyckel för ett system; nyckeln skrivs ut en gång"))
    q.set_defaults(run=_cmd_create)
    q.add_argument(
        "--for-user",
        dest="key_user",
        required=True,
        metavar="ANVÄNDARE",
        help=_("användaren (id i [[anvandare]]) som systemet agerar som"),
    )
    q.add_argument(
        "--name", required=True, metavar="SYSTEM", help=_("systemets namn, t.ex. e-tjänsteplattformen")
    )
    q = sub.add_parser("list", help=_("visa nycklarna (aldrig själva nycklarna)"))
    q.set_defaults(run=_cmd_list)
    q = sub.add_parser("revoke", help=_("återkalla en nyckel: anrop med den nekas från och med nu"))
    q.set_defaults(run=_cmd_revoke)
    q.add_argument("key_id", type=identifier, metavar="ID", help=_("nyckelns id (se apikey list)"))


commands.with_subcommands("apikey", _("nycklar till HTTP-API:t: skapa, visa, återkalla"), _arguments)


def _cmd_create(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        stored, key = k.create_api_key(args.key_user, args.name)
    out.emit(
        {"id": stored.id, "name": stored.name, "user": stored.user_id, "key": key},
        _(
            "API-nyckel {id} för {name} (agerar som {user}):\n{key}\n"
            "Spara nyckeln nu: den lagras bara som kontrollsumma och kan inte visas igen."
        ).format(id=stored.id, name=stored.name, user=stored.user_id, key=key),
    )
    return 0


def _cmd_list(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        keys = k.api_keys()
    rows = [
        [
            str(key.id),
            key.name,
            key.user_id,
            key.prefix + "…",
            key.created.isoformat(sep=" ", timespec="seconds"),
            key.revoked.isoformat(sep=" ", timespec="seconds") if key.revoked else "-",
        ]
        for key in keys
    ]
    header = [_("Id"), _("System"), _("Användare"), _("Början"), _("Skapad (UTC)"), _("Återkallad (UTC)")]
    out.emit(
        {
            "keys": [
                {
                    "id": key.id,
                    "name": key.name,
                    "user": key.user_id,
                    "prefix": key.prefix,
                    "created": key.created.isoformat(),
                    "created_by": key.created_by,
                    "revoked": key.revoked.isoformat() if key.revoked else None,
                    "revoked_by": key.revoked_by,
                }
                for key in keys
            ]
        },
        "\n".join(table_lines([header, *rows], right={0})) if rows else _("Inga API-nycklar."),
    )
    return 0


def _cmd_revoke(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        key = k.revoke_api_key(args.key_id)
    out.emit(
        {"id": key.id, "name": key.name, "revoked": key.revoked.isoformat() if key.revoked else None},
        _("API-nyckel {id} för {name} är återkallad.").format(id=key.id, name=key.name),
    )
    return 0

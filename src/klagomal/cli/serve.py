"""``klagomal serve``: the HTTP API (:mod:`klagomal.web`) on one process,
against ``--db`` and ``--org`` as every command.  Production runs several
uvicorn workers on :func:`klagomal.web.app.create_app` instead (docs/web.md).
``--log-format json`` writes the log as JSON lines without personal data
(:mod:`klagomal.observe.logs`).

Needs the ``web`` extra; without it the command says so in Swedish, and the
rest of klagomal never imports it.
"""

from __future__ import annotations

import argparse
from typing import Any

from klagomal.cli.base import CommandGroup, Output, integer, open_klagomal, os_reason, print_error
from klagomal.cli.intake import _host  # the same check of an address to listen on as serve-smtp's
from klagomal.core.i18n import _

__all__ = ["commands"]

commands = CommandGroup(__name__)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--host", type=_host, default="127.0.0.1", help=_("adressen att lyssna på (standard 127.0.0.1)")
    )
    p.add_argument(
        "--port", type=integer(1, 65535, _("portnummer")), default=8000, help=_("porten (standard 8000)")
    )
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=None,
        help=_(
            "loggen som text (standard) eller som JSON-rader utan personuppgifter, en rad per anrop "
            "(standard: miljövariabeln KLAGOMAL_LOG_FORMAT, annars text)"
        ),
    )
    p.add_argument(
        "--demo-login",
        action="store_true",
        help=_(
            "låt den som öppnar webbgränssnittet välja en användare ur organisationsfilen, utan "
            "lösenord: bara för demonstration och test, och bara på den egna datorn (127.0.0.1)"
        ),
    )


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@commands.command("serve", _("kör webbgränssnittet och HTTP-API:t (kräver tillägget web)"), _arguments)
def _cmd_serve(args: argparse.Namespace, out: Output) -> int:
    from klagomal.core.errors import ConfigurationError
    from klagomal.web import missing_extra

    problem = missing_extra()
    if problem is not None:
        raise ConfigurationError(problem)
    from klagomal.observe.logs import log_format

    if log_format(args.log_format) == "json":
        return _serve_logging_json(args)
    return _serve(args, json_log=False)


def _serve_logging_json(args: argparse.Namespace) -> int:
    """``serve`` with its log as JSON lines: what the command would say on
    stderr, an error too, is a JSON line (:mod:`klagomal.observe.logs`)."""
    import logging

    from klagomal.core.errors import KlagomalError
    from klagomal.observe.logs import PUBLIC, use_json_logs

    log = logging.getLogger(__name__)
    restore = use_json_logs()
    try:
        return _serve(args, json_log=True)
    except KlagomalError as exc:
        # The command's own error (an address in use, a database without the
        # schema): its Swedish message, as the command line would print it.
        log.error(_("klagomal: %s"), exc, extra={PUBLIC: True})
        return 1
    finally:
        restore()


def _serve(args: argparse.Namespace, *, json_log: bool) -> int:
    import logging
    import socket

    import uvicorn

    from klagomal.core.errors import InvalidInputError
    from klagomal.observe.logs import PUBLIC
    from klagomal.web.app import create_app

    if args.demo_login and not _loopback(args.host):
        raise InvalidInputError(
            _(
                "--demo-login släpper in vem som helst som vilken användare som helst och går bara "
                "på den egna datorn: lyssna på 127.0.0.1 eller ::1, inte {host}"
            ).format(host=args.host)
        )
    with open_klagomal(args) as k:
        k.user = None  # each request acts as its API key's or page's user, never as --user
        app = create_app(k, demo_login=args.demo_login, log_format="json" if json_log else "text")
        try:
            family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((args.host, args.port))
            sock.listen(128)
        except OSError as exc:
            raise InvalidInputError(
                _("kan inte ta emot HTTP på {host}:{port}: {reason}").format(
                    host=args.host, port=args.port, reason=os_reason(exc)
                )
            ) from exc
        port = sock.getsockname()[1]
        listening = _(
            "tar emot HTTP på http://{host}:{port}/ (webbgränssnittet) och "
            "http://{host}:{port}/api/ (API:t); Ctrl-C avslutar"
        ).format(host=args.host, port=port)
        if json_log:
            logging.getLogger(__name__).info("klagomal: %s", listening, extra={PUBLIC: True})
        else:
            print_error(listening)
        # The peer's own address, never X-Forwarded-For: the trusted header (web.auth) goes by it.
        # With the JSON log, uvicorn's loggers keep no handler of their own (log_config=None):
        # their records go to the JSON lines, and its access log (the paths) stays off.
        own_logging: dict[str, Any] = {"log_config": None} if json_log else {}
        config = uvicorn.Config(app, log_level="warning", lifespan="on", proxy_headers=False, **own_logging)
        server = uvicorn.Server(config)
        with sock:
            server.run(sockets=[sock])
    return 0

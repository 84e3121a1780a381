"""The installation: ``init`` (the database), ``units`` (the organisation),
``plugins``, ``export`` and ``import`` (the whole database), and ``demo``."""

from __future__ import annotations

import argparse
import json
import sys

from klagomal.cli.base import (
    SQL_INT_MAX,
    CommandGroup,
    Output,
    integer,
    open_klagomal,
    organisation,
    os_reason,
    table_lines,
)
from klagomal.core.i18n import _, ngettext

commands = CommandGroup(__name__)

#: Exempelkommun's organisation file in the package (``klagomal/data``).
EXAMPLE_FILE = "exempelkommun.toml"


@commands.command("init", _("skapa eller uppgradera databasen"))
def _cmd_init(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        revision = k.init()
        out.emit_line(
            {"db": k.storage.url, "revision": revision},
            _("Databasen {url} är klar (schemaversion {revision}).").format(
                url=k.storage.url, revision=revision
            ),
        )
    return 0


def _demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--seed",
        type=integer(0, SQL_INT_MAX, _("slumpfrö")),
        default=2026,
        help=_("slumpfrö (standard 2026)"),
    )
    p.add_argument(
        "--year",
        type=integer(2000, 2099, _("år")),
        default=2026,
        help=_("året som simuleras (standard 2026)"),
    )
    p.add_argument(
        "--cases",
        type=integer(1, 100_000, _("antal ärenden")),
        default=600,
        help=_("ungefärligt antal ärenden (standard 600)"),
    )
    p.add_argument(
        "--outbox",
        metavar="MAPP",
        help=_("mappen där meddelandena skrivs som .eml- och .html-filer (standard klagomal-demo-utskick)"),
    )


@commands.command(
    "demo",
    _("simulera ett år av synpunkter i Exempelkommun och visa en sammanställning"),
    _demo_arguments,
    reads_organisation=False,  # always Exempelkommun
)
def _cmd_demo(args: argparse.Namespace, out: Output) -> int:
    from klagomal.cli.demo import DEMO_DB, DEMO_OUTBOX, run_demo

    result = run_demo(
        db=args.db or DEMO_DB,
        seed=args.seed,
        year=args.year,
        cases=args.cases,
        outbox=args.outbox or DEMO_OUTBOX,
    )
    out.emit(result.to_json(), result.render())
    return 0


@commands.command("units", _("visa organisationens enheter"))
def _cmd_units(args: argparse.Namespace, out: Output) -> int:
    org = organisation(args)
    lines = [
        _("{name} (systemägare: {owner})").format(name=org.name, owner=org.departments[org.system_owner].name)
    ]
    units = []
    rows = []
    for unit in org.units.values():
        depth = len(org.path(unit.id)) - 1
        # The tree: each level indents its ids; names and chefs line up.
        rows.append(["  " * depth + unit.id, unit.name, _("(chef: {manager})").format(manager=unit.manager)])
        obj = {
            "id": unit.id,
            "name": unit.name,
            "level": unit.level.value,
            "manager": unit.manager,
            "parent": unit.parent,
            "department": unit.department,
        }
        if unit.parent is None:
            dep = org.departments[unit.id]
            obj.update(head=dep.head, board=dep.board)
        units.append(obj)
    lines += table_lines(rows, indent="  ")
    out.emit(
        {"organisation": org.id, "name": org.name, "system_owner": org.system_owner, "units": units},
        "\n".join(lines),
    )
    return 0


def _organisation_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--example",
        action="store_true",
        help=_(
            "skriv ut Exempelkommuns organisationsfil att utgå från: "
            "klagomal organisation --example > kommun.toml"
        ),
    )


@commands.command(
    "organisation",
    _("kontrollera organisationsfilen, eller skriv ut ett exempel att utgå från"),
    _organisation_arguments,
    reads_organisation=False,  # --example reads none; the check reads it itself
)
def _cmd_organisation(args: argparse.Namespace, out: Output) -> int:
    if args.example:
        import importlib.resources

        # The file klagomal loads when --org names none.
        text = (importlib.resources.files("klagomal") / "data" / EXAMPLE_FILE).read_text(encoding="utf-8")
        out.emit({"file": EXAMPLE_FILE, "toml": text}, text)
        return 0
    org = organisation(args)
    source = args.org or _("Exempelkommun (inbyggd)")
    units = len(org.units)
    out.emit_line(
        {
            "file": args.org,
            "organisation": org.id,
            "name": org.name,
            "departments": len(org.departments),
            "units": units,
            "users": len(org.users),
            "disposal_rules": len(org.disposal_rules),
        },
        _(
            "Organisationsfilen {source} är giltig: {name}, {departments} förvaltningar, {units} enheter "
            "totalt, {users} användare, {rules} gallringsregler."
        ).format(
            source=source,
            name=org.name,
            departments=len(org.departments),
            units=units,
            users=len(org.users),
            rules=len(org.disposal_rules),
        ),
    )
    return 0


def _export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", "-o", metavar="FIL", help=_("skriv till fil i stället för standard ut"))
    p.add_argument(
        "--with-protected",
        action="store_true",
        help=_("ta med skyddade personuppgifter, för att flytta databasen (annars utelämnas de)"),
    )
    p.add_argument(
        "--with-secrets",
        action="store_true",
        help=_(
            "ta med webhookarnas hemligheter, för att flytta databasen "
            "(annars importeras prenumerationerna som borttagna)"
        ),
    )


@commands.command("export", _("exportera hela databasen som JSON"), _export_arguments)
def _cmd_export(args: argparse.Namespace, out: Output) -> int:
    # Streamed: a million cases never sit in memory at once.
    with open_klagomal(args) as k:
        if not args.output:
            k.export_to(out.stream, include_protected=args.with_protected, include_secrets=args.with_secrets)
            return 0
        with open(args.output, "w", encoding="utf-8") as fh:
            n = k.export_to(fh, include_protected=args.with_protected, include_secrets=args.with_secrets)
    out.emit_line(
        {"file": args.output, "cases": n},
        ngettext("Exporterade {n} ärende till {file}.", "Exporterade {n} ärenden till {file}.", n).format(
            n=n, file=args.output
        ),
    )
    return 0


def _import_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FIL", help=_("exportfil, eller - för standard in"))


@commands.command("import", _("importera en export (allt eller inget)"), _import_arguments)
def _cmd_import(args: argparse.Namespace, out: Output) -> int:
    from klagomal.core.errors import InvalidInputError

    try:
        if args.file == "-":
            data = json.load(sys.stdin)
        else:
            with open(args.file, encoding="utf-8") as fh:
                data = json.load(fh)
    except OSError as exc:
        raise InvalidInputError(
            _("kan inte läsa {file}: {reason}").format(file=args.file, reason=os_reason(exc)), step="import"
        ) from exc
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            _("{file} är inte text i UTF-8 (byte {position})").format(file=args.file, position=exc.start + 1),
            step="import",
        ) from exc
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            _("{file} är inte giltig JSON (rad {line}): {reason}").format(
                file=args.file, line=exc.lineno, reason=exc.msg
            ),
            step="import",
        ) from exc
    if not isinstance(data, dict):
        raise InvalidInputError(_("filen är ingen klagomal-export"), step="import")
    with open_klagomal(args) as k:
        n = k.import_(data)
    out.emit({"imported": n}, ngettext("Importerade {n} ärende.", "Importerade {n} ärenden.", n).format(n=n))
    return 0


@commands.command("plugins", _("visa insticksmoduler och vad de lägger till"))
def _cmd_plugins(args: argparse.Namespace, out: Output) -> int:
    import attrs

    from klagomal.hooks.manager import DISABLE_VARIABLE
    from klagomal.hooks.specs import HOOK_GROUPS

    with open_klagomal(args) as k:
        pm = k.plugin_manager
        decision_hooks = set(HOOK_GROUPS["decision"]) | set(HOOK_GROUPS["validation"])
        labels = {
            "dimensions": _("dimensioner: {items}"),
            "channels": _("kanaler: {items}"),
            "calendars": _("kalendrar: {items}"),
            "notifiers": _("aviseringssätt: {items}"),
            "storage_backends": _("lagring: {items}"),
            "template_dirs": _("brevmallar: {items}"),
            "report_sections": _("rapportavsnitt: {items}"),
            "migrations": _("migreringar: {items}"),
            "deadline_policies": _("tidsfristpolicy för: {items}"),
            "decisions": _("beslut: {items}"),
        }
        plugins = []
        lines = []
        for name, plugin in sorted(pm.list_name_plugin()):
            if plugin is None:  # blocked (disabled)
                continue
            hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
            version = pm.version_of(name)
            registered: dict[str, list[str]] = {
                what: k.registry.registered_by(name, what)
                for what in (
                    "dimensions",
                    "channels",
                    "calendars",
                    "notifiers",
                    "storage_backends",
                    "template_dirs",
                    "report_sections",
                    "migrations",
                )
            }
            registered["deadline_policies"] = [
                d for d, source in k.deadlines.sources.items() if source == name
            ]
            registered["decisions"] = [
                h for h in hooks if h in decision_hooks and h != "klagomal_deadline_policy"
            ]
            plugins.append({"name": name, "version": version, "hooks": hooks, **registered})
            lines.append(f"{name}" + (f" {version}" if version else ""))
            lines.append("  " + _("krokar: {hooks}").format(hooks=", ".join(hooks) or "-"))
            for what, items in registered.items():
                if items:
                    lines.append("  " + labels[what].format(items=", ".join(items)))
        for name in pm.disabled:
            lines.append(_("{name}: avstängd ({variable})").format(name=name, variable=DISABLE_VARIABLE))
        failures = [attrs.asdict(f) for f in pm.failures]
        for failure in pm.failures:
            lines.append(
                _("{plugin}: fel i {hook}, används inte: {error}").format(
                    plugin=failure.plugin, hook=failure.hook, error=failure.error
                )
            )
        out.emit({"plugins": plugins, "disabled": list(pm.disabled), "failures": failures}, "\n".join(lines))
    return 0

"""The reports: ``report``, to the staff (tertial) or to the elected
officials (half-year), as text, HTML, CSV or JSON."""

from __future__ import annotations

import argparse
import json

from klagomal.cli.base import CommandGroup, Output, iso_date, open_klagomal, os_problem
from klagomal.core.i18n import _
from klagomal.core.text_rules import one_line

commands = CommandGroup(__name__)


def _report_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--period",
        metavar="PERIOD",
        help=_(
            "2026-T2, 2026-H1, 2026 eller 2026-03-01..2026-05-31 (standard: det senaste hela "
            "tertialet, för de förtroendevalda det senaste hela halvåret)"
        ),
    )
    p.add_argument(
        "--from",
        dest="start",
        type=iso_date,
        metavar="ÅÅÅÅ-MM-DD",
        help=_("från och med (i stället för --period)"),
    )
    p.add_argument("--to", dest="end", type=iso_date, metavar="ÅÅÅÅ-MM-DD", help=_("till och med"))
    p.add_argument(
        "--forvaltning",
        metavar="ID",
        help=_("bara denna förvaltning (standard: hela kommunen; för en förvaltningsadministratör den egna)"),
    )
    p.add_argument("--unit", metavar="ENHET", help=_("bara denna enhet och enheterna under den"))
    p.add_argument(
        "--audience",
        choices=("staff", "politicians"),
        default="staff",
        help=_("staff: till personalen; politicians: till de förtroendevalda, en allmän handling"),
    )
    p.add_argument("--format", choices=("text", "html", "csv", "json"), default="text", help=_("utformat"))
    p.add_argument(
        "--out", metavar="FIL", help=_("skriv till filen (csv: till mappen) i stället för standard ut")
    )


@commands.command(
    "report",
    _("rapport för en period: till personalen (tertial) eller de förtroendevalda (halvår)"),
    _report_arguments,
)
def _cmd_report(args: argparse.Namespace, out: Output) -> int:
    from klagomal.core.errors import InvalidInputError
    from klagomal.reports.data import build_report
    from klagomal.reports.defaults import check_audience_period, default_department, last_complete_period
    from klagomal.reports.periods import parse_period
    from klagomal.reports.render import render_json, render_text, write_report

    with open_klagomal(args) as k:
        settings = k.organisation.reports
        try:
            if args.period is not None:
                if args.start or args.end:
                    raise ValueError(_("ange antingen --period eller --from och --to"))
                period = parse_period(args.period, half_years=((1, 1), settings.second_half))
            elif args.start and args.end:
                period = parse_period(f"{args.start.isoformat()}..{args.end.isoformat()}")
            elif args.start or args.end:
                raise ValueError(_("ange både --from och --to, eller --period"))
            else:
                period = last_complete_period(k.clock.today(), args.audience, ((1, 1), settings.second_half))
        except ValueError as exc:
            raise InvalidInputError(str(exc), step="report") from None
        check_audience_period(args.audience, period)
        department = args.forvaltning
        if department is None and args.unit is None:
            department = default_department(k.user, k.organisation)
        report = build_report(
            k,
            period,
            department=department,
            unit=args.unit,
            audience=args.audience,
            threshold=settings.threshold,
        )
    if args.out is None:
        if args.format == "text":
            out.emit(render_json(report), render_text(report))
        elif args.format == "json":
            out.stream.write(json.dumps(render_json(report), ensure_ascii=False, indent=1) + "\n")
        elif args.format == "html":
            out.stream.write(write_report(report, "html", None) or "")
        else:
            raise InvalidInputError(
                _("--format csv skriver en fil per tabell; ange en mapp med --out"), step="report"
            )
        return 0
    try:
        written = write_report(report, args.format, args.out)
    except OSError as exc:
        raise InvalidInputError(os_problem(exc), step="report") from exc
    except ValueError as exc:
        raise InvalidInputError(str(exc), step="report") from exc
    message = written or one_line(_("Skrev rapporten till {file}.").format(file=args.out))
    out.emit({"file": args.out, "format": args.format, "total": report.total}, message)
    return 0

"""The administration pages' GET routes (klagomal.web.ui.admin) for the
interface's central page test: each route template, who visits it and the
concrete path (tests/test_ui_admin.py checks every role against the
library's permissions)."""

from __future__ import annotations

from collections.abc import Callable

from klagomal import Klagomal


def _report_csv(k: Klagomal) -> str:
    """The first table of the whole kommun's staff report of this year, as CSV."""
    from klagomal.reports.data import build_report
    from klagomal.reports.periods import parse_period

    year = k.clock.today().year
    report = build_report(k, parse_period(str(year)), audience="staff")
    table = report.tables[0].id
    return f"/admin/rapporter.csv?mottagare=staff&period={year}&forvaltning=&tabell={table}"


PAGES: dict[str, list[tuple[str | None, Callable[[Klagomal], str]]]] = {
    "/admin": [("nora.lind", lambda k: "/admin"), ("kim.berg", lambda k: "/admin")],
    "/admin/rapporter": [
        ("nora.lind", lambda k: "/admin/rapporter"),
        ("sven.ek", lambda k: "/admin/rapporter"),
        (
            "kim.berg",
            lambda k: f"/admin/rapporter?mottagare=staff&period={k.clock.today().year}&forvaltning=soc",
        ),
    ],
    "/admin/rapporter.csv": [("nora.lind", _report_csv)],
    "/admin/diarium": [("kim.berg", lambda k: "/admin/diarium")],
    "/admin/utskick": [("kim.berg", lambda k: "/admin/utskick")],
    "/admin/karantan": [("kim.berg", lambda k: "/admin/karantan")],
    "/admin/logg": [("nora.lind", lambda k: "/admin/logg")],
    "/admin/tillagg": [("kim.berg", lambda k: "/admin/tillagg")],
}

"""Reports by place (issue 21, item 5; docs/location.md#reports-by-place, R31):
the table ``per-plats`` counts the period's cases per address (staff) or per
square kilometre of SWEREF 99 TM, grouped in SQL on SQLite, PostgreSQL and
MariaDB; a secret case's and a protected person's place never reaches a
report, in any format the renderer writes; the politicians' report shows no
address and puts its counts through disclosure control.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from klagomal import Contact, FixedClock, Klagomal
from klagomal.core.location import Location
from klagomal.reports.counts import GRID_METRES, NO_PLACE, place_of
from klagomal.reports.data import build_report
from klagomal.reports.model import Report, Table, is_mark
from klagomal.reports.periods import parse_period
from klagomal.reports.render import FORMATS, write_report
from klagomal.testing import register

pytest.importorskip("pyproj", reason="the extra geo: pip install 'klagomal[geo]'")

#: Stortorget in Stockholm and a point 60 m from it: the same square kilometre.
TORGET = Location(latitude=59.3298, longitude=18.0691)
NEARBY = Location(latitude=59.3293, longitude=18.0686)
SQUARE = "Ruta N 6580 km, E 674 km (SWEREF 99 TM)"
#: Göteborg: another square.
GOTEBORG = Location(latitude=57.7089, longitude=11.9746)
#: What must never be in a report: a secret case's and a protected person's places.
NEVER = ("Hemliga gatan", "Skyddade vägen")


@pytest.fixture
def k(new_database: Callable[[], str]) -> Iterator[Klagomal]:
    clock = FixedClock(dt.date(2026, 3, 2))
    with Klagomal(new_database(), clock=clock, load_entrypoints=False, user="system") as instance:
        instance.init()
        for address in ("Stortorget 3", "Stortorget  3", " Stortorget 3", "Stortorget 3"):
            register(instance, location=attrs.evolve(TORGET, address=address))
        for _ in range(3):
            register(instance, location=NEARBY)
        register(instance, location=Location(address="Lillgatan 1"))
        secret = register(
            instance, location=Location(latitude=57.7, longitude=11.97, address="Hemliga gatan 1")
        )
        instance.mark_secret(secret.reference, "OSL 26 kap. 1 §")
        protected = Contact(name="Sara Skydd", phone="070-000 00 00", protected=True)
        home = Location(latitude=65.58, longitude=22.15, address="Skyddade vägen 2")
        register(instance, contact=protected, location=home)
        register(instance)
        register(instance, contact=None)
        yield instance


def _places(report: Report) -> Table:
    (table,) = [t for t in report.tables if t.id == "per-plats"]
    return table


def _outputs(report: Report, folder: Path) -> dict[str, str]:
    """*report* in every format the renderer writes (CSV: every file)."""
    written = {}
    for fmt in FORMATS:
        if fmt == "csv":
            write_report(report, fmt, folder / report.audience)
            written[fmt] = "".join(
                p.read_text(encoding="utf-8") for p in sorted((folder / report.audience).iterdir())
            )
        else:
            text = write_report(report, fmt)
            assert text is not None
            written[fmt] = text
    return written


def test_staff_count_per_address_else_square_with_none_last(k: Klagomal) -> None:
    table = _places(build_report(k, parse_period("2026-T1")))
    assert table.rows == (
        ("Stortorget 3", 4),  # the spaces of an address do not make another place
        (SQUARE, 3),
        ("Lillgatan 1", 1),
        ("Utan plats som visas", 4),  # the secret case, the protected person's, two without
    )
    assert "Ärenden med sekretess eller skyddade personuppgifter räknas utan plats." in table.note


def test_the_politicians_count_per_square_only_with_disclosure_control(k: Klagomal) -> None:
    period = parse_period("2026-T1")
    table = _places(build_report(k, period, audience="politicians"))
    # No address in a public document: Lillgatan's case has no position, so no place.
    assert table.rows == ((SQUARE, 7), ("Utan plats som visas", 5))
    register(k, location=GOTEBORG)
    report = build_report(k, period, audience="politicians")
    rows = dict(_places(report).rows)
    # A square with fewer than 3 cases in the whole kommun is one of the others.
    assert "Ruta N 6400 km, E 319 km (SWEREF 99 TM)" not in rows
    assert rows["Övriga platser"] == "<3"
    # With the total (13) published, one other count of the line is withheld,
    # so that the <3 cannot be worked out by subtraction.
    assert report.total == 13
    assert sum(1 for n in rows.values() if n == "..") >= 1
    assert all(isinstance(n, int) or is_mark(n) for n in rows.values())
    # A förvaltning's public report shows no places: nothing to difference against the kommun's.
    department = _places(build_report(k, period, audience="politicians", department="soc"))
    assert department.rows == ()
    assert "Platser redovisas i rapporten för hela kommunen." in department.note


def test_no_report_in_any_format_carries_a_secret_or_protected_place(k: Klagomal, tmp_path: Path) -> None:
    period = parse_period("2026-T1")
    for audience in ("staff", "politicians"):
        report = build_report(k, period, audience=audience)
        for fmt, text in _outputs(report, tmp_path / audience).items():
            assert "Utan plats som visas" in text, (audience, fmt)
            for place in NEVER:
                assert place not in text, (audience, fmt, place)
            # Addresses are for staff only; the grid is in both.
            assert ("Stortorget 3" in text) is (audience == "staff"), (audience, fmt)
            assert "Ruta N 6580 km" in text, (audience, fmt)


def test_a_report_of_a_department_counts_its_own_places(k: Klagomal) -> None:
    register(k, unit="kof-badhus", location=GOTEBORG)
    table = _places(build_report(k, parse_period("2026-T1"), department="kof"))
    assert table.rows == (("Ruta N 6400 km, E 319 km (SWEREF 99 TM)", 1),)


@given(
    north=st.floats(min_value=6_100_000, max_value=7_700_000),
    east=st.floats(min_value=180_000, max_value=1_000_000),
)
def test_a_square_holds_its_position(north: float, east: float) -> None:
    place = place_of(None, (north, east))
    kind, n_km, e_km = place.split(":")
    assert kind == "ruta"
    assert int(n_km) * GRID_METRES <= north < (int(n_km) + 1) * GRID_METRES
    assert int(e_km) * GRID_METRES <= east < (int(e_km) + 1) * GRID_METRES
    # An address wins, unless addresses are not shown; none at all is no place.
    assert place_of("Torget 1", (north, east)) == "adress:Torget 1"
    assert place_of("Torget 1", (north, east), addresses=False) == place
    assert place_of("  ", None) == NO_PLACE

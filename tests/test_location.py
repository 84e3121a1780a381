"""Where a case is about (issue 21, item 5): a position in WGS84 and SWEREF
99 TM (EPSG:3006) and an address, set at registration or by the step
``locate``, stored in the case's columns on SQLite, PostgreSQL and MariaDB,
shown by ``show`` and its --json, and refused with a Swedish error that
names the case, the step and the reason, writing nothing.

The conversion is pyproj's; it is checked against Krüger's formulas for
the Gauss conformal projection as Lantmäteriet publishes them, written out
here independently of PROJ, and its round trips with hypothesis.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from klagomal import FixedClock, Klagomal
from klagomal.cli import main
from klagomal.core import location as geo
from klagomal.core.errors import InvalidInputError, InvalidStepError
from klagomal.core.events import Located
from klagomal.core.location import SWEDEN, Location, to_grid, to_wgs84
from klagomal.core.location_rules import check_location
from klagomal.storage import tables
from klagomal.testing import register

STOCKHOLM = Location(latitude=59.3293, longitude=18.0686, address="Stortorget, Stockholm")


@pytest.fixture
def k(new_database: Callable[[], str], clock: FixedClock) -> Iterator[Klagomal]:
    with Klagomal(new_database(), clock=clock, load_entrypoints=False, user="system") as instance:
        instance.init()
        yield instance


def _events(k: Klagomal) -> int:
    with k.storage.engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(sa.select(sa.func.count()).select_from(tables.events)).scalar_one())


# -- the conversion --------------------------------------------------------------------------------


def _kruger(lat: float, lon: float) -> tuple[float, float]:
    """SWEREF 99 TM by Krüger's formulas (Lantmäteriet, "Gauss konforma
    projektion"): GRS 80, central meridian 15°, scale 0.9996, false easting
    500 000 m."""
    a, f = 6378137.0, 1 / 298.257222101
    k0, lon0, false_e = 0.9996, math.radians(15.0), 500000.0
    e2 = f * (2 - f)
    n = f / (2 - f)
    a_hat = a / (1 + n) * (1 + n**2 / 4 + n**4 / 64)
    big_a = e2
    big_b = (5 * e2**2 - e2**3) / 6
    big_c = (104 * e2**3 - 45 * e2**4) / 120
    big_d = 1237 * e2**4 / 1260
    phi, lam = math.radians(lat), math.radians(lon)
    s = math.sin(phi)
    phi_star = phi - s * math.cos(phi) * (big_a + big_b * s**2 + big_c * s**4 + big_d * s**6)
    d_lam = lam - lon0
    xi = math.atan(math.tan(phi_star) / math.cos(d_lam))
    eta = math.atanh(math.cos(phi_star) * math.sin(d_lam))
    beta = (
        n / 2 - 2 * n**2 / 3 + 5 * n**3 / 16 + 41 * n**4 / 180,
        13 * n**2 / 48 - 3 * n**3 / 5 + 557 * n**4 / 1440,
        61 * n**3 / 240 - 103 * n**4 / 140,
        49561 * n**4 / 161280,
    )
    x = xi + sum(b * math.sin(2 * j * xi) * math.cosh(2 * j * eta) for j, b in enumerate(beta, 1))
    y = eta + sum(b * math.cos(2 * j * xi) * math.sinh(2 * j * eta) for j, b in enumerate(beta, 1))
    return k0 * a_hat * x, k0 * a_hat * y + false_e


#: Places across Sweden: Smygehuk, Stockholm, Göteborg, Kiruna, Treriksröset, Haparanda.
CONTROL = [
    (55.3375, 13.3592),
    (59.3293, 18.0686),
    (57.7089, 11.9746),
    (67.8558, 20.2253),
    (69.0600, 20.5484),
    (65.8355, 24.1368),
]


@pytest.mark.parametrize(("lat", "lon"), CONTROL)
def test_sweref_99_tm_agrees_with_krugers_formulas_to_the_millimetre(lat: float, lon: float) -> None:
    north, east = to_grid(lat, lon)
    expected = _kruger(lat, lon)
    assert abs(north - expected[0]) < 0.002, (north, expected)
    assert abs(east - expected[1]) < 0.002, (east, expected)


def test_the_central_meridian_has_the_false_easting() -> None:
    north, east = to_grid(62.0, 15.0)
    assert east == pytest.approx(500000.0, abs=0.001)
    assert north == pytest.approx(_kruger(62.0, 15.0)[0], abs=0.002)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=SWEDEN[1], max_value=SWEDEN[3]),
    st.floats(min_value=SWEDEN[0], max_value=SWEDEN[2]),
)
def test_conversion_round_trips_within_a_centimetre(lat: float, lon: float) -> None:
    north, east = to_grid(lat, lon)
    back = to_wgs84(north, east)
    # 1e-7 degrees is a centimetre; the grid is kept to the millimetre.
    assert back[0] == pytest.approx(lat, abs=2e-7)
    assert back[1] == pytest.approx(lon, abs=4e-7)


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True, allow_infinity=True))
def test_any_pair_is_either_a_place_in_sweden_or_refused(lat: float, lon: float) -> None:
    inside = (
        math.isfinite(lat)
        and math.isfinite(lon)
        and SWEDEN[1] <= lat <= SWEDEN[3]
        and SWEDEN[0] <= lon <= SWEDEN[2]
    )
    if not inside:
        with pytest.raises(InvalidInputError) as refused:
            check_location(latitude=lat, longitude=lon, step="locate", reference="2026-00001")
        assert str(refused.value).startswith("Ärende 2026-00001, steg 'ange plats': ")
        return
    found = check_location(latitude=lat, longitude=lon, step="locate", reference="2026-00001")
    assert found is not None
    assert found.grid() is not None


# -- storage, steps and refusals -------------------------------------------------------------------


def test_a_location_is_stored_and_read_back_exactly(k: Klagomal) -> None:
    case = register(k, location=STOCKHOLM)
    stored = k.get(case.reference).location
    assert stored is not None
    assert (stored.latitude, stored.longitude, stored.address) == (59.3293, 18.0686, "Stortorget, Stockholm")
    assert (stored.northing, stored.easting) == to_grid(59.3293, 18.0686)
    assert k.rebuild(case.reference).location == stored
    assert [c.location for c in k.cases()] == [stored]
    with k.storage.engine.connect() as conn:  # type: ignore[attr-defined]
        row = conn.execute(sa.select(tables.cases).where(tables.cases.c.reference == case.reference)).one()
    assert (row.location_latitude, row.location_northing) == (59.3293, stored.northing)


def test_locate_sets_corrects_and_removes_and_the_history_keeps_each(k: Klagomal) -> None:
    ref = register(k).reference
    assert k.get(ref).location is None
    k.locate(ref, Location(address="Storgatan 1"), reason="personen ringde")
    north, east = to_grid(63.8258, 20.2630)
    k.locate(ref, Location(northing=north, easting=east))
    case = k.get(ref)
    assert case.location is not None
    assert case.location.address is None
    assert (case.location.northing, case.location.easting) == (north, east)
    assert case.location.latitude == pytest.approx(63.8258, abs=1e-6)
    k.locate(ref, None)
    assert k.get(ref).location is None
    located = [e.data for e in k.history(ref) if isinstance(e.data, Located)]
    assert [d.previous.address if d.previous else None for d in located] == [None, "Storgatan 1", None]
    assert located[0].reason == "personen ringde"
    assert k.rebuild(ref) == k.get(ref)


BAD = [
    (Location(latitude=math.nan, longitude=18.0), "latituden ska vara ett ändligt tal"),
    (Location(latitude=59.0, longitude=math.inf), "longituden ska vara ett ändligt tal"),
    (Location(latitude=91.0, longitude=18.0), "latituden 91.0 ligger utanför -90 till 90 grader"),
    (Location(latitude=59.0, longitude=-181.0), "longituden -181.0 ligger utanför -180 till 180 grader"),
    (Location(latitude=52.52, longitude=13.405), "ligger utanför Sverige"),
    (Location(latitude=18.0686, longitude=59.3293), "har latitud och longitud bytt plats?"),
    (Location(latitude=59.0), "ange både latitud och longitud"),
    (Location(northing=5_000_000.0, easting=674571.0), "i SWEREF 99 TM ligger utanför Sverige"),
    (Location(northing=6580743.0), "ange både nordkoordinat (N) och östkoordinat (E)"),
    (Location(address="Storgatan 1\nStockholm"), "adressen"),
]


@pytest.mark.parametrize(("bad", "reason"), BAD)
def test_a_bad_location_is_refused_naming_case_step_and_reason_and_nothing_is_written(
    k: Klagomal, bad: Location, reason: str
) -> None:
    ref = register(k).reference
    before = _events(k)
    with pytest.raises(InvalidInputError) as refused:
        k.locate(ref, bad)
    assert str(refused.value).startswith(f"Ärende {ref}, steg 'ange plats': "), refused.value
    assert reason in str(refused.value)
    with pytest.raises(InvalidInputError) as at_registration:
        register(k, location=bad)
    assert str(at_registration.value).startswith("steg 'registrera': ")
    assert reason in str(at_registration.value)
    assert _events(k) == before


def test_locating_to_the_same_place_is_refused(k: Klagomal) -> None:
    ref = register(k, location=STOCKHOLM).reference
    with pytest.raises(InvalidStepError, match="ärendet har redan den platsen"):
        k.locate(ref, STOCKHOLM)
    with pytest.raises(InvalidStepError, match="ingen plats att ta bort"):
        k.locate(register(k).reference, None)


def test_a_given_grid_position_far_from_the_degrees_is_computed_again(k: Klagomal) -> None:
    wrong = Location(latitude=59.3293, longitude=18.0686, northing=1.0, easting=2.0)
    assert register(k, location=wrong).location == Location(
        latitude=59.3293,
        longitude=18.0686,
        northing=to_grid(59.3293, 18.0686)[0],
        easting=to_grid(59.3293, 18.0686)[1],
    )


def test_without_pyproj_the_degrees_are_stored_and_the_grid_computed_when_read(
    k: Klagomal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(geo, "grid_available", lambda: False)
    ref = register(k, location=STOCKHOLM).reference
    stored = k.get(ref).location
    assert stored is not None
    assert stored.northing is None
    assert stored.grid() is None
    with pytest.raises(InvalidInputError, match=r"klagomal\[geo\]"):
        k.locate(ref, Location(northing=6580743.0, easting=674572.0))
    monkeypatch.undo()
    assert k.get(ref).location.grid() == to_grid(59.3293, 18.0686)  # type: ignore[union-attr]


# -- the command line ------------------------------------------------------------------------------


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_register_locate_and_show_on_the_command_line(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    monkeypatch.setenv("KLAGOMAL_USER", "system")
    assert _cli(["init"], capsys)[0] == 0
    status, out, err = _cli(
        [
            "register", "--kind", "klagomal", "--channel", "telefon", "--unit", "klf-kontaktcenter",
            "--text", "Gatlampan är trasig.", "--anonymous",
            "--lat", "59,3293", "--long", "18.0686", "--place", "Stortorget",
        ],
        capsys,
    )  # fmt: skip
    assert status == 0, err
    status, out, _err = _cli(["show", "2026-00001"], capsys)
    assert (
        "  Plats:           Stortorget (59.3293000, 18.0686000; SWEREF 99 TM N 6580743.008, E 674571.866)"
        in out
    )
    status, out, _err = _cli(["--json", "show", "2026-00001"], capsys)
    assert json.loads(out)["location"] == {
        "latitude": 59.3293,
        "longitude": 18.0686,
        "northing": 6580743.008,
        "easting": 674571.866,
        "address": "Stortorget",
    }
    status, out, err = _cli(["locate", "2026-00001", "--lat", "95", "--long", "18"], capsys)
    assert status == 1
    assert "Ärende 2026-00001, steg 'ange plats': latituden 95.0 ligger utanför -90 till 90 grader" in err
    status, out, err = _cli(["locate", "2026-00001", "--remove", "--reason", "fel ärende"], capsys)
    assert (status, out.strip()) == (0, "Platsen för 2026-00001 är borttagen."), err
    status, out, _err = _cli(["show", "2026-00001"], capsys)
    assert "Plats angiven" in out
    assert "borttagen (fel ärende)" in out


def test_the_locate_example_in_the_docs_runs_as_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_cli import console_block, run_session

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KLAGOMAL_USER", "nora.lind")  # as the docs say
    assert main(["init"]) == 0
    steps = console_block(heading="### locate")
    assert steps
    assert run_session(steps) == steps

"""The rules a case's location is held to (:mod:`klagomal.core.location`):
both coordinates or neither, finite numbers, a latitude within ±90° and a
longitude within ±180°, a place inside the area SWEREF 99 TM is defined
for (Sweden on land and at sea), and an address of one line.  Every
refusal is a Swedish :class:`~klagomal.core.errors.InvalidInputError`
naming the case, the step and the reason.

Apart from :mod:`klagomal.core.location` because the model imports that
module, and the errors import the model.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from klagomal.core import location as _location
from klagomal.core.errors import InvalidInputError
from klagomal.core.i18n import _
from klagomal.core.location import (
    ADDRESS_MAX,
    DEGREE_DECIMALS,
    METRE_DECIMALS,
    SWEDEN,
    Location,
    to_grid,
    to_wgs84,
)
from klagomal.core.text_rules import check_text

__all__ = ["check_location", "checked"]


def _number(value: object, name: str, refuse: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise refuse(_("{name} ska vara ett tal, inte {value}").format(name=name, value=value))
    try:
        number = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise refuse(_("{name} ska vara ett tal, inte '{value}'").format(name=name, value=value)) from None
    if not math.isfinite(number):
        raise refuse(_("{name} ska vara ett ändligt tal, inte {value}").format(name=name, value=value))
    return number


def check_location(
    *,
    latitude: object = None,
    longitude: object = None,
    northing: object = None,
    easting: object = None,
    address: str | None = None,
    step: str,
    reference: str | None = None,
) -> Location | None:
    """The location given as WGS84 *latitude* and *longitude* (degrees) or
    as SWEREF 99 TM *northing* and *easting* (metres, needs pyproj), and an
    *address*, checked; ``None`` when nothing is given.  Numbers may be
    texts with a decimal point or comma.  The other coordinates are
    computed when pyproj is there.

    :raises InvalidInputError: naming *step*, *reference* and the reason.
    """

    def refuse(reason: str) -> InvalidInputError:
        return InvalidInputError(reason, step=step, reference=reference)

    lat = _number(latitude, _("latituden"), refuse)
    lon = _number(longitude, _("longituden"), refuse)
    north = _number(northing, _("nordkoordinaten (N)"), refuse)
    east = _number(easting, _("östkoordinaten (E)"), refuse)
    text = None
    if address is not None and address.strip():
        text = check_text(
            address.strip(),
            step=step,
            field=_("adressen"),
            reference=reference,
            multiline=False,
            max_length=ADDRESS_MAX,
        )
    if (lat is None) != (lon is None):
        raise refuse(_("ange både latitud och longitud, eller ingen av dem"))
    if (north is None) != (east is None):
        raise refuse(_("ange både nordkoordinat (N) och östkoordinat (E), eller ingen av dem"))
    if lat is not None and north is not None:
        raise refuse(
            _("ange positionen antingen i WGS84 (latitud, longitud) eller i SWEREF 99 TM (N, E), inte båda")
        )
    if north is not None and east is not None:
        if not _location.grid_available():
            raise refuse(
                _(
                    "koordinater i SWEREF 99 TM kan inte räknas om utan tillägget geo "
                    "(pip install 'klagomal[geo]'); ange latitud och longitud i WGS84"
                )
            )
        west, south, east_bound, north_bound = SWEDEN
        converted = to_wgs84(north, east)
        if not all(map(math.isfinite, converted)) or not (
            south <= converted[0] <= north_bound and west <= converted[1] <= east_bound
        ):
            raise refuse(
                _("positionen N {n}, E {e} i SWEREF 99 TM ligger utanför Sverige").format(n=north, e=east)
            )
        lat, lon = converted
    if lat is not None and lon is not None:
        if not -90 <= lat <= 90:
            raise refuse(_("latituden {lat} ligger utanför -90 till 90 grader").format(lat=lat))
        if not -180 <= lon <= 180:
            raise refuse(_("longituden {lon} ligger utanför -180 till 180 grader").format(lon=lon))
        west, south, east_bound, north_bound = SWEDEN
        if not (south <= lat <= north_bound and west <= lon <= east_bound):
            raise refuse(
                _(
                    "positionen {lat}, {lon} ligger utanför Sverige (latitud {south}–{north}, "
                    "longitud {west}–{east} grader i WGS84); har latitud och longitud bytt plats?"
                ).format(lat=lat, lon=lon, south=south, north=north_bound, west=west, east=east_bound)
            )
        lat, lon = round(lat, DEGREE_DECIMALS), round(lon, DEGREE_DECIMALS)
        if north is None and _location.grid_available():
            north, east = to_grid(lat, lon)
        elif north is not None and east is not None:
            north, east = round(north, METRE_DECIMALS), round(east, METRE_DECIMALS)
    if lat is None and text is None:
        return None
    return Location(latitude=lat, longitude=lon, northing=north, easting=east, address=text)


def checked(location: Location | None, *, step: str, reference: str | None = None) -> Location | None:
    """*location*, built by a caller, held to :func:`check_location`: by its
    WGS84 coordinates when it has them, else by its SWEREF 99 TM ones.  The
    SWEREF 99 TM coordinates given with WGS84 ones are kept when they are
    the same place (within a metre), else computed again."""
    if location is None:
        return None
    if location.latitude is None and location.longitude is None:
        return check_location(
            northing=location.northing,
            easting=location.easting,
            address=location.address,
            step=step,
            reference=reference,
        )
    found = check_location(
        latitude=location.latitude,
        longitude=location.longitude,
        address=location.address,
        step=step,
        reference=reference,
    )
    given = (location.northing, location.easting)
    if found is None or given[0] is None or given[1] is None:
        return found
    north, east = float(given[0]), float(given[1])
    computed = found.grid()
    if computed is not None and math.hypot(computed[0] - north, computed[1] - east) <= 1.0:
        return attrs.evolve(found, northing=round(north, METRE_DECIMALS), easting=round(east, METRE_DECIMALS))
    return found

"""Where a case is about: a position and an address.

A case may carry a :class:`Location` (issue 21): the place a pothole, a
broken street light or a rude bus driver's stop is, as an Open311 client
sends it (WGS84 latitude and longitude, ``lat``/``long``) or as the
kommun's GIS wants it (SWEREF 99 TM, EPSG:3006, northing and easting in
metres), and an address in words.

The conversion between the two is pyproj's (PROJ), an optional extra
(``pip install 'klagomal[geo]'``), so that the core stays light.  It is
made when the position is given and kept in the event, so that replaying a
history never needs pyproj; a position stored where pyproj was missing has
only its WGS84 coordinates, and :meth:`Location.grid` computes the SWEREF 99
TM ones when they are read where pyproj is there.

:func:`check_location` is the one gate: both coordinates or neither,
finite numbers, a latitude within ±90° and a longitude within ±180°, and a
place inside the area SWEREF 99 TM is defined for (Sweden on land and at
sea); the address one line.  Every refusal is a Swedish
:class:`~klagomal.core.errors.InvalidInputError` naming the case, the step
and the reason.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import attrs

from klagomal.core.i18n import _

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.core.errors import InvalidInputError

__all__ = [
    "ADDRESS_MAX",
    "SWEDEN",
    "Location",
    "check_location",
    "checked",
    "grid_available",
    "to_grid",
    "to_wgs84",
]

#: The bounds of SWEREF 99 TM's area of use (EPSG:3006, "Sweden - onshore
#: and offshore"), as (west, south, east, north) in degrees of WGS84: a
#: position outside them is not in Sweden.
SWEDEN = (10.03, 54.96, 24.17, 69.07)

#: The longest address kept (the column's length).
ADDRESS_MAX = 400

#: Decimals kept: 7 for degrees (about a centimetre), 3 for metres.
_DEGREE_DECIMALS = 7
_METRE_DECIMALS = 3


@attrs.frozen
class Location:
    """Where a case is about.

    :param latitude: WGS84 latitude in degrees (Open311's ``lat``).
    :param longitude: WGS84 longitude in degrees (Open311's ``long``).
    :param northing: SWEREF 99 TM northing (N) in metres, when it was computed.
    :param easting: SWEREF 99 TM easting (E) in metres, when it was computed.
    :param address: the place in words (Open311's ``address_string``).

    A location holds coordinates, an address or both.
    """

    latitude: float | None = None
    longitude: float | None = None
    northing: float | None = None
    easting: float | None = None
    address: str | None = None

    @property
    def has_position(self) -> bool:
        """Whether the location has coordinates, not only an address."""
        return self.latitude is not None and self.longitude is not None

    def grid(self) -> tuple[float, float] | None:
        """The SWEREF 99 TM ``(northing, easting)``: as stored, else computed
        when pyproj is installed, else ``None``."""
        if self.northing is not None and self.easting is not None:
            return self.northing, self.easting
        if self.latitude is None or self.longitude is None or not grid_available():
            return None
        return to_grid(self.latitude, self.longitude)

    def describe(self) -> str:
        """One line for a reader: ``"Storgatan 1 (59.3293000, 18.0686000;
        SWEREF 99 TM N 6580743.008, E 674571.866)"``."""
        parts: list[str] = []
        if self.has_position:
            coords = f"{self.latitude:.{_DEGREE_DECIMALS}f}, {self.longitude:.{_DEGREE_DECIMALS}f}"
            grid = self.grid()
            if grid is not None:
                coords += f"; SWEREF 99 TM N {grid[0]:.{_METRE_DECIMALS}f}, E {grid[1]:.{_METRE_DECIMALS}f}"
            parts.append(coords)
        if self.address:
            return f"{self.address} ({parts[0]})" if parts else self.address
        return parts[0] if parts else "-"

    def as_json(self) -> dict[str, Any]:
        """The location as JSON, with the SWEREF 99 TM coordinates computed
        where they were not stored and pyproj is there."""
        grid = self.grid()
        return {
            "latitude": self.latitude,
            "longitude": self.longitude,
            "northing": grid[0] if grid else None,
            "easting": grid[1] if grid else None,
            "address": self.address,
        }


@functools.cache
def grid_available() -> bool:
    """Whether pyproj is installed (the extra ``geo``)."""
    try:
        import pyproj  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def _transformers() -> tuple[Any, Any]:
    from pyproj import Transformer

    forward = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)
    inverse = Transformer.from_crs("EPSG:3006", "EPSG:4326", always_xy=True)
    return forward, inverse


def to_grid(latitude: float, longitude: float) -> tuple[float, float]:
    """WGS84 degrees as SWEREF 99 TM ``(northing, easting)`` in metres
    (needs pyproj)."""
    easting, northing = _transformers()[0].transform(longitude, latitude)
    return round(northing, _METRE_DECIMALS), round(easting, _METRE_DECIMALS)


def to_wgs84(northing: float, easting: float) -> tuple[float, float]:
    """SWEREF 99 TM metres as WGS84 ``(latitude, longitude)`` in degrees
    (needs pyproj)."""
    longitude, latitude = _transformers()[1].transform(easting, northing)
    return round(latitude, _DEGREE_DECIMALS), round(longitude, _DEGREE_DECIMALS)


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

    # Imported here: the model imports this module, and the errors the model.
    from klagomal.core.errors import InvalidInputError
    from klagomal.core.text_rules import check_text

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
        if not grid_available():
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
        lat, lon = round(lat, _DEGREE_DECIMALS), round(lon, _DEGREE_DECIMALS)
        if north is None and grid_available():
            north, east = to_grid(lat, lon)
        elif north is not None and east is not None:
            north, east = round(north, _METRE_DECIMALS), round(east, _METRE_DECIMALS)
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
        return attrs.evolve(
            found, northing=round(north, _METRE_DECIMALS), easting=round(east, _METRE_DECIMALS)
        )
    return found

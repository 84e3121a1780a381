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

:func:`klagomal.core.location_rules.check_location` is the one gate: both coordinates or neither,
finite numbers, a latitude within ±90° and a longitude within ±180°, and a
place inside the area SWEREF 99 TM is defined for (Sweden on land and at
sea); the address one line.  Every refusal is a Swedish
:class:`~klagomal.core.errors.InvalidInputError` naming the case, the step
and the reason.
"""

from __future__ import annotations

import functools
from typing import Any

import attrs

__all__ = [
    "ADDRESS_MAX",
    "DEGREE_DECIMALS",
    "METRE_DECIMALS",
    "SWEDEN",
    "Location",
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
DEGREE_DECIMALS = 7
METRE_DECIMALS = 3


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
            coords = f"{self.latitude:.{DEGREE_DECIMALS}f}, {self.longitude:.{DEGREE_DECIMALS}f}"
            grid = self.grid()
            if grid is not None:
                coords += f"; SWEREF 99 TM N {grid[0]:.{METRE_DECIMALS}f}, E {grid[1]:.{METRE_DECIMALS}f}"
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
    return round(northing, METRE_DECIMALS), round(easting, METRE_DECIMALS)


def to_wgs84(northing: float, easting: float) -> tuple[float, float]:
    """SWEREF 99 TM metres as WGS84 ``(latitude, longitude)`` in degrees
    (needs pyproj)."""
    longitude, latitude = _transformers()[1].transform(easting, northing)
    return round(latitude, DEGREE_DECIMALS), round(longitude, DEGREE_DECIMALS)

"""The counts of a report, per förvaltning, and what a report publishes of them.

:func:`count_cases` reads in a few ``GROUP BY`` queries every count a report
shows (R16–R18, R31, R32), per förvaltning:

* the cases of each period (the report's, the one before, the same a year
  earlier) by unit, kind, channel and whether anonymous;
* the cases of the period by quality dimension and kind, with their actions;
* the handling of the period's cases (forwarded, resolved at once, closed
  satisfied, raised ...) and the counts behind the timeliness shares;
* the cases of the period by place (:func:`place_of`): the case's address,
  else the square kilometre of SWEREF 99 TM its position is in, else none;
  a secret case's and a protected person's place is never read (counted
  as none).

:func:`publish` makes them the cells of one
:class:`~klagomal.reports.disclosure.Suppression`, linked by every sum a report
shows: the kommun's count is the sum of the förvaltningar's, a
förvaltning's cases are the sum of its kinds, of its units, of its channels,
and so on.  The politicians' report applies disclosure control to all of
them together, so that the kommun's report, every förvaltning's report and
the comparisons with earlier periods (which are those periods' own counts)
never undo each other's suppression: whichever of them a reader puts side by
side.  The staff report publishes every count as it is.

:class:`View` is one report's part of it: the kommun's or one
förvaltning's counts (for staff, the counts of the report's scope), with
the shares and medians computed from them by the same rules.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import sqlalchemy as sa

from klagomal.core.model import Kind
from klagomal.reports import ReportTable
from klagomal.reports.disclosure import HIDDEN, Published, Status, Suppression
from klagomal.reports.model import Period
from klagomal.storage.tables import case_dimensions, cases

__all__ = [
    "GRID_METRES",
    "HANDLING",
    "NO_PLACE",
    "OTHER_PLACES",
    "PERIODS",
    "TIMELINESS",
    "Counts",
    "View",
    "count_cases",
    "place_of",
    "publish",
    "publish_section",
]

#: The periods a report counts: its own, the one before, the same a year earlier.
PERIODS = ("now", "previous", "last_year")

#: The handling counts a report shows (R12, R14, R16, R17, R19–R21).
HANDLING = ("forwarded", "hops", "at_once", "actions", "satisfied", "not_satisfied", "level_2", "level_3")

#: The counts behind the timeliness shares (R7, R10, R11); not shown themselves.
TIMELINESS = ("ack_due", "ack_in_time", "answer_due", "answer_in_time", "postponements", "late")

Cell = int | str

#: The place of a case without one, or whose place is not shown (a secret
#: case, a protected person's).
NO_PLACE = ""

Scoped = Callable[[Any], Any]


@attrs.frozen
class Counts:
    """Every count of a report, per förvaltning.

    :param departments: the förvaltningar counted: the organisation's and any
        other a case names.
    :param units: per förvaltning, its units: the organisation's and any
        other a case names.
    :param channels: the channels counted, likewise.
    :param dimensions: the quality dimensions counted, likewise.
    :param kinds: per period (:data:`PERIODS`), the cases by (förvaltning, kind).
    :param cases: per period counted in detail, the cases by
        (förvaltning, unit, kind, channel, anonymous).
    :param by_dimension: per period counted in detail, the cases by
        (förvaltning, dimension, kind).
    :param dimension_actions: likewise, the actions of those cases by
        (förvaltning, dimension).
    :param handling: per period counted in detail and förvaltning,
        :data:`HANDLING` and :data:`TIMELINESS` by name.
    :param places: the places counted (:func:`place_of`), :data:`NO_PLACE`
        last.
    :param by_place: the report's period's cases by (förvaltning, place).
    :param places_by_department: whether the places are published per
        förvaltning too, or for the whole count only (the politicians').
    """

    departments: tuple[str, ...]
    units: Mapping[str, tuple[str, ...]]
    channels: tuple[str, ...]
    dimensions: tuple[str, ...]
    kinds: Mapping[str, Mapping[tuple[str, str], int]]
    cases: Mapping[str, Mapping[tuple[str, str, str, str, bool], int]]
    by_dimension: Mapping[str, Mapping[tuple[str, str, str], int]]
    dimension_actions: Mapping[str, Mapping[tuple[str, str], int]]
    handling: Mapping[str, Mapping[str, Mapping[str, int]]]
    places: tuple[str, ...] = (NO_PLACE,)
    by_place: Mapping[tuple[str, str], int] = attrs.field(factory=dict)
    places_by_department: bool = True


#: The places of the politicians' report with fewer cases than the
#: threshold in the whole kommun, counted together.
OTHER_PLACES = "ovriga"

#: The side of a square of the grid, in metres of SWEREF 99 TM.
GRID_METRES = 1000


def place_of(address: str | None, grid: tuple[float, float] | None, *, addresses: bool = True) -> str:
    """The place a report counts a case under: ``"adress:Stortorget 3"``
    (the address with its spaces normalised; only with *addresses*), else
    ``"ruta:6580:674"`` (the square kilometre of SWEREF 99 TM, northing and
    easting in km, the position is in), else :data:`NO_PLACE`."""
    if addresses and address is not None and address.split():
        return "adress:" + " ".join(address.split())
    if grid is not None:
        return f"ruta:{int(grid[0] // GRID_METRES)}:{int(grid[1] // GRID_METRES)}"
    return NO_PLACE


def _count_places(
    conn: sa.Connection, scoped: Scoped, period: Period, *, addresses: bool
) -> dict[tuple[str, str], int]:
    """The cases received in *period* by (förvaltning, :func:`place_of`),
    grouped in SQL by address and square kilometre.  A case that is secret,
    had a step marked secret (even if lifted since) or whose person has
    skyddade personuppgifter counts as :data:`NO_PLACE`: its place is never
    read into a report (records/redaction.py withholds it the same way)."""
    from klagomal.core.location import Location
    from klagomal.storage.tables import events

    markings = events.alias("place_markings")
    hidden = (
        cases.c.secrecy.is_not(None)
        | cases.c.contact_protected
        | sa.exists().where(markings.c.reference == cases.c.reference, markings.c.type == "secrecy_marked")
    )

    def km(column: Any) -> Any:
        # SWEREF 99 TM coordinates in Sweden are positive: truncation is floor.
        if conn.dialect.name == "sqlite":
            return sa.cast(column / GRID_METRES, sa.Integer)
        return sa.func.floor(column / GRID_METRES)

    def unless_hidden(value: Any) -> Any:
        return sa.case((hidden, sa.null()), else_=value)

    without_grid = cases.c.location_northing.is_(None)
    columns = (
        cases.c.department,
        unless_hidden(cases.c.location_address).label("address"),
        unless_hidden(km(cases.c.location_northing)).label("n_km"),
        unless_hidden(km(cases.c.location_easting)).label("e_km"),
        # A position stored without pyproj: its grid is computed per group below.
        unless_hidden(sa.case((without_grid, cases.c.location_latitude), else_=sa.null())).label("lat"),
        unless_hidden(sa.case((without_grid, cases.c.location_longitude), else_=sa.null())).label("lon"),
    )
    counted: dict[tuple[str, str], int] = defaultdict(int)
    query = sa.select(*columns, sa.func.count().label("n")).where(
        cases.c.received.between(period.start, period.end)
    )
    for r in conn.execute(scoped(query.group_by(*columns))):
        grid: tuple[float, float] | None = None
        if r.n_km is not None and r.e_km is not None:
            grid = (float(r.n_km) * GRID_METRES, float(r.e_km) * GRID_METRES)
        elif r.lat is not None and r.lon is not None:
            grid = Location(latitude=float(r.lat), longitude=float(r.lon)).grid()
        counted[r.department, place_of(r.address, grid, addresses=addresses)] += int(r.n)
    return dict(counted)


def count_cases(
    conn: sa.Connection,
    periods: Mapping[str, Period],
    today: Any,
    *,
    scoped: Scoped = lambda query: query,
    departments: Iterable[str] = (),
    units: Mapping[str, Iterable[str]] | None = None,
    channels: Iterable[str] = (),
    dimensions: Iterable[str] = (),
    detail: Iterable[str] = PERIODS,
    addresses: bool = True,
    few: int | None = None,
) -> Counts:
    """The :class:`Counts` of the cases received in *periods* (by name, see
    :data:`PERIODS`), within *scoped* (a filter of a query on ``cases``),
    and with every one of *departments*, *units*, *channels* and
    *dimensions* counted even when it has no case.  The periods in *detail*
    are counted by unit, channel and anonymity too, the others by kind only
    (the staff report compares kinds only; the politicians' needs each
    period's counts as its own report publishes them).  *addresses*:
    whether a case's address is its place (:func:`place_of`); the
    politicians' report, which holds no text anyone wrote, counts by the
    grid only.  *few*: places with fewer cases than this in the whole
    count are counted together as :data:`OTHER_PLACES` (the politicians'
    report: hundreds of squares of one or two cases each would be hundreds of
    ``<3`` for disclosure control to protect, and tell nothing)."""
    detail = set(detail) | {"now"}

    def within(p: Period) -> Any:
        return cases.c.received.between(p.start, p.end)

    by_case: dict[str, dict[tuple[str, str, str, str, bool], int]] = {}
    by_kind: dict[str, dict[tuple[str, str], int]] = {}
    groups = (cases.c.department, cases.c.unit, cases.c.kind, cases.c.channel, cases.c.anonymous)
    for name, p in periods.items():
        if name in detail:
            rows = conn.execute(
                scoped(sa.select(*groups, sa.func.count().label("n")).where(within(p)).group_by(*groups))
            )
            counted = {(r.department, r.unit, r.kind, r.channel, bool(r.anonymous)): int(r.n) for r in rows}
            by_case[name] = counted
            kinds: dict[tuple[str, str], int] = defaultdict(int)
            for (department, _unit, kind, _channel, _anonymous), n in counted.items():
                kinds[department, kind] += n
            by_kind[name] = dict(kinds)
        else:
            rows = conn.execute(
                scoped(
                    sa.select(cases.c.department, cases.c.kind, sa.func.count().label("n"))
                    .where(within(p))
                    .group_by(cases.c.department, cases.c.kind)
                )
            )
            by_kind[name] = {(r.department, r.kind): int(r.n) for r in rows}
    by_dimension: dict[str, dict[tuple[str, str, str], int]] = {}
    dimension_actions: dict[str, dict[tuple[str, str], int]] = {}
    handling: dict[str, dict[str, dict[str, int]]] = {}
    for name in by_case:
        p = periods[name]
        by_dimension[name], dimension_actions[name] = {}, defaultdict(int)
        for r in conn.execute(
            scoped(
                sa.select(
                    cases.c.department,
                    case_dimensions.c.dimension,
                    cases.c.kind,
                    sa.func.count().label("n"),
                    sa.func.sum(cases.c.actions).label("actions"),
                )
                .select_from(cases.join(case_dimensions, case_dimensions.c.reference == cases.c.reference))
                .where(within(p))
                .group_by(cases.c.department, case_dimensions.c.dimension, cases.c.kind)
            )
        ):
            by_dimension[name][r.department, r.dimension, r.kind] = int(r.n)
            dimension_actions[name][r.department, r.dimension] += int(r.actions or 0)
        handling[name] = {
            r.department: {figure: int(getattr(r, figure) or 0) for figure in (*HANDLING, *TIMELINESS)}
            for r in conn.execute(scoped(_handling(today).where(within(p)).group_by(cases.c.department)))
        }

    by_place = _count_places(conn, scoped, periods["now"], addresses=addresses)
    if few is not None:
        whole: dict[str, int] = defaultdict(int)
        for (_department, place), n in by_place.items():
            whole[place] += n
        merged: dict[tuple[str, str], int] = defaultdict(int)
        for (department, place), n in by_place.items():
            rare = place != NO_PLACE and whole[place] < few
            merged[department, OTHER_PLACES if rare else place] += n
        by_place = dict(merged)
    found = {key for counted in by_case.values() for key in counted}
    seen = (
        {key[0] for key in found}
        | {key[0] for key in by_place}
        | {key[0] for counted in by_kind.values() for key in counted}
        | {department for counted in handling.values() for department in counted}
    )
    all_departments = dict.fromkeys([*departments, *sorted(seen)])
    unit_lists: dict[str, dict[str, None]] = {
        d: dict.fromkeys((units or {}).get(d, ())) for d in all_departments
    }
    for department, unit, *_rest in sorted(found):
        unit_lists[department][unit] = None
    return Counts(
        departments=tuple(all_departments),
        units={d: tuple(u) for d, u in unit_lists.items()},
        channels=tuple(dict.fromkeys([*channels, *sorted({key[3] for key in found})])),
        dimensions=tuple(
            dict.fromkeys(
                [*dimensions, *sorted({key[1] for counted in by_dimension.values() for key in counted})]
            )
        ),
        kinds=by_kind,
        cases=by_case,
        by_dimension=by_dimension,
        dimension_actions={name: dict(counted) for name, counted in dimension_actions.items()},
        handling=handling,
        places=(
            *sorted({key[1] for key in by_place} - {NO_PLACE, OTHER_PLACES}),
            *((OTHER_PLACES,) if any(key[1] == OTHER_PLACES for key in by_place) else ()),
            NO_PLACE,
        ),
        by_place=by_place,
        places_by_department=few is None,
    )


def _handling(today: Any) -> Any:
    """The handling counts and those behind the timeliness shares, per förvaltning."""

    def flag(condition: Any) -> Any:
        """How many cases meet *condition*."""
        return sa.func.sum(sa.case((condition, 1), else_=0))

    return sa.select(
        cases.c.department,
        flag(cases.c.forwards > 0).label("forwarded"),
        sa.func.coalesce(sa.func.sum(cases.c.forwards), 0).label("hops"),
        flag(cases.c.resolved_at_once).label("at_once"),
        sa.func.coalesce(sa.func.sum(cases.c.actions), 0).label("actions"),
        flag(cases.c.closed.is_not(None) & (cases.c.satisfied == sa.true())).label("satisfied"),
        flag(cases.c.closed.is_not(None) & (cases.c.satisfied == sa.false())).label("not_satisfied"),
        flag(cases.c.level >= 2).label("level_2"),
        flag(cases.c.level >= 3).label("level_3"),
        flag(cases.c.acknowledged.is_not(None) | (cases.c.acknowledge_by < today)).label("ack_due"),
        flag(cases.c.acknowledged.is_not(None) & (cases.c.acknowledged <= cases.c.acknowledge_by)).label(
            "ack_in_time"
        ),
        flag(
            cases.c.answered.is_not(None)
            | ((cases.c.respond_by < today) & cases.c.paused_since.is_(None) & cases.c.closed.is_(None))
        ).label("answer_due"),
        flag(
            cases.c.answered.is_not(None)
            & (cases.c.answered <= cases.c.respond_by)
            & (cases.c.late_postponements == 0)
        ).label("answer_in_time"),
        sa.func.coalesce(sa.func.sum(cases.c.postponements), 0).label("postponements"),
        sa.func.coalesce(sa.func.sum(cases.c.late_postponements), 0).label("late"),
    )


# -- the cells and their lines --------------------------------------------------


#: The handling counts that count some of the cases (``None``: all of them)
#: or some of another's: (whole, parts).
_SUBSETS: tuple[tuple[str | None, tuple[str, ...]], ...] = (
    (None, ("forwarded",)),
    (None, ("at_once",)),
    (None, ("satisfied", "not_satisfied")),
    (None, ("level_2",)),
    ("level_2", ("level_3",)),
)


def _cells(
    counts: Counts,
) -> tuple[dict[tuple[Any, ...], int], list[tuple[tuple[Any, ...], list[Any]]], set[tuple[Any, ...]]]:
    """Every count of *counts* as a cell, and every sum a report shows as a
    line (total, parts), with the cells no table shows: the cases of a count
    of some cases (forwarded, say) that are not (tables that show 5 cases of
    which 4 were forwarded tell that 1 was not).  ``None`` as the
    förvaltning is the sum of them all: the kommun (for staff, the report's
    scope)."""
    values: dict[tuple[Any, ...], int] = {}
    lines: list[tuple[tuple[Any, ...], list[Any]]] = []
    departments = counts.departments
    everywhere: tuple[str | None, ...] = (*departments, None)
    kinds = tuple(kind.value for kind in Kind)

    unshown: set[tuple[Any, ...]] = set()

    def column(total: tuple[Any, ...], parts: list[tuple[Any, ...]]) -> None:
        values[total] = sum(values[p] for p in parts)
        lines.append((total, parts))

    def subset(whole: tuple[Any, ...], parts: list[tuple[Any, ...]]) -> None:
        """*parts* are some of *whole*'s cases: the others are an unshown cell."""
        rest = ("rest", whole, *parts)
        values[rest] = values[whole] - sum(values[p] for p in parts)
        unshown.add(rest)
        lines.append((whole, [*parts, rest]))

    for p, by_kind in counts.kinds.items():
        per: dict[tuple[Any, ...], int] = defaultdict(int)
        for (department, unit, _kind, channel, anonymous), n in counts.cases.get(p, {}).items():
            per["unit", p, department, unit] += n
            per["channel", p, department, channel] += n
            per["anonymous", p, department, anonymous] += n
        breakdowns: tuple[tuple[str, tuple[Any, ...]], ...] = (("kind", kinds),)
        if p in counts.cases:
            breakdowns += (("channel", counts.channels), ("anonymous", (True, False)))
        for department in departments:
            for kind in kinds:
                values["kind", p, department, kind] = by_kind.get((department, kind), 0)
            for family, categories in breakdowns[1:]:
                for category in categories:
                    values[family, p, department, category] = per.get((family, p, department, category), 0)
            if p in counts.cases:
                for unit in counts.units[department]:
                    values["unit", p, department, unit] = per.get(("unit", p, department, unit), 0)
            values["total", p, department] = sum(values["kind", p, department, kind] for kind in kinds)
        for family, categories in breakdowns:
            for category in categories:
                column((family, p, None, category), [(family, p, d, category) for d in departments])
        column(("total", p, None), [("total", p, d) for d in departments])
        for where in everywhere:
            for family, categories in breakdowns:
                lines.append((("total", p, where), [(family, p, where, c) for c in categories]))
        if p in counts.cases:
            for department in departments:
                lines.append(
                    (("total", p, department), [("unit", p, department, u) for u in counts.units[department]])
                )

    for p, by_dimension in counts.by_dimension.items():
        actions = counts.dimension_actions[p]
        for dimension in counts.dimensions:
            for kind in kinds:
                for department in departments:
                    values["dimension", p, department, dimension, kind] = by_dimension.get(
                        (department, dimension, kind), 0
                    )
                column(
                    ("dimension", p, None, dimension, kind),
                    [("dimension", p, d, dimension, kind) for d in departments],
                )
                # The cases of the kind without the dimension.
                for where in everywhere:
                    subset(("kind", p, where, kind), [("dimension", p, where, dimension, kind)])
            for department in departments:
                values["actions", p, department, dimension] = actions.get((department, dimension), 0)
            column(("actions", p, None, dimension), [("actions", p, d, dimension) for d in departments])
    for p, handling in counts.handling.items():
        for name in HANDLING:
            for department in departments:
                values["handling", p, department, name] = handling.get(department, {}).get(name, 0)
            column(("handling", p, None, name), [("handling", p, d, name) for d in departments])
        # Counts of cases that some cases are not: their rest is a count too.
        for where in everywhere:
            for whole, parts in _SUBSETS:
                subset(
                    ("total", p, where) if whole is None else ("handling", p, where, whole),
                    [("handling", p, where, part) for part in parts],
                )
    # The cases by place: a förvaltning's are the sum of its places', the
    # kommun's place the sum of the förvaltningar's.  The politicians'
    # report counts places for the kommun only: one line, since a table of
    # hundreds of squares by förvaltning is more small counts than disclosure
    # control can protect in reasonable time (and a förvaltning's report
    # shows no places, so there is nothing to difference).
    if not counts.places_by_department:
        for place in counts.places:
            values["place", "now", None, place] = sum(counts.by_place.get((d, place), 0) for d in departments)
        lines.append((("total", "now", None), [("place", "now", None, place) for place in counts.places]))
        return values, lines, unshown
    for department in departments:
        for place in counts.places:
            values["place", "now", department, place] = counts.by_place.get((department, place), 0)
    for place in counts.places:
        column(("place", "now", None, place), [("place", "now", d, place) for d in departments])
    for where in everywhere:
        lines.append((("total", "now", where), [("place", "now", where, place) for place in counts.places]))
    return values, lines, unshown


def publish(counts: Counts, threshold: int | None) -> Published:
    """*counts* as they may be published: with disclosure control below
    *threshold* (the politicians' report), or all of them (``None``)."""
    values, lines, unshown = _cells(counts)
    if threshold is None:
        shown: dict[Hashable, int] = dict(values)
        return Published(1, dict.fromkeys(shown, Status.PUBLISHED), shown)
    suppression = Suppression(threshold)
    for key, value in values.items():
        suppression.add(key, value, shown=key not in unshown)
    for total, parts in lines:
        suppression.add_line(total, parts)
    return suppression.solve()


# -- one report's view ----------------------------------------------------------------


def _order(item: tuple[str, Cell]) -> tuple[int, int, str]:
    """Rows of (id, count): the largest counts first, then those not shown
    (``..``, then ``<3``), each by id; so the order never tells a count
    that is not shown."""
    key, cell = item
    if isinstance(cell, int):
        return (0, -cell, key)
    return (1 if cell == HIDDEN else 2, 0, key)


@attrs.frozen
class View:
    """What one report shows of the published counts.

    :param at: the förvaltning the report is on, or ``None``: the kommun
        (for staff, every count is of the report's scope already).
    :param units: whether places are units (a report on a förvaltning or a
        unit) rather than förvaltningar.
    :param threshold: for the politicians' report, the disclosure threshold;
        ``None`` for staff.
    """

    counts: Counts
    published: Published
    at: str | None
    units: bool
    threshold: int | None

    @property
    def departments(self) -> tuple[str, ...]:
        """The förvaltningar the report covers."""
        return self.counts.departments if self.at is None else (self.at,)

    def cell(self, *key: Any) -> Cell:
        return self.published.shown(key)

    def total(self, period: str = "now") -> Cell:
        """The cases of *period*."""
        return self.cell("total", period, self.at)

    def kind(self, period: str, kind: Kind) -> Cell:
        """The cases of *kind* in *period*."""
        return self.cell("kind", period, self.at, kind.value)

    def change(self, kind: Kind | None) -> str:
        """The change of *kind* (or of all cases) since the same period last
        year, in per cent: ``-`` without cases then, ``..`` when either
        count is not shown."""
        now, then = (
            (self.total(p) for p in ("now", "last_year"))
            if kind is None
            else (self.kind(p, kind) for p in ("now", "last_year"))
        )
        if then == 0:
            return "-"
        if not isinstance(now, int) or not isinstance(then, int):
            return HIDDEN
        return f"{round(100 * (now - then) / then):+d} %"

    def _listed(self, keys: Sequence[tuple[str, tuple[Any, ...]]]) -> tuple[list[tuple[str, Cell]], bool]:
        """The rows (id, count) of *keys* a list shows, in :func:`_order`; and
        whether all of them are withheld (then no row is shown)."""
        shown = [(name, key) for name, key in keys if self.published.listed(key)]
        withheld = bool(shown) and all(self.published.status(key) is Status.WITHHELD for _n, key in shown)
        if withheld:
            return [], True
        return sorted(((name, self.published.shown(key)) for name, key in shown), key=_order), False

    def places(self) -> tuple[list[tuple[str, Cell]], bool]:
        """The cases per förvaltning (or per unit) that are shown, and whether
        they are withheld as a whole."""
        keys: list[tuple[str, tuple[Any, ...]]]
        if self.units:
            keys = [(u, ("unit", "now", d, u)) for d in self.departments for u in self.counts.units[d]]
        else:
            keys = [(d, ("total", "now", d)) for d in self.counts.departments]
        return self._listed(keys)

    def channels(self) -> tuple[list[tuple[str, Cell]], bool]:
        """The cases per channel that are shown, and whether they are withheld as a whole."""
        return self._listed([(c, ("channel", "now", self.at, c)) for c in self.counts.channels])

    def by_place(self) -> tuple[list[tuple[str, Cell]], bool]:
        """The cases per place (:func:`place_of`) that are shown, the other
        places and the cases without a place shown last; and whether they
        are withheld as a whole."""
        listed, withheld = self._listed([(p, ("place", "now", self.at, p)) for p in self.counts.places])
        last = {OTHER_PLACES: 1, NO_PLACE: 2}
        return sorted(listed, key=lambda row: last.get(row[0], 0)), withheld

    def anonymous_share(self) -> str:
        """The share of anonymous cases, when both counts behind it are shown."""
        total = self.total()
        anonymous = self.published.number(("anonymous", "now", self.at, True))
        named = self.published.number(("anonymous", "now", self.at, False))
        if total == 0:
            return "-"
        if anonymous is None or named is None:
            return HIDDEN
        return _percent(anonymous, anonymous + named)

    def dimension_rows(self) -> list[tuple[str, tuple[Cell, ...], Cell]]:
        """Per quality dimension that has cases: the cases of each kind and the
        actions; the most (shown) first."""
        rows = []
        for dimension in self.counts.dimensions:
            keys = [("dimension", "now", self.at, dimension, kind.value) for kind in Kind]
            if not any(self.published.listed(key) for key in keys):
                continue
            cells = tuple(self.published.shown(key) for key in keys)
            rows.append((dimension, cells, self.cell("actions", "now", self.at, dimension)))
        return sorted(rows, key=lambda r: (-sum(c for c in r[1] if isinstance(c, int)), r[0]))

    def deficiencies(self) -> list[tuple[str, str, Cell]]:
        """Per förvaltning, the three quality dimensions complaints name most:
        (förvaltning, dimension, complaints), among the counts shown."""
        rows: list[tuple[str, str, Cell]] = []
        for department in self.departments:
            named = []
            for dimension in self.counts.dimensions:
                n = self.published.number(("dimension", "now", department, dimension, Kind.KLAGOMAL.value))
                if n:
                    named.append((n, dimension))
            rows += [(department, d, n) for n, d in sorted(named, key=lambda t: (-t[0], t[1]))[:3]]
        return rows

    def handling(self, name: str) -> Cell:
        """One of :data:`HANDLING`."""
        return self.cell("handling", "now", self.at, name)

    def raw(self, name: str) -> int:
        """One of :data:`TIMELINESS`: never shown itself, only in :meth:`share`."""
        return sum(self.counts.handling["now"].get(d, {}).get(name, 0) for d in self.departments)

    def hides(self, part: int, whole: int) -> bool:
        """Whether the share *part* of *whole* is not shown: in the politicians'
        report, when the part or the rest is below the threshold but not 0
        (the share and the one count would give the other)."""
        t = self.threshold
        return t is not None and (0 < part < t or 0 < whole - part < t)

    def share(self, part: int, whole: int) -> str:
        """*part* of *whole* in per cent, ``-`` of nothing, or ``..``."""
        if whole == 0:
            return "-"
        return HIDDEN if self.hides(part, whole) else _percent(part, whole)

    def median(self, values: Sequence[int]) -> str:
        """The median of *values*; ``..`` in the politicians' report when
        fewer than the threshold count (it would be one case's)."""
        if not values:
            return "-"
        if self.threshold is not None and len(values) < self.threshold:
            return HIDDEN
        return f"{statistics.median(values):g}".replace(".", ",")


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)} %"


# -- the förvaltningar's own sections ------------------------------------------------

#: The first cell of a row, or a column's heading, that names a sum.
_SUM_WORDS = ("summa", "totalt", "total", "samtliga", "sammanlagt", "alla")


def publish_section(table: ReportTable, threshold: int) -> tuple[tuple[Cell | float | None, ...], ...]:
    """The rows of a förvaltning's own table (``klagomal_report_sections``) as
    the politicians' report publishes them: its counts with disclosure
    control, over the sums the table shows itself, which are found by their
    names and checked: a last row named Summa or Totalt that adds up the rows
    above it, and a column named Totalt or Summa that adds up the columns of
    counts before it.  What else the table's counts are sums of the core
    cannot know (see docs/reports.md)."""
    rows = table.rows
    counts = [
        j
        for j in range(len(table.columns))
        if any(_is_count(row[j]) for row in rows) and all(_is_count(row[j]) or row[j] is None for row in rows)
    ]
    suppression = Suppression(threshold)
    for i, row in enumerate(rows):
        for j in counts:
            cell = row[j]
            if isinstance(cell, int) and _is_count(cell):
                suppression.add((i, j), cell)

    def present(i: int, j: int) -> bool:
        return (i, j) in suppression.values

    def value(i: int, j: int) -> int:
        return suppression.values.get((i, j), 0)

    last = len(rows) - 1
    above = range(last)
    if (
        last > 0
        and _names_sum(rows[last][0])
        and all(not present(last, j) or value(last, j) == sum(value(i, j) for i in above) for j in counts)
    ):
        for j in counts:
            if present(last, j):
                suppression.add_line((last, j), [(i, j) for i in above if present(i, j)])
    for j in counts:
        before = [c for c in counts if c < j]
        if (
            before
            and _names_sum(table.columns[j])
            and all(
                not present(i, j) or value(i, j) == sum(value(i, c) for c in before) for i in range(len(rows))
            )
        ):
            for i in range(len(rows)):
                if present(i, j):
                    suppression.add_line((i, j), [(i, c) for c in before if present(i, c)])
    published = suppression.solve()
    return tuple(
        tuple(published.shown((i, j)) if present(i, j) else cell for j, cell in enumerate(row))
        for i, row in enumerate(rows)
    )


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _names_sum(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower() in _SUM_WORDS

"""Disclosure control of published counts: primary and secondary suppression.

The politicians' report is a public document (R18, R27), and a count of one
or two cases can point at a person.  So a count below the threshold (default
3) is not published: *primary suppression*.  That alone is undone by
subtraction wherever the counts add up to a published total (a total of 5
with one part of 4 tells that the other is 1), so statistics offices also
withhold other cells of the same sums: *secondary (complementary)
suppression*.  This module does both for any set of counts linked by sums.

A *cell* is one count, named by any hashable key.  A *line* says that one
cell (the total) is the sum of others (the parts): a table's rows and
columns with their margins, and every count published in two places, are
lines over the same cells, so that no table can undo another's suppression.

What a reader sees, and what it tells one who knows this method:

==========  =========  ====================================================
status      shown      what the reader can tell of the count
==========  =========  ====================================================
published   the count  the count
primary     ``<3``     1 or 2 (1 up to the threshold − 1)
secondary   ``..``     at least the threshold: withheld so that no ``<3``
                       can be worked out
withheld    ``..``     nothing: it may be 0, small or large
==========  =========  ====================================================

:meth:`Suppression.solve` chooses the cells:

1. *Primary*: every count from 1 to the threshold − 1.
2. *Withheld*: a total below the threshold is not broken down when its
   parts would tell their values (two parts of ``<3`` under a total of
   ``<3`` are 1 and 1), nor is a part of a withheld total.  Zeros are
   withheld with the rest, or a ``..`` would mean "not 0".
3. *Secondary*: in every line with exactly one cell not shown, one more is
   withheld: the smallest count that is not 0, a part before the line's
   total, a cell that is no line's total before one that is.
4. *Audit*: no cell not shown (and not 0) may be worked out from what is
   shown.  The lines are solved exactly as linear equations; then, for each
   such cell, a search looks for another assignment of whole numbers that
   agrees with every line and every mark (a ``<3`` is 1 or 2, a secondary
   ``..`` at least 3).  A cell without one is withheld around: step 3 in a
   line near it, or, where every count near it is withheld already, the
   small counts near it (0 and ``<3``) are withheld as well, so that their
   ``..`` no longer says they are small.  Repeat until the audit passes.

A count a table does not show at all can still be worked out: with 5 cases
of which 4 were forwarded, 1 was not.  Such a count is an *unshown* cell
(``add(..., shown=False)``), the rest of a line (5 = 4 + the rest): a
reader knows nothing of it beforehand, it is never withheld in another's
place (withholding what is not shown protects nothing), and when it is below
the threshold the audit protects it like a ``<3``.

A zero withheld in step 2 may still be known to be 0 (its förvaltning had no
case at all); that tells nothing about the counts the method protects.
"""

from __future__ import annotations

import enum
import math
from collections import defaultdict, deque
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence

import attrs

__all__ = ["HIDDEN", "Line", "Published", "Status", "Suppression", "primary_mark"]

#: What a reader sees for a count withheld by secondary suppression.
HIDDEN = ".."

#: How many passes the narrowing of bounds makes at most before it branches.
_PASSES = 32

#: How many branches a search for another assignment may take; beyond, the
#: cell counts as worked out (and more is withheld): safe, never wrong.
_BUDGET = 4000


def primary_mark(threshold: int) -> str:
    """What a reader sees for a count below *threshold*: ``<3``."""
    return f"<{threshold}"


class Status(enum.Enum):
    """How a cell is published."""

    PUBLISHED = "published"
    PRIMARY = "primary"
    SECONDARY = "secondary"
    WITHHELD = "withheld"


@attrs.frozen
class Line:
    """*total* is the sum of *parts*."""

    total: Hashable
    parts: tuple[Hashable, ...]

    @property
    def members(self) -> tuple[Hashable, ...]:
        return (self.total, *self.parts)


@attrs.frozen
class Published:
    """The cells as they may be published: each one's status, and the
    counts of those published.  The counts not shown are not kept here."""

    threshold: int
    statuses: Mapping[Hashable, Status]
    numbers: Mapping[Hashable, int]

    def status(self, key: Hashable) -> Status:
        """How the cell *key* is published."""
        return self.statuses[key]

    def shown(self, key: Hashable) -> int | str:
        """The count, or its mark: ``<3`` or ``..``."""
        status = self.statuses[key]
        if status is Status.PUBLISHED:
            return self.numbers[key]
        return primary_mark(self.threshold) if status is Status.PRIMARY else HIDDEN

    def number(self, key: Hashable) -> int | None:
        """The count when it is published, else ``None``."""
        return self.numbers[key] if self.statuses[key] is Status.PUBLISHED else None

    def listed(self, key: Hashable) -> bool:
        """Whether a list of the cells that are not 0 shows *key*: it is not 0,
        or it is not shown (a ``..`` may be 0: listing only the others would
        tell which)."""
        return self.statuses[key] is not Status.PUBLISHED or self.numbers[key] != 0


class Suppression:
    """Counts linked by sums, to publish with disclosure control.

    >>> s = Suppression(threshold=3)
    >>> s.add_all({"kof": 4, "sbf": 1, "kommun": 5})
    >>> s.add_line("kommun", ["kof", "sbf"])
    >>> published = s.solve()
    >>> [published.shown(key) for key in ("kof", "sbf", "kommun")]
    ['..', '<3', 5]
    """

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.values: dict[Hashable, int] = {}
        self.lines: list[Line] = []
        self.unshown: set[Hashable] = set()

    def add(self, key: Hashable, value: int, *, shown: bool = True) -> None:
        """The count *value* named *key*; the same key twice must be the same
        count.  *shown*: whether any table shows it (see the module's
        docstring); an unshown cell is never a line's total."""
        if value < 0:
            raise ValueError(f"a count is never negative: {key!r} = {value}")
        if self.values.setdefault(key, value) != value:
            raise ValueError(f"{key!r} counted twice, as {self.values[key]} and {value}")
        if not shown:
            self.unshown.add(key)

    def add_all(self, values: Mapping[Hashable, int]) -> None:
        """Every count of *values*."""
        for key, value in values.items():
            self.add(key, value)

    def add_line(self, total: Hashable, parts: Iterable[Hashable]) -> None:
        """*total* is the sum of *parts*, all of them added already."""
        members = tuple(parts)
        if total in self.unshown:
            raise ValueError(f"{total!r} is not shown, so it cannot be a line's total")
        got = sum(self.values[p] for p in members)
        if got != self.values[total]:
            raise ValueError(f"{total!r} is {self.values[total]}, but its parts add up to {got}")
        if members:
            self.lines.append(Line(total, members))

    def solve(self) -> Published:
        """Choose the cells to publish; see the module's docstring."""
        return _Solver(self.threshold, self.values, self.lines, self.unshown).solve()


class _Solver:
    def __init__(
        self,
        threshold: int,
        values: Mapping[Hashable, int],
        lines: Sequence[Line],
        unshown: Collection[Hashable] = frozenset(),
    ) -> None:
        self.t = threshold
        self.unshown = unshown
        self.values = values
        self.lines = lines
        self.order = {key: index for index, key in enumerate(values)}
        self.lines_of: dict[Hashable, list[int]] = defaultdict(list)
        for index, line in enumerate(lines):
            for member in line.members:
                self.lines_of[member].append(index)
        self.totals = {line.total for line in lines}
        self.status = {
            key: Status.WITHHELD
            if key in unshown
            else Status.PRIMARY
            if 0 < value < threshold
            else Status.PUBLISHED
            for key, value in values.items()
        }
        #: Cells shown to have another possible value; they stay so.
        self.safe: set[Hashable] = set()

    def hidden(self, key: Hashable) -> bool:
        return self.status[key] is not Status.PUBLISHED

    def bounds(self, key: Hashable) -> tuple[float, float]:
        """The values *key*'s mark allows a reader who knows the method."""
        status = self.status[key]
        if status is Status.PUBLISHED:
            return self.values[key], self.values[key]
        if status is Status.PRIMARY:
            return 1, self.t - 1
        if status is Status.SECONDARY:
            return self.t, math.inf
        return 0, math.inf

    # -- the steps -----------------------------------------------------------

    def solve(self) -> Published:
        if self.t > 1:
            self.withhold()
            # Each round withholds at least one more cell, so this ends.
            for _round in range(len(self.values) + 1):
                self.complete_lines()
                pinned = self.audit()
                if not pinned:
                    break
                # One more count near each, but not near one whose lines just
                # got one: the next audit tells whether it still needs it.
                touched: set[int] = set()
                for key in pinned:
                    if touched.isdisjoint(self.lines_of[key]):
                        other = self.protect(key)
                        if other is not None:
                            touched.update(self.lines_of[other])
                if not touched:
                    self.give_up(pinned)
                    self.withhold()
        published = {key: value for key, value in self.values.items() if not self.hidden(key)}
        return Published(self.t, dict(self.status), published)

    def withhold(self) -> None:
        """Step 2: the parts of a total below the threshold that would tell
        their values, and the parts of a withheld total."""
        enough = max(2, self.t - 1)
        changed = True
        while changed:
            changed = False
            for line in self.lines:
                status = self.status[line.total]
                if status is Status.WITHHELD or (
                    status is Status.PRIMARY and sum(self.values[p] > 0 for p in line.parts) >= enough
                ):
                    for part in line.parts:
                        if self.status[part] is not Status.WITHHELD:
                            self.status[part] = Status.WITHHELD
                            changed = True

    def complete_lines(self) -> None:
        """Step 3: no line with exactly one cell not shown."""
        changed = True
        while changed:
            changed = False
            for line in self.lines:
                alone = [m for m in line.members if self.hidden(m)]
                if len(alone) == 1 and self.protected(alone[0]):
                    other = self.complement([line])
                    if other is not None:
                        self.status[other] = Status.SECONDARY
                        changed = True

    def complement(self, lines: Iterable[Line]) -> Hashable | None:
        """The cell to withhold next in one of *lines*: the smallest count that
        is not 0, a part before a total, a cell that is no line's total first."""
        best: tuple[bool, bool, int, int] | None = None
        chosen: Hashable | None = None
        for line in lines:
            for member in line.members:
                value = self.values[member]
                if self.hidden(member) or value == 0 or member in self.unshown:
                    continue
                rank = (member == line.total, member in self.totals, value, self.order[member])
                if best is None or rank < best:
                    best, chosen = rank, member
        return chosen

    def near(self, keys: Iterable[Hashable]) -> Iterable[list[Line]]:
        """The lines around *keys*, nearest first: those through them, then
        those through the cells not shown in these, and so on."""
        seen_cells = set(keys)
        seen_lines: set[int] = set()
        frontier = list(seen_cells)
        while frontier:
            ring = sorted({i for cell in frontier for i in self.lines_of[cell]} - seen_lines)
            seen_lines.update(ring)
            yield [self.lines[i] for i in ring]
            frontier = []
            for i in ring:
                for member in self.lines[i].members:
                    if self.hidden(member) and member not in seen_cells:
                        seen_cells.add(member)
                        frontier.append(member)

    def protect(self, key: Hashable) -> Hashable | None:
        """Withhold one more count near *key*: that count, if there was one."""
        for ring in self.near([key]):
            other = self.complement(ring)
            if other is not None:
                self.status[other] = Status.SECONDARY
                return other
        return None

    def give_up(self, pinned: list[Hashable]) -> None:
        """No count left to withhold near *pinned*, which the marks' bounds
        pin (a ``<3`` is at least 1, a secondary ``..`` at least 3, so five
        cases in two ``..`` and a ``<3`` may leave one way only): withhold the
        small counts near them, 0 and ``<3`` alike, whose ``..`` says
        nothing.  The nearest lines first, then further out."""
        for ring in self.near(pinned):
            small = [
                member
                for line in ring
                for member in line.members
                if self.values[member] < self.t and self.status[member] is not Status.WITHHELD
            ]
            if small:
                for member in small:
                    self.status[member] = Status.WITHHELD
                return
        raise RuntimeError(f"disclosure control cannot protect {pinned!r}")  # pragma: no cover

    # -- the audit -----------------------------------------------------------

    def audit(self) -> list[Hashable]:
        """Step 4: the cells not shown, not 0, that a reader can work out.

        The lines become equations over the cells not shown (what is shown
        goes to the constant side), reduced exactly, in whole numbers, to
        reduced row echelon form with the cells a secondary ``..`` hides
        taken as pivots first, so that a relation among small cells alone
        ("these two ``<3`` add up to 2") comes out as a row of its own.  A
        cell whose row holds nothing else is determined.  For every other
        cell a search looks for an assignment, within every mark's bounds
        and satisfying every equation, that gives it another value.
        """
        rank = {Status.SECONDARY: 0, Status.WITHHELD: 1, Status.PRIMARY: 2}
        hidden = sorted(
            (key for key in self.values if self.hidden(key)),
            key=lambda key: (rank[self.status[key]], self.order[key]),
        )
        if not hidden:
            return []
        column = {key: index for index, key in enumerate(hidden)}
        constant = len(hidden)  # the right-hand side: never a pivot
        equations: list[dict[int, int]] = []
        for line in self.lines:
            row: dict[int, int] = defaultdict(int)
            for member, sign in ((line.total, -1), *((p, 1) for p in line.parts)):
                if member in column:
                    row[column[member]] += sign
                else:
                    row[constant] -= sign * self.values[member]
            cleaned = {c: v for c, v in row.items() if v}
            if any(c != constant for c in cleaned):
                equations.append(cleaned)
        pivots: dict[int, dict[int, int]] = {}
        for equation in equations:
            _reduce_into(pivots, equation, constant)
        pinned = {c for c, row in pivots.items() if not set(row) - {c, constant}}
        # Secondary and withheld cells have no upper bound; the search needs
        # one, and a cap above every true count only makes it look less far.
        cap = 2 * max(self.values.values()) + self.t
        lo: list[int] = []
        hi: list[int] = []
        for key in hidden:
            low, high = self.bounds(key)
            lo.append(int(low))
            hi.append(cap if high == math.inf else int(high))
        rows = equations + list(pivots.values())
        for component in _components(rows, constant):
            root = component.narrowed({c: (lo[c], hi[c]) for c in component.cells})
            for c in component.cells:
                key = hidden[c]
                value = self.values[key]
                if c in pinned or not self.protected(key) or key in self.safe:
                    continue
                if lo[c] == hi[c]:  # a "<2" is 1 by its mark alone: nothing to protect
                    continue
                other = component.other_value(c, value, root)
                if other is None:
                    pinned.add(c)
                    continue
                # Every cell the other assignment changes is safe, now and after
                # more is withheld (which only widens the bounds).
                self.safe.update(hidden[d] for d, v in other.items() if v != self.values[hidden[d]])
        return sorted((hidden[c] for c in pinned if self.protected(hidden[c])), key=self.order.__getitem__)

    def protected(self, key: Hashable) -> bool:
        """Whether the audit must keep *key* from being worked out: every
        count not shown but 0, and of the unshown ones those below the
        threshold."""
        value = self.values[key]
        return value != 0 and (key not in self.unshown or value < self.t)


class _Component:
    """Equations that share cells, and those cells."""

    def __init__(self, constant: int) -> None:
        self.constant = constant
        self.rows: list[dict[int, int]] = []
        self.cells: list[int] = []
        self.rows_of: dict[int, list[int]] = defaultdict(list)

    def add(self, row: dict[int, int]) -> None:
        for c in row:
            if c != self.constant:
                self.rows_of[c].append(len(self.rows))
        self.rows.append(row)

    def narrowed(self, bounds: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
        """*bounds* narrowed along every equation (they hold the true counts,
        so they never run empty)."""
        bounds = dict(bounds)
        self.narrow(bounds, range(len(self.rows)))
        return bounds

    def other_value(self, cell: int, value: int, root: dict[int, tuple[int, int]]) -> dict[int, int] | None:
        """An assignment within *root* that holds every equation and gives
        *cell* another value than *value*: below it, or above it.  ``None``
        when there is none, or the search runs out."""
        budget = [_BUDGET]
        low, high = root[cell]
        for part in ((low, value - 1), (value + 1, high)):
            if part[0] <= part[1]:
                bounds = {**root, cell: part}
                found = self.search(bounds, self.rows_of[cell], budget)
                if found is not None:
                    return found
        return None

    def search(
        self, bounds: dict[int, tuple[int, int]], start: Iterable[int], budget: list[int]
    ) -> dict[int, int] | None:
        """Whole numbers within *bounds* that hold every equation, if any:
        narrow the bounds along the equations (from the rows *start*), then
        split the narrowest open bound and look in each half."""
        if budget[0] <= 0:
            return None
        budget[0] -= 1
        if not self.narrow(bounds, start):
            return None
        open_cells = [c for c, (a, b) in bounds.items() if a < b]
        if not open_cells:
            return {c: a for c, (a, _b) in bounds.items()}
        c = min(open_cells, key=lambda c: (bounds[c][1] - bounds[c][0], c))
        a, b = bounds[c]
        middle = (a + b) // 2
        for half in ((a, middle), (middle + 1, b)):
            found = self.search({**bounds, c: half}, self.rows_of[c], budget)
            if found is not None:
                return found
        return None

    def narrow(self, bounds: dict[int, tuple[int, int]], start: Iterable[int]) -> bool:
        """Narrow *bounds* in place along the equations, from the rows
        *start* on to every row whose cells changed; ``False`` when some cell
        is left without a value."""
        queue = deque(dict.fromkeys(start))
        queued = set(queue)
        steps = _PASSES * len(self.rows)
        while queue and steps:
            steps -= 1
            r = queue.popleft()
            queued.discard(r)
            changed = _narrow(self.rows[r], self.constant, bounds)
            if changed is None:
                return False
            for c in changed:
                for other in self.rows_of[c]:
                    if other not in queued:
                        queue.append(other)
                        queued.add(other)
        return True


def _components(rows: list[dict[int, int]], constant: int) -> list[_Component]:
    """*rows* grouped into components that share no cell."""
    parent: dict[int, int] = {}

    def root(c: int) -> int:
        while parent.setdefault(c, c) != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for row in rows:
        cells = [c for c in row if c != constant]
        for c in cells[1:]:
            parent[root(c)] = root(cells[0])
    groups: dict[int, _Component] = {}
    for row in rows:
        cells = [c for c in row if c != constant]
        if cells:
            groups.setdefault(root(cells[0]), _Component(constant)).add(row)
    for c in sorted(parent):
        groups[root(c)].cells.append(c)
    return list(groups.values())


def _reduce_into(pivots: dict[int, dict[int, int]], row: dict[int, int], constant: int) -> None:
    """Add *row* to the reduced row echelon form *pivots* (pivot column → row),
    in whole numbers: every pivot column is 0 in every other row.  The
    column *constant* holds the right-hand side and is never a pivot."""
    for c in [c for c in row if c in pivots]:
        if c in row:
            row = _eliminate(row, pivots[c], c)
    variables = [c for c in row if c != constant]
    if not variables:
        return
    pivot = min(variables)
    for c, other in list(pivots.items()):
        if pivot in other:
            pivots[c] = _eliminate(other, row, pivot)
    pivots[pivot] = row


def _eliminate(row: dict[int, int], by: dict[int, int], column: int) -> dict[int, int]:
    """*row* with *column* made 0 by a multiple of *by*, divided by the
    greatest common divisor of what is left."""
    a, b = by[column], row[column]
    out = {c: a * row.get(c, 0) - b * by.get(c, 0) for c in row.keys() | by.keys()}
    out = {c: v for c, v in out.items() if v}
    divisor = math.gcd(*out.values()) if out else 1
    return {c: v // divisor for c, v in out.items()}


def _narrow(row: Mapping[int, int], constant: int, bounds: dict[int, tuple[int, int]]) -> list[int] | None:
    """Narrow the bounds of the cells in ``sum(a * x) = c`` (*row*, with c
    in the column *constant*) to whole numbers, in place: the cells whose
    bounds changed, or ``None`` when one is left without a value."""
    c = row.get(constant, 0)
    terms = [(i, a) for i, a in row.items() if i != constant]
    low = [a * bounds[i][0] if a > 0 else a * bounds[i][1] for i, a in terms]
    high = [a * bounds[i][1] if a > 0 else a * bounds[i][0] for i, a in terms]
    low_sum, high_sum = sum(low), sum(high)
    changed = []
    for n, (i, a) in enumerate(terms):
        # a * x = c - the others: from c - their highest to c - their lowest.
        first = c - (high_sum - high[n])
        last = c - (low_sum - low[n])
        if a < 0:
            first, last = -last, -first
        size = abs(a)
        old_lo, old_hi = bounds[i]
        new_lo, new_hi = max(old_lo, -(-first // size)), min(old_hi, last // size)
        if new_lo > new_hi:
            return None
        if (new_lo, new_hi) != (old_lo, old_hi):
            bounds[i] = (new_lo, new_hi)
            changed.append(i)
            new_low = a * new_lo if a > 0 else a * new_hi
            new_high = a * new_hi if a > 0 else a * new_lo
            low_sum += new_low - low[n]
            high_sum += new_high - high[n]
            low[n], high[n] = new_low, new_high
    return changed

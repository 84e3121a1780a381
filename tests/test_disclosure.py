"""Disclosure control (klagomal.reports.disclosure): what is published can never be
used to work out a count the method withholds.

Three independent attackers read what is published (the numbers and the
marks) and try to recover a withheld count:

* subtraction: a line (a row or column with its total) with exactly one
  cell not shown gives that cell; repeated until nothing more comes out;
* linear algebra: the lines as equations, solved exactly over the
  rationals; a cell is recovered when the equations fix it;
* a search over whole numbers: every assignment that agrees with what is
  published and what each mark allows (``<3``: 1 or 2; a secondary ``..``:
  at least 3; a withheld ``..`` under a small total: 0 to 2); a cell is
  recovered when every such assignment gives it the same value.
"""

from __future__ import annotations

import doctest
import itertools
import math
from collections.abc import Hashable, Iterable, Sequence
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import klagomal.reports.disclosure
from klagomal.reports.disclosure import HIDDEN, Line, Published, Status, Suppression

T = 3


def test_the_module_example_runs() -> None:
    assert doctest.testmod(klagomal.reports.disclosure).failed == 0


# -- the attackers -----------------------------------------------------------------------------


def by_subtraction(published: Published, lines: Sequence[Line]) -> dict[Hashable, int]:
    """What subtraction along the lines recovers: cell → value."""
    known = dict(published.numbers)
    recovered: dict[Hashable, int] = {}
    changed = True
    while changed:
        changed = False
        for line in lines:
            unknown = [m for m in line.members if m not in known]
            if len(unknown) != 1:
                continue
            [cell] = unknown
            parts = sum(known[p] for p in line.parts if p != cell)
            value = parts if cell == line.total else known[line.total] - parts
            known[cell] = recovered[cell] = value
            changed = True
    return recovered


def by_linear_algebra(published: Published, lines: Sequence[Line]) -> set[Hashable]:
    """The cells not shown that the lines fix as linear equations (Fractions,
    Gauss–Jordan, written independently of the module's own)."""
    hidden = sorted({m for line in lines for m in line.members if m not in published.numbers}, key=repr)
    index = {key: i for i, key in enumerate(hidden)}
    rows: list[list[Fraction]] = []
    for line in lines:
        row = [Fraction(0)] * len(hidden)
        for member, sign in ((line.total, -1), *((p, 1) for p in line.parts)):
            if member in index:
                row[index[member]] += sign
        if any(row):
            rows.append(row)
    pivot_of: dict[int, int] = {}
    r = 0
    for c in range(len(hidden)):
        pick = next((i for i in range(r, len(rows)) if rows[i][c] != 0), None)
        if pick is None:
            continue
        rows[r], rows[pick] = rows[pick], rows[r]
        rows[r] = [v / rows[r][c] for v in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][c] != 0:
                factor = rows[i][c]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivot_of[c] = r
        r += 1
    return {hidden[c] for c, i in pivot_of.items() if sum(1 for v in rows[i] if v != 0) == 1}


def bounds(published: Published, key: Hashable, cap: int) -> tuple[int, int]:
    """The values *key*'s mark allows, up to *cap*."""
    status = published.status(key)
    if status is Status.PUBLISHED:
        return published.numbers[key], published.numbers[key]
    if status is Status.PRIMARY:
        return 1, T - 1
    if status is Status.SECONDARY:
        return T, cap
    return 0, cap


def feasible(
    domains: dict[Hashable, tuple[int, int]],
    lines: Sequence[Line],
    hint: dict[Hashable, int],
    budget: list[int],
) -> bool:
    """Whether whole numbers within *domains* satisfy every line: a complete
    search that narrows the domains along the lines, then splits one in two,
    the half that holds *hint* first (another assignment usually differs from
    the truth in a few cells only).  Past its *budget* of branches it gives
    up, saying no: a test then fails rather than pass unsure."""
    if budget[0] <= 0:
        return False
    budget[0] -= 1
    domains = dict(domains)
    lines_of: dict[Hashable, list[int]] = {}
    for i, line in enumerate(lines):
        for m in line.members:
            lines_of.setdefault(m, []).append(i)
    queue = list(range(len(lines)))
    queued = set(queue)
    while queue:
        i = queue.pop()
        queued.discard(i)
        line = lines[i]
        lo = sum(domains[p][0] for p in line.parts)
        hi = sum(domains[p][1] for p in line.parts)
        changed = []
        t_lo, t_hi = domains[line.total]
        new = (max(t_lo, lo), min(t_hi, hi))
        if new != (t_lo, t_hi):
            domains[line.total] = new
            changed.append(line.total)
        t_lo, t_hi = new
        for p in line.parts:
            p_lo, p_hi = domains[p]
            new = (max(p_lo, t_lo - (hi - p_hi)), min(p_hi, t_hi - (lo - p_lo)))
            if new != (p_lo, p_hi):
                domains[p] = new
                changed.append(p)
        for key in changed:
            if domains[key][0] > domains[key][1]:
                return False
            for j in lines_of[key]:
                if j not in queued:
                    queue.append(j)
                    queued.add(j)
    open_keys = [k for k, (a, b) in domains.items() if a < b]
    if not open_keys:
        return True
    key = min(open_keys, key=lambda k: (domains[k][1] - domains[k][0], repr(k)))
    a, b = domains[key]
    middle = (a + b) // 2
    halves = [(a, middle), (middle + 1, b)]
    if hint[key] > middle:
        halves.reverse()
    return any(feasible({**domains, key: half}, lines, hint, budget) for half in halves)


def null_space(hidden: Sequence[Hashable], lines: Sequence[Line]) -> list[dict[Hashable, int]]:
    """A basis, in whole numbers, of the changes to the *hidden* cells that
    keep every line's sum (Fractions, Gauss–Jordan)."""
    index = {key: i for i, key in enumerate(hidden)}
    rows: list[list[Fraction]] = []
    for line in lines:
        row = [Fraction(0)] * len(hidden)
        for member, sign in ((line.total, -1), *((p, 1) for p in line.parts)):
            if member in index:
                row[index[member]] += sign
        if any(row):
            rows.append(row)
    pivots: list[int] = []
    r = 0
    for c in range(len(hidden)):
        pick = next((i for i in range(r, len(rows)) if rows[i][c] != 0), None)
        if pick is None:
            continue
        rows[r], rows[pick] = rows[pick], rows[r]
        rows[r] = [v / rows[r][c] for v in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][c] != 0:
                factor = rows[i][c]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots.append(c)
        r += 1
    basis = []
    for free in (c for c in range(len(hidden)) if c not in pivots):
        vector = {free: Fraction(1)}
        for i, c in enumerate(pivots):
            if rows[i][free] != 0:
                vector[c] = -rows[i][free]
        scale = math.lcm(*(v.denominator for v in vector.values()))
        basis.append({hidden[c]: int(v * scale) for c, v in vector.items()})
    return basis


def component(published: Published, lines: Sequence[Line], cell: Hashable) -> list[Line]:
    """The lines that reach *cell* through cells not shown: the others are
    satisfied by the truth whatever *cell* is."""
    near = {cell}
    reach: list[Line] = []
    rest = list(lines)
    changed = True
    while changed:
        changed = False
        for line in list(rest):
            if near & set(line.members):
                reach.append(line)
                rest.remove(line)
                near |= {m for m in line.members if m not in published.numbers}
                changed = True
    return reach


def pinned(
    published: Published, lines: Sequence[Line], truth: dict[Hashable, int], cells: Iterable[Hashable]
) -> set[Hashable]:
    """Those of *cells* that no whole numbers within the marks' bounds, agreeing
    with every line, give another value than their true one.  First small
    moves along the null space of the lines; then a complete, budgeted
    search (running out counts as pinned: a test fails rather than pass
    unsure)."""
    cap = 2 * max(truth.values()) + T
    out = set()
    done: dict[frozenset[Line], list[dict[Hashable, int]]] = {}
    for cell in cells:
        reach = component(published, lines, cell)
        keys = {m for line in reach for m in line.members} | {cell}
        domains = {k: bounds(published, k, cap) for k in keys}
        lines_near = frozenset(reach)
        if lines_near not in done:
            done[lines_near] = null_space(
                sorted((k for k in keys if k not in published.numbers), key=repr), reach
            )
        basis = done[lines_near]

        def fits(move: dict[Hashable, int], cell: Hashable = cell, domains: Any = domains) -> bool:
            return move.get(cell, 0) != 0 and all(
                domains[k][0] <= truth[k] + v <= domains[k][1] for k, v in move.items()
            )

        # A move changes the cell, so one of its vectors at least holds it.
        touching = [b for b in basis if b.get(cell)]
        moves = itertools.chain(
            ({k: f * v for k, v in b.items()} for b in touching for f in (1, -1, 2, -2)),
            (
                {k: f * a.get(k, 0) + g * b.get(k, 0) for k in a.keys() | b.keys()}
                for a in touching
                for b in basis
                if b is not a
                for f, g in ((1, 1), (1, -1), (-1, 1), (-1, -1))
            ),
        )
        if any(fits(move) for move in moves):
            continue
        lo, hi = domains[cell]
        v = truth[cell]
        budget = [20_000]
        if not any(
            low <= high and feasible({**domains, cell: (low, high)}, reach, truth, budget)
            for low, high in ((lo, v - 1), (v + 1, hi))
        ):
            out.add(cell)
    return out


def has_alternative(
    published: Published, lines: Sequence[Line], truth: dict[Hashable, int], cell: Hashable
) -> bool:
    """Whether whole numbers within the marks' bounds satisfy every line
    with *cell* other than its true value (see :func:`pinned`)."""
    return not pinned(published, lines, truth, [cell])


def assert_protected(
    truth: dict[Hashable, int],
    lines: Sequence[Line],
    published: Published,
    unshown: frozenset[Hashable] = frozenset(),
) -> None:
    """Nothing withheld that is not 0 can be worked out, by any of the three;
    nor a count no table shows (*unshown*) that is below the threshold."""
    withheld = {
        k
        for k, v in truth.items()
        if published.status(k) is not Status.PUBLISHED and v != 0 and (k not in unshown or v < T)
    }
    for key, value in published.numbers.items():
        assert truth[key] == value
    for key in truth:
        if 0 < truth[key] < T:
            assert published.status(key) is not Status.PUBLISHED, key
    assert not unshown & set(published.numbers)
    assert not withheld & set(by_subtraction(published, lines)), by_subtraction(published, lines)
    assert not withheld & by_linear_algebra(published, lines)
    assert not pinned(published, lines, truth, sorted(withheld, key=repr))


# -- tables ------------------------------------------------------------------------------------


def two_way(cells: Sequence[Sequence[int]], s: Suppression) -> list[Line]:
    """A table with row and column totals and a grand total, as lines."""
    lines = []
    rows, cols = len(cells), len(cells[0])
    for i in range(rows):
        for j in range(cols):
            s.add(("c", i, j), cells[i][j])
    for i in range(rows):
        s.add(("r", i), sum(cells[i]))
        lines.append(Line(("r", i), tuple(("c", i, j) for j in range(cols))))
    for j in range(cols):
        s.add(("k", j), sum(row[j] for row in cells))
        lines.append(Line(("k", j), tuple(("c", i, j) for i in range(rows))))
    s.add("g", sum(map(sum, cells)))
    lines.append(Line("g", tuple(("r", i) for i in range(rows))))
    lines.append(Line("g", tuple(("k", j) for j in range(cols))))
    for line in lines:
        s.add_line(line.total, line.parts)
    return lines


def solve(cells: Sequence[Sequence[int]]) -> tuple[dict[Hashable, int], list[Line], Published]:
    s = Suppression(T)
    lines = two_way(cells, s)
    return dict(s.values), lines, s.solve()


def test_the_reviewers_table_cannot_be_undone_by_subtraction() -> None:
    # 4 cases at one förvaltning, 1 at another: "5", "4", "<3" told the 1.
    s = Suppression(T)
    s.add_all({"kof": 4, "sbf": 1, "kommun": 5})
    s.add_line("kommun", ["kof", "sbf"])
    published = s.solve()
    assert [published.shown(k) for k in ("kof", "sbf", "kommun")] == [HIDDEN, "<3", 5]
    truth: dict[Hashable, int] = {"kof": 4, "sbf": 1, "kommun": 5}
    assert_protected(truth, [Line("kommun", ("kof", "sbf"))], published)


def test_without_secondary_suppression_the_attackers_win() -> None:
    # The checkers are no tautology: primary suppression alone is undone.
    truth: dict[Hashable, int] = {"kof": 4, "sbf": 1, "kommun": 5}
    lines = [Line("kommun", ("kof", "sbf"))]
    primary_only = Published(T, {"kof": Status.PUBLISHED, "sbf": Status.PRIMARY, "kommun": Status.PUBLISHED},
                             {"kof": 4, "kommun": 5})  # fmt: skip
    assert by_subtraction(primary_only, lines) == {"sbf": 1}
    assert by_linear_algebra(primary_only, lines) == {"sbf"}
    assert not has_alternative(primary_only, lines, truth, "sbf")
    # "<3" beside a secondary "..": 4 = x + y with x in 1..2 and y >= 3 pins x = 1.
    both = Published(T, {"kof": Status.SECONDARY, "sbf": Status.PRIMARY, "kommun": Status.PUBLISHED},
                     {"kommun": 4})  # fmt: skip
    small: dict[Hashable, int] = {"kof": 3, "sbf": 1, "kommun": 4}
    assert not has_alternative(both, lines, small, "sbf")


def test_a_total_of_3_from_3_and_1_withholds_more() -> None:
    # 3 + 1 = 4: hiding the 3 is not enough, since ".." is at least 3.
    s = Suppression(T)
    s.add_all({"a": 3, "b": 1, "c": 6, "total": 10})
    s.add_line("total", ["a", "b", "c"])
    published = s.solve()
    assert [published.shown(k) for k in ("a", "b", "c", "total")] == [HIDDEN, "<3", HIDDEN, 10]
    assert_protected({"a": 3, "b": 1, "c": 6, "total": 10}, [Line("total", ("a", "b", "c"))], published)


def test_two_ones_under_a_total_of_two_are_withheld() -> None:
    # "<3" and "<3" under "<3": both at least 1, together at most 2, so 1 and 1.
    s = Suppression(T)
    s.add_all({"a": 1, "b": 1, "c": 0, "total": 2})
    s.add_line("total", ["a", "b", "c"])
    published = s.solve()
    assert [published.shown(k) for k in ("a", "b", "c", "total")] == [HIDDEN, HIDDEN, HIDDEN, "<3"]
    assert all(published.listed(k) for k in "abc")  # the zero too, or ".." would mean "not 0"
    assert_protected({"a": 1, "b": 1, "c": 0, "total": 2}, [Line("total", ("a", "b", "c"))], published)


def test_a_count_twice_is_one_cell() -> None:
    s = Suppression(T)
    s.add("x", 4)
    s.add("x", 4)
    with pytest.raises(ValueError, match="counted twice"):
        s.add("x", 5)
    with pytest.raises(ValueError, match="never negative"):
        s.add("y", -1)
    s.add("y", 1)
    with pytest.raises(ValueError, match="add up to 5"):
        s.add_line("x", ["x", "y"])


def test_a_threshold_of_1_publishes_everything() -> None:
    s = Suppression(1)
    lines = two_way([[1, 2], [0, 5]], s)
    published = s.solve()
    assert all(published.status(m) is Status.PUBLISHED for line in lines for m in line.members)


@pytest.mark.parametrize(
    "cells",
    [
        [[4, 1]],
        [[1, 1, 5]],
        [[1, 1], [1, 1]],
        [[2, 0], [0, 1]],
        [[5, 1, 0], [7, 0, 2], [0, 3, 9]],
        [[1]],
        [[0, 0], [0, 0]],
        [[1, 1, 1]],
        [[10, 20], [30, 40]],
    ],
)
def test_small_tables(cells: list[list[int]]) -> None:
    truth, lines, published = solve(cells)
    assert_protected(truth, lines, published)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 4).flatmap(
        lambda cols: st.lists(
            st.lists(st.sampled_from([0, 0, 1, 1, 2, 3, 4, 5, 8, 13]), min_size=cols, max_size=cols),
            min_size=1,
            max_size=4,
        )
    )
)
def test_no_withheld_count_of_a_two_way_table_can_be_worked_out(cells: list[list[int]]) -> None:
    truth, lines, published = solve(cells)
    assert_protected(truth, lines, published)


@st.composite
def linked_tables(draw: st.DrawFn) -> tuple[list[int], list[list[list[int]]], list[int]]:
    """Two or three tables that break the same row totals down in different
    ways (by kind, by channel, by unit), like a report's, and per row a count
    of some of its cases (forwarded, say) whose rest no table shows."""
    row_totals = draw(st.lists(st.sampled_from([0, 1, 2, 3, 4, 6, 9]), min_size=1, max_size=4))
    tables = []
    for _ in range(draw(st.integers(2, 3))):
        cols = draw(st.integers(1, 3))
        table = []
        for total in row_totals:
            cuts = sorted(draw(st.lists(st.integers(0, total), min_size=cols - 1, max_size=cols - 1)))
            table.append([b - a for a, b in itertools.pairwise([0, *cuts, total])])
        tables.append(table)
    subsets = [draw(st.integers(0, total)) for total in row_totals]
    return row_totals, tables, subsets


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(linked_tables())
def test_no_withheld_count_of_linked_tables_can_be_worked_out(
    drawn: tuple[list[int], list[list[list[int]]], list[int]],
) -> None:
    row_totals, tables, subsets = drawn
    s = Suppression(T)
    lines: list[Line] = []
    rows = range(len(row_totals))
    for i, total in enumerate(row_totals):
        s.add(("r", i), total)
    s.add("g", sum(row_totals))
    lines.append(Line("g", tuple(("r", i) for i in rows)))
    for n, table in enumerate(tables):
        cols = len(table[0])
        for i, row in enumerate(table):
            for j, v in enumerate(row):
                s.add((n, i, j), v)
            lines.append(Line(("r", i), tuple((n, i, j) for j in range(cols))))
        for j in range(cols):
            s.add((n, "k", j), sum(row[j] for row in table))
            lines.append(Line((n, "k", j), tuple((n, i, j) for i in rows)))
        lines.append(Line("g", tuple((n, "k", j) for j in range(cols))))
    # Some of each row's cases, shown, and the rest, not: like "forwarded".
    for i, part in enumerate(subsets):
        s.add(("s", i), part)
        s.add(("rest", i), row_totals[i] - part, shown=False)
        lines.append(Line(("r", i), (("s", i), ("rest", i))))
    s.add("s", sum(subsets))
    s.add("rest", sum(row_totals) - sum(subsets), shown=False)
    lines.append(Line("s", tuple(("s", i) for i in rows)))
    lines.append(Line("g", ("s", "rest")))
    for line in lines:
        s.add_line(line.total, line.parts)
    unshown = frozenset({("rest", i) for i in rows} | {"rest"})
    assert_protected(dict(s.values), lines, s.solve(), unshown)


def test_the_rest_of_a_subset_is_protected_though_no_table_shows_it() -> None:
    # 5 cases of which 4 were forwarded: 1 was not, though no table says so.
    s = Suppression(T)
    s.add_all({"cases": 5, "forwarded": 4})
    s.add("not forwarded", 1, shown=False)
    s.add_line("cases", ["forwarded", "not forwarded"])
    published = s.solve()
    assert published.shown("cases") == 5
    assert published.shown("forwarded") == HIDDEN
    truth: dict[Hashable, int] = {"cases": 5, "forwarded": 4, "not forwarded": 1}
    lines = [Line("cases", ("forwarded", "not forwarded"))]
    assert_protected(truth, lines, published, frozenset({"not forwarded"}))


def test_a_large_rest_needs_no_protection() -> None:
    # 10 cases of which 2 were forwarded: "<3", and the 8 others tell nothing.
    s = Suppression(T)
    s.add_all({"cases": 10, "forwarded": 2})
    s.add("not forwarded", 8, shown=False)
    s.add_line("cases", ["forwarded", "not forwarded"])
    published = s.solve()
    assert [published.shown(k) for k in ("cases", "forwarded")] == [10, "<3"]
    with pytest.raises(ValueError, match="cannot be a line's total"):
        s.add_line("not forwarded", [])

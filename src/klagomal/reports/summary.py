"""Per-tertial counts of feedback: the first, small report.

Tertials (T1 = January–April, T2 = May–August, T3 = September–December)
match the routine's "at least three times a year" feedback to staff (R17).
Counts are by kind, quality dimension, förvaltning and channel (R16, R32).
Labels are Swedish; identifiers stay the stable ids.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping

import attrs

from klagomal.core.i18n import _, ngettext
from klagomal.core.model import Case, Kind

__all__ = ["TertialSummary", "summarise_by_tertial", "tertial_of"]


def tertial_of(day: dt.date) -> int:
    """1, 2 or 3: the tertial *day* falls in."""
    return (day.month - 1) // 4 + 1


@attrs.frozen
class TertialSummary:
    """Counts per tertial of one year; each mapping is tertial → id → count."""

    year: int
    total: Mapping[int, int]
    by_kind: Mapping[int, Counter[str]]
    by_dimension: Mapping[int, Counter[str]]
    by_department: Mapping[int, Counter[str]]
    by_channel: Mapping[int, Counter[str]]

    def to_json(self) -> dict[str, object]:
        """Plain JSON-ready data, tertials as ``"2026-T1"``."""

        def per(counts: Mapping[int, Counter[str]]) -> dict[str, dict[str, int]]:
            return {f"{self.year}-T{t}": dict(sorted(c.items())) for t, c in counts.items()}

        return {
            "year": self.year,
            "total": {f"{self.year}-T{t}": n for t, n in self.total.items()},
            "kind": per(self.by_kind),
            "dimension": per(self.by_dimension),
            "department": per(self.by_department),
            "channel": per(self.by_channel),
        }

    def render(self, labels: Mapping[str, Mapping[str, str]]) -> str:
        """A plain-text table per grouping.  *labels* maps a grouping name
        (``kind``, ``dimension``, ``department``, ``channel``) to id → label."""
        heads = [f"T{t}" for t in (1, 2, 3)] + [_("År")]
        sections = [
            (_("Typ"), "kind", self.by_kind),
            (_("Kvalitetsdimension"), "dimension", self.by_dimension),
            (_("Förvaltning"), "department", self.by_department),
            (_("Kanal"), "channel", self.by_channel),
        ]
        lines: list[str] = []
        for title, key, counts in sections:
            names = {i: labels.get(key, {}).get(i, i) for c in counts.values() for i in c}
            # Most first; equal totals by label, so that the order never
            # depends on the process's hash seed.
            ids = sorted(names, key=lambda i: (-sum(c[i] for c in counts.values()), names[i]))
            width = max([len(title), *(len(n) for n in names.values())])
            lines.append(f"{title:<{width}}  " + "  ".join(f"{h:>5}" for h in heads))
            for i in ids:
                row = [counts[t][i] for t in (1, 2, 3)]
                lines.append(f"{names[i]:<{width}}  " + "  ".join(f"{n:>5}" for n in [*row, sum(row)]))
            lines.append("")
        total = [self.total[t] for t in (1, 2, 3)]
        lines.append(
            ngettext(
                "Totalt {year}: {n} ärende (T1 {t1}, T2 {t2}, T3 {t3})",
                "Totalt {year}: {n} ärenden (T1 {t1}, T2 {t2}, T3 {t3})",
                sum(total),
            ).format(year=self.year, n=sum(total), t1=total[0], t2=total[1], t3=total[2])
        )
        return "\n".join(lines)


def summarise_by_tertial(cases: Iterable[Case], year: int) -> TertialSummary:
    """Count the cases *received* in *year* per tertial.

    The department counted is the one the case ended up with, so forwarded
    feedback is counted where it was handled (R12).  A case with several
    dimensions counts once for each.
    """
    tertials = (1, 2, 3)
    total: dict[int, int] = dict.fromkeys(tertials, 0)
    by_kind: dict[int, Counter[str]] = {t: Counter() for t in tertials}
    by_dimension: dict[int, Counter[str]] = {t: Counter() for t in tertials}
    by_department: dict[int, Counter[str]] = {t: Counter() for t in tertials}
    by_channel: dict[int, Counter[str]] = {t: Counter() for t in tertials}
    for case in cases:
        if case.received.year != year:
            continue
        t = tertial_of(case.received)
        total[t] += 1
        by_kind[t][case.kind.value] += 1
        by_dimension[t].update(case.dimensions)
        by_department[t][case.department] += 1
        by_channel[t][case.channel] += 1
    for t in tertials:  # every kind shows, even with no cases
        for kind in Kind:
            by_kind[t][kind.value] += 0
    return TertialSummary(year, total, by_kind, by_dimension, by_department, by_channel)

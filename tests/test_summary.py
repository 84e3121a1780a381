"""The per-tertial summary that the demo prints (R16, R17, R32)."""

from __future__ import annotations

import datetime as dt

from conftest import register_case
from klagomal import FixedClock, Klagomal
from klagomal.reports.summary import summarise_by_tertial, tertial_of


def test_tertials_are_january_april_may_august_september_december() -> None:
    # R17: at least three reports a year, one per tertial.
    assert [tertial_of(dt.date(2026, m, 1)) for m in range(1, 13)] == [1] * 4 + [2] * 4 + [3] * 4
    assert tertial_of(dt.date(2026, 4, 30)) == 1
    assert tertial_of(dt.date(2026, 5, 1)) == 2
    assert tertial_of(dt.date(2026, 12, 31)) == 3


def test_counts_by_kind_dimension_department_and_channel(k: Klagomal, clock: FixedClock) -> None:
    clock.set(dt.date(2026, 4, 30))
    a = register_case(k, channel="telefon", dimensions=["bemotande", "kompetens"])
    clock.set(dt.date(2026, 5, 4))
    register_case(k, kind="berom", channel="svarskort", unit="kof-bibliotek", contact=None)
    b = register_case(k, kind="forslag", channel="epost", unit="kof-badhus", dimensions=["inflytande"])
    # R12: a forwarded case counts where it ended up.
    k.forward(b.reference, "sbf-gatapark-park")
    clock.set(dt.date(2027, 1, 4))
    register_case(k)  # another year: not counted

    summary = summarise_by_tertial(k.cases(), 2026)
    assert summary.total == {1: 1, 2: 2, 3: 0}
    assert dict(summary.by_kind[1]) == {"klagomal": 1, "forslag": 0, "berom": 0}
    assert dict(summary.by_kind[2]) == {"klagomal": 0, "forslag": 1, "berom": 1}
    # A case with two dimensions counts once for each (R16).
    assert dict(summary.by_dimension[1]) == {"bemotande": 1, "kompetens": 1}
    assert dict(summary.by_department[2]) == {"kof": 1, "sbf": 1}
    # R32: channels differ in how much they bring, so each is counted.
    assert dict(summary.by_channel[2]) == {"svarskort": 1, "epost": 1}
    assert a.reference.startswith("2026-")

    data = summary.to_json()
    assert data["total"] == {"2026-T1": 1, "2026-T2": 2, "2026-T3": 0}
    assert data["channel"]["2026-T2"] == {"epost": 1, "svarskort": 1}


def test_render_uses_swedish_labels_and_yearly_totals(k: Klagomal, clock: FixedClock) -> None:
    register_case(k, channel="webbformular", dimensions=["tillganglighet"])
    text = summarise_by_tertial(k.cases(), 2026).render(
        {
            "kind": {"klagomal": "Klagomål", "forslag": "Förslag", "berom": "Beröm"},
            "dimension": {"tillganglighet": "Tillgång och tillgänglighet"},
            "department": {"soc": "Socialförvaltningen"},
            "channel": {"webbformular": "Webbformulär"},
        }
    )
    lines = text.splitlines()
    assert lines[0].split() == ["Typ", "T1", "T2", "T3", "År"]
    assert lines[1].split() == ["Klagomål", "1", "0", "0", "1"]
    assert "Tillgång och tillgänglighet      1      0      0      1" in text
    assert lines[-1] == "Totalt 2026: 1 ärende (T1 1, T2 0, T3 0)"


def test_equal_totals_are_ordered_by_label_in_every_process() -> None:
    # Eight channels with one case each: any order but the labels' would show.
    from collections import Counter

    from klagomal.reports.summary import TertialSummary

    channels = {f"k{n}": f"Kanal {chr(ord('H') - n)}" for n in range(8)}
    counts = {1: Counter(dict.fromkeys(channels, 1)), 2: Counter(), 3: Counter()}
    empty = {t: Counter[str]() for t in (1, 2, 3)}
    summary = TertialSummary(2026, {1: 8, 2: 0, 3: 0}, empty, empty, empty, counts)
    lines = summary.render({"channel": channels}).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Kanal "))
    assert [line.split()[1] for line in lines[start + 1 : start + 9]] == list("ABCDEFGH")

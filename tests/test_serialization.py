"""Export and import of the whole database (events are the source of truth)."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import register_case
from klagomal import Contact, FixedClock, InvalidInputError, Klagomal, KlagomalError
from klagomal.core.events import EVENT_TYPES
from klagomal.core.location import Location
from klagomal.core.serialization import EXPORT_VERSION, EXPORT_VERSIONS

RESPOND_BY = dt.date(2026, 3, 27)


@pytest.fixture
def fresh(tmp_path: Any, clock: FixedClock) -> Iterator[Klagomal]:
    """A second, empty database to import into."""
    k = Klagomal(f"sqlite:///{tmp_path / 'fresh.db'}", clock=clock, load_entrypoints=False)
    k.init()
    yield k
    k.dispose()


def _populate(k: Klagomal, clock: FixedClock) -> None:
    """A varied database: every event type, anonymous, dimensions, several years."""
    # A complaint that goes all the way to the nämnd.
    ref = register_case(k, dimensions=["bemotande", "kompetens"], actor="reception").reference
    k.forward(ref, "soc-aldre-solgarden", actor="reception")
    k.inform(ref, "Ärendet är hos Solgården")
    k.acknowledge(ref, "Maria", RESPOND_BY)
    k.record_action(ref, "Samtal")
    clock.set(dt.date(2026, 3, 20))
    k.pause(ref, "Väntar på läkarintyg")
    clock.set(dt.date(2026, 3, 24))
    k.resume(ref)  # two working days paused: due 2026-03-31
    clock.set(dt.date(2026, 4, 2))
    k.postpone(ref, dt.date(2026, 4, 15), "Semester")  # late
    k.answer(ref, "skriftligt", "Vi ber om ursäkt")
    k.close(ref, False)
    k.escalate(ref, "Inte nöjd")
    k.acknowledge(ref, "Socialchefen", dt.date(2026, 4, 30))
    k.answer(ref, "muntligt", "Samtal")
    k.close(ref, False)
    k.escalate(ref, "Fortfarande inte nöjd")
    # Anonymous, serious, closed without an answer.
    anon = register_case(k, channel="svarskort", contact=None, serious=True, dimensions=["tillganglighet"])
    k.acknowledge(anon.reference, anon.handler or "Chefen", dt.date(2026, 4, 20))
    k.close(anon.reference, None)
    # Praise, reclassified from a suggestion, passed on.
    praise = register_case(k, kind="forslag", channel="epost", contact=Contact(email="a@b.se", phone="070"))
    k.reclassify(praise.reference, "berom", "Det var beröm")
    k.pass_on_praise(praise.reference, ["Lisa", "Omar"], "Tack!")
    # Next year, received in the old one.
    clock.set(dt.date(2027, 1, 4))
    register_case(k, kind="forslag", channel="webbformular", received=dt.date(2026, 12, 28))
    last = register_case(k, channel="telefonsvarare", contact=Contact(address="Storgatan 1")).reference
    k.acknowledge(last, "Nils", dt.date(2027, 1, 20))
    # R3: the person is also told how to appeal a decision.
    k.guide(
        last,
        "overklagande",
        "Skicka överklagandet till nämnden.",
        decision="Beslut om färdtjänst",
        appeal_to="Omsorgsnämnden",
        notified=dt.date(2027, 1, 4),
    )
    # The person writes again by e-mail, naming the case in the subject; the
    # case has no address to know her by, so a handler takes it in. And a
    # visitor's complaint is put right at once (R14).
    reply = (
        f"From: Anna <anna@example.se>\nSubject: SV: ärende {last}\nMessage-ID: <svar-1@example.se>\n\n"
        "Jag har fått beslutet nu.\n"
    )
    assert k.receive_email(reply.encode()).outcome == "quarantined"
    [held] = k.received_messages(outcomes=["quarantined"])
    assert k.release_from_quarantine(held.id or 0).outcome == "reply"
    k.resolve_at_once("2027-00001", "Ringde upp och svarade direkt.", "Handläggare Ola")
    # R27: the register description, and secrecy marked, for a part and for the whole, and lifted.
    k.describe(last, "Synpunkt på färdtjänstbeslut")
    k.mark_secret(last, "OSL 26 kap. 1 §", parts=[1], reason="Uppgifter om hälsa")
    k.mark_secret(ref, "OSL 26 kap. 1 §")
    k.lift_secrecy(ref, "Prövat vid begäran om utlämnande")
    # Issue 19: a chef appoints another handler (tilldelning).
    k.assign(last, "omar.ali")
    # Issue 21: where the case is about, set after registration.
    k.locate(last, Location(latitude=59.3293, longitude=18.0686, address="Stortorget"))
    # R28: a flag for threatening treatment, set and lifted, and one left set.
    k.flag_threat(last, "hotfullt", about="kontakt", reason="Hotade handläggaren i telefon.")
    k.lift_threat_flag(last, "Utrett med personen.")
    k.flag_threat(ref, "krankande", about="arende", reason="Kränkande ord i mejlet.")
    # Issue 19: an internal note, a document attached, and the contact corrected.
    k.add_note(last, "Anna ringde och bad om kopia av beslutet.")
    k.attach(last, b"%PDF-1.4 beslut", filename="beslut.pdf")
    k.correct_contact(last, email="anna@example.se", reason="Anna ringde")
    # The public list of answered cases: the case resolved at once published, and withdrawn.
    k.publish("2027-00001")
    k.unpublish("2027-00001", "Personen bad oss ta bort det.")


def _case_count(k: Klagomal) -> int:
    return len(k.cases())


def test_export_covers_every_event_type(k: Klagomal, clock: FixedClock) -> None:
    _populate(k, clock)
    data = k.export()
    types = {e["data"]["type"] for case in data["cases"] for e in case["events"]}
    assert types == set(EVENT_TYPES)
    assert data["references"] == {"2026": 3, "2027": 2}
    assert [c["reference"] for c in data["cases"]] == [
        "2026-00001",
        "2026-00002",
        "2026-00003",
        "2027-00001",
        "2027-00002",
    ]


def test_export_import_export_identical(k: Klagomal, fresh: Klagomal, clock: FixedClock) -> None:
    _populate(k, clock)
    exported = k.export()
    # The export is JSON: import what a file would hold.
    assert fresh.import_(json.loads(json.dumps(exported, ensure_ascii=False))) == 5
    assert fresh.export() == exported
    for case in k.cases():
        ref = case.reference
        assert fresh.get(ref) == case
        assert fresh.history(ref) == k.history(ref)
        assert fresh.notices(ref) == k.notices(ref)
        assert fresh.rebuild(ref) == case
    assert fresh.notices("2026-00002") == []  # the anonymous case


def test_import_twice_refused_and_changes_nothing(k: Klagomal, fresh: Klagomal, clock: FixedClock) -> None:
    _populate(k, clock)
    exported = k.export()
    fresh.import_(exported)
    before = fresh.export()
    with pytest.raises(KlagomalError, match="2026-00001"):
        fresh.import_(exported)
    assert _case_count(fresh) == 5
    assert fresh.export() == before


def test_import_is_all_or_nothing(k: Klagomal, fresh: Klagomal, clock: FixedClock) -> None:
    _populate(k, clock)
    exported = k.export()
    # The new database already has one of the cases; the others must not be
    # written either.
    fresh.import_({**exported, "cases": exported["cases"][2:3], "received": []})
    assert _case_count(fresh) == 1
    with pytest.raises(KlagomalError, match="2026-00003"):
        fresh.import_(exported)
    assert [c.reference for c in fresh.cases()] == ["2026-00003"]


def _corrupt(data: dict[str, Any], case_index: int, event_index: int, **changes: Any) -> dict[str, Any]:
    broken = copy.deepcopy(data)
    payload = broken["cases"][case_index]["events"][event_index]["data"]
    for key, value in changes.items():
        if value is None:
            del payload[key]
        else:
            payload[key] = value
    return broken


@pytest.mark.parametrize(
    ("case_index", "event_index", "changes", "message"),
    [
        (1, 1, {"respond_by": "inte ett datum"}, None),
        (1, 1, {"handler": None}, None),
        (1, 1, {"type": "deleted"}, None),
        (2, 0, {"kind": "klagomål"}, None),
        (3, 0, {"channel": "fax"}, "fax"),
        (2, 0, {"dimensions": ["trygghet"]}, "trygghet"),
        (4, 0, {"unit": "finns-inte", "department": "finns-inte"}, "finns-inte"),
    ],
)
def test_bad_import_names_case_and_step(
    k: Klagomal,
    fresh: Klagomal,
    clock: FixedClock,
    case_index: int,
    event_index: int,
    changes: dict[str, Any],
    message: str | None,
) -> None:
    _populate(k, clock)
    exported = k.export()
    reference = exported["cases"][case_index]["reference"]
    with pytest.raises(InvalidInputError) as info:
        fresh.import_(_corrupt(exported, case_index, event_index, **changes))
    assert info.value.step == "import"
    assert info.value.reference == reference
    assert reference in str(info.value)
    if message:
        assert message in str(info.value)
    assert _case_count(fresh) == 0
    assert fresh.export()["references"] == {}


def test_import_refuses_gaps_and_foreign_events(k: Klagomal, fresh: Klagomal, clock: FixedClock) -> None:
    _populate(k, clock)
    exported = k.export()
    gap = copy.deepcopy(exported)
    del gap["cases"][0]["events"][3]
    with pytest.raises(InvalidInputError, match="2026-00001"):
        fresh.import_(gap)
    foreign = copy.deepcopy(exported)
    foreign["cases"][0]["events"][2]["reference"] = "2026-00002"
    with pytest.raises(InvalidInputError, match="2026-00001"):
        fresh.import_(foreign)
    empty = copy.deepcopy(exported)
    empty["cases"][1]["events"] = []
    with pytest.raises(InvalidInputError) as info:
        fresh.import_(empty)
    assert info.value.reference == "2026-00002"
    assert _case_count(fresh) == 0


def test_import_refuses_other_formats(fresh: Klagomal) -> None:
    with pytest.raises(InvalidInputError) as info:
        fresh.import_({"format": "klagomal-export", "version": 99, "cases": []})
    assert info.value.step == "import"
    with pytest.raises(InvalidInputError, match="filen är ingen klagomal-export"):
        fresh.import_({"cases": []})


def test_an_export_is_written_in_the_newest_version(k: Klagomal) -> None:
    # The version says which parts a file may carry (serialization.EXPORT_VERSION).
    assert (EXPORT_VERSION, EXPORT_VERSIONS[-1]) == (4, 4)
    assert list(EXPORT_VERSIONS) == list(range(1, EXPORT_VERSION + 1))
    assert (k.export()["format"], k.export()["version"]) == ("klagomal-export", 4)
    stream = io.StringIO()
    k.export_to(stream)
    assert json.loads(stream.getvalue())["version"] == 4


@pytest.mark.parametrize("version", EXPORT_VERSIONS)
def test_every_known_version_is_read(k: Klagomal, fresh: Klagomal, clock: FixedClock, version: int) -> None:
    _populate(k, clock)
    exported = k.export()
    assert fresh.import_({**exported, "version": version}) == len(exported["cases"])
    if version > 1:  # version 1 predates delivery: its pending notices become manual
        assert fresh.export() == exported


KNOWN = "1, 2, 3 och 4"
REFUSED_VERSIONS = [
    pytest.param(
        EXPORT_VERSION + 1,
        f"version 5, som är nyare än vad den här versionen av klagomal kan läsa (version {KNOWN})",
        id="newer",
    ),
    pytest.param(
        99,
        f"version 99, som är nyare än vad den här versionen av klagomal kan läsa (version {KNOWN})",
        id="much-newer",
    ),
    pytest.param(0, f"okänd version 0 (kända versioner: {KNOWN})", id="zero"),
    pytest.param(-2, f"okänd version -2 (kända versioner: {KNOWN})", id="negative"),
    pytest.param("3", f'okänd version "3" (kända versioner: {KNOWN})', id="text"),
    pytest.param(2.0, f"okänd version 2.0 (kända versioner: {KNOWN})", id="decimal"),
    pytest.param(True, f"okänd version true (kända versioner: {KNOWN})", id="boolean"),
    pytest.param(None, f"okänd version null (kända versioner: {KNOWN})", id="null"),
]


@pytest.mark.parametrize(("version", "message"), REFUSED_VERSIONS)
def test_a_version_this_code_does_not_know_is_refused_and_nothing_is_written(
    k: Klagomal, fresh: Klagomal, clock: FixedClock, version: Any, message: str
) -> None:
    _populate(k, clock)
    register_case(fresh)  # the target is not empty; it must stay as it is
    before = fresh.export()
    with pytest.raises(InvalidInputError) as info:
        fresh.import_({**k.export(), "version": version})
    assert str(info.value).startswith("steg 'importera': filen är en klagomal-export av ")
    assert message in str(info.value)
    assert info.value.step == "import"
    assert fresh.export() == before


def test_reference_counters_continue_after_import(k: Klagomal, fresh: Klagomal, clock: FixedClock) -> None:
    _populate(k, clock)
    fresh.import_(k.export())
    clock.set(dt.date(2027, 2, 1))
    assert register_case(fresh).reference == "2027-00003"
    clock.set(dt.date(2026, 12, 30))
    assert register_case(fresh).reference == "2026-00004"
    clock.set(dt.date(2028, 1, 3))
    assert register_case(fresh).reference == "2028-00001"


def test_import_keeps_higher_local_counters(k: Klagomal, fresh: Klagomal, clock: FixedClock) -> None:
    _populate(k, clock)
    exported = k.export()
    # The target already numbered further in 2027 than the export did.
    for _ in range(4):
        register_case(fresh)  # 2027-00001 .. 2027-00004 would collide with the export
    clock.set(dt.date(2026, 6, 1))
    only_2026 = {**exported, "cases": exported["cases"][:3], "references": {"2026": 3}, "received": []}
    fresh.import_(only_2026)
    assert register_case(fresh).reference == "2026-00004"
    clock.set(dt.date(2027, 1, 4))
    assert register_case(fresh).reference == "2027-00005"


def test_empty_export_round_trip(k: Klagomal, fresh: Klagomal) -> None:
    exported = k.export()
    assert exported["cases"] == []
    assert fresh.import_(exported) == 0
    assert fresh.export() == exported


def test_import_refuses_unknown_department(k: Klagomal, fresh: Klagomal) -> None:
    ref = register_case(k).reference
    broken = _corrupt(k.export(), 0, 0, department="finns-inte")
    with pytest.raises(InvalidInputError) as info:
        fresh.import_(broken)
    assert info.value.reference == ref
    assert _case_count(fresh) == 0


def test_notices_and_their_status_survive_the_round_trip(
    k: Klagomal, fresh: Klagomal, clock: FixedClock
) -> None:
    _populate(k, clock)
    exported = k.export()
    # A notice already sent must not be owed again after an import.
    with k.storage.engine.begin() as conn:
        conn.execute(sa.text("UPDATE notices SET status = 'sent' WHERE seq = 2"))
    exported = k.export()
    statuses = {(c["reference"], n["seq"]): n["status"] for c in exported["cases"] for n in c["notices"]}
    assert "sent" in statuses.values()
    fresh.import_(exported)
    assert fresh.export() == exported


def test_import_without_notice_records_derives_them(k: Klagomal, fresh: Klagomal, clock: FixedClock) -> None:
    _populate(k, clock)
    exported = k.export()
    old_style = copy.deepcopy(exported)
    for case in old_style["cases"]:
        del case["notices"]
    fresh.import_(old_style)
    for case in k.cases():
        assert fresh.notices(case.reference) == k.notices(case.reference)


def test_notice_for_missing_event_refused(k: Klagomal, fresh: Klagomal, clock: FixedClock) -> None:
    _populate(k, clock)
    broken = copy.deepcopy(k.export())
    broken["cases"][0]["notices"].append({"seq": 99, "kind": "svar", "status": "pending"})
    with pytest.raises(InvalidInputError) as info:
        fresh.import_(broken)
    assert (info.value.step, info.value.reference) == ("import", "2026-00001")
    assert _case_count(fresh) == 0


def test_duplicate_notice_refused_as_invalid_input(k: Klagomal, fresh: Klagomal, clock: FixedClock) -> None:
    _populate(k, clock)
    broken = copy.deepcopy(k.export())
    broken["cases"][0]["notices"].append(dict(broken["cases"][0]["notices"][0]))
    try:
        with pytest.raises(InvalidInputError) as info:
            fresh.import_(broken)
        assert (info.value.step, info.value.reference) == ("import", "2026-00001")
    finally:
        assert _case_count(fresh) == 0


@pytest.mark.parametrize(
    ("case_index", "notice"),
    [
        (1, {"seq": 2, "kind": "besked", "status": "pending"}),  # the anonymous case
        (0, {"seq": 1, "kind": "svar", "status": "pending"}),  # 'registered' owes no notice
        (4, {"seq": 2, "kind": "reklam", "status": "pending"}),
    ],
)
def test_notices_that_the_events_do_not_owe_refused(
    k: Klagomal, fresh: Klagomal, clock: FixedClock, case_index: int, notice: dict[str, Any]
) -> None:
    _populate(k, clock)
    broken = copy.deepcopy(k.export())
    notices = broken["cases"][case_index]["notices"]
    broken["cases"][case_index]["notices"] = [n for n in notices if n["seq"] != notice["seq"]] + [notice]
    with pytest.raises(InvalidInputError):
        fresh.import_(broken)
    assert _case_count(fresh) == 0

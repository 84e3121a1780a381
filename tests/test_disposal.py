"""Disposal (gallring) and the redaction GDPR anonymisation shares with it
(klagomal.records.disposal, R27): the rules from the organisation file and their
contradictions, which cases are due, that nothing of what was removed is
left anywhere in the database, and that reports over past periods still add
up afterwards.

The database tests run on SQLite, PostgreSQL and MariaDB (``new_database``).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import EVA, register_case
from klagomal import Contact, FixedClock, Klagomal
from klagomal.cases import lifecycle
from klagomal.core.errors import CaseNotFoundError, ConfigurationError, OrganisationError
from klagomal.core.events import EVENT_TYPES
from klagomal.core.model import Case, CaseState, Kind, Level
from klagomal.core.organisation import _Parser
from klagomal.records.disposal import (
    GDPR_RULE,
    KEPT_FIELDS,
    NAME_MARKER_LENGTH,
    OWN_FIELDS,
    TEXT_FIELDS,
    Action,
    Applied,
    Disposal,
    DisposalRule,
    Planned,
    RedactionResult,
    _identifying,
    _is_personnummer,
    _last_closing_due,
    _personnummer_spellings,
    _Redactor,
    _scrubber,
    _stub,
    _utc,
    add_months,
    anonymise,
    apply,
    check_rules,
    disposed,
    keeping_rule,
    parse_rules,
    plan,
    record,
    redact_case,
)
from klagomal.reports.data import build_report
from klagomal.reports.model import Report
from klagomal.reports.periods import parse_period
from klagomal.storage import tables

DEPARTMENTS = ("klf", "soc", "bou", "sbf", "kof")
DECISION = "KS 2025-11-12 § 45, dnr KS 2025/123"


def rule(
    rule_id: str,
    action: Action,
    months: int = 0,
    *,
    kinds: Sequence[Kind] | None = None,
    departments: Sequence[str] | None = None,
    serious: bool | None = None,
    source: str = "org.toml",
) -> DisposalRule:
    return DisposalRule(
        rule_id,
        DECISION,
        action,
        months,
        None if kinds is None else frozenset(kinds),
        None if departments is None else frozenset(departments),
        serious,
        source,
    )


# -- the rules in the organisation file ---------------------------------------------------------


def parse(text: str) -> tuple[DisposalRule, ...]:
    return parse_rules(_Parser("org.toml"), tomllib.loads(text).get("gallring"), "[[gallring]]", DEPARTMENTS)


def test_rules_are_read_from_the_organisation_file() -> None:
    rules = parse(
        """
        [[gallring]]
        id = "kontakter-24"
        beslut = "KS 2025-11-12 § 45, dnr KS 2025/123"
        atgard = "pseudonymisera_kontakt"
        efter_manader = 24
        allvarliga = false

        [[gallring]]
        id = "berom-12"
        beslut = "KS 2025-11-12 § 45"
        atgard = "ta_bort_texter"
        efter_manader = 12
        typer = ["berom"]

        [[gallring]]
        id = "bevara-allvarliga"
        beslut = "KF 2024-06-10 § 80, arkivbeslut"
        atgard = "bevara"
        typer = ["klagomal"]
        forvaltningar = ["soc", "bou"]
        allvarliga = true
        """
    )
    assert rules == (
        DisposalRule("kontakter-24", DECISION, Action.PSEUDONYMISE_CONTACT, 24, serious=False),
        DisposalRule("berom-12", "KS 2025-11-12 § 45", Action.REMOVE_TEXTS, 12, frozenset({Kind.BEROM})),
        DisposalRule(
            "bevara-allvarliga",
            "KF 2024-06-10 § 80, arkivbeslut",
            Action.KEEP,
            0,
            frozenset({Kind.KLAGOMAL}),
            frozenset({"soc", "bou"}),
            True,
        ),
    )
    assert {r.source for r in rules} == {"org.toml"}
    assert rules[2].label == (
        "bevara-allvarliga: bevara (klagomål; förvaltning bou, soc; bara allvarliga), "
        "enligt KF 2024-06-10 § 80, arkivbeslut"
    )
    assert Action.PSEUDONYMISE_CONTACT.label == "Pseudonymisera kontaktuppgifter"
    assert parse("") == ()
    # The file's rules are one set; with the plugins' they are checked together.
    check_rules(rules)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            'id = "a"\nbeslut = "KS 1"\natgard = "bevara"\nmanader = 3',
            "org.toml: [[gallring]] 'a': okänd nyckel 'manader' (tillåtna nycklar: allvarliga, atgard, "
            "beslut, efter_manader, forvaltningar, id, typer)",
        ),
        (
            'id = "a"\nbeslut = "KS 1"\natgard = "radera"\nefter_manader = 3',
            "org.toml: [[gallring]] 'a': 'atgard' ska vara pseudonymisera_kontakt, ta_bort_texter, "
            "anonymisera, bevara, inte 'radera'",
        ),
        (
            'id = "a"\nbeslut = "KS 1"\natgard = "ta_bort_texter"\nefter_manader = -1',
            "org.toml: [[gallring]] 'a': 'efter_manader' ska vara ett tal från 0 till 1200, inte -1",
        ),
        (
            'id = "a"\nbeslut = "KS 1"\natgard = "ta_bort_texter"\nefter_manader = 1.5',
            "org.toml: [[gallring]] 'a': 'efter_manader' ska vara ett heltal",
        ),
        (
            'id = "a"\nbeslut = "KS 1"\natgard = "ta_bort_texter"',
            "org.toml: [[gallring]] 'a': obligatorisk nyckel 'efter_manader' saknas (månader efter avslut)",
        ),
        (
            'id = "a"\nbeslut = "KS 1"\natgard = "bevara"\nforvaltningar = ["soc", "vard"]',
            "org.toml: [[gallring]] 'a': 'forvaltningar' innehåller 'vard', som inte är en förvaltning "
            "(förvaltningar: klf, soc, bou, sbf, kof)",
        ),
        (
            'id = "a"\natgard = "ta_bort_texter"\nefter_manader = 12',
            "org.toml: [[gallring]] 'a': obligatorisk nyckel 'beslut' saknas: gallring får bara ske enligt "
            'ett beslut, till exempel "KS 2025-11-12 § 45, dnr KS 2025/123"',
        ),
        (
            'id = "a"\nbeslut = "  "\natgard = "ta_bort_texter"\nefter_manader = 12',
            "org.toml: [[gallring]] 'a': 'beslut' är tom",
        ),
        (
            'beslut = "KS 1"\natgard = "bevara"',
            "org.toml: [[gallring]] nr 1: obligatorisk nyckel 'id' saknas",
        ),
        (
            'id = "Kontakter 24"\nbeslut = "KS 1"\natgard = "bevara"',
            "org.toml: [[gallring]] 'Kontakter 24': ogiltigt id 'Kontakter 24': bara små bokstäver a–z, "
            "siffror och '-' är tillåtna (skriv å, ä, ö som a, a, o), högst 80 tecken",
        ),
        (
            'id = "a"\nbeslut = "KS 1"\natgard = "bevara"\ntyper = ["klagomål"]',
            "org.toml: [[gallring]] 'a': 'typer' innehåller 'klagomål'; giltiga typer är klagomal, "
            "forslag, berom",
        ),
        (
            'id = "a"\nbeslut = "KS 1"\natgard = "bevara"\ntyper = "berom"',
            "org.toml: [[gallring]] 'a': 'typer' ska vara en lista av texter, till exempel "
            '["klagomal", "berom"]',
        ),
        (
            'id = "a"\nbeslut = "KS 1"\natgard = "bevara"\ntyper = []',
            "org.toml: [[gallring]] 'a': 'typer' är tom; utelämna nyckeln för att regeln ska gälla alla",
        ),
        (
            'id = "a"\nbeslut = "KS 1"\natgard = "bevara"\nallvarliga = "ja"',
            "org.toml: [[gallring]] 'a': 'allvarliga' ska vara true eller false, inte 'ja'",
        ),
    ],
    ids=[
        "unknown-key",
        "bad-action",
        "negative-months",
        "fractional-months",
        "missing-months",
        "unknown-department",
        "missing-decision",
        "empty-decision",
        "missing-id",
        "bad-id",
        "unknown-kind",
        "kinds-not-a-list",
        "empty-kinds",
        "serious-not-a-bool",
    ],
)
def test_a_wrong_rule_is_refused_naming_file_rule_and_key(table: str, message: str) -> None:
    with pytest.raises(OrganisationError) as error:
        parse("[[gallring]]\n" + table)
    assert str(error.value) == message


def test_gallring_must_be_an_array_of_tables() -> None:
    with pytest.raises(
        OrganisationError, match=r"^org\.toml: \[\[gallring\]\] ska vara en lista av tabeller"
    ):
        parse('[gallring]\nid = "a"')


def test_a_plugins_rule_is_checked_when_made() -> None:
    # R27: never a disposal without the decision it rests on, wherever the rule comes from.
    with pytest.raises(ConfigurationError) as error:
        DisposalRule("a", " ", Action.ANONYMISE, 12, source="exempel-plugin")
    assert str(error.value) == "gallringsregeln 'a' (exempel-plugin): beslutet som regeln vilar på saknas"
    with pytest.raises(ConfigurationError, match="antalet månader ska vara ett heltal, 0 eller större"):
        DisposalRule("a", DECISION, Action.ANONYMISE, -3, source="exempel-plugin")
    # Plain values are accepted and converted.
    made = DisposalRule("a", DECISION, "anonymisera", 3, ["berom"], ["kof"])  # type: ignore[arg-type]
    assert (made.action, made.kinds, made.departments) == (
        Action.ANONYMISE,
        frozenset({Kind.BEROM}),
        frozenset({"kof"}),
    )


# -- contradictions ------------------------------------------------------------------------------


def test_two_rules_with_one_id_are_refused() -> None:
    first = rule("kontakter", Action.PSEUDONYMISE_CONTACT, 24)
    second = rule("kontakter", Action.REMOVE_TEXTS, 12, source="arkiv-plugin")
    with pytest.raises(ConfigurationError) as error:
        check_rules([first, second])
    assert str(error.value) == (
        "Två gallringsregler har samma id 'kontakter': en från org.toml och en från arkiv-plugin. "
        "Ge dem olika id."
    )


def test_the_same_action_after_different_times_for_the_same_cases_is_refused() -> None:
    a = rule("kontakter-24", Action.PSEUDONYMISE_CONTACT, 24)
    b = rule("kontakter-soc", Action.PSEUDONYMISE_CONTACT, 36, departments=["soc"], source="soc-plugin")
    with pytest.raises(ConfigurationError) as error:
        check_rules([a, b])
    assert str(error.value) == (
        "Gallringsregeln 'kontakter-24' (org.toml) och gallringsregeln 'kontakter-soc' (soc-plugin) ska "
        "båda pseudonymisera kontaktuppgifter i samma ärenden (alla typer; förvaltning soc; allvarliga "
        "och andra) men efter olika tid, 24 och 36 månader, så det är oklart vilken som gäller. "
        "Avgränsa en av dem (typer, forvaltningar, allvarliga) eller ange samma tid."
    )


def test_a_keep_rule_overlapping_a_removing_rule_is_refused() -> None:
    keep = rule("bevara-allvarliga", Action.KEEP, kinds=[Kind.KLAGOMAL], serious=True)
    remove = rule("texter-12", Action.REMOVE_TEXTS, 12, kinds=[Kind.KLAGOMAL, Kind.FORSLAG])
    for rules in ([keep, remove], [remove, keep]):
        with pytest.raises(ConfigurationError) as error:
            check_rules(rules)
        assert str(error.value) == (
            "Gallringsregeln 'bevara-allvarliga' (org.toml) bevarar ärenden som gallringsregeln "
            "'texter-12' (org.toml) ska ta bort texter (klagomål; alla förvaltningar; bara allvarliga); "
            "ett beslut att bevara går före gallring. Avgränsa en av dem så att de inte gäller samma "
            "ärenden, till exempel med allvarliga = false, typer eller forvaltningar."
        )
    # Narrowed as the message says, they no longer contradict each other.
    narrowed = rule("texter-12", Action.REMOVE_TEXTS, 12, kinds=[Kind.KLAGOMAL, Kind.FORSLAG], serious=False)
    check_rules([keep, narrowed])


def test_a_plugins_rule_naming_an_unknown_department_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"'a' \(p\) gäller förvaltningen 'vard', som inte finns"):
        check_rules([rule("a", Action.KEEP, departments=["vard"], source="p")], departments=DEPARTMENTS)


@pytest.mark.parametrize(
    "rules",
    [
        # The earlier one simply happens first.
        [rule("kontakter", Action.PSEUDONYMISE_CONTACT, 24), rule("allt", Action.ANONYMISE, 60)],
        [rule("texter", Action.REMOVE_TEXTS, 12), rule("allt", Action.ANONYMISE, 6)],
        # Different actions, different times.
        [rule("kontakter", Action.PSEUDONYMISE_CONTACT, 24), rule("texter", Action.REMOVE_TEXTS, 12)],
        # The same action, scopes apart by kind, förvaltning or seriousness.
        [
            rule("berom", Action.REMOVE_TEXTS, 12, kinds=[Kind.BEROM]),
            rule("klagomal", Action.REMOVE_TEXTS, 36, kinds=[Kind.KLAGOMAL, Kind.FORSLAG]),
        ],
        [
            rule("soc", Action.ANONYMISE, 60, departments=["soc"]),
            rule("ovriga", Action.ANONYMISE, 24, departments=["klf", "bou", "sbf", "kof"]),
        ],
        [
            rule("allvarliga", Action.REMOVE_TEXTS, 120, serious=True),
            rule("andra", Action.REMOVE_TEXTS, 12, serious=False),
        ],
        # The same action and time twice is redundant, not contradictory.
        [rule("a", Action.REMOVE_TEXTS, 12), rule("b", Action.REMOVE_TEXTS, 12, kinds=[Kind.BEROM])],
        # Two decisions to keep.
        [rule("a", Action.KEEP), rule("b", Action.KEEP, serious=True)],
        # Keeping one förvaltning's cases, removing the others'.
        [
            rule("bevara-soc", Action.KEEP, departments=["soc"]),
            rule("allt", Action.ANONYMISE, 24, departments=["klf", "bou", "sbf", "kof"]),
        ],
    ],
)
def test_rules_that_do_not_contradict_each_other_are_accepted(rules: list[DisposalRule]) -> None:
    check_rules(rules)


# -- months --------------------------------------------------------------------------------------


def test_months_are_calendar_months_clamped_to_the_months_end() -> None:
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2025, 11, 30), 3) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 3, 15), -15) == dt.date(2024, 12, 15)
    assert add_months(dt.date(2026, 3, 15), 0) == dt.date(2026, 3, 15)


@pytest.mark.parametrize("months", [0, 1, 2, 12, 24])
def test_the_database_cutoff_is_exactly_closing_plus_months(months: int) -> None:
    # plan() compares 'closed' with one day in SQL; that must be the same as
    # adding the months to each closing day, month ends included.
    closings = [dt.date(2023, 11, 1) + dt.timedelta(days=n) for n in range(520)]
    todays = [dt.date(2024, 1, 1) + dt.timedelta(days=n) for n in range(0, 800, 3)]
    todays += [dt.date(2024, 2, 29), dt.date(2025, 2, 28), dt.date(2026, 2, 28), dt.date(2025, 4, 30)]
    for today in todays:
        cutoff = _last_closing_due(today, months)
        for closed in closings:
            assert (closed <= cutoff) == (add_months(closed, months) <= today), (closed, today)


# -- what redaction touches ---------------------------------------------------------------------


def test_every_event_field_is_classified() -> None:
    # A new kind of event, or a new text in one, must be decided on here:
    # removed with the texts, or kept for the statistics and the register.
    for cls in EVENT_TYPES.values():
        assert cls in TEXT_FIELDS, cls.__name__
        texts, kept, own = TEXT_FIELDS[cls], KEPT_FIELDS.get(cls, ()), OWN_FIELDS.get(cls, ())
        names = {f.name for f in attrs.fields(cls)}
        assert set(texts) | set(kept) | set(own) <= names, cls.__name__
        assert len(texts) + len(kept) + len(own) == len({*texts, *kept, *own}), cls.__name__
        for field in attrs.fields(cls):
            if "str" in str(field.type) or "Contact" in str(field.type):
                assert field.name in (*texts, *kept, *own), f"{cls.__name__}.{field.name}"
    assert "summary" not in TEXT_FIELDS[EVENT_TYPES["described"]]  # the public register entry stays


def test_contact_data_in_a_kept_text_is_recognised() -> None:
    scrub = _scrubber(["Karin Lindqvist", "Storgatan 1"], "[gallrad]")
    assert scrub(
        "Hej! Jag heter karin lindqvist och bor på Storgatan 1. Ring 070-123 45 67 eller +46 70 123 45 67, "
        "mejla k.l@example.se. Personnummer 19121212-1212, eller 121212-1212."
    ) == (
        "Hej! Jag heter [gallrad] och bor på [gallrad]. Ring [gallrad] eller [gallrad], mejla [gallrad]. "
        "Personnummer [gallrad], eller [gallrad]."
    )
    # What is not contact data stays: references, dates, times, postcodes,
    # amounts, diary numbers, organisation numbers, parts of words.
    kept = (
        "Ärende 2024-00001 den 2024-04-08 kl 08.00 vid Storgatan 12, 123 45 Exempelstad, dnr KS 2025/123, "
        "1500 kr, organisationsnummer 212000-1234, Karin Lindqvists hund."
    )
    assert scrub(kept) == kept


@pytest.mark.parametrize(
    ("number", "spellings"),
    [
        (
            "191212121213",
            ["191212121213", "191212121213", "19121212-1213", "121212-1213", "1212121213"],
        ),
        (
            "19121212-1213",
            ["19121212-1213", "191212121213", "19121212-1213", "121212-1213", "1212121213"],
        ),
        ("1212121213", ["1212121213", "1212121213", "121212-1213"]),
        ("121212-1213", ["121212-1213", "1212121213", "121212-1213"]),
        ("121212+1213", ["121212+1213", "1212121213", "121212-1213"]),
        ("12345", ["12345"]),  # not a personnummer: only as it is written
    ],
)
def test_the_contacts_personnummer_is_looked_for_in_every_usual_spelling(
    number: str, spellings: list[str]
) -> None:
    assert _personnummer_spellings(number) == spellings


def test_what_names_or_reaches_the_person_is_every_detail_and_sender_given() -> None:
    full = Contact(NAME, EMAIL, PHONE, ADDRESS, personnummer="191212121212")
    assert _identifying(full, ["Karin L <karin@example.net>", None, ""]) == [
        NAME,
        EMAIL,
        PHONE,
        ADDRESS,
        *_personnummer_spellings("191212121212"),
        "Karin L <karin@example.net>",
        "Karin L",
        "karin@example.net",
    ]
    # What the contact leaves out is not looked for.
    assert _identifying(Contact(phone=PHONE), []) == [PHONE]
    assert _identifying(Contact(NAME), []) == [NAME]
    assert _identifying(None, ["karin@example.net"]) == ["karin@example.net", "karin@example.net"]


@pytest.mark.parametrize("marker", ["[gallrad]", "[gallrat 2026-03-02 enligt beslut § 45 för förvaltningen]"])
def test_a_disposed_messages_stub_is_a_valid_message_naming_the_marker(marker: str) -> None:
    stub = _stub(marker)
    assert stub.endswith(b"\r\n\r\n")
    assert stub.isascii()
    parsed = email.message_from_bytes(stub, policy=email.policy.default)
    assert str(parsed["X-Klagomal-Gallrat"]) == marker
    assert parsed.get_content() == ""


def test_a_disposals_moment_is_naive_utc_whatever_the_machines_time_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Europe/Stockholm")
    time.tzset()
    try:
        noon_in_stockholm = dt.datetime(2026, 3, 2, 12, tzinfo=dt.timezone(dt.timedelta(hours=1)))
        assert _utc(noon_in_stockholm) == dt.datetime(2026, 3, 2, 11)
        assert _utc(noon_in_stockholm).tzinfo is None
        assert _utc(dt.datetime(2026, 3, 2, 12)) == dt.datetime(2026, 3, 2, 12)  # naive is UTC already
    finally:
        monkeypatch.undo()
        time.tzset()


def _luhn(nine: str) -> str:
    """The check digit of nine digits: every other digit doubled, from the
    first, and the digits of all the products summed."""
    total = sum(int(c) for i, d in enumerate(nine) for c in str(int(d) * (2 if i % 2 == 0 else 1)))
    return str((10 - total % 10) % 10)


@pytest.mark.parametrize(
    ("yymmdd", "looks_like_one"),
    [
        ("991231", True),
        ("000101", True),
        ("851201", True),
        ("851261", True),  # a samordningsnummer: the day plus 60
        ("851291", True),
        ("850001", False),  # month 0
        ("851301", False),  # month 13
        ("851200", False),  # day 0
        ("851232", False),  # day 32
        ("851260", False),  # neither a day nor a day plus 60
        ("851292", False),
    ],
)
def test_ten_digits_are_scrubbed_as_a_personnummer_by_month_day_and_check_digit(
    yymmdd: str, looks_like_one: bool
) -> None:
    for serial in ("998", "123", "575", "909"):  # doubled digits of 10 or more, and check digits 0 to 9
        nine = yymmdd + serial
        assert _is_personnummer(nine + _luhn(nine)) is looks_like_one, nine
        wrong = str((int(_luhn(nine)) + 1) % 10)
        assert _is_personnummer(nine + wrong) is False, nine


@settings(max_examples=300, deadline=None, database=None)
@given(
    yy=st.integers(0, 99),
    month=st.integers(1, 12),
    day=st.one_of(st.integers(1, 31), st.integers(61, 91)),
    serial=st.integers(0, 999),
    check=st.integers(0, 9),
)
def test_any_date_like_ten_digits_are_a_personnummer_exactly_when_the_check_digit_holds(
    yy: int, month: int, day: int, serial: int, check: int
) -> None:
    nine = f"{yy:02d}{month:02d}{day:02d}{serial:03d}"
    assert _is_personnummer(f"{nine}{check}") is (str(check) == _luhn(nine))


def test_a_disposal_is_never_logged_without_its_decision(k: Klagomal, clock: FixedClock) -> None:
    reference = closed_case(k, clock, dt.date(2024, 1, 10))
    with k.storage.transaction() as uow:
        with pytest.raises(ConfigurationError, match="loggas inte utan det beslut"):
            record(
                uow.conn,
                reference,
                "manuell",
                Action.ANONYMISE,
                decision=" ",
                user_id="arkivarie",
                at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                day=dt.date(2026, 1, 1),
                detail="",
            )
        with pytest.raises(CaseNotFoundError):
            redact_case(uow.conn, k.converter, "2024-99999", contact=True, texts=True, marker="x")
        nothing = redact_case(uow.conn, k.converter, reference, contact=False, texts=False, marker="x")
        assert (nothing.fields, nothing.events, nothing.messages) == (0, 0, 0)
        assert disposed(uow.conn, reference) == []


# -- the database --------------------------------------------------------------------------------


@pytest.fixture
def k(new_database: Callable[[], str], clock: FixedClock) -> Iterator[Klagomal]:
    """A Klagomal on a new database of each backend, acting as the reserved user ``system``."""
    instance = Klagomal(new_database(), clock=clock, load_entrypoints=False, user="system")
    instance.init()
    yield instance
    instance.dispose()


def closed_case(k: Klagomal, clock: FixedClock, day: dt.date, **overrides: Any) -> str:
    """A case registered, answered and closed on *day*."""
    clock.set(day)
    satisfied = overrides.pop("satisfied", True)
    case = register_case(k, **overrides)
    k.acknowledge(case.reference, "Hanna Holm")
    if case.anonymous:
        k.close(case.reference, None)
    else:
        k.answer(case.reference, "skriftligt", "Tack, vi har ordnat det.")
        k.close(case.reference, satisfied)
    return case.reference


def planned(
    k: Klagomal, rules: Sequence[DisposalRule], today: dt.date
) -> list[tuple[str, str, str, dt.date]]:
    with k.storage.transaction() as uow:
        found = plan(uow.conn, rules, today)
    return [(p.reference, p.rule.id, p.action.value, p.due) for p in found]


def dispose(
    k: Klagomal, rules: Sequence[DisposalRule], today: dt.date, user_id: str = "arkivarie"
) -> list[Applied]:
    """What ``klagomal gallra`` does: plan and apply in one transaction."""
    at = dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)
    with k.storage.transaction() as uow:
        return apply(uow.conn, k.converter, plan(uow.conn, rules, today), user_id=user_id, at=at, day=today)


def stored_equals_replay(k: Klagomal, reference: str) -> Case:
    with k.storage.transaction() as uow:
        stored = uow.get(reference)
        assert stored == lifecycle.replay(uow.history(reference))
    return stored


def dump(k: Klagomal) -> str:
    """Every text and blob of every table, lower-cased, as one string."""
    parts: list[str] = []
    with k.storage.engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        parts.append(bytes(value).decode("utf-8", "replace"))
                    elif value is not None:
                        parts.append(str(value))
    return "\n".join(parts).lower()


def test_what_is_due_around_the_boundaries(k: Klagomal, clock: FixedClock) -> None:
    rules = [
        rule("kontakter-24", Action.PSEUDONYMISE_CONTACT, 24),
        rule("berom-12", Action.REMOVE_TEXTS, 12, kinds=[Kind.BEROM]),
    ]
    a = closed_case(k, clock, dt.date(2024, 3, 14))
    b = closed_case(k, clock, dt.date(2024, 3, 15))
    c = closed_case(k, clock, dt.date(2025, 3, 14), kind="berom")
    d = closed_case(k, clock, dt.date(2025, 3, 17), kind="berom")
    closed_case(k, clock, dt.date(2024, 1, 10), contact=None)  # nothing to pseudonymise, no praise
    # Open cases are never due, however old.
    clock.set(dt.date(2024, 1, 10))
    register_case(k)
    k.acknowledge(register_case(k, kind="berom").reference, "Hanna Holm")
    # Closed, then raised to the next level: open again, so not due.
    reopened = closed_case(k, clock, dt.date(2024, 1, 11), satisfied=False)
    k.escalate(reopened, "Inte nöjd med svaret")

    assert planned(k, rules, dt.date(2026, 3, 13)) == []
    assert planned(k, rules, dt.date(2026, 3, 14)) == [
        (a, "kontakter-24", "pseudonymisera_kontakt", dt.date(2026, 3, 14)),
        (c, "berom-12", "ta_bort_texter", dt.date(2026, 3, 14)),
    ]
    assert planned(k, rules, dt.date(2026, 3, 16)) == [
        (a, "kontakter-24", "pseudonymisera_kontakt", dt.date(2026, 3, 14)),
        (b, "kontakter-24", "pseudonymisera_kontakt", dt.date(2026, 3, 15)),
        (c, "berom-12", "ta_bort_texter", dt.date(2026, 3, 14)),
    ]
    assert planned(k, rules, dt.date(2026, 3, 17))[-1] == (
        d,
        "berom-12",
        "ta_bort_texter",
        dt.date(2026, 3, 17),
    )
    with k.storage.transaction() as uow:
        [first, *_rest] = plan(uow.conn, rules, dt.date(2026, 3, 17))
    assert first == Planned(
        a, rules[0], Action.PSEUDONYMISE_CONTACT, dt.date(2024, 3, 14), dt.date(2026, 3, 14)
    )


def test_a_month_is_clamped_to_the_months_last_day(k: Klagomal, clock: FixedClock) -> None:
    rules = [rule("en-manad", Action.ANONYMISE, 1)]
    reference = closed_case(k, clock, dt.date(2026, 1, 30))
    clock.set(dt.date(2026, 1, 31))
    k.record_action(reference, "Rutinen ändrad")  # the case was closed on the 30th
    last = closed_case(k, clock, dt.date(2026, 1, 31))
    assert planned(k, rules, dt.date(2026, 2, 27)) == []
    assert planned(k, rules, dt.date(2026, 2, 28)) == [
        (reference, "en-manad", "anonymisera", dt.date(2026, 2, 28)),
        (last, "en-manad", "anonymisera", dt.date(2026, 2, 28)),
    ]


def test_a_keep_rule_excludes_its_cases_whatever_the_other_rules_say(k: Klagomal, clock: FixedClock) -> None:
    # R27: archive law before erasure.  check_rules refuses this pair at
    # start-up; plan() keeps the cases even if it were given them.
    keep = rule("bevara-allvarliga", Action.KEEP, kinds=[Kind.KLAGOMAL], serious=True)
    remove = rule("allt", Action.ANONYMISE, 12)
    with pytest.raises(ConfigurationError):
        check_rules([keep, remove])
    serious = closed_case(k, clock, dt.date(2024, 2, 5), serious=True)
    ordinary = closed_case(k, clock, dt.date(2024, 2, 5))
    praise = closed_case(k, clock, dt.date(2024, 2, 5), kind="berom")
    assert [p[0] for p in planned(k, [remove, keep], dt.date(2026, 1, 1))] == [ordinary, praise]
    assert [p[0] for p in planned(k, [remove], dt.date(2026, 1, 1))] == [serious, ordinary, praise]
    with k.storage.transaction() as uow:
        assert keeping_rule(uow.conn, [remove, keep], serious) == keep
        assert keeping_rule(uow.conn, [remove, keep], ordinary) is None


def test_what_was_done_is_not_done_again(k: Klagomal, clock: FixedClock) -> None:
    contacts = rule("kontakter-12", Action.PSEUDONYMISE_CONTACT, 12)
    everything = rule("allt-36", Action.ANONYMISE, 36)
    texts = rule("texter-24", Action.REMOVE_TEXTS, 24)
    reference = closed_case(k, clock, dt.date(2023, 1, 9), satisfied=False)
    anonymous = closed_case(k, clock, dt.date(2023, 1, 9), contact=None)
    # Both due at once: anonymisation does what pseudonymisation would.
    assert planned(k, [contacts, everything], dt.date(2026, 6, 1)) == [
        (reference, "allt-36", "anonymisera", dt.date(2026, 1, 9)),
        (anonymous, "allt-36", "ta_bort_texter", dt.date(2026, 1, 9)),  # it has no contact
    ]
    assert planned(k, [contacts, texts], dt.date(2026, 6, 1)) == [
        (reference, "kontakter-12", "pseudonymisera_kontakt", dt.date(2024, 1, 9)),
        (reference, "texter-24", "ta_bort_texter", dt.date(2025, 1, 9)),
        (anonymous, "texter-24", "ta_bort_texter", dt.date(2025, 1, 9)),
    ]
    [done] = dispose(k, [contacts], dt.date(2024, 2, 1))
    assert done.planned.reference == reference
    assert planned(k, [contacts], dt.date(2024, 2, 2)) == []
    # The anonymisation that follows only has the texts left to remove.
    assert planned(k, [contacts, everything], dt.date(2026, 6, 1)) == [
        (reference, "allt-36", "ta_bort_texter", dt.date(2026, 1, 9)),
        (anonymous, "allt-36", "ta_bort_texter", dt.date(2026, 1, 9)),
    ]
    assert len(dispose(k, [everything], dt.date(2026, 6, 1))) == 2
    assert planned(k, [contacts, texts, everything], dt.date(2026, 6, 2)) == []

    # New events after a disposal bring new texts: the case is due again
    # once it is closed again and the months have passed.
    clock.set(dt.date(2026, 6, 3))
    k.escalate(reference, "Jag är fortfarande inte nöjd")
    assert planned(k, [contacts, texts, everything], dt.date(2029, 6, 2)) == []  # open
    k.acknowledge(reference, "Förvaltningschefen")
    k.answer(reference, "skriftligt", "Förvaltningschefens svar")
    k.close(reference, True, drop_tasks="Kontaktuppgifterna är gallrade.")
    assert planned(k, [contacts, texts, everything], dt.date(2027, 6, 2)) == []
    assert planned(k, [contacts, texts, everything], dt.date(2027, 6, 3)) == [
        (reference, "kontakter-12", "pseudonymisera_kontakt", dt.date(2027, 6, 3)),
    ]
    assert planned(k, [contacts, texts, everything], dt.date(2028, 6, 3)) == [
        (reference, "kontakter-12", "pseudonymisera_kontakt", dt.date(2027, 6, 3)),
        (reference, "texter-24", "ta_bort_texter", dt.date(2028, 6, 3)),
    ]
    with k.storage.transaction() as uow:
        log = disposed(uow.conn, reference)
    assert [(d.rule, d.action, d.day) for d in log] == [
        ("kontakter-12", Action.PSEUDONYMISE_CONTACT, dt.date(2024, 2, 1)),
        ("allt-36", Action.REMOVE_TEXTS, dt.date(2026, 6, 1)),
    ]


# -- a rule's förvaltningar, and a case reopened after it was planned ---------------------------


def case_rows(k: Klagomal, reference: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row of the case in every table that names it, but the
    audit log (which reading the case adds to)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with k.storage.engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            if "reference" not in table.c or table is tables.audit_log:
                continue
            query = sa.select(table).where(table.c.reference == reference)
            rows = conn.execute(query.order_by(*table.primary_key.columns))
            found[table.name] = [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows
            ]
    return found


def test_a_rules_forvaltningar_limit_it_to_their_cases(k: Klagomal, clock: FixedClock) -> None:
    # R27: a kommun decides per förvaltning; a rule for one never reaches
    # another's cases, in the database's own query.
    soc = closed_case(k, clock, dt.date(2024, 2, 5), unit="soc-aldre-solgarden")
    bou = closed_case(k, clock, dt.date(2024, 2, 5), unit="bou-forskola-blaklinten")
    kof = closed_case(k, clock, dt.date(2024, 2, 5), unit="kof-badhus")
    sbf = closed_case(k, clock, dt.date(2024, 2, 5), unit="sbf-gatapark-park")
    rules = [
        rule("soc-texter", Action.REMOVE_TEXTS, 12, departments=["soc"]),
        rule("bevara-bou", Action.KEEP, departments=["bou"]),
        rule("kof-kontakter", Action.PSEUDONYMISE_CONTACT, 12, departments=["kof", "klf"]),
    ]
    check_rules(rules, departments=DEPARTMENTS)
    due = dt.date(2025, 2, 5)
    assert planned(k, rules, dt.date(2026, 1, 1)) == [
        (soc, "soc-texter", "ta_bort_texter", due),
        (kof, "kof-kontakter", "pseudonymisera_kontakt", due),
    ]
    # A decision to keep one förvaltning's cases keeps them from a rule for all.
    everything = rule("allt", Action.ANONYMISE, 12)
    assert [p[0] for p in planned(k, [everything, rules[1]], dt.date(2026, 1, 1))] == [soc, kof, sbf]
    before = {ref: case_rows(k, ref) for ref in (bou, sbf)}

    applied = dispose(k, rules, dt.date(2026, 1, 1))

    assert [(a.planned.reference, a.planned.action) for a in applied] == [
        (soc, Action.REMOVE_TEXTS),
        (kof, Action.PSEUDONYMISE_CONTACT),
    ]
    assert k.get(soc).text == f"[gallrat 2026-01-01 enligt {DECISION}]"
    assert k.get(soc).contact == EVA
    assert k.get(kof).contact == Contact("[gallrad]")
    assert k.get(kof).text == "Hemtjänsten kom inte som utlovat."
    # The other förvaltningar's cases are as they were, row for row.
    assert {ref: case_rows(k, ref) for ref in (bou, sbf)} == before
    with k.storage.transaction() as uow:
        assert [disposed(uow.conn, ref) for ref in (bou, sbf)] == [[], []]


def test_a_case_reopened_between_plan_and_apply_is_left_alone(k: Klagomal, clock: FixedClock) -> None:
    # Disposal cannot be undone: a case raised to the next level after the
    # plan was made, or raised and closed again on a later day, is not
    # disposed of under that plan, and nothing of it changes.
    rules = [rule("allt", Action.ANONYMISE, 0)]
    closed = dt.date(2026, 1, 12)
    contact = Contact(NAME, EMAIL, PHONE, personnummer=PERSONNUMMER)
    reopened = closed_case(k, clock, closed, satisfied=False, contact=contact)
    closed_again = closed_case(k, clock, closed, satisfied=False, contact=contact)
    untouched = closed_case(k, clock, closed, contact=contact)
    today = dt.date(2026, 2, 2)
    with k.storage.transaction() as uow:
        due = plan(uow.conn, rules, today)
    assert [(p.reference, p.action, p.closed) for p in due] == [
        (reopened, Action.ANONYMISE, closed),
        (closed_again, Action.ANONYMISE, closed),
        (untouched, Action.ANONYMISE, closed),
    ]
    clock.set(today)
    k.escalate(reopened, f"Inte nöjd. /{NAME}")
    k.escalate(closed_again, f"Inte nöjd. /{NAME}")
    k.acknowledge(closed_again, "Förvaltningschefen")
    k.answer(closed_again, "skriftligt", "Förvaltningschefens svar")
    k.close(closed_again, True)
    assert (k.get(closed_again).state.value, k.get(closed_again).closed) == ("avslutat", today)
    before = {ref: case_rows(k, ref) for ref in (reopened, closed_again)}

    with k.storage.transaction() as uow:
        applied = apply(
            uow.conn,
            k.converter,
            due,
            user_id="arkivarie",
            at=dt.datetime(2026, 2, 2, 12, tzinfo=dt.UTC),
            day=today,
        )

    assert [a.planned.reference for a in applied] == [untouched]
    assert k.get(untouched).contact == Contact("[gallrad]")
    for ref in (reopened, closed_again):
        assert case_rows(k, ref) == before[ref], ref
        assert k.get(ref).contact == contact
        assert k.disposals(ref) == []
    # The case closed again is due under the rule from its new closing day.
    assert planned(k, rules, today) == [(closed_again, "allt", "anonymisera", today)]


@pytest.mark.parametrize("new_database", ["postgresql", "mariadb"], indirect=True)
def test_steps_taken_during_the_run_are_not_lost(k: Klagomal, clock: FixedClock) -> None:
    # 'klagomal gallra' plans and applies in one transaction.  On a server a
    # handler may take a step meanwhile, in a transaction of their own that
    # commits first (on SQLite the step waits for the run).  A case raised
    # to the next level is left alone; a closed case that got an action is
    # disposed of with it, as a plan made a moment later would say.  Either
    # way the step stays in the history and in the case, which still equals
    # the replay of its events (on MariaDB's REPEATABLE READ the run must
    # not work on what its snapshot showed).
    rules = [rule("allt", Action.ANONYMISE, 0)]
    reopened = closed_case(k, clock, dt.date(2026, 1, 12), satisfied=False)
    acted_on = closed_case(k, clock, dt.date(2026, 1, 12))
    replied = closed_case(k, clock, dt.date(2026, 1, 12), contact=Contact(NAME, EMAIL))
    today = dt.date(2026, 2, 2)
    clock.set(today)
    at = dt.datetime(2026, 2, 2, 12, tzinfo=dt.UTC)
    with k.storage.transaction() as uow:
        due = plan(uow.conn, rules, today)
        assert [p.reference for p in due] == [reopened, acted_on, replied]
        # Other connections, committed before the run goes on.
        k.escalate(reopened, "Inte nöjd med svaret")
        k.record_action(acted_on, "Rutinen för nycklar är ändrad")
        reply = mail(f"Tack! /{NAME}", subject=f"Re: Ärende {replied}", attachment=("lindqvist.pdf", b"%PDF"))
        assert k.receive_email(reply).outcome == "reply"
        before = case_rows(k, reopened)
        applied = apply(uow.conn, k.converter, due, user_id="arkivarie", at=at, day=today)
    assert [a.planned.reference for a in applied] == [acted_on, replied]
    # The reply that came meanwhile went with the rest of the case.
    assert NAME.lower() not in dump(k)
    stored_equals_replay(k, replied)
    with k.storage.transaction() as uow:
        [message] = uow.received(reference=replied, with_raw=True)
    assert message.raw == b"X-Klagomal-Gallrat: [gallrad]\r\n\r\n"
    assert case_rows(k, reopened) == before
    case = stored_equals_replay(k, reopened)
    assert (case.state, case.level) == (CaseState.REGISTRERAT, Level.FORVALTNINGSCHEF)
    assert k.history(reopened)[-1].data.reason == "Inte nöjd med svaret"
    acted = stored_equals_replay(k, acted_on)
    marker = f"[gallrat 2026-02-02 enligt {DECISION}]"
    assert (acted.version, acted.contact) == (5, Contact("[gallrad]"))
    assert [e.type for e in k.history(acted_on)][-1] == "action_recorded"
    assert k.history(acted_on)[-1].data.text == marker


# The personnummer of contacts kept as they were written, by a system an
# export came from (klagomal itself normalises them to twelve digits when
# it registers them) and mistyped, so that no check digit makes them look
# like a personnummer to the rule for anyone's: only the contact's own
# spellings find them.  Each text holds the number in other spellings than
# the stored one (which the column holds in at most twelve characters).
LEGACY_NUMBERS = {
    "191212121213": "Pnr 19121212-1213, även skrivet 121212-1213 eller 1212121213.",
    "1212121213": "Pnr 121212-1213.",
    "121212-1213": "Pnr 1212121213.",
}


def test_the_contacts_personnummer_goes_from_the_texts_in_every_spelling(
    k: Klagomal, clock: FixedClock, tmp_path: Path
) -> None:
    with Klagomal(f"sqlite:///{tmp_path / 'other.db'}", clock=clock, load_entrypoints=False) as source:
        source.init()
        for text in LEGACY_NUMBERS.values():
            closed_case(
                source,
                clock,
                dt.date(2024, 1, 10),
                contact=Contact(NAME, EMAIL, personnummer=PERSONNUMMER),
                text=f"{text} Någon annans: 121212-1214.",
            )
        exported = source.export()
    for item, number in zip(exported["cases"], LEGACY_NUMBERS, strict=True):
        item["events"][0]["data"]["contact"]["personnummer"] = number
    k.import_(exported)
    references = [item["reference"] for item in exported["cases"]]
    assert [k.get(ref).contact.personnummer for ref in references] == list(LEGACY_NUMBERS)

    dispose(k, [rule("kontakter", Action.PSEUDONYMISE_CONTACT, 0)], dt.date(2024, 2, 1))

    assert [k.get(ref).text for ref in references] == [
        "Pnr [gallrad], även skrivet [gallrad] eller [gallrad]. Någon annans: 121212-1214.",
        "Pnr [gallrad]. Någon annans: 121212-1214.",
        "Pnr [gallrad]. Någon annans: 121212-1214.",
    ]
    after = dump(k)
    for spelling in ("1212121213", "121212-1213"):
        assert spelling not in after


# -- what is left afterwards ---------------------------------------------------------------------

NAME = "Karin Lindqvist"
EMAIL = "karin.lindqvist@example.se"
PHONE = "070-123 45 67"
ADDRESS = "Storgatan 1, 123 45 Exempelstad"
PERSONNUMMER = "191212121212"


def mail(text: str, *, subject: str, attachment: tuple[str, bytes] | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = f"{NAME} <{EMAIL}>"
    message["To"] = "synpunkter@exempelkommun.se"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mail.example.net")
    message.set_content(text)
    if attachment:
        message.add_attachment(attachment[1], maintype="application", subtype="pdf", filename=attachment[0])
    return message.as_bytes()


def test_pseudonymisation_leaves_no_trace_of_the_person(
    k: Klagomal, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the file notifier writes its letters here
    clock.set(dt.date(2024, 4, 8))
    first = mail(
        f"Hej! Snöröjningen vid skolan är dålig. Ring mig på {PHONE}.\n\nMvh {NAME}",
        subject=f"Klagomål från {NAME}",
        attachment=("karin-lindqvist-foto.pdf", b"%PDF-1.4 KARINS BILD"),
    )
    # The files it was read from name her too, and a copy of it came twice (the intake log).
    outcome = k.receive_email(first, source_file="/var/mail/inkorg/karin-lindqvist-1.eml")
    assert k.receive_email(first, source_file="/var/mail/inkorg/karin-lindqvist-2.eml").outcome == "duplicate"
    by_mail = outcome.reference or ""
    k.forward(by_mail, "sbf-gatapark-gata")
    k.acknowledge(by_mail, "Hanna Holm")
    k.answer(by_mail, "skriftligt", "Vi plogar i morgon.")
    k.close(by_mail, False)
    reply = k.receive_email(
        mail(
            f"Det är fortfarande inte plogat. /{NAME}",
            subject=f"Re: Ärende {by_mail}",
            attachment=("ny-bild-lindqvist.pdf", b"%PDF-1.4 KARINS ANDRA BILD"),
        )
    )
    assert (reply.outcome, reply.reference) == ("reply", by_mail)
    by_phone = register_case(
        k,
        text=f"Mitt personnummer är 121212-1212 och jag bor på {ADDRESS}. Matlådan kom inte.",
        contact=Contact(NAME, EMAIL, PHONE, ADDRESS, personnummer=PERSONNUMMER, protected=True),
    ).reference
    k.describe(by_phone, "Klagomål på matdistributionen")
    k.acknowledge(by_phone, "Hanna Holm")
    k.answer(by_phone, "muntligt", "Vi ringde upp.")
    k.close(by_phone, True)
    k.deliver()  # the outbox keeps the address each notice went to
    other = register_case(k, contact=Contact("Olle Berg", "olle@example.se")).reference
    before = dump(k)
    for value in (NAME, EMAIL, PHONE, ADDRESS, PERSONNUMMER, "121212-1212", "lindqvist-foto", "karins"):
        assert value.lower() in before, value
    histories = {ref: [(e.seq, e.type, e.day) for e in k.history(ref)] for ref in (by_mail, by_phone)}
    shown = {ref: k.get(ref) for ref in (by_mail, by_phone)}

    applied = dispose(k, [rule("kontakter-24", Action.PSEUDONYMISE_CONTACT, 24)], dt.date(2026, 5, 1))

    assert [(a.planned.reference, a.planned.action) for a in applied] == [
        (by_mail, Action.PSEUDONYMISE_CONTACT),
        (by_phone, Action.PSEUDONYMISE_CONTACT),
    ]
    after = dump(k)
    for value in (NAME, EMAIL, PHONE, ADDRESS, PERSONNUMMER, "121212-1212", "lindqvist", "karins"):
        assert value.lower() not in after, value
    # The texts themselves stay; only what names or reaches the person went.
    assert "snöröjningen vid skolan är dålig" in after
    assert "matlådan kom inte" in after
    assert "olle@example.se" in after  # another person's case is untouched
    assert k.get(other).contact == Contact("Olle Berg", "olle@example.se")
    for ref in (by_mail, by_phone):
        case = stored_equals_replay(k, ref)
        assert [(e.seq, e.type, e.day) for e in k.history(ref)] == histories[ref]
        assert not case.anonymous
        assert attrs_except(case, "contact", "text") == attrs_except(shown[ref], "contact", "text")
    with k.storage.transaction() as uow:
        assert uow.get(by_phone).contact == Contact("[gallrad]", protected=True)
        assert uow.get(by_mail).contact == Contact("[gallrad]")
        assert uow.get(by_phone).summary == "Klagomål på matdistributionen"  # the public register entry
        log = disposed(uow.conn, by_mail)
        messages = uow.received(reference=by_mail, with_raw=True)
        files = uow.attachments_of(by_mail)
    [entry] = log
    assert (entry.rule, entry.decision, entry.action, entry.user_id, entry.day) == (
        "kontakter-24",
        DECISION,
        Action.PSEUDONYMISE_CONTACT,
        "arkivarie",
        dt.date(2026, 5, 1),
    )
    assert entry.at == dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    assert entry.detail.startswith("Pseudonymisera kontaktuppgifter enligt regeln 'kontakter-24', 24 månader")
    assert [m.raw for m in messages] == [b"X-Klagomal-Gallrat: [gallrad]\r\n\r\n"] * 2
    assert [(f.filename, f.content_type) for f in files] == [("[gallrad]", "application/pdf")] * 2
    assert applied[0].result.messages == 2
    assert applied[0].result.attachments == 2
    assert applied[0].result.contact


def attrs_except(case: Case, *names: str) -> dict[str, Any]:
    """The fields of *case* but *names*."""
    return {key: value for key, value in attrs.asdict(case, recurse=False).items() if key not in names}


def test_text_removal_leaves_no_trace_of_the_texts(k: Klagomal, clock: FixedClock) -> None:
    clock.set(dt.date(2024, 9, 2))
    ref = register_case(k, kind="forslag", text="QXTEXT01 förslaget", unit="soc-aldre-solgarden").reference
    k.reclassify(ref, "klagomal", "QXTEXT02 det är ett klagomål")
    k.inform(ref, "QXTEXT03 information")
    k.acknowledge(ref, "Hanna Holm")
    k.postpone(ref, dt.date(2024, 10, 30), "QXTEXT04 semester")
    k.pause(ref, "QXTEXT05 väntar på uppgifter")
    clock.set(dt.date(2024, 9, 9))
    k.resume(ref)
    k.guide(
        ref,
        "overklagande",
        "QXTEXT06 så här överklagar du",
        decision="QXTEXT07 beslut om bistånd",
        appeal_to="Förvaltningsrätten i Exempelstad",
        notified=dt.date(2024, 9, 5),
    )
    k.record_action(ref, "QXTEXT08 rutinen ändrad")
    k.mark_secret(ref, "OSL 26 kap. 1 §", reason="QXTEXT09 uppgifter om hälsa")
    k.lift_secrecy(ref, "QXTEXT10 inget känsligt")
    k.describe(ref, "QXSUMMARY synpunkt på bemötandet")
    k.answer(ref, "skriftligt", "QXTEXT11 svaret")
    k.close(ref, False)
    k.escalate(ref, "QXTEXT12 inte nöjd")
    k.acknowledge(ref, "Förvaltningschefen")
    k.answer(ref, "skriftligt", "QXTEXT13 nytt svar")
    k.close(ref, True)
    # R28: a flag set after the case closed, and lifted: both reasons go.
    k.flag_threat(ref, "hotfullt", reason="QXTEXT22 hotade personalen")
    k.lift_threat_flag(ref, "QXTEXT23 utrett")
    praise = register_case(k, kind="berom", text="QXTEXT14 tack").reference
    k.pass_on_praise(praise, ["Personalen på Solgården"], "QXTEXT15 vidare")
    k.acknowledge(praise, "Hanna Holm")
    k.answer(praise, "skriftligt", "QXTEXT16 tack själv")
    k.close(praise, True)
    at_once = register_case(
        k, text="QXTEXT17 fel tid", resolved="QXTEXT18 ordnat", resolved_by="Hanna"
    ).reference
    by_mail = (
        k.receive_email(mail("QXTEXT19 gatlyktan är trasig", subject="QXTEXT20 gatlyktan")).reference or ""
    )
    k.acknowledge(by_mail, "Hanna Holm")
    k.answer(by_mail, "skriftligt", "QXTEXT21 lagad")
    k.close(by_mail, True)
    references = [ref, praise, at_once, by_mail]
    before = dump(k)
    assert all(f"qxtext{n:02d}" in before for n in range(1, 24))
    shown = {r: stored_equals_replay(k, r) for r in references}
    histories = {r: k.history(r) for r in references}

    applied = dispose(k, [rule("texter", Action.REMOVE_TEXTS, 12)], dt.date(2025, 12, 1))

    assert sorted(a.planned.reference for a in applied) == sorted(references)
    after = dump(k)
    assert "qxtext" not in after
    assert "qxsummary synpunkt på bemötandet" in after  # the register entry stays
    assert "osl 26 kap. 1 §" in after  # so does the legal ground
    assert "förvaltningsrätten i exempelstad" in after
    assert "eva svensson" in after  # the contact is another action's
    marker = f"[gallrat 2025-12-01 enligt {DECISION}]"
    for r in references:
        case = stored_equals_replay(k, r)
        assert case.text == marker
        assert attrs_except(case, "text") == attrs_except(shown[r], "text")
        history = k.history(r)
        assert [(e.seq, e.type, e.day, e.actor, e.recorded_at) for e in history] == [
            (e.seq, e.type, e.day, e.actor, e.recorded_at) for e in histories[r]
        ]
    escalated = k.history(ref)[14].data
    assert (escalated.TYPE, escalated.reason, escalated.level, escalated.handler) == (
        "escalated",
        marker,
        2,
        histories[ref][14].data.handler,
    )
    guided = k.history(ref)[7].data
    assert (guided.TYPE, guided.text, guided.decision, guided.appeal_by) == (
        "guided",
        marker,
        marker,
        histories[ref][7].data.appeal_by,
    )
    assert k.get(ref).summary == "QXSUMMARY synpunkt på bemötandet"
    flagged, lifted = k.history(ref)[-2].data, k.history(ref)[-1].data
    assert (flagged.TYPE, flagged.kind, flagged.about, flagged.reason) == (
        "threat_flagged",
        "hotfullt",
        "kontakt",
        marker,
    )
    assert (lifted.TYPE, lifted.reason) == ("threat_flag_lifted", marker)
    # The person's text, thirteen texts and reasons of later steps, the guidance's decision, and the notes.
    notes = sum(1 for note in histories[ref][0].data.notes if note)
    assert [a.result.fields for a in applied if a.planned.reference == ref] == [15 + notes]


def anonymised(k: Klagomal, reference: str, decision: str, day: dt.date = dt.date(2026, 3, 2)) -> Applied:
    """What a request for erasure does: anonymise one case, in a transaction of its own."""
    with k.storage.transaction() as uow:
        return anonymise(
            uow.conn,
            k.converter,
            reference,
            decision=decision,
            user_id="dataskyddsombud",
            at=dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC),
            day=day,
        )


def test_gdpr_anonymisation_on_request(k: Klagomal, clock: FixedClock) -> None:
    reference = closed_case(
        k, clock, dt.date(2026, 2, 2), contact=Contact(NAME, EMAIL, personnummer=PERSONNUMMER)
    )
    done = anonymised(k, reference, "Begäran om radering, dnr KS 2026/77")
    after = dump(k)
    assert NAME.lower() not in after
    assert PERSONNUMMER not in after
    case = stored_equals_replay(k, reference)
    assert case.contact == Contact("[anonymiserad]")
    assert case.text == "[anonymiserat 2026-03-02 enligt Begäran om radering, dnr KS 2026/77]"
    assert (done.disposal.rule, done.disposal.action) == (GDPR_RULE, Action.ANONYMISE)
    gdpr = DisposalRule(
        GDPR_RULE, "Begäran om radering, dnr KS 2026/77", Action.ANONYMISE, source="begäran om radering"
    )
    assert done.planned == Planned(
        reference, gdpr, Action.ANONYMISE, dt.date(2026, 2, 2), dt.date(2026, 3, 2)
    )
    assert (done.result.reference, done.result.contact) == (reference, True)
    # Done is done: no rule anonymises it again.
    assert planned(k, [rule("allt", Action.ANONYMISE, 0)], dt.date(2026, 3, 3)) == []
    # A second redaction changes nothing more.
    with k.storage.transaction() as uow:
        again = redact_case(
            uow.conn,
            k.converter,
            reference,
            contact=True,
            texts=True,
            marker=case.text,
            name_marker="[anonymiserad]",
        )
    assert (again.fields, again.events) == (0, 0)


def test_an_open_case_is_anonymised_as_of_the_day_and_an_unknown_one_is_named(
    k: Klagomal, clock: FixedClock
) -> None:
    clock.set(dt.date(2026, 2, 2))
    reference = register_case(k, contact=Contact(NAME, EMAIL)).reference
    day = dt.date(2026, 3, 2)
    done = anonymised(k, reference, "KS 2026/79", day)
    assert (done.planned.closed, done.planned.due) == (day, day)  # not closed: as of the decision's day
    with pytest.raises(CaseNotFoundError) as caught:
        anonymised(k, "2026-99999", "x", day)
    assert caught.value.reference == "2026-99999"


def test_anonymisation_marks_a_corrected_contact_an_attached_file_and_a_replys_sender(
    k: Klagomal, clock: FixedClock
) -> None:
    # Each kind of step that names the person is rewritten to the marker,
    # not emptied: the history must still say that a contact was corrected,
    # a file attached and a reply received, only no longer by whom or what.
    reference = closed_case(k, clock, dt.date(2026, 2, 2), contact=Contact(NAME, EMAIL))
    k.correct_contact(reference, name="Karin Berg", email="karin.berg@example.se", reason="Nytt efternamn")
    k.attach(reference, b"%PDF-1.4 intyg", filename="intyg-karin-berg.pdf", media_type="application/pdf")
    reply = mail(f"Tack! /{NAME}", subject=f"Re: Ärende {reference}")
    assert k.receive_email(reply).outcome == "reply"
    done = anonymised(k, reference, "Begäran om radering, dnr KS 2026/78")
    # The person's text and contact; the answer; the correction's previous
    # and new contact and its reason; the file name; the reply's text and sender.
    assert (done.result.fields, done.result.events) == (9, 5)
    marker = "[anonymiserad]"
    by_type = {event.data.TYPE: event.data for event in k.history(reference)}
    corrected = by_type["contact_corrected"]
    assert (corrected.previous, corrected.contact) == (Contact(marker), Contact(marker))
    assert by_type["attachment_added"].filename == marker
    assert by_type["message_received"].sender == marker
    after = dump(k)
    for gone in (NAME, EMAIL, "karin berg", "karin.berg@example.se", "intyg-karin-berg"):
        assert gone.lower() not in after, gone


# -- reports over past periods still add up (R27) ------------------------------------------------

UNITS = [
    "soc-aldre-hemtjanst-norr",
    "soc-aldre-solgarden",
    "kof-badhus",
    "sbf-gatapark-park",
    "bou-forskola-blaklinten",
    "soc-ifo-forsorjningsstod",
]
CHANNELS = ["telefon", "brev", "besok", "svarskort", "telefonsvarare"]
DIMENSIONS = ["tillganglighet", "kompetens", "bemotande", "inflytande"]


def populate(k: Klagomal, clock: FixedClock) -> list[str]:
    """About forty cases from January 2024 to March 2026, of every kind and
    outcome: anonymous ones, serious ones, escalated, forwarded, resolved at
    once, by e-mail with replies, with dimensions, actions and praise."""
    references: list[str] = []
    day = dt.date(2024, 1, 8)
    for n in range(42):
        clock.set(day)
        kind = ["klagomal", "klagomal", "forslag", "berom"][n % 4]
        anonymous = n % 7 == 3
        serious = kind == "klagomal" and n % 5 == 0
        person = Contact(
            f"Person {n}", f"person{n}@example.se", phone=f"070-000 00 {n:02d}", protected=n % 10 == 7
        )
        if n % 6 == 2:
            raw = mail(f"Synpunkt nr {n}: gatan är hal.", subject=f"Synpunkt {n}")
            ref = k.receive_email(raw).reference or ""
            k.forward(ref, UNITS[n % len(UNITS)])
        else:
            ref = register_case(
                k,
                kind=kind,
                channel=CHANNELS[n % len(CHANNELS)] if not anonymous else "telefon",
                unit=UNITS[n % len(UNITS)],
                text=f"Synpunkt nr {n} om {UNITS[n % len(UNITS)]}.",
                contact=None if anonymous else person,
                dimensions=[DIMENSIONS[n % 4], *([DIMENSIONS[(n + 1) % 4]] if n % 3 == 0 else [])],
                serious=serious,
            ).reference
        references.append(ref)
        case = k.get(ref)
        anonymous = case.anonymous
        if n % 7 == 1:  # R28: the staff report counts flags, whatever disposal does to their reasons
            k.flag_threat(ref, ["krankande", "hotfullt"][n % 2], about="arende", reason=f"Flagga {n}")
        if n % 9 == 4 and not anonymous and not case.serious:
            k.resolve_at_once(ref, f"Ordnat direkt {n}", "Hanna Holm")
        elif n % 11 != 10:  # some are never acknowledged
            clock.set(day + dt.timedelta(days=n % 10))
            k.acknowledge(ref, "Hanna Holm", clock.today() + dt.timedelta(days=20 + n % 15))
            if case.kind is Kind.BEROM:
                k.pass_on_praise(ref, ["Personalen"], f"Beröm nr {n}")
            if n % 4 == 0:
                k.record_action(ref, f"Åtgärd för ärende {n}")
            if n % 8 == 3:
                k.postpone(ref, clock.today() + dt.timedelta(days=40), "Semester")
            if anonymous:
                k.close(ref, None)
            elif n % 5 != 4:
                clock.set(clock.today() + dt.timedelta(days=n % 25))
                k.answer(ref, "skriftligt", f"Svar nr {n}")
                k.close(ref, n % 5 not in (0, 3))
                if n % 6 == 2:
                    k.receive_email(mail(f"Tack för svaret {n}", subject=f"Re: {ref}"))
                if n % 5 in (0, 3) and n % 2 == 0:
                    k.escalate(ref, f"Inte nöjd {n}")
                    if n < 30:
                        k.acknowledge(ref, "Förvaltningschefen")
                        k.answer(ref, "skriftligt", f"Nytt svar {n}")
                        k.close(ref, n % 4 == 0)
        day += dt.timedelta(days=19)
    return references


def numbers(report: Report) -> dict[str, Any]:
    """Everything a report counts: every table but the staff's list of the
    latest actions (texts, which disposal replaces), every chart, the total
    and the notes.  The staff's praise quotes are texts too, and left out."""
    figures: dict[str, Any] = {
        "total": report.total,
        "charts": repr(report.charts),  # repr: a share of nothing is NaN, never equal to itself
        "notes": report.notes,
    }
    figures.update({table.id: table for table in report.tables if table.id != "atgarder"})
    return figures


def test_reports_over_past_periods_are_the_same_after_disposal(k: Klagomal, clock: FixedClock) -> None:
    # R27: disposal removes personal data and texts, never what reports count.
    references = populate(k, clock)
    assert len(references) == 42
    today = dt.date(2026, 6, 15)
    clock.set(today)
    reports = [
        (period, department, audience)
        for period in ("2024", "2024-T2", "2025", "2025-H2", "2026-T1")
        for department in (None, "soc")
        for audience in ("staff", "politicians")
    ]
    before = {
        key: numbers(build_report(k, parse_period(key[0]), department=key[1], audience=key[2]))
        for key in reports
    }
    assert before["2025", None, "staff"]["total"] > 10
    assert {
        "volym-per-typ",
        "kvalitetsdimension",
        "per-kanal",
        "handlaggning",
        "tidsfrister",
        "brister",
    } <= set(before["2025", "soc", "politicians"])
    # R28: flags were set in the period, and their count is among what must stay.
    assert before["2025", None, "staff"]["krankande-hotfullt"].rows[-1][-1] > 0
    rules = [
        rule("kontakter-6", Action.PSEUDONYMISE_CONTACT, 6, serious=False),
        rule("berom-1", Action.REMOVE_TEXTS, 1, kinds=[Kind.BEROM]),
        rule("allt-12", Action.ANONYMISE, 12, serious=False),
        rule("bevara-allvarliga", Action.KEEP, kinds=[Kind.KLAGOMAL], serious=True),
    ]
    check_rules(rules)
    anonymous_before = {ref: k.get(ref).anonymous for ref in references}

    applied = dispose(k, rules, today)

    assert len({a.planned.reference for a in applied}) >= 25
    assert {a.planned.action for a in applied} == {
        Action.ANONYMISE,
        Action.PSEUDONYMISE_CONTACT,
        Action.REMOVE_TEXTS,
    }
    for key in reports:
        after = numbers(build_report(k, parse_period(key[0]), department=key[1], audience=key[2]))
        assert after == before[key], key
    assert {ref: k.get(ref).anonymous for ref in references} == anonymous_before
    for ref in references:
        stored_equals_replay(k, ref)
    # The serious complaints the kommun decided to keep are untouched.
    kept = [ref for ref in references if k.get(ref).serious]
    assert kept
    assert not {a.planned.reference for a in applied} & set(kept)


# -- every row of the case, and none of another's -------------------------------------------------


def reply_from(reference: str, sender: str, text: str, filename: str) -> bytes:
    """An e-mail about case *reference* from *sender*, with a file attached."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "synpunkter@exempelkommun.se"
    message["Subject"] = f"Re: Ärende {reference}"
    message["Message-ID"] = make_msgid(domain="mail.example.net")
    message.set_content(text)
    message.add_attachment(b"%PDF-1.4 bild", maintype="application", subtype="pdf", filename=filename)
    return message.as_bytes()


@attrs.frozen
class Person:
    name: str
    phone: str
    new_name: str
    new_email: str
    #: Who wrote from another address, signing with a shorter name.
    signed: str
    signed_email: str


KARIN = Person(
    "Karin Lindqvist", "070-123 45 67", "Karin Berg", "karin.berg@example.se", "K. L", "kl@example.net"
)
OLLE = Person("Olle Berg", "070-765 43 21", "Olle Ek", "olle.ek@example.se", "O. B", "ob@example.net")


def full_case(k: Klagomal, clock: FixedClock, person: Person) -> tuple[str, str]:
    """A case with a row in every table redaction writes, and its live
    private link's token.

    Registered by phone with only a phone number (so that the person's
    notices are tasks for the handler), followed by a link issued twice
    (the first revoked), a reply from another address taken in from the
    quarantine (so its row keeps the reason it was held) with a file, read
    from one file, again from another and once without a file, the contact
    corrected to a new name and an e-mail address, answered by e-mail
    naming both the new name and the signature, published, delivered, and
    closed with the open task dropped for a reason that names the person."""
    clock.set(dt.date(2024, 4, 8))
    reference = register_case(
        k,
        channel="telefon",
        text=f"{person.name} ringde: matlådan kom inte.",
        contact=Contact(person.name, phone=person.phone),
    ).reference
    k.acknowledge(reference, "Hanna Holm")
    k.follow_link(reference)
    token = k.follow_link(reference)
    raw = reply_from(
        reference,
        f"{person.signed} <{person.signed_email}>",
        f"Den kom inte i dag heller. /{person.signed}",
        f"bild-{person.phone[-2:]}.pdf",
    )
    held = k.receive_email(raw, source_file=f"/var/mail/{person.phone[-2:]}-1.eml")
    assert held.outcome == "quarantined"
    assert k.receive_email(raw, source_file=f"/var/mail/{person.phone[-2:]}-2.eml").outcome == "duplicate"
    assert k.receive_email(raw).outcome == "duplicate"
    with k.storage.engine.connect() as conn:
        message_id = conn.execute(
            sa.select(tables.received_messages.c.id).where(
                tables.received_messages.c.message_key == held.message_key
            )
        ).scalar_one()
    assert k.release_from_quarantine(message_id, into=reference).reference == reference
    k.correct_contact(reference, name=person.new_name, email=person.new_email, reason="Nytt efternamn")
    k.answer(reference, "skriftligt", f"Hej {person.new_name} ({person.signed})! Vi har ordnat det.")
    k.publish(reference)
    k.deliver()
    k.close(reference, True, drop_tasks=f"{person.name} svarar inte i telefon.")
    return reference, token


#: The tables redaction writes besides ``events``, ``cases`` and the search
#: index (whose rows the case's replay and search say), each with what
#: chooses a case's rows.
def redacted_rows(k: Klagomal, reference: str) -> dict[str, list[dict[str, Any]]]:
    t = tables
    messages = sa.select(t.received_messages.c.id).where(t.received_messages.c.reference == reference)
    chosen = {
        t.follow_tokens: t.follow_tokens.c.reference == reference,
        t.notices: t.notices.c.reference == reference,
        t.publications: t.publications.c.reference == reference,
        t.received_messages: t.received_messages.c.reference == reference,
        t.received_duplicates: t.received_duplicates.c.message_id.in_(messages),
        t.attachments: t.attachments.c.reference == reference,
    }
    with k.storage.engine.connect() as conn:
        return {
            table.name: [
                {key: bytes(v) if isinstance(v, memoryview) else v for key, v in row._mapping.items()}
                for row in conn.execute(sa.select(table).where(where).order_by(table.c.id))
            ]
            for table, where in chosen.items()
        }


@pytest.mark.parametrize(
    ("contact", "texts"), [(True, False), (False, True), (True, True)], ids=["contact", "texts", "both"]
)
def test_redaction_rewrites_every_row_of_its_case_and_no_other(
    k: Klagomal, clock: FixedClock, monkeypatch: pytest.MonkeyPatch, contact: bool, texts: bool
) -> None:
    mine, token = full_case(k, clock, KARIN)
    theirs, their_token = full_case(k, clock, OLLE)
    before = redacted_rows(k, mine)
    assert {name: len(rows) for name, rows in before.items()} == {
        "follow_tokens": 2,
        "notices": 2,
        "publications": 1,
        "received_messages": 1,
        "received_duplicates": 2,
        "attachments": 1,
    }
    others = (case_rows(k, theirs), redacted_rows(k, theirs))
    history = k.history(mine)
    marker = f"[gallrat 2026-05-04 enligt {DECISION}]"
    # On a machine set to Swedish time, the moments written are still UTC.
    monkeypatch.setenv("TZ", "Europe/Stockholm")
    time.tzset()
    try:
        start = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        with k.storage.transaction() as uow:
            result = redact_case(uow.conn, k.converter, mine, contact=contact, texts=texts, marker=marker)
        end = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=1)
    finally:
        monkeypatch.undo()
        time.tzset()
    after = redacted_rows(k, mine)

    # What it says it did.
    #   contact: the registration's text and contact, the reply's text,
    #   sender and file, the correction's two contacts, the answer's text (8);
    #   texts: the registration's text, the reply's text and file, the
    #   correction's reason, the answer's text (5);
    #   both: each of these once (9).  Four events each time: the
    #   registration, the reply, the correction and the answer.
    fields, events = {(True, False): (8, 4), (False, True): (5, 4), (True, True): (9, 4)}[contact, texts]
    assert result == RedactionResult(
        reference=mine,
        contact=contact,
        fields=fields,
        events=events,
        messages=1,
        attachments=1,
        notices=2 if contact else 0,
    )

    # Nothing of the other person's case changed, row for row.
    assert (case_rows(k, theirs), redacted_rows(k, theirs)) == others
    assert k.follow(their_token) is not None

    # The private link: the live one is revoked now (in UTC), the revoked one keeps its moment.
    revoked, live = after["follow_tokens"]
    assert revoked == before["follow_tokens"][0]
    if contact:
        assert start <= live["revoked_at"] <= end
        assert k.follow(token) is None
    else:
        assert live == before["follow_tokens"][1]
        assert k.follow(token) is not None
    assert {**live, "revoked_at": None} == before["follow_tokens"][1]

    # The outbox forgets where the notices went and why a task was dropped.
    cleared = [{**n, "address": None, "last_error": None} for n in before["notices"]]
    assert after["notices"] == (cleared if contact else before["notices"])
    assert before["notices"][0]["last_error"] == f"{KARIN.name} svarar inte i telefon."
    assert before["notices"][1]["address"] == KARIN.new_email

    # The publication is withdrawn, its texts replaced, in UTC.
    [published] = after["publications"]
    assert start <= published["withdrawn_at"] <= end
    assert published == {
        **before["publications"][0],
        "description": marker,
        "answer": marker,
        "withdrawn_at": published["withdrawn_at"],
        "withdrawn_by": "klagomal",
        "withdrawn_reason": marker,
    }

    # The message, its copies and its file keep nothing that names the person.
    name = "[gallrad]"
    [message] = before["received_messages"]
    assert all(message[key] for key in ("sender", "subject", "reason", "source_file"))
    assert after["received_messages"] == [
        {
            **message,
            "raw": f"X-Klagomal-Gallrat: {name}\r\n\r\n".encode(),
            "sender": name,
            "subject": name,
            "reason": name,
            "source_file": name,
        }
    ]
    assert [d["source_file"] for d in before["received_duplicates"]] == ["/var/mail/67-2.eml", None]
    assert after["received_duplicates"] == [
        {**before["received_duplicates"][0], "source_file": name},
        before["received_duplicates"][1],
    ]
    assert after["attachments"] == [{**before["attachments"][0], "filename": name, "data": None}]

    # The history: the same steps, each text replaced or scrubbed.
    case = stored_equals_replay(k, mine)
    new = k.history(mine)
    assert [(e.seq, e.type, e.day, e.actor, e.recorded_at) for e in new] == [
        (e.seq, e.type, e.day, e.actor, e.recorded_at) for e in history
    ]
    by_type = {e.data.TYPE: e.data for e in new}
    kept = {e.data.TYPE: e.data for e in history}
    if texts:
        expected_texts = [marker] * 4
    else:
        expected_texts = [
            "[gallrad] ringde: matlådan kom inte.",
            "Den kom inte i dag heller. /[gallrad]",
            "Nytt efternamn",
            "Hej [gallrad] ([gallrad])! Vi har ordnat det.",
        ]
    assert [
        by_type["registered"].text,
        by_type["message_received"].text,
        by_type["contact_corrected"].reason,
        by_type["answered"].text,
    ] == expected_texts
    assert case.text == expected_texts[0]
    if contact:
        assert (by_type["registered"].contact, case.contact) == (Contact(name), Contact(name))
        assert by_type["contact_corrected"].previous == by_type["contact_corrected"].contact == Contact(name)
        assert by_type["message_received"].sender == name
    else:
        assert case.contact == Contact(KARIN.new_name, KARIN.new_email, KARIN.phone)
        assert by_type["message_received"].sender == kept["message_received"].sender
    assert by_type["message_received"].attachments == (name,)


# -- the edges of planning, logging and applying --------------------------------------------------


def test_a_disposal_at_the_moment_of_the_cases_last_step_is_done(k: Klagomal, clock: FixedClock) -> None:
    # With the business date set by hand every step is at noon of the day,
    # and so is a disposal run on it: the case is disposed of, not due again.
    rules = [rule("allt", Action.ANONYMISE, 0)]
    reference = closed_case(k, clock, dt.date(2026, 2, 2))
    [done] = dispose(k, rules, dt.date(2026, 2, 2))
    assert done.disposal.at == k.history(reference)[-1].recorded_at
    assert planned(k, rules, dt.date(2026, 2, 2)) == []


def test_a_keep_rule_for_every_case_keeps_every_case(k: Klagomal, clock: FixedClock) -> None:
    closed_case(k, clock, dt.date(2024, 2, 5))
    closed_case(k, clock, dt.date(2024, 2, 5), kind="berom")
    everything = [rule("allt", Action.ANONYMISE, 12), rule("texter", Action.REMOVE_TEXTS, 12)]
    assert len(planned(k, everything, dt.date(2026, 1, 1))) == 2
    assert planned(k, [*everything, rule("bevara-allt", Action.KEEP)], dt.date(2026, 1, 1)) == []


def test_after_the_texts_went_an_anonymisation_only_replaces_the_contact(
    k: Klagomal, clock: FixedClock
) -> None:
    texts = rule("texter-12", Action.REMOVE_TEXTS, 12)
    everything = rule("allt-36", Action.ANONYMISE, 36)
    reference = closed_case(k, clock, dt.date(2023, 1, 9))
    anonymous = closed_case(k, clock, dt.date(2023, 1, 9), contact=None)
    assert len(dispose(k, [texts], dt.date(2024, 2, 1))) == 2
    assert planned(k, [everything], dt.date(2026, 6, 1)) == [
        (reference, "allt-36", "pseudonymisera_kontakt", dt.date(2026, 1, 9)),
    ]
    [done] = dispose(k, [everything], dt.date(2026, 6, 1))
    assert (done.planned.reference, done.result.contact, k.get(reference).contact) == (
        reference,
        True,
        Contact("[gallrad]"),
    )
    assert planned(k, [texts, everything], dt.date(2026, 6, 2)) == []
    assert k.get(anonymous).contact is None


def test_the_keep_rule_a_request_for_erasure_is_weighed_against(k: Klagomal, clock: FixedClock) -> None:
    keep_soc = rule("bevara-soc", Action.KEEP, departments=["soc"])
    keep_praise = rule("bevara-berom", Action.KEEP, kinds=[Kind.BEROM])
    soc = closed_case(k, clock, dt.date(2024, 2, 5), unit="soc-aldre-solgarden")
    kof = closed_case(k, clock, dt.date(2024, 2, 5), unit="kof-badhus")
    praise = closed_case(k, clock, dt.date(2024, 2, 5), unit="kof-badhus", kind="berom")
    rules = [rule("allt", Action.ANONYMISE, 12), keep_soc, keep_praise]
    with k.storage.transaction() as uow:
        assert [keeping_rule(uow.conn, rules, ref) for ref in (soc, kof, praise)] == [
            keep_soc,
            None,
            keep_praise,
        ]
        with pytest.raises(CaseNotFoundError) as unknown:
            keeping_rule(uow.conn, rules, "2024-99999")
    assert unknown.value.reference == "2024-99999"


def test_a_disposal_is_logged_under_a_manual_rule_with_its_decision_and_read_back_whole(
    k: Klagomal, clock: FixedClock
) -> None:
    reference = closed_case(k, clock, dt.date(2024, 1, 10))
    at = dt.datetime(2026, 1, 1, 9, 30, tzinfo=dt.UTC)
    with k.storage.transaction() as uow:
        first = record(
            uow.conn,
            reference,
            "manuell",
            Action.REMOVE_TEXTS,
            decision="  Beslut av arkivarien, dnr KS 2026/1  ",
            user_id="arkivarie",
            at=at,
            day=dt.date(2026, 1, 1),
            detail="fält ersatta: 2",
        )
        # A rule's own decision is logged unless another is given.
        second = record(
            uow.conn,
            reference,
            rule("allt", Action.ANONYMISE),
            Action.ANONYMISE,
            user_id="arkivarie",
            at=at,
            day=dt.date(2026, 1, 1),
            detail="",
        )
        with pytest.raises(ConfigurationError) as refused:
            record(
                uow.conn,
                reference,
                "manuell",
                Action.ANONYMISE,
                user_id="arkivarie",
                at=at,
                day=dt.date(2026, 1, 1),
                detail="",
            )
        assert str(refused.value) == f"Gallring av {reference} loggas inte utan det beslut den sker enligt"
    assert first == Disposal(
        reference=reference,
        rule="manuell",
        decision="Beslut av arkivarien, dnr KS 2026/1",
        action=Action.REMOVE_TEXTS,
        user_id="arkivarie",
        detail="fält ersatta: 2",
        at=at,
        day=dt.date(2026, 1, 1),
        id=first.id,
    )
    assert (second.rule, second.decision) == ("allt", DECISION)
    assert isinstance(first.id, int)
    assert isinstance(second.id, int)
    assert second.id > first.id
    with k.storage.transaction() as uow:
        assert disposed(uow.conn, reference) == [first, second]


def test_apply_passes_over_what_it_cannot_do_and_logs_the_rest_whole(k: Klagomal, clock: FixedClock) -> None:
    closed = dt.date(2024, 1, 10)
    reference = closed_case(k, clock, closed)
    texts = rule("texter", Action.REMOVE_TEXTS, 12)
    keep = rule("bevara", Action.KEEP)
    items = [
        Planned(reference, keep, Action.KEEP, closed, closed),  # nothing to do
        Planned("2024-99999", texts, Action.REMOVE_TEXTS, closed, closed),  # no such case
        Planned(reference, texts, Action.REMOVE_TEXTS, closed, dt.date(2025, 1, 10)),
    ]
    at = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    with k.storage.transaction() as uow:
        [applied] = apply(uow.conn, k.converter, items, user_id="arkivarie", at=at, day=dt.date(2026, 1, 1))
        log = disposed(uow.conn, reference)
    assert applied.planned == items[2]
    assert applied.disposal == log[0]
    assert len(log) == 1
    assert applied.disposal.detail == (
        "Ta bort texter enligt regeln 'texter', 12 månader efter avslut 2024-01-10: fält ersatta: 2; "
        "händelser ändrade: 2; e-postmeddelanden rensade: 0; bilagor rensade: 0"
    )


def test_a_request_for_erasure_is_logged_as_its_own_rule(k: Klagomal, clock: FixedClock) -> None:
    reference = closed_case(k, clock, dt.date(2026, 2, 2))
    done = anonymised(k, reference, "Begäran om radering, dnr KS 2026/80")
    assert (done.planned.rule.id, done.planned.rule.source, done.planned.rule.decision) == (
        GDPR_RULE,
        "begäran om radering",
        "Begäran om radering, dnr KS 2026/80",
    )


# -- redaction's own edges ----------------------------------------------------------------------


def test_redaction_names_an_unknown_case_and_refuses_a_name_marker_that_does_not_fit(
    k: Klagomal, clock: FixedClock
) -> None:
    reference = closed_case(k, clock, dt.date(2024, 1, 10))
    with k.storage.transaction() as uow, pytest.raises(CaseNotFoundError) as unknown:
        redact_case(uow.conn, k.converter, "2024-99999", contact=True, texts=True, marker="x")
    assert unknown.value.reference == "2024-99999"
    before = case_rows(k, reference)
    for name_marker in ("", "x" * (NAME_MARKER_LENGTH + 1), "[gallrad]\n"):
        with k.storage.transaction() as uow, pytest.raises(ValueError, match=r"^name_marker") as refused:
            redact_case(
                uow.conn,
                k.converter,
                reference,
                contact=True,
                texts=True,
                marker="x",
                name_marker=name_marker,
            )
        assert str(refused.value) == "name_marker must be one line of 1 to 200 characters"
    assert case_rows(k, reference) == before
    # The shortest and the longest that fit are written whole.
    with k.storage.transaction() as uow:
        redact_case(uow.conn, k.converter, reference, contact=True, texts=False, marker="x", name_marker="–")
    assert k.get(reference).contact == Contact("–")
    longest = "x" * NAME_MARKER_LENGTH
    with k.storage.transaction() as uow:
        redact_case(
            uow.conn, k.converter, reference, contact=True, texts=False, marker="x", name_marker=longest
        )
    assert k.get(reference).contact == Contact(longest)


def test_redaction_asked_to_replace_nothing_changes_nothing(k: Klagomal, clock: FixedClock) -> None:
    # Not even the e-mail addresses and phone numbers any text holds.
    reference = closed_case(k, clock, dt.date(2024, 1, 10), text=f"Ring mig på {PHONE} eller mejla {EMAIL}.")
    before = case_rows(k, reference)
    with k.storage.transaction() as uow:
        result = redact_case(uow.conn, k.converter, reference, contact=False, texts=False, marker="x")
    assert result == RedactionResult(reference)
    assert case_rows(k, reference) == before


def test_a_longer_value_is_replaced_before_a_shorter_one_it_begins_with_in_any_case() -> None:
    # "karin" sorts after "Karin Lindqvist" and is shorter: the full name
    # must still be replaced whole, not as "[gallrad] Lindqvist".
    for values in (["Karin Lindqvist", "karin"], ["karin", "Karin Lindqvist"]):
        scrub = _scrubber(values, "[gallrad]")
        assert scrub("Karin Lindqvist ringde, sedan ringde karin igen.") == (
            "[gallrad] ringde, sedan ringde [gallrad] igen."
        )


def test_values_shorter_than_three_characters_and_the_replacement_itself_are_not_looked_for() -> None:
    scrub = _scrubber(["Ek", " Eva ", "[gallrad]", None, ""], "[gallrad]")
    assert scrub("Ek och Eva vid eken; [gallrad] redan.") == "Ek och [gallrad] vid eken; [gallrad] redan."
    # Without values only the patterns are looked for, and nothing else is touched.
    bare = _scrubber([], "[x]")
    assert bare(" - (070-123 45 67) - ") == " - ([x]) - "
    assert bare("") == ""


def test_the_redactor_leaves_a_missing_sender_and_counts_only_notes_it_changed() -> None:
    redactor = _Redactor(
        contact=True,
        texts=False,
        marker="[gallrat]",
        name_marker="[gallrad]",
        scrub=_scrubber(["Karin"], "[gallrad]"),
        scrub_notes=_scrubber(["Karin"], "[gallrad]"),
    )
    assert redactor.name(None) is None
    assert redactor.notes(("Karin ringde", "Ingen kontakt", "Karin igen")) == (
        "[gallrad] ringde",
        "Ingen kontakt",
        "[gallrad] igen",
    )
    assert redactor.fields == 2
    with pytest.raises(TypeError) as unknown:
        redactor.payload(Contact())  # type: ignore[arg-type]
    assert str(unknown.value) == "disposal does not know the event payload Contact"


def test_a_file_name_is_scrubbed_from_the_texts_of_its_own_case_only(k: Klagomal, clock: FixedClock) -> None:
    # The registration's e-mail names no file in its event: the names come
    # from the stored attachments, of this case and no other.
    clock.set(dt.date(2024, 4, 8))
    theirs = k.receive_email(
        mail("Protokollet bifogas.", subject="Protokoll", attachment=("protokoll-2024.pdf", b"%PDF-1.4 P"))
    ).reference
    mine = k.receive_email(
        mail(
            "Se min bild karin-bild-7.pdf. Jag har också läst protokoll-2024.pdf.",
            subject="Snöröjning",
            attachment=("karin-bild-7.pdf", b"%PDF-1.4 K"),
        )
    ).reference
    assert mine is not None
    assert theirs is not None
    with k.storage.transaction() as uow:
        result = redact_case(uow.conn, k.converter, mine, contact=True, texts=False, marker="x")
    assert k.get(mine).text == "Se min bild [gallrad]. Jag har också läst protokoll-2024.pdf."
    assert result.attachments == 1


def test_a_notice_with_nothing_to_forget_is_not_counted(k: Klagomal, clock: FixedClock) -> None:
    # A task done by phone has no address and no error: pseudonymisation
    # clears nothing in it, and does not say it did.
    clock.set(dt.date(2024, 4, 8))
    reference = register_case(k, contact=Contact(NAME, phone=PHONE)).reference
    k.acknowledge(reference, "Hanna Holm")
    [task] = k.outbox(reference=reference)
    k.complete_task(task.id or 0)
    before = k.outbox(reference=reference)
    with k.storage.transaction() as uow:
        result = redact_case(uow.conn, k.converter, reference, contact=True, texts=False, marker="x")
    assert result.notices == 0
    assert k.outbox(reference=reference) == before

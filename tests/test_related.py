"""Related cases (issue 19, item 7; R13, R15, R27): ``Klagomal.related``,
``klagomal related`` and the lists ``register`` and ``show`` print.

On SQLite, PostgreSQL and MariaDB: the same person by e-mail address,
phone number or personnummer in any spelling, open or recently closed;
similar texts at the same unit within 30 days; the acting user's scope
(a case outside it is neither listed nor counted); a protected identity
and secret texts never matched or quoted through another case; the audit
entry; nothing written but the audit log; the keys following anonymisation
and filled by the migration for stored cases.  Hypothesis checks the
invariants of the matching itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from klagomal import Contact, FixedClock, Klagomal
from klagomal.cases.related import (
    RECENTLY_CLOSED_DAYS,
    SIMILAR_WINDOW_DAYS,
    Related,
    similarity,
    stems,
)
from klagomal.cli import main
from klagomal.core.errors import AccessDeniedError
from klagomal.core.person_keys import email_key, normalise_email, person_keys, phone_key
from klagomal.records.gdpr import PersonQuery
from klagomal.storage import migrate
from klagomal.storage.tables import audit_log, cases, events
from test_cli import Cli, console_block, run_session

UNIT = "soc-aldre-hemtjanst-norr"
SAME_DEPARTMENT_UNIT = "soc-aldre-solgarden"
OTHER_DEPARTMENT_UNIT = "klf-kontaktcenter"
GROUND = "OSL 26 kap. 1 §"
SNOW = "Snöröjningen på Storgatan är dålig, ingen har plogat trottoaren."
SNOW_AGAIN = "Storgatan är inte plogad och snöröjningen har glömt trottoaren igen."
OTHER_TEXT = "Maten på äldreboendet var kall vid lunch."
_people = itertools.count(1)


@pytest.fixture
def k(new_database: Callable[[], str], clock: FixedClock) -> Iterator[Klagomal]:
    """A Klagomal on a new database of each backend, acting as ``system``."""
    instance = Klagomal(new_database(), clock=clock, load_entrypoints=False, user="system")
    instance.init()
    yield instance
    instance.dispose()


def register(k: Klagomal, text: str = OTHER_TEXT, **kw: Any) -> str:
    kw.setdefault("kind", "klagomal")
    kw.setdefault("channel", "telefon")
    kw.setdefault("unit", UNIT)
    kw.setdefault("contact", Contact(name="Någon Annan", email=f"annan.{next(_people)}@example.se"))
    return str(k.register(text=text, **kw).reference)


def same(related: Related) -> dict[str, tuple[str, ...]]:
    return {c.reference: c.matched for c in related.same_person}


def similar(related: Related) -> list[str]:
    return [c.reference for c in related.similar]


# -- the same person ---------------------------------------------------------------------------


def test_the_same_person_by_email_phone_or_personnummer_in_any_spelling(k: Klagomal) -> None:
    first = register(
        k,
        "Hemtjänsten kom sent.",
        contact=Contact(
            name="Eva Lund", email="Eva.Lund@Example.SE", phone="070-123 45 67", personnummer="19121212-1212"
        ),
    )
    by_email = register(k, "Ett.", contact=Contact(email="eva.lund@example.se"))
    by_phone = register(k, "Två.", contact=Contact(phone="+46 70 123 45 67"))
    by_number = register(k, "Tre.", contact=Contact(name="E. Lund", personnummer="121212+1212"))
    by_all = register(
        k,
        "Fyra.",
        contact=Contact(email="EVA.LUND@example.se", phone="0701234567", personnummer="191212121212"),
    )
    register(k, "Fem.", contact=Contact(name="Eva Lund", email="evalund@example.se", phone="070-123 45 68"))
    register(k, "Sex.", contact=None)  # anonymous
    assert same(k.related(first)) == {
        by_email: ("email",),
        by_phone: ("phone",),
        by_number: ("personnummer",),
        by_all: ("email", "phone", "personnummer"),
    }
    # The newest first, and the reason in Swedish.
    found = k.related(first).same_person
    assert [c.reference for c in found] == [by_all, by_number, by_phone, by_email]
    assert found[0].why == "samma e-postadress, samma telefonnummer, samma personnummer"
    assert found[2].why == "samma telefonnummer"
    # Each way round.
    assert same(k.related(by_phone)) == {first: ("phone",), by_all: ("phone",)}


def test_an_anonymous_case_is_related_to_nobodys(k: Klagomal) -> None:
    anonymous = register(k, SNOW, contact=None, channel="brev")
    other = register(k, "Annat.", contact=Contact(email="x@example.se"))
    assert k.related(anonymous).same_person == ()
    assert anonymous not in same(k.related(other))


def test_open_cases_and_those_closed_in_the_last_90_days(k: Klagomal, clock: FixedClock) -> None:
    eva = Contact(name="Eva Lund", email="eva@example.se")
    closed = register(k, "Stängt.", contact=eva, resolved="Vi ringde upp.", resolved_by="Omar Ali")
    assert k.get(closed).state.value == "avslutat"
    clock.advance(RECENTLY_CLOSED_DAYS)
    still_open = register(k, "Öppet.", contact=eva)
    new = register(k, "Nytt.", contact=eva)
    assert set(same(k.related(new))) == {closed, still_open}
    clock.advance(1)
    assert set(same(k.related(new))) == {still_open}


# -- similar texts ----------------------------------------------------------------------------


def test_similar_texts_at_the_same_unit_within_30_days(k: Klagomal, clock: FixedClock) -> None:
    clock.set(dt.date(2026, 2, 1))
    too_early = register(k, SNOW_AGAIN)
    clock.set(dt.date(2026, 2, 2))
    earliest = register(k, SNOW_AGAIN)
    clock.set(dt.date(2026, 3, 4))
    case = register(k, SNOW)
    twin = register(k, SNOW_AGAIN)
    register(k, SNOW_AGAIN, unit=SAME_DEPARTMENT_UNIT)  # another unit
    register(k, OTHER_TEXT)  # another matter
    clock.set(dt.date(2026, 4, 3))
    latest = register(k, SNOW_AGAIN)
    clock.set(dt.date(2026, 4, 4))
    register(k, SNOW_AGAIN)  # too late
    found = k.related(case)
    assert sorted(similar(found)) == sorted([earliest, twin, latest])
    assert too_early not in similar(found)
    [entry] = [c for c in found.similar if c.reference == twin]
    assert entry.score is not None
    assert 0.3 <= entry.score < 1
    assert set(entry.shared) == {"snöröjningen", "storgatan", "plogat", "trottoaren"}
    assert entry.why.startswith("likhet ")
    assert case not in similar(found)  # never itself
    # The window lies around the case: related both ways.
    assert case in similar(k.related(earliest))
    assert case in similar(k.related(latest))
    assert SIMILAR_WINDOW_DAYS == 30


def test_the_most_similar_come_first_and_at_most_five(k: Klagomal) -> None:
    case = register(k, SNOW)
    exact = register(k, SNOW)
    others = [register(k, SNOW_AGAIN + f" Nummer{i}.") for i in range(6)]
    found = k.related(case).similar
    assert len(found) == 5
    assert found[0].reference == exact
    assert found[0].score == 1.0
    assert {c.reference for c in found[1:]} <= set(others)


def test_a_case_of_the_same_person_is_listed_once(k: Klagomal) -> None:
    eva = Contact(email="eva@example.se")
    case = register(k, SNOW, contact=eva)
    twin = register(k, SNOW_AGAIN, contact=eva)
    found = k.related(case)
    assert same(found) == {twin: ("email",)}
    assert found.similar == ()


# -- access, protected persons, secrecy ----------------------------------------------------------


def test_only_cases_the_user_may_read_are_listed_or_counted(k: Klagomal) -> None:
    eva = Contact(name="Eva Lund", email="eva@example.se")
    here = register(k, SNOW, contact=eva)
    next_door = register(k, SNOW_AGAIN, contact=eva, unit=SAME_DEPARTMENT_UNIT)
    elsewhere = register(k, SNOW_AGAIN, contact=eva, unit=OTHER_DEPARTMENT_UNIT)
    assert set(same(k.related(here))) == {next_door, elsewhere}  # the system owner sees all
    assert set(same(k.as_user("kim.berg").related(here))) == {next_door}  # soc's administrator
    assert same(k.as_user("omar.ali").related(here)) == {}  # a handler at the unit
    assert same(k.as_user("kontaktcenter").related(elsewhere)) == {}  # another förvaltning
    entry = k.audit_log()[-1]
    assert (entry.user_id, entry.action, entry.reference) == ("kontaktcenter", "lasa", elsewhere)
    with pytest.raises(AccessDeniedError):
        k.as_user("omar.ali").related(elsewhere)
    with pytest.raises(AccessDeniedError, match="lista ärenden"):
        k.as_user("sven.ek").related(here)


def test_a_protected_identity_ties_no_cases_for_one_who_may_not_see_it(k: Klagomal) -> None:
    email = "skoldpadda@example.se"
    protected = register(k, "Ett.", contact=Contact(name="Skyddad", email=email, protected=True))
    plain = register(k, "Två.", contact=Contact(name="Sköldpadda", email=email))
    # omar.ali may not see skyddade personuppgifter: neither way round.
    assert same(k.as_user("omar.ali").related(plain)) == {}
    assert same(k.as_user("omar.ali").related(protected)) == {}
    # kim.berg may.
    assert same(k.as_user("kim.berg").related(plain)) == {protected: ("email",)}
    assert same(k.as_user("kim.berg").related(protected)) == {plain: ("email",)}


def test_the_words_of_a_secret_text_are_never_shown_through_another_case(k: Klagomal) -> None:
    secret = register(k, SNOW + " Hemligheten.")
    k.mark_secret(secret, GROUND, parts=[1])
    whole = register(k, SNOW + " Hemligt.")
    k.mark_secret(whole, GROUND)
    plain = register(k, SNOW_AGAIN)
    found = k.as_user("omar.ali").related(plain)
    assert set(similar(found)) == {secret, whole}
    assert all(c.shared == () and c.score for c in found.similar)
    assert "snöröjning" not in repr(found).lower()
    from_secret = k.as_user("omar.ali").related(secret)
    assert set(similar(from_secret)) == {plain, whole}
    assert all(c.shared == () for c in from_secret.similar)
    # A reader outside the scope of the secret cases gets nothing about them.
    with pytest.raises(AccessDeniedError):
        k.as_user("kontaktcenter").related(secret)


# -- what is written ------------------------------------------------------------------------------


def count(k: Klagomal, table: sa.Table) -> int:
    with k.storage.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_nothing_is_merged_or_written_but_the_audit_log(k: Klagomal) -> None:
    eva = Contact(email="eva@example.se")
    a = register(k, SNOW, contact=eva)
    b = register(k, SNOW_AGAIN, contact=eva)
    c = register(k, SNOW_AGAIN)
    before = {ref: k.get(ref) for ref in (a, b, c)}
    written = count(k, events)
    audited = count(k, audit_log)
    k.as_user("omar.ali").related(a)
    assert count(k, events) == written
    assert count(k, audit_log) == audited + 2
    assert {ref: k.get(ref) for ref in (a, b, c)} == before
    read = k.audit_log(user_id="omar.ali")
    assert [(e.action, e.reference, e.detail) for e in read] == [
        ("lasa", a, "related"),
        ("lista", None, read[-1].detail),
    ]
    assert read[-1].detail.startswith("related (2): ")
    assert set(read[-1].detail.split(": ", 1)[1].split()) == {b, c}


def test_anonymisation_unties_the_person(k: Klagomal) -> None:
    musse = Contact(name="Musse Pigg", email="musse@example.se", phone="070-999 88 77")
    a = register(k, "Ett.", contact=musse)
    b = register(k, "Två.", contact=musse)
    assert same(k.related(a)) == {b: ("email", "phone")}
    k.anonymise_person(PersonQuery(email="musse@example.se"), "Dnr 2026/17")
    assert same(k.related(a)) == {}
    with k.storage.engine.connect() as conn:
        keys = conn.execute(sa.select(cases.c.contact_email_key, cases.c.contact_phone_key)).all()
    assert all(tuple(row) == (None, None) for row in keys)


def test_the_migration_fills_the_keys_of_stored_cases(k: Klagomal) -> None:
    a = register(k, "Ett.", contact=Contact(email="Eva@Example.se", phone="070-123 45 67"))
    b = register(k, "Två.", contact=Contact(email="eva@example.se", phone="+46701234567"))
    engine = k.storage.engine
    config = migrate.alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
    with engine.connect() as conn:
        assert "contact_email_key" not in {c["name"] for c in sa.inspect(conn).get_columns("cases")}
    k.init()
    assert same(k.related(a)) == {b: ("email", "phone")}


# -- the command line --------------------------------------------------------------------------------


def run_cli(k: Klagomal, *argv: str, user: str = "system") -> tuple[int, str, str]:
    url = k.storage.engine.url.render_as_string(hide_password=False)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(["--db", url, "--user", user, "--today", "2026-03-02", *argv], stdout=out)
    return status, out.getvalue(), err.getvalue()


REGISTER = ["register", "--kind", "klagomal", "--channel", "telefon", "--unit", UNIT]


def test_register_show_and_related_list_them(k: Klagomal) -> None:
    status, out, _err = run_cli(k, *REGISTER, "--text", SNOW, "--email", "Eva@Example.se")
    assert (status, out) == (
        0,
        "Registrerade 2026-00001 (Klagomål) hos Hemtjänst Norr. Besked ska ges senast 2026-03-16.\n",
    )
    status, out, _err = run_cli(k, *REGISTER, "--text", SNOW_AGAIN, "--phone", "070-123 45 67")
    assert status == 0
    assert out.splitlines()[1:] == [
        "Liknande ärenden:",
        "  2026-00001  Registrerat  Hemtjänst Norr  2026-03-02  "
        "likhet 73 %: storgatan, plogad, snöröjningen, trottoaren",
    ]
    status, out, _err = run_cli(
        k, *REGISTER, "--text", "Annat.", "--email", "eva@example.se", "--phone", "+46 70 123 45 67"
    )
    assert out.splitlines()[1:] == [
        "Samma person:",
        "  2026-00002  Registrerat  Hemtjänst Norr  2026-03-02  samma telefonnummer",
        "  2026-00001  Registrerat  Hemtjänst Norr  2026-03-02  samma e-postadress",
    ]
    status, out, _err = run_cli(k, "show", "2026-00001")
    assert status == 0
    shown = out.split("Relaterade ärenden:\n", 1)[1]
    assert shown.splitlines() == [
        "  Samma person:",
        "    2026-00003  Registrerat  Hemtjänst Norr  2026-03-02  samma e-postadress",
        "  Liknande ärenden:",
        "    2026-00002  Registrerat  Hemtjänst Norr  2026-03-02  "
        "likhet 73 %: snöröjningen, storgatan, plogat, trottoaren",
    ]
    status, out, _err = run_cli(k, "--json", "show", "2026-00001")
    related = json.loads(out)["related"]
    assert [c["reference"] for c in related["same_person"]] == ["2026-00003"]
    assert related["same_person"][0]["matched"] == ["email"]
    assert related["similar"][0]["score"] == 0.73
    status, out, _err = run_cli(k, "--json", "register", *REGISTER[1:], "--text", "Nytt.", "--anonymous")
    assert json.loads(out)["related"] == {"same_person": [], "similar": []}
    status, out, _err = run_cli(k, "related", "2026-00003")
    assert (status, out.splitlines()[0]) == (0, "Samma person:")
    status, out, _err = run_cli(k, "related", "2026-00004")
    assert (status, out) == (0, "Inga relaterade ärenden.\n")
    status, out, _err = run_cli(k, "--json", "related", "2026-00002")
    assert json.loads(out)["reference"] == "2026-00002"
    status, out, err = run_cli(k, "related", "2026-00001", user="sven.ek")
    assert status != 0
    assert "lista ärenden" in err


def related_example() -> list[tuple[str, str]]:
    """The console block in docs/cli.md that shows ``related``."""
    return console_block(command=" related 2026-00001")


def test_the_related_example_in_the_docs_runs_as_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("KLAGOMAL_DB", "KLAGOMAL_ORG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KLAGOMAL_USER", "nora.lind")
    monkeypatch.chdir(tmp_path)
    Cli().ok("init")
    steps = related_example()
    assert any(" register " in command for command, _ in steps)
    assert run_session(steps) == steps


# -- invariants ------------------------------------------------------------------------------------

_text = st.text(alphabet=st.sampled_from("abcdeåäö lmnorst"), max_size=80)


@given(_text, _text)
def test_similarity_is_symmetric_and_bounded(a: str, b: str) -> None:
    one, other = similarity(stems(a), stems(b)), similarity(stems(b), stems(a))
    assert one == other
    assert 0.0 <= one.score <= 1.0 + 1e-9


@given(_text)
def test_a_text_is_wholly_like_itself(text: str) -> None:
    found = similarity(stems(text), stems(text))
    assert found.score == (1.0 if stems(text) else 0.0)


_local = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9._+-]{0,15}[a-zA-Z0-9]", fullmatch=True)
_domain = st.from_regex(r"[a-zA-Z][a-zA-Z0-9-]{0,10}\.(se|com|nu)", fullmatch=True)


@given(_local, _domain, st.sampled_from([str.lower, str.upper, str.title, lambda s: s]))
def test_the_email_key_ignores_case_and_agrees_with_gdpr(local: str, domain: str, case: Any) -> None:
    address = f"{local}@{domain}"
    assert email_key(case(address)) == email_key(address.lower()) == normalise_email(address)


@given(
    st.lists(st.integers(0, 9), min_size=8, max_size=9),
    st.lists(st.sampled_from([" ", "-", ""]), min_size=9, max_size=9),
)
def test_the_phone_key_ignores_the_way_it_is_written(digits: list[int], gaps: list[str]) -> None:
    national = "".join(str(d) for d in digits)
    spaced = "".join(d + g for d, g in zip(national, gaps, strict=False))
    key = phone_key("0" + national)
    assert key == "0" + national
    assert phone_key("0" + spaced) == phone_key("+46 " + spaced) == phone_key("0046" + spaced) == key


@given(_local, _domain)
def test_a_contact_shares_every_key_with_itself_and_none_with_anonymity(local: str, domain: str) -> None:
    contact = Contact(email=f"{local}@{domain}", phone="070-123 45 67", personnummer="191212121212")
    keys = person_keys(contact)
    assert keys.shared_with(keys) == ("email", "phone", "personnummer")
    assert keys.shared_with(person_keys(None)) == ()
    assert not person_keys(None).any


def test_a_case_is_never_related_to_itself(k: Klagomal) -> None:
    eva = Contact(email="eva@example.se", phone="0701234567")
    refs = [register(k, SNOW, contact=eva) for _ in range(3)]
    for ref in refs:
        found = k.related(ref)
        assert ref not in found.references
        assert set(found.references) == set(refs) - {ref}


_contacts = st.one_of(
    st.none(),
    st.builds(
        Contact,
        email=st.one_of(st.none(), st.sampled_from(["eva@example.se", "EVA@Example.se", "bo@example.se"])),
        phone=st.one_of(st.none(), st.sampled_from(["070-123 45 67", "+46701234567", "08-123 456 78"])),
        name=st.just("Någon"),
    ),
)
_texts = st.lists(
    st.sampled_from(["snöröjningen", "storgatan", "plogat", "trottoaren", "maten", "lunch", "buller"]),
    min_size=1,
    max_size=5,
).map(" ".join)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_contacts, _texts), min_size=1, max_size=5))
def test_related_cases_are_others_and_each_shares_a_key_or_words(
    tmp_path: Path, clock: FixedClock, registrations: list[tuple[Contact | None, str]]
) -> None:
    # A property over whole registrations, on SQLite: never the case itself, a case
    # of the same person shares a key with it, and a similar case shares words.
    url = f"sqlite:///{tmp_path / f'p{next(_people)}.db'}"
    with Klagomal(url, clock=clock, load_entrypoints=False, user="system") as k:
        k.init()
        refs = [register(k, text, contact=contact, channel="brev") for contact, text in registrations]
        for ref in refs:
            found = k.related(ref)
            assert ref not in found.references
            mine = k.get(ref)
            for entry in found.same_person:
                shared = person_keys(mine.contact).shared_with(person_keys(k.get(entry.reference).contact))
                assert shared == entry.matched != ()
            for entry in found.similar:
                assert similarity(stems(mine.text), stems(k.get(entry.reference).text)).enough

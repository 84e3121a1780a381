"""Finding a person's data (GDPR, klagomal.records.gdpr): exact matches of
normalised values, never a part of one, on SQLite, PostgreSQL and MariaDB.

# R27: a person's export (article 15) must hold everything about them and
# nothing about anyone else; anonymisation must touch nobody else's case.
``anna@example.se`` must not get what ``johanna@example.se`` wrote, while
``ANNA@Example.se`` and ``Anna Lind <anna@example.se>`` are the same address.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from klagomal import FixedClock, Klagomal
from klagomal.core.errors import InvalidInputError
from klagomal.core.model import Contact
from klagomal.records.gdpr import PersonQuery, normalise_email, normalise_name, normalise_phone
from klagomal.storage.tables import cases

UNIT = "soc-aldre-hemtjanst-norr"
_ids = itertools.count(1)


@pytest.fixture
def k(any_db_url: str, clock: FixedClock) -> Iterator[Klagomal]:
    """On every backend."""
    with Klagomal(any_db_url, clock=clock, load_entrypoints=False) as instance:
        instance.init()
        yield instance


def register(k: Klagomal, text: str, **contact: Any) -> str:
    case = k.register(kind="klagomal", channel="telefon", unit=UNIT, text=text, contact=Contact(**contact))
    return case.reference


def auto_reply(k: Klagomal, sender: str, subject: str) -> None:
    """A received message that belongs to no case: an automatic reply."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "synpunkter@exempelkommun.se"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.se", idstring=str(next(_ids)))
    message["Auto-Submitted"] = "auto-replied"
    message.set_content("Jag är på semester.")
    assert k.receive_email(message.as_bytes()).outcome == "automatic"


def exported(k: Klagomal, **query: str) -> tuple[list[str], list[str]]:
    """The references of the cases and the subjects of the unattached messages exported."""
    data = k.person_export(PersonQuery(**query))
    return [c["reference"] for c in data["cases"]], [m["subject"] for m in data["unattached"]]


def test_an_address_never_finds_another_that_ends_with_it(k: Klagomal) -> None:
    # The attacker's repro: anna@ got johanna@'s cases and messages.
    anna = register(k, "Annas klagomål", name="Anna Lind", email="anna@example.se")
    johanna = register(k, "Johannas klagomål", name="Johanna Berg", email="johanna@example.se")
    register(k, "Mariannas klagomål", email="marianna@example.se.com")
    auto_reply(k, "Johanna Berg <johanna@example.se>", "Johannas frånvaro")
    auto_reply(k, "anna@example.se.evil.example", "Någon annans frånvaro")
    auto_reply(k, "Anna Lind <Anna@Example.se>", "Annas frånvaro")
    assert exported(k, email="anna@example.se") == ([anna], ["Annas frånvaro"])
    assert exported(k, email="johanna@example.se") == ([johanna], ["Johannas frånvaro"])
    # Nor a part of the domain or of the local part.
    assert exported(k, email="nna@example.se") == ([], [])
    assert exported(k, email="anna@example.s") == ([], [])


@pytest.mark.parametrize(
    "query",
    [
        "ANNA@Example.se",
        "  anna@example.se ",
        "Anna Lind <anna@EXAMPLE.SE>",
        "<anna@example.se>",
        "anna@example.se.",
    ],
)
def test_any_spelling_of_the_address_finds_the_person(k: Klagomal, query: str) -> None:
    anna = register(k, "Annas klagomål", email="anna@example.se")
    # Registration now takes the address alone; older data may hold it in any form.
    stored_otherwise = register(k, "Annas förslag", email="Anna@Example.SE")
    with k.storage.transaction() as uow:
        uow.conn.execute(  # type: ignore[attr-defined]
            sa.update(cases)
            .where(cases.c.reference == stored_otherwise)
            .values(contact_email=" Anna Lind <Anna@Example.SE>")
        )
    register(k, "Johannas klagomål", email="johanna@example.se")
    auto_reply(k, "Anna Lind <anna@example.se>", "Annas frånvaro")
    assert exported(k, email=query) == ([anna, stored_otherwise], ["Annas frånvaro"])


def test_a_domain_matches_in_unicode_and_in_its_ascii_form(k: Klagomal) -> None:
    per = register(k, "Pers klagomål", email="Per@Exämple.se")
    register(k, "Någon annans", email="per@example.se")
    assert exported(k, email="per@xn--exmple-cua.se") == ([per], [])
    assert exported(k, email="PER@EXÄMPLE.SE") == ([per], [])


def test_anonymising_one_address_leaves_the_longer_one_alone(k: Klagomal) -> None:
    anna = register(k, "Annas klagomål", email="anna@example.se")
    johanna = register(k, "Johannas klagomål", email="johanna@example.se")
    done = k.anonymise_person(PersonQuery(email="ANNA@example.se"), "Begäran 2026-11-20, dnr KS 2026/77")
    assert [item.planned.reference for item in done] == [anna]
    kept = k.get(johanna)
    assert kept.contact is not None
    assert (kept.contact.email, kept.text) == ("johanna@example.se", "Johannas klagomål")


def test_a_name_is_matched_whole_in_any_case_also_with_swedish_letters(k: Klagomal) -> None:
    # SQLite's lower() leaves Å, Ä and Ö as they are: the name must still be found.
    asa = register(k, "Åsas klagomål", name="Åsa Öberg")
    register(k, "Någon annans", name="Åsa Öberg Lind")
    register(k, "En tredjes", name="Lisa Öberg")
    assert exported(k, name="ÅSA ÖBERG") == ([asa], [])
    assert exported(k, name=" åsa  öberg ") == ([asa], [])
    assert exported(k, name="sa Öberg") == ([], [])
    assert exported(k, name="Öberg") == ([], [])


def test_a_phone_number_is_matched_whole_whatever_its_separators(k: Klagomal) -> None:
    first = register(k, "Första", phone="070-123 45 67")
    second = register(k, "Andra", phone="+46 (70) 123.45.67")
    register(k, "Längre nummer", phone="070-123 45 678")
    register(k, "Kortare nummer", phone="70-123 45 67")
    assert exported(k, phone="+46701234567") == ([first, second], [])
    assert exported(k, phone="123 45 67") == ([], [])


def test_a_query_that_is_no_whole_address_is_refused_in_swedish(k: Klagomal) -> None:
    register(k, "Annas klagomål", email="anna@example.se")
    for query in ("anna", "@example.se", "anna@"):
        with pytest.raises(InvalidInputError, match="är ingen hel adress"):
            k.person_export(PersonQuery(email=query))
    with pytest.raises(InvalidInputError, match="namnet är tomt"):
        k.person_export(PersonQuery(name="   "))


# -- the normalisation, for any input ---------------------------------------------

LOCAL = st.text(st.sampled_from("abAB.-_åÅ1"), min_size=1, max_size=6)
DOMAIN = st.sampled_from(["example.se", "EXAMPLE.se", "exämple.se", "xn--exmple-cua.se", "a.example.se"])


@given(local=LOCAL, domain=DOMAIN, name=st.sampled_from(["", "Anna Lind ", '"Lind, Anna" ']))
def test_every_spelling_of_an_address_normalises_alike(local: str, domain: str, name: str) -> None:
    plain = normalise_email(f"{local}@{domain}")
    assert normalise_email(f"  {name}<{local.upper()}@{domain.upper()}> ") == plain
    assert normalise_email(plain) == plain


@given(a=LOCAL, b=LOCAL, domain=DOMAIN)
def test_addresses_with_different_local_parts_never_normalise_alike(a: str, b: str, domain: str) -> None:
    # In particular one that ends with the other (anna@ and johanna@).
    same = normalise_email(f"{a}@{domain}") == normalise_email(f"{b}@{domain}")
    assert same == (a.lower() == b.lower())


@given(st.text(st.sampled_from("aÅö -\t"), max_size=12))
def test_a_normalised_name_is_stable(name: str) -> None:
    once = normalise_name(name)
    assert normalise_name(once) == once
    assert normalise_name(name.upper()) == once
    assert once == once.strip()
    assert "  " not in once


@given(st.from_regex(r"7[0-9]{8}", fullmatch=True))
def test_a_phone_number_in_either_form_normalises_alike(national: str) -> None:
    spaced = f"{national[:2]}-{national[2:5]} {national[5:7]} {national[7:]}"
    assert normalise_phone("0" + spaced) == normalise_phone("+46 " + spaced) == "0" + national

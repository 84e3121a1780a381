"""The public list of answered cases ("Tyck till", R27): a handler's explicit
step publishes an answered case, masked, in a kommun that has turned it on;
a case that is secret or of a protected person is never in it, also when it
becomes so after it was published.  The storage tests run on SQLite,
PostgreSQL and MariaDB.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from klagomal import Contact, FixedClock, Klagomal
from klagomal.cli import main
from klagomal.core.errors import AccessDeniedError, InvalidInputError, InvalidStepError
from klagomal.core.events import PublicationWithdrawn, Published
from klagomal.core.model import Route
from klagomal.core.organisation import Organisation, default_organisation, parse_organisation
from klagomal.core.steps import STEP_LABELS
from klagomal.records.access import Operation
from klagomal.records.gdpr import PersonQuery
from klagomal.records.publication import PublishedCase
from klagomal.storage import tables
from klagomal.testing import UNIT, plugin, register

GROUND = "OSL 26 kap. 1 §"

#: Who the person is, written into their own text and the answer: none of it may be published.
NAME = "Eva Svensson"
PERSONNUMMER = "19850412-1230"
PHONE = "070-123 45 67"
EMAIL = "eva.svensson@example.se"
ADDRESS = "Storgatan 12"
TEXT = (
    f"Jag heter {NAME}, personnummer {PERSONNUMMER}. Ring {PHONE} eller skriv till {EMAIL}. "
    f"Jag bor på {ADDRESS}. Hemtjänsten kom inte i tisdags."
)
ANSWER = f"Hej {NAME}! Vi har pratat med personalen och ändrat schemat. Med vänliga hälsningar Omar Ali"
CANARIES = (NAME, "Svensson", "850412", "1230", "123 45 67", EMAIL, "Storgatan", "Omar", "Ali")


@pytest.fixture
def k(new_database: Callable[[], str], clock: FixedClock) -> Iterator[Klagomal]:
    """Klagomal on a new database of each backend, as the system owner."""
    with Klagomal(new_database(), clock=clock, load_entrypoints=False, user="system") as instance:
        instance.init()
        yield instance


def _answered(k: Klagomal, **overrides: object) -> str:
    overrides.setdefault("text", TEXT)
    overrides.setdefault("contact", Contact(name=NAME, email=EMAIL, phone=PHONE))
    ref = register(k, **overrides).reference
    k.acknowledge(ref, "omar.ali", dt.date(2026, 3, 20))
    k.answer(ref, "skriftligt", ANSWER)
    return ref


def _written(k: Klagomal) -> tuple[int, ...]:
    """Events, audit entries and publications, straight from the tables."""
    with k.storage.engine.connect() as conn:  # type: ignore[attr-defined]
        counts = tuple(
            conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (tables.events, tables.audit_log, tables.publications)
        )
        withdrawn = conn.execute(
            sa.select(sa.func.count())
            .select_from(tables.publications)
            .where(tables.publications.c.withdrawn_at.is_not(None))
        ).scalar_one()
    return (*counts, withdrawn)


def _rows(k: Klagomal, ref: str) -> list[sa.Row[tuple[object, ...]]]:
    with k.storage.engine.connect() as conn:  # type: ignore[attr-defined]
        return list(
            conn.execute(
                sa.select(tables.publications)
                .where(tables.publications.c.reference == ref)
                .order_by(tables.publications.c.id)
            )
        )


# -- publishing -------------------------------------------------------------------------------


def test_a_handler_publishes_an_answered_case_masked_and_the_list_keeps_what_was_published(
    k: Klagomal,
) -> None:
    ref = _answered(k)
    case = k.as_user("omar.ali").publish(ref, expected_version=3)
    assert case.version == 4
    event = k.history(ref)[-1]
    assert (event.type, event.actor, event.label) == (
        "published",
        "omar.ali",
        "Publicerat i listan över besvarade ärenden",
    )
    assert isinstance(event.data, Published)
    [shown] = k.published()
    assert shown == k.published_case(ref)
    assert shown == PublishedCase(
        reference=ref,
        kind=case.kind,
        kind_label="Klagomål",
        department="soc",
        department_name="Socialförvaltningen",
        dimensions=(),
        received=dt.date(2026, 3, 2),
        answered=dt.date(2026, 3, 2),
        description=(
            "Jag heter [namn], personnummer [personnummer]. Ring [telefon] eller skriv till [e-post]. "
            "Jag bor på [adress]. Hemtjänsten kom inte i tisdags."
        ),
        answer="Hej [namn]! Vi har pratat med personalen och ändrat schemat. Med vänliga hälsningar [namn]",
        published_at=dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC),
    )
    assert [c for c in CANARIES if c in repr(shown)] == []
    # The step is audited as a step of handling, by who took it.
    entries = [e for e in k.audit_log(reference=ref) if e.detail.endswith("published")]
    assert [(e.user_id, e.action) for e in entries] == [("omar.ali", Operation.HANDLE.value)]
    # What was published stays as it was: the texts are frozen in the table.
    k.correct_contact(ref, name="Eva Andersson", reason="Gifte sig.")
    k.add_note(ref, "Eva Andersson ringde och tackade.")
    assert k.published() == [shown]
    [row] = _rows(k, ref)
    assert (row.description, row.answer, row.published_by) == (shown.description, shown.answer, "omar.ali")


def test_a_case_resolved_at_once_is_published_with_what_was_said_as_its_answer(k: Klagomal) -> None:
    ref = register(k, text="Soptunnan har inte tömts.").reference
    k.resolve_at_once(ref, "Ringde upp Eva Svensson och beställde extra tömning.", "Omar Ali")
    k.as_user("lena.holm").publish(ref)  # a chef of the unit
    [shown] = k.published()
    assert (shown.description, shown.answer) == (
        "Soptunnan har inte tömts.",
        "Ringde upp [namn] och beställde extra tömning.",
    )
    assert shown.answered == dt.date(2026, 3, 2)


def test_unpublish_withdraws_with_the_reason_and_the_case_may_be_published_again(k: Klagomal) -> None:
    ref = _answered(k)
    k.publish(ref)
    k.as_user("omar.ali").unpublish(ref, "Personen bad oss ta bort det.")
    assert k.published() == []
    assert k.published_case(ref) is None
    event = k.history(ref)[-1]
    assert event.data == PublicationWithdrawn(reason="Personen bad oss ta bort det.")
    assert event.label == "Publicering återkallad"
    [row] = _rows(k, ref)
    assert (row.withdrawn_by, row.withdrawn_reason) == ("omar.ali", "Personen bad oss ta bort det.")
    k.publish(ref)
    assert [p.reference for p in k.published()] == [ref]
    assert len(_rows(k, ref)) == 2


# -- refusals: each reason in Swedish, and nothing written ---------------------------------------


def _not_allowed(k: Klagomal) -> tuple[Klagomal, str]:
    ref = _answered(k)
    off = attrs.evolve(default_organisation(), publication=False)
    other = Klagomal(k.storage.engine, organisation=off, clock=k.clock, load_entrypoints=False, user="system")
    return other, ref


def _secret_whole(k: Klagomal) -> tuple[Klagomal, str]:
    ref = _answered(k)
    k.mark_secret(ref, GROUND)
    return k, ref


def _secret_part(k: Klagomal) -> tuple[Klagomal, str]:
    ref = _answered(k)
    k.mark_secret(ref, GROUND, parts=[1])
    return k, ref


def _protected(k: Klagomal) -> tuple[Klagomal, str]:
    return k, _answered(k, contact=Contact(name=NAME, email=EMAIL, protected=True))


def _in_handling(k: Klagomal) -> tuple[Klagomal, str]:
    ref = register(k).reference
    k.acknowledge(ref, "omar.ali", dt.date(2026, 3, 20))
    return k, ref


def _published(k: Klagomal) -> tuple[Klagomal, str]:
    ref = _answered(k)
    k.publish(ref)
    return k, ref


#: Every reason publishing is refused: how to make such a case, and the reason's words.
REFUSALS: dict[str, tuple[Callable[[Klagomal], tuple[Klagomal, str]], str]] = {
    "not allowed": (
        _not_allowed,
        "Exempelkommun publicerar inte besvarade ärenden ([publicering] tillaten i organisationsfilen)",
    ),
    "not answered": (_in_handling, "ärendet är varken besvarat eller avslutat"),
    "secret": (_secret_whole, f"ärendet, eller en del av det, är sekretessmarkerat enligt {GROUND}"),
    "secret part": (_secret_part, f"ärendet, eller en del av det, är sekretessmarkerat enligt {GROUND}"),
    "protected": (_protected, "personen har skyddade personuppgifter"),
    "published": (_published, "ärendet är redan publicerat"),
}


@pytest.mark.parametrize("why", sorted(REFUSALS))
def test_publishing_is_refused_with_the_reason_and_writes_nothing(k: Klagomal, why: str) -> None:
    prepare, reason = REFUSALS[why]
    acting, ref = prepare(k)
    state = acting.get(ref).state.label.lower()
    before = _written(k)
    with pytest.raises(InvalidStepError) as refused:
        acting.publish(ref)
    assert str(refused.value) == (
        f"Ärende {ref} (status {state}): steget '{STEP_LABELS['publish']}' är inte tillåtet: {reason}"
    )
    assert refused.value.step == "publish"
    assert _written(k) == before
    assert [p.reference for p in k.published()] == ([ref] if why == "published" else [])


def test_unpublishing_a_case_that_is_not_published_or_without_a_reason_is_refused(k: Klagomal) -> None:
    ref = _answered(k)
    before = _written(k)
    with pytest.raises(InvalidStepError) as refused:
        k.unpublish(ref, "Fel.")
    assert str(refused.value) == (
        f"Ärende {ref} (status besvarat): steget 'återkalla publicering' är inte tillåtet: "
        "ärendet är inte publicerat"
    )
    assert _written(k) == before
    k.publish(ref)
    before = _written(k)
    with pytest.raises(InvalidInputError) as missing:
        k.unpublish(ref, "  ")
    assert str(missing.value) == f"Ärende {ref}, steg 'återkalla publicering': skälet saknas"
    assert _written(k) == before


@pytest.mark.parametrize("user", ["sven.ek", "kontaktcenter"])
def test_who_may_not_handle_the_case_may_not_publish_it(k: Klagomal, user: str) -> None:
    # A reader, and a handler at another unit: refused, and only the denial audited.
    ref = _answered(k)
    events, _audit, rows, _withdrawn = _written(k)
    with pytest.raises(AccessDeniedError):
        k.as_user(user).publish(ref)
    assert (_written(k)[0], _written(k)[2]) == (events, rows)
    k.publish(ref)
    events, _audit, rows, withdrawn = _written(k)
    with pytest.raises(AccessDeniedError):
        k.as_user(user).unpublish(ref, "Nej.")
    assert (_written(k)[0], _written(k)[2], _written(k)[3]) == (events, rows, withdrawn)
    assert [p.reference for p in k.published()] == [ref]


# -- never a secret case or a protected person in the list --------------------------------------


def test_marking_the_case_secret_withdraws_it_and_lifting_the_marking_does_not_republish(
    k: Klagomal,
) -> None:
    whole, part = _answered(k), _answered(k)
    for ref in (whole, part):
        k.publish(ref)
    k.as_user("kim.berg").mark_secret(whole, GROUND)
    k.mark_secret(part, GROUND, parts=[3])  # the answer only
    assert k.published() == []
    assert [k.published_case(ref) for ref in (whole, part)] == [None, None]
    for ref, by in ((whole, "kim.berg"), (part, "system")):
        [row] = _rows(k, ref)
        assert (row.withdrawn_by, row.withdrawn_reason) == (by, f"sekretessmarkerat enligt {GROUND}")
        assert row.withdrawn_at is not None
    k.lift_secrecy(whole, "Prövat.")
    assert k.published() == []
    k.publish(whole)  # a new, explicit step
    assert [p.reference for p in k.published()] == [whole]


def test_a_person_who_gets_protected_identity_is_withdrawn_from_the_list(k: Klagomal) -> None:
    ref = _answered(k)
    k.publish(ref)
    k.correct_contact(ref, protected=True, reason="Skyddad identitet beslutad.")
    assert k.published() == []
    assert k.published_case(ref) is None
    [row] = _rows(k, ref)
    assert row.withdrawn_reason == "personen har skyddade personuppgifter"


def test_a_published_case_forwarded_into_a_forvaltning_whose_cases_are_secret_is_withdrawn(
    new_database: Callable[[], str],
) -> None:
    # Social services' cases are secret by default (klagomal_default_secrecy);
    # a published case of bou, escalated and forwarded there, becomes secret.
    def secrecy(route: Route, organisation: Organisation) -> str | None:
        return GROUND if organisation.unit(route.unit).department == "soc" else None

    with Klagomal(new_database(), clock=FixedClock(dt.date(2026, 3, 2)), load_entrypoints=False,
                  user="system", plugins=[plugin(klagomal_default_secrecy=secrecy)]) as k:  # fmt: skip
        k.init()
        ref = _answered(k, unit="bou-forskola-ekorren")
        k.close(ref, False)
        k.publish(ref)
        k.escalate(ref, "Inte nöjd.")
        k.forward(ref, UNIT)
        assert k.get(ref).secrecy == GROUND
        assert k.published() == []
        [row] = _rows(k, ref)
        assert row.withdrawn_reason == f"sekretessmarkerat enligt {GROUND}"


def test_the_list_never_shows_a_case_secret_or_protected_now_whatever_its_row_says(k: Klagomal) -> None:
    # The second lock: a row left in force (as by a database restored from
    # before the withdrawal) is not shown once the case is secret or protected.
    refs = [_answered(k) for _ in range(3)]
    for ref in refs:
        k.publish(ref)
    k.mark_secret(refs[0], GROUND, parts=[1])
    k.correct_contact(refs[1], protected=True)
    with k.storage.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(sa.update(tables.publications).values(withdrawn_at=None))
    assert [p.reference for p in k.published()] == [refs[2]]
    assert [k.published_case(ref) is None for ref in refs] == [True, True, False]


def test_anonymising_the_person_replaces_what_was_published_and_withdraws_it(k: Klagomal) -> None:
    ref = _answered(k)
    k.publish(ref)
    k.anonymise_person(PersonQuery(email=EMAIL), "Dnr KS 2026/1")
    assert k.published() == []
    [row] = _rows(k, ref)
    assert row.withdrawn_at is not None
    assert "hemtjänsten" not in (row.description + row.answer).lower()


#: What may happen to a case after it was published.
AFTERWARDS = st.sampled_from(
    ["secret", "secret part", "lift", "protect", "unprotect", "publish", "unpublish", "note"]
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(AFTERWARDS, max_size=6))
def test_the_list_never_holds_a_case_marked_secret_or_of_a_protected_person(
    db_url: str, steps: list[str]
) -> None:
    # One database for the examples, a new case in each.
    with Klagomal(db_url, clock=FixedClock(dt.date(2026, 3, 2)), load_entrypoints=False, user="system") as k:
        k.init()
        ref = _answered(k)
        k.publish(ref)
        for step in steps:
            try:
                if step == "secret":
                    k.mark_secret(ref, GROUND)
                elif step == "secret part":
                    k.mark_secret(ref, GROUND, parts=[1])
                elif step == "lift":
                    k.lift_secrecy(ref, "Prövat.")
                elif step in ("protect", "unprotect"):
                    k.correct_contact(ref, protected=step == "protect")
                elif step == "publish":
                    k.publish(ref)
                elif step == "unpublish":
                    k.unpublish(ref, "Tillbaka.")
                else:
                    k.add_note(ref, "Ringde.")
            except (InvalidStepError, InvalidInputError):
                pass
            case = k.get(ref)
            # Secret now: marked, and not lifted since (a lifted marking may be published again,
            # by a handler's explicit step; it is never republished by itself).
            secrecy = [e.type for e in k.history(ref) if e.type in ("secrecy_marked", "secrecy_lifted")]
            marked = bool(secrecy) and secrecy[-1] == "secrecy_marked"
            shown = [p.reference for p in k.published(limit=500)]
            current = sum(1 for row in _rows(k, ref) if row.withdrawn_at is None)
            assert current <= 1  # at most one publication in force
            if marked or case.protected:
                assert ref not in shown, (steps, step)
                assert k.published_case(ref) is None
                assert current == 0  # withdrawn, not only hidden
            else:
                assert (ref in shown) == (current == 1)


# -- the masking: nothing that identifies anyone ----------------------------------------------------

FIRST = st.sampled_from(["Eva", "Fatima", "Mohammed", "Karin", "Lars", "Aisha", "Johan"])
LAST = st.sampled_from(["Andersson", "Hassan", "Lindqvist", "Berg", "Nyström", "Ali"])


@st.composite
def personnummer(draw: st.DrawFn) -> str:
    born = draw(st.dates(dt.date(1930, 1, 1), dt.date(2010, 12, 31)))
    last = draw(st.integers(0, 9999))
    return f"{born:%Y%m%d}-{last:04d}"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=FIRST,
    last=LAST,
    number=personnummer(),
    phone=st.integers(1000000, 9999999),
    street=st.sampled_from(["Storgatan", "Kyrkvägen", "Ängsgränd"]),
    house=st.integers(1, 99),
)
def test_nothing_that_identifies_the_person_reaches_the_list(
    k: Klagomal, first: str, last: str, number: str, phone: int, street: str, house: int
) -> None:
    name = f"{first} {last}"
    mobile = f"070-{str(phone)[:3]} {str(phone)[3:5]} {str(phone)[5:]}"
    email = f"{first.lower()}.{last.lower()}@example.se".replace("ö", "o")
    text = f"Hej, jag heter {name} ({number}), tel {mobile}, {email}, {street} {house}. Maten var kall."
    ref = register(k, text=text, contact=Contact(name=name, email=email)).reference
    k.acknowledge(ref, "omar.ali", dt.date(2026, 3, 20))
    k.answer(ref, "skriftligt", f"Hej {first}! Vi har bytt leverantör. Mvh Omar Ali, {mobile}")
    k.publish(ref)
    shown = k.published_case(ref)
    assert shown is not None
    published = shown.description + "\n" + shown.answer
    for canary in (first, last, number, number[2:8], mobile, str(phone)[3:], email, f"{street} {house}"):
        assert canary not in published, (canary, published)
    assert "Maten var kall." in shown.description


# -- the list -----------------------------------------------------------------------------------


def test_the_list_pages_newest_first_filters_by_forvaltning_and_needs_no_user(
    k: Klagomal, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs = []
    for _day in range(3):
        refs.append(_answered(k))
        k.publish(refs[-1])
        k.clock.advance(1)  # type: ignore[attr-defined]
    other = _answered(k, unit="bou-forskola-ekorren")
    k.publish(other)
    assert [p.reference for p in k.published()] == [other, *reversed(refs)]
    assert [p.reference for p in k.published(limit=2, offset=1)] == [refs[2], refs[1]]
    assert [p.reference for p in k.published(department="bou")] == [other]
    assert k.published(department="soc", offset=3) == []
    # The public page asks without a user: the read is audited all the same.
    monkeypatch.delenv("KLAGOMAL_USER")
    public = Klagomal(k.storage.engine, clock=k.clock, load_entrypoints=False)
    assert public.user is None
    assert [p.reference for p in public.published(limit=1)] == [other]
    assert public.published_case(refs[0]) == k.published_case(refs[0])
    assert public.published_case("2026-99999") is None
    reads = [e for e in k.audit_log() if e.action == Operation.REGISTER_LIST.value]
    assert reads
    assert all("publicera" in e.detail for e in reads)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"limit": 0}, "antalet ska vara ett heltal från 1 till 500"),
        ({"limit": 501}, "antalet ska vara ett heltal från 1 till 500"),
        ({"offset": -1}, "början ska vara ett heltal från 0"),
        ({"department": "ingen"}, "ingen är ingen förvaltning i Exempelkommun"),
    ],
)
def test_a_bad_page_of_the_list_is_refused_in_swedish(
    k: Klagomal, arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        k.published(**arguments)  # type: ignore[arg-type]
    assert str(refused.value) == f"steg 'lista publicerade ärenden': {message}"


def test_publication_is_off_unless_the_organisation_file_turns_it_on() -> None:
    assert default_organisation().publication is True  # Exempelkommun shows it in the demo
    text = (
        '[kommun]\nid = "k"\nnamn = "K"\nsystemagare = "a"\n'
        '[[forvaltning]]\nid = "a"\nnamn = "A"\nchef = "C"\nnamnd = "N"\nepost = "a@k.se"\n'
    )
    assert parse_organisation(text).publication is False
    assert parse_organisation(text + "[publicering]\ntillaten = true\n").publication is True
    with pytest.raises(Exception, match="'tillaten' ska vara true eller false"):
        parse_organisation(text + '[publicering]\ntillaten = "ja"\n')
    with pytest.raises(Exception, match="publicering"):
        parse_organisation(text + "[publicering]\nokand = 1\n")
    assert UNIT.startswith("soc")


def test_show_lists_the_steps_with_the_reason_of_a_withdrawal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path}/k.db"
    with Klagomal(db, clock=FixedClock(dt.date(2026, 3, 2)), load_entrypoints=False, user="system") as k:
        k.init()
        ref = _answered(k)
        k.publish(ref)
        k.unpublish(ref, "Personen bad oss ta bort det.")
    assert main(["--db", db, "--user", "nora.lind", "--today", "2026-03-02", "show", ref]) == 0
    lines = capsys.readouterr().out.splitlines()
    [published] = [line for line in lines if "Publicerat i listan över besvarade ärenden" in line]
    [withdrawn] = [line for line in lines if "Publicering återkallad" in line]
    assert "system" in published
    assert withdrawn.rstrip().endswith("Personen bad oss ta bort det.")

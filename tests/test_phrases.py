"""The phrase library (R23, klagomal.notices.phrases, Klagomal.phrases,
save_phrase, retire_phrase, ``klagomal phrases``): each förvaltning's ready
wordings, read by whoever handles its cases, kept by its administrator and
the system owner; checked before anything is written; never deleted.  On
SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.test_cli import Cli

from klagomal import Klagomal, Phrase, Purpose, Role
from klagomal.core.errors import AccessDeniedError, InvalidInputError
from klagomal.core.organisation import default_organisation
from klagomal.core.phrases import PHRASE_TEXT_MAX, PHRASE_TITLE_MAX
from klagomal.records.access import PERMISSIONS, Operation
from klagomal.records.audit import ALLOWED, DENIED
from klagomal.storage.tables import phrases as phrases_table

ORGANISATION = default_organisation()

#: For each role, the first user of Exempelkommun's organisation file who has
#: it (read from the file, not listed by hand); each one works in soc or,
#: for the system owner, everywhere.
USERS = {
    role: next(u.id for u in ORGANISATION.users.values() if u.role is role and u.id != "system")
    for role in Role
}

#: A förvaltning whose cases the chosen users handle, and one they do not.
HOME = "soc"
AWAY = "bou"


def _owner(url: str) -> Klagomal:
    k = Klagomal(url, user=USERS[Role.SYSTEM_OWNER], load_entrypoints=False)
    k.init()
    return k


@pytest.fixture
def url(any_db_url: str) -> str:
    """A new database on each backend, initialised, with one phrase in
    soc and one in bou, written by the system owner."""
    with _owner(any_db_url) as k:
        k.save_phrase(HOME, Purpose.TACK, "Tack för synpunkten", "Tack för att du hörde av dig.")
        k.save_phrase(AWAY, Purpose.URSAKT, "Ursäkt för skolskjutsen", "Vi ber om ursäkt.")
    return any_db_url


def _rows(k: Klagomal) -> list[tuple[Any, ...]]:
    with k.storage.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(phrases_table).order_by(phrases_table.c.id))]


def _audit(k: Klagomal, outcome: str) -> list[Any]:
    return [e for e in k.as_user(USERS[Role.SYSTEM_OWNER]).audit_log() if e.outcome == outcome]


def _phrase_entries(k: Klagomal) -> list[Any]:
    """The audit log's entries of the phrase library (reading the log is audited too)."""
    return [e for e in k.as_user(USERS[Role.SYSTEM_OWNER]).audit_log() if e.action == Operation.PHRASES.value]


# -- the life of a phrase ----------------------------------------------------------------------


def test_a_phrase_is_written_listed_changed_and_retired_but_never_deleted(url: str) -> None:
    admin = USERS[Role.DEPARTMENT_ADMIN]
    with Klagomal(url, user=admin, load_entrypoints=False) as k:
        written = k.save_phrase(
            HOME, "ursakt", "  Ursäkt för väntan ", "Förlåt att du fick vänta.\r\nVi ringer."
        )
        assert isinstance(written, Phrase)
        assert (written.department, written.purpose, written.title, written.text) == (
            HOME,
            Purpose.URSAKT,
            "Ursäkt för väntan",
            "Förlåt att du fick vänta.\nVi ringer.",
        )
        assert (written.created_by, written.updated_by, written.retired) == (admin, None, False)
        # Listed by purpose in Purpose's order (tack before ursakt), then title.
        assert [p.title for p in k.phrases(HOME)] == ["Tack för synpunkten", "Ursäkt för väntan"]
        assert [p.id for p in k.phrases(HOME, purpose="ursakt")] == [written.id]
        assert k.phrases(HOME, purpose=Purpose.SVAR) == []

        changed = k.save_phrase(HOME, Purpose.BESKED, "Vi återkommer", "Vi hör av oss.", phrase_id=written.id)
        assert (changed.id, changed.purpose, changed.title, changed.text) == (
            written.id,
            Purpose.BESKED,
            "Vi återkommer",
            "Vi hör av oss.",
        )
        assert (changed.created_by, changed.created_at, changed.updated_by) == (
            admin,
            written.created_at,
            admin,
        )
        assert changed.updated_at is not None

        retired = k.retire_phrase(written.id)
        assert retired.retired
        assert retired.retired_at is not None
        assert written.id not in [p.id for p in k.phrases(HOME)]
        assert written.id not in [p.id for p in k.phrases()]
        assert [p for p in k.phrases(HOME, include_retired=True) if p.id == written.id] == [retired]
        assert k.phrase(written.id) == retired
        # Still in the table: nothing is hard-deleted.
        assert len(_rows(k)) == 3

        with pytest.raises(
            InvalidInputError, match=r"steg 'ta fras ur bruk': fras \d+ är redan tagen ur bruk"
        ):
            k.retire_phrase(written.id)
        with pytest.raises(InvalidInputError, match=r"steg 'spara fras': fras \d+ är tagen ur bruk"):
            k.save_phrase(HOME, "tack", "Ny", "Ny.", phrase_id=written.id)
        with pytest.raises(InvalidInputError, match="steg 'lista fraser': det finns ingen fras med id 999"):
            k.phrase(999)
        with pytest.raises(
            InvalidInputError, match="steg 'ta fras ur bruk': det finns ingen fras med id 999"
        ):
            k.retire_phrase(999)
        with pytest.raises(InvalidInputError, match="steg 'spara fras': det finns ingen fras med id 999"):
            k.save_phrase(HOME, "tack", "Ny", "Ny.", phrase_id=999)
        details = [e.detail for e in _audit(k, ALLOWED) if e.action == Operation.PHRASES.value]
    assert details[-3:] == [
        f"fras {written.id} skapad: soc, ursakt, Ursäkt för väntan",
        f"fras {written.id} ändrad: soc, besked, Vi återkommer",
        f"fras {written.id} tagen ur bruk: Vi återkommer",
    ]


def test_by_default_a_user_gets_the_phrases_of_every_förvaltning_they_handle_cases_in(url: str) -> None:
    with _owner(url) as k:
        k.save_phrase("klf", Purpose.SVAR, "Öppettider", "Vardagar 8–17.")
        everything = {p.department for p in k.phrases()}
        assert everything == {HOME, AWAY, "klf"}
        # A handler of the kontaktcenter (klf) and one of Hemtjänst Norr (soc).
        assert {p.department for p in k.as_user("kontaktcenter").phrases()} == {"klf"}
        assert {p.department for p in k.as_user(USERS[Role.HANDLER]).phrases()} == {HOME}
        assert {p.department for p in k.as_user(USERS[Role.DEPARTMENT_ADMIN]).phrases()} == {HOME}


# -- who may -------------------------------------------------------------------------------------


def test_only_the_administrator_and_the_system_owner_keep_phrases() -> None:
    """What the parametrized tests below read from PERMISSIONS, said once."""
    assert {role for role in Role if Operation.PHRASES in PERMISSIONS[role]} == {
        Role.SYSTEM_OWNER,
        Role.DEPARTMENT_ADMIN,
    }
    assert {role for role in Role if Operation.HANDLE not in PERMISSIONS[role]} == {Role.READER}


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_reads_the_phrases_of_the_förvaltningar_it_handles_cases_in(url: str, role: Role) -> None:
    with Klagomal(url, user=USERS[role], load_entrypoints=False) as k:
        ids = {p.department: p.id for p in k.as_user(USERS[Role.SYSTEM_OWNER]).phrases()}
        before = len(_audit(k, DENIED))
        for department in (HOME, AWAY):
            # Everyone who handles cases reads the library of their own
            # förvaltning (all the chosen users work in soc); only the
            # system owner reaches every förvaltning.
            allowed = Operation.HANDLE in PERMISSIONS[role] and (
                department == HOME or role is Role.SYSTEM_OWNER
            )
            if allowed:
                assert [p.department for p in k.phrases(department)] == [department]
                assert k.phrase(ids[department]).department == department
            else:
                for attempt in (
                    functools.partial(k.phrases, department),
                    functools.partial(k.phrase, ids[department]),
                ):
                    with pytest.raises(
                        AccessDeniedError, match="Åtkomst nekad, åtgärd 'handlägga ärenden'"
                    ) as denied:
                        attempt()
                    assert USERS[role] in str(denied.value)
        denials = len(_audit(k, DENIED)) - before
    expected = 4 if Operation.HANDLE not in PERMISSIONS[role] else 0 if role is Role.SYSTEM_OWNER else 2
    assert denials == expected


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_writes_and_retires_phrases_only_where_it_administers(url: str, role: Role) -> None:
    with Klagomal(url, user=USERS[role], load_entrypoints=False) as k:
        owner = k.as_user(USERS[Role.SYSTEM_OWNER])
        by_department = {p.department: p for p in owner.phrases()}
        for department in (HOME, AWAY):
            allowed = Operation.PHRASES in PERMISSIONS[role] and (
                department == HOME or role is Role.SYSTEM_OWNER
            )
            rows, denials = _rows(k), len(_audit(k, DENIED))
            phrase_id = by_department[department].id
            attempts: list[Callable[[], Phrase]] = [
                functools.partial(k.save_phrase, department, "svar", "Svar", "Ett vanligt svar."),
                functools.partial(
                    k.save_phrase, department, "tack", "Tack!", "Tack igen.", phrase_id=phrase_id
                ),
                functools.partial(k.retire_phrase, phrase_id),
            ]
            for attempt in attempts:
                if allowed:
                    assert attempt().department == department
                else:
                    with pytest.raises(
                        AccessDeniedError, match="Åtkomst nekad, åtgärd 'förvalta frasbiblioteket'"
                    ):
                        attempt()
            if not allowed:
                # A refused step writes nothing but its denial.
                assert _rows(k) == rows
                assert len(_audit(k, DENIED)) == denials + len(attempts)


def test_an_administrator_cannot_move_a_phrase_out_of_or_into_another_förvaltning(url: str) -> None:
    with _owner(url) as owner:
        home, away = (next(p for p in owner.phrases(d)) for d in (HOME, AWAY))
    with Klagomal(url, user=USERS[Role.DEPARTMENT_ADMIN], load_entrypoints=False) as k:
        rows = _rows(k)
        with pytest.raises(
            AccessDeniedError, match="inte administratör för Barn- och utbildningsförvaltningen"
        ):
            k.save_phrase(AWAY, home.purpose, home.title, home.text, phrase_id=home.id)
        with pytest.raises(
            AccessDeniedError, match="inte administratör för Barn- och utbildningsförvaltningen"
        ):
            k.save_phrase(HOME, away.purpose, away.title, away.text, phrase_id=away.id)
        assert _rows(k) == rows
    # The system owner may.
    with _owner(url) as owner:
        assert (
            owner.save_phrase(AWAY, home.purpose, home.title, home.text, phrase_id=home.id).department == AWAY
        )


# -- bad input ------------------------------------------------------------------------------------

#: (department, purpose, title, text) with one value wrong, and what the error says.
BAD: list[tuple[tuple[str, str, str, str], str]] = [
    (("soc", "tack", "", "Text."), "rubriken är tom"),
    (("soc", "tack", "   ", "Text."), "rubriken är tom"),
    (("soc", "tack", "x" * (PHRASE_TITLE_MAX + 1), "Text."), "rubriken är för lång: 121 tecken, högst 120"),
    (("soc", "tack", "Två\nrader", "Text."), r"rubriken får inte innehålla radbrytningar \(tecken 4\)"),
    (("soc", "tack", "Tack\x1b[31m", "Text."), r"rubriken innehåller ett styrtecken .*U\+001B ESC, tecken 5"),
    (("soc", "tack", "\x1fTack", "Text."), r"rubriken innehåller ett styrtecken .*U\+001F, tecken 1"),
    (("soc", "tack", "Tack", ""), "texten är tom"),
    (("soc", "tack", "Tack", " \n "), "texten är tom"),
    (
        ("soc", "tack", "Tack", "y" * (PHRASE_TEXT_MAX + 1)),
        "texten är för lång: 5\xa0001 tecken, högst 5\xa0000 tas emot",
    ),
    (("soc", "tack", "Tack", "Hej\x00då"), r"texten innehåller ett styrtecken .*U\+0000 NUL, tecken 4"),
    (("soc", "tack", "Tack", "Hej\ud800"), r"texten innehåller något som inte är text"),
    (
        ("soc", "hej", "Tack", "Text."),
        r"okänt syfte 'hej' \(syften: tack, ursakt, svar, besked, information\)",
    ),
    (("nej", "tack", "Tack", "Text."), "förvaltningen 'nej' finns inte i organisationsfilen"),
]


def test_bad_input_is_refused_naming_the_step_and_the_reason_and_nothing_is_written(url: str) -> None:
    with _owner(url) as k:
        existing = k.phrases(HOME)[0].id
        rows, audit = _rows(k), _phrase_entries(k)
        for (department, purpose, title, text), reason in BAD:
            for phrase_id in (None, existing):
                with pytest.raises(InvalidInputError, match=f"^steg 'spara fras': {reason}") as refused:
                    k.save_phrase(department, purpose, title, text, phrase_id=phrase_id)
                assert refused.value.step == "phrase-save"
        assert _rows(k) == rows
        assert _phrase_entries(k) == audit
        with pytest.raises(InvalidInputError, match=r"^steg 'lista fraser': förvaltningen 'nej' finns inte"):
            k.phrases("nej")
        with pytest.raises(InvalidInputError, match=r"^steg 'lista fraser': okänt syfte 'hej'"):
            k.phrases(purpose="hej")


def test_the_limits_themselves_are_taken(url: str) -> None:
    with _owner(url) as k:
        phrase = k.save_phrase(HOME, "svar", "å" * PHRASE_TITLE_MAX, "ö" * PHRASE_TEXT_MAX)
        (found,) = [p for p in k.phrases(HOME) if p.id == phrase.id]
    assert (found.title, found.text) == ("å" * PHRASE_TITLE_MAX, "ö" * PHRASE_TEXT_MAX)


# -- round trip ------------------------------------------------------------------------------------

#: What the text rule takes: every character but the controls (Cc) and
#: lone surrogates (Cs); a text may also have line breaks.
_LINE = st.characters(blacklist_categories=("Cc", "Cs"))
_TITLES = st.text(_LINE, min_size=1, max_size=PHRASE_TITLE_MAX).filter(str.strip)
_TEXTS = st.text(st.one_of(_LINE, st.just("\n")), min_size=1, max_size=400).filter(str.strip)


def test_any_text_the_rule_takes_comes_back_as_written(any_db_url: str) -> None:
    with _owner(any_db_url) as k:

        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(title=_TITLES, text=_TEXTS, purpose=st.sampled_from(Purpose))
        def round_trip(title: str, text: str, purpose: Purpose) -> None:
            saved = k.save_phrase(HOME, purpose, title, text)
            (found,) = [p for p in k.phrases(HOME, purpose=purpose) if p.id == saved.id]
            assert found == saved
            assert (found.title, found.text) == (title.strip(), text.strip())

        round_trip()


# -- the command line ----------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)
    return Cli()


def test_the_cli_lists_adds_edits_and_retires(cli: Cli) -> None:
    cli.ok("init --user system")
    admin = f"--user {USERS[Role.DEPARTMENT_ADMIN]}"
    added = cli.ok(f"phrases add soc tack --title 'Tack för din synpunkt' --text 'Tack!' {admin}", json=True)
    assert (added.json()["id"], added.json()["purpose"], added.json()["created_by"]) == (
        1,
        "tack",
        "kim.berg",
    )
    assert cli.ok(f"phrases add soc ursakt --title Förlåt --text 'Vi ber om ursäkt.' {admin}").out == (
        "Fras 2 sparad: Förlåt\n"
    )
    listed = cli.ok(f"phrases list --user {USERS[Role.HANDLER]}").out
    assert listed == (
        "1. Socialförvaltningen · Tack · Tack för din synpunkt\n    Tack!\n\n"
        "2. Socialförvaltningen · Ursäkt · Förlåt\n    Vi ber om ursäkt.\n"
    )
    assert cli.ok(f"phrases edit 2 --text 'Förlåt, det blev fel.' {admin}").out == "Fras 2 ändrad: Förlåt\n"
    assert cli.ok(f"phrases retire 1 {admin}").out == "Fras 1 är tagen ur bruk: Tack för din synpunkt\n"
    shown = cli.ok(f"phrases list --purpose ursakt {admin}", json=True).json()["phrases"]
    assert [(p["id"], p["text"], p["updated_by"]) for p in shown] == [
        (2, "Förlåt, det blev fel.", "kim.berg")
    ]
    assert [p["id"] for p in cli.ok(f"phrases list {admin}", json=True).json()["phrases"]] == [2]
    assert [p["id"] for p in cli.ok(f"phrases list --all {admin}", json=True).json()["phrases"]] == [1, 2]
    assert cli.ok(f"phrases list --department bou {admin.replace('kim.berg', 'nora.lind')}").out == (
        "Inga fraser.\n"
    )
    # Refusals: bad input with 1, a denial with 77; each one line on stderr.
    assert cli.refused(f"phrases add soc tack --title '' --text x {admin}").err == (
        "klagomal: steg 'spara fras': rubriken är tom; skriv vad frasen handlar om\n"
    )
    assert cli.refused(f"phrases retire 1 {admin}").err == (
        "klagomal: steg 'ta fras ur bruk': fras 1 är redan tagen ur bruk\n"
    )
    denied = cli.refused(f"phrases add soc tack --title T --text x --user {USERS[Role.HANDLER]}", status=77)
    assert denied.err.startswith("klagomal: Åtkomst nekad, åtgärd 'förvalta frasbiblioteket'")
    denied = cli.refused(f"phrases list --user {USERS[Role.READER]}", status=77)
    assert denied.err.startswith("klagomal: Åtkomst nekad, åtgärd 'handlägga ärenden'")


# -- the demo -----------------------------------------------------------------------------------------


def test_the_demo_starts_every_förvaltnings_library_with_thanks_and_an_apology(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from klagomal.cli.demo import run_demo

    monkeypatch.chdir(tmp_path)  # the demo writes its reports here
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    run_demo(db, cases=5, outbox=str(tmp_path / "utskick"))
    with Klagomal(db, user=USERS[Role.SYSTEM_OWNER], load_entrypoints=False) as k:
        found = k.phrases()
    for department in ORGANISATION.departments:
        purposes = {p.purpose for p in found if p.department == department}
        assert {Purpose.TACK, Purpose.URSAKT} <= purposes, department
    # Real wording: no text is a placeholder, every title is unique in its förvaltning.
    assert all(len(p.text) > 40 and p.text[-1] in ".!" for p in found)
    assert len({(p.department, p.title) for p in found}) == len(found)

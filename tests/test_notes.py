"""Internal notes (anteckningar) in a case (issue 19, item 4; R27).

A note is written by those who handle the case, in any state, is sent to
nobody, is audited like every step, is searchable (its words are indexed
in the event's own transaction), withheld where a secret step is withheld,
removed by disposal with the other texts, and left out of the public
extract.  The storage tests run on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from klagomal import FixedClock, Klagomal
from klagomal.cases.amendments import NOTE_MAX
from klagomal.cli import main
from klagomal.core.errors import AccessDeniedError, InvalidInputError
from klagomal.core.events import NoteAdded
from klagomal.records.disposal import redact_case
from klagomal.records.redaction import Redaction, withheld
from klagomal.storage import tables
from klagomal.storage.sql import search as index
from klagomal.testing import register

GROUND = "OSL 26 kap. 1 §"


@pytest.fixture
def k(new_database: Callable[[], str], clock: FixedClock) -> Iterator[Klagomal]:
    """Klagomal on a new database of each backend, as the system owner."""
    with Klagomal(new_database(), clock=clock, load_entrypoints=False, user="system") as instance:
        instance.init()
        yield instance


def _written(k: Klagomal) -> tuple[int, int, int]:
    """Events, audit entries and index rows, straight from the tables."""
    with k.storage.engine.connect() as conn:  # type: ignore[attr-defined]
        return tuple(  # type: ignore[return-value]
            conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (tables.events, tables.audit_log, tables.search_documents)
        )


def _closed(k: Klagomal) -> str:
    ref = register(k).reference
    k.acknowledge(ref, "omar.ali", dt.date(2026, 3, 20))
    k.answer(ref, "skriftligt", "Vi ber om ursäkt.")
    k.close(ref, True)
    return ref


def test_a_note_is_written_in_every_state_with_its_author_and_sent_to_nobody(k: Klagomal) -> None:
    ref = register(k).reference
    k.as_user("omar.ali").add_note(ref, "Eva ringde: hon vill ha svar per brev.")
    k.acknowledge(ref, "omar.ali", dt.date(2026, 3, 20))
    k.as_user("lena.holm").add_note(ref, "Pratat med personalgruppen.")
    k.answer(ref, "skriftligt", "Vi ber om ursäkt.")
    k.close(ref, True)
    # A closed case too: the person phoned afterwards (documented in cli.md).
    case = k.as_user("kim.berg").add_note(ref, "Eva ringde och tackade.\nInget mer att göra.")
    notes = [e for e in k.history(ref) if isinstance(e.data, NoteAdded)]
    assert [(e.actor, e.day, e.label) for e in notes] == [
        ("omar.ali", dt.date(2026, 3, 2), "Anteckning"),
        ("lena.holm", dt.date(2026, 3, 2), "Anteckning"),
        ("kim.berg", dt.date(2026, 3, 2), "Anteckning"),
    ]
    assert notes[-1].data.text == "Eva ringde och tackade.\nInget mer att göra."
    assert (case.state.value, case.version) == ("avslutat", 7)
    # Nothing for the person, nothing for staff: the notices are those of the routine.
    assert [kind for _seq, kind in k.notices(ref)] == ["besked", "svar"]
    assert {n.kind for n in k.outbox(reference=ref)} == {"besked", "svar"}
    assert k.rebuild(ref) == k.get(ref)


def test_a_note_is_audited_as_anteckna(k: Klagomal) -> None:
    ref = register(k).reference
    k.as_user("omar.ali").add_note(ref, "Eva ringde.")
    entry = k.audit_log(reference=ref)[-1]
    assert (entry.user_id, entry.action, entry.reference, entry.detail) == (
        "omar.ali",
        "anteckna",
        ref,
        "2 note_added",
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "anteckningen saknas"),
        (" \n ", "anteckningen saknas"),
        ("x" * (NOTE_MAX + 1), "för lång"),
        ("Eva\x1b[2J", "styrtecken"),
    ],
    ids=["empty", "blank", "too-long", "control"],
)
def test_a_bad_note_is_refused_naming_the_case_and_writes_nothing(
    k: Klagomal, text: str, reason: str
) -> None:
    ref = _closed(k)
    before = _written(k)
    with pytest.raises(InvalidInputError) as refused:
        k.add_note(ref, text)
    assert str(refused.value).startswith(f"Ärende {ref}, steg 'skriva anteckning': ")
    assert reason in str(refused.value)
    assert _written(k) == before
    # The longest note is taken.
    k.add_note(ref, "y" * NOTE_MAX)


def test_who_may_write_a_note(k: Klagomal) -> None:
    ref = register(k).reference
    outside = register(k, unit="bou-forskola-ekorren").reference
    for user in ("omar.ali", "lena.holm", "kim.berg", "nora.lind"):
        k.as_user(user).add_note(ref, f"Anteckning av {user}.")
    with pytest.raises(AccessDeniedError, match="skriva anteckningar"):
        k.as_user("sven.ek").add_note(ref, "Läsaren försöker.")
    with pytest.raises(AccessDeniedError, match="Förskolan Ekorren"):
        k.as_user("omar.ali").add_note(outside, "Utanför.")
    denied = [e for e in k.audit_log() if e.outcome == "denied"]
    assert [(e.user_id, e.action) for e in denied] == [("sven.ek", "anteckna"), ("omar.ali", "anteckna")]
    assert len([e for e in k.history(outside) if isinstance(e.data, NoteAdded)]) == 0


def test_a_note_is_found_by_search_at_once(k: Klagomal) -> None:
    ref = register(k).reference
    assert k.search("semesterschema") == []
    k.add_note(ref, "Personalen följde inte semesterschemat.")
    [found] = k.search("semesterschemat")
    assert found.case.reference == ref
    assert "semesterschemat" in found.snippet


def test_a_note_marked_secret_is_indexed_only_in_the_secret_view(k: Klagomal) -> None:
    ref = register(k).reference
    case = k.add_note(ref, "Eva berättade om sin diagnos.")
    k.mark_secret(ref, GROUND, parts=[case.version])
    with k.storage.transaction() as uow:
        rows = uow.conn.execute(  # type: ignore[attr-defined]
            sa.select(tables.search_documents.c.secret, tables.search_documents.c.body).where(
                tables.search_documents.c.reference == ref
            )
        ).all()
    assert sorted(("diagnos" in row.body, bool(row.secret)) for row in rows) == [(False, False), (True, True)]
    # Staff who have the case read it in full; a staff message withholds it.
    assert [f.case.reference for f in k.as_user("omar.ali").search("diagnos")] == [ref]
    history = k.history(ref)
    staff = Redaction.for_staff(k.get(ref), history).events(history)
    assert staff[1].data.text == withheld(GROUND)  # type: ignore[union-attr]


def test_the_public_extract_leaves_notes_out_and_counts_them(k: Klagomal) -> None:
    ref = register(k).reference
    k.add_note(ref, "Intern bedömning: personalen brast i rutinen.")
    k.add_note(ref, "Ring Eva på fredag.")
    extract = k.public_extract(ref)
    assert extract.notes == 2
    assert not any("rutinen" in part.text or "fredag" in part.text for part in extract.parts)
    from klagomal.records.public_records import render_extract

    rendered = render_extract(extract, k.organisation)
    assert "Ärendet har 2 interna anteckningar som inte ingår i utdraget" in rendered
    assert "rutinen" not in rendered


def test_disposal_of_the_texts_removes_a_note_from_the_case_and_the_index(k: Klagomal) -> None:
    ref = _closed(k)
    k.add_note(ref, "Eva Svensson ringde från 070-123 45 67 om bussen.")
    with k.storage.transaction() as uow:
        redact_case(uow.conn, k.converter, ref, contact=False, texts=True, marker="[gallrat]")  # type: ignore[attr-defined]
    [note] = [e for e in k.history(ref) if isinstance(e.data, NoteAdded)]
    assert note.data.text == "[gallrat]"
    assert k.search("bussen") == []
    # Only the contact: the note stays, scrubbed of what reaches the person.
    other = _closed(k)
    k.add_note(other, "Eva Svensson ringde från 070-123 45 67 om bussen.")
    with k.storage.transaction() as uow:
        redact_case(uow.conn, k.converter, other, contact=True, texts=False, marker="[gallrat]")  # type: ignore[attr-defined]
    [note] = [e for e in k.history(other) if isinstance(e.data, NoteAdded)]
    assert note.data.text == "[gallrad] ringde från [gallrad] om bussen."


def test_the_index_rows_hold_the_note(k: Klagomal) -> None:
    ref = register(k).reference
    k.add_note(ref, "Nyckelordet kanelbulle.")
    case, history = k.get(ref), k.history(ref)
    [row] = index.documents(case, history)
    assert "kanelbulle" in row["body"]


# -- the command line --------------------------------------------------------------------------


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        status = main(argv)
    except SystemExit as exc:  # pragma: no cover - argparse
        status = int(exc.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_note_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'k.db'}", "--user", "nora.lind"]
    assert _cli([*db, "init"], capsys)[0] == 0
    register_argv = [
        "register",
        "--kind",
        "klagomal",
        "--channel",
        "telefon",
        "--unit",
        "soc-aldre-hemtjanst-norr",
    ]
    _cli([*db, "--today", "2026-03-02", *register_argv, "--text", "Sent.", "--name", "Eva"], capsys)
    status, out, _err = _cli(
        [
            *db,
            "--today",
            "2026-03-03",
            "note",
            "2026-00001",
            "Eva ringde.\nHon är nöjd nu.",
        ],
        capsys,
    )
    assert (status, out) == (0, "Anteckning 2 sparad i 2026-00001.\n")
    status, out, _err = _cli([*db, "--today", "2026-03-03", "show", "2026-00001"], capsys)
    line = next(line for line in out.splitlines() if line.startswith("  2  "))
    assert re.split(r"\s{2,}", line.strip()) == [
        "2",
        "2026-03-03",
        "Anteckning",
        "Systemförvaltare Nora Lind",
        "Eva ringde.",
    ]
    assert out.endswith(
        "Anteckningar:\n  2026-03-03, Systemförvaltare Nora Lind (händelse 2):\n"
        "    Eva ringde.\n    Hon är nöjd nu.\n"
    )
    status, out, _err = _cli([*db, "--json", "show", "2026-00001"], capsys)
    assert json.loads(out)["notes"] == [
        {
            "seq": 2,
            "day": "2026-03-03",
            "author": "Systemförvaltare Nora Lind",
            "author_id": "nora.lind",
            "text": "Eva ringde.\nHon är nöjd nu.",
        }
    ]
    status, out, err = _cli([*db, "--today", "2026-03-03", "note", "2026-00001", ""], capsys)
    assert (status, out) == (1, "")
    assert err == "klagomal: Ärende 2026-00001, steg 'skriva anteckning': anteckningen saknas\n"
    status, _out, err = _cli([*db, "--user", "sven.ek", "note", "2026-00001", "Hej"], capsys)
    assert status == 77
    assert "får inte skriva anteckningar i ärenden" in err

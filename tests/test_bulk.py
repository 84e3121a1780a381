"""Bulk import from another system (JSON Lines, CSV) and streaming export.

A kommun that moves to klagomal brings its old register: every row becomes a
case whose events the lifecycle decided, a rerun stores nothing twice, and a
row that cannot be imported is kept, with its line and the reason, instead
of being dropped.  Runs on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import UNIT, register_case
from klagomal import CaseState, FixedClock, InvalidInputError, Klagomal
from klagomal import cli as cli_module
from klagomal.intake.bulk import FIELDS
from klagomal.storage import tables

TODAY = dt.date(2026, 11, 26)


@pytest.fixture
def url(any_db_url: str) -> str:
    return any_db_url


@pytest.fixture
def k(url: str) -> Iterator[Klagomal]:
    instance = Klagomal(url, clock=FixedClock(TODAY), load_entrypoints=False)
    instance.init()
    yield instance
    instance.dispose()


def row(external_id: str, **fields: Any) -> dict[str, Any]:
    """A valid row of a closed complaint from 2019, with *fields* changed."""
    base: dict[str, Any] = {
        "external_id": external_id,
        "kind": "klagomal",
        "channel": "telefon",
        "unit": UNIT,
        "text": "Hemtjänsten kom inte.",
        "received": "2019-03-04",
        "name": "Eva Lind",
        "phone": "070-123 45 67",
        "dimensions": ["tillganglighet"],
        "handler": "Lena Holm",
        "acknowledged": "2019-03-06",
        "respond_by": "2019-03-29",
        "answered": "2019-03-20",
        "answer_mode": "skriftligt",
        "answer": "Vi ber om ursäkt.",
        "closed": "2019-03-25",
        "satisfied": True,
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


def jsonl(path: Path, rows: list[dict[str, Any] | str]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for item in rows:
            fh.write((item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)) + "\n")
    return path


def rejects(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- what a row becomes ---------------------------------------------------------


def test_a_closed_case_from_the_old_system_keeps_its_steps_and_dates(k: Klagomal, tmp_path: Path) -> None:
    result = k.import_cases(jsonl(tmp_path / "old.jsonl", [row("A-1")]))
    assert (result.read, result.imported, result.skipped, result.rejected) == (1, 1, 0, 0)
    # Numbered in the year it was received, so an old case keeps its year.
    case = k.get("2019-00001")
    assert case.state is CaseState.AVSLUTAT
    assert (case.received, case.acknowledged, case.answered, case.closed) == (
        dt.date(2019, 3, 4),
        dt.date(2019, 3, 6),
        dt.date(2019, 3, 20),
        dt.date(2019, 3, 25),
    )
    assert case.handler == "Lena Holm"
    assert case.satisfied is True
    assert case.dimensions == ("tillganglighet",)
    assert [(e.type, e.day) for e in k.history("2019-00001")] == [
        ("registered", dt.date(2019, 3, 4)),
        ("acknowledged", dt.date(2019, 3, 6)),
        ("answered", dt.date(2019, 3, 20)),
        ("closed", dt.date(2019, 3, 25)),
    ]
    assert k.history("2019-00001")[0].data.external_id == "A-1"  # type: ignore[union-attr]
    assert k.rebuild("2019-00001") == case
    # The old system gave the besked and the answer (R7, R13): they are on
    # record as given there, and nothing is owed again.
    assert k.notices("2019-00001") == [(2, "besked"), (3, "svar")]
    [exported] = k.export()["cases"]
    assert [n["status"] for n in exported["notices"]] == ["imported", "imported"]


def test_an_open_case_is_imported_open_and_shows_on_the_worklist(k: Klagomal, tmp_path: Path) -> None:
    # R7, R10: an old case still waiting for its besked is overdue here too.
    open_row = row("A-2", received="2026-10-01", acknowledged=None, answered=None, closed=None, handler=None)
    k.import_cases(jsonl(tmp_path / "open.jsonl", [open_row]))
    case = k.get("2026-00001")
    assert case.state is CaseState.REGISTRERAT
    assert [c.reference for c in k.cases(overdue=True)] == ["2026-00001"]


def test_imported_and_registered_cases_share_the_numbering(k: Klagomal, tmp_path: Path) -> None:
    register_case(k, received=dt.date(2026, 11, 2))
    k.import_cases(
        jsonl(
            tmp_path / "a.jsonl",
            [row("A-1", received="2026-06-01", acknowledged=None, answered=None, closed=None)],
        )
    )
    assert register_case(k).reference == "2026-00003"
    assert sorted(c.reference for c in k.cases()) == ["2026-00001", "2026-00002", "2026-00003"]


def test_anonymous_rows_and_every_csv_convention(k: Klagomal, tmp_path: Path) -> None:
    # A Swedish spreadsheet: BOM, ';' between fields, a text over two lines,
    # dimensions separated by ',', 'ja'/'nej' for booleans, an anonymous reply card (R5).
    text = (
        "\ufeffexternal_id;kind;channel;unit;text;received;dimensions;serious;name\r\n"
        f'K-1;klagomal;svarskort;{UNIT};"Första raden\r\nandra raden";2024-02-01;bemotande,kompetens;ja;\r\n'
        f"K-2;forslag;brev;{UNIT};Ett förslag;2024-02-02;;nej;Per\r\n"
    )
    path = tmp_path / "kort.csv"
    path.write_bytes(text.encode("utf-8"))
    result = k.import_cases(path)
    assert (result.imported, result.rejected) == (2, 0)
    first, second = k.get("2024-00001"), k.get("2024-00002")
    assert first.text == "Första raden\nandra raden"  # a line break is \n in every text (text_rules)
    assert first.anonymous
    assert first.serious
    assert first.dimensions == ("bemotande", "kompetens")
    assert second.contact is not None
    assert second.contact.name == "Per"
    assert not second.serious


# -- nothing twice ---------------------------------------------------------------


def test_rerunning_an_import_stores_nothing_twice(k: Klagomal, tmp_path: Path) -> None:
    path = jsonl(tmp_path / "old.jsonl", [row(f"A-{n}") for n in range(25)])
    first = k.import_cases(path, batch_size=10)
    second = k.import_cases(path, batch_size=7)
    assert (first.imported, first.skipped) == (25, 0)
    assert (second.imported, second.skipped) == (0, 25)
    assert len(k.cases()) == 25


def test_a_resumed_import_continues_where_it_stopped(k: Klagomal, tmp_path: Path) -> None:
    rows = [row(f"A-{n}") for n in range(30)]
    k.import_cases(jsonl(tmp_path / "part.jsonl", rows[:12]))  # the run that stopped
    result = k.import_cases(jsonl(tmp_path / "all.jsonl", rows), batch_size=5)
    assert (result.imported, result.skipped) == (18, 12)
    with k.storage.engine.connect() as conn:  # type: ignore[attr-defined]
        ids = conn.execute(sa.select(tables.external_ids.c.external_id)).scalars().all()
    assert sorted(ids) == sorted(f"A-{n}" for n in range(30))


def test_the_same_id_twice_in_one_file_is_imported_once(k: Klagomal, tmp_path: Path) -> None:
    result = k.import_cases(jsonl(tmp_path / "dup.jsonl", [row("A-1"), row("A-1", text="Annan text")]))
    assert (result.imported, result.skipped) == (1, 1)
    assert k.get("2019-00001").text == "Hemtjänsten kom inte."


# -- bad rows are kept, not dropped ---------------------------------------------


def test_bad_rows_go_to_the_rejects_file_with_line_and_reason(k: Klagomal, tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "mixed.jsonl",
        [
            row("A-1"),
            "{inte json",
            row("A-3", kind="klagomål?"),
            row("A-4", received="2027-01-01", acknowledged=None, answered=None, closed=None),
            row("A-5", channel="webbformular", name=None, phone=None),  # R5: not anonymous on the web
            row("A-6", acknowledged="2019-03-01"),  # besked before the case was received
            row("A-7", extra="?"),
            '["a", "list"]',
            {key: value for key, value in row("A-9").items() if key != "external_id"},
            row("A-10"),
        ],
    )
    result = k.import_cases(path, batch_size=3)
    assert (result.read, result.imported, result.rejected) == (10, 2, 8)
    assert result.rejects_file == str(path) + ".rejected.jsonl"
    found = rejects(Path(result.rejects_file))
    assert [r["line"] for r in found] == [2, 3, 4, 5, 6, 7, 8, 9]
    reasons = {r["line"]: r["reason"] for r in found}
    assert "inte giltig JSON" in reasons[2]
    assert "okänd typ 'klagomål?'" in reasons[3]
    assert "received (2027-01-01) ligger efter dagens datum" in reasons[4]
    assert "webbformular" in reasons[5] or "anonym" in reasons[5]
    assert "steg 'ge besked'" in reasons[6]
    assert "okända fält: extra" in reasons[7]
    assert "inget JSON-objekt" in reasons[8]
    assert "external_id" in reasons[9]
    # The row is kept exactly as it stood in the file.
    assert found[0]["raw"] == "{inte json"
    assert json.loads(found[1]["raw"]) == row("A-3", kind="klagomål?")
    assert found[1]["external_id"] == "A-3"
    assert sorted(c.reference for c in k.cases()) == ["2019-00001", "2019-00002"]


def test_a_line_that_is_not_utf8_is_rejected_and_kept(k: Klagomal, tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    # The second row was written by a system that used Latin-1.
    latin1 = json.dumps(row("A-2", text="Bemötande"), ensure_ascii=False).encode("latin-1")
    path.write_bytes(json.dumps(row("A-1")).encode() + b"\n" + latin1 + b"\n")
    result = k.import_cases(path)
    assert (result.imported, result.rejected) == (1, 1)
    found = rejects(tmp_path / "latin1.jsonl.rejected.jsonl")
    assert found[0]["line"] == 2
    assert "UTF-8" in found[0]["reason"]
    assert "Bem" in found[0]["raw"]


def test_a_csv_row_with_the_wrong_number_of_fields_is_rejected(k: Klagomal, tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text(
        f"external_id,kind,channel,unit,text,received\nC-1,klagomal,brev,{UNIT},Text,2024-01-02\nC-2,klagomal\n",
        encoding="utf-8",
    )
    result = k.import_cases(path)
    assert (result.imported, result.rejected) == (1, 1)
    assert rejects(tmp_path / "short.csv.rejected.jsonl")[0]["line"] == 3


def test_a_file_that_cannot_be_imported_at_all_is_a_clear_error(k: Klagomal, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"kan inte läsa .*saknas\.jsonl"):
        k.import_cases(tmp_path / "saknas.jsonl")
    with pytest.raises(InvalidInputError, match="kan inte avgöra formatet"):
        k.import_cases(jsonl(tmp_path / "data.xml", []))
    header = tmp_path / "header.csv"
    header.write_text("external_id,kind,colour\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="okända kolumner i rubrikraden: colour"):
        k.import_cases(header)
    with pytest.raises(InvalidInputError, match="batchstorleken"):
        k.import_cases(jsonl(tmp_path / "ok.jsonl", [row("A-1")]), batch_size=0)
    assert k.cases() == []


def test_every_field_is_documented() -> None:
    text = (Path(__file__).parent.parent / "docs" / "storage.md").read_text(encoding="utf-8")
    assert [name for name in FIELDS if f"`{name}`" not in text] == []


# -- export ------------------------------------------------------------------------


def test_streamed_export_is_the_export_byte_for_byte(k: Klagomal, tmp_path: Path) -> None:
    empty = io.StringIO()
    assert k.export_to(empty) == 0
    assert empty.getvalue() == json.dumps(k.export(), ensure_ascii=False, indent=1) + "\n"
    k.import_cases(jsonl(tmp_path / "old.jsonl", [row(f"A-{n}") for n in range(3)]))
    case = register_case(k)
    k.acknowledge(case.reference, "Hanna")
    stream = io.StringIO()
    assert k.export_to(stream) == 4
    assert stream.getvalue() == json.dumps(k.export(), ensure_ascii=False, indent=1) + "\n"


def test_the_external_id_survives_export_and_import(k: Klagomal, url: str, tmp_path: Path) -> None:
    k.import_cases(jsonl(tmp_path / "old.jsonl", [row("A-1")]))
    data = k.export()
    copy_url = f"sqlite:///{tmp_path / 'copy.db'}"
    with Klagomal(copy_url, clock=FixedClock(TODAY), load_entrypoints=False) as copy:
        copy.init()
        copy.import_(data)
        # The copy knows the old id, so the old file cannot be imported into it twice.
        again = copy.import_cases(jsonl(tmp_path / "old.jsonl", [row("A-1")]))
        assert (again.imported, again.skipped) == (0, 1)


# -- the command line --------------------------------------------------------------


def _cli(url: str, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = cli_module.main(["--db", url, "--today", TODAY.isoformat(), *argv], stdout=out)
    return status, out.getvalue()


def test_klagomal_import_cases_command(
    k: Klagomal, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = jsonl(tmp_path / "old.jsonl", [row("A-1"), row("A-2"), "{trasig"])
    status, out = _cli(url, "import-cases", str(path), "--batch-size", "2")
    # Rows were left out, so a script or cron job sees a failure.
    assert status == 1
    assert out.splitlines() == [
        "Läste 3 rader: 2 ärenden importerade, 0 fanns redan, 1 avvisade.",
        f"De avvisade raderna, med radnummer och skäl, finns i {path}.rejected.jsonl.",
    ]
    assert "100%" in capsys.readouterr().err  # the progress bar, on stderr
    status, out = _cli(url, "--json", "import-cases", str(path), "--rejects", str(tmp_path / "r.jsonl"))
    assert status == 1
    assert json.loads(out) == {
        "read": 3,
        "imported": 0,
        "skipped": 2,
        "rejected": 1,
        "rejects_file": str(tmp_path / "r.jsonl"),
    }


def test_klagomal_export_streams_to_a_file(k: Klagomal, url: str, tmp_path: Path) -> None:
    register_case(k)
    status, out = _cli(url, "export", "-o", str(tmp_path / "export.json"))
    assert status == 0
    assert out == f"Exporterade 1 ärende till {tmp_path / 'export.json'}.\n"
    exported = (tmp_path / "export.json").read_text(encoding="utf-8")
    assert exported == json.dumps(k.export(), ensure_ascii=False, indent=1) + "\n"

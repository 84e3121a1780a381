"""Input hygiene of the command line (issue 17): the exit-status contract for
bad input, and no control character, no forged line reaching the terminal.

The contract (docs/cli.md): 0 done; 1 a refused or failed step, or bad input
klagomal finds; 2 a command line that cannot be parsed; 77 a denial; 3 only
for a bug.  Every message is Swedish, on one line of stderr, never a
traceback.

What is shown: every command of the parser (read from it, so that a command
added later is covered) runs on a database holding hostile texts (terminal
escapes, a C1 control, a bidi override, a line separator and a line break
followed by a forged line), or with hostile arguments, as text and as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from klagomal.cli import _build_parser
from klagomal.notices.outbox import STATUSES, status_label
from klagomal.storage import tables
from test_cli import KLAGOMAL_ENV, Run, argv_of, run_main, script

#: What a careless or hostile user, or an old system's data, holds.
FORGED = "FORGED 2026-00099  registrerat"
HOSTILE = f"x\x1b[31mröd\x07\x9b2J\u202eevil\u2028\n{FORGED}"

#: What must never reach a terminal raw: C0 and C1 controls (line feed and
#: tab are the output's own), lone surrogates, line and paragraph separators,
#: bidi formatting characters.
UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)

#: The fields of an export whose texts the hostile data goes into.
_HOSTILE_KEYS = {
    "text",
    "reason",
    "handler",
    "name",
    "address",
    "phone",
    "sender",
    "summary",
    "ground",
    "decision",
    "recipients",
    "notes",
    "subject",
    "actor",
    "source_file",
}


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command the parser knows, subcommands of subcommands included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from command_paths(sub, (*prefix, name))
            return
    yield prefix


def _hostile(value: Any) -> Any:
    """An export with *HOSTILE* appended to every free text, name and sender."""
    if isinstance(value, dict):
        return {
            key: (
                item + HOSTILE
                if key in _HOSTILE_KEYS and isinstance(item, str)
                else [v + HOSTILE for v in item]
                if key in _HOSTILE_KEYS and isinstance(item, list) and all(isinstance(v, str) for v in item)
                else _hostile(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_hostile(item) for item in value]
    return value


def _ok(db: str, *argv: str, today: str = "2026-03-02") -> Run:
    result = run_main(["--db", db, "--today", today, *argv])
    assert result.status == 0, (argv, result.err)
    return result


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database whose cases, messages and audit log hold hostile texts, as
    an old system or a database written before the text rule could have them:
    built through the command line, exported, made hostile and imported."""
    folder = tmp_path_factory.mktemp("hostile")
    source = f"sqlite:///{folder / 'source.db'}"
    _ok(source, "init")
    unit = "soc-aldre-hemtjanst-norr"
    named = ("--name", "Eva Lind")
    _ok(
        source,
        "register",
        "--kind",
        "klagomal",
        "--channel",
        "telefon",
        "--unit",
        unit,
        "--text",
        "Hej.",
        *named,
    )
    _ok(
        source,
        "register",
        "--kind",
        "berom",
        "--channel",
        "brev",
        "--unit",
        "kof-bibliotek",
        "--text",
        "Tack!",
        *named,
    )
    for argv in (
        ["acknowledge", "2026-00001", "--handler", "Hanna", "--respond-by", "2026-03-20"],
        ["inform", "2026-00001", "--text", "Vi utreder."],
        ["postpone", "2026-00001", "--respond-by", "2026-03-27", "--reason", "Semester"],
        ["action", "2026-00001", "--text", "Ny rutin."],
        ["guide", "2026-00001", "--route", "felanmalan", "--text", "Ring felanmälan."],
        ["describe", "2026-00001", "Hemtjänst"],
        ["secrecy", "2026-00001", "--ground", "OSL 26 kap. 1 §", "--part", "3", "--reason", "Hälsa"],
        ["pass-on", "2026-00002", "--to", "Lisa", "--text", "Bra jobbat"],
        # R28: a flag whose reason show, list and the history print.
        ["flag", "2026-00001", "--hotfullt", "--reason", "Hotade personalen."],
        # Issue 19: a note and a corrected contact, whose texts and values are made hostile.
        ["note", "2026-00001", "Eva ringde."],
        ["correct-contact", "2026-00001", "--name", "Eva Lindström", "--reason", "Gifte sig"],
    ):
        _ok(source, *argv, today="2026-03-04")
    # Contact details through the register command, then a reply and a
    # message that goes to the quarantine.
    _ok(
        source,
        "register",
        *("--kind", "klagomal", "--channel", "epost", "--unit", unit, "--text", "Kallt."),
        *("--name", "Eva Lind", "--email", "eva@example.se", "--address", "Storgatan 1", "--phone", "070-1"),
        today="2026-03-04",
    )
    (folder / "reply.eml").write_bytes(
        b"From: Eva Lind <eva@example.se>\r\nSubject: Re: 2026-00003\r\n"
        b"Message-ID: <r1@example.se>\r\n\r\nMer.\r\n"
    )
    (folder / "bad.eml").write_bytes(b"\x00\x01 inget brev")
    _ok(source, "intake", "email", str(folder / "reply.eml"), today="2026-03-05")
    _ok(source, "intake", "email", str(folder / "bad.eml"), today="2026-03-05")
    export = json.loads(_ok(source, "export", today="2026-03-05").out)
    (folder / "hostile.json").write_text(json.dumps(_hostile(export), ensure_ascii=False), encoding="utf-8")
    path = folder / "klagomal.db"
    _ok(f"sqlite:///{path}", "init")
    _ok(f"sqlite:///{path}", "import", str(folder / "hostile.json"))
    # A phrase (R23) written before the text rule could refuse it.
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(
            sa.insert(tables.phrases).values(
                department="soc",
                purpose="tack",
                title=HOSTILE,
                text=HOSTILE,
                created_by=HOSTILE,
                created_at=dt.datetime(2026, 3, 5),
            )
        )
        # A worker's run and lease, as `jobs` shows them.
        conn.execute(sa.insert(tables.job_leases).values(job=HOSTILE, holder=HOSTILE))
        conn.execute(
            sa.insert(tables.job_runs).values(
                job="utskick",
                holder=HOSTILE,
                day=dt.date(2026, 3, 5),
                started_at=dt.datetime(2026, 3, 5),
                outcome="failed",
                detail=HOSTILE,
            )
        )
    engine.dispose()
    # A denial of an unknown, hostile user id, in the audit log.
    assert run_main(["--db", f"sqlite:///{path}", "--user", HOSTILE, "list"]).status == 77
    return path


REGISTER = ["register", "--kind", "klagomal", "--channel", "telefon", "--unit", "soc-aldre-hemtjanst-norr"]

#: For every command of the parser: the global options and the command line
#: it runs with, on the hostile database or with hostile arguments.
RUNS: dict[tuple[str, ...], tuple[list[str], list[str]]] = {
    ("init",): ([], ["init"]),
    ("demo",): ([], ["demo", "--year", "1999", "--outbox", HOSTILE]),
    ("units",): ([], ["units"]),
    ("organisation",): ([], ["organisation", "--example"]),
    ("register",): ([], [*REGISTER[:-1], HOSTILE, "--text", "Hej", "--name", "Eva"]),
    ("show",): ([], ["show", "2026-00001"]),
    ("list",): ([], ["list"]),
    ("search",): ([], ["search", "hej"]),
    ("related",): ([], ["related", "2026-00001"]),
    ("forward",): ([], ["forward", "2026-00001", "--to", HOSTILE]),
    ("acknowledge",): ([], ["acknowledge", HOSTILE, "--handler", HOSTILE]),
    ("assign",): ([], ["assign", "2026-00001", "--handler", HOSTILE]),
    ("inform",): ([], ["inform", "2026-00001", "--text", HOSTILE]),
    ("postpone",): ([], ["postpone", "2026-00001", "--respond-by", "2026-04-30", "--reason", HOSTILE]),
    ("pause",): ([], ["pause", "2026-00001", "--reason", HOSTILE]),
    ("resume",): ([], ["resume", HOSTILE]),
    ("answer",): ([], ["answer", "2026-00001", "--mode", "skriftligt", "--text", HOSTILE]),
    ("action",): ([], ["action", "2026-00001", "--text", HOSTILE]),
    ("close",): ([], ["close", HOSTILE, "--satisfied"]),
    ("escalate",): ([], ["escalate", "2026-00001", "--reason", HOSTILE]),
    ("pass-on",): ([], ["pass-on", "2026-00002", "--to", HOSTILE]),
    ("guide",): ([], ["guide", "2026-00001", "--route", "felanmalan", "--text", HOSTILE]),
    ("reclassify",): ([], ["reclassify", "2026-00002", "--kind", HOSTILE, "--reason", "x"]),
    ("flag",): ([], ["flag", "2026-00002", "--krankande", "--om", "arende", "--reason", HOSTILE]),
    ("unflag",): ([], ["unflag", "2026-00001", "--reason", HOSTILE]),
    ("note",): ([], ["note", "2026-00001", HOSTILE]),
    ("attach",): ([], ["attach", "2026-00001", HOSTILE]),
    ("correct-contact",): ([], ["correct-contact", "2026-00001", "--name", HOSTILE, "--reason", HOSTILE]),
    ("locate",): ([], ["locate", "2026-00001", "--place", HOSTILE, "--reason", HOSTILE]),
    ("export",): ([], ["export"]),
    ("import",): ([], ["import", HOSTILE]),
    ("import-cases",): ([], ["import-cases", HOSTILE, "--no-progress"]),
    ("plugins",): ([], ["plugins"]),
    ("letter",): ([], ["letter", "2026-00001"]),
    ("report",): ([], ["report", "--period", "2026-T1"]),
    ("whoami",): (["--user", HOSTILE], ["whoami"]),
    ("describe",): ([], ["describe", "2026-00001", HOSTILE]),
    ("secrecy",): ([], ["secrecy", "2026-00001", "--ground", HOSTILE]),
    ("register-extract",): ([], ["register-extract", "--period", "2026"]),
    ("extract",): ([], ["extract", "2026-00001"]),
    ("person", "export"): ([], ["person", "export", "--email", "eva@example.se"]),
    ("person", "anonymise"): ([], ["person", "anonymise", "--name", HOSTILE, "--decision", HOSTILE]),
    ("gallra",): ([], ["gallra", "--dry-run"]),
    ("audit", "verify"): ([], ["audit", "verify"]),
    ("audit", "log"): ([], ["audit", "log", "--limit", "1000"]),
    ("resolve",): ([], ["resolve", HOSTILE, "--text", "x", "--handler", "y"]),
    ("intake", "email"): ([], ["intake", "email", HOSTILE]),
    ("intake", "maildir"): ([], ["intake", "maildir", HOSTILE]),
    ("intake", "mbox"): ([], ["intake", "mbox", HOSTILE]),
    ("intake", "imap"): ([], ["intake", "imap", "--mailbox", HOSTILE]),
    ("intake", "release"): ([], ["intake", "release", "2"]),
    ("intake", "csv"): ([], ["intake", "csv", HOSTILE]),
    ("intake", "log"): ([], ["intake", "log"]),
    ("serve-smtp",): ([], ["serve-smtp", "--host", HOSTILE]),
    ("serve",): ([], ["serve", "--host", HOSTILE]),
    ("apikey", "create"): (
        ["--user", "nora.lind"],
        ["apikey", "create", "--for-user", HOSTILE, "--name", HOSTILE],
    ),
    ("apikey", "list"): (["--user", "nora.lind"], ["apikey", "list"]),
    ("apikey", "revoke"): (["--user", "nora.lind"], ["apikey", "revoke", "1"]),
    ("phrases", "list"): (["--user", "nora.lind"], ["phrases", "list", "--department", HOSTILE]),
    ("phrases", "add"): (
        ["--user", "nora.lind"],
        ["phrases", "add", "soc", "tack", "--title", HOSTILE, "--text", HOSTILE],
    ),
    ("phrases", "edit"): (["--user", "nora.lind"], ["phrases", "edit", "1", "--title", HOSTILE]),
    ("phrases", "retire"): (["--user", "nora.lind"], ["phrases", "retire", "1"]),
    ("deliver",): ([], ["deliver"]),
    ("outbox",): ([], ["outbox", "--all"]),
    ("remind",): ([], ["remind"]),
    ("worker",): ([], ["worker", "--once"]),
    ("jobs",): ([], ["jobs"]),
    ("webhook", "add"): ([], ["webhook", "add", HOSTILE, "--for-user", HOSTILE, "--events", HOSTILE]),
    ("webhook", "list"): ([], ["webhook", "list"]),
    ("webhook", "remove"): ([], ["webhook", "remove", "1"]),
    ("webhook", "deliver"): ([], ["webhook", "deliver"]),
    ("webhook", "deliveries"): ([], ["webhook", "deliveries", "--status", "failed"]),
    ("webhook", "retry"): ([], ["webhook", "retry", "1"]),
}

#: Documents whose layout another module renders (a letter's template, the
#: report's text): their control characters are escaped like everything
#: else, but a line break in a one-line value of old data stays a line break.
DOCUMENTS = {("letter",), ("report",)}


def test_every_command_of_the_parser_is_run_with_hostile_data() -> None:
    assert set(RUNS) == set(command_paths(_build_parser()))


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("path", sorted(RUNS), ids=" ".join)
def test_no_control_character_and_no_forged_line_reaches_the_terminal(
    hostile_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: tuple[str, ...], as_json: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(hostile_db, tmp_path / "klagomal.db")
    options, argv = RUNS[path]
    result = run_main([*options, "--today", "2026-03-20", *(["--json"] if as_json else []), *argv])
    shown = result.out + result.err
    assert result.status in (0, 1, 2, 77), (result.status, result.err)
    assert "Traceback" not in result.err
    assert not UNSAFE.search(shown), UNSAFE.findall(shown)
    if path not in DOCUMENTS:
        assert not [line for line in shown.splitlines() if line.startswith(FORGED[:6])], shown
    if result.status in (1, 77):
        assert len(result.err.splitlines()) == 1, result.err
    if result.status:
        assert result.err.splitlines()[-1].startswith("klagomal: ")
    if as_json and result.status == 0 and result.out:
        json.loads(result.out)  # escaped, and still one JSON object


def test_show_keeps_the_lines_of_a_text_but_indents_them(hostile_db: Path, tmp_path: Path) -> None:
    shutil.copy(hostile_db, tmp_path / "k.db")
    shown = run_main(["--db", f"sqlite:///{tmp_path / 'k.db'}", "show", "2026-00001"]).out
    (text,) = [line for line in shown.splitlines() if line.startswith("  Text:")]
    assert text.endswith("Hej.x\\u001b[31mröd\\u0007\\u009b2J\\u202eevil\\u2028")
    following = shown.splitlines()[shown.splitlines().index(text) + 1]
    assert following == " " * text.index("Hej.") + FORGED


def test_a_user_id_is_one_line_in_the_audit_log(hostile_db: Path, tmp_path: Path) -> None:
    shutil.copy(hostile_db, tmp_path / "k.db")
    log = run_main(["--db", f"sqlite:///{tmp_path / 'k.db'}", "audit", "log", "--limit", "1000"]).out
    (denial,) = [line for line in log.splitlines() if "denied" in line]
    assert "okänd användare 'x\\u001b[31mröd\\u0007\\u009b2J\\u202eevil\\u2028\\nFORGED" in denial


# -- the exit-status contract --------------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory with a new database (klagomal.db) and a few files."""
    monkeypatch.chdir(tmp_path)
    assert run_main(["init"]).status == 0
    (tmp_path / "text.db").write_text("Det här är ingen databas.\n", encoding="utf-8")
    (tmp_path / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    (tmp_path / "latin1.json").write_bytes('{"format": "Hemtjänst"}'.encode("latin-1"))
    (tmp_path / "binary.csv").write_bytes(b"\x7fELF\x02\x01\x01\x00\r\x00\x00\x00\n")
    (tmp_path / "exists").mkdir()
    (tmp_path / "exists" / "klagomal.csv").write_text("", encoding="utf-8")
    return tmp_path


@contextlib.contextmanager
def _busy_port() -> Iterator[int]:
    """A port on loopback that something already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


#: (command line, exit status, what the Swedish message says): the repros of
#: issue 17, and the general causes behind them.
BAD_INPUT: list[Any] = [
    # Issue 17's repros.
    pytest.param("report --period 0001-T1", 1, "perioden 0001-T1 ligger utanför åren 1900–2199", id="year-1"),
    pytest.param(
        "report --period 0001-01-01..9999-12-31", 1, "ligger utanför åren 1900–2199", id="period-0001..9999"
    ),
    pytest.param(
        "audit log --limit 99999999999999999999999",
        2,
        "argument --limit: '99999999999999999999999' är inget antal (ett heltal från 1 till 2 147 483 647)",
        id="huge-limit",
    ),
    pytest.param(
        "serve-smtp --port 99999",
        2,
        "argument --port: '99999' är inget portnummer (ett heltal från 1 till 65 535)",
        id="port-99999",
    ),
    pytest.param(
        [*REGISTER, "--name", "Eva", "--text", "\udcff"],
        2,
        "argument --text: '\\udcff' är inte giltig text (UTF-8)",
        id="xff",
    ),
    pytest.param(
        "--db sqlite:///text.db list",
        1,
        "databasen sqlite:///text.db kan inte användas: filen är ingen SQLite-databas; kontrollera --db",
        id="db-is-a-text-file",
    ),
    pytest.param("--db sqlite:///text.db init", 1, "filen är ingen SQLite-databas", id="init-a-text-file"),
    pytest.param(
        "outbox --status bogus",
        2,
        "argument --status: ogiltigt val 'bogus' (välj bland 'pending', 'sending', 'failed'",
        id="outbox-status-bogus",
    ),
    pytest.param(
        "intake mbox passwd",
        1,
        "passwd är ingen mbox-fil: den ska börja med en rad 'From ...'",
        id="mbox-passwd",
    ),
    pytest.param("audit log --limit -1", 2, "'-1' är inget antal (ett heltal från 1", id="limit-minus-1"),
    # The same causes elsewhere: numbers out of range ...
    pytest.param("audit log --limit 0", 2, "'0' är inget antal", id="limit-0"),
    pytest.param("deliver --limit 0", 2, "'0' är inget antal", id="deliver-limit-0"),
    pytest.param("outbox --done 99999999999", 2, "'99999999999' är inget id", id="done-huge"),
    pytest.param("outbox --resend -3", 2, "'-3' är inget id", id="resend-negative"),
    pytest.param("letter 2026-00001 --seq 0", 2, "'0' är inget id", id="seq-0"),
    pytest.param("secrecy 2026-00001 --ground x --part -1", 2, "'-1' är inget id", id="part-negative"),
    pytest.param("intake release 99999999999999999999", 2, "är inget id", id="release-huge"),
    pytest.param(
        "import-cases x.csv --batch-size 0", 2, "'0' är inget antal ärenden per transaktion", id="batch-0"
    ),
    pytest.param(
        "demo --year 1999", 2, "'1999' är inget år (ett heltal från 2000 till 2099)", id="demo-year"
    ),
    pytest.param("demo --cases 0", 2, "'0' är inget antal ärenden", id="demo-cases-0"),
    pytest.param(
        "list --due-within 99999999999999999999", 2, "är inget antal arbetsdagar", id="due-within-huge"
    ),
    pytest.param("serve-smtp --port 0", 2, "'0' är inget portnummer", id="port-0"),
    pytest.param("report --from 0001-01-01 --to 0001-12-31", 1, "ligger utanför åren", id="report-from-to"),
    pytest.param("register-extract --period 0001-T1", 1, "ligger utanför åren", id="register-extract-year-1"),
    # ... text that is not text ...
    pytest.param(
        ["--user", "nora\udce4", "list"],
        2,
        "argument --user: 'nora\\udce4' är inte giltig text (UTF-8)",
        id="user-not-utf8",
    ),
    pytest.param("import latin1.json", 1, "latin1.json är inte text i UTF-8 (byte 18)", id="import-latin1"),
    pytest.param(
        "import-cases binary.csv --no-progress",
        1,
        "rubrikraden kan inte läsas som CSV; är filen en CSV-fil?",
        id="import-cases-binary",
    ),
    # ... files and addresses that cannot be used ...
    pytest.param(
        "import-cases finns-inte.csv", 1, "kan inte använda finns-inte.csv: filen eller", id="no-file"
    ),
    pytest.param("intake csv exists", 1, "kan inte använda exists: det är en katalog", id="csv-a-folder"),
    pytest.param(
        "export -o saknas/x.json", 1, "kan inte använda saknas/x.json: filen eller katalogen", id="export"
    ),
    pytest.param(
        "report --period 2026 --format csv --out exists/klagomal.csv",
        1,
        "den finns redan",
        id="report-out-file",
    ),
    pytest.param(
        "serve-smtp --host värd.invalid",
        1,
        "kan inte ta emot SMTP på värd.invalid:8025",
        id="serve-unknown-host",
    ),
    # ... and e-mail addresses that are not one address (issue 17, item 12).
    pytest.param(
        [*REGISTER, "--text", "Hej", "--email", "bo@example.se\r\nBcc: alla@example.se"],
        1,
        "steg 'registrera': e-postadressen får inte innehålla radbrytningar",
        id="email-header-injection",
    ),
    pytest.param(
        [*REGISTER, "--text", "Hej", "--email", "a@example.se, ond@example.se"],
        1,
        "e-postadressen 'a@example.se, ond@example.se' kan inte användas: ange en enda adress",
        id="email-list",
    ),
    pytest.param(
        [*REGISTER, "--text", "Hej", "--email", '"ond@example.se" <a@example.se>'],
        1,
        "kan inte användas: ange bara själva adressen",
        id="email-display-name",
    ),
    pytest.param([*REGISTER, "--name", "Eva", "--text", "Hej\x1b[2J"], 1, "U+001B ESC", id="text-with-esc"),
]


@pytest.mark.parametrize(("command", "status", "message"), BAD_INPUT)
def test_bad_input_exits_1_or_2_with_a_swedish_message(
    workdir: Path, command: str | list[str], status: int, message: str
) -> None:
    before = (workdir / "klagomal.db").read_bytes()
    result = run_main(["--today", "2026-03-03", *argv_of(command)])
    assert result.status == status, (result.status, result.err)
    assert result.out == ""
    assert "Traceback" not in result.err
    last = result.err.splitlines()[-1]
    assert last.startswith("klagomal: fel: " if status == 2 else "klagomal: "), result.err
    assert message in last, result.err
    if status == 1:
        assert len(result.err.splitlines()) == 1
    assert (workdir / "klagomal.db").read_bytes() == before  # nothing written


def test_a_port_in_use_exits_1(workdir: Path) -> None:
    with _busy_port() as port:
        result = run_main(["serve-smtp", "--port", str(port)])
        assert result.status == 1
        assert result.err == (
            f"klagomal: steg 'ta emot e-post via SMTP': kan inte ta emot SMTP på 127.0.0.1:{port}: "
            "adressen används redan\n"
        )


def test_bytes_that_are_not_utf8_exit_2_as_a_real_process(workdir: Path) -> None:
    # $'\xff' from a shell: the bytes as the operating system passes them.
    env = {k: v for k, v in os.environ.items() if k not in KLAGOMAL_ENV}
    done = subprocess.run(
        [*script(), *REGISTER, "--name", "Eva", "--text", b"\xff"],  # type: ignore[list-item]
        cwd=workdir,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    err = done.stderr.decode("utf-8")
    assert done.returncode == 2, err
    assert err.splitlines()[-1] == (
        "klagomal: fel: argument --text: '\\udcff' är inte giltig text (UTF-8); "
        "ställ in terminalen på UTF-8 eller skriv om tecknen"
    )


def test_outbox_status_takes_exactly_the_statuses_a_notice_can_have() -> None:
    (outbox,) = [p for path, p in _subparsers(_build_parser()) if path == ("outbox",)]
    (status,) = [a for a in outbox._actions if a.dest == "status"]
    assert tuple(status.choices or ()) == STATUSES
    assert all(status_label(s) != s for s in STATUSES)  # each has its Swedish label


def _subparsers(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from _subparsers(sub, (*prefix, name))


def test_intake_email_by_a_user_who_may_not_is_a_denial_not_a_retry(workdir: Path) -> None:
    # 75 tells the mail server to try again; a denial will not pass by itself.
    (workdir / "brev.eml").write_bytes(b"From: eva@example.se\r\nSubject: Hej\r\n\r\nHej.\r\n")
    result = run_main(["--user", "sven.ek", "intake", "email", "brev.eml"])
    assert result.status == 77, result.err
    assert result.err.startswith("klagomal: Åtkomst nekad")


def test_an_environment_variable_that_is_not_utf8_exits_2(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLAGOMAL_USER", "nora\udce4")  # the bytes b"nora\xe4", as Python reads them
    result = run_main(["list"])
    assert result.status == 2
    assert result.err.splitlines()[-1].startswith(
        "klagomal: fel: argument --user: 'nora\\udce4' är inte giltig text"
    )

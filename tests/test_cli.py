"""End-to-end tests of the ``klagomal`` command line (see docs/cli.md).

The command line is a contract for scripts: command and option names, exit
statuses (0 done, 1 refused or failed step, 2 unparseable command line, 3
unexpected error), Swedish messages on stderr without a traceback, and with
``--json`` exactly one JSON object on stdout.

Most tests call :func:`klagomal.cli.main` in-process in a temporary working
directory, because that is fast; a handful run the installed console script
as a real subprocess (init, register, show --json, error exits, demo).  Every
test that depends on the date passes ``--today``, so nothing depends on the
wall clock.  Commands are written as shell-quoted strings, as a handler
would type them: ``cli.ok("forward 2026-00001 --to soc", today="2026-03-03")``.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import io
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from klagomal import CaseState, Klagomal
from klagomal.cli import main

DOCS_CLI = Path(__file__).parent.parent / "docs" / "cli.md"
ORG_FILE = Path(__file__).parent.parent / "src" / "klagomal" / "data" / "exempelkommun.toml"

#: Fields that every case object printed with --json must have.
CASE_KEYS = {
    "reference",
    "kind",
    "channel",
    "unit",
    "state",
    "level",
    "received",
    "acknowledge_by",
    "respond_by",
    "anonymous",
    "serious",
    "dimensions",
    "handler",
    "forwards",
    "events",
}

#: The routine's seven channels (R4) and how the demo's summary labels them.
CHANNELS = {"telefon", "brev", "epost", "besok", "svarskort", "webbformular", "telefonsvarare", "open311"}
CHANNEL_LABELS = [
    "Telefon",
    "Brev",
    "E-post",
    "Personligt besök",
    "Svarskort",
    "Webbformulär",
    "Telefonsvarare / gratisnummer",
]

#: The environment variables the CLI reads; no test may inherit them.
KLAGOMAL_ENV = ("KLAGOMAL_DB", "KLAGOMAL_ORG", "KLAGOMAL_DEBUG", "KLAGOMAL_LOCALEDIR")

Command = str | Sequence[str]


def argv_of(command: Command) -> list[str]:
    """A command line typed as one shell-quoted string, or already split."""
    return shlex.split(command) if isinstance(command, str) else list(command)


def register(
    *,
    kind: str = "klagomal",
    channel: str = "telefon",
    unit: str = "soc-aldre-hemtjanst-norr",
    text: str = "Hemtjänsten kom inte som utlovat.",
    who: str = "--name 'Eva Svensson' --phone '070-123 45 67'",
    extra: str = "",
) -> list[str]:
    """``register`` with sensible defaults; *who* and *extra* are shell-quoted options."""
    return [
        "register",
        *("--kind", kind, "--channel", channel, "--unit", unit, "--text", text),
        *shlex.split(who),
        *shlex.split(extra),
    ]


#: The three cases of the template database, registered on 2026-03-02.
COMPLAINT = register(extra="--dimension bemotande")
PRAISE = register(
    kind="berom", channel="svarskort", unit="kof-bibliotek", text="Underbar sagostund!", who="--anonymous"
)
SUGGESTION = register(
    kind="forslag",
    channel="epost",
    unit="soc-aldre-solgarden",
    text="Låt de boende välja meny.",
    who="--email karin@example.se",
)


# -- running the CLI ------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """What one command did."""

    argv: tuple[str, ...]
    status: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        """Stdout as exactly one JSON object."""
        obj = json.loads(self.out)
        assert isinstance(obj, dict), self.out
        return obj


def run_main(argv: list[str]) -> Run:
    """Run :func:`klagomal.cli.main` in-process, capturing stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            status = main(argv, stdout=out)
        except SystemExit as exc:  # argparse exits on an unparseable command line
            status = exc.code if isinstance(exc.code, int) else 1
    return Run(tuple(argv), status, out.getvalue(), err.getvalue())


class Cli:
    """Runs commands in-process; the global options go before the command."""

    def __call__(
        self, command: Command, *, today: str | None = None, json: bool = False, db: str | None = None
    ) -> Run:
        options: list[str] = []
        if db is not None:
            options += ["--db", db]
        if today is not None:
            options += ["--today", today]
        if json:
            options.append("--json")
        return run_main([*options, *argv_of(command)])

    def ok(self, command: Command, **options: Any) -> Run:
        """Run a command that must succeed."""
        result = self(command, **options)
        assert result.status == 0, (result.argv, result.status, result.err)
        assert result.err == ""
        return result

    def refused(self, command: Command, *, status: int = 1, **options: Any) -> Run:
        """Run a command that must fail cleanly with *status*."""
        result = self(command, **options)
        assert result.status == status, (result.argv, result.status, result.out, result.err)
        assert result.out == ""
        assert_clean_error(result.err)
        return result

    def case(self, command: Command, **options: Any) -> dict[str, Any]:
        """Run a command with --json and return the case object it prints."""
        obj = self.ok(command, json=True, **options).json()
        assert_case_object(obj)
        return obj

    def refs(self, command: Command, **options: Any) -> list[tuple[str, str | None]]:
        """Run a ``list`` with --json: ``(reference, overdue)`` of each case."""
        found = self.ok(command, json=True, **options).json()
        assert list(found) == ["cases"]
        for case in found["cases"]:
            assert_case_object(case)
        return [(c["reference"], c["overdue"]) for c in found["cases"]]

    def export(self, db: str | None = None) -> str:
        return self.ok("export", db=db).out


def assert_clean_error(err: str) -> None:
    """A handler sees a Swedish line (after argparse's usage), never a traceback."""
    assert "Traceback" not in err
    assert err.endswith("\n")
    assert err.splitlines()[-1].startswith("klagomal: "), err


def assert_case_object(obj: dict[str, Any]) -> None:
    assert obj.keys() >= CASE_KEYS, CASE_KEYS - obj.keys()
    assert isinstance(obj["events"], list)
    assert obj["events"], "a case has at least its registration"
    for event in obj["events"]:
        assert isinstance(event["data"]["type"], str)
    assert obj["events"][0]["data"]["type"] == "registered"


def event_types(case: dict[str, Any]) -> list[str]:
    return [e["data"]["type"] for e in case["events"]]


def script() -> list[str]:
    """The installed console script (next to this Python, else on PATH)."""
    beside = Path(sys.executable).with_name("klagomal")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("klagomal")
    return [found] if found else [sys.executable, "-m", "klagomal.cli"]


def run_script(command: Command, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the console script as a real subprocess, without any KLAGOMAL_* variable."""
    return subprocess.run(
        [*script(), *argv_of(command)],
        cwd=cwd,
        env={k: v for k, v in os.environ.items() if k not in KLAGOMAL_ENV},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def acknowledge(cli: Cli, ref: str, handler: str, respond_by: str, today: str) -> dict[str, Any]:
    """Give the besked (R7) and return the case object."""
    return cli.case(["acknowledge", ref, "--handler", handler, "--respond-by", respond_by], today=today)


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_klagomal_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KLAGOMAL_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The CLI, run in-process in an empty temporary working directory."""
    monkeypatch.chdir(tmp_path)
    return Cli()


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with three cases registered on 2026-03-02: 2026-00001 a
    named complaint, 2026-00002 anonymous praise, 2026-00003 a named suggestion."""
    path = tmp_path_factory.mktemp("template") / "klagomal.db"
    for argv in (["init"], COMPLAINT, PRAISE, SUGGESTION):
        result = run_main(["--db", f"sqlite:///{path}", "--today", "2026-03-02", *argv])
        assert result.status == 0, result.err
    return path


@pytest.fixture
def seeded(cli: Cli, template_db: Path) -> Cli:
    """The CLI in a working directory whose klagomal.db holds the template's cases."""
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{template_db}{suffix}")
        if source.exists():
            shutil.copy(source, Path.cwd() / f"klagomal.db{suffix}")
    return cli


# -- init and where the database is ----------------------------------------------------


def test_init_register_show_as_real_subprocesses(tmp_path: Path) -> None:
    init = run_script("init", tmp_path)
    assert init.returncode == 0, init.stderr
    assert re.fullmatch(r"Databasen sqlite:///klagomal\.db är klar \(schemaversion \w+\)\.\n", init.stdout)
    assert (tmp_path / "klagomal.db").exists()

    registered = run_script(["--today", "2026-03-02", *COMPLAINT], tmp_path)
    assert registered.returncode == 0, registered.stderr
    assert registered.stdout == (
        "Registrerade 2026-00001 (Klagomål) hos Hemtjänst Norr. Besked ska ges senast 2026-03-16.\n"
    )

    show = run_script("--today 2026-03-02 --json show 2026-00001", tmp_path)
    assert show.returncode == 0, show.stderr
    case = json.loads(show.stdout)
    assert isinstance(case, dict)
    assert_case_object(case)
    assert (case["reference"], case["contact"]["name"]) == ("2026-00001", "Eva Svensson")
    assert event_types(case) == ["registered"]


def test_uninitialised_database_exits_1_as_a_real_subprocess(tmp_path: Path) -> None:
    result = run_script("list", tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "klagomal init" in result.stderr
    assert "Traceback" not in result.stderr


def test_unparseable_command_line_exits_2_as_a_real_subprocess(tmp_path: Path) -> None:
    result = run_script("--today 2026-3-2 list", tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("användning: klagomal")
    assert "klagomal: fel: argument --today: '2026-3-2' är inget datum i formen ÅÅÅÅ-MM-DD" in result.stderr
    assert "Traceback" not in result.stderr


def test_init_default_db_is_klagomal_db_in_the_working_directory(cli: Cli, tmp_path: Path) -> None:
    init = cli.ok("init", json=True).json()
    assert init["db"] == "sqlite:///klagomal.db"
    assert isinstance(init["revision"], str)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".db") == ["klagomal.db"]


def test_init_is_idempotent_and_keeps_cases(seeded: Cli) -> None:
    before = seeded.export()
    seeded.ok("init")
    assert seeded.export() == before


def test_db_option_overrides_the_default(cli: Cli, tmp_path: Path) -> None:
    result = cli.ok("--db sqlite:///other.db init")
    assert result.out.startswith("Databasen sqlite:///other.db är klar")
    assert (tmp_path / "other.db").exists()
    assert not (tmp_path / "klagomal.db").exists()
    cli.ok(COMPLAINT, today="2026-03-02", db="sqlite:///other.db")
    assert len(json.loads(cli.export(db="sqlite:///other.db"))["cases"]) == 1


def test_klagomal_db_environment_variable_overrides_the_default(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLAGOMAL_DB", "sqlite:///env.db")
    cli.ok("init")
    cli.ok(COMPLAINT, today="2026-03-02")
    assert (tmp_path / "env.db").exists()
    assert not (tmp_path / "klagomal.db").exists()
    # --db still wins over the environment.
    cli.ok("init", db="sqlite:///flag.db")
    assert (tmp_path / "flag.db").exists()
    assert json.loads(cli.export())["cases"][0]["reference"] == "2026-00001"
    assert json.loads(cli.export(db="sqlite:///flag.db"))["cases"] == []


@pytest.mark.parametrize(
    "command",
    ["list", "show 2026-00001", "export", COMPLAINT, "inform 2026-00001 --text 'Vi återkommer.'"],
    ids=["list", "show", "export", "register", "inform"],
)
def test_command_on_a_missing_database_says_run_init_and_creates_nothing(
    cli: Cli, tmp_path: Path, command: Command
) -> None:
    result = cli.refused(command, today="2026-03-02")
    assert result.err == (
        "klagomal: Databasen sqlite:///klagomal.db finns inte. Kör 'klagomal init' för att skapa den.\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_command_on_a_database_without_the_schema_says_run_init(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "klagomal.db").touch()
    assert cli.refused("list", today="2026-03-02").err == (
        "klagomal: Databasen sqlite:///klagomal.db har inget klagomal-schema. Kör 'klagomal init' först.\n"
    )
    cli.ok("init")
    assert cli.refs("list", today="2026-03-02") == []


# -- register, show, list -----------------------------------------------------------------


def test_register_named_complaint_with_received_and_dimensions(cli: Cli) -> None:
    cli.ok("init")
    command = register(
        channel="brev",
        text="Personalen pratade över huvudet på min pappa.",
        who="--name 'Ahmed Hassan' --address 'Storgatan 1, 123 45 Exempelstad'",
        extra="--received 2026-02-27 --dimension bemotande --dimension kompetens --dimension bemotande",
    )
    # R7: ten working days from receipt (Friday 27 February), not from registration.
    assert cli.ok(command, today="2026-03-02").out == (
        "Registrerade 2026-00001 (Klagomål) hos Hemtjänst Norr. Besked ska ges senast 2026-03-13.\n"
    )
    case = cli.case("show 2026-00001", today="2026-03-02")
    assert {k: case[k] for k in CASE_KEYS - {"events"}} == {
        "reference": "2026-00001",
        "kind": "klagomal",
        "channel": "brev",
        "unit": "soc-aldre-hemtjanst-norr",
        "state": "registrerat",
        "level": 1,
        "received": "2026-02-27",
        "acknowledge_by": "2026-03-13",
        "respond_by": None,
        "anonymous": False,
        "serious": False,
        "dimensions": ["bemotande", "kompetens"],
        "handler": None,
        "forwards": 0,
    }
    assert case["overdue"] is None
    assert case["contact"] == {
        "name": "Ahmed Hassan",
        "email": None,
        "phone": None,
        "preferred": None,
        "address": "Storgatan 1, 123 45 Exempelstad",
        "personnummer": None,
        "protected": False,
    }


def test_register_anonymous_and_serious(cli: Cli) -> None:
    cli.ok("init")
    # R5: anonymous by telephone; R15: a serious complaint goes to the nearest manager.
    command = register(text="Min mamma blev lämnad ensam hela natten.", who="--anonymous", extra="--serious")
    assert cli.ok(command, today="2026-03-02").out == (
        "Registrerade 2026-00001 (Klagomål, anonymt) hos Hemtjänst Norr. Inget besked kan skickas; "
        "utse handläggare senast 2026-03-16.\n"
        "Allvarligt klagomål: handläggs av närmaste chef, Enhetschef Lena Holm.\n"
    )
    case = cli.case("show 2026-00001", today="2026-03-02")
    assert (case["anonymous"], case["contact"], case["serious"]) == (True, None, True)
    assert case["handler"] == "Enhetschef Lena Holm"


def test_a_registrar_registers_for_a_unit_they_may_not_read_and_is_told_so(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # R29: the contact centre takes in feedback for every unit, but reads only its own
    # cases. A handler may not backdate, so this runs on the real date.
    cli.ok("init")
    monkeypatch.setenv("KLAGOMAL_USER", "kontaktcenter")
    first, second = cli.ok(register(unit="sbf-gatapark-gata", text="Gropen på Storgatan.")).out.splitlines()
    assert re.fullmatch(r"Registrerade (\d{4}-00001) \(Klagomål\) hos Gatuenheten\. Besked .*", first), first
    assert second == "Ärendet handläggs av Gatuenheten; du har inte behörighet att läsa det."
    reference = cli.ok(register(unit="sbf-gatapark-gata"), json=True).json()["reference"]
    assert reference.endswith("-00002")
    # The case was registered, and reading it stays denied.
    assert "Åtkomst nekad" in cli.refused(f"show {reference}", status=77).err


def test_show_text(seeded: Cli) -> None:
    assert seeded.ok("show 2026-00001", today="2026-03-17").out == (
        "Ärende 2026-00001: Klagomål\n"
        "  Status:          Registrerat, Nivå 1: enheten\n"
        "  Enhet:           Hemtjänst Norr (Socialförvaltningen)\n"
        "  Kanal:           Telefon\n"
        "  Mottaget:        2026-03-02\n"
        "  Besked senast:   2026-03-16\n"
        "  Besked givet:    -\n"
        "  Svar senast:     -\n"
        "  Besvarat:        -\n"
        "  Avslutat:        -\n"
        "  Nöjd:            -\n"
        "  Handläggare:     -\n"
        "  Dimensioner:     Bemötande och personkontakt\n"
        "  Anonym:          nej\n"
        "  Allvarligt:      nej\n"
        "  Vidarebefordrat: 0 gånger\n"
        "  Nya svarsdatum:  0 (varav 0 för sent)\n"
        "  Åtgärder:        0\n"
        "  Kontakt:         Eva Svensson, 070-123 45 67\n"
        "  FÖRSENAT:        besked har inte getts i tid\n"
        "  Text:            Hemtjänsten kom inte som utlovat.\n"
        "Nästa steg: ge besked om handläggare och svarsdatum senast 2026-03-16 (FÖRSENAT) "
        "(klagomal acknowledge)\n"
        "Historik:\n"
        "  1  2026-03-02  Registrerat  systemet\n"
    )


def test_list_by_unit_includes_the_subtree(seeded: Cli) -> None:
    def refs(command: str) -> list[str]:
        return [ref for ref, _ in seeded.refs(command, today="2026-03-03")]

    assert refs("list") == ["2026-00001", "2026-00002", "2026-00003"]
    assert refs("list --unit soc") == ["2026-00001", "2026-00003"]
    assert refs("list --unit soc-aldre") == ["2026-00001", "2026-00003"]
    assert refs("list --unit soc-aldre-solgarden") == ["2026-00003"]
    assert refs("list --unit kof") == ["2026-00002"]
    assert refs("list --unit bou") == []
    assert refs("list --state registrerat") == ["2026-00001", "2026-00002", "2026-00003"]
    assert refs("list --state avslutat") == []
    assert refs("list --unit soc --state registrerat --overdue") == []
    # R7: a worklist says when each besked is due, in working days.
    assert seeded.ok("list --unit soc", today="2026-03-03").out == (
        "2026-00001  Klagomål  Hemtjänst Norr          Registrerat  nivå 1  -  "
        "besked senast 2026-03-16 (om 9 arbetsdagar)\n"
        "2026-00003  Förslag   Äldreboendet Solgården  Registrerat  nivå 1  -  "
        "besked senast 2026-03-16 (om 9 arbetsdagar)\n"
        "2 ärenden\n"
    )


def test_list_overdue_besked(seeded: Cli) -> None:
    # The besked is due by 2026-03-16 (R7); on the 16th nothing is late yet.
    assert seeded.refs("list --overdue", today="2026-03-16") == []
    assert seeded.refs("list --overdue", today="2026-03-17") == [
        ("2026-00001", "besked"),
        ("2026-00002", "besked"),
        ("2026-00003", "besked"),
    ]
    assert seeded.ok("list --overdue --unit kof", today="2026-03-17").out == (
        "2026-00002  Beröm  Biblioteket  Registrerat  nivå 1  -  FÖRSENAT (besked, senast 2026-03-16)\n"
        "1 ärende\n"
    )


# -- the whole lifecycle -------------------------------------------------------------------


def test_complaint_lifecycle_through_three_levels(seeded: Cli) -> None:
    cli = seeded
    ref = "2026-00001"

    # R12: forwarded to the right unit; every hop is counted.
    case = cli.case(f"forward {ref} --to soc-aldre-solgarden", today="2026-03-03")
    assert (case["unit"], case["forwards"], case["state"]) == ("soc-aldre-solgarden", 1, "registrerat")
    case = cli.case(f"forward {ref} --to soc-aldre-hemtjanst-norr", today="2026-03-04")
    assert (case["unit"], case["forwards"]) == ("soc-aldre-hemtjanst-norr", 2)

    # R9: information may be given before the besked.
    case = cli.case(f"inform {ref} --text 'Vi har tagit emot din synpunkt.'", today="2026-03-05")
    assert event_types(case)[-1] == "informed"

    # R7: the besked was not given in time.
    late = cli.refs("list --overdue --unit soc-aldre", today="2026-03-17")
    assert late == [(ref, "besked"), ("2026-00003", "besked")]

    case = acknowledge(cli, ref, "Enhetschef Lena Holm", "2026-03-27", today="2026-03-17")
    assert (case["state"], case["handler"], case["respond_by"], case["overdue"]) == (
        "handlaggning",
        "Enhetschef Lena Holm",
        "2026-03-27",
        None,
    )

    # R11: a new date, told before the promised one has passed.
    case = cli.case(
        f"postpone {ref} --respond-by 2026-04-10 --reason 'Vi väntar på ett yttrande.'", today="2026-03-25"
    )
    assert case["respond_by"] == "2026-04-10"
    postponed = case["events"][-1]["data"]
    assert (postponed["type"], postponed["previous"], postponed["in_time"]) == (
        "postponed",
        "2026-03-27",
        True,
    )

    # The answer is late now: the JSON says which deadline passed.
    assert (ref, "svar") in cli.refs("list --overdue", today="2026-04-13")
    assert cli.refs("list --state handlaggning", today="2026-04-13") == [(ref, "svar")]

    # R13: answered orally; R16: an action is recorded.
    case = cli.case(f"answer {ref} --mode muntligt --text 'Vi ber om ursäkt.'", today="2026-04-13")
    assert (case["state"], case["answer_mode"], case["overdue"]) == ("besvarat", "muntligt", None)
    case = cli.case(f"action {ref} --text 'Körschemat är ändrat.'", today="2026-04-14")
    assert case["actions"] == 1
    case = cli.case(
        f"close {ref} --not-satisfied --drop-tasks 'Personen nåddes inte per telefon.'", today="2026-04-15"
    )
    assert (case["state"], case["satisfied"]) == ("avslutat", False)

    # R20: level 2 is the förvaltningschef, who owes a new besked.
    case = cli.case(f"escalate {ref} --reason 'Inte nöjd med svaret.'", today="2026-04-16")
    assert (case["level"], case["state"], case["handler"]) == (2, "registrerat", "Socialchef Eva Nyström")
    assert (case["acknowledge_by"], case["respond_by"]) == ("2026-04-30", None)
    acknowledge(cli, ref, "Socialchef Eva Nyström", "2026-05-08", today="2026-04-17")
    cli.case(f"answer {ref} --mode skriftligt --text 'Förvaltningens svar.'", today="2026-04-20")
    cli.case(
        f"close {ref} --not-satisfied --drop-tasks 'Personen nåddes inte per telefon.'", today="2026-04-21"
    )

    # R21: level 3 is the nämnd.
    case = cli.case(f"escalate {ref} --reason 'Fortfarande inte nöjd.'", today="2026-04-22")
    assert (case["level"], case["handler"]) == (3, "Socialnämnden")
    acknowledge(cli, ref, "Socialnämnden", "2026-05-29", today="2026-04-23")
    case = cli.case(f"answer {ref} --mode skriftligt --text 'Nämndens svar.'", today="2026-05-20")
    assert case["answer_mode"] == "skriftligt"
    cli.case(
        f"close {ref} --not-satisfied --drop-tasks 'Personen nåddes inte per telefon.'", today="2026-05-21"
    )

    # There is no level 4.
    before = cli.export()
    assert cli.refused(f"escalate {ref} --reason Igen.", today="2026-05-22").err == (
        "klagomal: Ärende 2026-00001 (status avslutat): steget 'lyfta till nästa nivå' är inte tillåtet: "
        "ärendet är redan på högsta nivån (nämnden)\n"
    )
    assert cli.export() == before

    final = cli.case(f"show {ref}", today="2026-05-22")
    assert (final["level"], final["state"], final["satisfied"]) == (3, "avslutat", False)
    level_1 = ["registered", "forwarded", "forwarded", "informed", "acknowledged", "postponed", "answered"]
    again = ["escalated", "acknowledged", "answered", "closed"]
    assert event_types(final) == [*level_1, "action_recorded", "closed", *again, *again]
    days = [e["day"] for e in final["events"]]
    assert days == sorted(days)


def test_praise_and_suggestion(seeded: Cli) -> None:
    cli = seeded
    # R22: praise is passed on to the staff it concerns.
    case = cli.case(
        "pass-on 2026-00002 --to 'Bibliotekschef Ulla Rydén' --to Barnbibliotekarierna --text 'Tack!'",
        today="2026-03-03",
    )
    assert case["praise_passed_on"] is True
    assert case["events"][-1]["data"]["recipients"] == ["Bibliotekschef Ulla Rydén", "Barnbibliotekarierna"]

    # R5: an anonymous case is closed without an answer and without "satisfied".
    acknowledge(cli, "2026-00002", "Bibliotekschef Ulla Rydén", "2026-03-13", today="2026-03-04")
    case = cli.case("close 2026-00002", today="2026-03-05")
    assert (case["state"], case["satisfied"], case["anonymous"]) == ("avslutat", None, True)

    # R2: a suggestion may be corrected to praise ...
    case = cli.case("reclassify 2026-00003 --kind berom --reason 'Det var beröm.'", today="2026-03-03")
    assert case["kind"] == "berom"
    # ... and answered and closed with a satisfied person, who cannot escalate.
    acknowledge(cli, "2026-00003", "Enhetschef Maria Persson", "2026-03-20", today="2026-03-04")
    cli.case("answer 2026-00003 --mode skriftligt --text Tack!", today="2026-03-06")
    assert cli.case("close 2026-00003 --satisfied", today="2026-03-09")["satisfied"] is True
    refused = cli.refused("escalate 2026-00003 --reason x", today="2026-03-10")
    assert "bara ett ärende där personen inte är nöjd kan lyftas" in refused.err

    assert cli.refs("list --state avslutat", today="2026-03-10") == [
        ("2026-00002", None),
        ("2026-00003", None),
    ]


def test_step_messages(seeded: Cli) -> None:
    expected = {
        "forward 2026-00001 --to soc-aldre-solgarden": (
            "2026-00001 skickades vidare till Äldreboendet Solgården (vidarebefordrat 1 gång)."
        ),
        "inform 2026-00001 --text 'Vi utreder.'": "Information registrerad för 2026-00001.",
        "action 2026-00001 --text 'Ny rutin.'": "Åtgärd registrerad för 2026-00001.",
        "pass-on 2026-00002 --to Personalen": "Berömmet i 2026-00002 är vidarebefordrat.",
        "reclassify 2026-00003 --kind berom --reason Beröm.": "2026-00003 är nu av typen Beröm.",
        "acknowledge 2026-00003 --handler 'Enhetschef Maria Persson' --respond-by 2026-03-20": (
            "Besked registrerat för 2026-00003: Enhetschef Maria Persson svarar senast 2026-03-20."
        ),
    }
    for command, message in expected.items():
        assert seeded.ok(command, today="2026-03-03").out == message + "\n"


def test_reclassify_a_complaint_is_refused(seeded: Cli) -> None:
    before = seeded.export()
    for kind in ("forslag", "berom"):
        result = seeded.refused(f"reclassify 2026-00001 --kind {kind} --reason 'Inget klagomål.'")
        assert result.err == (
            "klagomal: Ärende 2026-00001 (status registrerat): steget 'ändra typ' är inte tillåtet: "
            "ett klagomål kan aldrig omklassificeras; den enskilde avgör (R2)\n"
        )
    assert seeded.export() == before


# -- --json ---------------------------------------------------------------------------------


def test_every_command_prints_exactly_one_json_object(cli: Cli, tmp_path: Path) -> None:
    def j(command: Command, today: str = "2026-03-03") -> dict[str, Any]:
        return cli.ok(command, today=today, json=True).json()

    assert set(j("init")) == {"db", "revision"}
    for command in (COMPLAINT, PRAISE, SUGGESTION):
        assert_case_object(j(command, today="2026-03-02"))
    for command in (
        "show 2026-00001",
        "forward 2026-00001 --to soc-aldre-solgarden",
        "inform 2026-00001 --text 'Vi utreder.'",
        "action 2026-00001 --text 'Ny rutin.'",
        "pass-on 2026-00002 --to Personalen",
        "reclassify 2026-00003 --kind berom --reason Beröm.",
    ):
        assert_case_object(j(command))
    assert [ref for ref, _ in cli.refs("list", today="2026-03-03")] == [
        "2026-00001",
        "2026-00002",
        "2026-00003",
    ]

    export = j("export")
    assert (export["format"], export["version"], len(export["cases"])) == ("klagomal-export", 4, 3)
    assert j("export -o backup.json") == {"file": "backup.json", "cases": 3}
    assert json.loads((tmp_path / "backup.json").read_text(encoding="utf-8")) == export
    cli.ok("init", db="sqlite:///copy.db")
    assert j("--db sqlite:///copy.db import backup.json") == {"imported": 3}

    units = j("units")
    assert (units["organisation"], units["name"], units["system_owner"]) == (
        "exempelkommun",
        "Exempelkommun",
        "klf",
    )
    assert isinstance(j("plugins")["plugins"], list)


# -- errors -----------------------------------------------------------------------------------

ERRORS: list[Any] = [
    # (command, exit status, what the message must contain)
    pytest.param("show 2026-09999", 1, ["Ärendet 2026-09999 finns inte"], id="unknown-reference"),
    pytest.param(
        "forward 2026-00042 --to soc", 1, ["Ärendet 2026-00042 finns inte"], id="unknown-reference-step"
    ),
    pytest.param(
        register(unit="soc-finns-inte"),
        1,
        ["steg 'registrera'", "okänd enhet 'soc-finns-inte'"],
        id="unknown-unit",
    ),
    pytest.param(
        register(channel="fax"),
        1,
        ["steg 'registrera'", "okänd kanal 'fax'", "telefon", "webbformular"],
        id="unknown-channel",
    ),
    pytest.param(
        register(kind="gnäll"),
        1,
        ["steg 'registrera'", "okänd typ 'gnäll' (giltiga: klagomal, forslag, berom)"],
        id="unknown-kind",
    ),
    pytest.param(
        register(extra="--dimension bemotande --dimension smak"),
        1,
        ["steg 'registrera'", "okänd kvalitetsdimension 'smak'", "bemotande"],
        id="unknown-dimension",
    ),
    pytest.param(
        register(channel="webbformular", who="--anonymous"),
        1,
        ["steg 'registrera'", "anonyma synpunkter tas inte emot via kanalen 'webbformular'"],
        id="anonymous-web-form-R5",
    ),
    pytest.param(
        register(who="--anonymous --name Eva"),
        1,
        ["steg 'registrera'", "en anonym synpunkt kan inte ha kontaktuppgifter"],
        id="anonymous-with-name",
    ),
    pytest.param(
        register(who=""),
        1,
        ["steg 'registrera'", "ange --anonymous eller minst en av --name, --email, --phone, --address"],
        id="neither-anonymous-nor-contact",
    ),
    pytest.param(
        register(kind="forslag", extra="--serious"),
        1,
        ["bara klagomål kan markeras som allvarliga"],
        id="serious-suggestion",
    ),
    pytest.param(
        register(extra="--received 2026-03-04"),
        1,
        ["mottagningsdatum 2026-03-04 ligger efter dagens datum 2026-03-03"],
        id="received-in-the-future",
    ),
    pytest.param(register(text="   "), 1, ["steg 'registrera'", "texten"], id="empty-text"),
    pytest.param(
        "answer 2026-00001 --mode skriftligt --text Svar.",
        1,
        ["Ärende 2026-00001", "'besvara'", "status registrerat", "kräver status under handläggning"],
        id="answer-before-acknowledge",
    ),
    pytest.param(
        "postpone 2026-00001 --respond-by 2026-04-01 --reason x",
        1,
        ["Ärende 2026-00001", "'ge nytt svarsdatum'", "kräver status under handläggning"],
        id="postpone-before-acknowledge",
    ),
    pytest.param(
        "close 2026-00001 --satisfied",
        1,
        ["Ärende 2026-00001", "'avsluta'", "kräver status besvarat"],
        id="close-before-answer",
    ),
    pytest.param(
        "escalate 2026-00001 --reason x",
        1,
        ["Ärende 2026-00001", "'lyfta till nästa nivå'", "kräver status avslutat"],
        id="escalate-an-open-case",
    ),
    pytest.param(
        "pass-on 2026-00001 --to Lena",
        1,
        ["Ärende 2026-00001", "'föra beröm vidare'", "bara beröm förs vidare till personalen"],
        id="pass-on-a-complaint",
    ),
    pytest.param(
        "pass-on 2026-00002 --to ' '",
        1,
        ["Ärende 2026-00002", "'föra beröm vidare'", "ange vem berömmet ska föras vidare till"],
        id="pass-on-to-nobody",
    ),
    pytest.param(
        "inform 2026-00002 --text Hej",
        1,
        ["Ärende 2026-00002", "'informera'", "anonymt"],
        id="inform-anonymous-R5",
    ),
    pytest.param(
        "reclassify 2026-00003 --kind forslag --reason x",
        1,
        ["Ärende 2026-00003", "'ändra typ'", "redan av typen"],
        id="reclassify-to-the-same-kind",
    ),
    pytest.param(
        "forward 2026-00001 --to soc-finns-inte",
        1,
        ["Ärende 2026-00001", "'skicka vidare'", "okänd enhet 'soc-finns-inte'"],
        id="forward-to-an-unknown-unit",
    ),
    pytest.param(
        "forward 2026-00001 --to soc-aldre-hemtjanst-norr",
        1,
        ["Ärende 2026-00001", "'skicka vidare'", "ärendet ligger redan hos soc-aldre-hemtjanst-norr"],
        id="forward-to-the-same-unit",
    ),
    pytest.param("list --unit soc-finns-inte", 1, ["soc-finns-inte"], id="list-unknown-unit"),
    pytest.param(
        "list --state klar",
        1,
        ["okänd status 'klar' (giltiga: registrerat, handlaggning, besvarat, avslutat)"],
        id="list-unknown-state",
    ),
    pytest.param("import finns-inte.json", 1, ["kan inte läsa finns-inte.json"], id="import-a-missing-file"),
    pytest.param(
        "acknowledge 2026-00001 --handler Lena --respond-by 2026-03-02",
        1,
        ["Ärende 2026-00001", "'ge besked'", "svarsdatum 2026-03-02 har redan passerat"],
        id="acknowledge-with-a-past-date",
    ),
    # Command lines that cannot be parsed: exit 2, argparse's usage, a Swedish message.
    pytest.param(
        "--today 2026-3-3 list",
        2,
        ["argument --today: '2026-3-3' är inget datum i formen ÅÅÅÅ-MM-DD"],
        id="bad-today",
    ),
    pytest.param(
        "acknowledge 2026-00001 --handler Lena --respond-by 2026-02-30",
        2,
        ["argument --respond-by: '2026-02-30' är inget datum i formen ÅÅÅÅ-MM-DD"],
        id="bad-respond-by",
    ),
    pytest.param(
        "postpone 2026-00001 --respond-by 31/3 --reason x",
        2,
        ["argument --respond-by: '31/3' är inget datum"],
        id="bad-postpone-date",
    ),
    pytest.param(
        register(extra="--received igår"),
        2,
        ["argument --received: 'igår' är inget datum"],
        id="bad-received",
    ),
    pytest.param(register()[:7], 2, ["följande argument saknas: --text"], id="missing-text"),
    pytest.param(
        "acknowledge 2026-00001 --respond-by 2026-04-01",
        2,
        ["följande argument saknas: --handler"],
        id="missing-handler",
    ),
    pytest.param("show", 2, ["följande argument saknas: ÄRENDE"], id="missing-reference"),
    pytest.param("", 2, ["följande argument saknas: KOMMANDO"], id="missing-command"),
    pytest.param("klaga", 2, ["argument KOMMANDO: ogiltigt val 'klaga'"], id="unknown-command"),
    pytest.param("list --färg blå", 2, ["okända argument: --färg blå"], id="unknown-option"),
    pytest.param(
        "answer 2026-00001 --mode sjungande --text x",
        2,
        ["argument --mode: ogiltigt val 'sjungande'", "skriftligt", "muntligt"],
        id="unknown-answer-mode",
    ),
    pytest.param(
        "close 2026-00001 --satisfied --not-satisfied",
        2,
        ["argument --not-satisfied kan inte kombineras med --satisfied"],
        id="satisfied-and-not-satisfied",
    ),
]


@pytest.mark.parametrize(("command", "status", "expected"), ERRORS)
def test_errors_are_clean_swedish_and_change_nothing(
    seeded: Cli, command: Command, status: int, expected: list[str]
) -> None:
    before = seeded.export()
    argv = argv_of(command)
    today = None if argv[:1] == ["--today"] else "2026-03-03"
    result = seeded.refused(argv, status=status, today=today)
    for text in expected:
        assert text in result.err
    if status == 2:
        assert result.err.startswith("användning: klagomal")
        assert result.err.splitlines()[-1].startswith("klagomal: fel: ")
    else:
        assert len(result.err.splitlines()) == 1
    assert seeded.export() == before


def test_refused_step_message_in_full(seeded: Cli) -> None:
    expected = (
        "klagomal: Ärende 2026-00001 (status registrerat): steget 'besvara' är inte tillåtet: "
        "kräver status under handläggning\n"
    )
    command = "answer 2026-00001 --mode skriftligt --text Svar."
    assert seeded.refused(command, today="2026-03-03").err == expected
    assert seeded.refused(command, today="2026-03-03", json=True).err == expected  # --json is for stdout only


def test_reclassify_to_an_unknown_kind_names_the_case(seeded: Cli) -> None:
    result = seeded.refused("reclassify 2026-00003 --kind nope --reason x", today="2026-03-03")
    assert "2026-00003" in result.err
    assert "'ändra typ'" in result.err


def test_a_step_on_an_unknown_reference_names_the_step(seeded: Cli) -> None:
    result = seeded.refused("answer 2026-09999 --mode muntligt --text x", today="2026-03-03")
    assert result.err == "klagomal: Ärendet 2026-09999 finns inte (steg 'besvara')\n"


def test_a_step_dated_before_the_latest_event_is_refused(seeded: Cli) -> None:
    # A mistyped --today must not break the order of the history.
    before = seeded.export()
    assert seeded.refused("inform 2026-00001 --text 'Vi återkommer.'", today="2026-02-01").err == (
        "klagomal: Ärende 2026-00001, steg 'informera': dagens datum 2026-02-01 ligger före ärendets "
        "senaste händelse 2026-03-02\n"
    )
    seeded.ok("action 2026-00001 --text 'Ny rutin.'", today="2026-03-10")
    result = seeded.refused("forward 2026-00001 --to soc", today="2026-03-09")
    assert "senaste händelse 2026-03-10" in result.err
    seeded.ok("forward 2026-00001 --to soc", today="2026-03-10")  # the same day is fine
    assert seeded.export() != before


# -- export and import ----------------------------------------------------------------------


def test_export_import_round_trip(seeded: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = seeded
    cli.ok("forward 2026-00001 --to soc-aldre-solgarden", today="2026-03-03")
    cli.ok("inform 2026-00001 --text 'Vi utreder.'", today="2026-03-04")
    cli.ok("pass-on 2026-00002 --to Personalen", today="2026-03-04")
    cli.ok("reclassify 2026-00003 --kind berom --reason Beröm.", today="2026-03-04")
    acknowledge(cli, "2026-00001", "Lena", "2026-03-20", today="2026-03-05")
    cli.ok("postpone 2026-00001 --respond-by 2026-03-31 --reason Utredning.", today="2026-03-10")
    cli.ok("answer 2026-00001 --mode skriftligt --text Svar.", today="2026-03-30")
    cli.ok(
        "close 2026-00001 --not-satisfied --drop-tasks 'Personen nåddes inte per telefon.'",
        today="2026-03-31",
    )
    cli.ok("escalate 2026-00001 --reason 'Inte nöjd.'", today="2026-04-01")
    first = cli.export()
    assert cli.ok("export -o backup.json").out == "Exporterade 3 ärenden till backup.json.\n"
    assert (tmp_path / "backup.json").read_text(encoding="utf-8") == first

    fresh = "sqlite:///fresh.db"
    cli.ok("init", db=fresh)
    assert cli.ok("import backup.json", db=fresh).out == "Importerade 3 ärenden.\n"
    assert cli.export(db=fresh) == first

    # From standard input, into a third database.
    third = "sqlite:///third.db"
    cli.ok("init", db=third)
    monkeypatch.setattr(sys, "stdin", io.StringIO(first))
    assert cli.ok("import -", db=third, json=True).json() == {"imported": 3}
    assert json.loads(cli.export(db=third)) == json.loads(first)

    # Numbering continues after the imported cases, and they can be worked on.
    assert cli.case(PRAISE, today="2026-04-02", db=fresh)["reference"] == "2026-00004"
    assert cli.case("show 2026-00001", db=fresh, today="2026-04-02")["level"] == 2


def export_with(template_db: Path, change: Callable[[dict[str, Any]], None]) -> str:
    """The template's export, changed by *change*, as JSON text."""
    data = json.loads(run_main(["--db", f"sqlite:///{template_db}", "export"]).out)
    change(data)
    return json.dumps(data, ensure_ascii=False)


def _unknown_channel_in_the_last_case(data: dict[str, Any]) -> None:
    data["cases"][-1]["events"][0]["data"]["channel"] = "fax"


def _gap_in_the_events(data: dict[str, Any]) -> None:
    data["cases"][0]["events"][0]["seq"] = 2


def _events_missing(data: dict[str, Any]) -> None:
    del data["cases"][1]["events"]


def _event_unreadable(data: dict[str, Any]) -> None:
    data["cases"][1]["events"][0]["data"] = {"type": "registered"}


def _newer_version(data: dict[str, Any]) -> None:
    data["version"] = 5


def _unknown_version(data: dict[str, Any]) -> None:
    data["version"] = "2"


def _cases_not_a_list(data: dict[str, Any]) -> None:
    data["cases"] = "2026-00001"


def _reference_year_not_a_number(data: dict[str, Any]) -> None:
    data["references"] = {"tjugo": 3}


BAD_IMPORTS: list[Any] = [
    pytest.param("det här är ingen JSON", ["är inte giltig JSON (rad 1)"], id="not-json"),
    pytest.param("", ["är inte giltig JSON"], id="empty-file"),
    pytest.param("[1, 2, 3]", ["filen är ingen klagomal-export"], id="json-list"),
    pytest.param('{"a": 1}', ["filen är ingen klagomal-export"], id="json-not-an-export"),
    pytest.param(
        _newer_version,
        ["klagomal-export av version 5, som är nyare än vad", "kan läsa (version 1, 2, 3 och 4)"],
        id="newer-version",
    ),
    pytest.param(
        _unknown_version,
        ['klagomal-export av okänd version "2" (kända versioner: 1, 2, 3 och 4)'],
        id="unknown-version",
    ),
    pytest.param(
        _unknown_channel_in_the_last_case, ["2026-00003", "okänd kanal 'fax'"], id="unknown-channel"
    ),
    pytest.param(_gap_in_the_events, ["2026-00001", "luckor"], id="gap-in-the-events"),
    pytest.param(_events_missing, ["2026-00002", "händelserna kan inte läsas"], id="events-missing"),
    pytest.param(_event_unreadable, ["2026-00002", "händelserna kan inte läsas"], id="event-unreadable"),
    pytest.param(_cases_not_a_list, ["'cases' måste vara en lista"], id="cases-not-a-list"),
    pytest.param(
        _reference_year_not_a_number,
        ["'references' ska ange år och senaste nummer som heltal"],
        id="reference-year-not-a-number",
    ),
]


@pytest.mark.parametrize(("content", "expected"), BAD_IMPORTS)
def test_a_bad_import_fails_cleanly_and_imports_nothing(
    cli: Cli, tmp_path: Path, template_db: Path, content: Any, expected: list[str]
) -> None:
    text = content if isinstance(content, str) else export_with(template_db, content)
    (tmp_path / "in.json").write_text(text, encoding="utf-8")
    cli.ok("init")
    cli.ok(register(unit="kof-badhus"), today="2026-03-02")  # the target is not empty; it must stay as it is
    before = cli.export()
    result = cli.refused("import in.json")
    assert "steg 'importera'" in result.err
    for part in expected:
        assert part in result.err
    assert cli.export() == before


def test_import_refuses_cases_that_exist(seeded: Cli) -> None:
    seeded.ok("export -o backup.json")
    before = seeded.export()
    assert seeded.refused("import backup.json").err == "klagomal: Ärende 2026-00001 finns redan i databasen\n"
    assert seeded.export() == before


# -- units, plugins, --org ---------------------------------------------------------------------


def test_units(cli: Cli) -> None:
    lines = cli.ok("units").out.splitlines()
    assert lines[0] == "Exempelkommun (systemägare: Kommunledningsförvaltningen)"
    # One table: ids indented by level, names and chefs in columns of their own.
    soc = "  soc" + " " * 30 + "Socialförvaltningen" + " " * 17 + "(chef: Socialchef Eva Nyström)"
    norr = "      soc-aldre-hemtjanst-norr     Hemtjänst Norr" + " " * 22 + "(chef: Enhetschef Lena Holm)"
    assert soc in lines
    assert norr in lines
    assert len({line.index("(chef: ") for line in lines[1:]}) == 1
    units = {u["id"]: u for u in cli.ok("units", json=True).json()["units"]}
    assert units["soc"] == {
        "id": "soc",
        "name": "Socialförvaltningen",
        "level": "forvaltning",
        "manager": "Socialchef Eva Nyström",
        "parent": None,
        "department": "soc",
        "head": "Socialchef Eva Nyström",
        "board": "Socialnämnden",
    }
    assert units["soc-aldre-hemtjanst-norr"]["parent"] == "soc-aldre"
    assert units["soc-aldre-hemtjanst-norr"]["level"] == "enhet"
    assert len(units) == len(lines) - 1


SMALL_ORG = """\
[kommun]
id = "litenkommun"
namn = "Liten kommun"
systemagare = "kk"

[[forvaltning]]
id = "kk"
namn = "Kommunkontoret"
chef = "Kommunchef Åsa Ek"
namnd = "Kommunstyrelsen"

  [[forvaltning.enhet]]
  id = "kk-reception"
  namn = "Receptionen"
  chef = "Enhetschef Bo Lund"
"""


def test_org_option_and_environment_variable(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "liten.toml").write_text(SMALL_ORG, encoding="utf-8")
    expected = (
        "Liten kommun (systemägare: Kommunkontoret)\n"
        "  kk              Kommunkontoret  (chef: Kommunchef Åsa Ek)\n"
        "    kk-reception  Receptionen     (chef: Enhetschef Bo Lund)\n"
    )
    assert cli.ok("--org liten.toml units").out == expected
    monkeypatch.setenv("KLAGOMAL_ORG", "liten.toml")
    assert cli.ok("units").out == expected
    cli.ok("init")
    # R15 with this kommun's own chef.
    case = cli.case(register(unit="kk-reception", extra="--serious"), today="2026-03-02")
    assert case["handler"] == "Enhetschef Bo Lund"
    # A unit of Exempelkommun does not exist in this kommun.
    assert "okänd enhet 'soc'" in cli.refused(register(unit="soc"), today="2026-03-02").err


def test_a_missing_org_file_is_a_clean_error(cli: Cli) -> None:
    assert cli.refused("--org finns-inte.toml units").err == (
        "klagomal: finns-inte.toml: organisationsfilen finns inte\n"
    )


def test_plugins(cli: Cli) -> None:
    cli.ok("init")
    text = cli.ok("plugins").out
    assert (
        "klagomal.builtin\n  krokar: klagomal_allows_anonymous, klagomal_calendars, klagomal_channels" in text
    )
    assert "  kalendrar: se\n  aviseringssätt: log, fil, utskrift, smtp\n  lagring: sqlalchemy\n" in text
    assert "  tidsfristpolicy för: klf, soc, bou, sbf, kof\n" in text
    plugins = {p["name"]: p for p in cli.ok("plugins", json=True).json()["plugins"]}
    builtin = plugins["klagomal.builtin"]
    assert set(builtin["channels"]) == CHANNELS
    assert builtin["dimensions"] == ["tillganglighet", "kompetens", "bemotande", "inflytande"]
    assert (builtin["calendars"], builtin["notifiers"]) == (["se"], ["log", "fil", "utskrift", "smtp"])
    assert "klagomal_channels" in builtin["hooks"]
    assert builtin["decisions"] == [
        "klagomal_allows_anonymous",
        "klagomal_identify",
        "klagomal_is_serious",
        "klagomal_route",
        "klagomal_threat_routine",
        "klagomal_validate_intake",
    ]
    assert builtin["deadline_policies"] == ["klf", "soc", "bou", "sbf", "kof"]


# -- demo ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoRuns:
    directory: Path
    first: subprocess.CompletedProcess[str]
    again: Run
    as_json: Run


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> DemoRuns:
    """The demo three times (about 7 s each): as a real subprocess, again
    in-process, and in-process with --json, each in its own directory."""
    directory = tmp_path_factory.mktemp("demo-subprocess")
    first = run_script("demo", directory)
    runs = []
    for argv in (["demo"], ["--json", "demo"]):
        previous = Path.cwd()
        os.chdir(tmp_path_factory.mktemp("demo-in-process"))
        try:
            runs.append(run_main(argv))
        finally:
            os.chdir(previous)
    return DemoRuns(directory, first, runs[0], runs[1])


def test_demo_as_a_real_subprocess(demo_runs: DemoRuns) -> None:
    first = demo_runs.first
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    lines = first.stdout.splitlines()
    for heading in ("Typ", "Kvalitetsdimension", "Förvaltning", "Kanal"):
        assert any(re.fullmatch(rf"{heading}\s+T1\s+T2\s+T3\s+År", line) for line in lines), heading
    for label in CHANNEL_LABELS:
        assert any(re.fullmatch(rf"{re.escape(label)}\s+\d+\s+\d+\s+\d+\s+\d+", line) for line in lines), (
            label
        )
    assert re.search(r"^Totalt 2026: \d+ ärenden \(T1 \d+, T2 \d+, T3 \d+\)$", first.stdout, re.M)
    assert re.search(r"^Klart på \d+\.\d s\.$", first.stdout, re.M)
    assert (demo_runs.directory / "klagomal-demo.db").exists()
    assert not (demo_runs.directory / "klagomal.db").exists()


def test_demo_is_deterministic(demo_runs: DemoRuns) -> None:
    def without_timing(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("Klart på ")]

    assert demo_runs.again.status == 0, demo_runs.again.err
    assert without_timing(demo_runs.again.out) == without_timing(demo_runs.first.stdout)
    assert len(without_timing(demo_runs.again.out)) == len(demo_runs.again.out.splitlines()) - 1


def test_the_demo_publishes_some_answered_cases(tmp_path: Path) -> None:
    # Exempelkommun turns the public list of answered cases on ([publicering]).
    from klagomal.cli.demo import run_demo

    db = f"sqlite:///{tmp_path / 'demo.db'}"
    run_demo(db, cases=120, outbox=str(tmp_path / "utskick"))
    with Klagomal(db, load_entrypoints=False) as k:
        published = k.published(limit=500)
        assert published
        for shown in published:
            case = k.get(shown.reference)
            assert (case.state, case.satisfied, case.secrecy, case.protected) == (
                CaseState.AVSLUTAT,
                True,
                None,
                False,
            )


def test_demo_json_shows_every_path(demo_runs: DemoRuns) -> None:
    assert demo_runs.as_json.status == 0, demo_runs.as_json.err
    data = demo_runs.as_json.json()
    assert {"db", "year", "seconds", "summary", "figures", "examples"} <= data.keys()
    assert (data["db"], data["year"]) == ("sqlite:///klagomal-demo.db", 2026)
    figures = data["figures"]
    for name in (
        "anonymous",
        "forwarded",
        "postponed_in_time",
        "paused",
        "praise_passed_on",
        "level_3",
        "overdue",
        "reminders",
        "breach_alerts",
    ):
        assert figures[name] > 0, name
    # R7, R10, R11: the year's timeliness, in the JSON and in the text alike.
    timeliness = data["timeliness"]
    assert 0 < timeliness["acknowledged_in_time"] <= timeliness["acknowledgements"]
    assert 0 < timeliness["answered_in_time"] <= timeliness["answers"]
    assert timeliness["delay_notices"] == figures["postponed_in_time"] + figures["postponed_late"]
    assert timeliness["delay_notices_in_time"] == figures["postponed_in_time"]
    share = round(100 * timeliness["acknowledged_in_time"] / timeliness["acknowledgements"])
    assert re.search(
        rf"^  besked inom tidsfristen: +{share} % "
        rf"\({timeliness['acknowledged_in_time']} av {timeliness['acknowledgements']}\)$",
        demo_runs.first.stdout,
        re.MULTILINE,
    )
    assert figures["overdue"] == figures["overdue_besked"] + figures["overdue_svar"]
    summary = data["summary"]
    assert set(summary["total"]) == {"2026-T1", "2026-T2", "2026-T3"}
    assert sum(summary["total"].values()) == figures["cases"]
    assert {channel for counts in summary["channel"].values() for channel in counts} == CHANNELS - {"open311"}
    # The text and the JSON describe the same year.
    text = demo_runs.first.stdout
    assert re.search(rf"^  lyfta till nivå 3 \(R21\): +{figures['level_3']}$", text, re.MULTILINE)
    assert re.search(rf"^  anonyma ärenden: +{figures['anonymous']}$", text, re.MULTILINE)


def test_the_demo_in_the_docs_is_what_it_prints(demo_runs: DemoRuns) -> None:
    """docs/cli.md shows the demo's whole output; only the time it took differs."""
    [(command, expected)] = console_block(command=" demo")
    assert command == "$ klagomal demo"

    def untimed(text: str) -> str:
        return re.sub(r"^Klart på [0-9.]+ s\.$", "Klart på ... s.", text, flags=re.MULTILINE)

    assert untimed(demo_runs.again.out) == untimed(expected)


def test_units_in_the_docs_is_the_start_of_what_it_prints(cli: Cli) -> None:
    [(command, expected)] = console_block(command=" units")
    assert command == "$ klagomal units"
    assert cli.ok("units").out.startswith(expected)


def test_demo_refuses_a_database_with_cases(cli: Cli) -> None:
    other = "sqlite:///other.db"
    cli.ok("init", db=other)
    cli.ok(COMPLAINT, today="2026-03-02", db=other)
    before = cli.export(db=other)
    assert cli.refused("demo", db=other).err == (
        "klagomal: steg 'demo': demon behöver en tom databas; sqlite:///other.db innehåller redan ärenden\n"
    )
    assert cli.export(db=other) == before


# -- deadlines: worklists, the paused clock, reminders (R7, R10, R11) ------------------


def test_acknowledge_without_a_date_promises_the_response_time_of_the_kind(seeded: Cli) -> None:
    # R10: 20 working days for a complaint (1 April), 30 for a suggestion (17 April).
    case = seeded.case("acknowledge 2026-00001 --handler 'Enhetschef Lena Holm'", today="2026-03-04")
    assert case["respond_by"] == "2026-04-01"
    assert seeded.ok("acknowledge 2026-00003 --handler Hanna", today="2026-03-04").out == (
        "Besked registrerat för 2026-00003: Hanna svarar senast 2026-04-17.\n"
    )


def test_pause_and_resume(seeded: Cli) -> None:
    seeded.ok("acknowledge 2026-00001 --handler Hanna --respond-by 2026-03-27", today="2026-03-04")
    assert seeded.ok("pause 2026-00001 --reason 'Väntar på läkarintyg.'", today="2026-03-20").out == (
        "2026-00001 är pausat i väntan på personen. "
        "Tidsfristen står still tills ärendet återupptas (resume).\n"
    )
    # Past the promised date, the paused case is not overdue (R10).
    assert (
        seeded.ok("list --unit soc-aldre-hemtjanst-norr", today="2026-04-01")
        .out.splitlines()[0]
        .endswith("Hanna  pausat sedan 2026-03-20  kontakta personen (2)")
    )
    shown = seeded.ok("show 2026-00001", today="2026-04-01").out
    assert "  Pausat:          sedan 2026-03-20, väntar på personen\n" in shown
    assert "FÖRSENAT" not in shown
    assert seeded.refused("answer 2026-00001 --mode skriftligt --text Svar", today="2026-04-01").err == (
        "klagomal: Ärende 2026-00001 (status under handläggning): steget 'besvara' är inte tillåtet: "
        "ärendet väntar på personen sedan 2026-03-20; återuppta det först (resume)\n"
    )
    # Eleven working days stood still (23 March–8 April, Easter excluded).
    assert seeded.ok("resume 2026-00001", today="2026-04-08").out == (
        "2026-00001 är återupptaget. Svar senast 2026-04-15.\n"
    )
    case = seeded.case("show 2026-00001", today="2026-04-08")
    assert event_types(case)[-2:] == ["paused", "resumed"]
    assert case["deadline"] == {"kind": "svar", "due": "2026-04-15", "working_days_left": 5, "overdue": False}
    assert re.search(
        r"^  4  2026-04-08  Återupptaget\s+systemet\s+svar senast 2026-04-15 \(11 arbetsdagar pausad\)$",
        seeded.ok("show 2026-00001", today="2026-04-08").out,
        re.M,
    )
    assert seeded.refused("resume 2026-00001", today="2026-04-08").err.endswith("ärendet är inte pausat\n")


def test_worklists_by_deadline_handler_and_manager(seeded: Cli) -> None:
    seeded.ok("acknowledge 2026-00003 --handler 'Maria Persson' --respond-by 2026-03-13", today="2026-03-03")
    today = "2026-03-11"
    # Two working days from Wednesday 11 March reach Friday 13; three reach Monday 16.
    assert seeded.refs("list --due-within 2", today=today) == [("2026-00003", None)]
    assert [ref for ref, _ in seeded.refs("list --due-within 3", today=today)] == [
        "2026-00001",
        "2026-00002",
        "2026-00003",
    ]
    assert seeded.refs("list --handler 'Maria Persson'", today=today) == [("2026-00003", None)]
    assert [ref for ref, _ in seeded.refs("list --manager 'Avdelningschef Birgitta Åberg'", today=today)] == [
        "2026-00001",
        "2026-00003",
    ]
    lines = seeded.ok("list --due-within 3", today=today).out.splitlines()
    assert lines[0].endswith("besked senast 2026-03-16 (om 3 arbetsdagar)")
    assert lines[2].endswith("Maria Persson  svar senast 2026-03-13 (om 2 arbetsdagar)")
    assert lines[3] == "3 ärenden"
    # The overdue and the soon due together: a day's worklist.
    assert seeded.refs("list --overdue --due-within 1", today="2026-03-16") == [
        ("2026-00001", None),
        ("2026-00002", None),
        ("2026-00003", "svar"),
    ]
    case = seeded.case("show 2026-00003", today="2026-03-16")
    assert case["deadline"] == {"kind": "svar", "due": "2026-03-13", "working_days_left": -1, "overdue": True}


@pytest.mark.parametrize(
    ("command", "status", "message"),
    [
        (
            "list --due-within -1",
            2,
            "klagomal: fel: argument --due-within: '-1' är inget antal arbetsdagar "
            "(ett heltal från 0 till 10 000)",
        ),
        (
            "list --manager 'Okänd Chef'",
            1,
            "klagomal: steg 'lista ärenden': ingen enhet har chefen 'Okänd Chef' (se 'klagomal units')",
        ),
        (
            "remind --notifier epost",
            1,
            "klagomal: aviseringssättet 'epost' finns inte (kända: fil, log, smtp, utskrift)",
        ),
        (
            "pause 2026-00001 --reason Väntar",
            1,
            "klagomal: Ärende 2026-00001 (status registrerat): steget 'pausa' är inte tillåtet: "
            "kräver status under handläggning",
        ),
    ],
    ids=["negative-due-within", "unknown-manager", "unknown-notifier", "pause-before-besked"],
)
def test_deadline_commands_refuse_bad_input_cleanly(
    seeded: Cli, command: str, status: int, message: str
) -> None:
    before = seeded.export()
    assert seeded.refused(command, status=status, today="2026-03-12").err.splitlines()[-1] == message
    assert seeded.export() == before


def test_remind_tells_each_person_once(seeded: Cli) -> None:
    first = seeded.ok("remind", today="2026-03-12").out.splitlines()
    assert first[0] == "Påminnelser 2026-03-12 via log: 3 skickade, 0 misslyckade, 0 inaktuella."
    assert [re.split(r"\s{2,}", line.strip()) for line in first[1:]] == [
        ["2026-00001", "påminnelse", "besked senast 2026-03-16", "till Enhetschef Lena Holm (chef)"],
        ["2026-00002", "påminnelse", "besked senast 2026-03-16", "till Bibliotekschef Ulla Rydén (chef)"],
        ["2026-00003", "påminnelse", "besked senast 2026-03-16", "till Enhetschef Maria Persson (chef)"],
    ]
    # A cron job that runs twice sends nothing twice.
    assert seeded.ok("remind", today="2026-03-12").out == (
        "Påminnelser 2026-03-12 via log: 0 skickade, 0 misslyckade, 0 inaktuella.\n"
    )
    seeded.ok("acknowledge 2026-00001 --handler Hanna --respond-by 2026-03-31", today="2026-03-13")
    data = seeded.ok("remind", today="2026-03-17", json=True).json()
    assert set(data) == {
        "today", "notifier", "created", "sent", "failed", "obsolete", "uncertain",
        "undeliverable", "missing_mailbox",
    }  # fmt: skip
    assert [(r["reference"], r["kind"], r["recipient"]) for r in data["sent"]] == [
        ("2026-00002", "overskriden", "Bibliotekschef Ulla Rydén"),
        ("2026-00003", "overskriden", "Enhetschef Maria Persson"),
    ]
    assert (data["today"], data["notifier"], data["created"], data["failed"]) == ("2026-03-17", "log", 2, [])


def test_remind_names_a_unit_without_a_mailbox_once_and_does_not_promise_a_retry(
    cli: Cli, tmp_path: Path
) -> None:
    from smtp_server import SmtpServer

    with SmtpServer() as server:
        org = tmp_path / "kommun.toml"
        org.write_text(
            ORG_FILE.read_text(encoding="utf-8").replace('epost = "hemtjanst.norr@exempelkommun.se"\n', "")
            + f'\n[utskick.smtp]\nvard = "{server.host}"\nport = {server.port}\nsakerhet = "ingen"\n',
            encoding="utf-8",
        )
        cli.ok("init")
        for _ in range(2):
            cli.ok(["--org", str(org), *argv_of(COMPLAINT)], today="2026-03-02")
        run = cli(["--org", str(org), "remind"], today="2026-03-12")
        assert run.status == 1
        assert run.err == "klagomal: 2 påminnelser kunde inte skickas\n"
        assert run.out == (
            "Påminnelser 2026-03-12 via smtp: 0 skickade, 2 misslyckade, 0 inaktuella.\n"
            "Enheten Hemtjänst Norr (soc-aldre-hemtjanst-norr) har ingen e-postadress: ange 'epost' för "
            "enheten i organisationsfilen. 2 påminnelser (ärende 2026-00001, 2026-00002) kunde inte "
            "skickas och skickas inte igen.\n"
        )
        assert "försöks igen" not in run.out
        again = cli(["--org", str(org), "remind"], today="2026-03-12")
        assert (again.status, again.err) == (0, "")
        assert server.messages == []


def test_organisation_example_is_the_packaged_file_and_checks_as_valid(cli: Cli, tmp_path: Path) -> None:
    from klagomal.core.organisation import default_organisation, load_organisation

    printed = cli.ok("organisation --example").out
    assert printed == ORG_FILE.read_text(encoding="utf-8")
    own = tmp_path / "kommun.toml"
    own.write_text(printed, encoding="utf-8")
    assert load_organisation(own).units == default_organisation().units
    assert cli.ok(["--org", str(own), "organisation"], json=True).json()["units"] == len(
        default_organisation().units
    )
    # The example is printed even where KLAGOMAL_ORG names a broken file.
    broken = tmp_path / "trasig.toml"
    broken.write_text("[kommun]\n", encoding="utf-8")
    assert cli.ok(["--org", str(broken), "organisation", "--example"]).out == printed
    assert "trasig.toml" in cli.refused(["--org", str(broken), "organisation"]).err


def test_the_organisation_example_in_the_docs_runs_as_shown(tmp_path: Path) -> None:
    """The block under '### organisation' in docs/cli.md, in a shell: the
    redirection is the shell's, the commands are klagomal's."""
    steps = console_block(heading="### organisation")
    assert steps[0][0] == "$ klagomal organisation --example > min-kommun.toml"
    env = {k: v for k, v in os.environ.items() if k not in KLAGOMAL_ENV}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).parent.parent / "src"), env.get("PYTHONPATH", "")]
    )
    for command, expected in steps:
        run = subprocess.run(
            ["bash", "-c", f'klagomal() {{ "{sys.executable}" -m klagomal.cli "$@"; }}; {command[2:]}'],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert (run.returncode, run.stdout + run.stderr) == (0, expected), command
    assert (tmp_path / "min-kommun.toml").read_text(encoding="utf-8") == ORG_FILE.read_text(encoding="utf-8")


# -- the worked session in docs/cli.md ------------------------------------------------------------


def console_block(*, heading: str | None = None, command: str | None = None) -> list[tuple[str, str]]:
    """``(command line, expected output)`` of a console block of docs/cli.md:
    the first under the heading *heading*, or the one holding a command line
    that ends with *command*."""
    lines = DOCS_CLI.read_text(encoding="utf-8").splitlines()
    if heading is not None:
        start = lines.index(heading)
        fence = next(i for i in range(start, len(lines)) if lines[i].startswith("```console"))
    else:
        assert command is not None
        start = next(i for i, line in enumerate(lines) if line.startswith("$ ") and line.endswith(command))
        fence = max(i for i in range(start) if lines[i].startswith("```console"))
    end = next(i for i in range(fence + 1, len(lines)) if lines[i].startswith("```"))
    steps: list[tuple[str, list[str]]] = []
    for line in lines[fence + 1 : end]:
        if line.startswith("$ "):
            steps.append((line, []))
        else:
            steps[-1][1].append(line)
    return [(command_line, "".join(f"{line}\n" for line in output)) for command_line, output in steps]


def worked_session() -> list[tuple[str, str]]:
    """``(command line, expected output)`` for each ``$ klagomal`` line of the
    console block under the heading "Worked session" in docs/cli.md."""
    lines = DOCS_CLI.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("## ") and "Worked session" in line)
    fence = next(i for i in range(start, len(lines)) if lines[i].startswith("```console"))
    end = next(i for i in range(fence + 1, len(lines)) if lines[i].startswith("```"))
    steps: list[tuple[str, list[str]]] = []
    for line in lines[fence + 1 : end]:
        if line.startswith("$ "):
            assert line.startswith("$ klagomal "), line
            steps.append((line, []))
        else:
            assert steps, f"output before the first command: {line!r}"
            steps[-1][1].append(line)
    return [(command, "".join(f"{line}\n" for line in output)) for command, output in steps]


def run_session(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Run the commands in the working directory; ``(command line, actual output)``."""
    actual = []
    for command, expected in steps:
        result = run_main(shlex.split(command)[2:])
        # A step that shows an error must have failed; every other step must have succeeded.
        failed = any(line.startswith("klagomal: ") for line in expected.splitlines())
        assert (result.status != 0) == failed, (command, result.status, result.err)
        assert "Traceback" not in result.err
        actual.append((command, result.out + result.err))
    return actual


def test_worked_session_covers_the_lifecycle() -> None:
    commands = [shlex.split(command)[1:] for command, _ in worked_session()]
    words = {word for argv in commands for word in argv}
    for name in ("init", "register", "forward", "acknowledge", "inform", "postpone", "answer", "action"):
        assert name in words
    for name in ("close", "escalate", "pass-on", "reclassify", "show", "list", "export", "import", "--json"):
        assert name in words
    for argv in commands:
        # Nothing may depend on the wall clock.
        assert "--today" in argv or {"init", "export", "import"} & set(argv), argv


def test_worked_session_in_the_docs_runs_as_shown(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLAGOMAL_USER", "nora.lind")  # as the docs say
    steps = worked_session()
    assert run_session(steps) == steps


# -- notices: deliver, outbox, guide ---------------------------------------------------------

EVA_MAIL = (
    "register --kind klagomal --channel epost --unit soc-aldre-hemtjanst-norr "
    "--text 'Hemtjänsten kom för sent.' --name 'Eva Åström' --email eva@example.se"
)


def test_deliver_writes_the_besked_and_show_tells_where_it_went(cli: Cli, tmp_path: Path) -> None:
    # R7: without a mail server, Exempelkommun's e-mail goes to utskick/ as .eml files.
    cli.ok("init")
    cli.ok(EVA_MAIL, today="2026-03-02")
    cli.ok("acknowledge 2026-00001 --handler 'Hanna Lind'", today="2026-03-04")
    assert cli.ok("deliver", today="2026-03-04").out == (
        "Utskick: 1 skickade, 0 försöks igen senare, 0 misslyckade, 0 osäkra.\n"
    )
    [eml] = (tmp_path / "utskick").iterdir()
    assert eml.name == "2026-00001-02-besked-1.eml"
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "Besked om ditt ärende 2026-00001"
    assert message["To"] == "Eva Åström <eva@example.se>"
    shown = cli.ok("show 2026-00001", today="2026-03-04").out
    assert shown.endswith(
        "Meddelanden:\n"
        "  1  2026-00001  händelse 2  besked  personen  e-post  "
        "skickat 2026-03-04 12:00 till eva@example.se\n"
    )
    assert cli.ok("deliver", today="2026-03-05").out.startswith("Utskick: 0 skickade")
    as_json = cli.ok("show 2026-00001", json=True).json()
    assert [(n["kind"], n["status"], n["message_id"]) for n in as_json["notices"]] == [
        ("besked", "sent", "<2026-00001.2.person.besked@exempelkommun.se>")
    ]
    assert cli.ok("outbox").out == "0 meddelanden\n"  # nothing needs anyone
    assert len(cli.ok("outbox --all", json=True).json()["notices"]) == 1


def test_a_phone_contact_is_a_task_until_the_handler_marks_it_done(cli: Cli) -> None:
    cli.ok("init")
    cli.ok(COMPLAINT, today="2026-03-02")
    cli.ok("acknowledge 2026-00001 --handler Hanna", today="2026-03-03")
    assert cli.ok("list", today="2026-03-03").out.splitlines()[0].endswith("kontakta personen (1)")
    assert cli.ok("deliver", today="2026-03-03").out == (
        "Utskick: 0 skickade, 0 försöks igen senare, 0 misslyckade, 0 osäkra.\n"
        "1 uppgift väntar på en handläggare (se 'klagomal outbox --status task').\n"
    )
    assert "att göra för handläggaren" in cli.ok("outbox --status task").out
    assert cli.ok("outbox --done 1").out == "Uppgift 1 i ärende 2026-00001 är utförd.\n"
    assert "kontakta personen" not in cli.ok("list", today="2026-03-03").out
    assert "ingen uppgift som väntar" in cli.refused("outbox --done 1").err


def test_an_unreachable_mail_server_is_shown_and_retried(cli: Cli, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    org = tmp_path / "kommun.toml"
    org.write_text(
        ORG_FILE.read_text(encoding="utf-8")
        + f'\n[utskick.smtp]\nvard = "127.0.0.1"\nport = {port}\nsakerhet = "ingen"\ntidsgrans = 5\n',
        encoding="utf-8",
    )
    cli.ok("init")
    for command, today in (
        (EVA_MAIL, "2026-03-02"),
        ("acknowledge 2026-00001 --handler Hanna", "2026-03-04"),
    ):
        cli.ok(["--org", str(org), *argv_of(command)], today=today)
    run = cli(["--org", str(org), "deliver"], today="2026-03-04")
    assert run.status == 1
    assert run.err == "klagomal: 1 meddelande kom inte fram\n"
    assert "Utskick: 0 skickade, 1 försöks igen senare, 0 misslyckade, 0 osäkra." in run.out
    assert "meddelande 1 (besked till personen) i ärende 2026-00001: väntar: " in run.out
    assert str(port) in run.out  # the reason names the server
    listed = cli.ok(["--org", str(org), "list"], today="2026-03-04").out
    assert listed.splitlines()[0].endswith("utskick försöks igen (1)")
    shown = cli.ok(["--org", str(org), "show", "2026-00001"], today="2026-03-04").out
    assert "försök 1 misslyckades: " in shown
    assert "nytt försök 2026-03-04 12:01" in shown


def test_guide_tells_the_person_how_to_appeal(cli: Cli, tmp_path: Path) -> None:
    # R3: the case is kept, and the person gets a guidance letter.
    cli.ok("init")
    cli.ok(EVA_MAIL, today="2026-03-02")
    assert cli.ok(
        [
            "guide", "2026-00001", "--route", "overklagande", "--decision", "Beslut om hemtjänst",
            "--appeal-to", "Socialnämnden", "--notified", "2026-03-05", "--text", "Skriv till nämnden.",
        ],
        today="2026-03-06",
    ).out == "Vägledning registrerad för 2026-00001; personen får ett brev om den andra vägen.\n"  # fmt: skip
    letter = cli.ok("letter 2026-00001", today="2026-03-06").out
    assert "Socialnämnden" in letter
    assert "26 mars 2026" in letter
    refused = cli.refused("guide 2026-00001 --route overklagande --text x", today="2026-03-06")
    assert "beslutet som kan överklagas saknas" in refused.err
    cli.ok(PRAISE, today="2026-03-02")
    refused = cli.refused(
        "guide 2026-00002 --route felanmalan --text 'Ring 0123-45 00 00.'", today="2026-03-06"
    )
    assert "anonymt" in refused.err


def test_a_preferred_way_needs_its_detail(cli: Cli) -> None:
    cli.ok("init")
    refused = cli.refused([*argv_of(EVA_MAIL), "--prefer", "brev"], today="2026-03-02")
    assert "vill bli kontaktad via brev, men den uppgiften saknas" in refused.err
    case = cli.case([*argv_of(EVA_MAIL), "--address", "Storgatan 1", "--prefer", "brev"], today="2026-03-02")
    assert case["contact"]["preferred"] == "brev"

"""Friction found on the way (issue 19, item 10): what a member of staff
reads is in their words, and the defaults spare them options they cannot
get wrong.

* no internal id (``lasa``, ``list``, ``handlaggning``) in a message: every
  operation, step and state is enumerated from the code;
* a denial without a user names ``--user`` and ``KLAGOMAL_USER``, in
  Swedish only, and is still written to the audit log (R27).
"""

from __future__ import annotations

import ast
import datetime as dt
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import START, register_case
from klagomal import Case, FixedClock, Klagomal
from klagomal.cases.next_step import actor_label, next_step
from klagomal.core.errors import (
    AccessDeniedError,
    CaseNotFoundError,
    ConflictError,
    InvalidInputError,
    InvalidStepError,
    NoUnitError,
    NoUserError,
)
from klagomal.core.events import EVENT_TYPES, Event, MessageReceived
from klagomal.core.model import CaseState, Level, Route
from klagomal.core.organisation import default_organisation, load_organisation
from klagomal.core.steps import STEP_LABELS, step_label
from klagomal.notices.outbox import CITIZEN_KINDS, STAFF_KINDS, kind_label
from klagomal.records.access import AccessPolicy, Operation
from klagomal.records.audit import DENIED
from klagomal.reports.defaults import POLITICIANS, STAFF, check_audience_period, last_complete_period
from klagomal.reports.periods import DEFAULT_HALF_YEARS, half_years, parse_period, tertials
from klagomal.testing import instance, plugin

SRC = Path(__file__).resolve().parents[1] / "src" / "klagomal"

#: Calls whose first string arguments are step ids.
_STEP_CALLS = {"step", "business_day", "naming", "_refuse", "CaseNotFoundError", "InvalidStepError"}


def step_ids_in_the_code() -> set[str]:
    """Every step id the source passes to an error or a step: ``step=``
    keywords, ``step = ...`` assignments, parameter defaults named ``step``,
    and the first string argument of the calls that take one."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            values: list[ast.expr] = []
            is_step_keyword = isinstance(node, ast.keyword) and node.arg == "step"
            is_step_assignment = isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in ("step", "_STEP") for t in node.targets
            )
            if is_step_keyword or is_step_assignment:
                values.append(node.value)  # type: ignore[union-attr]
            elif isinstance(node, ast.Call):
                name = (
                    node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                )
                if name in _STEP_CALLS:
                    values += node.args[:3]
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                positional = a.posonlyargs + a.args
                pairs = list(zip(positional[len(positional) - len(a.defaults) :], a.defaults, strict=True))
                pairs += [
                    (arg, d) for arg, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is not None
                ]
                values += [d for arg, d in pairs if arg.arg == "step"]
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.add(value.value)
    # A message template (a CLI step's output) is no step id.
    return {s for s in found if "{" not in s and not s[:1].isupper() and len(s) < 30}


def test_the_scan_finds_the_steps_it_should() -> None:
    # The scan itself must find the routine's steps, or the next test proves nothing.
    found = step_ids_in_the_code()
    assert {"register", "forward", "acknowledge", "answer", "close", "list", "report", "import"} <= found


@pytest.mark.parametrize("step", sorted(step_ids_in_the_code() | set(EVENT_TYPES)))
def test_every_step_has_a_swedish_label_and_no_message_shows_its_id(step: str) -> None:
    assert step in STEP_LABELS, f"add {step!r} to klagomal.core.steps.STEP_LABELS"
    label = step_label(step)
    messages = [
        str(InvalidInputError("skäl", step=step)),
        str(InvalidInputError("skäl", step=step, reference="2026-00001")),
        str(CaseNotFoundError("2026-00001", step)),
        str(ConflictError("2026-00001", step=step)),
        *(str(InvalidStepError("2026-00001", state.value, step, "skäl")) for state in CaseState),
    ]
    for message in messages:
        assert label in message, message
        if label != step:
            assert f"'{step}'" not in message, message


@pytest.mark.parametrize("state", list(CaseState))
def test_a_refused_step_names_the_state_as_staff_read_it(state: CaseState) -> None:
    message = str(InvalidStepError("2026-00001", state.value, "answer", "skäl"))
    assert f"(status {state.label.lower()})" in message
    assert "handlaggning" not in message


@pytest.mark.parametrize("operation", list(Operation))
def test_every_denial_names_the_operation_by_its_label(operation: Operation) -> None:
    policy = AccessPolicy(default_organisation())
    with pytest.raises(NoUserError) as denied:
        policy.check(None, operation)
    message = str(denied.value)
    assert f"'{operation.label}'" in message
    if operation.label != operation.value:  # "gallra" is both
        assert f"'{operation.value}'" not in message


# -- a denial without a user -------------------------------------------------------------


def _cli(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command line as a real process, without KLAGOMAL_USER, with this
    checkout's source first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAGOMAL_")}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC.parent), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "klagomal.cli", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


EXPECTED_NO_USER = (
    "klagomal: Åtkomst nekad, åtgärd 'lista ärenden': ingen användare är angiven; "
    "ange en med --user eller miljövariabeln KLAGOMAL_USER\n"
)


def test_no_user_on_the_command_line_is_one_swedish_line_naming_the_option(tmp_path: Path) -> None:
    # No database yet: nothing to write the denial to, and no English line about it.
    result = _cli(["list"], tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (77, "", EXPECTED_NO_USER)
    # docs/cli.md shows it as it is.
    docs = (SRC.parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    assert f"$ klagomal list\n{EXPECTED_NO_USER}```" in docs


def test_no_user_on_the_command_line_is_denied_and_audited(tmp_path: Path, clock: FixedClock) -> None:
    url = f"sqlite:///{tmp_path / 'klagomal.db'}"
    assert _cli(["--db", url, "--user", "system", "init"], tmp_path).returncode == 0
    result = _cli(["--db", url, "list"], tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (77, "", EXPECTED_NO_USER)
    with Klagomal(url, clock=clock, load_entrypoints=False, user="system") as k:
        entry = k.audit_log()[-1]
    assert (entry.user_id, entry.outcome, entry.action) == ("-", DENIED, Operation.LIST.value)


def test_the_library_still_names_its_own_argument(
    tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KLAGOMAL_USER")
    with (
        Klagomal(f"sqlite:///{tmp_path / 'k.db'}", clock=clock, load_entrypoints=False) as k,
        pytest.raises(AccessDeniedError, match=r"Klagomal\(user=\.\.\.\)"),
    ):
        k.cases()


# -- register without --unit ---------------------------------------------------------------

#: Exempelkommun with a handler at two units and an administrator of two förvaltningar.
MORE_USERS = """
[[anvandare]]
id = "hugo.berg"
namn = "Hugo Berg"
roll = "handlaggare"
enheter = ["kof-badhus", "kof-bibliotek"]

[[anvandare]]
id = "ada.strand"
namn = "Ada Strand"
roll = "forvaltningsadmin"
forvaltningar = ["soc", "kof"]
"""


@pytest.fixture
def organisation_file(tmp_path: Path) -> Path:
    """Exempelkommun's organisation file with :data:`MORE_USERS`."""
    source = SRC / "data" / "exempelkommun.toml"
    path = tmp_path / "kommun.toml"
    path.write_text(source.read_text(encoding="utf-8") + MORE_USERS, encoding="utf-8")
    return path


def test_a_handler_with_one_unit_registers_there_without_naming_it(
    new_database: Callable[[], str], organisation_file: Path
) -> None:
    # R29: whoever first receives the feedback registers it; Omar Ali has one unit.
    org = load_organisation(organisation_file)
    clock = FixedClock(START)
    with Klagomal(new_database(), organisation=org, clock=clock, load_entrypoints=False, user="system") as k:
        k.init()
        for user, unit in (("omar.ali", "soc-aldre-hemtjanst-norr"), ("kontaktcenter", "klf-kontaktcenter")):
            case = register_case(k.as_user(user), unit=None)
            assert (case.unit, case.department) == (unit, org.unit(unit).department)
            assert k.history(case.reference)[0].actor == user
        # A unit named is the unit, whoever registers.
        assert register_case(k.as_user("omar.ali"), unit="kof-badhus").unit == "kof-badhus"
        before = len(k.cases())
        for user, named in (
            ("hugo.berg", "Badhuset (kof-badhus), Biblioteket (kof-bibliotek)"),
            ("kim.berg", None),
            ("system", None),
        ):
            with pytest.raises(NoUnitError) as refused:
                register_case(k.as_user(user), unit=None)
            message = str(refused.value)
            assert "--unit" in message
            assert "insticksmodul" not in message
            if named is not None:
                assert message.endswith(f"dina enheter är {named}"), message
        assert len(k.cases()) == before  # a refused registration writes nothing


def test_a_routing_plugin_still_decides_before_the_handlers_own_unit(tmp_path: Path) -> None:
    router = plugin("router", klagomal_route=lambda intake: Route("kof-badhus"))
    with instance(tmp_path, plugins=[router]) as k:
        assert register_case(k.as_user("omar.ali"), unit=None).unit == "kof-badhus"


def test_the_command_line_without_unit(cli_dir: Path, organisation_file: Path) -> None:
    org = ["--org", str(organisation_file)]
    assert _cli([*org, "--user", "system", "init"], cli_dir).returncode == 0
    register = [
        *org, "register", "--kind", "forslag", "--channel", "besok", "--text", "Fler bänkar.", "--anonymous",
    ]  # fmt: skip
    done = _cli(["--user", "omar.ali", *register], cli_dir)
    assert (done.returncode, done.stderr) == (0, "")
    # Without --today, the real date: a handler may not date a step afterwards.
    assert re.match(r"Registrerade \d{4}-00001 \(Förslag, anonymt\) hos Hemtjänst Norr\.", done.stdout)
    refused = _cli(["--user", "hugo.berg", *register], cli_dir)
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == (
        "klagomal: steg 'registrera': ange vilken enhet synpunkten gäller (--unit ENHET); "
        "dina enheter är Badhuset (kof-badhus), Biblioteket (kof-bibliotek)\n"
    )


@pytest.fixture
def cli_dir(tmp_path: Path) -> Path:
    path = tmp_path / "cli"
    path.mkdir()
    return path


# -- show: the next step the routine expects, and who took each step ----------------------


def _take(k: Klagomal, case: Case, step: str) -> Case:
    """Take the step *step* (a command's name) on *case* with plain values."""
    ref = case.reference
    takes: dict[str, Callable[[], Case]] = {
        "acknowledge": lambda: k.acknowledge(ref, "Omar Ali"),
        "answer": lambda: k.answer(ref, "skriftligt", "Svar."),
        "close": lambda: k.close(ref, None if case.anonymous else False),
        "resume": lambda: k.resume(ref),
        "pass-on": lambda: k.pass_on_praise(ref, ["Personalen"], "Tack."),
        "escalate": lambda: k.escalate(ref, "Personen är inte nöjd."),
    }
    return takes[step]()


def _cases_in_every_situation(k: Klagomal) -> list[Case]:
    """Cases in every state the routine knows, named and anonymous, paused
    and praise, at every level, closed satisfied and not."""

    def one(*steps: str, **overrides: Any) -> Case:
        case = register_case(k, **overrides)
        for step in steps:
            if step == "pause":
                case = k.pause(case.reference, "Vi väntar på uppgifter.")
            elif step == "close satisfied":
                case = k.close(case.reference, True)
            else:
                case = _take(k, case, step)
        return case

    return [
        one(),
        one(contact=None),
        one("acknowledge"),
        one("acknowledge", "pause"),
        one("acknowledge", contact=None),
        one("acknowledge", kind="berom"),
        one("acknowledge", kind="berom", contact=None),
        one("acknowledge", "answer"),
        one("acknowledge", "answer", "close satisfied"),
        one("acknowledge", "answer", "close"),
        one("acknowledge", "answer", "close", "escalate", "acknowledge", "answer", "close"),
        one(
            "acknowledge",
            "answer",
            "close",
            "escalate",
            "acknowledge",
            "answer",
            "close",
            "escalate",
            "acknowledge",
            "answer",
            "close",
        ),
    ]


def test_the_next_step_is_one_the_routine_allows_in_every_state(k: Klagomal) -> None:
    cases = _cases_in_every_situation(k)
    assert {c.state for c in cases} == set(CaseState)  # every state the code has
    assert {c.level for c in cases} == set(Level)
    today = k.clock.today()
    for case in cases:
        step = next_step(case, today)
        assert step.text, case.reference
        assert "{" not in step.text, (case.reference, step)
        if step.step is None:
            assert case.state is CaseState.AVSLUTAT
            assert case.satisfied is not False or case.level == Level.NAMND
            continue
        # What show proposes, the routine takes.
        taken = _take(k, case, step.step)
        assert taken.version == case.version + 1, (case.reference, step)


@pytest.mark.parametrize("state", list(CaseState))
def test_the_next_step_says_the_deadline_and_when_it_has_passed(k: Klagomal, state: CaseState) -> None:
    case = next(c for c in _cases_in_every_situation(k) if c.state is state)
    step = next_step(case, k.clock.today())
    deadline = case.deadline()
    assert step.due == (deadline[1] if deadline else None)
    if step.due is not None:
        assert str(step.due) in step.text
        assert not step.overdue
        late = next_step(case, step.due + dt.timedelta(days=1))
        assert late.overdue
        assert "FÖRSENAT" in late.text


def test_the_actor_of_each_step(k: Klagomal) -> None:
    org = k.organisation
    omar = org.users["omar.ali"]
    case = register_case(k)
    k.as_user(omar).acknowledge(case.reference)
    events = k.history(case.reference)
    system = Event(case.reference, 9, START, events[0].recorded_at, events[0].data, actor="system")
    web = attrs.evolve(system, actor="webbformular")
    unknown = attrs.evolve(system, actor=None)
    message = attrs.evolve(
        system,
        data=MessageReceived(text="Hej", sender="Eva Svensson <eva@example.se>"),
        actor="system",
    )
    shown = [actor_label(e, org.users, k.channels) for e in [*events, system, web, unknown, message]]
    assert shown == ["systemet", "Omar Ali", "systemet", "Webbformulär", "-", "personen"]


# -- report: the last complete period, and a förvaltning administrator's own --------------


@given(st.dates(dt.date(1901, 1, 1), dt.date(2198, 12, 31)))
def test_the_default_period_is_the_last_complete_one(today: dt.date) -> None:
    # The period is over, and the one after it is the one running today.
    day = dt.timedelta(days=1)
    # R17: tertials for the staff.
    tertial = last_complete_period(today)
    assert re.fullmatch(r"\d{4}-T[123]", tertial.id)
    running = next(t for t in tertials(today.year) if t.start <= today <= t.end)
    assert (tertial.end < today, running.start) == (True, tertial.end + day)
    # R18: half-years for the politicians, split where the kommun splits them.
    for starts in (DEFAULT_HALF_YEARS, ((1, 1), (9, 1))):
        half = last_complete_period(today, POLITICIANS, starts)
        assert re.fullmatch(r"\d{4}-H[12]", half.id)
        running = next(h for h in half_years(today.year, starts) if h.start <= today <= h.end)
        assert (half.end < today, running.start) == (True, half.end + day)


@pytest.mark.parametrize("period", [*(f"2026-T{n}" for n in (1, 2, 3)), "2026-H1", "2026-H2", "2026"])
def test_a_tertial_is_refused_for_the_politicians_only(period: str) -> None:
    parsed = parse_period(period)
    check_audience_period(STAFF, parsed)  # the staff get any period
    if "T" in period:
        with pytest.raises(InvalidInputError) as refused:
            check_audience_period(POLITICIANS, parsed)
        assert str(refused.value) == (
            "steg 'ta fram rapport': rapporten till de förtroendevalda gäller ett halvår, inte ett tertial "
            f"({period}); ange ett halvår (till exempel 2026-H1), ett helt år (2026) eller --from och --to"
        )
    else:
        check_audience_period(POLITICIANS, parsed)


def _heading(run: subprocess.CompletedProcess[str]) -> list[str]:
    assert (run.returncode, run.stderr) == (0, ""), run.stderr
    return run.stdout.splitlines()[2:4]


def test_the_report_command_defaults(cli_dir: Path, organisation_file: Path) -> None:
    org = ["--org", str(organisation_file)]
    assert _cli([*org, "--user", "system", "init"], cli_dir).returncode == 0
    today = ["--today", "2026-09-01"]
    # A förvaltning's administrator gets their own förvaltning, the last complete tertial.
    assert _heading(_cli([*org, *today, "--user", "kim.berg", "report"], cli_dir)) == [
        "Exempelkommun · Socialförvaltningen",
        "tertial 2 2026 (maj–augusti)",
    ]
    # The politicians' report: the last complete half-year.
    assert _heading(
        _cli([*org, *today, "--user", "kim.berg", "report", "--audience", "politicians"], cli_dir)
    ) == [
        "Exempelkommun · Socialförvaltningen",
        "halvår 1 2026 (januari–juni)",
    ]
    # Named, it is what was named; the system owner still gets the whole kommun.
    named = [*org, *today, "--user", "kim.berg", "report", "--period", "2026-T1"]
    assert _heading(_cli(named, cli_dir))[1] == "tertial 1 2026 (januari–april)"
    assert _heading(_cli([*org, *today, "--user", "nora.lind", "report"], cli_dir))[0] == (
        "Exempelkommun · hela kommunen"
    )
    refused = _cli([*org, *today, "--user", "ada.strand", "report"], cli_dir)
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == (
        "klagomal: steg 'ta fram rapport': ange vilken förvaltning rapporten gäller (--forvaltning): "
        "du administrerar soc (Socialförvaltningen), kof (Kultur- och fritidsförvaltningen)\n"
    )
    politicians = [
        *org,
        *today,
        "--user",
        "kim.berg",
        "report",
        "--audience",
        "politicians",
        "--period",
        "2026-T2",
    ]
    refused = _cli(politicians, cli_dir)
    assert (refused.returncode, refused.stdout) == (1, "")
    assert "gäller ett halvår, inte ett tertial (2026-T2)" in refused.stderr


# -- the kinds of notices, as staff read them ----------------------------------------------


@pytest.mark.parametrize("kind", [*CITIZEN_KINDS, *STAFF_KINDS])
def test_every_kind_of_notice_has_a_label_staff_read(kind: str) -> None:
    # The ids name templates (aterupptaget, eskalering_chef); outbox, show,
    # list --mine and a refused close show the label.
    label = kind_label(kind)
    assert "_" not in label
    assert label == {
        "forsening": "försening",
        "aterupptaget": "återupptaget",
        "vagledning": "vägledning",
        "berom_vidare": "beröm vidare",
        "eskalering_chef": "eskalering (chef)",
        "eskalering_namnd": "eskalering (nämnd)",
    }.get(kind, kind)

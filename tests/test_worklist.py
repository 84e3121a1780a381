"""My worklist, open cases, and closing with open tasks (issue 19, item 3; R7, R10).

``Klagomal.worklist()`` (``klagomal list --mine``) gives the acting user's
open cases, the open cases without a handler at their units and their tasks
(phone the person), due first, with working days left or late;
``cases(state="open")`` (``list --open``, ``--state open``) every case that is
not closed; and a case with an open task is closed only once the task is
done or dropped with a reason.  Storage tests run on the three backends.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from klagomal import Contact, FixedClock, Klagomal
from klagomal.cases.worklist import HANDLER, TASK, UNASSIGNED, WorkItem
from klagomal.cli import main
from klagomal.core.errors import InvalidInputError, InvalidStepError
from klagomal.testing import UNIT, register

PHONE_ONLY = Contact(name="Per Telefon", phone="070-123 45 67")


@pytest.fixture
def kk(any_db_url: str, clock: FixedClock) -> Iterator[Klagomal]:
    with Klagomal(any_db_url, clock=clock, load_entrypoints=False) as k:
        k.init()
        yield k


def _rows(items: list[WorkItem]) -> list[tuple[str, str, int | None]]:
    return [(i.reference, i.what, i.days_left) for i in items]


def test_my_worklist_has_my_cases_unassigned_ones_and_my_tasks_due_first(
    kk: Klagomal, clock: FixedClock
) -> None:
    mine_late = register(kk, contact=PHONE_ONLY)  # besked by phone: a task
    unassigned = register(kk)
    elsewhere = register(kk, unit="bou-forskola-ekorren")  # not my unit, not mine
    clock.advance(1)
    kk.acknowledge(mine_late.reference, "omar.ali", clock.today())  # answer due today
    mine_later = register(kk)
    kk.acknowledge(mine_later.reference, "Omar Ali")  # by display name: stored as the id
    someone_else = register(kk)
    kk.acknowledge(someone_else.reference, "Vikarie Per")
    clock.advance(3)  # 2026-03-06 (Friday): mine_late's answer is 3 working days late
    items = kk.as_user("omar.ali").worklist()
    assert elsewhere.reference not in {i.reference for i in items}
    assert someone_else.reference not in {i.reference for i in items}
    [task] = [i for i in items if i.what == TASK]
    assert task.reference == mine_late.reference
    assert task.task is not None
    assert task.task.kind == "besked"
    assert task.task.status == "task"
    # Due first: the late answer and its task, then the besked of the unassigned case
    # (due 2026-03-16), then my other case's answer.
    assert _rows(items) == [
        (mine_late.reference, HANDLER, -3),
        (mine_late.reference, TASK, -3),
        (unassigned.reference, UNASSIGNED, 6),
        (mine_later.reference, HANDLER, items[-1].days_left),
    ]
    assert items[0].overdue
    assert items[0].days_late == 3
    assert items[0].deadline == "svar"
    assert items[2].deadline == "besked"
    assert items[2].days_late == 0
    assert items[0].when == "för 3 arbetsdagar sedan"
    assert items[2].when == "om 6 arbetsdagar"


def test_a_done_task_and_a_closed_case_leave_the_worklist(kk: Klagomal) -> None:
    case = register(kk, contact=PHONE_ONLY)
    kk.acknowledge(case.reference, "omar.ali")
    omar = kk.as_user("omar.ali")
    [task] = [i.task for i in omar.worklist() if i.task is not None]
    omar.complete_task(task.id)
    assert [i.what for i in omar.worklist()] == [HANDLER]
    kk.answer(case.reference, "muntligt", "Vi ringde.")  # an oral answer owes no notice
    kk.close(case.reference, True)
    assert omar.worklist() == []


def test_a_reader_has_no_worklist(kk: Klagomal) -> None:
    from klagomal.core.errors import AccessDeniedError

    with pytest.raises(AccessDeniedError):
        kk.as_user("sven.ek").worklist()


def test_state_open_lists_every_case_but_the_closed(kk: Klagomal) -> None:
    registered = register(kk)
    handled = register(kk)
    kk.acknowledge(handled.reference, "omar.ali")
    answered = register(kk)
    kk.acknowledge(answered.reference, "omar.ali")
    kk.answer(answered.reference, "skriftligt", "Svar.")
    closed = register(kk)
    kk.acknowledge(closed.reference, "omar.ali")
    kk.answer(closed.reference, "skriftligt", "Svar.")
    kk.close(closed.reference, True)
    found = [c.reference for c in kk.cases(state="open")]
    assert found == [registered.reference, handled.reference, answered.reference]
    assert [c.reference for c in kk.cases(state="avslutat")] == [closed.reference]
    with pytest.raises(InvalidInputError, match="eller open: alla utom avslutat"):
        kk.cases(state="öppen")


def test_closing_with_an_open_task_is_refused_naming_it(kk: Klagomal) -> None:
    case = register(kk, contact=PHONE_ONLY)
    kk.acknowledge(case.reference, "omar.ali")
    kk.answer(case.reference, "skriftligt", "Svar.")  # a written answer by phone: a task
    before = kk.get(case.reference)
    tasks = kk.outbox(reference=case.reference, statuses=["task"])
    assert [n.kind for n in tasks] == ["besked", "svar"]
    with pytest.raises(InvalidStepError, match=rf"uppgift {tasks[0].id} \(besked, .*\) är inte gjorda") as no:
        kk.close(case.reference, True)
    assert (no.value.reference, no.value.step) == (case.reference, "close")
    assert kk.get(case.reference) == before  # nothing written
    assert [n.status for n in kk.outbox(reference=case.reference)] == ["task", "task"]


def test_closing_drops_open_tasks_with_a_reason_recorded(kk: Klagomal) -> None:
    case = register(kk, contact=PHONE_ONLY)
    kk.acknowledge(case.reference, "omar.ali")
    kk.answer(case.reference, "skriftligt", "Svar.")
    [done, _svar] = kk.outbox(reference=case.reference, statuses=["task"])
    kk.complete_task(done.id)
    with pytest.raises(InvalidInputError, match="skälet"):
        kk.close(case.reference, True, drop_tasks="   ")
    closed = kk.close(case.reference, True, drop_tasks="Personen svarar inte; svaret gick med post.")
    assert closed.state.value == "avslutat"
    notices = kk.outbox(reference=case.reference)
    assert [(n.kind, n.status, n.last_error) for n in notices] == [
        ("besked", "done", None),
        ("svar", "dropped", "Personen svarar inte; svaret gick med post."),
    ]
    assert kk.open_notices([case.reference]) == {}
    dropped = [e for e in kk.audit_log() if e.reference == case.reference and "dropped" in (e.detail or "")]
    assert len(dropped) == 1


def test_a_refused_close_drops_nothing(kk: Klagomal) -> None:
    case = register(kk, contact=PHONE_ONLY)
    kk.acknowledge(case.reference, "omar.ali")  # handlaggning: close needs besvarat
    with pytest.raises(InvalidStepError, match="kräver status besvarat"):
        kk.close(case.reference, True, drop_tasks="Ingen svarar.")
    assert [n.status for n in kk.outbox(reference=case.reference)] == ["task"]


# -- the command line ---------------------------------------------------------------------


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    db = f"sqlite:///{tmp_path / 'cli.db'}"

    def call(command: str, user: str = "system") -> tuple[int, str, str]:
        try:
            status = main(["--db", db, "--user", user, *shlex.split(command)])
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return status, out, err

    assert call("init")[0] == 0
    return call


def test_cli_list_mine_open_and_close_drop_tasks(run: Callable[..., tuple[int, str, str]]) -> None:
    status, out, err = run(
        f"register --kind klagomal --channel telefon --unit {UNIT} --text 'Ingen kom.' --phone '070-1'"
    )
    assert status == 0, err
    ref = out.split()[1]
    other = run(f"register --kind forslag --channel telefon --unit {UNIT} --text 'Fler bänkar.' --anonymous")[
        1
    ]
    other = other.split()[1]
    assert run(f"acknowledge {ref}", user="omar.ali")[0] == 0
    status, out, err = run("list --mine --json", user="omar.ali")
    assert status == 0, err
    rows = json.loads(out)["worklist"]
    assert {(r["reference"], r["what"]) for r in rows} == {
        (ref, "handler"),
        (ref, "task"),
        (other, "unassigned"),
    }
    [mine] = [r for r in rows if r["what"] == "handler"]
    [task] = [r for r in rows if r["what"] == "task"]
    assert mine["handler"] == "Omar Ali"
    assert mine["handler_id"] == "omar.ali"
    assert isinstance(mine["days_left"], int)
    assert task["task"]["kind"] == "besked"
    # Due first: the unassigned case's besked comes before my case's answer.
    assert [r["due"] for r in rows] == sorted(r["due"] for r in rows)
    status, out, err = run("list --mine", user="omar.ali")
    assert status == 0, err
    assert "besked: ring eller berätta vid besök (klar: klagomal outbox --done 1)" in out
    assert out.endswith("3 rader\n")
    assert run("list --mine --unit soc", user="omar.ali")[0] == 1
    for command in ("list --open", "list --state open"):
        status, out, err = run(command)
        assert (status, out.splitlines()[-1]) == (0, "2 ärenden"), err
    assert run("list --open --state avslutat")[0] == 1
    assert run(f"answer {ref} --mode skriftligt --text Svar.", user="omar.ali")[0] == 0
    status, _out, err = run(f"close {ref} --satisfied", user="omar.ali")
    assert status == 1
    assert f"Ärende {ref} (status besvarat): steget 'avsluta' är inte tillåtet: uppgift 1 (besked" in err
    status, out, err = run(f"close {ref} --satisfied --drop-tasks 'Nås inte på telefon.'", user="omar.ali")
    assert (status, out) == (0, f"{ref} är avslutat.\n"), err
    status, out, err = run(f"show {ref}")
    assert "struket: Nås inte på telefon." in out
    assert [r["what"] for r in json.loads(run("list --mine --json", user="omar.ali")[1])["worklist"]] == [
        "unassigned"
    ]


def test_lists_give_each_case_its_own_dimensions_in_order(kk: Klagomal) -> None:
    """A list reads the cases' dimensions apart from the cases (on
    PostgreSQL by an array of their references; issue 21's performance
    work): each case still has exactly its own, in the order registered,
    as reading it alone gives them, in a whole list and in a page."""
    dimension_lists = [
        ("kompetens", "bemotande"),
        (),
        ("inflytande",),
        ("bemotande", "inflytande", "kompetens"),
    ]
    mine = [register(kk, dimensions=d) for d in dimension_lists]
    elsewhere = register(kk, unit="bou-forskola-ekorren", dimensions=("kompetens",))
    kk.acknowledge(mine[0].reference, "omar.ali")
    expected = {c.reference: c.dimensions for c in (*mine, elsewhere)}
    assert [c.dimensions for c in mine] == dimension_lists
    listed = {c.reference: c.dimensions for c in kk.cases()}
    assert listed == expected
    at_unit = {c.reference: c.dimensions for c in kk.cases(unit=UNIT)}
    assert at_unit == {ref: d for ref, d in expected.items() if ref != elsewhere.reference}
    worklist = {i.reference: i.case.dimensions for i in kk.as_user("omar.ali").worklist()}
    assert worklist == {ref: kk.get(ref).dimensions for ref in worklist}
    assert set(worklist) == {c.reference for c in mine}
    for start in range(len(mine)):
        page = kk.as_user("omar.ali").worklist(start=start, limit=2)
        for row in page:
            assert row.case.dimensions == worklist[row.reference]


def test_a_page_of_the_worklist_is_that_slice_of_the_whole_and_the_log_names_its_cases(
    kk: Klagomal, clock: FixedClock
) -> None:
    """``worklist(start=, limit=)`` reads only the unassigned cases up to the
    page's end, ordered by their open deadline in SQL (issue 21's
    performance work): every page must equal that slice of the whole list,
    whatever the mix of rows and deadlines, and the audit log (R27) names
    the cases of the page's rows."""
    refs = []
    clock.advance(10)
    for n in range(9):
        # Each received before the one before it: the deadlines too, the
        # reverse of the references' order.
        received = clock.today() - dt.timedelta(days=n)
        contact = {"contact": PHONE_ONLY} if n % 3 == 0 else {}
        refs.append(register(kk, received=received, **contact).reference)
    kk.acknowledge(refs[0], "omar.ali")  # mine, with a task
    kk.acknowledge(refs[3], "omar.ali", clock.today())  # mine, due today
    kk.acknowledge(refs[4], "Vikarie Per")  # someone else's
    kk.acknowledge(refs[7], "omar.ali")
    kk.pause(refs[7], "Väntar på underlag.")  # no open deadline: last
    clock.advance(4)
    omar = kk.as_user("omar.ali")
    whole = [(i.reference, i.what, i.due) for i in omar.worklist()]
    assert len(whole) >= 8
    assert any(due is None for _r, _w, due in whole)
    unassigned = [r for r, what, _due in whole if what == UNASSIGNED]
    assert unassigned != sorted(unassigned)  # not merely by reference
    for limit in range(1, len(whole) + 2):
        for start in range(len(whole) + 2):
            page = omar.worklist(start=start, limit=limit)
            assert [(i.reference, i.what, i.due) for i in page] == whole[start : start + limit], (
                start,
                limit,
            )
    page = omar.worklist(start=2, limit=3)
    entry = kk.audit_log(user_id="omar.ali")[-1]
    assert entry.action == "lista"
    assert entry.detail.endswith(" ".join(sorted({i.reference for i in page})))
    with pytest.raises(InvalidInputError, match="arbetslistans sida"):
        omar.worklist(start=-1, limit=3)
    with pytest.raises(InvalidInputError, match="arbetslistans sida"):
        omar.worklist(limit=0)

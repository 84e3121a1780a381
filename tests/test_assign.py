"""Handlers are users, and the assign step (tilldela) (issue 19, item 2; R7, R27).

A handler may be a user id from ``[[anvandare]]`` (stored as the id, shown by
display name) or a name as written; ``acknowledge`` without a handler
appoints the acting user when they handle cases; ``--handler`` and
``--manager`` take ids and display names; a chef leads the units tied to
them by id; and a chef or förvaltningsadmin can appoint or change the
handler at any open state, with a notice to the new handler through the
outbox.  The storage tests run on the three backends.
"""

from __future__ import annotations

import email
import email.policy
import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from klagomal import FixedClock, Klagomal
from klagomal.cli import main
from klagomal.core.errors import AccessDeniedError, InvalidInputError, InvalidStepError
from klagomal.core.organisation import parse_organisation
from klagomal.core.users import find_user
from klagomal.notices.letters import BUILTIN_TEMPLATES
from klagomal.records.audit import DENIED
from klagomal.testing import UNIT, register

#: Exempelkommun with two more users: a chef whose display name is not the
#: unit's 'chef' string, tied by id, and a second "Omar" to make a name ambiguous.
EXTRA_USERS = """
[[anvandare]]
id = "lena.h"
namn = "Lena Holm"
roll = "chef"
enheter = ["soc-aldre"]
epost = "lena.h@exempelkommun.se"

[[anvandare]]
id = "omar.berg"
namn = "Omar Berg"
roll = "handlaggare"
enheter = ["soc-aldre-solgarden"]

[[anvandare]]
id = "omar.ali2"
namn = "Omar Ali"
roll = "handlaggare"
enheter = ["bou-forskola-ekorren"]
"""


def _organisation_text() -> str:
    return (BUILTIN_TEMPLATES.parents[1] / "data" / "exempelkommun.toml").read_text(encoding="utf-8")


@pytest.fixture
def org_file(tmp_path: Path) -> Path:
    path = tmp_path / "kommun.toml"
    path.write_text(_organisation_text() + EXTRA_USERS, encoding="utf-8")
    return path


@pytest.fixture
def kk(any_db_url: str, clock: FixedClock, org_file: Path) -> Iterator[Klagomal]:
    """Klagomal on each backend, with the extra users."""
    organisation = parse_organisation(org_file.read_text(encoding="utf-8"), source=str(org_file))
    with Klagomal(any_db_url, clock=clock, organisation=organisation, load_entrypoints=False) as k:
        k.init()
        yield k


def test_acknowledge_without_handler_appoints_the_acting_handler(kk: Klagomal) -> None:
    case = register(kk)
    done = kk.as_user("omar.ali").acknowledge(case.reference)
    assert done.handler == "omar.ali"  # stored as the user id
    assert kk.history(case.reference)[-1].actor == "omar.ali"
    # The letter names the handler by display name, never by id.
    letter = kk.letter(case.reference)
    assert "handläggs av Omar Ali vid" in letter.text
    assert "omar.ali" not in letter.text


def test_acknowledge_without_handler_is_refused_for_one_who_does_not_handle_cases(kk: Klagomal) -> None:
    case = register(kk)
    with pytest.raises(InvalidInputError, match=r"ange handläggaren .*kim\.berg") as refused:
        kk.as_user("kim.berg").acknowledge(case.reference)
    assert (refused.value.reference, refused.value.step) == (case.reference, "acknowledge")
    assert kk.get(case.reference).version == 1  # nothing written


def test_handler_by_display_name_is_stored_as_the_user_id_and_free_text_stays(kk: Klagomal) -> None:
    first, second = register(kk), register(kk)
    assert kk.acknowledge(first.reference, "Omar Berg").handler == "omar.berg"
    # A name no user has is kept as written (kommuner without users, old data).
    assert kk.acknowledge(second.reference, "Vikarie Per Persson").handler == "Vikarie Per Persson"


def test_an_ambiguous_display_name_names_the_candidates(kk: Klagomal) -> None:
    case = register(kk)
    with pytest.raises(
        InvalidInputError, match=r"flera användare heter 'Omar Ali': omar\.ali \(Omar Ali\), "
    ):
        kk.acknowledge(case.reference, "Omar Ali")
    assert kk.get(case.reference).version == 1
    # The id is never ambiguous.
    assert kk.acknowledge(case.reference, "omar.ali2").handler == "omar.ali2"


def test_find_user_by_id_or_whole_display_name() -> None:
    org = parse_organisation(_organisation_text())
    assert find_user(org.users, "förvaltningsadministratör  kim berg") is org.users["kim.berg"]
    assert find_user(org.users, "omar.ali") is org.users["omar.ali"]
    # Part of a name is no user's: kept as a free-text name.
    assert find_user(org.users, "Kim Berg") is None


def test_handler_filter_finds_cases_by_id_and_by_old_display_name(kk: Klagomal) -> None:
    old, new = register(kk), register(kk)
    # A case from before handlers were users holds the display name itself.
    kk.acknowledge(old.reference, "Omar Berg")
    kk.assign(new.reference, "omar.berg")
    for given in ("omar.berg", "Omar Berg"):
        assert {c.reference for c in kk.cases(handler=given)} == {old.reference, new.reference}


def test_a_chef_tied_by_id_leads_the_units_and_sees_their_cases(kk: Klagomal) -> None:
    """The unit says "Avdelningschef Birgitta Åberg"; the user "Lena Holm" is
    tied to soc-aldre by id, so she leads it and everything under it."""
    below = register(kk, unit="soc-aldre-solgarden")
    outside = register(kk, unit="bou-forskola-ekorren")
    lena = kk.as_user("lena.h")
    assert lena.get(below.reference).reference == below.reference
    with pytest.raises(AccessDeniedError):
        lena.get(outside.reference)
    for manager in ("lena.h", "Lena Holm"):
        assert [c.reference for c in kk.cases(manager=manager)] == [below.reference]
    # The old way still works: the unit's chef string as written.
    assert [c.reference for c in kk.cases(manager="Avdelningschef Birgitta Åberg")] == [below.reference]


def test_assign_by_a_chef_changes_the_handler_and_tells_the_new_one(kk: Klagomal) -> None:
    case = register(kk)
    kk.acknowledge(case.reference, "omar.ali")
    done = kk.as_user("lena.holm").assign(case.reference, "Omar Berg")
    assert done.handler == "omar.berg"
    event = kk.history(case.reference)[-1]
    assert (event.type, event.actor, event.data.handler, event.data.previous) == (  # type: ignore[union-attr]
        "assigned",
        "lena.holm",
        "omar.berg",
        "omar.ali",
    )
    [notice] = [n for n in kk.outbox(reference=case.reference) if n.kind == "tilldelning"]
    assert (notice.recipient, notice.way, notice.status) == ("handlaggare", "epost", "pending")
    # Audited under its own operation.
    entries = [e for e in kk.audit_log() if e.reference == case.reference and e.action == "tilldela"]
    assert [e.user_id for e in entries] == ["lena.holm"]


def test_the_new_handlers_own_address_is_used(
    kk: Klagomal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # Exempelkommun delivers into utskick/
    case = register(kk)
    kk.assign(case.reference, "lena.h")  # a user with 'epost'
    kk.assign(case.reference, "omar.berg")  # no 'epost': the unit's mailbox
    run = kk.deliver()
    addresses = sorted(n.address or "" for n in run.sent if n.kind == "tilldelning")
    assert len(addresses) == 2
    assert "lena.h@exempelkommun.se" in addresses
    assert all(a.endswith("@exempelkommun.se") for a in addresses)
    texts = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        .get_body(("plain",))
        .get_content()  # type: ignore[union-attr]
        for path in sorted((tmp_path / "utskick").glob("*tilldelning*.eml"))
    ]
    assert len(texts) == 2
    assert any("Hej Omar Berg!" in t for t in texts)
    assert any("Hej Lena Holm!" in t for t in texts)
    assert not any(case.text in t for t in texts)  # no case text in a notice to staff


@pytest.mark.parametrize("state", ["registrerat", "handlaggning", "besvarat"])
def test_assign_at_every_open_state(kk: Klagomal, state: str) -> None:
    case = register(kk)
    if state != "registrerat":
        kk.acknowledge(case.reference, "omar.ali")
    if state == "besvarat":
        kk.answer(case.reference, "skriftligt", "Svar.")
    assert kk.get(case.reference).state.value == state
    assert kk.assign(case.reference, "omar.berg").state.value == state


def test_assign_is_refused_on_a_closed_case_and_to_the_same_handler(kk: Klagomal) -> None:
    case = register(kk)
    kk.acknowledge(case.reference, "omar.ali")
    with pytest.raises(InvalidStepError, match=r"omar\.ali är redan handläggare"):
        kk.assign(case.reference, "omar.ali")
    kk.answer(case.reference, "skriftligt", "Svar.")
    kk.close(case.reference, True)
    refused = r"steget 'tilldela handläggare' är inte tillåtet: kräver status"
    with pytest.raises(InvalidStepError, match=refused):
        kk.assign(case.reference, "omar.berg")


def test_a_handler_may_not_assign_and_the_denial_is_logged(kk: Klagomal) -> None:
    case = register(kk)
    with pytest.raises(AccessDeniedError, match="tilldela"):
        kk.as_user("omar.ali").assign(case.reference, "omar.berg")
    entry = [e for e in kk.audit_log(user_id="omar.ali") if e.outcome == DENIED][-1]
    assert entry.action == "tilldela"
    assert kk.get(case.reference).handler is None


def test_a_chef_may_not_assign_outside_their_units(kk: Klagomal) -> None:
    outside = register(kk, unit="bou-forskola-ekorren")
    with pytest.raises(AccessDeniedError, match="Förskolan Ekorren"):
        kk.as_user("lena.holm").assign(outside.reference, "omar.ali")


# -- the command line ---------------------------------------------------------------------


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def run(
    tmp_path: Path, org_file: Path, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    db = f"sqlite:///{tmp_path / 'cli.db'}"

    def call(command: str, user: str = "system") -> tuple[int, str, str]:
        # On the real date: a handler may not date a step afterwards (--today).
        argv = ["--db", db, "--org", str(org_file), "--user", user, *shlex.split(command)]
        return _run(argv, capsys)

    assert call("init")[0] == 0
    return call


def test_cli_assign_and_acknowledge_without_handler(run: Callable[..., tuple[int, str, str]]) -> None:
    status, out, err = run(
        f"register --kind klagomal --channel telefon --unit {UNIT} --text 'Ingen kom.' --phone '070-1'"
    )
    assert status == 0, err
    ref = out.split()[1]
    status, out, err = run(f"acknowledge {ref}", user="omar.ali")
    assert status == 0, err
    assert re.fullmatch(rf"Besked registrerat för {ref}: Omar Ali svarar senast \d{{4}}-\d\d-\d\d\.\n", out)
    status, out, err = run(f"assign {ref} --handler omar.berg", user="lena.holm")
    assert (status, out) == (0, f"{ref} är tilldelat Omar Berg. Handläggaren får ett meddelande.\n"), err
    status, _out, err = run(f"assign {ref} --handler omar.ali", user="omar.berg")
    assert status == 77
    assert "får inte tilldela ärenden en handläggare" in err
    # Without --handler, for one who handles no cases, the option is required as before.
    status, _out, err = run(f"acknowledge {ref}", user="kim.berg")
    assert status == 2
    assert "följande argument saknas: --handler" in err


def test_cli_list_handler_and_manager_take_ids_and_names(run: Callable[..., tuple[int, str, str]]) -> None:
    run(
        "register --kind forslag --channel telefon --unit soc-aldre-solgarden "
        "--text 'Fler bänkar.' --anonymous"
    )
    status, out, err = run("list --manager 'Lena Holm' --json")
    assert status == 0, err
    assert [c["unit"] for c in __import__("json").loads(out)["cases"]] == ["soc-aldre-solgarden"]
    status, _out, err = run("list --handler 'Omar Ali'")
    assert status == 1
    assert "flera användare heter 'Omar Ali'" in err


def test_staff_notice_kinds_include_tilldelning() -> None:
    from klagomal.notices.letters import STAFF_NOTICES
    from klagomal.notices.outbox import STAFF_KINDS, recipient_label

    assert "tilldelning" in STAFF_NOTICES
    assert "tilldelning" in STAFF_KINDS
    assert recipient_label("handlaggare") == "handläggaren"
    assert (BUILTIN_TEMPLATES / "tilldelning.txt").is_file()


def test_a_user_with_a_bad_email_is_refused_at_load() -> None:
    from klagomal.core.errors import OrganisationError

    bad = '\n[[anvandare]]\nid = "x.y"\nnamn = "X Y"\nroll = "chef"\nepost = "inte en adress"\n'
    with pytest.raises(OrganisationError, match="epost"):
        parse_organisation(_organisation_text() + bad)


def test_a_reminder_goes_to_the_handler_user_by_name_at_their_address(
    kk: Klagomal, clock: FixedClock
) -> None:
    import datetime as dt

    case = register(kk)
    kk.acknowledge(case.reference, "omar.ali", dt.date(2026, 3, 6))
    clock.set(dt.date(2026, 3, 5))  # the answer is due tomorrow
    kk.remind(notifier="log")
    [reminder] = kk.reminders(case.reference)
    assert (reminder.kind, reminder.recipient, reminder.email) == (
        "paminnelse",
        "Omar Ali",
        "omar.ali@exempelkommun.se",
    )

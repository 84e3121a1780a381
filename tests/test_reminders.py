"""``remind`` and the worklists: who is told about which deadline, once (R7, R10, R11).

The notifier here is a real plugin registered through the
``klagomal_notifiers`` hook that keeps what it is given; everything of
klagomal's own runs for real against SQLite.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import UNIT, register_case
from klagomal import ConfigurationError, FixedClock, InvalidInputError, Klagomal, hookimpl
from klagomal.core.organisation import load_organisation
from klagomal.notices.notifiers import Notifier, StaffMessage
from smtp_server import SmtpServer

ORG_FILE = Path(__file__).parent.parent / "src" / "klagomal" / "data" / "exempelkommun.toml"
#: Hemtjänst Norr's mailbox in Exempelkommun's file.
NORR_MAILBOX = 'epost = "hemtjanst.norr@exempelkommun.se"\n'


@pytest.fixture
def db_url(any_db_url: str) -> str:
    """These tests run on SQLite, PostgreSQL and MariaDB."""
    return any_db_url


class Inbox:
    """A notifier plugin (name ``inbox``) that keeps every message; it can be
    told to fail the next deliveries, or to stop the process mid-send."""

    name = "inbox-plugin"

    def __init__(self) -> None:
        self.messages: list[StaffMessage] = []
        self.fail_next = 0
        self.crash_next = False

    def send(self, message: StaffMessage) -> None:
        if self.crash_next:
            self.crash_next = False
            raise KeyboardInterrupt  # the cron job is killed while sending
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionRefusedError("SMTP-servern svarar inte")
        self.messages.append(message)

    @hookimpl
    def klagomal_notifiers(self) -> Iterator[Notifier]:
        yield Notifier("inbox", "Inkorg för test", self.send)

    def take(self) -> list[tuple[str, str, str, str]]:
        """``(reference, kind, recipient, role)`` of what arrived since the last take."""
        taken = [(m.reference, m.kind, m.recipient, m.role) for m in self.messages]
        self.messages.clear()
        return taken


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def ki(db_url: str, clock: FixedClock, inbox: Inbox) -> Iterator[Klagomal]:
    """A Klagomal with the inbox notifier."""
    k = Klagomal(db_url, clock=clock, plugins=[inbox], load_entrypoints=False)
    k.init()
    yield k
    k.dispose()


def remind(k: Klagomal, day: dt.date, clock: FixedClock) -> Any:
    clock.set(day)
    return k.remind("inbox")


def test_a_reminder_before_the_besked_is_due_and_an_alert_after(
    ki: Klagomal, inbox: Inbox, clock: FixedClock
) -> None:
    ref = register_case(ki).reference  # besked due Monday 16 March (R7)
    assert remind(ki, dt.date(2026, 3, 11), clock).sent == []  # three working days left
    # Two working days left (13 and 16 March): the unit's chef must appoint a handler.
    run = remind(ki, dt.date(2026, 3, 12), clock)
    assert inbox.take() == [(ref, "paminnelse", "Enhetschef Lena Holm", "chef")]
    assert [(r.deadline, r.due) for r in run.created] == [("besked", dt.date(2026, 3, 16))]
    # Idempotent: again the same day, and the next day, nothing is sent twice.
    assert remind(ki, dt.date(2026, 3, 12), clock).sent == []
    assert remind(ki, dt.date(2026, 3, 13), clock).sent == []
    assert inbox.take() == []
    # The deadline passes: the manager is alerted, once.
    remind(ki, dt.date(2026, 3, 17), clock)
    remind(ki, dt.date(2026, 3, 18), clock)
    assert inbox.take() == [(ref, "overskriden", "Enhetschef Lena Holm", "chef")]
    assert [(r.kind, r.status) for r in ki.reminders(ref)] == [
        ("paminnelse", "sent"),
        ("overskriden", "sent"),
    ]


def test_the_handler_is_reminded_of_the_answer_and_told_about_r11(
    ki: Klagomal, inbox: Inbox, clock: FixedClock
) -> None:
    ref = register_case(ki).reference
    ki.acknowledge(ref, "Handläggare Hanna", dt.date(2026, 3, 27))
    remind(ki, dt.date(2026, 3, 25), clock)  # 26 and 27 March left
    [message] = inbox.messages
    assert (message.recipient, message.role, message.email) == (
        "Handläggare Hanna",
        "handlaggare",
        "hemtjanst.norr@exempelkommun.se",
    )
    assert message.subject == f"Påminnelse: svar i ärende {ref} senast 2026-03-27"
    assert message.body == (
        f"Ärende {ref} (Klagomål) hos Hemtjänst Norr ska ha svar senast 2026-03-27, om 2 arbetsdagar.\n"
        "Hinner svaret inte ges i tid ska personen få veta det före 2026-03-27, med ett nytt datum (R11)."
    )
    inbox.take()
    # A postponement in time is a new promise: it earns its own reminder (R11).
    clock.set(dt.date(2026, 3, 26))
    ki.postpone(ref, dt.date(2026, 4, 10), "Vi väntar på ett yttrande")
    assert remind(ki, dt.date(2026, 4, 7), clock).sent == []  # 8, 9, 10 April: three left
    remind(ki, dt.date(2026, 4, 8), clock)
    assert inbox.take() == [(ref, "paminnelse", "Handläggare Hanna", "handlaggare")]
    remind(ki, dt.date(2026, 4, 13), clock)
    [alert] = inbox.messages
    assert alert.subject == f"Tidsfristen har passerat: svar i ärende {ref} skulle ha getts senast 2026-04-10"
    assert "för 1 arbetsdag sedan" in alert.body
    assert alert.recipient == "Enhetschef Lena Holm"


def test_a_chef_handling_a_serious_complaint_is_reported_to_their_own_chef(
    ki: Klagomal, inbox: Inbox, clock: FixedClock
) -> None:
    # R15: a serious complaint goes to the nearest manager, who handles it herself.
    case = register_case(ki, serious=True)
    assert case.handler == "Enhetschef Lena Holm"
    remind(ki, dt.date(2026, 3, 17), clock)
    assert inbox.take() == [(case.reference, "overskriden", "Avdelningschef Birgitta Åberg", "chef")]


def test_a_breach_at_level_two_goes_to_the_forvaltningschef(
    ki: Klagomal, inbox: Inbox, clock: FixedClock
) -> None:
    ref = register_case(ki).reference
    ki.acknowledge(ref, "Hanna", dt.date(2026, 3, 10))
    ki.answer(ref, "skriftligt", "Svar")
    ki.close(ref, False)
    case = ki.escalate(ref, "Inte nöjd")  # besked due 16 March at level 2
    assert case.handler == "Socialchef Eva Nyström"
    remind(ki, dt.date(2026, 3, 17), clock)
    assert inbox.take() == [(ref, "overskriden", "Socialchef Eva Nyström", "chef")]


def test_a_paused_case_is_not_reminded(ki: Klagomal, inbox: Inbox, clock: FixedClock) -> None:
    ref = register_case(ki).reference
    ki.acknowledge(ref, "Hanna", dt.date(2026, 3, 13))
    clock.set(dt.date(2026, 3, 9))
    ki.pause(ref, "Väntar på intyg")
    for day in (11, 12, 13, 16, 17):
        remind(ki, dt.date(2026, 3, day), clock)
    assert inbox.take() == []


def test_a_failed_delivery_is_retried_and_an_outgrown_one_is_not_sent(
    ki: Klagomal, inbox: Inbox, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    retried = register_case(ki).reference
    outgrown = register_case(ki).reference
    inbox.fail_next = 2
    with caplog.at_level(logging.ERROR, logger="klagomal"):
        run = remind(ki, dt.date(2026, 3, 12), clock)
    assert [(r.reference, r.status, r.attempts) for r in run.failed] == [
        (retried, "failed", 1),
        (outgrown, "failed", 1),
    ]
    assert run.failed[0].last_error == "ConnectionRefusedError: SMTP-servern svarar inte"
    assert "aviseringssättet 'inbox' kunde inte skicka" in caplog.text
    # The second case is acknowledged before the next run: its reminder is obsolete.
    ki.acknowledge(outgrown, "Hanna", dt.date(2026, 3, 31))
    run = remind(ki, dt.date(2026, 3, 13), clock)
    assert inbox.take() == [(retried, "paminnelse", "Enhetschef Lena Holm", "chef")]
    assert [(r.reference, r.status) for r in run.obsolete] == [(outgrown, "obsolete")]
    assert [(r.status, r.attempts) for r in ki.reminders(retried)] == [("sent", 2)]


def test_a_run_killed_while_sending_never_sends_that_reminder_again(
    ki: Klagomal, inbox: Inbox, clock: FixedClock
) -> None:
    ref = register_case(ki).reference
    inbox.crash_next = True
    with pytest.raises(KeyboardInterrupt):
        remind(ki, dt.date(2026, 3, 12), clock)
    # Whether it arrived is unknown: it is reported, not sent again.
    run = remind(ki, dt.date(2026, 3, 12), clock)
    assert (run.sent, [r.reference for r in run.uncertain]) == ([], [ref])
    assert [r.status for r in ki.reminders(ref)] == ["sending"]
    assert inbox.take() == []


def test_the_log_notifier_writes_swedish_to_the_notices_logger(
    k: Klagomal, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    ref = register_case(k).reference
    clock.set(dt.date(2026, 3, 12))
    with caplog.at_level(logging.INFO, logger="klagomal.notices"):
        run = k.remind()
    assert run.notifier == "log"
    [record] = [r for r in caplog.records if r.name == "klagomal.notices"]
    assert record.getMessage().startswith(
        f"paminnelse till Enhetschef Lena Holm (chef) <hemtjanst.norr@exempelkommun.se>: "
        f"Påminnelse: besked i ärende {ref} senast 2026-03-16\n"
    )
    assert "Ingen handläggare är utsedd ännu." in record.getMessage()


def test_an_unknown_notifier_is_refused_before_anything_is_recorded(k: Klagomal, clock: FixedClock) -> None:
    register_case(k)
    clock.set(dt.date(2026, 3, 12))
    with pytest.raises(
        ConfigurationError, match=r"aviseringssättet 'epost' finns inte \(kända: fil, log, smtp, utskrift\)"
    ):
        k.remind("epost")
    assert k.reminders() == []


# -- worklists ---------------------------------------------------------------------------


@pytest.fixture
def worklist(k: Klagomal, clock: FixedClock) -> dict[str, str]:
    """Cases in several states, by what they show."""
    refs = {
        "besked-due-16": register_case(k).reference,
        "other-unit": register_case(k, unit="kof-bibliotek").reference,
    }
    refs["svar-due-06"] = register_case(k).reference
    k.acknowledge(refs["svar-due-06"], "Hanna", dt.date(2026, 3, 6))
    refs["svar-due-13-lena"] = register_case(k, unit="soc-aldre-solgarden").reference
    k.acknowledge(refs["svar-due-13-lena"], "Lena", dt.date(2026, 3, 13))
    refs["paused"] = register_case(k).reference
    k.acknowledge(refs["paused"], "Hanna", dt.date(2026, 3, 10))
    k.pause(refs["paused"], "Väntar")
    refs["answered"] = register_case(k).reference
    k.acknowledge(refs["answered"], "Hanna", dt.date(2026, 3, 4))
    k.answer(refs["answered"], "skriftligt", "Svar")
    return refs


def test_worklists_by_deadline_handler_and_manager(
    k: Klagomal, clock: FixedClock, worklist: dict[str, str]
) -> None:
    names = {ref: name for name, ref in worklist.items()}

    def listed(**query: Any) -> list[str]:
        return [names[case.reference] for case in k.cases(**query)]

    clock.set(dt.date(2026, 3, 9))
    assert listed(overdue=True) == ["svar-due-06"]
    # Due within 4 working days of Monday 9 March: up to Friday 13 March.
    assert listed(due_within=4) == ["svar-due-13-lena"]
    assert listed(due_within=4, overdue=True) == ["svar-due-06", "svar-due-13-lena"]
    # Within 5: up to Monday 16 March, when the besked are due.
    assert listed(due_within=5) == ["besked-due-16", "other-unit", "svar-due-13-lena"]
    assert listed(due_within=0) == []
    assert listed(handler="Lena") == ["svar-due-13-lena"]
    # A manager's whole subtree: Avdelningschef Birgitta Åberg leads Äldreomsorg.
    assert listed(manager="Avdelningschef Birgitta Åberg", overdue=True, due_within=5) == [
        "besked-due-16",
        "svar-due-06",
        "svar-due-13-lena",
    ]
    assert listed(manager="Enhetschef Lena Holm", handler="Hanna") == ["svar-due-06", "paused", "answered"]
    # A unit within a manager's subtree narrows it; one outside it leaves nothing.
    assert listed(manager="Avdelningschef Birgitta Åberg", unit="soc-aldre-solgarden", subtree=True) == [
        "svar-due-13-lena"
    ]
    assert listed(manager="Enhetschef Lena Holm", unit="kof", subtree=True) == []
    with pytest.raises(InvalidInputError, match="ingen enhet har chefen 'Okänd Chef'"):
        k.cases(manager="Okänd Chef")


def test_due_within_counts_each_forvaltning_in_its_own_calendar(tmp_path: Any, clock: FixedClock) -> None:
    from klagomal.deadlines.policies import DeadlinePolicy

    class Closed:
        @hookimpl
        def klagomal_deadline_policy(self, department: str) -> DeadlinePolicy | None:
            # Kultur och fritid is closed on Friday 13 March.
            return DeadlinePolicy(closed_days={dt.date(2026, 3, 13)}) if department == "kof" else None

    with Klagomal(
        f"sqlite:///{tmp_path / 'k.db'}", clock=clock, plugins=[Closed()], load_entrypoints=False
    ) as k:
        k.init()
        soc = register_case(k, unit=UNIT).reference
        kof = register_case(k, unit="kof-bibliotek").reference
        for ref in (soc, kof):
            k.acknowledge(ref, "Hanna", dt.date(2026, 3, 16))
        clock.set(dt.date(2026, 3, 11))
        # Two working days from Wednesday 11 March reach Monday 16 March at
        # kof, where Friday 13 is closed, but only Friday 13 at soc.
        assert [c.reference for c in k.cases(due_within=1)] == []
        assert [c.reference for c in k.cases(due_within=2)] == [kof]
        assert [c.reference for c in k.cases(due_within=3)] == [soc, kof]


def test_an_alert_on_the_saturday_after_a_friday_deadline(
    ki: Klagomal, inbox: Inbox, clock: FixedClock
) -> None:
    clock.set(dt.date(2026, 2, 27))
    ref = register_case(ki).reference  # besked due Friday 13 March
    remind(ki, dt.date(2026, 3, 14), clock)
    [alert] = inbox.messages
    # Overdue, though no working day has passed since: no "för 0 arbetsdagar sedan".
    assert alert.body.splitlines()[0] == (
        f"Ärende {ref} (Klagomål) hos Hemtjänst Norr skulle ha fått besked senast 2026-03-13."
    )
    inbox.take()
    remind(ki, dt.date(2026, 3, 17), clock)  # the same breach: not again
    assert inbox.take() == []


# -- a unit without a mailbox ------------------------------------------------------------


def test_a_unit_without_a_mailbox_is_named_once_and_its_reminders_are_not_retried(
    db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    """With SMTP set, a reminder to a unit without ``epost`` cannot be
    addressed: it is refused for good (``undeliverable``), not retried on
    every run, and the run names the unit once, whatever the number of
    cases.  Once the file gives the unit a mailbox, the next reminder goes."""
    with SmtpServer() as server:
        smtp = f'\n[utskick.smtp]\nvard = "{server.host}"\nport = {server.port}\nsakerhet = "ingen"\n'
        full = ORG_FILE.read_text(encoding="utf-8") + smtp
        assert full.count(NORR_MAILBOX) == 1
        without = tmp_path / "utan-epost.toml"
        without.write_text(full.replace(NORR_MAILBOX, ""), encoding="utf-8")
        k = Klagomal(db_url, clock=clock, organisation=load_organisation(without), load_entrypoints=False)
        k.init()
        first, second = register_case(k).reference, register_case(k).reference
        clock.set(dt.date(2026, 3, 12))
        run = k.remind()
        assert run.notifier == "smtp"
        assert run.failed == []
        assert [(r.reference, r.status) for r in run.undeliverable] == [
            (first, "undeliverable"),
            (second, "undeliverable"),
        ]
        assert {unit: [r.reference for r in found] for unit, found in run.missing_mailbox.items()} == {
            UNIT: [first, second]
        }
        assert server.messages == []
        again = k.remind()  # not retried
        assert (again.sent, again.failed, again.undeliverable) == ([], [], [])
        assert [r.status for r in k.reminders(first)] == ["undeliverable"]
        k.dispose()

        fixed = tmp_path / "med-epost.toml"
        fixed.write_text(full, encoding="utf-8")
        k = Klagomal(db_url, clock=clock, organisation=load_organisation(fixed), load_entrypoints=False)
        clock.set(dt.date(2026, 3, 17))  # the besked is overdue: a breach alert, a new reminder
        run = k.remind()
        assert run.undeliverable == []
        assert sorted(r.reference for r in run.sent) == [first, second]
        assert [m.rcpt_tos for m in server.messages] == [["hemtjanst.norr@exempelkommun.se"]] * 2
        k.dispose()

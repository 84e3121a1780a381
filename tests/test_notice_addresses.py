"""Every "missing address" a notice can fail with (klagomal.notices.outbox,
``resolve_recipient``), on SQLite, PostgreSQL and MariaDB.

A notice whose recipient has no address fails at once and for good
(``failed``, not retried), and its error names who lacks an address and
where to give one: for staff, the setting in the organisation file; for
the person, their contact details in the case.  The step that owed the
notice stands.

Each recipient of the outbox is reached through the real API (praise
passed on, a threat flag under a förvaltning's routine, an assignment,
escalations, a contact corrected before delivery) in a kommun whose
förskola, and the förvaltning above it, have no e-mail addresses at all.
The recipients are enumerated from ``resolve_recipient`` itself, so that a
new one cannot be added without a test here.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from klagomal import FixedClock, Klagomal, hookimpl
from klagomal.core.model import Contact, ThreatRoutine
from klagomal.core.organisation import Organisation
from klagomal.core.users import Role, User
from klagomal.notices.outbox import _PERSON, resolve_recipient
from test_outbox import Recorder, _organisation

#: A förskola, the unit above it and its förvaltning: none has an address here.
UNIT = "bou-forskola-ekorren"
PATH = ("bou", "bou-forskola", UNIT)
RESPOND_BY = dt.date(2026, 3, 27)

#: Users without an e-mail address of their own.
HANDLER = User(id="utan.epost", name="Ulla Utan Epost", role=Role.HANDLER, units=(UNIT,))
SAFETY = User(id="skyddsombud", name="Skyddsombudet Siv", role=Role.READER)


def _without_addresses() -> Organisation:
    """Exempelkommun, with no mailbox on the förskola's path, no
    förvaltningschef's or nämnd's address for bou, and two users without one."""
    base = _organisation()
    units = {**base.units, **{u: attrs.evolve(base.units[u], email=None) for u in PATH}}
    bou = attrs.evolve(base.departments["bou"], head_email=None, board_email=None)
    users = {**base.users, HANDLER.id: HANDLER, SAFETY.id: SAFETY}
    return attrs.evolve(base, units=units, departments={**base.departments, "bou": bou}, users=users)


class Routine:
    """A förvaltning's routine for threats (R28) that tells the chef, the
    förvaltningschef and the safety officer."""

    @hookimpl
    def klagomal_threat_routine(self, case: Any, flag: Any, organisation: Any) -> ThreatRoutine:
        return ThreatRoutine(alert_manager=True, alert_department_head=True, alert_users=(SAFETY.id,))


@pytest.fixture
def k(new_database: Callable[[], str], clock: FixedClock) -> Iterator[Klagomal]:
    recorder = Recorder()
    with Klagomal(
        new_database(),
        clock=clock,
        organisation=_without_addresses(),
        plugins=[recorder, Routine()],
        load_entrypoints=False,
        user="system",
    ) as instance:
        instance.init()
        yield instance


def _register(k: Klagomal, **overrides: Any) -> str:
    args: dict[str, Any] = {
        "kind": "klagomal",
        "channel": "telefon",
        "unit": UNIT,
        "text": "Grinden till gården var öppen.",
        "contact": Contact("Eva Svensson", "eva@example.se"),
    }
    return k.register(**(args | overrides)).reference


def _missing(what: str, where: str) -> str:
    return f"{what} saknas; ange {where} i organisationsfilen"


def _recipients_of_the_code() -> set[str]:
    """The recipients ``resolve_recipient`` tells apart, as its code names them."""
    source = inspect.getsource(resolve_recipient)
    found = {a or b for a, b in re.findall(r'role == "(\w+)"|role\.startswith\("(\w+)-"\)', source)}
    return found | {_PERSON} if "role == _PERSON" in source else found


def test_every_missing_address_fails_the_notice_for_good_and_says_what_to_give(k: Klagomal) -> None:
    org = k.organisation
    bou = org.departments["bou"]
    manager = org.units[UNIT].manager
    unit_mailbox = f"'epost' för enheten {UNIT}"
    user_or_unit = f"'epost' för användaren eller enheten {UNIT}"
    expected: dict[tuple[str, str, str], str] = {}

    # R22: praise passed on to a member of staff named without an address, and to the unit's chef.
    praise = _register(k, kind="berom", text="Tack för en fin höst!")
    k.pass_on_praise(praise, ["Lisa Holm"], "Vi vill tacka personalen.")
    expected[praise, "berom_vidare", "personal-1"] = _missing("e-postadress till Lisa Holm", unit_mailbox)
    expected[praise, "berom_vidare", "chef"] = _missing(f"e-postadress till {manager}", unit_mailbox)

    # R28: a threat flag, under a routine that tells the chef, the förvaltningschef and a user.
    flagged = _register(k)
    k.flag_threat(flagged, "hotfullt", about="arende", reason="Hotade personalen vid hämtningen.")
    expected[flagged, "flaggning", "chef"] = _missing(f"e-postadress till {manager}", unit_mailbox)
    expected[flagged, "flaggning", "forvaltningschef"] = _missing(
        f"e-postadress till förvaltningschefen {bou.head}", "'chef_epost' eller 'epost' för förvaltningen bou"
    )
    expected[flagged, "flaggning", "anvandare-1"] = _missing(f"e-postadress till {SAFETY.name}", user_or_unit)

    # An assignment to a user without an address, and to a handler named in free text.
    assigned = _register(k)
    k.assign(assigned, HANDLER.id)
    expected[assigned, "tilldelning", "handlaggare"] = _missing(
        f"e-postadress till {HANDLER.name}", user_or_unit
    )
    by_name = _register(k)
    k.assign(by_name, "Per Person")
    expected[by_name, "tilldelning", "handlaggare"] = _missing("e-postadress till Per Person", user_or_unit)

    # R20, R21: escalated to the förvaltningschef, then to the nämnd.
    escalated = _register(k)
    k.acknowledge(escalated, "Hanna Lind", RESPOND_BY)
    k.answer(escalated, "skriftligt", "Grinden är lagad.")
    k.close(escalated, False)
    k.escalate(escalated, "Inte nöjd")
    expected[escalated, "eskalering_chef", "forvaltningschef"] = _missing(
        f"e-postadress till förvaltningschefen {bou.head}", "'chef_epost' eller 'epost' för förvaltningen bou"
    )
    k.acknowledge(escalated, "Förvaltningschefen", dt.date(2026, 4, 20))
    k.answer(escalated, "skriftligt", "Vi har sett över rutinerna.")
    k.close(escalated, False)
    k.escalate(escalated, "Fortfarande inte nöjd")
    expected[escalated, "eskalering_namnd", "namnd"] = _missing(
        f"e-postadress till {bou.board}s sekreterare", "'namnd_epost' för förvaltningen bou"
    )

    # The person: their e-mail address, or their postal address, removed
    # from the contact before the besked went out (a notice goes to the
    # contact as it is when it is sent).
    by_email = _register(k)
    k.acknowledge(by_email, "Hanna Lind", RESPOND_BY)
    k.correct_contact(by_email, email="", phone="070-123 45 67", reason="Vill bli uppringd")
    expected[by_email, "besked", "person"] = (
        "personens e-postadress saknas i kontaktuppgifterna; rätta dem i ärendet (klagomal correct-contact) "
        "och skicka igen (klagomal deliver --retry-failed)"
    )
    by_letter = _register(k, contact=Contact("Eva Svensson", address="Storgatan 1, 123 45 Exempelstad"))
    k.acknowledge(by_letter, "Hanna Lind", RESPOND_BY)
    k.correct_contact(by_letter, address="", phone="070-123 45 67", reason="Har flyttat")
    expected[by_letter, "besked", "person"] = (
        "personens postadress saknas i kontaktuppgifterna; rätta dem i ärendet (klagomal correct-contact) "
        "och skicka igen (klagomal deliver --retry-failed)"
    )
    steps = {ref: k.get(ref).version for ref in {ref for ref, _kind, _to in expected}}

    run = k.deliver()

    assert {(n.reference, n.kind, n.recipient): n.last_error for n in run.failed} == expected
    # What was sent went to the person, whose address the escalated case has.
    assert {(n.reference, n.recipient) for n in run.sent} == {(escalated, "person")}
    assert run.retry == []
    for notice in run.failed:
        assert (notice.status, notice.next_attempt) == ("failed", None)
    # Every recipient resolve_recipient knows failed here for want of an address.
    assert {
        to.split("-")[0] if "-" in to else to for _ref, _kind, to in expected
    } == _recipients_of_the_code()
    # The steps stand, and a second run tries none of them again.
    assert {ref: k.get(ref).version for ref in steps} == steps
    again = k.deliver()
    assert (again.failed, again.retry, again.sent) == ([], [], [])
    assert again.failed_waiting == len(expected)

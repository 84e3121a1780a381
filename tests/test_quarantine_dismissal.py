"""Taking a quarantined message out of the quarantine as no case
(:meth:`klagomal.Klagomal.dismiss_from_quarantine`): nothing is deleted,
the reason is kept and audited, a refusal changes nothing; on SQLite,
PostgreSQL and MariaDB.  And a release or a dismissal that finds the
message already taken out by another transaction, under a real row lock."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from conftest import register_case
from klagomal import FixedClock, Klagomal
from klagomal.core.errors import AccessDeniedError, InvalidInputError
from klagomal.storage import tables
from test_connections import _wait_until, _waiting_for_a_lock
from test_intake import mail
from test_write_races import _in_thread

STRANGER = "Okänd <okand@example.net>"

#: A release, or a dismissal, of a message another has taken out meanwhile.
REFUSALS = {
    "release": "steg 'släppa ur karantän': meddelande {id} har redan släppts ur karantänen",
    "dismiss": "steg 'markera som inget ärende': meddelande {id} har redan tagits ur karantänen",
}


def test_a_dismissed_message_is_kept_with_its_reason_and_audited(
    new_database: Callable[[], str], clock: FixedClock
) -> None:
    k = Klagomal(new_database(), clock=clock, load_entrypoints=False)
    k.init()
    try:
        ref = register_case(k).reference
        raw = mail("Köp billiga klockor!", subject=f"ärende {ref}", sender=STRANGER)
        assert k.receive_email(raw).outcome == "quarantined"
        [held] = k.received_messages(outcomes=["quarantined"])
        admin = k.as_user("kim.berg")
        audit_before = len(k.audit_log())

        # Refused: no reason, a reader, a message not in quarantine; nothing changes.
        with pytest.raises(InvalidInputError, match=f"meddelande {held.id}"):
            admin.dismiss_from_quarantine(held.id or 0, reason="   ")
        with pytest.raises(AccessDeniedError):
            k.as_user("sven.ek").dismiss_from_quarantine(held.id or 0, reason="Reklam")
        with pytest.raises(InvalidInputError, match="finns inte i karantänen"):
            admin.dismiss_from_quarantine(99999, reason="Reklam")
        assert [m.id for m in k.received_messages(outcomes=["quarantined"])] == [held.id]

        outcome = admin.dismiss_from_quarantine(held.id or 0, reason="Reklam,  inget ärende")
        assert outcome.outcome == "dismissed"
        assert k.received_messages(outcomes=["quarantined"]) == []
        [kept] = k.received_messages(ids=[held.id or 0], with_raw=True)
        assert (kept.outcome, kept.raw, kept.reference) == ("dismissed", raw, None)
        assert held.reason
        assert kept.reason
        assert kept.reason.startswith(held.reason)
        assert kept.reason.endswith("inte något ärende: Reklam, inget ärende")
        entries = k.audit_log()[audit_before:]
        mine = [e for e in entries if e.user_id == "kim.berg" and e.outcome == "allowed"]
        assert [e.detail for e in mine if "is no case" in e.detail] == [
            f"quarantine: message {held.id} is no case"
        ]
        assert k.audit_verify().ok
        # Once out of the quarantine it can be neither dismissed again nor released.
        with pytest.raises(InvalidInputError, match="finns inte i karantänen"):
            admin.dismiss_from_quarantine(held.id or 0, reason="igen")
        with pytest.raises(InvalidInputError, match="finns inte i karantänen"):
            admin.release_from_quarantine(held.id or 0)
    finally:
        k.dispose()


@pytest.mark.parametrize("new_database", ["postgresql", "mariadb"], indirect=True)
@pytest.mark.parametrize("action", ["release", "dismiss"])
def test_a_message_another_took_out_meanwhile_is_refused_and_nothing_is_stored(
    new_database: Callable[[], str], clock: FixedClock, action: str
) -> None:
    # Two members of staff take the same message out of the quarantine at
    # once.  The other's transaction has dismissed it, and holds its row,
    # when this one's check still finds it in the quarantine; this one's
    # write waits for the row, then finds the message gone: it is refused,
    # and nothing of it is stored (no case, no number used).  On SQLite the
    # check and the write are two transactions too, but no lock can hold
    # another writer between them; the servers' row lock runs the path.
    url = new_database()
    with Klagomal(url, clock=clock, load_entrypoints=False) as k:
        k.init()
        ref = register_case(k).reference
        assert k.receive_email(mail("Köp klockor!", subject=f"ärende {ref}", sender=STRANGER)).outcome == (
            "quarantined"
        )
        [held] = k.received_messages(outcomes=["quarantined"])
        message_id = held.id or 0
        before = _rows(url)
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                transaction = conn.begin()
                conn.execute(
                    sa.update(tables.received_messages)
                    .where(tables.received_messages.c.id == message_id)
                    .values(outcome="dismissed", reason="Reklam")
                )
                thread, results = _in_thread(
                    (lambda: k.release_from_quarantine(message_id, new=True))
                    if action == "release"
                    else (lambda: k.dismiss_from_quarantine(message_id, reason="Inget ärende"))
                )
                _wait_until(lambda: _waiting_for_a_lock(engine), f"the {action} waits for the message's row")
                transaction.commit()
                thread.join(60)
        finally:
            engine.dispose()
        [refused] = results
        assert isinstance(refused, InvalidInputError), refused
        assert str(refused) == REFUSALS[action].format(id=message_id)
        assert _rows(url) == before
        [kept] = k.received_messages(ids=[message_id])
        assert (kept.outcome, kept.reason, kept.reference) == ("dismissed", "Reklam", None)
        assert [c.reference for c in k.cases()] == [ref]


def _rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    """The rows a release or a dismissal would write (but the audit log, which the check adds to)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return {
                table.name: [tuple(row) for row in conn.execute(sa.select(table))]
                for table in (tables.cases, tables.events, tables.reference_counters, tables.attachments)
            }
    finally:
        engine.dispose()

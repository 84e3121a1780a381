"""Taking a quarantined message out of the quarantine as no case
(:meth:`klagomal.Klagomal.dismiss_from_quarantine`): nothing is deleted,
the reason is kept and audited, a refusal changes nothing; on SQLite,
PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conftest import register_case
from klagomal import FixedClock, Klagomal
from klagomal.core.errors import AccessDeniedError, InvalidInputError
from test_intake import mail

STRANGER = "Okänd <okand@example.net>"


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

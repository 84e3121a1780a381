"""The intake log: the arrivals that became no case (``klagomal intake log``,
:meth:`klagomal.Klagomal.intake_log`), so that the one who runs the intake
sees what was received and left aside, and why: automatic messages
(out-of-office replies, bounces, mailing lists), messages that arrived
again (duplicates) and the quarantine.

Reading it needs the right to read the quarantine (the intake's right,
:attr:`~klagomal.records.access.Operation.REGISTER`), and it is audited
like the quarantine list.  A duplicate of a message that became a case is
shown only to a user who may read that case, and as they may see it
(a protected person's address and subject are replaced).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from klagomal.core.errors import InvalidInputError
from klagomal.core.i18n import _
from klagomal.intake.records import LOG_OUTCOMES, IntakeLogEntry
from klagomal.records.access import PROTECTED_PLACEHOLDER, Operation

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.context import Context

__all__ = ["intake_log"]


def _duplicate_reason(entry: IntakeLogEntry) -> str:
    """Which message a duplicate repeats, and what that one became."""
    if entry.reference:
        return _("samma meddelande som nummer {id}, som blev ärende {reference}").format(
            id=entry.message_id, reference=entry.reference
        )
    return _("samma meddelande som nummer {id} ({outcome})").format(
        id=entry.message_id, outcome=_OUTCOME_WORDS.get(entry.reason or "", entry.reason or "-")
    )


_OUTCOME_WORDS = {
    "automatic": _("automatiskt"),
    "quarantined": _("i karantän"),
    "registered": _("registrerat"),
    "reply": _("svar"),
}


def intake_log(
    ctx: Context, *, since: dt.date | None = None, outcomes: Sequence[str] | None = None
) -> list[IntakeLogEntry]:
    """The arrivals that became no case, oldest first: from the start of
    *since* (in the kommun's time zone, as the clock says) on, with one of
    *outcomes* (:data:`~klagomal.intake.records.LOG_OUTCOMES`, all by default)."""
    wanted = tuple(LOG_OUTCOMES if outcomes is None else outcomes)
    unknown = [o for o in wanted if o not in LOG_OUTCOMES]
    if unknown:
        raise InvalidInputError(
            _("okänt utfall '{outcome}' i intagsloggen; välj bland {choices}").format(
                outcome=unknown[0], choices=", ".join(LOG_OUTCOMES)
            ),
            step="intake log",
        )
    ctx.allowed(Operation.REGISTER)
    start = None
    if since is not None:
        zone = ctx.clock.now().tzinfo or dt.UTC
        start = dt.datetime.combine(since, dt.time(), tzinfo=zone)
    with ctx.denials(Operation.READ), ctx.transaction() as uow:
        found = uow.intake_log(since=start, outcomes=wanted)
        cases = {ref: uow.get(ref) for ref in {e.reference for e in found if e.reference}}
        readable = {ref: ctx.redaction(case) for ref, case in cases.items() if ctx.may_read(case)}
        shown: list[IntakeLogEntry] = []
        for entry in found:
            if entry.outcome == "duplicate":
                entry = attrs.evolve(entry, reason=_duplicate_reason(entry))
            if entry.reference is not None:
                redaction = readable.get(entry.reference)
                if redaction is None:
                    continue  # a case the user may not read: not even that it was received again
                if redaction.hides_contact:
                    entry = attrs.evolve(
                        entry,
                        sender=PROTECTED_PLACEHOLDER if entry.sender else None,
                        subject=PROTECTED_PLACEHOLDER if entry.subject else None,
                    )
            shown.append(entry)
        ctx.audit_list(uow, Operation.READ, sorted({e.reference for e in shown if e.reference}), "intake log")
        ctx.audit(uow, Operation.READ, [None], f"intake log: {len(shown)} messages without a case")
        return shown

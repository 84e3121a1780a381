"""What each job does: one call of the facade, as the worker's user, and
a summary of counts for the run's record.  A summary never holds personal
data (no names, addresses or texts), since it is logged and kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from klagomal.core.i18n import _
from klagomal.core.jobs import GALLRING, MAILBOX, OUTBOX, REMINDERS, WEBHOOKS
from klagomal.records.access import Operation

if TYPE_CHECKING:
    from klagomal.app import Klagomal

__all__ = ["JOB_OPERATIONS", "RUNNERS", "Result", "enabled_jobs"]


@attrs.frozen
class Result:
    """How a run ended: ``ok`` or ``partial`` (some work waits for the next
    run), with counts in words."""

    outcome: str
    detail: str


StopCheck = Callable[[], bool]


def _outbox(k: Klagomal, should_stop: StopCheck) -> Result:
    run = k.deliver()
    detail = _(
        "{sent} skickade, {retry} försöks igen senare, {failed} misslyckade, {uncertain} osäkra, "
        "{tasks} uppgifter"
    ).format(
        sent=len(run.sent),
        retry=len(run.retry),
        failed=len(run.failed),
        uncertain=len(run.uncertain),
        tasks=run.tasks,
    )
    return Result("partial" if run.failed or run.uncertain else "ok", detail)


def _webhooks(k: Klagomal, should_stop: StopCheck) -> Result:
    run = k.webhooks.deliver()
    detail = _(
        "{sent} skickade, {retry} försöks igen senare, {failed} misslyckade, {skipped} hoppades över"
    ).format(sent=len(run.sent), retry=len(run.retry), failed=len(run.failed), skipped=len(run.skipped))
    return Result("partial" if run.failed else "ok", detail)


def _reminders(k: Klagomal, should_stop: StopCheck) -> Result:
    run = k.remind(None)
    unsent = len(run.failed) + len(run.undeliverable)
    detail = _(
        "{created} nya, {sent} skickade, {failed} kunde inte skickas, {obsolete} inaktuella, "
        "{uncertain} osäkra"
    ).format(
        created=len(run.created),
        sent=len(run.sent),
        failed=unsent,
        obsolete=len(run.obsolete),
        uncertain=len(run.uncertain),
    )
    return Result("partial" if run.failed else "ok", detail)


def _mailbox(k: Klagomal, should_stop: StopCheck) -> Result:
    run = k.read_mailbox(should_stop=should_stop)
    counts: dict[str, int] = {}
    for outcome in run.outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    detail = _(
        "{boxes} brevlådor, {registered} nya ärenden, {reply} svar, {duplicate} redan mottagna, "
        "{automatic} automatiska, {quarantined} i karantän, {moved} flyttade, {errors} fel"
    ).format(
        boxes=len(run.mailboxes),
        moved=run.moved,
        errors=len(run.errors),
        **{
            name: counts.get(name, 0)
            for name in ("registered", "reply", "duplicate", "automatic", "quarantined")
        },
    )
    if should_stop() and any(m.left for m in run.mailboxes):
        return Result("interrupted", detail)  # stopped between two messages; the rest wait
    return Result("partial" if run.errors else "ok", detail)


def _gallring(k: Klagomal, should_stop: StopCheck) -> Result:
    planned = k.run_disposal()
    return Result("ok", _("{n} ärenden gallrade").format(n=len(planned)))


RUNNERS: dict[str, Callable[[Klagomal, StopCheck], Result]] = {
    OUTBOX: _outbox,
    WEBHOOKS: _webhooks,
    REMINDERS: _reminders,
    MAILBOX: _mailbox,
    GALLRING: _gallring,
}
"""Each job's work, by job."""

JOB_OPERATIONS = {
    OUTBOX: Operation.DELIVER,
    WEBHOOKS: Operation.DELIVER,
    REMINDERS: Operation.REMIND,
    MAILBOX: Operation.REGISTER,
    GALLRING: Operation.DISPOSE,
}
"""What the worker's user must be allowed to do for each job."""


def enabled_jobs(k: Klagomal) -> list[tuple[str, str | None]]:
    """Every job with ``None`` when this organisation file runs it, else
    the reason it does not (said once when the worker starts)."""
    settings = k.organisation.worker
    found: list[tuple[str, str | None]] = []
    for job in RUNNERS:
        reason = None
        if job == MAILBOX and not k.organisation.intake.imap:
            reason = _("ingen brevlåda är angiven ([[intag.imap]])")
        elif job == GALLRING and settings.gallring_at is None:
            reason = _("ingen tid för gallring är angiven ([arbetare] gallring_klockan)")
        found.append((job, reason))
    return found

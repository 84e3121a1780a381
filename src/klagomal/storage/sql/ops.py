"""What operations watches (:mod:`klagomal.observe.metrics`, issue 23): how
many notices wait in the outbox and how many deliveries failed, how many
received messages are in quarantine, how many open cases are overdue at each
förvaltning.

Numbers only, never a row: no personal data leaves here.  Every count is
read through an index, so that a scrape stays cheap on a database with a
million cases (the caller also keeps the numbers a while,
:class:`klagomal.observe.metrics.OperationsCollector`):

* the outbox by status: ``ix_notices_status_next_attempt``, only the open
  statuses' part of it (the sent notices, nearly all of them, are not read);
* failed reminders and webhook deliveries: ``ix_reminders_status``,
  ``ix_webhook_deliveries_status_next_attempt``;
* the quarantine: ``ix_received_messages_outcome_received_at``;
* overdue cases: ``ix_cases_state_acknowledge_by`` and
  ``ix_cases_state_respond_by``, one range of each (the overdue cases only),
  with each matching row's förvaltning.

tests/test_observe.py checks on SQLite that no statement reads a whole table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from klagomal.core.model import CaseState
from klagomal.storage.tables import (
    cases,
    job_runs,
    notices,
    received_messages,
    reminders,
    webhook_deliveries,
)

__all__ = ["FAILED_KINDS", "OUTBOX_STATUSES", "OperationsCounts", "OpsStore", "operations_statements"]

#: The outbox's statuses that operations watches (:mod:`klagomal.notices.outbox`):
#: waiting, handed to a notifier, failed, perhaps arrived.
OUTBOX_STATUSES = ("pending", "sending", "failed", "uncertain")

#: What can fail to be delivered, and the statuses that say so: a notice to
#: a person or to staff, a reminder to a handler or manager
#: (:mod:`klagomal.notices.reminders`), a webhook delivery
#: (:mod:`klagomal.notices.webhooks`).
FAILED_KINDS: Mapping[str, tuple[str, ...]] = {
    "notice": ("failed",),
    "reminder": ("failed", "undeliverable"),
    "webhook": ("failed",),
}


@attrs.frozen
class OperationsCounts:
    """The numbers operations watches, read at one moment.

    :param outbox: notices in the outbox, by each of :data:`OUTBOX_STATUSES`.
    :param failed: deliveries that failed, by each key of :data:`FAILED_KINDS`.
    :param quarantined: received messages in quarantine.
    :param overdue: open cases past their deadline (besked or svar, the
        rule of :meth:`klagomal.core.model.Case.overdue_reason`), by
        förvaltning id; :meth:`klagomal.Klagomal.operations_counts` adds
        every förvaltning of the organisation with none.
    :param job_last_success: when each job of ``klagomal worker`` last ran
        to its end, by job name (UTC); empty until the worker's job tables
        fill it (:meth:`OpsStore.job_last_success`).
    """

    outbox: Mapping[str, int]
    failed: Mapping[str, int]
    quarantined: int
    overdue: Mapping[str, int]
    job_last_success: Mapping[str, dt.datetime] = attrs.field(factory=dict)


_TODAY = sa.bindparam("today", type_=sa.Date)


def operations_statements() -> dict[str, sa.Select[Any]]:
    """Each statement of :meth:`OpsStore.operations_counts`, by name: what
    the test of their query plans reads (``:today`` is their one value)."""
    return {
        "outbox": sa.select(notices.c.status, sa.func.count())
        .where(notices.c.status.in_(OUTBOX_STATUSES))
        .group_by(notices.c.status),
        "failed_reminders": sa.select(sa.func.count()).where(
            reminders.c.status.in_(FAILED_KINDS["reminder"])
        ),
        "failed_webhooks": sa.select(sa.func.count()).where(
            webhook_deliveries.c.status.in_(FAILED_KINDS["webhook"])
        ),
        "quarantined": sa.select(sa.func.count()).where(received_messages.c.outcome == "quarantined"),
        # The rule of Case.deadline, one branch at a time so that each reads one
        # range of its index: a registered case's besked, a handled case's svar
        # while its clock runs.
        "overdue_besked": sa.select(cases.c.department, sa.func.count())
        .where(cases.c.state == CaseState.REGISTRERAT.value, cases.c.acknowledge_by < _TODAY)
        .group_by(cases.c.department),
        "overdue_svar": sa.select(cases.c.department, sa.func.count())
        .where(
            cases.c.state == CaseState.HANDLAGGNING.value,
            cases.c.respond_by < _TODAY,
            cases.c.paused_since.is_(None),
        )
        .group_by(cases.c.department),
    }


_STATEMENTS = operations_statements()


class OpsStore:
    """Operations' counts in a unit of work (part of :class:`~klagomal.storage.sql.SqlUnitOfWork`)."""

    conn: Connection

    def operations_counts(self, today: dt.date) -> OperationsCounts:
        """The numbers operations watches (:class:`OperationsCounts`), with
        *today* the day a deadline is measured against."""
        run = self.conn.execute
        outbox = dict.fromkeys(OUTBOX_STATUSES, 0)
        outbox.update({status: int(n) for status, n in run(_STATEMENTS["outbox"])})
        failed = {
            "notice": outbox["failed"],
            "reminder": int(run(_STATEMENTS["failed_reminders"]).scalar_one()),
            "webhook": int(run(_STATEMENTS["failed_webhooks"]).scalar_one()),
        }
        overdue: dict[str, int] = {}
        for name in ("overdue_besked", "overdue_svar"):
            for department, n in run(_STATEMENTS[name], {"today": today}):
                overdue[department] = overdue.get(department, 0) + int(n)
        return OperationsCounts(
            outbox=outbox,
            failed=failed,
            quarantined=int(run(_STATEMENTS["quarantined"]).scalar_one()),
            overdue=overdue,
            job_last_success=self.job_last_success(),
        )

    def job_last_success(self) -> dict[str, dt.datetime]:
        """When each job of ``klagomal worker`` last started a run that
        ended ``ok``, by job name, in UTC (table ``job_runs``, read through
        its index on job, outcome and start)."""
        runs = job_runs.c
        rows = self.conn.execute(
            sa.select(runs.job, sa.func.max(runs.started_at)).where(runs.outcome == "ok").group_by(runs.job)
        )
        return {job: at.replace(tzinfo=dt.UTC) for job, at in rows if at is not None}

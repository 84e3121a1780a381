"""The work that happens by itself (``klagomal worker``, :mod:`klagomal.worker`):
the jobs, their schedule from the organisation file's ``[arbetare]``, and
the records of their leases and runs.

A job runs on one worker at a time however many run: the worker that holds
the job's *lease* (a row in the database, taken and renewed by the worker)
is its leader.  Every run is recorded with its outcome, so that an operator
sees when a job last succeeded (``klagomal jobs``, the metrics).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from klagomal.core.i18n import _

if TYPE_CHECKING:
    from klagomal.core.settings import TableReader

__all__ = [
    "GALLRING",
    "JOBS",
    "MAILBOX",
    "OUTBOX",
    "REMINDERS",
    "WEBHOOKS",
    "WORKER_KEYS",
    "JobLease",
    "JobRun",
    "JobStatus",
    "WorkerSettings",
    "job_label",
    "parse_worker",
]

OUTBOX = "utskick"
"""Send what waits in the outbox (:meth:`klagomal.app.Klagomal.deliver`), at an interval."""
WEBHOOKS = "webhooks"
"""Send the webhooks' deliveries to the kommun's other systems (``klagomal webhook deliver``),
at an interval."""
REMINDERS = "paminnelser"
"""Remind handlers and tell managers (:meth:`klagomal.app.Klagomal.remind`), once each working day."""
MAILBOX = "brevlada"
"""Read the kommun's mailboxes over IMAP (``[[intag.imap]]``), at an interval."""
GALLRING = "gallring"
"""Dispose of what the disposal rules say is due (:meth:`klagomal.app.Klagomal.run_disposal`),
daily when a time is set."""

JOBS = (OUTBOX, WEBHOOKS, REMINDERS, MAILBOX, GALLRING)
"""Every job a worker can run, in the order a worker looks at them."""

OUTCOMES = ("running", "ok", "partial", "failed", "interrupted")
"""How a run ended: ``running`` until it ends; ``partial`` when the job ran
but some of its work failed and waits for the next run (a notice that could
not be sent); ``interrupted`` when the worker stopped before the end."""


def job_label(job: str) -> str:
    """The job as staff read it, in Swedish."""
    return {
        OUTBOX: _("utskick"),
        WEBHOOKS: _("webhooks"),
        REMINDERS: _("påminnelser"),
        MAILBOX: _("brevlådor"),
        GALLRING: _("gallring"),
    }.get(job, job)


@attrs.frozen
class WorkerSettings:
    """When the worker runs each job (``[arbetare]`` in the organisation file)."""

    outbox_interval: int = 60
    """Seconds between two sendings of the outbox (``utskick_intervall``)."""
    webhook_interval: int = 60
    """Seconds between two sendings of the webhooks' deliveries (``webhook_intervall``)."""
    mailbox_interval: int = 120
    """Seconds between two readings of the mailboxes (``brevlada_intervall``)."""
    reminders_at: dt.time = dt.time(7, 0)
    """The time of day the reminders go out on each working day (``paminnelser_klockan``)."""
    gallring_at: dt.time | None = None
    """The time of day of gallring (``gallring_klockan``); ``None``, the default:
    no automatic gallring, only ``klagomal gallra`` by hand."""
    lease_seconds: int = 60
    """How long a job's leader holds it without renewing (``ledarskap_sekunder``):
    a worker that dies loses its jobs to another after this long."""
    retry_seconds: int = 900
    """Seconds before a daily job that failed is tried again the same day (``omforsok_sekunder``)."""


#: The keys of ``[arbetare]``.
WORKER_KEYS = (
    "utskick_intervall",
    "webhook_intervall",
    "brevlada_intervall",
    "paminnelser_klockan",
    "gallring_klockan",
    "ledarskap_sekunder",
    "omforsok_sekunder",
)

_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def _clock(value: object, key: str, where: str, reader: TableReader) -> dt.time | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _CLOCK.fullmatch(value):
        reader.fail(
            _("{where}: '{key}' ska vara ett klockslag som \"07:00\", inte {value!r}").format(
                where=where, key=key, value=value
            )
        )
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


def parse_worker(table: object, reader: TableReader) -> WorkerSettings:
    """The table ``[arbetare]``; *reader* raises the organisation file's error."""
    if table is None:
        return WorkerSettings()
    where = "[arbetare]"
    if not isinstance(table, Mapping):
        reader.fail(_("{where} ska vara en tabell").format(where=where))
    reader.check_keys(table, WORKER_KEYS, where)
    numbers: dict[str, int] = {}
    for key, low, high in (
        ("utskick_intervall", 1, 86400),
        ("webhook_intervall", 1, 86400),
        ("brevlada_intervall", 1, 86400),
        ("ledarskap_sekunder", 3, 3600),
        ("omforsok_sekunder", 1, 86400),
    ):
        value = reader.number(table, key, where, low, high)
        if value is not None:
            if not isinstance(value, int):
                reader.fail(_("{where}: '{key}' ska vara ett heltal").format(where=where, key=key))
            numbers[key] = value
    defaults = WorkerSettings()
    return WorkerSettings(
        outbox_interval=numbers.get("utskick_intervall", defaults.outbox_interval),
        webhook_interval=numbers.get("webhook_intervall", defaults.webhook_interval),
        mailbox_interval=numbers.get("brevlada_intervall", defaults.mailbox_interval),
        reminders_at=_clock(table.get("paminnelser_klockan"), "paminnelser_klockan", where, reader)
        or defaults.reminders_at,
        gallring_at=_clock(table.get("gallring_klockan"), "gallring_klockan", where, reader),
        lease_seconds=numbers.get("ledarskap_sekunder", defaults.lease_seconds),
        retry_seconds=numbers.get("omforsok_sekunder", defaults.retry_seconds),
    )


@attrs.frozen
class JobLease:
    """Who leads a job, and until when unless they renew."""

    job: str
    holder: str | None
    expires_at: dt.datetime | None
    acquired_at: dt.datetime | None


@attrs.frozen
class JobRun:
    """One run of a job: by which worker, when, and how it ended.  *detail*
    holds counts and the reason of a failure, never personal data."""

    id: int
    job: str
    holder: str
    day: dt.date
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: str
    detail: str | None


@attrs.frozen
class JobStatus:
    """A job as an operator follows it: its leader, its last run and its
    last successful run."""

    job: str
    lease: JobLease | None
    last_run: JobRun | None
    last_success: JobRun | None

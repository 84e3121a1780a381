"""When a job is due: pure decisions over the settings, the local time and
the job's recorded runs, so that they can be tested without a clock.

Interval jobs (the outbox, the webhooks, the mailboxes) are due when their last run
started at least the interval ago.  Daily jobs (reminders, gallring) are
due once a day from their time of day, until a run of the day ends ``ok``;
after a failed or partial run they are tried again after
``omforsok_sekunder``; after an interrupted one (a worker killed mid-run)
at once.  Reminders go out on working days only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from klagomal.core.jobs import GALLRING, MAILBOX, OUTBOX, REMINDERS, WEBHOOKS, JobRun, WorkerSettings

__all__ = ["DAILY", "daily_time", "interval", "is_due"]

DAILY = (REMINDERS, GALLRING)
"""The jobs that run once a day."""


def interval(job: str, settings: WorkerSettings) -> int | None:
    """Seconds between runs of an interval job; ``None`` for a daily one."""
    return {
        OUTBOX: settings.outbox_interval,
        WEBHOOKS: settings.webhook_interval,
        MAILBOX: settings.mailbox_interval,
    }.get(job)


def daily_time(job: str, settings: WorkerSettings) -> dt.time | None:
    """The time of day of a daily job; ``None`` when it is not set to run."""
    if job == REMINDERS:
        return settings.reminders_at
    if job == GALLRING:
        return settings.gallring_at
    return None


def is_due(
    job: str,
    settings: WorkerSettings,
    now: dt.datetime,
    runs_today: Sequence[JobRun],
    last_run: JobRun | None,
    *,
    working_day: bool = True,
) -> bool:
    """Whether *job* should run at *now* (local, timezone-aware).

    :param runs_today: the job's runs for *now*'s date, any order.
    :param last_run: the job's latest run of any day (interval jobs).
    :param working_day: whether *now*'s date is a working day (reminders).
    """
    every = interval(job, settings)
    if every is not None:
        if last_run is None:
            return True
        return (now - last_run.started_at).total_seconds() >= every
    at = daily_time(job, settings)
    if at is None or now.time() < at:
        return False
    if job == REMINDERS and not working_day:
        return False
    if any(run.outcome == "ok" for run in runs_today):
        return False
    ended = [run for run in runs_today if run.outcome != "running"]
    if not ended:
        return not any(run.outcome == "running" for run in runs_today)
    latest = max(ended, key=lambda run: run.started_at)
    if latest.outcome == "interrupted":
        return True
    return (now - latest.started_at).total_seconds() >= settings.retry_seconds

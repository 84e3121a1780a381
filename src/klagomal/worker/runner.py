"""The worker's loop: lead what it can, run what is due, record each run.

Each job has a lease in the database (:meth:`klagomal.app.Klagomal.take_job_lease`).
A worker runs a job only while it holds the job's lease, and a heartbeat
thread renews the leases it holds every third of the lease, also while a
long job runs.  A worker that is killed stops renewing: after the lease
(``[arbetare] ledarskap_sekunder``) another worker takes the job, marks the
dead worker's unfinished run ``interrupted`` and goes on.  A worker that is
told to stop (SIGTERM, SIGINT) finishes the job in hand, gives its leases
up at once and exits.

Machines must keep their clocks in step (NTP): a lease is compared with
the clock of the worker that takes it, and the heartbeat renews it two
thirds of a lease before it runs out, which is the skew tolerated.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from klagomal.core.errors import (
    AccessDeniedError,
    ConfigurationError,
    KlagomalError,
    SchemaError,
    StorageUnavailableError,
    TransientStorageError,
)
from klagomal.core.i18n import _
from klagomal.core.jobs import REMINDERS, job_label
from klagomal.deadlines.policies import is_working_day
from klagomal.observe.logs import PUBLIC
from klagomal.worker.jobs import JOB_OPERATIONS, RUNNERS, Result, enabled_jobs
from klagomal.worker.schedule import is_due

if TYPE_CHECKING:
    from klagomal.app import Klagomal

__all__ = ["Worker", "holder_name"]

log = logging.getLogger("klagomal.worker")
#: The worker's lines name jobs, workers and counts, never a person: a JSON
#: log (``--log-format json``) writes them whole (:mod:`klagomal.observe.logs`).
_PUBLIC = {PUBLIC: True}
#: Seconds between two prunings of old runs (:meth:`klagomal.app.Klagomal.prune_job_runs`).
PRUNE_EVERY = 24 * 3600

#: Errors whose message describes the system, never a person: kept in a
#: failed run's record.  Of any other error only its kind is kept.
_SYSTEM_ERRORS = (
    ConfigurationError,
    StorageUnavailableError,
    TransientStorageError,
    SchemaError,
    AccessDeniedError,
)


def holder_name(name: str | None = None) -> str:
    """The worker's name in the leases: *name* (``--name``) or the host's,
    with the process id and a random tail, so that a restarted worker is
    never taken for the one that died."""
    return f"{name or socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, _SYSTEM_ERRORS):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


class Worker:
    """One worker process's jobs.

    :param k: the facade, acting as the worker's user.
    :param jobs: the jobs this worker may run (default: every enabled one).
    :param name: the worker's name in the leases (default: the host's).
    :param tick: the most seconds between two looks at the schedule.
    :param on_run: called after each run with the job and its outcome (metrics).
    """

    def __init__(
        self,
        k: Klagomal,
        *,
        jobs: Sequence[str] | None = None,
        name: str | None = None,
        tick: float | None = None,
        on_run: Callable[[str, str], None] | None = None,
    ) -> None:
        self.k = k
        self.settings = k.organisation.worker
        self.holder = holder_name(name)
        self.stopping = threading.Event()
        self.on_run = on_run
        self.tick = tick if tick is not None else min(5.0, self.settings.lease_seconds / 3)
        self.jobs: list[str] = []
        self.skipped: dict[str, str] = {}
        for job, reason in enabled_jobs(k):
            if jobs is not None and job not in jobs:
                continue
            if reason is not None:
                self.skipped[job] = reason
            else:
                self.jobs.append(job)
        self.led: set[str] = set()
        self._lock = threading.Lock()
        self._unfinished: list[tuple[int, str, str | None]] = []
        self._pruned = -float(PRUNE_EVERY)

    # -- checks before the first run ----------------------------------------

    def check(self) -> None:
        """Refuse to start, in Swedish, when the worker's user may not do a
        job's work, or when another worker runs on an SQLite database."""
        for job in self.jobs:
            self.k.access.check(self.k.user, JOB_OPERATIONS[job])
        if self.k.storage.url.startswith("sqlite"):
            now = dt.datetime.now(dt.UTC)
            for status in self.k.job_status():
                lease = status.lease
                if lease and lease.holder and lease.expires_at and lease.expires_at > now:
                    raise ConfigurationError(
                        _(
                            "en annan arbetare ({holder}) kör redan jobbet {job} mot samma SQLite-databas; "
                            "SQLite tillåter en arbetare (flera arbetare kräver PostgreSQL eller MariaDB). "
                            "Har den stannat kan en ny arbetare starta när dess ledarskap har gått ut, "
                            "inom {seconds} sekunder."
                        ).format(
                            holder=lease.holder,
                            job=job_label(status.job),
                            seconds=self.settings.lease_seconds,
                        )
                    )

    # -- leases -----------------------------------------------------------

    def _take_leases(self) -> None:
        """Lead every job this worker may and no live worker leads."""
        for job in self.jobs:
            try:
                held = self.k.take_job_lease(job, self.holder, self.settings.lease_seconds)
            except KlagomalError as exc:
                log.warning(
                    _("klagomal: kunde inte förnya ledarskapet för jobbet %s: %s"),
                    job_label(job),
                    _reason(exc),
                    extra=_PUBLIC,
                )
                held = False
            with self._lock:
                if held and job not in self.led:
                    log.info(_("leder jobbet %s (%s)"), job_label(job), self.holder, extra=_PUBLIC)
                    self.led.add(job)
                elif not held and job in self.led:
                    log.warning(_("klagomal: leder inte längre jobbet %s"), job_label(job), extra=_PUBLIC)
                    self.led.discard(job)

    def _heartbeat(self) -> None:
        """Renew the leases every third of a lease until the worker stops."""
        while not self.stopping.wait(self.settings.lease_seconds / 3):
            self._take_leases()

    def leads(self, job: str) -> bool:
        with self._lock:
            return job in self.led

    # -- runs ---------------------------------------------------------------

    def _due(self, job: str) -> bool:
        # The day is the business day (``--today`` may set it); the time of
        # day and the intervals are the machine's real clock.
        now = dt.datetime.now().astimezone()
        today = self.k.clock.today()
        runs_today = self.k.job_runs(job, day=today, limit=None)
        last = self.k.job_runs(job, limit=1)
        working = is_working_day(today) and today not in self.k.organisation.closed_days
        return is_due(
            job,
            self.settings,
            now,
            runs_today,
            last[0] if last else None,
            working_day=working if job == REMINDERS else True,
        )

    def _finish(self, run_id: int, outcome: str, detail: str | None) -> None:
        """Record the run's end; if the database cannot take it now, keep it
        and try again on the next tick, so no run stays ``running``."""
        self._unfinished.append((run_id, outcome, detail))
        kept = []
        for item in self._unfinished:
            try:
                self.k.finish_job_run(*item)
            except KlagomalError as exc:
                log.warning(
                    _("klagomal: kunde inte spara hur körningen slutade: %s"), _reason(exc), extra=_PUBLIC
                )
                kept.append(item)
        self._unfinished = kept

    def run_job(self, job: str) -> Result | None:
        """Run *job* once and record it; ``None`` when it failed."""
        started = time.monotonic()
        run_id = self.k.start_job_run(job, self.holder, self.k.clock.today())
        try:
            result = RUNNERS[job](self.k, self.stopping.is_set)
        except Exception as exc:
            reason = _reason(exc)
            self._finish(run_id, "failed", reason)
            log.error(
                _("klagomal: jobbet %s misslyckades efter %.1f s: %s"),
                job_label(job),
                time.monotonic() - started,
                reason,
                extra=_PUBLIC,
            )
            if self.on_run:
                self.on_run(job, "failed")
            return None
        outcome = result.outcome
        self._finish(run_id, outcome, result.detail)
        log.info(
            _("jobbet %s: %s efter %.1f s: %s"),
            job_label(job),
            outcome,
            time.monotonic() - started,
            result.detail,
            extra=_PUBLIC,
        )
        if self.on_run:
            self.on_run(job, outcome)
        return result

    def run_due(self) -> list[str]:
        """Run each job this worker leads that is due; return which ran.
        Once a day, it also forgets runs older than 30 days."""
        if self.led and time.monotonic() - self._pruned >= PRUNE_EVERY:
            self._pruned = time.monotonic()
            try:
                self.k.prune_job_runs()
            except KlagomalError as exc:
                log.warning(_("klagomal: kunde inte gallra gamla körningar: %s"), _reason(exc), extra=_PUBLIC)
        ran = []
        for job in self.jobs:
            if self.stopping.is_set():
                break
            if not self.leads(job):
                continue
            try:
                due = self._due(job)
            except KlagomalError as exc:
                log.warning(
                    _("klagomal: kunde inte läsa schemat för jobbet %s: %s"),
                    job_label(job),
                    _reason(exc),
                    extra=_PUBLIC,
                )
                continue
            if due:
                try:
                    self.run_job(job)
                except KlagomalError as exc:
                    # The run could not even be recorded (the database is away):
                    # the worker stays up, and the job is due again next tick.
                    log.warning(
                        _("klagomal: kunde inte starta jobbet %s: %s"),
                        job_label(job),
                        _reason(exc),
                        extra=_PUBLIC,
                    )
                    continue
                ran.append(job)
        return ran

    def run(self, *, once: bool = False) -> None:
        """Run until :meth:`stop` (or, with *once*, look once and run what is due)."""
        for job, reason in self.skipped.items():
            log.info(_("jobbet %s körs inte: %s"), job_label(job), reason, extra=_PUBLIC)
        self._take_leases()
        heart = None
        if not once:
            heart = threading.Thread(target=self._heartbeat, name="klagomal-heartbeat", daemon=True)
            heart.start()
        try:
            while True:
                self.run_due()
                if once or self.stopping.wait(self.tick):
                    break
        finally:
            self.stopping.set()
            if heart is not None:
                heart.join(timeout=5)
            with contextlib.suppress(KlagomalError):
                freed = self.k.release_job_leases(self.holder)
                if freed:
                    log.info(_("lämnade ledarskapet för %d jobb"), freed, extra=_PUBLIC)

    def stop(self) -> None:
        """Finish the job in hand, then stop (a signal handler may call it)."""
        self.stopping.set()

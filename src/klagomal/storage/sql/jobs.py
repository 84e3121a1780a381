"""The worker's job leases and runs (tables ``job_leases`` and ``job_runs``,
migration 0019, :mod:`klagomal.core.jobs`).

A lease is taken by one conditional UPDATE (free, already ours, or expired),
which every backend makes atomic: of two workers asking at once, exactly one
changes the row.  Times are stored as naive UTC, like every other timestamp.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from klagomal.core.jobs import JobLease, JobRun
from klagomal.storage.sql.rows import utc
from klagomal.storage.tables import job_leases, job_runs

__all__ = ["JobStore"]


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else moment.replace(tzinfo=dt.UTC)


def _run(row: sa.Row[tuple[object, ...]]) -> JobRun:
    m = row._mapping
    return JobRun(
        id=m["id"],
        job=m["job"],
        holder=m["holder"],
        day=m["day"],
        started_at=m["started_at"].replace(tzinfo=dt.UTC),
        finished_at=_aware(m["finished_at"]),
        outcome=m["outcome"],
        detail=m["detail"],
    )


class JobStore:
    """The job leases and runs in a unit of work (part of
    :class:`~klagomal.storage.sql.SqlUnitOfWork`)."""

    conn: Connection

    def ensure_job(self, job: str) -> None:
        """Add *job*'s lease row, free, unless it is there.  Two workers
        adding it at once: the second insert fails, which the caller's
        retry of the transaction absorbs (the row is there then)."""
        found = self.conn.execute(sa.select(job_leases.c.job).where(job_leases.c.job == job)).first()
        if found is None:
            self.conn.execute(sa.insert(job_leases).values(job=job))

    def take_job_lease(self, job: str, holder: str, now: dt.datetime, until: dt.datetime) -> bool:
        """Make *holder* the leader of *job* until *until*, if the lease is
        free, already *holder*'s, or expired at *now*; return whether it is
        *holder*'s now."""
        lease = job_leases.c
        taken = self.conn.execute(
            sa.update(job_leases)
            .where(
                lease.job == job,
                sa.or_(lease.holder.is_(None), lease.holder == holder, lease.expires_at <= utc(now)),
            )
            # acquired_at first: MariaDB assigns left to right, so the CASE
            # must see the holder before it is set.
            .ordered_values(
                (lease.acquired_at, sa.case((lease.holder == holder, lease.acquired_at), else_=utc(now))),
                (lease.holder, holder),
                (lease.expires_at, utc(until)),
            )
        )
        if taken.rowcount != 1:
            return False
        acquired = self.conn.execute(sa.select(lease.acquired_at).where(lease.job == job)).scalar_one()
        if acquired == utc(now):
            # Newly ours: a run another worker left "running" died with it.
            self.conn.execute(
                sa.update(job_runs)
                .where(job_runs.c.job == job, job_runs.c.outcome == "running", job_runs.c.holder != holder)
                .values(outcome="interrupted", finished_at=utc(now))
            )
        return True

    def release_job_leases(self, holder: str) -> int:
        """Free every lease *holder* leads, so that another worker takes
        its jobs at once; return how many."""
        freed = self.conn.execute(
            sa.update(job_leases)
            .where(job_leases.c.holder == holder)
            .values(holder=None, expires_at=None, acquired_at=None)
        )
        return int(freed.rowcount)

    def job_leases(self) -> list[JobLease]:
        """Every job's lease row, by job."""
        rows = self.conn.execute(sa.select(job_leases).order_by(job_leases.c.job))
        return [
            JobLease(
                job=row.job,
                holder=row.holder,
                expires_at=_aware(row.expires_at),
                acquired_at=_aware(row.acquired_at),
            )
            for row in rows
        ]

    def start_job_run(self, job: str, holder: str, day: dt.date, at: dt.datetime) -> int:
        """Record that *holder* starts a run of *job* for *day*; return its id."""
        result = self.conn.execute(
            sa.insert(job_runs).values(job=job, holder=holder, day=day, started_at=utc(at), outcome="running")
        )
        (run_id,) = result.inserted_primary_key or (None,)
        return int(run_id)  # type: ignore[arg-type]

    def finish_job_run(self, run_id: int, outcome: str, detail: str | None, at: dt.datetime) -> None:
        """Record how run *run_id* ended."""
        self.conn.execute(
            sa.update(job_runs)
            .where(job_runs.c.id == run_id)
            .values(outcome=outcome, detail=detail, finished_at=utc(at))
        )

    def prune_job_runs(self, before: dt.datetime) -> int:
        """Delete the runs that started before *before*; return how many."""
        gone = self.conn.execute(sa.delete(job_runs).where(job_runs.c.started_at < utc(before)))
        return int(gone.rowcount)

    def job_runs(
        self,
        *,
        job: str | None = None,
        day: dt.date | None = None,
        outcomes: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[JobRun]:
        """Runs, newest first: of *job*, for *day*, with one of *outcomes*."""
        query = sa.select(job_runs).order_by(job_runs.c.started_at.desc(), job_runs.c.id.desc())
        if job is not None:
            query = query.where(job_runs.c.job == job)
        if day is not None:
            query = query.where(job_runs.c.day == day)
        if outcomes is not None:
            query = query.where(job_runs.c.outcome.in_(list(outcomes)))
        if limit is not None:
            query = query.limit(limit)
        return [_run(row) for row in self.conn.execute(query)]

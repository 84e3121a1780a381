"""``klagomal worker``: the work that happens by itself, in one long-running
process (docs/drift.md): the outbox sent continuously, the reminders once
each working day, the mailboxes read at an interval, gallring on its
schedule.  Several workers on PostgreSQL or MariaDB share the jobs through
leases in the database, so that each job runs on one of them at a time;
SQLite allows one worker.

A face like :mod:`klagomal.cli` and :mod:`klagomal.web`: it calls the
facade, as the user it is started as, and holds no rule of its own.
"""

from __future__ import annotations

from klagomal.worker.runner import Worker, holder_name

__all__ = ["Worker", "holder_name"]

"""The audit log: who read or wrote what, when, and in which case (R27).

What is logged
--------------
Every read and every write of a person's data or of the text of a case
records one :class:`AuditEntry`: who (``user_id`` and the ``role`` they acted
in), when (``at``, UTC), what (``action``, a stable ASCII id such as
``"read"``, ``"register"``, ``"step"`` or ``"export"``, and a short
``detail``), the case (``reference``, if there is one), and whether it was
``allowed`` or ``denied``.  Every refused access is logged too, also for a
case that does not exist.  The log answers the question a registered person
may ask under the GDPR, and the one the kommun's own checks ask: who has
looked at this case, and who tried to.

The entries hold no personal data of the person a case is about: ``detail``
says *what* was done ("utdrag", "steg besked", "export 12 ärenden"), never
*with what* (no names, addresses, personnummer or case text).  That is the
caller's duty; this module cannot tell.  It is what lets the log outlive the
disposal (gallring) of the cases it mentions, and be shown to whoever audits
access without disclosing what the cases are about.

The hash chain and the head row
-------------------------------
The log is append-only, and tampering is detectable.  Each entry carries the
hash of the one before it (``prev_hash``; the first one chains to
:data:`GENESIS`) and its own ``hash``: SHA-256 of the canonical form of
``[prev_hash, id, at, user_id, role, action, outcome, reference, detail]``
(:func:`canonical`).  An edited field changes the hash of its row; a row
removed from the middle leaves a gap in the ids and a link that points
nowhere; a row inserted or moved is passed by: the link of the entry after
it names the one before it.

The last entry has no successor to betray it, so the one row of
``audit_head`` keeps the id and hash of the last entry: removing entries at
the end leaves the head pointing past the log, and a row added at the end
lies past the entry the head names.  The head is where :func:`verify`
starts: the chain is the path from the entry the head names, link by link,
down to :data:`GENESIS`, and every row off that path is reported.

The head row is also the lock that orders concurrent writers: :func:`append`
locks it (``SELECT ... FOR UPDATE``) before it numbers its entries, so two
transactions that log at the same moment append one after the other and
the chain never forks.  (The primary key on the id is a second guard: two
writers that both took the same number could not both store it.)  Entries
are numbered after the head, and a number that a row written behind
klagomal's back already holds is passed over: whoever can write to the
table can add rows that verify reports, but cannot stop the log, and so
every command, by taking the next number first.

Detecting is not preventing
---------------------------
Whoever can write to these tables can rewrite the chain from an edited row
onwards, hashes and head included; the chain alone then looks whole.  Two
things close that hole.

1. The application's database user should only be able to add to the log.
   Let another user own the schema and run ``klagomal init``, and grant the
   user klagomal runs as only INSERT and SELECT on ``audit_log`` and SELECT
   and UPDATE on ``audit_head`` (the lock needs UPDATE).  On PostgreSQL,
   where an owner keeps every privilege, the application must not connect as
   the owner::

       REVOKE ALL ON audit_log, audit_head FROM klagomal_app;
       GRANT SELECT, INSERT ON audit_log TO klagomal_app;
       GRANT SELECT, UPDATE ON audit_head TO klagomal_app;

   On MariaDB/MySQL a table-level REVOKE cannot take back what a grant on
   ``klagomal.*`` gave, so grant the application's tables one by one instead
   of the whole database, and these two like this (the REVOKEs only where
   more was granted on these tables before; MariaDB refuses to revoke a
   grant that does not exist)::

       REVOKE ALL PRIVILEGES ON klagomal.audit_log FROM 'klagomal_app'@'%';
       REVOKE ALL PRIVILEGES ON klagomal.audit_head FROM 'klagomal_app'@'%';
       GRANT SELECT, INSERT ON klagomal.audit_log TO 'klagomal_app'@'%';
       GRANT SELECT, UPDATE ON klagomal.audit_head TO 'klagomal_app'@'%';

   With exactly these grants klagomal appends and verifies, and the
   application's user is refused UPDATE, DELETE and TRUNCATE on the log.

   :func:`append` numbers the entries itself, so no privilege on the id's
   sequence is needed.  SQLite has no users: protect the file, and its
   backups, instead.

2. Run ``klagomal audit verify`` regularly (:func:`verify`), and keep the
   anchor it prints, the last entry's id and hash as ``id:hash``
   (:attr:`AuditVerification.anchor`), somewhere the database's users cannot
   reach, for example in the diarium.  A chain rewritten afterwards gives
   that entry another hash, which ``klagomal audit verify --anchor id:hash``
   (``verify(conn, anchors=[(id, hash)])``) reports, as it reports an anchor
   whose entry is gone.

The modules
-----------
Import from here.  :mod:`~klagomal.records.audit.chain` holds what an entry
is and how it is hashed, :mod:`~klagomal.records.audit.log` writes the log
and reads it back, and :mod:`~klagomal.records.audit.verification` checks
the chain.
"""

from klagomal.records.audit.chain import (
    ALLOWED,
    DENIED,
    GENESIS,
    MAX_DETAIL,
    AuditEntry,
    StoredAuditEntry,
    canonical,
    entry_hash,
)
from klagomal.records.audit.log import append, entries
from klagomal.records.audit.verification import MAX_PROBLEMS, AuditProblem, AuditVerification, verify

__all__ = [
    "ALLOWED",
    "DENIED",
    "GENESIS",
    "MAX_DETAIL",
    "MAX_PROBLEMS",
    "AuditEntry",
    "AuditProblem",
    "AuditVerification",
    "StoredAuditEntry",
    "append",
    "canonical",
    "entries",
    "entry_hash",
    "verify",
]

"""The SQLAlchemy storage backend: SQLite by default, any SQLAlchemy server too.

:class:`SqlStorage` opens the database and runs units of work on it;
:class:`SqlUnitOfWork` is one of them.  Import both from here.  The modules:

* :mod:`~klagomal.storage.sql.engine`: :class:`SqlStorage`, the engine, the
  schema check, transactions and their locks (lock wait, turns on a shared
  connection);
* :mod:`~klagomal.storage.sql.errors`: driver errors in klagomal's words;
* :mod:`~klagomal.storage.sql.unit_of_work`: :class:`SqlUnitOfWork`, made of
  the stores below;
* :mod:`~klagomal.storage.sql.cases`: cases, events and reference numbers;
* :mod:`~klagomal.storage.sql.received`: received messages and attachments;
* :mod:`~klagomal.storage.sql.outbox`: notices and reminders to send;
* :mod:`~klagomal.storage.sql.transfer`: export, restore and bulk import;
* :mod:`~klagomal.storage.sql.publications`: the public list of answered cases;
* :mod:`~klagomal.storage.sql.ops`: the counts operations watches (metrics);
* :mod:`~klagomal.storage.sql.rows`: what the stores share.
"""

from klagomal.storage.sql.engine import SqlStorage
from klagomal.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = ["SqlStorage", "SqlUnitOfWork"]

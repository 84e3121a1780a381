"""The SQLAlchemy storage backend: SQLite by default, any SQLAlchemy server too.

:class:`SqlStorage` opens the database and runs units of work on it;
:class:`SqlUnitOfWork` is one of them.  Import both from here.
"""

from klagomal.storage.sql.engine import SqlStorage, SqlUnitOfWork

__all__ = ["SqlStorage", "SqlUnitOfWork"]

"""Storage: the repository / unit-of-work interface and its SQLAlchemy backend.

Domain classes know nothing of storage.  Backends translate rows into
:class:`~klagomal.model.Case` and :class:`~klagomal.events.Event` values at
this boundary.
"""

from klagomal.storage.base import CaseQuery, Storage, StorageBackend, UnitOfWork

__all__ = ["CaseQuery", "Storage", "StorageBackend", "UnitOfWork"]

"""Storage: the repository / unit-of-work interface and its SQLAlchemy backend.

Domain classes know nothing of storage.  Backends translate rows into
:class:`~klagomal.core.model.Case` and :class:`~klagomal.core.events.Event` values at
this boundary.
"""

from klagomal.storage.base import CaseQuery, Storage, StorageBackend, UnitOfWork

__all__ = ["CaseQuery", "Storage", "StorageBackend", "UnitOfWork"]

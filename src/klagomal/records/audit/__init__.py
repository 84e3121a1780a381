"""The audit log (R27); for now the whole of it is in
:mod:`klagomal.records.audit.verification`."""

from klagomal.records.audit.verification import (
    ALLOWED,
    DENIED,
    GENESIS,
    MAX_DETAIL,
    MAX_PROBLEMS,
    AuditEntry,
    AuditProblem,
    AuditVerification,
    StoredAuditEntry,
    append,
    canonical,
    entries,
    entry_hash,
    verify,
)

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

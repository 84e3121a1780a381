"""Liveness and readiness, for a load balancer or an orchestrator.

*Liveness* (``/healthz``) says only that the process answers: nothing is
asked of the database, so that a database that is down does not make the
orchestrator restart every process in turn.

*Readiness* (``/readyz``) says whether the process can do its work now:

``database``
    the database answers, within :data:`READY_TIMEOUT` seconds (never a
    hang: a server that does not answer is "not ready" when they are up);
``schema``
    its schema is the one this version needs (the storage's
    ``check_schema()``: not initialised, older, newer, a plugin's tables
    missing), not checked when the database does not answer.

Each check has a short Swedish reason.  That reason is all that is served
over HTTP, to anyone: never the database's address or its own message
(:attr:`Check.detail` keeps that, for the process's own use).  A result is
reused for :data:`READY_FRESH` seconds, so that a flood of probes asks the
database at most once a second per process.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs

from klagomal.app import Klagomal
from klagomal.core.errors import SchemaError, TransientStorageError
from klagomal.core.i18n import _
from klagomal.observe.bounded import Bounded, Outcome
from klagomal.observe.logs import PUBLIC

__all__ = ["READY_FRESH", "READY_TIMEOUT", "Check", "Health", "Readiness", "liveness"]

log = logging.getLogger(__name__)

#: The most seconds a readiness check waits for the database.
READY_TIMEOUT = 3.0
#: How many seconds a readiness result is given again without asking the database.
READY_FRESH = 1.0


@attrs.frozen
class Check:
    """One check: its *name* (``database``, ``schema``), whether it is
    *ok*, a short Swedish *reason* that may be shown to anyone, and the
    whole *detail* of a failure (the storage's own message, which may name
    the database's address): for the process's log or a command, never
    served over HTTP."""

    name: str
    ok: bool
    reason: str
    detail: str = attrs.field(default="", repr=False)


@attrs.frozen
class Health:
    """A liveness or readiness result: *ok* when every check is."""

    ok: bool
    checks: tuple[Check, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """What ``/readyz`` answers: the status and each check's name, ok
        and reason (never its detail)."""
        return {
            "status": "ok" if self.ok else "fel",
            "checks": {check.name: {"ok": check.ok, "reason": check.reason} for check in self.checks},
        }


def liveness() -> Health:
    """The process answers: always ok (``/healthz``)."""
    return Health(ok=True)


def _not_ready(database: str, detail: str) -> Health:
    return Health(
        ok=False,
        checks=(
            Check("database", False, database, detail),
            Check("schema", False, _("inte kontrollerat: databasen svarar inte")),
        ),
    )


def judge(outcome: Outcome[None], timeout: float) -> Health:
    """The readiness that the outcome of ``check_schema()`` stands for."""
    if outcome.timed_out:
        return _not_ready(
            _("databasen svarade inte inom {seconds} s").format(seconds=f"{timeout:g}".replace(".", ",")),
            "",
        )
    error = outcome.error
    if error is None:
        return Health(
            ok=True,
            checks=(
                Check("database", True, _("databasen svarar")),
                Check("schema", True, _("schemat är aktuellt")),
            ),
        )
    if isinstance(error, TransientStorageError):
        return _not_ready(_("databasen är upptagen"), str(error))
    if isinstance(error, SchemaError) and error.__cause__ is None:
        # The storage read the schema's version and it is not the one needed
        # (a SchemaError caused by a driver's error is a database that could not be opened).
        return Health(
            ok=False,
            checks=(
                Check("database", True, _("databasen svarar")),
                Check(
                    "schema",
                    False,
                    _(
                        "databasens schema är inte det denna version behöver: kör klagomal init, "
                        "eller uppgradera klagomal"
                    ),
                    str(error),
                ),
            ),
        )
    # StorageUnavailableError (a server that cannot be reached, a refused
    # login), a SchemaError from a driver's error, or anything else.
    return _not_ready(_("databasen kan inte nås"), f"{type(error).__name__}: {error}")


class Readiness:
    """The readiness of the process working on *k*: :meth:`check` asks the
    storage's ``check_schema()``, waiting at most *timeout* seconds, and
    gives the same answer again for *fresh* seconds."""

    def __init__(self, k: Klagomal, *, timeout: float = READY_TIMEOUT, fresh: float = READY_FRESH) -> None:
        self.k = k
        self.timeout = timeout
        self._call: Bounded[None] = Bounded(
            k.storage.check_schema, timeout=timeout, fresh=fresh, name="klagomal-readiness"
        )
        self._was_ok = True  # a process starts ready; a change is logged

    def check(self) -> Health:
        """Whether the database answers and its schema is current."""
        result = judge(self._call(), self.timeout)
        if result.ok != self._was_ok:
            # A change is worth a line in the log (only the short reasons: no address).
            reasons = "; ".join(f"{c.name}: {c.reason}" for c in result.checks)
            if result.ok:
                log.info(_("klagomal: redo (%s)"), reasons, extra={PUBLIC: True})
            else:
                log.warning(_("klagomal: inte redo (%s)"), reasons, extra={PUBLIC: True})
            self._was_ok = result.ok
        return result

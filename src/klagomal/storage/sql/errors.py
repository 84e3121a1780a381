"""Driver errors in klagomal's words: a busy database, a deadlock, a server
that cannot be reached or refuses the login.

*Backend-specific*: the error codes below, and :func:`_classify` that reads
them.  Everything else in the backend runs unchanged on every database.
"""

from __future__ import annotations

import sqlalchemy as sa

from klagomal.core.errors import KlagomalError, StorageUnavailableError, TransientStorageError
from klagomal.core.i18n import _
from klagomal.storage.base import DEFAULT_LOCK_WAIT

__all__ = ["busy_error", "translated"]


#: *Backend-specific.*  Error codes that mean "run the transaction again":
#: PostgreSQL's serialization failure and deadlock (SQLSTATE), MariaDB/MySQL's
#: deadlock (error number).
_TRANSIENT_SQLSTATES = {"40001", "40P01"}
_TRANSIENT_MYSQL = {1213}
#: *Backend-specific.*  A lock held by another transaction longer than this
#: transaction's lock wait: PostgreSQL's lock_not_available (``lock_timeout``),
#: MariaDB/MySQL's lock wait timeout (``innodb_lock_wait_timeout``); SQLite
#: says "database is locked" when its busy timeout runs out.
_BUSY_SQLSTATES = {"55P03"}
_BUSY_MYSQL = {1205}
_BUSY_SQLITE = ("database is locked", "database table is locked")
#: Login refused: PostgreSQL's invalid authorization/password, MariaDB's access denied.
_LOGIN_SQLSTATES = {"28000", "28P01"}
_LOGIN_MYSQL = {1044, 1045, 1698}
#: The database named in the URL does not exist.
_NO_DATABASE_SQLSTATES = {"3D000"}
_NO_DATABASE_MYSQL = {1049}


def _classify(exc: sa.exc.DBAPIError, url: str, lock_wait: float | None = None) -> KlagomalError | None:
    """*Backend-specific.*  The klagomal error a driver's error stands for:
    :class:`TransientStorageError` for a deadlock, a serialization failure
    or a lock held longer than *lock_wait* seconds (the database is busy),
    :class:`StorageUnavailableError` for a server that cannot be reached or
    refuses the login; ``None`` for anything else."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg
    args = getattr(orig, "args", ())
    code = args[0] if args and isinstance(args[0], int) else None  # PyMySQL, mysqlclient
    text = str(orig)
    first = text.strip().splitlines()[0] if text.strip() else type(orig).__name__
    if sqlstate in _BUSY_SQLSTATES or code in _BUSY_MYSQL or any(words in text for words in _BUSY_SQLITE):
        return busy_error(url, DEFAULT_LOCK_WAIT if lock_wait is None else lock_wait, first)
    if sqlstate in _TRANSIENT_SQLSTATES or code in _TRANSIENT_MYSQL:
        return TransientStorageError(
            _("Databasen {url} avbröt transaktionen tillfälligt ({reason}); försök igen.").format(
                url=url, reason=first
            )
        )
    # psycopg reports a refused connection without a SQLSTATE; its text says why.
    lowered = text.lower()
    if (
        sqlstate in _LOGIN_SQLSTATES
        or code in _LOGIN_MYSQL
        or ("role" in lowered and "does not exist" in lowered)
        or "password authentication failed" in lowered
        or "no pg_hba.conf entry" in lowered
    ):
        hint = _("Kontrollera användarnamn och lösenord i databasadressen (--db eller KLAGOMAL_DB).")
    elif (
        sqlstate in _NO_DATABASE_SQLSTATES
        or code in _NO_DATABASE_MYSQL
        or ('database "' in lowered and "does not exist" in lowered)
    ):
        hint = _("Databasen finns inte på servern; skapa den först (till exempel CREATE DATABASE).")
    elif (
        exc.connection_invalidated
        or code in (2002, 2003, 2005, 2006, 2013)
        or (sqlstate is None and isinstance(exc, sa.exc.OperationalError) and _unreachable(text))
    ):
        hint = _("Kontrollera att databasservern är igång och att värd och port i databasadressen stämmer.")
    else:
        return None
    return StorageUnavailableError(
        _("Kan inte ansluta till databasen {url}: {reason}. {hint}").format(url=url, reason=first, hint=hint)
    )


def busy_error(url: str, lock_wait: float, reason: str) -> TransientStorageError:
    """The error of a unit of work that waited *lock_wait* seconds for a
    lock (or a connection) in vain: nothing was changed, and trying again
    in a while will do."""
    return TransientStorageError(
        _(
            "Databasen är upptagen, försök igen om en stund: en annan transaktion har hållit ett lås "
            "längre än {seconds} s, så ingenting ändrades ({url}: {reason})."
        ).format(seconds=_seconds(lock_wait), url=url, reason=reason)
    )


def _seconds(value: float) -> str:
    """Seconds as Swedes write them, to a tenth: 0,5 or 30."""
    return f"{max(value, 0.1):.1f}".removesuffix(".0").replace(".", ",")


def translated(exc: sa.exc.DBAPIError, url: str, lock_wait: float | None = None) -> KlagomalError | None:
    """The klagomal error *exc* stands for, if any.

    Earlier errors in the chain count too: MariaDB ends the whole
    transaction on a deadlock, savepoints included, so the ROLLBACK TO
    SAVEPOINT that follows fails (1305) and would hide the deadlock.
    """
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, sa.exc.DBAPIError) and (error := _classify(cause, url, lock_wait)) is not None:
            return error
        cause = cause.__context__
    return None


def _unreachable(text: str) -> bool:
    lowered = text.lower()
    return any(
        words in lowered
        for words in ("connection refused", "could not connect", "timeout expired", "timed out", "no route")
    )

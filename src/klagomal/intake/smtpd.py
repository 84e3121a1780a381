"""``klagomal serve-smtp``: a small SMTP or LMTP receiver for the kommun's
mail server to forward ``synpunkter@kommun.se`` to (aiosmtpd).

It answers ``250`` only after the message is stored in the database
(:func:`klagomal.intake.service.receive_email` has committed), so a message
is either stored or refused, never lost: if the database cannot take it, the
answer is ``451`` and the sending server keeps the message and tries again.
A database that is busy (a lock another transaction holds) is waited for at
most :data:`LOCK_WAIT` seconds, well within the time a sending server waits
for the answer.  Reply texts are ASCII, with Swedish letters written without
their dots and rings, as a client that did not ask for SMTPUTF8 must get
them.
A message stored twice (the ``250`` was lost and the server resent it) is
recognised by its Message-ID and counted once.  A message over the size
limit is refused with ``552`` before it is read.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
import unicodedata
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from klagomal.core.errors import TransientStorageError
from klagomal.core.i18n import _
from klagomal.intake.mailparse import MailLimits

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.app import Klagomal

__all__ = ["LOCK_WAIT", "IntakeHandler", "ascii_reply", "serve"]

log = logging.getLogger("klagomal.intake")

#: The most seconds a message waits for the database before the answer is
#: ``451``: a sending server waits minutes for the answer to DATA (RFC 5321
#: 4.5.3.2.6), and then keeps the message and tries again.
LOCK_WAIT = 20.0


def ascii_reply(text: str) -> str:
    """*text* as an SMTP reply may carry it to any client: one line of
    ASCII, with å, ä and ö as a, a and o (and likewise é, ü, ...), what has
    no such letter as ``?``, and line breaks and other control characters
    as spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(
        char if char.isprintable() else " " for char in decomposed if not unicodedata.combining(char)
    )
    return " ".join(plain.encode("ascii", "replace").decode("ascii").split())


class IntakeHandler:
    """The aiosmtpd handler: each message's bytes into the database."""

    def __init__(self, k: Klagomal, *, source: str = "smtp", lock_wait: float = LOCK_WAIT) -> None:
        self.k = k
        self.source = source
        self.lock_wait = lock_wait
        # One database write at a time keeps SQLite simple; a server backend
        # would take more, but a kommun's mail volume never needs it.
        self._lock = threading.Lock()

    def _receive(self, raw: bytes) -> str:
        # The wait for the other messages and for the database together.
        deadline = time.monotonic() + self.lock_wait
        if not self._lock.acquire(timeout=self.lock_wait):
            raise TransientStorageError(_("databasen är upptagen med andra meddelanden, försök igen senare"))
        try:
            k = self.k.with_lock_wait(max(deadline - time.monotonic(), 0.05))
            outcome = k.receive_email(raw, source=self.source)
        finally:
            self._lock.release()
        log.info("klagomal: %s: %s", outcome.message_key, outcome.describe())
        return outcome.describe()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        loop = asyncio.get_running_loop()
        try:
            description = await loop.run_in_executor(None, self._receive, raw)
        except TransientStorageError as exc:
            log.warning(
                _("klagomal: ett mottaget meddelande sparades inte; avsändaren försöker igen: %s"), exc
            )
            return "451 4.3.0 " + ascii_reply(
                _("databasen är upptagen, meddelandet är inte sparat; försök igen om en stund")
            )
        except Exception:
            log.exception(_("klagomal: ett mottaget meddelande kunde inte sparas; avsändaren försöker igen"))
            return "451 4.3.0 " + ascii_reply(_("meddelandet kunde inte sparas, försök igen senare"))
        return "250 2.0.0 " + ascii_reply(description)


class _IntakeSMTP(SMTP):
    # aiosmtpd reads through an asyncio stream whose buffer limit is this
    # line limit; with the RFC's 1,000 octets, this Python refuses a message
    # of short lines once more than that is buffered ("500 Line too long").
    # Real mail has long lines too (unwrapped HTML), and refusing them would
    # refuse a person's message, so the whole message size is the limit.
    line_length_limit = MailLimits().max_bytes + (1 << 20)


class _IntakeLMTP(LMTP):
    line_length_limit = _IntakeSMTP.line_length_limit


class _Controller(Controller):
    def __init__(self, handler: IntakeHandler, *, lmtp: bool, **kwargs: Any) -> None:
        self.lmtp = lmtp
        super().__init__(handler, **kwargs)

    def factory(self) -> SMTP:
        protocol = _IntakeLMTP if self.lmtp else _IntakeSMTP
        return protocol(
            self.handler,
            data_size_limit=MailLimits().max_bytes,
            enable_SMTPUTF8=True,
            hostname="klagomal",
            ident="klagomal intake",
        )


def serve(
    k: Klagomal,
    *,
    host: str = "127.0.0.1",
    port: int = 8025,
    lmtp: bool = False,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
    lock_wait: float = LOCK_WAIT,
) -> None:
    """Receive until SIGTERM, SIGINT, or *stop* is set; answer ``451`` to a
    message the database has not taken within *lock_wait* seconds."""
    controller = _Controller(IntakeHandler(k, lock_wait=lock_wait), lmtp=lmtp, hostname=host, port=port)
    controller.start()
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_args: stop.set())
    log.info("klagomal: receiving %s on %s:%s", "LMTP" if lmtp else "SMTP", host, port)
    if ready is not None:
        ready.set()
    try:
        stop.wait()
    finally:
        controller.stop()

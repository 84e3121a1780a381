"""What the intake stores about a received message (the table ``received_messages``)."""

from __future__ import annotations

import datetime as dt

import attrs

__all__ = ["LOG_OUTCOMES", "OUTCOMES", "IntakeLogEntry", "ReceivedMessage", "StoredAttachment"]

#: What became of a received message: a new case, a reply threaded into a
#: case, a machine-made message (auto-reply, bounce) that makes no case, or
#: the quarantine (it could not be read or registered, or it claims a case
#: its sender is not known to; a person looks at it).  ``attached`` is no
#: e-mail: a document a handler attached to a case (``klagomal attach``,
#: source ``bifogad``), kept here as the attachments of e-mail are
#: (:mod:`klagomal.cases.amendments`).  ``dismissed`` is a message a person
#: took out of the quarantine as no case (spam, a misdirected message), with
#: the reason they gave: kept whole, like every other message.
OUTCOMES = ("registered", "reply", "automatic", "quarantined", "attached", "dismissed")

#: What the intake log shows: the arrivals that became no case.  A
#: ``duplicate`` is a message that arrived again with the same bytes (the
#: table ``received_duplicates``); it changed nothing.
LOG_OUTCOMES = ("automatic", "duplicate", "quarantined")


@attrs.frozen
class StoredAttachment:
    """An attachment kept with a received message.  ``data`` is ``None`` only
    for a listing that leaves the bytes out (:meth:`~klagomal.Klagomal.attachments`);
    what was over the intake's limits is not kept as an attachment at all,
    but stays in the raw message."""

    filename: str | None
    content_type: str
    size: int
    data: bytes | None = None
    id: int | None = None


@attrs.frozen
class ReceivedMessage:
    """One received message, as stored, with its raw bytes.

    :param message_key: its Message-ID, or ``sha256:<digest>`` of the bytes
        when it has none or when a message with other bytes was stored
        under its Message-ID already; unique, so the same bytes are stored
        once, and other bytes never count as a message received before.
    :param source: where it came from: ``smtp``, ``maildir``, ``mbox`` or
        ``api``; ``bifogad`` for a document a handler attached.
    :param outcome: one of :data:`OUTCOMES`.
    :param reason: why it is in quarantine, or what made it automatic.
    :param reference: the case it registered or was threaded into.
    :param source_file: the file it was read from (``new/1700000000.eml``
        of a Maildir, ``synpunkter.mbox#3``, the file given to ``klagomal
        intake email``); ``None`` for SMTP and the library.
    """

    message_key: str
    received_at: dt.datetime
    source: str
    outcome: str
    size: int
    raw: bytes
    sender: str | None = None
    subject: str | None = None
    reason: str | None = None
    reference: str | None = None
    source_file: str | None = None
    id: int | None = None


@attrs.frozen
class IntakeLogEntry:
    """One arrival that became no case, for ``klagomal intake log``.

    :param outcome: one of :data:`LOG_OUTCOMES`.
    :param received_at: when it arrived (a duplicate: when it arrived again).
    :param message_id: the stored message's number (``list --quarantine``,
        ``intake release``); for a duplicate, the number of the message it
        repeats.
    :param reason: why it is automatic or in quarantine; for a duplicate,
        which message it repeats.
    :param reference: for a duplicate, the case the first arrival became, if any.
    """

    outcome: str
    received_at: dt.datetime
    source: str
    source_file: str | None
    message_id: int
    message_key: str
    sender: str | None
    subject: str | None
    reason: str | None
    reference: str | None = None

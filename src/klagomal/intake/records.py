"""What the intake stores about a received message (the table ``received_messages``)."""

from __future__ import annotations

import datetime as dt

import attrs

__all__ = ["OUTCOMES", "ReceivedMessage", "StoredAttachment"]

#: What became of a received message: a new case, a reply threaded into a
#: case, a machine-made message (auto-reply, bounce) that makes no case, or
#: the quarantine (it could not be read or registered, or it claims a case
#: its sender is not known to; a person looks at it).
OUTCOMES = ("registered", "reply", "automatic", "quarantined")


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
    :param source: where it came from: ``smtp``, ``maildir``, ``mbox`` or ``api``.
    :param outcome: one of :data:`OUTCOMES`.
    :param reason: why it is in quarantine, or what made it automatic.
    :param reference: the case it registered or was threaded into.
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
    id: int | None = None

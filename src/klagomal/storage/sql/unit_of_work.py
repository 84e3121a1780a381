"""One unit of work: one transaction on one connection, and every store that
reads and writes in it."""

from __future__ import annotations

from cattrs import Converter
from sqlalchemy.engine import Connection

from klagomal.storage.sql.api_keys import ApiKeyStore
from klagomal.storage.sql.follow import FollowTokenStore
from klagomal.storage.sql.idempotency import IdempotencyStore
from klagomal.storage.sql.jobs import JobStore
from klagomal.storage.sql.ops import OpsStore
from klagomal.storage.sql.outbox import OutboxStore
from klagomal.storage.sql.phrases import PhraseStore
from klagomal.storage.sql.publications import PublicationStore
from klagomal.storage.sql.received import ReceivedStore
from klagomal.storage.sql.related import RelatedStore
from klagomal.storage.sql.search import SearchStore
from klagomal.storage.sql.transfer import TransferStore
from klagomal.storage.sql.webhooks import WebhookStore

__all__ = ["SqlUnitOfWork"]


class SqlUnitOfWork(
    TransferStore,
    ReceivedStore,
    OutboxStore,
    SearchStore,
    RelatedStore,
    WebhookStore,
    ApiKeyStore,
    IdempotencyStore,
    PhraseStore,
    FollowTokenStore,
    PublicationStore,
    JobStore,
    OpsStore,
):
    """A unit of work on one SQLAlchemy connection inside a transaction.

    Its methods live with what they store: cases and events
    (:mod:`~klagomal.storage.sql.cases`, through
    :mod:`~klagomal.storage.sql.transfer`), received messages
    (:mod:`~klagomal.storage.sql.received`), the outbox
    (:mod:`~klagomal.storage.sql.outbox`), the search index
    (:mod:`~klagomal.storage.sql.search`), the related cases' look-ups
    (:mod:`~klagomal.storage.sql.related`), the webhooks
    (:mod:`~klagomal.storage.sql.webhooks`) and the HTTP API's keys
    (:mod:`~klagomal.storage.sql.api_keys`, :mod:`~klagomal.storage.sql.idempotency`)
    the phrase library (:mod:`~klagomal.storage.sql.phrases`), the links of
    "Följ ditt ärende" (:mod:`~klagomal.storage.sql.follow`), the published
    cases (:mod:`~klagomal.storage.sql.publications`), the worker's job
    leases and runs (:mod:`~klagomal.storage.sql.jobs`) and operations' counts
    (:mod:`~klagomal.storage.sql.ops`).
    """

    def __init__(self, conn: Connection, converter: Converter) -> None:
        self.conn = conn
        self.converter = converter

"""SQLAlchemy Core tables.

Kept here, out of the domain model, and translated into domain values by
:mod:`klagomal.storage.sql`.  The migrations in ``migrations/versions`` create
exactly these tables; a test checks that the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

__all__ = [
    "SCHEMA_HEAD",
    "SCHEMA_REVISIONS",
    "api_keys",
    "attachments",
    "audit_head",
    "audit_log",
    "case_dimensions",
    "cases",
    "disposals",
    "events",
    "external_ids",
    "follow_tokens",
    "idempotency_keys",
    "job_leases",
    "job_runs",
    "metadata",
    "notices",
    "phrases",
    "publications",
    "received_duplicates",
    "received_messages",
    "reference_counters",
    "reminders",
    "search_documents",
    "webhook_deliveries",
    "webhook_subscriptions",
]

#: Alembic revisions shipped with this version, oldest first.  Checked
#: against the migration scripts by a test; read without importing Alembic so
#: that every command can verify the schema cheaply.
SCHEMA_REVISIONS = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
    "0011",
    "0012",
    "0013",
    "0014",
    "0015",
    "0016",
    "0017",
    "0018",
    "0019",
)
SCHEMA_HEAD = SCHEMA_REVISIONS[-1]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Raw messages and attachments: MariaDB's BLOB holds only 64 KB.
Blob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")

# MariaDB/MySQL keep no fractional seconds unless asked to.
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("reference", sa.String(20), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("unit", sa.String(80), nullable=False),
    sa.Column("department", sa.String(80), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("level", sa.SmallInteger, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("received", sa.Date, nullable=False),
    sa.Column("registered", sa.Date, nullable=False),
    sa.Column("acknowledge_by", sa.Date, nullable=False),
    sa.Column("updated", sa.Date, nullable=False),
    sa.Column("respond_by", sa.Date),
    sa.Column("acknowledged", sa.Date),
    sa.Column("answered", sa.Date),
    sa.Column("answer_mode", sa.String(16)),
    sa.Column("closed", sa.Date),
    sa.Column("satisfied", sa.Boolean),
    sa.Column("serious", sa.Boolean, nullable=False),
    sa.Column("anonymous", sa.Boolean, nullable=False),
    sa.Column("handler", sa.String(200)),
    sa.Column("contact_name", sa.String(200)),
    sa.Column("contact_email", sa.String(320)),
    sa.Column("contact_phone", sa.String(40)),
    sa.Column("contact_address", sa.String(400)),
    # How the person wants to be reached: epost, brev or telefon.
    sa.Column("contact_preferred", sa.String(16)),
    sa.Column("forwards", sa.Integer, nullable=False),
    sa.Column("postponements", sa.Integer, nullable=False),
    sa.Column("late_postponements", sa.Integer, nullable=False),
    sa.Column("actions", sa.Integer, nullable=False),
    sa.Column("praise_passed_on", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("paused_since", sa.Date),
    # The legal ground when the case is secret (OSL), else NULL.
    sa.Column("secrecy", sa.String(200)),
    # Put right at once by the one who received it (R14, R29).
    sa.Column("resolved_at_once", sa.Boolean, nullable=False, server_default=sa.false()),
    # The register entry's short description (OSL 5 kap. 1 §), by the handler.
    sa.Column("summary", sa.String(300)),
    # The flags for abusive or threatening treatment that are set (R28),
    # comma-separated keys such as "hotfullt:kontakt"; NULL for none.
    sa.Column("threat_flags", sa.String(100)),
    # Twelve digits, validated at registration (klagomal.core.identity_numbers).
    sa.Column("contact_personnummer", sa.String(12)),
    # Skyddade personuppgifter: never shown to anyone not allowed to see it.
    sa.Column("contact_protected", sa.Boolean, nullable=False, server_default=sa.false()),
    # The contact's e-mail address and phone number in their normal forms
    # (klagomal.core.person_keys), written from the projection with every
    # event: the cases of one person are found by them (klagomal.cases.related).
    sa.Column("contact_email_key", sa.String(320)),
    sa.Column("contact_phone_key", sa.String(40)),
    # Where the case is about (klagomal.core.location, migration 0013): WGS84
    # degrees, SWEREF 99 TM (EPSG:3006) metres when computed, an address.
    # Double precision: MariaDB's FLOAT is single and would move a point by metres.
    sa.Column("location_latitude", sa.Double),
    sa.Column("location_longitude", sa.Double),
    sa.Column("location_northing", sa.Double),
    sa.Column("location_easting", sa.Double),
    sa.Column("location_address", sa.String(400)),
    # The language the person writes in and gets letters in (lag 2009:724,
    # klagomal.core.i18n, migration 0018): "sv", "en" or a kommun's own code.
    sa.Column("language", sa.String(16), nullable=False, server_default="sv"),
    # Worklists filter by unit and state, and a unit's overdue list by its
    # deadlines too: without the deadline in the index, the plan reads every
    # overdue case in the kommun and keeps the unit's.
    sa.Index(None, "unit", "state", "acknowledge_by"),
    sa.Index(None, "unit", "state", "respond_by"),
    sa.Index(None, "handler", "state"),
    sa.Index(None, "state", "acknowledge_by"),
    sa.Index(None, "state", "respond_by"),
    # Reports group by period, förvaltning and kind.
    sa.Index(None, "received"),
    sa.Index(None, "department", "kind"),
    sa.Index(None, "department", "received"),
    # The same person's cases (by any of the three keys) and a unit's
    # recent cases, for the related cases (migration 0010).
    sa.Index(None, "contact_email_key"),
    sa.Index(None, "contact_phone_key"),
    sa.Index(None, "contact_personnummer"),
    sa.Index(None, "unit", "received"),
)

case_dimensions = sa.Table(
    "case_dimensions",
    metadata,
    sa.Column("reference", sa.String(20), sa.ForeignKey("cases.reference"), primary_key=True),
    sa.Column("dimension", sa.String(40), primary_key=True),
    sa.Column("position", sa.SmallInteger, nullable=False),
    sa.Index(None, "dimension"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("reference", sa.String(20), sa.ForeignKey("cases.reference"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("recorded_at", Timestamp, nullable=False),
    sa.Column("actor", sa.String(200)),
    sa.Column("payload", sa.Text, nullable=False),
    sa.UniqueConstraint("reference", "seq"),
)

# The outbox: every notice an event gives rise to, to the person or to staff
# (klagomal.notices.outbox).  Written in the same transaction as the event, so none
# is ever lost; delivered afterwards by ``klagomal deliver``.  The attempt is
# recorded ('sending') before a notifier is called, so a crash never causes a
# second send.  ``message_id`` is fixed when the row is written, so every
# attempt carries the same Message-ID and replies can be threaded back.
notices = sa.Table(
    "notices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("reference", sa.String(20), sa.ForeignKey("cases.reference"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    # Who it is for: person, chef, forvaltningschef, namnd, personal-1, ...
    sa.Column("recipient", sa.String(40), nullable=False, server_default="person"),
    # epost, brev or uppgift (a task for the handler); NULL for rows never delivered by klagomal.
    sa.Column("way", sa.String(16)),
    sa.Column("message_id", sa.String(250)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt", Timestamp),
    sa.Column("attempted_at", Timestamp),
    sa.Column("sent_at", Timestamp),
    # Where it went: the e-mail or postal address used.
    sa.Column("address", sa.String(400)),
    sa.Column("last_error", sa.Text),
    sa.UniqueConstraint("reference", "seq", "recipient"),
    sa.Index(None, "status", "next_attempt"),
    sa.Index(None, "message_id"),
)

# The id a case had in the system it was imported from (bulk import): the
# primary key is what makes a rerun or a resumed import store nothing twice.
external_ids = sa.Table(
    "external_ids",
    metadata,
    sa.Column("external_id", sa.String(200), primary_key=True),
    sa.Column("reference", sa.String(20), sa.ForeignKey("cases.reference"), nullable=False, unique=True),
)

reference_counters = sa.Table(
    "reference_counters",
    metadata,
    sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last", sa.Integer, nullable=False),
)

# Reminders to handlers and breach alerts to managers (``klagomal remind``).
# One row per case, deadline, due date and kind of alert: the unique key is
# what makes a second run on the same day send nothing twice.  The row is
# written before anything is sent ('pending'), marked 'sending' before the
# notifier is called and 'sent' after, so a crash never causes a resend.
reminders = sa.Table(
    "reminders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("reference", sa.String(20), sa.ForeignKey("cases.reference"), nullable=False),
    sa.Column("deadline", sa.String(8), nullable=False),
    sa.Column("due", sa.Date, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("recipient", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("email", sa.String(320)),
    sa.Column("created", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("sent_at", Timestamp),
    sa.UniqueConstraint("reference", "deadline", "due", "kind"),
    sa.Index(None, "status"),
)


# Every message the intake received (klagomal.intake): its raw bytes exactly
# as they arrived, whatever became of it.  ``message_key`` is the Message-ID,
# or a digest of the bytes when there is none: the unique key is what makes
# a message received twice (a resend, a rerun of a mailbox) count once.
# ``outcome`` is registered, reply, automatic or quarantined.
received_messages = sa.Table(
    "received_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_key", sa.String(250), nullable=False, unique=True),
    sa.Column("received_at", Timestamp, nullable=False),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("sender", sa.String(320)),
    sa.Column("subject", sa.String(400)),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("reference", sa.String(20), sa.ForeignKey("cases.reference")),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("raw", Blob, nullable=False),
    # The file it was read from (a Maildir entry, an mbox and its key, a
    # file given to 'intake email'); NULL for SMTP and the library.
    sa.Column("source_file", sa.String(1000)),
    sa.Index(None, "outcome", "received_at"),
)

# Each time a message stored already arrived again (the same bytes): a
# duplicate changes nothing, but 'klagomal intake log' shows that it came.
received_duplicates = sa.Table(
    "received_duplicates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.Integer, sa.ForeignKey("received_messages.id"), nullable=False),
    sa.Column("received_at", Timestamp, nullable=False),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("source_file", sa.String(1000)),
    sa.Index(None, "received_at"),
    sa.Index(None, "message_id"),
)

# Attachments of received messages, with their declared type and size; the
# data is NULL when it was over the limits (it is still in the raw message).
attachments = sa.Table(
    "attachments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.Integer, sa.ForeignKey("received_messages.id"), nullable=False),
    sa.Column("reference", sa.String(20), sa.ForeignKey("cases.reference")),
    sa.Column("filename", sa.String(255)),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("data", Blob),
    sa.Index(None, "reference"),
)


# The audit log (klagomal.records.audit): who read or wrote personal data or case
# text, when, what, and in which case; also every denial.  Append-only, and
# each entry carries the hash of the one before it, so an edited, removed or
# inserted row breaks the chain (``klagomal audit verify``).  No foreign key:
# a denied request for a case that does not exist is logged too.  The entries
# hold no personal data of the person, so disposal never touches them.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    # allowed or denied
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("reference", sa.String(20)),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index(None, "reference"),
    sa.Index(None, "user_id", "at"),
)

# The head of the audit chain: one row (id 1), locked by every writer of
# the log, so that concurrent writers append one after the other and the
# chain never forks.  It also lets verify notice rows cut off the end.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_id", sa.Integer, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
)

# What disposal (gallring) and anonymisation removed: which case, under
# which rule and decision, what was done, by whom and when (R27).
disposals = sa.Table(
    "disposals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("reference", sa.String(20), sa.ForeignKey("cases.reference"), nullable=False),
    sa.Column("rule", sa.String(80), nullable=False),
    sa.Column("decision", sa.String(200), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Index(None, "reference"),
)

# The search index (klagomal.cases.search): the words of a case, one row per
# view of it.  A case has one row; a case whose person has skyddade
# personuppgifter, or with texts marked secret, has one row for each way a
# reader may see it (with and without the protected identity, with and
# without the secret texts), flagged, so that a search matches only what its
# user may see.  ``body`` holds the reference, texts, names and e-mail
# addresses as lower-case words.  Each database indexes it with its own
# full-text engine, made by migration 0009 (not by this metadata): an FTS5
# table kept by triggers on SQLite, a ``tsvector`` column with a GIN index
# on PostgreSQL, a FULLTEXT index on MariaDB.  Written in the transaction
# of each event (klagomal.storage.sql.search).
search_documents = sa.Table(
    "search_documents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("reference", sa.String(20), sa.ForeignKey("cases.reference"), nullable=False),
    sa.Column("protected", sa.Boolean, nullable=False),
    sa.Column("secret", sa.Boolean, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Index(None, "reference"),
)

# Webhooks (klagomal.notices.webhooks): a system's URL subscribed to event
# types, bound to a user of the organisation file whose access decides what
# a payload carries.  ``secret`` is the signing key (``whsec_...``), kept so
# that it can sign; ``removed_at`` is set when the subscription is removed
# (its deliveries stay, for the record).
webhook_subscriptions = sa.Table(
    "webhook_subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("user_id", sa.String(200), nullable=False),
    # Event type ids separated by commas, or "*" for every type.
    sa.Column("events", sa.Text, nullable=False),
    sa.Column("secret", sa.String(200), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("removed_at", Timestamp),
)

# One delivery of one event to one subscription: written in the transaction
# of the event (klagomal.storage.sql.webhooks), so that none is lost, and
# sent afterwards by ``klagomal webhook deliver``.  ``webhook_id`` is the
# ``webhook-id`` header: the same on every attempt, unique per subscriber
# and event.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("webhook_id", sa.String(80), nullable=False),
    sa.Column("subscription_id", sa.Integer, sa.ForeignKey("webhook_subscriptions.id"), nullable=False),
    sa.Column("reference", sa.String(20), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("event_type", sa.String(40), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("next_attempt", Timestamp),
    sa.Column("attempted_at", Timestamp),
    sa.Column("sent_at", Timestamp),
    sa.Column("response_status", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.UniqueConstraint("webhook_id"),
    sa.Index(None, "status", "next_attempt"),
    sa.Index(None, "subscription_id"),
)

# The API keys of the HTTP API (klagomal.web): one per system that calls it,
# each acting as one user of the organisation file.  Only the SHA-256 of the
# key is kept (the key is 256 random bits, so a plain hash is enough: there is
# nothing to guess); ``prefix``, the key's first characters, lets a handler
# tell keys apart in ``klagomal apikey list`` without the key itself.  A
# revoked key keeps its row (``revoked``), so that the audit log's entries
# made with it can still be traced to the system.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("created", Timestamp, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("revoked", Timestamp),
    sa.Column("revoked_by", sa.String(200)),
    sa.UniqueConstraint("hash"),
)

# The answers of the HTTP API's POSTs by their Idempotency-Key (klagomal.web):
# a retry with the same key gets the first answer, and nothing is done twice.
# ``scope`` is the calling system (a hash of its API key), ``request`` a hash
# of what was asked (the path and the body), so that the same key with
# another request is refused.  ``status`` is NULL while the first request
# runs.  An answer holds what the case held (a contact too), so it is kept
# only a day (klagomal.storage.sql.idempotency.KEPT).
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("scope", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("request", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer),
    sa.Column("headers", sa.Text),
    sa.Column("body", Blob),
    sa.Column("created", Timestamp, nullable=False),
    sa.Index(None, "created"),
)

# The phrase library (R23, klagomal.notices.phrases): each förvaltning's
# ready wordings for its letters.  A row is never deleted: ``retired_at``
# hides a phrase no longer wanted.
phrases = sa.Table(
    "phrases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("department", sa.String(80), nullable=False, index=True),
    sa.Column("purpose", sa.String(20), nullable=False),
    sa.Column("title", sa.String(120), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_by", sa.String(200)),
    sa.Column("updated_at", Timestamp),
    sa.Column("retired_at", Timestamp),
)


# The private links of "Följ ditt ärende" (klagomal.cases.follow, migration
# 0016): only the SHA-256 of the link's token is kept (the token is 256
# random bits, so a plain hash is enough: there is nothing to guess), never
# the token.  One live row per case: issuing a new link revokes the old one,
# which keeps its row (``revoked_at``) for the audit log's sake.
follow_tokens = sa.Table(
    "follow_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("reference", sa.String(20), sa.ForeignKey("cases.reference"), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("revoked_at", Timestamp),
    sa.UniqueConstraint("hash"),
    sa.Index(None, "reference"),
)


# The public list of answered cases (klagomal.records.publication, migration
# 0017): one row each time a case was published, with the person's
# description and the answer as they were published, masked and frozen;
# ``withdrawn_at`` is set when a handler withdraws it or when the case is
# marked secret or its person gets skyddade personuppgifter.  A case has at
# most one row that is not withdrawn.
publications = sa.Table(
    "publications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("reference", sa.String(20), sa.ForeignKey("cases.reference"), nullable=False),
    sa.Column("department", sa.String(80), nullable=False),
    sa.Column("published_at", Timestamp, nullable=False),
    sa.Column("published_by", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("withdrawn_at", Timestamp),
    sa.Column("withdrawn_by", sa.String(200)),
    sa.Column("withdrawn_reason", sa.Text),
    sa.Index(None, "reference"),
    sa.Index(None, "withdrawn_at", "published_at"),
)


# The worker's jobs (klagomal.worker, migration 0019).  ``job_leases``: one
# row per job, naming the worker that leads it and until when; a worker
# takes a job only when the row is free, its own, or expired, in one
# conditional UPDATE, so two workers never lead one job.  ``job_runs``: every
# run with its outcome; ``day`` is the kommun's local date the run was for,
# which decides whether a daily job has run today.
job_leases = sa.Table(
    "job_leases",
    metadata,
    sa.Column("job", sa.String(40), primary_key=True),
    sa.Column("holder", sa.String(200)),
    sa.Column("expires_at", Timestamp),
    sa.Column("acquired_at", Timestamp),
)

job_runs = sa.Table(
    "job_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job", sa.String(40), nullable=False),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Index(None, "job", "day"),
    sa.Index(None, "job", "outcome", "started_at"),
)

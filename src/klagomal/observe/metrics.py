"""Prometheus metrics, with the kept client library ``prometheus_client``
(the extra ``ops``); their names, meanings and labels are listed in
docs/web.md, "Health, metrics and logs".

Each application (the web application, a worker) has a registry of its own
(:func:`new_registry`), never the library's process-wide default, so that
two applications in one process, or the tests, share nothing.  In it:

* :class:`OperationsCollector`: read when scraped, the numbers of
  :meth:`klagomal.Klagomal.operations_counts` (the outbox by status, failed
  deliveries, the quarantine, overdue cases by förvaltning), each counted
  through an index, and kept :data:`COUNTS_FRESH` seconds so that a storm
  of scrapes reads the database at most once in that time; a database that
  does not answer within :data:`COUNTS_TIMEOUT` seconds gives
  ``klagomal_operations_counts_ok 0`` and no counts, never a hung scrape;
* :class:`RequestMetrics`: the HTTP requests by method, route template and
  status (the web application's :mod:`klagomal.web.observe`);
* the process's CPU, memory and open files (``process_*``).

Label values are never a path, a reference, a name or anything a client
sent: a route is its template (``/folj/{token}``), a method one of
:data:`klagomal.observe.logs.METHODS` or ``other``, a förvaltning its id
in the organisation file.

Who may read them is :func:`may_read_metrics`: the same machine, or the
holder of ``KLAGOMAL_METRICS_TOKEN``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from klagomal.app import Klagomal
from klagomal.core.errors import ConfigurationError
from klagomal.core.i18n import _
from klagomal.observe.bounded import Bounded
from klagomal.observe.logs import method_label
from klagomal.storage.sql.ops import FAILED_KINDS, OUTBOX_STATUSES, OperationsCounts

__all__ = [
    "CACHE_VARIABLE",
    "COUNTS_FRESH",
    "COUNTS_TIMEOUT",
    "PROXY_HEADERS",
    "REFUSED_TYPE",
    "TOKEN_VARIABLE",
    "UNMATCHED",
    "OperationsCollector",
    "RequestMetrics",
    "counts_fresh",
    "counts_metrics",
    "exposition",
    "job_metrics",
    "may_read_metrics",
    "metrics_refusal",
    "metrics_token",
    "new_registry",
]

#: How many seconds the counts read from the database are served again.
COUNTS_FRESH = 15.0
#: The most seconds a scrape waits for the counts.
COUNTS_TIMEOUT = 5.0
#: The environment variable that sets :data:`COUNTS_FRESH` (seconds, 0 or more).
CACHE_VARIABLE = "KLAGOMAL_METRICS_CACHE"
#: The environment variable whose value, sent as ``Authorization: Bearer``,
#: lets a request from anywhere read ``/metrics``.
TOKEN_VARIABLE = "KLAGOMAL_METRICS_TOKEN"
#: The route label of a request no route took (no such address, a method
#: not allowed): never its path.
UNMATCHED = "unmatched"
#: The problem type of a refused ``/metrics`` (as the HTTP API's access-denied).
REFUSED_TYPE = "urn:klagomal:problem:access-denied"


# -- configuration ------------------------------------------------------------------------


def counts_fresh(environ: Mapping[str, str] | None = None) -> float:
    """:data:`CACHE_VARIABLE`'s seconds, or :data:`COUNTS_FRESH`.

    :raises ConfigurationError: a value that is no number of seconds.
    """
    env = os.environ if environ is None else environ
    text = env.get(CACHE_VARIABLE, "").strip()
    if not text:
        return COUNTS_FRESH
    try:
        seconds = float(text.replace(",", "."))
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise ConfigurationError(
            _("{variable} ska vara ett antal sekunder från 0 till 3600, inte '{value}'").format(
                variable=CACHE_VARIABLE, value=text
            )
        )
    return seconds


def metrics_token(environ: Mapping[str, str] | None = None) -> str | None:
    """:data:`TOKEN_VARIABLE`'s value; ``None`` when it is not set."""
    env = os.environ if environ is None else environ
    return env.get(TOKEN_VARIABLE, "").strip() or None


# -- who may read them --------------------------------------------------------------------


def _loopback(peer: str | None) -> bool:
    if not peer:
        return False
    try:
        return ipaddress.ip_address(peer.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def may_read_metrics(
    *, peer: str | None, authorization: str | None, token: str | None, proxied: bool
) -> bool:
    """Whether a request may read ``/metrics``.

    With a *token* (:data:`TOKEN_VARIABLE`): only one that sends it as
    ``Authorization: Bearer <token>`` (compared in constant time), from
    wherever it comes.  Without one: only a *peer* on the loopback
    address, the same machine, and not *proxied*: a request that a reverse
    proxy passed on (its ``Forwarded`` or ``X-Forwarded-For`` header, or a
    peer among ``KLAGOMAL_TRUSTED_PROXIES``) comes from somewhere else.
    """
    if token is not None:
        scheme, _space, sent = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not sent.strip():
            return False
        return hmac.compare_digest(sent.strip().encode("utf-8", "replace"), token.encode("utf-8", "replace"))
    return _loopback(peer) and not proxied


#: Headers a reverse proxy sets on a request it passes on.
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def metrics_refusal(token: str | None) -> dict[str, Any]:
    """The problem (RFC 9457) of a refused ``/metrics``, in Swedish: the
    same from the web application and from :mod:`klagomal.observe.server`."""
    if token is not None:
        detail = _(
            "mätvärdena visas bara med nyckeln i KLAGOMAL_METRICS_TOKEN, skickad som Authorization: Bearer"
        )
    else:
        detail = _(
            "mätvärdena visas bara för anrop från samma dator (loopback), inte genom en omvänd proxy; "
            "sätt KLAGOMAL_METRICS_TOKEN för att läsa dem från en annan"
        )
    return {"type": REFUSED_TYPE, "title": _("Åtkomst nekad"), "status": 403, "detail": detail}


# -- the counts -----------------------------------------------------------------------------


def _gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def counts_metrics(counts: OperationsCounts) -> Iterator[Metric]:
    """The metrics of *counts*: the outbox, failed deliveries, the
    quarantine, overdue cases."""
    outbox = _gauge("klagomal_outbox_notices", "Notices in the outbox, by status.", ["status"])
    for status in OUTBOX_STATUSES:
        outbox.add_metric([status], counts.outbox.get(status, 0))
    yield outbox
    failed = _gauge(
        "klagomal_failed_deliveries",
        "Notices, reminders and webhook deliveries that failed and wait for a person.",
        ["kind"],
    )
    for kind in FAILED_KINDS:
        failed.add_metric([kind], counts.failed.get(kind, 0))
    yield failed
    quarantine = _gauge("klagomal_quarantined_messages", "Received messages in quarantine.")
    quarantine.add_metric([], counts.quarantined)
    yield quarantine
    overdue = _gauge(
        "klagomal_overdue_cases", "Open cases past their deadline today, by förvaltning id.", ["department"]
    )
    for department, number in sorted(counts.overdue.items()):
        overdue.add_metric([department], number)
    yield overdue


def job_metrics(counts: OperationsCounts) -> Iterator[Metric]:
    """``klagomal_job_last_success_timestamp_seconds{job}``: when each job
    of ``klagomal worker`` last ran to its end, from
    :attr:`OperationsCounts.job_last_success` (filled by the storage's
    :meth:`~klagomal.storage.sql.ops.OpsStore.job_last_success`; without
    the worker's job tables it has no samples)."""
    last = _gauge(
        "klagomal_job_last_success_timestamp_seconds",
        "When each job of the worker last ran to its end (Unix time).",
        ["job"],
    )
    for job, at in sorted(counts.job_last_success.items()):
        moment = at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
        last.add_metric([job], moment.timestamp())
    yield last


class OperationsCollector(Collector):
    """The counts of :meth:`klagomal.Klagomal.operations_counts`, read when
    scraped, at most once every *fresh* seconds, waited for at most
    *timeout* seconds."""

    def __init__(self, k: Klagomal, *, fresh: float = COUNTS_FRESH, timeout: float = COUNTS_TIMEOUT) -> None:
        self.k = k
        self.counts: Bounded[OperationsCounts] = Bounded(
            k.operations_counts, timeout=timeout, fresh=fresh, name="klagomal-metrics"
        )

    def describe(self) -> Iterable[Metric]:
        return ()  # registering must not read the database

    def collect(self) -> Iterable[Metric]:
        outcome = self.counts()
        ok = _gauge(
            "klagomal_operations_counts_ok",
            "1 when the counts below were read from the database, 0 when it did not answer in time.",
        )
        counts = outcome.value
        ok.add_metric([], 0 if counts is None else 1)
        yield ok
        if counts is None:
            return
        yield from counts_metrics(counts)
        yield from job_metrics(counts)


# -- the requests -------------------------------------------------------------------------


class RequestMetrics:
    """The HTTP requests of an application, in *registry*:
    ``klagomal_http_requests_total`` and
    ``klagomal_http_request_duration_seconds``, by method, route template
    and status."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["method", "route", "status"]
        self.requests = Counter(
            "klagomal_http_requests",
            "HTTP requests, by method, route template and status.",
            labels,
            registry=registry,
        )
        self.duration = Histogram(
            "klagomal_http_request_duration_seconds",
            "How long HTTP requests took to answer, by method, route template and status.",
            labels,
            registry=registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request; *route* is its template or :data:`UNMATCHED`, never its path."""
        values = (method_label(method), route, str(status))
        self.requests.labels(*values).inc()
        self.duration.labels(*values).observe(seconds)


# -- the registry -----------------------------------------------------------------------------


def new_registry(k: Klagomal, *, fresh: float | None = None) -> CollectorRegistry:
    """A registry of the application's own on *k*: the counts
    (:class:`OperationsCollector`, kept *fresh* seconds, by default
    :func:`counts_fresh`) and the process's CPU, memory and open files.
    The web application adds its requests (:class:`RequestMetrics`)."""
    registry = CollectorRegistry()
    registry.register(OperationsCollector(k, fresh=counts_fresh() if fresh is None else fresh))
    ProcessCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The metrics of *registry* in Prometheus's text format, and its media type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST

"""``klagomal worker`` (the jobs that run by themselves, :mod:`klagomal.worker`)
and ``klagomal jobs`` (who leads each job, and how its runs went)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
import signal
import sys
from collections.abc import Iterator
from typing import Any

from klagomal.cli.base import CommandGroup, Output, local_time, open_klagomal, table_lines
from klagomal.core.i18n import _
from klagomal.core.jobs import JOBS, JobRun, job_label

__all__ = ["commands"]

commands = CommandGroup(__name__)


def _worker_name(value: str) -> str:
    """An argparse type: a name for the leases and the log, as a host name is written."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", value):
        return value
    raise argparse.ArgumentTypeError(
        _("'{value}' är inget namn för en arbetare (bokstäver a-z, siffror, . _ -; högst 63 tecken)").format(
            value=value
        )
    )


def _listen(value: str) -> tuple[str, int]:
    """An argparse type: ``HOST:PORT`` to answer health and metrics on."""
    from klagomal.core.errors import InvalidInputError
    from klagomal.observe.server import listen_address

    try:
        return listen_address(value)
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


@contextlib.contextmanager
def _worker_log(json_lines: bool) -> Iterator[logging.Logger]:
    """The worker's log on stderr, from INFO: each run with its outcome.  Not
    through the command's own stderr log, which shows warnings only.  As
    JSON lines without personal data with *json_lines* (:mod:`klagomal.observe.logs`)."""
    if json_lines:
        from klagomal.observe.logs import use_json_logs

        logger = logging.getLogger("klagomal.worker")
        saved_level = logger.level
        logger.setLevel(logging.INFO)
        restore = use_json_logs()
        try:
            yield logger
        finally:
            restore()
            logger.setLevel(saved_level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("klagomal.worker")
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _worker_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--job",
        dest="jobs",
        action="append",
        choices=JOBS,
        metavar="JOBB",
        help=_("bara detta jobb: {jobs}; kan anges flera gånger (standard: alla)").format(
            jobs=", ".join(JOBS)
        ),
    )
    p.add_argument(
        "--once",
        action="store_true",
        help=_("kör de jobb som står på tur en gång och avsluta (i stället för att köra tills den stoppas)"),
    )
    p.add_argument(
        "--listen",
        type=_listen,
        metavar="VÄRD:PORT",
        help=_(
            "svara på /healthz, /readyz och /metrics (Prometheus) på denna adress, till exempel "
            "127.0.0.1:9101 (standard: inte alls)"
        ),
    )
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=None,
        help=_(
            "loggen som text (standard) eller som JSON-rader utan personuppgifter "
            "(standard: miljövariabeln KLAGOMAL_LOG_FORMAT, annars text)"
        ),
    )
    p.add_argument(
        "--name",
        type=_worker_name,
        metavar="NAMN",
        help=_("arbetarens namn i ledarskapet och loggen (standard: datorns namn)"),
    )


@commands.command(
    "worker",
    _("kör utskick, påminnelser, brevlådor och gallring av sig själv, tills den stoppas (SIGTERM)"),
    _worker_arguments,
)
def _cmd_worker(args: argparse.Namespace, out: Output) -> int:
    from klagomal.observe.logs import PUBLIC, log_format
    from klagomal.worker import Worker

    with _worker_log(log_format(args.log_format) == "json") as logger, open_klagomal(args) as k:
        worker = Worker(k, jobs=args.jobs, name=args.name)
        worker.check()
        observed = None
        if args.listen:
            from klagomal.observe.metrics import new_registry
            from klagomal.observe.server import start_observe_server

            host, port = args.listen
            observed = start_observe_server(k, host, port, new_registry(k))
            logger.info(
                _("svarar på http://%s:%d/healthz, /readyz och /metrics"),
                host,
                observed.port,
                extra={PUBLIC: True},
            )

        def stop(signum: int, _frame: Any) -> None:
            logger.info(_("stoppar efter jobbet som pågår (signal %d)"), signum, extra={PUBLIC: True})
            worker.stop()

        if not args.once:
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            logger.info(
                _("arbetaren %s kör %s; SIGTERM eller Ctrl-C avslutar"),
                worker.holder,
                ", ".join(job_label(j) for j in worker.jobs) or "-",
                extra={PUBLIC: True},
            )
        try:
            worker.run(once=args.once)
        finally:
            if observed is not None:
                observed.stop()
    out.emit({"holder": worker.holder, "jobs": worker.jobs}, _("arbetaren har stannat"))
    return 0


def _run_row(run: JobRun | None, zone: Any) -> list[str]:
    if run is None:
        return ["-", "-", "-"]
    return [local_time(run.started_at, zone), run.outcome, run.detail or "-"]


def _jobs_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--runs", metavar="JOBB", choices=JOBS, help=_("visa de senaste körningarna av detta jobb")
    )


@commands.command(
    "jobs", _("visa vilken arbetare som leder varje jobb och hur körningarna gick"), _jobs_arguments
)
def _cmd_jobs(args: argparse.Namespace, out: Output) -> int:
    with open_klagomal(args) as k:
        zone = k.clock.now().tzinfo
        if args.runs:
            runs = k.job_runs(args.runs, limit=20)
            rows = [[_("Start"), _("Utfall"), _("Arbetare"), _("Detaljer")]]
            rows += [[local_time(r.started_at, zone), r.outcome, r.holder, r.detail or "-"] for r in runs]
            out.emit({"runs": [k.converter.unstructure(r) for r in runs]}, "\n".join(table_lines(rows)))
            return 0
        status = k.job_status()
    rows = [
        [
            _("Jobb"),
            _("Leds av"),
            _("Till"),
            _("Senaste körning"),
            _("Utfall"),
            _("Detaljer"),
            _("Senast lyckad"),
        ]
    ]
    for s in status:
        lease = s.lease
        holder = lease.holder if lease and lease.holder else "-"
        until = local_time(lease.expires_at, zone) if lease and lease.holder and lease.expires_at else "-"
        success = local_time(s.last_success.started_at, zone) if s.last_success else "-"
        rows.append([job_label(s.job), holder, until, *_run_row(s.last_run, zone), success])
    out.emit(
        {"jobs": [k.converter.unstructure(s) for s in status]},
        "\n".join(table_lines(rows)),
    )
    return 0

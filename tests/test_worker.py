"""``klagomal worker`` (issue 23): the schedule, the job leases on every
backend, and the worker as a process: it sends the outbox by itself, stops
on SIGTERM after the job in hand and gives its jobs up, refuses a second
worker on SQLite, and a second worker takes the jobs of one that was killed.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from klagomal import Klagomal
from klagomal.core.errors import OrganisationError
from klagomal.core.jobs import GALLRING, JOBS, OUTBOX, REMINDERS, JobRun, WorkerSettings
from klagomal.core.organisation import load_organisation
from klagomal.deadlines.policies import is_working_day
from klagomal.worker import schedule
from klagomal.worker.jobs import JOB_OPERATIONS, RUNNERS
from test_web_server import SRC, child_env

ORG_FILE = Path(SRC) / "klagomal" / "data" / "exempelkommun.toml"
ZONE = dt.timezone(dt.timedelta(hours=1))
#: How long a worker process may take to do what a test waits for.
WAIT = 60.0


def _run(job: str, outcome: str, started: dt.datetime, holder: str = "w1") -> JobRun:
    return JobRun(
        id=1,
        job=job,
        holder=holder,
        day=started.date(),
        started_at=started,
        finished_at=None,
        outcome=outcome,
        detail=None,
    )


# -- the schedule --------------------------------------------------------------


def test_every_job_has_work_an_operation_and_a_schedule() -> None:
    """Read from the code: a job added later needs all three."""
    settings = WorkerSettings(gallring_at=dt.time(3))
    for job in JOBS:
        assert job in RUNNERS
        assert job in JOB_OPERATIONS
        assert (schedule.interval(job, settings) is None) != (schedule.daily_time(job, settings) is None)


moments = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1)).map(
    lambda d: d.replace(tzinfo=ZONE)
)


@given(
    now=moments, ago=st.integers(min_value=0, max_value=400), every=st.integers(min_value=1, max_value=300)
)
def test_an_interval_job_is_due_when_its_interval_has_passed(now: dt.datetime, ago: int, every: int) -> None:
    settings = WorkerSettings(outbox_interval=every)
    last = _run(OUTBOX, "ok", now - dt.timedelta(seconds=ago))
    assert schedule.is_due(OUTBOX, settings, now, [], last) == (ago >= every)
    assert schedule.is_due(OUTBOX, settings, now, [], None)


@given(
    now=moments,
    outcomes=st.lists(st.sampled_from(["ok", "partial", "failed", "interrupted", "running"]), max_size=4),
    working=st.booleans(),
)
def test_a_daily_job_runs_once_a_day_from_its_time(
    now: dt.datetime, outcomes: list[str], working: bool
) -> None:
    settings = WorkerSettings(reminders_at=dt.time(7), retry_seconds=900)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    runs = [_run(REMINDERS, o, today + dt.timedelta(hours=7, minutes=i)) for i, o in enumerate(outcomes)]
    runs = [r for r in runs if r.started_at <= now]
    due = schedule.is_due(REMINDERS, settings, now, runs, runs[-1] if runs else None, working_day=working)
    if now.time() < dt.time(7) or not working or any(r.outcome == "ok" for r in runs):
        assert not due
    elif not runs or runs[-1].outcome == "interrupted":
        assert due
    if due and runs:
        ended = [r for r in runs if r.outcome != "running"]
        latest = max(ended, key=lambda r: r.started_at)
        assert latest.outcome == "interrupted" or (now - latest.started_at) >= dt.timedelta(seconds=900)


def test_gallring_runs_only_when_a_time_is_set() -> None:
    now = dt.datetime(2026, 12, 7, 12, tzinfo=ZONE)
    assert not schedule.is_due(GALLRING, WorkerSettings(), now, [], None)
    assert schedule.is_due(GALLRING, WorkerSettings(gallring_at=dt.time(3)), now, [], None)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("utskick_intervall = 0", "'utskick_intervall' ska vara ett tal från 1 till 86400"),
        ("brevlada_intervall = 1.5", "'brevlada_intervall' ska vara ett heltal"),
        ("ledarskap_sekunder = 1", "'ledarskap_sekunder' ska vara ett tal från 3 till 3600"),
        ("omforsok_sekunder = true", "'omforsok_sekunder' ska vara ett tal"),
        ('paminnelser_klockan = "7"', "'paminnelser_klockan' ska vara ett klockslag"),
        ('gallring_klockan = "24:00"', "'gallring_klockan' ska vara ett klockslag"),
        ("okand = 1", "okänd nyckel 'okand'"),
    ],
)
def test_the_worker_table_names_what_is_wrong(tmp_path: Path, line: str, reason: str) -> None:
    org = tmp_path / "org.toml"
    org.write_text(ORG_FILE.read_text(encoding="utf-8") + f"\n[arbetare]\n{line}\n", encoding="utf-8")
    with pytest.raises(OrganisationError, match="arbetare") as caught:
        load_organisation(org)
    assert reason in str(caught.value)


def test_the_worker_table_is_read(tmp_path: Path) -> None:
    org = tmp_path / "org.toml"
    org.write_text(
        ORG_FILE.read_text(encoding="utf-8")
        + '\n[arbetare]\nutskick_intervall = 30\npaminnelser_klockan = "06:45"\ngallring_klockan = "02:10"\n',
        encoding="utf-8",
    )
    settings = load_organisation(org).worker
    assert settings.outbox_interval == 30
    assert settings.reminders_at == dt.time(6, 45)
    assert settings.gallring_at == dt.time(2, 10)
    assert settings.mailbox_interval == WorkerSettings().mailbox_interval


# -- the leases, on every backend -------------------------------------------------


@pytest.fixture
def db(any_db_url: str) -> Iterator[str]:
    with Klagomal(any_db_url, user="nora.lind", load_entrypoints=False) as k:
        k.init()
    return any_db_url


def test_one_worker_leads_a_job_until_its_lease_runs_out(db: str) -> None:
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        assert k.take_job_lease(OUTBOX, "a", 60)
        assert not k.take_job_lease(OUTBOX, "b", 60)
        assert k.take_job_lease(OUTBOX, "a", 60)  # renewed
        assert k.take_job_lease(REMINDERS, "b", 60)  # another job is free
        run = k.start_job_run(OUTBOX, "a", dt.date(2026, 12, 7))
        # a's lease runs out (it was killed): b takes the job, and a's run
        # that never ended is marked interrupted.
        assert k.take_job_lease(OUTBOX, "a", -1)
        assert k.take_job_lease(OUTBOX, "b", 60)
        [status] = [s for s in k.job_status() if s.job == OUTBOX]
        assert status.lease is not None
        assert status.lease.holder == "b"
        assert status.last_run is not None
        assert status.last_run.id == run
        assert status.last_run.outcome == "interrupted"
        assert status.last_success is None
        # b stops: its jobs are free at once.
        assert k.release_job_leases("b") == 2
        assert k.take_job_lease(OUTBOX, "a", 60)
        assert k.take_job_lease(REMINDERS, "a", 60)


def test_a_run_is_recorded_with_its_outcome(db: str) -> None:
    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        day = dt.date(2026, 12, 7)
        first = k.start_job_run(REMINDERS, "a", day)
        k.finish_job_run(first, "failed", "StorageUnavailableError")
        second = k.start_job_run(REMINDERS, "a", day)
        k.finish_job_run(second, "ok", "3 skickade")
        assert [r.outcome for r in k.job_runs(REMINDERS, day=day)] == ["ok", "failed"]
        [status] = [s for s in k.job_status() if s.job == REMINDERS]
        assert status.last_success is not None
        assert status.last_success.id == second
        assert status.last_success.detail == "3 skickade"
        with pytest.raises(Exception, match="okänt utfall 'klart'"):
            k.finish_job_run(second, "klart")


def test_of_workers_asking_at_once_exactly_one_leads(db: str) -> None:
    """Eight workers, each with its own connection pool, ask for the same
    free job at the same moment, five times over."""
    instances = [Klagomal(db, user="nora.lind", load_entrypoints=False) for _ in range(8)]
    try:
        for round_ in range(5):
            job = f"prov{round_}"
            barrier = threading.Barrier(len(instances))
            won: list[bool] = [False] * len(instances)

            def ask(
                i: int, job: str = job, barrier: threading.Barrier = barrier, won: list[bool] = won
            ) -> None:
                instances[i].take_job_lease(job, "ensure", -1)  # the row exists, expired
                barrier.wait(timeout=30)
                won[i] = instances[i].take_job_lease(job, f"w{i}", 60)

            threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(instances))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert sum(won) == 1, won
    finally:
        for k in instances:
            k.dispose()


# -- the worker as a process ----------------------------------------------------------


def _org(tmp: Path, extra: str = "") -> Path:
    org = tmp / "org.toml"
    org.write_text(
        ORG_FILE.read_text(encoding="utf-8")
        + "\n[arbetare]\nutskick_intervall = 1\nledarskap_sekunder = 3\n"
        + extra,
        encoding="utf-8",
    )
    return org


def _worker(db: str, org: Path, cwd: Path, *args: str, user: str = "nora.lind") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "klagomal.cli",
            "--db",
            db,
            "--org",
            str(org),
            "--user",
            user,
            "worker",
            *args,
        ],
        cwd=cwd,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _until(check: object, what: str, process: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + WAIT
    while not check():  # type: ignore[operator]
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the worker stopped before {what}: {process.communicate()[1]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WAIT} s: {what}")
        time.sleep(0.2)


def _register(k: Klagomal, n: int) -> None:
    from klagomal.core.model import Contact

    for i in range(n):
        case = k.register(
            kind="klagomal",
            channel="epost",
            text=f"Synpunkt {i}",
            unit="soc-aldre-hemtjanst-norr",
            contact=Contact(name=f"Person {i}", email=f"person{i}@example.org"),
        )
        k.acknowledge(case.reference, "Omar Ali")  # the besked: a letter to the person


def test_the_worker_sends_the_outbox_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'k.db'}"
    org = _org(tmp_path)
    with Klagomal(db, organisation=load_organisation(org), user="nora.lind", load_entrypoints=False) as k:
        k.init()
        _register(k, 3)
        queued = len(k.outbox(statuses=["pending"]))
    assert queued >= 3
    sent = tmp_path / "utskick"
    worker = _worker(db, org, tmp_path)
    try:
        _until(lambda: len(list(sent.glob("*.eml"))) >= queued, "the outbox was sent", worker)
        with Klagomal(db, organisation=load_organisation(org), user="nora.lind", load_entrypoints=False) as k:
            # A second worker on SQLite is refused, in Swedish, and changes nothing.
            second = _worker(db, org, tmp_path, "--once")
            _, err = second.communicate(timeout=WAIT)
            assert second.returncode != 0
            assert "SQLite tillåter en arbetare" in err
            _register(k, 1)  # more work while it runs: sent within the interval
            _until(lambda: len(list(sent.glob("*.eml"))) > queued, "the new notice was sent", worker)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=WAIT)
    assert worker.returncode == 0, err
    assert "stoppar efter jobbet som pågår" in err
    with Klagomal(db, organisation=load_organisation(org), user="nora.lind", load_entrypoints=False) as k:
        status = {s.job: s for s in k.job_status()}
        # It gave its jobs up at once, and every run it started has ended.
        assert status[OUTBOX].lease is not None
        assert status[OUTBOX].lease.holder is None
        assert status[OUTBOX].last_success is not None
        runs = k.job_runs(OUTBOX, limit=None)
        assert runs
        assert all(r.outcome in ("ok", "partial") for r in runs)
        assert not k.outbox(statuses=["pending", "sending"])
        # The mailbox and gallring are not set up in this file: not run, and said why.
    assert "brevlådor körs inte: ingen brevlåda är angiven" in err
    assert "gallring körs inte" in err


def test_a_worker_whose_user_may_not_do_the_work_does_not_start(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'k.db'}"
    org = _org(tmp_path)
    with Klagomal(db, organisation=load_organisation(org), user="nora.lind", load_entrypoints=False) as k:
        k.init()
    worker = _worker(db, org, tmp_path, "--once", user="omar.ali")
    _, err = worker.communicate(timeout=WAIT)
    assert worker.returncode != 0
    assert "omar.ali" in err or "Omar Ali" in err
    with Klagomal(db, organisation=load_organisation(org), user="nora.lind", load_entrypoints=False) as k:
        assert k.job_runs(limit=None) == []


def test_once_runs_what_is_due_and_the_day_s_reminders_only_once(tmp_path: Path) -> None:
    """``--once`` on a business date that is a working day: the reminders
    run, and a second ``--once`` the same day finds them done."""
    db = f"sqlite:///{tmp_path / 'k.db'}"
    org = _org(tmp_path, 'paminnelser_klockan = "00:00"\n')
    with Klagomal(db, organisation=load_organisation(org), user="nora.lind", load_entrypoints=False) as k:
        k.init()
    day = dt.date.today()
    while not is_working_day(day):
        day -= dt.timedelta(days=1)
    for _ in range(2):
        done = subprocess.run(
            [
                sys.executable, "-m", "klagomal.cli", "--db", db, "--org", str(org), "--user", "nora.lind",
                "--today", day.isoformat(), "worker", "--once", "--job", REMINDERS,
            ],
            cwd=tmp_path, env=child_env(), capture_output=True, text=True, timeout=WAIT,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    with Klagomal(db, organisation=load_organisation(org), user="nora.lind", load_entrypoints=False) as k:
        runs = k.job_runs(REMINDERS, limit=None)
    assert [(r.day, r.outcome) for r in runs] == [(day, "ok")]


@pytest.fixture
def server_db(new_database: object, request: pytest.FixtureRequest) -> str:
    url: str = new_database()  # type: ignore[operator]
    if url.startswith("sqlite"):
        pytest.skip("one worker on SQLite: the takeover is for PostgreSQL and MariaDB")
    return url


def test_a_killed_leader_s_jobs_are_taken_over_after_its_lease(server_db: str, tmp_path: Path) -> None:
    org = _org(tmp_path)
    with Klagomal(
        server_db, organisation=load_organisation(org), user="nora.lind", load_entrypoints=False
    ) as k:
        k.init()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _worker(server_db, org, tmp_path / "a", "--name", "forsta")
    second = None
    try:
        with Klagomal(
            server_db, organisation=load_organisation(org), user="nora.lind", load_entrypoints=False
        ) as k:

            def leader() -> str | None:
                lease = {s.job: s.lease for s in k.job_status()}[OUTBOX]
                return lease.holder if lease else None

            _until(lambda: (leader() or "").startswith("forsta:"), "the first worker leads", first)
            second = _worker(server_db, org, tmp_path / "b", "--name", "andra")
            time.sleep(2)
            assert (leader() or "").startswith("forsta:")  # the second waits
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=WAIT)
            killed = time.monotonic()
            _until(lambda: (leader() or "").startswith("andra:"), "the second worker took over", second)
            assert time.monotonic() - killed < 3 + 5  # the lease, and a heartbeat
            _register(k, 1)
            _until(lambda: list((tmp_path / "b" / "utskick").glob("*.eml")), "the second one sends", second)
            assert not list((tmp_path / "a" / "utskick").glob("*.eml"))
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.communicate(timeout=WAIT)
    assert second is not None
    assert second.returncode == 0


def test_sigterm_lets_the_job_in_hand_finish(tmp_path: Path) -> None:
    """The mail server holds its answer while the worker sends; SIGTERM
    arrives then.  The worker finishes the sending (the notice is sent, the
    run ends ``ok``, not ``interrupted``), then stops with 0."""
    from smtp_server import SmtpServer

    with SmtpServer() as server:
        db = f"sqlite:///{tmp_path / 'k.db'}"
        org = _org(tmp_path)
        org.write_text(
            org.read_text(encoding="utf-8")
            + f'\n[utskick.smtp]\nvard = "{server.host}"\nport = {server.port}\nsakerhet = "ingen"\n',
            encoding="utf-8",
        )
        with Klagomal(db, organisation=load_organisation(org), user="nora.lind", load_entrypoints=False) as k:
            k.init()
            _register(k, 1)
        server.stall.set()
        worker = _worker(db, org, tmp_path)
        try:
            _until(lambda: server.messages, "the mail server received the notice", worker)
            worker.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            assert worker.poll() is None  # still in the job: waiting for the server's answer
        finally:
            server.stall.clear()
            _, err = worker.communicate(timeout=WAIT)
        assert worker.returncode == 0, err
    with Klagomal(db, organisation=load_organisation(org), user="nora.lind", load_entrypoints=False) as k:
        [run] = k.job_runs(OUTBOX, limit=None)
        assert run.outcome == "ok"
        assert run.detail is not None
        assert run.detail.startswith("1 skickade")
        assert [n.status for n in k.outbox()] == ["sent"]


def test_the_worker_answers_health_and_metrics_and_logs_json_lines(tmp_path: Path) -> None:
    """``--listen``: /healthz, /readyz and /metrics with each job's last
    successful run; ``--log-format json``: every line of its log is a JSON
    object, the runs' lines whole (they hold counts, never a person)."""
    import json
    import urllib.request

    from test_web_server import free_port

    db = f"sqlite:///{tmp_path / 'k.db'}"
    org = _org(tmp_path)
    with Klagomal(db, organisation=load_organisation(org), user="nora.lind", load_entrypoints=False) as k:
        k.init()
        _register(k, 2)
    port = free_port()
    worker = _worker(db, org, tmp_path, "--listen", f"127.0.0.1:{port}", "--log-format", "json")

    def get(path: str) -> tuple[int, str]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()

    def scraped() -> str:
        try:
            return get("/metrics")[1]
        except OSError:
            return ""

    try:
        _until(
            lambda: 'klagomal_job_last_success_timestamp_seconds{job="utskick"}' in scraped(),
            "metrics",
            worker,
        )
        assert get("/healthz")[0] == 200
        status, ready = get("/readyz")
        assert status == 200
        assert json.loads(ready)["status"] == "ok"
        _until(lambda: 'klagomal_outbox_notices{status="pending"} 0.0' in scraped(), "the counts", worker)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=WAIT)
    assert worker.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    messages = [line["message"] for line in lines]
    assert any(m.startswith("jobbet utskick: ok efter") and "2 skickade" in m for m in messages), messages
    assert any(m.startswith("svarar på http://127.0.0.1:") for m in messages), messages
    assert not [m for m in messages if "person0@example.org" in m or "Person 0" in m]


def test_old_runs_are_forgotten(db: str) -> None:
    """An outbox sent every minute makes half a million runs a year: runs
    older than 30 days are pruned, the newer kept (and so the last success)."""
    import sqlalchemy as sa

    from klagomal.storage.tables import job_runs

    with Klagomal(db, user="nora.lind", load_entrypoints=False) as k:
        old = k.start_job_run(OUTBOX, "a", dt.date(2026, 10, 1))
        new = k.start_job_run(OUTBOX, "a", dt.date(2026, 12, 1))
        k.finish_job_run(new, "ok", "1 skickade")
        engine = sa.create_engine(db)
        try:
            with engine.begin() as conn:
                conn.execute(
                    sa.update(job_runs)
                    .where(job_runs.c.id == old)
                    .values(started_at=dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=31))
                )
        finally:
            engine.dispose()
        assert k.prune_job_runs() == 1
        assert [r.id for r in k.job_runs(OUTBOX, limit=None)] == [new]
        assert k.operations_counts().job_last_success[OUTBOX] == k.job_runs(OUTBOX)[0].started_at


def test_the_worker_sends_the_webhooks(tmp_path: Path) -> None:
    """A subscribed system hears of a new case from the worker, once."""
    from test_webhooks import Receiver

    receiver = Receiver()
    try:
        db = f"sqlite:///{tmp_path / 'k.db'}"
        org = _org(tmp_path)
        with Klagomal(db, organisation=load_organisation(org), user="nora.lind", load_entrypoints=False) as k:
            k.init()
            k.webhooks.subscribe(receiver.url, user="nora.lind", events=["registered"])
            _register(k, 1)
        for _ in range(2):
            done = subprocess.run(
                [
                    sys.executable, "-m", "klagomal.cli", "--db", db, "--org", str(org), "--user", "system",
                    "worker", "--once", "--job", "webhooks",
                ],
                cwd=tmp_path, env=child_env(), capture_output=True, text=True, timeout=WAIT,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
        assert len(receiver.requests) == 1
        assert b'"registered"' in receiver.requests[0][1]
    finally:
        receiver.close()


def test_every_job_and_setting_is_documented() -> None:
    """Read from the code: each job has its row in docs/drift.md and is
    named in docs/cli.md's worker section; each key of ``[arbetare]`` has
    its row in docs/organisation.md."""
    from klagomal.core.jobs import WORKER_KEYS

    docs = Path(SRC).parent / "docs"
    drift = (docs / "drift.md").read_text(encoding="utf-8")
    cli = (docs / "cli.md").read_text(encoding="utf-8").split("\n### worker\n", 1)[1].split("\n### ", 1)[0]
    organisation = (docs / "organisation.md").read_text(encoding="utf-8").split("### `[arbetare]`", 1)[1]
    organisation = organisation.split("\n### ", 1)[0]
    assert [job for job in JOBS if f"\n| `{job}` |" not in drift] == []
    assert [job for job in JOBS if f"`{job}`" not in cli] == []
    assert [key for key in WORKER_KEYS if f"\n| `{key}` |" not in organisation] == []


def test_a_worker_that_cannot_record_a_run_stays_up(
    new_database: Callable[[], str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Another connection holds a lock on the table of runs (PostgreSQL's
    LOCK TABLE, which lets reads through): the run cannot even be recorded.
    The worker says so and stays up; the job runs once the lock is gone."""
    import sqlalchemy as sa

    from klagomal.worker import Worker

    db = new_database()
    if not db.startswith("postgresql"):
        pytest.skip("LOCK TABLE ... IN EXCLUSIVE MODE, which blocks writes and not reads, is PostgreSQL's")
    org = load_organisation(_org(tmp_path))
    with Klagomal(db, organisation=org, user="system", load_entrypoints=False, lock_wait=0.5) as k:
        k.init()
        worker = Worker(k, jobs=[OUTBOX])
        worker.led.add(OUTBOX)
        engine = sa.create_engine(db)
        try:
            with engine.connect() as conn, caplog.at_level("WARNING", logger="klagomal.worker"):
                conn.execute(sa.text("BEGIN"))
                conn.execute(sa.text("LOCK TABLE job_runs IN EXCLUSIVE MODE"))
                assert worker.run_due() == []
                conn.execute(sa.text("ROLLBACK"))
        finally:
            engine.dispose()
        assert any("kunde inte starta jobbet utskick" in r.getMessage() for r in caplog.records)
        assert worker.run_due() == [OUTBOX]
        assert [r.outcome for r in k.job_runs(OUTBOX, limit=None)] == ["ok"]

"""More than one machine on one database (issue 23, item 4; docs/drift.md).

Two ``klagomal serve`` processes and two ``klagomal worker`` processes for the
outbox run on one PostgreSQL (and one MariaDB) database, with two more
workers for the day's reminders, all sending to a real SMTP server on
loopback.  A load of registrations goes to both servers while handlers give
the besked of older cases (each a letter through the outbox).  Midway one
server and the outbox's leading worker are killed with SIGKILL, and the
reminders' leader as soon as its run has started.  Then:

* every registration a server acknowledged is in the database exactly once
  (a client whose server died sends the same request, with the same
  ``Idempotency-Key``, to the other);
* every notice is sent at most once, and none is left waiting;
* the day's reminders are each sent at most once, and each is sent or
  left as cut off mid-send (listed as uncertain for a person to check),
  none forgotten;
* every message of the klagomål mailbox (IMAP, read by the outbox's
  workers too) is stored once, one case each, and moved once;
* the other workers took over the killed leaders' jobs.

Each machine is a process with its own connection pool; they share only
the database, as machines do.
"""

from __future__ import annotations

import collections
import datetime as dt
import email.message
import itertools
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from imap_server import PASSWORD, ImapServer
from klagomal import Klagomal
from klagomal.core.model import Contact
from klagomal.core.organisation import load_organisation
from klagomal.deadlines.policies import is_working_day
from klagomal.storage.tables import cases, received_messages
from smtp_server import SmtpServer

pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")

from tests.test_web_server import SRC, START_TIMEOUT, child_env, free_port

ORG_FILE = Path(SRC) / "klagomal" / "data" / "exempelkommun.toml"
HEMTJANST = "soc-aldre-hemtjanst-norr"
#: The most seconds any step of the test waits for the processes.
WAIT = 90.0
#: Registrations sent by the load, and cases whose besked is given during it.
REGISTRATIONS = 60
BESKED = 20
#: Cases owing a reminder on the reminders' day.
REMINDERS = 25
#: Messages in the klagomål mailbox: half before the machines start, half during the load.
MAILS = 40


@pytest.fixture
def server_db(new_database: Callable[[], str]) -> str:
    url = new_database()
    if url.startswith("sqlite"):
        pytest.skip("several machines share PostgreSQL or MariaDB; SQLite is one machine's")
    return url


def _working_days_back(day: dt.date, n: int) -> dt.date:
    while n:
        day -= dt.timedelta(days=1)
        n -= is_working_day(day)
    return day


def _last_working_day() -> dt.date:
    day = dt.date.today()
    while not is_working_day(day):
        day -= dt.timedelta(days=1)
    return day


class Machines:
    """The processes of the test, each killed or stopped at the end."""

    def __init__(self, db: str, org: Path, tmp: Path, env: dict[str, str]) -> None:
        self.db, self.org, self.tmp, self.env = db, org, tmp, env
        self.processes: list[subprocess.Popen[str]] = []

    def _start(self, args: list[str], name: str) -> subprocess.Popen[str]:
        log = open(self.tmp / f"{name}.log", "w", encoding="utf-8")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "klagomal.cli", "--db", self.db, "--org", str(self.org), *args],
            cwd=self.tmp,
            env=child_env(**self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.processes.append(process)
        return process

    def serve(self, name: str) -> tuple[str, subprocess.Popen[str]]:
        port = free_port()
        process = self._start(["serve", "--port", str(port)], name)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, (self.tmp / f"{name}.log").read_text()
            try:
                with urllib.request.urlopen(base + "/api/openapi.json", timeout=5):
                    return base, process
            except OSError:
                assert time.monotonic() < deadline, f"{name} did not answer"
                time.sleep(0.1)

    def worker(self, name: str, *args: str, today: dt.date | None = None) -> subprocess.Popen[str]:
        dated = ["--today", today.isoformat()] if today else []
        return self._start(["--user", "system", *dated, "worker", "--name", name, *args], name)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # pragma: no cover
                process.kill()
                process.wait()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def imap() -> Iterator[ImapServer]:
    with ImapServer() as server:
        yield server


def _mail(n: int) -> bytes:
    message = email.message.EmailMessage()
    message["From"] = f"Person {n} <brev{n}@example.se>"
    message["To"] = "synpunkter@exempelkommun.se"
    message["Subject"] = f"Trasig gatlykta {n}"
    message["Message-ID"] = f"<brev-{n}@example.se>"
    message.set_content(f"Brev {n}: gatlyktan vid Storgatan {n} är trasig sedan en vecka.\n")
    return message.as_bytes().replace(b"\n", b"\r\n")


def _call(
    base: str, method: str, path: str, key: str, body: object, headers: dict[str, str]
) -> tuple[int, object]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _until(check: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"not within {WAIT} s: {what}"
        time.sleep(0.2)


def test_two_servers_and_two_workers_lose_and_repeat_nothing_when_one_of_each_is_killed(
    server_db: str, tmp_path: Path, smtp: SmtpServer, imap: ImapServer
) -> None:
    mailbox = imap.new_user()
    org = tmp_path / "org.toml"
    org.write_text(
        ORG_FILE.read_text(encoding="utf-8")
        + f'\n[utskick.smtp]\nvard = "{smtp.host}"\nport = {smtp.port}\nsakerhet = "ingen"\n'
        + f'\n[[intag.imap]]\nnamn = "synpunkter"\nvard = "127.0.0.1"\nport = {imap.imap_port}\n'
        + f'sakerhet = "ingen"\nanvandare = "{mailbox}"\ntidsgrans = 10\n'
        + "\n[arbetare]\nutskick_intervall = 1\nbrevlada_intervall = 1\nledarskap_sekunder = 3\n"
        + 'paminnelser_klockan = "00:00"\n',
        encoding="utf-8",
    )
    imap.append(mailbox, *(_mail(n) for n in range(MAILS // 2)))
    organisation = load_organisation(org)
    day = _last_working_day()
    with Klagomal(server_db, organisation=organisation, user="system", load_entrypoints=False) as k:
        k.init()
        keys = {user: k.create_api_key(user, f"Last för {user}")[1] for user in ("kontaktcenter", "omar.ali")}
        # Cases whose besked is due the working day after the reminders' day.
        received = _working_days_back(day, 9)
        owing = [
            k.register(
                kind="klagomal",
                channel="telefon",
                text=f"Påminn {i}",
                unit=HEMTJANST,
                received=received,
                contact=Contact(name=f"Person {i}", email=f"paminn{i}@example.org"),
            ).reference
            for i in range(REMINDERS)
        ]
        besked = [
            k.register(
                kind="klagomal",
                channel="telefon",
                text=f"Besked {i}",
                unit=HEMTJANST,
                contact=Contact(name=f"Person {i}", email=f"besked{i}@example.org"),
            ).reference
            for i in range(BESKED)
        ]

    machines = Machines(server_db, org, tmp_path, {"KLAGOMAL_IMAP_LOSENORD": PASSWORD})
    try:
        base_a, server_a = machines.serve("serve-a")
        base_b, _server_b = machines.serve("serve-b")
        outbox_workers = {
            name: machines.worker(name, "--job", "utskick", "--job", "brevlada") for name in ("w1", "w2")
        }
        reminder_workers = {
            name: machines.worker(name, "--job", "paminnelser", today=day) for name in ("r1", "r2")
        }

        acknowledged: dict[str, str] = {}  # text -> reference
        lock = threading.Lock()
        a_dead = threading.Event()

        def register(i: int) -> None:
            body = {"kind": "klagomal", "channel": "telefon", "text": f"Last {i}", "unit": HEMTJANST}
            headers = {"Idempotency-Key": f"last-{i}"}
            bases = [base_a, base_b] if i % 2 == 0 else [base_b]
            for attempt in range(20):
                base = bases[0] if not a_dead.is_set() or bases[0] == base_b else base_b
                try:
                    status, answer = _call(
                        base, "POST", "/api/v1/cases", keys["kontaktcenter"], body, headers
                    )
                except OSError:
                    bases = [base_b]  # this machine is gone: the same request to the other
                    time.sleep(0.05 * attempt)
                    continue
                if status == 201:
                    assert isinstance(answer, dict)
                    with lock:
                        acknowledged[body["text"]] = answer["reference"]
                    return
                time.sleep(0.05 * attempt)  # a 409 while the first try is in flight: ask again
            raise AssertionError(f"registration {i} never acknowledged")

        def give_besked(reference: str, i: int) -> None:
            base = base_a if i % 2 == 0 and not a_dead.is_set() else base_b
            headers = {"Idempotency-Key": f"besked-{reference}", "If-Match": '"1"'}
            for attempt in range(20):
                try:
                    status, _answer = _call(
                        base,
                        "POST",
                        f"/api/v1/cases/{reference}/steps/acknowledge",
                        keys["omar.ali"],
                        {},
                        headers,
                    )
                except OSError:
                    base = base_b
                    continue
                if status == 200:
                    return
                time.sleep(0.05 * attempt)
            raise AssertionError(f"besked of {reference} never given")

        def load(part: int) -> None:
            for i in range(part, REGISTRATIONS, 4):
                register(i)
                if part == 0:
                    imap.append(mailbox, *(_mail(n) for n in itertools.islice(later_mail, 2)))
                if i < BESKED:
                    give_besked(besked[i], i)

        later_mail = iter(range(MAILS // 2, MAILS))
        threads = [threading.Thread(target=load, args=(p,)) for p in range(4)]
        for t in threads:
            t.start()

        with Klagomal(server_db, organisation=organisation, user="system", load_entrypoints=False) as k:

            def leader(job: str) -> str:
                lease = {s.job: s.lease for s in k.job_status()}[job]
                return (lease.holder or "") if lease else ""

            # The reminders' leader is killed as soon as its run has started.
            _until(lambda: k.job_runs("paminnelser", limit=1), "the reminders started")
            reminder_workers[leader("paminnelser").split(":")[0]].send_signal(signal.SIGKILL)
            # A third of the load in, a server and the outbox's leader die.
            _until(lambda: len(acknowledged) >= REGISTRATIONS // 3, "a third of the load")
            _until(lambda: leader("utskick"), "a worker leads the outbox")
            outbox_leader = leader("utskick").split(":")[0]
            server_a.send_signal(signal.SIGKILL)
            outbox_workers[outbox_leader].send_signal(signal.SIGKILL)
            a_dead.set()
            for t in threads:
                t.join(timeout=WAIT)
            assert not any(t.is_alive() for t in threads)
            survivor = next(name for name in outbox_workers if name != outbox_leader)
            _until(lambda: leader("utskick").startswith(survivor + ":"), "the other worker leads the outbox")
            _until(
                lambda: any(r.holder.startswith(survivor + ":") for r in k.job_runs("utskick", limit=5)),
                "the other worker sends the outbox",
            )
            # A notice the killed worker was sending stays "sending" until the
            # outbox's own lease (10 minutes) makes it uncertain; nothing waits.
            _until(lambda: not k.outbox(statuses=["pending"]), "the outbox is empty")
            _until(
                lambda: any(r.outcome == "ok" for r in k.job_runs("paminnelser", day=day, limit=None)),
                "the day's reminders ran to the end",
            )
            _until(
                lambda: not imap.messages(mailbox) and len(imap.messages(mailbox, "Hanterade")) >= MAILS,
                "every message was read and moved",
            )
            notices = k.outbox()
            reminders = [r for r in k.reminders() if r.reference in set(owing)]
            runs = {job: k.job_runs(job, limit=None) for job in ("utskick", "paminnelser")}
            moved = imap.messages(mailbox, "Hanterade")
    finally:
        machines.stop()
        for t in threads if "threads" in locals() else ():
            t.join(timeout=WAIT)

    # Every acknowledged registration exactly once.
    assert len(acknowledged) == REGISTRATIONS
    engine = sa.create_engine(server_db)
    try:
        with engine.connect() as conn:
            texts = collections.Counter(
                conn.execute(sa.select(cases.c.text).where(cases.c.text.like("Last %"))).scalars()
            )
            mail_texts = conn.execute(sa.select(cases.c.text).where(cases.c.text.like("%Brev %")))
            letters_in = collections.Counter(text.split(":")[0] for text in mail_texts.scalars())
            received = collections.Counter(
                conn.execute(
                    sa.select(received_messages.c.message_key).where(
                        received_messages.c.message_key.like("<brev-%")
                    )
                ).scalars()
            )
    finally:
        engine.dispose()
    assert {text: n for text, n in texts.items() if n != 1} == {}
    assert set(texts) == set(acknowledged)

    # Every message of the mailbox stored once, one case each, and moved once.
    assert received == {f"<brev-{n}@example.se>": 1 for n in range(MAILS)}
    assert {text: n for text, n in letters_in.items() if n != 1} == {}
    assert len(letters_in) == MAILS
    assert len(moved) == MAILS

    # Every notice at most once by SMTP, none left waiting.
    sent = collections.Counter(str(m.message["Message-ID"]) for m in smtp.messages)
    assert {mid: n for mid, n in sent.items() if n > 1} == {}
    assert {n.status for n in notices} <= {"sent", "sending", "uncertain", "task"}
    cut_off = [n for n in notices if n.status == "sending"]
    assert len(cut_off) <= 1  # the one the killed worker had in hand, if any
    for notice in notices:
        if notice.status == "sent":
            assert sent[notice.message_id] == 1, notice
    letters = {n.reference for n in notices if n.status in ("sent", "sending") and n.reference in set(besked)}
    assert letters == set(besked)  # every besked's letter went out (or was in hand when killed)

    # The day's reminders: at most once each, none forgotten.
    assert len(reminders) == REMINDERS
    # "sending": the killed run was sending it; every later run lists it as
    # uncertain (`klagomal remind`) and never sends it again.
    assert {r.status for r in reminders} <= {"sent", "sending"}
    to_staff = collections.Counter(
        (str(m.message["X-Klagomal-Reference"]), str(m.message["X-Klagomal-Notice"]))
        for m in smtp.messages
        if m.message["X-Klagomal-Reference"] in set(owing)
    )
    assert {key: n for key, n in to_staff.items() if n > 1} == {}
    for reminder in reminders:
        arrived = to_staff[(reminder.reference, reminder.kind)]
        # Sent: it arrived once.  Cut off mid-send: once or not at all.
        assert arrived == 1 if reminder.status == "sent" else arrived <= 1, reminder

    # The killed leaders' jobs were taken over: both outbox workers ran it,
    # and the reminders ran to "ok" after the killed run.
    assert {r.holder.split(":")[0] for r in runs["utskick"]} == {"w1", "w2"}
    assert [r.outcome for r in runs["paminnelser"]][-1] in ("interrupted", "ok")
    assert "ok" in [r.outcome for r in runs["paminnelser"]]

"""How klagomal's storage holds up at a million cases, against raw SQLAlchemy Core on the same rows.

A kommun that moves to klagomal brings its old register, and a large one
holds a million cases after a few years.  Issue 5 ("Scale") asks that the
bulk import of such a register runs at no less than half the speed of
inserting the same rows with plain SQLAlchemy Core, in memory that stays
the same whatever the size of the file (under 300 MB), and that the daily
reads stay fast on the full database.  This measures, in one run, on one
backend (a SQLite file, or a PostgreSQL or MariaDB server):

* a JSON Lines file of N cases received 2019–2026, generated from a seed:
  every kind, channel and unit, quality dimensions, contacts (some cases
  anonymous), most cases closed with their besked, answer and closing
  dates, a small share still open, some of those overdue on the
  benchmark's "today";
* the bulk import of that file, ``Klagomal.import_cases`` with a
  ``FixedClock`` on "today", run in a child process that reports its time
  and its peak RSS (``ru_maxrss``).  The same import of a file ten times
  smaller, in another child, shows whether the peak grows with the file;
* the baseline: the rows the import stored (cases, case_dimensions,
  external_ids, events, notices), read back from the imported database and
  inserted with SQLAlchemy Core ``executemany`` into an empty database of
  the same backend with the same schema (``klagomal init``) and the same
  connection settings, in the same batch size, one transaction per batch.
  Only the inserts are timed, not the reading back.  It is the least any
  import can cost: no file to parse, no lifecycle, no references.  Both
  sides' CPU time in their own process is shown too: on a shared machine
  it varies less than the wall time (a server's own work is not in it);
* a unit's overdue worklist, ``k.cases(unit=..., overdue=True)``, for the
  unit with the most overdue cases, median of many calls; and the median
  over every unit;
* fetching one case with its events, ``k.get(ref)`` and ``k.history(ref)``,
  median over many seeded random references.

On a server the reads are timed twice: as the import left the database,
and after ``ANALYZE``, which autovacuum (on by default) does by itself
after a large import; the goals are judged on the second.  SQLite keeps
no statistics unless asked, and klagomal never asks, so it is timed once.

It prints the rates and the ratio, the times, a summary table with the
goals, and exits with 1 when a goal is missed (``--no-goals``: only
report).  Results are recorded in docs/performance.md.

    python bench/storage.py [--cases 1000000] [--batch-size 1000] [--no-goals]
    python bench/storage.py --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres [--keep]

``--webhook-lookup N`` measures only the cost of the look-up of webhook
subscriptions every stored event makes (klagomal.storage.sql.webhooks):
N registrations through the facade with the look-up skipped (as before
webhooks existed: the baseline), with it finding no subscription, and with
one subscription to every event, in interleaved rounds on new databases.

    python bench/storage.py --webhook-lookup 2000 [--rounds 3] [--db ...]

``--db`` is a SQLite URL of a file that does not exist yet (the baseline and
the smaller import use files beside it), or a server URL: the benchmark then
creates its own databases there and drops them at the end (``--keep`` keeps
them); the database named in the URL is only used to connect.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa

from klagomal import FixedClock, Klagomal
from klagomal.core.organisation import default_organisation
from klagomal.core.serialization import make_converter
from klagomal.storage.sql import SqlStorage
from klagomal.storage.tables import case_dimensions, cases, events, external_ids, notices

SEED = 20261123
#: The first day a case in the file is received, and the benchmark's "today":
#: the import's clock, and the day the worklists are asked for.
FIRST = dt.date(2019, 1, 1)
TODAY = dt.date(2026, 11, 23)

#: The goals of issue 5.
IMPORT_RATIO = 0.5  # the import's rate at least this share of the raw inserts' rate
RSS_MB = 300.0  # peak RSS of the import process
RSS_GROWTH = 0.10  # the peak grows by at most this share from a 10x smaller file
WORKLIST_MS = 20.0  # median, the unit with the most overdue cases
FETCH_MS = 5.0  # median, one case with its events

# -- the file ------------------------------------------------------------------

_KINDS = {"klagomal": 60, "forslag": 22, "berom": 18}
_CHANNELS = {
    "telefon": 28,
    "epost": 20,
    "webbformular": 20,
    "svarskort": 10,
    "brev": 8,
    "besok": 8,
    "telefonsvarare": 6,
}
_DIMENSIONS = ["tillganglighet", "kompetens", "bemotande", "inflytande"]
_OPENINGS = {
    "klf": ["Jag fick inget svar på mitt mejl till kommunen.", "Växeln kopplade fel flera gånger."],
    "soc": [
        "Hemtjänsten kom två timmar för sent till min mamma.",
        "Personalen pratade över huvudet på min pappa.",
        "Ingen ringde tillbaka om mitt försörjningsstöd.",
        "Tack till personalen på Solgården för fin omsorg.",
    ],
    "bou": [
        "Skolskjutsen har inte kommit tre dagar i rad.",
        "Förskolan informerade inte om stängningsdagen.",
        "Inför läxhjälp på biblioteket för mellanstadiet.",
    ],
    "sbf": [
        "Cykelbanan längs ån plogas aldrig.",
        "Handläggningen av mitt bygglov tar orimligt lång tid.",
        "Sätt upp fler papperskorgar i stadsparken.",
    ],
    "kof": [
        "Badhuset var stängt trots att webben sa öppet.",
        "Biblioteket har för korta öppettider.",
        "Öppna fritidsgården även på söndagar.",
    ],
}
_MORE = [
    "Det har hänt förut.",
    "Jag vill att någon hör av sig till mig.",
    "Min granne har samma erfarenhet.",
    "Jag har försökt ringa men ingen svarar.",
    "Det gäller förra veckan.",
    "Jag hoppas att ni tar det här på allvar och ser till att det blir bättre framöver.",
    "Informationen på webben stämmer inte med vad personalen säger.",
    "Det är andra gången i år.",
]
_FIRST_NAMES = [
    "Eva",
    "Ahmed",
    "Karin",
    "Johan",
    "Maria",
    "Ali",
    "Sara",
    "Lars",
    "Fatima",
    "Anders",
    "Ingrid",
]
_LAST_NAMES = ["Lind", "Hassan", "Berg", "Ek", "Nilsson", "Yilmaz", "Holm", "Johansson", "Karlsson", "Said"]
_HANDLERS = [
    f"{f} {s}" for f in ("Lisa", "Per", "Mona", "Erik", "Nora", "Omar") for s in ("Åberg", "Sund", "Falk")
]


@attrs.frozen
class FileFacts:
    """What :func:`generate` wrote."""

    path: Path
    cases: int
    open: int
    anonymous: int
    events: int
    megabytes: float


def _weighted(rng: random.Random, weights: dict[str, int]) -> Callable[[], str]:
    names, cumulative = list(weights), []
    total = 0
    for weight in weights.values():
        total += weight
        cumulative.append(total)
    return lambda: rng.choices(names, cum_weights=cumulative)[0]


def generate(path: Path, count: int, seed: int = SEED) -> FileFacts:
    """Write *count* cases as JSON Lines to *path*, received evenly from
    :data:`FIRST` to the day before :data:`TODAY`, in the order received.

    Each step is dated a few days after the one before it, and only steps
    dated on or before :data:`TODAY` are written, so the latest cases are
    still open; a few older ones (0.5 %) stopped half-way and are long
    overdue.
    """
    rng = random.Random(seed)
    org = default_organisation()
    unit_weights = {u.id: (3 if len(org.subtree(u.id)) == 1 else 1) for u in org.units.values()}
    kind, channel, unit = _weighted(rng, _KINDS), _weighted(rng, _CHANNELS), _weighted(rng, unit_weights)
    days = (TODAY - FIRST).days
    numbers: dict[tuple[str, int], int] = {}
    still_open = anonymous = event_count = 0
    with open(path, "w", encoding="utf-8") as out:
        for i in range(count):
            received = FIRST + dt.timedelta(days=i * days // count)
            row: dict[str, Any] = {}
            row_kind, row_channel, row_unit = kind(), channel(), unit()
            department = org.unit(row_unit).department
            key = (department, received.year)
            numbers[key] = numbers.get(key, 0) + 1
            sentences = [rng.choice(_OPENINGS[department])]
            sentences += rng.sample(_MORE, rng.randint(0, 3))
            row["external_id"] = f"{department.upper()} {received.year}/{numbers[key]:06d}"
            row["kind"], row["channel"], row["unit"] = row_kind, row_channel, row_unit
            row["text"] = " ".join(sentences)
            row["received"] = received.isoformat()
            is_anonymous = row_channel != "webbformular" and rng.random() < 0.08
            if is_anonymous:
                anonymous += 1
            else:
                row["name"] = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
                if rng.random() < 0.6:
                    row["email"] = f"person{rng.randrange(10**6)}@example.se"
                if rng.random() < 0.5:
                    row["phone"] = f"070-{rng.randrange(10**7):07d}"
                if rng.random() < 0.2:
                    row["address"] = f"Storgatan {rng.randint(1, 99)}, 123 45 Exempelstad"
            if row_kind == "klagomal" and rng.random() < 0.7:
                row["dimensions"] = rng.sample(_DIMENSIONS, rng.randint(1, 2))
            if row_kind == "klagomal" and rng.random() < 0.03:
                row["serious"] = True
            event_count += 1
            stuck = rng.random() < 0.005
            stop = rng.choice(("registered", "acknowledged")) if stuck else None
            acknowledged = received + dt.timedelta(days=rng.randint(0, 14))
            answered = acknowledged + dt.timedelta(days=rng.randint(1, 45))
            closed = answered + dt.timedelta(days=rng.randint(0, 12))
            if acknowledged <= TODAY and stop != "registered":
                row["acknowledged"] = acknowledged.isoformat()
                row["handler"] = rng.choice(_HANDLERS)
                if rng.random() < 0.7:
                    row["respond_by"] = (acknowledged + dt.timedelta(days=rng.randint(7, 40))).isoformat()
                event_count += 1
                if is_anonymous:  # no answer can be given; closed from handling
                    if closed <= TODAY and stop is None:
                        row["closed"] = closed.isoformat()
                        event_count += 1
                elif answered <= TODAY and stop is None:
                    row["answered"] = answered.isoformat()
                    row["answer_mode"] = "muntligt" if rng.random() < 0.15 else "skriftligt"
                    if rng.random() < 0.5:
                        row["answer"] = "Tack för att du hörde av dig. Vi har sett över rutinerna."
                    event_count += 1
                    if closed <= TODAY:
                        row["closed"] = closed.isoformat()
                        row["satisfied"] = rng.random() < 0.75
                        event_count += 1
            if "closed" not in row:
                still_open += 1
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return FileFacts(path, count, still_open, anonymous, event_count, path.stat().st_size / 2**20)


# -- databases -------------------------------------------------------------------


class Databases:
    """New, empty databases for one run: SQLite files in a folder, or
    databases created on a server and dropped by :meth:`close`."""

    def __init__(self, db: str | None, folder: Path) -> None:
        self.folder = folder
        self.file: Path | None = None  # --db: the SQLite file to import into
        self.server: sa.URL | None = None
        self.created: list[str] = []
        self.urls: dict[str, str] = {}
        self.tag = uuid.uuid4().hex[:8]
        if db is not None:
            url = sa.make_url(db)
            if url.get_backend_name() == "sqlite":
                if not url.database or url.database == ":memory:":
                    raise SystemExit("--db: a SQLite file is needed, not an in-memory database")
                self.file = Path(url.database)
            else:
                self.server = url
        self.backend = "sqlite" if self.server is None else self.server.get_backend_name()

    def url(self, name: str) -> str:
        """The URL of the database made by ``new(name)``."""
        return self.urls[name]

    def new(self, name: str) -> str:
        """The URL of a new, empty database for *name* (``import``, ``raw``, ...)."""
        self.urls[name] = self._new(name)
        return self.urls[name]

    def _new(self, name: str) -> str:
        if self.server is None:
            if self.file is not None:  # the import into the file named, the others beside it
                path = self.file if name == "import" else self.file.with_stem(f"{self.file.stem}-{name}")
            else:
                path = self.folder / f"{name}.db"
            if path.exists():
                raise SystemExit(f"--db: {path} exists; the benchmark needs a new file")
            self.created.append(str(path))
            return f"sqlite:///{path}"
        database = f"klagomal_bench_{self.tag}_{name}"
        admin = sa.create_engine(self.server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {database}")
        admin.dispose()
        self.created.append(database)
        return self.server.set(database=database).render_as_string(hide_password=False)

    def close(self, keep: bool = False) -> None:
        """Drop the databases created on a server, unless *keep* (SQLite files
        stay with their folder)."""
        if self.server is None or not self.created:
            return
        if keep:
            print("kept:", ", ".join(self.urls.values()), flush=True)
            return
        admin = sa.create_engine(self.server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
            for database in self.created:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {database}{force}")
        admin.dispose()


def initialise(url: str) -> None:
    """``klagomal init``: the schema, through the migrations."""
    with Klagomal(url, load_entrypoints=False, user="system") as k:
        k.init()


# -- the import, in a child process ------------------------------------------------

# Run in a fresh interpreter, so that its peak RSS is the import's alone.
_IMPORT = """
import datetime, json, resource, sys, time
from klagomal import FixedClock, Klagomal
path, url, batch_size, today = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
clock = FixedClock(datetime.date.fromisoformat(today))
with Klagomal(url, clock=clock, load_entrypoints=False, user="system") as k:
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result = k.import_cases(path, batch_size=batch_size, rejects=path + ".rejected.jsonl")
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_kib": after.ru_maxrss, "before_kib": before.ru_maxrss,
                  "read": result.read, "imported": result.imported, "rejected": result.rejected}))
"""


@attrs.frozen
class ImportRun:
    """One import of a file, in its own process."""

    seconds: float
    cpu_seconds: float  # of this process (a server's own work is not in it)
    imported: int
    peak_mb: float  # peak RSS of the process
    start_mb: float  # its RSS after importing klagomal, before the import began

    @property
    def rate(self) -> float:
        """Cases per second."""
        return self.imported / self.seconds


def import_in_child(path: Path, url: str, batch_size: int) -> ImportRun:
    """Import *path* into *url* (initialised) in a new Python process."""
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT, str(path), url, str(batch_size), TODAY.isoformat()],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the import failed:\n{done.stderr}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    if out["rejected"] or out["imported"] != out["read"]:
        rejects = Path(str(path) + ".rejected.jsonl")
        first = rejects.read_text(encoding="utf-8").splitlines()[:3] if rejects.exists() else []
        raise SystemExit(
            f"the import stored {out['imported']} of {out['read']} rows and rejected {out['rejected']}; "
            f"the generator is wrong: {first}"
        )
    return ImportRun(
        out["seconds"], out["cpu"], out["imported"], out["peak_kib"] / 1024, out["before_kib"] / 1024
    )


# -- the baseline ------------------------------------------------------------------


def _batches(source: sa.Engine, batch_size: int) -> Iterator[list[tuple[sa.Table, list[dict[str, Any]]]]]:
    """The rows the import stored, *batch_size* cases at a time (keyset on
    the reference), with every row of the other tables that belongs to them."""
    last = ""
    with source.connect() as conn:
        while True:
            case_rows = [
                dict(row._mapping)
                for row in conn.execute(
                    sa.select(cases)
                    .where(cases.c.reference > last)
                    .order_by(cases.c.reference)
                    .limit(batch_size)
                )
            ]
            if not case_rows:
                return
            first, last = case_rows[0]["reference"], case_rows[-1]["reference"]

            def rows_of(table: sa.Table, *leave_out: str) -> list[dict[str, Any]]:
                stmt = sa.select(*(c for c in table.columns if c.name not in leave_out)).where(
                    table.c.reference.between(first, last)  # noqa: B023 - used at once
                )
                return [dict(row._mapping) for row in conn.execute(stmt)]

            yield [
                (cases, case_rows),
                (case_dimensions, rows_of(case_dimensions)),
                (external_ids, rows_of(external_ids)),
                (events, rows_of(events, "id")),  # numbered by the target, as in the import
                (notices, rows_of(notices, "id")),
            ]


@attrs.frozen
class RawRun:
    """The baseline's inserts."""

    seconds: float
    cpu_seconds: float  # of this process, in the timed inserts
    cases: int
    rows: int

    @property
    def rate(self) -> float:
        """Cases per second."""
        return self.cases / self.seconds


def raw_baseline(source_url: str, target_url: str, batch_size: int) -> RawRun:
    """Insert the rows stored at *source_url* into the empty, initialised
    *target_url* with Core ``executemany``, one transaction per batch;
    only the inserts are timed."""
    converter = make_converter()
    source = SqlStorage.open(source_url, converter).engine
    # The same engine set-up as klagomal's (SQLite: WAL, synchronous=NORMAL, foreign keys).
    target = SqlStorage.open(target_url, converter).engine
    statements = {
        table: sa.insert(table) for table in (cases, case_dimensions, external_ids, events, notices)
    }
    seconds = cpu = 0.0
    count = rows = 0
    try:
        for batch in _batches(source, batch_size):
            started, cpu_started = time.perf_counter(), time.process_time()
            with target.begin() as conn:
                for table, values in batch:
                    if values:
                        conn.execute(statements[table], values)
            seconds += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
            count += len(batch[0][1])
            rows += sum(len(values) for _table, values in batch)
    finally:
        source.dispose()
        target.dispose()
    return RawRun(seconds, cpu, count, rows)


# -- reads ---------------------------------------------------------------------------


def _median_ms(call: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


@attrs.frozen
class Reads:
    """The read timings, in milliseconds."""

    busiest_unit: str
    busiest_overdue: int
    worklist_ms: float  # median, the busiest unit
    every_unit_ms: float  # median over every unit's calls
    overdue: int  # overdue cases in the whole kommun
    fetch_ms: float  # median, get + history
    fetches: int


def analyse(url: str) -> None:
    """Give a server's planner its statistics, as autovacuum (on by default)
    does after a large import; SQLite keeps none unless asked (klagomal
    never asks)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE TABLE cases, case_dimensions, events, notices, external_ids")
    engine.dispose()


def measure_reads(url: str, *, worklist_repeats: int = 50, fetches: int = 1000, seed: int = SEED) -> Reads:
    """Time the overdue worklists and the fetch of single cases on *url*."""
    with Klagomal(url, clock=FixedClock(TODAY), load_entrypoints=False, user="system") as k:
        units = list(k.organisation.units)
        sizes = {unit: len(k.cases(unit=unit, overdue=True)) for unit in units}  # also warms up
        busiest = max(units, key=lambda unit: (sizes[unit], unit))
        worklist = _median_ms(lambda: k.cases(unit=busiest, overdue=True), worklist_repeats)
        every: list[float] = []
        for unit in units:
            every += [_median_ms(lambda u=unit: k.cases(unit=u, overdue=True), 1) for _ in range(5)]
        rng = random.Random(seed)
        with k.storage.transaction() as uow:
            counters = uow.references()
        years = sorted(counters)
        refs = []
        for _ in range(fetches):
            year = rng.choice(years)
            refs.append(f"{year}-{rng.randint(1, counters[year]):05d}")
        k.get(refs[0])
        k.history(refs[0])
        times = []
        for ref in refs:
            started = time.perf_counter()
            k.get(ref)
            k.history(ref)
            times.append(time.perf_counter() - started)
    return Reads(
        busiest_unit=busiest,
        busiest_overdue=sizes[busiest],
        worklist_ms=worklist,
        every_unit_ms=statistics.median(every),
        overdue=sum(sizes.values()),
        fetch_ms=1000 * statistics.median(times),
        fetches=fetches,
    )


# -- the run ---------------------------------------------------------------------------


@attrs.frozen
class Result:
    """Everything one run measured."""

    backend: str
    facts: FileFacts
    small: FileFacts
    generate_seconds: float
    imported: ImportRun
    small_import: ImportRun
    raw: RawRun
    reads: Reads  # on a server: after ANALYZE, as autovacuum would have run by then
    reads_unanalysed: Reads | None = None  # on a server: before it

    @property
    def ratio(self) -> float:
        """The import's rate over the baseline's."""
        return self.imported.rate / self.raw.rate

    @property
    def rss_growth(self) -> float:
        """How much higher the peak RSS was for the whole file than for the 10x smaller one."""
        return self.imported.peak_mb / self.small_import.peak_mb - 1

    def goals(self) -> list[Goal]:
        """Every goal of issue 5, with what this run measured."""
        i, w = self.imported, self.reads
        return [
            Goal(
                "bulk import rate",
                f"{self.ratio:.2f}x raw",
                f">= {IMPORT_RATIO}x raw",
                self.ratio >= IMPORT_RATIO,
            ),
            Goal("import peak RSS", f"{i.peak_mb:.0f} MB", f"< {RSS_MB:.0f} MB", i.peak_mb < RSS_MB),
            Goal(
                "import peak RSS, 10x the file",
                f"{100 * self.rss_growth:+.1f} %",
                f"grows < {100 * RSS_GROWTH:.0f} %",
                self.rss_growth < RSS_GROWTH,
            ),
            Goal(
                "overdue worklist, busiest unit",
                f"{w.worklist_ms:.2f} ms",
                f"<= {WORKLIST_MS:.0f} ms",
                w.worklist_ms <= WORKLIST_MS,
            ),
            Goal(
                "get + history, one case",
                f"{w.fetch_ms:.2f} ms",
                f"<= {FETCH_MS:.0f} ms",
                w.fetch_ms <= FETCH_MS,
            ),
        ]


def _progress(text: str) -> None:
    print(text, flush=True)


@attrs.frozen
class Goal:
    """One goal and whether the run met it."""

    what: str
    result: str
    goal: str
    met: bool


def run(
    db: str | None,
    count: int,
    batch_size: int,
    folder: Path,
    *,
    keep: bool = False,
    log: Callable[[str], None] = _progress,
) -> Result:
    """Generate the files, import, run the baseline and time the reads."""
    databases = Databases(db, folder)
    try:
        started = time.perf_counter()
        facts = generate(folder / "cases.jsonl", count)
        generate_seconds = time.perf_counter() - started
        small = generate(folder / "small.jsonl", max(1, count // 10))
        log(f"generated {facts.cases:,} cases ({facts.megabytes:.0f} MB) in {generate_seconds:.0f} s")

        def imported(what: FileFacts, name: str) -> ImportRun:
            url = databases.new(name)
            initialise(url)
            done = import_in_child(what.path, url, batch_size)
            log(f"imported {what.cases:,} cases in {done.seconds:.1f} s, peak RSS {done.peak_mb:.0f} MB")
            return done

        small_import = imported(small, "small")
        full_import = imported(facts, "import")
        url = databases.url("import")

        raw_url = databases.new("raw")
        initialise(raw_url)
        raw = raw_baseline(url, raw_url, batch_size)
        log(f"raw inserts of the same {raw.rows:,} rows in {raw.seconds:.1f} s")

        reads = measure_reads(url)
        unanalysed = None
        if databases.server is not None:
            unanalysed = reads
            log(f"before ANALYZE: worklist {reads.worklist_ms:.2f} ms, fetch {reads.fetch_ms:.2f} ms")
            analyse(url)
            reads = measure_reads(url)
        return Result(
            databases.backend,
            facts,
            small,
            generate_seconds,
            full_import,
            small_import,
            raw,
            reads,
            unanalysed,
        )
    finally:
        databases.close(keep)


def report(result: Result, batch_size: int) -> str:
    """The text the benchmark prints."""
    f, i, r, s, w = result.facts, result.imported, result.raw, result.small_import, result.reads
    lines = [
        f"klagomal storage at scale: {result.backend}, {f.cases:,} cases, batch {batch_size}, "
        f"seed {SEED}, today {TODAY}",
        f"file: {f.megabytes:.0f} MB of JSON Lines, {f.events:,} events, {f.anonymous:,} anonymous, "
        f"{f.open:,} still open ({w.overdue:,} overdue); generated in {result.generate_seconds:.0f} s",
        f"{'':<38} {'time':>9} {'rate':>15} {'cpu':>8}",
        f"{'bulk import (Klagomal.import_cases)':<38} {i.seconds:7.1f} s {i.rate:9,.0f} cases/s "
        f"{i.cpu_seconds:6.1f} s",
        f"{'raw Core executemany, the same rows':<38} {r.seconds:7.1f} s {r.rate:9,.0f} cases/s "
        f"{r.cpu_seconds:6.1f} s   ({r.rows:,} rows)",
        f"import/raw: {result.ratio:.2f}x by rate, {r.cpu_seconds / i.cpu_seconds:.2f}x by cpu in process",
        f"peak RSS of the import: {i.peak_mb:.0f} MB ({i.start_mb:.0f} MB before it began); "
        f"of {result.small.cases:,} cases: {s.peak_mb:.0f} MB",
        f"overdue worklist of {w.busiest_unit} ({w.busiest_overdue} cases), median: {w.worklist_ms:.2f} ms",
        f"overdue worklist of every unit, median: {w.every_unit_ms:.2f} ms",
        f"get + history of one case, median of {w.fetches}: {w.fetch_ms:.2f} ms",
    ]
    if (u := result.reads_unanalysed) is not None:
        lines[-3:] = [line + " (after ANALYZE)" for line in lines[-3:]]
        lines += [
            f"before ANALYZE: worklist {u.worklist_ms:.2f} ms, every unit {u.every_unit_ms:.2f} ms, "
            f"get + history {u.fetch_ms:.2f} ms",
        ]
    lines += [
        "",
        f"{'':<32} {'result':<14} {'goal':<16}",
    ]
    for goal in result.goals():
        lines.append(f"{goal.what:<32} {goal.result:<14} {goal.goal:<16} {'PASS' if goal.met else 'FAIL'}")
    return "\n".join(lines)


# -- the webhook subscriptions' look-up per stored event --------------------------------------

#: The configurations of :func:`webhook_lookup`, the baseline first.
LOOKUP_CONFIGS = ("skipped", "0 subscriptions", "1 subscription")


@attrs.frozen
class Registrations:
    """One round of one configuration: wall and CPU seconds of the
    registrations, and the seconds spent inside the look-up itself."""

    count: int
    seconds: float
    cpu_seconds: float
    lookup_seconds: float


@attrs.frozen
class LookupRun:
    """Each of :data:`LOOKUP_CONFIGS`'s rounds, in the same run."""

    backend: str
    count: int
    rounds: dict[str, list[Registrations]]

    def _median(self, config: str, field: str) -> float:
        return statistics.median(getattr(r, field) for r in self.rounds[config])

    def rate(self, config: str) -> float:
        """Registrations per second, the median round."""
        return self.count / self._median(config, "seconds")

    def ratio(self, config: str, field: str = "seconds") -> float:
        """*config*'s time (``seconds`` or ``cpu_seconds``) against the baseline's (1.00: the same)."""
        return self._median(config, field) / self._median(LOOKUP_CONFIGS[0], field)

    def lookup_us(self, config: str) -> float:
        """Microseconds inside the look-up per registration (one event each)."""
        return 1e6 * self._median(config, "lookup_seconds") / self.count

    def lookup_share(self, config: str) -> float:
        """The look-up's share of the registrations' wall time."""
        return self._median(config, "lookup_seconds") / self._median(config, "seconds")


def _register_many(url: str, count: int, *, subscribe: bool, skip_lookup: bool) -> Registrations:
    """Register *count* cases one by one through the facade on the new
    database *url*, timing the look-up of subscriptions inside each."""
    from klagomal.storage.sql import webhooks as webhook_store

    k = Klagomal(url, clock=FixedClock(TODAY), load_entrypoints=False, user="system")
    k.init()
    if subscribe:
        k.webhooks.subscribe("http://127.0.0.1:9/hook", user="nora.lind")
    units = [u.id for u in k.organisation.units.values()][:5]
    real = webhook_store.after_event
    inside = 0.0

    def timed(conn: Any, event: Any) -> None:
        nonlocal inside
        started = time.perf_counter()
        real(conn, event)
        inside += time.perf_counter() - started

    # Skipped: as before webhooks, no look-up at all.
    webhook_store.after_event = (lambda conn, event: None) if skip_lookup else timed  # type: ignore[assignment]
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(count):
            k.register(
                kind="klagomal",
                channel="telefon",
                unit=units[i % len(units)],
                text=f"Ärende {i}: gatlampan är trasig.",
                contact=None,
            )
        done = Registrations(count, time.perf_counter() - wall, time.process_time() - cpu, inside)
    finally:
        webhook_store.after_event = real
        k.dispose()
    return done


def webhook_lookup(
    db: str | None, count: int, folder: Path, *, rounds: int = 3, log: Callable[[str], None] = _progress
) -> LookupRun:
    """Time *count* registrations with the webhook look-up skipped (as before
    webhooks), with it finding no subscription, and with one subscription
    to every event (a delivery written per event): *rounds* rounds, the
    configurations interleaved and their order rotated each round (so that
    neither the machine's load nor the order favours one), every one on a
    new database."""
    databases = Databases(db, folder)
    databases.file = None  # the files go in the folder
    measured: dict[str, list[Registrations]] = {config: [] for config in LOOKUP_CONFIGS}
    try:
        for round_ in range(rounds):
            for n in range(len(LOOKUP_CONFIGS)):
                config = LOOKUP_CONFIGS[(n + round_) % len(LOOKUP_CONFIGS)]
                url = databases.new(f"lookup{round_}{n}")
                done = _register_many(
                    url, count, subscribe=config == "1 subscription", skip_lookup=config == "skipped"
                )
                measured[config].append(done)
                log(
                    f"round {round_ + 1}, {config}: {count / done.seconds:,.0f} registrations/s, "
                    f"look-up {1e6 * done.lookup_seconds / count:.0f} µs each"
                )
    finally:
        databases.close()
    return LookupRun(databases.backend, count, measured)


def lookup_report(run: LookupRun) -> str:
    """The text of ``--webhook-lookup``."""
    lines = [
        f"webhook look-up per stored event: {run.backend}, {run.count:,} registrations per round, "
        f"{len(run.rounds[LOOKUP_CONFIGS[0]])} rounds, medians",
        f"{'':<18} {'registrations/s':>16} {'wall vs skipped':>16} {'cpu vs skipped':>15} "
        f"{'look-up':>10} {'share':>6}",
    ]
    for config in LOOKUP_CONFIGS:
        lines.append(
            f"{config:<18} {run.rate(config):16,.0f} {run.ratio(config):15.3f}x "
            f"{run.ratio(config, 'cpu_seconds'):14.3f}x {run.lookup_us(config):7.0f} µs "
            f"{100 * run.lookup_share(config):5.1f}%"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--db",
        "--server",
        dest="db",
        help="a SQLite URL of a new file, or a server URL on which to create databases "
        "(default: a SQLite file in a temporary folder)",
    )
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--no-goals", action="store_true", help="only report; exit 0 when a goal is missed")
    parser.add_argument("--keep", action="store_true", help="keep the databases made on a server")
    parser.add_argument(
        "--webhook-lookup",
        type=int,
        metavar="N",
        help="only time N registrations with and without the webhook look-up per event",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --webhook-lookup")
    args = parser.parse_args(argv)
    if args.webhook_lookup:
        with tempfile.TemporaryDirectory(prefix="klagomal-bench-") as tmp:
            print(lookup_report(webhook_lookup(args.db, args.webhook_lookup, Path(tmp), rounds=args.rounds)))
        return 0
    with tempfile.TemporaryDirectory(prefix="klagomal-bench-") as tmp:
        result = run(args.db, args.cases, args.batch_size, Path(tmp), keep=args.keep)
    print(report(result, args.batch_size))
    missed = [goal.what for goal in result.goals() if not goal.met]
    return 1 if missed and not args.no_goals else 0


if __name__ == "__main__":
    sys.exit(main())

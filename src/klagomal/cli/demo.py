"""``klagomal demo``: a year of feedback in Exempelkommun, end to end.

The simulation is seeded and deterministic.  It goes through the public
:class:`~klagomal.Klagomal` API day by day with a :class:`FixedClock`, so
every deadline, refusal and notice is the real thing.  It covers every
channel and every lifecycle path: anonymous cases, forwarding, a delay
notice, a clock paused while the person sends missing details, escalation
to level 3, praise passed on, and cases left overdue at the end of the year.
Every working day it runs ``remind`` and ``deliver``, as a kommun's cron
jobs would: the notices it would send are written as ``.eml`` files (e-mail)
and printable ``.html`` letters into an outbox folder, so that a newcomer can
open them.  Then it prints a per-tertial summary and how well the deadlines
were kept.
"""

from __future__ import annotations

import datetime as dt
import heapq
import os
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import attrs

from klagomal.app import Klagomal
from klagomal.cli.base import table_lines
from klagomal.core.clock import FixedClock
from klagomal.core.errors import InvalidInputError, KlagomalError
from klagomal.core.events import Escalated
from klagomal.core.i18n import _, ngettext
from klagomal.core.model import Case, CaseState, Contact, Kind, Level
from klagomal.core.organisation import default_organisation
from klagomal.core.phrases import Purpose
from klagomal.deadlines import policies as deadlines
from klagomal.deadlines.timeliness import Timeliness
from klagomal.records.access import SYSTEM_USER
from klagomal.reports.summary import TertialSummary, summarise_by_tertial

__all__ = ["DEMO_DB", "DEMO_OUTBOX", "DEMO_REPORTS", "DemoResult", "run_demo"]

#: Where the demo writes unless told otherwise; replaced on every run, so
#: that the demo never touches the real ``klagomal.db``.
DEMO_DB = "sqlite:///klagomal-demo.db"

#: Where the demo writes the notices it would send (emptied on every run).
DEMO_OUTBOX = "klagomal-demo-utskick"

#: Where the demo writes its reports: staff per tertial, politicians per half-year.
DEMO_REPORTS = "klagomal-demo-rapporter"

_CHANNEL_WEIGHTS = {
    "telefon": 28,
    "epost": 20,
    "webbformular": 20,
    "svarskort": 10,
    "brev": 8,
    "besok": 8,
    "telefonsvarare": 6,
}
_KIND_WEIGHTS = {Kind.KLAGOMAL: 60, Kind.FORSLAG: 22, Kind.BEROM: 18}

_TEXTS: dict[str, dict[Kind, list[str]]] = {
    "klf": {
        Kind.KLAGOMAL: [
            "Fick inget svar på mitt mejl till kommunen på tre veckor.",
            "Växeln kopplade fel fyra gånger.",
        ],
        Kind.FORSLAG: ["Publicera kommunfullmäktiges handlingar tidigare på webben."],
        Kind.BEROM: ["Kontaktcenter hjälpte mig snabbt och vänligt."],
    },
    "soc": {
        Kind.KLAGOMAL: [
            "Hemtjänsten kom två timmar för sent till min mamma.",
            "Personalen pratade över huvudet på min pappa.",
            "Ingen ringde tillbaka om mitt försörjningsstöd.",
        ],
        Kind.FORSLAG: ["Låt de boende vara med och välja meny på Solgården."],
        Kind.BEROM: ["Tack till personalen på Solgården för fin omsorg om min far."],
    },
    "bou": {
        Kind.KLAGOMAL: [
            "Skolskjutsen har inte kommit tre dagar i rad.",
            "Förskolan informerade inte om stängningsdagen.",
        ],
        Kind.FORSLAG: ["Inför läxhjälp på biblioteket för mellanstadiet."],
        Kind.BEROM: ["Fantastisk lärare i klass 4B på Norrskolan."],
    },
    "sbf": {
        Kind.KLAGOMAL: [
            "Cykelbanan längs ån plogas aldrig.",
            "Handläggningen av mitt bygglov tar orimligt lång tid.",
        ],
        Kind.FORSLAG: ["Sätt upp fler papperskorgar i stadsparken."],
        Kind.BEROM: ["Parkenheten har gjort lekplatsen jättefin."],
    },
    "kof": {
        Kind.KLAGOMAL: [
            "Badhuset var stängt trots att webben sa öppet.",
            "Biblioteket har för korta öppettider.",
        ],
        Kind.FORSLAG: ["Öppna fritidsgården även på söndagar."],
        Kind.BEROM: ["Biblioteket ordnade en underbar sagostund."],
    },
}
#: Each förvaltning's phrase library (R23, the gift principle): a thanks, an
#: apology and the answers its handlers write most often, as a kommun would
#: start one; ``klagomal phrases list`` shows them after the demo.
_PHRASES: dict[str, list[tuple[Purpose, str, str]]] = {
    "klf": [
        (
            Purpose.TACK,
            "Tack för att du hörde av dig",
            "Tack för att du tog dig tid att kontakta oss. Dina synpunkter hjälper oss att bli bättre.",
        ),
        (
            Purpose.URSAKT,
            "Ursäkt för sent svar",
            "Vi ber om ursäkt för att du har fått vänta på svar. Det ska inte ta så lång tid.",
        ),
        (
            Purpose.SVAR,
            "Kontaktcenters öppettider",
            "Kontaktcenter har öppet vardagar 8–17. Du når oss på telefon, e-post eller genom att besöka "
            "kommunhuset.",
        ),
    ],
    "soc": [
        (
            Purpose.TACK,
            "Tack för din synpunkt på omsorgen",
            "Tack för att du berättar hur du och din anhöriga upplever omsorgen. Det du skriver tar vi "
            "med oss i arbetet.",
        ),
        (
            Purpose.URSAKT,
            "Ursäkt för sen hemtjänst",
            "Vi ber om ursäkt för att personalen inte kom på utsatt tid. Så ska det inte vara, och vi ser "
            "nu över planeringen.",
        ),
        (
            Purpose.BESKED,
            "Vi utreder och återkommer",
            "Vi har tagit emot din synpunkt och utreder vad som hänt. Du får ett svar från oss senast det "
            "datum som står i brevet.",
        ),
        (
            Purpose.INFORMATION,
            "Sekretess inom socialtjänsten",
            "Uppgifter om enskildas personliga förhållanden omfattas av sekretess. Därför kan vi inte "
            "berätta allt om hur vi har hanterat ärendet.",
        ),
    ],
    "bou": [
        (
            Purpose.TACK,
            "Tack för ditt förslag om skolan",
            "Tack för ditt förslag. Vi tar gärna emot idéer från elever och vårdnadshavare.",
        ),
        (
            Purpose.URSAKT,
            "Ursäkt för utebliven skolskjuts",
            "Vi ber om ursäkt för att skolskjutsen inte kom. Vi har kontaktat transportören så att det "
            "inte händer igen.",
        ),
        (
            Purpose.SVAR,
            "Ansökan om förskoleplats",
            "Du ansöker om förskoleplats i e-tjänsten senast fyra månader innan du behöver platsen.",
        ),
    ],
    "sbf": [
        (
            Purpose.TACK,
            "Tack för din felanmälan",
            "Tack för att du meddelade oss. Det är tack vare invånare som du som vi hittar fel snabbt.",
        ),
        (
            Purpose.URSAKT,
            "Ursäkt för lång handläggningstid",
            "Vi ber om ursäkt för att handläggningen har dragit ut på tiden. Vi har nu prioriterat ditt "
            "ärende.",
        ),
        (
            Purpose.SVAR,
            "Snöröjning av cykelvägar",
            "Gång- och cykelvägar plogas när det har fallit fem centimeter snö, före bilvägarna.",
        ),
    ],
    "kof": [
        (
            Purpose.TACK,
            "Tack för berömmet",
            "Tack för dina fina ord! Vi har fört dem vidare till personalen, som blev mycket glada.",
        ),
        (
            Purpose.URSAKT,
            "Ursäkt för fel öppettider på webben",
            "Vi ber om ursäkt för att webbplatsen visade fel öppettider. Vi har rättat uppgifterna.",
        ),
        (
            Purpose.INFORMATION,
            "Sommaröppettider",
            "Under sommaren har biblioteket och badhuset kortare öppettider. Aktuella tider finns på "
            "kommunens webbplats.",
        ),
    ],
}

_NAMES = ["Eva Lind", "Ahmed Hassan", "Karin Berg", "Johan Ek", "Maria Nilsson", "Ali Yilmaz", "Sara Holm"]
_HANDLERS = ["Lisa Åberg", "Per Sund", "Mona Falk", "Erik Strand", "Nora Vik"]


@attrs.frozen
class DemoResult:
    """What the demo did, with the summary it prints."""

    db: str
    year: int
    seconds: float
    summary: TertialSummary
    figures: dict[str, int]
    labels: dict[str, dict[str, str]]
    examples: dict[str, str]
    timeliness: Timeliness
    outbox: str = DEMO_OUTBOX
    reports: tuple[str, ...] = ()

    def render(self) -> str:
        """The Swedish text the CLI prints; every table through
        :func:`klagomal.cli.base.table_lines`."""
        f = self.figures
        t = self.timeliness

        def share(part: int, whole: int) -> str:
            if not whole:
                return "-"
            return _("{percent} % ({part} av {whole})").format(
                percent=round(100 * part / whole), part=part, whole=whole
            )

        def median(value: float | None) -> str:
            return "-" if value is None else f"{value:g}".replace(".", ",")

        def figures(rows: list[tuple[str, object]]) -> list[str]:
            return table_lines([[label + ":", str(value)] for label, value in rows], indent="  ")

        lines = [
            _("Exempelkommun: ett år av synpunkter ({year})").format(year=self.year),
            "",
            *self._summary_lines(),
            "",
            _("Handläggning under året:"),
            *figures(
                [
                    (_("anonyma ärenden"), f["anonymous"]),
                    (_("vidarebefordrade (R12)"), f["forwarded"]),
                    (_("allvarliga klagomål (R15)"), f["serious"]),
                    (_("förseningsbesked i tid (R11)"), f["postponed_in_time"]),
                    (_("förseningsbesked för sent"), f["postponed_late"]),
                    (_("pausade i väntan på personen"), f["paused"]),
                    (_("åtgärder (R16)"), f["actions"]),
                    (_("beröm vidarebefordrat (R22)"), f["praise_passed_on"]),
                    (_("lyfta till nivå 2 (R20)"), f["level_2"]),
                    (_("lyfta till nivå 3 (R21)"), f["level_3"]),
                    (_("avslutade, nöjda / inte nöjda"), f"{f['satisfied']} / {f['not_satisfied']}"),
                    (_("brev och besked till personen"), f["notices"]),
                    (
                        _("försenade vid årets slut"),
                        _("{n} (besked {a}, svar {b})").format(
                            n=f["overdue"], a=f["overdue_besked"], b=f["overdue_svar"]
                        ),
                    ),
                    (_("steg som rutinen vägrade (R2, R5)"), f["refused"]),
                    (_("påminnelser / larm till chef"), f"{f['reminders']} / {f['breach_alerts']}"),
                ]
            ),
            "",
            _("Tidsfrister (R7, R10, R11), räknat i arbetsdagar:"),
            *figures(
                [
                    (_("besked inom tidsfristen"), share(t.acknowledged_in_time, t.acknowledgements)),
                    (_("svar senast lovat datum"), share(t.answered_in_time, t.answers)),
                    (_("förseningsbesked i tid"), share(t.delay_notices_in_time, t.delay_notices)),
                    (
                        _("median till besked / svar"),
                        _("{a} / {b} arbetsdagar").format(
                            a=median(t.median_days_to_acknowledge), b=median(t.median_days_to_answer)
                        ),
                    ),
                ]
            ),
            "",
            _("Utskick (docs/notices.md):"),
            *figures(
                [
                    (_("e-post som .eml-filer"), f["emails"]),
                    (_("brev att skriva ut (.html)"), f["letters"]),
                    (_("uppgifter: ring personen"), f["tasks"]),
                ]
            ),
            _("  Öppna dem i mappen {folder}/").format(folder=self.outbox),
            "",
            _("Rapporter (R17, R18), som HTML:"),
            *(f"  {path}" for path in self.reports),
            "",
            _(
                "Exempel: 'klagomal --db {db} --user nora.lind show {ref}' visar ett ärende som gick "
                "till nämnden (som systemägaren i Exempelkommun)."
            ).format(db=self.db, ref=self.examples.get("level_3", "-")),
            _("Klart på {seconds:.1f} s.").format(seconds=self.seconds),
        ]
        return "\n".join(lines)

    def _summary_lines(self) -> list[str]:
        """The cases per tertial, one table per grouping (most first; equal
        totals by label, so that the order never depends on the process's
        hash seed), and the year's total."""
        summary = self.summary
        tertials = (1, 2, 3)
        heads = [f"T{n}" for n in tertials] + [_("År")]
        lines: list[str] = []
        for title, key, counts in (
            (_("Typ"), "kind", summary.by_kind),
            (_("Kvalitetsdimension"), "dimension", summary.by_dimension),
            (_("Förvaltning"), "department", summary.by_department),
            (_("Kanal"), "channel", summary.by_channel),
        ):
            names = {i: self.labels.get(key, {}).get(i, i) for c in counts.values() for i in c}
            ids = sorted(names, key=lambda i: (-sum(c[i] for c in counts.values()), names[i]))
            rows: list[list[object]] = [[title, *heads]]
            for i in ids:
                row = [counts[n][i] for n in tertials]
                rows.append([names[i], *row, sum(row)])
            lines += [*table_lines(rows, right=range(1, 5)), ""]
        total = [summary.total[n] for n in tertials]
        lines.append(
            ngettext(
                "Totalt {year}: {n} ärende (T1 {t1}, T2 {t2}, T3 {t3})",
                "Totalt {year}: {n} ärenden (T1 {t1}, T2 {t2}, T3 {t3})",
                sum(total),
            ).format(year=summary.year, n=sum(total), t1=total[0], t2=total[1], t3=total[2])
        )
        return lines

    def to_json(self) -> dict[str, Any]:
        """The result as one JSON object."""
        return {
            "db": self.db,
            "outbox": self.outbox,
            "reports": list(self.reports),
            "year": self.year,
            "seconds": round(self.seconds, 2),
            "summary": self.summary.to_json(),
            "figures": self.figures,
            "examples": self.examples,
            "timeliness": self.timeliness.to_json(),
        }


def _fresh_sqlite(db: str) -> None:
    """Remove the demo's own SQLite file (and WAL files) so every run starts clean."""
    prefix = "sqlite:///"
    if db.startswith(prefix) and db != prefix:
        path = db[len(prefix) :]
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)


def _write_reports(k: Klagomal, year: int, folder: str) -> tuple[str, ...]:
    """The staff's report for each tertial (R17) and the politicians' for
    each half-year (R18), as HTML files in *folder*."""
    from klagomal.reports.data import build_report
    from klagomal.reports.periods import parse_period
    from klagomal.reports.render import write_report

    os.makedirs(folder, exist_ok=True)
    written = []
    for audience, name, periods in (
        ("staff", "personal", ("T1", "T2", "T3")),
        ("politicians", "fortroendevalda", ("H1", "H2")),
    ):
        for part in periods:
            report = build_report(k, parse_period(f"{year}-{part}"), audience=audience)
            path = os.path.join(folder, f"{name}-{year}-{part}.html")
            write_report(report, "html", path)
            written.append(path)
    return tuple(written)


def _fresh_outbox(folder: str) -> None:
    """Empty the demo's outbox folder of the files an earlier run wrote."""
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            if name.endswith((".eml", ".html")):
                os.remove(os.path.join(folder, name))


@attrs.define
class _Simulation:
    k: Klagomal
    clock: FixedClock
    rng: random.Random
    queue: list[tuple[dt.date, int, str, Callable[[Case], object]]] = attrs.field(factory=list)
    counter: int = 0
    refused: int = 0
    reminders: Counter[str] = attrs.field(factory=Counter)

    def later(self, case: Case, working_days: int, step: Callable[[Case], object]) -> None:
        when = deadlines.add_working_days(self.clock.today(), max(1, working_days))
        self.counter += 1
        heapq.heappush(self.queue, (when, self.counter, case.reference, step))

    def run_due(self) -> None:
        while self.queue and self.queue[0][0] <= self.clock.today():
            _day, _n, reference, step = heapq.heappop(self.queue)
            try:
                step(self.k.get(reference))
            except InvalidInputError:
                self.refused += 1

    # -- paths -----------------------------------------------------------

    def respond_by(self, days: int) -> dt.date:
        return deadlines.add_working_days(self.clock.today(), days)

    def start(self, case: Case, plan: str) -> None:
        rng = self.rng
        if plan == "forward":
            wrong = [
                u for u in self.k.organisation.units if u != case.unit and not u.startswith(case.department)
            ]
            target = case.unit

            def forward_then_continue(c: Case) -> None:
                self.k.forward(c.reference, rng.choice(wrong))
                self.later(c, rng.randint(1, 2), lambda c2: self.k.forward(c2.reference, target))
                self.later(c, 3, lambda c3: self.acknowledge(c3, "normal"))

            self.later(case, 1, forward_then_continue)
            return
        if plan == "neglected_ack":
            return  # never acknowledged: overdue on besked at year end
        delay = rng.randint(1, 8) if plan != "late_ack" else rng.randint(11, 14)
        self.later(case, delay, lambda c: self.acknowledge(c, plan))

    def acknowledge(self, case: Case, plan: str) -> None:
        rng = self.rng
        handler = case.handler or rng.choice(_HANDLERS)
        c = self.k.acknowledge(case.reference, handler, self.respond_by(rng.randint(10, 25)))
        assert c.respond_by is not None
        days_left = deadlines.working_days_between(self.clock.today(), c.respond_by)
        if case.kind is Kind.BEROM:
            self.later(c, 1, self.pass_on)
        if plan == "neglected_answer":
            return
        if plan == "pause" and not c.anonymous:
            # The handler needs details from the person; they arrive some days later.
            self.later(c, max(1, days_left // 3), self.pause)
            return
        if plan in ("postpone", "late_postpone"):
            when = max(1, days_left - 2) if plan == "postpone" else days_left + 2
            self.later(c, when, self.postpone)
            return
        if not c.anonymous and rng.random() < 0.3:
            self.later(c, max(1, days_left // 2), self.inform)
        self.later(c, rng.randint(2, max(2, days_left)), lambda c2: self.finish(c2, plan))

    def pause(self, case: Case) -> None:
        c = self.k.pause(case.reference, _("Vi behöver ett läkarintyg för att kunna utreda vidare."))
        self.later(c, self.rng.randint(3, 8), self.resume)

    def resume(self, case: Case) -> None:
        c = self.k.resume(case.reference)
        assert c.respond_by is not None
        days_left = deadlines.working_days_between(self.clock.today(), c.respond_by)
        self.later(c, self.rng.randint(1, max(1, days_left)), lambda c2: self.finish(c2, "normal"))

    def inform(self, case: Case) -> None:
        if case.state is CaseState.HANDLAGGNING:  # it may already be answered
            self.k.inform(case.reference, _("Vi utreder ärendet och återkommer."))

    def postpone(self, case: Case) -> None:
        assert case.respond_by is not None
        new_date = deadlines.add_working_days(max(case.respond_by, self.clock.today()), 10)
        c = self.k.postpone(case.reference, new_date, _("Vi behöver inhämta yttrande från verksamheten."))
        self.later(
            c,
            deadlines.working_days_between(self.clock.today(), new_date) - 1,
            lambda c2: self.finish(c2, "normal"),
        )

    def pass_on(self, case: Case) -> None:
        staff = self.k.organisation.nearest_manager(case.unit)
        self.k.pass_on_praise(case.reference, [staff], _("Ett varmt tack från en medborgare!"))

    def finish(self, case: Case, plan: str) -> None:
        rng = self.rng
        if case.kind is Kind.KLAGOMAL and rng.random() < 0.6:
            case = self.k.record_action(case.reference, _("Rutinen ses över och personalen har informerats."))
        if case.anonymous:
            self.k.close(case.reference, None)
            return
        mode = "skriftligt" if rng.random() < 0.7 else "muntligt"
        case = self.k.answer(
            case.reference, mode, _("Tack för att du hörde av dig. Vi ber om ursäkt och har åtgärdat.")
        )
        satisfied = plan not in ("escalate_2", "escalate_3") and rng.random() < 0.85
        self.later(case, rng.randint(1, 5), lambda c: self.close(c, satisfied, plan))

    def close(self, case: Case, satisfied: bool, plan: str) -> None:
        # The handler has phoned the person: a case is closed with no task open.
        for task in self.k.outbox(reference=case.reference, statuses=["task"]):
            self.k.complete_task(task.id)
        c = self.k.close(case.reference, satisfied)
        if satisfied and c.reference.endswith("0") and self.k.organisation.publication:
            # Exempelkommun publishes some answered cases ("Tyck till"), each by
            # a handler's step; decided by the number, so the seed's path stays.
            self.publish(c)
        wants_more = plan == "escalate_3" or (plan == "escalate_2" and c.level is Level.ENHET)
        if not satisfied and wants_more and c.level < Level.NAMND:
            self.later(c, self.rng.randint(2, 10), self.escalate)

    def publish(self, case: Case) -> None:
        if case.secrecy is None and not case.protected:
            self.k.publish(case.reference)

    def escalate(self, case: Case) -> None:
        plan = "escalate_3" if case.level is Level.ENHET or self.rng.random() < 0.5 else "normal"
        c = self.k.escalate(case.reference, _("Personen är inte nöjd med hanteringen."))
        self.later(c, self.rng.randint(2, 8), lambda c2: self.acknowledge(c2, plan))


_PLANS = {
    "normal": 66,
    "pause": 4,
    "forward": 8,
    "postpone": 6,
    "late_postpone": 2,
    "late_ack": 3,
    "escalate_2": 5,
    "escalate_3": 2,
    "neglected_ack": 1,
    "neglected_answer": 2,
}

# The first cases of the year walk the rarer paths, so that every path is
# shown whatever the seed.
_SHOWCASE = ["escalate_3", "forward", "postpone", "late_postpone", "escalate_2", "late_ack", "pause"]


def run_demo(
    db: str = DEMO_DB, *, seed: int = 2026, year: int = 2026, cases: int = 600, outbox: str = DEMO_OUTBOX
) -> DemoResult:
    """Simulate *year* with about *cases* cases and return the result.

    The demo's default SQLite file is replaced on each run.  Any other
    database must be empty, so that the demo never mixes with real cases.
    The notices go to the folder *outbox*, whose ``.eml`` and ``.html``
    files are removed first.
    """
    import time

    started = time.perf_counter()
    if db == DEMO_DB:
        _fresh_sqlite(db)
    _fresh_outbox(outbox)
    clock = FixedClock(dt.date(year, 1, 1))
    organisation = default_organisation()
    # E-mail as .eml files and letters as printable HTML, whatever the file configures.
    delivery = attrs.evolve(
        organisation.delivery, email_notifier="fil", letter_notifier="utskrift", folder=outbox
    )
    # The simulation acts as klagomal itself: it plays every role at once.
    k = Klagomal(
        db,
        organisation=attrs.evolve(organisation, delivery=delivery),
        clock=clock,
        load_entrypoints=False,
        user=SYSTEM_USER,
    )
    try:
        k.init()
        if k.cases():
            raise InvalidInputError(
                _("demon behöver en tom databas; {db} innehåller redan ärenden").format(db=db), step="demo"
            )
        _seed_phrases(k)
        sim = _Simulation(k, clock, random.Random(seed))
        org = k.organisation
        leaves = [u for u in org.units.values() if not org.children(u.id)]
        working_days = deadlines.working_days_between(dt.date(year - 1, 12, 31), dt.date(year, 12, 31))
        per_day = cases / working_days
        showcase = list(_SHOWCASE)
        channels = list(_CHANNEL_WEIGHTS)
        day = dt.date(year, 1, 1)
        while day.year == year:
            clock.set(day)
            sim.run_due()
            if deadlines.is_working_day(day):
                n = int(per_day) + (1 if sim.rng.random() < per_day % 1 else 0)
                for _i in range(n):
                    _register_one(sim, leaves, channels, showcase)
                # The kommun's daily cron jobs.
                run = k.remind("fil")
                sim.reminders.update(r.kind for r in run.sent)
                k.deliver()
            day += dt.timedelta(days=1)
        clock.set(dt.date(year, 12, 31))
        _try_forbidden_steps(sim)
        k.deliver()
        reports = _write_reports(k, year, DEMO_REPORTS)
        result = _result(k, db, year, sim, time.perf_counter() - started, outbox)
        return attrs.evolve(result, reports=reports)
    finally:
        k.dispose()


def _seed_phrases(k: Klagomal) -> None:
    """Start each förvaltning's phrase library (R23) that the organisation
    file names, so that the phrases have something to show."""
    for department, phrases in _PHRASES.items():
        if department in k.organisation.departments:
            for purpose, title, text in phrases:
                k.save_phrase(department, purpose, title, text)


def _try_forbidden_steps(sim: _Simulation) -> None:
    """Show that the routine's rules hold: a complaint cannot be turned into
    something else (R2), and the web form does not take anonymous feedback (R5)."""
    attempts: list[Callable[[], object]] = [
        lambda: sim.k.register(
            kind=Kind.KLAGOMAL, channel="webbformular", unit="klf", text="Anonymt", contact=None
        ),
    ]
    # A small demo may have no open complaint to try it on.
    complaint = next(
        (c for c in sim.k.cases() if c.kind is Kind.KLAGOMAL and c.state is not CaseState.AVSLUTAT), None
    )
    if complaint is not None:
        reference = complaint.reference
        attempts.append(
            lambda: sim.k.reclassify(reference, Kind.FORSLAG, _("Det här är väl inget klagomål?"))
        )
    for attempt in attempts:
        try:
            attempt()
        except KlagomalError:
            sim.refused += 1


def _register_one(sim: _Simulation, leaves: list[Any], channels: list[str], showcase: list[str]) -> None:
    rng = sim.rng
    k = sim.k
    plan = showcase.pop(0) if showcase else rng.choices(list(_PLANS), weights=list(_PLANS.values()))[0]
    if plan.startswith("escalate") or plan == "pause":
        kind = Kind.KLAGOMAL
    else:
        kind = rng.choices(list(_KIND_WEIGHTS), weights=list(_KIND_WEIGHTS.values()))[0]
    channel = rng.choices(channels, weights=list(_CHANNEL_WEIGHTS.values()))[0]
    unit = rng.choice(leaves)
    anonymous = (
        plan in ("normal", "neglected_answer")
        and k.channels[channel].allows_anonymous
        and channel in ("svarskort", "telefon", "brev")
        and rng.random() < 0.3
    )
    contact = None
    if not anonymous:
        name = rng.choice(_NAMES)
        contact = Contact(
            name=name,
            email=f"{name.split()[0].lower()}@example.se" if channel in ("epost", "webbformular") else None,
            phone="070-123 45 67" if channel in ("telefon", "telefonsvarare") else None,
            address="Storgatan 1, 123 45 Exempelstad" if channel in ("brev", "svarskort") else None,
        )
    dims = rng.sample(["tillganglighet", "kompetens", "bemotande", "inflytande"], k=rng.choice([1, 1, 1, 2]))
    # Letters are opened a day or two after they arrive; the deadline counts from receipt.
    received = sim.clock.today()
    if channel == "brev":
        received = max(dt.date(received.year, 1, 1), received - dt.timedelta(days=rng.randint(0, 2)))
    case = k.register(
        kind=kind,
        channel=channel,
        unit=unit.id,
        text=rng.choice(_TEXTS[unit.department][kind]),
        received=received,
        contact=contact,
        dimensions=dims,
        serious=kind is Kind.KLAGOMAL and rng.random() < 0.05,
    )
    sim.start(case, plan)


def _result(k: Klagomal, db: str, year: int, sim: _Simulation, seconds: float, outbox: str) -> DemoResult:
    today = k.clock.today()
    all_cases = k.cases()
    histories = k.histories([c.reference for c in all_cases])
    types: Counter[str] = Counter(e.type for h in histories.values() for e in h)
    overdue = Counter(c.overdue_reason(today) for c in all_cases)
    escalations = Counter(
        int(e.data.level) for h in histories.values() for e in h if isinstance(e.data, Escalated)
    )
    examples = {}
    level_3 = [c.reference for c in all_cases if c.level is Level.NAMND]
    if level_3:
        examples["level_3"] = level_3[0]
    notices = sum(len(k.notices(c.reference)) for c in all_cases)
    sent = k.outbox(statuses=("sent",))
    figures = {
        "cases": len(all_cases),
        "anonymous": sum(c.anonymous for c in all_cases),
        "forwarded": sum(1 for c in all_cases if c.forwards),
        "serious": sum(c.serious for c in all_cases),
        "postponed_in_time": sum(c.postponements - c.late_postponements for c in all_cases),
        "postponed_late": sum(c.late_postponements for c in all_cases),
        "paused": sum(1 for h in histories.values() if any(e.type == "paused" for e in h)),
        "actions": types["action_recorded"],
        "praise_passed_on": sum(c.praise_passed_on for c in all_cases),
        "level_2": escalations[2],
        "level_3": escalations[3],
        "satisfied": sum(1 for c in all_cases if c.state is CaseState.AVSLUTAT and c.satisfied is True),
        "not_satisfied": sum(1 for c in all_cases if c.state is CaseState.AVSLUTAT and c.satisfied is False),
        "notices": notices,
        "emails": sum(1 for n in sent if n.way == "epost"),
        "letters": sum(1 for n in sent if n.way == "brev"),
        "tasks": sum(1 for n in k.outbox(statuses=("task",))),
        "overdue": overdue["besked"] + overdue["svar"],
        "overdue_besked": overdue["besked"],
        "overdue_svar": overdue["svar"],
        "refused": sim.refused,
        "reminders": sim.reminders["paminnelse"],
        "breach_alerts": sim.reminders["overskriden"],
    }
    labels = {
        "kind": {kind.value: kind.label for kind in Kind},
        "dimension": {d.id: d.label for d in k.dimensions.values()},
        "department": {d.id: d.name for d in k.organisation.departments.values()},
        "channel": {c.id: c.label for c in k.channels.values()},
    }
    timeliness = k.timeliness(dt.date(year, 1, 1), dt.date(year, 12, 31))
    return DemoResult(
        db,
        year,
        seconds,
        summarise_by_tertial(all_cases, year),
        figures,
        labels,
        examples,
        timeliness,
        outbox,
    )

"""The figures of a report, aggregated in SQL (R16–R18, R31, R32).

One :func:`build_report` reads everything a report shows from one snapshot
of the database, with a handful of ``GROUP BY`` queries over the cases
received in the period (the index on ``cases.received`` keeps each to the
period's rows), never a Python loop over cases:

* volume by kind, with the previous period and the same period last year;
* volume by quality dimension, by förvaltning or unit, and by channel (R32);
* the actions taken (R16), counted per quality dimension and, for staff,
  listed;
* how they were received (R17): closed satisfied or not, and how many cases
  went to level 2 and 3 (R19–R21);
* timeliness (R7, R10, R11): the share of besked within the deadline, of
  answers by the promised date, of delay notices given in time, and the
  median working days to besked and to answer;
* forwarding hops (R12), the anonymous share, praise, and the quality
  deficiencies to work on: the dimensions complaints name most, per
  förvaltning (R16).

The politicians' report is a public document (R18): counts below the
threshold (default 3) are shown as ``<3``, and it holds no text any person
wrote, so no personal data and nothing secret.  The staff report quotes
praise where the case is not secret, and lists actions of cases that are
not secret.

Timeliness is read from the cases as they are now, not replayed from every
event: a besked is in time when it was given by the deadline it answered,
an answer when it came by the promised date and no promise was moved too
late.  For a case raised to a higher level, that is the latest level's
besked and answer.  The median working days count on the Swedish calendar,
for the period's cases at once (the calendar's bulk path).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from klagomal.access import Operation
from klagomal.calendars import swedish_calendar
from klagomal.errors import InvalidInputError
from klagomal.i18n import _
from klagomal.model import Kind
from klagomal.periods import previous_period, same_period_last_year
from klagomal.report_model import AUDIENCES, Chart, Period, Report, Series, Table
from klagomal.reports import ReportScope, build_sections
from klagomal.storage.tables import case_dimensions, cases, disposals, events

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.app import Klagomal

__all__ = ["DEFAULT_THRESHOLD", "build_report"]

#: Counts below this are suppressed in the politicians' report.
DEFAULT_THRESHOLD = 3

_MONTHS = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")

#: How many praise quotes and actions a staff report shows.
_QUOTES = 5
_ACTIONS = 20


def build_report(
    k: Klagomal,
    period: Period,
    *,
    department: str | None = None,
    unit: str | None = None,
    audience: str = "staff",
    threshold: int = DEFAULT_THRESHOLD,
) -> Report:
    """The report on *period* for the whole kommun, one förvaltning
    (*department*) or one unit and every unit below it (*unit*: a manager's
    report covers their subtree)."""
    if audience not in AUDIENCES:
        raise InvalidInputError(
            _("okänd mottagare '{audience}' (giltiga: staff, politicians)").format(audience=audience),
            step="report",
        )
    org = k.organisation
    if department is not None and department not in org.departments:
        raise InvalidInputError(
            _("okänd förvaltning '{department}'").format(department=department), step="report"
        )
    units: list[str] | None = None
    if unit is not None:
        if not org.has_unit(unit):
            raise InvalidInputError(
                _("okänd enhet '{unit}' (se 'klagomal units')").format(unit=unit), step="report"
            )
        units = org.subtree(unit)
        scope_label = org.unit(unit).name
    elif department is not None:
        scope_label = org.departments[department].name
    else:
        scope_label = _("hela kommunen")
    # R27: the staff report quotes texts; the politicians' report is numbers only.
    operation = Operation.STATISTICS if audience == "politicians" else Operation.STAFF_REPORT
    k._allowed_units(operation, units or (org.subtree(department) if department is not None else []))
    quoted: list[str] = []

    def scoped(query: Any) -> Any:
        if units is not None:
            return query.where(cases.c.unit.in_(units))
        if department is not None:
            return query.where(cases.c.department == department)
        return query

    def within(p: Period) -> Any:
        return cases.c.received.between(p.start, p.end)

    public = audience == "politicians"

    def count(n: int) -> int | str:
        """A count as published: suppressed below the threshold for the politicians."""
        return f"<{threshold}" if public and 0 < n < threshold else n

    previous, last_year = previous_period(period), same_period_last_year(period)
    today = k.clock.today()
    tables: list[Table] = []
    charts: list[Chart] = []
    notes: list[str] = []
    highlights: list[str] = []
    with k._snapshot() as uow:
        conn = uow.conn

        # -- volume by kind, now, before, and a year ago --------------------
        volume: dict[tuple[str, str], int] = {}
        for name, p in (("now", period), ("previous", previous), ("last_year", last_year)):
            for r in conn.execute(
                scoped(
                    sa.select(cases.c.kind, sa.func.count().label("n"))
                    .where(within(p))
                    .group_by(cases.c.kind)
                )
            ):
                volume[name, r.kind] = int(r.n)
        total = sum(n for (b, _kind), n in volume.items() if b == "now")

        def change(now: int, before: int) -> str:
            if before == 0:
                return "-"
            return f"{round(100 * (now - before) / before):+d} %"

        kind_rows = []
        for kind in Kind:
            now = volume.get(("now", kind.value), 0)
            before = volume.get(("previous", kind.value), 0)
            ago = volume.get(("last_year", kind.value), 0)
            kind_rows.append((kind.label, count(now), count(before), count(ago), change(now, ago)))
        totals = [sum(volume.get((b, kd.value), 0) for kd in Kind) for b in ("now", "previous", "last_year")]
        kind_rows.append(
            (_("Totalt"), count(totals[0]), count(totals[1]), count(totals[2]), change(totals[0], totals[2]))
        )
        tables.append(
            Table(
                "volym-per-typ",
                _("Synpunkter per typ"),
                (_("Typ"), period.label, previous.label, last_year.label, _("Förändring mot i fjol")),
                tuple(kind_rows),
            )
        )
        charts.append(
            Chart(
                "typ",
                _("Synpunkter per typ"),
                "bar",
                tuple(kind.label for kind in Kind),
                (
                    Series(
                        last_year.label, tuple(float(volume.get(("last_year", kd.value), 0)) for kd in Kind)
                    ),
                    Series(period.label, tuple(float(volume.get(("now", kd.value), 0)) for kd in Kind)),
                ),
                _("ärenden"),
            )
        )

        # -- by quality dimension, with the actions per dimension (R6, R16) --
        rows = conn.execute(
            scoped(
                sa.select(
                    case_dimensions.c.dimension,
                    cases.c.kind,
                    sa.func.count().label("n"),
                    sa.func.sum(cases.c.actions).label("actions"),
                )
                .select_from(cases.join(case_dimensions, case_dimensions.c.reference == cases.c.reference))
                .where(within(period))
                .group_by(case_dimensions.c.dimension, cases.c.kind)
            )
        ).all()
        by_dimension: dict[str, dict[str, int]] = {}
        for r in rows:
            entry = by_dimension.setdefault(r.dimension, {"actions": 0})
            entry[r.kind] = int(r.n)
            entry["actions"] += int(r.actions or 0)
        labels = {d.id: d.label for d in k.dimensions.values()}
        ordered = sorted(
            by_dimension, key=lambda d: (-sum(v for key, v in by_dimension[d].items() if key != "actions"), d)
        )
        tables.append(
            Table(
                "kvalitetsdimension",
                _("Per kvalitetsdimension, med åtgärder"),
                (_("Kvalitetsdimension"), *(kind.label for kind in Kind), _("Åtgärder")),
                tuple(
                    (
                        labels.get(d, d),
                        *(count(by_dimension[d].get(kind.value, 0)) for kind in Kind),
                        count(by_dimension[d]["actions"]),
                    )
                    for d in ordered
                ),
                _("Ett ärende kan ha flera dimensioner."),
            )
        )
        charts.append(
            Chart(
                "dimension",
                _("Synpunkter per kvalitetsdimension"),
                "bar",
                tuple(labels.get(d, d) for d in ordered),
                tuple(
                    Series(kind.label, tuple(float(by_dimension[d].get(kind.value, 0)) for d in ordered))
                    for kind in Kind
                ),
                _("ärenden"),
            )
        )

        # -- where: förvaltning (or unit within one), and channel (R32) ------
        place = cases.c.unit if (department is not None or units is not None) else cases.c.department
        rows = conn.execute(
            scoped(
                sa.select(place.label("place"), sa.func.count().label("n"))
                .where(within(period))
                .group_by(place)
            )
        ).all()
        names = {u.id: u.name for u in org.units.values()}
        tables.append(
            Table(
                "per-enhet" if place is cases.c.unit else "per-forvaltning",
                _("Per enhet") if place is cases.c.unit else _("Per förvaltning"),
                (_("Enhet") if place is cases.c.unit else _("Förvaltning"), _("Antal")),
                tuple(
                    (names.get(r.place, r.place), count(int(r.n)))
                    for r in sorted(rows, key=lambda r: (-r.n, r.place))
                ),
            )
        )
        rows = conn.execute(
            scoped(
                sa.select(cases.c.channel, sa.func.count().label("n"))
                .where(within(period))
                .group_by(cases.c.channel)
            )
        ).all()
        channel_labels = {c.id: c.label for c in k.channels.values()}
        tables.append(
            Table(
                "per-kanal",
                _("Per kanal"),
                (_("Kanal"), _("Antal")),
                tuple(
                    (channel_labels.get(r.channel, r.channel), count(int(r.n)))
                    for r in sorted(rows, key=lambda r: (-r.n, r.channel))
                ),
            )
        )

        # -- handling, reception and timeliness, in one pass ---------------
        def flag(condition: Any) -> Any:
            """How many cases meet *condition*."""
            return sa.func.sum(sa.case((condition, 1), else_=0))

        row = conn.execute(
            scoped(
                sa.select(
                    sa.func.count().label("cases"),
                    flag(cases.c.anonymous).label("anonymous"),
                    flag(cases.c.forwards > 0).label("forwarded"),
                    sa.func.coalesce(sa.func.sum(cases.c.forwards), 0).label("hops"),
                    sa.func.coalesce(sa.func.sum(cases.c.actions), 0).label("actions"),
                    flag(cases.c.closed.is_not(None) & (cases.c.satisfied == sa.true())).label("satisfied"),
                    flag(cases.c.closed.is_not(None) & (cases.c.satisfied == sa.false())).label(
                        "not_satisfied"
                    ),
                    flag(cases.c.level >= 2).label("level_2"),
                    flag(cases.c.level >= 3).label("level_3"),
                    flag(cases.c.resolved_at_once).label("at_once"),
                    flag(cases.c.acknowledged.is_not(None) | (cases.c.acknowledge_by < today)).label(
                        "ack_due"
                    ),
                    flag(
                        cases.c.acknowledged.is_not(None) & (cases.c.acknowledged <= cases.c.acknowledge_by)
                    ).label("ack_in_time"),
                    flag(
                        cases.c.answered.is_not(None)
                        | (
                            (cases.c.respond_by < today)
                            & cases.c.paused_since.is_(None)
                            & cases.c.closed.is_(None)
                        )
                    ).label("answer_due"),
                    flag(
                        cases.c.answered.is_not(None)
                        & (cases.c.answered <= cases.c.respond_by)
                        & (cases.c.late_postponements == 0)
                    ).label("answer_in_time"),
                    sa.func.coalesce(sa.func.sum(cases.c.postponements), 0).label("postponements"),
                    sa.func.coalesce(sa.func.sum(cases.c.late_postponements), 0).label("late"),
                ).where(within(period))
            )
        ).one()
        figures = {key: int(value or 0) for key, value in row._mapping.items()}

        def share(part: int, whole: int) -> str:
            return "-" if whole == 0 else f"{round(100 * part / whole)} %"

        # Median working days: the pairs come from SQL, the calendar counts them at once.
        pairs = conn.execute(
            scoped(
                sa.select(cases.c.received, cases.c.acknowledged, cases.c.answered).where(
                    within(period), cases.c.acknowledged.is_not(None)
                )
            )
        ).all()
        calendar = swedish_calendar()
        to_ack = calendar.working_days_between_many(
            [p.received for p in pairs], [p.acknowledged for p in pairs]
        )
        answered = [p for p in pairs if p.answered is not None]
        to_answer = calendar.working_days_between_many(
            [p.received for p in answered], [p.answered for p in answered]
        )

        def median(values: Sequence[int]) -> str:
            return "-" if not values else f"{statistics.median(values):g}".replace(".", ",")

        n = figures["cases"]
        tables.append(
            Table(
                "handlaggning",
                _("Handläggning och hur åtgärderna togs emot"),
                (_("Mått"), _("Värde")),
                (
                    (_("Ärenden"), count(n)),
                    (_("Anonyma"), share(figures["anonymous"], n)),
                    (_("Vidarebefordrade (R12)"), count(figures["forwarded"])),
                    (_("Vidarebefordringar totalt"), count(figures["hops"])),
                    (_("Lösta direkt (R14)"), count(figures["at_once"])),
                    (_("Åtgärder (R16)"), count(figures["actions"])),
                    (_("Avslutade, nöjda"), count(figures["satisfied"])),
                    (_("Avslutade, inte nöjda"), count(figures["not_satisfied"])),
                    (_("Lyfta till förvaltningschefen (nivå 2)"), count(figures["level_2"])),
                    (_("Lyfta till nämnden (nivå 3)"), count(figures["level_3"])),
                ),
            )
        )
        tables.append(
            Table(
                "tidsfrister",
                _("Tidsfrister (R7, R10, R11)"),
                (_("Mått"), _("Värde")),
                (
                    (_("Besked inom tidsfristen"), share(figures["ack_in_time"], figures["ack_due"])),
                    (_("Svar senast utlovat datum"), share(figures["answer_in_time"], figures["answer_due"])),
                    (
                        _("Förseningsbesked i tid"),
                        share(figures["postponements"] - figures["late"], figures["postponements"]),
                    ),
                    (_("Median till besked, arbetsdagar"), median(to_ack)),
                    (_("Median till svar, arbetsdagar"), median(to_answer)),
                ),
                _(
                    "Räknat på ärendena som de ser ut i dag; "
                    "för ett ärende som lyfts gäller den senaste nivån."
                ),
            )
        )

        # -- the timeliness trend, month by month (R7, R10) ------------------
        year, month = sa.extract("year", cases.c.received), sa.extract("month", cases.c.received)
        rows = conn.execute(
            scoped(
                sa.select(
                    year.label("y"),
                    month.label("m"),
                    flag(cases.c.acknowledged.is_not(None) | (cases.c.acknowledge_by < today)).label(
                        "ack_due"
                    ),
                    flag(
                        cases.c.acknowledged.is_not(None) & (cases.c.acknowledged <= cases.c.acknowledge_by)
                    ).label("ack_in_time"),
                    flag(cases.c.answered.is_not(None)).label("answered"),
                    flag(
                        cases.c.answered.is_not(None)
                        & (cases.c.answered <= cases.c.respond_by)
                        & (cases.c.late_postponements == 0)
                    ).label("answer_in_time"),
                )
                .where(within(period))
                .group_by(year, month)
                .order_by(year, month)
            )
        ).all()
        if len(rows) > 1:

            def percent(part: int, whole: int) -> float:
                return float("nan") if not whole else round(100 * part / whole, 1)

            charts.append(
                Chart(
                    "tidsfrister-trend",
                    _("Tidsfrister månad för månad"),
                    "line",
                    tuple(f"{_MONTHS[int(r.m) - 1]} {int(r.y)}" for r in rows),
                    (
                        Series(
                            _("Besked i tid"),
                            tuple(percent(int(r.ack_in_time or 0), int(r.ack_due or 0)) for r in rows),
                        ),
                        Series(
                            _("Svar senast utlovat datum"),
                            tuple(percent(int(r.answer_in_time or 0), int(r.answered or 0)) for r in rows),
                        ),
                    ),
                    "%",
                )
            )

        # -- quality deficiencies to work on: complaints' top dimensions ----
        rows = conn.execute(
            scoped(
                sa.select(cases.c.department, case_dimensions.c.dimension, sa.func.count().label("n"))
                .select_from(cases.join(case_dimensions, case_dimensions.c.reference == cases.c.reference))
                .where(within(period), cases.c.kind == Kind.KLAGOMAL.value)
                .group_by(cases.c.department, case_dimensions.c.dimension)
            )
        ).all()
        top: dict[str, list[tuple[int, str]]] = {}
        for r in rows:
            top.setdefault(r.department, []).append((int(r.n), r.dimension))
        tables.append(
            Table(
                "brister",
                _("Kvalitetsbrister att arbeta med: klagomålens vanligaste dimensioner"),
                (_("Förvaltning"), _("Dimension"), _("Klagomål")),
                tuple(
                    (
                        org.departments[dep].name if dep in org.departments else dep,
                        labels.get(dim, dim),
                        count(n_),
                    )
                    for dep in sorted(
                        top, key=lambda d: org.departments[d].name if d in org.departments else d
                    )
                    for n_, dim in sorted(top[dep], key=lambda t: (-t[0], t[1]))[:3]
                ),
            )
        )

        # -- texts: only for staff, and never from a secret case -----------
        praise = volume.get(("now", Kind.BEROM.value), 0)
        if not public:
            # Never from a secret case, nor from one whose person has
            # skyddade personuppgifter: their text may tell who they are; nor
            # from one whose texts were disposed of (only a marker is left).
            texts_kept = sa.not_(
                sa.exists().where(
                    disposals.c.reference == cases.c.reference,
                    disposals.c.action.in_(("ta_bort_texter", "anonymisera")),
                )
            )
            # Nor from a case with a step marked secret: a marking by part
            # leaves cases.secrecy empty, and the staff report is read by
            # everyone at the unit (R27).  Any marking, also one since lifted
            # for the whole case, keeps the case's texts out.
            markings = events.alias("markings")
            unmarked = sa.not_(
                sa.exists().where(
                    markings.c.reference == cases.c.reference, markings.c.type == "secrecy_marked"
                )
            )
            quotes = conn.execute(
                scoped(
                    sa.select(cases.c.reference, cases.c.text)
                    .where(
                        within(period),
                        cases.c.kind == Kind.BEROM.value,
                        cases.c.secrecy.is_(None),
                        sa.not_(cases.c.contact_protected),
                        texts_kept,
                        unmarked,
                    )
                    .order_by(cases.c.received.desc(), cases.c.reference.desc())
                    .limit(_QUOTES)
                )
            ).all()
            highlights = [_first_sentence(row.text) for row in quotes]
            quoted += [row.reference for row in quotes]
            actions = conn.execute(
                scoped(
                    sa.select(cases.c.reference, events.c.day, events.c.payload)
                    .select_from(cases.join(events, events.c.reference == cases.c.reference))
                    .where(
                        within(period),
                        events.c.type == "action_recorded",
                        cases.c.secrecy.is_(None),
                        sa.not_(cases.c.contact_protected),
                        texts_kept,
                        unmarked,
                    )
                    .order_by(events.c.day.desc(), events.c.id.desc())
                    .limit(_ACTIONS)
                )
            ).all()
            quoted += [a.reference for a in actions]
            tables.append(
                Table(
                    "atgarder",
                    _("Åtgärder som vidtagits (senaste)"),
                    (_("Ärende"), _("Datum"), _("Åtgärd")),
                    tuple(
                        (a.reference, a.day.isoformat(), json.loads(a.payload).get("text", ""))
                        for a in actions
                    ),
                    _("Ärenden med sekretess eller skyddade personuppgifter visas inte."),
                )
            )
        notes.append(_praise_line(praise))
        if public:
            notes.append(
                _(
                    "Rapporten är en allmän handling: antal under {threshold} visas som <{threshold}, "
                    "och den innehåller inga personuppgifter eller texter ur ärendena."
                ).format(threshold=threshold)
            )

    if quoted:
        # The texts quoted were read: the audit log says by whom (R27).
        with k._transaction() as uow:
            k._audit(uow, Operation.STAFF_REPORT, sorted(set(quoted)), "quoted in the staff report")

    # -- the förvaltningar's own sections (klagomal_report_sections) ---------
    # The acting user's access to this report was checked above; the
    # sections count for it as klagomal itself.
    scope = ReportScope(k._internal(), period.start, period.end, department)
    owners = dict(k.registry.owners.get("report_sections", {}))
    for result in build_sections(list(k.registry.report_sections.values()), scope, owners):
        if result.table is None:
            notes.append(result.render())
            continue
        rows_ = result.table.rows
        if public:
            rows_ = tuple(tuple(count(c) if isinstance(c, int) else c for c in r) for r in rows_)
        tables.append(Table(result.section.id, result.section.title, result.table.columns, rows_))

    title = (
        _("Synpunkter till personalen") if not public else _("Synpunkter: rapport till de förtroendevalda")
    )
    return Report(
        title=title,
        kommun=org.name,
        audience=audience,
        period=period,
        scope=scope_label,
        generated=today,
        total=total,
        tables=tuple(tables),
        charts=tuple(charts),
        highlights=tuple(highlights),
        notes=tuple(notes),
        logo_text=org.profile.logo_text,
    )


def _praise_line(n: int) -> str:
    """The Swedish line about the praise of the period (R22)."""
    return _("Beröm under perioden: {n}.").format(n=n)


def _first_sentence(text: str, width: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"

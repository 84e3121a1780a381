"""The figures of a report, aggregated in SQL (R16–R18, R31, R32).

One :func:`build_report` reads everything a report shows from one snapshot
of the database, with a handful of ``GROUP BY`` queries over the cases
received in the period (the index on ``cases.received`` keeps each to the
period's rows), never a Python loop over cases:

* volume by kind, with the previous period and the same period last year;
* volume by quality dimension, by förvaltning or unit, and by channel (R32);
* volume by place: the case's address (staff only) or the square kilometre
  of SWEREF 99 TM its position is in; never a secret case's or a protected
  person's place (klagomal.reports.counts.place_of);
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

The counts are read per förvaltning (klagomal.reports.counts).  The
politicians' report is a public document (R18): it holds no text any person
wrote, so no personal data and nothing secret, and its counts go through
disclosure control (klagomal.reports.disclosure): a count below the threshold
(default 3) is shown as ``<3``, and enough other counts as ``..`` that no
``<3`` can be worked out from totals, from another table, from the kommun's
report or a förvaltning's, or from a comparison with an earlier period; a
share or a median is shown only when the counts behind it may be.  The
staff report quotes praise where the case is not secret, and lists actions
of cases that are not secret.

Timeliness is read from the cases as they are now, not replayed from every
event: a besked is in time when it was given by the deadline it answered,
an answer when it came by the promised date and no promise was moved too
late.  For a case raised to a higher level, that is the latest level's
besked and answer.  The median working days count on the Swedish calendar,
for the period's cases at once (the calendar's bulk path).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from klagomal.core.errors import InvalidInputError
from klagomal.core.formats import MONTH_ABBREVIATIONS, swedish_date
from klagomal.core.i18n import _
from klagomal.core.model import Kind
from klagomal.deadlines.calendars import swedish_calendar
from klagomal.records.access import Operation
from klagomal.reports import ReportScope, build_sections
from klagomal.reports.counts import (
    NO_PLACE,
    OTHER_PLACES,
    PERIODS,
    View,
    count_cases,
    publish,
    publish_section,
)
from klagomal.reports.disclosure import HIDDEN
from klagomal.reports.messages import Figures, Problem, key_messages
from klagomal.reports.model import AUDIENCES, Cell, Chart, Period, Report, Series, Table
from klagomal.reports.periods import previous_period, same_period_last_year
from klagomal.storage.tables import cases, disposals, events

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.app import Klagomal

__all__ = ["DEFAULT_THRESHOLD", "build_report"]

#: Counts below this are suppressed in the politicians' report.
DEFAULT_THRESHOLD = 3


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
    public = audience == "politicians"
    if public and unit is not None:
        # Its counts would be sums over units that no other report publishes,
        # outside the disclosure control that links the kommun's report with
        # the förvaltningar's (klagomal.reports.counts).
        raise InvalidInputError(
            _(
                "rapporten till de förtroendevalda görs för hela kommunen eller för en förvaltning, "
                "inte för enheten '{unit}': ange --forvaltning, eller --audience staff"
            ).format(unit=unit),
            step="report",
        )
    # R27: the staff report quotes texts; the politicians' report is numbers only.
    operation = Operation.STATISTICS if public else Operation.STAFF_REPORT
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

    previous, last_year = previous_period(period), same_period_last_year(period)
    today = k.clock.today()
    tables: list[Table] = []
    charts: list[Chart] = []
    notes: list[str] = []
    highlights: list[str] = []
    with k._snapshot() as uow:
        conn = uow.conn

        # -- every count, per förvaltning, as it may be published -----------
        # The politicians' report counts the whole kommun, so that its
        # disclosure control is the same in the kommun's report and in every
        # förvaltning's (klagomal.reports.counts); the staff's counts its scope.
        counts = count_cases(
            conn,
            {"now": period, "previous": previous, "last_year": last_year},
            today,
            scoped=(lambda query: query) if public else scoped,
            departments=org.departments,
            units={d: [u.id for u in org.units.values() if u.department == d] for d in org.departments},
            channels=k.channels,
            dimensions=k.dimensions,
            detail=PERIODS if public else ("now",),
            addresses=not public,
            few=threshold if public else None,
        )
        view = View(
            counts,
            publish(counts, threshold if public else None),
            department if public else None,
            units=department is not None or units is not None,
            threshold=threshold if public else None,
        )
        total = view.total()

        # -- volume by kind, now, before, and a year ago --------------------
        # A period compared with is shown only when it had cases; without
        # any, one sentence says so (no column of zeros, no bars of 0).
        compared = [p for p in ("previous", "last_year") if view.total(p) != 0]
        labels_of = {"now": period.label, "previous": previous.label, "last_year": last_year.label}
        kind_rows: list[tuple[Cell, ...]] = [
            (kind.label, *(view.kind(p, kind) for p in ("now", *compared)),
             *((view.change(kind),) if "last_year" in compared else ()))
            for kind in Kind
        ]  # fmt: skip
        kind_rows.append(
            (
                _("Totalt"),
                *(view.total(p) for p in ("now", *compared)),
                *((view.change(None),) if "last_year" in compared else ()),
            )
        )
        tables.append(
            Table(
                "volym-per-typ",
                _("Synpunkter per typ"),
                (
                    _("Typ"),
                    *(labels_of[p] for p in ("now", *compared)),
                    *((_("Förändring mot i fjol"),) if "last_year" in compared else ()),
                ),
                tuple(kind_rows),
                _missing_comparison([labels_of[p] for p in ("previous", "last_year") if p not in compared]),
            )
        )
        charts.append(
            Chart(
                "typ",
                _("Synpunkter per typ, jämfört med samma period i fjol")
                if "last_year" in compared
                else _("Synpunkter per typ"),
                "bar",
                tuple(kind.label for kind in Kind),
                tuple(
                    Series(labels_of[p], tuple(_plotted(view.kind(p, kind)) for kind in Kind))
                    for p in ("last_year", "now")
                    if p == "now" or p in compared
                ),
                _("ärenden"),
            )
        )

        # -- by quality dimension, with the actions per dimension (R6, R16) --
        labels = {d.id: d.label for d in k.dimensions.values()}
        dimension_rows = view.dimension_rows()
        tables.append(
            Table(
                "kvalitetsdimension",
                _("Per kvalitetsdimension, med åtgärder"),
                (_("Kvalitetsdimension"), *(kind.label for kind in Kind), _("Åtgärder")),
                tuple((labels.get(d, d), *cells, actions) for d, cells, actions in dimension_rows),
                _("Ett ärende kan ha flera dimensioner."),
            )
        )
        charts.append(
            Chart(
                "dimension",
                _("Synpunkter per kvalitetsdimension"),
                "bar",
                tuple(labels.get(d, d) for d, _cells, _actions in dimension_rows),
                tuple(
                    Series(kind.label, tuple(_plotted(cells[i]) for _d, cells, _actions in dimension_rows))
                    for i, kind in enumerate(Kind)
                ),
                _("ärenden"),
            )
        )

        # -- where: förvaltning (or unit within one), and channel (R32) ------
        names = {u.id: u.name for u in org.units.values()}
        names.update({d.id: d.name for d in org.departments.values()})
        places, withheld = view.places()
        tables.append(
            Table(
                "per-enhet" if view.units else "per-forvaltning",
                _("Per enhet") if view.units else _("Per förvaltning"),
                (_("Enhet") if view.units else _("Förvaltning"), _("Antal")),
                tuple((names.get(place, place), n) for place, n in places),
                _withheld_note(threshold) if withheld else "",
            )
        )
        channel_labels = {c.id: c.label for c in k.channels.values()}
        channels, withheld = view.channels()
        tables.append(
            Table(
                "per-kanal",
                _("Per kanal"),
                (_("Kanal"), _("Antal")),
                tuple((channel_labels.get(channel, channel), n) for channel, n in channels),
                _withheld_note(threshold) if withheld else "",
            )
        )

        # -- handling, reception and timeliness -----------------------------
        def flag(condition: Any) -> Any:
            """How many cases meet *condition*."""
            return sa.func.sum(sa.case((condition, 1), else_=0))

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

        tables.append(
            Table(
                "handlaggning",
                _("Handläggning och hur åtgärderna togs emot"),
                (_("Mått"), _("Värde")),
                (
                    (_("Ärenden"), total),
                    (_("Anonyma"), view.anonymous_share()),
                    (_("Skickade vidare till en annan enhet"), view.handling("forwarded")),
                    (_("Gånger de skickades vidare"), view.handling("hops")),
                    (_("Lösta direkt"), view.handling("at_once")),
                    (_("Åtgärder"), view.handling("actions")),
                    (_("Avslutade, nöjda"), view.handling("satisfied")),
                    (_("Avslutade, inte nöjda"), view.handling("not_satisfied")),
                    (_("Lyfta till förvaltningschefen (nivå 2)"), view.handling("level_2")),
                    (_("Lyfta till nämnden (nivå 3)"), view.handling("level_3")),
                ),
            )
        )
        postponements = view.raw("postponements")
        tables.append(
            Table(
                "tidsfrister",
                _("Besked och svar i tid"),
                (_("Mått"), _("Värde")),
                (
                    (_("Besked inom tidsfristen"), view.share(view.raw("ack_in_time"), view.raw("ack_due"))),
                    (
                        _("Svar senast utlovat datum"),
                        view.share(view.raw("answer_in_time"), view.raw("answer_due")),
                    ),
                    (
                        _("Förseningsbesked i tid"),
                        view.share(postponements - view.raw("late"), postponements),
                    ),
                    (_("Median till besked, arbetsdagar"), view.median(to_ack)),
                    (_("Median till svar, arbetsdagar"), view.median(to_answer)),
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

            def percent(part: int, whole: int) -> float | str:
                if not whole:
                    return float("nan")
                return HIDDEN if view.hides(part, whole) else round(100 * part / whole, 1)

            charts.append(
                Chart(
                    "tidsfrister-trend",
                    _("Tidsfrister månad för månad"),
                    "line",
                    tuple(f"{MONTH_ABBREVIATIONS[int(r.m) - 1]} {int(r.y)}" for r in rows),
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
        tables.append(
            Table(
                "brister",
                _("Kvalitetsbrister att arbeta med"),
                (_("Förvaltning"), _("Kvalitetsdimension"), _("Klagomål")),
                # The largest first; equal counts by förvaltning and dimension.
                tuple(
                    sorted(
                        (
                            (names.get(dep, dep), labels.get(dim, dim), n)
                            for dep, dim, n in view.deficiencies()
                        ),
                        key=lambda r: (-r[2] if isinstance(r[2], int) else 0, r[0], r[1]),
                    )
                ),
                _("Bara dimensioner med antal som visas räknas.") if public else "",
            )
        )

        # -- by place: the address, or the square kilometre (issue 21) -------
        # The politicians' counts of places are the kommun's only (counts.py).
        by_place, withheld = view.by_place() if not (public and department) else ([], False)
        tables.append(
            Table(
                "per-plats",
                _("Per plats"),
                (_("Plats"), _("Antal")),
                tuple((_place_label(place), n) for place, n in by_place),
                " ".join(
                    [
                        _place_note(public, threshold),
                        *([_withheld_note(threshold)] if withheld else []),
                        *(
                            [_("Platser redovisas i rapporten för hela kommunen.")]
                            if public and department
                            else []
                        ),
                    ]
                ),
            )
        )

        # -- texts: only for staff, and never from a secret case -----------
        praise = view.kind("now", Kind.BEROM)
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
                )
            )
            # The latest, each text once: the same praise sent twice (by
            # e-mail and by card, say) is quoted once.
            seen: set[str] = set()
            for row in quotes:
                quote = _first_sentence(row.text)
                if _same_text(quote) in seen:
                    continue
                seen.add(_same_text(quote))
                highlights.append(quote)
                quoted.append(row.reference)
                if len(highlights) == _QUOTES:
                    break
            quotes.close()
            # The actions taken in the period (not those of the period's
            # cases taken later), the latest first, with the unit.
            actions = conn.execute(
                scoped(
                    sa.select(cases.c.reference, cases.c.unit, events.c.day, events.c.payload)
                    .select_from(cases.join(events, events.c.reference == cases.c.reference))
                    .where(
                        events.c.day.between(period.start, period.end),
                        events.c.type == "action_recorded",
                        cases.c.secrecy.is_(None),
                        sa.not_(cases.c.contact_protected),
                        texts_kept,
                        unmarked,
                    )
                    .order_by(events.c.day.desc(), events.c.id.desc())
                    .limit(_ACTIONS + 1)
                )
            ).all()
            more = len(actions) > _ACTIONS
            actions = actions[:_ACTIONS]
            quoted += [a.reference for a in actions]
            tables.append(
                Table(
                    "atgarder",
                    _("Åtgärder som vidtogs under perioden"),
                    (_("Datum"), _("Enhet"), _("Ärende"), _("Åtgärd")),
                    tuple(
                        (
                            swedish_date(a.day),
                            names.get(a.unit, a.unit),
                            a.reference,
                            json.loads(a.payload).get("text", ""),
                        )
                        for a in actions
                    ),
                    " ".join(
                        [
                            *([_("De {n} senaste.").format(n=_ACTIONS)] if more else []),
                            _("Ärenden med sekretess eller skyddade personuppgifter visas inte."),
                        ]
                    ),
                )
            )
            tables.append(_threat_table(conn, scoped, period, names))
        notes.append(_praise_line(praise))
        if public:
            notes.append(
                _(
                    "Rapporten är en allmän handling: antal under {threshold} visas som <{threshold}, "
                    "och den innehåller inga personuppgifter eller texter ur ärendena."
                ).format(threshold=threshold)
            )
            notes.append(
                _(
                    "{hidden} visas för ett antal som inte redovisas, så att inget antal under "
                    "{threshold} kan räknas fram ur summor och andra tabeller (röjandekontroll); "
                    "andelar och medianer visas bara när antalen bakom dem får visas."
                ).format(hidden=HIDDEN, threshold=threshold)
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
        rows_: tuple[tuple[Cell, ...], ...] = result.table.rows
        if public:
            rows_ = publish_section(result.table, threshold)
        tables.append(Table(result.section.id, result.section.title, result.table.columns, rows_))

    messages = key_messages(
        _figures(view, period, labels, names if department is None and unit is None else None)
    )
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
        messages=messages,
        highlights=tuple(highlights),
        notes=tuple(notes),
        logo_text=org.profile.logo_text,
    )


def _figures(view: View, period: Period, labels: dict[str, str], places: dict[str, str] | None) -> Figures:
    """The figures of the key messages, as *view* publishes them; *places*
    names the förvaltningar when the report covers several (the kommun)."""
    complaints = Kind.KLAGOMAL.value
    problems = []
    for dimension in view.counts.dimensions:
        n = view.cell("dimension", "now", view.at, dimension, complaints)
        where = None
        if places is not None and isinstance(n, int) and n > 0:
            per = [
                (view.published.shown(("dimension", "now", d, dimension, complaints)), d)
                for d in view.counts.departments
            ]
            if all(isinstance(c, int) or c == f"<{view.threshold}" for c, _d in per):
                most = max((c for c, _d in per if isinstance(c, int)), default=0)
                top = [d for c, d in per if c == most]
                if most > 0 and len(top) == 1:
                    where = places.get(top[0], top[0])
        problems.append(Problem(labels.get(dimension, dimension), n, where))
    problems.sort(key=lambda p: (-p.complaints if isinstance(p.complaints, int) else 0, p.dimension))

    def share(part: str, whole: str) -> tuple[int, int] | None:
        done, due = view.raw(part), view.raw(whole)
        return None if view.hides(done, due) else (done, due)

    return Figures(
        period=period.label,
        total=view.total(),
        kinds=tuple((kind.label.lower(), view.kind("now", kind)) for kind in Kind),
        last_year=view.total("last_year"),
        problems=tuple(problems),
        ack=share("ack_in_time", "ack_due"),
        answer=share("answer_in_time", "answer_due"),
        actions=view.handling("actions"),
        satisfied=view.handling("satisfied"),
        not_satisfied=view.handling("not_satisfied"),
        raised=view.handling("level_2"),
    )


def _threat_table(conn: Any, scoped: Any, period: Period, names: dict[str, str]) -> Table:
    """The staff report's count of flags for abusive or threatening
    treatment set in *period* (R28), per unit the case is at: numbers only,
    never who or why."""
    rows = conn.execute(
        scoped(
            sa.select(cases.c.unit, events.c.payload)
            .select_from(cases.join(events, events.c.reference == cases.c.reference))
            .where(events.c.type == "threat_flagged", events.c.day.between(period.start, period.end))
        )
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        kind = json.loads(row.payload).get("kind", "")
        per_unit = counts.setdefault(row.unit, {"krankande": 0, "hotfullt": 0})
        per_unit[kind] = per_unit.get(kind, 0) + 1
    lines: list[tuple[Cell, ...]] = [
        (names.get(unit, unit), c["krankande"], c["hotfullt"], c["krankande"] + c["hotfullt"])
        for unit, c in sorted(
            counts.items(),
            key=lambda item: (-(item[1]["krankande"] + item[1]["hotfullt"]), names.get(item[0], item[0])),
        )
    ]
    krankande = sum(c["krankande"] for c in counts.values())
    hotfullt = sum(c["hotfullt"] for c in counts.values())
    lines.append((_("Totalt"), krankande, hotfullt, krankande + hotfullt))
    return Table(
        "krankande-hotfullt",
        _("Kränkande eller hotfullt bemötande av personalen"),
        (_("Enhet"), _("Kränkande"), _("Hotfullt"), _("Totalt")),
        tuple(lines),
        _("Flaggor som sattes under perioden, per enhet där ärendet finns nu; vem och varför visas inte."),
    )


def _praise_line(n: int | str) -> str:
    """The Swedish line about the praise of the period (R22)."""
    return _("Beröm under perioden: {n}.").format(n=n)


def _plotted(cell: Cell) -> float | str:
    """A count as a chart draws it: the number, or the mark of a count not shown."""
    return float(cell) if isinstance(cell, int | float) else str(cell)


def _missing_comparison(labels: list[str]) -> str:
    """The sentence for the periods compared with that had no cases."""
    if not labels:
        return ""
    return _("Det finns inga synpunkter från {periods} att jämföra med.").format(
        periods=_(" eller ").join(labels)
    )


def _place_label(place: str) -> str:
    """A place of :func:`~klagomal.reports.counts.place_of` for a reader."""
    if place == NO_PLACE:
        return _("Utan plats som visas")
    if place == OTHER_PLACES:
        return _("Övriga platser")
    kind, _sep, rest = place.partition(":")
    if kind == "ruta":
        north, east = rest.split(":")
        return _("Ruta N {north} km, E {east} km (SWEREF 99 TM)").format(north=north, east=east)
    return rest


def _place_note(public: bool, threshold: int) -> str:
    size = _("rutan om 1 × 1 km i SWEREF 99 TM som positionen ligger i")
    if public:
        return _(
            "Plats är {size}; adresser visas inte i en allmän handling. Rutor med färre än "
            "{threshold} ärenden i hela kommunen räknas som övriga platser. "
            "Ärenden med sekretess eller skyddade personuppgifter räknas utan plats."
        ).format(size=size, threshold=threshold)
    return _(
        "Plats är ärendets adress, annars {size}. "
        "Ärenden med sekretess eller skyddade personuppgifter räknas utan plats."
    ).format(size=size)


def _withheld_note(threshold: int) -> str:
    return _("Färre än {threshold} ärenden: fördelningen visas inte (röjandekontroll).").format(
        threshold=threshold
    )


def _same_text(text: str) -> str:
    """*text* as compared for repeats: case and spacing do not count."""
    return " ".join(text.casefold().split())


def _first_sentence(text: str, width: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"

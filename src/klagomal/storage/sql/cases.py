"""Cases and their events: reading them, appending an event with the
projection it led to (optimistic concurrency on the version), and numbering
new cases.  Also the translation of a case and an event to rows and back."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from cattrs import Converter
from sqlalchemy.engine import Connection

from klagomal.core.errors import CaseNotFoundError, ConflictError, TransientStorageError
from klagomal.core.events import Event, EventData, Registered
from klagomal.core.i18n import _
from klagomal.core.location import Location
from klagomal.core.model import AnswerMode, Case, CaseState, Contact, Kind, Level
from klagomal.core.person_keys import person_keys
from klagomal.notices.outbox import OwedNotice
from klagomal.storage.base import CaseQuery, DueWindow
from klagomal.storage.sql import publications, search, webhooks
from klagomal.storage.sql.rows import rows_of, utc
from klagomal.storage.tables import case_dimensions, cases, events, external_ids, notices, reference_counters

__all__ = ["INSERT_CASE", "INSERT_EVENT", "INSERT_NOTICE", "CaseStore"]

# Statements built once: building ``.values(...)`` per call costs more than
# executing it on SQLite.  Parameters are passed at execution.
INSERT_CASE = sa.insert(cases)
_UPDATE_CASE = (
    sa.update(cases)
    .where(
        cases.c.reference == sa.bindparam("b_reference"), cases.c.version == sa.bindparam("expected_version")
    )
    .values({c.name: sa.bindparam(c.name) for c in cases.columns if c.name != "reference"})
)
INSERT_EVENT = sa.insert(events)
INSERT_NOTICE = sa.insert(notices)
_SELECT_CASE = sa.select(cases).where(cases.c.reference == sa.bindparam("reference"))
_SELECT_DIMENSIONS = (
    sa.select(case_dimensions.c.dimension)
    .where(case_dimensions.c.reference == sa.bindparam("reference"))
    .order_by(case_dimensions.c.position)
)
#: *Backend-specific:* the dimensions of many cases on PostgreSQL, their
#: references bound as one array (:meth:`CaseStore._dimensions`).
_SELECT_DIMENSIONS_ANY = (
    sa.select(case_dimensions.c.reference, case_dimensions.c.dimension)
    .where(case_dimensions.c.reference == sa.any_(sa.bindparam("references", type_=sa.ARRAY(sa.String))))
    .order_by(case_dimensions.c.reference, case_dimensions.c.position)
)


def _open_deadline(test: Callable[[sa.Column[Any]], sa.ColumnElement[bool]]) -> sa.ColumnElement[bool]:
    """Cases whose open deadline passes *test*: the besked deadline of a
    registered case (R7), or the promised date of a case under handling whose
    clock runs (R10).  The same rule as :meth:`Case.deadline`, written so
    that the deadline indexes can be used."""
    return sa.or_(
        sa.and_(cases.c.state == CaseState.REGISTRERAT.value, test(cases.c.acknowledge_by)),
        sa.and_(
            cases.c.state == CaseState.HANDLAGGNING.value,
            cases.c.paused_since.is_(None),
            test(cases.c.respond_by),
        ),
    )


def _open_due() -> sa.ColumnElement[Any]:
    """The last day of a case's open deadline, ``NULL`` without one: the
    same rule as :meth:`Case.deadline` and :func:`_open_deadline`."""
    return sa.case(
        (cases.c.state == CaseState.REGISTRERAT.value, cases.c.acknowledge_by),
        (
            sa.and_(cases.c.state == CaseState.HANDLAGGNING.value, cases.c.paused_since.is_(None)),
            cases.c.respond_by,
        ),
        else_=sa.null(),
    )


#: The statements of :func:`_find_statement`, by the filters they have.
_FIND_STATEMENTS: dict[tuple[str, ...], sa.Select[Any]] = {}

#: The filters of :func:`_find_statement` by the name of the value each binds.
_FILTERS: dict[str, sa.ColumnElement[bool]] = {
    "references": cases.c.reference.in_(sa.bindparam("references", expanding=True)),
    "units": cases.c.unit.in_(sa.bindparam("units", expanding=True)),
    "state": cases.c.state == sa.bindparam("state"),
    "handler": cases.c.handler == sa.bindparam("handler"),
    "states": cases.c.state.in_(sa.bindparam("states", expanding=True)),
    "handlers": cases.c.handler.in_(sa.bindparam("handlers", expanding=True)),
    "departments": cases.c.department.in_(sa.bindparam("departments", expanding=True)),
    "received_from": cases.c.received >= sa.bindparam("received_from"),
    "received_to": cases.c.received <= sa.bindparam("received_to"),
}


def _find_statement(
    query: CaseQuery, references: Sequence[str] | None
) -> tuple[sa.Select[Any], dict[str, Any]]:
    """The statement of :meth:`CaseStore.find` for *query*, and its values.

    Its values are bound, so that one statement serves every query with the
    same filters and is built once in a process: a worklist page ran two
    such statements, and building them and their cache keys anew cost more
    CPU than running them (docs/performance.md, issue 21).  The deadline
    filters, whose days are part of the expression, are built each time."""
    params: dict[str, Any] = {}
    if references is not None:
        params["references"] = list(references)
    if query.units is not None:
        params["units"] = list(query.units)
    if query.state is not None:
        params["state"] = query.state.value
    if query.handler is not None:
        params["handler"] = query.handler
    if query.states is not None:
        params["states"] = [s.value for s in query.states]
    if query.handlers is not None:
        params["handlers"] = list(query.handlers)
    if query.departments is not None:
        params["departments"] = list(query.departments)
    if query.received_from is not None:
        params["received_from"] = query.received_from
    if query.received_to is not None:
        params["received_to"] = query.received_to
    if query.limit is not None:
        params["limit"] = query.limit
    built = query.overdue_on is None and query.due is None
    shape = (*sorted(params), "unassigned" if query.unassigned else "")
    stmt = _FIND_STATEMENTS.get(shape) if built else None
    if stmt is not None:
        return stmt, params
    stmt = sa.select(cases)
    for name, test in _FILTERS.items():
        if name in params:
            stmt = stmt.where(test)
    deadline_tests = []
    if query.overdue_on is not None:
        day = query.overdue_on
        deadline_tests.append(_open_deadline(lambda column: column < day))
    if query.due is not None:
        deadline_tests.append(_due_within(query.due))
    if deadline_tests:
        stmt = stmt.where(sa.or_(*deadline_tests))
    if query.unassigned:
        stmt = stmt.where(cases.c.handler.is_(None))
    if query.limit is None:
        stmt = stmt.order_by(cases.c.reference)
    else:
        due = _open_due()
        stmt = stmt.order_by(sa.case((due.is_(None), 1), else_=0), due, cases.c.reference).limit(
            sa.bindparam("limit", type_=sa.Integer)
        )
    if built:
        _FIND_STATEMENTS[shape] = stmt
    return stmt, params


def _by_due(case: Case) -> tuple[bool, dt.date, str]:
    """The order of :attr:`CaseQuery.limit`: by open deadline, those without one last."""
    deadline = case.deadline()
    return (deadline is None, dt.date.min if deadline is None else deadline[1], case.reference)


def _due_within(window: DueWindow) -> sa.ColumnElement[bool]:
    # The last day depends on the förvaltning's calendar: one CASE, not one
    # query per förvaltning.
    last: sa.ColumnElement[Any] = sa.literal(window.default, sa.Date)
    if window.last:
        last = sa.case(
            {department: sa.literal(day, sa.Date) for department, day in window.last.items()},
            value=cases.c.department,
            else_=sa.literal(window.default, sa.Date),
        )
    return _open_deadline(lambda column: sa.and_(column >= window.start, column <= last))


class CaseStore:
    """The cases and events of a unit of work (part of :class:`~klagomal.storage.sql.SqlUnitOfWork`)."""

    conn: Connection
    converter: Converter

    # -- reading ---------------------------------------------------------

    def get(self, reference: str) -> Case:
        """The stored projection of *reference*."""
        row = self.conn.execute(_SELECT_CASE, {"reference": reference}).one_or_none()
        if row is None:
            raise CaseNotFoundError(reference)
        dimensions = self.conn.execute(_SELECT_DIMENSIONS, {"reference": reference}).scalars()
        return self._case_from_row(row, tuple(dimensions))

    def history(self, reference: str) -> list[Event]:
        """The events of *reference* in order."""
        rows = self.conn.execute(
            sa.select(events).where(events.c.reference == reference).order_by(events.c.seq)
        ).all()
        if not rows:
            raise CaseNotFoundError(reference)
        return [self.event_from_row(row) for row in rows]

    def histories(self, references: Sequence[str]) -> dict[str, list[Event]]:
        """The events of several cases at once, for listings."""
        result: dict[str, list[Event]] = {ref: [] for ref in references}
        for row in rows_of(self.conn, events, references, events.c.seq):
            result[row.reference].append(self.event_from_row(row))
        return result

    def find(self, query: CaseQuery) -> list[Case]:
        """Cases matching *query*, by reference."""
        if query.references is not None:
            # In slices, within every backend's limit on bound parameters.
            wanted = sorted(set(query.references))
            found = [
                case
                for start in range(0, len(wanted), 500)
                for case in self._find(query, wanted[start : start + 500])
            ]
            if query.limit is None:
                return sorted(found, key=lambda c: c.reference)
            return sorted(found, key=_by_due)[: query.limit]
        return self._find(query)

    def _find(self, query: CaseQuery, references: Sequence[str] | None = None) -> list[Case]:
        stmt, params = _find_statement(query, references)
        result = self.conn.execute(stmt, params)
        fields = tuple(result.keys())
        rows = result.all()
        if not rows:
            return []
        dims = self._dimensions([row.reference for row in rows])
        return [
            self._case_from_values(dict(zip(fields, row, strict=True)), dims.get(row.reference, ()))
            for row in rows
        ]

    def references(self) -> dict[int, int]:
        """The last allocated number per year."""
        rows = self.conn.execute(sa.select(reference_counters).order_by(reference_counters.c.year))
        return {row.year: row.last for row in rows}

    def notices(self, reference: str) -> list[tuple[int, str]]:
        """The notices to the person *reference* gave rise to."""
        rows = self.conn.execute(
            sa.select(notices.c.seq, notices.c.kind)
            .where(notices.c.reference == reference, notices.c.recipient == "person")
            .order_by(notices.c.seq)
        )
        return [(row.seq, row.kind) for row in rows]

    def exists(self, reference: str) -> bool:
        """Whether a case has this reference."""
        return (
            self.conn.execute(sa.select(cases.c.reference).where(cases.c.reference == reference)).first()
            is not None
        )

    # -- writing ---------------------------------------------------------

    def next_reference(self, year: int) -> str:
        """Allocate the next number of *year* inside this transaction."""
        return f"{year}-{self.allocate_references(year, 1):05d}"

    def allocate_references(self, year: int, count: int) -> int:
        """Allocate *count* consecutive numbers of *year*; return the last.

        The counter row is locked by the UPDATE until this transaction ends,
        so concurrent registrations queue for it and never share a number.
        The first registration of a year creates the row; when two do that
        at once, the loser's INSERT fails inside a savepoint and it takes the
        winner's row instead.
        """
        counter = reference_counters.c
        for _attempt in range(3):
            updated = self.conn.execute(
                sa.update(reference_counters).where(counter.year == year).values(last=counter.last + count)
            )
            if updated.rowcount == 1:
                last: int = self.conn.execute(
                    sa.select(counter.last).where(counter.year == year)
                ).scalar_one()
                return last
            try:
                with self.conn.begin_nested():
                    self.conn.execute(sa.insert(reference_counters).values(year=year, last=count))
            except sa.exc.IntegrityError:
                continue  # another transaction created the row first; update it
            return count
        raise TransientStorageError(  # pragma: no cover - needs three lost races in a row
            _("referensräknaren för {year} kunde inte låsas; försök igen").format(year=year)
        )

    def append(self, case: Case, event: Event, owed: Sequence[OwedNotice] = ()) -> None:
        """Store *event* and the projection it led to, checking the version."""
        row = self._case_row(case)
        if event.seq == 1:
            self.conn.execute(INSERT_CASE, row)
            # Dimensions are set at registration; no later event changes them.
            self._insert_dimensions(case)
            self._insert_external_id(event)
        else:
            row["expected_version"] = case.version - 1
            row["b_reference"] = row.pop("reference")
            updated = self.conn.execute(_UPDATE_CASE, row)
            if updated.rowcount != 1:
                # A locking read sees the version now, not this transaction's
                # snapshot (MariaDB's REPEATABLE READ would show the one this step read).
                found = self.conn.execute(
                    sa.select(cases.c.version)
                    .where(cases.c.reference == case.reference)
                    .with_for_update(read=True)
                ).scalar()
                raise ConflictError(case.reference, expected=case.version - 1, found=found)
        self._insert_event(event, owed)
        webhooks.after_event(self.conn, event)
        search.after_event(self.conn, case, event, lambda: self.history(case.reference))
        publications.after_event(self.conn, case, event)

    # -- translation -----------------------------------------------------

    def _insert_dimensions(self, case: Case) -> None:
        if case.dimensions:
            self.conn.execute(
                sa.insert(case_dimensions),
                [
                    {"reference": case.reference, "dimension": d, "position": i}
                    for i, d in enumerate(case.dimensions)
                ],
            )

    def _insert_external_id(self, event: Event) -> None:
        if isinstance(event.data, Registered) and event.data.external_id is not None:
            self.conn.execute(
                sa.insert(external_ids),
                {"external_id": event.data.external_id, "reference": event.reference},
            )

    def _insert_event(self, event: Event, owed: Sequence[OwedNotice]) -> None:
        payload = json.dumps(self.converter.unstructure(event.data, EventData), ensure_ascii=False)
        self.conn.execute(
            INSERT_EVENT,
            {
                "reference": event.reference,
                "seq": event.seq,
                "type": event.type,
                "day": event.day,
                "recorded_at": utc(event.recorded_at),
                "actor": event.actor,
                "payload": payload,
            },
        )
        if owed:
            self.conn.execute(
                INSERT_NOTICE,
                [
                    {
                        "reference": event.reference,
                        "seq": event.seq,
                        "kind": n.kind,
                        "recipient": n.recipient,
                        "way": n.way,
                        "message_id": n.message_id,
                        "status": n.status,
                        "attempts": 0,
                    }
                    for n in owed
                ],
            )

    def event_from_row(self, row: sa.Row[Any]) -> Event:
        """The :class:`Event` a row of ``events`` holds."""
        data: EventData = self.converter.structure(json.loads(row.payload), EventData)  # type: ignore[arg-type]
        return Event(
            reference=row.reference,
            seq=row.seq,
            day=row.day,
            recorded_at=row.recorded_at.replace(tzinfo=dt.UTC),
            data=data,
            actor=row.actor,
        )

    def _dimensions(self, references: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """The dimensions of the cases *references*, in order, in one statement
        on PostgreSQL.  By their references, not by the query that found them:
        a case that no longer matches it (another transaction committed
        between the two statements) keeps its dimensions.

        *Backend-specific:* PostgreSQL takes the references as one array
        (``= ANY``); binding hundreds of them one by one, which SQLAlchemy
        renders and psycopg converts anew for each length, cost a worklist
        more than reading its cases (docs/performance.md, issue 21).  Other
        backends bind them in chunks (:func:`rows_of`)."""
        found: dict[str, list[str]] = {}
        if self.conn.dialect.name == "postgresql":
            rows: Any = self.conn.execute(_SELECT_DIMENSIONS_ANY, {"references": list(references)})
        else:
            rows = rows_of(self.conn, case_dimensions, references, case_dimensions.c.position)
        for row in rows:
            found.setdefault(row.reference, []).append(row.dimension)
        return {reference: tuple(dimensions) for reference, dimensions in found.items()}

    @staticmethod
    def _case_row(case: Case) -> dict[str, Any]:
        contact = case.contact or Contact()
        keys = person_keys(case.contact)
        place = case.location or Location()
        return {
            "reference": case.reference,
            "kind": case.kind.value,
            "channel": case.channel,
            "unit": case.unit,
            "department": case.department,
            "state": case.state.value,
            "level": int(case.level),
            "text": case.text,
            "received": case.received,
            "registered": case.registered,
            "acknowledge_by": case.acknowledge_by,
            "updated": case.updated,
            "respond_by": case.respond_by,
            "acknowledged": case.acknowledged,
            "answered": case.answered,
            "answer_mode": case.answer_mode.value if case.answer_mode else None,
            "closed": case.closed,
            "satisfied": case.satisfied,
            "serious": case.serious,
            "anonymous": case.anonymous,
            "handler": case.handler,
            "contact_name": contact.name,
            "contact_email": contact.email,
            "contact_phone": contact.phone,
            "contact_address": contact.address,
            "contact_preferred": contact.preferred,
            "contact_personnummer": contact.personnummer,
            "contact_protected": contact.protected,
            "contact_email_key": keys.email,
            "contact_phone_key": keys.phone,
            "forwards": case.forwards,
            "postponements": case.postponements,
            "late_postponements": case.late_postponements,
            "actions": case.actions,
            "praise_passed_on": case.praise_passed_on,
            "paused_since": case.paused_since,
            "secrecy": case.secrecy,
            "resolved_at_once": case.resolved_at_once,
            "summary": case.summary,
            "threat_flags": ",".join(case.threat_flags) or None,
            "location_latitude": place.latitude,
            "location_longitude": place.longitude,
            "location_northing": place.northing,
            "location_easting": place.easting,
            "location_address": place.address,
            "language": case.language,
            "version": case.version,
        }

    @staticmethod
    def _case_from_row(row: sa.Row[Any], dimensions: tuple[str, ...]) -> Case:
        # One dict, not 33 attribute look-ups on the Row: a worklist builds
        # hundreds of cases, and Row.__getattr__ cost most of the time (~20 µs a case).
        return CaseStore._case_from_values(dict(zip(row._fields, row, strict=True)), dimensions)

    @staticmethod
    def _case_from_values(v: dict[str, Any], dimensions: tuple[str, ...]) -> Case:
        """The case of a row's values by column name."""
        contact = (
            None
            if v["anonymous"]
            else Contact(
                name=v["contact_name"],
                email=v["contact_email"],
                phone=v["contact_phone"],
                address=v["contact_address"],
                preferred=v["contact_preferred"],
                personnummer=v["contact_personnummer"],
                protected=bool(v["contact_protected"]),
            )
        )
        return Case(
            reference=v["reference"],
            kind=Kind(v["kind"]),
            channel=v["channel"],
            unit=v["unit"],
            department=v["department"],
            text=v["text"],
            received=v["received"],
            registered=v["registered"],
            acknowledge_by=v["acknowledge_by"],
            updated=v["updated"],
            contact=contact,
            dimensions=dimensions,
            serious=bool(v["serious"]),
            state=CaseState(v["state"]),
            level=Level(v["level"]),
            handler=v["handler"],
            respond_by=v["respond_by"],
            acknowledged=v["acknowledged"],
            answered=v["answered"],
            answer_mode=AnswerMode(v["answer_mode"]) if v["answer_mode"] else None,
            closed=v["closed"],
            satisfied=None if v["satisfied"] is None else bool(v["satisfied"]),
            forwards=v["forwards"],
            postponements=v["postponements"],
            late_postponements=v["late_postponements"],
            actions=v["actions"],
            praise_passed_on=bool(v["praise_passed_on"]),
            paused_since=v["paused_since"],
            secrecy=v["secrecy"],
            resolved_at_once=bool(v["resolved_at_once"]),
            summary=v["summary"],
            threat_flags=tuple(v["threat_flags"].split(",")) if v["threat_flags"] else (),
            location=_location(v),
            language=v["language"],
            version=v["version"],
        )


def _location(v: dict[str, Any]) -> Location | None:
    """The case's location from its columns; ``None`` when they are empty."""
    if v["location_latitude"] is None and v["location_northing"] is None and v["location_address"] is None:
        return None
    return Location(
        latitude=v["location_latitude"],
        longitude=v["location_longitude"],
        northing=v["location_northing"],
        easting=v["location_easting"],
        address=v["location_address"],
    )

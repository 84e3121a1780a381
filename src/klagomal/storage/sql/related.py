"""The two look-ups of the related cases (:mod:`klagomal.cases.related`),
each on an index of migration 0010: the cases of one person, by the keys
of their contact (``contact_email_key``, ``contact_phone_key``,
``contact_personnummer``), and the texts of a unit's cases received in a
window of days (``unit, received``).

Both keep to the acting user's scope in the query itself, as a worklist
does, so that a case the user may not read is neither read nor counted.
The keys are written with the case's row (:meth:`CaseStore._case_row
<klagomal.storage.sql.cases.CaseStore>`), from the projection, in the
transaction of every event: a step that changes the contact changes them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from klagomal.core.model import CaseState
from klagomal.storage.tables import cases

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.core.person_keys import PersonKeys
    from klagomal.records.access import Scope

__all__ = ["RelatedStore", "scope_condition"]


def scope_condition(scope: Scope) -> sa.ColumnElement[bool] | None:
    """The cases of *scope* as a condition on ``cases`` (``None``: every case)."""
    if scope.everything:
        return None
    parts: list[sa.ColumnElement[bool]] = []
    if scope.departments:
        parts.append(cases.c.department.in_(sorted(scope.departments)))
    if scope.units:
        parts.append(cases.c.unit.in_(sorted(scope.units)))
    handlers = sorted({h for h in (scope.handler, scope.handler_id) if h})
    if handlers:
        parts.append(cases.c.handler.in_(handlers))
    return sa.or_(*parts) if parts else sa.false()


class RelatedStore:
    """The related cases' look-ups in a unit of work (part of
    :class:`~klagomal.storage.sql.SqlUnitOfWork`)."""

    conn: Connection

    def same_person(
        self, keys: PersonKeys, *, exclude: str, closed_since: dt.date, scope: Scope, limit: int
    ) -> list[tuple[str, dt.date]]:
        """``(reference, received)`` of the cases, other than *exclude*, whose
        contact has one of *keys*, that are open or were closed on or after
        *closed_since*, in *scope*: the newest *limit* of each key."""
        lookups = [
            (cases.c.contact_email_key, keys.email),
            (cases.c.contact_phone_key, keys.phone),
            (cases.c.contact_personnummer, keys.personnummer),
        ]
        in_scope = scope_condition(scope)
        found: dict[str, dt.date] = {}
        # One query per key, each on its own index: an OR of three columns
        # is a scan of the table on some databases.
        for column, value in lookups:
            if value is None:
                continue
            conditions: list[sa.ColumnElement[bool]] = [
                column == value,
                cases.c.reference != exclude,
                sa.or_(cases.c.state != CaseState.AVSLUTAT.value, cases.c.closed >= closed_since),
            ]
            if in_scope is not None:
                conditions.append(in_scope)
            rows = self.conn.execute(
                sa.select(cases.c.reference, cases.c.received)
                .where(*conditions)
                .order_by(cases.c.received.desc(), cases.c.reference.desc())
                .limit(limit)
            )
            found.update({row.reference: row.received for row in rows})
        return sorted(found.items(), key=lambda item: (item[1], item[0]), reverse=True)

    def unit_texts(
        self,
        unit: str,
        *,
        received_from: dt.date,
        received_to: dt.date,
        exclude: str,
        scope: Scope,
        limit: int,
    ) -> list[tuple[str, str]]:
        """``(reference, text)`` of the cases at *unit*, other than *exclude*,
        received from *received_from* to *received_to*, in *scope*: the
        newest *limit* of them."""
        conditions: list[Any] = [
            cases.c.unit == unit,
            cases.c.received >= received_from,
            cases.c.received <= received_to,
            cases.c.reference != exclude,
        ]
        in_scope = scope_condition(scope)
        if in_scope is not None:
            conditions.append(in_scope)
        rows = self.conn.execute(
            sa.select(cases.c.reference, cases.c.text)
            .where(*conditions)
            .order_by(cases.c.received.desc(), cases.c.reference.desc())
            .limit(limit)
        )
        return [(row.reference, row.text) for row in rows]

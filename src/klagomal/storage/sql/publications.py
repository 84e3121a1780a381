"""The public list of answered cases (table ``publications``, migration 0017,
:mod:`klagomal.records.publication`): each publication with the masked
texts as they were published, and its withdrawal.

:func:`after_event` keeps the invariant that no case that is secret, or
whose person has skyddade personuppgifter, stays published: it withdraws
the publication in the transaction of the step that made it so.
"""

from __future__ import annotations

import datetime as dt

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from klagomal.core.events import ContactCorrected, Event, Forwarded, SecrecyMarked
from klagomal.core.i18n import _
from klagomal.core.model import Case
from klagomal.storage.sql.rows import utc
from klagomal.storage.tables import cases, publications

__all__ = ["AUTOMATIC", "Publication", "PublicationStore", "after_event", "redact_publications"]

#: Who withdrew a publication that a step made unpublishable (the step's
#: actor is recorded when there is one).
AUTOMATIC = "klagomal"


@attrs.frozen
class Publication:
    """One row of ``publications``."""

    id: int
    reference: str
    department: str
    published_at: dt.datetime
    published_by: str
    description: str
    answer: str
    withdrawn_at: dt.datetime | None = None
    withdrawn_by: str | None = None
    withdrawn_reason: str | None = None


def _publication(row: sa.Row[tuple[object, ...]]) -> Publication:
    m = row._mapping
    return Publication(**{f.name: m[f.name] for f in attrs.fields(Publication)})


_CURRENT = publications.c.withdrawn_at.is_(None)


def _withdraw(conn: Connection, reference: str, at: dt.datetime, by: str, reason: str) -> int:
    return conn.execute(
        sa.update(publications)
        .where(publications.c.reference == reference, _CURRENT)
        .values(withdrawn_at=utc(at), withdrawn_by=by, withdrawn_reason=reason)
    ).rowcount


def after_event(conn: Connection, case: Case, event: Event) -> None:
    """Withdraw *case*'s publication when *event* left it secret, wholly or
    in part, or its person with skyddade personuppgifter (in the event's
    transaction).  A step that touches neither writes nothing."""
    data = event.data
    if isinstance(data, SecrecyMarked):
        reason = _("sekretessmarkerat enligt {ground}").format(ground=data.ground)
    elif case.secrecy is not None and isinstance(data, Forwarded):
        reason = _("sekretessmarkerat enligt {ground}").format(ground=case.secrecy)
    elif case.protected and isinstance(data, ContactCorrected):
        reason = _("personen har skyddade personuppgifter")
    else:
        return
    _withdraw(conn, case.reference, event.recorded_at, event.actor or AUTOMATIC, reason)


def redact_publications(conn: Connection, reference: str, marker: str, at: dt.datetime) -> int:
    """Withdraw the case's publication and replace every text it published
    with *marker* (disposal and anonymisation, :mod:`klagomal.records.disposal`)."""
    return conn.execute(
        sa.update(publications)
        .where(publications.c.reference == reference)
        .values(
            description=marker,
            answer=marker,
            withdrawn_at=sa.func.coalesce(publications.c.withdrawn_at, utc(at)),
            withdrawn_by=sa.func.coalesce(publications.c.withdrawn_by, AUTOMATIC),
            withdrawn_reason=sa.func.coalesce(publications.c.withdrawn_reason, marker),
        )
    ).rowcount


class PublicationStore:
    """The publications of the unit of work's transaction."""

    conn: Connection

    def add_publication(
        self,
        reference: str,
        department: str,
        description: str,
        answer: str,
        *,
        at: dt.datetime,
        by: str,
    ) -> None:
        """Publish the case with these masked texts."""
        self.conn.execute(
            sa.insert(publications).values(
                reference=reference,
                department=department,
                published_at=utc(at),
                published_by=by,
                description=description,
                answer=answer,
            )
        )

    def current_publication(self, reference: str) -> Publication | None:
        """The case's publication that is not withdrawn, if any."""
        row = self.conn.execute(
            sa.select(publications).where(publications.c.reference == reference, _CURRENT)
        ).first()
        return None if row is None else _publication(row)

    def withdraw_publication(self, reference: str, *, at: dt.datetime, by: str, reason: str) -> int:
        """Withdraw the case's publication; how many rows were withdrawn."""
        return _withdraw(self.conn, reference, at, by, reason)

    def publications(self, *, limit: int, offset: int, department: str | None = None) -> list[Publication]:
        """The publications in force, newest first, of the cases that are
        neither secret as a whole nor of a protected person now."""
        query = (
            sa.select(publications)
            .join(cases, cases.c.reference == publications.c.reference)
            .where(_CURRENT, cases.c.secrecy.is_(None), cases.c.contact_protected == sa.false())
            .order_by(publications.c.published_at.desc(), publications.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        if department is not None:
            query = query.where(publications.c.department == department)
        return [_publication(row) for row in self.conn.execute(query)]

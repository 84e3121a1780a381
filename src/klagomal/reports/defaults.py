"""What a report is about when the one who asks for it does not say.

* The period: the last *complete* reporting period before the business
  date: a tertial for the staff (R17), a half-year for the elected
  officials (R18), so that a report asked for on 5 December 2026 covers
  tertial 2 (May–August) or half-year 1 (January–June), never a period
  still running.
* The audience and the period must agree: the politicians' report is
  made per half-year, so a tertial for it is refused (a whole year or a
  range of days given on purpose is not).
* The förvaltning: a förvaltning's administrator (``forvaltningsadmin``)
  who names none gets the report of their own; one who administers several
  is asked to choose, with their förvaltningar named (a report covers the
  whole kommun, one förvaltning or one unit, never a choice of them).
"""

from __future__ import annotations

import datetime as dt
import re

from klagomal.core.errors import InvalidInputError
from klagomal.core.i18n import _
from klagomal.core.organisation import Organisation
from klagomal.core.users import Role, User
from klagomal.reports.model import Period
from klagomal.reports.periods import DEFAULT_HALF_YEARS, half_years, previous_period, tertials

__all__ = ["POLITICIANS", "STAFF", "check_audience_period", "default_department", "last_complete_period"]

STAFF = "staff"
POLITICIANS = "politicians"

_TERTIAL = re.compile(r"\d{4}-T\d")


def last_complete_period(
    today: dt.date,
    audience: str = STAFF,
    starts: tuple[tuple[int, int], tuple[int, int]] = DEFAULT_HALF_YEARS,
) -> Period:
    """The last reporting period of *audience* that ended before *today*: a
    tertial for the staff, a half-year (split at *starts*) for the
    politicians."""
    periods = half_years(today.year, starts) if audience == POLITICIANS else tertials(today.year)
    running = next(p for p in periods if p.start <= today <= p.end)
    return previous_period(running)


def check_audience_period(audience: str, period: Period) -> None:
    """Refuse a tertial for the politicians' report (R18: half-years)."""
    if audience == POLITICIANS and _TERTIAL.fullmatch(period.id):
        raise InvalidInputError(
            _(
                "rapporten till de förtroendevalda gäller ett halvår, inte ett tertial ({period}); "
                "ange ett halvår (till exempel {year}-H1), ett helt år ({year}) eller --from och --to"
            ).format(period=period.id, year=period.start.year),
            step="report",
        )


def default_department(user: User | None, organisation: Organisation) -> str | None:
    """The förvaltning a report is about when none is named: a
    förvaltning administrator's own; ``None`` (the whole kommun) for
    everyone else, whose access check decides."""
    if user is None or user.role is not Role.DEPARTMENT_ADMIN or not user.departments:
        return None
    own = list(dict.fromkeys(user.departments))
    if len(own) == 1:
        return own[0]
    names = ", ".join(
        f"{d} ({organisation.departments[d].name})" if d in organisation.departments else d for d in own
    )
    raise InvalidInputError(
        _("ange vilken förvaltning rapporten gäller (--forvaltning): du administrerar {departments}").format(
            departments=names
        ),
        step="report",
    )

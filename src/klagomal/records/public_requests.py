"""A case as anyone may see it, without asking who they are: the public
view behind Open311's ``GET requests`` (docs/open311.md, R27).

An Open311 client such as FixaMinGata shows the status of a reported
problem to everyone, so this view holds only what is public without an
assessment: that the case exists, its kind, where it is handled, its
state and dates, and the register entry's short description (OSL 5 kap.
1 §), masked (:func:`klagomal.records.masking.mask_text`).  The person's
own text, their contact and the steps' texts are never in it.  The
redaction of staff messages (:meth:`klagomal.records.redaction.Redaction.for_staff`)
decides what more is withheld:

* a case marked secret, wholly or a part of it, shows the note that
  information was withheld and on which ground instead of a description,
  and neither its quality dimensions nor its place;
* a case whose person has skyddade personuppgifter shows nothing of the
  case's own words and not its place (it may be where the person lives).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from klagomal.core.events import Event
from klagomal.core.i18n import _
from klagomal.core.model import Case, CaseState, Kind
from klagomal.core.organisation import Organisation
from klagomal.records.masking import mask_text
from klagomal.records.redaction import Redaction, known_names, withheld

__all__ = ["PublicRequest", "public_request"]


@attrs.frozen
class PublicRequest:
    """What anyone may see of one case.

    :param closed: the case is ``avslutat`` (Open311's ``closed``).
    :param notes: the state in words and the masked register description,
        or the note that information was withheld (Open311's ``status_notes``).
    :param expected: the date the person was promised: the answer's date
        given in the besked (``respond_by``), before the besked the day it
        is due (``acknowledge_by``); ``None`` once answered.
    :param latitude: ``None`` (with ``longitude`` and ``address``) where the
        place is withheld or was never given.
    :param dimensions: empty where the case is secret.
    """

    reference: str
    kind: Kind
    dimensions: tuple[str, ...]
    state: CaseState
    closed: bool
    notes: str
    department: str
    department_name: str
    unit: str
    unit_name: str
    level: int
    received: dt.date
    updated: dt.date
    expected: dt.date | None
    acknowledge_by: dt.date
    acknowledged: dt.date | None
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None
    withheld: bool = False


def public_request(
    case: Case, history: Sequence[Event], organisation: Organisation, today: dt.date
) -> PublicRequest:
    """The public view of *case* (see the module's description)."""
    redaction = Redaction.for_staff(case, history)
    shown = redaction.case(case)
    ground = redaction.secret or case.secrecy
    if ground is not None:
        notes = f"{case.state.label}. {withheld(ground)}"
    elif case.protected or not case.summary:
        notes = f"{case.state.label}."
    else:
        masked = mask_text(case.summary, names=known_names(history), today=today)
        notes = f"{case.state.label}. {_('Avser')}: {masked.text}"
    if case.state is CaseState.REGISTRERAT:
        expected: dt.date | None = case.acknowledge_by
    elif case.state is CaseState.HANDLAGGNING:
        expected = case.respond_by
    else:
        expected = None
    department = organisation.departments.get(case.department)
    unit = organisation.units.get(case.unit)
    location = None if ground is not None or case.protected else shown.location
    return PublicRequest(
        reference=case.reference,
        kind=case.kind,
        dimensions=() if ground is not None else case.dimensions,
        state=case.state,
        closed=case.state is CaseState.AVSLUTAT,
        notes=notes,
        department=case.department,
        department_name=department.name if department is not None else case.department,
        unit=case.unit,
        unit_name=unit.name if unit is not None else case.unit,
        level=int(case.level),
        received=case.received,
        updated=case.updated,
        expected=expected,
        acknowledge_by=case.acknowledge_by,
        acknowledged=case.acknowledged,
        latitude=None if location is None else location.latitude,
        longitude=None if location is None else location.longitude,
        address=None if location is None else location.address,
        withheld=ground is not None or case.protected,
    )

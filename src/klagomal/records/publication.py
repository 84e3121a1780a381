"""Publication of answered cases: the kommun's public list of what people
said and what the kommun answered ("Tyck till", R27).

It is opt-in twice over: the kommun turns it on in its organisation file
(``[publicering] tillaten = true``, :attr:`~klagomal.core.organisation.Organisation.publication`),
and a handler publishes each case by an explicit step
(:meth:`klagomal.app.Klagomal.publish`).  A case may be published only when

* the kommun allows publication,
* it has been answered, or closed,
* nothing in it is marked secret (:meth:`~klagomal.app.Klagomal.mark_secret`,
  the whole case or a part of it), and
* its person has no skyddade personuppgifter;

otherwise the step is refused with the reason and nothing is written.

What is published is the person's description and the answer, each masked
by :func:`klagomal.records.masking.mask_text` with every name the case
knows (the person's, whoever wrote to it, the staff who handled it), and
frozen in the table ``publications`` on the day of publishing: the list
shows exactly what was published, never a text written later.  A case
marked secret afterwards, or whose person gets skyddade personuppgifter,
is withdrawn in the transaction of that step
(:func:`klagomal.storage.sql.publications.after_event`), and the list
never shows a case that is secret or protected now, whatever its row says.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from klagomal.cases.step_texts import check_step_texts, required_text
from klagomal.core.errors import InvalidStepError
from klagomal.core.events import (
    Answered,
    Event,
    PraisePassedOn,
    PublicationWithdrawn,
    Published,
    ResolvedAtOnce,
)
from klagomal.core.i18n import _
from klagomal.core.model import Case, CaseState, Kind
from klagomal.core.organisation import Organisation
from klagomal.records.masking import mask_text
from klagomal.records.redaction import Markings, known_names

__all__ = [
    "PUBLISH",
    "UNPUBLISH",
    "PublishedCase",
    "answer_text",
    "check_history",
    "check_published",
    "masked_texts",
    "public_names",
    "publish",
    "published_case",
    "unpublish",
]


@attrs.frozen
class PublishedCase:
    """One case in the public list of answered cases.

    :param kind_label: the kind in Swedish (``"Klagomål"``).
    :param department_name: the förvaltning's name.
    :param answered: the day it was answered (or closed, without an answer).
    :param description: the person's description, masked, as published.
    :param answer: the answer, masked, as published; empty when the case
        was closed without a written answer.
    :param published_at: when it was published (UTC).
    """

    reference: str
    kind: Kind
    kind_label: str
    department: str
    department_name: str
    dimensions: tuple[str, ...]
    received: dt.date
    answered: dt.date | None
    description: str
    answer: str
    published_at: dt.datetime


def _refuse(case: Case, step: str, reason: str) -> InvalidStepError:
    return InvalidStepError(case.reference, case.state.value, step, reason)


#: The step ids of publishing and withdrawing (:data:`klagomal.core.steps.STEP_LABELS`).
PUBLISH = "publish"
UNPUBLISH = "unpublish"


def publish(case: Case, organisation: Organisation) -> Published:
    """Decide publishing *case*: refused unless the kommun allows it and the
    case is answered or closed, not secret as a whole and of no protected
    person.  The parts marked secret are checked with the history
    (:func:`check_history`)."""
    if not organisation.publication:
        raise _refuse(
            case,
            PUBLISH,
            _(
                "{kommun} publicerar inte besvarade ärenden ([publicering] tillaten i organisationsfilen)"
            ).format(kommun=organisation.name),
        )
    if case.answered is None and case.state is not CaseState.AVSLUTAT:
        raise _refuse(case, PUBLISH, _("ärendet är varken besvarat eller avslutat"))
    if case.secrecy is not None:
        raise _refuse(case, PUBLISH, _secret(case.secrecy))
    if case.protected:
        raise _refuse(case, PUBLISH, _("personen har skyddade personuppgifter"))
    return Published()


def _secret(ground: str) -> str:
    return _("ärendet, eller en del av det, är sekretessmarkerat enligt {ground}").format(ground=ground)


def check_history(case: Case, history: Sequence[Event], published: bool) -> None:
    """Refuse publishing *case* when a part of it is marked secret, or when it
    is published already."""
    markings = Markings.of(history)
    if markings.any:
        ground = markings.whole or next(iter(sorted(markings.parts.items())))[1]
        raise _refuse(case, PUBLISH, _secret(ground))
    if published:
        raise _refuse(case, PUBLISH, _("ärendet är redan publicerat"))


def unpublish(case: Case, reason: str) -> PublicationWithdrawn:
    """Decide withdrawing *case*'s publication, for *reason*; whether it is
    published is checked with the table (:func:`check_published`)."""
    reason = required_text(reason, UNPUBLISH, _("skälet"), case.reference).strip()
    return check_step_texts(PublicationWithdrawn(reason=reason), UNPUBLISH, case.reference)


def check_published(case: Case, published: bool) -> None:
    """Refuse withdrawing the publication of a case that is not published."""
    if not published:
        raise _refuse(case, UNPUBLISH, _("ärendet är inte publicerat"))


def answer_text(history: Sequence[Event]) -> str:
    """The case's answer: the last written answer, else what was said when
    it was resolved at once, else nothing."""
    for event in reversed(history):
        if isinstance(event.data, Answered | ResolvedAtOnce):
            return event.data.text
    return ""


def public_names(case: Case, history: Sequence[Event], organisation: Organisation) -> list[str]:
    """Every name the case knows: the person's, whoever wrote to it, the
    staff it was passed on to, its handlers and the staff who took its steps."""
    names = known_names(history)
    names += [name for e in history if isinstance(e.data, PraisePassedOn) for name in e.data.recipients]
    staff = {case.handler, *(e.actor for e in history)}
    staff |= {getattr(e.data, "handler", None) for e in history}
    for who in staff:
        if not who:
            continue
        user = organisation.users.get(who)
        names.append(user.name if user is not None else who)
    return [n for n in names if n]


def masked_texts(
    case: Case, history: Sequence[Event], organisation: Organisation, today: dt.date
) -> tuple[str, str]:
    """The person's description and the answer as they are published: masked."""
    names = public_names(case, history, organisation)
    description = mask_text(case.text, names=names, today=today).text
    answer = answer_text(history)
    return description, mask_text(answer, names=names, today=today).text if answer else ""


def published_case(
    case: Case,
    organisation: Organisation,
    description: str,
    answer: str,
    published_at: dt.datetime,
) -> PublishedCase:
    """The public view of *case* as published with these texts."""
    department = organisation.departments.get(case.department)
    return PublishedCase(
        reference=case.reference,
        kind=case.kind,
        kind_label=case.kind.label,
        department=case.department,
        department_name=department.name if department is not None else case.department,
        dimensions=case.dimensions,
        received=case.received,
        answered=case.answered or case.closed,
        description=description,
        answer=answer,
        published_at=published_at if published_at.tzinfo else published_at.replace(tzinfo=dt.UTC),
    )

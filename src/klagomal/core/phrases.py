"""The phrase library: a förvaltning's ready wordings for its letters (R23).

The routine's *gåvoprincipen* asks staff to thank whoever gives feedback
and to apologise rather than defend (R23).  Good wording is hard to find
under time pressure, so each förvaltning keeps a library of phrases that
its handlers copy into a besked, an answer or a piece of information: a
thanks, an apology, a common answer.  The model is Zammad's text modules
and Göteborgs Stad's phrase library.

A phrase belongs to one förvaltning and has a :class:`Purpose`, a title
(what a handler picks it by) and a text.  It is never deleted: a phrase no
longer wanted is retired (``retired_at``), which hides it from the lists
but keeps who wrote what, and when.

This module holds the values and the rules for their input, which every
way in shares (the facade, the command line, a web page); who may read and
write them, and the storage, are in :mod:`klagomal.notices.phrases`.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from klagomal.core.errors import InvalidInputError
from klagomal.core.i18n import _
from klagomal.core.organisation import Organisation
from klagomal.core.text_rules import check_text

__all__ = [
    "PHRASE_TEXT_MAX",
    "PHRASE_TITLE_MAX",
    "Phrase",
    "Purpose",
    "check_department",
    "check_purpose",
    "check_text_of_phrase",
    "check_title",
]

#: The most characters of a phrase's title: what a handler picks it by.
PHRASE_TITLE_MAX = 120

#: The most characters of a phrase's text: a few paragraphs of a letter.
PHRASE_TEXT_MAX = 5000


class Purpose(enum.StrEnum):
    """What a phrase is for: the part of a letter it fills (R23)."""

    TACK = "tack"
    """Thanks for the feedback (the gift principle)."""
    URSAKT = "ursakt"
    """An apology, rather than a defence."""
    SVAR = "svar"
    """A common answer to a question many ask."""
    BESKED = "besked"
    """Wording for the besked: who handles the case and when the answer comes."""
    INFORMATION = "information"
    """Information while the case is handled: a delay, what happens next."""

    @property
    def label(self) -> str:
        """Swedish display label."""
        return _PURPOSE_LABELS[self.value]


_PURPOSE_LABELS = {
    "tack": _("Tack"),
    "ursakt": _("Ursäkt"),
    "svar": _("Vanligt svar"),
    "besked": _("Besked"),
    "information": _("Information"),
}


@attrs.frozen
class Phrase:
    """One phrase of a förvaltning's library, as stored."""

    id: int
    department: str
    """The förvaltning (its id in the organisation file) whose phrase it is."""
    purpose: Purpose
    title: str
    """One line, at most :data:`PHRASE_TITLE_MAX` characters."""
    text: str
    """The wording, at most :data:`PHRASE_TEXT_MAX` characters; may have line breaks."""
    created_by: str
    """The user id of who wrote it."""
    created_at: dt.datetime
    """When, naive UTC."""
    updated_by: str | None = None
    """The user id of who last changed it, if anyone did."""
    updated_at: dt.datetime | None = None
    retired_at: dt.datetime | None = None
    """When it was retired (naive UTC): a retired phrase is hidden, never deleted."""

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


def check_purpose(value: str, *, step: str) -> Purpose:
    """*value* as a :class:`Purpose`; else :class:`InvalidInputError`
    naming *step* and the purposes there are."""
    try:
        return Purpose(value)
    except ValueError:
        raise InvalidInputError(
            _("okänt syfte '{purpose}' (syften: {known})").format(
                purpose=value, known=", ".join(p.value for p in Purpose)
            ),
            step=step,
        ) from None


def check_title(value: str, *, step: str) -> str:
    """*value*, stripped, if it is a title: one line of 1 to
    :data:`PHRASE_TITLE_MAX` characters with no control characters
    (:func:`klagomal.core.text_rules.check_text`)."""
    # Checked before stripping: str.strip() takes some control characters
    # (U+001C to U+001F) for white space, and would drop them unseen.
    title = check_text(value, step=step, field=_("rubriken"), multiline=False, max_length=None).strip()
    if len(title) > PHRASE_TITLE_MAX:
        title = check_text(
            title, step=step, field=_("rubriken"), multiline=False, max_length=PHRASE_TITLE_MAX
        )
    if not title:
        raise InvalidInputError(_("rubriken är tom; skriv vad frasen handlar om"), step=step)
    return title


def check_text_of_phrase(value: str, *, step: str) -> str:
    """*value*, stripped and with ``\\r\\n`` as ``\\n``, if it is a
    phrase's text: 1 to :data:`PHRASE_TEXT_MAX` characters, line breaks
    allowed, no other control characters."""
    text = check_text(value, step=step, field=_("texten"), multiline=True, max_length=None).strip()
    if len(text) > PHRASE_TEXT_MAX:
        text = check_text(text, step=step, field=_("texten"), multiline=True, max_length=PHRASE_TEXT_MAX)
    if not text:
        raise InvalidInputError(_("texten är tom; skriv frasens formulering"), step=step)
    return text


def check_department(organisation: Organisation, department: str, *, step: str) -> str:
    """*department*, if it is a förvaltning of *organisation*."""
    if department not in organisation.departments:
        raise InvalidInputError(
            _("förvaltningen '{department}' finns inte i organisationsfilen (förvaltningar: {known})").format(
                department=department, known=", ".join(organisation.departments)
            ),
            step=step,
        )
    return department

"""Letters to the person who gave the feedback, rendered with Jinja2.

Every notice a case owes (the besked, R7; information, R9; a new date, R11;
a request for missing details and the resumed date; the answer, R13) has a
plain-text template in Swedish.  Plugins add template folders through the
``klagomal_template_dirs`` hook.  For a case of förvaltning ``bou`` the
notice ``besked`` is rendered from the first of these that exists::

    bou/besked.txt      (a förvaltning's own wording)
    besked.txt          (the kommun's or the built-in wording)

searching the plugins' folders before the built-in one.  So a förvaltning's
plugin changes the wording for its own cases only, and a kommun-wide plugin
can replace a letter for everyone.

Templates see ``kommun`` (the organisation), ``case``, ``event`` (what
happened, such as the new date of a postponement), ``unit`` and
``department`` (where the case is), ``reference``, ``name`` (the person's
name, or ``None``) and ``today``; the filter ``datum`` writes a date the
Swedish way ("8 januari 2027").  Undefined names are an error, so a typo in
a template fails loudly instead of leaving a gap in a letter.

HTML versions, delivery and the outbox arrive with the notices work; this
module renders the text.
"""

from __future__ import annotations

import datetime as dt
import os
import pathlib
from collections.abc import Sequence

import attrs
import jinja2

from klagomal.errors import ConfigurationError
from klagomal.events import Event
from klagomal.i18n import _
from klagomal.model import Case
from klagomal.organisation import Organisation

__all__ = ["BUILTIN_TEMPLATES", "Letter", "Letters", "swedish_date"]

#: The built-in templates, searched last.
BUILTIN_TEMPLATES = pathlib.Path(__file__).parent / "templates" / "letters"

_MONTHS = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)


def swedish_date(day: dt.date) -> str:
    """``8 januari 2027``: a date as a Swedish letter writes it."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _subjects() -> dict[str, str]:
    return {
        "besked": _("Besked om ditt ärende {reference}"),
        "information": _("Information om ditt ärende {reference}"),
        "forsening": _("Nytt svarsdatum för ditt ärende {reference}"),
        "komplettering": _("Vi behöver mer information i ärende {reference}"),
        "aterupptaget": _("Ditt ärende {reference} handläggs igen"),
        "svar": _("Svar i ditt ärende {reference}"),
    }


@attrs.frozen
class Letter:
    """A rendered letter.  ``template`` is the file it came from, so that a
    förvaltning can see whether its own wording was used."""

    reference: str
    seq: int
    kind: str
    subject: str
    text: str
    template: str


class Letters:
    """Renders the letters of one kommun from the plugins' folders and the
    built-in ones."""

    def __init__(self, organisation: Organisation, dirs: Sequence[str | os.PathLike[str]] = ()) -> None:
        self.organisation = organisation
        # The built-in folder comes through the built-in plugin, last;
        # Klagomal checks that every folder exists, naming the plugin.
        self.dirs = [str(d) for d in dirs] or [str(BUILTIN_TEMPLATES)]
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.dirs),
            # Plain text: nothing to escape.  The HTML letters of the notices
            # work will autoescape everything a citizen wrote.
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["datum"] = swedish_date

    def template_names(self, department: str, kind: str) -> list[str]:
        """The names tried for notice *kind* of a case in *department*, in order."""
        return [f"{department}/{kind}.txt", f"{kind}.txt"]

    def render(self, case: Case, event: Event, kind: str, today: dt.date) -> Letter:
        """The letter *kind* owed because of *event*; *case* is the case as it
        was right after the event."""
        names = self.template_names(case.department, kind)
        try:
            template = self.env.select_template(names)
            text = template.render(
                kommun=self.organisation,
                case=case,
                event=event.data,
                unit=self.organisation.unit(case.unit),
                department=self.organisation.departments[case.department],
                reference=case.reference,
                name=case.contact.name if case.contact else None,
                today=today,
            )
        except jinja2.TemplatesNotFound:
            raise ConfigurationError(
                _("ingen brevmall {names} finns i {dirs}").format(
                    names=" / ".join(names), dirs=", ".join(self.dirs)
                )
            ) from None
        except jinja2.TemplateError as exc:
            where = getattr(exc, "filename", None) or getattr(exc, "name", None) or names[0]
            raise ConfigurationError(
                _("brevmallen {template} går inte att använda: {reason}").format(template=where, reason=exc)
            ) from exc
        subject = _subjects().get(kind, "{reference}").format(reference=case.reference)
        return Letter(case.reference, event.seq, kind, subject, text, str(template.filename))

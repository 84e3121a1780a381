"""Notices rendered with Jinja2, in plain text and in HTML, Swedish by default.

Every notice a case gives rise to has a template in Swedish, as plain text
(``<kind>.txt``) and as HTML (``<kind>.html``); ``docs/letters.md`` lists
them with the step that causes each and the requirement behind it.  To the
person who gave the feedback: the besked (R7), information (R9), a new date
(R11), a request for missing details and the resumed date, the answer (R13)
and guidance about another route (R3).  To staff: praise passed on (R22),
a case raised to the förvaltningschef or the nämnd (R20, R21), and the
reminders and breach alerts of ``klagomal remind``.

Plugins add template folders through the ``klagomal_template_dirs`` hook.
For a case of förvaltning ``bou`` the text of notice ``besked`` is rendered
from the first of these that exists::

    bou/besked.txt      (a förvaltning's own wording)
    besked.txt          (the kommun's or the built-in wording)

searching the plugins' folders before the built-in one.  So a förvaltning's
plugin changes the wording for its own cases only, and a kommun-wide plugin
can replace a notice for everyone.  The HTML is ``besked.html`` *from the
same place* as the text (the same folder and the same förvaltning prefix).
When that file does not exist, the HTML is derived from the rendered text
(escaped, paragraphs and line breaks kept, inside the shared layout), so a
förvaltning that changes only the text never sends HTML in other words.

Templates see ``kommun`` (the organisation), ``profile`` (its letterhead),
``case``, ``event`` (what happened, such as the new date of a
postponement), ``unit`` and ``department`` (where the case is),
``reference``, ``name`` (the person's name, or ``None``), ``recipient``,
``today``, ``day`` (the day of the event), ``subject``, ``signer`` (who
signs, :class:`Signer`: the name, and the title for its own line) and
``besked_days`` (the working days within which the förvaltning gives a
besked) and ``mailbox`` (where the person writes: the unit's address, the
förvaltning's from level 2 on, or ``None``), plus whatever the caller passes as ``extra``.  Filters: ``datum``
writes a date the Swedish way ("8 januari 2027"), ``tal``, ``procent`` and
``antal`` a number ("5 000", "93,9 %", "tio"), all through
:mod:`klagomal.core.formats`; ``namn`` and ``titel`` split "Enhetschef Lena
Holm" into name and title, ``tackar`` tells whether a text thanks the
reader (a letter thanks once, R23), ``lista`` joins names ("Anna, Bo och
Cecilia"), ``citat`` quotes a text in a plain-text letter and ``stycken``
turns a text into HTML paragraphs.  The HTML templates escape every value, so what a
person or a handler wrote can never become markup.  Undefined names are an
error, so a typo in a template fails loudly instead of leaving a gap in a
letter.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import pathlib
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from markupsafe import Markup, escape

from klagomal.core.errors import ConfigurationError
from klagomal.core.events import Acknowledged, Assigned, Event, EventData
from klagomal.core.formats import MONTHS, amount, join_names, name_and_title, number, percent, swedish_date
from klagomal.core.i18n import _, active_language, ngettext, use_language
from klagomal.core.model import Case
from klagomal.core.organisation import Department, Organisation, OrgUnit, UnitLevel
from klagomal.core.users import handler_name
from klagomal.deadlines.policies import ACKNOWLEDGE_WORKING_DAYS
from klagomal.notices.notifiers import Recipient
from klagomal.records.redaction import Markings, Redaction

if TYPE_CHECKING:  # pragma: no cover
    import jinja2

    from klagomal.deadlines.policies import Deadlines

__all__ = [
    "BUILTIN_TEMPLATES",
    "CITIZEN_NOTICES",
    "MONTHS",
    "STAFF_NOTICES",
    "Letter",
    "Letters",
    "Signer",
    "join_names",
    "paragraphs",
    "person_name",
    "quote",
    "signer",
    "subject",
    "swedish_date",
    "thanks",
]

#: The built-in templates, searched last.
BUILTIN_TEMPLATES = pathlib.Path(__file__).parent / "templates"

#: The notices to the person who gave the feedback, by kind.
CITIZEN_NOTICES = (
    "besked",
    "information",
    "forsening",
    "komplettering",
    "aterupptaget",
    "svar",
    "vagledning",
)

#: The notices to staff, by kind.
STAFF_NOTICES = (
    "berom_vidare",
    "eskalering_chef",
    "eskalering_namnd",
    "paminnelse",
    "overskriden",
    "tilldelning",
    "flaggning",
)

#: The built-in template that puts a text letter into the HTML layout.
DERIVED_HTML = "_fran_text.html"


def person_name(text: object) -> str:
    """The name in *text* without the title an organisation file puts before
    it: ``Lena Ström`` from ``Nämndsekreterare Lena Ström``; a letter greets
    by name (:func:`klagomal.core.formats.name_and_title`)."""
    return name_and_title(str(text))[0]


def person_title(text: object) -> str:
    """The title in *text*, or ``""``: ``Nämndsekreterare``."""
    return name_and_title(str(text))[1] or ""


_THANKS = re.compile(r"\btack|\bthank", re.IGNORECASE)  # a letter in English thanks once too


def thanks(text: object) -> bool:
    """Whether *text* thanks the reader (``Tack för ...``, ``tackar``,
    ``tacksamma``): a letter thanks once (R23), so a template leaves out its
    own thanks when a text it includes has given them."""
    return bool(_THANKS.search(str(text or "")))


@attrs.frozen
class Signer:
    """Who signs a letter: the name on one line, the title on its own line
    below it (``None`` when there is none to give)."""

    name: str
    title: str | None = None

    def __str__(self) -> str:
        return self.name


def signer(case: Case, unit: OrgUnit, department: Department, organisation: Organisation) -> Signer:
    """Who signs a letter about *case*: its handler, or the unit's chef while
    there is none.

    The title is the one the organisation file gives the signer
    (``Enhetschef Robert Axelsson`` signs ``Robert Axelsson`` /
    ``Enhetschef``), also when the handler was named without it; a handler
    the file does not name signs as ``Handläggare``, and a nämnd (the handler
    at level 3) signs with its name alone.
    """
    who = case.handler or unit.manager
    if who == department.board:
        return Signer(who)
    name, title = name_and_title(who)
    if title is None:
        people = [u.manager for u in organisation.units.values()]
        people += [d.board_secretary for d in organisation.departments.values() if d.board_secretary]
        titles = [t for t in (name_and_title(p) for p in people) if t[0] == name and t[1]]
        if titles:
            title = titles[0][1]
        elif case.handler is not None:
            title = _("Handläggare")
    return Signer(name, title)


def _mailbox(case: Case, unit: OrgUnit, department: Department, organisation: Organisation) -> str | None:
    """Where the person writes about *case*: the unit's mailbox, or from
    level 2 on, when the förvaltning has the case, the förvaltning's own;
    ``None`` when the organisation file gives neither."""
    if case.level > 1:
        own = organisation.units.get(department.id)
        if own is not None and own.email:
            return own.email
    return unit.email


def _blocks(text: str) -> list[list[str]]:
    """*text* as paragraphs (separated by blank lines) of lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    return [
        [line.rstrip() for line in block.strip("\n").split("\n")]
        for block in re.split(r"\n[ \t]*\n", text)
        if block.strip()
    ]


def quote(text: object) -> str:
    """*text* quoted in a plain-text letter: every line starts with ``> ``."""
    return "\n".join(f"> {line}".rstrip() for line in str(text).strip("\n").splitlines())


def paragraphs(text: object) -> Markup:
    """*text* as HTML: escaped, each block separated by a blank line a
    ``<p>``, and each single line break a ``<br>``."""
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(escape(line) for line in block))
        for block in _blocks(str(text))
    )


def _to_person(kind: str, recipient: Recipient | None) -> bool:
    """Whether notice *kind* is for the person who gave the feedback, and so
    written in the case's language; staff read Swedish."""
    if recipient is not None:
        return recipient.role == "person"
    return kind in CITIZEN_NOTICES


def _subjects() -> dict[str, str]:
    return {
        "besked": _("Besked om ditt ärende {reference}"),
        "information": _("Information om ditt ärende {reference}"),
        "forsening": _("Nytt svarsdatum för ditt ärende {reference}"),
        "komplettering": _("Vi behöver mer information i ärende {reference}"),
        "aterupptaget": _("Ditt ärende {reference} handläggs igen"),
        "svar": _("Svar i ditt ärende {reference}"),
        "vagledning": _("Vägledning om vart du också kan vända dig, ärende {reference}"),
        "kvittens": _("Vi har tagit emot din synpunkt, ärende {reference}"),
        "berom_vidare": _("Beröm till er, ärende {reference}"),
        "eskalering_chef": _("Ärende {reference} har lyfts till förvaltningschefen"),
        "eskalering_namnd": _("Ärende {reference} har lyfts till nämnden"),
        "tilldelning": _("Du är handläggare för ärende {reference}"),
        "flaggning": _("Kränkande eller hotfullt bemötande flaggat i ärende {reference}"),
        "paminnelse": _("Påminnelse: {what} i ärende {reference} senast {due}"),
        "overskriden": _(
            "Tidsfristen har passerat: {what} i ärende {reference} skulle ha getts senast {due}"
        ),
    }


def subject(kind: str, reference: str, **details: object) -> str:
    """The Swedish subject line of notice *kind* about case *reference*.

    Every subject carries the reference, so that a reply can be threaded back
    into the case.  The reminders (``paminnelse``, ``overskriden``) also need
    *what* (``besked`` or ``svar``) and *due*; a kind klagomal does not know
    (a plugin's own notice) gets ``Ärende <reference>``.
    """
    wording = _subjects().get(kind)
    if wording is None:
        return _("Ärende {reference}").format(reference=reference)
    try:
        line = wording.format_map({**details, "reference": reference})
    except KeyError as exc:
        raise ConfigurationError(
            _("ämnesraden för {kind} behöver uppgiften {key}").format(kind=kind, key=exc.args[0])
        ) from None
    # A translation that dropped the reference must not break the threading.
    return line if reference in line else f"{line} ({reference})"


@attrs.frozen
class Letter:
    """A rendered notice, in plain text and in HTML.

    ``template`` is the file the text came from and ``html_template`` the
    file the HTML came from, so that a förvaltning can see whether its own
    wording was used; ``html_template`` is ``None`` when the HTML was derived
    from the text, because no HTML template lies next to the text one.
    """

    reference: str
    seq: int
    kind: str
    subject: str
    text: str
    template: str
    html: str = ""
    html_template: str | None = None


def _prefix(index: int) -> str:
    # Loads a template from one folder only: "@1/besked.html" is besked.html
    # in the second folder, whatever the others hold.
    return f"@{index}"


def _same_folder(a: str, b: str) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def _failing_template(exc: BaseException, fallback: str) -> str:
    """The template file, and line, where *exc* arose while rendering.

    Jinja2 compiles each template with its file name and rewrites the
    traceback of a rendering error so that its frames point into the
    templates; the innermost such frame is the one to fix (an included
    signature, say, rather than the letter including it).
    """
    where = fallback
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not filename.endswith(".py") and not filename.startswith("<") and os.path.isfile(filename):
            where = _("{file}, rad {line}").format(file=filename, line=tb.tb_lineno)
        tb = tb.tb_next
    return where


def _name_to_greet(name: str | None) -> str | None:
    """*name*, if it has a letter in it; else ``None``, and the letter says ``Hej!``."""
    return name if name and any(c.isalpha() for c in name) else None


def default_redaction(case: Case, recipient: Recipient | None) -> Redaction:
    """What a letter may say when its caller did not say: everything to the
    person it is for; to anyone else, nothing of a secret case (as far as
    the case itself tells; give :meth:`Redaction.for_staff` the history for
    the markings of single steps) and never who a protected person is."""
    if recipient is not None and recipient.role == "person":
        return Redaction(contact_visible=True, protected=case.protected)
    return Redaction(
        contact_visible=False,
        markings=Markings(whole=case.secrecy),
        withhold_secret=True,
        protected=case.protected,
    )


class Letters:
    """Renders the notices of one kommun from the plugins' folders and the
    built-in one.

    :param dirs: the template folders in search order.  The built-in folder
        comes last, through the built-in plugin; it is added when missing,
        because the HTML layout and the derived HTML live there.
    :param deadlines: the deadline policies, so that a letter promises the
        förvaltning's own number of working days for a besked.
    """

    def __init__(
        self,
        organisation: Organisation,
        dirs: Sequence[str | os.PathLike[str]] = (),
        *,
        deadlines: Deadlines | None = None,
    ) -> None:
        self.organisation = organisation
        #: The förvaltningar's deadline policies, for the working days a
        #: letter promises (``besked_days``); without them the routine's ten.
        self.deadlines = deadlines
        # Klagomal checks that every folder exists, naming the plugin.
        self.dirs = [str(d) for d in dirs]
        if not any(_same_folder(d, str(BUILTIN_TEMPLATES)) for d in self.dirs):
            self.dirs.append(str(BUILTIN_TEMPLATES))

    @functools.cached_property
    def env(self) -> jinja2.Environment:
        """The Jinja2 environment of the folders, made when a letter is
        first looked for: most commands write none, and need not load Jinja2."""
        import jinja2

        one_folder = {_prefix(i): jinja2.FileSystemLoader(d) for i, d in enumerate(self.dirs)}
        env = jinja2.Environment(
            loader=jinja2.ChoiceLoader([jinja2.PrefixLoader(one_folder), jinja2.FileSystemLoader(self.dirs)]),
            # Plain text is never escaped; HTML always is, so that nothing a
            # citizen or a handler wrote can become markup.
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html",), default_for_string=False, default=False
            ),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.i18n"],
        )
        # {{ _("Hej %(name)s!", name=name) }} translates to the language
        # active while the letter renders (the case's, for the person) and
        # escapes the values in HTML ("newstyle" gettext).
        env.install_gettext_callables(gettext=_, ngettext=ngettext, newstyle=True)  # type: ignore[attr-defined]
        env.filters["datum"] = swedish_date
        env.filters["tal"] = number
        env.filters["procent"] = percent
        env.filters["antal"] = amount
        env.filters["namn"] = person_name
        env.filters["titel"] = person_title
        env.filters["tackar"] = thanks
        env.filters["lista"] = join_names
        env.filters["citat"] = quote
        env.filters["stycken"] = paragraphs
        return env

    def template_names(self, department: str, kind: str) -> list[str]:
        """The names tried for notice *kind* of a case in *department*, in order."""
        return [f"{department}/{kind}.txt", f"{kind}.txt"]

    def find(self, department: str, kind: str) -> tuple[str, str | None]:
        """The text template and the HTML template of notice *kind* for a case
        in *department*, as files; the HTML is ``None`` when it is to be
        derived from the text.

        :raises ConfigurationError: when no folder has a text template.
        """
        text, html = self._names(department, kind)
        return self._file(text), None if html is None else self._file(html)

    def _file(self, name: str) -> str:
        loader = self.env.loader
        assert loader is not None
        filename = loader.get_source(self.env, name)[1]
        assert filename is not None
        return filename

    def _names(self, department: str, kind: str) -> tuple[str, str | None]:
        """The Jinja2 names (pinned to one folder) of the text and HTML templates."""
        names = self.template_names(department, kind)
        for name in names:
            for index, folder in enumerate(self.dirs):
                if (pathlib.Path(folder) / name).is_file():
                    html = str(pathlib.PurePosixPath(name).with_suffix(".html"))
                    found = (pathlib.Path(folder) / html).is_file()
                    return f"{_prefix(index)}/{name}", f"{_prefix(index)}/{html}" if found else None
        raise ConfigurationError(
            _("ingen brevmall {names} finns i {dirs}").format(
                names=" / ".join(names), dirs=", ".join(self.dirs)
            )
        )

    def context(
        self,
        case: Case,
        event: Event | None,
        today: dt.date,
        *,
        recipient: Recipient | None = None,
        extra: Mapping[str, object] | None = None,
        redaction: Redaction | None = None,
    ) -> dict[str, Any]:
        """What the templates see (see the module's docstring); the keys of
        *extra* are added last, so they may also replace one.  The case and
        the event are shown as *redaction* allows (:func:`default_redaction`
        when it is not given)."""
        organisation = self.organisation
        department = organisation.departments.get(case.department)
        if department is None:
            raise ConfigurationError(
                _("förvaltningen '{department}' finns inte i organisationsfilen {source}").format(
                    department=case.department, source=organisation.source
                )
            )
        unit = organisation.units.get(case.unit)
        if unit is None:
            # A unit removed from the organisation file since: its old cases
            # still get their notices, under the unit's id.
            unit = OrgUnit(
                id=case.unit,
                name=case.unit,
                level=UnitLevel.ENHET,
                manager=department.head,
                parent=department.id,
                department=department.id,
            )
        # R27: the values themselves are withheld, not only the templates'
        # wording, so that a förvaltning's own template cannot quote them.
        shown = redaction if redaction is not None else default_redaction(case, recipient)
        case = shown.case(case)
        event = shown.event(event) if event is not None else None
        # A handler who is a user is stored by id; letters name them.
        users = organisation.users
        if case.handler is not None and case.handler in users:
            case = attrs.evolve(case, handler=handler_name(users, case.handler))
        if event is not None and isinstance(event.data, Acknowledged | Assigned):
            user = users.get(event.data.handler)
            if user is not None:
                data: EventData = attrs.evolve(event.data, handler=user.name)
                event = attrs.evolve(event, data=data)
        besked_days = (
            self.deadlines.policy(department.id).acknowledge_days
            if self.deadlines is not None
            else ACKNOWLEDGE_WORKING_DAYS
        )
        context: dict[str, Any] = {
            "kommun": organisation,
            "profile": organisation.profile,
            "case": case,
            "event": event.data if event is not None else None,
            "unit": unit,
            "department": department,
            "reference": case.reference,
            # A name with no letter in it ("--", "'); DROP TABLE") is no name to greet.
            "name": _name_to_greet(case.contact.name if case.contact else None),
            "recipient": recipient,
            "today": today,
            "day": event.day if event is not None else today,
            "signer": signer(case, unit, department, organisation),
            "besked_days": besked_days,
            "mailbox": _mailbox(case, unit, department, organisation),
            "language": active_language(),
        }
        context.update(extra or {})
        return context

    def render(
        self,
        case: Case,
        event: Event | None,
        kind: str,
        today: dt.date,
        *,
        recipient: Recipient | None = None,
        extra: Mapping[str, object] | None = None,
        redaction: Redaction | None = None,
    ) -> Letter:
        """Notice *kind* owed because of *event*, in text and in HTML; *case*
        is the case as it was right after the event.

        *event* is ``None`` for a notice that no single event caused, such as
        a reminder; the letter's ``seq`` is then the case's version.
        *recipient* is who the notice is for, when the template needs to
        know (praise goes to staff and to their chef in other words).
        *redaction* is what the recipient may be told of the case
        (:mod:`klagomal.records.redaction`): a letter to staff carries no secret
        text and never says who a person with skyddade personuppgifter is.

        A notice to the person is written in the case's language
        (:attr:`Case.language`, :func:`klagomal.core.i18n.use_language`):
        the templates' ``_()`` texts, the subject and the dates; what a
        handler wrote is quoted as it was written.

        :raises ConfigurationError: naming the template and the reason, when
            a template is missing, invalid or fails to render.
        """
        language = case.language if _to_person(kind, recipient) else None
        with use_language(language):
            return self._render_letter(case, event, kind, today, recipient, extra, redaction)

    def _render_letter(
        self,
        case: Case,
        event: Event | None,
        kind: str,
        today: dt.date,
        recipient: Recipient | None,
        extra: Mapping[str, object] | None,
        redaction: Redaction | None,
    ) -> Letter:
        text_name, html_name = self._names(case.department, kind)
        context = self.context(case, event, today, recipient=recipient, extra=extra, redaction=redaction)
        details = {key: value for key, value in (extra or {}).items() if key != "reference"}
        context.setdefault("subject", subject(kind, case.reference, **details))
        text, text_file = self._render(text_name, context)
        if html_name is not None:
            html, html_file = self._render(html_name, context)
        else:
            html, _layout = self._render(DERIVED_HTML, {**context, "body": text})
            html_file = None
        seq = event.seq if event is not None else case.version
        return Letter(case.reference, seq, kind, context["subject"], text, text_file, html, html_file)

    def _render(self, name: str, context: Mapping[str, Any]) -> tuple[str, str]:
        """Template *name* rendered with *context*, and the file it came from."""
        filename = name
        try:
            template = self.env.get_template(name)
            filename = str(template.filename or name)
            return template.render(context), filename
        except Exception as exc:  # anything a template does wrong, such as | datum on no date
            raise self._unusable(exc, filename) from exc

    @staticmethod
    def _unusable(exc: Exception, filename: str) -> ConfigurationError:
        """The error for a template that cannot be used, naming the file and
        line to fix: the included one when the fault is there."""
        import jinja2

        if isinstance(exc, jinja2.TemplateSyntaxError):
            where = exc.filename or filename
            if exc.lineno:
                where = _("{file}, rad {line}").format(file=where, line=exc.lineno)
            reason = exc.message or str(exc)
        elif isinstance(exc, jinja2.TemplateNotFound):
            # An {% extends %} or {% include %} of a template that no folder has.
            where = _failing_template(exc, filename)
            reason = _("mallen {missing} finns inte").format(missing=exc.name)
        else:
            where = _failing_template(exc, filename)
            reason = f"{type(exc).__name__}: {exc}"
        return ConfigurationError(
            _("brevmallen {template} går inte att använda: {reason}").format(template=where, reason=reason)
        )

"""The phrase library in the web interface (R23, the gift principle).

Two parts, both over the facade's four methods (``Klagomal.phrases``,
``phrase``, ``save_phrase``, ``retire_phrase``; docs/letters.md):

- **The upkeep** (``/admin/fraser``): a förvaltningsadmin writes, changes
  and retires the phrases of their förvaltning, the systemägare those of
  every förvaltning.  Anyone else gets the 403 page: the library's access
  policy (:attr:`~klagomal.records.access.Operation.PHRASES`) decides, and
  ``save_phrase`` and ``retire_phrase`` deny again.  Retiring asks first
  (a second form); nothing is deleted.
- **The picker** in the step forms whose text the person reads
  (:data:`PICKER_FIELDS`): the case's förvaltning's phrases, grouped by
  purpose, in a ``<select name="fras">`` with the button "Infoga frasen"
  (``atgard=infoga``).  The step's handler
  (:func:`klagomal.web.ui.casepage._submit`) then takes no step but draws
  the form again with the phrase's text after what was written
  (:func:`insert`), everything else kept.  Without JavaScript, as every page.

A phrase is plain text: the library has no placeholders, so none are
filled here (the handler adapts the words after inserting them).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import attrs
from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from klagomal.app import Klagomal
from klagomal.core import errors
from klagomal.core.i18n import _
from klagomal.core.model import Case
from klagomal.core.phrases import Phrase, Purpose, check_purpose, check_text_of_phrase, check_title
from klagomal.notices.phrases import SAVE_STEP
from klagomal.records.access import Operation
from klagomal.web.ui.login import staff
from klagomal.web.ui.render import FieldError, Ui

__all__ = ["INSERT", "PICKER_FIELDS", "PICKER_TEMPLATE", "Inserted", "insert", "picker", "routes"]

#: The step forms with a text the person reads, and that text's field:
#: where the picker stands and what "Infoga frasen" adds to.  The answer
#: (svar), the information (information), the guidance (vägledning), a new
#: answer date (försening) and a pause for more from the person
#: (komplettering) each put the handler's words in a letter.
PICKER_FIELDS: Mapping[str, str] = {
    "answer": "text",
    "inform": "text",
    "guide": "text",
    "postpone": "reason",
    "pause": "reason",
}

#: The step form with the picker (it fills step.html's ``phrases`` block).
PICKER_TEMPLATE = "step_phrases.html"

#: What the picker's button posts as ``atgard``.
INSERT = "infoga"


# -- the picker in the step forms -------------------------------------------------------------


def _readable(k: Klagomal, case: Case) -> list[Phrase]:
    """The case's förvaltning's phrases in use, if the user may read them
    (asked of the access policy first, so that drawing a form writes no
    denial to the audit log); else none."""
    user = k.user
    if user is None:
        return []
    reach = k.access.handled_departments(user)
    if reach is not None and case.department not in reach:
        return []
    try:
        return k.phrases(case.department)
    except errors.AccessDeniedError:
        return []


def _groups(phrases: list[Phrase]) -> list[tuple[str, list[Phrase]]]:
    """*phrases* (sorted by purpose by the library) by purpose's label."""
    return [
        (purpose.label, list(items)) for purpose, items in itertools.groupby(phrases, lambda p: p.purpose)
    ]


def picker(k: Klagomal, case: Case, step: str, *, inserted: bool = False) -> dict[str, Any]:
    """The template and context of *step*'s form with the picker: empty
    when the step has none, or the förvaltning no phrases the user may read."""
    field = PICKER_FIELDS.get(step)
    if field is None:
        return {}
    phrases = _readable(k, case)
    if not phrases:
        return {}
    return {
        "template": PICKER_TEMPLATE,
        "phrase_field": field,
        "phrase_groups": _groups(phrases),
        "phrase_inserted": inserted,
    }


@attrs.frozen
class Inserted:
    """What :func:`insert` made of the form: its values, and the error if
    no phrase could be inserted."""

    values: dict[str, Any]
    errors: list[FieldError]


def insert(k: Klagomal, case: Case, step: str, values: Mapping[str, Any]) -> Inserted:
    """The form's *values* with the chosen phrase's text after the text to
    the person (a blank line between), or the values as they were and the
    reason.  Only a phrase the picker offers (the case's förvaltning's, in
    use, readable by the user) is inserted; nothing is written."""
    kept = dict(values)
    kept.pop("fras", None)
    kept.pop("atgard", None)
    field = PICKER_FIELDS.get(step)
    chosen = values.get("fras", "")
    chosen = chosen.strip() if isinstance(chosen, str) else ""
    if field is None:
        return Inserted(kept, [FieldError("skicka", _("Det här steget har inga fraser att infoga."))])
    if not chosen:
        return Inserted(kept, [FieldError("fras", _("Välj den fras du vill infoga."))])
    found = {str(p.id): p for p in _readable(k, case)}.get(chosen)
    if found is None:
        return Inserted(
            kept,
            [
                FieldError(
                    "fras",
                    _("Frasen finns inte bland {department}s fraser i bruk; välj en annan.").format(
                        department=_department_name(k, case.department)
                    ),
                )
            ],
        )
    before = kept.get(field, "")
    before = before.rstrip() if isinstance(before, str) else ""
    kept[field] = f"{before}\n\n{found.text}" if before else found.text
    return Inserted(kept, [])


def _department_name(k: Klagomal, department: str) -> str:
    found = k.organisation.departments.get(department)
    return found.name if found is not None else department


# -- the upkeep: /admin/fraser --------------------------------------------------------------


def _keeper(request: Request[Any, Any, Any]) -> Ui:
    """The request's :class:`Ui`, if the user's role keeps phrase libraries
    (a förvaltningsadmin, the systemägare); else the library's denial (the 403 page)."""
    ui = staff(request)
    user = ui.user
    assert user is not None
    ui.k.access.check(user, Operation.PHRASES)
    return ui


def _administered(ui: Ui) -> list[tuple[str, str]]:
    """The förvaltningar whose phrases the user keeps: (id, name)."""
    user = ui.user
    assert user is not None
    scope = ui.k.access.scope(user)
    return [
        (d.id, d.name)
        for d in ui.k.organisation.departments.values()
        if scope.everything or d.id in scope.departments
    ]


@get("/admin/fraser", sync_to_thread=True, name="ui-phrases")
def phrase_list(request: Request[Any, Any, Any], visa: str | None = None) -> Response[Any]:
    """The phrases of the förvaltningar the user keeps, by förvaltning and
    purpose; ``?visa=alla`` also those taken out of use."""
    ui = _keeper(request)
    show_retired = visa == "alla"
    found = ui.k.phrases(include_retired=show_retired)
    departments = [
        (dept_id, name, _groups([p for p in found if p.department == dept_id]))
        for dept_id, name in _administered(ui)
    ]
    return ui.page(
        "phrases.html",
        title=_("Fraser"),
        departments=departments,
        show_retired=show_retired,
        users=ui.k.organisation.users,
    )


def _purposes() -> list[tuple[str, str]]:
    return [(p.value, p.label) for p in Purpose]


def _form_page(
    ui: Ui,
    values: Mapping[str, str],
    *,
    phrase: Phrase | None = None,
    errors_: list[FieldError] | None = None,
    status: int = 200,
) -> Response[Any]:
    if phrase is None:
        title = _("Ny fras")
    elif phrase.retired:
        title = _("Frasen {title} (ur bruk)").format(title=phrase.title)
    else:
        title = _("Ändra frasen {title}").format(title=phrase.title)
    return ui.page(
        "phrase_form.html",
        title=title,
        status=status,
        errors=errors_ or [],
        phrase=phrase,
        values=values,
        departments=[("", _("Välj förvaltning")), *_administered(ui)],
        purposes=_purposes(),
        department_name="" if phrase is None else _department_name(ui.k, phrase.department),
    )


def _checked(ui: Ui, values: Mapping[str, str]) -> list[FieldError]:
    """Every field's error, by the library's rules for a phrase
    (:mod:`klagomal.core.phrases`), so that all are shown at once;
    ``save_phrase`` checks them again."""
    found: list[FieldError] = []
    if values.get("department", "") not in {d for d, _n in _administered(ui)}:
        found.append(FieldError("department", _("Välj den förvaltning frasen hör till.")))
    checks = (
        ("purpose", check_purpose),
        ("title", check_title),
        ("text", check_text_of_phrase),
    )
    for field, check in checks:
        try:
            check(values.get(field, ""), step=SAVE_STEP)
        except errors.InvalidInputError as exc:
            found.append(FieldError(field, str(exc)))
    return found


def _values(data: Mapping[str, Any]) -> dict[str, str]:
    return {
        key: value if isinstance(value, str) else ""
        for key, value in ((k, data.get(k, "")) for k in ("department", "purpose", "title", "text"))
    }


def _save(ui: Ui, data: Mapping[str, Any], phrase: Phrase | None) -> Response[Any]:
    values = _values(data)
    found = _checked(ui, values)
    if not found:
        try:
            saved = ui.k.save_phrase(
                values["department"],
                values["purpose"],
                values["title"],
                values["text"],
                phrase_id=None if phrase is None else phrase.id,
            )
        except errors.InvalidInputError as exc:
            found = [FieldError("title", str(exc))]
        else:
            done = _("Frasen {title} är sparad.") if phrase is None else _("Frasen {title} är ändrad.")
            ui.say("ok", done.format(title=saved.title))
            return ui.redirect("/admin/fraser")
    return _form_page(ui, values, phrase=phrase, errors_=found, status=422)


@get("/admin/fraser/ny", sync_to_thread=True, name="ui-phrase-new")
def new_phrase(request: Request[Any, Any, Any]) -> Response[Any]:
    """The form for a new phrase."""
    ui = _keeper(request)
    administered = _administered(ui)
    values = {
        "department": administered[0][0] if len(administered) == 1 else "",
        "purpose": "",
        "title": "",
        "text": "",
    }
    return _form_page(ui, values)


@post("/admin/fraser/ny", sync_to_thread=True, name="ui-phrase-create", status_code=303)
def create_phrase(
    request: Request[Any, Any, Any],
    data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED),  # noqa: B008
) -> Response[Any]:
    """Write the new phrase; or the form again with the reasons."""
    ui = _keeper(request)
    return _save(ui, data, None)


def _phrase_or_404(ui: Ui, phrase_id: int) -> Phrase | Response[Any]:
    try:
        return ui.k.phrase(phrase_id)
    except errors.InvalidInputError as exc:
        return ui.page("error.html", title=_("Frasen finns inte"), status=404, message=str(exc))


@get("/admin/fraser/{phrase_id:int}", sync_to_thread=True, name="ui-phrase")
def edit_phrase(request: Request[Any, Any, Any], phrase_id: int) -> Response[Any]:
    """A phrase: the form that changes it, or, once retired, what it said."""
    ui = _keeper(request)
    phrase = _phrase_or_404(ui, phrase_id)
    if isinstance(phrase, Response):
        return phrase
    values = {
        "department": phrase.department,
        "purpose": phrase.purpose.value,
        "title": phrase.title,
        "text": phrase.text,
    }
    return _form_page(ui, values, phrase=phrase)


@post("/admin/fraser/{phrase_id:int}", sync_to_thread=True, name="ui-phrase-save", status_code=303)
def save_phrase(
    request: Request[Any, Any, Any],
    phrase_id: int,
    data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED),  # noqa: B008
) -> Response[Any]:
    """Change the phrase; or the form again with the reasons."""
    ui = _keeper(request)
    phrase = _phrase_or_404(ui, phrase_id)
    if isinstance(phrase, Response):
        return phrase
    return _save(ui, data, phrase)


@post("/admin/fraser/{phrase_id:int}/ur-bruk", sync_to_thread=True, name="ui-phrase-retire", status_code=303)
def retire_phrase(
    request: Request[Any, Any, Any],
    phrase_id: int,
    data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED),  # noqa: B008
) -> Response[Any]:
    """Retire the phrase: first a page that asks (``bekrafta`` absent),
    then, confirmed, the library's ``retire_phrase``; nothing is deleted."""
    ui = _keeper(request)
    phrase = _phrase_or_404(ui, phrase_id)
    if isinstance(phrase, Response):
        return phrase
    if data.get("bekrafta") != "ja":
        return ui.page(
            "phrase_retire.html",
            title=_("Ta frasen {title} ur bruk?").format(title=phrase.title),
            phrase=phrase,
        )
    try:
        retired = ui.k.retire_phrase(phrase_id)
    except errors.InvalidInputError as exc:
        return ui.page(
            "phrase_retire.html",
            title=_("Ta frasen {title} ur bruk?").format(title=phrase.title),
            errors=[FieldError("bekrafta", str(exc))],
            status=422,
            phrase=phrase,
        )
    ui.say(
        "ok",
        _("Frasen {title} är tagen ur bruk. Den finns kvar under ”Visa även fraser ur bruk”.").format(
            title=retired.title
        ),
    )
    return ui.redirect("/admin/fraser")


routes = [phrase_list, new_phrase, create_phrase, edit_phrase, save_phrase, retire_phrase]

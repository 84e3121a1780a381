"""The phrase library's service (R23) for :class:`~klagomal.app.Klagomal`:
reading a förvaltning's phrases, writing and retiring them.

**Who may.**  The phrases are wording for letters, so everyone who writes
letters in a förvaltning may read its phrases: a handler and a chef for the
förvaltningar of the units in their scope, a förvaltning's administrator for
their own, the system owner for all
(:meth:`~klagomal.records.access.AccessPolicy.handled_departments`).  A
reader handles no case and reads none.  Writing and retiring is the library's
upkeep (``fraser``, :attr:`~klagomal.records.access.Operation.PHRASES`): the
administrator of the phrase's förvaltning, or the system owner.  A denial is
written to the audit log, like every denial; a write is audited as an
administrator's action, like an API key's.

**Input.**  Every value is checked before anything is written
(:mod:`klagomal.core.phrases`): the förvaltning exists, the purpose is one
of :class:`~klagomal.core.phrases.Purpose`, the title is one line of 1 to
120 characters, the text 1 to 5,000, neither with control characters.  A
refused step writes nothing but the denial.

**Nothing is deleted.**  Retiring hides a phrase from the lists (unless
asked for with ``include_retired``) and keeps its row, so that who wrote
what stays known; a retired phrase is not edited, a new one is written.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import attrs

from klagomal.core.errors import AccessDeniedError, InvalidInputError
from klagomal.core.i18n import _
from klagomal.core.phrases import (
    Phrase,
    Purpose,
    check_department,
    check_purpose,
    check_text_of_phrase,
    check_title,
)
from klagomal.records.access import Operation

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.context import Context
    from klagomal.core.users import User

__all__ = ["LIST_STEP", "RETIRE_STEP", "SAVE_STEP", "PhraseService"]

#: The step ids errors name (:data:`klagomal.core.steps.STEP_LABELS`).
LIST_STEP = "phrases"
SAVE_STEP = "phrase-save"
RETIRE_STEP = "phrase-retire"


@attrs.frozen
class PhraseService:
    """The phrase library, for one :class:`Context` (its acting user)."""

    ctx: Context

    # -- reading --------------------------------------------------------------------

    def phrases(
        self, department: str | None, purpose: Purpose | str | None, include_retired: bool
    ) -> list[Phrase]:
        """The phrases of *department* (``None``: of every förvaltning the
        acting user handles cases in), of one *purpose* or all."""
        ctx = self.ctx
        user = ctx.allowed(Operation.HANDLE)
        visible = ctx.access.handled_departments(user)
        wanted: Collection[str] | None = visible
        if department is not None:
            check_department(ctx.organisation, department, step=LIST_STEP)
            with ctx.denials(Operation.HANDLE):
                self._check_reach(user, visible, department, Operation.HANDLE)
            wanted = [department]
        chosen = None if purpose is None else check_purpose(str(purpose), step=LIST_STEP)
        if wanted is not None and not wanted:
            return []
        with ctx.snapshot() as uow:
            found: list[Phrase] = uow.phrases(
                departments=wanted, purpose=chosen, include_retired=include_retired
            )
        return found

    def phrase(self, phrase_id: int) -> Phrase:
        """Phrase *phrase_id*, retired or not, if the acting user may read
        its förvaltning's phrases."""
        ctx = self.ctx
        user = ctx.allowed(Operation.HANDLE)
        with ctx.snapshot() as uow:
            found = self._found(uow, phrase_id, LIST_STEP)
        with ctx.denials(Operation.HANDLE):
            self._check_reach(user, ctx.access.handled_departments(user), found.department, Operation.HANDLE)
        return found

    # -- writing --------------------------------------------------------------------

    def save_phrase(
        self, department: str, purpose: Purpose | str, title: str, text: str, phrase_id: int | None
    ) -> Phrase:
        """Write a new phrase, or change phrase *phrase_id*."""
        ctx = self.ctx
        actor = ctx.allowed(Operation.PHRASES)
        check_department(ctx.organisation, department, step=SAVE_STEP)
        with ctx.denials(Operation.PHRASES):
            self._check_reach(actor, self._administered(actor), department, Operation.PHRASES)
        chosen = check_purpose(str(purpose), step=SAVE_STEP)
        title = check_title(title, step=SAVE_STEP)
        text = check_text_of_phrase(text, step=SAVE_STEP)
        at = ctx.utcnow()

        def body(uow: Any) -> Phrase:
            if phrase_id is None:
                stored: Phrase = uow.add_phrase(
                    department=department, purpose=chosen, title=title, text=text, at=at, by=actor.id
                )
                ctx.audit(
                    uow,
                    Operation.PHRASES,
                    [None],
                    f"fras {stored.id} skapad: {department}, {chosen}, {title}",
                )
                return stored
            found = self._found(uow, phrase_id, SAVE_STEP)
            self._check_reach(actor, self._administered(actor), found.department, Operation.PHRASES)
            if found.retired:
                raise InvalidInputError(
                    _("fras {id} är tagen ur bruk och kan inte ändras; skriv en ny fras i stället").format(
                        id=phrase_id
                    ),
                    step=SAVE_STEP,
                )
            uow.update_phrase(
                phrase_id, department=department, purpose=chosen, title=title, text=text, at=at, by=actor.id
            )
            ctx.audit(
                uow, Operation.PHRASES, [None], f"fras {phrase_id} ändrad: {department}, {chosen}, {title}"
            )
            return self._found(uow, phrase_id, SAVE_STEP)

        with ctx.denials(Operation.PHRASES):
            return ctx.write(body)

    def retire_phrase(self, phrase_id: int) -> Phrase:
        """Retire phrase *phrase_id*: hidden from the lists from now on."""
        ctx = self.ctx
        actor = ctx.allowed(Operation.PHRASES)
        at = ctx.utcnow()

        def body(uow: Any) -> Phrase:
            found = self._found(uow, phrase_id, RETIRE_STEP)
            self._check_reach(actor, self._administered(actor), found.department, Operation.PHRASES)
            if found.retired:
                raise InvalidInputError(
                    _("fras {id} är redan tagen ur bruk").format(id=phrase_id), step=RETIRE_STEP
                )
            uow.retire_phrase(phrase_id, at=at, by=actor.id)
            ctx.audit(uow, Operation.PHRASES, [None], f"fras {phrase_id} tagen ur bruk: {found.title}")
            return self._found(uow, phrase_id, RETIRE_STEP)

        with ctx.denials(Operation.PHRASES):
            return ctx.write(body)

    # -- helpers -----------------------------------------------------------------------

    def _administered(self, user: User) -> frozenset[str] | None:
        """The förvaltningar whose phrases *user* keeps: all (``None``) for
        the system owner, else those they administer."""
        scope = self.ctx.access.scope(user)
        return None if scope.everything else scope.departments

    def _check_reach(
        self, user: User, reach: frozenset[str] | None, department: str, operation: Operation
    ) -> None:
        if reach is not None and department not in reach:
            name = self.ctx.access.unit_name(department)
            reason = (
                _("{user} handlägger inga ärenden i {department} och läser inte dess fraser")
                if operation is Operation.HANDLE
                else _("{user} är inte administratör för {department} och får inte ändra dess fraser")
            )
            raise AccessDeniedError(
                operation, None, reason.format(user=user.describe(), department=name), user=user
            )

    @staticmethod
    def _found(uow: Any, phrase_id: int, step: str) -> Phrase:
        found: Phrase | None = uow.phrase(phrase_id)
        if found is None:
            raise InvalidInputError(_("det finns ingen fras med id {id}").format(id=phrase_id), step=step)
        return found

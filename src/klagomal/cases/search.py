"""Search: the cases whose reference, texts, names or e-mail addresses hold
given words, as the acting user may see them, best first (R27).

It sits with the cases because what it finds is a worklist of cases, read
like ``list``: checked, scoped to the user's cases and audited in one entry
naming the cases listed.  The index itself is the storage's
(:mod:`klagomal.storage.sql.search`), one row per view of a case; this
module decides which view a user may match, by asking the one place that
decides what a reader sees (:meth:`klagomal.context.Context.redaction`):
a match in a hidden part (a protected person's name, a text withheld as
secret) would tell the user what the hidden part says, so it never makes a
case a hit.  The snippet shown is cut from what the user may see.

The input is only ever words (:func:`words`): quotes, ``*``, ``OR`` or
``-`` are no query syntax, so they can neither fail nor change a search.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from klagomal.core.errors import InvalidInputError
from klagomal.core.events import TEXT_FIELDS, Event
from klagomal.core.i18n import _
from klagomal.records.access import Operation
from klagomal.records.redaction import Markings
from klagomal.storage.base import CaseQuery, SearchQuery

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.context import Context
    from klagomal.core.model import Case

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Found", "search", "words"]

#: How many cases a search lists unless asked for another number, and at most.
DEFAULT_LIMIT = 20
MAX_LIMIT = 500

#: The most words of a query that are searched for.
MAX_WORDS = 12

#: About how many characters a snippet holds.
SNIPPET = 100

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """The lower-case words of *text*, in order: what is indexed and what is
    searched for (the same rule on both sides)."""
    return _WORD.findall(text.lower())


@attrs.frozen
class Found:
    """One case a search found.

    :param case: the case as the acting user may see it.
    :param snippet: a short piece of a text of the case the user may see,
        where a word of the search occurs when one does.
    :param rank: how well it matched, as the database ranks (higher is better).
    """

    case: Case
    snippet: str
    rank: float


def _step() -> str:
    return _("sökning")


def search(ctx: Context, text: str, *, limit: int = DEFAULT_LIMIT, unit: str | None = None) -> list[Found]:
    """The cases matching every word of *text*, best first (see the module)."""
    wanted = list(dict.fromkeys(words(text if isinstance(text, str) else "")))[:MAX_WORDS]
    if not wanted:
        raise InvalidInputError(
            _("sökningen innehåller inga ord att söka efter; skriv ett ord, ett namn eller ett diarienummer"),
            step=_step(),
        )
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(
            _("antalet träffar ska vara mellan 1 och {most}, inte {limit}").format(
                most=MAX_LIMIT, limit=limit
            ),
            step=_step(),
        )
    if unit is not None:
        ctx.organisation.unit(unit)  # a clear error for an unknown unit
    user = ctx.allowed(Operation.SEARCH)
    scope = ctx.access.scope(user)
    query = SearchQuery(
        words=tuple(wanted),
        limit=limit * 2 + 10,
        everything=scope.everything,
        departments=scope.departments,
        units=scope.units,
        handler=scope.handler,
        unit=unit,
        protected=ctx.access.sees_protected_at_all(user),
        # What a reader may see of secret texts is decided per case below.
        secret=True,
    )
    with ctx.transaction() as uow:
        hits: dict[str, tuple[Case, float]] = {}
        passed: set[str] = set()
        while len(hits) < limit:
            rows = uow.search(query)
            new = [row.reference for row in rows if row.reference not in hits and row.reference not in passed]
            cases = {c.reference: c for c in uow.find(CaseQuery(references=new))} if new else {}
            for row in rows:
                case = cases.get(row.reference)
                if case is None or row.reference in hits or len(hits) == limit:
                    continue
                redaction = ctx.redaction(case)
                if (
                    not ctx.may_read(case)
                    or (row.protected and redaction.hides_contact)
                    or (row.secret and redaction.withhold_secret)
                ):
                    passed.add(row.reference)
                    continue
                hits[row.reference] = (case, row.rank)
            if len(rows) < query.limit:
                break
            query = attrs.evolve(query, offset=query.offset + query.limit)
        references = list(hits)
        histories = uow.histories(references) if references else {}
        found = []
        for reference, (case, rank) in hits.items():
            redaction = ctx.redaction(case)
            history = histories[reference]
            if redaction.withhold_secret and not redaction.markings.any:
                # The snippet is cut from a text: withhold by the case's own markings.
                redaction = attrs.evolve(redaction, markings=Markings.of(history))
            shown = redaction.case(case)
            found.append(Found(shown, _snippet(shown, redaction.events(history), wanted), rank))
        if references:
            ctx.audit_list(uow, Operation.SEARCH, references, "search")
        else:
            ctx.append_audit(uow, Operation.SEARCH, [(None, "search (0)")])
        return found


def _snippet(case: Case, history: Sequence[Event], wanted: Sequence[str]) -> str:
    """A piece of a text the user may see, around the first word that
    begins with a searched word; else the beginning of the case's text."""
    texts = [case.text]
    for event in history[1:]:
        texts += [v for f in TEXT_FIELDS.get(type(event.data), ()) if (v := getattr(event.data, f, None))]
    if case.summary:
        texts.append(case.summary)
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in wanted) + r")", re.IGNORECASE)
    for text in texts:
        line = " ".join(text.split())
        match = pattern.search(line)
        if match is not None:
            return _cut(line, match.start())
    return _cut(" ".join(case.text.split()), 0)


def _cut(line: str, at: int) -> str:
    start = max(0, at - SNIPPET // 3)
    if start > 0:
        space = line.rfind(" ", 0, start + 1)
        start = space + 1 if space > 0 else 0
    end = min(len(line), start + SNIPPET)
    if end < len(line):
        space = line.rfind(" ", start, end)
        end = space if space > start else end
    return ("…" if start > 0 else "") + line[start:end].strip() + ("…" if end < len(line) else "")

"""Related cases ("Liknande ärenden"): the other cases a handler may want
to answer together with one, shown at registration and with ``show``.

Two kinds, each with why it is there:

* **The same person** (:attr:`Related.same_person`): cases whose contact
  has the same e-mail address, phone number or personnummer, in their
  normal forms (:mod:`klagomal.core.person_keys`: ``Anna@Example.se`` is
  ``anna@example.se``, ``+46 70-123 45 67`` is ``0701234567``), that are
  open or were closed in the last :data:`RECENTLY_CLOSED_DAYS` days.  An
  anonymous case matches nobody.
* **Similar text** (:attr:`Related.similar`): cases at the same unit
  received within :data:`SIMILAR_WINDOW_DAYS` days before or after the
  case, whose texts share enough words (:func:`similarity`): the best
  :data:`SIMILAR_LIMIT` at or above :data:`MIN_SIMILARITY`.  The window
  lies around the case, so that a case is related to another exactly when
  the other is related to it, and a case shown weeks later still finds
  what came in at the same time.

Nothing is merged or changed: the cases are only listed, and the handler
decides (R13, R15: one answer may cover several cases).  The list is read
like a worklist (:mod:`klagomal.cases.search`): only cases the acting user
may read are looked at, in the database query itself, so that a case
outside their scope is neither listed nor counted; the read of the case
and the list are written to the audit log (R27).  What a reader may not
see is never matched: a protected person's identity (a case whose contact
is hidden from the reader is not tied to another by it, nor another to
it), and a text withheld from the reader.  The words two cases share are
shown only when neither case's text is marked secret, so that a secret
text's words never appear in another case's view.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from klagomal.core.events import ABOUT_CONTACT
from klagomal.core.i18n import _
from klagomal.core.model import CaseState, Kind
from klagomal.core.person_keys import person_keys
from klagomal.records.access import Operation
from klagomal.records.redaction import Markings
from klagomal.storage.base import CaseQuery

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.context import Context
    from klagomal.core.events import Event
    from klagomal.core.model import Case
    from klagomal.records.access import Scope
    from klagomal.records.redaction import Redaction
    from klagomal.storage.base import UnitOfWork

__all__ = [
    "MIN_SIMILARITY",
    "RECENTLY_CLOSED_DAYS",
    "SIMILAR_LIMIT",
    "SIMILAR_WINDOW_DAYS",
    "Related",
    "RelatedCase",
    "Similarity",
    "related",
    "similarity",
    "stems",
]

#: A closed case of the same person is listed for this many days after it was closed.
RECENTLY_CLOSED_DAYS = 90

#: At most this many cases of the same person are listed (the newest).
SAME_PERSON_LIMIT = 20

#: Similar texts are looked for among the unit's cases received this many
#: days before or after the case.
SIMILAR_WINDOW_DAYS = 30

#: At most this many similar cases are listed (the most similar).
SIMILAR_LIMIT = 5

#: At most this many of the unit's cases in the window are compared (the newest).
CANDIDATE_LIMIT = 2000

#: How similar two texts must be to be listed (:func:`similarity`, 0 to 1) ...
MIN_SIMILARITY = 0.3

#: ... and how many word stems they must share (fewer only when a text has fewer).
MIN_SHARED = 2

#: At most this many shared words are shown.
SHOWN_WORDS = 5

_WORD = re.compile(r"[^\W\d_]+")

#: Words that say nothing about what a text is about: the common Swedish
#: function words, and what every message to a kommun holds.
_STOPWORDS = """
    alla allt att av blev bli blir blivit de dem den denna deras dess dessa det detta dig din dina
    ditt du där då efter ej eller en er era ert ett från för ha hade han hans har henne hennes hon
    honom hur här i icke ingen inom inte jag ju kan kunde man med mellan men mig min mina mitt mot
    mycket ni nu någon något några när och om oss på samma sedan sig sin sina sitta själv skulle
    som så sådan sådana sådant till under upp ut utan vad var vara varför varit varje vars vart
    vem vi vid vilka vilkas vilken vilket vår våra vårt än är åt över också bara även kanske
    mer mest många måste ska skall får fick finns fanns göra gör gjorde gjort vill ville
    hej hejsan tack mvh hälsningar vänliga vänlig hälsning kommunen kommun angående gäller
"""
STOPWORDS = frozenset(_STOPWORDS.split())

_VOWELS = frozenset("aeiouyäåö")

#: The Swedish Snowball stemmer's first step: endings removed from the region R1, longest first;
#: with ``an`` and ``ans`` besides (``skolan``, ``gatlampans``), which Snowball keeps.
_ENDING_LIST = """
    a arna erna heterna orna ad e ade ande arne are aste en anden aren heten ern ar er heter or
    as arnas ernas ornas es ades andes ens arens hetens erns at andet het ast an ans
"""
_ENDINGS = tuple(sorted(_ENDING_LIST.split(), key=len, reverse=True))
_S_ENDING = frozenset("bcdfghjklmnoprtvy")
_DOUBLES = ("dd", "gd", "nn", "dt", "gt", "kt", "tt")


def _stem(word: str) -> str:
    """*word* (lower case) without its inflection, by the first two steps of
    the Swedish Snowball stemmer (and ``an``, ``ans``): ``snöröjningen`` and
    ``snöröjning`` are one stem, and so are ``gatlampan`` and ``gatlampor``."""
    r1 = len(word)
    for i in range(1, len(word)):
        if word[i - 1] in _VOWELS and word[i] not in _VOWELS:
            r1 = max(i + 1, 3)
            break
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= r1:
            word = word[: -len(ending)]
            break
    else:
        if word.endswith("s") and len(word) - 1 >= r1 and len(word) > 1 and word[-2] in _S_ENDING:
            word = word[:-1]
    if len(word) - 2 >= r1 and word.endswith(_DOUBLES):
        word = word[:-1]
    return word


#: The stem of each word met (``""`` for a word that says nothing), up to a bound.
_STEMS: dict[str, str] = {}
_STEMS_KEPT = 200_000


def _content_stem(word: str) -> str:
    """The stem of *word* (lower case), or ``""`` when it says nothing
    about what a text is about: a stop word, or under three letters."""
    stem = _STEMS.get(word)
    if stem is None:
        stem = _stem(word) if len(word) >= 3 and word not in STOPWORDS else ""
        stem = stem if len(stem) >= 3 else ""
        if len(_STEMS) < _STEMS_KEPT:
            _STEMS[word] = stem
    return stem


def _words(text: str) -> Iterable[tuple[str, str]]:
    """``(word as written, stem)`` for each word of *text* that says something."""
    for match in _WORD.finditer(text):
        stem = _content_stem(match.group().lower())
        if stem:
            yield match.group(), stem


def stems(text: str) -> frozenset[str]:
    """The stems of the words of *text* that say what it is about.

    A unit's 30 days before and after a case are a thousand texts or more
    at a big kommun, each read here: the text is lower-cased once and each
    word's stem looked up in a table, not worked out again."""
    found: set[str] = set()
    known = _STEMS.get
    for word in _WORD.findall(text.lower()):
        stem = known(word)
        if stem is None:
            stem = _content_stem(word)
        if stem:
            found.add(stem)
    return frozenset(found)


@attrs.frozen
class Similarity:
    """How alike two texts are: *score* from 0 to 1 (the cosine of their
    sets of stems), the stems they share, and how many they must share to
    be listed (:data:`MIN_SHARED`, or all of the shorter text's)."""

    score: float
    shared: frozenset[str]
    needed: int = MIN_SHARED

    @property
    def enough(self) -> bool:
        """Whether the texts are alike enough to be listed."""
        return bool(self.shared) and self.score >= MIN_SIMILARITY and len(self.shared) >= self.needed


def similarity(a: frozenset[str], b: frozenset[str]) -> Similarity:
    """How alike two sets of stems (:func:`stems`) are; the same both ways."""
    if not a or not b:
        return Similarity(0.0, frozenset())
    shared = a & b
    return Similarity(len(shared) / math.sqrt(len(a) * len(b)), shared, min(MIN_SHARED, len(a), len(b)))


@attrs.frozen
class RelatedCase:
    """One related case and why it is related.

    :param matched: for the same person, what their contacts share:
        ``"email"``, ``"phone"``, ``"personnummer"``.
    :param score: for a similar text, how alike (0 to 1).
    :param shared: for a similar text, words of the case's own text that
        the other's shares (none when either text is marked secret).
    :param person_flags: for the same person, the kinds of the flags for
        abusive or threatening treatment set on the person in that case
        (``"hotfullt"``, ``"krankande"``; R28), so that whoever takes the
        person's next contact knows of them.
    """

    reference: str
    kind: Kind
    state: CaseState
    received: dt.date
    unit: str
    matched: tuple[str, ...] = ()
    score: float | None = None
    shared: tuple[str, ...] = ()
    person_flags: tuple[str, ...] = ()

    @property
    def why(self) -> str:
        """Why it is related, in Swedish."""
        if self.matched:
            labels = {
                "email": _("samma e-postadress"),
                "phone": _("samma telefonnummer"),
                "personnummer": _("samma personnummer"),
            }
            return ", ".join(labels[m] for m in self.matched)
        score = _("likhet {percent} %").format(percent=round((self.score or 0.0) * 100))
        if self.shared:
            return score + ": " + ", ".join(self.shared)
        return score


@attrs.frozen
class Related:
    """The cases related to case *reference* (see the module)."""

    reference: str
    same_person: tuple[RelatedCase, ...] = ()
    similar: tuple[RelatedCase, ...] = ()

    @property
    def any(self) -> bool:
        """Whether any case is related."""
        return bool(self.same_person or self.similar)

    @property
    def references(self) -> list[str]:
        """Every related case's reference, once, in the order listed."""
        return list(dict.fromkeys(c.reference for c in (*self.same_person, *self.similar)))


def _entry(case: Case, **why: object) -> RelatedCase:
    return RelatedCase(
        reference=case.reference,
        kind=case.kind,
        state=case.state,
        received=case.received,
        unit=case.unit,
        **why,  # type: ignore[arg-type]
    )


def related(ctx: Context, reference: str) -> Related:
    """The cases related to *reference* as the acting user may see them (see the module)."""
    user = ctx.allowed(Operation.LIST)
    scope = ctx.access.scope(user)
    events: list[Event] = []
    with ctx.reading(reference, "related", ctx.replayed(reference, events)) as (uow, case):
        redaction = attrs.evolve(ctx.redaction(case), markings=Markings.of(events))
        same = _same_person(ctx, uow, case, redaction, scope)
        # A case of the same person is listed once, there.
        listed = {c.reference for c in same}
        similar = _similar(ctx, uow, case, redaction, scope, listed)
        found = Related(reference=reference, same_person=tuple(same), similar=tuple(similar))
        if found.any:
            ctx.audit_list(uow, Operation.LIST, found.references, "related")
        return found


def _same_person(
    ctx: Context, uow: UnitOfWork, case: Case, redaction: Redaction, scope: Scope
) -> list[RelatedCase]:
    keys = person_keys(case.contact)
    if case.anonymous or redaction.hides_contact or not keys.any:
        return []
    since = ctx.clock.today() - dt.timedelta(days=RECENTLY_CLOSED_DAYS)
    rows = uow.same_person(
        keys,
        exclude=case.reference,
        closed_since=since,
        scope=scope,
        limit=SAME_PERSON_LIMIT,
    )
    loaded = {c.reference: c for c in uow.find(CaseQuery(references=[r for r, _day in rows]))} if rows else {}
    listed = []
    for ref, _day in rows:
        other = loaded.get(ref)
        if other is None or not ctx.may_read(other) or ctx.redaction(other).hides_contact:
            continue
        matched = keys.shared_with(person_keys(other.contact))
        if matched:
            # R28: a flag on the person follows them to their next contact; one on a case stays there.
            flags = tuple(
                kind for kind, _sep, about in map(_split_flag, other.threat_flags) if about == ABOUT_CONTACT
            )
            listed.append(_entry(other, matched=matched, person_flags=flags))
    return listed[:SAME_PERSON_LIMIT]


def _split_flag(key: str) -> tuple[str, str, str]:
    """A flag's key (``"hotfullt:kontakt"``) as ``(kind, ":", about)``."""
    return key.partition(":")


def _withheld_text(redaction: Redaction) -> bool:
    """Whether the reader may not see the case's own text (step 1)."""
    return redaction.ground(1) is not None


def _similar(
    ctx: Context, uow: UnitOfWork, case: Case, redaction: Redaction, scope: Scope, listed: set[str]
) -> list[RelatedCase]:
    if _withheld_text(redaction):
        return []
    mine = stems(case.text)
    if not mine:
        return []
    window = dt.timedelta(days=SIMILAR_WINDOW_DAYS)
    texts = uow.unit_texts(
        case.unit,
        received_from=case.received - window,
        received_to=case.received + window,
        exclude=case.reference,
        scope=scope,
        limit=CANDIDATE_LIMIT,
    )
    scored = [(similarity(mine, stems(text)), ref) for ref, text in texts if ref not in listed]
    alike = sorted(((s, ref) for s, ref in scored if s.enough), key=lambda item: (-item[0].score, item[1]))
    # A few more than are listed: some may drop out below (out of scope, withheld).
    best = alike[: SIMILAR_LIMIT * 3]
    if not best:
        return []
    refs = [ref for _s, ref in best]
    loaded = {c.reference: c for c in uow.find(CaseQuery(references=refs))}
    histories = uow.histories(refs)
    own_secret = redaction.markings.ground(1) is not None
    chosen: list[RelatedCase] = []
    for score, ref in best:
        other = loaded.get(ref)
        if other is None or not ctx.may_read(other):
            continue
        markings = Markings.of(histories.get(ref, ()))
        theirs = attrs.evolve(ctx.redaction(other), markings=markings)
        if _withheld_text(theirs):
            continue
        secret = own_secret or markings.ground(1) is not None
        shared = () if secret else _shown_words(case.text, score.shared)
        chosen.append(_entry(other, score=round(score.score, 2), shared=shared))
        if len(chosen) == SIMILAR_LIMIT:
            break
    return chosen


def _shown_words(text: str, shared: frozenset[str]) -> tuple[str, ...]:
    """The words of *text* (as written, lower case) whose stems are *shared*, in order."""
    shown: dict[str, str] = {}
    for word, stem in _words(text):
        if stem in shared and stem not in shown:
            shown[stem] = word.lower()
    return tuple(shown.values())[:SHOWN_WORDS]

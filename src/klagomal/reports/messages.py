"""The key messages on a report's first page, in plain Swedish, made from
its figures by fixed rules (stated for readers in docs/reports.md).

:func:`key_messages` takes the figures as the report publishes them
(:class:`Figures`): a count not shown (``<3``, ``..``) is never used for a
number, a share or a comparison, so a message never tells more than the
tables.  A message whose figures are missing or not shown is left out.  In
order:

1. Volume: how many synpunkter came in, by kind (kinds with none left out);
   with none at all, only "Inga synpunkter kom in under perioden."
2. Change: against the same period last year, when both counts are shown
   and last year had any: "ungefär lika många" within ±5 %, else "x % fler"
   or "färre".  With no cases then, one sentence says there is nothing to
   compare with.
3. Quality problems: the one or two quality dimensions with the most
   complaints, and where (the förvaltning with the most of them, in a report
   on several förvaltningar).  Left out when any of the counts compared is
   withheld (``..``), since the ranking would tell something of it.
4. Timeliness against the promise: the share of besked within the deadline
   and of answers by the promised date, judged by the lower of them:
   at least 95 % "nästan alltid", at least 80 % "oftast", below that
   "för sällan".
5. What was done: the actions recorded.
6. How it was received: of the cases closed, how many ended with the
   person satisfied; and how many were raised to the förvaltningschef.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from klagomal.core.i18n import _, ngettext

__all__ = ["CHANGE_SAME", "TIMELY_MOSTLY", "TIMELY_NEARLY_ALWAYS", "Figures", "Problem", "key_messages"]

Cell = int | str

#: A change against last year within this many per cent is "about the same".
CHANGE_SAME = 5
#: The lower timeliness share from which the promise was kept "nästan alltid".
TIMELY_NEARLY_ALWAYS = 95
#: ... and from which "oftast"; below it, "för sällan".
TIMELY_MOSTLY = 80


@attrs.frozen
class Problem:
    """A quality dimension complaints named: its label, how many complaints,
    and the place with the most of them (``None``: not named)."""

    dimension: str
    complaints: Cell
    where: str | None = None


@attrs.frozen
class Figures:
    """What the key messages are made of, as the report publishes it.

    :param period: the period's label, ``halvår 1 2026 (januari–juni)``.
    :param total: the cases received, or its mark.
    :param kinds: (the kind's name in a sentence, count) in the report's order.
    :param last_year: the cases of the same period last year, or its mark;
        ``0`` when there were none.
    :param problems: per quality dimension, the complaints, most first.
    :param ack: (besked in time, besked due), or ``None`` when not shown.
    :param answer: (answers in time, answers due), or ``None``.
    :param actions: the actions recorded on the period's cases.
    :param satisfied: the cases closed with the person satisfied.
    :param not_satisfied: the cases closed with the person not satisfied.
    :param raised: the cases raised to the förvaltningschef (level 2).
    """

    period: str
    total: Cell
    kinds: tuple[tuple[str, Cell], ...] = ()
    last_year: Cell = 0
    problems: tuple[Problem, ...] = ()
    ack: tuple[int, int] | None = None
    answer: tuple[int, int] | None = None
    actions: Cell = ".."
    satisfied: Cell = ".."
    not_satisfied: Cell = ".."
    raised: Cell = ".."


def _shown(*cells: Cell) -> bool:
    return all(isinstance(c, int) and not isinstance(c, bool) for c in cells)


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole)


def _lower_first(text: str) -> str:
    """``Bemötande`` → ``bemötande`` mid-sentence; ``IT-stöd`` stays."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _join(parts: Sequence[str]) -> str:
    """``a``, ``a och b``, ``a, b och c``."""
    if len(parts) < 2:
        return "".join(parts)
    return _("{first} och {last}").format(first=", ".join(parts[:-1]), last=parts[-1])


def _volume(f: Figures) -> str:
    total = f.total
    if isinstance(total, str):
        if total.startswith("<"):
            return _("Färre än {n} synpunkter kom in under {period}.").format(n=total[1:], period=f.period)
        return _("Antalet synpunkter under {period} redovisas inte (röjandekontroll).").format(
            period=f.period
        )
    sentence = ngettext(
        "{n} synpunkt kom in under {period}", "{n} synpunkter kom in under {period}", total
    ).format(n=total, period=f.period)
    if f.kinds and _shown(*(n for _kind, n in f.kinds)):
        sentence += ": " + _join([f"{n} {kind}" for kind, n in f.kinds if n])
    return sentence + "."


def _change(f: Figures) -> str | None:
    now, then = f.total, f.last_year
    if then == 0:
        return _("Samma period i fjol kom inga synpunkter in, så det finns inget att jämföra med.")
    if not isinstance(now, int) or not isinstance(then, int):
        return None
    change = _percent(now - then, then)
    if abs(change) < CHANGE_SAME:
        return _("Det är ungefär lika många som samma period i fjol ({then}).").format(then=then)
    if change > 0:
        return _("Det är {p} % fler än samma period i fjol ({then}).").format(p=change, then=then)
    return _("Det är {p} % färre än samma period i fjol ({then}).").format(p=-change, then=then)


def _problems(f: Figures) -> str | None:
    if any(not _shown(p.complaints) for p in f.problems if p.complaints != "<3" and p.complaints != 0):
        return None  # a withheld count: a ranking would tell something of it
    named = [p for p in f.problems if isinstance(p.complaints, int) and p.complaints > 0][:2]
    if not named:
        return None
    parts = []
    for problem in named:
        count = ngettext("{n} klagomål", "{n} klagomål", int(problem.complaints)).format(n=problem.complaints)
        if problem.where:
            count = _("{count}, varav flest inom {where}").format(count=count, where=problem.where)
        parts.append(f"{_lower_first(problem.dimension)} ({count})")
    return _("Flest klagomål gällde {problems}.").format(problems=_join(parts))


def _timeliness(f: Figures) -> str | None:
    shares = []
    lowest = 100
    if f.ack is not None and f.ack[1] > 0:
        share = _percent(*f.ack)
        lowest = min(lowest, share)
        shares.append(_("{p} % fick besked inom tidsfristen").format(p=share))
    if f.answer is not None and f.answer[1] > 0:
        share = _percent(*f.answer)
        lowest = min(lowest, share)
        shares.append(_("{p} % fick svar senast det datum som utlovats").format(p=share))
    if not shares:
        return None
    if lowest >= TIMELY_NEARLY_ALWAYS:
        judged = _("Löftet om när den som hörde av sig får besked och svar hölls nästan alltid")
    elif lowest >= TIMELY_MOSTLY:
        judged = _("Löftet om när den som hörde av sig får besked och svar hölls oftast")
    else:
        judged = _("Löftet om när den som hörde av sig får besked och svar hölls för sällan")
    return f"{judged}: {_join(shares)}."


def _actions(f: Figures) -> str | None:
    if not _shown(f.actions):
        return None
    if f.actions == 0:
        return _("Inga åtgärder registrerades för periodens synpunkter.")
    return ngettext(
        "{n} åtgärd registrerades för periodens synpunkter.",
        "{n} åtgärder registrerades för periodens synpunkter.",
        int(f.actions),
    ).format(n=f.actions)


def _reception(f: Figures) -> str | None:
    sentences = []
    if _shown(f.satisfied, f.not_satisfied):
        satisfied, not_satisfied = int(f.satisfied), int(f.not_satisfied)
        closed = satisfied + not_satisfied
        if closed:
            sentences.append(
                ngettext(
                    "Av {closed} avslutat ärende var den som hörde av sig nöjd i {n} ({p} %).",
                    "Av {closed} avslutade ärenden var den som hörde av sig nöjd i {n} ({p} %).",
                    closed,
                ).format(closed=closed, n=satisfied, p=_percent(satisfied, closed))
            )
    if _shown(f.raised):
        raised = int(f.raised)
        sentences.append(
            _("Inget ärende lyftes till förvaltningschefen.")
            if raised == 0
            else ngettext(
                "{n} ärende lyftes till förvaltningschefen.",
                "{n} ärenden lyftes till förvaltningschefen.",
                raised,
            ).format(n=raised)
        )
    return " ".join(sentences) or None


def key_messages(figures: Figures) -> tuple[str, ...]:
    """The key messages of a report with *figures*, by the rules of the
    module's docstring; with no cases at all, just that."""
    if figures.total == 0:
        return (_("Inga synpunkter kom in under perioden."),)
    found = [
        _volume(figures),
        _change(figures),
        _problems(figures),
        _timeliness(figures),
        _actions(figures),
        _reception(figures),
    ]
    return tuple(message for message in found if message)

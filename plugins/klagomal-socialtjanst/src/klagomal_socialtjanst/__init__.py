"""Socialförvaltningen's plugin for klagomal.

Installed, it is found through the entry-point group ``klagomal`` under the
name ``socialtjanst``, and this module carries its hook implementations.
For the cases of the förvaltning it serves (setting ``forvaltning``,
default ``"soc"``) it:

* adds the quality dimension ``trygghet``, *Trygghet och säkerhet* (R6, R25);
* marks every case secret from the start on a legal ground, by default
  ``OSL 26 kap. 1 §`` (R27);
* promises the besked within five working days instead of ten (R7);
* routes feedback that names no unit, or only the förvaltning, by keywords
  in its text (R12, R29);
* treats a complaint that mentions missförhållanden (våld, övergrepp,
  vanvård ...) as serious, so that it goes to the nearest manager (R15),
  and reminds the handler of the lex Sarah routine (SoL 14 kap. 3 §);
* adds the report section ``soc-trygghet`` (R16–R18).

Settings come from the organisation file's ``[insticksmodul.socialtjanst]``
table (:class:`Settings`).  Everything people read is Swedish.
"""

from __future__ import annotations

import contextlib
import functools
import re
import types
from collections.abc import Iterator, Mapping

from klagomal import Organisation, QualityDimension, hookimpl
from klagomal.core.errors import ConfigurationError
from klagomal.core.model import Finding, Intake, Kind, Route
from klagomal.deadlines.policies import DeadlinePolicy
from klagomal.reports import ReportScope, ReportSection, ReportTable

__all__ = [
    "DEFAULT_ACKNOWLEDGE_DAYS",
    "DEFAULT_DEPARTMENT",
    "DEFAULT_KEYWORDS",
    "DEFAULT_MISCONDUCT_WORDS",
    "DEFAULT_SECRECY_GROUND",
    "DIMENSION",
    "REPORT_SECTION_ID",
    "SETTINGS_TABLE",
    "Settings",
    "__version__",
]

__version__ = "0.1.0"

#: The name of this plugin's table in the organisation file,
#: ``[insticksmodul.socialtjanst]``; the same as its entry-point name.
SETTINGS_TABLE = "socialtjanst"

#: The förvaltning served unless the settings say otherwise (Exempelkommun's
#: Socialförvaltningen).  The dimension and the report section always carry
#: this id: registration hooks get no organisation, so they cannot read the
#: settings.
DEFAULT_DEPARTMENT = "soc"

#: R27: secrecy in the social services (offentlighets- och sekretesslagen).
DEFAULT_SECRECY_GROUND = "OSL 26 kap. 1 §"

#: R7 allows at most ten working days; Socialförvaltningen promises five.
DEFAULT_ACKNOWLEDGE_DAYS = 5

#: Keyword → unit id.  Matched case-insensitively at the start of a word, so
#: that "hemtjänsten" and "LSS-boendet" count.  Hemtjänst goes to the
#: avdelning, which distributes between its two hemtjänst units.
DEFAULT_KEYWORDS: Mapping[str, str] = types.MappingProxyType(
    {
        "hemtjänst": "soc-aldre",
        "äldreboende": "soc-aldre-solgarden",
        "LSS": "soc-funktionsstod-lss",
        "försörjningsstöd": "soc-ifo-forsorjningsstod",
        "ekonomiskt bistånd": "soc-ifo-forsorjningsstod",
    }
)

#: Word starts that point at a missförhållande in the sense of lex Sarah
#: (SoL 14 kap.); a complaint that mentions one is serious (R15).
DEFAULT_MISCONDUCT_WORDS = ("våld", "övergrepp", "vanvård", "misshandel", "missförhållande")

#: The id of the report section this plugin adds.
REPORT_SECTION_ID = "soc-trygghet"

#: The quality dimension Socialförvaltningen adds (R6).
DIMENSION = QualityDimension(
    "trygghet",
    "Trygghet och säkerhet",
    description="Om personen kände sig trygg och säker i omsorgen, i hemmet och i kontakten med personalen.",
    department=DEFAULT_DEPARTMENT,
)

_KEYS = ("forvaltning", "sekretessgrund", "beskedsdagar", "nyckelord", "missforhallanden")

_LEX_SARAH = (
    "allvarligt klagomål inom socialtjänsten: följ rutinen för lex Sarah och rapportera "
    "missförhållanden och påtagliga risker för missförhållanden enligt SoL 14 kap. 3 §"
)


class Settings:
    """The plugin's settings, from the organisation file's table
    ``[insticksmodul.socialtjanst]``, with defaults that fit Exempelkommun.

    Each setting is checked when it is read, and a wrong one raises
    :class:`~klagomal.core.errors.ConfigurationError` with a Swedish message.  A
    hook that raises is skipped by klagomal with a note on the case, so one
    wrong setting stops only the hooks that read it: a misspelt keyword
    table does not make the förvaltning's cases public.
    :meth:`problems` lists everything that is wrong, for the handler.
    """

    def __init__(self, organisation: Organisation) -> None:
        self._table = organisation.settings(SETTINGS_TABLE)
        self._where = f"{organisation.source}: [insticksmodul.{SETTINGS_TABLE}]"

    def _fail(self, message: str) -> ConfigurationError:
        return ConfigurationError(f"{self._where}: {message}")

    def _text(self, key: str, default: str) -> str:
        value = self._table.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self._fail(f"'{key}' ska vara en text inom citattecken, inte {value!r}")
        return value.strip()

    def _words(self, value: object, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self._fail(f"'{key}' innehåller {value!r}, som inte är ett ord")
        return value.strip()

    @property
    def department(self) -> str:
        """``forvaltning``: the id of the förvaltning the plugin serves."""
        return self._text("forvaltning", DEFAULT_DEPARTMENT)

    @property
    def secrecy_ground(self) -> str:
        """``sekretessgrund``: the legal ground every case is marked secret on (R27)."""
        return self._text("sekretessgrund", DEFAULT_SECRECY_GROUND)

    @property
    def acknowledge_days(self) -> int:
        """``beskedsdagar``: working days within which the besked is given
        (R7).  klagomal itself refuses more than ten, at start-up."""
        value = self._table.get("beskedsdagar", DEFAULT_ACKNOWLEDGE_DAYS)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._fail(f"'beskedsdagar' ska vara ett heltal, till exempel 5, inte {value!r}")
        return value

    @property
    def keywords(self) -> tuple[tuple[str, str], ...]:
        """``nyckelord``: keyword → unit id.  A table in the file replaces
        the defaults as a whole, so that a default can be removed."""
        value = self._table.get("nyckelord", DEFAULT_KEYWORDS)
        if not isinstance(value, Mapping):
            raise self._fail(
                f'\'nyckelord\' ska vara en tabell med rader som "hemtjänst" = "enhetens id", inte {value!r}'
            )
        pairs = []
        for keyword, unit in value.items():
            word = self._words(keyword, "nyckelord")
            if not isinstance(unit, str) or not unit.strip():
                raise self._fail(f"nyckelordet '{word}' ska peka på en enhets id, inte {unit!r}")
            pairs.append((word, unit.strip()))
        return tuple(pairs)

    @property
    def misconduct_words(self) -> tuple[str, ...]:
        """``missforhallanden``: word starts that make a complaint serious
        (R15); a list in the file replaces the defaults."""
        value = self._table.get("missforhallanden", DEFAULT_MISCONDUCT_WORDS)
        if not isinstance(value, list | tuple):
            raise self._fail(f"'missforhallanden' ska vara en lista av ord, inte {value!r}")
        return tuple(self._words(word, "missforhallanden") for word in value)

    def problems(self) -> list[str]:
        """What is wrong with the settings, in Swedish; empty when nothing is."""
        found = [
            f"{self._where}: okänd nyckel '{key}' (tillåtna nycklar: {', '.join(_KEYS)})"
            for key in self._table
            if key not in _KEYS
        ]
        for name in ("department", "secrecy_ground", "acknowledge_days", "keywords", "misconduct_words"):
            try:
                getattr(self, name)
            except ConfigurationError as exc:
                found.append(str(exc))
        return found


# -- reading the text ---------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _word_start(word: str) -> re.Pattern[str]:
    """A pattern for *word* at the start of a word, in any case; the words
    of a phrase may be separated by any white space."""
    body = r"\s+".join(re.escape(part) for part in word.split())
    return re.compile(rf"(?<!\w){body}", re.IGNORECASE)


def _mentions(text: str, word: str) -> bool:
    return _word_start(word).search(text) is not None


def _serves(settings: Settings, organisation: Organisation) -> bool:
    """Whether the organisation has the förvaltning; without it the plugin
    keeps out of the way."""
    return settings.department in organisation.departments


def _in_department(unit: str, department: str, organisation: Organisation) -> bool:
    return organisation.has_unit(unit) and organisation.unit(unit).department == department


def _keyword_hits(
    text: str, settings: Settings, organisation: Organisation
) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """The units of the förvaltning that keywords in *text* point at, each
    with its keywords, and the (keyword, unit) pairs whose unit is not in the
    förvaltning (a misconfigured ``nyckelord``)."""
    department = settings.department
    units: dict[str, list[str]] = {}
    wrong: list[tuple[str, str]] = []
    for keyword, unit in settings.keywords:
        if not _mentions(text, keyword):
            continue
        if _in_department(unit, department, organisation):
            units.setdefault(unit, []).append(keyword)
        else:
            wrong.append((keyword, unit))
    return units, wrong


def _routable(intake: Intake, settings: Settings) -> bool:
    """Routing by keywords only replaces "no unit" or the förvaltning as a whole."""
    return intake.unit is None or intake.unit == settings.department


def _concerns(intake: Intake, settings: Settings, organisation: Organisation) -> bool:
    """Whether *intake* is about the förvaltning: its named unit belongs to
    it, or it names no unit and a keyword of the förvaltning matches (so
    that :func:`klagomal_route` will route it here)."""
    if intake.unit is not None:
        return _in_department(intake.unit, settings.department, organisation)
    units, wrong = _keyword_hits(intake.text, settings, organisation)
    return bool(units or wrong)


def _mentions_misconduct(intake: Intake, settings: Settings) -> bool:
    return any(_mentions(intake.text, word) for word in settings.misconduct_words)


def _quoted(words: list[str]) -> str:
    return ", ".join(f"'{word}'" for word in words)


# -- registration hooks ------------------------------------------------------


@hookimpl
def klagomal_quality_dimensions() -> Iterator[QualityDimension]:
    """``trygghet``, Trygghet och säkerhet (R6)."""
    yield DIMENSION


@hookimpl
def klagomal_report_sections() -> Iterator[ReportSection]:
    """Complaints per unit of the förvaltning: how many, how many serious,
    how many about trygghet (R15, R16)."""
    yield ReportSection(
        id=REPORT_SECTION_ID,
        title="Socialtjänsten: klagomål, allvarliga klagomål och trygghet per enhet",
        build=_build_report,
        department=DEFAULT_DEPARTMENT,
    )


def _build_report(scope: ReportScope) -> ReportTable:
    """One row per unit of the förvaltning, in the organisation's order,
    counting the complaints whose case is at that very unit now (so an
    avdelning's row holds what waits to be distributed there), and a total."""
    organisation = scope.klagomal.organisation
    department = Settings(organisation).department
    counts = {unit: [0, 0, 0] for unit in organisation.subtree(department)}
    for case in scope.cases():
        if case.department != department or case.kind is not Kind.KLAGOMAL:
            continue
        row = counts[case.unit]
        row[0] += 1
        row[1] += int(case.serious)
        row[2] += int(DIMENSION.id in case.dimensions)
    rows: list[tuple[str, str, int, int, int]] = []
    for unit_id, (total, serious, safety) in counts.items():
        unit = organisation.unit(unit_id)
        rows.append((unit.name, unit.level.label, total, serious, safety))
    rows.append(
        (
            "Totalt",
            "",
            sum(row[2] for row in rows),
            sum(row[3] for row in rows),
            sum(row[4] for row in rows),
        )
    )
    return ReportTable(
        columns=("Enhet", "Nivå", "Klagomål", "varav allvarliga", "varav trygghet och säkerhet"),
        rows=tuple(rows),
    )


# -- decision hooks ----------------------------------------------------------


@hookimpl
def klagomal_deadline_policy(department: str, organisation: Organisation) -> DeadlinePolicy | None:
    """Besked within ``beskedsdagar`` (five) working days for the
    förvaltning (R7); other förvaltningar keep theirs."""
    settings = Settings(organisation)
    if department != settings.department:
        return None
    return DeadlinePolicy(acknowledge_days=settings.acknowledge_days)


@hookimpl
def klagomal_is_serious(intake: Intake, organisation: Organisation) -> bool | None:
    """A complaint about the förvaltning that mentions a missförhållande is
    serious (R15).  Never ``False``: otherwise the next plugin, and the
    registrar's own marking, decide."""
    settings = Settings(organisation)
    if not _serves(settings, organisation) or not _concerns(intake, settings, organisation):
        return None
    return True if _mentions_misconduct(intake, settings) else None


@hookimpl
def klagomal_route(intake: Intake, organisation: Organisation) -> Route | None:
    """The unit that keywords in the text point at, when the feedback names
    no unit or only the förvaltning (R12, R29).  Keywords that point at
    several units leave the case with the förvaltning, which distributes it.
    Sets no handler: klagomal gives a serious complaint to the routed unit's
    nearest manager (R15)."""
    settings = Settings(organisation)
    if not _serves(settings, organisation) or not _routable(intake, settings):
        return None
    units, wrong = _keyword_hits(intake.text, settings, organisation)
    if not units and not wrong:
        return None
    top = organisation.unit(settings.department)
    notes = [
        f"nyckelordet '{keyword}' pekar på enheten '{unit}', som inte finns inom {top.name}; "
        f"rätta nyckelord i [insticksmodul.{SETTINGS_TABLE}]"
        for keyword, unit in wrong
    ]
    if len(units) == 1:
        [(unit_id, keywords)] = units.items()
        unit = organisation.unit(unit_id)
        notes.insert(0, f"skickat till {unit.name} eftersom texten nämner {_quoted(keywords)}")
        return Route(unit_id, note="; ".join(notes))
    if units:
        candidates = ", ".join(
            f"{organisation.unit(unit_id).name} ({_quoted(keywords)})" for unit_id, keywords in units.items()
        )
        notes.insert(0, f"texten nämner flera verksamheter: {candidates}")
    notes.append(f"ärendet ligger kvar hos {top.name}, som fördelar det")
    return Route(top.id, note="; ".join(notes))


@hookimpl
def klagomal_default_secrecy(route: Route, organisation: Organisation) -> str | None:
    """Every case of the förvaltning is secret from the start (R27)."""
    settings = Settings(organisation)
    department = settings.department
    return settings.secrecy_ground if _in_department(route.unit, department, organisation) else None


# -- validation hook ---------------------------------------------------------


@hookimpl
def klagomal_validate_intake(
    intake: Intake, route: Route, serious: bool, organisation: Organisation
) -> Iterator[Finding]:
    """For a case of the förvaltning: a reminder of lex Sarah when the
    complaint is serious (by the registrar's marking, this plugin's
    judgement, or another plugin's), and what is wrong with the settings.
    Only warnings: the person decides what is a complaint (R2)."""
    settings = Settings(organisation)
    if not _in_department(route.unit, settings.department, organisation):
        return
    if intake.kind is Kind.KLAGOMAL:
        if not serious:
            with contextlib.suppress(ConfigurationError):  # the problem is reported below
                serious = _mentions_misconduct(intake, settings)
        if serious:
            yield Finding.warning(_LEX_SARAH)
    for problem in settings.problems():
        yield Finding.warning(f"inställningarna är felaktiga: {problem}")

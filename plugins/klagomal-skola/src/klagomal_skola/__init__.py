"""Barn- och utbildningsförvaltningen's plugin for klagomal.

It adds what the schools' förvaltning needs beyond the kommun's routine
(R25: without forking):

* the quality dimension *Lärande* (``larande``, R6);
* a note for the handler on every complaint to the förvaltning that
  complaints against education (utbildningen) also follow the huvudman's own
  routine under skollagen (2010:800) 4 kap. 8 §, and that the person may turn
  to Skolinspektionen or Barn- och elevombudet (R3); the complaint is never
  refused (R2);
* its own wording of the besked and the svar letters (``templates/bou/``),
  warmer and fitting a school, and pointing to Skolinspektionen (R7, R13);
* the report section ``bou-skolor``: cases per school and unit, by kind,
  and how many concern *Lärande* (R16–R18).

klagomal finds it through the entry point ``skola`` of the group
``klagomal``.  The organisation file may set which förvaltning the skollag
note and the report section are about::

    [insticksmodul.skola]
    forvaltning = "bou"

The module itself is the plugin: its ``klagomal_*`` functions are the hook
implementations.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections import Counter
from collections.abc import Iterator

from klagomal import ConfigurationError, Kind, Organisation, QualityDimension, hookimpl
from klagomal.core.model import Finding, Intake, Route
from klagomal.reports import ReportScope, ReportSection, ReportTable

__all__ = [
    "DEFAULT_FORVALTNING",
    "LARANDE",
    "PLUGIN_NAME",
    "REPORT_SECTION_ID",
    "SKOLLAG_NOTE",
    "TEMPLATES",
    "Settings",
    "__version__",
    "klagomal_quality_dimensions",
    "klagomal_report_sections",
    "klagomal_template_dirs",
    "klagomal_validate_intake",
    "school_table",
]

__version__ = "0.1.0"

#: The entry-point name, and the name of the plugin's table in the
#: organisation file, ``[insticksmodul.skola]``.
PLUGIN_NAME = "skola"

#: The förvaltning the plugin is about unless the organisation file says otherwise.
DEFAULT_FORVALTNING = "bou"

#: The letters in the förvaltning's own wording, shipped as package data.
#: Each is named ``bou/<notice>.txt``, so that only bou's cases use it.
TEMPLATES = pathlib.Path(__file__).parent / "templates"

#: Barn- och utbildningsförvaltningen's own quality dimension (R6).
LARANDE = QualityDimension(
    "larande",
    "Lärande",
    description="Barnens och elevernas utveckling och lärande: undervisning, stöd och bedömning.",
    department=DEFAULT_FORVALTNING,
)

#: The note on a complaint to the förvaltning (R3: another route also applies).
SKOLLAG_NOTE = (
    "Klagomål mot utbildningen hanteras också enligt huvudmannens rutin för att ta emot och utreda "
    "klagomål (skollagen (2010:800) 4 kap. 8 §). Utred och dokumentera klagomålet enligt den rutinen. "
    "Är personen inte nöjd med huvudmannens hantering kan hen vända sig till Skolinspektionen eller, "
    "när det gäller kränkande behandling, till Barn- och elevombudet (BEO)."
)

#: The id of the report section.
REPORT_SECTION_ID = "bou-skolor"

_SETTING_KEYS = ("forvaltning",)


@dataclasses.dataclass(frozen=True)
class Settings:
    """The plugin's settings, from the organisation file's table
    ``[insticksmodul.skola]``.

    :param forvaltning: the id of the förvaltning whose complaints get the
        skollag note and whose units the report section lists.
    """

    forvaltning: str = DEFAULT_FORVALTNING

    @classmethod
    def from_organisation(cls, organisation: Organisation) -> Settings:
        """Read and check the settings; a mistake is a
        :class:`~klagomal.ConfigurationError` naming the file and the key."""
        raw = organisation.settings(PLUGIN_NAME)
        where = f"{organisation.source}: [insticksmodul.{PLUGIN_NAME}]"
        for key in raw:
            if key not in _SETTING_KEYS:
                raise ConfigurationError(
                    f"{where}: okänd nyckel '{key}' (tillåtna nycklar: {', '.join(_SETTING_KEYS)})"
                )
        forvaltning = raw.get("forvaltning", DEFAULT_FORVALTNING)
        if not isinstance(forvaltning, str) or forvaltning not in organisation.departments:
            raise ConfigurationError(
                f"{where}: 'forvaltning' ska vara id för en förvaltning i organisationen, "
                f"inte {forvaltning!r} (förvaltningar: {', '.join(organisation.departments)})"
            )
        return cls(forvaltning=forvaltning)


# -- registration hooks ------------------------------------------------------


@hookimpl
def klagomal_quality_dimensions() -> Iterator[QualityDimension]:
    """*Lärande*, Barn- och utbildningsförvaltningen's own dimension (R6)."""
    yield LARANDE


@hookimpl
def klagomal_template_dirs() -> Iterator[pathlib.Path]:
    """The förvaltning's own wording of the besked and the svar (R7, R13)."""
    yield TEMPLATES


@hookimpl
def klagomal_report_sections() -> Iterator[ReportSection]:
    """Cases per school and unit (R16–R18)."""
    yield ReportSection(
        REPORT_SECTION_ID,
        "Skolor och förskolor: ärenden per enhet",
        school_table,
        department=DEFAULT_FORVALTNING,
    )


# -- validation hook ----------------------------------------------------------


@hookimpl
def klagomal_validate_intake(intake: Intake, route: Route, organisation: Organisation) -> Iterator[Finding]:
    """A note on every complaint routed to the förvaltning: skollagen 4 kap.
    8 § also applies (R3).  Only a warning: the person decides what is a
    complaint, and it is always registered (R2)."""
    if intake.kind is not Kind.KLAGOMAL:
        return
    settings = Settings.from_organisation(organisation)
    if route.unit in organisation.subtree(settings.forvaltning):
        yield Finding.warning(SKOLLAG_NOTE)


# -- report section -------------------------------------------------------------


def school_table(scope: ReportScope) -> ReportTable:
    """The förvaltning's cases in *scope* per unit (where each case is now),
    in the organisation's order, with the number of each kind and of cases
    classified *Lärande*; units without cases are left out, and a last row
    sums them up."""
    organisation = scope.klagomal.organisation
    settings = Settings.from_organisation(organisation)
    units = organisation.subtree(settings.forvaltning)
    per_unit: dict[str, Counter[Kind]] = {unit: Counter() for unit in units}
    larande: Counter[str] = Counter()
    for case in scope.cases():
        if case.unit not in per_unit:  # another förvaltning's, in a report on the whole kommun
            continue
        per_unit[case.unit][case.kind] += 1
        if LARANDE.id in case.dimensions:
            larande[case.unit] += 1

    rows: list[tuple[str | int, ...]] = []
    totals = [0] * 5
    for unit, counts in per_unit.items():
        if not counts:
            continue
        numbers = (
            counts[Kind.KLAGOMAL],
            counts[Kind.FORSLAG],
            counts[Kind.BEROM],
            counts.total(),
            larande[unit],
        )
        totals = [a + b for a, b in zip(totals, numbers, strict=True)]
        rows.append((organisation.unit(unit).name, *numbers))
    rows.append(("Summa", *totals))
    return ReportTable(
        columns=("Enhet", "Klagomål", "Förslag", "Beröm", "Totalt", "Varav Lärande"),
        rows=tuple(rows),
    )

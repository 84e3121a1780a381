"""Barn- och utbildningsförvaltningen's plugin, on a real klagomal: a real
SQLite file, the real plugin manager and lifecycle, the real letters."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.resources
import json
import pathlib
from collections.abc import Callable

import pytest
from klagomal import ConfigurationError, FixedClock, Klagomal, hookimpl
from klagomal.core.events import Registered
from klagomal.core.model import Route
from klagomal.core.organisation import Organisation, default_organisation, parse_organisation
from klagomal.notices.letters import BUILTIN_TEMPLATES
from klagomal.reports import SectionResult
from klagomal.testing import plugin, register

import klagomal_skola

NORRSKOLAN = "bou-grundskola-norrskolan"
REKTOR = "Rektor Elin Mattsson"
PLUGIN = "klagomal_skola"  # the name a module passed as a plugin is registered under
YEAR = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def notes(k: Klagomal, reference: str) -> tuple[str, ...]:
    """The notes stored with the case at registration."""
    registered = k.history(reference)[0].data
    assert isinstance(registered, Registered)
    return registered.notes


def skollag_notes(k: Klagomal, reference: str) -> list[str]:
    return [n for n in notes(k, reference) if "4 kap. 8 §" in n]


def organisation_with(settings: str) -> Organisation:
    """Exempelkommun with extra lines, such as an ``[insticksmodul.skola]`` table."""
    text = importlib.resources.files("klagomal").joinpath("data/exempelkommun.toml").read_text("utf-8")
    return parse_organisation(f"{text}\n{settings}\n", source="exempelkommun-skola.toml")


def section(results: list[SectionResult]) -> SectionResult:
    [found] = [r for r in results if r.section.id == klagomal_skola.REPORT_SECTION_ID]
    return found


# -- the quality dimension -----------------------------------------------------


def test_larande_is_bou_s_own_quality_dimension(klagomal_instance: Klagomal) -> None:
    # R6: a förvaltning adds a dimension of its own; a case can carry several.
    k = klagomal_instance
    larande = k.dimensions["larande"]
    assert (larande.label, larande.department) == ("Lärande", "bou")
    assert k.registry.owners["dimensions"]["larande"] == PLUGIN
    case = register(k, unit=NORRSKOLAN, dimensions=["larande", "bemotande"])
    assert k.get(case.reference).dimensions == ("larande", "bemotande")


# -- the skollag note ------------------------------------------------------------


@pytest.mark.parametrize(
    "unit", [NORRSKOLAN, "bou-forskola-blaklinten", "bou-gymnasium", "bou-grundskola", "bou"]
)
def test_a_complaint_to_bou_gets_the_skollag_note(klagomal_instance: Klagomal, unit: str) -> None:
    # R3: another route also applies (skollagen 4 kap. 8 §); R2: the complaint is still registered.
    k = klagomal_instance
    case = register(k, unit=unit, text="Mitt barn får inte det stöd hon behöver.")
    [note] = skollag_notes(k, case.reference)
    assert note == f"{PLUGIN}: {klagomal_skola.SKOLLAG_NOTE}"
    assert "huvudmannens rutin" in note
    assert "skollagen (2010:800) 4 kap. 8 §" in note
    assert "Skolinspektionen" in note
    assert "Barn- och elevombudet" in note
    assert k.get(case.reference).state.value == "registrerat"


def test_an_anonymous_complaint_to_bou_is_registered_with_the_note(klagomal_instance: Klagomal) -> None:
    # R2: never refused; R5: anonymous by telephone is allowed.
    k = klagomal_instance
    case = register(k, unit="bou-gymnasium", contact=None)
    assert case.anonymous
    assert len(skollag_notes(k, case.reference)) == 1


@pytest.mark.parametrize("kind", ["berom", "forslag"])
def test_praise_and_suggestions_to_bou_get_no_note(klagomal_instance: Klagomal, kind: str) -> None:
    k = klagomal_instance
    case = register(k, kind=kind, unit=NORRSKOLAN, text="Fin utflykt med klassen!")
    assert notes(k, case.reference) == ()


def test_a_complaint_to_another_forvaltning_gets_no_note(klagomal_instance: Klagomal) -> None:
    k = klagomal_instance
    case = register(k)  # Hemtjänst Norr, Socialförvaltningen
    assert case.department == "soc"
    assert notes(k, case.reference) == ()


def test_the_note_follows_the_route_not_the_unit_named(make_klagomal: Callable[..., Klagomal]) -> None:
    # R12: a routing plugin may find the unit; the note depends on where the case goes.
    router = plugin(
        "router",
        klagomal_route=lambda intake: Route("bou-gymnasium") if "gymnasiet" in intake.text else None,
    )
    k = make_klagomal(plugins=[klagomal_skola, router])
    case = register(k, unit=None, text="Schemat på gymnasiet ändras hela tiden.")
    assert case.unit == "bou-gymnasium"
    assert len(skollag_notes(k, case.reference)) == 1


# -- letters -------------------------------------------------------------------------


def test_the_besked_of_a_bou_case_is_in_the_schools_wording(
    klagomal_instance: Klagomal, klagomal_clock: FixedClock
) -> None:
    # R7: who handles the case, by when, and what happens next.
    k = klagomal_instance
    case = register(k, unit=NORRSKOLAN)
    klagomal_clock.advance(1)
    k.acknowledge(case.reference, REKTOR, respond_by=dt.date(2026, 3, 27))
    letter = k.letter(case.reference)
    assert letter.kind == "besked"
    assert letter.template == str(klagomal_skola.TEMPLATES / "bou" / "besked.txt")
    assert letter.text.startswith("Hej Eva Svensson!\n")
    assert f"{REKTOR} vid Norrskolan tar hand om ditt ärende." in letter.text
    assert f"Ärendet har nummer {case.reference}." in letter.text
    assert "Du får svar senast 27 mars 2026." in letter.text
    assert "huvudmannens rutin för klagomål" in letter.text
    assert "skollagen (2010:800) 4 kap. 8 §" in letter.text
    assert "Exempelkommun är huvudman för Norrskolan." in letter.text
    # The built-in signature is included.
    assert "Norrskolan, Barn- och utbildningsförvaltningen" in letter.text
    assert "{{" not in letter.text
    assert "{%" not in letter.text


def test_the_besked_of_praise_thanks_without_the_skollag_paragraph(klagomal_instance: Klagomal) -> None:
    # R22, R23: praise is welcomed and passed on; the skollag routine is for complaints.
    k = klagomal_instance
    case = register(k, kind="berom", unit="bou-forskola-ekorren", text="Personalen är så fina!")
    k.acknowledge(case.reference, "Förskolechef Oskar Lind")
    letter = k.letter(case.reference)
    assert letter.template == str(klagomal_skola.TEMPLATES / "bou" / "besked.txt")
    assert "beröm till Förskolan Ekorren" in letter.text
    assert "Vi ser till att det når dem det gäller." in letter.text
    assert "skollagen" not in letter.text
    # The promised date is the förvaltning's default, written the Swedish way.
    respond_by = k.get(case.reference).respond_by
    assert respond_by is not None
    assert f"Du får svar senast {respond_by.day} " in letter.text
    assert f"{respond_by.year}." in letter.text


def test_the_svar_of_a_bou_complaint_points_to_skolinspektionen(klagomal_instance: Klagomal) -> None:
    # R13: the answer; R19, R20: the next level; and the school's own supervisory authority.
    k = klagomal_instance
    case = register(k, unit=NORRSKOLAN)
    k.acknowledge(case.reference, REKTOR, respond_by=dt.date(2026, 3, 20))
    k.answer(case.reference, "skriftligt", "Vi har gått igenom rutinerna för rasterna med personalen.")
    letter = k.letter(case.reference)
    assert letter.kind == "svar"
    assert letter.template == str(klagomal_skola.TEMPLATES / "bou" / "svar.txt")
    assert "Vi har gått igenom rutinerna för rasterna med personalen." in letter.text
    assert "lyfts till förvaltningschefen för Barn- och utbildningsförvaltningen" in letter.text
    assert "Skolinspektionen" in letter.text
    assert "Barn- och elevombudet (BEO)" in letter.text


def test_other_forvaltningar_keep_the_built_in_letters(
    klagomal_instance: Klagomal, make_klagomal: Callable[..., Klagomal]
) -> None:
    # R25: a förvaltning's wording changes its own cases only.
    without = make_klagomal(plugins=[])
    letters = []
    for k in (klagomal_instance, without):
        case = register(k)  # Socialförvaltningen
        k.acknowledge(case.reference, "Enhetschef Lena Holm", respond_by=dt.date(2026, 3, 27))
        besked = k.letter(case.reference)
        k.answer(case.reference, "skriftligt", "Vi har pratat med personalen.")
        letters.append((besked, k.letter(case.reference)))
    (besked, svar), (plain_besked, plain_svar) = letters
    assert besked.template == str(BUILTIN_TEMPLATES / "besked.txt")
    assert svar.template == str(BUILTIN_TEMPLATES / "svar.txt")
    assert (besked.text, svar.text) == (plain_besked.text, plain_svar.text)
    assert "Du får svar senast 27 mars 2026." in besked.text
    assert "Skolinspektionen" not in svar.text


class KommunWording:
    """A kommun's own plugin with its own wording of bou's besked, as the README shows."""

    name = "kommun-brev"

    def __init__(self, folder: pathlib.Path) -> None:
        self.folder = folder

    @hookimpl(tryfirst=True)
    def klagomal_template_dirs(self) -> list[pathlib.Path]:
        return [self.folder]


@pytest.mark.parametrize("kommun_first", [True, False])
def test_a_kommun_plugin_can_change_the_wording_further(
    make_klagomal: Callable[..., Klagomal], tmp_path: pathlib.Path, kommun_first: bool
) -> None:
    # R25: the README's recipe works whatever order the plugins are loaded in.
    folder = tmp_path / "brev"
    (folder / "bou").mkdir(parents=True)
    (folder / "bou" / "besked.txt").write_text(
        "Hej! {{ event.handler }} svarar senast {{ event.respond_by | datum }}.\n", encoding="utf-8"
    )
    kommun = KommunWording(folder)
    k = make_klagomal(plugins=[kommun, klagomal_skola] if kommun_first else [klagomal_skola, kommun])
    case = register(k, unit=NORRSKOLAN)
    k.acknowledge(case.reference, REKTOR, respond_by=dt.date(2026, 3, 27))
    letter = k.letter(case.reference)
    assert letter.template == str(folder / "bou" / "besked.txt")
    assert letter.text == f"Hej! {REKTOR} svarar senast 27 mars 2026.\n"
    # The plugin's svar is still used where the kommun has no wording of its own.
    k.answer(case.reference, "skriftligt", "Vi har pratat med klassen.")
    assert k.letter(case.reference).template == str(klagomal_skola.TEMPLATES / "bou" / "svar.txt")


# -- the report section -------------------------------------------------------------


def test_the_report_section_counts_cases_per_school(klagomal_instance: Klagomal) -> None:
    # R16–R18: volume and type per unit, and how many concern Lärande.
    k = klagomal_instance
    register(k, unit=NORRSKOLAN, dimensions=["larande"])
    register(k, unit=NORRSKOLAN, dimensions=["larande", "bemotande"])
    register(k, unit=NORRSKOLAN, kind="forslag", text="Mer utomhuspedagogik.")
    register(k, unit="bou-forskola-blaklinten", kind="berom", dimensions=["larande"], text="Tack!")
    register(k, unit="bou-gymnasium", dimensions=["tillganglighet"])
    register(k, unit=NORRSKOLAN, received=dt.date(2025, 12, 1))  # outside the period
    register(k, dimensions=["larande"])  # Socialförvaltningen: not a school's case

    expected_rows = (
        ("Förskolan Blåklinten", 0, 0, 1, 1, 1),
        ("Norrskolan", 2, 1, 0, 3, 2),
        ("Exempelgymnasiet", 1, 0, 0, 1, 0),
        ("Summa", 3, 1, 1, 5, 3),
    )
    for department in ("bou", None):  # the förvaltning's report and the kommun's
        result = section(k.report_sections(*YEAR, department=department))
        assert result.error is None
        assert result.table is not None
        assert result.section.department == "bou"
        assert result.section.title == "Skolor och förskolor: ärenden per enhet"
        assert result.table.columns == ("Enhet", "Klagomål", "Förslag", "Beröm", "Totalt", "Varav Lärande")
        assert result.table.rows == expected_rows
    assert not [r for r in k.report_sections(*YEAR, department="soc") if r.section.id == "bou-skolor"]


def test_a_case_is_counted_where_it_is_now(klagomal_instance: Klagomal) -> None:
    # R12: a case forwarded to another school is counted there.
    k = klagomal_instance
    case = register(k, unit=NORRSKOLAN)
    k.forward(case.reference, "bou-grundskola-sodra-skolan")
    table = section(k.report_sections(*YEAR, department="bou")).table
    assert table is not None
    assert table.rows == (("Södra skolan", 1, 0, 0, 1, 0), ("Summa", 1, 0, 0, 1, 0))


def test_the_report_section_without_cases_has_only_the_sum(klagomal_instance: Klagomal) -> None:
    table = section(klagomal_instance.report_sections(*YEAR, department="bou")).table
    assert table is not None
    assert table.rows == (("Summa", 0, 0, 0, 0, 0),)


# -- packaging -------------------------------------------------------------------------


def test_the_templates_are_shipped_with_the_package() -> None:
    # The folder the hook returns is inside the installed package.
    [folder] = list(klagomal_skola.klagomal_template_dirs())
    assert folder == pathlib.Path(klagomal_skola.__file__).parent / "templates"
    assert (folder / "bou" / "besked.txt").is_file()
    assert (folder / "bou" / "svar.txt").is_file()
    shipped = importlib.resources.files("klagomal_skola").joinpath("templates/bou/besked.txt")
    assert "4 kap. 8 §" in shipped.read_text(encoding="utf-8")


def _installed_editable() -> bool:
    try:
        direct_url = importlib.metadata.distribution("klagomal-skola").read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return False  # not installed at all: the test below says so
    return bool(direct_url and json.loads(direct_url).get("dir_info", {}).get("editable"))


@pytest.mark.skipif(_installed_editable(), reason="an editable install has no wheel to look into")
def test_the_installed_distribution_lists_the_templates() -> None:
    # Proves the templates are package data: a non-editable install records every file it put in place.
    files = {str(f) for f in importlib.metadata.files("klagomal-skola") or ()}
    assert {
        "klagomal_skola/templates/bou/besked.txt",
        "klagomal_skola/templates/bou/svar.txt",
        "klagomal_skola/py.typed",
    } <= files


def test_the_installed_entry_point_is_found(make_klagomal: Callable[..., Klagomal]) -> None:
    # R25: installed, not forked; klagomal finds it through the entry-point group ``klagomal``.
    k = make_klagomal(load_entrypoints=True)
    assert k.plugin_manager.has_plugin("skola")
    assert k.plugin_manager.version_of("skola") == klagomal_skola.__version__ == "0.1.0"
    assert k.dimensions["larande"].label == "Lärande"
    assert k.registry.owners["dimensions"]["larande"] == "skola"
    assert k.registry.owners["report_sections"]["bou-skolor"] == "skola"
    assert k.registry.owners["template_dirs"][str(klagomal_skola.TEMPLATES)] == "skola"
    case = register(k, unit=NORRSKOLAN)
    assert skollag_notes(k, case.reference) == [f"skola: {klagomal_skola.SKOLLAG_NOTE}"]


# -- settings ------------------------------------------------------------------------------


def test_the_forvaltning_is_bou_by_default() -> None:
    assert klagomal_skola.Settings.from_organisation(default_organisation()).forvaltning == "bou"


def test_the_forvaltning_can_be_set_in_the_organisation_file(
    make_klagomal: Callable[..., Klagomal],
) -> None:
    # R25: a kommun whose schools sit in another förvaltning says so in its organisation file.
    organisation = organisation_with('[insticksmodul.skola]\nforvaltning = "kof"')
    assert klagomal_skola.Settings.from_organisation(organisation).forvaltning == "kof"
    k = make_klagomal(plugins=[klagomal_skola], organisation=organisation)
    library = register(k, unit="kof-bibliotek", text="Läxhjälpen ställdes in.")
    school = register(k, unit=NORRSKOLAN)
    assert len(skollag_notes(k, library.reference)) == 1
    assert skollag_notes(k, school.reference) == []
    table = section(k.report_sections(*YEAR)).table
    assert table is not None
    assert table.rows == (("Biblioteket", 1, 0, 0, 1, 0), ("Summa", 1, 0, 0, 1, 0))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ('forvaltning = "skolan"', "'forvaltning' ska vara id för en förvaltning"),
        ("forvaltning = 7", "'forvaltning' ska vara id för en förvaltning"),
        ('forvalting = "bou"', "okänd nyckel 'forvalting'"),
    ],
)
def test_a_wrong_setting_is_named_but_never_loses_a_complaint(
    make_klagomal: Callable[..., Klagomal], settings: str, message: str
) -> None:
    # R2: a complaint is always registered; the handler is told that the check did not run.
    organisation = organisation_with(f"[insticksmodul.skola]\n{settings}")
    with pytest.raises(ConfigurationError, match=message):
        klagomal_skola.Settings.from_organisation(organisation)
    k = make_klagomal(plugins=[klagomal_skola], organisation=organisation)
    case = register(k, unit=NORRSKOLAN)
    [note] = notes(k, case.reference)
    assert note.startswith(f"{PLUGIN}: kunde inte svara i klagomal_validate_intake")
    assert "exempelkommun-skola.toml: [insticksmodul.skola]" in note
    assert message in note
    # The report section says why it is missing instead of breaking the report.
    result = section(k.report_sections(*YEAR))
    assert result.table is None
    assert result.error is not None
    assert message in result.error

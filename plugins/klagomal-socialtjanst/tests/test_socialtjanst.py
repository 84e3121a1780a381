"""Socialförvaltningen's plugin on a real klagomal instance (SQLite file,
plugin manager, lifecycle), through the fixtures of ``klagomal.testing``."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.resources
import pathlib
import re
import textwrap
from collections.abc import Callable

import pytest
from klagomal import ConfigurationError, InvalidInputError, Klagomal
from klagomal.core.model import Case
from klagomal.core.organisation import Organisation, parse_organisation
from klagomal.testing import plugin, register

import klagomal_socialtjanst

MakeKlagomal = Callable[..., Klagomal]

MONDAY = dt.date(2026, 3, 2)  # the test clock's day (klagomal.testing.START)

EXAMPLE = (importlib.resources.files("klagomal") / "data" / "exempelkommun.toml").read_text(encoding="utf-8")

# A small kommun whose Socialförvaltning is not called "soc".
SMALL = """
[kommun]
id = "liten"
namn = "Lilla kommun"
systemagare = "klf"

[[forvaltning]]
id = "klf"
namn = "Kommunledningsförvaltningen"
chef = "Kommundirektör Ada Ek"
namnd = "Kommunstyrelsen"

[[forvaltning]]
id = "sof"
namn = "Social- och omsorgsförvaltningen"
chef = "Socialchef Bo Ek"
namnd = "Social- och omsorgsnämnden"

  [[forvaltning.enhet]]
  id = "sof-hemtjanst"
  namn = "Hemtjänsten"
  chef = "Enhetschef Siv Ek"
"""


def example_with(settings: str) -> Organisation:
    """Exempelkommun with an ``[insticksmodul.socialtjanst]`` table."""
    text = EXAMPLE + "\n[insticksmodul.socialtjanst]\n" + textwrap.dedent(settings)
    return parse_organisation(text, source="exempelkommun-soc.toml")


def notes(k: Klagomal, case: Case) -> tuple[str, ...]:
    """What the plugins told the handler at registration."""
    data = k.history(case.reference)[0].data
    return data.notes  # type: ignore[union-attr]


# -- quality dimension (R6) --------------------------------------------------


def test_the_trygghet_dimension_registers_and_is_usable(klagomal_instance: Klagomal) -> None:
    k = klagomal_instance
    dimension = k.dimensions["trygghet"]
    assert dimension.label == "Trygghet och säkerhet"  # R6
    assert dimension.department == "soc"
    assert k.registry.owners["dimensions"]["trygghet"] == "klagomal_socialtjanst"
    case = register(k, dimensions=["trygghet", "bemotande"])
    assert case.dimensions == ("trygghet", "bemotande")
    assert k.get(case.reference).dimensions == ("trygghet", "bemotande")


def test_without_the_plugin_trygghet_is_unknown(make_klagomal: MakeKlagomal) -> None:
    k = make_klagomal(plugins=[])
    with pytest.raises(InvalidInputError, match="trygghet"):
        register(k, dimensions=["trygghet"])


# -- secrecy (R27) -----------------------------------------------------------


def test_a_soc_case_is_secret_and_a_bou_case_is_not(klagomal_instance: Klagomal) -> None:
    k = klagomal_instance
    soc = register(k, unit="soc-ifo-barn-familj", text="Ingen ringde tillbaka.")
    bou = register(k, unit="bou-forskola-ekorren", text="Ingen ringde tillbaka.")
    assert soc.secrecy == "OSL 26 kap. 1 §"  # R27
    assert k.get(soc.reference).secrecy == "OSL 26 kap. 1 §"
    assert bou.secrecy is None


def test_a_case_at_the_forvaltning_itself_is_secret(klagomal_instance: Klagomal) -> None:
    case = register(klagomal_instance, unit="soc", text="Ingen ringde tillbaka.")
    assert case.secrecy == "OSL 26 kap. 1 §"  # R27


# -- besked deadline (R7) ------------------------------------------------------


def test_besked_within_five_working_days_for_soc_and_ten_elsewhere(klagomal_instance: Klagomal) -> None:
    k = klagomal_instance
    assert k.clock.today() == MONDAY
    soc = register(k, unit="soc-aldre-solgarden", text="Maten var kall.")
    bou = register(k, unit="bou-grundskola-norrskolan", text="Maten var kall.")
    assert soc.acknowledge_by == dt.date(2026, 3, 9)  # R7: five working days, fewer than ten
    assert bou.acknowledge_by == dt.date(2026, 3, 16)  # R7: the routine's ten
    assert k.deadlines.sources["soc"] == "klagomal_socialtjanst"
    assert k.deadlines.sources["bou"] == "klagomal.builtin"


# -- routing by keywords (R12, R29) --------------------------------------------


@pytest.mark.parametrize("named", [None, "soc"])
@pytest.mark.parametrize(
    ("text", "keyword", "unit"),
    [
        ("Hemtjänsten kom inte i tid i morse.", "hemtjänst", "soc-aldre"),
        ("Maten på äldreboendet är kall.", "äldreboende", "soc-aldre-solgarden"),
        ("Personalen på LSS-boendet svarar inte i telefon.", "LSS", "soc-funktionsstod-lss"),
        ("Beslutet om försörjningsstödet dröjer.", "försörjningsstöd", "soc-ifo-forsorjningsstod"),
        (
            "Handläggningen av EKONOMISKT  bistånd tar för lång tid.",
            "ekonomiskt bistånd",
            "soc-ifo-forsorjningsstod",
        ),
    ],
)
def test_each_keyword_routes_to_its_unit(
    klagomal_instance: Klagomal, named: str | None, text: str, keyword: str, unit: str
) -> None:
    k = klagomal_instance
    case = register(k, unit=named, text=text)
    assert case.unit == unit  # R12: it reaches the right unit at once
    assert case.department == "soc"
    assert case.handler is None  # not serious: the core assigns nobody
    assert any(f"'{keyword}'" in note for note in notes(k, case))
    assert case.secrecy == "OSL 26 kap. 1 §"  # R27, also for a routed case


@pytest.mark.parametrize("unit", ["soc-aldre-hemtjanst-soder", "soc-ifo"])
def test_a_named_unit_below_the_forvaltning_is_never_overridden(
    klagomal_instance: Klagomal, unit: str
) -> None:
    k = klagomal_instance
    case = register(k, unit=unit, text="Hemtjänsten och äldreboendet och LSS-boendet svarar inte.")
    assert case.unit == unit  # R29: the unit that received it keeps it
    assert not any(note.startswith("klagomal_socialtjanst: skickat") for note in notes(k, case))


def test_keywords_for_several_units_leave_the_case_with_the_forvaltning(klagomal_instance: Klagomal) -> None:
    k = klagomal_instance
    case = register(k, unit=None, text="Hemtjänsten och LSS-boendet skyller på varandra.")
    assert case.unit == "soc"  # do not guess; the förvaltning distributes (R12)
    [note] = [n for n in notes(k, case) if n.startswith("klagomal_socialtjanst:")]
    assert "Äldreomsorg ('hemtjänst')" in note
    assert "LSS-boenden ('LSS')" in note
    assert "ligger kvar hos Socialförvaltningen" in note


def test_keywords_match_only_at_the_start_of_a_word(klagomal_instance: Klagomal) -> None:
    k = klagomal_instance
    # "klassen" contains "lss", but not at the start of a word.
    case = register(k, unit="soc", text="Vi i klassen är missnöjda med bemötandet.")
    assert case.unit == "soc"
    assert not any("skickat" in note for note in notes(k, case))


def test_without_a_keyword_the_plugin_leaves_routing_to_the_core(klagomal_instance: Klagomal) -> None:
    k = klagomal_instance
    case = register(k, unit="soc", text="Ingen ringde tillbaka.")
    assert case.unit == "soc"
    assert notes(k, case) == ()
    with pytest.raises(InvalidInputError, match="ange vilken enhet"):
        register(k, unit=None, text="Ingen ringde tillbaka.")


def test_a_keyword_for_an_unknown_unit_still_registers_the_case(make_klagomal: MakeKlagomal) -> None:
    org = example_with(
        """
        [insticksmodul.socialtjanst.nyckelord]
        "hemtjänst" = "soc-aldre-finns-inte"
        "LSS" = "soc-funktionsstod-lss"
        "skolskjuts" = "bou-grundskola"
        """
    )
    k = make_klagomal(plugins=[klagomal_socialtjanst], organisation=org)
    only_wrong = register(k, unit=None, text="Hemtjänsten kom inte.")
    assert only_wrong.unit == "soc"  # registered all the same, with the förvaltning (R8)
    assert any(
        "'soc-aldre-finns-inte'" in note and "rätta nyckelord" in note for note in notes(k, only_wrong)
    )
    one_right = register(k, unit=None, text="Hemtjänsten och LSS-boendet svarar inte.")
    assert one_right.unit == "soc-funktionsstod-lss"
    assert any("'soc-aldre-finns-inte'" in note for note in notes(k, one_right))
    # A unit of another förvaltning is out of this plugin's remit, so it counts as wrong too.
    other = register(k, unit=None, text="Skolskjutsen kom inte.")
    assert other.unit == "soc"
    assert any("'bou-grundskola'" in note for note in notes(k, other))


# -- seriousness (R15) ---------------------------------------------------------


def test_a_complaint_about_misconduct_in_a_named_unit_goes_to_its_manager(
    klagomal_instance: Klagomal,
) -> None:
    case = register(klagomal_instance, text="Pappa lämnades i vanvård hela helgen.")
    assert case.serious  # R15
    assert case.handler == "Enhetschef Lena Holm"  # nearest manager of Hemtjänst Norr


def test_a_routed_complaint_about_misconduct_goes_to_the_routed_units_manager(
    klagomal_instance: Klagomal,
) -> None:
    k = klagomal_instance
    case = register(k, unit=None, text="Min mamma utsattes för våld på äldreboendet.")
    assert case.unit == "soc-aldre-solgarden"
    assert case.serious  # R15
    assert case.handler == "Enhetschef Maria Persson"
    ambiguous = register(k, unit=None, text="Misshandel i hemtjänsten och på LSS-boendet.")
    assert ambiguous.unit == "soc"
    assert ambiguous.handler == "Socialchef Eva Nyström"


def test_misconduct_outside_the_forvaltning_is_not_made_serious(klagomal_instance: Klagomal) -> None:
    case = register(
        klagomal_instance, unit="bou-grundskola-norrskolan", text="Mitt barn utsattes för våld på rasten."
    )
    assert not case.serious
    assert case.handler is None


def test_without_misconduct_the_next_plugin_and_the_registrar_decide(make_klagomal: MakeKlagomal) -> None:
    # Registered after the other plugin, this one is asked first; it answers
    # None, not False, so the other plugin still decides.
    threats = plugin("hot", klagomal_is_serious=lambda intake: ("hotade" in intake.text) or None)
    k = make_klagomal(plugins=[threats, klagomal_socialtjanst])
    case = register(k, text="Personalen i hemtjänsten hotade mig.")
    assert case.serious  # R15
    assert case.handler == "Enhetschef Lena Holm"
    marked = register(k, text="Ingen ringde tillbaka.", serious=True)
    assert marked.serious  # the registrar's marking is kept
    plain = register(k, text="Ingen ringde tillbaka.")
    assert not plain.serious


# -- lex Sarah reminder (R15, R2) ----------------------------------------------


def test_a_serious_soc_complaint_gets_a_lex_sarah_reminder(klagomal_instance: Klagomal) -> None:
    k = klagomal_instance
    by_text = register(k, text="Personalen använde våld vid duschen.")
    by_registrar = register(k, unit="soc-ifo-barn-familj", text="Ingen ringde tillbaka.", serious=True)
    for case in (by_text, by_registrar):
        assert k.get(case.reference) == case  # a warning, never a rejection (R2)
        [reminder] = [note for note in notes(k, case) if "lex Sarah" in note]
        assert "SoL 14 kap. 3 §" in reminder


def test_no_lex_sarah_reminder_for_other_cases(klagomal_instance: Klagomal) -> None:
    k = klagomal_instance
    plain = register(k, text="Ingen ringde tillbaka.")
    bou = register(k, unit="bou-gymnasium", text="Ingen ringde tillbaka.", serious=True)
    praise = register(k, kind="berom", text="Tack för att ni tog hand om våldsutsatta mamma.")
    for case in (plain, bou, praise):
        assert not any("lex Sarah" in note for note in notes(k, case))


# -- settings from the organisation file (R25) ---------------------------------


def test_settings_change_the_behaviour(make_klagomal: MakeKlagomal) -> None:
    org = example_with(
        """
        beskedsdagar = 3
        sekretessgrund = "OSL 26 kap. 1 § (socialtjänst)"
        missforhallanden = ["hot"]
        nyckelord = { "trygghetslarm" = "soc-aldre-hemtjanst-norr" }
        """
    )
    k = make_klagomal(plugins=[klagomal_socialtjanst], organisation=org)
    alarm = register(k, unit=None, text="Trygghetslarmet fungerade inte i natt.")
    assert alarm.unit == "soc-aldre-hemtjanst-norr"
    assert alarm.acknowledge_by == dt.date(2026, 3, 5)  # R7: three working days after Monday
    assert alarm.secrecy == "OSL 26 kap. 1 § (socialtjänst)"  # R27
    # The table replaces the default keywords ...
    assert register(k, unit="soc", text="Hemtjänsten kom inte.").unit == "soc"
    # ... and the default words for missförhållanden.
    assert register(k, text="Personalen hotade mig.").serious  # R15
    assert not register(k, text="Personalen använde våld.").serious


def test_the_settings_example_in_the_readme_is_valid(make_klagomal: MakeKlagomal) -> None:
    readme = (pathlib.Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    [example] = re.findall(r"```toml\n(.*?)```", readme, re.DOTALL)
    org = parse_organisation(EXAMPLE + "\n" + example, source="README.md")
    assert klagomal_socialtjanst.Settings(org).problems() == []
    k = make_klagomal(plugins=[klagomal_socialtjanst], organisation=org)
    case = register(k, unit=None, text="Trygghetslarmet fungerade inte.")
    assert case.unit == "soc-aldre"
    assert notes(k, case) == (
        "klagomal_socialtjanst: skickat till Äldreomsorg eftersom texten nämner 'trygghetslarm'",
    )


def test_the_plugin_serves_a_forvaltning_with_another_id(make_klagomal: MakeKlagomal) -> None:
    org = parse_organisation(
        SMALL
        + """
[insticksmodul.socialtjanst]
forvaltning = "sof"
nyckelord = { "hemtjänst" = "sof-hemtjanst" }
""",
        source="liten.toml",
    )
    k = make_klagomal(plugins=[klagomal_socialtjanst], organisation=org)
    sof = register(k, unit=None, text="Hemtjänsten kom inte; hon har utsatts för övergrepp.")
    assert sof.unit == "sof-hemtjanst"  # R12
    assert sof.secrecy == "OSL 26 kap. 1 §"  # R27
    assert sof.acknowledge_by == dt.date(2026, 3, 9)  # R7
    assert sof.handler == "Enhetschef Siv Ek"  # R15
    klf = register(k, unit="klf", text="Ingen ringde tillbaka.")
    assert klf.secrecy is None
    assert klf.acknowledge_by == dt.date(2026, 3, 16)


def test_without_its_forvaltning_the_plugin_keeps_out_of_the_way(make_klagomal: MakeKlagomal) -> None:
    k = make_klagomal(plugins=[klagomal_socialtjanst], organisation=parse_organisation(SMALL))
    case = register(k, unit="sof-hemtjanst", text="Hemtjänsten använde våld.")
    assert case.secrecy is None
    assert not case.serious
    assert case.acknowledge_by == dt.date(2026, 3, 16)
    assert notes(k, case) == ()
    with pytest.raises(InvalidInputError, match="ange vilken enhet"):
        register(k, unit=None, text="Hemtjänsten kom inte.")


def test_too_many_besked_days_stop_start_up(make_klagomal: MakeKlagomal) -> None:
    org = example_with("beskedsdagar = 12\n")
    with pytest.raises(ConfigurationError, match="klagomal_socialtjanst"):  # R7: at most ten
        make_klagomal(plugins=[klagomal_socialtjanst], organisation=org)


def test_wrong_settings_are_shown_to_the_handler_and_the_case_is_registered(
    make_klagomal: MakeKlagomal,
) -> None:
    org = example_with(
        """
        nyckelord = "hemtjänst"
        okand = 1
        """
    )
    k = make_klagomal(plugins=[klagomal_socialtjanst], organisation=org)
    case = register(k, unit="soc", text="Hemtjänsten kom inte.")
    assert case.unit == "soc"
    assert case.secrecy == "OSL 26 kap. 1 §"  # a wrong keyword table does not make it public (R27)
    assert case.acknowledge_by == dt.date(2026, 3, 9)  # the five days still apply
    found = "\n".join(notes(k, case))
    assert "kunde inte svara i klagomal_route" in found  # the core skipped the route
    assert "'nyckelord' ska vara en tabell" in found
    assert "okänd nyckel 'okand'" in found


def test_a_wrong_besked_time_stops_start_up_naming_the_plugin_and_the_file(
    make_klagomal: MakeKlagomal,
) -> None:
    # R7: a deadline the förvaltning cannot state is fixed before any case is handled.
    org = example_with('beskedsdagar = "fem"')
    with pytest.raises(ConfigurationError) as info:
        make_klagomal(plugins=[klagomal_socialtjanst], organisation=org)
    message = str(info.value)
    assert "klagomal_deadline_policy" in message
    assert "'beskedsdagar' ska vara ett heltal, till exempel 5, inte 'fem'" in message


# -- report section (R16, R17, R18) --------------------------------------------


def _section_rows(k: Klagomal, department: str | None) -> dict[str, tuple[object, ...]]:
    [result] = [
        r
        for r in k.report_sections(dt.date(2026, 3, 1), dt.date(2026, 3, 31), department=department)
        if r.section.id == "soc-trygghet"
    ]
    assert result.table is not None, result.error
    assert "Trygghet" in result.render() or "trygghet" in result.render()
    return {str(row[0]): row[1:] for row in result.table.rows}


def test_the_report_section_counts_complaints_serious_ones_and_trygghet_per_unit(
    klagomal_instance: Klagomal,
) -> None:
    k = klagomal_instance
    register(k, text="Hemtjänsten lämnade dörren olåst.", dimensions=["trygghet"], serious=True)
    register(k, unit="soc-aldre-solgarden", text="Maten var kall.")
    register(k, unit="soc-aldre-solgarden", text="Personalen använde våld.", dimensions=["trygghet"])
    register(k, unit=None, text="Hemtjänsten ringer aldrig tillbaka.")  # routed to Äldreomsorg
    # Left out: a suggestion, another förvaltning, a case received before the period.
    register(k, kind="forslag", unit="soc-aldre-solgarden", text="Fler utflykter.")
    register(k, unit="bou-forskola-ekorren", text="Otryggt på gården.", dimensions=["trygghet"])
    register(k, unit="soc-aldre-solgarden", text="Maten var kall.", received=dt.date(2026, 2, 27))

    rows = _section_rows(k, "soc")
    assert len(rows) == 11  # the ten units of soc and a total
    assert rows["Hemtjänst Norr"] == ("enhet", 1, 1, 1)
    assert rows["Äldreboendet Solgården"] == ("enhet", 2, 1, 1)
    assert rows["Äldreomsorg"] == ("avdelning", 1, 0, 0)
    assert rows["Hemtjänst Söder"] == ("enhet", 0, 0, 0)
    assert rows["Socialförvaltningen"] == ("förvaltning", 0, 0, 0)
    assert rows["Totalt"] == ("", 4, 2, 2)
    assert _section_rows(k, None) == rows  # the whole kommun's report has it too
    bou = k.report_sections(dt.date(2026, 3, 1), dt.date(2026, 3, 31), department="bou")
    assert all(r.section.id != "soc-trygghet" for r in bou)


# -- installed through the entry point (R25) -----------------------------------


def test_the_installed_entry_point_is_found(make_klagomal: MakeKlagomal) -> None:
    # Other förvaltningar's plugins may be installed alongside (tox -e plugins);
    # leave them out, so that this test sees this plugin's answers only.
    others = [
        ep.name for ep in importlib.metadata.entry_points(group="klagomal") if ep.name != "socialtjanst"
    ]
    k = make_klagomal(load_entrypoints=True, disabled=others)
    assert k.plugin_manager.has_plugin("socialtjanst")
    assert k.plugin_manager.version_of("socialtjanst") == klagomal_socialtjanst.__version__ == "0.1.0"
    assert k.registry.owners["dimensions"]["trygghet"] == "socialtjanst"
    assert "soc-trygghet" in k.registry.report_sections
    case = register(k, unit=None, text="Hemtjänsten kom inte.")
    assert case.unit == "soc-aldre"
    assert any(note.startswith("socialtjanst: skickat till Äldreomsorg") for note in notes(k, case))

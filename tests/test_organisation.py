"""The organisation: loading, look-ups, and errors that name the file, the unit and the reason."""

from __future__ import annotations

import argparse
import datetime as dt
import pathlib
import re
import textwrap

import attrs
import pytest

from klagomal.core.errors import ConfigurationError, OrganisationError, UnknownUnitError
from klagomal.core.organisation import (
    Department,
    Organisation,
    OrgUnit,
    UnitLevel,
    default_organisation,
    load_organisation,
    parse_organisation,
)

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs" / "organisation.md"

# The smallest valid file; the error tests each break one thing in it.
MINIMAL = """\
[kommun]
id = "liten"
namn = "Lilla kommun"
systemagare = "klf"

[[forvaltning]]
id = "klf"
namn = "Kommunledningsförvaltningen"
chef = "Kommundirektör Kim Ek"
namnd = "Kommunstyrelsen"

  [[forvaltning.avdelning]]
  id = "klf-ekonomi"
  namn = "Ekonomiavdelningen"
  chef = "Ekonomichef Per Ek"

    [[forvaltning.avdelning.enhet]]
    id = "klf-ekonomi-lon"
    namn = "Löneenheten"
    chef = "Lönechef Li Ek"
    epost = "lon@liten.se"

  [[forvaltning.enhet]]
  id = "klf-kontaktcenter"
  namn = "Kontaktcenter"
  chef = "Enhetschef Bo Ek"
"""


@pytest.fixture(scope="module")
def org() -> Organisation:
    return default_organisation()


def parse_error(text: str) -> str:
    """The message of the OrganisationError that parsing *text* as ``kommun.toml`` raises."""
    with pytest.raises(OrganisationError) as info:
        parse_organisation(text, source="kommun.toml")
    message = str(info.value)
    assert message.startswith("kommun.toml: "), message
    return message


# --- the example kommun ------------------------------------------------------


def test_default_has_five_departments_with_klf_as_system_owner(org: Organisation) -> None:
    # R24: Kommunledningsförvaltningen owns the system.
    assert org.id == "exempelkommun"
    assert org.name == "Exempelkommun"
    assert len(org.departments) >= 5
    assert org.system_owner == "klf"
    klf = org.departments["klf"]
    assert klf.name == "Kommunledningsförvaltningen"
    assert klf.board == "Kommunstyrelsen"
    assert list(org.departments) == ["klf", "soc", "bou", "sbf", "kof"]


def test_default_is_cached_and_equal_to_a_fresh_load(org: Organisation) -> None:
    assert default_organisation() is org
    assert load_organisation() == org
    assert load_organisation().source == "<package>"


def test_every_unit_has_a_manager_and_a_valid_ascii_id(org: Organisation) -> None:
    # R14/R15: there is always a nearest manager to hand a complaint to.
    assert 25 <= len(org.units) <= 35
    for unit_id, unit in org.units.items():
        assert unit.id == unit_id
        assert unit.manager.strip()
        assert re.fullmatch(r"[a-z0-9-]+", unit_id)
        assert unit.email is None or unit.email.endswith("@exempelkommun.se")


def test_every_department_is_a_forvaltning_unit_with_head_and_board(org: Organisation) -> None:
    # R20/R21: escalation goes to the förvaltningschef, then to the nämnd.
    for department in org.departments.values():
        unit = org.unit(department.id)
        assert unit.level is UnitLevel.FORVALTNING
        assert unit.parent is None
        assert unit.department == unit.id
        assert department.head == unit.manager
        assert department.board.strip()


def test_units_come_after_their_parents(org: Organisation) -> None:
    seen: set[str] = set()
    for unit in org.units.values():
        assert unit.parent is None or unit.parent in seen
        seen.add(unit.id)


def test_unit_of_hemtjanst_norr(org: Organisation) -> None:
    assert org.unit("soc-aldre-hemtjanst-norr") == OrgUnit(
        id="soc-aldre-hemtjanst-norr",
        name="Hemtjänst Norr",
        level=UnitLevel.ENHET,
        manager="Enhetschef Lena Holm",
        parent="soc-aldre",
        department="soc",
        email="hemtjanst.norr@exempelkommun.se",
    )


def test_department_of(org: Organisation) -> None:
    assert org.department_of("soc-aldre-hemtjanst-norr") == Department(
        id="soc",
        name="Socialförvaltningen",
        head="Socialchef Eva Nyström",
        board="Socialnämnden",
        board_secretary="Nämndsekreterare Maria Holm",
        board_email="socialnamnden@exempelkommun.se",
    )
    assert org.department_of("bou-grundskola-norrskolan").board == "Barn- och utbildningsnämnden"
    assert org.department_of("kof-bibliotek").board == "Kultur- och fritidsnämnden"
    # A förvaltning belongs to itself.
    assert org.department_of("sbf").name == "Samhällsbyggnadsförvaltningen"


def test_nearest_manager_is_the_units_own_chef(org: Organisation) -> None:
    # R14/R15: a serious complaint goes to the nearest manager, i.e. the unit's own.
    assert org.nearest_manager("soc-aldre-hemtjanst-norr") == "Enhetschef Lena Holm"
    assert org.nearest_manager("soc-aldre") == "Avdelningschef Birgitta Åberg"
    assert org.nearest_manager("bou-grundskola-norrskolan") == "Rektor Elin Mattsson"
    assert org.nearest_manager("soc") == "Socialchef Eva Nyström"


def test_children_in_file_order(org: Organisation) -> None:
    assert [u.id for u in org.children("soc-aldre")] == [
        "soc-aldre-hemtjanst-norr",
        "soc-aldre-hemtjanst-soder",
        "soc-aldre-solgarden",
    ]
    # Avdelningar first, then the enheter directly under the förvaltning.
    assert [u.id for u in org.children("klf")] == [
        "klf-ekonomi",
        "klf-kansli",
        "klf-kommunikation",
        "klf-kontaktcenter",
    ]
    assert org.children("soc-aldre-solgarden") == []


def test_subtree_for_a_managers_worklist(org: Organisation) -> None:
    assert org.subtree("soc-aldre") == [
        "soc-aldre",
        "soc-aldre-hemtjanst-norr",
        "soc-aldre-hemtjanst-soder",
        "soc-aldre-solgarden",
    ]
    assert org.subtree("soc-aldre-solgarden") == ["soc-aldre-solgarden"]
    whole_soc = org.subtree("soc")
    assert whole_soc[0] == "soc"
    assert set(whole_soc) == {u.id for u in org.units.values() if u.department == "soc"}
    # Depth first: each avdelning is followed by its own enheter.
    assert whole_soc.index("soc-ifo") == whole_soc.index("soc-aldre-solgarden") + 1


def test_path_from_forvaltning_down(org: Organisation) -> None:
    assert [u.id for u in org.path("soc-aldre-hemtjanst-norr")] == [
        "soc",
        "soc-aldre",
        "soc-aldre-hemtjanst-norr",
    ]
    assert [u.name for u in org.path("kof-badhus")] == ["Kultur- och fritidsförvaltningen", "Badhuset"]
    assert [u.id for u in org.path("klf")] == ["klf"]


@pytest.mark.parametrize(
    "lookup",
    [
        Organisation.unit,
        Organisation.department_of,
        Organisation.nearest_manager,
        Organisation.children,
        Organisation.subtree,
        Organisation.path,
    ],
)
def test_unknown_unit(org: Organisation, lookup: object) -> None:
    # R12: forwarding to a unit that does not exist must fail clearly.
    assert callable(lookup)
    with pytest.raises(UnknownUnitError) as info:
        lookup(org, "soc-finns-inte")
    assert info.value.unit == "soc-finns-inte"
    assert "soc-finns-inte" in str(info.value)


def test_has_unit(org: Organisation) -> None:
    assert org.has_unit("soc-ifo-barn-familj")
    assert org.has_unit("klf")
    assert not org.has_unit("soc-finns-inte")


def test_organisation_is_read_only_and_hashable(org: Organisation) -> None:
    with pytest.raises(TypeError):
        org.units["ny"] = org.units["klf"]  # type: ignore[index]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        org.name = "Annan kommun"  # type: ignore[misc]
    assert hash(org) == hash(load_organisation())


# --- loading your own file ---------------------------------------------------


def test_minimal_file_from_tmp_path(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "liten.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    org = load_organisation(path)
    assert org.source == str(path)
    assert org == load_organisation(str(path))
    assert org.name == "Lilla kommun"
    assert list(org.units) == ["klf", "klf-ekonomi", "klf-ekonomi-lon", "klf-kontaktcenter"]
    assert org.unit("klf-kontaktcenter").level is UnitLevel.ENHET
    assert org.unit("klf-kontaktcenter").parent == "klf"
    assert org.unit("klf-ekonomi-lon").email == "lon@liten.se"
    assert org.unit("klf-ekonomi").email is None
    assert org.departments["klf"].head == "Kommundirektör Kim Ek"


def test_docs_example_file_parses() -> None:
    # The TOML example in docs/organisation.md must stay a valid file.
    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks
    org = parse_organisation(blocks[0], source=str(DOCS))
    assert org.system_owner in org.departments


def test_file_not_found(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "saknas.toml"
    with pytest.raises(OrganisationError, match=re.escape(f"{missing}: organisationsfilen finns inte")):
        load_organisation(missing)


def test_file_not_utf8(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(MINIMAL.encode("latin-1"))
    with pytest.raises(OrganisationError, match="UTF-8") as info:
        load_organisation(path)
    assert str(path) in str(info.value)


def test_organisation_error_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        parse_organisation("", source="tom.toml")


# --- errors in the file --------------------------------------------------------


def test_invalid_toml_names_the_line() -> None:
    message = parse_error(MINIMAL.replace('namn = "Löneenheten"', "namn = Löneenheten"))
    assert "ogiltig TOML" in message
    assert "line 19" in message


@pytest.mark.parametrize(
    ("line", "unit", "key"),
    [
        ('chef = "Lönechef Li Ek"', "klf-ekonomi-lon", "chef"),
        ('namn = "Ekonomiavdelningen"', "klf-ekonomi", "namn"),
        ('chef = "Kommundirektör Kim Ek"', "klf", "chef"),
        ('namnd = "Kommunstyrelsen"', "klf", "namnd"),
        ('chef = "Enhetschef Bo Ek"', "klf-kontaktcenter", "chef"),
    ],
)
def test_missing_required_key_names_unit_and_key(line: str, unit: str, key: str) -> None:
    message = parse_error(MINIMAL.replace(line, ""))
    assert f"'{unit}'" in message
    assert f"obligatorisk nyckel '{key}' saknas" in message


def test_missing_id_names_the_table_and_its_parent() -> None:
    message = parse_error(MINIMAL.replace('id = "klf-ekonomi-lon"', ""))
    assert "[[forvaltning.avdelning.enhet]] nr 1 under 'klf-ekonomi'" in message
    assert "obligatorisk nyckel 'id' saknas" in message


def test_empty_manager_is_missing() -> None:
    message = parse_error(MINIMAL.replace('chef = "Lönechef Li Ek"', 'chef = "  "'))
    assert "enhet 'klf-ekonomi-lon': 'chef' är tom" in message


def test_missing_kommun_keys() -> None:
    message = parse_error(MINIMAL.replace('systemagare = "klf"', ""))
    assert "[kommun]: obligatorisk nyckel 'systemagare' saknas" in message
    message = parse_error(MINIMAL.replace('namn = "Lilla kommun"', ""))
    assert "[kommun]: obligatorisk nyckel 'namn' saknas" in message


def test_missing_kommun_table() -> None:
    message = parse_error(MINIMAL.replace("[kommun]", "[kommunen]"))
    assert "okänd nyckel 'kommunen'" in message


def test_wrong_type_of_value() -> None:
    message = parse_error(MINIMAL.replace('chef = "Enhetschef Bo Ek"', "chef = 42"))
    assert "enhet 'klf-kontaktcenter': 'chef' ska vara en text" in message


def test_misspelt_key_is_not_silently_dropped() -> None:
    message = parse_error(MINIMAL.replace('epost = "lon@liten.se"', 'e-post = "lon@liten.se"'))
    assert "enhet 'klf-ekonomi-lon': okänd nyckel 'e-post'" in message
    assert "epost" in message


def test_avdelning_below_enhet_is_refused() -> None:
    text = MINIMAL + textwrap.dedent("""\
            [[forvaltning.enhet.avdelning]]
            id = "klf-kontaktcenter-fel"
            namn = "Fel"
            chef = "Chef"
        """)
    message = parse_error(text)
    assert "enhet 'klf-kontaktcenter': okänd nyckel 'avdelning'" in message


def test_single_brackets_instead_of_double() -> None:
    text = MINIMAL.replace("[[forvaltning.enhet]]", "[forvaltning.enhet]")
    message = parse_error(text)
    assert "förvaltning 'klf'" in message
    assert "[[forvaltning.enhet]]" in message


def test_duplicate_id_names_both_places() -> None:
    message = parse_error(MINIMAL.replace('id = "klf-kontaktcenter"', 'id = "klf-ekonomi-lon"'))
    assert "id 'klf-ekonomi-lon' förekommer två gånger" in message
    assert "[[forvaltning.avdelning.enhet]] nr 1 under 'klf-ekonomi'" in message
    assert "[[forvaltning.enhet]] nr 1 under 'klf'" in message


def test_duplicate_id_across_departments() -> None:
    text = MINIMAL + textwrap.dedent("""\
        [[forvaltning]]
        id = "soc"
        namn = "Socialförvaltningen"
        chef = "Socialchef"
        namnd = "Socialnämnden"

          [[forvaltning.enhet]]
          id = "klf-ekonomi"
          namn = "Felplacerad"
          chef = "Chef"
        """)
    message = parse_error(text)
    assert "id 'klf-ekonomi' förekommer två gånger" in message
    assert "[[forvaltning.enhet]] nr 1 under 'soc'" in message


@pytest.mark.parametrize("bad_id", ["Klf-Ekonomi", "klf-ekonomi-lön", "klf ekonomi", "klf_ekonomi"])
def test_id_must_be_lowercase_ascii(bad_id: str) -> None:
    message = parse_error(MINIMAL.replace('id = "klf-ekonomi"', f'id = "{bad_id}"'))
    assert f"ogiltigt id '{bad_id}'" in message
    assert f"avdelning '{bad_id}'" in message


def test_kommun_id_must_be_lowercase_ascii() -> None:
    message = parse_error(MINIMAL.replace('id = "liten"', 'id = "Lilla"'))
    assert "[kommun]: ogiltigt id 'Lilla'" in message


def test_system_owner_must_be_a_forvaltning_in_the_file() -> None:
    # R24: the system owner is a förvaltning.
    message = parse_error(MINIMAL.replace('systemagare = "klf"', 'systemagare = "kommunledningen"'))
    assert "systemägaren (systemagare) 'kommunledningen' är ingen förvaltning" in message
    assert "förvaltningar: klf" in message


def test_system_owner_that_is_an_avdelning() -> None:
    message = parse_error(MINIMAL.replace('systemagare = "klf"', 'systemagare = "klf-ekonomi"'))
    assert "'klf-ekonomi' är ingen förvaltning" in message


def test_file_without_forvaltning() -> None:
    text = MINIMAL.split("[[forvaltning]]")[0]
    message = parse_error(text)
    assert "filen har ingen förvaltning" in message


def test_invalid_email() -> None:
    message = parse_error(MINIMAL.replace("lon@liten.se", "lon at liten.se"))
    assert "enhet 'klf-ekonomi-lon': 'epost' är ingen e-postadress" in message


# --- building an Organisation directly -------------------------------------------


def test_direct_construction_checks_parents() -> None:
    # Other code (tests, plugins) may build an Organisation without a file;
    # a unit whose parent is missing would make path() and subtree() wrong.
    klf = OrgUnit(
        id="klf", name="Klf", level=UnitLevel.FORVALTNING, manager="A", parent=None, department="klf"
    )
    orphan = OrgUnit(
        id="klf-x", name="X", level=UnitLevel.ENHET, manager="B", parent="klf-y", department="klf"
    )
    department = Department(id="klf", name="Klf", head="A", board="Kommunstyrelsen")
    ok = Organisation(
        id="k", name="K", system_owner="klf", units={"klf": klf}, departments={"klf": department}
    )
    assert ok.children("klf") == []
    with pytest.raises(OrganisationError, match="klf-x"):
        Organisation(
            id="k",
            name="K",
            system_owner="klf",
            units={"klf": klf, "klf-x": orphan},
            departments={"klf": department},
            source="test",
        )


# --- closed days (klämdagar) for deadlines ------------------------------------------


def _with_closed_days(kommun: str, forvaltning: str) -> str:
    text = MINIMAL.replace('systemagare = "klf"', f'systemagare = "klf"\n{kommun}', 1)
    return text.replace('namnd = "Kommunstyrelsen"', f'namnd = "Kommunstyrelsen"\n{forvaltning}', 1)


def test_closed_days_of_the_kommun_and_a_forvaltning() -> None:
    # TOML dates and ISO text alike; sorted, each once.
    org = parse_organisation(
        _with_closed_days(
            'stangda_dagar = [2026-05-15, "2026-01-05", 2026-05-15]', 'stangda_dagar = ["2026-08-21"]'
        )
    )
    assert org.closed_days == (dt.date(2026, 1, 5), dt.date(2026, 5, 15))
    assert org.departments["klf"].closed_days == (dt.date(2026, 8, 21),)
    assert parse_organisation(MINIMAL).closed_days == ()
    assert parse_organisation(MINIMAL).departments["klf"].closed_days == ()


@pytest.mark.parametrize(
    ("kommun", "forvaltning", "expected"),
    [
        (
            'stangda_dagar = "2026-05-15"',
            "",
            "[kommun]: 'stangda_dagar' ska vara en lista av datum, till exempel [2026-05-15]",
        ),
        (
            "",
            'stangda_dagar = ["15/5"]',
            "förvaltning 'klf': 'stangda_dagar' innehåller '15/5', som inte är ett datum i formen ÅÅÅÅ-MM-DD",
        ),
        ("", 'stangda_dagar = ["2026-02-30"]', "innehåller '2026-02-30', som inte är ett datum"),
        ("", "stangda_dagar = [2026-05-15T08:00:00]", "som inte är ett datum i formen ÅÅÅÅ-MM-DD"),
    ],
    ids=["not-a-list", "not-iso", "no-such-day", "a-time"],
)
def test_bad_closed_days_are_named(kommun: str, forvaltning: str, expected: str) -> None:
    assert expected in parse_error(_with_closed_days(kommun, forvaltning))


def test_closed_days_belong_to_the_kommun_or_a_forvaltning_only() -> None:
    text = MINIMAL.replace(
        'chef = "Ekonomichef Per Ek"', 'chef = "Ekonomichef Per Ek"\nstangda_dagar = []', 1
    )
    assert "avdelning 'klf-ekonomi': okänd nyckel 'stangda_dagar'" in parse_error(text)


# -- every command reads the file alike (the command line) -------------------------------

CONFLICTING_RULES = """
[[gallring]]
id = "kontakt-24"
beslut = "KS 2025-11-12 § 45"
atgard = "pseudonymisera_kontakt"
efter_manader = 24

[[gallring]]
id = "kontakt-36"
beslut = "KS 2025-11-12 § 45"
atgard = "pseudonymisera_kontakt"
efter_manader = 36
"""


def _value(action: argparse.Action) -> list[str]:
    """A value the parser accepts for *action*, or none for a flag."""
    if action.nargs == 0:
        return []
    if action.choices is not None:
        return [str(next(iter(action.choices)))]
    if action.type is None:
        return ["x"]
    for candidate in ("1", "2026-03-02", "x"):
        try:
            action.type(candidate)  # type: ignore[operator]
        except (argparse.ArgumentTypeError, ValueError, TypeError):
            continue
        return [candidate]
    raise AssertionError(f"no value found for {action}")  # pragma: no cover


def _required_arguments(parser: argparse.ArgumentParser) -> list[str]:
    """The arguments a command cannot be parsed without, each with a value
    it accepts: positionals, required options, one of a required group."""
    argv: list[str] = []
    required = [group for group in parser._mutually_exclusive_groups if group.required]
    grouped = {action for group in required for action in group._group_actions}
    for group in parser._mutually_exclusive_groups:
        if group.required:
            first = group._group_actions[0]
            argv += [first.option_strings[0], *_value(first)] if first.option_strings else _value(first)
    for action in parser._actions:
        if action in grouped or isinstance(action, argparse._SubParsersAction):
            continue
        if not action.option_strings and action.nargs != "?" and action.nargs != "*":
            argv += _value(action)
        elif action.option_strings and action.required:
            argv += [action.option_strings[0], *_value(action)]
    return argv


def _leaf_commands() -> list[tuple[tuple[str, ...], list[str]]]:
    """Every command of the parser (subcommands of subcommands included),
    with the arguments it needs to be parsed."""
    from klagomal.cli import _build_parser

    found = []

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            found.append((path, _required_arguments(parser)))
            return
        for name, sub in subs[0].choices.items():
            walk(sub, (*path, name))

    walk(_build_parser(), ())
    return found


def test_only_demo_and_organisation_read_the_file_in_their_own_way() -> None:
    from klagomal.cli import defined_commands

    assert {c.name for c in defined_commands().values() if not c.reads_organisation} == {
        "demo",
        "organisation",
    }


@pytest.mark.parametrize(
    ("path", "needed"),
    _leaf_commands(),
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else "",
)
def test_every_command_refuses_a_file_with_conflicting_disposal_rules_alike(
    path: tuple[str, ...], needed: list[str], tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What stops start-up (``Klagomal(...)``) stops every command that
    reads the organisation file, before it does anything, with one message;
    ``demo`` reads no file (it always simulates Exempelkommun)."""
    from klagomal.cli import defined_commands
    from test_cli import run_main

    monkeypatch.chdir(tmp_path)
    for name in ("KLAGOMAL_DB", "KLAGOMAL_ORG", "KLAGOMAL_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    org = tmp_path / "kommun.toml"
    org.write_text(default_organisation_text() + CONFLICTING_RULES, encoding="utf-8")
    with pytest.raises(ConfigurationError) as expected:
        load_and_check(org)
    if not defined_commands()[path[0]].reads_organisation and path[0] != "organisation":
        return  # demo: see the test above
    run = run_main(["--org", str(org), *path, *needed])
    assert run.status == 1, (path, needed, run.status, run.err)
    assert run.err == f"klagomal: {expected.value}\n"
    assert run.out == ""
    assert list(tmp_path.iterdir()) == [org]  # nothing written: no database, no file


def default_organisation_text() -> str:
    example = DOCS.parent.parent / "src" / "klagomal" / "data" / "exempelkommun.toml"
    return example.read_text(encoding="utf-8")


def load_and_check(path: pathlib.Path) -> Organisation:
    """What ``Klagomal(...)`` checks at start-up, from the file alone."""
    from klagomal.app import Klagomal

    with Klagomal("sqlite://", organisation=load_organisation(path), load_entrypoints=False) as k:
        return k.organisation


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('behorighet = "ja"\n', "[behorighet] ska vara en tabell"),
        ('publicering = "ja"\n', "[publicering] ska vara en tabell"),
        ('webbformular = "ja"\n', "[webbformular] ska vara en tabell"),
        (
            '[behorighet]\nsystemanvandare = "ja"\n',
            "[behorighet]: 'systemanvandare' ska vara true eller false",
        ),
        ("[publicering]\ntillaten = 1\n", "[publicering]: 'tillaten' ska vara true eller false"),
        (
            '[webbformular]\nlasbekraftelse = "nej"\n',
            "[webbformular]: 'lasbekraftelse' ska vara true eller false",
        ),
    ],
    ids=["access-table", "publication-table", "form-table", "system-user", "publication", "acknowledgement"],
)
def test_each_optional_table_and_flag_is_refused_whole_when_wrong(extra: str, message: str) -> None:
    # A key = value line must come before the first table to be the file's own.
    text = extra + MINIMAL if not extra.startswith("[") else MINIMAL + "\n" + extra
    with pytest.raises(OrganisationError) as wrong:
        parse_organisation(text, "kommun.toml")
    assert str(wrong.value) == f"kommun.toml: {message}"
    assert parse_organisation(MINIMAL).system_user is True

"""One test (at least) per hook, named after it, through the public testing
helpers (R25).  ``test_docs_plugins.py`` checks that every hook in
``hookspecs`` has a test whose name starts with ``test_<hook>``.

Plugins are written inline with :func:`klagomal.testing.plugin` or as small
classes; each test builds its own instance with ``make_klagomal``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from klagomal import Channel, ConfigurationError, InvalidInputError, Klagomal, QualityDimension, hookimpl
from klagomal.core.errors import PluginRejectedError
from klagomal.core.events import Event, Registered
from klagomal.core.model import Finding, Intake, Route
from klagomal.core.organisation import Organisation
from klagomal.deadlines.calendars import WorkingCalendar
from klagomal.deadlines.policies import DeadlinePolicy
from klagomal.notices.notifiers import Notifier, StaffMessage
from klagomal.reports import ReportScope, ReportSection, ReportTable
from klagomal.testing import START, plugin, register

Make = Callable[..., Klagomal]


def _notes(k: Klagomal, reference: str) -> tuple[str, ...]:
    data = k.history(reference)[0].data
    assert isinstance(data, Registered)
    return data.notes


# -- registration hooks ------------------------------------------------------------------------


def test_klagomal_quality_dimensions_adds_a_dimension_of_a_forvaltning(make_klagomal: Make) -> None:
    # R6: the four municipality-wide dimensions plus a förvaltning's own.
    k = make_klagomal(
        plugins=[
            plugin(
                klagomal_quality_dimensions=lambda: [
                    QualityDimension("trygghet", "Trygghet och säkerhet", department="soc")
                ]
            )
        ]
    )
    assert list(k.dimensions) == ["bemotande", "inflytande", "kompetens", "tillganglighet", "trygghet"]
    assert register(k, dimensions=["trygghet"]).dimensions == ("trygghet",)


def test_klagomal_channels_adds_a_channel_with_its_anonymity_policy(make_klagomal: Make) -> None:
    # R4, R5
    k = make_klagomal(
        plugins=[plugin(klagomal_channels=lambda: [Channel("sms", "SMS", allows_anonymous=False)])]
    )
    assert register(k, channel="sms").channel == "sms"
    with pytest.raises(InvalidInputError, match="anonyma synpunkter tas inte emot via kanalen 'sms'"):
        register(k, channel="sms", contact=None)


def test_klagomal_calendars_a_plugin_calendar_is_chosen_by_name(make_klagomal: Make) -> None:
    # R7: a calendar in which every weekday but Wednesday is a working day.
    no_wednesdays = WorkingCalendar(
        "utan-onsdagar",
        "Utan onsdagar",
        dt.date(2020, 1, 1),
        dt.date(2030, 12, 31),
        lambda day: day.weekday() < 5 and day.weekday() != 2,
    )
    k = make_klagomal(
        plugins=[
            plugin(
                klagomal_calendars=lambda: [no_wednesdays],
                klagomal_deadline_policy=lambda department: DeadlinePolicy(calendar="utan-onsdagar"),
            )
        ]
    )
    assert "utan-onsdagar" in k.registry.calendars
    # Ten working days from Monday 2 March without Wednesdays:
    # 3, 5, 6, 9, 10, 12, 13, 16, 17, 19 March.
    assert register(k).acknowledge_by == dt.date(2026, 3, 19)


def test_klagomal_notifiers_a_plugin_notifier_receives_the_reminders(make_klagomal: Make) -> None:
    # R7: the handler's reminder before the besked deadline goes through the plugin's notifier.
    received: list[StaffMessage] = []
    k = make_klagomal(
        plugins=[plugin(klagomal_notifiers=lambda: [Notifier("samla", "Samla", received.append)])]
    )
    case = register(k)
    k.clock.set(dt.date(2026, 3, 12))  # two working days before 16 March
    run = k.remind(notifier="samla")
    assert [m.reference for m in received] == [case.reference]
    assert [r.status for r in run.sent] == ["sent"]


def test_klagomal_storage_backends_a_plugin_backend_is_listed_as_its_own(make_klagomal: Make) -> None:
    from klagomal.storage.base import StorageBackend
    from klagomal.storage.sql import SqlStorage

    backend = StorageBackend(name="granskad", schemes=("sqlite",), open=SqlStorage.open)
    k = make_klagomal(plugins=[plugin("granskning", klagomal_storage_backends=lambda: [backend])])
    assert k.registry.storage_backend("sqlite") is backend
    assert k.registry.registered_by("granskning", "storage_backends") == ["granskad"]


def test_klagomal_template_dirs_a_forvaltning_changes_its_own_letters_only(
    make_klagomal: Make, tmp_path: Path
) -> None:
    # R25: Barn- och utbildningsförvaltningen's own wording of the besked (R7).
    folder = tmp_path / "mallar"
    (folder / "bou").mkdir(parents=True)
    (folder / "bou" / "besked.txt").write_text(
        "Hej! {{ event.handler }} på {{ unit.name }} svarar senast {{ event.respond_by | datum }}.\n",
        encoding="utf-8",
    )
    k = make_klagomal(plugins=[plugin(klagomal_template_dirs=lambda: [folder])])
    school = register(k, unit="bou-grundskola-norrskolan").reference
    care = register(k).reference
    k.acknowledge(school, "Rektor Siv Ek", dt.date(2026, 3, 20))
    k.acknowledge(care, "Lena Holm", dt.date(2026, 3, 20))
    letter = k.letter(school)
    assert letter.text == "Hej! Rektor Siv Ek på Norrskolan svarar senast 20 mars 2026.\n"
    assert letter.template == str(folder / "bou" / "besked.txt")
    # Socialförvaltningen's case keeps the built-in wording.
    assert "Tack för att du har hört av dig till Exempelkommun" in k.letter(care).text


def test_klagomal_template_dirs_a_missing_folder_leaves_that_plugin_out_not_the_kommun(
    make_klagomal: Make, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A template folder not installed with its plugin (package data left out
    of the wheel) is a plugin failure like any other: logged in Swedish with
    the plugin's name, listed, and that plugin's folders left out; klagomal
    and the other plugins' folders work on."""
    good = tmp_path / "goda"
    (good / "bou").mkdir(parents=True)
    (good / "bou" / "besked.txt").write_text("Egen text.\n", encoding="utf-8")
    broken = plugin("mallar", klagomal_template_dirs=lambda: [tmp_path / "finns-inte", good])
    with caplog.at_level(logging.ERROR, logger="klagomal"):
        k = make_klagomal(plugins=[broken, plugin("goda-mallar", klagomal_template_dirs=lambda: [good])])
    assert k.registry.template_dirs[0] == good
    assert k.registry.registered_by("mallar", "template_dirs") == []
    [failure] = k.plugin_manager.failures
    assert (failure.plugin, failure.hook) == ("mallar", "klagomal_template_dirs")
    assert f"mallmappen {tmp_path / 'finns-inte'} finns inte" in failure.error
    assert "insticksmodulen 'mallar' fick ett fel i klagomal_template_dirs" in caplog.text
    case = register(k, unit="bou-grundskola-norrskolan").reference
    k.acknowledge(case, "Rektor Siv Ek", dt.date(2026, 3, 20))
    assert k.letter(case).text == "Egen text.\n"


def _counts(scope: ReportScope) -> ReportTable:
    cases = scope.cases()
    return ReportTable(
        ("Typ", "Antal"),
        tuple((kind, sum(c.kind.value == kind for c in cases)) for kind in ("klagomal", "berom")),
    )


def test_klagomal_report_sections_a_section_is_built_for_its_forvaltning(make_klagomal: Make) -> None:
    # R16–R18: a förvaltning's own figures in the report.
    section = ReportSection("soc-typer", "Socialförvaltningen: typer", _counts, department="soc")
    k = make_klagomal(plugins=[plugin(klagomal_report_sections=lambda: [section])])
    register(k)
    register(k, kind="berom")
    register(k, unit="bou-gymnasium")
    year = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    [result] = k.report_sections(*year, department="soc")
    assert result.table is not None
    assert result.table.rows == (("klagomal", 1), ("berom", 1))
    # The whole kommun's report has it too; another förvaltning's does not.
    assert [r.section.id for r in k.report_sections(*year)] == ["soc-typer"]
    assert k.report_sections(*year, department="bou") == []


def test_klagomal_report_sections_a_failing_section_is_reported_not_raised(
    make_klagomal: Make, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(scope: ReportScope) -> ReportTable:
        raise RuntimeError("statistikdatabasen svarar inte")

    section = ReportSection("trasig", "Trasigt avsnitt", broken)
    k = make_klagomal(plugins=[plugin("statistik", klagomal_report_sections=lambda: [section])])
    with caplog.at_level(logging.ERROR, logger="klagomal"):
        [result] = k.report_sections(START, START)
    assert result.table is None
    assert result.error == "statistik: RuntimeError: statistikdatabasen svarar inte"
    assert "kunde inte tas fram" in result.render()
    assert "'statistik'" in caplog.text


def test_klagomal_report_sections_the_same_id_from_two_plugins_is_an_error(make_klagomal: Make) -> None:
    section = ReportSection("typer", "Typer", _counts)
    with pytest.raises(ConfigurationError, match="rapportavsnittet 'typer' registreras av både två och en"):
        make_klagomal(
            plugins=[
                plugin("en", klagomal_report_sections=lambda: [section]),
                plugin("två", klagomal_report_sections=lambda: [section]),
            ]
        )


# -- decision hooks ----------------------------------------------------------------------------


def test_klagomal_deadline_policy_a_forvaltning_promises_a_faster_besked(make_klagomal: Make) -> None:
    # R7: ten working days at most; Socialförvaltningen promises five.
    def policy(department: str) -> DeadlinePolicy | None:
        return DeadlinePolicy(acknowledge_days=5) if department == "soc" else None

    k = make_klagomal(plugins=[plugin(klagomal_deadline_policy=policy)])
    assert register(k).acknowledge_by == dt.date(2026, 3, 9)
    assert register(k, unit="bou-gymnasium").acknowledge_by == dt.date(2026, 3, 16)


def test_klagomal_is_serious_a_plugin_makes_a_complaint_serious(make_klagomal: Make) -> None:
    # R15: a serious complaint goes to the nearest manager at once.
    def serious(intake: Intake) -> bool | None:
        return True if "våld" in intake.text else None

    k = make_klagomal(plugins=[plugin(klagomal_is_serious=serious)])
    case = register(k, text="Personalen använde våld mot min far.")
    assert (case.serious, case.handler) == (True, k.organisation.nearest_manager(case.unit))
    assert case.handler == "Enhetschef Lena Holm"
    assert register(k).serious is False
    # Praise is never serious; the hook is not even asked.
    assert register(k, kind="berom", text="Ingen våld alls, bara värme.").serious is False


def test_klagomal_is_serious_a_plugin_cannot_unmark_the_registrars_marking(make_klagomal: Make) -> None:
    k = make_klagomal(plugins=[plugin(klagomal_is_serious=lambda intake: False)])
    assert register(k, serious=True).serious is True


def test_klagomal_route_routes_by_keyword_with_a_note(make_klagomal: Make) -> None:
    # R12: to the right unit at once, with the reason recorded for the handler.
    def route(intake: Intake) -> Route | None:
        if intake.unit is None and "äldreboende" in intake.text:
            return Route("soc-aldre-solgarden", note="nyckelordet 'äldreboende'")
        return None

    k = make_klagomal(plugins=[plugin("soc-routing", klagomal_route=route)])
    case = register(k, unit=None, text="Maten på äldreboendet är kall.")
    assert (case.unit, case.department) == ("soc-aldre-solgarden", "soc")
    assert _notes(k, case.reference) == ("soc-routing: nyckelordet 'äldreboende'",)
    # The unit a registrar names stays.
    assert register(k, text="Maten på äldreboendet är kall.").unit == "soc-aldre-hemtjanst-norr"
    # Without a unit and without a route there is a clear error, and nothing is stored.
    with pytest.raises(InvalidInputError, match="ange vilken enhet synpunkten gäller"):
        register(k, unit=None, text="Något annat.")
    assert len(k.cases()) == 2


def test_klagomal_route_a_serious_complaint_goes_to_the_routed_units_manager(make_klagomal: Make) -> None:
    # R15
    k = make_klagomal(plugins=[plugin(klagomal_route=lambda intake: Route("bou-gymnasium"))])
    case = register(k, unit=None, serious=True)
    assert (case.unit, case.handler) == ("bou-gymnasium", k.organisation.nearest_manager("bou-gymnasium"))


def test_klagomal_route_to_an_unknown_unit_is_skipped_and_noted(
    make_klagomal: Make, caplog: pytest.LogCaptureFixture
) -> None:
    # A misconfigured plugin never loses the case: the next answer (the built-in) decides.
    k = make_klagomal(plugins=[plugin("felkonfig", klagomal_route=lambda intake: Route("soc-finns-inte"))])
    with caplog.at_level(logging.ERROR, logger="klagomal"):
        case = register(k)
    assert case.unit == "soc-aldre-hemtjanst-norr"
    [note] = _notes(k, case.reference)
    assert note.startswith("felkonfig: kunde inte svara i klagomal_route")
    assert "soc-finns-inte" in note
    assert "'felkonfig' fick ett fel i klagomal_route" in caplog.text


def test_klagomal_allows_anonymous_per_channel_and_forvaltning(make_klagomal: Make) -> None:
    # R5: "a municipality may change it" — here anonymous web-form feedback to
    # Kultur- och fritidsförvaltningen only.
    def allows(channel: Channel, department: str) -> bool | None:
        return True if channel.id == "webbformular" and department == "kof" else None

    k = make_klagomal(plugins=[plugin(klagomal_allows_anonymous=allows)])
    kof_unit = next(u for u in k.organisation.units if u.startswith("kof-"))
    assert register(k, channel="webbformular", unit=kof_unit, contact=None).anonymous
    with pytest.raises(InvalidInputError, match="webbformular"):
        register(k, channel="webbformular", contact=None)


def test_klagomal_default_secrecy_marks_a_forvaltnings_cases_secret(make_klagomal: Make) -> None:
    # R27: social services' cases are secret by default (OSL 26 kap.).
    def secrecy(route: Route, organisation: Organisation) -> str | None:
        return "OSL 26 kap. 1 §" if organisation.unit(route.unit).department == "soc" else None

    k = make_klagomal(plugins=[plugin(klagomal_default_secrecy=secrecy)])
    case = register(k)
    assert case.secrecy == "OSL 26 kap. 1 §"
    assert k.get(case.reference).secrecy == "OSL 26 kap. 1 §"  # stored, not only returned
    assert k.rebuild(case.reference) == k.get(case.reference)
    assert register(k, unit="bou-gymnasium").secrecy is None


def test_klagomal_default_secrecy_an_unusable_answer_is_skipped(make_klagomal: Make) -> None:
    k = make_klagomal(plugins=[plugin("sekretess", klagomal_default_secrecy=lambda: True)])
    case = register(k)
    assert case.secrecy is None
    assert "sekretess: kunde inte svara i klagomal_default_secrecy" in _notes(k, case.reference)[0]


# -- validation --------------------------------------------------------------------------------


def test_klagomal_validate_intake_a_rejection_names_the_plugin_and_stores_nothing(
    make_klagomal: Make,
) -> None:
    def check(intake: Intake) -> Iterator[Finding]:
        if intake.channel == "webbformular" and intake.contact and not intake.contact.email:
            yield Finding.rejection("webbformuläret kräver en e-postadress för svaret")

    k = make_klagomal(plugins=[plugin("webbkontroll", klagomal_validate_intake=check)])
    from klagomal import Contact

    with pytest.raises(PluginRejectedError) as info:
        register(k, channel="webbformular", contact=Contact(name="Eva"))
    assert info.value.plugin == "webbkontroll"
    assert info.value.reason == "webbformuläret kräver en e-postadress för svaret"
    assert str(info.value) == (
        "steg 'registrera': avvisat av insticksmodulen webbkontroll: "
        "webbformuläret kräver en e-postadress för svaret"
    )
    assert k.cases() == []


def test_klagomal_validate_intake_warnings_are_kept_with_the_case(make_klagomal: Make) -> None:
    k = make_klagomal(
        plugins=[
            plugin("kontroll", klagomal_validate_intake=lambda: [Finding.warning("kontrollera adressen")])
        ]
    )
    case = register(k)
    assert _notes(k, case.reference) == ("kontroll: kontrollera adressen",)


def test_klagomal_validate_intake_a_plugin_that_raises_never_loses_the_case(
    make_klagomal: Make, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(intake: Intake) -> list[Finding]:
        raise ConnectionError("registret svarar inte")

    k = make_klagomal(plugins=[plugin("folkbokforing", klagomal_validate_intake=broken)])
    with caplog.at_level(logging.ERROR, logger="klagomal"):
        case = register(k)
    assert k.get(case.reference) == case
    assert _notes(k, case.reference) == (
        "folkbokforing: kunde inte svara i klagomal_validate_intake "
        "(ConnectionError: registret svarar inte); kontrollera detta för hand",
    )
    assert "'folkbokforing' fick ett fel i klagomal_validate_intake" in caplog.text


def test_klagomal_validate_intake_the_builtin_notes_another_route_r3(make_klagomal: Make) -> None:
    # R3: the case is kept, and the handler is told that another route also applies.
    k = make_klagomal()
    case = register(k, text="Jag vill överklaga beslutet om hemtjänst.")
    [note] = _notes(k, case.reference)
    assert note.startswith("klagomal.builtin: texten nämner ett överklagande")
    assert _notes(k, register(k, text="Lampan är trasig, jag har felanmält den.").reference)[0].endswith(
        "se till att felet också anmäls på vanligt sätt (R3)"
    )
    assert _notes(k, register(k).reference) == ()


# -- listener ----------------------------------------------------------------------------------


def test_klagomal_on_event_a_listener_sees_the_committed_event(make_klagomal: Make) -> None:
    seen: list[tuple[str, int]] = []

    def listen(klagomal: Klagomal, event: Event) -> None:
        # After commit: the event can already be read back.
        seen.append((event.type, len(klagomal.history(event.reference))))

    k = make_klagomal(plugins=[plugin(klagomal_on_event=listen)])
    case = register(k)
    k.acknowledge(case.reference, "Lena Holm")
    assert seen == [("registered", 1), ("acknowledged", 2)]


# -- loading -----------------------------------------------------------------------------------


class _Crashing:
    """A plugin whose registration hook raises."""

    @hookimpl
    def klagomal_quality_dimensions(self) -> list[QualityDimension]:
        raise RuntimeError("trasig")


def test_a_registration_hook_that_raises_leaves_only_that_plugin_out(
    make_klagomal: Make, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="klagomal"):
        k = make_klagomal(plugins=[_Crashing()])
    assert len(k.dimensions) == 4
    [failure] = k.plugin_manager.failures
    assert failure.hook == "klagomal_quality_dimensions"
    assert failure.error == "RuntimeError: trasig"
    assert "_Crashing" in failure.plugin
    assert "fick ett fel i klagomal_quality_dimensions" in caplog.text
    register(k)  # registration still works


def test_disabled_plugins_are_left_out(make_klagomal: Make) -> None:
    extra = plugin("extra", klagomal_channels=lambda: [Channel("sms", "SMS")])
    k = make_klagomal(plugins=[extra], disabled=["extra"])
    assert "sms" not in k.channels
    assert k.plugin_manager.disabled == ["extra"]


def test_the_builtin_plugin_cannot_be_disabled(make_klagomal: Make) -> None:
    with pytest.raises(ConfigurationError, match=r"klagomal\.builtin är klagomals inbyggda delar"):
        make_klagomal(disabled=["klagomal.builtin"])


def test_klagomal_disable_plugins_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("KLAGOMAL_DISABLE_PLUGINS", " extra , stavfel")
    extra = plugin("extra", klagomal_channels=lambda: [Channel("sms", "SMS")])
    with caplog.at_level(logging.WARNING, logger="klagomal"), Klagomal(db_url, plugins=[extra]) as k:
        assert "sms" not in k.channels
    # A name that matches no plugin is probably a typo, so it is logged.
    assert "KLAGOMAL_DISABLE_PLUGINS nämner 'stavfel'" in caplog.text


def test_the_testing_helpers_plugin_is_checked_by_pluggy(make_klagomal: Make) -> None:
    import pluggy

    with pytest.raises(pluggy.PluginValidationError, match="klagomal_chanels"):
        make_klagomal(plugins=[plugin(klagomal_chanels=lambda: [])])


def test_an_instance_from_the_fixture_has_the_fixed_clock(klagomal_instance: Klagomal) -> None:
    assert klagomal_instance.clock.today() == START
    assert register(klagomal_instance).received == START


def test_klagomal_default_secrecy_a_case_forwarded_into_social_services_becomes_secret(
    make_klagomal: Make,
) -> None:
    # R27: the marking follows the case to the förvaltning whose cases are secret, and stays.
    def secrecy(route: Route, organisation: Organisation) -> str | None:
        return "OSL 26 kap. 1 §" if organisation.unit(route.unit).department == "soc" else None

    k = make_klagomal(plugins=[plugin(klagomal_default_secrecy=secrecy)])
    case = register(k, unit="bou-gymnasium", text="Min son får inget stöd.")
    assert case.secrecy is None
    forwarded = k.forward(case.reference, "soc-ifo-barn-familj")
    assert forwarded.secrecy == "OSL 26 kap. 1 §"
    assert k.rebuild(case.reference) == k.get(case.reference) == forwarded
    # A forward out again never lifts it.
    assert k.forward(case.reference, "bou-gymnasium").secrecy == "OSL 26 kap. 1 §"


def test_klagomal_validate_intake_sees_the_seriousness_another_plugin_decided(make_klagomal: Make) -> None:
    seen: list[bool] = []

    def check(serious: bool) -> list[Finding]:
        seen.append(serious)
        return [Finding.warning("följ rutinen för lex Sarah")] if serious else []

    k = make_klagomal(
        plugins=[
            plugin("allvar", klagomal_is_serious=lambda intake: True if "våld" in intake.text else None),
            plugin("lexsarah", klagomal_validate_intake=check),
        ]
    )
    case = register(k, text="Personalen använde våld.")
    assert seen == [True]
    assert _notes(k, case.reference) == ("lexsarah: följ rutinen för lex Sarah",)


def test_klagomal_quality_dimensions_a_plugin_reads_its_settings_from_the_organisation(
    make_klagomal: Make,
) -> None:
    import importlib.resources

    from klagomal.core.organisation import parse_organisation

    source = (importlib.resources.files("klagomal") / "data" / "exempelkommun.toml").read_text(
        encoding="utf-8"
    )
    org = parse_organisation(source + '\n[insticksmodul.egen]\nforvaltning = "kof"\n')

    def dimensions(organisation: Organisation) -> list[QualityDimension]:
        department = str(organisation.settings("egen").get("forvaltning", "soc"))
        return [QualityDimension("egen", "Egen", department=department)]

    k = make_klagomal(plugins=[plugin("egen", klagomal_quality_dimensions=dimensions)], organisation=org)
    assert k.dimensions["egen"].department == "kof"


def test_a_configuration_error_from_a_plugin_stops_start_up_naming_it(make_klagomal: Make) -> None:
    # A plugin that cannot work with its settings says so at start-up, not at the first case.
    def dimensions(organisation: Organisation) -> list[QualityDimension]:
        raise ConfigurationError("[insticksmodul.egen] forvaltning 'xyz' finns inte")

    with pytest.raises(
        ConfigurationError,
        match=r"insticksmodulen egen \(klagomal_quality_dimensions\): \[insticksmodul.egen\] forvaltning",
    ):
        make_klagomal(plugins=[plugin("egen", klagomal_quality_dimensions=dimensions)])

    def policy(department: str) -> DeadlinePolicy:
        raise ConfigurationError("beskedsdagar måste vara ett heltal")

    with pytest.raises(ConfigurationError, match=r"insticksmodulen tider \(klagomal_deadline_policy\)"):
        make_klagomal(plugins=[plugin("tider", klagomal_deadline_policy=policy)])


def test_the_testing_helpers_reopen_a_database_with_other_plugins(make_klagomal: Make) -> None:
    # The next day's run, after a plugin was installed.
    first = make_klagomal()
    case = register(first)
    second = make_klagomal(
        db=str(first.storage.engine.url),
        plugins=[plugin(klagomal_channels=lambda: [Channel("sms", "SMS")])],
    )
    assert second.get(case.reference) == case
    assert "sms" in second.channels
    assert "sms" not in first.channels

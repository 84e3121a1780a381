"""The plugin manager: built-ins, caller's plugins, validation, event listeners (R25)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

import pluggy
import pytest

from conftest import register_case
from klagomal import (
    Channel,
    ConfigurationError,
    FixedClock,
    InvalidInputError,
    Klagomal,
    QualityDimension,
    hookimpl,
)
from klagomal.core.events import Event
from klagomal.hooks import builtin as builtin_module

RESPOND_BY = dt.date(2026, 3, 27)


class SocPlugin:
    """What Socialförvaltningen might add: a dimension and a channel (R4, R6, R25)."""

    @hookimpl
    def klagomal_quality_dimensions(self) -> Iterator[QualityDimension]:
        yield QualityDimension("trygghet", "Trygghet och säkerhet", department="soc")

    @hookimpl
    def klagomal_channels(self) -> Iterator[Channel]:
        yield Channel("sms", "SMS", allows_anonymous=False)


class OtherTrygghet:
    @hookimpl
    def klagomal_quality_dimensions(self) -> list[QualityDimension]:
        return [QualityDimension("trygghet", "Trygghet", department="bou")]


class Recorder:
    """Records every event it is told about, and what a second instance sees then."""

    def __init__(self, db_url: str, clock: FixedClock) -> None:
        self.db_url = db_url
        self.clock = clock
        self.events: list[Event] = []
        self.versions: list[int] = []
        self.seen_by_other: list[int] = []

    # A failing assertion in here would only be logged, so the recorder just
    # records and the tests assert afterwards.
    @hookimpl
    def klagomal_on_event(self, klagomal: Klagomal, case: Any, event: Event) -> None:
        self.events.append(event)
        self.versions.append(case.version)
        with Klagomal(self.db_url, clock=self.clock, load_entrypoints=False) as other:
            self.seen_by_other.append(len(other.history(event.reference)))


class Broken:
    @hookimpl
    def klagomal_on_event(self, klagomal: Klagomal, case: Any, event: Event) -> None:
        raise RuntimeError("diariet svarar inte")


def _make(db_url: str, clock: FixedClock, *plugins: object) -> Klagomal:
    k = Klagomal(db_url, clock=clock, plugins=plugins, load_entrypoints=False)
    k.init()
    return k


def test_builtins_are_a_plugin(k: Klagomal) -> None:
    pm = k.plugin_manager
    assert pm.get_plugin("klagomal.builtin") is builtin_module
    assert pm.get_name(builtin_module) == "klagomal.builtin"
    assert [name for name, _p in pm.list_name_plugin()] == ["klagomal.builtin"]


def test_plugin_adds_dimension_and_channel(db_url: str, clock: FixedClock) -> None:
    with _make(db_url, clock, SocPlugin()) as k:
        assert k.dimensions["trygghet"].department == "soc"
        assert len(k.dimensions) == 5
        assert k.channels["sms"].label == "SMS"
        case = register_case(k, channel="sms", dimensions=["trygghet", "bemotande"])
        assert (case.channel, case.dimensions) == ("sms", ("trygghet", "bemotande"))
        # The plugin's anonymity policy is applied (R5).
        with pytest.raises(InvalidInputError):
            register_case(k, channel="sms", contact=None)


def test_plugins_are_needed_for_their_ids(k: Klagomal) -> None:
    # Without the plugin the same registration is refused.
    with pytest.raises(InvalidInputError):
        register_case(k, channel="sms")
    with pytest.raises(InvalidInputError):
        register_case(k, dimensions=["trygghet"])


def test_duplicate_dimension_is_a_configuration_error(db_url: str, clock: FixedClock) -> None:
    with pytest.raises(ConfigurationError, match="trygghet") as info:
        Klagomal(db_url, clock=clock, plugins=[SocPlugin(), OtherTrygghet()], load_entrypoints=False)
    # The message names both plugins, so that the kommun knows what to fix.
    assert "SocPlugin" in str(info.value)
    assert "OtherTrygghet" in str(info.value)


class AnonymousWebForm:
    """A kommun that accepts anonymous feedback through its web form too (R5)."""

    @hookimpl
    def klagomal_channels(self) -> list[Channel]:
        return [Channel("webbformular", "Webbformulär", allows_anonymous=True)]


def test_plugin_may_override_a_builtin_channel(db_url: str, clock: FixedClock) -> None:
    # R5: "a municipality may change it".
    with _make(db_url, clock, AnonymousWebForm()) as k:
        assert k.channels["webbformular"].allows_anonymous is True
        assert len(k.channels) == 8
        case = register_case(k, channel="webbformular", contact=None)
        assert case.anonymous
        assert case.channel == "webbformular"


def test_two_plugins_overriding_the_same_builtin_is_an_error(db_url: str, clock: FixedClock) -> None:
    class AlsoWebForm:
        @hookimpl
        def klagomal_channels(self) -> list[Channel]:
            return [Channel("webbformular", "Webbformulär 2")]

    with pytest.raises(ConfigurationError, match="webbformular"):
        Klagomal(db_url, clock=clock, plugins=[AnonymousWebForm(), AlsoWebForm()], load_entrypoints=False)


def test_misspelled_hook_fails_at_construction(db_url: str, clock: FixedClock) -> None:
    class Typo:
        @hookimpl
        def klagomal_chanels(self) -> list[Channel]:
            return [Channel("sms", "SMS")]

    with pytest.raises(pluggy.PluginValidationError, match="klagomal_chanels"):
        Klagomal(db_url, clock=clock, plugins=[Typo()], load_entrypoints=False)


def test_listener_receives_every_committed_event(db_url: str, clock: FixedClock) -> None:
    recorder = Recorder(db_url, clock)
    with _make(db_url, clock, recorder) as k:
        ref = register_case(k).reference
        k.acknowledge(ref, "Hanna", RESPOND_BY)
        k.inform(ref, "Vi utreder")
        k.answer(ref, "skriftligt", "Svar")
        k.close(ref, True)
        assert recorder.events == k.history(ref)
        # The listener gets the case as it is after the event.
        assert recorder.versions == [1, 2, 3, 4, 5]
        # Called after commit: another connection already saw each event.
        assert recorder.seen_by_other == [1, 2, 3, 4, 5]


def test_refused_step_is_not_an_event(db_url: str, clock: FixedClock) -> None:
    recorder = Recorder(db_url, clock)
    with _make(db_url, clock, recorder) as k:
        ref = register_case(k).reference
        with pytest.raises(InvalidInputError):
            register_case(k, channel="fax")
        with pytest.raises(Exception, match="inte tillåtet"):
            k.close(ref, True)
        assert [e.type for e in recorder.events] == ["registered"]


def test_failing_listener_is_logged_not_raised(
    db_url: str, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(db_url, clock)
    with _make(db_url, clock, Broken(), recorder) as k, caplog.at_level(logging.ERROR, logger="klagomal"):
        case = register_case(k)
        k.acknowledge(case.reference, "Hanna", RESPOND_BY)
        # The step succeeded and is stored.
        assert k.get(case.reference).version == 2
        assert len(k.history(case.reference)) == 2
        # The other listener was still told.
        assert [e.type for e in recorder.events] == ["registered", "acknowledged"]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 2
    assert all(case.reference in r.getMessage() for r in failures)
    assert "acknowledged" in failures[1].getMessage()
    assert failures[0].exc_info is not None
    assert isinstance(failures[0].exc_info[1], RuntimeError)


# hookspecs: an implementation may accept any subset of the arguments.
def test_listener_may_accept_a_subset_of_arguments(db_url: str, clock: FixedClock) -> None:
    received: list[str] = []

    class OnlyEvent:
        @hookimpl
        def klagomal_on_event(self, event: Event) -> None:
            received.append(event.type)

    with _make(db_url, clock, OnlyEvent()) as k:
        register_case(k)
    assert received == ["registered"]


def test_instances_have_separate_plugin_managers(db_url: str, clock: FixedClock, tmp_path: Any) -> None:
    with (
        _make(db_url, clock, SocPlugin()) as with_plugin,
        _make(f"sqlite:///{tmp_path / 'other.db'}", clock) as without,
    ):
        assert with_plugin.plugin_manager is not without.plugin_manager
        assert "sms" in with_plugin.channels
        assert "sms" not in without.channels
        assert "trygghet" not in without.dimensions
        assert len(with_plugin.plugin_manager.get_plugins()) == 2
        assert len(without.plugin_manager.get_plugins()) == 1


class AuditedSqlite:
    """A storage backend plugin: the SQLAlchemy storage, plus a log of what it opened."""

    def __init__(self) -> None:
        self.opened: list[str] = []

    def _open(self, db: Any, converter: Any) -> Any:
        from klagomal.storage.sql import SqlStorage

        self.opened.append(str(db))
        return SqlStorage.open(db, converter)

    @hookimpl
    def klagomal_storage_backends(self) -> list[Any]:
        from klagomal import StorageBackend

        return [StorageBackend(name="audited", schemes=("sqlite",), open=self._open)]


def test_klagomal_storage_backends_a_plugin_backend_wins_over_the_builtin(
    db_url: str, clock: FixedClock
) -> None:
    plugin = AuditedSqlite()
    with Klagomal(db_url, clock=clock, plugins=[plugin], load_entrypoints=False) as k:
        k.init()
        case = register_case(k)
        assert k.get(case.reference) == case
    assert plugin.opened == [db_url]
    # Without the plugin the built-in backend serves the same URL.
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as k:
        assert k.get(case.reference) == case
    assert plugin.opened == [db_url]


def test_klagomal_storage_backends_unknown_scheme_is_a_clear_error(clock: FixedClock) -> None:
    with pytest.raises(ConfigurationError, match="oracle"):
        Klagomal("oracle://scott:tiger@localhost/xe", clock=clock, load_entrypoints=False)


def test_registry_credits_an_overridden_channel_to_the_plugin_in_effect(
    db_url: str, clock: FixedClock
) -> None:
    # `klagomal plugins` reads this: the web form's policy now comes from the kommun's plugin.
    with Klagomal(db_url, clock=clock, plugins=[AnonymousWebForm()], load_entrypoints=False) as k:
        plugin_name = next(
            n for n, p in k.plugin_manager.list_name_plugin() if isinstance(p, AnonymousWebForm)
        )
        assert k.registry.registered_by(plugin_name, "channels") == ["webbformular"]
        builtin_channels = k.registry.registered_by("klagomal.builtin", "channels")
        assert "webbformular" not in builtin_channels
        assert "telefon" in builtin_channels


# -- klagomal.testing's fixtures -------------------------------------------------------


@pytest.mark.parametrize("klagomal_plugins", [[SocPlugin()]])
def test_make_klagomal_registers_klagomal_plugins_unless_told_otherwise(
    make_klagomal: Any, klagomal_instance: Klagomal, klagomal_plugins: list[object]
) -> None:
    """The fixture a plugin package overrides in its conftest.py reaches
    every instance of the test, not only ``klagomal_instance``; ``plugins=``
    replaces it, and ``load_entrypoints=True`` puts the installed plugins in
    its place."""
    assert "sms" in klagomal_instance.channels
    assert "sms" in make_klagomal().channels
    assert "sms" not in make_klagomal(plugins=[]).channels
    assert "sms" in make_klagomal(plugins=[*klagomal_plugins]).channels
    assert "sms" not in make_klagomal(load_entrypoints=True).channels

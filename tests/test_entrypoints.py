"""Plugins found through the entry-point group ``klagomal`` (R25).

A real distribution (a ``.dist-info`` folder with ``entry_points.txt``) is
put on ``sys.path``, so ``importlib.metadata`` finds it exactly as it finds
a pip-installed plugin.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import textwrap
from pathlib import Path

import pytest

from klagomal import FixedClock, InvalidInputError, Klagomal
from klagomal.cli import main

PLUGIN_SOURCE = """
from klagomal import QualityDimension, hookimpl

@hookimpl
def klagomal_quality_dimensions():
    yield QualityDimension("larande", "Lärande", department="bou")
"""


def _install(
    site: Path, dist: str, version: str, entry_points: dict[str, str], modules: dict[str, str]
) -> None:
    info = site / f"{dist}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[klagomal]\n{lines}", encoding="utf-8")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    for name in ("klagomal_larande", "klagomal_broken"):
        sys.modules.pop(name, None)


def test_an_installed_plugin_is_loaded_through_its_entry_point(
    site: Path, db_url: str, clock: FixedClock
) -> None:
    _install(
        site,
        "klagomal_larande",
        "1.2.0",
        {"larande": "klagomal_larande"},
        {"klagomal_larande": PLUGIN_SOURCE},
    )
    with Klagomal(db_url, clock=clock) as k:
        assert k.plugin_manager.has_plugin("larande")
        assert k.dimensions["larande"].label == "Lärande"
    # ... and not when the caller asks for no installed plugins.
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as k:
        assert "larande" not in k.dimensions
        k.init()
        with pytest.raises(InvalidInputError, match="larande"):
            k.register(
                kind="forslag", channel="telefon", unit="bou", text="x", dimensions=["larande"], contact=None
            )


def test_a_plugin_that_fails_to_import_is_logged_and_skipped(
    site: Path, db_url: str, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    _install(
        site,
        "klagomal_broken",
        "0.1",
        {"broken": "klagomal_broken", "larande": "klagomal_larande"},
        {"klagomal_broken": "raise RuntimeError('trasig')\n", "klagomal_larande": PLUGIN_SOURCE},
    )
    with caplog.at_level(logging.ERROR, logger="klagomal.hooks.manager"), Klagomal(db_url, clock=clock) as k:
        # The broken one is skipped; the good one in the same distribution still loads.
        assert not k.plugin_manager.has_plugin("broken")
        assert "larande" in k.dimensions
        k.init()
        case = k.register(kind="forslag", channel="telefon", unit="bou", text="Läxhjälp", contact=None)
        assert k.get(case.reference) == case
    assert "'broken'" in caplog.text
    assert "trasig" in caplog.text


def test_klagomal_plugins_lists_the_version_hooks_and_dimensions(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(
        site,
        "klagomal_larande",
        "1.2.0",
        {"larande": "klagomal_larande"},
        {"klagomal_larande": PLUGIN_SOURCE},
    )
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    assert main(["--json", "plugins"], stdout=out) == 0
    plugins = {p["name"]: p for p in json.loads(out.getvalue())["plugins"]}
    assert plugins["larande"]["version"] == "1.2.0"
    assert plugins["larande"]["hooks"] == ["klagomal_quality_dimensions"]
    assert plugins["larande"]["dimensions"] == ["larande"]
    assert "tillganglighet" in plugins["klagomal.builtin"]["dimensions"]


def test_klagomal_plugins_lists_disabled_and_failed_plugins(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(
        site,
        "klagomal_broken",
        "0.1",
        {"broken": "klagomal_broken", "larande": "klagomal_larande"},
        {"klagomal_broken": "raise RuntimeError('trasig')\n", "klagomal_larande": PLUGIN_SOURCE},
    )
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    assert main(["--json", "plugins"], stdout=out) == 0
    listing = json.loads(out.getvalue())
    assert listing["failures"] == [{"plugin": "broken", "hook": "import", "error": "RuntimeError: trasig"}]
    assert "larande" in {p["name"] for p in listing["plugins"]}
    # Disabled by entry-point name, the broken one is not even imported.
    monkeypatch.setenv("KLAGOMAL_DISABLE_PLUGINS", "broken")
    out = io.StringIO()
    assert main(["plugins"], stdout=out) == 0
    assert "broken: avstängd (KLAGOMAL_DISABLE_PLUGINS)" in out.getvalue()
    assert "fel i" not in out.getvalue()


def test_klagomal_disable_plugins_accepts_the_distribution_name(
    site: Path, db_url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(
        site,
        "klagomal_larande",
        "1.2.0",
        {"larande": "klagomal_larande"},
        {"klagomal_larande": PLUGIN_SOURCE},
    )
    # pip's spelling of the name, with a hyphen, disables every entry point of the distribution.
    monkeypatch.setenv("KLAGOMAL_DISABLE_PLUGINS", "klagomal-larande")
    with Klagomal(db_url, clock=clock) as k:
        assert "larande" not in k.dimensions
        assert k.plugin_manager.disabled == ["larande"]

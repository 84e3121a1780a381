"""The scripts and files in examples/ work as their docstrings say."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import io
import sys
from pathlib import Path
from types import ModuleType

import pytest

from klagomal import FixedClock, InvalidInputError, Klagomal, load_organisation
from klagomal.cli import main

EXAMPLES = Path(__file__).parent.parent / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_diarium_plugin_adds_its_dimension_and_logs_every_event(tmp_path: Path) -> None:
    # R6, R25: a förvaltning's own dimension, through a plugin, without forking.
    diarium = _load("diarium_plugin")
    plugin = diarium.DiariumPlugin(tmp_path / "diarium.csv")
    clock = FixedClock(dt.date(2026, 5, 4))
    with Klagomal(
        f"sqlite:///{tmp_path / 'k.db'}", clock=clock, plugins=[plugin], load_entrypoints=False
    ) as k:
        k.init()
        assert k.dimensions["trygghet"].department == "soc"
        case = k.register(
            kind="berom", channel="telefon", unit="soc", text="Tryggt!", dimensions=["trygghet"]
        )
        k.acknowledge(case.reference, "Eva", dt.date(2026, 5, 20))
    rows = list(csv.DictReader((tmp_path / "diarium.csv").open(encoding="utf-8")))
    assert [(r["diarienummer"], r["lopnummer"], r["handelse"]) for r in rows] == [
        (case.reference, "1", "registered"),
        (case.reference, "2", "acknowledged"),
    ]


def test_without_the_plugin_its_dimension_is_unknown(tmp_path: Path) -> None:
    with Klagomal(f"sqlite:///{tmp_path / 'k.db'}", load_entrypoints=False) as k:
        k.init()
        with pytest.raises(InvalidInputError, match="trygghet"):
            k.register(kind="berom", channel="telefon", unit="soc", text="Tryggt!", dimensions=["trygghet"])


def test_diarium_plugin_main_prints_the_diarium(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _load("diarium_plugin").main(tmp_path)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "diarienummer,lopnummer,datum,handelse,enhet,status"
    assert lines[1:] == [
        "2026-00001,1,2026-05-04,registered,soc-aldre-solgarden,registrerat",
        "2026-00001,2,2026-05-05,acknowledged,soc-aldre-solgarden,handlaggning",
    ]


def test_small_kommun_organisation_loads_and_drives_the_cli(tmp_path: Path) -> None:
    org = load_organisation(EXAMPLES / "smakommun.toml")
    assert org.system_owner == "kommunkontoret"
    assert org.nearest_manager("omsorg-hemtjanst-ost") == "Enhetschef Lars Berg"
    out = io.StringIO()
    db = f"sqlite:///{tmp_path / 'sma.db'}"
    base = ["--db", db, "--org", str(EXAMPLES / "smakommun.toml"), "--today", "2026-03-02"]
    assert main([*base, "init"], stdout=out) == 0
    args = ["register", "--kind", "klagomal", "--channel", "brev", "--unit", "omsorg-hemtjanst-ost"]
    assert main([*base, *args, "--text", "Sen", "--anonymous", "--serious"], stdout=out) == 0
    # R15: the serious complaint went to the unit's own chef, from this kommun's file.
    assert "Enhetschef Lars Berg" in out.getvalue()

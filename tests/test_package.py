"""The package's public face: what it exports and what it costs to import."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import klagomal


def test_every_public_name_resolves_to_its_module() -> None:
    assert set(klagomal.__all__) == set(klagomal._LOCATIONS) | {"__version__"}
    for name, module in klagomal._LOCATIONS.items():
        assert getattr(klagomal, name) is getattr(importlib.import_module(module), name)


def test_help_does_not_load_the_database_layer_or_the_calendar() -> None:
    # `klagomal --help` must stay fast: SQLAlchemy, cattrs and workalendar load
    # only when a command needs them.
    code = (
        "import sys\n"
        "from klagomal.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('sqlalchemy', 'cattrs', 'workalendar', 'alembic') if m in sys.modules]\n"
        "print(','.join(heavy) or 'none')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[-1] == "none"


def test_the_package_ships_its_type_information_and_data() -> None:
    root = Path(klagomal.__file__).parent
    assert (root / "py.typed").exists()
    assert (root / "data" / "exempelkommun.toml").exists()
    for revision in ("0001_initial.py", "0002_deadlines.py", "0003_secrecy.py"):
        assert (root / "storage" / "migrations" / "versions" / revision).exists()

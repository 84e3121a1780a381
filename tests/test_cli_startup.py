"""What a handler's everyday commands load, so that they start fast (issue 19, item 11).

``klagomal show`` and ``klagomal list --mine`` run many times a day, and a
whole process is most of what a handler waits for (bench/cli.py measures it
against the least SQLAlchemy program that reads the same rows).  Part of
what made them faster is that they no longer load what they do not use:
the modules and the other commands' parsers listed in :data:`NOT_LOADED`.
This runs each command as a fresh process and checks that none of those is
in ``sys.modules`` afterwards, so that the gain cannot slip back unseen.
It times nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from klagomal.cli import COMMANDS, main

#: What neither command may load: Jinja2 (letters and the GDPR extract
#: render with it, and load it then), Alembic (``klagomal init`` only; the
#: schema check does without), tqdm and aiosmtpd (``import-cases`` and
#: ``serve-smtp``), the report rendering, and every command module but the
#: one of the command run (``klagomal.cli.cases``) and the three whose
#: sections ``show`` prints (notes and attachments, the flags, the related
#: cases).  Nor the facade's services that neither uses, the mail import's
#: and the reports' (:class:`klagomal.app.Klagomal` builds them when first
#: used), nor intake's mail parser, nor the timeliness report.
SHOW_SECTIONS = {
    "klagomal.cli.cases",
    "klagomal.cli.case_file",
    "klagomal.cli.threats",
    "klagomal.cli.related",
}
NOT_LOADED = (
    "jinja2",
    "alembic",
    "tqdm",
    "aiosmtpd",
    "klagomal.storage.migrate",
    "klagomal.reports.render",
    "klagomal.intake.importing",
    "klagomal.reports",
    "klagomal.reports.service",
    "klagomal.intake.mailparse",
    "klagomal.deadlines.timeliness",
    *sorted({f"klagomal.cli.{module}" for module in COMMANDS.values()} - SHOW_SECTIONS),
)
#: What ``list --mine`` does not load besides: the records and notices
#: services, through which ``show`` reads the case's disposals and outbox.
NOT_LOADED_BY_LIST = ("klagomal.records.service", "klagomal.notices.service")

REGISTER = [
    "register",
    "--kind",
    "klagomal",
    "--channel",
    "telefon",
    "--unit",
    "soc-aldre-hemtjanst-norr",
    "--text",
    "Hemtjänsten kom inte på tisdagen.",
    "--name",
    "Eva Berg",
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with one case, 2026-00001, at Omar Ali's unit, and no handler."""
    url = f"sqlite:///{tmp_path_factory.mktemp('startup') / 'klagomal.db'}"
    for argv in (["init"], REGISTER):
        assert main(["--db", url, "--today", "2026-03-02", *argv]) == 0
    return url


@pytest.mark.parametrize(
    ("command", "not_loaded"),
    [(["show", "2026-00001"], NOT_LOADED), (["list", "--mine"], NOT_LOADED + NOT_LOADED_BY_LIST)],
    ids=["show 2026-00001", "list --mine"],
)
def test_a_handlers_everyday_command_loads_nothing_it_does_not_use(
    db: str, command: list[str], not_loaded: tuple[str, ...]
) -> None:
    argv = ["--db", db, "--user", "omar.ali", "--json", *command]
    code = (
        "import io, sys\n"
        "from klagomal.cli import main\n"
        "out = io.StringIO()\n"
        f"status = main({argv!r}, stdout=out)\n"
        "print(status)\n"
        "print(out.getvalue().strip())\n"
        f"print(','.join(m for m in {not_loaded!r} if m in sys.modules) or 'none')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    status, shown, loaded = result.stdout.splitlines()[-3:]
    assert status == "0", result.stderr
    # The command did its work: the case, or the worklist with it.
    assert "2026-00001" in json.dumps(json.loads(shown))
    assert loaded == "none"


def test_the_list_names_modules_that_exist() -> None:
    # A module renamed or moved would make the check above pass for nothing.
    root = Path(__file__).resolve().parents[1] / "src"
    for name in NOT_LOADED + NOT_LOADED_BY_LIST:
        if name.startswith("klagomal."):
            path = root / name.replace(".", "/")
            assert path.with_suffix(".py").is_file() or (path / "__init__.py").is_file(), name
        else:
            assert __import__(name), name

"""A plugin's own tables, through its own Alembic branch (``klagomal_migrations``).

The plugin here is a förvaltning's link to the kommun's diarium: a table
``diarium_links`` whose rows refer to ``cases.reference``, created by the
revision in ``tests/data/plugin_migrations/diarium``.  ``trasig`` is a plugin
whose migration fails when it runs.  The lifecycle of a plugin's tables runs
on every backend: created by ``init`` next to klagomal's, asked for when the
plugin is new to a database, kept when the plugin is removed, and a broken
migration that names its plugin and leaves klagomal's schema as it was.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from klagomal import ConfigurationError, FixedClock, Klagomal, MigrationBranch, SchemaError, StorageBackend
from klagomal.cli import main
from klagomal.storage import tables
from klagomal.storage.sql import SqlStorage, search
from klagomal.testing import plugin, register

DATA = Path(__file__).parent / "data" / "plugin_migrations"

#: klagomal's own tables, whatever revision its schema is at now.
CORE_TABLES = set(tables.metadata.tables) | {"alembic_version"}


def diarium(folder: Path = DATA / "diarium", head: str = "diarium_0001", name: str = "diarium") -> Any:
    """The diarium plugin, with its migration branch."""
    return plugin("diarium", klagomal_migrations=lambda: [MigrationBranch(name, folder, head)])


def trasig() -> Any:
    """A plugin whose migration fails when it runs."""
    return plugin(
        "trasig", klagomal_migrations=lambda: [MigrationBranch("trasig", DATA / "trasig", "trasig_0001")]
    )


def _open(url: str, clock: FixedClock, *plugins: Any) -> Klagomal:
    return Klagomal(url, clock=clock, plugins=plugins, load_entrypoints=False)


def _tables(k: Klagomal) -> set[str]:
    # Without the full-text engine's own tables (SQLite's FTS5 and its shadow tables).
    with k.storage.engine.connect() as conn:
        return {name for name in sa.inspect(conn).get_table_names() if search.include_name(name, "table", {})}


def _heads(k: Klagomal) -> list[str]:
    with k.storage.engine.connect() as conn:
        return sorted(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def _link(k: Klagomal, reference: str, diarienummer: str) -> None:
    with k.storage.engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO diarium_links (reference, diarienummer, registered) VALUES (:r, :d, :day)"),
            {"r": reference, "d": diarienummer, "day": dt.date(2026, 3, 2)},
        )


def _links(k: Klagomal) -> list[tuple[str, str]]:
    with k.storage.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT reference, diarienummer FROM diarium_links ORDER BY reference"))
        return [(row.reference, row.diarienummer) for row in rows]


# -- on every backend ----------------------------------------------------------------------------


def test_klagomal_migrations_init_creates_klagomals_tables_and_the_plugins(
    new_database: Callable[[], str], clock: FixedClock
) -> None:
    url = new_database()
    with _open(url, clock, diarium()) as k:
        assert k.registry.registered_by("diarium", "migrations") == ["diarium"]
        assert k.init() == tables.SCHEMA_HEAD
        assert _tables(k) == CORE_TABLES | {"diarium_links"}
        # One row per head: klagomal's and the plugin branch's.
        assert _heads(k) == sorted([tables.SCHEMA_HEAD, "diarium_0001"])
        case = register(k)
        _link(k, case.reference, "KS 2026/17")
        # The plugin's table refers to cases: a link to no case is refused.
        with pytest.raises(sa.exc.IntegrityError):
            _link(k, "2026-99999", "KS 2026/18")
        # A second init changes nothing.
        assert k.init() == tables.SCHEMA_HEAD
        assert _tables(k) == CORE_TABLES | {"diarium_links"}
        assert _heads(k) == sorted([tables.SCHEMA_HEAD, "diarium_0001"])
        assert _links(k) == [(case.reference, "KS 2026/17")]
        assert [c.reference for c in k.cases()] == [case.reference]
    # The next run opens it without init.
    with _open(url, clock, diarium()) as again:
        assert again.get(case.reference) == case


def test_klagomal_migrations_a_plugin_new_to_a_database_asks_for_init_which_keeps_every_case(
    new_database: Callable[[], str], clock: FixedClock
) -> None:
    url = new_database()
    with _open(url, clock) as before:
        before.init()
        first = register(before)
        second = before.acknowledge(register(before, contact=None).reference, "Lena Holm")
    with _open(url, clock, diarium()) as k:
        with pytest.raises(SchemaError) as refused:
            k.cases()
        message = str(refused.value)
        assert "insticksmodulen diarium" in message
        assert "'diarium'" in message
        assert "Kör 'klagomal init'" in message
        assert "diarium_links" not in _tables(k)  # nothing was created behind the user's back
        assert k.init() == tables.SCHEMA_HEAD
        assert _tables(k) == CORE_TABLES | {"diarium_links"}
        assert k.cases() == [first, second]
        assert [e.type for e in k.history(second.reference)] == ["registered", "acknowledged"]
        _link(k, first.reference, "KS 2026/3")
        assert register(k).reference == "2026-00003"


def test_klagomal_migrations_a_removed_plugin_leaves_its_tables_and_the_database_works(
    new_database: Callable[[], str], clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    url = new_database()
    with _open(url, clock, diarium()) as k:
        k.init()
        case = register(k)
        _link(k, case.reference, "KS 2026/17")
    # The plugin is uninstalled: klagomal neither refuses the database nor
    # touches the plugin's tables, and init neither downgrades nor drops them.
    with _open(url, clock) as without:
        assert without.get(case.reference) == case
        later = register(without)
        assert without.init() == tables.SCHEMA_HEAD
        assert "diarium_0001" in caplog.text  # init says what it leaves alone
        assert _heads(without) == sorted([tables.SCHEMA_HEAD, "diarium_0001"])
        assert _links(without) == [(case.reference, "KS 2026/17")]
        assert [c.reference for c in without.cases()] == [case.reference, later.reference]
    # Installed again, it finds its tables as it left them.
    with _open(url, clock, diarium()) as back:
        assert [c.reference for c in back.cases()] == [case.reference, later.reference]
        assert back.init() == tables.SCHEMA_HEAD
        assert _links(back) == [(case.reference, "KS 2026/17")]


def test_klagomal_migrations_a_broken_migration_names_the_plugin_and_leaves_klagomals_schema(
    new_database: Callable[[], str], clock: FixedClock
) -> None:
    url = new_database()
    with _open(url, clock) as before:
        before.init()
        case = register(before)
    with _open(url, clock, diarium(), trasig()) as k:
        with pytest.raises(SchemaError) as failed:
            k.init()
        message = str(failed.value)
        assert "insticksmodulen trasig" in message
        assert "'trasig'" in message
        assert "KLAGOMAL_DISABLE_PLUGINS" in message
        # klagomal's schema is as it was, the other plugin's branch is applied, the broken one is not.
        assert _tables(k) == CORE_TABLES | {"diarium_links"}
        assert _heads(k) == sorted([tables.SCHEMA_HEAD, "diarium_0001"])
        with pytest.raises(SchemaError, match="insticksmodulen trasig"):
            k.cases()
    # Without the broken plugin (disabled, as the message says), the kommun works on.
    with Klagomal(
        url, clock=clock, plugins=[diarium(), trasig()], load_entrypoints=False, disabled_plugins=["trasig"]
    ) as k:
        assert k.cases() == [case]
        register(k)


def test_klagomal_migrations_a_broken_migration_on_a_new_database_still_creates_klagomals_schema(
    new_database: Callable[[], str], clock: FixedClock
) -> None:
    url = new_database()
    with _open(url, clock, trasig()) as k, pytest.raises(SchemaError, match="insticksmodulen trasig"):
        k.init()
    with _open(url, clock) as k:
        assert _heads(k) == [tables.SCHEMA_HEAD]
        assert _tables(k) == CORE_TABLES
        register(k)


def test_klagomal_migrations_a_new_revision_of_the_plugin_asks_for_init_and_is_applied(
    new_database: Callable[[], str], clock: FixedClock, tmp_path: Path
) -> None:
    folder = tmp_path / "diarium"
    shutil.copytree(DATA / "diarium", folder)
    url = new_database()
    with _open(url, clock, diarium(folder)) as k:
        k.init()
        case = register(k)
        _link(k, case.reference, "KS 2026/17")
    (folder / "diarium_0002_notes.py").write_text(
        '"""A note on each link."""\n\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        'revision = "diarium_0002"\ndown_revision = "diarium_0001"\n'
        "branch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade() -> None:\n"
        '    with op.batch_alter_table("diarium_links") as batch:\n'
        '        batch.add_column(sa.Column("note", sa.String(200)))\n\n\n'
        "def downgrade() -> None:\n"
        '    with op.batch_alter_table("diarium_links") as batch:\n'
        '        batch.drop_column("note")\n',
        encoding="utf-8",
    )
    with _open(url, clock, diarium(folder, head="diarium_0002")) as k:
        with pytest.raises(SchemaError, match=r"revision diarium_0002\) behöver.* Kör 'klagomal init'"):
            k.cases()
        assert k.init() == tables.SCHEMA_HEAD
        assert _heads(k) == sorted([tables.SCHEMA_HEAD, "diarium_0002"])
        assert _links(k) == [(case.reference, "KS 2026/17")]
        with k.storage.engine.connect() as conn:
            assert "note" in {c["name"] for c in sa.inspect(conn).get_columns("diarium_links")}
        assert k.cases() == [case]


def test_klagomal_migrations_a_newer_klagomal_schema_is_still_refused(
    new_database: Callable[[], str], clock: FixedClock
) -> None:
    url = new_database()
    with _open(url, clock, diarium()) as k:
        k.init()
        with k.storage.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE alembic_version SET version_num = 'ffff9999' WHERE version_num = :head"),
                {"head": tables.SCHEMA_HEAD},
            )
    for plugins in ([diarium()], []):
        with _open(url, clock, *plugins) as k:
            with pytest.raises(SchemaError, match="nyare") as refused:
                k.cases()
            assert "ffff9999" in str(refused.value)
            assert "klagomal init" not in str(refused.value)
            with pytest.raises(SchemaError, match="nyare"):
                k.init()
            assert _heads(k) == sorted(["ffff9999", "diarium_0001"])  # never downgraded


# -- malformed branches: refused before anything runs (SQLite is enough) ------------------------


def _write_revision(folder: Path, revision: str, **fields: object) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    values = {"down_revision": None, "branch_labels": None, "depends_on": None, **fields}
    (folder / f"{revision}.py").write_text(
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f"revision = {revision!r}\n"
        + "".join(f"{name} = {value!r}\n" for name, value in values.items())
        + "\n\ndef upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n",
        encoding="utf-8",
    )


def _refused_at_init(db_url: str, clock: FixedClock, *plugins: Any) -> str:
    with _open(db_url, clock, *plugins) as k:
        with pytest.raises(ConfigurationError) as refused:
            k.init()
        assert _tables(k) == set()  # refused before anything ran
    return str(refused.value)


def test_klagomal_migrations_a_branch_that_depends_on_klagomals_revisions_is_refused(
    db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    # Alembic would replace klagomal's row in alembic_version by the plugin's,
    # and klagomal could no longer tell its own schema's revision without Alembic.
    folder = tmp_path / "beroende"
    _write_revision(folder, "beroende_0001", branch_labels=("beroende",), depends_on=tables.SCHEMA_HEAD)
    plugin_ = plugin(
        "beroende", klagomal_migrations=lambda: [MigrationBranch("beroende", folder, "beroende_0001")]
    )
    message = _refused_at_init(db_url, clock, plugin_)
    assert message.startswith("insticksmodulen beroende (klagomal_migrations): revisionen beroende_0001")
    assert "depends_on = None" in message


def test_klagomal_migrations_a_head_that_is_not_the_branchs_last_revision_is_refused(
    db_url: str, clock: FixedClock
) -> None:
    message = _refused_at_init(db_url, clock, diarium(head="diarium_0002"))
    assert message.startswith(
        "insticksmodulen diarium (klagomal_migrations): grenen 'diarium' slutar i diarium_0001"
    )


def test_klagomal_migrations_a_branch_without_its_label_is_refused(
    db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    folder = tmp_path / "etikett"
    _write_revision(folder, "etikett_0001")
    plugin_ = plugin(
        "etikett", klagomal_migrations=lambda: [MigrationBranch("etikett", folder, "etikett_0001")]
    )
    assert "branch_labels = ('etikett',)" in _refused_at_init(db_url, clock, plugin_)


def test_klagomal_migrations_a_script_that_cannot_be_read_is_refused(
    db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    folder = tmp_path / "syntax"
    folder.mkdir()
    (folder / "syntax_0001.py").write_text("revision = 'syntax_0001'\ndef upgrade(:\n", encoding="utf-8")
    plugin_ = plugin("syntax", klagomal_migrations=lambda: [MigrationBranch("syntax", folder, "syntax_0001")])
    assert "SyntaxError" in _refused_at_init(db_url, clock, plugin_)


def test_klagomal_migrations_the_same_revision_in_two_plugins_is_refused(
    db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    _write_revision(tmp_path / "a", "delad_0001", branch_labels=("a",))
    _write_revision(tmp_path / "b", "delad_0001", branch_labels=("b",))
    a = plugin("a", klagomal_migrations=lambda: [MigrationBranch("a", tmp_path / "a", "delad_0001")])
    b = plugin("b", klagomal_migrations=lambda: [MigrationBranch("b", tmp_path / "b", "delad_0001")])
    assert _refused_at_init(db_url, clock, a, b) == (
        "insticksmodulen b (klagomal_migrations): revisionen delad_0001 finns också i migreringsgrenen "
        "från insticksmodulen a"
    )


# -- at start-up ---------------------------------------------------------------------------------


def test_klagomal_migrations_the_same_branch_name_from_two_plugins_is_an_error(
    db_url: str, clock: FixedClock
) -> None:
    other = plugin(
        "annan", klagomal_migrations=lambda: [MigrationBranch("diarium", DATA / "diarium", "diarium_0001")]
    )
    with pytest.raises(ConfigurationError, match="'diarium' registreras av både") as refused:
        _open(db_url, clock, diarium(), other)
    assert "annan" in str(refused.value)
    assert "diarium och" in str(refused.value) or "och diarium" in str(refused.value)


def test_klagomal_migrations_a_missing_folder_stops_start_up_naming_the_plugin(
    db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    with pytest.raises(
        ConfigurationError, match=r"migreringsmappen .*finns-inte från diarium \(klagomal_migrations\)"
    ):
        _open(db_url, clock, diarium(tmp_path / "finns-inte"))


def test_klagomal_migrations_a_name_alembic_cannot_use_stops_start_up_naming_the_plugin(
    db_url: str, clock: FixedClock
) -> None:
    with pytest.raises(
        ConfigurationError, match=r"^insticksmodulen diarium \(klagomal_migrations\): .*'Diarium-2'"
    ):
        _open(db_url, clock, diarium(name="Diarium-2"))


def test_klagomal_migrations_a_storage_backend_written_before_the_hook(
    db_url: str, clock: FixedClock
) -> None:
    # A backend whose open takes (db, converter) keeps working without plugin
    # tables, and is refused, clearly, with them: never a database without them.
    def old_open(db: Any, converter: Any) -> SqlStorage:
        return SqlStorage.open(db, converter)

    old = plugin(
        "gammal", klagomal_storage_backends=lambda: [StorageBackend("gammal", ("sqlite",), open=old_open)]
    )
    with _open(db_url, clock, old) as k:
        assert k.init() == tables.SCHEMA_HEAD
    with pytest.raises(ConfigurationError, match=r"lagringen 'gammal' .* men diarium har migreringar"):
        _open(db_url, clock, old, diarium())


def test_klagomal_migrations_checking_the_schema_does_not_load_alembic(
    db_url: str, clock: FixedClock
) -> None:
    # Every command checks the schema: with the plugins' branches too, from
    # alembic_version and the heads the plugins declare, without Alembic.
    with _open(db_url, clock, diarium()) as k:
        k.init()
    code = (
        "import sys\n"
        "from klagomal import Klagomal, MigrationBranch\n"
        "from klagomal.testing import plugin\n"
        f"branch = MigrationBranch('diarium', {str(DATA / 'diarium')!r}, 'diarium_0001')\n"
        "p = plugin('diarium', klagomal_migrations=lambda: [branch])\n"
        f"with Klagomal({db_url!r}, plugins=[p], load_entrypoints=False) as k:\n"
        "    k.cases()\n"
        "print('alembic' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[-1] == "False"


# -- installed, through the command line -------------------------------------------------------


def test_klagomal_migrations_of_an_installed_plugin_through_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A database the kommun already uses; then the plugin is pip-installed
    # (a real .dist-info with its entry point) and `klagomal init` adds its table.
    url = f"sqlite:///{tmp_path / 'klagomal.db'}"
    assert main(["--db", url, "init"], stdout=io.StringIO()) == 0
    site = tmp_path / "site"
    info = site / "klagomal_diarium-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: klagomal-diarium\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text("[klagomal]\ndiarium = klagomal_diarium\n", encoding="utf-8")
    (site / "klagomal_diarium.py").write_text(
        "from klagomal import MigrationBranch, hookimpl\n\n"
        "@hookimpl\n"
        "def klagomal_migrations():\n"
        f"    yield MigrationBranch('diarium', {str(DATA / 'diarium')!r}, head='diarium_0001')\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("KLAGOMAL_DISABLE_PLUGINS", raising=False)
    try:
        assert main(["--db", url, "list"], stdout=io.StringIO()) == 1
        assert "insticksmodulen diarium (migreringsgrenen 'diarium', revision diarium_0001)" in (
            capsys.readouterr().err
        )
        out = io.StringIO()
        assert main(["--db", url, "--json", "init"], stdout=out) == 0
        assert json.loads(out.getvalue())["revision"] == tables.SCHEMA_HEAD
        assert main(["--db", url, "list"], stdout=io.StringIO()) == 0
        out = io.StringIO()
        assert main(["--db", url, "plugins"], stdout=out) == 0
        assert "diarium 1.0\n  krokar: klagomal_migrations\n  migreringar: diarium\n" in out.getvalue()
        out = io.StringIO()
        assert main(["--db", url, "--json", "plugins"], stdout=out) == 0
        plugins = {p["name"]: p for p in json.loads(out.getvalue())["plugins"]}
        assert plugins["diarium"]["migrations"] == ["diarium"]
        assert plugins["klagomal.builtin"]["migrations"] == []
    finally:
        sys.modules.pop("klagomal_diarium", None)
    engine = sa.create_engine(url)
    assert "diarium_links" in sa.inspect(engine).get_table_names()
    engine.dispose()

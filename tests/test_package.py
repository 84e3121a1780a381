"""The package's public face: what it exports and what it costs to import."""

from __future__ import annotations

import email
import email.message
import importlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

import klagomal


def test_every_public_name_resolves_to_its_module() -> None:
    assert set(klagomal.__all__) == set(klagomal._LOCATIONS) | {"__version__"}
    for name, module in klagomal._LOCATIONS.items():
        assert getattr(klagomal, name) is getattr(importlib.import_module(module), name)


def test_an_embedding_application_finds_the_user_types_at_the_top() -> None:
    # What docs/embedding.md imports: the acting user, their role, and the denial.
    from klagomal.core.errors import AccessDeniedError
    from klagomal.records.access import Role, User

    assert {"User", "Role", "AccessDeniedError"} <= set(klagomal.__all__)
    assert (klagomal.User, klagomal.Role, klagomal.AccessDeniedError) == (User, Role, AccessDeniedError)


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


# -- what a kommun installs: the sdist and the wheel ---------------------------------------------

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel, built as `python -m build` builds them (the wheel
    from the sdist), without network: the build requirements are the test extra's."""
    # From a copy of what the sdist is made of, so that the build writes nothing
    # (an .egg-info folder) into the source tree.
    tree = tmp_path_factory.mktemp("tree")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, tree / name)
    shutil.copytree(REPO / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(tree)],
        check=True,
        capture_output=True,
    )
    return {"sdist": next(out.glob("*.tar.gz")), "wheel": next(out.glob("*.whl"))}


def _wheel_metadata(wheel: Path) -> tuple[list[str], email.message.Message]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(archive.read(f"{info}/METADATA"))
    return names, metadata


def test_the_wheel_and_the_sdist_carry_the_mit_license(dists: dict[str, Path]) -> None:
    license_text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert license_text.startswith("MIT License\n")
    assert "Copyright (c) 2026 klagomal contributors" in license_text
    names, metadata = _wheel_metadata(dists["wheel"])
    assert metadata["License-Expression"] == PYPROJECT["project"]["license"] == "MIT"
    in_wheel = [n for n in names if re.fullmatch(r"klagomal-[^/]+\.dist-info/licenses/LICENSE", n)]
    assert len(in_wheel) == 1
    with zipfile.ZipFile(dists["wheel"]) as archive:
        assert archive.read(in_wheel[0]).decode("utf-8") == license_text
    assert metadata.get_all("License-File") == ["LICENSE"]
    with tarfile.open(dists["sdist"]) as sdist:
        member = next(m for m in sdist.getmembers() if m.name.count("/") == 1 and m.name.endswith("/LICENSE"))
        extracted = sdist.extractfile(member)
        assert extracted is not None
        assert extracted.read().decode("utf-8") == license_text


def test_the_wheel_carries_every_file_of_the_package_that_is_not_code(dists: dict[str, Path]) -> None:
    """Templates, stylesheets, catalogues, data: read from the source tree, so
    that a file in a new folder (the web interface's admin/ templates) cannot
    be left out of what a kommun installs."""
    source = REPO / "src" / "klagomal"
    wanted = {
        "klagomal/" + path.relative_to(source).as_posix()
        for path in source.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }
    assert any(name.startswith("klagomal/web/ui/templates/admin/") for name in wanted)
    names, _metadata = _wheel_metadata(dists["wheel"])
    assert wanted - set(names) == set()


def test_the_metadata_names_the_project_urls_and_the_driver_extras(dists: dict[str, Path]) -> None:
    _, metadata = _wheel_metadata(dists["wheel"])
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL") or [])
    assert set(urls) == {"Documentation", "Source", "Issues"}
    assert all(u.startswith("https://") for u in urls.values())
    extras = set(metadata.get_all("Provides-Extra") or [])
    assert {"postgresql", "mariadb", "docs", "test", "lint"} <= extras
    requires = metadata.get_all("Requires-Dist") or []
    assert any(r.startswith("psycopg[binary]") and 'extra == "postgresql"' in r for r in requires)
    assert any(r.startswith("pymysql") or r.startswith("PyMySQL") for r in requires if "mariadb" in r)


def test_installing_klagomal_adds_no_pytest_plugin(dists: dict[str, Path]) -> None:
    # The fixtures are opt-in: a pytest11 entry point would load them into every
    # pytest run in the kommun's environment.
    with zipfile.ZipFile(dists["wheel"]) as archive:
        info = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        groups = re.findall(r"^\[([^\]]+)\]$", archive.read(info).decode("utf-8"), re.MULTILINE)
    assert groups == ["console_scripts"]
    assert "pytest11" not in PYPROJECT["project"].get("entry-points", {})


def test_the_documented_pytest_plugins_line_gives_the_fixtures(tmp_path: Path) -> None:
    # What docs/plugins.md tells a plugin author to write, in a project of their own.
    (tmp_path / "conftest.py").write_text(
        'pytest_plugins = ["klagomal.testing.pytest_plugin"]\n', encoding="utf-8"
    )
    (tmp_path / "test_mine.py").write_text(
        "from klagomal.testing import register\n\n"
        "def test_a_case(klagomal_instance, klagomal_clock):\n"
        "    assert register(klagomal_instance).reference == '2026-00001'\n",
        encoding="utf-8",
    )
    # An environment installed before the entry point was removed still has it;
    # blocked, so that the line above is what loads the fixtures.
    stale = [
        arg
        for dist in importlib.metadata.distributions()
        for ep in dist.entry_points
        if ep.group == "pytest11" and ep.value == "klagomal.testing.pytest_plugin"
        for arg in ("-p", f"no:{ep.name}")
    ]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *stale, "test_mine.py"]
    # The klagomal under test, wherever the test runs from.
    env = {**os.environ, "PYTHONPATH": str(Path(klagomal.__file__).resolve().parent.parent)}
    passed = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    # Without the line, the fixtures are not there.
    (tmp_path / "conftest.py").unlink()
    failed = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert "fixture 'klagomal_instance' not found" in failed.stdout


# -- the database drivers: extras, and a message that names them --------------------------------


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [
        ("postgresql+psycopg://klagomal@127.0.0.1:5432/klagomal", "psycopg", "postgresql"),
        ("postgresql://klagomal@127.0.0.1:5432/klagomal", "psycopg", "postgresql"),
        ("mysql+pymysql://klagomal@127.0.0.1:3306/klagomal", "pymysql", "mariadb"),
        ("mariadb+pymysql://klagomal@127.0.0.1:3306/klagomal", "pymysql", "mariadb"),
    ],
)
def test_a_missing_driver_is_named_with_the_extra_that_installs_it(
    url: str, module: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes `import psycopg` fail as if it were not installed.
    for name in [m for m in sys.modules if m == module or m.startswith(f"{module}.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(klagomal.ConfigurationError) as raised:
        klagomal.Klagomal(url, load_entrypoints=False)
    message = str(raised.value)
    assert message.startswith(f"databasdrivrutinen för {url.split(':')[0]} saknas")
    assert f"installera den med pip install 'klagomal[{extra}]'" in message
    # The extra is one the package declares, with that driver.
    assert any(r.lower().startswith(module) for r in PYPROJECT["project"]["optional-dependencies"][extra])


@pytest.mark.parametrize(
    ("url", "extra", "address"),
    [
        ("postgresql+pg8000://klagomal@127.0.0.1/klagomal", "postgresql", "postgresql+psycopg://"),
        ("mysql+mysqldb://klagomal@127.0.0.1/klagomal", "mariadb", "mysql+pymysql://"),
        ("mysql://klagomal@127.0.0.1/klagomal", "mariadb", "mysql+pymysql://"),
    ],
)
def test_another_driver_than_the_extras_is_named_with_the_address_the_extra_serves(
    url: str, extra: str, address: str
) -> None:
    # Drivers the test environment does not have (pg8000, mysqlclient): the real import fails.
    with pytest.raises(klagomal.ConfigurationError) as raised:
        klagomal.Klagomal(url, load_entrypoints=False)
    message = str(raised.value)
    assert f"pip install 'klagomal[{extra}]'" in message
    assert f"skriv adressen {address}…" in message
    assert "No module named" in message


def test_a_server_without_an_extra_is_told_to_install_its_driver() -> None:
    with pytest.raises(klagomal.ConfigurationError, match=r"mssql\+pyodbc saknas .*installera den drivrutin"):
        klagomal.Klagomal("mssql+pyodbc://klagomal@127.0.0.1/klagomal", load_entrypoints=False)

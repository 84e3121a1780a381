"""Running the Alembic migrations: klagomal's own, which ship inside the
package, and the branches plugins add (``klagomal_migrations``).

The Alembic configuration is built in code and points at
``klagomal/storage/migrations``, so ``klagomal init`` works with no
``alembic.ini`` in the user's directory.  Alembic is imported only here,
because only ``init`` needs it.

Plugins' branches join klagomal's revisions through Alembic's multiple
``version_locations``: one ``alembic_version`` table holds one row per head,
klagomal's and one for each branch applied.  Each branch stands alone (its
first revision has ``down_revision = None`` and ``depends_on = None``), so
that klagomal's row is always there for :meth:`SqlStorage.check_schema
<klagomal.storage.sql.SqlStorage.check_schema>` to read without Alembic: an
Alembic dependency on klagomal's head would replace klagomal's row by the
plugin's.  Instead :func:`upgrade` brings klagomal's schema to its head
first, in a transaction of its own, and then each branch in a transaction of
its own, so that a plugin's tables may refer to ``cases`` and a failing
branch names its plugin and leaves klagomal's schema as it is.
"""

from __future__ import annotations

import logging
import os
import pathlib
import tempfile
from collections.abc import Sequence

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy.engine import Engine

from klagomal.core.errors import ConfigurationError, SchemaError
from klagomal.core.i18n import _
from klagomal.core.settings import DISABLE_PLUGINS_VARIABLE
from klagomal.storage.base import MigrationBranch

__all__ = ["alembic_config", "script_revisions", "upgrade"]

SCRIPT_LOCATION = "klagomal.storage:migrations"

#: klagomal's own revisions, as a version location next to the plugins' folders.
CORE_VERSIONS = "klagomal.storage:migrations/versions"

log = logging.getLogger(__name__)


def alembic_config(folders: Sequence[str | os.PathLike[str]] = ()) -> Config:
    """An Alembic configuration for the packaged migrations and the
    plugins' branches in *folders*."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if folders:
        # One location a line: a path may hold spaces, and ':' is both the
        # package separator above and the path separator on POSIX.
        locations = [CORE_VERSIONS, *(str(pathlib.Path(folder).resolve()) for folder in folders)]
        config.set_main_option("path_separator", "newline")
        config.set_main_option("version_locations", "\n".join(locations).replace("%", "%%"))
    return config


def script_revisions() -> list[str]:
    """Every packaged revision id, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def upgrade(
    engine: Engine, revision: str = "heads", branches: Sequence[tuple[str, MigrationBranch]] = ()
) -> str:
    """Upgrade the database behind *engine*; return the revision of
    klagomal's own schema it ends at.

    :param revision: where klagomal's own schema goes; ``"heads"`` (or
        ``"head"``) is its last revision and then every branch's head,
        anything else a revision of klagomal's own only.
    :param branches: the plugins' branches as ``(plugin, branch)``.

    A malformed branch is a :class:`~klagomal.core.errors.ConfigurationError`
    naming its plugin, before anything runs.  A branch whose migration fails
    is a :class:`~klagomal.core.errors.SchemaError` naming its plugin; klagomal's
    own schema is upgraded by then, in its own transaction, and stays so.
    A row of ``alembic_version`` that neither klagomal nor an installed
    plugin knows is a branch of a plugin no longer installed: it is left as
    it is, with its tables, and logged.
    """
    core = ScriptDirectory.from_config(alembic_config())
    core_revisions = {script.revision for script in core.walk_revisions()}
    known = set(core_revisions)
    for ids in _branch_revisions(branches, core_revisions).values():
        known |= ids
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current and not current & core_revisions:
        # klagomal's row is always there once its schema is (branches stand
        # alone): without it, the schema is newer than this version.
        raise SchemaError(
            _(
                "Databasen {url} har schemaversion {revision}, som är nyare än denna version "
                "av klagomal. Uppgradera klagomal; databasen nedgraderas aldrig automatiskt."
            ).format(url=engine.url.render_as_string(hide_password=True), revision=", ".join(sorted(current)))
        )
    orphans = sorted(current - known)
    for orphan in orphans:
        log.warning(
            _(
                "klagomal: alembic_version har revisionen %r, som varken klagomal eller en installerad "
                "insticksmodul har (en gren från en avinstallerad insticksmodul?); den och dess tabeller "
                "lämnas som de är"
            ),
            orphan,
        )
    everything = revision in ("head", "heads")  # else klagomal's own schema only
    with tempfile.TemporaryDirectory(prefix="klagomal-alembic-") as placeholders:
        folders: list[str | os.PathLike[str]] = [branch.folder for _plugin, branch in branches]
        if orphans:
            _write_placeholders(pathlib.Path(placeholders), orphans)
            folders.append(placeholders)
        config = alembic_config(folders)
        _run(engine, config, (core.get_current_head() or "heads") if everything else revision)
        for plugin, branch in sorted(branches, key=_by_branch_name) if everything else []:
            try:
                _run(engine, config, f"{branch.name}@head")
            except Exception as exc:
                reason = getattr(exc, "orig", None) or exc
                first_line = (str(reason).strip().splitlines() or [""])[0]
                raise SchemaError(
                    _(
                        "insticksmodulen {plugin}: migreringsgrenen '{branch}' kunde inte uppgraderas "
                        "({error}). klagomals egna tabeller är uppgraderade och orörda av felet. Rätta "
                        "insticksmodulen, eller stäng av den ({variable}), och kör 'klagomal init' igen."
                    ).format(
                        plugin=plugin,
                        branch=branch.name,
                        error=f"{type(reason).__name__}: {first_line}",
                        variable=DISABLE_PLUGINS_VARIABLE,
                    )
                ) from exc
    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return next((head for head in heads if head in core_revisions), "")


def _by_branch_name(item: tuple[str, MigrationBranch]) -> str:
    return item[1].name


def _run(engine: Engine, config: Config, target: str) -> None:
    """Upgrade to *target* in one transaction."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # A pooled connection may keep a unit of work's lock wait as its
            # session's (SqlStorage._postgresql_lock_wait): a migration waits as long as it takes.
            conn.exec_driver_sql("SET LOCAL lock_timeout = 0")
        config.attributes["connection"] = conn
        command.upgrade(config, target)


def _write_placeholders(folder: pathlib.Path, revisions: Sequence[str]) -> None:
    """A revision script that does nothing for each row of ``alembic_version``
    no installed code knows, so that Alembic takes them for heads already
    applied instead of refusing to run."""
    for n, revision in enumerate(revisions):
        (folder / f"placeholder_{n}.py").write_text(
            f"revision = {revision!r}\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n\n\n"
            "def upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n",
            encoding="utf-8",
        )


def _as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _branch_revisions(
    branches: Sequence[tuple[str, MigrationBranch]], core_revisions: set[str]
) -> dict[str, set[str]]:
    """Each branch's revision ids by its name, after checking that the
    branch can be run: its scripts load, it stands alone, its first
    revision carries its name as branch label, and it ends at the ``head``
    its plugin declares.  Otherwise a ConfigurationError names the plugin."""
    owners: dict[str, str] = {}  # revision id -> plugin
    result: dict[str, set[str]] = {}
    for plugin, branch in branches:

        def refuse(reason: str, plugin: str = plugin) -> ConfigurationError:
            return ConfigurationError(
                _("insticksmodulen {plugin} ({hook}): {reason}").format(
                    plugin=plugin, hook="klagomal_migrations", reason=reason
                )
            )

        folder = branch.folder.resolve()
        try:
            script = ScriptDirectory.from_config(alembic_config([folder]))
            scripts = list(script.walk_revisions())
        except Exception as exc:
            raise refuse(
                _("migreringarna i {folder} kan inte läsas: {error}").format(
                    folder=folder, error=f"{type(exc).__name__}: {exc}"
                )
            ) from exc
        own: dict[str, Script] = {s.revision: s for s in scripts if pathlib.Path(s.path).parent == folder}
        if not own:
            raise refuse(_("mappen {folder} har inga revisioner").format(folder=folder))
        for revision, s in own.items():
            if revision in core_revisions:
                raise refuse(
                    _("revisionen {revision} har samma id som en av klagomals egna").format(revision=revision)
                )
            if revision in owners:
                raise refuse(
                    _(
                        "revisionen {revision} finns också i migreringsgrenen från insticksmodulen {other}"
                    ).format(revision=revision, other=owners[revision])
                )
            outside = [r for r in (*_as_tuple(s.down_revision), *_as_tuple(s.dependencies)) if r not in own]
            if outside:
                raise refuse(
                    _(
                        "revisionen {revision} bygger på {targets}, som inte hör till grenen '{branch}'. "
                        "En gren står för sig själv: dess första revision har down_revision = None och "
                        "depends_on = None. 'klagomal init' uppgraderar klagomals egna tabeller först, så "
                        "grenens tabeller kan ändå referera till till exempel cases."
                    ).format(revision=revision, targets=", ".join(outside), branch=branch.name)
                )
        parents = {down for s in own.values() for down in _as_tuple(s.down_revision)}
        heads = sorted(set(own) - parents)
        if heads != [branch.head]:
            raise refuse(
                _(
                    "grenen '{branch}' slutar i {heads} i {folder}, men MigrationBranch.head är {head}; "
                    "ge head id:t på grenens sista revision"
                ).format(branch=branch.name, heads=", ".join(heads), folder=folder, head=branch.head)
            )
        # Not by resolving "<name>@head": Alembic would take the name for the
        # start of a revision id when no revision carries it as a label.
        if not any(branch.name in s.branch_labels for s in own.values()):
            raise refuse(
                _(
                    "ingen revision i {folder} har branch_labels = ('{branch}',); ge grenens första "
                    "revision det"
                ).format(folder=folder, branch=branch.name)
            )
        for revision in own:
            owners[revision] = plugin
        result[branch.name] = set(own)
    return result

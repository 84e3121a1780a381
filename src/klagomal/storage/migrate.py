"""Running the Alembic migrations that ship inside the package.

The Alembic configuration is built in code and points at
``klagomal/storage/migrations``, so ``klagomal init`` works with no
``alembic.ini`` in the user's directory.  Alembic is imported only here,
because only ``init`` needs it.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

__all__ = ["alembic_config", "script_revisions", "upgrade"]

SCRIPT_LOCATION = "klagomal.storage:migrations"


def alembic_config() -> Config:
    """An Alembic configuration for the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def script_revisions() -> list[str]:
    """Every packaged revision id, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Upgrade the database behind *engine* to *revision*; return where it ends."""
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current or ""

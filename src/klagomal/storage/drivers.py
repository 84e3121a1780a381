"""What to say when the database driver of a URL is not installed.

SQLAlchemy brings no driver but SQLite's.  klagomal offers one per server as an
extra of its package (pyproject.toml): ``klagomal[postgresql]`` installs psycopg,
the driver of ``postgresql+psycopg://``, and ``klagomal[mariadb]`` PyMySQL, the
driver of ``mysql+pymysql://``.  The message names the extra, so that a kommun
need not find the driver by itself.
"""

from __future__ import annotations

from sqlalchemy.engine import URL

from klagomal.core.i18n import _

#: For each SQLAlchemy dialect with an extra: the extra and the driver it installs.
EXTRAS: dict[str, tuple[str, str]] = {
    "postgresql": ("postgresql", "psycopg"),
    "mysql": ("mariadb", "pymysql"),
    "mariadb": ("mariadb", "pymysql"),
}


def missing_driver_message(url: URL, reason: BaseException) -> str:
    """The Swedish message for a URL whose driver does not import: how to
    install it, with the extra of klagomal's package where there is one."""
    scheme = url.drivername
    dialect = url.get_backend_name()
    if dialect not in EXTRAS:
        return _(
            "databasdrivrutinen för {scheme} saknas ({reason}); installera den drivrutin "
            "som SQLAlchemy anger för {scheme}"
        ).format(scheme=scheme, reason=reason)
    extra, driver = EXTRAS[dialect]
    install = f"pip install 'klagomal[{extra}]'"
    # The driver the URL asks for, named or the dialect's default (``postgresql://``: psycopg).
    if url.get_dialect().driver == driver:
        return _("databasdrivrutinen för {scheme} saknas ({reason}); installera den med {install}").format(
            scheme=scheme, reason=reason, install=install
        )
    return _(
        "databasdrivrutinen för {scheme} saknas ({reason}); installera {driver} med {install} "
        "och skriv adressen {dialect}+{driver}://…, eller installera själv den drivrutin som "
        "adressen {scheme}:// anger"
    ).format(scheme=scheme, reason=reason, driver=driver, install=install, dialect=dialect)

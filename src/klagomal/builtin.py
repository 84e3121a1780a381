"""Built-in features, registered through the same hooks as outside plugins.

Every implementation here is ``trylast`` so that a förvaltning's plugin can
override it.
"""

from __future__ import annotations

from collections.abc import Iterator

from klagomal.calendars import Calendar, swedish_calendar
from klagomal.deadlines import DeadlinePolicy
from klagomal.hookspecs import hookimpl
from klagomal.i18n import _
from klagomal.model import Channel, QualityDimension
from klagomal.notifiers import Notifier, log_notifier
from klagomal.organisation import Organisation
from klagomal.storage.base import StorageBackend

__all__ = ["BUILTIN_CHANNELS", "BUILTIN_DIMENSIONS"]

#: The four municipality-wide quality dimensions (R6).
BUILTIN_DIMENSIONS = (
    QualityDimension("tillganglighet", _("Tillgång och tillgänglighet")),
    QualityDimension("kompetens", _("Kompetens")),
    QualityDimension("bemotande", _("Bemötande och personkontakt")),
    QualityDimension("inflytande", _("Inflytande")),
)

#: The channels the routine names (R4).  The web form is the one channel
#: through which the routine does not accept anonymous feedback (R5).
BUILTIN_CHANNELS = (
    Channel("telefon", _("Telefon")),
    Channel("brev", _("Brev")),
    Channel("epost", _("E-post")),
    Channel("besok", _("Personligt besök")),
    Channel("svarskort", _("Svarskort")),
    Channel("webbformular", _("Webbformulär"), allows_anonymous=False),
    Channel("telefonsvarare", _("Telefonsvarare / gratisnummer")),
)


@hookimpl(trylast=True)
def klagomal_quality_dimensions() -> Iterator[QualityDimension]:
    """The municipality-wide dimensions."""
    yield from BUILTIN_DIMENSIONS


@hookimpl(trylast=True)
def klagomal_channels() -> Iterator[Channel]:
    """The routine's channels."""
    yield from BUILTIN_CHANNELS


@hookimpl(trylast=True)
def klagomal_storage_backends() -> Iterator[StorageBackend]:
    """SQLAlchemy storage for SQLite and the database servers it supports."""
    from klagomal.storage.sql import SqlStorage

    yield StorageBackend(
        name="sqlalchemy",
        schemes=("sqlite", "postgresql", "mysql", "mariadb", "mssql"),
        open=SqlStorage.open,
    )


@hookimpl(trylast=True)
def klagomal_calendars() -> Iterator[Calendar]:
    """The Swedish calendar (lag 1930:173); its index is built on first use."""
    yield swedish_calendar()


@hookimpl(trylast=True)
def klagomal_notifiers() -> Iterator[Notifier]:
    """The log notifier."""
    yield log_notifier()


@hookimpl(trylast=True)
def klagomal_deadline_policy(department: str, organisation: Organisation) -> DeadlinePolicy:
    """The routine's defaults: besked within ten working days (R7)."""
    return DeadlinePolicy()

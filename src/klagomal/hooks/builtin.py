"""Built-in features, registered through the same hooks as outside plugins.

Every implementation here is ``trylast`` so that a förvaltning's plugin can
override it.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Iterator

from klagomal.core.i18n import _
from klagomal.core.model import Channel, Finding, Intake, QualityDimension, Route, ThreatRoutine
from klagomal.core.organisation import Organisation
from klagomal.deadlines.calendars import Calendar, swedish_calendar
from klagomal.deadlines.policies import DeadlinePolicy
from klagomal.hooks.specs import hookimpl
from klagomal.notices.letters import BUILTIN_TEMPLATES
from klagomal.notices.notifiers import Notifier, file_notifier, letter_notifier, log_notifier, smtp_notifier
from klagomal.records.access import SYSTEM_USER, User
from klagomal.storage.base import MigrationBranch, StorageBackend

__all__ = ["BUILTIN_CHANNELS", "BUILTIN_DIMENSIONS"]

#: The four municipality-wide quality dimensions (R6).
BUILTIN_DIMENSIONS = (
    QualityDimension("tillganglighet", _("Tillgång och tillgänglighet")),
    QualityDimension("kompetens", _("Kompetens")),
    QualityDimension("bemotande", _("Bemötande och personkontakt")),
    QualityDimension("inflytande", _("Inflytande")),
)

#: The channels the routine names (R4), and Open311's (issue 21).  The web
#: form is the one channel through which the routine does not accept
#: anonymous feedback (R5).
BUILTIN_CHANNELS = (
    Channel("telefon", _("Telefon")),
    Channel("brev", _("Brev")),
    Channel("epost", _("E-post")),
    Channel("besok", _("Personligt besök")),
    Channel("svarskort", _("Svarskort")),
    Channel("webbformular", _("Webbformulär"), allows_anonymous=False),
    Channel("telefonsvarare", _("Telefonsvarare / gratisnummer")),
    # Open311 GeoReport v2 (docs/open311.md): an app such as FixaMinGata
    # posts for the person, who may leave name and e-mail out, as the
    # standard allows; so anonymous feedback is accepted (R5).
    Channel(
        "open311",
        _("Open311 (FixaMinGata m.fl.)"),
        allows_anonymous=True,
        description=_("Felanmälan från en app eller tjänst som talar Open311 GeoReport v2"),
    ),
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
def klagomal_notifiers(organisation: Organisation) -> Iterator[Notifier]:
    """The built-in notifiers, set up from the organisation file's
    ``[utskick]``: ``log`` (the ``klagomal.notices.outbox`` logger), ``fil``
    (e-mail as ``.eml`` files), ``utskrift`` (printable letters) and
    ``smtp`` (e-mail through ``[utskick.smtp]``).  The file notifiers write
    to ``[utskick] katalog``."""
    delivery = organisation.delivery
    yield log_notifier()
    yield file_notifier(delivery.folder, sender=delivery.sender, reply_to=delivery.reply_to)
    yield letter_notifier(delivery.folder)
    yield smtp_notifier(delivery)


@hookimpl(trylast=True)
def klagomal_deadline_policy(department: str, organisation: Organisation) -> DeadlinePolicy:
    """The routine's defaults: besked within ten working days (R7)."""
    return DeadlinePolicy()


@hookimpl(trylast=True)
def klagomal_template_dirs() -> Iterator[pathlib.Path]:
    """The built-in Swedish letters, searched after every plugin's."""
    yield BUILTIN_TEMPLATES


@hookimpl(trylast=True)
def klagomal_migrations() -> Iterator[MigrationBranch]:
    """None: klagomal's own migrations are no plugin branch; ``klagomal
    init`` always runs them, and first."""
    yield from ()


@hookimpl(trylast=True)
def klagomal_identify(user_id: str, organisation: Organisation) -> User | None:
    """The organisation file's ``[[anvandare]]``, and the reserved ``system``
    (scheduled jobs) unless ``[behorighet] systemanvandare = false``."""
    if user_id == SYSTEM_USER.id and organisation.system_user:
        return SYSTEM_USER
    return organisation.users.get(user_id)


@hookimpl(trylast=True)
def klagomal_is_serious(intake: Intake) -> bool:
    """Serious when the registrar marked it so (R15)."""
    return intake.serious


@hookimpl(trylast=True)
def klagomal_route(intake: Intake) -> Route | None:
    """The unit the registrar named; without one, no route (the caller is
    asked to name a unit)."""
    return None if intake.unit is None else Route(intake.unit)


@hookimpl(trylast=True)
def klagomal_allows_anonymous(channel: Channel) -> bool:
    """The channel's own policy: anonymous everywhere but the web form (R5)."""
    return channel.allows_anonymous


@hookimpl(trylast=True)
def klagomal_threat_routine() -> ThreatRoutine:
    """When staff flag abusive or threatening treatment (R28): tell the
    unit's chef; the case stays where it is, and no channel is declined."""
    return ThreatRoutine()


# Words that suggest another route also applies (R3).  Matched at the start
# of a word, so that "överklagandet" and "felanmälde" count too.
_OTHER_ROUTES = (
    (
        re.compile(r"\böverklag", re.IGNORECASE),
        _(
            "texten nämner ett överklagande; om personen vill överklaga ett beslut gäller andra "
            "regler, ge vägledning om hur och när (R3)"
        ),
    ),
    (
        re.compile(r"\bfelanmäl", re.IGNORECASE),
        _("texten nämner en felanmälan; se till att felet också anmäls på vanligt sätt (R3)"),
    ),
)


@hookimpl(trylast=True)
def klagomal_validate_intake(intake: Intake) -> Iterator[Finding]:
    """A note when another route may also apply (R3).  The case is still
    registered: the person decides what is a complaint (R2)."""
    for pattern, message in _OTHER_ROUTES:
        if pattern.search(intake.text):
            yield Finding.warning(message)

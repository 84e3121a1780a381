"""Who may do what: users, roles and the access check (R27).

Every operation of :class:`~klagomal.Klagomal` is taken by an acting
:class:`User` and checked here before anything is read or written.  There are
five roles:

``systemagare``
    The system owner (R24, in Exempelkommun Kommunledningsförvaltningen):
    everything, in every förvaltning, including export, import, disposal
    (gallring) and the audit log.
``forvaltningsadmin``
    A förvaltning's administrator: everything about the cases of their own
    förvaltningar, including a person's data (GDPR) and the outbox.
``chef``
    A manager: the cases of the units they head and every unit below them
    (their subtree), and the statistics of those units.
``handlaggare``
    A handler: the cases they are responsible for and the cases of their
    units; they may register feedback for any unit (R29: the one who
    first receives it registers it, whichever unit it concerns).
``lasare``
    A reader: statistics only (the report for the politicians, timeliness);
    never a case, a text or a name.

Skyddade personuppgifter are shown only to a user with ``skyddade = true``
(or the system owner) who may also read the case; everyone else sees
:data:`PROTECTED_PLACEHOLDER` in its place.

Where users come from is a hook, ``klagomal_identify``: the built-in source
reads the ``[[anvandare]]`` tables of the organisation file, and an embedding
application plugs in its own (its single sign-on, AD groups) by implementing
it.  The reserved user ``system`` (role ``systemagare``) is the identity of
scheduled jobs such as ``klagomal deliver``; a kommun that does not want it
turns it off with ``[behorighet] systemanvandare = false``.

:class:`User`, :class:`Role`, :data:`SYSTEM_USER` and :func:`parse_users` are
values the organisation file holds, so they live in :mod:`klagomal.core.users`
(the core reads the whole file); they are imported here, where they are used
and where callers have always found them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

from klagomal.core.errors import AccessDeniedError, NoUserError
from klagomal.core.i18n import _
from klagomal.core.users import SYSTEM_USER, Role, User, parse_users

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.core.model import Case, Contact
    from klagomal.core.organisation import Organisation

__all__ = [
    "PROTECTED_PLACEHOLDER",
    "SYSTEM_USER",
    "AccessPolicy",
    "Operation",
    "Role",
    "User",
    "parse_users",
]


class Operation(enum.StrEnum):
    """Every kind of operation the access check knows.  The values are the
    ``action`` of the audit log's entries."""

    REGISTER = "registrera"
    """Register new feedback (also received e-mail and reply cards)."""
    READ = "lasa"
    """Read one case: its text, contact, history, letters, attachments."""
    LIST = "lista"
    """List cases (worklists); only the cases the user may read are listed."""
    HANDLE = "handlagga"
    """Take a step in a case: forward, acknowledge, answer, describe, ..."""
    SECRECY = "sekretess"
    """Mark a case secret or lift the marking."""
    STATISTICS = "statistik"
    """Numbers only: the politicians' report, timeliness figures."""
    STAFF_REPORT = "personalrapport"
    """The staff report, which quotes praise and lists actions taken."""
    REGISTER_LIST = "diarium"
    """The public register list (OSL 5 kap.): public by law."""
    EXTRACT = "utlamnande"
    """A public extract of a case, with personal data masked."""
    PERSON_DATA = "personuppgifter"
    """Everything about one person (GDPR article 15), and anonymising them."""
    DELIVER = "utskick"
    """Deliver notices and look at or re-queue the outbox."""
    REMIND = "paminnelser"
    """Send the reminders to handlers and managers."""
    EXPORT = "exportera"
    """Export the whole database."""
    IMPORT = "importera"
    """Import an export or cases from another system."""
    DISPOSE = "gallra"
    """Dispose of data under the kommun's disposal rules."""
    AUDIT = "granska"
    """Read and verify the audit log."""
    ADMINISTER = "administrera"
    """Create or upgrade the database schema (``klagomal init``)."""
    SEARCH = "soka"
    """Search the cases' texts, names and addresses; only the cases and
    the parts of them the user may read are matched."""
    BACKDATE = "efterregistrera"
    """Date a step before the real date (``klagomal --today``), within the
    organisation file's bound (``[behorighet] efterregistrering_dagar``);
    the system owner without bound."""
    ASSIGN = "tilldela"
    """Appoint or change a case's handler (``klagomal assign``): a chef or a
    förvaltning's administrator, on the cases in their scope."""
    FLAG = "flagga"
    """Flag the person or the case for abusive or threatening treatment
    (``klagomal flag``, R28): everyone who handles the case."""
    UNFLAG = "avflagga"
    """Lift such a flag (``klagomal unflag``): a chef or a förvaltning's
    administrator, on the cases in their scope."""
    NOTE = "anteckna"
    """Write an internal note in a case (``klagomal note``)."""
    ATTACH = "bifoga"
    """Attach a document to a case (``klagomal attach``)."""
    CORRECT_CONTACT = "ratta_kontakt"
    """Correct the person's contact details (``klagomal correct-contact``,
    GDPR article 16)."""
    PHRASES = "fraser"
    """Write and retire the phrases of a förvaltning's phrase library
    (``klagomal phrases``, R23): its administrator, and the system owner.
    Reading them is part of handling cases (:meth:`AccessPolicy.handled_departments`)."""

    @property
    def label(self) -> str:
        """Swedish display label."""
        return _OPERATION_LABELS[self.value]


_OPERATION_LABELS = {
    "registrera": _("registrera synpunkter"),
    "lasa": _("läsa ärenden"),
    "lista": _("lista ärenden"),
    "handlagga": _("handlägga ärenden"),
    "sekretess": _("sekretessmarkera ärenden"),
    "statistik": _("ta fram statistik"),
    "personalrapport": _("ta fram rapporten till personalen"),
    "diarium": _("ta fram diarieförteckningen"),
    "utlamnande": _("lämna ut ärenden"),
    "personuppgifter": _("hantera en persons uppgifter (GDPR)"),
    "utskick": _("skicka och se utskick"),
    "paminnelser": _("skicka påminnelser"),
    "exportera": _("exportera databasen"),
    "importera": _("importera ärenden"),
    "gallra": _("gallra"),
    "granska": _("granska granskningsloggen"),
    "administrera": _("skapa och uppgradera databasen"),
    "efterregistrera": _("datera steg i efterhand"),
    "tilldela": _("tilldela ärenden en handläggare"),
    "anteckna": _("skriva anteckningar i ärenden"),
    "bifoga": _("bifoga handlingar till ärenden"),
    "ratta_kontakt": _("rätta kontaktuppgifter i ärenden"),
    "soka": _("söka bland ärenden"),
    "flagga": _("flagga kränkande eller hotfullt bemötande"),
    "avflagga": _("häva flaggor för kränkande eller hotfullt bemötande"),
    "fraser": _("förvalta frasbiblioteket"),
}

#: What a handler does with the cases in their scope; the other roles add to it.
_CASE_WORK = frozenset(
    {
        Operation.REGISTER,
        Operation.READ,
        Operation.LIST,
        Operation.HANDLE,
        Operation.SECRECY,
        Operation.STATISTICS,
        Operation.REGISTER_LIST,
        Operation.EXTRACT,
        Operation.SEARCH,
        Operation.FLAG,
        Operation.NOTE,
        Operation.ATTACH,
        Operation.CORRECT_CONTACT,
    }
)

#: What each role may do.  Operations on a case are further limited to the
#: cases in the user's scope (:meth:`AccessPolicy.scope`).
PERMISSIONS: Mapping[Role, frozenset[Operation]] = {
    Role.SYSTEM_OWNER: frozenset(Operation),
    Role.DEPARTMENT_ADMIN: _CASE_WORK
    | {
        Operation.STAFF_REPORT,
        Operation.PERSON_DATA,
        Operation.DELIVER,
        Operation.REMIND,
        Operation.BACKDATE,
        Operation.ASSIGN,
        Operation.UNFLAG,
        Operation.PHRASES,
    },
    Role.MANAGER: _CASE_WORK
    | {Operation.STAFF_REPORT, Operation.BACKDATE, Operation.ASSIGN, Operation.UNFLAG},
    Role.HANDLER: _CASE_WORK,
    Role.READER: frozenset({Operation.STATISTICS, Operation.REGISTER_LIST}),
}

#: Operations that concern one case and so also need the case in scope.
CASE_OPERATIONS = frozenset(
    {
        Operation.READ,
        Operation.HANDLE,
        Operation.SECRECY,
        Operation.EXTRACT,
        Operation.PERSON_DATA,
        Operation.ASSIGN,
        Operation.FLAG,
        Operation.UNFLAG,
        Operation.NOTE,
        Operation.ATTACH,
        Operation.CORRECT_CONTACT,
    }
)

#: What a user who may not see a protected contact sees in its place.
PROTECTED_PLACEHOLDER = "[skyddade personuppgifter]"


@attrs.frozen
class Scope:
    """The cases a user may read: all, or those of some förvaltningar, some
    units, or with the user as handler: by their id, or by their display
    name (cases from before handlers were users)."""

    everything: bool = False
    departments: frozenset[str] = frozenset()
    units: frozenset[str] = frozenset()
    handler: str | None = None
    handler_id: str | None = None

    def covers(self, case: Case) -> bool:
        return (
            self.everything
            or case.department in self.departments
            or case.unit in self.units
            or (case.handler is not None and case.handler in (self.handler, self.handler_id))
        )


@attrs.frozen
class AccessPolicy:
    """The access check of one organisation."""

    organisation: Organisation

    def scope(self, user: User) -> Scope:
        """The cases *user* may read."""
        if user.role is Role.SYSTEM_OWNER:
            return Scope(everything=True)
        if user.role is Role.DEPARTMENT_ADMIN:
            return Scope(departments=frozenset(user.departments))
        if user.role is Role.MANAGER:
            units = self.organisation.units
            heads = set(user.units) | {u.id for u in units.values() if u.manager == user.name}
            return Scope(
                units=frozenset(unit for head in heads for unit in self.organisation.subtree(head)),
                handler=user.name,
                handler_id=user.id,
            )
        if user.role is Role.HANDLER:
            return Scope(units=frozenset(user.units), handler=user.name, handler_id=user.id)
        return Scope()

    def handled_departments(self, user: User) -> frozenset[str] | None:
        """The förvaltningar in which *user* handles cases: every one
        (``None``) for the system owner; a förvaltning's administrator's
        own; the förvaltningar of the units a chef or a handler has in
        scope; none for a reader (who handles no case).  Whose phrase
        library a user may read (:mod:`klagomal.notices.phrases`, R23)."""
        scope = self.scope(user)
        if scope.everything:
            return None
        if not self.allows(user, Operation.HANDLE):
            return frozenset()
        units = self.organisation.units
        return scope.departments | {units[u].department for u in scope.units if u in units}

    def unit_name(self, unit: str) -> str:
        """How a member of staff knows *unit*: its name, not its id (an
        id the organisation file no longer holds, as it is)."""
        known = self.organisation.units.get(unit)
        return known.name if known is not None else unit

    def allows(self, user: User, operation: Operation) -> bool:
        """Whether *user*'s role may do *operation* at all."""
        return operation in PERMISSIONS[user.role]

    def check(self, user: User | None, operation: Operation, case: Case | None = None) -> User:
        """*user*, if they may do *operation* (on *case*); else
        :class:`AccessDeniedError` naming the user, the operation, the case
        and why."""
        reference = case.reference if case is not None else None
        if user is None:
            raise NoUserError(
                operation,
                reference,
                _(
                    "ingen användare är angiven; ange en med Klagomal(user=...), k.as_user(...) "
                    "eller miljövariabeln KLAGOMAL_USER"
                ),
            )
        if not self.allows(user, operation):
            raise AccessDeniedError(
                operation,
                reference,
                _("{user} får inte {operation}").format(user=user.describe(), operation=operation.label),
                user=user,
            )
        if case is not None and operation in CASE_OPERATIONS and not self.scope(user).covers(case):
            raise AccessDeniedError(
                operation,
                reference,
                _("ärendet hör till {unit}, som {user} inte har behörighet till").format(
                    unit=self.unit_name(case.unit), user=user.describe()
                ),
                user=user,
            )
        return user

    def check_units(self, user: User | None, operation: Operation, units: Sequence[str]) -> User:
        """*user*, if they may do *operation* for every unit in *units*
        (statistics of a förvaltning or a unit); an empty *units* means the
        whole kommun."""
        user = self.check(user, operation)
        if user.role is Role.SYSTEM_OWNER:
            return user
        if user.role is Role.READER:
            allowed: frozenset[str] | None = (
                frozenset(u for d in user.departments for u in self.organisation.subtree(d))
                if user.departments
                else None
            )
        else:
            scope = self.scope(user)
            allowed = scope.units | frozenset(
                u for d in scope.departments for u in self.organisation.subtree(d)
            )
        if allowed is None:
            return user
        outside = [u for u in units if u not in allowed] if units else ["kommunen"]
        if outside:
            raise AccessDeniedError(
                operation,
                None,
                _("{user} har inte behörighet till {what}").format(
                    user=user.describe(),
                    what=_("hela kommunen") if not units else ", ".join(map(self.unit_name, outside[:5])),
                ),
                user=user,
            )
        return user

    def sees_protected(self, user: User | None, case: Case) -> bool:
        """Whether *user* may see the protected contact of *case*."""
        if not case.protected:
            return True
        if user is None:
            return False
        return self.sees_protected_at_all(user) and self.scope(user).covers(case)

    def sees_protected_at_all(self, user: User) -> bool:
        """Whether *user* may see skyddade personuppgifter in any case."""
        return user.role is Role.SYSTEM_OWNER or (user.sees_protected and self.allows(user, Operation.READ))

    def shown_contact(self, user: User | None, case: Case) -> Contact | None:
        """The contact as *user* may see it: a protected contact becomes
        :data:`PROTECTED_PLACEHOLDER` for one who may not see it."""
        if case.contact is None or not case.protected or self.sees_protected(user, case):
            return case.contact
        return protected_stand_in(case.contact)


def protected_stand_in(contact: Contact) -> Contact:
    """What stands in for a protected contact wherever it may not be shown."""
    return attrs.evolve(
        contact,
        name=PROTECTED_PLACEHOLDER,
        email=None,
        phone=None,
        address=None,
        personnummer=None,
    )

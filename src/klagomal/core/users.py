"""Who acts in klagomal: the users and their roles, as the organisation file
names them (``[[anvandare]]``, R27).

These are values the organisation carries (:attr:`Organisation.users
<klagomal.core.organisation.Organisation.users>`), so they are read with the
rest of the file here in the core; what each role may do, and on which
cases, is the access check's (:mod:`klagomal.records.access`), which also
exports these names.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Mapping

import attrs

from klagomal.core.errors import AccessDeniedError, InvalidInputError
from klagomal.core.i18n import _
from klagomal.core.settings import TableReader

__all__ = ["HANDLING_ROLES", "SYSTEM_USER", "Role", "User", "find_user", "handler_name", "parse_users"]


class Role(enum.StrEnum):
    """The five roles of klagomal's access control."""

    SYSTEM_OWNER = "systemagare"
    DEPARTMENT_ADMIN = "forvaltningsadmin"
    MANAGER = "chef"
    HANDLER = "handlaggare"
    READER = "lasare"

    @property
    def label(self) -> str:
        """Swedish display label."""
        return {
            "systemagare": _("systemägare"),
            "forvaltningsadmin": _("förvaltningsadministratör"),
            "chef": _("chef"),
            "handlaggare": _("handläggare"),
            "lasare": _("läsare (bara statistik)"),
        }[self.value]


#: A user id, whole: ``fullmatch``, since ``$`` would also let a line break end it.
_USER_ID = re.compile(r"[A-Za-z0-9._@-]{1,200}")


@attrs.frozen
class User:
    """Someone acting in klagomal.

    :param id: the login name (``[A-Za-z0-9._@-]``), recorded in the audit log
        and as the actor of the steps they take.
    :param name: the display name; a handler's cases are those whose
        handler is this user's id, or (for cases from before handlers were
        users, and free-text handlers) this name.
    :param departments: the förvaltningar a ``forvaltningsadmin`` administers;
        for a ``lasare``, the förvaltningar whose statistics they may see
        (empty: the whole kommun's).
    :param units: the units of a ``handlaggare``, or the units a ``chef``
        heads, tied by id (besides those whose ``chef`` string is exactly
        their display name, the older way).
    :param sees_protected: may see skyddade personuppgifter in the cases
        they may read (``skyddade = true``).
    :param email: their e-mail address, for the notices klagomal sends them
        (a case assigned to them); without one, the unit's mailbox.
    """

    id: str
    name: str
    role: Role
    departments: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    sees_protected: bool = False
    email: str | None = None

    def __attrs_post_init__(self) -> None:
        if not _USER_ID.fullmatch(self.id):
            raise AccessDeniedError(
                None,
                None,
                _("'{id}' är inget giltigt användar-id (bokstäver a–z, siffror, . _ @ -)").format(id=self.id),
            )

    def describe(self) -> str:
        """``"name (id, role)"`` for messages."""
        return f"{self.name} ({self.id}, {self.role.label})"


#: The roles whose users handle cases themselves: ``acknowledge`` without a
#: handler appoints the acting user only when they have one of these.
HANDLING_ROLES = frozenset({Role.HANDLER, Role.MANAGER})


def find_user(
    users: Mapping[str, User], text: str, *, step: str | None = None, reference: str | None = None
) -> User | None:
    """The user *text* names: by id, else by display name (ignoring case
    and extra spaces); ``None`` when no user matches (a free-text name).  A
    display name that more than one user has is an
    :class:`InvalidInputError` naming the candidates.

    >>> users = {"omar.ali": User(id="omar.ali", name="Omar Ali", role=Role.HANDLER, units=("u",))}
    >>> find_user(users, "Omar Ali").id
    'omar.ali'
    >>> find_user(users, "Per Person") is None
    True
    """
    text = " ".join(text.split())
    if not text:
        return None
    if text in users:
        return users[text]
    wanted = text.casefold()
    matches = [u for u in users.values() if " ".join(u.name.split()).casefold() == wanted]
    if len(matches) > 1:
        raise InvalidInputError(
            _("flera användare heter '{name}': {candidates}; ange användar-id").format(
                name=text, candidates=", ".join(f"{u.id} ({u.name})" for u in matches)
            ),
            step=step,
            reference=reference,
        )
    return matches[0] if matches else None


def handler_name(users: Mapping[str, User], handler: str | None) -> str | None:
    """The display name of *handler*: the user's name for a user id, else
    *handler* as it is (a free-text name)."""
    if handler is None:
        return None
    user = users.get(handler)
    return user.name if user is not None else handler


#: The identity of scheduled jobs and scripts (``KLAGOMAL_USER=system``).
SYSTEM_USER = User(id="system", name="klagomal", role=Role.SYSTEM_OWNER, sees_protected=True)


def parse_users(
    tables: object, reader: TableReader, units: Collection[str], departments: Collection[str]
) -> dict[str, User]:
    """The users of the organisation file's ``[[anvandare]]`` tables, by id."""
    if tables is None:
        return {}
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        reader.fail(_("'anvandare' ska vara tabeller: [[anvandare]]"))
        return {}
    users: dict[str, User] = {}
    for index, table in enumerate(tables, 1):
        where = f"[[anvandare]] {index}"
        keys = ("id", "namn", "roll", "forvaltningar", "enheter", "skyddade", "epost")
        reader.check_keys(table, keys, where)
        user_id = reader.optional_text(table, "id", where)
        name = reader.optional_text(table, "namn", where)
        role_text = reader.optional_text(table, "roll", where)
        if not user_id or not name or not role_text:
            reader.fail(_("{where}: 'id', 'namn' och 'roll' måste anges").format(where=where))
            continue
        where = f"[[anvandare]] '{user_id}'"
        if user_id in users or user_id == SYSTEM_USER.id:
            reader.fail(_("{where}: användaren finns redan").format(where=where))
        try:
            role = Role(role_text)
        except ValueError:
            reader.fail(
                _("{where}: okänd roll '{role}' (roller: {roles})").format(
                    where=where, role=role_text, roles=", ".join(r.value for r in Role)
                )
            )
            continue
        lists: dict[str, tuple[str, ...]] = {}
        for key, known in (("forvaltningar", departments), ("enheter", units)):
            value = table.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                reader.fail(_("{where}: '{key}' ska vara en lista med id").format(where=where, key=key))
                value = []
            for item in value:
                if item not in known:
                    reader.fail(
                        _("{where}: '{key}' nämner okänt id '{id}'").format(where=where, key=key, id=item)
                    )
            lists[key] = tuple(value)
        protected = table.get("skyddade", False)
        if not isinstance(protected, bool):
            reader.fail(_("{where}: 'skyddade' ska vara true eller false").format(where=where))
            protected = False
        email = reader.email(table, "epost", where)
        if role is Role.DEPARTMENT_ADMIN and not lists["forvaltningar"]:
            reader.fail(
                _("{where}: en förvaltningsadministratör måste ha 'forvaltningar'").format(where=where)
            )
        if role is Role.HANDLER and not lists["enheter"]:
            reader.fail(_("{where}: en handläggare måste ha 'enheter'").format(where=where))
        try:
            users[user_id] = User(
                id=user_id,
                name=name,
                role=role,
                departments=lists["forvaltningar"],
                units=lists["enheter"],
                sees_protected=protected,
                email=email,
            )
        except AccessDeniedError as exc:
            reader.fail(f"{where}: {exc.reason}")
    return users

"""The organisation as data: kommun → förvaltning → avdelning → enhet.

Routing (R12), escalation (R19–R21) and a manager's worklist all need to know
who is above whom, so the organisation is a small tree of frozen values loaded
from a TOML file that the kommun's own staff edit.  The file format is
described in ``docs/organisation.md``; its keys are Swedish because the people
who maintain it are.

Every unit, at every level, has a manager (chef), so "the nearest manager"
(R14, R15) always exists.  A förvaltning additionally has a förvaltningschef
and a nämnd or styrelse, the next steps of the escalation ladder (R20, R21).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import importlib.resources
import os
import pathlib
import re
import tomllib
import types
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

import attrs

from klagomal.core.disposal_rules import DisposalRule, parse_rules
from klagomal.core.errors import OrganisationError, UnknownUnitError
from klagomal.core.i18n import _
from klagomal.core.jobs import WorkerSettings, parse_worker
from klagomal.core.privacy_notice import PRIVACY_TABLE, PrivacyNotice, parse_privacy_notice
from klagomal.core.settings import (
    PROFILE_KEYS,
    DeliverySettings,
    IntakeSettings,
    KommunProfile,
    Open311Service,
    ReportSettings,
    parse_delivery,
    parse_intake,
    parse_open311,
    parse_profile,
    parse_reports,
)
from klagomal.core.users import User, parse_users

__all__ = [
    "Department",
    "FormChoice",
    "OrgUnit",
    "Organisation",
    "UnitLevel",
    "default_organisation",
    "load_organisation",
    "parse_organisation",
]

# Ids end up in URLs, file names, database rows and command lines, where
# Swedish letters and capitals cause trouble; å, ä and ö are written a, a, o.
_ID_PATTERN = re.compile(r"[a-z0-9-]+")

_DEFAULT_FILE = "exempelkommun.toml"


class UnitLevel(enum.StrEnum):
    """The levels below the kommun.  The values are also the TOML table names."""

    FORVALTNING = "forvaltning"
    AVDELNING = "avdelning"
    ENHET = "enhet"

    @property
    def label(self) -> str:
        """Swedish display label."""
        return {
            "forvaltning": _("förvaltning"),
            "avdelning": _("avdelning"),
            "enhet": _("enhet"),
        }[self.value]


# Which levels may be nested directly in which.  An enhet may sit directly
# under a förvaltning, because small förvaltningar often have no avdelningar.
_CHILD_LEVELS: Mapping[UnitLevel, tuple[UnitLevel, ...]] = {
    UnitLevel.FORVALTNING: (UnitLevel.AVDELNING, UnitLevel.ENHET),
    UnitLevel.AVDELNING: (UnitLevel.ENHET,),
    UnitLevel.ENHET: (),
}


@attrs.frozen
class OrgUnit:
    """One unit of the organisation at any level, including a förvaltning itself."""

    id: str
    """Stable ASCII id (``[a-z0-9-]+``), e.g. ``"soc-aldre-hemtjanst-norr"``."""
    name: str
    """Swedish display name, e.g. ``"Hemtjänst Norr"``."""
    level: UnitLevel
    """Förvaltning, avdelning or enhet."""
    manager: str
    """The chef of this unit: the "närmaste chef" of R14 and R15."""
    parent: str | None
    """Id of the unit directly above; ``None`` for a förvaltning."""
    department: str
    """Id of the förvaltning the unit belongs to (its own id for a förvaltning)."""
    email: str | None = None
    """The unit's functional mailbox, if it has one."""


@attrs.frozen
class Department:
    """What only a förvaltning has: a förvaltningschef and a nämnd or styrelse."""

    id: str
    """The same id as the förvaltning's :class:`OrgUnit`."""
    name: str
    """Swedish display name, e.g. ``"Socialförvaltningen"``."""
    head: str
    """The förvaltningschef, who decides who continues at escalation level 2 (R20)."""
    board: str
    """The nämnd or styrelse, which may handle a case at escalation level 3 (R21)."""
    closed_days: tuple[dt.date, ...] = ()
    """Days the förvaltning is closed besides the calendar's own non-working
    days (klämdagar, local closures), sorted; deadlines skip them."""
    head_email: str | None = None
    """The förvaltningschef's e-mail address (``chef_epost``), for escalation
    notices at level 2 (R20); without it they go to the förvaltning's mailbox."""
    board_secretary: str | None = None
    """The nämnd's secretary (``namnd_sekreterare``), who receives escalation
    notices at level 3 (R21)."""
    board_email: str | None = None
    """The nämnd secretary's or registrar's e-mail address (``namnd_epost``)."""


# Named, typed converters: mypy's attrs plugin cannot infer the type
# parameters of the generic MappingProxyType when it is the converter itself.
def _read_only_units(units: Mapping[str, OrgUnit]) -> Mapping[str, OrgUnit]:
    return types.MappingProxyType(dict(units))


def _read_only_users(users: Mapping[str, User]) -> Mapping[str, User]:
    return types.MappingProxyType(dict(users))


def _read_only_departments(departments: Mapping[str, Department]) -> Mapping[str, Department]:
    return types.MappingProxyType(dict(departments))


def _read_only_settings(settings: Mapping[str, Mapping[str, object]]) -> Mapping[str, Mapping[str, object]]:
    return types.MappingProxyType({name: types.MappingProxyType(dict(v)) for name, v in settings.items()})


@attrs.frozen
class FormChoice:
    """One answer to the web form's "Vilken verksamhet gäller det?" in words
    a person uses (``[[webbformular.val]]``): what is posted (:attr:`id`),
    shown (:attr:`label`, under :attr:`group`), and the unit a case with
    this answer is routed to."""

    id: str
    label: str
    unit: str
    group: str | None = None


@attrs.frozen
class Organisation:
    """A kommun's whole organisation, with look-ups by unit id.

    ``units`` and ``departments`` keep file order, and every unit comes after
    its parent.  Both are read-only views.  Two organisations with the same
    content are equal wherever they were loaded from.
    """

    id: str
    """ASCII id of the kommun, e.g. ``"exempelkommun"``."""
    name: str
    """Display name of the kommun, e.g. ``"Exempelkommun"``."""
    system_owner: str
    """Id of the förvaltning that owns the system and the process (R24)."""
    # Mappings are not hashable; leaving them out of the hash keeps it
    # consistent with equality, since equal organisations have equal ids.
    units: Mapping[str, OrgUnit] = attrs.field(converter=_read_only_units, hash=False)
    """Every unit at every level, förvaltningar included, by id, in file order."""
    departments: Mapping[str, Department] = attrs.field(converter=_read_only_departments, hash=False)
    """Every förvaltning's department facts, by id, in file order."""
    source: str = attrs.field(default="<package>", eq=False)
    """Where the organisation was loaded from, so that errors can name the file."""
    closed_days: tuple[dt.date, ...] = ()
    """Days the whole kommun is closed besides the calendar's own non-working
    days (a klämdag every förvaltning takes), sorted; deadlines skip them."""
    plugin_settings: Mapping[str, Mapping[str, object]] = attrs.field(
        factory=dict, converter=_read_only_settings, hash=False
    )
    """Each plugin's own settings, from the file's ``[insticksmodul.<namn>]``
    tables, by plugin name; read them with :meth:`settings`."""
    profile: KommunProfile = attrs.field(factory=KommunProfile)
    """The letterhead: logo text, contact details and signature (``[kommun]``)."""
    delivery: DeliverySettings = attrs.field(factory=DeliverySettings)
    """How notices are delivered (``[utskick]``)."""
    intake: IntakeSettings = attrs.field(factory=IntakeSettings)
    """Where feedback that names no unit lands (``[intag]``)."""
    reports: ReportSettings = attrs.field(factory=ReportSettings)
    """Half-years and disclosure control of reports (``[rapporter]``)."""
    worker: WorkerSettings = attrs.field(factory=WorkerSettings)
    """When ``klagomal worker`` runs each job (``[arbetare]``)."""
    users: Mapping[str, User] = attrs.field(factory=dict, converter=_read_only_users, hash=False)
    """The users of the ``[[anvandare]]`` tables, by id (:mod:`klagomal.core.users`)."""
    system_user: bool = True
    """Whether the reserved user ``system`` exists (``[behorighet] systemanvandare``)."""
    backdating_days: int = 10
    """How many days before the real date a chef or a förvaltning's
    administrator may date a step (``[behorighet] efterregistrering_dagar``;
    the system owner without bound, a handler not at all)."""
    open311: tuple[Open311Service, ...] = ()
    """The services Open311 offers, when the kommun configures them
    (``[[open311.tjanst]]``, docs/open311.md); empty: each kind and dimension."""
    disposal_rules: tuple[DisposalRule, ...] = ()
    """The kommun's disposal rules (``[[gallring]]``, :mod:`klagomal.core.disposal_rules`)."""
    privacy: PrivacyNotice = attrs.field(factory=PrivacyNotice)
    """What the person's page tells of the processing (GDPR art. 15,
    ``[dataskydd]``, :mod:`klagomal.core.privacy_notice`)."""
    publication: bool = False
    """Whether handlers may publish answered cases in the kommun's public
    list (``[publicering] tillaten``, :mod:`klagomal.records.publication`); off by default."""
    form_choices: tuple[FormChoice, ...] = ()
    """What a person may answer to "Vilken verksamhet gäller det?" in the
    web form, in the file's order (``[[webbformular.val]]``), each routed to
    a unit; empty: every unit, by its name in the organisation."""
    form_acknowledgement: bool = False
    """Whether the web form asks the person who gives contact details to tick
    that they have read how their personal data is handled
    (``[webbformular] lasbekraftelse``, :mod:`klagomal.intake.webform`).  Off
    by default: the kommun handles feedback as a task in the public interest
    (GDPR art. 6.1 e), never on consent, and informs (art. 13) in the form
    whether or not it asks for the tick."""
    _children: Mapping[str, tuple[str, ...]] = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        children: dict[str, list[str]] = {unit_id: [] for unit_id in self.units}
        # Requiring each parent to come before its children rules out cycles,
        # so that path() and subtree() always end.
        seen: set[str] = set()
        for key, unit in self.units.items():
            if unit.level is UnitLevel.FORVALTNING:
                consistent = unit.parent is None and unit.department == unit.id
            else:
                parent = self.units.get(unit.parent) if unit.parent in seen else None
                consistent = parent is not None and parent.department == unit.department
            if key != unit.id or not consistent or unit.department not in self.departments:
                raise OrganisationError(
                    _(
                        "{source}: enheten '{unit}' hänger inte ihop med organisationen "
                        "(överordnad '{parent}', förvaltning '{department}')"
                    ).format(source=self.source, unit=key, parent=unit.parent, department=unit.department)
                )
            if unit.parent is not None:
                children[unit.parent].append(unit.id)
            seen.add(unit.id)
        for department_id in self.departments:
            if (
                department_id not in self.units
                or self.units[department_id].level is not UnitLevel.FORVALTNING
            ):
                raise OrganisationError(
                    _("{source}: '{unit}' har förvaltningsuppgifter men är ingen förvaltning").format(
                        source=self.source, unit=department_id
                    )
                )
        if self.intake.unit is not None and self.intake.unit not in self.units:
            raise OrganisationError(
                _("{source}: [intag]: enheten '{unit}' finns inte i organisationen").format(
                    source=self.source, unit=self.intake.unit
                )
            )
        for service in self.open311:
            if service.unit is not None and service.unit not in self.units:
                raise OrganisationError(
                    _(
                        "{source}: [[open311.tjanst]] '{code}': enheten '{unit}' finns inte i organisationen"
                    ).format(source=self.source, code=service.code, unit=service.unit)
                )
        if self.system_owner not in self.departments:
            raise OrganisationError(
                _(
                    "{source}: systemägaren (systemagare) '{unit}' är ingen förvaltning "
                    "(förvaltningar: {known})"
                ).format(source=self.source, unit=self.system_owner, known=", ".join(self.departments))
            )
        object.__setattr__(
            self, "_children", types.MappingProxyType({k: tuple(v) for k, v in children.items()})
        )

    def unit(self, unit_id: str) -> OrgUnit:
        """Return the unit with this id; raise :class:`UnknownUnitError` if there is none."""
        try:
            return self.units[unit_id]
        except KeyError:
            raise UnknownUnitError(unit_id) from None

    def settings(self, plugin: str) -> Mapping[str, object]:
        """The settings the organisation file gives *plugin* in its table
        ``[insticksmodul.<plugin>]``; empty when there is none.  The plugin
        checks them itself."""
        return self.plugin_settings.get(plugin, types.MappingProxyType({}))

    def has_unit(self, unit_id: str) -> bool:
        """Whether the organisation has a unit with this id."""
        return unit_id in self.units

    def department_of(self, unit_id: str) -> Department:
        """The förvaltning a unit belongs to (the unit's own, for a förvaltning)."""
        return self.departments[self.unit(unit_id).department]

    def nearest_manager(self, unit_id: str) -> str:
        """The närmaste chef for a case at this unit (R14, R15): the unit's own manager."""
        return self.unit(unit_id).manager

    def children(self, unit_id: str) -> list[OrgUnit]:
        """The units directly below this one, in file order."""
        self.unit(unit_id)
        return [self.units[child] for child in self._children[unit_id]]

    def subtree(self, unit_id: str) -> list[str]:
        """This unit's id followed by the ids of all units below it, depth first in file order.

        A manager's worklist covers every case in this list.
        """
        self.unit(unit_id)
        ids: list[str] = []
        pending = [unit_id]
        while pending:
            current = pending.pop()
            ids.append(current)
            # Reversed so that popping from the end visits children in file order.
            pending.extend(reversed(self._children[current]))
        return ids

    def path(self, unit_id: str) -> list[OrgUnit]:
        """The units from the förvaltning down to and including this one."""
        units = [self.unit(unit_id)]
        while (parent := units[-1].parent) is not None:
            units.append(self.units[parent])
        units.reverse()
        return units


def _fail(source: str, message: str) -> NoReturn:
    raise OrganisationError(f"{source}: {message}")


@attrs.define
class _Parser:
    """Turns the decoded TOML into units, remembering where each id was defined."""

    source: str
    units: dict[str, OrgUnit] = attrs.Factory(dict)
    departments: dict[str, Department] = attrs.Factory(dict)
    # Where each id was first seen, so that a duplicate error can name both places.
    locations: dict[str, str] = attrs.Factory(dict)

    def fail(self, message: str) -> NoReturn:
        _fail(self.source, message)

    def check_keys(self, table: Mapping[str, object], allowed: Iterable[str], where: str) -> None:
        # A misspelt optional key would otherwise be dropped without a word.
        allowed = sorted(allowed)
        for key in table:
            if key not in allowed:
                self.fail(
                    _("{where}: okänd nyckel '{key}' (tillåtna nycklar: {allowed})").format(
                        where=where, key=key, allowed=", ".join(allowed)
                    )
                )

    def optional_text(self, table: Mapping[str, object], key: str, where: str) -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(
                _("{where}: '{key}' ska vara en text inom citattecken, inte {value}").format(
                    where=where, key=key, value=value
                )
            )
        value = value.strip()
        if not value:
            self.fail(_("{where}: '{key}' är tom").format(where=where, key=key))
        return value

    def number(
        self, table: Mapping[str, object], key: str, where: str, low: float, high: float
    ) -> float | None:
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            self.fail(
                _("{where}: '{key}' ska vara ett tal från {low} till {high}, inte {value!r}").format(
                    where=where, key=key, low=low, high=high, value=value
                )
            )
        return value

    def email(self, table: Mapping[str, object], key: str, where: str) -> str | None:
        email = self.optional_text(table, key, where)
        if email is not None and ("@" not in email or any(c.isspace() for c in email)):
            self.fail(
                _("{where}: '{key}' är ingen e-postadress: '{email}'").format(
                    where=where, key=key, email=email
                )
            )
        return email

    def text(self, table: Mapping[str, object], key: str, where: str) -> str:
        value = self.optional_text(table, key, where)
        if value is None:
            self.fail(_("{where}: obligatorisk nyckel '{key}' saknas").format(where=where, key=key))
        return value

    def dates(self, table: Mapping[str, object], key: str, where: str) -> tuple[dt.date, ...]:
        """A list of dates, written as TOML dates (2026-05-15) or as text
        ("2026-05-15"); sorted, without duplicates."""
        value = table.get(key, [])
        if not isinstance(value, list):
            self.fail(
                _("{where}: '{key}' ska vara en lista av datum, till exempel [2026-05-15]").format(
                    where=where, key=key
                )
            )
        days: set[dt.date] = set()
        for item in value:
            day: dt.date | None = None
            if isinstance(item, dt.date) and not isinstance(item, dt.datetime):
                day = item
            elif isinstance(item, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", item.strip()):
                try:
                    day = dt.date.fromisoformat(item.strip())
                except ValueError:
                    day = None
            if day is None:
                self.fail(
                    _(
                        "{where}: '{key}' innehåller {value!r}, som inte är ett datum i formen ÅÅÅÅ-MM-DD"
                    ).format(where=where, key=key, value=item)
                )
            days.add(day)
        return tuple(sorted(days))

    def identifier(self, table: Mapping[str, object], where: str) -> str:
        value = self.text(table, "id", where)
        if not _ID_PATTERN.fullmatch(value):
            self.fail(
                _(
                    "{where}: ogiltigt id '{unit}': bara små bokstäver a–z, siffror och '-' är tillåtna "
                    "(skriv å, ä, ö som a, a, o)"
                ).format(where=where, unit=value)
            )
        return value

    def tables(
        self, container: Mapping[str, object], key: str, header: str, where: str
    ) -> list[dict[str, object]]:
        value = container.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.fail(
                _("{where}: '{key}' ska vara en lista av tabeller, skrivna [[{header}]]").format(
                    where=where, key=key, header=header
                )
            )
        return value

    def unit(
        self,
        table: Mapping[str, object],
        level: UnitLevel,
        header: str,
        index: int,
        parent: OrgUnit | None,
    ) -> None:
        location = (
            _("[[{header}]] nr {index} under '{parent}'").format(header=header, index=index, parent=parent.id)
            if parent is not None
            else _("[[{header}]] nr {index}").format(header=header, index=index)
        )
        # Name the unit by its id when it has a usable one: that is what the
        # person who edits the file searches for.
        raw_id = table.get("id")
        if isinstance(raw_id, str) and raw_id.strip():
            where = _("{level} '{unit}'").format(level=level.label, unit=raw_id.strip())
        else:
            where = location

        child_levels = _CHILD_LEVELS[level]
        allowed = {"id", "namn", "chef", "epost", *child_levels}
        if level is UnitLevel.FORVALTNING:
            allowed.update(("namnd", "stangda_dagar", "chef_epost", "namnd_epost", "namnd_sekreterare"))
        self.check_keys(table, allowed, where)

        unit_id = self.identifier(table, where)
        if unit_id in self.locations:
            self.fail(
                _("id '{unit}' förekommer två gånger: {first} och {second}").format(
                    unit=unit_id, first=self.locations[unit_id], second=location
                )
            )
        self.locations[unit_id] = location

        name = self.text(table, "namn", where)
        manager = self.text(table, "chef", where)
        email = self.email(table, "epost", where)

        unit = OrgUnit(
            id=unit_id,
            name=name,
            level=level,
            manager=manager,
            parent=parent.id if parent is not None else None,
            department=parent.department if parent is not None else unit_id,
            email=email,
        )
        self.units[unit_id] = unit
        if level is UnitLevel.FORVALTNING:
            # The förvaltning's chef is its förvaltningschef: one key, not two
            # that could disagree.
            board = self.text(table, "namnd", where)
            self.departments[unit_id] = Department(
                id=unit_id,
                name=name,
                head=manager,
                board=board,
                closed_days=self.dates(table, "stangda_dagar", where),
                head_email=self.email(table, "chef_epost", where),
                board_secretary=self.optional_text(table, "namnd_sekreterare", where),
                board_email=self.email(table, "namnd_epost", where),
            )

        for child_level in child_levels:
            child_header = f"{header}.{child_level}"
            for child_index, child in enumerate(self.tables(table, child_level, child_header, where), 1):
                self.unit(child, child_level, child_header, child_index, unit)


def _table(
    parser: _Parser, document: Mapping[str, object], name: str, keys: tuple[str, ...]
) -> dict[str, Any]:
    """The optional table ``[name]`` of the file, with only *keys* in it; empty if absent."""
    table = document.get(name, {})
    if not isinstance(table, dict):
        _fail(parser.source, _("[{name}] ska vara en tabell").format(name=name))
    parser.check_keys(table, keys, f"[{name}]")
    return table


def _flag(source: str, table: Mapping[str, object], name: str, key: str, *, default: bool) -> bool:
    """The true-or-false *key* of the table ``[name]``, *default* if absent."""
    value = table.get(key, default)
    if not isinstance(value, bool):
        _fail(source, _("[{name}]: '{key}' ska vara true eller false").format(name=name, key=key))
    return value


_CHOICE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _form_choices(parser: _Parser, tables: object, source: str) -> tuple[FormChoice, ...]:
    """The ``[[webbformular.val]]`` tables: each an ``id``, a ``namn`` and
    an ``enhet`` the organisation has, and optionally a ``grupp``."""
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        _fail(source, _("'webbformular.val' ska vara tabeller: [[webbformular.val]]"))
    choices: list[FormChoice] = []
    for number, table in enumerate(tables, start=1):
        where = f"[[webbformular.val]] {number}"
        parser.check_keys(table, ("id", "namn", "grupp", "enhet"), where)
        values: dict[str, str] = {}
        for key in ("id", "namn", "enhet", "grupp"):
            value = table.get(key)
            if value is None and key == "grupp":
                continue
            if not isinstance(value, str) or not value.strip() or "\n" in value:
                _fail(source, _("{where}: '{key}' ska vara en text på en rad").format(where=where, key=key))
            values[key] = value.strip()
        if not _CHOICE_ID.fullmatch(values["id"]):
            _fail(
                source,
                _(
                    "{where}: 'id' ska vara gemena a–z, siffror och bindestreck, som 'hemtjanst': '{id}'"
                ).format(where=where, id=values["id"]),
            )
        if any(c.id == values["id"] for c in choices):
            _fail(
                source,
                _("{where}: det finns redan ett val med 'id' '{id}'").format(where=where, id=values["id"]),
            )
        if values["enhet"] not in parser.units:
            _fail(
                source,
                _("{where}: enheten '{unit}' finns inte i organisationen").format(
                    where=where, unit=values["enhet"]
                ),
            )
        choices.append(FormChoice(values["id"], values["namn"], values["enhet"], values.get("grupp")))
    return tuple(choices)


def parse_organisation(text: str, source: str = "<string>") -> Organisation:
    """Build an :class:`Organisation` from the text of an organisation TOML file.

    *source* names the text in error messages, normally the file's path.
    Raises :class:`OrganisationError` naming *source*, the unit or table and
    the reason when the text is not a valid organisation.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The decoder's message carries the line and column.
        _fail(source, _("ogiltig TOML: {reason}").format(reason=exc))

    parser = _Parser(source)
    parser.check_keys(
        document,
        (
            "kommun",
            "forvaltning",
            "insticksmodul",
            "utskick",
            "intag",
            "rapporter",
            "arbetare",
            "anvandare",
            "behorighet",
            "gallring",
            "open311",
            "publicering",
            "webbformular",
            PRIVACY_TABLE,
        ),
        _("filen"),
    )
    plugin_settings = document.get("insticksmodul", {})
    if not isinstance(plugin_settings, dict) or not all(
        isinstance(v, dict) for v in plugin_settings.values()
    ):
        _fail(
            source,
            _("[insticksmodul] ska bara innehålla tabeller, en per insticksmodul: [insticksmodul.namn]"),
        )
    kommun = document.get("kommun")
    if not isinstance(kommun, dict):
        _fail(source, _("tabellen [kommun] saknas"))
    parser.check_keys(kommun, ("id", "namn", "systemagare", "stangda_dagar", *PROFILE_KEYS), "[kommun]")
    kommun_id = parser.identifier(kommun, "[kommun]")
    kommun_name = parser.text(kommun, "namn", "[kommun]")
    system_owner = parser.text(kommun, "systemagare", "[kommun]")
    closed_days = parser.dates(kommun, "stangda_dagar", "[kommun]")
    profile = parse_profile(kommun, parser)
    delivery = parse_delivery(document.get("utskick"), parser)
    intake = parse_intake(document.get("intag"), parser)
    reports = parse_reports(document.get("rapporter"), parser)
    worker = parse_worker(document.get("arbetare"), parser)
    open311 = parse_open311(document.get("open311"), parser)

    forvaltningar = parser.tables(document, "forvaltning", "forvaltning", _("filen"))
    if not forvaltningar:
        _fail(source, _("filen har ingen förvaltning; lägg till minst en [[forvaltning]]"))
    for index, table in enumerate(forvaltningar, 1):
        parser.unit(table, UnitLevel.FORVALTNING, "forvaltning", index, None)

    users = parse_users(document.get("anvandare"), parser, parser.units, parser.departments)
    access = _table(parser, document, "behorighet", ("systemanvandare", "efterregistrering_dagar"))
    system_user = _flag(source, access, "behorighet", "systemanvandare", default=True)
    backdating_days = access.get("efterregistrering_dagar", 10)
    if (
        isinstance(backdating_days, bool)
        or not isinstance(backdating_days, int)
        or not 0 <= backdating_days <= 366
    ):
        _fail(source, _("[behorighet]: 'efterregistrering_dagar' ska vara ett heltal från 0 till 366"))

    publication = _flag(
        source,
        _table(parser, document, "publicering", ("tillaten",)),
        "publicering",
        "tillaten",
        default=False,
    )
    form = _table(parser, document, "webbformular", ("lasbekraftelse", "val"))
    form_acknowledgement = _flag(source, form, "webbformular", "lasbekraftelse", default=False)
    form_choices = _form_choices(parser, form.get("val", []), source)

    disposal_rules = parse_rules(parser, document.get("gallring"), "[[gallring]]", parser.departments)
    privacy = parse_privacy_notice(document.get(PRIVACY_TABLE), parser)

    # Organisation itself checks that system_owner is one of the förvaltningar.
    return Organisation(
        disposal_rules=disposal_rules,
        privacy=privacy,
        users=users,
        system_user=system_user,
        backdating_days=backdating_days,
        publication=publication,
        form_acknowledgement=form_acknowledgement,
        form_choices=form_choices,
        id=kommun_id,
        name=kommun_name,
        system_owner=system_owner,
        units=parser.units,
        departments=parser.departments,
        source=source,
        closed_days=closed_days,
        plugin_settings=plugin_settings,
        profile=profile,
        delivery=delivery,
        intake=intake,
        reports=reports,
        worker=worker,
        open311=open311,
    )


def load_organisation(path: str | os.PathLike[str] | None = None) -> Organisation:
    """Load an organisation file; without *path*, the example kommun shipped with klagomal."""
    if path is None:
        resource = importlib.resources.files("klagomal") / "data" / _DEFAULT_FILE
        return parse_organisation(resource.read_text(encoding="utf-8"), source="<package>")
    source = os.fspath(path)
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        _fail(source, _("organisationsfilen finns inte"))
    except UnicodeDecodeError as exc:
        _fail(source, _("organisationsfilen är inte sparad som UTF-8: {reason}").format(reason=exc))
    except OSError as exc:
        _fail(source, _("organisationsfilen kan inte läsas: {reason}").format(reason=exc.strerror or exc))
    return parse_organisation(text, source=source)


@functools.cache
def default_organisation() -> Organisation:
    """The example kommun shipped with klagomal, loaded once."""
    return load_organisation()

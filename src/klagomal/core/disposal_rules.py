"""The kommun's disposal rules (gallring, R27): what its decisions say, as
the organisation file's ``[[gallring]]`` tables and plugins give them.

A rule is a value of the organisation (:attr:`Organisation.disposal_rules
<klagomal.core.organisation.Organisation.disposal_rules>`), read with the
rest of the file, so the rule, its parsing (:func:`parse_rules`) and the
check that rules do not contradict each other (:func:`check_rules`) live
here in the core.  Planning and performing a disposal, which read and
rewrite the stored cases, are :mod:`klagomal.records.disposal`'s, which also
exports these names.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Protocol

import attrs

from klagomal.core.errors import ConfigurationError
from klagomal.core.i18n import _
from klagomal.core.model import Kind
from klagomal.core.settings import TableReader

__all__ = [
    "DECISION_LENGTH",
    "RULE_KEYS",
    "Action",
    "DisposalRule",
    "RuleReader",
    "check_rules",
    "parse_rules",
]

# Rule ids end up in the disposal log and on command lines, like unit ids.
_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")
_ID_LENGTH = 80  # disposals.rule
#: The most characters of a rule's decision (the column ``disposals.decision``).
DECISION_LENGTH = 200
_MAX_MONTHS = 1200

#: The keys of a ``[[gallring]]`` table.
RULE_KEYS = ("id", "beslut", "atgard", "efter_manader", "typer", "forvaltningar", "allvarliga")


class Action(enum.StrEnum):
    """What a disposal rule does to the cases in its scope."""

    PSEUDONYMISE_CONTACT = "pseudonymisera_kontakt"
    REMOVE_TEXTS = "ta_bort_texter"
    ANONYMISE = "anonymisera"
    """Both: the contact and the texts."""
    KEEP = "bevara"
    """An archive decision to keep; blocks every removal in its scope."""

    @property
    def label(self) -> str:
        """Swedish display label."""
        return {
            "pseudonymisera_kontakt": _("Pseudonymisera kontaktuppgifter"),
            "ta_bort_texter": _("Ta bort texter"),
            "anonymisera": _("Anonymisera"),
            "bevara": _("Bevara"),
        }[self.value]

    @property
    def contact(self) -> bool:
        """Whether the action replaces the contact."""
        return self in (Action.PSEUDONYMISE_CONTACT, Action.ANONYMISE)

    @property
    def texts(self) -> bool:
        """Whether the action replaces the texts."""
        return self in (Action.REMOVE_TEXTS, Action.ANONYMISE)


def _kinds(value: Iterable[Kind | str] | None) -> frozenset[Kind] | None:
    return None if value is None else frozenset(Kind(v) for v in value)


def _departments(value: Iterable[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(value)


@attrs.frozen
class DisposalRule:
    """One rule of the kommun's disposal decision.

    :param id: stable ASCII id (``[a-z0-9-]``), logged with every disposal.
    :param decision: the kommun's decision the rule rests on, such as
        ``"KS 2025-11-12 § 45, dnr KS 2025/123"``; required (R27).
    :param action: what the rule does.
    :param months: calendar months after the case was closed; ignored for
        :attr:`Action.KEEP`.
    :param kinds: the kinds it covers; ``None`` for all.
    :param departments: the förvaltningar it covers; ``None`` for all.
    :param serious: only serious (``True``) or only other (``False``)
        complaints; ``None`` for both.
    :param source: where the rule came from (the organisation file or a
        plugin's name), for error messages.
    """

    id: str
    decision: str
    action: Action = attrs.field(converter=Action)
    months: int = 0
    kinds: frozenset[Kind] | None = attrs.field(default=None, converter=_kinds)
    departments: frozenset[str] | None = attrs.field(default=None, converter=_departments)
    serious: bool | None = None
    source: str = attrs.field(default="", eq=False)

    def __attrs_post_init__(self) -> None:
        problem: str | None = None
        if not isinstance(self.id, str) or not _ID_PATTERN.fullmatch(self.id) or len(self.id) > _ID_LENGTH:
            problem = _("ogiltigt id: bara små bokstäver a–z, siffror och '-', högst {n} tecken").format(
                n=_ID_LENGTH
            )
        elif not isinstance(self.decision, str) or not self.decision.strip():
            problem = _("beslutet som regeln vilar på saknas")
        elif len(self.decision) > DECISION_LENGTH:
            problem = _("beslutet är längre än {n} tecken").format(n=DECISION_LENGTH)
        elif isinstance(self.months, bool) or not isinstance(self.months, int) or self.months < 0:
            problem = _("antalet månader ska vara ett heltal, 0 eller större, inte {value!r}").format(
                value=self.months
            )
        elif self.kinds is not None and not self.kinds:
            problem = _("listan över typer är tom")
        elif self.departments is not None and not self.departments:
            problem = _("listan över förvaltningar är tom")
        elif self.serious is not None and not isinstance(self.serious, bool):
            problem = _("'allvarliga' ska vara true, false eller utelämnas")
        if problem is not None:
            raise ConfigurationError(
                _("{rule}: {problem}").format(rule=_name(self), problem=problem),
            )

    @property
    def label(self) -> str:
        """A Swedish line describing the rule, for listings."""
        months = "" if self.action is Action.KEEP else _(" efter {n} månader").format(n=self.months)
        return _("{id}: {action}{months} ({scope}), enligt {decision}").format(
            id=self.id,
            action=self.action.label.lower(),
            months=months,
            scope=_scope_text(self.kinds, self.departments, self.serious),
            decision=self.decision,
        )

    def overlaps(self, other: DisposalRule) -> bool:
        """Whether some case is in both rules' scopes."""
        return (
            (self.kinds is None or other.kinds is None or bool(self.kinds & other.kinds))
            and (
                self.departments is None
                or other.departments is None
                or bool(self.departments & other.departments)
            )
            and (self.serious is None or other.serious is None or self.serious == other.serious)
        )

    def covers(self, kind: Kind, department: str, serious: bool) -> bool:
        """Whether a case of this kind, förvaltning and seriousness is in the rule's scope."""
        return (
            (self.kinds is None or kind in self.kinds)
            and (self.departments is None or department in self.departments)
            and (self.serious is None or self.serious == serious)
        )


def _name(rule: DisposalRule) -> str:
    """A rule as error messages name it: its id and where it came from."""
    if rule.source:
        return _("gallringsregeln '{id}' ({source})").format(id=rule.id, source=rule.source)
    return _("gallringsregeln '{id}'").format(id=rule.id)


def _capitalised(text: str) -> str:
    """*text* with its first letter upper case, and nothing else changed."""
    return text[:1].upper() + text[1:]


def _scope_text(
    kinds: Collection[Kind] | None, departments: Collection[str] | None, serious: bool | None
) -> str:
    """A scope in Swedish, such as ``klagomål; förvaltning soc; bara allvarliga``."""
    parts = [
        _("alla typer") if kinds is None else ", ".join(kind.label.lower() for kind in Kind if kind in kinds),
        _("alla förvaltningar")
        if departments is None
        else _("förvaltning {ids}").format(ids=", ".join(sorted(departments))),
        {None: _("allvarliga och andra"), True: _("bara allvarliga"), False: _("bara icke allvarliga")}[
            serious
        ],
    ]
    return "; ".join(parts)


# -- parsing ------------------------------------------------------------------


class RuleReader(TableReader, Protocol):
    """The organisation file's parser (``klagomal.core.organisation._Parser``):
    the table reader the settings use, and the file it reads."""

    @property
    def source(self) -> str: ...


def _text_list(reader: RuleReader, table: Mapping[str, object], key: str, where: str) -> list[str] | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        reader.fail(
            _("{where}: '{key}' ska vara en lista av texter, till exempel {example}").format(
                where=where, key=key, example='["klagomal", "berom"]' if key == "typer" else '["soc", "bou"]'
            )
        )
    if not value:
        reader.fail(
            _("{where}: '{key}' är tom; utelämna nyckeln för att regeln ska gälla alla").format(
                where=where, key=key
            )
        )
    return [item.strip() for item in value]


def parse_rules(
    reader: RuleReader,
    tables: object,
    where: str = "[[gallring]]",
    organisation_departments: Collection[str] = (),
) -> tuple[DisposalRule, ...]:
    """The disposal rules of the organisation file's ``[[gallring]]`` tables::

        [[gallring]]
        id = "kontakter-24"
        beslut = "KS 2025-11-12 § 45, dnr KS 2025/123"
        atgard = "pseudonymisera_kontakt"   # ta_bort_texter, anonymisera or bevara
        efter_manader = 24                  # after the case was closed
        typer = ["klagomal", "forslag"]     # optional: all kinds
        forvaltningar = ["soc"]             # optional: every förvaltning
        allvarliga = false                  # optional: serious or not

    :param reader: the organisation file's parser; every error is its error,
        naming the file, the rule and the key.
    :param tables: the value of the key ``gallring`` (``None`` when absent).
    :param where: how the tables are named in messages.
    :param organisation_departments: the ids of the förvaltningar, which
        ``forvaltningar`` must name.

    Rules are not checked against each other here: call :func:`check_rules`
    on every rule, the file's and the plugins', together.
    """
    if tables is None:
        return ()
    if not isinstance(tables, list) or not all(isinstance(item, Mapping) for item in tables):
        reader.fail(_("{where} ska vara en lista av tabeller, skrivna [[gallring]]").format(where=where))
    rules: list[DisposalRule] = []
    for index, table in enumerate(tables, 1):
        raw_id = table.get("id")
        if isinstance(raw_id, str) and raw_id.strip():
            here = _("{where} '{id}'").format(where=where, id=raw_id.strip())
        else:
            here = _("{where} nr {index}").format(where=where, index=index)
        reader.check_keys(table, RULE_KEYS, here)
        rule_id = reader.optional_text(table, "id", here)
        if rule_id is None:
            reader.fail(_("{where}: obligatorisk nyckel 'id' saknas").format(where=here))
        if not _ID_PATTERN.fullmatch(rule_id) or len(rule_id) > _ID_LENGTH:
            reader.fail(
                _(
                    "{where}: ogiltigt id '{id}': bara små bokstäver a–z, siffror och '-' är tillåtna "
                    "(skriv å, ä, ö som a, a, o), högst {n} tecken"
                ).format(where=here, id=rule_id, n=_ID_LENGTH)
            )
        decision = reader.optional_text(table, "beslut", here)
        if decision is None:
            reader.fail(
                _(
                    "{where}: obligatorisk nyckel 'beslut' saknas: gallring får bara ske enligt ett "
                    'beslut, till exempel "KS 2025-11-12 § 45, dnr KS 2025/123"'
                ).format(where=here)
            )
        if len(decision) > DECISION_LENGTH:
            reader.fail(_("{where}: 'beslut' är längre än {n} tecken").format(where=here, n=DECISION_LENGTH))
        action_text = reader.optional_text(table, "atgard", here)
        if action_text is None:
            reader.fail(_("{where}: obligatorisk nyckel 'atgard' saknas").format(where=here))
        if action_text not in {a.value for a in Action}:
            reader.fail(
                _("{where}: 'atgard' ska vara {allowed}, inte '{value}'").format(
                    where=here, allowed=", ".join(a.value for a in Action), value=action_text
                )
            )
        action = Action(action_text)
        months = reader.number(table, "efter_manader", here, 0, _MAX_MONTHS)
        if months is not None and not isinstance(months, int):
            reader.fail(_("{where}: 'efter_manader' ska vara ett heltal").format(where=here))
        if months is None and action is not Action.KEEP:
            reader.fail(
                _("{where}: obligatorisk nyckel 'efter_manader' saknas (månader efter avslut)").format(
                    where=here
                )
            )
        kinds = _text_list(reader, table, "typer", here)
        for kind in kinds or ():
            if kind not in {k.value for k in Kind}:
                reader.fail(
                    _("{where}: 'typer' innehåller '{kind}'; giltiga typer är {allowed}").format(
                        where=here, kind=kind, allowed=", ".join(k.value for k in Kind)
                    )
                )
        departments = _text_list(reader, table, "forvaltningar", here)
        for department in departments or ():
            if department not in organisation_departments:
                reader.fail(
                    _(
                        "{where}: 'forvaltningar' innehåller '{department}', som inte är en förvaltning "
                        "(förvaltningar: {known})"
                    ).format(where=here, department=department, known=", ".join(organisation_departments))
                )
        serious = table.get("allvarliga")
        if serious is not None and not isinstance(serious, bool):
            reader.fail(
                _("{where}: 'allvarliga' ska vara true eller false, inte {value!r}").format(
                    where=here, value=serious
                )
            )
        rules.append(
            DisposalRule(
                id=rule_id,
                decision=decision,
                action=action,
                months=int(months or 0),
                kinds=None if kinds is None else frozenset(Kind(k) for k in kinds),
                departments=None if departments is None else frozenset(departments),
                serious=serious,
                source=reader.source,
            )
        )
    return tuple(rules)


# -- contradictions -----------------------------------------------------------


def _common_scope(a: DisposalRule, b: DisposalRule) -> str:
    kinds = a.kinds if b.kinds is None else b.kinds if a.kinds is None else a.kinds & b.kinds
    departments = (
        a.departments
        if b.departments is None
        else b.departments
        if a.departments is None
        else a.departments & b.departments
    )
    serious = a.serious if a.serious is not None else b.serious
    return _scope_text(kinds, departments, serious)


def check_rules(rules: Sequence[DisposalRule], *, departments: Collection[str] | None = None) -> None:
    """Refuse rules that contradict each other, with a Swedish
    :class:`ConfigurationError` naming both rules, where they come from and why:

    * two rules with the same id;
    * two rules with the same action for overlapping scopes but after a
      different number of months: which applies would be a matter of chance;
    * a ``bevara`` rule whose scope overlaps a removing rule's: the kommun
      must narrow one of them (for example with ``allvarliga = false``).

    An ``anonymisera`` rule and a ``pseudonymisera_kontakt`` or
    ``ta_bort_texter`` rule after different times are no contradiction: the
    earlier one is simply done first.  Scopes overlap when their kinds,
    förvaltningar and seriousness all intersect.

    With *departments*, rules naming another förvaltning are refused too
    (a plugin's rules; the file's are checked by :func:`parse_rules`).
    """
    seen: dict[str, DisposalRule] = {}
    for rule in rules:
        if rule.id in seen:
            raise ConfigurationError(
                _(
                    "Två gallringsregler har samma id '{id}': en från {first} och en från {second}. "
                    "Ge dem olika id."
                ).format(id=rule.id, first=seen[rule.id].source or "?", second=rule.source or "?")
            )
        seen[rule.id] = rule
        if departments is not None:
            unknown = sorted((rule.departments or frozenset()) - set(departments))
            if unknown:
                raise ConfigurationError(
                    _(
                        "{rule} gäller förvaltningen '{department}', som inte finns (förvaltningar: {known})"
                    ).format(rule=_name(rule), department=unknown[0], known=", ".join(departments))
                )
    for i, a in enumerate(rules):
        for b in rules[i + 1 :]:
            if not a.overlaps(b):
                continue
            if a.action is b.action and a.action is not Action.KEEP and a.months != b.months:
                raise ConfigurationError(
                    _(
                        "{a} och {b} ska båda {action} i samma ärenden ({scope}) men efter olika tid, "
                        "{a_months} och {b_months} månader, så det är oklart vilken som gäller. "
                        "Avgränsa en av dem (typer, forvaltningar, allvarliga) eller ange samma tid."
                    ).format(
                        a=_capitalised(_name(a)),
                        b=_name(b),
                        action=a.action.label.lower(),
                        scope=_common_scope(a, b),
                        a_months=a.months,
                        b_months=b.months,
                    )
                )
            if (a.action is Action.KEEP) != (b.action is Action.KEEP):
                keep, other = (a, b) if a.action is Action.KEEP else (b, a)
                raise ConfigurationError(
                    _(
                        "{keep} bevarar ärenden som {other} ska {action} ({scope}); ett beslut att "
                        "bevara går före gallring. Avgränsa en av dem så att de inte gäller samma "
                        "ärenden, till exempel med allvarliga = false, typer eller forvaltningar."
                    ).format(
                        keep=_capitalised(_name(keep)),
                        other=_name(other),
                        action=other.action.label.lower(),
                        scope=_common_scope(a, b),
                    )
                )

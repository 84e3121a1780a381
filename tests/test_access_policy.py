"""The access check of :mod:`klagomal.records.access`, without a database (R27).

Each role's scope, what it may do, and every refusal with its whole Swedish
message: a member of staff who is refused must read who they are, what
they tried and why.  The same rules through a :class:`~klagomal.Klagomal`,
with the audit log, are in ``test_access.py``; these are the module's own
tests in the mutation run (``tox -e mutation``, docs/testing.md).
"""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import stored
from klagomal import Case, Contact
from klagomal.cases import lifecycle as lc
from klagomal.core.errors import AccessDeniedError, NoUserError
from klagomal.core.organisation import default_organisation
from klagomal.hooks.builtin import BUILTIN_CHANNELS, BUILTIN_DIMENSIONS
from klagomal.records.access import (
    CASE_OPERATIONS,
    PERMISSIONS,
    PROTECTED_PLACEHOLDER,
    AccessPolicy,
    Operation,
    Role,
    Scope,
    User,
    protected_stand_in,
)

ORG = default_organisation()
POLICY = AccessPolicy(ORG)
DAY = dt.date(2026, 3, 2)
CTX = lc.Context(
    today=DAY,
    organisation=ORG,
    channels={c.id: c for c in BUILTIN_CHANNELS},
    dimensions={d.id: d for d in BUILTIN_DIMENSIONS},
)

OWNER = User("agare", "Ägaren", Role.SYSTEM_OWNER)
SOC_ADMIN = User("socadmin", "Sofia Admin", Role.DEPARTMENT_ADMIN, departments=("soc",), sees_protected=True)
#: Heads Äldreomsorg by name in the organisation file, and Förskolan Ekorren by id.
BIRGITTA = User("birgitta", "Avdelningschef Birgitta Åberg", Role.MANAGER, units=("bou-forskola-ekorren",))
HANNA = User("hanna", "Hanna Handläggare", Role.HANDLER, units=("kof-bibliotek",), sees_protected=True)
READER = User("politiker", "Petra Politiker", Role.READER)
SOC_READER = User("socpolitiker", "Sven Politiker", Role.READER, departments=("soc", "kof"))

NORR = "soc-aldre-hemtjanst-norr"
PROTECTED = Contact(
    name="Eva",
    email="eva@example.se",
    phone="070",
    address="Gatan 1",
    personnummer="19121212-1212",
    protected=True,
)


def case_in(unit: str, *, handler: str | None = None, contact: Contact | None = None) -> Case:
    data = lc.register(CTX, kind="klagomal", channel="telefon", unit=unit, text="x", contact=contact)
    case = stored(None, data, reference="2026-00007", day=DAY)
    if handler is None:
        return case
    return stored(case, lc.acknowledge(case, CTX, handler, DAY), reference="2026-00007", day=DAY)


# -- scopes ---------------------------------------------------------------------------


def test_each_roles_scope() -> None:
    assert POLICY.scope(OWNER) == Scope(everything=True)
    assert POLICY.scope(SOC_ADMIN) == Scope(departments=frozenset({"soc"}))
    assert POLICY.scope(BIRGITTA) == Scope(
        units=frozenset(
            {
                "soc-aldre",
                "soc-aldre-hemtjanst-norr",
                "soc-aldre-hemtjanst-soder",
                "soc-aldre-solgarden",
                "bou-forskola-ekorren",
            }
        ),
        handler="Avdelningschef Birgitta Åberg",
        handler_id="birgitta",
    )
    assert POLICY.scope(HANNA) == Scope(
        units=frozenset({"kof-bibliotek"}), handler="Hanna Handläggare", handler_id="hanna"
    )
    assert POLICY.scope(READER) == Scope()
    assert POLICY.scope(SOC_READER) == Scope()


def test_a_scope_covers_a_case_by_forvaltning_unit_handler_name_or_handler_id() -> None:
    norr, bibliotek = case_in(NORR), case_in("kof-bibliotek")
    assert Scope(everything=True).covers(bibliotek)
    assert Scope(departments=frozenset({"soc"})).covers(norr)
    assert not Scope(departments=frozenset({"soc"})).covers(bibliotek)
    assert Scope(units=frozenset({NORR})).covers(norr)
    assert not Scope(units=frozenset({"soc-aldre"})).covers(norr)  # a unit, not its subtree
    assert Scope(handler="Hanna H").covers(case_in(NORR, handler="Hanna H"))
    assert Scope(handler_id="hanna").covers(case_in(NORR, handler="hanna"))
    assert not Scope(handler="Hanna H", handler_id="hanna").covers(case_in(NORR, handler="Olle"))
    assert not Scope().covers(norr)
    assert not Scope(handler=None).covers(norr)  # a case without a handler is not everybody's


def test_the_forvaltningar_each_role_handles_cases_in() -> None:
    assert POLICY.handled_departments(OWNER) is None
    assert POLICY.handled_departments(SOC_ADMIN) == frozenset({"soc"})
    assert POLICY.handled_departments(BIRGITTA) == frozenset({"soc", "bou"})
    assert POLICY.handled_departments(HANNA) == frozenset({"kof"})
    assert POLICY.handled_departments(READER) == frozenset()
    gone = User("gammal", "Gammal", Role.HANDLER, units=("borttagen-enhet", "kof-badhus"))
    assert POLICY.handled_departments(gone) == frozenset({"kof"})


def test_a_unit_is_named_as_staff_know_it() -> None:
    assert POLICY.unit_name(NORR) == "Hemtjänst Norr"
    assert POLICY.unit_name("borttagen-enhet") == "borttagen-enhet"


# -- what each role may do ----------------------------------------------------------------


def test_what_each_role_may_do() -> None:
    assert all(POLICY.allows(OWNER, op) for op in Operation)
    assert [op for op in Operation if POLICY.allows(READER, op)] == [
        Operation.STATISTICS,
        Operation.REGISTER_LIST,
    ]
    only_above_handlers = {Operation.STAFF_REPORT, Operation.BACKDATE, Operation.ASSIGN, Operation.UNFLAG}
    assert not any(POLICY.allows(HANNA, op) for op in only_above_handlers)
    assert all(POLICY.allows(BIRGITTA, op) for op in only_above_handlers)
    assert POLICY.allows(SOC_ADMIN, Operation.PHRASES)
    assert not POLICY.allows(BIRGITTA, Operation.PHRASES)
    for op in (Operation.EXPORT, Operation.IMPORT, Operation.DISPOSE, Operation.AUDIT, Operation.ADMINISTER):
        assert [role for role in Role if op in PERMISSIONS[role]] == [Role.SYSTEM_OWNER]


def test_check_returns_the_user_who_may() -> None:
    norr = case_in(NORR)
    assert POLICY.check(OWNER, Operation.EXPORT) is OWNER
    assert POLICY.check(SOC_ADMIN, Operation.READ, norr) is SOC_ADMIN
    assert POLICY.check(BIRGITTA, Operation.HANDLE, norr) is BIRGITTA
    # Registering concerns no case in scope: a handler registers for any unit (R29).
    assert POLICY.check(HANNA, Operation.REGISTER, norr) is HANNA
    assert Operation.REGISTER not in CASE_OPERATIONS


def test_check_without_a_user_says_how_to_name_one() -> None:
    with pytest.raises(NoUserError) as info:
        POLICY.check(None, Operation.READ, case_in(NORR))
    assert (info.value.operation, info.value.reference, info.value.user) == (
        Operation.READ,
        "2026-00007",
        None,
    )
    assert str(info.value) == (
        "Åtkomst nekad, ärende 2026-00007, åtgärd 'läsa ärenden': ingen användare är angiven; "
        "ange en med Klagomal(user=...), k.as_user(...) eller miljövariabeln KLAGOMAL_USER"
    )
    with pytest.raises(NoUserError) as info:
        POLICY.check(None, Operation.STATISTICS)
    assert str(info.value).startswith("Åtkomst nekad, åtgärd 'ta fram statistik': ingen användare är angiven")


def test_check_refuses_a_role_that_may_not_naming_user_and_operation() -> None:
    with pytest.raises(AccessDeniedError) as info:
        POLICY.check(READER, Operation.READ, case_in(NORR))
    assert (info.value.operation, info.value.reference, info.value.user) == (
        Operation.READ,
        "2026-00007",
        READER,
    )
    assert str(info.value) == (
        "Åtkomst nekad, ärende 2026-00007, åtgärd 'läsa ärenden': "
        "Petra Politiker (politiker, läsare (bara statistik)) får inte läsa ärenden"
    )


def test_check_refuses_a_case_outside_the_scope_naming_its_unit() -> None:
    with pytest.raises(AccessDeniedError) as info:
        POLICY.check(HANNA, Operation.HANDLE, case_in(NORR))
    assert info.value.user is HANNA
    assert str(info.value) == (
        "Åtkomst nekad, ärende 2026-00007, åtgärd 'handlägga ärenden': ärendet hör till Hemtjänst Norr, "
        "som Hanna Handläggare (hanna, handläggare) inte har behörighet till"
    )
    # The same case is hers once she handles it.
    assert POLICY.check(HANNA, Operation.HANDLE, case_in(NORR, handler="hanna")) is HANNA


# -- statistics of units ----------------------------------------------------------------------


def test_check_units_for_each_role() -> None:
    assert POLICY.check_units(OWNER, Operation.STATISTICS, []) is OWNER
    assert POLICY.check_units(READER, Operation.STATISTICS, []) is READER  # the whole kommun's numbers
    assert POLICY.check_units(READER, Operation.STATISTICS, ["bou"]) is READER
    assert POLICY.check_units(SOC_READER, Operation.STATISTICS, [NORR, "kof-badhus"]) is SOC_READER
    assert POLICY.check_units(SOC_ADMIN, Operation.STATISTICS, ["soc", NORR]) is SOC_ADMIN
    assert (
        POLICY.check_units(BIRGITTA, Operation.STATISTICS, ["soc-aldre", "bou-forskola-ekorren"]) is BIRGITTA
    )
    assert POLICY.check_units(HANNA, Operation.STATISTICS, ["kof-bibliotek"]) is HANNA


@pytest.mark.parametrize(
    ("user", "units", "what"),
    [
        (SOC_READER, [], "hela kommunen"),
        (
            SOC_READER,
            ["bou", NORR, "sbf"],
            "Barn- och utbildningsförvaltningen, Samhällsbyggnadsförvaltningen",
        ),
        (SOC_ADMIN, [], "hela kommunen"),
        (BIRGITTA, ["soc"], "Socialförvaltningen"),
        (HANNA, ["kof-bibliotek", "kof"], "Kultur- och fritidsförvaltningen"),
        (
            HANNA,
            ["klf", "soc", "bou", "sbf", "kof", "klf-kansli", "gammal"],
            "Kommunledningsförvaltningen, Socialförvaltningen, Barn- och utbildningsförvaltningen, "
            "Samhällsbyggnadsförvaltningen, Kultur- och fritidsförvaltningen",
        ),
    ],
    ids=["reader-kommun", "reader-other", "admin-kommun", "chef-above", "handler-above", "first-five"],
)
def test_check_units_refuses_units_outside_naming_at_most_five(
    user: User, units: list[str], what: str
) -> None:
    with pytest.raises(AccessDeniedError) as info:
        POLICY.check_units(user, Operation.STATISTICS, units)
    assert (info.value.operation, info.value.reference, info.value.user) == (Operation.STATISTICS, None, user)
    assert str(info.value) == (
        f"Åtkomst nekad, åtgärd 'ta fram statistik': {user.describe()} har inte behörighet till {what}"
    )


def test_check_units_first_checks_the_role() -> None:
    with pytest.raises(AccessDeniedError, match="får inte ta fram rapporten till personalen"):
        POLICY.check_units(HANNA, Operation.STAFF_REPORT, ["kof-bibliotek"])
    with pytest.raises(NoUserError):
        POLICY.check_units(None, Operation.STATISTICS, [])


# -- skyddade personuppgifter --------------------------------------------------------------------


def test_who_sees_a_protected_contact() -> None:
    protected, plain = case_in(NORR, contact=PROTECTED), case_in(NORR, contact=Contact(name="Eva"))
    assert POLICY.sees_protected(None, plain)
    assert not POLICY.sees_protected(None, protected)
    assert POLICY.sees_protected(OWNER, protected)
    assert POLICY.sees_protected(SOC_ADMIN, protected)  # skyddade = true, and the case in scope
    assert not POLICY.sees_protected(HANNA, protected)  # skyddade = true, the case not in scope
    assert not POLICY.sees_protected(BIRGITTA, protected)  # in scope, without skyddade
    assert POLICY.sees_protected(HANNA, case_in("kof-bibliotek", contact=PROTECTED))
    assert [POLICY.sees_protected_at_all(u) for u in (OWNER, SOC_ADMIN, BIRGITTA, HANNA)] == [
        True,
        True,
        False,
        True,
    ]
    # A reader marked skyddade still reads no case.
    assert not POLICY.sees_protected_at_all(User("p", "P", Role.READER, sees_protected=True))


def test_the_contact_each_user_is_shown() -> None:
    protected = case_in(NORR, contact=PROTECTED)
    stand_in = Contact(name=PROTECTED_PLACEHOLDER, protected=True)
    assert PROTECTED_PLACEHOLDER == "[skyddade personuppgifter]"
    assert protected_stand_in(PROTECTED) == stand_in
    assert POLICY.shown_contact(SOC_ADMIN, protected) == protected.contact
    assert protected.contact is not None
    assert protected.contact.personnummer == "191212121212"
    assert POLICY.shown_contact(BIRGITTA, protected) == stand_in
    assert POLICY.shown_contact(None, protected) == stand_in
    plain = case_in(NORR, contact=Contact(name="Eva"))
    assert POLICY.shown_contact(None, plain) == Contact(name="Eva")
    assert POLICY.shown_contact(None, case_in(NORR)) is None

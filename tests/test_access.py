"""Access control: every role against every operation (R27).

The table below is the specification: for each role, which operations it
may do at all, and for operations on a case, that it may do them on a case
in its scope and not on one outside it.  Every call is made through the
real API on a real database; every denial must also be in the audit log.
"""

from __future__ import annotations

import copy
import datetime as dt
import inspect
import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest

from klagomal import BusinessDate, Case, FixedClock, Klagomal
from klagomal.core.errors import AccessDeniedError, ConfigurationError, OrganisationError
from klagomal.core.model import Contact
from klagomal.core.organisation import parse_organisation
from klagomal.core.serialization import EXPORT_FORMAT, EXPORT_VERSION
from klagomal.core.users import parse_users
from klagomal.records.access import (
    PERMISSIONS,
    PROTECTED_PLACEHOLDER,
    SYSTEM_USER,
    AccessPolicy,
    Operation,
    Role,
    Scope,
    User,
)
from klagomal.records.audit import ALLOWED, DENIED
from klagomal.records.gdpr import PersonQuery
from klagomal.reports.data import build_report
from klagomal.reports.periods import parse_period

#: Exempelkommun's users (src/klagomal/data/exempelkommun.toml), one per role.
USERS = {
    Role.SYSTEM_OWNER: "nora.lind",
    Role.DEPARTMENT_ADMIN: "kim.berg",  # förvaltningsadmin for soc
    Role.MANAGER: "lena.holm",  # chef of Hemtjänst Norr
    Role.HANDLER: "omar.ali",  # handläggare at Hemtjänst Norr
    Role.READER: "sven.ek",
}

#: A unit every role with case access has in scope, and one only the system owner has.
INSIDE = "soc-aldre-hemtjanst-norr"
OUTSIDE = "bou-forskola-ekorren"

_counter = itertools.count()

#: A contact who is not protected.
EVA_LUND = Contact(name="Eva Lund", email="eva.lund@example.se")


@pytest.fixture
def cases(k: Klagomal) -> dict[str, Case]:
    """A case inside everyone's scope, and one outside, with a contact."""
    contact = Contact(name="Eva Lund", email="eva.lund@example.se")
    return {
        "inside": k.register(
            kind="klagomal", channel="telefon", unit=INSIDE, text="Ingen kom.", contact=contact
        ),
        "outside": k.register(kind="forslag", channel="brev", unit=OUTSIDE, text="Mer lek.", contact=contact),
    }


def _report(k: Klagomal, audience: str, department: str | None = None) -> Any:
    return build_report(k, parse_period("2026-T1"), audience=audience, department=department)


#: Each operation exercised through the API; *ref* is the case to act on
#: (ignored by operations that are not about one case).
OPERATIONS: dict[Operation, Callable[[Klagomal, str], Any]] = {
    Operation.REGISTER: lambda k, ref: k.register(
        kind="berom", channel="telefon", unit=OUTSIDE, text="Tack!", contact=None
    ),
    Operation.READ: lambda k, ref: k.get(ref),
    Operation.LIST: lambda k, ref: k.cases(),
    Operation.HANDLE: lambda k, ref: k.describe(ref, f"Synpunkt nummer {next(_counter)}"),
    Operation.SECRECY: lambda k, ref: k.mark_secret(ref, f"OSL 26 kap. {next(_counter)} §"),
    Operation.STATISTICS: lambda k, ref: _report(k, "politicians", department="soc"),
    Operation.STAFF_REPORT: lambda k, ref: _report(k, "staff", department="soc"),
    Operation.REGISTER_LIST: lambda k, ref: k.register_list(dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    Operation.EXTRACT: lambda k, ref: k.public_extract(ref),
    Operation.PERSON_DATA: lambda k, ref: k.person_export(PersonQuery(email="eva.lund@example.se")),
    Operation.DELIVER: lambda k, ref: k.deliver(),
    Operation.REMIND: lambda k, ref: k.remind(),
    Operation.EXPORT: lambda k, ref: k.export(),
    Operation.IMPORT: lambda k, ref: k.import_(
        {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "references": {}, "cases": []}
    ),
    Operation.DISPOSE: lambda k, ref: k.run_disposal(dry_run=True),
    Operation.AUDIT: lambda k, ref: k.audit_verify(),
    Operation.ADMINISTER: lambda k, ref: k.init(),
    Operation.SEARCH: lambda k, ref: k.search("kom"),
    Operation.BACKDATE: lambda k, ref: _backdated(k).describe(ref, f"Synpunkt nummer {next(_counter)}"),
    Operation.ASSIGN: lambda k, ref: k.assign(ref, "omar.ali"),
    # R28: anyone who handles the case may flag it; a chef or an administrator lifts a flag.
    Operation.FLAG: lambda k, ref: k.flag_threat(ref, "hotfullt", about="arende", reason="Hotade oss."),
    Operation.UNFLAG: lambda k, ref: _flagged(k, ref).lift_threat_flag(ref, "Utrett."),
    Operation.NOTE: lambda k, ref: k.add_note(ref, f"Anteckning nummer {next(_counter)}"),
    Operation.ATTACH: lambda k, ref: k.attach(ref, b"%PDF-1.4", filename=f"brev-{next(_counter)}.pdf"),
    Operation.CORRECT_CONTACT: lambda k, ref: k.correct_contact(ref, phone=f"070-{next(_counter):07d}"),
    # R23: the phrase library of the case's förvaltning is kept by its administrator.
    Operation.PHRASES: lambda k, ref: k.save_phrase(
        k.organisation.unit(INSIDE).department, "tack", "Tack", f"Tack nummer {next(_counter)}"
    ),
}


def _flagged(k: Klagomal, ref: str) -> Klagomal:
    """*k*, once the system owner has flagged *ref* for abusive treatment."""
    k.as_user(SYSTEM_USER).flag_threat(ref, "krankande", reason="Svordomar i telefon.")
    return k


def _backdated(k: Klagomal) -> Klagomal:
    """*k* with today set by hand as the business date, on a system whose
    real date is tomorrow: a step dated one day afterwards."""
    other = copy.copy(k)
    today = k.clock.today()
    other.clock = BusinessDate(today, real=FixedClock(today + dt.timedelta(days=1)))
    return other


#: Where a role's statistics reach: the staff report of Socialförvaltningen
#: needs soc in scope, which a chef or handler of one unit does not have.
SCOPED_STATISTICS = {Role.MANAGER, Role.HANDLER}


def test_every_operation_is_in_the_table() -> None:
    assert set(OPERATIONS) == set(Operation)


def _denials(k: Klagomal, user: str) -> list[Any]:
    return [e for e in k.as_user(SYSTEM_USER).audit_log(user_id=user) if e.outcome == DENIED]


@pytest.mark.parametrize("operation", list(Operation), ids=lambda o: o.value)
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_role_against_operation(
    k: Klagomal, cases: dict[str, Case], role: Role, operation: Operation
) -> None:
    user_id = USERS[role]
    acting = k.as_user(user_id)
    allowed = operation in PERMISSIONS[role]
    if operation in (Operation.STATISTICS, Operation.STAFF_REPORT) and role in SCOPED_STATISTICS:
        allowed = False  # their statistics are of their units, not of the whole förvaltning
    before = len(_denials(k, user_id))
    if allowed:
        OPERATIONS[operation](acting, cases["inside"].reference)
        assert len(_denials(k, user_id)) == before
    else:
        with pytest.raises(AccessDeniedError) as denied:
            OPERATIONS[operation](acting, cases["inside"].reference)
        # Dating a step afterwards is asked of those who may take the step at all.
        first = Operation.HANDLE if operation is Operation.BACKDATE else operation
        assert denied.value.operation == (operation if first in PERMISSIONS[role] else first)
        assert user_id in str(denied.value)
        after = _denials(k, user_id)
        assert len(after) == before + 1
        assert after[-1].action in (operation.value, first.value)


CASE_SCOPED = [
    Operation.READ,
    Operation.HANDLE,
    Operation.SECRECY,
    Operation.EXTRACT,
    Operation.FLAG,
    # Issue 19: notes, attachments and corrections are work on a case in scope.
    Operation.NOTE,
    Operation.ATTACH,
    Operation.CORRECT_CONTACT,
]


@pytest.mark.parametrize("operation", CASE_SCOPED, ids=lambda o: o.value)
@pytest.mark.parametrize("role", [Role.DEPARTMENT_ADMIN, Role.MANAGER, Role.HANDLER], ids=lambda r: r.value)
def test_a_case_outside_the_scope_is_denied_and_logged(
    k: Klagomal, cases: dict[str, Case], role: Role, operation: Operation
) -> None:
    acting = k.as_user(USERS[role])
    outside = cases["outside"].reference
    with pytest.raises(AccessDeniedError, match="Förskolan Ekorren") as denied:
        OPERATIONS[operation](acting, outside)
    assert denied.value.reference == outside
    # Issue 19: staff read the unit's name, not its id.
    unit = k.organisation.unit(cases["outside"].unit)
    assert f"hör till {unit.name}," in str(denied.value)
    assert unit.id not in str(denied.value)
    entry = _denials(k, USERS[role])[-1]
    assert (entry.reference, entry.action) == (outside, operation.value)
    # Nothing was written: the case is as it was.
    assert k.get(outside) == cases["outside"]


#: The operations on a case that only read it; the others add an event.
READING = {Operation.READ, Operation.EXTRACT}


def test_the_system_owner_reaches_every_case(k: Klagomal, cases: dict[str, Case]) -> None:
    # The case outside every other role's scope: each operation is done,
    # logged as allowed under its own action, and never denied.
    owner_id = USERS[Role.SYSTEM_OWNER]
    owner = k.as_user(owner_id)
    outside = cases["outside"].reference
    for operation in CASE_SCOPED:
        logged = len(k.audit_log(reference=outside))
        version = k.get(outside).version
        result = OPERATIONS[operation](owner, outside)
        mine = [e for e in k.audit_log(reference=outside)[logged:] if e.user_id == owner_id]
        assert [(e.action, e.outcome) for e in mine] == [(operation.value, ALLOWED)], operation
        if operation in READING:
            assert k.get(outside).version == version, operation
            assert result.reference == outside
        else:
            assert k.get(outside).version == version + 1, operation
            assert k.history(outside)[-1].actor == owner_id, operation
    assert _denials(k, owner_id) == []
    # What was done is there: the register entry, the secrecy, the flag, the
    # note, the attachment and the corrected contact, and the contact is shown.
    case = owner.get(outside)
    assert case.contact == Contact(name="Eva Lund", email="eva.lund@example.se", phone=case.contact.phone)
    assert (case.contact.phone or "").startswith("070-")
    assert (case.summary or "").startswith("Synpunkt nummer ")
    assert (case.secrecy or "").startswith("OSL 26 kap. ")
    assert case.threat_flags
    assert [e.type for e in k.history(outside)][-4:] == [
        "threat_flagged",
        "note_added",
        "attachment_added",
        "contact_corrected",
    ]


def test_a_protected_contact_is_never_shown_without_a_user(k: Klagomal) -> None:
    # Where no user acts (nobody is logged in), the protected person is hidden;
    # a contact that is not protected needs no one's permission.
    policy = AccessPolicy(k.organisation)
    contact = Contact(name="Eva Lund", email="eva.lund@example.se", protected=True)
    hidden = k.register(kind="klagomal", channel="telefon", unit=INSIDE, text="Ingen kom.", contact=contact)
    open_ = k.register(kind="klagomal", channel="telefon", unit=INSIDE, text="Ingen kom.", contact=EVA_LUND)
    assert policy.sees_protected(None, hidden) is False
    assert policy.shown_contact(None, hidden) == Contact(name=PROTECTED_PLACEHOLDER, protected=True)
    assert policy.sees_protected(None, open_) is True
    assert policy.shown_contact(None, open_) == EVA_LUND
    # The system owner, who may read every case, sees it.
    assert policy.sees_protected(SYSTEM_USER, hidden) is True
    assert policy.shown_contact(SYSTEM_USER, hidden) == contact


def test_a_role_without_cases_reaches_none(k: Klagomal, cases: dict[str, Case]) -> None:
    # A reader, and a role the policy does not know (an identity source's
    # own, which klagomal refuses before it asks for a scope), get the
    # empty scope: no case, no förvaltning.
    policy = AccessPolicy(k.organisation)
    reader = k.organisation.users[USERS[Role.READER]]
    soc_reader = User(id="r", name="R", role=Role.READER, departments=("soc",))  # soc's statistics only
    stranger = User(id="x", name="X", role="superadmin")  # type: ignore[arg-type]
    for user in (reader, soc_reader, stranger):
        scope = policy.scope(user)
        assert scope == Scope(), user.role
        assert not any(scope.covers(case) for case in cases.values())
    assert policy.handled_departments(reader) == frozenset()
    assert not policy.sees_protected_at_all(reader)


def test_lists_hold_only_the_cases_in_scope(k: Klagomal, cases: dict[str, Case]) -> None:
    inside, outside = cases["inside"].reference, cases["outside"].reference
    assert {c.reference for c in k.as_user("nora.lind").cases()} == {inside, outside}
    for user in ("kim.berg", "lena.holm", "omar.ali"):
        assert [c.reference for c in k.as_user(user).cases()] == [inside]
    # A handler also sees the cases they handle elsewhere.
    k.acknowledge(outside, "Omar Ali")
    assert {c.reference for c in k.as_user("omar.ali").cases()} == {inside, outside}


def test_a_manager_reaches_the_whole_subtree(k: Klagomal, clock: FixedClock) -> None:
    org = k.organisation
    above = next(u for u in org.units.values() if u.manager == "Avdelningschef Birgitta Åberg")
    birgitta = User(id="birgitta", name=above.manager, role=Role.MANAGER)
    acting = k.as_user(birgitta)
    for unit in org.subtree(above.id):
        case = k.register(kind="klagomal", channel="telefon", unit=unit, text="Synpunkt", contact=None)
        assert acting.get(case.reference).unit == unit
    outside = k.register(kind="klagomal", channel="telefon", unit=OUTSIDE, text="Synpunkt", contact=None)
    with pytest.raises(AccessDeniedError):
        acting.get(outside.reference)


def test_the_unit_report_of_a_manager_is_allowed(k: Klagomal, cases: dict[str, Case]) -> None:
    report = build_report(k.as_user("lena.holm"), parse_period("2026-T1"), unit=INSIDE, audience="staff")
    assert report.total == 1
    with pytest.raises(AccessDeniedError, match="hela kommunen"):
        build_report(k.as_user("lena.holm"), parse_period("2026-T1"), audience="staff")


def test_a_reader_gets_the_whole_kommuns_numbers_but_no_case(k: Klagomal, cases: dict[str, Case]) -> None:
    reader = k.as_user("sven.ek")
    # The kommun's two cases, as the public report shows them (disclosure control).
    assert _report(reader, "politicians").total == "<3"
    with pytest.raises(AccessDeniedError):
        _report(reader, "staff")
    with pytest.raises(AccessDeniedError):
        reader.cases()


# -- who is acting -------------------------------------------------------------


def test_no_user_is_denied_with_how_to_give_one(db_url: str, clock: FixedClock, monkeypatch: Any) -> None:
    monkeypatch.delenv("KLAGOMAL_USER")
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as k:
        with pytest.raises(AccessDeniedError, match="KLAGOMAL_USER"):
            k.init()  # refused before the database exists: nothing to log it in
        k.as_user(SYSTEM_USER).init()
        with pytest.raises(AccessDeniedError, match="KLAGOMAL_USER"):
            k.cases()
        entry = k.as_user(SYSTEM_USER).audit_log()[-1]
        assert (entry.user_id, entry.outcome, entry.action) == ("-", DENIED, "lista")


def test_an_unknown_user_is_denied_and_logged(k: Klagomal) -> None:
    with pytest.raises(AccessDeniedError, match="okänd användare 'mallory'"):
        k.as_user("mallory").cases()
    assert _denials(k, "-")[-1].detail.startswith("okänd användare 'mallory'")


def test_klagomal_identify_plugs_in_an_identity_source(db_url: str, clock: FixedClock) -> None:
    from klagomal.testing import plugin

    directory = {"ad\\anna": User(id="anna", name="Anna Ek", role=Role.READER)}
    sso = plugin("sso", klagomal_identify=lambda user_id, organisation: directory.get(user_id))
    with Klagomal(db_url, clock=clock, load_entrypoints=False, plugins=[sso], user="ad\\anna") as k:
        assert k.user == directory["ad\\anna"]
        # Exempelkommun's own users are still known after the plugin's.
        assert k.as_user("omar.ali").user is not None


def test_an_unknown_role_from_an_identity_source_is_denied(db_url: str, clock: FixedClock) -> None:
    from klagomal.testing import plugin

    class Stranger:
        id, name, role = "x", "X", "superadmin"

    odd = plugin("odd", klagomal_identify=lambda user_id, organisation: Stranger())
    with Klagomal(db_url, clock=clock, load_entrypoints=False, plugins=[odd], user="x") as k:
        k.as_user(SYSTEM_USER).init()
        with pytest.raises(AccessDeniedError, match="okänd roll 'superadmin'"):
            k.cases()
        assert any("superadmin" in e.detail for e in k.as_user(SYSTEM_USER).audit_log())


def test_an_unknown_role_in_the_organisation_file_stops_start_up() -> None:
    text = _small_org('roll = "superadmin"')
    with pytest.raises(OrganisationError, match="okänd roll 'superadmin'"):
        parse_organisation(text, "org.toml")


def test_the_system_user_can_be_turned_off(db_url: str, clock: FixedClock) -> None:
    org = parse_organisation(_small_org('roll = "lasare"', "[behorighet]\nsystemanvandare = false\n"))
    with (
        Klagomal(db_url, clock=clock, load_entrypoints=False, organisation=org, user="system") as k,
        pytest.raises(AccessDeniedError, match="okänd användare 'system'"),
    ):
        k.cases()


def _small_org(role_line: str, extra: str = "") -> str:
    return _org(f'[[anvandare]]\nid = "x"\nnamn = "X"\n{role_line}\n', extra)


def _org(users: str, extra: str = "", *, top: str = "") -> str:
    """A small organisation (one förvaltning, klf, with one unit, klf-kc)
    with the ``[[anvandare]]`` tables *users*; *top* goes before every table."""
    return f"""{top}
[kommun]
id = "liten"
namn = "Lilla kommunen"
systemagare = "klf"

[[forvaltning]]
id = "klf"
namn = "Kommunledningsförvaltningen"
chef = "Chef"
namnd = "Kommunstyrelsen"

  [[forvaltning.enhet]]
  id = "klf-kc"
  namn = "Kontaktcenter"
  chef = "Enhetschef"

{users}

{extra}"""


def _user(*lines: str) -> str:
    return "\n".join(["[[anvandare]]", *lines])


X = 'id = "x"'
NAMED = 'namn = "X"'
READER = 'roll = "lasare"'
ROLES = "systemagare, forvaltningsadmin, chef, handlaggare, lasare"

#: Every refusal of parse_users (klagomal.core.users) and of the parser's
#: readers it calls, with its whole message: the file, the table (by number
#: until it has an id, then by id) and what is wrong.
USER_TABLE_ERRORS = {
    "not-tables": (
        '[anvandare]\nid = "x"',
        "<string>: 'anvandare' ska vara tabeller: [[anvandare]]",
    ),
    "unknown-key": (
        _user(X, NAMED, READER, 'losen = "x"'),
        "<string>: [[anvandare]] 1: okänd nyckel 'losen' (tillåtna nycklar: enheter, epost, "
        "forvaltningar, id, namn, roll, skyddade)",
    ),
    "missing-id": (_user(NAMED, READER), "<string>: [[anvandare]] 1: 'id', 'namn' och 'roll' måste anges"),
    "missing-name": (_user(X, READER), "<string>: [[anvandare]] 1: 'id', 'namn' och 'roll' måste anges"),
    "missing-role": (_user(X, NAMED), "<string>: [[anvandare]] 1: 'id', 'namn' och 'roll' måste anges"),
    "missing-in-the-second": (
        _user(X, NAMED, READER) + "\n" + _user('id = "y"', 'namn = "Y"'),
        "<string>: [[anvandare]] 2: 'id', 'namn' och 'roll' måste anges",
    ),
    "id-not-text": (
        _user("id = 5", NAMED, READER),
        "<string>: [[anvandare]] 1: 'id' ska vara en text inom citattecken, inte 5",
    ),
    "empty-name": (_user(X, 'namn = "  "', READER), "<string>: [[anvandare]] 1: 'namn' är tom"),
    "role-not-text": (
        _user(X, NAMED, "roll = true"),
        "<string>: [[anvandare]] 1: 'roll' ska vara en text inom citattecken, inte True",
    ),
    "duplicate": (
        _user(X, NAMED, READER) + "\n" + _user(X, 'namn = "X igen"', READER),
        "<string>: [[anvandare]] 'x': användaren finns redan",
    ),
    "the-system-user": (
        _user('id = "system"', NAMED, READER),
        "<string>: [[anvandare]] 'system': användaren finns redan",
    ),
    "unknown-role": (
        _user(X, NAMED, 'roll = "superadmin"'),
        f"<string>: [[anvandare]] 'x': okänd roll 'superadmin' (roller: {ROLES})",
    ),
    "departments-not-a-list": (
        _user(X, NAMED, READER, 'forvaltningar = "klf"'),
        "<string>: [[anvandare]] 'x': 'forvaltningar' ska vara en lista med id",
    ),
    "units-not-texts": (
        _user(X, NAMED, READER, "enheter = [1]"),
        "<string>: [[anvandare]] 'x': 'enheter' ska vara en lista med id",
    ),
    "unknown-department": (
        _user(X, NAMED, READER, 'forvaltningar = ["soc"]'),
        "<string>: [[anvandare]] 'x': 'forvaltningar' nämner okänt id 'soc'",
    ),
    "unknown-unit": (
        _user(X, NAMED, 'roll = "handlaggare"', 'enheter = ["nope"]'),
        "<string>: [[anvandare]] 'x': 'enheter' nämner okänt id 'nope'",
    ),
    "protected-not-a-bool": (
        _user(X, NAMED, READER, 'skyddade = "ja"'),
        "<string>: [[anvandare]] 'x': 'skyddade' ska vara true eller false",
    ),
    "not-an-address": (
        _user(X, NAMED, READER, 'epost = "x.exempelkommun.se"'),
        "<string>: [[anvandare]] 'x': 'epost' är ingen e-postadress: 'x.exempelkommun.se'",
    ),
    "address-with-a-space": (
        _user(X, NAMED, READER, 'epost = "x @exempelkommun.se"'),
        "<string>: [[anvandare]] 'x': 'epost' är ingen e-postadress: 'x @exempelkommun.se'",
    ),
    "empty-address": (
        _user(X, NAMED, READER, 'epost = ""'),
        "<string>: [[anvandare]] 'x': 'epost' är tom",
    ),
    "administrator-without-departments": (
        _user(X, NAMED, 'roll = "forvaltningsadmin"'),
        "<string>: [[anvandare]] 'x': en förvaltningsadministratör måste ha 'forvaltningar'",
    ),
    "handler-without-units": (
        _user(X, NAMED, 'roll = "handlaggare"'),
        "<string>: [[anvandare]] 'x': en handläggare måste ha 'enheter'",
    ),
    "handler-with-departments-only": (
        _user(X, NAMED, 'roll = "handlaggare"', 'forvaltningar = ["klf"]'),
        "<string>: [[anvandare]] 'x': en handläggare måste ha 'enheter'",
    ),
    "administrator-with-units-only": (
        _user(X, NAMED, 'roll = "forvaltningsadmin"', 'enheter = ["klf-kc"]'),
        "<string>: [[anvandare]] 'x': en förvaltningsadministratör måste ha 'forvaltningar'",
    ),
    "invalid-id": (
        _user('id = "x y"', NAMED, READER),
        "<string>: [[anvandare]] 'x y': 'x y' är inget giltigt användar-id (bokstäver a–z, siffror, . _ @ -)",
    ),
}


@pytest.mark.parametrize(("users", "message"), list(USER_TABLE_ERRORS.values()), ids=list(USER_TABLE_ERRORS))
def test_user_tables_are_checked(users: str, message: str) -> None:
    with pytest.raises(OrganisationError) as refused:
        parse_organisation(_org(users))
    assert str(refused.value) == message


def test_every_refusal_of_parse_users_is_in_the_table() -> None:
    # Enumerated from the code: each message parse_users writes itself must
    # be one of USER_TABLE_ERRORS (those of the parser's readers are listed
    # there by hand: unknown key, not a text, empty, not an address).
    templates = re.findall(r'_\(\s*"((?:[^"\\]|\\.)*)"', inspect.getsource(parse_users))
    assert len(templates) >= 9  # the extraction finds them
    messages = [message for _users, message in USER_TABLE_ERRORS.values()]
    for template in templates:
        pattern = ".*".join(re.escape(part) for part in re.split(r"\{\w+\}", template))
        assert any(re.search(pattern, message) for message in messages), template


def test_user_tables_that_are_not_tables_are_refused() -> None:
    # An array of anything but tables, written before the first table.
    with pytest.raises(OrganisationError) as refused:
        parse_organisation(_org("", top='anvandare = ["x"]'))
    assert str(refused.value) == "<string>: 'anvandare' ska vara tabeller: [[anvandare]]"


def test_a_user_table_gives_its_user() -> None:
    users = _user(
        'id = "anna.ek@exempelkommun.se"',
        'namn = " Anna Ek "',
        'roll = "handlaggare"',
        'enheter = ["klf-kc"]',
        'forvaltningar = ["klf"]',
        "skyddade = true",
        'epost = "anna.ek@exempelkommun.se"',
    )
    assert parse_organisation(_org(users)).users == {
        "anna.ek@exempelkommun.se": User(
            id="anna.ek@exempelkommun.se",
            name="Anna Ek",
            role=Role.HANDLER,
            departments=("klf",),
            units=("klf-kc",),
            sees_protected=True,
            email="anna.ek@exempelkommun.se",
        )
    }
    assert parse_organisation(_org("")).users == {}


@pytest.mark.parametrize("user_id", ["a", "Nora.Lind_2@exempel-kommun.se", "x" * 200])
def test_a_user_id_of_letters_digits_and_dot_underscore_at_dash_is_valid(user_id: str) -> None:
    assert User(id=user_id, name="N", role=Role.READER).id == user_id


@pytest.mark.parametrize(
    "user_id",
    ["", "x" * 201, "nora lind", "åsa", "nora/lind", "nora\\lind", "nora\n", "\nnora", "nora\tlind"],
    ids=[
        "empty",
        "too-long",
        "space",
        "a-with-ring",
        "slash",
        "backslash",
        "newline-after",
        "newline-before",
        "tab",
    ],
)
def test_a_user_id_of_anything_else_is_refused(user_id: str) -> None:
    # The id is recorded as the actor of steps and in the audit log: a line
    # break would forge a line in any log written from it.
    with pytest.raises(AccessDeniedError) as refused:
        User(id=user_id, name="N", role=Role.READER)
    assert str(refused.value) == (
        f"Åtkomst nekad: '{user_id}' är inget giltigt användar-id (bokstäver a–z, siffror, . _ @ -)"
    )
    assert refused.value.operation is None
    assert refused.value.reference is None


def test_klagomal_disposal_rules_that_contradict_stop_start_up(db_url: str, clock: FixedClock) -> None:
    from klagomal.records.disposal import Action, DisposalRule
    from klagomal.testing import plugin

    rules = [
        DisposalRule("a", "KS 1", Action.REMOVE_TEXTS, 12),
        DisposalRule("b", "KS 2", Action.KEEP, 0),
    ]
    archive = plugin("arkiv", klagomal_disposal_rules=lambda organisation: rules)
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as k:
        k.init()
    with pytest.raises(ConfigurationError, match=r"'a'.*'b'|'b'.*'a'"):
        Klagomal(db_url, clock=clock, load_entrypoints=False, plugins=[archive])
    # The refusal is in the audit log of the database it was started on.
    with Klagomal(db_url, clock=clock, load_entrypoints=False) as k:
        entry = k.audit_log()[-1]
        assert (entry.action, entry.outcome) == ("gallra", DENIED)
        assert "bevara" in entry.detail


def test_klagomal_disposal_rules_from_a_plugin_are_applied(db_url: str, clock: FixedClock) -> None:
    from klagomal.records.disposal import Action, DisposalRule
    from klagomal.testing import plugin

    rule = DisposalRule("berom-12", "KS 2025-11-12 § 45", Action.REMOVE_TEXTS, 12, kinds=["berom"])
    archive = plugin("arkiv", klagomal_disposal_rules=lambda organisation: [rule])
    with Klagomal(db_url, clock=clock, load_entrypoints=False, plugins=[archive]) as k:
        k.init()
        assert [r.id for r in k.disposal_rules] == ["berom-12"]
        assert k.disposal_rules[0].source == "arkiv"
        praise = k.register(kind="berom", channel="telefon", unit=INSIDE, text="Tack Omar!", contact=None)
        k.acknowledge(praise.reference, "Omar Ali")
        k.close(praise.reference, None)
        clock.set(dt.date(2027, 3, 2))
        assert [p.reference for p in k.run_disposal(dry_run=True)] == [praise.reference]
        assert k.get(praise.reference).text == "Tack Omar!"
        k.run_disposal()
        assert k.get(praise.reference).text.startswith("[gallrat 2027-03-02 enligt KS 2025-11-12 § 45]")
        assert k.run_disposal(dry_run=True) == []


def test_a_list_is_one_audit_entry_and_each_case_listed_finds_it(k: Klagomal, cases: dict[str, Case]) -> None:
    # R27: a worklist of hundreds of cases writes one entry naming them all, and the
    # log of each case still shows that it was listed, and by whom.
    before = len(k.audit_log())
    k.as_user("omar.ali").cases()
    after = k.audit_log()
    listed = [e for e in after[before:] if e.action == "lista"]
    assert len(listed) == 1
    assert (listed[0].user_id, listed[0].reference) == ("omar.ali", cases["inside"].reference)
    k.cases()  # the system owner lists both cases: one entry, naming both
    both = k.audit_log()[-1]
    assert both.reference is None
    assert both.detail == f"list (2): {cases['inside'].reference} {cases['outside'].reference}"
    of_outside = [(e.user_id, e.action) for e in k.audit_log(reference=cases["outside"].reference)]
    assert ("system", "lista") in of_outside
    assert ("omar.ali", "lista") not in of_outside


def test_a_very_long_list_is_split_over_entries_that_each_fit(k: Klagomal) -> None:
    for _ in range(400):
        k.register(kind="berom", channel="telefon", unit=INSIDE, text="Tack!", contact=None)
    before = len(k.audit_log())
    assert len(k.cases()) == 400
    entries = [e for e in k.audit_log()[before:] if e.action == "lista"]
    assert len(entries) == 2
    named = [ref for e in entries for ref in e.detail.split(": ", 1)[1].split()]
    assert named == [f"2026-{n:05d}" for n in range(1, 401)]
    assert k.audit_verify().ok

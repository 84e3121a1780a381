"""The leaks a review found (issue 17), each as it was reproduced (R27).

Secret parts in staff e-mail and the staff report, a protected person's
address in notices and a person's export, a refused step that was stored
anyway and a business date that locked a case, a förvaltning's
administrator reaching other förvaltningar's outbox, and a reader of
statistics given whole cases.  ``tests/test_canaries.py`` then runs every
output path for every role; these tests name each defect on its own.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from klagomal import BusinessDate, Contact, FixedClock, Klagomal, hookimpl
from klagomal.cli import main
from klagomal.core.errors import AccessDeniedError, InvalidInputError
from klagomal.core.events import Located
from klagomal.core.location import Location
from klagomal.core.organisation import Organisation
from klagomal.core.steps import step_label
from klagomal.records.access import PROTECTED_PLACEHOLDER, Role, User
from klagomal.records.audit import entries
from klagomal.records.gdpr import PersonQuery, render_html
from klagomal.records.redaction import for_statistics
from klagomal.reports.data import build_report
from klagomal.reports.periods import parse_period
from klagomal.reports.render import render_csv, render_text
from klagomal.reports.render import render_html as render_report_html
from test_outbox import Recorder
from test_outbox import _organisation as outbox_organisation

UNIT = "soc-aldre-hemtjanst-norr"
BOU_UNIT = "bou-forskola-ekorren"
SECRET_TEXT = "Min son har en diagnos som ingen får veta om."
GROUND = "OSL 26 kap. 1 §"

HIDDEN = Contact(name="Sanna Gömd", email="sanna.gomd@example.se", phone="070-987 65 43", protected=True)
HIDDEN_STRINGS = ("Sanna", "Gömd", "sanna.gomd", "987 65 43")

#: Users besides Exempelkommun's: without skyddade, and at another förvaltning.
EXTRA_USERS = {
    "ada.utan": User("ada.utan", "Administratör Ada Utan", Role.DEPARTMENT_ADMIN, departments=("soc",)),
    "bo.bou": User("bo.bou", "Administratör Bo Bou", Role.DEPARTMENT_ADMIN, departments=("bou",)),
}


def _organisation() -> Organisation:
    """Exempelkommun with the users above, delivering through the test's recorder."""
    base = outbox_organisation()
    return attrs.evolve(base, users={**base.users, **EXTRA_USERS})


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make(
    new_database: Callable[[], str], clock: FixedClock, recorder: Recorder
) -> Iterator[Callable[..., Klagomal]]:
    """``make()``: an initialised instance on a new database of this test's backend."""
    opened: list[Klagomal] = []

    def build() -> Klagomal:
        k = Klagomal(
            new_database(),
            clock=clock,
            organisation=_organisation(),
            plugins=[recorder],
            load_entrypoints=False,
        )
        k.init()
        opened.append(k)
        return k

    yield build
    for k in opened:
        k.dispose()


@pytest.fixture
def k(db_url: str, clock: FixedClock, recorder: Recorder) -> Iterator[Klagomal]:
    """On SQLite: these paths do not differ by backend."""
    with Klagomal(
        db_url, clock=clock, organisation=_organisation(), plugins=[recorder], load_entrypoints=False
    ) as instance:
        instance.init()
        yield instance


def _register(k: Klagomal, **overrides: Any) -> str:
    args: dict[str, Any] = {
        "kind": "klagomal",
        "channel": "epost",
        "unit": UNIT,
        "text": SECRET_TEXT,
        "contact": Contact(name="Eva Lund", email="eva.lund@example.se"),
    }
    args.update(overrides)
    return str(k.register(**args).reference)


def _escalated(k: Klagomal, clock: FixedClock, reason: str = "Inte nöjd.") -> str:
    ref = _register(k)
    k.mark_secret(ref, GROUND, parts=[1])
    k.acknowledge(ref, "Hanna Lind", dt.date(2026, 3, 27))
    k.answer(ref, "skriftligt", "Vi beklagar.")
    k.close(ref, False)
    k.escalate(ref, reason)
    return ref


# -- 1. secret by part: staff e-mail and the staff report ------------------------------------


def test_a_text_marked_secret_by_part_is_not_quoted_to_the_forvaltningschef(
    k: Klagomal, clock: FixedClock, recorder: Recorder
) -> None:
    ref = _escalated(k, clock)
    k.deliver()
    [to_chef] = [m for m in recorder.messages if m.kind == "eskalering_chef"]
    assert SECRET_TEXT not in to_chef.text
    assert SECRET_TEXT not in to_chef.html
    assert f"sekretess ({GROUND})" in to_chef.text  # says why, and where to read it
    assert ref in to_chef.text
    # The person's own answer still reaches them: secrecy is not against the party.
    assert any(m.kind == "svar" and "Vi beklagar." in m.text for m in recorder.messages)


def test_a_marking_made_after_the_step_still_holds_at_delivery(
    k: Klagomal, clock: FixedClock, recorder: Recorder
) -> None:
    # The escalation's reason is marked once the case is at level 2, before the e-mail goes.
    ref = _escalated(k, clock, reason="Handläggaren sa att min son är sjuk.")
    k.mark_secret(ref, GROUND, parts=[k.get(ref).version])
    k.deliver()
    [to_chef] = [m for m in recorder.messages if m.kind == "eskalering_chef"]
    assert "min son är sjuk" not in to_chef.text + to_chef.html


def test_a_forvaltnings_own_template_cannot_quote_what_staff_may_not_read(
    db_url: str, clock: FixedClock, recorder: Recorder, tmp_path: Path
) -> None:
    # The values themselves are withheld, not only the built-in wording's branch.
    folder = tmp_path / "mallar"
    folder.mkdir()
    (folder / "eskalering_chef.txt").write_text(
        "{{ case.text }} | {{ event.reason }} | {{ case.contact.name }} {{ case.contact.email }}\n",
        encoding="utf-8",
    )

    class Wording:
        @hookimpl
        def klagomal_template_dirs(self) -> list[Path]:
            return [folder]

    with Klagomal(
        db_url,
        clock=clock,
        organisation=_organisation(),
        plugins=[recorder, Wording()],
        load_entrypoints=False,
    ) as k:
        k.init()
        ref = _register(k, contact=HIDDEN)
        k.mark_secret(ref, GROUND, parts=[1])
        k.acknowledge(ref, "Hanna Lind", dt.date(2026, 3, 27))
        k.answer(ref, "skriftligt", "Vi beklagar.")
        k.close(ref, False)
        k.escalate(ref, "Min son mår dåligt av detta.")
        k.mark_secret(ref, GROUND, parts=[k.get(ref).version])
        k.deliver()
    [to_chef] = [m for m in recorder.messages if m.kind == "eskalering_chef"]
    withheld = f"Uppgifter har utelämnats med stöd av {GROUND}."
    assert to_chef.text == f"{withheld} | {withheld} | {PROTECTED_PLACEHOLDER} None\n"


def test_praise_marked_secret_by_part_is_not_quoted_to_staff(k: Klagomal, recorder: Recorder) -> None:
    ref = _register(k, kind="berom", text="Tack Lisa för hjälpen med min missbruksbehandling!")
    k.mark_secret(ref, GROUND, parts=[1])
    k.pass_on_praise(ref, ["Lisa Holm <lisa.holm@exempelkommun.se>"], "Fint jobbat!")
    k.deliver()
    passed = [m for m in recorder.messages if m.kind == "berom_vidare"]
    assert len(passed) == 2  # Lisa and her chef
    for message in passed:
        assert "missbruksbehandling" not in message.text + message.html
        assert "Fint jobbat!" in message.text  # the handler's own greeting is not marked


def test_the_staff_report_quotes_no_marked_praise_nor_marked_action(k: Klagomal) -> None:
    praise = _register(k, kind="berom", text="Tack för stödet med min skuldsanering!")
    k.mark_secret(praise, GROUND, parts=[1])
    plain = _register(k, kind="berom", text="Tack för ett trevligt bemötande!")
    case = _register(k)
    k.record_action(case, "Samtal med familjen om barnets diagnos.")
    k.mark_secret(case, GROUND, parts=[2])
    k.record_action(plain, "Berömmet lästes upp på arbetsplatsträffen.")
    report = build_report(k, parse_period("2026-T1"), audience="staff", department="soc")
    text, html, csv = render_text(report), render_report_html(report), "\n".join(render_csv(report).values())
    for shown in (text, html, csv):
        assert "skuldsanering" not in shown
        assert "barnets diagnos" not in shown
        assert "arbetsplatsträffen" in shown  # what is not marked is still quoted
    assert "Tack för ett trevligt bemötande!" in text + html


# -- 2. protected identity ------------------------------------------------------------------


def test_a_protected_persons_address_is_not_in_the_notices_shown_to_a_handler(
    k: Klagomal, tmp_path: Path
) -> None:
    ref = _register(k, contact=HIDDEN)
    k.acknowledge(ref, "Omar Ali", dt.date(2026, 3, 27))
    k.deliver()
    owner = k.outbox(reference=ref)
    assert owner[0].address == HIDDEN.email  # the system owner sees where it went
    for user in ("omar.ali", "lena.holm"):
        shown = k.as_user(user).outbox(reference=ref)
        assert [n.address for n in shown] == [PROTECTED_PLACEHOLDER]
        assert k.as_user(user).get(ref).contact.email is None  # type: ignore[union-attr]
    # And as the CLI shows it, in text and JSON.
    db = k.storage.url
    for argv in (["show", ref], ["--json", "show", ref]):
        out = io.StringIO()
        assert main(["--db", db, "--user", "omar.ali", *argv], stdout=out) == 0
        for hidden in HIDDEN_STRINGS:
            assert hidden not in out.getvalue(), (argv, hidden)


def test_a_protected_persons_place_is_withheld_like_their_address(k: Klagomal) -> None:
    # A case's place (klagomal.core.location) can be where a person with
    # skyddade personuppgifter lives: shown only to those who may see them.
    place = Location(latitude=63.1792, longitude=14.6357, address="Hemliga vägen 7")
    ref = _register(k, contact=HIDDEN, location=place)
    k.locate(ref, Location(latitude=63.1801, longitude=14.6402, address="Hemliga vägen 9"), reason="Fel hus.")
    assert k.get(ref).location is not None  # the system owner, with skyddade
    located = [e.data for e in k.history(ref) if isinstance(e.data, Located)]
    assert located
    assert located[0].previous is not None
    for user in ("omar.ali", "lena.holm"):
        reader = k.as_user(user)
        assert reader.get(ref).location is None
        for event in reader.history(ref):
            assert getattr(event.data, "location", None) is None, event
            if isinstance(event.data, Located):
                assert event.data.previous is None, event
    db = k.storage.url
    for argv in (["show", ref], ["--json", "show", ref], ["--json", "list"]):
        out = io.StringIO()
        assert main(["--db", db, "--user", "omar.ali", *argv], stdout=out) == 0
        for hidden in ("Hemliga vägen", "63.17", "63.18", "14.63", "14.64"):
            assert hidden not in out.getvalue(), (argv, hidden)
    # Statistics never carry a place.
    assert for_statistics(k.get(ref)).location is None


def test_a_forvaltningsadmin_without_skyddade_gets_no_protected_contact_in_a_persons_export(
    k: Klagomal,
) -> None:
    ref = _register(k, contact=HIDDEN, text="Jag heter Sanna Gömd och bor på Hemliga vägen 7.")
    k.acknowledge(ref, "Omar Ali", dt.date(2026, 3, 27))
    k.deliver()
    query = PersonQuery(email=HIDDEN.email)
    owner = json.dumps(k.person_export(query), ensure_ascii=False)
    assert "Sanna Gömd" in owner
    assert HIDDEN.email in owner
    exported = k.as_user("ada.utan").person_export(query)
    assert [c["reference"] for c in exported["cases"]] == [ref]
    for text in (
        json.dumps(exported, ensure_ascii=False),
        render_html(exported, "Exempelkommun", dt.date(2026, 3, 2)),
    ):
        for hidden in (*HIDDEN_STRINGS, "Hemliga vägen"):
            assert hidden not in text, hidden
    # One with skyddade at the same förvaltning gets it all.
    assert "Sanna Gömd" in json.dumps(k.as_user("kim.berg").person_export(query), ensure_ascii=False)


# -- 3. the business date ----------------------------------------------------------------------


def _cli(db: str, *argv: str, user: str = "nora.lind") -> tuple[int, str, str]:
    import contextlib

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(["--db", db, "--user", user, *argv], stdout=out)
    return status, out.getvalue(), err.getvalue()


def test_a_step_dated_after_the_real_date_is_refused_and_stores_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'k.db'}"
    real = dt.date.today()
    assert _cli(db, "init")[0] == 0
    status, _out, _err = _cli(
        db, "register", "--kind", "klagomal", "--channel", "telefon", "--unit", UNIT, "--text", "Hej.",
        "--phone", "070-1234567",
    )  # fmt: skip
    assert status == 0
    ref = f"{real.year}-00001"
    for day, step in (
        ("2101-01-05", ["action", ref, "--text", "x"]),  # beyond the calendar
        ((real + dt.timedelta(days=1)).isoformat(), ["describe", ref, "En rad"]),
        ("2062-03-05", ["inform", ref, "--text", "Vi återkommer."]),  # an in-range typo
        ("2062-03-05", ["forward", ref, "--to", "soc-aldre-solgarden"]),
    ):
        status, _out, err = _cli(db, "--today", day, *step)
        assert status == 1, (day, step, err)
        assert "ett steg kan inte dateras i framtiden" in err
        assert ref in err
        assert f"steg '{step_label(step[0])}'" in err  # the step, in Swedish
    # Nothing was stored: the case takes the next step today, by anyone allowed.
    with Klagomal(db, user="nora.lind") as k:
        assert [e.type for e in k.history(ref)] == ["registered"]
    assert _cli(db, "inform", ref, "--text", "Vi återkommer.")[0] == 0


@pytest.fixture
def dated(db_url: str) -> Callable[..., Klagomal]:
    """``dated(day, user)``: an instance whose business date *day* was set by
    hand on a system whose real date is 2026-03-20 (BusinessDate)."""
    opened: list[Klagomal] = []
    real = FixedClock(dt.date(2026, 3, 20))

    def build(day: dt.date, user: str) -> Klagomal:
        k = Klagomal(
            db_url,
            clock=BusinessDate(day, real=real),
            organisation=_organisation(),
            load_entrypoints=False,
            user=user,
        )
        opened.append(k)
        return k

    with Klagomal(db_url, clock=FixedClock(dt.date(2026, 3, 2)), organisation=_organisation(),
                  load_entrypoints=False) as setup:  # fmt: skip
        setup.init()
        _register(setup)
    yield build
    for k in opened:
        k.dispose()


def test_backdating_is_for_chefs_and_administrators_within_the_bound(dated: Callable[..., Klagomal]) -> None:
    ref = "2026-00001"
    # A handler records what they do on the day they do it.
    with pytest.raises(AccessDeniedError, match="datera steg i efterhand"):
        dated(dt.date(2026, 3, 19), "omar.ali").inform(ref, "Vi har ringt dig.")
    # A chef may, ten days back by default (efterregistrering_dagar) ...
    assert dated(dt.date(2026, 3, 10), "lena.holm").inform(ref, "Vi ringde i tisdags.").version == 2
    # ... and not further back: a late besked cannot be made to look on time.
    with pytest.raises(AccessDeniedError, match="högst 10 dagar bakåt"):
        dated(dt.date(2026, 3, 9), "lena.holm").acknowledge(ref, "Lena Holm", dt.date(2026, 3, 31))
    # The system owner, who enters a backlog, is not bound; the real date stays the limit.
    assert dated(dt.date(2026, 3, 10), "nora.lind").acknowledge(ref, "Lena Holm").version == 3
    with pytest.raises(InvalidInputError, match="framtiden"):
        dated(dt.date(2026, 3, 21), "nora.lind").record_action(ref, "Samtal.")
    owner = dated(dt.date(2026, 3, 20), "nora.lind")
    assert [e.day for e in owner.history(ref)] == [
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 10),
        dt.date(2026, 3, 10),
    ]
    # The audit log has the real time of each write, and says when a step was dated afterwards.
    with owner._transaction() as uow:
        written = [
            e for e in entries(uow.conn, reference=ref) if e.action == "handlagga" and e.outcome == "allowed"
        ]
    assert [e.detail for e in written] == [
        "2 informed (daterat 2026-03-10)",
        "3 acknowledged (daterat 2026-03-10)",
    ]
    assert all(e.at.date() == dt.date.today() for e in written)
    with owner._transaction() as uow:
        denied = [e for e in entries(uow.conn) if e.outcome == "denied"]
    assert [(e.user_id, e.reference) for e in denied] == [("omar.ali", ref), ("lena.holm", ref)]


def test_the_bound_is_the_kommuns_setting() -> None:
    from klagomal.core.organisation import parse_organisation

    text = (Path(__file__).parents[1] / "src/klagomal/data/exempelkommun.toml").read_text(encoding="utf-8")
    org = parse_organisation(text + "\n[behorighet]\nefterregistrering_dagar = 3\n")
    assert org.backdating_days == 3
    with pytest.raises(Exception, match="efterregistrering_dagar"):
        parse_organisation(text + "\n[behorighet]\nefterregistrering_dagar = -1\n")


# -- 4. the outbox of another förvaltning ----------------------------------------------------------


def test_a_forvaltningsadmin_reaches_only_the_outbox_of_their_forvaltningar(
    make: Callable[..., Klagomal], recorder: Recorder
) -> None:
    k = make()
    soc = _register(k, contact=Contact(name="Eva Lund", email="eva.lund@example.se"))
    bou = _register(
        k, unit=BOU_UNIT, text="Skolan.", contact=Contact(name="Per Bou", email="per.bou@example.se")
    )
    for ref in (soc, bou):
        k.acknowledge(ref, "Hanna Lind", dt.date(2026, 3, 27))
    admin = k.as_user("ada.utan")
    # The whole outbox, as `outbox --all` lists it:
    assert {n.reference for n in admin.outbox()} == {soc}
    # Delivery, as `deliver` runs it: only the förvaltning's own notices go.
    run = admin.deliver()
    assert [n.reference for n in run.sent] == [soc]
    assert [m.reference for m in recorder.messages] == [soc]
    assert {n.reference: n.status for n in k.outbox()} == {soc: "sent", bou: "pending"}
    # Re-sending, as `outbox --resend` does: another förvaltning's notice "does not exist".
    bou_notice = next(n for n in k.outbox() if n.reference == bou)
    with pytest.raises(InvalidInputError, match=str(bou_notice.id)):
        admin.requeue([bou_notice.id])
    assert {n.reference for n in admin.open_notices([soc, bou])} <= {soc}
    # And bo.bou, of the other förvaltning, the other way round.
    assert {n.reference for n in k.as_user("bo.bou").outbox()} == {bou}


def test_reminders_of_an_administrator_are_of_their_forvaltningar(k: Klagomal, clock: FixedClock) -> None:
    soc = _register(k)
    bou = _register(k, unit=BOU_UNIT, text="Skolan.")
    clock.set(dt.date(2026, 3, 17))  # both besked deadlines passed yesterday
    run = k.as_user("ada.utan").remind(notifier="log")
    assert {r.reference for r in run.created} == {soc}
    assert {r.reference for r in k.as_user("ada.utan").reminders()} == {soc}
    assert bou in {r.reference for r in k.remind(notifier="log").created}


# -- 5. a reader of statistics ---------------------------------------------------------------------


def test_a_reader_of_statistics_gets_numbers_not_cases(k: Klagomal) -> None:
    ref = _register(k, contact=HIDDEN, summary="Synpunkt på hemtjänsten")
    found = k.as_user("sven.ek").cases_received(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    [case] = found
    assert case.reference == ref
    assert case.kind.value == "klagomal"
    assert case.unit == UNIT
    assert (case.text, case.summary) == ("", None)
    assert case.contact is not None
    assert case.contact.is_empty()
    assert not case.anonymous
    with k._transaction() as uow:
        read = [e for e in entries(uow.conn) if e.user_id == "sven.ek"]
    assert [(e.action, e.detail) for e in read] == [("statistik", "cases received: 1")]
    # One who may read the case reads it as they may see it, and the read is audited by case.
    [shown] = k.as_user("ada.utan").cases_received(
        dt.date(2026, 3, 1), dt.date(2026, 3, 31), department="soc"
    )
    assert shown.text == SECRET_TEXT
    assert shown.contact.name == PROTECTED_PLACEHOLDER
    with k._transaction() as uow:
        assert any(e.user_id == "ada.utan" for e in entries(uow.conn, reference=ref))

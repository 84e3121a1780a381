"""Public records, secrecy, personal data and GDPR, through the API (R27, R30).

The register entry and the register list, secrecy markings and the public
extract, the personnummer at registration, skyddade personuppgifter across
every output path (letters, reports, exports, logs, extracts, lists), and a
person's export and anonymisation.  These run on SQLite, PostgreSQL and
MariaDB: they read and rewrite stored data.
"""

from __future__ import annotations

import datetime as dt
import email
import json
import logging
from pathlib import Path
from typing import Any

import attrs
import pytest

from klagomal import FixedClock, Klagomal
from klagomal.core.errors import AccessDeniedError, InvalidInputError, InvalidStepError
from klagomal.core.model import Contact
from klagomal.records.access import PROTECTED_PLACEHOLDER, SYSTEM_USER
from klagomal.records.gdpr import PersonQuery, render_html
from klagomal.records.public_records import render_extract, render_register
from klagomal.reports.data import build_report
from klagomal.reports.periods import parse_period
from klagomal.reports.render import render_json, write_report

UNIT = "soc-aldre-hemtjanst-norr"

#: A person with skyddade personuppgifter, and every string that tells who she is.
HIDDEN = Contact(
    name="Sanna Gömd",
    email="sanna.gomd@example.se",
    phone="070-987 65 43",
    address="Hemliga vägen 7, 123 45 Exempelstad",
    personnummer="19850412-1230",
    protected=True,
)
HIDDEN_STRINGS = ("Sanna", "Gömd", "sanna.gomd", "987 65 43", "Hemliga vägen", "850412", "198504121230")


@pytest.fixture
def k(any_db_url: str, clock: FixedClock) -> Any:
    """On every backend."""
    with Klagomal(any_db_url, clock=clock, load_entrypoints=False) as instance:
        instance.init()
        yield instance


def _register(k: Klagomal, **overrides: Any) -> Any:
    args: dict[str, Any] = {
        "kind": "klagomal",
        "channel": "telefon",
        "unit": UNIT,
        "text": "Hemtjänsten kom inte.",
        "contact": Contact(name="Eva Lund", email="eva.lund@example.se"),
    }
    args.update(overrides)
    return k.register(**args)


def _absent(text: str, strings: tuple[str, ...] = HIDDEN_STRINGS) -> None:
    leaked = [s for s in strings if s in text]
    assert not leaked, f"leaked {leaked}"


# -- the register entry (OSL 5 kap. 1 §) --------------------------------------


def test_the_register_entry_is_kept_apart_from_the_text(k: Klagomal) -> None:
    case = _register(k, summary="Synpunkt på hemtjänstens tider")
    assert (case.summary, case.text) == ("Synpunkt på hemtjänstens tider", "Hemtjänsten kom inte.")
    changed = k.describe(case.reference, "Klagomål på uteblivet besök")
    assert changed.summary == "Klagomål på uteblivet besök"
    assert k.history(case.reference)[-1].type == "described"
    assert k.rebuild(case.reference) == changed


@pytest.mark.parametrize("summary", ["", "   ", "rad ett\nrad två", "x" * 301])
def test_a_register_description_is_one_short_line(k: Klagomal, summary: str) -> None:
    case = _register(k)
    with pytest.raises(InvalidInputError, match="beskrivning") as refused:
        k.describe(case.reference, summary)
    assert refused.value.reference == case.reference
    assert k.get(case.reference).version == 1


def test_the_register_list_withholds_what_the_law_says(k: Klagomal, clock: FixedClock) -> None:
    named = _register(k, summary="Synpunkt på hemtjänsten")
    anonymous = _register(k, contact=None, kind="berom", summary="Beröm till hemtjänsten")
    protected = _register(k, contact=HIDDEN, summary="Synpunkt på bemötande")
    secret = _register(k, summary="Ärende om bistånd")
    k.mark_secret(secret.reference, "OSL 26 kap. 1 §")
    clock.set(dt.date(2026, 4, 1))
    _register(k, summary="Nästa månad")  # outside the period
    entries = k.register_list(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    by_reference = {e.reference: e for e in entries}
    assert list(by_reference) == [named.reference, anonymous.reference, protected.reference, secret.reference]
    assert (by_reference[named.reference].sender, by_reference[named.reference].summary) == (
        "Eva Lund",
        "Synpunkt på hemtjänsten",
    )
    assert by_reference[anonymous.reference].sender == "Anonym"
    assert by_reference[protected.reference].sender == "Uppgift utelämnad"
    withheld = "Uppgifter har utelämnats med stöd av OSL 26 kap. 1 §."
    assert (by_reference[secret.reference].sender, by_reference[secret.reference].summary) == (
        withheld,
        withheld,
    )
    text = render_register(entries, "Diarium")
    _absent(text)
    assert "2026-03-02  2026-00001  Klagomål  Hemtjänst Norr" in text


# -- secrecy and the public extract ---------------------------------------------


def test_secret_parts_are_removed_with_the_ground_and_the_rest_masked(k: Klagomal) -> None:
    case = _register(
        k,
        text=(
            "Jag heter Eva Lund och bor på Storgatan 12. Ring mig på 070-123 45 67 eller eva.lund@example.se."
        ),
    )
    k.acknowledge(case.reference, "Omar Ali")
    k.inform(case.reference, "Din mamma har fått ett nytt beslut om insatser.")
    k.mark_secret(case.reference, "OSL 26 kap. 1 §", parts=[3], reason="Uppgift om hälsa")
    k.answer(case.reference, "skriftligt", "Vi har pratat med personalen. Hälsningar Omar Ali")
    extract = k.public_extract(case.reference)
    text = render_extract(extract, k.organisation)
    _absent(text, ("Eva", "Lund", "Storgatan 12", "070-123 45 67", "eva.lund@example.se", "nytt beslut"))
    assert "Jag heter [namn] och bor på [adress]." in text
    assert "Uppgifter har utelämnats med stöd av OSL 26 kap. 1 §." in text
    assert "Delar av handlingen har utelämnats med stöd av OSL 26 kap. 1 §." in text
    assert "Vi har pratat med personalen." in text
    assert "Uppgift om hälsa" not in text  # why it is secret would tell what the secret is
    assert extract.sender == "[uppgift maskerad]"
    assert (extract.masked["epost"], extract.masked["telefon"]) == (1, 1)
    # The marking of a part leaves the case itself public.
    assert k.get(case.reference).secrecy is None


def test_a_case_marked_secret_keeps_only_what_the_register_may_show(k: Klagomal) -> None:
    case = _register(k, text="Min son har en diagnos och behöver stöd.")
    k.mark_secret(case.reference, "OSL 26 kap. 1 §", reason="Socialtjänst")
    extract = k.public_extract(case.reference)
    assert all(part.withheld for part in extract.parts)
    assert "diagnos" not in render_extract(extract, k.organisation)
    lifted = k.lift_secrecy(case.reference, "Prövat: inga känsliga uppgifter")
    assert lifted.secrecy is None
    assert "diagnos" in render_extract(k.public_extract(case.reference), k.organisation)


def test_secrecy_steps_are_checked(k: Klagomal) -> None:
    case = _register(k)
    with pytest.raises(InvalidInputError, match="ingen händelse 7"):
        k.mark_secret(case.reference, "OSL 26 kap. 1 §", parts=[7])
    with pytest.raises(InvalidStepError, match="inte sekretessmarkerat"):
        k.lift_secrecy(case.reference, "skäl")
    k.mark_secret(case.reference, "OSL 26 kap. 1 §")
    with pytest.raises(InvalidStepError, match="redan sekretessmarkerat"):
        k.mark_secret(case.reference, "OSL 26 kap. 1 §")
    assert k.get(case.reference).version == 2


def test_an_extract_of_a_secret_case_by_someone_without_access_is_denied_and_logged(k: Klagomal) -> None:
    case = _register(k, unit="bou-forskola-ekorren")
    k.mark_secret(case.reference, "OSL 23 kap. 2 §")
    with pytest.raises(AccessDeniedError, match="Förskolan Ekorren"):
        k.as_user("omar.ali").public_extract(case.reference)
    entry = k.audit_log(reference=case.reference)[-1]
    assert (entry.user_id, entry.action, entry.outcome) == ("omar.ali", "utlamnande", "denied")


# -- personnummer ------------------------------------------------------------------


def test_a_personnummer_is_validated_and_stored_in_twelve_digits(k: Klagomal) -> None:
    case = _register(k, contact=Contact(name="Tolvan", personnummer="121212-1212"))
    assert case.contact is not None
    assert case.contact.personnummer == "201212121212"
    coordination = _register(k, contact=Contact(name="Samuel", personnummer="701063-2391"))
    assert coordination.contact is not None
    assert coordination.contact.personnummer == "197010632391"


@pytest.mark.parametrize("number", ["19121212-1213", "191313121212", "12345", "1912121212xx"])
def test_an_invalid_personnummer_is_refused_clearly_and_nothing_is_stored(k: Klagomal, number: str) -> None:
    with pytest.raises(InvalidInputError, match="registrera utan personnummer") as refused:
        _register(k, contact=Contact(name="Eva", personnummer=number))
    assert number not in str(refused.value)
    assert refused.value.step == "register"
    assert k.cases() == []
    # The refused attempt is in the audit log, without the number.
    entry = k.audit_log()[-1]
    assert (entry.action, entry.outcome, entry.reference) == ("registrera", "denied", None)
    assert entry.detail.startswith("personnumret är ogiltigt")
    assert number not in entry.detail
    # ... and the case may be registered without it.
    assert _register(k, contact=Contact(name="Eva")).reference == "2026-00001"


# -- skyddade personuppgifter across every output path ------------------------------


def _protected_case(k: Klagomal, clock: FixedClock) -> Any:
    """A protected person's praise, passed on, and her complaint, escalated."""
    praise = _register(k, kind="berom", contact=HIDDEN, text="Tack till personalen från mig!")
    k.pass_on_praise(praise.reference, ["Omar Ali"], "Tack!")
    case = _register(k, contact=HIDDEN, text="Jag är inte nöjd.", dimensions=["bemotande"])
    k.acknowledge(case.reference, "Omar Ali")
    k.record_action(case.reference, "Samtal med personalen")
    k.answer(case.reference, "skriftligt", "Vi ber om ursäkt.")
    k.close(case.reference, False)
    k.escalate(case.reference, "Inte nöjd")
    return case


def test_protected_identity_never_reaches_a_staff_notice_a_log_or_a_report(
    k: Klagomal, clock: FixedClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    delivery = attrs.evolve(
        k.organisation.delivery, email_notifier="fil", letter_notifier="utskrift", folder=str(tmp_path)
    )
    url = k.storage.engine.url.render_as_string(hide_password=False)
    k = Klagomal(
        url, clock=clock, load_entrypoints=False, organisation=attrs.evolve(k.organisation, delivery=delivery)
    )
    case = _protected_case(k, clock)
    run = k.deliver()
    assert run.sent
    staff, to_person = [], []
    for path in tmp_path.rglob("*.eml"):
        message = email.message_from_bytes(path.read_bytes())
        body = "".join(
            part.get_payload(decode=True).decode() for part in message.walk() if not part.is_multipart()
        )
        (to_person if "sanna.gomd" in message["To"] else staff).append(message["Subject"] + body)
    # Praise to staff, escalation to the chef, and the besked to her.
    assert staff
    assert to_person
    for text in staff:
        _absent(text)
    # The log notifier and every log line on the way.
    k.deliver()
    k.as_user(SYSTEM_USER).remind(notifier="log")
    _absent(caplog.text)
    # Reports for staff and for the politicians, in every format.
    for audience in ("staff", "politicians"):
        report = build_report(k, parse_period("2026-T1"), audience=audience)
        _absent(json.dumps(render_json(report), ensure_ascii=False))
        _absent(write_report(report, "html", None) or "")
        assert "Tack till personalen" not in json.dumps(render_json(report), ensure_ascii=False)
    assert case.reference


def test_protected_identity_is_left_out_of_an_export_unless_the_owner_asks(
    k: Klagomal, clock: FixedClock
) -> None:
    case = _protected_case(k, clock)
    # She writes again by e-mail; the message is kept with her case.
    raw = (
        f"From: Sanna Gömd <sanna.gomd@example.se>\nSubject: Re: ärende {case.reference}\n"
        "Message-ID: <p1@example.se>\n\nJag bor på Hemliga vägen 7.\n"
    )
    assert k.receive_email(raw.encode()).reference == case.reference
    exported = json.dumps(k.export(), ensure_ascii=False)
    _absent(exported)
    assert PROTECTED_PLACEHOLDER in exported
    with pytest.raises(AccessDeniedError, match="får inte exportera"):
        k.as_user("kim.berg").export()
    full = json.dumps(k.as_user("nora.lind").export(include_protected=True), ensure_ascii=False)
    assert "sanna.gomd@example.se" in full
    assert "198504121230" in full


def test_protected_identity_is_shown_only_to_those_allowed(k: Klagomal, clock: FixedClock) -> None:
    case = _register(k, contact=HIDDEN)
    # Omar may read the case, but has no right to see a protected identity.
    seen = k.as_user("omar.ali").get(case.reference)
    assert seen.contact is not None
    assert (seen.contact.name, seen.contact.email, seen.contact.personnummer) == (
        PROTECTED_PLACEHOLDER,
        None,
        None,
    )
    history = k.as_user("omar.ali").history(case.reference)
    _absent(json.dumps(k.converter.unstructure(history), ensure_ascii=False, default=str))
    listed = k.as_user("omar.ali").cases()
    assert listed[0].contact == seen.contact
    # Kim (skyddade = true, soc) and the system owner see her.
    assert k.as_user("kim.berg").get(case.reference).contact == k.get(case.reference).contact
    assert k.get(case.reference).contact is not None
    # The extract never names her, whoever asks.
    _absent(render_extract(k.public_extract(case.reference), k.organisation))


# -- GDPR -----------------------------------------------------------------------


def test_a_persons_export_holds_every_case_and_is_readable(k: Klagomal, clock: FixedClock) -> None:
    first = _register(k, contact=Contact(name="Eva Lund", email="Eva.Lund@example.se", phone="070-123 45 67"))
    k.acknowledge(first.reference, "Omar Ali")
    second = _register(k, kind="forslag", contact=Contact(phone="+46 70 123 45 67"), text="Fler bänkar")
    _register(k, contact=Contact(name="Någon Annan", email="annan@example.se"))
    by_mail = k.person_export(PersonQuery(email="eva.lund@example.se"))
    assert [c["reference"] for c in by_mail["cases"]] == [first.reference]
    by_phone = k.person_export(PersonQuery(phone="0701234567"))
    assert [c["reference"] for c in by_phone["cases"]] == [first.reference, second.reference]
    case = by_phone["cases"][0]
    assert case["events"][0]["texts"] == ["Hemtjänsten kom inte."]
    assert [n["kind"] for n in case["notices"]] == ["besked"]
    html = render_html(by_phone, "Exempelkommun", clock.today())
    assert "Fler bänkar" in html
    assert "Någon Annan" not in html
    # A förvaltning's administrator gets the cases of their förvaltning only.
    elsewhere = _register(k, unit="bou-forskola-ekorren", contact=Contact(email="eva.lund@example.se"))
    kim = k.as_user("kim.berg").person_export(PersonQuery(email="eva.lund@example.se"))
    assert elsewhere.reference not in [c["reference"] for c in kim["cases"]]
    with pytest.raises(InvalidInputError, match="ange personens"):
        k.person_export(PersonQuery())


def test_anonymising_a_person_keeps_the_statistics(k: Klagomal, clock: FixedClock) -> None:
    case = _register(
        k,
        contact=Contact(name="Eva Lund", email="eva.lund@example.se", personnummer="121212-1212"),
        text="Jag, Eva Lund, fick vänta.",
        dimensions=["bemotande"],
    )
    k.acknowledge(case.reference, "Omar Ali")
    k.answer(case.reference, "skriftligt", "Hej Eva! Vi beklagar.")
    k.close(case.reference, True)
    other = _register(k, kind="berom", contact=None, text="Tack!")
    before = [
        render_json(build_report(k, parse_period("2026-T1"), audience=a)) for a in ("staff", "politicians")
    ]
    done = k.anonymise_person(PersonQuery(email="eva.lund@example.se"), "Begäran 2026-11-20, dnr KS 2026/77")
    assert [d.planned.reference for d in done] == [case.reference]
    after_case = k.get(case.reference)
    assert after_case.contact is not None
    assert not after_case.anonymous
    assert (after_case.kind, after_case.dimensions, after_case.unit, after_case.received) == (
        case.kind,
        case.dimensions,
        case.unit,
        case.received,
    )
    dump = json.dumps(k.export(include_protected=True), ensure_ascii=False)
    _absent(dump, ("Eva", "eva.lund", "121212", "fick vänta", "Vi beklagar"))
    assert k.rebuild(case.reference) == after_case
    after = [
        render_json(build_report(k, parse_period("2026-T1"), audience=a)) for a in ("staff", "politicians")
    ]
    assert _numbers(after) == _numbers(before)
    assert k.get(other.reference).text == "Tack!"
    with pytest.raises(InvalidInputError, match="ange beslutet"):
        k.anonymise_person(PersonQuery(email="x@example.se"), " ")


def _numbers(reports: list[dict[str, Any]]) -> list[Any]:
    """Every table and chart of the reports, without the texts quoted."""
    return [([t for t in r["tables"] if t["id"] != "atgarder"], r["charts"], r["total"]) for r in reports]


def test_the_staff_report_quotes_no_disposed_text(k: Klagomal) -> None:
    kept = _register(k, kind="berom", contact=None, text="Tack till Badhuset!", unit="kof-badhus")
    gone = _register(k, kind="berom", contact=Contact(email="eva.lund@example.se"), text="Tack, Eva här!")
    report = build_report(k, parse_period("2026-T1"), audience="staff")
    assert len(report.highlights) == 2
    k.anonymise_person(PersonQuery(email="eva.lund@example.se"), "Begäran 2026-11-20, dnr KS 2026/77")
    report = build_report(k, parse_period("2026-T1"), audience="staff")
    assert report.highlights == ("Tack till Badhuset!",)
    assert (kept.reference, gone.reference) == ("2026-00001", "2026-00002")


# -- the command line --------------------------------------------------------------


def test_the_records_commands_on_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_cli import Cli

    for name in ("KLAGOMAL_DB", "KLAGOMAL_ORG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KLAGOMAL_USER", "nora.lind")
    cli = Cli()
    cli.ok("init")
    cli.ok(
        "register --kind klagomal --channel telefon --unit soc-aldre-hemtjanst-norr --text 'Ingen kom.' "
        "--name 'Sanna Gömd' --phone '070-987 65 43' --personnummer 19850412-1230 --protected "
        "--summary 'Synpunkt på hemtjänsten'",
        today="2026-03-02",
    )
    shown = cli.ok("show 2026-00001", today="2026-03-02").out
    assert "Kontakt:         Sanna Gömd, 070-987 65 43, 19850412-1230" in shown
    assert "Diariet:         Synpunkt på hemtjänsten" in shown
    assert "Sanna" not in cli.ok("--user omar.ali show 2026-00001", today="2026-03-02").out
    assert "Sanna" not in cli.ok("export").out
    assert "Sanna" in cli.ok("export --with-protected").out
    denied = cli.refused("--user sven.ek extract 2026-00001", status=77)
    assert "Åtkomst nekad" in denied.err
    refused = cli.refused(
        "register --kind klagomal --channel telefon --unit kof-badhus --text x --name X "
        "--personnummer 19850412-1231",
        today="2026-03-02",
    )
    assert "kontrollsiffran stämmer inte" in refused.err
    assert "1231" not in refused.err
    person = cli.ok("person export --personnummer 850412-1230").out
    assert json.loads(person)["cases"][0]["reference"] == "2026-00001"
    assert cli.ok("audit verify").out.startswith("Granskningsloggen är hel:")
    assert "Skulle gallras: 0 ärenden" in cli.ok("gallra --dry-run", today="2026-03-02").out
    cli.ok("person anonymise --personnummer 198504121230 --decision 'Begäran, dnr KS 2026/77'")
    shown = cli.ok("show 2026-00001", today="2026-03-03").out
    assert "Gallrat:\n" in shown
    assert "Anonymisera  gdpr-anonymisering  Begäran, dnr KS 2026/77" in shown
    assert "Sanna" not in shown

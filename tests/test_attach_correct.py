"""Attached documents and corrected contact details (issue 19, item 5; R27, R30).

``attach`` keeps a document as the intake keeps an e-mail's attachments,
within the intake's limits and for the types of documents and pictures;
``correct_contact`` corrects the contact as an event (rättelse, GDPR
article 16, also on a closed case): the old values stay in the history for
those who may see them, notices from then on go to the new ones, search
finds the new (and the old) values for who may see them, disposal scrubs
both, and a protected person's values are shown to no one who may not
see them.  The storage tests run on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from klagomal import Contact, FixedClock, Klagomal
from klagomal.cases.amendments import ATTACHABLE_TYPES, max_document_bytes
from klagomal.cli import main
from klagomal.core.errors import AccessDeniedError, InvalidInputError, InvalidStepError
from klagomal.core.events import AttachmentAdded, ContactCorrected
from klagomal.core.steps import step_label
from klagomal.records.access import PROTECTED_PLACEHOLDER, Role, User
from klagomal.records.disposal import redact_case
from klagomal.records.gdpr import PersonQuery
from klagomal.records.redaction import Redaction, withheld
from klagomal.storage import tables
from klagomal.testing import register
from test_cli import console_block

GROUND = "OSL 26 kap. 1 §"
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"
#: A protected person, and what names or reaches them (old and new values).
HIDDEN = Contact(name="Sanna Gömd", email="sanna.gomd@example.se", phone="070-987 65 43", protected=True)


@pytest.fixture
def k(new_database: Callable[[], str], clock: FixedClock) -> Iterator[Klagomal]:
    """Klagomal on a new database of each backend, as the system owner."""
    with Klagomal(new_database(), clock=clock, load_entrypoints=False, user="system") as instance:
        instance.init()
        yield instance


def _counts(k: Klagomal) -> tuple[int, ...]:
    """Events, audit entries, received messages and attachments, from the tables."""
    with k.storage.engine.connect() as conn:  # type: ignore[attr-defined]
        return tuple(
            conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (tables.events, tables.audit_log, tables.received_messages, tables.attachments)
        )


def _closed(k: Klagomal, **overrides: object) -> str:
    ref = register(k, **overrides).reference
    k.acknowledge(ref, "omar.ali", dt.date(2026, 3, 20))
    k.answer(ref, "skriftligt", "Vi ber om ursäkt.")
    k.close(ref, True)
    return ref


def _stored(k: Klagomal, ref: str) -> list[tuple[str | None, str, int, bytes | None]]:
    with k.storage.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            sa.select(tables.attachments)
            .where(tables.attachments.c.reference == ref)
            .order_by(tables.attachments.c.id)
        ).all()
    return [(r.filename, r.content_type, r.size, r.data) for r in rows]


# -- attach ----------------------------------------------------------------------------------------


def test_a_document_is_attached_in_any_state_and_kept_as_the_intake_keeps_files(
    k: Klagomal, tmp_path: Path
) -> None:
    ref = register(k).reference
    path = tmp_path / "inskannat brev.pdf"
    path.write_bytes(PDF)
    case = k.as_user("omar.ali").attach(ref, path)
    [event] = [e for e in k.history(ref) if isinstance(e.data, AttachmentAdded)]
    assert event.data == AttachmentAdded(
        filename="inskannat brev.pdf", media_type="application/pdf", size=len(PDF), message=f"bifogad:{ref}:2"
    )
    assert (event.actor, case.version, case.state.value) == ("omar.ali", 2, "registrerat")
    assert [(f.filename, f.content_type, f.size) for f in k.attachments(ref)] == [
        ("inskannat brev.pdf", "application/pdf", len(PDF))
    ]
    assert _stored(k, ref) == [("inskannat brev.pdf", "application/pdf", len(PDF), PDF)]
    # Closed cases too: what arrives is kept (bytes with a name, the type given).
    closed = _closed(k)
    k.attach(
        closed, b"Tack f\xc3\xb6r hj\xc3\xa4lpen!", filename="C:\\Skannat\\lapp.txt", media_type="Text/Plain"
    )
    assert [(f.filename, f.content_type) for f in k.attachments(closed)] == [("lapp.txt", "text/plain")]
    entry = [e for e in k.audit_log(reference=closed) if e.action == "bifoga"][-1]
    assert (entry.action, entry.detail) == ("bifoga", "5 attachment_added")
    # Export and import keep the bytes: they travel as a received item of the case.
    exported = k.export()
    [item] = [m for m in exported["received"] if m["reference"] == ref]
    assert (item["source"], item["outcome"], item["message_key"]) == (
        "bifogad",
        "attached",
        f"bifogad:{ref}:2",
    )
    assert base64.b64decode(item["attachments"][0]["data"]) == PDF
    assert k.rebuild(ref) == k.get(ref)


def test_the_largest_document_is_taken_and_one_byte_more_is_not(k: Klagomal) -> None:
    ref = register(k).reference
    limit = max_document_bytes()
    assert limit == 10 * 1024 * 1024  # the intake's limit for one attachment
    if k.storage.engine.dialect.name not in ("mysql", "mariadb"):  # type: ignore[attr-defined]
        # A MariaDB server as installed takes no statement of 10 MB (its
        # max_allowed_packet and redo log, docs/storage.md): the same holds
        # for an e-mail's attachment taken in by the intake.
        k.attach(ref, b"a" * limit, filename="stor.txt")
    before = _counts(k)
    with pytest.raises(InvalidInputError, match=r"filen för-stor.txt är för stor: 10\xa0MB, högst 10\xa0MB"):
        k.attach(ref, b"a" * (limit + 1), filename="för-stor.txt")
    assert _counts(k) == before


@pytest.mark.parametrize(
    ("data", "filename", "media_type", "reason"),
    [
        (b"", "tom.pdf", None, "filen tom.pdf är tom"),
        (PDF, "", None, "filnamnet saknas"),
        (PDF, "mapp/", None, "filnamnet saknas"),
        (b"MZ\x90\x00", "faktura.pdf", None, "är ett program"),
        (b"#!/bin/sh\nrm -rf /\n", "skript.txt", None, "är ett program"),
        (b"PK\x03\x04", "arkiv.zip", None, "har typen application/zip, som inte kan bifogas"),
        (b"hej", "utan-typ", None, "har typen okänd, som inte kan bifogas"),
        (b"<html>", "sida.html", None, "har typen text/html"),
        (b"hej", "bild.png", None, "är inte en PNG-fil"),
        (PDF, "brev.pdf", "application/x-msdownload", "har typen application/x-msdownload"),
        (PDF, "brev\x1b[2J.pdf", None, "styrtecken"),
        (PDF, "x" * 252 + ".pdf", None, "filnamnet är längre än 255 tecken"),
    ],
    ids=[
        "empty",
        "no-name",
        "a-folder",
        "program",
        "script",
        "zip",
        "no-type",
        "html",
        "not-png",
        "type-given",
        "control",
        "long-name",
    ],
)
def test_a_document_that_may_not_be_attached_is_refused_and_writes_nothing(
    k: Klagomal, data: bytes, filename: str, media_type: str | None, reason: str
) -> None:
    ref = register(k).reference
    before = _counts(k)
    with pytest.raises(InvalidInputError) as refused:
        k.attach(ref, data, filename=filename, media_type=media_type)
    assert str(refused.value).startswith(f"Ärende {ref}, steg 'bifoga handling': ")
    assert reason in str(refused.value)
    assert _counts(k) == before


def _picture(fmt: str) -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (4, 4)).save(out, fmt)
    return out.getvalue()


def test_every_attachable_type_with_its_signature_is_taken(k: Klagomal) -> None:
    ref = register(k).reference
    starts = {
        "application/pdf": PDF,
        # Pictures are real ones: they are opened to remove their metadata (tests/test_photos.py).
        **{
            kind: _picture(fmt)
            for kind, fmt in (
                ("image/jpeg", "JPEG"),
                ("image/png", "PNG"),
                ("image/gif", "GIF"),
                ("image/webp", "WEBP"),
            )
        },
    }
    for n, kind in enumerate(ATTACHABLE_TYPES):
        k.attach(ref, starts.get(kind, b"innehall"), filename=f"fil-{n}", media_type=kind)
    assert [f.content_type for f in k.attachments(ref)] == list(ATTACHABLE_TYPES)


def test_a_protected_persons_file_names_are_hidden_and_disposal_drops_the_bytes(
    k: Klagomal, clock: FixedClock
) -> None:
    ref = _closed(k, contact=HIDDEN)
    k.attach(ref, PDF, filename="Sanna Gömd intyg.pdf")
    omar = k.as_user("omar.ali")
    [event] = [e for e in omar.history(ref) if isinstance(e.data, AttachmentAdded)]
    assert event.data.filename == PROTECTED_PLACEHOLDER
    assert [f.filename for f in omar.attachments(ref)] == [PROTECTED_PLACEHOLDER]
    assert [f.filename for f in k.as_user("kim.berg").attachments(ref)] == ["Sanna Gömd intyg.pdf"]
    with k.storage.transaction() as uow:
        redact_case(uow.conn, k.converter, ref, contact=True, texts=False, marker="[gallrat]")  # type: ignore[attr-defined]
    assert _stored(k, ref) == [("[gallrad]", "application/pdf", len(PDF), None)]
    [event] = [e for e in k.history(ref) if isinstance(e.data, AttachmentAdded)]
    assert event.data.filename == "[gallrad]"


def test_the_persons_export_lists_an_attached_document_as_a_step_not_as_an_email(k: Klagomal) -> None:
    ref = register(k).reference
    k.attach(ref, PDF, filename="brev.pdf")
    [case] = k.person_export(PersonQuery(email="eva@example.se"))["cases"]
    [step] = [s for s in case["events"] if s["label"] == "Bilaga tillagd"]
    assert step["texts"] == [f"brev.pdf (application/pdf, {len(PDF)} byte)"]
    assert case["messages"] == []  # it is no e-mail from the person
    # One who may not see a protected person sees no file name of theirs.
    hidden = register(k, contact=HIDDEN).reference
    k.attach(hidden, PDF, filename="Sanna Gömd intyg.pdf")
    ada = User("ada.utan", "Administratör Ada Utan", Role.DEPARTMENT_ADMIN, departments=("soc",))
    [case] = k.as_user(ada).person_export(PersonQuery(email=HIDDEN.email))["cases"]
    assert [s["texts"] for s in case["events"] if s["label"] == "Bilaga tillagd"] == [
        [f"{PROTECTED_PLACEHOLDER} (application/pdf, {len(PDF)} byte)"]
    ]


def test_a_secret_steps_file_name_is_withheld_from_staff(k: Klagomal) -> None:
    ref = register(k).reference
    case = k.attach(ref, PDF, filename="läkarintyg.pdf")
    k.mark_secret(ref, GROUND, parts=[case.version])
    history = k.history(ref)
    staff = Redaction.for_staff(k.get(ref), history).events(history)
    assert staff[1].data.filename == withheld(GROUND)  # type: ignore[union-attr]


# -- correct-contact ----------------------------------------------------------------------------


def test_a_correction_keeps_the_old_values_and_the_next_letter_goes_to_the_new_ones(
    k: Klagomal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # Exempelkommun delivers e-mail into utskick/
    ref = register(k, contact=Contact(name="Eva Svensson", email="eva.svenson@example.se")).reference
    case = k.as_user("omar.ali").correct_contact(
        ref,
        email=" Eva.Svensson@Example.se ",
        address="Storgatan 1\n123 45 Exempelstad",
        reason="Eva ringde.",
    )
    assert case.contact == Contact(
        name="Eva Svensson", email="Eva.Svensson@example.se", address="Storgatan 1\n123 45 Exempelstad"
    )
    [event] = [e for e in k.history(ref) if isinstance(e.data, ContactCorrected)]
    assert event.data.previous == Contact(name="Eva Svensson", email="eva.svenson@example.se")
    assert (event.data.contact, event.data.reason, event.actor) == (case.contact, "Eva ringde.", "omar.ali")
    entry = [e for e in k.audit_log(reference=ref) if e.action == "ratta_kontakt"][-1]
    assert (entry.user_id, entry.action, entry.detail) == ("omar.ali", "ratta_kontakt", "2 contact_corrected")
    assert k.notices(ref) == []  # a correction tells nobody
    k.acknowledge(ref, "omar.ali", dt.date(2026, 3, 20))
    run = k.deliver()
    assert [n.address for n in run.sent] == ["Eva.Svensson@example.se"]
    assert k.rebuild(ref) == k.get(ref)


def test_a_notice_owed_before_the_correction_goes_to_the_corrected_address(
    k: Klagomal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ref = register(k, contact=Contact(name="Eva Svensson", email="eva.svenson@example.se")).reference
    k.acknowledge(ref, "omar.ali", dt.date(2026, 3, 20))  # the besked waits in the outbox
    k.correct_contact(ref, email="eva.svensson@example.se")
    run = k.deliver()
    assert [(n.kind, n.address) for n in run.sent] == [("besked", "eva.svensson@example.se")]
    [eml] = (tmp_path / "utskick").iterdir()
    assert "eva.svensson@example.se" in eml.read_text(encoding="utf-8")
    assert "eva.svenson@" not in eml.read_text(encoding="utf-8")


def test_a_closed_case_is_corrected_too_gdpr_article_16(k: Klagomal) -> None:
    ref = _closed(k)
    case = k.correct_contact(ref, name="Eva Lindström", reason="Hon har gift sig.")
    assert (case.state.value, case.contact.name if case.contact else None) == ("avslutat", "Eva Lindström")


def test_a_personnummer_is_normalised_and_a_wrong_one_refused_and_logged(k: Klagomal) -> None:
    ref = register(k).reference
    case = k.correct_contact(ref, personnummer="19121212-1212")
    assert case.contact is not None
    assert case.contact.personnummer == "191212121212"
    before = _counts(k)
    with pytest.raises(
        InvalidInputError, match="personnumret är ogiltigt: kontrollsiffran stämmer inte"
    ) as bad:
        k.correct_contact(ref, personnummer="19121212-1213")
    assert "1213" not in str(bad.value)  # never the number itself
    events, entries, *rest = _counts(k)
    assert (events, *rest) == (before[0], *before[2:])
    assert entries == before[1] + 1  # the refused attempt is in the audit log
    assert k.audit_log(reference=None)[-1].action == "ratta_kontakt"


@pytest.mark.parametrize(
    ("changes", "error", "reason"),
    [
        ({"email": "eva@example.se"}, InvalidStepError, "rättelsen ändrar ingenting"),
        ({}, InvalidStepError, "rättelsen ändrar ingenting"),
        ({"email": "eva@"}, InvalidInputError, "e-postadressen"),
        ({"name": "", "email": ""}, InvalidInputError, "ange minst ett sätt att nå personen"),
        (
            {"preferred": "brev"},
            InvalidInputError,
            "personen vill bli kontaktad via brev, men den uppgiften saknas",
        ),
        ({"preferred": "sms"}, InvalidInputError, "okänt kontaktsätt 'sms'"),
        ({"shoe_size": "42"}, InvalidInputError, "okänt fält 'shoe_size'"),
        ({"name": "Eva\nSvensson"}, InvalidInputError, "namnet får inte innehålla radbrytningar"),
        ({"phone": "070 " + "1" * 40}, InvalidInputError, "telefonnumret"),
    ],
    ids=[
        "same",
        "nothing",
        "bad-email",
        "emptied",
        "prefer-missing",
        "prefer-unknown",
        "unknown",
        "newline",
        "long",
    ],
)
def test_a_correction_that_cannot_be_made_is_refused_and_writes_nothing(
    k: Klagomal, changes: dict[str, str], error: type[Exception], reason: str
) -> None:
    ref = register(k).reference
    before = _counts(k)
    with pytest.raises(error) as refused:
        k.correct_contact(ref, **changes)
    assert f"Ärende {ref}" in str(refused.value)
    assert step_label("correct-contact") in str(refused.value)
    assert reason in str(refused.value)
    assert _counts(k) == before


def test_an_anonymous_case_has_no_contact_to_correct(k: Klagomal) -> None:
    ref = register(k, contact=None).reference
    with pytest.raises(
        InvalidStepError, match="ärendet är anonymt; det finns inga kontaktuppgifter att rätta"
    ):
        k.correct_contact(ref, email="eva@example.se")


def test_a_protected_persons_correction_is_for_those_who_may_see_them(k: Klagomal) -> None:
    ref = register(k, contact=HIDDEN).reference
    before = _counts(k)
    with pytest.raises(AccessDeniedError, match="skyddade personuppgifter"):
        k.as_user("omar.ali").correct_contact(ref, phone="070-111 11 11")
    assert _counts(k)[0] == before[0]
    assert k.audit_log()[-1].outcome == "denied"
    k.as_user("kim.berg").correct_contact(ref, address="Hemliga vägen 3")
    # Who may not see her sees neither the old values nor the new.
    [event] = [e for e in k.as_user("omar.ali").history(ref) if isinstance(e.data, ContactCorrected)]
    for value in (event.data.previous, event.data.contact):
        assert (value.name, value.email, value.phone, value.address) == (
            PROTECTED_PLACEHOLDER,
            None,
            None,
            None,
        )
    [event] = [e for e in k.as_user("kim.berg").history(ref) if isinstance(e.data, ContactCorrected)]
    assert event.data.contact.address == "Hemliga vägen 3"
    # An export without skyddade personuppgifter holds neither the old values nor the new.
    exported = json.dumps(k.export(), ensure_ascii=False)
    for value in ("Sanna", "sanna.gomd", "987 65 43", "Hemliga vägen"):
        assert value not in exported, value
    # Search: the new address's name and the e-mail only for who may see them.
    assert k.as_user("omar.ali").search("sanna.gomd@example.se") == []
    assert [f.case.reference for f in k.as_user("kim.berg").search("sanna.gomd@example.se")] == [ref]


def test_a_secret_corrections_values_are_withheld_from_staff(k: Klagomal) -> None:
    ref = register(k).reference
    case = k.correct_contact(ref, phone="070-555 55 55", reason="Ny telefon")
    k.mark_secret(ref, GROUND, parts=[case.version])
    history = k.history(ref)
    data = Redaction.for_staff(k.get(ref), history).events(history)[1].data
    assert isinstance(data, ContactCorrected)
    assert data.reason == withheld(GROUND)
    assert "555" not in repr(data)


def test_search_finds_the_new_values_and_the_old_ones(k: Klagomal) -> None:
    ref = register(k, contact=Contact(name="Eva Svensson", email="eva.gammal@example.se")).reference
    k.correct_contact(ref, name="Eva Lindström", email="eva.ny@example.se")
    for words in ("Lindström", "eva.ny@example.se", "Svensson", "eva.gammal@example.se"):
        assert [f.case.reference for f in k.search(words)] == [ref], words


def test_disposal_scrubs_the_old_and_the_new_values(k: Klagomal) -> None:
    ref = _closed(
        k, contact=Contact(name="Eva Svensson", email="eva.gammal@example.se", phone="070-123 45 67")
    )
    k.correct_contact(ref, name="Eva Lindström", email="eva.ny@example.se", reason="Eva Lindström ringde")
    k.add_note(ref, "Skickat till eva.gammal@example.se, nu eva.ny@example.se.")
    with k.storage.transaction() as uow:
        result = redact_case(uow.conn, k.converter, ref, contact=True, texts=False, marker="[gallrat]")  # type: ignore[attr-defined]
    assert result.contact
    with k.storage.engine.connect() as conn:  # type: ignore[attr-defined]
        stored = " ".join(
            conn.execute(sa.select(tables.events.c.payload).where(tables.events.c.reference == ref)).scalars()
        )
        index = " ".join(
            conn.execute(
                sa.select(tables.search_documents.c.body).where(tables.search_documents.c.reference == ref)
            ).scalars()
        )
    for value in ("Svensson", "Lindström", "eva.gammal", "eva.ny", "123 45 67"):
        assert value not in stored, value
        assert value.lower() not in index, value
    [event] = [e for e in k.history(ref) if isinstance(e.data, ContactCorrected)]
    assert event.data.previous == event.data.contact == Contact(name="[gallrad]")
    assert event.data.reason == "[gallrad] ringde"
    assert k.get(ref).contact == Contact(name="[gallrad]")


def test_the_persons_export_holds_the_correction_and_the_extract_does_not(k: Klagomal) -> None:
    ref = register(k, contact=Contact(name="Eva Svensson", email="eva.gammal@example.se")).reference
    k.correct_contact(ref, email="eva.ny@example.se", phone="070-765 43 21")
    exported = k.person_export(PersonQuery(email="eva.ny@example.se"))
    [case] = exported["cases"]
    [step] = [s for s in case["events"] if s["label"] == "Kontaktuppgifter rättade"]
    assert step["texts"] == [
        "E-post: eva.gammal@example.se → eva.ny@example.se",
        "Telefon: - → 070-765 43 21",
    ]
    extract = k.public_extract(ref)
    shown = json.dumps([p.text for p in extract.parts], ensure_ascii=False)
    assert "eva.ny" not in shown
    assert "765" not in shown
    assert all(part.label != "Kontaktuppgifter rättade" for part in extract.parts)


def test_the_extract_masks_the_old_name_and_the_new_in_the_texts(k: Klagomal) -> None:
    ref = register(k, contact=Contact(name="Eva Svensson", email="eva@example.se")).reference
    k.correct_contact(ref, name="Eva Lindström")
    k.record_action(ref, "Samtal med Svensson, som numera heter Lindström.")
    [part] = [p for p in k.public_extract(ref).parts if p.label == "Åtgärd registrerad"]
    assert part.text == "Samtal med [namn], som numera heter [namn]."


def test_who_may_correct(k: Klagomal) -> None:
    ref = register(k).reference
    for n, user in enumerate(("omar.ali", "lena.holm", "kim.berg", "nora.lind")):
        k.as_user(user).correct_contact(ref, phone=f"070-000 00 0{n}")
    with pytest.raises(AccessDeniedError, match="rätta kontaktuppgifter"):
        k.as_user("sven.ek").correct_contact(ref, phone="070-1")


# -- the command line --------------------------------------------------------------------------


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse
        status = int(exc.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_attach_correct_contact_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'k.db'}", "--user", "nora.lind", "--today", "2026-03-02"]
    assert _cli([*db, "init"], capsys)[0] == 0
    register_argv = [
        "register",
        "--kind",
        "klagomal",
        "--channel",
        "telefon",
        "--unit",
        "soc-aldre-hemtjanst-norr",
    ]
    _cli(
        [*db, *register_argv, "--text", "Sent.", "--name", "Eva Svensson", "--phone", "070-123 45 67"], capsys
    )
    (tmp_path / "brev.pdf").write_bytes(PDF)
    status, out, err = _cli([*db, "attach", "2026-00001", str(tmp_path / "brev.pdf")], capsys)
    assert (status, out, err) == (
        0,
        f"Bifogade brev.pdf (application/pdf, {len(PDF)} byte) till 2026-00001.\n",
        "",
    )
    status, out, err = _cli(
        [
            *db,
            "correct-contact",
            "2026-00001",
            "--email",
            "eva@example.se",
            "--phone",
            "",
            "--prefer",
            "epost",
        ],
        capsys,
    )
    assert (status, err) == (0, "")
    assert out == (
        "Kontaktuppgifterna i 2026-00001 är rättade:\n"
        "  E-post: - → eva@example.se\n"
        "  Telefon: 070-123 45 67 → -\n"
        "  Kontaktsätt: - → epost\n"
    )
    status, out, _err = _cli([*db, "show", "2026-00001"], capsys)
    assert "Kontakt:         Eva Svensson, eva@example.se\n" in out
    history = [
        re.split(r"\s{2,}", line.strip()) for line in out.splitlines() if line.startswith(("  2  ", "  3  "))
    ]
    assert history == [
        [
            "2",
            "2026-03-02",
            "Bilaga tillagd",
            "Systemförvaltare Nora Lind",
            f"brev.pdf (application/pdf, {len(PDF)} byte)",
        ],
        [
            "3",
            "2026-03-02",
            "Kontaktuppgifter rättade",
            "Systemförvaltare Nora Lind",
            "E-post: - → eva@example.se; Telefon: 070-123 45 67 → -; Kontaktsätt: - → epost",
        ],
    ]
    assert f"Bilagor:\n  brev.pdf  application/pdf  {len(PDF)} byte\n" in out
    status, out, err = _cli([*db, "correct-contact", "2026-00001"], capsys)
    assert (status, out) == (1, "")
    assert err.startswith(
        "klagomal: Ärende 2026-00001, steg 'rätta kontaktuppgifter': ange vad som ska rättas"
    )
    status, out, err = _cli([*db, "correct-contact", "2026-00001", "--protected", "--not-protected"], capsys)
    assert status == 2
    status, out, err = _cli([*db, "attach", "2026-00001", str(tmp_path / "finns-inte.pdf")], capsys)
    assert (status, out) == (1, "")
    assert "finns-inte.pdf" in err
    status, out, err = _cli([*db, "--json", "correct-contact", "2026-00001", "--protected"], capsys)
    assert status == 0
    assert json.loads(out)["contact"]["protected"] is True


def _section_example(heading: str) -> list[tuple[str, str]]:
    """The first console block under the heading *heading* of docs/cli.md."""
    return console_block(heading=heading)


def test_the_note_attach_and_correct_contact_examples_in_the_docs_run_as_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_cli import run_session

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KLAGOMAL_USER", "nora.lind")  # as the docs say
    (tmp_path / "brev.pdf").write_bytes(b"%PDF-1.4\nbrev fr\xc3\xa5n Eva\n")
    (tmp_path / "program.exe").write_bytes(b"MZ\x90\x00")
    assert main(["init"]) == 0
    for heading in ("### note", "### attach", "### correct-contact"):
        steps = _section_example(heading)
        assert steps, heading
        assert run_session(steps) == steps


# -- an invariant ------------------------------------------------------------------------------

_VALUES = st.sampled_from(
    ["", "Eva Lind", "eva@example.se", "EVA@Example.se", "070-123 45 67", "bad@", "x\ny"]
)
_CHANGES = st.dictionaries(
    st.sampled_from(["name", "email", "phone", "address", "preferred"]),
    _VALUES | st.sampled_from(["epost", "brev", "telefon"]),
    max_size=4,
)


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(_CHANGES, min_size=1, max_size=5))
def test_a_correction_is_taken_whole_or_not_at_all(steps: list[dict[str, str]]) -> None:
    # Whatever is asked: a refused correction writes nothing; a taken one is
    # the case's contact from then on, with the one before as its previous,
    # and the case replays to what is stored.
    with Klagomal(
        "sqlite://", clock=FixedClock(dt.date(2026, 3, 2)), load_entrypoints=False, user="system"
    ) as k:
        k.init()
        ref = register(k).reference
        for changes in steps:
            before, history = k.get(ref), k.history(ref)
            try:
                after = k.correct_contact(ref, **changes)
            except (InvalidInputError, InvalidStepError):
                assert (k.get(ref), k.history(ref)) == (before, history)
                continue
            last = k.history(ref)[-1].data
            assert isinstance(last, ContactCorrected)
            assert (last.previous, last.contact) == (before.contact, after.contact)
            assert last.previous != last.contact
            assert after.contact is not None
            assert not after.contact.is_empty()
            assert k.rebuild(ref) == after

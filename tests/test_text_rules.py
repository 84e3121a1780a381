"""The text rule (klagomal.core.text_rules): what text is taken in, through every
way in, and how text reaches a terminal; a person's e-mail address checked
at registration (klagomal.notices.mail.check_person_address).

Every step's free texts are tested through the API in tests/test_lifecycle.py
(on every backend); the command line's escaping in tests/test_cli_hygiene.py.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import START, UNIT
from klagomal import InvalidInputError, Klagomal
from klagomal.core.organisation import default_organisation
from klagomal.core.text_rules import (
    CONTACT_MAX,
    TEXT_MAX,
    check_text,
    one_line,
    refused_character,
    several_lines,
    terminal_safe,
)
from klagomal.intake import webform
from klagomal.intake.mailparse import MailLimits
from klagomal.notices.mail import check_address, check_person_address

ORGANISATION = default_organisation()

#: Characters a terminal must never get raw (besides line feed and tab, where kept).
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in _BIDI


# Text with a good share of the characters that matter: controls, surrogates,
# separators, bidi, line breaks, Swedish letters, and anything else.
_SPECIAL = st.sampled_from(
    [
        "\x00",
        "\x1b",
        "\n",
        "\r",
        "\t",
        "\x7f",
        "\x85",
        "\x9b",
        "\ud800",
        "\udcff",
        "\u2028",
        "\u202e",
        "å",
        " ",
    ]
)
TEXTS = st.lists(st.one_of(_SPECIAL, st.characters()), max_size=40).map("".join)


# -- what is taken in ---------------------------------------------------------------------------


@given(TEXTS, st.booleans())
def test_the_rule_refuses_exactly_the_control_characters_and_surrogates(text: str, multiline: bool) -> None:
    # The oracle is Unicode's own categories: Cc (C0, DEL, C1) and Cs, with
    # tab always and line breaks in a text of several lines allowed.
    normalised = text.replace("\r\n", "\n").replace("\r", "\n") if multiline else text
    allowed = {"\t", "\n"} if multiline else {"\t"}
    bad = [
        (i + 1, c)
        for i, c in enumerate(normalised)
        if unicodedata.category(c) in ("Cc", "Cs") and c not in allowed
    ]
    found = refused_character(normalised, multiline=multiline)
    assert found == (bad[0] if bad else None)
    if bad:
        with pytest.raises(InvalidInputError) as refused:
            check_text(text, step="answer", field="svaret", reference="2026-00001", multiline=multiline)
        assert str(refused.value).startswith("Ärende 2026-00001, steg 'besvara': svaret ")
        assert f"tecken {bad[0][0]}" in str(refused.value)
    else:
        assert check_text(text, step="answer", field="svaret", multiline=multiline) == normalised


def test_the_longest_text_is_taken_and_one_more_character_is_not() -> None:
    assert check_text("x" * TEXT_MAX, step="answer", field="svaret") == "x" * TEXT_MAX
    with pytest.raises(
        InvalidInputError, match="svaret är för lång: 50\xa0001 tecken, högst 50\xa0000 tas emot"
    ):
        check_text("x" * (TEXT_MAX + 1), step="answer", field="svaret")


def test_the_ways_in_share_the_limits() -> None:
    # What the web form or the e-mail intake takes, registration takes too.
    by_id = {f.id: f for f in webform.FIELDS}
    form_text = by_id["text"].max_length
    assert form_text is not None
    assert form_text <= TEXT_MAX
    assert MailLimits().max_text_chars <= TEXT_MAX
    for form_id, name in (("namn", "name"), ("epost", "email"), ("telefon", "phone"), ("adress", "address")):
        assert by_id[form_id].max_length == CONTACT_MAX[name], form_id


@given(TEXTS)
def test_the_web_form_refuses_what_registration_refuses(text: str) -> None:
    # One rule: the form's message for a bad character comes exactly when the rule refuses.
    form = {"typ": "klagomal", "text": "Hej", "namn": text, "epost": "eva@example.se"}
    result = webform.validate_form(form, ORGANISATION, today=START)
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    refused = refused_character(cleaned, multiline=False) is not None
    message = getattr(result, "messages", {}).get("namn", "")
    assert ("tecken som inte kan tas emot" in message) == refused


# -- a person's e-mail address ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("bo@example.se\r\nBcc: alla@example.se", "radbrytningar eller andra styrtecken"),
        ("bo@example.se\nBcc: alla@example.se", "radbrytningar eller andra styrtecken"),
        ("a@example.se, ond@example.se", "ange en enda adress"),
        ("a@example.se;ond@example.se", "ange en enda adress"),
        ("a@b@example.se", "ange en enda adress"),
        ('"ond@example.se" <a@example.se>', "utan namn eller tecknen"),
        ("Eva <eva@example.se>", "utan namn eller tecknen"),
        ("eva@example.se (Eva)", "utan namn eller tecknen"),
        ("eva lind@example.se", "blanksteg"),
        ("eva.example.se", "saknar @"),
        ("   ", "den är tom"),
        ("eva@example", "följer inte formen"),
        ("eva@localhost", "följer inte formen"),
        ("eva@example.test", "följer inte formen"),
        ("eva@[192.0.2.1]", "följer inte formen"),
        ("eva..lind@example.se", "följer inte formen"),
        (".eva@example.se", "följer inte formen"),
        ("eva@-example.se", "följer inte formen"),
        ("x" * 65 + "@example.se", "följer inte formen"),
    ],
)
def test_a_bad_address_is_refused_in_swedish_naming_the_step(address: str, why: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_person_address(address, step="bulk-import", reference="A-17")
    message = str(refused.value)
    assert message.startswith("Ärende A-17, steg 'importera ärenden': e-postadressen '")
    assert why in message
    assert "\n" not in message
    assert "\r" not in message


@pytest.mark.parametrize(
    ("address", "kept"),
    [
        ("eva@example.se", "eva@example.se"),
        ("  Eva.Lind@Example.SE ", "Eva.Lind@example.se"),
        ("åsa.öberg@exempel.se", "åsa.öberg@exempel.se"),
        ("eva@bücher.de", "eva@bücher.de"),
        ("o'brien+synpunkt@example.com", "o'brien+synpunkt@example.com"),
    ],
)
def test_a_good_address_is_kept_normalised_and_can_be_delivered_to(address: str, kept: str) -> None:
    assert check_person_address(address) == kept
    check_address(kept)  # what registration keeps, delivery can use


_ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-"
_DOMAINS = [
    "example.se",
    "Example.SE",
    "exempel.kommun.se",
    "bücher.de",
    "xn--bcher-kva.de",
    "ÖREBRO.se",
    "x.test",
    "localhost",
    "example",
    "a..se",
    "-a.se",
    "a-.se",
    "123.456",
    "[192.0.2.1]",
    "a_b.se",
    "x" * 64 + ".se",
]


@given(
    st.lists(st.text(_ATEXT, min_size=1, max_size=12), min_size=1, max_size=4).map(".".join)
    | st.text(_ATEXT + ".", min_size=1, max_size=70),
    st.sampled_from(_DOMAINS),
)
def test_the_plain_address_path_gives_what_email_validator_gives(local: str, domain: str) -> None:
    # check_person_address takes a plain ASCII local part as it is and the
    # domain from email-validator, kept per domain; the whole library must
    # agree on every such address: the same address, or a refusal.
    import email_validator

    address = f"{local}@{domain}"
    try:
        expected: str | None = email_validator.validate_email(
            address, check_deliverability=False, strict=True
        ).normalized
    except email_validator.EmailNotValidError:
        expected = None
    try:
        found: str | None = check_person_address(address)
    except InvalidInputError:
        found = None
    assert found == expected


# -- bulk import and reply cards ----------------------------------------------------------------


def test_bulk_rows_with_bad_texts_or_addresses_go_to_the_rejects_file(k: Klagomal, tmp_path: Path) -> None:
    base = {
        "kind": "klagomal",
        "channel": "telefon",
        "unit": UNIT,
        "text": "Hemtjänsten kom inte.",
        "received": "2026-02-02",
        "name": "Eva Lind",
    }
    rows = [
        {**base, "external_id": "OK-1", "email": " Eva@Example.SE "},
        {**base, "external_id": "BAD-1", "text": "Hej\x1b[2J"},
        {**base, "external_id": "BAD-2", "email": "a@example.se, ond@example.se"},
        {**base, "external_id": "BAD-3", "acknowledged": "2026-02-03", "handler": "Lena\nHolm"},
        {**base, "external_id": "BAD\x00-4"},
        {**base, "external_id": "BAD-5", "name": "E" * 201},
    ]
    path = tmp_path / "old.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    result = k.import_cases(path)
    assert (result.read, result.imported, result.rejected) == (6, 1, 5)
    rejected = [json.loads(line) for line in Path(result.rejects_file or "").read_text("utf-8").splitlines()]
    reasons = {r["line"]: r["reason"] for r in rejected}
    assert "texten innehåller ett styrtecken som inte kan tas emot (U+001B ESC, tecken 4)" in reasons[2]
    assert "ange en enda adress" in reasons[3]
    assert "steg 'ge besked'" in reasons[4]
    assert "handläggare får inte innehålla radbrytningar" in reasons[4]
    assert "external_id innehåller ett styrtecken" in reasons[5]
    assert "namnet är för lång" in reasons[6]
    # Nothing the old system held is lost: each rejected row is kept as it was.
    assert [r["raw"] for r in rejected] == [json.dumps(r, ensure_ascii=False) for r in rows[1:]]
    (case,) = k.cases()
    assert case.contact is not None
    assert case.contact.email == "Eva@example.se"


def test_reply_cards_with_bad_texts_or_addresses_go_to_the_rejects_file(k: Klagomal, tmp_path: Path) -> None:
    path = tmp_path / "kort.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(["kort", "typ", "text", "enhet", "epost"])
        writer.writerow(["1", "berom", "Tack!", UNIT, "eva@example.se"])
        writer.writerow(["2", "klagomal", "Kallt\x00", UNIT, ""])
        writer.writerow(["3", "klagomal", "Kallt", UNIT, "Eva <eva@example.se>"])
    result = k.intake_cards(path)
    assert (result.read, result.imported, result.rejected) == (3, 1, 2)
    rejected = [json.loads(line) for line in Path(result.rejects_file or "").read_text("utf-8").splitlines()]
    assert [r["line"] for r in rejected] == [3, 4]
    assert "texten innehåller ett styrtecken som inte kan tas emot (U+0000 NUL" in rejected[0]["reason"]
    assert "utan namn eller tecknen" in rejected[1]["reason"]


def test_an_e_mail_from_eva_with_her_name_is_registered_with_her_checked_address(k: Klagomal) -> None:
    raw = (
        b"From: Eva Lind <Eva.Lind@Example.SE>\r\nTo: synpunkter@exempelkommun.se\r\n"
        b"Subject: Hemtj\xc3\xa4nsten\r\nMessage-ID: <1@example.se>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nDe kom inte.\r\n"
    )
    outcome = k.receive_email(raw, unit=UNIT)
    assert outcome.outcome == "registered", outcome
    case = k.get(outcome.reference or "")
    assert case.contact is not None
    assert case.contact.email == "Eva.Lind@example.se"


@pytest.mark.parametrize(
    ("sender", "name", "note"),
    [
        (
            b"Eva <eva@localhost>",
            "Eva",
            "avsändarens adress kan inte användas för svar: e-postadressen 'eva@localhost'",
        ),
        (b"eva@[192.0.2.1]", None, "avsändarens adress kan inte användas för svar"),
        ("Å" * 300 + " <eva@example.se>", "Å" * 200, None),
    ],
)
def test_an_e_mail_is_registered_whatever_its_sender_says(
    k: Klagomal, sender: bytes | str, name: str | None, note: str | None
) -> None:
    # The text rule must not send a person's message to the quarantine for
    # good (release would refuse it again): an address that cannot be used
    # is left out with a note, a name too long is cut; the raw message keeps both.
    raw_sender = sender if isinstance(sender, bytes) else f"=?utf-8?b?{_b64(sender)}?=".encode()
    raw = (
        b"From: " + raw_sender + b"\r\nSubject: Kallt\r\nMessage-ID: <x1@example.se>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nDet var kallt i badhuset.\r\n"
    )
    outcome = k.receive_email(raw, unit=UNIT)
    assert outcome.outcome == "registered", outcome
    case = k.get(outcome.reference or "")
    (registered,) = [e.data for e in k.history(case.reference)]
    assert case.text == "Det var kallt i badhuset."
    if name is None:
        assert case.contact is None or case.contact.name is None
    else:
        assert case.contact is not None
        assert case.contact.name == name
    notes = " ".join(getattr(registered, "notes", ()))
    assert (note in notes) if note else ("avsändarens adress" not in notes)


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode("utf-8")).decode("ascii")


# -- what reaches a terminal --------------------------------------------------------------------


@given(TEXTS)
def test_one_line_leaves_nothing_unsafe_and_no_line_break(text: str) -> None:
    shown = one_line(text)
    assert not any(_unsafe(c) for c in shown)
    assert one_line(shown) == shown  # printable text stays as it is


@given(TEXTS)
def test_several_lines_keeps_the_lines_indented_and_nothing_else_unsafe(text: str) -> None:
    shown = several_lines(text, "    ")
    assert not any(_unsafe(c) and c not in "\n\t" for c in shown)
    assert shown.count("\n") == text.count("\n")
    assert all(line.startswith("    ") for line in shown.split("\n")[1:])


@given(
    st.recursive(st.none() | TEXTS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXTS, inner))
)
def test_terminal_safe_json_is_the_same_json(value: object) -> None:
    printed = terminal_safe(json.dumps(value, ensure_ascii=False, indent=1))
    assert not any(_unsafe(c) and c != "\n" for c in printed)
    decoded = json.loads(printed)
    # A high surrogate followed by a low one is no text Python can print (nor
    # decode from UTF-8); escaped, JSON reads the pair as one character.
    if not re.search("[\ud800-\udbff][\udc00-\udfff]", json.dumps(value, ensure_ascii=False)):
        assert decoded == value

"""How a staff message becomes an SMS: subject and body within three SMS,
the body shortened and the case reference never."""

from __future__ import annotations

import pytest
from klagomal.notices.notifiers import StaffMessage

from klagomal_sms import fits, sms_parts, sms_text

REF = "2026-00042"


def message(body: str, subject: str = f"Påminnelse: besked i ärende {REF} senast 2026-03-16") -> StaffMessage:
    return StaffMessage(
        reference=REF,
        kind="paminnelse",
        recipient="Enhetschef Lena Holm",
        role="chef",
        subject=subject,
        body=body,
    )


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("å" * 160, 1),  # å, ä, ö are in the GSM alphabet
        ("ä" * 459, 3),
        ("ö" * 460, 4),
        ("€" * 80, 1),  # two septets each
        ("€" * 81, 2),
        ("–" * 70, 1),  # an en dash sends the whole text as UCS-2
        ("a" * 70 + "–", 2),
        ("ł" * 201, 3),
        ("ł" * 202, 4),
    ],
)
def test_sms_parts_follow_gsm_and_ucs2(text: str, parts: int) -> None:
    assert sms_parts(text) == parts


def test_a_short_message_is_subject_and_body_unchanged() -> None:
    text = sms_text(message("Ärende 2026-00042 (Klagomål) hos Hemtjänst Norr ska ha besked."))
    assert text == (
        f"Påminnelse: besked i ärende {REF} senast 2026-03-16\n"
        "Ärende 2026-00042 (Klagomål) hos Hemtjänst Norr ska ha besked."
    )


def test_a_long_body_is_shortened_to_three_sms_keeping_the_reference() -> None:
    body = "Handläggaren ska ringa personen och förklara vad som händer nu. " * 20
    text = sms_text(message(body))
    assert sms_parts(text) == 3
    assert len(text) <= 459
    assert text.startswith(f"Påminnelse: besked i ärende {REF} senast 2026-03-16\nHandläggaren ska ringa")
    assert text.endswith("...")
    assert not text.endswith(" ...")
    # Cut between words, and nearly all the room is used.
    assert text.removesuffix("...").rsplit(" ", 1)[-1] in body.split()
    assert len(text) > 459 - 20


def test_a_body_with_a_non_gsm_character_gets_ucs2_room() -> None:
    body = "Svaret dröjer – ring personen. " * 20
    text = sms_text(message(body))
    assert sms_parts(text) == 3
    assert len(text) <= 201
    assert REF in text


def test_a_subject_without_the_reference_gets_it_in_front() -> None:
    text = sms_text(message("Text.", subject="Påminnelse om besked"))
    assert text == f"Ärende {REF}: Påminnelse om besked\nText."


def test_in_one_sms_the_reference_survives_even_a_long_subject() -> None:
    subject = f"Påminnelse – besked i ärende {REF} senast måndagen den 16 mars 2026, om två arbetsdagar"
    text = sms_text(message("Mer text.", subject=subject), max_parts=1)
    assert fits(text, 1)
    assert text.startswith(f"{REF}: Påminnelse")


def test_an_empty_body_is_just_the_subject() -> None:
    assert sms_text(message("")) == f"Påminnelse: besked i ärende {REF} senast 2026-03-16"


def test_max_parts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_parts"):
        sms_text(message("x"), max_parts=0)

"""The phone directory: numbers normalised to E.164, every invalid entry
reported when the file is loaded, names found however they are spaced."""

from __future__ import annotations

import pathlib

import pytest
from klagomal import ConfigurationError

from conftest import BIRGITTA, EVA, HANNA, LENA
from klagomal_sms import DirectoryError, PhoneDirectory, UnknownRecipientError, normalise_number


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("070-123 45 67", "+46701234567"),
        ("0701234567", "+46701234567"),
        ("070 123 45 67", "+46701234567"),
        ("070.123.45.67", "+46701234567"),
        ("+46 70 123 45 67", "+46701234567"),
        ("+46 (0)70-123 45 67", "+46701234567"),
        ("+46 070-123 45 67", "+46701234567"),
        ("0046 70 123 45 67", "+46701234567"),
        ("+46701234567", "+46701234567"),
        ("070\u00a0123\u00a045\u00a067", "+46701234567"),  # no-break spaces from a copied web page
        ("08-123 456 78", "+46812345678"),
        ("+47 912 34 567", "+4791234567"),
    ],
)
def test_swedish_ways_of_writing_a_number_become_e164(written: str, e164: str) -> None:
    assert normalise_number(written) == e164


@pytest.mark.parametrize(
    "written",
    ["", "701234567", "070-123", "070-123 45 67 89", "07O-123 45 67", "+0701234567", "tel: 0701234567", "+4"],
)
def test_what_is_not_a_number_is_refused(written: str) -> None:
    with pytest.raises(ValueError, match=r"numret|nummer"):
        normalise_number(written)


def test_a_directory_file_is_loaded_with_numbers_in_e164(directory_file: pathlib.Path) -> None:
    directory = PhoneDirectory.load(directory_file)
    assert dict(directory) == {
        "Enhetschef Lena Holm": LENA,
        "Avdelningschef Birgitta Åberg": BIRGITTA,
        "Socialchef Eva Nyström": EVA,
        "Handläggare Hanna Ek": HANNA,
    }
    # Names as a case or a handler types them: other case, extra spaces.
    assert directory.number_for("enhetschef  Lena holm ") == LENA
    assert "AVDELNINGSCHEF BIRGITTA ÅBERG" in directory
    assert directory.source == str(directory_file)


def test_a_name_not_in_the_directory_is_a_clear_error(directory_file: pathlib.Path) -> None:
    directory = PhoneDirectory.load(directory_file)
    with pytest.raises(UnknownRecipientError) as raised:
        directory.number_for("Enhetschef Bo Lund")
    assert raised.value.recipient == "Enhetschef Bo Lund"
    assert str(raised.value).startswith(
        "SMS till Enhetschef Bo Lund kunde inte skickas: namnet finns inte i "
        f"telefonkatalogen {directory_file}"
    )
    assert "Enhetschef Bo Lund" not in directory


def test_every_invalid_entry_is_reported_at_once(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "katalog.toml"
    path.write_text(
        "[numbers]\n"
        '"Enhetschef Bo Lund" = "070-123"\n'
        '"Enhetschef Lena Holm" = "070-123 45 67"\n'
        '"Handläggare Hanna Ek" = 46701234567\n'
        '"Kanslichef Johan Ek" = "ring växeln"\n',
        encoding="utf-8",
    )
    with pytest.raises(DirectoryError) as raised:
        PhoneDirectory.load(path)
    message = str(raised.value)
    assert message.startswith(
        f"telefonkatalogen {path}: numret '070-123' för 'Enhetschef Bo Lund' är ogiltigt"
    )
    assert "numret för 'Handläggare Hanna Ek' ska skrivas inom citattecken" in message
    assert "numret 'ring växeln' för 'Kanslichef Johan Ek' är ogiltigt" in message
    assert "Lena Holm" not in message
    assert isinstance(raised.value, ConfigurationError)


def test_a_name_twice_is_an_error() -> None:
    with pytest.raises(DirectoryError, match="'enhetschef lena holm' står två gånger"):
        PhoneDirectory({"Enhetschef Lena Holm": "0701234567", "enhetschef lena holm": "0701234568"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '"Enhetschef Lena Holm" = "0701234567"\n',
            r"okända nycklar Enhetschef Lena Holm; .* under \[numbers\]",
        ),
        ("[number]\n", r"okända nycklar number"),
        ("", r"saknar tabellen \[numbers\]"),
        ("[numbers\n", r"är inte giltig TOML"),
    ],
)
def test_a_malformed_file_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(DirectoryError, match=message):
        PhoneDirectory.from_toml(text, source="katalog.toml")


def test_a_missing_file_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(DirectoryError, match=r"telefonkatalogen .*saknas\.toml kan inte läsas: No such file"):
        PhoneDirectory.load(tmp_path / "saknas.toml")

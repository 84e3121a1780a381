"""Personnummer and samordningsnummer (klagomal.core.identity_numbers).

R30: a personnummer is asked for only where the matter needs it, and then it
must be right.  R27: it is personal data, so no error message repeats it.

The fixtures are built with a Luhn implementation written here from the
definition, independent of the ``personnummer`` library the module uses, so
that the two cross-check each other.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from personnummer import personnummer as personnummer_library  # type: ignore[import-untyped]

from klagomal.core.errors import InvalidInputError
from klagomal.core.identity_numbers import PersonNumber, is_person_number, parse_person_number

TODAY = dt.date(2026, 3, 2)


def luhn_digit(nine: str) -> int:
    """The check digit for YYMMDDNNN: double every other digit from the left, add the digit sums."""
    total = 0
    for index, char in enumerate(nine):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def build(born: dt.date, serial: int, *, coordination: bool = False) -> str:
    """A valid twelve-digit number for *born*, as YYYYMMDDNNNC."""
    day = born.day + 60 if coordination else born.day
    body = f"{born.year:04d}{born.month:02d}{day:02d}{serial:03d}"
    return body + str(luhn_digit(body[2:]))


def short(twelve: str, sep: str = "-") -> str:
    """The ten-digit form YYMMDD<sep>NNNC of a twelve-digit number."""
    return f"{twelve[2:8]}{sep}{twelve[8:]}"


def test_the_independent_luhn_agrees_with_skatteverkets_example() -> None:
    # 19121212-1212 is the example number Skatteverket publishes.
    assert luhn_digit("121212121") == 2
    assert build(dt.date(1912, 12, 12), 121) == "191212121212"


# -- valid numbers ---------------------------------------------------------------

SAM_1985 = build(dt.date(1985, 1, 1), 123, coordination=True)  # samordningsnummer: day 61
LEAP_2000 = build(dt.date(2000, 2, 29), 456)

VALID = [
    # (text, digits, coordination, birth date)
    ("19121212-1212", "191212121212", False, dt.date(1912, 12, 12)),
    ("191212121212", "191212121212", False, dt.date(1912, 12, 12)),
    ("121212-1212", "201212121212", False, dt.date(2012, 12, 12)),
    ("1212121212", "201212121212", False, dt.date(2012, 12, 12)),
    ("121212+1212", "191212121212", False, dt.date(1912, 12, 12)),
    ("  19121212-1212\n", "191212121212", False, dt.date(1912, 12, 12)),
    ("\t121212-1212 ", "201212121212", False, dt.date(2012, 12, 12)),
    (SAM_1985, SAM_1985, True, dt.date(1985, 1, 1)),
    (short(SAM_1985), SAM_1985, True, dt.date(1985, 1, 1)),
    (f"{SAM_1985[:8]}-{SAM_1985[8:]}", SAM_1985, True, dt.date(1985, 1, 1)),
    (short(LEAP_2000, ""), LEAP_2000, False, dt.date(2000, 2, 29)),
]


@pytest.mark.parametrize(("text", "digits", "coordination", "born"), VALID)
def test_valid_numbers_are_normalised(text: str, digits: str, coordination: bool, born: dt.date) -> None:
    # R30: whichever of the usual forms the person writes, the number is stored as twelve digits.
    number = parse_person_number(text, today=TODAY)
    assert number == PersonNumber(digits=digits, coordination=coordination)
    assert number.birth_date == born
    assert number.formatted == f"{digits[:8]}-{digits[8:]}"
    assert number.masked == f"{digits[:8]}-XXXX"
    assert is_person_number(text, today=TODAY)


def test_samordningsnummer_keeps_the_day_plus_60_in_the_number() -> None:
    number = parse_person_number(SAM_1985, today=TODAY)
    assert number.coordination
    assert number.formatted.startswith("19850161-")
    assert number.birth_date == dt.date(1985, 1, 1)
    assert number.age(TODAY) == 41


# -- the century of a ten-digit number, around the 100-year boundary --------------------


def _at(born_yymmdd: str, sep: str) -> str:
    """A ten-digit number for YYMMDD whose check digit is right."""
    body = born_yymmdd + "234"
    return f"{born_yymmdd}{sep}234{luhn_digit(body)}"


CENTURY = [
    # (yymmdd, separator, today, birth date, age on that day)
    ("260302", "-", TODAY, dt.date(2026, 3, 2), 0),  # born today
    ("260301", "-", TODAY, dt.date(2026, 3, 1), 0),
    ("260303", "-", TODAY, dt.date(1926, 3, 3), 99),  # tomorrow's date: a hundred years ago, still 99
    ("260302", "+", TODAY, dt.date(1926, 3, 2), 100),  # turns 100 today
    ("260303", "+", TODAY, dt.date(1826, 3, 3), 199),  # not yet 100 in 1926, so 1826
    ("260302", "-", dt.date(2026, 3, 1), dt.date(1926, 3, 2), 99),
    ("260302", "+", dt.date(2026, 3, 1), dt.date(1826, 3, 2), 199),
    ("270101", "-", TODAY, dt.date(1927, 1, 1), 99),
    ("000101", "-", TODAY, dt.date(2000, 1, 1), 26),
    ("991231", "-", TODAY, dt.date(1999, 12, 31), 26),
    ("991231", "+", TODAY, dt.date(1899, 12, 31), 126),
    ("000229", "-", TODAY, dt.date(2000, 2, 29), 26),
]


@pytest.mark.parametrize(("yymmdd", "sep", "today", "born", "age"), CENTURY)
def test_the_century_follows_the_separator_and_today(
    yymmdd: str, sep: str, today: dt.date, born: dt.date, age: int
) -> None:
    number = parse_person_number(_at(yymmdd, sep), today=today)
    assert number.birth_date == born
    assert number.age(today) == age
    assert (age >= 100) == (sep == "+")


def test_the_result_depends_on_today_only_not_on_the_system_date(monkeypatch: pytest.MonkeyPatch) -> None:
    # The library would pick the century from the real date; the module must not let it.
    text = _at("260303", "-")
    expected = parse_person_number(text, today=TODAY)
    monkeypatch.setattr(personnummer_library, "_get_current_date", lambda: dt.date(2099, 1, 1))
    assert parse_person_number(text, today=TODAY) == expected
    monkeypatch.setattr(personnummer_library, "_get_current_date", lambda: dt.date(1950, 1, 1))
    assert parse_person_number(text, today=TODAY) == expected


def test_age_counts_from_the_birthday() -> None:
    number = parse_person_number("19121212-1212", today=TODAY)
    assert number.age(dt.date(2012, 12, 11)) == 99
    assert number.age(dt.date(2012, 12, 12)) == 100


# -- refused numbers ------------------------------------------------------------------

FORMAT = "10 eller 12 siffror"
REFUSED = [
    # (text, what the reason says)
    ("850101-1235", "kontrollsiffran stämmer inte"),  # the right check digit is 6
    ("19850101-1235", "kontrollsiffran stämmer inte"),
    ("850230-4560", "giltigt datum"),  # 30 February
    ("851301-4560", "giltigt datum"),  # month 13
    ("850100-4560", "giltigt datum"),  # day 00
    ("850160-4560", "giltigt datum"),  # day 60 is neither a day nor a samordningsnummer
    ("850192-4560", "samordningsnumret"),  # day 92: 92 - 60 = 32
    ("850229-4560", "giltigt datum"),  # 1985 is no leap year
    ("000229+4560", "giltigt datum"),  # 1900 was no leap year
    ("20270101-4560", "framtiden"),
    ("20260303-4560", "framtiden"),  # tomorrow
    ("850101-0004", "000"),  # födelsenummer 000
    ("abcdefghij", FORMAT),
    ("8501O1-4560", FORMAT),  # a letter O for a zero
    ("850101-456", FORMAT),  # 9 digits
    ("85010145", FORMAT),
    ("85010145607", FORMAT),  # 11 digits
    ("8501014560788", FORMAT),  # 13 digits
    ("", FORMAT),
    ("   ", FORMAT),
    ("19850101+4560", FORMAT),  # the + belongs to the ten-digit form only
    ("850101 4560", FORMAT),  # a space is no separator here
    ("850101--4560", FORMAT),
    ("٨٥٠١٠١-٤٥٦٠", FORMAT),  # Arabic-Indic digits are not accepted
]


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_refused_numbers_say_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_person_number(text, today=TODAY)
    assert reason in caught.value.reason
    assert caught.value.step is None  # the caller names the step
    assert not is_person_number(text, today=TODAY)


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_error_messages_do_not_repeat_the_number(text: str, reason: str) -> None:
    # R27: the message goes to logs; it says what is wrong, never which number it was.
    with pytest.raises(InvalidInputError) as caught:
        parse_person_number(text, today=TODAY)
    message = str(caught.value)
    digits = re.sub(r"[^0-9]", "", text)
    if text.strip():
        assert text.strip() not in message
    # No four digits of the input in a row (the example number in the format message is 19121212-1212,
    # which none of the inputs above shares four digits with).
    for start in range(len(digits) - 3):
        assert digits[start : start + 4] not in message


def test_the_wrong_check_digit_fixture_is_really_wrong() -> None:
    assert luhn_digit("850101123") == 6
    assert luhn_digit("850101456") == 0  # 850101-4560 is valid: the errors above come from the date
    assert is_person_number("850101-4560", today=TODAY)


def test_person_number_requires_twelve_digits() -> None:
    with pytest.raises(ValueError, match="twelve digits"):
        PersonNumber(digits="8501014560", coordination=False)


# -- properties ---------------------------------------------------------------------

dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY)
serials = st.integers(min_value=1, max_value=999)


@given(born=dates, serial=serials, coordination=st.booleans())
def test_every_valid_number_parses_and_round_trips(born: dt.date, serial: int, coordination: bool) -> None:
    twelve = build(born, serial, coordination=coordination)
    number = parse_person_number(twelve, today=TODAY)
    assert number.digits == twelve
    assert number.coordination == coordination
    assert number.birth_date == born
    assert parse_person_number(number.formatted, today=TODAY) == number
    # The ten-digit form with the separator that fits the age gives the same number.
    sep = "+" if number.age(TODAY) >= 100 else "-"
    assert parse_person_number(short(twelve, sep), today=TODAY) == number
    if sep == "-":
        assert parse_person_number(short(twelve, ""), today=TODAY) == number


@given(digits=st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_a_wrong_check_digit_is_always_refused(digits: str) -> None:
    assume(luhn_digit(digits[2:11]) != int(digits[11]))
    with pytest.raises(InvalidInputError):
        parse_person_number(digits, today=TODAY)
    assert not is_person_number(digits, today=TODAY)


@given(born=dates, serial=serials, wrong=st.integers(min_value=1, max_value=9))
def test_any_other_check_digit_is_refused_with_that_reason(born: dt.date, serial: int, wrong: int) -> None:
    twelve = build(born, serial)
    altered = twelve[:11] + str((int(twelve[11]) + wrong) % 10)
    with pytest.raises(InvalidInputError, match="kontrollsiffran stämmer inte"):
        parse_person_number(altered, today=TODAY)

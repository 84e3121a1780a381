"""Dates and numbers for people, the Swedish way (klagomal.core.formats).

Invariants over every date of the calendar klagomal accepts and over
numbers of every size, checked with hypothesis; where Babel is installed,
the same dates and numbers are compared with its Swedish (CLDR) formats.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from klagomal.core import formats
from klagomal.core.formats import (
    MONTH_ABBREVIATIONS,
    MONTHS,
    NO_BREAK_SPACE,
    amount,
    date_span,
    month_name,
    name_and_title,
    number,
    parse_swedish_date,
    percent,
    swedish_date,
    swedish_date_time,
    swedish_month,
)

#: The years a period may lie in (klagomal.reports.periods), and a margin.
DATES = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31))

#: A number as the formatter writes it: digits grouped in threes by a no-break
#: space from four digits on, a decimal comma, a hyphen-minus for a negative one.
SWEDISH_NUMBER = re.compile(r"-?(\d{1,3}(\u00a0\d{3})+|\d{1,3})(,\d+)?")


def parse_number(text: str) -> decimal.Decimal:
    """The value of a number written the Swedish way (the test's own inverse)."""
    assert SWEDISH_NUMBER.fullmatch(text), text
    return decimal.Decimal(text.replace(NO_BREAK_SPACE, "").replace(",", "."))


# -- dates -------------------------------------------------------------------------------------


@given(DATES)
def test_every_date_has_its_month_name_and_round_trips(day: dt.date) -> None:
    text = swedish_date(day)
    assert text == f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    assert text.split(" ")[1] == month_name(day.month)
    assert not text.startswith("0")  # "8 januari", never "08 januari"
    assert text == text.lower()  # month names in lower case, as a sentence writes them
    assert parse_swedish_date(text) == day
    assert swedish_month(day) == text.split(" ", 1)[1]


@given(DATES, st.times())
def test_a_point_in_time_is_the_date_and_the_clock(day: dt.date, time: dt.time) -> None:
    moment = dt.datetime.combine(day, time)
    assert swedish_date_time(moment) == f"{swedish_date(day)} kl. {time.hour:02d}:{time.minute:02d}"
    # A datetime is also a date: swedish_date writes its day.
    assert swedish_date(moment) == swedish_date(day)


@given(DATES, st.integers(min_value=0, max_value=800))
def test_a_span_says_the_shared_month_and_year_once(start: dt.date, days: int) -> None:
    end = start + dt.timedelta(days=days)
    text = date_span(start, end)
    years = re.findall(r"\b\d{4}\b", text)
    months = [word for word in re.findall(r"[a-zåäö]+", text) if word in MONTHS]
    if start == end:
        assert text == swedish_date(start)
        return
    assert years == ([str(end.year)] if start.year == end.year else [str(start.year), str(end.year)])
    same_month = (start.year, start.month) == (end.year, end.month)
    assert months == (
        [MONTHS[end.month - 1]] if same_month else [MONTHS[start.month - 1], MONTHS[end.month - 1]]
    )
    # What the first date leaves out it shares with the last: together they give the start back.
    first, last = text.split("–")
    words = first.split(" ")
    assert parse_swedish_date(" ".join([*words, *last.split(" ")[len(words) :]])) == start
    assert parse_swedish_date(last) == end


def test_span_examples_and_a_backwards_span() -> None:
    assert date_span(dt.date(2026, 12, 3), dt.date(2026, 12, 18)) == "3–18 december 2026"
    assert date_span(dt.date(2026, 11, 30), dt.date(2026, 12, 18)) == "30 november–18 december 2026"
    assert date_span(dt.date(2026, 12, 30), dt.date(2027, 1, 8)) == "30 december 2026–8 januari 2027"
    with pytest.raises(ValueError, match="perioden slutar 1 januari 2026 före sin början 2 januari 2026"):
        date_span(dt.date(2026, 1, 2), dt.date(2026, 1, 1))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-12-18", "'2026-12-18' är inget datum skrivet som 8 januari 2027"),
        ("18 dec 2026", "'18 dec 2026' är inget datum skrivet som 8 januari 2027"),
        ("31 februari 2026", "'31 februari 2026' är ett datum som inte finns"),
    ],
)
def test_a_date_that_is_not_one_is_refused_in_swedish(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_swedish_date(text)


@pytest.mark.parametrize("value", ["2026-12-18", None, 20261218])
def test_a_value_that_is_no_date_is_named(value: object) -> None:
    with pytest.raises(TypeError, match=re.escape(f"datum: {value!r} är inget datum")):
        swedish_date(value)  # type: ignore[arg-type]


def test_month_names_and_abbreviations() -> None:
    assert month_name(3) == "mars"
    assert MONTH_ABBREVIATIONS[2] == "mars"
    assert MONTH_ABBREVIATIONS[0] == "jan."
    for bad in (0, 13, True):
        with pytest.raises(ValueError, match="ange 1–12"):
            month_name(bad)


def test_the_old_import_path_of_letters_still_works() -> None:
    from klagomal.notices import letters

    assert letters.swedish_date is formats.swedish_date
    assert letters.MONTHS is formats.MONTHS


# -- numbers -----------------------------------------------------------------------------------


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_every_integer_is_grouped_in_threes_and_reads_back(value: int) -> None:
    text = number(value)
    assert parse_number(text) == value
    assert "." not in text
    assert "," not in text
    digits = len(str(abs(value)))
    assert (NO_BREAK_SPACE in text) == (digits >= 4)
    assert " " not in text  # never a space a line could break at


@given(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
    st.integers(min_value=0, max_value=4),
)
def test_every_number_has_a_decimal_comma_and_is_rounded_half_up(value: float, decimals: int) -> None:
    text = number(value, decimals)
    assert "." not in text
    whole_and_fraction = text.lstrip("-").split(",")
    assert len(whole_and_fraction) == (2 if decimals else 1)
    if decimals:
        assert len(whole_and_fraction[1]) == decimals
    exact = decimal.Decimal(str(value))
    expected = exact.quantize(decimal.Decimal(1).scaleb(-decimals), rounding=decimal.ROUND_HALF_UP)
    assert parse_number(text) == expected


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9))
def test_a_percentage_is_the_number_and_a_no_break_space_before_the_sign(value: float) -> None:
    text = percent(value)
    assert text.endswith("\u00a0%")
    assert parse_number(text[:-2]) == parse_number(number(value, 1))


def test_number_examples() -> None:
    assert number(5000) == "5\u00a0000"
    assert number(999) == "999"
    assert number(1234.5) == "1\u00a0234,5"
    assert number(2.5, 0) == "3"  # half up, not to even
    assert number(0.125, 2) == "0,13"  # the decimal value written, not the binary float
    assert number(-0.04, 1) == "0,0"  # no "-0,0"
    assert number(-1234) == "-1\u00a0234"
    assert number(0.1 + 0.2) == "0,3"
    assert number(decimal.Decimal("1.50")) == "1,5"
    assert number(12, sign=True) == "+12"
    assert number(0, sign=True) == "0"
    assert percent(93.94) == "93,9\u00a0%"
    assert percent(100) == "100,0\u00a0%"
    assert percent(-5, 0, sign=True) == "-5\u00a0%"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "12", None, True])
def test_what_is_no_number_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="tal"):
        number(value)  # type: ignore[arg-type]


def test_counts_in_running_text() -> None:
    assert [amount(n) for n in (1, 5, 10, 12, 13, 5000)] == ["en", "fem", "tio", "tolv", "13", "5\u00a0000"]


# -- names and titles ---------------------------------------------------------------------------


def test_every_person_in_the_example_organisation_splits_into_name_and_title() -> None:
    from klagomal.core.organisation import default_organisation

    org = default_organisation()
    people = [u.manager for u in org.units.values()]
    people += [d.board_secretary for d in org.departments.values() if d.board_secretary]
    for person in people:
        name, title = name_and_title(person)
        assert title is not None, person
        assert f"{title} {name}" == person
        assert all(word[:1].isupper() for word in name.split()), person
    assert name_and_title("Enhetschef Robert Axelsson") == ("Robert Axelsson", "Enhetschef")
    assert name_and_title("Barn- och utbildningschef Ingrid Lundgren") == (
        "Ingrid Lundgren",
        "Barn- och utbildningschef",
    )
    assert name_and_title("Robert Axelsson, enhetschef") == ("Robert Axelsson", "Enhetschef")


#: A word of a name; one that ends like a title ("Bo Schef") is taken for one, a known limit.
NAME_WORD = st.from_regex(r"[A-ZÅÄÖ][a-zåäö]{1,10}", fullmatch=True).filter(
    lambda word: name_and_title(f"{word} Ek")[1] is None
)


@given(
    st.sampled_from(
        ["Enhetschef", "Nämndsekreterare", "Rektor", "Kommundirektör", "Barn- och utbildningschef"]
    ),
    st.lists(NAME_WORD, min_size=1, max_size=3),
)
def test_a_title_before_any_name_comes_apart(title: str, words: list[str]) -> None:
    name = " ".join(words)
    assert name_and_title(f"{title} {name}") == (name, title)
    assert name_and_title(f"{name}, {title.lower()}") == (name, title[:1].upper() + title[1:].lower())


@pytest.mark.parametrize("text", ["Lena Holm", "Socialnämnden", "Anna Schef", "Enhetschef", "Åsa Öberg"])
def test_a_name_without_a_title_is_kept_whole(text: str) -> None:
    assert name_and_title(text) == (text, None)


# -- the same as Babel's Swedish, where Babel is installed --------------------------------------


@given(DATES)
def test_dates_agree_with_babels_swedish(day: dt.date) -> None:
    babel_dates = pytest.importorskip("babel.dates")
    assert swedish_date(day) == babel_dates.format_date(day, "d MMMM y", locale="sv")
    assert MONTH_ABBREVIATIONS[day.month - 1] == babel_dates.format_date(day, "MMM", locale="sv")


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(min_value=0, max_value=3))
def test_numbers_agree_with_babels_swedish(value: int, decimals: int) -> None:
    babel_numbers = pytest.importorskip("babel.numbers")
    scaled = decimal.Decimal(value).scaleb(-decimals)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    assert number(scaled, decimals) == babel_numbers.format_decimal(scaled, pattern, locale="sv")


@given(st.integers(min_value=0, max_value=2**40))
def test_a_file_size_reads_back_to_within_its_rounding(n: int) -> None:
    shown = formats.file_size(n)
    value, unit = shown.rsplit(" " if shown.endswith(" byte") else formats.NO_BREAK_SPACE, 1)
    assert SWEDISH_NUMBER.fullmatch(value), shown
    scale = {"byte": 1, "kB": 1024, "MB": 1024 * 1024}[unit]
    assert unit == ("byte" if n < 1024 else "kB" if n < 1024 * 1024 else "MB")
    read = float(value.replace(formats.NO_BREAK_SPACE, "").replace(",", ".")) * scale
    assert abs(read - n) <= 0.05 * scale, (n, shown)

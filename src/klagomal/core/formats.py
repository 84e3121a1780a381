"""Dates and numbers as Swedish readers expect them: one style for people.

Everything a person, a member of staff or a politician reads writes its
dates and numbers through this module, so that a letter, the web form's
receipt and a report never disagree ("18 december 2026" in one place,
"2026-12-18" in another).  The style follows Svenska skrivregler
(Språkrådet) and the Swedish locale data of the Unicode CLDR, which Babel
uses, without depending on either:

* **Dates** are written in words for people: ``18 december 2026``, the day
  without a leading zero and the month in lower case (:func:`swedish_date`);
  inside :func:`klagomal.core.i18n.use_language` the catalogue of that
  language gives the month and the order ("8 January 2027").
  ISO 8601 (``2026-12-18``) stays for machines, files, command lines and
  tables meant to be sorted.
* **Times** use a colon, ``kl. 14:30``, as the ISO style Språkrådet accepts
  alongside ``14.30``; the colon is what clocks and timetables show.
* **Numbers** have a decimal comma (``93,9``) and group the digits in
  threes from the right with a **no-break space**, U+00A0, from four digits
  on (``5 000``, ``12 500``), as CLDR's Swedish does.  A no-break space is a
  space to the eye, in print, on a screen and in a plain-text e-mail, but a
  number is never broken over two lines.  (The thin space some typographers
  prefer is breakable, and its no-break form, U+202F, is missing from many
  e-mail and terminal fonts.)
* **Negative numbers** take the hyphen-minus ``-``, as Babel writes them:
  the typographer's minus sign (U+2212) that CLDR names is read as text,
  not as a number, by a spreadsheet a figure is copied into.
* **Per cent** has a no-break space before the sign: ``93,9 %``.
* **Rounding** is half up, as Swedes learn it (``2,5`` → ``3``), applied to
  the decimal value written (so ``0.125`` to two decimals is ``0,13``), not
  the binary float's banker's rounding.

The month names are Swedish by definition: a catalogue that translates the
letters brings its own date style with it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Iterable

from klagomal.core.i18n import DEFAULT_LANGUAGE, _, active_language

__all__ = [
    "MINUS",
    "MONTHS",
    "MONTH_ABBREVIATIONS",
    "NO_BREAK_SPACE",
    "WEEKDAYS",
    "amount",
    "date_span",
    "file_size",
    "join_names",
    "month_name",
    "name_and_title",
    "number",
    "parse_swedish_date",
    "percent",
    "swedish_date",
    "swedish_date_time",
    "swedish_month",
]

#: The Swedish month names, January first, in lower case as a sentence writes them.
MONTHS = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)

#: The month names shortened as Svenska skrivregler and CLDR's Swedish do:
#: a full stop where letters were left out, none where the name is short
#: already (``mars``, ``maj``, ``juni``, ``juli``).  For chart axes and tables.
MONTH_ABBREVIATIONS = (
    "jan.",
    "feb.",
    "mars",
    "apr.",
    "maj",
    "juni",
    "juli",
    "aug.",
    "sep.",
    "okt.",
    "nov.",
    "dec.",
)

#: The Swedish weekday names, Monday first (``date.weekday()`` order).
WEEKDAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")

#: The thousands separator: a space to the eye that never breaks a number over two lines.
NO_BREAK_SPACE = "\u00a0"

#: The sign of a negative number.
MINUS = "-"


def _check_date(value: object, what: str) -> dt.date:
    """*value* if it is a date; else a clear error.

    A template engine's "undefined" value (Jinja2's ``StrictUndefined``, say)
    is turned into text first, so that it raises its own error naming the
    missing name instead of this one; the module does not import the engine.
    """
    if isinstance(value, dt.date):
        return value
    if type(value).__module__.split(".")[0] == "jinja2":
        str(value)
    raise TypeError(_("{what}: {value!r} är inget datum").format(what=what, value=value))


def swedish_date(day: dt.date) -> str:
    """``8 januari 2027``: a date as a Swedish letter writes it.

    A :class:`datetime.datetime` gives its date.  Anything else is a
    :class:`TypeError` that names it.
    """
    day = _check_date(day, "datum")
    if active_language() == DEFAULT_LANGUAGE:
        return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    # A letter in another language (klagomal.core.i18n.use_language): the
    # catalogue gives the month's name and the order ("8 January 2027").
    # TRANSLATORS: a date in a letter; {day} and {year} are numbers, {month} a month's name.
    return _("{day} {month} {year}").format(day=day.day, month=_month_names()[day.month - 1], year=day.year)


def _month_names() -> tuple[str, ...]:
    """The months' names in the active language (literal calls, so that the
    catalogues' extraction finds them)."""
    return (
        _("januari"),
        _("februari"),
        _("mars"),
        _("april"),
        _("maj"),
        _("juni"),
        _("juli"),
        _("augusti"),
        _("september"),
        _("oktober"),
        _("november"),
        _("december"),
    )


def swedish_date_time(moment: dt.datetime) -> str:
    """``8 januari 2027 kl. 14:05``: a point in time for people, in its own
    time zone (convert it first when it is not the reader's)."""
    if not isinstance(moment, dt.datetime):
        _check_date(moment, "tidpunkt")
        raise TypeError(_("tidpunkt: {value!r} har ingen tid").format(value=moment))
    return _("{date} kl. {hour:02d}:{minute:02d}").format(
        date=swedish_date(moment), hour=moment.hour, minute=moment.minute
    )


def month_name(month: int) -> str:
    """The Swedish name of month *month* (1–12): ``mars``."""
    if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
        raise ValueError(_("månad {value!r} finns inte; ange 1–12").format(value=month))
    return MONTHS[month - 1]


def swedish_month(day: dt.date) -> str:
    """``december 2026``: the month *day* lies in, with its year."""
    day = _check_date(day, "månad")
    return f"{MONTHS[day.month - 1]} {day.year}"


def date_span(start: dt.date, end: dt.date) -> str:
    """A span of days as one phrase, saying the month and the year once where
    they are shared: ``3–18 december 2026``, ``30 november–18 december 2026``,
    ``30 december 2026–8 januari 2027``, or one date when *start* is *end*.
    The dash is an en dash, unspaced between single dates (Svenska skrivregler)."""
    start, end = _check_date(start, "datum"), _check_date(end, "datum")
    if end < start:
        raise ValueError(
            _("perioden slutar {end} före sin början {start}").format(
                end=swedish_date(end), start=swedish_date(start)
            )
        )
    if start == end:
        return swedish_date(start)
    if start.year != end.year:
        return f"{swedish_date(start)}–{swedish_date(end)}"
    if start.month != end.month:
        return f"{start.day} {MONTHS[start.month - 1]}–{swedish_date(end)}"
    return f"{start.day}–{swedish_date(end)}"


_DATE = re.compile(r"\s*(\d{1,2})\s+([a-zåäö]+)\s+(\d{4})\s*", re.IGNORECASE)


def join_names(names: Iterable[object]) -> str:
    """``Anna, Bo och Cecilia``: names as a Swedish sentence lists them.

    >>> join_names(["Anna", "Bo", "Cecilia"])
    'Anna, Bo och Cecilia'
    >>> join_names(["Anna"])
    'Anna'
    """
    items = [str(name) for name in names]
    if len(items) <= 1:
        return "".join(items)
    return _("{first} och {last}").format(first=", ".join(items[:-1]), last=items[-1])


def parse_swedish_date(text: str) -> dt.date:
    """The date *text* writes the Swedish way (``8 januari 2027``), the
    inverse of :func:`swedish_date`.

    :raises ValueError: naming the text, when it is no such date.
    """
    match = _DATE.fullmatch(text)
    month = match.group(2).lower() if match else ""
    if match is None or month not in MONTHS:
        raise ValueError(_("'{text}' är inget datum skrivet som 8 januari 2027").format(text=text))
    try:
        return dt.date(int(match.group(3)), MONTHS.index(month) + 1, int(match.group(1)))
    except ValueError:
        raise ValueError(_("'{text}' är ett datum som inte finns").format(text=text)) from None


def _group(digits: str) -> str:
    """*digits* in groups of three from the right, from four digits on."""
    if len(digits) < 4:
        return digits
    head = len(digits) % 3 or 3
    groups = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return NO_BREAK_SPACE.join(groups)


def number(value: int | float | decimal.Decimal, decimals: int | None = None, *, sign: bool = False) -> str:
    """*value* written the Swedish way: ``5 000``, ``1 234,5``, ``-3``.

    :param decimals: how many decimals to write, rounded half up; ``None``
        writes an integer as it is and any other number with the decimals
        it needs, at most six.
    :param sign: write ``+`` before a number above zero, for a change.
    :raises ValueError: for a value that is not a finite number.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | decimal.Decimal):
        raise ValueError(_("{value!r} är inget tal").format(value=value))
    exact = decimal.Decimal(value) if isinstance(value, int) else decimal.Decimal(str(value))
    if not exact.is_finite():
        raise ValueError(_("{value!r} är inget ändligt tal").format(value=value))
    if decimals is not None and (isinstance(decimals, bool) or decimals < 0):
        raise ValueError(_("antalet decimaler ska vara 0 eller fler, inte {value!r}").format(value=decimals))
    if decimals is not None:
        places = decimals
    elif isinstance(value, int):
        places = 0
    else:
        exponent = exact.normalize().as_tuple().exponent
        places = min(6, max(0, -exponent)) if isinstance(exponent, int) else 0
    # Enough precision for every digit of the value and the decimals asked for.
    context = decimal.Context(prec=max(28, exact.adjusted() + places + 2))
    rounded = exact.quantize(
        decimal.Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_UP, context=context
    )
    text = f"{rounded.copy_abs():.{places}f}"
    whole, _dot, fraction = text.partition(".")
    if decimals is None:
        fraction = fraction.rstrip("0")
    body = _group(whole) + ("," + fraction if fraction else "")
    if rounded < 0:
        return MINUS + body
    if sign and rounded > 0:
        return "+" + body
    return body


def file_size(n: int) -> str:
    """*n* bytes for a Swedish reader: ``512 byte``, ``1,5 kB``, ``31 MB``
    (1 kB is 1 024 bytes, as file managers count).

    >>> file_size(512), file_size(1536), file_size(31 * 1024 * 1024)
    ('512 byte', '1,5\xa0kB', '31\xa0MB')
    """
    if n < 1024:
        return f"{number(n)} byte"
    value, unit = (n / 1024, "kB") if n < 1024 * 1024 else (n / (1024 * 1024), "MB")
    return f"{number(value, 1).removesuffix(',0')}{NO_BREAK_SPACE}{unit}"


def percent(value: int | float | decimal.Decimal, decimals: int = 1, *, sign: bool = False) -> str:
    """*value*, a number of per cent, written the Swedish way: ``93,9 %``
    (``percent(93.94)``), with a no-break space before the sign.  A share
    between 0 and 1 is multiplied by 100 by the caller."""
    return f"{number(value, decimals, sign=sign)}{NO_BREAK_SPACE}%"


#: Numbers written in words in running text: one to twelve (Svenska
#: skrivregler), in the common gender ("en arbetsdag").
_WORDS = ("en", "två", "tre", "fyra", "fem", "sex", "sju", "åtta", "nio", "tio", "elva", "tolv")


def amount(n: int) -> str:
    """*n* as running text writes a count: ``tio`` for one to twelve, else
    the number (``14``, ``5 000``)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(_("{value!r} är inget heltal").format(value=n))
    if not 1 <= n <= len(_WORDS):
        return number(n)
    if active_language() == DEFAULT_LANGUAGE:
        return _WORDS[n - 1]
    words = (
        _("en"),
        _("två"),
        _("tre"),
        _("fyra"),
        _("fem"),
        _("sex"),
        _("sju"),
        _("åtta"),
        _("nio"),
        _("tio"),
        _("elva"),
        _("tolv"),
    )
    return words[n - 1]


# -- names and titles ------------------------------------------------------------

#: How Swedish job titles end ("Enhetschef", "Nämndsekreterare", "Rektor",
#: "Kommundirektör"): a word ending so, followed by a name, is a title.
_TITLE_ENDINGS = (
    "chef",
    "direktör",
    "sekreterare",
    "rektor",
    "handläggare",
    "samordnare",
    "ansvarig",
    "ombud",
    "ombudsman",
    "assistent",
    "strateg",
    "ordförande",
    "controller",
    "föreståndare",
    "kurator",
    "sköterska",
    "läkare",
    "lärare",
    "pedagog",
    "bibliotekarie",
    "vaktmästare",
    "administratör",
    "registrator",
    "arkivarie",
    "jurist",
    "ingenjör",
    "inspektör",
    "planerare",
    "arkitekt",
    "biträde",
    "ledare",
    "konsulent",
    "kommunikatör",
    "specialist",
    "utredare",
    "intendent",
)


def _is_title_word(word: str) -> bool:
    return word.strip(",.").lower().endswith(_TITLE_ENDINGS)


def name_and_title(text: str) -> tuple[str, str | None]:
    """The name and the title in *text* as an organisation file writes a
    person: ``("Robert Axelsson", "Enhetschef")`` from ``Enhetschef Robert
    Axelsson`` or ``Robert Axelsson, enhetschef``; ``(text, None)`` when no
    title can be told apart.

    A title is the words up to the last one that ends like a Swedish job
    title (``…chef``, ``…sekreterare``, ``Rektor``, ...) and is followed by
    words that start with a capital letter, the name; so ``Barn- och
    utbildningschef Ingrid Lundgren`` and ``Kommunstyrelsens sekreterare
    Johan Ek`` split too.  The title is returned as it begins a line, with a
    capital letter; greet and sign with the name.  A name with a word that
    ends like a title (``Bo Schef Lind``) would be cut there: write such a
    person with the title after a comma, ``Bo Schef Lind, enhetschef``.
    """
    text = " ".join(str(text).split())
    if "," in text:
        name, _comma, title = (part.strip() for part in text.partition(","))
        if name and title and all(_is_title_word(w) or w.islower() for w in title.split()):
            return name, title[:1].upper() + title[1:]
    words = text.split(" ")
    for i in range(len(words) - 2, -1, -1):
        rest = words[i + 1 :]
        if _is_title_word(words[i]) and all(w[:1].isupper() for w in rest):
            title = " ".join(words[: i + 1])
            return " ".join(rest), title[:1].upper() + title[1:]
    return text, None

"""Masking of personal data in free Swedish text, for the public extract of a case.

When someone asks for a case as an allmän handling, the registrar hands it
out with the personal data masked (R27).  :func:`mask_text` replaces what it
recognises with a Swedish marker and counts what it replaced:

``[e-post]``
    E-mail addresses, and the bracketed obfuscations ``namn(at)exempel.se``,
    ``namn [at] exempel [punkt] se`` and the like.  A bare ``at`` or ``dot``
    between words is not taken for one.
``[personnummer]``
    Personnummer and samordningsnummer: ten or twelve digits shaped like a
    date of birth (a real month; a day of 01-31, or 61-91 for a
    samordningsnummer), with ``-``, ``+``, a space or nothing before the
    last four digits.  The check digit is deliberately **not** required: a
    mistyped number still identifies the person, and it is better to mask it
    than to leak it.  The price is that a ten-digit order or invoice number
    that happens to look like a date of birth is masked too.  A twelve-digit
    number whose date lies after *today* (when given) is not a date of birth
    and is left alone.  ISO dates (``2026-03-02``), times, amounts, case
    references (``KLF-2026-0042``, ``2026-00042``) and six-to-eight digit
    numbers have the wrong shape and are never taken.  Ten digits written
    together that start with ``0``, fail the check digit and make a valid
    Swedish phone number (``0701234567``) are a phone number.
``[telefon]``
    Phone numbers, found by the ``phonenumbers`` library (the port of
    Google's libphonenumber) with Swedish defaults and the ``VALID``
    leniency: the number must be a valid, assignable number, which keeps
    years, amounts, times and reference numbers out (``POSSIBLE`` took
    ``KLF-2026-0042`` and ``14.30-16.00``; the stricter grouping levels lost
    ``0771-123 456``).  Date-shaped matches (``02.03.2026``) are dropped.
    Where the matcher reads two numbers in a row, or a stray digit next to a
    number, as one invalid candidate, the runs of digit groups that start
    with ``0`` or ``+`` are tried group by group, longest first, and the
    library again decides which are valid numbers.
``[adress]``
    Street addresses *with a number*: a street name that ends in a typical
    suffix (``-gatan``, ``-vägen``, ``-gränd``, ``-stigen``, ``-backen``,
    ``-allén``, ``-torget``, ``-plan``, ``-leden``, ``-gången``,
    ``-stråket``, ``-promenaden``, ``-kajen``, ``-esplanaden``, ``-parken``,
    ...), optionally after ``Lilla``, ``Västra`` and the like or as
    ``Karl Johans gata``, then the street number (``12``, ``3B``, ``12-14``)
    and what follows it (``lgh 1102``, ``3 tr``, ``nb``).  Postal lines
    (``123 45 Exempelstad``, ``12345 Exempelstad``) and ``Box 123``.  A
    street named without a number ("det är bullrigt på Storgatan") is *not*
    masked: it points at a street, not at a person, and the complaint is
    often about the street itself.
``[namn]``
    Names: every name known from the case (``names``: the person, staff),
    in full and each capitalised part of at least three letters on its own,
    with the first letter's case as given and a genitive ``s`` allowed
    (``Eva Andersson`` masks ``Andersson``, ``Evas`` and ``Eva``).  Beyond
    those, a word from the list of common first names shipped in
    ``klagomal/data/fornamn.txt`` is masked when it is followed by a
    capitalised surname-like word (both are masked, ``Fatima Hassan``), or
    when a cue that introduces a person comes just before it
    (``undersköterskan Kim``, ``rektor``, ``handläggaren``, ``heter``,
    ``min son``, ``Hej``, ``Mvh`` ...), or when it follows a masked name
    after ``och``, ``eller`` or a comma (``personalen Mohammed och Aisha``),
    or when two listed first names are joined that way (``Moa och Ahmed``).
    A lone first name without a cue is left alone: the list holds names
    that are also words (``Bo``, ``Per``, ``Maj``, ``Rut``), and
    ``Bo i lägenhet``, ``100 kr per dag`` or ``i maj`` must survive.  Place
    names, months, weekdays and organisation words (``Göteborg``,
    ``Socialförvaltningen``, ``Hemtjänst Norr``) are never taken for a
    surname.

The detectors run in that order and a later one never touches what an
earlier one took, so there are no double markers and a personnummer is not
read as a phone number.  Each detector sees what was taken before it as a
bracketed filler, as a second masking would see the markers, and the
detectors run again until they find nothing new; markers already in the
text are kept.  So masking is idempotent.  After masking, every further occurrence of a
digit sequence that was classified as a personnummer or a phone number is
masked as well, so the output never contains one.

Known limits
------------
False negatives (personal data that survives; the registrar must still read
the extract before handing it out):

- names that are neither known from the case nor in the first-name list
  (``Zlatana``), or a listed first name alone without a cue
  ("jag pratade med Kim"); surnames alone unless known;
- nicknames and short forms not in the list (``Bosse``);
- names written in capitals only (``EVA ANDERSSON``) unless known;
- addresses without a street number or without a typical suffix
  (``Solrosen 4``, ``huset vid kyrkan``), foreign address formats;
- e-mail addresses obfuscated without brackets (``eva at exempel dot se``);
- identifying descriptions ("min granne i lägenheten under").

False positives that are accepted:

- a ten- or twelve-digit number shaped like a date of birth
  (an order number ``8501011234``, a compact time stamp ``20260302 1430``);
- a capitalised surname-like word after a listed first name that is not a
  surname (``Per Capita``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import importlib.resources
import re
import types
from collections.abc import Iterable, Iterator, Mapping

import attrs
import phonenumbers

from klagomal.core.i18n import _
from klagomal.core.identity_numbers import is_person_number

__all__ = ["CATEGORIES", "Masked", "first_names", "mask_text"]

#: The categories :attr:`Masked.counts` reports, in detection order.
CATEGORIES = ("epost", "personnummer", "telefon", "adress", "namn")


def _freeze_counts(value: Mapping[str, int]) -> Mapping[str, int]:
    return types.MappingProxyType(dict(value))


@attrs.frozen
class Masked:
    """The masked text and how many of each category were masked.

    ``counts`` has the keys ``"namn"``, ``"personnummer"``, ``"telefon"``,
    ``"epost"`` and ``"adress"``, each always present.
    """

    text: str
    counts: Mapping[str, int] = attrs.field(converter=_freeze_counts)


def _markers() -> dict[str, str]:
    return {
        "namn": _("[namn]"),
        "personnummer": _("[personnummer]"),
        "telefon": _("[telefon]"),
        "epost": _("[e-post]"),
        "adress": _("[adress]"),
    }


@attrs.frozen
class _Span:
    start: int
    end: int
    category: str | None  # None: a marker already in the text, kept as it is


def _words(text: str) -> list[str]:
    return text.split()


class _Claims:
    """The spans taken so far, in order and never overlapping; a later detector may not overlap them."""

    def __init__(self) -> None:
        self.spans: list[_Span] = []
        self._starts: list[int] = []
        #: Where a masked name (or a ``[namn]`` already in the text) ends.
        self.name_ends: set[int] = set()

    def free(self, start: int, end: int) -> bool:
        index = bisect.bisect_right(self._starts, start)
        if index > 0 and self.spans[index - 1].end > start:
            return False
        return index == len(self.spans) or self.spans[index].start >= end

    def take(self, start: int, end: int, category: str | None) -> bool:
        if start >= end or not self.free(start, end):
            return False
        index = bisect.bisect_right(self._starts, start)
        self._starts.insert(index, start)
        self.spans.insert(index, _Span(start, end, category))
        if category == "namn":
            self.name_ends.add(end)
        return True


# --------------------------------------------------------------------------- e-mail

_LOCAL = r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
_LABEL = r"[^\W_][\w-]*"
_EMAIL = re.compile(rf"(?<![\w.@+-]){_LOCAL}@(?:{_LABEL}\.)+[^\W\d_]{{2,24}}(?![\w-])")
_OPEN, _CLOSE = r"[(\[{<]", r"[)\]}>]"
_AT = rf"\s*{_OPEN}\s*(?:at|AT|At|snabel-a|snabela)\s*{_CLOSE}\s*"
_DOT = rf"(?:\.|\s*{_OPEN}\s*(?:dot|DOT|punkt|PUNKT)\s*{_CLOSE}\s*)"
_OBFUSCATED_EMAIL = re.compile(
    rf"(?<![\w.@+-]){_LOCAL}{_AT}(?:{_LABEL}{_DOT})+[^\W\d_]{{2,24}}(?![\w-])",
)


def _find_emails(text: str, claims: _Claims) -> None:
    for pattern in (_EMAIL, _OBFUSCATED_EMAIL):
        for match in pattern.finditer(_blanked(text, claims)):
            claims.take(match.start(), match.end(), "epost")


# --------------------------------------------------------------------------- personnummer

_DAY = r"(?:0[1-9]|[12][0-9]|3[01]|6[1-9]|[78][0-9]|9[01])"
_PERSON_NUMBER = re.compile(
    r"(?<![0-9])(?<![0-9][-+/.:,])"
    rf"(?P<century>19|20)?(?P<yy>[0-9]{{2}})(?P<mm>0[1-9]|1[0-2])(?P<dd>{_DAY})"
    r"(?P<sep>[-+ ]?)(?P<serial>[0-9]{3})(?P<check>[0-9])"
    r"(?![0-9])(?![-+/.:,][0-9])"
)


def _find_person_numbers(text: str, claims: _Claims, today: dt.date | None) -> list[_Span]:
    """Take the date-shaped numbers; return the ones deferred to the phone detector."""
    deferred: list[_Span] = []
    for match in _PERSON_NUMBER.finditer(_blanked(text, claims)):
        raw = match.group()
        if match["century"] and today is not None:
            try:
                born = dt.date(int(match["century"] + match["yy"]), int(match["mm"]), int(match["dd"]) % 60)
            except ValueError:
                born = None
            if born is not None and born > today:
                continue  # no one is born after today: a time stamp or some other number
        if (
            not match["century"]
            and not match["sep"]
            and raw.startswith("0")
            and not is_person_number(raw, today=today or dt.date.today())
            and _is_valid_phone(raw)
        ):
            deferred.append(_Span(match.start(), match.end(), "telefon"))
            continue
        claims.take(match.start(), match.end(), "personnummer")
    return deferred


# --------------------------------------------------------------------------- phone numbers

_DATE_OR_TIME = re.compile(
    r"[0-9]{1,2}[./-][0-9]{1,2}[./-][0-9]{2,4}"  # 02.03.2026, 2/3-26
    r"|[0-9]{4}[./-][0-9]{1,2}[./-][0-9]{1,2}"  # 2026-03-02
    r"|[0-9]{1,2}[.:][0-9]{2}(?:\s*[-–]\s*[0-9]{1,2}[.:][0-9]{2})?"  # 14.30-16.00
)


def _blanked(text: str, claims: _Claims) -> str:
    """*text* with every claimed span replaced by a bracketed filler of the same length.

    The filler keeps the positions, and the brackets and letters keep the
    phone matcher from reading digits on both sides of a span as one number.
    """
    chars = list(text)
    for span in claims.spans:
        length = span.end - span.start
        filler = "[" + "q" * (length - 2) + "]" if length >= 2 else "q"
        chars[span.start : span.end] = filler
    return "".join(chars)


_DIGIT_GROUP = re.compile(r"\+?[0-9]+")
_GROUP_GAP = re.compile(r"[ \t]?[-–/.()]?[ \t]?")


def _digit_chains(scan: str) -> Iterator[list[re.Match[str]]]:
    """Runs of digit groups separated by one space, dash, slash, dot or parenthesis."""
    chain: list[re.Match[str]] = []
    for group in _DIGIT_GROUP.finditer(scan):
        if chain and not _GROUP_GAP.fullmatch(scan, chain[-1].end(), group.start()):
            yield chain
            chain = []
        chain.append(group)
    if chain:
        yield chain


def _find_phones_in_chains(text: str, scan: str, claims: _Claims) -> None:
    """Valid phone numbers among adjacent digit groups that the matcher left.

    The matcher reads a run of digit groups as one candidate and drops it
    when the whole is no number: ``0 031-10 00 00`` or two numbers in a row.
    Here every sub-run that starts like a Swedish or international number
    (``0``, ``+``) is tried, longest first, and the library decides.
    """
    for chain in _digit_chains(scan):
        first = 0
        while first < len(chain):
            found = False
            if chain[first].group()[0] in "0+":
                # "+46 (0)8 123 456 78" has six groups; no number has more.
                for last in range(min(len(chain), first + 6) - 1, first - 1, -1):
                    start, end = chain[first].start(), chain[last].end()
                    raw = text[start:end]
                    if not 7 <= sum(ch.isdigit() for ch in raw) <= 15 or _DATE_OR_TIME.fullmatch(raw):
                        continue
                    if _is_valid_phone(raw) and claims.take(start, end, "telefon"):
                        first, found = last + 1, True
                        break
            if not found:
                first += 1


def _is_valid_phone(raw: str) -> bool:
    try:
        number = phonenumbers.parse(raw, "SE")
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


def _find_phones(text: str, claims: _Claims, deferred: list[_Span]) -> None:
    scan = _blanked(text, claims)
    for match in phonenumbers.PhoneNumberMatcher(scan, "SE", leniency=phonenumbers.Leniency.VALID):
        raw, start, end = match.raw_string, match.start, match.end
        if _DATE_OR_TIME.fullmatch(raw.strip()):
            continue
        # "(070-123 45 67)": the matcher keeps the opening parenthesis only.
        if raw.startswith("(") and raw.count("(") > raw.count(")"):
            start += 1
        claims.take(start, end, "telefon")
    _find_phones_in_chains(text, scan, claims)
    for span in deferred:
        # A number that passed for a phone number but that the matcher did not
        # take in its context (glued to letters, say) is masked all the same.
        claims.take(span.start, span.end, "telefon")


# --------------------------------------------------------------------------- addresses

_UPPER = "A-ZÅÄÖÉÜÆØ"
_LOWER = "a-zåäöéèüæøáíóúß"
_SUFFIXES = _words(
    "gatan gata vägen väg gränden gränd stigen stig backen backe allén allé alléen allee torget torg "
    "planen plan leden led gången gång stråket stråk promenaden promenad kajen kaj esplanaden esplanad "
    "parken park platsen plats slingan slinga ringen bron liden kroken"
)
_SUFFIX = "(?:" + "|".join(sorted(set(_SUFFIXES), key=len, reverse=True)) + ")"
_COMPOUND_STREET = rf"[{_UPPER}][{_LOWER}-]*?{_SUFFIX}"  # Storgatan, Nygatan, Sveavägen
_PREFIX = r"(?:Lilla|Stora|Västra|Östra|Norra|Södra|Gamla|Nya|Övre|Nedre|Inre|Yttre|Sankt|S:t|St\.)"
_STREET_NAME = (
    rf"(?:{_PREFIX}\s+(?:{_COMPOUND_STREET}|(?i:{_SUFFIX}))"  # Lilla Nygatan, Västra Vägen, Stora torget
    rf"|(?:[{_UPPER}][{_LOWER}]+\s+)?[{_UPPER}][{_LOWER}]+s\s+(?i:{_SUFFIX})"  # Karl Johans gata
    # Hemliga vägen, Gamle gränden: a name word and a street word in the definite form
    rf"|[{_UPPER}][{_LOWER}]+\s+(?:vägen|gatan|gränden|stigen|backen|allén|torget|leden|gången|stråket|slingan|kroken)"
    rf"|{_COMPOUND_STREET})"
)
_HOUSE_NUMBER = r"(?:nr\.?\s*)?[0-9]{1,4}(?:[A-Za-z]|\s[A-Z])?(?:\s?[-–]\s?[0-9]{1,4}[A-Za-z]?)?(?![0-9\w])"
_ADDRESS_EXTRA = (
    r"(?:,?[ \t]*(?:lgh|lägenhet|lägenhetsnummer|lägenhetsnr)\.?[ \t]*(?:nr\.?[ \t]*)?[0-9]{1,4}(?![0-9])"
    r"|,?[ \t]*[0-9]{1,2}[ \t]?(?:tr|trappor|trappa)\b"
    r"|,?[ \t]*(?:nb|NB|bv|BV|n\.b\.)(?!\w)"
    r"|,?[ \t]*(?:vån|våning)\.?[ \t]*[0-9]{1,2}(?![0-9])"
    r"|,?[ \t]*(?:uppg|uppgång)\.?[ \t]*[A-Z0-9](?!\w))"
)
_STREET_ADDRESS = re.compile(
    rf"(?<![\w-]){_STREET_NAME}[ \t]+{_HOUSE_NUMBER}(?:{_ADDRESS_EXTRA}){{0,3}}",
)
_CITY_WORD = rf"(?:[{_UPPER}][{_LOWER}]+|[{_UPPER}]{{2,}})"
_NOT_A_CITY = {"kr", "kronor", "sek", "euro", "eur", "st", "stycken", "ggr", "gånger", "personer", "barn"}
_POSTAL_LINE = re.compile(
    rf"(?<![\w/.:,-])[1-9][0-9]{{2}}[ ]?[0-9]{{2}}(?![0-9])[ \t]+"
    rf"(?P<city>{_CITY_WORD}(?:[- ]{_CITY_WORD})?)(?![\w])"
)
_BOX = re.compile(r"(?<![\w-])(?:Box|BOX|Postbox|Postbox)[ \t]+[0-9]{1,6}(?![0-9])")


def _find_addresses(text: str, claims: _Claims) -> None:
    for match in _STREET_ADDRESS.finditer(_blanked(text, claims)):
        claims.take(match.start(), match.end(), "adress")
    for match in _POSTAL_LINE.finditer(_blanked(text, claims)):
        first_city_word = re.split(r"[- ]", match["city"])[0]
        if first_city_word.lower() in _NOT_A_CITY:
            continue
        claims.take(match.start(), match.end(), "adress")
    for match in _BOX.finditer(_blanked(text, claims)):
        claims.take(match.start(), match.end(), "adress")


# --------------------------------------------------------------------------- names

_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_GENITIVE = r"(?:s|:s|'s|’s|'|’)?"

#: Words that introduce a person: a listed first name right after one is masked.
_CUES = _words(
    "personal personalen personalens undersköterska undersköterskan sjuksköterska sjuksköterskan "
    "vårdbiträde vårdbiträdet vårdare vårdaren omsorgspersonal omsorgspersonalen "
    "handläggare handläggaren handläggarens biståndshandläggare biståndshandläggaren "
    "socialsekreterare socialsekreteraren socionom socionomen kurator kuratorn "
    "lärare läraren lärarinnan klassläraren mentor mentorn rektor rektorn förskollärare "
    "förskolläraren barnskötare barnskötaren fritidspedagog fritidspedagogen pedagog pedagogen "
    "assistent assistenten elevassistenten chef chefen enhetschef enhetschefen avdelningschef "
    "avdelningschefen verksamhetschef verksamhetschefen förvaltningschef förvaltningschefen "
    "kontaktperson kontaktpersonen kontaktman kontaktmannen förvaltare förvaltaren "
    "chauffören föraren snöröjaren plogbilsföraren inspektör inspektören byggnadsinspektören "
    "heter hette kallas "
    "son sonen dotter dottern barnet mamma mamman pappa pappan mor modern far fadern man mannen "
    "make maken maka makan fru frun sambo sambon bror brodern brorsan syster systern "
    "granne grannen eleven brukaren patienten kunden klienten "
    "dr doktor fröken herr "
    "hej hejsan hallå mvh vänligen hälsningar hälsning"
)
_AFTER_A_NAME = re.compile(r"(?:[ \t]*,|[ \t]+(?:och|eller|samt|&))[ \t]+$")
_CUE = re.compile(
    r"(?<![\w])(?i:" + "|".join(sorted(set(_CUES), key=len, reverse=True)) + r")\.?"
    r"(?:[ \t]*,|\s+(?:är|var|heter|hette))?\s+$"
)

#: Capitalised words that are never a surname after a first name.
_NEVER_SURNAME = {
    word.lower()
    for word in _words(
        # months, weekdays and holidays
        "Januari Februari Mars April Maj Juni Juli Augusti September Oktober November December "
        "Måndag Tisdag Onsdag Torsdag Fredag Lördag Söndag Jul Julafton Påsk Midsommar Nyår "
        # places
        "Sverige Norge Danmark Finland Stockholm Göteborg Malmö Uppsala Västerås Örebro Linköping "
        "Helsingborg Jönköping Norrköping Lund Umeå Gävle Borås Södertälje Eskilstuna Halmstad Växjö "
        "Karlstad Sundsvall Östersund Trollhättan Luleå Kalmar Kristianstad Skövde Falun Visby "
        "Exempelstad Exempelkommun Norden Europa "
        # organisation words and parts of unit names
        "Kommun Kommunen Kommunens Region Regionen Staden Stad Hemtjänst Hemtjänsten Socialtjänst "
        "Socialtjänsten Socialförvaltningen Förvaltningen Nämnden Skola Skolan Förskola Förskolan "
        "Fritids Äldreboende Äldreboendet Boende Boendet Vårdcentral Vårdcentralen Sjukhus Sjukhuset "
        "Norr Söder Syd Nord Öst Väst Öster Väster Centrum City Försäkringskassan Skatteverket "
        "Polisen Arbetsförmedlingen Migrationsverket Kronofogden Trafikverket Lantmäteriet AB HB "
        "Bygg Bostäder Fastigheter Service Teknik IVO JO LSS SoL HVB SFI "
        # pronouns and function words that can follow a name at a sentence start
        "Jag Du Han Hon Vi Ni De Den Det Dem Men Och Att Som Om När Sedan Efter Hej Tack Mvh Ja Nej"
    )
}
_NOT_SURNAME_SUFFIX = re.compile(
    r"(?i:förvaltningen|förvaltning|nämnden|kommun|kommunen|skolan|skola|gården|boendet|enheten|"
    r"huset|centrum|centralen|verket|kassan|tjänst|tjänsten|bolaget|stiftelsen|föreningen|"
    r"klubben|kyrkan|sjukhuset|mottagningen|staden|regionen|avdelningen|"
    r"gatan|vägen|gränden|stigen|backen|allén|torget|planen|leden|gången|stråket|promenaden|kajen|"
    r"esplanaden|parken|platsen)$"
)


@functools.cache
def first_names() -> frozenset[str]:
    """The common first names shipped with klagomal (``klagomal/data/fornamn.txt``), loaded once."""
    source = importlib.resources.files("klagomal") / "data" / "fornamn.txt"
    lines = source.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper() and any(ch.islower() for ch in word)


def _is_listed_first_name(word: str) -> bool:
    names = first_names()
    if word in names:
        return True
    if word.endswith("s") and word[:-1] in names and len(word) > 2:
        return True  # genitive: Evas
    parts = re.split(r"[-'’]", word)
    return len(parts) > 1 and all(part in names for part in parts)  # Anna-Karin


def _is_surname_like(word: str) -> bool:
    if not _is_capitalised(word) or len(word) < 2:
        return False
    lower = word.lower()
    if lower in _NEVER_SURNAME or (lower.endswith("s") and lower[:-1] in _NEVER_SURNAME):
        return False
    return not _NOT_SURNAME_SUFFIX.search(word)


_GAP = re.compile(r"[ \t]+")


def _surname_extension(
    text: str, end: int, words: Mapping[int, re.Match[str]], claims: _Claims, limit: int = 3
) -> int:
    """Where a name that ends at *end* really ends, with the surname-like words that follow."""
    for _count in range(limit):
        gap = _GAP.match(text, end)
        if gap is None:
            break
        following = words.get(gap.end())
        if (
            following is None
            or not _is_surname_like(following.group())
            or not claims.free(following.start(), following.end())
        ):
            break
        end = following.end()
    return end


def _known_name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    variants: set[str] = set()
    for name in names:
        full = " ".join(name.split())
        if not any(ch.isalpha() for ch in full):
            continue
        variants.add(full)
        for part in re.split(r"[\s]+", full):
            pieces = [part, *re.split(r"[-'’]", part)] if re.search(r"[-'’]", part) else [part]
            for piece in pieces:
                if sum(ch.isalpha() for ch in piece) >= 3 and piece[:1].isupper():
                    variants.add(piece)
    if not variants:
        return None

    def pattern(variant: str) -> str:
        words = []
        for word in variant.split(" "):
            words.append(re.escape(word[0]) + (f"(?i:{re.escape(word[1:])})" if len(word) > 1 else ""))
        return r"\s+".join(words)

    alternatives = "|".join(pattern(v) for v in sorted(variants, key=len, reverse=True))
    return re.compile(rf"(?<![\w])(?:{alternatives}){_GENITIVE}(?![\w])")


def _find_names(text: str, claims: _Claims, known: re.Pattern[str] | None) -> None:
    text = _blanked(text, claims)
    words = {match.start(): match for match in _WORD.finditer(text)}
    if known is not None:
        for match in known.finditer(text):
            end = _surname_extension(text, match.end(), words, claims)
            claims.take(match.start(), end, "namn")
    for start, match in words.items():
        word = match.group()
        if (
            not _is_capitalised(word)
            or not _is_listed_first_name(word)
            or not claims.free(start, match.end())
        ):
            continue
        end = _surname_extension(text, match.end(), words, claims)
        if end == match.end() and not _introduced(text, start, claims) and not _paired(text, end, words):
            continue  # a lone listed word without a cue: Bo, Per, Maj ...
        claims.take(start, end, "namn")


_BEFORE_A_NAME = re.compile(r"(?:[ \t]*,|[ \t]+(?:och|eller|samt|&))[ \t]+")


def _paired(text: str, end: int, words: Mapping[int, re.Match[str]]) -> bool:
    """Whether another listed first name follows after "och", "eller" or a comma ("Moa och Ahmed")."""
    joined = _BEFORE_A_NAME.match(text, end)
    following = words.get(joined.end()) if joined is not None else None
    return (
        following is not None
        and _is_capitalised(following.group())
        and _is_listed_first_name(following.group())
    )


def _introduced(text: str, start: int, claims: _Claims) -> bool:
    """Whether a cue, or a masked name and "och" or a comma, comes right before *start*."""
    if _CUE.search(text, max(0, start - 80), start):
        return True
    joined = _AFTER_A_NAME.search(text, max(0, start - 20), start)
    return joined is not None and joined.start() in claims.name_ends


# --------------------------------------------------------------------------- the whole


#: More rounds than any text needs; a bound so that masking always ends.
_MAX_ROUNDS = 8


def _marker_spans(text: str, markers: Iterable[str]) -> Iterator[tuple[int, int]]:
    pattern = re.compile("|".join(re.escape(marker) for marker in markers))
    for match in pattern.finditer(text):
        yield match.start(), match.end()


def _sweep(text: str, claims: _Claims) -> None:
    """Mask every other occurrence of a number classified as a personnummer or a phone."""
    taken = [span for span in claims.spans if span.category in ("personnummer", "telefon")]
    needles: dict[str, str] = {}
    for span in taken:
        raw = text[span.start : span.end]
        assert span.category is not None
        needles.setdefault(raw, span.category)
        digits = re.sub(r"[^0-9]", "", raw)
        if len(digits) >= 7:
            needles.setdefault(digits, span.category)
    for needle, category in sorted(needles.items(), key=lambda item: len(item[0]), reverse=True):
        position = text.find(needle)
        while position != -1:
            claims.take(position, position + len(needle), category)
            position = text.find(needle, position + 1)


def mask_text(text: str, *, names: Iterable[str] = (), today: dt.date | None = None) -> Masked:
    """Mask names, personnummer, phone numbers, e-mail and street addresses in *text*.

    :param names: names known from the case (the person's, the staff's):
        every occurrence is masked, in full and by each capitalised part of
        three letters or more.
    :param today: the day of the extract; a twelve-digit date-shaped number
        dated after it is not a personnummer.  Without it, every such number
        is masked.

    Never raises; masking the result again changes nothing.  See the module
    documentation for the rules and their known limits.
    """
    markers = _markers()
    claims = _Claims()
    for start, end in _marker_spans(text, markers.values()):
        claims.take(start, end, None)
        if text[start:end] == markers["namn"]:
            claims.name_ends.add(end)
    known = _known_name_pattern(names)
    # Each detector sees the spans taken so far as bracketed fillers, the way a
    # second masking would see the markers.  A span taken can give a neighbour
    # a boundary it lacked ("070-123 45 67850101-1236"), so the detectors run
    # again until nothing more is found: that makes masking idempotent.
    for _round in range(_MAX_ROUNDS):
        taken = len(claims.spans)
        _find_emails(text, claims)
        deferred = _find_person_numbers(text, claims, today)
        _find_phones(text, claims, deferred)
        _sweep(text, claims)
        _find_addresses(text, claims)
        _find_names(text, claims, known)
        if len(claims.spans) == taken:
            break

    counts = dict.fromkeys(CATEGORIES, 0)
    pieces: list[str] = []
    position = 0
    for span in claims.spans:
        pieces.append(text[position : span.start])
        if span.category is None:
            pieces.append(text[span.start : span.end])
        else:
            pieces.append(markers[span.category])
            counts[span.category] += 1
        position = span.end
    pieces.append(text[position:])
    return Masked(text="".join(pieces), counts=counts)

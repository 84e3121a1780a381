"""One incoming e-mail, as received, into what intake needs (R4).

:func:`parse_mail` reads the bytes of one RFC 5322 message and returns a
:class:`ParsedMail`: the person's own *new* text (the quoted earlier message
and the signature moved to :attr:`ParsedMail.quoted`), the sender, the subject
with the case references it names, the Message-IDs it replies to, the
attachments, and whether the message is machine-made (an out-of-office reply,
a bounce, a mailing list).  Or it raises :class:`MailParseError` with a
Swedish reason for the quarantine list.  It never raises anything else, for
any bytes: the caller stores the raw message either way, so nothing is lost.

The parser is pure: no database, no network, no clock.  It uses only the
standard library: :mod:`email` (with :data:`email.policy.default`, and
:data:`email.policy.compat32` for a message whose headers defeat the modern
policy or are so long that its parser would take minutes), :mod:`codecs`,
and :func:`html.unescape` under a small HTML tokenizer of its own, which
unlike :mod:`html.parser` takes time in proportion to the markup whatever
the markup is.  Every step is bounded so that no message, however made,
stalls intake: the text read is a few times ``max_text_chars``, HTML at most
a million characters, at most 20 000 MIME parts.

What it recognises:

* MIME: ``multipart/mixed``, ``multipart/alternative`` (text/plain preferred,
  HTML only when there is no usable plain text), ``multipart/related``, and
  a forwarded ``message/rfc822`` (its text becomes part of the body, its
  attachments are kept); inline images are attachments;
* charsets: UTF-8, ISO-8859-1 and Windows-1252, also when mislabelled, and
  unknown charset names (guessed, with a note for the handler);
* HTML: turned into plain text (no script, style or head; block elements
  become lines; links keep their text);
* quotes and signatures: ``>`` lines; Gmail, Apple Mail and Outlook reply
  headers in Swedish and English; ``-- `` signatures; "Skickat från min
  iPhone" and its kin.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import datetime as dt
import email.message
import email.parser
import email.policy
import email.utils
import html
import re
import unicodedata
from collections.abc import Iterable, Sequence

import attrs

from klagomal.core.i18n import _

__all__ = ["Attachment", "MailLimits", "MailParseError", "ParsedMail", "parse_mail"]


# ---------------------------------------------------------------------------
# The public types


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, not {value}")


def _not_negative(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, not {value}")


@attrs.frozen
class MailLimits:
    """How much of one message intake takes in; the raw message is kept whole anyway."""

    max_bytes: int = attrs.field(default=25 * 1024 * 1024, validator=_positive)
    """The whole message; a larger one goes to quarantine."""
    max_attachments: int = attrs.field(default=10, validator=_not_negative)
    """Attachments kept; the rest are named in a note."""
    max_attachment_bytes: int = attrs.field(default=10 * 1024 * 1024, validator=_not_negative)
    """One attachment; a larger one is named in a note."""
    max_text_chars: int = attrs.field(default=50_000, validator=_positive)
    """The person's text is cut here, with a note."""


@attrs.frozen
class Attachment:
    """One attachment (or inline image) of a message."""

    filename: str | None
    """Sanitised: no path parts, no control characters; ``None`` if the part had no usable name."""
    content_type: str
    """As declared, lowercase, e.g. ``"application/pdf"``."""
    size: int
    """Bytes, after the transfer encoding (base64, quoted-printable) is undone."""
    data: bytes


@attrs.frozen
class ParsedMail:
    """What one incoming e-mail says, ready for intake (see :func:`parse_mail`)."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    subject: str
    references: tuple[str, ...]
    sender_name: str | None
    sender_address: str | None
    date: dt.datetime | None
    text: str
    quoted: str
    attachments: tuple[Attachment, ...]
    automatic: str | None
    notes: tuple[str, ...]


class MailParseError(Exception):
    """The message cannot be taken in; :attr:`reason` says why, in Swedish, for the quarantine list."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_DEFAULT_LIMITS = MailLimits()


# ---------------------------------------------------------------------------
# Small helpers: sizes, control characters, charsets


def _size(n: int) -> str:
    """*n* bytes for a Swedish reader: ``"512 byte"``, ``"1,5 kB"``, ``"31 MB"``."""
    if n < 1024:
        return f"{n} byte"
    value, unit = (n / 1024, "kB") if n < 1024 * 1024 else (n / (1024 * 1024), "MB")
    shown = f"{value:.1f}".replace(".", ",")
    if shown.endswith(",0"):
        shown = shown[:-2]
    return f"{shown} {unit}"


def _count(n: int) -> str:
    """*n* with a space between thousands, as Swedish writes it: ``"50 000"``."""
    return f"{n:,}".replace(",", " ")


# C0 and C1 control characters other than tab and newline.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_UTF8 = "utf-8"
_CP1252 = "windows-1252"
# Codecs that Python knows but that no mail program means by a charset name.
_NOT_CHARSETS = frozenset(
    {"undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode", "mbcs", "oem"}
)
_LATIN1_FAMILY = frozenset({"iso8859-1", "iso8859-15", "cp1252"})


def _codec(label: str | None) -> str | None:
    """The Python codec for a charset *label*, or ``None`` if unknown or not a text charset."""
    if not label:
        return None
    try:
        info = codecs.lookup(label)
    except Exception:  # LookupError, and odd names (NUL bytes) raise ValueError/TypeError
        return None
    name = info.name.replace("_", "-")
    if not getattr(info, "_is_text_encoding", True) or name in _NOT_CHARSETS:
        return None
    return info.name


def _shown_label(label: str) -> str:
    """A charset label fit to appear in a note."""
    cleaned = "".join(ch for ch in label if ch.isprintable() and not ch.isspace())[:40]
    return cleaned or "?"


def _guess(data: bytes) -> tuple[str, str]:
    """Decode *data* whose charset is unknown: UTF-8 if valid, else Windows-1252."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeError:
            pass
    try:
        return data.decode("utf-8"), _UTF8
    except UnicodeError:
        return data.decode("cp1252", "replace"), _CP1252


_UTF8_LEAD = re.compile(rb"[\xc0-\xff]")
_C1_BYTES = re.compile(rb"[\x80-\x9f]")
# Lead bytes of the UTF-8 that Swedish text mislabelled as a one-byte
# charset shows: Latin-1 letters (å ä ö é ü: C2, C3), punctuation (– ” €: E2)
# and emoji (F0).
_PLAUSIBLE_UTF8_LEADS = frozenset({b"\xc2", b"\xc3", b"\xe2", b"\xf0"})


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeError:
        return False
    return True


def _looks_like_utf8(data: bytes) -> bool:
    """Whether one-byte-charset *data* is really UTF-8: valid, and only with plausible sequences.

    Windows-1252 text is seldom valid UTF-8 by chance ("Ä–" is); the lead
    bytes make such a chance all but impossible for real text.
    """
    return _is_utf8(data) and set(_UTF8_LEAD.findall(data)) <= _PLAUSIBLE_UTF8_LEADS


def _decode_text(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Decode a text part; returns the text and a Swedish note if the charset had to be guessed."""
    label = declared.strip().strip("\"'").lower() if declared else None
    codec = _codec(label)
    if data.isascii() and codec in (None, "ascii", "utf-8", "utf-8-sig", *_LATIN1_FAMILY):
        return data.decode("ascii"), None
    if codec is None:
        text, actual = _guess(data)
        if label:
            note = _("teckenkodningen {declared} är okänd; texten tolkades som {actual}")
        elif actual == _UTF8:
            return text, None  # undeclared but valid UTF-8: no doubt worth a note
        else:
            note = _("teckenkodning angavs inte; texten tolkades som {actual}")
        return text, note.format(declared=_shown_label(label or ""), actual=actual)
    mislabelled = _("teckenkodningen angavs som {declared} men var {actual}")
    label = label or ""
    if codec == "ascii":
        text, actual = _guess(data)
        return text, mislabelled.format(declared=_shown_label(label), actual=actual)
    if codec in ("utf-8", "utf-8-sig"):
        try:
            return data.decode(codec), None
        except UnicodeDecodeError as exc:
            if exc.reason == "unexpected end of data":  # the first error, and at the very end
                return data[: exc.start].decode(codec), None  # cut in the middle of a character
            return data.decode("cp1252", "replace"), mislabelled.format(
                declared=_shown_label(label), actual=_CP1252
            )
    if codec in _LATIN1_FAMILY:
        # Declared as a one-byte charset but valid UTF-8 with non-ASCII
        # characters: Swedish text in ISO-8859-1 practically never is.
        if _looks_like_utf8(data):
            return data.decode("utf-8"), mislabelled.format(declared=_shown_label(label), actual=_UTF8)
        if codec != "cp1252" and _C1_BYTES.search(data):
            # 0x80-0x9F are control characters in ISO-8859-1 but quotes,
            # dashes and the euro sign in Windows-1252: the usual mislabel.
            return data.decode("cp1252", "replace"), mislabelled.format(
                declared=_shown_label(label), actual=_CP1252
            )
        return data.decode(codec, "replace"), None
    try:
        return data.decode(codec), None
    except Exception:  # UnicodeError, and the odd codec that raises something else
        text, actual = _guess(data)
        return text, mislabelled.format(declared=_shown_label(label), actual=actual)


def _bytes_to_str(data: bytes) -> str:
    """Header bytes outside encoded words: UTF-8 (RFC 6532) if valid, else Windows-1252."""
    return _guess(data)[0] if not data.isascii() else data.decode("ascii")


# ---------------------------------------------------------------------------
# Headers


# An RFC 2047 encoded word; lenient: spaces inside (broken clients) and a
# missing "?=" at the very end are accepted.
_ENCODED_WORD = re.compile(rb"=\?([^?\s]{1,64})\?([QqBb])\?([^?]*?)(?:\?=|$)")
_WHITESPACE = re.compile(r"\s+")


def _header_bytes(value: object) -> bytes:
    """A raw header value (a str with surrogate escapes, as the parser keeps it) as unfolded bytes."""
    text = str(value)
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeError:
        data = text.encode("utf-8", "replace")
    return re.sub(rb"\r?\n", b"", data)


def _raw_headers(part: email.message.Message, name: str) -> list[bytes]:
    """Every value of header *name* in *part*, as unfolded bytes, without the policy parsing them."""
    wanted = name.lower()
    return [_header_bytes(value) for key, value in part.raw_items() if str(key).lower() == wanted]


def _raw_header(part: email.message.Message, name: str) -> bytes | None:
    values = _raw_headers(part, name)
    return values[0] if values else None


def _decode_encoded_word(match: re.Match[bytes]) -> str | None:
    charset = match.group(1).split(b"*", 1)[0].decode("ascii", "replace")
    encoding = match.group(2).upper()
    payload = match.group(3)
    try:
        if encoding == b"B":
            letters = re.sub(rb"[^A-Za-z0-9+/]", b"", payload)
            if len(letters) % 4 == 1:
                letters = letters[:-1]
            data = base64.b64decode(letters + b"=" * (-len(letters) % 4))
        else:
            data = binascii.a2b_qp(payload, header=True)
    except (binascii.Error, ValueError):
        return None
    return _decode_text(data, charset)[0]


def _decode_words(data: bytes) -> str:
    """Decode a header value with RFC 2047 encoded words, tolerating malformed ones."""
    parts: list[str] = []
    position = 0
    after_word = False
    for match in _ENCODED_WORD.finditer(data):
        between = data[position : match.start()]
        if not (after_word and not between.strip(b" \t")):
            parts.append(_bytes_to_str(between))
        decoded = _decode_encoded_word(match)
        if decoded is None:
            parts.append(_bytes_to_str(match.group(0)))
            after_word = False
        else:
            parts.append(decoded)
            after_word = True
        position = match.end()
    parts.append(_bytes_to_str(data[position:]))
    return "".join(parts)


def _clean_line(text: str) -> str:
    """One line of header text: NFC, no control characters, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", text.replace("\t", " ").replace("\n", " "))
    return _WHITESPACE.sub(" ", text).strip()


def _decoded_header(part: email.message.Message, name: str) -> str:
    value = _raw_header(part, name)
    return _clean_line(_decode_words(value)) if value is not None else ""


_MAX_FIELD_BYTES = 8192  # of From, Content-Type and Content-Disposition: what is read of them
_MAX_SUBJECT_CHARS = 1000
_MAX_THREAD_IDS = 100
_MSGID = re.compile(r"<([^<>\s]*)>")
_MSGID_TEXT = re.compile(r"^[\x21-\x3b\x3d\x3f-\x7e]+$")  # printable ASCII without < and >


def _valid_msgid(candidate: str) -> bool:
    if not 3 <= len(candidate) <= 250 or not _MSGID_TEXT.match(candidate):
        return False
    left, _at, right = candidate.rpartition("@")
    return bool(left) and bool(right)


def _message_ids(values: Iterable[bytes]) -> list[str]:
    """The Message-IDs in header *values*, normalised to ``<id@domain>``, in order."""
    found: list[str] = []
    for raw in values:
        value = raw.decode("ascii", "replace")
        ids = [f"<{m.group(1)}>" for m in _MSGID.finditer(value) if _valid_msgid(m.group(1))]
        if not ids:
            tokens = value.split()
            if len(tokens) == 1 and _valid_msgid(tokens[0]):
                ids = [f"<{tokens[0]}>"]
        found.extend(ids)
    return list(dict.fromkeys(found))


_ADDR_SPEC = re.compile(
    r"^[^\s@<>()\[\],;:\\\"\x00-\x1f\x7f]+"  # local part (dot-atom, loosely)
    r"@(?:[^\s@<>()\[\],;:\\\"\x00-\x1f\x7f.]+(?:\.[^\s@<>()\[\],;:\\\"\x00-\x1f\x7f.]+)*|\[[0-9A-Fa-f.:]+\])$"
)


def _sender(part: email.message.Message) -> tuple[str | None, str | None]:
    """(display name, addr-spec) of the first From address; ``None`` where unreadable."""
    raw = _raw_header(part, "From")
    if raw is None:
        return None, None
    # Encoded words stay encoded, so a "=2C" is no comma here; only the first address is
    # wanted, and the address parser is slow on a megabyte of them.
    raw = raw[:_MAX_FIELD_BYTES]
    value = _bytes_to_str(raw)
    name, address = "", ""
    try:
        pairs = email.utils.getaddresses([value])
    except Exception:  # a malformed value that defeats the address parser
        pairs = []
    for pair_name, pair_address in pairs:
        if pair_address and _ADDR_SPEC.match(pair_address):
            name, address = pair_name, pair_address
            break
    if not address:
        match = re.search(r"<([^<>\s]+@[^<>\s]+)>", value) or re.search(
            r"([^\s<>\"',;:]+@[^\s<>\"',;:]+)", value
        )
        if match and _ADDR_SPEC.match(match.group(1)):
            address = match.group(1)
            name = value[: match.start()].strip().strip('"').strip()
    display = (
        _clean_line(_decode_words(name.encode("utf-8", "surrogateescape"))).strip("\"' ") if name else ""
    )
    if not any(ch.isalpha() for ch in display):
        # Without a single letter ("--" of a mangled "Robert'); DROP ...;--", "12345") it is
        # no name, and a letter greeting "Hej --!" would be worse than "Hej!".
        display = ""
    if not address:
        # No address: the name alone, if the field reads like one (not a group, not punctuation).
        alone = display or _clean_line(_decode_words(raw))
        if ":" in alone or not any(ch.isalpha() for ch in alone):
            return None, None
        return alone.strip("\"' <>") or None, None
    local, _at, domain = address.rpartition("@")
    address = f"{local}@{domain.lower()}"
    if display.lower() == address.lower():
        display = ""
    return (display or None), address


def _date(part: email.message.Message) -> dt.datetime | None:
    raw = _raw_header(part, "Date")
    if raw is None:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(_clean_line(raw.decode("ascii", "replace")))
    except Exception:  # ValueError, TypeError, OverflowError, IndexError on odd dates
        return None
    if parsed.tzinfo is None:  # "-0000": the time is UTC, the sender's zone is unknown
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


_REFERENCE = re.compile(r"(?<![\w-])((?:19|20)\d\d-\d{5,})(?![\w-])")


def _references(subject: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_REFERENCE.findall(subject)))


# ---------------------------------------------------------------------------
# MIME parameters: read with the plain-string (compat32) machinery from the
# raw headers, which never raises on a malformed parameter.


@attrs.frozen
class _Mime:
    content_type: str
    charset: str | None
    filename: str | None
    disposition: str | None
    params: dict[str, str]


def _mime(part: email.message.Message) -> _Mime:
    helper = email.message.Message()  # compat32: headers are plain strings
    helper.set_default_type(part.get_default_type())
    for key, value in part.raw_items():
        name = str(key).lower()
        if name in ("content-type", "content-disposition") and name not in helper:
            # compat32's parameter parser is quadratic: a real header is far shorter than this.
            helper[name] = _header_bytes(value)[:_MAX_FIELD_BYTES].decode("utf-8", "surrogateescape")
    content_type = helper.get_default_type()
    charset: str | None = None
    filename: str | None = None
    disposition: str | None = None
    params: dict[str, str] = {}
    try:
        content_type = helper.get_content_type()
        for key, value in helper.get_params(failobj=[]) or []:
            if isinstance(value, str):
                params.setdefault(str(key).lower(), value)
    except Exception:  # pragma: no cover - compat32 parameter parsing is lenient
        pass
    try:
        charset = helper.get_content_charset()
    except Exception:
        charset = params.get("charset")
    try:
        disposition = helper.get_content_disposition()
    except Exception:
        disposition = None
    try:
        filename = helper.get_filename()
    except Exception:
        filename = params.get("name")
    return _Mime(
        content_type=content_type.lower(),
        charset=charset,
        filename=_sanitise_filename(filename),
        disposition=disposition,
        params=params,
    )


def _sanitise_filename(value: str | None) -> str | None:
    """A file name with no path parts and no control or direction-changing characters."""
    if not value:
        return None
    name = _decode_words(value.encode("utf-8", "surrogateescape"))
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    name = name.strip().strip(".").strip()
    if not name:
        return None
    if len(name) > 200:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: 200 - len(suffix) - 1] + dot + suffix) if dot and len(suffix) <= 16 else name[:200]
    return name


def _payload(part: email.message.Message) -> bytes:
    """The content of a leaf part with the transfer encoding (base64, quoted-printable) undone."""
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


# ---------------------------------------------------------------------------
# HTML into plain text


_SKIPPED_ELEMENTS = frozenset(
    {"script", "style", "head", "title", "template", "noscript", "xml", "svg", "math", "object",
     "iframe", "embed", "applet", "select", "textarea", "button"}
)  # fmt: skip
_PARAGRAPH_ELEMENTS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "pre", "blockquote",
     "address", "figure", "center", "form", "fieldset", "section", "article", "header", "footer",
     "main", "aside", "nav", "details"}
)  # fmt: skip
_LINE_ELEMENTS = frozenset(
    {"div", "br", "li", "tr", "dt", "dd", "caption", "figcaption", "summary", "hr", "legend", "option"}
)  # fmt: skip
_VOID_ELEMENTS = frozenset(
    {"br", "hr", "img", "meta", "link", "input", "col", "wbr", "area", "base", "source", "track", "param"}
)  # fmt: skip


# The tokenizer: linear in the length of the markup, whatever it is.  (The
# standard library's html.parser is not: in Python 3.11 twenty thousand
# unclosed "<a " take it twenty seconds, which a sender could use to stall
# intake.)
_TAG_OPEN = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:._-]*)")
_TAG_STOP = re.compile(r">|=\s*([\"'])")  # the end of a tag, or a quoted attribute value
_ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
# Elements whose content is text, not markup, up to their end tag.
_RAW_TEXT_ELEMENTS = frozenset(
    {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "plaintext"}
)
_RAW_TEXT_END = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in _RAW_TEXT_ELEMENTS}


def _tag_end(markup: str, start: int) -> int:
    """The index of the ">" that ends the tag whose attributes start at *start*, or -1."""
    position = start
    while True:
        stop = _TAG_STOP.search(markup, position)
        if stop is None:
            return -1
        if stop.group() == ">":
            return stop.start()
        close = markup.find(stop.group(1), stop.end())
        if close < 0:
            return -1
        position = close + 1


class _HtmlText:
    """Collects the visible text of an HTML document as lines with a quote depth."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []
        self._current: list[str] = []
        self._current_depth = 0
        self._depth = 0
        self._quote_stack: list[bool] = []
        self._skip: list[str] = []
        self._pre = 0
        self._href: str | None = None
        self._link_text: list[str] = []

    # -- lines
    def _add(self, text: str) -> None:
        if not self._current:
            self._current_depth = self._depth
        self._current.append(text)
        if self._href is not None:
            self._link_text.append(text)

    def _flush(self) -> None:
        joined = "".join(self._current)
        line = joined.rstrip() if self._pre else re.sub(r"[ \t]{2,}", " ", joined).strip()
        self._current = []
        if line:
            self.lines.append((self._current_depth, line))

    def _blank(self) -> None:
        self._flush()
        if self.lines and self.lines[-1][1]:
            self.lines.append((self._depth, ""))

    # -- the tokenizer
    def feed(self, markup: str) -> None:
        """Read the whole document, calling the handlers below; never fails, whatever the markup."""
        position, length = 0, len(markup)
        while position < length:
            lt = markup.find("<", position)
            if lt < 0:
                self.handle_data(html.unescape(markup[position:]))
                return
            if lt > position:
                self.handle_data(html.unescape(markup[position:lt]))
            if markup.startswith("<!--", lt):  # a comment (also Outlook's conditional ones)
                end = markup.find("-->", lt + 4)
                position = length if end < 0 else end + 3
                continue
            if markup.startswith(("<!", "<?"), lt):  # doctype, <![if ...]>, CDATA, processing instruction
                end = markup.find(">", lt + 2)
                position = length if end < 0 else end + 1
                continue
            tag = _TAG_OPEN.match(markup, lt)
            if tag is None:
                self.handle_data("<")
                position = lt + 1
                continue
            gt = _tag_end(markup, tag.end())
            if gt < 0:
                return  # a tag left open runs to the end, as in a browser: nothing more shows
            name = tag.group(2).lower()
            position = gt + 1
            if tag.group(1):
                self.handle_endtag(name)
                continue
            attributes = [
                (
                    match.group(1).lower(),
                    html.unescape(match.group(2) or match.group(3) or match.group(4) or ""),
                )
                for match in _ATTRIBUTE.finditer(markup, tag.end(), gt)
            ]
            self.handle_starttag(name, attributes)
            if name in _RAW_TEXT_ELEMENTS:
                end_tag = _RAW_TEXT_END[name].search(markup, position)
                self.handle_data(markup[position : end_tag.start() if end_tag else length])
                self.handle_endtag(name)
                position = end_tag.end() if end_tag else length

    # -- handlers
    def handle_starttag(self, tag: str, attributes: list[tuple[str, str]]) -> None:
        if tag == "body":
            self._skip = [name for name in self._skip if name not in ("head", "title")]
            return
        if tag in _SKIPPED_ELEMENTS:
            self._skip.append(tag)
            return
        if self._skip:
            return
        if tag == "a":
            self._end_link()
            href = dict(attributes).get("href", "")
            self._href = href.strip() if re.match(r"^\s*https?://", href, re.IGNORECASE) else ""
            self._link_text = []
        elif tag == "blockquote":
            values = dict(attributes)
            cite = values.get("type", "").lower() == "cite" or "quote" in values.get("class", "").lower()
            self._quote_stack.append(cite)
            self._blank()
            if cite:
                self._depth += 1
            return
        elif tag in ("td", "th"):
            self._add(" ")
        elif tag == "pre":
            self._pre += 1
        if tag in _PARAGRAPH_ELEMENTS:
            self._blank()
        elif tag == "br" and not "".join(self._current).strip():
            self._blank()  # <div><br></div>: an empty line
        elif tag in _LINE_ELEMENTS:
            self._flush()
            if tag == "li":
                self._add("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_ELEMENTS:
            if tag in self._skip:
                while self._skip and self._skip.pop() != tag:
                    pass
            return
        if self._skip or tag in _VOID_ELEMENTS:
            return
        if tag == "a":
            self._end_link()
        elif tag == "blockquote":
            self._flush()
            if self._quote_stack and self._quote_stack.pop():
                self._depth = max(0, self._depth - 1)
            self._blank()
            return
        elif tag == "pre":
            self._flush()
            self._pre = max(0, self._pre - 1)
        if tag in _PARAGRAPH_ELEMENTS:
            self._blank()
        elif tag in _LINE_ELEMENTS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        data = data.replace("\xa0", " ")
        if self._pre:
            first, *rest = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            self._add(first)
            for line in rest:
                if self._current:
                    self._flush()
                elif self.lines and self.lines[-1][1]:
                    self.lines.append((self._depth, ""))
                self._add(line)
        else:
            self._add(_WHITESPACE.sub(" ", data))

    def _end_link(self) -> None:
        if self._href is None:
            return
        href, text = self._href, "".join(self._link_text).strip()
        self._href, self._link_text = None, []
        bare = re.sub(r"^https?://", "", href, flags=re.IGNORECASE).rstrip("/")
        if href and len(href) <= 500 and text and bare.lower() not in text.lower():
            self._add(f" ({href})")

    def text(self) -> str:
        self._end_link()
        self._flush()
        out: list[str] = []
        for depth, line in self.lines:
            prefix = ">" * depth
            out.append(f"{prefix} {line}" if prefix and line else prefix or line)
        return "\n".join(out)


def _html_to_text(markup: str) -> str:
    """The visible text of *markup*: no scripts, styles or tags; paragraphs and lines kept."""
    parser = _HtmlText()
    parser.feed(markup)
    return _normalise_text(parser.text())


# ---------------------------------------------------------------------------
# Plain text, quotes and signatures


def _normalise_text(text: str) -> str:
    """Newlines as ``\\n``, no control characters, no trailing spaces, at most one blank line in a row."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# Control characters that no text contains (tab, newlines, form feed excepted).
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _looks_binary(text: str) -> bool:
    bad = len(_BINARY.findall(text)) + text.count("\ufffd")
    return bad > 0 and bad * 20 > len(text)


def _unflow(text: str, delsp: bool) -> str:
    """Undo RFC 3676 ``format=flowed``: soft line breaks joined, space-stuffing removed."""
    out: list[str] = []
    pending: str | None = None
    pending_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        if pending is not None and depth == pending_depth:
            content = pending + content
        elif pending is not None:
            out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
        pending = None
        if content.endswith(" ") and content != "-- ":
            pending, pending_depth = (content[:-1] if delsp else content), depth
            continue
        out.append(">" * depth + (" " if depth and content else "") + content)
    if pending is not None:
        out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
    return "\n".join(out)


_QUOTE_LINE = re.compile(r"^\s{0,3}>")
_ORIGINAL_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:ursprungligt meddelande|originalmeddelande|ursprungligt brev|original message)"
    r"\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FORWARD_MARKER = re.compile(
    r"^\s*(?:-{2,}\s*(?:vidarebefordrat meddelande|vidarebefordrat brev|forwarded message)\s*-{2,}"
    r"|(?:vidarebefordrat brev|vidarebefordrat meddelande|början på vidarebefordrat brev"
    r"|begin forwarded message)\s*:)\s*$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*(?:_{8,}|-{8,})\s*$")
_HEADER_FROM = re.compile(r"^\s*\*?(?:från|from)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_SENT = re.compile(r"^\s*\*?(?:skickat|sent|datum|date)\s*:", re.IGNORECASE)
_HEADER_TO = re.compile(r"^\s*\*?(?:till|to|ämne|subject|kopia|cc)\s*:", re.IGNORECASE)
# Attributions recognised even without ">" lines below them, so strict
# enough not to match a person's own "Den 3 mars skrev jag till er:".
# Gmail: "Den tis 3 mars 2026 kl 10:15 skrev Eva <eva@...>:" and
# "On Tue, Mar 3, 2026 at 10:15 AM Eva <eva@...> wrote:".
_ATTRIBUTION_STRICT = (
    re.compile(r"^\s*(?:den|on)\s.{4,300}?\d{4}.{0,300}?<[^<>\s]+@[^<>\s]+>.{0,40}:\s*$", re.IGNORECASE),
    # Apple Mail: "Eva Svensson <eva@...> skrev den 3 mars 2026 kl. 10:15:"
    re.compile(r"^\s*.{1,200}\sskrev\s+den\s+\d{1,2}\s+\S+\.?\s+\d{4}.{0,40}:\s*$", re.IGNORECASE),
    # iOS: "3 mars 2026 kl. 10:15 skrev Eva Svensson <eva@...>:"
    re.compile(
        r"^\s*\d{1,2}\s+\S+\.?\s+\d{4}\s+kl\.?\s*\d{1,2}[:.]\d{2}\s+skrev\s.{1,200}:\s*$", re.IGNORECASE
    ),
)
_ATTRIBUTION_LOOSE = re.compile(r"^.{0,300}\b(?:skrev|wrote)\b.{0,300}:\s*$", re.IGNORECASE)
_SIGNATURE = re.compile(r"^--\s?$")
_MOBILE = (
    re.compile(
        r"^(?:skickat|skickad|sent)\s+(?:från|from|via)\s+(?:min|mitt|my)\s+(?:\S+[ -]){0,2}"
        r"(?:iphone|ipad|android|samsung|galaxy|huawei|xiaomi|pixel|oneplus|sony|nokia|motorola|mobil|mobile"
        r"|telefon|phone|smartphone|smarttelefon|surfplatta|tablet|blackberry)\b[\w -]{0,30}\.?$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?:skickat|sent)\s+(?:från|from)\s+(?:outlook|mail|yahoo|gmail|samsung|aol)\b.{0,40}$",
        re.IGNORECASE,
    ),
    re.compile(r"^(?:hämta|get)\s+outlook\s+(?:för|for)\s+(?:android|ios)\s*\.?$", re.IGNORECASE),
)
_FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|vb|wg|tr|vs)\s*:", re.IGNORECASE)


def _outlook_block_at(lines: Sequence[str], index: int) -> bool:
    """True if an Outlook reply header ("Från: / Skickat: / Till: / Ämne:") starts at *index*."""
    if not _HEADER_FROM.match(lines[index]) or len(lines[index]) > 300:
        return False
    window = lines[index + 1 : index + 7]
    return any(_HEADER_SENT.match(line) for line in window[:3]) and any(
        _HEADER_TO.match(line) for line in window
    )


def _attribution_at(lines: Sequence[str], hints: Sequence[bool], index: int, *, strict: bool) -> int | None:
    """If a reply attribution ("... skrev:") starts at *index*, the index of its last line (it may wrap).

    *hints* says which lines contain "skrev" or "wrote": only near one can an attribution start.
    """
    if not any(hints[index : index + 3]):
        return None
    joined = ""
    for end in range(index, min(index + 3, len(lines))):
        line = lines[end].strip()
        if not line or _QUOTE_LINE.match(line):
            return None
        joined = f"{joined} {line}".strip()
        if len(joined) > 400:
            return None
        if strict:
            if any(pattern.match(joined) for pattern in _ATTRIBUTION_STRICT):
                return end
        elif _ATTRIBUTION_LOOSE.match(joined):
            return end
        if joined.endswith(":"):
            return None
    return None


def _next_text_line(lines: Sequence[str], start: int, stop: int) -> int | None:
    for index in range(start, stop):
        if lines[index].strip():
            return index
    return None


def _quote_block_after_attribution(
    lines: Sequence[str], hints: Sequence[bool], index: int, stop: int
) -> int | None:
    """If an attribution ("... skrev:") at *index* introduces ">" lines, the index of the first of them."""
    end = _attribution_at(lines, hints, index, strict=False)
    if end is None:
        return None
    following = _next_text_line(lines, end + 1, stop)
    if following is not None and _QUOTE_LINE.match(lines[following]):
        return following
    return None


def _signature_end(lines: Sequence[str], hints: Sequence[bool], index: int, stop: int) -> int | None:
    """If a signature starts at *index* ("-- "), the index just after it: the next quote, or *stop*.

    A signature is short: a "-- " with more than 30 lines below it (10 for a
    bare "--", which people also use as a dash) is the person's text.
    """
    if not _SIGNATURE.match(lines[index]):
        return None
    limit = 30 if lines[index] == "-- " else 10
    size = 0
    end = index + 1
    while end < stop:
        if (
            _QUOTE_LINE.match(lines[end])
            or _quote_block_after_attribution(lines, hints, end, stop) is not None
        ):
            break
        if lines[end].strip():
            size += 1
            if size > limit:
                return None
        end += 1
    return end


def _split_quoted(text: str, *, forwarded: bool) -> tuple[str, str]:
    """Split *text* into the person's new text and what is quoted (earlier message, signature)."""
    lines = text.split("\n")
    count = len(lines)
    quoted = [False] * count
    hints = [("skrev" in lowered or "wrote" in lowered) for lowered in (line.lower() for line in lines)]

    # Below a forward marker is forwarded content that the person sends on
    # purpose: it stays, unless it is itself inside a quoted earlier message.
    region = next((i for i, line in enumerate(lines) if _FORWARD_MARKER.match(line)), count)
    cut = count
    for index in range(region):
        line = lines[index]
        if _ORIGINAL_SEPARATOR.match(line) or _outlook_block_at(lines, index):
            start = index
            previous = index - 1
            while previous >= 0 and not lines[previous].strip():
                previous -= 1
            if previous >= 0 and _RULE.match(lines[previous]):
                start = previous
            if forwarded:  # "VB:" in Outlook: the header block introduces what is forwarded
                region = start
            else:
                cut = start
            break
        end = _attribution_at(lines, hints, index, strict=True)
        if end is not None:
            following = _next_text_line(lines, end + 1, count)
            if following is None or not _QUOTE_LINE.match(lines[following]):
                cut = index  # an attribution above an unmarked quote: all below is quoted
                break
    stop = min(cut, region)

    index = 0
    while index < stop:
        line = lines[index]
        if _QUOTE_LINE.match(line):
            quoted[index] = True
            index += 1
            continue
        following = _quote_block_after_attribution(lines, hints, index, stop)
        if following is not None:
            for marked in range(index, following):
                quoted[marked] = True
            index = following
            continue
        end = _signature_end(lines, hints, index, stop)
        if end is not None:
            for marked in range(index, end):
                quoted[marked] = True
            index = end
            continue
        stripped = line.strip()
        if len(stripped) <= 80 and any(pattern.match(stripped) for pattern in _MOBILE):
            quoted[index] = True
        index += 1
    for index in range(cut, count):  # the cut lies above any forward marker
        quoted[index] = True

    kept = "\n".join(line for line, is_quoted in zip(lines, quoted, strict=True) if not is_quoted)
    if not kept.strip():
        return _normalise_text(text), ""  # never lose the person's words
    removed: list[str] = []
    for index, line in enumerate(lines):
        if quoted[index]:
            if removed and index > 0 and not quoted[index - 1]:
                removed.append("")
            removed.append(line)
    return _normalise_text(kept), _normalise_text("\n".join(removed))


# ---------------------------------------------------------------------------
# Walking the MIME tree


_MAX_DEPTH = 25


@attrs.define
class _Segment:
    kind: str  # "plain", "html" or "forward"
    text: str
    notes: list[str]
    unread: int = 0  # characters beyond what is worth reading (far over max_text_chars)


@attrs.define
class _Context:
    limits: MailLimits
    attachments: list[Attachment] = attrs.field(factory=list)
    dropped: list[str] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)
    binary_text: bool = False
    too_deep: bool = False

    def attach(self, filename: str | None, content_type: str, data: bytes) -> None:
        limits = self.limits
        if filename:
            what = _('bilagan "{name}" ({size})').format(name=filename, size=_size(len(data)))
        else:
            what = _("en bilaga utan namn ({type}, {size})").format(type=content_type, size=_size(len(data)))
        if len(data) > limits.max_attachment_bytes:
            self.dropped.append(
                _("{what} togs inte med: den är större än gränsen {limit}").format(
                    what=what, limit=_size(limits.max_attachment_bytes)
                )
            )
        elif len(self.attachments) >= limits.max_attachments:
            self.dropped.append(
                _("{what} togs inte med: fler än {count} bilagor").format(
                    what=what, count=limits.max_attachments
                )
            )
        else:
            self.attachments.append(
                Attachment(filename=filename, content_type=content_type, size=len(data), data=data)
            )


def _message_bytes(message: email.message.Message) -> bytes:
    """A nested header block (message/delivery-status) back as bytes."""
    lines = [
        str(key).encode("utf-8", "surrogateescape") + b": " + _header_bytes(value)
        for key, value in message.raw_items()
    ]
    return b"\r\n".join(lines) + b"\r\n"


def _text_part(part: email.message.Message, mime: _Mime, ctx: _Context) -> list[_Segment]:
    declared = mime.charset
    data = _payload(part)
    html_part = mime.content_type == "text/html"
    if html_part and not declared:
        meta = re.search(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?([A-Za-z0-9_.:-]{1,40})", data[:8192], re.I)
        declared = meta.group(1).decode("ascii") if meta else None
    text, note = _decode_text(data, declared)
    notes = [note] if note else []
    if _looks_binary(text):
        ctx.binary_text = True
        return []
    if html_part:
        budget = max(1_000_000, ctx.limits.max_text_chars * 40)
        if len(text) > budget:
            text = text[:budget]
            notes.append(
                _("HTML-delen var för stor; bara de första {count} tecknen gjordes om till text").format(
                    count=_count(budget)
                )
            )
        return [_Segment("html", _html_to_text(text), notes)]
    budget = _reading_budget(ctx.limits)
    unread = max(0, len(text) - budget)
    text = text[:budget].replace("\r\n", "\n").replace("\r", "\n")
    if mime.params.get("format", "").lower() == "flowed":
        text = _unflow(text, mime.params.get("delsp", "").lower() == "yes")
    return [_Segment("plain", _normalise_text(text), notes, unread)]


def _reading_budget(limits: MailLimits) -> int:
    """How much plain text is read at all: enough to fill max_text_chars after quotes are taken out."""
    return 4 * limits.max_text_chars + 10_000


def _choose(segments: list[_Segment]) -> tuple[list[_Segment], list[_Segment], bool]:
    """The segments that make the body: (own text, forwarded messages, whether the own text is HTML).

    The own text is the plain-text parts if any has text, else the HTML parts.
    """
    plain = [s for s in segments if s.kind == "plain" and s.text]
    own = plain or [s for s in segments if s.kind == "html" and s.text]
    forwards = [s for s in segments if s.kind == "forward" and s.text]
    return own, forwards, bool(own) and not plain


def _join(own: str, forwards: Sequence[_Segment]) -> str:
    return "\n\n".join(part for part in [own, *(s.text for s in forwards)] if part)


def _forward(message: email.message.Message, ctx: _Context, depth: int) -> list[_Segment]:
    """A forwarded message (message/rfc822): its headers and text as part of the body."""
    own, forwards, _from_html = _choose(_walk(message, ctx, depth + 1))
    text = _join("\n\n".join(s.text for s in own), forwards)
    notes = [note for segment in (*own, *forwards) for note in segment.notes]
    unread = sum(segment.unread for segment in (*own, *forwards))
    lines = [_("---------- Vidarebefordrat meddelande ----------")]
    for header, label in (
        ("From", _("Från")),
        ("Date", _("Datum")),
        ("Subject", _("Ämne")),
        ("To", _("Till")),
    ):
        value = _decoded_header(message, header)
        if value:
            lines.append(f"{label}: {value}")
    body = "\n".join(lines) + ("\n\n" + text if text else "")
    return [_Segment("forward", body, notes, unread)]


def _walk(part: email.message.Message, ctx: _Context, depth: int) -> list[_Segment]:
    if depth > _MAX_DEPTH:
        ctx.too_deep = True
        note = _("delar som låg mer än {count} nivåer ner i meddelandet togs inte med").format(
            count=_MAX_DEPTH
        )
        if note not in ctx.notes:
            ctx.notes.append(note)
        return []
    mime = _mime(part)
    ctype = mime.content_type
    payload = part.get_payload() if part.is_multipart() else None
    if isinstance(payload, list):
        children = [child for child in payload if isinstance(child, email.message.Message)]
        if ctype.startswith("message/") and ctype not in ("message/rfc822", "message/global"):
            # message/delivery-status and the like: header blocks, kept as a file
            data = b"\r\n".join(_message_bytes(child) for child in children)
            ctx.attach(mime.filename, ctype, data)
            return []
        if ctype in ("message/rfc822", "message/global") and len(children) == 1:
            return _forward(children[0], ctx, depth)
        if ctype == "multipart/alternative":
            return _alternative(children, ctx, depth)
        return [segment for child in children for segment in _walk(child, ctx, depth + 1)]
    is_body_text = ctype in ("text/plain", "text/html") or (
        # a "multipart" without a readable structure is shown as text
        ctype.startswith("multipart/")
    )
    if is_body_text and mime.disposition != "attachment" and not mime.filename:
        if ctype.startswith("multipart/"):
            mime = attrs.evolve(mime, content_type="text/plain")
        return _text_part(part, mime, ctx)
    ctx.attach(mime.filename, ctype, _payload(part))
    return []


def _alternative(children: list[email.message.Message], ctx: _Context, depth: int) -> list[_Segment]:
    """multipart/alternative: the first alternative with plain text, else the first with any text.

    Attachments are kept from every alternative (Apple Mail puts inline
    images in the HTML alternative only).
    """
    walked = [_walk(child, ctx, depth + 1) for child in children]
    for kinds in (("plain",), ("plain", "html", "forward")):
        for segments in walked:
            if any(s.kind in kinds and s.text for s in segments):
                return segments
    return []


# ---------------------------------------------------------------------------
# Machine-made messages


_OOO_STRONG = re.compile(
    r"^\s*(?:automatiskt svar|autosvar|automatic reply|auto[- ]?reply|autoreply|autoresponse"
    r"|out of office autoreply)\s*(?::|$)",
    re.IGNORECASE,
)
_OOO_WEAK = re.compile(
    r"^\s*(?:frånvaro|frånvaromeddelande|out of (?:the )?office|ooo)\s*(?::|$)", re.IGNORECASE
)
_REPLY_PREFIX = re.compile(r"^\s*(?:sv|re|svar|aw)\s*:", re.IGNORECASE)
_FALSE = frozenset({"no", "false", "0", "off"})


def _token(value: bytes | None) -> str:
    if value is None:
        return ""
    words = re.split(r"[;\s(]", value.decode("ascii", "replace").strip(), maxsplit=1)
    return words[0].lower()


def _automatic(
    message: email.message.Message,
    subject: str,
    sender_address: str | None,
    threaded: bool,
) -> str | None:
    mime = _mime(message)
    report_type = mime.params.get("report-type", "").strip().lower()
    if mime.content_type == "multipart/report" and report_type == "delivery-status":
        return "bounce"
    if sender_address and sender_address.rpartition("@")[0].lower() in ("mailer-daemon", "postmaster"):
        return "bounce"
    auto_submitted = _token(_raw_header(message, "Auto-Submitted"))
    precedence = _token(_raw_header(message, "Precedence"))
    autoreply = any(
        _token(value) not in _FALSE
        for name in ("X-Autoreply", "X-Autorespond")
        for value in _raw_headers(message, name)
    )
    strong = _OOO_STRONG.match(subject)
    weak = _OOO_WEAK.match(subject)
    if strong or (weak and (threaded or _REPLY_PREFIX.match(subject[weak.end() :]))):
        return "out-of-office"
    if mime.content_type == "multipart/report" or auto_submitted == "auto-replied" or autoreply:
        return "auto-reply"
    if precedence in ("auto_reply", "auto-reply"):
        return "auto-reply"
    if auto_submitted and auto_submitted != "no":
        return "auto-submitted"
    if precedence in ("bulk", "junk", "list"):
        return "mailing-list"
    if _raw_header(message, "List-Id") is not None or _raw_header(message, "List-Unsubscribe") is not None:
        return "mailing-list"
    return_path = _raw_header(message, "Return-Path")
    if return_path is not None and re.fullmatch(rb"\s*<\s*>\s*", return_path):
        return "bounce"
    return None


# ---------------------------------------------------------------------------
# The whole message


# Real messages have a few dozen parts; reading hundreds of thousands of
# tiny ones would stall intake for minutes.
_MAX_SEPARATOR_LINES = 20_000
# A Content-* header (at any level) longer than a real one ever is.
_LONG_MIME_HEADER = re.compile(
    rb"^content-[\w-]{1,40}[ \t]*:(?:[^\r\n]|\r?\n[ \t]){4096}", re.IGNORECASE | re.MULTILINE
)
_HEADER_LINE = re.compile(rb"^[\x21-\x39\x3b-\x7e]+[ \t]*:")
_MESSAGE_HEADERS = frozenset(
    {"from", "to", "cc", "subject", "date", "message-id", "mime-version", "received", "return-path",
     "content-type", "in-reply-to", "references", "reply-to", "sender", "delivered-to"}
)  # fmt: skip


def _check_header_block(raw: bytes) -> None:
    ends = [i for i in (raw.find(b"\n\n"), raw.find(b"\n\r\n")) if i >= 0]
    block = raw[: min(ends)] if ends else raw
    lines = block.split(b"\n")
    first = lines[0].rstrip(b"\r")
    if first.startswith(b"From ") and len(lines) > 1:  # an mbox "From " line
        first = lines[1].rstrip(b"\r")
    if not first.strip():
        raise MailParseError(_("meddelandet saknar rubriker: det börjar med en tom rad"))
    if not _HEADER_LINE.match(first):
        raise MailParseError(
            _("meddelandet saknar rubriker (From, Subject …): det ser inte ut som ett e-postmeddelande")
        )
    if b"\x00" in block:
        raise MailParseError(_("rubrikerna innehåller NUL-tecken"))


def _interpret(message: email.message.Message, limits: MailLimits) -> ParsedMail:
    names = {str(key).lower() for key in message}
    if not names & _MESSAGE_HEADERS:
        raise MailParseError(
            _("inga kända rubriker (From, To, Subject, Date …): det ser inte ut som ett e-postmeddelande")
        )
    notes: list[str] = []
    subject = _decoded_header(message, "Subject")
    if len(subject) > _MAX_SUBJECT_CHARS:
        notes.append(
            _("ämnesraden var {count} tecken och har kortats till {limit}").format(
                count=_count(len(subject)), limit=_count(_MAX_SUBJECT_CHARS)
            )
        )
        subject = subject[:_MAX_SUBJECT_CHARS].rstrip()
    sender_name, sender_address = _sender(message)
    message_ids = _message_ids(_raw_headers(message, "Message-ID"))
    thread_ids = _message_ids(_raw_headers(message, "In-Reply-To") + _raw_headers(message, "References"))
    in_reply_to = tuple(thread_ids[:_MAX_THREAD_IDS])
    references = _references(subject)

    ctx = _Context(limits)
    own_segments, forwards, from_html = _choose(_walk(message, ctx, 0))
    notes.extend(note for segment in (*own_segments, *forwards) for note in segment.notes)
    if from_html:
        notes.append(_("texten fanns bara som HTML och har gjorts om till vanlig text"))
    own_text = "\n\n".join(s.text for s in own_segments)
    budget = _reading_budget(limits)
    unread = sum(s.unread for s in (*own_segments, *forwards)) + max(0, len(own_text) - budget)
    own, quoted = _split_quoted(own_text[:budget], forwarded=bool(_FORWARD_SUBJECT.match(subject)))
    text = _join(own, forwards)
    if len(text) > limits.max_text_chars or unread:
        notes.append(
            _("texten var {count} tecken och har kortats till {limit}; hela meddelandet finns sparat").format(
                count=_count(len(text) + unread), limit=_count(limits.max_text_chars)
            )
        )
        text = text[: limits.max_text_chars].rstrip()
    notes.extend(ctx.dropped)
    notes.extend(ctx.notes)
    if ctx.binary_text and not text:
        notes.append(_("en textdel innehöll binära data och kunde inte läsas som text"))

    automatic = _automatic(message, subject, sender_address, bool(in_reply_to or references))
    if not text:
        if sender_address is None and _raw_header(message, "From") is None:
            raise MailParseError(_("inget avsändarfält (From) och ingen text"))
        if sender_address is None:
            raise MailParseError(_("avsändarfältet (From) går inte att läsa och meddelandet har ingen text"))
        if not ctx.attachments and automatic is None:
            if ctx.too_deep:
                raise MailParseError(
                    _(
                        "meddelandet är för djupt nästlat: ingen text eller bilaga finns inom {count} nivåer"
                    ).format(count=_MAX_DEPTH)
                )
            if ctx.dropped:
                raise MailParseError(
                    _("meddelandet har ingen text och inga bilagor inom gränserna: {dropped}").format(
                        dropped="; ".join(ctx.dropped)
                    )
                )
            if ctx.binary_text:
                raise MailParseError(
                    _("meddelandet har varken läsbar text eller bilagor (texten ser ut att vara binära data)")
                )
            raise MailParseError(_("meddelandet har varken läsbar text eller bilagor"))

    return ParsedMail(
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=in_reply_to,
        subject=subject,
        references=references,
        sender_name=sender_name,
        sender_address=sender_address,
        date=_date(message),
        text=text,
        quoted=quoted,
        attachments=tuple(ctx.attachments),
        automatic=automatic,
        notes=tuple(dict.fromkeys(notes)),
    )


def _parse(raw: bytes, limits: MailLimits) -> ParsedMail:
    if len(raw) > limits.max_bytes:
        raise MailParseError(
            _("meddelandet är {size}, gränsen är {limit}").format(
                size=_size(len(raw)), limit=_size(limits.max_bytes)
            )
        )
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    if not raw.strip():
        raise MailParseError(_("meddelandet är tomt"))
    _check_header_block(raw)
    separators = raw.count(b"\n--")
    if separators > _MAX_SEPARATOR_LINES:
        raise MailParseError(
            _(
                'meddelandet har {count} rader som börjar med "--" (gränser mellan MIME-delar); '
                "fler än {limit} delar läses inte"
            ).format(count=_count(separators), limit=_count(_MAX_SEPARATOR_LINES))
        )
    message: email.message.Message
    if _LONG_MIME_HEADER.search(raw) is None:
        try:
            message = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
            return _interpret(message, limits)
        except (MailParseError, RecursionError):
            raise
        except Exception:  # read it again with compat32, below
            pass
    # A header that the modern policy cannot make sense of, or one so long
    # that its parser would take minutes over it (it is superlinear in
    # Python 3.11): read the message with compat32, which keeps headers as
    # plain strings.  Everything below reads raw headers either way.
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw)
    return _interpret(message, limits)


def parse_mail(raw: bytes, limits: MailLimits = _DEFAULT_LIMITS) -> ParsedMail:
    """Read one RFC 5322 message for intake.

    Returns the :class:`ParsedMail`, or raises :class:`MailParseError` with a
    Swedish reason (for the quarantine list) when the message is larger than
    ``limits.max_bytes``, has no header block, has a NUL byte among its
    headers, or has neither readable text nor attachments.  No other
    exception escapes, whatever the bytes.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError(f"parse_mail() takes bytes, not {type(raw).__name__}")
    try:
        return _parse(bytes(raw), limits)
    except MailParseError:
        raise
    except RecursionError:
        raise MailParseError(
            _("meddelandet är för djupt nästlat (för många MIME-delar i varandra)")
        ) from None
    except Exception as exc:
        raise MailParseError(
            _("oväntat fel när meddelandet lästes ({error}); det behöver granskas för hand").format(
                error=type(exc).__name__
            )
        ) from exc

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
  iPhone" and its kin;
* a forwarded original (:class:`Forward`): attached as ``message/rfc822``,
  or inline below Gmail's, Thunderbird's or Apple Mail's forward marker or
  Outlook's "Från: … Skickat: … Till: … Ämne: …" block, with its sender,
  its own text and the forwarder's comment; intake decides whether it counts.

This module holds the public types and reads the message as a whole: it
walks the MIME tree into text and attachments, within the limits, and
decides between a :class:`ParsedMail` and a reason.  The rules for each
piece live in :mod:`klagomal.intake.mail`, one concept a module: charsets,
plain text, headers, references, MIME parameters, HTML, quotes, and
machine-made messages.
"""

from __future__ import annotations

import codecs
import datetime as dt
import email.message
import email.parser
import email.policy
import re
from collections.abc import Sequence

import attrs

from klagomal.core.formats import file_size, number
from klagomal.core.i18n import _
from klagomal.intake.mail.automatic import automatic_kind
from klagomal.intake.mail.charsets import decode_text
from klagomal.intake.mail.forwards import address_in, find_inline_forward
from klagomal.intake.mail.headers import (
    date_of,
    decoded_header,
    header_bytes,
    raw_header,
    raw_headers,
    sender_of,
)
from klagomal.intake.mail.htmltext import html_to_text as _html_to_text
from klagomal.intake.mail.mime import Mime, mime_of, payload_of
from klagomal.intake.mail.quotes import FORWARD_SUBJECT, split_quoted
from klagomal.intake.mail.references import case_references, message_ids_in
from klagomal.intake.mail.text import looks_binary, normalise_text, unflow

__all__ = [
    "Attachment",
    "Forward",
    "MailLimits",
    "MailParseError",
    "ParsedMail",
    "parse_mail",
    "readable_headers",
]


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
class Forward:
    """The original inside a message that forwards someone else's e-mail,
    attached (``message/rfc822``) or inline below a forward marker or an
    Outlook header block (:mod:`klagomal.intake.mail.forwards`).  Whether
    the forward counts (it comes from the kommun's own staff) is for intake
    to decide, not the parser."""

    sender_name: str | None
    sender_address: str | None
    """``None`` when the original's sender cannot be read (Outlook often shows a name only)."""
    subject: str | None
    sent: str | None
    """The original's date as the forward shows it."""
    text: str
    """The original's own text (its quotes and signature left out)."""
    comment: str
    """The forwarder's own lines above it, without their signature."""


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
    forward: Forward | None = None
    """The forwarded original, if this message forwards one."""


class MailParseError(Exception):
    """The message cannot be taken in; :attr:`reason` says why, in Swedish, for the quarantine list."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_DEFAULT_LIMITS = MailLimits()


# ---------------------------------------------------------------------------
# Sizes and counts for a Swedish reader


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
    originals: list[tuple[int, Forward]] = attrs.field(factory=list)  # (depth, original) of message/rfc822

    def attach(self, filename: str | None, content_type: str, data: bytes) -> None:
        limits = self.limits
        if filename:
            what = _('bilagan "{name}" ({size})').format(name=filename, size=file_size(len(data)))
        else:
            what = _("en bilaga utan namn ({type}, {size})").format(
                type=content_type, size=file_size(len(data))
            )
        if len(data) > limits.max_attachment_bytes:
            self.dropped.append(
                _("{what} togs inte med: den är större än gränsen {limit}").format(
                    what=what, limit=file_size(limits.max_attachment_bytes)
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
        str(key).encode("utf-8", "surrogateescape") + b": " + header_bytes(value)
        for key, value in message.raw_items()
    ]
    return b"\r\n".join(lines) + b"\r\n"


def _text_part(part: email.message.Message, mime: Mime, ctx: _Context) -> list[_Segment]:
    declared = mime.charset
    data = payload_of(part)
    html_part = mime.content_type == "text/html"
    if html_part and not declared:
        meta = re.search(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?([A-Za-z0-9_.:-]{1,40})", data[:8192], re.I)
        declared = meta.group(1).decode("ascii") if meta else None
    text, note = decode_text(data, declared)
    notes = [note] if note else []
    if looks_binary(text):
        ctx.binary_text = True
        return []
    if html_part:
        budget = max(1_000_000, ctx.limits.max_text_chars * 40)
        if len(text) > budget:
            text = text[:budget]
            notes.append(
                _("HTML-delen var för stor; bara de första {count} tecknen gjordes om till text").format(
                    count=number(budget)
                )
            )
        return [_Segment("html", _html_to_text(text), notes)]
    budget = _reading_budget(ctx.limits)
    unread = max(0, len(text) - budget)
    text = text[:budget].replace("\r\n", "\n").replace("\r", "\n")
    if mime.params.get("format", "").lower() == "flowed":
        text = unflow(text, mime.params.get("delsp", "").lower() == "yes")
    return [_Segment("plain", normalise_text(text), notes, unread)]


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
        value = decoded_header(message, header)
        if value:
            lines.append(f"{label}: {value}")
    body = "\n".join(lines) + ("\n\n" + text if text else "")
    name, address = sender_of(message)
    ctx.originals.append(
        (
            depth,
            Forward(
                sender_name=name,
                sender_address=address,
                subject=decoded_header(message, "Subject") or None,
                sent=decoded_header(message, "Date") or None,
                text=split_quoted(text[: _reading_budget(ctx.limits)], forwarded=False)[0],
                comment="",
            ),
        )
    )
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
    mime = mime_of(part)
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
    ctx.attach(mime.filename, ctype, payload_of(part))
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
# The whole message


_MAX_SUBJECT_CHARS = 1000
_MAX_THREAD_IDS = 100
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
    subject = decoded_header(message, "Subject")
    if len(subject) > _MAX_SUBJECT_CHARS:
        notes.append(
            _("ämnesraden var {count} tecken och har kortats till {limit}").format(
                count=number(len(subject)), limit=number(_MAX_SUBJECT_CHARS)
            )
        )
        subject = subject[:_MAX_SUBJECT_CHARS].rstrip()
    sender_name, sender_address = sender_of(message)
    message_ids = message_ids_in(raw_headers(message, "Message-ID"))
    thread_ids = message_ids_in(raw_headers(message, "In-Reply-To") + raw_headers(message, "References"))
    in_reply_to = tuple(thread_ids[:_MAX_THREAD_IDS])
    references = case_references(subject)

    ctx = _Context(limits)
    own_segments, forwards, from_html = _choose(_walk(message, ctx, 0))
    notes.extend(note for segment in (*own_segments, *forwards) for note in segment.notes)
    if from_html:
        notes.append(_("texten fanns bara som HTML och har gjorts om till vanlig text"))
    own_text = "\n\n".join(s.text for s in own_segments)
    budget = _reading_budget(limits)
    unread = sum(s.unread for s in (*own_segments, *forwards)) + max(0, len(own_text) - budget)
    own, quoted = split_quoted(own_text[:budget], forwarded=bool(FORWARD_SUBJECT.match(subject)))
    text = _join(own, forwards)
    if len(text) > limits.max_text_chars or unread:
        notes.append(
            _("texten var {count} tecken och har kortats till {limit}; hela meddelandet finns sparat").format(
                count=number(len(text) + unread), limit=number(limits.max_text_chars)
            )
        )
        text = text[: limits.max_text_chars].rstrip()
    notes.extend(ctx.dropped)
    notes.extend(ctx.notes)
    forward = _forwarded_original(ctx, own, own_text[:budget], subject, limits)
    if ctx.binary_text and not text:
        notes.append(_("en textdel innehöll binära data och kunde inte läsas som text"))

    automatic = automatic_kind(message, subject, sender_address, bool(in_reply_to or references), sender_name)
    if not text:
        if sender_address is None and raw_header(message, "From") is None:
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
        date=date_of(message),
        text=text,
        quoted=quoted,
        attachments=tuple(ctx.attachments),
        automatic=automatic,
        notes=tuple(dict.fromkeys(notes)),
        forward=forward,
    )


def _forwarded_original(
    ctx: _Context, own: str, own_text: str, subject: str, limits: MailLimits
) -> Forward | None:
    """The original this message forwards: the outermost attached one, else
    the first inline one in the text; ``None`` if it forwards nothing."""
    if ctx.originals:
        _depth, original = min(ctx.originals, key=lambda item: item[0])
        return attrs.evolve(original, text=original.text[: limits.max_text_chars].rstrip(), comment=own)
    inline = find_inline_forward(own_text, forward_subject=bool(FORWARD_SUBJECT.match(subject)))
    if inline is None:
        return None
    name, address = address_in(inline.headers["from"])
    return Forward(
        sender_name=name,
        sender_address=address,
        subject=inline.headers.get("subject") or None,
        sent=inline.headers.get("date") or None,
        text=split_quoted(inline.body, forwarded=False)[0][: limits.max_text_chars].rstrip(),
        comment=split_quoted(inline.before, forwarded=False)[0],
    )


def _parse(raw: bytes, limits: MailLimits) -> ParsedMail:
    if len(raw) > limits.max_bytes:
        raise MailParseError(
            _("meddelandet är {size}, gränsen är {limit}").format(
                size=file_size(len(raw)), limit=file_size(limits.max_bytes)
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
            ).format(count=number(separators), limit=number(_MAX_SEPARATOR_LINES))
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


#: How much of a message that cannot be parsed :func:`readable_headers` reads.
_READABLE_HEADER_BYTES = 256 * 1024


def readable_headers(raw: bytes) -> tuple[str | None, str | None]:
    """The sender's address and the subject of a message :func:`parse_mail`
    refused, as far as they can be read, for the quarantine list: so that
    the person can still be reached when, say, a NUL byte in the Subject
    keeps the message from being parsed.  NUL bytes are dropped; ``None``
    for what cannot be read.  Never raises."""
    try:
        head = bytes(raw[:_READABLE_HEADER_BYTES])
        ends = [i for i in (head.find(b"\n\n"), head.find(b"\n\r\n")) if i >= 0]
        block = head[: min(ends)] if ends else head
        message = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(
            block.replace(b"\x00", b"") + b"\n\n"
        )
        address = sender_of(message)[1]
        subject = decoded_header(message, "Subject")[:_MAX_SUBJECT_CHARS].strip()
        return address, subject or None
    except Exception:  # whatever the bytes: the quarantine keeps them all the same
        return None, None


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

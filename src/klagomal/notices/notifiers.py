"""Notifiers: how a message reaches a person or a member of staff.

A notifier is a small record registered through the ``klagomal_notifiers``
hook: a name and up to two functions.  ``send`` takes a :class:`StaffMessage`:
``klagomal remind`` hands each reminder and breach alert to one notifier that
way.  ``deliver`` takes a :class:`Message`: a rendered notice from the outbox
(:mod:`klagomal.notices.outbox`), to the person who gave the feedback or to staff,
with its text and HTML versions and the e-mail headers it must carry.

A notifier signals the outcome of ``deliver`` by returning (delivered) or by
raising :class:`~klagomal.core.errors.DeliveryError` (not delivered; retried
later unless ``permanent``) or :class:`~klagomal.core.errors.DeliveryUncertainError`
(it may have arrived; never retried automatically).  Any other exception
counts as not delivered.

Four notifiers are built in (:mod:`klagomal.hooks.builtin` registers them from the
organisation file's ``[utskick]``; ``docs/email.md`` describes them):

* ``log`` writes each message to the Python logger ``klagomal.notices.outbox``;
  what was sent, and when, is kept in the database either way, so it is a
  complete, inspectable outbox for development and for kommuner that
  forward their logs;
* ``smtp`` sends e-mail through the kommun's mail server
  (:func:`smtp_notifier`, :mod:`klagomal.notices.mail`);
* ``fil`` writes each e-mail as an ``.eml`` file instead (:func:`file_notifier`),
  byte for byte what ``smtp`` would send;
* ``utskrift`` writes each letter on paper as a printable HTML page with the
  address placed for a window envelope (:func:`letter_notifier`).
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
import re
import ssl
import tempfile
from collections.abc import Callable
from email.utils import make_msgid
from pathlib import Path

import attrs

from klagomal.core.errors import DeliveryError
from klagomal.core.i18n import _
from klagomal.core.settings import DeliverySettings
from klagomal.notices.mail import SmtpSender, build_email, build_staff_email, split_mailbox

__all__ = [
    "EMAIL",
    "FILE_NOTIFIER",
    "LETTER",
    "LETTER_NOTIFIER",
    "LOG_NOTIFIER",
    "SMTP_NOTIFIER",
    "TASK",
    "Message",
    "Notifier",
    "Recipient",
    "StaffMessage",
    "file_notifier",
    "letter_notifier",
    "log_notifier",
    "render_letter",
    "smtp_notifier",
]

#: The ways a notice reaches its recipient.  An e-mail and a letter go
#: through a notifier; a task is work for the handler (to phone the person
#: or tell them on a visit) and goes through none.
EMAIL = "epost"
LETTER = "brev"
TASK = "uppgift"

#: The names of the built-in notifiers.
LOG_NOTIFIER = "log"
SMTP_NOTIFIER = "smtp"
FILE_NOTIFIER = "fil"
LETTER_NOTIFIER = "utskrift"

log = logging.getLogger("klagomal.notices")


@attrs.frozen
class StaffMessage:
    """A message to a member of staff about a case.

    :param reference: the case.
    :param kind: ``"paminnelse"`` (a deadline is close) or ``"overskriden"``
        (a deadline has passed).
    :param recipient: who is told: the handler's or the manager's name as
        the case or the organisation file writes it.
    :param role: ``"handlaggare"`` or ``"chef"``.
    :param subject: a one-line Swedish summary.
    :param body: the Swedish text.
    :param email: the functional mailbox of the unit concerned, when the
        organisation file gives one.
    """

    reference: str
    kind: str
    recipient: str
    role: str
    subject: str
    body: str
    email: str | None = None
    html: str | None = None
    """The HTML version of *body*, when the templates give one."""
    date: dt.datetime | None = None
    """When it is sent, by klagomal's clock (the ``Date`` of an e-mail); ``None``: now."""


@attrs.frozen
class Recipient:
    """Who a notice is for.

    :param role: ``person`` (the one who gave the feedback), ``personal``
        (staff that praise concerns), ``chef``, ``handlaggare``,
        ``forvaltningschef`` or ``namnd``.
    :param name: the name to address, when known.
    :param email: the e-mail address, for notices by e-mail.
    :param address: the postal address, for letters on paper.
    :param phone: the telephone number, for a task to phone the person.
    :param protected: the person has skyddade personuppgifter: the notice
        goes to them, but no log or copy may say who they are or what was
        written to them (R27).
    """

    role: str
    name: str | None = None
    email: str | None = None
    address: str | None = None
    phone: str | None = None
    protected: bool = False


@attrs.frozen
class Message:
    """A rendered notice from the outbox, ready for a notifier.

    :param notice_id: the outbox row; a notifier that writes files names them by it.
    :param reference: the case.
    :param seq: the event that caused the notice.
    :param kind: the notice type, such as ``besked`` (see ``docs/notices.md``).
    :param way: :data:`EMAIL` or :data:`LETTER`.
    :param subject: the Swedish subject line; it carries the case reference
        so that replies can be threaded back into the case.
    :param text: the plain-text version.
    :param html: the HTML version, in which everything a citizen wrote is escaped.
    :param message_id: the stable ``Message-ID`` of this notice, with angle
        brackets; the same on every attempt, so a receiver can tell a repeat.
    :param sender: the ``From`` header.
    :param reply_to: the ``Reply-To`` header, or ``None``.
    :param auto_submitted: whether the notice is generated by klagomal rather
        than written by a person (``Auto-Submitted: auto-generated``, RFC 3834).
    :param references: earlier Message-IDs of the case's notices to the same
        recipient, oldest first, for ``In-Reply-To`` and ``References``.
    :param date: when it is sent, by klagomal's clock (the ``Date`` of an
        e-mail); ``None``: now.
    """

    notice_id: int
    reference: str
    seq: int
    kind: str
    way: str
    recipient: Recipient
    subject: str
    text: str
    html: str
    message_id: str
    sender: str
    reply_to: str | None = None
    auto_submitted: bool = True
    references: tuple[str, ...] = ()
    date: dt.datetime | None = None


@attrs.frozen
class Notifier:
    """A way to reach staff, registered through the ``klagomal_notifiers`` hook.

    :param name: a stable id, such as ``log``; ``klagomal remind --notifier``
        chooses by it.
    :param label: a Swedish display label.
    :param send: delivers one reminder or breach alert; raising means it
        was not delivered (it is retried on the next run).  ``None`` when the
        notifier cannot reach staff this way.
    :param deliver: delivers one notice from the outbox; see the module's
        docstring for what raising means.  ``None`` when the notifier does
        not deliver notices.
    """

    name: str
    label: str
    send: Callable[[StaffMessage], None] | None = None
    deliver: Callable[[Message], None] | None = None


Now = Callable[[], dt.datetime]


def _now() -> dt.datetime:
    return dt.datetime.now().astimezone()


# -- log ----------------------------------------------------------------------


def _log_message(message: StaffMessage) -> None:
    log.info(
        "%s till %s (%s)%s: %s\n%s",
        message.kind,
        message.recipient,
        message.role,
        f" <{message.email}>" if message.email else "",
        message.subject,
        message.body,
    )


def _describe(recipient: Recipient) -> str:
    """``Anna Lind (person) <anna@example.se>``: who a notice is for, for a log."""
    parts = [recipient.name or "-", f"({recipient.role})"]
    if recipient.email:
        parts.append(f"<{recipient.email}>")
    elif recipient.address:
        parts.append(_one_line(recipient.address))
    return " ".join(parts)


def _log_notice(message: Message) -> None:
    if message.recipient.protected:
        # R27: a log must not tell who a protected person is, nor what they were sent.
        log.info(
            "%s i ärende %s (%s) till en person med skyddade personuppgifter",
            message.kind,
            message.reference,
            message.way,
        )
        return
    log.info(
        "%s i ärende %s (%s) till %s: %s\n%s",
        message.kind,
        message.reference,
        message.way,
        _describe(message.recipient),
        message.subject,
        message.text,
    )


def log_notifier() -> Notifier:
    """The built-in ``log`` notifier: writes each reminder and notice to
    the ``klagomal.notices.outbox`` logger (kind, case, recipient, subject and text)."""
    return Notifier(LOG_NOTIFIER, _("Logg (klagomal.notices)"), _log_message, _log_notice)


# -- smtp ---------------------------------------------------------------------


def _sender(*candidates: str | None) -> str:
    for candidate in candidates:
        if candidate:
            return candidate
    raise DeliveryError(_("Avsändaren saknas: ange [utskick] avsandare i organisationsfilen"), permanent=True)


def _staff_message_id(message: StaffMessage, sender: str) -> str:
    domain = split_mailbox(sender)[1].rsplit("@", 1)[1]
    return make_msgid(idstring=_safe(f"{message.reference}.{message.kind}"), domain=domain)


def smtp_notifier(
    settings: DeliverySettings,
    *,
    ssl_context: ssl.SSLContext | None = None,
    now: Now | None = None,
) -> Notifier:
    """The built-in ``smtp`` notifier: e-mail through the server in
    ``[utskick.smtp]`` (see :class:`klagomal.notices.mail.SmtpSender`).

    ``deliver`` sends a notice to ``message.recipient.email``, from
    ``message.sender`` (or ``[utskick] avsandare`` when the message has
    none); ``send`` sends a reminder to the unit's mailbox
    (``message.email``) from ``[utskick] avsandare``.  A missing sender,
    server or password, a recipient without an address, and an invalid
    address are a permanent :class:`~klagomal.core.errors.DeliveryError` naming
    what is missing; nothing is connected to before they are checked.

    :param ssl_context: for STARTTLS and SSL; by default the system's
        certificate authorities.
    :param now: the clock for the ``Date`` header; by default the local time.
    """
    sender = SmtpSender(settings.smtp, ssl_context=ssl_context)
    clock = now or _now

    def deliver(message: Message) -> None:
        message = attrs.evolve(message, sender=_sender(message.sender, settings.sender))
        sender.check()
        sender.send(build_email(message, date=message.date or clock()))

    def send(message: StaffMessage) -> None:
        from_ = _sender(settings.sender)
        sender.check()
        email_message = build_staff_email(
            message,
            sender=from_,
            reply_to=settings.reply_to,
            message_id=_staff_message_id(message, from_),
            date=message.date or clock(),
        )
        sender.send(email_message)

    return Notifier(SMTP_NOTIFIER, _("E-post (SMTP)"), send, deliver)


# -- files ----------------------------------------------------------------------

#: The ``From`` of files written when ``[utskick] avsandare`` is not set:
#: the ``fil`` notifier is for development, so it does not insist.
FALLBACK_SENDER = "klagomal <klagomal@avsandare-saknas.invalid>"


def _safe(part: str) -> str:
    """*part* fit for a file name: anything but letters, digits, ``.``,
    ``_`` and ``-`` becomes ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", part) or "_"


def _notice_name(message: Message, suffix: str) -> str:
    """``2026-00001-03-besked-17.eml``: reference, event, notice type and outbox row."""
    return f"{_safe(message.reference)}-{message.seq:02d}-{_safe(message.kind)}-{message.notice_id}{suffix}"


def _write(folder: Path, name: str, content: bytes, *, replace: bool = True) -> Path:
    """Write *content* to *folder*/*name* atomically (a temporary file in
    the same folder, then a rename), creating the folder.  Without
    *replace*, an existing file is kept and ``-2``, ``-3`` ... is added to
    the new one's name.

    :raises DeliveryError: (temporary) when the file cannot be written.
    """
    target = folder / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not replace:
            target = _reserve(folder, name)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, target)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
    except OSError as exc:
        raise DeliveryError(
            _("Filen {path} kunde inte skrivas: {error}").format(path=target, error=exc.strerror or exc)
        ) from exc
    return target


def _reserve(folder: Path, name: str) -> Path:
    """A new, empty file *folder*/*name*, or ``<stem>-2<suffix>``, ``-3``
    ... when that name is taken (created exclusively, so two writers never
    get the same name)."""
    stem, suffix = os.path.splitext(name)
    number = 1
    while True:
        target = folder / (name if number == 1 else f"{stem}-{number}{suffix}")
        try:
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            number += 1
        else:
            return target


def file_notifier(
    folder: str | os.PathLike[str],
    *,
    sender: str | None = None,
    reply_to: str | None = None,
    now: Now | None = None,
) -> Notifier:
    """The built-in ``fil`` notifier: e-mail written to files instead of sent,
    for development and for an outbox that another program empties.

    ``deliver`` writes the exact bytes of :func:`klagomal.notices.mail.build_email`
    (the bytes the ``smtp`` notifier would send) to
    ``<folder>/<reference>-<seq:02d>-<kind>-<notice_id>.eml``; a repeat of
    the same notice replaces its file.  ``send`` writes a reminder to
    ``<folder>/<reference>-<kind>-<role>-<YYYYMMDDTHHMMSS>.eml`` (never
    replacing one).  Files are written atomically; the folder is created.

    :param folder: relative to the working directory when the file is written.
    :param sender: ``[utskick] avsandare``: the ``From`` of reminders and of
        notices without a sender; :data:`FALLBACK_SENDER` when not set.
    :param reply_to: ``[utskick] svarsadress``, for reminders.
    :param now: the clock for the ``Date`` header; by default the local time.
    """
    clock = now or _now

    def deliver(message: Message) -> None:
        message = attrs.evolve(message, sender=_sender(message.sender, sender, FALLBACK_SENDER))
        content = build_email(message, date=message.date or clock()).as_bytes()
        _write(Path(folder), _notice_name(message, ".eml"), content)

    def send(message: StaffMessage) -> None:
        from_ = _sender(sender, FALLBACK_SENDER)
        date = message.date or clock()
        email_message = build_staff_email(
            message,
            sender=from_,
            reply_to=reply_to,
            message_id=_staff_message_id(message, from_),
            date=date,
        )
        name = (
            f"{_safe(message.reference)}-{_safe(message.kind)}-{_safe(message.role)}-{date:%Y%m%dT%H%M%S}.eml"
        )
        _write(Path(folder), name, email_message.as_bytes(), replace=False)

    return Notifier(FILE_NOTIFIER, _("E-post som filer (.eml)"), send, deliver)


# -- letters on paper -------------------------------------------------------------

#: Print styles of a letter: A4, and the address where the window of a
#: Swedish window envelope (C5/E65, window on the right) shows it.  The
#: letter templates' own recipient block (class ``mottagare``, see
#: ``notices/templates/_layout.html``) is hidden on paper, where this one
#: takes its place.
LETTER_CSS = """\
@page { size: A4; margin: 15mm 15mm 20mm 20mm; }
.klagomal-kuvert { position: relative; height: 75mm; margin: 0; }
.klagomal-adress {
  position: absolute; top: 30mm; left: 98mm; width: 85mm; height: 35mm;
  margin: 0; overflow: hidden; font: 11pt/1.35 Arial, Helvetica, sans-serif;
}
@media print {
  html, body { margin: 0 !important; padding: 0 !important; }
  .mottagare { display: none !important; }
}
@media screen {
  .klagomal-kuvert { max-width: 190mm; }
}
"""


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _address_lines(address: str) -> list[str]:
    """The lines of a postal address: as written, or split at commas when
    it is written on one line (``Storgatan 1, 831 30 Östersund``)."""
    lines = [line.strip() for line in address.splitlines() if line.strip()]
    if len(lines) == 1:
        lines = [part.strip() for part in lines[0].split(",") if part.strip()]
    return lines


def render_letter(message: Message) -> str:
    """The printable HTML page of the letter *message*.

    The address block (``recipient.name`` and the lines of
    ``recipient.address``, escaped) is inserted at the start of the body of
    ``message.html``, and the print styles (:data:`LETTER_CSS`) at the end
    of its head, so that the letter's own content and styles stay as the
    letters module made them.  When ``message.html`` is no complete document,
    it is wrapped in one.

    :raises DeliveryError: (permanent) when the recipient has no postal address.
    """
    recipient = message.recipient
    lines = _address_lines(recipient.address or "")
    if not lines:
        raise DeliveryError(
            _("Mottagaren ({role}) har ingen postadress: brevet kan inte skrivas ut").format(
                role=recipient.role
            ),
            permanent=True,
        )
    if recipient.name and recipient.name.strip():
        lines.insert(0, _one_line(recipient.name))
    block = (
        '<div class="klagomal-kuvert">'
        '<p class="klagomal-adress" aria-label="Mottagare">'
        + "<br>".join(html.escape(line) for line in lines)
        + "</p></div>\n"
    )
    style = f'<style media="all">\n{LETTER_CSS}</style>\n'
    page = message.html
    body = re.search(r"<body\b[^>]*>", page, re.IGNORECASE)
    if body is None:
        return (
            '<!DOCTYPE html>\n<html lang="sv">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(message.subject)}</title>\n{style}</head>\n<body>\n{block}{page}\n</body>\n</html>\n"
        )
    page = page[: body.end()] + "\n" + block + page[body.end() :]
    head = re.search(r"</head\s*>", page[: body.start()], re.IGNORECASE)
    if head is None:
        return page[: body.start()] + f"<head>\n{style}</head>\n" + page[body.start() :]
    return page[: head.start()] + style + page[head.start() :]


def letter_notifier(folder: str | os.PathLike[str]) -> Notifier:
    """The built-in ``utskrift`` notifier: letters on paper, written as
    printable HTML pages (:func:`render_letter`) to
    ``<folder>/<reference>-<seq:02d>-<kind>-<notice_id>.html`` for someone
    to print and post.  It delivers notices only (no ``send``).

    :param folder: relative to the working directory when the file is written.
    """

    def deliver(message: Message) -> None:
        page = render_letter(message)
        _write(Path(folder), _notice_name(message, ".html"), page.encode("utf-8"))

    return Notifier(LETTER_NOTIFIER, _("Brev för utskrift (HTML)"), None, deliver)

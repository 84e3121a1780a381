"""E-mail: a notice as an RFC 5322 message, and sending it over SMTP.

:func:`build_email` turns a rendered notice (:class:`~klagomal.notices.notifiers.Message`)
into an :class:`email.message.EmailMessage`, and :func:`build_staff_email` does
the same for a reminder to staff.  The bytes are the same every time for the
same message and date (the MIME boundary is derived from the Message-ID), so
the file notifier's ``.eml`` is exactly what the SMTP notifier sends.

Every notice carries (see ``docs/email.md``):

* ``Message-ID``: the notice's own, stable id, so a receiver can recognise a
  repeat;
* ``Reply-To`` and the case reference in ``Subject`` and in
  ``X-Klagomal-Reference``, so a reply can be threaded back into the case;
  ``In-Reply-To`` and ``References`` for earlier notices of the case;
* ``Auto-Submitted: auto-generated`` (RFC 3834) and
  ``X-Auto-Response-Suppress: OOF, AutoReply`` (Exchange), so that
  out-of-office replies stay quiet;
* a ``multipart/alternative`` body: ``text/plain`` then ``text/html``, both
  UTF-8 in quoted-printable, so the message is 7-bit clean.

Headers are ASCII (RFC 2047 encoded words for å, ä, ö) unless an address has
a non-ASCII local part (RFC 6532); such a message is built with the
``SMTPUTF8`` policy and is sent only to a server that announces ``SMTPUTF8``.

:class:`SmtpSender` sends one message per connection and performs the SMTP
steps itself, so that every failure is classified for the outbox:

* a failure before the message content goes out (connection refused,
  a 4xx reply, a lost connection) is a temporary
  :class:`~klagomal.core.errors.DeliveryError`: nothing was delivered, try again
  later;
* a 5xx reply, a refused login, a missing STARTTLS, an invalid address or a
  missing setting is a *permanent* ``DeliveryError``: nothing was delivered,
  and trying again cannot help until someone changes something;
* a connection lost or a timeout from the moment the content starts to go out
  until the server's final reply is read is a
  :class:`~klagomal.core.errors.DeliveryUncertainError`: the message may have
  arrived.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import smtplib
import ssl
from collections.abc import Sequence
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from typing import TYPE_CHECKING

from klagomal.core.email_rules import check_person_address, has_controls, shown
from klagomal.core.errors import DeliveryError, DeliveryUncertainError
from klagomal.core.i18n import _
from klagomal.core.settings import SmtpSettings

if TYPE_CHECKING:  # pragma: no cover - imports for annotations only
    from klagomal.notices.notifiers import Message, StaffMessage

__all__ = [
    "SmtpSender",
    "build_email",
    "build_staff_email",
    "check_address",
    "check_person_address",
    "needs_smtputf8",
    "split_mailbox",
]

# RFC 5322 atext: what a dot-atom local part may contain besides dots.
_ATEXT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~")
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_MESSAGE_ID = re.compile(r"^<[^<>@\s]+@[^<>@\s]+>$")


def _invalid(address: str, why: str) -> DeliveryError:
    return DeliveryError(
        _("Ogiltig e-postadress '{address}': {why}").format(address=shown(address), why=why),
        permanent=True,
    )


def check_address(address: str) -> str:
    """The e-mail address *address* (an ``addr-spec`` such as
    ``anna.lind@example.se``), checked and normalised.

    Only a dot-atom local part is accepted (no quoted strings, no comments);
    it may contain non-ASCII letters (RFC 6532), which can be sent only to a
    server that announces ``SMTPUTF8`` (see :func:`needs_smtputf8`).  The
    domain needs at least two labels; a non-ASCII domain is returned in its
    ASCII form (IDNA), so it needs no ``SMTPUTF8``.  Surrounding blanks are
    removed.

    :raises DeliveryError: (permanent) for an address that cannot be used,
        naming what is wrong: no ``@``, blanks, a line break (header
        injection), an empty part, an invalid domain, or too long.
    """
    if has_controls(address):
        raise _invalid(address, _("adressen innehåller radbrytningar eller andra styrtecken"))
    value = address.strip()
    if not value:
        raise _invalid(address, _("adressen är tom"))
    if any(c.isspace() for c in value):
        raise _invalid(address, _("adressen innehåller blanksteg"))
    if value.count("@") != 1:
        why = _("adressen saknar @") if "@" not in value else _("adressen har mer än ett @")
        raise _invalid(address, why)
    local, domain = value.split("@")
    if not local:
        raise _invalid(address, _("namnet före @ saknas"))
    if not domain:
        raise _invalid(address, _("domänen efter @ saknas"))
    if (
        local.startswith(".")
        or local.endswith(".")
        or ".." in local
        or any(c not in _ATEXT and c != "." and (c.isascii() or not c.isprintable()) for c in local)
    ):
        raise _invalid(address, _("namnet före @ innehåller otillåtna tecken"))
    if len(local.encode("utf-8")) > 64:
        raise _invalid(address, _("namnet före @ är längre än 64 tecken"))
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise _invalid(address, _("domänen '{domain}' är ogiltig").format(domain=domain)) from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise _invalid(address, _("domänen '{domain}' är ogiltig").format(domain=domain))
    normalised = f"{local}@{ascii_domain}"
    if len(normalised.encode("utf-8")) > 254:
        raise _invalid(address, _("adressen är längre än 254 tecken"))
    return normalised


def needs_smtputf8(address: str) -> bool:
    """Whether the checked *address* can only be sent with ``SMTPUTF8``
    (a non-ASCII local part)."""
    return not address.isascii()


def split_mailbox(value: str) -> tuple[str, str]:
    """``("Exempelkommun", "synpunkter@exempelkommun.se")`` from
    ``"Exempelkommun <synpunkter@exempelkommun.se>"``: the display name
    (``""`` when there is none) and the checked address.

    :raises DeliveryError: (permanent) for an invalid address or a name with
        line breaks.
    """
    if has_controls(value):
        raise _invalid(value, _("adressen innehåller radbrytningar eller andra styrtecken"))
    text = value.strip()
    if text.endswith(">") and "<" in text:
        start = text.rindex("<")
        name = text[:start].strip()
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        return name, check_address(text[start + 1 : -1])
    return "", check_address(text)


def _address(name: str | None, addr_spec: str) -> Address:
    local, domain = addr_spec.rsplit("@", 1)
    return Address(display_name=name or "", username=local, domain=domain)


def _mailbox(value: str | None, what: str) -> Address:
    if not value:
        raise DeliveryError(what, permanent=True)
    try:
        name, addr_spec = split_mailbox(value)
    except DeliveryError as exc:
        raise DeliveryError(f"{what}: {exc.reason}", permanent=True) from None
    return _address(name, addr_spec)


def _check_message_id(value: str, what: str) -> str:
    if not _MESSAGE_ID.match(value):
        raise DeliveryError(
            _("{what} '{value}' är inget giltigt Message-ID (<id@domän>)").format(
                what=what, value=shown(value)
            ),
            permanent=True,
        )
    return value


def _one_line(value: str) -> str:
    """*value* with every run of blanks and line breaks as one space."""
    return " ".join(value.split())


def _new_email(addresses: Sequence[Address]) -> EmailMessage:
    utf8 = any(needs_smtputf8(a.addr_spec) for a in addresses)
    return EmailMessage(policy=email_policy.SMTPUTF8 if utf8 else email_policy.SMTP)


def _body(email_message: EmailMessage, text: str, html: str | None, message_id: str) -> None:
    email_message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if html is None:
        return
    email_message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    for part in email_message.iter_parts():
        del part["MIME-Version"]
    # A boundary of its own rather than a random one, so the bytes are the
    # same each time.  "=_" never occurs in quoted-printable text.
    email_message.set_boundary("=_klagomal_" + hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:32])


def _date(date: dt.datetime | None) -> dt.datetime:
    if date is None:
        return dt.datetime.now().astimezone()
    return date if date.tzinfo is not None else date.astimezone()


def build_email(message: Message, *, date: dt.datetime | None = None) -> EmailMessage:
    """The e-mail of the notice *message*, ready to send.

    :param date: the ``Date`` header; by default now, in local time.  A
        naive datetime is taken as local time.
    :raises DeliveryError: (permanent) when the recipient has no e-mail
        address, or an address or Message-ID cannot be used.
    """
    sender = _mailbox(
        message.sender,
        _("Avsändaren saknas: ange [utskick] avsandare i organisationsfilen"),
    )
    if not message.recipient.email:
        raise DeliveryError(
            _("Mottagaren ({role}) har ingen e-postadress").format(role=message.recipient.role),
            permanent=True,
        )
    if message.recipient.name is not None and has_controls(message.recipient.name):
        raise DeliveryError(
            _("Mottagarens namn '{name}' innehåller radbrytningar eller andra styrtecken").format(
                name=shown(message.recipient.name)
            ),
            permanent=True,
        )
    try:
        to = _address(message.recipient.name, check_address(message.recipient.email))
    except DeliveryError as exc:
        raise DeliveryError(_("Mottagaren: {reason}").format(reason=exc.reason), permanent=True) from None
    reply_to = None
    if message.reply_to:
        reply_to = _mailbox(message.reply_to, _("Svarsadressen ([utskick] svarsadress)"))
    message_id = _check_message_id(message.message_id, "Message-ID")
    references = [_check_message_id(ref, "References") for ref in message.references]

    return _assemble(
        sender,
        to,
        reply_to,
        message.subject,
        _date(date),
        message_id,
        references,
        auto_submitted=message.auto_submitted,
        reference=message.reference,
        kind=message.kind,
        text=message.text,
        html=message.html,
    )


def build_staff_email(
    message: StaffMessage,
    *,
    sender: str,
    reply_to: str | None,
    message_id: str,
    date: dt.datetime | None = None,
) -> EmailMessage:
    """The e-mail of a reminder or breach alert to the unit's mailbox
    (``message.email``); ``text/plain``, with an HTML alternative when
    ``message.html`` is given.

    :raises DeliveryError: (permanent) when the message has no mailbox, or
        an address or *message_id* cannot be used.
    """
    from_ = _mailbox(sender, _("Avsändaren saknas: ange [utskick] avsandare i organisationsfilen"))
    if not message.email:
        raise DeliveryError(
            _(
                "Påminnelsen i ärende {reference} till {recipient} har ingen e-postadress: "
                "ange enhetens e-post i organisationsfilen"
            ).format(reference=message.reference, recipient=message.recipient),
            permanent=True,
        )
    try:
        to = _address(None, check_address(message.email))
    except DeliveryError as exc:
        raise DeliveryError(_("Mottagaren: {reason}").format(reason=exc.reason), permanent=True) from None
    reply = _mailbox(reply_to, _("Svarsadressen ([utskick] svarsadress)")) if reply_to else None
    message_id = _check_message_id(message_id, "Message-ID")

    return _assemble(
        from_,
        to,
        reply,
        message.subject,
        _date(date),
        message_id,
        [],
        auto_submitted=True,
        reference=message.reference,
        kind=message.kind,
        text=message.body,
        html=message.html,
    )


def _assemble(
    from_: Address,
    to: Address,
    reply_to: Address | None,
    subject: str,
    date: dt.datetime,
    message_id: str,
    references: list[str],
    *,
    auto_submitted: bool,
    reference: str,
    kind: str,
    text: str,
    html: str | None,
) -> EmailMessage:
    """The e-mail itself, from checked addresses and ids: the headers every
    klagomal e-mail carries, in one order, and the text and HTML body."""
    email_message = _new_email([from_, to, *([reply_to] if reply_to else [])])
    email_message["From"] = from_
    email_message["To"] = to
    if reply_to is not None:
        email_message["Reply-To"] = reply_to
    email_message["Subject"] = _one_line(subject)
    email_message["Date"] = date
    email_message["Message-ID"] = message_id
    if references:
        email_message["In-Reply-To"] = references[-1]
        email_message["References"] = " ".join(references)
    if auto_submitted:
        email_message["Auto-Submitted"] = "auto-generated"
        email_message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    email_message["X-Klagomal-Reference"] = _one_line(reference)
    email_message["X-Klagomal-Notice"] = _one_line(kind)
    _body(email_message, text, html, message_id)
    return email_message


def _smtp_data(content: bytes) -> bytes:
    """*content* as the DATA command sends it: CRLF line ends, leading dots
    doubled (RFC 5321 4.5.2), and the terminating ``<CRLF>.<CRLF>``."""
    data = re.sub(rb"\r\n|\r|\n", b"\r\n", content)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return _one_line(text)


class SmtpSender:
    """Sends one e-mail per connection to the server *settings* name.

    :param settings: ``[utskick.smtp]`` of the organisation file.
    :param ssl_context: for STARTTLS and SSL; by default
        :func:`ssl.create_default_context` (the system's certificate
        authorities, host names checked).

    Nothing happens when it is created; :meth:`check` and :meth:`send` read
    the settings (and the password from the environment) when called.
    """

    def __init__(self, settings: SmtpSettings, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self._ssl_context = ssl_context

    @property
    def server(self) -> str:
        """``host:port``, for messages."""
        return f"{self.settings.host}:{self.settings.port}"

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """The context STARTTLS and SSL use."""
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def check(self) -> None:
        """Whether the settings are complete, without connecting.

        :raises DeliveryError: (permanent) when ``[utskick.smtp] vard`` is
            missing, or a user is set but the password's environment
            variable is not.
        """
        if not self.settings.host:
            raise DeliveryError(
                _("Ingen e-postserver är inställd: ange [utskick.smtp] vard i organisationsfilen"),
                permanent=True,
            )
        if self.settings.user and self.settings.password() is None:
            raise DeliveryError(
                _(
                    "Lösenordet till e-postservern {server} saknas: miljövariabeln {variable} är inte satt "
                    "([utskick.smtp] anvandare = '{user}')"
                ).format(
                    server=self.server, variable=self.settings.password_variable, user=self.settings.user
                ),
                permanent=True,
            )

    def send(
        self,
        email_message: EmailMessage,
        *,
        sender: str | None = None,
        recipients: Sequence[str] | None = None,
    ) -> None:
        """Send *email_message*.

        :param sender: the envelope sender (``MAIL FROM``); by default the
            address in ``From``.
        :param recipients: the envelope recipients (``RCPT TO``); by default
            the addresses in ``To``.
        :raises DeliveryError: when it was certainly not delivered;
            ``permanent`` when trying again cannot help.
        :raises DeliveryUncertainError: when the connection was lost after
            the content began to go out and before the server answered.
        """
        envelope_from = check_address(sender if sender is not None else _addresses(email_message, "From")[0])
        if recipients is None:
            recipients = _addresses(email_message, "To")
        envelope_to = [check_address(recipient) for recipient in recipients]
        if not envelope_to:
            raise DeliveryError(_("E-postmeddelandet har ingen mottagare"), permanent=True)
        self.check()
        utf8 = bool(getattr(email_message.policy, "utf8", False)) or any(
            map(needs_smtputf8, [envelope_from, *envelope_to])
        )
        data = _smtp_data(email_message.as_bytes())
        smtp = self._connect()
        try:
            self._deliver(smtp, envelope_from, envelope_to, data, utf8)
        except BaseException:
            smtp.close()
            raise
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):  # delivered: a failing QUIT changes nothing
            smtp.close()

    # -- the protocol steps ------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        assert settings.host is not None
        try:
            if settings.security == "ssl":
                return smtplib.SMTP_SSL(
                    settings.host, settings.port, timeout=settings.timeout, context=self.ssl_context
                )
            return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        except smtplib.SMTPResponseException as exc:
            raise self._refused(_("anslutningen"), exc.smtp_code, exc.smtp_error) from exc
        except OSError as exc:
            raise self._failure(_("anslutningen"), exc) from exc

    def _deliver(
        self, smtp: smtplib.SMTP, sender: str, recipients: list[str], data: bytes, utf8: bool
    ) -> None:
        settings = self.settings
        step = _("hälsningen (EHLO)")
        try:
            smtp.ehlo_or_helo_if_needed()
            if settings.security == "starttls":
                step = _("krypteringen (STARTTLS)")
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(
                        _(
                            "E-postservern {server} erbjuder inte STARTTLS, som [utskick.smtp] sakerhet = "
                            "'starttls' kräver; ändra inställningen eller servern"
                        ).format(server=self.server),
                        permanent=True,
                    )
                smtp.starttls(context=self.ssl_context)
                smtp.ehlo()
            if settings.user:
                step = _("inloggningen")
                self._login(smtp, settings.user)
            if utf8 and not smtp.has_extn("smtputf8"):
                raise DeliveryError(
                    _(
                        "E-postservern {server} tar inte emot adresser med tecken utanför ASCII "
                        "(SMTPUTF8 saknas): {addresses}"
                    ).format(server=self.server, addresses=", ".join([sender, *recipients])),
                    permanent=True,
                )
            options = ["SMTPUTF8", *(["BODY=8BITMIME"] if smtp.has_extn("8bitmime") else [])] if utf8 else []
            step = _("avsändaren (MAIL FROM)")
            code, reply = smtp.mail(sender, options)
            if code != 250:
                raise self._refused(_("avsändaren {address}").format(address=sender), code, reply)
            step = _("mottagaren (RCPT TO)")
            for recipient in recipients:
                code, reply = smtp.rcpt(recipient)
                if code not in (250, 251):
                    raise self._refused(_("mottagaren {address}").format(address=recipient), code, reply)
            step = _("meddelandet (DATA)")
            code, reply = smtp.docmd("DATA")
            if code != 354:
                raise self._refused(
                    _("meddelandet till {address}").format(address=recipients[0]), code, reply
                )
        except smtplib.SMTPResponseException as exc:
            raise self._refused(step, exc.smtp_code, exc.smtp_error) from exc
        except OSError as exc:
            raise self._failure(step, exc) from exc
        # From here on the server may have the message.
        try:
            smtp.send(data)
            code, reply = smtp.getreply()
        except OSError as exc:
            raise self._uncertain(recipients, str(exc) or type(exc).__name__) from exc
        if 200 <= code < 300:
            return
        if 400 <= code < 600:
            raise self._refused(_("meddelandet till {address}").format(address=recipients[0]), code, reply)
        unexpected = _("oväntat svar {code} {reply}").format(code=code, reply=_text(reply))
        raise self._uncertain(recipients, unexpected)

    def _login(self, smtp: smtplib.SMTP, user: str) -> None:
        """AUTH PLAIN, or LOGIN when the server offers only that, in UTF-8
        (smtplib's own login cannot send a password with å, ä or ö)."""
        mechanisms = str(smtp.esmtp_features.get("auth", "")).upper().split()
        if not smtp.has_extn("auth"):
            raise DeliveryError(
                _(
                    "E-postservern {server} erbjuder ingen inloggning (AUTH), "
                    "men [utskick.smtp] anvandare är satt"
                ).format(server=self.server),
                permanent=True,
            )
        password = self.settings.password()
        assert password is not None  # check() made sure

        def b64(text: str) -> str:
            return base64.b64encode(text.encode("utf-8")).decode("ascii")

        if "PLAIN" in mechanisms:
            code, reply = smtp.docmd("AUTH", "PLAIN " + b64(f"\0{user}\0{password}"))
        elif "LOGIN" in mechanisms:
            code, reply = smtp.docmd("AUTH", "LOGIN")
            if code == 334:
                code, reply = smtp.docmd(b64(user))
            if code == 334:
                code, reply = smtp.docmd(b64(password))
        else:
            raise DeliveryError(
                _(
                    "E-postservern {server} erbjuder inget inloggningssätt som klagomal kan "
                    "(PLAIN eller LOGIN), bara: {mechanisms}"
                ).format(server=self.server, mechanisms=" ".join(mechanisms) or "-"),
                permanent=True,
            )
        if code in (235, 503):  # 503: already logged in
            return
        if 400 <= code < 500:
            raise smtplib.SMTPAuthenticationError(code, reply)
        raise DeliveryError(
            _(
                "E-postservern {server} nekade inloggningen som '{user}': {code} {reply}; kontrollera "
                "[utskick.smtp] anvandare och lösenordet i miljövariabeln {variable}"
            ).format(
                server=self.server,
                user=user,
                code=code,
                reply=_text(reply),
                variable=self.settings.password_variable,
            ),
            permanent=True,
        )

    # -- the outcomes ------------------------------------------------------

    def _refused(self, what: str, code: int, reply: bytes | str) -> DeliveryError:
        """A reply that is no success: temporary for 4xx, permanent otherwise."""
        if 400 <= code < 500:
            return DeliveryError(
                _(
                    "E-postservern {server} tog inte emot {what} just nu: {code} {reply}; "
                    "försöker igen senare"
                ).format(server=self.server, what=what, code=code, reply=_text(reply))
            )
        return DeliveryError(
            _("E-postservern {server} avvisade {what}: {code} {reply}").format(
                server=self.server, what=what, code=code, reply=_text(reply)
            ),
            permanent=True,
        )

    def _failure(self, step: str, exc: OSError) -> DeliveryError:
        """A connection that failed before the content went out."""
        if isinstance(exc, ssl.SSLCertVerificationError):
            return DeliveryError(
                _(
                    "Certifikatet för e-postservern {server} kunde inte verifieras ({step}): {error}; "
                    "kontrollera [utskick.smtp] vard och serverns certifikat"
                ).format(server=self.server, step=step, error=exc.verify_message or exc),
                permanent=True,
            )
        return DeliveryError(
            _(
                "Kontakten med e-postservern {server} misslyckades ({step}): {error}; försöker igen senare"
            ).format(server=self.server, step=step, error=str(exc) or type(exc).__name__)
        )

    def _uncertain(self, recipients: Sequence[str], error: str) -> DeliveryUncertainError:
        return DeliveryUncertainError(
            _(
                "Kontakten med e-postservern {server} bröts medan meddelandet till {address} skickades, "
                "innan servern svarade ({error}). Det kan ha kommit fram: kontrollera innan det skickas igen"
            ).format(server=self.server, address=", ".join(recipients), error=error)
        )


def _addresses(email_message: EmailMessage, header: str) -> list[str]:
    value = email_message[header]
    if value is None:
        raise DeliveryError(
            _("E-postmeddelandet saknar {header}").format(header=header),
            permanent=True,
        )
    return [address.addr_spec for address in value.addresses]

"""The kommun's letterhead and delivery settings, from the organisation file.

Letters carry the kommun's name, logo text, signature and contact details
(:class:`KommunProfile`, keys in ``[kommun]``), and notices are delivered as
the table ``[utskick]`` says (:class:`DeliverySettings`)::

    [kommun]
    id = "exempelkommun"
    namn = "Exempelkommun"
    systemagare = "klf"
    logotyp = "EXEMPELKOMMUN"                   # the logo text at the top of a letter
    adress = "Box 1, 123 45 Exempelstad"
    telefon = "0123-45 00 00"
    epost = "kommun@exempelkommun.se"
    webbplats = "https://www.exempelkommun.se"
    signatur = "Välkommen att höra av dig igen!"
    farg = "#005a8c"                            # the web interface's colour (contrast 4.5:1 on white)

    [utskick]
    avsandare = "Exempelkommun <synpunkter@exempelkommun.se>"
    svarsadress = "synpunkter@exempelkommun.se" # Reply-To: replies come back into the case
    leverans = "kommando"                       # or "direkt": deliver at once after each step
    epost = "smtp"                              # the notifier for e-mail
    brev = "utskrift"                           # the notifier for letters on paper
    katalog = "utskick"                         # where the file notifiers write
    max_forsok = 8

    [utskick.smtp]
    vard = "smtp.exempelkommun.se"
    port = 587
    sakerhet = "starttls"                       # "starttls", "ssl" or "ingen"
    anvandare = "klagomal"
    losenord_miljovariabel = "KLAGOMAL_SMTP_LOSENORD"
    tidsgrans = 30

The password is never written in the file: it is read from the environment
variable the file names, when the e-mail notifier connects.  Every key is
optional; the defaults suit a developer's machine (notices are written as
files to ``utskick/``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Mapping
from typing import NoReturn, Protocol

import attrs

from klagomal.core.i18n import _
from klagomal.core.model import Kind

__all__ = [
    "DELIVERY_MODES",
    "DISABLE_PLUGINS_VARIABLE",
    "IMAP_KEYS",
    "IMAP_LOGIN",
    "IMAP_SECURITY",
    "PROFILE_KEYS",
    "SMTP_SECURITY",
    "DeliverySettings",
    "ImapMailbox",
    "IntakeSettings",
    "KommunProfile",
    "Open311Service",
    "ReportSettings",
    "SmtpSettings",
    "is_loopback",
    "parse_delivery",
    "parse_intake",
    "parse_open311",
    "parse_profile",
    "parse_reports",
]

#: ``kommando``: notices wait in the outbox for ``klagomal deliver``;
#: ``direkt``: each step delivers its own notices right after its commit.
DELIVERY_MODES = ("kommando", "direkt")

#: How the SMTP connection is protected.
SMTP_SECURITY = ("starttls", "ssl", "ingen")

#: How an IMAP connection is protected (``[[intag.imap]] sakerhet``):
#: ``ingen`` only to a server on this machine (a loopback address).
IMAP_SECURITY = ("ssl", "starttls", "ingen")

#: How klagomal logs in to an IMAP mailbox (``[[intag.imap]] inloggning``).
IMAP_LOGIN = ("losenord", "oauth2")

PROFILE_KEYS = ("logotyp", "adress", "telefon", "epost", "webbplats", "signatur", "farg")

#: The environment variable that turns plugins off by name, comma-separated:
#: read by the plugin machinery (:mod:`klagomal.hooks.manager`) and named in
#: the advice of whatever reports a failing plugin (the schema upgrade of
#: :mod:`klagomal.storage.migrate`, the command line), so it lives here below them all.
DISABLE_PLUGINS_VARIABLE = "KLAGOMAL_DISABLE_PLUGINS"


@attrs.frozen
class KommunProfile:
    """The kommun's letterhead: what every letter shows besides the handler's
    own name and unit.  Every field is optional."""

    logo_text: str | None = None
    """A line of text in place of a logo, such as ``"EXEMPELKOMMUN"``."""
    address: str | None = None
    """The kommun's postal address."""
    phone: str | None = None
    """The kommun's switchboard."""
    email: str | None = None
    """The kommun's general mailbox."""
    website: str | None = None
    """The kommun's website."""
    signature: str | None = None
    """A closing line under every letter's signature."""
    colour: str | None = None
    """The web interface's colour, ``#rrggbb`` (``farg``): its header, links
    and buttons.  It must stand out from white by at least 4.5:1 (WCAG 2.1
    AA), since white text is written on it."""


@attrs.frozen
class SmtpSettings:
    """How the e-mail notifier reaches the kommun's mail server."""

    host: str | None = None
    port: int = 587
    security: str = "starttls"
    user: str | None = None
    password_variable: str = "KLAGOMAL_SMTP_LOSENORD"
    timeout: float = 30.0

    def password(self) -> str | None:
        """The password from the environment, or ``None`` when the variable is not set."""
        return os.environ.get(self.password_variable) or None


@attrs.frozen
class DeliverySettings:
    """How notices leave the outbox (:mod:`klagomal.notices.outbox`)."""

    sender: str | None = None
    """The ``From`` of every e-mail, such as ``"Exempelkommun <synpunkter@exempelkommun.se>"``."""
    reply_to: str | None = None
    """The ``Reply-To``: where replies go, so they can be threaded into the case."""
    mode: str = "kommando"
    """One of :data:`DELIVERY_MODES`."""
    email_notifier: str | None = None
    """The notifier for notices by e-mail; by default ``smtp`` when
    ``[utskick.smtp]`` names a host, else ``fil`` (``.eml`` files)."""
    letter_notifier: str = "utskrift"
    """The notifier for notices on paper (printable HTML letters)."""
    folder: str = "utskick"
    """Where the file notifiers write, relative to the working directory."""
    max_attempts: int = 8
    """How often a notice is tried before automatic retries stop."""
    smtp: SmtpSettings = SmtpSettings()

    @property
    def notifier_for_email(self) -> str:
        """The notifier that delivers e-mail notices."""
        if self.email_notifier:
            return self.email_notifier
        return "smtp" if self.smtp.host else "fil"


@attrs.frozen
class ImapMailbox:
    """One mailbox klagomal reads over IMAP (``[[intag.imap]]``,
    :mod:`klagomal.intake.imap`): every message in :attr:`folder` is stored
    and then moved to :attr:`done_folder`.

    Secrets are never in the file: the password is read from the environment
    variable :attr:`password_variable`, an OAuth2 access token from
    :attr:`token_variable` or from the output of :attr:`token_command`, when
    the mailbox is read."""

    name: str
    """``namn``: what the mailbox is called in ``klagomal intake imap
    --mailbox`` and in reports; unique."""
    host: str
    """``vard``: the IMAP server."""
    user: str
    """``anvandare``: the login, usually the mailbox's address."""
    port: int = 993
    """``port``: 993 with ``ssl``, else 143 by default."""
    security: str = "ssl"
    """``sakerhet``: one of :data:`IMAP_SECURITY`."""
    login: str = "losenord"
    """``inloggning``: one of :data:`IMAP_LOGIN`."""
    password_variable: str = "KLAGOMAL_IMAP_LOSENORD"
    """``losenord_miljovariabel``: the variable that holds the password."""
    token_variable: str | None = None
    """``token_miljovariabel``: the variable that holds an OAuth2 access token."""
    token_command: str | None = None
    """``token_kommando``: a command (run without a shell) whose standard
    output is an OAuth2 access token, fetched afresh for every run."""
    folder: str = "INBOX"
    """``mapp``: the folder read."""
    done_folder: str = "Hanterade"
    """``klar_mapp``: where a message goes once stored; created if missing."""
    timeout: float = 30.0
    """``tidsgrans``: seconds any one network operation may take."""

    def password(self) -> str | None:
        """The password from the environment, or ``None`` when the variable is not set."""
        return os.environ.get(self.password_variable) or None


@attrs.frozen
class IntakeSettings:
    """Where feedback that names no unit lands (``[intag]``): e-mail to the
    kommun's shared mailbox, reply cards without a unit.  That unit reads it
    and forwards it to the unit it concerns (R12)."""

    unit: str | None = None
    """The receiving unit (``enhet``), such as the kommun's contact centre."""
    kind: str = "forslag"
    """The kind (``typ``) of an e-mail that does not say what it is.  A
    suggestion by default, because the person decides what is a complaint
    (R2): a suggestion can still become a complaint or praise, a complaint
    can never become anything else."""
    domains: tuple[str, ...] = ()
    """The kommun's own mail domains (``domaner``), lowercase: a message
    from an address in one of them (or a subdomain) that forwards someone
    else's e-mail is a member of staff passing it on, and the forwarded
    original's sender becomes the case's contact (:mod:`klagomal.intake.mail.forwards`)."""
    imap: tuple[ImapMailbox, ...] = ()
    """The mailboxes read over IMAP (``[[intag.imap]]``), in the file's order."""

    def is_kommun_address(self, address: str | None) -> bool:
        """Whether *address* is in one of :attr:`domains` or a subdomain of one."""
        if not address or "@" not in address:
            return False
        domain = address.rpartition("@")[2].strip().lower().rstrip(".")
        return any(domain == d or domain.endswith("." + d) for d in self.domains)

    def mailbox(self, name: str) -> ImapMailbox | None:
        """The mailbox called *name*, or ``None``."""
        return next((m for m in self.imap if m.name == name), None)


@attrs.frozen
class ReportSettings:
    """Reports (``[rapporter]``): when the second half-year starts, to match
    the kommun's budget forecasts (R18), and the disclosure threshold of the
    politicians' report."""

    second_half: tuple[int, int] = (7, 1)
    """(month, day) the second half-year starts (``halvar2``, ``"09-01"``)."""
    threshold: int = 3
    """Counts below this are shown as ``<N`` in the politicians' report (``undertryck_under``)."""


class TableReader(Protocol):
    """How the organisation file's parser reads a table's values, naming the
    file, the table and the key when one is wrong
    (:class:`klagomal.core.organisation` uses its own parser)."""

    def fail(self, message: str) -> NoReturn: ...

    def check_keys(self, table: Mapping[str, object], allowed: Iterable[str], where: str) -> None: ...

    def optional_text(self, table: Mapping[str, object], key: str, where: str) -> str | None: ...

    def email(self, table: Mapping[str, object], key: str, where: str) -> str | None: ...

    def number(
        self, table: Mapping[str, object], key: str, where: str, low: float, high: float
    ) -> float | None: ...


def _table(value: object, where: str, reader: TableReader) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        reader.fail(_("{where} ska vara en tabell").format(where=where))
    return value


def parse_profile(kommun: Mapping[str, object], reader: TableReader) -> KommunProfile:
    """The letterhead keys of ``[kommun]`` (the caller checks the other keys)."""
    where = "[kommun]"
    values = {key: reader.optional_text(kommun, key, where) for key in PROFILE_KEYS}
    return KommunProfile(
        logo_text=values["logotyp"],
        address=values["adress"],
        phone=values["telefon"],
        email=values["epost"],
        website=values["webbplats"],
        signature=values["signatur"],
        colour=_colour(values["farg"], reader),
    )


def contrast_with_white(colour: str) -> float:
    """The WCAG 2.1 contrast ratio of ``#rrggbb`` *colour* against white."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 1.05 / (luminance + 0.05)


def _colour(value: str | None, reader: TableReader) -> str | None:
    if value is None:
        return None
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        reader.fail(
            _("[kommun] farg '{value}' ska skrivas #rrggbb, till exempel #005a8c").format(value=value)
        )
    ratio = contrast_with_white(value)
    if ratio < 4.5:
        reader.fail(
            _(
                "[kommun] farg '{value}' har kontrasten {ratio:.1f}:1 mot vitt; webbgränssnittet "
                "skriver vit text på färgen och behöver minst 4,5:1 (WCAG 2.1 AA). Välj en mörkare färg."
            ).format(value=value, ratio=ratio)
        )
    return value.lower()


def parse_delivery(table: object, reader: TableReader) -> DeliverySettings:
    """The table ``[utskick]``; *reader* raises the organisation file's error."""
    if table is None:
        return DeliverySettings()
    where = "[utskick]"
    table = _table(table, where, reader)
    reader.check_keys(
        table,
        ("avsandare", "svarsadress", "leverans", "epost", "brev", "katalog", "max_forsok", "smtp"),
        where,
    )
    mode = reader.optional_text(table, "leverans", where) or "kommando"
    if mode not in DELIVERY_MODES:
        reader.fail(
            _("{where}: 'leverans' ska vara {modes}, inte '{mode}'").format(
                where=where, modes=" eller ".join(DELIVERY_MODES), mode=mode
            )
        )
    for key in ("avsandare", "svarsadress"):
        # A mailbox, which may carry a name: "Exempelkommun <synpunkter@exempelkommun.se>".
        address = reader.optional_text(table, key, where)
        if address is not None and "@" not in address:
            reader.fail(
                _("{where}: '{key}' är ingen e-postadress: '{value}'").format(
                    where=where, key=key, value=address
                )
            )
    attempts = reader.number(table, "max_forsok", where, 1, 100)
    smtp_where = "[utskick.smtp]"
    smtp_table = _table(table.get("smtp", {}), smtp_where, reader)
    reader.check_keys(
        smtp_table,
        ("vard", "port", "sakerhet", "anvandare", "losenord_miljovariabel", "tidsgrans"),
        smtp_where,
    )
    security = reader.optional_text(smtp_table, "sakerhet", smtp_where) or "starttls"
    if security not in SMTP_SECURITY:
        reader.fail(
            _("{where}: 'sakerhet' ska vara {allowed}, inte '{value}'").format(
                where=smtp_where, allowed=", ".join(SMTP_SECURITY), value=security
            )
        )
    port = reader.number(smtp_table, "port", smtp_where, 1, 65535)
    if port is not None and not isinstance(port, int):
        reader.fail(_("{where}: 'port' ska vara ett heltal").format(where=smtp_where))
    timeout = reader.number(smtp_table, "tidsgrans", smtp_where, 1, 600)
    smtp = SmtpSettings(
        host=reader.optional_text(smtp_table, "vard", smtp_where),
        port=int(port) if port is not None else (465 if security == "ssl" else 587),
        security=security,
        user=reader.optional_text(smtp_table, "anvandare", smtp_where),
        password_variable=reader.optional_text(smtp_table, "losenord_miljovariabel", smtp_where)
        or "KLAGOMAL_SMTP_LOSENORD",
        timeout=float(timeout) if timeout is not None else 30.0,
    )
    return DeliverySettings(
        sender=reader.optional_text(table, "avsandare", where),
        reply_to=reader.optional_text(table, "svarsadress", where),
        mode=mode,
        email_notifier=reader.optional_text(table, "epost", where),
        letter_notifier=reader.optional_text(table, "brev", where) or "utskrift",
        folder=reader.optional_text(table, "katalog", where) or "utskick",
        max_attempts=int(attempts) if attempts is not None else 8,
        smtp=smtp,
    )


def parse_intake(table: object, reader: TableReader) -> IntakeSettings:
    """The table ``[intag]``; the organisation checks that the unit exists."""
    if table is None:
        return IntakeSettings()
    where = "[intag]"
    table = _table(table, where, reader)
    reader.check_keys(table, ("enhet", "typ", "domaner", "imap"), where)
    kind = reader.optional_text(table, "typ", where) or Kind.FORSLAG.value
    _check_kind(kind, where, reader)
    return IntakeSettings(
        unit=reader.optional_text(table, "enhet", where),
        kind=kind,
        domains=_domains(table, where, reader),
        imap=_imap_mailboxes(table.get("imap", []), reader),
    )


#: The keys of ``[[intag.imap]]``, in the order docs/organisation.md shows them.
IMAP_KEYS = (
    "namn",
    "vard",
    "anvandare",
    "sakerhet",
    "port",
    "inloggning",
    "losenord_miljovariabel",
    "token_miljovariabel",
    "token_kommando",
    "mapp",
    "klar_mapp",
    "tidsgrans",
)

_MAILBOX_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def is_loopback(host: str) -> bool:
    """Whether *host* names this machine: ``localhost`` or a loopback address."""
    import ipaddress

    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _imap_mailboxes(value: object, reader: TableReader) -> tuple[ImapMailbox, ...]:
    """``[[intag.imap]]``: a list of tables, one per mailbox."""
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        reader.fail(_("[intag]: 'imap' ska vara en lista av tabeller, skrivna [[intag.imap]]"))
    mailboxes: list[ImapMailbox] = []
    for index, item in enumerate(value, 1):
        mailboxes.append(_imap_mailbox(item, f"[[intag.imap]] nr {index}", mailboxes, reader))
    return tuple(mailboxes)


def _imap_mailbox(
    table: Mapping[str, object], where: str, before: list[ImapMailbox], reader: TableReader
) -> ImapMailbox:
    name = reader.optional_text(table, "namn", where)
    if name is None:
        reader.fail(_("{where}: obligatorisk nyckel '{key}' saknas").format(where=where, key="namn"))
    if not _MAILBOX_NAME.fullmatch(name):
        reader.fail(
            _(
                "{where}: 'namn' '{name}' ska bestå av bokstäverna a–z och A–Z, siffror, '.', '-' och '_' "
                "(högst 63 tecken)"
            ).format(where=where, name=name)
        )
    if any(m.name == name for m in before):
        reader.fail(
            _("{where}: det finns redan en brevlåda med 'namn' '{name}'").format(where=where, name=name)
        )
    where = f"[[intag.imap]] '{name}'"
    reader.check_keys(table, IMAP_KEYS, where)
    required = {}
    for key in ("vard", "anvandare"):
        text = reader.optional_text(table, key, where)
        if text is None:
            reader.fail(_("{where}: obligatorisk nyckel '{key}' saknas").format(where=where, key=key))
        required[key] = text
    host = required["vard"]
    if any(c.isspace() or c in "/@" for c in host):
        reader.fail(
            _("{where}: 'vard' '{host}' är inget värdnamn eller ip-adress").format(where=where, host=host)
        )
    security = reader.optional_text(table, "sakerhet", where) or "ssl"
    if security not in IMAP_SECURITY:
        reader.fail(
            _("{where}: 'sakerhet' ska vara {allowed}, inte '{value}'").format(
                where=where, allowed=", ".join(IMAP_SECURITY), value=security
            )
        )
    if security == "ingen" and not is_loopback(host):
        reader.fail(
            _(
                "{where}: 'sakerhet' = 'ingen' skickar lösenordet och meddelandena okrypterade; det går bara "
                "till en server på samma dator (localhost, 127.0.0.1), inte till '{host}'. Använd 'ssl' "
                "eller 'starttls'"
            ).format(where=where, host=host)
        )
    port = reader.number(table, "port", where, 1, 65535)
    if port is not None and not isinstance(port, int):
        reader.fail(_("{where}: 'port' ska vara ett heltal").format(where=where))
    login = reader.optional_text(table, "inloggning", where) or "losenord"
    if login not in IMAP_LOGIN:
        reader.fail(
            _("{where}: 'inloggning' ska vara {allowed}, inte '{value}'").format(
                where=where, allowed=" eller ".join(IMAP_LOGIN), value=login
            )
        )
    variables = {}
    for key in ("losenord_miljovariabel", "token_miljovariabel"):
        variable = reader.optional_text(table, key, where)
        if variable is not None and not _VARIABLE.fullmatch(variable):
            reader.fail(
                _(
                    "{where}: '{key}' ska vara namnet på en miljövariabel (bokstäver a–z, siffror och '_', "
                    "till exempel KLAGOMAL_IMAP_LOSENORD), inte '{value}'"
                ).format(where=where, key=key, value=variable)
            )
        variables[key] = variable
    command = reader.optional_text(table, "token_kommando", where)
    if command is not None:
        import shlex

        try:
            shlex.split(command)
        except ValueError as exc:
            reader.fail(
                _("{where}: 'token_kommando' går inte att dela upp i ord: {reason}").format(
                    where=where, reason=exc
                )
            )
    token_keys = [key for key in ("token_miljovariabel", "token_kommando") if table.get(key) is not None]
    if login == "losenord" and token_keys:
        reader.fail(
            _("{where}: '{key}' gäller bara inloggning = 'oauth2'").format(where=where, key=token_keys[0])
        )
    if login == "oauth2":
        if variables["losenord_miljovariabel"] is not None:
            reader.fail(
                _("{where}: 'losenord_miljovariabel' gäller bara inloggning = 'losenord'").format(where=where)
            )
        if len(token_keys) == 2:
            reader.fail(
                _("{where}: ange antingen 'token_miljovariabel' eller 'token_kommando', inte båda").format(
                    where=where
                )
            )
    folder = reader.optional_text(table, "mapp", where) or "INBOX"
    done = reader.optional_text(table, "klar_mapp", where) or "Hanterade"
    for key, value in (("mapp", folder), ("klar_mapp", done)):
        if any(not c.isprintable() for c in value) or len(value) > 200:
            reader.fail(
                _("{where}: '{key}' ska vara ett mappnamn på en rad, högst 200 tecken").format(
                    where=where, key=key
                )
            )
    if _same_folder(folder, done):
        reader.fail(
            _(
                "{where}: 'klar_mapp' får inte vara samma mapp som 'mapp' ('{folder}'): dit flyttas "
                "meddelandena när de är sparade"
            ).format(where=where, folder=folder)
        )
    timeout = reader.number(table, "tidsgrans", where, 1, 600)
    return ImapMailbox(
        name=name,
        host=host,
        user=required["anvandare"],
        port=int(port) if port is not None else (993 if security == "ssl" else 143),
        security=security,
        login=login,
        password_variable=variables["losenord_miljovariabel"] or "KLAGOMAL_IMAP_LOSENORD",
        token_variable=variables["token_miljovariabel"]
        or ("KLAGOMAL_IMAP_TOKEN" if login == "oauth2" and command is None else None),
        token_command=command,
        folder=folder,
        done_folder=done,
        timeout=float(timeout) if timeout is not None else 30.0,
    )


def _same_folder(a: str, b: str) -> bool:
    """Whether two folder names are the same folder: INBOX in any case is INBOX (RFC 3501 5.1)."""
    if a.upper() == "INBOX" and b.upper() == "INBOX":
        return True
    return a == b


_DOMAIN = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def _check_kind(kind: str, where: str, reader: TableReader) -> None:
    """Refuse a ``typ`` that is none of the kinds of feedback (:class:`Kind`)."""
    known = [k.value for k in Kind]
    if kind not in known:
        reader.fail(
            _("{where}: 'typ' ska vara {kinds} eller {last}, inte '{kind}'").format(
                where=where, kinds=", ".join(known[:-1]), last=known[-1], kind=kind
            )
        )


def _domains(table: Mapping[str, object], where: str, reader: TableReader) -> tuple[str, ...]:
    """``domaner``: a list of mail domains such as ``["exempelkommun.se"]``."""
    value = table.get("domaner", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        reader.fail(
            _(
                "{where}: 'domaner' ska vara en lista med e-postdomäner, till exempel [\"exempelkommun.se\"]"
            ).format(where=where)
        )
    found = []
    for item in value:
        domain = item.strip().lower().lstrip("@").rstrip(".")
        if not _DOMAIN.fullmatch(domain):
            reader.fail(
                _(
                    "{where}: '{value}' i 'domaner' är ingen e-postdomän (till exempel exempelkommun.se)"
                ).format(where=where, value=item)
            )
        found.append(domain)
    return tuple(dict.fromkeys(found))


def parse_reports(table: object, reader: TableReader) -> ReportSettings:
    """The table ``[rapporter]``."""
    if table is None:
        return ReportSettings()
    where = "[rapporter]"
    table = _table(table, where, reader)
    reader.check_keys(table, ("halvar2", "undertryck_under"), where)
    second = reader.optional_text(table, "halvar2", where) or "07-01"
    try:
        month, day = (int(part) for part in second.split("-"))
        dt.date(2001, month, day)  # a day that exists every year
        if (month, day) == (1, 1):
            raise ValueError
    except ValueError:
        reader.fail(
            _(
                "{where}: 'halvar2' ska vara en dag i formen MM-DD, till exempel \"09-01\", inte '{value}'"
            ).format(where=where, value=second)
        )
    # Below 3 protects nothing: "<2" can only be 1, and "<1" hides nothing.
    threshold = reader.number(table, "undertryck_under", where, 3, 100)
    return ReportSettings((month, day), int(threshold) if threshold is not None else 3)


@attrs.frozen
class Open311Service:
    """One service of the Open311 list as the kommun configures it
    (``[[open311.tjanst]]``, docs/open311.md): a code an app shows, and
    the case it becomes."""

    code: str
    """``kod``: the ``service_code``, such as ``gatubelysning``."""
    name: str
    """``namn``: the ``service_name``."""
    kind: str
    """``typ``: ``klagomal``, ``forslag`` or ``berom``."""
    dimension: str | None = None
    """``dimension``: the quality dimension the case gets, if any."""
    unit: str | None = None
    """``enhet``: the unit the case goes to, unless the request names one."""
    description: str | None = None
    """``beskrivning``: the service's ``description``."""
    group: str | None = None
    """``grupp``: the service's ``group``."""


_SERVICE_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def parse_open311(table: object, reader: TableReader) -> tuple[Open311Service, ...]:
    """The table ``[open311]`` with its ``[[open311.tjanst]]``; the
    organisation checks the units, the web face the dimensions."""
    if table is None:
        return ()
    table = _table(table, "[open311]", reader)
    reader.check_keys(table, ("tjanst",), "[open311]")
    found = table.get("tjanst", [])
    if not isinstance(found, list) or not all(isinstance(item, Mapping) for item in found):
        reader.fail(_("[open311]: 'tjanst' ska vara en lista av tabeller, skrivna [[open311.tjanst]]"))
    services: list[Open311Service] = []
    for index, item in enumerate(found, 1):
        where = f"[[open311.tjanst]] nr {index}"
        reader.check_keys(item, ("kod", "namn", "typ", "dimension", "enhet", "beskrivning", "grupp"), where)
        code = reader.optional_text(item, "kod", where)
        name = reader.optional_text(item, "namn", where)
        kind = reader.optional_text(item, "typ", where)
        if code is None or name is None or kind is None:
            reader.fail(_("{where}: 'kod', 'namn' och 'typ' måste anges").format(where=where))
        if not _SERVICE_CODE.fullmatch(code) or code in {s.code for s in services}:
            reader.fail(
                _(
                    "{where}: 'kod' '{code}' ska vara unik och bestå av små bokstäver a–z, siffror, "
                    "'-' och '_'"
                ).format(where=where, code=code)
            )
        _check_kind(kind, where, reader)
        services.append(
            Open311Service(
                code=code,
                name=name,
                kind=kind,
                dimension=reader.optional_text(item, "dimension", where),
                unit=reader.optional_text(item, "enhet", where),
                description=reader.optional_text(item, "beskrivning", where),
                group=reader.optional_text(item, "grupp", where),
            )
        )
    return tuple(services)

"""Reading a mailbox over IMAP (``[[intag.imap]]``, ``klagomal intake imap``).

:func:`read_mailbox` reads one folder of one mailbox in UID order and, for
each message, first hands its bytes to *store* (the facade passes
:meth:`klagomal.app.Klagomal.receive_email`), and only once *store* has
returned, that is once the message is committed to the database, moves it
to the mailbox's ``klar_mapp``: with ``UID MOVE`` (RFC 6851) when the server
has it, else ``UID COPY``, ``\\Deleted`` and ``UID EXPUNGE`` of that one
message (UIDPLUS, RFC 4315).  A server with neither is refused before any
message is read, since a plain ``EXPUNGE`` would also remove messages that
someone else marked deleted.

So a message is never lost and never becomes two cases:

* until the database has it, it stays in the folder, and a run that stops
  (a database that is down, a lost connection, a process killed) leaves it
  there for the next run;
* a run that stopped after storing and before moving finds it again: the
  intake recognises the same bytes (by Message-ID or digest) as a
  ``duplicate``, changes nothing, and the message is moved then.

Messages the intake keeps without a case (automatic messages, the
quarantine) are stored too, and therefore moved like the others.

Every network operation is bounded by ``tidsgrans`` (the socket's timeout);
a run that meets an error stops that mailbox and says why in Swedish
(:attr:`MailboxResult.error`), and never raises for the server's sake.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import logging
import re
import shlex
import socket
import ssl
import subprocess
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from klagomal.core.errors import KlagomalError
from klagomal.core.i18n import _
from klagomal.core.settings import ImapMailbox

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.intake.service import IntakeOutcome

__all__ = [
    "MailboxResult",
    "MailboxRun",
    "ReadMessage",
    "Store",
    "folder_name",
    "read_mailbox",
    "source_file",
    "xoauth2",
]

log = logging.getLogger("klagomal.intake")

#: Stores one message's bytes, with the stable name of where it was read
#: (:func:`source_file`), and returns what became of it; raises when the
#: message could not be stored (nothing is moved then).
Store = Callable[[bytes, str], "IntakeOutcome"]


@attrs.frozen
class ReadMessage:
    """One message taken from the folder."""

    uid: int
    """Its UID in the folder (with the folder's UIDVALIDITY in ``outcome.source_file``)."""
    outcome: IntakeOutcome
    """What the intake made of it."""
    moved: bool
    """Whether this run moved it to ``klar_mapp`` (else it is read again
    next time, as a duplicate, unless it is :attr:`gone`)."""
    gone: bool = False
    """Whether it had left the folder before this run could move it:
    another reader of the mailbox (or a person) took it meanwhile."""


@attrs.frozen
class MailboxResult:
    """What one run did with one mailbox."""

    name: str
    """The mailbox's ``namn``."""
    messages: tuple[ReadMessage, ...] = ()
    """The messages stored, in UID order."""
    error: str | None = None
    """Why the run stopped before the folder was empty, in Swedish; ``None`` when it did not."""
    left: int = 0
    """Messages that were in the folder when the run began and that it did
    not take: beyond ``limit``, after a stop, or after an error (or taken by
    another reader meanwhile)."""
    done_folder: str = ""
    """Where the messages were moved."""

    @property
    def outcomes(self) -> tuple[IntakeOutcome, ...]:
        """What became of each message, in UID order."""
        return tuple(m.outcome for m in self.messages)

    @property
    def moved(self) -> int:
        """How many messages were moved to ``klar_mapp``."""
        return sum(1 for m in self.messages if m.moved)


@attrs.frozen
class MailboxRun:
    """What :meth:`klagomal.app.Klagomal.read_mailbox` did: one
    :class:`MailboxResult` per mailbox read, in the organisation file's order."""

    mailboxes: tuple[MailboxResult, ...] = ()

    @property
    def errors(self) -> list[str]:
        """Each stopped mailbox's error."""
        return [m.error for m in self.mailboxes if m.error is not None]

    @property
    def outcomes(self) -> tuple[IntakeOutcome, ...]:
        """What became of each message, mailbox by mailbox."""
        return tuple(o for m in self.mailboxes for o in m.outcomes)

    @property
    def moved(self) -> int:
        """How many messages were moved, in all."""
        return sum(m.moved for m in self.mailboxes)


class _Stop(Exception):
    """The mailbox's run stops here, for the Swedish reason given."""


def folder_name(name: str) -> str:
    """*name* as an IMAP command names a folder: in modified UTF-7 (RFC 3501
    5.1.3, so ``Klagomål`` is ``Klagom&AOU-l``) and quoted."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            encoded = base64.b64encode("".join(run).encode("utf-16-be")).decode("ascii")
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            run.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            run.append(char)
    flush()
    quoted = "".join(out).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}"'


def source_file(mailbox: ImapMailbox, uidvalidity: int, uid: int) -> str:
    """The stable name of one message, stored with it and shown in the intake
    log: an IMAP URL (RFC 5092) with the server, the user, the folder, the
    folder's UIDVALIDITY and the message's UID, such as
    ``imap://synpunkter%40exempelkommun.se@imap.exempelkommun.se:993/INBOX;UIDVALIDITY=1700000000/;UID=17``."""
    host = f"[{mailbox.host}]" if ":" in mailbox.host else mailbox.host
    user = urllib.parse.quote(mailbox.user, safe="")
    folder = urllib.parse.quote(mailbox.folder, safe="/")
    return f"imap://{user}@{host}:{mailbox.port}/{folder};UIDVALIDITY={uidvalidity}/;UID={uid}"


def xoauth2(user: str, token: str) -> bytes:
    """The SASL XOAUTH2 initial response (what Exchange Online and Gmail
    take): ``user=<user>^Aauth=Bearer <token>^A^A``, before base64."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def read_mailbox(
    mailbox: ImapMailbox,
    store: Store,
    *,
    limit: int | None = None,
    should_stop: Callable[[], bool] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> MailboxResult:
    """Read *mailbox*'s folder: store each message through *store*, then move
    it to ``klar_mapp`` (see the module's docstring).

    :param limit: take at most this many messages, the oldest UIDs first.
    :param should_stop: asked before each message; once it answers true the
        run stops, the message in hand being stored and moved first.
    :param ssl_context: for ``ssl`` and ``starttls``; by default
        :func:`ssl.create_default_context` (the system's certificate
        authorities, or those of ``SSL_CERT_FILE``; host names checked).
    :returns: the messages taken, and the Swedish error that stopped the run, if any.
    """
    session = _Session(mailbox, ssl_context)
    messages: list[ReadMessage] = []
    uids: list[int] = []
    error: str | None = None
    try:
        secret = session.secret()  # before connecting: a missing one needs no server to say so
        session.connect()
        session.log_in(secret)
        uidvalidity, uids = session.select()
        session.ensure_done_folder()
        for uid in uids:
            if (limit is not None and len(messages) >= limit) or (should_stop is not None and should_stop()):
                break
            raw = session.fetch(uid)
            if raw is None:
                continue  # gone meanwhile: another reader took it
            try:
                outcome = store(raw, source_file(mailbox, uidvalidity, uid))
            except Exception as exc:
                raise _Stop(
                    _(
                        "brevlådan '{name}': meddelande UID {uid} kunde inte sparas och ligger kvar i "
                        "{folder} till nästa körning: {reason}"
                    ).format(name=mailbox.name, uid=uid, folder=mailbox.folder, reason=_store_failure(exc))
                ) from exc
            try:
                moved = session.move(uid)
            except _Stop:
                messages.append(ReadMessage(uid, outcome, moved=False))
                raise
            messages.append(ReadMessage(uid, outcome, moved=moved, gone=not moved))
    except _Stop as exc:
        error = str(exc)
        # The caller reports it (the command line on stderr, the worker in its run's log).
        log.info("klagomal: %s", error)
    finally:
        session.close()
    taken = {m.uid for m in messages if m.moved or m.gone}
    result = MailboxResult(
        mailbox.name,
        tuple(messages),
        error,
        left=sum(1 for uid in uids if uid not in taken),
        done_folder=mailbox.done_folder,
    )
    log.info(
        "klagomal: mailbox %s: %d messages stored, %d moved, %d left",
        mailbox.name,
        len(messages),
        result.moved,
        result.left,
    )
    return result


def _store_failure(exc: Exception) -> str:
    """Why *store* failed, fit for a log without personal data: klagomal's
    own errors say it in Swedish; anything else (a database driver's error,
    whose text may quote the statement and the message's values) is named
    by its type, and its text is logged only at DEBUG."""
    if isinstance(exc, KlagomalError):
        return _one_line(str(exc))
    log.debug("klagomal: storing a message read over IMAP failed", exc_info=exc)
    return _("oväntat fel ({kind}); meddelandet sparades inte").format(kind=type(exc).__name__)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _reply(exc: BaseException) -> str:
    """The server's words in an imaplib error, without Python's ``b'...'``."""
    text = str(exc)
    found = re.fullmatch(r"""b(['"])(.*)\1""", text, re.DOTALL)
    return _one_line(found.group(2) if found else text) or type(exc).__name__


class _Session:
    """One connection to one mailbox, each step raising :class:`_Stop` with its Swedish reason."""

    def __init__(self, mailbox: ImapMailbox, ssl_context: ssl.SSLContext | None) -> None:
        self.mailbox = mailbox
        self._ssl_context = ssl_context
        self.imap: imaplib.IMAP4 | None = None
        self.capabilities: set[str] = set()

    @property
    def server(self) -> str:
        return f"{self.mailbox.host}:{self.mailbox.port}"

    @property
    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _stop(self, message: str) -> _Stop:
        return _Stop(_("brevlådan '{name}': {message}").format(name=self.mailbox.name, message=message))

    def _network(self, step: str, exc: BaseException) -> _Stop:
        """A connection that failed or went silent during *step*."""
        if isinstance(exc, ssl.SSLCertVerificationError):
            return self._stop(
                _(
                    "certifikatet för IMAP-servern {server} kunde inte verifieras ({step}): {error}; "
                    "kontrollera 'vard' och serverns certifikat"
                ).format(server=self.server, step=step, error=exc.verify_message or exc)
            )
        if isinstance(exc, TimeoutError):
            reason = _("inget svar på {seconds:g} sekunder ('tidsgrans')").format(
                seconds=self.mailbox.timeout
            )
        elif isinstance(exc, ConnectionRefusedError):
            reason = _("anslutningen nekades (ingen IMAP-server lyssnar på porten)")
        elif isinstance(exc, socket.gaierror):
            reason = _("värdnamnet {host} kunde inte slås upp").format(host=self.mailbox.host)
        elif isinstance(exc, ssl.SSLError):
            reason = _("TLS misslyckades ({error}); stämmer 'sakerhet' och 'port' med servern?").format(
                error=exc.reason or exc
            )
        elif isinstance(exc, imaplib.IMAP4.abort) and str(exc).endswith("EOF"):
            reason = _("servern stängde anslutningen")
        else:
            reason = _reply(exc)
        return self._stop(
            _("kontakten med IMAP-servern {server} misslyckades ({step}): {reason}").format(
                server=self.server, step=step, reason=reason
            )
        )

    def _refused(self, step: str, typ: str, data: list[Any]) -> _Stop:
        """The stop for a command the server answered with something else than OK."""
        reply = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        return self._stop(
            _("IMAP-servern {server} avvisade {step}: {typ} {reply}").format(
                server=self.server, step=step, typ=typ, reply=_one_line(reply)
            )
        )

    def _command(self, step: str, run: Callable[[imaplib.IMAP4], tuple[str, Any]]) -> list[Any]:
        """Run one command; a refusal or a lost connection stops the run, naming *step*."""
        typ, data = self._run(step, run)
        if typ != "OK":
            raise self._refused(step, typ, data)
        return data

    def _run(self, step: str, run: Callable[[imaplib.IMAP4], tuple[str, Any]]) -> tuple[str, list[Any]]:
        """Run one command and return its answer, OK or NO; a lost
        connection or a BAD stops the run, naming *step*."""
        assert self.imap is not None
        try:
            typ, data = run(self.imap)
        except imaplib.IMAP4.abort as exc:
            raise self._network(step, exc) from exc
        except imaplib.IMAP4.error as exc:
            raise self._stop(
                _("IMAP-servern {server} avvisade {step}: {reply}").format(
                    server=self.server, step=step, reply=_reply(exc)
                )
            ) from exc
        except OSError as exc:
            raise self._network(step, exc) from exc
        return typ, list(data)

    # -- the steps -----------------------------------------------------------

    def connect(self) -> None:
        mailbox = self.mailbox
        step = _("anslutningen")
        try:
            if mailbox.security == "ssl":
                self.imap = imaplib.IMAP4_SSL(
                    mailbox.host, mailbox.port, ssl_context=self.ssl_context, timeout=mailbox.timeout
                )
            else:
                self.imap = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=mailbox.timeout)
                if mailbox.security == "starttls":
                    step = _("krypteringen (STARTTLS)")
                    if "STARTTLS" not in self.imap.capabilities:
                        raise self._stop(
                            _(
                                "IMAP-servern {server} erbjuder inte STARTTLS, som 'sakerhet' = 'starttls' "
                                "kräver; ändra inställningen eller servern"
                            ).format(server=self.server)
                        )
                    self.imap.starttls(ssl_context=self.ssl_context)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise self._network(step, exc) from exc

    def _capabilities(self) -> set[str]:
        data = self._command(_("frågan om förmågor (CAPABILITY)"), lambda imap: imap.capability())
        words = b" ".join(d for d in data if isinstance(d, bytes)).decode("ascii", "replace")
        return {word.upper() for word in words.split()}

    def secret(self) -> str:
        """The password, or with OAuth2 the access token, from where the file says."""
        mailbox = self.mailbox
        if mailbox.login == "oauth2":
            return self._token()
        password = mailbox.password()
        if password is None:
            raise self._stop(
                _(
                    "lösenordet saknas: miljövariabeln {variable} är inte satt "
                    "('losenord_miljovariabel', användare '{user}')"
                ).format(variable=mailbox.password_variable, user=mailbox.user)
            )
        return password

    def log_in(self, secret: str) -> None:
        assert self.imap is not None
        mailbox = self.mailbox
        offered = {word.upper() for word in self.imap.capabilities}
        if mailbox.login == "oauth2":
            if "AUTH=XOAUTH2" not in offered:
                raise self._stop(
                    _(
                        "IMAP-servern {server} erbjuder inte inloggning med OAuth2 (AUTH=XOAUTH2), som "
                        "'inloggning' = 'oauth2' kräver"
                    ).format(server=self.server)
                )
            answers = iter([xoauth2(mailbox.user, secret)])
            # After a refusal the server sends its reason as a challenge and
            # waits for an empty answer before its NO (the XOAUTH2 protocol).
            self._authenticate("XOAUTH2", lambda _challenge: next(answers, b""))
        elif "AUTH=PLAIN" in offered:
            # In UTF-8, so a password may have å, ä and ö (LOGIN takes ASCII only).
            answers = iter([f"\0{mailbox.user}\0{secret}".encode()])
            self._authenticate("PLAIN", lambda _challenge: next(answers, None))
        elif "LOGINDISABLED" in offered or not (mailbox.user + secret).isascii():
            raise self._stop(
                _(
                    "IMAP-servern {server} erbjuder ingen inloggning med lösenord som klagomal kan "
                    "(AUTH=PLAIN, eller LOGIN med ett lösenord i ASCII)"
                ).format(server=self.server)
            )
        else:
            self._authenticate("LOGIN", None, secret)
        self.capabilities = self._capabilities()

    def _authenticate(
        self, mechanism: str, answer: Callable[[bytes], bytes | None] | None, password: str = ""
    ) -> None:
        """AUTHENTICATE *mechanism* with *answer*, or without one LOGIN with *password*."""
        assert self.imap is not None
        mailbox = self.mailbox
        step = _("inloggningen")
        try:
            if answer is None:
                self.imap.login(mailbox.user, password)
            else:
                self.imap.authenticate(mechanism, answer)
        except imaplib.IMAP4.abort as exc:
            raise self._network(step, exc) from exc
        except imaplib.IMAP4.error as exc:
            if mailbox.login == "oauth2":
                where = (
                    _("åtkomsttoken från kommandot i 'token_kommando'")
                    if mailbox.token_command
                    else _("åtkomsttoken i miljövariabeln {variable}").format(variable=mailbox.token_variable)
                )
            else:
                where = _("lösenordet i miljövariabeln {variable}").format(variable=mailbox.password_variable)
            raise self._stop(
                _(
                    "IMAP-servern {server} nekade inloggningen som '{user}': {reply}; kontrollera "
                    "'anvandare' och {where}"
                ).format(server=self.server, user=mailbox.user, reply=_reply(exc), where=where)
            ) from exc
        except OSError as exc:
            raise self._network(step, exc) from exc

    def _token(self) -> str:
        """The OAuth2 access token, from the variable or the command."""
        mailbox = self.mailbox
        if mailbox.token_command is None:
            import os

            assert mailbox.token_variable is not None
            token = os.environ.get(mailbox.token_variable, "").strip()
            if not token:
                raise self._stop(
                    _(
                        "åtkomsttoken för OAuth2 saknas: miljövariabeln {variable} är inte satt "
                        "('token_miljovariabel')"
                    ).format(variable=mailbox.token_variable)
                )
        else:
            argv = shlex.split(mailbox.token_command)
            try:
                done = subprocess.run(
                    argv, capture_output=True, timeout=mailbox.timeout, check=False, stdin=subprocess.DEVNULL
                )
            except subprocess.TimeoutExpired as exc:
                raise self._stop(
                    _(
                        "kommandot i 'token_kommando' ({command}) gav ingen token på {seconds:g} sekunder"
                    ).format(command=argv[0], seconds=mailbox.timeout)
                ) from exc
            except OSError as exc:
                raise self._stop(
                    _("kommandot i 'token_kommando' ({command}) kunde inte köras: {reason}").format(
                        command=argv[0], reason=exc.strerror or exc
                    )
                ) from exc
            if done.returncode != 0:
                said = _one_line(done.stderr.decode("utf-8", "replace"))[-300:]
                raise self._stop(
                    _(
                        "kommandot i 'token_kommando' ({command}) misslyckades med status {status}: {said}"
                    ).format(command=argv[0], status=done.returncode, said=said or "-")
                )
            token = done.stdout.decode("utf-8", "replace").strip()
            if not token:
                raise self._stop(
                    _("kommandot i 'token_kommando' ({command}) skrev ingen token").format(command=argv[0])
                )
        if any(not (0x21 <= ord(c) <= 0x7E) for c in token):
            # Never shown: a token is a secret.
            raise self._stop(_("åtkomsttoken för OAuth2 innehåller tecken som inte får finnas i en token"))
        return token

    def select(self) -> tuple[int, list[int]]:
        """Open the folder: its UIDVALIDITY and its messages' UIDs, oldest first."""
        assert self.imap is not None
        folder = self.mailbox.folder
        self._command(
            _("mappen {folder}").format(folder=folder), lambda imap: imap.select(folder_name(folder))
        )
        validity = self.imap.response("UIDVALIDITY")[1]
        try:
            uidvalidity = int(validity[-1])
        except (TypeError, ValueError, IndexError):
            raise self._stop(
                _("IMAP-servern {server} gav ingen UIDVALIDITY för mappen {folder}").format(
                    server=self.server, folder=folder
                )
            ) from None
        if "MOVE" not in self.capabilities and "UIDPLUS" not in self.capabilities:
            raise self._stop(
                _(
                    "IMAP-servern {server} kan varken flytta ett meddelande (MOVE) eller radera just ett "
                    "(UIDPLUS); utan något av dem kan klagomal inte flytta meddelandena till {done} "
                    "utan att röra andras raderade meddelanden"
                ).format(server=self.server, done=self.mailbox.done_folder)
            )
        data = self._command(
            _("sökningen i mappen {folder}").format(folder=folder), lambda imap: imap.uid("SEARCH", "ALL")
        )
        words = b" ".join(d for d in data if isinstance(d, bytes)).split()
        return uidvalidity, sorted(int(w) for w in words if w.isdigit())

    def ensure_done_folder(self) -> None:
        """Create ``klar_mapp`` unless it exists, before any message is stored."""
        done = folder_name(self.mailbox.done_folder)
        step = _("mappen {folder}").format(folder=self.mailbox.done_folder)

        def exists() -> bool:
            return any(item is not None for item in self._command(step, lambda imap: imap.list('""', done)))

        if exists():
            return
        creating = _("att skapa mappen {folder}").format(folder=self.mailbox.done_folder)
        typ, data = self._run(creating, lambda imap: imap.create(done))
        # Another reader may have created it meanwhile.
        if typ != "OK" and not exists():
            raise self._refused(creating, typ, data)
        self._run(step, lambda imap: imap.subscribe(done))  # so that mail programs show it

    def _gone(self, step: str, run: Callable[[imaplib.IMAP4], tuple[str, Any]]) -> list[Any] | None:
        """Run a command on one message: its answer, or ``None`` when the
        server says the message no longer exists (``[EXPUNGEISSUED]``, RFC
        5530): someone else, another reader or a person, took it meanwhile."""
        typ, data = self._run(step, run)
        if typ == "NO" and any(isinstance(d, bytes) and d.startswith(b"[EXPUNGEISSUED]") for d in data):
            return None
        if typ != "OK":
            raise self._refused(step, typ, data)
        return data

    def fetch(self, uid: int) -> bytes | None:
        """The message's bytes exactly as stored, without marking it read; ``None`` when it is gone."""
        data = self._gone(
            _("hämtningen av meddelande UID {uid}").format(uid=uid),
            lambda imap: imap.uid("FETCH", str(uid), "(BODY.PEEK[])"),
        )
        for item in data or ():
            # The body of this UID: a server may name the UID before the body
            # or after it, and may mix in news of other messages (their flags).
            if isinstance(item, tuple) and b"BODY[]" in item[0]:
                named = re.search(rb"\bUID (\d+)", item[0])
                if named is None or int(named.group(1)) == uid:
                    return bytes(item[1])
        return None

    def move(self, uid: int) -> bool:
        """Move the message to ``klar_mapp``: MOVE, else COPY, \\Deleted and
        UID EXPUNGE.  ``False`` when it was gone from the folder already."""
        done = folder_name(self.mailbox.done_folder)
        step = _("flytten av meddelande UID {uid} till {folder}").format(
            uid=uid, folder=self.mailbox.done_folder
        )
        if "MOVE" in self.capabilities:
            return self._gone(step, lambda imap: imap.uid("MOVE", str(uid), done)) is not None
        if self._gone(step, lambda imap: imap.uid("COPY", str(uid), done)) is None:
            return False
        self._command(step, lambda imap: imap.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)"))
        self._command(step, lambda imap: imap.uid("EXPUNGE", str(uid)))
        return True

    def close(self) -> None:
        """Log out; a server that does not answer is left, within the timeout."""
        if self.imap is None:
            return
        try:
            self.imap.logout()
        except (imaplib.IMAP4.error, OSError):
            with contextlib.suppress(OSError):
                self.imap.shutdown()
        self.imap = None

"""A real IMAP server on loopback for the IMAP intake's tests: Dovecot, from
the operating system's packages (Debian: ``dovecot-imapd``), run as
``dovecot -F`` with a configuration of its own in a directory of its own.

Import it from a test (``tests/`` is on ``sys.path``)::

    from imap_server import ImapServer

    with ImapServer() as server:
        user = server.new_user()                 # a fresh, empty mailbox
        server.append(user, raw_bytes)           # IMAP APPEND to INBOX
        assert server.messages(user, "INBOX") == [raw_bytes]

The server listens on free ports of 127.0.0.1 (``imaps_port``: TLS from the
first byte; ``imap_port``: plain text, with STARTTLS) with a certificate
for 127.0.0.1, 127.0.0.2, 127.0.0.3 and localhost from a throwaway CA
(trustme; ``ca_file`` and :meth:`client_context` trust it).  The same ports
answer on other loopback addresses with fewer capabilities, so that a test
can choose the server it talks to:

* ``127.0.0.1``: everything Dovecot has, MOVE and UIDPLUS among it;
* ``127.0.0.2`` (:data:`NO_MOVE`): ``IMAP4rev1 LITERAL+ UIDPLUS``, no MOVE;
* ``127.0.0.3`` (:data:`NEITHER`): ``IMAP4rev1 LITERAL+``, neither.

The server has a hundred users, and :meth:`ImapServer.new_user` gives
each test a mailbox of its own that no other test used, on a server that the
whole module shares.  Logging in with OAuth2 (XOAUTH2) is
checked by Dovecot's ``oauth2`` passdb against a token introspection
endpoint (RFC 7662) that this module serves on loopback: a token is valid
for the user :meth:`ImapServer.new_token` issued it to.

Dovecot's own log is ``log_file``; a server that does not come up fails
with its tail.  Without Dovecot the tests skip, saying what to install;
under ``CI`` they fail instead, since CI must run them (``.ci/run``
installs it).
"""

from __future__ import annotations

import contextlib
import http.server
import imaplib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
import trustme

__all__ = ["DOVECOT", "NEITHER", "NO_MOVE", "ImapServer", "require_dovecot"]

DOVECOT = "/usr/sbin/dovecot"
HOST = "127.0.0.1"
#: The addresses where the server offers fewer capabilities.
NO_MOVE = "127.0.0.2"
NEITHER = "127.0.0.3"

PASSWORD = "hemligt lösenord"  # not ASCII: sent with AUTH=PLAIN in UTF-8

#: The users the server has, each a mailbox that one test takes.
_USERS = 100


def require_dovecot() -> None:
    """Skip the test when Dovecot is not installed; fail it under ``CI``."""
    if os.access(DOVECOT, os.X_OK):
        return
    how = f"{DOVECOT} is missing; install Debian's dovecot-imapd (apt-get install dovecot-imapd)"
    if os.environ.get("CI"):
        pytest.fail(f"the IMAP tests must run in CI: {how} (.ci/run does)")
    pytest.skip(how)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


class _Introspection(http.server.BaseHTTPRequestHandler):
    """RFC 7662 token introspection, as Dovecot's oauth2 passdb asks it
    (``introspection_mode = post``): ``token=...`` in a form."""

    tokens: dict[str, str]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode("ascii", "replace"))
        user = self.tokens.get(form.get("token", [""])[0])
        answer = {"active": True, "username": user} if user else {"active": False}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class ImapServer:
    """Dovecot on loopback, with its own configuration, users and storage."""

    def __init__(self) -> None:
        require_dovecot()
        # Outside pytest's tmp_path: Dovecot's unprivileged processes (its
        # auth and login users, the mail user) must reach these files, and
        # pytest's directories are private to the user running it.  Short,
        # too, for the sockets' paths.
        self.directory = Path(tempfile.mkdtemp(prefix="klagomal-dovecot-"))
        self.directory.chmod(0o755)
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.log_file = self.directory / "dovecot.log"
        self.ca_file = str(self.directory / "ca.pem")
        self.tokens: dict[str, str] = {}
        self._passwd = self.directory / "passwd"
        self._unused = [f"synpunkter{n}@exempelkommun.se" for n in range(1, _USERS + 1)]
        self._process: subprocess.Popen[bytes] | None = None
        self._introspection: http.server.ThreadingHTTPServer | None = None

    # -- start and stop -------------------------------------------------------

    def __enter__(self) -> ImapServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        ca = trustme.CA()
        certificate = ca.issue_cert(HOST, NO_MOVE, NEITHER, "localhost")
        ca.cert_pem.write_to_path(self.ca_file)
        key = self.directory / "key.pem"
        certificate.private_key_pem.write_to_path(str(key))
        key.chmod(0o600)
        chain = self.directory / "cert.pem"
        chain.write_bytes(b"".join(blob.bytes() for blob in certificate.cert_chain_pems))

        handler = type("Introspection", (_Introspection,), {"tokens": self.tokens})
        self._introspection = http.server.ThreadingHTTPServer((HOST, 0), handler)
        threading.Thread(target=self._introspection.serve_forever, daemon=True).start()
        introspection_url = f"http://{HOST}:{self._introspection.server_address[1]}/introspect"

        home = self.directory / "home"
        home.mkdir()
        if os.geteuid() == 0:
            # Dovecot runs no mail process as root: the mailboxes belong to nobody.
            nobody = pwd.getpwnam("nobody")
            mail_uid, mail_gid = nobody.pw_uid, nobody.pw_gid
            os.chown(home, mail_uid, mail_gid)
            users = ""
        else:
            mail_uid, mail_gid = os.getuid(), os.getgid()
            me = pwd.getpwuid(mail_uid).pw_name
            # Dovecot as an ordinary user: its helpers run as that user, unchrooted.
            users = (
                f"default_internal_user = {me}\ndefault_login_user = {me}\n"
                "service anvil {\n  chroot =\n}\nservice imap-login {\n  chroot =\n}\n"
            )
        # Written before the start: Dovecot reads a changed passwd-file at
        # most once a second, so users added later would come and go.
        self._passwd.write_text("".join(f"{user}:{{PLAIN}}{PASSWORD}::::::\n" for user in self._unused))
        self._passwd.chmod(0o644)
        (self.directory / "oauth2.conf.ext").write_text(
            f"introspection_mode = post\nintrospection_url = {introspection_url}\n"
            "username_attribute = username\nactive_attribute = active\nactive_value = true\n"
        )
        addresses = f"{HOST}, {NO_MOVE}, {NEITHER}"
        config = self.directory / "dovecot.conf"
        config.write_text(
            f"""
base_dir = {self.directory}/run
state_dir = {self.directory}/state
log_path = {self.log_file}
protocols = imap
listen = {addresses}
ssl = yes
ssl_cert = <{chain}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
auth_failure_delay = 0
first_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}
mail_location = maildir:~/Maildir
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self._passwd}
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2
  args = {self.directory}/oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={home}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {addresses}
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = {addresses}
    port = {self.imaps_port}
    ssl = yes
  }}
}}
# No growing delay after failed logins (Dovecot's auth penalty), which would
# slow down the logins of every test after one that fails on purpose.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
local {NO_MOVE} {{
  protocol imap {{
    imap_capability = IMAP4rev1 LITERAL+ UIDPLUS
  }}
}}
local {NEITHER} {{
  protocol imap {{
    imap_capability = IMAP4rev1 LITERAL+
  }}
}}
"""
        )
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while not self._listening():
            if self._process.poll() is not None:
                assert self._process.stderr is not None
                said = self._process.stderr.read().decode("utf-8", "replace")
                pytest.fail(f"dovecot did not start ({self._process.returncode}): {said}{self.log()}")
            if time.monotonic() > deadline:
                pytest.fail(f"dovecot did not listen within 15 s: {self.log()}")
            time.sleep(0.05)

    def _listening(self) -> bool:
        for port in (self.imap_port, self.imaps_port):
            try:
                socket.create_connection((HOST, port), timeout=1).close()
            except OSError:
                return False
        return True

    def log(self) -> str:
        """The tail of Dovecot's log."""
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.send_signal(signal.SIGTERM)
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    # Dovecot's master did not stop: end its whole session.
                    os.killpg(self._process.pid, signal.SIGKILL)
                    self._process.wait(timeout=10)
            if self._process.stderr is not None:
                self._process.stderr.close()
            self._process = None
        if self._introspection is not None:
            self._introspection.shutdown()
            self._introspection.server_close()
            self._introspection = None
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- users and tokens ----------------------------------------------------------

    def new_user(self) -> str:
        """A user with an empty mailbox that no test had before."""
        if not self._unused:
            raise AssertionError(f"all {_USERS} users of the IMAP server are taken; raise _USERS")
        return self._unused.pop(0)

    def new_token(self, user: str) -> str:
        """An OAuth2 access token that the introspection endpoint accepts for *user*."""
        token = secrets.token_urlsafe(24)
        self.tokens[token] = user
        return token

    # -- a client ------------------------------------------------------------------

    def client_context(self) -> ssl.SSLContext:
        """An SSL context that trusts the server's certificate."""
        return ssl.create_default_context(cafile=self.ca_file)

    @contextlib.contextmanager
    def client(self, user: str, host: str = HOST) -> Any:
        """An IMAP connection logged in as *user* (for putting messages in
        and looking at what is there), over TLS."""
        imap = imaplib.IMAP4_SSL(host, self.imaps_port, ssl_context=self.client_context(), timeout=10)
        try:
            answers = iter([f"\0{user}\0{PASSWORD}".encode()])
            imap.authenticate("PLAIN", lambda _challenge: next(answers, None))
            yield imap
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                imap.logout()

    def append(self, user: str, *messages: bytes, folder: str = "INBOX") -> None:
        """Put *messages* into *folder* of *user*'s mailbox with IMAP APPEND."""
        with self.client(user) as imap:
            for raw in messages:
                typ, data = imap.append(folder, None, None, raw)
                assert typ == "OK", data

    def messages(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """The messages in *folder* (as IMAP names it: modified UTF-7), oldest
        first; ``[]`` when the folder does not exist."""
        with self.client(user) as imap:
            quoted = '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
            typ, _data = imap.select(quoted, readonly=True)
            if typ != "OK":
                return []
            typ, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[])")
            assert typ == "OK", data
            return [bytes(item[1]) for item in data if isinstance(item, tuple)]

    def folders(self, user: str) -> list[str]:
        """The folders of *user*'s mailbox, as IMAP names them."""
        with self.client(user) as imap:
            typ, data = imap.list()
            assert typ == "OK", data
            names = []
            for item in data:
                line = item[0] + item[1] if isinstance(item, tuple) else item
                assert isinstance(line, bytes)
                name = line.decode("ascii").split(' "." ', 1)[1]
                if name.startswith('"'):
                    name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
                names.append(name)
            return names

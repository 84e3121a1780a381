"""The web interface's session: one signed cookie, and the CSRF token in it.

The session is a small JSON document in the cookie ``klagomal_session``,
signed with HMAC-SHA256 under the application's secret
(``KLAGOMAL_SESSION_SECRET``), so that any worker process of the kommun's
servers can read it and nobody can forge it.  It holds no personal data:
the signed-in user's id, when the session started and was last used, the
CSRF token, and, during an OpenID Connect login, the login's state, nonce
and PKCE verifier; for a citizen, the reference of the case their form just
registered and the token of its private link "Följ ditt ärende" (for the
receipt page, the one time the token is known: :mod:`klagomal.web.ui.follow`).

* **Idle timeout**: a session not used for :attr:`SessionConfig.idle`
  seconds (``KLAGOMAL_SESSION_IDLE`` minutes, 30 by default) is over; each
  request that uses it renews it.
* **Longest life**: :attr:`SessionConfig.longest` (10 hours), a working day,
  however busy it was.
* **Logout** clears the cookie.  The session is not stored on the server, so
  a copied cookie is good until its idle timeout: the cookie is
  ``HttpOnly``, ``Secure`` and ``SameSite=Lax`` so that it is not copied.
* **CSRF**: every form carries the session's token in the hidden field
  ``_csrf`` (the template macro ``csrf()``); a POST whose field is not the
  session's token is refused (:func:`check_csrf`).  Citizens have a session
  too, without a user.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Mapping
from typing import Any

import attrs

from klagomal.core.errors import ConfigurationError
from klagomal.core.i18n import _

__all__ = [
    "COOKIE",
    "CSRF_FIELD",
    "Session",
    "SessionConfig",
    "check_csrf",
    "session_config",
]

#: The session cookie's name.
COOKIE = "klagomal_session"

#: The hidden form field that carries the CSRF token.
CSRF_FIELD = "_csrf"


@attrs.frozen
class Session:
    """What the cookie holds: who (``user``, ``None`` for a citizen), since
    when, the CSRF token, and the short-lived values of a login in progress."""

    csrf: str = attrs.field(factory=lambda: secrets.token_urlsafe(24))
    user: str | None = None
    started: float = attrs.field(factory=time.time)
    seen: float = attrs.field(factory=time.time)
    login: Mapping[str, str] = attrs.field(factory=dict)
    #: A message for the next page (after a redirect): ``(kind, text)``.
    flash: tuple[str, str] | None = None
    #: The reference of the case a citizen's form just registered, for its
    #: receipt page (never in the address: :mod:`klagomal.web.ui.citizen`).
    receipt: str | None = None
    #: The token of that case's "Följ ditt ärende" link, for the receipt
    #: page to show once (:mod:`klagomal.web.ui.follow`).
    follow: str | None = None

    def signed_in(self, user: str) -> Session:
        """A new session for *user*: a new token too, so that nothing of the
        session before the login carries over (session fixation)."""
        now = time.time()
        return Session(user=user, started=now, seen=now)


@attrs.frozen
class SessionConfig:
    """How sessions are signed and how long they last."""

    secret: bytes = attrs.field(repr=False)
    idle: float = 30 * 60
    longest: float = 10 * 60 * 60

    def encode(self, session: Session) -> str:
        """The cookie value for *session*."""
        document = {
            "c": session.csrf,
            "u": session.user,
            "t": round(session.started),
            "s": round(session.seen),
            "l": dict(session.login),
            "f": list(session.flash) if session.flash else None,
            "r": session.receipt,
            "j": session.follow,
        }
        body = (
            base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode())
            .decode()
            .rstrip("=")
        )
        return f"{body}.{self._sign(body)}"

    def decode(self, value: str | None, now: float | None = None) -> Session | None:
        """The session of a cookie value, or ``None`` when it is missing,
        forged, idle too long or too old."""
        if not value or "." not in value or len(value) > 4000:
            return None
        body, _sep, signature = value.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            document = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            session = Session(
                csrf=str(document["c"]),
                user=None if document["u"] is None else str(document["u"]),
                started=float(document["t"]),
                seen=float(document["s"]),
                login={str(k): str(v) for k, v in dict(document["l"]).items()},
                flash=None if not document.get("f") else (str(document["f"][0]), str(document["f"][1])),
                receipt=None if not document.get("r") else str(document["r"]),
                follow=None if not document.get("j") else str(document["j"]),
            )
        except (ValueError, KeyError, TypeError, IndexError):
            return None
        now = time.time() if now is None else now
        if now - session.seen > self.idle or now - session.started > self.longest:
            return None
        return session

    def _sign(self, body: str) -> str:
        digest = hmac.new(self.secret, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def session_config(environ: Mapping[str, str] | None = None, *, demo: bool = False) -> SessionConfig:
    """The session settings of the environment: ``KLAGOMAL_SESSION_SECRET``
    (at least 32 characters; with several worker processes or servers, the
    same everywhere) and ``KLAGOMAL_SESSION_IDLE`` (minutes).  Without a
    secret, each process makes one of its own: enough for one process (the
    demo, ``klagomal serve`` alone), and sessions end when it restarts."""
    env = os.environ if environ is None else environ
    secret = env.get("KLAGOMAL_SESSION_SECRET", "")
    if secret and len(secret) < 32:
        raise ConfigurationError(
            _(
                "KLAGOMAL_SESSION_SECRET måste vara minst 32 tecken långt "
                "(till exempel från openssl rand -hex 32)"
            )
        )
    idle_text = env.get("KLAGOMAL_SESSION_IDLE", "").strip()
    idle = 30.0
    if idle_text:
        try:
            idle = float(idle_text)
        except ValueError:
            idle = -1
        if not 1 <= idle <= 600:
            raise ConfigurationError(
                _("KLAGOMAL_SESSION_IDLE '{value}' ska vara ett antal minuter från 1 till 600").format(
                    value=idle_text
                )
            )
    key = secret.encode() if secret else secrets.token_bytes(32)
    return SessionConfig(secret=key, idle=idle * 60)


def check_csrf(session: Session | None, form: Mapping[str, Any]) -> bool:
    """Whether a posted *form* carries *session*'s CSRF token."""
    if session is None:
        return False
    sent = form.get(CSRF_FIELD)
    if isinstance(sent, list):
        sent = sent[0] if sent else None
    return isinstance(sent, str) and hmac.compare_digest(sent.encode(), session.csrf.encode())

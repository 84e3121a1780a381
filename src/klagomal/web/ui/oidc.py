"""Login with OpenID Connect: the authorization code flow with PKCE
(RFC 7636, ``S256``) against the kommun's identity provider.

Configured by the environment:

``KLAGOMAL_OIDC_ISSUER``
    the provider's issuer URL; its ``/.well-known/openid-configuration``
    names the endpoints (``https://``, or ``http://`` on loopback for a test).
``KLAGOMAL_OIDC_CLIENT_ID``, ``KLAGOMAL_OIDC_CLIENT_SECRET``
    klagomal's registration at the provider (the secret is optional: a
    public client with PKCE alone).
``KLAGOMAL_OIDC_CLAIM``
    the ID token's claim that holds the user's id in the organisation file
    (``preferred_username`` by default; ``upn`` or ``email`` are common).
``KLAGOMAL_PUBLIC_URL``
    where people reach klagomal (``https://synpunkter.exempelkommun.se``);
    the provider sends them back to ``<KLAGOMAL_PUBLIC_URL>/logga-in/oidc``.

The ID token comes straight from the provider's token endpoint over TLS, in
exchange for the code and the PKCE verifier, so (OpenID Connect Core 1.0,
3.1.3.7, item 6) its issuer is vouched for by the TLS connection rather than
by its signature; klagomal checks its issuer, audience, expiry and nonce.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

import attrs
import httpx

from klagomal.core.errors import ConfigurationError, KlagomalError
from klagomal.core.i18n import _

__all__ = ["TIMEOUT", "LoginError", "OidcConfig", "OidcProvider", "challenge", "oidc_config"]

#: Seconds to wait for the identity provider.
TIMEOUT = 10.0


class LoginError(KlagomalError):
    """The login did not succeed; the text says why, in Swedish."""


@attrs.frozen
class OidcConfig:
    """klagomal's registration at the identity provider."""

    issuer: str
    client_id: str
    client_secret: str | None = attrs.field(repr=False)
    claim: str
    public_url: str

    @property
    def redirect_uri(self) -> str:
        return self.public_url.rstrip("/") + "/logga-in/oidc"


def _loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def oidc_config(environ: Mapping[str, str] | None = None) -> OidcConfig | None:
    """The OpenID Connect settings of the environment, or ``None`` without
    ``KLAGOMAL_OIDC_ISSUER``."""
    env = os.environ if environ is None else environ
    issuer = env.get("KLAGOMAL_OIDC_ISSUER", "").strip()
    if not issuer:
        return None
    client_id = env.get("KLAGOMAL_OIDC_CLIENT_ID", "").strip()
    public_url = env.get("KLAGOMAL_PUBLIC_URL", "").strip()
    if not client_id or not public_url:
        raise ConfigurationError(
            _("inloggning med OpenID Connect kräver KLAGOMAL_OIDC_CLIENT_ID och KLAGOMAL_PUBLIC_URL")
        )
    for name, url in (("KLAGOMAL_OIDC_ISSUER", issuer), ("KLAGOMAL_PUBLIC_URL", public_url)):
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme != "https" and not (scheme == "http" and _loopback(url)):
            raise ConfigurationError(
                _("{name} '{url}' ska börja med https:// (http:// bara på den egna datorn)").format(
                    name=name, url=url
                )
            )
    return OidcConfig(
        issuer=issuer.rstrip("/"),
        client_id=client_id,
        client_secret=env.get("KLAGOMAL_OIDC_CLIENT_SECRET") or None,
        claim=env.get("KLAGOMAL_OIDC_CLAIM", "").strip() or "preferred_username",
        public_url=public_url,
    )


def challenge(verifier: str) -> str:
    """The PKCE ``S256`` challenge of *verifier*."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class OidcProvider:
    """The identity provider of :class:`OidcConfig`: its endpoints are read
    once, from its discovery document, when the first login starts."""

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self._endpoints: dict[str, Any] | None = None

    def _discover(self) -> dict[str, Any]:
        if self._endpoints is None:
            url = self.config.issuer + "/.well-known/openid-configuration"
            try:
                response = httpx.get(url, timeout=TIMEOUT)
                response.raise_for_status()
                document = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise LoginError(
                    _("inloggningstjänsten svarar inte ({url}): {reason}").format(url=url, reason=exc)
                ) from exc
            for key in ("authorization_endpoint", "token_endpoint"):
                if not isinstance(document.get(key), str):
                    raise LoginError(_("inloggningstjänsten anger inte {key}").format(key=key))
            self._endpoints = document
        return self._endpoints

    def authorization_url(self, *, state: str, nonce: str, verifier: str) -> str:
        """Where the browser goes to sign in."""
        endpoint = self._discover()["authorization_endpoint"]
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": self.config.client_id,
                "redirect_uri": self.config.redirect_uri,
                "scope": "openid profile email",
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    def user_id(self, *, code: str, verifier: str, nonce: str) -> str:
        """The user id the provider vouches for, from the ID token it gives
        for *code* and *verifier*.

        :raises LoginError: the provider refused, or the token is not for
            klagomal, has expired, or answers another login (nonce).
        """
        endpoint = self._discover()["token_endpoint"]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
            "code_verifier": verifier,
            "client_id": self.config.client_id,
        }
        auth = None
        if self.config.client_secret:
            auth = (self.config.client_id, self.config.client_secret)
        try:
            response = httpx.post(endpoint, data=form, auth=auth, timeout=TIMEOUT)
        except httpx.HTTPError as exc:
            raise LoginError(_("inloggningstjänsten svarar inte: {reason}").format(reason=exc)) from exc
        if response.status_code != 200:
            raise LoginError(
                _("inloggningstjänsten godtog inte inloggningen (HTTP {status})").format(
                    status=response.status_code
                )
            )
        try:
            token = response.json()["id_token"]
            payload = token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise LoginError(_("inloggningstjänsten gav ingen läsbar ID-token")) from exc
        self._check(claims, nonce)
        value = claims.get(self.config.claim)
        if not isinstance(value, str) or not value.strip():
            raise LoginError(
                _("ID-token saknar anspråket {claim}, som ska ange användarens id").format(
                    claim=self.config.claim
                )
            )
        return value.strip()

    def _check(self, claims: Mapping[str, Any], nonce: str) -> None:
        if claims.get("iss") != self.config.issuer:
            raise LoginError(_("ID-token kommer från en annan utfärdare"))
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.config.client_id not in audiences:
            raise LoginError(_("ID-token är inte utfärdad till klagomal"))
        if len(audiences) > 1 and claims.get("azp") != self.config.client_id:
            raise LoginError(_("ID-token är inte utfärdad till klagomal"))
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or expires < time.time() - 60:
            raise LoginError(_("ID-token har gått ut; logga in igen"))
        if claims.get("nonce") != nonce:
            raise LoginError(_("ID-token hör till en annan inloggning; logga in igen"))

"""A small OpenID Connect provider for the login tests, run as a process of
its own: ``python tests/oidc_provider.py PORT DIRECTORY``.

It is the kommun's identity provider as klagomal meets it: discovery, the
authorization endpoint (which signs in whoever ``DIRECTORY/user`` names, as
if they had typed their password), and the token endpoint, which checks
the client's secret, the redirect URI and the PKCE verifier (``S256``)
before it hands out an ID token, signed with HS256 under the client secret.
``DIRECTORY/mode`` makes it misbehave for a test: ``wrong-nonce``,
``expired``, ``other-audience``, ``other-issuer``, ``no-claim``.
Each request is appended to ``DIRECTORY/log`` as a JSON line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CLIENT_ID = "klagomal"
CLIENT_SECRET = "hemligt-for-test"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def main() -> None:
    port = int(sys.argv[1])
    directory = Path(sys.argv[2])
    issuer = f"http://127.0.0.1:{port}"
    codes: dict[str, dict[str, str]] = {}

    def read(name: str, default: str = "") -> str:
        path = directory / name
        return path.read_text(encoding="utf-8").strip() if path.exists() else default

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _log(self, what: dict[str, object]) -> None:
            with (directory / "log").open("a", encoding="utf-8") as out:
                out.write(json.dumps(what) + "\n")

        def _json(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            self._log({"path": url.path, "query": query})
            if url.path == "/.well-known/openid-configuration":
                self._json(
                    200,
                    {
                        "issuer": issuer,
                        "authorization_endpoint": issuer + "/authorize",
                        "token_endpoint": issuer + "/token",
                        "response_types_supported": ["code"],
                        "code_challenge_methods_supported": ["S256"],
                    },
                )
                return
            if url.path == "/authorize":
                if query.get("client_id") != CLIENT_ID or query.get("code_challenge_method") != "S256":
                    self._json(400, {"error": "invalid_request"})
                    return
                code = secrets.token_urlsafe(16)
                codes[code] = {
                    "redirect_uri": query["redirect_uri"],
                    "challenge": query["code_challenge"],
                    "nonce": query.get("nonce", ""),
                    "user": read("user", "omar.ali"),
                }
                target = (
                    query["redirect_uri"]
                    + "?"
                    + urllib.parse.urlencode({"code": code, "state": query.get("state", "")})
                )
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()
                return
            self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            self._log({"path": self.path, "form": {k: v for k, v in form.items() if k != "code"}})
            if self.path != "/token":
                self._json(404, {"error": "not_found"})
                return
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if self.headers.get("Authorization") != expected:
                self._json(401, {"error": "invalid_client"})
                return
            grant = codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            if (
                grant is None
                or form.get("grant_type") != "authorization_code"
                or form.get("redirect_uri") != grant["redirect_uri"]
                or b64(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]
            ):
                self._json(400, {"error": "invalid_grant"})
                return
            mode = read("mode")
            now = int(time.time())
            claims: dict[str, object] = {
                "iss": "http://elsewhere.example" if mode == "other-issuer" else issuer,
                "aud": "another-client" if mode == "other-audience" else CLIENT_ID,
                "sub": "sub-" + grant["user"],
                "iat": now,
                "exp": now - 3600 if mode == "expired" else now + 300,
                "nonce": "something-else" if mode == "wrong-nonce" else grant["nonce"],
            }
            if mode != "no-claim":
                claims["preferred_username"] = grant["user"]
            header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
            payload = b64(json.dumps(claims).encode())
            signature = b64(
                hmac.new(CLIENT_SECRET.encode(), f"{header}.{payload}".encode(), "sha256").digest()
            )
            self._json(
                200,
                {"access_token": "a", "token_type": "Bearer", "id_token": f"{header}.{payload}.{signature}"},
            )

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()

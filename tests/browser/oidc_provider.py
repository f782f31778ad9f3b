"""A stand-in OpenID Connect provider on loopback, for testing the optional OIDC sign-in end to end.

Why: ``st.login`` only works against a real provider — discovery document,
authorization redirect, code-for-token exchange with PKCE, an RS256-signed ID
token checked against the provider's published keys (issuer, audience, nonce,
expiry). A unit test can only fake ``st.user``; this lets a browser test walk the
whole redirect dance that a team instance behind Google, Azure AD or Keycloak
would, without the internet. It signs everyone in as :data:`USER` at once (no
consent page) and counts what it was asked for, so a test can tell that the app
really went through it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from authlib.jose import JsonWebKey, jwt

USER = {"sub": "user-42", "email": "lead@example.com", "name": "Li Lei"}
CLIENT_ID = "growth-planner"
CLIENT_SECRET = "not-a-real-secret"


class OidcProvider:
    """``with OidcProvider() as idp:`` serves discovery, authorize, token and JWKS on 127.0.0.1."""

    def __init__(self) -> None:
        self._key = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "test-key"})
        self._codes: dict[str, dict[str, str]] = {}
        self.requests: list[str] = []  # "GET /authorize", "POST /token", ... in order
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def secrets_toml(self, app_url: str) -> str:
        """The app's ``[auth]`` section pointing at this provider (``app_url``: the app's base URL)."""
        return (
            "[auth]\n"
            f'redirect_uri = "{app_url}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(32)}"\n'
            f'client_id = "{CLIENT_ID}"\n'
            f'client_secret = "{CLIENT_SECRET}"\n'
            f'server_metadata_url = "{self.metadata_url}"\n'
        )

    def __enter__(self) -> OidcProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- protocol ---------------------------------------------------------------------------

    def metadata(self) -> dict[str, object]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    def authorize(self, query: dict[str, str]) -> str:
        """Where the browser goes next: straight back to the app with a one-time code."""
        code = secrets.token_urlsafe(16)
        self._codes[code] = query
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}"

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        request = self._codes.pop(form.get("code", ""), None)
        if request is None or form.get("redirect_uri") != request.get("redirect_uri"):
            return 400, {"error": "invalid_grant"}
        challenge = request.get("code_challenge")
        if challenge:
            digest = hashlib.sha256(form.get("code_verifier", "").encode("ascii")).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii") != challenge:
                return 400, {"error": "invalid_grant", "error_description": "PKCE verifier mismatch"}
        now = int(time.time())
        claims = {**USER, "iss": self.issuer, "aud": request.get("client_id", CLIENT_ID), "iat": now,
                  "exp": now + 3600, "nonce": request.get("nonce", "")}
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self._key).decode("ascii")
        return 200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 3600,
                     "id_token": id_token}

    def jwks(self) -> dict[str, object]:
        return {"keys": [self._key.as_dict(is_private=False)]}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _json(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                url = urlparse(self.path)
                provider.requests.append(f"GET {url.path}")
                if url.path == "/.well-known/openid-configuration":
                    self._json(200, provider.metadata())
                elif url.path == "/jwks":
                    self._json(200, provider.jwks())
                elif url.path == "/authorize":
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    self.send_response(302)
                    self.send_header("Location", provider.authorize(query))
                    self.end_headers()
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                provider.requests.append(f"POST {url.path}")
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8")).items()}
                if url.path != "/token":
                    self._json(404, {"error": "not_found"})
                    return
                self._json(*provider.token(form))

        return Handler

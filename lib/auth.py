"""Optional login for a deployed team instance: OIDC through ``st.login``, or one shared password.

Why: on a laptop the app listens on 127.0.0.1 and needs no login, so it is off by
default. A team instance behind a reverse proxy must show nothing — no dataset
name, no number — to someone who has not signed in. Every page calls
``lib.ui.bootstrap``, which calls ``lib.ui.login_gate`` before it draws the sidebar,
so one check covers every page, including cold deep links.

Which mode is on is decided from configuration alone:

* an ``[auth]`` section in ``.streamlit/secrets.toml`` → OIDC via ``st.login()``;
* else ``[growth_planner] password = "..."`` in secrets, or the environment
  variable ``GROWTH_PLANNER_PASSWORD`` → a shared password form;
* else no login.

The decision, the password check and the identity's reading are plain functions
here (testable without a browser, importable by the CLI); drawing the prompt and
the "signed in as" panel is Streamlit's part and lives in ``lib.ui``
(``login_gate``, ``account_panel``), the only module that imports Streamlit.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets as _secrets
import time
from collections.abc import Mapping
from typing import Any, Literal

AuthMode = Literal["oidc", "password"]

PASSWORD_ENV = "GROWTH_PLANNER_PASSWORD"
SECRETS_SECTION = "growth_planner"
#: Session-state key holding proof that this browser session entered the current password.
SESSION_KEY = "auth.password_proof"
#: Pause after a wrong password: slows guessing through the websocket to about one try a second per session.
FAILED_ATTEMPT_DELAY_S = 1.0
#: Keys of ``[auth]`` that are settings, not named providers.
_SHARED_OIDC_SETTINGS = {"redirect_uri", "cookie_secret", "expose_tokens", "client_kwargs"}

# A per-process key: a session's proof is a keyed hash of the password, so the
# password itself never sits in session state, and a changed password (after a
# restart) invalidates every earlier session.
_PROOF_KEY = _secrets.token_bytes(32)
#: Characters Markdown would act on in a name from the identity provider.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def shared_password(secrets: Mapping[str, Any], env: Mapping[str, str] | None = None) -> str | None:
    """The configured shared password (secrets first, then the environment); blank counts as none."""
    section = secrets.get(SECRETS_SECTION) if isinstance(secrets, Mapping) else None
    candidate = section.get("password") if isinstance(section, Mapping) else None
    if not (isinstance(candidate, str) and candidate.strip()):
        environment = os.environ if env is None else env
        candidate = environment.get(PASSWORD_ENV)
    return candidate if isinstance(candidate, str) and candidate.strip() else None


def login_required(secrets: Mapping[str, Any], env: Mapping[str, str] | None = None) -> AuthMode | None:
    """Which login the configuration asks for: ``"oidc"``, ``"password"`` or ``None`` (off)."""
    if isinstance(secrets, Mapping) and isinstance(secrets.get("auth"), Mapping):
        return "oidc"
    if shared_password(secrets, env) is not None:
        return "password"
    return None


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison of what was typed with the configured password."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def password_proof(expected: str) -> str:
    """What a session keeps after a correct password: a keyed hash, never the password."""
    return hmac.new(_PROOF_KEY, expected.encode("utf-8"), hashlib.sha256).hexdigest()


def proof_is_valid(proof: object, expected: str) -> bool:
    return isinstance(proof, str) and hmac.compare_digest(proof, password_proof(expected))


def oidc_providers(auth_section: Mapping[str, Any]) -> list[str | None]:
    """Named providers (``[auth.google]`` …) in order, or ``[None]`` for the unnamed default provider."""
    named: list[str | None] = [key for key, value in auth_section.items()
                               if isinstance(value, Mapping) and key not in _SHARED_OIDC_SETTINGS]
    return named or [None]


def token_expired(claims: Mapping[str, Any], now: float | None = None) -> bool:
    """True when the identity's ``exp`` claim (seconds since the epoch) lies in the past."""
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float, str)):
        return False
    try:
        expiry = float(exp)
    except ValueError:
        return False
    return expiry <= (time.time() if now is None else now)


def display_name(claims: Mapping[str, Any]) -> str:
    """How to name a signed-in person: name and e-mail when both are known, else whichever exists."""
    name = str(claims.get("name") or "").strip()
    email = str(claims.get("email") or "").strip()
    if name and email and name != email:
        return f"{name} ({email})"
    return name or email


def markdown_text(text: str) -> str:
    """``text`` (e.g. a name from the identity provider) escaped so that Markdown shows it as typed."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


__all__ = [
    "AuthMode", "FAILED_ATTEMPT_DELAY_S", "PASSWORD_ENV", "SESSION_KEY", "display_name", "login_required",
    "markdown_text", "oidc_providers", "password_matches", "password_proof", "proof_is_valid", "shared_password",
    "token_expired",
]

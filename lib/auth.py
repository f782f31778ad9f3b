"""Optional login for a deployed team instance: OIDC through ``st.login``, or one shared password.

Why: on a laptop the app listens on 127.0.0.1 and needs no login, so it is off by
default. A team instance behind a reverse proxy must show nothing — no dataset
name, no number — to someone who has not signed in. Every page calls
``lib.ui.bootstrap``, which calls :func:`gate` before it draws the sidebar, so one
check covers every page, including cold deep links.

Which mode is on is decided from configuration alone:

* an ``[auth]`` section in ``.streamlit/secrets.toml`` → OIDC via ``st.login()``;
* else ``[growth_planner] password = "..."`` in secrets, or the environment
  variable ``GROWTH_PLANNER_PASSWORD`` → a shared password form;
* else no login.

The decision and the password check are plain functions (testable without a
browser); only :func:`gate` touches Streamlit, imported when it is called so
the rest of ``lib`` stays importable by the CLI.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets as _secrets
import time
from collections.abc import Callable, Mapping
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
    named = [key for key, value in auth_section.items()
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


def gate(t: Callable[..., str]) -> bool:
    """Let the session through, or draw the login prompt and return False (the caller then stops the page).

    ``t`` is the page's translator (``lib.i18n.Translator``).
    """
    import streamlit as st

    config = _secrets_config(st)
    mode = login_required(config)
    if mode is None:
        return True
    if mode == "oidc":
        return _oidc_gate(st, t, config["auth"])
    return _password_gate(st, t, shared_password(config) or "")


def account_panel(t: Callable[..., str]) -> None:
    """Who is signed in and a "Sign out" button (sidebar); nothing when login is off."""
    import streamlit as st

    mode = login_required(_secrets_config(st))
    if mode is None:
        return
    st.divider()
    if mode == "oidc":
        claims = st.user.to_dict()
        who = display_name(claims) or str(claims.get("sub") or "?")
        st.caption(t("auth.signed_in_as", who=_MARKDOWN_SPECIAL.sub(r"\\\1", who)))  # the provider's text, as text
        if st.button(t("auth.sign_out"), key="auth.sign_out", icon=":material/logout:"):
            st.logout()
        return
    st.caption(t("auth.signed_in_password"))
    if st.button(t("auth.sign_out"), key="auth.sign_out", icon=":material/logout:"):
        st.session_state.pop(SESSION_KEY, None)
        st.rerun()


def _secrets_config(st: Any) -> Mapping[str, Any]:
    """``.streamlit/secrets.toml`` (or ``--secrets.files``) when there is one, else nothing."""
    return st.secrets if st.secrets.load_if_toml_exists() else {}


def display_name(claims: Mapping[str, Any]) -> str:
    """How to name a signed-in person: name and e-mail when both are known, else whichever exists."""
    name = str(claims.get("name") or "").strip()
    email = str(claims.get("email") or "").strip()
    if name and email and name != email:
        return f"{name} ({email})"
    return name or email


def _oidc_gate(st: Any, t: Callable[..., str], auth_section: Mapping[str, Any]) -> bool:
    user = st.user
    if getattr(user, "is_logged_in", False):
        if token_expired(user.to_dict()):
            st.logout()  # clears st.user and sends the browser through the provider's logout
            return False
        return True
    st.title(t("auth.title"))
    st.caption(t("auth.oidc_prompt"))
    for provider in oidc_providers(auth_section):
        label = t("auth.oidc_button") if provider is None else t("auth.oidc_button_named", provider=provider)
        if st.button(label, key=f"auth.login.{provider or 'default'}", type="primary"):
            if provider is None:
                st.login()
            else:
                st.login(provider)
    return False


def _password_gate(st: Any, t: Callable[..., str], expected: str) -> bool:
    if proof_is_valid(st.session_state.get(SESSION_KEY), expected):
        return True
    st.title(t("auth.title"))
    st.caption(t("auth.password_prompt"))
    with st.form("auth.form", clear_on_submit=True):
        given = st.text_input(t("auth.password"), type="password", key="auth.password_input")
        submitted = st.form_submit_button(t("auth.sign_in"), type="primary")
    if submitted:
        if password_matches(given or "", expected):
            st.session_state[SESSION_KEY] = password_proof(expected)
            st.rerun()
        time.sleep(FAILED_ATTEMPT_DELAY_S)
        st.error(t("auth.wrong_password"))
    return False


__all__ = [
    "AuthMode", "FAILED_ATTEMPT_DELAY_S", "PASSWORD_ENV", "account_panel", "display_name", "gate",
    "login_required", "oidc_providers", "password_matches", "password_proof", "proof_is_valid", "shared_password", "token_expired",
]

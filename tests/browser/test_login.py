"""The optional OIDC sign-in, end to end in a browser, against a stand-in provider on loopback.

Why: AppTest can only pretend a user is signed in. This walks what a team member
does on a deployed instance with an ``[auth]`` section: the page shows only the
sign-in prompt, "Sign in" goes through the provider (authorize → code → token
exchange with PKCE → ID token checked against the provider's keys) and back,
the workspace appears with the person named in the sidebar, and "Sign out"
closes it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lib.i18n import t

from .driver import VIEWPORT, AppPage, StreamlitServer, free_port, keep_log
from .oidc_provider import USER, OidcProvider

pytestmark = pytest.mark.browser


@pytest.fixture
def oidc_app(playwright_browser, tmp_path: Path) -> Iterator[tuple[AppPage, OidcProvider]]:
    """The app with an ``[auth]`` section pointing at a stand-in provider; a fresh workspace and browser context."""
    with OidcProvider() as provider:
        port = free_port()
        secrets = tmp_path / "secrets.toml"
        secrets.write_text(provider.secrets_toml(f"http://127.0.0.1:{port}"), encoding="utf-8")
        server = StreamlitServer("oidc", tmp_path / "app", extra_args=["--secrets.files", str(secrets)], port=port)
        server.start()
        context = playwright_browser.new_context(viewport=VIEWPORT, locale="en-US")
        try:
            yield AppPage(context.new_page(), server), provider
        finally:
            context.close()
            server.stop()
            keep_log(server)


def test_oidc_sign_in_shows_the_workspace_and_sign_out_hides_it(oidc_app):
    app, provider = oidc_app
    app.open("/")
    assert app.heading() == t("auth.title", "en")
    assert not app.metrics(), "no KPI before sign-in"
    assert not app.sidebar.locator('[data-testid="stSelectbox"]').count(), "no dataset names before sign-in"
    app.screenshot("login_oidc_prompt_en")

    app.main.get_by_role("button", name=t("auth.oidc_button", "en")).click()
    app.page.wait_for_url(lambda url: "/oauth2callback" not in url and "/auth/login" not in url, timeout=60_000)
    signed_in = app.page.get_by_text(t("auth.signed_in_as", "en", who=f"{USER['name']} ({USER['email']})"))
    app.wait_until(app.shows(signed_in, "the signed-in name in the sidebar"),
                   timeout_ms=180_000)  # the first signed-in view also loads the bundled sample store
    app.wait_idle(timeout_ms=180_000)
    app.assert_healthy()
    assert ["GET /authorize", "POST /token", "GET /jwks"] == [
        r for r in provider.requests if r in {"GET /authorize", "POST /token", "GET /jwks"}
    ], provider.requests
    assert app.heading() != t("auth.title", "en")
    assert app.metrics(), "the overview's KPIs show once signed in"
    assert app.sidebar_dataset(), "the sidebar names the dataset"
    app.screenshot("login_oidc_signed_in_en")

    sign_in = app.page.get_by_role("button", name=t("auth.oidc_button", "en"))
    app.act(app.sidebar.get_by_role("button", name=t("auth.sign_out", "en")).click,
            until=app.shows(sign_in, "the sign-in button again"))
    assert app.heading() == t("auth.title", "en")
    assert not app.metrics()

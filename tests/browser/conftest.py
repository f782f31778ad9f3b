"""Fixtures for the browser tests: one Streamlit server per session, Debian's Chromium, a fresh page per test.

Why: AppTest runs page scripts in-process and never sees what a browser sees — the
real server routing a cold deep link, the websocket, the file-upload endpoint, the
fonts. These tests start ``streamlit run app.py`` on a free port against a
throw-away workspace (the first page view loads the bundled sample store, as for a
new user) and drive it with Playwright through the system Chromium
(``playwright install`` cannot download browsers here).

Run them with ``.venv/bin/python -m pytest -q tests/browser``; deselect with
``-m "not browser"``. Without /usr/bin/chromium they are skipped with a message,
except under CI (``CI=true``), where a missing browser is a failure.
``GROWTH_PLANNER_CHROMIUM`` points at another Chromium binary.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .driver import CHROMIUM, CHROMIUM_ARGS, AppPage, StreamlitServer, keep_log, new_app_page


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives the running app in headless Chromium (needs /usr/bin/chromium and Playwright)",
    )


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> None:
    """Skip locally, fail in CI: `make test` installs chromium, so its absence there is a bug."""
    if _in_ci():
        pytest.fail(f"{reason} (CI=true, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    if not CHROMIUM.exists():
        _unavailable(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium; `make test` does it)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("browser tests need the playwright Python package (requirements-dev.txt)")
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def playwright_browser(chromium_executable: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def server(chromium_executable: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    """The app, shared by every browser test of the session, on a workspace that starts empty."""
    app = StreamlitServer("session", tmp_path_factory.mktemp("browser-session")).start()
    yield app
    app.stop()
    keep_log(app)  # a failing test's report already carries the log tail (pytest_runtest_makereport below)


@pytest.fixture
def fresh_server(server: StreamlitServer, tmp_path: Path) -> Iterator[StreamlitServer]:
    """A server no browser has talked to yet, on an empty workspace (for first-request tests).

    The session server itself when no test has opened a page on it yet (the test
    then also pays for loading the sample store that every later test uses);
    otherwise a server of its own, stopped after the test.
    """
    if not server.visited:
        yield server
        return
    app = StreamlitServer("fresh", tmp_path / "fresh").start()
    yield app
    app.stop()
    keep_log(app)


@pytest.fixture
def app(playwright_browser, server: StreamlitServer) -> Iterator[AppPage]:
    """A new browser session (its own context: cookies, Streamlit session) on the shared server."""
    app_page, context = new_app_page(playwright_browser, server)
    yield app_page
    context.close()


@pytest.fixture
def fresh_app(playwright_browser, fresh_server: StreamlitServer) -> Iterator[AppPage]:
    app_page, context = new_app_page(playwright_browser, fresh_server)
    yield app_page
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """On failure, attach the server log tail and any browser-side JS errors to the report."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    funcargs = getattr(item, "funcargs", {}) or {}
    for value in {id(v): v for v in funcargs.values()}.values():
        if isinstance(value, StreamlitServer):
            report.sections.append((f"streamlit server log ({value.name}, tail)", value.log_tail()))
        if isinstance(value, AppPage) and value.page_errors:
            report.sections.append(("browser page errors", "\n".join(value.page_errors[-20:])))

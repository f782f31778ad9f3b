"""Driving the running Streamlit app from Playwright: a server process and a page that knows when the app is idle.

Why: a Streamlit page is never "loaded" in the browser's sense — the script runs on
the server and streams elements over a websocket, reruns on every widget change,
and may show a spinner or a status box while it works. Tests that click and read
must wait for the *app* to be idle (no run in flight, no spinner, a heading in the
main block), and take screenshots of the whole scrollable page rather than the
first 900 pixels. This module holds that knowledge so the test files read like
what a user does.

An action waits for the *state* it produces (``AppPage.act(..., until=...)``: the new
page's title, the language's text, a report on screen), never for a run event that may
already have happened before the wait began. Its public names (``__all__``) are shared
with the benchmarks (``bench/bench_browser.py``, ``bench/load_test.py``, ``bench/load_ws.py``):
the server process, the browser's launch settings, a new browser session.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlparse

from .probes import IDLE_SCRIPT, RUN_COUNTER_SCRIPT, SETTLE_MS, RunEnds

if TYPE_CHECKING:  # playwright may be absent: the conftest then skips (or fails in CI) with a message
    from playwright.sync_api import Browser, BrowserContext, Locator, Page

__all__ = [
    "ARTIFACTS", "CHROMIUM", "CHROMIUM_ARGS", "DEFAULT_TIMEOUT_MS", "FIRST_LOAD_TIMEOUT_MS", "ROOT", "RUN_TIMEOUT_MS",
    "SCREENSHOT_DIR", "VIEWPORT", "AppPage", "State", "StreamlitServer", "free_port", "keep_log", "new_app_page",
]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
SCREENSHOT_DIR = ARTIFACTS / "screenshots"

#: Debian's chromium (``playwright install`` cannot download browsers here); overridable for other machines.
CHROMIUM = Path(os.environ.get("GROWTH_PLANNER_CHROMIUM", "/usr/bin/chromium"))
#: How the tests and the browser benchmarks launch it: headless, no sandbox, nothing fetched in the background.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1440, "height": 900}
#: Playwright's own waits (a click on a covered button, an ``expect``).
DEFAULT_TIMEOUT_MS = 60_000

SERVER_START_TIMEOUT_S = 60.0
#: The first page of a fresh workspace imports the bundled sample store (~20-30 s here).
FIRST_LOAD_TIMEOUT_MS = 150_000
#: Any later run (a click, an upload, a page change).
RUN_TIMEOUT_MS = 60_000

#: Streamlit's own dialog when a URL matches no registered page (it then runs the default page underneath).
PAGE_NOT_FOUND = "Page not found"

# The raw-key check: something shaped like an i18n key (``data.check``, ``kpi.ltv_cac.help``).
I18N_KEY_SHAPE = re.compile(r"(?<![\w./-])[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+(?![\w/-])")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StreamlitServer:
    """``streamlit run app.py`` on a free local port, in its own process group and workspace."""

    def __init__(self, name: str, workdir: Path, extra_args: list[str] | None = None, port: int = 0,
                 script: str | Path = "app.py") -> None:
        self.name = name
        self.script = str(script)  # another script (a benchmark's baseline) runs from ROOT too: same config
        self.workdir = Path(workdir)
        self.extra_args = list(extra_args or [])  # more `streamlit run` options, e.g. --secrets.files
        self.db_path = self.workdir / "workspace.duckdb"
        self.log_path = self.workdir / "server.log"
        self.port = port  # 0: pick a free one at start
        self.process: subprocess.Popen[bytes] | None = None
        self.visited = False  # has any browser opened a page on it yet?

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/", **params: str) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.base_url}/{path.lstrip('/')}{query}"

    def start(self) -> StreamlitServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        env = dict(os.environ, GROWTH_PLANNER_DB=str(self.db_path), PYTHONUNBUFFERED="1")
        command = [
            sys.executable, "-m", "streamlit", "run", self.script,
            "--server.port", str(self.port), "--server.headless", "true", "--server.address", "127.0.0.1",
            "--browser.gatherUsageStats", "false", *self.extra_args,
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"streamlit did not answer /_stcore/health in {SERVER_START_TIMEOUT_S:.0f} s:\n"
                           f"{self.log_tail()}")

    def stop(self) -> None:
        """Terminate the whole process group (streamlit may have children), then make sure."""
        if self.process is None or self.process.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


def keep_log(server: StreamlitServer) -> None:
    """Copy the server's log into ``tests/artifacts`` (CI keeps the folder), named after the server."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if server.log_path.exists():
        shutil.copyfile(server.log_path, ARTIFACTS / f"streamlit-{server.name}.log")


def new_app_page(browser: Browser, server: StreamlitServer, locale: str = "en-US",
                 viewport: dict[str, int] | None = None) -> tuple[AppPage, BrowserContext]:
    """A new browser session on ``server`` (its own context: cookies, websocket, Streamlit session).

    The caller closes the returned context.
    """
    context = browser.new_context(viewport=viewport or VIEWPORT, locale=locale, accept_downloads=True)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return AppPage(context.new_page(), server), context


class State:
    """A state of the page an action should produce, named for the failure message.

    ``check`` must answer at once (no Playwright auto-wait): it is polled. A read that
    fails because the page is navigating counts as "not yet".
    """

    def __init__(self, description: str, check: Callable[[], bool]) -> None:
        self.description = description
        self._check = check

    def reached(self) -> bool:
        try:
            return bool(self._check())
        except Exception:  # noqa: BLE001 - e.g. "execution context was destroyed" during a navigation
            return False

    def __and__(self, other: State) -> State:
        return State(f"{self.description} and {other.description}", lambda: self.reached() and other.reached())


class AppPage:
    """A Playwright page on the app, with the waits and reads a test needs."""

    def __init__(self, page: Page, server: StreamlitServer) -> None:
        self.page = page
        self.server = server
        self.page_errors: list[str] = []
        page.add_init_script(RUN_COUNTER_SCRIPT)
        self.run_ends = RunEnds(page)  # a run too fast for the in-page counter still ends on the server
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    # ---- waiting -------------------------------------------------------------------------
    def open(self, path: str = "/", *, timeout_ms: int = FIRST_LOAD_TIMEOUT_MS, **params: str) -> AppPage:
        """A cold load of ``path`` or a full URL (a deep link), waiting until the first run is over."""
        url = path if path.startswith("http") else self.server.url(path, **params)
        self.server.visited = True
        ran = self.run_finished()
        self.page.goto(url, wait_until="domcontentloaded")
        self.wait_until(ran, timeout_ms=timeout_ms)
        self.wait_idle(timeout_ms=timeout_ms)
        return self

    def runs_started(self) -> int:
        return int(self.page.evaluate("() => (window.__stRuns || {started: 0}).started"))

    def wait_idle(self, *, timeout_ms: int = RUN_TIMEOUT_MS, heading: bool = True) -> None:
        """Until the app has run at least once, shows no spinner, and stays so for a moment."""
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            remaining = max(1, int((deadline - time.monotonic()) * 1000))
            self.page.wait_for_function(IDLE_SCRIPT, arg=heading, timeout=remaining, polling=100)
            runs = self.runs_started()
            self.page.wait_for_timeout(SETTLE_MS)
            if self.runs_started() == runs and self.page.evaluate(IDLE_SCRIPT, heading):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the app did not settle within {timeout_ms} ms")

    def act(self, action: Callable[[], object], *, until: State, timeout_ms: int = RUN_TIMEOUT_MS,
            heading: bool = True) -> None:
        """Do something that makes Streamlit rerun, wait until the page shows what it causes, then until idle.

        ``until`` is the state the action produces: content only the new run draws (the new
        page's title, the new language's heading, a report). The wait also needs the server to
        have finished a run since the action (``run_finished``, a count taken before it), so a
        state the page already showed cannot end the wait before the rerun. Both are states:
        they hold however early or late the run happened. A run *event* (the page's script
        state flipping to "running") can be over before the wait starts, or too fast to be
        seen — waiting for one made the language switch time out on a busy machine.
        """
        ran = self.run_finished()
        action()
        self.wait_until(until & ran, timeout_ms=timeout_ms)
        self.wait_idle(timeout_ms=timeout_ms, heading=heading)

    def wait_until(self, state: State, *, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
        """Poll ``state`` (something a server run draws) until it holds; fail with its description after ``timeout_ms``.

        Once it holds, a run has happened in this document even if it was too fast for the page's
        run counter to see it running, and the idle probe (which waits for a first run) counts it.
        """
        deadline = time.monotonic() + timeout_ms / 1000
        while not state.reached():
            if time.monotonic() > deadline:
                raise AssertionError(f"within {timeout_ms} ms the page did not show: {state.description} "
                                     f"({self.page.url})")
            self.page.wait_for_timeout(50)  # also lets Playwright deliver websocket frames (run_finished)
        self.page.evaluate("() => { if (window.__stRuns && window.__stRuns.started < 1) window.__stRuns.started = 1; }")

    # ---- states an action produces --------------------------------------------------------
    def shows(self, locator: Locator, description: str) -> State:
        """At least one element of ``locator`` is visible."""
        return State(description, lambda: locator.filter(visible=True).count() > 0)

    def on_page(self, title: str, paths: set[str] | None = None, description: str | None = None) -> State:
        """The browser title (set by the page's own run) starts with ``title``, and the URL is one of ``paths``."""
        return State(description or f"the page {title!r}" + (f" at {sorted(paths)}" if paths else ""),
                     lambda: (paths is None or self.path() in paths) and self.page.title().startswith(title))

    def run_finished(self) -> State:
        """The server has finished a script run since this call (taken *before* an action).

        The count comes from the server's ``script_finished`` messages (``probes.RunEnds``),
        which every run sends however fast it is, so once it has moved it stays moved.
        """
        ended_before = self.run_ends.count
        return State("a script run finished on the server", lambda: self.run_ends.count > ended_before)

    # ---- reading -------------------------------------------------------------------------
    @property
    def main(self):
        return self.page.locator('[data-testid="stMain"]')

    @property
    def sidebar(self):
        return self.page.locator('[data-testid="stSidebar"]')

    def app_text(self) -> str:
        return self.page.locator('[data-testid="stApp"]').inner_text()

    def heading(self) -> str:
        """The page's title heading (the first h1 of the main block)."""
        return self.main.locator("h1").first.inner_text().strip()

    def heading_now(self) -> str:
        """The title heading as shown right now, "" while there is none (no auto-wait: for ``State`` checks)."""
        return str(self.page.evaluate(
            """() => { const h = document.querySelector('[data-testid="stMain"] h1');
                       return h ? h.innerText.trim() : ''; }"""))

    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlparse(self.page.url).query).items()}

    def path(self) -> str:
        return urlparse(self.page.url).path

    def metrics(self, scope=None) -> dict[str, str]:
        """Every ``st.metric`` in ``scope`` (default: the main block) as {label: value}."""
        root = scope if scope is not None else self.main
        out: dict[str, str] = {}
        for metric in root.locator('[data-testid="stMetric"]').all():
            label = metric.locator('[data-testid="stMetricLabel"]').inner_text().strip()
            out[label] = metric.locator('[data-testid="stMetricValue"]').inner_text().strip()
        return out

    def sidebar_dataset(self) -> str:
        """What the sidebar's dataset selector shows."""
        box = self.sidebar.locator('[data-testid="stSelectbox"]').first
        return box.locator("input").first.input_value().strip()

    def nav_link(self, label: str):
        """The sidebar page link whose label is exactly ``label`` (the icon's ligature text aside)."""
        return self.sidebar.locator('[data-testid="stPageLink-NavLink"]').filter(
            has=self.page.get_by_text(label, exact=True)
        )

    # ---- checks --------------------------------------------------------------------------
    def assert_healthy(self) -> None:
        """No Streamlit exception element, no "Page not found" dialog and no traceback text on the page."""
        exceptions = self.page.locator('[data-testid="stException"]')
        if exceptions.count():
            raise AssertionError(f"exception element on {self.page.url}:\n{exceptions.first.inner_text()[:2000]}")
        not_found = self.page.locator('[data-testid="stDialog"]').filter(has_text=PAGE_NOT_FOUND)
        if not_found.count():
            raise AssertionError(f"{self.page.url}: Streamlit says {not_found.first.inner_text()!r}")
        text = self.app_text()
        assert "Traceback" not in text, f"traceback text on {self.page.url}:\n{text[:2000]}"

    def clipped_texts(self) -> list[str]:
        """Texts the browser cuts off with "…": a KPI card's label, value or change, a tab, a button, an expander.

        Streamlit gives such labels ``text-overflow: ellipsis``; one whose content is
        wider than its box is shown truncated. Tables and charts draw on a canvas and
        are checked in the screenshots instead.
        """
        return self.page.evaluate(
            """() => [...document.querySelectorAll(
                  '[data-testid="stMetric"] *, button[role="tab"] *, [data-testid^="stBaseButton"] *, '
                  + '[data-testid="stExpander"] summary *')]
                .filter((e) => e.offsetParent !== null && getComputedStyle(e).textOverflow === 'ellipsis')
                .filter((e) => e.scrollWidth > e.clientWidth + 1)
                .map((e) => e.textContent.trim()).filter(Boolean)"""
        )

    def raw_keys(self, known_keys: set[str]) -> list[str]:
        """Catalog keys shown verbatim (a missing translation shows its key)."""
        text = self.app_text()
        return sorted({m for m in I18N_KEY_SHAPE.findall(text) if m in known_keys})

    # ---- evidence ------------------------------------------------------------------------
    def screenshot(self, name: str) -> Path:
        """A screenshot of the whole page, however tall (Streamlit scrolls inside its main block)."""
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        viewport = self.page.viewport_size or {"width": 1440, "height": 900}
        height = int(self.page.evaluate(
            """() => Math.max(...['[data-testid="stMain"]', '[data-testid="stAppViewContainer"]',
                                  '[data-testid="stSidebarContent"]']
                .map((s) => document.querySelector(s)).filter(Boolean).map((e) => e.scrollHeight),
                document.documentElement.scrollHeight)"""
        ))
        tall = min(max(height, viewport["height"]), 12_000)
        try:
            if tall > viewport["height"]:
                self.page.set_viewport_size({"width": viewport["width"], "height": tall})
                self.page.wait_for_timeout(400)  # charts re-lay themselves out on resize
            self.page.screenshot(path=str(path), full_page=True, animations="disabled")
        finally:
            if tall > viewport["height"]:
                self.page.set_viewport_size(viewport)
        return path

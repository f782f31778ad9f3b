"""Browser benchmark: what a person waits for on each page, in Debian's Chromium, against Streamlit's own floor.

Why: the other benchmarks time engines (segmentation, fits, charts) on the server;
a person feels something else — the time from clicking a link until the page is
drawn, and from moving a slider until the answer is there again. This script
measures exactly that on the bundled sample store, through the same server start
and the same "the app has finished" probe as the browser tests
(``tests/browser/driver.py``, ``tests/browser/probes.py``), and measures
Streamlit's minimal "hello" app under the same harness in the same run, so every
figure comes with its ratio to the floor no app can beat.

What is measured (each N times; median and p95 reported, p95 by nearest rank):

* **cold first paint** — a new server process on a workspace that already holds
  the sample store (its time-to-ready, ``/_stcore/health`` answering, is reported
  apart), then a new browser session opens the page by deep link: the time from
  ``page.goto`` until the page is *painted* (below). One server per page per run.
* **warm first paint, first visit** — the same deep link in a new browser profile
  (empty HTTP cache: every one of Streamlit's ~60 script chunks is fetched from the
  server, as on the very first visit) on a server that has already shown every page once.
* **warm first paint, returning visitor** — the deep link in a new tab (a new
  Streamlit session) of a browser profile that has shown the app before. Streamlit
  serves its scripts as ``immutable`` for a year, so this is every visit but the
  first; the hello app is measured the same way for its floor.
* **page switch** — a click on the page's sidebar link (presentation mode: its own
  exit link back to the Overview) until the new page is painted, in the returning
  visitor's browser.
* **warm interaction** — in the returning visitor's tab (every script the widget's
  answer needs already cached, as after its first use), one widget change on the page (a slider arrow key on
  Scenarios, a segmented control elsewhere; see ``INTERACTIONS``) until the rerun
  it causes is over and the page is painted again. Results the server caches per
  input are warm, as for a person who clicks back and forth; a slider step goes to
  a value no earlier run has seen, as for a person moving the slider along.

*Painted* means, all at once: the app says its script is not running
(``data-test-script-state="notRunning"`` after at least one run), no spinner,
skeleton or Streamlit status widget (it shows only while running or connecting) is shown, the main
block has its title (an ``h1``), and every visible Vega-Lite chart has drawn
its canvas or SVG. The time is taken when that first holds; the page must then
stay so for ``SETTLE_MS`` (a second run would restart the clock). "Title visible"
(the first ``h1`` in the main block) is recorded too, as the first thing a person sees.

Targets (issue "Ready for the review meeting"): first paint ≤ 1.5 s, a warm
interaction ≤ 300 ms. It is a benchmark, not a test: loopback only, bounded in
runs. Results go to ``bench/results/browser[_TAG].json`` and print as a table.

    .venv/bin/python -m bench.bench_browser                 # 5 runs of everything (~10 minutes here)
    .venv/bin/python -m bench.bench_browser --runs 3 --cold-runs 2 --pages overview,scenarios
"""

from __future__ import annotations

import argparse
import json
import math
import re
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from lib.i18n import t
from lib.ui import PAGES
from tests.browser.driver import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, StreamlitServer
from tests.browser.probes import IDLE_SCRIPT, RUN_COUNTER_SCRIPT, SETTLE_MS, RunEnds

ROOT = Path(__file__).resolve().parent.parent

RESULTS = ROOT / "bench" / "results"
LANG = "en"
TARGET_PAINT_S = 1.5
TARGET_INTERACTION_S = 0.3
TIMEOUT_S = 180.0  # one measurement; a cold page on a busy machine can take tens of seconds
ACTION_TIMEOUT_S = 30.0  # finding a widget to click

# When the first h1 of the main block appeared, in ms since navigation started.
_TITLE_CLOCK_SCRIPT = """
window.__titleAt = null;
new MutationObserver(() => {
  if (window.__titleAt === null && document.querySelector('[data-testid="stMain"] h1')) {
    window.__titleAt = performance.now();
  }
}).observe(document, {subtree: true, childList: true});
"""

# "Painted": the tests' idle probe (run over, no spinner, a title) and every chart drawn.
PAINT_SCRIPT = f"""
() => {{
  // Called only once the server has said a run finished (counted from its messages): a run too fast for the
  // page's run counter to see still counts as one.
  if (window.__stRuns && window.__stRuns.started < 1) window.__stRuns.started = 1;
  if (!({IDLE_SCRIPT.strip()})(true)) return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;  // running / connecting
  for (const chart of document.querySelectorAll('[data-testid="stVegaLiteChart"]')) {{
    if (chart.checkVisibility() && !chart.querySelector('canvas, svg')) return false;  // closed tabs draw later
  }}
  return true;
}}
"""

# The floor: Streamlit's minimal app — a title and one widget to rerun on — under the same harness and config.
HELLO_APP = '''import streamlit as st

st.title("Hello, world")
st.slider("n", 0, 100, 50, key="hello.n")
'''


def _key(widget_key: str) -> str:
    """Streamlit marks a keyed widget's element with the class ``st-key-<key>`` (other characters become ``-``)."""
    return "." + "st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", widget_key.strip())


#: An interaction is prepared untimed (found, scrolled into view, focused) and returns what fires it: the clock
#: starts at the click or key press a person makes, not at Playwright's own checks before a click (the element
#: visible, stable over two animation frames, not covered), which took tens of milliseconds of a busy browser.
Fire = Callable[[], None]


def _click_at(locator) -> Fire:
    """A click at the centre of ``locator``'s element, raw mouse events (its checks done beforehand)."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    if box is None:
        raise RuntimeError(f"{locator}: not visible")
    page = locator.page
    return lambda: page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def _segmented(widget_key: str) -> Callable[[object, int], Fire]:
    """Choose a segmented control's second option (every measurement starts from a new session's default)."""
    def act(page, _run: int) -> Fire:
        return _click_at(page.locator(f"{_key(widget_key)} button").nth(1))
    return act


def _slider_step(widget_key: str) -> Callable[[object, int], Fire]:
    """One arrow-key step of a slider to the right (``_warm_interaction`` first walks it to a value not seen yet)."""
    def act(page, _run: int) -> Fire:
        handle = page.locator(f'{_key(widget_key)} input[type="range"]').first
        value = handle.input_value()
        handle.focus()

        def fire() -> None:
            for _attempt in range(3):  # a key press that lands while React re-renders the slider is lost
                page.keyboard.press("ArrowRight")  # Locator.press on the clipped range input does not reach it
                for _ in range(20):
                    if handle.input_value() != value:
                        return
                    page.wait_for_timeout(25)
                print(f"  (slider {widget_key}: key press lost, pressing again)", flush=True)
                handle.focus()
            raise RuntimeError(f"slider {widget_key} did not move")
        return fire
    return act


def _toggle(widget_key: str) -> Callable[[object, int], Fire]:
    def act(page, _run: int) -> Fire:
        return _click_at(page.locator(f'{_key(widget_key)} label').first)
    return act


def _button(widget_key: str) -> Callable[[object, int], Fire]:
    """A button (presentation mode's Next: every measurement starts on the first view of a new session)."""
    def act(page, _run: int) -> Fire:
        return _click_at(page.locator(f"{_key(widget_key)} button").first)
    return act


def _language(_page_key: str) -> Callable[[object, int], Fire]:
    """The sidebar's language switch (the Data page has no other control without an uploaded file)."""
    def act(page, run: int) -> Fire:
        label = "简体中文" if run % 2 == 0 else "English"
        return _click_at(page.locator('[data-testid="stSidebar"]').get_by_role("radio", name=label, exact=True))
    return act


# One widget a person would touch on each page: (what it is, how to change it).
INTERACTIONS: dict[str, tuple[str, Callable[[object, int], Fire]]] = {
    "overview": ("weekly trend metric (segmented control)", _segmented("overview.metric")),
    "segments": ("plan tiers ↔ RFM segments (segmented control)", _segmented("segments.scheme")),
    "playbooks": ("tier (segmented control)", _segmented("playbooks.tier.plan")),
    "channels": ("weekly trend metric (segmented control)", _segmented("channels.trend_metric")),
    "scenarios": ("growth target slider, one arrow-key step to a new value", _slider_step("scenarios.growth")),
    "timeline": ("critical path toggle", _toggle("timeline.critical")),
    "data": ("language switch (sidebar)", _language("data")),
    "present": ("next view (button)", _button("present.next")),
    "hello": ("slider, one arrow-key step", _slider_step("hello.n")),
}


# ---- measuring ---------------------------------------------------------------------------------
# Script runs finished per page, counted from the server's own messages (tests/browser/probes.RunEnds).
_RUN_ENDS: dict[int, RunEnds] = {}


#: When the server last finished the awaited run, in seconds from the measurement's start (the rest is the browser).
_SERVER_DONE: dict[int, float] = {}


def _runs_finished(page) -> int:
    return _RUN_ENDS[id(page)].count


def _wait_painted(page, started: float, *, after_runs: int = 0) -> float:
    """Seconds from ``started`` until the page is painted after run number ``after_runs`` ended (and stays so)."""
    deadline = started + TIMEOUT_S
    while True:
        while _runs_finished(page) <= after_runs:  # the server has not finished the run yet
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{page.url}: no run finished within {TIMEOUT_S:.0f} s")
            page.wait_for_timeout(5)  # lets Playwright deliver the websocket frames
        _SERVER_DONE[id(page)] = time.perf_counter() - started
        remaining_ms = max(1000, int((deadline - time.perf_counter()) * 1000))
        page.wait_for_function(PAINT_SCRIPT, timeout=remaining_ms, polling="raf")
        painted = time.perf_counter() - started
        runs = _runs_finished(page)
        page.wait_for_timeout(SETTLE_MS)
        if _runs_finished(page) == runs and page.evaluate(PAINT_SCRIPT):
            if page.locator('[data-testid="stException"]').count():
                raise RuntimeError(f"{page.url}: the page shows an exception")
            return painted
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{page.url}: not painted within {TIMEOUT_S:.0f} s")
        after_runs = runs


def _new_page(browser):
    """A new browser profile (empty HTTP cache, as on a first visit) and its one tab."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    context.set_default_timeout(ACTION_TIMEOUT_S * 1000)
    return context, _new_tab(context)


def _new_tab(context):
    """A new tab in ``context``: a new Streamlit session, the profile's HTTP cache as it is."""
    page = context.new_page()
    _RUN_ENDS[id(page)] = RunEnds(page)
    page.add_init_script(RUN_COUNTER_SCRIPT)
    page.add_init_script(_TITLE_CLOCK_SCRIPT)
    return page


def _returning_paint(context, url: str) -> float:
    """A returning visitor: a new tab of a browser that has shown the app before (its static files cached) opens ``url``."""
    page = _new_tab(context)
    try:
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        return _wait_painted(page, started)
    finally:
        page.close()


def _open(browser, url: str) -> dict[str, float]:
    """A new browser session opens ``url``: seconds until painted and until the title showed."""
    context, page = _new_page(browser)
    try:
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        paint = _wait_painted(page, started)
        title_ms = page.evaluate("() => window.__titleAt")
        return {"paint_s": paint, "title_s": (title_ms or 0) / 1000 or paint, "server_s": _SERVER_DONE[id(page)]}
    finally:
        context.close()


#: Interactions whose result the server caches per value: each run steps to a value no earlier run reached.
STEPPED = {"scenarios", "hello"}


def _warm_interaction(page, key: str, run: int) -> float:
    """The page's interaction, timed. A slider is first walked (untimed, each rerun awaited) past the values earlier
    runs measured, since every measurement starts from a new session's default and a value seen before is a cache
    hit: run r measures the step from default + r + 1 steps to default + r + 2 (the warm-up run measures step 1)."""
    act = INTERACTIONS[key][1]
    if key in STEPPED:
        for _ in range(run + 1):
            _interact(page, act, run)
    return _interact(page, act, run)


def _interact(page, act: Callable[[object, int], Fire], run: int) -> float:
    before = _runs_finished(page)
    fire = act(page, run)
    started = time.perf_counter()
    fire()
    return _wait_painted(page, started, after_runs=before)


def _url(server: StreamlitServer, url_path: str) -> str:
    """The deep link of a page (the default page and the one-page hello app live at "/"), in English."""
    return server.url("/" if url_path in (PAGES[0][1], "hello") else f"/{url_path}", lang=LANG)


def _start(name: str, workdir: Path, workspace_file: Path | None, script: str | Path = "app.py"):
    """A server on a copy of the prepared workspace; returns it and its seconds to ready."""
    workdir.mkdir(parents=True, exist_ok=True)
    server = StreamlitServer(name, workdir, script=script)
    if workspace_file is not None:
        shutil.copyfile(workspace_file, server.db_path)
    started = time.perf_counter()
    server.start()
    return server, time.perf_counter() - started


def prepare_workspace(path: Path) -> float:
    """A workspace file holding the sample store, as the app leaves it after the first start (seconds taken)."""
    started = time.perf_counter()
    code = ("import sys; from lib.workspace import Workspace; from lib.importing import load_sample_store; "
            "ws = Workspace(sys.argv[1]); load_sample_store(ws); ws.close()")
    subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, check=True)
    return time.perf_counter() - started


# ---- the run -----------------------------------------------------------------------------------
def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"n": len(ordered), "median": statistics.median(ordered),
            "p95": ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)], "min": ordered[0], "max": ordered[-1]}


def cold_paints(browser, pages: list[tuple[str, str]], runs: int, workspace_file: Path | None, tmp: Path,
                script: str | Path = "app.py") -> tuple[dict[str, list[dict]], list[float]]:
    """Each page ``runs`` times, each on a server started for it."""
    out: dict[str, list[dict]] = {key: [] for key, _ in pages}
    ready: list[float] = []
    for run in range(runs):
        for key, url_path in pages:
            server, ready_s = _start(f"cold-{key}-{run}", tmp / f"cold-{key}-{run}", workspace_file, script)
            try:
                sample = _open(browser, _url(server, url_path))
            finally:
                server.stop()
            ready.append(ready_s)
            out[key].append(sample)
            print(f"  cold {key:<10} run {run + 1}: ready {ready_s:5.2f} s, painted {sample['paint_s']:6.2f} s "
                  f"(title {sample['title_s']:5.2f} s)", flush=True)
    return out, ready


def warm_app(browser, pages: list[tuple[str, str]], runs: int, workspace_file: Path, tmp: Path) -> dict:
    """One server, every page shown once first; then per run: deep links, interactions and page switches."""
    server, ready_s = _start("warm", tmp / "warm", workspace_file)
    result: dict = {"ready_s": ready_s, "paint": {}, "interaction": {}, "switch": {}, "paint_server": {},
                    "interaction_server": {}, "return": {}}
    returning = browser.new_context(viewport=VIEWPORT, locale="en-US")  # the returning visitor's browser profile
    returning.set_default_timeout(ACTION_TIMEOUT_S * 1000)
    try:
        for _key, url_path in pages:  # warm-up: the server's caches, not the measurements
            _open(browser, _url(server, url_path))
            _returning_paint(returning, _url(server, url_path))
        for run in range(-1, runs):  # run -1 warms each interaction up too (both states seen once)
            for key, url_path in pages:
                context, page = _new_page(browser)  # a first visit: a browser profile that never saw the app
                try:
                    started = time.perf_counter()
                    page.goto(_url(server, url_path), wait_until="commit")
                    paint = _wait_painted(page, started)
                    paint_server = _SERVER_DONE[id(page)]
                finally:
                    context.close()
                page = _new_tab(returning)  # a returning visitor: a new tab, the scripts in the browser's cache
                try:
                    started = time.perf_counter()
                    page.goto(_url(server, url_path), wait_until="commit")
                    back = _wait_painted(page, started)
                    interaction = _warm_interaction(page, key, run)
                    interaction_server = _SERVER_DONE[id(page)]
                finally:
                    page.close()
                if run >= 0:
                    result["paint"].setdefault(key, []).append(paint)
                    result["return"].setdefault(key, []).append(back)
                    result["interaction"].setdefault(key, []).append(interaction)
                    result["paint_server"].setdefault(key, []).append(paint_server)
                    result["interaction_server"].setdefault(key, []).append(interaction_server)
                    print(f"  warm {key:<10} run {run + 1}: painted {paint:5.2f} s (returning visitor {back:5.2f} s), "
                          f"interaction {interaction:5.2f} s", flush=True)
            for key, seconds in _switches(returning, server, pages).items():
                if run >= 0:
                    result["switch"].setdefault(key, []).append(seconds)
            if run >= 0:
                print("  switches run {}: {}".format(run + 1, ", ".join(
                    f"{k} {v[-1]:.2f} s" for k, v in result["switch"].items())), flush=True)
    finally:
        returning.close()
        server.stop()
    return result


def _switches(profile, server: StreamlitServer, pages: list[tuple[str, str]]) -> dict[str, float]:
    """Through the sidebar, page after page; presentation mode returns by its exit link."""
    titles = {url_path: t(title_key, LANG) for _file, url_path, title_key, _icon in PAGES}
    order = [url_path for _key_, url_path in pages]
    page = _new_tab(profile)  # the returning visitor's browser
    out: dict[str, float] = {}
    try:
        page.goto(_url(server, order[-1]), wait_until="commit")
        _wait_painted(page, time.perf_counter())
        for url_path in order:
            if "/present" in page.url:
                link = page.locator('[data-testid="stPageLink-NavLink"]').filter(has_text=t("present.exit", LANG))
                if url_path != PAGES[0][1]:
                    continue  # the only way out of presentation mode is to the Overview
            else:
                link = page.locator('[data-testid="stSidebar"] [data-testid="stPageLink-NavLink"]').filter(
                    has=page.get_by_text(titles[url_path], exact=True))
            before = _runs_finished(page)
            started = time.perf_counter()
            link.first.click()
            out[url_path] = _wait_painted(page, started, after_runs=before)
    finally:
        page.close()
    return out


def hello_floor(browser, runs: int, tmp: Path) -> dict:
    """Streamlit's minimal app: cold and warm first paint and one slider rerun, same harness."""
    script = tmp / "hello_app.py"
    script.write_text(HELLO_APP, encoding="utf-8")
    cold, ready = cold_paints(browser, [("hello", "hello")], runs, None, tmp, script=script)
    server, _ = _start("hello-warm", tmp / "hello-warm", None, script)
    warm, interaction, back = [], [], []
    returning = browser.new_context(viewport=VIEWPORT, locale="en-US")
    try:
        _returning_paint(returning, _url(server, "hello"))
        for run in range(-1, runs):
            context, page = _new_page(browser)
            try:
                started = time.perf_counter()
                page.goto(_url(server, "hello"), wait_until="commit")
                paint = _wait_painted(page, started)
            finally:
                context.close()
            page = _new_tab(returning)
            try:
                started = time.perf_counter()
                page.goto(_url(server, "hello"), wait_until="commit")
                again = _wait_painted(page, started)
                step = _warm_interaction(page, "hello", run)
            finally:
                page.close()
            if run >= 0:
                warm.append(paint)
                back.append(again)
                interaction.append(step)
    finally:
        returning.close()
        server.stop()
    print(f"  hello: cold {statistics.median(x['paint_s'] for x in cold['hello']):.2f} s, warm "
          f"{statistics.median(warm):.2f} s, returning visitor {statistics.median(back):.2f} s, "
          f"rerun {statistics.median(interaction):.3f} s", flush=True)
    return {"ready": ready, "cold": cold["hello"], "warm": warm, "interaction": interaction, "return": back}


def _load() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def summarise(raw: dict) -> dict:
    hello = raw["hello"]
    floor = {
        "cold_paint": _stats([x["paint_s"] for x in hello["cold"]]) if hello else None,
        "warm_paint": _stats(hello["warm"]) if hello else None,
        "return_paint": _stats(hello["return"]) if hello and hello.get("return") else None,
        "interaction": _stats(hello["interaction"]) if hello else None,
        "ready": _stats(hello["ready"]) if hello else None,
    }
    pages = {}
    for key in raw["pages"]:
        entry: dict = {"interaction_widget": INTERACTIONS[key][0]}
        if raw["cold"].get(key):
            entry["cold_paint"] = _stats([x["paint_s"] for x in raw["cold"][key]])
            entry["cold_title"] = _stats([x["title_s"] for x in raw["cold"][key]])
            entry["cold_server"] = _stats([x["server_s"] for x in raw["cold"][key]])
        for what in ("paint", "interaction", "switch", "paint_server", "interaction_server", "return"):
            values = raw["warm"].get(what, {}).get(key) if raw.get("warm") else None
            if values:
                entry[f"warm_{what}"] = _stats(values)
        pages[key] = entry
    return {"floor": floor, "pages": pages,
            "server_ready": _stats(raw["ready"]) if raw["ready"] else None}


def table(summary: dict) -> str:
    """Markdown: median / p95 per page and measurement, and the floor's figures for the ratio."""
    def cell(stat: dict | None, floor: dict | None = None) -> str:
        if not stat:
            return "—"
        text = f"{stat['median']:.2f} / {stat['p95']:.2f}"
        if floor:
            text += f" ({stat['median'] / floor['median']:.0f}×)"
        return text

    floor = summary["floor"]
    lines = ["| page | cold first paint | warm first paint, first visit | warm first paint, returning visitor | "
             "page switch | warm interaction (widget) |",
             "|---|---|---|---|---|---|"]
    for key, entry in summary["pages"].items():
        lines.append(f"| {key} | {cell(entry.get('cold_paint'), floor['cold_paint'])} | "
                     f"{cell(entry.get('warm_paint'), floor['warm_paint'])} | "
                     f"{cell(entry.get('warm_return'), floor.get('return_paint'))} | {cell(entry.get('warm_switch'))} | "
                     f"{cell(entry.get('warm_interaction'), floor['interaction'])} — {entry['interaction_widget']} |")
    if floor["cold_paint"]:
        lines.append(f"| *Streamlit hello (floor)* | {cell(floor['cold_paint'])} | {cell(floor['warm_paint'])} | "
                     f"{cell(floor.get('return_paint'))} | — | {cell(floor['interaction'])} — slider step |")
    lines += ["", "When the server had finished the run (the rest of each figure is the browser drawing), medians:", "",
              "| page | cold first paint | warm first paint | warm interaction |", "|---|---|---|---|"]
    for key, entry in summary["pages"].items():
        lines.append(f"| {key} | {cell(entry.get('cold_server'))} | {cell(entry.get('warm_paint_server'))} | "
                     f"{cell(entry.get('warm_interaction_server'))} |")
    if summary["server_ready"]:
        ready = summary["server_ready"]
        lines.append(f"\nServer time-to-ready (process start → /_stcore/health): median {ready['median']:.2f} s, "
                     f"p95 {ready['p95']:.2f} s" + (f"; hello app {floor['ready']['median']:.2f} s" if floor["ready"]
                                                    else ""))
    lines.append("\nSeconds, median / p95 (nearest rank) of the runs; (N×) = median against Streamlit's hello app.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="warm runs per page (default 5)")
    parser.add_argument("--cold-runs", type=int, default=None, help="cold server starts per page (default: --runs)")
    parser.add_argument("--pages", default="", help="comma-separated url paths (default: every page)")
    parser.add_argument("--skip", default="", help="parts to leave out: cold,warm,hello")
    parser.add_argument("--tag", default="", help="suffix of the results file")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    wanted = [p for p in args.pages.split(",") if p]
    pages = [(url_path, url_path) for _file, url_path, _title, _icon in PAGES if not wanted or url_path in wanted]
    skip = set(filter(None, args.skip.split(",")))
    cold_runs = args.runs if args.cold_runs is None else args.cold_runs
    raw: dict = {"pages": [k for k, _ in pages], "cold": {}, "warm": None, "hello": None, "ready": []}
    load_before = _load()
    print(f"load before: {load_before}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp_name:
        tmp = Path(tmp_name)
        workspace_file = tmp / "sample.duckdb"
        print(f"preparing the sample store workspace: {prepare_workspace(workspace_file):.1f} s", flush=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            try:
                if "hello" not in skip:
                    raw["hello"] = hello_floor(browser, max(cold_runs, args.runs), tmp)
                if "cold" not in skip and cold_runs:
                    raw["cold"], raw["ready"] = cold_paints(browser, pages, cold_runs, workspace_file, tmp)
                if "warm" not in skip and args.runs:
                    raw["warm"] = warm_app(browser, pages, args.runs, workspace_file, tmp)
            finally:
                browser.close()
    summary = summarise(raw)
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": _commit(),
        "load_before": load_before, "load_after": _load(), "cpus": os.cpu_count(),
        "targets": {"first_paint_s": TARGET_PAINT_S, "interaction_s": TARGET_INTERACTION_S},
        "runs": args.runs, "cold_runs": cold_runs, "summary": summary, "raw": raw,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"browser{'_' + args.tag if args.tag else ''}.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\n{report['date']} commit {report['commit']}\nload before: {load_before}\nload after:  {report['load_after']}\n")
    print(table(summary))
    print(f"\nwritten {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Load test: N browser sessions at once against one local server, each importing, segmenting and exporting.

Why: the workspace is one DuckDB file behind one Streamlit process shared by a whole
team, so the questions are the team's: does every session finish, does anyone see a
lock or conflict error, how long does a page take while everybody works, does the
server stay healthy, and does its memory come back when they leave. A plain HTTP
load generator would only fetch static files; this drives real browsers (one
Chromium, one context per session: separate cookies, websocket and Streamlit
session) through the same clicks a user makes.

Each session: open the Data page cold → upload a small order CSV (its own dataset
name) → check → confirm the import → Segments (via the sidebar) → download the
segment workbook → Scenarios (when that page exists) → Timeline. Times are from the
action to the app being idle again (no script run, no spinner), using the browser
suite's idle detection and launch settings (tests/browser/driver.py, tests/browser/probes.py).

It is a benchmark, not a test: loopback only, bounded in sessions and time, a fresh
server and workspace per level. Results print as a table and go to
``bench/results/load_<N>[_tag].json`` (git-ignored).

    .venv/bin/python -m bench.load_test --sessions 10 25
    .venv/bin/python -m bench.load_test --sessions 10 25 --shared-context --tag shared

Browsers are expensive: on a small machine they, not the server, use most of the
CPU, which the summary reports (server CPU seconds against the machine's busy
seconds). ``--shared-context`` makes each session a tab of one browser profile
(shared HTTP cache, still a separate websocket and Streamlit session), which
roughly halves the load generator's cost. For figures worth quoting, run the
browsers on another machine than the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

from lib.i18n import t
from tests.browser.driver import CHROMIUM, CHROMIUM_ARGS, StreamlitServer
from tests.browser.probes import IDLE_SCRIPT, RUN_COUNTER_SCRIPT, SETTLE_MS, RunEnds

ROOT = Path(__file__).resolve().parent.parent

RESULTS = ROOT / "bench" / "results"
VIEWPORT = {"width": 1280, "height": 800}
LANG = "en"
MAX_SESSIONS = 50
FIRST_LOAD_TIMEOUT_S = 180.0  # the warm-up visit loads the bundled sample store
STEP_TIMEOUT_S = 120.0
SESSION_TIMEOUT_S = 300.0
HEALTH_EVERY_S = 0.5
#: Text that means a lock, a write conflict or an unhandled failure reached the user.
TROUBLE_TEXTS = (
    "conflicting lock", "write-write conflict", "conflict on", "transactioncontext", "in use by another process",
    t("error.workspace", LANG).split("{")[0].strip().lower(),
    t("error.unexpected", LANG)[:40].lower(),
    t("import.error.conflict", LANG).split("}")[-1][:40].strip().lower(),
    "traceback",
)
PAGE_STEPS = ("open_data", "segments", "scenarios", "timeline")  # page loads; the rest are actions ("boot" is
# the part of open_data before the server's first run starts)


@dataclass
class SessionResult:
    session: int
    dataset: str
    ok: bool = False
    failed_step: str | None = None
    error: str | None = None
    steps: dict[str, float] = field(default_factory=dict)
    trouble: list[str] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)
    download_bytes: int = 0


# ----------------------------------------------------------------------------------------------
# Server-side measurements
# ----------------------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    """Resident memory of a process from /proc (psutil is not in the venv)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds spent busy by the whole machine so far, over all cores (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class HealthProbe(threading.Thread):
    """Polls /_stcore/health and the server's RSS every half second while sessions run."""

    def __init__(self, server: StreamlitServer) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.stop = threading.Event()
        self.latencies_ms: list[float] = []
        self.failures: list[str] = []
        self.peak_rss_mb = 0.0

    def run(self) -> None:
        url = f"{self.server.base_url}/_stcore/health"
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    response.read()
                    if response.status != 200:
                        self.failures.append(f"HTTP {response.status}")
            except Exception as exc:  # noqa: BLE001 - a failed probe is a data point
                self.failures.append(type(exc).__name__)
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
            if self.server.process is not None:
                self.peak_rss_mb = max(self.peak_rss_mb, rss_mb(self.server.process.pid))
            self.stop.wait(HEALTH_EVERY_S)


# ----------------------------------------------------------------------------------------------
# One browser session
# ----------------------------------------------------------------------------------------------


def order_csv(seed: int, orders: int = 240) -> bytes:
    """A small English order export: a year of orders from 80 customers, some repeat buyers."""
    rng = random.Random(seed)
    start = date(2025, 1, 1)
    lines = ["order_id,customer_id,order_date,amount,channel"]
    for index in range(orders):
        day = start + timedelta(days=rng.randrange(0, 365))
        customer = f"c{seed}-{int(rng.paretovariate(1.2)) % 80:03d}"
        lines.append(f"S{seed}-{index:05d},{customer},{day.isoformat()},{rng.uniform(20, 900):.2f},"
                     f"{rng.choice(['天猫', '抖音', '小红书'])}")
    return ("\n".join(lines) + "\n").encode("utf-8")


async def wait_run_finished(page, run_ends: RunEnds, ended_before: int, timeout_s: float = STEP_TIMEOUT_S) -> None:
    """Until the server has finished a run since the count ``ended_before`` was taken (before the action).

    A state, not an event: the count only grows, so a run that ended before this wait began
    still counts, and one too fast for the page's run counter to see is counted from the
    server's own messages (then marked as seen, for the idle probe).
    """
    deadline = time.monotonic() + timeout_s
    while run_ends.count <= ended_before:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no run finished within {timeout_s:.0f} s")
        await page.wait_for_timeout(50)  # lets Playwright deliver the websocket frames
    await page.evaluate("() => { if (window.__stRuns && window.__stRuns.started < 1) window.__stRuns.started = 1; }")


async def wait_idle(page, timeout_s: float = STEP_TIMEOUT_S) -> None:
    """Until the app has finished its run and stays idle for a moment (as AppPage.wait_idle)."""
    deadline = time.monotonic() + timeout_s
    while True:
        remaining_ms = max(1000, int((deadline - time.monotonic()) * 1000))
        await page.wait_for_function(IDLE_SCRIPT, arg=True, timeout=remaining_ms, polling=100)
        runs = await page.evaluate("() => (window.__stRuns || {started: 0}).started")
        await page.wait_for_timeout(SETTLE_MS)
        again = await page.evaluate("() => (window.__stRuns || {started: 0}).started")
        if again == runs and await page.evaluate(IDLE_SCRIPT, True):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the app did not settle within {timeout_s:.0f} s")


async def act(page, run_ends: RunEnds, action, timeout_s: float = STEP_TIMEOUT_S) -> float:
    """Do something that makes Streamlit rerun; seconds until that rerun is over (minus the settle pause)."""
    ended_before = run_ends.count
    started = time.perf_counter()
    await action()
    await wait_run_finished(page, run_ends, ended_before, timeout_s)
    await wait_idle(page, timeout_s)
    return time.perf_counter() - started - SETTLE_MS / 1000


async def check_page(page, result: SessionResult, step: str) -> None:
    """Record any lock/conflict/error text on the page; fail the step on an exception element."""
    text = (await page.locator('[data-testid="stApp"]').inner_text()).lower()
    for needle in TROUBLE_TEXTS:
        if needle and needle in text:
            result.trouble.append(f"{step}: {needle}")
    if await page.locator('[data-testid="stException"]').count():
        raise RuntimeError(f"exception element on the page at {step}")


async def run_session(
    browser, server: StreamlitServer, index: int, run_id: str, pages: dict[str, str], *,
    shared_context=None, delay_s: float = 0.0,
) -> SessionResult:
    """One user's path. With ``shared_context`` the session is a tab of a shared browser profile (cookies and
    HTTP cache shared, cheaper for the load generator); it is still its own websocket and Streamlit session."""
    await asyncio.sleep(delay_s)
    dataset = f"lt{run_id}_{index:02d}"
    result = SessionResult(index, dataset)
    context = shared_context or await browser.new_context(viewport=VIEWPORT, locale="en-US", accept_downloads=True)
    context.set_default_timeout(STEP_TIMEOUT_S * 1000)
    page = await context.new_page()
    await page.add_init_script(RUN_COUNTER_SCRIPT)
    run_ends = RunEnds(page)
    page.on("response", lambda response: result.http_errors.append(
        f"{response.status} {response.request.method} {response.url.split('?')[0][-80:]}")
        if response.status >= 400 else None)
    page.on("requestfailed", lambda request: result.http_errors.append(
        f"failed {request.method} {request.url.split('?')[0][-80:]}: {request.failure}"))
    main = page.locator('[data-testid="stMain"]')
    step = "open_data"

    def nav(label: str):
        return page.locator('[data-testid="stSidebar"] [data-testid="stPageLink-NavLink"]').filter(
            has=page.get_by_text(label, exact=True))

    try:
        started = time.perf_counter()
        await page.goto(server.url("/data", lang=LANG), wait_until="domcontentloaded")
        # "boot": the browser has loaded and started Streamlit's frontend (the rest is the server's run); a run
        # too fast for the page to show it running has ended by the time the server says so
        while not (run_ends.count or await page.evaluate("() => (window.__stRuns || {started: 0}).started")):
            if time.perf_counter() - started > FIRST_LOAD_TIMEOUT_S:
                raise TimeoutError(f"no script run started within {FIRST_LOAD_TIMEOUT_S:.0f} s")
            await page.wait_for_timeout(50)
        result.steps["boot"] = time.perf_counter() - started
        await wait_run_finished(page, run_ends, 0, FIRST_LOAD_TIMEOUT_S)
        await wait_idle(page, FIRST_LOAD_TIMEOUT_S)
        result.steps[step] = time.perf_counter() - started - SETTLE_MS / 1000
        await check_page(page, result, step)

        step = "upload"
        upload = main.locator('[data-testid="stFileUploaderDropzoneInput"]').first
        result.steps[step] = await act(page, run_ends, lambda: upload.set_input_files(
            files=[{"name": f"{dataset}.csv", "mimeType": "text/csv", "buffer": order_csv(index)}]))
        await check_page(page, result, step)

        step = "check"
        check = main.locator("button").filter(has_text=t("data.check", LANG)).filter(visible=True).first
        result.steps[step] = await act(page, run_ends, check.click)
        await check_page(page, result, step)

        step = "import"
        confirm = main.locator("button").filter(has_text=f"“{dataset}”").filter(visible=True).first
        started = time.perf_counter()
        await act(page, run_ends, confirm.click)
        # The import ends in st.rerun(): under load the pause between the two runs can outlast the settle
        # time, so wait for the outcome itself (the success flash, or an error) rather than for quiet.
        outcome = main.locator('[data-testid="stAlertContentSuccess"], [data-testid="stAlertContentError"]').first
        await outcome.wait_for(timeout=STEP_TIMEOUT_S * 1000)
        await wait_idle(page)
        result.steps[step] = time.perf_counter() - started - SETTLE_MS / 1000
        await check_page(page, result, step)
        if not await main.locator('[data-testid="stAlertContentSuccess"]').count():
            errors = await main.locator('[data-testid="stAlertContentError"]').all_inner_texts()
            raise RuntimeError(f"no success message after the import: {' | '.join(errors)[:300]}")

        step = "segments"
        result.steps[step] = await act(page, run_ends, nav(t("nav.segments", LANG)).click)
        await check_page(page, result, step)
        shown = await page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"] input').first.input_value()
        if shown.strip() != dataset:
            raise RuntimeError(f"segments opened on {shown!r}, not the imported dataset")

        step = "download"
        label = t("segments_page.export_xlsx", LANG)
        download_button = main.locator('[data-testid="stDownloadButton"] button').filter(has_text=label).first
        started = time.perf_counter()
        # Two steps (lib.ui.download): "Prepare …" builds the workbook in this session, then the button serves it.
        prepare = main.locator("button").filter(has_text=t("export.prepare", LANG, what=label)).first
        await act(page, run_ends, prepare.click)
        await download_button.wait_for(timeout=STEP_TIMEOUT_S * 1000)
        async with page.expect_download(timeout=STEP_TIMEOUT_S * 1000) as info:
            await download_button.click()
        download = await info.value
        saved = await download.path()
        result.download_bytes = Path(saved).stat().st_size if saved else 0
        result.steps[step] = time.perf_counter() - started
        if result.download_bytes < 1000 or not download.suggested_filename.lower().endswith(".xlsx"):
            raise RuntimeError(f"bad download {download.suggested_filename!r} ({result.download_bytes} bytes)")

        for step in ("scenarios", "timeline"):
            if step not in pages:  # the scenarios page is optional
                continue
            result.steps[step] = await act(page, run_ends, nav(t(pages[step], LANG)).click)
            await check_page(page, result, step)
        step = "done"
        result.ok = not result.trouble
        if result.trouble:
            result.failed_step = result.trouble[0].split(":")[0]
    except Exception as exc:  # noqa: BLE001 - recorded per session
        result.failed_step = step
        result.error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    finally:
        await (page.close() if shared_context else context.close())
    return result


# ----------------------------------------------------------------------------------------------
# One level (N sessions on a fresh server)
# ----------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


async def run_level(sessions: int, session_ttl_s: int, settle_wait_s: float, *, shared: bool = False,
                    ramp_s: float = 0.0) -> dict:
    from playwright.async_api import async_playwright

    from lib.ui import PAGES

    pages_present = {url: title_key for _, url, title_key, _ in PAGES}  # url path -> title key
    workdir = Path(tempfile.mkdtemp(prefix=f"load{sessions}-"))
    os.environ["STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL"] = str(session_ttl_s)
    server = StreamlitServer(f"load{sessions}", workdir).start()
    pid = server.process.pid
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                                       headless=True)
            # Warm-up: the first visit loads the sample store; not counted.
            warm = await browser.new_context(viewport=VIEWPORT)
            page = await warm.new_page()
            await page.add_init_script(RUN_COUNTER_SCRIPT)
            warm_runs = RunEnds(page)
            started = time.perf_counter()
            await page.goto(server.url("/", lang=LANG), wait_until="domcontentloaded")
            await wait_run_finished(page, warm_runs, 0, FIRST_LOAD_TIMEOUT_S)
            await wait_idle(page, FIRST_LOAD_TIMEOUT_S)
            warmup_s = time.perf_counter() - started
            await warm.close()
            await asyncio.sleep(2)
            baseline_mb = rss_mb(pid)

            probe = HealthProbe(server)
            probe.start()
            run_id = f"{int(time.time()) % 100000:05d}"
            server_cpu0, machine_cpu0 = cpu_seconds(pid), machine_busy_seconds()
            load_before = os.getloadavg()
            wall = time.perf_counter()
            shared_context = None
            if shared:
                shared_context = await browser.new_context(viewport=VIEWPORT, locale="en-US", accept_downloads=True)
            results = await asyncio.gather(*[
                asyncio.wait_for(run_session(browser, server, i, run_id, pages_present, shared_context=shared_context,
                                             delay_s=ramp_s * i / max(1, sessions - 1) if ramp_s else 0.0),
                                 SESSION_TIMEOUT_S + ramp_s)
                for i in range(sessions)
            ], return_exceptions=True)
            if shared_context is not None:
                await shared_context.close()
            wall_s = time.perf_counter() - wall
            server_cpu, machine_cpu = cpu_seconds(pid) - server_cpu0, machine_busy_seconds() - machine_cpu0
            probe.stop.set()
            probe.join(timeout=10)
            await browser.close()
        closed_mb = rss_mb(pid)
        await asyncio.sleep(settle_wait_s)  # past the disconnected-session TTL: sessions are dropped
        settled_mb = rss_mb(pid)
        log_tail = server.log_tail(40)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)  # the throw-away workspace and server log

    records: list[SessionResult] = []
    for index, item in enumerate(results):
        if isinstance(item, SessionResult):
            records.append(item)
        else:
            records.append(SessionResult(index, "?", error=f"{type(item).__name__}: {item}"[:300],
                                         failed_step="timeout"))
    steps: dict[str, list[float]] = {}
    for record in records:
        for name, seconds in record.steps.items():
            steps.setdefault(name, []).append(seconds)
    page_loads = [s for r in records for n, s in r.steps.items() if n in PAGE_STEPS]
    health = probe.latencies_ms
    return {
        "sessions": sessions,
        "succeeded": sum(r.ok for r in records),
        "clients": "tabs of one browser context" if shared else "one browser context per session",
        "ramp_seconds": ramp_s,
        "wall_seconds": round(wall_s, 1),
        "warmup_seconds": round(warmup_s, 1),
        "pages_visited": [p for p in ("data", "segments", "scenarios", "timeline") if p in pages_present],
        "page_load_p50_s": round_or_none(percentile(page_loads, 50)),
        "page_load_p95_s": round_or_none(percentile(page_loads, 95)),
        "page_load_max_s": round_or_none(max(page_loads) if page_loads else None),
        "steps": {name: {"n": len(v), "p50_s": round_or_none(percentile(v, 50)), "p95_s": round_or_none(percentile(v, 95)),
                         "max_s": round_or_none(max(v))} for name, v in steps.items()},
        "trouble_texts": sorted({x for r in records for x in r.trouble}),
        "errors": [f"#{r.session} {r.failed_step}: {r.error}" + (f" (HTTP: {'; '.join(_telling(r.http_errors))})"
                                                                  if _telling(r.http_errors) else "")
                   for r in records if r.error],
        "http_errors": sorted({e for r in records for e in r.http_errors}),
        "rss_mb": {"baseline": round(baseline_mb, 1), "peak": round(probe.peak_rss_mb, 1),
                   "after_close": round(closed_mb, 1), "after_ttl": round(settled_mb, 1),
                   "session_ttl_s": session_ttl_s, "waited_s": settle_wait_s},
        "health": {"probes": len(health), "failures": len(probe.failures),
                   "p50_ms": round_or_none(percentile(health, 50), 1), "p95_ms": round_or_none(percentile(health, 95), 1),
                   "max_ms": round_or_none(max(health) if health else None, 1),
                   "over_1s": sum(1 for x in health if x > 1000)},
        "cpu": {"cpus": os.cpu_count(), "server_cpu_s": round(server_cpu, 1),
                "machine_busy_cpu_s": round(machine_cpu, 1),
                "machine_capacity_cpu_s": round(wall_s * (os.cpu_count() or 1), 1),
                "server_share_of_busy": round(server_cpu / machine_cpu, 2) if machine_cpu else None,
                # the machine may be shared: a load average above the core count before the run means other work
                "loadavg_1m_before": round(load_before[0], 2)},
        "per_session": [asdict(r) for r in records],
        "server_log_tail": log_tail if any(r.error for r in records) else "",
    }


def _telling(http_errors: list[str]) -> list[str]:
    """The HTTP errors worth showing: not the frontend's harmless probes of <page>/_stcore/... (404 by design)."""
    return [e for e in http_errors if "/_stcore/health" not in e and "/_stcore/host-config" not in e][-3:]


def round_or_none(value: float | None, digits: int = 2) -> float | None:
    """A figure for the results JSON: rounded, or None when there was nothing to measure."""
    return None if value is None else round(value, digits)


def print_summary(summary: dict) -> None:
    rss, health = summary["rss_mb"], summary["health"]
    print(f"\n=== {summary['sessions']} concurrent sessions: {summary['succeeded']}/{summary['sessions']} succeeded "
          f"in {summary['wall_seconds']} s (warm-up {summary['warmup_seconds']} s; pages: "
          f"{', '.join(summary['pages_visited'])}; {summary['clients']}; ramp {summary['ramp_seconds']} s) ===")
    print(f"{'step':<12}{'n':>4}{'p50 s':>9}{'p95 s':>9}{'max s':>9}")
    for name, row in summary["steps"].items():
        print(f"{name:<12}{row['n']:>4}{row['p50_s']:>9.2f}{row['p95_s']:>9.2f}{row['max_s']:>9.2f}")
    print(f"page loads: p50 {summary['page_load_p50_s']} s, p95 {summary['page_load_p95_s']} s, "
          f"max {summary['page_load_max_s']} s")
    print(f"server RSS MB: baseline {rss['baseline']}, peak {rss['peak']}, after close {rss['after_close']}, "
          f"after {rss['waited_s']:.0f} s (session TTL {rss['session_ttl_s']} s) {rss['after_ttl']}")
    print(f"/_stcore/health: {health['probes']} probes, {health['failures']} failed, p50 {health['p50_ms']} ms, "
          f"p95 {health['p95_ms']} ms, max {health['max_ms']} ms, {health['over_1s']} over 1 s")
    cpu = summary["cpu"]
    print(f"CPU: {cpu['cpus']} cores; during the run the machine was busy {cpu['machine_busy_cpu_s']} of "
          f"{cpu['machine_capacity_cpu_s']} CPU-s, the Streamlit server used {cpu['server_cpu_s']} "
          f"({cpu['server_share_of_busy']:.0%} of busy; the rest is the browsers, this harness and anything "
          f"else on the machine: 1-min load average before the run {cpu['loadavg_1m_before']})")
    print(f"lock/conflict/error text seen: {summary['trouble_texts'] or 'none'}")
    for line in summary["errors"]:
        print("  " + line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[10], help="levels to run, e.g. 10 25")
    parser.add_argument("--session-ttl", type=int, default=15,
                        help="server.disconnectedSessionTTL for the run (default 15 s; Streamlit's default is 120)")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds to wait after close before the last RSS")
    parser.add_argument("--shared-context", action="store_true",
                        help="sessions as tabs of one browser context (lighter on the load generator)")
    parser.add_argument("--ramp", type=float, default=0.0, help="spread session starts over this many seconds")
    parser.add_argument("--tag", default="", help="suffix for the results file name")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"needs Chromium at {CHROMIUM}", file=sys.stderr)
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    status = 0
    for sessions in args.sessions:
        if not 1 <= sessions <= MAX_SESSIONS:
            print(f"--sessions must be between 1 and {MAX_SESSIONS}", file=sys.stderr)
            return 2
        summary = asyncio.run(run_level(sessions, args.session_ttl, args.settle, shared=args.shared_context,
                                        ramp_s=args.ramp))
        print_summary(summary)
        out = RESULTS / f"load_{sessions}{'_' + args.tag if args.tag else ''}.json"
        out.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"wrote {out.relative_to(ROOT)}")
        status |= 0 if summary["succeeded"] == sessions else 1
    return status


if __name__ == "__main__":
    sys.exit(main())

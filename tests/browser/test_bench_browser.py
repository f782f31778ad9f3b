"""The browser benchmark still runs end to end and reports every figure the README quotes.

Why: like tests/test_bench.py for the engine benchmarks — a benchmark whose widget
locator or "painted" probe has rotted (a renamed key, a Streamlit upgrade that changes
the slider) would time out or time nothing. One run of one page and the hello floor.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .driver import ROOT

pytestmark = pytest.mark.browser


def test_browser_benchmark_measures_a_page_and_the_hello_floor(chromium_executable):
    tag = "pytest-smoke"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_browser", "--runs", "1", "--cold-runs", "1", "--pages", "scenarios",
         "--tag", tag],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-3000:])
    report = json.loads((ROOT / "bench" / "results" / f"browser_{tag}.json").read_text(encoding="utf-8"))
    page = report["summary"]["pages"]["scenarios"]
    floor = report["summary"]["floor"]
    for key in ("cold_paint", "warm_paint", "warm_return", "warm_switch", "warm_interaction", "warm_interaction_server"):
        assert page[key]["n"] == 1 and page[key]["median"] > 0, key
    # The slider step is a real rerun: the server finished one after the key press, before the page was painted.
    assert 0 < page["warm_interaction_server"]["median"] <= page["warm_interaction"]["median"]
    assert floor["cold_paint"]["median"] > 0 and floor["interaction"]["median"] > 0 and floor["return_paint"]["median"] > 0
    assert "| scenarios |" in proc.stdout and "Streamlit hello (floor)" in proc.stdout

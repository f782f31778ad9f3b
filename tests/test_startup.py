"""The first page after a server start is drawn before the other pages' heavy libraries are loaded.

Why: a cold Overview spent 5.9 of its 9.7 s on the server importing every page's
libraries (SciPy above all) and freezing the heap, before drawing a thing
(bench/bench_browser.py, cProfile of one run). ``app.py`` now starts that warm-up
in the background once a run is over (``lib.ui.warm_up_after_run``). These tests
run in a fresh interpreter, because the test process itself has long imported SciPy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_PROBE = r"""
import gc, json, sys
import lib.ui
started = []
real = lib.ui.warm_up_after_run
lib.ui.warm_up_after_run = lambda: started.append(True)  # app.py looks it up when it runs: hold the warm-up back
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=300)
at.query_params["lang"] = "en"
at.run()
heavy = ("scipy", "openpyxl", "xlsxwriter", "pptx", "vl_convert", "lib.review", "lib.channels", "lib.channels.optimizer")
during = sorted(name for name in heavy if name in sys.modules)
titles = [t.value for t in at.title]
lib.ui.warm_up_after_run = real
real()
for thread in __import__("threading").enumerate():
    if thread.name == "growth-planner-warm-up":
        thread.join(120)
after = sorted(name for name in heavy if name in sys.modules)
print(json.dumps({"during": during, "after": after, "started": len(started), "titles": titles,
                  "exceptions": [e.value for e in at.exception], "frozen": gc.get_freeze_count()}))
"""


def test_the_first_page_is_drawn_without_the_other_pages_libraries_which_load_after_it(tmp_path, sample_workspace_file):
    db = tmp_path / "app.duckdb"
    shutil.copyfile(sample_workspace_file, db)
    proc = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          # as the app runs: the test suite's chart compile check (vl-convert) stays off here
                          env=dict(os.environ, GROWTH_PLANNER_DB=str(db), GROWTH_PLANNER_VALIDATE_CHARTS="0"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not result["exceptions"], result["exceptions"]
    assert result["titles"], "the Overview drew its title"
    assert result["started"] == 1, "app.py starts the warm-up once its run is over"
    assert result["during"] == [], f"the Overview's first run loaded {result['during']}"
    # Behind the page: every page's libraries are loaded and the start-up heap is frozen for the collector.
    assert {"scipy", "openpyxl", "lib.review", "lib.channels", "lib.channels.optimizer"} <= set(result["after"])
    assert result["frozen"] > 100_000

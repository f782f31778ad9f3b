"""What a browser can tell about a Streamlit app's state: JavaScript probes shared by the browser tests and benchmarks.

Why a module of its own: the browser tests (``tests/browser/driver.py``) and the browser
benchmarks (``bench/bench_browser.py``, ``bench/load_test.py``) must agree on what "the app
has finished its run" means, or a benchmark times something the tests never check.
Both import these public names; neither reaches into the other's private helpers.
"""

from __future__ import annotations

#: How long the app must stay idle before we believe it (a rerun may follow the first).
SETTLE_MS = 300

# Counts script runs in the page, so an action can wait for *its* run rather than
# mistaking the quiet moment before the rerun starts for the end of it.
RUN_COUNTER_SCRIPT = """
window.__stRuns = {started: 0, finished: 0};
new MutationObserver((mutations) => {
  for (const m of mutations) {
    const now = m.target.getAttribute('data-test-script-state');
    if (now === m.oldValue) continue;
    if (now === 'running') window.__stRuns.started += 1;
    if (now === 'notRunning') window.__stRuns.finished += 1;
  }
}).observe(document, {subtree: true, attributes: true, attributeOldValue: true,
                      attributeFilter: ['data-test-script-state']});
"""

# True when the app has finished its run and shows no sign of work; an exception
# element also counts as "finished" so a broken page fails fast with its message.
IDLE_SCRIPT = """
(needHeading) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (!window.__stRuns || window.__stRuns.started < 1) return false;
  if (document.querySelector('[data-testid="stException"]')) return true;
  const busy = '[data-testid="stSpinner"], [data-testid="stExpanderIconSpinner"], '
    + '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"], '
    + '[data-testid="stFileChipIconSpinner"], [data-testid="stSkeleton"]';
  if (document.querySelector(busy)) return false;
  if (needHeading && !document.querySelector('[data-testid="stMain"] h1')) return false;
  return true;
}
"""

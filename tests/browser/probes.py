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


class RunEnds:
    """Counts the script runs the server says it finished for one page, from its websocket messages.

    Why besides ``RUN_COUNTER_SCRIPT``: a fast rerun (a cached page, the hello app's ~10 ms)
    can start and end between two renders, so the page's script-state attribute never flips to
    ``running`` and the in-page counter misses it; the server's ``script_finished`` message is
    always sent. A run ended early by ``st.rerun()`` is not counted: the run after it is.
    """

    def __init__(self, page) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._message = ForwardMsg
        self._ends = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
                      ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
        self.count = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload: bytes | str) -> None:
        if isinstance(payload, str):
            return
        msg = self._message()
        try:
            msg.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - not a ForwardMsg: nothing to count
            return
        if msg.WhichOneof("type") == "script_finished" and msg.script_finished in self._ends:
            self.count += 1

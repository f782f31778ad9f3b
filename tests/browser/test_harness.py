"""The browser harness waits for states, not events: checked on a scripted stand-in page, without a browser.

Why: the language-switch test once timed out on a busy machine waiting for a rerun
*event* that had already happened (or was too fast for the page to show it running).
``AppPage.act`` now waits until the page shows what the action causes and the server
has finished a run since the action. These tests pin that down where a real browser
cannot make the timing happen on purpose: a run the page's own counter never sees,
a result already on screen before the action, a state that never comes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from .driver import AppPage, State, StreamlitServer


class ScriptedPage:
    """Just enough of a Playwright page: the server's messages and the page's title arrive on a script of ticks.

    Every ``wait_for_timeout`` is one tick; ``at[tick]`` runs then. The page's own run
    counter stays where it is (as for a run too fast to be seen running) unless a step moves it.
    """

    def __init__(self, at: dict[int, Callable[[ScriptedPage], None]]) -> None:
        self.url = "http://127.0.0.1:1/overview?lang=en"
        self.heading = "Overview"
        self.page_title = "Overview · Growth Planner"
        self.runs_seen = 1  # the page has run once already (the test opened it)
        self.tick = 0
        self.at = at
        self._frame: Callable[[bytes], None] | None = None

    # what AppPage and probes.RunEnds call
    def add_init_script(self, _script: str) -> None:
        pass

    def on(self, event: str, handler: Callable[..., None]) -> None:
        if event == "websocket":
            handler(self)  # the page plays its own websocket
        elif event == "framereceived":
            self._frame = handler

    def evaluate(self, script: str, arg: object = None) -> object:
        if "querySelector('[data-testid=\"stMain\"] h1')" in script:
            return self.heading
        if "__stRuns" in script and "started" in script and "=>" in script and "data-test-script-state" not in script:
            return self.runs_seen
        return True  # the idle probe: nothing running, nothing spinning

    def wait_for_function(self, *_args: object, **_kwargs: object) -> None:
        pass

    def wait_for_timeout(self, _ms: float) -> None:
        self.tick += 1
        step = self.at.get(self.tick)
        if step is not None:
            step(self)

    def title(self) -> str:
        return self.page_title

    # what the scripted server does
    def server_finishes_a_run(self) -> None:
        msg = ForwardMsg()
        msg.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
        assert self._frame is not None
        self._frame(msg.SerializeToString())


def chinese_overview(page: ScriptedPage) -> None:
    page.url, page.heading, page.page_title = page.url.replace("lang=en", "lang=zh"), "总览", "总览 · 增长规划台"


def app_on(page: ScriptedPage) -> AppPage:
    return AppPage(page, StreamlitServer("scripted", Path("/nonexistent")))  # no server is started


def test_a_run_too_fast_for_the_page_to_see_still_ends_the_wait_once_its_result_is_drawn():
    # tick 3: the server finishes the rerun; tick 5: the Chinese page is drawn. The page's run counter never moves.
    page = ScriptedPage({3: ScriptedPage.server_finishes_a_run, 5: chinese_overview})
    app = app_on(page)
    chinese = State("the Chinese overview", lambda: app.heading_now() == "总览") & app.on_page("总览", {"/overview"})
    app.act(lambda: None, until=chinese)
    assert page.heading == "总览" and page.runs_seen == 1, "done by the state and the server's message alone"


def test_a_result_already_on_screen_does_not_end_the_wait_before_the_actions_own_run():
    # "Check" again: the report is on screen before the click; the wait must still last until the server's run ends.
    page = ScriptedPage({4: ScriptedPage.server_finishes_a_run})
    app = app_on(page)
    app.act(lambda: None, until=State("the report", lambda: True))
    assert page.tick >= 4, f"the wait ended at tick {page.tick}, before the action's run finished (tick 4)"


def test_a_state_that_never_comes_fails_with_its_description():
    page = ScriptedPage({2: ScriptedPage.server_finishes_a_run})
    app = app_on(page)
    with pytest.raises(AssertionError, match="the Chinese overview"):
        app.act(lambda: None, until=State("the Chinese overview", lambda: app.heading_now() == "总览"), timeout_ms=300)


def test_a_read_that_fails_mid_navigation_counts_as_not_yet():
    def navigating() -> bool:
        raise RuntimeError("Execution context was destroyed")

    assert State("anything", navigating).reached() is False

"""The Playbooks page at 1440 px: every table of tiers and plays fits its width, in English and 简体中文, on every tier.

Why: a data grid is a canvas; only a browser shows whether its columns run past the
page and make the reader scroll sideways (issue #19: the tier overview was 2,900 px
wide in English). Screenshots go to ``tests/artifacts/screenshots/playbooks_<lang>_1440.png``.
"""

from __future__ import annotations

import pytest

from lib.i18n import t

from .driver import AppPage, State

pytestmark = pytest.mark.browser

#: Each grid's scrolling area against its visible width (a grid that fits has them equal).
_GRID_WIDTHS = """() => [...document.querySelectorAll('[data-testid="stDataFrame"] .dvn-scroller')]
    .map((s) => [s.scrollWidth, s.clientWidth])"""


def _sideways(app: AppPage) -> list[list[int]]:
    return [w for w in app.page.evaluate(_GRID_WIDTHS) if w[0] > w[1] + 1]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_playbook_tables_fit_1440_px_on_every_tier(app: AppPage, lang):
    app.open("/playbooks", lang=lang)
    app.assert_healthy()
    assert t("playbooks_page.title", lang) in app.heading()
    grids = app.page.evaluate(_GRID_WIDTHS)
    assert len(grids) >= 4, f"the overview, the editor and two tables of plays: {grids}"
    assert not _sideways(app), f"tables scroll sideways at 1440 px ({lang}, first tier): {_sideways(app)}"
    app.screenshot(f"playbooks_{lang}_1440")
    tiers = app.main.locator(".st-key-playbooks-tier-plan button")
    for index in range(1, tiers.count()):
        chosen = tiers.nth(index)
        app.act(chosen.click, until=State(f"tier {index + 1} chosen",
                                          lambda b=chosen: b.get_attribute("aria-checked") == "true"))
        app.page.wait_for_timeout(300)  # the grids lay their columns out after the run
        assert not _sideways(app), f"tables scroll sideways at 1440 px ({lang}, tier {index + 1}): {_sideways(app)}"
    assert not app.page_errors, app.page_errors[:5]

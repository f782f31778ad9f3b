"""The Timeline page as a review meeting sees it: the Gantt drawn at 1440 px, in English and 简体中文.

Why: the chart is a canvas the AppTest never draws; only a browser shows whether
task names fit their column, whether the overdue markers and their legend appear,
and whether the Chinese page says 第1周 instead of W1. Screenshots go to
``tests/artifacts/screenshots/timeline_chart_<lang>.png`` for a human to look at.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from lib.i18n import t

from .driver import SCREENSHOT_DIR, AppPage

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_timeline_chart_is_drawn_with_translated_weeks(app: AppPage, lang):
    app.open("/timeline", lang=lang)
    app.assert_healthy()
    chart = app.main.locator('[data-testid="stVegaLiteChart"]').first
    expect(chart).to_be_visible()
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    assert box and box["width"] > 900 and box["height"] > 500, f"the Gantt is too small to read: {box}"
    cards = app.metrics()
    for key in ("timeline.ui.metric_done", "timeline.ui.metric_overdue", "timeline.ui.metric_behind"):
        assert t(key, lang) in cards, f"the on-track summary is missing {t(key, lang)!r}: {cards}"
    text = app.app_text()
    if lang == "zh":
        # The budget line and every other week header on the Chinese page speak Chinese.
        assert "W1" not in text and "W13" not in text, "English week headers on the Chinese page"
    app.screenshot(f"timeline_{lang}_1440")
    chart.scroll_into_view_if_needed()
    chart.screenshot(path=str(SCREENSHOT_DIR / f"timeline_chart_{lang}.png"), animations="disabled")
    assert t("timeline_page.title", lang) in app.heading()
    assert not app.page_errors, app.page_errors[:5]

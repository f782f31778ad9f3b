"""The Timeline page as a review meeting sees it: the Gantt drawn at 1440 px, in English and 简体中文.

Why: the chart is a canvas the AppTest never draws; only a browser shows whether
task names fit their column, whether the overdue markers and their legend appear,
and whether the Chinese page says 第1周 instead of W1. Screenshots go to
``tests/artifacts/screenshots/timeline_chart_<lang>.png`` for a human to look at.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image
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
    # Nothing clipped at 1440 px: the drawn chart (labels, legends, anchor names) fits inside its element.
    drawn = chart.locator("canvas, svg.marks").first
    drawn_box = drawn.bounding_box()
    assert drawn_box and drawn_box["width"] <= box["width"] + 1, f"the Gantt is wider than its column: {drawn_box}"
    assert drawn_box["height"] <= box["height"] + 1, f"the Gantt is cut at the bottom: {drawn_box} in {box}"
    assert chart.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), "the Gantt scrolls sideways"
    app.screenshot(f"timeline_{lang}_1440")
    # The chart is taller than the 900 px window in English: a window as tall as the chart photographs all of it.
    viewport = app.page.viewport_size or {"width": 1440, "height": 900}
    app.page.set_viewport_size({"width": viewport["width"], "height": max(viewport["height"], int(box["height"]) + 40)})
    chart.scroll_into_view_if_needed()
    shot = chart.screenshot(path=str(SCREENSHOT_DIR / f"timeline_chart_{lang}.png"), animations="disabled")
    app.page.set_viewport_size(viewport)
    top_rows = Image.open(io.BytesIO(shot)).convert("L").crop((0, 0, int(box["width"]), 2))
    assert top_rows.getextrema()[0] > 200, "the chart's title touches the top edge: its glyphs are cut"
    # The task table shows weeks the reader's way (W3 / 第3周) and keeps them numbers to edit.
    expander = app.main.get_by_text(t("timeline_page.edit", lang), exact=True)
    expander.click()
    grid = app.main.locator('[data-testid="stDataFrame"]').first
    expect(grid).to_be_visible()
    grid.scroll_into_view_if_needed()
    app.page.wait_for_timeout(500)
    grid.screenshot(path=str(SCREENSHOT_DIR / f"timeline_editor_{lang}.png"), animations="disabled")
    assert t("timeline_page.title", lang) in app.heading()
    assert not app.page_errors, app.page_errors[:5]


def test_a_start_week_of_20_typed_in_the_editor_is_reported_not_clamped(app: AppPage):
    """The original bug: the editor's max_value clamped 20 to 13 and the chart vanished."""
    app.open("/timeline", lang="en")
    app.main.get_by_text(t("timeline_page.edit", "en"), exact=True).click()
    grid = app.main.locator('[data-testid="stDataFrame"]').first
    expect(grid).to_be_visible()
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box
    app.page.mouse.click(box["x"] + 60, box["y"] + 35 + 17)  # P1's ID cell (first data row, under the header)
    for _ in range(6):  # ID → Task → Phase → Owner → Channel → Tier → Start week
        app.page.keyboard.press("ArrowRight")
    app.page.keyboard.type("2")  # a first key opens the cell's editor (the grid may swallow it)
    app.page.wait_for_timeout(300)
    app.page.keyboard.press("ControlOrMeta+a")
    app.page.keyboard.type("20")
    app.page.wait_for_timeout(300)
    grid.screenshot(path=str(SCREENSHOT_DIR / "timeline_typing_20_en.png"))
    reported = app.main.locator('[data-testid="stAlert"]').filter(has_text=t("timeline.ui.has_errors", "en", count=2))
    app.act(lambda: app.page.keyboard.press("Enter"),  # the editor commits, then the app reruns
            until=app.shows(reported, "the editor's two problems reported"))
    app.assert_healthy()
    alerts = " ".join(a.inner_text() for a in app.main.locator('[data-testid="stAlert"]').all())
    # Two problems: the week is outside the plan, and P1 now ends (week 2) before it starts.
    assert t("timeline.ui.has_errors", "en", count=2) in alerts, alerts
    text = app.main.inner_text()
    assert "is 20, outside weeks 1–13" in text, "the week the user typed is quoted, not clamped to 13"
    assert "ends in week 2, before it starts (week 20)" in text
    assert t("timeline.ui.left_out", "en", tasks="P1", count=25) in text
    chart = app.main.locator('[data-testid="stVegaLiteChart"]').first
    expect(chart).to_be_visible()
    chart.scroll_into_view_if_needed()
    app.screenshot("timeline_start_week_20_en")

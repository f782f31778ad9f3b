"""An analyst downloads the segment workbook; a team walks the review story on a projector.

Why: downloads go through Streamlit's media endpoint, which AppTest cannot reach,
and presentation mode is judged by how it looks at 1920×1080 in both languages.
"""

from __future__ import annotations

import zipfile

import openpyxl
import pytest

from lib.i18n import t

from .driver import SCREENSHOT_DIR, AppPage

pytestmark = pytest.mark.browser


def test_the_segment_workbook_downloads_and_opens(app: AppPage, tmp_path):
    app.open("/segments", lang="en")
    label = t("segments_page.export_xlsx", "en")
    prepare = app.main.get_by_role("button", name=t("export.prepare", "en", what=label))
    prepare.scroll_into_view_if_needed()
    offered = app.main.locator('[data-testid="stDownloadButton"]').filter(has_text=label)
    app.act(prepare.click, until=app.shows(offered, "the workbook's download button"),
            timeout_ms=180_000)  # builds the workbook, then offers it
    button = app.main.get_by_role("button", name=label)
    button.scroll_into_view_if_needed()
    with app.page.expect_download(timeout=60_000) as download_info:
        button.click()
    target = tmp_path / "segments.xlsx"
    download_info.value.save_as(target)
    book = openpyxl.load_workbook(target, read_only=True)
    names = book.sheetnames
    assert names[0] == "About" and len(names) >= 3, names
    with zipfile.ZipFile(target) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name), f"a formula in {name}"
    app.assert_healthy()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_story_view_at_projector_size(app: AppPage, lang: str):
    app.page.set_viewport_size({"width": 1920, "height": 1080})
    for view in range(1, 7):
        app.open("/present", lang=lang, view=str(view))
        app.assert_healthy()
        assert app.main.locator('[data-testid="stMetricValue"]').count() >= 2, "large key numbers"
        assert not app.page.locator('[data-testid="stSidebar"]').is_visible(), "no sidebar on the projector"
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        app.page.screenshot(path=str(SCREENSHOT_DIR / f"present_{view}_{lang}.png"))  # the projector's view

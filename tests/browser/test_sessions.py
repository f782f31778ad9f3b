"""Two people on one team instance at once, and a forged upload: what is shared and what is not.

Why: the workspace (datasets, scenarios, plans) is shared by design, like a team
BI tool, but what one person is doing — a file staged for import, its check
report, the language they read in — belongs to their browser session alone. Two
browser contexts stage different files side by side; neither may see the
other's, and the dataset one of them imports reaches the other on their next
page load, complete. An upload that does not come from the app's own page (no
XSRF cookie and header) is refused by the server.
"""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from lib.i18n import t

from .driver import AppPage, new_app_page
from .test_upload import ORDER_COUNT, check, chinese_order_export, confirm_import, upload

pytestmark = pytest.mark.browser


def _stage(app: AppPage, name: str, seed: int, lang: str) -> None:
    """Open the Data page, choose a file and check it (staged, not imported)."""
    app.open("/data", lang=lang)
    upload(app, f"{name}.csv", chinese_order_export(seed).data)
    check(app, lang)
    app.assert_healthy()


def test_staged_uploads_and_language_stay_private_while_imports_are_shared(app: AppPage, playwright_browser, server):
    other, context = new_app_page(playwright_browser, server)
    try:
        _stage(app, "a_staged_orders", seed=1, lang="en")
        _stage(other, "b_staged_orders", seed=2, lang="zh")
        mine, theirs = app.main.inner_text(), other.main.inner_text()
        assert "a_staged_orders" in mine and "b_staged_orders" not in mine, "A sees B's staged file"
        assert "b_staged_orders" in theirs and "a_staged_orders" not in theirs, "B sees A's staged file"
        assert app.heading() == t("nav.data", "en") or app.heading().isascii(), "A reads English"
        assert not other.heading().isascii(), "B reads Chinese"

        confirm = app.main.locator("button").filter(has_text="“a_staged_orders”").filter(visible=True)
        expect(confirm).to_have_count(1)
        confirm_import(app, confirm)
        expect(app.main.locator('[data-testid="stAlertContentSuccess"]').first).to_be_visible()
        assert "a_staged_orders" in app.sidebar_dataset()

        # B's staged file and report are untouched by A's import, and B still reads Chinese.
        # B's own next run: B checks the staged file again. (Streamlit's "r" shortcut proved unreliable
        # from a background browser context: the key press sometimes starts no run.)
        check(other, "zh")  # the report is on screen already: the wait is for B's new run to finish
        other.assert_healthy()
        assert "b_staged_orders" in other.main.inner_text(), "B's staged upload was lost when A imported"
        assert not other.heading().isascii()
        # On B's next page load the shared dataset is there, complete.
        other.open("/", lang="zh", dataset="a_staged_orders")
        other.assert_healthy()
        assert "a_staged_orders" in other.sidebar_dataset()
        orders = other.metrics().get(t("kpi.orders", "zh"), "")
        assert orders and orders != "0", f"the imported dataset reached B incomplete: {other.metrics()}"
        assert ORDER_COUNT >= int(orders.replace(",", "")) > 0
    finally:
        context.close()


def test_an_upload_without_the_xsrf_token_is_refused(server):
    body = (b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n"
            b"Content-Type: text/csv\r\n\r\na,b\r\n1,2\r\n--x--\r\n")
    request = urllib.request.Request(
        f"{server.base_url}/_stcore/upload_file/forged-session/forged-file", data=body, method="PUT",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403

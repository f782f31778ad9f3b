"""Importing orders through the Data page in a real browser, and seeing the overview change.

Why: the upload goes through Streamlit's upload endpoint, the file chooser, reruns
and a confirm step that AppTest only imitates. A marketing lead's path is: choose
an export with Chinese headers, check it, confirm, open the overview and see their
own numbers. A file that is not a table (a PNG renamed .csv) must get one clear
sentence, never a traceback. Screenshots of every step go to tests/artifacts/screenshots/.
"""

from __future__ import annotations

import random
import re
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import pytest
from playwright.sync_api import expect

from lib import formatting
from lib.i18n import t
from lib.importing.sample_store import SAMPLE_DATASET_NAME, SAMPLE_ORDERS_PATH

from .driver import FIRST_LOAD_TIMEOUT_MS, AppPage

pytestmark = pytest.mark.browser

DATA_PAGE = "/data"
NEW_DATASET = "天猫十月订单"
ORDER_COUNT = 50
REFUND_COUNT = 2


@dataclass
class OrderFile:
    name: str
    data: bytes
    purchases: int  # orders that count: the refunded ones are exported with their final status
    gmv: float  # every order placed, refunded or not
    net_sales: float  # the orders that were not refunded


def _sample_last_day() -> datetime:
    stamps = pd.read_csv(SAMPLE_ORDERS_PATH, usecols=["付款时间"])["付款时间"]
    return pd.to_datetime(stamps).max().to_pydatetime()


def chinese_order_export(seed: int = 7) -> OrderFile:
    """~50 orders as a Chinese shop back-office exports them, dated after the sample store ends."""
    rng = random.Random(seed)
    start = _sample_last_day().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    buyers = [f"tm{rng.randrange(10**7, 10**8)}" for _ in range(30)]
    refunds = set(rng.sample(range(ORDER_COUNT), REFUND_COUNT))
    lines = ["订单编号,买家ID,付款时间,实付金额,渠道,订单状态"]
    gmv = net_sales = 0.0
    for index in range(ORDER_COUNT):
        when = start + timedelta(days=index * 20 / ORDER_COUNT, minutes=rng.randrange(0, 600))
        amount = round(rng.uniform(39, 599), 2)
        status = "已退款" if index in refunds else "交易成功"
        gmv += amount
        if index not in refunds:
            net_sales += amount
        order_id = f"{when:%Y%m%d}{rng.randrange(10**9, 10**10)}"  # 18 digits, as Tmall's are
        channel = rng.choice(["天猫", "抖音", "小红书"])
        lines.append(f"{order_id},{rng.choice(buyers)},{when:%Y-%m-%d %H:%M:%S},{amount:.2f},{channel},{status}")
    data = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")  # Excel's "CSV UTF-8": with a BOM
    return OrderFile(f"{NEW_DATASET}.csv", data, ORDER_COUNT - REFUND_COUNT, gmv, net_sales)


def tiny_png() -> bytes:
    """A real 1×1 PNG image."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xe4\x57\x2e"))
            + chunk(b"IEND", b""))


def upload(app: AppPage, name: str, data: bytes, mime: str = "text/csv") -> None:
    """Choose a file in the visible tab's uploader, as a user does through the file dialog.

    Done when the page answers the file: with its "Check" button (in either language) or an error.
    """
    dropzone = app.main.locator('[data-testid="stFileUploaderDropzone"]').filter(visible=True).first
    expect(dropzone).to_be_visible()
    with app.page.expect_file_chooser() as chooser:
        dropzone.click()
    answered = app.main.locator('[data-testid="stAlertContentError"]').or_(
        button(app, t("data.check", "en"))).or_(button(app, t("data.check", "zh")))
    app.act(lambda: chooser.value.set_files(files=[{"name": name, "mimeType": mime, "buffer": data}]),
            until=app.shows(answered, f"the page's answer to {name}: its check button or an error"))


def button(app: AppPage, label: str):
    return app.main.locator("button").filter(has_text=label).filter(visible=True)


def check(app: AppPage, lang: str) -> None:
    """Click "Check" on the Data page; done when the report's "rows read" card is drawn by the run it starts."""
    report = app.main.locator('[data-testid="stMetricLabel"]').filter(has_text=t("data.rows_read", lang))
    app.act(button(app, t("data.check", lang)).click, until=app.shows(report, "the check's report"))


def confirm_import(app: AppPage, confirm) -> None:
    """Click the import's confirm button; done when the success (or an error) message is drawn."""
    outcome = app.main.locator('[data-testid="stAlertContentSuccess"], [data-testid="stAlertContentError"]')
    app.act(confirm.click, until=app.shows(outcome, "the import's outcome message"), timeout_ms=FIRST_LOAD_TIMEOUT_MS)


def test_upload_chinese_orders_and_see_the_overview_change(app: AppPage):
    lang = "zh"
    export = chinese_order_export()

    app.open("/", lang=lang, dataset=SAMPLE_DATASET_NAME)
    app.assert_healthy()
    sample_kpis = app.metrics()
    sample_note = t("sample.banner", lang).split("{name}")[-1].replace("*", "").strip()[:8]
    assert sample_note in app.main.inner_text(), "the overview does not say it shows the sample store"
    assert sample_kpis.get(t("kpi.orders", lang)), f"no orders KPI on the overview: {sample_kpis}"

    app.act(app.nav_link(t("nav.data", lang)).click, until=app.on_page(t("nav.data", lang), {DATA_PAGE}))
    assert app.path() == DATA_PAGE
    app.assert_healthy()
    app.screenshot("upload_1_data_page_zh")

    upload(app, export.name, export.data)
    app.assert_healthy()
    expect(button(app, t("data.check", lang))).to_be_visible()
    app.screenshot("upload_2_file_chosen_zh")

    check(app, lang)
    app.assert_healthy()
    report = app.metrics()
    assert report[t("data.rows_read", lang)] == formatting.count(ORDER_COUNT, lang), report
    assert report[t("data.rows_accepted", lang)] == formatting.count(ORDER_COUNT, lang), report
    assert report[t("data.rows_rejected", lang)] == "0", report
    app.screenshot("upload_3_report_zh")

    confirm_label = t("data.confirm.new", lang, count=formatting.count(export.purchases, lang),
                      unit=t("data.unit.orders", lang),
                      name=NEW_DATASET)
    confirm = button(app, confirm_label)
    expect(confirm).to_have_count(1)
    confirm_import(app, confirm)
    app.assert_healthy()
    expect(app.main.locator('[data-testid="stAlertContentSuccess"]').first).to_be_visible()
    assert NEW_DATASET in app.sidebar_dataset()
    app.screenshot("upload_4_imported_zh")

    app.act(app.nav_link(t("nav.overview", lang)).click, until=app.on_page(t("nav.overview", lang)))
    app.assert_healthy()
    assert NEW_DATASET in app.sidebar_dataset(), "the overview does not show the imported dataset"
    assert app.query().get("dataset") == NEW_DATASET
    new_kpis = app.metrics()
    app.screenshot("upload_5_overview_zh")
    assert new_kpis != sample_kpis, "the KPI cards did not change after the import"
    assert new_kpis[t("kpi.orders", lang)] == formatting.count(export.purchases, lang), new_kpis
    assert new_kpis[t("kpi.gmv", lang)] == formatting.money_compact(export.gmv, lang), new_kpis
    assert new_kpis[t("kpi.net_sales", lang)] == formatting.money_compact(export.net_sales, lang), new_kpis
    assert sample_note not in app.main.inner_text(), "the overview still says it shows the sample store"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_image_renamed_csv_gets_a_clear_message(app: AppPage, lang):
    app.open(DATA_PAGE, lang=lang)
    upload(app, "chart.csv", tiny_png())
    app.assert_healthy()
    error = app.main.locator('[data-testid="stAlertContentError"]').filter(visible=True)
    expect(error).to_have_count(1)
    opening = t("import.error.not_a_table", lang).split("{")[0].strip(" (（")
    assert opening in error.inner_text(), f"unexpected message: {error.inner_text()!r}"
    expect(button(app, t("data.check", lang))).to_have_count(0)
    app.screenshot(f"upload_not_a_table_{lang}")


def test_the_not_a_table_message_is_all_chinese(app: AppPage):
    app.open(DATA_PAGE, lang="zh")
    upload(app, "chart.csv", tiny_png())
    message = app.main.locator('[data-testid="stAlertContentError"]').filter(visible=True).inner_text()
    english_words = re.findall(r"\b[a-z]{3,}\b", message)  # format names (CSV, XLSX, Parquet) are capitalised
    assert not english_words, f"English in a Chinese error message: {message!r}"

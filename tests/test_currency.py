"""A currency per dataset: chosen once, used by every page, export, the review pack and the CLI.

A store that sells in pounds must never see ¥ anywhere; a change of currency must not
leave a cached page or chart in the old one.
"""

from __future__ import annotations

import io
import json

import pytest
from streamlit.testing.v1 import AppTest

from lib import formatting
from lib.i18n import t
from lib.workspace import Workspace, WorkspaceError
from tests.test_app_pages import APP, TIMEOUT, assert_clean


def test_money_follows_the_currency_in_use_and_goes_back_after_the_block():
    assert formatting.money(1234.5, "en") == "¥1,234"
    with formatting.use_currency("gbp"):
        assert formatting.money(1234.5, "en") == "£1,234"
        assert formatting.money(12.5, "en") == "£12.50"
        assert formatting.money_compact(5.6e6, "en") == "£5.60M"
        assert formatting.money(123456, "zh") == "£12.3万"
        assert formatting.money_column_options(2) == {"format": "£%,.2f"}
        assert t("channels_page.next_1000", "en", channel="Douyin", gain="3", unit="orders").startswith("The next £1,000")
        with formatting.use_currency("JPY"):
            assert formatting.money(12.5, "en") == "¥12" and formatting.money_column_options(2) == {"format": "yen", "step": 1.0}
    assert formatting.money(12.5, "en") == "¥12.50"
    assert formatting.normalize_currency("xyz") == "CNY"


def test_money_columns_put_the_sign_before_the_symbol_where_a_preset_can():
    """Streamlit's printf formats draw -103104 as "¥-103,104"; its Intl presets draw "-¥103,104"."""
    assert formatting.money_column_options(2) == {"format": "yen", "step": 0.01}  # CNY shares JPY's "¥"
    assert formatting.money_column_options(0) == {"format": "yen", "step": 1.0}
    with formatting.use_currency("USD"):
        assert formatting.money_column_options(2) == {"format": "dollar", "step": 0.01}
    with formatting.use_currency("EUR"):
        assert formatting.money_column_options(0)["format"] == "euro"


@pytest.mark.parametrize("samples, expected", [
    (["£12.00", "£3", "4"], "GBP"), (["$1,234.50", "US$3"], "USD"), (["€ 3,00", "€4"], "EUR"),
    (["1,234.50", "88"], None), (["¥88", "$3", "£4"], None), (["HK$120", "HK$8"], "HKD"),
])
def test_the_currency_is_guessed_from_the_amount_texts(samples, expected):
    assert formatting.guess_currency(samples) == expected


def test_a_dataset_keeps_its_currency_and_its_cache_key_follows_it(ws):
    with ws.transaction() as cur:
        ds = ws.ensure_dataset(cur, "UK shop")
    before = ws.get_dataset("UK shop")
    assert before.currency == "CNY"
    assert ws.set_currency(ds, "gbp") == "GBP"
    after = ws.get_dataset("UK shop")
    assert after.currency == "GBP" and after.cache_key != before.cache_key
    with pytest.raises(WorkspaceError):
        ws.set_currency(ds, "pounds")
    assert ws.get_dataset("UK shop").currency == "GBP"


@pytest.fixture
def pounds(app_env):
    ws = Workspace(app_env)
    try:
        ws.set_currency(ws.get_dataset("Sample store").dataset_id, "GBP")
    finally:
        ws.close()
    return app_env


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/scenarios.py", "pages/channels.py"])
def test_every_amount_on_a_page_is_in_the_datasets_currency(pounds, page):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    if page != "pages/overview.py":
        at.switch_page(page).run()
    assert_clean(at)
    shown: list[object] = []
    # The Channels tabs are drawn only while open: look at every one.
    tabs = ([t(k, "en") for k in ("channels_page.tab.performance", "channels_page.tab.split",
                                  "channels_page.tab.optimiser")] if page == "pages/channels.py" else [None])
    for tab in tabs:
        if tab is not None:
            at.session_state["channels.tab"] = tab
            at.run()
            assert_clean(at)
        shown += [m.value for m in at.metric] + [m.value for m in at.markdown] + [m.value for m in at.subheader]
        shown += [c.value for c in at.caption]
    text = " ".join(str(s) for s in shown)
    assert "£" in text
    assert "¥" not in text, [s for s in shown if "¥" in str(s)][:3]


def test_the_review_pack_and_the_cli_use_the_datasets_currency(pounds, tmp_path, capsys):
    from openpyxl import load_workbook

    from lib import cli
    from lib import review as review_pack

    ws = Workspace(pounds)
    try:
        ds = ws.get_dataset("Sample store").dataset_id
        views = review_pack.story(ws, ds, "en")
        headlines = " ".join(v.headline for v in views)
        assert "£" in headlines and "¥" not in headlines
        book = load_workbook(io.BytesIO(review_pack.review_workbook(ws, ds, "zh")))
        cells = " ".join(str(c.value) for sheet in book for row in sheet.iter_rows() for c in row if c.value)
        assert "£" in cells and "¥" not in cells
    finally:
        ws.close()
    assert formatting.current_currency() == "CNY", "the pack leaves the thread's currency as it was"
    assert cli.main(["scenario", "--dataset", "Sample store", "--json", "--db", str(pounds)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "£" in out["headline"] and "¥" not in out["headline"]
    assert formatting.current_currency() == "CNY", "nothing leaves the process in another currency"
    assert cli.main(["datasets", "--json", "--db", str(pounds)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["currency"] == "GBP"

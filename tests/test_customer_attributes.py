"""An order file's extra columns are kept per customer and carried, formula-safe, into the segment lists and exports."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date

import pytest

from lib.importing import attributes as CA
from lib import segments as S
from lib.importing import import_file
from lib.workspace import Workspace
from tests.test_exports import assert_no_formula

HEADER = "订单号,买家ID,付款时间,实付金额,邮箱,手机,会员等级,地区"
ROWS = [
    "1,c1,2024-01-01 10:00,10,old@x.com,+8613800000000,金卡,上海",
    "2,c1,2024-02-01 10:00,20,,+8613900000000,,",           # empty cells never overwrite a value
    '3,c2,2024-01-05 10:00,30,"=HYPERLINK(""http://evil"",""x"")",,银卡,北京',
    "4,c3,2024-01-06 10:00,40,c3@x.com,@SUM(A1),,",
    "5,,2024-01-07 10:00,50,guest@x.com,,,",                 # a guest: no customer, nothing kept
]


def _csv(rows: list[str]) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


def _attrs(ws: Workspace) -> dict[tuple[str, str], str]:
    return {(c, n): v for c, n, v in ws.query_rows("SELECT customer_id, name, value FROM customer_attributes")}


def test_unmapped_columns_are_kept_with_each_customers_latest_non_empty_value(ws):
    report = import_file(ws, _csv(ROWS), "crm.csv", "orders", "Shop")
    assert report.stats["attribute_columns"] == ["邮箱", "手机", "会员等级", "地区"]
    kept = _attrs(ws)
    assert kept[("c1", "邮箱")] == "old@x.com"            # the later order had no e-mail
    assert kept[("c1", "手机")] == "+8613900000000"        # the later order's phone wins
    assert kept[("c1", "会员等级")] == "金卡" and kept[("c1", "地区")] == "上海"
    assert kept[("c2", "邮箱")] == '=HYPERLINK("http://evil","x")'  # stored exactly; exports neutralise
    assert not any(c is None or c == "" for c, _ in kept)
    assert CA.names(ws, ws.get_dataset("Shop").dataset_id) == ["邮箱", "手机", "会员等级", "地区"]


def test_append_updates_newer_values_and_replace_starts_over(ws):
    import_file(ws, _csv(ROWS[:2]), "a.csv", "orders", "Shop")
    import_file(ws, _csv(["9,c1,2024-03-01 10:00,5,new@x.com,,钻石卡,"]), "b.csv", "orders", "Shop", mode="append")
    kept = _attrs(ws)
    assert kept[("c1", "邮箱")] == "new@x.com" and kept[("c1", "会员等级")] == "钻石卡"
    assert kept[("c1", "手机")] == "+8613900000000"  # not in the new file's row: kept
    import_file(ws, b"order_id,customer_id,order_time,amount\n1,c1,2024-01-01,10\n", "plain.csv", "orders", "Shop",
                mode="replace")
    assert _attrs(ws) == {}


def test_a_failed_import_keeps_no_attributes_and_no_orders(ws, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    before = ws.table_counts()
    monkeypatch.setattr(CA, "commit", broken)  # fails inside the import's transaction
    with pytest.raises(RuntimeError):
        import_file(ws, _csv(ROWS), "crm.csv", "orders", "Shop")
    assert ws.table_counts() == before


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_segment_csv_and_workbook_append_the_attributes_formula_safe(ws, lang):
    import_file(ws, _csv(ROWS), "crm.csv", "orders", "Shop")
    ds = ws.get_dataset("Shop").dataset_id
    rows = {r[next(iter(r))]: r for r in _rows(S.segment_csv(ws, ds, as_of=date(2024, 2, 1), lang=lang))}
    header = list(next(iter(rows.values())))
    assert header[-4:] == ["邮箱", "手机", "会员等级", "地区"]  # after the standard columns, in file order
    assert rows["c1"]["邮箱"] == "old@x.com" and rows["c1"]["地区"] == "上海"
    assert rows["c1"]["手机"] == "'+8613900000000"            # a leading + is neutralised, digits intact
    assert rows["c2"]["邮箱"] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert rows["c3"]["手机"] == "'@SUM(A1)" and rows["c3"]["会员等级"] == ""

    data = S.segment_workbook(ws, ds, as_of=date(2024, 2, 1), lang=lang)
    assert_no_formula(data)
    book = zipfile.ZipFile(io.BytesIO(data))
    sheets = "".join(book.read(n).decode() for n in book.namelist() if n.startswith("xl/worksheets/sheet"))
    styles = book.read("xl/styles.xml").decode()
    xfs = re.findall(r"<xf [^>]*>", styles.split("<cellXfs")[1].split("</cellXfs>")[0])
    for payload in ('=HYPERLINK("http://evil","x")', "@SUM(A1)", "+8613900000000"):
        style = re.search(r'<c r="\w+" s="(\d+)" t="inlineStr"><is><t>' + re.escape(payload), sheets)
        assert style and 'quotePrefix="1"' in xfs[int(style.group(1))], payload  # shown as text, never evaluated
    assert "=HYPERLINK(\"http://evil\",\"x\")" in sheets and "+8613900000000" in sheets
    assert "<t>邮箱</t>" in sheets and "<t>地区</t>" in sheets


def test_one_tier_csv_and_the_cli_export_carry_the_attributes(ws, tmp_path):
    import_file(ws, _csv(ROWS), "crm.csv", "orders", "Shop")
    ds = ws.get_dataset("Shop").dataset_id
    tiers = S.segment_customers(ws, ds, None, date(2024, 2, 1))
    tier = str(tiers.loc[tiers["customer_id"] == "c1", "tier"].iloc[0])
    only = _rows(S.segment_csv(ws, ds, as_of=date(2024, 2, 1), group=tier))
    assert {r["Customer ID"] for r in only} == set(tiers.loc[tiers["tier"] == tier, "customer_id"])
    assert all("邮箱" in r for r in only)
    counts = S.export_segment_csv(ws, ds, tmp_path / "all.csv", as_of=date(2024, 2, 1))
    assert sum(counts.values()) == 3 and "会员等级" in (tmp_path / "all.csv").read_text(encoding="utf-8-sig")


def test_a_dataset_without_extra_columns_exports_the_standard_columns_only(ws):
    import_file(ws, b"order_id,customer_id,order_time,amount\n1,c1,2024-01-01,10\n", "plain.csv", "orders", "Shop")
    ds = ws.get_dataset("Shop").dataset_id
    header = S.segment_csv(ws, ds).decode("utf-8-sig").splitlines()[0]
    assert header.endswith('"M score"') and CA.names(ws, ds) == []


def test_the_data_page_says_which_columns_are_kept_and_segments_offers_one_click_tier_csvs(app_env):
    from streamlit.testing.v1 import AppTest

    from tests.test_app_pages import APP, TIMEOUT, assert_clean

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"] = "zh"
    at.run()
    at.switch_page("pages/data.py").run()
    at.file_uploader[0].set_value(("crm.csv", _csv(ROWS), "text/csv")).run()
    assert_clean(at)
    assert any("保留为客户属性" in c.value and "手机" in c.value for c in at.caption)
    at.button(key="data.check.orders").click().run()
    assert_clean(at)
    assert any("保留为客户属性" in c.value and "3" in c.value for c in at.caption)
    at.button(key="data.confirm.orders").click().run()
    assert_clean(at)

    page = AppTest.from_file(APP, default_timeout=TIMEOUT)
    page.query_params["dataset"] = "Sample store"
    page.run()
    page.switch_page("pages/segments.py").run()
    assert_clean(page)
    # Closed, the row is not drawn: the browser fetches a download button's file as soon as it is shown.
    assert not [b for b in page.get("download_button") if b.proto.label.startswith("CSV: ")]
    page.session_state["segments.group_downloads"] = True  # the user opens "One CSV per tier or segment"
    page.run()
    assert_clean(page)
    labels = [b.proto.label for b in page.get("download_button")]  # ready to click: no "prepare" step
    for tier in ("New", "Active", "Lapsing", "Dormant", "High-value"):
        assert f"CSV: {tier}" in labels, labels

"""Import path: encodings, garbage, value formats, line-level orders, refunds, reports, mappings.

Why: the importer is where a user's real export first meets the product. Each test
feeds a small file built in ``tests/fixtures.py`` through the same functions the
Data page and the CLI call, and checks what the user would see: the headers and
values that arrive, the error they get, the rows that are turned away and why, and
that a refused file leaves the workspace exactly as it was.
"""

from __future__ import annotations

import gzip
import io
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib import importing
from lib.i18n import t
from lib.importing import (
    ImportFailed,
    commit_import,
    decode_text,
    detect_wide_columns,
    import_file,
    normalize_headers,
    parse_datetimes,
    parse_money,
    prepare_channels,
    prepare_orders,
    read_table,
    suggest_mapping,
)
import fixtures as fx
from conftest import ROBYN_PATH, require

# What each encoding of the fixture must be reported as. GBK is read as its
# superset GB18030; nothing is ever reported (or decoded) as Latin-1.
EXPECTED_ENCODING = {
    "utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gbk": "gb18030", "gb18030": "gb18030",
    "utf-16": "utf-16", "utf-16-le": "utf-16-le", "utf-16-be": "utf-16-be",
}


def seed_workspace(ws) -> dict[str, int]:
    """A workspace that already holds one dataset, so "unchanged" means something."""
    with ws.transaction() as cur:
        dataset_id = ws.ensure_dataset(cur, "Seed")
        cur.execute(
            "INSERT INTO orders (dataset_id, order_id, customer_id, order_ts, amount, quantity, channel, status, is_refund) SELECT ?, 'S' || i, 'c1', TIMESTAMP '2024-03-01', 10, NULL, NULL, NULL, FALSE "
            "FROM range(1, 4) t(i)", [dataset_id])
    counts = ws.table_counts()
    assert counts["orders"] == 3 and counts["datasets"] == 1
    return counts


def prepared_orders(data: bytes, name: str = "orders.csv", mapping: dict | None = None):
    raw = read_table(data, name)
    return prepare_orders(raw, mapping or suggest_mapping(raw.columns, "orders"))


# --------------------------------------------------------------------------
# Encodings
# --------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", fx.TEXT_ENCODINGS)
def test_every_encoding_gives_the_exact_chinese_headers_and_values(encoding):
    raw = read_table(fx.chinese_orders_csv(encoding), "订单.csv")
    expected = fx.chinese_orders_rows(encoding)
    assert raw.columns == fx.CHINESE_ORDER_HEADERS
    assert not any("\ufeff" in c for c in raw.columns)
    assert raw.encoding == EXPECTED_ENCODING[encoding]
    assert raw.frame.values.tolist() == expected[1:]  # "€", "𠀀" and "￥" survive


def test_windows_gbk_euro_sign_is_read_as_euro():
    # Excel on Chinese Windows writes "€" as the single byte 0x80 (code page 936).
    data = fx.chinese_orders_csv("gbk")
    assert b"\x80" in data
    raw = read_table(data, "gbk.csv")
    assert raw.frame.iloc[0]["买家ID"] == "王小明€"


def test_short_gbk_file_decodes_as_gb18030():
    raw = read_table(fx.short_gbk_csv(), "short.csv")
    assert raw.encoding == "gb18030"
    assert raw.columns == ["姓名", "城市"]
    assert raw.frame.values.tolist() == [["张三", "北京"]]


def test_undecodable_bytes_are_refused_not_guessed():
    with pytest.raises(ImportFailed) as caught:
        read_table(fx.undecodable_csv(), "bad.csv")
    assert caught.value.code == "unknown_encoding"


def test_latin1_text_is_refused_rather_than_decoded_as_mojibake():
    data = "Name,City,Amount\nJosé,São Paulo,5\nRené,Zürich,6\n".encode("latin-1")
    with pytest.raises(ImportFailed) as caught:
        read_table(data, "latin1.csv")
    assert caught.value.code == "unknown_encoding"


@pytest.mark.parametrize("seed", range(8))
def test_random_bytes_never_decode_as_latin1(seed):
    try:
        _, encoding = decode_text(fx.random_bytes(2048, seed=seed))
    except ImportFailed as exc:
        assert exc.code in {"unknown_encoding", "not_a_table"}
    else:
        assert encoding in set(EXPECTED_ENCODING.values())


def test_gzipped_csv_is_read():
    raw = read_table(gzip.compress(fx.chinese_orders_csv("gb18030")), "orders.csv.gz")
    assert raw.columns == fx.CHINESE_ORDER_HEADERS
    assert raw.encoding == "gb18030"


# --------------------------------------------------------------------------
# Garbage and resource limits: a clear code and an untouched workspace
# --------------------------------------------------------------------------

GARBAGE = {
    "empty": (lambda: b"", "empty_file"),
    "blank lines": (lambda: b"\n \r\n\t\n", "empty_file"),
    "png renamed csv": (fx.png_renamed_csv, "not_a_table"),
    "jpeg": (lambda: b"\xff\xd8\xff\xe0" + fx.random_bytes(200), "not_a_table"),
    "pdf": (lambda: b"%PDF-1.7\n" + fx.random_bytes(200), "not_a_table"),
    "random bytes": (lambda: fx.random_bytes(4096, seed=3), "unknown_encoding"),
    "header only": (fx.header_only_csv, "no_rows"),
    "one column": (fx.one_column_csv, "one_column"),
    "text with NULs": (lambda: b"a,b\n1,\x002\n" * 20, "not_a_table"),
    "damaged gzip": (lambda: b"\x1f\x8b\x08\x00" + fx.random_bytes(100), "not_a_table"),
    "zip that is not a workbook": (lambda: _zip({"readme.txt": b"hello"}), "not_a_table"),
    "damaged zip": (lambda: b"PK\x03\x04" + fx.random_bytes(300), "not_a_table"),
    "damaged parquet": (lambda: b"PAR1" + fx.random_bytes(300), "not_a_table"),
    "billion laughs": (fx.billion_laughs_xlsx, "bomb"),
    "billion laughs behind a comment": (lambda: fx.billion_laughs_xlsx(comment_padding=5000), "bomb"),
    "only malformed rows": (lambda: b"a,b,c\n1,2\n3,4\n", "no_valid_rows"),
}


def _zip(members: dict[str, bytes]) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return out.getvalue()


@pytest.mark.parametrize("case", list(GARBAGE))
def test_garbage_gets_a_clear_code_and_changes_nothing(ws, case):
    build, code = GARBAGE[case]
    before = seed_workspace(ws)
    for kind in ("orders", "channels"):
        with pytest.raises(ImportFailed) as caught:
            import_file(ws, build(), "upload.csv", kind, "New data")
        assert caught.value.code == code, (case, kind, str(caught.value))
    assert ws.table_counts() == before
    assert [d.name for d in ws.list_datasets()] == ["Seed"]


def test_shared_strings_workbook_without_entities_is_read():
    # The billion-laughs fixture is a real workbook: without the DOCTYPE it loads.
    raw = read_table(fx.shared_strings_xlsx("你好"), "ok.xlsx")
    assert raw.frame.values.tolist() == [["1", "你好"]]


def test_zip_bomb_workbook_is_refused_before_it_is_opened(ws, monkeypatch):
    bomb = fx.zip_bomb_xlsx(600_000)
    assert len(bomb) < 20_000  # ~1:100 compression: it only looks small
    assert read_table(bomb, "fine.xlsx").frame.values.tolist() == [["1", "5", "2024-01-01"]]

    before = seed_workspace(ws)
    monkeypatch.setattr(importing.limits, "MAX_XLSX_UNCOMPRESSED", 500_000)
    opened = []
    monkeypatch.setattr("python_calamine.CalamineWorkbook.from_filelike", lambda *a, **k: opened.append(1))
    with pytest.raises(ImportFailed) as caught:
        import_file(ws, bomb, "bomb.xlsx", "orders", "Bomb")
    assert caught.value.code == "bomb"
    assert opened == []
    assert ws.table_counts() == before


def test_gzip_bomb_is_refused(monkeypatch):
    monkeypatch.setattr(importing.limits, "MAX_GZIP_UNCOMPRESSED", 10_000)
    packed = gzip.compress(b"order_id,amount\n" + b"1,2\n" * 10_000)
    with pytest.raises(ImportFailed) as caught:
        read_table(packed, "big.csv.gz")
    assert caught.value.code == "bomb"


def test_oversize_file_is_refused_with_its_size(monkeypatch):
    monkeypatch.setattr(importing.limits, "MAX_FILE_BYTES", 1_000_000)
    with pytest.raises(ImportFailed) as caught:
        read_table(b"a,b\n" + b"1,2\n" * 400_000, "big.csv")
    assert caught.value.code == "too_large"
    assert caught.value.params == {"size_mb": 2, "limit_mb": 1}


@pytest.mark.parametrize("case", list(GARBAGE) + ["missing field", "missing column", "conflict", "too large"])
def test_every_error_a_user_can_hit_reads_well_in_both_languages(case, ws, monkeypatch):
    if case == "missing field":
        error = _raised(lambda: prepare_orders(read_table(fx.orders_csv(["1"]), "o.csv"), {"amount": "amount"}))
    elif case == "missing column":
        error = _raised(lambda: prepare_orders(
            read_table(fx.orders_csv(["1"]), "o.csv"), {"order_time": "下单时间", "amount": "amount"}))
    elif case == "conflict":
        report = prepared_orders(fx.orders_csv(["X1"]))
        commit_import(ws, report, "Shop", mode="append")
        error = _raised(lambda: commit_import(ws, report, "Shop", mode="append"))
    elif case == "too large":
        monkeypatch.setattr(importing.limits, "MAX_FILE_BYTES", 10)
        error = _raised(lambda: read_table(b"a,b\n1,2\n3,4\n", "x.csv"))
    else:
        error = _raised(lambda: read_table(GARBAGE[case][0](), "x.csv"))
    for lang in ("en", "zh"):
        text = t(f"import.error.{error.code}", lang, **error.params)
        assert text != f"import.error.{error.code}", f"no {lang} message for {error.code}"
        assert "{" not in text and "Traceback" not in text
    assert "\n" not in str(error)


def _raised(action) -> ImportFailed:
    with pytest.raises(ImportFailed) as caught:
        action()
    return caught.value


# --------------------------------------------------------------------------
# Values: money, dates, ids
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("¥1,234.50", 1234.50), ("￥1,234.50", 1234.50), ("$1,234.50", 1234.50), ("1234.5元", 1234.5),
        ("(12.00)", -12.0), ("-12", -12.0), ("1.2万", 12000.0), ("3亿", 3e8), ("１２３４．５０", 1234.50),
        ("￥１，２３４", 1234.0), ("RMB 88", 88.0), (" 7 ", 7.0), ("0", 0.0),
    ],
)
def test_money_formats(text, value):
    assert parse_money(pd.Series([text])).iloc[0] == pytest.approx(value)


@pytest.mark.parametrize("text", ["abc", "", "12.3.4", "¥", "--5"])
def test_non_money_is_not_a_number(text):
    assert math.isnan(parse_money(pd.Series([text])).iloc[0])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-10-07", "2024-10-07 00:00"), ("2024/10/07", "2024-10-07 00:00"), ("2024年10月7日", "2024-10-07 00:00"),
        ("20241007", "2024-10-07 00:00"), ("10/7/2024 8:26", "2024-10-07 08:26"), ("12/1/2010 8:26", "2010-12-01 08:26"),
        ("2024-10-07T08:26:00Z", "2024-10-07 08:26"), ("2024-10-07T08:26:00.123+08:00", "2024-10-07 08:26"),
        ("2024-10-07 08:26:59", "2024-10-07 08:26"), ("2024年10月7日 20:05", "2024-10-07 20:05"),
    ],
)
def test_date_formats(text, expected):
    parsed = parse_datetimes(pd.Series([text])).iloc[0]
    assert parsed.strftime("%Y-%m-%d %H:%M") == expected


def test_placeholder_and_impossible_dates_are_rejected_not_fatal():
    rows = [["order_id", "order_date", "amount"], ["1", "9999-12-31", "5"], ["2", "000123", "5"],
            ["3", "2024-02-30", "5"], ["4", "1899-12-31", "5"], ["5", "2024-03-01", "5"]]
    report = prepared_orders(fx.csv_text(rows).encode())
    assert report.rejected[["line", "reason"]].values.tolist() == [
        [2, "bad_date"], [3, "bad_date"], [4, "bad_date"], [5, "bad_date"]]
    assert report.prepared["order_id"].tolist() == ["5"]


def test_mixed_date_formats_in_one_file_each_parse():
    values = pd.Series(["2024-10-07", "2024/10/08", "2024年10月9日", "20241010", "10/11/2024 8:26", "2024-10-12T01:02:03Z"])
    parsed = parse_datetimes(values)
    assert [d.day for d in parsed] == [7, 8, 9, 10, 11, 12]


def test_money_and_dates_arrive_through_a_file():
    rows = [["订单号", "付款时间", "实付金额"],
            ["1", "2024年10月7日", "¥1,234.50"], ["2", "2024/10/08", "$1,234.50"], ["3", "20241009", "1.2万"],
            ["4", "2024-10-10T08:00:00Z", "(12.00)"], ["5", "10/11/2024 8:26", "１２３"]]
    report = prepared_orders(fx.csv_text(rows).encode("gb18030"))
    got = report.prepared.set_index("order_id")
    assert got["amount"].to_dict() == {"1": 1234.5, "2": 1234.5, "3": 12000.0, "4": -12.0, "5": 123.0}
    assert [d.date().isoformat() for d in got["order_ts"]] == [
        "2024-10-07", "2024-10-08", "2024-10-09", "2024-10-10", "2024-10-11"]
    assert got.loc["4", "is_refund"]  # a negative amount is a refund


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "parquet"])
def test_ids_survive_as_identical_text(ws, file_format):
    header, *rows = fx.ID_FIDELITY_ROWS
    if file_format == "csv":
        data = fx.csv_text(fx.ID_FIDELITY_ROWS).encode("utf-8")
    elif file_format == "xlsx":
        data = fx.xlsx_bytes(fx.ID_FIDELITY_ROWS)
    else:
        data = fx.parquet_bytes(pd.DataFrame(rows, columns=header))
    raw = read_table(data, f"ids.{file_format}")
    assert raw.frame["sku"].tolist() == ["1E10", "00042"]
    report = prepare_orders(raw, suggest_mapping(raw.columns, "orders"))
    commit_import(ws, report, "Ids")
    stored = ws.query_rows("SELECT order_id, customer_id FROM orders ORDER BY order_ts")
    assert stored == [("123456789012345678", "000123"), ("987654321098765432", "0013800138000")]


def test_xlsx_numbers_come_out_as_plain_integers():
    rows = [["order_id", "customer_id", "sku", "order_date", "amount"],
            [100000000000001, 123, 1e10, "2024-10-07", 10.5],
            [42, 7, 3.0, "2024-10-08", 20]]
    raw = read_table(fx.xlsx_bytes(rows), "numbers.xlsx")
    assert raw.frame["order_id"].tolist() == ["100000000000001", "42"]
    assert raw.frame["sku"].tolist() == ["10000000000", "3"]
    assert raw.frame["amount"].tolist() == ["10.5", "20"]


def test_xlsx_dates_and_line_numbers():
    from datetime import datetime

    rows = [["订单编号", "买家ID", "付款时间", "实付金额"],
            ["A1", "u1", datetime(2024, 10, 7, 9, 30), 100],
            [None, None, None, None],
            ["A2", "u2", datetime(2024, 10, 8), "oops"]]
    raw = read_table(fx.xlsx_bytes(rows), "o.xlsx")
    assert raw.sheet == "订单"
    assert raw.line_numbers.tolist() == [2, 4]  # Excel row numbers, blank row skipped
    report = prepare_orders(raw, suggest_mapping(raw.columns, "orders"))
    assert report.prepared["order_ts"].iloc[0] == pd.Timestamp("2024-10-07 09:30")
    assert report.rejected[["line", "reason"]].values.tolist() == [[4, "bad_amount"]]


def test_parquet_with_typed_columns():
    frame = pd.DataFrame({
        "order_id": ["007", "123456789012345678"],
        "customer_id": ["c1", None],
        "order_ts": pd.to_datetime(["2024-10-07 08:00", "2024-10-08 09:00"]),
        "amount": [12.5, 30.0],
    })
    report = prepared_orders(fx.parquet_bytes(frame), "orders.parquet")
    assert report.prepared["order_id"].tolist() == ["007", "123456789012345678"]
    assert report.prepared["amount"].tolist() == [12.5, 30.0]
    assert report.stats["guest_orders"] == 1


# --------------------------------------------------------------------------
# Line-level files, refunds, guests
# --------------------------------------------------------------------------


def test_online_retail_lines_are_summed_per_invoice():
    report = prepared_orders(fx.online_retail_csv(), "Online Retail.csv")
    orders = report.prepared.set_index("order_id")
    assert report.stats["line_level"] is True and report.stats["lines"] == 9
    assert len(orders) == 7
    assert orders.loc["536365", "amount"] == pytest.approx(6 * 2.55 + 6 * 3.39)
    assert orders.loc["536365", "quantity"] == 12
    assert orders.loc["536544", "amount"] == pytest.approx(2.51 + 2 * 2.51)
    assert orders.loc["536365", "order_ts"] == pd.Timestamp("2010-12-01 08:26")


def test_online_retail_cancellations_are_refunds_not_purchases():
    report = prepared_orders(fx.online_retail_csv(), "Online Retail.csv")
    orders = report.prepared.set_index("order_id")
    refunds = orders[orders["is_refund"]]
    assert sorted(refunds.index) == ["C536379", "C536383"]
    assert (refunds["amount"] <= 0).all()
    assert refunds.loc["C536379", "amount"] == pytest.approx(-27.5)
    assert report.stats["refunds"] == 2
    assert report.stats["purchases"] == 5
    assert report.stats["revenue"] == pytest.approx(35.64 + 11.1 + 54.08 + 0 + 7.53)


def test_guests_and_zero_price_lines_are_kept_and_counted():
    report = prepared_orders(fx.online_retail_csv(), "Online Retail.csv")
    orders = report.prepared.set_index("order_id")
    assert orders.loc["536414", "amount"] == 0 and not orders.loc["536414", "is_refund"]
    assert orders.loc[["536414", "536544"], "customer_id"].isna().all()
    assert report.stats["guest_orders"] == 2
    assert report.stats["zero_amount"] == 1
    assert report.stats["customers"] == 2  # 17850 and 13047; guests and refunders are not customers


def test_committed_online_retail_counts_purchases_only(ws):
    from lib import kpis

    report = prepared_orders(fx.online_retail_csv(), "Online Retail.csv")
    dataset_id = commit_import(ws, report, "UK shop")
    (purchases, refunds, guests, negative_refunds) = ws.query_rows(
        "SELECT count(*) FILTER (NOT is_refund AND customer_id IS NOT NULL), count(*) FILTER (is_refund), "
        "count(*) FILTER (customer_id IS NULL), count(*) FILTER (is_refund AND amount <= 0) FROM orders"
    )[0]
    assert (purchases, refunds, guests, negative_refunds) == (3, 2, 2, 2)
    period = kpis.Period(pd.Timestamp("2010-12-01").date(), pd.Timestamp("2010-12-01").date())
    result = kpis.compute_kpis(ws, dataset_id, period)
    assert result.customers == 2
    assert result.orders == 4  # guests' orders are sales, refunds are not, nor the invoice that nets to zero
    assert result.refunds == pytest.approx(27.5 + 4.65)
    assert result.gmv - result.refunds == pytest.approx(result.net_sales)


def test_chinese_status_refunds_and_guests():
    report = prepared_orders(fx.chinese_status_csv(), "天猫.csv")
    orders = report.prepared.set_index("order_id")
    assert orders["is_refund"].to_dict() == {
        "A001": False, "A002": True, "A003": True, "A004": True, "A005": False, "A006": False}
    assert orders.loc["A002", "amount"] == -50.0  # 已退款: kept, made non-positive
    assert orders.loc["A003", "amount"] == -80.0  # 交易关闭
    assert orders.loc["A004", "amount"] == -30.0
    assert report.stats["guest_orders"] == 1 and report.stats["customers"] == 2
    assert report.stats["revenue"] == pytest.approx(230.0)


def test_c_prefix_is_not_a_cancellation_when_ids_are_not_numeric():
    rows = [["order_id", "order_date", "amount"], ["C100", "2024-01-01", "5"], ["C101", "2024-01-02", "6"]]
    report = prepared_orders(fx.csv_text(rows).encode())
    assert not report.prepared["is_refund"].any()


# --------------------------------------------------------------------------
# The rejected-rows report
# --------------------------------------------------------------------------

DIRTY_CSV = (
    "order_id,customer_id,order_date,amount\n"  # line 1: header
    "1,a,2024-01-01,10\n"                       # 2 ok
    "2,b,2024-13-01,10\n"                       # 3 bad date
    "3,c,2024-01-02,abc\n"                      # 4 bad amount
    "4,d,2024-01-02\n"                          # 5 short row
    "5,e,2024-01-02,5,extra\n"                  # 6 extra field
    "\n"                                        # 7 blank: not a data line
    "6,f,2024-01-03,7,,\n"                      # 8 ok (empty trailing cells)
    ",g,2024-01-03,7\n"                         # 9 no order id
    "7,h,,8\n"                                  # 10 no date
    "8,i,2024-01-04,9\n"                        # 11 ok
)


def test_rejected_rows_carry_file_line_numbers_and_reasons():
    report = prepared_orders(DIRTY_CSV.encode())
    rejected = report.rejected
    assert rejected["line"].tolist() == [3, 4, 5, 6, 9, 10]
    reasons = [r.split(":")[0] for r in rejected["reason"]]
    assert reasons == ["bad_date", "bad_amount", "malformed_row", "malformed_row", "missing_order_id", "bad_date"]
    assert rejected.loc[0, "value"] == "2024-13-01" and rejected.loc[0, "column"] == "order_date"
    assert sorted(report.prepared["order_id"]) == ["1", "6", "8"]


def test_accepted_plus_rejected_equals_data_lines():
    report = prepared_orders(DIRTY_CSV.encode())
    data_lines = sum(1 for line in DIRTY_CSV.splitlines()[1:] if line.strip())
    assert report.rows_read == data_lines == 9
    assert report.rows_accepted + report.rows_rejected == data_lines


def test_an_unbalanced_quote_does_not_swallow_the_rest_of_the_file():
    text = "order_id,customer_id,order_date,amount\n"
    text += '1,"unclosed,2024-01-01,5\n'
    text += "".join(f"{i},c{i},2024-01-0{i % 9 + 1},{i}\n" for i in range(2, 30))
    report = prepared_orders(text.encode())
    assert report.rows_accepted == 28
    assert report.rejected["line"].tolist() == [2]
    assert report.rejected["reason"].iloc[0].startswith("malformed_row")
    assert report.rows_accepted + report.rows_rejected == 29


def test_quoted_newlines_inside_a_field_are_one_row():
    rows = [["order_id", "customer_id", "order_date", "amount", "address"],
            ["1", "a", "2024-01-01", "5", "北京市\n朝阳区"], ["2", "b", "2024-01-02", "6", "上海"]]
    raw = read_table(fx.csv_text(rows).encode(), "o.csv")
    assert raw.frame["address"].tolist() == ["北京市\n朝阳区", "上海"]
    assert raw.line_numbers.tolist() == [2, 4]


def test_whitespace_separated_file_reports_short_rows_by_line():
    text = " customer_id  date number_of_cds  dollar_value\n 00001 19970101  1   11.77\n 00002 19970112\n 00003 19970102  2   20.76\n"
    report = prepared_orders(text.encode(), "cdnow.txt")
    assert report.rejected[["line", "reason"]].values.tolist() == [[3, "malformed_row: expected 4 fields, found 2"]]
    assert report.prepared["customer_id"].tolist() == ["00001", "00003"]


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_delimiters_are_detected(delimiter):
    rows = [["订单号", "付款时间", "实付金额"], ["1", "2024-01-01", "5"], ["2", "2024-01-02", "6"]]
    raw = read_table(fx.csv_text(rows, delimiter=delimiter).encode(), "o.txt")
    assert raw.columns == ["订单号", "付款时间", "实付金额"]
    assert len(raw.frame) == 2


def test_crlf_line_endings():
    rows = [["订单号", "付款时间", "实付金额"], ["1", "2024-01-01", "5"], ["2", "2024-01-02", "6"]]
    raw = read_table(fx.csv_text(rows, newline="\r\n").encode("utf-8-sig"), "o.csv")
    assert raw.columns == ["订单号", "付款时间", "实付金额"]
    assert raw.frame["实付金额"].tolist() == ["5", "6"]
    assert raw.line_numbers.tolist() == [2, 3]


def test_duplicate_order_ids_on_append_are_rejected_with_their_lines():
    raw = read_table(fx.orders_csv(["A", "B", "C"]), "o.csv")
    report = prepare_orders(raw, suggest_mapping(raw.columns, "orders"), existing_order_ids={"B"})
    assert report.prepared["order_id"].tolist() == ["A", "C"]
    assert report.rejected[["line", "value", "reason"]].values.tolist() == [[3, "B", "duplicate_order"]]


def test_file_without_order_id_gets_one_order_per_line():
    rows = [["customer_id", "date", "amount"], ["u1", "2024-01-01", "5"], ["u1", "2024-01-01", "5"]]
    report = prepared_orders(fx.csv_text(rows).encode(), "shop.csv")
    assert report.prepared["order_id"].tolist() == ["shop#2", "shop#3"]
    assert report.stats["line_level"] is False


# --------------------------------------------------------------------------
# Hostile text
# --------------------------------------------------------------------------


def test_injection_looking_text_is_stored_verbatim_and_harms_nothing(ws):
    before = seed_workspace(ws)
    report = import_file(ws, fx.injection_csv(), "evil.csv", "orders", '"; DROP TABLE orders; --')
    assert '"; DROP TABLE orders; --' in report.stats["ignored_columns"]
    stored = ws.query_rows(
        "SELECT o.order_id, o.customer_id, o.channel FROM orders o JOIN datasets d USING (dataset_id) "
        "WHERE d.name = ? ORDER BY o.order_ts", ['"; DROP TABLE orders; --'])
    assert stored == [
        (fx.INJECTION_TEXTS[0], fx.INJECTION_TEXTS[1], fx.INJECTION_TEXTS[2]),
        (fx.INJECTION_TEXTS[1], fx.INJECTION_TEXTS[0], fx.INJECTION_TEXTS[0]),
    ]
    after = ws.table_counts()
    assert after["orders"] == before["orders"] + 2 and after["datasets"] == 2


def test_html_in_a_column_name_stays_plain_text():
    raw = read_table(fx.html_header_csv(), "x.csv")
    assert fx.HTML_COLUMN in raw.columns
    report = prepare_orders(raw, suggest_mapping(raw.columns, "orders"))
    assert report.stats["ignored_columns"] == [fx.HTML_COLUMN]


def test_headers_are_normalized_to_unique_names():
    assert normalize_headers([" 订单号 ", "订单号", "", "ＡＢＣ", "\ufeff金额", "订单号"]) == [
        "订单号", "订单号_2", "column_3", "ABC", "金额", "订单号_3"]


# --------------------------------------------------------------------------
# Mapping suggestions and wide channel files
# --------------------------------------------------------------------------


def test_chinese_order_headers_are_mapped():
    assert suggest_mapping(fx.CHINESE_ORDER_HEADERS, "orders") == {
        "order_id": "订单编号", "customer_id": "买家ID", "order_time": "付款时间", "amount": "实付金额",
        "channel": "渠道", "status": "订单状态"}


def test_tmall_style_headers_with_units_are_mapped():
    columns = ["主订单编号", "买家会员名", "订单创建时间", "买家实付金额(元)", "宝贝数量", "流量来源", "订单状态", "收货地址"]
    mapping = suggest_mapping(columns, "orders")
    assert mapping["order_id"] == "主订单编号"
    assert mapping["customer_id"] == "买家会员名"
    assert mapping["order_time"] == "订单创建时间"
    assert mapping["amount"] == "买家实付金额(元)"
    assert mapping["channel"] == "流量来源"


def test_online_retail_headers_are_mapped_as_line_items():
    assert suggest_mapping(fx.ONLINE_RETAIL_HEADER, "orders") == {
        "order_id": "InvoiceNo", "customer_id": "CustomerID", "order_time": "InvoiceDate",
        "quantity": "Quantity", "unit_price": "UnitPrice"}


def test_cdnow_headers_are_mapped():
    assert suggest_mapping(["customer_id", "date", "number_of_cds", "dollar_value"], "orders") == {
        "customer_id": "customer_id", "order_time": "date", "amount": "dollar_value", "quantity": "number_of_cds"}


ROBYN_HEADER = ["DATE", "revenue", "tv_S", "ooh_S", "print_S", "facebook_I", "search_clicks_P", "search_S",
                "competitor_sales_B", "facebook_S", "events", "newsletter"]


def test_robyn_columns_are_detected_as_wide():
    wide = detect_wide_columns(ROBYN_HEADER)
    assert wide == {
        "tv_S": ["tv", "spend"], "ooh_S": ["ooh", "spend"], "print_S": ["print", "spend"],
        "facebook_I": ["facebook", "impressions"], "search_clicks_P": ["search", "clicks"],
        "search_S": ["search", "spend"], "facebook_S": ["facebook", "spend"]}
    mapping = suggest_mapping(ROBYN_HEADER, "channels")
    assert mapping["layout"] == "wide" and mapping["period"] == "DATE"


def test_real_robyn_file_is_read_as_wide():
    raw = read_table(require(ROBYN_PATH).read_bytes(), ROBYN_PATH.name)
    mapping = suggest_mapping(raw.columns, "channels")
    assert mapping["wide_columns"]["tv_S"] == ["tv", "spend"]
    report = prepare_channels(raw, mapping)
    assert report.stats["grain"] == "week"
    assert report.stats["channels"] == ["facebook", "ooh", "print", "search", "tv"]
    tv_total = pd.to_numeric(raw.frame["tv_S"]).sum()
    assert report.prepared.loc[report.prepared["channel"] == "tv", "spend"].sum() == pytest.approx(tv_total)


def test_wide_channel_file_is_unpivoted():
    raw = read_table(fx.wide_channels_csv(), "wide.csv")
    mapping = suggest_mapping(raw.columns, "channels")
    assert mapping["layout"] == "wide"
    assert mapping["wide_columns"]["douyin_impressions"] == ["douyin", "impressions"]
    assert mapping["wide_columns"]["tv_S"] == ["tv", "spend"]
    report = prepare_channels(raw, mapping)
    table = report.prepared.set_index(["period_start", "channel"])
    first = pd.Timestamp("2024-01-01").date()
    second = pd.Timestamp("2024-01-08").date()
    assert table.loc[(first, "douyin"), "spend"] == 1000.0
    assert table.loc[(first, "douyin"), "impressions"] == 50000.0
    assert table.loc[(first, "xiaohongshu"), "clicks"] == 120.0
    assert math.isnan(table.loc[(second, "xiaohongshu"), "clicks"])  # blank means "not given", not 0
    assert table.loc[(second, "tv"), "spend"] == 0.0
    assert len(report.prepared) == 9 and report.rows_rejected == 0
    assert report.stats["grain"] == "week"
    # The total outcome is no longer ignored: it is what a marketing-mix model explains.
    assert "revenue" not in report.stats["ignored_columns"]
    assert (report.stats["outcome"], report.stats["outcome_kind"]) == ("revenue", "revenue")
    assert report.stats["outcome_weeks"] == report.outcomes["period_start"].nunique()


def test_long_channel_file_with_chinese_headers():
    raw = read_table(fx.long_chinese_channels_csv(), "渠道周报.csv")
    mapping = suggest_mapping(raw.columns, "channels")
    assert mapping == {"period": "周", "layout": "long", "channel": "渠道", "spend": "花费",
                       "impressions": "曝光", "new_customers": "新客数"}
    report = prepare_channels(raw, mapping)
    table = report.prepared.set_index(["period_start", "channel"])
    second = pd.Timestamp("2024-01-08").date()
    assert table.loc[(second, "抖音"), "spend"] == 1100.0
    assert table.loc[(second, "抖音"), "new_customers"] == 33.0
    assert math.isnan(table.loc[(second, "小红书"), "impressions"])
    assert report.stats["channels"] == ["小红书", "抖音"]


def test_channel_rows_with_bad_values_are_rejected_by_line():
    rows = [["week", "channel", "spend", "clicks"],
            ["2024-01-01", "抖音", "100", "5"], ["2024-01-08", "抖音", "-5", "-1"], ["not a week", "抖音", "100", "5"],
            ["2024-01-15", "", "100", "5"], ["2024-01-22", "抖音", "", "5"], ["2024-W05", "抖音", "100", "x"]]
    raw = read_table(fx.csv_text(rows).encode(), "c.csv")
    report = prepare_channels(raw, suggest_mapping(raw.columns, "channels"))
    assert report.rejected[["line", "column", "reason"]].values.tolist() == [
        [3, "spend", "negative_value"], [4, "week", "bad_date"], [5, "channel", "missing_channel"],
        [6, "spend", "missing_spend"], [7, "clicks", "bad_number"]]
    assert report.prepared["period_start"].astype(str).tolist() == ["2024-01-01"]
    assert report.rows_accepted + report.rows_rejected == report.rows_read == 6


def test_iso_week_labels_are_their_monday():
    rows = [["week", "channel", "spend"], ["2024-W05", "抖音", "100"], ["2024W06", "抖音", "100"]]
    raw = read_table(fx.csv_text(rows).encode(), "c.csv")
    report = prepare_channels(raw, suggest_mapping(raw.columns, "channels"))
    assert report.prepared["period_start"].astype(str).tolist() == ["2024-01-29", "2024-02-05"]


def test_saved_mapping_is_reused_for_a_file_with_the_same_header(ws):
    header = ["单据", "会员", "日子", "钱"]  # nothing the suggestions recognise as a date
    first = fx.csv_text([header, ["1", "u1", "2024-01-01", "5"]]).encode()
    with pytest.raises(ImportFailed) as caught:
        import_file(ws, first, "a.csv", "orders", "Shop")
    assert caught.value.code == "missing_field"
    mapping = {"order_id": "单据", "customer_id": "会员", "order_time": "日子", "amount": "钱"}
    import_file(ws, first, "a.csv", "orders", "Shop", mapping=mapping)
    assert ws.get_mapping(read_table(first, "a.csv").source_key, "orders") == mapping

    # Next month's export: same columns in another order, no mapping given.
    second = fx.csv_text([["钱", "日子", "会员", "单据"], ["7", "2024-02-01", "u2", "2"]]).encode()
    report = import_file(ws, second, "b.csv", "orders", "Shop", mode="append")
    assert report.mapping == mapping
    assert ws.query_rows("SELECT order_id, customer_id, amount FROM orders ORDER BY order_id") == [
        ("1", "u1", 5.0), ("2", "u2", 7.0)]


def test_mapping_file_with_a_wrong_shape_is_refused(tmp_path):
    for content in ('{"wide_columns": ["tv_S"]}', '{"channel": 5}', '{"layout": "diagonal"}',
                    '{"wide_columns": {"tv_S": "tv"}}', "[1, 2]", "not json"):
        path = tmp_path / "mapping.json"
        path.write_text(content, encoding="utf-8")
        with pytest.raises(ImportFailed) as caught:
            importing.load_mapping_file(path)
        assert caught.value.code == "bad_mapping", content
    path.write_text('{"period": "DATE", "layout": "wide", "wide_columns": {"tv_S": ["tv", "spend"]}}')
    assert importing.load_mapping_file(path)["wide_columns"] == {"tv_S": ["tv", "spend"]}


def test_progress_is_reported_from_start_to_finish(ws):
    seen: list[float] = []
    import_file(ws, fx.online_retail_csv(), "r.csv", "orders", "Shop", progress=lambda f, _m: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 4


# --------------------------------------------------------------------------
# Property: any text either imports or fails with ImportFailed
# --------------------------------------------------------------------------

_NOISE = st.text(
    st.sampled_from(list("ab1 2.-¥$,;|\t\"'\r\n\0") + ["订", "单", "€", "𠀀", "😀", "é", "\ufeff", "万", "\u2028"]),
    max_size=8,
)
_VALID_CELLS = {
    "id": st.sampled_from(["1", "2", "3", "C3", "123456789012345678", "00042", "=HYPERLINK(\"http://x\",\"c\")"]),
    "customer": st.sampled_from(["u1", "u2", "", "😀", "000123", "\"; DROP TABLE orders; --"]),
    "date": st.sampled_from(["2024-01-01", "2024/10/07", "20241007", "2024年10月7日", "12/1/2010 8:26",
                             "2024-10-07T08:26:00Z", "2024-02-30"]),
    "money": st.sampled_from(["¥1,234.50", "$5", "(12.00)", "1.2万", "１２", "0", "-3", ""]),
    "quantity": st.sampled_from(["1", "2", "-1", "", "0"]),
    "status": st.sampled_from(["交易成功", "已退款", "交易关闭", ""]),
}
_HEADERS = [
    (["order_id", "customer_id", "order_date", "amount"], ["id", "customer", "date", "money"]),
    (["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice"], ["id", "customer", "date", "quantity", "money"]),
    (["订单编号", "买家ID", "付款时间", "实付金额", "订单状态"], ["id", "customer", "date", "money", "status"]),
]


@st.composite
def csv_bytes(draw) -> bytes:
    """Order files that are mostly well-formed, with hostile cells, ragged rows and odd line ends mixed in."""
    header, kinds = draw(st.sampled_from(_HEADERS))
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        row = [draw(_VALID_CELLS[k] | _NOISE) if draw(st.integers(0, 5)) == 0 else draw(_VALID_CELLS[k]) for k in kinds]
        ragged = draw(st.integers(0, 9))
        rows.append(row[:-1] if ragged == 0 else row + ["x"] if ragged == 1 else row)
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    if draw(st.booleans()):  # properly quoted
        text = fx.csv_text([header, *rows], delimiter=delimiter, newline=newline)
    else:  # naive joining: stray quotes and delimiters inside cells
        text = newline.join(delimiter.join(r) for r in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "gb18030"]))
    return text.encode(encoding)


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(data=csv_bytes() | st.binary(max_size=300))
def test_any_input_imports_or_fails_cleanly(data):
    try:
        raw = read_table(data, "fuzz.csv")
        mapping = suggest_mapping(raw.columns, "orders")
        report = prepare_orders(raw, mapping)
    except ImportFailed as exc:
        assert exc.code and str(exc)
        return
    assert report.rows_accepted + report.rows_rejected == report.rows_read
    assert len(report.prepared) <= report.rows_accepted
    assert set(report.rejected.columns) == {"line", "column", "value", "reason"}
    assert (report.rejected["line"].astype(int) >= 0).all()
    assert not report.prepared["order_ts"].isna().any()
    assert np.isfinite(report.prepared["amount"].astype(float)).all()
    refunds = report.prepared[report.prepared["is_refund"]]
    assert (refunds["amount"] <= 0).all()


@settings(max_examples=60, deadline=2000)
@given(notes=st.lists(st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=6),
                      min_size=1, max_size=5))
def test_text_cells_round_trip_through_utf8_csv(notes):
    rows = [["订单号", "备注", "金额"], *[[str(i), note, "1"] for i, note in enumerate(notes)]]
    raw = read_table(fx.csv_text(rows).encode("utf-8"), "round.csv")
    assert raw.frame["备注"].tolist() == notes
    assert raw.frame["订单号"].tolist() == [str(i) for i in range(len(notes))]


def test_a_parquet_bomb_is_refused_from_its_footer_and_nothing_changes(ws, tmp_path):
    """Millions of identical rows compress to almost nothing; the row count is read before anything expands."""
    import resource

    import pyarrow as pa
    import pyarrow.parquet as pq

    from lib import importing

    rows = importing.MAX_IMPORT_ROWS + 1
    table = pa.table({"order_id": pa.array(["1"] * rows), "customer_id": pa.array(["c"] * rows),
                      "order_ts": pa.array(["2024-01-01"] * rows), "amount": pa.array([1.0] * rows)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    data = buffer.getvalue()
    del table
    assert len(data) < 200_000  # a couple of million rows in a few kilobytes
    before = ws.table_counts()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(importing.ImportFailed) as caught:
        importing.import_file(ws, data, "bomb.parquet", "orders", "Bomb")
    assert caught.value.code == "too_many_rows" and caught.value.params["rows"] == f"{rows:,}"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 200_000  # < 200 MB more at peak
    assert ws.table_counts() == before


def test_a_csv_longer_than_the_import_limit_is_refused(monkeypatch):
    from lib import importing

    monkeypatch.setattr(importing.limits, "MAX_IMPORT_ROWS", 5)
    data = fx.orders_csv([str(i) for i in range(6)])
    with pytest.raises(importing.ImportFailed) as caught:
        importing.read_table(data, "long.csv")
    assert caught.value.code == "too_many_rows"
    assert len(importing.read_table(fx.orders_csv([str(i) for i in range(5)]), "ok.csv").frame) == 5

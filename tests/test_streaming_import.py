"""Streaming import: order files read in place by DuckDB give what the in-memory reader gave, at any size.

Why: ``lib.importing.staging`` replaced Python's csv module and pandas for order files (8× slower
than DuckDB, 1 GB per million rows). A user must not be able to tell which path read
their file — the same orders, the same rejects on the same lines, the same refusals —
and the hostile-file guarantees hold on the new path too: a UTF-8 file with one bad
byte far past the sample is refused (never re-read as GB18030), a Parquet bomb is
refused from its footer, a failed load leaves the workspace as it was.
"""

from __future__ import annotations

import gzip
import itertools
import math
from pathlib import Path

import pandas as pd
import pytest

from lib import importing
from lib.importing import staging
from lib.importing import ImportFailed, import_file, prepare_orders, prepare_orders_file, read_table, suggest_mapping
import fixtures as fx


def _both(tmp_path: Path, data: bytes, name: str = "orders.csv"):
    """The report of the in-memory reader (bytes) and of the streaming one (the file on disk)."""
    raw = read_table(data, name)
    mapping = suggest_mapping(raw.columns, "orders")
    in_memory = prepare_orders(raw, mapping)
    path = tmp_path / name
    path.write_bytes(data)
    streamed = prepare_orders_file(path, name, mapping)
    return in_memory, streamed


def _same(in_memory, streamed) -> None:
    assert streamed.staged is not None, "the file was not read in place"
    assert (streamed.rows_read, streamed.rows_accepted) == (in_memory.rows_read, in_memory.rows_accepted)
    assert streamed.rejected.values.tolist() == in_memory.rejected.values.tolist()
    everything = streamed.staged.con.execute("SELECT * FROM staged_orders").fetchdf()
    pd.testing.assert_frame_equal(
        everything.astype(str).reset_index(drop=True), in_memory.prepared.astype(str).reset_index(drop=True))
    for key in ("orders", "refunds", "customers", "counted_orders", "guest_orders", "line_level", "first_date"):
        assert streamed.stats[key] == in_memory.stats[key], key
    assert streamed.stats["net_sales"] == pytest.approx(in_memory.stats["net_sales"])


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_a_chinese_export_streams_to_the_same_orders_in_every_encoding(tmp_path, encoding):
    in_memory, streamed = _both(tmp_path, fx.chinese_orders_csv(encoding))
    _same(in_memory, streamed)
    assert streamed.encoding == in_memory.encoding
    assert streamed.file_format == "csv"


def test_messy_rows_keep_their_line_numbers_when_duckdb_reads_the_file(tmp_path):
    lines = [
        "订单号,下单时间,实付金额,备注",
        "A1,2024-10-07 10:00:00,\"¥1,234.50\",ok",
        "A2,not a date,5,ok",                       # line 3: bad date
        "A3,2024-10-08,\"12\",\"two",               # lines 4-5: a quoted line break
        "lines\"",
        "A4,2024-10-09,abc,ok",                     # line 6: bad amount
        "A5,2024-10-10,7",                          # line 7: a field short
        "A6,2024-10-11,8,ok,extra",                 # line 8: a field too many
        "A7,2024-10-12,(12.00),ok,",                # line 9: an empty overhang is fine
        ",2024-10-13,3,ok",                         # line 10: no order id
        "A9,2024年10月14日,1.2万,ok",
    ]
    in_memory, streamed = _both(tmp_path, ("\n".join(lines) + "\n").encode())
    _same(in_memory, streamed)
    assert streamed.rejected[["line", "reason"]].values.tolist() == [
        [3, "bad_date"], [6, "bad_amount"], [7, "malformed_row: expected 4 fields, found 3"],
        [8, "malformed_row: expected 4 fields, found 5"], [10, "missing_order_id"]]
    got = streamed.staged.con.execute("SELECT order_id, amount, is_refund FROM staged_orders").fetchall()
    assert got == [("A1", 1234.5, False), ("A3", 12.0, False), ("A7", -12.0, True), ("A9", 12000.0, False)]


def test_order_lines_refunds_and_float_ids_stream_like_the_in_memory_reader(tmp_path):
    for data in (fx.online_retail_csv(), fx.chinese_status_csv()):
        in_memory, streamed = _both(tmp_path, data)
        _same(in_memory, streamed)
    rows = [["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice"],
            ["536365", "17850.0", "12/1/2010 8:26", "6", "2.55"], ["536365", "17850.0", "12/1/2010 8:26", "2", "3.39"],
            ["C536379", "14527.0", "12/1/2010 9:41", "-1", "27.50"], ["536380", "", "12/1/2010 9:45", "1", "1"]]
    in_memory, streamed = _both(tmp_path, fx.csv_text(rows).encode())
    _same(in_memory, streamed)
    assert streamed.stats["line_level"] and streamed.stats["refunds"] == 1 and streamed.stats["guest_orders"] == 1


def test_xlsx_and_parquet_files_stream_to_the_same_orders(tmp_path):
    rows = fx.chinese_orders_rows("utf-8")
    in_memory, streamed = _both(tmp_path, fx.xlsx_bytes(rows), "orders.xlsx")
    _same(in_memory, streamed)
    assert streamed.file_format == "xlsx" and streamed.stats["sheet"] == in_memory.stats["sheet"]
    frame = pd.DataFrame(rows[1:], columns=rows[0])
    in_memory, streamed = _both(tmp_path, fx.parquet_bytes(frame), "orders.parquet")
    _same(in_memory, streamed)


def test_sql_and_pandas_parse_money_and_dates_the_same_way():
    """Channel files still parse in pandas: both definitions must agree on every format the README lists."""
    money = ["¥1,234.50", "￥1,234.50", "$1,234.50", "1234.5元", "(12.00)", "-12", "1.2万", "3亿", "１２３４．５０",
             "￥１，２３４", "RMB 88", " 7 ", "0", "abc", "", "12.3.4", "¥", "--5", "nan", "(12", "1e3",
             # the "¥1,234.50" shortcut must agree with the full path wherever it applies
             "¥nan", "¥,", ",", "1,2,3", "¥ 1,234", "¥1e3", "¥(12)", "(¥12)", "¥-5", "¥1.2万", "¥¥1", "¥1,234.50元",
             "¥１２", "-¥12", "1,234.50-"]
    dates = ["2024-10-07", "2024/10/07", "2024年10月7日", "20241007", "10/7/2024 8:26", "12/1/2010 8:26",
             "2024-10-07T08:26:00Z", "2024-10-07T08:26:00.123+08:00", "2024-10-07 08:26:59", "2024年10月7日 20:05",
             "9999-12-31", "000123", "2024-02-30", "1899-12-31", "", "soon"]
    con = staging.import_connection()
    try:
        con.register("m", pd.DataFrame({"amount": money, "quantity": None, "unit_price": None}))
        con.execute("CREATE VIEW fields AS SELECT amount, quantity::VARCHAR AS quantity, "
                    "unit_price::VARCHAR AS unit_price FROM m")
        sql_money = [r[0] for r in con.execute(staging.money_sql("fields")).fetchdf()[["amount_value"]].values]
        sql_dates = [r[0] for r in con.execute("SELECT gp_ts(d, $f) FROM unnest($v) AS t(d)",
                                               {"f": staging.DATE_FORMATS, "v": dates}).fetchall()]
    finally:
        con.close()
    pandas_money = importing.parse_money(pd.Series(money)).tolist()
    for text, ours, theirs in zip(money, sql_money, pandas_money):
        assert (ours is None or math.isnan(ours)) == math.isnan(theirs), text
        if not math.isnan(theirs):
            assert ours == pytest.approx(theirs), text
    pandas_dates = importing.parse_datetimes(pd.Series(dates)).tolist()
    for text, ours, theirs in zip(dates, sql_dates, pandas_dates):
        assert (ours is None) == pd.isna(theirs), text
        if ours is not None:
            assert pd.Timestamp(ours) == theirs, text


def test_a_utf8_file_with_one_bad_byte_past_the_sample_is_refused_never_read_as_gb18030(tmp_path):
    row = "订单{i},2024-10-07,¥12.50\n"
    body = "".join(row.format(i=i) for i in range(60_000)).encode()  # ~1.5 MB: the bad byte is past the sample
    assert len(body) > staging.SAMPLE_BYTES
    path = tmp_path / "orders.csv"
    path.write_bytes("订单号,下单时间,实付金额\n".encode() + body + b"X9,2024-10-07,\xff12\n")
    with pytest.raises(ImportFailed) as caught:
        prepare_orders_file(path, path.name)
    assert caught.value.code == "unknown_encoding"


def test_a_large_gb18030_file_is_transcoded_in_a_stream(tmp_path):
    rows = [["订单号", "买家ID", "下单时间", "实付金额", "渠道"]]
    rows += [[f"订单{i}", f"会员{i % 97}", "2024年10月7日", "¥1,234.50", "微信私域"] for i in range(40_000)]
    data = fx.csv_text(rows).encode("gb18030")
    assert len(data) > staging.SAMPLE_BYTES
    path = tmp_path / "gbk.csv.gz"
    path.write_bytes(gzip.compress(data))
    report = prepare_orders_file(path, path.name)
    assert report.encoding == "gb18030" and report.rows_accepted == 40_000
    first = report.staged.con.execute("SELECT order_id, customer_id, channel, amount FROM staged_orders LIMIT 1")
    assert first.fetchall() == [("订单0", "会员0", "微信私域", 1234.5)]


def test_a_parquet_bomb_is_refused_from_its_footer_on_the_streaming_path(tmp_path, ws, monkeypatch):
    path = tmp_path / "bomb.parquet"
    frame = pd.DataFrame({"order_id": ["1"] * 5000, "order_date": ["2024-03-01"] * 5000, "amount": ["5"] * 5000})
    path.write_bytes(fx.parquet_bytes(frame))
    with pytest.raises(ImportFailed) as caught:
        prepare_orders_file(path, path.name, max_rows=4999)
    assert caught.value.code == "too_many_rows"
    before = ws.table_counts()
    monkeypatch.setattr(importing.limits, "MAX_STREAM_ROWS", 10)
    with pytest.raises(ImportFailed) as caught:
        import_file(ws, path, path.name, "orders", "Bomb")
    assert caught.value.code == "too_many_rows_stream" and "segments --parquet" in str(caught.value)
    from lib.i18n import t

    for lang in ("en", "zh"):
        text = t(f"import.error.{caught.value.code}", lang, **caught.value.params)
        assert "{" not in text and text != f"import.error.{caught.value.code}" and "10" in text
    assert ws.table_counts() == before and not ws.list_datasets()


def test_an_upload_over_the_row_limit_is_refused_with_a_pointer_to_the_cli(tmp_path, ws, monkeypatch):
    rows = [["order_id", "order_date", "amount"]] + [[f"A{i}", "2024-03-01", "5"] for i in range(150_000)]
    upload = importing.stage_upload(fx.csv_text(rows).encode(), "orders.csv")  # big: previewed from a sample
    assert upload.sampled
    monkeypatch.setattr(importing.limits, "MAX_IMPORT_ROWS", 149_999)
    with pytest.raises(ImportFailed) as caught:
        importing.prepare_upload(ws, upload, suggest_mapping(upload.raw.columns, "orders"), "Shop")
    assert caught.value.code == "too_many_rows"
    assert "import-orders" in str(caught.value)
    assert not ws.list_datasets()


def test_an_upload_is_previewed_from_its_first_rows_and_checked_whole(ws):
    rows = [["订单号", "下单时间", "实付金额"]] + [[f"A{i}", "2024-10-07", "¥1.00"] for i in range(150_000)]
    data = fx.csv_text(rows).encode()
    upload = importing.stage_upload(data, "big.csv")
    assert upload.sampled and len(upload.raw.frame) == importing.SAMPLE_ROWS
    report = importing.prepare_upload(ws, upload, suggest_mapping(upload.raw.columns, "orders"), "Big")
    assert report.rows_accepted == 150_000
    importing.commit_import(ws, report, "Big")
    assert ws.get_dataset("Big").orders == 150_000


def test_progress_moves_from_reading_through_writing_to_done(tmp_path, ws):
    path = tmp_path / "orders.csv"
    path.write_bytes(fx.chinese_orders_csv("utf-8"))
    seen: list[tuple[float, str]] = []
    import_file(ws, path, path.name, "orders", "Shop", progress=lambda f, stage: seen.append((f, stage)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    stages = [stage for _, stage in seen]
    assert stages[0] == "reading" and stages[-1] == "done"
    assert {"parsing", "writing"} <= set(stages)


def test_a_failed_streamed_append_leaves_the_workspace_as_it_was(tmp_path, ws):
    first = tmp_path / "a.csv"
    first.write_bytes(fx.orders_csv(["A", "B"]))
    import_file(ws, first, first.name, "orders", "Shop")
    path = tmp_path / "b.csv"
    path.write_bytes(fx.orders_csv(["C", "D"]))
    report = prepare_orders_file(path, path.name, existing_order_ids=importing.existing_order_id_table(ws, "Shop"))
    import_file(ws, fx.orders_csv(["C"]), "c.csv", "orders", "Shop", mode="append")  # another session adds C
    before = ws.table_counts()
    with pytest.raises(ImportFailed) as caught:
        importing.commit_import(ws, report, "Shop", mode="append")
    assert caught.value.code == "conflict"
    assert ws.table_counts() == before


def test_an_append_from_a_file_turns_away_orders_already_in_the_dataset_by_line(tmp_path, ws):
    path = tmp_path / "a.csv"
    path.write_bytes(fx.orders_csv(["A", "B"]))
    import_file(ws, path, path.name, "orders", "Shop")
    again = tmp_path / "b.csv"
    again.write_bytes(fx.orders_csv(["B", "C", "D"]))
    report = import_file(ws, again, again.name, "orders", "Shop", mode="append")
    assert report.rejected[["line", "reason"]].values.tolist() == [[2, "duplicate_order"]]
    assert ws.get_dataset("Shop").orders == 4


def _garbage():
    from test_importing import GARBAGE

    return GARBAGE


@pytest.mark.parametrize("case", list(_garbage()))
def test_garbage_read_in_place_gets_the_same_code_and_changes_nothing(tmp_path, ws, case):
    build, code = _garbage()[case]
    path = tmp_path / "upload.csv"
    path.write_bytes(build())
    before = ws.table_counts()
    with pytest.raises(ImportFailed) as caught:
        import_file(ws, path, path.name, "orders", "New data")
    assert caught.value.code == code, (case, str(caught.value))
    assert ws.table_counts() == before and not ws.list_datasets()


def test_bombs_and_a_200_kb_cell_on_the_streaming_path(tmp_path, ws, monkeypatch):
    bomb = tmp_path / "bomb.xlsx"
    bomb.write_bytes(fx.zip_bomb_xlsx(600_000))
    monkeypatch.setattr(importing.limits, "MAX_XLSX_UNCOMPRESSED", 500_000)
    with pytest.raises(ImportFailed) as caught:
        import_file(ws, bomb, bomb.name, "orders", "Bomb")
    assert caught.value.code == "bomb"
    laughs = tmp_path / "laughs.xlsx"
    laughs.write_bytes(fx.billion_laughs_xlsx())
    with pytest.raises(ImportFailed) as caught:
        import_file(ws, laughs, laughs.name, "orders", "Bomb")
    assert caught.value.code == "bomb"
    monkeypatch.setattr(importing.limits, "MAX_GZIP_UNCOMPRESSED", 10_000)
    packed = tmp_path / "big.csv.gz"
    packed.write_bytes(gzip.compress(b"order_id,order_date,amount\n" + b"1,2024-01-01,2\n" * 10_000))
    with pytest.raises(ImportFailed) as caught:
        import_file(ws, packed, packed.name, "orders", "Bomb")
    assert caught.value.code == "bomb"
    assert not ws.list_datasets()
    big_cell = tmp_path / "cell.csv"
    big_cell.write_bytes(fx.csv_text([["order_id", "order_date", "amount", "note"],
                                      ["1", "2024-01-01", "5", "x" * 200_000], ["2", "2024-01-02", "6", "ok"]]).encode())
    report = import_file(ws, big_cell, big_cell.name, "orders", "Cell")
    assert report.rows_accepted == 2 and ws.get_dataset("Cell").orders == 2


def test_extra_columns_read_in_place_are_kept_per_customer_like_the_in_memory_path(tmp_path, ws):
    rows = [["order_id", "customer_id", "order_time", "amount", "email", "会员等级"],
            ["1", "c1", "2024-03-01 10:00", "5", "old@x.com", "银卡"], ["2", "c1", "2024-03-02 10:00", "6", "new@x.com", ""],
            ["3", "c2", "2024-03-03 10:00", "bad", "skip@x.com", "金卡"], ["4", "c2", "2024-03-04 10:00", "7", "", "钻石卡"]]
    path = tmp_path / "crm.csv"
    path.write_bytes(fx.csv_text(rows).encode())
    report = import_file(ws, path, path.name, "orders", "Shop")
    assert report.stats["attribute_columns"] == ["email", "会员等级"]
    kept = ws.query_rows("SELECT customer_id, name, value FROM customer_attributes ORDER BY 1, position", [])
    assert kept == [("c1", "email", "new@x.com"), ("c1", "会员等级", "银卡"), ("c2", "会员等级", "钻石卡")]
    import_file(ws, fx.csv_text(rows).encode(), "crm.csv", "orders", "Bytes")
    assert ws.query_rows("SELECT customer_id, a.name, value FROM customer_attributes a JOIN datasets d USING "
                         "(dataset_id) WHERE d.name = 'Bytes' ORDER BY 1, position", []) == kept


def test_orders_streamed_into_the_workspace_in_many_batches_arrive_whole_and_in_file_order(tmp_path, ws, monkeypatch):
    """A big file reaches the workspace as a stream of batches: every order lands once, in the file's order."""
    monkeypatch.setattr(staging, "COMMIT_BATCH_ROWS", 2)
    ids = [f"A{i:02d}" for i in range(7)]
    path = tmp_path / "orders.csv"
    path.write_bytes(fx.orders_csv(ids))
    report = prepare_orders_file(path, path.name)
    assert [batch.num_rows for batch in report.staged.batches()] == [2, 2, 2, 1]
    importing.commit_import(ws, report, "Shop")
    assert ws.query_rows("SELECT order_id FROM orders ORDER BY rowid", []) == [(i,) for i in ids]


def test_a_commit_failing_after_the_orders_were_inserted_leaves_the_workspace_as_it_was(tmp_path, ws, monkeypatch):
    import_file(ws, fx.orders_csv(["X"]), "x.csv", "orders", "Shop")
    before = ws.table_counts()
    monkeypatch.setattr(staging, "COMMIT_BATCH_ROWS", 2)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(importing.attributes, "commit", broken)  # fails once every batch was inserted
    path = tmp_path / "orders.csv"
    path.write_bytes(fx.orders_csv([f"B{i}" for i in range(5)]))
    with pytest.raises(RuntimeError):
        import_file(ws, path, path.name, "orders", "Shop")
    assert ws.table_counts() == before
    assert ws.query_rows("SELECT order_id FROM orders", []) == [("X",)]


def test_a_file_without_order_ids_keeps_its_line_numbers_in_rejects_and_ids(tmp_path):
    """Without an order id column the id is made from the line: the rows are numbered as they are read."""
    lines = ["买家ID,下单时间,实付金额", "c1,2024-10-07,5", "c2,soon,5", "c3,2024-10-08,\"¥1,234.50\""]
    in_memory, streamed = _both(tmp_path, ("\n".join(lines) + "\n").encode())
    _same(in_memory, streamed)
    assert streamed.rejected.values.tolist() == [[3, "下单时间", "soon", "bad_date"]]
    ids = streamed.staged.con.execute("SELECT order_id FROM staged_orders").fetchall()
    assert ids == [("orders#2",), ("orders#4",)]


def test_an_order_csv_is_checked_and_imported_without_loading_pandas(tmp_path):
    """pandas takes a quarter of a second to load, a tenth of a million-row import: the CLI's path must not need it.

    The report still hands a page its frames — the rejects with their lines and the preview — made when read.
    """
    import subprocess
    import sys
    import textwrap

    from conftest import ROOT

    path = tmp_path / "orders.csv"
    path.write_text("订单编号,下单时间,实付金额\nA1,2024-10-07,\"¥1,234.50\"\nA2,not a date,5\nA3,2024-10-08,7\n",
                    encoding="utf-8")
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from lib import importing
        from lib.workspace import Workspace
        ws = Workspace({str(tmp_path / "ws.duckdb")!r})
        report = importing.import_file(ws, Path({str(path)!r}), "orders.csv", "orders", "Shop")
        print("pandas loaded:", "pandas" in sys.modules, report.rows_rejected, report.can_commit)
        print(report.rejected[["line", "reason"]].values.tolist(), report.prepared["order_id"].tolist())
        print(ws.query_rows("SELECT order_id, amount FROM orders ORDER BY order_id", []))
        ws.close()
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    first, frames, stored = done.stdout.splitlines()[-3:]
    assert first == "pandas loaded: False 1 True"
    assert frames == "[[3, 'bad_date']] ['A1', 'A3']"
    assert stored == "[('A1', 1234.5), ('A3', 7.0)]"


def _customer_ids_of(path: Path) -> list[str]:
    report = prepare_orders_file(path, path.name)
    assert report.staged is not None, "the file was not read in place"
    return [r[0] for r in report.staged.con.execute("SELECT customer_id FROM staged_orders").fetchall()]


@pytest.mark.parametrize("cut_inside_a_quoted_cell", [False, True])
def test_a_big_file_read_from_its_first_megabyte_still_loses_a_float_ids_point_zero_only_when_every_id_has_it(
        tmp_path, cut_inside_a_quoted_cell):
    """Customer ids written 17850.0 lose the ".0" only when every one of them has it, in a file past 1 MB too.

    The first rows are looked at in a copy of the file's first megabyte; an id far past it still counts, and a
    quoted cell with a line break across the copy's end changes nothing.
    """
    rows = [["order_id", "customer_id", "order_date", "amount", "note"]]
    rows += [[f"O{i:06d}", f"{17000 + i % 500}.0", "2024-03-01", "10", "x" * 10] for i in range(40_000)]
    if cut_inside_a_quoted_cell:
        ends = itertools.accumulate(len(fx.csv_text([row]).encode()) for row in rows)
        cut = next(i for i, end in enumerate(ends) if end > staging.SAMPLE_BYTES - 1_000)  # spans the 1 MB mark:
        rows[cut][4] = "first line\n" + "y" * 2_000 + "\nlast line"
        assert fx.csv_text(rows).encode().find(b"first line") < staging.SAMPLE_BYTES < fx.csv_text(rows).encode().find(
            b"last line")
    path = tmp_path / "orders.csv"
    path.write_bytes(fx.csv_text(rows).encode())
    assert path.stat().st_size > staging.SAMPLE_BYTES
    ids = _customer_ids_of(path)
    assert len(ids) == 40_000 and ids[:2] == ["17000", "17001"]

    rows[-1][1] = "17850.5"  # one id past the first megabyte is not a whole number: every id keeps its text
    path.write_bytes(fx.csv_text(rows).encode())
    ids = _customer_ids_of(path)
    assert ids[:2] == ["17000.0", "17001.0"] and ids[-1] == "17850.5"

"""Orders read in place (lib.importing.inplace): a Parquet folder as a dataset, equal to the same orders imported, refreshed on change."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pandas as pd
import pytest

from lib import kpis, segments
from lib.importing import inplace
from lib.workspace import Workspace

ORDER_COLUMNS = "order_id, customer_id, order_ts, amount, channel, is_refund, original_order_id"


def _export_orders(db: Path, dataset_name: str, folder: Path) -> pa.Table:
    """Write a dataset's orders as a hive-partitioned folder (year=…/) with the importer's column names changed."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        table = con.execute(
            """SELECT order_id AS 订单号, customer_id AS 买家ID, order_ts AS 付款时间, amount AS 实付金额,
                       channel AS 渠道, is_refund, original_order_id AS 原订单号, year(order_ts) AS year
                FROM orders JOIN datasets USING (dataset_id) WHERE name = ?""",
            [dataset_name],
        ).df()
    finally:
        con.close()
    table = pa.Table.from_pandas(table, preserve_index=False)
    pq.write_to_dataset(table, str(folder), partition_cols=["year"])
    return table


@pytest.fixture(scope="module")
def in_place_workspace(tmp_path_factory, sample_workspace_file):
    """The sample workspace plus the same orders as a hive-partitioned Parquet folder beside it."""
    root = tmp_path_factory.mktemp("inplace")
    db = root / "ws.duckdb"
    shutil.copyfile(sample_workspace_file, db)
    _export_orders(db, "Sample store", root / "parquet" / "store")
    return db


def _fresh(in_place_workspace: Path, tmp_path: Path) -> tuple[Path, Path]:
    db = tmp_path / "ws.duckdb"
    shutil.copyfile(in_place_workspace, db)
    folder = tmp_path / "parquet" / "store"
    shutil.copytree(in_place_workspace.parent / "parquet" / "store", folder)
    return db, folder


def test_a_dataset_in_place_has_the_same_numbers_as_the_same_orders_imported(in_place_workspace, tmp_path):
    db, folder = _fresh(in_place_workspace, tmp_path)
    ws = Workspace(db)  # locked, as the app opens it: the folder beside the workspace is readable
    try:
        columns = ws.parquet_columns(folder)[1]
        mapping = inplace.suggest_mapping(columns)
        assert mapping == {"order_id": "订单号", "customer_id": "买家ID", "order_time": "付款时间",
                           "amount": "实付金额", "channel": "渠道", "original_order_id": "原订单号",
                           "is_refund": "is_refund"}
        in_place_id = ws.register_parquet("Store in place", folder, mapping)
        imported, in_place = ws.get_dataset("Sample store"), ws.get_dataset("Store in place")
        assert ws.table_counts()["orders"] > 0 and ws.parquet_orders(imported.dataset_id) is None
        assert (in_place.orders, in_place.customers, in_place.first_order, in_place.last_order) == (
            imported.orders, imported.customers, imported.first_order, imported.last_order)

        span = kpis.data_range(ws, imported.dataset_id)
        assert kpis.data_range(ws, in_place_id) == span
        period = kpis.default_period(*span)
        a = kpis.compute_kpis(ws, imported.dataset_id, period).as_dict()
        b = kpis.compute_kpis(ws, in_place_id, period).as_dict()
        spend_free = {k: v for k, v in a.items() if k not in ("spend", "cac", "roas", "roi", "ltv_cac")}
        assert {k: b[k] for k in spend_free} == spend_free  # spend is channel data, imported separately
        assert a["net_sales"] > 0 and a["customers"] > 1000

        settings = segments.SegmentSettings()
        tiers_a = segments.segment_summary(ws, imported.dataset_id, settings, None, by="plan")
        tiers_b = segments.segment_summary(ws, in_place_id, settings, None, by="plan")
        pd.testing.assert_frame_equal(tiers_a, tiers_b, rtol=1e-9)  # sums differ only in the float order of adding
        assert tiers_a["customers"].sum() == imported.customers
    finally:
        ws.close()


def _add_orders(folder: Path, name: str, customers: list[str], day: str, amount: float) -> None:
    part = folder / "year=2026"
    part.mkdir(parents=True, exist_ok=True)
    ts = pa.array([__import__("datetime").datetime.fromisoformat(day)] * len(customers), pa.timestamp("us"))
    pq.write_table(pa.table({
        "订单号": [f"{name}-{i}" for i in range(len(customers))], "买家ID": customers, "付款时间": ts,
        "实付金额": [amount] * len(customers), "渠道": ["抖音"] * len(customers),
        "is_refund": [False] * len(customers), "原订单号": pa.array([None] * len(customers), pa.string()),
    }), part / f"{name}.parquet")


def test_adding_a_file_to_the_folder_changes_the_numbers_on_the_next_look(in_place_workspace, tmp_path):
    db, folder = _fresh(in_place_workspace, tmp_path)
    ws = Workspace(db)
    try:
        ds = ws.register_parquet("Store in place", folder, inplace.suggest_mapping(ws.parquet_columns(folder)[1]))
        before = ws.get_dataset(ds)
        assert ws.refresh_parquet(force=True) == []  # nothing changed: the version (and every cache) stays
        assert ws.get_dataset(ds).data_version == before.data_version
        _add_orders(folder, "late", [f"new-{i}" for i in range(25)], "2026-10-04 12:00:00", 99.0)
        time.sleep(ws.PARQUET_CHECK_SECONDS)
        after = ws.get_dataset(ds)
        assert after.data_version > before.data_version
        assert (after.orders, after.customers) == (before.orders + 25, before.customers + 25)
        span = kpis.data_range(ws, ds)
        facts = kpis.compute_kpis(ws, ds, kpis.Period(span[1], span[1]))
        assert facts.as_dict()["new_customers"] >= 25
    finally:
        ws.close()


@pytest.mark.parametrize("case", ["missing", "no_files", "missing_column", "unmapped", "outside"])
def test_a_path_or_mapping_that_cannot_work_is_refused_with_a_reason_and_nothing_changes(tmp_path, case):
    ws = Workspace(tmp_path / "ws.duckdb")
    try:
        readable = tmp_path / "parquet"
        (readable / "empty").mkdir(parents=True)
        (readable / "empty" / "notes.csv").write_text("a,b\n1,2\n")
        _add_orders(readable / "shop", "a", ["c1", "c2"], "2026-01-05 10:00:00", 10.0)
        outside = tmp_path / "elsewhere"
        _add_orders(outside, "a", ["c1"], "2026-01-05 10:00:00", 10.0)
        good = {"customer_id": "买家ID", "order_time": "付款时间", "amount": "实付金额"}
        path, mapping, key = {
            "missing": (readable / "nope", good, "inplace.err.no_path"),
            "no_files": (readable / "empty", good, "inplace.err.no_files"),
            "missing_column": (readable / "shop", {**good, "amount": "金额"}, "inplace.err.missing_columns"),
            "unmapped": (readable / "shop", {"customer_id": "买家ID"}, "inplace.err.unmapped"),
            "outside": (outside, good, "inplace.err.not_allowed"),
        }[case]
        before = ws.table_counts()
        with pytest.raises(inplace.InPlaceError) as err:
            ws.register_parquet("x", path, mapping)
        assert err.value.key == key
        assert err.value.message("zh") != err.value.message("en") and "{" not in err.value.message("zh")
        assert ws.table_counts() == before
    finally:
        ws.close()


def test_the_locked_workspace_still_refuses_other_files(tmp_path):
    _add_orders(tmp_path / "elsewhere", "a", ["c1"], "2026-01-05 10:00:00", 10.0)
    ws = Workspace(tmp_path / "ws.duckdb")
    try:
        with pytest.raises(duckdb.Error):
            ws.query_rows("SELECT count(*) FROM read_parquet(?)", [str(tmp_path / "elsewhere" / "**" / "*.parquet")])
    finally:
        ws.close()


def test_the_cli_registers_a_folder_the_app_may_then_read(tmp_path, capsys):
    from lib import cli

    folder = tmp_path / "lake" / "orders"  # outside the workspace's own parquet/ folder
    _add_orders(folder, "a", ["c1", "c2", "c3"], "2026-01-05 10:00:00", 10.0)
    _add_orders(folder, "b", ["c1"], "2026-02-05 10:00:00", 30.0)
    db = tmp_path / "ws.duckdb"
    assert cli.main(["datasets", "add-parquet", str(folder), "--name", "Lake", "--db", str(db)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["orders"], out["customers"], out["files"]) == (4, 3, 2)
    assert cli.main(["kpis", "--dataset", "Lake", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["dataset"] == "Lake"
    ws = Workspace(db)  # locked: the registered folder is readable, others are not
    try:
        assert ws.get_dataset("Lake").orders == 4
    finally:
        ws.close()
    assert cli.main(["datasets", "add-parquet", str(tmp_path / "none"), "--name", "X", "--db", str(db)]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_overview_and_segments_pages_show_a_dataset_in_place_and_follow_a_new_file(app_env, tmp_path):
    from streamlit.testing.v1 import AppTest

    from tests.test_app_pages import APP, TIMEOUT, assert_clean

    folder = app_env.parent / "parquet" / "store"
    _export_orders(app_env, "Sample store", folder)

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page("pages/data.py").run()
    assert_clean(at)
    at.text_input(key="data.inplace.path").set_value(str(app_env.parent / "parquet" / "nothing")).run()
    assert any("no file or folder" in e.value for e in at.error)
    at.text_input(key="data.inplace.path").set_value(str(folder)).run()
    assert_clean(at)
    at.text_input(key="data.inplace.name").set_value("Store in place").run()
    at.button(key="data.inplace.use").click().run()
    assert_clean(at)
    assert at.session_state["dataset"] == "Store in place"
    assert any("Store in place" in s.value and "in place" in s.value for s in at.success)

    def overview(dataset: str) -> dict[str, str]:
        page = AppTest.from_file(APP, default_timeout=TIMEOUT)
        page.query_params["dataset"] = dataset
        page.run()
        assert_clean(page)
        return {m.label: m.value for m in page.metric}

    imported, in_place = overview("Sample store"), overview("Store in place")
    for label in ("GMV", "Net sales", "Orders", "Customers", "New customers", "Repurchase rate"):
        assert in_place[label] == imported[label], label

    def tier_cards(dataset: str) -> dict[str, str]:
        page = AppTest.from_file(APP, default_timeout=TIMEOUT)
        page.query_params["dataset"] = dataset
        page.run()
        page.switch_page("pages/segments.py").run()
        assert_clean(page)
        return {m.label: m.value for m in page.metric}

    assert tier_cards("Store in place") == tier_cards("Sample store")

    _add_orders(folder, "late", [f"new-{i}" for i in range(40)], "2026-09-30 12:00:00", 500.0)
    time.sleep(1.0)
    changed = overview("Store in place")
    assert int(changed["Orders"].replace(",", "")) == int(in_place["Orders"].replace(",", "")) + 40
    assert changed["GMV"] != in_place["GMV"]


def test_a_damaged_file_in_a_folder_does_not_break_the_list_of_datasets(tmp_path):
    folder = tmp_path / "parquet" / "shop"
    _add_orders(folder, "a", ["c1", "c2"], "2026-01-05 10:00:00", 10.0)
    ws = Workspace(tmp_path / "ws.duckdb")
    try:
        ds = ws.register_parquet("Shop", folder, {"customer_id": "买家ID", "order_time": "付款时间", "amount": "实付金额"})
        with ws.transaction() as cur:
            other = ws.ensure_dataset(cur, "Other")
        assert ws.get_dataset(ds).orders == 2
        (folder / "year=2026" / "broken.parquet").write_bytes(b"PAR1 not really parquet")
        time.sleep(ws.PARQUET_CHECK_SECONDS)
        listed = {d.name: d for d in ws.list_datasets()}  # no exception: the other datasets still list
        assert listed["Shop"].orders == 0 and "Other" in listed and other == listed["Other"].dataset_id
        with pytest.raises(duckdb.Error):  # the pages reading that dataset report it (as a friendly error)
            kpis.data_range(ws, ds)
        (folder / "year=2026" / "broken.parquet").unlink()
        time.sleep(ws.PARQUET_CHECK_SECONDS)
        assert ws.get_dataset(ds).orders == 2
    finally:
        ws.close()


def test_the_data_page_refuses_to_import_orders_into_a_dataset_read_in_place(app_env):
    from streamlit.testing.v1 import AppTest

    from tests.test_app_pages import APP, TIMEOUT, _orders_csv, assert_clean

    folder = app_env.parent / "parquet" / "shop"
    _add_orders(folder, "a", ["c1", "c2"], "2026-01-05 10:00:00", 10.0)
    ws = Workspace(app_env)
    try:
        ws.register_parquet("Lake", folder, {"customer_id": "买家ID", "order_time": "付款时间", "amount": "实付金额"})
    finally:
        ws.close()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"] = "zh"
    at.run()
    at.switch_page("pages/data.py").run()
    at.file_uploader[0].set_value(("more.csv", _orders_csv(), "text/csv")).run()
    at.selectbox(key="data.target.orders").set_value("Lake").run()
    assert_clean(at)
    assert any("就地读取" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key == "data.check.orders"], "no check, no import"

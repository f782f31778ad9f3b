"""Workspace: transactions, atomic imports, append/replace, concurrency, locking and crash recovery.

Why: the workspace is shared by every browser session and the CLI, and DuckDB has
sharp edges — a COMMIT after a failed statement silently does nothing, a second
process cannot open the file, a killed process leaves a write-ahead log. These
tests pin down what a user relies on: a load is all-or-nothing, concurrent saves
all land exactly once, and a crash leaves the last committed state.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import duckdb
import pytest

import fixtures as fx
from conftest import ROOT
from lib.importing import (
    ImportFailed,
    ImportReport,
    commit_import,
    import_file,
    prepare_orders,
    read_table,
    suggest_mapping,
)
from lib.workspace import (
    SCHEMA_VERSION,
    DatasetNotFound,
    TransactionFailed,
    Workspace,
    WorkspaceError,
    validate_dataset_name,
)


def order_report(order_ids: list[str], **kwargs) -> ImportReport:
    raw = read_table(fx.orders_csv(order_ids, **kwargs), "orders.csv")
    return prepare_orders(raw, suggest_mapping(raw.columns, "orders"))


def order_ids_in(ws: Workspace, dataset: str) -> list[str]:
    rows = ws.query_rows(
        "SELECT order_id FROM orders JOIN datasets USING (dataset_id) WHERE name = ? ORDER BY order_id", [dataset])
    return [r[0] for r in rows]


# --------------------------------------------------------------------------
# The transaction helper
# --------------------------------------------------------------------------


def test_swallowed_error_inside_a_transaction_is_not_reported_as_saved(ws):
    before = ws.table_counts()
    with pytest.raises(TransactionFailed):
        with ws.transaction() as cur:
            ws.ensure_dataset(cur, "Half written")
            try:  # amount NOT NULL: DuckDB aborts the transaction, the caller swallows it
                cur.execute("INSERT INTO orders (dataset_id, order_id, customer_id, order_ts, amount, quantity, channel, status, is_refund) VALUES (1, 'o1', NULL, now(), NULL, NULL, NULL, NULL, FALSE)")
            except duckdb.Error:
                pass  # ... and carries on as if all was well
    assert ws.table_counts() == before
    with pytest.raises(DatasetNotFound):
        ws.get_dataset("Half written")


def test_plain_duckdb_commit_after_a_failed_statement_is_silent(tmp_path):
    # The hazard the helper exists for: without the probe, COMMIT "succeeds" and keeps nothing.
    con = duckdb.connect(str(tmp_path / "raw.duckdb"))
    con.execute("CREATE TABLE t (x INTEGER NOT NULL)")
    con.execute("BEGIN TRANSACTION")
    con.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(duckdb.Error):
        con.execute("INSERT INTO t VALUES (NULL)")
    try:
        con.execute("COMMIT")
    except duckdb.Error:
        pytest.skip("this DuckDB version reports the failed COMMIT itself")
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
    con.close()


def test_exception_in_a_transaction_rolls_back_and_propagates(ws):
    with pytest.raises(ValueError, match="stop"):
        with ws.transaction() as cur:
            ws.ensure_dataset(cur, "Doomed")
            raise ValueError("stop")
    assert ws.table_counts()["datasets"] == 0


def test_workspace_is_usable_after_a_failed_transaction(ws):
    with pytest.raises(TransactionFailed):
        with ws.transaction() as cur:
            try:
                cur.execute("INSERT INTO datasets (name) VALUES (NULL)")
            except duckdb.Error:
                pass
    with ws.transaction() as cur:
        ws.ensure_dataset(cur, "Fine")
    assert [d.name for d in ws.list_datasets()] == ["Fine"]


# --------------------------------------------------------------------------
# Atomic imports, replace and append
# --------------------------------------------------------------------------


def test_failure_after_the_insert_leaves_the_workspace_unchanged(ws, monkeypatch):
    import_file(ws, fx.orders_csv(["S1", "S2"]), "seed.csv", "orders", "Seed")
    before = ws.table_counts()

    def explode(cur, dataset_id):
        assert cur.execute("SELECT count(*) FROM orders").fetchall()[0][0] == 5  # rows are in, uncommitted
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Workspace, "bump_version", staticmethod(explode))
    with pytest.raises(RuntimeError, match="disk on fire"):
        commit_import(ws, order_report(["N1", "N2", "N3"]), "New dataset")
    assert ws.table_counts() == before
    with pytest.raises(DatasetNotFound):
        ws.get_dataset("New dataset")


def test_failed_replace_keeps_the_old_rows(ws):
    import_file(ws, fx.orders_csv(["S1", "S2"]), "seed.csv", "orders", "Seed")
    before = ws.table_counts()
    report = order_report(["N1", "N2", "N3"])
    report.prepared["order_ts"] = report.prepared["order_ts"].astype(object)
    report.prepared.loc[2, "order_ts"] = "not a time"  # the INSERT's cast fails on the last row
    with pytest.raises(duckdb.Error):
        commit_import(ws, report, "Seed", mode="replace")
    assert ws.table_counts() == before
    assert order_ids_in(ws, "Seed") == ["S1", "S2"]


def test_replace_swaps_orders_and_keeps_channel_data(ws):
    import_file(ws, fx.orders_csv(["A", "B", "C"]), "q3.csv", "orders", "Shop")
    import_file(ws, fx.long_chinese_channels_csv(), "c.csv", "channels", "Shop")
    import_file(ws, fx.orders_csv(["X", "Y"]), "q4.csv", "orders", "Shop", mode="replace")
    assert order_ids_in(ws, "Shop") == ["X", "Y"]
    assert ws.get_dataset("Shop").channel_rows == 4


def test_append_adds_and_turns_away_orders_already_there(ws):
    import_file(ws, fx.orders_csv(["A", "B"]), "a.csv", "orders", "Shop")
    version = ws.get_dataset("Shop").data_version
    report = import_file(ws, fx.orders_csv(["B", "C", "D"]), "b.csv", "orders", "Shop", mode="append")
    assert order_ids_in(ws, "Shop") == ["A", "B", "C", "D"]
    assert report.rejected[["line", "value", "reason"]].values.tolist() == [[2, "B", "duplicate_order"]]
    assert ws.get_dataset("Shop").data_version == version + 1
    history = ws.import_history(ws.get_dataset("Shop").dataset_id)
    assert history["mode"].tolist() == ["append", "replace"]
    assert history["rows_rejected"].tolist() == [1, 0]


def test_append_that_became_stale_is_refused_whole(ws):
    import_file(ws, fx.orders_csv(["A"]), "a.csv", "orders", "Shop")
    mine = order_report(["B", "C"])  # validated against the dataset as it was
    commit_import(ws, order_report(["C"]), "Shop", mode="append")  # another session adds C
    before = ws.table_counts()
    with pytest.raises(ImportFailed) as caught:
        commit_import(ws, mine, "Shop", mode="append")
    assert caught.value.code == "conflict" and caught.value.params == {"count": 1}
    assert ws.table_counts() == before
    assert order_ids_in(ws, "Shop") == ["A", "C"]


def test_same_ids_in_another_dataset_are_not_duplicates(ws):
    import_file(ws, fx.orders_csv(["A", "B"]), "a.csv", "orders", "Tmall")
    import_file(ws, fx.orders_csv(["A", "B"]), "a.csv", "orders", "JD", mode="append")
    assert order_ids_in(ws, "JD") == ["A", "B"]


def test_guests_are_stored_as_null_customers(ws):
    import_file(ws, fx.chinese_status_csv(), "s.csv", "orders", "Shop")
    assert ws.query_rows("SELECT order_id FROM orders WHERE customer_id IS NULL") == [("A005",)]
    assert ws.query_rows("SELECT count(*) FROM orders WHERE customer_id IN ('nan', 'None', '')") == [(0,)]


# --------------------------------------------------------------------------
# Concurrency inside one process
# --------------------------------------------------------------------------


def test_concurrent_appends_from_threads_all_land_exactly_once(ws):
    threads_n, per_thread = 8, 40
    reports = [order_report([f"T{t}-{i}" for i in range(per_thread)]) for t in range(threads_n)]
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n + 2)
    done = threading.Event()

    def write(report):
        try:
            start.wait()
            commit_import(ws, report, "Shared", mode="append")
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    def read():
        try:
            start.wait()
            while not done.is_set():
                for ds in ws.list_datasets():
                    assert ds.orders % per_thread == 0  # never a half-written import
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(r,)) for r in reports]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for th in writers + readers:
        th.start()
    for th in writers:
        th.join(timeout=60)
    done.set()
    for th in readers:
        th.join(timeout=60)
    assert errors == []
    dataset = ws.get_dataset("Shared")
    assert dataset.orders == threads_n * per_thread
    assert ws.table_counts()["datasets"] == 1 and ws.table_counts()["import_log"] == threads_n
    assert dataset.data_version == threads_n


def test_two_sessions_appending_the_same_file_commit_it_once(ws):
    report = order_report([f"O{i}" for i in range(30)])
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def write():
        barrier.wait()
        try:
            commit_import(ws, report, "Shop", mode="append")
            outcomes.append("saved")
        except ImportFailed as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=write) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "saved"]
    assert ws.get_dataset("Shop").orders == 30


# --------------------------------------------------------------------------
# Other processes: the lock and a crash
# --------------------------------------------------------------------------


def _python(code: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, **kwargs)


def test_a_second_process_gets_a_clear_workspace_error(ws):
    import_file(ws, fx.orders_csv(["A"]), "a.csv", "orders", "Shop")
    result = _python(
        """
        import sys, duckdb
        from lib.workspace import Workspace, WorkspaceError
        try:
            Workspace(sys.argv[1])
        except WorkspaceError as exc:
            print("WorkspaceError:", exc)
        try:
            duckdb.connect(sys.argv[1], read_only=True)
        except duckdb.IOException as exc:
            print("read-only:", "lock" in str(exc).lower())
        """,
        str(ws.path),
    )
    assert result.returncode == 0, result.stderr
    assert "WorkspaceError:" in result.stdout and "in use by another process" in result.stdout
    assert "read-only: True" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert ws.get_dataset("Shop").orders == 1  # the app's own connection is unaffected


CRASH_CHILD = """
import sys, time
import numpy as np, pandas as pd
from tests import fixtures as fx
from lib import importing
from lib.workspace import Workspace

ws = Workspace(sys.argv[1])
importing.import_file(ws, fx.orders_csv([f"K{i}" for i in range(int(sys.argv[2]))]), "first.csv", "orders", "Shop")
print("COMMITTED", flush=True)

big = int(sys.argv[3])
prepared = pd.DataFrame({
    "order_id": [f"M{i}" for i in range(big)], "customer_id": [f"c{i % 5000}" for i in range(big)],
    "order_ts": pd.Timestamp("2024-05-01") + pd.to_timedelta(np.arange(big) % 86400, unit="s"),
    "amount": np.full(big, 9.5), "quantity": np.nan, "channel": None, "status": None, "is_refund": False,
})
report = importing.ImportReport("orders", "second.csv", "csv", "utf-8", big, big, pd.DataFrame(),
                                prepared, {}, {"order_time": "x", "amount": "y"}, "key")

def hold_inside_the_transaction(cur, dataset_id):
    seen = cur.execute("SELECT count(*) FROM orders").fetchall()[0][0]
    print("IN_TRANSACTION", seen, flush=True)
    time.sleep(120)

Workspace.bump_version = staticmethod(hold_inside_the_transaction)
importing.commit_import(ws, report, "Shop", mode="append")
print("SHOULD NOT GET HERE", flush=True)
"""


def test_sigkill_during_an_import_leaves_the_last_committed_state(tmp_path):
    db = tmp_path / "crash.duckdb"
    committed, big = 25, 300_000  # more than two row groups: DuckDB writes some of them before COMMIT
    child = subprocess.Popen([sys.executable, "-c", CRASH_CHILD, str(db), str(committed), str(big)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in child.stdout:
            lines.append(line.strip())
            if line.startswith("IN_TRANSACTION"):
                break
        assert lines[:1] == ["COMMITTED"], child.stderr.read() if child.poll() is not None else lines
        assert lines[-1] == f"IN_TRANSACTION {committed + big}"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    reopened = Workspace(db)
    try:
        assert reopened.query_rows("SELECT count(*), count(*) FILTER (order_id LIKE 'M%') FROM orders") == [
            (committed, 0)]
        assert reopened.table_counts()["import_log"] == 1
        assert reopened.get_dataset("Shop").data_version == 1
        # and it takes new writes
        import_file(reopened, fx.orders_csv(["after"]), "c.csv", "orders", "Shop", mode="append")
        assert reopened.get_dataset("Shop").orders == committed + 1
    finally:
        reopened.close()


def test_close_checkpoints_so_no_wal_is_left(tmp_path):
    path = tmp_path / "clean.duckdb"
    ws = Workspace(path)
    import_file(ws, fx.orders_csv(["A", "B"]), "a.csv", "orders", "Shop")
    ws.close()
    assert not path.with_name(path.name + ".wal").exists()
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT count(*) FROM orders").fetchall() == [(2,)]
    con.close()


def test_a_workspace_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "future.duckdb"
    ws = Workspace(path)
    with ws.transaction() as cur:
        cur.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    ws.close()
    with pytest.raises(WorkspaceError, match="newer"):
        Workspace(path)


def test_a_schema_5_workspace_keeps_every_order_as_written_when_its_ids_lose_compression(tmp_path):
    """Schema 6 stores order and customer ids uncompressed (a faster import); the rebuild keeps every row and column."""
    path = tmp_path / "v5.duckdb"
    ws = Workspace(path)
    import_file(ws, fx.orders_csv(["00123", "123", "A-1"]), "a.csv", "orders", "Shop")
    before = ws.query_rows("SELECT * FROM orders ORDER BY order_id", [])
    ws.close()
    con = duckdb.connect(str(path))  # the orders table as schema 5 wrote it: DuckDB picks each column's compression
    con.execute("CREATE TABLE orders_v5 AS SELECT * FROM orders")
    con.execute("DROP TABLE orders")
    con.execute("ALTER TABLE orders_v5 RENAME TO orders")
    con.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    con.close()
    again = Workspace(path)
    try:
        assert again.schema_version() == SCHEMA_VERSION == 6
        assert again.query_rows("SELECT * FROM orders ORDER BY order_id", []) == before
        assert [r[1] for r in before] == ["00123", "123", "A-1"]
        assert again.get_dataset("Shop").orders == 3
        import_file(again, fx.orders_csv(["B"]), "b.csv", "orders", "Shop", mode="append")
        again.checkpoint()
        kinds = again.query_rows("SELECT DISTINCT column_name, compression FROM pragma_storage_info('orders') "
                                 "WHERE column_name IN ('order_id', 'customer_id') AND segment_type = 'VARCHAR' "
                                 "ORDER BY 1", [])
        assert kinds == [("customer_id", "Uncompressed"), ("order_id", "Uncompressed")]
    finally:
        again.close()


def test_reopening_keeps_data_and_schema(tmp_path):
    path = tmp_path / "again.duckdb"
    ws = Workspace(path)
    import_file(ws, fx.orders_csv(["A"]), "a.csv", "orders", "Shop")
    ws.close()
    again = Workspace(path)
    try:
        assert again.schema_version() == SCHEMA_VERSION
        assert again.get_dataset("Shop").orders == 1
    finally:
        again.close()


# --------------------------------------------------------------------------
# Datasets, settings, mappings
# --------------------------------------------------------------------------


def test_dataset_listing_counts_and_ranges(ws):
    import_file(ws, fx.chinese_status_csv(), "s.csv", "orders", "天猫 Q4")
    import_file(ws, fx.long_chinese_channels_csv(), "c.csv", "channels", "天猫 Q4")
    (dataset,) = ws.list_datasets()
    assert dataset.name == "天猫 Q4" and not dataset.is_sample
    # orders = orders that count (A002/A003 were exported as refunded/closed, A004 is a refund);
    # customers = buyers with an order; the one whose only row is a refund is not a customer
    assert (dataset.orders, dataset.customers, dataset.channel_rows) == (3, 2, 4)
    assert (str(dataset.first_order), str(dataset.last_order)) == ("2024-10-07", "2024-10-12")
    assert (str(dataset.first_period), str(dataset.last_period)) == ("2024-01-01", "2024-01-08")


def test_dataset_listing_follows_every_import(ws):
    """The listing keeps counts per data version: each import must show at once, other datasets unchanged."""
    import_file(ws, fx.orders_csv(["A", "B"]), "a.csv", "orders", "One")
    assert [(d.name, d.orders, d.channel_rows) for d in ws.list_datasets()] == [("One", 2, 0)]
    import_file(ws, fx.orders_csv(["C"]), "c.csv", "orders", "Two")
    import_file(ws, fx.long_chinese_channels_csv(), "ch.csv", "channels", "One")
    assert [(d.name, d.orders, d.channel_rows) for d in ws.list_datasets()] == [("One", 2, 4), ("Two", 1, 0)]
    import_file(ws, fx.orders_csv(["D", "E", "F"]), "d.csv", "orders", "One", mode="append")
    assert [(d.name, d.orders) for d in ws.list_datasets()] == [("One", 5), ("Two", 1)]
    import_file(ws, fx.orders_csv(["G"]), "g.csv", "orders", "One", mode="replace")
    assert [(d.name, d.orders) for d in ws.list_datasets()] == [("One", 1), ("Two", 1)]


def test_dataset_listing_while_other_sessions_import(ws):
    """Readers with older and newer catalogs share the counts cache (the 25-session load test once hit a KeyError)."""
    import_file(ws, fx.orders_csv(["A"]), "a.csv", "orders", "Busy")
    failures: list[BaseException] = []
    done = threading.Event()

    def keep_listing() -> None:
        try:
            while not done.is_set():
                for dataset in ws.list_datasets():
                    assert dataset.orders >= 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    readers = [threading.Thread(target=keep_listing) for _ in range(4)]
    for reader in readers:
        reader.start()
    try:
        for i in range(12):
            import_file(ws, fx.orders_csv([f"B{i}", f"C{i}"]), "b.csv", "orders", "Busy", mode="append")
            import_file(ws, fx.orders_csv([f"D{i}"]), "d.csv", "orders", f"New {i}")
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert failures == []
    listed = {d.name: d.orders for d in ws.list_datasets()}
    assert listed["Busy"] == 25 and len(listed) == 13


def test_rename_and_delete(ws):
    import_file(ws, fx.orders_csv(["A"]), "a.csv", "orders", "One")
    import_file(ws, fx.orders_csv(["B", "C"]), "b.csv", "orders", "Two")
    one, two = ws.get_dataset("One"), ws.get_dataset("Two")
    ws.set_setting(one.dataset_id, "segments.thresholds", {"vip": 3})
    with pytest.raises(WorkspaceError, match="already exists"):
        ws.rename_dataset(one.dataset_id, "  Two ")
    ws.rename_dataset(one.dataset_id, "  Tmall   Q3 ")
    assert ws.get_dataset(one.dataset_id).name == "Tmall Q3"
    ws.delete_dataset(one.dataset_id)
    assert [d.name for d in ws.list_datasets()] == ["Two"]
    counts = ws.table_counts()
    assert (counts["orders"], counts["dataset_settings"], counts["import_log"]) == (2, 0, 1)
    assert ws.get_dataset(two.dataset_id).orders == 2


@pytest.mark.parametrize("name", ["", "   ", "x" * 81, "bad\x07name"])
def test_invalid_dataset_names_are_refused(ws, name):
    with pytest.raises(WorkspaceError):
        validate_dataset_name(name)
    with pytest.raises(WorkspaceError):
        commit_import(ws, order_report(["A"]), name)
    assert ws.table_counts()["datasets"] == 0


def test_settings_round_trip(ws):
    with ws.transaction() as cur:
        dataset_id = ws.ensure_dataset(cur, "Shop")
    value = {"名称": "高价值客户", "limits": [1, 2.5, None], "nested": {"ok": True}}
    ws.set_setting(dataset_id, "segments.vip", value)
    ws.set_setting(dataset_id, "segments.new", [1])
    ws.set_setting(dataset_id, "plan.q4", "draft")
    assert ws.get_setting(dataset_id, "segments.vip") == value
    assert ws.get_setting(dataset_id, "missing", default="d") == "d"
    assert ws.settings_with_prefix(dataset_id, "segments.") == {"new": [1], "vip": value}
    ws.delete_setting(dataset_id, "plan.q4")
    assert ws.get_setting(dataset_id, "plan.q4") is None


def test_mappings_are_saved_per_header_and_kind(ws):
    ws.save_mapping("abc", "orders", {"order_id": "订单编号"})
    ws.save_mapping("abc", "orders", {"order_id": "订单号"})
    ws.save_mapping("abc", "channels", {"period": "周"})
    assert ws.get_mapping("abc", "orders") == {"order_id": "订单号"}
    assert ws.get_mapping("abc", "channels") == {"period": "周"}
    assert ws.get_mapping("other", "orders") is None
    assert ws.table_counts()["column_mappings"] == 2


def test_table_counts_cover_every_user_table(ws):
    counts = ws.table_counts()
    assert set(counts) == {"datasets", "orders", "channel_spend", "weekly_outcome", "column_mappings",
                           "dataset_settings", "import_log", "parquet_sources",
                           "customer_attributes"}
    assert set(counts.values()) == {0}


def test_a_long_reader_keeps_its_snapshot_while_an_import_commits(ws):
    """Checklist A.12: a chart being computed never sees half of an import; the next read sees all of it."""
    import_file(ws, fx.orders_csv([f"O{i}" for i in range(10)]), "a.csv", "orders", "Shop")
    with ws.cursor() as reader:
        reader.execute("BEGIN TRANSACTION")
        before = reader.execute('SELECT count(*) FROM "orders"').fetchone()[0]
        import_file(ws, fx.orders_csv([f"N{i}" for i in range(25)]), "b.csv", "orders", "Other shop")
        inside = reader.execute('SELECT count(*) FROM "orders"').fetchone()[0]
        reader.execute("COMMIT")
        after = reader.execute('SELECT count(*) FROM "orders"').fetchone()[0]
    assert before == inside == 10, "the reader's counts moved inside its transaction"
    assert after == 35, "the committed import is visible to the next read"

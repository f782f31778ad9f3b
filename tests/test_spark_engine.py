"""The segment engine and the KPIs on Spark: the DuckDB definitions transpiled through lib.sql_engine agree.

Why: orders that outgrow one machine are segmented and measured on a Spark cluster,
and the numbers there must be the numbers here — customers, tiers, segments, R/F/M
scores, KPIs and money to the cent — without a second copy of the SQL to drift. These
tests run the CLI on one Parquet folder (hive-partitioned by month: the sample store's
orders with its refunds and cancellations, plus hand-made rows for every ledger rule and
hostile customer ids) through both engines and compare the files byte for byte and the
KPIs value for value.

One local Spark session (``local[2]``, two shuffle partitions, UI off) serves the
module. The Spark tests are skipped only when Java is missing; the transpiler's own
tests need no JVM.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lib import kpis, metrics, sql_engine
from lib.importing import inplace
from lib.cli import main
from lib.i18n import t
from lib.importing.sample_store import SAMPLE_DATASET_NAME

HAS_JAVA = bool(shutil.which("java") or os.environ.get("JAVA_HOME"))
needs_java = pytest.mark.skipif(
    not HAS_JAVA, reason="Java is not installed: the Spark engine needs a JRE (make test installs default-jre-headless)"
)
# Small data: two shuffle partitions, and no whole-stage code generation (compiling it costs more than it saves
# here: about a quarter of the first query's CPU). The CLI runs reuse this session as it is.
SPARK_CONF = {"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2",
              "spark.sql.codegen.wholeStage": "false"}

# Rows for every ledger rule (lib.metrics) and ids an export must keep as text.
TRICKY_ROWS = [
    # order_id, customer_id, order_ts, amount, is_refund, original_order_id
    ("X1", "ref-by-id", "2026-09-01 10:00:00", 120.00, False, None),
    ("X1R", "ref-by-id", "2026-09-03 10:00:00", -20.00, True, "X1"),  # rule 1: reduces X1 to 100
    ("X2", "self-refunded", "2026-09-02 09:00:00", 80.00, True, "X2"),  # rule 2: exported refunded, nets to 0
    ("X3", "by-amount", "2026-08-01 12:00:00", 55.55, False, None),
    ("X4", "by-amount", "2026-08-05 12:00:00", 55.55, False, None),
    ("X4C", "by-amount", "2026-08-06 12:00:00", -55.55, True, None),  # rule 3: cancels X4, the latest
    ("X5", "partial", "2026-07-01 08:00:00", 99.99, False, None),
    ("X5R", "partial", "2026-07-09 08:00:00", -33.33, True, None),  # rule 4: a customer-level adjustment
    ("X6", "=HYPERLINK(\"http://x\")", "2026-09-20 18:30:00", 1234.56, False, None),
    ("X7", "客户·甲 'quoted' \\back", "2026-09-21 11:11:11", 0.01, False, None),
    ("X8", None, "2026-09-22 07:00:00", 42.00, False, None),  # a guest: sales, no customer
    ("X9", "zero-net", "2026-09-23 07:00:00", 10.00, False, None),
    ("X9C", "zero-net", "2026-09-23 08:00:00", -10.00, True, "X9"),  # cancelled in full: no customer
]


@pytest.fixture(scope="module")
def parquet_orders(tmp_path_factory, sample_workspace_file) -> Path:
    """A tenth of the sample store's customers (all their orders and refunds) plus :data:`TRICKY_ROWS`,
    as Parquet files in ``month=YYYY-MM`` folders."""
    folder = tmp_path_factory.mktemp("lake") / "orders"
    con = duckdb.connect(str(sample_workspace_file), read_only=True)
    try:
        con.execute("CREATE TEMP TABLE extra (order_id VARCHAR, customer_id VARCHAR, order_ts TIMESTAMP, "
                    "amount DOUBLE, is_refund BOOLEAN, original_order_id VARCHAR)")
        con.executemany("INSERT INTO extra VALUES (?, ?, ?, ?, ?, ?)", TRICKY_ROWS)
        con.execute(
            "CREATE TEMP TABLE lake AS "
            "SELECT order_id, customer_id, order_ts, amount, channel, is_refund, original_order_id FROM orders "
            "WHERE customer_id LIKE '%3' "  # every order and refund of a tenth of the customers: a quick test
            "UNION ALL SELECT order_id, customer_id, order_ts, amount, 'test', is_refund, original_order_id FROM extra"
        )
        con.execute("COPY (SELECT *, strftime(order_ts, '%Y-%m') AS month FROM lake) TO $folder "
                    "(FORMAT parquet, PARTITION_BY (month))", {"folder": str(folder)})
    finally:
        con.close()
    assert len(list(folder.glob("month=*/*.parquet"))) >= 24
    return folder


@pytest.fixture(scope="module")
def spark(request):
    """One local Spark session for the module (the CLI's engines reuse it: SparkSession.getOrCreate)."""
    if not HAS_JAVA:
        pytest.skip("Java is not installed")
    previous = os.environ.pop("SPARK_REMOTE", None)
    engine = sql_engine.SparkEngine(master="local[2]", conf=SPARK_CONF)
    yield engine
    engine.close()
    engine.spark.stop()
    if previous is not None:
        os.environ["SPARK_REMOTE"] = previous


def export(capsys, parquet: Path, target: Path, engine: str, *extra: str) -> dict:
    argv = ["segments", "--parquet", str(parquet), "--export", str(target), "--engine", engine, *extra]
    if engine == "spark":
        argv += ["--spark-master", "local[2]"]
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def rows_of(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


@needs_java
def test_duckdb_and_spark_give_identical_segment_exports(spark, parquet_orders, tmp_path, capsys):
    on_duckdb = export(capsys, parquet_orders, tmp_path / "duckdb.csv", "duckdb")
    on_spark = export(capsys, parquet_orders, tmp_path / "spark.csv", "spark")

    assert on_spark["customers"] == on_duckdb["customers"]
    assert (tmp_path / "spark.csv").read_bytes() == (tmp_path / "duckdb.csv").read_bytes()

    rows = {r["Customer ID"]: r for r in rows_of(tmp_path / "spark.csv")}
    assert len(rows) == sum(on_spark["customers"].values()) > 4_000
    assert {r["Tier"] for r in rows.values()} >= {"High-value", "New", "Active", "Lapsing", "Dormant"}
    assert len({r["Segment"] for r in rows.values()}) >= 8
    assert {r[f"{d} score"] for r in rows.values() for d in "RFM"} == {"1", "2", "3", "4", "5"}
    # the ledger's rules held on Spark too
    assert rows["ref-by-id"]["Net spend to date"] == "100.0"
    assert rows["by-amount"]["Orders to date"] == "1" and rows["by-amount"]["Net spend to date"] == "55.55"
    assert rows["partial"]["Net spend to date"] == "66.66" and rows["partial"]["Orders to date"] == "1"
    assert "self-refunded" not in rows and "zero-net" not in rows
    # text stays text: the formula is neutralised, quotes, backslash and Chinese survive
    assert rows["'=HYPERLINK(\"http://x\")"]["Net spend to date"] == "1234.56"
    assert rows["客户·甲 'quoted' \\back"]["Average order value"] == "0.01"


@needs_java
def test_the_workbook_with_other_options_agrees_too(spark, parquet_orders, tmp_path, capsys):
    """RFM segments at an earlier date with a shorter window, in Chinese: every sheet the same but the timestamp."""
    from openpyxl import load_workbook

    options = ("--scheme", "rfm", "--as-of", "2026-06-30", "--window-days", "180", "--lang", "zh")
    sheets, counts = {}, {}
    for engine in ("duckdb", "spark"):
        counts[engine] = export(capsys, parquet_orders, tmp_path / f"{engine}.xlsx", engine, *options)["customers"]
        book = load_workbook(tmp_path / f"{engine}.xlsx", read_only=True)
        sheets[engine] = {
            ws.title: [row for row in ws.iter_rows(values_only=True)
                       if not (row and isinstance(row[0], str) and row[0].startswith("生成时间"))]
            for ws in book.worksheets
        }
        book.close()
    assert counts["spark"] == counts["duckdb"] and counts["spark"]["at_risk"] > 0
    assert sheets["spark"] == sheets["duckdb"]
    at_risk = sheets["spark"][t("segments.segment.at_risk", "zh")]
    assert len(at_risk) == counts["spark"]["at_risk"] + 1  # header + one row per customer
    assert all(str(row[11])[:10] <= "2026-06-30" for row in at_risk[1:])  # last order on or before the as-of date


@needs_java
def test_parameters_reach_spark_as_typed_literals(spark):
    hostile = "a'b\\c\"; DROP TABLE x; --"
    frame = spark.frame(
        "SELECT $text AS text, $day + 1 AS next_day, $ts AS ts, $x / 3 AS third, $flag AS flag, "
        "list_extract($items, 2) AS second, $nothing AS nothing",
        {"text": hostile, "day": date(2026, 2, 28), "ts": datetime(2026, 3, 1, 12, 30), "x": 1.0,
         "flag": True, "items": ["p", "q", "r"], "nothing": None},
    )
    row = frame.iloc[0]
    assert row["text"] == hostile
    assert str(row["next_day"])[:10] == "2026-03-01"
    assert str(row["ts"]) == "2026-03-01 12:30:00"  # a TIMESTAMP without time zone, as in DuckDB
    assert row["third"] == 1.0 / 3  # a DOUBLE, not a DECIMAL
    assert bool(row["flag"]) is True and row["second"] == "q" and row["nothing"] is None


@needs_java
def test_bad_parquet_is_a_one_line_error_on_spark(spark, tmp_path, capsys):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "x.parquet").write_bytes(b"PAR1 not really")
    assert main(["segments", "--parquet", str(tmp_path / "p"), "--export", str(tmp_path / "x.csv"),
                 "--engine", "spark", "--spark-master", "local[2]"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: could not read the orders") and err.count("\n") == 1
    assert not (tmp_path / "x.csv").exists()


# --------------------------------------------------------------------------------------
# KPIs
# --------------------------------------------------------------------------------------


def kpis_json(capsys, *argv: str) -> dict:
    assert main(["kpis", *argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def parquet_kpi_orders(folder: Path) -> inplace.ParquetOrders:
    """The folder's orders mapped as ``cli kpis --parquet`` and ``datasets add-parquet`` map them."""
    columns = sql_engine.DuckDBEngine().parquet_columns(inplace.ParquetOrders(str(folder)).pattern)
    return inplace.ParquetOrders(str(folder), inplace.clean_mapping(inplace.suggest_mapping(sorted(columns)), columns))


@needs_java
def test_duckdb_and_spark_give_identical_kpis(spark, parquet_orders, capsys):
    """``cli kpis --parquet`` on both engines: the same period, KPIs, previous period and changes, to the cent."""
    on_duckdb = kpis_json(capsys, "--parquet", str(parquet_orders), "--engine", "duckdb")
    on_spark = kpis_json(capsys, "--parquet", str(parquet_orders), "--engine", "spark", "--spark-master", "local[2]")

    assert on_spark == on_duckdb
    assert (on_spark["start"], on_spark["end"]) == ("2026-07-01", "2026-09-30")  # the last full quarter
    now = on_spark["kpis"]
    assert now["orders"] > 1_000 and now["customers"] > 500 and 0 < now["new_customers"] < now["customers"]
    assert now["refunds"] > 0 and now["gmv"] - now["refunds"] == pytest.approx(now["net_sales"])
    assert 0 < now["repeat_rate"] < 1 and 0 < now["repurchase_rate"] < 1 and now["ltv"] > now["aov"] > 0
    assert now["spend"] is None and now["cac"] is None  # Parquet orders carry no channel spend: nothing invented
    assert on_spark["previous"]["orders"] > 0 and on_spark["change"]["gmv"] is not None


@needs_java
def test_weekly_trend_and_channel_mix_agree_on_spark(spark, parquet_orders):
    orders = parquet_kpi_orders(parquet_orders)
    period = kpis.Period(date(2026, 7, 1), date(2026, 9, 30))
    duck = sql_engine.DuckDBEngine()
    try:
        frames = {name: (kpis.weekly_trend(engine, orders, period), kpis.channel_mix(engine, orders, period))
                  for name, engine in (("duckdb", duck), ("spark", spark))}
    finally:
        duck.close()
    for weekly in (frames["duckdb"][0], frames["spark"][0]):
        weekly["week"] = pd.to_datetime(weekly["week"])
    for position in (0, 1):
        expected, got = frames["duckdb"][position], frames["spark"][position]
        assert list(got.columns) == list(expected.columns) and len(got) == len(expected) > 1
        cents = {column: 2 for column in expected.select_dtypes("number").columns}  # money to the cent
        pd.testing.assert_frame_equal(got.round(cents), expected.round(cents), check_dtype=False)

    weekly, mix = frames["spark"]
    assert len(weekly) == 14 and weekly["partial"].tolist() == [True] + [False] * 12 + [True]  # Jul 1 is a Wednesday
    assert weekly["days_covered"].sum() == period.days
    test_channel = mix.set_index("channel").loc["test"]  # TRICKY_ROWS: every ledger rule, by hand
    assert round(test_channel["gmv"], 2) == 120 + 80 + 55.55 + 55.55 + 99.99 + 1234.56 + 0.01 + 42 + 10
    assert round(test_channel["net_sales"], 2) == round(100 + 55.55 + 99.99 - 33.33 + 1234.56 + 0.01 + 42, 2)
    assert test_channel["orders"] == 6  # X1, X3, X5, X6, X7 and the guest's X8
    assert mix["gmv_share"].sum() == pytest.approx(1.0) and mix["spend"].isna().all()


def test_cli_kpis_agree_from_the_workspace_and_from_its_parquet_export(sample_workspace_file, tmp_path, capsys):
    """The sample store's KPIs from its workspace and from its orders exported to Parquet: the same, bar the spend."""
    lake = tmp_path / "orders"
    con = duckdb.connect(str(sample_workspace_file), read_only=True)
    try:
        con.execute("COPY (SELECT o.order_id, o.customer_id, o.order_ts, o.amount, o.channel, o.is_refund, "
                    "o.original_order_id, strftime(o.order_ts, '%Y-%m') AS month FROM orders AS o "
                    "JOIN datasets AS d USING (dataset_id) WHERE d.name = $name) "
                    "TO $folder (FORMAT parquet, PARTITION_BY (month))",
                    {"name": SAMPLE_DATASET_NAME, "folder": str(lake)})
    finally:
        con.close()
    db = tmp_path / "ws.duckdb"
    shutil.copy(sample_workspace_file, db)
    order_kpis = ("gmv", "net_sales", "refunds", "orders", "customers", "new_customers", "aov", "repeat_rate",
                  "repurchase_rate", "ltv")
    for period in ((), ("--start", "2025-11-01", "--end", "2025-11-30")):
        workspace = kpis_json(capsys, "--dataset", SAMPLE_DATASET_NAME, "--db", str(db), *period)
        parquet = kpis_json(capsys, "--parquet", str(lake), *period)
        assert (parquet["start"], parquet["end"]) == (workspace["start"], workspace["end"])
        for side in ("kpis", "previous"):
            assert {k: parquet[side][k] for k in order_kpis} == {k: workspace[side][k] for k in order_kpis}
            assert workspace[side]["spend"] > 0 and parquet[side]["spend"] is None  # spend lives in the workspace
        assert parquet["kpis"]["orders"] > 1_000


def test_kpis_on_parquet_errors_are_one_line(tmp_path, capsys):
    def error(*argv: str) -> str:
        assert main(["kpis", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1
        return err

    assert "give --parquet" in error("--dataset", "Any", "--engine", "spark")
    assert "use --engine spark" in error("--parquet", "s3a://bucket/orders")
    assert "no such Parquet" in error("--parquet", str(tmp_path / "missing"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.parquet").write_bytes(b"PAR1 not really")
    assert "could not read the orders" in error("--parquet", str(tmp_path / "bad"))
    duckdb.sql("COPY (SELECT 'a' AS who, 1.5 AS amount) TO $f (FORMAT parquet)",
               params={"f": str(tmp_path / "no_time.parquet")})
    assert "order_time" in error("--parquet", str(tmp_path / "no_time.parquet"))  # which field has no column
    assert "give both --start and --end" in error("--parquet", str(tmp_path / "no_time.parquet"), "--start", "2026-01-01")


def test_every_kpi_query_passes_the_seam(parquet_orders):
    """Without a JVM: each KPI query of Parquet orders transpiles to Spark SQL (or would be refused) before it runs."""
    engine = _TranspilingDuckDB()
    orders = parquet_kpi_orders(parquet_orders)
    try:
        span = kpis.data_range(engine, orders)
        assert span is not None
        period = kpis.default_period(*span)
        kpis.compute_kpis(engine, orders, period)
        kpis.weekly_trend(engine, orders, period)
        kpis.weekly_trend(engine, orders)
        kpis.channel_mix(engine, orders, period)
    finally:
        engine.close()
    assert len(engine.spark_texts) == 5  # data_range, the period facts (no spend query: no spend), 2 trends, the mix
    for text in engine.spark_texts:
        assert "$" not in text and "COLUMNS(" not in text.upper() and "read_parquet" not in text.lower()
        assert "channel_spend" not in text or "WHERE FALSE" in text  # Parquet orders: no spend table to read
    assert all(views == {"union_by_name": True} for views in engine.options)


# --------------------------------------------------------------------------------------
# The seam itself (no JVM)
# --------------------------------------------------------------------------------------


def test_the_spark_text_is_transpiled_from_the_one_duckdb_definition():
    from lib import segments as seg

    src = seg.OrderSource.parquet("/data/orders", engine=_FakeEngine())
    sql, params = seg.classified_query(src, seg.SegmentSettings(), date(2026, 6, 30))
    views = []
    spark_sql = sql_engine.to_spark_sql(sql, params,
                                        lambda path, *opts, **named: views.append((path, *opts, named)) or "v_orders")
    # read_parquet(... filename, file_row_number) → one view
    assert views == [("/data/orders", True, True, {"union_by_name": False})]
    assert "v_orders" in spark_sql and "read_parquet" not in spark_sql.lower()
    assert "$" not in spark_sql and "MATERIALIZED" not in spark_sql and "QUALIFY" not in spark_sql
    assert "element_at(" in spark_sql.lower() and "percentile(" in spark_sql.lower()
    assert "CAST('2026-06-30' AS DATE)" in spark_sql


def test_the_seam_refuses_what_it_cannot_carry():
    with pytest.raises(sql_engine.NotPortable, match="without a value"):
        sql_engine.to_spark_sql("SELECT $missing", {})
    with pytest.raises(sql_engine.NotPortable, match="used twice"):
        sql_engine.to_spark_sql("SELECT * FROM (WITH a AS (SELECT 1 AS x) SELECT * FROM a) AS s, "
                                "(WITH a AS (SELECT 2 AS x) SELECT * FROM a) AS t", {})
    with pytest.raises(sql_engine.NotPortable):
        sql_engine.to_spark_sql("SELECT $x", {"x": float("nan")})


def test_the_kpi_ledger_of_parquet_orders_reaches_spark_with_quoted_column_names():
    orders = inplace.ParquetOrders("/data/orders", {"customer_id": "客户 `id`", "order_time": "ts", "amount": "amt"})
    sql = metrics.period_facts_sql(metrics.dataset_ledger("ds", orders))
    params = {"ds": 0, "start": date(2026, 7, 1), "end": date(2026, 9, 30), **metrics.source_params("ds", orders)}
    views = []
    spark_sql = sql_engine.to_spark_sql(sql, params,
                                        lambda path, *opts, **named: views.append((path, *opts, named)) or "v_orders")
    assert views == [("/data/orders", True, True, {"union_by_name": True})]  # no order_id: file and row number
    assert "`客户 ``id```" in spark_sql and "`ts`" in spark_sql and "`amt`" in spark_sql  # quoted and escaped
    assert "COLUMNS" not in spark_sql.upper() and "$" not in spark_sql
    with pytest.raises(sql_engine.NotPortable, match="COLUMNS"):  # a regular expression picks a varying set
        sql_engine.to_spark_sql("SELECT COLUMNS('amount_.*') FROM t", {})


def test_spark_paths_follow_duckdb_globs():
    assert sql_engine.spark_path("/lake/orders/**/*.parquet") == "/lake/orders"
    assert sql_engine.spark_path("s3a://bucket/orders/*.parquet") == "s3a://bucket/orders/*.parquet"


def test_engine_choice_errors_are_one_line(tmp_path, capsys, monkeypatch):
    target = str(tmp_path / "x.csv")
    assert main(["segments", "--dataset", "Any", "--engine", "spark", "--export", target]) == 2
    assert "give --parquet" in capsys.readouterr().err
    assert main(["segments", "--parquet", "s3a://bucket/orders", "--export", target]) == 2
    assert "use --engine spark" in capsys.readouterr().err

    (tmp_path / "p").mkdir()
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(sql_engine.shutil, "which", lambda name: None)
    assert main(["segments", "--parquet", str(tmp_path / "p"), "--engine", "spark", "--export", target]) == 2
    assert "needs Java" in capsys.readouterr().err

    monkeypatch.setitem(__import__("sys").modules, "pyspark.sql", None)  # as if pyspark were not installed
    assert main(["segments", "--parquet", str(tmp_path / "p"), "--engine", "spark", "--export", target]) == 2
    assert "needs pyspark" in capsys.readouterr().err
    assert not Path(target).exists()


class _FakeEngine:
    """Stands in for an engine that has read a Parquet folder's columns (order_id absent)."""

    name = "fake"

    def parquet_columns(self, pattern: str) -> frozenset[str]:
        return frozenset({"customer_id", "order_ts", "amount", "is_refund"})


class _TranspilingDuckDB(sql_engine.DuckDBEngine):
    """A DuckDB engine that first carries every query to Spark SQL (what the Spark engine would run) and keeps it."""

    def __init__(self) -> None:
        super().__init__()
        self.spark_texts: list[str] = []
        self.options: list[dict] = []

    def _check(self, sql, params):
        def view(path, filename, file_row_number, **named):
            self.options.append(named)
            return "v_orders"

        self.spark_texts.append(sql_engine.to_spark_sql(sql, params, view))

    def frame(self, sql, params):
        self._check(sql, params)
        return super().frame(sql, params)

    def arrow_batches(self, sql, params, batch_rows=100_000):
        self._check(sql, params)
        return super().arrow_batches(sql, params, batch_rows)

"""One seam through which the segment and KPI SQL runs on DuckDB or on Spark SQL.

Why this module exists: order files can outgrow one machine, and the definitions
(the :mod:`lib.metrics` ledger and period facts, :mod:`lib.segments`' classification,
:mod:`lib.kpis`' trends) must not be written twice to follow them there. Every query in those modules is
written once, in DuckDB's dialect, with ``$name`` parameters. An :class:`Engine`
runs such a query:

* :class:`DuckDBEngine` hands it to an in-memory DuckDB unchanged, parameters bound.
* :class:`SparkEngine` parses the *same text* with sqlglot, replaces each ``$name``
  by a typed literal that sqlglot builds from the Python value (a date becomes a
  DATE, a float a DOUBLE, a list an ARRAY; strings are quoted and escaped by
  sqlglot for Spark — no user value is ever formatted into SQL text by hand),
  rewrites the few DuckDB-only constructs (below) and generates Spark SQL.
  ``read_parquet(...)`` becomes a temporary view registered from the same path.

DuckDB constructs the transpiler needs help with, each handled here once:
``WITH x AS [NOT] MATERIALIZED`` (a DuckDB planner hint: dropped), ``CAST(… AS
ENUM(…))`` (Spark has no ENUM: the labels stay strings), ``read_parquet(path,
filename = true, file_row_number = true)`` (a view with ``filename`` and
``file_row_number`` columns from Spark's ``_metadata``; ``union_by_name = true`` is Spark's
``mergeSchema``; Spark always reads ``key=value`` folders as partitions, as DuckDB's
``hive_partitioning``), ``COLUMNS($names)`` with a one-name list (how :mod:`lib.importing.inplace` binds a
mapped column's name: a quoted column reference, escaped by sqlglot), ``quantile_cont(x, p)``
(sqlglot writes a two-argument ``percentile_cont`` that Spark refuses; Spark's
``percentile(x, p)`` interpolates linearly, the same), ``list_extract`` (1-based, as
Spark's ``element_at``; sqlglot keeps the DuckDB name), and CTE names that would
collide once sqlglot hoists nested ``WITH`` clauses to the top (refused, so the
definition gets renamed instead of silently mis-joined). Everything else — QUALIFY,
``count(*) FILTER``, ``GROUP BY ALL``, quantiles, ``date_diff``, integer ``//``,
``median`` — sqlglot transpiles itself.

pyspark is imported only when a :class:`SparkEngine` is made: the app and the
DuckDB path never need it. Where it or Java is missing, :class:`EngineUnavailable`
says what to install.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, Union, runtime_checkable

import duckdb
import pyarrow as pa

if TYPE_CHECKING:  # frames only for callers that ask for one: the CLI's CSV export never loads pandas
    import pandas as pd

    from lib.workspace import Workspace

ENGINES: tuple[str, ...] = ("duckdb", "spark")
#: Settings every session gets: timestamps are wall-clock (as DuckDB's TIMESTAMP), results travel as Arrow.
SESSION_SPARK_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
#: Settings for a session on this machine (``local[…]``) only; a cluster keeps its own.
LOCAL_SPARK_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "2g",
    "spark.driver.bindAddress": "127.0.0.1",  # a local session listens on loopback only
    "spark.driver.host": "127.0.0.1",
}
_BATCH_ROWS = 100_000


QueryTarget = Union["Workspace", duckdb.DuckDBPyConnection, "Engine"]
"""Where a read query can run: the app's workspace, a bare DuckDB connection, or an engine behind this seam."""


class EngineUnavailable(RuntimeError):
    """The chosen engine cannot run here (pyspark or Java missing, the cluster unreachable): one line of why."""


class NotPortable(ValueError):
    """A DuckDB query uses something this seam cannot carry to Spark SQL; fix the one definition."""


@runtime_checkable
class Engine(Protocol):
    """Runs the product's DuckDB-dialect queries (``$name`` parameters) somewhere and returns their rows."""

    name: str

    def frame(self, sql: str, params: Mapping[str, Any]) -> pd.DataFrame:
        """All rows of a read query as a DataFrame."""
        ...

    def arrow_batches(self, sql: str, params: Mapping[str, Any], batch_rows: int = _BATCH_ROWS
                      ) -> Any:  # a context manager yielding a pa.RecordBatchReader
        """The rows as an Arrow stream, valid inside the ``with`` block."""
        ...

    def parquet_columns(self, pattern: str) -> frozenset[str]:
        """Column names of the Parquet files at ``pattern`` (empty when they cannot be read)."""
        ...

    def close(self) -> None:
        """Release the engine's connection or session."""
        ...


# --------------------------------------------------------------------------------------
# DuckDB
# --------------------------------------------------------------------------------------


class DuckDBEngine:
    """A private in-memory DuckDB (it may read files; it is never the workspace's connection)."""

    name = "duckdb"

    def __init__(self, connection: duckdb.DuckDBPyConnection | None = None, *, memory_limit: str = "4GB") -> None:
        from lib.workspace import scratch_connection

        self.connection = connection if connection is not None else scratch_connection(memory_limit=memory_limit)

    def frame(self, sql: str, params: Mapping[str, Any]) -> pd.DataFrame:
        cur = self.connection.cursor()
        try:
            return cur.execute(sql, dict(params)).df()
        finally:
            cur.close()

    @contextmanager
    def arrow_batches(self, sql: str, params: Mapping[str, Any],
                      batch_rows: int = _BATCH_ROWS) -> Iterator[pa.RecordBatchReader]:
        cur = self.connection.cursor()
        try:
            yield cur.sql(sql, params=dict(params)).to_arrow_reader(batch_rows)
        finally:
            cur.close()

    def parquet_columns(self, pattern: str) -> frozenset[str]:
        cur = self.connection.cursor()
        try:
            rows = cur.execute("DESCRIBE SELECT * FROM read_parquet($p)", {"p": pattern}).fetchall()
        except duckdb.Error:
            return frozenset()  # the query itself will report the missing or damaged file
        finally:
            cur.close()
        return frozenset(str(row[0]) for row in rows)

    def close(self) -> None:
        self.connection.close()


# --------------------------------------------------------------------------------------
# DuckDB SQL → Spark SQL
# --------------------------------------------------------------------------------------


def literal(value: Any) -> Any:
    """A Python parameter value as a typed sqlglot literal (what ``$name`` stands for in DuckDB).

    None → NULL, bool → TRUE/FALSE, int → an integer, float → ``CAST(… AS DOUBLE)`` (a
    bare ``1.5`` would be a DECIMAL in Spark), str → a string literal that the target
    dialect's generator escapes, date → DATE, datetime → TIMESTAMP, list/tuple → ARRAY.
    """
    from sqlglot import exp

    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotPortable(f"a non-finite parameter value ({value}) has no SQL literal")
        return exp.cast(exp.Literal.number(repr(value)), exp.DataType.build("DOUBLE"))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, datetime) and hasattr(value, "to_pydatetime"):  # a pandas Timestamp (a datetime subclass)
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.build("TIMESTAMP", dialect="duckdb"))
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
    if isinstance(value, (list, tuple)):
        return exp.Array(expressions=[literal(v) for v in value])
    raise NotPortable(f"no SQL literal for a parameter of type {type(value).__name__}")


def _is_parquet_reader(node: Any) -> bool:
    from sqlglot import exp

    name = node.sql_name().lower() if isinstance(node, exp.Func) else ""
    if isinstance(node, exp.Anonymous):
        name = str(node.name).lower()
    return name in {"read_parquet", "parquet_scan"}


def _reader_options(node: Any) -> tuple[Any, dict[str, bool]]:
    """The path expression and the boolean named options (``filename = true`` …) of a read_parquet call."""
    from sqlglot import exp

    args = [node.this, *node.expressions] if node.args.get("this") is not None else list(node.expressions)
    path, options = None, {}
    for arg in args:
        if isinstance(arg, (exp.EQ, exp.PropertyEQ)) and isinstance(arg.this, exp.Column):
            value = arg.expression
            options[arg.this.name.lower()] = isinstance(value, exp.Boolean) and bool(value.this)
        elif path is None:
            path = arg
    return path, options


def _named_column(node: Any) -> Any:
    """DuckDB's ``COLUMNS(['name'])`` (one column chosen by a bound name) as a quoted column reference.

    A string argument is a regular expression and anything else a star or lambda in
    DuckDB: those select a varying set of columns, which has no single Spark expression.
    """
    from sqlglot import exp

    names = node.this.expressions if isinstance(node.this, exp.Array) else None
    if not names or len(names) != 1 or not isinstance(names[0], exp.Literal) or not names[0].is_string:
        raise NotPortable("COLUMNS(...) is carried to Spark only with a list of one column name")
    return exp.column(names[0].this, quoted=True)


def to_spark_sql(sql: str, params: Mapping[str, Any], register_parquet: Any = None) -> str:
    """The Spark SQL text of one DuckDB query, its ``$name`` parameters replaced by typed literals.

    ``register_parquet(path, filename, file_row_number, union_by_name=…)`` is called for
    every ``read_parquet`` and returns the name of a view that reads the same files.
    Raises :class:`NotPortable` for a parameter without a value or a construct the
    seam cannot carry (see the module docstring).
    """
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    for placeholder in list(tree.find_all(exp.Placeholder)):
        name = placeholder.name
        if name not in params:
            raise NotPortable(f"SQL parameter without a value: ${name}")
        placeholder.replace(literal(params[name]))
    for cte in tree.find_all(exp.CTE):
        cte.set("materialized", None)  # a DuckDB planner hint
    for cast in list(tree.find_all(exp.Cast)):
        if cast.to.this == exp.DataType.Type.ENUM:
            cast.set("to", exp.DataType.build("VARCHAR"))
    for pct in list(tree.find_all(exp.PercentileCont)):
        if pct.args.get("expression") is not None:  # DuckDB quantile_cont(x, p): Spark's percentile(x, p)
            pct.replace(exp.Anonymous(this="percentile", expressions=[pct.this.copy(), pct.expression.copy()]))
    for columns in list(tree.find_all(exp.Columns)):
        columns.replace(_named_column(columns))
    for call in list(tree.find_all(exp.Anonymous)):
        if str(call.name).lower() in {"list_extract", "list_element", "array_extract"}:
            # 1-based on both sides; sqlglot leaves the name as it is (Spark's a[i] would be 0-based)
            call.replace(exp.Anonymous(this="element_at", expressions=[e.copy() for e in call.expressions]))
    for reader in list(tree.walk()):
        if not _is_parquet_reader(reader):
            continue
        path, options = _reader_options(reader)
        if not isinstance(path, exp.Literal) or not path.is_string or register_parquet is None:
            raise NotPortable("read_parquet needs a path parameter and an engine that can register it")
        view = register_parquet(path.this, options.get("filename", False), options.get("file_row_number", False),
                                union_by_name=options.get("union_by_name", False))
        table = reader.parent if isinstance(reader.parent, exp.Table) else None
        replacement = exp.to_table(view)
        if table is not None:
            alias = table.args.get("alias")
            if alias is not None:
                replacement.set("alias", alias.copy())
            table.replace(replacement)
        else:
            reader.replace(replacement)
    names = [cte.alias for cte in tree.find_all(exp.CTE)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        # sqlglot hoists nested WITH clauses to the top for Spark; a repeated name would then
        # silently refer to the wrong relation. The definitions keep their CTE names unique.
        raise NotPortable(f"CTE names used twice in one query: {repeated}")
    return tree.sql(dialect="spark")


# --------------------------------------------------------------------------------------
# Spark
# --------------------------------------------------------------------------------------


def spark_path(pattern: str) -> str:
    """A DuckDB Parquet path or glob as Spark reads it: ``folder/**/*.parquet`` is the folder (Spark lists
    folders recursively and reads ``key=value`` sub-folders as partitions); anything else as given."""
    suffix = "/**/*.parquet"
    return pattern[: -len(suffix)] or "/" if pattern.endswith(suffix) else pattern


class SparkEngine:
    """Spark SQL through a SparkSession: local (``local[N]``), a cluster master, or Spark Connect.

    Where the session comes from, first match wins: the process's active session (in a
    notebook, a test), used as it is configured; ``remote`` or ``$SPARK_REMOTE``
    (Spark Connect, e.g. ``sc://spark-gateway:15002``); else ``master`` or
    ``$SPARK_MASTER`` (``spark://host:7077``, ``yarn``, ``k8s://…``); else, under
    ``spark-submit``, the master and settings it was given; else ``local[*]``. Every new session gets :data:`SESSION_SPARK_CONF` (UTC, Arrow), a
    local one also :data:`LOCAL_SPARK_CONF` (UI off, 8 shuffle partitions, loopback), then ``conf``.
    """

    name = "spark"

    def __init__(self, *, master: str | None = None, remote: str | None = None,
                 conf: Mapping[str, str] | None = None, app_name: str = "growth-planner") -> None:
        try:
            import sqlglot  # noqa: F401 - the transpiler, checked before a JVM is started for nothing
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise EngineUnavailable(
                "the Spark engine needs pyspark and sqlglot (pip install pyspark==4.0.1 sqlglot==30.31.0, "
                "pinned in requirements-dev.txt)"
            ) from exc
        self._views: dict[str, str] = {}
        remote = remote or os.environ.get("SPARK_REMOTE")
        if not remote and not (shutil.which("java") or os.environ.get("JAVA_HOME")):
            raise EngineUnavailable(
                "the Spark engine needs Java 17 or 21 (apt-get install default-jre-headless), "
                "or a Spark Connect server in SPARK_REMOTE"
            )
        active = SparkSession.getActiveSession() if not remote else None
        if active is not None:  # under spark-submit, in a notebook or a test: that session, as it is configured
            self.spark = active
            return
        builder = SparkSession.builder.appName(app_name)
        settings = dict(SESSION_SPARK_CONF)
        if remote:
            builder = builder.remote(remote)
        else:
            # Under spark-submit (its JVM is waiting on PYSPARK_GATEWAY_PORT) its --master and --conf decide.
            submitted = "PYSPARK_GATEWAY_PORT" in os.environ
            master = master or os.environ.get("SPARK_MASTER") or (None if submitted else "local[*]")
            if master:
                builder = builder.master(master)
            if master and master.startswith("local"):
                settings.update(LOCAL_SPARK_CONF)
        settings.update(conf or {})
        for key, value in settings.items():
            builder = builder.config(key, value)
        try:
            self.spark = builder.getOrCreate()
        except Exception as exc:  # JVM failed to start, cluster unreachable, Connect client deps missing
            raise EngineUnavailable(f"could not start Spark: {' '.join(str(exc).split())[:300]}") from exc
        if not remote:  # the CLI's stderr is for one-line reasons, not Spark's planner warnings
            self.spark.sparkContext.setLogLevel("ERROR")

    # -- sources -------------------------------------------------------------------

    def _reader(self, pattern: str, union_by_name: bool = False) -> Any:
        reader = self.spark.read.option("mergeSchema", "true") if union_by_name else self.spark.read
        return reader.parquet(spark_path(pattern))

    def register_parquet(self, pattern: str, filename: bool = False, file_row_number: bool = False, *,
                         union_by_name: bool = False) -> str:
        """A temporary view over the Parquet files at ``pattern`` (DuckDB glob), with DuckDB's optional
        ``filename`` / ``file_row_number`` columns and ``union_by_name`` (columns matched by name across
        files: Spark's ``mergeSchema``); returns its name (one view per path and options)."""
        key = f"{pattern}\x1f{filename}\x1f{file_row_number}\x1f{union_by_name}"
        if key in self._views:
            return self._views[key]
        from pyspark.sql import functions as F

        frame = self._reader(pattern, union_by_name)
        extra = []
        if filename:
            extra.append(F.col("_metadata.file_path").alias("filename"))
        if file_row_number:
            extra.append(F.col("_metadata.row_index").alias("file_row_number"))
        if extra:
            frame = frame.select("*", *extra)
        view = "gp_parquet_" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]
        frame.createOrReplaceTempView(view)
        self._views[key] = view
        return view

    def parquet_columns(self, pattern: str) -> frozenset[str]:
        try:
            return frozenset(self._reader(pattern).columns)
        except Exception:  # noqa: BLE001 - the query itself reports the missing or damaged file
            return frozenset()

    # -- queries -------------------------------------------------------------------

    def spark_sql(self, sql: str, params: Mapping[str, Any]) -> str:
        """The Spark SQL text this engine runs for a DuckDB query (for tests and curious readers)."""
        return to_spark_sql(sql, params, self.register_parquet)

    def _table(self, sql: str, params: Mapping[str, Any]) -> pa.Table:
        text = self.spark_sql(sql, params)
        return self.spark.sql(text).toArrow()

    def frame(self, sql: str, params: Mapping[str, Any]) -> pd.DataFrame:
        frame: pd.DataFrame = self._table(sql, params).to_pandas()
        return frame

    @contextmanager
    def arrow_batches(self, sql: str, params: Mapping[str, Any],
                      batch_rows: int = _BATCH_ROWS) -> Iterator[pa.RecordBatchReader]:
        table = self._table(sql, params)
        yield pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=batch_rows))

    def close(self) -> None:
        for view in self._views.values():
            self.spark.catalog.dropTempView(view)
        self._views.clear()


def query_frame(target: QueryTarget, sql: str, params: Mapping[str, Any]) -> pd.DataFrame:
    """All rows of a read query (DuckDB dialect, ``$name`` parameters) on any :data:`QueryTarget`, as a DataFrame."""
    if isinstance(target, Engine):
        return target.frame(sql, params)
    if isinstance(target, duckdb.DuckDBPyConnection):
        cur = target.cursor()
        try:
            return cur.execute(sql, dict(params)).df()
        finally:
            cur.close()
    with target.cursor() as cur:
        return cur.execute(sql, dict(params)).df()


def query_records(target: QueryTarget, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """All rows of a read query on any :data:`QueryTarget` as dicts of plain Python values.

    Dates are :class:`datetime.date`, NULL is None, counts are integers (a DuckDB HUGEINT
    sum as an ``int``, a decimal from Arrow as a :class:`decimal.Decimal`) — what a
    caller turning one row into a dataclass wants, without pandas' NaN and Timestamps.
    """
    if isinstance(target, Engine):
        with target.arrow_batches(sql, params) as reader:
            records: list[dict[str, Any]] = reader.read_all().to_pylist()
            return records
    if isinstance(target, duckdb.DuckDBPyConnection):
        cur = target.cursor()
        try:
            return _records(cur.execute(sql, dict(params)))
        finally:
            cur.close()
    with target.cursor() as cur:
        return _records(cur.execute(sql, dict(params)))


def _records(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def query_errors() -> tuple[type[BaseException], ...]:
    """Exception types meaning "the engine could not run the query" (bad files, missing columns)."""
    errors: list[type[BaseException]] = [duckdb.Error, NotPortable]
    try:
        from pyspark.errors import PySparkException  # only when pyspark is installed
    except ImportError:
        pass
    else:
        errors.append(PySparkException)
    try:
        from py4j.protocol import Py4JError
    except ImportError:
        pass
    else:
        errors.append(Py4JError)
    return tuple(errors)


def open_engine(name: str, *, master: str | None = None, conf: Mapping[str, str] | None = None) -> Engine:
    """A new engine by name (:data:`ENGINES`); the caller closes it."""
    if name == "duckdb":
        return DuckDBEngine()
    if name == "spark":
        return SparkEngine(master=master, conf=conf)
    raise ValueError(f"unknown engine {name!r}; choose one of {ENGINES}")


__all__ = [
    "ENGINES", "LOCAL_SPARK_CONF", "SESSION_SPARK_CONF", "DuckDBEngine", "Engine", "EngineUnavailable", "NotPortable", "SparkEngine",
    "QueryTarget", "literal", "open_engine", "query_errors", "query_frame", "query_records", "spark_path", "to_spark_sql",
]

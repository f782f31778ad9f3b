"""The workspace: one DuckDB file that holds every dataset, setting and saved plan.

Why a module of its own: DuckDB allows one process per file and one connection per
process is the safe pattern inside a Streamlit server. This module owns that
connection, the versioned schema, the transaction helper (which catches DuckDB's
silent no-op COMMIT after a failed statement) and the dataset catalogue. Every
other module reads and writes through it, so concurrency rules live in one place.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import duckdb

from lib.importing import inplace
from lib.importing.inplace import ParquetOrders

if TYPE_CHECKING:  # DuckDB makes the frames: opening a workspace (the CLI's import) does not load pandas
    import pandas as pd

SCHEMA_VERSION = 6
DEFAULT_DB_PATH = Path(__file__).resolve().parent.parent / "data" / "workspace.duckdb"
DB_PATH_ENV = "GROWTH_PLANNER_DB"

# Each entry upgrades the schema from (index) to (index + 1). Never edit a shipped
# step: append a new one and bump SCHEMA_VERSION.
_MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)""",
        """CREATE SEQUENCE IF NOT EXISTS dataset_ids START 1""",
        """CREATE TABLE IF NOT EXISTS datasets (
            dataset_id INTEGER PRIMARY KEY DEFAULT nextval('dataset_ids'),
            name VARCHAR NOT NULL UNIQUE,
            is_sample BOOLEAN NOT NULL DEFAULT FALSE,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            data_version INTEGER NOT NULL DEFAULT 0
        )""",
        # One row per order. Line-level files are summed per order id on import.
        # Refunds and cancellations keep a row with is_refund = TRUE and a
        # non-positive amount; analytics count purchases only.
        """CREATE TABLE IF NOT EXISTS orders (
            dataset_id INTEGER NOT NULL,
            order_id VARCHAR NOT NULL,
            customer_id VARCHAR,
            order_ts TIMESTAMP NOT NULL,
            amount DOUBLE NOT NULL,
            quantity DOUBLE,
            channel VARCHAR,
            status VARCHAR,
            is_refund BOOLEAN NOT NULL
        )""",
        # One row per period (day or week) and channel, long format.
        """CREATE TABLE IF NOT EXISTS channel_spend (
            dataset_id INTEGER NOT NULL,
            period_start DATE NOT NULL,
            channel VARCHAR NOT NULL,
            spend DOUBLE NOT NULL,
            impressions DOUBLE,
            clicks DOUBLE,
            new_customers DOUBLE,
            orders DOUBLE,
            revenue DOUBLE
        )""",
        """CREATE TABLE IF NOT EXISTS column_mappings (
            source_key VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            mapping_json VARCHAR NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            PRIMARY KEY (source_key, kind)
        )""",
        """CREATE TABLE IF NOT EXISTS dataset_settings (
            dataset_id INTEGER NOT NULL,
            key VARCHAR NOT NULL,
            value_json VARCHAR NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            PRIMARY KEY (dataset_id, key)
        )""",
        """CREATE TABLE IF NOT EXISTS import_log (
            dataset_id INTEGER NOT NULL,
            kind VARCHAR NOT NULL,
            file_name VARCHAR NOT NULL,
            mode VARCHAR NOT NULL,
            rows_read INTEGER NOT NULL,
            rows_accepted INTEGER NOT NULL,
            rows_rejected INTEGER NOT NULL,
            imported_at TIMESTAMP NOT NULL
        )""",
    ],
    # 2: a refund may name the order it reverses (or itself, for an order exported with a
    # refunded status); lib.metrics nets it against that order.
    [
        "ALTER TABLE orders ADD COLUMN IF NOT EXISTS original_order_id VARCHAR",
    ],
    # 3: a channel file's total weekly outcome (revenue, conversions, …) and its controls (price,
    # promotions, competitor, events), long format: what a marketing-mix model is fitted on.
    [
        """CREATE TABLE IF NOT EXISTS weekly_outcome (
            dataset_id INTEGER NOT NULL,
            period_start DATE NOT NULL,
            name VARCHAR NOT NULL,
            role VARCHAR NOT NULL,
            kind VARCHAR,
            value DOUBLE NOT NULL
        )""",
    ],
    # 4: datasets whose orders are read in place from Parquet (lib.importing.inplace): the path, the field → column
    # mapping and the fingerprint of the files last seen (a change bumps the dataset's data version).
    [
        """CREATE TABLE IF NOT EXISTS parquet_sources (
            dataset_id INTEGER PRIMARY KEY,
            path VARCHAR NOT NULL,
            mapping_json VARCHAR NOT NULL,
            fingerprint VARCHAR NOT NULL,
            registered_at TIMESTAMP NOT NULL
        )""",
    ],
    # 5: an order file's columns that map to no field, kept per customer (lib.importing.attributes): the latest
    # non-empty value by order time, carried into the segment lists and exports after the standard columns.
    [
        """CREATE TABLE IF NOT EXISTS customer_attributes (
            dataset_id INTEGER NOT NULL,
            customer_id VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            position INTEGER NOT NULL,
            value VARCHAR NOT NULL,
            seen_at TIMESTAMP
        )""",
    ],
    # 6: order and customer ids stored as written, without compression. Order ids are nearly all unique and
    # customer ids short: DuckDB's dictionary and FSST analysis cost an import of a million orders ~0.35 CPU-s to
    # save ~24 MB, and grouping by customer reads ~12 % faster uncompressed. Every reader sees the same text.
    # DuckDB cannot change a column's compression in place: the table is rebuilt (same columns, same order).
    [
        """CREATE TABLE orders_v6 (
            dataset_id INTEGER NOT NULL,
            order_id VARCHAR USING COMPRESSION uncompressed NOT NULL,
            customer_id VARCHAR USING COMPRESSION uncompressed,
            order_ts TIMESTAMP NOT NULL,
            amount DOUBLE NOT NULL,
            quantity DOUBLE,
            channel VARCHAR,
            status VARCHAR,
            is_refund BOOLEAN NOT NULL,
            original_order_id VARCHAR
        )""",
        """INSERT INTO orders_v6 SELECT dataset_id, order_id, customer_id, order_ts, amount, quantity, channel, status,
            is_refund, original_order_id FROM orders""",
        "DROP TABLE orders",
        "ALTER TABLE orders_v6 RENAME TO orders",
    ],
]


class WorkspaceError(Exception):
    """A workspace operation failed in a way the user should be told about."""


class TransactionFailed(WorkspaceError):
    """A transaction could not commit; nothing it wrote was kept."""


class WriteFailed(TransactionFailed):
    """The disk refused a write (full, or over a size limit); the transaction was rolled back."""


class DatasetNotFound(WorkspaceError):
    """No dataset has the requested name or id."""


# Workspace files open in this process (resolved path -> open Workspace objects), so a
# restore can refuse to swap a file out from under a running app.
_OPEN_FILES: dict[str, int] = {}
_OPEN_FILES_LOCK = threading.Lock()


def _file_key(path: str | os.PathLike[str]) -> str | None:
    return None if str(path) == ":memory:" else str(Path(path).resolve())


# How DuckDB words a refused write, at INSERT time (an IOException) or at COMMIT
# (a TransactionException "Failed to commit: Could not write file ... No space left").
_WRITE_FAILURE_MARKERS = (
    "could not write", "no space left", "file too large", "could not fsync", "could not truncate", "disk full",
)


def _write_failure(exc: duckdb.Error) -> WriteFailed | None:
    """DuckDB's error for a refused disk write (ENOSPC, EFBIG, EIO) as a WriteFailed, else None."""
    text = " ".join(str(exc).split())
    lowered = text.lower()
    if any(marker in lowered for marker in _WRITE_FAILURE_MARKERS):
        return WriteFailed(
            "The workspace file could not be written (the disk may be full or the file too large); "
            f"nothing was saved. Free some disk space and try again. Details: {text}"
        )
    return None


#: Bound parameters of a query: positional (``?``) as a list or tuple, named (``$name``) as a dict.
QueryParams: TypeAlias = list[Any] | tuple[Any, ...] | dict[str, Any] | None
#: A dataset's counts: orders, customers, first and last order, channel rows, first and last channel period.
DatasetCounts: TypeAlias = tuple[int, int, date | None, date | None, int, date | None, date | None]


@dataclass(frozen=True)
class Dataset:
    """A named collection of orders and channel data inside the workspace."""

    dataset_id: int
    name: str
    is_sample: bool
    data_version: int
    orders: int
    customers: int
    first_order: date | None
    last_order: date | None
    channel_rows: int
    first_period: date | None
    last_period: date | None
    currency: str = "CNY"  # ISO 4217, chosen on the Data page; every amount of this dataset is shown in it

    @property
    def cache_key(self) -> tuple[int, int, str]:
        """Changes whenever the dataset's data (or its currency) changes: use it to key caches."""
        return (self.dataset_id, self.data_version, self.currency)


def scratch_connection(*, memory_limit: str = "4GB") -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB for reading files in place (``segments --parquet``), never the workspace.

    It holds no user data of its own and may read files, unlike the workspace's
    connection after :meth:`Workspace.lock_down`; the caller closes it.
    """
    return duckdb.connect(":memory:", config={"memory_limit": memory_limit})


def resolve_db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The workspace file: an explicit path, else $GROWTH_PLANNER_DB, else data/workspace.duckdb."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(DB_PATH_ENV)
    return Path(env) if env else DEFAULT_DB_PATH


CURRENCY_SETTING = "currency"
DEFAULT_CURRENCY = "CNY"

_ONE_DATASET_FILTER = {True: "WHERE dataset_id = $ds", False: ""}


class Workspace:
    """The single connection to one workspace file, shared by every session of a process."""

    def __init__(self, path: str | os.PathLike[str], *, memory_limit: str = "4GB", locked: bool = True) -> None:
        """Open (creating if needed) and migrate the workspace file.

        ``locked`` (the default, and what the app uses) then turns off DuckDB's
        file access from SQL and extension loading and locks the configuration;
        see :meth:`lock_down`.
        """
        self.path = Path(path)
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(self.path), config={"memory_limit": memory_limit})
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise WorkspaceError(
                    f"The workspace file {self.path} is in use by another process. "
                    "Close the other Growth Planner (or CLI command) and try again."
                ) from exc
            raise WorkspaceError(f"Cannot open the workspace file {self.path}: {exc}") from exc
        # Writes are serialised inside the process: two sessions creating or
        # updating the same rows would otherwise meet DuckDB's write-write conflicts.
        self._write_lock = threading.RLock()
        self._stats_lock = threading.Lock()
        self._dataset_stats: dict[tuple[int, int], DatasetCounts] = {}  # (dataset id, data version) → counts
        self._parquet_lock = threading.Lock()
        self._parquet: dict[int, ParquetOrders] = {}  # in-place datasets (lib.importing.inplace)
        self._parquet_checked: dict[int, float] = {}  # dataset id → time.monotonic() of the last fingerprint
        self._migrate()
        self._load_parquet_sources()
        if locked:
            self.lock_down()
        self._file_key = _file_key(self.path)
        if self._file_key:
            with _OPEN_FILES_LOCK:
                _OPEN_FILES[self._file_key] = _OPEN_FILES.get(self._file_key, 0) + 1

    def lock_down(self) -> None:
        """Refuse SQL that reaches outside the workspace: files, other databases, extensions.

        After this, ``read_csv('/etc/passwd')``, ``ATTACH 'x.db'``, ``COPY ... TO``,
        ``INSTALL``/``LOAD`` and Python replacement scans fail, and the settings
        cannot be changed back (``lock_configuration``). Registered pandas frames
        (``cur.register``) and the database's own file, log and spill files still
        work. The settings belong to the database instance, so they cover every
        cursor; opening the same file again in this process finds them already set.
        """
        with self.cursor() as cur:
            external, locked = cur.execute(
                "SELECT current_setting('enable_external_access'), current_setting('lock_configuration')"
            ).fetchall()[0]
            if locked and external:
                raise WorkspaceError("The workspace's configuration was locked with file access still enabled.")
            if not locked:
                # In-place datasets (lib.importing.inplace) may be read from these folders only.
                roots = inplace.allowed_roots(self.path, [src.path for src in self._parquet.values()])
                cur.execute("SET allowed_directories = $roots", {"roots": roots})
                cur.execute("SET enable_external_access = false")
                cur.execute("SET lock_configuration = true")

    @classmethod
    def is_open(cls, path: str | os.PathLike[str]) -> bool:
        """Whether a Workspace on this file is open in this process (e.g. the running app's)."""
        key = _file_key(path)
        with _OPEN_FILES_LOCK:
            return bool(key and _OPEN_FILES.get(key))

    # -- connection handling -------------------------------------------------

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for one unit of read work; closed afterwards."""
        cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A write transaction that either commits everything or raises and keeps nothing.

        DuckDB's COMMIT after a failed statement returns without error and
        silently discards the work, so before committing we probe the
        transaction: an aborted one refuses even ``SELECT 1``.
        """
        with self._write_lock:
            cur = self._con.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                try:
                    yield cur
                    try:
                        cur.execute("SELECT 1").fetchall()
                    except duckdb.Error as exc:
                        raise TransactionFailed(
                            "A statement inside the transaction failed; nothing was saved."
                        ) from exc
                    cur.execute("COMMIT")
                except BaseException as exc:
                    try:
                        cur.execute("ROLLBACK")
                    except duckdb.Error:
                        pass
                    refused = _write_failure(exc) if isinstance(exc, duckdb.Error) else None
                    if refused is not None:
                        raise refused from exc
                    raise
            finally:
                cur.close()

    def query_df(self, sql: str, params: QueryParams = None) -> pd.DataFrame:
        """Run a read query with bound parameters and return a pandas DataFrame."""
        with self.cursor() as cur:
            return cur.execute(sql, params or []).df()

    def query_rows(self, sql: str, params: QueryParams = None) -> list[tuple[Any, ...]]:
        """Run a read query with bound parameters and return all rows."""
        with self.cursor() as cur:
            return cur.execute(sql, params or []).fetchall()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the write lock: no transaction of this process starts or commits meanwhile (backups)."""
        with self._write_lock:
            yield

    def checkpoint(self) -> None:
        """Write everything committed into the main file (empties the write-ahead log)."""
        with self._write_lock, self.cursor() as cur:
            try:
                cur.execute("CHECKPOINT")
            except duckdb.Error as exc:
                raise _write_failure(exc) or WorkspaceError(f"The workspace could not be checkpointed: {exc}") from exc

    def close(self) -> None:
        """Checkpoint and close, so no write-ahead log is left behind."""
        try:
            self._con.execute("CHECKPOINT")
        except duckdb.Error:
            pass
        self._con.close()
        key = getattr(self, "_file_key", None)
        if key:
            with _OPEN_FILES_LOCK:
                remaining = _OPEN_FILES.get(key, 0) - 1
                if remaining > 0:
                    _OPEN_FILES[key] = remaining
                else:
                    _OPEN_FILES.pop(key, None)
            self._file_key = None

    # -- schema --------------------------------------------------------------

    def schema_version(self) -> int:
        with self.cursor() as cur:
            exists = cur.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
            ).fetchall()[0][0]
            if not exists:
                return 0
            rows = cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        return int(rows[0][0]) if rows else 0

    def _migrate(self) -> None:
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise WorkspaceError(
                f"The workspace file was written by a newer Growth Planner (schema {current}); "
                f"this version understands schema {SCHEMA_VERSION}."
            )
        for version in range(current, SCHEMA_VERSION):
            with self.transaction() as cur:
                for statement in _MIGRATIONS[version]:
                    cur.execute(statement)
                cur.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                    [str(version + 1)],
                )

    # -- datasets read in place (lib.importing.inplace) ------------------------------------

    #: Seconds between two fingerprints of one in-place dataset's files (every page run asks).
    PARQUET_CHECK_SECONDS = 1.0

    def _load_parquet_sources(self) -> None:
        rows = self.query_rows("SELECT dataset_id, path, mapping_json FROM parquet_sources")
        with self._parquet_lock:
            self._parquet = {int(ds): ParquetOrders(path, json.loads(mapping)) for ds, path, mapping in rows}

    def parquet_orders(self, dataset_id: int) -> ParquetOrders | None:
        """The Parquet files a dataset's orders are read from, or None when they live in the ``orders`` table."""
        with self._parquet_lock:
            return self._parquet.get(int(dataset_id))

    def readable_roots(self) -> list[str] | None:
        """Folders this connection may read Parquet from, or None when it may read any file (not locked)."""
        with self.cursor() as cur:
            external, roots = cur.execute(
                "SELECT current_setting('enable_external_access'), current_setting('allowed_directories')"
            ).fetchall()[0]
        return None if external else [str(r) for r in roots or []]

    def parquet_columns(self, path: str | os.PathLike[str]) -> tuple[str, list[str]]:
        """The resolved path and the column names of the Parquet files there (partition keys included).

        Raises :class:`lib.importing.inplace.InPlaceError` when the path lies outside the folders
        this workspace may read (checked first, so nothing outside is even looked at),
        does not exist, holds no Parquet file or cannot be read.
        """
        resolved = str(Path(path).expanduser().resolve())
        roots = self.readable_roots()
        if roots is not None and not inplace.is_under(resolved, roots):
            raise inplace.InPlaceError(
                "inplace.err.not_allowed",
                f"{resolved} is outside the folders this app may read ({', '.join(roots) or 'none'}); "
                f"add it to ${inplace.PARQUET_DIRS_ENV} or register it with the CLI, then restart the app",
                path=resolved, roots=", ".join(roots) or "—",
            )
        probe = scratch_connection(memory_limit="256MB")
        try:
            return resolved, inplace.describe(probe, resolved)
        finally:
            probe.close()

    def register_parquet(self, name: str, path: str | os.PathLike[str], mapping: dict[str, Any]) -> int:
        """Make ``name`` a dataset whose orders are read in place from ``path``; returns its id.

        Checks first (raising :class:`lib.importing.inplace.InPlaceError`): the path exists, holds
        Parquet files, lies in a folder this workspace may read, and has the mapped
        columns. A dataset that already holds imported orders is refused; re-registering
        an in-place dataset replaces its path and mapping. Channel data may be imported
        into the dataset as usual.
        """
        resolved, columns = self.parquet_columns(path)
        clean = inplace.clean_mapping(mapping, columns)
        with self.transaction() as cur:
            dataset_id = self.ensure_dataset(cur, name)
            imported = cur.execute("SELECT count(*) FROM orders WHERE dataset_id = ?", [dataset_id]).fetchall()[0][0]
            if imported:
                raise inplace.InPlaceError(
                    "inplace.err.has_orders", f"the dataset {name!r} already holds imported orders; choose a new name",
                    name=name,
                )
            cur.execute(
                "INSERT OR REPLACE INTO parquet_sources (dataset_id, path, mapping_json, fingerprint, registered_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [dataset_id, resolved, json.dumps(clean, ensure_ascii=False), inplace.fingerprint(resolved),
                 datetime.now()],
            )
            self.bump_version(cur, dataset_id)
        self._load_parquet_sources()
        return dataset_id

    def refresh_parquet(self, *, force: bool = False) -> list[int]:
        """Fingerprint the in-place datasets' files; bump the data version of those that changed (returned).

        Throttled to one look per dataset per :attr:`PARQUET_CHECK_SECONDS` unless ``force``.
        """
        import time

        now = time.monotonic()
        with self._parquet_lock:
            due = {
                ds: src for ds, src in self._parquet.items()
                if force or now - self._parquet_checked.get(ds, float("-inf")) >= self.PARQUET_CHECK_SECONDS
            }
            for ds in due:
                self._parquet_checked[ds] = now
        if not due:
            return []
        seen = {ds: inplace.fingerprint(src.path) for ds, src in due.items()}
        stored = dict(self.query_rows("SELECT dataset_id, fingerprint FROM parquet_sources"))
        changed = [ds for ds, fp in seen.items() if ds in stored and stored[ds] != fp]
        if changed:
            with self.transaction() as cur:
                for ds in changed:
                    cur.execute("UPDATE parquet_sources SET fingerprint = ? WHERE dataset_id = ?", [seen[ds], ds])
                    self.bump_version(cur, ds)
        return changed

    # -- datasets ------------------------------------------------------------

    def list_datasets(self) -> list[Dataset]:
        """Every dataset with row counts and date ranges, sample store first.

        Every page asks for this, and counting customers scans all orders, so the
        counts are kept per (dataset, data version): an import bumps the version and
        only that dataset is counted again. Catalog and counts are read in one
        snapshot, so a concurrent import cannot pair old counts with a new version. Datasets read in
        place are fingerprinted first (:meth:`refresh_parquet`): changed files give a new version.
        """
        self.refresh_parquet()
        with self.cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                catalog = cur.execute(
                    "SELECT d.dataset_id, d.name, d.is_sample, d.data_version, s.value_json->>'$' AS currency "
                    "FROM datasets d LEFT JOIN dataset_settings s ON s.dataset_id = d.dataset_id AND s.key = ? "
                    "ORDER BY d.is_sample DESC, d.created_at, d.dataset_id", [CURRENCY_SETTING]
                ).fetchall()
                version_of = {row[0]: row[3] for row in catalog}
                with self._stats_lock:
                    stats = {key: self._dataset_stats[key] for key in version_of.items() if key in self._dataset_stats}
                missing = [dataset_id for dataset_id, version in version_of.items() if (dataset_id, version) not in stats]
                in_place = {ds: src for ds, src in self._parquet_snapshot().items() if ds in missing}
                tables = [ds for ds in missing if ds not in in_place]
                if tables:
                    counted = self._count_datasets(cur, tables)
                    stats.update({(dataset_id, version_of[dataset_id]): row for dataset_id, row in counted.items()})
            finally:
                cur.execute("ROLLBACK")  # read only: nothing to keep
        for dataset_id, source in in_place.items():  # files are not transactional: counted on their own cursor
            stats[(dataset_id, version_of[dataset_id])] = self._count_in_place(dataset_id, source)
        with self._stats_lock:  # other sessions may have read an older or newer catalog meanwhile
            self._dataset_stats.update(stats)
            for dataset_id, version in list(self._dataset_stats):
                if dataset_id not in version_of or version < version_of[dataset_id]:
                    del self._dataset_stats[(dataset_id, version)]
        return [Dataset(row[0], row[1], row[2], row[3], *stats[(row[0], row[3])], currency=row[4] or DEFAULT_CURRENCY)
                for row in catalog]

    def set_currency(self, dataset_id: int, code: str) -> str:
        """Show this dataset's amounts in ``code`` (ISO 4217, one of ``formatting.CURRENCIES``); returns it."""
        from lib.formatting import CURRENCIES

        clean = str(code or "").strip().upper()
        if clean not in CURRENCIES:
            raise WorkspaceError(f"unknown currency: {code!r} (known: {', '.join(CURRENCIES)})")
        self.set_setting(int(dataset_id), CURRENCY_SETTING, clean)
        return clean

    def _count_in_place(self, dataset_id: int, source: ParquetOrders) -> DatasetCounts:
        """A dataset read in place, counted from its files; files that cannot be read count as no orders.

        One damaged or vanished folder must not break the dataset list of every page: the
        pages that read that dataset report the problem themselves.
        """
        with self.cursor() as cur:
            try:
                if inplace.parquet_files(source.path):
                    return self._count_one(cur, dataset_id, source)[dataset_id]
            except duckdb.Error:
                pass
            return self._count_one(cur, dataset_id, None)[dataset_id]

    def _parquet_snapshot(self) -> dict[int, ParquetOrders]:
        with self._parquet_lock:
            return dict(self._parquet)

    @classmethod
    def _count_datasets(cls, cur: duckdb.DuckDBPyConnection, dataset_ids: list[int]) -> dict[int, DatasetCounts]:
        """Orders, buyers and date spans of the given datasets of the ``orders`` table (one scan when several)."""
        return cls._count_one(cur, dataset_ids[0], None) if len(dataset_ids) == 1 else cls._count_all(cur, dataset_ids)

    @staticmethod
    def _count_one(cur: duckdb.DuckDBPyConnection, dataset_id: int, source: ParquetOrders | None) -> dict[int, DatasetCounts]:
        return Workspace._count_all(cur, [dataset_id], source)

    @staticmethod
    def _count_all(cur: duckdb.DuckDBPyConnection, dataset_ids: list[int],
                   source: ParquetOrders | None = None) -> dict[int, DatasetCounts]:
        from lib.metrics import ledger_sql, source_params, workspace_base_sql

        only_one = len(dataset_ids) == 1
        # One dataset: its rows only (DuckDB skips the others' row groups); several: one scan of all.
        where = _ONE_DATASET_FILTER[only_one]
        params = {"ds": dataset_ids[0], **source_params("ds", source)} if only_one else {}
        rows = cur.execute(
            f"""
            WITH o AS (
                SELECT dataset_id, count(*) FILTER (WHERE is_order) AS n_orders,
                       count(DISTINCT customer_id) FILTER (WHERE is_order) AS n_customers,
                       CAST(min(order_ts) FILTER (WHERE is_order) AS DATE) AS first_order,
                       CAST(max(order_ts) FILTER (WHERE is_order) AS DATE) AS last_order
                FROM ({ledger_sql(workspace_base_sql("ds" if only_one else None, source))}) AS ledger GROUP BY dataset_id
            ), c AS (
                SELECT dataset_id, count(*) AS n_rows,
                       min(period_start) AS first_period, max(period_start) AS last_period
                FROM channel_spend {where} GROUP BY dataset_id
            )
            SELECT d.dataset_id,
                   coalesce(o.n_orders, 0), coalesce(o.n_customers, 0), o.first_order, o.last_order,
                   coalesce(c.n_rows, 0), c.first_period, c.last_period
            FROM datasets d
            LEFT JOIN o USING (dataset_id)
            LEFT JOIN c USING (dataset_id)
            """,
            params,
        ).fetchall()
        wanted = set(dataset_ids)
        return {row[0]: tuple(row[1:]) for row in rows if row[0] in wanted}

    def dataset_id(self, name: str) -> int:
        """The id of the dataset called ``name`` from the catalogue alone (no counting); raises DatasetNotFound.

        For callers that need only the id (the CLI's exports): :meth:`get_dataset` counts
        every dataset's orders and customers, a full scan of a big dataset.
        """
        self.refresh_parquet()
        rows = self.query_rows("SELECT dataset_id FROM datasets WHERE name = ?", [name])
        if not rows:
            raise DatasetNotFound(f"No dataset named {name!r}.")
        return int(rows[0][0])

    def get_dataset(self, name_or_id: str | int) -> Dataset:
        """One dataset by name or id; raises DatasetNotFound."""
        for ds in self.list_datasets():
            if ds.name == name_or_id or ds.dataset_id == name_or_id:
                return ds
        raise DatasetNotFound(f"No dataset named {name_or_id!r}.")

    def ensure_dataset(self, cur: duckdb.DuckDBPyConnection, name: str, *, is_sample: bool = False) -> int:
        """The id of the dataset called ``name``, creating it inside the caller's transaction."""
        clean = validate_dataset_name(name)
        rows = cur.execute("SELECT dataset_id FROM datasets WHERE name = ?", [clean]).fetchall()
        if rows:
            return int(rows[0][0])
        now = datetime.now()
        rows = cur.execute(
            "INSERT INTO datasets (name, is_sample, created_at, updated_at) VALUES (?, ?, ?, ?) "
            "RETURNING dataset_id",
            [clean, is_sample, now, now],
        ).fetchall()
        return int(rows[0][0])

    @staticmethod
    def bump_version(cur: duckdb.DuckDBPyConnection, dataset_id: int) -> None:
        """Mark a dataset's data as changed so every cache keyed on it is invalidated."""
        cur.execute(
            "UPDATE datasets SET data_version = data_version + 1, updated_at = ? WHERE dataset_id = ?",
            [datetime.now(), dataset_id],
        )

    def rename_dataset(self, dataset_id: int, new_name: str) -> None:
        clean = validate_dataset_name(new_name)
        with self.transaction() as cur:
            taken = cur.execute(
                "SELECT count(*) FROM datasets WHERE name = ? AND dataset_id <> ?", [clean, dataset_id]
            ).fetchall()[0][0]
            if taken:
                raise WorkspaceError(f"A dataset named {clean!r} already exists.")
            cur.execute(
                "UPDATE datasets SET name = ?, updated_at = ? WHERE dataset_id = ?",
                [clean, datetime.now(), dataset_id],
            )

    def delete_dataset(self, dataset_id: int) -> None:
        with self.transaction() as cur:
            for table in ("orders", "channel_spend", "weekly_outcome", "dataset_settings", "import_log",
                          "parquet_sources", "customer_attributes"):
                cur.execute(f'DELETE FROM "{table}" WHERE dataset_id = ?', [dataset_id])
            cur.execute("DELETE FROM datasets WHERE dataset_id = ?", [dataset_id])
        self._load_parquet_sources()

    # -- per-dataset settings (thresholds, playbooks, scenarios, plans) ----------

    def get_setting(self, dataset_id: int, key: str, default: Any = None) -> Any:
        rows = self.query_rows(
            "SELECT value_json FROM dataset_settings WHERE dataset_id = ? AND key = ?", [dataset_id, key]
        )
        return json.loads(rows[0][0]) if rows else default

    def set_setting(self, dataset_id: int, key: str, value: Any) -> None:
        payload = json.dumps(value, ensure_ascii=False, default=str)
        with self.transaction() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO dataset_settings (dataset_id, key, value_json, updated_at) "
                "VALUES (?, ?, ?, ?)",
                [dataset_id, key, payload, datetime.now()],
            )

    def delete_setting(self, dataset_id: int, key: str) -> None:
        with self.transaction() as cur:
            cur.execute("DELETE FROM dataset_settings WHERE dataset_id = ? AND key = ?", [dataset_id, key])

    def settings_with_prefix(self, dataset_id: int, prefix: str) -> dict[str, Any]:
        rows = self.query_rows(
            "SELECT key, value_json FROM dataset_settings WHERE dataset_id = ? AND starts_with(key, ?) "
            "ORDER BY key",
            [dataset_id, prefix],
        )
        return {key[len(prefix):]: json.loads(value) for key, value in rows}

    # -- saved column mappings -------------------------------------------------

    def get_mapping(self, source_key: str, kind: str) -> dict[str, str] | None:
        rows = self.query_rows(
            "SELECT mapping_json FROM column_mappings WHERE source_key = ? AND kind = ?", [source_key, kind]
        )
        return json.loads(rows[0][0]) if rows else None

    def save_mapping(self, source_key: str, kind: str, mapping: dict[str, str]) -> None:
        with self.transaction() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO column_mappings (source_key, kind, mapping_json, updated_at) "
                "VALUES (?, ?, ?, ?)",
                [source_key, kind, json.dumps(mapping, ensure_ascii=False), datetime.now()],
            )

    def import_history(self, dataset_id: int) -> pd.DataFrame:
        return self.query_df(
            "SELECT kind, file_name, mode, rows_read, rows_accepted, rows_rejected, imported_at "
            "FROM import_log WHERE dataset_id = ? ORDER BY imported_at DESC",
            [dataset_id],
        )

    def table_counts(self) -> dict[str, int]:
        """Row counts of every workspace table (used to prove a failed import changed nothing)."""
        tables = ["datasets", "orders", "channel_spend", "weekly_outcome", "column_mappings", "dataset_settings",
                  "import_log", "parquet_sources", "customer_attributes"]
        with self.cursor() as cur:
            return {t: int(cur.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0]) for t in tables}


MAX_DATASET_NAME = 80


def validate_dataset_name(name: str) -> str:
    """Trim and check a dataset name; raises WorkspaceError with a readable reason."""
    clean = " ".join(str(name or "").split())
    if not clean:
        raise WorkspaceError("A dataset needs a name.")
    if len(clean) > MAX_DATASET_NAME:
        raise WorkspaceError(f"Dataset names are limited to {MAX_DATASET_NAME} characters.")
    if any(ord(ch) < 32 for ch in clean):
        raise WorkspaceError("Dataset names cannot contain control characters.")
    return clean
